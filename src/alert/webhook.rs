//! A generic webhook: a POST of upbeat's own JSON payload, signed with HMAC-SHA256 when the
//! channel has a secret. The payload is documented in docs/alerts.md: add fields, never rename.

use super::message::Alert;
use super::send::Outgoing;
use crate::monitor::{Headers, HttpUrl};
use crate::secret::Secret;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;

/// The header carrying the signature: `sha256=` and the hex HMAC-SHA256 of the body.
pub const SIGNATURE_HEADER: &str = "x-upbeat-signature-256";

pub fn request(
    url: &HttpUrl,
    headers: &Headers,
    secret: Option<&Secret>,
    alert: &Alert,
) -> Outgoing {
    let body = payload(alert).to_string().into_bytes();
    let mut out = Outgoing::json(url.as_str(), body);
    out.header("x-upbeat-event", alert.kind.as_str());
    out.header("x-upbeat-delivery", &alert.delivery.to_string());
    if let Some(secret) = secret {
        let signature = sign(secret.expose().as_bytes(), &out.body);
        out.header(SIGNATURE_HEADER, &signature);
    }
    for (name, value) in headers.iter() {
        out.header(name.as_str(), &String::from_utf8_lossy(value.as_bytes()));
    }
    out
}

/// `sha256=<hex>` of HMAC-SHA256(key, body).
pub fn sign(key: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn payload(alert: &Alert) -> serde_json::Value {
    json!({
        "event": alert.kind.as_str(),
        "delivery_id": alert.delivery,
        "subject": alert.subject(),
        "summary": alert.headline(),
        "monitor": alert.monitor_id.map(|id| json!({"id": id, "name": alert.monitor, "url": alert.url})),
        "at": alert.at,
        "cause": alert.cause,
        "incident": alert.incident.map(|id| json!({
            "id": id,
            "started_at": alert.down_since,
            "duration_seconds": alert.outage.map(|d| d.as_secs()),
        })),
        "link": alert.link,
        "certificate": alert.cert_days_left().zip(alert.certificate).map(|(left, c)| json!({
            "expires_at": c.expires_at,
            "days_left": left,
            "threshold_days": c.days,
            "expired": c.expired(),
        })),
        "sent_at": crate::timestamp::Timestamp::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_a_published_hmac_sha256_example() {
        // GitHub's documented webhook example: same algorithm, same encoding.
        assert_eq!(
            sign(b"It's a Secret to Everybody", b"Hello, World!"),
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }
}
