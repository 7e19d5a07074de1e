//! The HTTP surface as a whole: authentication everywhere, error shapes, limits, CORS, health.

use crate::support::signin::browser_session;
use crate::support::{spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Every route that needs a signed-in caller, with a body where it takes one.
fn protected_routes(id: i64, channel: i64, api_token: i64) -> Vec<(Method, String)> {
    let m = format!("/api/monitors/{id}");
    let c = format!("/api/channels/{channel}");
    vec![
        (Method::GET, "/api/me".into()),
        (Method::GET, "/api/monitors".into()),
        (Method::GET, "/api/summary".into()),
        (Method::POST, "/api/monitors".into()),
        (Method::POST, "/api/monitors/test".into()),
        (Method::GET, "/api/monitors/user/1".into()),
        (Method::GET, m.clone()),
        (Method::PUT, m.clone()),
        (Method::PATCH, m.clone()),
        (Method::DELETE, m.clone()),
        (Method::POST, format!("{m}/pause")),
        (Method::POST, format!("{m}/resume")),
        (Method::GET, format!("{m}/checks")),
        (Method::GET, format!("{m}/uptime")),
        (Method::GET, format!("{m}/incidents")),
        (Method::GET, format!("{m}/events")),
        (Method::GET, format!("{m}/pings")),
        (Method::GET, format!("{m}/alerts")),
        (Method::GET, "/api/channels".into()),
        (Method::POST, "/api/channels".into()),
        (Method::GET, c.clone()),
        (Method::PUT, c.clone()),
        (Method::PATCH, c.clone()),
        (Method::DELETE, c.clone()),
        (Method::POST, format!("{c}/test")),
        (Method::GET, "/api/alerts".into()),
        (Method::GET, "/api/tokens".into()),
        (Method::POST, "/api/tokens".into()),
        (Method::DELETE, format!("/api/tokens/{api_token}")),
        (Method::POST, "/api/account/password".into()),
        (Method::POST, "/api/account/sign-out-everywhere".into()),
    ]
}

/// A body fit for a write to `path`.
fn body_for(path: &str) -> Value {
    if path.starts_with("/api/channels") {
        json!({"kind": "ntfy", "settings": {"topic": "ops"}})
    } else if path.starts_with("/api/tokens") {
        json!({"name": "CI", "expires_in": "30d"})
    } else if path == "/api/account/password" {
        json!({"current_password": "correct horse battery", "new_password": "a new horse battery"})
    } else {
        json!({"url": "http://127.0.0.1:9/", "interval": "1h", "paused": true})
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_api_route_requires_a_token() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let monitor = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    let id = monitor["id"].as_i64().unwrap();
    let channel = app.get("/api/channels", &token).await.1[0]["id"]
        .as_i64()
        .unwrap();
    let (_, api_token) = app.post("/api/tokens", &token, json!({"name": "CI"})).await;
    let api_token_id = api_token["id"].as_i64().unwrap();
    let revoked = format!("upbeat_{}", "0".repeat(64));
    for (method, path) in protected_routes(id, channel, api_token_id) {
        for auth in [None, Some("not-a-token"), Some(revoked.as_str())] {
            let body = matches!(method, Method::POST | Method::PUT | Method::PATCH)
                .then(|| body_for(&path));
            let (status, err) = app.request(method.clone(), &path, auth, body).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {auth:?}"
            );
            assert_eq!(err["error"]["code"], "unauthorized");
        }
    }
    // Nothing was changed by the refused calls.
    let monitor_after = app.monitor(&token, id).await;
    assert_eq!(monitor_after["url"], "http://127.0.0.1:9/");
    assert_eq!(monitor_after["paused"], true);
    assert_eq!(
        app.get("/api/tokens", &token)
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_without_a_token() {
    let app = spawn_app().await;
    let (status, body) = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_paths_and_methods_answer_in_the_error_format() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let (status, body) = app.get("/api/nothing-here", &token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    let (status, body) = app
        .request(Method::DELETE, "/api/monitors", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_bodies_are_refused() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let send = |body: Vec<u8>| {
        app.client
            .post(app.url("/api/monitors"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for (body, status) in [
        (b"{not json".to_vec(), StatusCode::BAD_REQUEST),
        (b"".to_vec(), StatusCode::BAD_REQUEST),
        (b"[1, 2]".to_vec(), StatusCode::BAD_REQUEST),
        (
            format!(
                "{{\"url\": \"http://a.example\", \"body\": \"{}\"}}",
                "x".repeat(1024 * 1024 + 10)
            )
            .into_bytes(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ] {
        let resp = send(body).await.unwrap();
        assert_eq!(resp.status(), status);
        let err: serde_json::Value = resp.json().await.unwrap();
        assert!(
            err["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{err}"
        );
    }
    let (_, list) = app.get("/api/monitors", &token).await;
    assert_eq!(list, json!([]), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_calls_are_allowed_only_from_listed_origins() {
    let preflight = |app: &crate::support::TestApp, origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/monitors"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let closed = spawn_app().await;
    let resp = preflight(&closed, "https://status.example.com")
        .await
        .unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());

    let open = spawn_app_with(|c| c.cors_origins = vec!["https://status.example.com".into()]).await;
    let resp = preflight(&open, "https://status.example.com")
        .await
        .unwrap();
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "https://status.example.com"
    );
    let resp = preflight(&open, "https://evil.example").await.unwrap();
    assert!(resp.headers().get("access-control-allow-origin").is_none());
}

/// The published OpenAPI description and the server agree: every operation it lists exists,
/// and the protected ones are exactly the routes tested for authentication above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_matches_the_routes() {
    let app = spawn_app().await;
    let resp = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let spec: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(spec["openapi"], "3.1.0");

    let login = app.register("ada@example.com").await;
    let user_id = app.get("/api/me", &login).await.1["id"].as_i64().unwrap();
    // An API token opens every operation, and outlives changing the password and signing out
    // everywhere, which end the login token; another one is there to be revoked.
    let (_, api_token) = app
        .post("/api/tokens", &login, json!({"name": "docs"}))
        .await;
    let token = api_token["token"].as_str().unwrap().to_owned();
    let (_, revocable) = app
        .post("/api/tokens", &login, json!({"name": "spare"}))
        .await;
    let revocable = revocable["id"].as_i64().unwrap();
    let monitor = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "interval": "1h", "paused": true}),
        )
        .await;
    let id = monitor["id"].as_i64().unwrap();
    let channel = app.get("/api/channels", &token).await.1[0]["id"]
        .as_i64()
        .unwrap();
    let concrete = |path: &str, user: i64| {
        let item = if path.starts_with("/api/channels") {
            channel
        } else if path.starts_with("/api/tokens") {
            revocable
        } else {
            id
        };
        path.replace("{id}", &item.to_string())
            .replace("{user_id}", &user.to_string())
    };

    let mut protected = Vec::new();
    let mut operations: Vec<(Method, String, bool)> = Vec::new();
    let mut texts = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(method) = ["get", "post", "put", "patch", "delete"]
                .contains(&method.as_str())
                .then(|| method.to_uppercase().parse::<Method>().unwrap())
            else {
                continue; // path-level keys such as "parameters"
            };
            let public = op.get("security") == Some(&json!([]));
            // Plain text (the metrics) is read apart from the JSON answers.
            if op["responses"]["200"]["content"]
                .get("application/json")
                .is_none()
                && op["responses"]["200"]["content"]
                    .get("text/plain")
                    .is_some()
            {
                texts.push(concrete(path, user_id));
                continue;
            }
            if !public {
                protected.push((method.clone(), concrete(path, 1)));
            }
            operations.push((method, concrete(path, user_id), public));
        }
    }
    // Deleting last keeps the monitor and the channel for the other operations; changing the
    // password comes after signing in with the old one.
    operations.sort_by_key(|(m, p, _)| (p.starts_with("/api/account"), *m == Method::DELETE));
    for (method, path, public) in operations {
        let body = matches!(method, Method::POST | Method::PUT | Method::PATCH).then(|| match path
            .as_str()
        {
            "/api/auth/register" => json!({"email": "bob@example.com", "password": "long enough"}),
            "/api/auth/login" => {
                json!({"email": "ada@example.com", "password": "correct horse battery"})
            }
            other => body_for(other),
        });
        let token = (!public).then_some(token.as_str());
        let (status, body) = app.request(method.clone(), &path, token, body).await;
        assert!(
            status.is_success(),
            "{method} {path} answered {status}: {body}"
        );
    }

    assert_eq!(texts, ["/metrics"]);
    for path in texts {
        let resp = app.client.get(app.url(&path)).send().await.unwrap();
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
    }

    let mut tested: Vec<(Method, String)> = protected_routes(id, channel, revocable);
    let key = |r: &(Method, String)| format!("{} {}", r.0, r.1);
    tested.sort_by_key(key);
    protected.sort_by_key(key);
    assert_eq!(protected, tested);
}

/// Answers are gzipped for clients that ask, and only for them; the event streams of live
/// pages never are, as compressing would hold their events back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_compressed_for_clients_that_ask_but_event_streams_never() {
    let app = spawn_app().await;
    let get = |path: &'static str, headers: &'static [(&'static str, &'static str)]| {
        let mut request = app.client.get(app.url(path));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send()
    };
    let plain = get("/openapi.json", &[]).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    let gzipped = get("/openapi.json", &[("accept-encoding", "gzip")])
        .await
        .unwrap();
    assert_eq!(gzipped.headers()["content-encoding"], "gzip");
    let gzipped = gzipped.bytes().await.unwrap();
    assert!(
        gzipped.len() * 5 < plain.len(),
        "{} of {}",
        gzipped.len(),
        plain.len()
    );

    app.register("ada@example.com").await;
    let cookie = browser_session(&app, "ada@example.com", "correct horse battery").await;
    let mut stream = app
        .client
        .get(app.url("/"))
        .header("cookie", cookie)
        .header("accept", "text/event-stream")
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    assert!(stream.headers().get("content-encoding").is_none());
    let first = stream.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b"event: page"), "{first:?}");
}
