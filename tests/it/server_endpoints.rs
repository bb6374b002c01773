//! The server's endpoints: health, readiness, metrics, admin API, limits, TLS, shutdown.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use poststelle::config::{HttpLimits, ServerLimits};
use poststelle::fitconnect::callback::CallbackSecret;
use poststelle::forward::{ForwardPolicy, Forwarder, HttpUpstream, RouteTable, UpstreamSpec};
use poststelle::server::{
    AdminToken, CallbackNotice, CallbackSink, Callbacks, Handlers, Metrics, Readiness, Server,
    ServerConfig, ServerHandle, SinkFull, Stage, TlsFiles,
};
use poststelle::store::{AnyStore, FailAction, RetryPolicy, Store, Timestamp};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::forward_support::{Sink, SinkMode, TestStore, on_both_backends, pem, store_submission};

const TOKEN: &str = "s3cr3t-admin-token";

struct Flag(AtomicBool);

impl Readiness for Flag {
    fn is_ready(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

struct NullSink;

impl CallbackSink for NullSink {
    fn notify(&self, _: CallbackNotice) -> Result<(), SinkFull> {
        Ok(())
    }
}

fn handlers(store: Option<AnyStore>, metrics: &Arc<Metrics>) -> Handlers {
    Handlers {
        metrics: Arc::clone(metrics),
        store,
        readiness: None,
        callbacks: Some(
            Callbacks::new(Arc::new(NullSink))
                .destination("d1", CallbackSecret::new(b"k").expect("secret")),
        ),
        admin_token: Some(AdminToken::new(TOKEN)),
        console: None,
        replies: None,
    }
}

async fn start(handlers: Handlers, limits: ServerLimits) -> ServerHandle {
    start_with(handlers, limits, HttpLimits::default()).await
}

async fn start_with(handlers: Handlers, limits: ServerLimits, http: HttpLimits) -> ServerHandle {
    let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
    config.limits = limits;
    config.http = http;
    Server::start(config, handlers).await.expect("start server")
}

async fn send(method: reqwest::Method, url: String, token: Option<&str>) -> (u16, String) {
    let mut req = reqwest::Client::new().request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

async fn get(url: String, token: Option<&str>) -> (u16, String) {
    send(reqwest::Method::GET, url, token).await
}

async fn post(url: String, token: Option<&str>) -> (u16, String) {
    send(reqwest::Method::POST, url, token).await
}

async fn ready_state(base: &str) -> (u16, serde_json::Value) {
    let (status, body) = get(format!("{base}/ready"), None).await;
    (status, serde_json::from_str(&body).expect("ready JSON"))
}

/// Parses the Prometheus text format strictly enough to catch malformed output: every sample
/// belongs to a family declared with `# TYPE`, labels are well-formed, values are numbers.
/// Returns sample name+labels → value.
fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(
                types.insert(name.to_owned(), kind.to_owned()).is_none(),
                "{line}"
            );
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(
            !line.is_empty() && !line.starts_with('#'),
            "unexpected line {line:?}"
        );
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("value in {line}"));
        let name = series.split('{').next().expect("name");
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':'),
            "{line}"
        );
        if let Some(labels) = series.strip_prefix(name)
            && !labels.is_empty()
        {
            {
                let inner = labels
                    .strip_prefix('{')
                    .and_then(|l| l.strip_suffix('}'))
                    .unwrap_or_else(|| panic!("labels in {line}"));
                for pair in inner.split("\",") {
                    let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line}"));
                    assert!(
                        k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                        "{line}"
                    );
                    let _ = v;
                }
            }
        }
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| {
                name.strip_suffix(s)
                    .filter(|f| types.get(*f).is_some_and(|k| k == "histogram"))
            })
            .unwrap_or(name);
        assert!(types.contains_key(family), "sample without TYPE: {line}");
        samples.insert(series.to_owned(), value);
    }
    samples
}

/// The documented series (README, `server::metrics`).
const DOCUMENTED: [&str; 14] = [
    "poststelle_submissions_received_total",
    "poststelle_submissions_accepted_total",
    "poststelle_submissions_rejected_total",
    "poststelle_forwarded_total",
    "poststelle_forward_retries_total",
    "poststelle_dead_letters_total",
    "poststelle_callbacks_total",
    "poststelle_stage_duration_seconds",
    "poststelle_store_up",
    "poststelle_queue_depth",
    "poststelle_queue_oldest_due_age_seconds",
    "poststelle_outbox_jobs",
    "poststelle_replies",
    "poststelle_submissions",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_ready_and_metrics() {
    on_both_backends(|t| async move {
        let metrics = Arc::new(Metrics::new());
        metrics.submission_received();
        metrics.submission_received();
        metrics.submission_accepted();
        metrics.submission_rejected(
            "https://schema.fitko.de/fit-connect/events/problems/data-schema-violation",
        );
        metrics.observe_stage(Stage::Check, Duration::from_millis(30));
        store_submission(&t.store, "sub-m-1", &["fv"], vec![]).await;
        store_submission(&t.store, "sub-m-2", &["fv"], vec![]).await;
        let now = Timestamp::now();
        let job = t
            .store
            .claim_jobs("w", now, Duration::from_secs(30), 1)
            .await
            .expect("claim")
            .remove(0);
        t.store
            .fail_job(job.job_id, "w", FailAction::DeadLetter, "http-400", now)
            .await
            .expect("fail");

        let ready = Arc::new(Flag(AtomicBool::new(true)));
        let mut h = handlers(Some(t.store.clone()), &metrics);
        h.readiness = Some(Arc::clone(&ready) as Arc<dyn Readiness>);
        let server = start(h, ServerLimits::default()).await;
        let base = format!("http://{}", server.addr());

        assert_eq!(get(format!("{base}/health"), None).await, (200, "ok\n".to_owned()));
        assert_eq!(
            ready_state(&base).await,
            (200, serde_json::json!({"pipeline": true, "store": true}))
        );
        ready.0.store(false, Ordering::SeqCst);
        assert_eq!(
            ready_state(&base).await,
            (503, serde_json::json!({"pipeline": false, "store": true}))
        );

        let resp = reqwest::get(format!("{base}/metrics")).await.expect("metrics");
        assert_eq!(
            resp.headers()["content-type"],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        let text = resp.text().await.expect("text");
        let samples = parse_prometheus(&text);
        for name in DOCUMENTED {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{}: {name} missing\n{text}",
                t.backend()
            );
        }
        let value = |series: &str| samples.get(series).copied();
        assert_eq!(value("poststelle_submissions_received_total"), Some(2.0));
        assert_eq!(value("poststelle_submissions_rejected_total{problem=\"https://schema.fitko.de/fit-connect/events/problems/data-schema-violation\"}"), Some(1.0));
        assert_eq!(value("poststelle_store_up"), Some(1.0));
        assert_eq!(value("poststelle_outbox_jobs{state=\"dead\"}"), Some(1.0));
        assert_eq!(value("poststelle_outbox_jobs{state=\"pending\"}"), Some(1.0));
        assert_eq!(value("poststelle_replies{state=\"pending\"}"), Some(0.0));
        assert_eq!(value("poststelle_replies{state=\"dead\"}"), Some(0.0));
        assert_eq!(value("poststelle_queue_depth"), Some(1.0));
        assert_eq!(value("poststelle_submissions{state=\"unacked\"}"), Some(2.0));
        assert_eq!(
            value("poststelle_stage_duration_seconds_bucket{stage=\"check\",le=\"0.05\"}"),
            Some(1.0)
        );
        server.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_store_makes_ready_fail_and_store_up_zero() {
    // A PostgreSQL store whose schema disappears under it.
    let Some(t) = TestStore::postgres().await else {
        return;
    };
    let metrics = Arc::new(Metrics::new());
    let server = start(
        handlers(Some(t.store.clone()), &metrics),
        ServerLimits::default(),
    )
    .await;
    let base = format!("http://{}", server.addr());
    assert_eq!(get(format!("{base}/ready"), None).await.0, 200);
    let url = std::env::var("POSTSTELLE_TEST_DATABASE_URL").expect("url");
    let schema = t
        .address
        .rsplit("search_path%3D")
        .next()
        .expect("schema")
        .to_owned();
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
    assert_eq!(
        ready_state(&base).await,
        (503, serde_json::json!({"pipeline": true, "store": false}))
    );
    let (_, text) = get(format!("{base}/metrics"), None).await;
    assert_eq!(
        parse_prometheus(&text).get("poststelle_store_up"),
        Some(&0.0)
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_needs_the_token_and_redrives() {
    let t = TestStore::sqlite().await;
    let sink = Sink::start().await;
    sink.set(SinkMode {
        status: 400,
        ..SinkMode::default()
    });
    store_submission(
        &t.store,
        "sub-admin",
        &["fv"],
        vec![("att-1", vec![1, 2, 3])],
    )
    .await;
    let table = RouteTable::single(UpstreamSpec::http("fv", HttpUpstream::new(sink.url("/"))));
    let policy = ForwardPolicy {
        retry: RetryPolicy::default(),
        ..ForwardPolicy::default()
    };
    let f = Forwarder::new(t.store.clone(), Arc::new(table), policy).expect("forwarder");
    assert_eq!(f.deliver_due_once().await.expect("round").dead_lettered, 1);

    let metrics = Arc::new(Metrics::new());
    let server = start(
        handlers(Some(t.store.clone()), &metrics),
        ServerLimits::default(),
    )
    .await;
    let base = format!("http://{}/admin", server.addr());

    let resp = reqwest::get(format!("{base}/jobs")).await.expect("request");
    assert_eq!(resp.status().as_u16(), 401);
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    assert_eq!(
        get(format!("{base}/jobs"), Some("wrong-token")).await.0,
        401
    );
    assert_eq!(
        get(format!("{base}/jobs"), Some("s3cr3t-admin-toke"))
            .await
            .0,
        401
    );
    assert_eq!(
        post(format!("{base}/dead-letters/redrive"), Some("wrong"))
            .await
            .0,
        401
    );

    let (status, body) = get(format!("{base}/dead-letters"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let dead: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(dead[0]["submissionId"], "sub-admin");
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["lastError"], "http-400");
    let job_id = dead[0]["jobId"].as_i64().expect("job id");

    let (status, body) = get(format!("{base}/submissions/sub-admin"), Some(TOKEN)).await;
    assert_eq!(status, 200);
    let view: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(view["decision"]["kind"], "accepted");
    assert_eq!(view["attachments"][0]["size"], 3);
    assert!(
        !body.contains("\"data\""),
        "no envelope in the admin view: {body}"
    );
    assert_eq!(
        get(format!("{base}/submissions/nope"), Some(TOKEN)).await.0,
        404
    );
    // Why was it rejected? The rejections with their problem types and locations.
    let mut rejected = poststelle::store::NewSubmission {
        submission_id: "sub-rejected".to_owned(),
        envelope: None,
        fachdaten: None,
        upstreams: Vec::new(),
        attachments: Vec::new(),
        ..crate::forward_support::new_submission("sub-rejected")
    };
    rejected.decision = poststelle::store::Decision::Rejected {
        problems: vec![
            poststelle::fitconnect::problems::Problem::new(
                poststelle::fitconnect::problems::Failure::DataSchema,
                &poststelle::fitconnect::problems::Instance::Data,
            )
            .expect("catalogue problem"),
        ],
    };
    t.store
        .store_submission(rejected, Timestamp::now())
        .await
        .expect("store");
    let (status, body) = get(format!("{base}/decisions?decision=rejected"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let list: serde_json::Value = serde_json::from_str(&body).expect("json");
    let rows = list["decisions"].as_array().expect("decisions");
    assert_eq!(rows.len(), 1, "{body}");
    assert_eq!(rows[0]["submissionId"], "sub-rejected");
    assert_eq!(rows[0]["decision"]["kind"], "rejected");
    assert!(
        rows[0]["decision"]["problems"][0]["type"]
            .as_str()
            .is_some_and(|t| t.ends_with("schema-violation")),
        "{body}"
    );
    let (_, body) = get(format!("{base}/decisions"), Some(TOKEN)).await;
    let all: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(all["decisions"].as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(
        get(format!("{base}/decisions?decision=maybe"), Some(TOKEN))
            .await
            .0,
        400
    );
    assert_eq!(
        get(format!("{base}/jobs?state=bogus"), Some(TOKEN)).await.0,
        400
    );
    assert_eq!(
        get(format!("{base}/jobs/{job_id}/redrive"), Some(TOKEN))
            .await
            .0,
        405
    );

    sink.set(SinkMode::default());
    let (status, body) = post(format!("{base}/jobs/{job_id}/redrive"), Some(TOKEN)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"redriven":1}"#));
    assert_eq!(
        post(format!("{base}/jobs/{job_id}/redrive"), Some(TOKEN))
            .await
            .0,
        404
    );
    assert_eq!(f.deliver_due_once().await.expect("round").delivered, 1);
    assert_eq!(sink.delivered_keys().len(), 1);
    let (_, body) = get(format!("{base}/jobs?state=delivered"), Some(TOKEN)).await;
    let jobs: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(jobs.as_array().map(Vec::len), Some(1));
    server.shutdown().await;

    // Without a configured token there is no admin API at all.
    let mut h = handlers(Some(t.store.clone()), &metrics);
    h.admin_token = None;
    let server = start(h, ServerLimits::default()).await;
    let (status, _) = get(format!("http://{}/admin/jobs", server.addr()), Some(TOKEN)).await;
    assert_eq!(status, 404);
    server.shutdown().await;
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
}

/// Sends raw bytes and returns the status code of the answer.
async fn raw_status(addr: std::net::SocketAddr, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut buf = vec![0; 1024];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf))
        .await
        .expect("answer in time")
        .expect("read");
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_bodies_headers_paths_and_methods() {
    let metrics = Arc::new(Metrics::new());
    let mut limits = ServerLimits::default();
    limits.max_callback_bytes = 1024;
    limits.callback_body_timeout_ms = 300;
    let server = start(handlers(None, &metrics), limits).await;
    let addr = server.addr();
    let big = "x".repeat(2000);
    // Callback headers are checked before the body is read; these pass that first check (a
    // fresh timestamp and a well-formed MAC, which only the body can refute).
    let auth = format!(
        "callback-timestamp: {}\r\ncallback-authentication: {}\r\n",
        unix_now(),
        "0".repeat(128)
    );
    let auth = auth.as_str();
    // Declared too large: refused before the body is read.
    let declared =
        format!("POST /callbacks/d1 HTTP/1.1\r\nhost: x\r\n{auth}content-length: 2000\r\n\r\n");
    assert_eq!(raw_status(addr, declared.as_bytes()).await, 413);
    // Chunked without a length: refused once the limit is passed.
    let chunked = format!(
        "POST /callbacks/d1 HTTP/1.1\r\nhost: x\r\n{auth}transfer-encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    assert_eq!(raw_status(addr, chunked.as_bytes()).await, 413);
    // A huge header block.
    let huge = format!(
        "GET /health HTTP/1.1\r\nhost: x\r\nx-pad: {}\r\n\r\n",
        "y".repeat(64 * 1024)
    );
    assert_eq!(raw_status(addr, huge.as_bytes()).await, 431);
    // A body that stops arriving.
    let mut slow = TcpStream::connect(addr).await.expect("connect");
    let head =
        format!("POST /callbacks/d1 HTTP/1.1\r\nhost: x\r\n{auth}content-length: 100\r\n\r\n");
    slow.write_all(head.as_bytes()).await.expect("head");
    slow.write_all(b"{").await.expect("a byte");
    let mut answer = vec![0; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), slow.read(&mut answer))
        .await
        .expect("answered before the client gives up")
        .expect("read");
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert_eq!(get(format!("http://{addr}/nowhere"), None).await.0, 404);
    assert_eq!(post(format!("http://{addr}/health"), None).await.0, 405);
    assert_eq!(
        get(format!("http://{addr}/callbacks/d1"), None).await.0,
        405
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_a_request_in_flight() {
    let metrics = Arc::new(Metrics::new());
    let server = start(handlers(None, &metrics), ServerLimits::default()).await;
    let addr = server.addr();
    let body = br#"{"submissionIds":["0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c"]}"#;
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        .to_string();
    let mac = CallbackSecret::new(b"k").expect("secret").sign(&ts, body);
    let head = format!(
        "POST /callbacks/d1 HTTP/1.1\r\nhost: x\r\ncallback-timestamp: {ts}\r\ncallback-authentication: {mac}\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(head.as_bytes()).await.expect("head");
    stream
        .write_all(&body[..5])
        .await
        .expect("part of the body");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let shutdown = tokio::spawn(server.shutdown());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!shutdown.is_finished(), "shutdown waits for the request");
    // New connections are no longer accepted.
    assert!(
        reqwest::get(format!("http://{addr}/health")).await.is_err(),
        "listener closed"
    );
    stream
        .write_all(&body[5..])
        .await
        .expect("rest of the body");
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .expect("answer in time")
        .expect("read");
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    tokio::time::timeout(Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown completes")
        .expect("shutdown task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_tls_with_the_configured_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let cert_pem = pem("CERTIFICATE", key.cert.der());
    let key_pem = pem("PRIVATE KEY", &key.signing_key.serialize_der());
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).expect("write cert");
    std::fs::write(dir.path().join("key.pem"), &key_pem).expect("write key");
    let metrics = Arc::new(Metrics::new());
    let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
    config.tls = Some(TlsFiles {
        cert_chain_pem: dir.path().join("cert.pem"),
        private_key_pem: dir.path().join("key.pem"),
    });
    let server = Server::start(config, handlers(None, &metrics))
        .await
        .expect("start tls");
    let addr = server.addr();
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).expect("cert")])
        .resolve("localhost", addr)
        .build()
        .expect("client");
    let resp = client
        .get(format!("https://localhost:{}/health", addr.port()))
        .send()
        .await
        .expect("https request");
    assert_eq!(resp.status().as_u16(), 200);
    // Plain HTTP on the TLS port gets no HTTP answer.
    assert!(reqwest::get(format!("http://{addr}/health")).await.is_err());
    server.shutdown().await;

    // A missing key file is a startup error, not a panic.
    let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
    config.tls = Some(TlsFiles {
        cert_chain_pem: dir.path().join("cert.pem"),
        private_key_pem: dir.path().join("absent.pem"),
    });
    let err = Server::start(config, handlers(None, &metrics))
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("absent.pem"), "{err}");
}

/// Issue 19: `admin` refused `Authorization: bearer <token>`; the scheme is case-insensitive
/// (RFC 7235 §2.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_accepts_lowercase_bearer() {
    let t = TestStore::sqlite().await;
    let metrics = Arc::new(Metrics::new());
    let server = start(
        handlers(Some(t.store.clone()), &metrics),
        ServerLimits::default(),
    )
    .await;
    let url = format!("http://{}/admin/jobs", server.addr());
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        let resp = reqwest::Client::new()
            .get(&url)
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200, "{scheme}");
    }
    for value in [
        format!("Basic {TOKEN}"),
        format!("bearer{TOKEN}"),
        "bearer".into(),
    ] {
        let resp = reqwest::Client::new()
            .get(&url)
            .header("authorization", value.as_str())
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status().as_u16(), 401, "{value}");
    }
    server.shutdown().await;
}

/// Issue 19: silent connections held the single pool's slots and the accept loop waited for
/// one, so `/health` went unanswered for over a minute. Now one client address gets at most
/// `max_connections_per_client` slots and the accept loop never waits: other clients' probes
/// are answered at once, and even when every slot is taken a probe gets a probe slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_connections_do_not_starve_health() {
    let metrics = Arc::new(Metrics::new());
    let mut http = HttpLimits::default();
    http.max_connections = 8;
    http.max_connections_per_client = 4;
    http.probe_connections = 2;
    // Silent sockets would hold their slots for the whole test.
    http.header_timeout_ms = 60_000;
    let server = start_with(handlers(None, &metrics), ServerLimits::default(), http).await;
    let addr = server.addr();
    // One attacker address opens far more silent connections than it may hold.
    let mut silent = Vec::new();
    for _ in 0..40 {
        if let Some(s) = crate::attack_http::connect_from("127.0.0.2", addr).await {
            silent.push(s);
        }
    }
    if silent.is_empty() {
        println!("skipped: cannot bind 127.0.0.2 (no loopback /8 here)");
        server.shutdown().await;
        return;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let stats = server.stats();
    assert_eq!(
        stats.open, 4,
        "one address holds at most its share: {stats:?}"
    );
    // Another client is served at once, on a regular slot.
    for _ in 0..5 {
        let started = std::time::Instant::now();
        let (status, body) = get(format!("http://{addr}/health"), None).await;
        assert_eq!((status, body.as_str()), (200, "ok\n"));
        assert!(started.elapsed() < Duration::from_secs(1));
    }
    // The excess connections that got probe slots lose them after the probe timeout (1 s).
    tokio::time::sleep(Duration::from_millis(1_300)).await;
    assert_eq!(server.stats().probing, 0, "{:?}", server.stats());
    // A second attacker address takes the remaining regular slots: now a probe from anywhere
    // lands on a probe slot, where /health and /ready are answered and nothing else.
    for _ in 0..4 {
        if let Some(s) = crate::attack_http::connect_from("127.0.0.3", addr).await {
            silent.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = server.stats();
    assert_eq!(before.open, 8, "{before:?}");
    let started = std::time::Instant::now();
    assert_eq!(get(format!("http://{addr}/health"), None).await.0, 200);
    assert_eq!(ready_state(&format!("http://{addr}")).await.0, 200);
    let (status, body) = post(format!("http://{addr}/callbacks/d1"), None).await;
    assert_eq!(status, 503, "{body}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(server.stats().overflowed_total, before.overflowed_total + 3);
    // Silent connections in the probe slots as well: each new connection evicts the oldest
    // one that has not sent a request, so a probe still gets through.
    for _ in 0..6 {
        if let Some(s) = crate::attack_http::connect_from("127.0.0.4", addr).await {
            silent.push(s);
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.stats().probing, 2, "{:?}", server.stats());
    let started = std::time::Instant::now();
    let (status, body) = get(format!("http://{addr}/health"), None).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        server.stats().evicted_total > before.evicted_total + 4,
        "{:?}",
        server.stats()
    );
    drop(silent);
    server.shutdown().await;
}

/// With `probe_listen`, probes have slots of their own: answered while the main port is full,
/// and only the probe routes are there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_listener_answers_while_the_main_port_is_full() {
    let metrics = Arc::new(Metrics::new());
    let mut config = ServerConfig::new("127.0.0.1:0".parse().expect("addr"));
    config.probe_listen = Some("127.0.0.1:0".parse().expect("addr"));
    config.http.max_connections = 4;
    config.http.max_connections_per_client = 4;
    config.http.probe_connections = 0;
    config.http.header_timeout_ms = 60_000;
    let server = Server::start(config, handlers(None, &metrics))
        .await
        .expect("start");
    let addr = server.addr();
    let probe = server.probe_addr().expect("probe listener");
    let mut silent = Vec::new();
    for _ in 0..20 {
        silent.push(TcpStream::connect(addr).await.expect("connect"));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The main port refuses at once instead of letting the client wait.
    assert!(reqwest::get(format!("http://{addr}/health")).await.is_err());
    assert_eq!(get(format!("http://{probe}/health"), None).await.0, 200);
    assert_eq!(ready_state(&format!("http://{probe}")).await.0, 200);
    assert_eq!(get(format!("http://{probe}/metrics"), None).await.0, 200);
    assert_eq!(
        get(format!("http://{probe}/admin/jobs"), Some(TOKEN))
            .await
            .0,
        404
    );
    assert_eq!(
        post(format!("http://{probe}/callbacks/d1"), None).await.0,
        404
    );
    drop(silent);
    server.shutdown().await;
}

/// Before, the admin API gave times as epoch milliseconds while `queue show` printed RFC 3339;
/// now both show RFC 3339 in UTC (the same function, `Timestamp::to_rfc3339`), unset ones as
/// `null`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_api_timestamps_are_rfc3339_like_the_cli() {
    let t = TestStore::sqlite().await;
    store_submission(&t.store, "sub-times", &["fv"], vec![]).await;
    let metrics = Arc::new(Metrics::new());
    let server = start(
        handlers(Some(t.store.clone()), &metrics),
        ServerLimits::default(),
    )
    .await;
    let base = format!("http://{}/admin", server.addr());
    let (status, body) = get(format!("{base}/submissions/sub-times"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).expect("json");
    let rfc3339 =
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$").expect("regex");
    let check = |v: &serde_json::Value| {
        let text = v
            .as_str()
            .unwrap_or_else(|| panic!("a string: {v} in {body}"));
        assert!(rfc3339.is_match(text), "RFC 3339 UTC: {text}");
    };
    check(&view["seenAt"]);
    check(&view["storedAt"]);
    assert_eq!(view["ackedAt"], serde_json::Value::Null);
    assert_eq!(
        view["payloadPurgedAt"],
        serde_json::Value::Null,
        "kept until the retention is over"
    );
    let job = &view["jobs"][0];
    check(&job["createdAt"]);
    check(&job["nextAttemptAt"]);
    assert_eq!(job["finishedAt"], serde_json::Value::Null);
    let (status, body) = get(format!("{base}/jobs"), Some(TOKEN)).await;
    assert_eq!(status, 200, "{body}");
    let jobs: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(jobs[0]["createdAt"], job["createdAt"]);
    server.shutdown().await;
}
