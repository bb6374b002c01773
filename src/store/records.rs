//! The values that go into and come out of the store.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::StoreError;
use crate::fitconnect::problems::Problem;
use crate::fitconnect::set::AuthenticationTags;

/// A point in time as milliseconds since the Unix epoch (UTC).
///
/// The caller passes `now` into every time-dependent operation: lease expiry and due times are
/// then deterministic in tests, and all instances sharing a database agree on one clock source
/// (their own, kept in sync by NTP) instead of mixing database and host clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The current wall-clock time.
    #[must_use]
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }

    /// Milliseconds since the epoch.
    #[must_use]
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This time plus a duration (saturating).
    #[must_use]
    pub fn plus(self, d: Duration) -> Self {
        Self(
            self.0
                .saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
        )
    }

    /// The time elapsed from `earlier` to `self` (zero if `earlier` is later).
    #[must_use]
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    /// RFC 3339 in UTC, milliseconds shown when not zero (`2027-01-15T08:00:00.25Z`): how
    /// times are shown to operators, by `queue` and the admin API alike. `None` for a time
    /// outside what RFC 3339 can write (only a corrupt row holds one).
    #[must_use]
    pub fn to_rfc3339(self) -> Option<String> {
        time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .ok()?
            .format(&time::format_description::well_known::Rfc3339)
            .ok()
    }
}

/// When a decision is acknowledged to the delivery service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AckPolicy {
    /// As soon as the submission is durably stored (the default).
    #[default]
    AfterStore,
    /// Only once every outbox job of the submission is delivered.
    AfterForward,
}

impl AckPolicy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AfterStore => "after-store",
            Self::AfterForward => "after-forward",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "after-store" => Ok(Self::AfterStore),
            "after-forward" => Ok(Self::AfterForward),
            _ => Err(StoreError::Corrupt { what: "ack policy" }),
        }
    }
}

/// The gateway's verdict on a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Accepted: acknowledged with accept-submission.
    Accepted,
    /// Rejected with these FIT-Connect problems (at least one), acknowledged with
    /// reject-submission.
    Rejected {
        /// The problems as the reject SET carries them.
        problems: Vec<Problem>,
    },
}

/// One stored decision, for `queue decisions`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct DecisionSummary {
    /// The submission.
    pub submission_id: String,
    /// Its case, when known.
    pub case_id: Option<String>,
    /// The message type (accepted submissions with data).
    pub message_type: Option<String>,
    /// When the decision was stored.
    pub decided_at: Timestamp,
    /// The decision with its problems.
    pub decision: Decision,
}

/// A [`DecisionSummary`] from the columns of [`super::sql::DECISIONS`].
pub(crate) fn decision_summary(
    submission_id: String,
    case_id: Option<String>,
    message_type: Option<String>,
    stored_at: Option<i64>,
    decision: Option<String>,
    problems: Option<String>,
) -> Result<DecisionSummary, StoreError> {
    let kind = decision.ok_or(StoreError::Corrupt {
        what: "a stored submission without a decision",
    })?;
    Ok(DecisionSummary {
        submission_id,
        case_id,
        message_type,
        decided_at: Timestamp(stored_at.unwrap_or_default()),
        decision: Decision::from_columns(&kind, problems.as_deref())?,
    })
}

impl Decision {
    pub(crate) fn columns(&self) -> Result<(&'static str, Option<String>), StoreError> {
        Ok(match self {
            Self::Accepted => ("accepted", None),
            Self::Rejected { problems } if problems.is_empty() => {
                return Err(StoreError::Corrupt {
                    what: "a rejection without problems",
                });
            }
            Self::Rejected { problems } => ("rejected", Some(serde_json::to_string(problems)?)),
        })
    }

    /// The typed decision of a row. A rejection whose problems are missing, not the problem
    /// shape or empty is corrupt — never an empty reject.
    pub(crate) fn from_columns(kind: &str, problems: Option<&str>) -> Result<Self, StoreError> {
        let corrupt = StoreError::Corrupt {
            what: "rejection problems",
        };
        match kind {
            "accepted" => Ok(Self::Accepted),
            "rejected" => {
                let problems: Vec<Problem> =
                    serde_json::from_str(problems.ok_or(StoreError::Corrupt {
                        what: "rejection problems",
                    })?)
                    .map_err(|_| StoreError::Corrupt {
                        what: "rejection problems",
                    })?;
                if problems.is_empty() {
                    return Err(corrupt);
                }
                Ok(Self::Rejected { problems })
            }
            _ => Err(StoreError::Corrupt { what: "decision" }),
        }
    }
}

/// The stored authentication tags (`null` when none were established, e.g. a rejection before
/// the event log was read).
pub(crate) fn tags_column(tags: Option<&AuthenticationTags>) -> Result<String, StoreError> {
    Ok(serde_json::to_string(&tags)?)
}

/// Reads [`tags_column`] back; anything else is corrupt.
pub(crate) fn tags_from_column(text: &str) -> Result<Option<AuthenticationTags>, StoreError> {
    serde_json::from_str(text).map_err(|_| StoreError::Corrupt {
        what: "authentication tags",
    })
}

/// Where an attachment's bytes come from. Large attachments are streamed, never held whole.
pub enum BlobSource {
    /// A file (for example the decrypted attachment the pipeline wrote to a spool file).
    File(PathBuf),
    /// Any blocking reader; read in bounded chunks on a blocking thread.
    Reader(Box<dyn Read + Send>),
    /// An open file, read from its start (an unnamed spool file).
    OpenFile(std::fs::File),
    /// An unnamed spool file of `len` bytes whose SHA-256 was computed while it was written
    /// ([`AddressWriter`](super::AddressWriter)): SQLite links it into its blob directory
    /// instead of copying it.
    Addressed {
        /// The file (any position).
        file: std::fs::File,
        /// Its length.
        len: u64,
        /// Lowercase hex SHA-256 of its content.
        sha256: String,
    },
}

impl fmt::Debug for BlobSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => f.debug_tuple("File").field(p).finish(),
            Self::Reader(_) => f.write_str("Reader(..)"),
            Self::OpenFile(_) => f.write_str("OpenFile(..)"),
            Self::Addressed { len, .. } => write!(f, "Addressed({len} bytes)"),
        }
    }
}

impl BlobSource {
    pub(crate) fn open(self) -> Result<Box<dyn Read + Send>, StoreError> {
        match self {
            Self::File(p) => {
                let f = std::fs::File::open(&p).map_err(|e| StoreError::io(p.display(), e))?;
                Ok(Box::new(f))
            }
            Self::Reader(r) => Ok(r),
            Self::OpenFile(mut f) | Self::Addressed { file: mut f, .. } => {
                use std::io::Seek as _;
                f.rewind().map_err(|e| StoreError::io("<spool file>", e))?;
                Ok(Box::new(f))
            }
        }
    }
}

/// One attachment of a submission to store.
#[derive(Debug)]
pub struct NewAttachment {
    /// The FIT-Connect attachment id (unique within the submission).
    pub attachment_id: String,
    /// The file name from the metadata, if any.
    pub filename: Option<String>,
    /// The media type from the metadata.
    pub media_type: String,
    /// The decrypted content.
    pub content: BlobSource,
}

/// What the pipeline archives as evidence of a submission (kept beyond the delivery service's
/// 730-day retention).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence {
    /// The delivery service's submit-submission SET, as received (compact JWS; empty when the
    /// check stopped before one was found).
    pub submit_set: String,
    /// The authentication tags of the metadata, data and attachment JWEs, as in the SET (absent
    /// when the check stopped before they were read).
    pub auth_tags: Option<AuthenticationTags>,
    /// The hashes checked: (object name, algorithm:hex value).
    pub hashes: Vec<(String, String)>,
    /// When the submission was received from the delivery service.
    pub received_at: Timestamp,
    /// When the gateway decided.
    pub decided_at: Timestamp,
}

/// A processed submission, stored in one transaction with its attachments, evidence, decision
/// and outbox jobs.
#[derive(Debug)]
pub struct NewSubmission {
    /// The FIT-Connect submission id (the idempotency key).
    pub submission_id: String,
    /// Its case (the acknowledgement is posted to the case's event log); absent only when the
    /// delivery service named none that is a UUID.
    pub case_id: Option<String>,
    /// The destination it was addressed to.
    pub destination_id: String,
    /// The message type of its Fachdaten, when identified (`baugenehmigung.antrag.0200`).
    pub message_type: Option<String>,
    /// The JSON envelope handed to the Fachverfahren (absent for rejected submissions).
    pub envelope: Option<String>,
    /// The Fachdaten as received, when they are XML (absent for rejected submissions): the
    /// case-worker document is rendered from them. Personal data: purged with the envelope.
    pub fachdaten: Option<Vec<u8>>,
    /// The decision.
    pub decision: Decision,
    /// When the decision is acknowledged.
    pub ack_policy: AckPolicy,
    /// The evidence to archive.
    pub evidence: Evidence,
    /// The decrypted attachments.
    pub attachments: Vec<NewAttachment>,
    /// One outbox job per routed upstream (names as in the configuration).
    pub upstreams: Vec<String>,
}

#[cfg(test)]
impl NewSubmission {
    /// An accepted submission for unit tests: envelope `{}`, no tags or SET, received and
    /// decided at `at`.
    pub(crate) fn accepted_for_tests(
        id: &str,
        upstreams: &[&str],
        attachments: Vec<NewAttachment>,
        at: Timestamp,
    ) -> Self {
        Self {
            submission_id: id.to_owned(),
            case_id: None,
            destination_id: "dest".to_owned(),
            message_type: None,
            envelope: Some("{}".to_owned()),
            fachdaten: None,
            decision: Decision::Accepted,
            ack_policy: AckPolicy::AfterStore,
            evidence: Evidence {
                submit_set: String::new(),
                auth_tags: None,
                hashes: vec![],
                received_at: at,
                decided_at: at,
            },
            attachments,
            upstreams: upstreams.iter().map(|&u| u.to_owned()).collect(),
        }
    }
}

/// Result of [`crate::store::Store::record_seen`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// First time this id is seen.
    New,
    /// Seen before but not stored (a previous run stopped mid-way): process it again.
    Unfinished,
    /// Already stored: nothing to process (its ack may still be pending).
    Stored,
}

/// Result of [`crate::store::Store::store_submission`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOutcome {
    /// Written now.
    Stored,
    /// Was already stored; nothing was written.
    AlreadyStored,
}

/// A decision whose acknowledgement is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingAck {
    /// The submission.
    pub submission_id: String,
    /// Its case (where the SET is posted), when known.
    pub case_id: Option<String>,
    /// Its destination (the SET's issuer).
    pub destination_id: Option<String>,
    /// Accept or reject (with problems).
    pub decision: Decision,
    /// The authentication tags the accept SET must carry.
    pub auth_tags: Option<AuthenticationTags>,
}

/// One row of [`crate::store::Store::pending_acks`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckDue {
    /// Decodable: the SET can be built.
    Ready(PendingAck),
    /// The stored decision or evidence cannot be decoded: nothing may be sent for it (an
    /// empty or wrong acknowledgement would be worse than none). The operator must look.
    Undecodable {
        /// The submission.
        submission_id: String,
        /// What could not be decoded.
        what: &'static str,
    },
}

/// Result of [`crate::store::Store::mark_acknowledged`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AckMark {
    /// Recorded now (the first time).
    Marked,
    /// Was already recorded; nothing changed.
    AlreadyMarked,
}

/// State of an outbox job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// Waiting for (or in) delivery.
    Pending,
    /// Delivered to the upstream.
    Delivered,
    /// Given up on; waits for a re-drive.
    Dead,
}

impl JobState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Self, StoreError> {
        match s {
            "pending" => Ok(Self::Pending),
            "delivered" => Ok(Self::Delivered),
            "dead" => Ok(Self::Dead),
            _ => Err(StoreError::Corrupt { what: "job state" }),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job claimed for delivery, leased to one worker until `lease_until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedJob {
    /// The job.
    pub job_id: i64,
    /// Its submission (also the `Idempotency-Key` upstream).
    pub submission_id: String,
    /// The upstream name.
    pub upstream: String,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// When the job was created (for the maximum age).
    pub created_at: Timestamp,
    /// Until when the lease holds.
    pub lease_until: Timestamp,
    /// The envelope to deliver.
    pub envelope: String,
}

/// How a failed delivery continues; computed by [`crate::store::RetryPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailAction {
    /// Try again at this time.
    RetryAt(Timestamp),
    /// Give up: move to the dead letters.
    DeadLetter,
}

/// Result of [`crate::store::Store::fail_job`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    /// Scheduled for another attempt.
    Retrying,
    /// Moved to the dead letters.
    DeadLettered,
    /// The worker no longer holds the lease (it expired and another worker claimed the job,
    /// or the job is finished); nothing changed.
    LeaseLost,
}

/// Result of [`crate::store::Store::complete_job`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Marked delivered now.
    Completed,
    /// Was already delivered (a duplicate completion after a lease expiry); nothing changed.
    AlreadyDelivered,
}

/// Which dead letters to re-drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrive {
    /// One job.
    Job(i64),
    /// Every dead letter.
    All,
}

/// A job as shown by `queue list` / `queue show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobSummary {
    /// The job.
    pub job_id: i64,
    /// Its submission.
    pub submission_id: String,
    /// The upstream name.
    pub upstream: String,
    /// Its state.
    pub state: JobState,
    /// Attempts so far.
    pub attempts: u32,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it is due next (pending jobs).
    pub next_attempt_at: Timestamp,
    /// The worker holding a lease, if any.
    pub lease_owner: Option<String>,
    /// Until when that lease holds.
    pub lease_until: Option<Timestamp>,
    /// The kind of the last failure (no payload data).
    pub last_error: Option<String>,
    /// When it was delivered or dead-lettered.
    pub finished_at: Option<Timestamp>,
}

/// Which jobs `queue list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobFilter {
    /// Only jobs in this state (all if `None`).
    pub state: Option<JobState>,
    /// At most this many (oldest first).
    pub limit: u32,
}

/// An attachment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentMeta {
    /// The attachment id.
    pub attachment_id: String,
    /// The file name, if any.
    pub filename: Option<String>,
    /// The media type.
    pub media_type: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the content, lower-case hex (integrity check on export).
    pub sha256: String,
}

/// Everything known about one submission (`queue show`).
#[derive(Debug, Clone, PartialEq)]
pub struct SubmissionView {
    /// The submission id.
    pub submission_id: String,
    /// Its case, when known.
    pub case_id: Option<String>,
    /// Its destination, when known (rows stored before migration 2 know it only for
    /// accepted submissions).
    pub destination_id: Option<String>,
    /// The message type of its Fachdaten, when identified.
    pub message_type: Option<String>,
    /// When it was first seen.
    pub seen_at: Timestamp,
    /// When it was stored (`None` while only seen).
    pub stored_at: Option<Timestamp>,
    /// The decision, once stored.
    pub decision: Option<Decision>,
    /// The ack policy it was stored under.
    pub ack_policy: Option<AckPolicy>,
    /// When the acknowledgement was recorded as sent.
    pub acked_at: Option<Timestamp>,
    /// The acknowledgement SET sent, if recorded.
    pub ack_set: Option<String>,
    /// The envelope (`None` for rejections and once purged).
    pub envelope: Option<String>,
    /// When the payload was purged under the retention ([`super::Retention`]); the evidence
    /// stays.
    pub purged_at: Option<Timestamp>,
    /// The evidence, once stored.
    pub evidence: Option<Evidence>,
    /// The attachments.
    pub attachments: Vec<AttachmentMeta>,
    /// The outbox jobs.
    pub jobs: Vec<JobSummary>,
}

/// Submissions received since a time, and how many of them were accepted and rejected (the
/// rest is still being processed or was deferred).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SubmissionCounts {
    /// First seen since then.
    pub received: u64,
    /// Of those, accepted.
    pub accepted: u64,
    /// Of those, rejected.
    pub rejected: u64,
}

/// Which submissions the console lists (every field `None`: all), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SubmissionFilter {
    /// Only accepted (`true`) or only rejected (`false`) submissions.
    pub accepted: Option<bool>,
    /// Only this message type (exact).
    pub message_type: Option<String>,
    /// Only this destination (exact).
    pub destination_id: Option<String>,
    /// First seen at or after this time.
    pub since: Option<Timestamp>,
    /// First seen before this time.
    pub until: Option<Timestamp>,
    /// At most this many.
    pub limit: u32,
    /// After skipping this many (paging).
    pub offset: u64,
}

impl SubmissionFilter {
    /// The decision column value the filter asks for.
    pub(crate) fn decision_column(&self) -> Option<&'static str> {
        self.accepted
            .map(|a| if a { "accepted" } else { "rejected" })
    }
}

/// One row of the console's submission list: ids, times and the decision kind; no envelope,
/// no problems, no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubmissionListItem {
    /// The submission id.
    pub submission_id: String,
    /// Its destination, when known.
    pub destination_id: Option<String>,
    /// Its message type, when identified.
    pub message_type: Option<String>,
    /// When it was first seen.
    pub seen_at: Timestamp,
    /// When it was stored (decided).
    pub stored_at: Option<Timestamp>,
    /// `Some(true)` accepted, `Some(false)` rejected, `None` not decided yet.
    pub accepted: Option<bool>,
    /// Whether its payload was purged under the retention.
    pub purged: bool,
}

/// A [`SubmissionListItem`] from the columns of [`super::sql::SUBMISSION_LIST`].
pub(crate) fn list_item(
    submission_id: String,
    destination_id: Option<String>,
    message_type: Option<String>,
    seen_at: i64,
    stored_at: Option<i64>,
    decision: Option<String>,
    purged_at: Option<i64>,
) -> Result<SubmissionListItem, StoreError> {
    let accepted = match decision.as_deref() {
        None => None,
        Some("accepted") => Some(true),
        Some("rejected") => Some(false),
        Some(_) => return Err(StoreError::Corrupt { what: "decision" }),
    };
    Ok(SubmissionListItem {
        submission_id,
        destination_id,
        message_type,
        seen_at: Timestamp(seen_at),
        stored_at: stored_at.map(Timestamp),
        accepted,
        purged: purged_at.is_some(),
    })
}

/// Figures for `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueMetrics {
    /// Submissions seen but not (yet) stored.
    pub submissions_unfinished: u64,
    /// Submissions stored whose acknowledgement is not recorded.
    pub submissions_unacked: u64,
    /// Submissions stored and acknowledged.
    pub submissions_acked: u64,
    /// Pending jobs (due, waiting or leased).
    pub jobs_pending: u64,
    /// Pending jobs that are due now and not leased (the queue depth).
    pub jobs_due: u64,
    /// Pending jobs under a live lease.
    pub jobs_leased: u64,
    /// Delivered jobs.
    pub jobs_delivered: u64,
    /// Dead letters.
    pub jobs_dead: u64,
    /// How long the oldest due job has been due (zero if none).
    pub oldest_due_age: Duration,
    /// Replies still being sent or followed.
    pub replies_pending: u64,
    /// Replies given up on (dead letters of the reply direction).
    pub replies_dead: u64,
}

/// The columns of a pending acknowledgement as both backends read them.
pub(crate) struct PendingRow {
    pub(crate) submission_id: String,
    pub(crate) decision: String,
    pub(crate) problems: Option<String>,
    pub(crate) auth_tags: String,
    pub(crate) case_id: Option<String>,
    pub(crate) destination_id: Option<String>,
}

impl PendingRow {
    /// The typed row; what cannot be decoded is named, never defaulted.
    pub(crate) fn decode(self) -> AckDue {
        let undecodable = |e: StoreError| AckDue::Undecodable {
            submission_id: self.submission_id.clone(),
            what: match e {
                StoreError::Corrupt { what } => what,
                _ => "stored decision",
            },
        };
        let decision = match Decision::from_columns(&self.decision, self.problems.as_deref()) {
            Ok(d) => d,
            Err(e) => return undecodable(e),
        };
        let auth_tags = match tags_from_column(&self.auth_tags) {
            Ok(t) => t,
            Err(e) => return undecodable(e),
        };
        if decision == Decision::Accepted && auth_tags.is_none() {
            return undecodable(StoreError::Corrupt {
                what: "authentication tags of an accepted submission",
            });
        }
        AckDue::Ready(PendingAck {
            submission_id: self.submission_id,
            case_id: self.case_id,
            destination_id: self.destination_id,
            decision,
            auth_tags,
        })
    }
}

/// The columns of `queue show`'s submission row as both backends read them.
pub(crate) struct ViewRow {
    pub(crate) submission_id: String,
    pub(crate) seen_at: i64,
    pub(crate) stored_at: Option<i64>,
    pub(crate) decision: Option<String>,
    pub(crate) problems: Option<String>,
    pub(crate) ack_policy: Option<String>,
    pub(crate) acked_at: Option<i64>,
    pub(crate) ack_set: Option<String>,
    pub(crate) envelope: Option<String>,
    pub(crate) case_id: Option<String>,
    pub(crate) destination_id: Option<String>,
    pub(crate) message_type: Option<String>,
    pub(crate) purged_at: Option<i64>,
}

/// The columns of an evidence row.
pub(crate) struct EvidenceRow {
    pub(crate) submit_set: String,
    pub(crate) auth_tags: String,
    pub(crate) hashes: String,
    pub(crate) received_at: i64,
    pub(crate) decided_at: i64,
}

impl EvidenceRow {
    pub(crate) fn decode(self) -> Result<Evidence, StoreError> {
        Ok(Evidence {
            submit_set: self.submit_set,
            auth_tags: tags_from_column(&self.auth_tags)?,
            hashes: serde_json::from_str(&self.hashes).map_err(|_| StoreError::Corrupt {
                what: "evidence hashes",
            })?,
            received_at: Timestamp(self.received_at),
            decided_at: Timestamp(self.decided_at),
        })
    }
}

impl ViewRow {
    pub(crate) fn into_view(
        self,
        evidence: Option<Evidence>,
        attachments: Vec<AttachmentMeta>,
        jobs: Vec<JobSummary>,
    ) -> Result<SubmissionView, StoreError> {
        Ok(SubmissionView {
            submission_id: self.submission_id,
            case_id: self.case_id,
            destination_id: self.destination_id,
            message_type: self.message_type,
            seen_at: Timestamp(self.seen_at),
            stored_at: self.stored_at.map(Timestamp),
            decision: self
                .decision
                .map(|d| Decision::from_columns(&d, self.problems.as_deref()))
                .transpose()?,
            ack_policy: self.ack_policy.map(|p| AckPolicy::parse(&p)).transpose()?,
            acked_at: self.acked_at.map(Timestamp),
            ack_set: self.ack_set,
            envelope: self.envelope,
            purged_at: self.purged_at.map(Timestamp),
            evidence,
            attachments,
            jobs,
        })
    }
}
