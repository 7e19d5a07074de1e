//! Records check outcomes: applies the verdict to each and writes them in batches through one
//! writer, so a result, the status change it causes and the incident it opens or closes are
//! stored in one transaction. Probes hand results over without waiting: a slow database queues
//! results in bounded memory (then drops and counts them) and is never taken for a down target.

use crate::monitor::MonitorId;
use crate::probe::Outcome;
use crate::store::{CheckRecord, Store};
use crate::timestamp::Timestamp;
use crate::verdict::{Thresholds, VerdictState};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Results waiting for the writer, at most. At 10,000 checks a second this is several seconds of
/// database stall absorbed without loss.
const QUEUE_CAPACITY: usize = 65_536;
/// Results written in one transaction, at most.
const MAX_BATCH: usize = 2_000;

struct Submission {
    monitor: MonitorId,
    thresholds: Thresholds,
    outcome: Outcome,
}

/// Hands results to the recorder; cheap to clone, never blocks.
#[derive(Clone)]
pub struct RecorderHandle {
    tx: mpsc::Sender<Submission>,
    dropped: Arc<AtomicU64>,
}

impl RecorderHandle {
    pub fn submit(&self, monitor: MonitorId, thresholds: Thresholds, outcome: Outcome) {
        let submission = Submission {
            monitor,
            thresholds,
            outcome,
        };
        if self.tx.try_send(submission).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            // One line per thousand, so a long stall does not flood the log.
            if dropped % 1000 == 1 {
                tracing::warn!(
                    dropped,
                    "result queue full or closed: results are being dropped"
                );
            }
        }
    }

    /// Results dropped since start because the queue was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// What the recorder remembers of a monitor between results.
struct Tracked {
    verdict: VerdictState,
    last_at: Option<Timestamp>,
}

pub struct Recorder {
    rx: mpsc::Receiver<Submission>,
    store: Arc<dyn Store>,
    tracked: HashMap<MonitorId, Tracked>,
}

impl Recorder {
    /// Loads every monitor's verdict state, so judging resumes where it stopped.
    pub async fn start(
        store: Arc<dyn Store>,
    ) -> Result<(Self, RecorderHandle), crate::store::StoreError> {
        let tracked = store
            .verdict_states()
            .await?
            .into_iter()
            .map(|s| {
                (
                    s.monitor,
                    Tracked {
                        verdict: s.verdict,
                        last_at: s.last_at,
                    },
                )
            })
            .collect();
        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        let handle = RecorderHandle {
            tx,
            dropped: Arc::new(AtomicU64::new(0)),
        };
        Ok((Recorder { rx, store, tracked }, handle))
    }

    /// Writes until every handle is dropped and the queue is empty. Batches form by themselves:
    /// whatever arrived while the previous batch was being written goes into the next one.
    pub async fn run(mut self) {
        let mut incoming = Vec::with_capacity(MAX_BATCH);
        while self.rx.recv_many(&mut incoming, MAX_BATCH).await > 0 {
            let batch: Vec<CheckRecord> = incoming.drain(..).map(|s| self.judge(s)).collect();
            self.write(&batch).await;
        }
    }

    fn judge(&mut self, s: Submission) -> CheckRecord {
        let tracked = self.tracked.entry(s.monitor).or_insert_with(|| Tracked {
            verdict: VerdictState::default(),
            last_at: None,
        });
        let mut outcome = s.outcome;
        // A monitor's checks are keyed by time: keep each one's instant unique and increasing.
        if let Some(last) = tracked.last_at
            && outcome.at <= last
        {
            outcome.at = Timestamp::from_millis(last.as_millis() + 1);
        }
        tracked.last_at = Some(outcome.at);
        let transition = tracked.verdict.observe(&outcome, s.thresholds);
        if let Some(t) = &transition {
            tracing::info!(monitor = %s.monitor, from = t.from.as_str(), to = t.to.as_str(), "status changed");
        }
        CheckRecord {
            monitor: s.monitor,
            outcome,
            verdict: tracked.verdict.clone(),
            transition,
        }
    }

    /// Retries until the batch is stored: its verdicts are already applied in memory, and
    /// storing it late is better than losing it. Meanwhile new results wait in the queue.
    async fn write(&mut self, batch: &[CheckRecord]) {
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.store.record(batch).await {
                Ok(gone) => {
                    for id in gone {
                        self.tracked.remove(&id);
                    }
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
