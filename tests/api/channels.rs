//! Channels: owned like monitors, secrets write-only, and for each hosted service the exact
//! request it documents, checked by a stand-in on loopback.

use crate::alerts::settled;
use crate::support::service::{FakeService, Received};
use crate::support::target::Target;
use crate::support::{TestApp, poll, spawn_app, spawn_app_with};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;
use upbeat::config::HumanDuration;

pub async fn create_channel(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, channel) = app.post("/api/channels", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{channel}");
    channel
}

pub async fn webhook_channel(app: &TestApp, token: &str, url: &str) -> Value {
    create_channel(
        app,
        token,
        json!({"kind": "webhook", "settings": {"url": url}}),
    )
    .await
}

pub async fn pagerduty_channel(app: &TestApp, token: &str, routing_key: &str) -> Value {
    create_channel(
        app,
        token,
        json!({"kind": "pagerduty", "settings": {"routing_key": routing_key}}),
    )
    .await
}

/// A monitor alerting only `channel`, taken down and brought back up; returns its id.
async fn outage(app: &TestApp, token: &str, target: &Target, name: &str, channel: i64) -> i64 {
    let m = app
        .create_monitor(
            token,
            json!({"name": name, "url": target.url(&format!("/switch/{name}")), "interval": 1,
                   "failure_threshold": 1, "channels": [channel]}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_status(token, id, "up").await;
    target.set(name, 500);
    app.wait_for_status(token, id, "down").await;
    target.set(name, 200);
    app.wait_for_status(token, id, "up").await;
    id
}

pub async fn requests(service: &FakeService, n: usize) -> Vec<Received> {
    poll(
        &format!("{n} requests"),
        || async { service.received() },
        |r| r.len() >= n,
    )
    .await
}

/// The app, with hosted APIs whose base address upbeat knows pointed at `service`.
pub async fn app_with_service(service: &FakeService) -> TestApp {
    let base = service.url("");
    spawn_app_with(|c| {
        c.public_url = Some("https://upbeat.example".into());
        c.telegram_api_url = base.clone();
        c.pagerduty_url = base.clone();
        c.alert_retry = HumanDuration(Duration::from_millis(200));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_secrets_are_write_only() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let secret_url = "https://hooks.slack.com/services/T000/B000/SECRETTOKEN";
    let created = create_channel(
        &app,
        &token,
        json!({"name": "Ops", "kind": "slack", "settings": {"webhook_url": secret_url}}),
    )
    .await;
    let path = format!("/api/channels/{}", created["id"]);
    for shown in [
        created.clone(),
        app.get(&path, &token).await.1,
        app.get("/api/channels", &token).await.1,
    ] {
        let text = shown.to_string();
        assert!(!text.contains("SECRETTOKEN"), "{text}");
        assert!(text.contains("********"), "{text}");
    }
    // A rename, and the whole channel sent back as shown, keep the secret.
    let (status, renamed) = app.patch(&path, &token, json!({"name": "On call"})).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    let (status, _) = app
        .request(Method::PUT, &path, Some(&token), Some(renamed.clone()))
        .await;
    assert_eq!(status, StatusCode::OK);
    let fake = FakeService::start(200, "ok").await;
    // Pointing it elsewhere replaces it; the test message shows where it now goes.
    app.patch(
        &path,
        &token,
        json!({"settings": {"webhook_url": fake.url("/services/T/B/NEW")}}),
    )
    .await;
    let (_, tested) = app.post(&format!("{path}/test"), &token, json!({})).await;
    assert_eq!(tested["ok"], true, "{tested}");
    assert_eq!(fake.received()[0].target, "/services/T/B/NEW");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_channel_cannot_be_read_changed_or_attached() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let channel = create_channel(
        &app,
        &ada,
        json!({"kind": "ntfy", "settings": {"topic": "ada-alerts"}}),
    )
    .await;
    let path = format!("/api/channels/{}", channel["id"]);
    for (method, p, body) in [
        (Method::GET, path.clone(), None),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"kind": "ntfy", "settings": {"topic": "bob"}})),
        ),
        (Method::PATCH, path.clone(), Some(json!({"name": "mine"}))),
        (Method::POST, format!("{path}/test"), None),
        (Method::DELETE, path.clone(), None),
    ] {
        assert_eq!(
            app.request(method.clone(), &p, Some(&bob), body).await.0,
            StatusCode::NOT_FOUND,
            "{method} {p}"
        );
    }
    let (status, err) = app
        .post(
            "/api/monitors",
            &bob,
            json!({"url": "http://127.0.0.1:9/", "paused": true, "channels": [channel["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["field"], "channels[0]");
    let bob_monitor = app
        .create_monitor(&bob, json!({"url": "http://127.0.0.1:9/", "paused": true}))
        .await;
    let (status, err) = app
        .patch(
            &format!("/api/monitors/{}", bob_monitor["id"]),
            &bob,
            json!({"channels": [channel["id"]]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(app.get(&path, &ada).await.1["name"], channel["name"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_monitors_alert_the_default_channels() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let email = app.get("/api/channels", &token).await.1[0]["id"].clone();
    let ntfy = create_channel(
        &app,
        &token,
        json!({"kind": "ntfy", "settings": {"topic": "t"}, "default": true}),
    )
    .await;
    let other = create_channel(
        &app,
        &token,
        json!({"kind": "ntfy", "settings": {"topic": "u"}}),
    )
    .await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    assert_eq!(m["channels"], json!([email, ntfy["id"]]));
    let chosen = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "paused": true, "channels": [other["id"]]}),
        )
        .await;
    assert_eq!(chosen["channels"], json!([other["id"]]));
    // Deleting a channel detaches it.
    app.request(
        Method::DELETE,
        &format!("/api/channels/{}", ntfy["id"]),
        Some(&token),
        None,
    )
    .await;
    assert_eq!(
        app.monitor(&token, m["id"].as_i64().unwrap()).await["channels"],
        json!([email])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_webhook_gets_the_documented_payload_for_down_and_up() {
    let hook = FakeService::start(200, "").await;
    let app = app_with_service(&hook).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let channel = create_channel(
        &app,
        &token,
        json!({"kind": "webhook", "settings": {"url": hook.url("/hooks/upbeat"), "secret": "whsec", "headers": {"X-Team": "ops"}}}),
    )
    .await;
    let id = outage(
        &app,
        &token,
        &target,
        "site",
        channel["id"].as_i64().unwrap(),
    )
    .await;
    let received = requests(&hook, 2).await;
    for (request, event) in received.iter().zip(["down", "up"]) {
        assert_eq!(request.method, Method::POST);
        assert_eq!(request.target, "/hooks/upbeat");
        assert_eq!(request.header("content-type"), "application/json");
        assert_eq!(request.header("x-upbeat-event"), event);
        assert_eq!(request.header("x-team"), "ops");
        let mut mac = Hmac::<Sha256>::new_from_slice(b"whsec").unwrap();
        mac.update(&request.body);
        let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert_eq!(request.header("x-upbeat-signature-256"), expected);
        let body = request.json();
        assert_eq!(body["event"], event);
        assert_eq!(body["monitor"]["id"], id);
        assert_eq!(body["monitor"]["name"], "site");
        assert_eq!(
            body["link"],
            format!("https://upbeat.example/monitors/{id}")
        );
        assert_eq!(
            request.header("x-upbeat-delivery"),
            body["delivery_id"].to_string()
        );
    }
    assert_eq!(received[0].json()["cause"]["kind"], "status");
    assert!(received[1].json()["incident"]["duration_seconds"].is_u64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_discord_and_teams_get_their_native_formats() {
    let target = Target::start().await;
    for (kind, path, check) in [
        (
            "slack",
            "/services/T0/B0/secret",
            (|b: &Value| {
                assert!(b["text"].as_str().unwrap().starts_with("[DOWN] web"), "{b}");
                let text = b["blocks"][0]["text"]["text"].as_str().unwrap();
                assert_eq!(b["blocks"][0]["text"]["type"], "mrkdwn");
                assert!(
                    text.contains("*web is down*") && text.contains("|Open in upbeat>"),
                    "{text}"
                );
            }) as fn(&Value),
        ),
        ("discord", "/api/webhooks/1/secret", |b: &Value| {
            let embed = &b["embeds"][0];
            assert_eq!(embed["title"], "[DOWN] web");
            assert!(
                embed["color"].is_u64() && embed["timestamp"].is_string(),
                "{b}"
            );
            assert_eq!(b["allowed_mentions"], json!({"parse": []}));
        }),
        (
            "teams",
            "/workflows/1/triggers/manual/paths/invoke",
            |b: &Value| {
                assert_eq!(b["type"], "message");
                let attachment = &b["attachments"][0];
                assert_eq!(
                    attachment["contentType"],
                    "application/vnd.microsoft.card.adaptive"
                );
                assert_eq!(attachment["content"]["type"], "AdaptiveCard");
                assert_eq!(attachment["content"]["body"][0]["text"], "web is down");
                assert_eq!(
                    attachment["content"]["actions"][0]["type"],
                    "Action.OpenUrl"
                );
            },
        ),
    ] {
        let service = FakeService::start(
            if kind == "discord" { 204 } else { 200 },
            if kind == "slack" { "ok" } else { "" },
        )
        .await;
        let app = app_with_service(&service).await;
        let token = app.register("ada@example.com").await;
        let channel = create_channel(
            &app,
            &token,
            json!({"kind": kind, "settings": {"webhook_url": service.url(path)}}),
        )
        .await;
        outage(
            &app,
            &token,
            &target,
            "web",
            channel["id"].as_i64().unwrap(),
        )
        .await;
        let received = requests(&service, 2).await;
        assert_eq!(received[0].target, path, "{kind}");
        assert_eq!(
            received[0].header("content-type"),
            "application/json",
            "{kind}"
        );
        check(&received[0].json());
        assert!(
            received[1].json().to_string().contains("web is up again"),
            "{kind}: {}",
            received[1].json()
        );
        let history = settled(&app, &token, 2).await;
        assert!(
            history.iter().all(|a| a["state"] == "sent"),
            "{kind}: {history:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_gets_html_through_the_bot_api() {
    let telegram = FakeService::start(200, r#"{"ok":true,"result":{"message_id":1}}"#).await;
    let app = app_with_service(&telegram).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let channel = create_channel(
        &app,
        &token,
        json!({"kind": "telegram", "settings": {"bot_token": "123456:ABC-def", "chat_id": -1001234}}),
    )
    .await;
    outage(
        &app,
        &token,
        &target,
        "api",
        channel["id"].as_i64().unwrap(),
    )
    .await;
    let received = requests(&telegram, 2).await;
    assert_eq!(received[0].target, "/bot123456:ABC-def/sendMessage");
    let body = received[0].json();
    assert_eq!(body["chat_id"], -1001234);
    assert_eq!(body["parse_mode"], "HTML");
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("<b>api is down</b>"),
        "{body}"
    );
    assert_eq!(body["link_preview_options"], json!({"is_disabled": true}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ntfy_gets_a_json_publish_with_priority_and_token() {
    let ntfy = FakeService::start(200, r#"{"id":"x","event":"message"}"#).await;
    let app = app_with_service(&ntfy).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let channel = create_channel(
        &app,
        &token,
        json!({"kind": "ntfy", "settings": {"server": ntfy.url("/"), "topic": "ops-alerts", "token": "tk_abc"}}),
    )
    .await;
    let id = outage(&app, &token, &target, "db", channel["id"].as_i64().unwrap()).await;
    let received = requests(&ntfy, 2).await;
    assert_eq!(received[0].target, "/");
    assert_eq!(received[0].header("authorization"), "Bearer tk_abc");
    let body = received[0].json();
    assert_eq!(body["topic"], "ops-alerts");
    assert_eq!(body["title"], "[DOWN] db");
    assert_eq!(body["priority"], 4);
    assert_eq!(
        body["click"],
        format!("https://upbeat.example/monitors/{id}")
    );
    assert_eq!(received[1].json()["priority"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pagerduty_triggers_and_resolves_one_incident_per_outage() {
    let pagerduty =
        FakeService::start(202, r#"{"status":"success","message":"Event processed"}"#).await;
    let app = app_with_service(&pagerduty).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let key = "e93facc04764012d7bfb002500d5d1a6";
    let channel = pagerduty_channel(&app, &token, key).await;
    outage(
        &app,
        &token,
        &target,
        "pay",
        channel["id"].as_i64().unwrap(),
    )
    .await;
    let received = requests(&pagerduty, 2).await;
    let (trigger, resolve) = (received[0].json(), received[1].json());
    assert_eq!(received[0].target, "/v2/enqueue");
    assert_eq!(trigger["routing_key"], key);
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["payload"]["severity"], "critical");
    assert_eq!(trigger["payload"]["summary"], "pay is down");
    assert!(
        trigger["payload"]["source"]
            .as_str()
            .unwrap()
            .contains("/switch/pay")
    );
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    assert!(
        trigger["dedup_key"]
            .as_str()
            .unwrap()
            .starts_with("upbeat-incident-")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_button_reports_what_the_destination_said() {
    let slack = FakeService::start(200, "ok").await;
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let channel = create_channel(
        &app,
        &token,
        json!({"kind": "slack", "settings": {"webhook_url": slack.url("/services/T/B/X")}}),
    )
    .await;
    let path = format!("/api/channels/{}/test", channel["id"]);
    let (status, ok) = app.post(&path, &token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ok["ok"], true, "{ok}");
    assert!(
        slack.received()[0].json()["text"]
            .as_str()
            .unwrap()
            .contains("Test alert")
    );

    slack.answer(404, "no_service");
    let (_, refused) = app.post(&path, &token, json!({})).await;
    assert_eq!(refused["ok"], false);
    assert!(
        refused["error"].as_str().unwrap().contains("404"),
        "{refused}"
    );
    let (_, history) = app.get("/api/alerts", &token).await;
    let states: Vec<_> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].clone(), a["state"].clone()))
        .collect();
    assert_eq!(
        states,
        [
            (json!("test"), json!("failed")),
            (json!("test"), json!("sent"))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_destination_is_not_retried_and_a_failing_one_is() {
    let hook = FakeService::start(400, "bad payload").await;
    let app = app_with_service(&hook).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let channel = webhook_channel(&app, &token, &hook.url("/h")).await;
    app.create_monitor(
        &token,
        json!({"url": target.url("/status/500"), "interval": 1, "failure_threshold": 1, "channels": [channel["id"]]}),
    )
    .await;
    let failed = poll(
        "the refused alert",
        || async { app.get("/api/alerts", &token).await.1 },
        |a| a[0]["state"] == "failed",
    )
    .await;
    assert_eq!(failed[0]["attempts"], 1);
    assert!(
        failed[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("HTTP 400")
    );

    hook.answer(503, "try later");
    let (_, tested) = app
        .post(
            &format!("/api/channels/{}/test", channel["id"]),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(tested["ok"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_repeat_while_down_and_stop_on_recovery() {
    let hook = FakeService::start(200, "").await;
    let app = app_with_service(&hook).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let channel = webhook_channel(&app, &token, &hook.url("/h")).await;
    let m = app
        .create_monitor(
            &token,
            json!({"name": "cron", "url": target.url("/switch/cron"), "interval": 1, "failure_threshold": 1,
                   "remind_every": "2s", "channels": [channel["id"]]}),
        )
        .await;
    assert_eq!(m["remind_every"], "2s");
    let id = m["id"].as_i64().unwrap();
    target.set("cron", 500);
    let received = poll(
        "a reminder",
        || async { hook.received() },
        |r| r.iter().any(|x| x.json()["event"] == "reminder"),
    )
    .await;
    assert_eq!(received[0].json()["event"], "down");
    let reminder = received
        .iter()
        .find(|x| x.json()["event"] == "reminder")
        .unwrap()
        .json();
    assert!(
        reminder["summary"].as_str().unwrap().contains("still down"),
        "{reminder}"
    );

    target.set("cron", 200);
    app.wait_for_status(&token, id, "up").await;
    let events = poll(
        "the up alert",
        || async { hook.received() },
        |r| r.iter().any(|x| x.json()["event"] == "up"),
    )
    .await;
    let after = events.len();
    crate::support::holds_for(
        "no reminder after recovery",
        Duration::from_secs(6),
        || async { hook.received().len() == after },
    )
    .await;
}
