//! Reading a monitor's history: its latest checks, counts over time, incidents and events.
//! Each query reads one range of an index; the test below holds them to it.

use super::rows::{CheckRow, EventRow, IncidentRow, SummaryRow, readable};
use crate::monitor::{MonitorId, UserId};
use crate::probe::Outcome;
use crate::store::{BucketStats, Event, Incident, MonitorSummary, Result};
use crate::timestamp::{HOUR_MS, Timestamp, duration_millis};
use sqlx::SqlitePool;
use std::time::Duration;

const LATEST_CHECKS: &str = "SELECT at, status_code, latency_ms, error_kind, error_message, \
     dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms FROM checks \
     WHERE monitor_id = ? AND at < ? ORDER BY at DESC LIMIT ?";
const RAW_BUCKETS: &str = "SELECT (at - ?1) / ?2 AS b, COUNT(*) AS checks, SUM(ok) AS up, \
     SUM(CASE WHEN ok THEN latency_ms ELSE 0 END) AS latency_sum, \
     MIN(CASE WHEN ok THEN latency_ms END) AS latency_min, \
     MAX(CASE WHEN ok THEN latency_ms END) AS latency_max \
     FROM checks WHERE monitor_id = ?3 AND at >= ?1 AND at < ?4 GROUP BY b";
const HOURLY_BUCKETS: &str = "SELECT (hour - ?1) / ?2 AS b, SUM(checks) AS checks, SUM(up) AS up, \
     SUM(latency_sum) AS latency_sum, MIN(latency_min) AS latency_min, \
     MAX(latency_max) AS latency_max \
     FROM check_hours WHERE monitor_id = ?3 AND hour >= ?1 AND hour < ?4 GROUP BY b";
const INCIDENTS: &str = "SELECT id, started_at, ended_at, cause_kind, cause_message FROM incidents \
     WHERE monitor_id = ? ORDER BY started_at DESC, id DESC LIMIT ?";
const EVENTS: &str = "SELECT id, at, from_status, to_status, cause_kind, cause_message, incident_id \
     FROM events WHERE monitor_id = ? ORDER BY at DESC, id DESC LIMIT ?";

/// Each monitor with its hourly roll-ups packed into one text column, `hour checks up sum min
/// max` per hour and `,` between hours: a thousand rows to read instead of one per hour each.
pub(super) const SUMMARIES: &str = "SELECT m.id, m.name, m.kind, m.url, m.paused, s.status, s.status_since, \
            s.last_latency_ms, s.last_at, s.recent, \
            (SELECT group_concat(((h.hour - ?2) / ?3) || ' ' || h.checks || ' ' || h.up || ' ' \
                    || h.latency_sum || ' ' || coalesce(h.latency_min, '') || ' ' \
                    || coalesce(h.latency_max, ''), ',') \
             FROM check_hours h WHERE h.monitor_id = m.id AND h.hour >= ?2 AND h.hour < ?4) AS hours \
     FROM monitors m JOIN monitor_state s ON s.monitor_id = m.id WHERE m.user_id = ?1 ORDER BY m.id";

pub async fn summaries(
    pool: &SqlitePool,
    owner: UserId,
    from: Timestamp,
    hours: u32,
) -> Result<Vec<MonitorSummary>> {
    let from_ms = from.as_millis();
    let to_ms = from_ms.saturating_add(HOUR_MS.saturating_mul(i64::from(hours)));
    let rows: Vec<SummaryRow> = sqlx::query_as(SUMMARIES)
        .bind(owner.0)
        .bind(from_ms)
        .bind(HOUR_MS)
        .bind(to_ms)
        .fetch_all(pool)
        .await?;
    Ok(readable(
        rows,
        "monitor",
        |r| r.id,
        |row| row.into_summary(hours as usize),
    ))
}

/// A bucket's counts as SQL sums them.
#[derive(sqlx::FromRow)]
pub(super) struct Counts {
    pub checks: i64,
    pub up: i64,
    pub latency_sum: i64,
    pub latency_min: Option<i64>,
    pub latency_max: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct BucketRow {
    b: i64,
    #[sqlx(flatten)]
    counts: Counts,
}

impl From<Counts> for BucketStats {
    fn from(c: Counts) -> Self {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let latency = |ms: Option<i64>| ms.and_then(|ms| u32::try_from(ms).ok());
        BucketStats {
            checks: count(c.checks),
            up: count(c.up),
            up_latency_sum_ms: count(c.latency_sum),
            latency_min_ms: latency(c.latency_min),
            latency_max_ms: latency(c.latency_max),
        }
    }
}

pub async fn checks(
    pool: &SqlitePool,
    monitor: MonitorId,
    before: Option<Timestamp>,
    limit: u32,
) -> Result<Vec<Outcome>> {
    let rows: Vec<CheckRow> = sqlx::query_as(LATEST_CHECKS)
        .bind(monitor.0)
        .bind(before.map_or(i64::MAX, Timestamp::as_millis))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(CheckRow::into_outcome).collect()
}

pub async fn buckets(
    pool: &SqlitePool,
    monitor: MonitorId,
    from: Timestamp,
    width: Duration,
    count: u32,
) -> Result<Vec<BucketStats>> {
    let width_ms = duration_millis(width).max(1);
    let from_ms = from.as_millis();
    let to_ms = from_ms.saturating_add(width_ms.saturating_mul(i64::from(count)));
    // Whole-hour buckets on hour boundaries are sums of the hourly roll-ups; anything finer
    // is counted from the checks themselves.
    let sql = if width_ms % HOUR_MS == 0 && from_ms % HOUR_MS == 0 {
        HOURLY_BUCKETS
    } else {
        RAW_BUCKETS
    };
    let rows: Vec<BucketRow> = sqlx::query_as(sql)
        .bind(from_ms)
        .bind(width_ms)
        .bind(monitor.0)
        .bind(to_ms)
        .fetch_all(pool)
        .await?;
    let mut out = vec![BucketStats::default(); count as usize];
    for row in rows {
        if let Some(slot) = usize::try_from(row.b).ok().and_then(|b| out.get_mut(b)) {
            *slot = row.counts.into();
        }
    }
    Ok(out)
}

pub async fn incidents(pool: &SqlitePool, monitor: MonitorId, limit: u32) -> Result<Vec<Incident>> {
    let rows: Vec<IncidentRow> = sqlx::query_as(INCIDENTS)
        .bind(monitor.0)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(IncidentRow::into_incident).collect()
}

pub async fn events(pool: &SqlitePool, monitor: MonitorId, limit: u32) -> Result<Vec<Event>> {
    let rows: Vec<EventRow> = sqlx::query_as(EVENTS)
        .bind(monitor.0)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.into_iter().map(EventRow::into_event).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::{MONITORS_OF_USER, SqliteStore, alerts, record};

    /// A store on a fresh database file, kept in `dir`.
    async fn fresh_store(dir: &tempfile::TempDir) -> SqliteStore {
        let url = format!("sqlite:{}", dir.path().join("plan.db").display());
        SqliteStore::open(&url).await.unwrap()
    }

    /// The steps SQLite plans for `sql`, with `params` parameters bound to 0.
    async fn plan_of(store: &SqliteStore, sql: &str, params: usize) -> Vec<String> {
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(format!(
            "EXPLAIN QUERY PLAN {sql}"
        )));
        for _ in 0..params {
            query = query.bind(0_i64);
        }
        query
            .fetch_all(&store.reads)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, _, _, detail)| detail)
            .collect()
    }

    /// Every history query reads one range of an index, and never sorts or scans a table.
    #[tokio::test]
    async fn history_queries_are_served_by_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = fresh_store(&dir).await;
        let cases: [(&str, usize, &str); 10] = [
            (
                SUMMARIES,
                4,
                "SEARCH m USING INDEX monitors_by_user (user_id=?)",
            ),
            (
                SUMMARIES,
                4,
                "SEARCH h USING PRIMARY KEY (monitor_id=? AND hour>? AND hour<?)",
            ),
            (
                LATEST_CHECKS,
                3,
                "SEARCH checks USING PRIMARY KEY (monitor_id=? AND at<?)",
            ),
            (
                RAW_BUCKETS,
                4,
                "SEARCH checks USING PRIMARY KEY (monitor_id=? AND at>? AND at<?)",
            ),
            (
                HOURLY_BUCKETS,
                4,
                "SEARCH check_hours USING PRIMARY KEY (monitor_id=? AND hour>? AND hour<?)",
            ),
            (
                INCIDENTS,
                2,
                "SEARCH incidents USING INDEX incidents_by_monitor (monitor_id=?)",
            ),
            (
                EVENTS,
                2,
                "SEARCH events USING INDEX events_by_monitor (monitor_id=?)",
            ),
            (
                MONITORS_OF_USER,
                1,
                "SEARCH m USING INDEX monitors_by_user (user_id=?)",
            ),
            (
                alerts::CHANNELS_BY_MONITOR,
                1,
                "SEARCH mc USING PRIMARY KEY (monitor_id=?)",
            ),
            (
                record::CLOSE_INCIDENT,
                2,
                "SEARCH incidents USING INDEX incidents_open (monitor_id=?)",
            ),
        ];
        for (sql, params, expected) in cases {
            let plan = plan_of(&store, sql, params).await;
            assert!(plan.iter().any(|d| d == expected), "{sql}\nplan: {plan:#?}");
            assert!(
                !plan
                    .iter()
                    .any(|d| d.starts_with("SCAN") || d.contains("TEMP B-TREE FOR ORDER BY")),
                "{sql}\nplan: {plan:#?}"
            );
        }
    }

    /// Claiming deliveries walks the channels with alerts waiting and takes one from each
    /// through indexes: it never reads a channel's whole queue, nor every pending row.
    #[tokio::test]
    async fn claiming_deliveries_reads_one_row_per_waiting_channel() {
        let dir = tempfile::tempdir().unwrap();
        let plan = plan_of(&fresh_store(&dir).await, alerts::CHANNEL_HEADS, 4).await;
        for expected in [
            "SEARCH deliveries USING COVERING INDEX deliveries_waiting (channel_id>?)",
            "SEARCH d USING INDEX deliveries_waiting (channel_id=?)",
            "SEARCH e USING INDEX deliveries_claimed (channel_id=? AND claimed_until>?)",
        ] {
            assert!(
                plan.iter().any(|d| d == expected),
                "{expected}\nplan: {plan:#?}"
            );
        }
        // The only scan is of the list of waiting channels the query builds itself.
        assert!(
            plan.iter()
                .filter(|d| d.starts_with("SCAN") || d.contains("TEMP B-TREE"))
                .all(|d| d == "SCAN w"),
            "plan: {plan:#?}"
        );
    }
}
