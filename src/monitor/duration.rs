//! How often a monitor is checked and how long one check may take, written as people write
//! durations (`30`, `"30s"`, `"5m"`, `"1h30m"`, `"500ms"`) and shown the same way.

use crate::fields::FieldError;
use serde_json::Value;
use std::fmt;
use std::time::Duration;

/// How often a monitor is checked: whole seconds from 1 s to 24 h.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Interval(Duration);

impl Interval {
    pub const MIN: Duration = Duration::from_secs(1);
    pub const MAX: Duration = Duration::from_secs(24 * 3600);
    pub const DEFAULT: Interval = Interval(Duration::from_secs(60));

    pub fn parse(field: &str, v: &Value) -> Result<Self, FieldError> {
        let d = parse_duration(field, v)?;
        if d.subsec_nanos() != 0 {
            return Err(FieldError::new(field, "must be a whole number of seconds"));
        }
        if !(Self::MIN..=Self::MAX).contains(&d) {
            return Err(FieldError::new(field, "must be between 1s and 24h"));
        }
        Ok(Interval(d))
    }

    pub fn from_secs(field: &str, secs: u64) -> Result<Self, FieldError> {
        Self::parse(field, &Value::from(secs))
    }

    pub fn duration(self) -> Duration {
        self.0
    }

    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// How often to remind the owner that a monitor is still down: whole seconds, at most a week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RemindEvery(Duration);

impl RemindEvery {
    pub const MAX: Duration = Duration::from_secs(7 * 86_400);

    pub fn parse(field: &str, v: &Value) -> Result<Self, FieldError> {
        let d = parse_duration(field, v)?;
        if d.subsec_nanos() != 0 || d > Self::MAX {
            return Err(FieldError::new(
                field,
                "must be a whole number of seconds, at most 7d",
            ));
        }
        Ok(RemindEvery(d))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl fmt::Display for RemindEvery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// How long one check may take: at least 1 ms, whole milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timeout(Duration);

impl Timeout {
    pub const DEFAULT: Duration = Duration::from_secs(10);
    /// A check that takes longer has failed in any practical sense; the cap also bounds how
    /// long a hanging target holds a connection.
    pub const MAX: Duration = Duration::from_secs(300);

    pub fn parse(field: &str, v: &Value) -> Result<Self, FieldError> {
        let d = parse_duration(field, v)?;
        if d.subsec_nanos() % 1_000_000 != 0 || d < Duration::from_millis(1) {
            return Err(FieldError::new(
                field,
                "must be a whole number of milliseconds, at least 1ms",
            ));
        }
        if d > Self::MAX {
            return Err(FieldError::new(field, "must be at most 5m"));
        }
        Ok(Timeout(d))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

impl fmt::Display for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// A duration written as a number of seconds (`90`, `0.5`), digits in a string (`"90"`), or
/// with units (`"1h30m"`, `"5m"`, `"500ms"`).
pub fn parse_duration(field: &str, v: &Value) -> Result<Duration, FieldError> {
    const HINT: &str =
        "must be a number of seconds or a duration such as \"30s\", \"5m\", \"1h30m\"";
    let parsed = match v {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0 && *s < 1e9)
            .map(Duration::from_secs_f64),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().ok().map(Duration::from_secs)
            } else {
                humantime::parse_duration(s).ok()
            }
        }
        _ => None,
    };
    match parsed {
        Some(d) if !d.is_zero() => Ok(d),
        Some(_) => Err(FieldError::new(field, "must be longer than zero")),
        None => Err(FieldError::new(field, HINT)),
    }
}

/// The compact form people write: `1h30m`, `45s`, `250ms`.
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    let millis = d.subsec_millis();
    if secs == 0 {
        return format!("{millis}ms");
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if secs > 0 || millis > 0 || out.is_empty() {
        out.push_str(&format!("{secs}s"));
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn intervals_accept_seconds_and_unit_strings() {
        let secs = |v: Value| Interval::parse("interval", &v).map(Interval::as_secs);
        assert_eq!(secs(json!(30)), Ok(30));
        assert_eq!(secs(json!("30")), Ok(30));
        assert_eq!(secs(json!("1s")), Ok(1));
        assert_eq!(secs(json!("5m")), Ok(300));
        assert_eq!(secs(json!("1h30m")), Ok(5400));
        assert_eq!(secs(json!("24h")), Ok(86_400));
    }

    #[test]
    fn intervals_outside_one_second_to_a_day_are_rejected() {
        for bad in [
            json!(0),
            json!("0s"),
            json!("500ms"),
            json!("1.5"),
            json!(1.5),
            json!("25h"),
            json!(-1),
            json!("soon"),
            json!(true),
            json!(""),
        ] {
            let err = Interval::parse("interval", &bad).unwrap_err();
            assert_eq!(err.field, "interval", "{bad}");
        }
    }

    #[test]
    fn durations_format_compactly() {
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(60)), "1m");
        assert_eq!(format_duration(Duration::from_secs(86_400)), "1d");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_secs(61)), "1m1s");
    }

    #[test]
    fn timeouts_take_fractions_of_a_second() {
        let ms = |v: Value| Timeout::parse("timeout", &v).map(|t| t.duration().as_millis());
        assert_eq!(ms(json!(0.5)), Ok(500));
        assert_eq!(ms(json!("250ms")), Ok(250));
        assert!(ms(json!(0)).is_err());
        assert!(ms(json!(0.0001)).is_err());
    }
}
