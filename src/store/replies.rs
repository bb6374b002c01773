//! Replies (Rückkanal): the answers Fachverfahren hand in for stored submissions, kept until the
//! delivery service has them and the sender decided — the outbox of the reply direction.
//!
//! # Design note
//!
//! One row per reply, written before anything is sent ([`ReplyStore::insert_reply`]: the
//! validated XML, the attachments, the sender's reply key). A worker claims due rows with a
//! lease (as outbox jobs) and moves each through its **phases**:
//!
//! | phase | meaning | next step of the worker |
//! |---|---|---|
//! | `queued` | stored, nothing sent | `POST /replies` → `created` with the delivery service's reply id |
//! | `created` | the delivery service has an (incomplete) reply | upload + submit → `submitted` |
//! | `submitted` | sent; the sender has not decided | read its status → `accepted` / `rejected` |
//! | `accepted`, `rejected` | the sender decided (rejection problems kept) | — |
//! | `unanswered` | no decision within the follow time | — |
//!
//! The **state** says whether the worker still has work: `pending` (due at
//! `next_attempt_at`), `done`, or `dead` (failed too often or refused for good; re-drivable,
//! it resumes at its phase).
//!
//! **At most once per reply.** The delivery service's reply id is recorded (phase `created`)
//! before anything is uploaded, and a reply is submitted only in phase `created`; a worker
//! that finds `created` after a crash first asks the delivery service whether the reply was
//! submitted already (then it only records that). A crash between `POST /replies` and the
//! record leaves an incomplete reply there that is never submitted (the delivery service
//! deletes incomplete ones); the retry creates a new one.
//!
//! **Idempotent hand-in.** A Fachverfahren may send an `Idempotency-Key`: the same key from
//! the same upstream returns the stored reply instead of a second one.

use std::time::Duration;

use rusqlite::{OptionalExtension as _, params};
use serde::{Deserialize, Serialize};

use super::{AnyStore, PgStore, SqliteStore, StoreError, Timestamp, sql};

type Result<T> = std::result::Result<T, StoreError>;

/// An attachment of a reply, as stored (content base64 in the row's JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyAttachment {
    /// The attachment id announced to the delivery service (UUID).
    pub id: String,
    /// File name, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Media type.
    pub media_type: String,
    /// The content, base64 (standard alphabet).
    pub content: String,
}

/// A reply to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewReply {
    /// The gateway's id of the reply (UUID): what the Fachverfahren asks about.
    pub reply_id: String,
    /// The submission answered.
    pub submission_id: String,
    /// Its destination (whose subscriber client sends the reply).
    pub destination_id: String,
    /// The upstream (Fachverfahren) that handed it in, or `cli` for `poststelle reply`.
    pub upstream: String,
    /// Its `Idempotency-Key`, if it sent one.
    pub idempotency_key: Option<String>,
    /// The XÖV message type (root element).
    pub message_type: String,
    /// `submissionSchema.schemaUri` of the reply (`urn:xoev-de:…_<version>#<message>`).
    pub schema_uri: String,
    /// The sender's reply key (JWK JSON), checked when stored.
    pub reply_key: String,
    /// The validated XML.
    pub xml: Vec<u8>,
    /// The attachments.
    pub attachments: Vec<ReplyAttachment>,
}

/// Where a reply is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ReplyPhase {
    /// Stored, nothing sent.
    Queued,
    /// The delivery service has an incomplete reply.
    Created,
    /// Sent; no decision of the sender yet.
    Submitted,
    /// The sender accepted it.
    Accepted,
    /// The sender rejected it.
    Rejected,
    /// No decision within the follow time.
    Unanswered,
}

impl ReplyPhase {
    /// The stored name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Created => "created",
            Self::Submitted => "submitted",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Unanswered => "unanswered",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "queued" => Self::Queued,
            "created" => Self::Created,
            "submitted" => Self::Submitted,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            "unanswered" => Self::Unanswered,
            _ => {
                return Err(StoreError::Corrupt {
                    what: "reply phase",
                });
            }
        })
    }
}

/// A reply as the Fachverfahren and the operator see it (no content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyView {
    /// The gateway's id.
    pub reply_id: String,
    /// The submission answered.
    pub submission_id: String,
    /// Who handed it in.
    pub upstream: String,
    /// The message type.
    pub message_type: String,
    /// Where it is.
    pub phase: ReplyPhase,
    /// `pending`, `done` or `dead`.
    pub state: String,
    /// The delivery service's reply id, once created.
    pub fit_reply_id: Option<String>,
    /// Failed attempts of the current step.
    pub attempts: u32,
    /// Handed in.
    pub created_at: Timestamp,
    /// Submitted to the delivery service.
    pub submitted_at: Option<Timestamp>,
    /// Decided, given up or dead-lettered.
    pub finished_at: Option<Timestamp>,
    /// The last error (kind and cause, no content).
    pub last_error: Option<String>,
    /// The sender's rejection problems (JSON list), when rejected.
    pub problems: Option<String>,
}

/// A reply claimed by a worker, with what it needs to send it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedReply {
    /// The gateway's id.
    pub reply_id: String,
    /// The submission answered.
    pub submission_id: String,
    /// Its destination.
    pub destination_id: String,
    /// Where it is.
    pub phase: ReplyPhase,
    /// The delivery service's reply id, once created.
    pub fit_reply_id: Option<String>,
    /// Attempts of the current step, this one included.
    pub attempts: u32,
    /// Handed in.
    pub created_at: Timestamp,
    /// Submitted.
    pub submitted_at: Option<Timestamp>,
    /// `submissionSchema.schemaUri`.
    pub schema_uri: String,
    /// The reply key (JWK JSON).
    pub reply_key: String,
    /// The XML (empty once purged).
    pub xml: Vec<u8>,
    /// The attachments.
    pub attachments: Vec<ReplyAttachment>,
}

/// What a worker did with a claimed reply. Every step releases the lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyStep {
    /// `POST /replies` answered with this id: phase `created`, due now.
    Created {
        /// The delivery service's reply id.
        fit_reply_id: String,
    },
    /// The delivery service no longer has the incomplete reply (deleted after a long
    /// interruption): back to `queued`, created anew at once.
    Recreate,
    /// Submitted (or found submitted): phase `submitted`, next look at `next`.
    Submitted {
        /// When to ask for the decision.
        next: Timestamp,
    },
    /// Still undecided: ask again at `next` (failures so far are forgotten).
    Waiting {
        /// When to ask again.
        next: Timestamp,
    },
    /// The sender decided.
    Decided {
        /// Accepted (else rejected).
        accepted: bool,
        /// The rejection problems (JSON list).
        problems: Option<String>,
    },
    /// No decision within the follow time.
    Unanswered,
    /// Still working on the reply (an upload can outlast the lease): the lease runs until
    /// `until`; nothing else changes.
    Renew {
        /// The new end of the lease.
        until: Timestamp,
    },
    /// The step failed; try again at `at`.
    Retry {
        /// When.
        at: Timestamp,
        /// Kind and cause, no content.
        error: String,
    },
    /// The step failed for good (refused, or too many attempts): dead letter.
    Dead {
        /// Kind and cause, no content.
        error: String,
    },
}

/// What the gateway stored about a submission that a reply needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyContext {
    /// `accepted` or `rejected`.
    pub decision: String,
    /// Its destination.
    pub destination_id: String,
    /// The decrypted metadata (JSON) from the stored envelope; `None` once purged or for a
    /// rejected submission (which has no envelope).
    pub metadata: Option<String>,
    /// The upstreams it was routed to.
    pub upstreams: Vec<String>,
}

/// The outcome of [`ReplyStore::insert_reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyInsert {
    /// Stored now.
    Inserted(ReplyView),
    /// The upstream sent this idempotency key before: the reply stored then.
    Existing(ReplyView),
}

/// The replies' table, on both backends.
pub trait ReplyStore: Send + Sync {
    /// Stores a reply (phase `queued`, due now) in one transaction.
    fn insert_reply(
        &self,
        reply: NewReply,
        now: Timestamp,
    ) -> impl Future<Output = Result<ReplyInsert>> + Send;

    /// What a reply to a stored submission needs; `None` when it is not stored.
    fn reply_context(
        &self,
        submission_id: &str,
    ) -> impl Future<Output = Result<Option<ReplyContext>>> + Send;

    /// Claims due replies for `worker` until `now + lease` (oldest due first).
    fn claim_replies(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<ClaimedReply>>> + Send;

    /// Records a worker's step; `false` when the worker no longer holds the lease (nothing
    /// changed).
    fn advance_reply(
        &self,
        reply_id: &str,
        worker: &str,
        step: ReplyStep,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;

    /// One reply.
    fn reply(&self, reply_id: &str) -> impl Future<Output = Result<Option<ReplyView>>> + Send;

    /// The replies to a submission, oldest first.
    fn replies_of(
        &self,
        submission_id: &str,
    ) -> impl Future<Output = Result<Vec<ReplyView>>> + Send;

    /// A dead reply becomes due again at its phase; `false` if it is not dead.
    fn redrive_reply(
        &self,
        reply_id: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool>> + Send;
}

const COLUMNS: &str = "reply_id, submission_id, upstream, message_type, phase, state, \
     fit_reply_id, attempts, created_at, submitted_at, finished_at, last_error, problems";

const INSERT: &str = "INSERT INTO replies (reply_id, submission_id, destination_id, upstream, \
     idempotency_key, message_type, schema_uri, reply_key, xml, attachments, phase, state, \
     attempts, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, \
     'queued', 'pending', 0, ?11, ?11) ON CONFLICT DO NOTHING";

const BY_KEY: &str = "SELECT reply_id FROM replies WHERE upstream = ?1 AND idempotency_key = ?2";

fn select(filter: &str) -> String {
    format!("SELECT {COLUMNS} FROM replies WHERE {filter}")
}

const CLAIMED: &str = "reply_id, submission_id, destination_id, phase, fit_reply_id, attempts, \
     created_at, submitted_at, schema_uri, reply_key, coalesce(xml, X''), \
     coalesce(attachments, '[]')";

/// [`CLAIMED`] for PostgreSQL's `UPDATE … FROM` (the table is aliased `r`).
const PG_CLAIMED: &str = "r.reply_id, r.submission_id, r.destination_id, r.phase, \
     r.fit_reply_id, r.attempts, r.created_at, r.submitted_at, r.schema_uri, r.reply_key, \
     coalesce(r.xml, '\\x'::bytea), coalesce(r.attachments, '[]')";

/// `?1` id, `?2` worker, then per statement.
const STEP_CREATED: &str = "UPDATE replies SET phase = 'created', fit_reply_id = ?3, \
     attempts = 0, next_attempt_at = ?4, lease_owner = NULL, lease_until = NULL, \
     last_error = NULL WHERE reply_id = ?1 AND lease_owner = ?2 AND state = 'pending'";
const STEP_RECREATE: &str = "UPDATE replies SET phase = 'queued', fit_reply_id = NULL, \
     next_attempt_at = ?3, lease_owner = NULL, lease_until = NULL WHERE reply_id = ?1 \
     AND lease_owner = ?2 AND state = 'pending' AND phase = 'created'";
const STEP_SUBMITTED: &str = "UPDATE replies SET phase = 'submitted', submitted_at = \
     coalesce(submitted_at, ?4), attempts = 0, next_attempt_at = ?3, lease_owner = NULL, \
     lease_until = NULL, last_error = NULL WHERE reply_id = ?1 AND lease_owner = ?2 \
     AND state = 'pending'";
const STEP_WAITING: &str = "UPDATE replies SET attempts = 0, next_attempt_at = ?3, \
     lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE reply_id = ?1 \
     AND lease_owner = ?2 AND state = 'pending'";
const STEP_RENEW: &str = "UPDATE replies SET lease_until = ?3 WHERE reply_id = ?1 \
     AND lease_owner = ?2 AND state = 'pending'";
const STEP_FINISHED: &str = "UPDATE replies SET phase = ?3, state = 'done', problems = ?4, \
     finished_at = ?5, lease_owner = NULL, lease_until = NULL, last_error = NULL \
     WHERE reply_id = ?1 AND lease_owner = ?2 AND state = 'pending'";
const STEP_RETRY: &str = "UPDATE replies SET next_attempt_at = ?3, last_error = ?4, \
     lease_owner = NULL, lease_until = NULL WHERE reply_id = ?1 AND lease_owner = ?2 \
     AND state = 'pending'";
const STEP_DEAD: &str = "UPDATE replies SET state = 'dead', last_error = ?3, finished_at = ?4, \
     lease_owner = NULL, lease_until = NULL WHERE reply_id = ?1 AND lease_owner = ?2 \
     AND state = 'pending'";
const REDRIVE: &str = "UPDATE replies SET state = 'pending', attempts = 0, next_attempt_at = ?2, \
     finished_at = NULL WHERE reply_id = ?1 AND state = 'dead'";

const CONTEXT: &str = "SELECT decision, destination_id, CASE WHEN purged_at IS NULL THEN \
     envelope END FROM submissions WHERE submission_id = ?1 AND state = 'stored'";
const UPSTREAMS: &str = "SELECT upstream FROM outbox WHERE submission_id = ?1 ORDER BY job_id";

/// The `metadata` member of a stored envelope (JSON text).
fn envelope_metadata(envelope: Option<&str>) -> Result<Option<String>> {
    let Some(text) = envelope else {
        return Ok(None);
    };
    let value: serde_json::Value = serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
        what: "stored envelope",
    })?;
    Ok(value.get("metadata").map(ToString::to_string))
}

fn attachments_json(a: &[ReplyAttachment]) -> String {
    serde_json::to_string(a).expect("attachments serialize")
}

fn parse_attachments(text: &str) -> Result<Vec<ReplyAttachment>> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
        what: "reply attachments",
    })
}

fn attempts(v: i64) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        what: "attempt count",
    })
}

// ---- SQLite -------------------------------------------------------------------------------

fn sqlite_view(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ReplyView, String, i64)> {
    Ok((
        ReplyView {
            reply_id: r.get(0)?,
            submission_id: r.get(1)?,
            upstream: r.get(2)?,
            message_type: r.get(3)?,
            phase: ReplyPhase::Queued,
            state: r.get(5)?,
            fit_reply_id: r.get(6)?,
            attempts: 0,
            created_at: Timestamp(r.get(8)?),
            submitted_at: r.get::<_, Option<i64>>(9)?.map(Timestamp),
            finished_at: r.get::<_, Option<i64>>(10)?.map(Timestamp),
            last_error: r.get(11)?,
            problems: r.get(12)?,
        },
        r.get(4)?,
        r.get(7)?,
    ))
}

fn sqlite_finish((mut v, phase, n): (ReplyView, String, i64)) -> Result<ReplyView> {
    v.phase = ReplyPhase::parse(&phase)?;
    v.attempts = attempts(n)?;
    Ok(v)
}

fn sqlite_one(conn: &rusqlite::Connection, id: &str) -> Result<Option<ReplyView>> {
    conn.query_row(&select("reply_id = ?1"), [id], sqlite_view)
        .optional()?
        .map(sqlite_finish)
        .transpose()
}

impl ReplyStore for SqliteStore {
    async fn reply_context(&self, submission_id: &str) -> Result<Option<ReplyContext>> {
        let id = submission_id.to_owned();
        self.run(move |conn, _| {
            let row: Option<(Option<String>, Option<String>, Option<String>)> = conn
                .query_row(CONTEXT, [&id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((decision, destination, envelope)) = row else {
                return Ok(None);
            };
            let mut stmt = conn.prepare(UPSTREAMS)?;
            let upstreams = stmt
                .query_map([&id], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()?;
            Ok(Some(ReplyContext {
                decision: decision.unwrap_or_default(),
                destination_id: destination.unwrap_or_default(),
                metadata: envelope_metadata(envelope.as_deref())?,
                upstreams,
            }))
        })
        .await
    }

    async fn insert_reply(&self, r: NewReply, now: Timestamp) -> Result<ReplyInsert> {
        self.run(move |conn, _| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            if let Some(key) = &r.idempotency_key {
                let known: Option<String> = tx
                    .query_row(BY_KEY, params![r.upstream, key], |row| row.get(0))
                    .optional()?;
                if let Some(id) = known {
                    let view =
                        sqlite_one(&tx, &id)?.ok_or(StoreError::NotFound { what: "reply" })?;
                    return Ok(ReplyInsert::Existing(view));
                }
            }
            tx.prepare_cached(INSERT)?.execute(params![
                r.reply_id,
                r.submission_id,
                r.destination_id,
                r.upstream,
                r.idempotency_key,
                r.message_type,
                r.schema_uri,
                r.reply_key,
                r.xml,
                attachments_json(&r.attachments),
                now.0
            ])?;
            let view =
                sqlite_one(&tx, &r.reply_id)?.ok_or(StoreError::NotFound { what: "reply" })?;
            tx.commit()?;
            Ok(ReplyInsert::Inserted(view))
        })
        .await
    }

    async fn claim_replies(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedReply>> {
        let worker = worker.to_owned();
        let until = now.plus(lease);
        self.run(move |conn, _| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let rows = {
                let mut stmt = tx.prepare(&format!(
                    "UPDATE replies SET lease_owner = ?1, lease_until = ?2, \
                     attempts = attempts + 1 WHERE reply_id IN (SELECT reply_id FROM replies \
                     WHERE state = 'pending' AND next_attempt_at <= ?3 AND (lease_until IS NULL \
                     OR lease_until <= ?3) ORDER BY next_attempt_at, reply_id LIMIT ?4) \
                     RETURNING {CLAIMED}"
                ))?;
                let rows =
                    stmt.query_map(params![worker, until.0, now.0, i64::from(limit)], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, Option<String>>(4)?,
                            r.get::<_, i64>(5)?,
                            r.get::<_, i64>(6)?,
                            r.get::<_, Option<i64>>(7)?,
                            r.get::<_, String>(8)?,
                            r.get::<_, String>(9)?,
                            r.get::<_, Vec<u8>>(10)?,
                            r.get::<_, String>(11)?,
                        ))
                    })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()?
            };
            tx.commit()?;
            let mut out = rows
                .into_iter()
                .map(
                    |(id, sid, dest, phase, fit, n, created, submitted, uri, key, xml, att)| {
                        Ok(ClaimedReply {
                            reply_id: id,
                            submission_id: sid,
                            destination_id: dest,
                            phase: ReplyPhase::parse(&phase)?,
                            fit_reply_id: fit,
                            attempts: attempts(n)?,
                            created_at: Timestamp(created),
                            submitted_at: submitted.map(Timestamp),
                            schema_uri: uri,
                            reply_key: key,
                            xml,
                            attachments: parse_attachments(&att)?,
                        })
                    },
                )
                .collect::<Result<Vec<_>>>()?;
            out.sort_by(|a, b| a.reply_id.cmp(&b.reply_id));
            Ok(out)
        })
        .await
    }

    async fn advance_reply(
        &self,
        reply_id: &str,
        worker: &str,
        step: ReplyStep,
        now: Timestamp,
    ) -> Result<bool> {
        let (id, worker) = (reply_id.to_owned(), worker.to_owned());
        self.run(move |conn, _| {
            let n = match step {
                ReplyStep::Created { fit_reply_id } => conn
                    .prepare_cached(STEP_CREATED)?
                    .execute(params![id, worker, fit_reply_id, now.0])?,
                ReplyStep::Recreate => conn
                    .prepare_cached(STEP_RECREATE)?
                    .execute(params![id, worker, now.0])?,
                ReplyStep::Submitted { next } => conn
                    .prepare_cached(STEP_SUBMITTED)?
                    .execute(params![id, worker, next.0, now.0])?,
                ReplyStep::Waiting { next } => conn
                    .prepare_cached(STEP_WAITING)?
                    .execute(params![id, worker, next.0])?,
                ReplyStep::Decided { accepted, problems } => {
                    let phase = if accepted {
                        ReplyPhase::Accepted
                    } else {
                        ReplyPhase::Rejected
                    };
                    conn.prepare_cached(STEP_FINISHED)?.execute(params![
                        id,
                        worker,
                        phase.as_str(),
                        problems,
                        now.0
                    ])?
                }
                ReplyStep::Unanswered => conn.prepare_cached(STEP_FINISHED)?.execute(params![
                    id,
                    worker,
                    ReplyPhase::Unanswered.as_str(),
                    Option::<String>::None,
                    now.0
                ])?,
                ReplyStep::Renew { until } => conn
                    .prepare_cached(STEP_RENEW)?
                    .execute(params![id, worker, until.0])?,
                ReplyStep::Retry { at, error } => conn
                    .prepare_cached(STEP_RETRY)?
                    .execute(params![id, worker, at.0, error])?,
                ReplyStep::Dead { error } => conn
                    .prepare_cached(STEP_DEAD)?
                    .execute(params![id, worker, error, now.0])?,
            };
            Ok(n == 1)
        })
        .await
    }

    async fn reply(&self, reply_id: &str) -> Result<Option<ReplyView>> {
        let id = reply_id.to_owned();
        self.run(move |conn, _| sqlite_one(conn, &id)).await
    }

    async fn replies_of(&self, submission_id: &str) -> Result<Vec<ReplyView>> {
        let id = submission_id.to_owned();
        self.run(move |conn, _| {
            let mut stmt =
                conn.prepare(&select("submission_id = ?1 ORDER BY created_at, reply_id"))?;
            let rows = stmt
                .query_map([id], sqlite_view)?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            rows.into_iter().map(sqlite_finish).collect()
        })
        .await
    }

    async fn redrive_reply(&self, reply_id: &str, now: Timestamp) -> Result<bool> {
        let id = reply_id.to_owned();
        self.run(move |conn, _| Ok(conn.prepare_cached(REDRIVE)?.execute(params![id, now.0])? == 1))
            .await
    }
}

// ---- PostgreSQL ---------------------------------------------------------------------------

fn pg_view(r: &tokio_postgres::Row) -> Result<ReplyView> {
    Ok(ReplyView {
        reply_id: r.try_get(0)?,
        submission_id: r.try_get(1)?,
        upstream: r.try_get(2)?,
        message_type: r.try_get(3)?,
        phase: ReplyPhase::parse(r.try_get(4)?)?,
        state: r.try_get(5)?,
        fit_reply_id: r.try_get(6)?,
        attempts: attempts(i64::from(r.try_get::<_, i32>(7)?))?,
        created_at: Timestamp(r.try_get(8)?),
        submitted_at: r.try_get::<_, Option<i64>>(9)?.map(Timestamp),
        finished_at: r.try_get::<_, Option<i64>>(10)?.map(Timestamp),
        last_error: r.try_get(11)?,
        problems: r.try_get(12)?,
    })
}

async fn pg_one(
    client: &impl deadpool_postgres::GenericClient,
    id: &str,
) -> Result<Option<ReplyView>> {
    client
        .query_opt(&sql::pg(&select("reply_id = ?1")), &[&id])
        .await?
        .as_ref()
        .map(pg_view)
        .transpose()
}

impl ReplyStore for PgStore {
    async fn reply_context(&self, submission_id: &str) -> Result<Option<ReplyContext>> {
        let client = self.client().await?;
        let Some(row) = client
            .query_opt(&sql::pg(CONTEXT), &[&submission_id])
            .await?
        else {
            return Ok(None);
        };
        let envelope: Option<String> = row.try_get(2)?;
        let upstreams = client
            .query(&sql::pg(UPSTREAMS), &[&submission_id])
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<Vec<String>, _>>()?;
        Ok(Some(ReplyContext {
            decision: row.try_get::<_, Option<String>>(0)?.unwrap_or_default(),
            destination_id: row.try_get::<_, Option<String>>(1)?.unwrap_or_default(),
            metadata: envelope_metadata(envelope.as_deref())?,
            upstreams,
        }))
    }

    async fn insert_reply(&self, r: NewReply, now: Timestamp) -> Result<ReplyInsert> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Two hand-ins with one key racing: the second waits for the first's row lock on the
        // unique index, then finds its row.
        let inserted = tx
            .execute(
                &sql::pg(INSERT),
                &[
                    &r.reply_id,
                    &r.submission_id,
                    &r.destination_id,
                    &r.upstream,
                    &r.idempotency_key,
                    &r.message_type,
                    &r.schema_uri,
                    &r.reply_key,
                    &r.xml,
                    &attachments_json(&r.attachments),
                    &now.0,
                ],
            )
            .await?;
        let (id, existing) = if inserted == 1 {
            (r.reply_id.clone(), false)
        } else {
            let key = r.idempotency_key.as_deref().unwrap_or_default();
            let row = tx
                .query_opt(&sql::pg(BY_KEY), &[&r.upstream, &key])
                .await?
                .ok_or(StoreError::Corrupt {
                    what: "reply id taken",
                })?;
            (row.try_get::<_, String>(0)?, true)
        };
        let view = pg_one(&tx, &id)
            .await?
            .ok_or(StoreError::NotFound { what: "reply" })?;
        tx.commit().await?;
        Ok(if existing {
            ReplyInsert::Existing(view)
        } else {
            ReplyInsert::Inserted(view)
        })
    }

    async fn claim_replies(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedReply>> {
        let client = self.client().await?;
        let until = now.plus(lease);
        let rows = client
            .query(
                &format!(
                    "UPDATE replies r SET lease_owner = $1, lease_until = $2, \
                     attempts = r.attempts + 1 FROM (SELECT reply_id FROM replies \
                     WHERE state = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL \
                     OR lease_until <= $3) ORDER BY next_attempt_at, reply_id LIMIT $4 \
                     FOR UPDATE SKIP LOCKED) due WHERE r.reply_id = due.reply_id \
                     RETURNING {PG_CLAIMED}"
                ),
                &[&worker, &until.0, &now.0, &i64::from(limit)],
            )
            .await?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(ClaimedReply {
                    reply_id: r.try_get(0)?,
                    submission_id: r.try_get(1)?,
                    destination_id: r.try_get(2)?,
                    phase: ReplyPhase::parse(r.try_get(3)?)?,
                    fit_reply_id: r.try_get(4)?,
                    attempts: attempts(i64::from(r.try_get::<_, i32>(5)?))?,
                    created_at: Timestamp(r.try_get(6)?),
                    submitted_at: r.try_get::<_, Option<i64>>(7)?.map(Timestamp),
                    schema_uri: r.try_get(8)?,
                    reply_key: r.try_get(9)?,
                    xml: r.try_get(10)?,
                    attachments: parse_attachments(r.try_get(11)?)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        out.sort_by(|a, b| a.reply_id.cmp(&b.reply_id));
        Ok(out)
    }

    async fn advance_reply(
        &self,
        reply_id: &str,
        worker: &str,
        step: ReplyStep,
        now: Timestamp,
    ) -> Result<bool> {
        let client = self.client().await?;
        let none: Option<String> = None;
        let n = match &step {
            ReplyStep::Created { fit_reply_id } => {
                client
                    .execute(
                        &sql::pg(STEP_CREATED),
                        &[&reply_id, &worker, fit_reply_id, &now.0],
                    )
                    .await?
            }
            ReplyStep::Recreate => {
                client
                    .execute(&sql::pg(STEP_RECREATE), &[&reply_id, &worker, &now.0])
                    .await?
            }
            ReplyStep::Submitted { next } => {
                client
                    .execute(
                        &sql::pg(STEP_SUBMITTED),
                        &[&reply_id, &worker, &next.0, &now.0],
                    )
                    .await?
            }
            ReplyStep::Waiting { next } => {
                client
                    .execute(&sql::pg(STEP_WAITING), &[&reply_id, &worker, &next.0])
                    .await?
            }
            ReplyStep::Decided { accepted, problems } => {
                let phase = if *accepted {
                    ReplyPhase::Accepted
                } else {
                    ReplyPhase::Rejected
                };
                client
                    .execute(
                        &sql::pg(STEP_FINISHED),
                        &[&reply_id, &worker, &phase.as_str(), problems, &now.0],
                    )
                    .await?
            }
            ReplyStep::Unanswered => {
                client
                    .execute(
                        &sql::pg(STEP_FINISHED),
                        &[
                            &reply_id,
                            &worker,
                            &ReplyPhase::Unanswered.as_str(),
                            &none,
                            &now.0,
                        ],
                    )
                    .await?
            }
            ReplyStep::Renew { until } => {
                client
                    .execute(&sql::pg(STEP_RENEW), &[&reply_id, &worker, &until.0])
                    .await?
            }
            ReplyStep::Retry { at, error } => {
                client
                    .execute(&sql::pg(STEP_RETRY), &[&reply_id, &worker, &at.0, error])
                    .await?
            }
            ReplyStep::Dead { error } => {
                client
                    .execute(&sql::pg(STEP_DEAD), &[&reply_id, &worker, error, &now.0])
                    .await?
            }
        };
        Ok(n == 1)
    }

    async fn reply(&self, reply_id: &str) -> Result<Option<ReplyView>> {
        let client = self.client().await?;
        pg_one(&client, reply_id).await
    }

    async fn replies_of(&self, submission_id: &str) -> Result<Vec<ReplyView>> {
        let client = self.client().await?;
        client
            .query(
                &sql::pg(&select("submission_id = ?1 ORDER BY created_at, reply_id")),
                &[&submission_id],
            )
            .await?
            .iter()
            .map(pg_view)
            .collect()
    }

    async fn redrive_reply(&self, reply_id: &str, now: Timestamp) -> Result<bool> {
        let client = self.client().await?;
        Ok(client
            .execute(&sql::pg(REDRIVE), &[&reply_id, &now.0])
            .await?
            == 1)
    }
}

// ---- dispatch -----------------------------------------------------------------------------

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e.await,
            AnyStore::Postgres($s) => $e.await,
        }
    };
}

impl ReplyStore for AnyStore {
    async fn reply_context(&self, submission_id: &str) -> Result<Option<ReplyContext>> {
        dispatch!(self, s => s.reply_context(submission_id))
    }
    async fn insert_reply(&self, reply: NewReply, now: Timestamp) -> Result<ReplyInsert> {
        dispatch!(self, s => s.insert_reply(reply, now))
    }
    async fn claim_replies(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedReply>> {
        dispatch!(self, s => s.claim_replies(worker, now, lease, limit))
    }
    async fn advance_reply(
        &self,
        reply_id: &str,
        worker: &str,
        step: ReplyStep,
        now: Timestamp,
    ) -> Result<bool> {
        dispatch!(self, s => s.advance_reply(reply_id, worker, step, now))
    }
    async fn reply(&self, reply_id: &str) -> Result<Option<ReplyView>> {
        dispatch!(self, s => s.reply(reply_id))
    }
    async fn replies_of(&self, submission_id: &str) -> Result<Vec<ReplyView>> {
        dispatch!(self, s => s.replies_of(submission_id))
    }
    async fn redrive_reply(&self, reply_id: &str, now: Timestamp) -> Result<bool> {
        dispatch!(self, s => s.redrive_reply(reply_id, now))
    }
}
