//! When a certificate's coming expiry is worth an alert: once for each threshold of days it
//! crosses, only the smallest when several are crossed at once, once more when it has expired,
//! and from the start again for a renewed certificate. Pure: no I/O, no clock; the caller
//! remembers what was alerted, in the same transaction as the alert it queues.

use crate::monitor::CertAlertDays;
use crate::timestamp::{DAY_MS, Timestamp};

/// What a monitor was last alerted of: the certificate (known by when it expires) and the
/// threshold crossed, fewer than `days` days left; 0 when it had expired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertAlerted {
    pub expires_at: Timestamp,
    pub days: u16,
}

impl CertAlerted {
    /// Whether the alert says the certificate has expired rather than that it soon will.
    pub fn expired(&self) -> bool {
        self.days == 0
    }
}

/// Whole days from `at` until `expires_at`, rounded down (as the `cert_days` condition counts
/// them); negative once expired.
pub fn days_left(expires_at: Timestamp, at: Timestamp) -> i64 {
    expires_at
        .as_millis()
        .saturating_sub(at.as_millis())
        .div_euclid(DAY_MS)
}

/// The alert a check made at `at` calls for, having seen a certificate that expires at
/// `expires_at`, when `last` is what was alerted before: `Some` is both the alert to queue and
/// what to remember from now on.
///
/// A threshold of N days is crossed once fewer than N days are left. An expired certificate
/// has crossed 0, which every list but the empty one (no alerts at all) has implicitly: its
/// owner hears once that it has expired. Each crossing counts once per certificate: nothing is
/// said while the smallest threshold crossed is no smaller than the last one alerted. A
/// certificate that expires later than the one alerted is a renewal and starts afresh; one
/// that expires earlier (another certificate served meanwhile) is judged against what was
/// already said, so it alerts only where it is more urgent.
pub fn alert_due(
    last: Option<CertAlerted>,
    expires_at: Timestamp,
    at: Timestamp,
    thresholds: &CertAlertDays,
) -> Option<CertAlerted> {
    if thresholds.is_empty() {
        return None;
    }
    let left = expires_at.as_millis().saturating_sub(at.as_millis());
    let crossed = thresholds
        .days()
        .iter()
        .copied()
        .chain([0])
        .filter(|&n| left < i64::from(n) * DAY_MS)
        .min()?;
    let said = last
        .filter(|l| expires_at <= l.expires_at)
        .is_some_and(|l| l.days <= crossed);
    (!said).then_some(CertAlerted {
        expires_at,
        days: crossed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn days(list: &[u16]) -> CertAlertDays {
        CertAlertDays::parse("cert_alert_days", json!(list).as_array()).unwrap()
    }

    fn at_day(d: f64) -> Timestamp {
        Timestamp::from_millis((d * DAY_MS as f64) as i64)
    }

    /// Checks every `step` days from `from` to `to` of a certificate expiring on day
    /// `expires`, starting from `last`; the thresholds alerted, in order, and what is remembered.
    fn run(
        last: Option<CertAlerted>,
        expires: f64,
        (from, to, step): (f64, f64, f64),
        thresholds: &CertAlertDays,
    ) -> (Vec<u16>, Option<CertAlerted>) {
        let mut state = last;
        let mut alerted = Vec::new();
        let mut day = from;
        while day <= to {
            if let Some(a) = alert_due(state, at_day(expires), at_day(day), thresholds) {
                alerted.push(a.days);
                state = Some(a);
            }
            day += step;
        }
        (alerted, state)
    }

    #[test]
    fn each_threshold_is_alerted_once_as_the_days_go_by_then_the_expiry() {
        // Checked every hour for 100 days, the certificate expiring on day 60.
        let (alerted, last) = run(
            None,
            60.0,
            (0.0, 100.0, 1.0 / 24.0),
            &CertAlertDays::default(),
        );
        assert_eq!(alerted, [30, 14, 7, 1, 0]);
        assert_eq!(
            last,
            Some(CertAlerted {
                expires_at: at_day(60.0),
                days: 0
            })
        );
    }

    #[test]
    fn a_threshold_is_crossed_only_once_fewer_than_its_days_are_left() {
        let t = CertAlertDays::default();
        let expires = at_day(30.0);
        assert_eq!(alert_due(None, expires, at_day(0.0), &t), None);
        let a = alert_due(None, expires, at_day(0.001), &t).unwrap();
        assert_eq!((a.days, days_left(expires, at_day(0.001))), (30, 29));
    }

    #[test]
    fn thresholds_crossed_at_once_send_one_alert_for_the_smallest() {
        let t = CertAlertDays::default();
        let first = alert_due(None, at_day(15.0), at_day(10.0), &t).unwrap();
        assert_eq!(first.days, 7, "5 days left: one alert, for 7 days");
        assert_eq!(days_left(at_day(15.0), at_day(10.0)), 5);
        // The next checks say nothing until the next threshold.
        let (alerted, _) = run(Some(first), 15.0, (10.0, 13.9, 0.1), &t);
        assert_eq!(alerted, [] as [u16; 0]);
        let (alerted, _) = run(Some(first), 15.0, (10.0, 14.5, 0.1), &t);
        assert_eq!(alerted, [1]);
    }

    #[test]
    fn a_renewed_certificate_starts_afresh() {
        let t = CertAlertDays::default();
        let (alerted, last) = run(None, 60.0, (55.0, 55.0, 1.0), &t);
        assert_eq!(alerted, [7]);
        // Renewed for 90 days on day 56: nothing until it in turn gets close.
        let (alerted, last) = run(last, 146.0, (56.0, 146.0, 0.5), &t);
        assert_eq!(alerted, [30, 14, 7, 1]);
        assert_eq!(last.unwrap().expires_at, at_day(146.0));
    }

    #[test]
    fn an_expired_certificate_is_announced_once_even_without_a_zero_threshold() {
        let t = days(&[30]);
        let (alerted, last) = run(None, 10.0, (12.0, 40.0, 1.0), &t);
        assert_eq!(
            alerted,
            [0],
            "first seen expired: one alert that it has expired"
        );
        assert!(last.unwrap().expired());
        assert_eq!(days_left(at_day(10.0), at_day(12.5)), -3);
        // A zero in the list means the same thing, once.
        let (alerted, _) = run(None, 10.0, (5.0, 40.0, 1.0), &days(&[7, 0]));
        assert_eq!(alerted, [7, 0]);
    }

    #[test]
    fn an_empty_list_never_alerts() {
        let (alerted, last) = run(None, 10.0, (0.0, 20.0, 0.5), &CertAlertDays::NONE);
        assert_eq!((alerted, last), (vec![], None));
    }

    #[test]
    fn changed_thresholds_alert_only_where_more_urgent_than_what_was_said() {
        let alerted_14 = alert_due(None, at_day(20.0), at_day(10.0), &CertAlertDays::default());
        assert_eq!(alerted_14.map(|a| a.days), Some(14));
        // Now 20 and 10: at 12 days left, 20 is crossed but 14 was already said.
        let t = days(&[20, 10]);
        assert_eq!(alert_due(alerted_14, at_day(20.0), at_day(8.0), &t), None);
        let (alerted, _) = run(alerted_14, 20.0, (8.0, 19.0, 0.5), &t);
        assert_eq!(alerted, [10]);
        // A larger threshold added later says nothing new.
        assert_eq!(
            alert_due(alerted_14, at_day(20.0), at_day(11.0), &days(&[60, 14])),
            None
        );
        // Turned off, nothing; turned on again, it goes on from what was said.
        assert_eq!(
            alert_due(alerted_14, at_day(20.0), at_day(19.5), &CertAlertDays::NONE),
            None
        );
    }

    #[test]
    fn a_certificate_expiring_earlier_alerts_only_where_more_urgent() {
        let t = CertAlertDays::default();
        let last = alert_due(None, at_day(20.0), at_day(10.0), &t);
        assert_eq!(last.map(|a| a.days), Some(14));
        // Another certificate, expiring sooner but still within 14 days: already said.
        assert_eq!(alert_due(last, at_day(18.0), at_day(10.0), &t), None);
        // One within 7 days is news.
        let sooner = alert_due(last, at_day(15.0), at_day(10.0), &t).unwrap();
        assert_eq!((sooner.days, sooner.expires_at), (7, at_day(15.0)));
    }
}
