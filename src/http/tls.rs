//! TLS material and termination with rustls (aws-lc-rs). The PEM files the configuration names
//! ([`TlsFiles`], CA files) are loaded and checked here, once for every user: the listener's
//! server certificate, an upstream's client certificate and trust roots (`crate::forward`), and
//! `serve --check`, so the check and the running gateway apply the same rules:
//!
//! - a file is read up to [`MAX_PEM_BYTES`] (a path to a device or a log file is refused, not
//!   read without end);
//! - a certificate file holds only `CERTIFICATE` sections, at least one, each parseable X.509;
//! - a key file holds exactly one private key (PKCS#8, PKCS#1 or SEC1) of a kind aws-lc-rs
//!   signs with, and it belongs to the leaf (the first certificate) of its chain;
//! - a CA file holds only `CERTIFICATE` sections, at least one, each usable as a trust anchor.
//!
//! Errors name the file and the kind of problem, never anything read from it.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::{self, SectionKind};
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use tokio_rustls::TlsAcceptor;
use zeroize::Zeroizing;

use super::{ListenError, TlsFiles};

/// Largest PEM file read, in bytes: a chain of a dozen RSA-4096 certificates is under 30 KiB.
pub const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// A problem with TLS material. Names files and kinds of problems, never file content.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// The file cannot be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_PEM_BYTES`].
    #[error("{}: larger than {MAX_PEM_BYTES} bytes, not a PEM file", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
    },
    /// The PEM syntax is broken.
    #[error("{}: not a valid PEM file ({problem})", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is broken (fixed text).
        problem: &'static str,
    },
    /// A section of a kind that does not belong in this file.
    #[error("{}: unexpected PEM section {section} (expected {expected})", path.display())]
    Section {
        /// The file.
        path: PathBuf,
        /// The section's kind.
        section: String,
        /// What the file should hold.
        expected: &'static str,
    },
    /// Nothing of the expected kind in the file.
    #[error("{}: no {expected} in the file", path.display())]
    Missing {
        /// The file.
        path: PathBuf,
        /// What the file should hold.
        expected: &'static str,
    },
    /// More than one private key in a key file.
    #[error("{}: more than one private key in the file", path.display())]
    SeveralKeys {
        /// The file.
        path: PathBuf,
    },
    /// A certificate does not parse (1-based position in the file).
    #[error("{}: certificate {index} is not a valid X.509 certificate", path.display())]
    Certificate {
        /// The file.
        path: PathBuf,
        /// Its position in the file, from 1.
        index: usize,
    },
    /// A CA certificate cannot serve as a trust anchor.
    #[error("{}: certificate {index} cannot be a trust anchor ({reason})", path.display())]
    Anchor {
        /// The file.
        path: PathBuf,
        /// Its position in the file, from 1.
        index: usize,
        /// Why (rustls's words).
        reason: String,
    },
    /// The private key is of an unsupported kind or malformed.
    #[error("{}: the private key is not usable ({reason})", path.display())]
    Key {
        /// The file.
        path: PathBuf,
        /// Why (rustls's words).
        reason: String,
    },
    /// The private key is not the leaf certificate's.
    #[error(
        "{}: the private key does not belong to the certificate in {}",
        key.display(),
        cert.display()
    )]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Several problems as one line (`serve` reports one line per problem; a listener or an
/// upstream that cannot start reports them together).
#[must_use]
pub fn joined(errors: &[TlsError]) -> String {
    errors
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// A certificate chain with its private key, checked: the key belongs to the leaf.
pub struct Identity {
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    /// Both files as read (only the checked sections are in them), for clients that take PEM.
    pem: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("certificates", &self.certs.len())
            .finish_non_exhaustive()
    }
}

impl Identity {
    /// Loads and checks `files` (see the module documentation).
    ///
    /// # Errors
    /// Every problem found in either file.
    pub fn load(files: &TlsFiles) -> Result<Self, Vec<TlsError>> {
        let mut errors = Vec::new();
        let chain = read(&files.cert_chain_pem).and_then(|bytes| {
            let certs = certificates(&files.cert_chain_pem, &bytes)?;
            Ok((certs, bytes))
        });
        let key = read(&files.private_key_pem).and_then(|bytes| {
            let key = private_key(&files.private_key_pem, &bytes)?;
            Ok((key, bytes))
        });
        let ((certs, cert_pem), (key, key_pem)) = match (chain, key) {
            (Ok(chain), Ok(key)) => (chain, key),
            (chain, key) => {
                errors.extend(chain.err());
                errors.extend(key.err());
                return Err(errors);
            }
        };
        for (i, der) in certs.iter().enumerate() {
            if x509_parser::parse_x509_certificate(der).is_err() {
                errors.push(TlsError::Certificate {
                    path: files.cert_chain_pem.clone(),
                    index: i + 1,
                });
            }
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let signing = provider
            .key_provider
            .load_private_key(key.clone_key())
            .map_err(|e| {
                vec![TlsError::Key {
                    path: files.private_key_pem.clone(),
                    reason: e.to_string(),
                }]
            })?;
        match rustls::sign::CertifiedKey::new(certs.clone(), signing).keys_match() {
            // Unknown: the key kind cannot tell its public key; rustls accepts it so.
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(_)) => {
                return Err(vec![TlsError::Mismatch {
                    cert: files.cert_chain_pem.clone(),
                    key: files.private_key_pem.clone(),
                }]);
            }
            Err(_) => {
                return Err(vec![TlsError::Certificate {
                    path: files.cert_chain_pem.clone(),
                    index: 1,
                }]);
            }
        }
        let mut pem = Zeroizing::new(Vec::with_capacity(cert_pem.len() + key_pem.len() + 1));
        pem.extend_from_slice(&cert_pem);
        pem.push(b'\n');
        pem.extend_from_slice(&key_pem);
        Ok(Self { certs, key, pem })
    }

    /// The certificate file and the key file, concatenated PEM (for `reqwest::Identity`).
    #[must_use]
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }

    /// The number of certificates in the chain.
    #[must_use]
    pub fn chain_len(&self) -> usize {
        self.certs.len()
    }
}

/// The certificates of a CA file, each checked to be usable as a trust anchor (see the module
/// documentation).
///
/// # Errors
/// Every problem found in the file.
pub fn trust_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, Vec<TlsError>> {
    let bytes = read(path).map_err(|e| vec![e])?;
    let certs = certificates(path, &bytes).map_err(|e| vec![e])?;
    let mut store = rustls::RootCertStore::empty();
    let errors: Vec<TlsError> = certs
        .iter()
        .enumerate()
        .filter_map(|(i, der)| {
            store.add(der.clone()).err().map(|e| TlsError::Anchor {
                path: path.to_owned(),
                index: i + 1,
                reason: e.to_string(),
            })
        })
        .collect();
    if errors.is_empty() {
        Ok(certs)
    } else {
        Err(errors)
    }
}

/// Reads a PEM file of at most [`MAX_PEM_BYTES`] (zeroized when dropped: it may be a key).
fn read(path: &Path) -> Result<Zeroizing<Vec<u8>>, TlsError> {
    let failed = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(failed)?;
    let size = file.metadata().map_err(failed)?.len();
    if size > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
        });
    }
    // Room for the whole file up front: growing would leave copies of a key behind.
    let capacity = usize::try_from(size).unwrap_or(0).saturating_add(1);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
    file.take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    if bytes.len() as u64 > MAX_PEM_BYTES {
        return Err(TlsError::TooLarge {
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

/// A PEM section: its kind and its decoded bytes (zeroized when dropped: it may be a key).
type Section = (SectionKind, Zeroizing<Vec<u8>>);

/// The PEM sections of `bytes`, in order (text outside sections is ignored, as OpenSSL does).
fn sections(path: &Path, bytes: &[u8]) -> Result<Vec<Section>, TlsError> {
    let mut reader = bytes;
    let mut out = Vec::new();
    loop {
        match pem::from_buf(&mut reader) {
            Ok(Some((kind, der))) => out.push((kind, Zeroizing::new(der))),
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(TlsError::Pem {
                    path: path.to_owned(),
                    problem: match e {
                        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
                        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line",
                        pem::Error::Base64Decode(_) => "a section is not valid base64",
                        pem::Error::SectionTooLarge => "a section is too large",
                        _ => "unreadable",
                    },
                });
            }
        }
    }
}

const CERTIFICATES: &str = "CERTIFICATE sections";

fn certificates(path: &Path, bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let mut certs = Vec::new();
    for (kind, der) in sections(path, bytes)? {
        if kind != SectionKind::Certificate {
            return Err(TlsError::Section {
                path: path.to_owned(),
                section: format!("{kind:?}"),
                expected: CERTIFICATES,
            });
        }
        certs.push(CertificateDer::from(der.to_vec()));
    }
    if certs.is_empty() {
        return Err(TlsError::Missing {
            path: path.to_owned(),
            expected: "certificate",
        });
    }
    Ok(certs)
}

fn private_key(path: &Path, bytes: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    let mut key = None;
    for (kind, der) in sections(path, bytes)? {
        let der = der.to_vec();
        let this = match kind {
            SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(der)),
            SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)),
            SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(der)),
            other => {
                return Err(TlsError::Section {
                    path: path.to_owned(),
                    section: format!("{other:?}"),
                    expected: "one PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY section",
                });
            }
        };
        if key.replace(this).is_some() {
            return Err(TlsError::SeveralKeys {
                path: path.to_owned(),
            });
        }
    }
    key.ok_or_else(|| TlsError::Missing {
        path: path.to_owned(),
        expected: "private key",
    })
}

/// Loads the certificate chain and key into a rustls acceptor (TLS 1.2 and 1.3, aws-lc-rs,
/// HTTP/1.1 via ALPN).
pub(super) fn acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ListenError> {
    let identity = Identity::load(files).map_err(|e| ListenError::Tls(joined(&e)))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ListenError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(identity.certs, identity.key)
        .map_err(|e| ListenError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pem_of(label: &str, der: &[u8]) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("ascii"))
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    struct Files {
        dir: tempfile::TempDir,
    }

    impl Files {
        fn new() -> Self {
            Self {
                dir: tempfile::tempdir().expect("tempdir"),
            }
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        }

        /// A self-signed certificate and its key, as (cert file, key file).
        fn pair(&self, prefix: &str) -> TlsFiles {
            let c = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
            TlsFiles {
                cert_chain_pem: self.write(
                    &format!("{prefix}.pem"),
                    &pem_of("CERTIFICATE", c.cert.der()),
                ),
                private_key_pem: self.write(
                    &format!("{prefix}.key"),
                    &pem_of("PRIVATE KEY", &c.signing_key.serialize_der()),
                ),
            }
        }
    }

    #[test]
    fn a_matching_pair_loads_and_a_foreign_key_is_named_without_its_content() {
        let f = Files::new();
        let a = f.pair("a");
        let id = Identity::load(&a).expect("valid");
        assert_eq!(id.chain_len(), 1);
        assert!(!format!("{id:?}").contains("PRIVATE"));
        let b = f.pair("b");
        let crossed = TlsFiles {
            cert_chain_pem: a.cert_chain_pem.clone(),
            private_key_pem: b.private_key_pem.clone(),
        };
        let errors = Identity::load(&crossed).expect_err("mismatch");
        assert!(
            matches!(errors[..], [TlsError::Mismatch { .. }]),
            "{errors:?}"
        );
        let text = joined(&errors);
        assert!(text.contains("b.key") && text.contains("a.pem"), "{text}");
        let key = std::fs::read_to_string(&b.private_key_pem).expect("key");
        let body = key.lines().nth(1).expect("base64 line");
        assert!(!text.contains(body), "{text}");
    }

    #[test]
    fn every_problem_of_both_files_is_reported() {
        let f = Files::new();
        let files = TlsFiles {
            cert_chain_pem: f.write("empty.pem", "no pem here\n"),
            private_key_pem: f.dir.path().join("absent.key"),
        };
        let errors = Identity::load(&files).expect_err("invalid");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(matches!(errors[0], TlsError::Missing { .. }));
        assert!(matches!(errors[1], TlsError::Read { .. }));
    }

    #[test]
    fn hostile_files_get_precise_errors() {
        let f = Files::new();
        let pair = f.pair("p");
        let key_text = std::fs::read_to_string(&pair.private_key_pem).expect("key");
        let cert_text = std::fs::read_to_string(&pair.cert_chain_pem).expect("cert");
        let cases: Vec<(&str, TlsFiles, &str)> = vec![
            (
                "a key in the certificate file",
                TlsFiles {
                    cert_chain_pem: f.write("k.pem", &key_text),
                    private_key_pem: pair.private_key_pem.clone(),
                },
                "unexpected PEM section",
            ),
            (
                "two keys",
                TlsFiles {
                    cert_chain_pem: pair.cert_chain_pem.clone(),
                    private_key_pem: f.write("two.key", &format!("{key_text}{key_text}")),
                },
                "more than one private key",
            ),
            (
                "garbage in a certificate section",
                TlsFiles {
                    cert_chain_pem: f.write("junk.pem", &pem_of("CERTIFICATE", b"junk")),
                    private_key_pem: pair.private_key_pem.clone(),
                },
                "certificate 1 is not a valid X.509 certificate",
            ),
            (
                "a truncated section",
                TlsFiles {
                    cert_chain_pem: f.write("cut.pem", &cert_text[..cert_text.len() / 2]),
                    private_key_pem: pair.private_key_pem.clone(),
                },
                "no END line",
            ),
            (
                "garbage as a key",
                TlsFiles {
                    cert_chain_pem: pair.cert_chain_pem.clone(),
                    private_key_pem: f.write("junk.key", &pem_of("PRIVATE KEY", b"junk")),
                },
                "the private key is not usable",
            ),
        ];
        for (what, files, needle) in cases {
            let errors = Identity::load(&files).expect_err(what);
            let text = joined(&errors);
            assert!(text.contains(needle), "{what}: {text}");
        }
    }

    #[test]
    fn oversized_files_are_not_read() {
        let f = Files::new();
        let big = f.dir.path().join("big.pem");
        let file = std::fs::File::create(&big).expect("create");
        file.set_len(MAX_PEM_BYTES + 1).expect("grow");
        let errors = trust_roots(&big).expect_err("too large");
        assert!(
            matches!(errors[..], [TlsError::TooLarge { .. }]),
            "{errors:?}"
        );
    }

    #[test]
    fn trust_roots_need_certificates() {
        let f = Files::new();
        let pair = f.pair("ca");
        assert_eq!(trust_roots(&pair.cert_chain_pem).expect("roots").len(), 1);
        let errors = trust_roots(&pair.private_key_pem).expect_err("a key is no CA");
        assert!(
            matches!(errors[..], [TlsError::Section { .. }]),
            "{errors:?}"
        );
        let junk = f.write("junk-ca.pem", &pem_of("CERTIFICATE", b"junk"));
        let errors = trust_roots(&junk).expect_err("junk");
        assert!(
            matches!(errors[..], [TlsError::Anchor { index: 1, .. }]),
            "{errors:?}"
        );
    }
}
