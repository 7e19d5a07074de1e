//! The settings page: change the password, make, see and revoke API tokens, sign out
//! everywhere. Every change goes through the same actions as the API. A new token's secret is
//! in the answer to the form that made it and nowhere else: not in a URL, not in the session,
//! not on any later page.

use super::account::CsrfOnly;
use super::pages::{OnPage, PageForm, page};
use super::session::{PageError, PageUser};
use crate::api_token::{self, ApiTokenId};
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::actions::credentials;
use crate::http::error::ApiError;
use crate::http::extract::ApiTokenPath;
use crate::monitor::format_duration;
use crate::store::ApiToken;
use crate::timestamp::Timestamp;
use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::Value;
use std::net::SocketAddr;

/// The lifetimes the form offers, as the API takes them, and how they read.
const LIFETIMES: [(&str, &str); 5] = [
    ("7d", "7 days"),
    ("30d", "30 days"),
    ("90d", "90 days"),
    ("365d", "1 year"),
    ("730d", "2 years"),
];

/// What the form offers until the user picks: the API's default.
fn default_lifetime() -> String {
    format_duration(api_token::Lifetime::DEFAULT.duration())
}

/// What a redirect back to the page says was done; a fixed set, so a link can make the page
/// say nothing else.
fn notice(done: &str) -> Option<&'static str> {
    match done {
        "password" => Some(
            "Your password was changed. Every other browser and every login token was signed out; API tokens still work.",
        ),
        "revoked" => Some("The token was revoked. It no longer works."),
        _ => None,
    }
}

struct TokenRow {
    id: ApiTokenId,
    name: String,
    created: String,
    expires: String,
    last_used: String,
    expired: bool,
}

impl TokenRow {
    fn new(t: &ApiToken, now: Timestamp) -> Self {
        TokenRow {
            id: t.id,
            name: t.name.clone(),
            created: t.created_at.to_readable(),
            expires: t.expires_at.to_readable(),
            last_used: t
                .last_used_at
                .map_or_else(|| "never".to_owned(), Timestamp::to_readable),
            expired: t.expires_at <= now,
        }
    }
}

/// A token just made, shown this once.
struct Created {
    name: String,
    secret: String,
    expires: String,
}

/// The password form's errors, each next to its field.
#[derive(Default)]
struct PasswordErrors {
    form: Option<String>,
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
}

/// The token form as it was sent, and its errors.
struct TokenForm {
    name: String,
    expires_in: String,
    form_error: Option<String>,
    name_error: Option<String>,
    expires_error: Option<String>,
}

impl Default for TokenForm {
    fn default() -> Self {
        TokenForm {
            name: String::new(),
            expires_in: default_lifetime(),
            form_error: None,
            name_error: None,
            expires_error: None,
        }
    }
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsPage {
    email: String,
    csrf: String,
    notice: Option<&'static str>,
    password: PasswordErrors,
    tokens: Vec<TokenRow>,
    created: Option<Created>,
    token_form: TokenForm,
    lifetimes: &'static [(&'static str, &'static str)],
    max_tokens: u32,
}

impl SettingsPage {
    async fn load(state: &AppState, user: &PageUser) -> Result<Self, PageError> {
        let now = Timestamp::now();
        let tokens = state.store.api_tokens(user.user.id).await?;
        Ok(SettingsPage {
            email: user.user.email.to_string(),
            csrf: user.csrf.clone(),
            notice: None,
            password: PasswordErrors::default(),
            tokens: tokens.iter().map(|t| TokenRow::new(t, now)).collect(),
            created: None,
            token_form: TokenForm::default(),
            lifetimes: &LIFETIMES,
            max_tokens: api_token::MAX_PER_USER,
        })
    }

    /// The page with the status `e` calls for, and when to try again if it says.
    fn answer(&self, e: &ApiError) -> Response {
        e.log();
        let mut response = page(e.status(), self);
        if let Some(wait) = e.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, wait);
        }
        response
    }
}

/// A field error that names `field`, as its message.
fn message_for(e: &ApiError, field: &str) -> Option<String> {
    match e {
        ApiError::Invalid(f) | ApiError::Conflict(f) if f.field == field => Some(f.message.clone()),
        _ => None,
    }
}

#[derive(Deserialize)]
pub struct Done {
    #[serde(default)]
    done: String,
}

pub async fn show(
    State(state): State<AppState>,
    user: PageUser,
    Query(q): Query<Done>,
) -> Result<Response, PageError> {
    let mut settings = SettingsPage::load(&state, &user).await?;
    settings.notice = notice(&q.done);
    Ok(page(StatusCode::OK, &settings))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// Changes the password and ends every session, this browser's included; this browser then
/// gets a new one, so it stays signed in while every other is signed out.
pub async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    user: PageUser,
    PageForm(form): PageForm<PasswordForm>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    let changed = if form.new_password != form.confirm_password {
        Err(ApiError::Invalid(FieldError::new(
            "confirm_password",
            "does not match the new password",
        )))
    } else {
        credentials::change_password(
            &state,
            peer.ip(),
            user.user.id,
            form.current_password,
            form.new_password,
        )
        .await
    };
    match changed {
        Ok(_) => {
            let cookie = state
                .sessions
                .start(state.store.as_ref(), user.user.id, &headers)
                .await?;
            Ok((
                [(header::SET_COOKIE, cookie)],
                Redirect::to("/settings?done=password"),
            )
                .into_response())
        }
        Err(e) => {
            let mut settings = SettingsPage::load(&state, &user).await?;
            let errors = &mut settings.password;
            errors.current = message_for(&e, "current_password");
            errors.new = message_for(&e, "new_password");
            errors.confirm = message_for(&e, "confirm_password");
            if errors.current.is_none() && errors.new.is_none() && errors.confirm.is_none() {
                errors.form = Some(e.to_string());
            }
            Ok(settings.answer(&e))
        }
    }
}

#[derive(Deserialize)]
pub struct NewTokenForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in: String,
}

/// Makes a token and shows its secret in this answer, the only time it is ever shown.
pub async fn create_token(
    State(state): State<AppState>,
    user: PageUser,
    PageForm(form): PageForm<NewTokenForm>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    let expires_in = Value::String(form.expires_in.clone());
    let created =
        credentials::create_token(&state, user.user.id, Some(&form.name), Some(&expires_in)).await;
    let mut settings = SettingsPage::load(&state, &user).await?;
    match created {
        Ok((token, secret)) => {
            settings.created = Some(Created {
                name: token.name,
                secret: secret.expose().to_owned(),
                expires: token.expires_at.to_readable(),
            });
            Ok(page(StatusCode::CREATED, &settings))
        }
        Err(e) => {
            let f = &mut settings.token_form;
            f.name = form.name;
            f.expires_in = form.expires_in;
            f.name_error = message_for(&e, "name");
            f.expires_error = message_for(&e, "expires_in");
            if f.name_error.is_none() && f.expires_error.is_none() {
                f.form_error = Some(e.to_string());
            }
            Ok(settings.answer(&e))
        }
    }
}

/// Ends every session of the account, this browser's included, and every login token.
pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    user: PageUser,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    credentials::sign_out_everywhere(&state, user.user.id).await?;
    let cookie = state.sessions.cleared()?;
    Ok((
        [(header::SET_COOKIE, cookie)],
        Redirect::to("/signin?done=everywhere"),
    )
        .into_response())
}

pub async fn revoke_token(
    State(state): State<AppState>,
    user: PageUser,
    OnPage(ApiTokenPath(id)): OnPage<ApiTokenPath>,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    credentials::revoke_token(&state, user.user.id, id).await?;
    Ok(Redirect::to("/settings?done=revoked").into_response())
}
