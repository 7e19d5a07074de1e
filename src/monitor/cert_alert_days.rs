//! When to warn before a certificate expires: the `cert_alert_days` setting of the kinds whose
//! checks see certificates, parsed once here into a short list of whole days, largest first.
//! What to do with it is the verdict's ([`crate::verdict::certificate`]).

use crate::fields::FieldError;
use serde_json::Value;

/// Whole days before a certificate expires at which its owner is alerted, distinct and largest
/// first; empty for no certificate alerts. Small and `Copy`: it travels with every check result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CertAlertDays {
    days: [u16; Self::MAX_COUNT],
    len: u8,
}

impl CertAlertDays {
    /// Different days at most.
    pub const MAX_COUNT: usize = 10;
    /// The most days ahead an alert can be: a year.
    pub const MAX_DAYS: u16 = 365;
    /// No certificate alerts.
    pub const NONE: CertAlertDays = CertAlertDays {
        days: [0; Self::MAX_COUNT],
        len: 0,
    };
    const DEFAULT: [u16; 4] = [30, 14, 7, 1];

    /// Reads the list in `field`: `None` (absent or `null`) is the default, `[]` turns the
    /// alerts off. Repeats count once; the order given does not matter.
    pub fn parse(field: &str, items: Option<&Vec<Value>>) -> Result<Self, FieldError> {
        let Some(items) = items else {
            return Ok(Self::default());
        };
        let mut days = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let day = item
                .as_u64()
                .and_then(|d| u16::try_from(d).ok())
                .filter(|&d| d <= Self::MAX_DAYS)
                .ok_or_else(|| {
                    FieldError::new(
                        format!("{field}[{i}]"),
                        format!(
                            "must be a whole number of days from 0 to {}",
                            Self::MAX_DAYS
                        ),
                    )
                })?;
            days.push(day);
        }
        days.sort_unstable_by(|a, b| b.cmp(a));
        days.dedup();
        if days.len() > Self::MAX_COUNT {
            return Err(FieldError::new(
                field,
                format!("must hold at most {} different days", Self::MAX_COUNT),
            ));
        }
        Ok(Self::of(&days))
    }

    /// `days` must be distinct, largest first, and at most [`Self::MAX_COUNT`].
    const fn of(days: &[u16]) -> Self {
        let mut out = Self::NONE;
        let mut i = 0;
        while i < days.len() {
            out.days[i] = days[i];
            i += 1;
        }
        out.len = days.len() as u8;
        out
    }

    /// The days, largest first.
    pub fn days(&self) -> &[u16] {
        &self.days[..usize::from(self.len)]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The canonical form: a JSON array of the days, largest first.
    pub fn to_json(&self) -> Value {
        self.days().iter().copied().map(Value::from).collect()
    }
}

impl Default for CertAlertDays {
    /// 30, 14, 7 and 1 days before.
    fn default() -> Self {
        Self::of(&Self::DEFAULT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<CertAlertDays, FieldError> {
        CertAlertDays::parse("cert_alert_days", v.as_array())
    }

    #[test]
    fn days_are_kept_distinct_and_largest_first_with_a_default_and_an_off() {
        assert_eq!(parse(json!([1, 30, 7, 30])).unwrap().days(), [30, 7, 1]);
        assert_eq!(
            CertAlertDays::parse("cert_alert_days", None)
                .unwrap()
                .days(),
            [30, 14, 7, 1]
        );
        let off = parse(json!([])).unwrap();
        assert!(off.is_empty());
        assert_eq!(off, CertAlertDays::NONE);
        assert_eq!(parse(json!([0, 365])).unwrap().to_json(), json!([365, 0]));
    }

    #[test]
    fn a_wrong_day_is_named_by_its_place_and_too_many_by_the_list() {
        for (v, field) in [
            (json!([30, 14, 366]), "cert_alert_days[2]"),
            (json!([-1]), "cert_alert_days[0]"),
            (json!([7, 1.5]), "cert_alert_days[1]"),
            (json!(["7"]), "cert_alert_days[0]"),
            (json!((0..11).collect::<Vec<_>>()), "cert_alert_days"),
        ] {
            assert_eq!(parse(v.clone()).unwrap_err().field, field, "{v}");
        }
        // Ten different days, however often each is named, are fine.
        let mut ten: Vec<_> = (1..=10).collect();
        ten.extend(1..=10);
        assert_eq!(parse(json!(ten)).unwrap().days().len(), 10);
    }
}
