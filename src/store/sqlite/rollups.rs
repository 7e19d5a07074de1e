//! The roll-ups of each monitor's checks per minute, hour and day: read for uptime and latency
//! over windows, pruned each at its own age.
//!
//! A monitor's checks are rolled up [`ROLL_UP_AFTER`] at a time, not as each is stored: every
//! batch of results touches a page of each table per monitor in it, so adding each check to
//! its three periods as it came cost more than storing the check itself. The checks from
//! `monitor_state.rolled_until` on are not in the roll-ups yet, and every read adds them from
//! `checks`: a window's sums are exact at any moment. A period's latency spread cannot be
//! summed by SQL, so the writer reads the stored one and writes the two merged, inside the
//! batch's transaction.

use super::rows::{about_monitors, corrupt};
use super::values::{MAX_ROWS, push_padded_select, push_padded_values};
use crate::store::{BucketStats, LatencyHistogram, RECENT_CHECKS, Result};
use crate::timestamp::{DAY_MS, HOUR_MS, MINUTE_MS, Timestamp};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};
use std::collections::{BTreeMap, HashMap};

/// One table of roll-ups and the statements that use it.
pub(super) struct Rollup {
    /// How long each period is; periods start on its multiples.
    pub ms: i64,
    table: &'static str,
    /// The column holding each period's start.
    period: &'static str,
    /// A monitor's periods that start in `[?2, ?3)`, summed in buckets of `?4` ms from `?2`:
    /// one row per bucket, with the periods' spreads in hex, comma-separated.
    pub select: &'static str,
    /// Deletes at most `?4` periods that started before `?3` of the monitors with ids in
    /// `(?1, ?2]`.
    pub prune: &'static str,
    /// Deletes one monitor's periods.
    pub delete: &'static str,
}

/// A monitor's checks are rolled up once this many are stored and not rolled up: every read of
/// the roll-ups adds fewer than this many checks of each monitor it reads.
pub(super) const ROLL_UP_AFTER: i64 = 16;

/// The start of every select of buckets: the rows of the parts that follow it (periods, then
/// unrolled checks) summed per bucket, in the columns [`BucketRow`] reads.
macro_rules! sums {
    () => {
        "SELECT b, sum(checks) AS checks, sum(up) AS up, sum(latency_sum) AS latency_sum, \
         min(latency_min) AS latency_min, max(latency_max) AS latency_max, \
         group_concat(hex(latency_hist), ',') AS spreads, \
         group_concat(latency, ',') AS latencies FROM ("
    };
}

/// The columns of a roll-up that [`sums`] adds, each period placed in its bucket.
macro_rules! placed {
    ($period:literal) => {
        concat!(
            "SELECT (",
            $period,
            " - ?2) / ?4 AS b, checks, up, latency_sum, latency_min, latency_max, latency_hist, \
             NULL AS latency"
        )
    };
}

/// The monitor's checks in the window that are not rolled up yet, each in the columns of a
/// period of its own, placed in its bucket: the last part of every read of roll-ups.
macro_rules! unrolled {
    () => {
        " UNION ALL SELECT (at - ?2) / ?4 AS b, 1, ok, CASE WHEN ok THEN latency_ms ELSE 0 END, \
         CASE WHEN ok THEN latency_ms END, CASE WHEN ok THEN latency_ms END, NULL, \
         CASE WHEN ok THEN latency_ms END FROM checks WHERE monitor_id = ?1 \
         AND at >= max(?2, (SELECT rolled_until FROM monitor_state WHERE monitor_id = ?1)) \
         AND at < ?3) AS p GROUP BY b"
    };
}

macro_rules! rollup {
    ($table:literal, $period:literal, $ms:expr) => {
        Rollup {
            ms: $ms,
            table: $table,
            period: $period,
            select: concat!(
                sums!(),
                placed!($period),
                " FROM ",
                $table,
                " WHERE monitor_id = ?1 AND ",
                $period,
                " >= ?2 AND ",
                $period,
                " < ?3",
                unrolled!()
            ),
            prune: concat!(
                "DELETE FROM ",
                $table,
                " WHERE (monitor_id, ",
                $period,
                ") IN (SELECT monitor_id, ",
                $period,
                " FROM ",
                $table,
                " WHERE monitor_id IN (SELECT id FROM monitors WHERE id > ?1 AND id <= ?2) AND ",
                $period,
                " < ?3 LIMIT ?4)"
            ),
            delete: concat!("DELETE FROM ", $table, " WHERE monitor_id = ?"),
        }
    };
}

pub(super) const MINUTES: Rollup = rollup!("check_minutes", "minute", MINUTE_MS);
pub(super) const HOURS: Rollup = rollup!("check_hours", "hour", HOUR_MS);
pub(super) const DAYS: Rollup = rollup!("check_days", "day", DAY_MS);
/// Coarsest first.
pub(super) const ALL: [&Rollup; 3] = [&DAYS, &HOURS, &MINUTES];

/// Buckets wider than a period of a coarser roll-up, summed from its periods where they fit
/// whole in a bucket and from a finer roll-up's for the rest: 90 days in buckets of 90 hours
/// read about 500 periods instead of 2,160 hours.
pub(super) struct Blend {
    pub coarse: &'static Rollup,
    pub fine: &'static Rollup,
    /// As [`Rollup::select`], with the coarse roll-up's period length bound to `?5`.
    pub select: &'static str,
}

/// Whether the coarse period starting at `$start` lies whole inside the window and inside one
/// bucket.
macro_rules! whole_in_bucket {
    ($start:literal) => {
        concat!(
            $start,
            " >= ?2 AND ",
            $start,
            " <= ?3 - ?5 AND (",
            $start,
            " - ?2) / ?4 = (",
            $start,
            " + ?5 - 1 - ?2) / ?4"
        )
    };
}

macro_rules! blend {
    (
        $coarse:ident, $coarse_table:literal, $coarse_period:literal,
        $fine:ident, $fine_table:literal, $fine_period:literal, $fine_in_coarse:literal
    ) => {
        Blend {
            coarse: &$coarse,
            fine: &$fine,
            select: concat!(
                sums!(),
                placed!($coarse_period),
                " FROM ",
                $coarse_table,
                " WHERE monitor_id = ?1 AND ",
                whole_in_bucket!($coarse_period),
                " UNION ALL ",
                placed!($fine_period),
                " FROM ",
                $fine_table,
                " WHERE monitor_id = ?1 AND ",
                $fine_period,
                " >= ?2 AND ",
                $fine_period,
                " < ?3 AND NOT (",
                whole_in_bucket!($fine_in_coarse),
                ")",
                unrolled!()
            ),
        }
    };
}

/// The last argument is the start of the coarse period holding a fine one.
pub(super) const DAYS_AND_HOURS: Blend = blend!(
    DAYS,
    "check_days",
    "day",
    HOURS,
    "check_hours",
    "hour",
    "(hour - hour % ?5)"
);
pub(super) const HOURS_AND_MINUTES: Blend = blend!(
    HOURS,
    "check_hours",
    "hour",
    MINUTES,
    "check_minutes",
    "minute",
    "(minute - minute % ?5)"
);
/// Coarsest first.
pub(super) const BLENDS: [&Blend; 2] = [&DAYS_AND_HOURS, &HOURS_AND_MINUTES];

/// Values bound per period by [`Rollup::add`].
const PERIOD_VALUES: usize = 8;
/// Values bound per period looked up by [`Rollup::stored_spreads`]: its monitor and start.
const KEY_VALUES: usize = 2;

/// One bucket of a monitor's periods (or of its checks), summed.
#[derive(sqlx::FromRow)]
pub(super) struct BucketRow {
    /// The bucket's place, from 0.
    pub b: i64,
    checks: i64,
    up: i64,
    latency_sum: i64,
    latency_min: Option<i64>,
    latency_max: Option<i64>,
    /// The periods' spreads in hex, comma-separated.
    spreads: Option<String>,
    /// Read from checks instead: the successful ones' latencies, comma-separated.
    latencies: Option<String>,
}

impl BucketRow {
    /// The bucket's counts. A spread that no longer reads is logged and left out: the counts
    /// still count.
    pub fn into_stats(self) -> BucketStats {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        let latency = |ms: Option<i64>| ms.and_then(|ms| u32::try_from(ms).ok());
        let mut spread = LatencyHistogram::default();
        for text in self.spreads.iter().flat_map(|s| s.split(',')) {
            match hex::decode(text)
                .ok()
                .and_then(|b| LatencyHistogram::decode(&b))
            {
                Some(one) => spread = spread.merge(&one),
                None => tracing::error!(text, "a stored latency spread cannot be read; left out"),
            }
        }
        let latencies = self.latencies.iter().flat_map(|s| s.split(','));
        spread = spread.merge(&LatencyHistogram::of(
            latencies.filter_map(|ms| ms.parse::<u32>().ok()),
        ));
        BucketStats {
            checks: count(self.checks),
            up: count(self.up),
            up_latency_sum_ms: count(self.latency_sum),
            latency_min_ms: latency(self.latency_min),
            latency_max_ms: latency(self.latency_max),
            latency: spread,
        }
    }
}

/// Runs a select of buckets: a roll-up's, a blend's (with the coarse period's length as
/// `coarse`) or the checks' own. `window` is the first bucket's start, the window's end and the
/// buckets' width.
pub(super) async fn read_buckets(
    pool: &SqlitePool,
    sql: &'static str,
    monitor: i64,
    window: [i64; 3],
    coarse: Option<i64>,
) -> Result<Vec<BucketRow>> {
    let [from, to, width] = window;
    let mut query = sqlx::query_as(sql)
        .bind(monitor)
        .bind(from)
        .bind(to)
        .bind(width);
    if let Some(ms) = coarse {
        query = query.bind(ms);
    }
    Ok(query.fetch_all(pool).await?)
}

/// What a roll-up counts of a stored check.
#[derive(serde::Deserialize)]
struct Counted {
    monitor: i64,
    at: i64,
    /// 0 or 1, as SQLite stores it.
    ok: u8,
    latency_ms: u32,
}

/// The unrolled checks of the monitors in `?1`, a JSON array of ids, as one JSON array of
/// [`Counted`] values: one value crosses from SQLite's thread, not a row per check.
pub(super) const UNROLLED: &str = "SELECT json_group_array(json_array(c.monitor_id, c.at, c.ok, c.latency_ms)) \
     FROM monitor_state s JOIN checks c ON c.monitor_id = s.monitor_id AND c.at >= s.rolled_until \
     WHERE s.monitor_id IN (SELECT value FROM json_each(?1))";

/// Moves `rolled_until` of each monitor in `?1`, a JSON array of `[id, instant]`, to its
/// instant (where it is not null), and takes into its state what the checks before it leave:
/// their marks after `recent`, keeping the last `?2`, and the latest of them as its last check.
pub(super) const ROLLED: &str = "UPDATE monitor_state SET \
         recent = substr(recent || coalesce((SELECT group_concat(ok, '') FROM ( \
             SELECT c.ok FROM checks c WHERE c.monitor_id = monitor_state.monitor_id \
                 AND c.at >= monitor_state.rolled_until AND c.at < r.until ORDER BY c.at)), ''), -?2), \
         (last_at, last_status_code, last_latency_ms, last_error_kind, last_error_message, \
          last_dns_ms, last_connect_ms, last_tls_ms, last_ttfb_ms, last_transfer_ms) = \
             (SELECT c.at, c.status_code, c.latency_ms, c.error_kind, c.error_message, \
                  c.dns_ms, c.connect_ms, c.tls_ms, c.ttfb_ms, c.transfer_ms \
              FROM checks c WHERE c.monitor_id = monitor_state.monitor_id AND c.at < r.until \
              ORDER BY c.at DESC LIMIT 1), \
         rolled_until = r.until \
     FROM (SELECT value ->> 0 AS monitor, value ->> 1 AS until FROM json_each(?1) \
           WHERE value ->> 1 IS NOT NULL) AS r \
     WHERE monitor_state.monitor_id = r.monitor";

/// Rolls up every stored check of `monitors` that is not yet in the roll-ups, inside the
/// caller's transaction.
pub(super) async fn roll_up(conn: &mut SqliteConnection, monitors: &[i64]) -> Result<()> {
    for chunk in monitors.chunks(MAX_ROWS) {
        let checks: Vec<Counted> = about_monitors(conn, UNROLLED, chunk, "unrolled checks").await?;
        for rollup in ALL {
            rollup.add(conn, &checks).await?;
        }
        // Past each monitor's last check; one without any (none should be) is left as it is.
        let mut until: BTreeMap<i64, Option<i64>> = chunk.iter().map(|&m| (m, None)).collect();
        for c in &checks {
            let after = until.entry(c.monitor).or_default();
            *after = Some(after.unwrap_or(i64::MIN).max(c.at + 1));
        }
        let until: Vec<_> = until.into_iter().collect();
        let until = serde_json::to_string(&until).map_err(|e| corrupt("roll-up marks", e))?;
        sqlx::query(ROLLED)
            .bind(until)
            .bind(RECENT_CHECKS as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Rollup {
    /// Adds `checks` to their periods.
    async fn add(&self, conn: &mut SqliteConnection, checks: &[Counted]) -> Result<()> {
        let mut sums: BTreeMap<(i64, i64), BucketStats> = BTreeMap::new();
        for c in checks {
            let start = Timestamp::from_millis(c.at).start_of(self.ms).as_millis();
            sums.entry((c.monitor, start))
                .or_default()
                .add(c.ok != 0, c.latency_ms);
        }
        let sums: Vec<_> = sums.into_iter().collect();
        for chunk in sums.chunks(MAX_ROWS) {
            let stored = self.stored_spreads(conn, chunk).await?;
            let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
                "INSERT INTO {} (monitor_id, {}, checks, up, latency_sum, latency_min, \
                 latency_max, latency_hist) ",
                self.table, self.period
            ));
            push_padded_select(
                &mut q,
                chunk,
                PERIOD_VALUES,
                |mut row, (key @ (monitor, start), s)| {
                    // A period's first successful check brings its spread; a batch of failures
                    // leaves the stored one.
                    let spread = (s.up > 0).then(|| match stored.get(key) {
                        Some(old) => old.merge(&s.latency).encode(),
                        None => s.latency.encode(),
                    });
                    let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
                    row.push_bind(*monitor)
                        .push_bind(*start)
                        .push_bind(count(s.checks))
                        .push_bind(count(s.up))
                        .push_bind(count(s.up_latency_sum_ms))
                        .push_bind(s.latency_min_ms.map(i64::from))
                        .push_bind(s.latency_max_ms.map(i64::from))
                        .push_bind(spread);
                },
            );
            // SQLite's two-argument min() and max() return NULL if either side is NULL; a
            // period's first success must still set them.
            q.push(format_args!(
                " ON CONFLICT (monitor_id, {}) DO UPDATE SET \
                   checks = checks + excluded.checks, \
                   up = up + excluded.up, \
                   latency_sum = latency_sum + excluded.latency_sum, \
                   latency_min = coalesce(min(latency_min, excluded.latency_min), latency_min, excluded.latency_min), \
                   latency_max = coalesce(max(latency_max, excluded.latency_max), latency_max, excluded.latency_max), \
                   latency_hist = coalesce(excluded.latency_hist, latency_hist)",
                self.period
            ));
            q.build().execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// The stored spreads of the periods in `sums` that this batch adds latencies to. One that
    /// no longer reads is logged and replaced by the batch's own: results are never dropped
    /// for it.
    async fn stored_spreads(
        &self,
        conn: &mut SqliteConnection,
        sums: &[((i64, i64), BucketStats)],
    ) -> Result<HashMap<(i64, i64), LatencyHistogram>> {
        let keys: Vec<_> = sums
            .iter()
            .filter(|(_, s)| s.up > 0)
            .map(|(k, _)| k)
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut q: QueryBuilder<Sqlite> = QueryBuilder::new(format!(
            "SELECT r.monitor_id, r.{0}, r.latency_hist FROM {1} r JOIN (",
            self.period, self.table
        ));
        push_padded_values(&mut q, keys, KEY_VALUES, |mut row, (monitor, start)| {
            row.push_bind(*monitor).push_bind(*start);
        });
        q.push(format_args!(
            ") AS v ON r.monitor_id = v.column1 AND r.{} = v.column2 \
             WHERE r.latency_hist IS NOT NULL",
            self.period
        ));
        let rows: Vec<(i64, i64, Vec<u8>)> = q.build_query_as().fetch_all(&mut *conn).await?;
        Ok(rows
            .into_iter()
            .filter_map(|(monitor, start, bytes)| {
                let spread = LatencyHistogram::decode(&bytes);
                if spread.is_none() {
                    tracing::error!(
                        monitor,
                        table = self.table,
                        start = %Timestamp::from_millis(start).to_rfc3339(),
                        "a stored latency spread cannot be read; it starts again from this batch"
                    );
                }
                Some(((monitor, start), spread?))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::MonitorId;
    use crate::store::CheckRecord;
    use crate::store::sqlite::history;
    use crate::store::sqlite::record::tests::{record, store_with_monitor_7};
    use crate::store::sqlite::record::write_batch;
    use std::time::Duration;

    /// Whatever the width of the buckets, and so whichever roll-up (or the checks themselves)
    /// they are read from, a window adds up to the same counts, latencies and spread.
    #[tokio::test]
    async fn every_roll_up_and_the_checks_themselves_agree_on_a_window() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut conn) = store_with_monitor_7(&dir).await;
        // Four days from a midnight; checks every 7 min 13 s from 05:00:17, one in nine
        // failing, latencies from 1 ms to 4.6 s.
        let day0 = DAY_MS * 20_000;
        let records: Vec<_> = (0..700)
            .map(|i: i64| {
                let latency = u32::try_from((i * 37) % 500 + 1).unwrap() * (1 + (i % 3) as u32 * 4);
                record(
                    7,
                    day0 + 5 * HOUR_MS + 17_000 + i * 433_000,
                    i % 9 != 0,
                    latency,
                    None,
                )
            })
            .collect();
        // In batches, so periods are added to several times; the last few one at a time, so
        // that they are not rolled up and are read from the checks.
        let (rolled, unrolled) = records.split_at(records.len() - 15);
        for batch in rolled.chunks(50).chain(unrolled.chunks(1)) {
            write_batch(&mut conn, batch).await.unwrap();
        }
        let left: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM checks c JOIN monitor_state s ON s.monitor_id = c.monitor_id \
             WHERE c.monitor_id = 7 AND c.at >= s.rolled_until",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(left, 15);
        let mut expected = BucketStats::default();
        for r in &records {
            expected.add(r.outcome.ok(), r.outcome.latency_ms);
        }
        assert!(expected.latency.count() > 600);
        // From midnight, and from 05:00; the widths over an hour or a day and not a multiple
        // of it take whole periods from the coarser roll-up, the rest from the finer.
        for (offset, width) in [
            (0, DAY_MS),
            (0, 6 * HOUR_MS),
            (0, HOUR_MS),
            (0, 10 * MINUTE_MS),
            (0, MINUTE_MS),
            (0, 30_000),
            (0, 32 * HOUR_MS),
            (5 * HOUR_MS, 45 * HOUR_MS),
            (0, 90 * MINUTE_MS),
            (5 * HOUR_MS, 150 * MINUTE_MS),
        ] {
            let count = u32::try_from(
                (4 * DAY_MS - offset)
                    .unsigned_abs()
                    .div_ceil(width.unsigned_abs()),
            )
            .unwrap();
            let buckets = history::buckets(
                &store.reads,
                MonitorId(7),
                Timestamp::from_millis(day0 + offset),
                Duration::from_millis(width.unsigned_abs()),
                count,
            )
            .await
            .unwrap();
            let case = format!("{width} ms buckets from {offset} ms");
            assert_eq!(BucketStats::total(&buckets), expected, "{case}");
            // The first five hours of the first day hold no check.
            let first = buckets.iter().position(|b| b.checks > 0).unwrap();
            assert_eq!(first as i64, (5 * HOUR_MS - offset) / width, "{case}");
        }
        let p = |n| expected.percentile_ms(n).unwrap();
        assert!(p(50) <= p(95) && p(95) <= p(99), "{expected:?}");
    }

    /// Until a monitor has [`ROLL_UP_AFTER`] checks not rolled up, they are read from the
    /// checks; then all of them go into the roll-ups at once, and are counted once.
    #[tokio::test]
    async fn checks_are_rolled_up_a_few_at_a_time_and_always_counted_once() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut conn) = store_with_monitor_7(&dir).await;
        let hour = 400_000 * HOUR_MS;
        let at = |i: i64| hour + 1000 * i;
        let mut seen = Vec::new();
        for i in 1..=ROLL_UP_AFTER + 1 {
            write_batch(&mut conn, &[record(7, at(i), i % 4 != 0, 10, None)])
                .await
                .unwrap();
            // The state row takes the last check and the marks of those rolled up.
            let rolled: (i64, i64, Option<i64>, Option<i64>, String) = sqlx::query_as(
                "SELECT (SELECT count(*) FROM checks WHERE monitor_id = 7 AND at >= rolled_until), \
                     rolled_until, (SELECT sum(checks) FROM check_minutes WHERE monitor_id = 7), \
                     last_at, recent \
                 FROM monitor_state WHERE monitor_id = 7",
            )
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            let window = [hour, hour + HOUR_MS, MINUTE_MS];
            let rows = read_buckets(&store.reads, MINUTES.select, 7, window, None)
                .await
                .unwrap();
            let stats: Vec<_> = rows.into_iter().map(BucketRow::into_stats).collect();
            seen.push((rolled, stats[0].checks, stats[0].up));
        }
        let n = ROLL_UP_AFTER;
        let up = |i: i64| i - i / 4;
        // Each check counted once, before and after the roll-up.
        for (i, &(_, checks, ups)) in (1..).zip(&seen) {
            assert_eq!((checks, ups), (i as u64, up(i) as u64), "after check {i}");
        }
        // The state row starts with one success of its own.
        let marks: String = (1..=n)
            .map(|i| if i % 4 != 0 { '1' } else { '0' })
            .collect();
        let rolled_state = (Some(at(n)), format!("1{marks}"));
        assert_eq!(seen[0].0, (1, 0, None, None, "1".into()));
        assert_eq!(seen[n as usize - 2].0, (n - 1, 0, None, None, "1".into()));
        let (last, recent) = rolled_state.clone();
        assert_eq!(
            seen[n as usize - 1].0,
            (0, at(n) + 1, Some(n), last, recent)
        );
        let (last, recent) = rolled_state;
        assert_eq!(seen[n as usize].0, (1, at(n) + 1, Some(n), last, recent));
    }

    /// Writes the batch and rolls its monitor's checks up at once.
    async fn write_and_roll_up(conn: &mut SqliteConnection, batch: &[CheckRecord]) {
        write_batch(conn, batch).await.unwrap();
        roll_up(conn, &[7]).await.unwrap();
    }

    /// A roll-up without a success leaves the spread stored; one that no longer reads is
    /// replaced by the next roll-up's.
    #[tokio::test]
    async fn failures_keep_the_stored_spread_and_a_damaged_one_starts_again() {
        let dir = tempfile::tempdir().unwrap();
        let (store, mut conn) = store_with_monitor_7(&dir).await;
        let hour = 400_000 * HOUR_MS;
        write_and_roll_up(&mut conn, &[record(7, hour + 1, true, 40, None)]).await;
        write_and_roll_up(&mut conn, &[record(7, hour + 2, false, 900, None)]).await;
        let spread = || async {
            let window = [hour, hour + HOUR_MS, HOUR_MS];
            let rows = read_buckets(&store.reads, HOURS.select, 7, window, None)
                .await
                .unwrap();
            let stats: Vec<_> = rows.into_iter().map(BucketRow::into_stats).collect();
            (stats[0].checks, stats[0].latency.clone())
        };
        assert_eq!(spread().await, (2, LatencyHistogram::of([40])));

        sqlx::query("UPDATE check_hours SET latency_hist = x'05'")
            .execute(&mut *conn)
            .await
            .unwrap();
        write_and_roll_up(&mut conn, &[record(7, hour + 3, true, 70, None)]).await;
        assert_eq!(spread().await, (3, LatencyHistogram::of([70])));
    }
}
