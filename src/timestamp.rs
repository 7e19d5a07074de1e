//! Instants as integer milliseconds since the Unix epoch, the one representation of time inside
//! upbeat. RFC 3339 appears only at the edges (JSON in and out), through the serde impls here.

use jiff::SignedDuration;
use jiff::civil::{self, DateTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A minute, an hour and a day in milliseconds: the periods of the roll-ups, which start on
/// multiples of their length (UTC).
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const DAY_MS: i64 = 24 * HOUR_MS;

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

    /// The start of the period of `period_ms` it falls in, periods starting on its multiples:
    /// the clock minute, hour or UTC day.
    pub const fn start_of(self, period_ms: i64) -> Self {
        Timestamp(self.0.div_euclid(period_ms) * period_ms)
    }

    pub fn saturating_add(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_add(duration_millis(d)))
    }

    pub fn saturating_sub(self, d: Duration) -> Self {
        Timestamp(self.0.saturating_sub(duration_millis(d)))
    }

    /// The time from `earlier` to `self`, zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// `2023-11-14T23:13:20.5+01:00`: RFC 3339, with `Z` or a `±hh:mm` offset, any one character
    /// between date and time (RFC 3339 allows a space), fractions of a second truncated to the
    /// millisecond, and a leap second read as the last instant before it.
    pub fn parse_rfc3339(s: &str) -> Option<Self> {
        let rfc = Rfc3339::read(s.as_bytes())?;
        let utc = rfc.local.duration_since(EPOCH) - rfc.offset;
        if rfc.leap_second && !is_leap_second_stand_in(utc) {
            return None;
        }
        // Towards zero, as instants before 1970 always were.
        i64::try_from(utc.as_nanos() / 1_000_000)
            .ok()
            .map(Timestamp)
    }

    /// In UTC, to the millisecond with trailing zeros dropped: `2023-11-14T22:13:20.12Z`. An
    /// instant outside the years 0000 to 9999, which RFC 3339 cannot write, shows as its number.
    pub fn to_rfc3339(self) -> String {
        match EPOCH.checked_add(SignedDuration::from_millis(self.0)) {
            Ok(utc) if utc.year() >= 0 => format!("{utc}Z"),
            _ => self.0.to_string(),
        }
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

/// 1970-01-01T00:00:00 on the UTC wall clock.
const EPOCH: DateTime = civil::date(1970, 1, 1).at(0, 0, 0, 0);

/// The parts of an RFC 3339 time, read field by field so that exactly the RFC's shape is accepted:
/// jiff's own parser also takes ISO 8601 variants (`+0100`, no seconds, `[Europe/Paris]`), which
/// the API has never promised.
struct Rfc3339 {
    local: DateTime,
    offset: SignedDuration,
    leap_second: bool,
}

impl Rfc3339 {
    fn read(s: &[u8]) -> Option<Self> {
        let mut r = Reader(s);
        let (year, month, day) = (
            r.digits(4)?,
            r.after(b'-')?.digits(2)?,
            r.after(b'-')?.digits(2)?,
        );
        r.byte()?;
        let (hour, minute) = (r.digits(2)?, r.after(b':')?.digits(2)?);
        let mut second = r.after(b':')?.digits(2)?;
        let mut nanos = if r.skip(b'.') { r.fraction()? } else { 0 };
        let offset = r.offset()?;
        if !r.0.is_empty() {
            return None;
        }
        let leap_second = second == 60;
        if leap_second {
            (second, nanos) = (59, 999_999_999);
        }
        let small = |n: i64| i8::try_from(n).ok();
        let local = DateTime::new(
            i16::try_from(year).ok()?,
            small(month)?,
            small(day)?,
            small(hour)?,
            small(minute)?,
            small(second)?,
            i32::try_from(nanos).ok()?,
        )
        .ok()?;
        Some(Rfc3339 {
            local,
            offset,
            leap_second,
        })
    }
}

/// RFC 3339 allows a leap second only as the last second of a month in UTC.
fn is_leap_second_stand_in(since_epoch: SignedDuration) -> bool {
    EPOCH.checked_add(since_epoch).is_ok_and(|utc| {
        (
            utc.hour(),
            utc.minute(),
            utc.second(),
            utc.subsec_nanosecond(),
        ) == (23, 59, 59, 999_999_999)
            && utc.day() == utc.days_in_month()
    })
}

/// What is left of the text being read.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }

    fn skip(&mut self, want: u8) -> bool {
        let found = self.0.first() == Some(&want);
        if found {
            self.0 = &self.0[1..];
        }
        found
    }

    fn after(&mut self, want: u8) -> Option<&mut Self> {
        self.skip(want).then_some(self)
    }

    /// Exactly `n` digits.
    fn digits(&mut self, n: usize) -> Option<i64> {
        let (head, rest) = self.0.split_at_checked(n)?;
        if !head.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = rest;
        Some(head.iter().fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    }

    /// One digit or more, as nanoseconds; digits past the ninth are dropped.
    fn fraction(&mut self) -> Option<i64> {
        let len = self.0.iter().take_while(|b| b.is_ascii_digit()).count();
        if len == 0 {
            return None;
        }
        let (digits, rest) = self.0.split_at(len);
        self.0 = rest;
        Some((0..9).fold(0, |acc, i| {
            acc * 10 + digits.get(i).map_or(0, |d| i64::from(d - b'0'))
        }))
    }

    /// `Z`, or `+hh:mm` / `-hh:mm` with hours up to 23.
    fn offset(&mut self) -> Option<SignedDuration> {
        let sign = match self.byte()? {
            b'Z' | b'z' => return Some(SignedDuration::ZERO),
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let hours = self.digits(2).filter(|h| *h <= 23)?;
        let minutes = self.after(b':')?.digits(2).filter(|m| *m <= 59)?;
        Some(SignedDuration::from_secs(
            sign * (hours * 3600 + minutes * 60),
        ))
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
    fn rfc3339_drops_trailing_zeros_and_whole_seconds_have_no_fraction() {
        let at = |ms| Timestamp::from_millis(ms).to_rfc3339();
        assert_eq!(at(1_700_000_000_120), "2023-11-14T22:13:20.12Z");
        assert_eq!(at(1_700_000_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(at(253_402_300_799_999), "9999-12-31T23:59:59.999Z");
    }

    #[test]
    fn instants_rfc3339_cannot_write_show_as_their_number() {
        assert_eq!(
            Timestamp::from_millis(-62_167_219_200_001).to_rfc3339(),
            "-62167219200001"
        );
        assert_eq!(
            Timestamp::from_millis(i64::MAX).to_rfc3339(),
            i64::MAX.to_string()
        );
    }

    #[test]
    fn only_the_rfc3339_shape_is_read() {
        let ms = |s: &str| Timestamp::parse_rfc3339(s).map(Timestamp::as_millis);
        assert_eq!(ms("2023-11-14 22:13:20Z"), Some(1_700_000_000_000));
        assert_eq!(ms("2023-11-14t22:13:20z"), Some(1_700_000_000_000));
        assert_eq!(
            ms("2023-11-14T22:13:20.1239999999Z"),
            Some(1_700_000_000_123)
        );
        assert_eq!(ms("2023-11-14T22:13:20-00:00"), Some(1_700_000_000_000));
        for iso_only in [
            "2023-11-14T22:13:20",
            "2023-11-14T22:13Z",
            "2023-11-14T23:13:20+01",
            "2023-11-14T23:13:20+0100",
            "2023-11-14T23:13:20+01:00[Europe/Paris]",
            "20231114T221320Z",
            "+002023-11-14T22:13:20Z",
            "2023-11-14T22:13:20,5Z",
            "2023-11-14T22:13:20.Z",
            "2023-11-14T22:13:20+24:00",
            "2023-02-29T22:13:20Z",
            " 2023-11-14T22:13:20Z",
        ] {
            assert_eq!(ms(iso_only), None, "{iso_only}");
        }
    }

    #[test]
    fn a_leap_second_is_the_last_instant_of_its_month() {
        let ms = |s: &str| Timestamp::parse_rfc3339(s).map(Timestamp::as_millis);
        assert_eq!(ms("2016-12-31T23:59:60Z"), Some(1_483_228_799_999));
        assert_eq!(ms("2017-01-01T00:59:60+01:00"), Some(1_483_228_799_999));
        assert_eq!(ms("2016-12-30T23:59:60Z"), None);
    }

    #[test]
    fn offsets_are_converted_to_utc() {
        let t = Timestamp::parse_rfc3339("2023-11-14T23:13:20+01:00").unwrap();
        assert_eq!(t.as_millis(), 1_700_000_000_000);
        assert_eq!(Timestamp::parse_rfc3339("yesterday"), None);
    }
}
