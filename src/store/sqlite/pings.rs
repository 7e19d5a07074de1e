//! Heartbeat pings: finding a monitor by the token of its ping URL, and the pings it received.

use super::rows::parse_spec;
use crate::monitor::MonitorId;
use crate::store::{Ping, PingKind, PingTarget, Result, StoreError};
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

pub async fn insert(conn: &mut SqliteConnection, monitor: MonitorId, ping: &Ping) -> Result<()> {
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
    Ok(())
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
