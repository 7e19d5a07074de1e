//! Instants as integer milliseconds since the Unix epoch, the one representation of time inside
//! upbeat. RFC 3339 appears only at the edges (JSON in and out), through the serde impls here.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// An hour in milliseconds: roll-ups and the windows read from them are whole clock hours.
pub const HOUR_MS: i64 = 3_600_000;

/// Milliseconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Self {
        Timestamp(ms)
    }

    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Timestamp(duration_millis(since))
    }

    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// The start of the clock hour it falls in.
    pub const fn hour_start(self) -> Self {
        Timestamp(self.0.div_euclid(HOUR_MS) * HOUR_MS)
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_millis(d)))
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
        i64::try_from(t.unix_timestamp_nanos() / 1_000_000)
            .ok()
            .map(Timestamp)
    }

    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .ok()
            .and_then(|t| t.format(&Rfc3339).ok())
            .unwrap_or_else(|| self.0.to_string())
    }

    /// As people read it, to the second: `2026-11-21 06:47:22 UTC`.
    pub fn to_readable(self) -> String {
        let rfc = self.to_rfc3339();
        match rfc.split_once('T') {
            Some((date, time)) => format!("{date} {} UTC", &time[..time.len().min(8)]),
            None => rfc,
        }
    }
}

/// A duration in whole milliseconds, as instants are kept; saturating.
pub fn duration_millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom("expected an RFC 3339 time"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_times_stop_at_the_second_and_say_utc() {
        let t = Timestamp::from_millis(1_700_000_000_123);
        assert_eq!(t.to_readable(), "2023-11-14 22:13:20 UTC");
    }

    #[test]
    fn rfc3339_round_trips_in_utc_with_milliseconds() {
        let t = Timestamp::from_millis(1_700_000_000_123);
        assert_eq!(t.to_rfc3339(), "2023-11-14T22:13:20.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()), Some(t));
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t = Timestamp::parse_rfc3339("2023-11-14T23:13:20+01:00").unwrap();
        assert_eq!(t.as_millis(), 1_700_000_000_000);
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
