//! One HTTP(S) check: resolve, connect, TLS handshake, request, read the response, follow
//! redirects, and judge the status code. Each step is run here, not hidden in a client library,
//! so a failure is attributed to the step that failed. Every check opens a fresh connection:
//! a reused one would hide a target that no longer accepts connections.

use super::connection::{self, Progress, Step, chain};
use super::{CheckError, ErrorKind, Failure, Observed};
use crate::monitor::{Host, HttpSettings};
use base64::Engine;
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::io::IoSlice;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::TlsConnector;
use url::Url;

/// Bytes of a response body read at most; the rest is not needed to judge the check.
const BODY_READ_LIMIT: usize = 1024 * 1024;
const USER_AGENT: &str = concat!("upbeat/", env!("CARGO_PKG_VERSION"));

/// A response as far as a check needs it.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    /// The body, when the monitor's conditions need it.
    body: Bytes,
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
    settings: &HttpSettings,
    ways: &super::Ways<'_>,
    keep_body: bool,
    progress: &Progress,
) -> Result<Observed, Failure> {
    let origin = origin(settings.url.url());
    let mut hop = Hop {
        url: settings.url.url().clone(),
        method: settings.method.to_http(),
        body: settings.body.clone().map(Bytes::from).unwrap_or_default(),
        same_origin: true,
    };
    let limit = settings.redirect_limit();
    let mut followed = 0u8;
    loop {
        let request = build_request(settings, &hop)?;
        let answer = exchange(&hop.url, request, ways, keep_body, progress).await?;
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
        return if settings.accepted_status.accepts(status) {
            Ok(Observed {
                status: Some(status),
                headers: answer.headers,
                body: answer.body,
                ..Observed::default()
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
                    settings.accepted_status
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

fn build_request(settings: &HttpSettings, hop: &Hop) -> Result<Request<Full<Bytes>>, CheckError> {
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
        for (name, _) in settings.headers.iter() {
            headers.remove(name);
        }
        for (name, value) in settings.headers.iter() {
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
    ways: &super::Ways<'_>,
    keep_body: bool,
    progress: &Progress,
) -> Result<Answer, Failure> {
    let port = url.port_or_known_default().unwrap_or(80);
    let host = match url.host() {
        Some(url::Host::Domain(name)) => Host::Name(name.to_owned()),
        Some(url::Host::Ipv4(ip)) => Host::Ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => Host::Ip(ip.into()),
        None => return Err(CheckError::new(ErrorKind::Dns, "the URL has no host").into()),
    };
    let (tcp, name) = connection::open(&host, port, ways, progress).await?;
    if url.scheme() == "https" {
        let stream = connection::handshake(ways.http_tls, name, tcp, progress).await?;
        Ok(send(stream, request, keep_body, progress).await?)
    } else {
        Ok(send(tcp, request, keep_body, progress).await?)
    }
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
    let (mut sender, conn) = http1::handshake(TokioIo::new(Dropped(io)))
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

/// A connection that ends when the check drops it. Once the exchange is over, hyper would shut
/// the sending side down first (over TLS, after a closing alert): system calls and segments
/// that tell the target nothing, as the socket is closed next.
struct Dropped<S>(S);

impl<S: AsyncRead + Unpin> AsyncRead for Dropped<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Dropped<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// The TLS settings every HTTPS check shares; a check speaks HTTP/1.1.
pub(super) fn tls_connector(mut config: rustls::ClientConfig) -> TlsConnector {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}
