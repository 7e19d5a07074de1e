//! The pages in a real browser: what a new user does first, from signing up to deleting a
//! monitor, with the server refusing what the browser should never be trusted with alone.

use crate::support::browser::Browser;
use crate::support::signin::{PASSWORD, PageSession, login_token};
use crate::support::target::Target;
use crate::support::{spawn_app, spawn_app_with};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_signs_up_watches_a_site_go_down_edits_and_deletes_it() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let browser = Browser::start(1280, 900).await;

    // Signing up lands on an empty dashboard that shows the way to the first monitor.
    browser.goto(&app.url("/")).await;
    browser.wait_for_path(|p| p == "/signin").await;
    browser.click("a[href='/signup']").await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", "short").await;
    browser.click("main button[type=submit]").await;
    let error = browser.text("#password-error").await;
    assert!(error.contains("at least 8"), "{error}");
    browser.fill("#password", "correct horse").await;
    browser.click("main button[type=submit]").await;
    let empty = |t: &str| t.contains("Nothing is being watched yet");
    browser.wait_for_text("h1", false, empty).await;

    // A bad URL is refused next to its field; the fixed form creates the monitor.
    browser.click(".empty a.button").await;
    browser.fill("#name", "API").await;
    browser.fill("#url", "ftp://example.com").await;
    browser.fill("#interval", "1s").await;
    browser.click("main button[type=submit]").await;
    let error = browser.text("#url-error").await;
    assert!(error.contains("http"), "{error}");
    let url = target.url("/switch/api");
    browser.fill("#url", &url).await;

    // "Check now" tries it without saving anything.
    browser.click("main button[value=check]").await;
    let trial = browser.text("#trial").await;
    assert!(
        trial.contains("Up: HTTP 200") && trial.contains("Nothing was saved"),
        "{trial}"
    );
    assert_eq!(browser.attribute("#url", "value").await, url);
    browser.click("main button[type=submit]").await;
    browser
        .wait_for_path(|p| p.starts_with("/monitors/") && p != "/monitors/new")
        .await;
    // The monitor's page turns up by itself.
    browser.mark().await;
    browser
        .wait_for_text(".monitor-head .badge .text", false, |t| t == "Up")
        .await;
    assert!(browser.is_marked().await, "the page was reloaded");

    // The dashboard shows it up, with its latest checks and its day, then down once the target
    // fails: live, without reloading.
    browser.goto(&app.url("/")).await;
    browser.mark().await;
    browser
        .wait_for_text("#monitors .monitor .text", false, |t| t == "Up")
        .await;
    browser
        .wait_for_text("#monitors .monitor .uptime", false, |t| t.contains("100 %"))
        .await;
    target.set("api", 500);
    browser
        .wait_for_text("#monitors .monitor .text", false, |t| t == "Down")
        .await;
    browser
        .wait_for_text("[data-count=down] .n", false, |t| t == "1")
        .await;
    let strip = browser
        .property("#monitors svg.strip title", "textContent")
        .await;
    assert!(
        strip.contains("down") && !strip.contains(" 0 down"),
        "{strip}"
    );
    assert!(browser.is_marked().await, "the dashboard was reloaded");
    browser.screenshot("dashboard").await;

    // Pausing and resuming from the list comes back to the list.
    browser
        .click("#monitors .monitor button[aria-label='Pause API']")
        .await;
    browser
        .wait_for_text("#monitors .monitor .text", false, |t| t == "Paused")
        .await;
    browser.wait_for_path(|p| p == "/").await;
    browser
        .click("#monitors .monitor button[aria-label='Resume API']")
        .await;
    browser
        .wait_for_text("#monitors .monitor .text", false, |t| t != "Paused")
        .await;

    // Editing changes what the form shows: the interval, a header, the channels.
    browser.click("#monitors .monitor a.name").await;
    browser.click("a[href$='/edit']").await;
    browser.fill("#interval", "2s").await;
    browser
        .fill("#headers", "X-Probe: upbeat\nBroken line")
        .await;
    browser.click("main .actions button[type=submit]").await;
    let error = browser.text("#headers-error").await;
    assert!(error.contains("Broken line"), "{error}");
    browser.fill("#headers", "X-Probe: upbeat").await;
    browser.click("input[name=channel]").await;
    browser.click("main .actions button[type=submit]").await;
    browser
        .wait_for_text(".monitor-head", false, |t| t.contains("Checked every 2s"))
        .await;
    let (_, monitors) = app.get("/api/monitors", &token_of(&app).await).await;
    assert_eq!(monitors[0]["headers"]["x-probe"], "upbeat", "{monitors}");
    assert_eq!(monitors[0]["channels"], serde_json::json!([]), "{monitors}");
    assert_eq!(monitors[0]["method"], "GET", "{monitors}");
    browser.screenshot("monitor").await;

    // Deleting asks for the URL, and the server refuses a wrong one.
    browser.click("a[href$='/delete']").await;
    browser.fill("#confirm_url", "https://example.com/").await;
    browser.click("main button[type=submit]").await;
    assert!(
        browser
            .text("#confirm_url-error")
            .await
            .contains("does not match")
    );
    let (_, left) = app.get("/api/monitors", &token_of(&app).await).await;
    assert_eq!(left.as_array().map(Vec::len), Some(1), "{left}");
    browser.fill("#confirm_url", &url).await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/").await;
    browser.wait_for_text("h1", false, empty).await;
    browser.close().await;
}

/// An API token for the account the browser made, to look behind the pages.
async fn token_of(app: &crate::support::TestApp) -> String {
    login_token(app, "ada@example.com", PASSWORD)
        .await
        .expect("a login token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_from_another_site_or_without_the_token_change_nothing() {
    let app = spawn_app().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let csrf = ada.csrf.clone();
    let monitor = [
        ("csrf", csrf.as_str()),
        ("name", "Site"),
        ("url", "http://127.0.0.1:9/"),
        ("interval", "1m"),
        ("method", "GET"),
        ("accepted_status", "200-299"),
        ("failure_threshold", "1"),
        ("success_threshold", "1"),
    ];
    let evil = Some("https://evil.example");
    assert_eq!(
        ada.post_as(&app, "/monitors", evil, &monitor).await,
        reqwest::StatusCode::FORBIDDEN
    );
    let mut forged = monitor;
    forged[0].1 = "0000";
    assert_eq!(
        ada.post_as(&app, "/monitors", None, &forged).await,
        reqwest::StatusCode::FORBIDDEN
    );
    let token = token_of(&app).await;
    assert_eq!(
        app.get("/api/monitors", &token).await.1,
        serde_json::json!([])
    );
    // The same form from upbeat's own page is accepted.
    let own = app.url("");
    let own = own.trim_end_matches('/');
    assert_eq!(
        ada.post_as(&app, "/monitors", Some(own), &monitor).await,
        reqwest::StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.get("/api/monitors", &token)
            .await
            .1
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_monitor_pages_do_not_exist_and_the_cookie_never_opens_the_api() {
    let app = spawn_app().await;
    let token = app.register("bob@example.com").await;
    let id = app
        .create_monitor(
            &token,
            serde_json::json!({"url": "http://127.0.0.1:9/", "interval": "1h"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let eve = PageSession::sign_up(&app, "eve@example.com").await;
    let csrf = eve.csrf.clone();
    for path in ["", "/edit", "/delete"] {
        let (status, _) = eve.get(&app, &format!("/monitors/{id}{path}")).await;
        assert_eq!(
            status,
            reqwest::StatusCode::NOT_FOUND,
            "/monitors/{id}{path}"
        );
    }
    let url = "http://127.0.0.1:9/";
    for (path, form) in [
        ("pause", vec![("csrf", csrf.as_str())]),
        (
            "delete",
            vec![("csrf", csrf.as_str()), ("confirm_url", url)],
        ),
    ] {
        let status = eve
            .post_as(&app, &format!("/monitors/{id}/{path}"), None, &form)
            .await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{path}");
    }
    let (_, bobs) = app.get(&format!("/api/monitors/{id}"), &token).await;
    assert_eq!(bobs["status"], "pending", "{bobs}");
    // A page session is not an API credential.
    let status = reqwest::Client::new()
        .get(app.url("/api/monitors"))
        .header(reqwest::header::COOKIE, &eve.cookie)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_add_form_starts_from_the_settings_the_api_gives_a_new_monitor() {
    let app = spawn_app().await;
    let (_, form) = PageSession::sign_up(&app, "ada@example.com")
        .await
        .get(&app, "/monitors/new")
        .await;
    let token = token_of(&app).await;
    let api = app
        .create_monitor(
            &token,
            serde_json::json!({"url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    for field in ["interval", "success_threshold", "method"] {
        let shown = api[field]
            .as_str()
            .map_or_else(|| api[field].to_string(), str::to_owned);
        let input = format!("id=\"{field}\" name=\"{field}\"");
        let at = form
            .find(&input)
            .unwrap_or_else(|| panic!("no {field} in the form"));
        let rest = &form[at..];
        let rest = &rest[..rest.find("</div>").unwrap_or(rest.len())];
        let filled = rest.contains(&format!("value=\"{shown}\"")) && field != "method"
            || rest.contains(&format!(
                "<option value=\"{shown}\" selected>{shown}</option>"
            ));
        assert!(filled, "{field} should start as {shown}");
    }
    // Empty, so that it takes the default of the kind chosen.
    let at = form
        .find("id=\"failure_threshold\"")
        .expect("failure_threshold");
    let input = &form[at..at + form[at..].find('>').unwrap()];
    assert!(
        input.contains("placeholder=\"2 (heartbeats: 1)\"") && !input.contains("value=\"2\""),
        "failure_threshold starts empty: {input}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_monitor_page_fits_a_phone_360_pixels_wide() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let browser = Browser::phone(360, 800).await;
    browser.goto(&app.url("/signup")).await;
    browser.fill("#email", "ada@example.com").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("main button[type=submit]").await;
    browser.wait_for_path(|p| p == "/").await;
    let token = token_of(&app).await;
    let long = target.url("/status/500?and=a-query-string-long-enough-to-need-wrapping-on-a-phone");
    let id = app
        .create_monitor(
            &token,
            serde_json::json!({"name": "A monitor with a name long enough to wrap on a phone",
                               "url": long, "interval": "1s", "failure_threshold": 1}),
        )
        .await["id"]
        .clone();
    app.wait_for_status(&token, id.as_i64().unwrap(), "down")
        .await;
    for path in [
        "/".to_owned(),
        "/?status=down".to_owned(),
        format!("/monitors/{id}"),
        format!("/monitors/{id}?range=30d"),
        format!("/monitors/{id}/edit"),
        format!("/monitors/{id}/delete"),
        "/monitors/new".to_owned(),
        "/settings".to_owned(),
    ] {
        browser.goto(&app.url(&path)).await;
        browser.find("main h1, main .monitor").await;
        assert_eq!(browser.widths().await, (360, 360), "{path}");
    }
    browser.close().await;
}

/// The session cookie a sign-up sets, as the browser receives it.
async fn session_cookie(
    app: &crate::support::TestApp,
    email: &str,
    headers: &[(&str, &str)],
) -> String {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client
        .post(app.url("/signup"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(crate::support::signin::encoded(&[
            ("email", email),
            ("password", PASSWORD),
        ]));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_whenever_upbeat_is_reached_over_https() {
    let app = spawn_app().await;
    let plain = session_cookie(&app, "a@example.com", &[]).await;
    assert!(
        plain.contains("HttpOnly") && plain.contains("SameSite=Lax"),
        "{plain}"
    );
    assert!(!plain.contains("Secure"), "{plain}");
    for header in [
        ("x-forwarded-proto", "https"),
        ("forwarded", "for=192.0.2.60;proto=https;by=203.0.113.43"),
    ] {
        let cookie = session_cookie(&app, &format!("{}@example.com", header.0), &[header]).await;
        assert!(cookie.contains("; Secure"), "{header:?}: {cookie}");
    }
    let behind = spawn_app_with(|c| c.public_url = Some("https://status.example.com".into())).await;
    let cookie = session_cookie(&behind, "b@example.com", &[]).await;
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_log_pages_back_from_a_given_instant() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let token = token_of(&app).await;
    let id = app
        .create_monitor(
            &token,
            serde_json::json!({"url": target.url("/ok"), "interval": "1s"}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let checks = app.wait_for_checks(&token, id, 3).await;
    // As the page shows an instant: to the second, in UTC.
    let shown = |check: &serde_json::Value| {
        let at = check["at"].as_str().unwrap();
        format!("{} {} UTC", &at[..10], &at[11..19])
    };
    let (newest, older) = (shown(&checks[0]), shown(&checks[1]));

    let (status, first) = ada.get(&app, &format!("/monitors/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        first.contains(&newest) && !first.contains("Newest checks"),
        "{first}"
    );
    let before = checks[0]["at"].as_str().unwrap().replace(':', "%3A");
    let (status, page) = ada
        .get(&app, &format!("/monitors/{id}?before={before}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&older), "{page}");
    assert!(
        !page.contains(&newest),
        "a check not before {newest} is listed: {page}"
    );
    assert!(page.contains("Newest checks"), "{page}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_takes_conditions_as_json_and_refuses_bad_ones_next_to_the_field() {
    let app = spawn_app().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let base = [
        ("name", "Health"),
        ("url", "http://127.0.0.1:9/health"),
        ("interval", "1h"),
        ("method", "GET"),
        ("accepted_status", "200-299"),
        ("failure_threshold", "2"),
        ("success_threshold", "1"),
        ("max_redirects", "10"),
        ("follow_redirects", "true"),
    ];
    for (conditions, says) in [
        ("[{\"subject\": ", "is not JSON"),
        (
            r#"[{"subject": "json", "path": "status", "op": "==", "value": "ok"}]"#,
            "JSONPath",
        ),
    ] {
        let mut form = base.to_vec();
        form.push(("assertions", conditions));
        let (status, _, page) = ada.post(&app, "/monitors", &form).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
        let error = page
            .split("id=\"assertions-error\">")
            .nth(1)
            .unwrap_or_else(|| panic!("no error next to the conditions: {page}"));
        assert!(error.contains(says), "{error}");
    }
    let mut form = base.to_vec();
    let conditions = r#"[{"subject": "json", "path": "$.status", "op": "==", "value": "ok"}]"#;
    form.extend([
        ("assertions", conditions),
        ("inverted", "false"),
        ("inverted", "true"),
    ]);
    let (status, _, _) = ada.post(&app, "/monitors", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, monitors) = app.get("/api/monitors", &token_of(&app).await).await;
    assert_eq!(monitors.as_array().unwrap().len(), 1, "{monitors}");
    assert_eq!(
        monitors[0]["assertions"][0]["path"], "$.status",
        "{monitors}"
    );
    assert_eq!(monitors[0]["inverted"], true, "{monitors}");
    // The edit form shows them again.
    let id = &monitors[0]["id"];
    let (_, page) = ada.get(&app, &format!("/monitors/{id}/edit")).await;
    let textarea = page
        .split("<textarea id=\"assertions\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split("</textarea>").next())
        .expect("the conditions' field");
    assert!(textarea.contains("$.status"), "{textarea}");
    let inverted = page
        .split("id=\"inverted\"")
        .nth(1)
        .and_then(|rest| rest.split('>').next())
        .expect("the inverted box");
    assert!(inverted.contains("checked"), "{inverted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_saves_the_kind_chosen_with_its_own_settings_only() {
    let app = spawn_app().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    // Without JavaScript every field is posted; those of other kinds are left out.
    let form = [
        ("kind", "tcp"),
        ("name", "Cache"),
        ("url", "tcp://127.0.0.1:6379"),
        ("interval", "1h"),
        ("method", "GET"),
        ("accepted_status", "200-299"),
        ("failure_threshold", "2"),
        ("success_threshold", "1"),
        ("max_redirects", "10"),
        ("follow_redirects", "true"),
        ("send", "PING\n"),
        ("expect", "^\\+PONG"),
        ("starttls", ""),
    ];
    let (status, _, page) = ada.post(&app, "/monitors", &form).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{page}");
    let token = token_of(&app).await;
    let (_, monitors) = app.get("/api/monitors", &token).await;
    let m = &monitors[0];
    assert_eq!(
        (m["kind"].as_str(), m["url"].as_str()),
        (Some("tcp"), Some("tcp://127.0.0.1:6379"))
    );
    // A line break typed in the form is sent as CR LF.
    assert_eq!(m["send"], "PING\r\n", "{m}");
    assert_eq!(m["expect"], "^\\+PONG", "{m}");
    assert!(m.get("method").is_none(), "{m}");

    // The edit form shows the kind chosen and marks each field with the kinds it belongs to.
    let (_, page) = ada.get(&app, &format!("/monitors/{}/edit", m["id"])).await;
    assert!(page.contains("<option value=\"tcp\" selected>"), "{page}");
    assert!(page.contains("data-kinds=\"http\""), "{page}");
    assert!(page.contains("data-kinds=\"tcp\""), "{page}");

    // A wrong address for the kind is refused next to the URL.
    let mut wrong = form.to_vec();
    wrong[2] = ("url", "https://example.com/");
    let (status, _, page) = ada.post(&app, "/monitors", &wrong).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{page}");
    let error = page
        .split("id=\"url-error\">")
        .nth(1)
        .expect("an error next to the URL");
    assert!(error.contains("tcp://host:port"), "{error}");
}
