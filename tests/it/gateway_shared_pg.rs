//! Issue 6, acceptance 4: two gateway instances on one PostgreSQL database share the load of
//! one destination without forwarding any submission twice.
//!
//! 40 submissions go through the real sandbox. Both instances are told about every one of
//! them, in opposite orders — as if every callback reached both — so they race for the same
//! ids; both forwarders then work the one outbox. Afterwards the upstream has seen 40 distinct
//! Idempotency-Keys, each exactly once; each case's event log at the sandbox holds exactly
//! one accept-submission; and both instances decided and delivered some of the 40.
//!
//! Runs when `POSTSTELLE_TEST_DATABASE_URL` is set (each run in a fresh schema, dropped
//! afterwards); skipped with a note otherwise.

use std::collections::BTreeSet;
use std::time::Duration;

use poststelle::pipeline::Outcome;
use poststelle::store::AnyStore;

use crate::forward_support::{Sink, SinkMode, TEST_TIMEOUT, TestStore, eventually, spawn_worker};
use crate::gateway_e2e::{Posted, Sent, decisions, envelopes, gateway, send_draft};
use crate::pipeline_fixture::{Draft, xgewerbeanzeige};
use crate::sandbox_support::start;

const N: usize = 40;

fn want_ids(sent: &[Sent]) -> Vec<String> {
    sent.iter().map(|s| s.submission_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_database_forward_each_submission_once() {
    let Some(shared) = TestStore::postgres().await else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        // The second instance reaches the same schema through the address an operator
        // would configure.
        let second = AnyStore::open(&shared.address)
            .await
            .expect("second instance opens the database");
        let env = start().await;
        let sink = Sink::start().await;
        // A little latency spreads the deliveries over both forwarders.
        sink.set(SinkMode {
            delay: Duration::from_millis(20),
            ..SinkMode::default()
        });
        let a = gateway(&env, shared.store.clone(), &sink);
        let b = gateway(&env, second, &sink);

        let token = env.sender().await;
        let mut sent = Vec::new();
        for i in 0..N {
            let d = Draft::new(&xgewerbeanzeige(), i % 2);
            sent.push(send_draft(&env, &token, &d).await.0);
        }
        let ids = want_ids(&sent);
        let reversed: Vec<String> = ids.iter().rev().cloned().collect();
        let (ra, rb) = tokio::join!(
            a.pipeline.process_all(ids),
            b.pipeline.process_all(reversed)
        );
        assert_eq!((ra.len(), rb.len()), (N, N), "every id came to an outcome");
        a.pipeline.flush_acks().await.expect("flush a");
        b.pipeline.flush_acks().await.expect("flush b");
        let (ca, cb) = (a.pipeline.counts(), b.pipeline.counts());
        assert_eq!(ca.accepted + cb.accepted, N as u64, "{ca:?} {cb:?}");
        assert!(
            ca.accepted > 0 && cb.accepted > 0,
            "both decided: {ca:?} {cb:?}"
        );

        // Told again (a callback repeated, a restart): nothing is stored or queued twice.
        let again = a.pipeline.process_all(want_ids(&sent)).await;
        assert!(
            again.iter().all(|(_, o)| *o == Outcome::AlreadyStored),
            "{again:?}"
        );

        let (stop_a, worker_a) = spawn_worker(&a.forwarder);
        let (stop_b, worker_b) = spawn_worker(&b.forwarder);
        eventually(Duration::from_secs(30), "40 deliveries", || {
            envelopes(&sink).len() == N
        })
        .await;
        // Let a late duplicate show up, if there were one.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let _ = (stop_a.send(()), stop_b.send(()));
        let (fa, fb) = (
            worker_a.await.expect("worker a"),
            worker_b.await.expect("worker b"),
        );

        let delivered = envelopes(&sink);
        let want: BTreeSet<String> = want_ids(&sent).into_iter().collect();
        assert_eq!(delivered.keys().cloned().collect::<BTreeSet<_>>(), want);
        let twice: Vec<&String> = delivered
            .iter()
            .filter(|(_, posts)| posts.len() != 1)
            .map(|(k, _)| k)
            .collect();
        assert!(twice.is_empty(), "forwarded more than once: {twice:?}");
        assert_eq!(fa.delivered + fb.delivered, N, "{fa:?} {fb:?}");
        assert!(
            fa.delivered > 0 && fb.delivered > 0,
            "both forwarded: {fa:?} {fb:?}"
        );
        for s in &sent {
            let posted = decisions(&env, s).await;
            assert!(
                matches!(posted.as_slice(), [Posted::Accept(_)]),
                "{}: {posted:?}",
                s.submission_id
            );
        }
        eprintln!(
            "two instances: decided {}/{}, acknowledged {}/{}, forwarded {}/{}",
            ca.accepted, cb.accepted, ca.acknowledged, cb.acknowledged, fa.delivered, fb.delivered
        );
        sink.stop();
        env.sandbox.shutdown().await;
    })
    .await
    .expect("test timed out");
}
