//! Two users: neither can see or touch the other's monitors, on any route.

use crate::support::spawn_app;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_monitor_is_not_found_on_every_route() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let monitor = app
        .create_monitor(
            &ada,
            json!({"name": "ada's", "url": "http://127.0.0.1:9/", "interval": "1h"}),
        )
        .await;
    let id = monitor["id"].as_i64().unwrap();
    let m = format!("/api/monitors/{id}");
    let routes = [
        (Method::GET, m.clone(), None),
        (
            Method::PUT,
            m.clone(),
            Some(json!({"url": "http://bob.example"})),
        ),
        (Method::PATCH, m.clone(), Some(json!({"name": "bob's now"}))),
        (Method::POST, format!("{m}/pause"), None),
        (Method::POST, format!("{m}/resume"), None),
        (Method::GET, format!("{m}/checks"), None),
        (Method::GET, format!("{m}/uptime"), None),
        (Method::GET, format!("{m}/incidents"), None),
        (Method::GET, format!("{m}/events"), None),
        (Method::DELETE, m.clone(), None),
    ];
    for (method, path, body) in routes {
        let (status, err) = app
            .request(method.clone(), &path, Some(&bob), body.clone())
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        // Exactly what a monitor that does not exist answers.
        let missing = path.replace(&id.to_string(), "999999");
        let (_, missing_err) = app
            .request(method.clone(), &missing, Some(&bob), body)
            .await;
        assert_eq!(err, missing_err, "{method} {missing}");
    }

    let (_, bobs) = app.get("/api/monitors", &bob).await;
    assert_eq!(bobs, json!([]));
    let after = app.monitor(&ada, id).await;
    assert_eq!(after["name"], "ada's");
    assert_eq!(after["url"], "http://127.0.0.1:9/");
    assert_eq!(after["paused"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_user_lists_only_their_own_monitors() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    for name in ["a1", "a2"] {
        app.create_monitor(
            &ada,
            json!({"name": name, "url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    }
    app.create_monitor(
        &bob,
        json!({"name": "b1", "url": "http://127.0.0.1:9/", "paused": true}),
    )
    .await;
    let names = |list: serde_json::Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(app.get("/api/monitors", &ada).await.1), ["a1", "a2"]);
    assert_eq!(names(app.get("/api/monitors", &bob).await.1), ["b1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_user_route_answers_only_for_the_caller() {
    let app = spawn_app().await;
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    app.create_monitor(&ada, json!({"url": "http://127.0.0.1:9/", "paused": true}))
        .await;
    let ada_id = app.get("/api/me", &ada).await.1["id"].as_i64().unwrap();
    let (status, own) = app.get(&format!("/api/monitors/user/{ada_id}"), &ada).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own, app.get("/api/monitors", &ada).await.1);
    for path in [
        format!("/api/monitors/user/{ada_id}"),
        "/api/monitors/user/abc".into(),
    ] {
        let (status, _) = app.get(&path, &bob).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
}
