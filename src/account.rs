//! Accounts: who may sign in, with what password. Email addresses and new passwords are validated
//! here; passwords are hashed with argon2id on the blocking pool, never on the async executor.

use crate::fields::FieldError;
use crate::monitor::UserId;
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::Serialize;
use std::fmt;
use tokio::sync::Semaphore;

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        let s = s.trim().to_lowercase();
        let valid = s.len() <= 254
            && !s.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(s.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if valid {
            Ok(Email(s))
        } else {
            Err(FieldError::new(field, "must be an email address"))
        }
    }

    /// For values read back from the store, which were validated when written.
    pub fn from_trusted(s: String) -> Self {
        Email(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password someone wants to set: 8 to 1,024 characters. Its `Debug` never shows it.
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 1024;

    pub fn parse(field: &str, s: String) -> Result<Self, FieldError> {
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            return Err(FieldError::new(field, "must be at least 8 characters"));
        }
        if n > Self::MAX_CHARS {
            return Err(FieldError::new(field, "must be at most 1024 characters"));
        }
        Ok(NewPassword(s))
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

/// Hashes and checks passwords on the blocking pool, a few at a time: each hash takes about
/// 19 MiB and tens of milliseconds of CPU, so a burst of sign-ins waits its turn instead of
/// exhausting memory.
pub struct Passwords {
    permits: Semaphore,
}

impl Default for Passwords {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Passwords {
            permits: Semaphore::new(cores),
        }
    }
}

impl Passwords {
    /// Hashes with argon2id and a fresh random salt, into a self-describing PHC string.
    pub async fn hash(&self, password: NewPassword) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            Argon2::default()
                .hash_password(password.0.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
        })
        .await?
    }

    /// Checks a password against a stored hash. With no stored hash (no such account) the same
    /// work is done against a fixed hash, so response times do not reveal which accounts exist.
    pub async fn verify(&self, password: String, stored: Option<String>) -> anyhow::Result<bool> {
        let _permit = self.permits.acquire().await?;
        tokio::task::spawn_blocking(move || {
            let exists = stored.is_some();
            let hash = stored.unwrap_or_else(|| DECOY_HASH.to_owned());
            let parsed = PasswordHash::new(&hash)
                .map_err(|e| anyhow::anyhow!("stored password hash is invalid: {e}"))?;
            let matches = Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok();
            Ok(exists && matches)
        })
        .await?
    }
}

/// An argon2id hash (default parameters) of a random password nobody knows.
const DECOY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRmb3JkZWNveQ$2gkjpPBhj4oIGK0fCGb7nXkdtyRRdLhXmRF9vuDwcYI";

/// An account as others see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
}

impl Serialize for Email {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("email", " Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "a b@example.com",
            "a@b@c",
            "ada@.com",
        ] {
            assert_eq!(
                Email::parse("email", bad).unwrap_err().field,
                "email",
                "{bad}"
            );
        }
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(NewPassword::parse("password", "1234567".into()).is_err());
        assert!(NewPassword::parse("password", "12345678".into()).is_ok());
        assert!(
            !format!("{:?}", NewPassword::parse("p", "secret-pw".into()).unwrap())
                .contains("secret")
        );
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let passwords = Passwords::default();
        let new = NewPassword::parse("p", "correct horse".into()).unwrap();
        let hash = passwords.hash(new).await.unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            passwords
                .verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("wrong horse".into(), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !passwords
                .verify("correct horse".into(), None)
                .await
                .unwrap()
        );
    }
}
