//! What the API tests share: the real service on 127.0.0.1:0 with a fresh database, a client
//! for it, and waiting for conditions with a deadline.

pub mod browser;
pub mod certs;
pub mod dns;
pub mod service;
pub mod signin;
pub mod smtp;
pub mod target;
pub mod tls;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use upbeat::app::App;
use upbeat::config::{Config, HumanDuration};

/// How long a test waits for something that should happen within a second or two.
pub const PATIENCE: Duration = Duration::from_secs(10);

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    /// The configuration it runs with, so a restart reuses the same database.
    pub config: Config,
    shutdown: CancellationToken,
    running: Option<JoinHandle<anyhow::Result<()>>>,
    /// Owns the database directory; it goes when the test ends.
    _dir: Option<TempDir>,
}

pub fn test_config(dir: &TempDir) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: format!("sqlite:{}", dir.path().join("upbeat.db").display()),
        shutdown_grace: HumanDuration(Duration::from_secs(1)),
        ..Config::default()
    }
}

/// The service with default settings and an empty database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The service with settings changed by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut config = test_config(&dir);
    adjust(&mut config);
    let mut app = start(config).await;
    app._dir = Some(dir);
    app
}

/// Starts the service with exactly this configuration.
pub async fn start(config: Config) -> TestApp {
    // The tests' own HTTP client takes TLS from the process-wide provider.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let app = App::build(&config).await.expect("the app starts");
    let addr = app.local_addr().expect("bound address");
    let shutdown = CancellationToken::new();
    let running = tokio::spawn(app.run(shutdown.clone()));
    TestApp {
        addr,
        client: reqwest::Client::new(),
        config,
        shutdown,
        running: Some(running),
        _dir: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Shuts the service down gracefully and waits until it has stopped. Returns the database
    /// directory, so the same data can be opened again.
    pub async fn stop(mut self) -> Option<TempDir> {
        self.shutdown.cancel();
        if let Some(running) = self.running.take() {
            running
                .await
                .expect("the app task")
                .expect("the app shuts down cleanly");
        }
        self._dir.take()
    }

    /// Restarts on the same database.
    pub async fn restart(self) -> TestApp {
        let config = self.config.clone();
        let dir = self.stop().await;
        let mut app = start(config).await;
        app.keep(dir);
        app
    }

    /// Takes over the database directory of a stopped app, so it lasts as long as this one.
    pub fn keep(&mut self, dir: Option<TempDir>) {
        self._dir = dir;
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the request is answered");
        let status = resp.status();
        let text = resp.text().await.expect("a body");
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON body, got {text:?}"))
        };
        (status, value)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// Registers an account and returns its token.
    pub async fn register(&self, email: &str) -> String {
        let (status, body) = self
            .request(
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({"email": email, "password": "correct horse battery"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    /// Creates a monitor and returns it.
    pub async fn create_monitor(&self, token: &str, body: Value) -> Value {
        let (status, monitor) = self.post("/api/monitors", token, body).await;
        assert_eq!(status, StatusCode::CREATED, "{monitor}");
        monitor
    }

    pub async fn monitor(&self, token: &str, id: i64) -> Value {
        let (status, monitor) = self.get(&format!("/api/monitors/{id}"), token).await;
        assert_eq!(status, StatusCode::OK, "{monitor}");
        monitor
    }

    /// A monitor's checks, newest first.
    pub async fn checks(&self, token: &str, id: i64) -> Vec<Value> {
        let (status, checks) = self
            .get(&format!("/api/monitors/{id}/checks?limit=1000"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{checks}");
        checks.as_array().cloned().unwrap_or_default()
    }

    /// A monitor's changes of status, oldest first.
    pub async fn events(&self, token: &str, id: i64) -> Vec<Value> {
        let (status, events) = self.get(&format!("/api/monitors/{id}/events"), token).await;
        assert_eq!(status, StatusCode::OK, "{events}");
        events.as_array().unwrap().iter().rev().cloned().collect()
    }

    /// A monitor's outages, newest first.
    pub async fn incidents(&self, token: &str, id: i64) -> Value {
        let (status, incidents) = self
            .get(&format!("/api/monitors/{id}/incidents"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{incidents}");
        incidents
    }

    /// Waits until the monitor has at least `n` checks and returns them, newest first.
    pub async fn wait_for_checks(&self, token: &str, id: i64, n: usize) -> Vec<Value> {
        poll(
            &format!("monitor {id} to have {n} checks"),
            || self.checks(token, id),
            |c| c.len() >= n,
        )
        .await
    }

    /// Waits until the monitor shows `status` and returns it.
    pub async fn wait_for_status(&self, token: &str, id: i64, status: &str) -> Value {
        poll(
            &format!("monitor {id} to be {status}"),
            || self.monitor(token, id),
            |m| m["status"] == status,
        )
        .await
    }
}

/// Fetches until what was fetched satisfies `done`, and returns it; fails after [`PATIENCE`].
pub async fn poll<T, F, Fut>(what: &str, mut fetch: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + PATIENCE;
    loop {
        let value = fetch().await;
        if done(&value) {
            return value;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("gave up waiting for {what} after {PATIENCE:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Polls `condition` until it holds; fails the test after [`PATIENCE`].
pub async fn wait_until<F, Fut>(what: &str, condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll(what, condition, |&holds| holds).await;
}

/// Checks that `condition` holds throughout `period`: for things that must not happen.
pub async fn holds_for<F, Fut>(what: &str, period: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + period;
    while tokio::time::Instant::now() < end {
        assert!(condition().await, "{what} stopped holding");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Milliseconds since the epoch of an RFC 3339 time in a response.
pub fn millis(v: &Value) -> i64 {
    let s = v.as_str().unwrap_or_else(|| panic!("a time, got {v}"));
    upbeat::timestamp::Timestamp::parse_rfc3339(s)
        .unwrap_or_else(|| panic!("an RFC 3339 time, got {s}"))
        .as_millis()
}

/// The `(from, to)` of each event.
pub fn moves(events: &[Value]) -> Vec<(&str, &str)> {
    events
        .iter()
        .map(|e| (e["from"].as_str().unwrap(), e["to"].as_str().unwrap()))
        .collect()
}
