//! Adding, editing, pausing, resuming and deleting a monitor through the pages. Every
//! change goes through the same actions as the API, so the same rules and checks apply.

use super::pages::{PageForm, page};
use super::session::{PageError, PageUser};
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::actions;
use crate::http::error::ApiError;
use crate::http::extract::MonitorPath;
use crate::monitor::{MonitorId, MonitorInput, MonitorSpec};
use crate::store::Monitor;
use askama::Template;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// The monitor id in a page's path; anything else is a page that does not exist.
pub struct PagePath(MonitorId);

impl FromRequestParts<AppState> for PagePath {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let MonitorPath(id) = MonitorPath::from_request_parts(parts, state).await?;
        Ok(PagePath(id))
    }
}

/// The signed-in user and their monitor named in the path; another user's is a page that does
/// not exist.
pub struct Owned {
    pub user: PageUser,
    pub monitor: Monitor,
}

impl FromRequestParts<AppState> for Owned {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = PageUser::from_request_parts(parts, state).await?;
        let PagePath(id) = PagePath::from_request_parts(parts, state).await?;
        let monitor = actions::owned(state, user.user.id, id).await?;
        Ok(Owned { user, monitor })
    }
}

/// A setting the form edits, as the API names it, and how it is shown.
struct Setting {
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    help: &'static str,
    placeholder: &'static str,
    required: bool,
    /// For a choice among fixed values.
    choices: &'static [&'static str],
}

const SETTINGS: [Setting; 9] = [
    Setting {
        name: "name",
        label: "Name",
        kind: "text",
        help: "How the monitor is called in lists and alerts.",
        placeholder: "My website",
        required: true,
        choices: &[],
    },
    Setting {
        name: "url",
        label: "URL",
        kind: "url",
        help: "The http:// or https:// address to check.",
        placeholder: "https://example.com/health",
        required: true,
        choices: &[],
    },
    Setting {
        name: "interval",
        label: "Check every",
        kind: "text",
        help: "From 1s to 24h, e.g. 30s, 5m, 1h.",
        placeholder: "1m",
        required: true,
        choices: &[],
    },
    Setting {
        name: "timeout",
        label: "Timeout",
        kind: "text",
        help: "How long a check may take; empty for 10 s (never more than the interval).",
        placeholder: "10s",
        required: false,
        choices: &[],
    },
    Setting {
        name: "method",
        label: "Method",
        kind: "select",
        help: "The HTTP method of the request.",
        placeholder: "",
        required: true,
        choices: &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    },
    Setting {
        name: "accepted_status",
        label: "Accepted status codes",
        kind: "text",
        help: "Codes and ranges, separated by commas.",
        placeholder: "200-299",
        required: true,
        choices: &[],
    },
    Setting {
        name: "failure_threshold",
        label: "Failures before down",
        kind: "number",
        help: "Failed checks in a row before the monitor is down and you are told.",
        placeholder: "",
        required: true,
        choices: &[],
    },
    Setting {
        name: "success_threshold",
        label: "Successes before up",
        kind: "number",
        help: "Passing checks in a row before an outage ends.",
        placeholder: "",
        required: true,
        choices: &[],
    },
    Setting {
        name: "remind_every",
        label: "Remind every",
        kind: "text",
        help: "While down, remind you this often, e.g. 1h; empty for no reminders.",
        placeholder: "",
        required: false,
        choices: &[],
    },
];

/// One input of the monitor form: a setting with its value and what is wrong with it.
struct Field {
    setting: &'static Setting,
    value: String,
    error: Option<String>,
}

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
        let fields = SETTINGS
            .iter()
            .map(|setting| Field {
                setting,
                value: values.get(setting.name).cloned().unwrap_or_default(),
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
        e.log();
        let field = match e {
            ApiError::Invalid(f) | ApiError::Conflict(f) => {
                let name = f.field.split(['[', '.']).next().unwrap_or_default();
                self.fields
                    .iter_mut()
                    .find(|x| x.setting.name == name)
                    .map(|x| x.error = Some(f.message.clone()))
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
fn values_of(spec: &MonitorSpec) -> HashMap<String, String> {
    spec.to_json()
        .into_iter()
        .filter(|(k, _)| SETTINGS.iter().any(|f| f.name == k))
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
    for setting in &SETTINGS {
        let raw = form.get(setting.name).map_or("", |v| v.trim());
        let value = match setting.name {
            _ if raw.is_empty() && !setting.required => Value::Null,
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
        settings.insert(setting.name.to_owned(), value);
    }
    settings
}

/// The form of a new monitor: the settings the API would give one, with no name or URL yet.
fn defaults() -> HashMap<String, String> {
    let mut any = Map::new();
    any.insert("url".into(), "https://example.com/".into());
    let mut values = MonitorInput::parse(&any)
        .map(|input| values_of(&input.spec))
        .unwrap_or_default();
    values.remove("name");
    values.remove("url");
    values
}

/// The forgery token a form carries.
fn csrf_of(form: &HashMap<String, String>) -> &str {
    form.get("csrf").map_or("", String::as_str)
}

pub async fn new_form(user: PageUser) -> Response {
    page(StatusCode::OK, &MonitorForm::new(&user, None, &defaults()))
}

pub async fn create(
    State(state): State<AppState>,
    user: PageUser,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check(csrf_of(&form))?;
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

pub async fn edit_form(Owned { user, monitor }: Owned) -> Response {
    page(
        StatusCode::OK,
        &MonitorForm::new(&user, Some(&monitor), &values_of(&monitor.spec)),
    )
}

pub async fn update(
    State(state): State<AppState>,
    user: PageUser,
    PagePath(id): PagePath,
    PageForm(form): PageForm<HashMap<String, String>>,
) -> Result<Response, PageError> {
    user.check(csrf_of(&form))?;
    let settings = settings_of(&form);
    // Only what the form shows changes; headers, body and channels stay as they are.
    let changed = actions::change(&state, user.user.id, id, |m| {
        Ok(MonitorInput::patch(&m.spec, &settings)?)
    })
    .await;
    Ok(match changed {
        Ok(m) => Redirect::to(&format!("/monitors/{}", m.id)).into_response(),
        Err(ApiError::NotFound) => return Err(PageError::Api(ApiError::NotFound)),
        Err(e) => {
            let current = actions::owned(&state, user.user.id, id).await?;
            MonitorForm::new(&user, Some(&current), &form).with_error(&e)
        }
    })
}

/// A pause or resume button's form.
#[derive(Deserialize)]
pub struct ToggleForm {
    #[serde(default)]
    csrf: String,
    /// `list` when pressed on the dashboard, which is then where the browser goes back to.
    #[serde(default)]
    back: String,
}

pub async fn pause(
    State(state): State<AppState>,
    user: PageUser,
    PagePath(id): PagePath,
    PageForm(form): PageForm<ToggleForm>,
) -> Result<Response, PageError> {
    set_paused(state, user, id, form, true).await
}

pub async fn resume(
    State(state): State<AppState>,
    user: PageUser,
    PagePath(id): PagePath,
    PageForm(form): PageForm<ToggleForm>,
) -> Result<Response, PageError> {
    set_paused(state, user, id, form, false).await
}

async fn set_paused(
    state: AppState,
    user: PageUser,
    id: MonitorId,
    form: ToggleForm,
    paused: bool,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    let m = actions::set_paused(&state, user.user.id, id, paused).await?;
    Ok(if form.back == "list" {
        Redirect::to("/")
    } else {
        Redirect::to(&format!("/monitors/{}", m.id))
    }
    .into_response())
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
    error: Option<String>,
}

impl DeletePage {
    fn new(user: PageUser, m: &Monitor, typed: String, error: Option<String>) -> Self {
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
}

pub async fn delete_form(Owned { user, monitor }: Owned) -> Response {
    page(
        StatusCode::OK,
        &DeletePage::new(user, &monitor, String::new(), None),
    )
}

#[derive(Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    confirm_url: String,
}

/// Deletes only when the URL typed is the monitor's: the confirmation is the server's, not
/// only the browser's, and is checked under the same lock as the delete.
pub async fn delete(
    State(state): State<AppState>,
    user: PageUser,
    PagePath(id): PagePath,
    PageForm(form): PageForm<DeleteForm>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    let typed = form.confirm_url.trim();
    let deleted = actions::delete(&state, user.user.id, id, |m| {
        if typed == m.spec.url.as_str() {
            Ok(())
        } else {
            Err(ApiError::Invalid(FieldError::new(
                "confirm_url",
                "does not match the monitor's URL; nothing was deleted",
            )))
        }
    })
    .await;
    match deleted {
        Ok(()) => Ok(Redirect::to("/").into_response()),
        Err(ApiError::Invalid(e)) => {
            let m = actions::owned(&state, user.user.id, id).await?;
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &DeletePage::new(user, &m, form.confirm_url, Some(e.message)),
            ))
        }
        Err(e) => Err(e.into()),
    }
}
