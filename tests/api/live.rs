//! Pages left open: their updates arrive as server-sent events, as the browser's EventSource
//! asks for them, carrying only what changed, only to the owner, and only while the session
//! lasts; an open page never holds up a shutdown.

use crate::support::signin::{PASSWORD, PageSession, login_token};
use crate::support::target::Target;
use crate::support::{TestApp, spawn_app_with};
use reqwest::header::{ACCEPT, COOKIE};
use serde_json::json;
use std::time::Duration;
use upbeat::config::HumanDuration;

/// A page's event stream, read as the browser would.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    async fn open(app: &TestApp, path: &str, cookie: &str) -> Events {
        let response = reqwest::Client::new()
            .get(app.url(path))
            .header(COOKIE, cookie)
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events {
            response,
            buffer: String::new(),
        }
    }

    /// The next event's name and data; `None` when the stream ended.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = Vec::new();
                for line in block.lines() {
                    if let Some(n) = line.strip_prefix("event: ") {
                        name = n.to_owned();
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push(d);
                    } else if let Some(d) = line.strip_prefix("data:") {
                        data.push(d);
                    }
                }
                // Comments keep the connection alive and carry nothing.
                if name.is_empty() && data.is_empty() {
                    continue;
                }
                return Some((name, data.join("\n")));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(15), self.response.chunk())
                .await
                .expect("an event within 15 s")
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// Reads events until one satisfies `ok`; returns it.
    async fn wait_for(&mut self, ok: impl Fn(&str, &str) -> bool) -> (String, String) {
        loop {
            let (name, data) = self.next().await.expect("the stream goes on");
            if ok(&name, &data) {
                return (name, data);
            }
        }
    }
}

async fn login(app: &TestApp, email: &str) -> String {
    login_token(app, email, PASSWORD)
        .await
        .expect("a login token")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_dashboard_is_sent_only_what_changed_until_its_session_ends() {
    let app = spawn_app_with(|_| {}).await;
    let target = Target::start().await;
    let ada = PageSession::sign_up(&app, "ada@example.com").await;
    let cookie = ada.cookie.clone();
    let token = login(&app, "ada@example.com").await;
    let mut events = Events::open(&app, "/", &cookie).await;

    // The part as it is now comes first.
    let (name, data) = events.next().await.unwrap();
    assert_eq!(name, "page");
    assert!(data.contains("Nothing is being watched yet"), "{data}");

    // A new monitor changes the list: the whole part comes again.
    let quiet = app
        .create_monitor(
            &token,
            json!({"name": "Quiet", "url": target.url("/quiet"), "paused": true}),
        )
        .await;
    let (name, data) = events.wait_for(|n, _| n == "page").await;
    assert_eq!(name, "page");
    assert!(
        data.contains(&format!("id=\"monitor-{}\"", quiet["id"])),
        "{data}"
    );

    // Results of a checked monitor come as its row alone; the paused one's row is not resent.
    let busy = app
        .create_monitor(
            &token,
            json!({"name": "Busy", "url": target.url("/busy"), "interval": "1s"}),
        )
        .await;
    let busy_row = format!("id=\"monitor-{}\"", busy["id"]);
    let (_, data) = events
        .wait_for(|n, d| n == "pieces" && d.contains("Last 3 checks"))
        .await;
    assert!(data.contains(&busy_row), "{data}");
    assert!(
        !data.contains("Quiet"),
        "an unchanged row was sent again: {data}"
    );
    assert!(
        !data.contains("id=\"counts\""),
        "unchanged counts were sent again: {data}"
    );

    // Another user's monitors send nothing here.
    let other_cookie = PageSession::sign_up(&app, "bob@example.com").await.cookie;
    let other_token = login(&app, "bob@example.com").await;
    app.create_monitor(
        &other_token,
        json!({"name": "Bob's", "url": target.url("/bob"), "interval": "1s"}),
    )
    .await;
    for _ in 0..3 {
        let (_, data) = events.next().await.unwrap();
        assert!(!data.contains("Bob"), "{data}");
    }
    let mut theirs = Events::open(&app, "/", &other_cookie).await;
    let (_, data) = theirs.next().await.unwrap();
    assert!(data.contains("Bob") && !data.contains("Busy"), "{data}");

    // Signing out ends the stream at the next update.
    let (status, _, _) = ada.post(&app, "/signout", &[]).await;
    assert_eq!(status, 303);
    while events.next().await.is_some() {}
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_pages_never_hold_up_a_shutdown() {
    let app = spawn_app_with(|c| c.shutdown_grace = HumanDuration(Duration::from_secs(120))).await;
    let cookie = PageSession::sign_up(&app, "ada@example.com").await.cookie;
    let token = login(&app, "ada@example.com").await;
    let m = app
        .create_monitor(
            &token,
            json!({"url": "http://127.0.0.1:9/", "paused": true}),
        )
        .await;
    let mut dashboard = Events::open(&app, "/", &cookie).await;
    let mut monitor = Events::open(&app, &format!("/monitors/{}", m["id"]), &cookie).await;
    assert_eq!(dashboard.next().await.unwrap().0, "page");
    assert_eq!(monitor.next().await.unwrap().0, "page");
    // The grace period is two minutes: only the pages closing at once lets this finish.
    tokio::time::timeout(Duration::from_secs(20), app.stop())
        .await
        .expect("open pages held up the shutdown");
    assert!(dashboard.next().await.is_none());
    assert!(monitor.next().await.is_none());
}
