//! TLS material as the configuration names it: PEM files, loaded and checked where they are
//! used ([`crate::http::Identity`], [`crate::http::trust_roots`]), so `serve --check` and the
//! running gateway apply the same rules.

use std::path::PathBuf;

/// PEM files of a certificate chain and its private key: a listener's server certificate
/// (`[server] tls_cert`/`tls_key`) or an upstream's client certificate for mutual TLS
/// (`[[upstream]] client_cert`/`client_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (`CERTIFICATE` sections only).
    pub cert_chain_pem: PathBuf,
    /// The private key (one PKCS#8, PKCS#1 or SEC1 section), matching the leaf certificate.
    pub private_key_pem: PathBuf,
}
