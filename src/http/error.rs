//! The one error type of the HTTP layer and its JSON form,
//! `{"error":{"code","message","field"}}`. Client errors say what is wrong; server errors are
//! logged here and the client gets a plain 500 without internal detail, or a 503 saying when to
//! try again when the database stayed busy with other writes.

use crate::fields::FieldError;
use crate::store::StoreError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::time::Duration;

/// How long a request turned away by a busy database is told to wait.
const BUSY_RETRY_AFTER: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request could not be read: not JSON, wrong shape, bad query string.
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// No such resource, or not the caller's: the two are indistinguishable on purpose.
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("{}", .0.message)]
    Conflict(FieldError),
    /// The caller already holds as many of a thing as they may.
    #[error("{0}")]
    LimitReached(String),
    #[error("the request body is larger than 1 MiB")]
    TooLarge,
    #[error("the request body did not arrive in time")]
    SlowRequest,
    #[error("{0}")]
    Invalid(FieldError),
    #[error("too many attempts; try again in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    /// The database was held by another writer for longer than a request waits; nothing was
    /// changed.
    #[error("the database is busy; nothing was changed, try again in {} s", BUSY_RETRY_AFTER.as_secs())]
    Busy,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Malformed(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) | ApiError::LimitReached(_) => StatusCode::CONFLICT,
            ApiError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::SlowRequest => StatusCode::REQUEST_TIMEOUT,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::Malformed(_) => "malformed",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::LimitReached(_) => "limit_reached",
            ApiError::TooLarge => "too_large",
            ApiError::SlowRequest => "timeout",
            ApiError::Invalid(_) => "invalid",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Busy => "busy",
            ApiError::Internal(_) => "internal",
        }
    }

    /// Logs what a client is not told: the cause of an internal error, and that the database
    /// turned a request away.
    pub fn log(&self) {
        match self {
            ApiError::Internal(e) => tracing::error!(error = format!("{e:#}"), "request failed"),
            ApiError::Busy => {
                tracing::warn!("request turned away: the database stayed busy with other writes")
            }
            _ => {}
        }
    }

    /// For a refused attempt, when to try again (`Retry-After`).
    pub fn retry_after(&self) -> Option<HeaderValue> {
        match self {
            ApiError::RateLimited { retry_after } => {
                HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()).ok()
            }
            ApiError::Busy => HeaderValue::from_str(&BUSY_RETRY_AFTER.as_secs().to_string()).ok(),
            _ => None,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ApiError::Conflict(f) | ApiError::Invalid(f) => Some(&f.field),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.log();
        let body = json!({
            "error": {"code": self.code(), "message": self.to_string(), "field": self.field()}
        });
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(wait) = self.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, wait);
        }
        if let ApiError::Unauthorized(_) = &self {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::Invalid(e)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Busy => ApiError::Busy,
            e => ApiError::Internal(e.into()),
        }
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
