//! The `x5c` certificate chain of a JWK: parsing, chain validation against configured trust
//! anchors, validity dates and key usage; and self-signed certificates for test keys.
//!
//! Time is a parameter (`now`, Unix seconds) so tests drive validity with a fixed clock.
//! Revocation (OCSP/CRL) is not checked here: it needs I/O and belongs to a higher layer.

use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;

use super::base64url;
use super::jwk::{KeyUse, RsaPublicKey};

type UsageCheck = fn(&x509_parser::extensions::KeyUsage) -> bool;

/// Longest chain accepted (leaf, intermediates, root).
pub const MAX_CHAIN_LEN: usize = 8;

/// Errors of `x5c` chain validation.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertError {
    /// The JWK has no `x5c` or it is empty.
    #[error("x5c is missing or empty")]
    Missing,
    /// The chain is longer than [`MAX_CHAIN_LEN`].
    #[error("x5c has more than {max} certificates")]
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// An entry is not standard base64.
    #[error("x5c[{index}] is not base64")]
    Base64 {
        /// Position in the chain.
        index: usize,
    },
    /// An entry is not a DER X.509 certificate.
    #[error("x5c[{index}] is not a DER X.509 certificate")]
    Parse {
        /// Position in the chain.
        index: usize,
    },
    /// The leaf certificate's key is not RSA.
    #[error("x5c leaf certificate does not hold an RSA key")]
    NotRsa,
    /// The leaf certificate's key differs from the JWK's `n`/`e`.
    #[error("x5c leaf certificate key does not match the JWK")]
    KeyMismatch,
    /// A certificate is outside its validity period at `now`.
    #[error("x5c[{index}] is not valid at the current time")]
    OutsideValidity {
        /// Position in the chain.
        index: usize,
    },
    /// The leaf has no KeyUsage extension or it lacks a required bit.
    #[error("x5c leaf certificate key usage lacks {required}")]
    KeyUsage {
        /// The missing usage.
        required: &'static str,
    },
    /// A certificate's issuer is not the next certificate's subject.
    #[error("x5c[{index}] issuer does not match the next certificate")]
    IssuerMismatch {
        /// Position in the chain.
        index: usize,
    },
    /// A signature in the chain does not verify.
    #[error("x5c[{index}] signature does not verify")]
    BadSignature {
        /// Position in the chain.
        index: usize,
    },
    /// An issuing certificate is not a CA allowed to sign certificates.
    #[error("x5c[{index}] is not a CA certificate")]
    NotCa {
        /// Position in the chain.
        index: usize,
    },
    /// The chain is a self-signed certificate and self-signed keys are not allowed.
    #[error("self-signed certificate refused (allowed only by dangerous.allow_self_signed_keys)")]
    SelfSigned,
    /// The chain does not end at a configured trust anchor.
    #[error("x5c chain does not lead to a configured trust anchor")]
    Untrusted,
}

/// Which certificate chains are trusted.
#[derive(Debug, Default, Clone)]
#[non_exhaustive]
pub struct TrustPolicy {
    /// Trust anchors (root certificates, DER), e.g. the Verwaltungs-PKI roots.
    pub anchors: Vec<Vec<u8>>,
    /// DANGEROUS: accept a chain that is one self-signed certificate (sandbox and tests only).
    pub dangerous_allow_self_signed: bool,
}

impl TrustPolicy {
    /// Trusts the given anchors only.
    #[must_use]
    pub fn with_anchors(anchors: Vec<Vec<u8>>) -> Self {
        Self {
            anchors,
            dangerous_allow_self_signed: false,
        }
    }

    /// DANGEROUS: accepts self-signed certificates (sandbox and tests only).
    #[must_use]
    pub fn dangerous_self_signed() -> Self {
        Self {
            anchors: Vec::new(),
            dangerous_allow_self_signed: true,
        }
    }
}

fn strip(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn check_validity(
    cert: &X509Certificate<'_>,
    index: usize,
    now: ASN1Time,
) -> Result<(), CertError> {
    if cert.validity().is_valid_at(now) {
        Ok(())
    } else {
        Err(CertError::OutsideValidity { index })
    }
}

fn check_issuer(
    cert: &X509Certificate<'_>,
    index: usize,
    issuer: &X509Certificate<'_>,
) -> Result<(), CertError> {
    if cert.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(CertError::IssuerMismatch { index });
    }
    cert.verify_signature(Some(issuer.public_key()))
        .map_err(|_| CertError::BadSignature { index })
}

fn check_ca(cert: &X509Certificate<'_>, index: usize) -> Result<(), CertError> {
    let ca = cert
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca);
    let signs = cert
        .key_usage()
        .ok()
        .flatten()
        .is_none_or(|ku| ku.value.key_cert_sign());
    if ca && signs {
        Ok(())
    } else {
        Err(CertError::NotCa { index })
    }
}

/// Validates an `x5c` chain for `jwk_key` used as `key_use` at `now` (Unix seconds).
///
/// Checks: every entry parses; the leaf's RSA key equals `jwk_key`; every certificate is within
/// its validity period; the leaf's KeyUsage has `keyEncipherment` (encryption) or
/// `digitalSignature` + `nonRepudiation` (signature); each certificate is signed by the next,
/// which must be a CA; the last one is a trust anchor or signed by one. A single self-signed
/// certificate passes only with `policy.dangerous_allow_self_signed`.
///
/// # Errors
/// The first failed check as a [`CertError`].
pub fn validate_chain(
    x5c: &[String],
    jwk_key: &RsaPublicKey,
    key_use: KeyUse,
    policy: &TrustPolicy,
    now: i64,
) -> Result<(), CertError> {
    if x5c.is_empty() {
        return Err(CertError::Missing);
    }
    if x5c.len() > MAX_CHAIN_LEN {
        return Err(CertError::TooLong { max: MAX_CHAIN_LEN });
    }
    let ders = x5c
        .iter()
        .enumerate()
        .map(|(index, b64)| base64url::decode_standard(b64).ok_or(CertError::Base64 { index }))
        .collect::<Result<Vec<_>, _>>()?;
    let certs = ders
        .iter()
        .enumerate()
        .map(|(index, der)| match X509Certificate::from_der(der) {
            Ok(([], cert)) => Ok(cert),
            _ => Err(CertError::Parse { index }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let leaf = &certs[0];
    let Ok(PublicKey::RSA(rsa)) = leaf.public_key().parsed() else {
        return Err(CertError::NotRsa);
    };
    if strip(rsa.modulus) != jwk_key.modulus() || strip(rsa.exponent) != jwk_key.exponent() {
        return Err(CertError::KeyMismatch);
    }
    let now = ASN1Time::from_timestamp(now).map_err(|_| CertError::OutsideValidity { index: 0 })?;
    for (index, cert) in certs.iter().enumerate() {
        check_validity(cert, index, now)?;
    }
    let usage = leaf.key_usage().ok().flatten().map(|ku| *ku.value);
    let required: &[(&'static str, UsageCheck)] = match key_use {
        KeyUse::Encryption => &[("keyEncipherment", |k| k.key_encipherment())],
        KeyUse::Signature => &[
            ("digitalSignature", |k| k.digital_signature()),
            ("nonRepudiation", |k| k.non_repudiation()),
        ],
    };
    for (name, has) in required {
        if !usage.as_ref().is_some_and(has) {
            return Err(CertError::KeyUsage { required: name });
        }
    }
    for index in 0..certs.len() - 1 {
        check_issuer(&certs[index], index, &certs[index + 1])?;
        check_ca(&certs[index + 1], index + 1)?;
    }
    let last_index = certs.len() - 1;
    let last = &certs[last_index];
    if policy.anchors.iter().any(|a| *a == ders[last_index]) {
        return Ok(());
    }
    let self_signed = last.issuer().as_raw() == last.subject().as_raw();
    let mut named_anchor = false;
    for anchor_der in &policy.anchors {
        if let Ok((_, anchor)) = X509Certificate::from_der(anchor_der)
            && last.issuer().as_raw() == anchor.subject().as_raw()
        {
            named_anchor = true;
            if last.verify_signature(Some(anchor.public_key())).is_ok() {
                return check_validity(&anchor, last_index + 1, now);
            }
        }
    }
    if named_anchor {
        return Err(CertError::BadSignature { index: last_index });
    }
    if self_signed && certs.len() == 1 {
        if !policy.dangerous_allow_self_signed {
            return Err(CertError::SelfSigned);
        }
        return last
            .verify_signature(None)
            .map_err(|_| CertError::BadSignature { index: 0 });
    }
    Err(CertError::Untrusted)
}

/// Creates a self-signed certificate (sha512WithRSAEncryption) for a generated test key, valid
/// from `now - 1 day` for `days`, with the key usage FIT-Connect requires for `key_use`.
///
/// # Errors
/// [`CertError::Parse`] if the certificate could not be produced (a bug or an unusable key).
pub fn self_signed(
    pkcs8_der: &[u8],
    key_use: KeyUse,
    common_name: &str,
    now: i64,
    days: i64,
) -> Result<String, CertError> {
    use rcgen::{CertificateParams, DistinguishedName, DnType, KeyUsagePurpose};
    let fail = |_| CertError::Parse { index: 0 };
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8_der);
    let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA512)
        .map_err(fail)?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(
        DnType::OrganizationName,
        "poststelle test key (not for production)",
    );
    params.distinguished_name = name;
    let start = time::OffsetDateTime::from_unix_timestamp(now - 86_400)
        .map_err(|_| CertError::Parse { index: 0 })?;
    params.not_before = start;
    params.not_after = start + time::Duration::days(days);
    params.key_usages = match key_use {
        KeyUse::Encryption => vec![KeyUsagePurpose::KeyEncipherment],
        KeyUse::Signature => vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ],
    };
    let cert = params.self_signed(&key).map_err(fail)?;
    Ok(base64url::encode_standard(cert.der()))
}
