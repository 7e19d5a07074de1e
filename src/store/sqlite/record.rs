//! Writing a batch of judged checks inside one transaction: verdict states, status events,
//! incidents, the alerts they cause (certificate alerts too, with what the monitor remembers of
//! them), the checks themselves, and the roll-ups of monitors with enough unrolled checks.

use super::rows::about_monitors;
use super::values::{MAX_ROWS, push_padded_select, push_padded_values};
use super::{alerts, rollups};
use crate::alert::message::AlertKind;
use crate::monitor::MonitorId;
use crate::probe::{CheckError, Outcome};
use crate::store::{CheckRecord, RECENT_CHECKS, Recorded, Result};
use crate::timestamp::Timestamp;
use crate::verdict::certificate::CertAlerted;
use crate::verdict::{Status, Transition};
use sqlx::query_builder::Separated;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::{BTreeMap, HashMap};

pub(super) const CLOSE_INCIDENT: &str =
    "UPDATE incidents SET ended_at = ? WHERE monitor_id = ? AND ended_at IS NULL RETURNING id";

/// Nothing is written for monitors that no longer exist; the result names them.
pub async fn write_batch(conn: &mut SqliteConnection, batch: &[CheckRecord]) -> Result<Recorded> {
    let mut recorded = Recorded::default();
    // Updating the states first tells which monitors still exist: one deleted while its check
    // was in flight leaves no orphan rows behind.
    let unrolled = update_states(conn, batch).await?;
    let mut kept = Vec::with_capacity(batch.len());
    for record in batch {
        if unrolled.contains_key(&record.monitor.0) {
            if let Some(t) = &record.transition {
                recorded.alerts += record_transition(conn, record.monitor, t).await?;
            }
            if let Some(alert) = &record.cert_alert {
                recorded.alerts +=
                    record_cert_alert(conn, record.monitor, alert, record.outcome.at).await?;
            }
            kept.push(record);
        } else if !recorded.gone.contains(&record.monitor) {
            recorded.gone.push(record.monitor);
        }
    }
    insert_checks(conn, &kept).await?;
    let mut due: Vec<i64> = unrolled
        .into_iter()
        .filter(|&(_, n)| n >= rollups::ROLL_UP_AFTER)
        .map(|(monitor, _)| monitor)
        .collect();
    due.sort_unstable();
    rollups::roll_up(conn, &due).await?;
    Ok(recorded)
}

fn kind(e: Option<&CheckError>) -> Option<&'static str> {
    e.map(|e| e.kind.as_str())
}

fn message(e: Option<&CheckError>) -> Option<&str> {
    e.map(|e| e.message.as_str())
}

/// Binds what a check observed, in the order both the checks and the states list it: its start,
/// status code, latency, error, and the time of each step.
fn push_observed<'r, 'qb>(
    row: &'r mut Separated<'qb, Sqlite, &'static str>,
    o: &Outcome,
) -> &'r mut Separated<'qb, Sqlite, &'static str> {
    row.push_bind(o.at.as_millis())
        .push_bind(o.status_code.map(i64::from))
        .push_bind(i64::from(o.latency_ms))
        .push_bind(kind(o.error.as_ref()))
        .push_bind(o.error.as_ref().map(|e| e.message.clone()))
        .push_bind(o.phases.dns_ms)
        .push_bind(o.phases.connect_ms)
        .push_bind(o.phases.tls_ms)
        .push_bind(o.phases.ttfb_ms)
        .push_bind(o.phases.transfer_ms)
}

/// A monitor's state after the batch: its latest record, the up/down marks of all of its
/// records in order (one per check), and the latest certificate expiry seen.
struct StateAfter<'a> {
    last: &'a CheckRecord,
    marks: String,
    cert_expires_at: Option<Timestamp>,
}

/// Values bound per check by [`insert_checks`].
const CHECK_VALUES: usize = 12;

/// Values bound per monitor by [`update_states`].
const STATE_VALUES: usize = 21;

/// Writes each monitor's state after the batch, a few hundred monitors per statement; returns
/// those that exist, each with its checks not yet rolled up, this batch's included, read back
/// as one value.
async fn update_states(
    conn: &mut SqliteConnection,
    batch: &[CheckRecord],
) -> Result<HashMap<i64, i64>> {
    let mut after: BTreeMap<i64, StateAfter> = BTreeMap::new();
    for r in batch {
        let mark = if r.outcome.ok() { '1' } else { '0' };
        let state = after.entry(r.monitor.0).or_insert_with(|| StateAfter {
            last: r,
            marks: String::new(),
            cert_expires_at: None,
        });
        state.last = r;
        state.marks.push(mark);
        state.cert_expires_at = r.outcome.cert_expires_at.or(state.cert_expires_at);
    }
    let after: Vec<_> = after.into_iter().collect();
    for chunk in after.chunks(MAX_ROWS) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE monitor_state SET status = v.column2, status_since = v.column3, \
                 streak = v.column4, streak_since = v.column5, streak_cause_kind = v.column6, \
                 streak_cause_message = v.column7, last_at = v.column8, \
                 last_status_code = v.column9, last_latency_ms = v.column10, \
                 last_error_kind = v.column11, last_error_message = v.column12, \
                 last_dns_ms = v.column13, last_connect_ms = v.column14, last_tls_ms = v.column15, \
                 last_ttfb_ms = v.column16, last_transfer_ms = v.column17, \
                 recent = substr(monitor_state.recent || v.column18, v.column19), \
                 cert_expires_at = coalesce(v.column20, monitor_state.cert_expires_at), \
                 unrolled_checks = monitor_state.unrolled_checks + v.column21 \
             FROM (",
        );
        push_padded_values(&mut q, chunk, STATE_VALUES, |mut row, (monitor, s)| {
            let v = &s.last.verdict;
            row.push_bind(*monitor)
                .push_bind(v.status.as_str())
                .push_bind(v.since.map(|t| t.as_millis()))
                .push_bind(i64::from(v.streak))
                .push_bind(v.streak_since.map(|t| t.as_millis()))
                .push_bind(kind(v.streak_cause.as_ref()))
                .push_bind(v.streak_cause.as_ref().map(|e| e.message.clone()));
            push_observed(&mut row, &s.last.outcome)
                .push_bind(s.marks.clone())
                // A negative start counts from the end: the last RECENT_CHECKS characters.
                .push_bind(-(RECENT_CHECKS as i64))
                .push_bind(s.cert_expires_at.map(Timestamp::as_millis))
                .push_bind(i64::try_from(s.marks.len()).unwrap_or(i64::MAX));
        });
        q.push(") AS v WHERE monitor_state.monitor_id = v.column1");
        q.build().execute(&mut *conn).await?;
    }
    let ids: Vec<i64> = after.iter().map(|(monitor, _)| *monitor).collect();
    let counts: Vec<(i64, i64)> =
        about_monitors(conn, UNROLLED_COUNTS, &ids, "unrolled counts").await?;
    Ok(counts.into_iter().collect())
}

/// Of the monitors in `?1`, a JSON array of ids, those that exist, each as `[id, unrolled
/// checks]`, in one JSON array.
pub(super) const UNROLLED_COUNTS: &str = "SELECT json_group_array(json_array(monitor_id, unrolled_checks)) \
     FROM monitor_state WHERE monitor_id IN (SELECT value FROM json_each(?1))";

/// Stores the event, opening an incident on the way down and closing it on the way up, and
/// queues the alerts it causes. Returns how many alerts were queued.
async fn record_transition(
    conn: &mut SqliteConnection,
    monitor: MonitorId,
    t: &Transition,
) -> Result<u64> {
    let incident: Option<i64> = match (t.from, t.to) {
        (_, Status::Down) => Some(
            sqlx::query_scalar(
                "INSERT INTO incidents (monitor_id, started_at, cause_kind, cause_message) \
                 VALUES (?, ?, ?, ?) RETURNING id",
            )
            .bind(monitor.0)
            .bind(t.since.as_millis())
            .bind(kind(t.cause.as_ref()))
            .bind(message(t.cause.as_ref()))
            .fetch_one(&mut *conn)
            .await?,
        ),
        (Status::Down, _) => {
            sqlx::query_scalar(CLOSE_INCIDENT)
                .bind(t.since.as_millis())
                .bind(monitor.0)
                .fetch_optional(&mut *conn)
                .await?
        }
        _ => None,
    };
    let event: i64 = sqlx::query_scalar(
        "INSERT INTO events (monitor_id, at, from_status, to_status, cause_kind, cause_message, incident_id) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(monitor.0)
    .bind(t.at.as_millis())
    .bind(t.from.as_str())
    .bind(t.to.as_str())
    .bind(kind(t.cause.as_ref()))
    .bind(message(t.cause.as_ref()))
    .bind(incident)
    .fetch_one(&mut *conn)
    .await?;
    // A first success is no news; going down is, and so is coming back.
    match (t.from, t.to, incident) {
        (_, Status::Down, Some(incident)) => {
            alerts::queue_down(conn, monitor, event, incident, t.at).await
        }
        (Status::Down, Status::Up, Some(incident)) => {
            alerts::queue_end(conn, incident, Some(event), AlertKind::Up, t.at).await
        }
        _ => Ok(0),
    }
}

/// Remembers the certificate alert and queues it on every channel of the monitor.
async fn record_cert_alert(
    conn: &mut SqliteConnection,
    monitor: MonitorId,
    alert: &CertAlerted,
    at: Timestamp,
) -> Result<u64> {
    sqlx::query(
        "UPDATE monitor_state SET cert_alerted_expiry = ?, cert_alerted_days = ? WHERE monitor_id = ?",
    )
    .bind(alert.expires_at.as_millis())
    .bind(i64::from(alert.days))
    .bind(monitor.0)
    .execute(&mut *conn)
    .await?;
    alerts::queue_certificate(conn, monitor, alert, at).await
}

async fn insert_checks(conn: &mut SqliteConnection, records: &[&CheckRecord]) -> Result<()> {
    for chunk in records.chunks(MAX_ROWS) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO checks (monitor_id, ok, at, status_code, latency_ms, error_kind, error_message, \
             dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms) ",
        );
        push_padded_select(&mut q, chunk, CHECK_VALUES, |mut row, r| {
            row.push_bind(r.monitor.0).push_bind(r.outcome.ok());
            push_observed(&mut row, &r.outcome);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::probe::{ErrorKind, Outcome, Phases};
    use crate::store::sqlite::SqliteStore;
    use crate::verdict::VerdictState;
    use sqlx::pool::PoolConnection;

    /// A result of monitor `monitor` at `at`, failed with HTTP 500 unless `ok`.
    pub fn record(
        monitor: i64,
        at: i64,
        ok: bool,
        latency_ms: u32,
        cert: Option<i64>,
    ) -> CheckRecord {
        let outcome = Outcome {
            at: Timestamp::from_millis(at),
            status_code: Some(if ok { 200 } else { 500 }),
            latency_ms,
            error: (!ok).then(|| CheckError::new(ErrorKind::Status, "HTTP 500")),
            phases: Phases::default(),
            cert_expires_at: cert.map(Timestamp::from_millis),
        };
        CheckRecord {
            monitor: MonitorId(monitor),
            verdict: VerdictState {
                status: if ok { Status::Up } else { Status::Pending },
                since: Some(outcome.at),
                ..VerdictState::default()
            },
            outcome,
            transition: None,
            cert_alert: None,
        }
    }

    /// A store in `dir` with one monitor, 7, whose latest check succeeded; and a connection
    /// that writes.
    pub async fn store_with_monitor_7(
        dir: &tempfile::TempDir,
    ) -> (SqliteStore, PoolConnection<Sqlite>) {
        let url = format!("sqlite:{}", dir.path().join("upbeat.db").display());
        let store = SqliteStore::open(&url).await.unwrap();
        let mut conn = store.writes.acquire().await.unwrap();
        for sql in [
            "INSERT INTO users (id, email, password_hash, created_at) VALUES (1, 'a@example.com', 'x', 0)",
            "INSERT INTO monitors (id, user_id, name, kind, url, interval_s, spec, created_at, updated_at) \
             VALUES (7, 1, 'm', 'http', 'http://a', 60, '{}', 0, 0)",
            "INSERT INTO monitor_state (monitor_id, recent) VALUES (7, '1')",
        ] {
            sqlx::query(sql).execute(&mut *conn).await.unwrap();
        }
        (store, conn)
    }

    #[tokio::test]
    async fn a_monitors_results_in_one_batch_leave_its_latest_state_and_every_mark() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, mut conn) = store_with_monitor_7(&dir).await;
        let hour = 3_600_000 * 500_000;
        let batch = [
            record(7, hour + 1000, false, 7, Some(hour + 90_000)),
            record(9, hour + 1500, true, 7, None),
            record(7, hour + 2000, true, 7, None),
        ];
        let recorded = write_batch(&mut conn, &batch).await.unwrap();
        assert_eq!(recorded.gone, [MonitorId(9)]);
        let state: (String, i64, i64, String, Option<i64>) = sqlx::query_as(
            "SELECT status, last_at, last_status_code, recent, cert_expires_at \
             FROM monitor_state WHERE monitor_id = 7",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(
            state,
            (
                "up".into(),
                hour + 2000,
                200,
                "101".into(),
                Some(hour + 90_000)
            )
        );
        let checks: Vec<(i64, bool)> =
            sqlx::query_as("SELECT monitor_id, ok FROM checks ORDER BY at")
                .fetch_all(&mut *conn)
                .await
                .unwrap();
        assert_eq!(checks, [(7, false), (7, true)]);
        // Two checks are too few to roll up.
        let unrolled: (i64, i64, i64) = sqlx::query_as(
            "SELECT unrolled_checks, rolled_until, (SELECT count(*) FROM check_hours) \
             FROM monitor_state WHERE monitor_id = 7",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(unrolled, (2, 0, 0));
    }
}
