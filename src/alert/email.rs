//! Email alerts, as text and HTML, through a mail server (SMTP) or SendGrid's API. The SMTP
//! address decides the encryption: `smtps://` is TLS from the start, `smtp://` with a password
//! or on port 587 requires STARTTLS (a password never travels in the clear), and a bare
//! `smtp://host:25` is plain, for a relay on the same machine or network. `?tls=` overrides.

use super::message::Alert;
use super::send::{Outgoing, SendError, post};
use crate::account;
use crate::secret::Secret;
use anyhow::{Context, bail};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde_json::json;
use std::path::PathBuf;
use std::time::Duration;

/// How email leaves, as configured.
pub enum EmailSettings {
    Smtp {
        url: Secret,
        from: Option<String>,
        ca_file: Option<PathBuf>,
    },
    SendGrid {
        api_key: Secret,
        api_url: String,
        from: Option<String>,
    },
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    SendGrid {
        http: reqwest::Client,
        url: String,
        key: Secret,
    },
}

pub struct Email {
    from: Mailbox,
    transport: Transport,
    /// Where mail goes, without credentials, for the log.
    pub description: String,
}

impl Email {
    pub fn new(settings: EmailSettings, http: reqwest::Client) -> anyhow::Result<Self> {
        match settings {
            EmailSettings::Smtp { url, from, ca_file } => {
                let smtp = SmtpUrl::parse(url.expose())?;
                let from = sender(from.as_deref(), smtp.user.as_deref())?;
                let description = smtp.describe();
                let transport = Transport::Smtp(smtp.transport(ca_file)?);
                Ok(Email {
                    from,
                    transport,
                    description,
                })
            }
            EmailSettings::SendGrid {
                api_key,
                api_url,
                from,
            } => Ok(Email {
                from: sender(from.as_deref(), None)?,
                description: format!("SendGrid at {api_url}"),
                transport: Transport::SendGrid {
                    http,
                    url: format!("{}/v3/mail/send", api_url.trim_end_matches('/')),
                    key: api_key,
                },
            }),
        }
    }

    /// Sends the alert to each address as a message of its own, so that recipients do not see
    /// each other and one refused address does not stop the rest.
    pub async fn send(&self, to: &[account::Email], alert: &Alert) -> Result<(), SendError> {
        let smtp = match &self.transport {
            Transport::Smtp(smtp) => smtp,
            Transport::SendGrid { http, url, key } => {
                let mut request = Outgoing::json(url, sendgrid_body(&self.from, to, alert));
                request.header("authorization", &format!("Bearer {}", key.expose()));
                return post(http, request)
                    .await
                    .map_err(|e| e.redact(&[key.expose().to_owned()]));
            }
        };
        let mut delivered = 0;
        let mut refused = Vec::new();
        let mut failed = Vec::new();
        for address in to {
            let message = self.message(address, alert)?;
            match smtp.send(message).await {
                Ok(_) => delivered += 1,
                // A 5xx is a refusal that repeating will not change; anything else may pass.
                Err(e) if e.is_permanent() => refused.push(format!("{address}: {e}")),
                Err(e) => failed.push(format!("{address}: {e}")),
            }
        }
        let why = |list: Vec<String>| format!("mail server: {}", list.join("; "));
        match (delivered, refused.is_empty(), failed.is_empty()) {
            (_, true, true) => Ok(()),
            (0, _, false) => Err(SendError::Failed(why(failed))),
            (0, false, true) => Err(SendError::Refused(why(refused))),
            _ => Err(SendError::Partly(why(refused
                .into_iter()
                .chain(failed)
                .collect()))),
        }
    }

    fn message(&self, to: &account::Email, alert: &Alert) -> Result<Message, SendError> {
        let mailbox = to
            .as_str()
            .parse::<Mailbox>()
            .map_err(|e| SendError::Refused(format!("address {to}: {e}")))?;
        Message::builder()
            .from(self.from.clone())
            .to(mailbox)
            // Spam filters frown on mail without an id, or with one from another domain.
            .message_id(Some(message_id(&self.from)))
            .subject(alert.subject())
            .multipart(MultiPart::alternative_plain_html(
                alert.text(),
                alert.html(),
            ))
            .map_err(|e| SendError::Refused(format!("building the message: {e}")))
    }
}

/// A unique message id in the sender's domain.
fn message_id(from: &Mailbox) -> String {
    let mut random = [0u8; 16];
    getrandom::fill(&mut random).expect("the system's random source is available");
    format!("<{}@{}>", hex::encode(random), from.email.domain())
}

/// The sender: the one configured, else the SMTP user when it is an address.
fn sender(from: Option<&str>, user: Option<&str>) -> anyhow::Result<Mailbox> {
    let raw = match (from, user) {
        (Some(from), _) => from.to_owned(),
        (None, Some(user)) if user.contains('@') => format!("upbeat <{user}>"),
        _ => bail!(
            "email alerts need a sender: set UPBEAT_SMTP_FROM (e.g. \"upbeat <alerts@example.com>\")"
        ),
    };
    raw.parse()
        .with_context(|| format!("UPBEAT_SMTP_FROM {raw:?} is not an email address"))
}

/// SendGrid's v3 mail send: plain text first, then HTML, as its API requires.
fn sendgrid_body(from: &Mailbox, to: &[account::Email], alert: &Alert) -> Vec<u8> {
    // One personalization per address: each gets a message of their own.
    let personalizations: Vec<_> = to
        .iter()
        .map(|a| json!({"to": [{"email": a.as_str()}]}))
        .collect();
    let mut sender = json!({"email": from.email.to_string()});
    if let Some(name) = &from.name {
        sender["name"] = json!(name);
    }
    json!({
        "personalizations": personalizations,
        "from": sender,
        "subject": alert.subject(),
        "content": [
            {"type": "text/plain", "value": alert.text()},
            {"type": "text/html", "value": alert.html()},
        ],
    })
    .to_string()
    .into_bytes()
}

#[derive(Debug, PartialEq, Eq)]
enum Encryption {
    /// TLS from the first byte (`smtps://`).
    Tls,
    /// Plain first, then STARTTLS, which the server must offer.
    StartTls,
    /// STARTTLS when the server offers it, plain otherwise: never with a password.
    Opportunistic,
    Plain,
}

#[derive(Debug)]
struct SmtpUrl {
    host: String,
    port: u16,
    user: Option<String>,
    password: Option<Secret>,
    encryption: Encryption,
}

impl SmtpUrl {
    fn parse(raw: &str) -> anyhow::Result<Self> {
        // The URL holds a password: errors describe it, never quote it.
        let url = url::Url::parse(raw)
            .map_err(|e| anyhow::anyhow!("UPBEAT_SMTP_URL is not a URL ({e})"))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .context("UPBEAT_SMTP_URL names no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let decode = |s: &str| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        };
        let user = Some(decode(url.username())).filter(|u| !u.is_empty());
        let password = url.password().map(|p| Secret::new(decode(p)));
        let tls = url
            .query_pairs()
            .find(|(k, _)| k == "tls")
            .map(|(_, v)| v.into_owned());
        let encryption = match (url.scheme(), tls.as_deref()) {
            ("smtps", _) => Encryption::Tls,
            ("smtp", Some("required")) => Encryption::StartTls,
            ("smtp", Some("opportunistic")) => Encryption::Opportunistic,
            ("smtp", Some("none")) => Encryption::Plain,
            ("smtp", None) if user.is_some() || url.port() == Some(587) => Encryption::StartTls,
            ("smtp", None) => Encryption::Plain,
            ("smtp", Some(other)) => {
                bail!("UPBEAT_SMTP_URL: tls={other} is not one of required, opportunistic, none")
            }
            (scheme, _) => {
                bail!("UPBEAT_SMTP_URL must start with smtp:// or smtps://, not {scheme}://")
            }
        };
        if password.is_some() && matches!(encryption, Encryption::Plain | Encryption::Opportunistic)
        {
            bail!(
                "UPBEAT_SMTP_URL: refusing to send the SMTP password unencrypted; use smtps:// or STARTTLS (tls=required)"
            );
        }
        let port = url.port().unwrap_or(match encryption {
            Encryption::Tls => 465,
            Encryption::StartTls => 587,
            Encryption::Opportunistic | Encryption::Plain => 25,
        });
        Ok(SmtpUrl {
            host,
            port,
            user,
            password,
            encryption,
        })
    }

    fn describe(&self) -> String {
        let how = match self.encryption {
            Encryption::Tls => "TLS",
            Encryption::StartTls => "STARTTLS",
            Encryption::Opportunistic => "STARTTLS when offered",
            Encryption::Plain => "unencrypted",
        };
        format!("SMTP {}:{} ({how})", self.host, self.port)
    }

    fn transport(
        &self,
        ca_file: Option<PathBuf>,
    ) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
        let mut params = TlsParameters::builder(self.host.clone());
        if let Some(path) = ca_file {
            let pem = std::fs::read(&path)
                .with_context(|| format!("reading UPBEAT_SMTP_CA_FILE {}", path.display()))?;
            let cert = Certificate::from_pem(&pem).with_context(|| {
                format!(
                    "UPBEAT_SMTP_CA_FILE {} holds no certificate",
                    path.display()
                )
            })?;
            params = params.add_root_certificate(cert);
        }
        let params = params.build()?;
        let tls = match self.encryption {
            Encryption::Tls => Tls::Wrapper(params),
            Encryption::StartTls => Tls::Required(params),
            Encryption::Opportunistic => Tls::Opportunistic(params),
            Encryption::Plain => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(tls)
            // Only the connection; the whole send is bounded by the caller.
            .timeout(Some(Duration::from_secs(10)));
        if let Some(user) = &self.user {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                self.password
                    .as_ref()
                    .map(|p| p.expose().to_owned())
                    .unwrap_or_default(),
            ));
        }
        Ok(builder.build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_choose_the_encryption_people_expect() {
        let parse = |s: &str| SmtpUrl::parse(s).unwrap();
        let starttls = parse("smtp://bob%40example.com:p%40ss@mail.example.com:587");
        assert_eq!(
            (starttls.encryption, starttls.port),
            (Encryption::StartTls, 587)
        );
        assert_eq!(starttls.user.as_deref(), Some("bob@example.com"));
        assert_eq!(starttls.password.as_ref().map(Secret::expose), Some("p@ss"));
        let tls = parse("smtps://u:p@mail.example.com");
        assert_eq!((tls.encryption, tls.port), (Encryption::Tls, 465));
        let relay = parse("smtp://localhost:25");
        assert_eq!((relay.encryption, relay.port), (Encryption::Plain, 25));
        assert_eq!(
            parse("smtp://u:p@mail.example.com").encryption,
            Encryption::StartTls
        );
        assert_eq!(
            parse("smtp://mx.example.com?tls=opportunistic").encryption,
            Encryption::Opportunistic
        );
    }

    #[test]
    fn a_password_is_never_sent_unencrypted_nor_shown_in_errors() {
        for url in [
            "smtp://u:hunter2@mx.example.com?tls=none",
            "smtp://u:hunter2@mx.example.com?tls=opportunistic",
        ] {
            let e = SmtpUrl::parse(url).unwrap_err().to_string();
            assert!(e.contains("unencrypted") && !e.contains("hunter2"), "{e}");
        }
        let e = SmtpUrl::parse("imap://u:hunter2@mx.example.com")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn the_sender_defaults_to_the_smtp_user_when_it_is_an_address() {
        assert_eq!(
            sender(None, Some("alerts@example.com"))
                .unwrap()
                .email
                .to_string(),
            "alerts@example.com"
        );
        assert!(sender(None, Some("alerts")).is_err());
        assert_eq!(
            sender(Some("Ops <ops@example.com>"), None)
                .unwrap()
                .name
                .as_deref(),
            Some("Ops")
        );
    }
}
