//! ntfy: a JSON publish to the server's root, so titles need no header encoding.

use super::message::{Alert, AlertKind, Tone};
use super::send::Outgoing;
use crate::monitor::HttpUrl;
use crate::secret::Secret;
use serde_json::json;

pub fn request(server: &HttpUrl, topic: &str, token: Option<&Secret>, alert: &Alert) -> Outgoing {
    let mut body = json!({
        "topic": topic,
        "title": alert.subject(),
        "message": alert.text(),
        // 4 is "high": a down monitor should be seen; 3 is the default.
        "priority": if alert.kind.is_bad() { 4 } else { 3 },
        "tags": [match (alert.kind, alert.kind.tone()) {
            (AlertKind::Certificate, _) => "warning",
            (_, Tone::Bad) => "rotating_light",
            (_, Tone::Good) => "white_check_mark",
            (_, Tone::Neutral) => "pause_button",
        }],
    });
    if let Some(link) = &alert.link {
        body["click"] = json!(link);
    }
    let mut out = Outgoing::json(server.as_str(), body.to_string().into_bytes());
    if let Some(token) = token {
        out.header("authorization", &format!("Bearer {}", token.expose()));
    }
    out
}
