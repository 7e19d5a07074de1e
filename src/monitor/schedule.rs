//! When a heartbeat monitor expects to hear from its job: a period, or a cron expression on a time
//! zone's wall clock, plus a grace time; and from the pings so far, the instant the monitor is
//! late. Pure arithmetic on instants the caller passes, so tests drive time: it never reads the
//! clock, and knows nothing of how pings arrive, monitors' states or alerts.

mod cron;

pub use cron::{Cron, TimeZoneName};

use super::{Interval, format_duration, parse_duration};
use crate::fields::FieldError;
use crate::timestamp::{Timestamp, duration_millis};
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// How late a job may report after it was due: for a late start and its running time. Whole
/// seconds, from 1 s to a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Grace(Duration);

impl Grace {
    pub const MIN: Duration = Duration::from_secs(1);
    pub const MAX: Duration = Duration::from_secs(365 * 86_400);
    /// Room for a job that runs for minutes, and still word of a missed nightly job that night.
    pub const DEFAULT: Grace = Grace(Duration::from_secs(3600));

    pub fn parse(field: &str, v: &Value) -> Result<Self, FieldError> {
        let d = parse_duration(field, v)?;
        if d.subsec_nanos() != 0 || !(Self::MIN..=Self::MAX).contains(&d) {
            return Err(FieldError::new(
                field,
                "must be a whole number of seconds, from 1s to 365d",
            ));
        }
        Ok(Grace(d))
    }

    pub fn from_secs(field: &str, secs: u64) -> Result<Self, FieldError> {
        Self::parse(field, &Value::from(secs))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl fmt::Display for Grace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// When runs are due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// One run per period, timed from the last success: for jobs on their own timer or loop.
    Period(Interval),
    /// A run at each time the expression names on the zone's wall clock.
    Cron { cron: Cron, zone: TimeZoneName },
}

/// What a heartbeat monitor expects: runs on a schedule, each reporting success within the
/// grace time after it was due.
///
/// On a cron schedule (a period is simply timed from each success), a success counts for the last
/// run due before it: the job reports after it has started, and
/// the grace is the time it may take. A success a little early — the job's clock is a few seconds
/// fast, and it reports at 01:59:58 for its 02:00 run — counts for the coming run instead, when it
/// is at most [`EARLY_ALLOWANCE`] early (and no more than the grace) and nearer that run than the
/// previous one. The allowance is small on purpose: a job that ran long and reported late in the
/// interval is not mistaken for the next run, which would put off noticing that run is missing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub schedule: Schedule,
    pub grace: Grace,
}

/// How early a success may come and still count for the coming cron run: clock skew between the
/// job's machine and upbeat, which NTP keeps to well under a second and which Kerberos, for one,
/// tolerates up to five minutes.
pub const EARLY_ALLOWANCE: Duration = Duration::from_secs(5 * 60);

/// Later than every deadline: a schedule that has no next run is never late.
const NEVER: Timestamp = Timestamp::from_millis(i64::MAX);

impl Expectation {
    /// When the monitor is late if no success arrives, counted from the later of the last
    /// success and the monitor's creation or resumption (runs missed while paused do not count):
    /// - period: that instant + period + grace;
    /// - cron: the first run after it + grace, where a success counts for a run just ahead of it
    ///   as described on [`Expectation`]; from creation or resumption, the first run after it.
    pub fn deadline(
        &self,
        last_success: Option<Timestamp>,
        created_or_resumed: Timestamp,
    ) -> Timestamp {
        let success = last_success.filter(|s| *s >= created_or_resumed);
        match &self.schedule {
            Schedule::Period(period) => success
                .unwrap_or(created_or_resumed)
                .saturating_add(period.duration())
                .saturating_add(self.grace.0),
            Schedule::Cron { cron, zone } => {
                let counted = match success {
                    Some(at) => self.counted_through(cron, zone, at),
                    None => created_or_resumed,
                };
                self.after_grace(cron.next_after(counted, zone))
            }
        }
    }

    /// When the monitor is late after the job said it started and has reported neither success
    /// nor failure since: the run must end within the grace. The caller holds the monitor to the
    /// earlier of this and [`Expectation::deadline`], so that a start does not excuse a run that
    /// was already due.
    pub fn started_deadline(&self, started: Timestamp) -> Timestamp {
        started.saturating_add(self.grace.0)
    }

    /// Once late, when the next run counts as missed too: a period later, or for cron the run
    /// after the one that was missed, + grace. `previous_deadline` is the deadline that passed
    /// (from [`Expectation::deadline`] or from this function).
    pub fn next_deadline_after_late(&self, previous_deadline: Timestamp) -> Timestamp {
        match &self.schedule {
            Schedule::Period(period) => previous_deadline.saturating_add(period.duration()),
            Schedule::Cron { cron, zone } => {
                let missed_run = minus(previous_deadline, self.grace.0);
                self.after_grace(cron.next_after(missed_run, zone))
            }
        }
    }

    /// The instant after which the next run is expected, given a success at `at`: the coming
    /// run when the success counts for it, else `at` itself.
    fn counted_through(&self, cron: &Cron, zone: &TimeZoneName, at: Timestamp) -> Timestamp {
        let Some(coming) = cron.next_after(at, zone) else {
            return at;
        };
        let early_by = coming.since(at);
        if early_by > EARLY_ALLOWANCE.min(self.grace.0) {
            return at;
        }
        // Nearer the coming run than the previous one: no run lies as far back as the coming run
        // lies ahead (the first run from there on is the coming one). A tie goes to the previous.
        let as_far_back = minus(at, early_by + Duration::from_millis(1));
        if cron.next_after(as_far_back, zone) == Some(coming) {
            coming
        } else {
            at
        }
    }

    fn after_grace(&self, run: Option<Timestamp>) -> Timestamp {
        run.map_or(NEVER, |run| run.saturating_add(self.grace.0))
    }
}

fn minus(t: Timestamp, d: Duration) -> Timestamp {
    Timestamp::from_millis(t.as_millis().saturating_sub(duration_millis(d)))
}

#[cfg(test)]
mod tests;
