//! Runs one check of one monitor and returns its [`Outcome`]. A failing target is an outcome,
//! never an error or a panic; every check ends within the monitor's timeout. Probes do not
//! judge status over time (that is the verdict's) and do not store anything.

mod assertions;
mod connection;
mod dns;
mod dns_query;
mod echo;
mod http;
mod lookup;
mod outcome;
mod ping;
mod tcp;
mod tls;

pub use dns::DnsSettings;
pub use outcome::{CheckError, ErrorKind, Outcome, Phases};

use crate::fields::FieldError;
use crate::monitor::{Host, MonitorSpec, Target, format_duration};
use crate::timestamp::Timestamp;
use ::http::HeaderMap;
use bytes::Bytes;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

/// Runs checks; cheap to clone, shared by every check in flight.
#[derive(Clone)]
pub struct Prober {
    inner: Arc<Inner>,
}

struct Inner {
    resolver: dns::Resolver,
    /// For DNS checks: asks afresh every time, with no cache.
    querier: dns_query::DnsQuerier,
    /// For HTTPS: offers HTTP/1.1 by ALPN.
    http_tls: TlsConnector,
    /// For TLS checks of other protocols: offers no application protocol.
    plain_tls: TlsConnector,
}

/// What a check may use to reach its target.
struct Ways<'a> {
    resolver: &'a dns::Resolver,
    http_tls: &'a TlsConnector,
    plain_tls: &'a TlsConnector,
    timeout: Duration,
    /// When the check's timeout strikes.
    deadline: Instant,
}

/// What a passing check observed, for the monitor's conditions.
#[derive(Default)]
struct Observed {
    /// The final HTTP status code.
    status: Option<u16>,
    headers: HeaderMap,
    /// The response body or the reply, when conditions need it.
    body: Bytes,
    /// A DNS answer's response code and records.
    rcode: Option<String>,
    answers: Vec<String>,
    /// What the check's latency is instead of its whole duration (a ping's round trip).
    latency: Option<Duration>,
}

impl Prober {
    /// `tls`: the certificates checks trust (see [`crate::tls::client_config`]).
    pub fn new(dns: &DnsSettings, tls: rustls::ClientConfig) -> anyhow::Result<Self> {
        Ok(Prober {
            inner: Arc::new(Inner {
                resolver: dns::Resolver::new(dns)?,
                querier: dns_query::DnsQuerier::new(),
                http_tls: http::tls_connector(tls.clone()),
                plain_tls: TlsConnector::from(Arc::new(tls)),
            }),
        })
    }

    /// Refuses a monitor this machine cannot check: a ping where ICMP sockets are not allowed.
    pub fn can_check(&self, spec: &MonitorSpec) -> Result<(), FieldError> {
        match &spec.target {
            Target::Ping(p) => {
                let v6 = matches!(p.host, Host::Ip(IpAddr::V6(_)));
                ping::available(v6).map_err(|e| FieldError::new("kind", e.to_string()))
            }
            _ => Ok(()),
        }
    }

    pub async fn check(&self, spec: &MonitorSpec) -> Result<Outcome, LocalFailure> {
        let at = Timestamp::now();
        let started = Instant::now();
        let timeout = spec.timeout();
        let progress = connection::Progress::default();
        let ways = Ways {
            resolver: &self.inner.resolver,
            http_tls: &self.inner.http_tls,
            plain_tls: &self.inner.plain_tls,
            timeout,
            deadline: started + timeout,
        };
        let run = async {
            match &spec.target {
                Target::Http(h) => {
                    http::check(h, &ways, spec.assertions.need_body(), &progress).await
                }
                Target::Tcp(t) => tcp::check(t, &ways, &progress).await,
                Target::Tls(t) => tls::check(t, &ways, &progress).await,
                Target::Dns(d) => {
                    let querier = &self.inner.querier;
                    lookup::check(d, querier, &spec.assertions, &ways, &progress).await
                }
                Target::Ping(p) => echo::check(p, &ways, &progress).await,
                // Never scheduled, and refused as a trial: the job reports, upbeat does not ask.
                Target::Heartbeat(_) => Err(Failure::Local(
                    "a heartbeat monitor is not checked: its job pings it".to_owned(),
                )),
            }
        };
        let result = tokio::time::timeout(timeout, run).await;
        let ms = |d: Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
        let latency_ms = match &result {
            Ok(Ok(Observed {
                latency: Some(rtt), ..
            })) => ms(*rtt),
            _ => ms(started.elapsed()),
        };
        let phases = progress.phases();
        let cert_expires_at = progress.cert_expires_at();
        let (status_code, error) = match result {
            Ok(Ok(observed)) => {
                let judged = assertions::Judged {
                    observed: &observed,
                    latency_ms,
                    phases,
                    at,
                    cert_expires_at,
                };
                let failed = assertions::first_failure(&spec.assertions, &judged)
                    .map(|why| CheckError::new(ErrorKind::Assertion, why));
                (observed.status, failed)
            }
            Ok(Err(Failure::Target(error))) => (progress.status(), Some(error)),
            Ok(Err(Failure::Local(why))) => return Err(LocalFailure(why)),
            Err(_elapsed) => (
                progress.status(),
                Some(CheckError::new(
                    ErrorKind::Timeout,
                    format!(
                        "no answer within {} ({})",
                        format_duration(timeout),
                        progress.step_description()
                    ),
                )),
            ),
        };
        // An inverted monitor is up exactly when its check fails.
        let error = match (spec.inverted, error) {
            (false, error) => error,
            (true, Some(_)) => None,
            (true, None) => Some(CheckError::new(
                ErrorKind::Assertion,
                "the check passed, and this monitor is up only while its check fails",
            )),
        };
        Ok(Outcome {
            at,
            status_code,
            latency_ms,
            error,
            phases,
            cert_expires_at,
        })
    }
}

/// This machine could not make a check: it ran out of file descriptors, ports or memory.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LocalFailure(String);

/// How a step of a check failed.
enum Failure {
    /// The target failed; this is recorded as the check's error.
    Target(CheckError),
    /// This machine failed.
    Local(String),
}

impl From<CheckError> for Failure {
    fn from(e: CheckError) -> Self {
        Failure::Target(e)
    }
}

/// Errors that come from running short of our own resources, not from the target.
fn is_local_failure(e: &std::io::Error) -> bool {
    use std::io::ErrorKind as K;
    matches!(e.kind(), K::AddrNotAvailable | K::OutOfMemory)
        || e.raw_os_error().is_some_and(|code| {
            [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM].contains(&code)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    #[test]
    fn running_out_of_our_own_resources_is_not_the_targets_failure() {
        for code in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(
                is_local_failure(&io::Error::from_raw_os_error(code)),
                "{code}"
            );
        }
        assert!(is_local_failure(&io::Error::from(
            io::ErrorKind::AddrNotAvailable
        )));
        for code in [
            libc::ECONNREFUSED,
            libc::EHOSTUNREACH,
            libc::ETIMEDOUT,
            libc::ECONNRESET,
        ] {
            assert!(
                !is_local_failure(&io::Error::from_raw_os_error(code)),
                "{code}"
            );
        }
    }
}
