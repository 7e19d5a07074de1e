//! What an alert says: the facts of one status change, and their wording as a subject line,
//! plain text and HTML. Each channel module builds its own service's format from these.

use crate::monitor::format_duration;
use crate::probe::CheckError;
use crate::timestamp::Timestamp;
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
    const ALL: [AlertKind; 5] = [
        AlertKind::Down,
        AlertKind::Up,
        AlertKind::Reminder,
        AlertKind::Paused,
        AlertKind::Test,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Down => "down",
            AlertKind::Up => "up",
            AlertKind::Reminder => "reminder",
            AlertKind::Paused => "paused",
            AlertKind::Test => "test",
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
            AlertKind::Paused | AlertKind::Test => Tone::Neutral,
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
        }
    }

    /// `[DOWN] Home page`, `[UP] Home page`.
    pub fn subject(&self) -> String {
        let tag = match self.kind {
            AlertKind::Down | AlertKind::Reminder => "DOWN",
            AlertKind::Up => "UP",
            AlertKind::Paused => "PAUSED",
            AlertKind::Test => "TEST",
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
        }
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
        }
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
