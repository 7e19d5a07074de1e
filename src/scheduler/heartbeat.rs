//! What a heartbeat monitor's pings and silences mean: what the scheduler remembers of each
//! one's runs, the deadline that follows from them, and the outcome of a run that ended. Pure:
//! instants come from the caller, so tests drive time; the arithmetic of schedules is
//! [`Expectation`]'s, and recording outcomes the recorder's.

use crate::monitor::Expectation;
use crate::probe::{CheckError, ErrorKind, Outcome, Phases};
use crate::store::{Ping, PingKind, RunTimes};
use crate::timestamp::Timestamp;

/// What is known of a heartbeat's runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    pub expectation: Expectation,
    /// Creation or resumption: runs due before it do not count.
    counted_from: Timestamp,
    /// The last success or reported failure: either way the run happened.
    ended: Option<Timestamp>,
    /// A start not followed by an end yet.
    started: Option<Timestamp>,
    /// The deadline that passed last, while no run has ended since: the next follows from it.
    missed: Option<Timestamp>,
}

impl Watch {
    /// A heartbeat counting runs from `counted_from`.
    pub fn new(expectation: Expectation, counted_from: Timestamp) -> Self {
        Watch {
            expectation,
            counted_from,
            ended: None,
            started: None,
            missed: None,
        }
    }

    /// As stored before a restart. Deadlines that passed before `last_check` were judged then
    /// (a late outcome was recorded for each): they are not judged again.
    pub fn restored(
        expectation: Expectation,
        runs: RunTimes,
        fallback_from: Timestamp,
        last_check: Option<Timestamp>,
    ) -> Self {
        let counted_from = runs.counted_from.unwrap_or(fallback_from);
        let mut watch = Watch {
            expectation,
            counted_from,
            ended: runs.ended.filter(|e| *e >= counted_from),
            started: runs
                .started
                .filter(|s| *s >= counted_from && runs.ended.is_none_or(|e| *s > e)),
            missed: None,
        };
        if let Some(last) = last_check {
            while watch.deadline() <= last {
                watch.passed(last);
            }
        }
        watch
    }

    /// When the heartbeat is late if nothing arrives: from the last end (or the counting start),
    /// or from the deadline that passed; earlier still when a started run must end first.
    pub fn deadline(&self) -> Timestamp {
        let due = match self.missed {
            Some(missed) => self.expectation.next_deadline_after_late(missed),
            None => self.expectation.deadline(self.ended, self.counted_from),
        };
        match self.started {
            Some(s) => due.min(self.expectation.started_deadline(s)),
            None => due,
        }
    }

    /// A ping arrived.
    pub fn ping(&mut self, kind: PingKind, at: Timestamp) {
        match kind {
            PingKind::Start => self.started = Some(at),
            PingKind::Success | PingKind::Fail => {
                self.ended = Some(at);
                self.started = None;
                self.missed = None;
            }
        }
    }

    /// The deadline passed at `now` with no word: returns the outcome to record, and moves on to
    /// the next deadline after `now`, so that a stretch missed while upbeat was down counts once.
    pub fn late(&mut self, now: Timestamp) -> Outcome {
        let due = self.deadline();
        let message = match self.started {
            Some(s) if self.expectation.started_deadline(s) == due => format!(
                "the run started at {} has not finished; expected by {}",
                s.to_readable(),
                after(s, due)
            ),
            _ => {
                let since = self.ended.unwrap_or(self.counted_from);
                format!(
                    "no ping since {}; expected by {}",
                    since.to_readable(),
                    after(since, due)
                )
            }
        };
        self.passed(now);
        Outcome {
            at: now,
            status_code: None,
            latency_ms: 0,
            error: Some(CheckError::new(ErrorKind::Late, message)),
            phases: Phases::default(),
            cert_expires_at: None,
        }
    }

    /// Moves past the deadlines up to `now`.
    fn passed(&mut self, now: Timestamp) {
        let mut due = self.deadline();
        self.started = None;
        loop {
            self.missed = Some(due);
            due = self.deadline();
            if due > now {
                break;
            }
        }
    }
}

/// What an end of a run means for the monitor; a start means nothing yet. The latency of a run
/// that was seen starting is its duration.
pub fn outcome(ping: &Ping, before: RunTimes) -> Option<Outcome> {
    let error = match ping.kind {
        PingKind::Start => return None,
        PingKind::Success => None,
        PingKind::Fail => Some(CheckError::new(
            ErrorKind::Reported,
            match ping.exit_code {
                Some(code) => format!("the job reported failure (exit code {code})"),
                None => "the job reported failure".to_owned(),
            },
        )),
    };
    let started = before
        .started
        .filter(|s| before.ended.is_none_or(|e| *s > e) && *s <= ping.at);
    let latency_ms = started.map_or(0, |s| {
        u32::try_from(ping.at.since(s).as_millis()).unwrap_or(u32::MAX)
    });
    Some(Outcome {
        at: ping.at,
        status_code: None,
        latency_ms,
        error,
        phases: Phases::default(),
        cert_expires_at: None,
    })
}

/// `later` as people read it after `earlier`: the time alone on the same day.
fn after(earlier: Timestamp, later: Timestamp) -> String {
    let (e, l) = (earlier.to_readable(), later.to_readable());
    match (e.split_once(' '), l.split_once(' ')) {
        (Some((day, _)), Some((same, time))) if day == same => {
            time.trim_end_matches(" UTC").to_owned()
        }
        _ => l,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{Cron, Grace, Interval, Schedule, TimeZoneName};
    use std::time::Duration;

    const S: i64 = 1000;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + s * S)
    }

    fn period(period: u64, grace: u64) -> Expectation {
        Expectation {
            schedule: Schedule::Period(Interval::from_secs("interval", period).unwrap()),
            grace: Grace::from_secs("grace", grace).unwrap(),
        }
    }

    #[test]
    fn a_ping_moves_the_deadline_and_a_miss_moves_it_by_a_period() {
        let mut w = Watch::new(period(60, 10), t(0));
        assert_eq!(w.deadline(), t(70));
        w.ping(PingKind::Success, t(50));
        assert_eq!(w.deadline(), t(120));
        let late = w.late(t(120)).error.unwrap();
        assert_eq!(late.kind, ErrorKind::Late);
        assert_eq!(
            late.message,
            format!(
                "no ping since {}; expected by {}",
                t(50).to_readable(),
                &t(120).to_readable()[11..19]
            )
        );
        assert_eq!(w.deadline(), t(180));
        w.ping(PingKind::Fail, t(130));
        assert_eq!(w.deadline(), t(200));
    }

    #[test]
    fn a_started_run_must_end_within_the_grace() {
        let mut w = Watch::new(period(3600, 10), t(0));
        w.ping(PingKind::Start, t(100));
        assert_eq!(w.deadline(), t(110));
        let late = w.late(t(110));
        assert!(late.error.unwrap().message.contains("has not finished"));
        // The start was judged: the next run is due a period after the missed deadline.
        assert_eq!(w.deadline(), t(3710));
    }

    #[test]
    fn deadlines_missed_while_down_count_once_and_judged_ones_not_again() {
        let mut w = Watch::new(period(60, 10), t(0));
        w.late(t(1000));
        assert_eq!(w.deadline(), t(1030));
        let runs = RunTimes {
            counted_from: Some(t(0)),
            ended: Some(t(50)),
            started: None,
        };
        // Due at 120 and judged at 121: the next is a period on.
        let w = Watch::restored(period(60, 10), runs, t(0), Some(t(121)));
        assert_eq!(w.deadline(), t(180));
        // Never judged: still due at 120, late as soon as it is loaded.
        let w = Watch::restored(period(60, 10), runs, t(0), Some(t(50)));
        assert_eq!(w.deadline(), t(120));
    }

    #[test]
    fn a_cron_heartbeat_waits_for_the_next_run_across_midnight_in_its_zone() {
        let zone = TimeZoneName::parse("timezone", "Asia/Tokyo").unwrap();
        let e = Expectation {
            schedule: Schedule::Cron {
                cron: Cron::parse("cron", "30 23 * * *").unwrap(),
                zone,
            },
            grace: Grace::from_secs("grace", 3600).unwrap(),
        };
        // 2027-01-15 14:00 UTC is 23:00 in Tokyo: the run is due at 23:30 (14:30 UTC), and its
        // grace ends past midnight there, at 00:30 on the 16th (15:30 UTC).
        let created = Timestamp::parse_rfc3339("2027-01-15T14:00:00Z").unwrap();
        let mut w = Watch::new(e, created);
        let first = Timestamp::parse_rfc3339("2027-01-15T15:30:00Z").unwrap();
        assert_eq!(w.deadline(), first);
        w.late(first.saturating_add(Duration::from_secs(1)));
        let next = Timestamp::parse_rfc3339("2027-01-16T15:30:00Z").unwrap();
        assert_eq!(w.deadline(), next);
        w.ping(
            PingKind::Success,
            Timestamp::parse_rfc3339("2027-01-16T14:40:00Z").unwrap(),
        );
        let after = Timestamp::parse_rfc3339("2027-01-17T15:30:00Z").unwrap();
        assert_eq!(w.deadline(), after);
    }
}
