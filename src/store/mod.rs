//! The durable store of the gateway (layer L2, I/O only): submissions, attachments, evidence,
//! acknowledgement bookkeeping and the forwarding outbox, behind one trait with two backends.
//!
//! # Design note
//!
//! **Backends.** [`SqliteStore`] (embedded default; WAL, `synchronous=FULL`, one writer
//! connection) and [`PgStore`] (several gateway instances on one database; claims with
//! `FOR UPDATE SKIP LOCKED`). Both pass the same test suite (`tests/it/store_suite.rs`).
//!
//! **Invariants.**
//! 1. A submission id is stored at most once: `submissions.submission_id` is the primary key,
//!    and [`Store::store_submission`] writes nothing when the row is already `stored`.
//! 2. A stored submission is complete: envelope, decision, evidence, attachment rows and one
//!    outbox job per upstream are written in one transaction; a committed attachment row always
//!    refers to complete, durable content.
//! 3. An acknowledgement is due only for a stored decision (and, under
//!    [`AckPolicy::AfterForward`], only when every job of the submission is delivered), so
//!    nothing is acknowledged before it is durable. It is recorded once: only the first
//!    [`Store::mark_acknowledged`] changes the row.
//! 4. A pending job is owned by at most one worker at a time: a claim sets a lease
//!    (worker, expiry) under the write lock (SQLite) or a `SKIP LOCKED` row lock (PostgreSQL);
//!    an expired lease makes the job claimable again. Only the lease holder may reschedule or
//!    dead-letter it. Delivery is at-least-once; the submission id is the upstream's
//!    `Idempotency-Key`.
//! 5. Evidence is never deleted by the store. The payload of a forwarded submission (envelope,
//!    the XML Fachdaten kept for the case-worker document, attachment contents and names) is
//!    purged after the retention ([`Store::purge_payloads`], rule and commit points in
//!    `retention.rs`); a purged row keeps `purged_at`.
//!
//! **Commit points.** (a) [`Store::record_seen`]: the id is known. (b) Attachments: SQLite
//! streams each into a content-addressed file (`<db>.blobs/aa/<sha256>`): write to `tmp/`,
//! fsync, rename, fsync the directory — then (c) the one transaction of
//! [`Store::store_submission`] commits (WAL + FULL: durable on return). PostgreSQL streams the
//! content as 256 KiB `bytea` chunks inside that same transaction, so there is no second place
//! to keep consistent (and no large-object bookkeeping). (d) The caller sends the
//! acknowledgement, then (e) [`Store::mark_acknowledged`]. (f) Claim, (g) deliver, (h)
//! [`Store::complete_job`] or [`Store::fail_job`].
//!
//! **Recovery.** Work resumes from the store; no in-memory state is needed. A crash before (c)
//! leaves the id `seen` ([`Seen::Unfinished`]): the pipeline processes it again (orphaned blob
//! files from (b) are harmless, `tmp/` is swept on open). A crash between (d) and (e) leaves the
//! ack pending: it is sent again and the delivery service tolerates the duplicate. A crash
//! during (g) leaves a lease that expires; the job is claimed again and re-delivered with the
//! same idempotency key. A stale worker completing after its lease was taken over is harmless:
//! completion is idempotent.
//!
//! **Time.** Every time-dependent operation takes `now` from the caller ([`Timestamp`],
//! milliseconds since the epoch), so leases and due times are testable and all instances use
//! the host clocks (keep them NTP-synchronised; leases should exceed delivery timeouts by more
//! than the expected skew).

mod blob;
mod error;
pub(crate) mod lease;
mod migrations;
mod password;
mod postgres;
mod records;
mod replies;
mod retention;
mod retry;
mod sql;
mod sqlite;

use std::future::Future;
use std::path::Path;
use std::time::Duration;

pub use blob::AddressWriter;
pub use error::StoreError;
pub use password::{PASSWORD_ENV, StorePassword};
pub use postgres::PgStore;
pub use records::{
    AckDue, AckMark, AckPolicy, AttachmentMeta, BlobSource, ClaimedJob, Completion, Decision,
    DecisionSummary, Evidence, FailAction, FailOutcome, JobFilter, JobState, JobSummary,
    NewAttachment, NewSubmission, PendingAck, QueueMetrics, Redrive, Seen, StoreOutcome,
    SubmissionCounts, SubmissionFilter, SubmissionListItem, SubmissionView, Timestamp,
};
pub use replies::{
    ClaimedReply, NewReply, ReplyAttachment, ReplyContext, ReplyInsert, ReplyPhase, ReplyStep,
    ReplyStore, ReplyView,
};
pub use retention::{PurgeReport, Retention};
pub use retry::RetryPolicy;

use crate::fitconnect::callback::ReplayKey;
pub use sqlite::SqliteStore;

type Result<T> = std::result::Result<T, StoreError>;

/// The durable state of the gateway. Implemented by [`SqliteStore`], [`PgStore`] and the
/// dispatching [`AnyStore`]; every method is one atomic step.
pub trait Store: Send + Sync {
    /// The migration versions applied to this database, ascending.
    fn applied_migrations(&self) -> impl Future<Output = Result<Vec<i64>>> + Send;

    /// Records a submission id as seen (idempotent) and tells whether it still needs
    /// processing.
    fn record_seen(
        &self,
        submission_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<Seen>> + Send;

    /// Whether the submission is stored (processed and decided). Reads only: an id a trigger
    /// names is checked with this before it is downloaded, and recorded as seen only after the
    /// download succeeded, so that ids of submissions that do not exist leave nothing behind.
    fn is_stored(&self, submission_id: &str) -> impl Future<Output = Result<bool>> + Send;

    /// Stores a processed submission in one transaction (see the design note). Writes nothing
    /// if the id is already stored. On an error nothing of it is visible.
    fn store_submission(
        &self,
        submission: NewSubmission,
        now: Timestamp,
    ) -> impl Future<Output = Result<StoreOutcome>> + Send;

    /// Writes an attachment's content to the file `dest` (streaming) and returns its metadata.
    fn export_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        dest: &Path,
    ) -> impl Future<Output = Result<AttachmentMeta>> + Send;

    /// Opens an attachment's content for one read (an upload), positioned at its start:
    /// SQLite opens the immutable blob itself (nothing copied; a purge meanwhile removes only
    /// the name), PostgreSQL writes its chunks into an unnamed file in `spool_dir` (not synced:
    /// it lives as long as the handle).
    fn open_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        spool_dir: &Path,
    ) -> impl Future<Output = Result<(AttachmentMeta, std::fs::File)>> + Send;

    /// Stored decisions whose acknowledgement is due and not yet recorded, oldest first. A row
    /// whose decision or evidence cannot be decoded comes back as [`AckDue::Undecodable`].
    fn pending_acks(&self, limit: u32) -> impl Future<Output = Result<Vec<AckDue>>> + Send;

    /// Records that the acknowledgement was sent (with the SET sent, as evidence). Only the
    /// first call changes anything.
    fn mark_acknowledged(
        &self,
        submission_id: &str,
        now: Timestamp,
        ack_set: Option<String>,
    ) -> impl Future<Output = Result<AckMark>> + Send;

    /// Claims up to `limit` due jobs for `worker` until `now + lease`, counting an attempt for
    /// each.
    fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ClaimedJob>>> + Send;

    /// Extends the lease of a job `worker` holds to `until` (a heartbeat while a delivery
    /// runs). Returns `false` when the lease is no longer this worker's (taken over after it
    /// expired, or the job is finished).
    fn extend_lease(
        &self,
        job_id: i64,
        worker: &str,
        until: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// Marks a job delivered (idempotent).
    fn complete_job(
        &self,
        job_id: i64,
        now: Timestamp,
    ) -> impl Future<Output = Result<Completion>> + Send;

    /// Records a failed attempt by the lease holder: retry later or dead-letter, as the
    /// [`RetryPolicy`] decided. `error_kind` is a short kind (`timeout`, `http-503`), never
    /// payload data.
    fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        action: FailAction,
        error_kind: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<FailOutcome>> + Send;

    /// Moves dead letters back to pending, due now, with a fresh attempt count; returns how
    /// many.
    fn redrive(&self, which: Redrive, now: Timestamp) -> impl Future<Output = Result<u64>> + Send;

    /// Tries to become the one poller of this database. Held until released or until the
    /// process (PostgreSQL: its lock session) ends. Call before each poll round: it returns
    /// `true` at once while the lock is held.
    fn try_acquire_poller(&self) -> impl Future<Output = Result<bool>> + Send;

    /// Gives up the poller role.
    fn release_poller(&self) -> impl Future<Output = Result<()>> + Send;

    /// Jobs for `queue list` / `queue dead-letters`, oldest first.
    fn list_jobs(&self, filter: JobFilter) -> impl Future<Output = Result<Vec<JobSummary>>> + Send;

    /// Stored decisions for `queue decisions`, newest first, at most `limit`; only rejections
    /// with `rejected_only`.
    fn decisions(
        &self,
        rejected_only: bool,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<DecisionSummary>>> + Send;

    /// Submissions first seen at or after `since`, with how many were accepted and rejected
    /// (the console's overview).
    fn submission_counts(
        &self,
        since: Timestamp,
    ) -> impl Future<Output = Result<SubmissionCounts>> + Send;

    /// Submissions for the console's list, newest first, filtered and paged.
    fn list_submissions(
        &self,
        filter: SubmissionFilter,
    ) -> impl Future<Output = Result<Vec<SubmissionListItem>>> + Send;

    /// The Fachdaten (XML) of a stored submission, for the case-worker document; `None` when
    /// none were stored or they were purged.
    fn fachdaten(
        &self,
        submission_id: &str,
    ) -> impl Future<Output = Result<Option<Vec<u8>>>> + Send;

    /// Everything about one submission, for `queue show`.
    fn submission(
        &self,
        submission_id: &str,
    ) -> impl Future<Output = Result<Option<SubmissionView>>> + Send;

    /// Purges the payload of every submission due under the retention rule (`retention.rs`):
    /// last delivered at or before `delivered_before`; marks them purged at `now`. With
    /// `dry_run` nothing changes and the report names what would be purged. A second run
    /// purges nothing new.
    fn purge_payloads(
        &self,
        delivered_before: Timestamp,
        now: Timestamp,
        dry_run: bool,
    ) -> impl Future<Output = Result<PurgeReport>> + Send;

    /// Counts for `/metrics`.
    fn metrics(&self, now: Timestamp) -> impl Future<Output = Result<QueueMetrics>> + Send;

    /// Whether a callback with this replay key was accepted before.
    fn callback_replayed(&self, key: &ReplayKey) -> impl Future<Output = Result<bool>> + Send;

    /// Records an accepted callback and forgets the ones outside the replay window (`now` in
    /// Unix seconds).
    fn record_callback(&self, key: &ReplayKey, now: i64)
    -> impl Future<Output = Result<()>> + Send;
}

/// A store chosen at run time from an address.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// `sqlite:PATH`
    Sqlite(SqliteStore),
    /// `postgres://…` or `postgresql://…`
    Postgres(PgStore),
}

/// What a store opened by [`AnyStore::open_existing`] may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only: SQLite opened `SQLITE_OPEN_READ_ONLY`, PostgreSQL sessions with read-only
    /// transactions. For inspection (`queue list`, `queue show`).
    ReadOnly,
    /// Reads and writes rows of the existing tables (`queue redrive`).
    ReadWrite,
}

/// `address` fit for logs and errors: a PostgreSQL password (in the user part or a
/// `password=` parameter) is replaced by `***`; everything else is kept, so an operator sees
/// which store is meant.
#[must_use]
pub fn display_address(address: &str) -> String {
    let Some(scheme_end) = address.find("://") else {
        return address.to_owned();
    };
    let (scheme, rest) = address.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{user_info}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}{authority}{tail}")
}

impl AnyStore {
    /// Opens an existing store without creating or migrating anything: the SQLite file must
    /// exist, the PostgreSQL database too, and either must be at exactly the schema version
    /// this binary writes ([`StoreError::NotInitialised`], [`StoreError::NotMigrated`]).
    /// For tools that inspect or repair the gateway's store, which must never create tables
    /// by accident or migrate a store under a running gateway of another version.
    pub async fn open_existing(address: &str, access: Access) -> Result<Self> {
        Self::open_existing_with(address, access, None).await
    }

    /// [`AnyStore::open_existing`] with a PostgreSQL password from outside the address.
    pub async fn open_existing_with(
        address: &str,
        access: Access,
        password: Option<&StorePassword>,
    ) -> Result<Self> {
        if let Some(path) = address.strip_prefix("sqlite:") {
            Ok(Self::Sqlite(
                SqliteStore::open_existing(path, access).await?,
            ))
        } else if address.starts_with("postgres://") || address.starts_with("postgresql://") {
            Ok(Self::Postgres(
                PgStore::connect_existing(address, access, password).await?,
            ))
        } else {
            Err(StoreError::Address)
        }
    }

    /// Opens `sqlite:PATH` or connects to `postgres://…`, applying pending migrations.
    pub async fn open(address: &str) -> Result<Self> {
        Self::open_with(address, None).await
    }

    /// [`AnyStore::open`] with a PostgreSQL password from outside the address.
    pub async fn open_with(address: &str, password: Option<&StorePassword>) -> Result<Self> {
        if let Some(path) = address.strip_prefix("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::open(path).await?))
        } else if address.starts_with("postgres://") || address.starts_with("postgresql://") {
            Ok(Self::Postgres(
                PgStore::connect_with(address, None, password).await?,
            ))
        } else {
            Err(StoreError::Address)
        }
    }
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e.await,
            AnyStore::Postgres($s) => $e.await,
        }
    };
}

impl Store for AnyStore {
    async fn applied_migrations(&self) -> Result<Vec<i64>> {
        dispatch!(self, s => s.applied_migrations())
    }
    async fn is_stored(&self, submission_id: &str) -> Result<bool> {
        dispatch!(self, s => s.is_stored(submission_id))
    }

    async fn record_seen(&self, submission_id: &str, now: Timestamp) -> Result<Seen> {
        dispatch!(self, s => s.record_seen(submission_id, now))
    }
    async fn store_submission(
        &self,
        submission: NewSubmission,
        now: Timestamp,
    ) -> Result<StoreOutcome> {
        dispatch!(self, s => s.store_submission(submission, now))
    }
    async fn export_attachment(&self, sid: &str, aid: &str, dest: &Path) -> Result<AttachmentMeta> {
        dispatch!(self, s => s.export_attachment(sid, aid, dest))
    }
    async fn open_attachment(
        &self,
        sid: &str,
        aid: &str,
        spool_dir: &Path,
    ) -> Result<(AttachmentMeta, std::fs::File)> {
        dispatch!(self, s => s.open_attachment(sid, aid, spool_dir))
    }
    async fn pending_acks(&self, limit: u32) -> Result<Vec<AckDue>> {
        dispatch!(self, s => s.pending_acks(limit))
    }
    async fn mark_acknowledged(
        &self,
        id: &str,
        now: Timestamp,
        ack_set: Option<String>,
    ) -> Result<AckMark> {
        dispatch!(self, s => s.mark_acknowledged(id, now, ack_set))
    }
    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>> {
        dispatch!(self, s => s.claim_jobs(worker, now, lease, limit))
    }
    async fn extend_lease(&self, job_id: i64, worker: &str, until: Timestamp) -> Result<bool> {
        dispatch!(self, s => s.extend_lease(job_id, worker, until))
    }
    async fn complete_job(&self, job_id: i64, now: Timestamp) -> Result<Completion> {
        dispatch!(self, s => s.complete_job(job_id, now))
    }
    async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        action: FailAction,
        error_kind: &str,
        now: Timestamp,
    ) -> Result<FailOutcome> {
        dispatch!(self, s => s.fail_job(job_id, worker, action, error_kind, now))
    }
    async fn redrive(&self, which: Redrive, now: Timestamp) -> Result<u64> {
        dispatch!(self, s => s.redrive(which, now))
    }
    async fn try_acquire_poller(&self) -> Result<bool> {
        dispatch!(self, s => s.try_acquire_poller())
    }
    async fn release_poller(&self) -> Result<()> {
        dispatch!(self, s => s.release_poller())
    }
    async fn list_jobs(&self, filter: JobFilter) -> Result<Vec<JobSummary>> {
        dispatch!(self, s => s.list_jobs(filter))
    }
    async fn decisions(&self, rejected_only: bool, limit: u32) -> Result<Vec<DecisionSummary>> {
        dispatch!(self, s => s.decisions(rejected_only, limit))
    }
    async fn submission_counts(&self, since: Timestamp) -> Result<SubmissionCounts> {
        dispatch!(self, s => s.submission_counts(since))
    }
    async fn list_submissions(&self, filter: SubmissionFilter) -> Result<Vec<SubmissionListItem>> {
        dispatch!(self, s => s.list_submissions(filter))
    }
    async fn fachdaten(&self, submission_id: &str) -> Result<Option<Vec<u8>>> {
        dispatch!(self, s => s.fachdaten(submission_id))
    }
    async fn submission(&self, submission_id: &str) -> Result<Option<SubmissionView>> {
        dispatch!(self, s => s.submission(submission_id))
    }
    async fn purge_payloads(
        &self,
        delivered_before: Timestamp,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<PurgeReport> {
        dispatch!(self, s => s.purge_payloads(delivered_before, now, dry_run))
    }
    async fn metrics(&self, now: Timestamp) -> Result<QueueMetrics> {
        dispatch!(self, s => s.metrics(now))
    }
    async fn callback_replayed(&self, key: &ReplayKey) -> Result<bool> {
        dispatch!(self, s => s.callback_replayed(key))
    }
    async fn record_callback(&self, key: &ReplayKey, now: i64) -> Result<()> {
        dispatch!(self, s => s.record_callback(key, now))
    }
}

#[cfg(test)]
mod address_tests {
    use super::display_address;

    #[test]
    fn passwords_in_store_addresses_are_never_shown() {
        for (address, shown) in [
            ("sqlite:data/poststelle.db", "sqlite:data/poststelle.db"),
            (
                "postgres://gw:s3cr3t@db.example:5432/poststelle",
                "postgres://gw:***@db.example:5432/poststelle",
            ),
            (
                "postgresql://gw:p@ss@db/x?sslmode=require&password=other",
                "postgresql://gw:***@db/x?sslmode=require&password=***",
            ),
            ("postgres://gw@db/x", "postgres://gw@db/x"),
            ("postgres://db/x?Password=x", "postgres://db/x?Password=***"),
        ] {
            assert_eq!(display_address(address), shown);
        }
    }
}
