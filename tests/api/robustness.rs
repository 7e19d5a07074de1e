//! What neither a hostile target, an impatient or hostile client, nor a locked database can do:
//! crash or stall the service, leak the owner's secrets, mark a monitor down, or leave the
//! scheduler disagreeing with what was stored.

use crate::support::target::{Target, endless_body_server, raw_server};
use crate::support::{holds_for, moves, poll, spawn_app, wait_until};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_and_resume_sent_together_never_leave_a_paused_monitor_checked() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let mut paused = Vec::new();
    for i in 0..20 {
        let path = format!("/count/race{i}");
        let m = app
            .create_monitor(
                &token,
                json!({"url": target.url(&path), "interval": 1, "paused": true}),
            )
            .await;
        let id = m["id"].as_i64().unwrap();
        // A double click: resume and pause at once, in either order.
        let (resume, pause) = (
            format!("/api/monitors/{id}/resume"),
            format!("/api/monitors/{id}/pause"),
        );
        let (a, b) = tokio::join!(
            app.post(&resume, &token, json!({})),
            app.post(&pause, &token, json!({})),
        );
        assert_eq!((a.0, b.0), (StatusCode::OK, StatusCode::OK));
        if app.monitor(&token, id).await["paused"] == true {
            paused.push(path);
        }
    }
    assert!(!paused.is_empty(), "some pauses came last");
    let seen: Vec<usize> = paused.iter().map(|p| target.hits(p)).collect();
    holds_for(
        "paused monitors stay unchecked",
        Duration::from_millis(2500),
        || async {
            // One check may have been under way when the pause arrived.
            paused
                .iter()
                .zip(&seen)
                .all(|(p, &n)| target.hits(p) <= n + 1)
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_leave_the_checks_on_the_stored_settings() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/u0"), "interval": 1}),
        )
        .await;
    let path = format!("/api/monitors/{}", m["id"]);
    let patches = (1..=8).map(|i| {
        app.patch(
            &path,
            &token,
            json!({"url": target.url(&format!("/count/u{i}"))}),
        )
    });
    for (status, body) in futures::future::join_all(patches).await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let stored = app.monitor(&token, m["id"].as_i64().unwrap()).await["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let stored_path = stored.trim_start_matches(&target.url("")).to_owned();
    let before = target.hits(&stored_path);
    wait_until("checks of the stored URL", || async {
        target.hits(&stored_path) >= before + 2
    })
    .await;
    let others: Vec<(String, usize)> = (0..=8)
        .map(|i| format!("/count/u{i}"))
        .filter(|p| *p != stored_path)
        .map(|p| {
            let n = target.hits(&p);
            (p, n)
        })
        .collect();
    holds_for(
        "no checks of other URLs",
        Duration::from_millis(2000),
        || async { others.iter().all(|(p, n)| target.hits(p) <= n + 1) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_targets_are_failed_checks_and_nothing_more() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let mut huge_head = b"HTTP/1.1 200 OK\r\n".to_vec();
    for i in 0..2000 {
        huge_head.extend_from_slice(format!("x-h{i}: {}\r\n", "y".repeat(200)).as_bytes());
    }
    huge_head.extend_from_slice(b"content-length: 0\r\n\r\n");
    let cases: Vec<(&str, std::net::SocketAddr, Value)> = vec![
        (
            "endless body",
            endless_body_server(200).await,
            json!({"ok": true}),
        ),
        (
            "huge headers",
            raw_server(huge_head, true).await,
            json!({"kind": "protocol"}),
        ),
        (
            "garbage",
            raw_server(b"garbage\r\n\r\n".to_vec(), false).await,
            json!({"kind": "protocol"}),
        ),
        (
            "body cut short",
            raw_server(
                b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nabc".to_vec(),
                false,
            )
            .await,
            json!({"kind": "body"}),
        ),
        (
            "body stalls",
            raw_server(
                b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nabc".to_vec(),
                true,
            )
            .await,
            json!({"kind": "timeout"}),
        ),
        (
            "redirect to a file",
            raw_server(
                b"HTTP/1.1 302 Found\r\nlocation: file:///etc/passwd\r\ncontent-length: 0\r\n\r\n"
                    .to_vec(),
                false,
            )
            .await,
            json!({"kind": "redirect"}),
        ),
    ];
    for (what, addr, expected) in cases {
        let m = app
            .create_monitor(
                &token,
                json!({"url": format!("http://{addr}/"), "interval": "1h", "timeout": "2s"}),
            )
            .await;
        let check = app
            .wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
            .await
            .remove(0);
        if expected["ok"] == true {
            assert_eq!(check["ok"], true, "{what}: {check}");
        } else {
            assert_eq!(check["error"]["kind"], expected["kind"], "{what}: {check}");
        }
    }
    let (status, _) = app.request(Method::GET, "/healthz", None, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_with_unencoded_utf8_locations_are_followed() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nlocation: http://{}/count/caf\u{e9}\r\ncontent-length: 0\r\n\r\n",
        target.addr
    );
    let addr = raw_server(redirect.into_bytes(), false).await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": format!("http://{addr}/"), "interval": "1h"}),
        )
        .await;
    let check = app
        .wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["ok"], true, "{check}");
    assert_eq!(target.hits("/count/caf%C3%A9"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_owners_headers_and_credentials_never_follow_a_redirect_to_another_origin() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    // 127.0.0.1 and localhost are different origins for the same server.
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nlocation: http://localhost:{}/echo\r\ncontent-length: 0\r\n\r\n",
        target.addr.port()
    );
    let addr = raw_server(redirect.into_bytes(), false).await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": format!("http://user:pw@{addr}/"), "interval": "1h",
                   "headers": {"Authorization": "Bearer a", "X-Api-Key": "b", "Cookie": "c=d"}}),
        )
        .await;
    let check = app
        .wait_for_checks(&token, m["id"].as_i64().unwrap(), 1)
        .await
        .remove(0);
    assert_eq!(check["ok"], true, "{check}");
    let seen = &target.seen("/echo")[0];
    for name in ["authorization", "x-api-key", "cookie"] {
        assert!(
            seen.headers.get(name).is_none(),
            "{name} was sent to another origin"
        );
    }
}

/// Opens a connection and sends the start of a request, never the end.
async fn half_request(addr: std::net::SocketAddr) -> tokio::net::TcpStream {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = spawn_app().await;
    let mut stream = half_request(app.addr).await;
    let mut buf = [0u8; 1024];
    // The server closes the connection after its header deadline (10 s).
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut buf))
        .await
        .expect("the server hangs up within the deadline");
    assert!(
        matches!(read, Ok(0) | Err(_)) || buf.starts_with(b"HTTP/1.1 408"),
        "{read:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_cannot_hold_up_a_shutdown() {
    let app = spawn_app().await;
    let _stalled: Vec<_> = futures::future::join_all((0..5).map(|_| half_request(app.addr))).await;
    // One more sends headers announcing a body that never comes.
    let mut body_pending = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    body_pending
        .write_all(b"POST /api/auth/login HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n{")
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), app.stop())
        .await
        .expect("shutdown ends after the grace period");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_monitor_that_no_longer_reads_stops_neither_start_up_nor_the_others() {
    let app = spawn_app().await;
    let target = Target::start().await;
    let token = app.register("ada@example.com").await;
    let broken = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/broken"), "interval": "1h"}),
        )
        .await;
    let fine = app
        .create_monitor(
            &token,
            json!({"url": target.url("/count/fine"), "interval": 1}),
        )
        .await;
    let config = app.config.clone();
    let dir = app.stop().await;
    // Settings stored under older rules: a timeout longer than any allowed now.
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&config.database_url)
        .await
        .unwrap();
    sqlx::query("UPDATE monitors SET spec = json_set(spec, '$.timeout', '1h') WHERE id = ?")
        .bind(broken["id"].as_i64().unwrap())
        .execute(&mut db)
        .await
        .unwrap();
    drop(db);

    let mut app = crate::support::start(config).await;
    app.keep(dir);
    let listed = app.get("/api/monitors", &token).await.1;
    let ids: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["id"])
        .collect();
    assert_eq!(ids, [&fine["id"]], "{listed}");
    let before = target.hits("/count/fine");
    wait_until("the readable monitor to be checked", || async {
        target.hits("/count/fine") > before
    })
    .await;
}

/// Another process holding the database's write lock longer than a heartbeat's period and
/// grace holds up storing, not checking: checks go on every second, pings are heard, nothing is
/// marked down, and every result of the stall is stored once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_delays_results_but_marks_nothing_down() {
    let target = Target::start().await;
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let web = app
        .create_monitor(
            &token,
            json!({"name": "web", "url": target.url("/ok"), "interval": 1}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let beat = app
        .create_monitor(
            &token,
            json!({"kind": "heartbeat", "name": "job", "interval": "1s", "grace": "1s"}),
        )
        .await;
    let (beat, ping_url) = (
        beat["id"].as_i64().unwrap(),
        beat["ping_url"].as_str().unwrap().to_owned(),
    );
    let ping = || {
        let request = app.client.post(&ping_url).send();
        tokio::spawn(async move { request.await.map(|r| r.status().as_u16()) })
    };
    assert_eq!(ping().await.unwrap().unwrap(), 200);
    app.wait_for_status(&token, web, "up").await;
    app.wait_for_status(&token, beat, "up").await;

    let mut lock = lock_database(&app).await;
    let locked_at = upbeat::timestamp::Timestamp::now().as_millis();
    // Pings every half second while locked: each is answered once it is stored.
    let mut pings = Vec::new();
    for _ in 0..8 {
        pings.push(ping());
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let queued = metrics
        .lines()
        .find_map(|l| l.strip_prefix("upbeat_results_queued "));
    assert!(
        queued.is_some_and(|n| n.parse::<u64>().unwrap() >= 2),
        "{metrics}"
    );
    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    let unlocked_at = upbeat::timestamp::Timestamp::now().as_millis();
    for p in pings {
        assert_eq!(p.await.unwrap().unwrap(), 200);
    }

    let during = |checks: &[Value]| {
        checks
            .iter()
            .map(|c| crate::support::millis(&c["at"]))
            .filter(|at| (locked_at..unlocked_at).contains(at))
            .count()
    };
    let checks = poll(
        "the checks made while locked to be stored",
        || app.checks(&token, web),
        |c| during(c) >= 3,
    )
    .await;
    assert!(checks.iter().all(|c| c["ok"] == true), "{checks:#?}");
    for id in [web, beat] {
        assert_eq!(
            moves(&app.events(&token, id).await),
            [("pending", "up")],
            "monitor {id}"
        );
        assert_eq!(app.monitor(&token, id).await["status"], "up");
    }
}

/// A request that must write while another process holds the database longer than a request
/// waits is turned away with a 503 that says when to try again, and leaves nothing behind: the
/// same request goes through once the database is free.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_database_cannot_take_in_time_is_a_503_that_changes_nothing() {
    let app = spawn_app().await;
    let token = app.register("ada@example.com").await;
    let body = json!({"name": "late", "url": "http://127.0.0.1:9/", "interval": "1h"});
    let mut lock = lock_database(&app).await;
    let response = app
        .client
        .post(app.url("/api/monitors"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let retry_after = response.headers().get("retry-after").cloned();
    let error: Value = response.json().await.unwrap();
    sqlx::query("COMMIT").execute(&mut lock).await.unwrap();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{error}");
    assert_eq!(error["error"]["code"], "busy", "{error}");
    assert_eq!(retry_after.unwrap(), "2");
    assert_eq!(app.get("/api/monitors", &token).await.1, json!([]));
    let (status, created) = app.post("/api/monitors", &token, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(app.get("/api/monitors", &token).await.1[0]["name"], "late");
}

/// A connection of another client holding the app's database exclusively until it commits.
async fn lock_database(app: &crate::support::TestApp) -> sqlx::SqliteConnection {
    let mut lock = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.config.database_url)
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut lock)
        .await
        .unwrap();
    lock
}
