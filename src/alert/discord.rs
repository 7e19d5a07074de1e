//! Discord webhooks: one embed, red or green, with the facts as fields; no mentions.

use super::message::{Alert, truncate};
use super::send::Outgoing;
use serde_json::json;

pub fn request(webhook_url: &str, alert: &Alert) -> Outgoing {
    let fields: Vec<_> = alert
        .facts()
        .into_iter()
        .map(
            |(name, value)| json!({"name": name, "value": truncate(&value, 1024), "inline": false}),
        )
        .collect();
    let mut embed = json!({
        "title": truncate(&alert.subject(), 256),
        "description": truncate(&alert.headline(), 4096),
        "color": alert.kind.tone().rgb(),
        "timestamp": alert.at,
        "fields": fields,
        "footer": {"text": "upbeat"},
    });
    if let Some(link) = &alert.link {
        embed["url"] = json!(link);
    }
    let body = json!({
        "username": "upbeat",
        "allowed_mentions": {"parse": []},
        "embeds": [embed],
    });
    Outgoing::json(webhook_url, body.to_string().into_bytes())
}
