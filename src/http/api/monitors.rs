//! `/api/monitors`: a user's monitors and their settings. Every handler reaches a monitor only
//! through its owner, so another user's monitor answers 404 exactly like a missing one.

use super::views::monitor_json;
use crate::http::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::monitor::{Monitor, MonitorId, MonitorInput, UserId};
use crate::timestamp::Timestamp;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Map, Value};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/monitors", get(list).post(create))
        .route("/api/monitors/user/{user_id}", get(list_of_user))
        .route(
            "/api/monitors/{id}",
            get(read).put(replace).patch(patch).delete(remove),
        )
        .route("/api/monitors/{id}/pause", post(pause))
        .route("/api/monitors/{id}/resume", post(resume))
}

/// A path id that is not a number names no monitor.
pub(super) fn monitor_id(raw: &str) -> ApiResult<MonitorId> {
    raw.parse().map(MonitorId).map_err(|_| ApiError::NotFound)
}

/// The caller's monitor, or 404.
pub(super) async fn owned(state: &AppState, owner: UserId, raw_id: &str) -> ApiResult<Monitor> {
    let id = monitor_id(raw_id)?;
    state
        .store
        .monitor(owner, id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn list(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
) -> ApiResult<impl IntoResponse> {
    let monitors = state.store.monitors(owner).await?;
    Ok(axum::Json(
        monitors.iter().map(monitor_json).collect::<Vec<_>>(),
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
    let input = MonitorInput::parse(&body)?;
    let paused = input.paused.unwrap_or(false);
    let monitor = state
        .store
        .create_monitor(owner, &input.spec, paused, Timestamp::now())
        .await?;
    if !paused {
        state.scheduler.start(monitor.id, monitor.spec.clone());
    }
    let location = format!("/api/monitors/{}", monitor.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(monitor_json(&monitor)),
    ))
}

async fn read(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let monitor = owned(&state, owner, &id).await?;
    Ok(axum::Json(monitor_json(&monitor)))
}

async fn replace(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let current = owned(&state, owner, &id).await?;
    let input = MonitorInput::parse(&body)?;
    save(&state, current, input).await
}

async fn patch(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let current = owned(&state, owner, &id).await?;
    let input = MonitorInput::patch(&current.spec, &body)?;
    save(&state, current, input).await
}

async fn pause(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_paused(state, owner, id, true).await
}

async fn resume(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    set_paused(state, owner, id, false).await
}

async fn set_paused(
    state: AppState,
    owner: UserId,
    id: String,
    paused: bool,
) -> ApiResult<impl IntoResponse> {
    let current = owned(&state, owner, &id).await?;
    let input = MonitorInput {
        spec: current.spec.clone(),
        paused: Some(paused),
    };
    save(&state, current, input).await
}

/// Stores new settings, then tells the scheduler, so a check never runs on settings that were
/// not saved.
async fn save(
    state: &AppState,
    current: Monitor,
    input: MonitorInput,
) -> ApiResult<axum::Json<Value>> {
    let paused = input.paused.unwrap_or(current.paused);
    let updated = state
        .store
        .update_monitor(
            current.owner,
            current.id,
            &input.spec,
            paused,
            Timestamp::now(),
        )
        .await?
        // Deleted in the meantime.
        .ok_or(ApiError::NotFound)?;
    match (current.paused, updated.paused) {
        (false, true) => state.scheduler.stop(updated.id).await,
        (true, false) => state.scheduler.start(updated.id, updated.spec.clone()),
        (false, false) if updated.spec != current.spec => {
            state.scheduler.update(updated.id, updated.spec.clone());
        }
        _ => {}
    }
    Ok(axum::Json(monitor_json(&updated)))
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let id = monitor_id(&id)?;
    if !state.store.delete_monitor(owner, id).await? {
        return Err(ApiError::NotFound);
    }
    state.scheduler.stop(id).await;
    Ok(StatusCode::NO_CONTENT)
}
