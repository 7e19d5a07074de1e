//! The settings page in a real browser: an API token made, shown once, used and revoked; the
//! password changed; every session signed out.

use crate::support::browser::Browser;
use crate::support::signin::{PageSession, browser_session, login_token, still_signed_in};
use crate::support::{TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

const EMAIL: &str = "ada@example.com";

/// A login token for the account, from the API.
async fn login(app: &TestApp, password: &str) -> Option<String> {
    login_token(app, EMAIL, password).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_makes_uses_and_revokes_a_token_changes_the_password_and_signs_out_everywhere() {
    let app = spawn_app().await;
    let browser = Browser::start(1280, 900).await;

    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", EMAIL).await;
    browser.fill("#password", "correct horse").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/").await;
    browser.click("nav a[href='/settings']").await;
    browser.wait_for_path(|p| p == "/settings").await;
    assert!(browser.text("#tokens-heading + p").await.contains("Bearer"));

    // A name is needed; the error sits next to its field.
    browser.click("#token-form button[type=submit]").await;
    let error = browser.text("#token_name-error").await;
    assert!(error.contains("empty"), "{error}");

    // The new token is shown once, with a warning that it will not be again.
    browser.fill("#token_name", "deploy script").await;
    browser
        .find("#expires_in")
        .await
        .select_by_value("30d")
        .await
        .expect("a lifetime to choose");
    browser.click("#token-form button[type=submit]").await;
    let shown = browser.text(".new-token").await;
    assert!(shown.contains("will not be shown again"), "{shown}");
    assert!(shown.contains("deploy script"), "{shown}");
    let token = browser
        .find("#new-token")
        .await
        .prop("value")
        .await
        .expect("the token's field")
        .expect("a token");
    assert!(token.starts_with("upbeat_"), "{token}");

    // It works against the API, and the page never shows it again.
    let (status, monitors) = app.get("/api/monitors", &token).await;
    assert_eq!(status, StatusCode::OK, "{monitors}");
    browser.goto(&app.url("/settings")).await;
    let row = browser.text("#tokens tbody tr").await;
    assert!(row.contains("deploy script"), "{row}");
    assert!(!row.contains("never"), "its last use is shown: {row}");
    let source = browser.client.source().await.expect("the page source");
    assert!(
        !source.contains(&token[7..]),
        "the token is on the page again"
    );
    assert!(
        browser
            .client
            .find(fantoccini::Locator::Css("#new-token"))
            .await
            .is_err()
    );

    // Revoked, it stops working at once.
    browser.click("#tokens button[type=submit]").await;
    let notice = browser
        .wait_for_text(".notice", false, |t| t.contains("revoked"))
        .await;
    assert!(notice.contains("no longer works"), "{notice}");
    assert_eq!(
        app.get("/api/monitors", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        browser
            .text("main")
            .await
            .contains("You have no API tokens")
    );

    // Changing the password: the current one is checked, the new one typed twice.
    let other_login = login(&app, "correct horse").await.expect("signed in");
    let other_browser = browser_session(&app, EMAIL, "correct horse").await;
    browser.fill("#current_password", "wrong horse").await;
    browser.fill("#new_password", "a new horse").await;
    browser.fill("#confirm_password", "a new horse").await;
    browser.click("#password-form button[type=submit]").await;
    let error = browser.text("#current_password-error").await;
    assert!(error.contains("not your current password"), "{error}");
    browser.fill("#current_password", "correct horse").await;
    browser.fill("#new_password", "a new horse").await;
    browser.fill("#confirm_password", "a new hose").await;
    browser.click("#password-form button[type=submit]").await;
    let error = browser.text("#confirm_password-error").await;
    assert!(error.contains("does not match"), "{error}");
    assert!(login(&app, "correct horse").await.is_some(), "unchanged");

    browser.fill("#current_password", "correct horse").await;
    browser.fill("#new_password", "a new horse").await;
    browser.fill("#confirm_password", "a new horse").await;
    browser.click("#password-form button[type=submit]").await;
    browser
        .wait_for_text(".notice", false, |t| t.contains("password was changed"))
        .await;
    // This browser stays signed in; every other session ended.
    browser.goto(&app.url("/settings")).await;
    browser.wait_for_path(|p| p == "/settings").await;
    assert_eq!(
        app.get("/api/me", &other_login).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(!still_signed_in(&app, &other_browser).await);
    assert!(login(&app, "correct horse").await.is_none());
    let after = login(&app, "a new horse").await.expect("the new password");

    // Signing out everywhere ends this browser's session too, and every login token.
    browser
        .click("#sign-out-everywhere button[type=submit]")
        .await;
    browser.wait_for_path(|p| p == "/signin").await;
    let notice = browser.text(".notice").await;
    assert!(notice.contains("signed out everywhere"), "{notice}");
    assert_eq!(app.get("/api/me", &after).await.0, StatusCode::UNAUTHORIZED);
    browser.goto(&app.url("/settings")).await;
    browser.wait_for_path(|p| p == "/signin").await;

    // Signing in again works, with the new password.
    browser.fill("#email", EMAIL).await;
    browser.fill("#password", "a new horse").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_forms_from_another_site_without_the_token_or_for_another_user_change_nothing() {
    let app = spawn_app().await;
    let ada = app.register(EMAIL).await;
    let session = PageSession::sign_in(&app, EMAIL, "correct horse battery").await;
    let (cookie, csrf) = (session.cookie.clone(), session.csrf.clone());
    let bob = app.register("bob@example.com").await;
    let (_, bobs) = app.post("/api/tokens", &bob, json!({"name": "CI"})).await;
    let bobs_id = bobs["id"].as_i64().unwrap();

    let evil = Some("https://evil.example");
    let password = [
        ("current_password", "correct horse battery"),
        ("new_password", "taken over!"),
        ("confirm_password", "taken over!"),
    ];
    let forms: [(&str, Vec<(&str, &str)>); 3] = [
        ("/settings/password", password.to_vec()),
        (
            "/settings/tokens",
            vec![("name", "stolen"), ("expires_in", "30d")],
        ),
        ("/settings/sign-out-everywhere", vec![]),
    ];
    for (path, fields) in &forms {
        for (csrf, origin) in [(csrf.as_str(), evil), ("0000", None), ("", None)] {
            let mut form = fields.clone();
            form.push(("csrf", csrf));
            assert_eq!(
                session.post_as(&app, path, origin, &form).await,
                StatusCode::FORBIDDEN,
                "{path} with {csrf:?} from {origin:?}"
            );
        }
    }
    // Another user's token is not there to revoke.
    let revoke = format!("/settings/tokens/{bobs_id}/revoke");
    assert_eq!(
        session
            .post_as(&app, &revoke, None, &[("csrf", &csrf)])
            .await,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        session
            .post_as(
                &app,
                "/settings/tokens/nope/revoke",
                None,
                &[("csrf", &csrf)]
            )
            .await,
        StatusCode::NOT_FOUND
    );

    assert!(still_signed_in(&app, &cookie).await);
    assert_eq!(app.get("/api/me", &ada).await.0, StatusCode::OK);
    assert_eq!(app.get("/api/tokens", &ada).await.1, json!([]));
    assert_eq!(
        app.get("/api/me", bobs["token"].as_str().unwrap()).await.0,
        StatusCode::OK
    );
    assert!(login(&app, "correct horse battery").await.is_some());

    // The same forms from upbeat's own page are accepted.
    let own = app.url("");
    let own = Some(own.trim_end_matches('/'));
    let mut form = forms[1].1.clone();
    form.push(("csrf", &csrf));
    assert_eq!(
        session.post_as(&app, "/settings/tokens", own, &form).await,
        StatusCode::CREATED
    );
    assert_eq!(
        app.get("/api/tokens", &ada)
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
