//! The receive orchestration: triggers → download → record_seen → check → store → acknowledge.
//!
//! **Triggers.** [`Pipeline::poll_once`] lists the destination's deliverable submissions (only
//! the instance holding the store's poller lock polls); [`Pipeline::notify`] takes the ids of a
//! verified callback. Both end in [`Pipeline::process`], bounded by a semaphore
//! ([`PipelineSettings::concurrency`]); an id already in flight in this process is skipped.
//!
//! **Per submission.** `is_stored` (a stored id is not processed again; read-only, so ids that
//! name no submission leave nothing behind) → download (attachment JWEs streamed into unnamed
//! spool files, [`DeliveryService::download_spooled`]) → `record_seen` → on a blocking
//! thread, each attachment decrypted file to file ([`super::spool`]) and the checks
//! ([`check_submission_spooled`]; RSA, XSD) →
//! `store_submission` (envelope, decision, evidence, attachments and one outbox job per routed
//! upstream in one transaction) → [`Pipeline::flush_acks`].
//!
//! **Acknowledgement.** Only decisions the store reports as due are acknowledged (after-store:
//! once stored; after-forward: once every job is delivered), so nothing is acknowledged before
//! it is durable. The SET is posted, then `mark_acknowledged` records it. A crash in between
//! sends the SET again after the restart; a delivery service that answers "already decided"
//! (HTTP 409) counts as acknowledged, so the case log holds one decision.
//!
//! **Recovery.** No in-memory state is needed: a submission seen but not stored is listed by the
//! delivery service again (it is not acknowledged) and processed again; stored decisions whose
//! ack is pending are found by `pending_acks`. The case id an ack needs comes from the
//! submission list (or the download) of this run.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use super::check::{
    Accepted, AttachmentContent, CheckKeys, Deferred, GrammarCache, Refused, Schemas,
    check_submission, check_submission_spooled,
};
use super::spool::decrypt_spooled;
use crate::config::Limits;
use crate::fitconnect::captured::CapturedSubmission;
use crate::fitconnect::client::{SpooledDownload, SpooledJwe};
use crate::fitconnect::destination::DestinationPolicy;
use crate::fitconnect::event_log;
use crate::fitconnect::metadata::MetadataValidator;
use crate::fitconnect::problems::Problem;
use crate::fitconnect::set::{self, PayloadSchema, StaticKeys, SubmissionRef};
use crate::jose::{KeyRing, SigningKey};
use crate::server::Metrics;
use crate::server::Stage;
use crate::store::{
    AckDue, AckPolicy, BlobSource, Decision, Evidence, NewAttachment, NewSubmission, PendingAck,
    Seen, Store, StoreError, Timestamp,
};
use crate::xoev::registry::Registry;

/// A failed call to the delivery service (transport, status, shape), as text without payload.
#[derive(Debug, Clone, thiserror::Error)]
#[error("delivery service: {0}")]
pub struct DeliveryError(pub String);

/// One deliverable submission as the list names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The submission id.
    pub submission_id: String,
    /// Its case id.
    pub case_id: String,
}

/// What posting a decision SET achieved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// The delivery service took the SET.
    Accepted,
    /// The submission already carries a decision (an earlier run posted it before a crash).
    AlreadyDecided,
}

/// The subscriber side of the delivery service, as the pipeline needs it. Implemented for the
/// FIT-Connect HTTP client; tests use in-memory fakes.
pub trait DeliveryService: Send + Sync + 'static {
    /// Every deliverable submission of the destination (all pages).
    fn list(&self) -> impl Future<Output = Result<Vec<Listed>, DeliveryError>> + Send;
    /// The submission with its attachments, event log and the service's keys, verbatim.
    fn download(
        &self,
        submission_id: &str,
    ) -> impl Future<Output = Result<CapturedSubmission, DeliveryError>> + Send;
    /// As [`DeliveryService::download`], with the attachment JWEs streamed into unnamed
    /// files in `spool_dir` instead of memory. The default keeps them in the capture.
    fn download_spooled(
        &self,
        submission_id: &str,
        spool_dir: &Path,
    ) -> impl Future<Output = Result<SpooledDownload, DeliveryError>> + Send {
        let _ = spool_dir;
        async move {
            Ok(SpooledDownload {
                captured: self.download(submission_id).await?,
                attachments: BTreeMap::new(),
            })
        }
    }
    /// Posts a signed SET to the case's event log.
    fn post_event(
        &self,
        case_id: &str,
        set_token: &str,
    ) -> impl Future<Output = Result<Posted, DeliveryError>> + Send;
}

/// A shared delivery service (tests keep a handle to inspect it).
impl<T: DeliveryService> DeliveryService for Arc<T> {
    fn list(&self) -> impl Future<Output = Result<Vec<Listed>, DeliveryError>> + Send {
        T::list(self)
    }
    fn download(
        &self,
        submission_id: &str,
    ) -> impl Future<Output = Result<CapturedSubmission, DeliveryError>> + Send {
        T::download(self, submission_id)
    }
    fn download_spooled(
        &self,
        submission_id: &str,
        spool_dir: &Path,
    ) -> impl Future<Output = Result<SpooledDownload, DeliveryError>> + Send {
        T::download_spooled(self, submission_id, spool_dir)
    }
    fn post_event(
        &self,
        case_id: &str,
        set_token: &str,
    ) -> impl Future<Output = Result<Posted, DeliveryError>> + Send {
        T::post_event(self, case_id, set_token)
    }
}

/// Chooses the upstreams (configured names) an accepted submission is forwarded to.
pub type Router = Arc<dyn Fn(&Accepted) -> Vec<String> + Send + Sync>;

/// Everything the checks and acknowledgements need, owned (built once at start).
pub struct PipelineSettings {
    /// The destination this pipeline receives for, with what it accepts (services, schemas,
    /// reply channels).
    pub destination: DestinationPolicy,
    /// Private decryption keys of the destination.
    pub decryption: KeyRing,
    /// SET verification keys besides the JWKS the delivery service publishes with each
    /// download: the destinations' own signing keys (their earlier accept/reject SETs are in
    /// the case logs) and any extra delivery-service keys.
    pub set_keys: StaticKeys,
    /// The destination's signing key for accept/reject SETs.
    pub signing: SigningKey,
    /// The set-payload schema those SETs declare (what the delivery service requires; the
    /// client configuration's `set_payload_schema`).
    pub set_payload_schema: PayloadSchema,
    /// FIT-Connect metadata schemas.
    pub metadata: MetadataValidator,
    /// XÖV registry with the installed packs.
    pub registry: Registry<'static>,
    /// Compiled grammars (shared cache).
    pub grammars: GrammarCache,
    /// Compiled business rules (shared cache).
    pub rules: crate::xoev::rules::RulesCache,
    /// What the business rules do (`[validation] business_rules`).
    pub business_rules: crate::xoev::rules::BusinessRules,
    /// Input limits.
    pub limits: Limits,
    /// When decisions are acknowledged.
    pub ack_policy: AckPolicy,
    /// Where accepted submissions go.
    pub router: Router,
    /// Submissions processed at the same time.
    pub concurrency: usize,
    /// Shared gateway metrics (received, accepted, rejected by problem, stage latencies).
    pub metrics: Option<Arc<Metrics>>,
    /// Where attachment JWEs and plaintexts live (unnamed files) while a submission is
    /// processed; on the file system of the store for cheap imports.
    pub spool_dir: PathBuf,
}

impl std::fmt::Debug for PipelineSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PipelineSettings")
            .field("destination", &self.destination.id)
            .field("ack_policy", &self.ack_policy)
            .field("concurrency", &self.concurrency)
            .finish_non_exhaustive()
    }
}

/// What happened to one submission in [`Pipeline::process`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Outcome {
    /// Checked, stored and accepted (message type when known).
    Accepted {
        /// Message label (`XBau 2.6 baugenehmigung.antrag.0200`), if the submission has data.
        message: Option<String>,
        /// Upstreams it is queued for.
        upstreams: Vec<String>,
        /// Business-rule findings in the envelope, when rules ran.
        rule_findings: Option<usize>,
    },
    /// Checked, stored and rejected with these problems.
    Rejected {
        /// The problems.
        problems: Vec<Problem>,
    },
    /// Not decided: the check needs a fact that is not available yet (an unknown SET key, an
    /// unverifiable SET about another part of the case). Left unacknowledged; tried again.
    Deferred {
        /// Why (protocol terms, no payload values).
        reason: String,
    },
    /// Already stored earlier (possibly by another instance); nothing to do.
    AlreadyStored,
    /// In flight in this process already.
    InFlight,
}

/// Why processing stopped (the submission stays unfinished and is retried by the next poll).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The delivery service failed.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// The check task panicked or was cancelled.
    #[error("check task failed")]
    Task,
    /// A spool file could not be read or written (local I/O; the submission is tried again).
    #[error("spool: {0}")]
    Spool(String),
}

impl PipelineError {
    /// Whether the failure is this instance's own (store, spool, task), not the delivery
    /// service's or one submission's.
    #[must_use]
    pub fn is_local(&self) -> bool {
        !matches!(self, Self::Delivery(_))
    }
}

/// Poll rounds failing in a row after which the pipeline reports itself not ready.
pub const UNREADY_AFTER_FAILED_ROUNDS: u32 = 3;

/// How the pipeline's poll rounds went, for `/ready` ([`Pipeline::health`]).
///
/// A round fails when listing at the delivery service, the store or sending acknowledgements
/// fails, or when a submission failed for a local reason (store, spool directory). The
/// pipeline is ready once a round succeeded and while fewer than
/// [`UNREADY_AFTER_FAILED_ROUNDS`] rounds in a row failed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Rounds that succeeded since the start.
    pub rounds_ok: u64,
    /// Rounds that failed in a row (0 after a good round).
    pub failed_in_a_row: u32,
    /// The last failure's text (no payload data).
    pub last_error: Option<String>,
    round_local_errors: u32,
}

impl Health {
    fn end_round(&mut self, error: Option<&PipelineError>) {
        if let Some(e) = error {
            self.last_error = Some(e.to_string());
        }
        if error.is_some() || self.round_local_errors > 0 {
            self.failed_in_a_row = self.failed_in_a_row.saturating_add(1);
        } else {
            self.rounds_ok += 1;
            self.failed_in_a_row = 0;
        }
    }

    /// Ready: a round succeeded and fewer than [`UNREADY_AFTER_FAILED_ROUNDS`] failed since.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.rounds_ok > 0 && self.failed_in_a_row < UNREADY_AFTER_FAILED_ROUNDS
    }
}

/// Counters of one run (for progress output and metrics).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts {
    /// Submissions stored as accepted.
    pub accepted: u64,
    /// Submissions stored as rejected.
    pub rejected: u64,
    /// Decisions acknowledged at the delivery service.
    pub acknowledged: u64,
    /// Processing attempts that failed (retried later).
    pub errors: u64,
    /// Checks that could not decide yet (retried later).
    pub deferred: u64,
}

struct Shared<S, D> {
    store: S,
    delivery: D,
    settings: PipelineSettings,
    budget: Budget,
    in_flight: Mutex<HashSet<String>>,
    cases: Mutex<HashMap<String, String>>,
    ack_lock: tokio::sync::Mutex<()>,
    counts: Mutex<Counts>,
    health: Mutex<Health>,
    wake: Notify,
}

/// What the pipelines of one process share, whatever the number of destinations: the
/// submissions processed at the same time (`[pipeline] concurrency`) and the memory budget
/// ([`crate::config::PipelineLimits`], in [`MEMORY_UNIT`]s).
#[derive(Clone)]
struct Budget {
    permits: Arc<Semaphore>,
    memory: Arc<Semaphore>,
}

/// The receive pipeline of one destination. Cheap to clone (shared state).
pub struct Pipeline<S, D> {
    shared: Arc<Shared<S, D>>,
}

impl<S, D> Clone for Pipeline<S, D> {
    fn clone(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
        }
    }
}

/// The unit of the memory budget's semaphore (64 KiB).
const MEMORY_UNIT: usize = 64 * 1024;

/// `bytes` in [`MEMORY_UNIT`]s (at least one; saturating at the semaphore's maximum).
fn memory_units(bytes: usize) -> u32 {
    u32::try_from(bytes.div_ceil(MEMORY_UNIT).max(1)).unwrap_or(u32::MAX >> 3)
}

/// What a downloaded submission will hold in memory (see [`crate::config::PipelineLimits`]): its
/// inline Fachdaten (a `zip: DEF` one counted at the inflation bound, as it may inflate that far;
/// an uncompressed one at its size) or, without inline Fachdaten, its largest attachment up to the
/// data-attachment bound (it may carry the Fachdaten, purpose `data`).
fn memory_estimate(
    captured: &CapturedSubmission,
    spooled: &BTreeMap<String, SpooledJwe>,
    limits: &crate::config::PipelineLimits,
) -> usize {
    let inline = captured
        .submission
        .get("encryptedData")
        .and_then(serde_json::Value::as_str)
        .filter(|d| !d.is_empty());
    let data = match inline {
        Some(token) => {
            let deflated = token
                .split('.')
                .next()
                .and_then(crate::jose::base64url::decode)
                .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                .is_some_and(|h| h.get("zip").is_some());
            if deflated {
                limits.max_inline_data_bytes
            } else {
                token.len() / 4 * 3
            }
        }
        None => spooled
            .values()
            .filter_map(|j| j.len().ok())
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX) / 4 * 3)
            .max()
            .unwrap_or(0)
            .min(limits.max_data_attachment_bytes),
    };
    // JWEs the download kept in memory stay there until they are decrypted.
    let held: usize = spooled.values().map(SpooledJwe::memory_len).sum();
    data.saturating_mul(limits.memory_per_data_byte)
        .saturating_add(held)
}

/// The one log event of a stored decision: identifiers, message type, decision, problem types
/// and places, and the time to fetch, to check (cumulative) and in total — never a value from
/// the submission.
fn log_decision(
    submission_id: &str,
    case_id: Option<&str>,
    destination: &str,
    outcome: &Outcome,
    [fetch, check, total]: [Duration; 3],
) {
    let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Outcome::Accepted {
            message,
            upstreams,
            rule_findings,
        } => tracing::info!(
            submission_id,
            case_id = case_id.unwrap_or("-"),
            destination,
            message_type = message.as_deref().unwrap_or("-"),
            decision = "accepted",
            upstreams = %upstreams.join(","),
            rule_findings = rule_findings.map_or_else(|| "-".to_owned(), |n| n.to_string()),
            fetch_ms = ms(fetch),
            check_ms = ms(check),
            total_ms = ms(total),
            "submission decided"
        ),
        Outcome::Rejected { problems } => {
            let problems: Vec<String> = problems.iter().map(Problem::label).collect();
            tracing::info!(
                submission_id,
                case_id = case_id.unwrap_or("-"),
                destination,
                decision = "rejected",
                problems = %problems.join(","),
                fetch_ms = ms(fetch),
                check_ms = ms(check),
                total_ms = ms(total),
                "submission decided"
            );
        }
        _ => {}
    }
}

/// The identifiers a stored submission keeps besides its id.
struct Ids {
    case_id: Option<String>,
    destination_id: String,
}

fn unix_seconds(now: Timestamp) -> i64 {
    now.millis() / 1000
}

fn rfc3339(now: Timestamp) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix_seconds(now))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl<S: Store + 'static, D: DeliveryService> Pipeline<S, D> {
    /// A pipeline over this store and delivery service.
    pub fn new(store: S, delivery: D, settings: PipelineSettings) -> Self {
        let budget = Budget {
            permits: Arc::new(Semaphore::new(settings.concurrency.max(1))),
            memory: Arc::new(Semaphore::new(memory_units(
                settings.limits.pipeline.memory_budget_bytes,
            ) as usize)),
        };
        Self::with_budget(store, delivery, settings, budget)
    }

    /// A pipeline for another destination of the same process: it shares `other`'s
    /// concurrency and memory budget (the settings' own `concurrency` and memory limits are
    /// not used), so several destinations together stay within one budget.
    pub fn sharing_budget_of<S2, D2>(
        store: S,
        delivery: D,
        settings: PipelineSettings,
        other: &Pipeline<S2, D2>,
    ) -> Self {
        Self::with_budget(store, delivery, settings, other.shared.budget.clone())
    }

    fn with_budget(store: S, delivery: D, settings: PipelineSettings, budget: Budget) -> Self {
        Self {
            shared: Arc::new(Shared {
                store,
                delivery,
                settings,
                budget,
                in_flight: Mutex::new(HashSet::new()),
                cases: Mutex::new(HashMap::new()),
                ack_lock: tokio::sync::Mutex::new(()),
                counts: Mutex::new(Counts::default()),
                health: Mutex::new(Health::default()),
                wake: Notify::new(),
            }),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.shared.store
    }

    /// The delivery service.
    pub fn delivery(&self) -> &D {
        &self.shared.delivery
    }

    /// Counters so far.
    #[must_use]
    pub fn counts(&self) -> Counts {
        lock(&self.shared.counts).clone()
    }

    fn count(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut lock(&self.shared.counts));
    }

    fn remember_case(&self, submission_id: &str, case_id: &str) {
        lock(&self.shared.cases).insert(submission_id.to_owned(), case_id.to_owned());
    }

    /// Lists and processes every deliverable submission (if this instance holds the poller
    /// lock), then sends due acknowledgements. Returns what each processed id came to.
    ///
    /// # Errors
    /// Listing or the store failed; per-submission failures are counted, not returned.
    pub async fn poll_once(&self) -> Result<Vec<(String, Outcome)>, PipelineError> {
        lock(&self.shared.health).round_local_errors = 0;
        let result = self.poll_round().await;
        lock(&self.shared.health).end_round(result.as_ref().err());
        result
    }

    /// The pipeline's health as `/ready` sees it.
    #[must_use]
    pub fn health(&self) -> Health {
        lock(&self.shared.health).clone()
    }

    async fn poll_round(&self) -> Result<Vec<(String, Outcome)>, PipelineError> {
        if !self.shared.store.try_acquire_poller().await? {
            self.flush_acks().await?;
            return Ok(Vec::new());
        }
        let listed = self.shared.delivery.list().await?;
        for l in &listed {
            self.remember_case(&l.submission_id, &l.case_id);
        }
        let ids = listed.into_iter().map(|l| l.submission_id).collect();
        let out = self.process_all(ids).await;
        self.flush_acks().await?;
        Ok(out)
    }

    /// Processes the ids of a callback (or any other trigger), bounded by the concurrency.
    pub async fn process_all(&self, ids: Vec<String>) -> Vec<(String, Outcome)> {
        let mut tasks = tokio::task::JoinSet::new();
        for id in ids {
            let me = self.clone();
            tasks.spawn(async move {
                let r = me.process(&id).await;
                (id, r)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((id, Ok(outcome))) => out.push((id, outcome)),
                Ok((_, Err(e))) => {
                    self.count(|c| c.errors += 1);
                    if e.is_local() {
                        let mut h = lock(&self.shared.health);
                        h.round_local_errors += 1;
                        h.last_error = Some(e.to_string());
                    }
                }
                Err(_) => {
                    self.count(|c| c.errors += 1);
                    lock(&self.shared.health).round_local_errors += 1;
                }
            }
        }
        out
    }

    /// Wakes the run loop (a callback arrived).
    pub fn notify(&self) {
        self.shared.wake.notify_one();
    }

    /// Processes one submission: seen → download → check → store → acknowledge when due.
    ///
    /// # Errors
    /// The delivery service or the store failed; the id stays unfinished and is retried.
    #[tracing::instrument(name = "submission", skip_all, fields(submission_id = %submission_id))]
    pub async fn process(&self, submission_id: &str) -> Result<Outcome, PipelineError> {
        if !set::is_uuid(submission_id) {
            return Err(DeliveryError("listed submission id is not a UUID".into()).into());
        }
        if !lock(&self.shared.in_flight).insert(submission_id.to_owned()) {
            return Ok(Outcome::InFlight);
        }
        let _guard = InFlight(self, submission_id.to_owned());
        let _permit = self
            .shared
            .budget
            .permits
            .acquire()
            .await
            .map_err(|_| PipelineError::Task)?;
        let received = Timestamp::now();
        // Read-only before the download: an id that names no submission (a callback may name
        // any) must leave nothing in the store; it is recorded once it was downloaded.
        if self.shared.store.is_stored(submission_id).await? {
            return Ok(Outcome::AlreadyStored);
        }
        let metrics = self.shared.settings.metrics.clone();
        let started = std::time::Instant::now();
        let SpooledDownload {
            captured,
            attachments: spooled,
        } = self
            .shared
            .delivery
            .download_spooled(submission_id, &self.shared.settings.spool_dir)
            .await?;
        if self
            .shared
            .store
            .record_seen(submission_id, received)
            .await?
            == Seen::Stored
        {
            return Ok(Outcome::AlreadyStored);
        }
        let fetched = started.elapsed();
        if let Some(m) = &metrics {
            m.submission_received();
            m.observe_stage(Stage::Fetch, fetched);
        }
        if let Some(case) = captured.case_id() {
            self.remember_case(submission_id, case);
        }
        // The Fachdaten are held in memory while checked, transformed and stored: reserve
        // their cost from the budget first (held until the decision is stored), so that large
        // submissions wait for each other instead of adding up.
        let budget = &self.shared.settings.limits.pipeline;
        let units = memory_units(memory_estimate(&captured, &spooled, budget))
            .min(memory_units(budget.memory_budget_bytes));
        let _memory = self
            .shared
            .budget
            .memory
            .acquire_many(units)
            .await
            .map_err(|_| PipelineError::Task)?;
        // The case and destination as the delivery service named them (the list is the
        // fallback when the submission JSON carries no valid case id).
        let ids = Ids {
            case_id: captured
                .case_id()
                .filter(|c| set::is_uuid(c))
                .map(str::to_owned)
                .or_else(|| lock(&self.shared.cases).get(submission_id).cloned())
                .map(|c| c.to_ascii_lowercase()),
            destination_id: captured
                .destination_id()
                .filter(|d| set::is_uuid(d))
                .unwrap_or(&self.shared.settings.destination.id)
                .to_ascii_lowercase(),
        };
        let me = self.clone();
        let verdict = tokio::task::spawn_blocking(move || -> Result<_, PipelineError> {
            let s = &me.shared.settings;
            // The JWKS the delivery service published with the download (only usable PS512
            // keys), plus the configured keys: the destinations' own signing keys, so that
            // the case's earlier accept/reject SETs verify.
            let mut sets =
                match event_log::service_keys(&captured.service_jwks, &captured.info.issuer) {
                    Ok(k) => k,
                    Err(e) => {
                        return Ok(Err(Refused::Deferred(Deferred {
                            reason: e.to_string(),
                        })));
                    }
                };
            sets.delivery_service
                .extend(s.set_keys.delivery_service.iter().cloned());
            sets.destinations
                .extend(s.set_keys.destinations.iter().cloned());
            let keys = CheckKeys {
                decryption: &s.decryption,
                sets: &sets,
            };
            let schemas = Schemas {
                destination: &s.destination,
                metadata: &s.metadata,
                registry: &s.registry,
                grammars: &s.grammars,
                rules: &s.rules,
                business_rules: s.business_rules,
            };
            let now = unix_seconds(Timestamp::now());
            if spooled.is_empty() {
                return Ok(check_submission(&captured, &keys, &schemas, &s.limits, now));
            }
            let mut decrypted = BTreeMap::new();
            for (id, jwe) in spooled {
                let d = decrypt_spooled(jwe, &s.spool_dir, &s.decryption, &s.limits.jose)
                    .map_err(|e| PipelineError::Spool(e.to_string()))?;
                decrypted.insert(id, d);
            }
            Ok(check_submission_spooled(
                &captured, decrypted, &keys, &schemas, &s.limits, now,
            ))
        })
        .await
        .map_err(|_| PipelineError::Task)??;
        let checked = started.elapsed();
        if let Some(m) = &metrics {
            m.observe_stage(Stage::Check, checked.saturating_sub(fetched));
        }
        let verdict = match verdict {
            Err(Refused::Deferred(d)) => {
                self.count(|c| c.deferred += 1);
                tracing::warn!(
                    submission_id,
                    case_id = ids.case_id.as_deref().unwrap_or("-"),
                    destination = %ids.destination_id,
                    reason = %d.reason,
                    "submission deferred: not decided now, tried again later"
                );
                return Ok(Outcome::Deferred { reason: d.reason });
            }
            Err(Refused::Rejected(r)) => Err(r),
            Ok(a) => Ok(a),
        };
        let decided = Timestamp::now();
        let (case_id, destination) = (ids.case_id.clone(), ids.destination_id.clone());
        let (new, outcome) = self.to_store(submission_id, ids, verdict, received, decided);
        let storing = std::time::Instant::now();
        let stored = self.shared.store.store_submission(new, decided).await?;
        if let Some(m) = &metrics {
            m.observe_stage(Stage::Store, storing.elapsed());
        }
        if stored == crate::store::StoreOutcome::AlreadyStored {
            return Ok(Outcome::AlreadyStored);
        }
        log_decision(
            submission_id,
            case_id.as_deref(),
            &destination,
            &outcome,
            [fetched, checked, started.elapsed()],
        );
        match &outcome {
            Outcome::Accepted { .. } => self.count(|c| c.accepted += 1),
            Outcome::Rejected { .. } => self.count(|c| c.rejected += 1),
            _ => {}
        }
        if let Some(m) = &metrics {
            m.decided(&self.shared.settings.destination.id);
            match &outcome {
                Outcome::Accepted { .. } => m.submission_accepted(),
                Outcome::Rejected { problems } => {
                    for p in problems {
                        m.submission_rejected(&p.type_uri);
                    }
                }
                _ => {}
            }
            m.observe_stage(Stage::Total, started.elapsed());
        }
        self.flush_acks().await?;
        Ok(outcome)
    }

    fn to_store(
        &self,
        submission_id: &str,
        ids: Ids,
        verdict: Result<Accepted, super::check::Rejected>,
        received: Timestamp,
        decided: Timestamp,
    ) -> (NewSubmission, Outcome) {
        let s = &self.shared.settings;
        match verdict {
            Ok(mut accepted) => {
                let upstreams = (s.router)(&accepted);
                let envelope = accepted.envelope_json(&rfc3339(received));
                let blob = |bytes: &mut zeroize::Zeroizing<Vec<u8>>| {
                    BlobSource::Reader(Box::new(std::io::Cursor::new(std::mem::take(&mut **bytes))))
                };
                let content = |c: &mut AttachmentContent| {
                    let empty = AttachmentContent::Memory(zeroize::Zeroizing::default());
                    match std::mem::replace(c, empty) {
                        AttachmentContent::Memory(mut bytes) => blob(&mut bytes),
                        AttachmentContent::File { file, len, sha256 } => {
                            BlobSource::Addressed { file, len, sha256 }
                        }
                    }
                };
                let mut attachments: Vec<NewAttachment> = accepted
                    .attachments
                    .iter_mut()
                    .map(|a| NewAttachment {
                        attachment_id: a.id.clone(),
                        filename: a.filename.clone(),
                        media_type: a.mime_type.clone(),
                        content: content(&mut a.content),
                    })
                    .collect();
                attachments.extend(
                    accepted
                        .binaries
                        .iter_mut()
                        .map(|(b, octets)| NewAttachment {
                            attachment_id: b.id.clone(),
                            filename: None,
                            media_type: "application/octet-stream".to_owned(),
                            content: blob(octets),
                        }),
                );
                let message = accepted
                    .message
                    .as_ref()
                    .map(crate::xoev::transform::MessageIdentity::label);
                let evidence = Evidence {
                    submit_set: accepted.evidence.submit_set.clone().unwrap_or_default(),
                    auth_tags: Some(accepted.tags.clone()),
                    hashes: accepted.evidence.hashes.clone(),
                    received_at: received,
                    decided_at: decided,
                };
                let new = NewSubmission {
                    submission_id: submission_id.to_owned(),
                    case_id: ids.case_id,
                    destination_id: ids.destination_id,
                    message_type: accepted.message.as_ref().map(|m| m.message_type.clone()),
                    envelope: Some(envelope),
                    fachdaten: accepted
                        .data
                        .as_deref()
                        .filter(|d| is_xml(d))
                        .map(|d| d.to_vec()),
                    decision: Decision::Accepted,
                    ack_policy: s.ack_policy,
                    evidence,
                    attachments,
                    upstreams: upstreams.clone(),
                };
                let rule_findings = accepted.business_rule_findings();
                (
                    new,
                    Outcome::Accepted {
                        message,
                        upstreams,
                        rule_findings,
                    },
                )
            }
            Err(rejected) => {
                let evidence = Evidence {
                    submit_set: rejected.evidence.submit_set.clone().unwrap_or_default(),
                    auth_tags: rejected.evidence.tags.clone(),
                    hashes: rejected.evidence.hashes.clone(),
                    received_at: received,
                    decided_at: decided,
                };
                let new = NewSubmission {
                    submission_id: submission_id.to_owned(),
                    case_id: ids.case_id,
                    destination_id: ids.destination_id,
                    message_type: None,
                    envelope: None,
                    fachdaten: None,
                    decision: Decision::Rejected {
                        problems: rejected.problems.clone(),
                    },
                    ack_policy: s.ack_policy,
                    evidence,
                    attachments: Vec::new(),
                    upstreams: Vec::new(),
                };
                (
                    new,
                    Outcome::Rejected {
                        problems: rejected.problems,
                    },
                )
            }
        }
    }

    /// Sends every due acknowledgement whose case is known to this run and records it.
    /// One flush at a time per process.
    ///
    /// # Errors
    /// The store failed. A failed post leaves the ack pending for the next flush.
    pub async fn flush_acks(&self) -> Result<u64, PipelineError> {
        let _one = self.shared.ack_lock.lock().await;
        let mut sent = 0;
        loop {
            let due = self.shared.store.pending_acks(100).await?;
            let mut progressed = false;
            for row in &due {
                let ack = match row {
                    AckDue::Ready(ack) => ack,
                    AckDue::Undecodable { .. } => {
                        // Nothing is sent for a record that cannot be decoded.
                        self.count(|c| c.errors += 1);
                        continue;
                    }
                };
                // Stored with the decision; this run's list covers rows stored without one.
                let case = ack
                    .case_id
                    .clone()
                    .or_else(|| lock(&self.shared.cases).get(&ack.submission_id).cloned());
                let Some(case) = case else { continue };
                if self.acknowledge(ack, &case).await? {
                    sent += 1;
                    progressed = true;
                }
            }
            if !progressed || due.len() < 100 {
                return Ok(sent);
            }
        }
    }

    async fn acknowledge(&self, ack: &PendingAck, case: &str) -> Result<bool, PipelineError> {
        let s = &self.shared.settings;
        let subject = SubmissionRef {
            destination_id: ack.destination_id.as_deref().unwrap_or(&s.destination.id),
            submission_id: &ack.submission_id,
            case_id: case,
        };
        let now = Timestamp::now();
        let token = match (&ack.decision, &ack.auth_tags) {
            (Decision::Accepted, Some(tags)) => set::accept_submission(
                &s.signing,
                &subject,
                tags,
                unix_seconds(now),
                s.set_payload_schema,
            ),
            // Decoding refuses an accepted row without tags; nothing to send for it.
            (Decision::Accepted, None) => return Ok(false),
            (Decision::Rejected { problems }, _) => set::reject_submission(
                &s.signing,
                &subject,
                problems,
                unix_seconds(now),
                s.set_payload_schema,
            ),
        };
        let posting = std::time::Instant::now();
        let posted = self.shared.delivery.post_event(case, &token).await;
        if let Some(m) = &s.metrics {
            m.observe_stage(Stage::Ack, posting.elapsed());
        }
        match posted {
            Ok(_) => {
                self.shared
                    .store
                    .mark_acknowledged(&ack.submission_id, Timestamp::now(), Some(token))
                    .await?;
                self.count(|c| c.acknowledged += 1);
                Ok(true)
            }
            Err(e) => {
                self.count(|c| c.errors += 1);
                if let Some(m) = &s.metrics {
                    m.ack_failure();
                }
                tracing::warn!(
                    submission_id = %ack.submission_id,
                    case_id = case,
                    error = %e,
                    "acknowledgement not posted; sent again in the next round"
                );
                Ok(false)
            }
        }
    }

    /// Polls every `interval` (and at once when [`Pipeline::notify`] is called) until
    /// `shutdown` completes; in-flight work of the current round is finished first.
    pub async fn run(&self, interval: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut failing: u32 = 0;
        loop {
            match self.poll_once().await {
                Ok(_) => {
                    if failing > 0 {
                        tracing::info!(failed_rounds = failing, "polling works again: outage over");
                    }
                    failing = 0;
                }
                Err(e) => {
                    self.count(|c| c.errors += 1);
                    if let Some(m) = &self.shared.settings.metrics {
                        m.poll_error();
                    }
                    if failing == 0 {
                        tracing::warn!(error = %e, "poll failed: outage begins (retried every round; /ready turns 503 after repeated failures)");
                    }
                    failing = failing.saturating_add(1);
                }
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = tokio::time::sleep(interval) => {}
                () = self.shared.wake.notified() => {}
            }
        }
        let _ = self.shared.store.release_poller().await;
    }
}

impl<S: Store + 'static, D: DeliveryService> crate::server::Readiness for Pipeline<S, D> {
    fn is_ready(&self) -> bool {
        lock(&self.shared.health).is_ready()
    }
}

struct InFlight<'a, S, D>(&'a Pipeline<S, D>, String);

impl<S, D> Drop for InFlight<'_, S, D> {
    fn drop(&mut self) {
        lock(&self.0.shared.in_flight).remove(&self.1);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded maps stay consistent across a panic (single inserts/removes).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Whether Fachdaten are XML (stored for the case-worker document) rather than JSON: the first
/// byte after an optional BOM and whitespace is `<`.
fn is_xml(data: &[u8]) -> bool {
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    data.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_xml_fachdaten_are_kept_for_the_document() {
        assert!(super::is_xml(b"<a/>"));
        assert!(super::is_xml(b"\xEF\xBB\xBF \n<?xml version=\"1.0\"?><a/>"));
        assert!(!super::is_xml(b"{\"a\":1}"));
        assert!(!super::is_xml(b""));
    }
}
