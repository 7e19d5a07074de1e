//! Alerts that arrive exactly once: email over a real SMTP conversation, with the facts a person
//! needs; nothing for a target that flaps under its thresholds; delivered late rather than never.

use crate::support::service::FakeService;
use crate::support::smtp::{MailServer, TestCert};
use crate::support::target::Target;
use crate::support::{TestApp, holds_for, poll, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;
use upbeat::config::{Config, HumanDuration};
use upbeat::secret::Secret;

/// Settings for email through `mail` over STARTTLS with a password, trusting the test's CA.
fn email_to(config: &mut Config, mail: SocketAddr, ca: &tempfile::NamedTempFile) {
    config.smtp_url = Some(Secret::new(format!(
        "smtp://alerts:s3cret@127.0.0.1:{}",
        mail.port()
    )));
    config.smtp_from = Some("upbeat <alerts@example.com>".into());
    config.smtp_ca_file = Some(ca.path().to_owned());
    config.public_url = Some("https://upbeat.example".into());
    config.alert_retry = HumanDuration(Duration::from_millis(200));
}

fn ca_file(cert: &TestCert) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &cert.pem).unwrap();
    file
}

/// The service mailing alerts through an SMTP server on loopback, over STARTTLS; the file of
/// the certificate it trusts is kept with them.
async fn app_with_mail() -> (TestApp, MailServer, tempfile::NamedTempFile) {
    let cert = TestCert::new();
    let mail = MailServer::start("127.0.0.1:0".parse().unwrap(), &cert).await;
    let ca = ca_file(&cert);
    let app = spawn_app_with(|c| email_to(c, mail.addr, &ca)).await;
    (app, mail, ca)
}

/// The alert history once it holds `n` alerts and none is waiting or being sent: a delivery's
/// request reaches its destination a moment before its outcome is written.
pub async fn settled(app: &TestApp, token: &str, n: usize) -> Vec<Value> {
    poll(
        &format!("{n} settled alerts"),
        || alerts(app, token),
        |a| a.len() >= n && a.iter().all(|d| d["state"] != "pending"),
    )
    .await
}

pub async fn alerts(app: &TestApp, token: &str) -> Vec<Value> {
    app.get("/api/alerts", token)
        .await
        .1
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn down_then_up_arrive_once_each_by_email_with_what_happened() {
    let (app, mail, _ca) = app_with_mail().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(&token, json!({"name": "Shop", "url": target.url("/switch/shop"), "interval": 1, "failure_threshold": 1}))
        .await;
    let id = m["id"].as_i64().unwrap();
    app.wait_for_status(&token, id, "up").await;

    target.set("shop", 503);
    let mails = poll(
        "the DOWN mail",
        || async { mail.mails() },
        |m| !m.is_empty(),
    )
    .await;
    let down = &mails[0];
    assert_eq!(down.header("Subject").as_deref(), Some("[DOWN] Shop"));
    assert_eq!(
        down.to,
        ["ada@example.com"],
        "to the account's address by default"
    );
    assert_eq!(down.from, "alerts@example.com");
    assert_eq!(down.auth, Some(("alerts".into(), "s3cret".into())));
    assert!(down.tls, "STARTTLS before the password");
    for fact in [
        "Shop is down",
        "Cause: status: HTTP 503 Service Unavailable",
        &target.url("/switch/shop"),
        &format!("https://upbeat.example/monitors/{id}"),
        " UTC",
        "multipart/alternative",
        "text/html",
    ] {
        assert!(
            down.data.contains(fact),
            "missing {fact:?} in\n{}",
            down.data
        );
    }

    target.set("shop", 200);
    let mails = poll("the UP mail", || async { mail.mails() }, |m| m.len() >= 2).await;
    let up = &mails[1];
    assert_eq!(up.header("Subject").as_deref(), Some("[UP] Shop"));
    assert!(up.data.contains("Shop is up again after"), "{}", up.data);
    assert!(up.data.contains("Outage: "), "{}", up.data);

    holds_for(
        "exactly one of each",
        Duration::from_millis(2000),
        || async { mail.mails().len() == 2 },
    )
    .await;
    let history = settled(&app, &token, 2).await;
    let kinds: Vec<_> = history
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["state"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("up", "sent"), ("down", "sent")]);
    assert_eq!(
        app.get(&format!("/api/monitors/{id}/alerts"), &token)
            .await
            .1
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_flapping_under_its_threshold_sends_nothing() {
    let (app, mail, _ca) = app_with_mail().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/flap/f"), "interval": 1, "failure_threshold": 2}),
        )
        .await;
    app.wait_for_checks(&token, m["id"].as_i64().unwrap(), 5)
        .await;
    assert!(mail.mails().is_empty());
    assert_eq!(alerts(&app, &token).await, Vec::<Value>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_the_mail_server_missed_is_delivered_when_it_is_back() {
    let cert = TestCert::new();
    // A port with nothing on it, for now.
    let port: SocketAddr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let ca = ca_file(&cert);
    let app = spawn_app_with(|c| email_to(c, port, &ca)).await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    app.create_monitor(&token, json!({"name": "API", "url": target.url("/status/500"), "interval": 1, "failure_threshold": 1}))
        .await;
    // `attempts` counts the attempt under way too, so the failure is there once its error is.
    let pending = poll(
        "a failed attempt",
        || alerts(&app, &token),
        |a| {
            a.first().is_some_and(|d| {
                d["attempts"].as_u64() >= Some(1)
                    && d["state"] == "pending"
                    && d["last_error"].is_string()
            })
        },
    )
    .await;
    assert!(
        pending[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("mail server"),
        "{pending:?}"
    );
    assert!(pending[0]["next_attempt_at"].is_string());

    let mail = MailServer::start(port, &cert).await;
    let mails = poll(
        "the late mail",
        || async { mail.mails() },
        |m| !m.is_empty(),
    )
    .await;
    assert_eq!(mails[0].header("Subject").as_deref(), Some("[DOWN] API"));
    poll(
        "the delivery marked sent",
        || alerts(&app, &token),
        |a| a[0]["state"] == "sent",
    )
    .await;
    holds_for("no second copy", Duration::from_millis(1500), || async {
        mail.mails().len() == 1
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mail_transport_email_alerts_are_off_and_say_so() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let (_, channels) = app.get("/api/channels", &token).await;
    let email = &channels[0];
    assert_eq!(email["kind"], "email");
    assert_eq!(email["settings"]["addresses"], json!(["ada@example.com"]));
    assert_eq!(email["default"], true);
    assert!(
        email["warning"]
            .as_str()
            .unwrap()
            .contains("email alerts are off"),
        "{email}"
    );

    app.create_monitor(
        &token,
        json!({"url": target.url("/status/500"), "interval": 1, "failure_threshold": 1}),
    )
    .await;
    let skipped = settled(&app, &token, 1).await;
    assert_eq!(skipped[0]["state"], "skipped");
    assert!(
        skipped[0]["last_error"]
            .as_str()
            .unwrap()
            .contains("email alerts are off")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_mail_server_email_goes_through_sendgrid() {
    let sendgrid = FakeService::start(202, "").await;
    let app = spawn_app_with(|c| {
        c.sendgrid_api_key = Some(Secret::new("SG.test-key"));
        c.sendgrid_url = sendgrid.url("");
        c.smtp_from = Some("upbeat <alerts@example.com>".into());
    })
    .await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    app.create_monitor(&token, json!({"name": "Docs", "url": target.url("/status/500"), "interval": 1, "failure_threshold": 1}))
        .await;
    let received = poll(
        "the SendGrid call",
        || async { sendgrid.received() },
        |r| !r.is_empty(),
    )
    .await;
    let call = &received[0];
    assert_eq!(call.target, "/v3/mail/send");
    assert_eq!(call.header("authorization"), "Bearer SG.test-key");
    assert_eq!(call.header("content-type"), "application/json");
    let body = call.json();
    assert_eq!(
        body["personalizations"][0]["to"],
        json!([{"email": "ada@example.com"}])
    );
    assert_eq!(
        body["from"],
        json!({"email": "alerts@example.com", "name": "upbeat"})
    );
    assert_eq!(body["subject"], "[DOWN] Docs");
    assert_eq!(body["content"][0]["type"], "text/plain");
    assert_eq!(body["content"][1]["type"], "text/html");
    assert!(
        body["content"][0]["value"]
            .as_str()
            .unwrap()
            .contains("Docs is down")
    );
    poll(
        "the delivery marked sent",
        || alerts(&app, &token),
        |a| a[0]["state"] == "sent",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_that_hangs_delays_no_other_alert_and_no_check() {
    let target = Target::start().await;
    let hook = FakeService::start(200, "").await;
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let create = |url: String| {
        app.post(
            "/api/channels",
            &token,
            json!({"kind": "webhook", "settings": {"url": url}}),
        )
    };
    let hanging = create(target.url("/hang")).await.1["id"].clone();
    let prompt = create(hook.url("/prompt")).await.1["id"].clone();
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/status/500"), "interval": 1, "failure_threshold": 1, "channels": [hanging, prompt]}),
        )
        .await;
    // The hanging channel holds its delivery for 30 seconds; the other one goes at once.
    poll(
        "the prompt channel's alert",
        || async { hook.received() },
        |r| !r.is_empty(),
    )
    .await;
    let checks = app.checks(&token, m["id"].as_i64().unwrap()).await.len();
    app.wait_for_checks(&token, m["id"].as_i64().unwrap(), checks + 2)
        .await;
    assert_eq!(
        target.hits("/hang"),
        1,
        "the hanging channel was tried once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtps_speaks_tls_from_the_first_byte() {
    let cert = TestCert::new();
    let mail = MailServer::start_implicit_tls("127.0.0.1:0".parse().unwrap(), &cert).await;
    let ca = ca_file(&cert);
    let app = spawn_app_with(|c| {
        email_to(c, mail.addr, &ca);
        c.smtp_url = Some(Secret::new(format!(
            "smtps://alerts:s3cret@127.0.0.1:{}",
            mail.addr.port()
        )));
    })
    .await;
    let token = app.register("ada@example.com").await;
    let channel = app.get("/api/channels", &token).await.1[0]["id"].clone();
    let (_, tested) = app
        .post(&format!("/api/channels/{channel}/test"), &token, json!({}))
        .await;
    assert_eq!(tested["ok"], true, "{tested}");
    let mails = mail.mails();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].tls);
    assert_eq!(mails[0].auth, Some(("alerts".into(), "s3cret".into())));
    assert_eq!(
        mails[0].header("Subject").as_deref(),
        Some("[TEST] Email me")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_address_gets_its_own_mail_and_a_refused_one_stops_no_other() {
    let (app, mail, _ca) = app_with_mail().await;
    let token = app.register("ada@example.com").await;
    let test = |addresses: Value| {
        let (app, token) = (&app, &token);
        async move {
            let (_, channel) = app
                .post(
                    "/api/channels",
                    token,
                    json!({"kind": "email", "settings": {"addresses": addresses}}),
                )
                .await;
            app.post(
                &format!("/api/channels/{}/test", channel["id"]),
                token,
                json!({}),
            )
            .await
            .1
        }
    };

    let tested = test(json!([
        "oncall@example.com",
        "gone@example.com",
        "ops@example.com"
    ]))
    .await;
    assert_eq!(tested["ok"], false, "{tested}");
    let error = tested["error"].as_str().unwrap();
    assert!(
        error.contains("gone@example.com") && error.contains("550"),
        "{error}"
    );
    assert_eq!(tested["delivery"]["state"], "sent", "sent, to some");
    let mails = mail.mails();
    let to: Vec<_> = mails.iter().map(|m| m.to.clone()).collect();
    assert_eq!(to, [["oncall@example.com"], ["ops@example.com"]]);
    for m in &mails {
        let id = m.header("Message-ID").unwrap_or_default();
        assert!(id.ends_with("@example.com>"), "{id}");
        assert!(
            !m.header("To").unwrap_or_default().contains(','),
            "one recipient each"
        );
    }

    // Refused by every address: failed for good. Turned away for now: tried again later.
    let tested = test(json!(["gone@example.com"])).await;
    assert_eq!(tested["delivery"]["state"], "failed", "{tested}");
    let tested = test(json!(["full@example.com"])).await;
    let error = tested["error"].as_str().unwrap();
    assert!(
        error.contains("full@example.com") && error.contains("452"),
        "{error}"
    );
}
