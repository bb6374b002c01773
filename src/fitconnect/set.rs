//! Security Event Tokens (RFC 8417) of the FIT-Connect event log: building the subscriber's
//! `accept-submission` / `reject-submission` and verifying any SET of a case.
//!
//! Verification never skips a check (FIT-Connect "Prüfung eines SET"): header (`typ`
//! `secevent+jwt`, `alg` PS512, `kid`), signature, required claims with their patterns, exactly
//! one event, and `$schema` when present. The key is chosen by `iss`: a URL means the delivery
//! service (its JWKS), a UUID means a destination (its signing keys). Pure: `now` is a
//! parameter.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::problems::Problem;
use crate::config::JoseLimits;
use crate::jose::jwk::{RsaPublicKey, SigningKey};
use crate::jose::jws::{self, CompactJws, JwsError};

/// The JOSE `typ` of every FIT-Connect SET.
pub const SET_TYP: &str = "secevent+jwt";
/// Prefix of every FIT-Connect event URI.
pub const EVENT_PREFIX: &str = "https://schema.fitko.de/fit-connect/events/";
/// The `submit-submission` event (written by the delivery service).
pub const SUBMIT_SUBMISSION: &str = "https://schema.fitko.de/fit-connect/events/submit-submission";
/// The `accept-submission` event (written by the subscriber).
pub const ACCEPT_SUBMISSION: &str = "https://schema.fitko.de/fit-connect/events/accept-submission";
/// The `reject-submission` event (written by the subscriber).
pub const REJECT_SUBMISSION: &str = "https://schema.fitko.de/fit-connect/events/reject-submission";
/// `create-reply` (written by the delivery service when a receiver opens a reply; named in
/// the FIT-Connect reply-channel documentation, `docs/protocol-facts.md` R-4).
pub const CREATE_REPLY: &str = "https://schema.fitko.de/fit-connect/events/create-reply";
/// `submit-reply` (written by the delivery service; name by analogy, UNCONFIRMED, R-5).
pub const SUBMIT_REPLY: &str = "https://schema.fitko.de/fit-connect/events/submit-reply";
/// `notify-reply` (the sender learnt of the reply; FITKO planning#1295, R-7).
pub const NOTIFY_REPLY: &str = "https://schema.fitko.de/fit-connect/events/notify-reply";
/// `accept-reply` (the sender accepted the reply; name UNCONFIRMED, R-5).
pub const ACCEPT_REPLY: &str = "https://schema.fitko.de/fit-connect/events/accept-reply";
/// `reject-reply` (the sender rejected the reply; name UNCONFIRMED, R-5).
pub const REJECT_REPLY: &str = "https://schema.fitko.de/fit-connect/events/reject-reply";
/// A set-payload schema version a SET declares in `$schema` (protocol notes §3.3).
///
/// Which one a SET must declare is a fact of the delivery service, not of the protocol: the
/// live FIT-Connect service (v2, TEST, observed 2026-06-14) declares 1.2.2 in its own
/// submit-submission SETs and answers a subscriber SET declaring the documented 1.0.0 with
/// "Payload Schema not supported". It is therefore profile data
/// (`fitconnect::client::presets.toml`, the sandbox's profile), 1.2.2 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum PayloadSchema {
    /// `set-payload/1.0.0` (the documented version, `sub` only `submission:`).
    #[serde(rename = "1.0.0")]
    V1_0_0,
    /// `set-payload/1.2.2` (what the live v2 service requires; `sub` also `reply:`).
    #[default]
    #[serde(rename = "1.2.2")]
    V1_2_2,
}

impl PayloadSchema {
    /// The `$schema` URI.
    #[must_use]
    pub fn uri(self) -> &'static str {
        match self {
            Self::V1_0_0 => {
                "https://schema.fitko.de/fit-connect/set-payload/1.0.0/set-payload.schema.json"
            }
            Self::V1_2_2 => {
                "https://schema.fitko.de/fit-connect/set-payload/1.2.2/set-payload.schema.json"
            }
        }
    }

    /// The version named by `uri`, if it is one of ours.
    #[must_use]
    pub fn from_uri(uri: &str) -> Option<Self> {
        [Self::V1_0_0, Self::V1_2_2]
            .into_iter()
            .find(|v| v.uri() == uri)
    }
}
/// Smallest `iat` the set-payload schema allows (2020-01-01).
pub const MIN_IAT: i64 = 1_577_833_200;
/// How far in the future an `iat` may lie (clock skew), in seconds.
pub const MAX_IAT_SKEW_SECS: i64 = 300;

/// Why a SET is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetError {
    /// The compact JWS layer failed (format, algorithm, signature).
    #[error(transparent)]
    Jws(#[from] JwsError),
    /// `typ` is missing or not `secevent+jwt`.
    #[error("SET typ must be secevent+jwt")]
    Typ,
    /// The payload is not a JSON object.
    #[error("SET payload is not a JSON object (at {line}:{column})")]
    PayloadNotJson {
        /// Line of the JSON error.
        line: usize,
        /// Column of the JSON error.
        column: usize,
    },
    /// A required claim is missing.
    #[error("SET claim {name} is missing")]
    MissingClaim {
        /// Claim name.
        name: &'static str,
    },
    /// A claim has the wrong type or does not match its pattern.
    #[error("SET claim {name} is malformed")]
    BadClaim {
        /// Claim name.
        name: &'static str,
    },
    /// `iat` is before 2020 or too far in the future.
    #[error("SET iat is out of range")]
    IatOutOfRange,
    /// `events` does not hold exactly one event.
    #[error("SET must carry exactly one event, found {found}")]
    EventCount {
        /// Number of events.
        found: usize,
    },
    /// The event payload is malformed for its event type.
    #[error("SET event payload is malformed: {what}")]
    EventPayload {
        /// What is wrong.
        what: &'static str,
    },
    /// No key is known for this issuer and kid.
    #[error("no verification key for the SET issuer and kid")]
    UnknownKey,
    /// A member name occurs twice in the payload (at any depth).
    #[error("SET payload has a duplicate member name")]
    DuplicateMember,
}

/// Who issued a SET, which decides where its key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Issuer {
    /// The delivery service (Zustelldienst); key from its JWKS.
    DeliveryService(String),
    /// A destination (subscriber); key from the destination's keys.
    Destination(String),
}

/// Resolves SET verification keys by issuer and kid.
pub trait SetKeyResolver {
    /// The key for `kid` of `issuer`, if known.
    fn resolve(&self, issuer: &Issuer, kid: &str) -> Option<&RsaPublicKey>;
}

/// A fixed set of keys: the delivery service's JWKS and destination signing keys.
#[derive(Debug, Default, Clone)]
pub struct StaticKeys {
    /// (iss URL, kid, key) of delivery services.
    pub delivery_service: Vec<(String, String, RsaPublicKey)>,
    /// (destinationId, kid, key) of destinations.
    pub destinations: Vec<(String, String, RsaPublicKey)>,
}

impl SetKeyResolver for StaticKeys {
    fn resolve(&self, issuer: &Issuer, kid: &str) -> Option<&RsaPublicKey> {
        let (list, iss) = match issuer {
            Issuer::DeliveryService(url) => (&self.delivery_service, url),
            Issuer::Destination(id) => (&self.destinations, id),
        };
        // Destination ids are UUIDs (case-insensitive); service issuers are URLs (exact).
        let same = |i: &String| match issuer {
            Issuer::DeliveryService(_) => i == iss,
            Issuer::Destination(_) => i.eq_ignore_ascii_case(iss),
        };
        list.iter()
            .find(|(i, k, _)| same(i) && k == kid)
            .map(|(_, _, key)| key)
    }
}

/// The `authenticationTags` of `submit-submission` / `accept-submission`: part 5 of each JWE.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthenticationTags {
    /// Tag of the metadata JWE.
    pub metadata: String,
    /// Tag of the data JWE (absent when no Fachdaten were sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Tags of the attachment JWEs by attachmentId.
    #[serde(default)]
    pub attachments: BTreeMap<String, String>,
}

/// The identifiers a subscriber SET refers to.
#[derive(Debug, Clone)]
pub struct SubmissionRef<'a> {
    /// The destination issuing the SET (`iss`).
    pub destination_id: &'a str,
    /// The submission (`sub` = `submission:<id>`).
    pub submission_id: &'a str,
    /// The case (`txn` = `case:<id>`).
    pub case_id: &'a str,
}

/// A random UUID v4 (for `jti`).
#[must_use]
pub fn new_jti() -> String {
    let mut b = [0u8; 16];
    aws_lc_rs::rand::fill(&mut b).expect("system RNG available");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = super::hash::hex_lower(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

fn build(
    key: &SigningKey,
    subject: &SubmissionRef<'_>,
    event: &str,
    payload: Value,
    now: i64,
    schema: PayloadSchema,
) -> String {
    sign_event(
        key,
        &SetClaims {
            issuer: subject.destination_id,
            submission_id: subject.submission_id,
            case_id: subject.case_id,
            schema,
        },
        event,
        payload,
        now,
    )
}

/// Who issues a SET about which submission, under which payload schema.
#[derive(Debug, Clone, Copy)]
pub struct SetClaims<'a> {
    /// `iss`: a destination id for subscriber SETs, the delivery service's URL for its own.
    pub issuer: &'a str,
    /// `sub` = `submission:<id>`.
    pub submission_id: &'a str,
    /// `txn` = `case:<id>`.
    pub case_id: &'a str,
    /// `$schema`.
    pub schema: PayloadSchema,
}

/// Builds and signs a SET with one event about a submission ([`SetClaims`]), a fresh `jti`,
/// `iat` = `now`.
#[must_use]
pub fn sign_event(
    key: &SigningKey,
    claims: &SetClaims<'_>,
    event: &str,
    payload: Value,
    now: i64,
) -> String {
    let sub = format!("submission:{}", claims.submission_id);
    sign_about(key, claims, &sub, event, payload, now)
}

/// Builds and signs a SET with one event about a reply: as [`sign_event`], but `sub` =
/// `reply:<reply_id>` (`claims.submission_id` is not used). Replies exist in set-payload 1.2
/// and later only, so `$schema` is at least 1.2.2 whatever `claims.schema` says.
#[must_use]
pub fn sign_reply_event(
    key: &SigningKey,
    claims: &SetClaims<'_>,
    reply_id: &str,
    event: &str,
    payload: Value,
    now: i64,
) -> String {
    let claims = SetClaims {
        schema: PayloadSchema::V1_2_2,
        ..*claims
    };
    let sub = format!("reply:{reply_id}");
    sign_about(key, &claims, &sub, event, payload, now)
}

fn sign_about(
    key: &SigningKey,
    claims: &SetClaims<'_>,
    sub: &str,
    event: &str,
    payload: Value,
    now: i64,
) -> String {
    let mut events = Map::new();
    events.insert(event.to_owned(), payload);
    let claims = serde_json::json!({
        "$schema": claims.schema.uri(),
        "jti": new_jti(),
        "iss": claims.issuer,
        "iat": now,
        "sub": sub,
        "txn": format!("case:{}", claims.case_id),
        "events": events,
    });
    let payload = serde_json::to_vec(&claims).expect("JSON value serializes");
    jws::sign(&payload, key, Some(SET_TYP))
}

/// Builds a signed `accept-submission` SET carrying the authentication tags.
#[must_use]
pub fn accept_submission(
    key: &SigningKey,
    subject: &SubmissionRef<'_>,
    tags: &AuthenticationTags,
    now: i64,
    schema: PayloadSchema,
) -> String {
    let payload = serde_json::json!({ "authenticationTags": tags });
    build(key, subject, ACCEPT_SUBMISSION, payload, now, schema)
}

/// Builds a signed `reject-submission` SET carrying the problems.
#[must_use]
pub fn reject_submission(
    key: &SigningKey,
    subject: &SubmissionRef<'_>,
    problems: &[Problem],
    now: i64,
    schema: PayloadSchema,
) -> String {
    let payload = serde_json::json!({ "problems": problems });
    build(key, subject, REJECT_SUBMISSION, payload, now, schema)
}

/// A verified SET.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedSet {
    /// The compact JWS as received (archived as evidence).
    pub token: String,
    /// `kid` of the signing key.
    pub kid: String,
    /// The issuer.
    pub issuer: Issuer,
    /// `jti`.
    pub jti: String,
    /// `iat`.
    pub iat: i64,
    /// `sub` (`submission:<uuid>` or `reply:<uuid>`).
    pub sub: String,
    /// `txn` (`case:<uuid>`).
    pub txn: String,
    /// `$schema`, when present.
    pub schema: Option<String>,
    /// The one event URI.
    pub event: String,
    /// The event payload.
    pub payload: Value,
}

impl VerifiedSet {
    /// The authentication tags of a `submit-submission` / `accept-submission` event.
    ///
    /// # Errors
    /// [`SetError::EventPayload`] if the event carries none or they are malformed.
    pub fn authentication_tags(&self) -> Result<AuthenticationTags, SetError> {
        let tags = self
            .payload
            .get("authenticationTags")
            .ok_or(SetError::EventPayload {
                what: "authenticationTags missing",
            })?;
        let tags: AuthenticationTags =
            serde_json::from_value(tags.clone()).map_err(|_| SetError::EventPayload {
                what: "authenticationTags malformed",
            })?;
        let all = std::iter::once(&tags.metadata)
            .chain(tags.data.as_ref())
            .chain(tags.attachments.values());
        for tag in all {
            if tag.len() != 22 || crate::jose::base64url::decode(tag).is_none() {
                return Err(SetError::EventPayload {
                    what: "authentication tag is not a 16-byte base64url value",
                });
            }
        }
        if !tags.attachments.keys().all(|k| is_uuid(k)) {
            return Err(SetError::EventPayload {
                what: "attachment id is not a UUID",
            });
        }
        Ok(tags)
    }
}

/// Whether `s` is a UUID in the 8-4-4-4-12 hex form.
#[must_use]
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn claim_str<'a>(claims: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, SetError> {
    match claims.get(name) {
        None => Err(SetError::MissingClaim { name }),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(SetError::BadClaim { name }),
    }
}

fn prefixed_uuid(value: &str, prefixes: &[&str]) -> bool {
    prefixes
        .iter()
        .any(|p| value.strip_prefix(p).is_some_and(is_uuid))
}

fn schema_version_ok(uri: &str) -> Option<(u32, u32)> {
    let version = uri
        .strip_prefix("https://schema.fitko.de/fit-connect/set-payload/")?
        .strip_suffix("/set-payload.schema.json")?;
    let mut it = version.split('.');
    let (major, minor, patch) = (it.next()?, it.next()?, it.next()?);
    let num = |s: &str| {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    if it.next().is_some() || num(major)? != 1 {
        return None;
    }
    num(patch)?;
    Some((1, num(minor)?))
}

/// Verifies a SET: header, key by `iss`/`kid`, signature, claims and the one event.
///
/// # Errors
/// The first failed check as a [`SetError`].
pub fn verify(
    token: &str,
    keys: &dyn SetKeyResolver,
    limits: &JoseLimits,
    now: i64,
) -> Result<VerifiedSet, SetError> {
    let jws = CompactJws::parse(token, limits)?;
    if jws.header().typ.as_deref() != Some(SET_TYP) {
        return Err(SetError::Typ);
    }
    let kid = jws.header().kid.clone();
    // The issuer picks the key, so it is read before the signature is checked; nothing else
    // from the payload is used until the signature holds.
    let unverified: Value = parse_payload(jws.unverified_payload())?;
    let iss = unverified
        .get("iss")
        .ok_or(SetError::MissingClaim { name: "iss" })?
        .as_str()
        .ok_or(SetError::BadClaim { name: "iss" })?;
    let issuer = if is_uuid(iss) {
        Issuer::Destination(iss.to_owned())
    } else if iss.starts_with("https://") || iss.starts_with("http://") {
        Issuer::DeliveryService(iss.to_owned())
    } else {
        return Err(SetError::BadClaim { name: "iss" });
    };
    let key = keys.resolve(&issuer, &kid).ok_or(SetError::UnknownKey)?;
    let verified = jws.verify(key)?;
    let claims = match parse_payload(verified.payload())? {
        Value::Object(map) => map,
        _ => return Err(SetError::PayloadNotJson { line: 1, column: 1 }),
    };
    let schema = match claims.get("$schema") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(SetError::BadClaim { name: "$schema" }),
    };
    let minor = match &schema {
        None => None,
        Some(uri) => Some(
            schema_version_ok(uri)
                .ok_or(SetError::BadClaim { name: "$schema" })?
                .1,
        ),
    };
    let jti = claim_str(&claims, "jti")?;
    if !is_uuid(jti) {
        return Err(SetError::BadClaim { name: "jti" });
    }
    let iat = claims
        .get("iat")
        .ok_or(SetError::MissingClaim { name: "iat" })?
        .as_i64()
        .ok_or(SetError::BadClaim { name: "iat" })?;
    if iat < MIN_IAT || iat > now + MAX_IAT_SKEW_SECS {
        return Err(SetError::IatOutOfRange);
    }
    let sub = claim_str(&claims, "sub")?;
    // set-payload 1.0.x knows only submissions; replies came with 1.2 (earlier: no $schema).
    let sub_prefixes: &[&str] = if minor.is_some_and(|m| m < 2) {
        &["submission:"]
    } else {
        &["submission:", "reply:"]
    };
    if !prefixed_uuid(sub, sub_prefixes) {
        return Err(SetError::BadClaim { name: "sub" });
    }
    let txn = claim_str(&claims, "txn")?;
    if !prefixed_uuid(txn, &["case:"]) {
        return Err(SetError::BadClaim { name: "txn" });
    }
    let events = match claims.get("events") {
        None => return Err(SetError::MissingClaim { name: "events" }),
        Some(Value::Object(e)) => e,
        Some(_) => return Err(SetError::BadClaim { name: "events" }),
    };
    if events.len() != 1 {
        return Err(SetError::EventCount {
            found: events.len(),
        });
    }
    let (event, payload) = events.iter().next().expect("exactly one event");
    if !event.starts_with(EVENT_PREFIX) {
        return Err(SetError::BadClaim { name: "events" });
    }
    if !payload.is_object() {
        return Err(SetError::EventPayload {
            what: "event payload is not an object",
        });
    }
    let set = VerifiedSet {
        token: token.to_owned(),
        kid,
        issuer,
        jti: jti.to_owned(),
        iat,
        sub: sub.to_owned(),
        txn: txn.to_owned(),
        schema,
        event: event.clone(),
        payload: payload.clone(),
    };
    // With $schema the payload of these events is mandatory and schema-checked.
    if set.schema.is_some() && (event == SUBMIT_SUBMISSION || event == ACCEPT_SUBMISSION) {
        set.authentication_tags()?;
    }
    if set.schema.is_some() && event == REJECT_SUBMISSION {
        let problems = payload.get("problems").ok_or(SetError::EventPayload {
            what: "problems missing",
        })?;
        let problems: Vec<Problem> =
            serde_json::from_value(problems.clone()).map_err(|_| SetError::EventPayload {
                what: "problems malformed",
            })?;
        if problems.is_empty() {
            return Err(SetError::EventPayload {
                what: "problems is empty",
            });
        }
    }
    Ok(set)
}

fn parse_payload(bytes: &[u8]) -> Result<Value, SetError> {
    match crate::json::parse(bytes, &crate::json::JsonLimits::PROTOCOL) {
        Ok(value) if value.is_object() => Ok(value),
        Ok(_) => Err(SetError::PayloadNotJson { line: 1, column: 1 }),
        Err(crate::json::JsonError::DuplicateMember { .. }) => Err(SetError::DuplicateMember),
        Err(crate::json::JsonError::Syntax { line, column }) => {
            Err(SetError::PayloadNotJson { line, column })
        }
        Err(_) => Err(SetError::PayloadNotJson { line: 1, column: 1 }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitconnect::problems::{Failure, Instance};
    use crate::jose::test_keys;

    const DEST: &str = "40847c29-06aa-40e2-bf28-c29884c694c4";
    const SUB: &str = "02bf1d9f-282d-4abf-810a-c4104baf0afe";
    const CASE: &str = "452b5ee6-35df-441a-bd39-6141723cf914";
    const NOW: i64 = 1_622_796_532;

    fn subject() -> SubmissionRef<'static> {
        SubmissionRef {
            destination_id: DEST,
            submission_id: SUB,
            case_id: CASE,
        }
    }

    fn resolver() -> StaticKeys {
        let key = test_keys::signing();
        StaticKeys {
            delivery_service: Vec::new(),
            destinations: vec![(DEST.into(), key.kid().into(), key.public_key().clone())],
        }
    }

    #[test]
    fn accept_round_trip_carries_tags() {
        let tags = AuthenticationTags {
            metadata: "rJzLKF3ApPQN-gUfK-Ahgw".into(),
            data: Some("LbKRwun2tAcaqAdxGJQoYg".into()),
            attachments: BTreeMap::from([(
                "f50308a5-7ea4-4f4c-9b6b-0c1d2e3f4a5b".into(),
                "RH7FW5Ug6qDgqKwO56g1Qg".into(),
            )]),
        };
        let token = accept_submission(
            test_keys::signing(),
            &subject(),
            &tags,
            NOW,
            PayloadSchema::default(),
        );
        let set = verify(&token, &resolver(), &JoseLimits::default(), NOW).expect("valid");
        assert_eq!(set.event, ACCEPT_SUBMISSION);
        assert_eq!(set.issuer, Issuer::Destination(DEST.into()));
        assert_eq!(set.sub, format!("submission:{SUB}"));
        assert_eq!(set.txn, format!("case:{CASE}"));
        assert_eq!(set.authentication_tags(), Ok(tags));
        assert!(is_uuid(&set.jti));
    }

    #[test]
    fn reject_round_trip_carries_problems() {
        let problem = Problem::new(Failure::MetadataSchema, &Instance::Metadata).expect("ok");
        let token = reject_submission(
            test_keys::signing(),
            &subject(),
            std::slice::from_ref(&problem),
            NOW,
            PayloadSchema::default(),
        );
        let set = verify(&token, &resolver(), &JoseLimits::default(), NOW).expect("valid");
        assert_eq!(set.event, REJECT_SUBMISSION);
        assert_eq!(set.payload["problems"][0]["instance"], "metadata");
        assert_eq!(
            set.payload["problems"][0]["type"],
            problem.type_uri.as_str()
        );
    }

    #[test]
    fn refuses_wrong_typ_future_iat_and_unknown_key() {
        let key = test_keys::signing();
        let claims = |iat: i64| {
            serde_json::json!({"jti": new_jti(), "iss": DEST, "iat": iat,
                "sub": format!("submission:{SUB}"), "txn": format!("case:{CASE}"),
                "events": {ACCEPT_SUBMISSION: {}}})
            .to_string()
        };
        let limits = JoseLimits::default();
        let t = jws::sign(claims(NOW).as_bytes(), key, Some("JWT"));
        assert_eq!(verify(&t, &resolver(), &limits, NOW), Err(SetError::Typ));
        let t = jws::sign(claims(NOW + 3600).as_bytes(), key, Some(SET_TYP));
        assert_eq!(
            verify(&t, &resolver(), &limits, NOW),
            Err(SetError::IatOutOfRange)
        );
        let t = jws::sign(claims(NOW).as_bytes(), key, Some(SET_TYP));
        assert!(verify(&t, &resolver(), &limits, NOW).is_ok());
        assert_eq!(
            verify(&t, &StaticKeys::default(), &limits, NOW),
            Err(SetError::UnknownKey)
        );
    }

    #[test]
    fn schema_uri_versions() {
        assert_eq!(schema_version_ok(PayloadSchema::V1_0_0.uri()), Some((1, 0)));
        assert_eq!(schema_version_ok(PayloadSchema::V1_2_2.uri()), Some((1, 2)));
        assert_eq!(
            schema_version_ok(
                "https://schema.fitko.de/fit-connect/set-payload/1.2.2/set-payload.schema.json"
            ),
            Some((1, 2))
        );
        assert_eq!(
            schema_version_ok(
                "https://schema.fitko.de/fit-connect/set-payload/2.0.0/set-payload.schema.json"
            ),
            None
        );
        assert_eq!(
            schema_version_ok(
                "https://schema.fitko.de/fit-connect/set-payload/1.x.0/set-payload.schema.json"
            ),
            None
        );
    }
}
