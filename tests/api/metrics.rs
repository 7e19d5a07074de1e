//! `GET /metrics`: what upbeat counts about itself, in the Prometheus text format, checked by
//! Prometheus' own `promtool`.

use crate::support::target::Target;
use crate::support::{TestApp, poll, spawn_app, spawn_app_with};
use serde_json::json;
use std::io::Write;
use std::process::{Command, Stdio};

/// The metrics text, with the bearer token `token` if given; panics unless it is a 200.
async fn scrape(app: &TestApp, token: Option<&str>) -> String {
    let mut request = app.client.get(app.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let resp = request.send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    resp.text().await.unwrap()
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
        .parse()
        .unwrap()
}

/// What `promtool check metrics` says of `text`: its exit status and output.
fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (scripts/test installs it with the prometheus package)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), said)
}

async fn up_and_down(app: &TestApp) {
    let target = Target::start().await;
    let token = app.register("ops@example.com").await;
    for (path, status) in [("/status/200", "up"), ("/status/500", "down")] {
        let id = app
            .create_monitor(
                &token,
                json!({"url": target.url(path), "interval": 1, "failure_threshold": 1}),
            )
            .await["id"]
            .as_i64()
            .unwrap();
        app.wait_for_status(&token, id, status).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_lag_writes_and_states_are_exported_and_promtool_accepts_them() {
    let app = spawn_app().await;
    up_and_down(&app).await;
    let text = poll(
        "the metrics to count both monitors",
        || scrape(&app, None),
        |t| t.contains("upbeat_monitors{status=\"down\"} 1"),
    )
    .await;
    assert!(sample(&text, "upbeat_checks_total{kind=\"http\",result=\"ok\"}") >= 1.0);
    assert!(
        sample(
            &text,
            "upbeat_checks_total{kind=\"http\",result=\"status\"}"
        ) >= 1.0
    );
    assert_eq!(sample(&text, "upbeat_monitors{status=\"up\"}"), 1.0);
    assert_eq!(sample(&text, "upbeat_monitors{status=\"paused\"}"), 0.0);
    assert!(sample(&text, "upbeat_schedule_lag_seconds_count") >= 2.0);
    assert!(sample(&text, "upbeat_check_duration_seconds_count{kind=\"http\"}") >= 2.0);
    assert!(sample(&text, "upbeat_write_batch_size_count") >= 1.0);
    assert!(sample(&text, "upbeat_write_batch_duration_seconds_count") >= 1.0);
    assert_eq!(sample(&text, "upbeat_results_dropped_total"), 0.0);
    // Two monitors leave the checks' own thread idle: it makes every check itself.
    assert_eq!(sample(&text, "upbeat_checks_spilled_total"), 0.0);
    assert_eq!(sample(&text, "upbeat_database_up"), 1.0);
    assert!(sample(&text, "upbeat_database_size_bytes") >= 4096.0);
    // The down monitor queued an email alert; with no mail server it waits or is given up.
    assert!(sample(&text, "upbeat_alert_outbox_depth") >= 0.0);
    assert!(sample(&text, "process_resident_memory_bytes") > 1e6);
    assert!(sample(&text, "process_cpu_seconds_total") >= 0.0);
    let (valid, said) = promtool(&text);
    assert!(valid, "promtool check metrics: {said}\n{text}");
    // promtool also catches what it should: a counter without its _total suffix.
    let (valid, said) = promtool("# HELP bad_count x\n# TYPE bad_count counter\nbad_count 1\n");
    assert!(!valid && said.contains("_total"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_metrics_token_only_its_bearer_is_answered() {
    let app = spawn_app_with(|c| {
        c.metrics_token = Some(upbeat::secret::Secret::new("scrape-me-0123456789"));
    })
    .await;
    for token in [None, Some("wrong")] {
        let mut request = app.client.get(app.url("/metrics"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{token:?}");
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
        assert!(!resp.text().await.unwrap().contains("upbeat_"));
    }
    let text = scrape(&app, Some("scrape-me-0123456789")).await;
    assert!(text.contains("upbeat_database_up 1"), "{text}");
}
