//! Pure receive-side checks of a [`CapturedSubmission`]: the delivery service's SETs in the
//! event log and the `authenticationTags` of its `submit-submission` event against the JWEs
//! actually downloaded (FIT-Connect "Integritätssicherung", protocol notes §3.3).
//!
//! No I/O and no clock: "now" is the capture time, so the gateway pipeline and the test
//! vectors run the same checks on stored captures. Failures map to the reject problem
//! types through [`EventLogError::failure`].

use serde_json::Value;

use crate::config::JoseLimits;
use crate::fitconnect::captured::CapturedSubmission;
use crate::fitconnect::problems::{Failure, Instance};
use crate::fitconnect::set::{
    self, AuthenticationTags, Issuer, SUBMIT_SUBMISSION, SetError, StaticKeys, VerifiedSet,
};
use crate::jose::jwk::{Jwk, KeyUse, RsaPublicKey};

/// Why the event log or the authentication tags of a capture are not acceptable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventLogError {
    /// The delivery service's JWKS is unusable.
    #[error("delivery service JWKS: {0}")]
    ServiceJwks(&'static str),
    /// The event log body has no `eventLog` array of strings.
    #[error("the event log has no eventLog array of SET strings")]
    NotAList,
    /// A SET of the log failed verification.
    #[error("event log entry {index}: {source}")]
    Set {
        /// Position in the log.
        index: usize,
        /// The failed check.
        source: SetError,
    },
    /// The submission JSON lacks `submissionId` or `caseId`.
    #[error("the submission JSON lacks {0}")]
    Submission(&'static str),
    /// No `submit-submission` SET of the delivery service for this submission.
    #[error("the event log has no submit-submission event for this submission")]
    SubmitEventMissing,
    /// More than one `submit-submission` SET for this submission.
    #[error("the event log has {0} submit-submission events for this submission")]
    SubmitEventRepeated(usize),
    /// The submit event's case (`txn`) is not the submission's case.
    #[error("the submit-submission event belongs to another case")]
    WrongCase,
    /// The submit event carries no (valid) authentication tags.
    #[error("submit-submission carries no valid authenticationTags: {0}")]
    TagsMissing(SetError),
    /// A JWE of the submission is not in compact form (five parts).
    #[error("{instance}: not a compact JWE")]
    NotCompactJwe {
        /// `metadata`, `data` or `attachment:<id>`.
        instance: String,
    },
    /// A tag differs from part 5 of the downloaded JWE, or one side lacks it.
    #[error("{instance}: authentication tag does not match the downloaded JWE")]
    TagMismatch {
        /// `metadata`, `data` or `attachment:<id>`.
        instance: String,
    },
}

impl EventLogError {
    /// The reject-problem failure this error stands for, with its instance.
    #[must_use]
    pub fn failure(&self) -> (Failure, Instance) {
        match self {
            Self::SubmitEventMissing | Self::SubmitEventRepeated(_) => {
                (Failure::SubmitEventMissing, Instance::Submission)
            }
            Self::TagsMissing(_) => (Failure::AuthenticationTagsMissing, Instance::Submission),
            Self::TagMismatch { instance } | Self::NotCompactJwe { instance } => {
                (Failure::AuthenticationTagMismatch, instance_of(instance))
            }
            _ => (Failure::SetInvalid, Instance::Submission),
        }
    }
}

fn instance_of(text: &str) -> Instance {
    match text {
        "metadata" => Instance::Metadata,
        "data" => Instance::Data,
        other => other
            .strip_prefix("attachment:")
            .map_or(Instance::Submission, |id| {
                Instance::Attachment(id.to_owned())
            }),
    }
}

/// The verified `submit-submission` event of a capture and every verified SET of its log.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedEventLog {
    /// The delivery service's `submit-submission` SET for this submission.
    pub submit: VerifiedSet,
    /// Its authentication tags (equal to the downloaded JWEs' tags when
    /// [`verify_capture`] returned them).
    pub tags: AuthenticationTags,
    /// All SETs of the log in order, verified.
    pub sets: Vec<VerifiedSet>,
}

/// The delivery service's keys from its JWKS, for SETs with `iss` = `issuer`.
///
/// Keys that are not usable PS512 verification keys are skipped (a JWKS may carry other keys);
/// a JWKS without any usable key is an error.
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

/// Verifies every SET of the capture's event log and finds this submission's
/// `submit-submission` event.
///
/// Delivery-service SETs are checked with the capture's JWKS; SETs issued by a destination
/// (accept/reject on a re-download) need that destination's signing key in
/// `destination_keys` (`(destinationId, kid, key)`), or they fail with
/// [`SetError::UnknownKey`]: nothing in the log is skipped.
///
/// # Errors
/// The first failed check.
pub fn verify_event_log(
    capture: &CapturedSubmission,
    destination_keys: &[(String, String, RsaPublicKey)],
    limits: &JoseLimits,
) -> Result<VerifiedEventLog, EventLogError> {
    let submission_id = capture
        .submission_id()
        .ok_or(EventLogError::Submission("submissionId"))?;
    let case_id = capture
        .case_id()
        .ok_or(EventLogError::Submission("caseId"))?;
    let mut keys = service_keys(&capture.service_jwks, &capture.info.issuer)?;
    keys.destinations.extend(destination_keys.iter().cloned());
    let log = capture
        .events
        .get("eventLog")
        .and_then(Value::as_array)
        .ok_or(EventLogError::NotAList)?;
    let now = capture.info.captured_at;
    let mut sets = Vec::with_capacity(log.len());
    for (index, entry) in log.iter().enumerate() {
        let token = entry.as_str().ok_or(EventLogError::NotAList)?;
        let verified = set::verify(token, &keys, limits, now)
            .map_err(|source| EventLogError::Set { index, source })?;
        sets.push(verified);
    }
    let subject = format!("submission:{submission_id}");
    let submits: Vec<&VerifiedSet> = sets
        .iter()
        .filter(|s| {
            s.event == SUBMIT_SUBMISSION
                && s.sub.eq_ignore_ascii_case(&subject)
                && matches!(&s.issuer, Issuer::DeliveryService(_))
        })
        .collect();
    let submit = match submits.as_slice() {
        [] => return Err(EventLogError::SubmitEventMissing),
        [one] => (*one).clone(),
        many => return Err(EventLogError::SubmitEventRepeated(many.len())),
    };
    if !submit.txn.eq_ignore_ascii_case(&format!("case:{case_id}")) {
        return Err(EventLogError::WrongCase);
    }
    let tags = submit
        .authentication_tags()
        .map_err(EventLogError::TagsMissing)?;
    Ok(VerifiedEventLog { submit, tags, sets })
}

fn jwe_tag<'a>(token: &'a str, instance: &str) -> Result<&'a str, EventLogError> {
    let parts: Vec<&str> = token.split('.').collect();
    match parts.as_slice() {
        [_, _, _, _, tag] => Ok(tag),
        _ => Err(EventLogError::NotCompactJwe {
            instance: instance.to_owned(),
        }),
    }
}

/// The authentication tags of the JWEs actually downloaded: part 5 of `encryptedMetadata`,
/// `encryptedData` (absent or empty: none) and each attachment.
///
/// # Errors
/// [`EventLogError::NotCompactJwe`] for a JWE without five parts;
/// [`EventLogError::Submission`] without `encryptedMetadata`.
pub fn downloaded_tags(capture: &CapturedSubmission) -> Result<AuthenticationTags, EventLogError> {
    let s = &capture.submission;
    let metadata = s
        .get("encryptedMetadata")
        .and_then(Value::as_str)
        .ok_or(EventLogError::Submission("encryptedMetadata"))?;
    let data = s
        .get("encryptedData")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());
    let mut tags = AuthenticationTags {
        metadata: jwe_tag(metadata, "metadata")?.to_owned(),
        data: data
            .map(|d| jwe_tag(d, "data").map(str::to_owned))
            .transpose()?,
        attachments: Default::default(),
    };
    for (id, token) in &capture.attachments {
        let instance = format!("attachment:{id}");
        tags.attachments
            .insert(id.clone(), jwe_tag(token, &instance)?.to_owned());
    }
    Ok(tags)
}

/// Compares the tags of the submit event with the downloaded ones: metadata, data and the
/// same attachment ids with the same tags.
///
/// # Errors
/// [`EventLogError::TagMismatch`] naming the first differing part.
pub fn compare_tags(
    expected: &AuthenticationTags,
    downloaded: &AuthenticationTags,
) -> Result<(), EventLogError> {
    let mismatch = |instance: &str| EventLogError::TagMismatch {
        instance: instance.to_owned(),
    };
    if expected.metadata != downloaded.metadata {
        return Err(mismatch("metadata"));
    }
    if expected.data != downloaded.data {
        return Err(mismatch("data"));
    }
    let ids = expected
        .attachments
        .keys()
        .chain(downloaded.attachments.keys());
    for id in ids {
        let a = expected.attachments.get(id);
        let b = downloaded.attachments.get(id);
        if a.is_none() || a != b {
            return Err(mismatch(&format!("attachment:{id}")));
        }
    }
    Ok(())
}

/// Everything in one: verifies the log ([`verify_event_log`]) and compares the submit
/// event's tags with the downloaded JWEs ([`compare_tags`]). The returned tags are the ones
/// an `accept-submission` SET carries.
///
/// # Errors
/// The first failed check.
pub fn verify_capture(
    capture: &CapturedSubmission,
    destination_keys: &[(String, String, RsaPublicKey)],
    limits: &JoseLimits,
) -> Result<VerifiedEventLog, EventLogError> {
    let log = verify_event_log(capture, destination_keys, limits)?;
    let downloaded = downloaded_tags(capture)?;
    compare_tags(&log.tags, &downloaded)?;
    Ok(log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(meta: &str, data: Option<&str>, att: &[(&str, &str)]) -> AuthenticationTags {
        AuthenticationTags {
            metadata: meta.into(),
            data: data.map(Into::into),
            attachments: att
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn tag_comparison_names_the_part() {
        let a = tags("m", Some("d"), &[("x", "1")]);
        assert_eq!(compare_tags(&a, &a.clone()), Ok(()));
        let e = compare_tags(&a, &tags("M", Some("d"), &[("x", "1")])).expect_err("meta");
        assert_eq!(e.failure().1, Instance::Metadata);
        let e = compare_tags(&a, &tags("m", None, &[("x", "1")])).expect_err("data");
        assert_eq!(e.failure().1, Instance::Data);
        let e = compare_tags(&a, &tags("m", Some("d"), &[("x", "2")])).expect_err("att");
        assert_eq!(
            e,
            EventLogError::TagMismatch {
                instance: "attachment:x".into()
            }
        );
        let e = compare_tags(&a, &tags("m", Some("d"), &[("x", "1"), ("y", "1")]))
            .expect_err("extra attachment");
        assert_eq!(e.failure().0, Failure::AuthenticationTagMismatch);
    }

    #[test]
    fn jwks_without_signing_keys_is_refused() {
        let jwks = serde_json::json!({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}]});
        assert!(matches!(
            service_keys(&jwks, "https://x"),
            Err(EventLogError::ServiceJwks(_))
        ));
        assert!(service_keys(&serde_json::json!({}), "https://x").is_err());
    }
}
