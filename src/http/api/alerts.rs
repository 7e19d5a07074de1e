//! `/api/alerts` and `/api/monitors/{id}/alerts`: what was sent where, when, and how it went.

use super::views::delivery_json;
use super::{OwnedMonitor, bounded};
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::ApiResult;
use crate::http::extract::ApiQuery;
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
    OwnedMonitor { owner, id }: OwnedMonitor,
    ApiQuery(p): ApiQuery<Params>,
) -> ApiResult<impl IntoResponse> {
    history(&state, owner, Some(id), &p).await
}

/// Newest first; `before` takes the id of the last delivery of the previous page.
async fn history(
    state: &AppState,
    owner: UserId,
    monitor: Option<MonitorId>,
    p: &Params,
) -> ApiResult<Json<Vec<serde_json::Value>>> {
    let limit = bounded("limit", p.limit.as_deref(), 100, 1000)?;
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
