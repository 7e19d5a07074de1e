//! Settings, layered: built-in defaults < the TOML file < `UPBEAT_*` environment variables <
//! command-line flags. Everything is checked here, at start-up, so a bad setting stops the
//! service with a message naming it instead of failing later.

use crate::monitor::format_duration;
use crate::secret::Secret;
use anyhow::{Context, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The file read when `--config` / `UPBEAT_CONFIG` is not given, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "upbeat.toml";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address and port the HTTP server listens on.
    pub listen: SocketAddr,
    /// Where data is kept: `sqlite:PATH` (created when missing).
    pub database_url: String,
    /// Secret for signing login tokens. When unset, one is generated once and kept in the database.
    pub jwt_secret: Option<Secret>,
    /// How long a login token is valid.
    pub token_ttl: HumanDuration,
    /// How long a browser stays signed in.
    pub session_ttl: HumanDuration,
    /// Origins allowed to call the API from a browser (`https://status.example.com`); none by default.
    #[serde(deserialize_with = "list_or_csv")]
    pub cors_origins: Vec<String>,
    /// How long checks in flight may take to finish at shutdown before they are abandoned.
    pub shutdown_grace: HumanDuration,
    /// DNS servers for checks (`"10.0.0.2:53"`); the system's resolver configuration when empty.
    #[serde(deserialize_with = "list_or_csv")]
    pub dns_servers: Vec<SocketAddr>,
    pub login: LoginLimits,
    pub retention: Retention,
    /// The address people reach upbeat at, for links in alerts (`https://upbeat.example.com`);
    /// `http://` and the listen address when unset.
    pub public_url: Option<String>,
    /// The mail server for email alerts: `smtp://user:pass@host:587` (STARTTLS),
    /// `smtps://user:pass@host:465` (TLS), `smtp://host:25` (plain, for a local relay).
    pub smtp_url: Option<Secret>,
    /// The sender of email alerts; the SMTP user name when it is an address.
    pub smtp_from: Option<String>,
    /// A PEM file of certificates to trust for the mail server, besides the usual ones.
    pub smtp_ca_file: Option<PathBuf>,
    /// A PEM file of certificates to trust for checks and alerts over https, besides the usual
    /// ones: an internal certificate authority.
    pub ca_file: Option<PathBuf>,
    /// SendGrid's API key, for email alerts without a mail server (`SENDGRID_API_KEY`).
    pub sendgrid_api_key: Option<Secret>,
    pub sendgrid_url: String,
    pub telegram_api_url: String,
    pub pagerduty_url: String,
    /// The wait before an alert that failed to send is tried again; it doubles each time, up
    /// to an hour, and an alert still failing after a day is given up.
    pub alert_retry: HumanDuration,
    /// When set, `GET /metrics` asks for it as a bearer token; open to anyone who reaches
    /// upbeat otherwise.
    pub metrics_token: Option<Secret>,
    /// This node's name, unique among the upbeat nodes that share a database: work it claims
    /// (alerts being sent) is claimed under it. The machine's host name by default.
    pub node_name: String,
}

/// Sign-in attempts allowed per minute, counted apart for each client address and each account.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginLimits {
    pub per_address_per_minute: u32,
    pub per_account_per_minute: u32,
}

/// How long stored data is kept.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    /// Each check's own row.
    pub checks: HumanDuration,
    /// Roll-ups per minute, read by windows of up to a day.
    pub minutes: HumanDuration,
    /// Roll-ups per hour, read by windows of up to 90 days.
    pub hours: HumanDuration,
    /// Roll-ups per day; kept forever when unset.
    pub days: Option<HumanDuration>,
}

const DAY: Duration = Duration::from_secs(86_400);

impl Default for Retention {
    fn default() -> Self {
        Retention {
            checks: HumanDuration(30 * DAY),
            minutes: HumanDuration(2 * DAY),
            hours: HumanDuration(365 * DAY),
            days: None,
        }
    }
}

impl Retention {
    /// Each kept at least as long as the windows that read it, so no window comes out short.
    fn check(&self) -> anyhow::Result<()> {
        let at_least = [
            ("checks", Some(self.checks), Duration::from_secs(3600)),
            ("minutes", Some(self.minutes), 2 * DAY),
            ("hours", Some(self.hours), 90 * DAY),
            ("days", self.days, 90 * DAY),
        ];
        for (name, kept, least) in at_least {
            if kept.is_some_and(|k| k.0 < least) {
                bail!(
                    "retention.{name} must be at least {}",
                    format_duration(least)
                );
            }
        }
        Ok(())
    }
}

impl Default for LoginLimits {
    fn default() -> Self {
        LoginLimits {
            per_address_per_minute: 20,
            per_account_per_minute: 10,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "sqlite:upbeat.db".into(),
            jwt_secret: None,
            token_ttl: HumanDuration(Duration::from_secs(24 * 3600)),
            session_ttl: HumanDuration(Duration::from_secs(30 * 24 * 3600)),
            cors_origins: Vec::new(),
            shutdown_grace: HumanDuration(Duration::from_secs(5)),
            dns_servers: Vec::new(),
            login: LoginLimits::default(),
            retention: Retention::default(),
            public_url: None,
            smtp_url: None,
            smtp_from: None,
            smtp_ca_file: None,
            ca_file: None,
            sendgrid_api_key: None,
            sendgrid_url: "https://api.sendgrid.com".into(),
            telegram_api_url: "https://api.telegram.org".into(),
            pagerduty_url: "https://events.pagerduty.com".into(),
            alert_retry: HumanDuration(Duration::from_secs(10)),
            metrics_token: None,
            node_name: hostname::get()
                .ok()
                .and_then(|h| h.into_string().ok())
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| "upbeat".into()),
        }
    }
}

/// What the command line says; `None` leaves the setting to the layers below.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    /// Reads the layers. `file` is the file named on the command line or in `UPBEAT_CONFIG`;
    /// without one, `upbeat.toml` in the working directory is read if it exists.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> anyhow::Result<Config> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_CONFIG_FILE));
            }
            None => {}
        }
        let known = Config::default().keys();
        figment = figment
            .merge(
                Env::prefixed("UPBEAT_")
                    // Secrets are read verbatim below: parsed, an all-digit one would turn into a number.
                    .ignore(&["config", "jwt_secret", "sendgrid_api_key", "metrics_token"])
                    .split("__")
                    // Other UPBEAT_ variables (for other tools or later versions) are left alone.
                    .filter(move |k| known.iter().any(|known| k.starts_with(known.as_str()))),
            )
            .merge(Serialized::defaults(overrides));
        let mut config: Config = figment.extract().map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Ok(secret) = std::env::var("UPBEAT_JWT_SECRET") {
            config.jwt_secret = Some(Secret::new(secret));
        }
        if let Ok(token) = std::env::var("UPBEAT_METRICS_TOKEN")
            && !token.is_empty()
        {
            config.metrics_token = Some(Secret::new(token));
        }
        // SendGrid's own name for its key, without the UPBEAT_ prefix.
        if let Ok(key) = std::env::var("SENDGRID_API_KEY")
            && !key.is_empty()
        {
            config.sendgrid_api_key = Some(Secret::new(key));
        }
        config.validate()?;
        Ok(config)
    }

    fn keys(&self) -> Vec<String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    fn validate(&self) -> anyhow::Result<()> {
        if let Some(secret) = &self.jwt_secret
            && secret.expose().len() < 32
        {
            bail!("jwt_secret must be at least 32 characters long");
        }
        for origin in &self.cors_origins {
            let url = url::Url::parse(origin)
                .with_context(|| format!("cors_origins: {origin:?} is not an origin"))?;
            if url.origin().ascii_serialization() != origin.trim_end_matches('/') {
                bail!(
                    "cors_origins: {origin:?} must be scheme://host[:port] with nothing after it"
                );
            }
        }
        self.retention.check()?;
        if self.token_ttl.0 < Duration::from_secs(60) {
            bail!("token_ttl must be at least 1m");
        }
        if self.session_ttl.0 < Duration::from_secs(60) {
            bail!("session_ttl must be at least 1m");
        }
        if self.login.per_address_per_minute == 0 || self.login.per_account_per_minute == 0 {
            bail!("login limits must be at least 1 per minute");
        }
        for (name, value) in [
            ("public_url", self.public_url.as_deref()),
            ("sendgrid_url", Some(self.sendgrid_url.as_str())),
            ("telegram_api_url", Some(self.telegram_api_url.as_str())),
            ("pagerduty_url", Some(self.pagerduty_url.as_str())),
        ] {
            if let Some(value) = value {
                let url = url::Url::parse(value)
                    .with_context(|| format!("{name}: {value:?} is not a URL"))?;
                if !matches!(url.scheme(), "http" | "https") {
                    bail!("{name} must be an http:// or https:// URL");
                }
            }
        }
        if self.alert_retry.0 < Duration::from_millis(100) {
            bail!("alert_retry must be at least 100ms");
        }
        Ok(())
    }
}

/// A duration written as `"30s"`, `"24h"`, `"1h30m"` or a number of seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HumanDuration(pub Duration);

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Ok(HumanDuration(Duration::from_secs(s))),
            Raw::Text(t) => humantime::parse_duration(t.trim())
                .map(HumanDuration)
                .map_err(|e| serde::de::Error::custom(format!("{t:?} is not a duration ({e})"))),
        }
    }
}

/// Lists may be written as TOML/JSON arrays or, handy in environment variables, comma-separated.
fn list_or_csv<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: std::str::FromStr + Deserialize<'de>,
    T::Err: fmt::Display,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw<T> {
        List(Vec<T>),
        Text(String),
    }
    match Raw::<T>::deserialize(d)? {
        Raw::List(v) => Ok(v),
        Raw::Text(s) => s
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map_err(|e| serde::de::Error::custom(format!("{s:?}: {e}")))
            })
            .collect(),
    }
}

/// Where the config file comes from, for the start-up log.
pub fn describe_source(file: Option<&PathBuf>) -> String {
    match file {
        Some(p) => p.display().to_string(),
        None if Path::new(DEFAULT_CONFIG_FILE).exists() => DEFAULT_CONFIG_FILE.into(),
        None => "none (defaults and environment)".into(),
    }
}

#[cfg(test)]
// figment's `Jail` closures must return figment's own (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use figment::Jail;

    #[test]
    fn flags_beat_environment_beat_file_beat_defaults() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "custom.toml",
                "listen = \"127.0.0.1:7000\"\ndatabase_url = \"sqlite:file.db\"\ntoken_ttl = \"2h\"\n",
            )?;
            jail.set_env("UPBEAT_DATABASE_URL", "sqlite:env.db");
            jail.set_env("UPBEAT_SOMETHING_ELSE", "ignored");
            let overrides = Overrides {
                listen: Some("127.0.0.1:9000".parse().unwrap()),
                database_url: None,
            };
            let c = Config::load(Some(Path::new("custom.toml")), &overrides).unwrap();
            assert_eq!(c.listen.port(), 9000);
            assert_eq!(c.database_url, "sqlite:env.db");
            assert_eq!(c.token_ttl.0, Duration::from_secs(7200));
            assert_eq!(c.shutdown_grace.0, Duration::from_secs(5));
            Ok(())
        });
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors_naming_them() {
        Jail::expect_with(|jail| {
            for (file, text, named) in [
                ("typo.toml", "lisen = \"127.0.0.1:1\"\n", "lisen"),
                ("bad.toml", "token_ttl = \"soon\"\n", "soon"),
                (
                    "short.toml",
                    "[retention]\nchecks = \"10m\"\n",
                    "retention.checks must be at least 1h",
                ),
                (
                    "days.toml",
                    "[retention]\ndays = \"30d\"\n",
                    "retention.days must be at least 90d",
                ),
            ] {
                jail.create_file(file, text)?;
                let e = Config::load(Some(Path::new(file)), &Overrides::default()).unwrap_err();
                assert!(e.to_string().contains(named), "{file}: {e}");
            }

            let e =
                Config::load(Some(Path::new("missing.toml")), &Overrides::default()).unwrap_err();
            assert!(e.to_string().contains("missing.toml"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn lists_can_be_comma_separated_in_the_environment() {
        Jail::expect_with(|jail| {
            jail.set_env(
                "UPBEAT_CORS_ORIGINS",
                "https://a.example, https://b.example:8443",
            );
            jail.set_env("UPBEAT_LOGIN__PER_ACCOUNT_PER_MINUTE", "3");
            jail.set_env("UPBEAT_RETENTION__CHECKS", "90d");
            jail.set_env("UPBEAT_RETENTION__DAYS", "3650d");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.retention.checks.0, 90 * DAY);
            assert_eq!(c.retention.days.map(|d| d.0), Some(3650 * DAY));
            assert_eq!(c.retention.hours.0, 365 * DAY);
            assert_eq!(
                c.cors_origins,
                ["https://a.example", "https://b.example:8443"]
            );
            assert_eq!(c.login.per_account_per_minute, 3);
            Ok(())
        });
    }

    #[test]
    fn short_secrets_and_non_origin_cors_entries_are_refused() {
        Jail::expect_with(|jail| {
            jail.set_env("UPBEAT_JWT_SECRET", "short");
            assert!(Config::load(None, &Overrides::default()).is_err());
            jail.set_env("UPBEAT_JWT_SECRET", "1".repeat(32));
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.jwt_secret.unwrap().expose(), "1".repeat(32));
            // Read verbatim, digits and all.
            jail.set_env("UPBEAT_METRICS_TOKEN", "0123");
            let c = Config::load(None, &Overrides::default()).unwrap();
            assert_eq!(c.metrics_token.unwrap().expose(), "0123");
            jail.set_env("UPBEAT_CORS_ORIGINS", "https://a.example/path");
            assert!(Config::load(None, &Overrides::default()).is_err());
            Ok(())
        });
    }
}
