//! Changing the password and signing out everywhere, through the API: which sessions end, which
//! credentials keep working, and that a browser's cookie never stands in for a token.

use crate::support::signin::{browser_session, still_signed_in};
use crate::support::{spawn_app, spawn_app_with};
use crate::tokens::{PASSWORD, create_token, login, secret};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_password_needs_the_current_one_and_ends_every_other_session() {
    let app = spawn_app().await;
    let first = app.register("ada@example.com").await;
    let (_, second) = login(&app, "ada@example.com", PASSWORD).await;
    let second = second["token"].as_str().unwrap().to_owned();
    let api = secret(&create_token(&app, &first, json!({"name": "CI"})).await);
    let cookie = browser_session(&app, "ada@example.com", PASSWORD).await;
    assert!(still_signed_in(&app, &cookie).await);

    let change = |current: &str, new: &str| {
        app.post(
            "/api/account/password",
            &second,
            json!({"current_password": current, "new_password": new}),
        )
    };
    for (current, new, field) in [
        (
            "wrong horse battery",
            "a new horse battery",
            "current_password",
        ),
        ("", "a new horse battery", "current_password"),
        (PASSWORD, "short", "new_password"),
        (PASSWORD, PASSWORD, "new_password"),
    ] {
        let (status, err) = change(current, new).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
        assert_eq!(err["error"]["field"], field, "{err}");
    }
    let (status, err) = app
        .post(
            "/api/account/password",
            &second,
            json!({"current_password": PASSWORD, "new_password": "a new horse battery", "confirm": "x"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    // Nothing changed so far.
    assert_eq!(
        login(&app, "ada@example.com", PASSWORD).await.0,
        StatusCode::OK
    );
    assert_eq!(app.get("/api/me", &first).await.0, StatusCode::OK);

    let (status, session) = change(PASSWORD, "a new horse battery").await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["user"]["email"], "ada@example.com");
    let fresh = session["token"].as_str().unwrap();

    // Every login token issued before, the caller's included, and every browser session end;
    // the new login token and the API token work.
    for old in [&first, &second] {
        assert_eq!(app.get("/api/me", old).await.0, StatusCode::UNAUTHORIZED);
    }
    assert!(!still_signed_in(&app, &cookie).await);
    assert_eq!(app.get("/api/me", fresh).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/me", &api).await.0, StatusCode::OK);

    // Only the new password signs in.
    assert_eq!(
        login(&app, "ada@example.com", PASSWORD).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = login(&app, "ada@example.com", "a new horse battery").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        app.get("/api/me", body["token"].as_str().unwrap()).await.0,
        StatusCode::OK
    );
    browser_session(&app, "ada@example.com", "a new horse battery").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guesses_of_the_current_password_are_limited_like_sign_ins() {
    let app = spawn_app_with(|c| c.login.per_account_per_minute = 3).await;
    let token = app.register("ada@example.com").await;
    let guess = |current: &'static str| {
        app.post(
            "/api/account/password",
            &token,
            json!({"current_password": current, "new_password": "a new horse battery"}),
        )
    };
    for _ in 0..3 {
        assert_eq!(
            guess("wrong horse battery").await.0,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
    let (status, err) = guess(PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{err}");
    assert_eq!(err["error"]["code"], "rate_limited");
    // Sign-ins to the account share the limit.
    assert_eq!(
        login(&app, "ada@example.com", PASSWORD).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        app.get("/api/me", &token).await.0,
        StatusCode::OK,
        "unchanged"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_everywhere_ends_login_tokens_and_browser_sessions_but_not_api_tokens() {
    let app = spawn_app().await;
    let login_token = app.register("ada@example.com").await;
    let api = secret(&create_token(&app, &login_token, json!({"name": "CI"})).await);
    let cookie = browser_session(&app, "ada@example.com", PASSWORD).await;
    let bob = app.register("bob@example.com").await;
    let bobs_cookie = browser_session(&app, "bob@example.com", PASSWORD).await;

    let (status, body) = app
        .request(
            Method::POST,
            "/api/account/sign-out-everywhere",
            Some(&login_token),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, err) = app.get("/api/me", &login_token).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["code"], "unauthorized");
    assert!(!still_signed_in(&app, &cookie).await);
    assert_eq!(app.get("/api/me", &api).await.0, StatusCode::OK);
    // Another account is untouched.
    assert_eq!(app.get("/api/me", &bob).await.0, StatusCode::OK);
    assert!(still_signed_in(&app, &bobs_cookie).await);
    // Signing in again works at once, with the same password.
    let (status, body) = login(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        app.get("/api/me", body["token"].as_str().unwrap()).await.0,
        StatusCode::OK
    );
    assert!(
        still_signed_in(
            &app,
            &browser_session(&app, "ada@example.com", PASSWORD).await
        )
        .await
    );

    // An API token may sign its account out everywhere too, and keeps working.
    let (status, _) = app
        .request(
            Method::POST,
            "/api/account/sign-out-everywhere",
            Some(&api),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.get("/api/me", body["token"].as_str().unwrap()).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/api/me", &api).await.0, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_browser_session_cookie_never_opens_the_token_and_account_api() {
    let app = spawn_app().await;
    app.register("ada@example.com").await;
    let cookie = browser_session(&app, "ada@example.com", PASSWORD).await;
    let origin = app.url("");
    for (method, path, body) in [
        (Method::POST, "/api/tokens", json!({"name": "stolen"})),
        (Method::GET, "/api/tokens", Value::Null),
        (
            Method::POST,
            "/api/account/password",
            json!({"current_password": PASSWORD, "new_password": "taken over!"}),
        ),
        (
            Method::POST,
            "/api/account/sign-out-everywhere",
            Value::Null,
        ),
    ] {
        // Whether the call comes from another site or claims to come from upbeat itself.
        for from in ["https://evil.example", origin.trim_end_matches('/')] {
            let mut request = app
                .client
                .request(method.clone(), app.url(path))
                .header(reqwest::header::COOKIE, &cookie)
                .header(reqwest::header::ORIGIN, from);
            if !body.is_null() {
                request = request.json(&body);
            }
            let status = request.send().await.unwrap().status();
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} from {from}"
            );
        }
    }
    assert!(still_signed_in(&app, &cookie).await);
    assert_eq!(
        login(&app, "ada@example.com", PASSWORD).await.0,
        StatusCode::OK
    );
}
