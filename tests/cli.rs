//! The `upbeat` command as a user runs it: help, where settings come from, the database it
//! creates, and stopping on SIGTERM.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_upbeat");

fn upbeat(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("UPBEAT_LISTEN")
        .env_remove("UPBEAT_DATABASE_URL")
        .env_remove("UPBEAT_CONFIG")
        .env_remove("UPBEAT_JWT_SECRET")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// A loopback address with a port that was free a moment ago.
fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Whether `/healthz` answers 200 at `addr`.
fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

fn wait_healthy(child: &mut Child, addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !healthy(addr) {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("upbeat exited with {status} before answering on {addr}");
        }
        assert!(Instant::now() < deadline, "upbeat did not answer on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends SIGTERM and waits for the process to end; returns its exit status and its log.
fn terminate(mut child: Child) -> (ExitStatus, String) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("the kill command runs");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "upbeat did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut log = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        stderr.read_to_string(&mut log).unwrap();
    }
    (status, log)
}

#[test]
fn help_explains_every_option_and_setting() {
    let dir = tempfile::tempdir().unwrap();
    let top = upbeat(dir.path())
        .arg("--help")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(top.status.success());
    let top = String::from_utf8(top.stdout).unwrap();
    assert!(top.contains("serve"), "{top}");
    let serve = upbeat(dir.path())
        .args(["serve", "--help"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let serve = String::from_utf8(serve.stdout).unwrap();
    for needle in [
        "--listen",
        "UPBEAT_LISTEN",
        "--database",
        "UPBEAT_DATABASE_URL",
        "--config",
        "UPBEAT_CONFIG",
        "jwt_secret",
        "token_ttl",
        "cors_origins",
        "shutdown_grace",
        "dns_servers",
        "login.per_address_per_minute",
        "login.per_account_per_minute",
        "public_url",
        "smtp_url",
        "smtp_from",
        "smtp_ca_file",
        "ca_file",
        "session_ttl",
        "SENDGRID_API_KEY",
        "alert_retry",
    ] {
        assert!(
            serve.contains(needle),
            "`serve --help` does not mention {needle}:\n{serve}"
        );
    }
}

#[test]
fn flags_beat_the_environment_which_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (from_file, from_env, from_flag) = (free_addr(), free_addr(), free_addr());
    std::fs::write(
        dir.path().join("settings.toml"),
        format!("listen = \"{from_file}\"\n"),
    )
    .unwrap();
    let run = |env: Option<SocketAddr>, flag: Option<SocketAddr>, expected: SocketAddr| {
        let mut cmd = upbeat(dir.path());
        cmd.args(["serve", "--config", "settings.toml"]);
        if let Some(addr) = env {
            cmd.env("UPBEAT_LISTEN", addr.to_string());
        }
        if let Some(addr) = flag {
            cmd.args(["--listen", &addr.to_string()]);
        }
        let mut child = cmd.spawn().unwrap();
        wait_healthy(&mut child, expected);
        for other in [from_file, from_env, from_flag] {
            if other != expected {
                assert!(!healthy(other), "also listening on {other}");
            }
        }
        let (status, log) = terminate(child);
        assert!(status.success(), "{status}: {log}");
    };
    run(Some(from_env), Some(from_flag), from_flag);
    run(Some(from_env), None, from_env);
    run(None, None, from_file);
}

#[test]
fn serve_creates_its_database_in_wal_mode_logs_plain_text_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let addr = free_addr();
    let mut child = upbeat(dir.path())
        .args(["serve", "--listen", &addr.to_string()])
        .spawn()
        .unwrap();
    wait_healthy(&mut child, addr);
    let (status, log) = terminate(child);
    assert!(status.success(), "{status}: {log}");
    assert!(log.contains("stopped"), "{log}");
    assert!(
        !log.contains('\x1b'),
        "colour codes in a log that is not a terminal: {log:?}"
    );
    let header =
        std::fs::read(dir.path().join("upbeat.db")).expect("upbeat.db in the working directory");
    // Bytes 18 and 19 of an SQLite file are its write and read versions: 2 means WAL.
    assert_eq!((header[18], header[19]), (2, 2), "not in WAL mode");
}

#[test]
fn a_bad_setting_stops_start_up_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("upbeat.toml"), "token_ttl = \"forever\"\n").unwrap();
    let out = upbeat(dir.path()).arg("serve").output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("token_ttl") && err.contains("forever"),
        "{err}"
    );
}

// Shared with the API tests, which use more of them than this file does.
#[allow(dead_code)]
#[path = "api/support/service.rs"]
mod service;
#[allow(dead_code)]
#[path = "api/support/smtp.rs"]
mod smtp;

/// Sends SIGKILL: no shutdown, no flush, as in a crash or an OOM kill.
fn kill_hard(mut child: Child) {
    let killed = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status()
        .expect("the kill command runs");
    assert!(killed.success());
    child.wait().unwrap();
}

#[test]
fn an_alert_pending_when_upbeat_is_killed_is_sent_exactly_once_after_a_restart() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (api, mail_addr) = (free_addr(), free_addr());
    let cert = smtp::TestCert::new();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &cert.pem).unwrap();
    let slack = rt.block_on(service::FakeService::start(200, "ok"));
    let slack_url = slack.url("/services/T0/B0/very-secret-token");
    let hook = rt.block_on(service::FakeService::start(200, ""));
    let hook_url = hook.url("/in?token=query-secret-token");
    // Logs go to files: a trace log outgrows a pipe that is read only at the end.
    let start = |log: &str| {
        let mut child = upbeat(dir.path())
            .stderr(std::fs::File::create(dir.path().join(log)).unwrap())
            .args(["serve", "--listen", &api.to_string()])
            .env(
                "UPBEAT_SMTP_URL",
                format!(
                    "smtp://alerts:hunter2-secret@127.0.0.1:{}",
                    mail_addr.port()
                ),
            )
            .env("UPBEAT_SMTP_FROM", "upbeat <alerts@example.com>")
            .env("UPBEAT_SMTP_CA_FILE", &ca)
            .env("UPBEAT_ALERT_RETRY", "200ms")
            // Everything is logged, so that whatever logs a secret is caught.
            .env("RUST_LOG", "trace")
            .spawn()
            .unwrap();
        wait_healthy(&mut child, api);
        child
    };
    let client = reqwest::Client::new();
    let call = |method: reqwest::Method,
                path: &str,
                token: Option<&str>,
                body: Option<serde_json::Value>| {
        let mut request = client.request(method, format!("http://{api}{path}"));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        rt.block_on(async {
            request
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        })
    };
    let email_alert = |token: &str| {
        call(reqwest::Method::GET, "/api/alerts", Some(token), None)
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["channel_kind"] == "email")
            .cloned()
    };

    // The mail server is down: the DOWN alert waits in the outbox, retried.
    let first = start("first.log");
    let session = call(
        reqwest::Method::POST,
        "/api/auth/register",
        None,
        Some(serde_json::json!({"email": "ada@example.com", "password": "correct horse"})),
    );
    let token = session["token"].as_str().unwrap().to_owned();
    let email = call(reqwest::Method::GET, "/api/channels", Some(&token), None)[0]["id"].clone();
    let chat = call(
        reqwest::Method::POST,
        "/api/channels",
        Some(&token),
        Some(serde_json::json!({"kind": "slack", "settings": {"webhook_url": slack_url}})),
    );
    let webhook = call(
        reqwest::Method::POST,
        "/api/channels",
        Some(&token),
        Some(
            serde_json::json!({"kind": "webhook", "settings": {"url": hook_url,
            "headers": {"Authorization": "Bearer header-secret-token"}, "secret": "signing-secret-key"}}),
        ),
    );
    call(
        reqwest::Method::POST,
        "/api/monitors",
        Some(&token),
        Some(
            serde_json::json!({"name": "API", "url": "http://127.0.0.1:1/", "interval": 1,
                                "failure_threshold": 1, "channels": [email, chat["id"], webhook["id"]]}),
        ),
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while !email_alert(&token)
        .is_some_and(|a| a["attempts"].as_u64() >= Some(2) && a["state"] == "pending")
    {
        assert!(
            Instant::now() < deadline,
            "the email alert was never retried"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill_hard(first);

    // The mail server is back, and so is upbeat.
    let mail = rt.block_on(smtp::MailServer::start(mail_addr, &cert));
    let second = start("second.log");
    let deadline = Instant::now() + Duration::from_secs(20);
    while mail.mails().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the email alert was not sent after the restart"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Retries run every 200 ms: a second copy would show within this.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(mail.mails().len(), 1, "exactly one email");
    assert_eq!(
        mail.mails()[0].header("Subject").as_deref(),
        Some("[DOWN] API")
    );
    assert_eq!(email_alert(&token).unwrap()["state"], "sent");
    assert_eq!(
        slack.received().len(),
        1,
        "the chat alert, sent before the crash, was not repeated"
    );
    let (status, _) = terminate(second);
    assert!(status.success());
    let log = ["first.log", "second.log"]
        .map(|f| std::fs::read_to_string(dir.path().join(f)).unwrap())
        .join("\n");
    assert_eq!(
        hook.received().len(),
        1,
        "the webhook alert was not repeated"
    );
    for secret in [
        "hunter2-secret",
        "very-secret-token",
        "query-secret-token",
        "header-secret-token",
        "signing-secret-key",
    ] {
        assert!(!log.contains(secret), "the log shows {secret}");
    }
    assert!(log.contains("alert sent"), "{log}");
    assert!(log.contains("TRACE"), "the log holds everything");
}
