//! Sends what the outbox holds. Due deliveries are claimed with a lease under this node's name,
//! so a second sender never takes one while it is being sent, and takes it up again if the
//! sender died; a node that restarts takes its own back at once. Each delivery is sent on its
//! own, with a timeout, one at a time per channel and in order within an outage, so a slow or
//! failing channel delays nothing else. Failures are retried with exponential backoff for a
//! day, then recorded as failed.

use super::send::{SendError, Senders};
use crate::monitor::ChannelId;
use crate::store::{ClaimedDelivery, DeliveryOutcome, FinishedDelivery, Store};
use crate::timestamp::Timestamp;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long a claimed delivery is ours: well beyond an attempt and the write that records it.
const LEASE: Duration = Duration::from_secs(120);
/// The longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// After this, a delivery that still fails is given up.
const GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);
/// Deliveries being sent at once, at most; each channel has one at most.
const MAX_IN_FLIGHT: usize = 256;
/// How often to look for due work without being told (retries, reminders, other nodes' work).
const POLL: Duration = Duration::from_secs(1);
/// How often to queue reminders.
const REMINDER_POLL: Duration = Duration::from_secs(5);

pub struct Dispatcher {
    /// The name this node claims under: unique among the nodes sharing the database.
    node: String,
    store: Arc<dyn Store>,
    senders: Arc<Senders>,
    /// Notified when alerts were queued.
    queued: Arc<Notify>,
    /// The wait before the first retry; it doubles with each further one.
    first_retry: Duration,
    /// The channel the last claim ended with: channels take turns from the one after it.
    turn: Option<ChannelId>,
}

impl Dispatcher {
    pub fn new(
        node: &str,
        store: Arc<dyn Store>,
        senders: Arc<Senders>,
        queued: Arc<Notify>,
        first_retry: Duration,
    ) -> Self {
        Dispatcher {
            node: node.into(),
            store,
            senders,
            queued,
            first_retry,
            turn: None,
        }
    }

    /// Sends until `shutdown`, then gives sends under way `grace` to finish. What is not
    /// finished stays claimed until its lease ends and is sent again after a restart.
    ///
    /// Each round records the attempts that ended since the last one and claims what is due
    /// in one transaction, so a burst of alerts costs one write per round, not two per alert.
    pub async fn run(mut self, shutdown: CancellationToken, grace: Duration) {
        match self.store.release_claims(&self.node).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                deliveries = n,
                "resuming alerts that were being sent when upbeat stopped"
            ),
            Err(e) => tracing::error!(error = %e, "releasing earlier claims failed"),
        }
        let mut sending: JoinSet<FinishedDelivery> = JoinSet::new();
        // Ended attempts not yet recorded. A write that fails keeps them for the next round;
        // if it keeps failing the leases run out and the deliveries are sent again: better
        // twice than never.
        let mut finished = Vec::new();
        let mut next_reminders = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_reminders {
                match self.store.enqueue_reminders(Timestamp::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(reminders = n, "reminders queued"),
                    Err(e) => tracing::error!(error = %e, "queueing reminders failed"),
                }
                next_reminders = tokio::time::Instant::now() + REMINDER_POLL;
            }
            let room = MAX_IN_FLIGHT.saturating_sub(sending.len());
            if room > 0 || !finished.is_empty() {
                match self.settle(&finished, room).await {
                    Ok(claimed) => {
                        finished.clear();
                        for delivery in claimed {
                            sending.spawn(deliver(
                                Arc::clone(&self.senders),
                                delivery,
                                self.first_retry,
                            ));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "recording and claiming deliveries failed")
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.queued.notified() => {}
                () = tokio::time::sleep(POLL) => {}
                Some(done) = sending.join_next(), if !sending.is_empty() => {
                    finished.extend(done.ok());
                    while let Some(done) = sending.try_join_next() {
                        finished.extend(done.ok());
                    }
                }
            }
        }
        let drained = tokio::time::timeout(grace, async {
            while let Some(done) = sending.join_next().await {
                finished.extend(done.ok());
            }
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                unfinished = sending.len(),
                "alerts still being sent at shutdown will be sent after a restart"
            );
            sending.shutdown().await;
        }
        if !finished.is_empty()
            && let Err(e) = self.settle(&finished, 0).await
        {
            tracing::error!(error = %e, unrecorded = finished.len(), "recording the last deliveries failed; they will be sent again");
        }
    }

    /// Records `finished` and claims up to `room` due deliveries.
    async fn settle(
        &mut self,
        finished: &[FinishedDelivery],
        room: usize,
    ) -> crate::store::Result<Vec<ClaimedDelivery>> {
        let settled = self
            .store
            .settle_deliveries(
                &self.node,
                finished,
                Timestamp::now(),
                LEASE,
                u32::try_from(room).unwrap_or(u32::MAX),
                self.turn,
            )
            .await?;
        self.turn = settled.turn.or(self.turn);
        for delivery in settled.lost {
            tracing::warn!(
                delivery,
                "the claim ran out while sending; another sender has it"
            );
        }
        Ok(settled.claimed)
    }
}

async fn deliver(
    senders: Arc<Senders>,
    delivery: ClaimedDelivery,
    first_retry: Duration,
) -> FinishedDelivery {
    let outcome = match &delivery.channel {
        None => DeliveryOutcome::Skipped("the channel was deleted".into()),
        Some(channel) => match senders.send(channel, delivery.alert.clone()).await {
            Ok(()) => DeliveryOutcome::Sent,
            Err(SendError::Failed(why)) => retry_or_give_up(&delivery, why, first_retry),
            Err(final_error) => final_error.into(),
        },
    };
    match &outcome {
        DeliveryOutcome::Sent => tracing::info!(
            delivery = delivery.id,
            kind = delivery.alert.kind.as_str(),
            "alert sent"
        ),
        DeliveryOutcome::Retry { error, .. } => {
            tracing::warn!(delivery = delivery.id, attempts = delivery.attempts, %error, "alert not sent; will retry")
        }
        DeliveryOutcome::SentPartly(error) => {
            tracing::warn!(delivery = delivery.id, %error, "alert sent to some recipients only")
        }
        DeliveryOutcome::Failed(error) | DeliveryOutcome::Skipped(error) => {
            tracing::warn!(delivery = delivery.id, %error, "alert not sent")
        }
    }
    FinishedDelivery {
        id: delivery.id,
        lease: delivery.lease,
        outcome,
        at: Timestamp::now(),
    }
}

fn retry_or_give_up(
    delivery: &ClaimedDelivery,
    error: String,
    first_retry: Duration,
) -> DeliveryOutcome {
    let now = Timestamp::now();
    if now.since(delivery.created_at) >= GIVE_UP_AFTER {
        return DeliveryOutcome::Failed(format!("gave up after a day of retries: {error}"));
    }
    DeliveryOutcome::Retry {
        at: now.saturating_add(backoff(first_retry, delivery.attempts)),
        error,
    }
}

/// The wait after the `attempts`-th failed attempt: doubling from `first`, at most an hour.
fn backoff(first: Duration, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(20);
    first.saturating_mul(1 << doublings).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let first = Duration::from_secs(10);
        let waits: Vec<u64> = (1..=12).map(|n| backoff(first, n).as_secs()).collect();
        assert_eq!(
            waits,
            [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600, 3600]
        );
        assert_eq!(backoff(first, u32::MAX), MAX_BACKOFF);
    }
}
