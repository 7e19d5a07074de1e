//! Reading a monitor's history: its latest checks, counts over time, incidents and events.
//! Each query reads ranges of indexes; the test below holds them to it.

use super::rollups;
use super::rows::{CheckRow, EventRow, IncidentRow, SummaryRow, corrupt, readable};
use crate::monitor::{MonitorId, UserId};
use crate::probe::Outcome;
use crate::store::{BucketStats, Event, Incident, MonitorSummary, Result};
use crate::timestamp::{HOUR_MS, Timestamp, duration_millis};
use sqlx::SqlitePool;
use std::time::Duration;

const LATEST_CHECKS: &str = "SELECT at, status_code, latency_ms, error_kind, error_message, \
     dns_ms, connect_ms, tls_ms, ttfb_ms, transfer_ms FROM checks \
     WHERE monitor_id = ? AND at < ? ORDER BY at DESC LIMIT ?";
/// A monitor's checks from `?2` to `?3`, summed in buckets of `?4` ms, as roll-ups are.
const RAW_BUCKETS: &str = "SELECT (at - ?2) / ?4 AS b, count(*) AS checks, sum(ok) AS up, \
     sum(CASE WHEN ok THEN latency_ms ELSE 0 END) AS latency_sum, \
     min(CASE WHEN ok THEN latency_ms END) AS latency_min, \
     max(CASE WHEN ok THEN latency_ms END) AS latency_max, NULL AS spreads, \
     group_concat(CASE WHEN ok THEN latency_ms END, ',') AS latencies \
     FROM checks WHERE monitor_id = ?1 AND at >= ?2 AND at < ?3 GROUP BY b";
const INCIDENTS: &str = "SELECT id, started_at, ended_at, cause_kind, cause_message FROM incidents \
     WHERE monitor_id = ? ORDER BY started_at DESC, id DESC LIMIT ?";
const EVENTS: &str = "SELECT id, at, from_status, to_status, cause_kind, cause_message, incident_id \
     FROM events WHERE monitor_id = ? ORDER BY at DESC, id DESC LIMIT ?";

/// The caller's monitors as one JSON array, one array per monitor: its fields, then its hourly
/// roll-ups from `?2` as four lists (the hours' places, their checks, successes and latency
/// sums), then its checks not rolled up yet as four such lists, one check an entry. Rows cross
/// from the database's thread one at a time, each a wake-up; the whole summary as one value
/// crosses once.
pub(super) const SUMMARIES: &str = "SELECT json_group_array(json_array(m.id, m.name, m.kind, \
            m.url, m.paused, s.status, s.status_since, s.last_latency_ms, s.last_at, s.recent, \
            (SELECT json_array(json_group_array((h.hour - ?2) / ?3), json_group_array(h.checks), \
                    json_group_array(h.up), json_group_array(h.latency_sum)) \
             FROM check_hours h WHERE h.monitor_id = m.id AND h.hour >= ?2 AND h.hour < ?4), \
            (SELECT json_array(json_group_array((c.at - ?2) / ?3), json_group_array(1), \
                    json_group_array(c.ok), \
                    json_group_array(CASE WHEN c.ok THEN c.latency_ms ELSE 0 END)) \
             FROM checks c WHERE c.monitor_id = m.id AND c.at >= max(?2, s.rolled_until) \
                 AND c.at < ?4))) \
     FROM monitors m JOIN monitor_now s ON s.monitor_id = m.id WHERE m.user_id = ?1";

pub async fn summaries(
    pool: &SqlitePool,
    owner: UserId,
    from: Timestamp,
    hours: u32,
) -> Result<Vec<MonitorSummary>> {
    let from_ms = from.as_millis();
    let to_ms = from_ms.saturating_add(HOUR_MS.saturating_mul(i64::from(hours)));
    let json: String = sqlx::query_scalar(SUMMARIES)
        .bind(owner.0)
        .bind(from_ms)
        .bind(HOUR_MS)
        .bind(to_ms)
        .fetch_one(pool)
        .await?;
    let mut rows: Vec<SummaryRow> =
        serde_json::from_str(&json).map_err(|e| corrupt("monitor summary", e))?;
    rows.sort_unstable_by_key(|r| r.id);
    Ok(readable(
        rows,
        "monitor",
        |r| r.id,
        |row| row.into_summary(hours as usize),
    ))
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
    // Buckets are sums of the coarsest roll-up whose periods tile them, summed by the database:
    // the rows read are bounded by the window, never by how many checks it holds, and one
    // comes back per bucket. Buckets wider than a period of the next coarser roll-up take the
    // periods that fit in them whole from it. Only buckets finer than a minute (windows of an
    // hour at most) count the checks themselves.
    let tiling = rollups::ALL
        .into_iter()
        .find(|r| width_ms % r.ms == 0 && from_ms.rem_euclid(r.ms) == 0);
    let blend = tiling.and_then(|fine| {
        rollups::BLENDS
            .into_iter()
            .find(|b| b.fine.ms == fine.ms && width_ms > b.coarse.ms)
    });
    let (sql, coarse) = match (blend, tiling) {
        (Some(blend), _) => (blend.select, Some(blend.coarse.ms)),
        (None, Some(rollup)) => (rollup.select, None),
        (None, None) => (RAW_BUCKETS, None),
    };
    let rows =
        rollups::read_buckets(pool, sql, monitor.0, [from_ms, to_ms, width_ms], coarse).await?;
    let mut out = vec![BucketStats::default(); count as usize];
    for row in rows {
        if let Some(b) = usize::try_from(row.b).ok().and_then(|i| out.get_mut(i)) {
            *b = row.into_stats();
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
    use crate::store::sqlite::{MONITORS_OF_USER, PRUNE_CHECKS, SqliteStore, alerts, record};

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

    /// Every history query reads ranges of indexes, and never sorts or scans a table.
    #[tokio::test]
    async fn history_queries_are_served_by_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let store = fresh_store(&dir).await;
        let unrolled_part = "SEARCH checks USING PRIMARY KEY (monitor_id=? AND at>? AND at<?)";
        let cases: [(&str, usize, &str); 33] = [
            (
                SUMMARIES,
                4,
                "SEARCH c USING PRIMARY KEY (monitor_id=? AND at>? AND at<?)",
            ),
            (rollups::MINUTES.select, 4, unrolled_part),
            (rollups::HOURS.select, 4, unrolled_part),
            (rollups::DAYS.select, 4, unrolled_part),
            (rollups::DAYS_AND_HOURS.select, 5, unrolled_part),
            (rollups::HOURS_AND_MINUTES.select, 5, unrolled_part),
            (
                rollups::UNROLLED,
                1,
                "SEARCH c USING PRIMARY KEY (monitor_id=? AND at>?)",
            ),
            (
                rollups::ROLLED,
                2,
                "SEARCH monitor_state USING INTEGER PRIMARY KEY (rowid=?)",
            ),
            (
                rollups::ROLLED,
                2,
                "SEARCH c USING PRIMARY KEY (monitor_id=? AND at>? AND at<?)",
            ),
            (
                rollups::ROLLED,
                2,
                "SEARCH c USING PRIMARY KEY (monitor_id=? AND at<?)",
            ),
            (
                record::UNROLLED_COUNTS,
                1,
                "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)",
            ),
            (
                record::UNROLLED_COUNTS,
                1,
                "SEARCH c USING PRIMARY KEY (monitor_id=? AND at>?)",
            ),
            // The last check and recent marks of each monitor come from its unrolled checks.
            (
                SUMMARIES,
                4,
                "SEARCH c USING PRIMARY KEY (monitor_id=? AND at=?) LEFT-JOIN",
            ),
            (
                SUMMARIES,
                4,
                "SEARCH u USING PRIMARY KEY (monitor_id=? AND at>?)",
            ),
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
                rollups::MINUTES.select,
                4,
                "SEARCH check_minutes USING PRIMARY KEY (monitor_id=? AND minute>? AND minute<?)",
            ),
            (
                rollups::HOURS.select,
                4,
                "SEARCH check_hours USING PRIMARY KEY (monitor_id=? AND hour>? AND hour<?)",
            ),
            (
                rollups::DAYS.select,
                4,
                "SEARCH check_days USING PRIMARY KEY (monitor_id=? AND day>? AND day<?)",
            ),
            (
                rollups::DAYS_AND_HOURS.select,
                5,
                "SEARCH check_days USING PRIMARY KEY (monitor_id=? AND day>? AND day<?)",
            ),
            (
                rollups::DAYS_AND_HOURS.select,
                5,
                "SEARCH check_hours USING PRIMARY KEY (monitor_id=? AND hour>? AND hour<?)",
            ),
            (
                rollups::HOURS_AND_MINUTES.select,
                5,
                "SEARCH check_hours USING PRIMARY KEY (monitor_id=? AND hour>? AND hour<?)",
            ),
            (
                rollups::HOURS_AND_MINUTES.select,
                5,
                "SEARCH check_minutes USING PRIMARY KEY (monitor_id=? AND minute>? AND minute<?)",
            ),
            (
                PRUNE_CHECKS,
                4,
                "SEARCH c USING PRIMARY KEY (monitor_id=? AND at<?)",
            ),
            (
                rollups::MINUTES.prune,
                4,
                "SEARCH check_minutes USING PRIMARY KEY (monitor_id=? AND minute<?)",
            ),
            (
                rollups::DAYS.prune,
                4,
                "SEARCH check_days USING PRIMARY KEY (monitor_id=? AND day<?)",
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
            // The only scans are of the periods a blend's two searches found, of a list of
            // monitors given, and of rows a search found, in order.
            assert!(
                !plan.iter().any(|d| (d.starts_with("SCAN")
                    && d != "SCAN p"
                    && !d.starts_with("SCAN json_each")
                    && !d.starts_with("SCAN (subquery"))
                    || d.contains("TEMP B-TREE FOR ORDER BY")),
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
