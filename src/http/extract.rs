//! Request extractors that answer in the API's error format: a JSON body (400 when unreadable,
//! 408 when too slow, 413 when too large, 422 naming the field of a wrong type), a query
//! string, and the id of a monitor, a channel or an API token in the path.

use super::error::ApiError;
use crate::api_token::ApiTokenId;
use crate::fields::FieldError;
use crate::monitor::{ChannelId, MonitorId};
use axum::extract::rejection::{BytesRejection, FailedToBufferBody, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::error::Category;
use std::time::Duration;

/// The largest request body accepted.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// How long a client may take to send its body. Bounding it here, before the handler runs,
/// cuts off a slow client without ever cancelling a change half-way.
pub const BODY_DEADLINE: Duration = Duration::from_secs(30);

/// A JSON request body.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let read = tokio::time::timeout(BODY_DEADLINE, Bytes::from_request(req, state));
        let bytes = match read.await.map_err(|_| ApiError::SlowRequest)? {
            Ok(b) => b,
            Err(BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))) => {
                return Err(ApiError::TooLarge);
            }
            Err(r) => return Err(ApiError::Malformed(r.body_text())),
        };
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(de) {
            Ok(value) => Ok(ApiJson(value)),
            Err(e) => {
                let field = e.path().to_string();
                let inner = e.into_inner();
                match inner.classify() {
                    // A value of the wrong type in a field: the field is named.
                    Category::Data if field != "." => {
                        let detail = describe(&inner);
                        let message = if detail.starts_with("unknown field") {
                            "is not an accepted field".to_owned()
                        } else {
                            format!("is invalid: {detail}")
                        };
                        Err(ApiError::Invalid(FieldError::new(field, message)))
                    }
                    Category::Data => Err(ApiError::Malformed(format!(
                        "the body must be a JSON object: {}",
                        describe(&inner)
                    ))),
                    Category::Eof if bytes.iter().all(u8::is_ascii_whitespace) => Err(
                        ApiError::Malformed("the body must be a JSON object, not empty".into()),
                    ),
                    _ => Err(ApiError::Malformed(format!(
                        "the body is not valid JSON: {inner}"
                    ))),
                }
            }
        }
    }
}

/// serde's message without its " at line 1 column 9" tail, which means nothing in a field error.
fn describe(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

/// A query string; an unreadable one is a 400 that says why.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| ApiQuery(q))
            .map_err(|e: QueryRejection| ApiError::Malformed(e.body_text()))
    }
}

/// The `{id}` of the path. One that cannot be an id names nothing: 404.
async fn path_id<S: Send + Sync>(parts: &mut Parts, state: &S) -> Result<i64, ApiError> {
    #[derive(serde::Deserialize)]
    struct Params {
        id: String,
    }
    let Path(Params { id }) = Path::<Params>::from_request_parts(parts, state)
        .await
        .map_err(|_| ApiError::NotFound)?;
    id.parse().map_err(|_| ApiError::NotFound)
}

/// The monitor id in the path.
pub struct MonitorPath(pub MonitorId);

impl<S: Send + Sync> FromRequestParts<S> for MonitorPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state)
            .await
            .map(|id| MonitorPath(MonitorId(id)))
    }
}

/// The channel id in the path.
pub struct ChannelPath(pub ChannelId);

impl<S: Send + Sync> FromRequestParts<S> for ChannelPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state)
            .await
            .map(|id| ChannelPath(ChannelId(id)))
    }
}

/// The API token id in the path.
pub struct ApiTokenPath(pub ApiTokenId);

impl<S: Send + Sync> FromRequestParts<S> for ApiTokenPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        path_id(parts, state)
            .await
            .map(|id| ApiTokenPath(ApiTokenId(id)))
    }
}
