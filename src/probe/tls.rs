//! One TLS check: a handshake with the host, its chain valid for the host name, after an SMTP
//! STARTTLS exchange when the monitor asks for one. When the chain expires is noted for the
//! monitor's conditions and its certificate alerts.

use super::connection::{self, Progress, Step};
use super::{CheckError, ErrorKind, Failure, Observed};
use crate::monitor::{StartTls, TlsSettings};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Lines of one SMTP reply, at most, and bytes of one line.
const SMTP_REPLY_LINES: usize = 100;
const SMTP_LINE_BYTES: u64 = 1024;

/// Runs the check to its end (the caller bounds it with the timeout).
pub(super) async fn check(
    settings: &TlsSettings,
    ways: &super::Ways<'_>,
    progress: &Progress,
) -> Result<Observed, Failure> {
    let endpoint = &settings.endpoint;
    let (tcp, name) = connection::open(endpoint.host(), endpoint.port(), ways, progress).await?;
    let tcp = match settings.starttls {
        None => tcp,
        Some(StartTls::Smtp) => {
            progress.enter(Step::Wait);
            smtp_starttls(tcp).await?
        }
    };
    let _stream = connection::handshake(ways.plain_tls, name, tcp, progress).await?;
    progress.leave();
    Ok(Observed::default())
}

/// Greets an SMTP server and asks it to start TLS; returns the connection ready for the
/// handshake.
async fn smtp_starttls(tcp: TcpStream) -> Result<TcpStream, CheckError> {
    let mut io = BufReader::new(tcp);
    expect_reply(&mut io, 220, "greeting").await?;
    send(&mut io, "EHLO upbeat.invalid\r\n").await?;
    let capabilities = expect_reply(&mut io, 250, "EHLO").await?;
    if !capabilities.iter().any(|l| {
        l.get(4..)
            .is_some_and(|c| c.trim().eq_ignore_ascii_case("STARTTLS"))
    }) {
        return Err(protocol("the SMTP server does not offer STARTTLS"));
    }
    send(&mut io, "STARTTLS\r\n").await?;
    expect_reply(&mut io, 220, "STARTTLS").await?;
    // The server says nothing more until the handshake, so nothing is left in the buffer.
    Ok(io.into_inner())
}

async fn send(io: &mut BufReader<TcpStream>, line: &str) -> Result<(), CheckError> {
    io.get_mut()
        .write_all(line.as_bytes())
        .await
        .map_err(|e| protocol(format!("SMTP: {}", connection::io_failure(&e))))
}

/// Reads one (possibly multi-line) SMTP reply; it must carry `code`. Returns its lines.
async fn expect_reply(
    io: &mut BufReader<TcpStream>,
    code: u16,
    after: &str,
) -> Result<Vec<String>, CheckError> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let read = AsyncReadExt::take(&mut *io, SMTP_LINE_BYTES)
            .read_line(&mut line)
            .await
            .map_err(|e| protocol(format!("SMTP: {}", connection::io_failure(&e))))?;
        if read == 0 {
            return Err(protocol(format!(
                "the SMTP server closed the connection after {after}"
            )));
        }
        let line = line.trim_end().to_owned();
        let last = line.as_bytes().get(3) != Some(&b'-');
        if !line.starts_with(&code.to_string()) {
            return Err(protocol(format!(
                "SMTP {after}: expected {code} but the server said {line:?}"
            )));
        }
        lines.push(line);
        if last {
            return Ok(lines);
        }
        if lines.len() == SMTP_REPLY_LINES {
            return Err(protocol(format!("SMTP {after}: the reply is too long")));
        }
    }
}

fn protocol(message: impl Into<String>) -> CheckError {
    CheckError::new(ErrorKind::Protocol, message)
}
