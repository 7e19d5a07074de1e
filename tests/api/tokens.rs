//! API tokens through the API: made and shown once, accepted wherever a login token is, kept
//! only as a hash, and refused once expired or revoked.

use crate::support::{TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const PASSWORD: &str = "correct horse battery";

/// Makes an API token; returns the whole answer.
pub async fn create_token(app: &TestApp, token: &str, body: Value) -> Value {
    let (status, created) = app.post("/api/tokens", token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

pub fn secret(created: &Value) -> String {
    created["token"].as_str().expect("the token").to_owned()
}

async fn delete(app: &TestApp, path: &str, token: &str) -> StatusCode {
    app.request(Method::DELETE, path, Some(token), None).await.0
}

pub async fn login(app: &TestApp, email: &str, password: &str) -> (StatusCode, Value) {
    app.request(
        Method::POST,
        "/api/auth/login",
        None,
        Some(json!({"email": email, "password": password})),
    )
    .await
}

/// A direct connection to the service's database.
async fn database(app: &TestApp) -> sqlx::SqliteConnection {
    <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.config.database_url)
        .await
        .expect("the database opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_token_is_shown_once_then_works_like_a_login_token_until_revoked() {
    let app = spawn_app().await;
    let login = app.register("ada@example.com").await;
    let created = create_token(&app, &login, json!({"name": "  deploy script "})).await;
    let token = secret(&created);
    assert!(token.starts_with("upbeat_"), "{token}");
    assert_eq!(created["name"], "deploy script");
    assert!(created["last_used_at"].is_null());
    let lifetime = crate::support::millis(&created["expires_at"])
        - crate::support::millis(&created["created_at"]);
    assert_eq!(lifetime, 365 * 86_400_000, "a year unless asked otherwise");

    // It opens every route a login token opens, as the same account.
    assert_eq!(app.get("/api/monitors", &token).await.0, StatusCode::OK);
    let me = app.get("/api/me", &token).await.1;
    assert_eq!(me["email"], "ada@example.com");
    let monitor = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    let (status, list) = app.get("/api/monitors", &login).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list[0]["id"], monitor["id"]);

    // The list never shows the token again, and says when it was last used.
    let (status, tokens) = app.get("/api/tokens", &token).await;
    assert_eq!(status, StatusCode::OK);
    assert!(!tokens.to_string().contains(&token[7..]), "{tokens}");
    let listed = &tokens.as_array().unwrap()[..];
    assert_eq!(listed.len(), 1, "{tokens}");
    assert!(listed[0].get("token").is_none(), "{tokens}");
    assert_eq!(listed[0]["id"], created["id"]);
    assert_eq!(listed[0]["name"], "deploy script");
    assert_eq!(listed[0]["expires_at"], created["expires_at"]);
    let used = crate::support::millis(&listed[0]["last_used_at"]);
    assert!(used >= crate::support::millis(&created["created_at"]));

    // Revoked, it opens nothing, at once.
    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        delete(&app, &format!("/api/tokens/{id}"), &login).await,
        StatusCode::NO_CONTENT
    );
    let (status, err) = app.get("/api/monitors", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    assert_eq!(err["error"]["code"], "unauthorized");
    assert_eq!(app.get("/api/tokens", &login).await.1, json!([]));
    assert_eq!(
        delete(&app, &format!("/api/tokens/{id}"), &login).await,
        StatusCode::NOT_FOUND,
        "already gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_api_token_is_refused() {
    let app = spawn_app().await;
    let login = app.register("ada@example.com").await;
    let created = create_token(&app, &login, json!({"name": "CI", "expires_in": "1h"})).await;
    let lifetime = crate::support::millis(&created["expires_at"])
        - crate::support::millis(&created["created_at"]);
    assert_eq!(lifetime, 3_600_000);
    let token = secret(&created);
    assert_eq!(app.get("/api/me", &token).await.0, StatusCode::OK);

    // An hour passes, as far as the token is concerned.
    let mut db = database(&app).await;
    sqlx::query("UPDATE api_tokens SET expires_at = created_at - 1")
        .execute(&mut db)
        .await
        .unwrap();
    let (status, err) = app.get("/api/me", &token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{err}");
    // Still listed, so its owner can see why their script stopped.
    let (_, tokens) = app.get("/api/tokens", &login).await;
    assert_eq!(tokens[0]["id"], created["id"], "{tokens}");

    // A token that is not one, or was never made, is refused the same way.
    for bad in [
        "upbeat_".to_owned(),
        format!("upbeat_{}", "0".repeat(64)),
        format!("{token}x"),
    ] {
        assert_eq!(
            app.get("/api/me", &bad).await.0,
            StatusCode::UNAUTHORIZED,
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_tokens_can_be_neither_seen_nor_revoked() {
    let app = spawn_app().await;
    let bob = app.register("bob@example.com").await;
    let eve = app.register("eve@example.com").await;
    let bobs = create_token(&app, &bob, json!({"name": "backup"})).await;
    let id = bobs["id"].as_i64().unwrap();
    assert_eq!(app.get("/api/tokens", &eve).await.1, json!([]));
    assert_eq!(
        delete(&app, &format!("/api/tokens/{id}"), &eve).await,
        StatusCode::NOT_FOUND
    );
    for path in ["/api/tokens/0", "/api/tokens/nope", "/api/tokens/99999"] {
        assert_eq!(
            delete(&app, path, &eve).await,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    // Bob's token still works, and is still his.
    let (status, me) = app.get("/api/me", &secret(&bobs)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(me["email"], "bob@example.com");
    // The same name is Eve's to use too.
    create_token(&app, &eve, json!({"name": "backup"})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_names_and_lifetimes_are_checked_naming_the_field() {
    let app = spawn_app().await;
    let login = app.register("ada@example.com").await;
    for (body, field) in [
        (json!({}), "name"),
        (json!({"name": null}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": "x".repeat(101)}), "name"),
        (json!({"name": "a\u{7}b"}), "name"),
        (json!({"name": 7}), "name"),
        (json!({"name": "CI", "expires_in": "soon"}), "expires_in"),
        (json!({"name": "CI", "expires_in": "30m"}), "expires_in"),
        (json!({"name": "CI", "expires_in": "3y"}), "expires_in"),
        (json!({"name": "CI", "expires_in": 0}), "expires_in"),
        (json!({"name": "CI", "expires_in": true}), "expires_in"),
        (json!({"name": "CI", "scopes": ["read"]}), "scopes"),
        (json!({"name": "CI", "token": "upbeat_mine"}), "token"),
    ] {
        let (status, err) = app.post("/api/tokens", &login, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert_eq!(err["error"]["code"], "invalid", "{body}");
        assert_eq!(err["error"]["field"], field, "{body}: {err}");
    }
    assert_eq!(app.get("/api/tokens", &login).await.1, json!([]));
    // The bounds themselves are accepted.
    for expires_in in [json!("1h"), json!("2y"), json!(7200), json!(null)] {
        let name = format!("CI {expires_in}");
        create_token(
            &app,
            &login,
            json!({"name": name, "expires_in": expires_in}),
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_hash_of_each_token_is_stored() {
    let app = spawn_app().await;
    let login = app.register("ada@example.com").await;
    let token = secret(&create_token(&app, &login, json!({"name": "CI"})).await);
    assert_eq!(app.get("/api/me", &token).await.0, StatusCode::OK);
    let random = token.trim_start_matches("upbeat_");

    let mut db = database(&app).await;
    let (name, hash): (String, Vec<u8>) = sqlx::query_as("SELECT name, token_hash FROM api_tokens")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(name, "CI");
    assert_eq!(
        hash,
        Sha256::digest(token.as_bytes()).to_vec(),
        "its SHA-256"
    );
    drop(db);

    // Not anywhere in the database's files either, the write-ahead log included.
    let path = app
        .config
        .database_url
        .trim_start_matches("sqlite:")
        .to_owned();
    let mut files = 0;
    for suffix in ["", "-wal", "-shm"] {
        let Ok(bytes) = std::fs::read(format!("{path}{suffix}")) else {
            continue;
        };
        files += 1;
        for needle in [random.as_bytes(), &hex_decode(random)] {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "the token is in {path}{suffix}"
            );
        }
    }
    assert!(files >= 1, "no database file at {path}");
}

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_holds_at_most_fifty_tokens_each_with_its_own_name() {
    let app = spawn_app().await;
    let login = app.register("ada@example.com").await;
    let first = create_token(&app, &login, json!({"name": "script 0"})).await;
    let (status, err) = app
        .post("/api/tokens", &login, json!({"name": "script 0"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["field"], "name");
    for i in 1..50 {
        create_token(&app, &login, json!({"name": format!("script {i}")})).await;
    }
    let (status, err) = app
        .post("/api/tokens", &login, json!({"name": "one too many"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{err}");
    assert_eq!(err["error"]["code"], "limit_reached");
    assert_eq!(
        app.get("/api/tokens", &login)
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(50)
    );
    // Revoking one makes room.
    let id = first["id"].as_i64().unwrap();
    assert_eq!(
        delete(&app, &format!("/api/tokens/{id}"), &login).await,
        StatusCode::NO_CONTENT
    );
    create_token(&app, &login, json!({"name": "one too many"})).await;
}
