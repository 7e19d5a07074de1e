//! A mail server on loopback that speaks enough SMTP for a real client: EHLO, STARTTLS with a
//! certificate made here, AUTH PLAIN and LOGIN, MAIL, RCPT, DATA, QUIT. It keeps what it
//! receives for the test to read. Like a real server it turns some recipients away: `gone@…`
//! for good (550, no such user), `full@…` for now (452, mailbox full).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// One message as it arrived.
#[derive(Clone, Debug)]
pub struct Mail {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent: headers, blank line, body.
    pub data: String,
    /// The user and password the client authenticated with.
    pub auth: Option<(String, String)>,
    /// Whether the message came over TLS.
    pub tls: bool,
}

impl Mail {
    /// A header's value, unfolded.
    pub fn header(&self, name: &str) -> Option<String> {
        let head = self
            .data
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .replace("\r\n ", " ");
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1, and its PEM for the client.
pub struct TestCert {
    pub acceptor: TlsAcceptor,
    pub pem: String,
}

impl TestCert {
    pub fn new() -> TestCert {
        let generated =
            rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
                .unwrap();
        let cert: CertificateDer<'static> = generated.cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
        TestCert {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            pem: generated.cert.pem(),
        }
    }
}

#[derive(Clone)]
pub struct MailServer {
    pub addr: SocketAddr,
    received: Arc<Mutex<Vec<Mail>>>,
}

impl MailServer {
    /// Listens on `addr` (port 0 for any) and offers STARTTLS with `cert`.
    pub async fn start(addr: SocketAddr, cert: &TestCert) -> MailServer {
        Self::listen(addr, cert, false).await
    }

    /// Listens on `addr` speaking TLS from the first byte, as on port 465.
    pub async fn start_implicit_tls(addr: SocketAddr, cert: &TestCert) -> MailServer {
        Self::listen(addr, cert, true).await
    }

    async fn listen(addr: SocketAddr, cert: &TestCert, implicit_tls: bool) -> MailServer {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let server = MailServer {
            addr,
            received: Arc::clone(&received),
        };
        let acceptor = cert.acceptor.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let received = Arc::clone(&received);
                tokio::spawn(async move {
                    let _ = session(tcp, &acceptor, implicit_tls, &received).await;
                });
            }
        });
        server
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.received.lock().unwrap().clone()
    }
}

async fn reply(r: &mut BufReader<Box<dyn Io>>, line: &str) -> std::io::Result<()> {
    r.get_mut()
        .write_all(format!("{line}\r\n").as_bytes())
        .await?;
    r.get_mut().flush().await
}

async fn read_line(r: &mut BufReader<Box<dyn Io>>) -> std::io::Result<Option<String>> {
    let mut line = String::new();
    if r.read_line(&mut line).await? == 0 {
        return Ok(None);
    }
    Ok(Some(line.trim_end_matches(['\r', '\n']).to_owned()))
}

fn decode(b64: &str) -> String {
    String::from_utf8_lossy(&B64.decode(b64.trim()).unwrap_or_default()).into_owned()
}

async fn session(
    tcp: TcpStream,
    acceptor: &TlsAcceptor,
    implicit_tls: bool,
    received: &Mutex<Vec<Mail>>,
) -> std::io::Result<()> {
    let stream: Box<dyn Io> = if implicit_tls {
        Box::new(acceptor.accept(tcp).await?)
    } else {
        Box::new(tcp)
    };
    let mut r: BufReader<Box<dyn Io>> = BufReader::new(stream);
    let mut tls = implicit_tls;
    let mut auth = None;
    let (mut from, mut to) = (String::new(), Vec::new());
    reply(&mut r, "220 mail.test ESMTP").await?;
    while let Some(cmd) = read_line(&mut r).await? {
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            let mut lines = vec!["250-mail.test", "250-8BITMIME"];
            if !tls {
                lines.push("250-STARTTLS");
            }
            lines.push("250 AUTH PLAIN LOGIN");
            reply(&mut r, &lines.join("\r\n")).await?;
        } else if upper == "STARTTLS" {
            reply(&mut r, "220 go ahead").await?;
            let plain = r.into_inner();
            r = BufReader::new(Box::new(acceptor.accept(plain).await?));
            tls = true;
        } else if let Some(initial) = cmd.strip_prefix("AUTH PLAIN ") {
            // "\0user\0password"
            let decoded = decode(initial);
            let mut parts = decoded.split('\0').skip(1);
            auth = Some((
                parts.next().unwrap_or_default().to_owned(),
                parts.next().unwrap_or_default().to_owned(),
            ));
            reply(&mut r, "235 ok").await?;
        } else if upper == "AUTH LOGIN" {
            reply(&mut r, "334 VXNlcm5hbWU6").await?;
            let user = decode(&read_line(&mut r).await?.unwrap_or_default());
            reply(&mut r, "334 UGFzc3dvcmQ6").await?;
            let password = decode(&read_line(&mut r).await?.unwrap_or_default());
            auth = Some((user, password));
            reply(&mut r, "235 ok").await?;
        } else if upper.starts_with("MAIL FROM:") {
            from = cmd[10..].trim().trim_matches(['<', '>']).to_owned();
            to.clear();
            reply(&mut r, "250 ok").await?;
        } else if upper.starts_with("RCPT TO:") {
            let recipient = cmd[8..].trim().trim_matches(['<', '>']).to_owned();
            if recipient.starts_with("gone@") {
                reply(&mut r, "550 5.1.1 no such user").await?;
            } else if recipient.starts_with("full@") {
                reply(&mut r, "452 4.2.2 mailbox full").await?;
            } else {
                to.push(recipient);
                reply(&mut r, "250 ok").await?;
            }
        } else if upper == "DATA" {
            reply(&mut r, "354 go ahead").await?;
            let mut data = String::new();
            while let Some(line) = read_line(&mut r).await? {
                if line == "." {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
                data.push_str("\r\n");
            }
            received.lock().unwrap().push(Mail {
                from: from.clone(),
                to: to.clone(),
                data,
                auth: auth.clone(),
                tls,
            });
            reply(&mut r, "250 queued").await?;
        } else if upper == "QUIT" {
            reply(&mut r, "221 bye").await?;
            break;
        } else if upper == "NOOP" || upper == "RSET" {
            reply(&mut r, "250 ok").await?;
        } else {
            reply(&mut r, "502 not implemented").await?;
        }
    }
    Ok(())
}
