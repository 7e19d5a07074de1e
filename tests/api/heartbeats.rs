//! Heartbeat monitors: jobs ping their secret URL, and the monitor goes down when a ping is late
//! or reports failure. Deadlines are driven with short periods (1 s) and grace times (1 s).

use crate::support::{TestApp, holds_for, poll, spawn_app};
use serde_json::{Value, json};
use std::time::Duration;

async fn heartbeat(app: &TestApp, token: &str, settings: Value) -> (i64, String) {
    let mut body = json!({"kind": "heartbeat", "name": "backup"});
    body.as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    let m = app.create_monitor(token, body).await;
    assert_eq!(
        (&m["url"], &m["timeout_ms"]),
        (&Value::Null, &Value::Null),
        "{m}"
    );
    let url = m["ping_url"].as_str().unwrap_or_else(|| panic!("{m}"));
    (m["id"].as_i64().unwrap(), url.to_owned())
}

async fn ping(app: &TestApp, url: &str) -> (u16, String) {
    let resp = app.client.post(url).body("").send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

async fn pings(app: &TestApp, token: &str, id: i64) -> Vec<Value> {
    let (status, body) = app.get(&format!("/api/monitors/{id}/pings"), token).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

fn error_kind(m: &Value) -> &str {
    m["last_check"]["error"]["kind"].as_str().unwrap_or("")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_pinged_on_time_stays_up() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let (id, url) = heartbeat(&app, &token, json!({"interval": "2s", "grace": "1s"})).await;
    assert!(url.starts_with(&app.url("/ping/")), "{url}");
    assert_eq!(ping(&app, &url).await, (200, "OK\n".to_owned()));
    app.wait_for_status(&token, id, "up").await;
    holds_for(
        "the heartbeat to stay up",
        Duration::from_secs(4),
        || async {
            let _ = ping(&app, &url).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
            app.monitor(&token, id).await["status"] == "up"
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_heartbeat_goes_down_and_comes_back_with_the_next_ping() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let (id, url) = heartbeat(&app, &token, json!({"interval": "1s", "grace": "1s"})).await;
    let m = app.wait_for_status(&token, id, "down").await;
    assert_eq!(error_kind(&m), "late", "{m}");
    let message = m["last_check"]["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("no ping since "), "{message}");
    assert!(message.contains("; expected by "), "{message}");
    ping(&app, &url).await;
    app.wait_for_status(&token, id, "up").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_pings_and_exit_codes_go_down_with_kind_reported_and_zero_is_success() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let (id, url) = heartbeat(&app, &token, json!({"interval": "1h"})).await;
    ping(&app, &format!("{url}/fail")).await;
    let m = app.wait_for_status(&token, id, "down").await;
    assert_eq!(error_kind(&m), "reported");
    assert_eq!(
        m["last_check"]["error"]["message"],
        "the job reported failure"
    );
    ping(&app, &format!("{url}/0")).await;
    app.wait_for_status(&token, id, "up").await;
    ping(&app, &format!("{url}/3")).await;
    let m = app.wait_for_status(&token, id, "down").await;
    assert_eq!(
        m["last_check"]["error"]["message"],
        "the job reported failure (exit code 3)"
    );
    assert_eq!(ping(&app, &format!("{url}/256")).await.0, 404);
    let kinds: Vec<_> = pings(&app, &token, id)
        .await
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["exit_code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("fail".to_owned(), json!(3)),
            ("success".to_owned(), json!(0)),
            ("fail".to_owned(), Value::Null)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_10_kb_of_a_pings_body_are_kept_and_listed() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let (id, url) = heartbeat(&app, &token, json!({"interval": "1h"})).await;
    let log = format!("backup done\n{}", "x".repeat(20_000));
    let resp = app
        .client
        .post(&url)
        .header("user-agent", "curl/8.5")
        .body(log.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let listed = pings(&app, &token, id).await;
    assert_eq!(listed.len(), 1);
    let body = listed[0]["body"].as_str().unwrap();
    assert_eq!(body, &log[..10 * 1024]);
    assert_eq!(listed[0]["user_agent"], "curl/8.5");
    assert_eq!(listed[0]["source"], "127.0.0.1");
    // HEAD and GET count as pings too.
    let resp = app.client.head(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(pings(&app, &token, id).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_after_a_start_has_the_runs_duration_as_latency() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let (id, url) = heartbeat(&app, &token, json!({"interval": "1h"})).await;
    ping(&app, &format!("{url}/start")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ping(&app, &url).await;
    let m = app.wait_for_status(&token, id, "up").await;
    let latency = m["last_check"]["latency_ms"].as_u64().unwrap();
    assert!((300..5000).contains(&latency), "{latency}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_tokens_are_404_and_pings_are_listed_only_to_the_owner() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let (id, url) = heartbeat(&app, &ada, json!({"interval": "1h"})).await;
    ping(&app, &url).await;
    let (status, body) = ping(&app, &app.url("/ping/0123456789abcdef0123456789abcdef")).await;
    assert_eq!(status, 404);
    assert!(!body.contains('{'), "a plain body: {body}");
    let (status, _) = app.get(&format!("/api/monitors/{id}/pings"), &bob).await;
    assert_eq!(status, 404);
    // Another kind's monitor has no ping URL.
    let m = app
        .create_monitor(&ada, json!({"url": "http://127.0.0.1:9/", "paused": true}))
        .await;
    assert!(m.get("ping_url").is_none(), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cron_heartbeats_settings_are_validated_naming_the_field() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    for (settings, field) in [
        (json!({"cron": "61 * * * *"}), "cron"),
        (
            json!({"cron": "0 2 * * *", "timezone": "Europe/Atlantis"}),
            "timezone",
        ),
        (json!({"cron": "0 2 * * *", "interval": "1h"}), "interval"),
        (json!({"url": "https://example.com"}), "url"),
        (json!({"grace": "-1s"}), "grace"),
    ] {
        let mut body = json!({"kind": "heartbeat"});
        body.as_object_mut()
            .unwrap()
            .extend(settings.as_object().unwrap().clone());
        let (status, err) = app.post("/api/monitors", &token, body).await;
        assert_eq!(status, 422, "{settings}: {err}");
        assert_eq!(err["error"]["field"], field, "{settings}: {err}");
    }
    let (id, _) = heartbeat(
        &app,
        &token,
        json!({"cron": "30 2 * * *", "timezone": "Europe/Berlin", "grace": "30m"}),
    )
    .await;
    let m = app.monitor(&token, id).await;
    assert_eq!(
        (m["cron"].as_str(), m["timezone"].as_str()),
        (Some("30 2 * * *"), Some("Europe/Berlin"))
    );
    // What was read can be written back unchanged.
    let (status, body) = app
        .request(
            reqwest::Method::PUT,
            &format!("/api/monitors/{id}"),
            Some(&token),
            Some(m),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_heartbeat_due_while_upbeat_was_down_is_late_once_after_the_restart() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let (id, url) = heartbeat(&app, &token, json!({"interval": "3s", "grace": "1s"})).await;
    ping(&app, &url).await;
    app.wait_for_status(&token, id, "up").await;
    let dir = app.stop().await;
    // Due 4 s after the ping, and again 3 s later: both pass while upbeat is down.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let mut app = crate::support::start(crate::support::test_config(dir.as_ref().unwrap())).await;
    app.keep(dir);
    let m = app.wait_for_status(&token, id, "down").await;
    assert_eq!(error_kind(&m), "late");
    // One late check for the stretch missed while down, not one per missed period.
    let checks = app.checks(&token, id).await;
    let lates = checks
        .iter()
        .filter(|c| c["error"]["kind"] == "late")
        .count();
    assert_eq!(lates, 1, "{checks:?}");
    let _ = poll("pings", || pings(&app, &token, id), |p| p.len() == 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_makes_a_cron_heartbeat_and_its_page_shows_the_ping_url_and_pings() {
    use crate::support::signin::{PASSWORD, PageSession, login_token};
    let app = spawn_app().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let (status, location, page) = ada
        .post(
            &app,
            "/monitors",
            &[
                ("kind", "heartbeat"),
                ("name", "Nightly backup"),
                // The form always carries a period and the other kinds' fields.
                ("interval", "1m"),
                ("url", ""),
                ("timeout", ""),
                // Left empty, as a new form has it: the heartbeat's default, 1.
                ("failure_threshold", ""),
                ("success_threshold", "1"),
                ("cron", "0 2 * * *"),
                ("timezone", "Europe/Berlin"),
                ("grace", "30m"),
            ],
        )
        .await;
    assert_eq!(status, 303, "{page}");
    let (_, page) = ada.get(&app, &location).await;
    let token = login_token(&app, "ada@example.com", PASSWORD)
        .await
        .unwrap();
    let monitors = app.get("/api/monitors", &token).await.1;
    let url = monitors[0]["ping_url"].as_str().unwrap().to_owned();
    assert_eq!(monitors[0]["cron"], "0 2 * * *", "{monitors}");
    assert_eq!(monitors[0]["failure_threshold"], 1);
    assert!(page.contains(&url), "the page shows the ping URL");
    assert!(page.contains("No ping yet"));
    app.client
        .post(&url)
        .body("3 files <saved>")
        .send()
        .await
        .unwrap();
    let (_, page) = ada.get(&app, &location).await;
    let shown = page.split("ping-body").nth(1).unwrap_or_default();
    assert!(
        shown.contains("3 files &#60;saved&#62;") || shown.contains("3 files &lt;saved&gt;"),
        "the body, escaped: {shown}"
    );
    // The dashboard names the kind where other monitors show their URL.
    let (_, dashboard) = ada.get(&app, "/").await;
    let row = dashboard.split("Nightly backup").nth(1).unwrap_or_default();
    assert!(
        row.contains("<span class=\"url\">heartbeat</span>"),
        "{row}"
    );
    // With no URL to type, deleting takes the name; nothing typed deletes nothing.
    let delete = format!("{location}/delete");
    let (_, form) = ada.get(&app, &delete).await;
    assert!(form.contains("type its name"), "{form}");
    for (typed, status) in [("", 422), ("Nightly backup", 303)] {
        let (got, _, page) = ada.post(&app, &delete, &[("confirm_url", typed)]).await;
        assert_eq!(got, status, "{typed:?}: {page}");
    }
    assert_eq!(app.get("/api/monitors", &token).await.1, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_browser_the_form_shows_the_fields_of_the_kind_chosen() {
    use crate::support::browser::Browser;
    use crate::support::signin::PASSWORD;
    let app = spawn_app().await;
    let browser = Browser::start(1280, 900).await;
    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/").await;
    browser.goto(&app.url("/monitors/new")).await;
    let shown = async |fields: &[&str]| {
        let mut seen = Vec::new();
        for field in fields {
            seen.push(browser.is_shown(&format!("#{field}")).await);
        }
        seen
    };
    let fields = ["url", "method", "send", "cron", "grace", "timeout"];
    assert_eq!(
        shown(&fields).await,
        [true, true, false, false, false, true]
    );
    browser.click("#kind option[value=tcp]").await;
    assert_eq!(
        shown(&fields).await,
        [true, false, true, false, false, true]
    );
    browser.click("#kind option[value=heartbeat]").await;
    assert_eq!(
        shown(&fields).await,
        [false, false, false, true, true, false]
    );
    browser.fill("#name", "Nightly backup").await;
    browser.fill("#cron", "0 2 * * *").await;
    browser.fill("#timezone", "Asia/Tokyo").await;
    browser.click("main button[type=submit]").await;
    browser
        .wait_for_path(|p| p.starts_with("/monitors/") && p != "/monitors/new")
        .await;
    let head = browser.text("main").await;
    assert!(
        head.contains("/ping/"),
        "the page shows the ping URL: {head}"
    );
    browser.close().await;
}
