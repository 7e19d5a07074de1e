//! Rendering a page: the template, and the headers every page carries.

use super::session::{PageError, PageUser};
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::http::extract::BODY_DEADLINE;
use crate::monitor::UserId;
use askama::Template;
use axum::extract::{Form, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::de::DeserializeOwned;

/// Scripts and styles only from upbeat itself, no framing, forms only to upbeat.
const CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                   frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// The statuses in the order pages list them, what needs attention first, with their names.
pub const STATUSES: [(&str, &str); 4] = [
    ("down", "Down"),
    ("pending", "Pending"),
    ("up", "Up"),
    ("paused", "Paused"),
];

pub fn status_label(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("Unknown", |(_, l)| l)
}

/// A rendered page with its status.
pub fn page(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            // Pages show one user's data: never kept by a shared cache or the back button.
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => {
            tracing::error!(error = %e, "a page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "problem.html")]
struct Problem<'a> {
    title: &'a str,
    message: &'a str,
}

/// A page that explains what went wrong.
pub fn problem(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Something went wrong");
    page(status, &Problem { title, message })
}

/// An extractor of the API used by a page: what it refuses, the page refuses as a page (a
/// missing monitor is the 404 page, not JSON).
pub struct OnPage<T>(pub T);

impl<S: Send + Sync, T: FromRequestParts<S, Rejection = ApiError>> FromRequestParts<S>
    for OnPage<T>
{
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(OnPage(T::from_request_parts(parts, state).await?))
    }
}

/// What a user owns and a page names in its path, such as a monitor or a channel.
pub trait OwnedItem: Sized + Send {
    /// The API's extractor of the item's id.
    type Path: FromRequestParts<AppState, Rejection = ApiError> + Send;

    /// The owner's item named by `path`; another user's is not found.
    fn load(
        state: &AppState,
        owner: UserId,
        path: Self::Path,
    ) -> impl Future<Output = Result<Self, ApiError>> + Send;
}

/// The signed-in user and their item named in the path; another user's is a page that does
/// not exist.
pub struct Owned<T> {
    pub user: PageUser,
    pub item: T,
}

impl<T: OwnedItem> FromRequestParts<AppState> for Owned<T> {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = PageUser::from_request_parts(parts, state).await?;
        let OnPage(path) = OnPage::<T::Path>::from_request_parts(parts, state).await?;
        let item = T::load(state, user.user.id, path).await?;
        Ok(Owned { user, item })
    }
}

/// A submitted form, read within the same deadline as an API body.
pub struct PageForm<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for PageForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match tokio::time::timeout(BODY_DEADLINE, Form::<T>::from_request(req, state)).await {
            Ok(Ok(Form(form))) => Ok(PageForm(form)),
            Ok(Err(rejection)) => Err(ApiError::Malformed(rejection.body_text()).into()),
            Err(_) => Err(ApiError::SlowRequest.into()),
        }
    }
}
