//! `/api/alerts` and `/api/monitors/{id}/alerts`: what was sent where, when, and how it went.

use super::views::delivery_json;
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::actions::owned_id;
use crate::http::auth::AuthUser;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiQuery, MonitorPath};
use crate::monitor::{MonitorId, UserId};
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/alerts", get(all))
        .route("/api/monitors/{id}/alerts", get(of_monitor))
}

#[derive(Deserialize)]
struct Params {
    limit: Option<String>,
    before: Option<String>,
}

async fn all(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    history(&state, owner, None, &p).await
}

async fn of_monitor(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    let monitor = owned_id(&state, owner, id).await?;
    history(&state, owner, Some(monitor), &p).await
}

/// Newest first; `before` takes the id of the last delivery of the previous page.
async fn history(
    state: &AppState,
    owner: UserId,
    monitor: Option<MonitorId>,
    p: &Params,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let limit = match p.limit.as_deref() {
        None => 100,
        Some(s) => s
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| FieldError::new("limit", "must be a number from 1 to 1000"))?,
    };
    let before = p
        .before
        .as_deref()
        .map(|s| {
            s.trim()
                .parse::<i64>()
                .map_err(|_| FieldError::new("before", "must be the id of a delivery"))
        })
        .transpose()?;
    let deliveries = state
        .store
        .deliveries(owner, monitor, before, limit)
        .await?;
    Ok(Json(deliveries.iter().map(delivery_json).collect()))
}
