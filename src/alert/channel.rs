//! Where alerts go: the kinds of channel and their settings, parsed once at the edge into values
//! that can only be valid. Secrets in settings (webhook addresses, tokens, keys) are write-only:
//! responses show [`MASK`] in their place, and a mask sent back keeps the stored secret.

use crate::account::Email;
use crate::fields::{FieldError, Fields};
use crate::monitor::{Headers, HttpUrl, Name};
use crate::secret::{MASK, Secret};
use serde_json::{Map, Value, json};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    Email,
    Webhook,
    Slack,
    Discord,
    Teams,
    Telegram,
    Ntfy,
    PagerDuty,
}

impl ChannelKind {
    pub const ALL: [ChannelKind; 8] = [
        ChannelKind::Email,
        ChannelKind::Webhook,
        ChannelKind::Slack,
        ChannelKind::Discord,
        ChannelKind::Teams,
        ChannelKind::Telegram,
        ChannelKind::Ntfy,
        ChannelKind::PagerDuty,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Email => "email",
            ChannelKind::Webhook => "webhook",
            ChannelKind::Slack => "slack",
            ChannelKind::Discord => "discord",
            ChannelKind::Teams => "teams",
            ChannelKind::Telegram => "telegram",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::PagerDuty => "pagerduty",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The name a channel gets when none is given, and how pages call the kind.
    pub fn title(self) -> &'static str {
        match self {
            ChannelKind::Email => "Email",
            ChannelKind::Webhook => "Webhook",
            ChannelKind::Slack => "Slack",
            ChannelKind::Discord => "Discord",
            ChannelKind::Teams => "Microsoft Teams",
            ChannelKind::Telegram => "Telegram",
            ChannelKind::Ntfy => "ntfy",
            ChannelKind::PagerDuty => "PagerDuty",
        }
    }
}

/// A kind's settings. Every secret is a [`Secret`], so no `Debug` or log line can show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelSettings {
    Email {
        addresses: Vec<Email>,
    },
    /// A POST of upbeat's JSON payload, signed with HMAC-SHA256 when a secret is set.
    Webhook {
        url: HttpUrl,
        headers: Headers,
        secret: Option<Secret>,
    },
    Slack {
        webhook_url: Secret,
    },
    Discord {
        webhook_url: Secret,
    },
    Teams {
        webhook_url: Secret,
    },
    Telegram {
        bot_token: Secret,
        chat_id: String,
    },
    Ntfy {
        server: HttpUrl,
        topic: String,
        token: Option<Secret>,
    },
    PagerDuty {
        routing_key: Secret,
    },
}

/// A channel as its owner configures it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelSpec {
    pub name: Name,
    pub settings: ChannelSettings,
    /// Attached to the owner's new monitors.
    pub is_default: bool,
}

const MAX_ADDRESSES: usize = 20;
/// Where ntfy channels publish when no server is given.
pub const DEFAULT_NTFY_SERVER: &str = "https://ntfy.sh";
const TOP_FIELDS: [&str; 4] = ["name", "kind", "settings", "default"];
/// Fields of a channel in responses; sent back unchanged, they are ignored.
const READ_ONLY_FIELDS: [&str; 5] = ["id", "monitor_count", "created_at", "updated_at", "warning"];

impl ChannelSettings {
    pub fn kind(&self) -> ChannelKind {
        match self {
            ChannelSettings::Email { .. } => ChannelKind::Email,
            ChannelSettings::Webhook { .. } => ChannelKind::Webhook,
            ChannelSettings::Slack { .. } => ChannelKind::Slack,
            ChannelSettings::Discord { .. } => ChannelKind::Discord,
            ChannelSettings::Teams { .. } => ChannelKind::Teams,
            ChannelSettings::Telegram { .. } => ChannelKind::Telegram,
            ChannelSettings::Ntfy { .. } => ChannelKind::Ntfy,
            ChannelSettings::PagerDuty { .. } => ChannelKind::PagerDuty,
        }
    }

    /// The settings as stored, secrets included.
    pub fn to_json(&self) -> Value {
        self.render(false)
    }

    /// The settings as shown: secrets replaced by the mask, and addresses that may carry one
    /// (a webhook's path and query) cut to their scheme and host.
    pub fn to_masked_json(&self) -> Value {
        self.render(true)
    }

    fn render(&self, masked: bool) -> Value {
        let secret = |s: &Secret| Value::from(if masked { MASK } else { s.expose() });
        let optional = |s: &Option<Secret>| s.as_ref().map_or(Value::Null, secret);
        let address = |url: &str| {
            Value::from(if masked {
                shown_url(url)
            } else {
                url.to_owned()
            })
        };
        match self {
            ChannelSettings::Email { addresses } => {
                json!({"addresses": addresses.iter().map(Email::as_str).collect::<Vec<_>>()})
            }
            ChannelSettings::Webhook {
                url,
                headers,
                secret: key,
            } => {
                // Header values often carry credentials: they are secrets too.
                let headers: Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| {
                        let value = Secret::new(String::from_utf8_lossy(v.as_bytes()));
                        (k.as_str().to_owned(), secret(&value))
                    })
                    .collect();
                json!({"url": address(url.as_str()), "headers": headers, "secret": optional(key)})
            }
            ChannelSettings::Slack { webhook_url }
            | ChannelSettings::Discord { webhook_url }
            | ChannelSettings::Teams { webhook_url } => {
                json!({"webhook_url": address(webhook_url.expose())})
            }
            ChannelSettings::Telegram { bot_token, chat_id } => {
                json!({"bot_token": secret(bot_token), "chat_id": chat_id})
            }
            ChannelSettings::Ntfy {
                server,
                topic,
                token,
            } => {
                json!({"server": address(server.as_str()), "topic": topic, "token": optional(token)})
            }
            ChannelSettings::PagerDuty { routing_key } => {
                json!({"routing_key": secret(routing_key)})
            }
        }
    }

    /// Every secret value, to keep out of anything shown: a destination's error message may
    /// repeat what it was sent.
    pub fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut url = |u: &str| {
            out.push(u.to_owned());
            if let Ok(parsed) = url::Url::parse(u) {
                out.push(parsed.path().to_owned());
                out.extend(
                    parsed
                        .path_segments()
                        .and_then(|mut s| s.next_back())
                        .map(str::to_owned),
                );
                out.extend(parsed.query().map(str::to_owned));
                out.extend(parsed.query_pairs().map(|(_, v)| v.into_owned()));
                out.extend(parsed.password().map(str::to_owned));
            }
        };
        match self {
            ChannelSettings::Email { .. } => {}
            ChannelSettings::Webhook {
                url: u,
                headers,
                secret,
            } => {
                url(u.as_str());
                out.extend(
                    headers
                        .iter()
                        .map(|(_, v)| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                );
                out.extend(secret.iter().map(|s| s.expose().to_owned()));
            }
            ChannelSettings::Slack { webhook_url }
            | ChannelSettings::Discord { webhook_url }
            | ChannelSettings::Teams { webhook_url } => url(webhook_url.expose()),
            ChannelSettings::Telegram { bot_token, .. } => out.push(bot_token.expose().to_owned()),
            ChannelSettings::Ntfy { server, token, .. } => {
                url(server.as_str());
                out.extend(token.iter().map(|s| s.expose().to_owned()));
            }
            ChannelSettings::PagerDuty { routing_key } => out.push(routing_key.expose().to_owned()),
        }
        // Short fragments ("/", "") would blank out innocent text.
        out.retain(|s| s.len() >= 4);
        // The longest first, so that a whole URL goes before the parts of it.
        out.sort_by_key(|s| std::cmp::Reverse(s.len()));
        out
    }

    /// Where the kind's secrets are sent. Stored secrets are kept on an update only while it
    /// stays the same: pointing a channel elsewhere takes its secrets anew.
    fn destination_fields(kind: ChannelKind) -> &'static [&'static str] {
        match kind {
            ChannelKind::Webhook => &["url"],
            ChannelKind::Ntfy => &["server"],
            _ => &[],
        }
    }

    /// Settings as the store keeps them: the kind's name and the settings' JSON.
    pub fn from_stored(kind: &str, json: &str) -> Result<Self, FieldError> {
        let kind = ChannelKind::parse(kind)
            .ok_or_else(|| FieldError::new("kind", format!("unknown channel kind {kind:?}")))?;
        let value: Value = serde_json::from_str(json)
            .map_err(|e| FieldError::new("settings", format!("is not JSON: {e}")))?;
        let obj = value
            .as_object()
            .ok_or_else(|| FieldError::new("settings", "is not an object"))?;
        Self::parse(kind, obj)
    }

    fn parse(kind: ChannelKind, obj: &Map<String, Value>) -> Result<Self, FieldError> {
        let f = Fields(obj);
        let field = |name: &str| format!("settings.{name}");
        let text = |name: &str| -> Result<Option<&str>, FieldError> {
            f.str(name)
                .map_err(|e| FieldError::new(field(name), e.message))
        };
        let required = |name: &str| -> Result<&str, FieldError> {
            text(name)?
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| FieldError::new(field(name), "is required"))
        };
        let url = |name: &str, raw: &str| HttpUrl::parse(&field(name), raw);
        let secret_url = |name: &str| -> Result<Secret, FieldError> {
            let raw = required(name)?;
            url(name, raw)?;
            Ok(Secret::new(raw.trim()))
        };
        let optional_secret = |name: &str| -> Result<Option<Secret>, FieldError> {
            Ok(text(name)?.filter(|s| !s.is_empty()).map(Secret::new))
        };
        let allowed: &[&str] = match kind {
            ChannelKind::Email => &["addresses"],
            ChannelKind::Webhook => &["url", "headers", "secret"],
            ChannelKind::Slack | ChannelKind::Discord | ChannelKind::Teams => &["webhook_url"],
            ChannelKind::Telegram => &["bot_token", "chat_id"],
            ChannelKind::Ntfy => &["server", "topic", "token"],
            ChannelKind::PagerDuty => &["routing_key"],
        };
        if let Some(k) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(FieldError::new(
                field(k),
                format!("is not a setting of {} channels", kind.as_str()),
            ));
        }

        Ok(match kind {
            ChannelKind::Email => {
                let items = f
                    .array("addresses")
                    .map_err(|e| FieldError::new(field("addresses"), e.message))?
                    .filter(|a| !a.is_empty())
                    .ok_or_else(|| {
                        FieldError::new(field("addresses"), "must list at least one address")
                    })?;
                if items.len() > MAX_ADDRESSES {
                    return Err(FieldError::new(
                        field("addresses"),
                        "must list at most 20 addresses",
                    ));
                }
                let addresses = items
                    .iter()
                    .enumerate()
                    .map(|(i, a)| {
                        let at = format!("settings.addresses[{i}]");
                        Email::parse(&at, a.as_str().unwrap_or_default())
                    })
                    .collect::<Result<_, _>>()?;
                ChannelSettings::Email { addresses }
            }
            ChannelKind::Webhook => {
                let headers = match f
                    .object("headers")
                    .map_err(|e| FieldError::new(field("headers"), e.message))?
                {
                    None => Headers::default(),
                    Some(h) => {
                        let mut pairs = Vec::with_capacity(h.len());
                        for (k, v) in h {
                            let v = v.as_str().ok_or_else(|| {
                                FieldError::new(format!("settings.headers.{k}"), "must be a string")
                            })?;
                            pairs.push((k.as_str(), v));
                        }
                        Headers::parse("settings.headers", pairs)?
                    }
                };
                ChannelSettings::Webhook {
                    url: url("url", required("url")?)?,
                    headers,
                    secret: optional_secret("secret")?,
                }
            }
            ChannelKind::Slack => ChannelSettings::Slack {
                webhook_url: secret_url("webhook_url")?,
            },
            ChannelKind::Discord => ChannelSettings::Discord {
                webhook_url: secret_url("webhook_url")?,
            },
            ChannelKind::Teams => ChannelSettings::Teams {
                webhook_url: secret_url("webhook_url")?,
            },
            ChannelKind::Telegram => {
                let token = required("bot_token")?.trim();
                let well_formed = token.split_once(':').is_some_and(|(bot, key)| {
                    !bot.is_empty()
                        && bot.bytes().all(|b| b.is_ascii_digit())
                        && !key.is_empty()
                        && key
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                });
                if !well_formed {
                    return Err(FieldError::new(
                        field("bot_token"),
                        "must look like 123456:ABC-DEF…",
                    ));
                }
                // A chat id is a number, or @name for a public channel.
                let chat_id = match f.get("chat_id") {
                    Some(Value::Number(n)) if n.is_i64() => n.to_string(),
                    Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 100 => {
                        s.trim().to_owned()
                    }
                    _ => {
                        return Err(FieldError::new(
                            field("chat_id"),
                            "is required: a chat id (a number) or @channelname",
                        ));
                    }
                };
                ChannelSettings::Telegram {
                    bot_token: Secret::new(token),
                    chat_id,
                }
            }
            ChannelKind::Ntfy => {
                let topic = required("topic")?.trim();
                if topic.len() > 64
                    || !topic
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    return Err(FieldError::new(
                        field("topic"),
                        "must be up to 64 letters, digits, - and _",
                    ));
                }
                // ntfy takes JSON publishes at its root: the server is where that root is,
                // with a path for a server behind a proxy, and always ends with a slash.
                let mut server = url("server", text("server")?.unwrap_or(DEFAULT_NTFY_SERVER))?;
                if server.url().query().is_some() {
                    return Err(FieldError::new(
                        field("server"),
                        "must be the server's address alone, without a query",
                    ));
                }
                let path = server.url().path().trim_end_matches('/');
                if path.rsplit('/').next() == Some(topic) {
                    return Err(FieldError::new(
                        field("server"),
                        "ends with the topic: give the server's address here and the topic in settings.topic",
                    ));
                }
                if !server.as_str().ends_with('/') {
                    server = url("server", &format!("{}/", server.as_str()))?;
                }
                ChannelSettings::Ntfy {
                    server,
                    topic: topic.to_owned(),
                    token: optional_secret("token")?,
                }
            }
            ChannelKind::PagerDuty => {
                let key = required("routing_key")?.trim();
                if key.len() > 64 || !key.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return Err(FieldError::new(
                        field("routing_key"),
                        "must be the integration key of a PagerDuty Events API v2 integration",
                    ));
                }
                ChannelSettings::PagerDuty {
                    routing_key: Secret::new(key),
                }
            }
        })
    }
}

impl ChannelSpec {
    /// The channel every account starts with: email to its own address, on every new monitor.
    pub fn account_email(email: &Email) -> Self {
        ChannelSpec {
            name: Name::parse("name", "Email me").expect("a valid name"),
            settings: ChannelSettings::Email {
                addresses: vec![email.clone()],
            },
            is_default: true,
        }
    }

    /// Parses a full channel. With `current` (an update), masked secrets keep the stored values.
    pub fn parse(
        obj: &Map<String, Value>,
        current: Option<&ChannelSpec>,
    ) -> Result<Self, FieldError> {
        let f = Fields(obj);
        f.reject_unknown(
            &[&TOP_FIELDS[..], &READ_ONLY_FIELDS[..]],
            "is not a channel setting",
        )?;
        let kind_text = f
            .str("kind")?
            .ok_or_else(|| FieldError::new("kind", "is required"))?;
        let kind = ChannelKind::parse(kind_text).ok_or_else(|| {
            let kinds: Vec<&str> = ChannelKind::ALL.iter().map(|k| k.as_str()).collect();
            FieldError::new("kind", format!("must be one of {}", kinds.join(", ")))
        })?;
        let mut settings = f.object("settings")?.cloned().unwrap_or_default();
        let mut repointed = false;
        if let Some(current) = current.filter(|c| c.settings.kind() == kind)
            && let (Value::Object(stored), Value::Object(shown)) = (
                current.settings.to_json(),
                current.settings.to_masked_json(),
            )
        {
            let destinations = ChannelSettings::destination_fields(kind);
            restore(&mut settings, &stored, &shown, &|k| {
                destinations.contains(&k)
            });
            // A destination left out is its default (the public ntfy server), not the stored one.
            let same_destination = destinations.iter().all(|d| {
                let given = settings
                    .get(*d)
                    .filter(|v| !v.is_null())
                    .cloned()
                    .or_else(|| {
                        (kind == ChannelKind::Ntfy && *d == "server")
                            .then(|| Value::from(DEFAULT_NTFY_SERVER))
                    });
                let kept = stored.get(*d).filter(|v| !v.is_null());
                match (given, kept) {
                    (Some(given), Some(kept)) => same_address(&given, kept),
                    _ => false,
                }
            });
            if same_destination {
                restore(&mut settings, &stored, &shown, &|_| true);
            } else {
                repointed = true;
            }
        }
        if let Some(key) = find_mask(&settings) {
            return Err(FieldError::new(
                format!("settings.{key}"),
                if repointed {
                    "is masked, and the channel now points elsewhere: send the secret itself, as it is only kept for the same destination"
                } else {
                    "is masked: send the secret itself"
                },
            ));
        }
        let settings = ChannelSettings::parse(kind, &settings)?;
        let name = match f.str("name")? {
            Some(n) => Name::parse("name", n)?,
            None => Name::parse("name", kind.title())?,
        };
        Ok(ChannelSpec {
            name,
            settings,
            is_default: f.bool("default")?.unwrap_or(false),
        })
    }

    /// A partial update: the fields given replace the stored ones (settings field by field),
    /// and the result is validated whole.
    pub fn patch(current: &ChannelSpec, patch: &Map<String, Value>) -> Result<Self, FieldError> {
        // Merged as shown, so the stored secrets come back only as [`Self::parse`] allows.
        let mut merged = current.to_json(true);
        let kind_changes = patch.contains_key("kind") && patch.get("kind") != merged.get("kind");
        if kind_changes {
            // Another kind has other settings: they start afresh.
            merged.insert("settings".into(), Value::Object(Map::new()));
        }
        for (key, value) in patch {
            match (value, merged.get_mut(key)) {
                (Value::Object(p), Some(Value::Object(s))) if key == "settings" => {
                    for (k, v) in p {
                        s.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
        Self::parse(&merged, Some(current))
    }

    /// The channel as JSON: as stored (with secrets) or as shown (`masked`).
    pub fn to_json(&self, masked: bool) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), self.name.as_str().into());
        m.insert("kind".into(), self.settings.kind().as_str().into());
        m.insert(
            "settings".into(),
            if masked {
                self.settings.to_masked_json()
            } else {
                self.settings.to_json()
            },
        );
        m.insert("default".into(), self.is_default.into());
        m
    }
}

/// Whether two URLs, as given, point to the same place: written alike once parsed, up to a
/// final slash.
fn same_address(a: &Value, b: &Value) -> bool {
    let normal = |v: &Value| {
        v.as_str()
            .and_then(|s| url::Url::parse(s.trim()).ok())
            .map(|u| u.as_str().trim_end_matches('/').to_owned())
    };
    match (normal(a), normal(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// A URL as shown: its scheme and host, and a mask for anything after them that could hold a
/// token (path, query, credentials).
fn shown_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(url) => {
            let bare = url.path() == "/" && url.query().is_none() && url.username().is_empty();
            let origin = url.origin().ascii_serialization();
            if bare {
                format!("{origin}/")
            } else {
                format!("{origin}/{MASK}")
            }
        }
        Err(_) => MASK.to_owned(),
    }
}

/// Puts the stored value back wherever the client sent it as shown (masked), for the fields
/// `which` admits. Header names are compared case-insensitively: they are stored lower-case.
fn restore(
    settings: &mut Map<String, Value>,
    stored: &Map<String, Value>,
    shown: &Map<String, Value>,
    which: &dyn Fn(&str) -> bool,
) {
    for (key, value) in settings.iter_mut() {
        let lookup = |m: &Map<String, Value>| {
            m.get(key)
                .or_else(|| m.get(&key.to_ascii_lowercase()))
                .cloned()
        };
        match (lookup(stored), lookup(shown), &mut *value) {
            (Some(Value::Object(original)), Some(Value::Object(masked)), Value::Object(inner))
                if which(key) =>
            {
                restore(inner, &original, &masked, &|_| true)
            }
            (Some(original), Some(masked), given)
                if which(key) && *given == masked && masked != original =>
            {
                *value = original
            }
            _ => {}
        }
    }
}

/// The path of a masked value left in settings: a secret the client did not send.
fn find_mask(settings: &Map<String, Value>) -> Option<String> {
    settings.iter().find_map(|(k, v)| match v {
        Value::String(s) if s.ends_with(MASK) => Some(k.clone()),
        Value::Object(inner) => find_mask(inner).map(|inner_key| format!("{k}.{inner_key}")),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(v: Value) -> Result<ChannelSpec, FieldError> {
        ChannelSpec::parse(v.as_object().unwrap(), None)
    }

    #[test]
    fn every_kind_parses_and_round_trips_through_its_stored_form() {
        for v in [
            json!({"kind": "email", "settings": {"addresses": ["Ops@Example.com", "b@example.com"]}}),
            json!({"kind": "webhook", "settings": {"url": "https://hooks.example.com/x", "headers": {"X-Key": "k"}, "secret": "s3cret"}}),
            json!({"kind": "slack", "settings": {"webhook_url": "https://hooks.slack.com/services/T/B/X"}}),
            json!({"kind": "discord", "settings": {"webhook_url": "https://discord.com/api/webhooks/1/t"}}),
            json!({"kind": "teams", "settings": {"webhook_url": "https://example.logic.azure.com/workflows/1?sig=x"}}),
            json!({"kind": "telegram", "settings": {"bot_token": "123:ABC-def_1", "chat_id": -100123}}),
            json!({"kind": "ntfy", "settings": {"topic": "my-alerts", "token": "tk_abc"}}),
            json!({"kind": "pagerduty", "settings": {"routing_key": "e93facc04764012d7bfb002500d5d1a6"}}),
        ] {
            let spec = parse(v.clone()).unwrap_or_else(|e| panic!("{v}: {e}"));
            let again = ChannelSpec::parse(&spec.to_json(false), None).unwrap();
            assert_eq!(spec, again, "{v}");
        }
    }

    #[test]
    fn secrets_are_masked_in_the_shown_form_and_never_in_debug_output() {
        let spec = parse(
            json!({"kind": "telegram", "settings": {"bot_token": "123:SECRET", "chat_id": "@ops"}}),
        )
        .unwrap();
        let shown = Value::Object(spec.to_json(true)).to_string();
        assert!(!shown.contains("SECRET") && shown.contains(MASK), "{shown}");
        assert!(!format!("{spec:?}").contains("SECRET"));
        let webhook = parse(json!({"kind": "webhook", "settings": {"url": "https://a.example", "headers": {"Authorization": "Bearer T0K"}, "secret": "K3Y"}})).unwrap();
        let shown = Value::Object(webhook.to_json(true)).to_string();
        assert!(!shown.contains("T0K") && !shown.contains("K3Y"), "{shown}");
    }

    #[test]
    fn a_mask_sent_back_keeps_the_secret_and_a_new_value_replaces_it() {
        let current = parse(json!({"kind": "slack", "name": "Ops", "settings": {"webhook_url": "https://hooks.slack.com/services/T/B/OLD"}})).unwrap();
        let shown = current.to_json(true);
        let same = ChannelSpec::parse(&shown, Some(&current)).unwrap();
        assert_eq!(same, current);
        let renamed =
            ChannelSpec::patch(&current, json!({"name": "On call"}).as_object().unwrap()).unwrap();
        assert_eq!(renamed.settings, current.settings);
        assert_eq!(renamed.name.as_str(), "On call");
        let replaced = ChannelSpec::patch(
            &current,
            json!({"settings": {"webhook_url": "https://hooks.slack.com/services/T/B/NEW"}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert!(replaced.settings.to_json().to_string().contains("NEW"));
        let hook = parse(json!({"kind": "webhook", "settings": {"url": "https://a.example", "headers": {"X-Key": "K3Y"}}})).unwrap();
        let back = ChannelSpec::parse(
            json!({"kind": "webhook", "settings": {"url": "https://a.example", "headers": {"X-Key": MASK}}}).as_object().unwrap(),
            Some(&hook),
        )
        .unwrap();
        assert_eq!(back, hook);
        // Without a stored secret to stand for, the mask is refused.
        let err = ChannelSpec::parse(&shown, None).unwrap_err();
        assert_eq!(err.field, "settings.webhook_url");
    }

    #[test]
    fn a_channel_pointed_elsewhere_takes_its_secrets_anew() {
        let hook = parse(json!({"kind": "webhook", "settings": {
            "url": "https://hooks.example.com/in?token=URLSECRET",
            "headers": {"Authorization": "Bearer T0K"}, "secret": "K3Y"}}))
        .unwrap();
        let shown = Value::Object(hook.to_json(true)).to_string();
        assert!(
            !shown.contains("URLSECRET") && !shown.contains("/in"),
            "{shown}"
        );
        let patch = |v: Value| ChannelSpec::patch(&hook, v.as_object().unwrap());
        // Renamed, or sent back as shown: everything is kept.
        assert_eq!(
            patch(json!({"name": "Ops"})).unwrap().settings,
            hook.settings
        );
        // Pointed elsewhere: the stored header and signing key do not follow.
        let err = patch(json!({"settings": {"url": "https://attacker.example/"}})).unwrap_err();
        assert!(err.field.starts_with("settings."), "{err:?}");
        assert!(err.message.contains("points elsewhere"), "{err:?}");
        let moved = patch(json!({"settings": {"url": "https://new.example/",
            "headers": {"Authorization": "Bearer NEW"}, "secret": "N3W"}}))
        .unwrap();
        assert!(moved.settings.to_json().to_string().contains("N3W"));
        // The same for an ntfy server and its token.
        let ntfy = parse(json!({"kind": "ntfy", "settings": {"server": "https://ntfy.example/", "topic": "t", "token": "tk_S"}})).unwrap();
        let err = ChannelSpec::patch(
            &ntfy,
            json!({"settings": {"server": "https://attacker.example"}})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(err.field, "settings.token");
        // Sent whole without its server, it goes to the public one: the token stays behind.
        let err = ChannelSpec::parse(
            json!({"kind": "ntfy", "settings": {"topic": "t", "token": MASK}})
                .as_object()
                .unwrap(),
            Some(&ntfy),
        )
        .unwrap_err();
        assert_eq!(err.field, "settings.token");
        let public =
            parse(json!({"kind": "ntfy", "settings": {"topic": "t", "token": "tk_P"}})).unwrap();
        let kept = ChannelSpec::parse(
            json!({"kind": "ntfy", "settings": {"topic": "t", "token": MASK}})
                .as_object()
                .unwrap(),
            Some(&public),
        )
        .unwrap();
        assert_eq!(kept, public);
    }

    #[test]
    fn an_ntfy_server_is_its_root_and_never_ends_with_the_topic() {
        let server = |v: Value| match parse(v).unwrap().settings {
            ChannelSettings::Ntfy { server, .. } => server.as_str().to_owned(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            server(
                json!({"kind": "ntfy", "settings": {"server": "https://example.com/ntfy", "topic": "t"}})
            ),
            "https://example.com/ntfy/"
        );
        assert_eq!(
            server(json!({"kind": "ntfy", "settings": {"topic": "t"}})),
            "https://ntfy.sh/"
        );
        let err = parse(json!({"kind": "ntfy", "settings": {"server": "https://ntfy.sh/alerts", "topic": "alerts"}})).unwrap_err();
        assert_eq!(err.field, "settings.server");
    }

    #[test]
    fn bad_settings_name_the_field() {
        for (v, field) in [
            (json!({"settings": {}}), "kind"),
            (json!({"kind": "pigeon"}), "kind"),
            (
                json!({"kind": "email", "settings": {"addresses": []}}),
                "settings.addresses",
            ),
            (
                json!({"kind": "email", "settings": {"addresses": ["nope"]}}),
                "settings.addresses[0]",
            ),
            (
                json!({"kind": "webhook", "settings": {"url": "ftp://x"}}),
                "settings.url",
            ),
            (
                json!({"kind": "slack", "settings": {}}),
                "settings.webhook_url",
            ),
            (
                json!({"kind": "slack", "settings": {"webhook_url": "https://a", "channel": "#x"}}),
                "settings.channel",
            ),
            (
                json!({"kind": "telegram", "settings": {"bot_token": "nope", "chat_id": 1}}),
                "settings.bot_token",
            ),
            (
                json!({"kind": "telegram", "settings": {"bot_token": "1:a"}}),
                "settings.chat_id",
            ),
            (
                json!({"kind": "ntfy", "settings": {"topic": "a b"}}),
                "settings.topic",
            ),
            (
                json!({"kind": "pagerduty", "settings": {"routing_key": "with spaces"}}),
                "settings.routing_key",
            ),
            (
                json!({"kind": "email", "settings": {"addresses": ["a@b.c"]}, "colour": 1}),
                "colour",
            ),
        ] {
            assert_eq!(parse(v.clone()).unwrap_err().field, field, "{v}");
        }
    }
}
