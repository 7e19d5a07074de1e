//! What a signed-in user can do to their channels, shared by the JSON API and the pages: the
//! same validation, the same write-only secrets and the same limit on test messages. A channel
//! is reached only through its owner, so another user's is `NotFound` like a missing one.

use crate::alert::channel::{ChannelKind, ChannelSpec};
use crate::alert::message::{Alert, AlertKind};
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::monitor::{ChannelId, UserId};
use crate::store::{Channel, Delivery, DeliveryOutcome};
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};

/// The caller's channel, or 404.
pub async fn owned(state: &AppState, owner: UserId, id: ChannelId) -> ApiResult<Channel> {
    state
        .store
        .channel(owner, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Why the channel cannot deliver anything here, whatever its settings: email channels while
/// no mail transport is configured.
pub fn warning(state: &AppState, channel: &Channel) -> Option<&'static str> {
    match channel.spec.settings.kind() {
        ChannelKind::Email => state.senders.email_off(),
        _ => None,
    }
}

/// Creates a channel from its JSON description (`name`, `kind`, `settings`, `default`).
pub async fn create(
    state: &AppState,
    owner: UserId,
    body: &Map<String, Value>,
) -> ApiResult<Channel> {
    let spec = ChannelSpec::parse(body, None)?;
    Ok(state
        .store
        .create_channel(owner, &spec, Timestamp::now())
        .await?)
}

/// Stores the settings `change` makes of the channel's current ones. `change` sees the stored
/// secrets only through [`ChannelSpec::parse`] and [`ChannelSpec::patch`], which keep them for
/// the same destination alone.
pub async fn change(
    state: &AppState,
    owner: UserId,
    id: ChannelId,
    change: impl FnOnce(&ChannelSpec) -> Result<ChannelSpec, FieldError>,
) -> ApiResult<Channel> {
    let current = owned(state, owner, id).await?;
    let spec = change(&current.spec)?;
    state
        .store
        .update_channel(owner, id, &spec, Timestamp::now())
        .await?
        .ok_or(ApiError::NotFound)
}

/// Deletes a channel and detaches it from its monitors; its history stays.
pub async fn delete(state: &AppState, owner: UserId, id: ChannelId) -> ApiResult<()> {
    if state.store.delete_channel(owner, id).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}

/// How a test message went.
pub struct Tested {
    /// Delivered whole: every recipient got it.
    pub ok: bool,
    /// The attempt as the history keeps it, with the destination's error when there was one.
    pub delivery: Delivery,
}

/// Sends a test message through the channel now, once, within the owner's limit on tests; the
/// attempt joins the history.
pub async fn test(state: &AppState, owner: UserId, id: ChannelId) -> ApiResult<Tested> {
    let channel = owned(state, owner, id).await?;
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
    Ok(Tested {
        ok: outcome == DeliveryOutcome::Sent,
        delivery,
    })
}

/// The owner's test message `delivery`, when it is one: how a page shows the outcome of a
/// test after redirecting, so that reloading it sends nothing again.
pub async fn test_delivery(
    state: &AppState,
    owner: UserId,
    delivery: i64,
) -> ApiResult<Option<Delivery>> {
    let Some(after) = delivery.checked_add(1) else {
        return Ok(None);
    };
    // The owner's newest delivery up to and including `delivery`: that one, if it is theirs.
    let found = state.store.deliveries(owner, None, Some(after), 1).await?;
    Ok(found
        .into_iter()
        .find(|d| d.id == delivery && d.kind == AlertKind::Test))
}
