//! A stand-in for a hosted API (SendGrid, Slack, Telegram…) on loopback: it answers as the real
//! service documents and keeps every request, so a test can check the exact request sent.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Received {
    pub method: Method,
    /// Path and query.
    pub target: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("a JSON body, got {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

type Answer = Arc<Mutex<(StatusCode, String)>>;

#[derive(Clone)]
pub struct FakeService {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Received>>>,
    answer: Answer,
}

impl FakeService {
    /// Answers every request with `status` and `body`.
    pub async fn start(status: u16, body: &str) -> FakeService {
        let received = Arc::new(Mutex::new(Vec::new()));
        let answer: Answer = Arc::new(Mutex::new((
            StatusCode::from_u16(status).unwrap(),
            body.to_owned(),
        )));
        let app = Router::new()
            .fallback(record)
            .with_state((Arc::clone(&received), Arc::clone(&answer)));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        FakeService {
            addr,
            received,
            answer,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// From now on, answers with `status` and `body`.
    pub fn answer(&self, status: u16, body: &str) {
        *self.answer.lock().unwrap() = (StatusCode::from_u16(status).unwrap(), body.to_owned());
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn record(
    State((received, answer)): State<(Arc<Mutex<Vec<Received>>>, Answer)>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    received.lock().unwrap().push(Received {
        method: parts.method,
        target: parts
            .uri
            .path_and_query()
            .map(|p| p.to_string())
            .unwrap_or_default(),
        headers: parts.headers,
        body,
    });
    let (status, body) = answer.lock().unwrap().clone();
    (status, body).into_response()
}
