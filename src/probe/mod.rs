//! Runs one check of one monitor and returns its [`Outcome`]. A failing target is an outcome,
//! never an error or a panic; every check ends within the monitor's timeout. Probes do not
//! judge status over time (that is the verdict's) and do not store anything.

mod dns;
mod http;
mod outcome;

pub use dns::DnsSettings;
pub use outcome::{CheckError, ErrorKind, Outcome};

use crate::monitor::{MonitorSpec, format_duration};
use crate::timestamp::Timestamp;
use std::sync::Arc;
use tokio::time::Instant;

/// Runs checks; cheap to clone, shared by every check in flight.
#[derive(Clone)]
pub struct Prober {
    inner: Arc<Inner>,
}

struct Inner {
    resolver: dns::Resolver,
    tls: tokio_rustls::TlsConnector,
}

impl Prober {
    pub fn new(dns: &DnsSettings) -> anyhow::Result<Self> {
        Ok(Prober {
            inner: Arc::new(Inner {
                resolver: dns::Resolver::new(dns)?,
                tls: http::tls_connector()?,
            }),
        })
    }

    pub async fn check(&self, spec: &MonitorSpec) -> Outcome {
        let at = Timestamp::now();
        let started = Instant::now();
        let timeout = spec.timeout();
        let progress = http::Progress::default();
        let result = tokio::time::timeout(
            timeout,
            http::check(spec, &self.inner.resolver, &self.inner.tls, &progress),
        )
        .await;
        let latency_ms = u32::try_from(started.elapsed().as_millis()).unwrap_or(u32::MAX);
        let (status_code, error) = match result {
            Ok(Ok(status)) => (Some(status), None),
            Ok(Err(error)) => (progress.status(), Some(error)),
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
        Outcome {
            at,
            status_code,
            latency_ms,
            error,
        }
    }
}
