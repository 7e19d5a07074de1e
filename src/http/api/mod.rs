//! The JSON API under `/api`, one module per resource.

mod accounts;
mod alerts;
mod channels;
mod history;
mod monitors;
mod summary;
mod tokens;
mod views;

pub use views::ping_url;

use super::AppState;
use super::actions::owned_id;
use super::auth::AuthUser;
use super::error::{ApiError, ApiResult};
use super::extract::MonitorPath;
use crate::fields::FieldError;
use crate::monitor::{MonitorId, UserId};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(accounts::router())
        .merge(monitors::router())
        .merge(history::router())
        .merge(summary::router())
        .merge(channels::router())
        .merge(alerts::router())
        .merge(tokens::router())
}

/// The caller and their monitor named in the path; another user's is 404, like a missing one.
pub struct OwnedMonitor {
    pub owner: UserId,
    pub id: MonitorId,
}

impl FromRequestParts<AppState> for OwnedMonitor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let AuthUser(owner) = AuthUser::from_request_parts(parts, state).await?;
        let MonitorPath(id) = MonitorPath::from_request_parts(parts, state).await?;
        let id = owned_id(state, owner, id).await?;
        Ok(OwnedMonitor { owner, id })
    }
}

/// A count from the query: `default` when absent, else a number from 1 to `max`.
pub fn bounded(field: &str, raw: Option<&str>, default: u32, max: u32) -> ApiResult<u32> {
    match raw {
        None => Ok(default),
        Some(s) => s
            .trim()
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| {
                ApiError::Invalid(FieldError::new(
                    field,
                    format!("must be a number from 1 to {max}"),
                ))
            }),
    }
}
