//! `/api/monitors`: a user's monitors and their settings. Every handler reaches a monitor only
//! through its owner, so another user's monitor answers 404 exactly like a missing one.
//!
//! A change is stored first and then handed to the scheduler and the recorder, under a lock
//! for that monitor, so concurrent changes reach them in the order they were stored.

use super::views::monitor_json;
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, MonitorPath};
use crate::monitor::{ChannelId, MonitorId, MonitorInput, UserId};
use crate::store::{ChannelChoice, Monitor, StoreError};
use crate::timestamp::Timestamp;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, MutexGuard};

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

/// Serialises changes to one monitor: the read, the write and the hand-over of one change
/// finish before the next change of the same monitor starts. Striped: a fixed set of locks,
/// each shared by the monitors whose ids fall on it.
pub struct MonitorLocks {
    stripes: Box<[Mutex<()>]>,
}

impl MonitorLocks {
    pub fn new() -> Self {
        MonitorLocks {
            stripes: (0..64).map(|_| Mutex::new(())).collect(),
        }
    }

    async fn lock(&self, id: MonitorId) -> MutexGuard<'_, ()> {
        let stripe = id.0.rem_euclid(self.stripes.len() as i64) as usize;
        self.stripes[stripe].lock().await
    }
}

impl Default for MonitorLocks {
    fn default() -> Self {
        Self::new()
    }
}

/// The caller's monitor, or 404.
/// The caller's monitor id, or 404: for routes that need no more of the monitor than that.
pub(super) async fn owned_id(
    state: &AppState,
    owner: UserId,
    id: MonitorId,
) -> ApiResult<MonitorId> {
    if state.store.owns_monitor(owner, id).await? {
        Ok(id)
    } else {
        Err(ApiError::NotFound)
    }
}

pub(super) async fn owned(state: &AppState, owner: UserId, id: MonitorId) -> ApiResult<Monitor> {
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
    Ok(Json(monitors.iter().map(monitor_json).collect::<Vec<_>>()))
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
    let channels = match &input.channels {
        Some(ids) => ChannelChoice::These(ids),
        None => ChannelChoice::Defaults,
    };
    let monitor = state
        .store
        .create_monitor(owner, &input.spec, paused, channels, Timestamp::now())
        .await
        .map_err(|e| channel_error(e, input.channels.as_deref()))?;
    if !paused {
        state.scheduler.start(monitor.id, monitor.spec.clone());
    }
    let location = format!("/api/monitors/{}", monitor.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(monitor_json(&monitor)),
    ))
}

async fn read(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(monitor_json(&owned(&state, owner, id).await?)))
}

async fn replace(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let input = MonitorInput::parse(&body)?;
    change(&state, owner, id, |_| Ok(input)).await
}

async fn patch(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    change(&state, owner, id, |current| {
        Ok(MonitorInput::patch(&current.spec, &body)?)
    })
    .await
}

async fn pause(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    change(&state, owner, id, |current| Ok(paused(current, true))).await
}

async fn resume(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    change(&state, owner, id, |current| Ok(paused(current, false))).await
}

fn paused(current: &Monitor, paused: bool) -> MonitorInput {
    MonitorInput {
        spec: current.spec.clone(),
        paused: Some(paused),
        channels: None,
    }
}

/// Applies a change computed from the monitor as it is now, under the monitor's lock.
async fn change(
    state: &AppState,
    owner: UserId,
    id: MonitorId,
    compute: impl FnOnce(&Monitor) -> ApiResult<MonitorInput>,
) -> ApiResult<Json<Value>> {
    let _guard = state.locks.lock(id).await;
    let current = owned(state, owner, id).await?;
    let input = compute(&current)?;
    let now = Timestamp::now();
    let channels = input.channels.as_deref();
    let pausing = input.paused.unwrap_or(current.paused);
    let store = |paused: bool| async move {
        state
            .store
            .update_monitor(owner, id, &input.spec, paused, channels, now)
            .await
            .map_err(|e| channel_error(e, channels))
    };
    let updated = match (current.paused, pausing) {
        (false, true) => {
            // No check starts, and every result so far is written, before the pause is: the
            // status the pause ends is the last one judged.
            state.scheduler.stop(id).await;
            state.recorder.hold(id).await;
            let stored = store(true).await;
            if !matches!(stored, Ok(Some(_))) {
                state.recorder.unhold(id, Timestamp::now()).await;
                state.scheduler.start(id, current.spec.clone());
            }
            stored?
        }
        (true, false) => {
            let stored = store(false).await?;
            if let Some(m) = &stored {
                state.recorder.resume(id, now).await;
                state.scheduler.start(id, m.spec.clone());
            }
            stored
        }
        (was, _) => {
            let stored = store(was).await?;
            if let Some(m) = &stored
                && !was
                && m.spec != current.spec
            {
                state.scheduler.update(id, m.spec.clone());
            }
            stored
        }
    };
    Ok(Json(monitor_json(&updated.ok_or(ApiError::NotFound)?)))
}

/// A channel that is not the caller's is an invalid value of the field that named it.
fn channel_error(e: StoreError, requested: Option<&[ChannelId]>) -> ApiError {
    match e {
        StoreError::UnknownChannel(id) => {
            let at = requested
                .and_then(|ids| ids.iter().position(|&c| c == id))
                .unwrap_or(0);
            ApiError::Invalid(FieldError::new(
                format!("channels[{at}]"),
                "is not one of your channels",
            ))
        }
        other => other.into(),
    }
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    MonitorPath(id): MonitorPath,
) -> ApiResult<impl IntoResponse> {
    let _guard = state.locks.lock(id).await;
    let current = owned(&state, owner, id).await?;
    state.scheduler.stop(id).await;
    match state.store.delete_monitor(owner, id).await {
        Ok(true) => {
            state.recorder.forget(id).await;
            Ok(StatusCode::NO_CONTENT)
        }
        failed => {
            if !current.paused {
                state.scheduler.start(id, current.spec);
            }
            Err(match failed {
                Err(e) => e.into(),
                Ok(_) => ApiError::NotFound,
            })
        }
    }
}
