//! Issue 13, scope 5: the files that hold personal data — the SQLite database with its WAL,
//! blob and lock files, attachment exports, the spool and a file-drop outbox — are created
//! 0600 (directories 0700) even under a umask that would widen them (a service manager's
//! `UMask=0022`, a library resetting it). The umask is process-wide, so the creating runs in a
//! child process of this test binary ([`private_files_child`]) and the parent checks the modes.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::Arc;

use poststelle::forward::{
    FileDropUpstream, ForwardPolicy, Forwarder, Route, RouteMatch, RouteTable, UpstreamSpec,
};
use poststelle::store::{AnyStore, SqliteStore, Store};

use crate::forward_support::store_submission;

const DIR_ENV: &str = "POSTSTELLE_PRIVATE_FILES_DIR";

/// The child: umask 022, then everything the gateway creates on disk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of files_holding_personal_data_are_private_under_umask_022"]
async fn private_files_child() {
    let Ok(dir) = std::env::var(DIR_ENV) else {
        return;
    };
    let dir = Path::new(&dir);
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
    let store = AnyStore::Sqlite(
        SqliteStore::open(dir.join("data").join("poststelle.db"))
            .await
            .expect("open"),
    );
    store_submission(&store, "sub-private", &["drop"], vec![("a1", vec![1; 64])]).await;
    assert!(store.try_acquire_poller().await.expect("poller lock"));
    store
        .export_attachment("sub-private", "a1", &dir.join("data").join("export"))
        .await
        .expect("export");
    poststelle::pipeline::spool::prepare_spool_dir(&dir.join("data").join("spool")).expect("spool");
    let table = RouteTable::new(
        vec![UpstreamSpec::file_drop(
            "drop",
            FileDropUpstream::new(dir.join("outbox")),
        )],
        vec![Route {
            when: RouteMatch::default(),
            to: vec!["drop".to_owned()],
        }],
        vec![],
    )
    .expect("table");
    let f = Forwarder::new(store.clone(), Arc::new(table), ForwardPolicy::default())
        .expect("forwarder");
    f.deliver_due_once().await.expect("deliver");
    assert!(dir.join("outbox/sub-private/envelope.json").is_file());
    // SQLite removes its -wal and -shm files when the last connection closes: a hard link
    // keeps each inode (and its mode) for the parent to look at.
    for suffix in ["-wal", "-shm"] {
        let file = dir.join("data").join(format!("poststelle.db{suffix}"));
        std::fs::hard_link(&file, dir.join(format!("kept{suffix}"))).expect("link");
    }
}

/// Every entry below `dir`, with its mode bits.
fn modes(dir: &Path, out: &mut Vec<(String, bool, u32)>) {
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let entry = entry.expect("entry");
        let meta = entry.metadata().expect("metadata");
        out.push((
            entry.path().display().to_string(),
            meta.is_dir(),
            meta.permissions().mode() & 0o777,
        ));
        if meta.is_dir() {
            modes(&entry.path(), out);
        }
    }
}

#[test]
fn files_holding_personal_data_are_private_under_umask_022() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "private_files::private_files_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(DIR_ENV, dir.path())
        .output()
        .expect("child runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut found = Vec::new();
    modes(dir.path(), &mut found);
    let names: Vec<&str> = found.iter().map(|(p, ..)| p.as_str()).collect();
    for expected in [
        "data/poststelle.db",
        "kept-wal",
        "kept-shm",
        "data/poststelle.db.blobs/tmp",
        "data/poststelle.db.poller-lock",
        "data/export",
        "data/spool",
        "outbox/.tmp",
        "outbox/sub-private/attachments/a1",
    ] {
        assert!(
            names.iter().any(|n| n.ends_with(expected)),
            "{expected} not created: {names:#?}"
        );
    }
    assert!(
        found.iter().any(|(p, d, _)| !d && p.contains(".blobs/")),
        "a blob file: {names:#?}"
    );
    for (path, is_dir, mode) in &found {
        let want = if *is_dir { 0o700 } else { 0o600 };
        assert_eq!(*mode, want, "{path}: {mode:o}");
    }
}
