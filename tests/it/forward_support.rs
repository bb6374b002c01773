//! Shared helpers of the forward_* and server_* tests: stores on both backends, stored
//! submissions, and a local HTTP sink standing in for a Fachverfahren.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use poststelle::store::{
    AckPolicy, AnyStore, BlobSource, Decision, Evidence, JobFilter, JobState, JobSummary,
    NewAttachment, NewSubmission, PgStore, SqliteStore, Store, StoreOutcome, Timestamp,
};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Every test is bounded; a hang is a failure, not a stuck CI job.
pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `f` against SQLite, and against PostgreSQL when `POSTSTELLE_TEST_DATABASE_URL` is set
/// (in a fresh schema, dropped afterwards).
pub(crate) async fn on_both_backends<F, Fut>(f: F)
where
    F: Fn(TestStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let sqlite = TestStore::sqlite().await;
    tokio::time::timeout(TEST_TIMEOUT, f(sqlite))
        .await
        .expect("sqlite: test timed out");
    if let Some(pg) = TestStore::postgres().await {
        tokio::time::timeout(TEST_TIMEOUT, f(pg))
            .await
            .expect("postgres: test timed out");
    }
}

/// A store under test with what is needed to reach it from outside (CLI) and clean up.
pub(crate) struct TestStore {
    pub(crate) store: AnyStore,
    /// The address `poststelle queue --store` takes.
    pub(crate) address: String,
    pub(crate) dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestStore {
    pub(crate) async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("poststelle.db");
        let store = SqliteStore::open(&path).await.expect("open sqlite");
        Self {
            store: AnyStore::Sqlite(store),
            address: format!("sqlite:{}", path.display()),
            dir,
            pg: None,
        }
    }

    pub(crate) async fn postgres() -> Option<Self> {
        let Ok(url) = std::env::var("POSTSTELLE_TEST_DATABASE_URL") else {
            eprintln!("POSTSTELLE_TEST_DATABASE_URL not set: PostgreSQL variant skipped");
            return None;
        };
        let schema = format!("poststelle_fwd_{:016x}", getrandom::u64().expect("random"));
        let store = PgStore::connect(&url, Some(&schema))
            .await
            .expect("connect postgres");
        let sep = if url.contains('?') { '&' } else { '?' };
        Some(Self {
            store: AnyStore::Postgres(store),
            address: format!("{url}{sep}options=-c%20search_path%3D{schema}"),
            dir: tempfile::tempdir().expect("tempdir"),
            pg: Some((url, schema)),
        })
    }

    /// A name for messages: which backend failed.
    pub(crate) fn backend(&self) -> &'static str {
        if self.pg.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }

    /// A scratch path for this test.
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        let Some((url, schema)) = self.pg.take() else {
            return;
        };
        // On its own thread and runtime: we may be inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let Ok((client, conn)) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                else {
                    return;
                };
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .await;
            });
        })
        .join();
    }
}

/// The envelope stored for `id` (what upstreams must receive).
pub(crate) fn envelope(id: &str) -> String {
    format!(r#"{{"submission":{{"id":"{id}"}},"data":{{"x":1}}}}"#)
}

/// Deterministic bytes.
pub(crate) fn payload(len: usize, seed: usize) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + seed) % 251) as u8).collect()
}

/// An accepted submission `id` with an envelope, no attachments and no jobs, decided now.
pub(crate) fn new_submission(id: &str) -> NewSubmission {
    let now = Timestamp::now();
    NewSubmission {
        submission_id: id.to_owned(),
        case_id: None,
        destination_id: "dest".to_owned(),
        message_type: None,
        envelope: Some(envelope(id)),
        fachdaten: None,
        decision: Decision::Accepted,
        ack_policy: AckPolicy::AfterStore,
        evidence: Evidence {
            submit_set: "a.b.c".to_owned(),
            auth_tags: None,
            hashes: vec![],
            received_at: now,
            decided_at: now,
        },
        attachments: Vec::new(),
        upstreams: Vec::new(),
    }
}

/// Stores an accepted submission with jobs for `upstreams`, now.
pub(crate) async fn store_submission(
    store: &AnyStore,
    id: &str,
    upstreams: &[&str],
    attachments: Vec<(&str, Vec<u8>)>,
) {
    let now = Timestamp::now();
    let outcome = store
        .store_submission(
            NewSubmission {
                attachments: attachments
                    .into_iter()
                    .map(|(aid, bytes)| NewAttachment {
                        attachment_id: aid.to_owned(),
                        filename: None,
                        media_type: "application/pdf".to_owned(),
                        content: BlobSource::Reader(Box::new(io::Cursor::new(bytes))),
                    })
                    .collect(),
                upstreams: upstreams.iter().map(|&u| u.to_owned()).collect(),
                ..new_submission(id)
            },
            now,
        )
        .await
        .expect("store submission");
    assert_eq!(outcome, StoreOutcome::Stored);
}

/// How the sink answers.
#[derive(Debug, Clone)]
pub(crate) struct SinkMode {
    pub(crate) status: u16,
    pub(crate) delay: Duration,
    /// A `Location` header to send (with a 3xx status).
    pub(crate) location: Option<String>,
}

impl Default for SinkMode {
    fn default() -> Self {
        Self {
            status: 200,
            delay: Duration::ZERO,
            location: None,
        }
    }
}

/// One request the sink received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) digest: Option<String>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body: Vec<u8>,
    /// The status the sink answered.
    pub(crate) status: u16,
}

/// A local upstream on 127.0.0.1 recording every request.
pub(crate) struct Sink {
    pub(crate) addr: SocketAddr,
    pub(crate) mode: Arc<Mutex<SinkMode>>,
    pub(crate) received: Arc<Mutex<Vec<Received>>>,
    /// Requests whose body arrived (counted before the answer's `delay`): a delivery in
    /// progress.
    pub(crate) arrived: Arc<std::sync::atomic::AtomicUsize>,
    stop: watch::Sender<bool>,
}

impl Sink {
    /// Starts a sink on a free port.
    pub(crate) async fn start() -> Self {
        Self::start_on("127.0.0.1:0".parse().expect("addr")).await
    }

    /// Starts a sink on `addr` (to bring a "down" upstream back on its port).
    pub(crate) async fn start_on(addr: SocketAddr) -> Self {
        let listener = TcpListener::bind(addr).await.expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let mode = Arc::new(Mutex::new(SinkMode::default()));
        let received = Arc::new(Mutex::new(Vec::new()));
        let arrived = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stop, mut stopped) = watch::channel(false);
        let (m, r, a) = (
            Arc::clone(&mode),
            Arc::clone(&received),
            Arc::clone(&arrived),
        );
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    a = listener.accept() => a,
                    _ = stopped.changed() => break,
                };
                let Ok((stream, _)) = accepted else { continue };
                let (m, r, a) = (Arc::clone(&m), Arc::clone(&r), Arc::clone(&a));
                let service = service_fn(move |req| {
                    let (m, r, a) = (Arc::clone(&m), Arc::clone(&r), Arc::clone(&a));
                    async move { Ok::<_, Infallible>(answer(req, &m, &r, &a).await) }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            addr,
            mode,
            received,
            arrived,
            stop,
        }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub(crate) fn set(&self, mode: SinkMode) {
        *self.mode.lock().expect("mode") = mode;
    }

    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().expect("received").clone()
    }

    /// Distinct idempotency keys answered with 2xx.
    pub(crate) fn delivered_keys(&self) -> std::collections::BTreeSet<String> {
        self.received()
            .into_iter()
            .filter(|r| (200..300).contains(&r.status))
            .filter_map(|r| r.idempotency_key)
            .collect()
    }

    /// Stops accepting (open connections end with their requests).
    pub(crate) fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

async fn answer(
    req: Request<Incoming>,
    mode: &Mutex<SinkMode>,
    received: &Mutex<Vec<Received>>,
    arrived: &std::sync::atomic::AtomicUsize,
) -> Response<Full<Bytes>> {
    let mode = mode.lock().expect("mode").clone();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (idempotency_key, content_type) = (header("idempotency-key"), header("content-type"));
    let digest = header("repr-digest");
    let (method, path) = (req.method().to_string(), req.uri().path().to_owned());
    let body = req
        .into_body()
        .collect()
        .await
        .map(|c| c.to_bytes().to_vec())
        .unwrap_or_default();
    arrived.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tokio::time::sleep(mode.delay).await;
    received.lock().expect("received").push(Received {
        method,
        path,
        digest,
        idempotency_key,
        content_type,
        body,
        status: mode.status,
    });
    let mut resp = Response::new(Full::new(Bytes::from_static(b"{}")));
    *resp.status_mut() = StatusCode::from_u16(mode.status).expect("status");
    if let Some(loc) = mode.location {
        resp.headers_mut()
            .insert("location", loc.parse().expect("location"));
    }
    resp
}

/// Waits until `check` holds, polling; panics after `within`.
pub(crate) async fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + within;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Runs the forwarder in the background until the returned sender fires (or is dropped).
pub(crate) fn spawn_worker(
    f: &poststelle::forward::Forwarder<AnyStore>,
) -> (
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<poststelle::forward::RoundReport>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let f = f.clone();
    let worker = tokio::spawn(async move {
        f.run(async {
            let _ = stopped.await;
        })
        .await
    });
    (stop, worker)
}

/// The outbox jobs in `state` (all if `None`), oldest first.
pub(crate) async fn jobs_in(store: &AnyStore, state: Option<JobState>) -> Vec<JobSummary> {
    store
        .list_jobs(JobFilter { state, limit: 1000 })
        .await
        .expect("list jobs")
}

/// PEM text of one DER object (`CERTIFICATE`, `PRIVATE KEY`).
pub(crate) fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}
