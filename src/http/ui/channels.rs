//! The channel pages: the list, adding (kind first, then its settings), editing, sending a
//! test and deleting. Every change goes through the same actions as the API, so the same
//! validation, the same write-only secrets and the same limit on tests apply.

use super::account::CsrfOnly;
use super::channel_form::{ChannelForm, masked_settings, settings_of};
use super::channel_kinds::{KINDS, Kind, kind_of};
use super::pages::{OnPage, Owned, OwnedItem, PageForm, page};
use super::session::{PageError, PageUser};
use crate::alert::channel::{ChannelKind, ChannelSpec};
use crate::http::AppState;
use crate::http::actions::channels as actions;
use crate::http::error::ApiError;
use crate::http::extract::ChannelPath;
use crate::monitor::{ChannelId, UserId};
use crate::store::{Channel, Delivery, DeliveryState};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

impl OwnedItem for Channel {
    type Path = ChannelPath;

    async fn load(
        state: &AppState,
        owner: UserId,
        ChannelPath(id): ChannelPath,
    ) -> Result<Self, ApiError> {
        actions::owned(state, owner, id).await
    }
}

/// How a test message went, as a row shows it.
struct Outcome {
    ok: bool,
    text: String,
}

impl Outcome {
    fn of(d: &Delivery) -> Self {
        let error = d.last_error.clone().unwrap_or_default();
        match (d.state, error.is_empty()) {
            (DeliveryState::Sent, true) => Outcome {
                ok: true,
                text: "Test message sent.".into(),
            },
            (DeliveryState::Sent, false) => Outcome {
                ok: false,
                text: format!("Sent, but not to everyone: {error}"),
            },
            _ => Outcome {
                ok: false,
                text: format!("Not sent: {error}"),
            },
        }
    }
}

struct Row {
    id: ChannelId,
    name: String,
    kind: &'static str,
    destination: String,
    is_default: bool,
    usage: String,
    warning: Option<String>,
    outcome: Option<Outcome>,
}

#[derive(Template)]
#[template(path = "channels.html")]
struct ChannelList {
    email: String,
    csrf: String,
    rows: Vec<Row>,
}

/// Where a channel sends, as the API shows it: secrets and secret paths masked.
fn destination(spec: &ChannelSpec) -> String {
    let s = masked_settings(spec);
    let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or_default();
    match spec.settings.kind() {
        ChannelKind::Email => s
            .get("addresses")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        ChannelKind::Webhook => {
            let mut out = text("url").to_owned();
            let headers = s.get("headers").and_then(Value::as_object);
            if let Some(h) = headers.filter(|h| !h.is_empty()) {
                let names: Vec<&str> = h.keys().map(String::as_str).collect();
                out.push_str(&format!(" · headers {}", names.join(", ")));
            }
            if !text("secret").is_empty() {
                out.push_str(" · signed");
            }
            out
        }
        ChannelKind::Slack | ChannelKind::Discord | ChannelKind::Teams => {
            text("webhook_url").to_owned()
        }
        ChannelKind::Telegram => format!("chat {}", text("chat_id")),
        ChannelKind::Ntfy => {
            let mut out = format!("{}{}", text("server"), text("topic"));
            if !text("token").is_empty() {
                out.push_str(" · with a token");
            }
            out
        }
        ChannelKind::PagerDuty => format!("integration key {}", text("routing_key")),
    }
}

fn usage(n: u64) -> String {
    match n {
        0 => "No monitor alerts it".into(),
        1 => "1 monitor alerts it".into(),
        n => format!("{n} monitors alert it"),
    }
}

/// The list of the user's channels, with `outcome` on the row of the channel it is about.
async fn list_page(
    state: &AppState,
    user: PageUser,
    mut outcome: Option<(ChannelId, Outcome)>,
) -> Result<ChannelList, PageError> {
    let channels = state.store.channels(user.user.id).await?;
    let rows = channels
        .iter()
        .map(|c| Row {
            id: c.id,
            name: c.spec.name.as_str().to_owned(),
            kind: c.spec.settings.kind().title(),
            destination: destination(&c.spec),
            is_default: c.spec.is_default,
            usage: usage(c.monitor_count),
            warning: actions::warning(state, c).map(capitalised),
            outcome: outcome
                .take_if(|(id, _)| *id == c.id)
                .map(|(_, outcome)| outcome),
        })
        .collect();
    Ok(ChannelList {
        email: user.user.email.to_string(),
        csrf: user.csrf,
        rows,
    })
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Deserialize)]
pub struct ListQuery {
    /// The test message whose outcome to show.
    #[serde(default)]
    tested: String,
}

pub async fn list(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<ListQuery>,
) -> Result<Response, PageError> {
    let mut outcome = None;
    if let Ok(id) = query.tested.parse::<i64>()
        && let Some(d) = actions::test_delivery(&state, user.user.id, id).await?
        && let Some(channel) = d.channel
    {
        outcome = Some((channel, Outcome::of(&d)));
    }
    Ok(page(
        StatusCode::OK,
        &list_page(&state, user, outcome).await?,
    ))
}

#[derive(Template)]
#[template(path = "channel_kinds.html")]
struct KindChoice {
    email: String,
    csrf: String,
    kinds: &'static [Kind],
}

#[derive(Deserialize)]
pub struct NewQuery {
    #[serde(default)]
    kind: String,
}

/// Without a kind, the choice of kinds; with one, the form of that kind.
pub async fn new_form(user: PageUser, Query(query): Query<NewQuery>) -> Response {
    match ChannelKind::parse(&query.kind) {
        Some(k) => page(StatusCode::OK, &ChannelForm::blank(&user, kind_of(k))),
        None => page(
            StatusCode::OK,
            &KindChoice {
                email: user.user.email.to_string(),
                csrf: user.csrf,
                kinds: &KINDS,
            },
        ),
    }
}

/// The forgery token a form carries.
fn csrf_of(form: &HashMap<String, String>) -> &str {
    form.get("csrf").map_or("", String::as_str)
}

/// The name, default flag and settings of a submitted form, in the API's terms.
fn channel_json(
    form: &HashMap<String, String>,
    settings: Map<String, Value>,
    creating: bool,
) -> Map<String, Value> {
    let mut body = Map::new();
    let name = form.get("name").map_or("", |n| n.trim());
    // A new channel without a name takes its kind's, as in the API.
    if !(creating && name.is_empty()) {
        body.insert("name".into(), name.into());
    }
    body.insert("default".into(), form.contains_key("default").into());
    body.insert("settings".into(), Value::Object(settings));
    body
}

pub async fn create(
    State(state): State<AppState>,
    user: PageUser,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check(csrf_of(&form))?;
    let Some(k) = form.get("kind").and_then(|k| ChannelKind::parse(k)) else {
        return Ok(Redirect::to("/channels/new").into_response());
    };
    let kind = kind_of(k);
    let created = match settings_of(kind, &form, None) {
        Ok(submitted) => {
            let mut body = channel_json(&form, submitted.settings, true);
            body.insert("kind".into(), k.as_str().into());
            actions::create(&state, user.user.id, &body).await
        }
        Err(e) => Err(e.into()),
    };
    Ok(match created {
        Ok(c) => Redirect::to(&format!("/channels#channel-{}", c.id)).into_response(),
        Err(e) => ChannelForm::submitted(&user, kind, None, &form).with_error(&e, &[]),
    })
}

pub async fn edit_form(
    Owned {
        user,
        item: channel,
    }: Owned<Channel>,
) -> Response {
    page(StatusCode::OK, &ChannelForm::stored(&user, &channel))
}

pub async fn update(
    State(state): State<AppState>,
    user: PageUser,
    OnPage(ChannelPath(id)): OnPage<ChannelPath>,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check(csrf_of(&form))?;
    let mut kept = Vec::new();
    // Only what the form shows changes; the kind stays, and inputs left empty keep their
    // stored secrets where the API keeps them.
    let changed = actions::change(&state, user.user.id, id, |current| {
        let kind = kind_of(current.settings.kind());
        let submitted = settings_of(kind, &form, Some(&masked_settings(current)))?;
        kept = submitted.kept;
        ChannelSpec::patch(current, &channel_json(&form, submitted.settings, false))
    })
    .await;
    match changed {
        Ok(c) => Ok(Redirect::to(&format!("/channels#channel-{}", c.id)).into_response()),
        Err(ApiError::NotFound) => Err(ApiError::NotFound.into()),
        Err(e) => {
            let current = actions::owned(&state, user.user.id, id).await?;
            let kind = kind_of(current.spec.settings.kind());
            Ok(ChannelForm::submitted(&user, kind, Some(&current), &form).with_error(&e, &kept))
        }
    }
}

/// Sends a test message, then shows its outcome on the list; a redirect, so that reloading
/// the list sends nothing again.
pub async fn test(
    State(state): State<AppState>,
    user: PageUser,
    OnPage(ChannelPath(id)): OnPage<ChannelPath>,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    match actions::test(&state, user.user.id, id).await {
        Ok(tested) => Ok(Redirect::to(&format!(
            "/channels?tested={}#channel-{id}",
            tested.delivery.id
        ))
        .into_response()),
        Err(e @ ApiError::RateLimited { .. }) => {
            let outcome = Outcome {
                ok: false,
                text: format!("Not sent: {e}."),
            };
            let list = list_page(&state, user, Some((id, outcome))).await?;
            let mut response = page(e.status(), &list);
            if let Some(wait) = e.retry_after() {
                response.headers_mut().insert(header::RETRY_AFTER, wait);
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "channel_delete.html")]
struct DeletePage {
    email: String,
    csrf: String,
    id: ChannelId,
    name: String,
    kind: &'static str,
    usage: String,
    monitor_count: u64,
    is_default: bool,
}

pub async fn delete_form(
    Owned {
        user,
        item: channel,
    }: Owned<Channel>,
) -> Response {
    page(
        StatusCode::OK,
        &DeletePage {
            email: user.user.email.to_string(),
            csrf: user.csrf,
            id: channel.id,
            name: channel.spec.name.as_str().to_owned(),
            kind: channel.spec.settings.kind().title(),
            usage: usage(channel.monitor_count),
            monitor_count: channel.monitor_count,
            is_default: channel.spec.is_default,
        },
    )
}

pub async fn delete(
    State(state): State<AppState>,
    user: PageUser,
    OnPage(ChannelPath(id)): OnPage<ChannelPath>,
    PageForm(form): PageForm<CsrfOnly>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    actions::delete(&state, user.user.id, id).await?;
    Ok(Redirect::to("/channels").into_response())
}
