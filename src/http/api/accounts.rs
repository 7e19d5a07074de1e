//! `/api/auth/register`, `/api/auth/login` and `/api/me`: signing up, signing in, who am I.

use crate::account::{Email, NewPassword, User};
use crate::alert::channel::ChannelSpec;
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
use crate::store::StoreError;
use crate::timestamp::Timestamp;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/auth/register", post(register))
        .route("/api/auth/login", post(login))
        .route("/api/me", get(me))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Credentials {
    email: Option<String>,
    password: Option<String>,
}

impl Credentials {
    fn take(self) -> Result<(String, String), FieldError> {
        let email = self
            .email
            .ok_or_else(|| FieldError::new("email", "is required"))?;
        let password = self
            .password
            .ok_or_else(|| FieldError::new("password", "is required"))?;
        Ok((email, password))
    }
}

#[derive(Serialize)]
struct Session {
    token: String,
    expires_at: Timestamp,
    user: User,
}

fn session(state: &AppState, user: User) -> ApiResult<Json<Session>> {
    let (token, expires_at) = state.tokens.issue(user.id)?;
    Ok(Json(Session {
        token,
        expires_at,
        user,
    }))
}

async fn register(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<impl IntoResponse> {
    let (email, password) = body.take()?;
    let email = Email::parse("email", &email)?;
    let password = NewPassword::parse("password", password)?;
    // Hashing is deliberately expensive: sign-ups count against the address's attempts.
    state.limiter.attempt(peer.ip(), None)?;
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
    Ok((StatusCode::CREATED, session(&state, user)?))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<impl IntoResponse> {
    let (email, password) = body.take()?;
    let wrong = ApiError::Unauthorized("wrong email or password");
    // An address that cannot be an account's still counts as an attempt from this client.
    let Ok(email) = Email::parse("email", &email) else {
        state.limiter.attempt(peer.ip(), None)?;
        return Err(wrong);
    };
    state.limiter.attempt(peer.ip(), Some(email.as_str()))?;
    let stored = state.store.user_credentials(&email).await?;
    let (user, hash) = match stored {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    if !state.passwords.verify(password, hash).await? {
        return Err(wrong);
    }
    match user {
        Some(user) => session(&state, user),
        None => Err(wrong),
    }
}

async fn me(State(state): State<AppState>, AuthUser(id): AuthUser) -> ApiResult<impl IntoResponse> {
    // A valid token for an account that no longer exists is as good as none.
    let user = state.store.user(id).await?.ok_or(ApiError::Unauthorized(
        "the token is invalid or has expired",
    ))?;
    Ok(Json(user))
}
