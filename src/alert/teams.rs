//! Microsoft Teams through a Workflows webhook: an Adaptive Card in a message envelope.

use super::message::{Alert, Tone};
use super::send::Outgoing;
use serde_json::json;

pub fn request(webhook_url: &str, alert: &Alert) -> Outgoing {
    let facts: Vec<_> = alert
        .facts()
        .into_iter()
        .map(|(title, value)| json!({"title": title, "value": value}))
        .collect();
    let mut card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.2",
        "body": [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
             "color": match alert.kind.tone() {
                 Tone::Bad => "attention",
                 Tone::Good => "good",
                 Tone::Neutral => "default",
             },
             "text": alert.headline()},
            {"type": "FactSet", "facts": facts},
        ],
    });
    if let Some(link) = &alert.link {
        card["actions"] =
            json!([{"type": "Action.OpenUrl", "title": "Open in upbeat", "url": link}]);
    }
    let body = json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    });
    Outgoing::json(webhook_url, body.to_string().into_bytes())
}
