//! The dashboard as data: every monitor of the caller with its status and its last 24 hours,
//! read from states and hourly roll-ups, so its cost grows with the monitors, never with their
//! history.

use crate::http::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::ApiResult;
use crate::store::{BucketStats, MonitorSummary, SUMMARY_HOURS, summary_start};
use crate::timestamp::{HOUR_MS, Timestamp};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/summary", get(summary))
}

#[derive(Serialize)]
struct Summary {
    from: Timestamp,
    to: Timestamp,
    monitors: Vec<Row>,
}

#[derive(Serialize)]
struct Row {
    id: i64,
    name: String,
    kind: &'static str,
    target: String,
    status: &'static str,
    status_since: Option<Timestamp>,
    last_latency_ms: Option<u32>,
    checks_24h: u64,
    uptime_24h: Option<f64>,
    hours: Vec<Hour>,
}

#[derive(Serialize)]
struct Hour {
    checks: u64,
    up: u64,
    uptime: Option<f64>,
    avg_latency_ms: Option<u64>,
}

impl From<MonitorSummary> for Row {
    fn from(m: MonitorSummary) -> Self {
        let day = BucketStats::total(&m.hours);
        Row {
            target: m.shown_target().to_owned(),
            status: m.shown_status(),
            id: m.id.0,
            name: m.name,
            kind: m.kind.as_str(),
            status_since: m.status_since,
            last_latency_ms: m.last_latency_ms,
            checks_24h: day.checks,
            uptime_24h: day.uptime(),
            hours: m
                .hours
                .iter()
                .map(|h| Hour {
                    checks: h.checks,
                    up: h.up,
                    uptime: h.uptime(),
                    avg_latency_ms: h.average_ms(),
                })
                .collect(),
        }
    }
}

async fn summary(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
) -> ApiResult<impl IntoResponse> {
    let from = summary_start(Timestamp::now());
    let monitors = state.store.summaries(owner, from, SUMMARY_HOURS).await?;
    Ok(Json(Summary {
        from,
        to: Timestamp::from_millis(from.as_millis() + HOUR_MS * i64::from(SUMMARY_HOURS)),
        monitors: monitors.into_iter().map(Row::from).collect(),
    }))
}
