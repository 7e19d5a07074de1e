//! API tokens: long-lived credentials a user makes for scripts and other programs. A token is
//! 256 random bits behind a recognisable prefix, so it is told apart from a login token at a
//! glance (by people, secret scanners and upbeat itself). It is shown once, when it is made;
//! only its SHA-256 is ever stored. Every token expires. Nothing here touches storage or HTTP.

use crate::fields::FieldError;
use crate::monitor::parse_duration;
use crate::secret::Secret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;

/// What every API token starts with. A login token (a JWT) never does: it starts with `eyJ`.
pub const PREFIX: &str = "upbeat_";

/// How many API tokens one account may hold, expired ones aside: enough for every script,
/// few enough that a list of them can still be read and each one accounted for.
pub const MAX_PER_USER: u32 = 50;

/// How long after its last use a token's `last_used_at` is written again: a busy script does
/// not cost a write per request, and "last used" stays right to the minute.
pub const LAST_USED_PRECISION: Duration = Duration::from_secs(60);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiTokenId(pub i64);

impl fmt::Display for ApiTokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Whether a bearer token is an API token rather than a login token.
pub fn is_api_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

/// What is stored in place of a token: its SHA-256. The token carries 256 random bits, so a
/// fast hash is enough; no one can search that space.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A freshly made token: the secret to show its owner once, and the hash to store.
pub struct NewApiToken {
    pub secret: Secret,
    pub hash: Vec<u8>,
}

impl NewApiToken {
    /// A new token from the operating system's random number generator.
    pub fn generate() -> anyhow::Result<Self> {
        let token = format!("{PREFIX}{}", crate::secret::random_hex()?);
        Ok(NewApiToken {
            hash: hash(&token),
            secret: Secret::new(token),
        })
    }
}

/// How long a new token lasts: from an hour to two years, a year unless asked otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetime(Duration);

impl Lifetime {
    pub const MIN: Duration = Duration::from_secs(3600);
    /// Two years as `"2y"` reads them (365.25 days each), so that `"2y"` itself is accepted.
    pub const MAX: Duration = Duration::from_secs(2 * 31_557_600);
    pub const DEFAULT: Lifetime = Lifetime(Duration::from_secs(365 * 86_400));

    /// A duration as monitors take them (`"90d"`, `"1y"`, `"12h"`, or seconds); `None` (or
    /// JSON `null`) is the default.
    pub fn parse(field: &str, v: Option<&Value>) -> Result<Self, FieldError> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Self::DEFAULT);
        };
        let d = parse_duration(field, v)?;
        if !(Self::MIN..=Self::MAX).contains(&d) {
            return Err(FieldError::new(field, "must be between 1h and 2y"));
        }
        Ok(Lifetime(d))
    }

    pub fn duration(self) -> Duration {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn tokens_are_prefixed_random_and_stored_only_as_their_hash() {
        let a = NewApiToken::generate().unwrap();
        let b = NewApiToken::generate().unwrap();
        assert!(is_api_token(a.secret.expose()));
        assert_eq!(a.secret.expose().len(), PREFIX.len() + 64);
        assert_ne!(a.secret.expose(), b.secret.expose());
        assert_eq!(a.hash, hash(a.secret.expose()));
        assert_eq!(a.hash.len(), 32);
        assert!(!is_api_token("eyJhbGciOiJIUzI1NiJ9.e30.x"));
    }

    #[test]
    fn lifetimes_default_to_a_year_and_stay_within_an_hour_and_two_years() {
        let parse = |v: Value| Lifetime::parse("expires_in", Some(&v)).map(Lifetime::duration);
        assert_eq!(
            Lifetime::parse("expires_in", None),
            Ok(Lifetime::DEFAULT),
            "absent"
        );
        assert_eq!(parse(Value::Null), Ok(Lifetime::DEFAULT.duration()));
        assert_eq!(parse(json!("30d")), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse(json!("1h")), Ok(Duration::from_secs(3600)));
        assert_eq!(parse(json!(7200)), Ok(Duration::from_secs(7200)));
        assert!(parse(json!("2y")).is_ok());
        for bad in [
            json!("59m"),
            json!("3y"),
            json!("soon"),
            json!(0),
            json!(-1),
            json!(true),
        ] {
            assert_eq!(parse(bad.clone()).unwrap_err().field, "expires_in", "{bad}");
        }
    }
}
