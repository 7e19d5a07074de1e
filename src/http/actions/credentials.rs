//! What a signed-in user does to their own credentials, shared by the JSON API and the pages:
//! change the password, sign out everywhere, and make, list and revoke API tokens. The same
//! rules hold on both faces; each face then does what its kind of session needs.
//!
//! Changing the password and signing out everywhere end every session of the account: every
//! browser session and every login token issued until then. API tokens stay: they belong to
//! scripts, are listed with when each was last used, and are revoked one by one.

use crate::account::NewPassword;
use crate::api_token::{self, ApiTokenId, Lifetime, NewApiToken};
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::monitor::{Name, UserId};
use crate::secret::Secret;
use crate::store::{ApiToken, StoreError};
use crate::timestamp::Timestamp;
use serde_json::Value;
use std::net::IpAddr;

/// Replaces the password of `user` after checking the current one, and ends every session of
/// the account. Returns the instant they ended: a session or login token made at or after it
/// is valid. Attempts count against the same limits as signing in, since each one tests a
/// password.
pub async fn change_password(
    state: &AppState,
    client: IpAddr,
    user: UserId,
    current: String,
    new: String,
) -> ApiResult<Timestamp> {
    if current.is_empty() {
        return Err(FieldError::new("current_password", "is required").into());
    }
    let unchanged = current == new;
    let new = NewPassword::parse("new_password", new)?;
    let stored = state
        .store
        .user_credentials_by_id(user)
        .await?
        .ok_or(ApiError::Unauthorized("the account no longer exists"))?;
    state
        .limiter
        .attempt(client, Some(stored.user.email.as_str()))?;
    if !state
        .passwords
        .verify(current, Some(stored.password_hash))
        .await?
    {
        return Err(FieldError::new("current_password", "is not your current password").into());
    }
    if unchanged {
        return Err(
            FieldError::new("new_password", "must differ from the current password").into(),
        );
    }
    let hash = state.passwords.hash(new).await?;
    let now = Timestamp::now();
    if !state.store.set_password(user, &hash, now).await? {
        return Err(ApiError::Unauthorized("the account no longer exists"));
    }
    tracing::info!(user = %user, "password changed; every session ended");
    Ok(now)
}

/// Ends every browser session and every login token of `user`; API tokens keep working.
pub async fn sign_out_everywhere(state: &AppState, user: UserId) -> ApiResult<()> {
    state.store.end_all_sessions(user, Timestamp::now()).await?;
    tracing::info!(user = %user, "signed out everywhere");
    Ok(())
}

/// Makes an API token called `name` that lasts `expires_in` (a year when absent). The secret
/// comes back here and nowhere else: only its hash is kept.
pub async fn create_token(
    state: &AppState,
    owner: UserId,
    name: Option<&str>,
    expires_in: Option<&Value>,
) -> ApiResult<(ApiToken, Secret)> {
    let name = Name::parse(
        "name",
        name.ok_or_else(|| FieldError::new("name", "is required"))?,
    )?;
    let lifetime = Lifetime::parse("expires_in", expires_in)?;
    let new = NewApiToken::generate()?;
    let now = Timestamp::now();
    let created = state
        .store
        .create_api_token(
            owner,
            name.as_str(),
            &new.hash,
            now,
            now.saturating_add(lifetime.duration()),
            api_token::MAX_PER_USER,
        )
        .await;
    match created {
        Ok(token) => {
            tracing::info!(user = %owner, token = %token.id, "API token created");
            Ok((token, new.secret))
        }
        Err(StoreError::Conflict) => Err(ApiError::Conflict(FieldError::new(
            "name",
            "is the name of another of your API tokens",
        ))),
        Err(StoreError::LimitReached(max)) => Err(ApiError::LimitReached(format!(
            "you have {max} API tokens, the most an account may hold; revoke one first"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Revokes one of the owner's API tokens: it stops working at once. Another user's token is
/// `NotFound`, like a missing one.
pub async fn revoke_token(state: &AppState, owner: UserId, id: ApiTokenId) -> ApiResult<()> {
    if state.store.delete_api_token(owner, id).await? {
        tracing::info!(user = %owner, token = %id, "API token revoked");
        Ok(())
    } else {
        Err(ApiError::NotFound)
    }
}
