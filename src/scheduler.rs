//! Decides when each monitor is checked, and starts the checks. Takes additions, changes and
//! removals while running. It must not judge or store results: a finished check goes to the
//! recorder, and nothing a target does can hold up the loop.
//!
//! Each monitor has fixed slots: the instants `phase + k * interval` on the wall clock, where
//! `phase` is derived from the monitor's id. Monitors made together are therefore spread over
//! their interval instead of firing in lockstep, and a restart lands every monitor back on its
//! own slots. One monitor never has two checks in flight.
//!
//! A heartbeat monitor is not checked: its job pings it. The scheduler keeps its deadline
//! instead ([`heartbeat::Watch`]), moved by each ping, and records a `late` outcome when it
//! passes.

pub(crate) mod heartbeat;
mod spill;

use crate::metrics::Metrics;
use crate::monitor::{MonitorId, MonitorSpec};
use crate::probe::Prober;
use crate::recorder::RecorderHandle;
use crate::store::{PingKind, RunTimes};
use crate::timestamp::{Timestamp, duration_millis};
use heartbeat::Watch;
use spill::Spill;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// What one check needs: which monitor, and its settings as they were when the check was due.
#[derive(Debug)]
pub struct Job {
    pub monitor: MonitorId,
    pub spec: MonitorSpec,
}

enum Command {
    /// Start checking a monitor, or take its new settings. `check_now` puts a check first in line.
    Upsert { job: Arc<Job>, check_now: bool },
    /// Stop checking a monitor; the reply says it is done, so no check starts after it.
    Remove(MonitorId, oneshot::Sender<()>),
    /// A heartbeat's job pinged.
    Ping {
        monitor: MonitorId,
        kind: PingKind,
        at: Timestamp,
    },
}

/// A cheap, cloneable way to tell the running scheduler about changes.
#[derive(Clone)]
pub struct SchedulerHandle {
    tx: mpsc::UnboundedSender<Command>,
}

impl SchedulerHandle {
    /// A monitor was created or resumed: check it at once, then on its slots.
    pub fn start(&self, monitor: MonitorId, spec: MonitorSpec) {
        self.send(Command::Upsert {
            job: Arc::new(Job { monitor, spec }),
            check_now: true,
        });
    }

    /// A monitor's settings changed: they apply from its next check. A monitor that is not
    /// being checked stays so: only [`SchedulerHandle::start`] adds one.
    pub fn update(&self, monitor: MonitorId, spec: MonitorSpec) {
        self.send(Command::Upsert {
            job: Arc::new(Job { monitor, spec }),
            check_now: false,
        });
    }

    /// A heartbeat monitor's job pinged at `at`: its deadline moves.
    pub fn pinged(&self, monitor: MonitorId, kind: PingKind, at: Timestamp) {
        self.send(Command::Ping { monitor, kind, at });
    }

    /// A monitor was paused or deleted: once this returns, no check of it starts again.
    pub async fn stop(&self, monitor: MonitorId) {
        let (done, confirmed) = oneshot::channel();
        self.send(Command::Remove(monitor, done));
        // An error means the scheduler has stopped, which stops every check as well.
        let _ = confirmed.await;
    }

    fn send(&self, cmd: Command) {
        // The receiver lives as long as the scheduler loop; after shutdown, changes are moot.
        let _ = self.tx.send(cmd);
    }
}

struct Entry {
    job: Arc<Job>,
    /// Bumped whenever the entry is rescheduled, so stale heap items are recognised and skipped.
    generation: u64,
    last_started: Option<Instant>,
    /// A heartbeat's runs, for its deadline.
    watch: Option<Watch>,
}

/// One item of the timer heap; the smallest `due` comes out first.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Instant,
    monitor: MonitorId,
    generation: u64,
}

/// After a monitor that was not checked on time, checks are spread over at most this long, so a
/// restart after downtime does not check everything at once.
const CATCH_UP_SPREAD: Duration = Duration::from_secs(300);

/// The longest a heartbeat's timer runs before its deadline is compared with the wall clock.
const WALL_CLOCK_RECHECK: Duration = Duration::from_secs(60);

pub struct Scheduler {
    entries: HashMap<MonitorId, Entry>,
    heap: BinaryHeap<Reverse<Due>>,
    /// The monitors with a check under way, by the task making it: a check that panics still
    /// frees its monitor for the next slot.
    in_flight: HashMap<tokio::task::Id, MonitorId>,
    /// Monitors with a check under way; a check that falls due meanwhile is skipped.
    busy: HashSet<MonitorId>,
    rx: mpsc::UnboundedReceiver<Command>,
    prober: Prober,
    recorder: RecorderHandle,
    metrics: Arc<Metrics>,
    /// Fixes the relation between the monotonic clock we sleep on and the wall clock slots are on.
    epoch: (Instant, Timestamp),
    next_generation: u64,
}

impl Scheduler {
    pub fn new(
        prober: Prober,
        recorder: RecorderHandle,
        metrics: Arc<Metrics>,
    ) -> (Self, SchedulerHandle) {
        let (tx, rx) = mpsc::unbounded_channel();
        let scheduler = Scheduler {
            entries: HashMap::new(),
            heap: BinaryHeap::new(),
            in_flight: HashMap::new(),
            busy: HashSet::new(),
            rx,
            prober,
            recorder,
            metrics,
            epoch: (Instant::now(), Timestamp::now()),
            next_generation: 0,
        };
        (scheduler, SchedulerHandle { tx })
    }

    /// Schedules the monitors that exist at start-up, with the time of each one's last check.
    /// One checked within its interval resumes on its next slot; one that missed a slot (the
    /// service was down) is checked soon, spread over at most [`CATCH_UP_SPREAD`].
    /// A heartbeat resumes its deadline from its stored runs instead.
    pub fn load(&mut self, jobs: impl IntoIterator<Item = (Job, Option<Timestamp>, RunTimes)>) {
        let now = Instant::now();
        let now_wall = Timestamp::now();
        for (job, last_check, runs) in jobs {
            if let Some(expectation) = job.spec.expectation() {
                let watch = Watch::restored(expectation, runs, now_wall, last_check);
                self.insert_watched(Arc::new(job), watch);
                continue;
            }
            let interval = job.spec.interval.duration();
            let missed = last_check.is_none_or(|last| now_wall.since(last) > interval);
            let at = if missed {
                let spread = interval.min(CATCH_UP_SPREAD);
                slot_after(self.epoch, job.monitor, spread, now)
            } else {
                self.next_slot(&job, now)
            };
            self.insert(Arc::new(job), at, None);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Runs until `shutdown` fires, then gives checks in flight up to `grace` to finish and
    /// abandons the rest. Checks run on the runtime this runs on; when that is one busy thread,
    /// some go to `shared` instead.
    pub async fn run(mut self, shutdown: CancellationToken, grace: Duration, shared: Handle) {
        let mut checks = JoinSet::new();
        let mut spill = Spill::new(shared);
        loop {
            let next = self
                .heap
                .peek()
                .map(|Reverse(d)| tick_end(self.epoch.0, d.at));
            tokio::select! {
                biased;
                () = shutdown.cancelled() => break,
                cmd = self.rx.recv() => match cmd {
                    Some(cmd) => self.apply(cmd),
                    None => break,
                },
                () = sleep_until(next) => self.fire_due(&mut checks, &mut spill),
                Some(done) = checks.join_next_with_id(), if !checks.is_empty() => {
                    let task = match done {
                        Ok((task, ())) => task,
                        Err(e) => {
                            tracing::error!(error = %e, "a check failed to finish");
                            e.id()
                        }
                    };
                    if let Some(monitor) = self.in_flight.remove(&task) {
                        self.busy.remove(&monitor);
                    }
                }
            }
        }
        let in_flight = checks.len();
        if in_flight > 0 {
            tracing::info!(in_flight, "waiting for checks in flight");
            let drained =
                tokio::time::timeout(grace, async { while checks.join_next().await.is_some() {} })
                    .await;
            if drained.is_err() {
                tracing::warn!(
                    abandoned = checks.len(),
                    "abandoning checks still in flight"
                );
                checks.shutdown().await;
            }
        }
    }

    fn apply(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Remove(id, done) => {
                // Its heap items stay behind and are skipped when they come up.
                self.entries.remove(&id);
                let _ = done.send(());
            }
            Command::Ping { monitor, kind, at } => {
                let Some(entry) = self.entries.get_mut(&monitor) else {
                    return;
                };
                let Some(mut watch) = entry.watch.take() else {
                    return;
                };
                watch.ping(kind, at);
                let job = Arc::clone(&entry.job);
                self.insert_watched(job, watch);
            }
            Command::Upsert { job, check_now } => {
                if let Some(expectation) = job.spec.expectation() {
                    let known = self.entries.get_mut(&job.monitor);
                    let watch = match known.and_then(|e| e.watch.take()) {
                        // New settings, the same runs.
                        Some(mut watch) if !check_now => {
                            watch.expectation = expectation;
                            watch
                        }
                        _ if !check_now && !self.entries.contains_key(&job.monitor) => return,
                        // Created, resumed, or just turned into a heartbeat: runs count from now.
                        _ => Watch::new(expectation, Timestamp::now()),
                    };
                    self.insert_watched(job, watch);
                    return;
                }
                let last_started = match self.entries.get_mut(&job.monitor) {
                    // Same interval: the settings apply from the check already due.
                    Some(e)
                        if !check_now
                            && e.watch.is_none()
                            && e.job.spec.interval == job.spec.interval =>
                    {
                        e.job = job;
                        return;
                    }
                    Some(e) => {
                        // No longer a heartbeat: its deadline goes.
                        e.watch = None;
                        e.last_started
                    }
                    None if !check_now => {
                        tracing::debug!(monitor = %job.monitor, "settings of a monitor not being checked");
                        return;
                    }
                    None => None,
                };
                let at = if check_now {
                    now
                } else {
                    // A new interval starts from the last check, on the new slots.
                    let earliest = last_started.map_or(now, |last| {
                        (last + settle(job.spec.interval.duration())).max(now)
                    });
                    self.next_slot(&job, earliest)
                };
                self.insert(job, at, last_started);
            }
        }
    }

    /// A heartbeat, due at its deadline.
    fn insert_watched(&mut self, job: Arc<Job>, watch: Watch) {
        let at = instant_of(watch.deadline());
        self.insert_entry(job, at, None, Some(watch));
    }

    fn insert(&mut self, job: Arc<Job>, at: Instant, last_started: Option<Instant>) {
        self.insert_entry(job, at, last_started, None);
    }

    fn insert_entry(
        &mut self,
        job: Arc<Job>,
        at: Instant,
        last_started: Option<Instant>,
        watch: Option<Watch>,
    ) {
        self.next_generation += 1;
        let generation = self.next_generation;
        let monitor = job.monitor;
        self.entries.insert(
            monitor,
            Entry {
                job,
                generation,
                last_started,
                watch,
            },
        );
        self.heap.push(Reverse(Due {
            at,
            monitor,
            generation,
        }));
    }

    fn fire_due(&mut self, checks: &mut JoinSet<()>, spill: &mut Spill) {
        let now = Instant::now();
        spill.look(now);
        while let Some(Reverse(due)) = self.heap.peek() {
            if due.at > now {
                break;
            }
            let Some(Reverse(due)) = self.heap.pop() else {
                break;
            };
            let Some(entry) = self.entries.get_mut(&due.monitor) else {
                continue;
            };
            if entry.generation != due.generation {
                continue;
            }
            let job = Arc::clone(&entry.job);
            if let Some(watch) = entry.watch.as_mut() {
                let wall = Timestamp::now();
                // The timer ran on the monotonic clock: only the wall clock says it is late.
                if watch.deadline() <= wall {
                    let outcome = watch.late(wall);
                    self.recorder.submit(job.monitor, &job.spec, outcome);
                }
                let at = instant_of(watch.deadline());
                self.heap.push(Reverse(Due {
                    at,
                    monitor: due.monitor,
                    generation: due.generation,
                }));
                continue;
            }
            // The next slot at least a moment after now, even when this check ran off its slot
            // (a new monitor's first); a check later than that skips a slot.
            let next = slot_after(
                self.epoch,
                job.monitor,
                job.spec.interval.duration(),
                now + settle(job.spec.interval.duration()),
            );
            self.heap.push(Reverse(Due {
                at: next,
                monitor: due.monitor,
                generation: due.generation,
            }));
            if !self.busy.insert(job.monitor) {
                tracing::debug!(monitor = %job.monitor, "previous check still running; slot skipped");
                continue;
            }
            entry.last_started = Some(now);
            let lag = Instant::now().saturating_duration_since(due.at);
            self.metrics.started_late_by(lag);
            if lag > Duration::from_secs(1) {
                tracing::debug!(monitor = %job.monitor, ?lag, "check started late");
            }
            let prober = self.prober.clone();
            let recorder = self.recorder.clone();
            let monitor = job.monitor;
            let check = async move {
                match prober.check(&job.spec).await {
                    Ok(outcome) => recorder.submit(job.monitor, &job.spec, outcome),
                    // Our own resources ran out: that says nothing about the target.
                    Err(local) => {
                        tracing::warn!(monitor = %job.monitor, error = %local, "check could not be made")
                    }
                }
            };
            let task = match spill.next() {
                Some(shared) => {
                    self.metrics.spilled();
                    checks.spawn_on(check, shared)
                }
                None => checks.spawn(check),
            };
            self.in_flight.insert(task.id(), monitor);
        }
    }

    fn next_slot(&self, job: &Job, after: Instant) -> Instant {
        slot_after(self.epoch, job.monitor, job.spec.interval.duration(), after)
    }
}

/// When to look at a heartbeat's wall-clock deadline `at` again: then, or sooner when it is
/// far off, so that a step of the wall clock or a suspended machine delays a late outcome by
/// [`WALL_CLOCK_RECHECK`] at most. One in the past is now.
fn instant_of(at: Timestamp) -> Instant {
    let ahead = at.as_millis().saturating_sub(Timestamp::now().as_millis());
    let ahead = Duration::from_millis(u64::try_from(ahead).unwrap_or(0));
    Instant::now() + ahead.min(WALL_CLOCK_RECHECK)
}

/// How long after a check the next one may come at the earliest: half the interval, at most
/// ten seconds, so no two checks come in quick succession and no gap is much over an interval.
fn settle(interval: Duration) -> Duration {
    (interval / 2).min(Duration::from_secs(10))
}

/// A monitor's first slot strictly after `after`. `epoch` ties the monotonic clock to the wall
/// clock the slots are fixed on.
fn slot_after(
    epoch: (Instant, Timestamp),
    monitor: MonitorId,
    interval: Duration,
    after: Instant,
) -> Instant {
    let interval = duration_millis(interval).max(1);
    let phase = phase_of(monitor, interval);
    let (epoch_instant, epoch_wall) = epoch;
    let after_wall =
        epoch_wall.as_millis() + duration_millis(after.saturating_duration_since(epoch_instant));
    let k = (after_wall - phase).div_euclid(interval) + 1;
    let slot_wall = phase + k * interval;
    epoch_instant
        + Duration::from_millis(u64::try_from(slot_wall - epoch_wall.as_millis()).unwrap_or(0))
}

/// Checks due within the same tick start together at its end: the runtime wakes a few times a
/// tick instead of several times for every check, and no check starts more than this late for
/// it.
const TICK: Duration = Duration::from_millis(10);

/// The end of the tick that `at` falls in, ticks counted from `epoch`.
fn tick_end(epoch: Instant, at: Instant) -> Instant {
    let tick = TICK.as_nanos();
    let since = at.saturating_duration_since(epoch).as_nanos();
    let end = u64::try_from(since.div_ceil(tick) * tick).unwrap_or(u64::MAX);
    epoch + Duration::from_nanos(end)
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A monitor's offset within its interval: a mix of its id, so neighbouring ids land far apart.
fn phase_of(monitor: MonitorId, interval_ms: i64) -> i64 {
    // splitmix64's finaliser: cheap, and spreads consecutive ids uniformly.
    let mut z = (monitor.0 as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % interval_ms as u64) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_of_consecutive_ids_spread_over_the_interval() {
        let interval = 60_000;
        let mut buckets = [0u32; 10];
        for id in 1..=10_000 {
            let p = phase_of(MonitorId(id), interval);
            assert!((0..interval).contains(&p));
            buckets[(p * 10 / interval) as usize] += 1;
        }
        // Uniform would be 1,000 a bucket; lockstep would put all 10,000 in one.
        assert!(
            buckets.iter().all(|&n| (800..1200).contains(&n)),
            "{buckets:?}"
        );
    }

    #[test]
    fn checks_start_at_the_end_of_their_tick_and_never_early() {
        let epoch = Instant::now();
        let ms = |n| epoch + Duration::from_millis(n);
        assert_eq!(tick_end(epoch, ms(0)), ms(0));
        assert_eq!(tick_end(epoch, ms(1)), ms(10));
        assert_eq!(tick_end(epoch, ms(10)), ms(10));
        assert_eq!(tick_end(epoch, ms(10) + Duration::from_nanos(1)), ms(20));
        // Years on, still a tick's end at or after the slot.
        let later = ms(86_400_000 * 3_650 + 3);
        assert_eq!(tick_end(epoch, later), ms(86_400_000 * 3_650 + 10));
    }

    #[test]
    fn the_gap_after_an_off_slot_check_stays_close_to_the_interval() {
        assert_eq!(settle(Duration::from_secs(1)), Duration::from_millis(500));
        assert_eq!(settle(Duration::from_secs(86_400)), Duration::from_secs(10));
    }

    #[test]
    fn monitors_made_together_get_slots_spread_over_their_interval() {
        let now = Instant::now();
        let epoch = (now, Timestamp::now());
        let interval = Duration::from_secs(10);
        let mut offsets: Vec<Duration> = (1..=100)
            .map(|id| slot_after(epoch, MonitorId(id), interval, now) - now)
            .collect();
        offsets.sort();
        assert!(
            offsets.iter().all(|o| !o.is_zero() && *o <= interval),
            "{offsets:?}"
        );
        let widest_gap = offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap();
        assert!(widest_gap < Duration::from_secs(1), "{widest_gap:?}");
        assert!(offsets[99] - offsets[0] > Duration::from_secs(9));
    }

    #[test]
    fn slots_repeat_every_interval_and_survive_a_restart() {
        let interval = Duration::from_secs(60);
        let monitor = MonitorId(42);
        let now = Instant::now();
        let wall = Timestamp::now();
        let first = slot_after((now, wall), monitor, interval, now);
        assert_eq!(
            slot_after((now, wall), monitor, interval, first),
            first + interval
        );
        // A process started 7.5 s later anchors its clocks anew and finds the same wall-clock slot.
        let shift = Duration::from_millis(7_500);
        let (later, later_wall) = (now + shift, wall.saturating_add(shift));
        let restarted = slot_after((later, later_wall), monitor, interval, later);
        let expected = if first > later {
            first
        } else {
            first + interval
        };
        let wall_of = |at: Instant, anchor: Instant, anchor_wall: Timestamp| {
            anchor_wall.as_millis() + i64::try_from((at - anchor).as_millis()).unwrap()
        };
        assert_eq!(
            wall_of(restarted, later, later_wall),
            wall_of(expected, now, wall)
        );
    }
}
