//! Turns a monitor's stream of check outcomes into status changes: `pending` until the first
//! result, `down` only after `failure_threshold` consecutive failures, `up` again only after
//! `success_threshold` consecutive successes. Pure: no I/O, no clock; the caller persists the state.
//! Certificates about to expire are judged beside it, in [`certificate`].

pub mod certificate;

use crate::monitor::{CertAlertDays, MonitorSpec};
use crate::probe::{CheckError, Outcome};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};

/// A monitor's status as judged from its checks. Being paused is not a verdict: it is a setting
/// of the monitor, shown in place of the verdict while it lasts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Pending,
    Up,
    Down,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Up => "up",
            Status::Down => "down",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Status::Pending, Status::Up, Status::Down]
            .into_iter()
            .find(|st| st.as_str() == s)
    }
}

/// How many consecutive results it takes to change status (zero is treated as one), and how
/// few days left on a certificate it takes to alert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub failure: u32,
    pub success: u32,
    pub cert_alert_days: CertAlertDays,
}

impl Thresholds {
    pub fn of(spec: &MonitorSpec) -> Self {
        Thresholds {
            failure: spec.failure_threshold.get(),
            success: spec.success_threshold.get(),
            cert_alert_days: spec.target.cert_alert_days(),
        }
    }
}

/// Everything the verdict remembers between checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerdictState {
    pub status: Status,
    /// When the current status began (for `pending`, when the monitor was created or reset).
    pub since: Option<Timestamp>,
    /// Consecutive checks that contradict `status` (failures while up, successes while down).
    pub streak: u32,
    /// When the first check of that streak started: where a new status really begins.
    pub streak_since: Option<Timestamp>,
    /// The error of the first failure in the streak: the cause of an outage, should it be confirmed.
    pub streak_cause: Option<CheckError>,
}

/// A confirmed change of status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: Status,
    pub to: Status,
    /// The check that confirmed the change.
    pub at: Timestamp,
    /// The first check of the streak that led to it: when the target really went down or came back.
    pub since: Timestamp,
    /// For a change to `down`, the first failure's error.
    pub cause: Option<CheckError>,
}

impl VerdictState {
    /// Folds one outcome into the state and returns the change of status it confirms, if any.
    pub fn observe(&mut self, outcome: &Outcome, thresholds: Thresholds) -> Option<Transition> {
        let agrees = match self.status {
            Status::Up => outcome.ok(),
            Status::Down => !outcome.ok(),
            // Nothing has been established yet, so nothing can be contradicted: every result counts.
            Status::Pending => false,
        };
        if agrees {
            self.clear_streak();
            return None;
        }
        if self.streak == 0 || self.streak_is_other_direction(outcome) {
            self.streak = 0;
            self.streak_since = Some(outcome.at);
            self.streak_cause = outcome.error.clone();
        }
        self.streak += 1;

        let (to, needed) = if outcome.ok() {
            // Leaving `pending` for `up` needs no confirmation: it raises no alarm.
            let needed = if self.status == Status::Pending {
                1
            } else {
                thresholds.success
            };
            (Status::Up, needed)
        } else {
            (Status::Down, thresholds.failure)
        };
        if self.streak < needed.max(1) {
            return None;
        }
        let since = self.streak_since.unwrap_or(outcome.at);
        let transition = Transition {
            from: self.status,
            to,
            at: outcome.at,
            since,
            cause: if to == Status::Down {
                self.streak_cause.clone()
            } else {
                None
            },
        };
        self.status = to;
        self.since = Some(since);
        self.clear_streak();
        Some(transition)
    }

    /// In `pending` a streak can be of either kind; a result of the other kind starts a new one.
    fn streak_is_other_direction(&self, outcome: &Outcome) -> bool {
        self.status == Status::Pending && self.streak_cause.is_some() == outcome.ok()
    }

    fn clear_streak(&mut self) {
        self.streak = 0;
        self.streak_since = None;
        self.streak_cause = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ErrorKind;

    const TWO_ONE: Thresholds = Thresholds {
        failure: 2,
        success: 1,
        cert_alert_days: CertAlertDays::NONE,
    };

    fn ok(at: i64) -> Outcome {
        Outcome {
            at: Timestamp::from_millis(at),
            status_code: Some(200),
            latency_ms: 5,
            error: None,
            phases: Default::default(),
            cert_expires_at: None,
        }
    }

    fn fail(at: i64) -> Outcome {
        Outcome {
            at: Timestamp::from_millis(at),
            status_code: Some(503),
            latency_ms: 5,
            error: Some(CheckError::new(ErrorKind::Status, format!("503 at {at}"))),
            phases: Default::default(),
            cert_expires_at: None,
        }
    }

    fn run(state: &mut VerdictState, t: Thresholds, outcomes: &[Outcome]) -> Vec<Transition> {
        outcomes
            .iter()
            .filter_map(|o| state.observe(o, t))
            .collect()
    }

    #[test]
    fn first_success_moves_pending_to_up() {
        let mut s = VerdictState::default();
        let changes = run(&mut s, TWO_ONE, &[ok(1)]);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].from, changes[0].to),
            (Status::Pending, Status::Up)
        );
        assert_eq!(s.since, Some(Timestamp::from_millis(1)));
    }

    #[test]
    fn a_single_failure_does_not_turn_a_monitor_down() {
        let mut s = VerdictState::default();
        let changes = run(&mut s, TWO_ONE, &[ok(1), fail(2), ok(3), fail(4), ok(5)]);
        assert_eq!(changes.len(), 1, "only pending -> up: {changes:?}");
        assert_eq!(s.status, Status::Up);
    }

    #[test]
    fn down_after_threshold_failures_with_the_first_failure_as_cause_and_start() {
        let mut s = VerdictState::default();
        let changes = run(&mut s, TWO_ONE, &[ok(1), fail(2), fail(3), fail(4)]);
        assert_eq!(changes.len(), 2);
        let down = &changes[1];
        assert_eq!((down.from, down.to), (Status::Up, Status::Down));
        assert_eq!(down.at, Timestamp::from_millis(3));
        assert_eq!(down.since, Timestamp::from_millis(2));
        assert_eq!(down.cause.as_ref().unwrap().message, "503 at 2");
        assert_eq!(s.status, Status::Down);
    }

    #[test]
    fn pending_goes_down_without_ever_being_up() {
        let mut s = VerdictState::default();
        let changes = run(&mut s, TWO_ONE, &[fail(1), fail(2)]);
        assert_eq!(changes.len(), 1);
        assert_eq!(
            (changes[0].from, changes[0].to),
            (Status::Pending, Status::Down)
        );
        assert_eq!(changes[0].since, Timestamp::from_millis(1));
    }

    #[test]
    fn recovery_needs_success_threshold_successes_and_starts_at_the_first() {
        let t = Thresholds {
            failure: 1,
            success: 3,
            ..TWO_ONE
        };
        let mut s = VerdictState::default();
        let changes = run(
            &mut s,
            t,
            &[ok(1), fail(2), ok(3), ok(4), fail(5), ok(6), ok(7), ok(8)],
        );
        let kinds: Vec<_> = changes.iter().map(|c| (c.from, c.to)).collect();
        assert_eq!(
            kinds,
            vec![
                (Status::Pending, Status::Up),
                (Status::Up, Status::Down),
                (Status::Down, Status::Up)
            ]
        );
        let up = &changes[2];
        assert_eq!(up.at, Timestamp::from_millis(8));
        assert_eq!(up.since, Timestamp::from_millis(6));
        assert_eq!(up.cause, None);
    }

    #[test]
    fn flapping_under_the_thresholds_changes_nothing() {
        let t = Thresholds {
            failure: 3,
            success: 1,
            ..TWO_ONE
        };
        let mut s = VerdictState::default();
        let mut outcomes = vec![ok(0)];
        for i in 1..100 {
            outcomes.push(if i % 3 == 0 { ok(i) } else { fail(i) });
        }
        let changes = run(&mut s, t, &outcomes);
        assert_eq!(changes.len(), 1, "{changes:?}");
    }

    #[test]
    fn a_success_in_pending_resets_a_failure_streak() {
        let mut s = VerdictState::default();
        assert_eq!(s.observe(&fail(1), TWO_ONE), None);
        assert_eq!(s.streak, 1);
        let up = s.observe(&ok(2), TWO_ONE).unwrap();
        assert_eq!(up.since, Timestamp::from_millis(2));
        assert_eq!(s.streak, 0);
    }

    #[test]
    fn zero_thresholds_behave_as_one() {
        let t = Thresholds {
            failure: 0,
            success: 0,
            ..TWO_ONE
        };
        let mut s = VerdictState::default();
        assert_eq!(run(&mut s, t, &[ok(1), fail(2), ok(3)]).len(), 3);
    }
}
