//! Channels, which monitors alert which channels, and the outbox of deliveries: queued in the
//! transaction of the status change that causes them, claimed with a lease, finished once.

use super::rows::{corrupt, error};
use crate::alert::channel::{ChannelSettings, ChannelSpec};
use crate::alert::message::{Alert, AlertKind};
use crate::monitor::{ChannelId, MonitorId, Name, UserId};
use crate::store::{
    Channel, ChannelChoice, ClaimedDelivery, Delivery, DeliveryOutcome, DeliveryState, Result,
    StoreError,
};
use crate::timestamp::Timestamp;
use crate::verdict::certificate::CertAlerted;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use std::collections::HashMap;
use std::time::Duration;

fn settings_json(spec: &ChannelSpec) -> String {
    spec.settings.to_json().to_string()
}

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: i64,
    user_id: i64,
    name: String,
    kind: String,
    settings: String,
    is_default: bool,
    monitor_count: i64,
    created_at: i64,
    updated_at: i64,
}

impl ChannelRow {
    fn into_channel(self) -> Result<Channel> {
        Ok(Channel {
            id: ChannelId(self.id),
            owner: UserId(self.user_id),
            spec: ChannelSpec {
                name: Name::parse("name", &self.name)?,
                settings: ChannelSettings::from_stored(&self.kind, &self.settings)?,
                is_default: self.is_default,
            },
            monitor_count: u64::try_from(self.monitor_count).unwrap_or_default(),
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
        })
    }
}

const CHANNEL_COLUMNS: &str = "SELECT id, user_id, name, kind, settings, is_default, \
     (SELECT count(*) FROM monitor_channels mc WHERE mc.channel_id = channels.id) AS monitor_count, \
     created_at, updated_at FROM channels";

pub async fn insert_channel(
    conn: &mut SqliteConnection,
    owner: UserId,
    spec: &ChannelSpec,
    now: Timestamp,
) -> Result<Channel> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO channels (user_id, name, kind, settings, is_default, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
    )
    .bind(owner.0)
    .bind(spec.name.as_str())
    .bind(spec.settings.kind().as_str())
    .bind(settings_json(spec))
    .bind(spec.is_default)
    .bind(now.as_millis())
    .bind(now.as_millis())
    .fetch_one(&mut *conn)
    .await?;
    Ok(Channel {
        id: ChannelId(id),
        owner,
        spec: spec.clone(),
        monitor_count: 0,
        created_at: now,
        updated_at: now,
    })
}

pub async fn channels(pool: &SqlitePool, owner: UserId) -> Result<Vec<Channel>> {
    let rows: Vec<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CHANNEL_COLUMNS} WHERE user_id = ? ORDER BY id"
    )))
    .bind(owner.0)
    .fetch_all(pool)
    .await?;
    Ok(super::rows::readable(
        rows,
        "channel",
        |r| r.id,
        ChannelRow::into_channel,
    ))
}

pub async fn channel(pool: &SqlitePool, owner: UserId, id: ChannelId) -> Result<Option<Channel>> {
    let row: Option<ChannelRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{CHANNEL_COLUMNS} WHERE id = ? AND user_id = ?"
    )))
    .bind(id.0)
    .bind(owner.0)
    .fetch_optional(pool)
    .await?;
    row.map(ChannelRow::into_channel).transpose()
}

pub async fn update_channel(
    conn: &mut SqliteConnection,
    owner: UserId,
    id: ChannelId,
    spec: &ChannelSpec,
    now: Timestamp,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE channels SET name = ?, kind = ?, settings = ?, is_default = ?, updated_at = ? \
         WHERE id = ? AND user_id = ?",
    )
    .bind(spec.name.as_str())
    .bind(spec.settings.kind().as_str())
    .bind(settings_json(spec))
    .bind(spec.is_default)
    .bind(now.as_millis())
    .bind(id.0)
    .bind(owner.0)
    .execute(&mut *conn)
    .await?;
    Ok(updated.rows_affected() > 0)
}

pub async fn delete_channel(
    conn: &mut SqliteConnection,
    owner: UserId,
    id: ChannelId,
) -> Result<bool> {
    let deleted = sqlx::query("DELETE FROM channels WHERE id = ? AND user_id = ?")
        .bind(id.0)
        .bind(owner.0)
        .execute(&mut *conn)
        .await?;
    Ok(deleted.rows_affected() > 0)
}

/// Sets the channels a monitor alerts. Every one must be the owner's.
pub async fn attach(
    conn: &mut SqliteConnection,
    owner: UserId,
    monitor: MonitorId,
    choice: ChannelChoice<'_>,
) -> Result<()> {
    sqlx::query("DELETE FROM monitor_channels WHERE monitor_id = ?")
        .bind(monitor.0)
        .execute(&mut *conn)
        .await?;
    match choice {
        ChannelChoice::Defaults => {
            sqlx::query(
                "INSERT INTO monitor_channels (monitor_id, channel_id) \
                 SELECT ?, id FROM channels WHERE user_id = ? AND is_default = 1",
            )
            .bind(monitor.0)
            .bind(owner.0)
            .execute(&mut *conn)
            .await?;
        }
        ChannelChoice::These(ids) => {
            let mut ids = ids.to_vec();
            ids.sort();
            ids.dedup();
            for id in ids {
                let inserted = sqlx::query(
                    "INSERT INTO monitor_channels (monitor_id, channel_id) \
                     SELECT ?, id FROM channels WHERE id = ? AND user_id = ? \
                     ON CONFLICT DO NOTHING",
                )
                .bind(monitor.0)
                .bind(id.0)
                .bind(owner.0)
                .execute(&mut *conn)
                .await?;
                if inserted.rows_affected() == 0 {
                    return Err(StoreError::UnknownChannel(id));
                }
            }
        }
    }
    Ok(())
}

/// The channels a monitor alerts, in id order.
pub async fn channels_of(
    conn: impl sqlx::SqliteExecutor<'_>,
    monitor: MonitorId,
) -> Result<Vec<ChannelId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT channel_id FROM monitor_channels WHERE monitor_id = ? ORDER BY channel_id",
    )
    .bind(monitor.0)
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(ChannelId).collect())
}

/// The channels of each of the owner's monitors, in id order.
pub async fn channels_by_monitor(
    pool: &SqlitePool,
    owner: UserId,
) -> Result<HashMap<MonitorId, Vec<ChannelId>>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(CHANNELS_BY_MONITOR)
        .bind(owner.0)
        .fetch_all(pool)
        .await?;
    let mut out: HashMap<MonitorId, Vec<ChannelId>> = HashMap::new();
    for (m, c) in rows {
        out.entry(MonitorId(m)).or_default().push(ChannelId(c));
    }
    Ok(out)
}

pub(super) const CHANNELS_BY_MONITOR: &str = "\
    SELECT mc.monitor_id, mc.channel_id FROM monitors m \
    JOIN monitor_channels mc ON mc.monitor_id = m.id \
    WHERE m.user_id = ? ORDER BY m.id, mc.channel_id";

/// Queues a down alert on every channel of the monitor, once per outage and channel.
pub async fn queue_down(
    conn: &mut SqliteConnection,
    monitor: MonitorId,
    event: i64,
    incident: i64,
    at: Timestamp,
) -> Result<u64> {
    let queued = sqlx::query(
        "INSERT INTO deliveries (user_id, monitor_id, channel_id, channel_name, channel_kind, \
             event_id, incident_id, kind, state, created_at, next_attempt_at) \
         SELECT c.user_id, mc.monitor_id, c.id, c.name, c.kind, ?1, ?2, 'down', 'pending', ?3, ?3 \
         FROM monitor_channels mc JOIN channels c ON c.id = mc.channel_id \
         WHERE mc.monitor_id = ?4 \
         ON CONFLICT DO NOTHING",
    )
    .bind(event)
    .bind(incident)
    .bind(at.as_millis())
    .bind(monitor.0)
    .execute(&mut *conn)
    .await?;
    Ok(queued.rows_affected())
}

/// Queues a certificate alert on every channel of the monitor.
pub async fn queue_certificate(
    conn: &mut SqliteConnection,
    monitor: MonitorId,
    alert: &CertAlerted,
    at: Timestamp,
) -> Result<u64> {
    let queued = sqlx::query(
        "INSERT INTO deliveries (user_id, monitor_id, channel_id, channel_name, channel_kind, \
             kind, state, created_at, next_attempt_at, cert_expires_at, cert_days) \
         SELECT c.user_id, mc.monitor_id, c.id, c.name, c.kind, 'certificate', 'pending', ?1, ?1, ?2, ?3 \
         FROM monitor_channels mc JOIN channels c ON c.id = mc.channel_id \
         WHERE mc.monitor_id = ?4",
    )
    .bind(at.as_millis())
    .bind(alert.expires_at.as_millis())
    .bind(i64::from(alert.days))
    .bind(monitor.0)
    .execute(&mut *conn)
    .await?;
    Ok(queued.rows_affected())
}

/// Ends an outage's alerts: queues `kind` (up, or paused) where its down alert went or is
/// going, and drops the reminders still waiting. A pause also drops a down not yet sent: a
/// paused monitor raises no alarm, and what was not said needs no taking back.
pub async fn queue_end(
    conn: &mut SqliteConnection,
    incident: i64,
    event: Option<i64>,
    kind: AlertKind,
    at: Timestamp,
) -> Result<u64> {
    let pausing = kind == AlertKind::Paused;
    sqlx::query(
        "UPDATE deliveries SET state = 'skipped', last_error = ?, claimed_until = NULL, claimed_by = NULL \
         WHERE incident_id = ? AND state = 'pending' AND (kind = 'reminder' OR (kind = 'down' AND ?)) \
           AND (claimed_until IS NULL OR claimed_until <= ?)",
    )
    .bind(if pausing {
        "the monitor was paused"
    } else {
        "the monitor was up again"
    })
    .bind(incident)
    .bind(pausing)
    .bind(at.as_millis())
    .execute(&mut *conn)
    .await?;
    let queued = sqlx::query(
        "INSERT INTO deliveries (user_id, monitor_id, channel_id, channel_name, channel_kind, \
             event_id, incident_id, kind, state, created_at, next_attempt_at) \
         SELECT d.user_id, d.monitor_id, d.channel_id, d.channel_name, d.channel_kind, ?1, d.incident_id, \
             ?2, 'pending', ?3, ?3 \
         FROM deliveries d \
         WHERE d.incident_id = ?4 AND d.kind = 'down' AND d.channel_id IS NOT NULL \
           AND d.state IN ('pending', 'sent') \
         ON CONFLICT DO NOTHING",
    )
    .bind(event)
    .bind(kind.as_str())
    .bind(at.as_millis())
    .bind(incident)
    .execute(&mut *conn)
    .await?;
    Ok(queued.rows_affected())
}

/// Reminders go where a down alert was sent, `remind_every` after the last alert that reached
/// the channel, and never while one is still waiting: a channel that fails gets no pile.
pub async fn enqueue_reminders(conn: &mut SqliteConnection, now: Timestamp) -> Result<u64> {
    let queued = sqlx::query(
        "INSERT INTO deliveries (user_id, monitor_id, channel_id, channel_name, channel_kind, \
             incident_id, kind, seq, state, created_at, next_attempt_at) \
         SELECT d.user_id, d.monitor_id, d.channel_id, d.channel_name, d.channel_kind, i.id, 'reminder', \
             last.seq + 1, 'pending', ?1, ?1 \
         FROM incidents i \
         JOIN monitors m ON m.id = i.monitor_id AND m.paused = 0 AND m.remind_every_s IS NOT NULL \
         JOIN (SELECT incident_id, channel_id, max(seq) AS seq, max(sent_at) AS last_sent, \
                      sum(state = 'pending') AS waiting \
               FROM deliveries \
               WHERE kind IN ('down', 'reminder') \
                 AND incident_id IN (SELECT id FROM incidents WHERE ended_at IS NULL) \
               GROUP BY incident_id, channel_id) last ON last.incident_id = i.id \
         JOIN deliveries d ON d.incident_id = i.id AND d.channel_id = last.channel_id AND d.kind = 'down' \
         WHERE i.ended_at IS NULL AND last.waiting = 0 AND last.last_sent IS NOT NULL \
           AND last.last_sent + m.remind_every_s * 1000 <= ?1 \
         ON CONFLICT DO NOTHING",
    )
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await?;
    Ok(queued.rows_affected())
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    kind: String,
    attempts: i64,
    created_at: i64,
    claimed_until: i64,
    channel_id: Option<i64>,
    incident_id: Option<i64>,
    dest_kind: Option<String>,
    dest_settings: Option<String>,
    monitor_id: Option<i64>,
    monitor_name: Option<String>,
    monitor_url: Option<String>,
    event_at: Option<i64>,
    event_cause_kind: Option<String>,
    event_cause_message: Option<String>,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    incident_cause_kind: Option<String>,
    incident_cause_message: Option<String>,
    cert_expires_at: Option<i64>,
    cert_days: Option<i64>,
}

impl ClaimRow {
    fn into_claimed(self) -> Result<ClaimedDelivery> {
        let kind =
            AlertKind::parse(&self.kind).ok_or_else(|| corrupt("delivery kind", &self.kind))?;
        // A deleted channel gets nothing more, even where an earlier alert went.
        let channel = match (self.channel_id, &self.dest_kind, &self.dest_settings) {
            (Some(_), Some(k), Some(s)) => Some(ChannelSettings::from_stored(k, s)?),
            _ => None,
        };
        let created_at = Timestamp::from_millis(self.created_at);
        let started = self.started_at.map(Timestamp::from_millis);
        let ended = self.ended_at.map(Timestamp::from_millis);
        // A cause that no longer reads leaves the alert without one rather than unsent.
        let cause = error(self.event_cause_kind, self.event_cause_message)
            .ok()
            .flatten()
            .or_else(|| {
                error(self.incident_cause_kind, self.incident_cause_message)
                    .ok()
                    .flatten()
            });
        Ok(ClaimedDelivery {
            id: self.id,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at,
            lease: Timestamp::from_millis(self.claimed_until),
            channel,
            alert: Alert {
                delivery: self.id,
                kind,
                monitor_id: self.monitor_id,
                monitor: self.monitor_name.unwrap_or_default(),
                url: self.monitor_url.unwrap_or_default(),
                at: match kind {
                    AlertKind::Down | AlertKind::Up => {
                        self.event_at.map_or(created_at, Timestamp::from_millis)
                    }
                    AlertKind::Reminder
                    | AlertKind::Paused
                    | AlertKind::Test
                    | AlertKind::Certificate => created_at,
                },
                cause: if kind.is_bad() { cause } else { None },
                incident: self.incident_id,
                down_since: started,
                outage: match (started, ended) {
                    (Some(s), Some(e)) if kind == AlertKind::Up => Some(e.since(s)),
                    _ => None,
                },
                link: None,
                certificate: self.cert_expires_at.map(|expires| CertAlerted {
                    expires_at: Timestamp::from_millis(expires),
                    days: self
                        .cert_days
                        .and_then(|d| u16::try_from(d).ok())
                        .unwrap_or(0),
                }),
            },
        })
    }
}

/// The next delivery due for each channel with alerts waiting, in channel order from just
/// after `after` up to `upto`, skipping channels with a delivery under way: `limit` at most.
/// It walks the channels with something waiting (an index of pending rows) rather than every
/// pending row, so a backlog of any size on one channel costs one step.
pub(super) const CHANNEL_HEADS: &str = "\
    WITH RECURSIVE waiting(channel_id) AS ( \
        SELECT min(channel_id) FROM deliveries INDEXED BY deliveries_waiting \
        WHERE state = 'pending' AND channel_id > ?2 \
        UNION ALL \
        SELECT (SELECT min(channel_id) FROM deliveries INDEXED BY deliveries_waiting \
                WHERE state = 'pending' AND channel_id > w.channel_id) \
        FROM waiting w WHERE w.channel_id IS NOT NULL AND w.channel_id <= ?3) \
    SELECT channel_id, head FROM ( \
        SELECT w.channel_id, \
            (SELECT d.id FROM deliveries d INDEXED BY deliveries_waiting \
             WHERE d.state = 'pending' AND d.channel_id = w.channel_id \
               AND d.next_attempt_at <= ?1 \
               AND (d.claimed_until IS NULL OR d.claimed_until <= ?1) \
               AND NOT EXISTS (SELECT 1 FROM deliveries e \
                   WHERE e.incident_id = d.incident_id AND e.channel_id = d.channel_id \
                     AND e.state = 'pending' AND e.id < d.id) \
             ORDER BY d.id LIMIT 1) AS head \
        FROM waiting w \
        WHERE w.channel_id IS NOT NULL AND w.channel_id <= ?3 \
          AND NOT EXISTS (SELECT 1 FROM deliveries e \
              WHERE e.channel_id = w.channel_id AND e.claimed_until IS NOT NULL \
                AND e.claimed_until > ?1 AND e.state = 'pending')) \
    WHERE head IS NOT NULL LIMIT ?4";

/// Claims due deliveries. One channel has one delivery under way at most, and an outage's
/// alerts to one channel go in order: none is taken while an earlier one still waits.
/// Channels take turns: the claim starts just after channel `after`, and says which channel
/// it ended with, so a channel with a long queue never keeps the others waiting.
pub async fn claim(
    conn: &mut SqliteConnection,
    node: &str,
    now: Timestamp,
    lease: Duration,
    limit: u32,
    after: Option<ChannelId>,
) -> Result<(Vec<ClaimedDelivery>, Option<ChannelId>)> {
    if limit == 0 {
        return Ok((Vec::new(), None));
    }
    let lease_until = now.saturating_add(lease).as_millis();
    let limit = i64::from(limit);
    let after = after.map_or(0, |c| c.0);
    let mut heads: Vec<(i64, i64)> = sqlx::query_as(CHANNEL_HEADS)
        .bind(now.as_millis())
        .bind(after)
        .bind(i64::MAX)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    if heads.len() < limit as usize && after > 0 {
        let more: Vec<(i64, i64)> = sqlx::query_as(CHANNEL_HEADS)
            .bind(now.as_millis())
            .bind(0_i64)
            .bind(after)
            .bind(limit - heads.len() as i64)
            .fetch_all(&mut *conn)
            .await?;
        heads.extend(more);
    }
    let turn = heads.last().map(|&(channel, _)| ChannelId(channel));
    // Alerts whose channel was deleted are only marked as such: they need no turn.
    let orphans: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM deliveries INDEXED BY deliveries_waiting \
         WHERE state = 'pending' AND channel_id IS NULL AND next_attempt_at <= ?1 \
           AND (claimed_until IS NULL OR claimed_until <= ?1) LIMIT ?2",
    )
    .bind(now.as_millis())
    .bind(limit - heads.len() as i64)
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = heads.iter().map(|(_, id)| *id).chain(orphans).collect();
    if ids.is_empty() {
        return Ok((Vec::new(), turn));
    }
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new("UPDATE deliveries SET claimed_until = ");
    q.push_bind(lease_until)
        .push(", claimed_by = ")
        .push_bind(node)
        .push(
            ", attempts = attempts + 1, \
             dest_kind = CASE WHEN kind = 'down' \
                 THEN (SELECT c.kind FROM channels c WHERE c.id = deliveries.channel_id) ELSE dest_kind END, \
             dest_settings = CASE WHEN kind = 'down' \
                 THEN (SELECT c.settings FROM channels c WHERE c.id = deliveries.channel_id) ELSE dest_settings END \
             WHERE id IN (",
        );
    push_ids(&mut q, &ids);
    q.push(")");
    q.build().execute(&mut *conn).await?;

    // The alerts after a down go where the down went (`dn`, the down itself for a down, stamped
    // just above); without one, where the channel points now.
    let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(
        "SELECT d.id, d.kind, d.attempts, d.created_at, d.claimed_until, d.channel_id, d.incident_id, \
             coalesce(dn.dest_kind, c.kind) AS dest_kind, \
             coalesce(dn.dest_settings, c.settings) AS dest_settings, \
             m.id AS monitor_id, m.name AS monitor_name, m.url AS monitor_url, \
             e.at AS event_at, e.cause_kind AS event_cause_kind, e.cause_message AS event_cause_message, \
             i.started_at, i.ended_at, i.cause_kind AS incident_cause_kind, \
             i.cause_message AS incident_cause_message, d.cert_expires_at, d.cert_days \
         FROM deliveries d \
         LEFT JOIN channels c ON c.id = d.channel_id \
         LEFT JOIN deliveries dn ON dn.incident_id = d.incident_id AND dn.channel_id = d.channel_id \
             AND dn.kind = 'down' \
         LEFT JOIN monitors m ON m.id = d.monitor_id \
         LEFT JOIN events e ON e.id = d.event_id \
         LEFT JOIN incidents i ON i.id = d.incident_id \
         WHERE d.id IN (",
    );
    push_ids(&mut q, &ids);
    q.push(") ORDER BY d.id");
    let rows: Vec<ClaimRow> = q.build_query_as().fetch_all(&mut *conn).await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in rows {
        let id = row.id;
        match row.into_claimed() {
            Ok(delivery) => claimed.push(delivery),
            // One row that no longer reads must not hold up everyone else's alerts.
            Err(e) => {
                tracing::error!(delivery = id, error = %e, "a queued alert cannot be read; giving it up");
                finish(
                    conn,
                    id,
                    node,
                    Timestamp::from_millis(lease_until),
                    &DeliveryOutcome::Failed(e.to_string()),
                    now,
                )
                .await?;
            }
        }
    }
    Ok((claimed, turn))
}

/// Ends the leases `node` holds on deliveries still to send.
pub async fn release_claims(pool: &SqlitePool, node: &str) -> Result<u64> {
    let released = sqlx::query(
        "UPDATE deliveries SET claimed_until = NULL, claimed_by = NULL \
         WHERE claimed_by = ? AND state = 'pending'",
    )
    .bind(node)
    .execute(pool)
    .await?;
    Ok(released.rows_affected())
}

/// Binds `ids` as a comma-separated list.
fn push_ids(q: &mut QueryBuilder<Sqlite>, ids: &[i64]) {
    let mut list = q.separated(", ");
    for id in ids {
        list.push_bind(*id);
    }
}

/// Records how an attempt ended, if the delivery is still ours: `false` when the lease ran out
/// and someone else took it meanwhile.
pub async fn finish(
    conn: &mut SqliteConnection,
    id: i64,
    node: &str,
    lease: Timestamp,
    outcome: &DeliveryOutcome,
    now: Timestamp,
) -> Result<bool> {
    let (state, next, sent, error) = match outcome {
        DeliveryOutcome::Sent => (DeliveryState::Sent, None, Some(now), None),
        DeliveryOutcome::SentPartly(error) => {
            (DeliveryState::Sent, None, Some(now), Some(error.as_str()))
        }
        DeliveryOutcome::Retry { at, error } => (
            DeliveryState::Pending,
            Some(*at),
            None,
            Some(error.as_str()),
        ),
        DeliveryOutcome::Failed(error) => (DeliveryState::Failed, None, None, Some(error.as_str())),
        DeliveryOutcome::Skipped(why) => (DeliveryState::Skipped, None, None, Some(why.as_str())),
    };
    let updated = sqlx::query(
        "UPDATE deliveries SET state = ?, next_attempt_at = coalesce(?, next_attempt_at), \
             sent_at = ?, last_error = ?, claimed_until = NULL, claimed_by = NULL \
         WHERE id = ? AND claimed_by = ? AND claimed_until = ?",
    )
    .bind(state.as_str())
    .bind(next.map(Timestamp::as_millis))
    .bind(sent.map(Timestamp::as_millis))
    .bind(error)
    .bind(id)
    .bind(node)
    .bind(lease.as_millis())
    .execute(&mut *conn)
    .await?;
    Ok(updated.rows_affected() > 0)
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    monitor_id: Option<i64>,
    channel_id: Option<i64>,
    channel_name: String,
    channel_kind: String,
    kind: String,
    state: String,
    attempts: i64,
    created_at: i64,
    next_attempt_at: i64,
    sent_at: Option<i64>,
    last_error: Option<String>,
}

impl DeliveryRow {
    fn into_delivery(self) -> Result<Delivery> {
        let state = DeliveryState::parse(&self.state)
            .ok_or_else(|| corrupt("delivery state", &self.state))?;
        Ok(Delivery {
            id: self.id,
            monitor: self.monitor_id.map(MonitorId),
            channel: self.channel_id.map(ChannelId),
            channel_name: self.channel_name,
            channel_kind: self.channel_kind,
            kind: AlertKind::parse(&self.kind)
                .ok_or_else(|| corrupt("delivery kind", &self.kind))?,
            state,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            created_at: Timestamp::from_millis(self.created_at),
            next_attempt_at: (state == DeliveryState::Pending)
                .then(|| Timestamp::from_millis(self.next_attempt_at)),
            sent_at: self.sent_at.map(Timestamp::from_millis),
            last_error: self.last_error,
        })
    }
}

const DELIVERY_FIELDS: &str = "id, monitor_id, channel_id, channel_name, channel_kind, kind, state, \
     attempts, created_at, next_attempt_at, sent_at, last_error";

pub async fn log_test(
    conn: &mut SqliteConnection,
    channel: &Channel,
    outcome: &DeliveryOutcome,
    now: Timestamp,
) -> Result<Delivery> {
    let (state, sent, error) = match outcome {
        DeliveryOutcome::Sent => (DeliveryState::Sent, Some(now), None),
        DeliveryOutcome::SentPartly(error) => {
            (DeliveryState::Sent, Some(now), Some(error.as_str()))
        }
        DeliveryOutcome::Retry { error, .. } | DeliveryOutcome::Failed(error) => {
            (DeliveryState::Failed, None, Some(error.as_str()))
        }
        DeliveryOutcome::Skipped(why) => (DeliveryState::Skipped, None, Some(why.as_str())),
    };
    let row: DeliveryRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "INSERT INTO deliveries (user_id, channel_id, channel_name, channel_kind, kind, state, attempts, \
             created_at, next_attempt_at, sent_at, last_error) \
         VALUES (?, ?, ?, ?, 'test', ?, 1, ?, ?, ?, ?) \
         RETURNING {DELIVERY_FIELDS}"
    )))
    .bind(channel.owner.0)
    .bind(channel.id.0)
    .bind(channel.spec.name.as_str())
    .bind(channel.spec.settings.kind().as_str())
    .bind(state.as_str())
    .bind(now.as_millis())
    .bind(now.as_millis())
    .bind(sent.map(Timestamp::as_millis))
    .bind(error)
    .fetch_one(&mut *conn)
    .await?;
    row.into_delivery()
}

pub async fn deliveries(
    pool: &SqlitePool,
    owner: UserId,
    monitor: Option<MonitorId>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<Delivery>> {
    // Two statements, so that each reads its own index: by user, or by monitor.
    let rows: Vec<DeliveryRow> = match monitor {
        Some(m) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {DELIVERY_FIELDS} FROM deliveries \
                 WHERE monitor_id = ? AND user_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
            )))
            .bind(m.0)
            .bind(owner.0)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {DELIVERY_FIELDS} FROM deliveries \
                 WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?"
            )))
            .bind(owner.0)
            .bind(before.unwrap_or(i64::MAX))
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        }
    };
    rows.into_iter().map(DeliveryRow::into_delivery).collect()
}
