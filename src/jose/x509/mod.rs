//! The `x5c` certificate chain of a JWK: parsing, path validation against configured trust
//! anchors, and the certificate status (revocation) of its links; self-signed certificates for
//! test keys.
//!
//! Path validation ([`verify_chain`]) checks, in this order: every entry parses; the leaf's RSA
//! key equals the JWK; every certificate is within its validity period; extensions (no unknown
//! critical one, see `extensions.rs`); the leaf's key usage fits its use and the leaf is not a
//! CA; each certificate is signed by the next with an allowed algorithm and an issuer key of
//! allowed size (see `algorithm.rs`), and the next is a CA whose `pathLen` admits the path
//! below it; the last one is a trust anchor or signed by one (the same rules apply to the
//! anchor as issuer). A single self-signed certificate passes only with
//! `dangerous_allow_self_signed`.
//!
//! Revocation is pure here too: [`crl::status`] and [`ocsp::status`] judge CRL and OCSP bytes
//! for one [`ChainLink`]; fetching them is I/O and lives in the FIT-Connect client
//! (`fitconnect::client::revocation`). Time is a parameter (`now`, Unix seconds) everywhere, so
//! tests drive validity with a fixed clock.

mod algorithm;
pub mod crl;
mod extensions;
pub mod ocsp;
mod status;

use rustls_pki_types::pem::PemObject as _;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;

pub use algorithm::MIN_SIGNER_RSA_BITS;
use algorithm::SignatureError;
pub use status::{
    MAX_AGE_WITHOUT_NEXT_UPDATE_SECS, RevocationStatus, StatusError, StatusInfo, StatusSource,
};

use super::base64url;
use super::jwk::{KeyUse, RsaPublicKey};

type UsageCheck = fn(&x509_parser::extensions::KeyUsage) -> bool;

/// Longest chain accepted (leaf, intermediates, root).
pub const MAX_CHAIN_LEN: usize = 8;

/// Largest PEM bundle of trust anchors read by [`anchors_from_pem_or_der`] (certificates, not a
/// system store: a V-PKI bundle has a handful).
pub const MAX_ANCHORS: usize = 64;

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
        /// Position in the chain (the chain length for a separate trust anchor).
        index: usize,
    },
    /// The leaf has no KeyUsage extension or it lacks a required bit.
    #[error("x5c leaf certificate key usage lacks {required}")]
    KeyUsage {
        /// The missing usage.
        required: &'static str,
    },
    /// The leaf certificate is a CA certificate (basicConstraints cA or keyCertSign).
    #[error("x5c leaf certificate is a CA certificate, not an end-entity key")]
    LeafIsCa,
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
    /// A certificate is signed with an algorithm outside the allowlist (SHA-1, MD5, …).
    #[error("x5c[{index}] is signed with {algorithm}, which is not accepted (SHA-256 or stronger)")]
    SignatureAlgorithm {
        /// Position of the signed certificate.
        index: usize,
        /// The algorithm's name or dotted OID.
        algorithm: String,
    },
    /// A certificate is signed by an RSA key below [`MIN_SIGNER_RSA_BITS`].
    #[error(
        "x5c[{index}] is signed by a {bits}-bit RSA key (at least {MIN_SIGNER_RSA_BITS} required)"
    )]
    WeakIssuerKey {
        /// Position of the signed certificate.
        index: usize,
        /// Size of the issuer's key.
        bits: usize,
    },
    /// A certificate is signed by a key that is neither RSA nor EC P-256/P-384.
    #[error("x5c[{index}] is signed by an unsupported kind of key")]
    IssuerKeyType {
        /// Position of the signed certificate.
        index: usize,
    },
    /// An issuing certificate is not a CA allowed to sign certificates.
    #[error("x5c[{index}] is not a CA certificate")]
    NotCa {
        /// Position in the chain (the chain length for a separate trust anchor).
        index: usize,
    },
    /// A CA's basicConstraints pathLenConstraint is exceeded by the intermediates below it.
    #[error("x5c[{index}] path length constraint is exceeded")]
    PathLen {
        /// Position of the constraining CA (the chain length for a separate trust anchor).
        index: usize,
    },
    /// A certificate has a critical extension this validator does not understand.
    #[error("x5c[{index}] has the unknown critical extension {oid}")]
    CriticalExtension {
        /// Position in the chain (the chain length for a separate trust anchor).
        index: usize,
        /// The extension's dotted OID.
        oid: String,
    },
    /// A certificate has an extension twice or one that does not parse.
    #[error("x5c[{index}] has a malformed or repeated extension {oid}")]
    MalformedExtension {
        /// Position in the chain (the chain length for a separate trust anchor).
        index: usize,
        /// The extension's dotted OID.
        oid: String,
    },
    /// A CA restricts names (nameConstraints); enforcing that is not implemented, so the path
    /// is refused rather than accepted unchecked.
    #[error("x5c[{index}] has name constraints, which are not supported")]
    NameConstraints {
        /// Position in the chain (the chain length for a separate trust anchor).
        index: usize,
    },
    /// A CA requires an explicit certificate policy (policyConstraints requireExplicitPolicy);
    /// policy processing is not implemented, so the path is refused.
    #[error("x5c[{index}] requires an explicit certificate policy, which is not supported")]
    PolicyConstraints {
        /// Position in the chain (the chain length for a separate trust anchor).
        index: usize,
    },
    /// The chain is a self-signed certificate and self-signed keys are not allowed. The text
    /// names no switch: each command names its own (`keys check`, `send`), as the library
    /// cannot know how its caller spells it.
    #[error("self-signed certificate refused (self-signed keys are for tests only)")]
    SelfSigned,
    /// The chain does not end at a configured trust anchor.
    #[error("x5c chain does not lead to a configured trust anchor")]
    Untrusted,
    /// A trust anchor file holds no PEM certificate, too many, or one that does not parse.
    #[error("trust anchors: {0}")]
    Anchor(&'static str),
}

/// Which certificate chains are trusted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
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

/// Trust anchors from a file's bytes: one DER certificate, or a PEM bundle
/// (`-----BEGIN CERTIFICATE-----` blocks; other blocks are skipped); each must parse as X.509.
///
/// # Errors
/// [`CertError::Anchor`] for no certificate, more than [`MAX_ANCHORS`], bad PEM or bad DER.
pub fn anchors_from_pem_or_der(pem: &[u8]) -> Result<Vec<Vec<u8>>, CertError> {
    if pem.first() == Some(&0x30) {
        return match X509Certificate::from_der(pem) {
            Ok(([], _)) => Ok(vec![pem.to_vec()]),
            _ => Err(CertError::Anchor("a certificate is not DER X.509")),
        };
    }
    let mut anchors = Vec::new();
    for item in rustls_pki_types::CertificateDer::pem_slice_iter(pem) {
        let der = item.map_err(|_| CertError::Anchor("malformed PEM"))?;
        if anchors.len() == MAX_ANCHORS {
            return Err(CertError::Anchor("more certificates than allowed"));
        }
        if !matches!(X509Certificate::from_der(&der), Ok(([], _))) {
            return Err(CertError::Anchor("a certificate is not DER X.509"));
        }
        anchors.push(der.to_vec());
    }
    if anchors.is_empty() {
        return Err(CertError::Anchor("no PEM certificate found"));
    }
    Ok(anchors)
}

/// One certificate of a validated chain with the certificate that issued it: what a
/// revocation check needs. The trust anchor itself is never a link (it is trusted by
/// configuration, and nobody above it could revoke it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChainLink {
    /// Position in `x5c` (0 = leaf).
    pub index: usize,
    /// The certificate (DER).
    pub certificate: Vec<u8>,
    /// Its issuer's certificate (DER).
    pub issuer: Vec<u8>,
    /// `http(s)` URIs of its CRL distribution points (full names only).
    pub crl_urls: Vec<String>,
    /// `http(s)` URIs of its OCSP responders (authority information access).
    pub ocsp_urls: Vec<String>,
}

impl ChainLink {
    /// A link from DER certificates; the URLs are read from the certificate.
    ///
    /// # Errors
    /// [`CertError::Parse`] if either is not a DER certificate.
    pub fn new(index: usize, certificate: &[u8], issuer: &[u8]) -> Result<Self, CertError> {
        let cert = parse_der(certificate, index)?;
        parse_der(issuer, index + 1)?;
        Ok(Self {
            index,
            certificate: certificate.to_vec(),
            issuer: issuer.to_vec(),
            crl_urls: crl_urls(&cert),
            ocsp_urls: ocsp_urls(&cert),
        })
    }
}

/// The result of path validation: the links whose revocation status can be checked (empty for
/// a pinned or a dangerous self-signed certificate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedChain {
    /// Leaf first, up to the last certificate below the trust anchor.
    pub links: Vec<ChainLink>,
}

fn parse_der(der: &[u8], index: usize) -> Result<X509Certificate<'_>, CertError> {
    if !outer_is_der(der) {
        return Err(CertError::Parse { index });
    }
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        _ => Err(CertError::Parse { index }),
    }
}

/// One DER TLV at the start of `bytes`: (tag, content, rest). Definite lengths in their
/// shortest form only.
fn tlv(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = bytes.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n || rest[0] == 0 {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        if len < 0x80 {
            return None;
        }
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Whether the parts of a certificate outside its signed `tbsCertificate` have exactly the
/// DER shape RFC 5280 gives them: `SEQUENCE { SEQUENCE tbs, SEQUENCE { OID, [NULL |
/// SEQUENCE params] } signatureAlgorithm, BIT STRING signature }` and nothing after. The
/// parser is lenient on the class and constructed bits of these tags, and on the signature
/// BIT STRING's count of unused bits (the signatures accepted here are whole octets: 0); the
/// signature cannot cover them, so a certificate with such a byte changed would still verify
/// — refused here (fuzz findings of the `jwk` target).
fn outer_is_der(der: &[u8]) -> bool {
    let Some((0x30, body, [])) = tlv(der) else {
        return false;
    };
    let Some((0x30, _tbs, rest)) = tlv(body) else {
        return false;
    };
    let Some((0x30, algorithm, rest)) = tlv(rest) else {
        return false;
    };
    let Some((0x03, [0x00, _, ..], [])) = tlv(rest) else {
        return false;
    };
    let Some((0x06, _oid, params)) = tlv(algorithm) else {
        return false;
    };
    match tlv(params) {
        None => params.is_empty(),
        Some((0x05, [], [])) | Some((0x30, _, [])) => true,
        Some(_) => false,
    }
}

fn http_uri(name: &GeneralName<'_>) -> Option<String> {
    match name {
        GeneralName::URI(uri) if uri.starts_with("http://") || uri.starts_with("https://") => {
            Some((*uri).to_owned())
        }
        _ => None,
    }
}

pub(crate) fn crl_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(points) = ext.parsed_extension() {
            for point in points.iter() {
                // A point with its own CRL issuer is an indirect CRL, which is not supported.
                if point.crl_issuer.is_some() {
                    continue;
                }
                if let Some(DistributionPointName::FullName(names)) = &point.distribution_point {
                    urls.extend(names.iter().filter_map(http_uri));
                }
            }
        }
    }
    urls
}

fn ocsp_urls(cert: &X509Certificate<'_>) -> Vec<String> {
    const OCSP: &str = "1.3.6.1.5.5.7.48.1";
    let mut urls = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = ext.parsed_extension() {
            urls.extend(
                aia.iter()
                    .filter(|d| d.access_method.to_id_string() == OCSP)
                    .filter_map(|d| http_uri(&d.access_location)),
            );
        }
    }
    urls
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

fn signature_error(index: usize, e: SignatureError) -> CertError {
    match e {
        SignatureError::Algorithm(algorithm) => CertError::SignatureAlgorithm { index, algorithm },
        SignatureError::WeakKey(bits) => CertError::WeakIssuerKey { index, bits },
        SignatureError::KeyType => CertError::IssuerKeyType { index },
        SignatureError::Invalid => CertError::BadSignature { index },
    }
}

/// Checks that `issuer` signed `cert` (position `index`) under the algorithm and key rules.
fn check_signature(
    cert: &X509Certificate<'_>,
    index: usize,
    issuer: &X509Certificate<'_>,
) -> Result<(), CertError> {
    // The algorithm inside the signed part must be the one used (RFC 5280 §4.1.1.2), else an
    // attacker could choose how the outer signature is read.
    if cert.tbs_certificate.signature != cert.signature_algorithm {
        return Err(CertError::SignatureAlgorithm {
            index,
            algorithm: "mismatch between signed and outer algorithm".into(),
        });
    }
    algorithm::verify(
        &cert.signature_algorithm,
        issuer.public_key(),
        &cert.signature_value.data,
        cert.tbs_certificate.as_ref(),
    )
    .map_err(|e| signature_error(index, e))
}

fn check_issuer(
    cert: &X509Certificate<'_>,
    index: usize,
    issuer: &X509Certificate<'_>,
) -> Result<(), CertError> {
    if cert.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(CertError::IssuerMismatch { index });
    }
    check_signature(cert, index, issuer)
}

/// `issuer` (at `issuer_index`) as the issuer of `certs[issuer_index - 1]`: a CA whose
/// pathLen admits `certs[..issuer_index]`.
fn check_issuing_ca(
    issuer: &X509Certificate<'_>,
    issuer_index: usize,
    certs: &[X509Certificate<'_>],
) -> Result<(), CertError> {
    extensions::check_ca(issuer, issuer_index)?;
    extensions::check_path_len(issuer, issuer_index, &certs[..issuer_index])
}

fn check_leaf_usage(leaf: &X509Certificate<'_>, key_use: KeyUse) -> Result<(), CertError> {
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
    Ok(())
}

fn links(
    ders: &[Vec<u8>],
    certs: &[X509Certificate<'_>],
    top_issuer: Option<&[u8]>,
) -> VerifiedChain {
    let issuers = ders.iter().skip(1).map(Vec::as_slice).chain(top_issuer);
    let links = ders
        .iter()
        .zip(certs)
        .zip(issuers)
        .enumerate()
        .map(|(index, ((der, cert), issuer))| ChainLink {
            index,
            certificate: der.clone(),
            issuer: issuer.to_vec(),
            crl_urls: crl_urls(cert),
            ocsp_urls: ocsp_urls(cert),
        })
        .collect();
    VerifiedChain { links }
}

/// Validates an `x5c` chain for `jwk_key` used as `key_use` at `now` (Unix seconds); see the
/// module documentation for the checks.
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
    verify_chain(x5c, jwk_key, key_use, policy, now).map(|_| ())
}

/// As [`validate_chain`], returning the links for the revocation check.
///
/// # Errors
/// The first failed check as a [`CertError`].
pub fn verify_chain(
    x5c: &[String],
    jwk_key: &RsaPublicKey,
    key_use: KeyUse,
    policy: &TrustPolicy,
    now: i64,
) -> Result<VerifiedChain, CertError> {
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
        .map(|(index, der)| parse_der(der, index))
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
        extensions::check(cert, index)?;
    }
    check_leaf_usage(leaf, key_use)?;
    extensions::check_leaf(leaf)?;
    for index in 0..certs.len() - 1 {
        check_issuer(&certs[index], index, &certs[index + 1])?;
        check_issuing_ca(&certs[index + 1], index + 1, &certs)?;
    }
    let last_index = certs.len() - 1;
    let last = &certs[last_index];
    if policy.anchors.iter().any(|a| *a == ders[last_index]) {
        // The last certificate is itself an anchor: it needs no revocation check.
        return Ok(links(
            &ders[..last_index],
            &certs[..last_index],
            Some(&ders[last_index]),
        ));
    }
    let mut named_anchor = None;
    for anchor_der in &policy.anchors {
        let Ok((_, anchor)) = X509Certificate::from_der(anchor_der) else {
            continue;
        };
        if last.issuer().as_raw() != anchor.subject().as_raw() {
            continue;
        }
        match check_signature(last, last_index, &anchor) {
            Ok(()) => {
                let anchor_index = last_index + 1;
                check_validity(&anchor, anchor_index, now)?;
                extensions::check(&anchor, anchor_index)?;
                extensions::check_ca(&anchor, anchor_index)?;
                extensions::check_path_len(&anchor, anchor_index, &certs)?;
                return Ok(links(&ders, &certs, Some(anchor_der)));
            }
            // Another anchor may share the name (a re-keyed root): keep the most telling error.
            Err(e) => named_anchor = Some(e),
        }
    }
    if let Some(e) = named_anchor {
        return Err(e);
    }
    let self_signed = last.issuer().as_raw() == last.subject().as_raw();
    if self_signed && certs.len() == 1 {
        if !policy.dangerous_allow_self_signed {
            return Err(CertError::SelfSigned);
        }
        check_signature(last, 0, last)?;
        return Ok(VerifiedChain::default());
    }
    Err(CertError::Untrusted)
}

fn strip(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
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
