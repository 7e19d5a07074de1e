//! Every instant here is written out, with the offset the zone has then, so that a test reads as
//! a wall clock and drives time itself.

use super::*;
use crate::monitor::Interval;
use serde_json::json;

pub(super) fn at(rfc3339: &str) -> Timestamp {
    Timestamp::parse_rfc3339(rfc3339).expect(rfc3339)
}

pub(super) fn zone(name: &str) -> TimeZoneName {
    TimeZoneName::parse("timezone", name).expect(name)
}

pub(super) fn cron(expr: &str) -> Cron {
    Cron::parse("cron", expr).expect(expr)
}

fn expect_cron(expr: &str, tz: &str, grace_secs: u64) -> Expectation {
    Expectation {
        schedule: Schedule::Cron {
            cron: cron(expr),
            zone: zone(tz),
        },
        grace: Grace::from_secs("grace", grace_secs).unwrap(),
    }
}

fn expect_period(period_secs: u64, grace_secs: u64) -> Expectation {
    Expectation {
        schedule: Schedule::Period(Interval::from_secs("interval", period_secs).unwrap()),
        grace: Grace::from_secs("grace", grace_secs).unwrap(),
    }
}

#[test]
fn a_period_is_due_a_period_and_the_grace_after_the_last_success() {
    let hourly = expect_period(3600, 300);
    assert_eq!(
        hourly.deadline(Some(at("2026-05-01T10:00:07Z")), at("2026-04-01T00:00:00Z")),
        at("2026-05-01T11:05:07Z")
    );
}

#[test]
fn before_the_first_success_the_deadline_counts_from_creation() {
    let created = at("2026-05-01T10:00:00Z");
    assert_eq!(
        expect_period(3600, 300).deadline(None, created),
        at("2026-05-01T11:05:00Z")
    );
    assert_eq!(
        expect_cron("0 2 * * *", "UTC", 600).deadline(None, created),
        at("2026-05-02T02:10:00Z")
    );
}

#[test]
fn after_a_pause_the_deadline_counts_from_resumption() {
    let (success, resumed) = (at("2026-05-01T10:00:00Z"), at("2026-05-08T12:00:00Z"));
    assert_eq!(
        expect_period(3600, 300).deadline(Some(success), resumed),
        at("2026-05-08T13:05:00Z")
    );
    assert_eq!(
        expect_cron("0 2 * * *", "UTC", 600).deadline(Some(success), resumed),
        at("2026-05-09T02:10:00Z")
    );
}

#[test]
fn a_cron_job_is_due_at_the_run_after_its_last_success_plus_the_grace() {
    let nightly = expect_cron("0 2 * * *", "Europe/Berlin", 1800);
    let created = at("2026-01-01T00:00:00Z");
    assert_eq!(
        nightly.deadline(Some(at("2026-05-01T02:00:03+02:00")), created),
        at("2026-05-02T02:30:00+02:00")
    );
    // A run that took hours still counts for its own night.
    assert_eq!(
        nightly.deadline(Some(at("2026-05-01T14:00:00+02:00")), created),
        at("2026-05-02T02:30:00+02:00")
    );
}

#[test]
fn a_success_seconds_before_the_run_counts_for_that_run() {
    let nightly = expect_cron("0 2 * * *", "Europe/Berlin", 1800);
    let created = at("2026-01-01T00:00:00Z");
    assert_eq!(
        nightly.deadline(Some(at("2026-05-01T01:59:58+02:00")), created),
        at("2026-05-02T02:30:00+02:00")
    );
}

#[test]
fn a_success_well_before_the_run_counts_for_the_previous_run() {
    let nightly = expect_cron("0 2 * * *", "Europe/Berlin", 3600);
    let created = at("2026-01-01T00:00:00Z");
    // Ten minutes early is more than clock skew, even within the grace.
    assert_eq!(
        nightly.deadline(Some(at("2026-05-01T01:50:00+02:00")), created),
        at("2026-05-01T03:00:00+02:00")
    );
    // Two minutes early is more than a one-minute grace.
    let tight = expect_cron("0 2 * * *", "Europe/Berlin", 60);
    assert_eq!(
        tight.deadline(Some(at("2026-05-01T01:58:00+02:00")), created),
        at("2026-05-01T02:01:00+02:00")
    );
}

#[test]
fn an_early_success_counts_for_the_coming_run_only_when_nearer_to_it() {
    let every_minute = expect_cron("* * * * *", "UTC", 300);
    let created = at("2026-01-01T00:00:00Z");
    let deadline = |s| every_minute.deadline(Some(at(s)), created);
    assert_eq!(deadline("2026-05-01T10:00:10Z"), at("2026-05-01T10:06:00Z"));
    assert_eq!(deadline("2026-05-01T10:00:30Z"), at("2026-05-01T10:06:00Z"));
    assert_eq!(deadline("2026-05-01T10:00:40Z"), at("2026-05-01T10:07:00Z"));
}

#[test]
fn a_cron_deadline_follows_the_zone_across_a_dst_change() {
    // 02:00 in New York, the night the clocks go back: 25 hours later.
    let nightly = expect_cron("0 2 * * *", "America/New_York", 1800);
    assert_eq!(
        nightly.deadline(
            Some(at("2026-10-31T02:00:10-04:00")),
            at("2026-01-01T00:00:00Z")
        ),
        at("2026-11-01T02:30:00-05:00")
    );
}

#[test]
fn a_started_run_must_end_within_the_grace() {
    let nightly = expect_cron("0 2 * * *", "UTC", 1800);
    assert_eq!(
        nightly.started_deadline(at("2026-05-01T02:00:01Z")),
        at("2026-05-01T02:30:01Z")
    );
}

#[test]
fn once_late_a_period_counts_the_next_miss_a_period_later() {
    let hourly = expect_period(3600, 300);
    let first = hourly.deadline(Some(at("2026-05-01T10:00:00Z")), at("2026-04-01T00:00:00Z"));
    assert_eq!(
        hourly.next_deadline_after_late(first),
        at("2026-05-01T12:05:00Z")
    );
}

#[test]
fn once_late_cron_counts_the_next_miss_at_the_next_run() {
    let weekdays = expect_cron("0 9 * * 1-5", "Europe/Berlin", 900);
    let friday = weekdays.deadline(
        Some(at("2026-01-15T09:00:04+01:00")),
        at("2026-01-01T00:00:00Z"),
    );
    assert_eq!(friday, at("2026-01-16T09:15:00+01:00"));
    let monday = weekdays.next_deadline_after_late(friday);
    assert_eq!(monday, at("2026-01-19T09:15:00+01:00"));
    assert_eq!(
        weekdays.next_deadline_after_late(monday),
        at("2026-01-20T09:15:00+01:00")
    );
}

#[test]
fn grace_takes_whole_seconds_from_a_second_to_a_year() {
    let secs = |v: Value| Grace::parse("grace", &v).map(|g| g.duration().as_secs());
    assert_eq!(secs(json!("30m")), Ok(1800));
    assert_eq!(secs(json!(1)), Ok(1));
    assert_eq!(secs(json!("365d")), Ok(365 * 86_400));
    for bad in [json!(0), json!("1.5s"), json!("366d"), json!("soon")] {
        assert!(Grace::parse("grace", &bad).is_err(), "{bad}");
    }
    assert_eq!(Grace::DEFAULT.to_string(), "1h");
}
