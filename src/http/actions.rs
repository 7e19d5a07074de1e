//! What a signed-in user can do to their monitors, shared by the JSON API and the pages. Every
//! action reaches a monitor only through its owner, so another user's monitor is `NotFound`
//! exactly like a missing one.
//!
//! A change is stored first and then handed to the scheduler and the recorder, under a lock
//! for that monitor, so concurrent changes reach them in the order they were stored.

/// The same for channels, where alerts go.
pub mod channels;
/// The same for the user's own credentials: password, sessions, API tokens.
pub mod credentials;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::account::{Email, NewPassword, User};
use crate::alert::channel::ChannelSpec;
use crate::fields::FieldError;
use crate::live::Change;
use crate::monitor::{ChannelId, MonitorId, MonitorInput, MonitorSpec, UserId};
use crate::probe::Outcome;
use crate::store::{ChannelChoice, Monitor, StoreError};
use crate::timestamp::Timestamp;
use std::net::IpAddr;
use tokio::sync::{Mutex, MutexGuard};

/// Creates an account, with a default channel to its own address.
pub async fn sign_up(
    state: &AppState,
    client: IpAddr,
    email: &str,
    password: String,
) -> ApiResult<User> {
    let email = Email::parse("email", email)?;
    let password = NewPassword::parse("password", password)?;
    // Hashing is deliberately expensive: sign-ups count against the address's attempts.
    state.limiter.attempt(client, None)?;
    let hash = state.passwords.hash(password).await?;
    let user = match state
        .store
        .create_user(
            &email,
            &hash,
            &ChannelSpec::account_email(&email),
            Timestamp::now(),
        )
        .await
    {
        Ok(user) => user,
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(FieldError::new(
                "email",
                "an account with this email address already exists",
            )));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::info!(user = %user.id, "account created");
    Ok(user)
}

/// The account whose password this is; attempts are limited per client and per account.
pub async fn sign_in(
    state: &AppState,
    client: IpAddr,
    email: &str,
    password: String,
) -> ApiResult<User> {
    let wrong = ApiError::Unauthorized("wrong email or password");
    // An address that cannot be an account's still counts as an attempt from this client.
    let Ok(email) = Email::parse("email", email) else {
        state.limiter.attempt(client, None)?;
        return Err(wrong);
    };
    state.limiter.attempt(client, Some(email.as_str()))?;
    let stored = state.store.user_credentials(&email).await?;
    let (user, hash) = match stored {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    if !state.passwords.verify(password, hash).await? {
        return Err(wrong);
    }
    user.ok_or(wrong)
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

/// The caller's monitor id, or 404: for routes that need no more of the monitor than that.
pub async fn owned_id(state: &AppState, owner: UserId, id: MonitorId) -> ApiResult<MonitorId> {
    if state.store.owns_monitor(owner, id).await? {
        Ok(id)
    } else {
        Err(ApiError::NotFound)
    }
}

/// The caller's monitor, or 404.
pub async fn owned(state: &AppState, owner: UserId, id: MonitorId) -> ApiResult<Monitor> {
    state
        .store
        .monitor(owner, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Creates a monitor and starts checking it, unless it is created paused.
pub async fn create(state: &AppState, owner: UserId, input: MonitorInput) -> ApiResult<Monitor> {
    state.prober.can_check(&input.spec)?;
    let paused = input.paused.unwrap_or(false);
    let channels = match &input.channels {
        Some(ids) => ChannelChoice::These(ids),
        None => ChannelChoice::Defaults,
    };
    let token = ping_token(&input.spec)?;
    let monitor = state
        .store
        .create_monitor(
            owner,
            &input.spec,
            paused,
            channels,
            token.as_deref(),
            Timestamp::now(),
        )
        .await
        .map_err(|e| channel_error(e, input.channels.as_deref()))?;
    if !paused {
        state.scheduler.start(monitor.id, monitor.spec.clone());
    }
    state.live.tell(Change::Owner(owner));
    Ok(monitor)
}

/// Checks what `spec` describes once, now, storing nothing: to try a monitor before saving it.
pub async fn try_check(state: &AppState, owner: UserId, spec: &MonitorSpec) -> ApiResult<Outcome> {
    if !spec.kind().is_probed() {
        return Err(ApiError::Invalid(FieldError::new(
            "kind",
            "a heartbeat cannot be tried: it waits for its job's pings",
        )));
    }
    state.prober.can_check(spec)?;
    state.trial_checks.check(&owner)?;
    state
        .prober
        .check(spec)
        .await
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Pauses or resumes a monitor.
pub async fn set_paused(
    state: &AppState,
    owner: UserId,
    id: MonitorId,
    paused: bool,
) -> ApiResult<Monitor> {
    change(state, owner, id, |current| {
        Ok(MonitorInput {
            spec: current.spec.clone(),
            paused: Some(paused),
            channels: None,
        })
    })
    .await
}

/// Applies a change computed from the monitor as it is now, under the monitor's lock.
pub async fn change(
    state: &AppState,
    owner: UserId,
    id: MonitorId,
    compute: impl FnOnce(&Monitor) -> ApiResult<MonitorInput>,
) -> ApiResult<Monitor> {
    let _guard = state.locks.lock(id).await;
    let current = owned(state, owner, id).await?;
    let input = compute(&current)?;
    state.prober.can_check(&input.spec)?;
    let now = Timestamp::now();
    let channels = input.channels.as_deref();
    let pausing = input.paused.unwrap_or(current.paused);
    // A monitor that becomes a heartbeat gets a token; one it had before is kept.
    let token = match current.ping_token {
        Some(_) => None,
        None => ping_token(&input.spec)?,
    };
    let token = token.as_deref();
    let store = |paused: bool| async move {
        state
            .store
            .update_monitor(owner, id, &input.spec, paused, channels, token, now)
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
    let updated = updated.ok_or(ApiError::NotFound)?;
    state.live.tell(Change::Owner(owner));
    Ok(updated)
}

/// Deletes a monitor if `confirm` agrees, looking at it under the monitor's lock; no check of
/// it starts after this returns.
pub async fn delete(
    state: &AppState,
    owner: UserId,
    id: MonitorId,
    confirm: impl FnOnce(&Monitor) -> ApiResult<()>,
) -> ApiResult<()> {
    let _guard = state.locks.lock(id).await;
    let current = owned(state, owner, id).await?;
    confirm(&current)?;
    state.scheduler.stop(id).await;
    match state.store.delete_monitor(owner, id).await {
        Ok(true) => {
            state.recorder.forget(id).await;
            state.live.tell(Change::Owner(owner));
            Ok(())
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

/// A fresh secret for a heartbeat's ping URL: 128 random bits, URL-safe; `None` for the kinds
/// that are not pinged.
fn ping_token(spec: &MonitorSpec) -> ApiResult<Option<String>> {
    if spec.kind().is_probed() {
        return Ok(None);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness available: {e}")))?;
    Ok(Some(hex::encode(bytes)))
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
