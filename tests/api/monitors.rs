//! Creating, reading, updating and deleting monitors, and what invalid input does (nothing).

use crate::support::target::Target;
use crate::support::{millis, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_monitor_has_every_field_of_the_contract() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let resp = app
        .client
        .post(app.url("/api/monitors"))
        .bearer_auth(&token)
        .json(&json!({"name": "Home", "url": "http://127.0.0.1:9/", "interval": "1h30m", "paused": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let location = resp.headers()["location"].to_str().unwrap().to_owned();
    let m: Value = resp.json().await.unwrap();
    assert_eq!(location, format!("/api/monitors/{}", m["id"]));
    for field in [
        "id",
        "name",
        "url",
        "interval_seconds",
        "status",
        "paused",
        "failure_threshold",
        "success_threshold",
        "created_at",
        "last_check",
    ] {
        assert!(m.get(field).is_some(), "missing {field}: {m}");
    }
    assert_eq!(m["interval_seconds"], 5400);
    assert_eq!(m["interval"], "1h30m");
    assert_eq!(m["status"], "paused");
    assert_eq!(m["failure_threshold"], 2);
    assert_eq!(m["success_threshold"], 1);
    assert_eq!(m["timeout_ms"], 10_000);
    assert_eq!(m["method"], "GET");
    assert_eq!(m["accepted_status"], json!(["200-299"]));
    assert_eq!(m["last_check"], Value::Null);
    assert!(millis(&m["created_at"]) > 0);
    assert_eq!(app.monitor(&token, m["id"].as_i64().unwrap()).await, m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intervals_are_accepted_as_seconds_or_durations() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    for (interval, seconds) in [
        (json!(1), 1),
        (json!(30), 30),
        (json!("1s"), 1),
        (json!("30s"), 30),
        (json!("5m"), 300),
        (json!("1h"), 3600),
        (json!("1h30m"), 5400),
        (json!("24h"), 86_400),
    ] {
        let m = app
            .create_monitor(
                &token,
                json!({"url": "http://127.0.0.1:9/", "interval": interval, "paused": true}),
            )
            .await;
        assert_eq!(m["interval_seconds"], seconds, "{interval}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_is_a_422_naming_the_field_and_writes_nothing() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let cases = [
        (json!({"name": "x"}), "url"),
        (json!({"url": "ftp://example.com"}), "url"),
        (json!({"url": "not a url"}), "url"),
        (json!({"url": "javascript:alert(1)"}), "url"),
        (
            json!({"url": "http://a.example", "interval": 0}),
            "interval",
        ),
        (
            json!({"url": "http://a.example", "interval": "25h"}),
            "interval",
        ),
        (
            json!({"url": "http://a.example", "interval": "500ms"}),
            "interval",
        ),
        (
            json!({"url": "http://a.example", "interval": "often"}),
            "interval",
        ),
        (
            json!({"url": "http://a.example", "interval": "10s", "timeout": "11s"}),
            "timeout",
        ),
        (
            json!({"url": "http://a.example", "failure_threshold": 0}),
            "failure_threshold",
        ),
        (
            json!({"url": "http://a.example", "success_threshold": -1}),
            "success_threshold",
        ),
        (
            json!({"url": "http://a.example", "method": "BREW"}),
            "method",
        ),
        (
            json!({"url": "http://a.example", "accepted_status": ["600"]}),
            "accepted_status[0]",
        ),
        (
            json!({"url": "http://a.example", "headers": {"bad header": "x"}}),
            "headers.bad header",
        ),
        (
            json!({"url": "http://a.example", "max_redirects": 99}),
            "max_redirects",
        ),
        (json!({"url": "http://a.example", "name": ""}), "name"),
        (
            json!({"url": "http://a.example", "colour": "red"}),
            "colour",
        ),
        (json!({"url": 42}), "url"),
        (
            json!({"url": "http://a.example", "interval": 60, "remind_every": "30s"}),
            "remind_every",
        ),
        (
            json!({"url": "http://a.example", "remind_every": "8d"}),
            "remind_every",
        ),
        (
            json!({"url": "http://a.example", "channels": ["one"]}),
            "channels[0]",
        ),
        (
            json!({"url": "http://a.example", "channels": [999]}),
            "channels[0]",
        ),
    ];
    for (body, field) in cases {
        let (status, err) = app.post("/api/monitors", &token, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["code"], "invalid", "{body}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
        assert!(
            err["error"]["message"]
                .as_str()
                .unwrap()
                .contains(field.split(['.', '[']).next().unwrap())
        );
    }
    let (_, list) = app.get("/api/monitors", &token).await;
    assert_eq!(list, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_replaces_every_setting_and_patch_only_the_named_ones() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"name": "API", "url": "http://127.0.0.1:9/", "interval": "30s", "method": "HEAD",
                   "failure_threshold": 4, "paused": true}),
        )
        .await;
    let path = format!("/api/monitors/{}", m["id"]);

    let (status, patched) = app
        .patch(
            &path,
            &token,
            json!({"interval": "2m", "headers": {"X-Key": "k"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["interval_seconds"], 120);
    assert_eq!(patched["name"], "API");
    assert_eq!(patched["method"], "HEAD");
    assert_eq!(patched["failure_threshold"], 4);
    assert_eq!(patched["headers"], json!({"x-key": "k"}));
    assert_eq!(patched["paused"], true, "pausing is kept");
    assert_eq!(patched["created_at"], m["created_at"]);
    assert!(millis(&patched["updated_at"]) >= millis(&m["updated_at"]));

    let (status, replaced) = app
        .request(
            Method::PUT,
            &path,
            Some(&token),
            Some(json!({"url": "http://127.0.0.1:10/", "name": "New"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{replaced}");
    assert_eq!(replaced["url"], "http://127.0.0.1:10/");
    assert_eq!(replaced["interval_seconds"], 60, "back to the default");
    assert_eq!(replaced["method"], "GET");
    assert_eq!(replaced["failure_threshold"], 2);
    assert_eq!(replaced["headers"], json!({}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_read_back_can_be_written_back_unchanged() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(&token, json!({"url": "http://127.0.0.1:9/", "interval": 45, "accepted_status": [200, "3xx"], "paused": true}))
        .await;
    let path = format!("/api/monitors/{}", m["id"]);
    let (status, again) = app
        .request(Method::PUT, &path, Some(&token), Some(m.clone()))
        .await;
    assert_eq!(status, StatusCode::OK, "{again}");
    for field in [
        "name",
        "url",
        "interval_seconds",
        "accepted_status",
        "timeout",
        "timeout_ms",
        "paused",
    ] {
        assert_eq!(again[field], m[field], "{field}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_updates_change_nothing() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "interval": 30, "paused": true}),
        )
        .await;
    let path = format!("/api/monitors/{}", m["id"]);
    for (method, body, field) in [
        (Method::PATCH, json!({"interval": "2d"}), "interval"),
        (Method::PATCH, json!({"url": "gopher://old.example"}), "url"),
        (Method::PATCH, json!({"timeout": "1m"}), "timeout"),
        (Method::PUT, json!({"name": "no url"}), "url"),
    ] {
        let (status, err) = app.request(method, &path, Some(&token), Some(body)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(err["error"]["field"], field);
    }
    assert_eq!(app.monitor(&token, m["id"].as_i64().unwrap()).await, m);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_monitor_is_gone_with_its_history() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "interval": "1h"}),
        )
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_checks(&token, id, 1).await;
    let path = format!("/api/monitors/{id}");
    let (status, body) = app.request(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(body, Value::Null);
    for p in [
        path.clone(),
        format!("{path}/checks"),
        format!("{path}/incidents"),
    ] {
        assert_eq!(app.get(&p, &token).await.0, StatusCode::NOT_FOUND, "{p}");
    }
    assert_eq!(
        app.request(Method::DELETE, &path, Some(&token), None)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_numeric_ids_are_not_found() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    for path in [
        "/api/monitors/abc",
        "/api/monitors/1.5/checks",
        "/api/monitors/-/uptime",
    ] {
        let (status, err) = app.get(path, &token).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(err["error"]["code"], "not_found");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_monitor_can_be_tried_before_it_is_saved_and_nothing_is_stored() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;

    let (status, check) = app
        .post(
            "/api/monitors/test",
            &token,
            json!({"url": target.url("/ok")}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(check["status_code"], 200, "{check}");
    assert!(check["error"].is_null(), "{check}");

    let (status, check) = app
        .post(
            "/api/monitors/test",
            &token,
            json!({"url": target.url("/status/503"), "accepted_status": ["200-299"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{check}");
    assert_eq!(check["ok"], false, "{check}");
    assert_eq!(check["error"]["kind"], "status", "{check}");

    let (status, error) = app
        .post(
            "/api/monitors/test",
            &token,
            json!({"url": "ftp://example.com"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{error}");
    assert_eq!(error["error"]["field"], "url");

    let (_, list) = app.get("/api/monitors", &token).await;
    assert_eq!(list, json!([]), "a trial stores nothing");
    assert_eq!(target.hits("/ok"), 1);
}
