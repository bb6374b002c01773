//! The sandbox end to end: tokens, create → upload → submit → list → fetch → events →
//! accept/reject/forward, the v2 profile, SET verification, persistence across a restart.

use poststelle::config::JoseLimits;
use poststelle::fitconnect::problems::{Failure, Instance, Problem};
use poststelle::fitconnect::set::{self, SUBMIT_SUBMISSION, StaticKeys};
use poststelle::jose::Jwk;
use poststelle::sandbox::{CREATE_SUBMISSION, Sandbox};
use serde_json::{Value, json};

use crate::sandbox_support::{self as support, encrypt, keys, now, problem, start, tag};

#[tokio::test]
async fn token_endpoint_grants_and_refuses() {
    let env = start().await;
    let ok = env
        .token_response(
            "grant_type=client_credentials&client_id=sender&client_secret=sender-secret-0123456789",
        )
        .await;
    assert_eq!(ok.status(), 200);
    let v: Value = ok.json().await.expect("json");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 1800);
    assert!(
        v["scope"]
            .as_str()
            .expect("scope")
            .contains("send:region:DE")
    );

    let bad_secret = env
        .token_response("grant_type=client_credentials&client_id=sender&client_secret=nope")
        .await;
    assert_eq!(bad_secret.status(), 401);
    let v: Value = bad_secret.json().await.expect("json");
    assert_eq!(v["error"], "invalid_client");

    let bad_scope = env
        .token_response(
            "grant_type=client_credentials&client_id=sender&client_secret=sender-secret-0123456789\
             &scope=https%3A%2F%2Fschema.fitko.de%2Ffit-connect%2Foauth%2Fscopes%2Fsubscribe-destinations",
        )
        .await;
    assert_eq!(bad_scope.status(), 400);
    let v: Value = bad_scope.json().await.expect("json");
    assert_eq!(v["error"], "invalid_scope");

    let basic = env
        .http
        .post(env.url("/token"))
        .basic_auth("sender", Some("sender-secret-0123456789"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .expect("basic");
    assert_eq!(basic.status(), 401);

    let grant = env
        .token_response(
            "grant_type=password&client_id=sender&client_secret=sender-secret-0123456789",
        )
        .await;
    assert_eq!(grant.status(), 400);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn destination_and_keys_are_published() {
    let env = start().await;
    let token = env.sender().await;
    let d: Value = env
        .get(&token, &format!("/v1/destinations/{}", env.destination))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(d["status"], "active");
    assert_eq!(d["encryptionKid"], keys().encryption_kid.as_str());
    assert_eq!(d["services"][0]["identifier"], support::SERVICE);
    let v2: Value = env
        .get(&token, &format!("/v2/destinations/{}", env.destination))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(v2["publicServices"][0]["identifier"], support::SERVICE);
    let kid = keys().encryption_kid.clone();
    let key: Value = env
        .get(
            &token,
            &format!("/v1/destinations/{}/keys/{kid}", env.destination),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(key["alg"], "RSA-OAEP-256");
    assert_eq!(key["key_ops"], json!(["wrapKey"]));
    assert!(key.get("d").is_none(), "never the private part");
    let jwks: Value = env
        .http
        .get(env.url("/.well-known/jwks.json"))
        .send()
        .await
        .expect("jwks")
        .json()
        .await
        .expect("json");
    assert_eq!(jwks["keys"][0]["alg"], "PS512");
    assert!(jwks["keys"][0].get("d").is_none());
    env.sandbox.shutdown().await;
}

/// Verifies the sandbox's own SETs with the key from its JWKS.
async fn service_sets(env: &support::Env, token: &str, case: &str) -> Vec<set::VerifiedSet> {
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
    let resolver = StaticKeys {
        delivery_service: vec![(
            env.sandbox.issuer().to_owned(),
            jwk.kid.clone().expect("kid"),
            jwk.public_key().expect("public"),
        )],
        destinations: vec![(
            env.destination.clone(),
            keys().signing_private.kid().to_owned(),
            keys().signing_private.public_key().clone(),
        )],
    };
    let log: Value = env
        .get(token, &format!("/v1/cases/{case}/events"))
        .await
        .json()
        .await
        .expect("json");
    log["eventLog"]
        .as_array()
        .expect("eventLog")
        .iter()
        .map(|t| {
            set::verify(
                t.as_str().expect("string"),
                &resolver,
                &JoseLimits::default(),
                now(),
            )
            .expect("SET verifies")
        })
        .collect()
}

#[tokio::test]
async fn full_flow_with_accept() {
    let env = start().await;
    let (sid, case, tags) = env.submitted(2).await;
    let sub = env.subscriber().await;

    let list: Value = env
        .get(
            &sub,
            &format!("/v1/submissions?destinationId={}", env.destination),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["totalCount"], 1);
    assert_eq!(list["submissions"][0]["submissionId"], sid.as_str());
    assert_eq!(list["submissions"][0]["caseId"], case.as_str());

    let fetched: Value = env
        .get(&sub, &format!("/v1/submissions/{sid}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched["serviceType"]["identifier"], support::SERVICE);
    assert_eq!(fetched["attachments"].as_array().expect("ids").len(), 2);
    assert_eq!(
        tag(fetched["encryptedMetadata"].as_str().expect("jwe")),
        tags.metadata
    );

    let (aid, atag) = tags.attachments.iter().next().expect("one");
    let att = env
        .get(&sub, &format!("/v1/submissions/{sid}/attachments/{aid}"))
        .await;
    assert_eq!(att.headers()["content-type"], "application/jose");
    assert_eq!(tag(&att.text().await.expect("body")), *atag);

    let sets = service_sets(&env, &sub, &case).await;
    let names: Vec<&str> = sets.iter().map(|s| s.event.as_str()).collect();
    assert_eq!(names, [CREATE_SUBMISSION, SUBMIT_SUBMISSION]);
    assert_eq!(sets[1].authentication_tags().expect("tags"), tags);
    assert_eq!(sets[1].sub, format!("submission:{sid}"));

    let resp = env
        .post_event(&sub, &case, &env.accept(&sid, &case, &tags))
        .await;
    assert_eq!(resp.status(), 204);
    // accepted: no longer listed or fetchable; the sender sees the accept in the log.
    let list: Value = env
        .get(
            &sub,
            &format!("/v1/submissions?destinationId={}", env.destination),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["totalCount"], 0);
    let (status, slug) = problem(env.get(&sub, &format!("/v1/submissions/{sid}")).await).await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));
    let sender = env.sender().await;
    let sets = service_sets(&env, &sender, &case).await;
    assert_eq!(sets.last().expect("accept").event, set::ACCEPT_SUBMISSION);
    // accepted is final: a later reject is refused.
    let problems = [Problem::new(Failure::Technical, &Instance::Other).expect("problem")];
    let reject = set::reject_submission(
        &keys().signing_private,
        &env.subject(&sid, &case),
        &problems,
        now(),
        set::PayloadSchema::default(),
    );
    let (status, slug) = problem(env.post_event(&sub, &case, &reject).await).await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn reject_and_forward_transitions() {
    let env = start().await;
    let sub = env.subscriber().await;
    let (sid, case, tags) = env.submitted(0).await;
    let forward = {
        // forward-submission: built like the subscriber's other SETs, signed with its key.
        let claims = json!({
            "$schema": set::PayloadSchema::V1_2_2.uri(), "jti": set::new_jti(), "iss": env.destination,
            "iat": now(), "sub": format!("submission:{sid}"), "txn": format!("case:{case}"),
            "events": { poststelle::sandbox::FORWARD_SUBMISSION: {} },
        });
        poststelle::jose::jws::sign(
            claims.to_string().as_bytes(),
            &keys().signing_private,
            Some(set::SET_TYP),
        )
    };
    assert_eq!(env.post_event(&sub, &case, &forward).await.status(), 204);
    // forwarded is still deliverable.
    assert_eq!(
        env.get(&sub, &format!("/v1/submissions/{sid}"))
            .await
            .status(),
        200
    );
    let problems = [Problem::new(Failure::Technical, &Instance::Other).expect("problem")];
    let reject = set::reject_submission(
        &keys().signing_private,
        &env.subject(&sid, &case),
        &problems,
        now(),
        set::PayloadSchema::default(),
    );
    assert_eq!(env.post_event(&sub, &case, &reject).await.status(), 204);
    let (status, slug) = problem(
        env.post_event(&sub, &case, &env.accept(&sid, &case, &tags))
            .await,
    )
    .await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn v2_profile_round_trip() {
    let env = start().await;
    let token = env.sender().await;
    let resp = env.create("v2", &token, &[]).await;
    assert_eq!(resp.status(), 201);
    let v: Value = resp.json().await.expect("json");
    let sid = v["submissionId"].as_str().expect("id").to_owned();
    let case = v["caseId"].as_str().expect("case").to_owned();
    // v2 requires cty on metadata and data.
    let no_cty = json!({
        "encryptedMetadata": encrypt(b"{}", None),
        "encryptedData": encrypt(b"{}", Some("application/json")),
    });
    let (status, slug) = problem(env.submit("v2", &token, &sid, &no_cty).await).await;
    assert_eq!((status, slug.as_str()), (422, "missing-content-type"));
    let only_metadata = json!({ "encryptedMetadata": encrypt(b"{}", Some("application/json")) });
    let (status, _) = problem(env.submit("v2", &token, &sid, &only_metadata).await).await;
    assert_eq!(status, 400);
    let good = json!({
        "encryptedMetadata": encrypt(b"{}", Some("application/json")),
        "encryptedData": encrypt(b"<a/>", Some("application/xml")),
    });
    assert_eq!(env.submit("v2", &token, &sid, &good).await.status(), 200);
    let sub = env.subscriber().await;
    let fetched: Value = env
        .get(&sub, &format!("/v2/submissions/{sid}"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(fetched["publicService"]["identifier"], support::SERVICE);
    let log: Value = env
        .get(&sub, &format!("/v2/cases/{case}/events"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(log["eventLog"].as_array().expect("log").len(), 2);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn state_survives_a_restart_with_a_file_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let destination = uuid::Uuid::new_v4().to_string();
    let mut config = support::config(dir.path(), &destination);
    config.ephemeral = false;
    // A fixed issuer: the default (the bound address) changes with the port on restart.
    config.issuer = Some("https://sandbox.invalid".into());
    let first = Sandbox::start(config.clone()).await.expect("start");
    let env = support::Env {
        base: first.base_url().to_owned(),
        sandbox: first,
        http: support::client(),
        destination: destination.clone(),
        data_dir: tempfile::tempdir().expect("unused"),
    };
    let (sid, case, _) = env.submitted(1).await;
    env.sandbox.shutdown().await;
    assert!(dir.path().join("sandbox.sqlite3").exists());

    let second = Sandbox::start(config).await.expect("restart");
    let env = support::Env {
        base: second.base_url().to_owned(),
        sandbox: second,
        http: support::client(),
        destination,
        data_dir: env.data_dir,
    };
    let sub = env.subscriber().await;
    let list: Value = env
        .get(
            &sub,
            &format!("/v1/submissions?destinationId={}", env.destination),
        )
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(list["submissions"][0]["submissionId"], sid.as_str());
    let sets = service_sets(&env, &sub, &case).await;
    assert_eq!(sets.len(), 2);
    env.sandbox.shutdown().await;
}

/// Issue 19: the sandbox held every upload whole in memory (about 2.8 times the body, up to
/// 500 MB each, any number at once). Now an upload goes to its file while it arrives: with half
/// of a 64 MiB attachment sent and the rest held back, the file already holds that half. The
/// whole is then accepted, and the download (streamed from the file) gives the same bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sandbox_upload_is_streamed_not_buffered() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    const HALF: usize = 32 << 20;
    let env = support::start_with(|c| c.ephemeral = false).await;
    let token = env.sender().await;
    let aid = uuid::Uuid::new_v4().to_string();
    let (sid, _) = env.created(&token, std::slice::from_ref(&aid)).await;
    let kid = env
        .sandbox
        .destination_keys(&env.destination)
        .expect("destination")
        .encryption_kid;
    // A structurally valid compact JWE (the sandbox does not decrypt) with a large ciphertext.
    let b64 = poststelle::jose::base64url::encode;
    let header = b64(json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid})
        .to_string()
        .as_bytes());
    let prefix = format!("{header}.{}.{}.", b64(&[1u8; 512]), b64(&[2u8; 12]));
    let suffix = format!(".{}", b64(&[3u8; 16]));
    let total = prefix.len() + 2 * HALF + suffix.len();
    let mut stream = tokio::net::TcpStream::connect(env.sandbox.addr())
        .await
        .expect("connect");
    let head = format!(
        "PUT /v1/submissions/{sid}/attachments/{aid} HTTP/1.1\r\nhost: sandbox\r\n\
         authorization: Bearer {token}\r\ncontent-type: application/jose\r\n\
         content-length: {total}\r\nconnection: close\r\n\r\n{prefix}"
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..HALF / chunk.len() {
        stream.write_all(&chunk).await.expect("first half");
    }
    // The first half reaches the disk while the second is still to come.
    let blobs = env.data_dir.path().join("attachments");
    let on_disk = || -> u64 {
        std::fs::read_dir(&blobs)
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while on_disk() < (HALF - (1 << 20)) as u64 {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} bytes on disk with {HALF} sent",
            on_disk()
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for _ in 0..HALF / chunk.len() {
        stream.write_all(&chunk).await.expect("second half");
    }
    stream.write_all(suffix.as_bytes()).await.expect("tag");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("answer");
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer:.300}");
    assert_eq!(on_disk(), total as u64, "one file, the token exactly");

    // Submitted, the subscriber downloads the same bytes.
    let metadata = format!(
        "{header}.{}.{}.{}{suffix}",
        b64(&[1u8; 512]),
        b64(&[2u8; 12]),
        "AAAA"
    );
    let resp = env
        .submit(
            "v1",
            &token,
            &sid,
            &json!({ "encryptedMetadata": metadata }),
        )
        .await;
    assert_eq!(resp.status(), 200, "{:?}", resp.text().await);
    let subscriber = env.subscriber().await;
    let resp = env
        .get(
            &subscriber,
            &format!("/v1/submissions/{sid}/attachments/{aid}"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.content_length(), Some(total as u64));
    let body = resp.bytes().await.expect("download");
    assert_eq!(body.len(), total);
    assert!(body.starts_with(prefix.as_bytes()) && body.ends_with(suffix.as_bytes()));
    assert!(
        body[prefix.len()..total - suffix.len()]
            .iter()
            .all(|b| *b == b'A')
    );
    env.sandbox.shutdown().await;
}
