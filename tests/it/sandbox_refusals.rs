//! Every documented refusal of the sandbox, each with its problem type and status.

use poststelle::fitconnect::set::{self, AuthenticationTags};
use poststelle::jose::jwk::{self, KeyUse, SigningKey};
use serde_json::{Value, json};

use crate::sandbox_support::{encrypt, keys, now, problem, start, start_with};

fn id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test]
async fn wrong_or_missing_token_and_scope() {
    let env = start().await;
    let path = format!("/v1/destinations/{}", env.destination);
    let none = env.http.get(env.url(&path)).send().await.expect("get");
    assert_eq!(problem(none).await, (401, "unauthorized".into()));
    let (status, slug) = problem(env.get("made-up-token", &path).await).await;
    assert_eq!((status, slug.as_str()), (401, "unauthorized"));

    // A subscriber token cannot send, a sender token cannot list or fetch.
    let sub = env.subscriber().await;
    let (status, slug) = problem(env.create("v1", &sub, &[]).await).await;
    assert_eq!((status, slug.as_str()), (403, "insufficient-scope"));
    let sender = env.sender().await;
    let list = format!("/v1/submissions?destinationId={}", env.destination);
    let (status, slug) = problem(env.get(&sender, &list).await).await;
    assert_eq!((status, slug.as_str()), (403, "insufficient-scope"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn subscriber_not_connected_to_the_destination() {
    let env = start_with(|c| c.clients[1].destinations.clear()).await;
    let sub = env.subscriber().await;
    let list = format!("/v1/submissions?destinationId={}", env.destination);
    let (status, slug) = problem(env.get(&sub, &list).await).await;
    assert_eq!((status, slug.as_str()), (403, "destination-not-connected"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn unknown_destination_and_unknown_ids() {
    let env = start().await;
    let token = env.sender().await;
    let (status, slug) =
        problem(env.get(&token, &format!("/v1/destinations/{}", id())).await).await;
    assert_eq!((status, slug.as_str()), (404, "destination-not-found"));
    let resp = env
        .http
        .post(env.url("/v1/submissions"))
        .bearer_auth(&token)
        .json(&json!({
            "destinationId": id(), "announcedAttachments": [],
            "serviceType": {"identifier": crate::sandbox_support::SERVICE},
        }))
        .send()
        .await
        .expect("create");
    assert_eq!(problem(resp).await, (404, "destination-not-found".into()));
    let put = env.upload(&token, &id(), &id(), &encrypt(b"x", None)).await;
    assert_eq!(problem(put).await, (404, "submission-not-found".into()));
    let sub = env.subscriber().await;
    let (status, slug) = problem(env.get(&sub, &format!("/v1/cases/{}/events", id())).await).await;
    assert_eq!((status, slug.as_str()), (404, "case-not-found"));
    let (status, slug) = problem(env.get(&sub, "/v1/nothing-here").await).await;
    assert_eq!((status, slug.as_str()), (404, "not-found"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn inactive_destination_and_unoffered_service() {
    let env = start_with(|c| c.destinations[0].status = "inactive".into()).await;
    let token = env.sender().await;
    let (status, slug) = problem(env.create("v1", &token, &[]).await).await;
    assert_eq!((status, slug.as_str()), (422, "destination-state-invalid"));
    env.sandbox.shutdown().await;

    let env = start_with(|c| c.destinations[0].services[0].identifier = "urn:other:x".into()).await;
    let token = env.sender().await;
    let (status, slug) = problem(env.create("v1", &token, &[]).await).await;
    assert_eq!((status, slug.as_str()), (422, "service-not-offered"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn bad_announced_attachments() {
    let env = start().await;
    let token = env.sender().await;
    let same = id();
    let (status, slug) = problem(env.create("v1", &token, &[same.clone(), same]).await).await;
    assert_eq!(
        (status, slug.as_str()),
        (422, "invalid-announced-attachments")
    );
    let (status, slug) = problem(env.create("v1", &token, &["not-a-uuid".into()]).await).await;
    assert_eq!(
        (status, slug.as_str()),
        (422, "invalid-announced-attachments")
    );
    let many: Vec<String> = (0..101).map(|_| id()).collect();
    let (status, slug) = problem(env.create("v1", &token, &many).await).await;
    assert_eq!(
        (status, slug.as_str()),
        (422, "invalid-announced-attachments")
    );
    let resp = env
        .http
        .post(env.url("/v1/submissions"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(problem(resp).await, (400, "invalid-request".into()));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn non_jwe_bodies_and_wrong_media_types() {
    let env = start().await;
    let token = env.sender().await;
    let aid = id();
    let (sid, _) = env.created(&token, std::slice::from_ref(&aid)).await;
    for body in [
        "hello",
        "a.b.c.d.e",
        "{\"protected\":\"x\"}",
        // A JWS (three parts) is not a JWE.
        "eyJhbGciOiJQUzUxMiJ9.e30.c2ln",
    ] {
        let (status, slug) = problem(env.upload(&token, &sid, &aid, body).await).await;
        assert_eq!((status, slug.as_str()), (422, "invalid-jwe"), "{body}");
    }
    // alg outside the allow-list.
    let header = br#"{"alg":"RSA1_5","enc":"A256GCM","kid":"k"}"#;
    let bad_alg =
        poststelle::jose::jwe::encrypt_with_header(b"x", &keys().encryption_public, header)
            .expect("encrypt");
    let (status, slug) = problem(env.upload(&token, &sid, &aid, &bad_alg).await).await;
    assert_eq!((status, slug.as_str()), (422, "invalid-jwe"));
    let resp = env
        .http
        .put(env.url(&format!("/v1/submissions/{sid}/attachments/{aid}")))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(encrypt(b"x", None))
        .send()
        .await
        .expect("put");
    assert_eq!(problem(resp).await, (415, "unsupported-media-type".into()));
    // Not announced.
    let (status, slug) = problem(env.upload(&token, &sid, &id(), &encrypt(b"x", None)).await).await;
    assert_eq!((status, slug.as_str()), (422, "attachment-not-announced"));
    // Metadata that is not a JWE.
    let body = json!({ "encryptedMetadata": "plain text", "encryptedData": encrypt(b"x", None) });
    let (status, slug) = problem(env.submit("v1", &token, &sid, &body).await).await;
    assert_eq!((status, slug.as_str()), (422, "invalid-jwe"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn submit_needs_every_announced_attachment() {
    let env = start().await;
    let token = env.sender().await;
    let (a, b) = (id(), id());
    let (sid, _) = env.created(&token, &[a.clone(), b]).await;
    assert_eq!(
        env.upload(&token, &sid, &a, &encrypt(b"x", None))
            .await
            .status(),
        204
    );
    let body = json!({ "encryptedMetadata": encrypt(b"{}", Some("application/json")) });
    let (status, slug) = problem(env.submit("v1", &token, &sid, &body).await).await;
    assert_eq!((status, slug.as_str()), (422, "missing-attachments"));
    // Nothing changed: the submission is still incomplete and invisible to the subscriber.
    let sub = env.subscriber().await;
    let (status, slug) = problem(env.get(&sub, &format!("/v1/submissions/{sid}")).await).await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn submit_twice_and_upload_after_submit_are_refused() {
    let env = start().await;
    let token = env.sender().await;
    let (sid, _, tags) = env.submitted(1).await;
    let aid = tags.attachments.keys().next().expect("one").clone();
    let (status, slug) = problem(env.upload(&token, &sid, &aid, &encrypt(b"x", None)).await).await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));
    let body = json!({ "encryptedMetadata": encrypt(b"{}", Some("application/json")) });
    let (status, slug) = problem(env.submit("v1", &token, &sid, &body).await).await;
    assert_eq!((status, slug.as_str()), (409, "submission-state-invalid"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let env = start_with(|c| {
        c.limits.max_attachment_bytes = 4096;
        c.limits.max_json_bytes = 1024;
    })
    .await;
    let token = env.sender().await;
    let aid = id();
    let (sid, _) = env.created(&token, std::slice::from_ref(&aid)).await;
    let big = "A".repeat(5000);
    let (status, slug) = problem(env.upload(&token, &sid, &aid, &big).await).await;
    assert_eq!((status, slug.as_str()), (413, "payload-too-large"));
    // Without Content-Length (chunked) the limit holds as well.
    let head = format!(
        "PUT /v1/submissions/{sid}/attachments/{aid} HTTP/1.1\r\nHost: sandbox\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/jose\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n",
        big.len()
    );
    let answer = raw_exchange(
        env.sandbox.addr(),
        &[head.as_bytes(), big.as_bytes(), b"\r\n0\r\n\r\n"],
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload-too-large"));
    let huge = json!({ "destinationId": "x".repeat(2000) });
    let resp = env
        .http
        .post(env.url("/v1/submissions"))
        .bearer_auth(&token)
        .json(&huge)
        .send()
        .await
        .expect("post");
    assert_eq!(problem(resp).await, (413, "payload-too-large".into()));
    env.sandbox.shutdown().await;
}

/// Sends raw bytes over loopback and reads the answer until the server closes (bounded).
async fn raw_exchange(addr: std::net::SocketAddr, parts: &[&[u8]]) -> String {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let run = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        // One write: the whole request lands in the server's read buffer, so closing after
        // the early 413 leaves no unread bytes (which would turn the close into a reset).
        let request: Vec<u8> = parts.concat();
        stream.write_all(&request).await.expect("write");
        let mut out = Vec::new();
        let _ = stream.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), run)
        .await
        .expect("answer in time")
}

#[tokio::test]
async fn paging_limits() {
    let env = start().await;
    let sub = env.subscriber().await;
    let base = format!("/v1/submissions?destinationId={}", env.destination);
    for bad in ["limit=501", "limit=0", "limit=-1", "offset=x"] {
        let (status, slug) = problem(env.get(&sub, &format!("{base}&{bad}")).await).await;
        assert_eq!((status, slug.as_str()), (400, "invalid-paging"), "{bad}");
    }
    for _ in 0..3 {
        env.submitted(0).await;
    }
    let page: Value = env
        .get(&sub, &format!("{base}&offset=1&limit=500"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(
        (page["count"].clone(), page["totalCount"].clone()),
        (json!(2), json!(3))
    );
    let page: Value = env
        .get(&sub, &format!("{base}&offset=0&limit=1"))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(page["submissions"].as_array().expect("list").len(), 1);
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn posted_sets_are_verified() {
    let env = start().await;
    let sub = env.subscriber().await;
    let (sid, case, tags) = env.submitted(1).await;
    // Signed with a key that is not the destination's.
    let other =
        jwk::generate(KeyUse::Signature, Some(keys().signing_private.kid())).expect("keygen");
    let other = SigningKey::from_jwk(&other.private_jwk).expect("key");
    let forged = set::accept_submission(
        &other,
        &env.subject(&sid, &case),
        &tags,
        now(),
        set::PayloadSchema::default(),
    );
    let (status, slug) = problem(env.post_event(&sub, &case, &forged).await).await;
    assert_eq!((status, slug.as_str()), (422, "invalid-event"));
    // Right key, wrong tags.
    let wrong = AuthenticationTags {
        metadata: "AAAAAAAAAAAAAAAAAAAAAA".into(),
        ..tags.clone()
    };
    let set = set::accept_submission(
        &keys().signing_private,
        &env.subject(&sid, &case),
        &wrong,
        now(),
        set::PayloadSchema::default(),
    );
    let (status, slug) = problem(env.post_event(&sub, &case, &set).await).await;
    assert_eq!((status, slug.as_str()), (422, "invalid-event"));
    // Not a JWS at all.
    let (status, slug) = problem(env.post_event(&sub, &case, "garbage").await).await;
    assert_eq!((status, slug.as_str()), (422, "invalid-event"));
    // A sender may not post decisions.
    let sender = env.sender().await;
    let good = env.accept(&sid, &case, &tags);
    let (status, slug) = problem(env.post_event(&sender, &case, &good).await).await;
    assert_eq!((status, slug.as_str()), (403, "insufficient-scope"));
    assert_eq!(env.post_event(&sub, &case, &good).await.status(), 204);
    env.sandbox.shutdown().await;
}

/// Issue 14, live fact (2026-06-14): keys only per kid; the list request answers 404.
#[tokio::test]
async fn destination_keys_are_served_per_kid_only() {
    let env = start().await;
    let token = env.sender().await;
    for v in ["v1", "v2"] {
        let list = env
            .get(
                &token,
                &format!("/{v}/destinations/{}/keys", env.destination),
            )
            .await;
        assert_eq!(list.status(), 404, "{v}");
        let info: Value = env
            .get(&token, &format!("/{v}/destinations/{}", env.destination))
            .await
            .json()
            .await
            .expect("destination");
        let kid = info["encryptionKid"].as_str().expect("encryptionKid");
        let one = env
            .get(
                &token,
                &format!("/{v}/destinations/{}/keys/{kid}", env.destination),
            )
            .await;
        assert_eq!(one.status(), 200, "{v}");
    }
    env.sandbox.shutdown().await;
}

/// Before, `poststelle sandbox` on a port in use generated its RSA-4096 keys (seconds) and
/// wrote them before finding out; now it reports the address at once and writes no key.
#[test]
fn sandbox_checks_its_port_before_generating_keys() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let dir = tempfile::tempdir().expect("tmp");
    let started = std::time::Instant::now();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(["sandbox", "--listen", &addr, "--data-dir"])
        .arg(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("sandbox runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains(&format!("cannot listen on {addr}")), "{text}");
    assert!(
        !dir.path().join("keys").exists(),
        "no key generated: {text}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "refused at once"
    );
    drop(taken);
}

/// Issue 13, scope 1 ("the same for sandbox"): `poststelle sandbox --log-format json` writes
/// one JSON event per request (method, path, status; no query, no body).
#[test]
fn sandbox_logs_one_json_event_per_request() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = free.local_addr().expect("addr").to_string();
    drop(free);
    let dir = tempfile::tempdir().expect("tmp");
    let log = dir.path().join("sandbox.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args([
            "sandbox",
            "--ephemeral",
            "--log-format",
            "json",
            "--listen",
            &addr,
        ])
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("sandbox starts");
    let get = |path: &str| -> Option<u16> {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(&addr).ok()?;
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .ok()?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .ok()?;
        let mut answer = String::new();
        s.read_to_string(&mut answer).ok()?;
        answer.get(9..12)?.parse().ok()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while get("/health") != Some(200) {
        assert!(child.try_wait().expect("wait").is_none(), "sandbox exited");
        assert!(std::time::Instant::now() < deadline, "sandbox not up");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(get("/nowhere?name=Erika"), Some(404));
    let _ = std::process::Command::new("kill")
        .args(["-s", "TERM", &child.id().to_string()])
        .status();
    let status = child.wait().expect("sandbox stops");
    assert_eq!(status.code(), Some(0));
    let text = std::fs::read_to_string(&log).expect("log");
    let events: Vec<Value> = text
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let requests: Vec<_> = events
        .iter()
        .filter(|e| e["message"] == "request")
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default().to_owned(),
                e["status"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    assert!(requests.contains(&("/health".to_owned(), 200)), "{text}");
    assert!(requests.contains(&("/nowhere".to_owned(), 404)), "{text}");
    assert!(!text.contains("Erika"), "the query stays out of the log");
}
