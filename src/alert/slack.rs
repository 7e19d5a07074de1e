//! Slack incoming webhooks: Block Kit with mrkdwn, and a plain `text` for notifications.

use super::message::{Alert, Tone, truncate};
use super::send::Outgoing;
use serde_json::json;

pub fn request(webhook_url: &str, alert: &Alert) -> Outgoing {
    let icon = match alert.kind.tone() {
        Tone::Bad => ":red_circle:",
        Tone::Good => ":large_green_circle:",
        Tone::Neutral => ":white_circle:",
    };
    let mut lines = vec![format!("{icon} *{}*", escape(&alert.headline()))];
    for (label, value) in alert.facts() {
        lines.push(format!("*{label}:* {}", escape(&value)));
    }
    if let Some(link) = &alert.link {
        lines.push(format!("<{}|Open in upbeat>", escape(link)));
    }
    let body = json!({
        "text": escape(&format!("{}: {}", alert.subject(), alert.headline())),
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(&lines.join("\n"), 3000)}}],
    });
    Outgoing::json(webhook_url, body.to_string().into_bytes())
}

/// Slack's rule: `&`, `<` and `>` become entities, and nothing else.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ampersands_and_angle_brackets_are_escaped() {
        assert_eq!(escape("a & <b> 'c' \"d\""), "a &amp; &lt;b&gt; 'c' \"d\"");
    }
}
