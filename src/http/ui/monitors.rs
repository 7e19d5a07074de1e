//! Adding, editing, pausing, resuming and deleting a monitor through the pages. Every
//! change goes through the same actions as the API, so the same rules and checks apply.

use super::pages::{OnPage, Owned, OwnedItem, PageForm, page};
use super::session::{PageError, PageUser};
use crate::fields::FieldError;
use crate::http::AppState;
use crate::http::actions;
use crate::http::error::ApiError;
use crate::http::extract::MonitorPath;
use crate::monitor::{ChannelId, MonitorId, MonitorInput, MonitorSpec, UserId};
use crate::probe::Outcome;
use crate::store::Monitor;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;

impl OwnedItem for Monitor {
    type Path = MonitorPath;

    async fn load(
        state: &AppState,
        owner: UserId,
        MonitorPath(id): MonitorPath,
    ) -> Result<Self, ApiError> {
        actions::owned(state, owner, id).await
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
    /// The kinds of monitor it belongs to, separated by spaces; empty for every kind.
    only: &'static str,
}

impl Setting {
    fn applies_to(&self, kind: &str) -> bool {
        self.only.is_empty() || self.only.split(' ').any(|k| k == kind)
    }
}

const SETTINGS: [Setting; 27] = [
    Setting {
        name: "kind",
        label: "Kind",
        kind: "select",
        help: "What is checked: a web address (http), a TCP port (tcp), a TLS certificate \
               (tls), a DNS record (dns), that a host answers ICMP echo requests (ping), or \
               that a job such as a cron job or a backup pings upbeat in time (heartbeat).",
        placeholder: "",
        required: true,
        choices: &["http", "tcp", "tls", "dns", "ping", "heartbeat"],
        only: "",
    },
    Setting {
        name: "name",
        label: "Name",
        kind: "text",
        help: "How the monitor is called in lists and alerts.",
        placeholder: "My website",
        required: true,
        choices: &[],
        only: "",
    },
    Setting {
        name: "url",
        label: "URL",
        kind: "url",
        help: "What to check: http:// or https:// for a web address, tcp://host:port for a \
               port, tls://host:port for a certificate, dns://name for a DNS record, \
               ping://host for a host.",
        placeholder: "https://example.com/health",
        required: true,
        choices: &[],
        only: "http tcp tls dns ping",
    },
    Setting {
        name: "interval",
        label: "Check every",
        kind: "text",
        help: "From 1s to 24h, e.g. 30s, 5m, 1h. For a heartbeat: how often the job runs \
               (ignored when a cron schedule is given).",
        placeholder: "1m",
        required: false,
        choices: &[],
        only: "",
    },
    Setting {
        name: "timeout",
        label: "Timeout",
        kind: "text",
        help: "How long a check may take; empty for 10 s (never more than the interval).",
        placeholder: "10s",
        required: false,
        choices: &[],
        only: "http tcp tls dns ping",
    },
    Setting {
        name: "method",
        label: "Method",
        kind: "select",
        help: "The HTTP method of the request.",
        placeholder: "",
        required: true,
        choices: &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        only: "http",
    },
    Setting {
        name: "accepted_status",
        label: "Accepted status codes",
        kind: "text",
        help: "Codes and ranges, separated by commas.",
        placeholder: "200-299",
        required: true,
        choices: &[],
        only: "http",
    },
    Setting {
        name: "failure_threshold",
        label: "Failures before down",
        kind: "number",
        help: "Failed checks in a row before the monitor is down and you are told. Empty takes \
               the kind's default: a heartbeat's missed run needs no second look.",
        placeholder: "2 (heartbeats: 1)",
        required: false,
        choices: &[],
        only: "",
    },
    Setting {
        name: "success_threshold",
        label: "Successes before up",
        kind: "number",
        help: "Passing checks in a row before an outage ends.",
        placeholder: "",
        required: true,
        choices: &[],
        only: "",
    },
    Setting {
        name: "remind_every",
        label: "Remind every",
        kind: "text",
        help: "While down, remind you this often, e.g. 1h; empty for no reminders.",
        placeholder: "",
        required: false,
        choices: &[],
        only: "",
    },
    Setting {
        name: "cert_alert_days",
        label: "Certificate alerts",
        kind: "text",
        help: "Days before the certificate expires to alert you, separated by commas, e.g. 30, \
               14, 7, 1 (and once more when it has expired); empty for none.",
        placeholder: "30, 14, 7, 1",
        required: false,
        choices: &[],
        only: "http tls",
    },
    Setting {
        name: "headers",
        label: "Request headers",
        kind: "textarea",
        help: "One per line, as Name: value. Never sent to another site after a redirect.",
        placeholder: "Authorization: Bearer …",
        required: false,
        choices: &[],
        only: "http",
    },
    Setting {
        name: "body",
        label: "Request body",
        kind: "textarea",
        help: "Sent with the request, up to 64 KiB; empty for none.",
        placeholder: "",
        required: false,
        choices: &[],
        only: "http",
    },
    Setting {
        name: "assertions",
        label: "Conditions",
        kind: "json",
        help: "What the response must also meet, as a JSON list: status, latency, body, JSON \
               values and headers (see the API documentation). Empty for none.",
        placeholder: "[{\"subject\": \"json\", \"path\": \"$.status\", \"op\": \"==\", \"value\": \"ok\"}]",
        required: false,
        choices: &[],
        only: "http tcp tls dns ping",
    },
    Setting {
        name: "send",
        label: "Send",
        kind: "textarea",
        help: "Sent once connected, as typed: each line break is sent as CR LF. Empty to \
               send nothing.",
        placeholder: "PING",
        required: false,
        choices: &[],
        only: "tcp",
    },
    Setting {
        name: "expect",
        label: "Expect a reply matching",
        kind: "text",
        help: "A regular expression the reply must match; empty to only connect.",
        placeholder: "^\\+PONG",
        required: false,
        choices: &[],
        only: "tcp",
    },
    Setting {
        name: "starttls",
        label: "STARTTLS",
        kind: "select",
        help: "smtp: greet a mail server and upgrade the connection before the handshake.",
        placeholder: "",
        required: false,
        choices: &["", "smtp"],
        only: "tls",
    },
    Setting {
        name: "record_type",
        label: "Record type",
        kind: "select",
        help: "The records asked for.",
        placeholder: "",
        required: true,
        choices: &["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA"],
        only: "dns",
    },
    Setting {
        name: "resolver",
        label: "DNS server",
        kind: "text",
        help: "The server asked, as an address with an optional port; empty for this \
               machine's.",
        placeholder: "1.1.1.1:53",
        required: false,
        choices: &[],
        only: "dns",
    },
    Setting {
        name: "packets",
        label: "Echo requests",
        kind: "number",
        help: "How many are sent each check, 1 to 10.",
        placeholder: "",
        required: true,
        choices: &[],
        only: "ping",
    },
    Setting {
        name: "max_loss_percent",
        label: "Loss allowed (%)",
        kind: "number",
        help: "More lost than this is a failed check, 0 to 99.",
        placeholder: "",
        required: true,
        choices: &[],
        only: "ping",
    },
    Setting {
        name: "inverted",
        label: "Inverted",
        kind: "checkbox",
        help: "Up while the check fails and down while it passes: for what must not be reachable.",
        placeholder: "",
        required: true,
        choices: &[],
        only: "http tcp tls dns ping",
    },
    Setting {
        name: "follow_redirects",
        label: "Follow redirects",
        kind: "checkbox",
        help: "Off: a redirect answer is judged by its own status code.",
        placeholder: "",
        required: true,
        choices: &[],
        only: "http",
    },
    Setting {
        name: "max_redirects",
        label: "Redirects at most",
        kind: "number",
        help: "How many redirects in a row are followed, up to 20.",
        placeholder: "",
        required: true,
        choices: &[],
        only: "http",
    },
    Setting {
        name: "grace",
        label: "Grace time",
        kind: "text",
        help: "How late a ping may come after the run was due (a late start and the run's own \
               time), from 1s to 365d; empty for 1h.",
        placeholder: "1h",
        required: false,
        choices: &[],
        only: "heartbeat",
    },
    Setting {
        name: "cron",
        label: "Cron schedule",
        kind: "text",
        help: "When the job runs, as a cron expression (minute hour day month weekday); empty \
               to expect a ping once per interval instead.",
        placeholder: "0 2 * * *",
        required: false,
        choices: &[],
        only: "heartbeat",
    },
    Setting {
        name: "timezone",
        label: "Time zone",
        kind: "text",
        help: "The time zone of the cron schedule, e.g. Europe/Berlin; empty for UTC.",
        placeholder: "UTC",
        required: false,
        choices: &[],
        only: "heartbeat",
    },
];

/// One input of the monitor form: a setting with its value and what is wrong with it.
struct Field {
    setting: &'static Setting,
    value: String,
    error: Option<String>,
}

/// One of the owner's channels, as a box to tick.
struct ChannelBox {
    id: ChannelId,
    name: String,
    kind: &'static str,
    ticked: bool,
}

/// How a trial check ended.
struct Trial {
    ok: bool,
    summary: String,
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
    channels: Vec<ChannelBox>,
    channels_error: Option<String>,
    trial: Option<Trial>,
}

/// A submitted monitor form.
pub struct Submitted {
    values: HashMap<String, String>,
    /// The channels ticked, when the form listed them.
    channels: Vec<ChannelId>,
    channels_listed: bool,
    /// Sent by "Check now" rather than by saving.
    check: bool,
}

impl From<Vec<(String, String)>> for Submitted {
    fn from(pairs: Vec<(String, String)>) -> Self {
        let mut submitted = Submitted {
            values: HashMap::new(),
            channels: Vec::new(),
            channels_listed: false,
            check: false,
        };
        for (name, value) in pairs {
            match name.as_str() {
                "channel" => submitted.channels.extend(value.parse().ok().map(ChannelId)),
                "intent" => submitted.check = value == "check",
                "channels_listed" => submitted.channels_listed = true,
                _ => {
                    submitted.values.insert(name, value);
                }
            }
        }
        submitted
    }
}

impl MonitorForm {
    /// The form with `values`, `ticked` channels (the owner's default channels when `None`) and,
    /// when editing, the monitor it edits.
    async fn build(
        state: &AppState,
        user: &PageUser,
        editing: Option<&Monitor>,
        values: &HashMap<String, String>,
        ticked: Option<&[ChannelId]>,
    ) -> Result<Self, PageError> {
        let fields = SETTINGS
            .iter()
            .map(|setting| Field {
                setting,
                value: values.get(setting.name).cloned().unwrap_or_default(),
                error: None,
            })
            .collect();
        let channels = state
            .store
            .channels(user.user.id)
            .await?
            .into_iter()
            .map(|c| ChannelBox {
                id: c.id,
                name: c.spec.name.as_str().to_owned(),
                kind: c.spec.settings.kind().as_str(),
                ticked: ticked.map_or(c.spec.is_default, |t| t.contains(&c.id)),
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
        Ok(MonitorForm {
            email: user.user.email.to_string(),
            csrf: user.csrf.clone(),
            heading,
            action,
            submit,
            cancel,
            form_error: None,
            fields,
            channels,
            channels_error: None,
            trial: None,
        })
    }

    /// The form again as submitted, with the error next to the field it names.
    fn with_error(mut self, e: &ApiError) -> Response {
        e.log();
        let placed = match e {
            ApiError::Invalid(f) | ApiError::Conflict(f) => {
                let name = f.field.split(['[', '.']).next().unwrap_or_default();
                if name == "channels" {
                    self.channels_error = Some(f.message.clone());
                    true
                } else {
                    self.fields
                        .iter_mut()
                        .find(|x| x.setting.name == name)
                        .map(|x| x.error = Some(f.message.clone()))
                        .is_some()
                }
            }
            _ => false,
        };
        if !placed {
            self.form_error = Some(e.to_string());
        }
        page(e.status(), &self)
    }

    /// The form again as submitted, with how the trial check went.
    fn with_trial(mut self, outcome: &Outcome) -> Response {
        let code = outcome
            .status_code
            .map(|c| format!("HTTP {c}, "))
            .unwrap_or_default();
        self.trial = Some(Trial {
            ok: outcome.ok(),
            summary: match &outcome.error {
                None => format!("Up: {code}answered in {} ms.", outcome.latency_ms),
                Some(e) => format!("Down after {} ms: {code}{e}.", outcome.latency_ms),
            },
        });
        page(StatusCode::OK, &self)
    }
}

/// The form's values of a monitor's settings.
fn values_of(spec: &MonitorSpec) -> HashMap<String, String> {
    spec.to_json()
        .into_iter()
        .filter(|(k, _)| SETTINGS.iter().any(|f| f.name == k))
        .map(|(k, v)| {
            let shown = match v {
                Value::Array(items) if k == "assertions" => {
                    if items.is_empty() {
                        String::new()
                    } else {
                        serde_json::to_string_pretty(&items).unwrap_or_default()
                    }
                }
                Value::String(s) => s,
                Value::Null => String::new(),
                Value::Array(items) => items
                    .iter()
                    .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", "),
                Value::Object(headers) => headers
                    .iter()
                    .map(|(name, value)| format!("{name}: {}", value.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("\n"),
                other => other.to_string(),
            };
            (k, shown)
        })
        .collect()
}

/// Text with every line break as CR LF, as line-based protocols expect.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// A whole number as a number, anything else as typed, for the API to name what is wrong.
fn number(raw: &str) -> Value {
    raw.parse::<u64>()
        .map_or_else(|_| Value::from(raw), Value::from)
}

/// Headers typed one per line as `Name: value`.
fn headers(raw: &str) -> Result<Value, FieldError> {
    let mut headers = Map::new();
    for line in raw.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| FieldError::new("headers", format!("{line:?} is not Name: value")))?;
        headers.insert(name.trim().to_owned(), value.trim().into());
    }
    Ok(headers.into())
}

/// The settings a submitted form describes, in the API's terms. An empty optional setting is
/// `null`, which a patch reads as "back to the default"; a setting the form did not carry at all
/// is left out, so it keeps its default or its value.
fn settings_of(form: &Submitted) -> Result<Map<String, Value>, FieldError> {
    let mut settings = Map::new();
    let kind = form.values.get("kind").map_or("http", |k| k.trim());
    for setting in SETTINGS.iter().filter(|s| s.applies_to(kind)) {
        let Some(typed) = form.values.get(setting.name) else {
            continue;
        };
        let raw = typed.trim();
        let value = match setting.name {
            "follow_redirects" | "inverted" => Value::Bool(raw == "true"),
            // Bytes to send are sent as typed, trailing line breaks included.
            "send" if !raw.is_empty() => Value::from(crlf(typed)),
            "headers" => headers(raw)?,
            // Empty is no certificate alerts, not the default.
            "cert_alert_days" => raw
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(number)
                .collect(),
            _ if raw.is_empty() && !setting.required => Value::Null,
            "assertions" => serde_json::from_str(raw)
                .map_err(|e| FieldError::new("assertions", format!("is not JSON: {e}")))?,
            "failure_threshold" | "success_threshold" | "max_redirects" | "packets"
            | "max_loss_percent" => number(raw),
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
    // The form always carries a period; with a cron schedule it does not apply.
    if kind == "heartbeat" && settings.get("cron").is_some_and(|c| !c.is_null()) {
        settings.insert("interval".into(), Value::Null);
    }
    if form.channels_listed {
        settings.insert(
            "channels".into(),
            form.channels.iter().map(|c| Value::from(c.0)).collect(),
        );
    }
    Ok(settings)
}

/// The form of a new monitor: the settings the API would give one, with no name or URL yet.
fn defaults() -> HashMap<String, String> {
    // The defaults of every kind's own settings, with the shared ones of an http monitor.
    let mut values = HashMap::new();
    for (kind, url) in [
        ("ping", "ping://192.0.2.1"),
        ("dns", "dns://example.com"),
        ("tls", "tls://example.com"),
        ("tcp", "tcp://example.com:1"),
        ("http", "https://example.com/"),
    ] {
        let mut any = Map::new();
        any.insert("kind".into(), kind.into());
        any.insert("url".into(), url.into());
        if let Ok(input) = MonitorInput::parse(&any) {
            values.extend(values_of(&input.spec));
        }
    }
    let mut heartbeat = Map::new();
    heartbeat.insert("kind".into(), "heartbeat".into());
    if let Ok(input) = MonitorInput::parse(&heartbeat)
        && let Some(grace) = values_of(&input.spec).remove("grace")
    {
        values.insert("grace".into(), grace);
    }
    // Left empty, it takes the default of the kind chosen.
    for field in ["name", "url", "failure_threshold"] {
        values.remove(field);
    }
    values
}

/// The forgery token a form carries.
fn csrf_of(form: &Submitted) -> &str {
    form.values.get("csrf").map_or("", String::as_str)
}

pub async fn new_form(
    State(state): State<AppState>,
    user: PageUser,
) -> Result<Response, PageError> {
    // A new monitor alerts the owner's default channels unless told otherwise.
    let form = MonitorForm::build(&state, &user, None, &defaults(), None).await?;
    Ok(page(StatusCode::OK, &form))
}

/// Saves the monitor, or with "Check now" only tries it.
pub async fn create(
    State(state): State<AppState>,
    user: PageUser,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = Submitted::from(pairs);
    user.check(csrf_of(&form))?;
    let parsed = settings_of(&form)
        .and_then(|mut settings| {
            // A new monitor has no setting to clear: an empty optional one is left out.
            settings.retain(|_, v| !v.is_null());
            MonitorInput::parse(&settings)
        })
        .map_err(ApiError::from);
    let shown = MonitorForm::build(&state, &user, None, &form.values, Some(&form.channels));
    let failed = match parsed {
        Ok(input) if form.check => {
            match actions::try_check(&state, user.user.id, &input.spec).await {
                Ok(outcome) => return Ok(shown.await?.with_trial(&outcome)),
                Err(e) => e,
            }
        }
        Ok(input) => match actions::create(&state, user.user.id, input).await {
            Ok(m) => return Ok(Redirect::to(&format!("/monitors/{}", m.id)).into_response()),
            Err(e) => e,
        },
        Err(e) => e,
    };
    Ok(shown.await?.with_error(&failed))
}

pub async fn edit_form(
    State(state): State<AppState>,
    Owned {
        user,
        item: monitor,
    }: Owned<Monitor>,
) -> Result<Response, PageError> {
    let values = values_of(&monitor.spec);
    let form = MonitorForm::build(
        &state,
        &user,
        Some(&monitor),
        &values,
        Some(&monitor.channels),
    )
    .await?;
    Ok(page(StatusCode::OK, &form))
}

/// Saves the changes, or with "Check now" only tries the monitor as changed.
pub async fn update(
    State(state): State<AppState>,
    user: PageUser,
    OnPage(MonitorPath(id)): OnPage<MonitorPath>,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let form = Submitted::from(pairs);
    user.check(csrf_of(&form))?;
    let current = actions::owned(&state, user.user.id, id).await?;
    let shown = MonitorForm::build(
        &state,
        &user,
        Some(&current),
        &form.values,
        Some(&form.channels),
    );
    let settings = match settings_of(&form) {
        Ok(settings) => settings,
        Err(e) => return Ok(shown.await?.with_error(&e.into())),
    };
    let failed = if form.check {
        let tried = match MonitorInput::patch(&current.spec, &settings) {
            Ok(input) => actions::try_check(&state, user.user.id, &input.spec).await,
            Err(e) => Err(e.into()),
        };
        match tried {
            Ok(outcome) => return Ok(shown.await?.with_trial(&outcome)),
            Err(e) => e,
        }
    } else {
        let changed = actions::change(&state, user.user.id, id, |m| {
            Ok(MonitorInput::patch(&m.spec, &settings)?)
        })
        .await;
        match changed {
            Ok(m) => return Ok(Redirect::to(&format!("/monitors/{}", m.id)).into_response()),
            Err(ApiError::NotFound) => return Err(PageError::Api(ApiError::NotFound)),
            Err(e) => e,
        }
    };
    Ok(shown.await?.with_error(&failed))
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
    OnPage(MonitorPath(id)): OnPage<MonitorPath>,
    PageForm(form): PageForm<ToggleForm>,
) -> Result<Response, PageError> {
    set_paused(state, user, id, form, true).await
}

pub async fn resume(
    State(state): State<AppState>,
    user: PageUser,
    OnPage(MonitorPath(id)): OnPage<MonitorPath>,
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
    /// What to type, and what it is.
    confirmation: String,
    what: &'static str,
    typed: String,
    error: Option<String>,
}

/// What confirms the deletion of `m`: its URL, or a heartbeat's name, as it has no URL.
fn confirmation(m: &Monitor) -> (&str, &'static str) {
    if m.spec.kind().is_probed() {
        (m.spec.url(), "URL")
    } else {
        (m.spec.name.as_str(), "name")
    }
}

impl DeletePage {
    fn new(user: PageUser, m: &Monitor, typed: String, error: Option<String>) -> Self {
        DeletePage {
            email: user.user.email.to_string(),
            csrf: user.csrf,
            id: m.id,
            name: m.spec.name.as_str().to_owned(),
            confirmation: confirmation(m).0.to_owned(),
            what: confirmation(m).1,
            typed,
            error,
        }
    }
}

pub async fn delete_form(
    Owned {
        user,
        item: monitor,
    }: Owned<Monitor>,
) -> Response {
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

/// Deletes only when the URL (a heartbeat's name) typed is the monitor's: the confirmation is
/// the server's, not only the browser's, and is checked under the same lock as the delete.
pub async fn delete(
    State(state): State<AppState>,
    user: PageUser,
    OnPage(MonitorPath(id)): OnPage<MonitorPath>,
    PageForm(form): PageForm<DeleteForm>,
) -> Result<Response, PageError> {
    user.check(&form.csrf)?;
    let typed = form.confirm_url.trim();
    let deleted = actions::delete(&state, user.user.id, id, |m| {
        let (expected, what) = confirmation(m);
        if typed == expected {
            Ok(())
        } else {
            Err(ApiError::Invalid(FieldError::new(
                "confirm_url",
                format!("does not match the monitor's {what}; nothing was deleted"),
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
