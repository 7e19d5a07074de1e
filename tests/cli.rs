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
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
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
fn serve_creates_its_database_in_wal_mode_and_stops_cleanly_on_sigterm() {
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
