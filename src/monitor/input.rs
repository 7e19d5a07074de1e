//! Monitor settings as JSON: parsing a request into a [`MonitorSpec`], the canonical JSON form
//! that the API shows and the store keeps, and partial updates as JSON merge patches.

use super::{
    Assertions, ChannelId, Interval, Kind, MonitorSpec, Name, RemindEvery, Target, Threshold,
    Timeout,
};
use crate::fields::{FieldError, Fields};
use serde_json::{Map, Value};

/// A spec parsed from a request, with the pause flag when the request set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorInput {
    pub spec: MonitorSpec,
    pub paused: Option<bool>,
    /// The channels to alert, when the request names them.
    pub channels: Option<Vec<ChannelId>>,
}

const DEFAULT_FAILURE_THRESHOLD: u32 = 2;
const DEFAULT_SUCCESS_THRESHOLD: u32 = 1;

/// What a client may set on a monitor of any kind; each kind adds its own
/// ([`Kind::own_settings`]).
const SETTINGS: [&str; 13] = [
    "name",
    "kind",
    "url",
    "interval",
    "interval_seconds",
    "timeout",
    "assertions",
    "inverted",
    "failure_threshold",
    "success_threshold",
    "remind_every",
    "channels",
    "paused",
];

/// Fields a client may send back unchanged from a response; they are not settings and are ignored.
const READ_ONLY_FIELDS: [&str; 10] = [
    "id",
    "user_id",
    "status",
    "status_since",
    "created_at",
    "updated_at",
    "last_check",
    "timeout_ms",
    "cert_expires_at",
    "ping_url",
];

/// Settings of a check upbeat makes, which a heartbeat (pinged, never checked) does not take.
const PROBE_SETTINGS: [&str; 4] = ["url", "timeout", "assertions", "inverted"];

/// Pairs of fields that say the same thing in two ways; a patch of one replaces both.
const ALIASES: [(&str, &str); 1] = [("interval", "interval_seconds")];

impl MonitorSpec {
    /// The canonical JSON form of the settings. Parsing it gives back an equal spec.
    pub fn to_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("name".into(), self.name.as_str().into());
        m.insert("kind".into(), self.kind().as_str().into());
        self.target.write_json(&mut m);
        // A heartbeat on a cron schedule has no period: writing the default would contradict it.
        let interval = match &self.target {
            Target::Heartbeat(h) if h.cron.is_some() => Value::Null,
            _ => self.interval.to_string().into(),
        };
        m.insert("interval".into(), interval);
        m.insert(
            "timeout".into(),
            self.explicit_timeout
                .map_or(Value::Null, |t| t.to_string().into()),
        );
        m.insert("assertions".into(), self.assertions.to_json());
        m.insert("inverted".into(), self.inverted.into());
        m.insert(
            "failure_threshold".into(),
            self.failure_threshold.get().into(),
        );
        m.insert(
            "success_threshold".into(),
            self.success_threshold.get().into(),
        );
        m.insert(
            "remind_every".into(),
            self.remind_every
                .map_or(Value::Null, |r| r.to_string().into()),
        );
        m
    }
}

impl MonitorInput {
    /// Parses a full set of settings; what is missing takes its default. Only `url` is required.
    pub fn parse(obj: &Map<String, Value>) -> Result<Self, FieldError> {
        let f = Fields(obj);
        let kind = match f.str("kind")? {
            Some(k) => Kind::parse("kind", k)?,
            None => Kind::Http,
        };
        reject_foreign(obj, kind)?;
        if kind == Kind::Heartbeat {
            heartbeat_rules(&f)?;
        }
        let target = Target::parse(kind, &f)?;
        let name = match f.str("name")? {
            Some(n) => Name::parse("name", n)?,
            None => Name::parse("name", &target.host())?,
        };
        let interval = interval(&f)?;
        let timeout = f
            .get("timeout")
            .map(|v| Timeout::parse("timeout", v))
            .transpose()?;
        if let Some(t) = timeout
            && t.duration() > interval.duration()
        {
            return Err(FieldError::new(
                "timeout",
                format!("must not be longer than the interval ({interval})"),
            ));
        }
        let threshold = |field: &str, default: u32| -> Result<Threshold, FieldError> {
            Threshold::parse(field, f.u64(field)?.unwrap_or(u64::from(default)))
        };
        let remind_every = f
            .get("remind_every")
            .map(|v| RemindEvery::parse("remind_every", v))
            .transpose()?;
        if let Some(r) = remind_every
            && r.duration() < interval.duration()
        {
            return Err(FieldError::new(
                "remind_every",
                format!("must not be shorter than the interval ({interval})"),
            ));
        }
        let assertions = match f.array("assertions")? {
            None => Assertions::default(),
            Some(items) => Assertions::parse("assertions", items)?,
        };
        target.check_assertions(&assertions)?;
        Ok(MonitorInput {
            channels: channels(&f)?,
            spec: MonitorSpec {
                name,
                interval,
                explicit_timeout: timeout,
                failure_threshold: threshold("failure_threshold", default_failure_threshold(kind))?,
                success_threshold: threshold("success_threshold", DEFAULT_SUCCESS_THRESHOLD)?,
                remind_every,
                inverted: f.bool("inverted")?.unwrap_or(false),
                assertions,
                target,
            },
            paused: f.bool("paused")?,
        })
    }

    /// Applies a partial update (JSON merge patch: a `null` resets a field to its default) to an
    /// existing spec and parses the result as a whole, so a patch is validated like a full write.
    /// A patch that changes the kind leaves the old kind's own settings behind.
    pub fn patch(current: &MonitorSpec, patch: &Map<String, Value>) -> Result<Self, FieldError> {
        let mut merged = current.to_json();
        for (a, b) in ALIASES {
            if patch.contains_key(a) || patch.contains_key(b) {
                merged.remove(a);
                merged.remove(b);
            }
        }
        if let Some(Value::String(kind)) = patch.get("kind")
            && let Ok(next) = Kind::parse("kind", kind)
            && next != current.kind()
        {
            // A setting both kinds have (cert_alert_days of http and tls) stays.
            for own in current.kind().own_settings() {
                if !next.own_settings().contains(own) {
                    merged.remove(*own);
                }
            }
            if !next.is_probed() {
                for field in PROBE_SETTINGS {
                    merged.remove(field);
                }
            }
            // A threshold left at the old kind's default takes the new kind's.
            if current.failure_threshold.get() == default_failure_threshold(current.kind()) {
                merged.remove("failure_threshold");
            }
        }
        // A heartbeat given a cron schedule no longer expects runs once per interval.
        if patch.get("cron").is_some_and(|c| !c.is_null())
            && !patch.contains_key("interval")
            && !patch.contains_key("interval_seconds")
        {
            merged.remove("interval");
            merged.remove("interval_seconds");
        }
        let mut patch = patch.clone();
        // Header names are stored lower-case; `{"X-Key": null}` must still remove `x-key`.
        if let Some(Value::Object(headers)) = patch.get_mut("headers") {
            *headers = std::mem::take(headers)
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect();
        }
        merge_patch(&mut merged, &patch);
        Self::parse(&merged)
    }
}

/// Refuses fields that are no setting at all, or a setting of another kind.
fn reject_foreign(obj: &Map<String, Value>, kind: Kind) -> Result<(), FieldError> {
    for (field, value) in obj {
        let field = field.as_str();
        if SETTINGS.contains(&field)
            || READ_ONLY_FIELDS.contains(&field)
            || kind.own_settings().contains(&field)
        {
            continue;
        }
        let owners: Vec<&str> = Kind::ALL
            .into_iter()
            .filter(|k| k.own_settings().contains(&field))
            .map(Kind::as_str)
            .collect();
        match owners.as_slice() {
            [] => return Err(FieldError::new(field, "is not a monitor setting")),
            // Another kind's setting left empty, as a client's template may send it, is harmless.
            _ if value.is_null() => {}
            _ => {
                return Err(FieldError::new(
                    field,
                    format!(
                        "applies to {} monitors, not to {kind} monitors",
                        owners.join(" and ")
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// What a heartbeat refuses of the shared settings: it makes no check that could time out,
/// observe anything or be inverted, and a cron schedule replaces the period.
/// Failures in a row before a monitor of `kind` is down, unless set.
fn default_failure_threshold(kind: Kind) -> u32 {
    if kind.is_probed() {
        DEFAULT_FAILURE_THRESHOLD
    } else {
        // A missed run or a reported failure is already definite: no retry would tell otherwise.
        1
    }
}

fn heartbeat_rules(f: &Fields<'_>) -> Result<(), FieldError> {
    for field in PROBE_SETTINGS {
        let set = match f.get(field) {
            None | Some(Value::Bool(false)) => false,
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        if set {
            return Err(FieldError::new(
                field,
                "does not apply to heartbeat monitors: they make no check, their job pings ping_url",
            ));
        }
    }
    if f.get("cron").is_some() {
        for field in ["interval", "interval_seconds"] {
            if f.get(field).is_some() {
                return Err(FieldError::new(
                    field,
                    "cannot be set together with cron: a heartbeat expects runs either once per \
                     interval or at the times cron names",
                ));
            }
        }
    }
    Ok(())
}

fn interval(f: &Fields<'_>) -> Result<Interval, FieldError> {
    Ok(match (f.get("interval"), f.u64("interval_seconds")?) {
        (Some(v), None) => Interval::parse("interval", v)?,
        (None, Some(s)) => Interval::from_secs("interval_seconds", s)?,
        (None, None) => Interval::DEFAULT,
        (Some(v), Some(s)) => {
            let i = Interval::parse("interval", v)?;
            if i.as_secs() != s {
                return Err(FieldError::new(
                    "interval",
                    "disagrees with interval_seconds",
                ));
            }
            i
        }
    })
}

fn channels(f: &Fields<'_>) -> Result<Option<Vec<ChannelId>>, FieldError> {
    f.array("channels")?
        .map(|ids| {
            ids.iter()
                .enumerate()
                .map(|(i, id)| {
                    id.as_i64().map(ChannelId).ok_or_else(|| {
                        FieldError::new(format!("channels[{i}]"), "must be a channel id")
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
}

fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (k, v) in patch {
        match (v, target.get_mut(k)) {
            (Value::Null, _) => {
                target.remove(k);
            }
            (Value::Object(p), Some(Value::Object(t))) => merge_patch(t, p),
            _ => {
                target.insert(k.clone(), v.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::Method;
    use serde_json::json;
    use std::time::Duration;

    fn parse(v: Value) -> Result<MonitorInput, FieldError> {
        MonitorInput::parse(v.as_object().unwrap())
    }

    fn http(s: &MonitorSpec) -> &crate::monitor::HttpSettings {
        match &s.target {
            Target::Http(h) => h,
            other => panic!("not http: {other:?}"),
        }
    }

    #[test]
    fn only_the_url_is_required_and_defaults_fill_the_rest() {
        let s = parse(json!({"url": "https://example.com/health"}))
            .unwrap()
            .spec;
        assert_eq!(s.name.as_str(), "example.com");
        assert_eq!(s.interval.as_secs(), 60);
        assert_eq!(s.timeout(), Duration::from_secs(10));
        assert_eq!(http(&s).method, Method::Get);
        assert_eq!(http(&s).redirect_limit(), 10);
        let accepted = &http(&s).accepted_status;
        assert!(accepted.accepts(204) && !accepted.accepts(301));
        assert_eq!(
            (s.failure_threshold.get(), s.success_threshold.get()),
            (2, 1)
        );
        assert_eq!(
            parse(json!({"name": "x"})).unwrap_err(),
            FieldError::new("url", "is required")
        );
    }

    #[test]
    fn the_timeout_never_exceeds_the_interval() {
        let s = parse(json!({"url": "http://a", "interval": "5s"}))
            .unwrap()
            .spec;
        assert_eq!(s.timeout(), Duration::from_secs(5));
        let e = parse(json!({"url": "http://a", "interval": 5, "timeout": "6s"})).unwrap_err();
        assert_eq!(e.field, "timeout");
        let s = parse(json!({"url": "http://a", "interval": 5, "timeout": 1.5}))
            .unwrap()
            .spec;
        assert_eq!(s.timeout(), Duration::from_millis(1500));
    }

    #[test]
    fn canonical_json_parses_back_to_the_same_spec() {
        let input = json!({
            "name": "API", "url": "https://api.example.com/v1/health", "interval": "1h30m",
            "timeout": "2500ms", "method": "post", "headers": {"X-Key": "abc"},
            "body": "{}", "follow_redirects": false, "accepted_status": [200, "3xx"],
            "failure_threshold": 3, "success_threshold": 2
        });
        let spec = parse(input).unwrap().spec;
        let again = MonitorInput::parse(&spec.to_json()).unwrap().spec;
        assert_eq!(spec, again);
        assert_eq!(spec.to_json()["interval"], "1h30m");
        assert_eq!(spec.to_json()["timeout"], "2s500ms");
        assert_eq!(http(&spec).redirect_limit(), 0);
    }

    #[test]
    fn unknown_fields_are_named_and_read_only_ones_ignored() {
        let e = parse(json!({"url": "http://a", "intervall": 5})).unwrap_err();
        assert_eq!(e.field, "intervall");
        assert!(
            parse(json!({"url": "http://a", "id": 3, "status": "up", "last_check": null})).is_ok()
        );
    }

    #[test]
    fn wrong_types_name_the_field() {
        for (field, v) in [
            ("failure_threshold", json!("two")),
            ("follow_redirects", json!("yes")),
            ("headers", json!(["a"])),
            ("name", json!(7)),
            ("failure_threshold", json!(0)),
            ("success_threshold", json!(101)),
            ("max_redirects", json!(21)),
            ("kind", json!("smtp")),
        ] {
            let mut obj = json!({"url": "http://a"});
            obj[field] = v;
            assert_eq!(parse(obj).unwrap_err().field, field);
        }
    }

    #[test]
    fn interval_seconds_is_accepted_as_input_and_must_agree() {
        let s = parse(json!({"url": "http://a", "interval_seconds": 30}))
            .unwrap()
            .spec;
        assert_eq!(s.interval.as_secs(), 30);
        let e = parse(json!({"url": "http://a", "interval": "1m", "interval_seconds": 30}))
            .unwrap_err();
        assert_eq!(e.field, "interval");
    }

    #[test]
    fn a_patch_changes_only_what_it_names_and_is_validated_whole() {
        let spec =
            parse(json!({"url": "http://a", "interval": 30, "headers": {"x-a": "1", "x-b": "2"}}))
                .unwrap()
                .spec;
        let patched = MonitorInput::patch(
            &spec,
            json!({"interval_seconds": 10, "headers": {"x-a": null}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(patched.spec.interval.as_secs(), 10);
        assert_eq!(patched.spec.url(), spec.url());
        let names: Vec<_> = http(&patched.spec)
            .headers
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(names, ["x-b"]);

        let e =
            MonitorInput::patch(&spec, json!({"timeout": "1m"}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.field, "timeout");
        let reset =
            MonitorInput::patch(&spec, json!({"interval": null}).as_object().unwrap()).unwrap();
        assert_eq!(reset.spec.interval, Interval::DEFAULT);
    }

    #[test]
    fn tcp_and_tls_monitors_take_their_own_settings_and_refuse_others() {
        let s = parse(
            json!({"kind": "tcp", "url": "tcp://db.internal:5432", "send": "PING\r\n",
                             "expect": "^\\+PONG"}),
        )
        .unwrap()
        .spec;
        assert_eq!((s.kind(), s.name.as_str()), (Kind::Tcp, "db.internal"));
        assert_eq!(MonitorInput::parse(&s.to_json()).unwrap().spec, s);
        assert_eq!(s.to_json()["expect"], "^\\+PONG");
        let s = parse(json!({"kind": "tls", "url": "tls://mail.example.com:587",
                             "starttls": "smtp",
                             "assertions": [{"subject": "cert_days", "op": ">", "value": 7}]}))
        .unwrap()
        .spec;
        assert_eq!(MonitorInput::parse(&s.to_json()).unwrap().spec, s);
        for (v, field, says) in [
            (
                json!({"kind": "tcp", "url": "http://a"}),
                "url",
                "tcp://host:port",
            ),
            (
                json!({"kind": "tcp", "url": "tcp://a:1", "method": "GET"}),
                "method",
                "http monitors",
            ),
            (
                json!({"url": "http://a", "send": "x"}),
                "send",
                "tcp monitors",
            ),
            (
                json!({"kind": "tcp", "url": "tcp://a:1", "expect": "("}),
                "expect",
                "regular",
            ),
            (
                json!({"kind": "tls", "url": "tls://a", "starttls": "imap"}),
                "starttls",
                "smtp",
            ),
            (
                json!({"kind": "tcp", "url": "tcp://a:1",
                       "assertions": [{"subject": "status", "op": "==", "value": 200}]}),
                "assertions[0].subject",
                "does not apply to tcp",
            ),
            (
                json!({"url": "http://a", "assertions": [{"any": [
                    {"subject": "status", "op": "==", "value": 200},
                    {"subject": "cert_days", "op": ">", "value": 1}]}]}),
                "assertions[0].any[1].subject",
                "https",
            ),
        ] {
            let e = parse(v.clone()).unwrap_err();
            assert_eq!(e.field, field, "{v}: {e:?}");
            assert!(e.message.contains(says), "{v}: {e:?}");
        }
        // Another kind's setting sent back empty is harmless.
        assert!(parse(json!({"kind": "tcp", "url": "tcp://a:1", "method": null})).is_ok());
    }

    #[test]
    fn a_patch_to_another_kind_leaves_the_old_kinds_settings_behind() {
        let spec = parse(json!({"url": "http://a", "method": "POST", "body": "x"}))
            .unwrap()
            .spec;
        let tcp = json!({"kind": "tcp", "url": "tcp://a:25", "expect": "^220"});
        let patched = MonitorInput::patch(&spec, tcp.as_object().unwrap()).unwrap();
        assert_eq!(patched.spec.kind(), Kind::Tcp);
        assert!(!patched.spec.to_json().contains_key("method"));
        let e =
            MonitorInput::patch(&spec, json!({"kind": "tcp"}).as_object().unwrap()).unwrap_err();
        assert_eq!(e.field, "url");
    }

    #[test]
    fn certificate_alert_days_belong_to_http_and_tls_and_survive_a_move_between_them() {
        let s = parse(json!({"url": "https://a", "cert_alert_days": [7, 30]}))
            .unwrap()
            .spec;
        assert_eq!(s.to_json()["cert_alert_days"], json!([30, 7]));
        assert_eq!(MonitorInput::parse(&s.to_json()).unwrap().spec, s);
        let default = parse(json!({"kind": "tls", "url": "tls://a"}))
            .unwrap()
            .spec;
        assert_eq!(default.to_json()["cert_alert_days"], json!([30, 14, 7, 1]));
        let e =
            parse(json!({"kind": "tcp", "url": "tcp://a:1", "cert_alert_days": []})).unwrap_err();
        assert_eq!(e.field, "cert_alert_days");
        assert!(e.message.contains("http and tls monitors"), "{e:?}");
        let tls = json!({"kind": "tls", "url": "tls://a"});
        let moved = MonitorInput::patch(&s, tls.as_object().unwrap()).unwrap();
        assert_eq!(moved.spec.to_json()["cert_alert_days"], json!([30, 7]));
    }

    #[test]
    fn heartbeats_have_no_url_and_take_a_period_or_a_cron_schedule() {
        let s = parse(
            json!({"kind": "heartbeat", "name": "backup", "interval": "1h",
                             "grace": "5m"}),
        )
        .unwrap()
        .spec;
        assert_eq!((s.kind(), s.failure_threshold.get()), (Kind::Heartbeat, 1));
        assert_eq!(s.to_json()["url"], Value::Null);
        assert_eq!(s.to_json()["grace"], "5m");
        assert_eq!(MonitorInput::parse(&s.to_json()).unwrap().spec, s);
        let s = parse(json!({"kind": "heartbeat", "cron": "0 2 * * *",
                             "timezone": "Europe/Berlin"}))
        .unwrap()
        .spec;
        assert_eq!(s.to_json()["interval"], Value::Null);
        assert_eq!(s.to_json()["timezone"], "Europe/Berlin");
        assert_eq!(MonitorInput::parse(&s.to_json()).unwrap().spec, s);
        assert!(s.expectation().is_some());
        for (v, field) in [
            (json!({"kind": "heartbeat", "url": "http://a"}), "url"),
            (
                json!({"kind": "heartbeat", "cron": "0 2 * * *", "interval": 60}),
                "interval",
            ),
            (json!({"kind": "heartbeat", "cron": "0 2 * *"}), "cron"),
            (
                json!({"kind": "heartbeat", "cron": "@daily", "timezone": "Mars/Base"}),
                "timezone",
            ),
            (json!({"kind": "heartbeat", "timezone": "UTC"}), "timezone"),
            (json!({"kind": "heartbeat", "grace": "0s"}), "grace"),
            (json!({"kind": "heartbeat", "timeout": "5s"}), "timeout"),
            (json!({"kind": "heartbeat", "inverted": true}), "inverted"),
            (json!({"url": "http://a", "grace": "5m"}), "grace"),
        ] {
            assert_eq!(parse(v.clone()).unwrap_err().field, field, "{v}");
        }
    }

    #[test]
    fn a_patch_into_a_heartbeat_drops_the_checks_settings_and_takes_its_defaults() {
        let http = parse(json!({"url": "http://a", "timeout": "5s", "inverted": true,
                                "assertions": [{"subject": "status", "op": "==", "value": 200}]}))
        .unwrap()
        .spec;
        let beat = |p: Value| MonitorInput::patch(&http, p.as_object().unwrap()).map(|i| i.spec);
        let s = beat(json!({"kind": "heartbeat", "interval": "1h"})).unwrap();
        assert_eq!((s.kind(), s.failure_threshold.get()), (Kind::Heartbeat, 1));
        assert_eq!(s.to_json()["url"], Value::Null);
        assert_eq!((s.inverted, s.explicit_timeout), (false, None));
        // A threshold someone chose stays.
        let three = json!({"failure_threshold": 3});
        let http3 = MonitorInput::patch(&http, three.as_object().unwrap()).unwrap();
        let cron = json!({"kind": "heartbeat", "cron": "0 2 * * *"});
        let s = MonitorInput::patch(&http3.spec, cron.as_object().unwrap())
            .unwrap()
            .spec;
        assert_eq!(s.failure_threshold.get(), 3);
        // A period heartbeat given a cron schedule expects the cron's runs only.
        let period = beat(json!({"kind": "heartbeat", "interval": "1h"})).unwrap();
        let cron = json!({"cron": "0 2 * * *", "timezone": "Asia/Tokyo"});
        let s = MonitorInput::patch(&period, cron.as_object().unwrap())
            .unwrap()
            .spec;
        assert_eq!(s.to_json()["interval"], Value::Null);
        let back = json!({"kind": "http", "url": "http://b"});
        let s = MonitorInput::patch(&s, back.as_object().unwrap())
            .unwrap()
            .spec;
        assert_eq!((s.kind(), s.failure_threshold.get()), (Kind::Http, 2));
    }
}
