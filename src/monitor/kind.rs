//! What a monitor checks, by kind: an HTTP request, a TCP connection, a TLS handshake, a DNS
//! question, ICMP echo requests, or nothing at all for a heartbeat, which waits to be pinged. Each
//! kind's settings are parsed here from their own JSON fields and written back the same way;
//! settings every kind shares (name, interval, thresholds) are the caller's.

use super::assertions::Pattern;
use super::dns::{RecordType, check_name, parse_server};
use super::schedule::{Cron, Grace, TimeZoneName};
use super::{Assertions, CertAlertDays, Headers, HttpUrl, Method, StatusRanges};
use crate::fields::{FieldError, Fields};
use regex::RegexBuilder;
use serde_json::{Map, Value};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use url::Url;

/// The kinds of monitor. The names are part of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Http,
    Tcp,
    Tls,
    Dns,
    Ping,
    /// No check: the job being watched pings upbeat, which notices when it does not.
    Heartbeat,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::Http,
        Kind::Tcp,
        Kind::Tls,
        Kind::Dns,
        Kind::Ping,
        Kind::Heartbeat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Http => "http",
            Kind::Tcp => "tcp",
            Kind::Tls => "tls",
            Kind::Dns => "dns",
            Kind::Ping => "ping",
            Kind::Heartbeat => "heartbeat",
        }
    }

    pub fn parse(field: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                FieldError::new(field, "must be one of http, tcp, tls, dns, ping, heartbeat")
            })
    }

    /// The settings only monitors of this kind have.
    pub fn own_settings(self) -> &'static [&'static str] {
        match self {
            Kind::Http => &[
                "method",
                "headers",
                "body",
                "follow_redirects",
                "max_redirects",
                "accepted_status",
                "cert_alert_days",
            ],
            Kind::Tcp => &["send", "expect"],
            Kind::Tls => &["starttls", "cert_alert_days"],
            Kind::Dns => &["record_type", "resolver"],
            Kind::Ping => &["packets", "max_loss_percent"],
            Kind::Heartbeat => &["grace", "cron", "timezone"],
        }
    }

    /// The condition subjects a check of this kind observes.
    fn subjects(self) -> &'static [&'static str] {
        match self {
            Kind::Http => &["status", "latency", "body", "json", "header", "cert_days"],
            Kind::Tcp => &["latency"],
            Kind::Tls => &["latency", "cert_days"],
            Kind::Dns => &["latency", "rcode", "answers"],
            Kind::Ping => &["latency"],
            Kind::Heartbeat => &[],
        }
    }

    /// Whether upbeat reaches out to check: every kind but the heartbeat, which is pinged.
    pub fn is_probed(self) -> bool {
        self != Kind::Heartbeat
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a monitor checks, with the settings of its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Http(HttpSettings),
    Tcp(TcpSettings),
    Tls(TlsSettings),
    Dns(DnsQuestion),
    Ping(PingSettings),
    Heartbeat(HeartbeatSettings),
}

/// A heartbeat: the job pings upbeat, once per period (the monitor's interval) or at the times
/// of a cron expression, each time within `grace`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeartbeatSettings {
    pub grace: Grace,
    /// Runs at these times on the zone's wall clock instead of once per interval.
    pub cron: Option<(Cron, TimeZoneName)>,
}

/// A DNS check: a question about `name` for one record type, to `resolver` or the system's.
/// With no condition on them, the response code must be NOERROR with at least one answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsQuestion {
    name: String,
    pub record_type: RecordType,
    /// The server asked; the system's first nameserver when `None`.
    pub resolver: Option<SocketAddr>,
    written: String,
}

impl DnsQuestion {
    /// The name asked about.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A ping check: `packets` ICMP echo requests; more than `max_loss_percent` lost is a failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingSettings {
    pub host: Host,
    pub packets: u8,
    pub max_loss_percent: u8,
    written: String,
}

/// How an HTTP check is made and what counts as success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpSettings {
    pub url: HttpUrl,
    pub method: Method,
    pub headers: Headers,
    pub body: Option<String>,
    pub follow_redirects: bool,
    pub max_redirects: u8,
    pub accepted_status: StatusRanges,
    /// Days before the certificate expires to alert at (an https URL's).
    pub cert_alert_days: CertAlertDays,
}

/// A TCP check: the port accepts a connection; optionally, after `send`, the reply matches
/// `expect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSettings {
    pub endpoint: Endpoint,
    pub send: Option<String>,
    pub expect: Option<Expect>,
}

/// A TLS check: the handshake succeeds and the chain is valid for the host name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub endpoint: Endpoint,
    /// Upgrade a plain connection first, as a mail server expects.
    pub starttls: Option<StartTls>,
    /// Days before the certificate expires to alert at.
    pub cert_alert_days: CertAlertDays,
}

/// The protocols whose plain connections a TLS check can upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartTls {
    Smtp,
}

impl StartTls {
    pub fn as_str(self) -> &'static str {
        match self {
            StartTls::Smtp => "smtp",
        }
    }
}

/// A pattern a reply must match.
#[derive(Clone, Debug)]
pub struct Expect(pub Pattern);

impl PartialEq for Expect {
    fn eq(&self, other: &Self) -> bool {
        self.0.source == other.0.source
    }
}

impl Eq for Expect {}

/// A host and port written as `scheme://host:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    host: Host,
    port: u16,
    written: String,
}

/// A host name or an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

impl Endpoint {
    /// Parses `scheme://host:port`; `default_port` applies when the port is left out.
    fn parse(
        field: &str,
        s: &str,
        scheme: &str,
        default_port: Option<u16>,
    ) -> Result<Self, FieldError> {
        let form = match default_port {
            Some(_) => format!("must be {scheme}://host or {scheme}://host:port"),
            None => format!("must be {scheme}://host:port"),
        };
        let (host, port) = host_url(field, s, scheme, &form)?;
        let port = port
            .or(default_port)
            .filter(|&p| p != 0)
            .ok_or_else(|| FieldError::new(field, form))?;
        Ok(Endpoint {
            written: format!("{scheme}://{host}:{port}"),
            host,
            port,
        })
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn as_str(&self) -> &str {
        &self.written
    }

    /// The host as written, for a name when none is given.
    fn host_text(&self) -> String {
        host_text(&self.host)
    }
}

fn host_text(host: &Host) -> String {
    match host {
        Host::Name(n) => n.clone(),
        Host::Ip(ip) => ip.to_string(),
    }
}

/// As a URL writes it: an IPv6 address in brackets.
impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(ip)) => write!(f, "[{ip}]"),
            Host::Ip(ip) => ip.fmt(f),
            Host::Name(name) => f.write_str(name),
        }
    }
}

/// Reads `scheme://host[:port]` with nothing else (no path, query or credentials); `form` says
/// what is expected when it is something else. Host names are lower-cased.
fn host_url(
    field: &str,
    s: &str,
    scheme: &str,
    form: &str,
) -> Result<(Host, Option<u16>), FieldError> {
    let url = Url::parse(s.trim()).map_err(|_| FieldError::new(field, form))?;
    let bare = url.path().is_empty() || url.path() == "/";
    if url.scheme() != scheme
        || !bare
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(FieldError::new(field, form));
    }
    let raw = url.host_str().filter(|h| !h.is_empty());
    let raw = raw.ok_or_else(|| FieldError::new(field, "must name a host"))?;
    let unbracketed = raw.trim_start_matches('[').trim_end_matches(']');
    let host = match unbracketed.parse::<IpAddr>() {
        Ok(ip) => Host::Ip(ip),
        Err(_) => Host::Name(raw.to_ascii_lowercase()),
    };
    Ok((host, url.port()))
}

/// Echo requests per check, at most.
pub const MAX_PACKETS: u8 = 10;
const DEFAULT_PACKETS: u8 = 3;
/// Up to half the packets may be lost: a lost packet now and then is no outage.
const DEFAULT_MAX_LOSS_PERCENT: u8 = 50;

fn dns(url: &str, f: &Fields<'_>) -> Result<DnsQuestion, FieldError> {
    let form = "must be dns://name, e.g. dns://example.com";
    let name = url
        .trim()
        .strip_prefix("dns://")
        .ok_or_else(|| FieldError::new("url", form))?
        .trim_end_matches('/')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    if name.is_empty() || name.contains(['/', '?', '#', ':', '@']) {
        return Err(FieldError::new("url", form));
    }
    check_name(&name).map_err(|e| FieldError::new("url", e.to_string()))?;
    Ok(DnsQuestion {
        written: format!("dns://{name}"),
        name,
        record_type: match f.str("record_type")? {
            None => RecordType::A,
            Some(t) => t.parse().map_err(|e: super::dns::UnknownRecordType| {
                FieldError::new("record_type", e.to_string())
            })?,
        },
        resolver: f
            .str("resolver")?
            .map(|r| parse_server(r).map_err(|e| FieldError::new("resolver", e.to_string())))
            .transpose()?,
    })
}

fn ping(url: &str, f: &Fields<'_>) -> Result<PingSettings, FieldError> {
    let form = "must be ping://host, e.g. ping://192.0.2.1 or ping://example.com";
    let (host, port) = host_url("url", url, "ping", form)?;
    if port.is_some() {
        return Err(FieldError::new("url", form));
    }
    match host {
        Host::Ip(ip) if ip.is_unspecified() || ip.is_multicast() => {
            return Err(FieldError::new(
                "url",
                "must be an address that can answer: not unspecified or multicast",
            ));
        }
        Host::Ip(IpAddr::V4(v4)) if v4.is_broadcast() => {
            return Err(FieldError::new("url", "must not be a broadcast address"));
        }
        _ => {}
    }
    let packets = match f.u64("packets")? {
        None => DEFAULT_PACKETS,
        Some(n) => u8::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_PACKETS).contains(n))
            .ok_or_else(|| FieldError::new("packets", "must be between 1 and 10"))?,
    };
    let max_loss_percent = match f.u64("max_loss_percent")? {
        None => DEFAULT_MAX_LOSS_PERCENT,
        Some(n) => u8::try_from(n)
            .ok()
            .filter(|n| *n < 100)
            .ok_or_else(|| FieldError::new("max_loss_percent", "must be between 0 and 99"))?,
    };
    Ok(PingSettings {
        written: format!("ping://{host}"),
        host,
        packets,
        max_loss_percent,
    })
}

/// A heartbeat's own settings. There is no `url`: the job reaches upbeat, not the other way.
fn heartbeat(f: &Fields<'_>) -> Result<HeartbeatSettings, FieldError> {
    let grace = match f.get("grace") {
        Some(v) => Grace::parse("grace", v)?,
        None => Grace::DEFAULT,
    };
    let cron = match (f.str("cron")?, f.str("timezone")?) {
        (Some(cron), zone) => Some((
            Cron::parse("cron", cron)?,
            match zone {
                Some(z) => TimeZoneName::parse("timezone", z)?,
                None => TimeZoneName::utc(),
            },
        )),
        (None, Some(_)) => {
            return Err(FieldError::new(
                "timezone",
                "applies only with cron: a period counts the same in every zone",
            ));
        }
        (None, None) => None,
    };
    Ok(HeartbeatSettings { grace, cron })
}

const MAX_REDIRECTS_LIMIT: u64 = 20;
const DEFAULT_MAX_REDIRECTS: u8 = 10;
const MAX_BODY_BYTES: usize = 64 * 1024;
/// A pattern for a reply compiles to at most this much memory.
const EXPECT_SIZE_LIMIT: usize = 256 * 1024;

impl Target {
    pub fn kind(&self) -> Kind {
        match self {
            Target::Http(_) => Kind::Http,
            Target::Tcp(_) => Kind::Tcp,
            Target::Tls(_) => Kind::Tls,
            Target::Dns(_) => Kind::Dns,
            Target::Ping(_) => Kind::Ping,
            Target::Heartbeat(_) => Kind::Heartbeat,
        }
    }

    /// The address checked, as the owner wrote it in `url`; empty for a heartbeat, which has none.
    pub fn url(&self) -> &str {
        match self {
            Target::Http(h) => h.url.as_str(),
            Target::Tcp(t) => t.endpoint.as_str(),
            Target::Tls(t) => t.endpoint.as_str(),
            Target::Dns(d) => &d.written,
            Target::Ping(p) => &p.written,
            Target::Heartbeat(_) => "",
        }
    }

    /// The host, for a name when none is given.
    pub fn host(&self) -> String {
        match self {
            Target::Http(h) => h.url.host().to_owned(),
            Target::Tcp(t) => t.endpoint.host_text(),
            Target::Tls(t) => t.endpoint.host_text(),
            Target::Dns(d) => d.name.clone(),
            Target::Ping(p) => host_text(&p.host),
            Target::Heartbeat(_) => "heartbeat".to_owned(),
        }
    }

    /// Parses the `url` and the settings of `kind` from `f`.
    pub fn parse(kind: Kind, f: &Fields<'_>) -> Result<Self, FieldError> {
        let url = || {
            f.str("url")?
                .ok_or_else(|| FieldError::new("url", "is required"))
        };
        Ok(match kind {
            Kind::Http => Target::Http(http(HttpUrl::parse("url", url()?)?, f)?),
            Kind::Tcp => Target::Tcp(TcpSettings {
                endpoint: Endpoint::parse("url", url()?, "tcp", None)?,
                send: match f.str("send")? {
                    Some(s) if s.len() > MAX_BODY_BYTES => {
                        return Err(FieldError::new("send", "must be at most 64 KiB"));
                    }
                    send => send.map(str::to_owned),
                },
                expect: f.str("expect")?.map(expect).transpose()?,
            }),
            Kind::Tls => Target::Tls(TlsSettings {
                endpoint: Endpoint::parse("url", url()?, "tls", Some(443))?,
                starttls: match f.str("starttls")? {
                    None => None,
                    Some("smtp") => Some(StartTls::Smtp),
                    Some(_) => {
                        return Err(FieldError::new(
                            "starttls",
                            "must be \"smtp\", or null for TLS from the first byte",
                        ));
                    }
                },
                cert_alert_days: cert_alert_days(f)?,
            }),
            Kind::Dns => Target::Dns(dns(url()?, f)?),
            Kind::Ping => Target::Ping(ping(url()?, f)?),
            Kind::Heartbeat => Target::Heartbeat(heartbeat(f)?),
        })
    }

    /// When to alert before the certificate expires: never for kinds that see none.
    pub fn cert_alert_days(&self) -> CertAlertDays {
        match self {
            Target::Http(h) => h.cert_alert_days,
            Target::Tls(t) => t.cert_alert_days,
            Target::Tcp(_) | Target::Dns(_) | Target::Ping(_) | Target::Heartbeat(_) => {
                CertAlertDays::NONE
            }
        }
    }

    /// Refuses conditions a check of this kind cannot judge.
    pub fn check_assertions(&self, assertions: &Assertions) -> Result<(), FieldError> {
        let kind = self.kind();
        for (i, c) in assertions.conditions().enumerate() {
            let subject = c.subject();
            let field = || assertions.field_of(i, "subject");
            if !kind.subjects().contains(&subject) {
                return Err(FieldError::new(
                    field(),
                    format!(
                        "{subject} does not apply to {kind} monitors (they allow {})",
                        kind.subjects().join(", ")
                    ),
                ));
            }
            if let Target::Http(h) = self
                && subject == "cert_days"
                && h.url.url().scheme() != "https"
            {
                return Err(FieldError::new(field(), "cert_days needs an https:// URL"));
            }
        }
        Ok(())
    }

    /// Writes the `url` and the settings of the kind into `m`.
    pub fn write_json(&self, m: &mut Map<String, Value>) {
        let url = match self {
            Target::Heartbeat(_) => Value::Null,
            other => other.url().into(),
        };
        m.insert("url".into(), url);
        let optional = |s: &Option<String>| s.clone().map_or(Value::Null, Value::from);
        match self {
            Target::Http(h) => {
                let headers: Map<String, Value> = h
                    .headers
                    .iter()
                    .map(|(k, v)| {
                        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
                        (k.as_str().to_owned(), Value::from(v))
                    })
                    .collect();
                m.insert("method".into(), h.method.as_str().into());
                m.insert("headers".into(), headers.into());
                m.insert("body".into(), optional(&h.body));
                m.insert("follow_redirects".into(), h.follow_redirects.into());
                m.insert("max_redirects".into(), h.max_redirects.into());
                m.insert(
                    "accepted_status".into(),
                    h.accepted_status.to_strings().into(),
                );
                m.insert("cert_alert_days".into(), h.cert_alert_days.to_json());
            }
            Target::Tcp(t) => {
                m.insert("send".into(), optional(&t.send));
                let expect = t.expect.as_ref().map(|e| e.0.source.clone());
                m.insert("expect".into(), optional(&expect));
            }
            Target::Tls(t) => {
                let starttls = t.starttls.map(|s| s.as_str().to_owned());
                m.insert("starttls".into(), optional(&starttls));
                m.insert("cert_alert_days".into(), t.cert_alert_days.to_json());
            }
            Target::Dns(d) => {
                m.insert("record_type".into(), d.record_type.as_str().into());
                let resolver = d.resolver.map(|r| r.to_string());
                m.insert("resolver".into(), optional(&resolver));
            }
            Target::Ping(p) => {
                m.insert("packets".into(), p.packets.into());
                m.insert("max_loss_percent".into(), p.max_loss_percent.into());
            }
            Target::Heartbeat(h) => {
                m.insert("grace".into(), h.grace.to_string().into());
                let (cron, zone) = match &h.cron {
                    Some((cron, zone)) => (cron.as_str().into(), zone.as_str().into()),
                    None => (Value::Null, Value::Null),
                };
                m.insert("cron".into(), cron);
                m.insert("timezone".into(), zone);
            }
        }
    }
}

fn http(url: HttpUrl, f: &Fields<'_>) -> Result<HttpSettings, FieldError> {
    let headers = match f.object("headers")? {
        None => Headers::default(),
        Some(h) => {
            let mut pairs = Vec::with_capacity(h.len());
            for (k, v) in h {
                let v = v
                    .as_str()
                    .ok_or_else(|| FieldError::new(format!("headers.{k}"), "must be a string"))?;
                pairs.push((k.as_str(), v));
            }
            Headers::parse("headers", pairs)?
        }
    };
    let body = f.str("body")?.map(str::to_owned);
    if body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
        return Err(FieldError::new("body", "must be at most 64 KiB"));
    }
    let max_redirects = match f.u64("max_redirects")? {
        None => DEFAULT_MAX_REDIRECTS,
        Some(n) if n <= MAX_REDIRECTS_LIMIT => n as u8,
        Some(_) => return Err(FieldError::new("max_redirects", "must be between 0 and 20")),
    };
    Ok(HttpSettings {
        url,
        method: match f.str("method")? {
            Some(m) => Method::parse("method", m)?,
            None => Method::default(),
        },
        headers,
        body,
        follow_redirects: f.bool("follow_redirects")?.unwrap_or(true),
        max_redirects,
        accepted_status: match f.array("accepted_status")? {
            None => StatusRanges::default(),
            Some(items) => StatusRanges::parse("accepted_status", items)?,
        },
        cert_alert_days: cert_alert_days(f)?,
    })
}

fn cert_alert_days(f: &Fields<'_>) -> Result<CertAlertDays, FieldError> {
    CertAlertDays::parse("cert_alert_days", f.array("cert_alert_days")?)
}

fn expect(source: &str) -> Result<Expect, FieldError> {
    if source.is_empty() {
        return Err(FieldError::new("expect", "must not be empty"));
    }
    let regex = RegexBuilder::new(source)
        .size_limit(EXPECT_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            let why = e.to_string();
            let why = why.lines().last().unwrap_or("invalid").trim().to_owned();
            FieldError::new("expect", format!("is not a regular expression: {why}"))
        })?;
    Ok(Expect(Pattern {
        source: source.to_owned(),
        regex,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_need_their_scheme_a_host_and_a_port() {
        let e = Endpoint::parse("url", " tcp://DB.example.com:5432 ", "tcp", None).unwrap();
        assert_eq!(e.host(), &Host::Name("db.example.com".into()));
        assert_eq!((e.port(), e.as_str()), (5432, "tcp://db.example.com:5432"));
        let e = Endpoint::parse("url", "tcp://[::1]:22", "tcp", None).unwrap();
        assert_eq!(e.host(), &Host::Ip("::1".parse().unwrap()));
        assert_eq!(e.as_str(), "tcp://[::1]:22");
        let e = Endpoint::parse("url", "tls://127.0.0.1", "tls", Some(443)).unwrap();
        assert_eq!(e.as_str(), "tls://127.0.0.1:443");
        for bad in [
            "tcp://db",
            "tcp://db:0",
            "http://db:80",
            "tcp://:80",
            "tcp://db:80/path",
            "tcp://u:p@db:80",
            "db:80",
            "tcp://db:99999",
        ] {
            let e = Endpoint::parse("url", bad, "tcp", None).unwrap_err();
            assert_eq!(e.field, "url", "{bad}");
        }
    }
}
