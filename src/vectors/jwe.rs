//! `jwe` cases: a compact JWE decrypted with the destination's key.
//!
//! Expected: `{"result": "plaintext", "sha512": <hex>, "length": n}` or
//! `{"result": "error", "failure": <pipeline failure>, "reason": <JWE error>}`.

use super::{Case, Env, expected_str, same};
use crate::fitconnect::hash::sha512_hex;
use crate::fitconnect::problems::Failure;
use crate::jose::{CompactJwe, JweError};

/// The stable name of a JWE error in the vectors (kebab-case of the check that failed).
#[must_use]
pub(super) fn reason(err: &JweError) -> &'static str {
    match err {
        JweError::TokenTooLarge { .. } => "token-too-large",
        JweError::JsonSerialization => "json-serialization",
        JweError::PartCount { .. } => "part-count",
        JweError::HeaderTooLarge { .. } => "header-too-large",
        JweError::Base64 { .. } => "base64",
        JweError::HeaderNotJson { .. } => "header-not-json",
        JweError::DuplicateHeaderMember => "duplicate-header-member",
        JweError::MissingHeaderMember { .. } => "missing-header-member",
        JweError::HeaderMemberType { .. } => "header-member-type",
        JweError::AlgNotAllowed { .. } => "alg-not-allowed",
        JweError::EncNotAllowed { .. } => "enc-not-allowed",
        JweError::ZipNotSupported { .. } => "zip-not-supported",
        JweError::CritNotSupported => "crit-not-supported",
        JweError::ForbiddenHeaderMember { .. } => "forbidden-header-member",
        JweError::EncryptedKeyLength { .. } => "encrypted-key-length",
        JweError::EncryptedKeyTooLarge { .. } => "encrypted-key-too-large",
        JweError::IvLength { .. } => "iv-length",
        JweError::TagLength { .. } => "tag-length",
        JweError::UnknownKid => "unknown-kid",
        JweError::Decrypt(_) => "decryption-failed",
        JweError::InflateTooLarge { .. } => "inflate-too-large",
        JweError::InflateFailed => "inflate-failed",
        _ => "other",
    }
}

pub(super) fn run(env: &Env, case: &Case) -> Result<(), String> {
    let token = env.input_text(case, "token")?;
    let limits = &env.limits.jose;
    let result =
        CompactJwe::parse(&token, limits).and_then(|jwe| jwe.decrypt(&env.keyring, limits));
    match (expected_str(case, "result")?, result) {
        ("plaintext", Ok(plain)) => {
            same(
                "sha512",
                expected_str(case, "sha512")?,
                &sha512_hex(plain.bytes()),
            )?;
            let length = case
                .expected
                .get("length")
                .and_then(serde_json::Value::as_u64);
            if length != Some(plain.bytes().len() as u64) {
                return Err(format!(
                    "length: expected {length:?}, got {}",
                    plain.bytes().len()
                ));
            }
            Ok(())
        }
        ("error", Err(err)) => {
            same(
                "failure",
                expected_str(case, "failure")?,
                Failure::from(&err).name(),
            )?;
            same("reason", expected_str(case, "reason")?, reason(&err))
        }
        ("plaintext", Err(err)) => Err(format!("expected plaintext, got error {}", reason(&err))),
        ("error", Ok(_)) => Err("expected an error, the JWE decrypted".into()),
        (other, _) => Err(format!("unknown expected.result {other:?}")),
    }
}
