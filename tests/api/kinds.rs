//! Monitors of other kinds than HTTP, against real servers on loopback: TCP ports that accept,
//! refuse or answer, and TLS servers with certificates made in the test.

use crate::support::certs::{Authority, ServerCert};
use crate::support::dns::DnsServer;
use crate::support::smtp::{MailServer, TestCert};
use crate::support::target::refusing_port;
use crate::support::{TestApp, poll, spawn_app, spawn_app_with};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use tempfile::NamedTempFile;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// Creates a monitor with `settings` and returns it with its first check.
async fn first_check(app: &TestApp, settings: Value) -> (Value, Value) {
    let token = app.register("ada@example.com").await;
    let m = app.create_monitor(&token, settings).await;
    let id = m["id"].as_i64().unwrap();
    let check = app.wait_for_checks(&token, id, 1).await.remove(0);
    (app.monitor(&token, id).await, check)
}

fn message(check: &Value) -> &str {
    check["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("an error in {check}"))
}

/// A server that answers each line it reads with `answer(line)`; `None` keeps silent.
async fn line_server(answer: fn(&str) -> Option<String>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut io = BufReader::new(tcp);
                let mut line = String::new();
                while io.read_line(&mut line).await.unwrap_or(0) > 0 {
                    if let Some(reply) = answer(line.trim_end()) {
                        let _ = io.get_mut().write_all(reply.as_bytes()).await;
                    }
                    line.clear();
                }
            });
        }
    });
    format!("tcp://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_monitor_is_up_while_the_port_accepts_and_down_once_it_refuses() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let m = app
        .create_monitor(
            &token,
            json!({"kind": "tcp", "url": format!("tcp://{addr}"), "interval": "1s"}),
        )
        .await;
    assert_eq!(
        (m["kind"].as_str(), m["name"].as_str()),
        (Some("tcp"), Some("127.0.0.1"))
    );
    assert_eq!(m["url"], format!("tcp://{addr}"));
    assert!(m.get("method").is_none(), "{m}");
    let id = m["id"].as_i64().unwrap();
    let up = app.wait_for_status(&token, id, "up").await;
    let last = &up["last_check"];
    assert_eq!(last["status_code"], Value::Null, "{up}");
    assert!(last["phases"]["connect_ms"].is_u64(), "{up}");
    assert_eq!(last["phases"]["tls_ms"], Value::Null, "{up}");

    drop(listener);
    let down = app.wait_for_status(&token, id, "down").await;
    assert_eq!(down["last_check"]["error"]["kind"], "connect", "{down}");
    assert!(
        message(&down["last_check"]).contains("connection refused"),
        "{down}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_monitor_sends_its_bytes_and_judges_the_reply_by_its_pattern() {
    let app = spawn_app().await;
    let url = line_server(|line| {
        Some(
            if line == "PING" {
                "+PONG\r\n"
            } else {
                "-ERR\r\n"
            }
            .into(),
        )
    })
    .await;
    let token = app.register("ada@example.com").await;
    let ok = app
        .create_monitor(
            &token,
            json!({"kind": "tcp", "url": url, "interval": "1h", "send": "PING\r\n",
                   "expect": "^\\+PONG"}),
        )
        .await;
    let wrong = app
        .create_monitor(
            &token,
            json!({"kind": "tcp", "url": url, "interval": "1h", "send": "HELLO\r\n", "timeout": "1s",
                   "expect": "^\\+PONG"}),
        )
        .await;
    let check = app
        .wait_for_checks(&token, ok["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["ok"], true, "{check}");
    assert!(check["phases"]["ttfb_ms"].is_u64(), "{check}");
    let check = app
        .wait_for_checks(&token, wrong["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["error"]["kind"], "assertion", "{check}");
    assert!(
        message(&check)
            .starts_with("reply matches /^\\+PONG/ but was \"-ERR\\r\\n\" (nothing more arrived)"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_port_that_never_replies_times_out_waiting_for_it() {
    let app = spawn_app().await;
    let url = line_server(|_| None).await;
    let (_, check) = first_check(
        &app,
        json!({"kind": "tcp", "url": url, "interval": "1h", "timeout": "300ms",
               "send": "PING\n", "expect": "PONG"}),
    )
    .await;
    assert_eq!(check["error"]["kind"], "timeout", "{check}");
    assert!(
        message(&check).contains("waiting for the response"),
        "{check}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_monitor_on_a_refused_port_is_a_connect_error() {
    let app = spawn_app().await;
    let (_, check) = first_check(
        &app,
        json!({"kind": "tcp", "url": format!("tcp://{}", refusing_port().await), "interval": "1h"}),
    )
    .await;
    assert_eq!(check["error"]["kind"], "connect", "{check}");
}

/// `ca` written to a file upbeat is told to trust.
fn trusting(ca: &str) -> NamedTempFile {
    let file = NamedTempFile::new().unwrap();
    std::fs::write(file.path(), ca).unwrap();
    file
}

/// Days from now until an RFC 3339 instant, as a fraction.
fn days_until(v: &Value) -> f64 {
    let at = crate::support::millis(v) as f64;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as f64;
    (at - now) / 86_400_000.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_monitor_judges_the_chain_and_records_its_earliest_expiry() {
    let root = Authority::root();
    let intermediate = root.intermediate(60);
    let ip = ["127.0.0.1"];
    let valid = intermediate
        .server(&ip, 90)
        .with(&intermediate)
        .serve()
        .await;
    let near = intermediate
        .server(&ip, 5)
        .with(&intermediate)
        .serve()
        .await;
    let expired = intermediate
        .server(&ip, -3)
        .with(&intermediate)
        .serve()
        .await;
    let wrong_name = intermediate
        .server(&["other.test"], 90)
        .with(&intermediate)
        .serve()
        .await;
    let self_signed = ServerCert::self_signed(&ip, 90).serve().await;
    let incomplete = intermediate.server(&ip, 90).serve().await;
    let ca = trusting(&root.pem());
    let app = spawn_app_with(|c| c.ca_file = Some(ca.path().to_owned())).await;
    let token = app.register("ada@example.com").await;
    let soon = json!([{"subject": "cert_days", "op": ">=", "value": 14}]);
    let mut monitors = Vec::new();
    for addr in [valid, near, expired, wrong_name, self_signed, incomplete] {
        let m = app
            .create_monitor(
                &token,
                json!({"kind": "tls", "url": format!("tls://{addr}"), "interval": "1h",
                       "assertions": soon}),
            )
            .await;
        monitors.push(m["id"].as_i64().unwrap());
    }
    let mut found = Vec::new();
    for id in monitors {
        let check = app.wait_for_checks(&token, id, 1).await.remove(0);
        found.push((app.monitor(&token, id).await, check));
    }

    // Valid: the intermediate expires first, in 60 days, and that is the chain's expiry.
    let (m, check) = &found[0];
    assert_eq!(check["ok"], true, "{check}");
    assert!(check["phases"]["tls_ms"].is_u64(), "{check}");
    let days = days_until(&m["cert_expires_at"]);
    assert!((59.9..60.2).contains(&days), "{days} in {m}");

    let (m, check) = &found[1];
    assert_eq!(check["error"]["kind"], "assertion", "{check}");
    assert!(
        message(check).starts_with("cert_days >= 14 but the certificate expires in 5 days"),
        "{check}"
    );
    assert!(
        (4.9..5.2).contains(&days_until(&m["cert_expires_at"])),
        "{m}"
    );

    let (m, check) = &found[2];
    assert_eq!(check["error"]["kind"], "tls", "{check}");
    assert!(message(check).contains("expired"), "{check}");
    assert!(
        (-3.1..-2.9).contains(&days_until(&m["cert_expires_at"])),
        "{m}"
    );

    for (what, (m, check), says) in [
        ("wrong name", &found[3], "not valid for name"),
        ("self-signed", &found[4], "UnknownIssuer"),
        ("incomplete chain", &found[5], "UnknownIssuer"),
    ] {
        assert_eq!(check["error"]["kind"], "tls", "{what}: {check}");
        assert!(message(check).contains(says), "{what}: {check}");
        assert_eq!(m["cert_expires_at"], Value::Null, "{what}: {m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_monitor_records_its_certificate_expiry_and_can_require_days_left() {
    let root = Authority::root();
    let server = root.server(&["127.0.0.1"], 10).serve().await;
    let ca = trusting(&root.pem());
    let app = spawn_app_with(|c| c.ca_file = Some(ca.path().to_owned())).await;
    let (m, check) = first_check(
        &app,
        json!({"url": format!("https://{server}/"), "interval": "1h",
               "assertions": [{"subject": "cert_days", "op": ">", "value": 30}]}),
    )
    .await;
    assert_eq!(check["status_code"], 200, "{check}");
    assert!(message(&check).contains("expires in 10 days"), "{check}");
    assert!(
        (9.9..10.2).contains(&days_until(&m["cert_expires_at"])),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_monitor_can_start_tls_on_a_mail_server() {
    let cert = TestCert::new();
    let mail = MailServer::start("127.0.0.1:0".parse().unwrap(), &cert).await;
    let ca = trusting(&cert.pem);
    let app = spawn_app_with(|c| c.ca_file = Some(ca.path().to_owned())).await;
    let token = app.register("ada@example.com").await;
    let url = format!("tls://{}", mail.addr);
    let upgraded = app
        .create_monitor(
            &token,
            json!({"kind": "tls", "url": url, "interval": "1h", "starttls": "smtp"}),
        )
        .await;
    let direct = app
        .create_monitor(&token, json!({"kind": "tls", "url": url, "interval": "1h"}))
        .await;
    let id = upgraded["id"].as_i64().unwrap();
    let check = app.wait_for_checks(&token, id, 1).await.remove(0);
    assert_eq!(check["ok"], true, "{check}");
    assert!(app.monitor(&token, id).await["cert_expires_at"].is_string());
    // Without STARTTLS the server's greeting is not a TLS handshake.
    let check = app
        .wait_for_checks(&token, direct["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["error"]["kind"], "tls", "{check}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_kind_takes_only_its_own_settings_and_a_patch_can_change_the_kind() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    for (body, field, says) in [
        (
            json!({"kind": "ftp", "url": "ftp://a"}),
            "kind",
            "http, tcp, tls",
        ),
        (
            json!({"kind": "tcp", "url": "https://a"}),
            "url",
            "tcp://host:port",
        ),
        (
            json!({"kind": "tcp", "url": "tcp://a:1", "method": "POST"}),
            "method",
            "http monitors",
        ),
        (
            json!({"kind": "tls", "url": "tls://a", "expect": "x"}),
            "expect",
            "tcp monitors",
        ),
        (
            json!({"kind": "tls", "url": "tls://a",
                   "assertions": [{"subject": "body", "op": "contains", "value": "x"}]}),
            "assertions[0].subject",
            "tls monitors",
        ),
    ] {
        let (status, error) = app.post("/api/monitors", &token, body.clone()).await;
        assert_eq!(status, 422, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
        let text = error["error"]["message"].as_str().unwrap();
        assert!(text.contains(says), "{body}: {error}");
    }
    let (_, list) = app.get("/api/monitors", &token).await;
    assert_eq!(list.as_array().map(Vec::len), Some(0), "{list}");

    let m = app
        .create_monitor(
            &token,
            json!({"url": "https://example.com", "method": "HEAD", "paused": true}),
        )
        .await;
    let path = format!("/api/monitors/{}", m["id"]);
    let (status, changed) = app
        .patch(
            &path,
            &token,
            json!({"kind": "tls", "url": "tls://example.com"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["url"], "tls://example.com:443");
    assert_eq!(changed["starttls"], Value::Null);
    assert!(changed.get("method").is_none(), "{changed}");
    let found = poll(
        "the kind in the list",
        || async { app.get("/api/monitors", &token).await.1 },
        |list: &Value| list[0]["kind"] == "tls",
    )
    .await;
    assert_eq!(found[0]["url"], "tls://example.com:443");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dns_monitor_asks_afresh_and_its_conditions_judge_the_answers() {
    let app = spawn_app().await;
    let dns = DnsServer::start().await;
    dns.set("app.test", "A", &["192.0.2.1"]);
    dns.set("app.test", "MX", &["10 mail.app.test"]);
    let token = app.register("ada@example.com").await;
    let resolver = dns.addr.to_string();
    let pinned = app
        .create_monitor(
            &token,
            json!({"kind": "dns", "url": "dns://App.Test.", "resolver": resolver, "interval": "1s",
                   "failure_threshold": 1,
                   "assertions": [{"subject": "answers", "op": "contains", "value": "192.0.2.1"}]}),
        )
        .await;
    assert_eq!(pinned["url"], "dns://app.test", "{pinned}");
    assert_eq!(pinned["record_type"], "A", "{pinned}");
    let mail = app
        .create_monitor(
            &token,
            json!({"kind": "dns", "url": "dns://app.test", "record_type": "mx",
                   "resolver": resolver, "interval": "1h",
                   "assertions": [{"subject": "answers", "op": "==",
                                   "value": ["10 mail.app.test"]}]}),
        )
        .await;
    let gone = app
        .create_monitor(
            &token,
            json!({"kind": "dns", "url": "dns://old.app.test", "resolver": resolver,
                   "interval": "1h"}),
        )
        .await;
    let removed = app
        .create_monitor(
            &token,
            json!({"kind": "dns", "url": "dns://old.app.test", "resolver": resolver,
                   "interval": "1h",
                   "assertions": [{"subject": "rcode", "op": "==", "value": "nxdomain"}]}),
        )
        .await;
    let first = |m: &Value| m["id"].as_i64().unwrap();
    let id = first(&pinned);
    app.wait_for_status(&token, id, "up").await;
    let check = app.wait_for_checks(&token, first(&mail), 1).await.remove(0);
    assert_eq!(check["ok"], true, "{check}");
    let check = app.wait_for_checks(&token, first(&gone), 1).await.remove(0);
    assert_eq!(check["error"]["kind"], "dns", "{check}");
    assert_eq!(message(&check), "old.app.test A: NXDOMAIN", "{check}");
    let check = app
        .wait_for_checks(&token, first(&removed), 1)
        .await
        .remove(0);
    assert_eq!(check["ok"], true, "{check}");

    // The record changes: the next check sees it, and says what it found.
    dns.set("app.test", "A", &["192.0.2.9"]);
    let down = app.wait_for_status(&token, id, "down").await;
    assert_eq!(down["last_check"]["error"]["kind"], "assertion", "{down}");
    assert_eq!(
        message(&down["last_check"]),
        "answers contains \"192.0.2.1\" but were [\"192.0.2.9\"]",
        "{down}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_monitor_counts_replies_and_fails_when_too_many_are_lost() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let home = app
        .create_monitor(
            &token,
            json!({"kind": "ping", "url": "ping://127.0.0.1", "interval": "1h"}),
        )
        .await;
    assert_eq!(
        (home["packets"].as_u64(), home["max_loss_percent"].as_u64()),
        (Some(3), Some(50))
    );
    // TEST-NET-2 drops every packet here.
    let silent = app
        .create_monitor(
            &token,
            json!({"kind": "ping", "url": "ping://198.51.100.1", "interval": "1h",
                   "timeout": "1s", "packets": 2}),
        )
        .await;
    let check = app
        .wait_for_checks(&token, home["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["ok"], true, "{check}");
    assert!(check["latency_ms"].as_u64().unwrap() < 100, "{check}");
    // An address is not looked up, and echo requests have no other step to time.
    for phase in ["dns_ms", "connect_ms", "tls_ms", "ttfb_ms", "transfer_ms"] {
        assert_eq!(check["phases"][phase], Value::Null, "{check}");
    }
    let check = app
        .wait_for_checks(&token, silent["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["error"]["kind"], "loss", "{check}");
    assert!(
        message(&check).starts_with("2 of 2 echo requests to 198.51.100.1 lost (100%"),
        "{check}"
    );
    for (body, field) in [
        (
            json!({"kind": "ping", "url": "ping://127.0.0.1", "packets": 11}),
            "packets",
        ),
        (json!({"kind": "ping", "url": "ping://224.0.0.1"}), "url"),
        (json!({"kind": "ping", "url": "ping://127.0.0.1:80"}), "url"),
        (
            json!({"kind": "ping", "url": "ping://127.0.0.1", "max_loss_percent": 100}),
            "max_loss_percent",
        ),
        (
            json!({"kind": "dns", "url": "dns://a.test", "record_type": "PTR"}),
            "record_type",
        ),
        (
            json!({"kind": "dns", "url": "dns://a.test", "resolver": "dns.google"}),
            "resolver",
        ),
        (json!({"kind": "dns", "url": "dns://a b"}), "url"),
    ] {
        let (status, error) = app.post("/api/monitors", &token, body.clone()).await;
        assert_eq!(status, 422, "{body}: {error}");
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
}
