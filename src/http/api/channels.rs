//! `/api/channels`: where a user's alerts go. Owner only, like monitors: another user's channel
//! answers 404. Secrets in settings are write-only: every answer shows a mask in their place.

use super::views::{channel_json, delivery_json};
use crate::alert::channel::ChannelSpec;
use crate::alert::message::Alert;
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{ApiJson, ChannelPath};
use crate::monitor::{ChannelId, UserId};
use crate::store::{Channel, DeliveryOutcome};
use crate::timestamp::Timestamp;
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

async fn owned(state: &AppState, owner: UserId, id: ChannelId) -> ApiResult<Channel> {
    state
        .store
        .channel(owner, id)
        .await?
        .ok_or(ApiError::NotFound)
}

fn shown(state: &AppState, channel: &Channel) -> Value {
    channel_json(channel, state.senders.email_off())
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
    let spec = ChannelSpec::parse(&body, None)?;
    let channel = state
        .store
        .create_channel(owner, &spec, Timestamp::now())
        .await?;
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
    Ok(Json(shown(&state, &owned(&state, owner, id).await?)))
}

async fn replace(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    edit(&state, owner, id, |current| {
        ChannelSpec::parse(&body, Some(current))
    })
    .await
}

async fn patch(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    edit(&state, owner, id, |current| {
        ChannelSpec::patch(current, &body)
    })
    .await
}

/// Stores the settings `change` makes of the channel's current ones.
async fn edit(
    state: &AppState,
    owner: UserId,
    id: ChannelId,
    change: impl FnOnce(&ChannelSpec) -> Result<ChannelSpec, FieldError>,
) -> ApiResult<Json<Value>> {
    let current = owned(state, owner, id).await?;
    let spec = change(&current.spec)?;
    let channel = state
        .store
        .update_channel(owner, id, &spec, Timestamp::now())
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(shown(state, &channel)))
}

async fn remove(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
) -> ApiResult<impl IntoResponse> {
    if !state.store.delete_channel(owner, id).await? {
        return Err(ApiError::NotFound);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message now and answers with what happened; the attempt joins the history.
async fn test(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ChannelPath(id): ChannelPath,
) -> ApiResult<impl IntoResponse> {
    let channel = owned(&state, owner, id).await?;
    state.test_sends.check(&owner)?;
    let sent = state
        .senders
        .send(
            &channel.spec.settings,
            Alert::test(channel.spec.name.as_str()),
        )
        .await;
    // A test is tried once: what would be retried has failed.
    let outcome = sent.map_or_else(DeliveryOutcome::from, |()| DeliveryOutcome::Sent);
    let delivery = state
        .store
        .log_test_delivery(&channel, &outcome, Timestamp::now())
        .await?;
    Ok(Json(json!({
        "ok": outcome == DeliveryOutcome::Sent,
        "error": delivery.last_error,
        "delivery": delivery_json(&delivery),
    })))
}
