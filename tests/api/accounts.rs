//! Signing up, signing in, tokens, and the limits on attempts.

use crate::support::{spawn_app, spawn_app_with};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_then_login_gives_tokens_for_the_same_account() {
    let app = spawn_app().await;
    let (status, body) = app
        .request(
            Method::POST,
            "/api/auth/register",
            None,
            Some(json!({"email": "  Ada@Example.COM ", "password": "correct horse"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["user"]["email"], "ada@example.com");
    let id = body["user"]["id"].as_i64().unwrap();
    assert!(body["token"].as_str().unwrap().len() > 20);
    assert!(body["expires_at"].is_string());

    let (status, body) = app
        .request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "correct horse"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["token"].as_str().unwrap();
    let (status, me) = app.get("/api/me", token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me, json!({"id": id, "email": "ada@example.com"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_registered_twice_is_a_conflict() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    let (status, body) = app
        .request(
            Method::POST,
            "/api/auth/register",
            None,
            Some(json!({"email": "ADA@example.com", "password": "another password"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "conflict");
    assert_eq!(body["error"]["field"], "email");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_rejects_bad_input_naming_the_field() {
    let app = spawn_app().await;
    for (body, field) in [
        (
            json!({"email": "ada@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "not an email", "password": "long enough"}),
            "email",
        ),
        (json!({"password": "long enough"}), "email"),
        (json!({"email": "ada@example.com"}), "password"),
        (json!({"email": 7, "password": "long enough"}), "email"),
    ] {
        let (status, err) = app
            .request(Method::POST, "/api/auth/register", None, Some(body.clone()))
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["field"], field, "{body}");
    }
    // Nothing was created: the address is still free.
    app.register("ada@example.com").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_accounts_are_refused_alike() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    for body in [
        json!({"email": "ada@example.com", "password": "wrong horse"}),
        json!({"email": "nobody@example.com", "password": "correct horse battery"}),
    ] {
        let (status, err) = app
            .request(Method::POST, "/api/auth/login", None, Some(body))
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(err["error"]["message"], "wrong email or password");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_logins_to_one_account_are_limited() {
    let app = spawn_app_with(|c| c.login.per_account_per_minute = 3).await;
    app.register("ada@example.com").await;
    let attempt = |password: &'static str| {
        app.request(
            Method::POST,
            "/api/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": password})),
        )
    };
    for _ in 0..3 {
        assert_eq!(attempt("wrong password").await.0, StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused until the limit has passed.
    let resp = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": "ada@example.com", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_attempts_from_one_address_are_limited_across_accounts() {
    let app = spawn_app_with(|c| c.login.per_address_per_minute = 4).await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let (status, _) = app
            .request(
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({"email": format!("user{i}@example.com"), "password": "whatever1"})),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(&statuses[..4], [StatusCode::UNAUTHORIZED; 4]);
    assert_eq!(&statuses[4..], [StatusCode::TOO_MANY_REQUESTS; 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_forged_tokens_are_refused() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let secret = "s".repeat(40);
    let app = spawn_app_with(|c| {
        c.jwt_secret = Some(serde_json::from_value(json!(secret.clone())).unwrap());
    })
    .await;
    let token = app.register("ada@example.com").await;
    let (status, me) = app.get("/api/me", &token).await;
    assert_eq!(status, StatusCode::OK);
    let id = me["id"].as_i64().unwrap();

    let now = upbeat::timestamp::Timestamp::now().as_millis() / 1000;
    let claims = |exp: i64| json!({"sub": id.to_string(), "iat": exp - 60, "exp": exp});
    let expired = encode(
        &Header::default(),
        &claims(now - 10),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    let forged = encode(
        &Header::default(),
        &claims(now + 3600),
        &EncodingKey::from_secret(b"another secret, not ours!!!!!!!!!"),
    )
    .unwrap();
    let valid = encode(
        &Header::default(),
        &claims(now + 3600),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    for bad in [expired.as_str(), forged.as_str(), "garbage", ""] {
        let (status, err) = app.get("/api/me", bad).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(err["error"]["code"], "unauthorized");
    }
    assert_eq!(app.get("/api/me", &valid).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signing_secret_is_generated_once_and_kept() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let app = app.restart().await;
    let (status, _) = app.get("/api/me", &token).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a token from before the restart still works"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ups_from_one_address_are_limited() {
    let app = spawn_app_with(|c| c.login.per_address_per_minute = 3).await;
    let mut statuses = Vec::new();
    for i in 0..4 {
        let (status, _) = app
            .request(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"email": format!("user{i}@example.com"), "password": "long enough"})),
            )
            .await;
        statuses.push(status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::CREATED,
            StatusCode::TOO_MANY_REQUESTS
        ]
    );
}
