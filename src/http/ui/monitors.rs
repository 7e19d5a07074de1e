//! The dashboard and the pages of one monitor: see, add, edit, pause, resume and delete. Every
//! change goes through the same actions as the API, so the same rules and checks apply.

use super::account::CsrfOnly;
use super::pages::page;
use super::session::{PageError, PageUser};
use crate::http::AppState;
use crate::http::actions;
use crate::http::error::ApiError;
use crate::monitor::{MonitorId, MonitorInput};
use crate::store::Monitor;
use askama::Template;
use axum::extract::{Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The statuses in the order the dashboard shows them: what needs attention first.
const STATUSES: [(&str, &str); 4] = [
    ("down", "Down"),
    ("pending", "Pending"),
    ("up", "Up"),
    ("paused", "Paused"),
];

fn label(status: &str) -> &'static str {
    STATUSES
        .iter()
        .find(|(s, _)| *s == status)
        .map_or("Unknown", |(_, l)| l)
}

fn rank(status: &str) -> usize {
    STATUSES
        .iter()
        .position(|(s, _)| *s == status)
        .unwrap_or(STATUSES.len())
}

struct Count {
    status: &'static str,
    label: &'static str,
    n: usize,
}

struct Row {
    id: MonitorId,
    name: String,
    url: String,
    status: &'static str,
    status_label: &'static str,
    latency: String,
    /// What the search box matches, lower-cased.
    search: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    email: String,
    csrf: String,
    counts: Vec<Count>,
    total: usize,
    rows: Vec<Row>,
    query: String,
    filter: String,
}

#[derive(Deserialize)]
pub struct DashboardQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    status: String,
}

fn latency(m: &Monitor) -> String {
    m.last_check
        .as_ref()
        .map(|c| format!("{} ms", c.latency_ms))
        .unwrap_or_default()
}

pub async fn dashboard(
    State(state): State<AppState>,
    user: PageUser,
    Query(query): Query<DashboardQuery>,
) -> Result<Response, PageError> {
    let mut monitors = state.store.monitors(user.user.id).await?;
    monitors.sort_by(|a, b| {
        (rank(a.shown_status()), a.spec.name.as_str())
            .cmp(&(rank(b.shown_status()), b.spec.name.as_str()))
    });
    let counts = STATUSES
        .iter()
        .map(|&(status, label)| Count {
            status,
            label,
            n: monitors
                .iter()
                .filter(|m| m.shown_status() == status)
                .count(),
        })
        .collect();
    let needle = query.q.trim().to_lowercase();
    let rows = monitors
        .iter()
        .map(|m| Row {
            id: m.id,
            name: m.spec.name.as_str().to_owned(),
            url: m.spec.url.as_str().to_owned(),
            status: m.shown_status(),
            status_label: label(m.shown_status()),
            latency: latency(m),
            search: format!("{} {}", m.spec.name.as_str(), m.spec.url.as_str()).to_lowercase(),
        })
        .filter(|r| query.status.is_empty() || r.status == query.status)
        .filter(|r| needle.is_empty() || r.search.contains(&needle))
        .collect();
    Ok(page(
        StatusCode::OK,
        &Dashboard {
            email: user.user.email.to_string(),
            csrf: user.csrf,
            counts,
            total: monitors.len(),
            rows,
            query: query.q,
            filter: query.status,
        },
    ))
}

struct CheckRow {
    at: String,
    ok: bool,
    status_code: String,
    latency: String,
    error: String,
}

#[derive(Template)]
#[template(path = "monitor.html")]
struct MonitorPage {
    email: String,
    csrf: String,
    id: MonitorId,
    name: String,
    url: String,
    status: &'static str,
    status_label: &'static str,
    since: Option<String>,
    interval: String,
    paused: bool,
    checks: Vec<CheckRow>,
}

/// A monitor id from the path; anything else is a page that does not exist.
fn monitor_id(raw: &str) -> Result<MonitorId, PageError> {
    raw.parse()
        .ok()
        .filter(|&id: &i64| id > 0)
        .map(MonitorId)
        .ok_or(PageError::Api(ApiError::NotFound))
}

pub async fn show(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = actions::owned(&state, user.user.id, monitor_id(&id)?).await?;
    let checks = state
        .store
        .checks(m.id, None, 20)
        .await?
        .into_iter()
        .map(|c| CheckRow {
            at: c.at.to_rfc3339().replace('T', " ").replace('Z', ""),
            ok: c.ok(),
            status_code: c.status_code.map(|s| s.to_string()).unwrap_or_default(),
            latency: format!("{} ms", c.latency_ms),
            error: c.error.map(|e| e.to_string()).unwrap_or_default(),
        })
        .collect();
    Ok(page(
        StatusCode::OK,
        &MonitorPage {
            email: user.user.email.to_string(),
            csrf: user.csrf,
            id: m.id,
            name: m.spec.name.as_str().to_owned(),
            url: m.spec.url.as_str().to_owned(),
            status: m.shown_status(),
            status_label: label(m.shown_status()),
            since: m
                .status_since
                .map(|t| t.to_rfc3339().replace('T', " ").replace('Z', " UTC")),
            interval: m.spec.interval.to_string(),
            paused: m.paused,
            checks,
        },
    ))
}

/// One input of the monitor form.
struct Field {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    help: &'static str,
    placeholder: &'static str,
    required: bool,
    choices: Vec<&'static str>,
    value: String,
    error: Option<String>,
}

/// The settings the form edits, as the API names them, with how each is shown.
const FIELDS: [(&str, &str, &str, &str, &str, bool); 9] = [
    (
        "name",
        "Name",
        "text",
        "How the monitor is called in lists and alerts.",
        "My website",
        true,
    ),
    (
        "url",
        "URL",
        "url",
        "The http:// or https:// address to check.",
        "https://example.com/health",
        true,
    ),
    (
        "interval",
        "Check every",
        "text",
        "From 1s to 24h, e.g. 30s, 5m, 1h.",
        "1m",
        true,
    ),
    (
        "timeout",
        "Timeout",
        "text",
        "How long a check may take; empty for 10 s (never more than the interval).",
        "10s",
        false,
    ),
    (
        "method",
        "Method",
        "select",
        "The HTTP method of the request.",
        "",
        true,
    ),
    (
        "accepted_status",
        "Accepted status codes",
        "text",
        "Codes and ranges, separated by commas.",
        "200-299",
        true,
    ),
    (
        "failure_threshold",
        "Failures before down",
        "number",
        "Failed checks in a row before the monitor is down and you are told.",
        "1",
        true,
    ),
    (
        "success_threshold",
        "Successes before up",
        "number",
        "Passing checks in a row before an outage ends.",
        "1",
        true,
    ),
    (
        "remind_every",
        "Remind every",
        "text",
        "While down, remind you this often, e.g. 1h; empty for no reminders.",
        "",
        false,
    ),
];

const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

#[derive(Template)]
#[template(path = "monitor_form.html")]
struct MonitorForm {
    email: String,
    csrf: String,
    heading: String,
    action: String,
    submit: &'static str,
    cancel: String,
    form_error: Option<String>,
    fields: Vec<Field>,
}

impl MonitorForm {
    fn new(user: &PageUser, editing: Option<&Monitor>, values: &HashMap<String, String>) -> Self {
        let fields = FIELDS
            .iter()
            .map(|&(name, label, kind, help, placeholder, required)| Field {
                name,
                label,
                kind,
                help,
                placeholder,
                required,
                choices: if kind == "select" {
                    METHODS.to_vec()
                } else {
                    Vec::new()
                },
                value: values.get(name).cloned().unwrap_or_default(),
                error: None,
            })
            .collect();
        let (heading, action, submit, cancel) = match editing {
            Some(m) => (
                format!("Edit {}", m.spec.name.as_str()),
                format!("/monitors/{}/edit", m.id),
                "Save",
                format!("/monitors/{}", m.id),
            ),
            None => (
                "Add a monitor".into(),
                "/monitors".into(),
                "Add monitor",
                "/".into(),
            ),
        };
        MonitorForm {
            email: user.user.email.to_string(),
            csrf: user.csrf.clone(),
            heading,
            action,
            submit,
            cancel,
            form_error: None,
            fields,
        }
    }

    /// The form again, with the error next to the field it names.
    fn with_error(mut self, e: &ApiError) -> Response {
        let field = match e {
            ApiError::Invalid(f) | ApiError::Conflict(f) => {
                let name = f.field.split(['[', '.']).next().unwrap_or_default();
                self.fields.iter_mut().find(|x| x.name == name).map(|x| {
                    x.error = Some(f.message.clone());
                })
            }
            _ => None,
        };
        if field.is_none() {
            self.form_error = Some(e.to_string());
        }
        page(e.status(), &self)
    }
}

/// The form's values of a monitor's settings.
fn values_of(m: &Monitor) -> HashMap<String, String> {
    m.spec
        .to_json()
        .into_iter()
        .filter(|(k, _)| FIELDS.iter().any(|f| f.0 == k))
        .map(|(k, v)| {
            let shown = match v {
                Value::String(s) => s,
                Value::Null => String::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k, shown)
        })
        .collect()
}

/// The settings a submitted form describes, in the API's terms. An empty optional setting is
/// `null`, which a patch reads as "back to the default".
fn settings_of(form: &HashMap<String, String>) -> Map<String, Value> {
    let mut settings = Map::new();
    for &(name, ..) in &FIELDS {
        let raw = form.get(name).map_or("", |v| v.trim());
        let value = match name {
            "timeout" | "remind_every" if raw.is_empty() => Value::Null,
            "failure_threshold" | "success_threshold" => raw
                .parse::<u64>()
                .map_or_else(|_| Value::from(raw), Value::from),
            "accepted_status" => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Value::from)
                .collect(),
            _ => Value::from(raw),
        };
        settings.insert(name.to_owned(), value);
    }
    settings
}

fn defaults() -> HashMap<String, String> {
    [
        ("interval", "1m"),
        ("method", "GET"),
        ("accepted_status", "200-299"),
        ("failure_threshold", "1"),
        ("success_threshold", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

pub async fn new_form(user: PageUser) -> Response {
    page(StatusCode::OK, &MonitorForm::new(&user, None, &defaults()))
}

pub async fn create(
    State(state): State<AppState>,
    user: PageUser,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check(form.get("csrf").map_or("", String::as_str))?;
    let mut settings = settings_of(&form);
    // A new monitor has no setting to clear: an empty optional one is simply left out.
    settings.retain(|_, v| !v.is_null());
    let created = match MonitorInput::parse(&settings) {
        Ok(input) => actions::create(&state, user.user.id, input).await,
        Err(e) => Err(e.into()),
    };
    Ok(match created {
        Ok(m) => Redirect::to(&format!("/monitors/{}", m.id)).into_response(),
        Err(e) => MonitorForm::new(&user, None, &form).with_error(&e),
    })
}

pub async fn edit_form(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = actions::owned(&state, user.user.id, monitor_id(&id)?).await?;
    Ok(page(
        StatusCode::OK,
        &MonitorForm::new(&user, Some(&m), &values_of(&m)),
    ))
}

pub async fn update(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check(form.get("csrf").map_or("", String::as_str))?;
    let id = monitor_id(&id)?;
    let current = actions::owned(&state, user.user.id, id).await?;
    let settings = settings_of(&form);
    // Only what the form shows changes; headers, body and channels stay as they are.
    let changed = actions::change(&state, user.user.id, id, |m| {
        Ok(MonitorInput::patch(&m.spec, &settings)?)
    })
    .await;
    Ok(match changed {
        Ok(m) => Redirect::to(&format!("/monitors/{}", m.id)).into_response(),
        Err(ApiError::NotFound) => return Err(PageError::Api(ApiError::NotFound)),
        Err(e) => MonitorForm::new(&user, Some(&current), &form).with_error(&e),
    })
}

pub async fn pause(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    set_paused(state, user, &id, &form.csrf, true).await
}

pub async fn resume(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, PageError> {
    set_paused(state, user, &id, &form.csrf, false).await
}

async fn set_paused(
    state: AppState,
    user: PageUser,
    id: &str,
    csrf: &str,
    paused: bool,
) -> Result<Response, PageError> {
    user.check(csrf)?;
    let m = actions::set_paused(&state, user.user.id, monitor_id(id)?, paused).await?;
    Ok(Redirect::to(&format!("/monitors/{}", m.id)).into_response())
}

#[derive(Template)]
#[template(path = "delete.html")]
struct DeletePage {
    email: String,
    csrf: String,
    id: MonitorId,
    name: String,
    url: String,
    typed: String,
    error: Option<&'static str>,
}

pub async fn delete_form(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let m = actions::owned(&state, user.user.id, monitor_id(&id)?).await?;
    Ok(page(
        StatusCode::OK,
        &delete_page(user, &m, String::new(), None),
    ))
}

fn delete_page(
    user: PageUser,
    m: &Monitor,
    typed: String,
    error: Option<&'static str>,
) -> DeletePage {
    DeletePage {
        email: user.user.email.to_string(),
        csrf: user.csrf,
        id: m.id,
        name: m.spec.name.as_str().to_owned(),
        url: m.spec.url.as_str().to_owned(),
        typed,
        error,
    }
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm_url: String,
}

/// Deletes only when the URL typed is the monitor's: the confirmation is the server's, not
/// only the browser's.
pub async fn delete(
    State(state): State<AppState>,
    user: PageUser,
    Path(id): Path<String>,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    let m = actions::owned(&state, user.user.id, monitor_id(&id)?).await?;
    if form.confirm_url.trim() != m.spec.url.as_str() {
        let error = Some("does not match the monitor's URL; nothing was deleted");
        return Ok(page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &delete_page(user, &m, form.confirm_url, error),
        ));
    }
    actions::delete(&state, user.user.id, m.id).await?;
    Ok(Redirect::to("/").into_response())
}
