//! What an alert says: the facts of one status change (or of a certificate about to expire),
//! and their wording as a subject line, plain text and HTML. Each channel module builds its own
//! service's format from these.

use crate::monitor::format_duration;
use crate::probe::CheckError;
use crate::timestamp::Timestamp;
use crate::verdict::certificate::{CertAlerted, days_left};
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AlertKind {
    Down,
    Up,
    /// Still down, `remind_every` after the last alert.
    Reminder,
    /// Paused by its owner while down: the outage is no longer watched.
    Paused,
    /// Sent from the channel's test button.
    Test,
    /// The monitor's certificate expires in fewer days than one of its `cert_alert_days`, or
    /// has expired.
    Certificate,
}

/// How an alert should look: red, green, or grey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    Bad,
    Good,
    Neutral,
}

impl Tone {
    /// The colour as 0xRRGGBB.
    pub fn rgb(self) -> u32 {
        match self {
            Tone::Bad => 0xC6_2828,
            Tone::Good => 0x2E_7D32,
            Tone::Neutral => 0x61_6161,
        }
    }
}

impl AlertKind {
    const ALL: [AlertKind; 6] = [
        AlertKind::Down,
        AlertKind::Up,
        AlertKind::Reminder,
        AlertKind::Paused,
        AlertKind::Test,
        AlertKind::Certificate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Down => "down",
            AlertKind::Up => "up",
            AlertKind::Reminder => "reminder",
            AlertKind::Paused => "paused",
            AlertKind::Test => "test",
            AlertKind::Certificate => "certificate",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Whether the news is bad: a monitor that is down.
    pub fn is_bad(self) -> bool {
        self.tone() == Tone::Bad
    }

    pub fn tone(self) -> Tone {
        match self {
            AlertKind::Down | AlertKind::Reminder => Tone::Bad,
            AlertKind::Up => Tone::Good,
            // A warning, not an outage: while the certificate is valid the target works, and
            // once it has expired the checks fail and a down alert says so in red.
            AlertKind::Paused | AlertKind::Test | AlertKind::Certificate => Tone::Neutral,
        }
    }
}

/// The facts of one alert.
#[derive(Clone, Debug)]
pub struct Alert {
    /// The delivery this alert is, unique: receivers can recognise a repeat by it.
    pub delivery: i64,
    pub kind: AlertKind,
    pub monitor_id: Option<i64>,
    pub monitor: String,
    pub url: String,
    /// When the status changed (for a reminder or test: when the alert was made).
    pub at: Timestamp,
    /// For a monitor down: the error of its first failed check.
    pub cause: Option<CheckError>,
    /// The outage this alert belongs to, for services that group by it.
    pub incident: Option<i64>,
    /// When the outage began.
    pub down_since: Option<Timestamp>,
    /// For `Up`: how long the outage lasted.
    pub outage: Option<Duration>,
    /// The monitor's page, when upbeat knows its public address.
    pub link: Option<String>,
    /// For `Certificate`: when the certificate expires and the threshold of days it crossed.
    pub certificate: Option<CertAlerted>,
}

impl Alert {
    /// A message for a channel's test button.
    pub fn test(channel_name: &str) -> Alert {
        Alert {
            delivery: 0,
            kind: AlertKind::Test,
            monitor_id: None,
            monitor: channel_name.to_owned(),
            url: String::new(),
            at: Timestamp::now(),
            cause: None,
            incident: None,
            down_since: None,
            outage: None,
            link: None,
            certificate: None,
        }
    }

    /// `[DOWN] Home page`, `[UP] Home page`.
    pub fn subject(&self) -> String {
        let tag = match self.kind {
            AlertKind::Down | AlertKind::Reminder => "DOWN",
            AlertKind::Up => "UP",
            AlertKind::Paused => "PAUSED",
            AlertKind::Test => "TEST",
            AlertKind::Certificate => "CERTIFICATE",
        };
        format!("[{tag}] {}", self.monitor)
    }

    /// One sentence: what happened.
    pub fn headline(&self) -> String {
        match self.kind {
            AlertKind::Down => format!("{} is down", self.monitor),
            AlertKind::Reminder => match self.down_for() {
                Some(d) => format!("{} is still down, for {}", self.monitor, format_duration(d)),
                None => format!("{} is still down", self.monitor),
            },
            AlertKind::Up => match self.outage {
                Some(d) => format!(
                    "{} is up again after {} down",
                    self.monitor,
                    format_duration(d)
                ),
                None => format!("{} is up again", self.monitor),
            },
            AlertKind::Paused => format!(
                "{} was paused while down: the outage is no longer watched",
                self.monitor
            ),
            AlertKind::Test => format!(
                "Test alert from upbeat: alerts for {} will arrive here",
                self.monitor
            ),
            AlertKind::Certificate => {
                let when = match self.cert_days_left() {
                    None => "expires soon".to_owned(),
                    Some(left) if left < 0 => "has expired".to_owned(),
                    Some(0) => "expires within a day".to_owned(),
                    Some(1) => "expires in 1 day".to_owned(),
                    Some(left) => format!("expires in {left} days"),
                };
                format!("The certificate of {} {when}", self.monitor)
            }
        }
    }

    /// For a certificate alert: whole days left when the check saw it, negative once expired.
    pub fn cert_days_left(&self) -> Option<i64> {
        self.certificate
            .map(|c| days_left(c.expires_at, self.at))
            .filter(|_| self.kind == AlertKind::Certificate)
    }

    /// The cause in words: `connect: connection refused (203.0.113.7:443)`.
    pub fn cause_text(&self) -> Option<String> {
        self.cause.as_ref().map(CheckError::to_string)
    }

    /// How long the monitor has been down, for a reminder.
    fn down_for(&self) -> Option<Duration> {
        self.down_since.map(|since| self.at.since(since))
    }

    /// The facts as labelled lines, in the order people read them.
    pub fn facts(&self) -> Vec<(&'static str, String)> {
        let mut facts = vec![("Monitor", self.monitor.clone())];
        if !self.url.is_empty() {
            facts.push(("URL", self.url.clone()));
        }
        facts.push(("Time", self.at.to_readable()));
        if let Some(cause) = self.cause_text() {
            facts.push(("Cause", cause));
        }
        if let Some(since) = self.down_since.filter(|_| self.kind.is_bad()) {
            facts.push(("Down since", since.to_readable()));
        }
        if let Some(d) = self.outage.filter(|_| self.kind == AlertKind::Up) {
            facts.push(("Outage", format_duration(d)));
        }
        if let Some(c) = self
            .certificate
            .filter(|_| self.kind == AlertKind::Certificate)
        {
            facts.push(("Certificate expires", c.expires_at.to_readable()));
            facts.push((
                "Threshold",
                match c.days {
                    0 => "expired".to_owned(),
                    1 => "fewer than 1 day left".to_owned(),
                    n => format!("fewer than {n} days left"),
                },
            ));
        }
        facts
    }

    pub fn text(&self) -> String {
        let mut out = format!("{}\n\n", self.headline());
        for (label, value) in self.facts() {
            out.push_str(&format!("{label}: {value}\n"));
        }
        if let Some(link) = &self.link {
            out.push_str(&format!("\n{link}\n"));
        }
        out
    }

    pub fn html(&self) -> String {
        let colour = format!("#{:06x}", self.kind.tone().rgb());
        let mut rows = String::new();
        for (label, value) in self.facts() {
            rows.push_str(&format!(
                "<tr><th align=\"left\" style=\"padding:2px 12px 2px 0\">{}</th><td>{}</td></tr>\n",
                escape_html(label),
                escape_html(&value)
            ));
        }
        let link = self.link.as_ref().map_or(String::new(), |l| {
            format!(
                "<p><a href=\"{}\">Open the monitor in upbeat</a></p>",
                escape_html(l)
            )
        });
        format!(
            "<!doctype html>\n<html><body style=\"font-family:sans-serif\">\n\
             <h2 style=\"color:{colour}\">{}</h2>\n<table>\n{rows}</table>\n{link}\n</body></html>\n",
            escape_html(&self.headline())
        )
    }
}

/// Escapes text for HTML element content and attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` cut to at most `max_chars` characters, the last of them an ellipsis when cut.
pub fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars.saturating_sub(1)) {
        Some((cut, _)) if s.chars().count() > max_chars => format!("{}…", &s[..cut]),
        _ => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probe::ErrorKind;

    #[test]
    fn truncated_text_ends_with_an_ellipsis_within_the_limit() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }

    fn alert(kind: AlertKind) -> Alert {
        Alert {
            delivery: 1,
            kind,
            monitor_id: Some(7),
            monitor: "Shop <main>".into(),
            url: "https://shop.example/health".into(),
            at: Timestamp::from_millis(1_700_000_090_000),
            cause: (kind != AlertKind::Up).then(|| {
                CheckError::new(
                    ErrorKind::Status,
                    "HTTP 503 Service Unavailable (accepted: 200-299)",
                )
            }),
            incident: Some(3),
            down_since: Some(Timestamp::from_millis(1_700_000_000_000)),
            outage: Some(Duration::from_secs(90)),
            link: Some("https://upbeat.example/monitors/7".into()),
            certificate: None,
        }
    }

    fn certificate(expires_in_ms: i64, days: u16) -> Alert {
        let mut a = alert(AlertKind::Certificate);
        a.cause = None;
        a.incident = None;
        a.down_since = None;
        a.outage = None;
        a.certificate = Some(CertAlerted {
            expires_at: Timestamp::from_millis(a.at.as_millis() + expires_in_ms),
            days,
        });
        a
    }

    #[test]
    fn certificate_alerts_say_when_it_expires_and_which_threshold_was_crossed() {
        const DAY: i64 = 86_400_000;
        let soon = certificate(10 * DAY + 3_600_000, 14);
        assert_eq!(soon.subject(), "[CERTIFICATE] Shop <main>");
        assert_eq!(
            soon.headline(),
            "The certificate of Shop <main> expires in 10 days"
        );
        let text = soon.text();
        assert!(
            text.contains("Certificate expires: 2023-11-24 23:14:50 UTC"),
            "{text}"
        );
        assert!(
            text.contains("Threshold: fewer than 14 days left"),
            "{text}"
        );
        assert!(
            !text.contains("Down since") && !text.contains("Outage"),
            "{text}"
        );
        assert_eq!(
            certificate(DAY, 1).headline(),
            "The certificate of Shop <main> expires in 1 day"
        );
        assert_eq!(
            certificate(DAY / 2, 1).headline(),
            "The certificate of Shop <main> expires within a day"
        );
        let expired = certificate(-3 * DAY, 0);
        assert_eq!(
            expired.headline(),
            "The certificate of Shop <main> has expired"
        );
        assert!(expired.text().contains("Threshold: expired"));
        assert_eq!(expired.cert_days_left(), Some(-3));
        assert_eq!(
            AlertKind::parse("certificate"),
            Some(AlertKind::Certificate)
        );
    }

    #[test]
    fn down_and_up_read_as_people_expect() {
        let down = alert(AlertKind::Down);
        assert_eq!(down.subject(), "[DOWN] Shop <main>");
        let text = down.text();
        assert!(text.starts_with("Shop <main> is down\n"), "{text}");
        assert!(text.contains("Cause: status: HTTP 503"), "{text}");
        assert!(text.contains("Time: 2023-11-14 22:14:50 UTC"), "{text}");
        assert!(text.contains("https://upbeat.example/monitors/7"));

        let up = alert(AlertKind::Up);
        assert_eq!(up.subject(), "[UP] Shop <main>");
        assert_eq!(up.headline(), "Shop <main> is up again after 1m30s down");
        assert!(up.text().contains("Outage: 1m30s"));
        assert!(!up.text().contains("Cause"));

        let reminder = alert(AlertKind::Reminder);
        assert_eq!(reminder.headline(), "Shop <main> is still down, for 1m30s");
    }

    #[test]
    fn html_escapes_what_it_shows() {
        let html = alert(AlertKind::Down).html();
        assert!(html.contains("Shop &lt;main&gt; is down"), "{html}");
        assert!(!html.contains("<main>"));
        assert!(html.contains("href=\"https://upbeat.example/monitors/7\""));
    }
}
