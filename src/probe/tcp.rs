//! One TCP check: the port accepts a connection; when the monitor says so, bytes are sent and
//! the reply must match a pattern. Speaks no protocol of its own.

use super::assertions::text_shown;
use super::connection::{self, Progress, Step, io_failure};
use super::{CheckError, ErrorKind, Failure, Observed};
use crate::monitor::{Expect, TcpSettings};
use bytes::Bytes;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A reply is read up to this much while waiting for the pattern.
const REPLY_LIMIT: usize = 64 * 1024;
/// A reply that does not match is judged this long before the timeout, so the check can say
/// what arrived.
const GIVE_UP_EARLY: Duration = Duration::from_millis(20);

/// Runs the check to its end (the caller bounds it with the timeout).
pub(super) async fn check(
    settings: &TcpSettings,
    ways: &super::Ways<'_>,
    progress: &Progress,
) -> Result<Observed, Failure> {
    let endpoint = &settings.endpoint;
    let (mut tcp, _) = connection::open(endpoint.host(), endpoint.port(), ways, progress).await?;
    if let Some(send) = &settings.send {
        progress.enter(Step::Wait);
        tcp.write_all(send.as_bytes()).await.map_err(|e| {
            CheckError::new(ErrorKind::Connect, format!("sending: {}", io_failure(&e)))
        })?;
    }
    let Some(expect) = &settings.expect else {
        progress.leave();
        return Ok(Observed::default());
    };
    progress.enter(Step::Wait);
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // A reply that does not match yet may still grow into one that does, until just
        // before the timeout: then what arrived is the error. With nothing at all, the timeout
        // itself says so.
        let read = tokio::time::timeout_at(ways.deadline - GIVE_UP_EARLY, tcp.read(&mut chunk));
        let n = match read.await {
            Ok(n) => n.map_err(|e| {
                CheckError::new(
                    ErrorKind::Protocol,
                    format!("reading the reply: {}", io_failure(&e)),
                )
            })?,
            Err(_) if reply.is_empty() => std::future::pending().await,
            Err(_) => {
                let text = String::from_utf8_lossy(&reply);
                return Err(mismatch(expect, &text, "nothing more arrived").into());
            }
        };
        if n > 0 && reply.is_empty() {
            progress.enter(Step::Body);
        }
        reply.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&reply);
        if expect.0.regex.is_match(&text) {
            progress.leave();
            return Ok(Observed {
                body: Bytes::from(reply),
                ..Observed::default()
            });
        }
        if n == 0 {
            return Err(mismatch(expect, &text, "the connection closed").into());
        }
        if reply.len() >= REPLY_LIMIT {
            return Err(mismatch(expect, &text, "64 KiB read").into());
        }
    }
}

fn mismatch(expect: &Expect, reply: &str, end: &str) -> CheckError {
    CheckError::new(
        ErrorKind::Assertion,
        format!(
            "reply matches /{}/ but was {} ({end})",
            expect.0.source,
            text_shown(reply)
        ),
    )
}
