//! The callback endpoint: only fresh, authentic, first-time callbacks reach the pipeline.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use poststelle::fitconnect::callback::CallbackSecret;
use poststelle::server::{
    CallbackNotice, CallbackSink, Callbacks, Handlers, Metrics, Server, ServerConfig, ServerHandle,
    SinkFull,
};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

const SECRET: &[u8] = b"the destination's callback secret";
const DEST: &str = "2c1c4f5d-7c5b-4d8e-9b7e-4c0d0b7b0001";
const BODY: &str = r#"{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions","submissionIds":["f39ab143-d91a-474a-b69f-b00f1a1873c2"],"submissions":[{"destinationId":"2c1c4f5d-7c5b-4d8e-9b7e-4c0d0b7b0001","submissionId":"f39ab143-d91a-474a-b69f-b00f1a1873c2","caseId":"9eec7d3e-0000-4000-8000-000000000000"}]}"#;

/// Records notices; refuses when `full`.
#[derive(Default)]
struct RecordingSink {
    notices: Mutex<Vec<CallbackNotice>>,
    full: Mutex<bool>,
}

impl CallbackSink for RecordingSink {
    fn notify(&self, notice: CallbackNotice) -> Result<(), SinkFull> {
        if *self.full.lock().expect("full") {
            return Err(SinkFull);
        }
        self.notices.lock().expect("notices").push(notice);
        Ok(())
    }
}

async fn start(sink: &Arc<RecordingSink>) -> (ServerHandle, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::new());
    let handlers = Handlers {
        metrics: Arc::clone(&metrics),
        store: None,
        readiness: None,
        callbacks: Some(
            Callbacks::new(Arc::clone(sink) as Arc<dyn CallbackSink>)
                .destination(DEST, CallbackSecret::new(SECRET).expect("secret")),
        ),
        admin_token: None,
        console: None,
        replies: None,
    };
    let config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
    (
        Server::start(config, handlers).await.expect("start"),
        metrics,
    )
}

fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("time")
}

async fn post(
    addr: std::net::SocketAddr,
    dest: &str,
    ts: &str,
    mac: &str,
    body: &str,
) -> (u16, String) {
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/callbacks/{dest}"))
        .header("callback-timestamp", ts)
        .header("callback-authentication", mac)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentic_callback_reaches_the_sink_once() {
    let sink = Arc::new(RecordingSink::default());
    let (server, metrics) = start(&sink).await;
    let ts = now().to_string();
    let mac = CallbackSecret::new(SECRET)
        .expect("secret")
        .sign(&ts, BODY.as_bytes());
    let (status, _) = post(server.addr(), DEST, &ts, &mac, BODY).await;
    assert_eq!(status, 202);
    assert_eq!(
        *sink.notices.lock().expect("notices"),
        [CallbackNotice {
            destination_id: DEST.to_owned(),
            submission_ids: vec!["f39ab143-d91a-474a-b69f-b00f1a1873c2".to_owned()],
        }]
    );
    // The same request again is a replay.
    let (status, text) = post(server.addr(), DEST, &ts, &mac, BODY).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("already received"), "{text}");
    assert_eq!(sink.notices.lock().expect("notices").len(), 1);
    assert_eq!(metrics.count("callbacks", "accepted"), 1);
    assert_eq!(metrics.count("callbacks", "refused"), 1);
    assert_eq!(metrics.count("callbacks_refused", "replay"), 1);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_wrong_secret_stale_and_missing_are_refused() {
    let sink = Arc::new(RecordingSink::default());
    let (server, metrics) = start(&sink).await;
    let addr = server.addr();
    let ts = now().to_string();
    let good = CallbackSecret::new(SECRET).expect("secret");

    let tampered = BODY.replace("f39ab143", "f39ab144");
    let (status, text) = post(addr, DEST, &ts, &good.sign(&ts, BODY.as_bytes()), &tampered).await;
    assert_eq!(status, 401, "tampered body: {text}");
    assert!(text.contains("does not verify"), "{text}");

    let wrong = CallbackSecret::new(b"another secret").expect("secret");
    let (status, _) = post(addr, DEST, &ts, &wrong.sign(&ts, BODY.as_bytes()), BODY).await;
    assert_eq!(status, 401, "wrong secret");

    let old = (now() - 301).to_string();
    let (status, text) = post(addr, DEST, &old, &good.sign(&old, BODY.as_bytes()), BODY).await;
    assert_eq!(status, 401, "stale: {text}");
    assert!(text.contains("window"), "{text}");

    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/callbacks/{DEST}"))
        .body(BODY)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 401, "no headers");

    let (status, _) = post(
        addr,
        "unknown-destination",
        &ts,
        &good.sign(&ts, BODY.as_bytes()),
        BODY,
    )
    .await;
    assert_eq!(status, 404, "unknown destination");

    // Authentic but not JSON: refused as malformed, never handed on.
    let junk = "not json";
    let (status, _) = post(addr, DEST, &ts, &good.sign(&ts, junk.as_bytes()), junk).await;
    assert_eq!(status, 400);
    assert!(sink.notices.lock().expect("notices").is_empty());
    // Every refusal is counted by its reason (issue 13, scope 7); the metrics text names
    // every reason from the start.
    for (reason, n) in [
        ("bad_mac", 2),
        ("stale", 1),
        ("missing_header", 1),
        ("unknown_destination", 1),
        ("bad_body", 1),
        ("replay", 0),
        ("unavailable", 0),
    ] {
        assert_eq!(metrics.count("callbacks_refused", reason), n, "{reason}");
    }
    assert_eq!(metrics.count("callbacks", "refused"), 6);
    let text = metrics.render(None);
    for reason in poststelle::server::metrics::CALLBACK_REFUSALS {
        assert!(
            text.contains(&format!(
                "poststelle_callbacks_refused_total{{reason=\"{reason}\"}}"
            )),
            "{reason}:\n{text}"
        );
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sink_answers_503_and_the_retry_is_accepted() {
    let sink = Arc::new(RecordingSink::default());
    *sink.full.lock().expect("full") = true;
    let (server, metrics) = start(&sink).await;
    let ts = now().to_string();
    let mac = CallbackSecret::new(SECRET)
        .expect("secret")
        .sign(&ts, BODY.as_bytes());
    let resp = reqwest::Client::new()
        .post(format!("http://{}/callbacks/{DEST}", server.addr()))
        .header("callback-timestamp", &ts)
        .header("callback-authentication", &mac)
        .body(BODY)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("5")
    );
    // The delivery service's retry of the same callback is not a replay: it was never taken.
    *sink.full.lock().expect("full") = false;
    let (status, _) = post(server.addr(), DEST, &ts, &mac, BODY).await;
    assert_eq!(status, 202);
    assert_eq!(sink.notices.lock().expect("notices").len(), 1);
    assert_eq!(metrics.count("callbacks_refused", "unavailable"), 1);
    server.shutdown().await;
}

/// Sends a callback head that announces a body and then sends none of it; the answer (status
/// and problem text) and how long it took.
async fn head_only(addr: std::net::SocketAddr, ts: &str, mac: &str) -> (String, Duration) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /callbacks/{DEST} HTTP/1.1\r\nhost: x\r\ncallback-timestamp: {ts}\r\n\
         callback-authentication: {mac}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n",
        BODY.len()
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    let started = Instant::now();
    let mut answer = vec![0; 2048];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer, not a hang")
        .expect("read");
    (
        String::from_utf8_lossy(&answer[..n]).into_owned(),
        started.elapsed(),
    )
}

/// Issue 19: the callback body (up to 1 MiB, 30 s) was read before anything was checked, so
/// an unauthenticated sender could hold a slot with a slow body. What the headers allow is now
/// checked first: the refusal comes while the body is still missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callback_with_stale_timestamp_is_refused_before_the_body_is_read() {
    let sink = Arc::new(RecordingSink::default());
    let (server, metrics) = start(&sink).await;
    let stale = (now() - 3600).to_string();
    let mac = CallbackSecret::new(SECRET)
        .expect("secret")
        .sign(&stale, BODY.as_bytes());
    for (ts, mac, why) in [
        (stale.as_str(), mac.as_str(), "outside the accepted window"),
        ("yesterday", mac.as_str(), "malformed"),
        (&now().to_string(), "not-hex", "does not verify"),
    ] {
        let (answer, took) = head_only(server.addr(), ts, mac).await;
        assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
        assert!(answer.contains(why), "{answer}");
        // Well before the 5 s the body would be waited for.
        assert!(took < Duration::from_secs(2), "{took:?}");
    }
    // A fresh timestamp and a well-formed MAC pass the head checks: the body is waited for,
    // and as none comes the minimum rate ends the request (408) after its 2 s of grace.
    let ts = now().to_string();
    let (answer, took) = head_only(server.addr(), &ts, &"0".repeat(128)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "{took:?}"
    );
    assert!(sink.notices.lock().expect("notices").is_empty());
    assert_eq!(metrics.count("callbacks", "refused"), 4);
    for (reason, n) in [
        ("stale", 1),
        ("bad_timestamp", 1),
        ("bad_mac", 1),
        ("timeout", 1),
    ] {
        assert_eq!(metrics.count("callbacks_refused", reason), n, "{reason}");
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_replayed_after_a_restart_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = poststelle::store::AnyStore::open(&format!(
        "sqlite:{}",
        dir.path().join("gw.db").display()
    ))
    .await
    .expect("store");
    let sink = Arc::new(RecordingSink::default());
    let start_with_store = || {
        let handlers = Handlers {
            metrics: Arc::new(Metrics::new()),
            store: Some(store.clone()),
            readiness: None,
            callbacks: Some(
                Callbacks::new(Arc::clone(&sink) as Arc<dyn CallbackSink>)
                    .destination(DEST, CallbackSecret::new(SECRET).expect("secret")),
            ),
            admin_token: None,
            console: None,
            replies: None,
        };
        Server::start(
            ServerConfig::new("127.0.0.1:0".parse().expect("addr")),
            handlers,
        )
    };
    let ts = now().to_string();
    let mac = CallbackSecret::new(SECRET)
        .expect("secret")
        .sign(&ts, BODY.as_bytes());
    let first = start_with_store().await.expect("start");
    assert_eq!(post(first.addr(), DEST, &ts, &mac, BODY).await.0, 202);
    first.shutdown().await;
    // A new process on the same store: the accepted callback is still remembered.
    let second = start_with_store().await.expect("restart");
    let (status, text) = post(second.addr(), DEST, &ts, &mac, BODY).await;
    assert_eq!(status, 401, "{text}");
    assert!(text.contains("already received"), "{text}");
    assert_eq!(sink.notices.lock().expect("notices").len(), 1);
    second.shutdown().await;
}
