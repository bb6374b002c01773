//! Compact JWS (RFC 7515) restricted to PS512, the algorithm of FIT-Connect SETs.
//!
//! [`CompactJws::parse`] enforces limits and the header allow-list; the signature is checked by
//! [`CompactJws::verify`], after which the payload is available as a [`VerifiedJws`].

use serde_json::Value;

use super::base64url;
use super::header::{HeaderJsonError, HeaderMembers};
use super::jwk::{ALG_PS512, RsaPublicKey, SigningKey};
use crate::config::JoseLimits;

const ECHO_MAX: usize = 32;

/// Errors of parsing, verifying or producing a compact JWS.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwsError {
    /// The token exceeds `JoseLimits::max_jws_bytes`.
    #[error("JWS is larger than the limit of {limit} bytes")]
    TokenTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The token is a JSON serialization; only compact is supported.
    #[error("JWS JSON serialization is not supported (compact only)")]
    JsonSerialization,
    /// The token does not have exactly three parts.
    #[error("JWS must have 3 parts, found {found}")]
    PartCount {
        /// Parts found (counting stops at 4).
        found: usize,
    },
    /// The protected header exceeds `JoseLimits::max_protected_header_bytes`.
    #[error("JWS protected header is larger than the limit of {limit} bytes")]
    HeaderTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A part is not strict unpadded base64url (1 = header, 2 = payload, 3 = signature).
    #[error("JWS part {part} is not valid base64url")]
    Base64 {
        /// Number of the offending part.
        part: u8,
    },
    /// The protected header is not a JSON object.
    #[error("JWS protected header is not a JSON object (at {line}:{column})")]
    HeaderNotJson {
        /// Line of the JSON error.
        line: usize,
        /// Column of the JSON error.
        column: usize,
    },
    /// A header member occurs twice.
    #[error("JWS protected header has a duplicate member")]
    DuplicateHeaderMember,
    /// A required header member is missing.
    #[error("JWS header member {name} is missing")]
    MissingHeaderMember {
        /// Member name.
        name: &'static str,
    },
    /// A header member has the wrong JSON type.
    #[error("JWS header member {name} has the wrong type")]
    HeaderMemberType {
        /// Member name.
        name: &'static str,
    },
    /// `alg` is not `PS512`.
    #[error("JWS alg {alg:?} is not allowed (only PS512)")]
    AlgNotAllowed {
        /// The offered value (truncated).
        alg: String,
    },
    /// `crit` is present; no extension is understood.
    #[error("JWS crit is not supported")]
    CritNotSupported,
    /// `jku`, `jwk`, `x5u` or `x5c` would let the token pick its own key.
    #[error("JWS header member {name} is not allowed")]
    ForbiddenHeaderMember {
        /// Member name.
        name: &'static str,
    },
    /// The signature length differs from the key's modulus length.
    #[error("JWS signature has {found} bytes; the key needs {expected}")]
    SignatureLength {
        /// Decoded length.
        found: usize,
        /// Modulus length.
        expected: usize,
    },
    /// The signature does not verify.
    #[error("JWS signature is invalid")]
    BadSignature,
}

const FORBIDDEN_MEMBERS: &[&str] = &["jku", "jwk", "x5u", "x5c", "b64", "enc", "zip"];

/// The validated protected header of a PS512 JWS.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwsHeader {
    /// Key id (required by FIT-Connect).
    pub kid: String,
    /// `typ`, if present.
    pub typ: Option<String>,
    /// `cty`, if present.
    pub cty: Option<String>,
}

/// A parsed, not yet verified compact JWS.
#[derive(Debug)]
pub struct CompactJws<'a> {
    header: JwsHeader,
    signing_input: &'a str,
    payload: Vec<u8>,
    signature: Vec<u8>,
}

fn string_member(members: &HeaderMembers, name: &'static str) -> Result<Option<String>, JwsError> {
    match members.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwsError::HeaderMemberType { name }),
    }
}

impl<'a> CompactJws<'a> {
    /// Parses a compact PS512 JWS, enforcing `limits` and the header allow-list.
    ///
    /// # Errors
    /// A precise [`JwsError`] for every deviation.
    pub fn parse(token: &'a str, limits: &JoseLimits) -> Result<Self, JwsError> {
        if token.len() > limits.max_jws_bytes {
            return Err(JwsError::TokenTooLarge {
                limit: limits.max_jws_bytes,
            });
        }
        if token.trim_start().starts_with('{') {
            return Err(JwsError::JsonSerialization);
        }
        let mut parts = token.splitn(4, '.');
        let mut next = || parts.next();
        let (Some(h), Some(p), Some(s), None) = (next(), next(), next(), next()) else {
            return Err(JwsError::PartCount {
                found: token.split('.').take(4).count(),
            });
        };
        if h.len() > limits.max_protected_header_bytes {
            return Err(JwsError::HeaderTooLarge {
                limit: limits.max_protected_header_bytes,
            });
        }
        let header_json = base64url::decode(h).ok_or(JwsError::Base64 { part: 1 })?;
        let members = HeaderMembers::parse(&header_json).map_err(|e| match e {
            HeaderJsonError::Duplicate => JwsError::DuplicateHeaderMember,
            HeaderJsonError::Syntax { line, column } => JwsError::HeaderNotJson { line, column },
        })?;
        if members.get("crit").is_some() {
            return Err(JwsError::CritNotSupported);
        }
        let alg =
            string_member(&members, "alg")?.ok_or(JwsError::MissingHeaderMember { name: "alg" })?;
        if alg != ALG_PS512 {
            return Err(JwsError::AlgNotAllowed {
                alg: alg.chars().take(ECHO_MAX).collect(),
            });
        }
        if let Some(name) = FORBIDDEN_MEMBERS.iter().find(|n| members.get(n).is_some()) {
            return Err(JwsError::ForbiddenHeaderMember { name });
        }
        let kid =
            string_member(&members, "kid")?.ok_or(JwsError::MissingHeaderMember { name: "kid" })?;
        let header = JwsHeader {
            kid,
            typ: string_member(&members, "typ")?,
            cty: string_member(&members, "cty")?,
        };
        let payload = base64url::decode(p).ok_or(JwsError::Base64 { part: 2 })?;
        let signature = base64url::decode(s).ok_or(JwsError::Base64 { part: 3 })?;
        Ok(Self {
            header,
            signing_input: &token[..h.len() + 1 + p.len()],
            payload,
            signature,
        })
    }

    /// The validated header (unauthenticated until verified).
    #[must_use]
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The payload BEFORE verification. Only for choosing the verification key (e.g. by the
    /// SET issuer); nothing read here may be trusted until [`CompactJws::verify`] succeeds.
    #[must_use]
    pub fn unverified_payload(&self) -> &[u8] {
        &self.payload
    }

    /// Verifies the PS512 signature with `key`.
    ///
    /// # Errors
    /// [`JwsError::SignatureLength`] or [`JwsError::BadSignature`].
    pub fn verify(self, key: &RsaPublicKey) -> Result<VerifiedJws, JwsError> {
        if self.signature.len() != key.modulus_len() {
            return Err(JwsError::SignatureLength {
                found: self.signature.len(),
                expected: key.modulus_len(),
            });
        }
        if !key.verify_ps512(self.signing_input.as_bytes(), &self.signature) {
            return Err(JwsError::BadSignature);
        }
        Ok(VerifiedJws {
            header: self.header,
            payload: self.payload,
        })
    }
}

/// A JWS whose signature has been verified.
#[derive(Debug)]
pub struct VerifiedJws {
    header: JwsHeader,
    payload: Vec<u8>,
}

impl VerifiedJws {
    /// The verified header.
    #[must_use]
    pub fn header(&self) -> &JwsHeader {
        &self.header
    }

    /// The verified payload.
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// Signs `payload` as a compact PS512 JWS with header `{"alg":"PS512","kid":…,"typ":…}`.
#[must_use]
pub fn sign(payload: &[u8], key: &SigningKey, typ: Option<&str>) -> String {
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), ALG_PS512.into());
    header.insert("kid".into(), key.kid().into());
    if let Some(typ) = typ {
        header.insert("typ".into(), typ.into());
    }
    let header = serde_json::to_vec(&header).expect("a JSON map serializes");
    let mut out = base64url::encode(&header);
    out.push('.');
    base64url::encode_into(payload, &mut out);
    let signature = key.sign_ps512(out.as_bytes());
    out.push('.');
    base64url::encode_into(&signature, &mut out);
    out
}
