//! PagerDuty's Events API v2: a trigger when a monitor goes down and a resolve when it comes
//! back, under one dedup key per outage, so PagerDuty opens and closes one incident for it.

use super::message::{Alert, AlertKind, truncate};
use super::send::Outgoing;
use crate::secret::Secret;
use serde_json::{Map, Value, json};

/// The requests for one alert: a test both triggers and resolves, so it leaves nothing open.
pub fn requests(api: &str, routing_key: &Secret, alert: &Alert) -> Vec<Outgoing> {
    let url = format!("{api}/v2/enqueue");
    let key = dedup_key(alert);
    let resolve =
        json!({"routing_key": routing_key.expose(), "event_action": "resolve", "dedup_key": key});
    let bodies = match alert.kind {
        AlertKind::Down | AlertKind::Reminder => vec![trigger(routing_key, &key, alert)],
        // A pause ends the outage as far as upbeat can tell: PagerDuty's incident closes too.
        AlertKind::Up | AlertKind::Paused => vec![resolve],
        AlertKind::Test => vec![trigger(routing_key, &key, alert), resolve],
    };
    bodies
        .into_iter()
        .map(|b| Outgoing::json(&url, b.to_string().into_bytes()))
        .collect()
}

/// One key per outage; a test gets its own.
fn dedup_key(alert: &Alert) -> String {
    match alert.incident {
        Some(incident) => format!("upbeat-incident-{incident}"),
        None => format!("upbeat-test-{}", alert.delivery),
    }
}

fn trigger(routing_key: &Secret, key: &str, alert: &Alert) -> Value {
    let details: Map<String, Value> = alert
        .facts()
        .into_iter()
        .map(|(k, v)| (k.to_lowercase().replace(' ', "_"), Value::from(v)))
        .collect();
    let mut body = json!({
        "routing_key": routing_key.expose(),
        "event_action": "trigger",
        "dedup_key": key,
        "client": "upbeat",
        "payload": {
            "summary": truncate(&alert.headline(), 1024),
            "source": if alert.url.is_empty() { alert.monitor.clone() } else { alert.url.clone() },
            "severity": if alert.kind == AlertKind::Test { "info" } else { "critical" },
            "timestamp": alert.at,
            "custom_details": details,
        },
    });
    if let Some(link) = &alert.link {
        body["client_url"] = json!(link);
        body["links"] = json!([{"href": link, "text": "Open in upbeat"}]);
    }
    body
}
