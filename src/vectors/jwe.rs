//! `jwe` cases: a compact JWE decrypted with the destination's key.
//!
//! Expected: `{"result": "plaintext", "sha512": <hex>, "length": n}` or
//! `{"result": "error", "failure": <pipeline failure>, "reason": <JWE error>}`.

use super::{Case, Env, expected_str, same};
use crate::fitconnect::hash::sha512_hex;
use crate::fitconnect::problems::Failure;
use crate::jose::{Chunked, CompactJwe, JweError, StreamError, decrypt_seekable};

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

/// The gateway decrypts attachments streamed from a spool file: that path must reach the same
/// verdict (plaintext or error) for every vector.
fn same_when_streamed(
    env: &Env,
    token: &str,
    in_memory: &Result<crate::jose::Plaintext, JweError>,
) -> Result<(), String> {
    // Both ways of reading the source: lent in place (a JWE held in memory) and chunked (a
    // spool file).
    let mut chunked_out = Vec::new();
    let chunked = decrypt_seekable(
        &mut Chunked(std::io::Cursor::new(token.as_bytes())),
        &mut chunked_out,
        &env.keyring,
        &env.limits.jose,
    );
    let mut out = Vec::new();
    let streamed = decrypt_seekable(
        &mut std::io::Cursor::new(token.as_bytes()),
        &mut out,
        &env.keyring,
        &env.limits.jose,
    );
    let same = match (&chunked, &streamed) {
        (Ok(a), Ok(b)) => a == b && chunked_out == out,
        (Err(StreamError::Jwe(a)), Err(StreamError::Jwe(b))) => a == b,
        _ => false,
    };
    if !same {
        return Err(format!(
            "streamed decryption differs between in place and chunked: {:?} vs {:?}",
            chunked
                .as_ref()
                .map(|p| p.len())
                .map_err(ToString::to_string),
            streamed
                .as_ref()
                .map(|p| p.len())
                .map_err(ToString::to_string),
        ));
    }
    match (in_memory, streamed) {
        (Ok(p), Ok(_)) if p.bytes() == &out[..] => Ok(()),
        (Err(a), Err(StreamError::Jwe(b))) if *a == b => Ok(()),
        (a, b) => Err(format!(
            "streamed decryption differs: in memory {:?}, streamed {:?}",
            a.as_ref().map(|p| p.bytes().len()).map_err(reason),
            b.map(|p| p.len()).map_err(|e| e.to_string())
        )),
    }
}

pub(super) fn run(env: &Env, case: &Case) -> Result<(), String> {
    let token = env.input_text(case, "token")?;
    let limits = &env.limits.jose;
    let result =
        CompactJwe::parse(&token, limits).and_then(|jwe| jwe.decrypt(&env.keyring, limits));
    same_when_streamed(env, &token, &result)?;
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
