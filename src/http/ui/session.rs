//! Browser sessions for the pages: a random token in an HttpOnly, SameSite=Lax cookie (only its
//! hash is stored), and a token against cross-site request forgery in every form, derived from
//! the session so it needs no storage. The JSON API never accepts the cookie.

use super::pages::problem;
use crate::account::User;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::monitor::UserId;
use crate::store::Store;
use crate::timestamp::Timestamp;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::time::Duration;

const COOKIE: &str = "upbeat_session";

/// Issues and recognises session cookies.
pub struct Sessions {
    /// Keys the forgery tokens.
    key: Vec<u8>,
    ttl: Duration,
    /// Whether cookies carry `Secure`: when upbeat is reached over https.
    secure: bool,
}

/// HMAC-SHA256 keyed with `key`.
fn mac(key: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length")
}

impl Sessions {
    pub fn new(secret: &[u8], ttl: Duration, secure: bool) -> Self {
        // A key of its own, so a forgery token says nothing about the signing secret.
        let mut key = mac(secret);
        key.update(b"upbeat form tokens");
        Sessions {
            key: key.finalize().into_bytes().to_vec(),
            ttl,
            secure,
        }
    }

    /// Starts a session for `user`, asked for with `request` headers; the answer must carry
    /// the returned `Set-Cookie`.
    pub async fn start(
        &self,
        store: &dyn Store,
        user: UserId,
        request: &HeaderMap,
    ) -> Result<HeaderValue, ApiError> {
        let token = crate::secret::random_hex()?;
        let now = Timestamp::now();
        store
            .create_session(user, &hash(&token), now, now.saturating_add(self.ttl))
            .await?;
        let secure = self.secure || reached_over_https(request);
        self.cookie(&token, self.ttl.as_secs(), secure)
    }

    /// Ends the signed-in user's session; the answer must carry the returned `Set-Cookie`,
    /// which clears it.
    pub async fn end(&self, store: &dyn Store, user: &PageUser) -> Result<HeaderValue, ApiError> {
        store.end_session(&hash(&user.token)).await?;
        self.cleared()
    }

    /// A `Set-Cookie` that clears the session cookie, for a session already ended.
    pub fn cleared(&self) -> Result<HeaderValue, ApiError> {
        self.cookie("", 0, self.secure)
    }

    fn cookie(&self, token: &str, max_age: u64, secure: bool) -> Result<HeaderValue, ApiError> {
        let secure = if secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ))
        .map_err(|e| ApiError::Internal(e.into()))
    }

    /// The forgery token of a session, keyed so that only upbeat can make it.
    fn form_mac(&self, session: &str) -> Hmac<Sha256> {
        let mut m = mac(&self.key);
        m.update(session.as_bytes());
        m
    }
}

/// Whether the browser reached upbeat over https through a proxy that says so
/// (`X-Forwarded-Proto` or `Forwarded`). Believing it costs nothing: at worst a cookie is kept
/// from plain http, which the proxy in front does not speak.
fn reached_over_https(request: &HeaderMap) -> bool {
    let says = |name: &str, https: fn(&str) -> bool| {
        request
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(https)
    };
    says("x-forwarded-proto", |v| {
        v.split(',')
            .next()
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }) || says("forwarded", |v| {
        v.split([';', ',']).any(|pair| {
            pair.trim().split_once('=').is_some_and(|(k, p)| {
                k.eq_ignore_ascii_case("proto") && p.trim_matches('"').eq_ignore_ascii_case("https")
            })
        })
    })
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn token_of(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
}

/// The signed-in user of a page. Without a valid session the page answers with a redirect to
/// the sign-in page.
pub struct PageUser {
    pub user: User,
    /// What this user's forms must carry back.
    pub csrf: String,
    /// The session's token, as the cookie holds it.
    token: String,
    /// What makes this session's forgery token.
    form_mac: Hmac<Sha256>,
}

impl PageUser {
    /// Checks a form's forgery token: a form made by another site cannot know it.
    pub fn check(&self, csrf: &str) -> Result<(), PageError> {
        let given = hex::decode(csrf).map_err(|_| PageError::Forged)?;
        self.form_mac
            .clone()
            .verify_slice(&given)
            .map_err(|_| PageError::Forged)
    }
}

impl PageUser {
    /// Whether the session still holds: a page kept open stops updating once it has ended.
    pub async fn is_current(&self, store: &dyn Store) -> bool {
        matches!(
            store.session_user(&hash(&self.token), Timestamp::now()).await,
            Ok(Some(user)) if user.id == self.user.id
        )
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_of(&parts.headers).ok_or(PageError::SignIn)?;
        let user = state
            .store
            .session_user(&hash(token), Timestamp::now())
            .await?
            .ok_or(PageError::SignIn)?;
        let form_mac = state.sessions.form_mac(token);
        Ok(PageUser {
            user,
            csrf: hex::encode(form_mac.clone().finalize().into_bytes()),
            token: token.to_owned(),
            form_mac,
        })
    }
}

/// Why a page could not be shown.
pub enum PageError {
    /// No valid session: off to the sign-in page.
    SignIn,
    /// A form without this session's forgery token.
    Forged,
    Api(ApiError),
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        PageError::Api(e)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        PageError::Api(e.into())
    }
}

impl From<askama::Error> for PageError {
    fn from(e: askama::Error) -> Self {
        PageError::Api(ApiError::Internal(e.into()))
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/signin").into_response(),
            PageError::Forged => problem(
                StatusCode::FORBIDDEN,
                "This form has expired or did not come from upbeat. Go back, reload the page and try again.",
            ),
            PageError::Api(ApiError::NotFound) => {
                problem(StatusCode::NOT_FOUND, "There is nothing here.")
            }
            PageError::Api(e) => {
                e.log();
                let mut response = problem(e.status(), &e.to_string());
                if let Some(wait) = e.retry_after() {
                    response.headers_mut().insert(header::RETRY_AFTER, wait);
                }
                response
            }
        }
    }
}
