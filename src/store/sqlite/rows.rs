//! Rows as SQLite returns them, and their conversion into domain values. A row that does not
//! convert is reported as corrupt rather than guessed at.

use crate::monitor::{ChannelId, Kind, MonitorId, MonitorInput, MonitorSpec, UserId};
use crate::probe::{CheckError, ErrorKind, Outcome, Phases};
use crate::store::{
    BucketStats, Event, Incident, Monitor, MonitorSummary, RECENT_CHECKS, Result, StoreError,
    StoredVerdict,
};
use crate::timestamp::Timestamp;
use crate::verdict::certificate::CertAlerted;
use crate::verdict::{Status, VerdictState};

pub fn parse_spec(json: &str) -> Result<MonitorSpec> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| StoreError::Corrupt(format!("monitor spec: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| StoreError::Corrupt("monitor spec is not an object".into()))?;
    Ok(MonitorInput::parse(obj)?.spec)
}

/// The rows of a list that read, each converted by `convert`. One that does not (changed by
/// hand, or written by a newer release) is logged and left out: it hides no other.
pub(super) fn readable<R, T>(
    rows: Vec<R>,
    what: &str,
    id: impl Fn(&R) -> i64,
    mut convert: impl FnMut(R) -> Result<T>,
) -> Vec<T> {
    rows.into_iter()
        .filter_map(|row| {
            let id = id(&row);
            convert(row)
                .inspect_err(
                    |e| tracing::error!(id, error = %e, "a stored {what} cannot be read; left out"),
                )
                .ok()
        })
        .collect()
}

/// Rows fetched per value by [`in_chunks`].
const ROWS_PER_CHUNK: i64 = 1_000;

/// The rows of a long list, fetched as JSON values of a thousand rows each. Each row crossing
/// from the database's thread is a wake-up of the task reading it; at 100,000 rows those are
/// most of the time. `sql` is given the last key read (`?1`) and how many rows to take (`?2`),
/// and returns the last key it took, then its rows as a JSON array of arrays: no key past the
/// end.
pub(super) async fn in_chunks<T: serde::de::DeserializeOwned>(
    pool: &sqlx::SqlitePool,
    sql: &'static str,
) -> Result<Vec<T>> {
    let mut rows = Vec::new();
    let mut after = i64::MIN;
    loop {
        let (last, chunk): (Option<i64>, String) = sqlx::query_as(sql)
            .bind(after)
            .bind(ROWS_PER_CHUNK)
            .fetch_one(pool)
            .await?;
        let Some(last) = last else {
            return Ok(rows);
        };
        let chunk: Vec<T> = serde_json::from_str(&chunk).map_err(|e| corrupt("rows", e))?;
        rows.extend(chunk);
        after = last;
    }
}

/// What `sql` answers about `monitors`, given to it as one JSON array of ids (`?1`): one JSON
/// value, which crosses from SQLite's thread at once, where rows would each wake the caller.
/// `what` names the answer if it does not read.
pub(super) async fn about_monitors<T: serde::de::DeserializeOwned>(
    conn: &mut sqlx::SqliteConnection,
    sql: &'static str,
    monitors: &[i64],
    what: &str,
) -> Result<T> {
    let ids = serde_json::to_string(monitors).map_err(|e| corrupt("monitor ids", e))?;
    let json: String = sqlx::query_scalar(sql)
        .bind(ids)
        .fetch_one(&mut *conn)
        .await?;
    serde_json::from_str(&json).map_err(|e| corrupt(what, e))
}

/// A stored value that no longer reads.
pub(super) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(super) fn status(s: &str) -> Result<Status> {
    Status::parse(s).ok_or_else(|| corrupt("status", s))
}

pub(super) fn error(kind: Option<String>, message: Option<String>) -> Result<Option<CheckError>> {
    match kind {
        None => Ok(None),
        Some(k) => {
            let kind = ErrorKind::parse(&k).ok_or_else(|| corrupt("error kind", &k))?;
            Ok(Some(CheckError {
                kind,
                message: message.unwrap_or_default(),
            }))
        }
    }
}

fn timestamp(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(Timestamp::from_millis)
}

fn code(c: Option<i64>) -> Option<u16> {
    c.and_then(|c| u16::try_from(c).ok())
}

fn latency(ms: i64) -> u32 {
    u32::try_from(ms).unwrap_or(u32::MAX)
}

#[derive(sqlx::FromRow)]
pub struct MonitorRow {
    pub id: i64,
    user_id: i64,
    spec: String,
    paused: bool,
    created_at: i64,
    updated_at: i64,
    status: String,
    status_since: Option<i64>,
    last_at: Option<i64>,
    last_status_code: Option<i64>,
    last_latency_ms: Option<i64>,
    last_error_kind: Option<String>,
    last_error_message: Option<String>,
    #[sqlx(flatten)]
    last_phases: PhaseColumns,
    cert_expires_at: Option<i64>,
    ping_token: Option<String>,
}

/// A check's phases as stored, a column each.
#[derive(sqlx::FromRow)]
pub struct PhaseColumns {
    dns_ms: Option<i64>,
    connect_ms: Option<i64>,
    tls_ms: Option<i64>,
    ttfb_ms: Option<i64>,
    transfer_ms: Option<i64>,
}

impl From<PhaseColumns> for Phases {
    fn from(p: PhaseColumns) -> Self {
        let ms = |v: Option<i64>| v.map(latency);
        Phases {
            dns_ms: ms(p.dns_ms),
            connect_ms: ms(p.connect_ms),
            tls_ms: ms(p.tls_ms),
            ttfb_ms: ms(p.ttfb_ms),
            transfer_ms: ms(p.transfer_ms),
        }
    }
}

impl MonitorRow {
    pub fn into_monitor(self, channels: Vec<ChannelId>) -> Result<Monitor> {
        let last_check = match self.last_at {
            None => None,
            Some(at) => Some(Outcome {
                at: Timestamp::from_millis(at),
                status_code: code(self.last_status_code),
                latency_ms: latency(self.last_latency_ms.unwrap_or(0)),
                error: error(self.last_error_kind, self.last_error_message)?,
                phases: self.last_phases.into(),
                cert_expires_at: None,
            }),
        };
        Ok(Monitor {
            id: MonitorId(self.id),
            owner: UserId(self.user_id),
            spec: parse_spec(&self.spec)?,
            paused: self.paused,
            created_at: Timestamp::from_millis(self.created_at),
            updated_at: Timestamp::from_millis(self.updated_at),
            status: status(&self.status)?,
            status_since: timestamp(self.status_since),
            last_check,
            cert_expires_at: timestamp(self.cert_expires_at),
            channels,
            ping_token: self.ping_token.map(crate::secret::Secret::new),
        })
    }
}

/// A monitor's verdict state, read from the array [`in_chunks`] gives it: its fields in this
/// order.
#[derive(serde::Deserialize)]
pub struct VerdictRow {
    monitor_id: i64,
    status: String,
    status_since: Option<i64>,
    streak: i64,
    streak_since: Option<i64>,
    streak_cause_kind: Option<String>,
    streak_cause_message: Option<String>,
    last_at: Option<i64>,
    cert_alerted_expiry: Option<i64>,
    cert_alerted_days: Option<i64>,
}

impl VerdictRow {
    pub fn into_stored(self) -> Result<StoredVerdict> {
        Ok(StoredVerdict {
            monitor: MonitorId(self.monitor_id),
            verdict: VerdictState {
                status: status(&self.status)?,
                since: timestamp(self.status_since),
                streak: u32::try_from(self.streak).unwrap_or(0),
                streak_since: timestamp(self.streak_since),
                streak_cause: error(self.streak_cause_kind, self.streak_cause_message)?,
            },
            last_at: timestamp(self.last_at),
            // Unreadable, it is forgotten: at worst a threshold is announced again.
            cert_alerted: self
                .cert_alerted_expiry
                .zip(self.cert_alerted_days.and_then(|d| u16::try_from(d).ok()))
                .map(|(expires, days)| CertAlerted {
                    expires_at: Timestamp::from_millis(expires),
                    days,
                }),
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct CheckRow {
    at: i64,
    status_code: Option<i64>,
    latency_ms: i64,
    error_kind: Option<String>,
    error_message: Option<String>,
    #[sqlx(flatten)]
    phases: PhaseColumns,
}

impl CheckRow {
    pub fn into_outcome(self) -> Result<Outcome> {
        Ok(Outcome {
            at: Timestamp::from_millis(self.at),
            status_code: code(self.status_code),
            latency_ms: latency(self.latency_ms),
            error: error(self.error_kind, self.error_message)?,
            phases: self.phases.into(),
            cert_expires_at: None,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct IncidentRow {
    id: i64,
    started_at: i64,
    ended_at: Option<i64>,
    cause_kind: Option<String>,
    cause_message: Option<String>,
}

impl IncidentRow {
    pub fn into_incident(self) -> Result<Incident> {
        Ok(Incident {
            id: self.id,
            started_at: Timestamp::from_millis(self.started_at),
            ended_at: timestamp(self.ended_at),
            cause: error(self.cause_kind, self.cause_message)?,
        })
    }
}

#[derive(sqlx::FromRow)]
pub struct EventRow {
    id: i64,
    at: i64,
    from_status: String,
    to_status: String,
    cause_kind: Option<String>,
    cause_message: Option<String>,
    incident_id: Option<i64>,
}

impl EventRow {
    pub fn into_event(self) -> Result<Event> {
        Ok(Event {
            id: self.id,
            at: Timestamp::from_millis(self.at),
            from: self.from_status,
            to: self.to_status,
            cause: error(self.cause_kind, self.cause_message)?,
            incident: self.incident_id,
        })
    }
}

/// A monitor in the summary, read from the array the summary query gives it: its fields in
/// this order.
#[derive(serde::Deserialize)]
pub struct SummaryRow {
    pub id: i64,
    name: String,
    kind: String,
    url: String,
    /// 0 or 1, as SQLite stores it.
    paused: i64,
    status: String,
    status_since: Option<i64>,
    last_latency_ms: Option<i64>,
    last_at: Option<i64>,
    /// Marks of the latest checks, oldest first; only the last [`RECENT_CHECKS`] are kept.
    recent: String,
    hours: HourLists,
    /// The checks not rolled up yet, each as an hour of its own.
    unrolled: HourLists,
}

/// The hourly roll-ups of a monitor as parallel lists: each hour's place from the first, then
/// its checks, successes and latency sum.
#[derive(serde::Deserialize)]
struct HourLists(Vec<usize>, Vec<u64>, Vec<u64>, Vec<u64>);

impl HourLists {
    /// Adds each hour to its bucket.
    fn add_to(self, buckets: &mut [BucketStats]) -> Result<()> {
        let HourLists(at, checks, up, sums) = self;
        if [checks.len(), up.len(), sums.len()] != [at.len(); 3] {
            return Err(corrupt("hourly roll-up", "lists of different lengths"));
        }
        for (i, hour) in at.into_iter().enumerate() {
            if let Some(b) = buckets.get_mut(hour) {
                b.checks += checks[i];
                b.up += up[i];
                b.up_latency_sum_ms += sums[i];
            }
        }
        Ok(())
    }
}

impl SummaryRow {
    /// The summary with `count` hourly buckets.
    pub fn into_summary(self, count: usize) -> Result<MonitorSummary> {
        let mut hours = vec![BucketStats::default(); count];
        self.hours.add_to(&mut hours)?;
        self.unrolled.add_to(&mut hours)?;
        Ok(MonitorSummary {
            id: MonitorId(self.id),
            name: self.name,
            kind: Kind::parse("kind", &self.kind).map_err(|_| corrupt("kind", &self.kind))?,
            url: self.url,
            paused: self.paused != 0,
            status: status(&self.status)?,
            status_since: timestamp(self.status_since),
            last_latency_ms: self.last_at.and(self.last_latency_ms).map(latency),
            recent: self.recent.as_bytes()[self.recent.len().saturating_sub(RECENT_CHECKS)..]
                .iter()
                .map(|&b| b == b'1')
                .collect(),
            hours,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored marks and those of the checks not rolled up yet can be more than a summary
    /// shows: it keeps the latest.
    #[test]
    fn a_summary_keeps_the_latest_marks() {
        let marks = format!("0{}", "1".repeat(RECENT_CHECKS + 14));
        let no_hours = serde_json::json!([[], [], [], []]);
        let row: SummaryRow = serde_json::from_value(serde_json::json!([
            1, "m", "http", "http://a", 0, "up", null, null, null, marks, no_hours, no_hours
        ]))
        .unwrap();
        let recent = row.into_summary(24).unwrap().recent;
        assert_eq!(recent, vec![true; RECENT_CHECKS]);
    }

    /// A summary row as the summary query writes it; `hours` are its roll-ups' four lists,
    /// `unrolled` its unrolled checks'.
    fn summary_row(hours: &str, unrolled: &str) -> Result<MonitorSummary> {
        let json =
            format!(r#"[7,"a \"b\"","http","http://a",1,"down",5,40,6,"01",{hours},{unrolled}]"#);
        serde_json::from_str::<SummaryRow>(&json)
            .unwrap()
            .into_summary(3)
    }

    #[test]
    fn a_summary_row_reads_from_its_array_and_uneven_hour_lists_are_refused() {
        let no_checks = "[[],[],[],[]]";
        // Two unrolled checks in the last hour, one of them down, add to its roll-up.
        let s = summary_row(
            "[[0,2],[60,30],[60,29],[600,290]]",
            "[[2,2],[1,1],[1,0],[20,0]]",
        )
        .unwrap();
        assert_eq!(
            (s.id, s.name.as_str(), s.paused),
            (MonitorId(7), "a \"b\"", true)
        );
        assert_eq!(
            (s.status, s.last_latency_ms, s.recent),
            (Status::Down, Some(40), vec![false, true])
        );
        let hours: Vec<_> = s
            .hours
            .iter()
            .map(|h| (h.checks, h.up, h.up_latency_sum_ms))
            .collect();
        assert_eq!(hours, [(60, 60, 600), (0, 0, 0), (32, 30, 310)]);
        assert!(
            summary_row(no_checks, no_checks)
                .unwrap()
                .hours
                .iter()
                .all(|h| h.checks == 0)
        );
        assert!(summary_row("[[0,2],[60],[60,29],[600,290]]", no_checks).is_err());
        assert!(summary_row(no_checks, "[[0],[1],[1],[]]").is_err());
    }
}
