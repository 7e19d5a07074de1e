//! The domain: what a monitor checks, how often, and how many results it takes to change its
//! status. Everything here is valid by construction: settings arrive as JSON and are parsed
//! once, at the edge ([`MonitorInput`]), into types that can only hold valid values.

mod assertions;
mod cert_alert_days;
mod dns;
mod duration;
mod input;
mod kind;
mod schedule;
mod values;

pub use assertions::{
    AnswersValue, Assertions, Condition, Op, Phase, Rule, StatusValue, TextValue,
};
pub use cert_alert_days::CertAlertDays;
pub use dns::{
    DEFAULT_PORT as DEFAULT_DNS_PORT, RecordType, check_name as check_dns_name,
    parse_name as parse_dns_name, parse_server as parse_dns_server,
};
pub use duration::{Interval, RemindEvery, Timeout, format_duration, parse_duration};
pub use input::MonitorInput;
pub use kind::{
    DnsQuestion, Endpoint, Expect, HeartbeatSettings, Host, HttpSettings, Kind, MAX_PACKETS,
    PingSettings, StartTls, Target, TcpSettings, TlsSettings,
};
pub use schedule::{Cron, EARLY_ALLOWANCE, Expectation, Grace, Schedule, TimeZoneName};
pub use values::{Headers, HttpUrl, Method, Name, StatusRanges, Threshold};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MonitorId(pub i64);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub i64);

/// A channel alerts go to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChannelId(pub i64);

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for MonitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Everything about a monitor that its owner chooses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MonitorSpec {
    pub name: Name,
    pub interval: Interval,
    /// The timeout the owner set, if any; see [`MonitorSpec::timeout`] for the one that applies.
    pub explicit_timeout: Option<Timeout>,
    pub failure_threshold: Threshold,
    pub success_threshold: Threshold,
    /// While down, remind the owner this often (never more often than the monitor is checked).
    pub remind_every: Option<RemindEvery>,
    /// Up when the check fails and down when it passes: for what must not be reachable.
    pub inverted: bool,
    /// What the check must also observe.
    pub assertions: Assertions,
    /// What is checked, with the settings of its kind.
    pub target: Target,
}

impl MonitorSpec {
    /// The timeout that applies: the one set, else 10 s, and never longer than the interval.
    pub fn timeout(&self) -> Duration {
        self.explicit_timeout
            .map(Timeout::duration)
            .unwrap_or(Timeout::DEFAULT)
            .min(self.interval.duration())
    }

    pub fn kind(&self) -> Kind {
        self.target.kind()
    }

    /// The address checked, as written in `url`.
    pub fn url(&self) -> &str {
        self.target.url()
    }

    /// What a heartbeat monitor expects of its job; `None` for the kinds upbeat checks itself.
    pub fn expectation(&self) -> Option<Expectation> {
        let Target::Heartbeat(h) = &self.target else {
            return None;
        };
        let schedule = match &h.cron {
            Some((cron, zone)) => Schedule::Cron {
                cron: cron.clone(),
                zone: zone.clone(),
            },
            None => Schedule::Period(self.interval),
        };
        Some(Expectation {
            schedule,
            grace: h.grace,
        })
    }
}

impl HttpSettings {
    /// How many redirects a check follows (0 when following is off).
    pub fn redirect_limit(&self) -> u8 {
        if self.follow_redirects {
            self.max_redirects
        } else {
            0
        }
    }
}
