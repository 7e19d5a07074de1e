//! HTTPS servers on loopback with a self-signed certificate made in the test, which no trusted
//! authority vouches for unless the test hands it to upbeat as a `ca_file`.

use super::smtp::TestCert;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use tokio::net::TcpListener;

pub async fn self_signed_server() -> SocketAddr {
    TrustedServer::start().await.addr
}

/// An HTTPS server answering `secret`, with the certificate a client must trust to reach it.
pub struct TrustedServer {
    pub addr: SocketAddr,
    /// The certificate in PEM, to write to a `ca_file`.
    pub ca_pem: String,
}

impl TrustedServer {
    pub async fn start() -> TrustedServer {
        let cert = TestCert::new();
        let addr = serve(cert.acceptor).await;
        TrustedServer {
            addr,
            ca_pem: cert.pem,
        }
    }
}

/// An HTTPS server answering `secret` on loopback, with the certificate `acceptor` presents.
pub async fn serve(acceptor: tokio_rustls::TlsAcceptor) -> SocketAddr {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "secret" }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                // A client that rejects the certificate ends the handshake here.
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let _ = Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                    .await;
            });
        }
    });
    addr
}
