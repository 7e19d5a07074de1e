//! Alerts before a certificate expires, against HTTPS servers on loopback with certificates made
//! in the test: one alert per threshold crossed and certificate, restarts included; none when
//! turned off; the setting validated where it is given, and shown on the monitor's pages.

use crate::alerts::settled;
use crate::channels::{pagerduty_channel, requests, webhook_channel};
use crate::support::certs::Authority;
use crate::support::service::FakeService;
use crate::support::signin::{PASSWORD, PageSession, login_token};
use crate::support::{TestApp, holds_for, millis, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use tempfile::NamedTempFile;
use upbeat::config::HumanDuration;

const PD_ANSWER: &str = r#"{"status":"success","message":"Event processed"}"#;

/// An HTTPS server whose certificate expires in `days`, and the file of the authority that
/// signed it, for the app's `ca_file`.
async fn https_server(days: i64) -> (SocketAddr, NamedTempFile) {
    let root = Authority::root();
    let addr = root.server(&["127.0.0.1"], days).serve().await;
    let ca = NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), root.pem()).unwrap();
    (addr, ca)
}

/// The app trusting `ca`, with PagerDuty's API pointed at `pagerduty`.
async fn app_trusting(ca: &NamedTempFile, pagerduty: &FakeService) -> TestApp {
    let base = pagerduty.url("");
    spawn_app_with(|c| {
        c.ca_file = Some(ca.path().to_owned());
        c.public_url = Some("https://upbeat.example".into());
        c.pagerduty_url = base;
        c.alert_retry = HumanDuration(Duration::from_millis(200));
    })
    .await
}

/// The webhook payloads received whose `event` is `event`.
fn payloads(hook: &FakeService, event: &str) -> Vec<Value> {
    hook.received()
        .iter()
        .map(|r| r.json())
        .filter(|p| p["event"] == event)
        .collect()
}

/// Waits for `n` more checks of the monitor than it has now.
async fn more_checks(app: &TestApp, token: &str, id: i64, n: usize) {
    let now = app.checks(token, id).await.len();
    app.wait_for_checks(token, id, now + n).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_expiring_in_ten_days_is_alerted_once_for_fourteen_even_after_a_restart() {
    let (server, ca) = https_server(10).await;
    let pagerduty = FakeService::start(202, PD_ANSWER).await;
    let hook = FakeService::start(200, "").await;
    let app = app_trusting(&ca, &pagerduty).await;
    let token = app.register("ada@example.com").await;
    let webhook = webhook_channel(&app, &token, &hook.url("/h")).await;
    let pd = pagerduty_channel(&app, &token, "e93facc04764012d7bfb002500d5d1a6").await;
    let m = app
        .create_monitor(
            &token,
            json!({"name": "Shop", "url": format!("https://{server}/"), "interval": 1,
                   "channels": [webhook["id"], pd["id"]]}),
        )
        .await;
    assert_eq!(m["cert_alert_days"], json!([30, 14, 7, 1]), "{m}");
    let id = m["id"].as_i64().unwrap();

    let received = requests(&hook, 1).await;
    assert_eq!(received[0].header("x-upbeat-event"), "certificate");
    let alert = received[0].json();
    assert_eq!(alert["event"], "certificate", "{alert}");
    assert_eq!(alert["subject"], "[CERTIFICATE] Shop", "{alert}");
    assert_eq!(
        alert["summary"], "The certificate of Shop expires in 10 days",
        "{alert}"
    );
    let cert = &alert["certificate"];
    assert_eq!(
        cert["threshold_days"], 14,
        "the smallest threshold crossed: {alert}"
    );
    assert_eq!(cert["days_left"], 10, "{alert}");
    assert_eq!(cert["expired"], false, "{alert}");
    assert_eq!(
        millis(&cert["expires_at"]),
        millis(&app.monitor(&token, id).await["cert_expires_at"]),
        "{alert}"
    );
    assert_eq!(alert["monitor"]["id"], id, "{alert}");
    assert_eq!(alert["cause"], Value::Null, "{alert}");
    assert_eq!(alert["incident"], Value::Null, "{alert}");

    let trigger = requests(&pagerduty, 1).await[0].json();
    assert_eq!(trigger["event_action"], "trigger", "{trigger}");
    assert_eq!(trigger["payload"]["severity"], "warning", "{trigger}");
    assert!(
        trigger["dedup_key"]
            .as_str()
            .unwrap()
            .starts_with(&format!("upbeat-certificate-{id}-")),
        "{trigger}"
    );

    more_checks(&app, &token, id, 3).await;
    holds_for(
        "one alert, however many checks",
        Duration::from_secs(2),
        || async { hook.received().len() == 1 && pagerduty.received().len() == 1 },
    )
    .await;
    let history = settled(&app, &token, 2).await;
    let kinds: Vec<_> = history
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("certificate", "sent"), ("certificate", "sent")]);

    let app = app.restart().await;
    more_checks(&app, &token, id, 3).await;
    holds_for(
        "nothing more after a restart",
        Duration::from_secs(2),
        || async { hook.received().len() == 1 && pagerduty.received().len() == 1 },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_with_no_certificate_alert_days_sends_none() {
    let (server, ca) = https_server(10).await;
    let pagerduty = FakeService::start(202, PD_ANSWER).await;
    let app = app_trusting(&ca, &pagerduty).await;
    let token = app.register("ada@example.com").await;
    let on = FakeService::start(200, "").await;
    let off = FakeService::start(200, "").await;
    let mut ids = Vec::new();
    for (hook, days) in [(&on, json!([3, 20])), (&off, json!([]))] {
        let channel = webhook_channel(&app, &token, &hook.url("/h")).await;
        let m = app
            .create_monitor(
                &token,
                json!({"url": format!("https://{server}/"), "interval": 1,
                       "cert_alert_days": days, "channels": [channel["id"]]}),
            )
            .await;
        ids.push(m["id"].as_i64().unwrap());
    }
    // The monitor that alerts shows how soon an alert would have come.
    let alert = requests(&on, 1).await[0].json();
    assert_eq!(alert["certificate"]["threshold_days"], 20, "{alert}");
    more_checks(&app, &token, ids[1], 3).await;
    holds_for(
        "no alert when turned off",
        Duration::from_secs(2),
        || async { off.received().is_empty() && on.received().len() == 1 },
    )
    .await;
    assert_eq!(
        app.monitor(&token, ids[1]).await["cert_alert_days"],
        json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_announced_once_beside_the_outage() {
    let (server, ca) = https_server(-3).await;
    let pagerduty = FakeService::start(202, PD_ANSWER).await;
    let hook = FakeService::start(200, "").await;
    let app = app_trusting(&ca, &pagerduty).await;
    let token = app.register("ada@example.com").await;
    let channel = webhook_channel(&app, &token, &hook.url("/h")).await;
    let id = app
        .create_monitor(
            &token,
            json!({"name": "Old", "url": format!("https://{server}/"), "interval": 1,
                   "failure_threshold": 1, "channels": [channel["id"]]}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    app.wait_for_status(&token, id, "down").await;
    let received = requests(&hook, 2).await;
    let expired = payloads(&hook, "certificate");
    assert_eq!(expired.len(), 1, "{received:?}");
    assert_eq!(expired[0]["summary"], "The certificate of Old has expired");
    assert_eq!(expired[0]["certificate"]["expired"], true);
    assert_eq!(expired[0]["certificate"]["threshold_days"], 0);
    // Whole days rounded down: it expired three days and a few moments ago.
    assert_eq!(expired[0]["certificate"]["days_left"], -4);
    more_checks(&app, &token, id, 3).await;
    holds_for("one expiry alert", Duration::from_secs(2), || async {
        payloads(&hook, "certificate").len() == 1 && payloads(&hook, "down").len() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_alert_days_are_validated_naming_the_wrong_day() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    for (body, field) in [
        (
            json!({"cert_alert_days": [30, 14, 400]}),
            "cert_alert_days[2]",
        ),
        (json!({"cert_alert_days": [7, "1"]}), "cert_alert_days[1]"),
        (json!({"cert_alert_days": [-1]}), "cert_alert_days[0]"),
        (json!({"cert_alert_days": 7}), "cert_alert_days"),
        (
            json!({"cert_alert_days": (0..11).collect::<Vec<_>>()}),
            "cert_alert_days",
        ),
        (
            json!({"kind": "tcp", "url": "tcp://127.0.0.1:1", "cert_alert_days": [7]}),
            "cert_alert_days",
        ),
    ] {
        let mut body = body;
        if body.get("url").is_none() {
            body["url"] = json!("https://a.example/");
        }
        let (status, err) = app.post("/api/monitors", &token, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    let (_, monitors) = app.get("/api/monitors", &token).await;
    assert_eq!(monitors, json!([]), "nothing written");

    let m = app
        .create_monitor(
            &token,
            json!({"kind": "tls", "url": "tls://a.example", "interval": "1h"}),
        )
        .await;
    assert_eq!(m["cert_alert_days"], json!([30, 14, 7, 1]));
    let path = format!("/api/monitors/{}", m["id"]);
    let (status, patched) = app
        .patch(&path, &token, json!({"cert_alert_days": [1, 7, 7, 60]}))
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["cert_alert_days"], json!([60, 7, 1]));
    let (status, err) = app
        .patch(&path, &token, json!({"cert_alert_days": [1, 366]}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(err["error"]["field"], "cert_alert_days[1]", "{err}");
    let (_, reset) = app
        .patch(&path, &token, json!({"cert_alert_days": null}))
        .await;
    assert_eq!(reset["cert_alert_days"], json!([30, 14, 7, 1]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_page_shows_when_the_certificate_expires_and_the_form_sets_alert_days() {
    let (server, ca) = https_server(10).await;
    let app = spawn_app_with(|c| c.ca_file = Some(ca.path().to_owned())).await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let token = login_token(&app, "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let url = format!("https://{server}/");
    let (status, location, page) = ada
        .post(
            &app,
            "/monitors",
            &[
                ("kind", "http"),
                ("name", "Shop"),
                ("url", &url),
                ("interval", "1h"),
                ("cert_alert_days", "7, 21,, 3"),
                // No channel ticked: nothing to send, only the pages to read.
                ("channels_listed", "1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let id: i64 = location.trim_start_matches("/monitors/").parse().unwrap();
    assert_eq!(
        app.monitor(&token, id).await["cert_alert_days"],
        json!([21, 7, 3])
    );
    app.wait_for_checks(&token, id, 1).await;
    let (_, page) = ada.get(&app, &format!("/monitors/{id}")).await;
    assert!(page.contains("Certificate expires "), "{page}");
    assert!(page.contains("(in 10 days)."), "{page}");
    let (_, edit) = ada.get(&app, &format!("/monitors/{id}/edit")).await;
    assert!(edit.contains("value=\"21, 7, 3\""), "{edit}");

    // Emptied, it turns the alerts off; a wrong day is shown next to the field.
    let edit_path = format!("/monitors/{id}/edit");
    let (status, _, page) = ada
        .post(
            &app,
            &edit_path,
            &[("kind", "http"), ("cert_alert_days", "7, 400")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    assert!(page.contains("id=\"cert_alert_days-error\""), "{page}");
    let (status, _, page) = ada
        .post(
            &app,
            &edit_path,
            &[("kind", "http"), ("cert_alert_days", "")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    assert_eq!(app.monitor(&token, id).await["cert_alert_days"], json!([]));
}
