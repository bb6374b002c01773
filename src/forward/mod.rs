//! Forwarding (layer L3): routes submissions to upstreams and runs the outbox worker that
//! delivers them, with retries, dead letters and re-drive.
//!
//! # Using it
//!
//! ```text
//! // At configuration time (pipeline/config): declare upstreams and routes.
//! let table = RouteTable::new(
//!     vec![UpstreamSpec::http("bau", HttpUpstream::new("https://bau.example/in")),
//!          UpstreamSpec::file_drop("archiv", FileDropUpstream::new("/var/spool/archiv"))],
//!     vec![Route { when: RouteMatch { message_type: Some(Pattern::new("baugenehmigung.*")),
//!                                     ..RouteMatch::default() },
//!                  to: vec!["bau".into(), "archiv".into()] }],
//!     vec!["archiv".into()],                       // default upstreams
//! )?;
//! // When storing a submission: NewSubmission { upstreams: table.route(&key).to_vec(), .. }
//! // The worker:
//! let forwarder = Forwarder::new(store.clone(), Arc::new(table), ForwardPolicy::default())?
//!     .with_metrics(metrics.clone());
//! let wake = forwarder.waker();                    // wake.notify_one() after storing: no poll delay
//! tokio::spawn(async move { forwarder.run(shutdown_future).await });
//! ```
//!
//! [`Forwarder::run`] claims due jobs (with a lease, see the store design note), delivers up to
//! [`ForwardPolicy::concurrency`] at a time and records each outcome; when `shutdown`
//! completes it claims nothing more and returns once the in-flight deliveries are finished
//! (each is bounded by its upstream's timeouts). [`Forwarder::deliver_due_once`] does one
//! claim-and-deliver round for tests and tools.
//!
//! # Semantics
//!
//! - **Delivery** is at-least-once: a crash after the upstream received a submission but before
//!   the job was marked delivered re-delivers it after the lease expires, with the same
//!   `Idempotency-Key` (HTTP) or onto the same directory name (file drop, then a no-op).
//! - **Outcomes**: 2xx → delivered. Transient failures (connect, timeout, 408/409/425/429/5xx,
//!   I/O) → retried at the time [`RetryPolicy::after_failure`] computes (exponential backoff,
//!   equal jitter), until `max_attempts` or `max_age`, then dead letter. Permanent failures
//!   (other 3xx/4xx, unsafe ids, an upstream no longer configured) → dead letter at once.
//! - **Re-drive** (`poststelle queue redrive`, the admin API, or [`crate::store::Store::redrive`])
//!   makes dead letters due now with a fresh attempt count; a running forwarder picks them up at
//!   its next poll.
//! - **Attachments** are exported from the store by streaming
//!   ([`crate::store::Store::export_attachment`]), never loaded whole: into the drop directory
//!   (`<dir>/<submission id>/attachments/<id>`), or, for HTTP, into a spool file that is
//!   streamed as `PUT <url>/<submission id>/attachments/<id>` before the envelope is posted. The
//!   envelope's relative `href` (`attachments/<id>`) resolves against `<dir>/<submission id>/`
//!   or `<url>/<submission id>/` respectively.

mod file_drop;
mod http;
mod purge;
mod route;
mod upstream;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::config::gateway::GatewayConfig;
use crate::server::metrics::{Metrics, Stage};
use crate::store::{ClaimedJob, FailAction, FailOutcome, RetryPolicy, Store, Timestamp};

pub use purge::{PURGE_INTERVAL, run_purges};
pub use route::{Pattern, Route, RouteError, RouteKey, RouteMatch, RouteTable};
pub use upstream::{
    ClientIdentity, DeliveryFailure, FileDropUpstream, HttpUpstream, UpstreamKind, UpstreamSpec,
};

use file_drop::DropTarget;
use http::HttpTarget;

/// What [`DocumentSource::json_document`] returns: `None` without JSON Fachdaten, else the
/// page or why there is none.
pub type JsonDocument<'a> =
    std::pin::Pin<Box<dyn Future<Output = Option<Result<String, String>>> + Send + 'a>>;

/// Renders the case-worker document of a submission — its stored XML Fachdaten, or the JSON
/// Fachdaten of its envelope — for upstreams with `rendering = true`
/// ([`HttpUpstream::send_document`]). Implemented over the console's renderer by the
/// composition root, so this layer needs neither packs nor grammars.
pub trait DocumentSource: Send + Sync {
    /// The self-contained HTML page of XML Fachdaten, or why there is none (no values of the
    /// document).
    fn document(
        &self,
        fachdaten: Vec<u8>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>>;

    /// The page of the JSON Fachdaten in a stored envelope (`message.schemaUri`, `data`):
    /// `None` when the envelope carries none (or the source renders XML only), else the page
    /// or why there is none.
    fn json_document(&self, envelope: String) -> JsonDocument<'_> {
        let _ = envelope;
        Box::pin(async { None })
    }
}

/// Errors building a [`Forwarder`] or talking to the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// An upstream cannot be set up (bad URL, unreadable certificate, drop directory not
    /// creatable).
    #[error("upstream {upstream}: {reason}")]
    Upstream {
        /// The upstream's name.
        upstream: String,
        /// What is wrong.
        reason: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// How the outbox worker runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardPolicy {
    /// Backoff, attempts and age before dead letter.
    pub retry: RetryPolicy,
    /// Deliveries in flight at most. Default 8.
    pub concurrency: usize,
    /// Lease on a claimed job. While a delivery runs it is renewed every third of its length
    /// ([`crate::store::Store::extend_lease`]), so it need only exceed that interval plus the
    /// clock skew between instances, not the longest delivery; the jobs of a crashed worker
    /// are claimable again once it expires. Default 60 s.
    pub lease: Duration,
    /// How often the store is asked for due jobs when idle. Default 1 s.
    pub poll_interval: Duration,
    /// This worker's name in leases (unique per process; default random).
    pub worker_id: String,
    /// Where attachments for HTTP upstreams are exported to while they are uploaded (one file
    /// per upload; its name is removed as soon as the upload has it open). Export files older
    /// than [`ForwardPolicy::stale_export_age`] are swept when a forwarder starts. Default: the
    /// system's temporary directory; `serve` uses its own `[pipeline] spool_dir`.
    pub spool_dir: PathBuf,
    /// Age from which an export file in the spool directory counts as a crash leftover.
    /// Default 10 minutes (an export lives from the store read until the upload opened it).
    pub stale_export_age: Duration,
}

impl Default for ForwardPolicy {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            concurrency: 8,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_secs(1),
            worker_id: format!(
                "fwd-{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            spool_dir: std::env::temp_dir(),
            stale_export_age: Duration::from_secs(600),
        }
    }
}

impl ForwardPolicy {
    /// `serve`'s policy: `[forwarding]` (lease, concurrency, retries) and `[pipeline]
    /// spool_dir` over the defaults; what the file leaves out keeps [`RetryPolicy::default`]'s
    /// values.
    #[must_use]
    pub fn configured(config: &GatewayConfig) -> Self {
        let defaults = RetryPolicy::default();
        let r = &config.forward_retry;
        Self {
            retry: RetryPolicy {
                base_delay: r.backoff_base.unwrap_or(defaults.base_delay),
                max_delay: r.backoff_cap.unwrap_or(defaults.max_delay),
                max_attempts: r.max_attempts.unwrap_or(defaults.max_attempts),
                max_age: r.max_age.unwrap_or(defaults.max_age),
            },
            lease: Duration::from_secs(config.forward_lease_secs),
            concurrency: config.forward_concurrency,
            spool_dir: config.spool_dir.clone(),
            ..Self::default()
        }
    }
}

/// Checks what [`Forwarder::new`] sets up for `spec`, without creating anything: an HTTP(S)
/// upstream's URL, client certificate and trust roots (every problem at once); a drop
/// directory is created at start and not checked here. For `serve --check`.
///
/// # Errors
/// [`ForwardError::Upstream`] naming the upstream and every problem found.
pub fn check_upstream(spec: &UpstreamSpec) -> Result<(), ForwardError> {
    match &spec.kind {
        UpstreamKind::Http(h) => HttpTarget::new(&spec.name, h).map(drop),
        UpstreamKind::FileDrop(_) => Ok(()),
    }
}

/// What one round of deliveries did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundReport {
    /// Jobs claimed.
    pub claimed: usize,
    /// Delivered.
    pub delivered: usize,
    /// Failed and scheduled again.
    pub retried: usize,
    /// Moved to the dead letters.
    pub dead_lettered: usize,
    /// Outcome not recorded: the lease was lost, or the store failed while recording (the job
    /// is retried after its lease expires).
    pub unrecorded: usize,
}

#[derive(Debug, Clone)]
enum Target {
    Http(HttpTarget),
    Drop(DropTarget),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Delivered,
    Retried,
    DeadLettered,
    Unrecorded,
}

struct Inner<S> {
    store: S,
    targets: HashMap<String, Target>,
    policy: ForwardPolicy,
    metrics: Arc<Metrics>,
    wake: Arc<Notify>,
    /// Stale export files removed at start.
    swept_exports: usize,
    /// The case-worker document for upstreams that receive it.
    documents: Option<Arc<dyn DocumentSource>>,
}

/// The outbox worker. Cheap to clone (shared state).
pub struct Forwarder<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for Forwarder<S> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<S> std::fmt::Debug for Forwarder<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("worker_id", &self.inner.policy.worker_id)
            .field("upstreams", &self.inner.targets.len())
            .finish_non_exhaustive()
    }
}

impl<S: Store + 'static> Forwarder<S> {
    /// Builds the HTTP clients and opens the drop directories of every upstream in `routes`.
    ///
    /// # Errors
    /// [`ForwardError::Upstream`] for the first upstream that cannot be set up.
    pub fn new(
        store: S,
        routes: Arc<RouteTable>,
        policy: ForwardPolicy,
    ) -> Result<Self, ForwardError> {
        let mut targets = HashMap::new();
        for spec in routes.upstreams() {
            let target = match &spec.kind {
                UpstreamKind::Http(h) => Target::Http(HttpTarget::new(&spec.name, h)?),
                UpstreamKind::FileDrop(d) => Target::Drop(DropTarget::open(&d.dir).map_err(
                    |e| ForwardError::Upstream {
                        upstream: spec.name.clone(),
                        reason: format!("{}: {e}", d.dir.display()),
                    },
                )?),
            };
            targets.insert(spec.name.clone(), target);
        }
        let policy = ForwardPolicy {
            concurrency: policy.concurrency.max(1),
            ..policy
        };
        let swept =
            http::sweep_exports(&policy.spool_dir, policy.stale_export_age).map_err(|e| {
                ForwardError::Upstream {
                    upstream: "(spool)".into(),
                    reason: format!("{}: {e}", policy.spool_dir.display()),
                }
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                targets,
                policy,
                metrics: Arc::new(Metrics::new()),
                wake: Arc::new(Notify::new()),
                swept_exports: swept,
                documents: None,
            }),
        })
    }

    /// How many stale export files (crash leftovers) the start removed from the spool
    /// directory.
    #[must_use]
    pub fn swept_exports(&self) -> usize {
        self.inner.swept_exports
    }

    /// Uses these shared metrics instead of private ones (the forwarder and its clones made
    /// before this call keep theirs).
    #[must_use]
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self
    where
        S: Clone,
    {
        let mut inner = self.inner.copy();
        inner.metrics = metrics;
        Self {
            inner: Arc::new(inner),
        }
    }

    /// Renders the case-worker document with `documents` for the upstreams that receive it
    /// (the forwarder and its clones made before this call keep rendering none).
    #[must_use]
    pub fn with_documents(self, documents: Arc<dyn DocumentSource>) -> Self
    where
        S: Clone,
    {
        let mut inner = self.inner.copy();
        inner.documents = Some(documents);
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The metrics this forwarder counts into.
    #[must_use]
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.inner.metrics
    }

    /// A handle that wakes [`Forwarder::run`] at once (call `notify_one()` after storing new
    /// jobs or a re-drive) instead of waiting for the next poll.
    #[must_use]
    pub fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.wake)
    }

    /// Claims up to `concurrency` due jobs once, delivers them concurrently and records every
    /// outcome.
    ///
    /// # Errors
    /// The store failed to claim (outcomes that fail to record count as `unrecorded`).
    pub async fn deliver_due_once(&self) -> Result<RoundReport, ForwardError> {
        let jobs = self.claim(self.inner.policy.concurrency).await?;
        let mut report = RoundReport {
            claimed: jobs.len(),
            ..RoundReport::default()
        };
        let mut set = JoinSet::new();
        for job in jobs {
            let inner = Arc::clone(&self.inner);
            set.spawn(async move { inner.process(job).await });
        }
        while let Some(done) = set.join_next().await {
            tally(&mut report, done.unwrap_or(Outcome::Unrecorded));
        }
        Ok(report)
    }

    /// Runs the worker until `shutdown` completes, then finishes the deliveries in flight and
    /// returns what it did. Store errors do not stop it: it waits a poll interval and tries
    /// again.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) -> RoundReport {
        let mut report = RoundReport::default();
        let mut set: JoinSet<Outcome> = JoinSet::new();
        let interval = self.inner.policy.poll_interval;
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let free = self.inner.policy.concurrency.saturating_sub(set.len());
            // A full batch suggests more are due: ask again as soon as a slot frees.
            let mut more_due = false;
            if free > 0
                && let Ok(jobs) = self.claim(free).await
            {
                more_due = jobs.len() == free;
                report.claimed += jobs.len();
                for job in jobs {
                    let inner = Arc::clone(&self.inner);
                    set.spawn(async move { inner.process(job).await });
                }
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                Some(done) = set.join_next(), if !set.is_empty() => {
                    tally(&mut report, done.unwrap_or(Outcome::Unrecorded));
                }
                () = self.inner.wake.notified() => {}
                () = tokio::time::sleep(interval), if !more_due => {}
            }
        }
        while let Some(done) = set.join_next().await {
            tally(&mut report, done.unwrap_or(Outcome::Unrecorded));
        }
        report
    }

    async fn claim(&self, limit: usize) -> Result<Vec<ClaimedJob>, ForwardError> {
        let p = &self.inner.policy;
        let limit = u32::try_from(limit).unwrap_or(u32::MAX);
        Ok(self
            .inner
            .store
            .claim_jobs(&p.worker_id, Timestamp::now(), p.lease, limit)
            .await?)
    }
}

/// The attachments of a stored submission, as a delivery needs them.
pub(crate) async fn attachments_of<S: Store>(
    store: &S,
    submission_id: &str,
) -> Result<Vec<crate::store::AttachmentMeta>, DeliveryFailure> {
    match store.submission(submission_id).await {
        Ok(Some(view)) => Ok(view.attachments),
        Ok(None) => Err(DeliveryFailure::permanent("submission-missing")),
        Err(_) => Err(DeliveryFailure::transient("store")),
    }
}

/// Whether `name` is safe as one path component (file name, URL segment): ids come from the
/// delivery service, so they are untrusted here.
pub(crate) fn safe_component(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn tally(report: &mut RoundReport, outcome: Outcome) {
    match outcome {
        Outcome::Delivered => report.delivered += 1,
        Outcome::Retried => report.retried += 1,
        Outcome::DeadLettered => report.dead_lettered += 1,
        Outcome::Unrecorded => report.unrecorded += 1,
    }
}

impl<S: Clone> Inner<S> {
    /// The same settings with a waker of its own (for the `with_*` builders).
    fn copy(&self) -> Self {
        Self {
            store: self.store.clone(),
            targets: self.targets.clone(),
            policy: self.policy.clone(),
            metrics: Arc::clone(&self.metrics),
            wake: Arc::new(Notify::new()),
            swept_exports: self.swept_exports,
            documents: self.documents.clone(),
        }
    }
}

impl<S: Store> Inner<S> {
    async fn deliver(&self, job: &ClaimedJob) -> Result<(), DeliveryFailure> {
        match self.targets.get(&job.upstream) {
            None => Err(DeliveryFailure::permanent("unknown-upstream")),
            Some(Target::Http(t)) => {
                let document = if t.sends_document() {
                    self.document_of(&job.submission_id, &job.envelope).await?
                } else {
                    None
                };
                t.deliver(
                    &self.store,
                    &self.policy.spool_dir,
                    &job.submission_id,
                    &job.envelope,
                    document.as_deref(),
                )
                .await
            }
            Some(Target::Drop(t)) => {
                t.deliver(&self.store, &job.submission_id, &job.envelope)
                    .await
            }
        }
    }

    /// The case-worker document of a submission, when one can be made: of its stored XML
    /// Fachdaten, else of the JSON Fachdaten in its envelope; once purged there is none. A
    /// document that cannot be rendered (its pack was removed) is logged and the submission
    /// delivered without it — retrying would not help, and the application itself must not
    /// wait for its rendering.
    async fn document_of(
        &self,
        submission_id: &str,
        envelope: &str,
    ) -> Result<Option<String>, DeliveryFailure> {
        let Some(source) = &self.documents else {
            return Ok(None);
        };
        let xml = self
            .store
            .fachdaten(submission_id)
            .await
            .map_err(|_| DeliveryFailure::transient("store"))?;
        let rendered = match xml {
            Some(xml) => source.document(xml).await,
            None => match source.json_document(envelope.to_owned()).await {
                Some(result) => result,
                None => return Ok(None),
            },
        };
        match rendered {
            Ok(page) => Ok(Some(page)),
            Err(reason) => {
                tracing::warn!(
                    submission_id,
                    reason,
                    "case-worker document not rendered; delivered without it"
                );
                Ok(None)
            }
        }
    }

    /// Delivers while renewing the lease every third of its length. `None` when the lease was
    /// lost meanwhile (another worker took the job over after it expired): the attempt is
    /// abandoned, its outcome belongs to the new holder.
    async fn deliver_leased(&self, job: &ClaimedJob) -> Option<Result<(), DeliveryFailure>> {
        crate::store::lease::hold(self.policy.lease, self.deliver(job), |until| {
            self.store
                .extend_lease(job.job_id, &self.policy.worker_id, until)
        })
        .await
    }

    #[tracing::instrument(
        name = "delivery",
        skip_all,
        fields(job_id = job.job_id, submission_id = %job.submission_id, upstream = %job.upstream)
    )]
    async fn process(&self, job: ClaimedJob) -> Outcome {
        let started = Instant::now();
        let Some(result) = self.deliver_leased(&job).await else {
            return Outcome::Unrecorded;
        };
        self.metrics
            .observe_stage(Stage::Forward, started.elapsed());
        let now = Timestamp::now();
        let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match result {
            Ok(()) => match self.store.complete_job(job.job_id, now).await {
                Ok(_) => {
                    self.metrics.forwarded(&job.upstream);
                    tracing::info!(
                        job_id = job.job_id,
                        submission_id = %job.submission_id,
                        upstream = %job.upstream,
                        attempt = job.attempts,
                        took_ms,
                        "delivered"
                    );
                    Outcome::Delivered
                }
                Err(e) => {
                    tracing::warn!(job_id = job.job_id, submission_id = %job.submission_id, upstream = %job.upstream, error = %e, "delivered, but not recorded: delivered again later (the upstream deduplicates by idempotency key)");
                    Outcome::Unrecorded
                }
            },
            Err(failure) => {
                let action = if failure.permanent {
                    FailAction::DeadLetter
                } else {
                    self.policy.retry.after_failure(
                        job.attempts,
                        job.created_at,
                        now,
                        RetryPolicy::jitter(),
                    )
                };
                let recorded = self
                    .store
                    .fail_job(
                        job.job_id,
                        &self.policy.worker_id,
                        action,
                        &failure.kind,
                        now,
                    )
                    .await;
                match recorded {
                    Ok(FailOutcome::Retrying) => {
                        self.metrics.forward_retry(&job.upstream);
                        tracing::warn!(
                            job_id = job.job_id,
                            submission_id = %job.submission_id,
                            upstream = %job.upstream,
                            attempt = job.attempts,
                            error = %failure.kind,
                            took_ms,
                            "delivery failed; retrying later"
                        );
                        Outcome::Retried
                    }
                    Ok(FailOutcome::DeadLettered) => {
                        self.metrics.dead_letter(&job.upstream);
                        tracing::error!(
                            job_id = job.job_id,
                            submission_id = %job.submission_id,
                            upstream = %job.upstream,
                            attempt = job.attempts,
                            error = %failure.kind,
                            permanent = failure.permanent,
                            "dead letter: not delivered; `poststelle queue redrive` once the upstream is fixed"
                        );
                        Outcome::DeadLettered
                    }
                    Ok(FailOutcome::LeaseLost) | Err(_) => Outcome::Unrecorded,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_policy_and_upstreams_keep_the_defaults_the_file_leaves_out() {
        let c = GatewayConfig::embedded_default();
        let policy = ForwardPolicy::configured(&c);
        assert_eq!(policy.retry, RetryPolicy::default());
        assert_eq!(policy.lease, ForwardPolicy::default().lease);
        assert_eq!(policy.concurrency, ForwardPolicy::default().concurrency);
        let c = GatewayConfig::from_toml(
            "[forwarding]\nmax_attempts = 2\nbackoff_cap_secs = 5\n\
             [[upstream]]\nname = \"a\"\nurl = \"https://a.example/in\"\n\
             [[upstream]]\nname = \"b\"\nurl = \"https://b.example/in\"\n\
             ca_file = \"ca.pem\"\ntimeout_secs = 7\nattachments = false\n",
            std::path::Path::new("/etc/p"),
        )
        .expect("valid");
        let retry = ForwardPolicy::configured(&c).retry;
        assert_eq!(retry.max_attempts, 2);
        assert_eq!(retry.max_delay, Duration::from_secs(5));
        assert_eq!(retry.base_delay, RetryPolicy::default().base_delay);
        assert_eq!(retry.max_age, RetryPolicy::default().max_age);
        let spec = |i: usize| match UpstreamSpec::configured(&c.upstreams[i]).kind {
            UpstreamKind::Http(h) => h,
            UpstreamKind::FileDrop(_) => panic!("http"),
        };
        assert_eq!(spec(0), HttpUpstream::new("https://a.example/in"));
        let b = spec(1);
        assert_eq!(b.extra_roots, Some(PathBuf::from("/etc/p/ca.pem")));
        assert_eq!(b.total_timeout, Duration::from_secs(7));
        assert_eq!(b.connect_timeout, HttpUpstream::new("x").connect_timeout);
        assert!(!b.send_attachments);
        assert_eq!(b.client_identity, None);
    }

    #[test]
    fn path_components_are_checked() {
        for ok in ["f39ab143-d91a-474a-b69f-b00f1a1873c2", "a.b_c-1"] {
            assert!(safe_component(ok), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            ".tmp",
            "a/b",
            "a\\b",
            "a b",
            "ü",
            "a%2Fb",
            &"x".repeat(129),
        ] {
            assert!(!safe_component(bad), "{bad}");
        }
    }
}
