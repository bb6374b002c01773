//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, and a
//! content-addressed blob directory beside it (`<file>.blobs/`).
//!
//! rusqlite is blocking, so every operation runs on tokio's blocking pool holding the one
//! connection: a single writer, which is what SQLite serialises to anyway. Transactions are
//! `IMMEDIATE`, so a read-then-write never fails half-way on a lock upgrade.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior, params};

use super::blob::BlobDir;
use super::migrations::{self, MIGRATIONS_TABLE};
use super::records::{
    self, AckDue, AckMark, AttachmentMeta, ClaimedJob, Completion, DecisionSummary, FailAction,
    FailOutcome, JobFilter, JobState, JobSummary, NewSubmission, QueueMetrics, Redrive, Seen,
    StoreOutcome, SubmissionCounts, SubmissionFilter, SubmissionListItem, SubmissionView,
    Timestamp,
};
use super::retention::{self, PurgeReport};
use super::{Access, StoreError, sql};
use crate::fitconnect::callback::ReplayKey;

/// The SQLite store. Cheap to clone; clones share the connection.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    conn: Mutex<Connection>,
    /// Read-only connections for the hot reads, so a read does not queue behind the writer
    /// (WAL lets them run beside it; issue 18, goal 4). Opened on demand, kept when idle.
    readers: Readers,
    blobs: BlobDir,
    lock_path: PathBuf,
    poller: Mutex<Option<File>>,
    /// Whether this instance's purges looked for blob files an interrupted purge left
    /// (the first purge after opening does; later ones only look at their own submissions).
    purge_swept: AtomicBool,
}

type Result<T> = std::result::Result<T, StoreError>;

impl SqliteStore {
    /// Opens (creating if needed) the database at `path`, applies pending migrations and
    /// removes temporary blob files a crash left behind.
    pub async fn open(path: impl Into<PathBuf>) -> Result<Self> {
        let path = path.into();
        tokio::task::spawn_blocking(move || Self::open_blocking(&path)).await?
    }

    fn open_blocking(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_file::create_dir_all(dir)
                .map_err(|e| StoreError::io(dir.display(), e))?;
        }
        // SQLite would create the file 0644 (less the umask); its -wal and -shm files take
        // the database file's mode, so creating it 0600 first keeps all three private.
        crate::private_file::options()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| StoreError::io(path.display(), e))?;
        let mut conn = Connection::open(path)?;
        // WAL: readers do not block the writer. FULL: a commit is on disk when it returns,
        // which is what "nothing is acknowledged before it is durably stored" needs.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // The statements of the hot paths are prepared once (`prepare_cached`), not per call.
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        let mut blob_root = path.as_os_str().to_owned();
        blob_root.push(".blobs");
        let blobs = BlobDir::open(PathBuf::from(blob_root))?;
        blobs.sweep_tmp()?;
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".poller-lock");
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                readers: Readers::new(path, Access::ReadWrite),
                blobs,
                lock_path: PathBuf::from(lock_path),
                poller: Mutex::new(None),
                purge_swept: AtomicBool::new(false),
            }),
        })
    }

    /// Opens an existing database at the current schema version, creating and migrating
    /// nothing ([`super::AnyStore::open_existing`]). `ReadOnly` opens it with
    /// `SQLITE_OPEN_READ_ONLY` and `query_only`; neither mode sweeps or creates blob
    /// directories.
    pub async fn open_existing(path: impl Into<PathBuf>, access: Access) -> Result<Self> {
        let path = path.into();
        tokio::task::spawn_blocking(move || Self::open_existing_blocking(&path, access)).await?
    }

    fn open_existing_blocking(path: &Path, access: Access) -> Result<Self> {
        if !path.is_file() {
            return Err(StoreError::NotFound {
                what: "sqlite database file",
            });
        }
        // No SQLITE_OPEN_CREATE: the file is never created here.
        let flags = match access {
            Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
            Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
        } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        if access == Access::ReadOnly {
            conn.pragma_update(None, "query_only", true)?;
        } else {
            conn.pragma_update(None, "synchronous", "FULL")?;
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // The statements of the hot paths are prepared once (`prepare_cached`), not per call.
        conn.set_prepared_statement_cache_capacity(64);
        let has_table: bool = conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
            [],
            |r| r.get(0),
        )?;
        let applied = if has_table {
            Some(applied(&conn)?)
        } else {
            None
        };
        migrations::check_current(applied.as_deref(), migrations::SQLITE)?;
        let mut blob_root = path.as_os_str().to_owned();
        blob_root.push(".blobs");
        let mut lock_path = path.as_os_str().to_owned();
        lock_path.push(".poller-lock");
        Ok(Self {
            inner: Arc::new(Inner {
                conn: Mutex::new(conn),
                readers: Readers::new(path, access),
                blobs: BlobDir::existing(PathBuf::from(blob_root)),
                lock_path: PathBuf::from(lock_path),
                poller: Mutex::new(None),
                purge_swept: AtomicBool::new(false),
            }),
        })
    }

    pub(super) async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &BlobDir) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // A panic inside a transaction rolled it back when the transaction dropped, so the
            // connection behind a poisoned lock is still consistent.
            let mut conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn, &inner.blobs)
        })
        .await?
    }

    /// Runs a read on one of the reader connections (a consistent snapshot of what is
    /// committed), or on the writer's connection when [`MAX_READERS`] are busy or a reader
    /// cannot be opened. `f` must not write: readers are `query_only`.
    pub(super) async fn run_read<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &BlobDir) -> Result<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || match inner.readers.take() {
            Some(reader) => {
                let mut lent = Lent {
                    readers: &inner.readers,
                    conn: Some(reader),
                };
                let conn = lent.conn.as_mut().expect("lent until dropped");
                f(conn, &inner.blobs)
            }
            None => {
                let mut conn = inner.conn.lock().unwrap_or_else(PoisonError::into_inner);
                f(&mut conn, &inner.blobs)
            }
        })
        .await?
    }
}

/// Reader connections open at most; beyond, reads share the writer's connection.
const MAX_READERS: usize = 4;

/// The idle reader connections of one store and how many exist.
#[derive(Debug)]
struct Readers {
    path: PathBuf,
    access: Access,
    /// (idle connections, connections in existence).
    pool: Mutex<(Vec<Connection>, usize)>,
}

impl Readers {
    fn new(path: &Path, access: Access) -> Self {
        Self {
            path: path.to_owned(),
            access,
            pool: Mutex::new((Vec::new(), 0)),
        }
    }

    /// An idle reader, a new one while fewer than [`MAX_READERS`] exist, else `None`.
    fn take(&self) -> Option<Connection> {
        {
            let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(conn) = pool.0.pop() {
                return Some(conn);
            }
            if pool.1 >= MAX_READERS {
                return None;
            }
            pool.1 += 1;
        }
        match open_reader(&self.path, self.access) {
            Ok(conn) => Some(conn),
            Err(_) => {
                // The writer serves the read; a later read tries to open one again.
                self.pool.lock().unwrap_or_else(PoisonError::into_inner).1 -= 1;
                None
            }
        }
    }

    /// Returns a reader, or forgets it when its read panicked (it may hold a broken
    /// statement; a later read opens a new one).
    fn give_back_or_forget(&self, conn: Connection) {
        if std::thread::panicking() {
            drop(conn);
            self.pool.lock().unwrap_or_else(PoisonError::into_inner).1 -= 1;
        } else {
            self.give_back(conn);
        }
    }

    fn give_back(&self, conn: Connection) {
        self.pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .push(conn);
    }
}

/// A reader lent to one read; back to the idle list when the read ends, also by a panic.
struct Lent<'a> {
    readers: &'a Readers,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.readers.give_back_or_forget(conn);
        }
    }
}

/// A connection that only reads (`query_only`), never creating the file.
fn open_reader(path: &Path, access: Access) -> Result<Connection> {
    let flags = match access {
        Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY,
        Access::ReadWrite => OpenFlags::SQLITE_OPEN_READ_WRITE,
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.pragma_update(None, "query_only", true)?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

fn migrate(conn: &mut Connection) -> Result<()> {
    conn.execute_batch(MIGRATIONS_TABLE)?;
    let known = migrations::latest(migrations::SQLITE);
    for m in migrations::SQLITE {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Re-read inside the write lock: another process may have migrated meanwhile.
        let applied = applied(&tx)?;
        if let Some(&found) = applied.last().filter(|&&v| v > known) {
            return Err(StoreError::SchemaFromFuture { found, known });
        }
        if !applied.contains(&m.version) {
            tx.execute_batch(m.sql)?;
            backfill(&tx, m.backfill)?;
            tx.prepare_cached(sql::MIGRATION_RECORD)?.execute(params![
                m.version,
                m.name,
                Timestamp::now().0
            ])?;
        }
        tx.commit()?;
    }
    Ok(())
}

/// The Rust data step of a migration, inside its transaction.
fn backfill(tx: &rusqlite::Transaction<'_>, step: migrations::Backfill) -> Result<()> {
    match step {
        migrations::Backfill::None => Ok(()),
        migrations::Backfill::TypedEvidence => {
            let rows: Vec<(String, String, String)> = {
                let mut stmt = tx.prepare(sql::V2_EVIDENCE_ROWS)?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for (id, submit_set, tags) in rows {
                let (case, tags) = migrations::v2_evidence(&submit_set, &tags)?;
                tx.prepare_cached(sql::V2_EVIDENCE_UPDATE)?
                    .execute(params![id, tags])?;
                tx.prepare_cached(sql::V2_CASE_UPDATE)?
                    .execute(params![id, case])?;
            }
            Ok(())
        }
    }
}

fn applied(conn: &Connection) -> Result<Vec<i64>> {
    let mut stmt = conn.prepare(sql::MIGRATIONS_APPLIED)?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn ts(v: Option<i64>) -> Option<Timestamp> {
    v.map(Timestamp)
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn job_summary(r: &Row<'_>) -> rusqlite::Result<(JobSummary, String)> {
    Ok((
        JobSummary {
            job_id: r.get(0)?,
            submission_id: r.get(1)?,
            upstream: r.get(2)?,
            state: JobState::Pending,
            attempts: r.get(4)?,
            created_at: Timestamp(r.get(5)?),
            next_attempt_at: Timestamp(r.get(6)?),
            lease_owner: r.get(7)?,
            lease_until: ts(r.get(8)?),
            last_error: r.get(9)?,
            finished_at: ts(r.get(10)?),
        },
        r.get(3)?,
    ))
}

fn jobs(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Result<Vec<JobSummary>> {
    let mut stmt = conn.prepare(sql)?;
    let rows = stmt.query_map(p, job_summary)?;
    rows.map(|row| {
        let (mut job, state) = row?;
        job.state = JobState::parse(&state)?;
        Ok(job)
    })
    .collect()
}

fn attachment_meta(r: &Row<'_>) -> rusqlite::Result<AttachmentMeta> {
    Ok(AttachmentMeta {
        attachment_id: r.get(0)?,
        filename: r.get(1)?,
        media_type: r.get(2)?,
        size: {
            let v: i64 = r.get(3)?;
            u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(3, v))?
        },
        sha256: r.get(4)?,
    })
}

impl super::Store for SqliteStore {
    async fn applied_migrations(&self) -> Result<Vec<i64>> {
        self.run(|conn, _| applied(conn)).await
    }

    async fn is_stored(&self, submission_id: &str) -> Result<bool> {
        let id = submission_id.to_owned();
        self.run_read(move |conn, _| {
            let state: Option<String> = conn
                .prepare_cached(sql::SUBMISSION_STATE)?
                .query_row([&id], |r| r.get(0))
                .optional()?;
            Ok(state.as_deref() == Some("stored"))
        })
        .await
    }

    async fn record_seen(&self, submission_id: &str, now: Timestamp) -> Result<Seen> {
        let id = submission_id.to_owned();
        self.run(move |conn, _| {
            if conn
                .prepare_cached(sql::SEEN_INSERT)?
                .execute(params![id, now.0])?
                == 1
            {
                return Ok(Seen::New);
            }
            let state: String = conn
                .prepare_cached(sql::SUBMISSION_STATE)?
                .query_row([&id], |r| r.get(0))?;
            Ok(if state == "stored" {
                Seen::Stored
            } else {
                Seen::Unfinished
            })
        })
        .await
    }

    async fn store_submission(
        &self,
        mut sub: NewSubmission,
        now: Timestamp,
    ) -> Result<StoreOutcome> {
        // Blobs first, each durable before the commit that references it, and without holding
        // the connection: a large attachment must not stall the other writers.
        let attachments = std::mem::take(&mut sub.attachments);
        let blobs = self.inner.blobs.clone();
        let written = tokio::task::spawn_blocking(move || {
            attachments
                .into_iter()
                .map(|a| {
                    let blob = match a.content {
                        super::BlobSource::Addressed { file, len, sha256 } => {
                            blobs.adopt(file, len, &sha256)?
                        }
                        other => blobs.write(other.open()?)?,
                    };
                    Ok((a.attachment_id, a.filename, a.media_type, blob))
                })
                .collect::<Result<Vec<_>>>()
        })
        .await??;
        self.run(move |conn, blobs| {
            let (decision, problems) = sub.decision.columns()?;
            let auth_tags = records::tags_column(sub.evidence.auth_tags.as_ref())?;
            let hashes = serde_json::to_string(&sub.evidence.hashes)?;
            let id = &sub.submission_id;
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.prepare_cached(sql::SEEN_INSERT)?
                .execute(params![id, now.0])?;
            let state: String = tx
                .prepare_cached(sql::SUBMISSION_STATE)?
                .query_row([id], |r| r.get(0))?;
            if state == "stored" {
                return Ok(StoreOutcome::AlreadyStored);
            }
            tx.prepare_cached(sql::SUBMISSION_STORE)?.execute(params![
                id,
                now.0,
                sub.envelope,
                decision,
                problems,
                sub.ack_policy.as_str(),
                sub.case_id,
                sub.destination_id,
                sub.message_type,
                sub.fachdaten
            ])?;
            tx.prepare_cached(sql::EVIDENCE_INSERT)?.execute(params![
                id,
                sub.evidence.submit_set,
                auth_tags,
                hashes,
                sub.evidence.received_at.0,
                sub.evidence.decided_at.0
            ])?;
            for upstream in &sub.upstreams {
                tx.prepare_cached(sql::OUTBOX_INSERT)?
                    .execute(params![id, upstream, now.0])?;
            }
            for (attachment_id, filename, media_type, blob) in &written {
                // A purge (under this lock) may have removed a blob with the same content
                // after it was written above: then fail, and the submission is stored again
                // later, rather than commit a row that refers to nothing.
                let path = blobs.path(&blob.sha256);
                if !path.is_file() {
                    return Err(StoreError::io(
                        path.display(),
                        std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            "removed by a concurrent purge; store again",
                        ),
                    ));
                }
                let size = i64::try_from(blob.size).expect("file sizes fit in i64");
                tx.prepare_cached(sql::ATTACHMENT_INSERT)?.execute(params![
                    id,
                    attachment_id,
                    filename,
                    media_type,
                    size,
                    blob.sha256
                ])?;
            }
            tx.commit()?;
            Ok(StoreOutcome::Stored)
        })
        .await
    }

    async fn export_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        dest: &Path,
    ) -> Result<AttachmentMeta> {
        let (sid, aid, dest) = (
            submission_id.to_owned(),
            attachment_id.to_owned(),
            dest.to_owned(),
        );
        self.run(move |conn, blobs| {
            let (meta, src) = blob_of(conn, blobs, &sid, &aid)?;
            // Durable on return, like the PostgreSQL export: a file-drop delivery renames the
            // exported file into place and is then recorded as delivered.
            let io_err = |e| StoreError::io(dest.display(), e);
            let mut from = File::open(&src).map_err(|e| StoreError::io(src.display(), e))?;
            let mut to = crate::private_file::create(&dest).map_err(io_err)?;
            std::io::copy(&mut from, &mut to).map_err(io_err)?;
            to.sync_all().map_err(io_err)?;
            Ok(meta)
        })
        .await
    }

    async fn open_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        _spool_dir: &Path,
    ) -> Result<(AttachmentMeta, File)> {
        let (sid, aid) = (submission_id.to_owned(), attachment_id.to_owned());
        let (s2, a2) = (sid.clone(), aid.clone());
        // Read beside the writer; a blob a purge removed after the reader's snapshot is then
        // missing, and the answer comes from the writer's connection instead.
        let read = self
            .run_read(move |conn, blobs| {
                let (meta, src) = blob_of(conn, blobs, &s2, &a2)?;
                Ok(File::open(&src).ok().map(|file| (meta, file)))
            })
            .await?;
        if let Some(opened) = read {
            return Ok(opened);
        }
        self.run(move |conn, blobs| {
            let (meta, src) = blob_of(conn, blobs, &sid, &aid)?;
            // Under the connection lock: a purge cannot remove the blob between the row and
            // the open; once open, the handle reads on whatever happens to the name.
            let file = File::open(&src).map_err(|e| StoreError::io(src.display(), e))?;
            Ok((meta, file))
        })
        .await
    }

    async fn callback_replayed(&self, key: &ReplayKey) -> Result<bool> {
        let key = key.clone();
        self.run_read(move |conn, _| {
            let n: i64 = conn
                .prepare_cached(sql::CALLBACK_SEEN)?
                .query_row(params![key.destination, key.timestamp, key.mac], |r| {
                    r.get(0)
                })?;
            Ok(n > 0)
        })
        .await
    }

    async fn record_callback(&self, key: &ReplayKey, now: i64) -> Result<()> {
        let key = key.clone();
        self.run(move |conn, _| {
            conn.prepare_cached(sql::CALLBACK_RECORD)?.execute(params![
                key.destination,
                key.timestamp,
                key.mac
            ])?;
            conn.prepare_cached(sql::CALLBACK_PRUNE)?
                .execute([ReplayKey::forget_before(now)])?;
            Ok(())
        })
        .await
    }

    async fn pending_acks(&self, limit: u32) -> Result<Vec<AckDue>> {
        self.run_read(move |conn, _| {
            let mut stmt = conn.prepare_cached(sql::PENDING_ACKS)?;
            let rows = stmt.query_map([i64::from(limit)], |r| {
                Ok(records::PendingRow {
                    submission_id: r.get(0)?,
                    decision: r.get(1)?,
                    problems: r.get(2)?,
                    auth_tags: r.get(3)?,
                    case_id: r.get(4)?,
                    destination_id: r.get(5)?,
                })
            })?;
            rows.map(|row| Ok(row?.decode()))
                .collect::<Result<Vec<_>>>()
        })
        .await
    }

    async fn mark_acknowledged(
        &self,
        submission_id: &str,
        now: Timestamp,
        ack_set: Option<String>,
    ) -> Result<AckMark> {
        let id = submission_id.to_owned();
        self.run(move |conn, _| {
            if conn
                .prepare_cached(sql::ACK_MARK)?
                .execute(params![id, now.0, ack_set])?
                == 1
            {
                return Ok(AckMark::Marked);
            }
            match conn
                .query_row(sql::SUBMISSION_STATE, [&id], |r| r.get::<_, String>(0))
                .optional()?
                .as_deref()
            {
                Some("stored") => Ok(AckMark::AlreadyMarked),
                _ => Err(StoreError::NotFound { what: "submission" }),
            }
        })
        .await
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>> {
        let worker = worker.to_owned();
        let until = now.plus(lease);
        self.run(move |conn, _| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut claimed = {
                let mut stmt = tx.prepare_cached(
                    "UPDATE outbox SET lease_owner = ?1, lease_until = ?2, \
                     attempts = attempts + 1 WHERE job_id IN (SELECT job_id FROM outbox \
                     WHERE state = 'pending' AND next_attempt_at <= ?3 AND (lease_until IS NULL \
                     OR lease_until <= ?3) ORDER BY next_attempt_at, job_id LIMIT ?4) \
                     RETURNING job_id, submission_id, upstream, attempts, created_at, \
                     lease_until, (SELECT coalesce(s.envelope, '') FROM submissions s \
                     WHERE s.submission_id = outbox.submission_id)",
                )?;
                let rows =
                    stmt.query_map(params![worker, until.0, now.0, i64::from(limit)], |r| {
                        Ok(ClaimedJob {
                            job_id: r.get(0)?,
                            submission_id: r.get(1)?,
                            upstream: r.get(2)?,
                            attempts: r.get(3)?,
                            created_at: Timestamp(r.get(4)?),
                            lease_until: Timestamp(r.get(5)?),
                            envelope: r.get(6)?,
                        })
                    })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.commit()?;
            claimed.sort_by_key(|j| j.job_id);
            Ok(claimed)
        })
        .await
    }

    async fn extend_lease(&self, job_id: i64, worker: &str, until: Timestamp) -> Result<bool> {
        let worker = worker.to_owned();
        self.run(move |conn, _| {
            Ok(conn
                .prepare_cached(sql::JOB_EXTEND)?
                .execute(params![job_id, worker, until.0])?
                == 1)
        })
        .await
    }

    async fn complete_job(&self, job_id: i64, now: Timestamp) -> Result<Completion> {
        self.run(move |conn, _| {
            if conn
                .prepare_cached(sql::JOB_COMPLETE)?
                .execute(params![job_id, now.0])?
                == 1
            {
                return Ok(Completion::Completed);
            }
            conn.prepare_cached(sql::JOB_STATE)?
                .query_row([job_id], |r| r.get::<_, String>(0))
                .optional()?
                .map(|_| Completion::AlreadyDelivered)
                .ok_or(StoreError::NotFound { what: "job" })
        })
        .await
    }

    async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        action: FailAction,
        error_kind: &str,
        now: Timestamp,
    ) -> Result<FailOutcome> {
        let (worker, error_kind) = (worker.to_owned(), error_kind.to_owned());
        self.run(move |conn, _| {
            let (changed, outcome) = match action {
                FailAction::RetryAt(at) => (
                    conn.prepare_cached(sql::JOB_RETRY)?
                        .execute(params![job_id, worker, at.0, error_kind])?,
                    FailOutcome::Retrying,
                ),
                FailAction::DeadLetter => (
                    conn.prepare_cached(sql::JOB_DEAD)?
                        .execute(params![job_id, worker, now.0, error_kind])?,
                    FailOutcome::DeadLettered,
                ),
            };
            Ok(if changed == 1 {
                outcome
            } else {
                FailOutcome::LeaseLost
            })
        })
        .await
    }

    async fn redrive(&self, which: Redrive, now: Timestamp) -> Result<u64> {
        self.run(move |conn, _| {
            let n = match which {
                Redrive::Job(id) => conn
                    .prepare_cached(sql::REDRIVE_ONE)?
                    .execute(params![id, now.0])?,
                Redrive::All => conn
                    .prepare_cached(sql::REDRIVE_ALL)?
                    .execute(params![now.0])?,
            };
            Ok(n as u64)
        })
        .await
    }

    async fn try_acquire_poller(&self) -> Result<bool> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let mut held = inner.poller.lock().unwrap_or_else(PoisonError::into_inner);
            if held.is_some() {
                return Ok(true);
            }
            // An OS file lock: released by the kernel when the process dies, like PostgreSQL's
            // session advisory lock, so a crashed poller never blocks its successor.
            let file = crate::private_file::options()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&inner.lock_path)
                .map_err(|e| StoreError::io(inner.lock_path.display(), e))?;
            match file.try_lock() {
                Ok(()) => {
                    *held = Some(file);
                    Ok(true)
                }
                Err(std::fs::TryLockError::WouldBlock) => Ok(false),
                Err(std::fs::TryLockError::Error(e)) => {
                    Err(StoreError::io(inner.lock_path.display(), e))
                }
            }
        })
        .await?
    }

    async fn release_poller(&self) -> Result<()> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            // Dropping the file releases the lock.
            inner
                .poller
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
        })
        .await?;
        Ok(())
    }

    async fn decisions(&self, rejected_only: bool, limit: u32) -> Result<Vec<DecisionSummary>> {
        self.run(move |conn, _| {
            let mut stmt = conn.prepare(sql::DECISIONS)?;
            let rows = stmt.query_map(params![rejected_only, i64::from(limit)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                    r.get::<_, Option<String>>(5)?,
                ))
            })?;
            rows.map(|row| {
                let (id, case, message, at, kind, problems) = row?;
                records::decision_summary(id, case, message, at, kind, problems)
            })
            .collect()
        })
        .await
    }

    async fn list_jobs(&self, filter: JobFilter) -> Result<Vec<JobSummary>> {
        self.run(move |conn, _| {
            jobs(
                conn,
                sql::LIST_JOBS,
                params![filter.state.map(JobState::as_str), i64::from(filter.limit)],
            )
        })
        .await
    }

    async fn submission_counts(&self, since: Timestamp) -> Result<SubmissionCounts> {
        self.run(move |conn, _| {
            let (received, accepted, rejected) = conn
                .prepare_cached(sql::SUBMISSION_COUNTS)?
                .query_row(params![since.0], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })?;
            let n = |v: i64| u64::try_from(v).unwrap_or(0);
            Ok(SubmissionCounts {
                received: n(received),
                accepted: n(accepted),
                rejected: n(rejected),
            })
        })
        .await
    }

    async fn list_submissions(&self, filter: SubmissionFilter) -> Result<Vec<SubmissionListItem>> {
        self.run(move |conn, _| {
            let mut stmt = conn.prepare(sql::SUBMISSION_LIST)?;
            let rows = stmt.query_map(
                params![
                    filter.decision_column(),
                    filter.message_type,
                    filter.destination_id,
                    filter.since.map(|t| t.0),
                    filter.until.map(|t| t.0),
                    i64::from(filter.limit),
                    i64::try_from(filter.offset).unwrap_or(i64::MAX),
                ],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Option<i64>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<i64>>(6)?,
                    ))
                },
            )?;
            rows.map(|row| {
                let (id, dest, message, seen, stored, decision, purged) = row?;
                records::list_item(id, dest, message, seen, stored, decision, purged)
            })
            .collect()
        })
        .await
    }

    async fn fachdaten(&self, submission_id: &str) -> Result<Option<Vec<u8>>> {
        let id = submission_id.to_owned();
        self.run(move |conn, _| {
            Ok(conn
                .query_row(sql::FACHDATEN, params![id], |r| r.get::<_, Vec<u8>>(0))
                .optional()?)
        })
        .await
    }

    async fn submission(&self, submission_id: &str) -> Result<Option<SubmissionView>> {
        let id = submission_id.to_owned();
        self.run_read(move |conn, _| submission_view(conn, &id))
            .await
    }

    async fn purge_payloads(
        &self,
        delivered_before: Timestamp,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<PurgeReport> {
        // Files of submissions purged now; the first run of this instance also those of every
        // earlier purge, in case one was interrupted between its commit and the removal.
        let purged_since = if dry_run || self.inner.purge_swept.swap(true, Ordering::SeqCst) {
            now.0
        } else {
            i64::MIN
        };
        self.run(move |conn, blobs| {
            let mut report = PurgeReport::default();
            if dry_run {
                report.submission_ids = due(conn, delivered_before, i64::MAX)?;
                return Ok(report);
            }
            loop {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let ids = due(&tx, delivered_before, i64::from(retention::BATCH))?;
                for id in &ids {
                    tx.prepare_cached(sql::PURGE_SUBMISSION)?
                        .execute(params![id, now.0])?;
                    tx.prepare_cached(sql::PURGE_ATTACHMENT_NAMES)?
                        .execute([id])?;
                }
                tx.commit()?;
                let last = ids.len() < retention::BATCH as usize;
                report.submission_ids.extend(ids);
                if last {
                    break;
                }
            }
            report.replies_purged = conn.prepare_cached(sql::PURGE_REPLIES)?.execute([])? as u64;
            // After the commit, still under the connection lock (see `retention.rs`).
            let orphans: Vec<String> = {
                let mut stmt = conn.prepare(BLOBS_OF_PURGED_ONLY)?;
                let rows = stmt.query_map([purged_since], |r| r.get(0))?;
                rows.collect::<rusqlite::Result<_>>()?
            };
            for sha256 in orphans {
                let path = blobs.path(&sha256);
                match std::fs::remove_file(&path) {
                    Ok(()) => report.files_removed += 1,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(StoreError::io(path.display(), e)),
                }
            }
            Ok(report)
        })
        .await
    }

    async fn metrics(&self, now: Timestamp) -> Result<QueueMetrics> {
        self.run(move |conn, _| {
            let m = conn.prepare_cached(sql::METRICS)?.query_row([now.0], |r| {
                let mut c = [0i64; 8];
                for (i, v) in c.iter_mut().enumerate() {
                    *v = r.get(i)?;
                }
                Ok((
                    c,
                    r.get::<_, Option<i64>>(8)?,
                    [r.get::<_, i64>(9)?, r.get::<_, i64>(10)?],
                ))
            })?;
            let (c, oldest, replies) = m;
            Ok(QueueMetrics {
                submissions_unfinished: count(c[0]),
                submissions_unacked: count(c[1]),
                submissions_acked: count(c[2]),
                jobs_pending: count(c[3]),
                jobs_due: count(c[4]),
                jobs_leased: count(c[5]),
                jobs_delivered: count(c[6]),
                jobs_dead: count(c[7]),
                oldest_due_age: oldest.map_or(Duration::ZERO, |t| now.since(Timestamp(t))),
                replies_pending: count(replies[0]),
                replies_dead: count(replies[1]),
            })
        })
        .await
    }
}

/// Content hashes of submissions purged at or after `?1` that no unpurged submission refers
/// to: their blob files may go.
const BLOBS_OF_PURGED_ONLY: &str = "SELECT DISTINCT a.sha256 FROM attachments a \
     JOIN submissions s ON s.submission_id = a.submission_id WHERE s.purged_at >= ?1 \
     AND NOT EXISTS (SELECT 1 FROM attachments b JOIN submissions t \
        ON t.submission_id = b.submission_id WHERE b.sha256 = a.sha256 AND t.purged_at IS NULL)";

/// An attachment's row and the path of its blob; [`StoreError::NotFound`] when there is none.
fn blob_of(
    conn: &Connection,
    blobs: &BlobDir,
    submission_id: &str,
    attachment_id: &str,
) -> Result<(AttachmentMeta, PathBuf)> {
    let meta = conn
        .prepare_cached(sql::ATTACHMENT_META)?
        .query_row([submission_id, attachment_id], attachment_meta)
        .optional()?
        .ok_or(StoreError::NotFound { what: "attachment" })?;
    let path = blobs.path(&meta.sha256);
    Ok((meta, path))
}

/// The submissions due for a purge ([`sql::PURGE_DUE`]).
fn due(conn: &Connection, delivered_before: Timestamp, limit: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(sql::PURGE_DUE)?;
    let rows = stmt.query_map(params![delivered_before.0, limit], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn submission_view(conn: &Connection, id: &str) -> Result<Option<SubmissionView>> {
    let row = conn
        .prepare_cached(sql::SUBMISSION_VIEW)?
        .query_row([id], |r| {
            Ok(records::ViewRow {
                submission_id: r.get(0)?,
                seen_at: r.get(1)?,
                stored_at: r.get(2)?,
                decision: r.get(3)?,
                problems: r.get(4)?,
                ack_policy: r.get(5)?,
                acked_at: r.get(6)?,
                ack_set: r.get(7)?,
                envelope: r.get(8)?,
                case_id: r.get(9)?,
                destination_id: r.get(10)?,
                message_type: r.get(11)?,
                purged_at: r.get(12)?,
            })
        })
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let evidence = conn
        .prepare_cached(sql::EVIDENCE_OF)?
        .query_row([id], |r| {
            Ok(records::EvidenceRow {
                submit_set: r.get(0)?,
                auth_tags: r.get(1)?,
                hashes: r.get(2)?,
                received_at: r.get(3)?,
                decided_at: r.get(4)?,
            })
        })
        .optional()?
        .map(records::EvidenceRow::decode)
        .transpose()?;
    let attachments = {
        let mut stmt = conn.prepare(sql::ATTACHMENTS_OF)?;
        let rows = stmt.query_map([id], attachment_meta)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()?
    };
    let jobs = jobs(conn, sql::JOBS_OF, [id])?;
    row.into_view(evidence, attachments, jobs).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads run beside the writer (issue 18, goal 4): with the writer's connection held, a
    /// read still answers, and it sees what the writer committed before it.
    #[tokio::test]
    async fn reads_do_not_queue_behind_the_writer_and_see_its_commits() {
        use crate::store::{NewSubmission, Store};
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStore::open(dir.path().join("s.db"))
            .await
            .expect("open");
        let t = Timestamp(1_800_000_000_000);
        s.store_submission(
            NewSubmission::accepted_for_tests("sub-1", &[], vec![], t),
            t,
        )
        .await
        .expect("store");
        let held = Arc::clone(&s.inner);
        let (locked, release) = (
            std::sync::mpsc::channel::<()>(),
            std::sync::mpsc::channel::<()>(),
        );
        let holder = std::thread::spawn(move || {
            let _writer = held.conn.lock().expect("lock");
            locked.0.send(()).expect("send");
            let _ = release.1.recv_timeout(Duration::from_secs(30));
        });
        locked.1.recv().expect("writer held");
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            (
                s.is_stored("sub-1").await.expect("read"),
                s.is_stored("sub-2").await.expect("read"),
                s.submission("sub-1").await.expect("read").is_some(),
            )
        })
        .await
        .expect("the reads answered while the writer was held");
        assert_eq!(read, (true, false, true));
        release.0.send(()).expect("release");
        holder.join().expect("holder");
        // A read that panics frees its reader's slot: all slots still open readers after.
        for _ in 0..MAX_READERS + 1 {
            let r = s
                .run_read(|_, _| -> Result<()> { panic!("a bug in a read") })
                .await;
            assert!(r.is_err(), "the panic is an error of the read");
        }
        assert_eq!(
            s.inner.readers.pool.lock().expect("pool").1,
            0,
            "no slot leaked"
        );
        // Readers are query-only: a write through one fails.
        let reader = s.inner.readers.take().expect("a reader");
        assert!(reader.execute("DELETE FROM submissions", []).is_err());
        s.inner.readers.give_back(reader);
    }

    /// A purge interrupted between its commit and the removal of the files (simulated: the
    /// row is marked purged behind the store's back) leaves files the first purge after the
    /// restart removes.
    #[tokio::test]
    async fn files_an_interrupted_purge_left_are_removed_after_a_restart() {
        use crate::store::{BlobSource, NewAttachment, NewSubmission, Store};
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        let s = SqliteStore::open(&path).await.expect("open");
        let t = Timestamp(1_800_000_000_000);
        s.store_submission(
            NewSubmission::accepted_for_tests(
                "sub-1",
                &[],
                vec![NewAttachment {
                    attachment_id: "a".to_owned(),
                    filename: None,
                    media_type: "application/pdf".to_owned(),
                    content: BlobSource::Reader(Box::new(std::io::Cursor::new(b"pdf".to_vec()))),
                }],
                t,
            ),
            t,
        )
        .await
        .expect("store");
        let blob = s.inner.blobs.path(&crate::store::blob::hex(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"pdf").as_ref(),
        ));
        assert!(blob.is_file());
        drop(s);
        Connection::open(&path)
            .and_then(|c| c.execute("UPDATE submissions SET purged_at = 5, envelope = NULL", []))
            .expect("mark purged");
        let s = SqliteStore::open(&path).await.expect("reopen");
        let report = s.purge_payloads(t, t, false).await.expect("purge");
        assert_eq!((report.submission_ids.len(), report.files_removed), (0, 1));
        assert!(!blob.exists());
    }

    #[tokio::test]
    async fn refuses_a_schema_from_a_newer_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.db");
        drop(SqliteStore::open(&path).await.expect("open"));
        let conn = Connection::open(&path).expect("raw open");
        conn.execute(sql::MIGRATION_RECORD, params![99, "from the future", 0])
            .expect("insert");
        drop(conn);
        let err = SqliteStore::open(&path).await.expect_err("must refuse");
        assert!(
            matches!(
                err,
                StoreError::SchemaFromFuture {
                    found: 99,
                    known: 6
                }
            ),
            "{err}"
        );
    }
}
