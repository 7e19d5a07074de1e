//! The JSON shapes of the API's resources. Field names here are a contract other tools rely on:
//! add fields freely, never rename them.

use crate::monitor::Schedule;
use crate::probe::{CheckError, Outcome, Phases};
use crate::store::{Channel, Delivery, Event, Incident};
use crate::store::{Monitor, Ping};
use crate::timestamp::Timestamp;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// A monitor: its settings in canonical form, then what upbeat knows about it. `public_url`:
/// where upbeat is reached, for a heartbeat's `ping_url`.
pub fn monitor_json(m: &Monitor, public_url: &str) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), m.id.0.into());
    out.extend(m.spec.to_json());
    let computed = json!({
        "interval_seconds": m.spec.interval.as_secs(),
        // A heartbeat makes no check to time out.
        "timeout_ms": m.spec.kind().is_probed()
            .then(|| u64::try_from(m.spec.timeout().as_millis()).unwrap_or(u64::MAX)),
        "status": m.shown_status(),
        "status_since": m.status_since,
        "paused": m.paused,
        "created_at": m.created_at,
        "updated_at": m.updated_at,
        "last_check": m.last_check.clone().map(CheckView::from),
        "cert_expires_at": m.cert_expires_at,
        "channels": m.channels,
    });
    if let Value::Object(computed) = computed {
        out.extend(computed);
    }
    if let Some(expectation) = m.spec.expectation() {
        if matches!(expectation.schedule, Schedule::Cron { .. }) {
            // No period applies: sent back, it must not contradict `cron`.
            out.insert("interval_seconds".into(), Value::Null);
        }
        if let Some(url) = ping_url(m, public_url) {
            out.insert("ping_url".into(), url.into());
        }
    }
    Value::Object(out)
}

/// Where a heartbeat's job pings: `{public_url}/ping/{token}`.
pub fn ping_url(m: &Monitor, public_url: &str) -> Option<String> {
    let token = m.ping_token.as_ref()?;
    Some(format!(
        "{}/ping/{}",
        public_url.trim_end_matches('/'),
        token.expose()
    ))
}

#[derive(Serialize)]
pub struct PingView {
    pub at: Timestamp,
    pub kind: &'static str,
    pub exit_code: Option<u8>,
    pub body: String,
    pub source: Option<String>,
    pub user_agent: Option<String>,
}

impl From<Ping> for PingView {
    fn from(p: Ping) -> Self {
        PingView {
            at: p.at,
            kind: p.kind.as_str(),
            exit_code: p.exit_code,
            body: p.body,
            source: p.source,
            user_agent: p.user_agent,
        }
    }
}

#[derive(Serialize)]
pub struct CheckView {
    pub at: Timestamp,
    pub ok: bool,
    pub status_code: Option<u16>,
    pub latency_ms: u32,
    pub error: Option<CheckError>,
    pub phases: Phases,
}

impl From<Outcome> for CheckView {
    fn from(o: Outcome) -> Self {
        CheckView {
            at: o.at,
            ok: o.ok(),
            status_code: o.status_code,
            latency_ms: o.latency_ms,
            error: o.error,
            phases: o.phases,
        }
    }
}

#[derive(Serialize)]
pub struct IncidentView {
    pub id: i64,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// How long it lasted, or has lasted so far when still open.
    pub duration_seconds: u64,
    pub ongoing: bool,
    pub cause: Option<CheckError>,
}

impl IncidentView {
    pub fn new(i: Incident, now: Timestamp) -> Self {
        IncidentView {
            id: i.id,
            started_at: i.started_at,
            ended_at: i.ended_at,
            duration_seconds: i.ended_at.unwrap_or(now).since(i.started_at).as_secs(),
            ongoing: i.ended_at.is_none(),
            cause: i.cause,
        }
    }
}

#[derive(Serialize)]
pub struct EventView {
    pub id: i64,
    pub at: Timestamp,
    pub from: String,
    pub to: String,
    pub cause: Option<CheckError>,
    pub incident_id: Option<i64>,
}

impl From<Event> for EventView {
    fn from(e: Event) -> Self {
        EventView {
            id: e.id,
            at: e.at,
            from: e.from,
            to: e.to,
            cause: e.cause,
            incident_id: e.incident,
        }
    }
}

/// A channel, secrets masked, with `warning` when it cannot deliver here (see
/// `actions::channels::warning`).
pub fn channel_json(c: &Channel, warning: Option<&str>) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), c.id.0.into());
    out.extend(c.spec.to_json(true));
    out.insert("monitor_count".into(), c.monitor_count.into());
    out.insert("created_at".into(), json!(c.created_at));
    out.insert("updated_at".into(), json!(c.updated_at));
    if let Some(warning) = warning {
        out.insert("warning".into(), warning.into());
    }
    Value::Object(out)
}

pub fn delivery_json(d: &Delivery) -> Value {
    json!({
        "id": d.id,
        "monitor_id": d.monitor,
        "channel_id": d.channel,
        "channel_name": d.channel_name,
        "channel_kind": d.channel_kind,
        "kind": d.kind.as_str(),
        "state": d.state.as_str(),
        "attempts": d.attempts,
        "created_at": d.created_at,
        "next_attempt_at": d.next_attempt_at,
        "sent_at": d.sent_at,
        "last_error": d.last_error,
    })
}
