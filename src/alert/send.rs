//! Hands one alert to one destination and says how it went: sent, refused for good (retrying
//! cannot help), failed for now (retry later), or switched off. Channel modules say what to
//! send; this module sends it.

use super::channel::ChannelSettings;
use super::email::{Email, EmailSettings};
use super::message::Alert;
use super::{discord, ntfy, pagerduty, slack, teams, telegram, webhook};
use crate::store::DeliveryOutcome;
use std::time::Duration;

/// How long one attempt may take.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// Why an alert was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// This kind of alert is switched off here (email without a mail transport).
    Off(String),
    /// The destination refused it, and would again: a wrong token, an unknown chat.
    Refused(String),
    /// It may work later: unreachable, overloaded, timed out.
    Failed(String),
    /// Some recipients got it and the others could not be reached.
    Partly(String),
}

/// How an attempt that will not be retried ended.
impl From<SendError> for DeliveryOutcome {
    fn from(e: SendError) -> Self {
        match e {
            SendError::Off(why) => DeliveryOutcome::Skipped(why),
            SendError::Refused(why) | SendError::Failed(why) => DeliveryOutcome::Failed(why),
            SendError::Partly(why) => DeliveryOutcome::SentPartly(why),
        }
    }
}

impl SendError {
    /// The same error with each of `secrets` blanked out of its message.
    pub(super) fn redact(self, secrets: &[String]) -> Self {
        let clean = |mut text: String| {
            for secret in secrets {
                if text.contains(secret.as_str()) {
                    text = text.replace(secret.as_str(), "********");
                }
            }
            text
        };
        match self {
            SendError::Off(why) => SendError::Off(why),
            SendError::Refused(why) => SendError::Refused(clean(why)),
            SendError::Failed(why) => SendError::Failed(clean(why)),
            SendError::Partly(why) => SendError::Partly(clean(why)),
        }
    }
}

/// An HTTP request a channel module wants sent. No `Debug`: it holds tokens and secret URLs.
pub struct Outgoing {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Outgoing {
    pub fn json(url: &str, body: Vec<u8>) -> Self {
        Outgoing {
            url: url.to_owned(),
            headers: vec![("content-type".into(), "application/json".into())],
            body,
        }
    }

    pub fn header(&mut self, name: &str, value: &str) {
        self.headers.push((name.to_owned(), value.to_owned()));
    }
}

/// What the senders need from the configuration.
pub struct SendSettings {
    /// Where people reach upbeat, for links to monitors.
    pub public_url: String,
    pub email: Option<EmailSettings>,
    pub telegram_api: String,
    pub pagerduty_api: String,
}

pub struct Senders {
    http: reqwest::Client,
    email: Option<Email>,
    public_url: String,
    telegram_api: String,
    pagerduty_api: String,
}

impl Senders {
    /// `tls`: the certificates destinations are trusted by (see [`crate::tls::client_config`]).
    pub fn new(settings: SendSettings, tls: rustls::ClientConfig) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("upbeat/", env!("CARGO_PKG_VERSION")))
            // A redirected POST arrives as a bodyless GET, and custom headers would follow it
            // to another host: a destination that redirects is refused instead.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let email = settings
            .email
            .map(|s| Email::new(s, http.clone()))
            .transpose()?;
        Ok(Senders {
            http,
            email,
            public_url: settings.public_url.trim_end_matches('/').to_owned(),
            telegram_api: settings.telegram_api.trim_end_matches('/').to_owned(),
            pagerduty_api: settings.pagerduty_api.trim_end_matches('/').to_owned(),
        })
    }

    /// Where email alerts go (a mail server or SendGrid, without credentials), when they are on.
    pub fn email_via(&self) -> Option<&str> {
        self.email.as_ref().map(|e| e.description.as_str())
    }

    /// Why email alerts are off, when they are.
    pub fn email_off(&self) -> Option<&'static str> {
        self.email.is_none().then_some(
            "email alerts are off: set UPBEAT_SMTP_URL (with UPBEAT_SMTP_FROM) or SENDGRID_API_KEY",
        )
    }

    /// Adds what only the service knows: the link to the monitor's page.
    fn complete(&self, mut alert: Alert) -> Alert {
        alert.link = Some(match alert.monitor_id {
            Some(id) => format!("{}/monitors/{id}", self.public_url),
            None => self.public_url.clone(),
        });
        alert
    }

    /// Sends one alert, with its link, within [`SEND_TIMEOUT`]. What comes back never holds
    /// one of the channel's secrets, even when the destination's answer repeats what it was sent.
    pub async fn send(&self, channel: &ChannelSettings, alert: Alert) -> Result<(), SendError> {
        let alert = self.complete(alert);
        let result = match tokio::time::timeout(SEND_TIMEOUT, self.dispatch(channel, &alert)).await
        {
            Ok(result) => result,
            Err(_) => Err(SendError::Failed(format!(
                "no answer within {}s",
                SEND_TIMEOUT.as_secs()
            ))),
        };
        result.map_err(|e| e.redact(&channel.secret_values()))
    }

    async fn dispatch(&self, channel: &ChannelSettings, alert: &Alert) -> Result<(), SendError> {
        let requests = match channel {
            ChannelSettings::Email { addresses } => {
                let email = self
                    .email
                    .as_ref()
                    .ok_or_else(|| SendError::Off(self.email_off().unwrap_or_default().into()))?;
                return email.send(addresses, alert).await;
            }
            ChannelSettings::Webhook {
                url,
                headers,
                secret,
            } => {
                vec![webhook::request(url, headers, secret.as_ref(), alert)]
            }
            ChannelSettings::Slack { webhook_url } => {
                vec![slack::request(webhook_url.expose(), alert)]
            }
            ChannelSettings::Discord { webhook_url } => {
                vec![discord::request(webhook_url.expose(), alert)]
            }
            ChannelSettings::Teams { webhook_url } => {
                vec![teams::request(webhook_url.expose(), alert)]
            }
            ChannelSettings::Telegram { bot_token, chat_id } => {
                vec![telegram::request(
                    &self.telegram_api,
                    bot_token,
                    chat_id,
                    alert,
                )]
            }
            ChannelSettings::Ntfy {
                server,
                topic,
                token,
            } => {
                vec![ntfy::request(server, topic, token.as_ref(), alert)]
            }
            ChannelSettings::PagerDuty { routing_key } => {
                pagerduty::requests(&self.pagerduty_api, routing_key, alert)
            }
        };
        for request in requests {
            post(&self.http, request).await?;
        }
        Ok(())
    }
}

/// How much of an error answer is kept: enough for the destination's reason, never the
/// whole of an endless body.
const ERROR_BODY_LIMIT: usize = 1024;

/// Posts a request; a 2xx is delivered. Error messages never include the URL, which may hold
/// a secret (a webhook's token).
pub async fn post(http: &reqwest::Client, request: Outgoing) -> Result<(), SendError> {
    let mut builder = http.post(&request.url).body(request.body);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let mut response = builder.send().await.map_err(|e| {
        // The whole attempt is timed in `Senders::send`.
        SendError::Failed(if e.is_connect() {
            format!("could not connect: {}", root_cause(&e))
        } else {
            root_cause(&e)
        })
    })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    if status.is_redirection() {
        return Err(SendError::Refused(format!(
            "HTTP {}: the destination redirects elsewhere; update the URL to where it points",
            status.as_u16()
        )));
    }
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let body = String::from_utf8_lossy(&body[..body.len().min(ERROR_BODY_LIMIT)]);
    let detail: String = body.chars().take(200).collect();
    let message = format!("HTTP {}: {}", status.as_u16(), detail.trim());
    // A client error other than "too many" or "too slow" will not go away by itself.
    if status.is_client_error() && status.as_u16() != 429 && status.as_u16() != 408 {
        Err(SendError::Refused(message))
    } else {
        Err(SendError::Failed(message))
    }
}

/// The innermost cause of an error, which is the informative one, without any URL.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}
