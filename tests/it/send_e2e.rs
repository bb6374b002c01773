//! Acceptance 1: `poststelle send` → sandbox → subscriber client downloads, verifies the event
//! log and tags, decrypts, checks hashes, posts accept (or reject with problems) → `send`
//! reports it with the documented exit code.

use std::path::Path;
use std::time::Duration;

use poststelle::cli::send::run_to;
use poststelle::config::JoseLimits;
use poststelle::fitconnect::captured::{ApiProfile, CapturedSubmission};
use poststelle::fitconnect::client::Client;
use poststelle::fitconnect::event_log as verify;
use poststelle::fitconnect::hash::sha512_hex;
use poststelle::fitconnect::metadata::MetadataValidator;
use poststelle::fitconnect::problems::{Failure, Instance, Problem};
use poststelle::jose::{CompactJwe, DecryptionKey, Jwk, KeyRing};
use serde_json::Value;

use crate::fitconnect_client::subscriber;
use crate::sandbox_support::{Env, keys, start};

pub(crate) const XBAU: &[u8] = br#"<?xml version="1.0" encoding="UTF-8"?>
<xbau:baugenehmigung.antrag.0200 xmlns:xbau="http://www.xleitstelle.de/xbau/2/6"/>
"#;

pub(crate) fn key_ring() -> KeyRing {
    let text = std::fs::read_to_string(&keys().encryption).expect("key file");
    let key = DecryptionKey::from_jwk(&Jwk::from_json(&text).expect("jwk")).expect("key");
    let mut ring = KeyRing::new();
    ring.insert(key).expect("insert");
    ring
}

pub(crate) fn decrypt(ring: &KeyRing, token: &str) -> Vec<u8> {
    let limits = JoseLimits::default();
    CompactJwe::parse(token, &limits)
        .expect("jwe")
        .decrypt(ring, &limits)
        .expect("decrypts")
        .bytes()
        .to_vec()
}

/// Waits (bounded) until the destination has a deliverable submission; returns its id.
pub(crate) async fn first_submission(client: &Client, destination: &str) -> String {
    for _ in 0..300 {
        let list = client
            .list_all_submissions(destination)
            .await
            .expect("list");
        if let Some(item) = list.first() {
            return item.submission_id.clone();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no submission arrived within 30 s");
}

/// Decrypts a verified capture and checks the metadata hashes; returns the metadata.
pub(crate) fn open_capture(capture: &CapturedSubmission) -> Value {
    let ring = key_ring();
    let meta = decrypt(
        &ring,
        capture.submission["encryptedMetadata"]
            .as_str()
            .expect("metadata"),
    );
    MetadataValidator::new()
        .validate(&meta)
        .expect("metadata valid");
    let meta: Value = serde_json::from_slice(&meta).expect("json");
    let data = decrypt(
        &ring,
        capture.submission["encryptedData"].as_str().expect("data"),
    );
    assert_eq!(
        meta["contentStructure"]["data"]["hash"]["content"],
        sha512_hex(&data)
    );
    for entry in meta["contentStructure"]["attachments"]
        .as_array()
        .expect("list")
    {
        let id = entry["attachmentId"].as_str().expect("id");
        let plain = decrypt(&ring, &capture.attachments[id]);
        assert_eq!(entry["hash"]["content"], sha512_hex(&plain));
    }
    meta
}

/// Writes `sandbox.toml`, the XBau data and a PDF attachment into `dir`.
pub(crate) fn prepare(env: &Env, dir: &Path) {
    let config = env.sandbox.config().to_toml().expect("toml");
    std::fs::write(dir.join("sandbox.toml"), config).expect("write config");
    std::fs::write(dir.join("antrag.xml"), XBAU).expect("data");
    std::fs::write(dir.join("plan.pdf"), b"%PDF-1.7 plan").expect("attachment");
}

/// `poststelle send --sandbox …` arguments against `env` with the prepared files.
fn send_args(env: &Env, dir: &Path, wait: &str, extra: &[&str]) -> Vec<String> {
    send_args_with_data(env, dir, wait, "antrag.xml", extra)
}

/// [`send_args`] with another data file of `dir`.
pub(crate) fn send_args_with_data(
    env: &Env,
    dir: &Path,
    wait: &str,
    data: &str,
    extra: &[&str],
) -> Vec<String> {
    let path = |name: &str| dir.join(name).display().to_string();
    let mut args: Vec<String> = vec![
        "send".into(),
        "--sandbox".into(),
        "--sandbox-dir".into(),
        dir.display().to_string(),
        "--url".into(),
        env.base.clone(),
        "--wait".into(),
        wait.into(),
        "--data".into(),
        path(data),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Runs `send` on its own thread (it starts its own runtime) and returns a future of
/// (exit code, stdout).
fn spawn_send(args: Vec<String>) -> tokio::sync::oneshot::Receiver<(u8, String)> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let code = run_to(args, &mut out);
        let _ = tx.send((code, String::from_utf8_lossy(&out).into_owned()));
    });
    rx
}

async fn finish(rx: tokio::sync::oneshot::Receiver<(u8, String)>) -> (u8, String) {
    // `--wait` bounds the command; this bounds the test.
    tokio::time::timeout(Duration::from_secs(90), rx)
        .await
        .expect("send finished in time")
        .expect("send thread")
}

pub(crate) async fn run_send(args: Vec<String>) -> (u8, String) {
    finish(spawn_send(args)).await
}

fn with_attachment(env: &Env, dir: &Path, extra: &[&str]) -> Vec<String> {
    prepare(env, dir);
    let plan = dir.join("plan.pdf").display().to_string();
    let mut all = vec!["--attachment", plan.as_str()];
    all.extend_from_slice(extra);
    send_args(env, dir, "60", &all)
}

#[tokio::test]
async fn send_is_accepted_end_to_end() {
    let env = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let child = spawn_send(with_attachment(&env, dir.path(), &[]));
    let client = subscriber(&env, ApiProfile::V1);
    let sid = first_submission(&client, &env.destination).await;
    let capture = client.download(&sid).await.expect("download");
    let log = verify::verify_capture(&capture, &[], &JoseLimits::default()).expect("verified");
    let meta = open_capture(&capture);
    assert_eq!(
        meta["contentStructure"]["data"]["submissionSchema"]["schemaUri"],
        "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200"
    );
    assert_eq!(
        meta["contentStructure"]["attachments"][0]["filename"],
        "plan.pdf"
    );
    let case = capture.case_id().expect("case").to_owned();
    let subject = env.subject(&sid, &case);
    client
        .accept(&keys().signing_private, &subject, &log.tags)
        .await
        .expect("accept");
    let (code, stdout) = finish(child).await;
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.trim(), format!("accepted {sid}"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn send_reports_a_rejection_with_its_problems() {
    let env = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let child = spawn_send(with_attachment(&env, dir.path(), &["--json"]));
    let client = subscriber(&env, ApiProfile::V1);
    let sid = first_submission(&client, &env.destination).await;
    let capture = client.download(&sid).await.expect("download");
    verify::verify_capture(&capture, &[], &JoseLimits::default()).expect("verified");
    open_capture(&capture);
    let case = capture.case_id().expect("case").to_owned();
    let subject = env.subject(&sid, &case);
    let problems = [
        Problem::new(Failure::DataSchema, &Instance::Data).expect("problem"),
        Problem::new(Failure::HashMismatch, &Instance::Attachment("x".into())).expect("problem"),
    ];
    client
        .reject(&keys().signing_private, &subject, &problems)
        .await
        .expect("reject");
    let (code, stdout) = finish(child).await;
    assert_eq!(code, 1, "{stdout}");
    let v: Value = serde_json::from_str(&stdout).expect("json output");
    assert_eq!(v["result"], "rejected");
    assert_eq!(v["submissionId"], sid.as_str());
    assert_eq!(v["problems"][0]["type"], problems[0].type_uri.as_str());
    assert_eq!(v["problems"][1]["instance"], "attachment:x");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn send_exit_codes_for_pending_submitted_and_errors() {
    let env = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    prepare(&env, d);
    // Nobody decides: pending after the (short) wait.
    let (code, stdout) = run_send(send_args(&env, d, "1", &[])).await;
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.starts_with("pending "), "{stdout}");
    // --wait 0: submit and exit.
    let (code, stdout) = run_send(send_args(&env, d, "0", &[])).await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("submitted "), "{stdout}");
    // A wrong secret: a token error, exit 2.
    let wrong = ["--client-secret", "wrong-secret-000000"];
    let (code, _) = run_send(send_args(&env, d, "0", &wrong)).await;
    assert_eq!(code, 2);
    // Unknown XML message without --schema-uri: usage error before any network traffic.
    std::fs::write(d.join("antrag.xml"), "<x xmlns='urn:unknown'/>").expect("write");
    let (code, stdout) = run_send(send_args(&env, d, "0", &[])).await;
    assert_eq!((code, stdout.as_str()), (2, ""));
    // With --schema-uri the sender asks the destination first: a schema its service does not
    // accept (GET /destinations/{id}: publicServices[].submissionSchemas) is refused before
    // anything is created …
    let uri = ["--schema-uri", "urn:example:schema"];
    let (code, _) = run_send(send_args(&env, d, "0", &uri)).await;
    assert_eq!(code, 2);
    // … one it accepts goes through.
    let uri = [
        "--schema-uri",
        "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200",
    ];
    let (code, _) = run_send(send_args(&env, d, "0", &uri)).await;
    assert_eq!(code, 0);
    // An unparsable sandbox.toml is a configuration error (64); a missing one an I/O error.
    std::fs::write(d.join("sandbox.toml"), "listen = 5").expect("write");
    let (code, _) = run_send(send_args(&env, d, "0", &[])).await;
    assert_eq!(code, 64);
    std::fs::remove_file(d.join("sandbox.toml")).expect("remove");
    let (code, _) = run_send(send_args(&env, d, "0", &[])).await;
    assert_eq!(code, 2);
    env.sandbox.shutdown().await;
}

/// Issue 14 (metadata 2.x): with the v2 path profile `send` writes metadata 2.1.0, as current
/// senders do, with the service in the Submission API and repeated as `publicService`.
#[tokio::test]
async fn send_writes_metadata_2_1_0_in_the_v2_profile() {
    let env = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(&env, dir.path());
    let plan = dir.path().join("plan.pdf").display().to_string();
    let args = send_args(
        &env,
        dir.path(),
        "0",
        &["--api", "v2", "--attachment", &plan],
    );
    let (code, stdout) = run_send(args).await;
    assert_eq!(code, 0, "{stdout}");
    let client = subscriber(&env, ApiProfile::V2);
    let sid = first_submission(&client, &env.destination).await;
    let capture = client.download(&sid).await.expect("download");
    let meta = decrypt(
        &key_ring(),
        capture.submission["encryptedMetadata"]
            .as_str()
            .expect("metadata"),
    );
    let typed = MetadataValidator::with_unconfirmed(true)
        .validate(&meta)
        .expect("valid 2.1.0");
    assert_eq!(typed.version, "2.1.0");
    assert_eq!(typed.public_service_type, None);
    let service = typed.public_service.expect("publicService");
    assert_eq!(
        Some(service.identifier.as_str()),
        capture.submission["publicService"]["identifier"].as_str()
    );
    assert_eq!(typed.content_structure.attachments.len(), 1);
    env.sandbox.shutdown().await;
}
