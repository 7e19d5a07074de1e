//! TLS as upbeat's clients speak it (checks, alerts): rustls with the ring provider, trusting
//! Mozilla's root set compiled into the binary plus the machine's own roots, so an internal CA
//! installed on the machine is trusted too, plus the certificates of `ca_file` when set.

use anyhow::{Context, bail};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::path::Path;
use std::sync::Arc;

pub fn client_config(ca_file: Option<&Path>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(system_roots = added, "loaded TLS roots");
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(Iterator::collect::<Result<Vec<_>, _>>)
            .with_context(|| format!("reading ca_file {}", path.display()))?;
        let (added, ignored) = roots.add_parsable_certificates(certs);
        if added == 0 {
            bail!("ca_file {} holds no usable certificate", path.display());
        }
        tracing::info!(added, ignored, file = %path.display(), "trusting extra certificates");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_file_without_a_certificate_is_refused_naming_it() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a certificate\n").unwrap();
        let e = client_config(Some(file.path())).unwrap_err().to_string();
        assert!(
            e.contains("ca_file") && e.contains("no usable certificate"),
            "{e}"
        );
        let e = client_config(Some(Path::new("/nonexistent/ca.pem")))
            .unwrap_err()
            .to_string();
        assert!(e.contains("reading ca_file"), "{e}");
    }
}
