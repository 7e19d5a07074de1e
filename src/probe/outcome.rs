//! What one check found: the value every probe returns. A failing target is described here as
//! data (an error kind and a short message), never raised as a Rust error.

use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The result of one check of one monitor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// When the check started.
    pub at: Timestamp,
    /// The HTTP status code of the final response, when one arrived.
    pub status_code: Option<u16>,
    /// Time from the start of the check to its end (or to the failure), in milliseconds.
    pub latency_ms: u32,
    /// Why the check failed; `None` for a passing check.
    pub error: Option<CheckError>,
    /// How long each step took.
    pub phases: Phases,
    /// When the earliest certificate of the target's chain expires, when the check saw one.
    pub cert_expires_at: Option<Timestamp>,
}

/// How long each step of a check took, in milliseconds; `None` for a step that did not happen
/// (no lookup for an address, no handshake over plain HTTP, nothing after a failed step). Over
/// redirects each step's times add up; a step cut short by a timeout counts until then.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phases {
    /// Resolving the host name.
    pub dns_ms: Option<u32>,
    /// Opening the TCP connection.
    pub connect_ms: Option<u32>,
    /// The TLS handshake.
    pub tls_ms: Option<u32>,
    /// From sending the request to the response's head: time to first byte.
    pub ttfb_ms: Option<u32>,
    /// Reading the response body.
    pub transfer_ms: Option<u32>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }
}

/// Why a check failed: a stable machine-readable kind and a short message for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckError {
    pub kind: ErrorKind,
    pub message: String,
}

impl CheckError {
    /// Messages are kept short: they are stored with every failed check.
    pub const MAX_MESSAGE_CHARS: usize = 300;

    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let mut message: String = message.into();
        if let Some((cut, _)) = message.char_indices().nth(Self::MAX_MESSAGE_CHARS) {
            message.truncate(cut);
            message.push('…');
        }
        CheckError { kind, message }
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

/// The step of a check that failed. The names are part of the API: add kinds, never rename them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The host name did not resolve.
    Dns,
    /// No TCP connection could be made (refused, unreachable, reset during connect).
    Connect,
    /// The TLS handshake failed (certificate invalid, expired, wrong name, protocol error).
    Tls,
    /// The check did not finish within its timeout.
    Timeout,
    /// A response arrived with a status code outside the accepted ranges.
    Status,
    /// The response body could not be read (cut short, too large, malformed encoding).
    Body,
    /// A redirect could not be followed (too many, missing or invalid Location).
    Redirect,
    /// The server broke the HTTP protocol (closed the connection, sent garbage).
    Protocol,
    /// The response did not meet one of the monitor's conditions, or an inverted monitor's
    /// check passed.
    Assertion,
    /// More ICMP echo requests were lost than the monitor allows.
    Loss,
    /// A heartbeat's job reported that it failed (a failure ping or a non-zero exit code).
    Reported,
    /// A heartbeat's job did not ping in time.
    Late,
}

impl ErrorKind {
    pub const ALL: [ErrorKind; 12] = [
        ErrorKind::Dns,
        ErrorKind::Connect,
        ErrorKind::Tls,
        ErrorKind::Timeout,
        ErrorKind::Status,
        ErrorKind::Body,
        ErrorKind::Redirect,
        ErrorKind::Protocol,
        ErrorKind::Assertion,
        ErrorKind::Loss,
        ErrorKind::Reported,
        ErrorKind::Late,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Dns => "dns",
            ErrorKind::Connect => "connect",
            ErrorKind::Tls => "tls",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Status => "status",
            ErrorKind::Body => "body",
            ErrorKind::Redirect => "redirect",
            ErrorKind::Protocol => "protocol",
            ErrorKind::Assertion => "assertion",
            ErrorKind::Loss => "loss",
            ErrorKind::Reported => "reported",
            ErrorKind::Late => "late",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let e = CheckError::new(ErrorKind::Body, "é".repeat(1000));
        assert_eq!(e.message.chars().count(), CheckError::MAX_MESSAGE_CHARS + 1);
        assert!(e.message.ends_with('…'));
    }

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in ErrorKind::ALL {
            assert_eq!(ErrorKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
    }
}
