//! Telegram's Bot API: `sendMessage` with the HTML parse mode.

use super::message::{Alert, escape_html};
use super::send::Outgoing;
use crate::secret::Secret;
use serde_json::{Value, json};

pub fn request(api: &str, bot_token: &Secret, chat_id: &str, alert: &Alert) -> Outgoing {
    let mut text = format!("<b>{}</b>\n", escape_html(&alert.headline()));
    for (label, value) in alert.facts() {
        text.push_str(&format!(
            "\n<b>{}:</b> {}",
            escape_html(label),
            escape_html(&value)
        ));
    }
    if let Some(link) = &alert.link {
        text.push_str(&format!(
            "\n\n<a href=\"{}\">Open in upbeat</a>",
            escape_html(link)
        ));
    }
    // A numeric chat id goes as a number, a @channel as a string.
    let chat: Value = chat_id
        .parse::<i64>()
        .map_or_else(|_| json!(chat_id), |n| json!(n));
    let body = json!({
        "chat_id": chat,
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
    });
    let url = format!("{api}/bot{}/sendMessage", bot_token.expose());
    Outgoing::json(&url, body.to_string().into_bytes())
}
