//! One store test suite, run against every backend: SQLite always, PostgreSQL when
//! `POSTSTELLE_TEST_DATABASE_URL` is set (each test in a fresh schema, dropped afterwards).

use std::collections::BTreeSet;
use std::future::Future;
use std::io::{self, Read};
use std::path::PathBuf;
use std::time::Duration;

use poststelle::fitconnect::problems::{Failure, Instance, Problem};
use poststelle::fitconnect::set::AuthenticationTags;
use poststelle::store::{
    AckDue, AckMark, AckPolicy, BlobSource, Completion, Decision, Evidence, FailAction,
    FailOutcome, JobFilter, JobState, NewAttachment, NewSubmission, PendingAck, PgStore, Redrive,
    RetryPolicy, Seen, SqliteStore, Store, StoreOutcome, Timestamp,
};

/// The decodable rows (a test that expects none undecodable).
fn ready(due: Vec<AckDue>) -> Vec<PendingAck> {
    due.into_iter()
        .map(|d| match d {
            AckDue::Ready(a) => a,
            AckDue::Undecodable {
                submission_id,
                what,
            } => {
                panic!("{submission_id}: undecodable {what}")
            }
        })
        .collect()
}

const T0: Timestamp = Timestamp(1_800_000_000_000);
const LEASE: Duration = Duration::from_secs(30);
/// Every test is bounded; a hang is a failure, not a stuck CI job.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);

/// A backend under test: the store plus a way to open a second instance on the same data.
trait Backend: Sized {
    type S: Store + poststelle::store::ReplyStore + Clone + 'static;
    fn store(&self) -> &Self::S;
    /// A new instance on the same database (a restart, or a second gateway).
    fn reopen(&self) -> impl Future<Output = Self::S> + Send;
    /// Environment that makes `sigkill_child` open this backend's database.
    fn child_env(&self) -> (&'static str, String);
    /// Runs raw SQL on the database (to damage a row on purpose).
    fn exec(&self, sql: &str) -> impl Future<Output = ()> + Send;
    /// Whether the content of an attachment is still held (SQLite: its blob file;
    /// PostgreSQL: its chunks), read behind the store's back.
    fn has_content(
        &self,
        submission_id: &str,
        attachment_id: &str,
    ) -> impl Future<Output = bool> + Send;
    /// The envelope column as stored, read behind the store's back.
    fn raw_envelope(&self, submission_id: &str) -> impl Future<Output = Option<String>> + Send;
    /// Whether a reply still holds content (XML or attachments), read behind the store's back.
    fn reply_content_held(&self, reply_id: &str) -> impl Future<Output = bool> + Send;
}

struct Sqlite {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: SqliteStore,
}

impl Sqlite {
    async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("data").join("poststelle.db");
        let store = SqliteStore::open(&path).await.expect("open sqlite");
        Self {
            _dir: dir,
            path,
            store,
        }
    }
}

impl Backend for Sqlite {
    type S = SqliteStore;
    fn store(&self) -> &SqliteStore {
        &self.store
    }
    async fn reopen(&self) -> SqliteStore {
        SqliteStore::open(&self.path).await.expect("reopen sqlite")
    }
    fn child_env(&self) -> (&'static str, String) {
        ("POSTSTELLE_STORE_CRASH_DB", self.path.display().to_string())
    }
    async fn exec(&self, sql: &str) {
        let conn = rusqlite::Connection::open(&self.path).expect("open sqlite");
        conn.execute_batch(sql).expect("raw sql");
    }
    async fn has_content(&self, submission_id: &str, attachment_id: &str) -> bool {
        let conn = rusqlite::Connection::open(&self.path).expect("open sqlite");
        let sha256: String = conn
            .query_row(
                "SELECT sha256 FROM attachments WHERE submission_id = ?1 AND attachment_id = ?2",
                [submission_id, attachment_id],
                |r| r.get(0),
            )
            .expect("attachment row");
        let mut blobs = self.path.as_os_str().to_owned();
        blobs.push(".blobs");
        PathBuf::from(blobs)
            .join(&sha256[..2])
            .join(&sha256)
            .is_file()
    }
    async fn raw_envelope(&self, submission_id: &str) -> Option<String> {
        let conn = rusqlite::Connection::open(&self.path).expect("open sqlite");
        conn.query_row(
            "SELECT envelope FROM submissions WHERE submission_id = ?1",
            [submission_id],
            |r| r.get(0),
        )
        .expect("submission row")
    }
    async fn reply_content_held(&self, reply_id: &str) -> bool {
        let conn = rusqlite::Connection::open(&self.path).expect("open sqlite");
        conn.query_row(
            "SELECT xml IS NOT NULL OR attachments IS NOT NULL FROM replies WHERE reply_id = ?1",
            [reply_id],
            |r| r.get(0),
        )
        .expect("reply row")
    }
}

struct Postgres {
    url: String,
    schema: String,
    store: PgStore,
}

impl Postgres {
    async fn new() -> Option<Self> {
        let Ok(url) = std::env::var("POSTSTELLE_TEST_DATABASE_URL") else {
            eprintln!("POSTSTELLE_TEST_DATABASE_URL not set: PostgreSQL store test skipped");
            return None;
        };
        let schema = format!(
            "poststelle_test_{:016x}",
            getrandom::u64().expect("random schema name")
        );
        let store = PgStore::connect(&url, Some(&schema))
            .await
            .expect("connect postgres");
        Some(Self { url, schema, store })
    }
}

impl Backend for Postgres {
    type S = PgStore;
    fn store(&self) -> &PgStore {
        &self.store
    }
    async fn reopen(&self) -> PgStore {
        PgStore::connect(&self.url, Some(&self.schema))
            .await
            .expect("reconnect postgres")
    }
    fn child_env(&self) -> (&'static str, String) {
        ("POSTSTELLE_STORE_CRASH_SCHEMA", self.schema.clone())
    }
    async fn exec(&self, sql: &str) {
        self.client()
            .await
            .batch_execute(sql)
            .await
            .expect("raw sql");
    }
    async fn has_content(&self, submission_id: &str, attachment_id: &str) -> bool {
        let n: i64 = self
            .query_one(
                "SELECT count(*) FROM attachment_chunks WHERE submission_id = $1 \
                 AND attachment_id = $2",
                &[&submission_id, &attachment_id],
            )
            .await
            .try_get(0)
            .expect("count");
        n > 0
    }
    async fn raw_envelope(&self, submission_id: &str) -> Option<String> {
        self.query_one(
            "SELECT envelope FROM submissions WHERE submission_id = $1",
            &[&submission_id],
        )
        .await
        .try_get(0)
        .expect("envelope")
    }
    async fn reply_content_held(&self, reply_id: &str) -> bool {
        self.query_one(
            "SELECT xml IS NOT NULL OR attachments IS NOT NULL FROM replies WHERE reply_id = $1",
            &[&reply_id],
        )
        .await
        .try_get(0)
        .expect("held")
    }
}

impl Postgres {
    async fn query_one(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> tokio_postgres::Row {
        self.client()
            .await
            .query_one(sql, params)
            .await
            .expect("raw query")
    }

    /// A connection of its own in the test's schema.
    async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("SET search_path TO {}", self.schema))
            .await
            .expect("search path");
        client
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Runs on panics too, on its own thread and runtime (we may be inside the test's).
        let (url, schema) = (self.url.clone(), self.schema.clone());
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

macro_rules! suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let b = super::Sqlite::new().await;
                    tokio::time::timeout(super::TEST_TIMEOUT, super::$name(&b))
                        .await
                        .expect("test timed out");
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(b) = super::Postgres::new().await else { return };
                    tokio::time::timeout(super::TEST_TIMEOUT, super::$name(&b))
                        .await
                        .expect("test timed out");
                }
            )*
        }
    };
}

suite!(
    migrations_are_versioned_and_idempotent,
    seen_and_store_are_idempotent,
    stored_submission_round_trips,
    failed_store_leaves_nothing_half_written,
    ack_after_store_is_recorded_once,
    ack_after_forward_waits_for_every_job,
    expired_lease_is_claimable_again,
    only_the_holder_extends_a_lease,
    retries_dead_letter_and_redrive,
    concurrent_claimers_get_disjoint_jobs,
    one_poller_at_a_time,
    metrics_count_states,
    state_survives_reopen,
    survives_sigkill,
    concurrent_stores_of_one_id_store_once,
    undecodable_decisions_are_never_acknowledged,
    retention_purges_payloads_and_keeps_evidence,
    console_counts_lists_and_keeps_fachdaten_until_purged,
    replies_are_stored_once_claimed_by_one_and_stepped_to_a_decision,
    finished_replies_lose_their_content_with_the_submission,
);

/// Retention of replies: when the submission's payload is purged, its finished replies lose
/// their content; one still being sent keeps it and loses it in the first purge run after it
/// finished (the submission is not due again then); a dead reply keeps it for a re-drive.
async fn finished_replies_lose_their_content_with_the_submission<B: Backend>(b: &B) {
    use poststelle::store::{NewReply, ReplyInsert, ReplyStep, ReplyStore};
    let s = b.store();
    stored(s, "sub-p", &[]).await;
    s.mark_acknowledged("sub-p", T0, None).await.expect("ack");
    let reply = |id: &str| NewReply {
        reply_id: id.to_owned(),
        submission_id: "sub-p".into(),
        destination_id: "dest-1".into(),
        upstream: "fv".into(),
        idempotency_key: None,
        message_type: "baugenehmigung.formellePruefung.0201".into(),
        schema_uri: "urn:x#y".into(),
        reply_key: "{}".into(),
        xml: b"<x/>".to_vec(),
        attachments: vec![],
    };
    for id in ["r-done", "r-late", "r-dead"] {
        assert!(matches!(
            s.insert_reply(reply(id), T0).await.expect("insert"),
            ReplyInsert::Inserted(_)
        ));
    }
    let claimed = s.claim_replies("w", T0, LEASE, 10).await.expect("claim");
    assert_eq!(claimed.len(), 3);
    let decided = ReplyStep::Decided {
        accepted: true,
        problems: None,
    };
    let dead = ReplyStep::Dead {
        error: "HTTP 422".into(),
    };
    assert!(
        s.advance_reply("r-done", "w", decided.clone(), T0)
            .await
            .expect("step")
    );
    assert!(
        s.advance_reply("r-dead", "w", dead, T0)
            .await
            .expect("step")
    );

    let later = Timestamp(T0.0 + 10);
    let report = s
        .purge_payloads(Timestamp(T0.0 + 1), later, false)
        .await
        .expect("purge");
    assert_eq!(report.submission_ids, ["sub-p"]);
    assert_eq!(report.replies_purged, 1);
    assert!(!b.reply_content_held("r-done").await, "finished: purged");
    assert!(b.reply_content_held("r-late").await, "still being sent");
    assert!(
        b.reply_content_held("r-dead").await,
        "dead: kept for a re-drive"
    );

    // r-late finishes after its submission was purged: the next run takes its content.
    assert!(
        s.advance_reply("r-late", "w", decided, later)
            .await
            .expect("step")
    );
    let report = s
        .purge_payloads(Timestamp(T0.0 + 1), Timestamp(T0.0 + 20), false)
        .await
        .expect("purge");
    assert!(report.submission_ids.is_empty(), "{report:?}");
    assert_eq!(report.replies_purged, 1);
    assert!(
        !b.reply_content_held("r-late").await,
        "purged in the next run"
    );
    assert!(b.reply_content_held("r-dead").await);
    // Nothing left: a further run purges nothing.
    let report = s
        .purge_payloads(Timestamp(T0.0 + 1), Timestamp(T0.0 + 30), false)
        .await
        .expect("purge");
    assert_eq!(report.replies_purged, 0);
    // The rows stay, with their decision.
    let v = s.reply("r-late").await.expect("read").expect("row stays");
    assert_eq!(v.state.as_str(), "done");
}

/// Replies (Rückkanal): the context a hand-in needs, the idempotent insert, a lease held by
/// one worker, each step recorded only by the lease holder, dead letters re-driven at their
/// phase.
async fn replies_are_stored_once_claimed_by_one_and_stepped_to_a_decision<B: Backend>(b: &B) {
    use poststelle::store::{
        NewReply, ReplyAttachment, ReplyInsert, ReplyPhase, ReplyStep, ReplyStore,
    };
    let s = b.store();
    assert_eq!(s.reply_context("sub-r").await.expect("context"), None);
    let mut sub = submission("sub-r", &["fv"], vec![]);
    sub.envelope = Some(r#"{"submission":{"id":"sub-r"},"metadata":{"replyChannel":{}}}"#.into());
    s.store_submission(sub, T0).await.expect("store");
    let ctx = s
        .reply_context("sub-r")
        .await
        .expect("context")
        .expect("stored");
    assert_eq!(ctx.decision, "accepted");
    assert_eq!(ctx.destination_id, "dest-1");
    assert_eq!(ctx.upstreams, ["fv"]);
    assert_eq!(ctx.metadata.as_deref(), Some(r#"{"replyChannel":{}}"#));
    let reply = |id: &str, key: Option<&str>| NewReply {
        reply_id: id.to_owned(),
        submission_id: "sub-r".into(),
        destination_id: "dest-1".into(),
        upstream: "fv".into(),
        idempotency_key: key.map(str::to_owned),
        message_type: "baugenehmigung.formellePruefung.0201".into(),
        schema_uri: "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.formellePruefung.0201".into(),
        reply_key: "{}".into(),
        xml: b"<x/>".to_vec(),
        attachments: vec![ReplyAttachment {
            id: "a-1".into(),
            filename: Some("bescheid.pdf".into()),
            media_type: "application/pdf".into(),
            content: "JVBERg==".into(),
        }],
    };
    let ReplyInsert::Inserted(first) = s
        .insert_reply(reply("r-1", Some("k")), T0)
        .await
        .expect("insert")
    else {
        panic!("a new reply is inserted");
    };
    assert_eq!(
        (first.phase, first.state.as_str()),
        (ReplyPhase::Queued, "pending")
    );
    // The same key from the same Fachverfahren: the stored reply, not a second one.
    let again = s
        .insert_reply(reply("r-2", Some("k")), T0)
        .await
        .expect("insert");
    assert_eq!(again, ReplyInsert::Existing(first.clone()));
    assert!(matches!(
        s.insert_reply(reply("r-3", None), T0)
            .await
            .expect("insert"),
        ReplyInsert::Inserted(_)
    ));
    assert_eq!(s.replies_of("sub-r").await.expect("list").len(), 2);

    // One worker holds both; a second gets nothing until the lease runs out.
    let claimed = s.claim_replies("w1", T0, LEASE, 10).await.expect("claim");
    assert_eq!(claimed.len(), 2);
    assert_eq!(
        claimed[0].attachments[0].filename.as_deref(),
        Some("bescheid.pdf")
    );
    assert_eq!(claimed[0].xml, b"<x/>");
    assert!(
        s.claim_replies("w2", T0, LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let created = ReplyStep::Created {
        fit_reply_id: "fit-1".into(),
    };
    assert!(
        !s.advance_reply("r-1", "w2", created.clone(), T0)
            .await
            .expect("step"),
        "only the lease holder records a step"
    );
    assert!(
        s.advance_reply("r-1", "w1", created, T0)
            .await
            .expect("step")
    );
    let view = s.reply("r-1").await.expect("read").expect("exists");
    assert_eq!(
        (view.phase, view.fit_reply_id.as_deref()),
        (ReplyPhase::Created, Some("fit-1"))
    );
    // Created is due at once; submitted, then waiting, then rejected with problems.
    let c = s
        .claim_replies("w1", Timestamp(T0.0 + 1), LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(
        c.iter().map(|r| r.reply_id.as_str()).collect::<Vec<_>>(),
        ["r-1"]
    );
    assert_eq!(c[0].attempts, 1);
    let next = Timestamp(T0.0 + 1_000);
    assert!(
        s.advance_reply(
            "r-1",
            "w1",
            ReplyStep::Submitted { next },
            Timestamp(T0.0 + 2)
        )
        .await
        .expect("step")
    );
    assert!(
        s.claim_replies("w1", Timestamp(T0.0 + 999), LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let c = s.claim_replies("w1", next, LEASE, 10).await.expect("claim");
    assert_eq!(c[0].phase, ReplyPhase::Submitted);
    assert_eq!(c[0].submitted_at, Some(Timestamp(T0.0 + 2)));
    let problems = r#"[{"type":"x"}]"#.to_owned();
    assert!(
        s.advance_reply(
            "r-1",
            "w1",
            ReplyStep::Decided {
                accepted: false,
                problems: Some(problems.clone())
            },
            next
        )
        .await
        .expect("step")
    );
    let view = s.reply("r-1").await.expect("read").expect("exists");
    assert_eq!(
        (view.phase, view.state.as_str()),
        (ReplyPhase::Rejected, "done")
    );
    assert_eq!(view.problems, Some(problems));

    // A dead reply is re-driven at its phase.
    let later = Timestamp(T0.0 + LEASE.as_millis() as i64 + 10);
    let c = s
        .claim_replies("w3", later, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(
        c.iter().map(|r| r.reply_id.as_str()).collect::<Vec<_>>(),
        ["r-3"],
        "the expired lease of r-3 is claimable again"
    );
    assert!(
        s.advance_reply(
            "r-3",
            "w3",
            ReplyStep::Dead {
                error: "HTTP 422".into()
            },
            later
        )
        .await
        .expect("step")
    );
    let dead = s.reply("r-3").await.expect("read").expect("exists");
    assert_eq!(
        (dead.phase, dead.state.as_str(), dead.last_error.as_deref()),
        (ReplyPhase::Queued, "dead", Some("HTTP 422"))
    );
    assert!(
        !s.redrive_reply("r-1", later).await.expect("redrive"),
        "a decided reply is not re-driven"
    );
    assert!(s.redrive_reply("r-3", later).await.expect("redrive"));
    let c = s
        .claim_replies("w3", later, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(
        (c[0].reply_id.as_str(), c[0].phase, c[0].attempts),
        ("r-3", ReplyPhase::Queued, 1)
    );
    // An incomplete reply the delivery service lost is created anew: back to queued.
    assert!(
        s.advance_reply(
            "r-3",
            "w3",
            ReplyStep::Created {
                fit_reply_id: "fit-3".into()
            },
            later
        )
        .await
        .expect("step")
    );
    let c = s
        .claim_replies("w3", later, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(c[0].phase, ReplyPhase::Created);
    assert!(
        s.advance_reply("r-3", "w3", ReplyStep::Recreate, later)
            .await
            .expect("step")
    );
    let again = s.reply("r-3").await.expect("read").expect("exists");
    assert_eq!(
        (again.phase, again.fit_reply_id),
        (ReplyPhase::Queued, None)
    );
    // Survives a reopen.
    let reopened = b.reopen().await;
    assert_eq!(reopened.replies_of("sub-r").await.expect("list").len(), 2);
}

/// The console's queries: counts since a time, the filtered and paged list, and the XML
/// Fachdaten for the case-worker document, gone once purged.
async fn console_counts_lists_and_keeps_fachdaten_until_purged<B: Backend>(b: &B) {
    use poststelle::store::SubmissionFilter;
    let s = b.store();
    let mut a = submission("sub-a", &[], vec![]);
    a.fachdaten = Some(b"<antrag/>".to_vec());
    s.record_seen("sub-a", T0).await.expect("seen");
    s.store_submission(a, T0).await.expect("store");
    let mut r = submission("sub-r", &[], vec![]);
    r.envelope = None;
    r.message_type = None;
    r.destination_id = "dest-2".to_owned();
    r.decision = Decision::Rejected {
        problems: problems(),
    };
    let later = Timestamp(T0.0 + 10_000);
    s.record_seen("sub-r", later).await.expect("seen");
    s.store_submission(r, later).await.expect("store");
    s.record_seen("sub-open", Timestamp(T0.0 + 20_000))
        .await
        .expect("seen");

    let counts = s.submission_counts(T0).await.expect("counts");
    assert_eq!(
        (counts.received, counts.accepted, counts.rejected),
        (3, 1, 1)
    );
    let counts = s.submission_counts(later).await.expect("counts");
    assert_eq!(
        (counts.received, counts.accepted, counts.rejected),
        (2, 0, 1)
    );

    let ids = |filter: SubmissionFilter| async move {
        s.list_submissions(filter)
            .await
            .expect("list")
            .into_iter()
            .map(|i| i.submission_id)
            .collect::<Vec<_>>()
    };
    let all = SubmissionFilter {
        limit: 10,
        ..SubmissionFilter::default()
    };
    assert_eq!(
        ids(all.clone()).await,
        ["sub-open", "sub-r", "sub-a"],
        "newest first"
    );
    let first = s.list_submissions(all.clone()).await.expect("list");
    assert_eq!(first[0].accepted, None);
    assert_eq!(first[1].accepted, Some(false));
    assert_eq!(first[2].accepted, Some(true));
    assert_eq!(
        first[2].message_type.as_deref(),
        Some("baugenehmigung.antrag.0200")
    );
    let with = |f: fn(&mut SubmissionFilter)| {
        let mut filter = all.clone();
        f(&mut filter);
        filter
    };
    assert_eq!(ids(with(|f| f.accepted = Some(false))).await, ["sub-r"]);
    assert_eq!(ids(with(|f| f.accepted = Some(true))).await, ["sub-a"]);
    assert_eq!(
        ids(with(
            |f| f.message_type = Some("baugenehmigung.antrag.0200".into())
        ))
        .await,
        ["sub-a"]
    );
    assert_eq!(
        ids(with(|f| f.destination_id = Some("dest-2".into()))).await,
        ["sub-r"]
    );
    assert_eq!(
        ids(with(|f| {
            f.since = Some(Timestamp(T0.0 + 1));
            f.until = Some(Timestamp(T0.0 + 20_000));
        }))
        .await,
        ["sub-r"]
    );
    assert_eq!(
        ids(with(|f| {
            f.limit = 1;
            f.offset = 1;
        }))
        .await,
        ["sub-r"],
        "paging"
    );

    assert_eq!(
        s.fachdaten("sub-a").await.expect("read").as_deref(),
        Some(&b"<antrag/>"[..])
    );
    assert_eq!(s.fachdaten("sub-r").await.expect("read"), None);
    assert_eq!(s.fachdaten("nope").await.expect("read"), None);
    s.mark_acknowledged("sub-a", T0, None).await.expect("ack");
    let report = s
        .purge_payloads(Timestamp(T0.0 + 1), later, false)
        .await
        .expect("purge");
    assert!(report.submission_ids.contains(&"sub-a".to_owned()));
    assert_eq!(s.fachdaten("sub-a").await.expect("read"), None, "purged");
}

async fn undecodable_decisions_are_never_acknowledged<B: Backend>(b: &B) {
    let s = b.store();
    let mut r = submission("sub-bad", &[], vec![]);
    r.decision = Decision::Rejected {
        problems: problems(),
    };
    s.store_submission(r, T0).await.expect("store");
    stored(s, "sub-good", &[]).await;
    // Damaged on disk: the problems are no longer a problem list.
    b.exec("UPDATE submissions SET problems = '{\"x\":1}' WHERE submission_id = 'sub-bad'")
        .await;
    let due = s.pending_acks(10).await.expect("acks");
    assert!(due.contains(&AckDue::Undecodable {
        submission_id: "sub-bad".to_owned(),
        what: "rejection problems",
    }));
    assert!(matches!(&due[..], [_, _]), "{due:?}");
    // `queue show` refuses to present it as an empty rejection, too.
    assert!(s.submission("sub-bad").await.is_err());
    // An empty list is just as undecodable (a reject SET needs a problem).
    b.exec("UPDATE submissions SET problems = '[]' WHERE submission_id = 'sub-bad'")
        .await;
    assert!(
        s.pending_acks(10)
            .await
            .expect("acks")
            .iter()
            .any(|d| matches!(d, AckDue::Undecodable { .. }))
    );
}

fn tags() -> AuthenticationTags {
    AuthenticationTags {
        metadata: "tagMeta".to_owned(),
        data: Some("tagData".to_owned()),
        attachments: [("a1".to_owned(), "tagA1".to_owned())].into(),
    }
}

fn problems() -> Vec<Problem> {
    vec![Problem::new(Failure::DataSchema, &Instance::Data).expect("catalogue problem")]
}

fn evidence() -> Evidence {
    Evidence {
        submit_set: "eyJhbGciOiJQUzUxMiJ9.eyJzdWIiOiJ4In0.c2ln".to_owned(),
        auth_tags: Some(tags()),
        hashes: vec![("data".to_owned(), "sha512:00ff".to_owned())],
        received_at: T0,
        decided_at: Timestamp(T0.0 + 5),
    }
}

fn submission(id: &str, upstreams: &[&str], attachments: Vec<NewAttachment>) -> NewSubmission {
    NewSubmission {
        submission_id: id.to_owned(),
        case_id: Some(format!("case-of-{id}")),
        destination_id: "dest-1".to_owned(),
        message_type: Some("baugenehmigung.antrag.0200".to_owned()),
        envelope: Some(format!(r#"{{"submission":{{"id":"{id}"}}}}"#)),
        fachdaten: None,
        decision: Decision::Accepted,
        ack_policy: AckPolicy::AfterStore,
        evidence: evidence(),
        attachments,
        upstreams: upstreams.iter().map(|&u| u.to_owned()).collect(),
    }
}

fn attachment(id: &str, bytes: Vec<u8>) -> NewAttachment {
    NewAttachment {
        attachment_id: id.to_owned(),
        filename: Some(format!("{id}.pdf")),
        media_type: "application/pdf".to_owned(),
        content: BlobSource::Reader(Box::new(io::Cursor::new(bytes))),
    }
}

/// Deterministic bytes larger than one storage chunk.
fn big_payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

async fn stored<S: Store>(s: &S, id: &str, upstreams: &[&str]) {
    let outcome = s
        .store_submission(submission(id, upstreams, vec![]), T0)
        .await
        .expect("store");
    assert_eq!(outcome, StoreOutcome::Stored);
}

async fn migrations_are_versioned_and_idempotent<B: Backend>(b: &B) {
    assert_eq!(
        b.store().applied_migrations().await.expect("versions"),
        [1, 2, 3, 4, 5, 6]
    );
    let again = b.reopen().await;
    assert_eq!(
        again.applied_migrations().await.expect("versions"),
        [1, 2, 3, 4, 5, 6]
    );
}

async fn seen_and_store_are_idempotent<B: Backend>(b: &B) {
    let s = b.store();
    assert!(!s.is_stored("sub-1").await.expect("read"), "unknown id");
    assert_eq!(s.record_seen("sub-1", T0).await.expect("seen"), Seen::New);
    assert!(
        !s.is_stored("sub-1").await.expect("read"),
        "seen, not stored"
    );
    assert_eq!(
        s.record_seen("sub-1", T0).await.expect("seen"),
        Seen::Unfinished
    );
    let first = s
        .store_submission(
            submission(
                "sub-1",
                &["bau", "archiv"],
                vec![attachment("a1", b"x".to_vec())],
            ),
            T0,
        )
        .await
        .expect("store");
    assert_eq!(first, StoreOutcome::Stored);
    let second = s
        .store_submission(
            submission(
                "sub-1",
                &["bau", "archiv"],
                vec![attachment("a1", b"x".to_vec())],
            ),
            T0,
        )
        .await
        .expect("store again");
    assert_eq!(second, StoreOutcome::AlreadyStored);
    assert!(s.is_stored("sub-1").await.expect("read"));
    let all = s.decisions(false, 10).await.expect("decisions");
    assert_eq!(
        all.iter()
            .map(|d| d.submission_id.as_str())
            .collect::<Vec<_>>(),
        ["sub-1"]
    );
    assert!(s.decisions(true, 10).await.expect("rejections").is_empty());
    assert_eq!(
        s.record_seen("sub-1", T0).await.expect("seen"),
        Seen::Stored
    );
    let view = s.submission("sub-1").await.expect("view").expect("exists");
    assert_eq!(
        view.jobs.len(),
        2,
        "one job per upstream, not per store call"
    );
    assert_eq!(view.attachments.len(), 1);
    let all = s
        .list_jobs(JobFilter {
            state: None,
            limit: 100,
        })
        .await
        .expect("list");
    assert_eq!(all.len(), 2);
    // Storing without a prior record_seen works too.
    stored(s, "sub-2", &[]).await;
    assert_eq!(
        s.record_seen("sub-2", T0).await.expect("seen"),
        Seen::Stored
    );
}

async fn stored_submission_round_trips<B: Backend>(b: &B) {
    let s = b.store();
    let dir = tempfile::tempdir().expect("tempdir");
    let big = big_payload(700 * 1024 + 17);
    let from_file = dir.path().join("plan.pdf");
    std::fs::write(&from_file, b"%PDF-1.7 plan").expect("write source");
    let mut sub = submission(
        "sub-rt",
        &["bau"],
        vec![
            attachment("big", big.clone()),
            NewAttachment {
                attachment_id: "file".to_owned(),
                filename: None,
                media_type: "application/pdf".to_owned(),
                content: BlobSource::File(from_file),
            },
            attachment("empty", vec![]),
            spooled("spooled", b"%PDF-1.7 decrypted into the spool"),
        ],
    );
    sub.decision = Decision::Accepted;
    s.store_submission(sub, T0).await.expect("store");

    let view = s.submission("sub-rt").await.expect("view").expect("exists");
    assert_eq!(view.evidence, Some(evidence()));
    assert_eq!(view.decision, Some(Decision::Accepted));
    assert_eq!(view.ack_policy, Some(AckPolicy::AfterStore));
    assert_eq!(view.stored_at, Some(T0));
    assert_eq!(
        view.envelope.as_deref(),
        Some(r#"{"submission":{"id":"sub-rt"}}"#)
    );
    let ids: Vec<_> = view
        .attachments
        .iter()
        .map(|a| a.attachment_id.as_str())
        .collect();
    assert_eq!(ids, ["big", "empty", "file", "spooled"]);

    let out = dir.path().join("out.bin");
    let meta = s
        .export_attachment("sub-rt", "big", &out)
        .await
        .expect("export");
    assert_eq!(meta.size, big.len() as u64);
    assert_eq!(std::fs::read(&out).expect("read"), big);
    let meta = s
        .export_attachment("sub-rt", "empty", &out)
        .await
        .expect("export");
    assert_eq!(meta.size, 0);
    assert_eq!(
        meta.sha256,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(std::fs::read(&out).expect("read").is_empty());
    let meta = s
        .export_attachment("sub-rt", "file", &out)
        .await
        .expect("export");
    assert_eq!(meta.filename, None);
    assert_eq!(std::fs::read(&out).expect("read"), b"%PDF-1.7 plan");
    assert!(s.export_attachment("sub-rt", "nope", &out).await.is_err());
    assert!(s.submission("unknown").await.expect("view").is_none());

    // Opened for one read (an upload), from the start, without an export.
    for (id, want) in [
        ("big", &big[..]),
        ("spooled", &b"%PDF-1.7 decrypted into the spool"[..]),
        ("empty", &[][..]),
    ] {
        let (meta, mut file) = s
            .open_attachment("sub-rt", id, dir.path())
            .await
            .expect("open");
        let mut got = Vec::new();
        file.read_to_end(&mut got).expect("read");
        assert_eq!((meta.size, &got[..]), (want.len() as u64, want), "{id}");
    }
    let (spooled, _) = s
        .open_attachment("sub-rt", "spooled", dir.path())
        .await
        .expect("open");
    assert_eq!(
        spooled.sha256,
        hex_sha256(b"%PDF-1.7 decrypted into the spool"),
        "the address computed while spooling is the content's"
    );
    assert!(matches!(
        s.open_attachment("sub-rt", "nope", dir.path()).await,
        Err(poststelle::store::StoreError::NotFound { .. })
    ));
    // Nothing left in the spool directory but what the test put there.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

/// An attachment as the pipeline hands it over: an unnamed spool file whose SHA-256 was
/// computed while it was written.
fn spooled(id: &str, bytes: &[u8]) -> NewAttachment {
    use std::io::Write as _;
    let mut file = tempfile::tempfile().expect("unnamed file");
    let mut w = poststelle::store::AddressWriter::new(&mut file);
    w.write_all(bytes).expect("write");
    let (_, sha256) = w.finish().expect("finish");
    NewAttachment {
        attachment_id: id.to_owned(),
        filename: Some("spooled.pdf".to_owned()),
        media_type: "application/pdf".to_owned(),
        content: BlobSource::Addressed {
            file,
            len: bytes.len() as u64,
            sha256,
        },
    }
}

fn hex_sha256(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fails after delivering `ok` bytes: an attachment source breaking mid-stream.
struct BreaksAfter {
    ok: usize,
}

impl Read for BreaksAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.ok == 0 {
            return Err(io::Error::other("source broke"));
        }
        let n = buf.len().min(self.ok);
        buf[..n].fill(7);
        self.ok -= n;
        Ok(n)
    }
}

async fn assert_nothing_stored<S: Store>(s: &S, id: &str) {
    if let Some(view) = s.submission(id).await.expect("view") {
        assert_eq!(view.stored_at, None);
        assert_eq!(view.decision, None);
        assert_eq!(view.evidence, None);
        assert!(view.attachments.is_empty());
        assert!(view.jobs.is_empty());
    }
    let m = s.metrics(T0).await.expect("metrics");
    assert_eq!(m.jobs_pending, 0);
    assert!(s.pending_acks(10).await.expect("acks").is_empty());
}

async fn failed_store_leaves_nothing_half_written<B: Backend>(b: &B) {
    let s = b.store();
    s.record_seen("sub-f", T0).await.expect("seen");
    // (a) The second attachment's source breaks after more than one chunk.
    let broken = NewAttachment {
        attachment_id: "a2".to_owned(),
        filename: None,
        media_type: "application/pdf".to_owned(),
        content: BlobSource::Reader(Box::new(BreaksAfter { ok: 600 * 1024 })),
    };
    let sub = submission(
        "sub-f",
        &["bau"],
        vec![attachment("a1", b"ok".to_vec()), broken],
    );
    assert!(s.store_submission(sub, T0).await.is_err());
    assert_nothing_stored(s, "sub-f").await;
    // (b) A constraint violation after the submission, evidence and outbox rows were written
    // in the transaction: a duplicate attachment id.
    let sub = submission(
        "sub-f",
        &["bau"],
        vec![
            attachment("dup", b"1".to_vec()),
            attachment("dup", b"2".to_vec()),
        ],
    );
    assert!(s.store_submission(sub, T0).await.is_err());
    assert_nothing_stored(s, "sub-f").await;
    assert_eq!(
        s.record_seen("sub-f", T0).await.expect("seen"),
        Seen::Unfinished
    );
    // The retry after the failures stores everything.
    let sub = submission("sub-f", &["bau"], vec![attachment("a1", b"ok".to_vec())]);
    assert_eq!(
        s.store_submission(sub, T0).await.expect("store"),
        StoreOutcome::Stored
    );
    let view = s.submission("sub-f").await.expect("view").expect("exists");
    assert_eq!((view.jobs.len(), view.attachments.len()), (1, 1));
}

async fn ack_after_store_is_recorded_once<B: Backend>(b: &B) {
    let s = b.store();
    stored(s, "sub-a", &["bau"]).await;
    let mut rejected = submission("sub-r", &[], vec![]);
    rejected.decision = Decision::Rejected {
        problems: problems(),
    };
    rejected.evidence.auth_tags = None;
    rejected.envelope = None;
    s.store_submission(rejected, Timestamp(T0.0 + 1))
        .await
        .expect("store");
    // Seen but not stored: never due.
    s.record_seen("sub-seen", T0).await.expect("seen");

    let due = ready(s.pending_acks(10).await.expect("acks"));
    let ids: Vec<_> = due.iter().map(|a| a.submission_id.as_str()).collect();
    assert_eq!(ids, ["sub-a", "sub-r"]);
    assert_eq!(due[0].decision, Decision::Accepted);
    assert_eq!(due[0].auth_tags, Some(tags()));
    // The case comes along typed, for an ack after a restart.
    assert_eq!(due[0].case_id.as_deref(), Some("case-of-sub-a"));
    assert_eq!(due[0].destination_id.as_deref(), Some("dest-1"));
    assert_eq!(
        due[1].decision,
        Decision::Rejected {
            problems: problems()
        }
    );
    assert_eq!(due[1].auth_tags, None);

    let t = Timestamp(T0.0 + 100);
    let set = Some("ack.set.sig".to_owned());
    assert_eq!(
        s.mark_acknowledged("sub-a", t, set.clone())
            .await
            .expect("mark"),
        AckMark::Marked
    );
    // A second sender (restart, second instance) finds it done and changes nothing.
    assert_eq!(
        s.mark_acknowledged("sub-a", Timestamp(t.0 + 1), None)
            .await
            .expect("mark"),
        AckMark::AlreadyMarked
    );
    let view = s.submission("sub-a").await.expect("view").expect("exists");
    assert_eq!((view.acked_at, view.ack_set), (Some(t), set));
    let due = ready(s.pending_acks(10).await.expect("acks"));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].submission_id, "sub-r");
    assert!(s.mark_acknowledged("sub-seen", t, None).await.is_err());
    assert!(s.mark_acknowledged("unknown", t, None).await.is_err());
    let m = s.metrics(t).await.expect("metrics");
    assert_eq!(
        (
            m.submissions_acked,
            m.submissions_unacked,
            m.submissions_unfinished
        ),
        (1, 1, 1)
    );
}

async fn ack_after_forward_waits_for_every_job<B: Backend>(b: &B) {
    let s = b.store();
    let mut sub = submission("sub-af", &["bau", "archiv"], vec![]);
    sub.ack_policy = AckPolicy::AfterForward;
    s.store_submission(sub, T0).await.expect("store");
    assert!(s.pending_acks(10).await.expect("acks").is_empty());
    let jobs = s.claim_jobs("w1", T0, LEASE, 10).await.expect("claim");
    assert_eq!(jobs.len(), 2);
    s.complete_job(jobs[0].job_id, T0).await.expect("complete");
    assert!(
        s.pending_acks(10).await.expect("acks").is_empty(),
        "one job still pending"
    );
    s.complete_job(jobs[1].job_id, T0).await.expect("complete");
    let due = ready(s.pending_acks(10).await.expect("acks"));
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].submission_id, "sub-af");
}

async fn expired_lease_is_claimable_again<B: Backend>(b: &B) {
    let s = b.store();
    stored(s, "sub-l", &["bau"]).await;
    let a = s
        .claim_jobs("worker-a", T0, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].attempts, 1);
    assert_eq!(a[0].lease_until, T0.plus(LEASE));
    assert_eq!(a[0].envelope, r#"{"submission":{"id":"sub-l"}}"#);
    let during = T0.plus(Duration::from_secs(29));
    assert!(
        s.claim_jobs("worker-b", during, LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let after = T0.plus(Duration::from_secs(31));
    let b_jobs = s
        .claim_jobs("worker-b", after, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(b_jobs.len(), 1);
    assert_eq!((b_jobs[0].job_id, b_jobs[0].attempts), (a[0].job_id, 2));
    // The stale worker may not reschedule the job it lost…
    let retry = FailAction::RetryAt(after.plus(LEASE));
    assert_eq!(
        s.fail_job(a[0].job_id, "worker-a", retry, "timeout", after)
            .await
            .expect("fail"),
        FailOutcome::LeaseLost
    );
    // …but its delivery did happen: completion counts, and a second one changes nothing.
    assert_eq!(
        s.complete_job(a[0].job_id, after).await.expect("complete"),
        Completion::Completed
    );
    assert_eq!(
        s.complete_job(b_jobs[0].job_id, after)
            .await
            .expect("complete"),
        Completion::AlreadyDelivered
    );
    assert!(s.complete_job(999_999, after).await.is_err());
    let later = after.plus(Duration::from_secs(3600));
    assert!(
        s.claim_jobs("worker-c", later, LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
}

/// A heartbeat keeps a long delivery's job: the holder extends its lease, nobody else can,
/// and an extended lease is not claimable where the original would have expired.
async fn only_the_holder_extends_a_lease<B: Backend>(b: &B) {
    let s = b.store();
    stored(s, "sub-x", &["bau"]).await;
    let a = s
        .claim_jobs("worker-a", T0, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(a.len(), 1);
    let job = a[0].job_id;
    let renewed = T0.plus(LEASE).plus(LEASE);
    assert!(
        s.extend_lease(job, "worker-a", renewed)
            .await
            .expect("extend")
    );
    assert!(
        !s.extend_lease(job, "worker-b", renewed.plus(LEASE))
            .await
            .expect("extend"),
        "only the holder extends"
    );
    let past_first = T0.plus(LEASE).plus(Duration::from_secs(1));
    assert!(
        s.claim_jobs("worker-b", past_first, LEASE, 10)
            .await
            .expect("claim")
            .is_empty(),
        "the renewed lease still holds"
    );
    let past_renewed = renewed.plus(Duration::from_secs(1));
    let b_jobs = s
        .claim_jobs("worker-b", past_renewed, LEASE, 10)
        .await
        .expect("claim");
    assert_eq!(b_jobs.len(), 1, "claimable once the renewed lease expired");
    assert!(
        !s.extend_lease(job, "worker-a", past_renewed.plus(LEASE))
            .await
            .expect("extend"),
        "a lease taken over cannot be extended by its former holder"
    );
    s.complete_job(job, past_renewed).await.expect("complete");
    assert!(
        !s.extend_lease(job, "worker-b", past_renewed.plus(LEASE))
            .await
            .expect("extend"),
        "a finished job has no lease"
    );
}

async fn retries_dead_letter_and_redrive<B: Backend>(b: &B) {
    let s = b.store();
    stored(s, "sub-d", &["bau"]).await;
    let policy = RetryPolicy {
        base_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(10),
        max_attempts: 3,
        max_age: Duration::from_secs(3600),
    };
    let mut now = T0;
    let mut outcomes = vec![];
    loop {
        let jobs = s.claim_jobs("w", now, LEASE, 1).await.expect("claim");
        let [job] = jobs.as_slice() else {
            panic!("one due job expected at {now:?}")
        };
        let action = policy.after_failure(job.attempts, job.created_at, now, 0.5);
        // Not due before the retry time.
        if let FailAction::RetryAt(at) = action {
            assert!(at > now);
        }
        let outcome = s
            .fail_job(job.job_id, "w", action, "http-503", now)
            .await
            .expect("fail");
        outcomes.push(outcome);
        match action {
            FailAction::RetryAt(at) => {
                let before = Timestamp(at.0 - 1);
                assert!(
                    s.claim_jobs("w", before, LEASE, 1)
                        .await
                        .expect("claim")
                        .is_empty()
                );
                now = at;
            }
            FailAction::DeadLetter => break,
        }
    }
    assert_eq!(
        outcomes,
        [
            FailOutcome::Retrying,
            FailOutcome::Retrying,
            FailOutcome::DeadLettered
        ]
    );
    let far = now.plus(Duration::from_secs(86_400));
    assert!(
        s.claim_jobs("w", far, LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let dead = s
        .list_jobs(JobFilter {
            state: Some(JobState::Dead),
            limit: 10,
        })
        .await
        .expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 3);
    assert_eq!(dead[0].last_error.as_deref(), Some("http-503"));
    assert_eq!(s.metrics(far).await.expect("metrics").jobs_dead, 1);

    assert_eq!(
        s.redrive(Redrive::Job(dead[0].job_id), far)
            .await
            .expect("redrive"),
        1
    );
    assert_eq!(
        s.redrive(Redrive::Job(dead[0].job_id), far)
            .await
            .expect("redrive"),
        0
    );
    assert_eq!(s.redrive(Redrive::All, far).await.expect("redrive"), 0);
    let again = s.claim_jobs("w", far, LEASE, 10).await.expect("claim");
    assert_eq!(again.len(), 1);
    assert_eq!(
        again[0].attempts, 1,
        "re-drive starts a fresh attempt count"
    );
    s.fail_job(
        again[0].job_id,
        "w",
        FailAction::DeadLetter,
        "http-400",
        far,
    )
    .await
    .expect("fail");
    assert_eq!(s.redrive(Redrive::All, far).await.expect("redrive all"), 1);
}

async fn concurrent_claimers_get_disjoint_jobs<B: Backend>(b: &B) {
    let s = b.store();
    let upstreams = ["u0", "u1", "u2", "u3"];
    for i in 0..15 {
        stored(s, &format!("sub-c{i}"), &upstreams).await;
    }
    let total = 15 * upstreams.len();
    // Two instances (two gateways on one database), four claimers each.
    let instances = [s.clone(), b.reopen().await];
    let mut tasks = tokio::task::JoinSet::new();
    for (n, inst) in instances.iter().enumerate() {
        for w in 0..4 {
            let store = inst.clone();
            let worker = format!("i{n}-w{w}");
            tasks.spawn(async move {
                let mut got = vec![];
                loop {
                    let jobs = store
                        .claim_jobs(&worker, T0, LEASE, 3)
                        .await
                        .expect("claim");
                    if jobs.is_empty() {
                        return got;
                    }
                    for j in jobs {
                        assert_eq!(j.attempts, 1, "claimed twice: job {}", j.job_id);
                        store.complete_job(j.job_id, T0).await.expect("complete");
                        got.push(j.job_id);
                    }
                }
            });
        }
    }
    let mut seen = BTreeSet::new();
    let mut count = 0;
    while let Some(res) = tasks.join_next().await {
        for id in res.expect("claimer task") {
            count += 1;
            assert!(seen.insert(id), "job {id} claimed by two workers");
        }
    }
    assert_eq!((count, seen.len()), (total, total));
    let m = s.metrics(T0).await.expect("metrics");
    assert_eq!((m.jobs_delivered, m.jobs_pending), (total as u64, 0));
}

async fn one_poller_at_a_time<B: Backend>(b: &B) {
    let first = b.store();
    let second = b.reopen().await;
    assert!(first.try_acquire_poller().await.expect("acquire"));
    assert!(
        first
            .try_acquire_poller()
            .await
            .expect("re-acquire while held")
    );
    assert!(!second.try_acquire_poller().await.expect("contended"));
    first.release_poller().await.expect("release");
    assert!(
        second
            .try_acquire_poller()
            .await
            .expect("acquire after release")
    );
    // A holder that goes away without releasing (a crash) frees the role.
    drop(second);
    let mut got = false;
    for _ in 0..50 {
        if first.try_acquire_poller().await.expect("acquire") {
            got = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(got, "poller role not released by a vanished holder");
}

async fn metrics_count_states<B: Backend>(b: &B) {
    let s = b.store();
    assert_eq!(s.metrics(T0).await.expect("metrics").jobs_due, 0);
    stored(s, "sub-m1", &["a", "b"]).await;
    stored(s, "sub-m2", &["a"]).await;
    let later = T0.plus(Duration::from_secs(10));
    let claimed = s.claim_jobs("w", later, LEASE, 1).await.expect("claim");
    assert_eq!(claimed.len(), 1);
    let m = s.metrics(later).await.expect("metrics");
    assert_eq!((m.jobs_pending, m.jobs_due, m.jobs_leased), (3, 2, 1));
    assert_eq!(m.oldest_due_age, Duration::from_secs(10));
    assert_eq!(m.submissions_unacked, 2);
    let pending = s
        .list_jobs(JobFilter {
            state: Some(JobState::Pending),
            limit: 2,
        })
        .await
        .expect("list");
    assert_eq!(pending.len(), 2, "limit applies");
    assert_eq!(pending[0].lease_owner.as_deref(), Some("w"));
}

async fn state_survives_reopen<B: Backend>(b: &B) {
    let claimed = {
        let s = b.reopen().await;
        stored(&s, "sub-x", &["bau"]).await;
        s.record_seen("sub-y", T0).await.expect("seen");
        let jobs = s
            .claim_jobs("dead-worker", T0, LEASE, 10)
            .await
            .expect("claim");
        assert_eq!(jobs.len(), 1);
        jobs[0].job_id
        // The store is dropped here mid-work: the worker never completes.
    };
    let s = b.reopen().await;
    assert_eq!(
        s.record_seen("sub-x", T0).await.expect("seen"),
        Seen::Stored
    );
    assert_eq!(
        s.record_seen("sub-y", T0).await.expect("seen"),
        Seen::Unfinished
    );
    let due = s.pending_acks(10).await.expect("acks");
    assert_eq!(due.len(), 1);
    assert!(
        s.claim_jobs("new", T0, LEASE, 10)
            .await
            .expect("claim")
            .is_empty()
    );
    let after = T0.plus(LEASE);
    let jobs = s.claim_jobs("new", after, LEASE, 10).await.expect("claim");
    assert_eq!(
        (jobs.len(), jobs[0].job_id, jobs[0].attempts),
        (1, claimed, 2)
    );
    assert_eq!(
        s.applied_migrations().await.expect("versions"),
        [1, 2, 3, 4, 5, 6]
    );
}

/// Throughput of durable stores (one submission, one job, one small attachment per
/// transaction). Not an assertion: run with
/// `cargo test --release --test it store_suite::throughput -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "measurement, not a test"]
async fn throughput() {
    async fn measure<S: Store>(name: &str, s: &S) {
        let n = 300;
        let start = std::time::Instant::now();
        for i in 0..n {
            let sub = submission(
                &format!("tp-{i}"),
                &["bau"],
                vec![attachment("a", vec![7; 4096])],
            );
            s.store_submission(sub, T0).await.expect("store");
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {n} store_submission in {secs:.2} s = {:.0}/s",
            f64::from(n) / secs
        );
        let start = std::time::Instant::now();
        let mut claimed = 0;
        loop {
            let jobs = s.claim_jobs("w", T0, LEASE, 1).await.expect("claim");
            let Some(job) = jobs.first() else { break };
            s.complete_job(job.job_id, T0).await.expect("complete");
            claimed += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {claimed} claim+complete in {secs:.2} s = {:.0}/s",
            f64::from(claimed) / secs
        );
    }
    let sqlite = Sqlite::new().await;
    measure("sqlite", sqlite.store()).await;
    if let Some(pg) = Postgres::new().await {
        measure("postgres", pg.store()).await;
    }
}

/// The child half of [`survives_sigkill`]: stores submissions until killed, printing each id
/// after its commit returned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "child process of survives_sigkill"]
async fn sigkill_child() {
    async fn store_until_killed<S: Store>(s: S) {
        for i in 0..100_000 {
            let id = format!("crash-{i}");
            s.record_seen(&id, T0).await.expect("seen");
            let payload = big_payload(64 * 1024 + i);
            let sub = submission(&id, &["bau"], vec![attachment("a", payload)]);
            s.store_submission(sub, T0).await.expect("store");
            println!("committed {id}");
        }
    }
    if let Ok(path) = std::env::var("POSTSTELLE_STORE_CRASH_DB") {
        store_until_killed(SqliteStore::open(&path).await.expect("open")).await;
    } else if let (Ok(schema), Ok(url)) = (
        std::env::var("POSTSTELLE_STORE_CRASH_SCHEMA"),
        std::env::var("POSTSTELLE_TEST_DATABASE_URL"),
    ) {
        let store = PgStore::connect(&url, Some(&schema))
            .await
            .expect("connect");
        store_until_killed(store).await;
    }
}

/// SIGKILL at an arbitrary moment: every submission whose commit returned is complete after
/// reopening, and nothing is half-written.
async fn survives_sigkill<B: Backend>(b: &B) {
    use std::io::BufRead;
    let (key, value) = b.child_env();
    let mut child = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "store_suite::sigkill_child",
            "--ignored",
            "--nocapture",
        ])
        .env(key, value)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let stop_after = 5 + (getrandom::u32().expect("random") % 20) as usize;
    let committed = tokio::task::spawn_blocking(move || {
        let mut committed = vec![];
        for line in io::BufReader::new(stdout).lines() {
            let line = line.expect("child output");
            if let Some(id) = line.strip_prefix("committed ") {
                committed.push(id.to_owned());
                if committed.len() == stop_after {
                    break;
                }
            }
        }
        committed
    })
    .await
    .expect("reader");
    // Let the child run on into its next transaction, then kill it without warning.
    let pause = u64::from(getrandom::u32().expect("random") % 30);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert_eq!(committed.len(), stop_after, "child stopped early");

    let s = b.reopen().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("export.bin");
    for (i, id) in committed.iter().enumerate() {
        assert_eq!(
            s.record_seen(id, T0).await.expect("seen"),
            Seen::Stored,
            "{id}"
        );
        let view = s.submission(id).await.expect("view").expect("exists");
        assert_eq!((view.jobs.len(), view.attachments.len()), (1, 1), "{id}");
        s.export_attachment(id, "a", &out).await.expect("export");
        let content = std::fs::read(&out).expect("read");
        assert!(
            content == big_payload(64 * 1024 + i),
            "{id}: attachment differs"
        );
    }
    // Whatever was in flight is either complete or only "seen" (to be processed again).
    let filter = JobFilter {
        state: None,
        limit: 100_000,
    };
    for job in &s.list_jobs(filter).await.expect("jobs") {
        let view = s
            .submission(&job.submission_id)
            .await
            .expect("view")
            .expect("exists");
        assert_eq!(view.attachments.len(), 1, "job without its attachment");
        assert!(view.evidence.is_some(), "job without evidence");
    }
    let m = s.metrics(T0).await.expect("metrics");
    assert!(m.submissions_unacked >= committed.len() as u64);
    assert!(
        m.submissions_unfinished <= 1,
        "at most the in-flight one is unfinished"
    );
}

/// The same submission processed by two instances at once (a poll racing a callback, or two
/// gateways): exactly one stores it, the other finds it stored.
async fn concurrent_stores_of_one_id_store_once<B: Backend>(b: &B) {
    let instances = [b.store().clone(), b.reopen().await];
    for round in 0..5 {
        let id = format!("race-{round}");
        let mut tasks = tokio::task::JoinSet::new();
        for (n, inst) in instances.iter().enumerate() {
            for _ in 0..2 {
                let (store, id) = (inst.clone(), id.clone());
                let payload = vec![u8::try_from(n).expect("small"); 1000];
                tasks.spawn(async move {
                    let sub = submission(&id, &["bau", "archiv"], vec![attachment("a", payload)]);
                    store.store_submission(sub, T0).await.expect("store")
                });
            }
        }
        let mut outcomes = vec![];
        while let Some(res) = tasks.join_next().await {
            outcomes.push(res.expect("task"));
        }
        let stored = outcomes
            .iter()
            .filter(|&&o| o == StoreOutcome::Stored)
            .count();
        assert_eq!(stored, 1, "{outcomes:?}");
        let view = b
            .store()
            .submission(&id)
            .await
            .expect("view")
            .expect("exists");
        assert_eq!((view.jobs.len(), view.attachments.len()), (2, 1));
    }
}

/// What a version-1 store (written by main at f5283fa, `tests/it/data/store/`) must read back
/// as after migration 2.
async fn assert_version_1_data_survives<S: Store>(s: &S) {
    const CASE: &str = "0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c";
    const DEST: &str = "879ee109-a690-4db8-ab32-424284184d7d";
    const ATT: &str = "5e0f6a39-3c55-4f38-9d47-0a8ff0a0e7a1";
    assert_eq!(
        s.applied_migrations().await.expect("versions"),
        [1, 2, 3, 4, 5, 6]
    );
    let due = ready(s.pending_acks(10).await.expect("acks"));
    let ids: Vec<&str> = due.iter().map(|a| a.submission_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "11111111-1111-4111-8111-111111111111",
            "22222222-2222-4222-8222-222222222222",
            "33333333-3333-4333-8333-333333333333"
        ]
    );
    let tags = due[0].auth_tags.clone().expect("typed tags");
    assert_eq!(tags.metadata, "rJzLKF3ApPQN-gUfK-Ahgw");
    assert_eq!(tags.data.as_deref(), Some("LbKRwun2tAcaqAdxGJQoYg"));
    assert_eq!(tags.attachments[ATT], "RH7FW5Ug6qDgqKwO56g1Qg");
    assert_eq!(
        due[0].case_id.as_deref(),
        Some(CASE),
        "case read from the submit SET"
    );
    assert_eq!(due[0].destination_id.as_deref(), Some(DEST));
    assert_eq!(due[0].decision, Decision::Accepted);
    match &due[1].decision {
        Decision::Rejected { problems } => {
            assert!(problems[0].type_uri.ends_with("/hash-mismatch"));
            assert_eq!(problems[0].instance, "data");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(due[1].case_id.as_deref(), Some(CASE));
    // Rejected before the event log was read: no tags, no submit SET, no case.
    assert_eq!(
        (due[2].auth_tags.clone(), due[2].case_id.clone()),
        (None, None)
    );
    let acked = s
        .submission("44444444-4444-4444-8444-444444444444")
        .await
        .expect("view")
        .expect("exists");
    assert_eq!(acked.ack_set.as_deref(), Some("ack.set.sig"));
    assert_eq!(
        acked.message_type.as_deref(),
        Some("baugenehmigung.antrag.0200")
    );
    assert_eq!(acked.case_id.as_deref(), Some(CASE));
    let evidence = acked.evidence.expect("evidence");
    assert_eq!(evidence.auth_tags, Some(tags));
    assert_eq!(
        evidence.hashes,
        [("data".to_owned(), "sha512:00".to_owned())]
    );
    assert_eq!(acked.attachments.len(), 1);
    assert_eq!(acked.jobs.len(), 1);
    let seen = s
        .record_seen("55555555-5555-4555-8555-555555555555", T0)
        .await
        .expect("seen");
    assert_eq!(seen, Seen::Unfinished);
}

/// A SQLite database file in `dir` loaded from a dump under `tests/it/data/store/`.
fn sqlite_fixture(dir: &tempfile::TempDir, dump: &str) -> PathBuf {
    let path = dir.path().join("fixture.db");
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/data/store")
            .join(dump),
    )
    .expect("fixture");
    rusqlite::Connection::open(&path)
        .expect("open")
        .execute_batch(&dump)
        .expect("load the fixture database");
    path
}

/// Loads a PostgreSQL dump under `tests/it/data/store/` into a fresh schema (its schema name
/// `placeholder` replaced), runs `check` with the URL and that schema, then drops it. Skipped
/// without `POSTSTELLE_TEST_DATABASE_URL`.
async fn on_postgres_fixture<F, Fut>(dump: &str, placeholder: &str, check: F)
where
    F: FnOnce(String, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(url) = std::env::var("POSTSTELLE_TEST_DATABASE_URL") else {
        eprintln!("POSTSTELLE_TEST_DATABASE_URL not set: PostgreSQL migration test skipped");
        return;
    };
    let schema = format!(
        "poststelle_fixture_{:016x}",
        getrandom::u64().expect("random schema name")
    );
    let dump = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/it/data/store")
            .join(dump),
    )
    .expect("fixture")
    .replace(placeholder, &schema);
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(conn);
    client
        .batch_execute(&dump)
        .await
        .expect("load the fixture schema");
    let outcome = tokio::time::timeout(TEST_TIMEOUT, check(url, schema.clone())).await;
    let _ = client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await;
    outcome.expect("test timed out");
}

#[tokio::test]
async fn migration_2_keeps_a_version_1_sqlite_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sqlite_fixture(&dir, "v1-sqlite.sql");
    let s = SqliteStore::open(&path).await.expect("migrates");
    assert_version_1_data_survives(&s).await;
    // Opening again applies nothing twice.
    drop(s);
    assert_version_1_data_survives(&SqliteStore::open(&path).await.expect("reopen")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_2_keeps_a_version_1_postgres_database() {
    on_postgres_fixture("v1-postgres.sql", "v1fixture", |url, schema| async move {
        let s = PgStore::connect(&url, Some(&schema))
            .await
            .expect("migrates");
        assert_version_1_data_survives(&s).await;
        let again = PgStore::connect(&url, Some(&schema)).await.expect("reopen");
        assert_version_1_data_survives(&again).await;
    })
    .await;
}

/// Issue 13, scope 5: the payload of a forwarded submission is purged once every job is
/// delivered and the retention is over; evidence stays and reads back; pending jobs, dead
/// letters, unacknowledged and rejected submissions keep theirs; content shared with an
/// unpurged submission stays; a second purge changes nothing.
async fn retention_purges_payloads_and_keeps_evidence<B: Backend>(b: &B) {
    let s = b.store();
    let shared = b"%PDF-1.7 shared between two submissions".to_vec();
    let own = big_payload(300 * 1024 + 3);
    // Delivered to both upstreams: due once the retention is over.
    s.store_submission(
        submission(
            "sub-done",
            &["bau", "archiv"],
            vec![
                attachment("own", own.clone()),
                attachment("shared", shared.clone()),
            ],
        ),
        T0,
    )
    .await
    .expect("store");
    // Same content, still pending: its blob must survive the other's purge.
    s.store_submission(
        submission(
            "sub-pending",
            &["bau"],
            vec![attachment("shared", shared.clone())],
        ),
        T0,
    )
    .await
    .expect("store");
    stored(s, "sub-dead", &["bau"]).await;
    stored(s, "sub-unacked", &["bau"]).await;
    let mut rejected = submission("sub-rejected", &[], vec![]);
    rejected.envelope = None;
    rejected.decision = Decision::Rejected {
        problems: problems(),
    };
    s.store_submission(rejected, T0).await.expect("store");
    for id in ["sub-done", "sub-pending", "sub-dead", "sub-rejected"] {
        s.mark_acknowledged(id, T0, Some(format!("ack-set-of-{id}")))
            .await
            .expect("ack");
    }
    let delivered_at = Timestamp(T0.0 + 60_000);
    let jobs = s.claim_jobs("w", T0, LEASE, 10).await.expect("claim");
    assert_eq!(jobs.len(), 5);
    for job in &jobs {
        match job.submission_id.as_str() {
            "sub-done" | "sub-unacked" => {
                s.complete_job(job.job_id, delivered_at)
                    .await
                    .expect("complete");
            }
            "sub-dead" => {
                s.fail_job(job.job_id, "w", FailAction::DeadLetter, "http-400", T0)
                    .await
                    .expect("dead letter");
            }
            _ => {} // sub-pending: stays pending (its lease expires)
        }
    }
    let before = s
        .submission("sub-done")
        .await
        .expect("view")
        .expect("exists");

    // Not yet: delivered after the cutoff.
    let young = s
        .purge_payloads(Timestamp(delivered_at.0 - 1), delivered_at, false)
        .await
        .expect("purge");
    assert!(young.submission_ids.is_empty(), "{young:?}");
    // The cutoff is inclusive, far in the future nothing else becomes due.
    let now = Timestamp(delivered_at.0 + 31 * 86_400_000);
    let far = Timestamp(i64::MAX / 2);
    let dry = s.purge_payloads(far, now, true).await.expect("dry run");
    assert_eq!(dry.submission_ids, ["sub-done"]);
    assert_eq!(dry.files_removed, 0);
    assert!(
        b.raw_envelope("sub-done").await.is_some(),
        "a dry run changes nothing"
    );
    assert!(b.has_content("sub-done", "own").await);

    let report = s
        .purge_payloads(delivered_at, now, false)
        .await
        .expect("purge");
    assert_eq!(report.submission_ids, ["sub-done"]);

    // The payload is gone: envelope column, content, file names.
    assert_eq!(b.raw_envelope("sub-done").await, None);
    assert!(!b.has_content("sub-done", "own").await);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("export");
    assert!(s.export_attachment("sub-done", "own", &out).await.is_err());
    assert!(
        s.export_attachment("sub-done", "shared", &out)
            .await
            .is_err()
    );
    // Shared content of an unpurged submission stays, exportable.
    assert!(b.has_content("sub-pending", "shared").await);
    s.export_attachment("sub-pending", "shared", &out)
        .await
        .expect("export the pending submission's attachment");
    assert_eq!(std::fs::read(&out).expect("read"), shared);

    // The evidence stays and reads back, after a restart too.
    for store in [s.clone(), b.reopen().await] {
        let view = store
            .submission("sub-done")
            .await
            .expect("view")
            .expect("exists");
        assert_eq!(view.purged_at, Some(now));
        assert_eq!(view.envelope, None);
        assert_eq!(view.evidence, Some(evidence()));
        assert_eq!(view.decision, Some(Decision::Accepted));
        assert_eq!(view.ack_set.as_deref(), Some("ack-set-of-sub-done"));
        assert_eq!(view.case_id.as_deref(), Some("case-of-sub-done"));
        assert_eq!(
            view.message_type.as_deref(),
            Some("baugenehmigung.antrag.0200")
        );
        assert_eq!(view.stored_at, before.stored_at);
        assert_eq!(view.jobs, before.jobs);
        assert_eq!(view.attachments.len(), 2);
        for (now_, was) in view.attachments.iter().zip(&before.attachments) {
            assert_eq!(now_.filename, None, "file names may name a person");
            assert_eq!(
                (
                    &now_.attachment_id,
                    &now_.media_type,
                    now_.size,
                    &now_.sha256
                ),
                (&was.attachment_id, &was.media_type, was.size, &was.sha256)
            );
        }
    }
    // The others keep their payload.
    for id in ["sub-pending", "sub-dead", "sub-unacked"] {
        let view = s.submission(id).await.expect("view").expect("exists");
        assert_eq!(view.purged_at, None, "{id}");
        assert!(view.envelope.is_some(), "{id}");
    }
    let view = s
        .submission("sub-rejected")
        .await
        .expect("view")
        .expect("exists");
    assert_eq!(view.purged_at, None, "a rejection has no payload to purge");

    // A second purge is a no-op.
    let again = s
        .purge_payloads(far, now, false)
        .await
        .expect("purge again");
    assert_eq!(again, poststelle::store::PurgeReport::default());

    // A re-driven dead letter, once delivered, is purged by the same rule.
    let dead = s
        .list_jobs(JobFilter {
            state: Some(JobState::Dead),
            limit: 10,
        })
        .await
        .expect("dead letters");
    assert_eq!(
        s.redrive(Redrive::Job(dead[0].job_id), now)
            .await
            .expect("redrive"),
        1
    );
    let job = s.claim_jobs("w", now, LEASE, 10).await.expect("claim");
    let job = job
        .iter()
        .find(|j| j.submission_id == "sub-dead")
        .expect("re-driven job");
    s.complete_job(job.job_id, now).await.expect("complete");
    let later = Timestamp(now.0 + 1);
    let report = s.purge_payloads(now, later, false).await.expect("purge");
    assert_eq!(report.submission_ids, ["sub-dead"]);

    // The same content stored again after a purge is complete again.
    s.store_submission(
        submission("sub-again", &["bau"], vec![attachment("own", own.clone())]),
        later,
    )
    .await
    .expect("store");
    s.export_attachment("sub-again", "own", &out)
        .await
        .expect("export");
    assert_eq!(std::fs::read(&out).expect("read"), own);
}

/// After migration 3, a store written by the previous version purges like a new one: the
/// acknowledged accepted submission (job 2) is purged once delivered, the unacknowledged one
/// (job 1) is not.
async fn assert_version_2_data_purges<S: Store>(s: &S) {
    const ACKED: &str = "44444444-4444-4444-8444-444444444444";
    assert_version_1_data_survives(s).await;
    let due = Timestamp(1_800_000_002_000);
    for job in s.claim_jobs("w", due, LEASE, 10).await.expect("claim") {
        s.complete_job(job.job_id, due).await.expect("complete");
    }
    let later = Timestamp(due.0 + 1);
    let report = s.purge_payloads(due, later, false).await.expect("purge");
    assert_eq!(report.submission_ids, [ACKED]);
    let view = s.submission(ACKED).await.expect("view").expect("exists");
    assert_eq!((view.purged_at, view.envelope), (Some(later), None));
    assert_eq!(view.ack_set.as_deref(), Some("ack.set.sig"));
    assert!(view.evidence.expect("evidence").auth_tags.is_some());
    assert_eq!(view.attachments[0].filename, None);
    assert_eq!(view.attachments[0].size, 8);
}

#[tokio::test]
async fn migration_3_keeps_and_purges_a_version_2_sqlite_database() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = sqlite_fixture(&dir, "v2-sqlite.sql");
    let s = SqliteStore::open(&path).await.expect("migrates");
    assert_version_2_data_purges(&s).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_3_keeps_and_purges_a_version_2_postgres_database() {
    on_postgres_fixture("v2-postgres.sql", "v2fixture", |url, schema| async move {
        let s = PgStore::connect(&url, Some(&schema))
            .await
            .expect("migrates");
        assert_version_2_data_purges(&s).await;
    })
    .await;
}
