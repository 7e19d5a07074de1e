//! The form of one kind of channel: which inputs it has, how a channel fills them, and how a
//! submitted form becomes the API's settings, so that the API's own validation judges it and
//! its errors land next to the input they concern.
//!
//! Secrets never reach the page: a channel fills the form from its masked settings only, an
//! input whose stored value is masked starts empty (empty on save keeps it), and a secret typed
//! into a form that comes back with an error is not sent back either.

use super::channel_kinds::{Input, Kind, Setting, kind_of};
use super::pages::page;
use super::session::PageUser;
use crate::alert::channel::{ChannelKind, ChannelSpec, DEFAULT_NTFY_SERVER};
use crate::fields::FieldError;
use crate::http::error::ApiError;
use crate::secret::MASK;
use crate::store::Channel;
use askama::Template;
use axum::http::header;
use axum::response::Response;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// One input of the form.
pub struct Field {
    pub setting: &'static Setting,
    /// What the input holds: never a stored secret.
    pub value: String,
    /// A stored value the input does not show, as the API shows it (masked).
    pub stored: Option<String>,
    /// The box "remove the stored value" is ticked.
    pub remove: bool,
    /// Why the input is empty although something was typed into it.
    pub notice: Option<&'static str>,
    pub error: Option<String>,
}

impl Field {
    /// Whether the stored value can be removed instead of kept: it is optional.
    pub fn removable(&self) -> bool {
        self.stored.is_some() && !self.setting.required
    }

    /// The ids of what describes the input, for `aria-describedby`.
    pub fn described_by(&self) -> String {
        let name = self.setting.name;
        let mut ids = format!("{name}-help");
        for (present, suffix) in [
            (self.stored.is_some(), "stored"),
            (self.notice.is_some(), "notice"),
            (self.error.is_some(), "error"),
        ] {
            if present {
                ids.push_str(&format!(" {name}-{suffix}"));
            }
        }
        ids
    }
}

/// A stored value the page must not show: one with a mask in it.
fn hidden(shown: Option<&Value>) -> Option<String> {
    match shown? {
        Value::String(s) if s.contains(MASK) => Some(s.clone()),
        Value::Object(headers) if !headers.is_empty() => Some(
            headers
                .keys()
                .map(|k| format!("{k}: {MASK}"))
                .collect::<Vec<_>>()
                .join(", "),
        ),
        _ => None,
    }
}

/// What an input shows of a setting the API shows unmasked.
fn shown_value(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_owned))
            .collect::<Vec<_>>()
            .join("\n"),
        Some(Value::Object(_)) => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The items of a list typed one per line (commas separate too, as people paste them so).
fn items(raw: &str) -> Vec<&str> {
    raw.split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// Headers typed one per line as `Name: value`.
fn headers(raw: &str) -> Result<Value, FieldError> {
    let mut out = Map::new();
    for (n, line) in raw.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (name, value) = line.split_once(':').ok_or_else(|| {
            FieldError::new(
                "settings.headers",
                format!("line {} must be written Name: value", n + 1),
            )
        })?;
        out.insert(name.trim().to_owned(), Value::from(value.trim()));
    }
    Ok(Value::Object(out))
}

/// A submitted form in the API's terms.
pub struct Submitted {
    /// The channel's `settings`.
    pub settings: Map<String, Value>,
    /// The inputs left empty to keep their stored value.
    pub kept: Vec<&'static str>,
}

/// The settings a submitted form gives. `stored`: the channel's settings as shown (masked),
/// when it is edited; an input left empty then keeps a hidden stored value, and clears a shown
/// one (which the API reads as its default, or refuses when it is required).
pub fn settings_of(
    kind: &Kind,
    form: &HashMap<String, String>,
    stored: Option<&Map<String, Value>>,
) -> Result<Submitted, FieldError> {
    let mut out = Submitted {
        settings: Map::new(),
        kept: Vec::new(),
    };
    for s in kind.settings {
        let raw = form.get(s.name).map_or("", |v| v.trim());
        let is_hidden = stored.is_some_and(|m| hidden(m.get(s.name)).is_some());
        let remove = !s.required && form.contains_key(&format!("remove_{}", s.name));
        let value = if !raw.is_empty() {
            match s.input {
                Input::Lines => items(raw).into_iter().map(Value::from).collect(),
                Input::Headers => headers(raw)?,
                _ => Value::from(raw),
            }
        } else if is_hidden && !remove {
            out.kept.push(s.name);
            continue;
        } else if stored.is_some() {
            Value::Null
        } else {
            continue;
        };
        out.settings.insert(s.name.to_owned(), value);
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "channel_form.html")]
pub struct ChannelForm {
    email: String,
    csrf: String,
    heading: String,
    action: String,
    submit: &'static str,
    kind: &'static Kind,
    editing: bool,
    name: String,
    name_error: Option<String>,
    default: bool,
    fields: Vec<Field>,
    /// Whether a secret is stored besides the destination, which a new destination drops.
    secrets_kept_for_destination: bool,
    form_error: Option<String>,
}

impl ChannelForm {
    fn new(user: &PageUser, kind: &'static Kind, editing: Option<&Channel>) -> Self {
        let (heading, action, submit) = match editing {
            Some(c) => (
                format!("Edit {}", c.spec.name.as_str()),
                format!("/channels/{}/edit", c.id),
                "Save",
            ),
            None => (
                format!("Add a {} channel", kind.title()),
                "/channels".to_owned(),
                "Add channel",
            ),
        };
        ChannelForm {
            email: user.user.email.to_string(),
            csrf: user.csrf.clone(),
            heading,
            action,
            submit,
            kind,
            editing: editing.is_some(),
            name: String::new(),
            name_error: None,
            default: false,
            fields: Vec::new(),
            secrets_kept_for_destination: false,
            form_error: None,
        }
    }

    /// The form of a new channel, with the settings a new one starts from.
    pub fn blank(user: &PageUser, kind: &'static Kind) -> Self {
        let mut form = Self::new(user, kind, None);
        form.name = kind.title().to_owned();
        form.fields = kind
            .settings
            .iter()
            .map(|setting| {
                let value = match (kind.kind, setting.name) {
                    // Alerts to the account's own address are what most people want first.
                    (ChannelKind::Email, "addresses") => user.user.email.to_string(),
                    (ChannelKind::Ntfy, "server") => DEFAULT_NTFY_SERVER.to_owned(),
                    _ => String::new(),
                };
                field(setting, value, None)
            })
            .collect();
        form
    }

    /// The form of a channel as it is stored, secrets left out.
    pub fn stored(user: &PageUser, channel: &Channel) -> Self {
        let kind = kind_of(channel.spec.settings.kind());
        let mut form = Self::new(user, kind, Some(channel));
        form.name = channel.spec.name.as_str().to_owned();
        form.default = channel.spec.is_default;
        let shown = masked_settings(&channel.spec);
        form.fields = kind
            .settings
            .iter()
            .map(|setting| {
                let v = shown.get(setting.name);
                match hidden(v) {
                    Some(masked) => field(setting, String::new(), Some(masked)),
                    None => field(setting, shown_value(v), None),
                }
            })
            .collect();
        form.note_destinations();
        form
    }

    /// The form as it was submitted, to be shown again: what was typed, except secrets.
    pub fn submitted(
        user: &PageUser,
        kind: &'static Kind,
        editing: Option<&Channel>,
        form: &HashMap<String, String>,
    ) -> Self {
        let mut page = Self::new(user, kind, editing);
        let typed = |name: &str| form.get(name).map_or("", String::as_str);
        page.name = typed("name").to_owned();
        page.default = form.contains_key("default");
        let shown = editing
            .map(|c| masked_settings(&c.spec))
            .unwrap_or_default();
        page.fields = kind
            .settings
            .iter()
            .map(|setting| {
                let raw = typed(setting.name);
                let echoed = setting.input.echoed();
                let value = if echoed { raw } else { "" };
                let mut f = field(setting, value.to_owned(), hidden(shown.get(setting.name)));
                if !echoed && !raw.trim().is_empty() {
                    f.notice = Some("Secrets are not sent back to the page: enter it again.");
                }
                f.remove = form.contains_key(&format!("remove_{}", setting.name));
                f
            })
            .collect();
        page.note_destinations();
        page
    }

    /// Whether to say that a new destination drops the stored secrets.
    fn note_destinations(&mut self) {
        let has_destination = self.kind.settings.iter().any(|s| s.destination);
        self.secrets_kept_for_destination = has_destination
            && self
                .fields
                .iter()
                .any(|f| f.stored.is_some() && !f.setting.destination);
    }

    /// The form again, with the error next to the input it concerns. `kept`: the inputs left
    /// empty to keep their stored value.
    pub fn with_error(mut self, e: &ApiError, kept: &[&str]) -> Response {
        e.log();
        let placed = match e {
            ApiError::Invalid(f) | ApiError::Conflict(f) => self.place(f, kept),
            _ => false,
        };
        if !placed {
            self.form_error = Some(e.to_string());
        }
        let mut response = page(e.status(), &self);
        if let Some(wait) = e.retry_after() {
            response.headers_mut().insert(header::RETRY_AFTER, wait);
        }
        response
    }

    /// Puts the error next to its input; false when no input shows that field.
    fn place(&mut self, e: &FieldError, kept: &[&str]) -> bool {
        if e.field == "name" {
            self.name_error = Some(format!("The name {}", e.message));
            return true;
        }
        let Some(path) = e.field.strip_prefix("settings.") else {
            return false;
        };
        let (name, rest) = match path.find(['[', '.']) {
            Some(at) => path.split_at(at),
            None => (path, ""),
        };
        let destination = self
            .kind
            .settings
            .iter()
            .find(|s| s.destination)
            .map_or("destination", |s| s.label);
        if kept.contains(&name) {
            // The only way a kept value fails: the API keeps secrets for the same destination
            // alone, and then none of the kept ones can stay.
            let message =
                format!("Not kept for a new {destination}: enter it again, or remove it.");
            for f in &mut self.fields {
                if kept.contains(&f.setting.name) && !f.setting.destination {
                    f.error = Some(message.clone());
                }
            }
            return true;
        }
        let Some(f) = self.fields.iter_mut().find(|f| f.setting.name == name) else {
            return false;
        };
        let label = f.setting.label;
        f.error = Some(if let Some(header) = rest.strip_prefix('.') {
            format!("The header {header} {}", e.message)
        } else if let Some(index) = rest
            .strip_prefix('[')
            .and_then(|r| r.strip_suffix(']'))
            .and_then(|i| i.parse::<usize>().ok())
        {
            match items(&f.value).get(index) {
                Some(item) => format!("“{item}” {}", e.message),
                None => format!("Item {} {}", index + 1, e.message),
            }
        } else {
            format!("{label} {}", e.message)
        });
        true
    }
}

fn field(setting: &'static Setting, value: String, stored: Option<String>) -> Field {
    Field {
        setting,
        value,
        stored,
        remove: false,
        notice: None,
        error: None,
    }
}

/// A channel's settings as the API shows them: the only form of them pages read.
pub fn masked_settings(spec: &ChannelSpec) -> Map<String, Value> {
    match spec.settings.to_masked_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn an_empty_input_keeps_a_hidden_value_and_clears_a_shown_one() {
        let webhook = kind_of(ChannelKind::Webhook);
        let stored =
            json!({"url": "https://a.example/", "headers": {"x-key": MASK}, "secret": MASK});
        let stored = stored.as_object().unwrap();
        let typed = form(&[("url", ""), ("headers", ""), ("secret", "")]);
        let out = settings_of(webhook, &typed, Some(stored)).unwrap();
        assert_eq!(out.kept, ["headers", "secret"]);
        assert_eq!(Value::Object(out.settings), json!({"url": null}));
        // Removing, or typing a new value, replaces the stored one.
        let typed = form(&[
            ("url", "https://b.example/"),
            ("headers", "X-Key: new\n\nAuthorization: Bearer t"),
            ("remove_secret", "on"),
        ]);
        let out = settings_of(webhook, &typed, Some(stored)).unwrap();
        assert!(out.kept.is_empty());
        assert_eq!(
            Value::Object(out.settings),
            json!({"url": "https://b.example/", "secret": null,
                   "headers": {"X-Key": "new", "Authorization": "Bearer t"}})
        );
        // A new channel leaves out what was not typed, so the API's defaults apply.
        let out = settings_of(kind_of(ChannelKind::Ntfy), &form(&[("topic", "t")]), None).unwrap();
        assert_eq!(Value::Object(out.settings), json!({"topic": "t"}));
    }

    #[test]
    fn lists_split_on_lines_and_commas_and_a_header_needs_its_colon() {
        let email = kind_of(ChannelKind::Email);
        let out = settings_of(
            email,
            &form(&[("addresses", "a@x.io, b@x.io\n\nc@x.io")]),
            None,
        )
        .unwrap();
        assert_eq!(
            out.settings["addresses"],
            json!(["a@x.io", "b@x.io", "c@x.io"])
        );
        let webhook = kind_of(ChannelKind::Webhook);
        let err = settings_of(webhook, &form(&[("headers", "X-Key: k\nBearer t")]), None)
            .err()
            .unwrap();
        assert_eq!(err.field, "settings.headers");
        assert!(err.message.contains("line 2"), "{err}");
    }
}
