//! Replies (Rückkanal) on the sandbox over loopback with raw HTTP: the subscriber creates,
//! uploads and submits a reply encrypted for the key the sender named in its metadata; the
//! sender lists, fetches, decrypts and accepts or rejects it; every step leaves a verifiable
//! SET; and the refusals name their cause.

use std::sync::OnceLock;

use poststelle::config::JoseLimits;
use poststelle::fitconnect::set::{
    self, ACCEPT_REPLY, AuthenticationTags, CREATE_REPLY, NOTIFY_REPLY, REJECT_REPLY, SUBMIT_REPLY,
    StaticKeys, VerifiedSet,
};
use poststelle::jose::jwk::{self, DecryptionKey, Jwk, KeyUse, RsaPublicKey};
use poststelle::jose::{CompactJwe, KeyRing, jwe};
use poststelle::sandbox::ClientConfig;
use serde_json::{Value, json};

use crate::sandbox_support::{Env, encrypt, now, problem, start, start_with, tag};

/// The sender's reply key pair (RSA-4096, generated once per test process).
struct ReplyKey {
    private: Jwk,
    public: RsaPublicKey,
    public_jwk: Value,
    kid: String,
}

fn reply_key() -> &'static ReplyKey {
    static KEY: OnceLock<ReplyKey> = OnceLock::new();
    KEY.get_or_init(|| {
        let generated = jwk::generate(KeyUse::Encryption, None).expect("keygen");
        let kid = generated.private_jwk.kid.clone().expect("kid");
        let public_jwk = generated.public.to_jwk(&kid, KeyUse::Encryption, None);
        ReplyKey {
            public_jwk: serde_json::from_str(&public_jwk.to_json()).expect("json"),
            private: generated.private_jwk,
            public: generated.public,
            kid,
        }
    })
}

/// Encrypts for the sender's reply key.
fn for_reply(plain: &[u8], cty: Option<&str>) -> String {
    let k = reply_key();
    jwe::encrypt(plain, &k.public, &k.kid, cty).expect("encrypt")
}

/// What the sender does with a reply JWE: decrypts it with its reply key.
fn open(token: &str) -> Vec<u8> {
    let key = DecryptionKey::from_jwk(&reply_key().private).expect("key");
    CompactJwe::parse(token, &JoseLimits::default())
        .expect("jwe")
        .decrypt(&KeyRing::from(key), &JoseLimits::default())
        .expect("decrypts")
        .bytes()
        .to_vec()
}

/// Valid 2.0.0 metadata with `reply_channel` (none when `Value::Null`).
fn metadata(reply_channel: Value) -> Vec<u8> {
    let hash = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    let mut doc = json!({
        "$schema": "https://schema.fitko.de/fit-connect/metadata/2.0.0/metadata.schema.json",
        "contentStructure": {
            "data": {
                "submissionSchema": {
                    "schemaUri": "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200",
                    "mimeType": "application/xml"
                },
                "hash": { "type": "sha512", "content": hash }
            },
            "attachments": []
        }
    });
    if !reply_channel.is_null() {
        doc["replyChannel"] = reply_channel;
    }
    serde_json::to_vec(&doc).expect("json")
}

fn fit_connect_channel() -> Value {
    json!({ "fitConnect": {
        "encryptionPublicKey": reply_key().public_jwk,
        "processStandards": ["urn:xoev-de:bmk:standard:xbau_2.6"]
    }})
}

/// A submitted submission whose metadata are `meta`: (submissionId, caseId).
async fn submitted_with(env: &Env, meta: &[u8]) -> (String, String) {
    let (sid, case, _) = submitted_tagged(env, meta).await;
    (sid, case)
}

/// As [`submitted_with`], with the authentication tags an accept needs.
async fn submitted_tagged(env: &Env, meta: &[u8]) -> (String, String, AuthenticationTags) {
    let token = env.sender().await;
    let (sid, case) = env.created(&token, &[]).await;
    let metadata = encrypt(meta, Some("application/json"));
    let data = encrypt(b"<antrag/>", Some("application/xml"));
    let tags = AuthenticationTags {
        metadata: tag(&metadata),
        data: Some(tag(&data)),
        ..AuthenticationTags::default()
    };
    let body = json!({ "encryptedMetadata": metadata, "encryptedData": data });
    assert_eq!(env.submit("v1", &token, &sid, &body).await.status(), 200);
    (sid, case, tags)
}

async fn create_reply(env: &Env, token: &str, sid: &str, announced: &[&str]) -> reqwest::Response {
    env.http
        .post(env.url("/v1/replies"))
        .bearer_auth(token)
        .json(&json!({ "submissionId": sid, "announcedAttachments": announced }))
        .send()
        .await
        .expect("create reply")
}

async fn put(env: &Env, token: &str, path: &str, ct: &str, body: String) -> reqwest::Response {
    env.http
        .put(env.url(path))
        .bearer_auth(token)
        .header("content-type", ct)
        .body(body)
        .send()
        .await
        .expect("put")
}

/// Verifies SETs with the sandbox's published key.
async fn verify_all(env: &Env, log: &Value) -> Vec<VerifiedSet> {
    let jwks: Value = env
        .http
        .get(env.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    let jwk = Jwk::from_json(&jwks["keys"][0].to_string()).expect("jwk");
    let keys = StaticKeys {
        delivery_service: vec![(
            env.sandbox.issuer().to_owned(),
            jwk.kid.clone().expect("kid"),
            jwk.public_key().expect("public"),
        )],
        destinations: Vec::new(),
    };
    log["eventLog"]
        .as_array()
        .expect("eventLog")
        .iter()
        .map(|t| {
            set::verify(
                t.as_str().expect("string"),
                &keys,
                &JoseLimits::default(),
                now(),
            )
            .expect("SET verifies")
        })
        .collect()
}

/// A reply with one attachment, submitted: (replyId, caseId, submissionId, tags).
async fn submitted_reply(env: &Env) -> (String, String, String, AuthenticationTags) {
    let (sid, case) = submitted_with(env, &metadata(fit_connect_channel())).await;
    let sub = env.subscriber().await;
    let aid = uuid::Uuid::new_v4().to_string();
    let resp = create_reply(env, &sub, &sid, &[&aid]).await;
    assert_eq!(resp.status(), 201);
    let ids: Value = resp.json().await.expect("json");
    let rid = ids["replyId"].as_str().expect("replyId").to_owned();
    assert_eq!(ids["caseId"], case.as_str());
    assert_eq!(ids["submissionId"], sid.as_str());
    let att = for_reply(b"%PDF-1.7 Bescheid", Some("application/pdf"));
    let path = format!("/v1/replies/{rid}/attachments/{aid}");
    let resp = put(env, &sub, &path, "application/jose", att.clone()).await;
    assert_eq!(resp.status(), 204);
    let meta = for_reply(b"{\"reply\":true}", Some("application/json"));
    let data = for_reply(b"<formellePruefung/>", Some("application/xml"));
    let body = json!({ "encryptedMetadata": meta, "encryptedData": data }).to_string();
    let resp = put(
        env,
        &sub,
        &format!("/v1/replies/{rid}"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(resp.status(), 200);
    let mut tags = AuthenticationTags {
        metadata: tag(&meta),
        data: Some(tag(&data)),
        ..AuthenticationTags::default()
    };
    tags.attachments.insert(aid, tag(&att));
    (rid, case, sid, tags)
}

#[tokio::test]
async fn a_reply_goes_from_the_subscriber_to_the_sender_and_is_accepted() {
    let env = start().await;
    let (sid, case) = submitted_with(&env, &metadata(fit_connect_channel())).await;
    let sub = env.subscriber().await;
    let sender = env.sender().await;
    let aid = uuid::Uuid::new_v4().to_string();

    let resp = create_reply(&env, &sub, &sid, &[&aid]).await;
    assert_eq!(resp.status(), 201);
    let ids: Value = resp.json().await.expect("json");
    let rid = ids["replyId"].as_str().expect("replyId").to_owned();
    assert_eq!(ids["caseId"], case.as_str());
    assert_eq!(ids["destinationId"], env.destination.as_str());

    // An incomplete reply is the subscriber's draft: the sender does not see it yet.
    let (status, slug) = problem(env.get(&sender, &format!("/v1/replies/{rid}")).await).await;
    assert_eq!((status, slug.as_str()), (404, "reply-not-found"));

    // Parts must be encrypted for the reply key, not for the destination's key.
    let path = format!("/v1/replies/{rid}/attachments/{aid}");
    let wrong = encrypt(b"%PDF-1.7", Some("application/pdf"));
    let (status, slug) = problem(put(&env, &sub, &path, "application/jose", wrong).await).await;
    assert_eq!((status, slug.as_str()), (422, "invalid-jwe"));
    let att = for_reply(b"%PDF-1.7 Bescheid", Some("application/pdf"));
    assert_eq!(
        put(&env, &sub, &path, "application/jose", att.clone())
            .await
            .status(),
        204
    );
    let meta = for_reply(b"{\"reply\":true}", Some("application/json"));
    let data = for_reply(b"<formellePruefung/>", Some("application/xml"));
    let body = json!({ "encryptedMetadata": meta, "encryptedData": data }).to_string();
    let resp = put(
        &env,
        &sub,
        &format!("/v1/replies/{rid}"),
        "application/json",
        body,
    )
    .await;
    assert_eq!(resp.status(), 200);

    // The sender finds, fetches and decrypts it.
    let list: Value = env
        .get(&sender, "/v1/replies")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["totalCount"], 1);
    assert_eq!(list["replies"][0]["replyId"], rid.as_str());
    assert_eq!(list["replies"][0]["submissionId"], sid.as_str());
    // Listing again records nothing new: one notify-reply per way of learning (polling).
    let again: Value = env
        .get(&sender, "/v1/replies")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again["replies"], list["replies"]);
    let reply: Value = env
        .get(&sender, &format!("/v1/replies/{rid}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(reply["status"], "submitted");
    assert_eq!(reply["attachments"], json!([aid]));
    assert_eq!(
        open(reply["encryptedData"].as_str().expect("data")),
        b"<formellePruefung/>"
    );
    let downloaded = env.get(&sender, &path).await;
    assert_eq!(downloaded.headers()["content-type"], "application/jose");
    assert_eq!(
        open(&downloaded.text().await.expect("body")),
        b"%PDF-1.7 Bescheid"
    );

    // Accepting needs exactly the tags the delivery service recorded.
    let mut tags = AuthenticationTags {
        metadata: tag(&meta),
        data: Some(tag(&data)),
        ..AuthenticationTags::default()
    };
    let accept = format!("/v1/replies/{rid}/accept");
    let body = json!({ "authenticationTags": tags }).to_string();
    let (status, slug) = problem(put(&env, &sender, &accept, "application/json", body).await).await;
    assert_eq!(
        (status, slug.as_str()),
        (422, "incorrect-authentication-tags")
    );
    tags.attachments.insert(aid.clone(), tag(&att));
    let body = json!({ "authenticationTags": tags }).to_string();
    assert_eq!(
        put(&env, &sender, &accept, "application/json", body)
            .await
            .status(),
        204
    );
    let list: Value = env
        .get(&sender, "/v1/replies")
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        list["totalCount"], 0,
        "a decided reply is no longer offered"
    );
    let reply: Value = env
        .get(&sub, &format!("/v1/replies/{rid}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        reply["status"], "accepted",
        "the subscriber sees the outcome"
    );

    // The reply's own log: create, submit, notify (the sender's first listing), accept —
    // all signed by the sandbox, about `reply:<id>` in the case of the submission.
    let log: Value = env
        .get(&sub, &format!("/v1/replies/{rid}/events"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(log["totalCount"], 4);
    let sets = verify_all(&env, &log).await;
    let names: Vec<&str> = sets.iter().map(|s| s.event.as_str()).collect();
    assert_eq!(
        names,
        [CREATE_REPLY, SUBMIT_REPLY, NOTIFY_REPLY, ACCEPT_REPLY]
    );
    for s in &sets {
        assert_eq!(s.sub, format!("reply:{rid}"));
        assert_eq!(s.txn, format!("case:{case}"));
        assert_eq!(
            s.schema.as_deref(),
            Some(set::PayloadSchema::V1_2_2.uri()),
            "replies exist from set-payload 1.2 on"
        );
    }
    assert_eq!(sets[1].authentication_tags().expect("tags"), tags);
    assert_eq!(sets[3].authentication_tags().expect("tags"), tags);
    assert_eq!(sets[2].payload, json!({ "notifyType": "polling" }));

    // The case log holds the submission's events and the reply's, in order.
    let case_log: Value = env
        .get(&sender, &format!("/v1/cases/{case}/events"))
        .await
        .json()
        .await
        .expect("json");
    let all = verify_all(&env, &case_log).await;
    let names: Vec<&str> = all.iter().map(|s| s.event.as_str()).collect();
    assert_eq!(
        names,
        [
            poststelle::sandbox::CREATE_SUBMISSION,
            set::SUBMIT_SUBMISSION,
            CREATE_REPLY,
            SUBMIT_REPLY,
            NOTIFY_REPLY,
            ACCEPT_REPLY
        ]
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_rejected_reply_carries_the_problems_and_is_decided_once() {
    let env = start().await;
    let (rid, _, _, tags) = submitted_reply(&env).await;
    let sender = env.sender().await;
    let reject = format!("/v1/replies/{rid}/reject");
    let empty = json!({ "problems": [] }).to_string();
    let (status, slug) =
        problem(put(&env, &sender, &reject, "application/json", empty).await).await;
    assert_eq!((status, slug.as_str()), (400, "invalid-request"));
    let problems = json!([{
        "type": "https://schema.fitko.de/fit-connect/events/problems/schema-violation",
        "title": "Schema-Fehler",
        "detail": "Die Fachdaten entsprechen nicht dem Schema.",
        "instance": "data"
    }]);
    let body = json!({ "problems": problems }).to_string();
    assert_eq!(
        put(&env, &sender, &reject, "application/json", body)
            .await
            .status(),
        204
    );
    // Decided once: neither a second rejection nor an acceptance afterwards.
    let body = json!({ "authenticationTags": tags }).to_string();
    let accept = format!("/v1/replies/{rid}/accept");
    let (status, slug) = problem(put(&env, &sender, &accept, "application/json", body).await).await;
    assert_eq!((status, slug.as_str()), (409, "reply-state-invalid"));
    let log: Value = env
        .get(&sender, &format!("/v1/replies/{rid}/events"))
        .await
        .json()
        .await
        .expect("json");
    let sets = verify_all(&env, &log).await;
    let last = sets.last().expect("events");
    assert_eq!(last.event, REJECT_REPLY);
    assert_eq!(last.payload, json!({ "problems": problems }));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn replies_are_refused_with_the_cause() {
    let env = start_with(|c| {
        c.clients.push(ClientConfig {
            id: "other-sender".into(),
            secret: "other-sender-secret-0123".into(),
            role: poststelle::sandbox::ClientRole::Sender,
            destinations: vec![],
        });
        c.clients.push(ClientConfig {
            id: "other-subscriber".into(),
            secret: "other-subscriber-secret-0123".into(),
            role: poststelle::sandbox::ClientRole::Subscriber,
            destinations: vec![],
        });
        c.limits.max_replies_per_submission = 2;
    })
    .await;
    let sub = env.subscriber().await;
    let sender = env.sender().await;
    let (sid, _) = submitted_with(&env, &metadata(fit_connect_channel())).await;

    // Only a subscriber connected to the submission's destination writes replies.
    let (status, slug) = problem(create_reply(&env, &sender, &sid, &[]).await).await;
    assert_eq!((status, slug.as_str()), (403, "insufficient-scope"));
    let other = env
        .token("other-subscriber", "other-subscriber-secret-0123")
        .await;
    let (status, slug) = problem(create_reply(&env, &other, &sid, &[]).await).await;
    assert_eq!((status, slug.as_str()), (403, "destination-not-connected"));

    // Unknown and not yet submitted submissions.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, slug) = problem(create_reply(&env, &sub, &unknown, &[]).await).await;
    assert_eq!((status, slug.as_str()), (404, "submission-not-found"));
    let (draft, _) = env.created(&sender, &[]).await;
    let (status, slug) = problem(create_reply(&env, &sub, &draft, &[]).await).await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));

    // The sender chose another reply channel, or none.
    let email = json!({ "eMail": { "address": "antrag@example.org" } });
    let (by_mail, _) = submitted_with(&env, &metadata(email)).await;
    let resp = create_reply(&env, &sub, &by_mail, &[]).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["type"]
            .as_str()
            .expect("type")
            .ends_with("/reply-channel-not-fit-connect")
    );
    assert!(
        body["detail"].as_str().expect("detail").contains("eMail"),
        "the detail names the channel chosen: {body}"
    );
    assert!(
        !body.to_string().contains("antrag@example.org"),
        "never the address"
    );
    // Metadata 1.0.0 know no fitConnect channel: a member of that name is not one.
    let old = json!({ "contentStructure": { "attachments": [] },
                      "replyChannel": { "fitConnect": { "anything": 1 } } });
    let (v1, _) = submitted_with(&env, &serde_json::to_vec(&old).expect("json")).await;
    let resp = create_reply(&env, &sub, &v1, &[]).await;
    assert_eq!(resp.status(), 422);
    let body: Value = resp.json().await.expect("json");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("metadata 1.0.0 does not define"),
        "{body}"
    );
    let (silent, _) = submitted_with(&env, &metadata(Value::Null)).await;
    let (status, slug) = problem(create_reply(&env, &sub, &silent, &[]).await).await;
    assert_eq!(
        (status, slug.as_str()),
        (422, "reply-channel-not-fit-connect")
    );

    // Bounded: limits.max_replies_per_submission replies per submission.
    for _ in 0..2 {
        assert_eq!(create_reply(&env, &sub, &sid, &[]).await.status(), 201);
    }
    let (status, slug) = problem(create_reply(&env, &sub, &sid, &[]).await).await;
    assert_eq!((status, slug.as_str()), (422, "too-many-replies"));

    // A reply is seen only by its two parties; attachments must be complete before submit.
    let (sid2, _) = submitted_with(&env, &metadata(fit_connect_channel())).await;
    let aid = uuid::Uuid::new_v4().to_string();
    let created: Value = create_reply(&env, &sub, &sid2, &[&aid])
        .await
        .json()
        .await
        .expect("json");
    let rid = created["replyId"].as_str().expect("id").to_owned();
    let body = json!({
        "encryptedMetadata": for_reply(b"{}", Some("application/json")),
        "encryptedData": for_reply(b"<x/>", Some("application/xml")),
    })
    .to_string();
    let submit = format!("/v1/replies/{rid}");
    let (status, slug) = problem(put(&env, &sub, &submit, "application/json", body).await).await;
    assert_eq!((status, slug.as_str()), (422, "missing-attachments"));
    let stranger = env.token("other-sender", "other-sender-secret-0123").await;
    let (status, slug) = problem(env.get(&stranger, &submit).await).await;
    assert_eq!((status, slug.as_str()), (404, "reply-not-found"));
    let (status, slug) = problem(env.get(&other, &submit).await).await;
    assert_eq!((status, slug.as_str()), (404, "reply-not-found"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn a_destination_without_the_fit_connect_channel_takes_no_replies() {
    let env = start_with(|c| c.destinations[0].reply_channels = vec!["eMail".into()]).await;
    let (sid, _) = submitted_with(&env, &metadata(fit_connect_channel())).await;
    let sub = env.subscriber().await;
    // Senders can see what the destination offers before choosing.
    let destination: Value = env
        .get(&sub, &format!("/v1/destinations/{}", env.destination))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(destination["replyChannels"], json!(["eMail"]));
    let (status, slug) = problem(create_reply(&env, &sub, &sid, &[]).await).await;
    assert_eq!((status, slug.as_str()), (422, "reply-channel-not-offered"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn replies_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().to_owned();
    // A fixed issuer: SETs written before the restart verify after it (the port changes).
    let issuer = Some("https://sandbox.replies.test".to_owned());
    let iss = issuer.clone();
    let keep = move |c: &mut poststelle::sandbox::SandboxConfig| {
        c.ephemeral = false;
        c.data_dir = path.clone();
        c.issuer = iss;
    };
    let env = start_with(keep).await;
    let destination = env.destination.clone();
    let (rid, _, _, tags) = submitted_reply(&env).await;
    env.sandbox.shutdown().await;

    let path2 = dir.path().to_owned();
    let env = start_with(move |c| {
        c.ephemeral = false;
        c.data_dir = path2;
        c.issuer = issuer;
        c.destinations[0].id.clone_from(&destination);
        for client in &mut c.clients {
            if !client.destinations.is_empty() {
                client.destinations = vec![destination.clone()];
            }
        }
    })
    .await;
    let sender = env.sender().await;
    let reply: Value = env
        .get(&sender, &format!("/v1/replies/{rid}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(reply["status"], "submitted");
    // Fetching without listing first also records one notify-reply (polling), once.
    assert_eq!(
        env.get(&sender, &format!("/v1/replies/{rid}"))
            .await
            .status(),
        200
    );
    let log: Value = env
        .get(&sender, &format!("/v1/replies/{rid}/events"))
        .await
        .json()
        .await
        .expect("json");
    let notes = verify_all(&env, &log)
        .await
        .into_iter()
        .filter(|s| s.event == NOTIFY_REPLY)
        .count();
    assert_eq!(notes, 1);
    let aid = tags.attachments.keys().next().expect("one").clone();
    let att = env
        .get(&sender, &format!("/v1/replies/{rid}/attachments/{aid}"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(
        open(&att),
        b"%PDF-1.7 Bescheid",
        "the attachment file was kept"
    );
    let body = json!({ "authenticationTags": tags }).to_string();
    let accept = format!("/v1/replies/{rid}/accept");
    assert_eq!(
        put(&env, &sender, &accept, "application/json", body)
            .await
            .status(),
        204
    );
    env.sandbox.shutdown().await;
}

/// The client functions of both sides against the sandbox, on the v2 path profile.
#[tokio::test]
async fn the_client_answers_and_the_sender_rejects_over_the_v2_paths() {
    use poststelle::fitconnect::captured::ApiProfile;
    use poststelle::fitconnect::client::{Client, ClientConfig, Credentials};
    use poststelle::fitconnect::problems::Problem;

    let env = start().await;
    let (sid, case) = submitted_with(&env, &metadata(fit_connect_channel())).await;
    let client = |id: &str, secret: &str| {
        Client::new(
            ClientConfig::sandbox(&env.base, ApiProfile::V2),
            Credentials::new(id, secret),
        )
        .expect("client")
    };
    let receiver = client("subscriber", "subscriber-secret-0123456789");
    let sender = client("sender", "sender-secret-0123456789");

    let aid = uuid::Uuid::new_v4().to_string();
    let ids = receiver
        .create_reply(&sid, std::slice::from_ref(&aid))
        .await
        .expect("created");
    assert_eq!(ids.case_id, case);
    let att = for_reply(b"%PDF-1.7", Some("application/pdf"));
    receiver
        .upload_reply_attachment(&ids.reply_id, &aid, &att)
        .await
        .expect("uploaded");
    let meta = for_reply(b"{}", Some("application/json"));
    let data = for_reply(b"<formellePruefung/>", Some("application/xml"));
    receiver
        .submit_reply(&ids.reply_id, &meta, &data)
        .await
        .expect("submitted");
    // A refusal keeps its problem for the caller: a second submit is out of order.
    let again = receiver
        .submit_reply(&ids.reply_id, &meta, &data)
        .await
        .expect_err("already submitted");
    assert_eq!(again.status(), Some(409));

    let page = sender.list_replies(0, 10).await.expect("listed");
    assert_eq!(page.paging.total_count, Some(1));
    assert_eq!(page.replies[0].reply_id, ids.reply_id);
    let reply = sender.reply(&ids.reply_id).await.expect("fetched");
    assert_eq!(reply.status, "submitted");
    assert_eq!(reply.attachments, std::slice::from_ref(&aid));
    assert_eq!(
        open(reply.encrypted_data.as_deref().expect("data")),
        b"<formellePruefung/>"
    );
    let downloaded = sender
        .reply_attachment(&ids.reply_id, &aid)
        .await
        .expect("attachment");
    assert_eq!(open(&downloaded), b"%PDF-1.7");
    assert!(sender.reject_reply(&ids.reply_id, &[]).await.is_err());
    let problem = Problem {
        type_uri: "https://schema.fitko.de/fit-connect/events/problems/schema-violation".into(),
        title: "Schema-Fehler".into(),
        detail: "Die Fachdaten entsprechen nicht dem Schema.".into(),
        instance: "data".into(),
    };
    sender
        .reject_reply(&ids.reply_id, std::slice::from_ref(&problem))
        .await
        .expect("rejected");
    let seen = receiver.reply(&ids.reply_id).await.expect("status");
    assert_eq!(seen.status, "rejected");
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn an_accepted_submission_can_be_answered_a_rejected_one_cannot() {
    let env = start().await;
    let sub = env.subscriber().await;
    let (accepted, case, tags) = submitted_tagged(&env, &metadata(fit_connect_channel())).await;
    let set = env.accept(&accepted, &case, &tags);
    assert_eq!(env.post_event(&sub, &case, &set).await.status(), 204);
    assert_eq!(create_reply(&env, &sub, &accepted, &[]).await.status(), 201);

    let (rejected, case, _) = submitted_tagged(&env, &metadata(fit_connect_channel())).await;
    let problem_list = [poststelle::fitconnect::problems::Problem {
        type_uri: "https://schema.fitko.de/fit-connect/events/problems/technical-error".into(),
        title: "Technischer Fehler".into(),
        detail: "Test".into(),
        instance: "other".into(),
    }];
    let set = set::reject_submission(
        &crate::sandbox_support::keys().signing_private,
        &env.subject(&rejected, &case),
        &problem_list,
        now(),
        set::PayloadSchema::default(),
    );
    assert_eq!(env.post_event(&sub, &case, &set).await.status(), 204);
    let (status, slug) = problem(create_reply(&env, &sub, &rejected, &[]).await).await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));
    env.sandbox.shutdown().await;
}
