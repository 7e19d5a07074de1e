//! The HTTP face of upbeat: the JSON API, the pages, health, and the errors they answer with.
//! Handlers validate input and check ownership; what a user does to their monitors and
//! channels is one set of actions both faces share. Handlers never run SQL or probes themselves.

mod actions;
mod api;
pub mod auth;
mod error;
mod extract;
mod ping;
mod server;
mod ui;

pub use actions::MonitorLocks;
pub use server::serve;
pub use ui::session::Sessions;

use crate::account::Passwords;
use crate::alert::send::Senders;
use crate::live::Live;
use crate::metrics::{self, Metrics};
use crate::monitor::UserId;
use crate::probe::Prober;
use crate::recorder::RecorderHandle;
use crate::scheduler::SchedulerHandle;
use crate::secret::Secret;
use crate::store::Store;
use anyhow::Context;
use auth::{AttemptLimiter, KeyedLimit, Tokens};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::ApiError;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::trace::TraceLayer;

/// How many test messages one user may send a minute.
pub const TEST_SENDS_PER_MINUTE: u32 = 10;
/// How many pings one heartbeat may receive a minute: a job that starts and ends every second.
pub const PINGS_PER_MINUTE: u32 = 120;
/// How many trial checks ("check now" before saving) one user may make a minute.
pub const TRIAL_CHECKS_PER_MINUTE: u32 = 30;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub scheduler: SchedulerHandle,
    pub recorder: RecorderHandle,
    pub locks: Arc<MonitorLocks>,
    /// What changed, for pages that update themselves.
    pub live: Live,
    pub tokens: Arc<Tokens>,
    pub limiter: Arc<AttemptLimiter>,
    /// Test messages each user may send: each one reaches out to a destination.
    pub test_sends: Arc<KeyedLimit<UserId>>,
    /// Runs trial checks, which reach out to a target like test messages do.
    pub prober: Prober,
    pub trial_checks: Arc<KeyedLimit<UserId>>,
    pub passwords: Arc<Passwords>,
    pub senders: Arc<Senders>,
    pub sessions: Arc<Sessions>,
    /// Where people and jobs reach upbeat, for the absolute ping URLs of heartbeats.
    pub public_url: Arc<str>,
    /// Pings each heartbeat token may send.
    pub pings: Arc<KeyedLimit<String>>,
    pub metrics: Arc<Metrics>,
    /// The bearer token `/metrics` asks for, if any.
    pub metrics_token: Option<Arc<Secret>>,
}

pub fn router(state: AppState, cors_origins: &[String]) -> anyhow::Result<Router> {
    let mut router = Router::new()
        .route("/healthz", get(health))
        .route("/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
        .merge(api::router())
        .merge(ping::router())
        .merge(ui::router())
        .fallback(|| async { ApiError::NotFound })
        // Applies to the routes above only, so it comes after them.
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT))
        // A bug answers 500 in the usual shape and leaves the connection and the service alive.
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("a request handler panicked")).into_response()
        }))
        .layer(TraceLayer::new_for_http())
        // Pages and lists shrink tenfold; event streams and tiny answers are left as they are.
        .layer(CompressionLayer::new())
        .with_state(state);
    // Without allowed origins there is no CORS layer at all: browsers then refuse every
    // cross-origin call, which is the safe default.
    if !cors_origins.is_empty() {
        let origins = cors_origins
            .iter()
            .map(|o| HeaderValue::from_str(o.trim_end_matches('/')))
            .collect::<Result<Vec<_>, _>>()
            .context("cors_origins")?;
        router = router.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([
                    Method::GET,
                    Method::POST,
                    Method::PUT,
                    Method::PATCH,
                    Method::DELETE,
                ])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    Ok(router)
}

/// The OpenAPI description of the API, compiled in.
async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../../docs/openapi.json"),
    )
}

/// 200 when the service can reach its database, 503 otherwise.
/// The Prometheus metrics. With `metrics_token` set, only for the bearer of it.
async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        // Digests compared, so the time taken says nothing about the token.
        if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.expose().as_bytes()) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "the metrics need the metrics token\n",
            )
                .into_response();
        }
    }
    // The database being unreachable is when the metrics matter most: they are served anyway.
    let stats = match state.store.stats().await {
        Ok(stats) => Some(stats),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: the database did not answer");
            None
        }
    };
    let text = state
        .metrics
        .render(stats.as_ref(), state.recorder.queued());
    ([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response()
}

async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(json!({"status": "ok"}))),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "unavailable", "reason": "database unreachable"})),
            )
        }
    }
}
