//! Writing a batch of judged checks inside one transaction: verdict states, status events,
//! incidents, the alerts they cause (certificate alerts too, with what the monitor remembers of
//! them), the checks themselves, and the roll-ups of monitors with enough unrolled checks.

use super::rows::about_monitors;
use super::values::{MAX_ROWS, push_padded_select, push_padded_values};
use super::{alerts, rollups};
use crate::alert::message::AlertKind;
use crate::monitor::MonitorId;
use crate::probe::{CheckError, Outcome};
use crate::store::{CheckRecord, Recorded, Result};
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
    // Only monitors that still exist are written: one deleted while its check was in flight
    // leaves no orphan rows behind.
    let unrolled = unrolled_counts(conn, batch).await?;
    write_states(conn, batch, &unrolled).await?;
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

/// Binds what a check observed, in the order the checks list it: its start, status code,
/// latency, error, and the time of each step.
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

/// Values bound per check by [`insert_checks`].
const CHECK_VALUES: usize = 12;

/// Values bound per monitor by [`write_states`].
const STATE_VALUES: usize = 8;

/// Of the monitors in the batch, those that exist, each with its checks not yet rolled up, this
/// batch's included.
async fn unrolled_counts(
    conn: &mut SqliteConnection,
    batch: &[CheckRecord],
) -> Result<HashMap<i64, i64>> {
    let mut in_batch: BTreeMap<i64, i64> = BTreeMap::new();
    for r in batch {
        *in_batch.entry(r.monitor.0).or_default() += 1;
    }
    let ids: Vec<i64> = in_batch.keys().copied().collect();
    let stored: Vec<(i64, i64)> =
        about_monitors(conn, UNROLLED_COUNTS, &ids, "unrolled counts").await?;
    Ok(stored
        .into_iter()
        .map(|(monitor, n)| (monitor, n + in_batch[&monitor]))
        .collect())
}

/// Of the monitors in `?1`, a JSON array of ids, those that exist, each as `[id, checks not
/// rolled up]`, in one JSON array.
pub(super) const UNROLLED_COUNTS: &str = "SELECT json_group_array(json_array(s.monitor_id, \
         (SELECT count(*) FROM checks c WHERE c.monitor_id = s.monitor_id AND c.at >= s.rolled_until))) \
     FROM monitor_state s WHERE s.monitor_id IN (SELECT value FROM json_each(?1))";

/// Writes the verdict state and certificate expiry of each monitor, among `existing`, whose
/// state changed in the batch: the latest of its records says what it is now.
async fn write_states(
    conn: &mut SqliteConnection,
    batch: &[CheckRecord],
    existing: &HashMap<i64, i64>,
) -> Result<()> {
    let mut changed: BTreeMap<i64, (&CheckRecord, Option<Timestamp>)> = BTreeMap::new();
    for r in batch.iter().filter(|r| r.state_changed) {
        let latest = changed.entry(r.monitor.0).or_insert((r, None));
        latest.0 = r;
        latest.1 = r.outcome.cert_expires_at.or(latest.1);
    }
    changed.retain(|monitor, _| existing.contains_key(monitor));
    let changed: Vec<_> = changed.into_iter().collect();
    for chunk in changed.chunks(MAX_ROWS) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "UPDATE monitor_state SET status = v.column2, status_since = v.column3, \
                 streak = v.column4, streak_since = v.column5, streak_cause_kind = v.column6, \
                 streak_cause_message = v.column7, \
                 cert_expires_at = coalesce(v.column8, monitor_state.cert_expires_at) \
             FROM (",
        );
        push_padded_values(
            &mut q,
            chunk,
            STATE_VALUES,
            |mut row, (monitor, (r, cert))| {
                let v = &r.verdict;
                row.push_bind(*monitor)
                    .push_bind(v.status.as_str())
                    .push_bind(v.since.map(|t| t.as_millis()))
                    .push_bind(i64::from(v.streak))
                    .push_bind(v.streak_since.map(|t| t.as_millis()))
                    .push_bind(kind(v.streak_cause.as_ref()))
                    .push_bind(v.streak_cause.as_ref().map(|e| e.message.clone()))
                    .push_bind(cert.map(Timestamp::as_millis));
            },
        );
        q.push(") AS v WHERE monitor_state.monitor_id = v.column1");
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

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
            state_changed: true,
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
             FROM monitor_now WHERE monitor_id = 7",
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
        // Two checks are too few to roll up; the state row holds none of them.
        let unrolled: (i64, i64, Option<i64>, String) = sqlx::query_as(
            "SELECT rolled_until, (SELECT count(*) FROM check_hours), last_at, recent \
             FROM monitor_state WHERE monitor_id = 7",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(unrolled, (0, 0, None, "1".into()));
    }

    /// A check that leaves the verdict as it was does not rewrite the state row; what it
    /// observed is read from the checks.
    #[tokio::test]
    async fn an_unchanged_verdict_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, mut conn) = store_with_monitor_7(&dir).await;
        let mut first = record(7, 1000, true, 7, None);
        write_batch(&mut conn, std::slice::from_ref(&first))
            .await
            .unwrap();
        first.outcome.at = Timestamp::from_millis(2000);
        first.verdict.status = Status::Down;
        first.state_changed = false;
        write_batch(&mut conn, &[first]).await.unwrap();
        let state: (String, String, String, i64) = sqlx::query_as(
            "SELECT s.status, n.status, n.recent, n.last_at \
             FROM monitor_state s JOIN monitor_now n USING (monitor_id) WHERE monitor_id = 7",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(state, ("up".into(), "up".into(), "111".into(), 2000));
    }
}
