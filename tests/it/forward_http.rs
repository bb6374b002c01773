//! HTTP upstreams: what the Fachverfahren receives, and how each kind of answer is treated.

use std::sync::Arc;
use std::time::Duration;

use poststelle::forward::{
    ForwardPolicy, Forwarder, HttpUpstream, RoundReport, RouteTable, UpstreamSpec,
};
use poststelle::store::{JobState, RetryPolicy};

use crate::forward_support::{
    Sink, SinkMode, TestStore, envelope, jobs_in, on_both_backends, payload, store_submission,
};

fn policy() -> ForwardPolicy {
    ForwardPolicy {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(100),
            max_attempts: 5,
            max_age: Duration::from_secs(600),
        },
        concurrency: 4,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(20),
        ..ForwardPolicy::default()
    }
}

fn forwarder(t: &TestStore, upstream: HttpUpstream) -> Forwarder<poststelle::store::AnyStore> {
    let table = RouteTable::single(UpstreamSpec::http("fv", upstream));
    Forwarder::new(t.store.clone(), Arc::new(table), policy()).expect("forwarder")
}

async fn only_job(t: &TestStore) -> poststelle::store::JobSummary {
    let jobs = jobs_in(&t.store, None).await;
    assert_eq!(jobs.len(), 1, "{}: {jobs:?}", t.backend());
    jobs.into_iter().next().expect("one job")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posts_envelope_with_idempotency_key() {
    on_both_backends(|t| async move {
        let sink = Sink::start().await;
        store_submission(&t.store, "sub-http-1", &["fv"], vec![]).await;
        let shared = Arc::new(poststelle::server::Metrics::new());
        let f =
            forwarder(&t, HttpUpstream::new(sink.url("/inbox"))).with_metrics(Arc::clone(&shared));
        let report = f.deliver_due_once().await.expect("round");
        assert_eq!(
            report,
            RoundReport {
                claimed: 1,
                delivered: 1,
                ..RoundReport::default()
            }
        );
        let got = sink.received();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "/inbox");
        assert_eq!(got[0].idempotency_key.as_deref(), Some("sub-http-1"));
        assert_eq!(got[0].content_type.as_deref(), Some("application/json"));
        assert_eq!(got[0].body, envelope("sub-http-1").as_bytes());
        assert_eq!(only_job(&t).await.state, JobState::Delivered);
        assert_eq!(
            shared.count("forwarded", "fv"),
            1,
            "counted into the shared metrics"
        );
        // Nothing is due any more.
        assert_eq!(f.deliver_due_once().await.expect("round").claimed, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_put_before_the_envelope() {
    on_both_backends(|t| async move {
        let sink = Sink::start().await;
        let big = payload(3 << 20, 3);
        store_submission(
            &t.store,
            "sub-att",
            &["fv"],
            vec![("att-1", big.clone()), ("att-2", b"small".to_vec())],
        )
        .await;
        let spool = t.path("spool");
        std::fs::create_dir_all(&spool).expect("spool");
        let table = RouteTable::single(UpstreamSpec::http(
            "fv",
            HttpUpstream::new(sink.url("/in/")),
        ));
        let policy = ForwardPolicy {
            spool_dir: spool.clone(),
            ..policy()
        };
        let f = Forwarder::new(t.store.clone(), Arc::new(table), policy).expect("forwarder");

        // An attachment refused for now: the envelope is not posted, the job waits.
        sink.set(SinkMode {
            status: 503,
            ..SinkMode::default()
        });
        assert_eq!(f.deliver_due_once().await.expect("round").retried, 1);
        assert!(sink.received().iter().all(|r| r.method == "PUT"));

        sink.set(SinkMode::default());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(f.deliver_due_once().await.expect("round").delivered, 1);
        let got: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|r| r.status == 200)
            .collect();
        let calls: Vec<_> = got
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        assert_eq!(
            calls,
            [
                "PUT /in/sub-att/attachments/att-1",
                "PUT /in/sub-att/attachments/att-2",
                "POST /in/"
            ],
            "{}",
            t.backend()
        );
        assert_eq!(got[0].body, big);
        assert_eq!(got[1].body, b"small");
        assert_eq!(got[0].content_type.as_deref(), Some("application/pdf"));
        assert_eq!(got[0].idempotency_key.as_deref(), Some("sub-att"));
        let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"small");
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sha.as_ref());
        assert_eq!(got[1].digest, Some(format!("sha-256=:{b64}:")));
        assert_eq!(got[2].body, envelope("sub-att").as_bytes());
        assert_eq!(
            std::fs::read_dir(&spool).expect("spool").count(),
            0,
            "spool files are removed"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_dead_letter() {
    let t = TestStore::sqlite().await;
    let target = Sink::start().await;
    let sink = Sink::start().await;
    sink.set(SinkMode {
        status: 307,
        location: Some(target.url("/elsewhere")),
        ..SinkMode::default()
    });
    store_submission(&t.store, "sub-redirect", &["fv"], vec![]).await;
    let f = forwarder(&t, HttpUpstream::new(sink.url("/inbox")));
    let report = f.deliver_due_once().await.expect("round");
    assert_eq!(
        report.dead_lettered, 1,
        "a redirect is permanent: {report:?}"
    );
    assert!(
        target.received().is_empty(),
        "redirect target was contacted"
    );
    let job = only_job(&t).await;
    assert_eq!(job.state, JobState::Dead);
    assert_eq!(job.last_error.as_deref(), Some("http-307"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_errors_dead_letter_at_once_server_errors_retry() {
    let t = TestStore::sqlite().await;
    let sink = Sink::start().await;
    sink.set(SinkMode {
        status: 503,
        ..SinkMode::default()
    });
    store_submission(&t.store, "sub-503", &["fv"], vec![]).await;
    let f = forwarder(&t, HttpUpstream::new(sink.url("/")));
    assert_eq!(f.deliver_due_once().await.expect("round").retried, 1);
    let job = only_job(&t).await;
    assert_eq!(
        (job.state, job.last_error.as_deref()),
        (JobState::Pending, Some("http-503"))
    );
    assert_eq!(f.metrics().count("retries", "fv"), 1);

    sink.set(SinkMode {
        status: 422,
        ..SinkMode::default()
    });
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert_eq!(f.deliver_due_once().await.expect("round").dead_lettered, 1);
    let job = only_job(&t).await;
    assert_eq!(
        (job.state, job.attempts, job.last_error.as_deref()),
        (JobState::Dead, 2, Some("http-422"))
    );
    assert_eq!(f.metrics().count("dead_letters", "fv"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_upstream_times_out_and_is_retried() {
    let t = TestStore::sqlite().await;
    let sink = Sink::start().await;
    sink.set(SinkMode {
        delay: Duration::from_secs(3),
        ..SinkMode::default()
    });
    store_submission(&t.store, "sub-slow", &["fv"], vec![]).await;
    let mut up = HttpUpstream::new(sink.url("/"));
    up.total_timeout = Duration::from_millis(300);
    let f = forwarder(&t, up);
    let started = std::time::Instant::now();
    assert_eq!(f.deliver_due_once().await.expect("round").retried, 1);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the total timeout bounds the attempt: {:?}",
        started.elapsed()
    );
    assert_eq!(only_job(&t).await.last_error.as_deref(), Some("timeout"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_upstream_is_a_connect_failure() {
    let t = TestStore::sqlite().await;
    // A port nobody listens on: bind, learn it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    store_submission(&t.store, "sub-down", &["fv"], vec![]).await;
    let f = forwarder(&t, HttpUpstream::new(format!("http://127.0.0.1:{port}/")));
    assert_eq!(f.deliver_due_once().await.expect("round").retried, 1);
    assert_eq!(only_job(&t).await.last_error.as_deref(), Some("connect"));
}

#[tokio::test]
async fn bad_upstream_configuration_is_refused() {
    let t = TestStore::sqlite().await;
    for url in ["ftp://x/", "not a url", "mailto:a@b.example"] {
        let table = RouteTable::single(UpstreamSpec::http("fv", HttpUpstream::new(url)));
        let err = Forwarder::new(t.store.clone(), Arc::new(table), policy()).expect_err("refused");
        assert!(err.to_string().starts_with("upstream fv:"), "{url}: {err}");
    }
    let mut up = HttpUpstream::new("https://127.0.0.1/");
    up.client_identity = Some(poststelle::forward::ClientIdentity {
        cert_chain_pem: t.path("missing-cert.pem"),
        private_key_pem: t.path("missing-key.pem"),
    });
    let table = RouteTable::single(UpstreamSpec::http("fv", up));
    let err = Forwarder::new(t.store.clone(), Arc::new(table), policy()).expect_err("refused");
    assert!(err.to_string().contains("missing-cert.pem"), "{err}");
}

#[test]
fn stale_export_files_are_swept_at_start_and_fresh_ones_kept() {
    let dir = tempfile::tempdir().expect("dir");
    let old = std::time::SystemTime::now() - Duration::from_secs(3600);
    let touch = |name: &str, modified: Option<std::time::SystemTime>| {
        let f = std::fs::File::create(dir.path().join(name)).expect("create");
        if let Some(t) = modified {
            f.set_modified(t).expect("mtime");
        }
    };
    touch(".forward-0123456789abcdef", Some(old)); // a killed process's export
    touch(".forward-fedcba9876543210", None); // another instance's export in flight
    touch("unrelated.pdf", Some(old)); // not ours
    let table = RouteTable::single(UpstreamSpec::http(
        "fv",
        HttpUpstream::new("http://127.0.0.1:9/in/"),
    ));
    let policy = ForwardPolicy {
        spool_dir: dir.path().to_owned(),
        ..policy()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let store = rt.block_on(async {
        poststelle::store::AnyStore::open(&format!(
            "sqlite:{}",
            dir.path().join("db.sqlite").display()
        ))
        .await
        .expect("store")
    });
    let f = Forwarder::new(store, Arc::new(table), policy).expect("forwarder");
    assert_eq!(f.swept_exports(), 1);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with("db.sqlite"))
        .collect();
    left.sort();
    assert_eq!(left, [".forward-fedcba9876543210", "unrelated.pdf"]);
}

/// A document source that answers with a fixed page, or refuses.
struct Pages(Option<&'static str>);

impl poststelle::forward::DocumentSource for Pages {
    fn document(
        &self,
        fachdaten: Vec<u8>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>> {
        let page = self.0;
        Box::pin(async move {
            assert_eq!(fachdaten, b"<antrag/>", "the stored Fachdaten are rendered");
            page.map(str::to_owned).ok_or_else(|| "no pack".to_owned())
        })
    }
}

/// A document source that renders JSON Fachdaten from the envelope (and no XML).
struct JsonPages;

impl poststelle::forward::DocumentSource for JsonPages {
    fn document(
        &self,
        _fachdaten: Vec<u8>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>> {
        Box::pin(async { Err("xml".to_owned()) })
    }

    fn json_document(&self, envelope: String) -> poststelle::forward::JsonDocument<'_> {
        Box::pin(async move {
            let env: serde_json::Value = serde_json::from_str(&envelope).ok()?;
            let uri = env["message"]["schemaUri"].as_str()?.to_owned();
            Some(Ok(format!("<!DOCTYPE html><title>{uri}</title>")))
        })
    }
}

/// `rendering = true` with JSON Fachdaten: the document is made from the envelope's `data`
/// and `message.schemaUri` (the console's JSON render, issue 17) and `PUT` the same way; a
/// submission whose envelope carries no JSON Fachdaten gets none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_fachdaten_get_their_document_from_the_envelope() {
    on_both_backends(|t| async move {
        let sink = Sink::start().await;
        let uri = "https://schema.example/fim/antrag.schema.json";
        for (id, json) in [("sub-fim", true), ("sub-plain", false)] {
            let mut s = crate::forward_support::new_submission(id);
            s.upstreams = vec!["fv".to_owned()];
            s.fachdaten = None;
            if json {
                s.envelope = Some(format!(
                    r#"{{"submission":{{"id":"{id}"}},"message":{{"schemaUri":"{uri}"}},"data":{{"a":1}}}}"#
                ));
            }
            poststelle::store::Store::store_submission(
                &t.store,
                s,
                poststelle::store::Timestamp::now(),
            )
            .await
            .expect("store");
        }
        let mut rendering = HttpUpstream::new(sink.url("/fv/"));
        rendering.send_document = true;
        let table = RouteTable::new(
            vec![UpstreamSpec::http("fv", rendering)],
            vec![],
            vec!["fv".to_owned()],
        )
        .expect("table");
        let f = Forwarder::new(t.store.clone(), Arc::new(table), policy())
            .expect("forwarder")
            .with_documents(Arc::new(JsonPages));
        assert_eq!(f.deliver_due_once().await.expect("round").delivered, 2);
        let received = sink.received();
        let puts: Vec<&str> = received
            .iter()
            .filter(|r| r.method == "PUT")
            .map(|r| r.path.as_str())
            .collect();
        assert_eq!(puts, ["/fv/sub-fim/attachments/document.html"], "{}", t.backend());
        let doc = received.iter().find(|r| r.method == "PUT").expect("document");
        assert_eq!(doc.body, format!("<!DOCTYPE html><title>{uri}</title>").as_bytes());
    })
    .await;
}

/// `[[upstream]] rendering = true` (issue 17): the case-worker document is `PUT` as
/// `attachments/document.html` after the attachments and before the envelope; not without
/// XML Fachdaten, not for other upstreams, and a document that cannot be rendered does not
/// hold the submission back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_worker_document_is_put_before_the_envelope_when_rendering_is_on() {
    on_both_backends(|t| async move {
        let sink = Sink::start().await;
        for (id, fachdaten) in [("sub-doc", true), ("sub-json", false)] {
            let mut s = crate::forward_support::new_submission(id);
            s.upstreams = vec!["fv".to_owned(), "plain".to_owned()];
            s.fachdaten = fachdaten.then(|| b"<antrag/>".to_vec());
            poststelle::store::Store::store_submission(
                &t.store,
                s,
                poststelle::store::Timestamp::now(),
            )
            .await
            .expect("store");
        }
        let mut rendering = HttpUpstream::new(sink.url("/fv/"));
        rendering.send_document = true;
        let table = RouteTable::new(
            vec![
                UpstreamSpec::http("fv", rendering),
                UpstreamSpec::http("plain", HttpUpstream::new(sink.url("/plain/"))),
            ],
            vec![],
            vec!["fv".to_owned()],
        )
        .expect("table");
        let page = "<!DOCTYPE html><html lang=\"de\"><title>Antrag</title></html>";
        let f = Forwarder::new(t.store.clone(), Arc::new(table), policy())
            .expect("forwarder")
            .with_documents(Arc::new(Pages(Some(page))));
        assert_eq!(f.deliver_due_once().await.expect("round").delivered, 4);
        let mut calls: Vec<String> = sink
            .received()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect();
        calls.sort();
        assert_eq!(
            calls,
            [
                "POST /fv/",
                "POST /fv/",
                "POST /plain/",
                "POST /plain/",
                "PUT /fv/sub-doc/attachments/document.html",
            ],
            "{}",
            t.backend()
        );
        let received = sink.received();
        let doc = received
            .iter()
            .find(|r| r.method == "PUT")
            .expect("document");
        assert_eq!(doc.body, page.as_bytes());
        assert_eq!(
            doc.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(doc.idempotency_key.as_deref(), Some("sub-doc"));
        let sha = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, page.as_bytes());
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, sha.as_ref());
        assert_eq!(doc.digest, Some(format!("sha-256=:{b64}:")));
        let put_at = received
            .iter()
            .position(|r| r.method == "PUT")
            .expect("put");
        let post_at = received
            .iter()
            .position(|r| r.path == "/fv/" && r.idempotency_key.as_deref() == Some("sub-doc"))
            .expect("post");
        assert!(put_at < post_at, "the document before the envelope");

        // A document that cannot be rendered: delivered without it.
        let mut s = crate::forward_support::new_submission("sub-broken");
        s.upstreams = vec!["fv".to_owned()];
        s.fachdaten = Some(b"<antrag/>".to_vec());
        poststelle::store::Store::store_submission(
            &t.store,
            s,
            poststelle::store::Timestamp::now(),
        )
        .await
        .expect("store");
        let f = f.with_documents(Arc::new(Pages(None)));
        assert_eq!(f.deliver_due_once().await.expect("round").delivered, 1);
        assert!(
            !sink
                .received()
                .iter()
                .any(|r| r.path.contains("sub-broken")),
            "no document PUT"
        );
    })
    .await;
}
