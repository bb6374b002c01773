//! Client behaviour under faults, against a tiny raw-TCP stub on 127.0.0.1:0: token cache
//! (single flight, refresh before expiry, 401 → fresh token), 429 + Retry-After, bounded 5xx
//! retries only for idempotent methods, no redirects, timeouts, oversized bodies (announced
//! and chunked). Every stub answers a bounded number of requests and stops with the test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::client::{Client, ClientConfig, ClientError, Credentials};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const SID: &str = "ce75a6b8-d72f-4b94-b09e-af6be35bc2ae";
const CASE: &str = "e89e107e-ed79-40e6-ad34-4e770f9df263";

/// What the stub answers: raw HTTP bytes after an optional delay.
struct Reply {
    delay: Duration,
    raw: Vec<u8>,
}

fn http(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut raw = format!("HTTP/1.1 {status} X\r\nconnection: close\r\n");
    for (k, v) in headers {
        raw.push_str(&format!("{k}: {v}\r\n"));
    }
    raw.push_str(&format!("content-length: {}\r\n\r\n{body}", body.len()));
    Reply {
        delay: Duration::ZERO,
        raw: raw.into_bytes(),
    }
}

fn token(expires_in: u64) -> Reply {
    // A different token each time, so the test sees which one was used.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    http(
        200,
        &[("content-type", "application/json")],
        &format!(r#"{{"access_token":"t{n}","token_type":"Bearer","expires_in":{expires_in}}}"#),
    )
}

type Handler = dyn Fn(&str, usize, &str) -> Reply + Send + Sync;

/// A stub server; `hits["GET /v1/…"]` counts requests per method and path.
struct Stub {
    base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Stub {
    fn hits(&self, key: &str) -> usize {
        self.hits
            .lock()
            .expect("lock")
            .get(key)
            .copied()
            .unwrap_or(0)
    }

    fn client(&self, adjust: impl FnOnce(&mut ClientConfig)) -> Client {
        let mut config = ClientConfig::sandbox(&self.base, ApiProfile::V1);
        config.retry.initial_backoff = Duration::from_millis(10);
        config.retry.max_backoff = Duration::from_millis(50);
        adjust(&mut config);
        Client::new(config, Credentials::new("c", "s")).expect("client")
    }
}

/// Reads one request head (and its body, bounded); returns "METHOD /path" and the
/// Authorization header value.
async fn read_request(sock: &mut tokio::net::TcpStream) -> Option<(String, String)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if buf.len() > 64 * 1024 {
            return None;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let path = first.next()?.split('?').next()?.to_owned();
    let mut auth = String::new();
    let mut length = 0usize;
    for line in lines {
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            auth = line["authorization:".len()..].trim().to_owned();
        }
    }
    let mut have = buf.len() - head_end;
    while have < length.min(1 << 20) {
        let n = sock.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        have += n;
    }
    Some((format!("{method} {path}"), auth))
}

async fn stub(handler: impl Fn(&str, usize, &str) -> Reply + Send + Sync + 'static) -> Stub {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let hits = Arc::new(Mutex::new(HashMap::new()));
    let handler: Arc<Handler> = Arc::new(handler);
    let counter = Arc::clone(&hits);
    let task = tokio::spawn(async move {
        // Bounded: a stub answers at most 200 connections.
        for _ in 0..200 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let handler = Arc::clone(&handler);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let Some((key, auth)) = read_request(&mut sock).await else {
                    return;
                };
                let n = {
                    let mut map = counter.lock().expect("lock");
                    let n = map.entry(key.clone()).or_insert(0);
                    *n += 1;
                    *n
                };
                let reply = handler(&key, n, &auth);
                tokio::time::sleep(reply.delay).await;
                let _ = sock.write_all(&reply.raw).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Stub { base, hits, task }
}

fn ok_json() -> Reply {
    http(
        200,
        &[("content-type", "application/json")],
        r#"{"caseId":"x"}"#,
    )
}

#[tokio::test]
async fn token_is_shared_single_flight_and_renewed_before_expiry() {
    let s = stub(|key, _, _| {
        if key == "POST /token" {
            let mut r = token(2);
            // A slow token endpoint makes concurrent callers overlap.
            r.delay = Duration::from_millis(200);
            r
        } else {
            ok_json()
        }
    })
    .await;
    let client = s.client(|_| {});
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.submission(SID).await })
        })
        .collect();
    for call in calls {
        call.await.expect("join").expect("call");
    }
    assert_eq!(s.hits("POST /token"), 1, "single flight");
    assert_eq!(s.hits(&format!("GET /v1/submissions/{SID}")), 8);
    // Lifetime 2 s: renewed at half of it (the margin is capped at half the lifetime).
    let first = client.access_token().await.expect("token");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = client.access_token().await.expect("token");
    assert_ne!(*first, *second);
    assert_eq!(s.hits("POST /token"), 2);
}

#[tokio::test]
async fn api_401_fetches_a_fresh_token_once() {
    let s = stub(|key, n, _| match key {
        "POST /token" => token(1800),
        _ if n == 1 => http(401, &[], ""),
        _ => ok_json(),
    })
    .await;
    let client = s.client(|_| {});
    client.submission(SID).await.expect("second try succeeds");
    assert_eq!(s.hits("POST /token"), 2);
    // Always 401: one retry, then the status.
    let s = stub(|key, _, _| match key {
        "POST /token" => token(1800),
        _ => http(401, &[], ""),
    })
    .await;
    let err = s.client(|_| {}).submission(SID).await.expect_err("401");
    assert_eq!(err.status(), Some(401));
    assert_eq!(s.hits(&format!("GET /v1/submissions/{SID}")), 2);
}

#[tokio::test]
async fn retry_after_is_honoured_and_bounded() {
    let s = stub(|key, n, _| match key {
        "POST /token" => token(1800),
        _ if n == 1 => http(429, &[("retry-after", "1")], ""),
        _ => ok_json(),
    })
    .await;
    let started = Instant::now();
    s.client(|_| {})
        .submission(SID)
        .await
        .expect("after the wait");
    assert!(started.elapsed() >= Duration::from_millis(950));
    assert_eq!(s.hits(&format!("GET /v1/submissions/{SID}")), 2);

    // A Retry-After beyond the bound ends the retries at once.
    let s = stub(|key, _, _| match key {
        "POST /token" => token(1800),
        _ => http(429, &[("retry-after", "3600")], ""),
    })
    .await;
    let started = Instant::now();
    let err = s.client(|_| {}).submission(SID).await.expect_err("429");
    assert_eq!(err.status(), Some(429));
    assert!(started.elapsed() < Duration::from_secs(2));
    // 429 is retried even for POST (the service did not act).
    let s = stub(|key, n, _| match key {
        "POST /token" => token(1800),
        _ if n == 1 => http(429, &[], ""),
        _ => http(204, &[], ""),
    })
    .await;
    s.client(|_| {})
        .post_event(CASE, "a.b.c")
        .await
        .expect("posted after 429");
    assert_eq!(s.hits(&format!("POST /v1/cases/{CASE}/events")), 2);
}

#[tokio::test]
async fn server_errors_retry_idempotent_requests_only_and_boundedly() {
    let s = stub(|key, _, _| match key {
        "POST /token" => token(1800),
        _ => http(503, &[], ""),
    })
    .await;
    let client = s.client(|c| c.retry.max_attempts = 3);
    let err = client.submission(SID).await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    assert_eq!(s.hits(&format!("GET /v1/submissions/{SID}")), 3);
    let err = client.post_event(CASE, "a.b.c").await.expect_err("503");
    assert_eq!(err.status(), Some(503));
    assert_eq!(
        s.hits(&format!("POST /v1/cases/{CASE}/events")),
        1,
        "POST not retried"
    );
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let s = stub(|key, _, _| match key {
        "POST /token" => token(1800),
        "GET /elsewhere" => ok_json(),
        _ => http(302, &[("location", "/elsewhere")], ""),
    })
    .await;
    let err = s
        .client(|_| {})
        .submission(SID)
        .await
        .expect_err("redirect");
    assert!(
        matches!(err, ClientError::Redirect { status: 302, .. }),
        "{err}"
    );
    assert_eq!(s.hits("GET /elsewhere"), 0);
}

#[tokio::test]
async fn slow_responses_time_out() {
    let s = stub(|key, _, _| match key {
        "POST /token" => token(1800),
        _ => {
            let mut r = ok_json();
            r.delay = Duration::from_secs(5);
            r
        }
    })
    .await;
    let client = s.client(|c| {
        c.request_timeout = Duration::from_millis(300);
        c.retry.max_attempts = 2;
    });
    let started = Instant::now();
    let err = client.submission(SID).await.expect_err("timeout");
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn oversized_bodies_are_refused_announced_or_chunked() {
    let big = "x".repeat(5000);
    let s = stub(move |key, _, _| match key {
        "POST /token" => token(1800),
        k if k.ends_with("/events") => {
            // Chunked: no length up front, the limit must hold while reading.
            let mut raw =
                b"HTTP/1.1 200 X\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n"
                    .to_vec();
            for _ in 0..10 {
                raw.extend_from_slice(format!("{:x}\r\n{}\r\n", 500, &big[..500]).as_bytes());
            }
            raw.extend_from_slice(b"0\r\n\r\n");
            Reply {
                delay: Duration::ZERO,
                raw,
            }
        }
        _ => http(200, &[("content-type", "application/json")], &big),
    })
    .await;
    let client = s.client(|c| c.max_json_bytes = 1000);
    let err = client.submission(SID).await.expect_err("too large");
    assert!(
        matches!(err, ClientError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    let err = client.events(CASE).await.expect_err("too large");
    assert!(
        matches!(err, ClientError::TooLarge { limit: 1000, .. }),
        "{err}"
    );
    // Hostile ids never reach the path.
    let err = client
        .submission("../../token")
        .await
        .expect_err("not a UUID");
    assert!(matches!(err, ClientError::Response { .. }), "{err}");
}

#[tokio::test]
async fn spooled_attachment_downloads_keep_only_the_good_body_and_obey_the_limit() {
    const AID: &str = "0b3c1d8e-5f6a-4b7c-8d9e-0f1a2b3c4d5e";
    let body = "A".repeat(3000);
    let path = format!("GET /v1/submissions/{SID}/attachments/{AID}");
    let s = stub(move |key, n, _| match key {
        "POST /token" => token(1800),
        // The first answer is a server error with a body of its own; the retry gets the JWE.
        k if k == path && n == 1 => http(503, &[], "temporarily unavailable"),
        k if k == path => http(200, &[("content-type", "application/jose")], &body),
        _ => http(404, &[], ""),
    })
    .await;
    let client = s.client(|_| {});
    let dir = tempfile::tempdir().expect("spool dir");
    // Within the memory allowance: held in memory; beyond it: a spool file. Either way only
    // the successful body, from its start.
    for (memory, in_memory) in [(4096, true), (1000, false)] {
        let mut jwe = client
            .attachment_spooled(SID, AID, dir.path(), memory)
            .await
            .expect("download");
        assert_eq!(jwe.len().expect("len"), 3000);
        assert_eq!(jwe.memory_len() > 0, in_memory, "memory allowance {memory}");
        let mut back = String::new();
        std::io::Read::read_to_string(&mut jwe, &mut back).expect("read");
        assert_eq!(
            back,
            "A".repeat(3000),
            "only the successful body, from the start"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        0,
        "spool files are unnamed"
    );

    // Beyond max_attachment_bytes: refused while streaming.
    let client = s.client(|c| c.max_attachment_bytes = 1000);
    let err = client
        .attachment_spooled(SID, AID, dir.path(), 0)
        .await
        .expect_err("too large");
    assert!(
        matches!(err, ClientError::TooLarge { limit: 1000, .. }),
        "{err}"
    );

    // A 404 is a status error with the small problem body read into memory, not the file.
    let err = client
        .attachment_spooled(SID, SID, dir.path(), 0)
        .await
        .expect_err("not found");
    assert_eq!(err.status(), Some(404), "{err}");
}

/// An attachment the submission lists but the service answers with 404 (deleted, never
/// uploaded) is left out of the capture — the receive check then rejects with
/// `missing-attachments` — instead of failing the whole download again and again. Any other
/// failure still fails the download.
#[tokio::test]
async fn a_gone_attachment_is_left_out_of_the_download() {
    const GONE: &str = "0b8d3c5e-58a1-4c2f-9f6e-2a1b3c4d5e6f";
    const HERE: &str = "1c9e4d6f-69b2-4d3a-8a7f-3b2c4d5e6f70";
    let handler = |fail: u16| {
        move |key: &str, _: usize, _: &str| -> Reply {
            if key == "POST /token" {
                token(1800)
            } else if key == format!("GET /v1/submissions/{SID}") {
                http(
                    200,
                    &[("content-type", "application/json")],
                    &format!(r#"{{"caseId":"{CASE}","attachments":["{GONE}","{HERE}"]}}"#),
                )
            } else if key == format!("GET /v1/submissions/{SID}/attachments/{GONE}") {
                http(fail, &[], "")
            } else if key == format!("GET /v1/submissions/{SID}/attachments/{HERE}") {
                http(200, &[("content-type", "application/jose")], "a.b.c.d.e")
            } else if key.starts_with(&format!("GET /v1/cases/{CASE}/events")) {
                http(
                    200,
                    &[("content-type", "application/json")],
                    r#"{"eventLog":[],"totalCount":0}"#,
                )
            } else if key.ends_with("/.well-known/jwks.json") {
                http(
                    200,
                    &[("content-type", "application/json")],
                    r#"{"keys":[]}"#,
                )
            } else {
                http(500, &[], "")
            }
        }
    };
    let s = stub(handler(404)).await;
    let spool = tempfile::tempdir().expect("spool");
    let got = s
        .client(|_| {})
        .download_spooled(SID, spool.path())
        .await
        .expect("download without the gone attachment");
    assert_eq!(
        got.attachments.keys().collect::<Vec<_>>(),
        vec![HERE],
        "only the attachment that exists"
    );
    let got = s.client(|_| {}).download(SID).await.expect("download");
    assert_eq!(got.attachments.keys().collect::<Vec<_>>(), vec![HERE]);
    // A refusal that is not "gone" is an error of the download, retried later.
    let s = stub(handler(403)).await;
    let err = s
        .client(|_| {})
        .download_spooled(SID, spool.path())
        .await
        .expect_err("403 fails the download");
    assert_eq!(err.status(), Some(403));
}
