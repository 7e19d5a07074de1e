//! The steps every check over TCP shares: resolving the host, connecting, the TLS handshake,
//! and keeping time of each step so a timeout can say where it struck. Nothing here speaks a
//! protocol above TLS.

use super::dns::Resolver;
use super::{CheckError, ErrorKind, Failure, Phases};
use crate::monitor::Host;
use crate::timestamp::Timestamp;
use rustls::pki_types::{CertificateDer, ServerName};
use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicI64, AtomicU8, AtomicU16, Ordering};
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The step a check is in, kept so that a timeout can say where it struck.
#[derive(Clone, Copy)]
#[repr(u8)]
pub(super) enum Step {
    Resolve,
    Connect,
    Tls,
    Wait,
    Body,
}

impl Step {
    fn describe(raw: u8) -> &'static str {
        match raw {
            x if x == Step::Resolve as u8 => "resolving the host name",
            x if x == Step::Connect as u8 => "connecting",
            x if x == Step::Tls as u8 => "in the TLS handshake",
            x if x == Step::Wait as u8 => "waiting for the response",
            _ => "reading the response body",
        }
    }
}

/// Where a check in progress is and how long each step took, readable after its future was
/// dropped by a timeout.
pub(super) struct Progress {
    step: AtomicU8,
    /// The status code of the last response received, if any.
    pub(super) status: AtomicU16,
    /// The earliest certificate expiry seen, in milliseconds; `i64::MAX` before any.
    expiry: AtomicI64,
    clock: Mutex<StepClock>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress {
            step: AtomicU8::new(0),
            status: AtomicU16::new(0),
            expiry: AtomicI64::new(i64::MAX),
            clock: Mutex::default(),
        }
    }
}

/// The time spent in each step so far, and the step under way with when it began.
#[derive(Default)]
struct StepClock {
    spent: [Option<Duration>; 5],
    current: Option<(Step, Instant)>,
}

impl StepClock {
    /// Counts the step under way until `now`; it is no longer under way.
    fn stop(&mut self, now: Instant) {
        if let Some((step, since)) = self.current.take() {
            let spent = &mut self.spent[step as usize];
            *spent = Some(spent.unwrap_or_default() + now.saturating_duration_since(since));
        }
    }
}

impl Progress {
    pub(super) fn enter(&self, step: Step) {
        self.step.store(step as u8, Ordering::Relaxed);
        let now = Instant::now();
        let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
        clock.stop(now);
        clock.current = Some((step, now));
    }

    /// Ends the step under way: the exchange it belongs to is over.
    pub(super) fn leave(&self) {
        let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
        clock.stop(Instant::now());
    }

    /// The time each step took, the one under way counted until now.
    pub(super) fn phases(&self) -> Phases {
        let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
        clock.stop(Instant::now());
        let ms = |step: Step| {
            clock.spent[step as usize].map(|d| u32::try_from(d.as_millis()).unwrap_or(u32::MAX))
        };
        Phases {
            dns_ms: ms(Step::Resolve),
            connect_ms: ms(Step::Connect),
            tls_ms: ms(Step::Tls),
            ttfb_ms: ms(Step::Wait),
            transfer_ms: ms(Step::Body),
        }
    }

    pub(super) fn step_description(&self) -> &'static str {
        Step::describe(self.step.load(Ordering::Relaxed))
    }

    /// A certificate of the check expires at `at`: the earliest such is the check's.
    pub(super) fn note_expiry(&self, at: Timestamp) {
        self.expiry.fetch_min(at.as_millis(), Ordering::Relaxed);
    }

    pub(super) fn cert_expires_at(&self) -> Option<Timestamp> {
        Some(self.expiry.load(Ordering::Relaxed))
            .filter(|&ms| ms != i64::MAX)
            .map(Timestamp::from_millis)
    }

    pub(super) fn status(&self) -> Option<u16> {
        Some(self.status.load(Ordering::Relaxed)).filter(|&s| s != 0)
    }
}

/// The addresses of `host`: a name is resolved (timed as the lookup step), an address is used
/// as it is. Also the name a TLS handshake would present.
pub(super) async fn addresses(
    host: &Host,
    resolver: &Resolver,
    progress: &Progress,
) -> Result<(Vec<IpAddr>, ServerName<'static>), Failure> {
    Ok(match host {
        Host::Name(name) => {
            progress.enter(Step::Resolve);
            let server_name = ServerName::try_from(name.clone()).map_err(|_| {
                CheckError::new(ErrorKind::Dns, format!("{name:?} is not a valid host name"))
            })?;
            (resolver.resolve(name).await?, server_name)
        }
        Host::Ip(ip) => (vec![*ip], ServerName::from(*ip)),
    })
}

/// Resolves `host` and connects to `port`. Returns the stream and the name a TLS handshake
/// would present.
pub(super) async fn open(
    host: &Host,
    port: u16,
    ways: &super::Ways<'_>,
    progress: &Progress,
) -> Result<(TcpStream, ServerName<'static>), Failure> {
    let (addrs, name) = addresses(host, ways.resolver, progress).await?;
    progress.enter(Step::Connect);
    Ok((connect(&addrs, port, ways.timeout).await?, name))
}

/// A TLS handshake on `io`, the chain checked for `name`. When the chain's first certificate
/// expires is noted in `progress`, also when the handshake failed because it has.
pub(super) async fn handshake<S>(
    tls: &TlsConnector,
    name: ServerName<'static>,
    io: S,
    progress: &Progress,
) -> Result<TlsStream<S>, CheckError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    progress.enter(Step::Tls);
    match tls.connect(name, io).await {
        Ok(stream) => {
            let chain = stream.get_ref().1.peer_certificates();
            if let Some(expires) = chain.and_then(earliest_expiry) {
                progress.note_expiry(expires);
            }
            Ok(stream)
        }
        Err(e) => {
            if let Some(expired) = expired_at(&e) {
                progress.note_expiry(expired);
            }
            Err(CheckError::new(ErrorKind::Tls, tls_failure(&e)))
        }
    }
}

/// The earliest end of validity in a certificate chain.
pub(super) fn earliest_expiry(chain: &[CertificateDer<'_>]) -> Option<Timestamp> {
    use x509_cert::der::Decode;
    chain
        .iter()
        .filter_map(|der| x509_cert::Certificate::from_der(der).ok())
        .map(|cert| {
            let ends = cert.tbs_certificate.validity.not_after.to_unix_duration();
            Timestamp::from_millis(i64::try_from(ends.as_millis()).unwrap_or(i64::MAX))
        })
        .min()
}

/// When the certificate expired, when a handshake failed for that reason.
fn expired_at(e: &std::io::Error) -> Option<Timestamp> {
    let tls = e.get_ref()?.downcast_ref::<rustls::Error>()?;
    match tls {
        rustls::Error::InvalidCertificate(rustls::CertificateError::ExpiredContext {
            not_after,
            ..
        }) => {
            let ends = UNIX_EPOCH + Duration::from_secs(not_after.as_secs());
            let ms = ends.duration_since(UNIX_EPOCH).ok()?.as_millis();
            Some(Timestamp::from_millis(i64::try_from(ms).ok()?))
        }
        _ => None,
    }
}

/// Tries each address in turn, each with its share of the timeout, so one address that drops
/// packets does not use up the whole check. The last failure is the one reported.
pub(super) async fn connect(
    addrs: &[IpAddr],
    port: u16,
    timeout: Duration,
) -> Result<TcpStream, Failure> {
    let share = (timeout / u32::try_from(addrs.len()).unwrap_or(u32::MAX).max(1))
        .max(Duration::from_millis(250));
    let mut last = None;
    for &ip in addrs {
        let addr = SocketAddr::new(ip, port);
        match tokio::time::timeout(share, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                // Requests are small; sending them at once shortens every check.
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) if super::is_local_failure(&e) => {
                return Err(Failure::Local(format!("connecting to {addr}: {e}")));
            }
            Ok(Err(e)) => last = Some((addr, io_failure(&e))),
            Err(_) => last = Some((addr, "connection timed out".to_owned())),
        }
    }
    Err(match last {
        Some((addr, why)) => CheckError::new(ErrorKind::Connect, format!("{why} ({addr})")).into(),
        None => CheckError::new(ErrorKind::Dns, "the host name has no addresses").into(),
    })
}

/// A short description of a connection error, without the OS error number.
pub(super) fn io_failure(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::TimedOut => "connection timed out".into(),
        K::HostUnreachable => "host unreachable".into(),
        K::NetworkUnreachable => "network unreachable".into(),
        K::AddrNotAvailable => "address not available".into(),
        _ => e.to_string(),
    }
}

fn tls_failure(e: &std::io::Error) -> String {
    match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(tls) => tls.to_string(),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the TLS handshake".into()
        }
        None => io_failure(e),
    }
}

/// An error and its causes, as one line.
pub(super) fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}
