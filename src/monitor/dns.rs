//! What a `dns` monitor asks: a name that can be asked about, a record type, and the server to
//! ask, each parsed at the edge.

use hickory_proto::rr::Name;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The port DNS servers listen on when none is given.
pub const DEFAULT_PORT: u16 = 53;

/// The record types a `dns` monitor can ask for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Txt,
    Ns,
    Soa,
}

impl RecordType {
    pub const ALL: [RecordType; 7] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Txt,
        RecordType::Ns,
        RecordType::Soa,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RecordType::A => "A",
            RecordType::Aaaa => "AAAA",
            RecordType::Cname => "CNAME",
            RecordType::Mx => "MX",
            RecordType::Txt => "TXT",
            RecordType::Ns => "NS",
            RecordType::Soa => "SOA",
        }
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Case-insensitive: people write `mx` as often as `MX`.
impl FromStr for RecordType {
    type Err = UnknownRecordType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownRecordType(s.to_owned()))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown record type {0:?}; expected one of {list}", list = allowed_types())]
pub struct UnknownRecordType(String);

fn allowed_types() -> String {
    RecordType::ALL.map(RecordType::as_str).join(", ")
}

/// A name that cannot be asked about.
#[derive(Debug, thiserror::Error)]
#[error("{name:?} is not a valid DNS name: {why}")]
pub struct InvalidName {
    name: String,
    why: String,
}

/// A server address people wrote that is neither `ip` nor `ip:port`.
#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a DNS server address: expected an IP address, optionally with :port")]
pub struct InvalidServer(String);

/// Reads a server as people give it: `192.0.2.1`, `192.0.2.1:5353`, `2001:db8::1` or
/// `[2001:db8::1]:5353`; port 53 when none is given.
pub fn parse_server(s: &str) -> Result<SocketAddr, InvalidServer> {
    let s = s.trim();
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(s);
    bare.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, DEFAULT_PORT))
        .map_err(|_| InvalidServer(s.to_owned()))
}

/// Checks that `name` can be asked about, for validating a monitor at the edge.
pub fn check_name(name: &str) -> Result<(), InvalidName> {
    parse_name(name).map(drop)
}

/// Names are absolute: a monitor's question must not depend on this machine's search domains.
pub fn parse_name(name: &str) -> Result<Name, InvalidName> {
    let invalid = |why: String| InvalidName {
        name: name.to_owned(),
        why,
    };
    if name.is_empty() || name.contains(char::is_whitespace) {
        return Err(invalid("empty or containing spaces".to_owned()));
    }
    // Relaxed, because underscores are common in the names TXT records live at
    // (`_dmarc.example.com`, `s1._domainkey.example.com`).
    let mut parsed = Name::from_str_relaxed(name).map_err(|e| invalid(e.to_string()))?;
    parsed.set_fqdn(true);
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_types_parse_in_any_case_and_an_unknown_one_names_the_allowed() {
        for t in RecordType::ALL {
            assert_eq!(t.as_str().parse::<RecordType>().unwrap(), t);
            assert_eq!(t.as_str().to_lowercase().parse::<RecordType>().unwrap(), t);
            assert_eq!(t.to_string(), t.as_str());
        }
        let error = "PTR".parse::<RecordType>().unwrap_err().to_string();
        assert!(error.contains("\"PTR\""), "{error}");
        assert!(
            error.contains("A, AAAA, CNAME, MX, TXT, NS, SOA"),
            "{error}"
        );
        assert!("SRV".parse::<RecordType>().is_err());
    }

    #[test]
    fn servers_are_an_ip_with_port_53_unless_one_is_given() {
        let cases = [
            ("192.0.2.1", "192.0.2.1:53"),
            ("192.0.2.1:5353", "192.0.2.1:5353"),
            ("2001:db8::1", "[2001:db8::1]:53"),
            ("[2001:db8::1]", "[2001:db8::1]:53"),
            ("[2001:db8::1]:5353", "[2001:db8::1]:5353"),
        ];
        for (written, addr) in cases {
            assert_eq!(parse_server(written).unwrap().to_string(), addr);
        }
        for bad in ["", "dns.example.test", "192.0.2.1:dns", "192.0.2.1:70000"] {
            let error = parse_server(bad).unwrap_err().to_string();
            assert!(error.contains("not a DNS server address"), "{error}");
        }
    }
}
