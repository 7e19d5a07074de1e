//! Browser sessions for the pages: a random token in an HttpOnly, SameSite=Lax cookie (only its
//! hash is stored), and a token against cross-site request forgery in every form, derived from
//! the session so it needs no storage. The JSON API never accepts the cookie.

use crate::account::User;
use crate::http::AppState;
use crate::http::error::ApiError;
use crate::monitor::UserId;
use crate::timestamp::Timestamp;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
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

impl Sessions {
    pub fn new(secret: &[u8], ttl: Duration, secure: bool) -> Self {
        // A key of its own, so a forgery token says nothing about the signing secret.
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"upbeat form tokens");
        Sessions {
            key: mac.finalize().into_bytes().to_vec(),
            ttl,
            secure,
        }
    }

    /// Starts a session for `user`; the answer must carry the returned `Set-Cookie`.
    pub async fn start(&self, state: &AppState, user: UserId) -> Result<HeaderValue, ApiError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::Internal(anyhow::anyhow!("no randomness available: {e}")))?;
        let token = hex::encode(bytes);
        let now = Timestamp::now();
        state
            .store
            .create_session(user, &hash(&token), now, now.saturating_add(self.ttl))
            .await?;
        self.cookie(&token, self.ttl.as_secs())
    }

    /// Ends the session the request carries, if any; the answer must carry the returned
    /// `Set-Cookie`, which clears it.
    pub async fn end(
        &self,
        state: &AppState,
        headers: &HeaderMap,
    ) -> Result<HeaderValue, ApiError> {
        if let Some(token) = token_of(headers) {
            state.store.end_session(&hash(token)).await?;
        }
        self.cookie("", 0)
    }

    fn cookie(&self, token: &str, max_age: u64) -> Result<HeaderValue, ApiError> {
        let secure = if self.secure { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ))
        .map_err(|e| ApiError::Internal(e.into()))
    }

    /// The forgery token of a session: forms carry it back as `csrf`.
    fn form_token(&self, session: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(session.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
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
}

impl PageUser {
    /// Checks a form's forgery token: a form made by another site cannot know it.
    pub fn check(&self, csrf: &str) -> Result<(), PageError> {
        let (a, b) = (self.csrf.as_bytes(), csrf.as_bytes());
        let same = a.len() == b.len() && a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0;
        if same { Ok(()) } else { Err(PageError::Forged) }
    }
}

impl FromRequestParts<AppState> for PageUser {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_of(&parts.headers).ok_or(PageError::SignIn)?;
        let user = match state
            .store
            .session_user(&hash(token), Timestamp::now())
            .await?
        {
            Some(id) => state.store.user(id).await?,
            None => None,
        }
        .ok_or(PageError::SignIn)?;
        Ok(PageUser {
            user,
            csrf: state.sessions.form_token(token),
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

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        match self {
            PageError::SignIn => Redirect::to("/signin").into_response(),
            PageError::Forged => super::pages::problem(
                axum::http::StatusCode::FORBIDDEN,
                "This form has expired or did not come from upbeat. Go back, reload the page and try again.",
            ),
            PageError::Api(ApiError::NotFound) => {
                super::pages::problem(axum::http::StatusCode::NOT_FOUND, "There is nothing here.")
            }
            PageError::Api(e) => e.into_response(),
        }
    }
}
