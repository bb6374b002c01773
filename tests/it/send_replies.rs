//! Issue 15 scope 4: `poststelle send --reply-key` names a FIT-Connect reply channel, and
//! after the accept receives the replies through the sandbox — the test plays the destination
//! with the client's receiver functions — verifies their tags, decrypts them with the reply
//! key, validates XÖV data with the installed pack, prints them without instance values,
//! saves them (0600) and accepts the valid one and rejects the invalid one.

use std::path::Path;

use poststelle::config::JoseLimits;
use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::client::Client;
use poststelle::fitconnect::event_log as verify;
use poststelle::fitconnect::metadata::{MetadataValidator, ReplyChannel};
use poststelle::jose::jwe;
use poststelle::jose::jwk::{self, KeyUse, RsaPublicKey};
use serde_json::Value;

use crate::fitconnect_client::subscriber;
use crate::sandbox_support::{keys, start};
use crate::send_e2e::{
    decrypt, first_submission, key_ring, prepare, run_send, send_args_with_data,
};
use crate::shared_data::{XBAU, XBAU_SAMPLES, shared_or_skip};

/// The valid reply: a third-party XBau 2.6 formellePruefung.0201 sample.
const VALID_REPLY: &str =
    "xoev/samples/xbau/fv-generated/baugenehmigung.formellePruefung.0201_sample.xml";

/// A JSON reply (its value must not be printed).
const JSON_REPLY: &[u8] = br#"{"$schema": "urn:example:reply", "aktenzeichen": "AZ-4711-geheim"}"#;

/// Opens a reply as the destination does: create, upload the attachments, submit — every JWE
/// encrypted for `key` under `kid`. Returns the reply id.
async fn answer(
    client: &Client,
    sid: &str,
    key: &RsaPublicKey,
    kid: &str,
    data: &[u8],
    attachment: Option<&[u8]>,
) -> String {
    let aids: Vec<String> = attachment
        .iter()
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let ids = client.create_reply(sid, &aids).await.expect("create reply");
    if let (Some(bytes), Some(aid)) = (attachment, aids.first()) {
        let token = jwe::encrypt(bytes, key, kid, Some("application/pdf")).expect("encrypt");
        client
            .upload_reply_attachment(&ids.reply_id, aid, &token)
            .await
            .expect("upload");
    }
    // Metadata as the gateway writes them (`reply_out::reply_metadata`): the data's and the
    // attachment's SHA-512, which the sender checks.
    let outgoing: Vec<poststelle::fitconnect::sender::OutgoingAttachment> = attachment
        .iter()
        .map(|bytes| poststelle::fitconnect::sender::OutgoingAttachment {
            filename: None,
            mime_type: "application/pdf".into(),
            purpose: "attachment".into(),
            bytes: bytes.to_vec(),
        })
        .collect();
    let meta = poststelle::fitconnect::reply_out::reply_metadata(
        "urn:example:reply#answer",
        data,
        &outgoing,
        &aids,
    );
    let meta = serde_json::to_vec(&meta).expect("JSON");
    let meta = jwe::encrypt(&meta, key, kid, Some("application/json")).expect("encrypt");
    let cty = poststelle::fitconnect::sender::media_type_of(data);
    let data = jwe::encrypt(data, key, kid, Some(cty)).expect("encrypt");
    client
        .submit_reply(&ids.reply_id, &meta, &data)
        .await
        .expect("submit reply");
    ids.reply_id
}

fn reply_of<'a>(doc: &'a Value, id: &str) -> &'a Value {
    doc["replies"]
        .as_array()
        .expect("replies")
        .iter()
        .find(|r| r["replyId"] == id)
        .unwrap_or_else(|| panic!("reply {id} not reported: {doc}"))
}

#[tokio::test]
async fn send_receives_validates_saves_and_decides_replies() {
    let Some(shared) = shared_or_skip(&[XBAU, XBAU_SAMPLES]) else {
        return;
    };
    let valid = std::fs::read(shared.join(VALID_REPLY)).expect("sample");
    let env = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(&env, dir.path());
    // The sender's reply key, written as `keys generate` writes a private JWK.
    let reply = jwk::generate(KeyUse::Encryption, None).expect("keygen");
    let kid = reply.private_jwk.kid.clone().expect("kid");
    let key_file = dir.path().join("reply.private.jwk.json");
    std::fs::write(&key_file, reply.private_jwk.to_json()).expect("key file");
    // A key the sender does not have, under the reply key's kid (the service checks only the
    // kid, as it cannot know the key pair).
    let other = jwk::generate(KeyUse::Encryption, None).expect("keygen");
    let saved = dir.path().join("replies");
    let key_arg = key_file.display().to_string();
    let saved_arg = saved.display().to_string();
    let args = send_args_with_data(
        &env,
        dir.path(),
        "60",
        "antrag.xml",
        &[
            "--json",
            "--reply-key",
            &key_arg,
            "--reply-wait",
            "30",
            "--save-replies",
            &saved_arg,
            "--accept-replies",
            "--reject-invalid-replies",
        ],
    );
    let child = tokio::spawn(run_send(args));

    let client = subscriber(&env, ApiProfile::V1);
    let sid = first_submission(&client, &env.destination).await;
    let capture = client.download(&sid).await.expect("download");
    let log = verify::verify_capture(&capture, &[], &JoseLimits::default()).expect("verified");
    // The metadata name the reply channel: the public half of the reply key and the process
    // standard of the message sent.
    let meta = decrypt(
        &key_ring(),
        capture.submission["encryptedMetadata"]
            .as_str()
            .expect("metadata"),
    );
    let typed = MetadataValidator::new().validate(&meta).expect("metadata");
    assert_eq!(typed.version, "2.0.0");
    let Some(ReplyChannel::FitConnect(channel)) = typed.reply_channel else {
        panic!("no fitConnect reply channel");
    };
    assert_eq!(channel.encryption_public_key.kid, kid);
    assert_eq!(
        channel.process_standards,
        ["urn:xoev-de:bmk:standard:xbau_2.6"]
    );

    // Three replies before the accept (a submitted submission is answerable): valid with an
    // attachment, XSD-invalid, and encrypted for another key.
    let pdf = b"%PDF-1.7 Nachforderung";
    let good = answer(&client, &sid, &reply.public, &kid, &valid, Some(pdf)).await;
    let bad = answer(
        &client,
        &sid,
        &reply.public,
        &kid,
        crate::send_e2e::XBAU,
        None,
    )
    .await;
    let foreign = answer(&client, &sid, &other.public, &kid, &valid, None).await;
    let json = answer(&client, &sid, &reply.public, &kid, JSON_REPLY, None).await;
    let broken = answer(&client, &sid, &reply.public, &kid, b"<xbau:unclosed", None).await;
    let case = capture.case_id().expect("case").to_owned();
    client
        .accept(
            &keys().signing_private,
            &env.subject(&sid, &case),
            &log.tags,
        )
        .await
        .expect("accept");

    let (code, stdout) = child.await.expect("join");
    assert_eq!(code, 0, "{stdout}");
    let doc: Value = serde_json::from_str(stdout.trim()).expect("one JSON document");
    assert_eq!(doc["result"], "accepted");
    assert_eq!(
        doc["replies"].as_array().expect("replies").len(),
        5,
        "{doc}"
    );

    let r = reply_of(&doc, &good);
    assert_eq!(r["result"], "valid", "{r}");
    assert_eq!(r["tagsChecked"], true);
    assert_eq!(r["decision"], "accepted");
    assert!(
        r["messageType"]
            .as_str()
            .expect("message type")
            .starts_with("baugenehmigung.formellePruefung.0201"),
        "{r}"
    );
    assert_eq!(r["attachments"][0]["bytes"], pdf.len());

    let r = reply_of(&doc, &bad);
    assert_eq!(r["result"], "invalid", "{r}");
    assert!(r["errorCount"].as_u64().expect("count") >= 1);
    assert_eq!(r["decision"], "rejected");

    let r = reply_of(&doc, &foreign);
    assert_eq!(r["result"], "undecryptable", "{r}");
    assert_eq!(r["decision"], "rejected");
    let error = r["error"].as_str().expect("error");
    assert!(
        error.contains("data") || error.contains("metadata"),
        "{error}"
    );
    assert!(error.contains(&kid), "{error}");

    // JSON data are not validated (no reply schemas are known) and accepted as delivered.
    let r = reply_of(&doc, &json);
    assert_eq!(r["result"], "not-validated", "{r}");
    assert_eq!(r["decision"], "accepted");
    // Data that are not well-formed XML: a syntax violation, rejected as such.
    let r = reply_of(&doc, &broken);
    assert_eq!(r["result"], "invalid", "{r}");
    assert_eq!(r["violations"][0]["kind"], "not-well-formed");
    assert_eq!(r["decision"], "rejected");
    let problems = rejection_problems(&client, &broken).await;
    assert_eq!(
        problems[0]["type"],
        "https://schema.fitko.de/fit-connect/events/problems/syntax-violation"
    );
    assert_eq!(
        std::fs::read(saved.join(&json).join("data.json")).expect("saved JSON"),
        JSON_REPLY
    );

    // No instance values: neither the attachment's nor the data's text appear.
    assert!(!stdout.contains("Nachforderung"), "{stdout}");
    assert!(!stdout.contains("AZ-4711"), "{stdout}");
    assert_no_values(&stdout, &valid);

    // The decisions reached the delivery service.
    assert_eq!(client.reply(&good).await.expect("reply").status, "accepted");
    assert_eq!(client.reply(&bad).await.expect("reply").status, "rejected");
    assert_eq!(
        client.reply(&foreign).await.expect("reply").status,
        "rejected"
    );
    // The rejections name the precise problem and part, and no value.
    let problems = rejection_problems(&client, &bad).await;
    assert_eq!(
        problems[0]["type"],
        "https://schema.fitko.de/fit-connect/events/problems/schema-violation"
    );
    assert_eq!(problems[0]["instance"], "data");
    let detail = problems[0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains("baugenehmigung.antrag.0200") && detail.contains("violation"),
        "{detail}"
    );
    let problems = rejection_problems(&client, &foreign).await;
    assert_eq!(
        problems[0]["type"],
        "https://schema.fitko.de/fit-connect/events/problems/encryption-issue"
    );
    assert_eq!(problems[0]["instance"], "metadata");

    // The decrypted reply was saved, private to its owner.
    let data = saved.join(&good).join("data.xml");
    assert_eq!(std::fs::read(&data).expect("saved data"), valid);
    assert_private(&data);
    let attachment = saved.join(&good).join("attachments");
    let entry = std::fs::read_dir(&attachment)
        .expect("attachments")
        .next()
        .expect("one")
        .expect("entry")
        .path();
    assert_eq!(std::fs::read(&entry).expect("attachment"), pdf);
    assert_private(&entry);
    assert!(!saved.join(&foreign).exists());
    env.sandbox.shutdown().await;
}

/// The problems of the reply's `reject-reply` SET (payload read without verification: the
/// sender side verifies the log; here only the content matters).
async fn rejection_problems(client: &Client, reply_id: &str) -> Vec<Value> {
    let log = client.reply_events(reply_id).await.expect("events");
    for token in log["eventLog"].as_array().expect("eventLog") {
        let payload = token
            .as_str()
            .expect("SET")
            .split('.')
            .nth(1)
            .expect("payload");
        let payload = poststelle::jose::base64url::decode(payload).expect("base64url");
        let claims: Value = serde_json::from_slice(&payload).expect("claims");
        if let Some(event) = claims["events"].get(poststelle::fitconnect::set::REJECT_REPLY) {
            return event["problems"].as_array().expect("problems").clone();
        }
    }
    panic!("no reject-reply event for {reply_id}");
}

#[cfg(unix)]
fn assert_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
}

#[cfg(not(unix))]
fn assert_private(_path: &Path) {}

/// No text content of `xml` (values of eight characters or more) appears in `output`.
fn assert_no_values(output: &str, xml: &[u8]) {
    let text = String::from_utf8_lossy(xml);
    for value in text.split(['<', '>']).skip(2).step_by(2) {
        let value = value.trim();
        if value.len() >= 8 && !value.contains('=') {
            assert!(!output.contains(value), "instance value in output: {value}");
        }
    }
}

#[tokio::test]
async fn reply_options_need_a_reply_key_and_a_process_standard() {
    let env = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(&env, dir.path());
    // Without --reply-key the reply options are a usage error (clap: exit 2, nothing sent).
    let args = send_args_with_data(&env, dir.path(), "0", "antrag.xml", &["--accept-replies"]);
    let (code, _) = run_send(args).await;
    assert_eq!(code, 2);
    // JSON data name no XÖV process standard: --reply-process-standard is required.
    std::fs::write(
        dir.path().join("antrag.json"),
        br#"{"$schema": "https://schema.fitko.de/fim/s00000092_1.0.schema.json"}"#,
    )
    .expect("data");
    let reply = jwk::generate(KeyUse::Encryption, None).expect("keygen");
    let key_file = dir.path().join("reply.jwk");
    std::fs::write(&key_file, reply.private_jwk.to_json()).expect("key file");
    let key_arg = key_file.display().to_string();
    let args = send_args_with_data(
        &env,
        dir.path(),
        "0",
        "antrag.json",
        &["--reply-key", &key_arg],
    );
    let (code, _) = run_send(args).await;
    assert_eq!(code, 2);
    let client = subscriber(&env, ApiProfile::V1);
    assert!(
        client
            .list_all_submissions(&env.destination)
            .await
            .expect("list")
            .is_empty(),
        "nothing was sent"
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn send_waits_for_a_later_reply_and_prints_it_without_deciding() {
    let Some(shared) = shared_or_skip(&[XBAU, XBAU_SAMPLES]) else {
        return;
    };
    let valid = std::fs::read(shared.join(VALID_REPLY)).expect("sample");
    let env = start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    prepare(&env, dir.path());
    let reply = jwk::generate(KeyUse::Encryption, None).expect("keygen");
    let kid = reply.private_jwk.kid.clone().expect("kid");
    let key_file = dir.path().join("reply.private.jwk.json");
    std::fs::write(&key_file, reply.private_jwk.to_json()).expect("key file");
    let key_arg = key_file.display().to_string();
    let args = send_args_with_data(
        &env,
        dir.path(),
        "60",
        "antrag.xml",
        &["--reply-key", &key_arg, "--reply-wait", "60"],
    );
    let child = tokio::spawn(run_send(args));
    let client = subscriber(&env, ApiProfile::V1);
    let sid = first_submission(&client, &env.destination).await;
    let capture = client.download(&sid).await.expect("download");
    let log = verify::verify_capture(&capture, &[], &JoseLimits::default()).expect("verified");
    let case = capture.case_id().expect("case").to_owned();
    client
        .accept(
            &keys().signing_private,
            &env.subject(&sid, &case),
            &log.tags,
        )
        .await
        .expect("accept");
    // The answer comes after the acknowledgement, while `send` polls for replies.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let rid = answer(&client, &sid, &reply.public, &kid, &valid, None).await;

    let (code, stdout) = child.await.expect("join");
    assert_eq!(code, 0, "{stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("accepted {sid}"),
            format!("reply {rid} baugenehmigung.formellePruefung.0201 (XBau 2.6): valid"),
        ],
        "{stdout}"
    );
    assert_no_values(&stdout, &valid);
    // Without --accept-replies the reply stays undecided.
    assert_eq!(client.reply(&rid).await.expect("reply").status, "submitted");
    env.sandbox.shutdown().await;
}
