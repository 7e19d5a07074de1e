//! The channel pages: adding, editing, testing and deleting a channel in a real browser, with
//! its messages received by a stand-in on loopback, and the server keeping the API's rules on
//! secrets, ownership and test limits whatever the browser sends.

use crate::channels::{app_with_service, requests, webhook_channel};
use crate::support::browser::Browser;
use crate::support::service::FakeService;
use crate::support::signin::{PASSWORD, PageSession, login_token};
use crate::support::{TestApp, spawn_app, spawn_app_with};
use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::Sha256;
use upbeat::secret::Secret;

const MASK: &str = "********";

/// An API token for an account made through the pages, to look behind them.
async fn api_token(app: &TestApp, email: &str) -> String {
    login_token(app, email, PASSWORD)
        .await
        .expect("a login token")
}

async fn channels(app: &TestApp, token: &str) -> Vec<Value> {
    let (status, list) = app.get("/api/channels", token).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list.as_array().cloned().unwrap_or_default()
}

/// The part of a page from the element with `id` to the end of its list item.
fn row<'a>(page: &'a str, id: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} in the page:\n{page}"));
    let rest = &page[at..];
    &rest[..rest.find("</li>").unwrap_or(rest.len())]
}

async fn sign_up(browser: &Browser, app: &TestApp, email: &str) {
    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", email).await;
    browser.fill("#password", PASSWORD).await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/").await;
}

fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_channel_is_added_edited_tested_and_deleted_in_the_browser() {
    let hook = FakeService::start(200, "ok").await;
    let app = app_with_service(&hook).await;
    let browser = Browser::start(1280, 900).await;
    sign_up(&browser, &app, "ada@example.com").await;
    let token = api_token(&app, "ada@example.com").await;

    // The nav leads to the list, which starts with the account's email channel.
    browser.click("nav a[href='/channels']").await;
    browser.wait_for_path(|p| p == "/channels").await;
    assert!(
        browser
            .text("main .channel .name")
            .await
            .contains("Email me")
    );

    // Kind first, then that kind's form; a bad URL is refused next to its input.
    browser.click("main .page-head a.button").await;
    browser.click("#kind-webhook").await;
    assert!(browser.find("#secret").await.attr("type").await.unwrap() == Some("password".into()));
    browser.fill("#name", "Hooks").await;
    browser.fill("#url", "ftp://example.com/hook").await;
    browser.fill("#headers", "Authorization: Bearer T0K").await;
    browser.fill("#secret", "whsec").await;
    browser.click("main button[type=submit]").await;
    let error = browser.text("#url-error").await;
    assert!(error.contains("http://"), "{error}");
    // What was typed comes back, except the secrets, which the page says to enter again.
    let url_value = browser.find("#url").await.prop("value").await.unwrap();
    assert_eq!(url_value.as_deref(), Some("ftp://example.com/hook"));
    let secret_value = browser.find("#secret").await.prop("value").await.unwrap();
    assert_eq!(secret_value.as_deref(), Some(""));
    assert!(
        browser
            .text("#secret-notice")
            .await
            .contains("enter it again")
    );
    let source = browser.client.source().await.unwrap();
    assert!(!source.contains("whsec") && !source.contains("T0K"));
    assert_eq!(channels(&app, &token).await.len(), 1, "nothing created");

    browser.fill("#url", &hook.url("/in/s3cr3t")).await;
    browser.fill("#headers", "Authorization: Bearer T0K").await;
    browser.fill("#secret", "whsec").await;
    browser.click("main button[type=submit]").await;
    // The form with the error was already at /channels: the list is what tells them apart.
    browser.find("#channels").await;
    let created = channels(&app, &token).await;
    assert_eq!(created.len(), 2, "{created:?}");
    let id = created[1]["id"].as_i64().unwrap();
    let row = format!("#channel-{id}");
    assert_eq!(browser.text(&format!("{row} .name")).await, "Hooks");
    assert_eq!(browser.text(&format!("{row} .kind")).await, "Webhook");
    let destination = browser.text(&format!("{row} .destination")).await;
    assert!(
        destination.contains(&format!("http://{}/{MASK}", hook.addr)),
        "{destination}"
    );
    assert!(!destination.contains("/in/s3cr3t"), "{destination}");
    // Editing the name keeps the secrets, which the form never holds.
    browser.click(&format!("{row} a[href$='/edit']")).await;
    assert_eq!(
        browser
            .find("#name")
            .await
            .prop("value")
            .await
            .unwrap()
            .as_deref(),
        Some("Hooks")
    );
    assert!(
        browser
            .text("#secret-stored")
            .await
            .contains("Leave empty to keep it")
    );
    let source = browser.client.source().await.unwrap();
    for secret in ["whsec", "T0K", "/in/s3cr3t"] {
        assert!(!source.contains(secret), "{secret} in the edit form");
    }
    browser.fill("#name", "Ops hooks").await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/channels").await;
    assert_eq!(browser.text(&format!("{row} .name")).await, "Ops hooks");

    // A test goes out with the stored secret and headers, and its outcome shows on the row.
    browser.click(&format!("{row} button.test")).await;
    let outcome = browser
        .wait_for_text(&format!("{row} .outcome"), false, |t| !t.is_empty())
        .await;
    assert!(outcome.contains("Test message sent"), "{outcome}");
    let sent = requests(&hook, 1).await;
    assert_eq!(sent[0].target, "/in/s3cr3t");
    assert_eq!(sent[0].json()["event"], "test");
    assert_eq!(sent[0].header("authorization"), "Bearer T0K");
    assert_eq!(
        sent[0].header("x-upbeat-signature-256"),
        signature("whsec", &sent[0].body)
    );
    browser.screenshot("channels").await;

    // A refusal shows what the destination said; reloading the page sends nothing again.
    hook.answer(410, "this hook is gone");
    // From a list without an outcome, so that the next one shown is the new one.
    browser.goto(&app.url("/channels")).await;
    browser.click(&format!("{row} button.test")).await;
    let outcome = browser
        .wait_for_text(&format!("{row} .outcome"), false, |t| t.contains("410"))
        .await;
    assert!(outcome.starts_with("Not sent"), "{outcome}");
    browser.client.refresh().await.unwrap();
    browser.find(&format!("{row} .outcome")).await;
    assert_eq!(hook.received().len(), 2);

    // Deleting says how many monitors lose it, and happens only once confirmed.
    app.create_monitor(
        &token,
        json!({"url": "http://127.0.0.1:9/", "paused": true, "channels": [id]}),
    )
    .await;
    browser.goto(&app.url("/channels")).await;
    browser.click(&format!("{row} a.delete")).await;
    let usage = browser.text("main .usage-count").await;
    assert!(usage.contains("1 monitor alerts it"), "{usage}");
    let path = format!("/api/channels/{id}");
    assert_eq!(app.get(&path, &token).await.0, StatusCode::OK);
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/channels").await;
    assert_eq!(app.get(&path, &token).await.0, StatusCode::NOT_FOUND);
    let source = browser.client.source().await.unwrap();
    assert!(!source.contains(&format!("id=\"channel-{id}\"")));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_channel_pages_do_not_exist_and_change_nothing() {
    let hook = FakeService::start(200, "ok").await;
    let app = app_with_service(&hook).await;
    let bob = app.register("bob@example.com").await;
    let channel = webhook_channel(&app, &bob, &hook.url("/bob")).await;
    let id = channel["id"].as_i64().unwrap();
    let (_, tested) = app
        .post(&format!("/api/channels/{id}/test"), &bob, json!({}))
        .await;
    let delivery = tested["delivery"]["id"].as_i64().unwrap();

    let eve = PageSession::sign_up(&app, "eve@example.com").await;
    for path in ["edit", "delete"] {
        let (status, page) = eve.get(&app, &format!("/channels/{id}/{path}")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(page.contains("There is nothing here"), "{page}");
    }
    for (path, form) in [
        (
            "edit",
            vec![("name", "mine"), ("url", "http://127.0.0.1:9/")],
        ),
        ("test", vec![]),
        ("delete", vec![]),
    ] {
        let (status, _, _) = eve
            .post(&app, &format!("/channels/{id}/{path}"), &form)
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    // Her list shows neither his channel nor the outcome of his test.
    let (_, list) = eve.get(&app, &format!("/channels?tested={delivery}")).await;
    assert!(!list.contains(&format!("channel-{id}")) && !list.contains("outcome"));

    let (status, kept) = app.get(&format!("/api/channels/{id}"), &bob).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept, channel);
    assert_eq!(hook.received().len(), 1, "only his own test was sent");

    // A form without this session's forgery token changes nothing either.
    let forged = PageSession {
        csrf: "00".repeat(32),
        ..eve
    };
    let (status, _, _) = forged
        .post(
            &app,
            "/channels",
            &[("kind", "webhook"), ("url", "http://127.0.0.1:9/")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let token = api_token(&app, "eve@example.com").await;
    assert_eq!(channels(&app, &token).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pointing_a_webhook_elsewhere_on_its_page_asks_for_its_secrets_again() {
    let app = spawn_app().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let token = api_token(&app, "ada@example.com").await;
    let (status, location, _) = ada
        .post(
            &app,
            "/channels",
            &[
                ("kind", "webhook"),
                ("name", "Hooks"),
                ("url", "https://hooks.example.com/in?token=URLSECRET"),
                ("secret", "K3Y"),
                ("default", "on"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let hook = channels(&app, &token).await.pop().unwrap();
    let id = hook["id"].as_i64().unwrap();
    assert_eq!(location, format!("/channels#channel-{id}"));
    assert_eq!(hook["default"], true);
    assert_eq!(hook["settings"]["secret"], MASK);
    let edit = format!("/channels/{id}/edit");

    // The list and the form show it as the API does, never the secrets.
    let (_, list) = ada.get(&app, "/channels").await;
    let shown = row(&list, &format!("channel-{id}"));
    assert!(
        shown.contains(&format!("https://hooks.example.com/{MASK}")),
        "{shown}"
    );
    assert!(shown.contains("Default"), "{shown}");
    let (_, form) = ada.get(&app, &edit).await;
    assert!(
        !form.contains("URLSECRET") && !form.contains("K3Y"),
        "{form}"
    );

    // A new address with the secret left empty is refused next to the secret.
    let (status, _, page) = ada
        .post(
            &app,
            &edit,
            &[
                ("name", "Hooks"),
                ("url", "https://elsewhere.example/in"),
                ("default", "on"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = row(&page, "secret-error");
    assert!(error.contains("Not kept for a new URL"), "{error}");
    let (_, unchanged) = app.get(&format!("/api/channels/{id}"), &token).await;
    assert_eq!(unchanged, hook);

    // Removing the secret, or entering a new one, is accepted; an empty name is not.
    let (status, _, page) = ada.post(&app, &edit, &[("name", " ")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("id=\"name-error\""), "{page}");
    let (status, _, _) = ada
        .post(
            &app,
            &edit,
            &[
                ("name", "Hooks"),
                ("url", "https://elsewhere.example/in"),
                ("remove_secret", "on"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, moved) = app.get(&format!("/api/channels/{id}"), &token).await;
    assert_eq!(moved["settings"]["secret"], Value::Null, "{moved}");
    assert_eq!(moved["default"], false, "the unticked box is saved too");
    assert_eq!(
        moved["settings"]["url"],
        format!("https://elsewhere.example/{MASK}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_channels_warn_on_the_list_only_while_mail_is_off() {
    let off = spawn_app().await;
    let ada = PageSession::sign_up(&off, "ada@example.com").await;
    let (_, list) = ada.get(&off, "/channels").await;
    let email = row(&list, "channel-1");
    assert!(
        email.contains("Email me") && email.contains("ada@example.com"),
        "{email}"
    );
    assert!(email.contains("class=\"warning\""), "{email}");
    assert!(email.contains("Email alerts are off"), "{email}");

    let sendgrid = FakeService::start(202, "").await;
    let on = spawn_app_with(|c| {
        c.sendgrid_api_key = Some(Secret::new("SG.test-key"));
        c.sendgrid_url = sendgrid.url("");
        c.smtp_from = Some("upbeat <alerts@example.com>".into());
    })
    .await;
    let ada = PageSession::sign_up(&on, "ada@example.com").await;
    let (_, list) = ada.get(&on, "/channels").await;
    let email = row(&list, "channel-1");
    assert!(email.contains("Email me"), "{email}");
    assert!(!email.contains("class=\"warning\""), "{email}");
    // And the test button sends through it.
    let (status, location, _) = ada.post(&on, "/channels/1/test", &[]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, list) = ada.get(&on, &location).await;
    assert!(
        row(&list, "channel-1").contains("Test message sent"),
        "{list}"
    );
    assert_eq!(sendgrid.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_test_button_shares_the_apis_limit_on_test_messages() {
    let hook = FakeService::start(200, "ok").await;
    let app = spawn_app().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let token = api_token(&app, "ada@example.com").await;
    let id = webhook_channel(&app, &token, &hook.url("/h")).await["id"]
        .as_i64()
        .unwrap();
    for _ in 0..10 {
        let (status, _) = app
            .post(&format!("/api/channels/{id}/test"), &token, json!({}))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _, page) = ada.post(&app, &format!("/channels/{id}/test"), &[]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let shown = row(&page, &format!("channel-{id}"));
    assert!(shown.contains("too many attempts"), "{shown}");
    assert_eq!(hook.received().len(), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_add_form_offers_every_kind_and_starts_from_sensible_settings() {
    let app = spawn_app().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let (_, choice) = ada.get(&app, "/channels/new").await;
    for kind in [
        "email",
        "webhook",
        "slack",
        "discord",
        "teams",
        "telegram",
        "ntfy",
        "pagerduty",
    ] {
        assert!(
            choice.contains(&format!("href=\"/channels/new?kind={kind}\"")),
            "{kind}"
        );
    }
    let (_, ntfy) = ada.get(&app, "/channels/new?kind=ntfy").await;
    assert!(ntfy.contains("value=\"https://ntfy.sh\""), "{ntfy}");
    assert!(ntfy.contains("name=\"kind\" value=\"ntfy\""));
    let (_, email) = ada.get(&app, "/channels/new?kind=email").await;
    assert!(email.contains(">ada@example.com</textarea>"), "{email}");

    // Each address is judged by the API's rule and the wrong one is named.
    let (status, _, page) = ada
        .post(
            &app,
            "/channels",
            &[
                ("kind", "email"),
                ("addresses", "ops@example.com\nnot-an-address"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let error = row(&page, "addresses-error");
    assert!(
        error.contains("“not-an-address” must be an email address"),
        "{error}"
    );
    let (status, _, _) = ada
        .post(
            &app,
            "/channels",
            &[
                ("kind", "ntfy"),
                ("name", ""),
                ("server", "https://ntfy.sh"),
                ("topic", "ada-x1"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let token = api_token(&app, "ada@example.com").await;
    let made = channels(&app, &token).await.pop().unwrap();
    assert_eq!(made["name"], "ntfy", "an empty name takes the kind's");
    assert_eq!(made["settings"]["server"], "https://ntfy.sh/");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_channel_page_fits_a_phone_360_pixels_wide() {
    let app = spawn_app().await;
    let browser = Browser::phone(360, 800).await;
    sign_up(
        &browser,
        &app,
        "a.rather.long.address@subdomain.example.com",
    )
    .await;
    let token = api_token(&app, "a.rather.long.address@subdomain.example.com").await;
    let hook = webhook_channel(&app, &token, "https://hooks.example.com/a/long/secret/path").await;
    app.patch(
        &format!("/api/channels/{}", hook["id"]),
        &token,
        json!({"name": "A webhook with a name long enough to wrap", "settings": {
            "headers": {"Authorization": "Bearer x", "X-A-Rather-Long-Header-Name": "y"}}}),
    )
    .await;
    let id = &hook["id"];
    for path in [
        "/channels".to_owned(),
        "/channels/new".to_owned(),
        format!("/channels/{id}/edit"),
        format!("/channels/{id}/delete"),
        "/channels/new?kind=webhook".to_owned(),
    ] {
        browser.goto(&app.url(&path)).await;
        browser.find("main h1").await;
        assert_eq!(browser.widths().await, (360, 360), "{path}");
    }
    // The form with an error next to an input still fits.
    browser
        .fill(
            "#url",
            "ftp://a-rather-long-host-name.example.com/and/a/path",
        )
        .await;
    browser.click("main button[type=submit]").await;
    browser.find("#url-error").await;
    assert_eq!(browser.widths().await, (360, 360));
    browser.close().await;
}
