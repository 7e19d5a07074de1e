//! `/api/auth/register`, `/api/auth/login`, `/api/me` and `/api/account/…`: signing up,
//! signing in, who am I, changing the password and signing out everywhere.

use crate::account::User;
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::actions;
use crate::http::actions::credentials;
use crate::http::auth::AuthUser;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::ApiJson;
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
        .route("/api/account/password", post(change_password))
        .route(
            "/api/account/sign-out-everywhere",
            post(sign_out_everywhere),
        )
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
    session_at(state, user, Timestamp::now())
}

/// A login token issued at `now`.
fn session_at(state: &AppState, user: User, now: Timestamp) -> ApiResult<Json<Session>> {
    let (token, expires_at) = state.tokens.issue_at(user.id, now)?;
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
    let user = actions::sign_up(&state, peer.ip(), &email, password).await?;
    Ok((StatusCode::CREATED, session(&state, user)?))
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ApiJson(body): ApiJson<Credentials>,
) -> ApiResult<impl IntoResponse> {
    let (email, password) = body.take()?;
    let user = actions::sign_in(&state, peer.ip(), &email, password).await?;
    session(&state, user)
}

async fn me(State(state): State<AppState>, AuthUser(id): AuthUser) -> ApiResult<impl IntoResponse> {
    // A valid token for an account that no longer exists is as good as none.
    let user = state.store.user(id).await?.ok_or(ApiError::Unauthorized(
        "the token is invalid or has expired",
    ))?;
    Ok(Json(user))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordChange {
    current_password: Option<String>,
    new_password: Option<String>,
}

/// Every login token issued so far stops working, the caller's included, so the answer
/// carries a new one, as signing in does.
async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    AuthUser(id): AuthUser,
    ApiJson(body): ApiJson<PasswordChange>,
) -> ApiResult<impl IntoResponse> {
    let current = body
        .current_password
        .ok_or_else(|| FieldError::new("current_password", "is required"))?;
    let new = body
        .new_password
        .ok_or_else(|| FieldError::new("new_password", "is required"))?;
    let now = credentials::change_password(&state, peer.ip(), id, current, new).await?;
    let user = state.store.user(id).await?.ok_or(ApiError::Unauthorized(
        "the token is invalid or has expired",
    ))?;
    session_at(&state, user, now)
}

async fn sign_out_everywhere(
    State(state): State<AppState>,
    AuthUser(id): AuthUser,
) -> ApiResult<impl IntoResponse> {
    credentials::sign_out_everywhere(&state, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
