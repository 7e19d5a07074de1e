//! Records check outcomes: applies the verdict to each and writes them in batches through one
//! writer, so a result, the status change it causes and the incident it opens or closes (or the
//! certificate alert it calls for) are stored in one transaction. Probes hand results over
//! without waiting: a slow database queues results in bounded memory (then drops and counts
//! them) and is never taken for a down target.
//!
//! The recorder is the only owner of verdict state while running. Pausing and resuming go
//! through it, in order with the results: what was queued before a pause is written before it,
//! and a check that started before a pause or a resume is not judged after it.

use crate::live::{Change, Live};
use crate::metrics::Metrics;
use crate::monitor::{MonitorId, MonitorSpec};
use crate::probe::Outcome;
use crate::store::{CheckRecord, Store, StoreError};
use crate::timestamp::Timestamp;
use crate::verdict::certificate::{self, CertAlerted};
use crate::verdict::{Thresholds, VerdictState};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, oneshot};

/// Results waiting for the writer, at most. At 10,000 checks a second this is several seconds of
/// database stall absorbed without loss.
const QUEUE_CAPACITY: usize = 65_536;
/// Results written in one transaction, at most.
const MAX_BATCH: usize = 2_000;
/// How long results gather before they are written together. Writing each as it comes costs
/// the database several statements per result; gathered, a few per batch. It is also the most
/// a status change waits before it is stored and alerted.
const BATCH_WINDOW: Duration = Duration::from_millis(50);
/// A batch that takes longer than this to write is logged.
const SLOW_BATCH: Duration = Duration::from_secs(1);

enum Message {
    Result {
        monitor: MonitorId,
        thresholds: Thresholds,
        outcome: Outcome,
    },
    /// Write everything before this, then judge nothing more of the monitor until released.
    Hold(MonitorId, oneshot::Sender<()>),
    /// Judge the monitor again, counting only checks started from `since`; from `pending` when
    /// `fresh` (a resume), else from where it was (a pause that did not happen after all).
    Release {
        monitor: MonitorId,
        since: Timestamp,
        fresh: bool,
    },
    /// The monitor was deleted.
    Forget(MonitorId),
}

/// Hands results and changes to the recorder; cheap to clone. Results never wait.
#[derive(Clone)]
pub struct RecorderHandle {
    tx: mpsc::Sender<Message>,
    metrics: Arc<Metrics>,
}

impl RecorderHandle {
    /// The outcome of a check of `monitor`, made with the settings `spec`.
    pub fn submit(&self, monitor: MonitorId, spec: &MonitorSpec, outcome: Outcome) {
        self.metrics.checked(spec.kind(), &outcome);
        let message = Message::Result {
            monitor,
            thresholds: Thresholds::of(spec),
            outcome,
        };
        if self.tx.try_send(message).is_err() {
            let dropped = self.metrics.dropped();
            // One line per thousand, so a long stall does not flood the log.
            if dropped % 1000 == 1 {
                tracing::warn!(
                    dropped,
                    "result queue full or closed: results are being dropped"
                );
            }
        }
    }

    /// Returns once every result of the monitor queued before it is written; until it is
    /// released, the monitor's results are discarded.
    pub async fn hold(&self, monitor: MonitorId) {
        let (done, written) = oneshot::channel();
        if self.tx.send(Message::Hold(monitor, done)).await.is_ok() {
            let _ = written.await;
        }
    }

    /// The monitor was resumed at `since`: it is judged afresh from `pending`.
    pub async fn resume(&self, monitor: MonitorId, since: Timestamp) {
        self.release(monitor, since, true).await;
    }

    /// A hold for a pause that did not happen: judging goes on from where it was.
    pub async fn unhold(&self, monitor: MonitorId, since: Timestamp) {
        self.release(monitor, since, false).await;
    }

    async fn release(&self, monitor: MonitorId, since: Timestamp, fresh: bool) {
        let _ = self
            .tx
            .send(Message::Release {
                monitor,
                since,
                fresh,
            })
            .await;
    }

    pub async fn forget(&self, monitor: MonitorId) {
        let _ = self.tx.send(Message::Forget(monitor)).await;
    }

    /// Results and changes waiting for the writer.
    pub fn queued(&self) -> usize {
        self.tx.max_capacity() - self.tx.capacity()
    }
}

/// What the recorder remembers of a monitor between results.
#[derive(Default)]
struct Tracked {
    verdict: VerdictState,
    last_at: Option<Timestamp>,
    /// The last certificate alert; kept over a pause, since the certificate is the same.
    cert_alerted: Option<CertAlerted>,
    /// The certificate expiry the last check saw; unknown again after a restart.
    cert_expires_at: Option<Timestamp>,
    paused: bool,
    /// Results of checks started before this are stale (they began before a resume).
    not_before: Option<Timestamp>,
}

pub struct Recorder {
    rx: mpsc::Receiver<Message>,
    store: Arc<dyn Store>,
    tracked: HashMap<MonitorId, Tracked>,
    /// Told when a batch queued alerts, so they go out at once.
    alerts_queued: Arc<Notify>,
    /// Told which monitors have new results.
    live: Live,
    metrics: Arc<Metrics>,
}

impl Recorder {
    /// Loads every monitor's verdict state, so judging resumes where it stopped. `alerts_queued`
    /// is notified whenever a written batch queued alerts, and `live` told of every batch.
    pub async fn start(
        store: Arc<dyn Store>,
        alerts_queued: Arc<Notify>,
        live: Live,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, RecorderHandle), StoreError> {
        let tracked = store
            .verdict_states()
            .await?
            .into_iter()
            .map(|s| {
                // Paused monitors are not checked, so no result of theirs arrives to hold back.
                let tracked = Tracked {
                    verdict: s.verdict,
                    last_at: s.last_at,
                    cert_alerted: s.cert_alerted,
                    ..Tracked::default()
                };
                (s.monitor, tracked)
            })
            .collect();
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let handle = RecorderHandle {
            tx,
            metrics: Arc::clone(&metrics),
        };
        Ok((
            Recorder {
                rx,
                store,
                tracked,
                alerts_queued,
                live,
                metrics,
            },
            handle,
        ))
    }

    /// Writes until every handle is dropped and the queue is empty. A batch is what arrives
    /// within [`BATCH_WINDOW`] of its first message, or while the previous batch was being
    /// written, up to [`MAX_BATCH`].
    pub async fn run(mut self) {
        let mut incoming = Vec::with_capacity(MAX_BATCH);
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while self.rx.recv_many(&mut incoming, MAX_BATCH).await > 0 {
            // Sleeping through the window, rather than waiting on the queue, wakes the
            // recorder once a batch instead of once a result.
            if incoming.len() < MAX_BATCH {
                tokio::time::sleep(BATCH_WINDOW).await;
            }
            while incoming.len() < MAX_BATCH
                && let Ok(message) = self.rx.try_recv()
            {
                incoming.push(message);
            }
            for message in incoming.drain(..) {
                match message {
                    Message::Result {
                        monitor,
                        thresholds,
                        outcome,
                    } => batch.extend(self.judge(monitor, thresholds, outcome)),
                    Message::Hold(monitor, done) => {
                        self.write(&mut batch).await;
                        self.tracked.entry(monitor).or_default().paused = true;
                        let _ = done.send(());
                    }
                    Message::Release {
                        monitor,
                        since,
                        fresh,
                    } => {
                        let t = self.tracked.entry(monitor).or_default();
                        t.paused = false;
                        t.not_before = Some(since);
                        if fresh {
                            t.verdict = VerdictState {
                                since: Some(since),
                                ..VerdictState::default()
                            };
                        }
                    }
                    Message::Forget(monitor) => {
                        self.tracked.remove(&monitor);
                    }
                }
            }
            self.write(&mut batch).await;
        }
    }

    fn judge(
        &mut self,
        monitor: MonitorId,
        thresholds: Thresholds,
        mut outcome: Outcome,
    ) -> Option<CheckRecord> {
        let tracked = self.tracked.entry(monitor).or_default();
        if tracked.paused || tracked.not_before.is_some_and(|t| outcome.at < t) {
            return None;
        }
        // A monitor's checks are keyed by time: keep each one's instant unique and increasing.
        if let Some(last) = tracked.last_at
            && outcome.at <= last
        {
            outcome.at = Timestamp::from_millis(last.as_millis() + 1);
        }
        tracked.last_at = Some(outcome.at);
        let before = tracked.verdict.clone();
        let transition = tracked.verdict.observe(&outcome, thresholds);
        let new_cert = outcome
            .cert_expires_at
            .is_some_and(|e| tracked.cert_expires_at != Some(e));
        if new_cert {
            tracked.cert_expires_at = outcome.cert_expires_at;
        }
        if let Some(t) = &transition {
            tracing::info!(monitor = %monitor, from = t.from.as_str(), to = t.to.as_str(), "status changed");
        }
        let cert_alert = outcome.cert_expires_at.and_then(|expires| {
            certificate::alert_due(
                tracked.cert_alerted,
                expires,
                outcome.at,
                &thresholds.cert_alert_days,
            )
        });
        if let Some(a) = cert_alert {
            tracing::info!(monitor = %monitor, expires_at = %a.expires_at.to_rfc3339(), threshold_days = a.days, "certificate alert");
            tracked.cert_alerted = Some(a);
        }
        Some(CheckRecord {
            monitor,
            outcome,
            state_changed: new_cert || tracked.verdict != before,
            verdict: tracked.verdict.clone(),
            transition,
            cert_alert,
        })
    }

    /// Retries until the batch is stored: its verdicts are already applied in memory, and
    /// storing it late is better than losing it. Meanwhile new results wait in the queue.
    async fn write(&mut self, batch: &mut Vec<CheckRecord>) {
        if batch.is_empty() {
            return;
        }
        let mut backoff = Duration::from_millis(50);
        let started = Instant::now();
        loop {
            match self.store.record(batch).await {
                Ok(recorded) => {
                    let took = started.elapsed();
                    self.metrics.wrote(batch.len(), took);
                    if took > SLOW_BATCH {
                        tracing::warn!(
                            results = batch.len(),
                            seconds = took.as_secs_f64(),
                            "writing results is slow: the database is busy or the disk is slow"
                        );
                    }
                    for id in &recorded.gone {
                        self.tracked.remove(id);
                    }
                    if recorded.alerts > 0 {
                        self.alerts_queued.notify_one();
                    }
                    if self.live.is_watched() {
                        let mut checked: Vec<MonitorId> = batch
                            .iter()
                            .map(|r| r.monitor)
                            .filter(|m| !recorded.gone.contains(m))
                            .collect();
                        checked.sort_unstable();
                        checked.dedup();
                        self.live.tell(Change::Checked(checked.into()));
                    }
                    batch.clear();
                    return;
                }
                Err(e) => {
                    tracing::error!(error = %e, results = batch.len(), ?backoff, "writing results failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}
