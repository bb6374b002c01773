//! The case event log: which SETs are verified, which one is the delivery service's
//! `submit-submission` of a submission, how its `authenticationTags` are compared with the
//! downloaded JWEs, and what the destination decided. The one implementation of these rules;
//! the gateway's receive checks (`pipeline::check`), the capture checks of the client and the
//! test vectors, and the sender's wait for a decision all call it (layer L1, pure, `now` a
//! parameter).
//!
//! # The rules, settled (protocol notes §3.3, "Prüfung eines SET", "Integritätssicherung")
//!
//! 1. **Every SET of the log is verified** ([`verify_log`]): header, signature, claims, one
//!    event ([`super::set::verify`]). Keys: the delivery service's JWKS for SETs whose `iss` is
//!    the delivery service we talk to ([`service_keys`]: only RSA keys usable for PS512
//!    verification — `use`/`alg`/`key_ops` checked), the destinations' signing keys for SETs
//!    whose `iss` is a destination id. A SET issued by another delivery service is refused.
//! 2. **Relevance decides the consequence of a failure.** A SET about this submission (its
//!    payload names the submission id anywhere — read before verification, only to classify,
//!    so an ambiguous one counts as relevant) that fails is the sender's or the service's
//!    evidence being broken: reject (`invalid-event-log`). A SET about
//!    something else in the same case (an earlier submission's accept signed by us, a reply)
//!    that cannot be verified says nothing about this submission: the check is retried later
//!    ([`Disposition::Retry`]), never rejected. A key that is not known (yet) — a `kid` that
//!    left the JWKS, a destination key we do not hold — is always a retry: the JWKS is fetched
//!    again with every download.
//! 3. **Identifiers are UUIDs and compared case-insensitively** (RFC 9562 §4: UUIDs are
//!    case-insensitive on input). `sub`, `txn`, attachment ids and destination ids are
//!    normalised to lower case before they are compared.
//! 4. **The submit event** ([`submit_event`]): exactly one `submit-submission` SET about this
//!    submission; it must be issued by the delivery service we downloaded from and carry this
//!    submission's case (`txn`); its `authenticationTags` must be well-formed.
//! 5. **Tags** ([`compare_tags`]): the tag of each downloaded JWE (part 5 of its compact form)
//!    equals the submit event's tag for it, and both sides name the same attachments; every
//!    differing part is reported.
//! 6. **A decision** ([`decision`]): the destination's `accept-submission` or
//!    `reject-submission` about this submission, issued by the destination itself; an accept
//!    must repeat the tags the sender computed; the last decision in log order counts.

use std::collections::BTreeMap;

use serde_json::Value;

use super::captured::CapturedSubmission;
use super::problems::{Failure, Instance, Problem};
use super::set::{
    self, ACCEPT_SUBMISSION, AuthenticationTags, Issuer, REJECT_SUBMISSION, SUBMIT_SUBMISSION,
    SetError, StaticKeys, VerifiedSet,
};
use crate::config::JoseLimits;
use crate::jose::jwk::{Jwk, KeyUse};

/// What to do about a failed event-log check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Reject the submission with this problem.
    Reject(Failure, Instance),
    /// Not the sender's fault and possibly transient: keep the submission and check again.
    Retry,
}

/// Why the event log of a submission is not acceptable (yet).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventLogError {
    /// The delivery service's JWKS has no usable key.
    #[error("delivery service JWKS: {0}")]
    ServiceJwks(&'static str),
    /// The event log body has no `eventLog` array of strings.
    #[error("the event log has no eventLog array of SET strings")]
    NotAList,
    /// A SET of the log failed verification.
    #[error("event log entry {index} ({}): {source}", if *.relevant { "about this submission" } else { "about another part of the case" })]
    Set {
        /// Position in the log.
        index: usize,
        /// Whether the SET is about this submission.
        relevant: bool,
        /// The failed check.
        source: SetError,
    },
    /// A SET claims to come from a delivery service other than ours.
    #[error("event log entry {index}: issued by another delivery service")]
    ForeignIssuer {
        /// Position in the log.
        index: usize,
        /// Whether the SET is about this submission.
        relevant: bool,
    },
    /// The submission JSON lacks `submissionId` or `caseId` (or they are not UUIDs).
    #[error("the submission JSON lacks a valid {0}")]
    Submission(&'static str),
    /// No `submit-submission` SET of the delivery service for this submission.
    #[error("the event log has no submit-submission event for this submission")]
    SubmitEventMissing,
    /// More than one `submit-submission` SET for this submission.
    #[error("the event log has {0} submit-submission events for this submission")]
    SubmitEventRepeated(usize),
    /// A `submit-submission` about this submission not issued by the delivery service.
    #[error("a submit-submission event for this submission was not issued by the delivery service")]
    SubmitNotFromService,
    /// The submit event's case (`txn`) is not the submission's case.
    #[error("the submit-submission event belongs to another case")]
    WrongCase,
    /// The submit event carries no (valid) authentication tags.
    #[error("submit-submission carries no valid authenticationTags: {0}")]
    TagsMissing(SetError),
    /// Tags differ from the downloaded JWEs (every differing part).
    #[error("authentication tags do not match the downloaded JWEs ({} part(s))", .0.len())]
    TagMismatch(Vec<Instance>),
    /// The destination's accept repeats other tags than the sender computed.
    #[error("the accept-submission event carries other authentication tags than were sent")]
    AcceptTagsDiffer,
    /// The destination's reject carries no valid problem list.
    #[error("the reject-submission event carries no valid problems")]
    RejectPayload,
}

impl EventLogError {
    /// What this failure means for the submission.
    #[must_use]
    pub fn disposition(&self) -> Disposition {
        let reject = |f| Disposition::Reject(f, Instance::Submission);
        match self {
            Self::ServiceJwks(_) => Disposition::Retry,
            Self::Set {
                source: SetError::UnknownKey,
                ..
            } => Disposition::Retry,
            Self::Set {
                relevant: false, ..
            }
            | Self::ForeignIssuer {
                relevant: false, ..
            } => Disposition::Retry,
            Self::Set { .. } | Self::ForeignIssuer { .. } => reject(Failure::SetInvalid),
            Self::Submission(_) => Disposition::Reject(Failure::Technical, Instance::Other),
            Self::NotAList | Self::SubmitEventMissing => reject(Failure::SubmitEventMissing),
            Self::SubmitEventRepeated(_) | Self::SubmitNotFromService | Self::WrongCase => {
                reject(Failure::SetInvalid)
            }
            Self::TagsMissing(_) => reject(Failure::AuthenticationTagsMissing),
            Self::TagMismatch(parts) => Disposition::Reject(
                Failure::AuthenticationTagMismatch,
                parts.first().cloned().unwrap_or(Instance::Submission),
            ),
            // Sender side only: the destination's own SET is broken.
            Self::AcceptTagsDiffer | Self::RejectPayload => reject(Failure::SetInvalid),
        }
    }
}

/// The submission and case a log is read for (UUIDs, normalised to lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The submission id.
    pub submission_id: String,
    /// The case id.
    pub case_id: String,
}

impl Subject {
    /// A subject from the ids the delivery service gave.
    ///
    /// # Errors
    /// [`EventLogError::Submission`] when one is not a UUID.
    pub fn new(submission_id: &str, case_id: &str) -> Result<Self, EventLogError> {
        if !set::is_uuid(submission_id) {
            return Err(EventLogError::Submission("submissionId"));
        }
        if !set::is_uuid(case_id) {
            return Err(EventLogError::Submission("caseId"));
        }
        Ok(Self {
            submission_id: submission_id.to_ascii_lowercase(),
            case_id: case_id.to_ascii_lowercase(),
        })
    }

    fn is_about(&self, sub: &str) -> bool {
        sub.strip_prefix("submission:")
            .is_some_and(|id| id.eq_ignore_ascii_case(&self.submission_id))
    }

    fn in_case(&self, txn: &str) -> bool {
        txn.strip_prefix("case:")
            .is_some_and(|id| id.eq_ignore_ascii_case(&self.case_id))
    }
}

/// The delivery service's keys from its JWKS, for SETs with `iss` = `issuer`.
///
/// Keys that are not usable PS512 verification keys (`use`/`alg`/`key_ops` say otherwise, not
/// RSA, malformed) are skipped — a JWKS may carry other keys; a JWKS without any usable key is
/// an error.
///
/// # Errors
/// [`EventLogError::ServiceJwks`].
pub fn service_keys(jwks: &Value, issuer: &str) -> Result<StaticKeys, EventLogError> {
    let keys = jwks
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(EventLogError::ServiceJwks("no keys array"))?;
    let mut out = StaticKeys::default();
    for key in keys {
        let Ok(jwk) = serde_json::from_value::<Jwk>(key.clone()) else {
            continue;
        };
        if jwk.check_use(KeyUse::Signature, false).is_err() {
            continue;
        }
        let (Some(kid), Ok(public)) = (jwk.kid.clone(), jwk.public_key()) else {
            continue;
        };
        out.delivery_service.push((issuer.to_owned(), kid, public));
    }
    if out.delivery_service.is_empty() {
        return Err(EventLogError::ServiceJwks(
            "no usable PS512 verification key",
        ));
    }
    Ok(out)
}

/// What a SET claims before it is verified — only to classify a failure and to name keys;
/// nothing read here is trusted. `iss` is read leniently (a payload with duplicate members is
/// refused later by verification); `mentions` is whether the payload names `submission_id` at
/// all, so a SET that is ambiguous about its subject counts as relevant.
struct Unverified {
    iss: Option<String>,
    kid: Option<String>,
    mentions: bool,
}

fn unverified(token: &str, submission_id: &str, limits: &JoseLimits) -> Unverified {
    let Ok(jws) = crate::jose::CompactJws::parse(token, limits) else {
        // Unparseable: conservatively about this submission.
        return Unverified {
            iss: None,
            kid: None,
            mentions: true,
        };
    };
    let payload = jws.unverified_payload();
    let lower = String::from_utf8_lossy(payload).to_ascii_lowercase();
    let iss = serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|c| c.get("iss").and_then(Value::as_str).map(str::to_owned));
    Unverified {
        iss,
        kid: Some(jws.header().kid.clone()),
        mentions: submission_id.is_empty() || lower.contains(submission_id),
    }
}

/// The distinct `kid`s of the SETs in a log that claim `destination_id` as issuer (read
/// before verification, only to know which keys to fetch; malformed entries are skipped —
/// [`verify_log`] reports them).
#[must_use]
pub fn destination_kids(body: &Value, destination_id: &str, limits: &JoseLimits) -> Vec<String> {
    let mut kids: Vec<String> = Vec::new();
    for token in entries(body).unwrap_or_default() {
        let u = unverified(token, "", limits);
        if let (Some(iss), Some(kid)) = (u.iss, u.kid)
            && iss.eq_ignore_ascii_case(destination_id)
            && !kids.contains(&kid)
        {
            kids.push(kid);
        }
    }
    kids
}

/// The SET strings of an event-log body (`{"eventLog": [SET…]}`).
///
/// # Errors
/// [`EventLogError::NotAList`] for any other shape.
pub fn entries(body: &Value) -> Result<Vec<&str>, EventLogError> {
    body.get("eventLog")
        .and_then(Value::as_array)
        .ok_or(EventLogError::NotAList)?
        .iter()
        .map(|e| e.as_str().ok_or(EventLogError::NotAList))
        .collect()
}

/// Verifies every SET of a log (rules 1–3) and returns them in log order.
///
/// # Errors
/// The first failure; [`EventLogError::disposition`] says whether it rejects.
///
/// `keys` holds the delivery service's keys under `service_issuer` ([`service_keys`]) and the
/// destinations' signing keys.
pub fn verify_log(
    body: &Value,
    subject: &Subject,
    service_issuer: &str,
    keys: &StaticKeys,
    limits: &JoseLimits,
    now: i64,
) -> Result<Vec<VerifiedSet>, EventLogError> {
    let tokens = entries(body)?;
    let mut sets = Vec::with_capacity(tokens.len());
    for (index, token) in tokens.into_iter().enumerate() {
        let claims = unverified(token, &subject.submission_id, limits);
        let relevant = claims.mentions;
        // A URL issuer other than ours cannot be resolved to a key; say why precisely.
        if let Some(iss) = &claims.iss
            && !set::is_uuid(iss)
            && iss != service_issuer
        {
            return Err(EventLogError::ForeignIssuer { index, relevant });
        }
        let verified =
            set::verify(token, keys, limits, now).map_err(|source| EventLogError::Set {
                index,
                relevant,
                source,
            })?;
        sets.push(verified);
    }
    Ok(sets)
}

/// The one `submit-submission` of the subject (rule 4) and its tags.
///
/// # Errors
/// [`EventLogError::SubmitEventMissing`], `SubmitEventRepeated`, `SubmitNotFromService`,
/// `WrongCase`, `TagsMissing`.
pub fn submit_event<'s>(
    sets: &'s [VerifiedSet],
    subject: &Subject,
    service_issuer: &str,
) -> Result<(&'s VerifiedSet, AuthenticationTags), EventLogError> {
    let submits: Vec<&VerifiedSet> = sets
        .iter()
        .filter(|s| s.event == SUBMIT_SUBMISSION && subject.is_about(&s.sub))
        .collect();
    let submit = match submits.as_slice() {
        [] => return Err(EventLogError::SubmitEventMissing),
        [one] => *one,
        many => return Err(EventLogError::SubmitEventRepeated(many.len())),
    };
    if !matches!(&submit.issuer, Issuer::DeliveryService(iss) if iss == service_issuer) {
        return Err(EventLogError::SubmitNotFromService);
    }
    if !subject.in_case(&submit.txn) {
        return Err(EventLogError::WrongCase);
    }
    let tags = submit
        .authentication_tags()
        .map_err(EventLogError::TagsMissing)?;
    Ok((submit, tags))
}

/// Part 5 of a compact JWE (`None` unless it has exactly five parts).
#[must_use]
pub fn jwe_tag(token: &str) -> Option<&str> {
    let mut parts = token.split('.');
    let tag = parts.nth(4)?;
    parts.next().is_none().then_some(tag)
}

/// The tags of what was downloaded: `None` where a part has no compact-JWE tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DownloadedTags<'a> {
    /// The metadata JWE's tag.
    pub metadata: Option<&'a str>,
    /// The data JWE's tag, when data were downloaded.
    pub data: Option<&'a str>,
    /// Whether data were downloaded at all (an empty `encryptedData` counts as none).
    pub data_present: bool,
    /// Each downloaded attachment's tag, by attachment id.
    pub attachments: BTreeMap<String, Option<&'a str>>,
}

/// Compares the submit event's tags with the downloaded ones (rule 5).
///
/// # Errors
/// [`EventLogError::TagMismatch`] listing every differing part (metadata, data, attachments
/// in id order).
pub fn compare_tags(
    expected: &AuthenticationTags,
    downloaded: &DownloadedTags<'_>,
) -> Result<(), EventLogError> {
    let mut differing = Vec::new();
    if downloaded.metadata != Some(expected.metadata.as_str()) {
        differing.push(Instance::Metadata);
    }
    let data = downloaded.data_present.then_some(downloaded.data).flatten();
    if data != expected.data.as_deref() || (downloaded.data_present && data.is_none()) {
        differing.push(Instance::Data);
    }
    let lower = |m: &BTreeMap<String, Option<&str>>| -> BTreeMap<String, Option<String>> {
        m.iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.map(str::to_owned)))
            .collect()
    };
    let got = lower(&downloaded.attachments);
    let want: BTreeMap<String, String> = expected
        .attachments
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let ids: std::collections::BTreeSet<&String> = got.keys().chain(want.keys()).collect();
    for id in ids {
        let ok = match (want.get(id), got.get(id)) {
            (Some(w), Some(Some(g))) => w == g,
            _ => false,
        };
        if !ok {
            differing.push(Instance::Attachment(id.clone()));
        }
    }
    if differing.is_empty() {
        Ok(())
    } else {
        Err(EventLogError::TagMismatch(differing))
    }
}

/// The destination's decision on a submission, as its SET states it.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmissionDecision {
    /// `accept-submission` with the tags the sender computed.
    Accepted,
    /// `reject-submission` with these problems.
    Rejected(Vec<Problem>),
}

/// The destination's decision about the subject (rule 6), if the log has one.
///
/// # Errors
/// [`EventLogError::AcceptTagsDiffer`], [`EventLogError::RejectPayload`] or `TagsMissing` for
/// a decision SET whose payload is not acceptable.
pub fn decision(
    sets: &[VerifiedSet],
    subject: &Subject,
    destination_id: &str,
    sent: &AuthenticationTags,
) -> Result<Option<SubmissionDecision>, EventLogError> {
    let mut out = None;
    for s in sets {
        let from_destination =
            matches!(&s.issuer, Issuer::Destination(d) if d.eq_ignore_ascii_case(destination_id));
        if !from_destination || !subject.is_about(&s.sub) {
            continue;
        }
        if s.event == ACCEPT_SUBMISSION {
            let tags = s
                .authentication_tags()
                .map_err(EventLogError::TagsMissing)?;
            compare_tags(
                sent,
                &DownloadedTags {
                    metadata: Some(&tags.metadata),
                    data: tags.data.as_deref(),
                    data_present: tags.data.is_some(),
                    attachments: tags
                        .attachments
                        .iter()
                        .map(|(k, v)| (k.clone(), Some(v.as_str())))
                        .collect(),
                },
            )
            .map_err(|_| EventLogError::AcceptTagsDiffer)?;
            out = Some(SubmissionDecision::Accepted);
        } else if s.event == REJECT_SUBMISSION {
            let problems = s
                .payload
                .get("problems")
                .cloned()
                .ok_or(EventLogError::RejectPayload)
                .and_then(|p| {
                    serde_json::from_value::<Vec<Problem>>(p)
                        .map_err(|_| EventLogError::RejectPayload)
                })?;
            if problems.is_empty() {
                return Err(EventLogError::RejectPayload);
            }
            out = Some(SubmissionDecision::Rejected(problems));
        }
    }
    Ok(out)
}

/// A capture's event log, verified, with the submit event whose tags equal the downloaded
/// JWEs' tags.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedCapture {
    /// The delivery service's `submit-submission` SET for this submission.
    pub submit: VerifiedSet,
    /// Its authentication tags (what an `accept-submission` repeats).
    pub tags: AuthenticationTags,
    /// Every SET of the log, verified, in log order.
    pub sets: Vec<VerifiedSet>,
}

/// The tags of a capture's downloaded JWEs.
#[must_use]
pub fn downloaded_tags(capture: &CapturedSubmission) -> DownloadedTags<'_> {
    let s = &capture.submission;
    let data = s
        .get("encryptedData")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());
    DownloadedTags {
        metadata: s
            .get("encryptedMetadata")
            .and_then(Value::as_str)
            .and_then(jwe_tag),
        data: data.and_then(jwe_tag),
        data_present: data.is_some(),
        attachments: capture
            .attachments
            .iter()
            .map(|(id, token)| (id.clone(), jwe_tag(token)))
            .collect(),
    }
}

/// Rules 1–5 on a capture as downloaded: the delivery service's keys from the capture's JWKS
/// (under the capture's issuer), `destination_keys` for destination SETs, "now" = the capture
/// time.
///
/// # Errors
/// The first failed rule ([`EventLogError::disposition`] says what it means).
pub fn verify_capture(
    capture: &CapturedSubmission,
    destination_keys: &[(String, String, crate::jose::RsaPublicKey)],
    limits: &JoseLimits,
) -> Result<VerifiedCapture, EventLogError> {
    let subject = Subject::new(
        capture.submission_id().unwrap_or_default(),
        capture.case_id().unwrap_or_default(),
    )?;
    let mut keys = service_keys(&capture.service_jwks, &capture.info.issuer)?;
    keys.destinations.extend(destination_keys.iter().cloned());
    let sets = verify_log(
        &capture.events,
        &subject,
        &capture.info.issuer,
        &keys,
        limits,
        capture.info.captured_at,
    )?;
    let (submit, tags) = submit_event(&sets, &subject, &capture.info.issuer)?;
    let submit = submit.clone();
    compare_tags(&tags, &downloaded_tags(capture))?;
    Ok(VerifiedCapture { submit, tags, sets })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::test_keys;

    const SID: &str = "02bf1d9f-282d-4abf-810a-c4104baf0afe";
    const CASE: &str = "452b5ee6-35df-441a-bd39-6141723cf914";
    const DEST: &str = "40847c29-06aa-40e2-bf28-c29884c694c4";
    const ISS: &str = "https://delivery.example";
    const NOW: i64 = 1_700_000_000;
    const A: &str = "f50308a5-7ea4-4f4c-9b6b-0c1d2e3f4a5b";

    fn tags() -> AuthenticationTags {
        AuthenticationTags {
            metadata: "rJzLKF3ApPQN-gUfK-Ahgw".into(),
            data: Some("LbKRwun2tAcaqAdxGJQoYg".into()),
            attachments: BTreeMap::from([(A.into(), "RH7FW5Ug6qDgqKwO56g1Qg".into())]),
        }
    }

    fn subject() -> Subject {
        Subject::new(SID, CASE).expect("uuids")
    }

    fn downloaded(t: &AuthenticationTags) -> DownloadedTags<'_> {
        DownloadedTags {
            metadata: Some(&t.metadata),
            data: t.data.as_deref(),
            data_present: t.data.is_some(),
            attachments: t
                .attachments
                .iter()
                .map(|(k, v)| (k.clone(), Some(v.as_str())))
                .collect(),
        }
    }

    #[test]
    fn tag_comparison_reports_every_differing_part() {
        let t = tags();
        assert_eq!(compare_tags(&t, &downloaded(&t)), Ok(()));
        let mut other = t.clone();
        other.metadata = "x".into();
        other.data = None;
        other
            .attachments
            .insert("e3a2b1c0-0000-4000-8000-000000000000".into(), "y".into());
        let mut d = downloaded(&other);
        d.data_present = true;
        assert_eq!(
            compare_tags(&t, &d),
            Err(EventLogError::TagMismatch(vec![
                Instance::Metadata,
                Instance::Data,
                Instance::Attachment("e3a2b1c0-0000-4000-8000-000000000000".into()),
            ]))
        );
    }

    #[test]
    fn jwe_tag_is_the_fifth_part_only() {
        assert_eq!(jwe_tag("a.b.c.d.e"), Some("e"));
        assert_eq!(jwe_tag("a.b.c.d"), None);
        assert_eq!(jwe_tag("a.b.c.d.e.f"), None);
    }

    #[test]
    fn uppercase_attachment_ids_match_their_lowercase_tags() {
        let t = tags();
        let mut d = downloaded(&t);
        let (k, v) = d.attachments.pop_first().expect("one");
        d.attachments.insert(k.to_ascii_uppercase(), v);
        assert_eq!(compare_tags(&t, &d), Ok(()));
    }

    fn claims<'a>(iss: &'a str, sub_id: &'a str, case: &'a str) -> set::SetClaims<'a> {
        set::SetClaims {
            issuer: iss,
            submission_id: sub_id,
            case_id: case,
            schema: set::PayloadSchema::default(),
        }
    }

    fn signed(
        key: &crate::jose::SigningKey,
        iss: &str,
        sub_id: &str,
        event: &str,
        payload: Value,
    ) -> String {
        set::sign_event(key, &claims(iss, sub_id, CASE), event, payload, NOW)
    }

    fn service_only() -> StaticKeys {
        let service = test_keys::signing();
        StaticKeys {
            delivery_service: vec![(
                ISS.into(),
                service.kid().into(),
                service.public_key().clone(),
            )],
            destinations: Vec::new(),
        }
    }

    fn verify(log: &Value, keys: &StaticKeys) -> Result<Vec<VerifiedSet>, EventLogError> {
        verify_log(log, &subject(), ISS, keys, &JoseLimits::default(), NOW)
    }

    #[test]
    fn destination_sets_about_other_submissions_verify_with_registered_keys_or_retry() {
        let key = test_keys::signing();
        let other = "7f0c0c52-2f7a-4c47-8c1d-000000000001";
        let log = serde_json::json!({"eventLog": [
            signed(key, ISS, SID, SUBMIT_SUBMISSION, serde_json::json!({"authenticationTags": tags()})),
            signed(key, DEST, other, ACCEPT_SUBMISSION, serde_json::json!({"authenticationTags": tags()})),
        ]});
        let err = verify(&log, &service_only()).expect_err("unknown destination key");
        assert_eq!(err.disposition(), Disposition::Retry, "{err}");
        let mut keys = service_only();
        keys.destinations.push((
            DEST.to_ascii_uppercase(),
            key.kid().to_owned(),
            key.public_key().clone(),
        ));
        let sets = verify(&log, &keys).expect("verifies");
        let (submit, got) = submit_event(&sets, &subject(), ISS).expect("submit");
        assert_eq!(got, tags());
        assert_eq!(submit.token, log["eventLog"][0].as_str().expect("str"));
    }

    #[test]
    fn submit_events_must_be_one_from_our_service_in_this_case() {
        let key = test_keys::signing();
        let submit = signed(
            key,
            ISS,
            SID,
            SUBMIT_SUBMISSION,
            serde_json::json!({"authenticationTags": tags()}),
        );
        let sets = verify(
            &serde_json::json!({"eventLog": [submit, submit]}),
            &service_only(),
        )
        .expect("verifies");
        assert_eq!(
            submit_event(&sets, &subject(), ISS).map(|_| ()),
            Err(EventLogError::SubmitEventRepeated(2))
        );
        let foreign = signed(
            key,
            "https://other.example",
            SID,
            SUBMIT_SUBMISSION,
            serde_json::json!({"authenticationTags": tags()}),
        );
        let err = verify(&serde_json::json!({"eventLog": [foreign]}), &service_only())
            .expect_err("foreign");
        assert_eq!(
            err.disposition(),
            Disposition::Reject(Failure::SetInvalid, Instance::Submission)
        );
        let other_case = set::sign_event(
            key,
            &claims(ISS, SID, "11111111-2222-4333-8444-555555555555"),
            SUBMIT_SUBMISSION,
            serde_json::json!({"authenticationTags": tags()}),
            NOW,
        );
        let sets = verify(
            &serde_json::json!({"eventLog": [other_case]}),
            &service_only(),
        )
        .expect("verifies");
        assert_eq!(
            submit_event(&sets, &subject(), ISS).map(|_| ()),
            Err(EventLogError::WrongCase)
        );
        assert_eq!(
            submit_event(&[], &subject(), ISS)
                .map(|_| ())
                .map_err(|e| e.disposition()),
            Err(Disposition::Reject(
                Failure::SubmitEventMissing,
                Instance::Submission
            ))
        );
        // A submit event about this submission issued by a destination is not the service's.
        let mut keys = service_only();
        keys.destinations
            .push((DEST.into(), key.kid().to_owned(), key.public_key().clone()));
        let by_destination = signed(
            key,
            DEST,
            SID,
            SUBMIT_SUBMISSION,
            serde_json::json!({"authenticationTags": tags()}),
        );
        let sets =
            verify(&serde_json::json!({"eventLog": [by_destination]}), &keys).expect("verifies");
        assert_eq!(
            submit_event(&sets, &subject(), ISS).map(|_| ()),
            Err(EventLogError::SubmitNotFromService)
        );
    }

    #[test]
    fn a_relevant_set_with_a_bad_signature_rejects_an_unrelated_one_retries() {
        let key = test_keys::signing();
        let tamper = |t: String| {
            let mut parts: Vec<String> = t.split('.').map(str::to_owned).collect();
            parts[2] = crate::jose::base64url::encode(&[7u8; 512]);
            parts.join(".")
        };
        let relevant = tamper(signed(
            key,
            ISS,
            SID,
            SUBMIT_SUBMISSION,
            serde_json::json!({"authenticationTags": tags()}),
        ));
        let err = verify(
            &serde_json::json!({"eventLog": [relevant]}),
            &service_only(),
        )
        .expect_err("bad signature");
        assert_eq!(
            err.disposition(),
            Disposition::Reject(Failure::SetInvalid, Instance::Submission)
        );
        let unrelated = tamper(signed(
            key,
            ISS,
            "7f0c0c52-2f7a-4c47-8c1d-000000000001",
            SUBMIT_SUBMISSION,
            serde_json::json!({"authenticationTags": tags()}),
        ));
        let err = verify(
            &serde_json::json!({"eventLog": [unrelated]}),
            &service_only(),
        )
        .expect_err("bad signature");
        assert_eq!(err.disposition(), Disposition::Retry);
    }

    #[test]
    fn decisions_come_from_the_destination_and_accepts_repeat_the_sent_tags() {
        let key = test_keys::signing();
        let mut keys = service_only();
        keys.destinations
            .push((DEST.into(), key.kid().to_owned(), key.public_key().clone()));
        let accept = signed(
            key,
            DEST,
            SID,
            ACCEPT_SUBMISSION,
            serde_json::json!({"authenticationTags": tags()}),
        );
        let sets = verify(&serde_json::json!({"eventLog": [accept]}), &keys).expect("verifies");
        assert_eq!(
            decision(&sets, &subject(), DEST, &tags()),
            Ok(Some(SubmissionDecision::Accepted))
        );
        let mut other = tags();
        other.metadata = "AAAAAAAAAAAAAAAAAAAAAA".into();
        assert_eq!(
            decision(&sets, &subject(), DEST, &other),
            Err(EventLogError::AcceptTagsDiffer)
        );
        // The same accept issued by another destination is not a decision about our sending.
        assert_eq!(
            decision(
                &sets,
                &subject(),
                "11111111-2222-4333-8444-555555555555",
                &tags()
            ),
            Ok(None)
        );
    }
}
