//! Writing a batch of judged checks inside one transaction: verdict states, status events,
//! incidents, the alerts they cause (certificate alerts too, with what the monitor remembers of
//! them), the checks themselves and their hourly roll-ups.

use super::alerts;
use crate::alert::message::AlertKind;
use crate::monitor::MonitorId;
use crate::probe::CheckError;
use crate::store::{CheckRecord, RECENT_CHECKS, Recorded, Result};
use crate::timestamp::Timestamp;
use crate::verdict::certificate::CertAlerted;
use crate::verdict::{Status, Transition};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use std::collections::BTreeMap;

pub(super) const CLOSE_INCIDENT: &str =
    "UPDATE incidents SET ended_at = ? WHERE monitor_id = ? AND ended_at IS NULL RETURNING id";

/// Rows per multi-row INSERT: well under SQLite's limit of 32,766 bound values.
const ROWS_PER_INSERT: usize = 500;

/// Nothing is written for monitors that no longer exist; the result names them.
pub async fn write_batch(conn: &mut SqliteConnection, batch: &[CheckRecord]) -> Result<Recorded> {
    let mut recorded = Recorded::default();
    let mut kept = Vec::with_capacity(batch.len());
    for record in batch {
        // Updating the state first tells whether the monitor still exists: one deleted while
        // its check was in flight leaves no orphan rows behind.
        if update_state(conn, record).await? {
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
    add_to_rollups(conn, &kept).await?;
    Ok(recorded)
}

fn kind(e: Option<&CheckError>) -> Option<&'static str> {
    e.map(|e| e.kind.as_str())
}

fn message(e: Option<&CheckError>) -> Option<&str> {
    e.map(|e| e.message.as_str())
}

async fn update_state(conn: &mut SqliteConnection, r: &CheckRecord) -> Result<bool> {
    let v = &r.verdict;
    let o = &r.outcome;
    let updated = sqlx::query(
        "UPDATE monitor_state SET status = ?, status_since = ?, streak = ?, streak_since = ?, \
             streak_cause_kind = ?, streak_cause_message = ?, last_at = ?, last_status_code = ?, \
             last_latency_ms = ?, last_error_kind = ?, last_error_message = ?, \
             last_dns_ms = ?, last_connect_ms = ?, last_tls_ms = ?, last_ttfb_ms = ?, \
             last_transfer_ms = ?, recent = substr(recent || ?, ?), \
             cert_expires_at = coalesce(?, cert_expires_at) \
         WHERE monitor_id = ?",
    )
    .bind(v.status.as_str())
    .bind(v.since.map(|t| t.as_millis()))
    .bind(i64::from(v.streak))
    .bind(v.streak_since.map(|t| t.as_millis()))
    .bind(kind(v.streak_cause.as_ref()))
    .bind(message(v.streak_cause.as_ref()))
    .bind(o.at.as_millis())
    .bind(o.status_code.map(i64::from))
    .bind(i64::from(o.latency_ms))
    .bind(kind(o.error.as_ref()))
    .bind(message(o.error.as_ref()))
    .bind(o.phases.dns_ms)
    .bind(o.phases.connect_ms)
    .bind(o.phases.tls_ms)
    .bind(o.phases.ttfb_ms)
    .bind(o.phases.transfer_ms)
    .bind(if o.ok() { "1" } else { "0" })
    // A negative start counts from the end: the last RECENT_CHECKS characters.
    .bind(-(RECENT_CHECKS as i64))
    .bind(o.cert_expires_at.map(Timestamp::as_millis))
    .bind(r.monitor.0)
    .execute(&mut *conn)
    .await?;
    Ok(updated.rows_affected() > 0)
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
    for chunk in records.chunks(ROWS_PER_INSERT) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO checks (monitor_id, at, ok, status_code, latency_ms, error_kind, error_message, \
             dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms) ",
        );
        q.push_values(chunk, |mut row, r| {
            let o = &r.outcome;
            row.push_bind(r.monitor.0)
                .push_bind(o.at.as_millis())
                .push_bind(o.ok())
                .push_bind(o.status_code.map(i64::from))
                .push_bind(i64::from(o.latency_ms))
                .push_bind(kind(o.error.as_ref()))
                .push_bind(o.error.as_ref().map(|e| e.message.clone()))
                .push_bind(o.phases.dns_ms)
                .push_bind(o.phases.connect_ms)
                .push_bind(o.phases.tls_ms)
                .push_bind(o.phases.ttfb_ms)
                .push_bind(o.phases.transfer_ms);
        });
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// One hour of one monitor's checks, summed.
#[derive(Default)]
struct HourSums {
    checks: i64,
    up: i64,
    latency_sum: i64,
    latency_min: Option<i64>,
    latency_max: Option<i64>,
}

async fn add_to_rollups(conn: &mut SqliteConnection, records: &[&CheckRecord]) -> Result<()> {
    let mut sums: BTreeMap<(i64, i64), HourSums> = BTreeMap::new();
    for r in records {
        let hour = r.outcome.at.hour_start().as_millis();
        let s = sums.entry((r.monitor.0, hour)).or_default();
        s.checks += 1;
        if r.outcome.ok() {
            let latency = i64::from(r.outcome.latency_ms);
            s.up += 1;
            s.latency_sum += latency;
            s.latency_min = Some(s.latency_min.map_or(latency, |m| m.min(latency)));
            s.latency_max = Some(s.latency_max.map_or(latency, |m| m.max(latency)));
        }
    }
    let sums: Vec<_> = sums.into_iter().collect();
    for chunk in sums.chunks(ROWS_PER_INSERT) {
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
            "INSERT INTO check_hours (monitor_id, hour, checks, up, latency_sum, latency_min, latency_max) ",
        );
        q.push_values(chunk, |mut row, ((monitor, hour), s)| {
            row.push_bind(*monitor)
                .push_bind(*hour)
                .push_bind(s.checks)
                .push_bind(s.up)
                .push_bind(s.latency_sum)
                .push_bind(s.latency_min)
                .push_bind(s.latency_max);
        });
        // SQLite's two-argument min() and max() return NULL if either side is NULL; an hour's
        // first success must still set them.
        q.push(
            " ON CONFLICT (monitor_id, hour) DO UPDATE SET \
               checks = checks + excluded.checks, \
               up = up + excluded.up, \
               latency_sum = latency_sum + excluded.latency_sum, \
               latency_min = coalesce(min(latency_min, excluded.latency_min), latency_min, excluded.latency_min), \
               latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max)",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}
