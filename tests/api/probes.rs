//! What an HTTP check finds, against real servers on loopback: each way a target can fail is
//! recorded with its kind, and nothing a target does stops the service.

use crate::support::target::{Target, closing_server, refusing_port};
use crate::support::{TestApp, dns, poll, spawn_app, spawn_app_with, tls};
use serde_json::{Value, json};
use std::net::Ipv4Addr;

/// Creates a monitor with `settings` and returns its first check.
async fn first_check(app: &TestApp, settings: Value) -> Value {
    let token = app.register("ada@example.com").await;
    let m = app.create_monitor(&token, settings).await;
    app.wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
        .await
        .remove(0)
}

fn error_kind(check: &Value) -> &str {
    check["error"]["kind"]
        .as_str()
        .unwrap_or_else(|| panic!("an error in {check}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_answer_is_a_success_with_its_status_and_latency() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/delay/50"), "interval": "1h"}),
    )
    .await;
    assert_eq!(check["ok"], true);
    assert_eq!(check["status_code"], 200);
    assert_eq!(check["error"], Value::Null);
    assert!(check["latency_ms"].as_u64().unwrap() >= 50, "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_outside_the_accepted_ranges_fails_with_kind_status() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/status/503"), "interval": "1h"}),
    )
    .await;
    assert_eq!(check["ok"], false);
    assert_eq!(check["status_code"], 503);
    assert_eq!(error_kind(&check), "status");
    assert!(check["error"]["message"].as_str().unwrap().contains("503"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_status_ranges_can_include_anything() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/status/404"), "interval": "1h", "accepted_status": ["200-299", 404]}),
    )
    .await;
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["status_code"], 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_answer_times_out_with_kind_timeout() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/delay/5000"), "interval": 60, "timeout": "300ms"}),
    )
    .await;
    assert_eq!(check["ok"], false);
    assert_eq!(error_kind(&check), "timeout");
    let latency = check["latency_ms"].as_u64().unwrap();
    assert!((300..2000).contains(&latency), "{latency}");
    assert!(
        check["error"]["message"]
            .as_str()
            .unwrap()
            .contains("waiting for the response"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_never_answers_times_out() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/hang"), "interval": 60, "timeout": "500ms"}),
    )
    .await;
    assert_eq!(error_kind(&check), "timeout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_followed_to_the_final_answer() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/redirect/3"), "interval": "1h"}),
    )
    .await;
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["status_code"], 200);
    assert_eq!(target.hits("/redirect/0"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_redirects_fail_with_kind_redirect() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/loop"), "interval": "1h", "max_redirects": 3}),
    )
    .await;
    assert_eq!(error_kind(&check), "redirect");
    assert_eq!(check["status_code"], 302);
    assert_eq!(
        target.hits("/loop"),
        4,
        "the first request and three redirects"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_redirects_off_the_redirect_itself_is_judged() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/redirect/1"), "interval": "1h", "follow_redirects": false}),
    )
    .await;
    assert_eq!(error_kind(&check), "status");
    assert_eq!(check["status_code"], 302);
    assert_eq!(target.hits("/redirect/0"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_fails_with_kind_connect() {
    let app = spawn_app().await;
    let port = refusing_port().await;
    let check = first_check(
        &app,
        json!({"url": format!("http://{port}/"), "interval": "1h"}),
    )
    .await;
    assert_eq!(error_kind(&check), "connect");
    assert_eq!(check["status_code"], Value::Null);
    assert!(
        check["error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_closed_without_an_answer_fails_with_kind_protocol() {
    let app = spawn_app().await;
    let addr = closing_server().await;
    let check = first_check(
        &app,
        json!({"url": format!("http://{addr}/"), "interval": "1h"}),
    )
    .await;
    assert_eq!(error_kind(&check), "protocol", "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_host_fails_with_kind_dns() {
    let dns = dns::start(&[]).await;
    let app = spawn_app_with(|c| c.dns_servers = vec![dns]).await;
    let check = first_check(
        &app,
        json!({"url": "http://no-such-host.upbeat.test/", "interval": "1h"}),
    )
    .await;
    assert_eq!(error_kind(&check), "dns");
    assert!(
        check["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no-such-host.upbeat.test"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_names_are_resolved_through_the_configured_dns_server() {
    let target = Target::start().await;
    let dns = dns::start(&[("site.upbeat.test", Ipv4Addr::LOCALHOST)]).await;
    let app = spawn_app_with(|c| c.dns_servers = vec![dns]).await;
    let url = format!("http://site.upbeat.test:{}/echo", target.addr.port());
    let check = first_check(&app, json!({"url": url, "interval": "1h"})).await;
    assert_eq!(check["ok"], true, "{check}");
    let seen = target.seen("/echo");
    assert_eq!(
        seen[0].headers["host"],
        format!("site.upbeat.test:{}", target.addr.port())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_with_kind_tls() {
    let app = spawn_app().await;
    let addr = tls::self_signed_server().await;
    let check = first_check(
        &app,
        json!({"url": format!("https://{addr}/"), "interval": "1h"}),
    )
    .await;
    assert_eq!(error_kind(&check), "tls", "{check}");
    assert!(
        check["error"]["message"]
            .as_str()
            .unwrap()
            .contains("certificate"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_method_headers_and_body_are_sent_as_configured() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/echo"), "interval": "1h", "method": "POST",
               "headers": {"X-Api-Key": "k-123", "User-Agent": "custom-agent"},
               "body": "{\"ping\":true}"}),
    )
    .await;
    assert_eq!(check["ok"], true);
    let seen = &target.seen("/echo")[0];
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.headers["x-api-key"], "k-123");
    assert_eq!(seen.headers["user-agent"], "custom-agent");
    assert_eq!(&seen.body[..], b"{\"ping\":true}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_redirected_with_303_continues_as_a_get() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let check = first_check(
        &app,
        json!({"url": target.url("/see-other"), "interval": "1h", "method": "POST", "body": "x"}),
    )
    .await;
    assert_eq!(check["ok"], true, "{check}");
    let seen = &target.seen("/echo")[0];
    assert_eq!(seen.method, "GET");
    assert!(seen.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_in_the_url_are_sent_as_basic_auth() {
    let (app, target) = (spawn_app().await, Target::start().await);
    let url = format!("http://ada:s%3Acret@{}/echo", target.addr);
    first_check(&app, json!({"url": url, "interval": "1h"})).await;
    // "ada:s:cret" in base64.
    assert_eq!(
        target.seen("/echo")[0].headers["authorization"],
        "Basic YWRhOnM6Y3JldA=="
    );
}

/// The phases of a check, as numbers or `None` where the step did not happen.
fn phases(check: &Value) -> [Option<u64>; 5] {
    ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"].map(|p| {
        match &check["phases"][p] {
            Value::Null => None,
            v => Some(v.as_u64().unwrap_or_else(|| panic!("{p} in {check}"))),
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_step_of_a_check_is_timed_and_a_step_that_did_not_happen_is_null() {
    let target = Target::start().await;
    let dns = dns::start(&[("site.upbeat.test", Ipv4Addr::LOCALHOST)]).await;
    let app = spawn_app_with(|c| c.dns_servers = vec![dns]).await;
    let token = app.register("ada@example.com").await;
    let check_of = |url: String| {
        let (app, token) = (&app, &token);
        async move {
            let m = app
                .create_monitor(token, json!({"url": url, "interval": "1h"}))
                .await;
            let id = m["id"].as_i64().unwrap();
            let check = app.wait_for_checks(token, id, 1).await.remove(0);
            // The monitor's last check carries the same phases as the check log.
            let last = app.monitor(token, id).await["last_check"].clone();
            assert_eq!(last["phases"], check["phases"], "{last} {check}");
            check
        }
    };

    // An address: no lookup, no handshake; the wait for the answer holds the target's delay.
    let check = check_of(target.url("/delay/300")).await;
    let [dns_ms, connect, tls_ms, ttfb, transfer] = phases(&check);
    assert_eq!((dns_ms, tls_ms), (None, None), "{check}");
    assert!(connect.unwrap() < 300, "{check}");
    assert!(ttfb.unwrap() >= 300, "{check}");
    assert!(transfer.is_some(), "{check}");
    let total = check["latency_ms"].as_u64().unwrap();
    assert!(
        connect.unwrap() + ttfb.unwrap() + transfer.unwrap() <= total + 1,
        "{check}"
    );

    // A name is looked up first.
    let url = format!("http://site.upbeat.test:{}/ok", target.addr.port());
    let [dns_ms, ..] = phases(&check_of(url).await);
    assert!(dns_ms.is_some());

    // A failed handshake is timed, and nothing after it happened.
    let addr = tls::self_signed_server().await;
    let check = check_of(format!("https://{addr}/")).await;
    let [_, connect, tls_ms, ttfb, transfer] = phases(&check);
    assert!(connect.is_some() && tls_ms.is_some(), "{check}");
    assert_eq!((ttfb, transfer), (None, None), "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_answer_that_stops_meeting_a_condition_takes_the_monitor_down_naming_it() {
    let (app, target) = (spawn_app().await, Target::start().await);
    target.set_json("health", r#"{"status": "ok", "checks": [1, 2, 3]}"#);
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/json/health"), "interval": "1s", "failure_threshold": 1,
            "assertions": [
                {"subject": "json", "path": "$.status", "op": "==", "value": "ok"},
                {"subject": "json", "path": "$.checks", "of": "length", "op": ">=", "value": 1},
                {"subject": "header", "name": "content-type", "op": "contains", "value": "json"}
            ]}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    assert_eq!(m["assertions"].as_array().unwrap().len(), 3, "{m}");
    app.wait_for_status(&token, id, "up").await;

    target.set_json("health", r#"{"status": "degraded", "checks": [1]}"#);
    let down = app.wait_for_status(&token, id, "down").await;
    let error = &down["last_check"]["error"];
    assert_eq!(error["kind"], "assertion", "{down}");
    assert_eq!(
        error["message"], r#"$.status == "ok" but was "degraded""#,
        "{down}"
    );
    assert_eq!(down["last_check"]["status_code"], 200, "{down}");
    let incidents = app.incidents(&token, id).await;
    assert_eq!(incidents[0]["cause"]["kind"], "assertion", "{incidents}");

    target.set_json("health", r#"{"status": "ok", "checks": []}"#);
    let check = poll(
        "the next check",
        || async { app.checks(&token, id).await.remove(0) },
        |c| c["error"]["message"] != down["last_check"]["error"]["message"],
    )
    .await;
    assert_eq!(
        check["error"]["message"], "length of $.checks >= 1 but was 0",
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_inverted_monitor_is_up_while_its_target_is_unreachable() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let closed = refusing_port().await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": format!("http://{closed}/admin"), "interval": "1h",
                   "inverted": true}),
        )
        .await;
    assert_eq!(m["inverted"], true);
    let check = app
        .wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(
        check["ok"], true,
        "a refused connection is what this monitor expects: {check}"
    );

    let target = Target::start().await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/ok"), "interval": "1h", "inverted": true}),
        )
        .await;
    let check = app
        .wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["ok"], false, "{check}");
    assert_eq!(error_kind(&check), "assertion", "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_conditions_are_refused_naming_them_and_nothing_is_created() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    for (assertions, field) in [
        (
            json!([{"subject": "json", "path": "status", "op": "==", "value": 1}]),
            "assertions[0].path",
        ),
        (
            json!([{"subject": "body", "op": "matches", "value": "(unclosed"}]),
            "assertions[0].value",
        ),
        (
            json!([{"subject": "status", "op": "=="}]),
            "assertions[0].value",
        ),
        (json!({"subject": "status"}), "assertions"),
    ] {
        let (status, body) = app
            .post(
                "/api/monitors",
                &token,
                json!({"url": "http://127.0.0.1:9/", "assertions": assertions}),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(body["error"]["field"], field, "{body}");
    }
    assert_eq!(app.get("/api/monitors", &token).await.1, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_from_the_configured_ca_file_is_trusted_and_its_handshake_timed() {
    let server = tls::TrustedServer::start().await;
    let ca = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(ca.path(), &server.ca_pem).unwrap();
    let app = spawn_app_with(|c| c.ca_file = Some(ca.path().to_owned())).await;
    let check = first_check(
        &app,
        json!({"url": format!("https://{}/", server.addr), "interval": "1h",
               "assertions": [{"subject": "body", "op": "contains", "value": "secret"}]}),
    )
    .await;
    assert_eq!(check["ok"], true, "{check}");
    let [dns_ms, connect, tls_ms, ttfb, transfer] = phases(&check);
    assert_eq!(dns_ms, None, "{check}");
    assert!(connect.is_some() && tls_ms.is_some(), "{check}");
    assert!(ttfb.is_some() && transfer.is_some(), "{check}");
}
