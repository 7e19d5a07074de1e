//! `/api/channels`: where a user's alerts go. Owner only, like monitors: another user's channel
//! answers 404. Secrets in settings are write-only: every answer shows a mask in their place.
//! What each route does is an action shared with the pages.

use super::views::{channel_json, delivery_json};
use crate::alert::channel::ChannelSpec;
use crate::http::AppState;
use crate::http::actions::channels as actions;
use crate::http::auth::AuthUser;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ChannelPath};
use crate::store::Channel;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Map, Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/channels", get(list).post(create))
        .route(
            "/api/channels/{id}",
            get(read).put(replace).patch(patch).delete(remove),
        )
        .route("/api/channels/{id}/test", post(test))
}

fn shown(state: &AppState, channel: &Channel) -> Value {
    channel_json(channel, actions::warning(state, channel))
}

async fn list(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
) -> ApiResult<impl IntoResponse> {
    let channels = state.store.channels(owner).await?;
    Ok(Json(
        channels
            .iter()
            .map(|c| shown(&state, c))
            .collect::<Vec<_>>(),
    ))
}

async fn create(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let channel = actions::create(&state, owner, &body).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/channels/{}", channel.id))],
        Json(shown(&state, &channel)),
    ))
}

async fn read(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
) -> ApiResult<impl IntoResponse> {
    Ok(Json(shown(
        &state,
        &actions::owned(&state, owner, id).await?,
    )))
}

async fn replace(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let channel = actions::change(&state, owner, id, |current| {
        ChannelSpec::parse(&body, Some(current))
    })
    .await?;
    Ok(Json(shown(&state, &channel)))
}

async fn patch(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let channel = actions::change(&state, owner, id, |current| {
        ChannelSpec::patch(current, &body)
    })
    .await?;
    Ok(Json(shown(&state, &channel)))
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
) -> ApiResult<impl IntoResponse> {
    actions::delete(&state, owner, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message now and answers with what happened; the attempt joins the history.
async fn test(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
) -> ApiResult<impl IntoResponse> {
    let tested = actions::test(&state, owner, id).await?;
    Ok(Json(json!({
        "ok": tested.ok,
        "error": tested.delivery.last_error,
        "delivery": delivery_json(&tested.delivery),
    })))
}
