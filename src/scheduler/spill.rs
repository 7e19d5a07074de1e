//! Where each check runs. The scheduler's own thread runs its checks while it has room: a check
//! there connects, waits and ends without waking another thread, and at 10,000 monitors that
//! hand-over was a fifth of upbeat's CPU. One thread has a ceiling, though: while it is busy
//! most of the time, a growing share of the checks starting go to the shared runtime, whose
//! threads add what one cannot do, and the share falls back as the load does.
//! This decides where a check runs, never when.

use std::time::Duration;
use tokio::runtime::{Handle, RuntimeMetrics};
use tokio::time::Instant;

/// How often the thread's busy time is looked at.
const LOOK_EVERY: Duration = Duration::from_millis(100);
/// Busier than this share of the time, more checks go elsewhere; idler than [`BUSY_LOW`], fewer.
const BUSY_HIGH: f64 = 0.6;
const BUSY_LOW: f64 = 0.4;
/// The share sent elsewhere moves in steps of one in this many checks.
const STEPS: u32 = 10;

pub(super) struct Spill {
    shared: Handle,
    /// The runtime of this thread, when it has no other: one of several threads spreads its
    /// tasks itself.
    home: Option<RuntimeMetrics>,
    /// The thread's busy time at the last look, and when that was.
    last: Option<(Instant, Duration)>,
    share: Share,
}

impl Spill {
    /// Made on the scheduler's runtime; `shared` takes the checks it has no room for.
    pub(super) fn new(shared: Handle) -> Spill {
        let metrics = Handle::current().metrics();
        Spill {
            shared,
            home: (metrics.num_workers() == 1).then_some(metrics),
            last: None,
            share: Share::default(),
        }
    }

    /// Takes note of how busy this thread has been since the last look, when that was long
    /// enough ago.
    pub(super) fn look(&mut self, now: Instant) {
        let Some(home) = &self.home else { return };
        if self
            .last
            .is_some_and(|(at, _)| now.saturating_duration_since(at) < LOOK_EVERY)
        {
            return;
        }
        let busy = home.worker_total_busy_duration(0);
        if let Some((at, was)) = self.last {
            let elapsed = now.saturating_duration_since(at).as_secs_f64();
            self.share
                .adjust(busy.saturating_sub(was).as_secs_f64() / elapsed);
        }
        self.last = Some((now, busy));
    }

    /// Where the next check runs: `None` on this thread.
    pub(super) fn next(&mut self) -> Option<&Handle> {
        self.share.take_turn().then_some(&self.shared)
    }
}

/// How many checks in [`STEPS`] go elsewhere, and which turn the next one is.
#[derive(Default)]
struct Share {
    of_steps: u32,
    credit: u32,
}

impl Share {
    fn adjust(&mut self, busy: f64) {
        if busy > BUSY_HIGH {
            self.of_steps = (self.of_steps + 1).min(STEPS);
        } else if busy < BUSY_LOW {
            self.of_steps = self.of_steps.saturating_sub(1);
        }
    }

    /// Whether the next check goes elsewhere: the share's checks, spread evenly.
    fn take_turn(&mut self) -> bool {
        self.credit += self.of_steps;
        if self.credit >= STEPS {
            self.credit -= STEPS;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent_away(share: &mut Share, checks: usize) -> usize {
        (0..checks).filter(|_| share.take_turn()).count()
    }

    #[test]
    fn an_idle_thread_keeps_every_check() {
        let mut share = Share::default();
        share.adjust(0.1);
        assert_eq!(sent_away(&mut share, 1_000), 0);
    }

    #[test]
    fn a_busy_thread_sends_a_growing_share_away_and_takes_it_back_as_the_load_drops() {
        let mut share = Share::default();
        share.adjust(0.9);
        assert_eq!(sent_away(&mut share, 1_000), 100);
        for _ in 0..20 {
            share.adjust(0.9);
        }
        assert_eq!(sent_away(&mut share, 1_000), 1_000);
        // Between the marks the share holds.
        share.adjust(0.5);
        assert_eq!(sent_away(&mut share, 1_000), 1_000);
        share.adjust(0.2);
        share.adjust(0.2);
        assert_eq!(sent_away(&mut share, 1_000), 800);
        // Spread out, not in runs: of any ten checks in a row, eight.
        let turns: Vec<bool> = (0..100).map(|_| share.take_turn()).collect();
        assert!(
            turns
                .windows(10)
                .all(|w| w.iter().filter(|&&away| away).count() == 8)
        );
    }

    #[tokio::test]
    async fn a_thread_kept_busy_sends_checks_elsewhere() {
        let mut spill = Spill::new(Handle::current());
        assert!(spill.home.is_some());
        spill.look(Instant::now());
        // A task that holds the thread for longer than a look.
        tokio::spawn(async {
            let start = std::time::Instant::now();
            while start.elapsed() < LOOK_EVERY * 3 / 2 {}
        })
        .await
        .unwrap();
        spill.look(Instant::now());
        assert_eq!((0..10).filter(|_| spill.next().is_some()).count(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_runtime_of_several_threads_spreads_its_checks_itself() {
        let spill = Spill::new(Handle::current());
        assert!(spill.home.is_none());
    }
}
