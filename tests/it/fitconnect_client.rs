//! The subscriber client against the sandbox: token, list, download → CapturedSubmission,
//! event log and tag verification, accept/reject, and what a tampered capture does.

use poststelle::config::JoseLimits;
use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::client::{Client, ClientConfig, ClientError, Credentials};
use poststelle::fitconnect::event_log::{self as verify, Disposition, EventLogError};
use poststelle::fitconnect::problems::{Failure, Instance, Problem};
use poststelle::fitconnect::set::{ACCEPT_SUBMISSION, REJECT_SUBMISSION, SetError};
use serde_json::Value;

use crate::sandbox_support::{Env, keys, start};

pub(crate) fn subscriber(env: &Env, profile: ApiProfile) -> Client {
    Client::new(
        ClientConfig::sandbox(&env.base, profile),
        Credentials::new("subscriber", "subscriber-secret-0123456789"),
    )
    .expect("client")
}

#[tokio::test]
async fn subscriber_lists_downloads_verifies_and_accepts() {
    let env = start().await;
    let (sid, case, tags) = env.submitted(2).await;
    let client = subscriber(&env, ApiProfile::V1);

    let listed = client
        .list_all_submissions(&env.destination)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].submission_id, sid);
    assert_eq!(listed[0].case_id, case);

    let capture = client.download(&sid).await.expect("download");
    assert_eq!(capture.submission_id(), Some(sid.as_str()));
    assert_eq!(capture.attachments.len(), 2);
    assert_eq!(capture.info.issuer, env.sandbox.issuer());
    assert_eq!(capture.event_log().count(), 2, "create + submit");

    let log = verify::verify_capture(&capture, &[], &JoseLimits::default()).expect("verified");
    assert_eq!(log.tags, tags);
    assert_eq!(log.sets.len(), 2);

    let subject = env.subject(&sid, &case);
    client
        .accept(&keys().signing_private, &subject, &log.tags)
        .await
        .expect("accept posted");

    // Accepted submissions are no longer deliverable.
    assert!(
        client
            .list_all_submissions(&env.destination)
            .await
            .expect("list")
            .is_empty()
    );
    let err = client.download(&sid).await.expect_err("gone");
    assert!(matches!(err, ClientError::Status { .. }), "{err}");

    // The case log now ends with our accept; it verifies with the destination's key.
    let events = client.events(&case).await.expect("events");
    let last = events["eventLog"]
        .as_array()
        .expect("log")
        .last()
        .expect("entry");
    let dest_key = (
        env.destination.clone(),
        keys().signing_private.kid().to_owned(),
        keys().signing_private.public_key().clone(),
    );
    let mut capture = capture;
    capture.events = events.clone();
    let log = verify::verify_capture(&capture, &[dest_key], &JoseLimits::default())
        .expect("log with accept verifies");
    assert_eq!(log.sets.last().expect("set").event, ACCEPT_SUBMISSION);
    assert!(last.as_str().is_some());
    // Without the destination key nothing is skipped: the accept SET is unverifiable.
    assert!(matches!(
        verify::verify_capture(&capture, &[], &JoseLimits::default()),
        Err(EventLogError::Set {
            index: 2,
            source: SetError::UnknownKey,
            ..
        })
    ));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn subscriber_rejects_with_problems_on_v2() {
    let env = start().await;
    let (sid, case, _) = env.submitted(0).await;
    let client = subscriber(&env, ApiProfile::V2);
    let capture = client.download(&sid).await.expect("download");
    assert_eq!(capture.info.profile, ApiProfile::V2);
    assert!(capture.submission.get("publicService").is_some());
    verify::verify_capture(&capture, &[], &JoseLimits::default()).expect("verified");
    let problem = Problem::new(Failure::DataSchema, &Instance::Data).expect("problem");
    let subject = env.subject(&sid, &case);
    client
        .reject(&keys().signing_private, &subject, &[problem])
        .await
        .expect("reject posted");
    let events = client.events(&case).await.expect("events");
    let log = events["eventLog"].as_array().expect("log");
    let last = log.last().and_then(Value::as_str).expect("SET");
    let payload = poststelle::jose::CompactJws::parse(last, &JoseLimits::default())
        .expect("jws")
        .unverified_payload()
        .to_vec();
    let payload: Value = serde_json::from_slice(&payload).expect("json");
    assert!(
        payload["events"][REJECT_SUBMISSION]["problems"][0]["type"]
            .as_str()
            .expect("type")
            .ends_with("schema-violation")
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn tampered_captures_fail_the_checks() {
    let env = start().await;
    let (sid, _, _) = env.submitted(1).await;
    let client = subscriber(&env, ApiProfile::V1);
    let capture = client.download(&sid).await.expect("download");
    let limits = JoseLimits::default();

    // An attachment swapped for another JWE: its tag no longer matches.
    let mut swapped = capture.clone();
    let (id, _) = swapped.attachments.iter().next().expect("one");
    let id = id.clone();
    swapped
        .attachments
        .insert(id.clone(), crate::sandbox_support::encrypt(b"other", None));
    let err = verify::verify_capture(&swapped, &[], &limits).expect_err("mismatch");
    assert_eq!(
        err.disposition(),
        Disposition::Reject(Failure::AuthenticationTagMismatch, Instance::Attachment(id))
    );

    // A submit SET from another issuer (wrong JWKS) does not verify.
    let mut foreign = capture.clone();
    foreign.service_jwks = serde_json::json!({"keys": [keys_public_signing()]});
    let err = verify::verify_capture(&foreign, &[], &limits).expect_err("bad key");
    assert!(matches!(err, EventLogError::Set { index: 0, .. }), "{err}");

    // No submit event at all.
    let mut truncated = capture.clone();
    truncated.events["eventLog"]
        .as_array_mut()
        .expect("log")
        .truncate(1);
    let err = verify::verify_capture(&truncated, &[], &limits).expect_err("missing");
    assert_eq!(err, EventLogError::SubmitEventMissing);
    assert_eq!(
        err.disposition(),
        Disposition::Reject(Failure::SubmitEventMissing, Instance::Submission)
    );

    // Wrong credentials: a precise token error, no panic.
    let bad = Client::new(
        ClientConfig::sandbox(&env.base, ApiProfile::V1),
        Credentials::new("subscriber", "wrong-secret-0123456789"),
    )
    .expect("client");
    let err = bad.download(&sid).await.expect_err("refused");
    assert!(
        matches!(err, ClientError::Token { status: 401, .. }),
        "{err}"
    );
    env.sandbox.shutdown().await;
}

/// The destination's public signing key as a JWK with the service kid, so that the kid
/// matches but the key does not.
fn keys_public_signing() -> Value {
    let public = keys().signing_private.public_key();
    let jwk = public.to_jwk(&service_kid(), poststelle::jose::KeyUse::Signature, None);
    serde_json::from_str(&jwk.to_json()).expect("json")
}

fn service_kid() -> String {
    let text = std::fs::read_to_string(&keys().service).expect("service key");
    poststelle::jose::Jwk::from_json(&text)
        .expect("jwk")
        .kid
        .clone()
        .expect("kid")
}
