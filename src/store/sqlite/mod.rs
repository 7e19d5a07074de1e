//! The SQLite backend: one database file in WAL mode, so readers never wait for the writer.
//! Every write transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front
//! instead of failing half-way when another writer got there first.

mod alerts;
mod history;
mod pings;
mod record;
mod rollups;
mod rows;
mod sessions;
mod tokens;
mod values;

use super::{
    ActiveMonitor, ApiToken, ApiTokenUse, BucketStats, Channel, ChannelChoice, CheckRecord,
    Delivery, DeliveryOutcome, Event, FinishedDelivery, Incident, Monitor, MonitorSummary, Ping,
    PingTarget, PruneBefore, PruneStep, Recorded, Result, RunTimes, Settled, Store, StoreError,
    StoredVerdict, UserCredentials, shown_status,
};
use crate::account::{Email, User};
use crate::alert::channel::ChannelSpec;
use crate::alert::message::AlertKind;
use crate::api_token::ApiTokenId;
use crate::metrics::StoreStats;
use crate::monitor::{ChannelId, MonitorId, MonitorSpec, UserId};
use crate::probe::Outcome;
use crate::secret::Secret;
use crate::timestamp::Timestamp;
use crate::verdict::Status;
use async_trait::async_trait;
use rows::{MonitorRow, VerdictRow, in_chunks, parse_spec};
use sqlx::ConnectOptions;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool, Transaction};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The monitors to check, in chunks for [`in_chunks`].
const ACTIVE_MONITORS: &str = "SELECT max(id), json_group_array(json_array(id, spec, last_at, \
            runs_counted_from, run_ended_at, run_started_at)) \
     FROM (SELECT m.id, m.spec, s.last_at, s.runs_counted_from, s.run_ended_at, s.run_started_at \
           FROM monitors m JOIN monitor_now s ON s.monitor_id = m.id \
           WHERE m.paused = 0 AND m.id > ?1 ORDER BY m.id LIMIT ?2)";
/// The columns of a verdict state, in the order [`VerdictRow`] reads them.
macro_rules! verdict_columns {
    () => {
        "monitor_id, status, status_since, streak, streak_since, streak_cause_kind, \
         streak_cause_message, last_at, cert_alerted_expiry, cert_alerted_days"
    };
}
/// Every monitor's verdict state, in chunks for [`in_chunks`].
const VERDICT_STATES: &str = concat!(
    "SELECT max(monitor_id), json_group_array(json_array(",
    verdict_columns!(),
    ")) FROM (SELECT ",
    verdict_columns!(),
    " FROM monitor_now WHERE monitor_id > ?1 ORDER BY monitor_id LIMIT ?2)"
);
/// Deletes at most `?4` checks older than `?3` of the monitors with ids in `(?1, ?2]`.
/// Checks not rolled up yet are kept, however old: the roll-ups have yet to count them.
const PRUNE_CHECKS: &str = "DELETE FROM checks WHERE (monitor_id, at) IN \
     (SELECT monitor_id, at FROM checks c WHERE monitor_id IN \
        (SELECT id FROM monitors WHERE id > ?1 AND id <= ?2) AND at < ?3 \
        AND at < (SELECT rolled_until FROM monitor_state s WHERE s.monitor_id = c.monitor_id) \
      LIMIT ?4)";

/// Columns of a monitor with its state, in the order [`MonitorRow`] reads them.
macro_rules! select_monitor {
    ($($tail:literal)?) => {
        concat!(
            "SELECT m.id, m.user_id, m.spec, m.paused, m.created_at, m.updated_at, \
                    s.status, s.status_since, s.last_at, s.last_status_code, s.last_latency_ms, \
                    s.last_error_kind, s.last_error_message, s.last_dns_ms AS dns_ms, \
                    s.last_connect_ms AS connect_ms, s.last_tls_ms AS tls_ms, \
                    s.last_ttfb_ms AS ttfb_ms, s.last_transfer_ms AS transfer_ms, \
                    s.cert_expires_at, m.ping_token \
             FROM monitors m JOIN monitor_now s ON s.monitor_id = m.id ",
            $($tail)?
        )
    };
}

/// Runs `body`, an expression on the write transaction `tx`, and commits: `Ok` of its value.
macro_rules! in_write {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut $tx = $store.write().await?;
        let value = $body;
        $tx.commit().await?;
        Ok(value)
    }};
}

pub struct SqliteStore {
    /// For reads; under WAL they never wait for the writer.
    reads: SqlitePool,
    /// For writes, apart so that a flood of reads can never starve the writer of connections.
    /// SQLite takes one writer at a time, so one connection: writers wait for it in the pool,
    /// first come first served. With two, they waited on SQLite's lock instead, which goes to
    /// whoever asks at the right moment: the recorder, writing batch after batch under load,
    /// kept it from a monitor being created until that failed with "database is locked".
    writes: SqlitePool,
}

impl SqliteStore {
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // Each commit reaches the disk: an accepted result survives a power cut, not only
            // a crash. Batching keeps the cost to one sync per batch.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let writes = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            // As long as SQLite itself waits for a lock held by another process.
            .acquire_timeout(Duration::from_secs(10))
            // A slow write would be logged with its whole text: for a batch of results, tens
            // of kilobytes of placeholders. The recorder says in one line which batch was slow.
            .connect_with(options.clone().disable_statement_logging())
            .await?;
        MIGRATOR.run(&writes).await?;
        let reads = SqlitePoolOptions::new()
            .max_connections(8)
            .min_connections(1)
            // Rows cross from SQLite's thread to the caller's task through a channel: a deep
            // one lets the thread run ahead instead of waiting for each row to be taken (a
            // 1,440-bucket window: 9 ms instead of 17).
            .connect_with(options.row_buffer_size(4096))
            .await?;
        Ok(SqliteStore { reads, writes })
    }

    async fn write(&self) -> Result<Transaction<'static, sqlx::Sqlite>> {
        Ok(self.writes.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Whether `e` says another writer kept the database for longer than the wait allowed: the
/// write connection stayed taken (the pool's wait), or SQLite's lock did (its busy wait,
/// `SQLITE_BUSY` and `SQLITE_LOCKED` with their extended codes).
pub(super) fn is_busy(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::PoolTimedOut => true,
        sqlx::Error::Database(d) => d
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|c| matches!(c & 0xff, 5 | 6)),
        _ => false,
    }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.reads).await?;
        Ok(())
    }

    async fn stats(&self) -> Result<StoreStats> {
        let by_status: Vec<(bool, String, i64)> = sqlx::query_as(
            "SELECT m.paused, s.status, count(*) FROM monitors m \
             JOIN monitor_state s ON s.monitor_id = m.id GROUP BY m.paused, s.status",
        )
        .fetch_all(&self.reads)
        .await?;
        let outbox: i64 =
            sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 'pending'")
                .fetch_one(&self.reads)
                .await?;
        let database_bytes: i64 = sqlx::query_scalar(
            "SELECT p.page_count * s.page_size FROM pragma_page_count() p, pragma_page_size() s",
        )
        .fetch_one(&self.reads)
        .await?;
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(StoreStats {
            monitors: by_status
                .into_iter()
                .map(|(paused, status, n)| {
                    Ok((shown_status(paused, rows::status(&status)?), count(n)))
                })
                .collect::<Result<_>>()?,
            outbox: count(outbox),
            database_bytes: count(database_bytes),
        })
    }

    async fn prune(
        &self,
        before: &PruneBefore,
        after: MonitorId,
        monitors: u32,
        rows: u32,
    ) -> Result<PruneStep> {
        in_write!(self, |tx| {
            let last: Option<i64> = sqlx::query_scalar(
                "SELECT max(id) FROM (SELECT id FROM monitors WHERE id > ? ORDER BY id LIMIT ?)",
            )
            .bind(after.0)
            .bind(i64::from(monitors))
            .fetch_one(&mut *tx)
            .await?;
            let Some(last) = last else {
                return Ok(PruneStep::default());
            };
            // Each table's primary key (monitor_id, start) finds a monitor's old rows as one
            // range. A monitor with years of checks to drop (after retention was shortened)
            // loses them over many steps, each short, never in one long transaction.
            let (mut deleted, mut more) = (0, false);
            let tables = [
                (PRUNE_CHECKS, Some(before.checks)),
                (rollups::MINUTES.prune, Some(before.minutes)),
                (rollups::HOURS.prune, Some(before.hours)),
                (rollups::DAYS.prune, before.days),
            ];
            for (sql, before) in tables {
                let Some(before) = before else { continue };
                let gone = sqlx::query(sql)
                    .bind(after.0)
                    .bind(last)
                    .bind(before.as_millis())
                    .bind(i64::from(rows))
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                deleted += gone;
                more |= gone >= u64::from(rows);
            }
            PruneStep {
                deleted,
                last: Some(MonitorId(last)),
                more,
            }
        })
    }

    async fn close(&self) {
        // The last connection to close checkpoints the WAL into the database file.
        self.reads.close().await;
        self.writes.close().await;
    }

    async fn setting_or_insert(&self, key: &str, candidate: &str) -> Result<String> {
        sqlx::query("INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING")
            .bind(key)
            .bind(candidate)
            .execute(&self.writes)
            .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?")
                .bind(key)
                .fetch_one(&self.writes)
                .await?,
        )
    }

    async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
        channel: &ChannelSpec,
        now: Timestamp,
    ) -> Result<User> {
        let mut tx = self.write().await?;
        let inserted = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) RETURNING id",
        )
        .bind(email.as_str())
        .bind(password_hash)
        .bind(now.as_millis())
        .fetch_one(&mut *tx)
        .await;
        let id = match inserted {
            Ok(id) => UserId(id),
            Err(e) if is_unique_violation(&e) => return Err(StoreError::Conflict),
            Err(e) => return Err(e.into()),
        };
        alerts::insert_channel(&mut tx, id, channel, now).await?;
        tx.commit().await?;
        Ok(User {
            id,
            email: email.clone(),
        })
    }

    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>> {
        let row: Option<(i64, String, String)> =
            sqlx::query_as("SELECT id, email, password_hash FROM users WHERE email = ?")
                .bind(email.as_str())
                .fetch_optional(&self.reads)
                .await?;
        Ok(row.map(|(id, email, password_hash)| UserCredentials {
            user: User {
                id: UserId(id),
                email: Email::from_trusted(email),
            },
            password_hash,
        }))
    }

    async fn user_credentials_by_id(&self, id: UserId) -> Result<Option<UserCredentials>> {
        let row: Option<(String, String)> =
            sqlx::query_as("SELECT email, password_hash FROM users WHERE id = ?")
                .bind(id.0)
                .fetch_optional(&self.reads)
                .await?;
        Ok(row.map(|(email, password_hash)| UserCredentials {
            user: User {
                id,
                email: Email::from_trusted(email),
            },
            password_hash,
        }))
    }

    async fn set_password(
        &self,
        user: UserId,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<bool> {
        in_write!(self, |tx| {
            sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
                .bind(password_hash)
                .bind(user.0)
                .execute(&mut *tx)
                .await?;
            sessions::end_all(&mut tx, user, now).await?
        })
    }

    async fn end_all_sessions(&self, user: UserId, now: Timestamp) -> Result<()> {
        in_write!(self, |tx| {
            sessions::end_all(&mut tx, user, now).await?;
        })
    }

    async fn sessions_valid_after(&self, user: UserId) -> Result<Option<Timestamp>> {
        sessions::valid_after(&self.reads, user).await
    }

    async fn user(&self, id: UserId) -> Result<Option<User>> {
        let email: Option<String> = sqlx::query_scalar("SELECT email FROM users WHERE id = ?")
            .bind(id.0)
            .fetch_optional(&self.reads)
            .await?;
        Ok(email.map(|email| User {
            id,
            email: Email::from_trusted(email),
        }))
    }

    async fn create_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<()> {
        in_write!(self, |tx| sessions::create(
            &mut tx, user, token_hash, now, expires
        )
        .await?)
    }

    async fn session_user(&self, token_hash: &[u8], now: Timestamp) -> Result<Option<User>> {
        sessions::user(&self.reads, token_hash, now).await
    }

    async fn end_session(&self, token_hash: &[u8]) -> Result<()> {
        sessions::end(&self.writes, token_hash).await
    }

    async fn create_api_token(
        &self,
        owner: UserId,
        name: &str,
        token_hash: &[u8],
        now: Timestamp,
        expires: Timestamp,
        max: u32,
    ) -> Result<ApiToken> {
        in_write!(self, |tx| tokens::create(
            &mut tx, owner, name, token_hash, now, expires, max
        )
        .await?)
    }

    async fn api_tokens(&self, owner: UserId) -> Result<Vec<ApiToken>> {
        tokens::list(&self.reads, owner).await
    }

    async fn delete_api_token(&self, owner: UserId, id: ApiTokenId) -> Result<bool> {
        tokens::delete(&self.writes, owner, id).await
    }

    async fn api_token_use(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<ApiTokenUse>> {
        tokens::find(&self.reads, token_hash, now).await
    }

    async fn touch_api_token(&self, id: ApiTokenId, now: Timestamp) -> Result<()> {
        tokens::touch(&self.writes, id, now).await
    }

    async fn create_monitor(
        &self,
        owner: UserId,
        spec: &MonitorSpec,
        paused: bool,
        channels: ChannelChoice<'_>,
        ping_token: Option<&str>,
        now: Timestamp,
    ) -> Result<Monitor> {
        let mut tx = self.write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO monitors (user_id, name, kind, url, interval_s, remind_every_s, spec, paused, \
                 created_at, updated_at, ping_token) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(owner.0)
        .bind(spec.name.as_str())
        .bind(spec.kind().as_str())
        .bind(spec.url())
        .bind(spec.interval.as_secs() as i64)
        .bind(remind_every_s(spec))
        .bind(serde_json::Value::Object(spec.to_json()).to_string())
        .bind(paused)
        .bind(now.as_millis())
        .bind(now.as_millis())
        .bind(ping_token)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO monitor_state (monitor_id, status_since, runs_counted_from) \
             VALUES (?, ?, ?)",
        )
        .bind(id)
        .bind(now.as_millis())
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        alerts::attach(&mut tx, owner, MonitorId(id), channels).await?;
        let channels = alerts::channels_of(&mut *tx, MonitorId(id)).await?;
        tx.commit().await?;
        Ok(Monitor {
            id: MonitorId(id),
            owner,
            spec: spec.clone(),
            paused,
            created_at: now,
            updated_at: now,
            status: Status::Pending,
            status_since: Some(now),
            last_check: None,
            cert_expires_at: None,
            channels,
            ping_token: ping_token.map(Secret::new),
        })
    }

    async fn monitor(&self, owner: UserId, id: MonitorId) -> Result<Option<Monitor>> {
        let row: Option<MonitorRow> =
            sqlx::query_as(select_monitor!("WHERE m.id = ? AND m.user_id = ?"))
                .bind(id.0)
                .bind(owner.0)
                .fetch_optional(&self.reads)
                .await?;
        let Some(row) = row else { return Ok(None) };
        let channels = alerts::channels_of(&self.reads, id).await?;
        Ok(Some(row.into_monitor(channels)?))
    }

    async fn owns_monitor(&self, owner: UserId, id: MonitorId) -> Result<bool> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM monitors WHERE id = ? AND user_id = ?")
                .bind(id.0)
                .bind(owner.0)
                .fetch_optional(&self.reads)
                .await?;
        Ok(found.is_some())
    }

    async fn monitors(&self, owner: UserId) -> Result<Vec<Monitor>> {
        let rows: Vec<MonitorRow> = sqlx::query_as(MONITORS_OF_USER)
            .bind(owner.0)
            .fetch_all(&self.reads)
            .await?;
        let mut channels = alerts::channels_by_monitor(&self.reads, owner).await?;
        Ok(rows::readable(
            rows,
            "monitor",
            |r| r.id,
            |row| {
                let attached = channels.remove(&MonitorId(row.id)).unwrap_or_default();
                row.into_monitor(attached)
            },
        ))
    }

    async fn summaries(
        &self,
        owner: UserId,
        from: Timestamp,
        hours: u32,
    ) -> Result<Vec<MonitorSummary>> {
        history::summaries(&self.reads, owner, from, hours).await
    }

    async fn update_monitor(
        &self,
        owner: UserId,
        id: MonitorId,
        spec: &MonitorSpec,
        paused: bool,
        channels: Option<&[ChannelId]>,
        ping_token: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Monitor>> {
        let mut tx = self.write().await?;
        let before: Option<(bool, String)> = sqlx::query_as(
            "SELECT m.paused, s.status FROM monitors m JOIN monitor_state s ON s.monitor_id = m.id \
             WHERE m.id = ? AND m.user_id = ?",
        )
        .bind(id.0)
        .bind(owner.0)
        .fetch_optional(&mut *tx)
        .await?;
        let Some((was_paused, status)) = before else {
            return Ok(None);
        };
        sqlx::query(
            "UPDATE monitors SET name = ?, kind = ?, url = ?, interval_s = ?, remind_every_s = ?, spec = ?, paused = ?, \
                 updated_at = ?, ping_token = COALESCE(ping_token, ?) \
             WHERE id = ?",
        )
        .bind(spec.name.as_str())
        .bind(spec.kind().as_str())
        .bind(spec.url())
        .bind(spec.interval.as_secs() as i64)
        .bind(remind_every_s(spec))
        .bind(serde_json::Value::Object(spec.to_json()).to_string())
        .bind(paused)
        .bind(now.as_millis())
        .bind(ping_token)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
        if was_paused != paused {
            pause_change(&mut tx, id, paused, &status, now).await?;
        }
        if let Some(channels) = channels {
            alerts::attach(&mut tx, owner, id, ChannelChoice::These(channels)).await?;
        }
        tx.commit().await?;
        self.monitor(owner, id).await
    }

    async fn delete_monitor(&self, owner: UserId, id: MonitorId) -> Result<bool> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query("DELETE FROM monitors WHERE id = ? AND user_id = ?")
            .bind(id.0)
            .bind(owner.0)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        // State, events and incidents go by cascade; checks and roll-ups carry no foreign key
        // (it would cost every insert a lookup) and are deleted here.
        let rollups = rollups::ALL.map(|r| r.delete);
        for sql in std::iter::once("DELETE FROM checks WHERE monitor_id = ?").chain(rollups) {
            sqlx::query(sql).bind(id.0).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn active_monitors(&self) -> Result<Vec<ActiveMonitor>> {
        let rows: Vec<ActiveRow> = in_chunks(&self.reads, ACTIVE_MONITORS).await?;
        // Reading 100,000 specs takes a second on one core: every core takes a share, on
        // threads that may block.
        let read = tokio::task::spawn_blocking(move || {
            let cores = std::thread::available_parallelism().map_or(1, usize::from);
            let share = rows.len().div_ceil(cores).max(1);
            std::thread::scope(|scope| {
                let parts: Vec<_> = rows
                    .chunks(share)
                    .map(|part| {
                        scope.spawn(move || part.iter().filter_map(active).collect::<Vec<_>>())
                    })
                    .collect();
                let mut all = Vec::with_capacity(rows.len());
                for part in parts {
                    let read = part.join().map_err(|_| {
                        StoreError::Corrupt("reading the monitors' settings panicked".into())
                    })?;
                    all.extend(read);
                }
                Ok(all)
            })
        });
        read.await
            .map_err(|e| StoreError::Corrupt(format!("reading the monitors' settings: {e}")))?
    }

    async fn verdict_states(&self) -> Result<Vec<StoredVerdict>> {
        let rows: Vec<VerdictRow> = in_chunks(&self.reads, VERDICT_STATES).await?;
        rows.into_iter().map(VerdictRow::into_stored).collect()
    }

    async fn ping_target(&self, token: &str) -> Result<Option<PingTarget>> {
        pings::target(&self.reads, token).await
    }

    async fn record_ping(&self, monitor: MonitorId, ping: &Ping) -> Result<RunTimes> {
        in_write!(self, |tx| pings::insert(&mut tx, monitor, ping).await?)
    }

    async fn pings(&self, monitor: MonitorId, limit: u32) -> Result<Vec<Ping>> {
        pings::latest(&self.reads, monitor, limit).await
    }

    async fn record(&self, batch: &[CheckRecord]) -> Result<Recorded> {
        if batch.is_empty() {
            return Ok(Recorded::default());
        }
        in_write!(self, |tx| record::write_batch(&mut tx, batch).await?)
    }

    async fn checks(
        &self,
        monitor: MonitorId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Outcome>> {
        history::checks(&self.reads, monitor, before, limit).await
    }

    async fn buckets(
        &self,
        monitor: MonitorId,
        from: Timestamp,
        width: Duration,
        count: u32,
    ) -> Result<Vec<BucketStats>> {
        history::buckets(&self.reads, monitor, from, width, count).await
    }

    async fn incidents(&self, monitor: MonitorId, limit: u32) -> Result<Vec<Incident>> {
        history::incidents(&self.reads, monitor, limit).await
    }

    async fn events(&self, monitor: MonitorId, limit: u32) -> Result<Vec<Event>> {
        history::events(&self.reads, monitor, limit).await
    }

    async fn create_channel(
        &self,
        owner: UserId,
        spec: &ChannelSpec,
        now: Timestamp,
    ) -> Result<Channel> {
        in_write!(self, |tx| alerts::insert_channel(&mut tx, owner, spec, now)
            .await?)
    }

    async fn channels(&self, owner: UserId) -> Result<Vec<Channel>> {
        alerts::channels(&self.reads, owner).await
    }

    async fn channel(&self, owner: UserId, id: ChannelId) -> Result<Option<Channel>> {
        alerts::channel(&self.reads, owner, id).await
    }

    async fn update_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        spec: &ChannelSpec,
        now: Timestamp,
    ) -> Result<Option<Channel>> {
        let mut tx = self.write().await?;
        let updated = alerts::update_channel(&mut tx, owner, id, spec, now).await?;
        tx.commit().await?;
        if !updated {
            return Ok(None);
        }
        alerts::channel(&self.writes, owner, id).await
    }

    async fn delete_channel(&self, owner: UserId, id: ChannelId) -> Result<bool> {
        in_write!(self, |tx| alerts::delete_channel(&mut tx, owner, id)
            .await?)
    }

    async fn settle_deliveries(
        &self,
        node: &str,
        finished: &[FinishedDelivery],
        now: Timestamp,
        lease: Duration,
        limit: u32,
        after: Option<ChannelId>,
    ) -> Result<Settled> {
        let mut tx = self.write().await?;
        let mut lost = Vec::new();
        for done in finished {
            if !alerts::finish(&mut tx, done.id, node, done.lease, &done.outcome, done.at).await? {
                lost.push(done.id);
            }
        }
        let (claimed, turn) = alerts::claim(&mut tx, node, now, lease, limit, after).await?;
        tx.commit().await?;
        Ok(Settled {
            lost,
            claimed,
            turn,
        })
    }

    async fn release_claims(&self, node: &str) -> Result<u64> {
        alerts::release_claims(&self.writes, node).await
    }

    async fn enqueue_reminders(&self, now: Timestamp) -> Result<u64> {
        in_write!(self, |tx| alerts::enqueue_reminders(&mut tx, now).await?)
    }

    async fn log_test_delivery(
        &self,
        channel: &Channel,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> Result<Delivery> {
        in_write!(self, |tx| alerts::log_test(&mut tx, channel, outcome, now)
            .await?)
    }

    async fn deliveries(
        &self,
        owner: UserId,
        monitor: Option<MonitorId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Delivery>> {
        alerts::deliveries(&self.reads, owner, monitor, before, limit).await
    }
}

/// Records a pause or a resume. A pause ends what the checks had established: an open incident
/// ends at the pause, and the verdict starts again from `pending` on resume, so neither a
/// failure streak nor an outage runs on through time nobody watched.
async fn pause_change(
    conn: &mut SqliteConnection,
    id: MonitorId,
    paused: bool,
    status: &str,
    now: Timestamp,
) -> Result<()> {
    let (from, to, incident) = if paused {
        let closed: Option<i64> = sqlx::query_scalar(record::CLOSE_INCIDENT)
            .bind(now.as_millis())
            .bind(id.0)
            .fetch_optional(&mut *conn)
            .await?;
        // The outage's alerts end with the pause.
        if let Some(incident) = closed {
            alerts::queue_end(conn, incident, None, AlertKind::Paused, now).await?;
        }
        (status, "paused", closed)
    } else {
        ("paused", Status::Pending.as_str(), None)
    };
    // A heartbeat's runs count afresh from a resumption (and stay as they were while paused).
    sqlx::query(
        "UPDATE monitor_state SET status = 'pending', status_since = ?, streak = 0, \
             streak_since = NULL, streak_cause_kind = NULL, streak_cause_message = NULL, \
             runs_counted_from = CASE WHEN ? THEN runs_counted_from ELSE ? END \
         WHERE monitor_id = ?",
    )
    .bind(now.as_millis())
    .bind(paused)
    .bind(now.as_millis())
    .bind(id.0)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO events (monitor_id, at, from_status, to_status, incident_id) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id.0)
    .bind(now.as_millis())
    .bind(from)
    .bind(to)
    .bind(incident)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn remind_every_s(spec: &MonitorSpec) -> Option<i64> {
    spec.remind_every
        .map(|r| i64::try_from(r.duration().as_secs()).unwrap_or(i64::MAX))
}

const MONITORS_OF_USER: &str = select_monitor!("WHERE m.user_id = ? ORDER BY m.id");

/// A stored monitor as the scheduler takes it. One that no longer reads is not checked, and
/// keeps none of the others from it.
fn active(row: &ActiveRow) -> Option<ActiveMonitor> {
    let (id, spec, last_at, counted_from, ended, started) = row;
    let spec = parse_spec(spec)
        .inspect_err(|e| tracing::error!(monitor = id, error = %e, "a stored monitor cannot be read; it is not checked"))
        .ok()?;
    Some(ActiveMonitor {
        id: MonitorId(*id),
        spec,
        last_check_at: last_at.map(Timestamp::from_millis),
        runs: RunTimes {
            counted_from: counted_from.map(Timestamp::from_millis),
            ended: ended.map(Timestamp::from_millis),
            started: started.map(Timestamp::from_millis),
        },
    })
}

type ActiveRow = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::record::tests::{record, store_with_monitor_7};
    use crate::timestamp::HOUR_MS;
    use std::sync::Arc;
    use std::time::Instant;

    /// Monitors are read a thousand at a time: every one of several thousand comes back once,
    /// paused ones only with their verdicts.
    #[tokio::test]
    async fn monitors_and_verdicts_are_read_whole_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut conn) = store_with_monitor_7(&dir).await;
        let spec = serde_json::json!({"name": "m", "url": "http://a.example/", "interval": 60});
        for sql in [
            "UPDATE monitors SET spec = ?1 WHERE id = 7",
            "WITH RECURSIVE n(i) AS (SELECT 8 UNION ALL SELECT i + 1 FROM n WHERE i < 2506) \
             INSERT INTO monitors (id, user_id, name, kind, url, interval_s, spec, paused, \
                                   created_at, updated_at) \
             SELECT i, 1, 'm', 'http', 'http://a.example/', 60, ?1, i % 100 = 0, 0, 0 FROM n",
            "INSERT INTO monitor_state (monitor_id) SELECT id FROM monitors WHERE id > 7",
        ] {
            sqlx::query(sql)
                .bind(spec.to_string())
                .execute(&mut *conn)
                .await
                .unwrap();
        }
        let active: Vec<i64> = store
            .active_monitors()
            .await
            .unwrap()
            .iter()
            .map(|m| m.id.0)
            .collect();
        let unpaused: Vec<i64> = (7..=2506).filter(|i| i % 100 != 0).collect();
        assert_eq!(active, unpaused);
        let verdicts: Vec<i64> = store
            .verdict_states()
            .await
            .unwrap()
            .iter()
            .map(|v| v.monitor.0)
            .collect();
        assert_eq!(verdicts, (7..=2506).collect::<Vec<_>>());
    }

    /// Write transactions back to back, as the recorder's under load, never keep another
    /// write out for long: writers take turns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn back_to_back_write_transactions_let_other_writes_take_their_turn() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("upbeat.db").display());
        let store = Arc::new(SqliteStore::open(&url).await.unwrap());
        let busy = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let until = Instant::now() + Duration::from_secs(4);
                while Instant::now() < until {
                    let mut tx = store.write().await.unwrap();
                    sqlx::query(
                        "INSERT INTO settings (key, value) VALUES ('busy', 0) \
                         ON CONFLICT (key) DO UPDATE SET value = value + 1",
                    )
                    .execute(&mut *tx)
                    .await
                    .unwrap();
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    tx.commit().await.unwrap();
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        let started = Instant::now();
        for i in 0..5 {
            store
                .setting_or_insert(&format!("k{i}"), "v")
                .await
                .unwrap();
        }
        let took = started.elapsed();
        busy.await.unwrap();
        // Each write waits for one transaction at most; waiting on SQLite's lock instead, they
        // waited for the whole loop.
        assert!(took < Duration::from_secs(2), "{took:?}");
    }

    /// A step deletes at most the rows it is given from each table, and says when the same
    /// monitors have more: history shortened by years goes in many short steps. Checks not
    /// rolled up yet stay, however old.
    #[tokio::test]
    async fn a_prune_step_deletes_at_most_its_rows_from_each_table_and_keeps_unrolled_checks() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut conn) = store_with_monitor_7(&dir).await;
        // 25 checks an hour apart: 25 minutes and hours, two days.
        let start = 400_000 * 24 * HOUR_MS;
        let batch: Vec<_> = (0..25)
            .map(|i| record(7, start + i * HOUR_MS, true, 5, None))
            .collect();
        record::write_batch(&mut conn, &batch).await.unwrap();
        // One more, too few to roll up: it stays, old as it is.
        let unrolled = [record(7, start + 25 * HOUR_MS, true, 5, None)];
        record::write_batch(&mut conn, &unrolled).await.unwrap();
        drop(conn);
        let later = Timestamp::from_millis(start + 30 * 24 * HOUR_MS);
        let before = PruneBefore {
            checks: later,
            minutes: later,
            hours: later,
            days: Some(later),
        };
        let mut steps = Vec::new();
        loop {
            let step = store.prune(&before, MonitorId(0), 500, 10).await.unwrap();
            assert_eq!(step.last, Some(MonitorId(7)));
            steps.push((step.deleted, step.more));
            if !step.more {
                break;
            }
        }
        assert_eq!(steps, [(32, true), (30, true), (15, false)]);
        let left: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM checks) + (SELECT count(*) FROM check_minutes) \
             + (SELECT count(*) FROM check_hours) + (SELECT count(*) FROM check_days)",
        )
        .fetch_one(&store.reads)
        .await
        .unwrap();
        assert_eq!(left, 1);
    }
}
