//! The shared backend: PostgreSQL for several gateway instances on one database.
//!
//! Claims use `FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on or receive the
//! same job. The poller role is a session advisory lock held on a dedicated connection: the
//! server releases it when that connection ends, so a crashed instance hands over by itself.
//! Attachment content is stored as `bytea` chunks inside the submission's transaction.
//! TLS to the database is not supported yet (`NoTls`): run it on localhost or a private link.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio::io::AsyncWriteExt;
use tokio_postgres::{Client, Config, NoTls, Row};

use super::blob::hex;
use super::migrations::{self, MIGRATIONS_TABLE};
use super::records::{
    self, AckDue, AckMark, AttachmentMeta, ClaimedJob, Completion, DecisionSummary, FailAction,
    FailOutcome, JobFilter, JobState, JobSummary, NewSubmission, QueueMetrics, Redrive, Seen,
    StoreOutcome, SubmissionCounts, SubmissionFilter, SubmissionListItem, SubmissionView,
    Timestamp,
};
use super::retention::{self, PurgeReport};
use super::{Access, StoreError, StorePassword, sql};
use crate::fitconnect::callback::ReplayKey;

/// Bytes per `bytea` chunk: bounds memory per attachment and keeps rows far below TOAST limits.
const CHUNK: usize = 256 * 1024;

/// Connections per instance: claims, stores and acks run concurrently up to this.
const POOL_SIZE: usize = 8;

/// The PostgreSQL store. Cheap to clone; clones share the pool and the poller lock.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    config: Config,
    poller_key: i64,
    poller: tokio::sync::Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration may hold a password: never print it.
        f.debug_struct("PgStore").finish_non_exhaustive()
    }
}

type Result<T> = std::result::Result<T, StoreError>;

impl PgStore {
    /// A pooled connection (for the other tables' modules, e.g. `replies`).
    pub(super) async fn client(&self) -> Result<deadpool_postgres::Object> {
        Ok(self.inner.pool.get().await?)
    }
}

fn valid_schema(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'_'))
        && name.len() <= 63
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

async fn connect_one(config: &Config) -> Result<Client> {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .map_err(|e| missing_database(e.into(), config))?;
    tokio::spawn(async move {
        // The error surfaces to the client as a closed connection; nothing to add here.
        let _ = connection.await;
    });
    Ok(client)
}

/// The connection configuration of `url`, with `password` merged in. The caller made sure
/// the address holds none itself ([`StorePassword::resolve`]).
fn config(url: &str, password: Option<&StorePassword>) -> Result<Config> {
    let mut config: Config = url.parse()?;
    if let Some(password) = password {
        config.password(password.as_bytes());
    }
    Ok(config)
}

/// The connection pool of one store.
fn pool(config: &Config) -> Result<Pool> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Ok(Pool::builder(manager).max_size(POOL_SIZE).build()?)
}

/// A missing database says so by name ([`StoreError::NoDatabase`]) instead of the driver's
/// bare "db error"; other errors pass unchanged.
fn missing_database(e: StoreError, config: &Config) -> StoreError {
    let db = match &e {
        StoreError::Postgres(pg) => pg.as_db_error(),
        StoreError::Pool(deadpool_postgres::PoolError::Backend(pg)) => pg.as_db_error(),
        _ => None,
    };
    match db {
        Some(db) if *db.code() == tokio_postgres::error::SqlState::INVALID_CATALOG_NAME => {
            StoreError::NoDatabase {
                name: config
                    .get_dbname()
                    .or(config.get_user())
                    .unwrap_or_default()
                    .to_owned(),
            }
        }
        _ => e,
    }
}

/// A lock key per database and schema, so test schemas and separate deployments sharing a
/// server do not exclude each other.
fn lock_key(purpose: &str, scope: &str) -> i64 {
    let d = digest::digest(
        &digest::SHA256,
        format!("poststelle:{purpose}:{scope}").as_bytes(),
    );
    let mut b = [0u8; 8];
    b.copy_from_slice(&d.as_ref()[..8]);
    i64::from_be_bytes(b)
}

fn to_u32(v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| StoreError::Corrupt {
        what: "attempt count",
    })
}

fn to_u64(v: i64) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt { what: "size" })
}

fn job_summary(r: &Row) -> Result<JobSummary> {
    Ok(JobSummary {
        job_id: r.try_get(0)?,
        submission_id: r.try_get(1)?,
        upstream: r.try_get(2)?,
        state: JobState::parse(r.try_get(3)?)?,
        attempts: to_u32(r.try_get(4)?)?,
        created_at: Timestamp(r.try_get(5)?),
        next_attempt_at: Timestamp(r.try_get(6)?),
        lease_owner: r.try_get(7)?,
        lease_until: r.try_get::<_, Option<i64>>(8)?.map(Timestamp),
        last_error: r.try_get(9)?,
        finished_at: r.try_get::<_, Option<i64>>(10)?.map(Timestamp),
    })
}

fn attachment_meta(r: &Row) -> Result<AttachmentMeta> {
    Ok(AttachmentMeta {
        attachment_id: r.try_get(0)?,
        filename: r.try_get(1)?,
        media_type: r.try_get(2)?,
        size: to_u64(r.try_get(3)?)?,
        sha256: r.try_get(4)?,
    })
}

/// Reads up to one chunk (fewer only at the end of the stream) on a blocking thread.
async fn read_chunk(
    mut reader: Box<dyn std::io::Read + Send>,
) -> Result<(Box<dyn std::io::Read + Send>, Vec<u8>)> {
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; CHUNK];
        let mut len = 0;
        while len < CHUNK {
            match reader.read(&mut buf[len..]) {
                Ok(0) => break,
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(StoreError::io("<attachment>", e)),
            }
        }
        buf.truncate(len);
        Ok((reader, buf))
    })
    .await?
}

impl PgStore {
    /// Connects to `url` and applies pending migrations. With `schema`, everything lives in
    /// that schema (created if missing); otherwise in the connection's `search_path`.
    pub async fn connect(url: &str, schema: Option<&str>) -> Result<Self> {
        Self::connect_with(url, schema, None).await
    }

    /// [`PgStore::connect`] with the password from outside the address ([`StorePassword`]).
    pub async fn connect_with(
        url: &str,
        schema: Option<&str>,
        password: Option<&StorePassword>,
    ) -> Result<Self> {
        let mut config = config(url, password)?;
        if let Some(schema) = schema {
            if !valid_schema(schema) {
                return Err(StoreError::SchemaName);
            }
            let client = connect_one(&config).await?;
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
            config.options(format!("-c search_path={schema}"));
        }
        let pool = pool(&config)?;
        let client = pool
            .get()
            .await
            .map_err(|e| missing_database(e.into(), &config))?;
        let scope: String = client
            .query_one("SELECT current_database() || '.' || current_schema()", &[])
            .await?
            .try_get(0)?;
        drop(client);
        let store = Self::with(pool, config, &scope);
        store.migrate(lock_key("migrate", &scope)).await?;
        Ok(store)
    }

    /// Connects to an existing database at the current schema version, creating and
    /// migrating nothing ([`super::AnyStore::open_existing`]). With `ReadOnly` every
    /// transaction of the session is read-only (`default_transaction_read_only`), so the
    /// server refuses any write.
    pub async fn connect_existing(
        url: &str,
        access: Access,
        password: Option<&StorePassword>,
    ) -> Result<Self> {
        let mut config = config(url, password)?;
        if access == Access::ReadOnly {
            let options = match config.get_options() {
                Some(o) => format!("{o} -c default_transaction_read_only=on"),
                None => "-c default_transaction_read_only=on".to_owned(),
            };
            config.options(options);
        }
        // One direct connection first: the check needs no pool, and its error names a
        // missing database clearly.
        let client = connect_one(&config).await?;
        let has_table: bool = client
            .query_one("SELECT to_regclass('schema_migrations') IS NOT NULL", &[])
            .await?
            .try_get(0)?;
        let applied = if has_table {
            Some(
                client
                    .query(sql::MIGRATIONS_APPLIED, &[])
                    .await?
                    .iter()
                    .map(|r| r.try_get(0))
                    .collect::<std::result::Result<Vec<i64>, _>>()?,
            )
        } else {
            None
        };
        migrations::check_current(applied.as_deref(), migrations::POSTGRES)?;
        let scope: String = client
            .query_one("SELECT current_database() || '.' || current_schema()", &[])
            .await?
            .try_get(0)?;
        drop(client);
        Ok(Self::with(pool(&config)?, config, &scope))
    }

    /// The store over `pool`; `scope` (database and schema) keys its advisory locks.
    fn with(pool: Pool, config: Config, scope: &str) -> Self {
        Self {
            inner: Arc::new(Inner {
                pool,
                config,
                poller_key: lock_key("poller", scope),
                poller: tokio::sync::Mutex::new(None),
            }),
        }
    }

    async fn migrate(&self, key: i64) -> Result<()> {
        let mut client = self.inner.pool.get().await?;
        let known = migrations::latest(migrations::POSTGRES);
        for m in migrations::POSTGRES {
            let tx = client.transaction().await?;
            // Instances starting together migrate one after the other.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])
                .await?;
            tx.batch_execute(MIGRATIONS_TABLE).await?;
            let applied: Vec<i64> = tx
                .query(sql::MIGRATIONS_APPLIED, &[])
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            if let Some(&found) = applied.last().filter(|&&v| v > known) {
                return Err(StoreError::SchemaFromFuture { found, known });
            }
            if !applied.contains(&m.version) {
                tx.batch_execute(m.sql).await?;
                backfill(&tx, m.backfill).await?;
                tx.execute(
                    &sql::pg(sql::MIGRATION_RECORD),
                    &[&m.version, &m.name, &Timestamp::now().0],
                )
                .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }
}

/// The Rust data step of a migration, inside its transaction.
async fn backfill(tx: &tokio_postgres::Transaction<'_>, step: migrations::Backfill) -> Result<()> {
    match step {
        migrations::Backfill::None => Ok(()),
        migrations::Backfill::TypedEvidence => {
            let rows = tx.query(sql::V2_EVIDENCE_ROWS, &[]).await?;
            let update_tags = tx.prepare(&sql::pg(sql::V2_EVIDENCE_UPDATE)).await?;
            let update_case = tx.prepare(&sql::pg(sql::V2_CASE_UPDATE)).await?;
            for r in &rows {
                let id: &str = r.try_get(0)?;
                let (case, tags) = migrations::v2_evidence(r.try_get(1)?, r.try_get(2)?)?;
                tx.execute(&update_tags, &[&id, &tags]).await?;
                tx.execute(&update_case, &[&id, &case]).await?;
            }
            Ok(())
        }
    }
}

impl super::Store for PgStore {
    async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let client = self.inner.pool.get().await?;
        let rows = client.query(sql::MIGRATIONS_APPLIED, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?)
    }

    async fn is_stored(&self, submission_id: &str) -> Result<bool> {
        let client = self.inner.pool.get().await?;
        let row = client
            .query_opt(&sql::pg(sql::SUBMISSION_STATE), &[&submission_id])
            .await?;
        Ok(row.as_ref().map(|r| r.try_get::<_, &str>(0)).transpose()? == Some("stored"))
    }

    async fn record_seen(&self, submission_id: &str, now: Timestamp) -> Result<Seen> {
        let client = self.inner.pool.get().await?;
        if client
            .execute(&sql::pg(sql::SEEN_INSERT), &[&submission_id, &now.0])
            .await?
            == 1
        {
            return Ok(Seen::New);
        }
        let row = client
            .query_one(&sql::pg(sql::SUBMISSION_STATE), &[&submission_id])
            .await?;
        Ok(if row.try_get::<_, &str>(0)? == "stored" {
            Seen::Stored
        } else {
            Seen::Unfinished
        })
    }

    async fn store_submission(&self, sub: NewSubmission, now: Timestamp) -> Result<StoreOutcome> {
        let (decision, problems) = sub.decision.columns()?;
        let auth_tags = records::tags_column(sub.evidence.auth_tags.as_ref())?;
        let hashes = serde_json::to_string(&sub.evidence.hashes)?;
        let id = sub.submission_id.as_str();
        let mut client = self.inner.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute(&sql::pg(sql::SEEN_INSERT), &[&id, &now.0])
            .await?;
        // The row lock makes a second instance storing the same id wait, then see `stored`.
        let state: String = tx
            .query_one(
                &format!("{} FOR UPDATE", sql::pg(sql::SUBMISSION_STATE)),
                &[&id],
            )
            .await?
            .try_get(0)?;
        if state == "stored" {
            return Ok(StoreOutcome::AlreadyStored);
        }
        tx.execute(
            &sql::pg(sql::SUBMISSION_STORE),
            &[
                &id,
                &now.0,
                &sub.envelope,
                &decision,
                &problems,
                &sub.ack_policy.as_str(),
                &sub.case_id,
                &sub.destination_id,
                &sub.message_type,
                &sub.fachdaten,
            ],
        )
        .await?;
        tx.execute(
            &sql::pg(sql::EVIDENCE_INSERT),
            &[
                &id,
                &sub.evidence.submit_set,
                &auth_tags,
                &hashes,
                &sub.evidence.received_at.0,
                &sub.evidence.decided_at.0,
            ],
        )
        .await?;
        let outbox = tx.prepare(&sql::pg(sql::OUTBOX_INSERT)).await?;
        for upstream in &sub.upstreams {
            tx.execute(&outbox, &[&id, upstream, &now.0]).await?;
        }
        let chunk_insert = tx
            .prepare(
                "INSERT INTO attachment_chunks (submission_id, attachment_id, seq, data) \
                 VALUES ($1, $2, $3, $4)",
            )
            .await?;
        for a in sub.attachments {
            // The address computed while the pipeline spooled the content, when it did.
            let known = match &a.content {
                super::BlobSource::Addressed { sha256, .. } => Some(sha256.clone()),
                _ => None,
            };
            let mut reader = a.content.open()?;
            // Ok: the address is known; Err: it is being computed.
            let mut address = known.ok_or_else(|| digest::Context::new(&digest::SHA256));
            let mut size = 0i64;
            let mut seq = 0i32;
            loop {
                let (r, chunk) = read_chunk(reader).await?;
                reader = r;
                if chunk.is_empty() {
                    break;
                }
                if let Err(ctx) = &mut address {
                    ctx.update(&chunk);
                }
                size += i64::try_from(chunk.len()).expect("chunk length fits in i64");
                tx.execute(&chunk_insert, &[&id, &a.attachment_id, &seq, &chunk])
                    .await?;
                seq += 1;
            }
            let sha256 = address.unwrap_or_else(|ctx| hex(ctx.finish().as_ref()));
            tx.execute(
                &sql::pg(sql::ATTACHMENT_INSERT),
                &[
                    &id,
                    &a.attachment_id,
                    &a.filename,
                    &a.media_type,
                    &size,
                    &sha256,
                ],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(StoreOutcome::Stored)
    }

    async fn export_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        dest: &Path,
    ) -> Result<AttachmentMeta> {
        let client = self.inner.pool.get().await?;
        let meta = meta_of(&client, submission_id, attachment_id).await?;
        let io_err = |e| StoreError::io(dest.display(), e);
        let mut file =
            tokio::fs::File::from_std(crate::private_file::create(dest).map_err(io_err)?);
        write_chunks(
            &client,
            submission_id,
            attachment_id,
            &mut file,
            &dest.display().to_string(),
        )
        .await?;
        file.sync_all().await.map_err(io_err)?;
        Ok(meta)
    }

    async fn open_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        spool_dir: &Path,
    ) -> Result<(AttachmentMeta, std::fs::File)> {
        let client = self.inner.pool.get().await?;
        let meta = meta_of(&client, submission_id, attachment_id).await?;
        let io_err = |e| StoreError::io(spool_dir.display(), e);
        let mut file = tokio::fs::File::from_std(tempfile::tempfile_in(spool_dir).map_err(io_err)?);
        write_chunks(
            &client,
            submission_id,
            attachment_id,
            &mut file,
            &spool_dir.display().to_string(),
        )
        .await?;
        file.flush().await.map_err(io_err)?;
        let mut file = file.into_std().await;
        std::io::Seek::rewind(&mut file).map_err(io_err)?;
        Ok((meta, file))
    }

    async fn callback_replayed(&self, key: &ReplayKey) -> Result<bool> {
        let client = self.inner.pool.get().await?;
        let n: i64 = client
            .query_one(
                &sql::pg(sql::CALLBACK_SEEN),
                &[&key.destination, &key.timestamp, &key.mac],
            )
            .await?
            .try_get(0)?;
        Ok(n > 0)
    }

    async fn record_callback(&self, key: &ReplayKey, now: i64) -> Result<()> {
        let client = self.inner.pool.get().await?;
        client
            .execute(
                &sql::pg(sql::CALLBACK_RECORD),
                &[&key.destination, &key.timestamp, &key.mac],
            )
            .await?;
        client
            .execute(
                &sql::pg(sql::CALLBACK_PRUNE),
                &[&ReplayKey::forget_before(now)],
            )
            .await?;
        Ok(())
    }

    async fn pending_acks(&self, limit: u32) -> Result<Vec<AckDue>> {
        let client = self.inner.pool.get().await?;
        let rows = client
            .query(&sql::pg(sql::PENDING_ACKS), &[&i64::from(limit)])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(records::PendingRow {
                    submission_id: r.try_get(0)?,
                    decision: r.try_get(1)?,
                    problems: r.try_get(2)?,
                    auth_tags: r.try_get(3)?,
                    case_id: r.try_get(4)?,
                    destination_id: r.try_get(5)?,
                }
                .decode())
            })
            .collect()
    }

    async fn mark_acknowledged(
        &self,
        submission_id: &str,
        now: Timestamp,
        ack_set: Option<String>,
    ) -> Result<AckMark> {
        let client = self.inner.pool.get().await?;
        if client
            .execute(&sql::pg(sql::ACK_MARK), &[&submission_id, &now.0, &ack_set])
            .await?
            == 1
        {
            return Ok(AckMark::Marked);
        }
        let row = client
            .query_opt(&sql::pg(sql::SUBMISSION_STATE), &[&submission_id])
            .await?;
        match row.as_ref().map(|r| r.try_get::<_, &str>(0)).transpose()? {
            Some("stored") => Ok(AckMark::AlreadyMarked),
            _ => Err(StoreError::NotFound { what: "submission" }),
        }
    }

    async fn claim_jobs(
        &self,
        worker: &str,
        now: Timestamp,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<ClaimedJob>> {
        let client = self.inner.pool.get().await?;
        let until = now.plus(lease);
        let rows = client
            .query(
                "UPDATE outbox o SET lease_owner = $1, lease_until = $2, \
                 attempts = o.attempts + 1 FROM (SELECT job_id FROM outbox \
                 WHERE state = 'pending' AND next_attempt_at <= $3 AND (lease_until IS NULL \
                 OR lease_until <= $3) ORDER BY next_attempt_at, job_id LIMIT $4 \
                 FOR UPDATE SKIP LOCKED) due WHERE o.job_id = due.job_id \
                 RETURNING o.job_id, o.submission_id, o.upstream, o.attempts, o.created_at, \
                 o.lease_until, (SELECT coalesce(s.envelope, '') FROM submissions s \
                 WHERE s.submission_id = o.submission_id)",
                &[&worker, &until.0, &now.0, &i64::from(limit)],
            )
            .await?;
        let mut claimed = rows
            .iter()
            .map(|r| {
                Ok(ClaimedJob {
                    job_id: r.try_get(0)?,
                    submission_id: r.try_get(1)?,
                    upstream: r.try_get(2)?,
                    attempts: to_u32(r.try_get(3)?)?,
                    created_at: Timestamp(r.try_get(4)?),
                    lease_until: Timestamp(r.try_get(5)?),
                    envelope: r.try_get(6)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        claimed.sort_by_key(|j| j.job_id);
        Ok(claimed)
    }

    async fn extend_lease(&self, job_id: i64, worker: &str, until: Timestamp) -> Result<bool> {
        let client = self.inner.pool.get().await?;
        Ok(client
            .execute(&sql::pg(sql::JOB_EXTEND), &[&job_id, &worker, &until.0])
            .await?
            == 1)
    }

    async fn complete_job(&self, job_id: i64, now: Timestamp) -> Result<Completion> {
        let client = self.inner.pool.get().await?;
        if client
            .execute(&sql::pg(sql::JOB_COMPLETE), &[&job_id, &now.0])
            .await?
            == 1
        {
            return Ok(Completion::Completed);
        }
        client
            .query_opt(&sql::pg(sql::JOB_STATE), &[&job_id])
            .await?
            .map(|_| Completion::AlreadyDelivered)
            .ok_or(StoreError::NotFound { what: "job" })
    }

    async fn fail_job(
        &self,
        job_id: i64,
        worker: &str,
        action: FailAction,
        error_kind: &str,
        now: Timestamp,
    ) -> Result<FailOutcome> {
        let client = self.inner.pool.get().await?;
        let (changed, outcome) = match action {
            FailAction::RetryAt(at) => (
                client
                    .execute(
                        &sql::pg(sql::JOB_RETRY),
                        &[&job_id, &worker, &at.0, &error_kind],
                    )
                    .await?,
                FailOutcome::Retrying,
            ),
            FailAction::DeadLetter => (
                client
                    .execute(
                        &sql::pg(sql::JOB_DEAD),
                        &[&job_id, &worker, &now.0, &error_kind],
                    )
                    .await?,
                FailOutcome::DeadLettered,
            ),
        };
        Ok(if changed == 1 {
            outcome
        } else {
            FailOutcome::LeaseLost
        })
    }

    async fn redrive(&self, which: Redrive, now: Timestamp) -> Result<u64> {
        let client = self.inner.pool.get().await?;
        Ok(match which {
            Redrive::Job(id) => {
                client
                    .execute(&sql::pg(sql::REDRIVE_ONE), &[&id, &now.0])
                    .await?
            }
            Redrive::All => {
                client
                    .execute(&sql::pg(sql::REDRIVE_ALL), &[&now.0])
                    .await?
            }
        })
    }

    async fn try_acquire_poller(&self) -> Result<bool> {
        let mut held = self.inner.poller.lock().await;
        if held.as_ref().is_some_and(|c| !c.is_closed()) {
            return Ok(true);
        }
        // A lost lock connection means the lock is gone too: try afresh.
        *held = None;
        let client = connect_one(&self.inner.config).await?;
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&self.inner.poller_key])
            .await?
            .try_get(0)?;
        if got {
            *held = Some(client);
        }
        Ok(got)
    }

    async fn release_poller(&self) -> Result<()> {
        if let Some(client) = self.inner.poller.lock().await.take() {
            client
                .execute("SELECT pg_advisory_unlock($1)", &[&self.inner.poller_key])
                .await?;
        }
        Ok(())
    }

    async fn decisions(&self, rejected_only: bool, limit: u32) -> Result<Vec<DecisionSummary>> {
        let client = self.inner.pool.get().await?;
        let rows = client
            .query(
                &sql::pg(sql::DECISIONS),
                &[&rejected_only, &i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                records::decision_summary(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                )
            })
            .collect()
    }

    async fn list_jobs(&self, filter: JobFilter) -> Result<Vec<JobSummary>> {
        let client = self.inner.pool.get().await?;
        let rows = client
            .query(
                &sql::pg(sql::LIST_JOBS),
                &[
                    &filter.state.map(JobState::as_str),
                    &i64::from(filter.limit),
                ],
            )
            .await?;
        rows.iter().map(job_summary).collect()
    }

    async fn submission_counts(&self, since: Timestamp) -> Result<SubmissionCounts> {
        let client = self.inner.pool.get().await?;
        let r = client
            .query_one(&sql::pg(sql::SUBMISSION_COUNTS), &[&since.0])
            .await?;
        let c =
            |i: usize| -> Result<u64> { Ok(u64::try_from(r.try_get::<_, i64>(i)?).unwrap_or(0)) };
        Ok(SubmissionCounts {
            received: c(0)?,
            accepted: c(1)?,
            rejected: c(2)?,
        })
    }

    async fn list_submissions(&self, filter: SubmissionFilter) -> Result<Vec<SubmissionListItem>> {
        let client = self.inner.pool.get().await?;
        let rows = client
            .query(
                &sql::pg(sql::SUBMISSION_LIST),
                &[
                    &filter.decision_column(),
                    &filter.message_type,
                    &filter.destination_id,
                    &filter.since.map(|t| t.0),
                    &filter.until.map(|t| t.0),
                    &i64::from(filter.limit),
                    &i64::try_from(filter.offset).unwrap_or(i64::MAX),
                ],
            )
            .await?;
        rows.iter()
            .map(|r| {
                records::list_item(
                    r.try_get(0)?,
                    r.try_get(1)?,
                    r.try_get(2)?,
                    r.try_get(3)?,
                    r.try_get(4)?,
                    r.try_get(5)?,
                    r.try_get(6)?,
                )
            })
            .collect()
    }

    async fn fachdaten(&self, submission_id: &str) -> Result<Option<Vec<u8>>> {
        let client = self.inner.pool.get().await?;
        let row = client
            .query_opt(&sql::pg(sql::FACHDATEN), &[&submission_id])
            .await?;
        Ok(row.map(|r| r.try_get::<_, Vec<u8>>(0)).transpose()?)
    }

    async fn submission(&self, submission_id: &str) -> Result<Option<SubmissionView>> {
        let client = self.inner.pool.get().await?;
        let Some(r) = client
            .query_opt(&sql::pg(sql::SUBMISSION_VIEW), &[&submission_id])
            .await?
        else {
            return Ok(None);
        };
        let evidence = client
            .query_opt(&sql::pg(sql::EVIDENCE_OF), &[&submission_id])
            .await?
            .map(|e| {
                records::EvidenceRow {
                    submit_set: e.try_get(0)?,
                    auth_tags: e.try_get(1)?,
                    hashes: e.try_get(2)?,
                    received_at: e.try_get(3)?,
                    decided_at: e.try_get(4)?,
                }
                .decode()
            })
            .transpose()?;
        let attachments = client
            .query(&sql::pg(sql::ATTACHMENTS_OF), &[&submission_id])
            .await?
            .iter()
            .map(attachment_meta)
            .collect::<Result<_>>()?;
        let jobs = client
            .query(&sql::pg(sql::JOBS_OF), &[&submission_id])
            .await?
            .iter()
            .map(job_summary)
            .collect::<Result<_>>()?;
        records::ViewRow {
            submission_id: r.try_get(0)?,
            seen_at: r.try_get(1)?,
            stored_at: r.try_get(2)?,
            decision: r.try_get(3)?,
            problems: r.try_get(4)?,
            ack_policy: r.try_get(5)?,
            acked_at: r.try_get(6)?,
            ack_set: r.try_get(7)?,
            envelope: r.try_get(8)?,
            case_id: r.try_get(9)?,
            destination_id: r.try_get(10)?,
            message_type: r.try_get(11)?,
            purged_at: r.try_get(12)?,
        }
        .into_view(evidence, attachments, jobs)
        .map(Some)
    }

    async fn purge_payloads(
        &self,
        delivered_before: Timestamp,
        now: Timestamp,
        dry_run: bool,
    ) -> Result<PurgeReport> {
        let mut client = self.inner.pool.get().await?;
        let mut report = PurgeReport::default();
        if dry_run {
            for r in client
                .query(&sql::pg(sql::PURGE_DUE), &[&delivered_before.0, &i64::MAX])
                .await?
            {
                report.submission_ids.push(r.try_get(0)?);
            }
            return Ok(report);
        }
        loop {
            let tx = client.transaction().await?;
            // FOR UPDATE: two instances purging at once take disjoint rows, or wait.
            let ids: Vec<String> = tx
                .query(
                    &format!("{} FOR UPDATE OF s SKIP LOCKED", sql::pg(sql::PURGE_DUE)),
                    &[&delivered_before.0, &i64::from(retention::BATCH)],
                )
                .await?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?;
            let purge = tx.prepare(&sql::pg(sql::PURGE_SUBMISSION)).await?;
            let names = tx.prepare(&sql::pg(sql::PURGE_ATTACHMENT_NAMES)).await?;
            let chunks = tx
                .prepare("DELETE FROM attachment_chunks WHERE submission_id = $1")
                .await?;
            for id in &ids {
                tx.execute(&purge, &[id, &now.0]).await?;
                tx.execute(&names, &[id]).await?;
                tx.execute(&chunks, &[id]).await?;
            }
            tx.commit().await?;
            let last = ids.len() < retention::BATCH as usize;
            report.submission_ids.extend(ids);
            if last {
                break;
            }
        }
        report.replies_purged = client.execute(&sql::pg(sql::PURGE_REPLIES), &[]).await?;
        report.submission_ids.sort();
        Ok(report)
    }

    async fn metrics(&self, now: Timestamp) -> Result<QueueMetrics> {
        let client = self.inner.pool.get().await?;
        let r = client.query_one(&sql::pg(sql::METRICS), &[&now.0]).await?;
        let c =
            |i: usize| -> Result<u64> { Ok(u64::try_from(r.try_get::<_, i64>(i)?).unwrap_or(0)) };
        let oldest: Option<i64> = r.try_get(8)?;
        Ok(QueueMetrics {
            submissions_unfinished: c(0)?,
            submissions_unacked: c(1)?,
            submissions_acked: c(2)?,
            jobs_pending: c(3)?,
            jobs_due: c(4)?,
            jobs_leased: c(5)?,
            jobs_delivered: c(6)?,
            jobs_dead: c(7)?,
            oldest_due_age: oldest.map_or(Duration::ZERO, |t| now.since(Timestamp(t))),
            replies_pending: c(9)?,
            replies_dead: c(10)?,
        })
    }
}

/// An attachment's row; [`StoreError::NotFound`] when there is none.
async fn meta_of(
    client: &deadpool_postgres::Object,
    submission_id: &str,
    attachment_id: &str,
) -> Result<AttachmentMeta> {
    let row = client
        .query_opt(
            &sql::pg(sql::ATTACHMENT_META),
            &[&submission_id, &attachment_id],
        )
        .await?
        .ok_or(StoreError::NotFound { what: "attachment" })?;
    attachment_meta(&row)
}

/// Appends an attachment's chunks to `file` in order, one chunk in memory at a time.
async fn write_chunks(
    client: &deadpool_postgres::Object,
    submission_id: &str,
    attachment_id: &str,
    file: &mut tokio::fs::File,
    what: &str,
) -> Result<()> {
    let chunk = client
        .prepare(
            "SELECT data FROM attachment_chunks WHERE submission_id = $1 \
             AND attachment_id = $2 AND seq = $3",
        )
        .await?;
    let mut seq = 0i32;
    while let Some(row) = client
        .query_opt(&chunk, &[&submission_id, &attachment_id, &seq])
        .await?
    {
        file.write_all(row.try_get::<_, &[u8]>(0)?)
            .await
            .map_err(|e| StoreError::io(what, e))?;
        seq += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-from-a-file";

    fn password() -> StorePassword {
        StorePassword::resolve("postgres://gw@db/x", None, Some(SECRET))
            .expect("resolves")
            .expect("some")
    }

    #[test]
    fn the_password_goes_into_the_connection_config_only() {
        let pw = password();
        let c = config("postgres://gw@db.example:5432/poststelle", Some(&pw)).expect("config");
        assert_eq!(c.get_password(), Some(SECRET.as_bytes()));
        assert_eq!(c.get_user(), Some("gw"));
        let c = config("postgres://gw@db.example/poststelle", None).expect("config");
        assert_eq!(c.get_password(), None);
    }

    #[tokio::test]
    async fn connection_errors_and_debug_never_show_it() {
        let pw = password();
        // Nothing listens on port 1: the connection fails.
        let err = PgStore::connect_with("postgres://gw@127.0.0.1:1/x", None, Some(&pw))
            .await
            .expect_err("refused");
        for text in [err.to_string(), format!("{err:?}")] {
            assert!(!text.contains(SECRET), "{text}");
        }
        let err =
            PgStore::connect_existing("postgres://gw@127.0.0.1:1/x", Access::ReadOnly, Some(&pw))
                .await
                .expect_err("refused");
        assert!(!format!("{err} {err:?}").contains(SECRET));
        assert!(!format!("{pw:?}").contains(SECRET));
    }
}
