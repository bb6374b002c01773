//! What a CRL or an OCSP response says about one certificate, and why such evidence is not
//! usable. Shared by [`super::crl`] and [`super::ocsp`].

use super::algorithm::SignatureError;

/// Clock skew tolerated on `thisUpdate` (a responder that signs "now" with a clock slightly
/// ahead of ours must not look like a response from the future).
pub(super) const CLOCK_SKEW_SECS: i64 = 300;

/// How long an OCSP response without `nextUpdate` counts as current (RFC 6960 §4.2.2.1: newer
/// information is always available; a bound keeps an old one from being replayed forever).
pub const MAX_AGE_WITHOUT_NEXT_UPDATE_SECS: i64 = 3600;

/// The status of one certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// Not revoked (CRL: not listed; OCSP: `good`).
    Good,
    /// Revoked.
    Revoked {
        /// When (Unix seconds).
        revoked_at: i64,
        /// The CRLReason code, when given (1 keyCompromise, 2 cACompromise, …).
        reason: Option<u8>,
    },
    /// The OCSP responder does not know the certificate.
    Unknown,
}

/// Where a status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusSource {
    /// A certificate revocation list.
    Crl,
    /// An OCSP response.
    Ocsp,
}

impl std::fmt::Display for StatusSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Crl => "CRL",
            Self::Ocsp => "OCSP",
        })
    }
}

/// A verified, current status with its validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusInfo {
    /// The status.
    pub status: RevocationStatus,
    /// CRL or OCSP.
    pub source: StatusSource,
    /// `thisUpdate` (Unix seconds).
    pub this_update: i64,
    /// Until when this evidence may be used: `nextUpdate`, or for an OCSP response without it
    /// `thisUpdate` + [`MAX_AGE_WITHOUT_NEXT_UPDATE_SECS`].
    pub valid_until: i64,
}

/// Why a CRL or OCSP response gives no usable status.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusError {
    /// The bytes are not the DER structure expected.
    #[error("{what} is malformed")]
    Malformed {
        /// What was expected.
        what: &'static str,
    },
    /// The CRL is issued by another CA than the certificate's issuer.
    #[error("the CRL is not issued by the certificate's issuer")]
    WrongIssuer,
    /// Signed with an algorithm outside the allowlist.
    #[error("signed with {algorithm}, which is not accepted")]
    SignatureAlgorithm {
        /// Name or dotted OID.
        algorithm: String,
    },
    /// Signed by an RSA key below the minimum size.
    #[error("signed by a {bits}-bit RSA key")]
    WeakKey {
        /// Key size.
        bits: usize,
    },
    /// Signed by an unsupported kind of key.
    #[error("signed by an unsupported kind of key")]
    KeyType,
    /// The signature does not verify.
    #[error("the signature does not verify")]
    BadSignature,
    /// The CRL issuer's key usage lacks cRLSign.
    #[error("the CRL issuer may not sign CRLs (keyUsage lacks cRLSign)")]
    NotCrlSigner,
    /// `thisUpdate` lies in the future.
    #[error("thisUpdate lies in the future")]
    NotYetValid,
    /// `nextUpdate` has passed (or the bounded age without it).
    #[error("the status information is out of date")]
    Stale,
    /// A CRL without `nextUpdate` (required by RFC 5280 §5.1.2.5).
    #[error("the CRL has no nextUpdate")]
    NoNextUpdate,
    /// A critical extension this checker does not understand.
    #[error("unknown critical extension {oid}")]
    CriticalExtension {
        /// Dotted OID.
        oid: String,
    },
    /// A form this checker does not implement (delta, indirect or partitioned CRLs).
    #[error("unsupported: {what}")]
    Unsupported {
        /// Which form.
        what: &'static str,
    },
    /// The CRL's issuing distribution point excludes this certificate.
    #[error("the CRL does not cover this certificate (issuing distribution point)")]
    OutOfScope,
    /// The OCSP responder answered with an error status.
    #[error("OCSP response status {status} (not successful)")]
    ResponseStatus {
        /// 1 malformedRequest, 2 internalError, 3 tryLater, 5 sigRequired, 6 unauthorized.
        status: u8,
    },
    /// The OCSP response is not of the basic type.
    #[error("OCSP response type is not id-pkix-ocsp-basic")]
    ResponseType,
    /// The OCSP response is signed neither by the issuer nor by a responder it delegated to.
    #[error("the OCSP response is not signed by the issuer or a delegated responder")]
    ResponderNotAuthorized,
    /// The OCSP response has no entry for this certificate.
    #[error("the OCSP response has no entry for this certificate")]
    NoMatchingResponse,
}

impl From<SignatureError> for StatusError {
    fn from(e: SignatureError) -> Self {
        match e {
            SignatureError::Algorithm(algorithm) => Self::SignatureAlgorithm { algorithm },
            SignatureError::WeakKey(bits) => Self::WeakKey { bits },
            SignatureError::KeyType => Self::KeyType,
            SignatureError::Invalid => Self::BadSignature,
        }
    }
}

/// The `[this_update, valid_until)` window at `now`: usable or why not.
pub(super) fn window(this_update: i64, valid_until: i64, now: i64) -> Result<(), StatusError> {
    if this_update > now.saturating_add(CLOCK_SKEW_SECS) {
        return Err(StatusError::NotYetValid);
    }
    if now >= valid_until {
        return Err(StatusError::Stale);
    }
    Ok(())
}

/// A serial number's magnitude (leading zero bytes dropped), for comparisons between
/// encodings of different libraries.
pub(super) fn serial_magnitude(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}
