//! Output into a closed pipe (`poststelle … | head`): every command that prints a lot ends
//! quietly, killed by SIGPIPE like `cat` (141 in a shell) or done (0), never with a panic or an
//! I/O error message (issue 13, defects found when tried as a new user would).

use std::os::unix::process::ExitStatusExt as _;
use std::process::{Command, Stdio};

use poststelle::store::{AnyStore, SqliteStore};

use crate::xoev_support::{repo, shared};

/// Runs `poststelle args…` in the repository with stdout a pipe whose reading end is already
/// closed, so the first write fails; returns a description of how it ended and its stderr.
fn into_closed_pipe(args: &[&str]) -> (std::process::ExitStatus, String) {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("POSTSTELLE_SHARED", shared())
        .env_remove("POSTSTELLE_PACKS")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("poststelle runs");
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_stdout_pipe_ends_quietly_for_every_printing_command() {
    let dir = tempfile::tempdir().expect("tmp");
    let example = repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml");
    let xml = std::fs::read_to_string(&example).expect("example");
    let invalid = dir.path().join("invalid.xml");
    std::fs::write(
        &invalid,
        xml.replace("<xga:familienname>", "<xga:x/><xga:familienname>"),
    )
    .expect("write");
    let db = dir.path().join("gateway.db");
    let store = AnyStore::Sqlite(SqliteStore::open(&db).await.expect("store"));
    crate::forward_support::store_submission(&store, "sub-pipe", &["fv"], vec![]).await;
    let address = format!("sqlite:{}", db.display());
    let (example, invalid) = (example.display().to_string(), invalid.display().to_string());
    let key = repo("tests/it/data/jose/TEST-ONLY-enc.private.jwk.json")
        .display()
        .to_string();
    let commands: Vec<Vec<&str>> = vec![
        vec!["validate", &invalid],
        vec!["validate", "--json", &example, &invalid],
        vec!["transform", &example],
        vec!["render", &example],
        vec!["vectors", "verify", "test-vectors"],
        vec![
            "schemas",
            "json-schema",
            "xgewerbeanzeige-2.2",
            "sta.gewerbemeldung.0100",
        ],
        vec!["schemas", "list"],
        vec!["queue", "list", "--store", &address],
        vec!["keys", "check", &key],
        vec!["--help"],
    ];
    for args in commands {
        let (status, stderr) = into_closed_pipe(&args);
        assert!(
            status.success() || status.signal() == Some(13),
            "{args:?}: ended with {status:?}: {stderr}"
        );
        for noise in ["panicked", "Broken pipe", "failed printing"] {
            assert!(!stderr.contains(noise), "{args:?}: {stderr}");
        }
    }
}
