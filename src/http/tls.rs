//! TLS termination with rustls (aws-lc-rs): the certificate chain and key from PEM files.

use std::path::PathBuf;
use std::sync::Arc;

use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use super::ListenError;

/// PEM files of a listener's TLS certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert_chain_pem: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_pem: PathBuf,
}

/// Loads the PEM certificate chain and key into a rustls acceptor (TLS 1.2 and 1.3, aws-lc-rs,
/// HTTP/1.1 via ALPN).
pub(super) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ListenError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_chain_pem)
        .and_then(Iterator::collect)
        .map_err(|e| ListenError::Tls(format!("{}: {e}", files.cert_chain_pem.display())))?;
    if certs.is_empty() {
        return Err(ListenError::Tls(format!(
            "{}: no certificate",
            files.cert_chain_pem.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.private_key_pem)
        .map_err(|e| ListenError::Tls(format!("{}: {e}", files.private_key_pem.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ListenError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ListenError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
