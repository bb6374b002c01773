//! Statements both backends share, written with `?N` placeholders (SQLite); the PostgreSQL
//! backend rewrites them to `$N` once ([`pg`]). Statements that differ (claims) live with
//! their backend.

/// `?1`: state filter or NULL; `?2`: limit. The CAST lets PostgreSQL type a NULL parameter.
pub(crate) const LIST_JOBS: &str = "SELECT job_id, submission_id, upstream, state, attempts, \
     created_at, next_attempt_at, lease_owner, lease_until, last_error, finished_at FROM outbox \
     WHERE (CAST(?1 AS TEXT) IS NULL OR state = ?1) ORDER BY job_id LIMIT ?2";

pub(crate) const JOBS_OF: &str = "SELECT job_id, submission_id, upstream, state, attempts, \
     created_at, next_attempt_at, lease_owner, lease_until, last_error, finished_at FROM outbox \
     WHERE submission_id = ?1 ORDER BY job_id";

pub(crate) const SEEN_INSERT: &str = "INSERT INTO submissions (submission_id, state, seen_at) \
     VALUES (?1, 'seen', ?2) ON CONFLICT (submission_id) DO NOTHING";

pub(crate) const SUBMISSION_STATE: &str = "SELECT state FROM submissions WHERE submission_id = ?1";

pub(crate) const SUBMISSION_STORE: &str = "UPDATE submissions SET state = 'stored', \
     stored_at = ?2, envelope = ?3, decision = ?4, problems = ?5, ack_policy = ?6, \
     case_id = ?7, destination_id = ?8, message_type = ?9, fachdaten = ?10 \
     WHERE submission_id = ?1";

/// The stored Fachdaten (XML) of a submission, for the case-worker document; none once purged.
pub(crate) const FACHDATEN: &str = "SELECT fachdaten FROM submissions WHERE submission_id = ?1 \
     AND purged_at IS NULL AND fachdaten IS NOT NULL";

pub(crate) const EVIDENCE_INSERT: &str = "INSERT INTO evidence (submission_id, submit_set, \
     auth_tags, hashes, received_at, decided_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

pub(crate) const OUTBOX_INSERT: &str = "INSERT INTO outbox (submission_id, upstream, state, \
     attempts, created_at, next_attempt_at) VALUES (?1, ?2, 'pending', 0, ?3, ?3)";

pub(crate) const ATTACHMENT_INSERT: &str = "INSERT INTO attachments (submission_id, \
     attachment_id, filename, media_type, size, sha256) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// The attachment to export; none once its submission's payload is purged (the row stays as
/// evidence, the content is gone).
pub(crate) const ATTACHMENT_META: &str = "SELECT attachment_id, filename, media_type, size, \
     sha256 FROM attachments WHERE submission_id = ?1 AND attachment_id = ?2 \
     AND NOT EXISTS (SELECT 1 FROM submissions s WHERE s.submission_id = ?1 \
        AND s.purged_at IS NOT NULL)";

pub(crate) const ATTACHMENTS_OF: &str = "SELECT attachment_id, filename, media_type, size, \
     sha256 FROM attachments WHERE submission_id = ?1 ORDER BY attachment_id";

/// Stored, unacknowledged decisions whose acknowledgement is due under their ack policy.
pub(crate) const PENDING_ACKS: &str = "SELECT s.submission_id, s.decision, s.problems, \
     e.auth_tags, s.case_id, s.destination_id FROM submissions s \
     JOIN evidence e ON e.submission_id = s.submission_id \
     WHERE s.state = 'stored' AND s.acked_at IS NULL AND (s.ack_policy = 'after-store' \
     OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.submission_id = s.submission_id \
     AND o.state <> 'delivered')) ORDER BY s.stored_at, s.submission_id LIMIT ?1";

/// Only the first mark changes the row: this is what makes the bookkeeping exactly-once.
pub(crate) const ACK_MARK: &str = "UPDATE submissions SET acked_at = ?2, ack_set = ?3 \
     WHERE submission_id = ?1 AND state = 'stored' AND acked_at IS NULL";

/// A duplicate completion (after a lease expired and another worker also delivered) changes
/// nothing; a completion of a dead letter wins, because the delivery did happen.
pub(crate) const JOB_COMPLETE: &str = "UPDATE outbox SET state = 'delivered', finished_at = ?2, \
     lease_owner = NULL, lease_until = NULL WHERE job_id = ?1 AND state IN ('pending', 'dead')";

/// Only the current lease holder extends its lease (a heartbeat during a long delivery).
pub(crate) const JOB_EXTEND: &str = "UPDATE outbox SET lease_until = ?3 \
     WHERE job_id = ?1 AND state = 'pending' AND lease_owner = ?2";

pub(crate) const JOB_STATE: &str = "SELECT state FROM outbox WHERE job_id = ?1";

/// A failure counts only from the worker that holds the (possibly expired, not re-claimed)
/// lease: a stale worker must not reschedule a job another worker now owns.
pub(crate) const JOB_RETRY: &str = "UPDATE outbox SET next_attempt_at = ?3, last_error = ?4, \
     lease_owner = NULL, lease_until = NULL \
     WHERE job_id = ?1 AND state = 'pending' AND lease_owner = ?2";

pub(crate) const JOB_DEAD: &str = "UPDATE outbox SET state = 'dead', finished_at = ?3, \
     last_error = ?4, lease_owner = NULL, lease_until = NULL \
     WHERE job_id = ?1 AND state = 'pending' AND lease_owner = ?2";

/// Re-drive restarts the attempt count and the age (the age limit counts from the re-drive;
/// the submission keeps its original times).
pub(crate) const REDRIVE_ONE: &str = "UPDATE outbox SET state = 'pending', attempts = 0, \
     created_at = ?2, next_attempt_at = ?2, finished_at = NULL \
     WHERE job_id = ?1 AND state = 'dead'";

pub(crate) const REDRIVE_ALL: &str = "UPDATE outbox SET state = 'pending', attempts = 0, \
     created_at = ?1, next_attempt_at = ?1, finished_at = NULL WHERE state = 'dead'";

/// Stored decisions, newest first: `?1` rejections only, `?2` limit.
pub(crate) const DECISIONS: &str = "SELECT submission_id, case_id, message_type, stored_at, \
     decision, problems FROM submissions WHERE state = 'stored' \
     AND (NOT ?1 OR decision = 'rejected') ORDER BY stored_at DESC, submission_id LIMIT ?2";
/// Submissions received since `?1` (first seen), and how many of them were accepted and
/// rejected (the console's overview): one pass over the covering index `submissions_list`.
pub(crate) const SUBMISSION_COUNTS: &str = "SELECT count(*), \
     count(*) FILTER (WHERE decision = 'accepted'), \
     count(*) FILTER (WHERE decision = 'rejected') \
     FROM submissions WHERE seen_at >= ?1";

/// The console's submission list, newest first: `?1` decision, `?2` message type, `?3`
/// destination (each NULL for any), `?4` seen at or after, `?5` seen before (NULL: open),
/// `?6` limit, `?7` offset. The CASTs let PostgreSQL type NULL parameters.
pub(crate) const SUBMISSION_LIST: &str = "SELECT submission_id, destination_id, message_type, \
     seen_at, stored_at, decision, purged_at FROM submissions \
     WHERE (CAST(?1 AS TEXT) IS NULL OR decision = ?1) \
     AND (CAST(?2 AS TEXT) IS NULL OR message_type = ?2) \
     AND (CAST(?3 AS TEXT) IS NULL OR destination_id = ?3) \
     AND (CAST(?4 AS BIGINT) IS NULL OR seen_at >= ?4) \
     AND (CAST(?5 AS BIGINT) IS NULL OR seen_at < ?5) \
     ORDER BY seen_at DESC, submission_id DESC LIMIT ?6 OFFSET ?7";

pub(crate) const SUBMISSION_VIEW: &str = "SELECT submission_id, seen_at, stored_at, decision, \
     problems, ack_policy, acked_at, ack_set, envelope, case_id, destination_id, message_type, \
     purged_at FROM submissions WHERE submission_id = ?1";

/// The retention rule ([`super::retention`]), the one place it is written: accepted
/// submissions, acknowledged, every job delivered (none pending, none dead), the last delivery
/// (or the store, without jobs) at or before `?1`, not purged yet; at most `?2`, by id.
pub(crate) const PURGE_DUE: &str = "SELECT s.submission_id FROM submissions s \
     WHERE s.state = 'stored' AND s.decision = 'accepted' AND s.purged_at IS NULL \
     AND s.acked_at IS NOT NULL \
     AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.submission_id = s.submission_id \
        AND o.state <> 'delivered') \
     AND coalesce((SELECT max(o.finished_at) FROM outbox o \
        WHERE o.submission_id = s.submission_id), s.stored_at) <= ?1 \
     ORDER BY s.submission_id LIMIT ?2";

/// Drops the envelope (the Fachdaten as JSON and the metadata) and the Fachdaten as received
/// (XML), and marks the row purged.
pub(crate) const PURGE_SUBMISSION: &str = "UPDATE submissions SET envelope = NULL, \
     fachdaten = NULL, purged_at = ?2 WHERE submission_id = ?1 AND purged_at IS NULL";

/// The content (XML, attachments) of every finished reply to a purged submission; their rows
/// (ids, status, times, the sender's problems) stay. Run once per purge run after the
/// submissions' batches, so a reply that finished after its submission was purged loses its
/// content in the next run. A reply still being sent, or dead (waiting for a re-drive), keeps
/// its content.
pub(crate) const PURGE_REPLIES: &str = "UPDATE replies SET xml = NULL, attachments = NULL \
     WHERE state = 'done' AND (xml IS NOT NULL OR attachments IS NOT NULL) \
     AND submission_id IN (SELECT submission_id FROM submissions WHERE purged_at IS NOT NULL)";

/// Attachment rows stay as evidence (id, media type, size, content hash); the file name from
/// the metadata may name a person and goes.
pub(crate) const PURGE_ATTACHMENT_NAMES: &str =
    "UPDATE attachments SET filename = NULL WHERE submission_id = ?1";

/// Migration 2's data step: the evidence rows to convert.
pub(crate) const V2_EVIDENCE_ROWS: &str =
    "SELECT submission_id, submit_set, auth_tags FROM evidence ORDER BY submission_id";

pub(crate) const V2_EVIDENCE_UPDATE: &str =
    "UPDATE evidence SET auth_tags = ?2 WHERE submission_id = ?1";

pub(crate) const V2_CASE_UPDATE: &str =
    "UPDATE submissions SET case_id = ?2 WHERE submission_id = ?1";

pub(crate) const EVIDENCE_OF: &str = "SELECT submit_set, auth_tags, hashes, received_at, \
     decided_at FROM evidence WHERE submission_id = ?1";

/// Callback replay protection (`fitconnect::callback` rule 4).
pub(crate) const CALLBACK_SEEN: &str = "SELECT count(*) FROM callbacks_seen \
     WHERE destination_id = ?1 AND timestamp_secs = ?2 AND mac = ?3";

pub(crate) const CALLBACK_RECORD: &str = "INSERT INTO callbacks_seen \
     (destination_id, timestamp_secs, mac) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING";

/// Keys outside the window are refused by their timestamp alone.
pub(crate) const CALLBACK_PRUNE: &str = "DELETE FROM callbacks_seen WHERE timestamp_secs < ?1";

pub(crate) const MIGRATIONS_APPLIED: &str =
    "SELECT version FROM schema_migrations ORDER BY version";

pub(crate) const MIGRATION_RECORD: &str =
    "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)";

/// Due = pending, next attempt reached, no live lease.
pub(crate) const METRICS: &str = "SELECT \
     (SELECT count(*) FROM submissions WHERE state = 'seen'), \
     (SELECT count(*) FROM submissions WHERE state = 'stored' AND acked_at IS NULL), \
     (SELECT count(*) FROM submissions WHERE acked_at IS NOT NULL), \
     (SELECT count(*) FROM outbox WHERE state = 'pending'), \
     (SELECT count(*) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?1 \
        AND (lease_until IS NULL OR lease_until <= ?1)), \
     (SELECT count(*) FROM outbox WHERE state = 'pending' AND lease_until > ?1), \
     (SELECT count(*) FROM outbox WHERE state = 'delivered'), \
     (SELECT count(*) FROM outbox WHERE state = 'dead'), \
     (SELECT min(next_attempt_at) FROM outbox WHERE state = 'pending' \
        AND next_attempt_at <= ?1 AND (lease_until IS NULL OR lease_until <= ?1)), \
     (SELECT count(*) FROM replies WHERE state = 'pending'), \
     (SELECT count(*) FROM replies WHERE state = 'dead')";

/// Rewrites `?N` placeholders to PostgreSQL's `$N`. The shared statements contain no other `?`.
pub(crate) fn pg(sql: &str) -> String {
    sql.replace('?', "$")
}

#[cfg(test)]
mod tests {
    #[test]
    fn pg_placeholders() {
        assert_eq!(super::pg("a = ?1 AND b = ?12"), "a = $1 AND b = $12");
    }
}
