//! Signing up, in and out in the browser. The same rules as the API: the same password rules
//! and the same limits on attempts.

use super::pages::{PageForm, page};
use super::session::{PageError, PageUser};
use crate::http::AppState;
use crate::http::actions;
use crate::http::error::ApiError;
use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use std::net::SocketAddr;

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    heading: &'a str,
    action: &'a str,
    signing_up: bool,
    email: &'a str,
    /// Why the user is here, after signing out everywhere.
    notice: Option<&'static str>,
    form_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
}

impl<'a> AccountPage<'a> {
    fn new(signing_up: bool, email: &'a str) -> Self {
        AccountPage {
            heading: if signing_up { "Sign up" } else { "Sign in" },
            action: if signing_up { "/signup" } else { "/signin" },
            signing_up,
            email,
            notice: None,
            form_error: None,
            email_error: None,
            password_error: None,
        }
    }

    /// The form again, with what went wrong next to the field it concerns.
    fn with_error(mut self, e: &ApiError) -> Response {
        e.log();
        let status = e.status();
        match e {
            ApiError::Invalid(f) | ApiError::Conflict(f) if f.field == "email" => {
                self.email_error = Some(f.message.clone());
            }
            ApiError::Invalid(f) if f.field == "password" => {
                self.password_error = Some(f.message.clone());
            }
            other => self.form_error = Some(other.to_string()),
        }
        let mut response = page(status, &self);
        if let Some(wait) = e.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, wait);
        }
        response
    }
}

#[derive(Deserialize)]
pub struct Credentials {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn sign_in_page(Query(q): Query<Done>) -> Response {
    let mut signing_in = AccountPage::new(false, "");
    // A fixed message, so a link can make the page say nothing else.
    if q.done == "everywhere" {
        signing_in.notice = Some(
            "You were signed out everywhere: in every browser, and every login token. API tokens still work.",
        );
    }
    page(StatusCode::OK, &signing_in)
}

pub async fn sign_up_page() -> Response {
    page(StatusCode::OK, &AccountPage::new(true, ""))
}

pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm<Credentials>,
) -> Result<Response, PageError> {
    match actions::sign_in(&state, peer.ip(), &form.email, form.password).await {
        Ok(user) => Ok(signed_in(&state, user.id, &headers).await?),
        Err(e) => Ok(AccountPage::new(false, &form.email).with_error(&e)),
    }
}

pub async fn sign_up(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    PageForm(form): PageForm<Credentials>,
) -> Result<Response, PageError> {
    match actions::sign_up(&state, peer.ip(), &form.email, form.password).await {
        Ok(user) => Ok(signed_in(&state, user.id, &headers).await?),
        Err(e) => Ok(AccountPage::new(true, &form.email).with_error(&e)),
    }
}

async fn signed_in(
    state: &AppState,
    user: crate::monitor::UserId,
    request: &HeaderMap,
) -> Result<Response, ApiError> {
    let cookie = state
        .sessions
        .start(state.store.as_ref(), user, request)
        .await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response())
}

/// A form that carries nothing but its forgery token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn sign_out(
    State(state): State<AppState>,
    user: PageUser,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    let cookie = state.sessions.end(state.store.as_ref(), &user).await?;
    Ok(([(header::SET_COOKIE, cookie)], Redirect::to("/signin")).into_response())
}
