//! A monitor's history: its latest checks, uptime over a window in equal buckets, incidents,
//! and changes of status.

use super::views::{CheckView, EventView, IncidentView};
use super::{OwnedMonitor, bounded};
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::error::ApiResult;
use crate::http::extract::ApiQuery;
use crate::monitor::format_duration;
use crate::store::BucketStats;
use crate::timestamp::Timestamp;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/monitors/{id}/checks", get(checks))
        .route("/api/monitors/{id}/uptime", get(uptime))
        .route("/api/monitors/{id}/incidents", get(incidents))
        .route("/api/monitors/{id}/events", get(events))
}

/// Query values arrive as text and are parsed here, so each error names its parameter.
#[derive(Deserialize)]
struct Params {
    limit: Option<String>,
    before: Option<String>,
    window: Option<String>,
    buckets: Option<String>,
}

async fn checks(
    State(state): State<AppState>,
    OwnedMonitor { id: monitor, .. }: OwnedMonitor,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    let limit = bounded("limit", p.limit.as_deref(), 60, 1000)?;
    let before = p
        .before
        .as_deref()
        .map(|s| {
            Timestamp::parse_rfc3339(s)
                .ok_or_else(|| FieldError::new("before", "must be an RFC 3339 time"))
        })
        .transpose()?;
    let checks = state.store.checks(monitor, before, limit).await?;
    Ok(Json(
        checks.into_iter().map(CheckView::from).collect::<Vec<_>>(),
    ))
}

/// The windows offered, and their lengths.
const WINDOWS: [(&str, u64); 5] = [
    ("1h", 3600),
    ("24h", 86_400),
    ("7d", 7 * 86_400),
    ("30d", 30 * 86_400),
    ("90d", 90 * 86_400),
];

#[derive(Serialize)]
struct Uptime {
    window: &'static str,
    from: Timestamp,
    to: Timestamp,
    bucket_seconds: u64,
    bucket_width: String,
    #[serde(flatten)]
    counts: Counts,
    buckets: Vec<Bucket>,
}

#[derive(Serialize)]
struct Bucket {
    start: Timestamp,
    #[serde(flatten)]
    counts: Counts,
}

/// Uptime and the latency of the successful checks, over a window or one of its buckets.
#[derive(Serialize)]
struct Counts {
    checks: u64,
    up: u64,
    uptime: Option<f64>,
    avg_latency_ms: Option<f64>,
    min_latency_ms: Option<u32>,
    max_latency_ms: Option<u32>,
    p50_latency_ms: Option<u32>,
    p95_latency_ms: Option<u32>,
    p99_latency_ms: Option<u32>,
}

impl From<&BucketStats> for Counts {
    fn from(b: &BucketStats) -> Self {
        let average =
            (b.up > 0).then(|| (b.up_latency_sum_ms as f64 / b.up as f64 * 10.0).round() / 10.0);
        Counts {
            checks: b.checks,
            up: b.up,
            uptime: b.uptime(),
            avg_latency_ms: average,
            min_latency_ms: b.latency_min_ms,
            max_latency_ms: b.latency_max_ms,
            p50_latency_ms: b.percentile_ms(50),
            p95_latency_ms: b.percentile_ms(95),
            p99_latency_ms: b.percentile_ms(99),
        }
    }
}

async fn uptime(
    State(state): State<AppState>,
    OwnedMonitor { id: monitor, .. }: OwnedMonitor,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    let window_name = p.window.as_deref().unwrap_or("24h");
    let (window, window_secs) = WINDOWS
        .into_iter()
        .find(|(name, _)| *name == window_name)
        .ok_or_else(|| FieldError::new("window", "must be one of 1h, 24h, 7d, 30d, 90d"))?;
    let count = bounded("buckets", p.buckets.as_deref(), 24, 1440)?;
    let width_ms = window_secs * 1000 / u64::from(count);
    if width_ms < 1000 {
        return Err(FieldError::new("buckets", "must leave buckets of at least one second").into());
    }
    // Past an hour, buckets are sums of roll-ups (per minute up to a day, per hour or day
    // past it), whatever the number of checks.
    let (unit, units) = if window_secs <= 3600 {
        ("", 0)
    } else if window_secs <= 86_400 {
        ("minutes", window_secs / 60)
    } else {
        ("hours", window_secs / 3600)
    };
    if units > 0 && units % u64::from(count) != 0 {
        return Err(FieldError::new(
            "buckets",
            format!("must divide the {window_name} window into whole {unit}: a divisor of {units}"),
        )
        .into());
    }
    // Buckets sit on multiples of their width, so the newest one holds the present and hourly
    // buckets are whole clock hours.
    let now = Timestamp::now().as_millis();
    let width = width_ms as i64;
    let to = (now.div_euclid(width) + 1) * width;
    let from = to - width * i64::from(count);
    let stats = state
        .store
        .buckets(
            monitor,
            Timestamp::from_millis(from),
            Duration::from_millis(width_ms),
            count,
        )
        .await?;
    let buckets = stats
        .iter()
        .enumerate()
        .map(|(i, b)| Bucket {
            start: Timestamp::from_millis(from + width * i as i64),
            counts: b.into(),
        })
        .collect();
    Ok(Json(Uptime {
        window,
        from: Timestamp::from_millis(from),
        to: Timestamp::from_millis(to),
        bucket_seconds: width_ms / 1000,
        bucket_width: format_duration(Duration::from_millis(width_ms)),
        counts: (&BucketStats::total(&stats)).into(),
        buckets,
    }))
}

async fn incidents(
    State(state): State<AppState>,
    OwnedMonitor { id: monitor, .. }: OwnedMonitor,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    let limit = bounded("limit", p.limit.as_deref(), 100, 1000)?;
    let incidents = state.store.incidents(monitor, limit).await?;
    let now = Timestamp::now();
    Ok(Json(
        incidents
            .into_iter()
            .map(|i| IncidentView::new(i, now))
            .collect::<Vec<_>>(),
    ))
}

async fn events(
    State(state): State<AppState>,
    OwnedMonitor { id: monitor, .. }: OwnedMonitor,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    let limit = bounded("limit", p.limit.as_deref(), 100, 1000)?;
    let events = state.store.events(monitor, limit).await?;
    Ok(Json(
        events.into_iter().map(EventView::from).collect::<Vec<_>>(),
    ))
}
