//! Heartbeat pings: finding a monitor by the token of its ping URL, and the pings it received.

use super::rows::parse_spec;
use crate::monitor::MonitorId;
use crate::store::{Ping, PingKind, PingTarget, Result, RunTimes, StoreError};
use crate::timestamp::Timestamp;
use sqlx::{SqliteConnection, SqlitePool};

/// Served by the unique index `monitors_by_ping_token`.
pub async fn target(pool: &SqlitePool, token: &str) -> Result<Option<PingTarget>> {
    let row: Option<(i64, String, bool)> = sqlx::query_as(
        "SELECT id, spec, paused FROM monitors WHERE ping_token = ? AND kind = 'heartbeat'",
    )
    .bind(token)
    .fetch_optional(pool)
    .await?;
    row.map(|(id, spec, paused)| {
        Ok(PingTarget {
            id: MonitorId(id),
            spec: parse_spec(&spec)?,
            paused,
        })
    })
    .transpose()
}

/// Returns the run times as they were before the ping.
pub async fn insert(
    conn: &mut SqliteConnection,
    monitor: MonitorId,
    ping: &Ping,
) -> Result<RunTimes> {
    let before: Option<(Option<i64>, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT runs_counted_from, run_ended_at, run_started_at FROM monitor_state \
         WHERE monitor_id = ?",
    )
    .bind(monitor.0)
    .fetch_optional(&mut *conn)
    .await?;
    let (counted_from, ended, started) = before.unwrap_or_default();
    let ms = |v: Option<i64>| v.map(Timestamp::from_millis);
    let before = RunTimes {
        counted_from: ms(counted_from),
        ended: ms(ended),
        started: ms(started),
    };
    sqlx::query(
        "INSERT INTO pings (monitor_id, at, kind, exit_code, body, source, user_agent) \
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(monitor.0)
    .bind(ping.at.as_millis())
    .bind(ping.kind.as_str())
    .bind(ping.exit_code.map(i64::from))
    .bind(&ping.body)
    .bind(&ping.source)
    .bind(&ping.user_agent)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM pings WHERE monitor_id = ?1 AND id <= \
             (SELECT id FROM pings WHERE monitor_id = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
    )
    .bind(monitor.0)
    .bind(i64::from(Ping::KEPT))
    .execute(&mut *conn)
    .await?;
    let sql = match ping.kind {
        PingKind::Start => "UPDATE monitor_state SET run_started_at = ? WHERE monitor_id = ?",
        PingKind::Success | PingKind::Fail => {
            "UPDATE monitor_state SET run_ended_at = ? WHERE monitor_id = ?"
        }
    };
    sqlx::query(sql)
        .bind(ping.at.as_millis())
        .bind(monitor.0)
        .execute(&mut *conn)
        .await?;
    Ok(before)
}

type PingRow = (
    i64,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
);

pub async fn latest(pool: &SqlitePool, monitor: MonitorId, limit: u32) -> Result<Vec<Ping>> {
    let rows: Vec<PingRow> = sqlx::query_as(
        "SELECT at, kind, exit_code, body, source, user_agent FROM pings \
         WHERE monitor_id = ? ORDER BY id DESC LIMIT ?",
    )
    .bind(monitor.0)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|(at, kind, exit_code, body, source, user_agent)| {
            Ok(Ping {
                at: Timestamp::from_millis(at),
                kind: PingKind::parse(&kind)
                    .ok_or_else(|| StoreError::Corrupt(format!("ping kind {kind:?}")))?,
                exit_code: exit_code.and_then(|c| u8::try_from(c).ok()),
                body,
                source,
                user_agent,
            })
        })
        .collect()
}
