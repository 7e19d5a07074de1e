//! `/api/tokens`: the caller's API tokens. A token's secret is in the answer that creates it
//! and nowhere else; listing shows what each one is called and when it was made, expires and
//! was last used.

use crate::http::AppState;
use crate::http::actions::credentials;
use crate::http::auth::AuthUser;
use crate::http::error::ApiResult;
use crate::http::extract::{ApiJson, ApiTokenPath};
use crate::store::ApiToken;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/tokens", get(list).post(create))
        .route("/api/tokens/{id}", delete(revoke))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenInput {
    name: Option<String>,
    expires_in: Option<Value>,
}

fn token_json(t: &ApiToken) -> Value {
    json!({
        "id": t.id,
        "name": t.name,
        "created_at": t.created_at,
        "expires_at": t.expires_at,
        "last_used_at": t.last_used_at,
    })
}

async fn create(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiJson(body): ApiJson<TokenInput>,
) -> ApiResult<impl IntoResponse> {
    let (token, secret) = credentials::create_token(
        &state,
        owner,
        body.name.as_deref(),
        body.expires_in.as_ref(),
    )
    .await?;
    let mut shown = token_json(&token);
    shown["token"] = Value::String(secret.expose().to_owned());
    Ok((StatusCode::CREATED, Json(shown)))
}

async fn list(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
) -> ApiResult<impl IntoResponse> {
    let tokens = state.store.api_tokens(owner).await?;
    Ok(Json(tokens.iter().map(token_json).collect::<Vec<_>>()))
}

async fn revoke(
    State(state): State<AppState>,
    AuthUser(owner): AuthUser,
    ApiTokenPath(id): ApiTokenPath,
) -> ApiResult<impl IntoResponse> {
    credentials::revoke_token(&state, owner, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
