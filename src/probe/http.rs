//! One HTTP(S) check: resolve, connect, TLS handshake, request, read the response, follow
//! redirects, and judge the status code. Each step is run here, not hidden in a client library,
//! so a failure is attributed to the step that failed. Every check opens a fresh connection:
//! a reused one would hide a target that no longer accepts connections.

use super::dns::Resolver;
use super::{CheckError, ErrorKind, Failure, Phases};
use crate::monitor::MonitorSpec;
use base64::Engine;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};
use std::pin::pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::{Host, Url};

/// Bytes of a response body read at most; the rest is not needed to judge the check.
const BODY_READ_LIMIT: usize = 1024 * 1024;
const USER_AGENT: &str = concat!("upbeat/", env!("CARGO_PKG_VERSION"));

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
#[derive(Default)]
pub(super) struct Progress {
    step: AtomicU8,
    /// The status code of the last response received, if any.
    status: std::sync::atomic::AtomicU16,
    clock: Mutex<StepClock>,
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
    fn enter(&self, step: Step) {
        self.step.store(step as u8, Ordering::Relaxed);
        let now = Instant::now();
        let mut clock = self.clock.lock().unwrap_or_else(PoisonError::into_inner);
        clock.stop(now);
        clock.current = Some((step, now));
    }

    /// Ends the step under way: the exchange it belongs to is over.
    fn leave(&self) {
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

    pub(super) fn status(&self) -> Option<u16> {
        Some(self.status.load(Ordering::Relaxed)).filter(|&s| s != 0)
    }
}

/// A response as far as a check needs it.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    /// The body, when the monitor's conditions need it.
    body: Bytes,
}

/// The final response of a check, for the monitor's conditions.
pub(super) struct Response {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// What the request of the current hop carries.
struct Hop {
    url: Url,
    method: Method,
    body: Bytes,
    /// Still on the origin of the monitor's URL: the owner's headers and credentials are not
    /// sent on to another origin.
    same_origin: bool,
}

/// Runs the check to its end (the caller bounds it with the timeout). Returns the final
/// response, or the failure with the status code when a response arrived.
pub(super) async fn check(
    spec: &MonitorSpec,
    resolver: &Resolver,
    tls: &TlsConnector,
    progress: &Progress,
) -> Result<Response, Failure> {
    let keep_body = spec.http.assertions.need_body();
    let origin = origin(spec.url.url());
    let mut hop = Hop {
        url: spec.url.url().clone(),
        method: spec.http.method.to_http(),
        body: spec.http.body.clone().map(Bytes::from).unwrap_or_default(),
        same_origin: true,
    };
    let limit = spec.redirect_limit();
    let mut followed = 0u8;
    loop {
        let request = build_request(spec, &hop)?;
        let answer = exchange(
            &hop.url,
            request,
            resolver,
            tls,
            spec.timeout(),
            keep_body,
            progress,
        )
        .await?;
        let status = answer.status.as_u16();
        progress.status.store(status, Ordering::Relaxed);
        if answer.status.is_redirection() && limit > 0 && status != 304 {
            if followed == limit {
                return Err(CheckError::new(
                    ErrorKind::Redirect,
                    format!("more than {limit} redirects"),
                )
                .into());
            }
            hop = next_hop(hop, answer, &origin)?;
            followed += 1;
            continue;
        }
        return if spec.http.accepted_status.accepts(status) {
            Ok(Response {
                status,
                headers: answer.headers,
                body: answer.body,
            })
        } else {
            Err(Failure::Target(CheckError::new(
                ErrorKind::Status,
                format!(
                    "HTTP {status}{} (accepted: {})",
                    answer
                        .status
                        .canonical_reason()
                        .map(|r| format!(" {r}"))
                        .unwrap_or_default(),
                    spec.http.accepted_status
                ),
            )))
        };
    }
}

fn origin(url: &Url) -> (String, Option<String>, Option<u16>) {
    (
        url.scheme().to_owned(),
        url.host_str().map(str::to_owned),
        url.port_or_known_default(),
    )
}

/// Where a redirect leads, with the method and body a browser would use for it.
fn next_hop(
    hop: Hop,
    answer: Answer,
    first_origin: &(String, Option<String>, Option<u16>),
) -> Result<Hop, CheckError> {
    let status = answer.status.as_u16();
    let location = answer.headers.get(header::LOCATION).ok_or_else(|| {
        CheckError::new(
            ErrorKind::Redirect,
            format!("HTTP {status} without a Location header"),
        )
    })?;
    // Servers send UTF-8 paths unencoded now and then; browsers follow them, and so do we.
    let location = std::str::from_utf8(location.as_bytes()).map_err(|_| {
        CheckError::new(
            ErrorKind::Redirect,
            "the Location header is not valid UTF-8",
        )
    })?;
    let url = hop.url.join(location).map_err(|e| {
        CheckError::new(
            ErrorKind::Redirect,
            format!("invalid redirect location {location:?}: {e}"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(CheckError::new(
            ErrorKind::Redirect,
            format!("redirect to an unsupported location {location:?}"),
        ));
    }
    // 303, and 301/302 after a POST, turn into a GET without a body; 307 and 308 repeat the request.
    let becomes_get = status == 303 && hop.method != Method::HEAD
        || matches!(status, 301 | 302) && hop.method == Method::POST;
    let (method, body) = if becomes_get {
        (Method::GET, Bytes::new())
    } else {
        (hop.method, hop.body)
    };
    let same_origin = hop.same_origin && origin(&url) == *first_origin;
    Ok(Hop {
        url,
        method,
        body,
        same_origin,
    })
}

fn build_request(spec: &MonitorSpec, hop: &Hop) -> Result<Request<Full<Bytes>>, CheckError> {
    let url = &hop.url;
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    };
    let host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        (None, _) => String::new(),
    };
    let mut headers = HeaderMap::new();
    let invalid =
        |what: &str| CheckError::new(ErrorKind::Redirect, format!("invalid {what} in {url}"));
    headers.insert(
        header::HOST,
        HeaderValue::from_str(&host).map_err(|_| invalid("host"))?,
    );
    headers.insert(header::USER_AGENT, HeaderValue::from_static(USER_AGENT));
    headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("close"));
    if hop.same_origin && !url.username().is_empty() {
        let user = percent_decode(url.username());
        let password = url.password().map(percent_decode).unwrap_or_default();
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let value =
            HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| invalid("credentials"))?;
        headers.insert(header::AUTHORIZATION, value);
    }
    // The owner's headers replace the defaults of the same name. Any of them may be a secret
    // (an API key), so none goes to another origin.
    if hop.same_origin {
        for (name, _) in spec.http.headers.iter() {
            headers.remove(name);
        }
        for (name, value) in spec.http.headers.iter() {
            headers.append(name.clone(), value.clone());
        }
    }
    let mut request = Request::builder()
        .method(hop.method.clone())
        .uri(target)
        .body(Full::new(hop.body.clone()))
        .map_err(|e| {
            CheckError::new(
                ErrorKind::Protocol,
                format!("cannot build the request: {e}"),
            )
        })?;
    *request.headers_mut() = headers;
    Ok(request)
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// One request on a new connection.
async fn exchange(
    url: &Url,
    request: Request<Full<Bytes>>,
    resolver: &Resolver,
    tls: &TlsConnector,
    timeout: Duration,
    keep_body: bool,
    progress: &Progress,
) -> Result<Answer, Failure> {
    let port = url.port_or_known_default().unwrap_or(80);
    let (addrs, server_name) = match url.host() {
        Some(Host::Domain(name)) => {
            progress.enter(Step::Resolve);
            (
                resolver.resolve(name).await?,
                ServerName::try_from(name.to_owned()).ok(),
            )
        }
        Some(Host::Ipv4(ip)) => (vec![IpAddr::V4(ip)], Some(ServerName::from(IpAddr::V4(ip)))),
        Some(Host::Ipv6(ip)) => (vec![IpAddr::V6(ip)], Some(ServerName::from(IpAddr::V6(ip)))),
        None => return Err(CheckError::new(ErrorKind::Dns, "the URL has no host").into()),
    };

    progress.enter(Step::Connect);
    let tcp = connect(&addrs, port, timeout).await?;
    if url.scheme() == "https" {
        progress.enter(Step::Tls);
        let name = server_name.ok_or_else(|| {
            CheckError::new(ErrorKind::Tls, "the host is not a valid TLS server name")
        })?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| CheckError::new(ErrorKind::Tls, tls_failure(&e)))?;
        Ok(send(stream, request, keep_body, progress).await?)
    } else {
        Ok(send(tcp, request, keep_body, progress).await?)
    }
}

/// Tries each address in turn, each with its share of the timeout, so one address that drops
/// packets does not use up the whole check. The last failure is the one reported.
async fn connect(addrs: &[IpAddr], port: u16, timeout: Duration) -> Result<TcpStream, Failure> {
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

async fn send<S>(
    io: S,
    request: Request<Full<Bytes>>,
    keep_body: bool,
    progress: &Progress,
) -> Result<Answer, CheckError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    progress.enter(Step::Wait);
    let (mut sender, conn) = http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| CheckError::new(ErrorKind::Protocol, chain(&e)))?;
    // The connection is driven here, alongside the exchange, rather than in a task of its own.
    let mut conn = pin!(conn);
    let exchange = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| CheckError::new(ErrorKind::Protocol, chain(&e)))?;
        progress.enter(Step::Body);
        let (head, mut body) = response.into_parts();
        let mut read = 0usize;
        let mut kept = Vec::new();
        while read < BODY_READ_LIMIT {
            match body.frame().await {
                None => break,
                Some(Ok(frame)) => {
                    if let Some(data) = frame.data_ref() {
                        read += data.len();
                        if keep_body {
                            let room = BODY_READ_LIMIT.saturating_sub(kept.len());
                            kept.extend_from_slice(&data[..data.len().min(room)]);
                        }
                    }
                }
                Some(Err(e)) => return Err(CheckError::new(ErrorKind::Body, chain(&e))),
            }
        }
        progress.leave();
        Ok(Answer {
            status: head.status,
            headers: head.headers,
            body: Bytes::from(kept),
        })
    };
    let mut exchange = pin!(exchange);
    tokio::select! {
        answer = &mut exchange => answer,
        // The connection ended first (closed or broken): the exchange now finishes with what
        // arrived, or with the error that ended it.
        _ = &mut conn => exchange.await,
    }
}

/// A short description of a connection error, without the OS error number.
fn io_failure(e: &std::io::Error) -> String {
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
fn chain(e: &(dyn StdError + 'static)) -> String {
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

/// The TLS settings every check shares; a check speaks HTTP/1.1.
pub(super) fn tls_connector(mut config: rustls::ClientConfig) -> TlsConnector {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}
