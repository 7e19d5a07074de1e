//! Certificates made in the test: an authority upbeat is told to trust (as a `ca_file`), an
//! intermediate under it, and server certificates with the names and validity a test needs
//! (valid, near expiry, expired, for another name, self-signed, served without their
//! intermediate). And TLS servers on loopback that present them.

use super::tls::serve;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio_rustls::TlsAcceptor;

const DAY: Duration = Duration::from_secs(86_400);

/// An authority that signs certificates.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate with the chain served before it and its key.
pub struct ServerCert {
    pub chain: Vec<CertificateDer<'static>>,
    key: KeyPair,
}

/// How long a certificate is valid from now: `expires_in` may be negative (in the past).
fn validity(params: &mut CertificateParams, expires_in_days: i64) {
    let now =
        rcgen::date_time_ymd(1970, 1, 1) + SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    params.not_before = now - 400 * DAY;
    let days = DAY * u32::try_from(expires_in_days.unsigned_abs()).unwrap();
    // An hour more, so "in 10 days" is not 9 days and 23 hours by the time it is checked.
    params.not_after = if expires_in_days >= 0 {
        now + days + Duration::from_secs(3600)
    } else {
        now - days
    };
}

impl Authority {
    /// A root authority, valid for years.
    pub fn root() -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "upbeat test root");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params, 3650);
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        Authority { issuer }
    }

    /// An intermediate authority under this one, expiring in `expires_in_days`.
    pub fn intermediate(&self, expires_in_days: i64) -> Authority {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "upbeat test intermediate");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        validity(&mut params, expires_in_days);
        let issuer =
            CertifiedIssuer::signed_by(params, KeyPair::generate().unwrap(), &self.issuer).unwrap();
        Authority { issuer }
    }

    /// The authority's certificate in PEM, for a `ca_file`.
    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    pub fn der(&self) -> CertificateDer<'static> {
        self.issuer.der().clone()
    }

    /// A server certificate for `names` signed by this authority, expiring in `expires_in_days`;
    /// its chain holds only the server's own certificate.
    pub fn server(&self, names: &[&str], expires_in_days: i64) -> ServerCert {
        let key = KeyPair::generate().unwrap();
        let params = server_params(names, expires_in_days);
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain: vec![cert.der().clone()],
            key,
        }
    }
}

fn server_params(names: &[&str], expires_in_days: i64) -> CertificateParams {
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>()).unwrap();
    validity(&mut params, expires_in_days);
    params
}

impl ServerCert {
    /// A certificate that signs itself.
    pub fn self_signed(names: &[&str], expires_in_days: i64) -> ServerCert {
        let key = KeyPair::generate().unwrap();
        let cert = server_params(names, expires_in_days)
            .self_signed(&key)
            .unwrap();
        ServerCert {
            chain: vec![cert.der().clone()],
            key,
        }
    }

    /// The same certificate served with `intermediate` after it.
    pub fn with(mut self, intermediate: &Authority) -> ServerCert {
        self.chain.push(intermediate.der());
        self
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        let key = PrivateKeyDer::Pkcs8(self.key.serialize_der().into());
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(self.chain.clone(), key)
        .unwrap();
        TlsAcceptor::from(Arc::new(config))
    }

    /// An HTTPS server on loopback presenting this certificate.
    pub async fn serve(&self) -> SocketAddr {
        serve(self.acceptor()).await
    }
}
