//! Who is calling: login tokens (JWT, HS256, with an expiry), the extractor that requires a
//! login token or an API token, and the limits on sign-in attempts per client address and per
//! account.

use super::AppState;
use super::error::ApiError;
use crate::api_token::{self, LAST_USED_PRECISION};
use crate::monitor::UserId;
use crate::timestamp::Timestamp;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Issues and verifies login tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl: Duration,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    /// When it was issued, in seconds with milliseconds behind the point (a NumericDate may
    /// have a fraction): signing out everywhere must tell a token issued just before it from
    /// one issued just after it, within the same second.
    iat: f64,
    exp: i64,
}

impl Tokens {
    pub fn new(secret: &[u8], ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 0;
        Tokens {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl,
        }
    }

    /// A token for `user`, and when it expires.
    pub fn issue(&self, user: UserId) -> anyhow::Result<(String, Timestamp)> {
        self.issue_at(user, Timestamp::now())
    }

    /// A token for `user` issued at `now`, and when it expires.
    pub fn issue_at(&self, user: UserId, now: Timestamp) -> anyhow::Result<(String, Timestamp)> {
        let expires = now.saturating_add(self.ttl);
        let claims = Claims {
            sub: user.0.to_string(),
            iat: now.as_millis() as f64 / 1000.0,
            exp: expires.as_millis() / 1000,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, expires))
    }

    /// The user a valid, unexpired token was issued to, and when it was issued.
    pub fn verify(&self, token: &str) -> Option<(UserId, Timestamp)> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        let user = data.claims.sub.parse().ok().map(UserId)?;
        // Exact for any instant of the next few hundred thousand years: milliseconds since the
        // epoch fit an f64's 53 bits many times over.
        let issued = Timestamp::from_millis((data.claims.iat * 1000.0).round() as i64);
        Some((user, issued))
    }
}

const REFUSED: ApiError = ApiError::Unauthorized("the token is invalid, expired or revoked");

/// The caller, known by a login token or an API token. Extracting it answers 401 unless the
/// request carries one that is valid now: a login token unexpired and issued since its user's
/// sessions last ended, an API token unexpired and not revoked.
pub struct AuthUser(pub UserId);

impl AuthUser {
    /// The owner of an API token. Its last use is recorded at most once a minute, and a failure
    /// to record it refuses nothing.
    async fn by_api_token(state: &AppState, token: &str, now: Timestamp) -> Result<Self, ApiError> {
        let found = state
            .store
            .api_token_use(&api_token::hash(token), now)
            .await?
            .ok_or(REFUSED)?;
        if found
            .last_used_at
            .is_none_or(|last| now.since(last) >= LAST_USED_PRECISION)
            && let Err(e) = state.store.touch_api_token(found.id, now).await
        {
            tracing::warn!(token = %found.id, error = %e, "the last use of an API token was not recorded");
        }
        Ok(AuthUser(found.owner))
    }

    /// The user of a login token, unless their sessions ended after it was issued.
    async fn by_login_token(state: &AppState, token: &str) -> Result<Self, ApiError> {
        let (user, issued) = state.tokens.verify(token).ok_or(REFUSED)?;
        match state.store.sessions_valid_after(user).await? {
            Some(after) if issued >= after => Ok(AuthUser(user)),
            // Signed out since, or the account is gone.
            _ => Err(REFUSED),
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or(ApiError::Unauthorized(
                "an Authorization: Bearer <token> header is required",
            ))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .ok_or(ApiError::Unauthorized(
                "the Authorization header must be Bearer <token>",
            ))?;
        // The prefix says which kind it is: never one tried after the other.
        if api_token::is_api_token(token) {
            Self::by_api_token(state, token, Timestamp::now()).await
        } else {
            Self::by_login_token(state, token).await
        }
    }
}

/// A rate per key (a client address, an account) that refuses with the time to wait, and
/// forgets idle keys now and then so its table stays small.
pub struct KeyedLimit<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
    clock: DefaultClock,
    calls: AtomicU64,
}

impl<K: Hash + Eq + Clone> KeyedLimit<K> {
    pub fn per_minute(n: u32) -> Self {
        KeyedLimit {
            limiter: RateLimiter::keyed(Quota::per_minute(
                NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
            )),
            clock: DefaultClock::default(),
            calls: AtomicU64::new(0),
        }
    }

    /// Counts one use by `key`; refused when its rate is used up.
    pub fn check(&self, key: &K) -> Result<(), ApiError> {
        if self.calls.fetch_add(1, Ordering::Relaxed) % 1024 == 1023 {
            self.limiter.retain_recent();
        }
        self.limiter
            .check_key(key)
            .map_err(|n| ApiError::RateLimited {
                retry_after: n.wait_time_from(self.clock.now()),
            })
    }
}

/// Limits sign-in and sign-up attempts, separately per client address and per account, so
/// neither one address nor a spread of addresses can guess one account's password quickly.
pub struct AttemptLimiter {
    per_address: KeyedLimit<IpAddr>,
    per_account: KeyedLimit<String>,
}

impl AttemptLimiter {
    pub fn new(per_address_per_minute: u32, per_account_per_minute: u32) -> Self {
        AttemptLimiter {
            per_address: KeyedLimit::per_minute(per_address_per_minute),
            per_account: KeyedLimit::per_minute(per_account_per_minute),
        }
    }

    /// Counts an attempt; refused with the time to wait when either limit is reached.
    pub fn attempt(&self, address: IpAddr, account: Option<&str>) -> Result<(), ApiError> {
        self.per_address.check(&address)?;
        if let Some(account) = account {
            self.per_account.check(&account.to_owned())?;
        }
        Ok(())
    }
}
