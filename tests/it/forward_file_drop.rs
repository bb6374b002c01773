//! File-drop upstreams: complete or invisible, once per submission id.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use poststelle::forward::{
    FileDropUpstream, ForwardPolicy, Forwarder, Route, RouteMatch, RouteTable, UpstreamSpec,
};
use poststelle::store::JobState;

use crate::forward_support::{envelope, jobs_in, on_both_backends, payload, store_submission};

const BIG: usize = 6 << 20;

/// Checks that a visible submission directory is complete; returns whether it was visible.
fn check_complete(dir: &Path, id: &str) -> bool {
    let sub = dir.join(id);
    if !sub.exists() {
        return false;
    }
    let env = std::fs::read(sub.join("envelope.json")).expect("envelope visible with the dir");
    assert_eq!(env, envelope(id).as_bytes());
    let big = std::fs::metadata(sub.join("attachments").join("att-big")).expect("big attachment");
    assert_eq!(big.len(), BIG as u64, "partial attachment visible");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_is_atomic_complete_and_once_per_id() {
    on_both_backends(|t| async move {
        let drop_dir = t.path("outbox");
        // Two upstreams on one directory: the same submission is delivered there twice.
        let table = RouteTable::new(
            vec![
                UpstreamSpec::file_drop("a", FileDropUpstream::new(&drop_dir)),
                UpstreamSpec::file_drop("b", FileDropUpstream::new(&drop_dir)),
            ],
            vec![Route {
                when: RouteMatch::default(),
                to: vec!["a".to_owned(), "b".to_owned()],
            }],
            vec![],
        )
        .expect("table");
        let f = Forwarder::new(
            t.store.clone(),
            Arc::new(table),
            ForwardPolicy {
                concurrency: 1,
                ..ForwardPolicy::default()
            },
        )
        .expect("forwarder");
        let small = payload(1000, 1);
        store_submission(
            &t.store,
            "sub-drop-1",
            &["a", "b"],
            vec![("att-big", payload(BIG, 7)), ("att-small", small.clone())],
        )
        .await;

        // A reader polling the directory while the delivery runs never sees a partial one.
        let done = Arc::new(AtomicBool::new(false));
        let watcher = {
            let (dir, done) = (drop_dir.clone(), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut looks = 0u32;
                while !done.load(Ordering::SeqCst) {
                    check_complete(&dir, "sub-drop-1");
                    looks += 1;
                    std::thread::sleep(Duration::from_millis(1));
                }
                looks
            })
        };
        let first = f.deliver_due_once().await.expect("round");
        let second = f.deliver_due_once().await.expect("round");
        done.store(true, Ordering::SeqCst);
        assert!(watcher.join().expect("watcher") > 0);
        assert_eq!(
            (first.delivered, second.delivered),
            (1, 1),
            "{}",
            t.backend()
        );

        assert!(check_complete(&drop_dir, "sub-drop-1"));
        let small_got = std::fs::read(drop_dir.join("sub-drop-1/attachments/att-small"))
            .expect("small attachment");
        assert_eq!(small_got, small);
        let big_got =
            std::fs::read(drop_dir.join("sub-drop-1/attachments/att-big")).expect("big attachment");
        assert_eq!(big_got, payload(BIG, 7));
        let mut names: Vec<String> = std::fs::read_dir(&drop_dir)
            .expect("read outbox")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".tmp", "sub-drop-1"],
            "one directory per submission"
        );
        assert_eq!(
            std::fs::read_dir(drop_dir.join(".tmp"))
                .expect("tmp")
                .count(),
            0,
            "no leftovers"
        );
        let jobs = jobs_in(&t.store, Some(JobState::Delivered)).await;
        assert_eq!(jobs.len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsafe_ids_are_dead_letters_not_paths() {
    let t = crate::forward_support::TestStore::sqlite().await;
    let drop_dir = t.path("outbox");
    let table = RouteTable::single(UpstreamSpec::file_drop(
        "a",
        FileDropUpstream::new(&drop_dir),
    ));
    let f = Forwarder::new(t.store.clone(), Arc::new(table), ForwardPolicy::default())
        .expect("forwarder");
    store_submission(&t.store, "..", &["a"], vec![]).await;
    store_submission(
        &t.store,
        "sub-ok",
        &["a"],
        vec![("../../escape", vec![1, 2])],
    )
    .await;
    let report = f.deliver_due_once().await.expect("round");
    assert_eq!(report.dead_lettered, 2, "{report:?}");
    let dead = jobs_in(&t.store, Some(JobState::Dead)).await;
    let mut kinds: Vec<_> = dead.iter().filter_map(|j| j.last_error.clone()).collect();
    kinds.sort();
    assert_eq!(kinds, ["unsafe-attachment-id", "unsafe-submission-id"]);
    assert!(!t.path("escape").exists());
    assert!(!drop_dir.join("sub-ok").exists());
}
