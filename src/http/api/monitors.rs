//! `/api/monitors`: a user's monitors and their settings, through the actions the pages share.

use super::views::{CheckView, PingView, monitor_json};
use super::{OwnedMonitor, bounded};
use crate::http::AppState;
use crate::http::actions::{self, owned};
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiQuery;
use crate::http::extract::{ApiJson, MonitorPath};
use crate::monitor::MonitorInput;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Map, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/monitors", get(list).post(create))
        .route("/api/monitors/test", post(trial))
        .route("/api/monitors/user/{user_id}", get(list_of_user))
        .route(
            "/api/monitors/{id}",
            get(read).put(replace).patch(patch).delete(remove),
        )
        .route("/api/monitors/{id}/pause", post(pause))
        .route("/api/monitors/{id}/resume", post(resume))
        .route("/api/monitors/{id}/pings", get(pings))
}

async fn list(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
) -> ApiResult<impl IntoResponse> {
    let monitors = state.store.monitors(owner).await?;
    Ok(Json(
        monitors
            .iter()
            .map(|m| monitor_json(m, &state.public_url))
            .collect::<Vec<_>>(),
    ))
}

async fn list_of_user(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(user_id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    if user_id.parse::<i64>().ok() != Some(owner.0) {
        return Err(ApiError::NotFound);
    }
    list(State(state), AuthUser(owner)).await
}

async fn create(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let monitor = actions::create(&state, owner, MonitorInput::parse(&body)?).await?;
    let location = format!("/api/monitors/{}", monitor.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(monitor_json(&monitor, &state.public_url)),
    ))
}

/// Checks a monitor described as for creating one, once, and stores nothing.
async fn trial(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let input = MonitorInput::parse(&body)?;
    let outcome = actions::try_check(&state, owner, &input.spec).await?;
    Ok(Json(CheckView::from(outcome)))
}

async fn read(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(monitor_json(
        &owned(&state, owner, id).await?,
        &state.public_url,
    )))
}

async fn replace(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let input = MonitorInput::parse(&body)?;
    let monitor = actions::change(&state, owner, id, |_| Ok(input)).await?;
    Ok(Json(monitor_json(&monitor, &state.public_url)))
}

async fn patch(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let monitor = actions::change(&state, owner, id, |current| {
        Ok(MonitorInput::patch(&current.spec, &body)?)
    })
    .await?;
    Ok(Json(monitor_json(&monitor, &state.public_url)))
}

async fn pause(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    let monitor = actions::set_paused(&state, owner, id, true).await?;
    Ok(Json(monitor_json(&monitor, &state.public_url)))
}

async fn resume(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    let monitor = actions::set_paused(&state, owner, id, false).await?;
    Ok(Json(monitor_json(&monitor, &state.public_url)))
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    actions::delete(&state, owner, id, |_| Ok(())).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct PingParams {
    limit: Option<String>,
}

/// A heartbeat's latest pings, newest first, with their bodies.
async fn pings(
    State(state): State<AppState>,
    OwnedMonitor { id, .. }: OwnedMonitor,
    ApiQuery(p): ApiQuery<PingParams>,
) -> ApiResult<impl IntoResponse> {
    let limit = bounded("limit", p.limit.as_deref(), 20, crate::store::Ping::KEPT)?;
    let pings = state.store.pings(id, limit).await?;
    Ok(Json(
        pings.into_iter().map(PingView::from).collect::<Vec<_>>(),
    ))
}
