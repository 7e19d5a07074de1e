//! When checks run: at once for a new monitor, never for a deleted or paused one, on the new
//! interval after a change, again after a restart, and regardless of other monitors' targets.

use crate::support::target::Target;
use crate::support::{holds_for, millis, moves, spawn_app, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_monitor_is_checked_within_a_second_of_its_creation() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(&token, json!({"url": target.url("/ok"), "interval": "1h"}))
        .await;
    let checks = app
        .wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
        .await;
    let delay = millis(&checks[0]["at"]) - millis(&m["created_at"]);
    assert!(
        (0..1000).contains(&delay),
        "first check {delay} ms after creation"
    );
    assert_eq!(checks[0]["ok"], true);
    let m = app
        .wait_for_status(&token, m["id"].as_i64().unwrap(), "up")
        .await;
    assert_eq!(m["last_check"]["status_code"], 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_monitor_is_never_checked_again() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/deleted"), "interval": 1}),
        )
        .await;
    wait_until("two visits", || async {
        target.hits("/count/deleted") >= 2
    })
    .await;
    let path = format!("/api/monitors/{}", m["id"]);
    assert_eq!(
        app.request(Method::DELETE, &path, Some(&token), None)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    // A check already under way when the delete arrived may still reach the target; a monitor
    // still being checked every second would be seen two or three more times.
    let after_delete = target.hits("/count/deleted");
    holds_for(
        "no new check after the delete",
        Duration::from_millis(2500),
        || async { target.hits("/count/deleted") <= after_delete + 1 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_monitor_is_not_checked_until_resumed() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/paused"), "interval": 1}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_status(&token, id, "up").await;

    let (status, paused) = app
        .post(&format!("/api/monitors/{id}/pause"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(paused["status"], "paused");
    assert_eq!(paused["paused"], true);
    let at_pause = target.hits("/count/paused");
    holds_for(
        "no visit while paused",
        Duration::from_millis(2500),
        || async { target.hits("/count/paused") <= at_pause + 1 },
    )
    .await;

    let (status, resumed) = app
        .post(&format!("/api/monitors/{id}/resume"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resumed["paused"], false);
    // Judged afresh: pending until the first check after the resume.
    assert_eq!(resumed["status"], "pending");
    app.wait_for_status(&token, id, "up").await;
    assert!(target.hits("/count/paused") > at_pause);

    let events = app.events(&token, id).await;
    assert_eq!(
        moves(&events),
        [
            ("pending", "up"),
            ("up", "paused"),
            ("paused", "pending"),
            ("pending", "up")
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_through_an_update_stops_checks_too() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/patched"), "interval": 1}),
        )
        .await;
    wait_until("a visit", || async { target.hits("/count/patched") >= 1 }).await;
    let (status, _) = app
        .patch(
            &format!("/api/monitors/{}", m["id"]),
            &token,
            json!({"paused": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let at_pause = target.hits("/count/patched");
    holds_for(
        "no visit while paused",
        Duration::from_millis(2500),
        || async { target.hits("/count/patched") <= at_pause + 1 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorter_interval_applies_without_a_restart() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/faster"), "interval": "1h"}),
        )
        .await;
    wait_until("the first visit", || async {
        target.hits("/count/faster") == 1
    })
    .await;
    let (status, _) = app
        .patch(
            &format!("/api/monitors/{}", m["id"]),
            &token,
            json!({"interval": 1}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // An hourly monitor would not be visited again for an hour.
    wait_until("three more visits", || async {
        target.hits("/count/faster") >= 4
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_url_is_used_from_the_next_check() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/old"), "interval": 1}),
        )
        .await;
    wait_until("a visit to the old URL", || async {
        target.hits("/count/old") >= 1
    })
    .await;
    app.patch(
        &format!("/api/monitors/{}", m["id"]),
        &token,
        json!({"url": target.url("/count/new")}),
    )
    .await;
    wait_until("a visit to the new URL", || async {
        target.hits("/count/new") >= 1
    })
    .await;
    let old = target.hits("/count/old");
    holds_for(
        "no more visits to the old URL",
        Duration::from_millis(2000),
        || async { target.hits("/count/old") == old },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_resume_after_a_restart_without_losing_status() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let up = app
        .create_monitor(&token, json!({"url": target.url("/ok"), "interval": 1}))
        .await;
    let down = app
        .create_monitor(
            &token,
            json!({"url": target.url("/status/500"), "interval": 1}),
        )
        .await;
    let (up, down) = (up["id"].as_i64().unwrap(), down["id"].as_i64().unwrap());
    app.wait_for_status(&token, down, "down").await;
    app.wait_for_status(&token, up, "up").await;
    let before = app.checks(&token, up).await.len();

    let app = app.restart().await;
    let checks = app.checks(&token, up).await;
    assert!(
        checks.len() >= before,
        "every recorded check survived the restart"
    );
    app.wait_for_checks(&token, up, checks.len() + 2).await;
    app.wait_for_checks(&token, down, app.checks(&token, down).await.len() + 2)
        .await;

    assert_eq!(app.monitor(&token, up).await["status"], "up");
    assert_eq!(app.monitor(&token, down).await["status"], "down");
    let incidents = app.incidents(&token, down).await;
    assert_eq!(
        incidents.as_array().unwrap().len(),
        1,
        "the outage goes on, no new incident: {incidents}"
    );
    assert_eq!(incidents[0]["ongoing"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_monitor_stays_paused_after_a_restart() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/sleeping"), "interval": 1, "paused": true}),
        )
        .await;
    let app = app.restart().await;
    holds_for("no visit", Duration::from_millis(2000), || async {
        target.hits("/count/sleeping") == 0
    })
    .await;
    assert_eq!(
        app.monitor(&token, m["id"].as_i64().unwrap()).await["status"],
        "paused"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_targets_do_not_delay_other_monitors() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    for _ in 0..20 {
        app.create_monitor(&token, json!({"url": target.url("/hang"), "interval": 5}))
            .await;
    }
    let m = app
        .create_monitor(&token, json!({"url": target.url("/ok"), "interval": 1}))
        .await;
    let checks = app
        .wait_for_checks(&token, m["id"].as_i64().unwrap(), 4)
        .await;
    let times: Vec<i64> = checks.iter().map(|c| millis(&c["at"])).collect();
    for pair in times.windows(2) {
        let gap = pair[0] - pair[1];
        assert!(
            gap < 2000,
            "checks of a 1 s monitor {gap} ms apart while others hang: {times:?}"
        );
    }
    wait_until("the hanging checks to time out", || async {
        let list = app.get("/api/monitors", &token).await.1;
        list.as_array()
            .unwrap()
            .iter()
            .filter(|m| m["last_check"]["error"]["kind"] == "timeout")
            .count()
            == 20
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_flight_at_shutdown_finishes_and_is_recorded() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/delay/400"), "interval": "1h"}),
        )
        .await;
    wait_until("the check to reach the target", || async {
        target.hits("/delay/400") == 1
    })
    .await;
    // The target answers 400 ms from now; the shutdown grace is a second.
    let app = app.restart().await;
    let checks = app.checks(&token, m["id"].as_i64().unwrap()).await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert_eq!(checks[0]["ok"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_hanging_at_shutdown_is_abandoned_without_delaying_it() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    app.create_monitor(
        &token,
        json!({"url": target.url("/hang"), "interval": "1h", "timeout": "5m"}),
    )
    .await;
    wait_until("the check to reach the target", || async {
        target.hits("/hang") == 1
    })
    .await;
    // The grace period is one second; the check would take five minutes.
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("shutdown ends after the grace period");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_longer_interval_applies_without_a_restart() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/slower"), "interval": 1}),
        )
        .await;
    wait_until("two visits", || async { target.hits("/count/slower") >= 2 }).await;
    let (status, _) = app
        .patch(
            &format!("/api/monitors/{}", m["id"]),
            &token,
            json!({"interval": "1h"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let at_change = target.hits("/count/slower");
    holds_for(
        "no more checks this hour",
        Duration::from_millis(2500),
        || async { target.hits("/count/slower") <= at_change + 1 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_does_not_check_an_hourly_monitor_again_early() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/hourly"), "interval": "1h"}),
        )
        .await;
    app.wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
        .await;
    let _app = app.restart().await;
    holds_for(
        "its next check is on its slot",
        Duration::from_millis(2000),
        || async { target.hits("/count/hourly") == 1 },
    )
    .await;
}
