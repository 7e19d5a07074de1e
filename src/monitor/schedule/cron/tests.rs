//! Every instant here is written out, with the offset the zone has then, so that a test reads as
//! a wall clock and drives time itself.

use super::*;
use crate::monitor::schedule::tests::{at, cron, zone};

/// The first `n` runs of `expr` in `tz` after `after`.
fn runs(expr: &str, tz: &str, after: &str, n: usize) -> Vec<Timestamp> {
    let (cron, zone) = (cron(expr), zone(tz));
    let mut from = at(after);
    (0..n)
        .map(|_| {
            from = cron.next_after(from, &zone).expect("a next run");
            from
        })
        .collect()
}

fn times(rfc3339: &[&str]) -> Vec<Timestamp> {
    rfc3339.iter().map(|s| at(s)).collect()
}

fn cron_error(expr: &str) -> String {
    Cron::parse("cron", expr).unwrap_err().to_string()
}

#[test]
fn a_late_evening_run_in_new_york_falls_on_the_next_utc_date() {
    assert_eq!(
        runs("30 23 * * *", "America/New_York", "2026-01-15T12:00:00Z", 1),
        times(&["2026-01-16T04:30:00Z"])
    );
}

#[test]
fn a_morning_run_in_sydney_falls_on_the_previous_utc_date() {
    // 11:00 in Sydney: today's 09:00 has passed, tomorrow's is still today in UTC.
    assert_eq!(
        runs("0 9 * * *", "Australia/Sydney", "2026-01-15T00:00:00Z", 2),
        times(&["2026-01-16T09:00:00+11:00", "2026-01-17T09:00:00+11:00"])
    );
    assert_eq!(at("2026-01-16T09:00:00+11:00"), at("2026-01-15T22:00:00Z"));
}

#[test]
fn the_next_run_is_strictly_after_the_instant() {
    let (daily, utc) = (cron("0 2 * * *"), TimeZoneName::utc());
    let next = |s| daily.next_after(at(s), &utc);
    assert_eq!(
        next("2026-05-01T01:59:59.999Z"),
        Some(at("2026-05-01T02:00:00Z"))
    );
    assert_eq!(
        next("2026-05-01T02:00:00Z"),
        Some(at("2026-05-02T02:00:00Z"))
    );
    assert_eq!(
        next("2026-05-01T02:00:00.500Z"),
        Some(at("2026-05-02T02:00:00Z"))
    );
}

#[test]
fn daily_runs_at_midnight_on_the_zones_clock() {
    assert_eq!(
        runs("@daily", "Europe/Berlin", "2026-01-15T12:00:00Z", 2),
        times(&["2026-01-16T00:00:00+01:00", "2026-01-17T00:00:00+01:00"])
    );
    assert_eq!(
        cron("@DAILY").next_after(at("2026-01-15T12:00:00Z"), &TimeZoneName::utc()),
        Some(at("2026-01-16T00:00:00Z"))
    );
}

#[test]
fn weekdays_only_skips_the_weekend() {
    let friday = "2026-01-16T09:00:05+01:00";
    let week = [
        "2026-01-19T09:00:00+01:00",
        "2026-01-20T09:00:00+01:00",
        "2026-01-21T09:00:00+01:00",
        "2026-01-22T09:00:00+01:00",
        "2026-01-23T09:00:00+01:00",
        "2026-01-26T09:00:00+01:00",
    ];
    assert_eq!(
        runs("0 9 * * 1-5", "Europe/Berlin", friday, 6),
        times(&week)
    );
    assert_eq!(
        runs("0 9 * * mon-fri", "Europe/Berlin", friday, 6),
        times(&week)
    );
}

#[test]
fn a_day_matching_either_the_day_of_month_or_the_day_of_week_fires() {
    // 1 July 2026 is a Wednesday; the Mondays follow.
    assert_eq!(
        runs("0 0 1 * 1", "UTC", "2026-06-30T12:00:00Z", 3),
        times(&[
            "2026-07-01T00:00:00Z",
            "2026-07-06T00:00:00Z",
            "2026-07-13T00:00:00Z"
        ])
    );
}

#[test]
fn spring_forward_runs_a_time_in_the_gap_at_the_first_instant_after_it() {
    // Berlin goes from 02:00 to 03:00 on 29 March 2026, New York on 8 March.
    assert_eq!(
        runs(
            "30 2 * * *",
            "Europe/Berlin",
            "2026-03-28T12:00:00+01:00",
            3
        ),
        times(&[
            "2026-03-29T03:00:00+02:00",
            "2026-03-30T02:30:00+02:00",
            "2026-03-31T02:30:00+02:00",
        ])
    );
    assert_eq!(
        runs(
            "30 2 * * *",
            "America/New_York",
            "2026-03-07T12:00:00-05:00",
            2
        ),
        times(&["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"])
    );
}

#[test]
fn spring_forward_leaves_runs_that_follow_the_clock_out_of_the_gap() {
    assert_eq!(
        runs(
            "*/30 * * * *",
            "Europe/Berlin",
            "2026-03-29T01:15:00+01:00",
            3
        ),
        times(&[
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00",
        ])
    );
}

#[test]
fn spring_forward_skips_set_times_in_the_gap_when_there_are_several() {
    // Cron catches these up after the gap; a ping when none is due does no harm, a run expected
    // that never comes would.
    assert_eq!(
        runs(
            "0,30 2 * * *",
            "Europe/Berlin",
            "2026-03-29T01:45:00+01:00",
            1
        ),
        times(&["2026-03-30T02:00:00+02:00"])
    );
}

#[test]
fn fall_back_runs_a_set_time_in_the_repeated_hour_once() {
    // Berlin goes from 03:00 back to 02:00 on 25 October 2026, New York from 02:00 to 01:00 on
    // 1 November.
    assert_eq!(
        runs(
            "30 2 * * *",
            "Europe/Berlin",
            "2026-10-25T01:00:00+02:00",
            2
        ),
        times(&["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"])
    );
    assert_eq!(
        runs(
            "0,30 1 * * *",
            "America/New_York",
            "2026-11-01T00:00:00-04:00",
            3
        ),
        times(&[
            "2026-11-01T01:00:00-04:00",
            "2026-11-01T01:30:00-04:00",
            "2026-11-02T01:00:00-05:00",
        ])
    );
}

#[test]
fn fall_back_runs_hourly_in_both_passes_of_the_repeated_hour() {
    assert_eq!(
        runs("0 * * * *", "Europe/Berlin", "2026-10-25T01:30:00+02:00", 3),
        times(&[
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:00:00+01:00",
            "2026-10-25T03:00:00+01:00",
        ])
    );
}

#[test]
fn expressions_read_back_as_written() {
    assert_eq!(cron("  0 9 * * mon-fri ").as_str(), "0 9 * * mon-fri");
    assert_eq!(cron("@weekly").to_string(), "@weekly");
}

#[test]
fn an_expression_firing_only_on_leap_days_is_accepted() {
    assert_eq!(
        runs("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 1),
        times(&["2028-02-29T00:00:00Z"])
    );
}

#[test]
fn invalid_expressions_say_which_field_is_wrong_and_what_it_takes() {
    assert_eq!(
        cron_error("0 24 * * *"),
        "cron has an invalid hour \"24\" (number out of bounds): hours are 0-23"
    );
    assert_eq!(
        cron_error("0 0 * jna *"),
        "cron has an invalid month \"jna\" (unknown name or character): months are 1-12 or JAN-DEC"
    );
    for (expr, says) in [
        ("60 * * * *", "invalid minute \"60\""),
        ("0 0 32 * *", "invalid day of the month \"32\""),
        ("0 0 * 13 *", "invalid month \"13\""),
        ("0 0 * * 8", "invalid day of the week \"8\""),
        ("*/0 * * * *", "(step cannot be zero)"),
        ("5-1 * * * *", "invalid minute \"5-1\""),
    ] {
        let error = cron_error(expr);
        assert!(error.contains(says), "{expr}: {error}");
    }
}

#[test]
fn expressions_of_the_wrong_shape_are_refused_with_the_expected_shape() {
    for (expr, says) in [
        ("", "must be a cron expression of 5 fields"),
        ("* * * *", "it has 4 fields"),
        ("0 0 2 * * *", "it has 6 fields"),
        ("0 0 2 * * * 2027", "it has 7 fields"),
        (
            "@reboot",
            "must be @hourly, @daily, @weekly, @monthly or @yearly, not \"@reboot\"",
        ),
    ] {
        let error = cron_error(expr);
        assert!(error.contains(says), "{expr:?}: {error}");
    }
}

#[test]
fn expressions_that_never_fire_are_refused() {
    for expr in ["0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *"] {
        assert_eq!(
            cron_error(expr),
            "cron never fires: no date has that day of the month in those months",
            "{expr}"
        );
    }
}

#[test]
fn time_zones_are_iana_names_as_the_database_writes_them() {
    assert_eq!(zone("UTC").as_str(), "UTC");
    assert_eq!(zone("Europe/Berlin").as_str(), "Europe/Berlin");
    assert_eq!(zone(" america/new_york ").as_str(), "America/New_York");
    assert_eq!(zone("utc"), TimeZoneName::utc());
}

#[test]
fn unknown_time_zones_are_refused_by_name() {
    assert_eq!(
        TimeZoneName::parse("timezone", "Mars/Olympus")
            .unwrap_err()
            .to_string(),
        "timezone must be an IANA time zone such as \"Europe/Berlin\" or \"UTC\", not \"Mars/Olympus\""
    );
    for bad in [
        "",
        "localtime",
        "+02:00",
        "/etc/localtime",
        "../zoneinfo/UTC",
        "Europe//Berlin",
    ] {
        assert!(TimeZoneName::parse("timezone", bad).is_err(), "{bad:?}");
    }
}
