//! PagerDuty's Events API v2: a trigger when a monitor goes down and a resolve when it comes
//! back, under one dedup key per outage, so PagerDuty opens and closes one incident for it.
//! A certificate about to expire triggers a warning under a key of its own.

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
        // Sent rather than left out: a team that takes all its work from PagerDuty would
        // otherwise hear of a lapsing certificate only once it lapsed. As a `warning` (an
        // `error` once expired), so the service's urgency rules can keep it from paging anyone
        // at night; under one key per certificate, so its 30-, 14-, 7- and 1-day alerts update
        // one PagerDuty alert rather than open four. Nothing resolves it: upbeat sends no
        // "renewed", and whoever renews the certificate closes it.
        AlertKind::Certificate => vec![trigger(routing_key, &key, alert)],
    };
    bodies
        .into_iter()
        .map(|b| Outgoing::json(&url, b.to_string().into_bytes()))
        .collect()
}

/// One key per outage, and per certificate of a monitor; a test gets its own.
fn dedup_key(alert: &Alert) -> String {
    match (alert.kind, alert.incident) {
        (AlertKind::Certificate, _) => format!(
            "upbeat-certificate-{}-{}",
            alert.monitor_id.unwrap_or_default(),
            alert.certificate.map_or(0, |c| c.expires_at.as_millis())
        ),
        (_, Some(incident)) => format!("upbeat-incident-{incident}"),
        (_, None) => format!("upbeat-test-{}", alert.delivery),
    }
}

fn severity(alert: &Alert) -> &'static str {
    match alert.kind {
        AlertKind::Test => "info",
        AlertKind::Certificate if alert.certificate.is_some_and(|c| c.expired()) => "error",
        AlertKind::Certificate => "warning",
        AlertKind::Down | AlertKind::Reminder | AlertKind::Up | AlertKind::Paused => "critical",
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
            "severity": severity(alert),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::Timestamp;
    use crate::verdict::certificate::CertAlerted;

    fn certificate(expires_at: i64, days: u16) -> Alert {
        let mut alert = Alert::test("Shop");
        alert.kind = AlertKind::Certificate;
        alert.monitor_id = Some(7);
        alert.certificate = Some(CertAlerted {
            expires_at: Timestamp::from_millis(expires_at),
            days,
        });
        alert
    }

    #[test]
    fn certificate_alerts_warn_under_one_key_per_certificate_and_stay_open() {
        let key = Secret::new("k");
        let body = |a: &Alert| {
            let sent = requests("https://pd.example", &key, a);
            assert_eq!(sent.len(), 1, "a trigger, no resolve");
            serde_json::from_slice::<Value>(&sent[0].body).unwrap()
        };
        let at_14 = body(&certificate(1_000, 14));
        let at_7 = body(&certificate(1_000, 7));
        let renewed = body(&certificate(9_000, 30));
        assert_eq!(at_14["event_action"], "trigger");
        assert_eq!(at_14["payload"]["severity"], "warning");
        assert_eq!(at_14["dedup_key"], "upbeat-certificate-7-1000");
        assert_eq!(at_14["dedup_key"], at_7["dedup_key"]);
        assert_ne!(at_14["dedup_key"], renewed["dedup_key"]);
        assert_eq!(body(&certificate(1_000, 0))["payload"]["severity"], "error");
    }
}
