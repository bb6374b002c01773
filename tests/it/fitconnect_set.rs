//! Hostile and edge-case SETs: every claim rule of FIT-Connect "Prüfung eines SET" has a case.

use poststelle::config::JoseLimits;
use poststelle::fitconnect::set::{self, SetError, StaticKeys};
use poststelle::jose::jws::{self, JwsError};
use serde_json::{Value, json};

use crate::jose_keys::{self, kid, signing};

const ZD: &str = "https://submission-api-testing.fit-connect.fitko.dev";

fn keys() -> StaticKeys {
    StaticKeys {
        delivery_service: vec![(
            ZD.into(),
            kid(signing()).into(),
            signing().public_jwk.public_key().expect("key"),
        )],
        destinations: Vec::new(),
    }
}

fn claims() -> Value {
    json!({
        "$schema": set::PayloadSchema::V1_0_0.uri(),
        "jti": "ee7e1bfd-1111-4000-8000-000000000001",
        "iss": ZD,
        "iat": jose_keys::now() - 60,
        "sub": "submission:5e82c135-1111-4000-8000-000000000002",
        "txn": "case:c9f0db91-1111-4000-8000-000000000003",
        "events": {set::SUBMIT_SUBMISSION: {"authenticationTags": {"metadata": "rJzLKF3ApPQN-gUfK-Ahgw"}}}
    })
}

fn verify(claims: &Value) -> Result<set::VerifiedSet, SetError> {
    let token = jws::sign(
        claims.to_string().as_bytes(),
        &jose_keys::signing_key(),
        Some(set::SET_TYP),
    );
    set::verify(&token, &keys(), &JoseLimits::default(), jose_keys::now())
}

fn with(pointer_key: &str, value: Value) -> Value {
    let mut c = claims();
    c[pointer_key] = value;
    c
}

fn without(key: &str) -> Value {
    let mut c = claims();
    c.as_object_mut().expect("object").remove(key);
    c
}

#[test]
fn valid_submit_submission_from_the_delivery_service() {
    let set = verify(&claims()).expect("valid");
    assert_eq!(set.issuer, set::Issuer::DeliveryService(ZD.into()));
    assert_eq!(
        set.authentication_tags().expect("tags").metadata,
        "rJzLKF3ApPQN-gUfK-Ahgw"
    );
}

#[test]
fn missing_claims() {
    for name in ["jti", "iat", "sub", "txn", "events"] {
        assert_eq!(
            verify(&without(name)),
            Err(SetError::MissingClaim { name }),
            "{name}"
        );
    }
    assert_eq!(
        verify(&without("iss")),
        Err(SetError::MissingClaim { name: "iss" })
    );
}

#[test]
fn claim_patterns() {
    assert_eq!(
        verify(&with("jti", json!("123"))),
        Err(SetError::BadClaim { name: "jti" })
    );
    assert_eq!(
        verify(&with("iss", json!("ftp://x"))),
        Err(SetError::BadClaim { name: "iss" })
    );
    assert_eq!(
        verify(&with(
            "sub",
            json!("reply:5e82c135-1111-4000-8000-000000000002")
        )),
        Err(SetError::BadClaim { name: "sub" }),
        "set-payload 1.0.0 has no replies"
    );
    assert_eq!(
        verify(&with("sub", json!("submission:x"))),
        Err(SetError::BadClaim { name: "sub" })
    );
    assert_eq!(
        verify(&with("txn", json!("c9f0db91-1111-4000-8000-000000000003"))),
        Err(SetError::BadClaim { name: "txn" })
    );
    assert_eq!(
        verify(&with("iat", json!("1651656152"))),
        Err(SetError::BadClaim { name: "iat" })
    );
    assert_eq!(
        verify(&with("iat", json!(1_500_000_000))),
        Err(SetError::IatOutOfRange)
    );
    let schema = "https://schema.fitko.de/fit-connect/set-payload/2.0.0/set-payload.schema.json";
    assert_eq!(
        verify(&with("$schema", json!(schema))),
        Err(SetError::BadClaim { name: "$schema" })
    );
}

#[test]
fn replies_are_allowed_from_set_payload_1_2() {
    let mut c = with("sub", json!("reply:5e82c135-1111-4000-8000-000000000002"));
    c["$schema"] =
        json!("https://schema.fitko.de/fit-connect/set-payload/1.2.2/set-payload.schema.json");
    assert!(verify(&c).is_ok());
}

#[test]
fn exactly_one_event() {
    assert_eq!(
        verify(&with("events", json!({}))),
        Err(SetError::EventCount { found: 0 })
    );
    let two = json!({set::SUBMIT_SUBMISSION: {}, set::ACCEPT_SUBMISSION: {}});
    assert_eq!(
        verify(&with("events", two)),
        Err(SetError::EventCount { found: 2 })
    );
    assert_eq!(
        verify(&with("events", json!({"https://evil.example/e": {}}))),
        Err(SetError::BadClaim { name: "events" })
    );
}

#[test]
fn event_payload_with_schema_is_checked() {
    let bad_tag = json!({set::SUBMIT_SUBMISSION: {"authenticationTags": {"metadata": "short"}}});
    assert!(matches!(
        verify(&with("events", bad_tag)),
        Err(SetError::EventPayload { .. })
    ));
    let no_tags = json!({set::SUBMIT_SUBMISSION: {}});
    assert!(matches!(
        verify(&with("events", no_tags.clone())),
        Err(SetError::EventPayload { .. })
    ));
    // Without $schema the payload is optional (set-payload rules).
    let mut c = with("events", no_tags);
    c.as_object_mut().expect("object").remove("$schema");
    assert!(verify(&c).is_ok());
    let empty_problems = json!({set::REJECT_SUBMISSION: {"problems": []}});
    assert!(matches!(
        verify(&with("events", empty_problems)),
        Err(SetError::EventPayload { .. })
    ));
}

#[test]
fn header_rules() {
    let token = jws::sign(
        claims().to_string().as_bytes(),
        &jose_keys::signing_key(),
        None,
    );
    assert_eq!(
        set::verify(&token, &keys(), &JoseLimits::default(), jose_keys::now()),
        Err(SetError::Typ)
    );
    let token = jws::sign(
        claims().to_string().as_bytes(),
        &jose_keys::signing_key(),
        Some(set::SET_TYP),
    );
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged =
        poststelle::jose::base64url::encode(br#"{"alg":"none","typ":"secevent+jwt","kid":"k"}"#);
    parts[0] = &forged;
    assert_eq!(
        set::verify(
            &parts.join("."),
            &keys(),
            &JoseLimits::default(),
            jose_keys::now()
        ),
        Err(SetError::Jws(JwsError::AlgNotAllowed {
            alg: "none".into()
        }))
    );
}

#[test]
fn key_is_chosen_by_issuer() {
    // Same kid, but the issuer is a destination: the delivery-service key must not be used.
    let c = with("iss", json!("40847c29-06aa-40e2-bf28-c29884c694c4"));
    assert_eq!(verify(&c), Err(SetError::UnknownKey));
}

#[test]
fn payload_not_json() {
    let token = jws::sign(b"not json", &jose_keys::signing_key(), Some(set::SET_TYP));
    assert!(matches!(
        set::verify(&token, &keys(), &JoseLimits::default(), jose_keys::now()),
        Err(SetError::PayloadNotJson { .. })
    ));
}
