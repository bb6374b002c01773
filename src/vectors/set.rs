//! `set` cases: a Security Event Token verified against the context's keys at "now".
//!
//! Expected: `{"result": "valid", "event": <event URI>}` or `{"result": "error", "reason": …}`
//! where the reason names the failed check (`typ`, `missing-claim:iat`, `bad-signature`, …).

use super::{Case, Env, expected_str, same};
use crate::fitconnect::set::{self, SetError};
use crate::jose::JwsError;

/// The stable name of a SET error in the vectors.
#[must_use]
pub(super) fn reason(err: &SetError) -> String {
    match err {
        SetError::Jws(e) => match e {
            JwsError::TokenTooLarge { .. } => "token-too-large",
            JwsError::JsonSerialization => "json-serialization",
            JwsError::PartCount { .. } => "part-count",
            JwsError::HeaderTooLarge { .. } => "header-too-large",
            JwsError::Base64 { .. } => "base64",
            JwsError::HeaderNotJson { .. } => "header-not-json",
            JwsError::DuplicateHeaderMember => "duplicate-header-member",
            JwsError::MissingHeaderMember { .. } => "missing-header-member",
            JwsError::HeaderMemberType { .. } => "header-member-type",
            JwsError::AlgNotAllowed { .. } => "alg-not-allowed",
            JwsError::CritNotSupported => "crit-not-supported",
            JwsError::ForbiddenHeaderMember { .. } => "forbidden-header-member",
            JwsError::SignatureLength { .. } => "signature-length",
            JwsError::BadSignature => "bad-signature",
        }
        .to_owned(),
        SetError::Typ => "typ".to_owned(),
        SetError::PayloadNotJson { .. } => "payload-not-json".to_owned(),
        SetError::MissingClaim { name } => format!("missing-claim:{name}"),
        SetError::BadClaim { name } => format!("bad-claim:{name}"),
        SetError::IatOutOfRange => "iat-out-of-range".to_owned(),
        SetError::EventCount { .. } => "event-count".to_owned(),
        SetError::EventPayload { .. } => "event-payload".to_owned(),
        SetError::UnknownKey => "unknown-key".to_owned(),
        SetError::DuplicateMember => "duplicate-member".to_owned(),
    }
}

pub(super) fn run(env: &Env, case: &Case, now: i64) -> Result<(), String> {
    let token = env.input_text(case, "token")?;
    let result = set::verify(&token, &env.set_keys, &env.limits.jose, now);
    match (expected_str(case, "result")?, result) {
        ("valid", Ok(verified)) => same("event", expected_str(case, "event")?, &verified.event),
        ("error", Err(err)) => same("reason", expected_str(case, "reason")?, &reason(&err)),
        ("valid", Err(err)) => Err(format!("expected valid, got error {}", reason(&err))),
        ("error", Ok(_)) => Err("expected an error, the SET verified".into()),
        (other, _) => Err(format!("unknown expected.result {other:?}")),
    }
}
