//! Issue 6, acceptance 3: the upstream is down for a while, submissions wait and retry, then
//! all arrive; beyond the retry budget they land in dead letters and `queue redrive` delivers
//! them.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::forward_support::{
    Sink, SinkMode, TestStore, jobs_in, on_both_backends, spawn_worker, store_submission,
};
use poststelle::forward::{ForwardPolicy, Forwarder, HttpUpstream, RouteTable, UpstreamSpec};
use poststelle::store::{AnyStore, JobState, RetryPolicy};

const N: usize = 20;

fn forwarder(t: &TestStore, url: String, max_attempts: u32) -> Forwarder<AnyStore> {
    let table = RouteTable::single(UpstreamSpec::http("fv", HttpUpstream::new(url)));
    let policy = ForwardPolicy {
        retry: RetryPolicy {
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(200),
            max_attempts,
            max_age: Duration::from_secs(600),
        },
        concurrency: 4,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_millis(25),
        ..ForwardPolicy::default()
    };
    Forwarder::new(t.store.clone(), Arc::new(table), policy).expect("forwarder")
}

async fn count(store: &AnyStore, state: JobState) -> usize {
    jobs_in(store, Some(state)).await.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outage_then_recovery_delivers_everything() {
    on_both_backends(|t| async move {
        // The upstream's port, with nobody listening yet: connections are refused.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port");
        for i in 0..N {
            store_submission(&t.store, &format!("sub-out-{i:02}"), &["fv"], vec![]).await;
        }
        let f = forwarder(&t, format!("http://{addr}/in"), 1000);
        let (stop, worker) = spawn_worker(&f);
        // Down for a while: every submission is attempted and waits for its retry.
        crate::forward_support::eventually(Duration::from_secs(20), "retries while down", || {
            f.metrics().count("retries", "fv") >= 2 * N as u64
        })
        .await;
        assert_eq!(count(&t.store, JobState::Delivered).await, 0);
        // Back up (first answering 503, then healthy).
        let sink = Sink::start_on(addr).await;
        sink.set(SinkMode {
            status: 503,
            ..SinkMode::default()
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        sink.set(SinkMode::default());
        crate::forward_support::eventually(Duration::from_secs(20), "all delivered", || {
            sink.delivered_keys().len() == N
        })
        .await;
        let _ = stop.send(());
        let report = worker.await.expect("worker");
        assert_eq!(report.delivered, N, "{}: {report:?}", t.backend());
        assert_eq!(count(&t.store, JobState::Delivered).await, N);
        assert_eq!(count(&t.store, JobState::Dead).await, 0);
        let expected: std::collections::BTreeSet<String> =
            (0..N).map(|i| format!("sub-out-{i:02}")).collect();
        assert_eq!(sink.delivered_keys(), expected);
        sink.stop();
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_budget_dead_letters_then_cli_redrive_delivers() {
    on_both_backends(|t| async move {
        let sink = Sink::start().await;
        sink.set(SinkMode {
            status: 502,
            ..SinkMode::default()
        });
        for i in 0..5 {
            store_submission(&t.store, &format!("sub-dl-{i}"), &["fv"], vec![]).await;
        }
        let f = forwarder(&t, sink.url("/in"), 3);
        let (stop, worker) = spawn_worker(&f);
        // The metric is counted after the store recorded the outcome: wait on it, then check
        // the store.
        crate::forward_support::eventually(Duration::from_secs(20), "dead letters", || {
            f.metrics().count("dead_letters", "fv") == 5
        })
        .await;
        assert_eq!(count(&t.store, JobState::Dead).await, 5);
        assert_eq!(
            f.metrics().count("retries", "fv"),
            10,
            "2 retries each, then dead"
        );
        let attempts = sink.received().len();
        assert_eq!(attempts, 15, "3 attempts each");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            sink.received().len(),
            attempts,
            "dead letters are not retried"
        );

        sink.set(SinkMode::default());
        let out = Command::new(env!("CARGO_BIN_EXE_poststelle"))
            .args(["queue", "redrive", "--all", "--store", &t.address])
            .output()
            .expect("run queue redrive");
        assert!(
            out.status.success(),
            "{}: {}",
            t.backend(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "re-driven: 5\n");
        crate::forward_support::eventually(Duration::from_secs(20), "redriven delivered", || {
            sink.delivered_keys().len() == 5
        })
        .await;
        let _ = stop.send(());
        worker.await.expect("worker");
        assert_eq!(count(&t.store, JobState::Delivered).await, 5);
        assert_eq!(count(&t.store, JobState::Dead).await, 0);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_deliveries() {
    let t = TestStore::sqlite().await;
    let sink = Sink::start().await;
    sink.set(SinkMode {
        delay: Duration::from_millis(500),
        ..SinkMode::default()
    });
    store_submission(&t.store, "sub-inflight", &["fv"], vec![]).await;
    let f = forwarder(&t, sink.url("/in"), 5);
    let (stop, worker) = spawn_worker(&f);
    // Stop while the delivery waits for the slow upstream.
    tokio::time::sleep(Duration::from_millis(150)).await;
    let _ = stop.send(());
    let report = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .expect("stops")
        .expect("worker");
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(count(&t.store, JobState::Delivered).await, 1);
}
