//! Cron expressions and IANA time zones, read once at the edge, and the instants at which an
//! expression fires on a zone's wall clock. Parsing and searching are croner's; this module owns
//! what upbeat accepts (five fields or a nickname, never an expression that cannot fire), the
//! messages for what it refuses, and how runs fall around daylight-saving changes. It reads no
//! clock.

use crate::fields::FieldError;
use crate::timestamp::Timestamp;
use croner::errors::CronError;
use croner::parser::{CronParser, Seconds, Year};
use jiff::Zoned;
use jiff::civil::DateTime;
use jiff::tz::{AmbiguousOffset, TimeZone, TimeZoneDatabase};
use std::fmt;

/// A time zone of the IANA database (`Europe/Berlin`, `America/New_York`, `UTC`), by the name
/// the database gives it.
#[derive(Clone)]
pub struct TimeZoneName {
    name: String,
    zone: TimeZone,
}

impl TimeZoneName {
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let name = s.trim();
        // The bundled database decides which names exist, so that every machine accepts the same
        // ones (a system copy also holds files such as `localtime`, which name no zone). The rules
        // come from the system copy when it has the zone, as the operating system keeps it current.
        let bundled = TimeZoneDatabase::bundled().get(name).map_err(|_| {
            FieldError::new(
                field,
                format!(
                    "must be an IANA time zone such as \"Europe/Berlin\" or \"UTC\", not \"{}\"",
                    excerpt(name)
                ),
            )
        })?;
        let name = bundled.iana_name().unwrap_or(name).to_owned();
        let zone = jiff::tz::db().get(&name).unwrap_or(bundled);
        Ok(TimeZoneName { name, zone })
    }

    pub fn utc() -> Self {
        TimeZoneName {
            name: "UTC".to_owned(),
            zone: TimeZone::UTC,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }
}

impl PartialEq for TimeZoneName {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for TimeZoneName {}

impl fmt::Debug for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TimeZoneName").field(&self.name).finish()
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// When a job runs, as crontab writes it: `minute hour day-of-month month day-of-week`, with `*`,
/// lists, ranges, steps and month and day names (`0 9 * * mon-fri`, `*/15 * * * *`), or
/// `@hourly`, `@daily`, `@weekly`, `@monthly`, `@yearly`. Croner's extensions are accepted too:
/// `L` (last day of the month), `15W` (nearest weekday), `5#2` (second Friday), `?`. When both the
/// day of the month and the day of the week are restricted, a day matching either fires, as in
/// every cron. An expression that can never fire (`0 0 31 2 *`) is refused.
///
/// Across daylight-saving changes it runs as Vixie cron and cronie run jobs, so that the
/// expectation matches what the job's own cron does:
/// - a job at a set time (neither minute nor hour starts with `*`) whose time falls in the hour a
///   spring-forward change skips runs at the first instant after the gap, when it names one
///   minute and one hour (`30 2 * * *` runs at 03:00); with several (`0,30 2 * * *`) those runs
///   are skipped (cron catches them up after the gap, and a ping when none is due does no harm);
///   in the hour a fall-back change repeats, it runs once, in the first pass;
/// - a job whose minute or hour starts with `*` (`*/15 * * * *`, `0 * * * *`) follows the clock:
///   nothing in the skipped hour, and a run in each pass of the repeated hour, an hour apart.
#[derive(Clone)]
pub struct Cron {
    expr: String,
    /// Boxed: croner's pattern is a few hundred bytes, kept once per monitor.
    pattern: Box<croner::Cron>,
    /// The minute or hour starts with `*`: runs in both passes of a repeated hour.
    follows_clock: bool,
}

/// Each field's name and what it takes, for messages.
const FIELDS: [(&str, &str); 5] = [
    ("minute", "minutes are 0-59"),
    ("hour", "hours are 0-23"),
    ("day of the month", "days of the month are 1-31"),
    ("month", "months are 1-12 or JAN-DEC"),
    (
        "day of the week",
        "days of the week are 0-7 or SUN-SAT, Sunday being 0 or 7",
    ),
];

const NICKNAMES: [&str; 6] = [
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@yearly",
    "@annually",
];

const SHAPE: &str = "must be a cron expression of 5 fields, minute hour day-of-month month \
                     day-of-week (such as \"0 2 * * *\"), or @hourly, @daily, @weekly, @monthly \
                     or @yearly";

/// Where the search that proves an expression fires starts. The Gregorian calendar repeats every
/// 400 years and croner searches to the year 5000, so finding nothing means nothing ever fires.
const PROBE_FROM: DateTime = DateTime::constant(2000, 1, 1, 0, 0, 0, 0);

impl Cron {
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let expr = s.trim();
        let follows_clock = check_shape(field, expr)?;
        let pattern = parser().parse(expr).map_err(|e| explain(field, expr, &e))?;
        if pattern.find_next_occurrence(&PROBE_FROM, false).is_err() {
            return Err(FieldError::new(
                field,
                "never fires: no date has that day of the month in those months",
            ));
        }
        Ok(Cron {
            expr: expr.to_owned(),
            pattern: Box::new(pattern),
            follows_clock,
        })
    }

    /// The expression as it was written, without surrounding spaces.
    pub fn as_str(&self) -> &str {
        &self.expr
    }

    /// The first instant strictly after `after` at which the expression fires on `zone`'s wall
    /// clock. `None` only for instants past the year 5000.
    pub fn next_after(&self, after: Timestamp, zone: &TimeZoneName) -> Option<Timestamp> {
        let mut from = jiff::Timestamp::from_millisecond(after.as_millis())
            .ok()?
            .to_zoned(zone.zone.clone());
        loop {
            let next = self.pattern.find_next_occurrence(&from, false).ok()?;
            // Croner runs a set-time expression with several times in both passes of a
            // repeated hour; cron runs it once. Bounded: a pass holds finitely many runs.
            if self.follows_clock || !is_second_pass(&next) {
                return Some(Timestamp::from_millis(next.timestamp().as_millisecond()));
            }
            from = next;
        }
    }
}

/// Refuses what croner would read as something else (seconds, years) or explain poorly (a wrong
/// number of fields, an unknown nickname); tells whether the expression follows the clock.
fn check_shape(field: &str, expr: &str) -> Result<bool, FieldError> {
    if expr.starts_with('@') {
        return match NICKNAMES.iter().find(|n| n.eq_ignore_ascii_case(expr)) {
            Some(&nickname) => Ok(nickname == "@hourly"),
            None => Err(FieldError::new(
                field,
                format!(
                    "must be @hourly, @daily, @weekly, @monthly or @yearly, not \"{}\"",
                    excerpt(expr)
                ),
            )),
        };
    }
    let fields: Vec<&str> = expr.split_whitespace().collect();
    match fields.as_slice() {
        [minute, hour, _, _, _] => Ok(minute.starts_with('*') || hour.starts_with('*')),
        [] => Err(FieldError::new(field, SHAPE)),
        _ => Err(FieldError::new(
            field,
            format!("{SHAPE}; it has {} fields", fields.len()),
        )),
    }
}

fn parser() -> CronParser {
    CronParser::builder()
        .seconds(Seconds::Disallowed)
        .year(Year::Disallowed)
        .build()
}

/// Names the first field croner refuses on its own, with what that field takes.
fn explain(field: &str, expr: &str, err: &CronError) -> FieldError {
    let parts: Vec<&str> = expr.split_whitespace().collect();
    for (i, (part, (name, takes))) in parts.iter().zip(FIELDS).enumerate() {
        let alone: Vec<&str> = (0..FIELDS.len())
            .map(|j| if j == i { *part } else { "*" })
            .collect();
        if let Err(e) = parser().parse(&alone.join(" ")) {
            return FieldError::new(
                field,
                format!(
                    "has an invalid {name} \"{}\" ({}): {takes}",
                    excerpt(part),
                    detail(&e)
                ),
            );
        }
    }
    FieldError::new(
        field,
        format!("is not a valid cron expression ({})", detail(err)),
    )
}

/// Croner's reason, as a phrase: `number out of bounds`, `step cannot be zero`.
fn detail(err: &CronError) -> String {
    let text = match err {
        CronError::ComponentError(m) | CronError::InvalidPattern(m) => m.clone(),
        // Croner quotes the field upper-cased, which is not what the user wrote.
        CronError::IllegalCharacters(_) => return "unknown name or character".to_owned(),
        other => other.to_string(),
    };
    let text = text.trim_end_matches('.');
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Whether `at` is the second time its wall-clock time happens, after a fall-back change.
fn is_second_pass(at: &Zoned) -> bool {
    match at
        .time_zone()
        .to_ambiguous_timestamp(at.datetime())
        .offset()
    {
        AmbiguousOffset::Fold { after, .. } => at.offset() == after,
        _ => false,
    }
}

/// What a message quotes of a refused value: enough to recognise it, never a whole request body.
fn excerpt(s: &str) -> String {
    const MAX: usize = 64;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

impl PartialEq for Cron {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

impl Eq for Cron {}

impl fmt::Debug for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Cron").field(&self.expr).finish()
    }
}

impl fmt::Display for Cron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expr)
    }
}

#[cfg(test)]
mod tests;
