//! Alerts in their order and where they belong: an up never overtakes its down, the end of an
//! outage goes where its start went, a pause takes back what it must, and a second node on the
//! same database sends nothing twice. Destinations that redirect, repeat secrets or never stop
//! talking change none of that.

use crate::alerts::alerts;
use crate::channels::{
    app_with_service, create_channel, pagerduty_channel, requests, webhook_channel,
};
use crate::support::service::FakeService;
use crate::support::target::{Target, endless_body_server};
use crate::support::{TestApp, holds_for, poll, spawn_app, spawn_app_with, start, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use upbeat::config::HumanDuration;

const PD_ANSWER: &str = r#"{"status":"success","message":"Event processed"}"#;
const PD_KEY: &str = "e93facc04764012d7bfb002500d5d1a6";

/// The `event` of each webhook request received, oldest first.
fn events(hook: &FakeService) -> Vec<String> {
    hook.received()
        .iter()
        .map(|r| r.json()["event"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A monitor of `/switch/{name}` alerting `channels`, seen up once; returns its id.
async fn watched(app: &TestApp, token: &str, target: &Target, name: &str, extra: Value) -> i64 {
    let mut body = json!({"name": name, "url": target.url(&format!("/switch/{name}")),
                          "interval": 1, "failure_threshold": 1});
    body.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    let id = app.create_monitor(token, body).await["id"]
        .as_i64()
        .unwrap();
    app.wait_for_status(token, id, "up").await;
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_up_never_overtakes_its_down_and_no_reminder_follows_it() {
    let hook = FakeService::start(500, "busy").await;
    let app = app_with_service(&hook).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let channel = webhook_channel(&app, &token, &hook.url("/h")).await;
    let id = watched(
        &app,
        &token,
        &target,
        "api",
        json!({"remind_every": "1s", "channels": [channel["id"]]}),
    )
    .await;
    target.set("api", 500);
    requests(&hook, 1).await;
    target.set("api", 200);
    app.wait_for_status(&token, id, "up").await;
    // The down is tried again while the up waits behind it.
    let before = hook.received().len();
    requests(&hook, before + 1).await;
    assert!(
        events(&hook).iter().all(|e| e == "down"),
        "{:?}",
        events(&hook)
    );

    hook.answer(200, "");
    let seen = poll(
        "the up",
        || async { events(&hook) },
        |e| e.last().is_some_and(|e| e == "up"),
    )
    .await;
    let mut order = seen.clone();
    order.dedup();
    assert_eq!(order, ["down", "up"], "{seen:?}");
    holds_for("nothing after the up", Duration::from_secs(3), || async {
        hook.received().len() == seen.len()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_end_of_an_outage_goes_where_its_start_went() {
    let pagerduty = FakeService::start(202, PD_ANSWER).await;
    let app = app_with_service(&pagerduty).await;
    let hook = FakeService::start(200, "").await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let pd = pagerduty_channel(&app, &token, PD_KEY).await;
    let webhook = webhook_channel(&app, &token, &hook.url("/h")).await;
    let id = watched(
        &app,
        &token,
        &target,
        "pay",
        json!({"channels": [pd["id"]]}),
    )
    .await;
    target.set("pay", 500);
    let trigger = requests(&pagerduty, 1).await[0].json();
    assert_eq!(trigger["event_action"], "trigger");

    // Mid-outage the monitor moves to the webhook and the PagerDuty channel gets a new key.
    let (status, moved) = app
        .patch(
            &format!("/api/monitors/{id}"),
            &token,
            json!({"channels": [webhook["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (status, rekeyed) = app
        .patch(
            &format!("/api/channels/{}", pd["id"]),
            &token,
            json!({"settings": {"routing_key": "0123456789abcdef0123456789abcdef"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rekeyed}");

    target.set("pay", 200);
    app.wait_for_status(&token, id, "up").await;
    let resolve = requests(&pagerduty, 2).await[1].json();
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    assert_eq!(
        resolve["routing_key"], PD_KEY,
        "the key the incident was opened with"
    );
    holds_for(
        "no up where no down went",
        Duration::from_secs(2),
        || async { hook.received().is_empty() },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_mid_outage_resolves_pagerduty_and_drops_the_alerts_still_waiting() {
    let pagerduty = FakeService::start(202, PD_ANSWER).await;
    let hook = FakeService::start(503, "maintenance").await;
    let app = spawn_app_with(|c| {
        c.pagerduty_url = pagerduty.url("");
        // The webhook's next try is far enough away for the pause to come first.
        c.alert_retry = HumanDuration(Duration::from_secs(4));
    })
    .await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let pd = pagerduty_channel(&app, &token, PD_KEY).await;
    let webhook = webhook_channel(&app, &token, &hook.url("/h")).await;
    let id = watched(
        &app,
        &token,
        &target,
        "pay",
        json!({"channels": [pd["id"], webhook["id"]]}),
    )
    .await;
    target.set("pay", 500);
    let trigger = requests(&pagerduty, 1).await[0].json();
    requests(&hook, 1).await;

    let (status, paused) = app
        .post(&format!("/api/monitors/{id}/pause"), &token, json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{paused}");
    let resolve = requests(&pagerduty, 2).await[1].json();
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    let history = alerts(&app, &token).await;
    let to_webhook: Vec<_> = history
        .iter()
        .filter(|a| a["channel_id"] == webhook["id"])
        .collect();
    assert_eq!(to_webhook.len(), 1, "{history:?}");
    assert_eq!(to_webhook[0]["kind"], "down");
    assert_eq!(to_webhook[0]["state"], "skipped");
    assert_eq!(to_webhook[0]["last_error"], "the monitor was paused");
    let paused_notice = history.iter().find(|a| a["kind"] == "paused").unwrap();
    assert_eq!(paused_notice["channel_id"], pd["id"]);
    holds_for(
        "the dropped alert stays dropped",
        Duration::from_secs(5),
        || async { hook.received().len() == 1 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_on_the_same_database_never_sends_an_alert_twice() {
    let target = Target::start().await;
    let first = spawn_app_with(|c| c.node_name = "first".into()).await;
    let token = first.register("ada@example.com").await;
    let channel = webhook_channel(&first, &token, &target.url("/delay/3000")).await;
    first
        .create_monitor(
            &token,
            json!({"url": target.url("/status/500"), "interval": 1, "failure_threshold": 1,
                   "channels": [channel["id"]]}),
        )
        .await;
    wait_until("the first node sending", || async {
        target.hits("/delay/3000") == 1
    })
    .await;
    // The second node starts while the first is still waiting for the slow webhook.
    let mut config = first.config.clone();
    config.node_name = "second".into();
    let second = start(config).await;
    let sent = poll(
        "the alert marked sent",
        || alerts(&second, &token),
        |a| a.first().is_some_and(|d| d["state"] == "sent"),
    )
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["attempts"], 1);
    holds_for("one request only", Duration::from_secs(3), || async {
        target.hits("/delay/3000") == 1
    })
    .await;
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn destinations_that_redirect_repeat_secrets_or_never_stop_are_told_apart() {
    let target = Target::start().await;
    let echo = FakeService::start(400, "rejected key K3Y-SECRET for /in?token=URLSECRET").await;
    let endless = endless_body_server(500).await;
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let test = |body: Value| {
        let app = &app;
        let token = &token;
        async move {
            let channel = create_channel(app, token, body).await;
            app.post(
                &format!("/api/channels/{}/test", channel["id"]),
                token,
                json!({}),
            )
            .await
            .1
        }
    };

    // A redirect would turn the POST into a bodyless GET and carry the header elsewhere.
    let tested = test(json!({"kind": "webhook", "settings": {
        "url": target.url("/see-other"), "headers": {"X-Api-Key": "K3Y-SECRET"}}}))
    .await;
    assert_eq!(tested["ok"], false, "{tested}");
    assert!(
        tested["error"].as_str().unwrap().contains("redirects"),
        "{tested}"
    );
    assert_eq!(target.hits("/echo"), 0, "the redirect was not followed");

    // An answer repeating the channel's secrets has them blanked out.
    let tested = test(json!({"kind": "webhook", "settings": {
        "url": echo.url("/in?token=URLSECRET"), "headers": {"X-Api-Key": "K3Y-SECRET"}}}))
    .await;
    let error = tested["error"].as_str().unwrap();
    assert!(error.starts_with("HTTP 400: rejected key"), "{error}");
    let everything = format!(
        "{tested} {:?} {}",
        alerts(&app, &token).await,
        app.get("/api/channels", &token).await.1
    );
    for secret in ["K3Y-SECRET", "URLSECRET"] {
        assert!(!everything.contains(secret), "{secret} in {everything}");
    }

    // An error whose body never ends is read only so far.
    let tested =
        test(json!({"kind": "webhook", "settings": {"url": format!("http://{endless}/")}})).await;
    assert!(
        tested["error"]
            .as_str()
            .unwrap()
            .starts_with("HTTP 500: xxx"),
        "{tested}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_messages_are_limited_per_user() {
    let hook = FakeService::start(200, "").await;
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let body = json!({"kind": "webhook", "settings": {"url": hook.url("/h")}});
    let ada_channel = create_channel(&app, &ada, body.clone()).await;
    let bob_channel = create_channel(&app, &bob, body).await;
    let test = |token: String, channel: Value| {
        let app = &app;
        async move {
            app.request(
                Method::POST,
                &format!("/api/channels/{}/test", channel["id"]),
                Some(&token),
                Some(json!({})),
            )
            .await
        }
    };
    for _ in 0..upbeat::http::TEST_SENDS_PER_MINUTE {
        assert_eq!(
            test(ada.clone(), ada_channel.clone()).await.0,
            StatusCode::OK
        );
    }
    let (status, refused) = test(ada.clone(), ada_channel.clone()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{refused}");
    assert_eq!(refused["error"]["code"], "rate_limited");
    assert_eq!(
        test(bob.clone(), bob_channel.clone()).await.0,
        StatusCode::OK
    );
    assert_eq!(
        hook.received().len(),
        upbeat::http::TEST_SENDS_PER_MINUTE as usize + 1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ntfy_server_behind_a_path_gets_its_publish_at_that_path() {
    let ntfy = FakeService::start(200, r#"{"id":"x"}"#).await;
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let channel = create_channel(
        &app,
        &token,
        json!({"kind": "ntfy", "settings": {"server": ntfy.url("/ntfy"), "topic": "ops"}}),
    )
    .await;
    let (_, tested) = app
        .post(
            &format!("/api/channels/{}/test", channel["id"]),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(tested["ok"], true, "{tested}");
    let publish = &ntfy.received()[0];
    assert_eq!(publish.target, "/ntfy/");
    assert_eq!(publish.json()["topic"], "ops");

    let (status, refused) = app
        .post(
            "/api/channels",
            &token,
            json!({"kind": "ntfy", "settings": {"server": "https://ntfy.sh/ops", "topic": "ops"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["error"]["field"], "settings.server");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_pointed_elsewhere_does_not_take_its_secrets_along() {
    let hook = FakeService::start(200, "").await;
    let elsewhere = FakeService::start(200, "").await;
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let channel = create_channel(
        &app,
        &token,
        json!({"kind": "webhook", "settings": {"url": hook.url("/in?token=URLSECRET"),
               "headers": {"Authorization": "Bearer HDR-SECRET"}, "secret": "SIGNING-KEY"}}),
    )
    .await;
    let path = format!("/api/channels/{}", channel["id"]);
    let shown = app.get(&path, &token).await.1;
    for secret in ["URLSECRET", "HDR-SECRET", "SIGNING-KEY", "/in"] {
        assert!(!shown.to_string().contains(secret), "{shown}");
    }
    assert_eq!(
        shown["settings"]["url"],
        format!("http://{}/********", hook.addr)
    );

    // Sent back as shown, it keeps everything.
    let (status, _) = app
        .request(Method::PUT, &path, Some(&token), Some(shown.clone()))
        .await;
    assert_eq!(status, StatusCode::OK);
    // Pointed elsewhere, whether whole or in part, it must be given its secrets again.
    let mut repointed = shown.clone();
    repointed["settings"]["url"] = json!(elsewhere.url("/steal"));
    let (status, refused) = app
        .request(Method::PUT, &path, Some(&token), Some(repointed))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    let (status, refused) = app
        .patch(
            &path,
            &token,
            json!({"settings": {"url": elsewhere.url("/steal")}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["error"]["field"]
            .as_str()
            .unwrap()
            .starts_with("settings."),
        "{refused}"
    );

    let (_, tested) = app.post(&format!("{path}/test"), &token, json!({})).await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert!(elsewhere.received().is_empty());
    let sent = &hook.received()[0];
    assert_eq!(sent.target, "/in?token=URLSECRET");
    assert_eq!(sent.header("authorization"), "Bearer HDR-SECRET");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_hanging_channel_on_many_monitors_holds_one_send_and_delays_no_other_channel() {
    let target = Target::start().await;
    let hook = FakeService::start(200, "").await;
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let hanging = webhook_channel(&app, &token, &target.url("/hang")).await;
    let prompt = webhook_channel(&app, &token, &hook.url("/prompt")).await;
    // A shared outage: every monitor behind the same failing target.
    for n in 0..20 {
        app.create_monitor(
            &token,
            json!({"name": format!("site {n}"), "url": target.url("/status/500"), "interval": 1,
                   "failure_threshold": 1, "channels": [hanging["id"], prompt["id"]]}),
        )
        .await;
    }
    requests(&hook, 20).await;
    assert_eq!(
        target.hits("/hang"),
        1,
        "one send at a time to the hanging channel"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_being_sent_at_shutdown_is_recorded_and_not_sent_again_after_a_restart() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let hook = Target::start().await;
    let token = app.register("ada@example.com").await;
    // The destination answers 500 ms after it is asked; the shutdown grace is a second.
    let channel = webhook_channel(&app, &token, &hook.url("/delay/500")).await;
    watched(
        &app,
        &token,
        &target,
        "api",
        json!({"channels": [channel["id"]]}),
    )
    .await;
    target.set("api", 500);
    wait_until("the down to reach the destination", || async {
        hook.hits("/delay/500") == 1
    })
    .await;
    let app = app.restart().await;

    let sent: Vec<Value> = alerts(&app, &token)
        .await
        .into_iter()
        .filter(|a| a["channel_id"] == channel["id"])
        .collect();
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["state"], "sent", "{sent:?}");
    assert_eq!(sent[0]["attempts"], 1, "{sent:?}");
    holds_for(
        "no second send after the restart",
        Duration::from_secs(3),
        || async { hook.hits("/delay/500") == 1 },
    )
    .await;
}
