//! The case event log: SETs the sandbox writes (`create-submission`, `submit-submission`) and
//! the checks on SETs a subscriber posts (`accept-`, `reject-`, `forward-submission`).
//!
//! Signing and verification are `jose`/`fitconnect::set`; this module decides which claims the
//! sandbox puts in and which posted SETs fit the submission they name.

use std::collections::BTreeMap;

use serde_json::Value;

use super::problem::{self, ApiProblem, ApiResult};
use super::store::{Status, Submission};
use crate::config::JoseLimits;
use crate::fitconnect::set::{self, AuthenticationTags, Issuer, StaticKeys};
use crate::jose::jwk::{RsaPublicKey, SigningKey};

/// `create-submission` (written by the delivery service).
pub const CREATE_SUBMISSION: &str = "https://schema.fitko.de/fit-connect/events/create-submission";
/// `forward-submission` (written by a subscriber acting as intermediary).
pub const FORWARD_SUBMISSION: &str =
    "https://schema.fitko.de/fit-connect/events/forward-submission";

/// Builds a SET issued by the sandbox itself (`iss` = its base URL).
pub(crate) fn service_set(
    key: &SigningKey,
    issuer: &str,
    schema: set::PayloadSchema,
    submission: &Submission,
    event: &str,
    payload: Value,
    now: i64,
) -> String {
    set::sign_event(
        key,
        &set::SetClaims {
            issuer,
            submission_id: &submission.id,
            case_id: &submission.case_id,
            schema,
        },
        event,
        payload,
        now,
    )
}

/// Part 5 of a compact JWE (its authentication tag), as the protocol defines the tags.
fn tag_of(jwe: &str) -> String {
    jwe.rsplit('.').next().unwrap_or_default().to_owned()
}

/// The authentication tags of a submission's JWEs.
/// `attachments`: (attachmentId, authentication tag), as the store keeps them.
pub(crate) fn authentication_tags(
    metadata: &str,
    data: Option<&str>,
    attachments: &[(String, String)],
) -> AuthenticationTags {
    AuthenticationTags {
        metadata: tag_of(metadata),
        data: data.map(tag_of),
        attachments: attachments.iter().cloned().collect::<BTreeMap<_, _>>(),
    }
}

/// What a verified subscriber SET does to its submission.
#[derive(Debug)]
pub(crate) struct PostedEvent {
    /// The event URI.
    pub(crate) event: String,
    /// The status it moves the submission to.
    pub(crate) next: Status,
}

/// Verifies a SET posted by the subscriber of `submission` against the destination's
/// signing key and checks that it names this submission and case.
/// `required_schema`: the set-payload schema the SET must declare (the v2 path), or `None`
/// (the v1 path: any 1.x, or none).
pub(crate) fn check_posted(
    token: &str,
    submission: &Submission,
    signing_kid: &str,
    signing_key: &RsaPublicKey,
    expected_tags: &AuthenticationTags,
    required_schema: Option<set::PayloadSchema>,
    now: i64,
) -> ApiResult<PostedEvent> {
    let invalid = |d: &str| ApiProblem::new(problem::INVALID_EVENT, d);
    let keys = StaticKeys {
        delivery_service: Vec::new(),
        destinations: vec![(
            submission.destination_id.clone(),
            signing_kid.to_owned(),
            signing_key.clone(),
        )],
    };
    // The detail names the failed check (the token came from the caller, so it leaks nothing
    // new) — vendors debugging their SETs need it.
    let verified = set::verify(token, &keys, &JoseLimits::default(), now)
        .map_err(|e| invalid(&e.to_string()))?;
    if let Some(required) = required_schema
        && verified.schema.as_deref() != Some(required.uri())
    {
        return Err(ApiProblem::new(
            problem::PAYLOAD_SCHEMA_NOT_SUPPORTED,
            format!(
                "this service requires $schema {} (set-payload {})",
                required.uri(),
                serde_json::to_value(required)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            ),
        ));
    }
    if verified.issuer != Issuer::Destination(submission.destination_id.clone()) {
        return Err(invalid("iss must be the destinationId of the submission"));
    }
    if verified.sub != format!("submission:{}", submission.id) {
        return Err(invalid("sub does not name this submission"));
    }
    if verified.txn != format!("case:{}", submission.case_id) {
        return Err(invalid("txn does not name the case of this submission"));
    }
    let next = match verified.event.as_str() {
        set::ACCEPT_SUBMISSION => {
            let tags = verified
                .authentication_tags()
                .map_err(|e| invalid(&e.to_string()))?;
            if tags != *expected_tags {
                return Err(invalid(
                    "authenticationTags differ from those of the submit-submission event",
                ));
            }
            Status::Accepted
        }
        set::REJECT_SUBMISSION => {
            let has_problems = verified
                .payload
                .get("problems")
                .and_then(Value::as_array)
                .is_some_and(|p| !p.is_empty());
            if !has_problems {
                return Err(invalid("reject-submission needs a non-empty problems list"));
            }
            Status::Rejected
        }
        FORWARD_SUBMISSION => Status::Forwarded,
        _ => {
            return Err(invalid(
                "a subscriber may post accept-, reject- or forward-submission only",
            ));
        }
    };
    Ok(PostedEvent {
        event: verified.event,
        next,
    })
}
