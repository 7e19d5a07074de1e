//! What upbeat counts about itself, served at `GET /metrics` in the Prometheus text format. One
//! value, made in [`crate::app`] and handed to the parts that count: the scheduler (lag), the
//! recorder (checks, writes, dropped results). What is a state rather than an event (monitors
//! by status, the outbox, the database's size, the process) is read when scraped.

use crate::monitor::Kind;
use crate::probe::Outcome;
use crate::store::SHOWN_STATUSES;
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::time::Duration;

/// What the store knows at the time of a scrape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Monitors by shown status: `pending`, `up`, `down`, `paused`.
    pub monitors: Vec<(&'static str, u64)>,
    /// Alert deliveries waiting to be sent.
    pub outbox: u64,
    /// The database's size on disk.
    pub database_bytes: u64,
}

pub struct Metrics {
    registry: Registry,
    checks: IntCounterVec,
    check_duration: HistogramVec,
    schedule_lag: Histogram,
    spilled: IntCounter,
    write_batch: Histogram,
    write_seconds: Histogram,
    results_dropped: IntCounter,
    results_queued: IntGauge,
    monitors: IntGaugeVec,
    outbox: IntGauge,
    database_bytes: IntGauge,
    database_up: IntGauge,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let seconds = |name: &str, help: &str, buckets: &[f64]| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
        };
        let m = Metrics {
            registry: Registry::new(),
            checks: IntCounterVec::new(
                Opts::new(
                    "upbeat_checks_total",
                    "Check results by monitor kind and result: ok, or the error's kind.",
                ),
                &["kind", "result"],
            )?,
            check_duration: HistogramVec::new(
                HistogramOpts::new(
                    "upbeat_check_duration_seconds",
                    "How long checks took, by monitor kind (heartbeats make none).",
                )
                .buckets(vec![
                    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                    30.0, 60.0,
                ]),
                &["kind"],
            )?,
            schedule_lag: seconds(
                "upbeat_schedule_lag_seconds",
                "How long after its due time each check started.",
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ],
            )?,
            spilled: IntCounter::new(
                "upbeat_checks_spilled_total",
                "Checks started on the shared threads because the checks' own thread was busy.",
            )?,
            write_batch: Histogram::with_opts(
                HistogramOpts::new(
                    "upbeat_write_batch_size",
                    "Results stored per database transaction.",
                )
                .buckets(vec![
                    1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2000.0,
                ]),
            )?,
            write_seconds: seconds(
                "upbeat_write_batch_duration_seconds",
                "How long storing one batch of results took, retries included.",
                &[
                    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                    10.0,
                ],
            )?,
            results_dropped: IntCounter::new(
                "upbeat_results_dropped_total",
                "Results lost because the queue to the database was full.",
            )?,
            results_queued: IntGauge::new(
                "upbeat_results_queued",
                "Results waiting to be stored.",
            )?,
            monitors: IntGaugeVec::new(
                Opts::new("upbeat_monitors", "Monitors by status."),
                &["status"],
            )?,
            outbox: IntGauge::new(
                "upbeat_alert_outbox_depth",
                "Alert deliveries waiting to be sent.",
            )?,
            database_bytes: IntGauge::new(
                "upbeat_database_size_bytes",
                "The size of the database on disk.",
            )?,
            database_up: IntGauge::new(
                "upbeat_database_up",
                "1 when the database answered this scrape; 0 leaves the gauges read from it as \
                 they were.",
            )?,
        };
        let r = &m.registry;
        r.register(Box::new(m.checks.clone()))?;
        r.register(Box::new(m.check_duration.clone()))?;
        r.register(Box::new(m.schedule_lag.clone()))?;
        r.register(Box::new(m.spilled.clone()))?;
        r.register(Box::new(m.write_batch.clone()))?;
        r.register(Box::new(m.write_seconds.clone()))?;
        r.register(Box::new(m.results_dropped.clone()))?;
        r.register(Box::new(m.results_queued.clone()))?;
        r.register(Box::new(m.monitors.clone()))?;
        r.register(Box::new(m.outbox.clone()))?;
        r.register(Box::new(m.database_bytes.clone()))?;
        r.register(Box::new(m.database_up.clone()))?;
        #[cfg(target_os = "linux")]
        r.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(m)
    }

    /// A check of a monitor of `kind` ended with `outcome`.
    pub fn checked(&self, kind: Kind, outcome: &Outcome) {
        let result = outcome.error.as_ref().map_or("ok", |e| e.kind.as_str());
        self.checks
            .with_label_values(&[kind.as_str(), result])
            .inc();
        if kind.is_probed() {
            self.check_duration
                .with_label_values(&[kind.as_str()])
                .observe(f64::from(outcome.latency_ms) / 1000.0);
        }
    }

    /// A check started `lag` after its due time.
    pub fn started_late_by(&self, lag: Duration) {
        self.schedule_lag.observe(lag.as_secs_f64());
    }

    /// A check was started on the shared threads.
    pub fn spilled(&self) {
        self.spilled.inc();
    }

    /// A batch of `results` was stored in `took`.
    pub fn wrote(&self, results: usize, took: Duration) {
        self.write_batch.observe(results as f64);
        self.write_seconds.observe(took.as_secs_f64());
    }

    /// A result was dropped; returns how many have been so far.
    pub fn dropped(&self) -> u64 {
        self.results_dropped.inc();
        self.results_dropped.get()
    }

    /// The text a scrape gets, with the states read for it: `store` is `None` when the
    /// database did not answer.
    pub fn render(&self, store: Option<&StoreStats>, queued: usize) -> String {
        self.database_up.set(i64::from(store.is_some()));
        if let Some(store) = store {
            // Every status, so that each is exported even at 0.
            for status in SHOWN_STATUSES {
                let count = store
                    .monitors
                    .iter()
                    .filter(|(s, _)| *s == status)
                    .map(|(_, n)| *n)
                    .sum::<u64>();
                self.monitors.with_label_values(&[status]).set(gauge(count));
            }
            self.outbox.set(gauge(store.outbox));
            self.database_bytes.set(gauge(store.database_bytes));
        }
        self.results_queued.set(gauge(queued as u64));
        let mut out = Vec::new();
        // Encoding into memory fails only on a metric the registry itself refused.
        if let Err(e) = TextEncoder::new().encode(&self.registry.gather(), &mut out) {
            tracing::error!(error = %e, "encoding metrics failed");
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// The content type of [`Metrics::render`]'s text.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::{CheckError, ErrorKind, Phases};
    use crate::timestamp::Timestamp;

    fn outcome(error: Option<ErrorKind>, latency_ms: u32) -> Outcome {
        Outcome {
            at: Timestamp::now(),
            status_code: None,
            latency_ms,
            error: error.map(|k| CheckError::new(k, "x")),
            phases: Phases::default(),
            cert_expires_at: None,
        }
    }

    #[test]
    fn results_are_counted_by_kind_and_result_and_states_set_when_scraped() {
        let m = Metrics::new().unwrap();
        m.checked(Kind::Http, &outcome(None, 120));
        m.checked(Kind::Http, &outcome(Some(ErrorKind::Timeout), 10_000));
        m.checked(Kind::Heartbeat, &outcome(Some(ErrorKind::Late), 0));
        m.started_late_by(Duration::from_millis(3));
        m.wrote(40, Duration::from_millis(2));
        assert_eq!(m.dropped(), 1);
        let stats = StoreStats {
            monitors: vec![("up", 7), ("paused", 2)],
            outbox: 3,
            database_bytes: 4096,
        };
        let text = m.render(Some(&stats), 5);
        for line in [
            "upbeat_checks_total{kind=\"http\",result=\"ok\"} 1",
            "upbeat_checks_total{kind=\"http\",result=\"timeout\"} 1",
            "upbeat_checks_total{kind=\"heartbeat\",result=\"late\"} 1",
            "upbeat_check_duration_seconds_count{kind=\"http\"} 2",
            "upbeat_check_duration_seconds_sum{kind=\"http\"} 10.12",
            "upbeat_schedule_lag_seconds_bucket{le=\"0.005\"} 1",
            "upbeat_schedule_lag_seconds_bucket{le=\"0.0025\"} 0",
            "upbeat_write_batch_size_sum 40",
            "upbeat_results_dropped_total 1",
            "upbeat_results_queued 5",
            "upbeat_monitors{status=\"up\"} 7",
            "upbeat_monitors{status=\"down\"} 0",
            "upbeat_monitors{status=\"paused\"} 2",
            "upbeat_alert_outbox_depth 3",
            "upbeat_database_size_bytes 4096",
            "upbeat_database_up 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(
            !text.contains("kind=\"heartbeat\"}"),
            "heartbeats have no duration"
        );
        #[cfg(target_os = "linux")]
        assert!(text.contains("\nprocess_resident_memory_bytes "), "{text}");
        // Without the database, its gauges stay as they were.
        let text = m.render(None, 0);
        assert!(text.contains("\nupbeat_database_up 0\n"), "{text}");
        assert!(
            text.contains("\nupbeat_monitors{status=\"up\"} 7\n"),
            "{text}"
        );
    }
}
