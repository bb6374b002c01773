//! Issue 13, scope 3: upstreams and retries as `serve`'s configuration file sets them — read by
//! `GatewayConfig::from_toml` and turned into the forwarder by the functions `serve` uses
//! (`UpstreamSpec::configured`, `ForwardPolicy::configured`), not by hand-built structs.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use poststelle::config::gateway::GatewayConfig;
use poststelle::forward::{ForwardPolicy, Forwarder, RouteTable, UpstreamSpec};
use poststelle::store::{AnyStore, JobState};

use crate::forward_mtls::{Pki, mtls_sink, write};
use crate::forward_support::{Sink, SinkMode, TestStore, jobs_in, pem, store_submission};

/// The forwarder `serve` builds from `text` (paths relative to `base`), every upstream a
/// default route.
fn forwarder(store: &AnyStore, text: &str, base: &Path) -> Forwarder<AnyStore> {
    let config = GatewayConfig::from_toml(text, base).expect("valid configuration");
    let specs: Vec<UpstreamSpec> = config
        .upstreams
        .iter()
        .map(UpstreamSpec::configured)
        .collect();
    let names = specs.iter().map(|s| s.name.clone()).collect();
    let table = RouteTable::new(specs, Vec::new(), names).expect("route table");
    Forwarder::new(
        store.clone(),
        Arc::new(table),
        ForwardPolicy::configured(&config),
    )
    .expect("forwarder")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mtls_upstream_from_the_file_gets_the_delivery_and_one_without_a_client_cert_does_not() {
    let t = TestStore::sqlite().await;
    let pki = Pki::new();
    let (addr, keys) = mtls_sink(&pki).await;
    let dir = t.dir.path();
    std::fs::create_dir_all(dir.join("tls")).expect("tls dir");
    write(dir, "tls/ca.pem", &pem("CERTIFICATE", pki.ca.der()));
    let (cert, key) = pki.leaf("gateway.example");
    write(dir, "tls/gw.pem", &pem("CERTIFICATE", &cert));
    write(dir, "tls/gw.key", &pem("PRIVATE KEY", &key));
    let url = format!("https://127.0.0.1:{}/in", addr.port());
    let text = format!(
        r#"
        [forwarding]
        max_attempts = 2
        backoff_base_ms = 1
        backoff_cap_secs = 1
        [[upstream]]
        name = "mtls"
        url = "{url}"
        ca_file = "tls/ca.pem"
        client_cert = "tls/gw.pem"
        client_key = "tls/gw.key"
        timeout_secs = 10
        connect_timeout_secs = 5
        [[upstream]]
        name = "no-cert"
        url = "{url}"
        ca_file = "tls/ca.pem"
        "#
    );
    let fwd = forwarder(&t.store, &text, dir);
    store_submission(&t.store, "sub-1", &["mtls", "no-cert"], vec![]).await;

    let first = fwd.deliver_due_once().await.expect("round");
    assert_eq!((first.delivered, first.retried), (1, 1), "{first:?}");
    assert_eq!(*keys.lock().expect("keys"), ["sub-1"]);
    // The refused job is not lost: retried, then (max_attempts = 2) a dead letter.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = fwd.deliver_due_once().await.expect("round");
    assert_eq!(second.dead_lettered, 1, "{second:?}");
    let dead = jobs_in(&t.store, Some(JobState::Dead)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].upstream.as_str(), dead[0].attempts),
        ("no-cert", 2)
    );
    let delivered = jobs_in(&t.store, Some(JobState::Delivered)).await;
    assert_eq!(delivered.len(), 1);
    assert_eq!(delivered[0].upstream, "mtls");
    assert_eq!(*keys.lock().expect("keys"), ["sub-1"], "no second delivery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_upstream_dead_letters_after_the_configured_max_attempts() {
    let t = TestStore::sqlite().await;
    let sink = Sink::start().await;
    sink.set(SinkMode {
        status: 503,
        ..SinkMode::default()
    });
    let text = format!(
        "[forwarding]\nmax_attempts = 3\nbackoff_base_ms = 1\nbackoff_cap_secs = 1\n\
         [[upstream]]\nname = \"fv\"\nurl = {:?}\nattachments = false\n\
         [dangerous]\nallow_plain_http = true\n",
        sink.url("/in")
    );
    let fwd = forwarder(&t.store, &text, t.dir.path());
    store_submission(&t.store, "sub-503", &["fv"], vec![("a1", b"%PDF".to_vec())]).await;
    let mut rounds = Vec::new();
    for _ in 0..50 {
        let r = fwd.deliver_due_once().await.expect("round");
        if r.claimed > 0 {
            rounds.push((r.retried, r.dead_lettered));
        }
        if r.dead_lettered > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rounds, [(1, 0), (1, 0), (0, 1)]);
    let dead = jobs_in(&t.store, Some(JobState::Dead)).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].last_error.as_deref(), Some("http-503"));
    // `attachments = false`: only the envelope was posted, three times.
    let received = sink.received();
    assert_eq!(received.len(), 3, "{received:?}");
    assert!(received.iter().all(|r| r.method == "POST"), "{received:?}");
    sink.stop();
}
