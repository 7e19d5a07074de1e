//! A website for monitors to check, on loopback, whose behaviour the test controls and whose
//! visits it counts.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;

/// A request as the target saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Shared {
    /// What `/switch/{name}` answers, by name (200 until set).
    switches: Mutex<HashMap<String, Arc<AtomicU16>>>,
    hits: Mutex<HashMap<String, usize>>,
    seen: Mutex<Vec<Seen>>,
    /// What `/json/{name}` answers, by name (`{}` until set).
    documents: Mutex<HashMap<String, String>>,
}

#[derive(Clone)]
pub struct Target {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Target {
    pub async fn start() -> Target {
        let shared = Arc::new(Shared::default());
        let app = Router::new()
            .route("/ok", any(|| async { "fine" }))
            .route("/status/{code}", any(status))
            .route("/delay/{ms}", any(delay))
            .route("/redirect/{n}", any(redirect))
            .route("/see-other", any(see_other))
            .route(
                "/loop",
                any(|| async { (StatusCode::FOUND, [(header::LOCATION, "/loop")]) }),
            )
            .route("/hang", any(std::future::pending::<&str>))
            .route("/switch/{name}", any(switch))
            .route("/json/{name}", any(document))
            .route("/flap/{name}", any(flap))
            .route("/echo", any(|| async { "echoed" }))
            .route("/count/{name}", any(|| async { "counted" }))
            .layer(axum::middleware::from_fn_with_state(shared.clone(), record))
            .with_state(shared.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Target { addr, shared }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Makes `/json/{name}` answer `body` as JSON from now on.
    pub fn set_json(&self, name: &str, body: &str) {
        self.shared
            .documents
            .lock()
            .unwrap()
            .insert(name.to_owned(), body.to_owned());
    }

    /// Makes `/switch/{name}` answer `code` from now on.
    pub fn set(&self, name: &str, code: u16) {
        self.switch(name).store(code, Ordering::SeqCst);
    }

    fn switch(&self, name: &str) -> Arc<AtomicU16> {
        switch_of(&self.shared, name)
    }

    /// Requests received for a path so far.
    pub fn hits(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .unwrap()
            .get(path)
            .copied()
            .unwrap_or(0)
    }

    /// Every request received for a path, oldest first.
    pub fn seen(&self, path: &str) -> Vec<Seen> {
        self.shared
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .cloned()
            .collect()
    }
}

fn switch_of(shared: &Shared, name: &str) -> Arc<AtomicU16> {
    shared
        .switches
        .lock()
        .unwrap()
        .entry(name.to_owned())
        .or_insert_with(|| Arc::new(AtomicU16::new(200)))
        .clone()
}

async fn record(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    *shared.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    shared.seen.lock().unwrap().push(Seen {
        method: parts.method.clone(),
        path,
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    next.run(axum::extract::Request::from_parts(parts, body.into()))
        .await
}

async fn status(Path(code): Path<u16>) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

async fn delay(Path(ms): Path<u64>) -> &'static str {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "late"
}

/// `/redirect/3` → `/redirect/2` → … → `/redirect/0`, which answers 200.
async fn redirect(Path(n): Path<u32>) -> Response {
    if n == 0 {
        return "arrived".into_response();
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("/redirect/{}", n - 1))],
    )
        .into_response()
}

async fn see_other() -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/echo")]).into_response()
}

async fn document(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    let body = shared
        .documents
        .lock()
        .unwrap()
        .get(&name)
        .cloned()
        .unwrap_or_else(|| "{}".into());
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn switch(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> StatusCode {
    let code = switch_of(&shared, &name).load(Ordering::SeqCst);
    StatusCode::from_u16(code).unwrap_or(StatusCode::OK)
}

/// Fails every other request: 500, 200, 500, 200, …
async fn flap(State(shared): State<Arc<Shared>>, Path(name): Path<String>) -> StatusCode {
    let hits = shared
        .hits
        .lock()
        .unwrap()
        .get(&format!("/flap/{name}"))
        .copied()
        .unwrap_or(0);
    if hits % 2 == 1 {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// A port where connections are accepted and closed at once, without a word.
pub async fn closing_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    addr
}

/// A loopback port nothing listens on.
pub async fn refusing_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
    // The listener is dropped here: connections to the port are refused.
}

/// A server that answers every request with exactly `response`, then closes the connection,
/// or holds it open (without another byte) when `hold` is set.
pub async fn raw_server(response: Vec<u8>, hold: bool) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let response = response.clone();
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream.write_all(&response).await;
                if hold {
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    addr
}

/// A server whose answer never ends: the status `code` and then body bytes for as long as they
/// are read.
pub async fn endless_body_server(code: u16) -> SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request).await;
                let head = format!("HTTP/1.1 {code} Whatever\r\ncontent-type: text/plain\r\n\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let chunk = vec![b'x'; 64 * 1024];
                while stream.write_all(&chunk).await.is_ok() {}
            });
        }
    });
    addr
}
