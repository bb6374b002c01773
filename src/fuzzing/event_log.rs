//! The event log of a capture: the one rule as the client applies it to a download
//! (`fitconnect::event_log::verify_capture`) and as the pipeline applies it within
//! `pipeline::check_submission` (steps 2 and 3) decide the same.

use std::collections::BTreeMap;

use serde_json::json;

use super::fixtures::{
    self, CASE_ID, DELIVERY_SERVICE_ISS, DESTINATION_ID, NOW, SUBMISSION_ID, Signer,
};
use super::input::Input;
use crate::config::Limits;
use crate::fitconnect::captured::CapturedSubmission;
use crate::fitconnect::problems::Failure;
use crate::fitconnect::set::PayloadSchema;

const OTHER: &str = "0f8e6c1a-3d2b-4e5f-8a9b-1c2d3e4f5a6b";
const ATTACHMENTS: [&str; 2] = [
    "0b3b3f3e-1b4c-4f5c-9a6f-2f0e4d7c8a11",
    "7c0f7d52-55a1-4f0e-8f5e-3b2a1c0d9e88",
];
const EVENTS: &[&str] = &[
    "https://schema.fitko.de/fit-connect/events/submit-submission",
    "https://schema.fitko.de/fit-connect/events/create-submission",
    "https://schema.fitko.de/fit-connect/events/accept-submission",
    "https://schema.fitko.de/fit-connect/events/reject-submission",
    "https://schema.fitko.de/fit-connect/events/forward-submission",
];

fn tag(seed: u8) -> String {
    crate::jose::base64url::encode(&[seed; 16])
}

/// A string in the five-part shape of a compact JWE with this tag (never decrypted here).
fn fake_jwe(tag: &str) -> String {
    format!("eyJhbGciOiJSU0EtT0FFUC0yNTYifQ.a2V5.aXY.Y3Q.{tag}")
}

/// Event-log property: for a capture whose event log holds one to three SETs built from the
/// input (signer, issuer, kid, event, subject and case in upper or lower case, tags right or
/// wrong, with or without `$schema`, optionally a byte changed after signing), the client's
/// `verify_capture` accepts exactly when the pipeline's check finds no event-log or tag
/// problem.
pub fn event_log(data: &[u8]) {
    let (capture, _) = build(data);
    decide_alike(&capture);
}

/// The capture the input describes, and whether it has a case of an earlier finding (a SET
/// naming an id in upper case, a tag for an attachment not downloaded), for the regression
/// tests.
fn build(data: &[u8]) -> (CapturedSubmission, bool) {
    let mut input = Input::new(data);
    // The downloaded parts: metadata, maybe data, zero to two attachments.
    let meta_tag = tag(input.byte());
    let data_tag = input.flag().then(|| tag(input.byte()));
    let attached: Vec<(&str, String)> = ATTACHMENTS[..input.below(3)]
        .iter()
        .map(|id| (*id, tag(input.byte())))
        .collect();
    let mut log = Vec::new();
    let mut upper_case_ids = false;
    let mut extra_tag = false;
    for index in 0..1 + input.below(3) {
        let signer = *input.pick(&[Signer::Delivery, Signer::Destination, Signer::Unrelated]);
        let iss = *input.pick(&[
            DELIVERY_SERVICE_ISS,
            DESTINATION_ID,
            "https://other-service.invalid",
            "879EE109-A690-4DB8-AB32-424284184D7D",
        ]);
        let kid = input
            .pick(&[Signer::Delivery, Signer::Destination])
            .key()
            .kid();
        let event = *input.pick(EVENTS);
        let upper = |s: &str| s.to_ascii_uppercase();
        let sub = match input.below(4) {
            0 => format!("submission:{SUBMISSION_ID}"),
            1 => {
                upper_case_ids = true;
                format!("submission:{}", upper(SUBMISSION_ID))
            }
            2 => format!("submission:{OTHER}"),
            _ => format!("reply:{SUBMISSION_ID}"),
        };
        let txn = match input.below(3) {
            0 => format!("case:{CASE_ID}"),
            1 => {
                upper_case_ids = true;
                format!("case:{}", upper(CASE_ID))
            }
            _ => format!("case:{OTHER}"),
        };
        let tags_choice = input.byte();
        let mut tags = json!({"metadata": meta_tag});
        if let Some(d) = &data_tag
            && tags_choice & 1 == 0
        {
            tags["data"] = json!(d);
        }
        let mut att: BTreeMap<&str, String> = attached.iter().cloned().collect();
        if tags_choice & 2 == 2 {
            extra_tag |= attached.len() < 2;
            att.insert(ATTACHMENTS[1], tag(0x55));
        }
        if tags_choice & 4 == 4 {
            tags["metadata"] = json!(tag(0xaa));
        }
        tags["attachments"] = json!(att);
        let payload = match tags_choice >> 3 & 3 {
            0 | 1 => json!({"authenticationTags": tags}),
            2 => json!({}),
            _ => {
                json!({"problems": [{"type": "t", "title": "t", "detail": "d", "instance": "metadata"}]})
            }
        };
        let mut claims = json!({"jti": format!("6a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e0{index}"),
            "iss": iss, "iat": NOW - 60, "sub": sub, "txn": txn, "events": {event: payload}});
        if tags_choice & 0x40 == 0 {
            claims["$schema"] = json!(PayloadSchema::default().uri());
        }
        let header = json!({"alg": "PS512", "kid": kid, "typ": "secevent+jwt"});
        let mut token = fixtures::sign_compact(
            signer,
            &serde_json::to_vec(&header).expect("JSON value serializes"),
            &serde_json::to_vec(&claims).expect("JSON value serializes"),
        );
        if input.flag() {
            // Change one character of the signature part into another base64url character.
            let at = token.rfind('.').expect("three parts") + 1 + input.below(100);
            let c = if token.as_bytes()[at] == b'A' {
                "B"
            } else {
                "A"
            };
            token.replace_range(at..=at, c);
        }
        log.push(token);
    }
    let mut submission = json!({
        "submissionId": SUBMISSION_ID, "caseId": CASE_ID, "destinationId": DESTINATION_ID,
        "encryptedMetadata": fake_jwe(&meta_tag),
        "attachments": attached.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
    });
    if let Some(d) = &data_tag {
        submission["encryptedData"] = json!(fake_jwe(d));
    }
    let attachments = attached
        .iter()
        .map(|(id, t)| ((*id).to_owned(), fake_jwe(t)))
        .collect();
    let finding = upper_case_ids || extra_tag;
    (fixtures::capture(submission, attachments, log), finding)
}

/// The two checks agree on `capture` (see [`event_log`]).
fn decide_alike(capture: &CapturedSubmission) {
    use crate::fitconnect::event_log;
    use crate::pipeline::{CheckKeys, Refused};
    let limits = Limits::default();
    let destination = super::set::resolver();
    let client = event_log::verify_capture(capture, &destination.destinations, &limits.jose);
    // The keys as `serve` assembles them: the capture's JWKS plus the destination's own.
    let Ok(mut sets) = event_log::service_keys(&capture.service_jwks, &capture.info.issuer) else {
        assert!(
            client.is_err(),
            "the JWKS is refused, the client check passed"
        );
        return;
    };
    sets.destinations
        .extend(destination.destinations.iter().cloned());
    let keys = CheckKeys {
        decryption: &fixtures::keys().decryption,
        sets: &sets,
    };
    let schemas = super::submission::schemas();
    let pipeline = crate::pipeline::check_submission(capture, &keys, &schemas.get(), &limits, NOW);
    let log_problems: Vec<&str> = match &pipeline {
        Ok(_) => Vec::new(),
        // An unknown key or an unrelated SET defers the decision: not accepted either.
        Err(Refused::Deferred(_)) => vec!["deferred"],
        Err(Refused::Rejected(r)) => r
            .problems
            .iter()
            .map(|p| p.type_uri.as_str())
            .filter(|t| {
                [
                    Failure::SetInvalid,
                    Failure::SubmitEventMissing,
                    Failure::AuthenticationTagsMissing,
                    Failure::AuthenticationTagMismatch,
                ]
                .iter()
                .any(|f| f.problem_type().type_uri == *t)
            })
            .collect(),
    };
    assert_eq!(
        client.is_ok(),
        log_problems.is_empty(),
        "client check {:?}, pipeline event-log problems {log_problems:?}",
        client.map(|_| ())
    );
}

#[cfg(test)]
mod tests {
    /// Finding of the event_log target, closed by the one event-log rule (input `00 00 00 00
    /// 00 00 00 00 01 00 00 00 00`: one correct submit-submission SET whose `sub` names the
    /// submission in upper case): the client found the event, the pipeline reported
    /// `invalid-event-log`. UUIDs now compare case-insensitively in both.
    #[test]
    fn upper_case_ids_in_the_submit_event_are_decided_alike() {
        let (capture, finding) = super::build(&[0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert!(finding);
        super::decide_alike(&capture);
    }

    /// Finding of the event_log target, closed by the one event-log rule (input `01 00 01 01
    /// 00 00 00 00 00 00 00 02 00`: one downloaded attachment, a correct submit event whose
    /// tags also name a second attachment): the client reported
    /// `incorrect-authentication-tag`, the pipeline nothing.
    #[test]
    fn a_tag_for_an_attachment_not_downloaded_is_decided_alike() {
        let (capture, finding) = super::build(&[1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0]);
        assert!(finding);
        super::decide_alike(&capture);
    }
}
