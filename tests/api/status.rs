//! Status that does not cry wolf: down only after the failure threshold, up after the success
//! threshold, every change an event, every outage an incident.

use crate::support::target::Target;
use crate::support::{holds_for, millis, moves, spawn_app, wait_until};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_only_after_the_threshold_then_up_again_with_the_incident_recorded() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/switch/site"), "interval": 1, "failure_threshold": 3, "success_threshold": 2}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_status(&token, id, "up").await;

    target.set("site", 503);
    let down = app.wait_for_status(&token, id, "down").await;
    target.set("site", 200);
    app.wait_for_status(&token, id, "up").await;

    let checks: Vec<Value> = app.checks(&token, id).await.into_iter().rev().collect();
    let events = app.events(&token, id).await;
    assert_eq!(
        moves(&events),
        [("pending", "up"), ("up", "down"), ("down", "up")]
    );

    // The down event came with the third failure in a row, not before.
    let first_failure = checks.iter().position(|c| c["ok"] == false).unwrap();
    assert!(
        checks[first_failure..first_failure + 3]
            .iter()
            .all(|c| c["ok"] == false)
    );
    assert_eq!(events[1]["at"], checks[first_failure + 2]["at"]);
    assert_eq!(events[1]["cause"]["kind"], "status");
    // And the up event with the second success in a row.
    let first_success = first_failure
        + checks[first_failure..]
            .iter()
            .position(|c| c["ok"] == true)
            .unwrap();
    assert_eq!(events[2]["at"], checks[first_success + 1]["at"]);

    let incidents = app.incidents(&token, id).await;
    let incidents = incidents.as_array().unwrap();
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    // The outage began with the first failure and ended with the first success.
    assert_eq!(incident["started_at"], checks[first_failure]["at"]);
    assert_eq!(incident["ended_at"], checks[first_success]["at"]);
    assert_eq!(incident["ongoing"], false);
    assert_eq!(incident["cause"]["kind"], "status");
    assert!(
        incident["cause"]["message"]
            .as_str()
            .unwrap()
            .contains("503")
    );
    assert_eq!(events[1]["incident_id"], incident["id"]);
    assert_eq!(events[2]["incident_id"], incident["id"]);
    assert_eq!(
        millis(&down["status_since"]),
        millis(&incident["started_at"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flapping_target_below_the_threshold_never_goes_down() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/flap/f"), "interval": 1, "failure_threshold": 2}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    let checks = app.wait_for_checks(&token, id, 6).await;
    assert!(
        checks.iter().any(|c| c["ok"] == false),
        "the target did fail sometimes"
    );
    assert_eq!(app.monitor(&token, id).await["status"], "up");
    let incidents = app.incidents(&token, id).await;
    assert_eq!(incidents, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_is_pending_until_its_first_result() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/delay/1500"), "interval": 5}),
        )
        .await;
    assert_eq!(m["status"], "pending");
    let id = m["id"].as_i64().unwrap();
    wait_until("a visit", || async { target.hits("/delay/1500") == 1 }).await;
    assert_eq!(
        app.monitor(&token, id).await["status"],
        "pending",
        "the check has not finished"
    );
    app.wait_for_status(&token, id, "up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_target_stays_down_without_new_incidents() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/status/500"), "interval": 1, "failure_threshold": 1}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_status(&token, id, "down").await;
    holds_for("one incident only", Duration::from_millis(2500), || async {
        app.incidents(&token, id).await.as_array().unwrap().len() == 1
    })
    .await;
    assert!(app.checks(&token, id).await.len() >= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_ends_the_open_incident_and_a_resume_judges_afresh() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/status/500"), "interval": 1, "failure_threshold": 1}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_status(&token, id, "down").await;

    let (_, paused) = app
        .post(&format!("/api/monitors/{id}/pause"), &token, json!({}))
        .await;
    let incidents = app.incidents(&token, id).await;
    assert_eq!(
        incidents[0]["ongoing"], false,
        "the pause ended the outage: {incidents}"
    );
    assert_eq!(incidents[0]["ended_at"], paused["updated_at"]);

    let (_, resumed) = app
        .post(&format!("/api/monitors/{id}/resume"), &token, json!({}))
        .await;
    assert_eq!(resumed["status"], "pending");
    app.wait_for_status(&token, id, "down").await;
    let incidents = app.incidents(&token, id).await;
    assert_eq!(
        incidents.as_array().unwrap().len(),
        2,
        "a new outage after the resume: {incidents}"
    );
    assert!(millis(&incidents[0]["started_at"]) >= millis(&resumed["updated_at"]));

    let events = app.events(&token, id).await;
    assert_eq!(
        moves(&events),
        [
            ("pending", "down"),
            ("down", "paused"),
            ("paused", "pending"),
            ("pending", "down")
        ]
    );
    assert_eq!(
        events[1]["incident_id"], incidents[1]["id"],
        "the pause names the outage it ended"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_streak_does_not_survive_a_pause() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/switch/s"), "interval": 5, "failure_threshold": 2}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_status(&token, id, "up").await;
    target.set("s", 500);
    // One failure, with the next check seconds away: then pause.
    crate::support::poll(
        "one failure",
        || app.monitor(&token, id),
        |m| m["last_check"]["ok"] == false,
    )
    .await;
    app.post(&format!("/api/monitors/{id}/pause"), &token, json!({}))
        .await;
    let before = app.checks(&token, id).await.len();
    app.post(&format!("/api/monitors/{id}/resume"), &token, json!({}))
        .await;
    app.wait_for_checks(&token, id, before + 1).await;
    // One failure after the resume is not two in a row.
    assert_eq!(app.monitor(&token, id).await["status"], "pending");
    let incidents = app.incidents(&token, id).await;
    assert_eq!(incidents, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_under_way_at_a_pause_is_not_judged_after_it() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/delay/600"), "interval": 5}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    wait_until("the check to reach the target", || async {
        target.hits("/delay/600") == 1
    })
    .await;
    app.post(&format!("/api/monitors/{id}/pause"), &token, json!({}))
        .await;
    holds_for(
        "nothing judged while paused",
        Duration::from_millis(1200),
        || async { app.events(&token, id).await.len() == 1 },
    )
    .await;
    let monitor = app.monitor(&token, id).await;
    assert_eq!(monitor["status"], "paused");
    assert_eq!(app.checks(&token, id).await.len(), 0, "{monitor}");
}
