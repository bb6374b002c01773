//! `poststelle queue` as an operator uses it (issue 13, defects found when tried as a new user
//! would): it inspects a store without changing it, lines its table up, explains an empty
//! re-drive and names a missing PostgreSQL database. On SQLite and, when
//! `POSTSTELLE_TEST_DATABASE_URL` is set, on PostgreSQL.

use std::process::{Command, Output};

use poststelle::store::{Access, AnyStore, FailAction, SqliteStore, Store, StoreError, Timestamp};

use crate::forward_support::{on_both_backends, store_submission};

fn queue(args: &[&str], address: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .arg("queue")
        .args(args)
        .args(["--store", address])
        .output()
        .expect("poststelle queue runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Before, an upstream name longer than 16 characters (or a longer error) pushed every later
/// column of its row out of line with the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_list_columns_are_aligned_for_long_upstream_names() {
    on_both_backends(|t| async move {
        let long = "fachverfahren-gewerbe-landkreis-nord";
        store_submission(&t.store, "sub-aligned", &[long, "bau"], vec![]).await;
        let out = queue(&["list"], &t.address);
        assert!(out.status.success(), "{}", stderr(&out));
        let text = stdout(&out);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let column = |line: &str, needle: &str| line.find(needle).expect(needle);
        let submission = column(lines[0], "submission");
        let next = column(lines[0], "next / finished");
        for line in &lines[1..] {
            assert_eq!(column(line, "sub-aligned"), submission, "{text}");
            // The due time is RFC 3339 (starts with the century).
            assert_eq!(column(line, " 20") + 1, next, "{text}");
        }
        assert!(lines[1..].iter().any(|l| l.contains(long)), "{text}");
    })
    .await;
}

/// Before, `queue redrive` printed `re-driven: 0` and nothing else: now it says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_redrive_says_why_nothing_was_redriven() {
    on_both_backends(|t| async move {
        let out = queue(&["redrive", "--all"], &t.address);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stdout(&out).starts_with("re-driven: 0: there are no dead letters"),
            "{}",
            stdout(&out)
        );
        store_submission(&t.store, "sub-pending", &["fv"], vec![]).await;
        let jobs = t
            .store
            .claim_jobs("w", Timestamp::now(), std::time::Duration::from_secs(30), 1)
            .await
            .expect("claim");
        let id = jobs[0].job_id.to_string();
        let out = queue(&["redrive", &id], &t.address);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(&format!("job {id} is not a dead letter")),
            "{}",
            stdout(&out)
        );
        t.store
            .fail_job(
                jobs[0].job_id,
                "w",
                FailAction::DeadLetter,
                "http-400",
                Timestamp::now(),
            )
            .await
            .expect("dead-letter");
        let out = queue(&["redrive", &id], &t.address);
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), "re-driven: 1\n");
    })
    .await;
}

/// Before, `queue` opened the store like the gateway: it created the tables in an empty
/// database and migrated an old one. Now it opens it read-only (re-drive: read-write without
/// migrating) and refuses a store that is not at this binary's schema version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_opens_the_store_read_only_and_never_creates_tables() {
    let dir = tempfile::tempdir().expect("tmp");
    // An empty SQLite database (a typo'd path someone created, another program's file).
    let empty = dir.path().join("empty.db");
    drop(rusqlite::Connection::open(&empty).expect("create"));
    rusqlite::Connection::open(&empty)
        .and_then(|c| c.execute_batch("CREATE TABLE other (x INTEGER)"))
        .expect("a table of someone else");
    let address = format!("sqlite:{}", empty.display());
    for args in [&["list"][..], &["dead-letters"], &["redrive", "--all"]] {
        let out = queue(args, &address);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&out).contains("not a poststelle store"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
    let tables: Vec<String> = {
        let c = rusqlite::Connection::open(&empty).expect("open");
        let mut stmt = c
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
            .expect("prepare");
        stmt.query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows")
    };
    assert_eq!(tables, ["other"], "no table created");
    assert!(
        !dir.path().join("empty.db.blobs").exists(),
        "no blob directory created"
    );

    // A store of the current version opened read-only refuses writes.
    let path = dir.path().join("gateway.db");
    drop(SqliteStore::open(&path).await.expect("a gateway store"));
    let ro = AnyStore::open_existing(&format!("sqlite:{}", path.display()), Access::ReadOnly)
        .await
        .expect("read-only open");
    assert!(
        ro.list_jobs(poststelle::store::JobFilter {
            state: None,
            limit: 1
        })
        .await
        .is_ok()
    );
    assert!(
        ro.record_seen("sub-x", Timestamp::now()).await.is_err(),
        "a read-only store writes nothing"
    );

    // A store of an older schema version is not migrated by inspecting it.
    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)
        .and_then(|c| {
            c.execute_batch(
                "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL);
                 INSERT INTO schema_migrations VALUES (1, 'initial', 0);",
            )
        })
        .expect("old store");
    let out = queue(&["list"], &format!("sqlite:{}", old.display()));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("older than this binary's"),
        "{}",
        stderr(&out)
    );
    let missing = dir.path().join("missing.db");
    let out = queue(&["list"], &format!("sqlite:{}", missing.display()));
    assert_eq!(out.status.code(), Some(2));
    assert!(!missing.exists(), "no database created");
}

/// Before, a store address naming a database the server does not have gave "postgres pool:
/// Error occurred while creating a new object: db error".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_postgres_database_is_named_in_a_clear_message() {
    let Ok(url) = std::env::var("POSTSTELLE_TEST_DATABASE_URL") else {
        eprintln!("POSTSTELLE_TEST_DATABASE_URL not set: PostgreSQL variant skipped");
        return;
    };
    let name = format!(
        "poststelle_absent_{:08x}",
        getrandom::u32().expect("random")
    );
    let (base, _) = url.rsplit_once('/').expect("a database in the URL");
    let address = format!("{base}/{name}");
    for result in [
        AnyStore::open_existing(&address, Access::ReadOnly).await,
        AnyStore::open(&address).await,
    ] {
        match result {
            Err(e @ StoreError::NoDatabase { .. }) => {
                let text = e.to_string();
                assert!(
                    text.contains(&name) && text.contains("does not exist"),
                    "{text}"
                );
            }
            other => panic!("expected NoDatabase, got {other:?}"),
        }
    }
    let out = queue(&["list"], &address);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(&format!("PostgreSQL database \"{name}\" does not exist")),
        "{}",
        stderr(&out)
    );
}

/// Issue 13, scope 5: `queue purge` drops the payload of submissions delivered longer ago
/// than the retention (a dry run first lists them), `queue show` says so and still shows the
/// evidence; undelivered submissions keep theirs; a second purge purges nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_purge_drops_old_payloads_and_show_says_purged() {
    on_both_backends(|t| async move {
        store_submission(&t.store, "sub-old", &["fv"], vec![("a1", vec![7; 100])]).await;
        store_submission(&t.store, "sub-new", &["fv"], vec![]).await;
        store_submission(&t.store, "sub-waiting", &["fv"], vec![]).await;
        let now = Timestamp::now();
        let days_ago = |d: i64| Timestamp(now.0 - d * 86_400_000);
        for id in ["sub-old", "sub-new", "sub-waiting"] {
            t.store.mark_acknowledged(id, now, None).await.expect("ack");
        }
        let jobs = t
            .store
            .claim_jobs("w", now, std::time::Duration::from_secs(30), 10)
            .await
            .expect("claim");
        for job in &jobs {
            match job.submission_id.as_str() {
                "sub-old" => t.store.complete_job(job.job_id, days_ago(31)).await,
                "sub-new" => t.store.complete_job(job.job_id, days_ago(2)).await,
                _ => continue,
            }
            .expect("complete");
        }

        let out = queue(&["purge", "--dry-run"], &t.address);
        assert!(out.status.success(), "{}: {}", t.backend(), stderr(&out));
        assert_eq!(
            stdout(&out),
            "sub-old\nwould purge: 1 (delivered more than 30 days ago; dry run, nothing changed)\n"
        );
        let out = queue(&["show", "sub-old"], &t.address);
        assert!(
            stdout(&out).contains("payload     kept\n"),
            "{}",
            stdout(&out)
        );

        let out = queue(&["purge"], &t.address);
        assert!(out.status.success(), "{}: {}", t.backend(), stderr(&out));
        assert!(
            stdout(&out).starts_with("sub-old\npurged: 1 "),
            "{}",
            stdout(&out)
        );
        let out = queue(&["show", "sub-old"], &t.address);
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l.starts_with("payload     purged 20"))
            .unwrap_or_else(|| panic!("no purged line: {text}"));
        assert!(line.ends_with('Z'), "RFC 3339 in UTC: {line}");
        for evidence in [
            "decision    accepted",
            "received    20",
            "attachment  a1 application/pdf 100 bytes sha256:",
        ] {
            assert!(text.contains(evidence), "{evidence}: {text}");
        }
        assert!(
            t.store
                .export_attachment("sub-old", "a1", &t.path("export"))
                .await
                .is_err(),
            "the content is gone"
        );

        // Younger than the retention, or not delivered: kept. Then with a shorter retention.
        let out = queue(&["purge"], &t.address);
        assert_eq!(
            stdout(&out),
            "purged: 0 (0 blob file(s) removed, content of 0 finished reply/replies)\n"
        );
        let out = queue(&["purge", "--older-than", "1"], &t.address);
        assert!(
            stdout(&out).starts_with("sub-new\npurged: 1 "),
            "{}",
            stdout(&out)
        );
        let out = queue(&["show", "sub-waiting"], &t.address);
        assert!(
            stdout(&out).contains("payload     kept\n"),
            "{}",
            stdout(&out)
        );
        // Zero days would purge at delivery: not what `--older-than` is for.
        let out = queue(&["purge", "--older-than", "0"], &t.address);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    })
    .await;
}

/// Issue 13, scope 5: the PostgreSQL password comes from `--password-file` (or
/// `POSTSTELLE_STORE_PASSWORD`), one source at a time, and is never printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_takes_the_store_password_from_a_file_and_never_prints_it() {
    const SECRET: &str = "s3cr3t-never-shown";
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("pg-password");
    std::fs::write(&file, format!("{SECRET}\n")).expect("write");
    let file = file.display().to_string();
    let run = |args: &[&str], address: &str, env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_poststelle"));
        cmd.arg("queue").args(args).args(["--store", address]);
        cmd.env_remove("POSTSTELLE_STORE_PASSWORD");
        if let Some(v) = env {
            cmd.env("POSTSTELLE_STORE_PASSWORD", v);
        }
        cmd.output().expect("poststelle queue runs")
    };
    let refused = [
        run(&["--password-file", &file, "list"], "sqlite:x.db", None),
        run(
            &["--password-file", &file, "list"],
            &format!("postgres://gw:{SECRET}@127.0.0.1:1/x"),
            None,
        ),
        run(
            &["--password-file", &file, "list"],
            "postgres://gw@127.0.0.1:1/x",
            Some(SECRET),
        ),
        run(
            &["--password-file", "/nonexistent/pg-password", "list"],
            "postgres://gw@127.0.0.1:1/x",
            None,
        ),
    ];
    for out in &refused {
        assert_eq!(out.status.code(), Some(64), "{}", stderr(out));
        assert!(!stderr(out).contains(SECRET), "{}", stderr(out));
        assert!(!stdout(out).contains(SECRET), "{}", stdout(out));
    }
    assert!(stderr(&refused[3]).contains("/nonexistent/pg-password"));
    // A server that is not there: the error names the failure, not the password.
    let out = run(
        &["--password-file", &file, "list"],
        "postgres://gw@127.0.0.1:1/x",
        None,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(!stderr(&out).contains(SECRET), "{}", stderr(&out));

    let Ok(url) = std::env::var("POSTSTELLE_TEST_DATABASE_URL") else {
        eprintln!("POSTSTELLE_TEST_DATABASE_URL not set: PostgreSQL variant skipped");
        return;
    };
    // The test server trusts local connections, so any password is accepted: this shows the
    // file is read and passed without breaking the connection (that the password reaches the
    // connection is `store::postgres`'s unit test).
    let schema = format!("poststelle_pw_{:016x}", getrandom::u64().expect("random"));
    drop(
        poststelle::store::PgStore::connect(&url, Some(&schema))
            .await
            .expect("a store"),
    );
    let sep = if url.contains('?') { '&' } else { '?' };
    let address = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let via_file = run(&["--password-file", &file, "list"], &address, None);
    let via_env = run(&["list"], &address, Some(SECRET));
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    let _ = client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await;
    for out in [via_file, via_env] {
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(stdout(&out).starts_with("job"), "{}", stdout(&out));
    }
}
