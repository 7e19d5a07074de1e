//! The only place with SQL. Everything else talks to storage through the [`Store`] trait, which
//! speaks the domain's types; each database has its own module behind it, chosen at start-up from
//! the database URL. Nothing here decides behaviour: callers validate, judge and schedule.

pub mod latency;
mod sqlite;

use crate::account::{Email, User};
use crate::alert::channel::{ChannelSettings, ChannelSpec};
use crate::alert::message::{Alert, AlertKind};
use crate::api_token::ApiTokenId;
use crate::fields::FieldError;
use crate::metrics::StoreStats;
use crate::monitor::{ChannelId, Kind, MonitorId, MonitorSpec, UserId};
use crate::probe::{CheckError, Outcome};
use crate::secret::Secret;
use crate::timestamp::{HOUR_MS, Timestamp};
use crate::verdict::certificate::CertAlerted;
use crate::verdict::{Status, Transition, VerdictState};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;

pub use latency::LatencyHistogram;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value (an email address) is taken.
    #[error("already exists")]
    Conflict,
    /// The owner already holds as many of a thing as the caller allows.
    #[error("the limit of {0} is reached")]
    LimitReached(u32),
    /// A channel to attach is not one of the owner's.
    #[error("channel {0} is not one of the owner's channels")]
    UnknownChannel(ChannelId),
    /// A stored row no longer parses: the database was changed by hand or by a newer version.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("unsupported database URL {0:?}: expected sqlite:PATH")]
    UnsupportedUrl(String),
    /// The database could not take the write in time: another writer held it for longer than
    /// the wait allowed. Nothing was written; trying again later can succeed.
    #[error("the database is busy")]
    Busy,
    #[error(transparent)]
    Database(sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if sqlite::is_busy(&e) {
            StoreError::Busy
        } else {
            StoreError::Database(e)
        }
    }
}

impl From<FieldError> for StoreError {
    fn from(e: FieldError) -> Self {
        StoreError::Corrupt(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A monitor as stored: its settings, its owner and what the checks have found so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Monitor {
    pub id: MonitorId,
    pub owner: UserId,
    pub spec: MonitorSpec,
    pub paused: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub status: Status,
    pub status_since: Option<Timestamp>,
    pub last_check: Option<Outcome>,
    /// When its target's certificate expires, as the last check that saw one found it.
    pub cert_expires_at: Option<Timestamp>,
    /// Where its alerts go.
    pub channels: Vec<ChannelId>,
    /// The secret of a heartbeat's ping URL.
    pub ping_token: Option<Secret>,
}

/// What a ping said about the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingKind {
    /// A run started.
    Start,
    /// A run succeeded (a plain ping, or exit code 0).
    Success,
    /// A run failed (`/fail`, or an exit code from 1 to 255).
    Fail,
}

impl PingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PingKind::Start => "start",
            PingKind::Success => "success",
            PingKind::Fail => "fail",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [PingKind::Start, PingKind::Success, PingKind::Fail]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// One ping a heartbeat monitor received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ping {
    pub at: Timestamp,
    pub kind: PingKind,
    pub exit_code: Option<u8>,
    /// The start of the request body, at most [`Ping::MAX_BODY_BYTES`].
    pub body: String,
    pub source: Option<String>,
    pub user_agent: Option<String>,
}

impl Ping {
    pub const MAX_BODY_BYTES: usize = 10 * 1024;
    /// How many of a monitor's pings are kept.
    pub const KEPT: u32 = 100;
}

/// The heartbeat monitor a ping token belongs to.
#[derive(Clone, Debug)]
pub struct PingTarget {
    pub id: MonitorId,
    pub spec: MonitorSpec,
    pub paused: bool,
}

/// What a heartbeat's deadline is computed from after a restart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunTimes {
    /// Creation or the last resumption: runs due before it do not count.
    pub counted_from: Option<Timestamp>,
    /// The last success or reported failure.
    pub ended: Option<Timestamp>,
    /// The last start.
    pub started: Option<Timestamp>,
}

/// A channel as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Channel {
    pub id: ChannelId,
    pub owner: UserId,
    pub spec: ChannelSpec,
    /// How many monitors alert through it.
    pub monitor_count: u64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// The channels a new monitor alerts.
#[derive(Clone, Copy, Debug)]
pub enum ChannelChoice<'a> {
    /// The owner's default channels.
    Defaults,
    These(&'a [ChannelId]),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting to be sent, or to be tried again.
    Pending,
    Sent,
    /// Given up: refused by the destination, or still failing after a day of retries.
    Failed,
    /// Not sent, on purpose (email alerts are off, the channel was deleted).
    Skipped,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryState::Pending,
            DeliveryState::Sent,
            DeliveryState::Failed,
            DeliveryState::Skipped,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One alert to one channel, as the history shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: i64,
    pub monitor: Option<MonitorId>,
    pub channel: Option<ChannelId>,
    pub channel_name: String,
    pub channel_kind: String,
    pub kind: AlertKind,
    pub state: DeliveryState,
    pub attempts: u32,
    pub created_at: Timestamp,
    pub next_attempt_at: Option<Timestamp>,
    pub sent_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// A delivery claimed for sending, with all it takes to send it.
#[derive(Clone, Debug)]
pub struct ClaimedDelivery {
    pub id: i64,
    /// Attempts so far, this one included.
    pub attempts: u32,
    pub created_at: Timestamp,
    /// When the claim ends; it also tells this claim from a later one.
    pub lease: Timestamp,
    /// Where to send it; `None` when the channel was deleted meanwhile.
    pub channel: Option<ChannelSettings>,
    pub alert: Alert,
}

/// How an attempt to deliver ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    Sent,
    /// Some recipients got it and some could not be reached: it is not sent again, which would
    /// repeat it to those who got it.
    SentPartly(String),
    Retry {
        at: Timestamp,
        error: String,
    },
    Failed(String),
    Skipped(String),
}

/// How an attempt made under a claim ended.
#[derive(Clone, Debug)]
pub struct FinishedDelivery {
    pub id: i64,
    /// The claim's lease: it tells this claim from a later one.
    pub lease: Timestamp,
    pub outcome: DeliveryOutcome,
    /// When the attempt ended.
    pub at: Timestamp,
}

/// What settling deliveries did.
#[derive(Debug, Default)]
pub struct Settled {
    /// Finished attempts left unrecorded: their claim had run out and another sender took
    /// the delivery.
    pub lost: Vec<i64>,
    pub claimed: Vec<ClaimedDelivery>,
    /// The channel the claim ended with, if it took any.
    pub turn: Option<ChannelId>,
}

/// How far back each kind of history is kept: what started earlier is pruned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PruneBefore {
    pub checks: Timestamp,
    pub minutes: Timestamp,
    pub hours: Timestamp,
    /// `None`: daily roll-ups are kept forever.
    pub days: Option<Timestamp>,
}

/// What one step of pruning did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PruneStep {
    pub deleted: u64,
    /// The last monitor the step covered; `None` when there was none left.
    pub last: Option<MonitorId>,
    /// A table had more old rows than the step could delete: the same monitors need another.
    pub more: bool,
}

/// What storing a batch of results did.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Monitors that no longer exist; their results were skipped.
    pub gone: Vec<MonitorId>,
    /// Alerts queued by the status changes in the batch.
    pub alerts: u64,
}

/// Every status people see: the verdict's, and `paused`.
pub const SHOWN_STATUSES: [&str; 4] = ["pending", "up", "down", "paused"];

/// The status people see: `paused` overrides the verdict while it lasts.
pub(crate) fn shown_status(paused: bool, status: Status) -> &'static str {
    if paused { "paused" } else { status.as_str() }
}

impl Monitor {
    pub fn shown_status(&self) -> &'static str {
        shown_status(self.paused, self.status)
    }
}

/// How many of a monitor's latest check results its summary carries.
pub const RECENT_CHECKS: usize = 60;

/// Hours an overview shows: the current one and those before it.
pub const SUMMARY_HOURS: u32 = 24;

/// The start of the first of the [`SUMMARY_HOURS`] hours an overview shows at `now`.
pub fn summary_start(now: Timestamp) -> Timestamp {
    Timestamp::from_millis(
        now.start_of(HOUR_MS).as_millis() - HOUR_MS * i64::from(SUMMARY_HOURS - 1),
    )
}

/// What an overview shows of a monitor, read from its state and its roll-ups, never from its
/// checks: its cost does not grow with the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorSummary {
    pub id: MonitorId,
    pub name: String,
    pub kind: Kind,
    /// Empty for a heartbeat, which has none.
    pub url: String,
    pub paused: bool,
    pub status: Status,
    pub status_since: Option<Timestamp>,
    pub last_latency_ms: Option<u32>,
    /// Whether each of the latest checks succeeded, oldest first; at most [`RECENT_CHECKS`].
    pub recent: Vec<bool>,
    /// Consecutive hours, oldest first, as many as asked for: their checks, successes and
    /// latency sums (not the fastest, slowest or spread).
    pub hours: Vec<BucketStats>,
}

impl MonitorSummary {
    pub fn shown_status(&self) -> &'static str {
        shown_status(self.paused, self.status)
    }

    /// What is watched, as a list shows it: the URL, or for a heartbeat the kind.
    pub fn shown_target(&self) -> &str {
        if self.kind.is_probed() {
            &self.url
        } else {
            self.kind.as_str()
        }
    }
}

/// An account with the hash its password is checked against.
pub struct UserCredentials {
    pub user: User,
    pub password_hash: String,
}

/// An API token as stored: what it is called and when it was made, expires and was last used,
/// never the token itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub owner: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

/// An unexpired API token presented by a caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiTokenUse {
    pub id: ApiTokenId,
    pub owner: UserId,
    pub last_used_at: Option<Timestamp>,
}

/// One judged check, as the recorder hands it over: the outcome, the verdict state after it, and
/// the status change it confirmed.
#[derive(Clone, Debug)]
pub struct CheckRecord {
    pub monitor: MonitorId,
    pub outcome: Outcome,
    pub verdict: VerdictState,
    pub transition: Option<Transition>,
    /// Whether the verdict state or the certificate's expiry differ from what the monitor's
    /// previous check left: only then is its stored state rewritten.
    pub state_changed: bool,
    /// The certificate alert it calls for, which is also what the monitor remembers from now on.
    pub cert_alert: Option<CertAlerted>,
}

/// A monitor's verdict state as last stored, to resume judging after a restart.
pub struct StoredVerdict {
    pub monitor: MonitorId,
    pub verdict: VerdictState,
    pub last_at: Option<Timestamp>,
    /// The last certificate alert queued.
    pub cert_alerted: Option<CertAlerted>,
}

/// A monitor to schedule at start-up.
pub struct ActiveMonitor {
    pub id: MonitorId,
    pub spec: MonitorSpec,
    /// When its last check started, to tell whether it missed a slot while upbeat was down.
    pub last_check_at: Option<Timestamp>,
    /// For a heartbeat, what its deadline is counted from.
    pub runs: RunTimes,
}

/// Counts for one bucket of time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BucketStats {
    pub checks: u64,
    pub up: u64,
    /// Sum of the latencies of the successful checks.
    pub up_latency_sum_ms: u64,
    /// The fastest and slowest successful check.
    pub latency_min_ms: Option<u32>,
    pub latency_max_ms: Option<u32>,
    /// How the successful checks' latencies are spread. Periods written before upbeat kept
    /// it have none, so it may count fewer checks than `up`.
    pub latency: LatencyHistogram,
}

impl BucketStats {
    /// The counts of both buckets together.
    pub fn merge(&self, other: &BucketStats) -> BucketStats {
        let pick = |a: Option<u32>, b: Option<u32>, f: fn(u32, u32) -> u32| match (a, b) {
            (Some(a), Some(b)) => Some(f(a, b)),
            (a, b) => a.or(b),
        };
        BucketStats {
            checks: self.checks + other.checks,
            up: self.up + other.up,
            up_latency_sum_ms: self.up_latency_sum_ms + other.up_latency_sum_ms,
            latency_min_ms: pick(self.latency_min_ms, other.latency_min_ms, u32::min),
            latency_max_ms: pick(self.latency_max_ms, other.latency_max_ms, u32::max),
            latency: self.latency.merge(&other.latency),
        }
    }

    /// Counts one more check; the latency of a successful one.
    pub fn add(&mut self, ok: bool, latency_ms: u32) {
        self.checks += 1;
        if ok {
            self.up += 1;
            self.up_latency_sum_ms += u64::from(latency_ms);
            self.latency_min_ms = Some(
                self.latency_min_ms
                    .map_or(latency_ms, |m| m.min(latency_ms)),
            );
            self.latency_max_ms = Some(
                self.latency_max_ms
                    .map_or(latency_ms, |m| m.max(latency_ms)),
            );
            self.latency.add(latency_ms);
        }
    }

    /// All of `buckets` together.
    pub fn total<'a>(buckets: impl IntoIterator<Item = &'a BucketStats>) -> BucketStats {
        buckets
            .into_iter()
            .fold(BucketStats::default(), |t, b| t.merge(b))
    }

    /// The average latency of the successful checks.
    pub fn average_ms(&self) -> Option<u64> {
        self.up_latency_sum_ms.checked_div(self.up)
    }

    /// Successful checks over checks; `None` without a check.
    pub fn uptime(&self) -> Option<f64> {
        (self.checks > 0).then(|| self.up as f64 / self.checks as f64)
    }

    /// The latency `percent` of the successful checks took at most.
    pub fn percentile_ms(&self, percent: u8) -> Option<u32> {
        self.latency.percentile(
            percent,
            self.latency_min_ms.unwrap_or(0),
            self.latency_max_ms.unwrap_or(u32::MAX),
        )
    }
}

/// A recorded change of a monitor's status: `pending`, `up`, `down` from checks, or `paused`
/// and back by its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: i64,
    pub at: Timestamp,
    pub from: String,
    pub to: String,
    pub cause: Option<CheckError>,
    pub incident: Option<i64>,
}

/// A period during which a monitor was down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incident {
    pub id: i64,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    pub cause: Option<CheckError>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Succeeds when the database answers.
    async fn ping(&self) -> Result<()>;
    /// Monitors by status, the alerts waiting and the database's size, for the metrics.
    async fn stats(&self) -> Result<StoreStats>;
    /// Deletes the checks and roll-ups older than `before` says of up to `monitors` monitors,
    /// the first ones with an id above `after`, at most `rows` rows from each table, in one
    /// transaction.
    async fn prune(
        &self,
        before: &PruneBefore,
        after: MonitorId,
        monitors: u32,
        rows: u32,
    ) -> Result<PruneStep>;
    /// Closes every connection once the writes in progress are done.
    async fn close(&self);

    /// The value stored under `key`, storing `candidate` first if there is none. Safe against
    /// concurrent callers: all of them get the same value.
    async fn setting_or_insert(&self, key: &str, candidate: &str) -> Result<String>;

    /// Creates the account with its first channel, `channel`. Fails with
    /// [`StoreError::Conflict`] when the address is taken.
    async fn create_user(
        &self,
        email: &Email,
        password_hash: &str,
        channel: &ChannelSpec,
        now: Timestamp,
    ) -> Result<User>;
    async fn user_credentials(&self, email: &Email) -> Result<Option<UserCredentials>>;
    /// The same, by the account's id.
    async fn user_credentials_by_id(&self, id: UserId) -> Result<Option<UserCredentials>>;
    async fn user(&self, id: UserId) -> Result<Option<User>>;
    /// Replaces the password hash and ends every session of the account at `now`: its browser
    /// sessions are deleted and its login tokens issued before `now` stop working (see
    /// [`Store::sessions_valid_after`]). API tokens stay. `false` when there is no such account.
    async fn set_password(&self, user: UserId, password_hash: &str, now: Timestamp)
    -> Result<bool>;
    /// Ends every session of the account at `now`, as [`Store::set_password`] does, the
    /// password aside.
    async fn end_all_sessions(&self, user: UserId, now: Timestamp) -> Result<()>;
    /// Since when the account's sessions count: a login token issued or a browser session
    /// started before it is no longer valid. The epoch when they were never ended; `None` when
    /// there is no such account.
    async fn sessions_valid_after(&self, user: UserId) -> Result<Option<Timestamp>>;

    /// Starts a browser session known by the hash of its token, until `expires`.
    async fn create_session(
        &self,
        user: UserId,
        token_hash: &[u8],
        now: Timestamp,
        expires: Timestamp,
    ) -> Result<()>;
    /// The user of an unexpired session, started since its user's sessions count.
    async fn session_user(&self, token_hash: &[u8], now: Timestamp) -> Result<Option<User>>;
    async fn end_session(&self, token_hash: &[u8]) -> Result<()>;

    /// Stores a new API token, known by the hash of its secret, after deleting the owner's
    /// expired ones. Fails with [`StoreError::LimitReached`] when the owner already holds `max`
    /// and with [`StoreError::Conflict`] when one of them has the same name.
    async fn create_api_token(
        &self,
        owner: UserId,
        name: &str,
        token_hash: &[u8],
        now: Timestamp,
        expires: Timestamp,
        max: u32,
    ) -> Result<ApiToken>;
    /// The owner's API tokens, oldest first, expired ones included.
    async fn api_tokens(&self, owner: UserId) -> Result<Vec<ApiToken>>;
    /// Deletes one of the owner's API tokens; `false` when there was none of the owner's.
    async fn delete_api_token(&self, owner: UserId, id: ApiTokenId) -> Result<bool>;
    /// The unexpired API token with this hash.
    async fn api_token_use(&self, token_hash: &[u8], now: Timestamp)
    -> Result<Option<ApiTokenUse>>;
    /// Records that the token was used at `now`.
    async fn touch_api_token(&self, id: ApiTokenId, now: Timestamp) -> Result<()>;

    /// `ping_token`: the secret of a heartbeat's ping URL.
    async fn create_monitor(
        &self,
        owner: UserId,
        spec: &MonitorSpec,
        paused: bool,
        channels: ChannelChoice<'_>,
        ping_token: Option<&str>,
        now: Timestamp,
    ) -> Result<Monitor>;
    /// `None` when there is no such monitor or it belongs to someone else.
    async fn monitor(&self, owner: UserId, id: MonitorId) -> Result<Option<Monitor>>;
    /// Whether `owner` has a monitor `id`: all that reading its history needs to know.
    async fn owns_monitor(&self, owner: UserId, id: MonitorId) -> Result<bool>;
    async fn monitors(&self, owner: UserId) -> Result<Vec<Monitor>>;
    /// A summary of each of the owner's monitors, with `hours` hourly buckets from `from` (an
    /// hour boundary).
    async fn summaries(
        &self,
        owner: UserId,
        from: Timestamp,
        hours: u32,
    ) -> Result<Vec<MonitorSummary>>;
    /// Replaces the settings, the pause flag and, when given, the channels; a change of the
    /// flag is recorded as an event. `ping_token` is stored only if the monitor has none yet.
    #[allow(clippy::too_many_arguments)]
    async fn update_monitor(
        &self,
        owner: UserId,
        id: MonitorId,
        spec: &MonitorSpec,
        paused: bool,
        channels: Option<&[ChannelId]>,
        ping_token: Option<&str>,
        now: Timestamp,
    ) -> Result<Option<Monitor>>;

    /// The heartbeat monitor whose ping URL has this token.
    async fn ping_target(&self, token: &str) -> Result<Option<PingTarget>>;
    /// Stores a ping, keeping the latest [`Ping::KEPT`] of the monitor, and notes the run's
    /// start or end for deadlines after a restart. Returns the run times as they were before.
    async fn record_ping(&self, monitor: MonitorId, ping: &Ping) -> Result<RunTimes>;
    /// A monitor's latest pings, newest first.
    async fn pings(&self, monitor: MonitorId, limit: u32) -> Result<Vec<Ping>>;
    /// Deletes the monitor with all its history; `false` when there was none of the owner's.
    async fn delete_monitor(&self, owner: UserId, id: MonitorId) -> Result<bool>;

    /// Every monitor that is not paused, for the scheduler at start-up.
    async fn active_monitors(&self) -> Result<Vec<ActiveMonitor>>;
    async fn verdict_states(&self) -> Result<Vec<StoredVerdict>>;

    /// Stores a batch in one transaction: checks, verdict states, status events, incidents and
    /// roll-ups, and the alerts each change of status causes (the outbox).
    async fn record(&self, batch: &[CheckRecord]) -> Result<Recorded>;

    /// A monitor's checks, newest first, started before `before` when given.
    async fn checks(
        &self,
        monitor: MonitorId,
        before: Option<Timestamp>,
        limit: u32,
    ) -> Result<Vec<Outcome>>;
    /// `count` consecutive buckets of `width` starting at `from`, oldest first.
    async fn buckets(
        &self,
        monitor: MonitorId,
        from: Timestamp,
        width: Duration,
        count: u32,
    ) -> Result<Vec<BucketStats>>;
    /// Newest first.
    async fn incidents(&self, monitor: MonitorId, limit: u32) -> Result<Vec<Incident>>;
    /// Newest first.
    async fn events(&self, monitor: MonitorId, limit: u32) -> Result<Vec<Event>>;

    async fn create_channel(
        &self,
        owner: UserId,
        spec: &ChannelSpec,
        now: Timestamp,
    ) -> Result<Channel>;
    async fn channels(&self, owner: UserId) -> Result<Vec<Channel>>;
    /// `None` when there is no such channel or it belongs to someone else.
    async fn channel(&self, owner: UserId, id: ChannelId) -> Result<Option<Channel>>;
    async fn update_channel(
        &self,
        owner: UserId,
        id: ChannelId,
        spec: &ChannelSpec,
        now: Timestamp,
    ) -> Result<Option<Channel>>;
    /// Deletes the channel and detaches it from every monitor; its history stays.
    async fn delete_channel(&self, owner: UserId, id: ChannelId) -> Result<bool>;

    /// Records how the `finished` attempts ended, each only if the claim it was made under
    /// still holds, then takes up to `limit` due deliveries for `lease`: until it ends no one
    /// else takes them, and after it they are due again unless finished. Channels take turns:
    /// the claim starts just after channel `after` (the `turn` the last one ended with). One
    /// transaction, so one write to the disk however many alerts move.
    async fn settle_deliveries(
        &self,
        node: &str,
        finished: &[FinishedDelivery],
        now: Timestamp,
        lease: Duration,
        limit: u32,
        after: Option<ChannelId>,
    ) -> Result<Settled>;
    /// Ends the leases `node` still holds: at start-up they are left over from a crash, and no
    /// other node can be sending them.
    async fn release_claims(&self, node: &str) -> Result<u64>;
    /// Queues a reminder on every channel of every ongoing outage whose monitor asks for one
    /// and whose last alert is `remind_every` old. Returns how many were queued.
    async fn enqueue_reminders(&self, now: Timestamp) -> Result<u64>;
    /// Records a test message sent to a channel.
    async fn log_test_delivery(
        &self,
        channel: &Channel,
        outcome: &DeliveryOutcome,
        now: Timestamp,
    ) -> Result<Delivery>;
    /// The owner's deliveries, newest first, of one monitor when given, older than `before`.
    async fn deliveries(
        &self,
        owner: UserId,
        monitor: Option<MonitorId>,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Delivery>>;
}

/// Opens the database a URL names, creating and migrating it as needed.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_owned()))
    }
}
