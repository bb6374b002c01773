//! Versioned schema migrations, one list per backend.
//!
//! A migration is applied once, in its own transaction together with its row in
//! `schema_migrations`; versions only ever grow. A database with a version this binary does not
//! know is refused (an older binary must not write into a newer schema).

use super::StoreError;
use crate::fitconnect::set::AuthenticationTags;

/// One schema step.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
    /// A data step in Rust after `sql`, in the same transaction (values SQL cannot compute).
    pub(crate) backfill: Backfill,
}

/// The Rust data steps of migrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backfill {
    /// None.
    None,
    /// Version 2: every evidence row gets its case id (from the stored submit SET) and its
    /// authentication tags in the typed form ([`v2_evidence`]).
    TypedEvidence,
}

/// Version 1 stored authentication tags as a JSON list of `metadata:<tag>`, `data:<tag>`,
/// `attachment:<id>:<tag>`; version 2 stores [`AuthenticationTags`] as JSON (`null` when none
/// were read). Also returns the case id the submit SET names (`txn` = `case:<uuid>`); the SET
/// was verified before it was stored, so its payload is read without verifying again — this
/// runs once, in the migration, and nowhere else.
///
/// # Errors
/// [`StoreError::Corrupt`] for a tag list or SET that is not what version 1 wrote.
pub(crate) fn v2_evidence(
    submit_set: &str,
    legacy_tags: &str,
) -> Result<(Option<String>, String), StoreError> {
    let corrupt = |what| StoreError::Corrupt { what };
    let list: Vec<String> =
        serde_json::from_str(legacy_tags).map_err(|_| corrupt("version 1 tag list"))?;
    let tags = if list.is_empty() {
        None
    } else {
        let mut tags = AuthenticationTags::default();
        let mut metadata = None;
        for entry in &list {
            let (kind, rest) = entry
                .split_once(':')
                .ok_or(corrupt("version 1 tag entry"))?;
            match kind {
                "metadata" => metadata = Some(rest.to_owned()),
                "data" => tags.data = Some(rest.to_owned()),
                "attachment" => {
                    let (id, tag) = rest
                        .split_once(':')
                        .ok_or(corrupt("version 1 attachment tag"))?;
                    tags.attachments.insert(id.to_owned(), tag.to_owned());
                }
                _ => return Err(corrupt("version 1 tag entry")),
            }
        }
        tags.metadata = metadata.ok_or(corrupt("version 1 metadata tag"))?;
        Some(tags)
    };
    let case = if submit_set.is_empty() {
        None
    } else {
        let jws = crate::jose::CompactJws::parse(submit_set, &crate::config::JoseLimits::default())
            .map_err(|_| corrupt("stored submit SET"))?;
        let claims: serde_json::Value = serde_json::from_slice(jws.unverified_payload())
            .map_err(|_| corrupt("stored submit SET"))?;
        claims
            .get("txn")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| t.strip_prefix("case:"))
            .filter(|c| crate::fitconnect::set::is_uuid(c))
            .map(str::to_ascii_lowercase)
    };
    Ok((case, serde_json::to_string(&tags)?))
}

/// The table that records applied migrations (same shape on both backends).
pub(crate) const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// SQLite: timestamps are INTEGER milliseconds; blobs live in the blob directory.
pub(crate) const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "submissions, attachments, evidence, outbox",
        backfill: Backfill::None,
        sql: "
CREATE TABLE submissions (
    submission_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('seen', 'stored')),
    seen_at INTEGER NOT NULL,
    stored_at INTEGER,
    envelope TEXT,
    decision TEXT CHECK (decision IN ('accepted', 'rejected')),
    problems TEXT,
    ack_policy TEXT CHECK (ack_policy IN ('after-store', 'after-forward')),
    acked_at INTEGER,
    ack_set TEXT
);
CREATE INDEX submissions_unacked ON submissions (stored_at)
    WHERE state = 'stored' AND acked_at IS NULL;
CREATE TABLE attachments (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    attachment_id TEXT NOT NULL,
    filename TEXT,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (submission_id, attachment_id)
);
CREATE TABLE evidence (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (submission_id),
    submit_set TEXT NOT NULL,
    auth_tags TEXT NOT NULL,
    hashes TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    decided_at INTEGER NOT NULL
);
CREATE TABLE outbox (
    job_id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    upstream TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    finished_at INTEGER,
    UNIQUE (submission_id, upstream)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state, job_id);
",
    },
    Migration {
        version: 2,
        name: "typed evidence: case, destination and message type columns; callback replay table",
        backfill: Backfill::TypedEvidence,
        sql: "
ALTER TABLE submissions ADD COLUMN case_id TEXT;
ALTER TABLE submissions ADD COLUMN destination_id TEXT;
ALTER TABLE submissions ADD COLUMN message_type TEXT;
UPDATE submissions SET
    destination_id = json_extract(envelope, '$.submission.destinationId'),
    message_type = json_extract(envelope, '$.message.type')
    WHERE envelope IS NOT NULL AND json_valid(envelope);
CREATE TABLE callbacks_seen (
    destination_id TEXT NOT NULL,
    timestamp_secs INTEGER NOT NULL,
    mac TEXT NOT NULL,
    PRIMARY KEY (destination_id, timestamp_secs, mac)
);
",
    },
    Migration {
        version: 3,
        name: "retention: purged_at marks a submission whose payload was purged",
        backfill: Backfill::None,
        sql: "
ALTER TABLE submissions ADD COLUMN purged_at INTEGER;
CREATE INDEX attachments_sha256 ON attachments (sha256);
",
    },
    Migration {
        version: 4,
        name: "console: the Fachdaten for the case-worker document; submissions by time",
        backfill: Backfill::None,
        sql: "
ALTER TABLE submissions ADD COLUMN fachdaten BLOB;
CREATE INDEX submissions_seen ON submissions (seen_at);
",
    },
    Migration {
        version: 5,
        name: "replies: answers of Fachverfahren sent over FIT-Connect (outbox of the Rückkanal)",
        backfill: Backfill::None,
        sql: "
CREATE TABLE replies (
    reply_id TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    destination_id TEXT NOT NULL,
    upstream TEXT NOT NULL,
    idempotency_key TEXT,
    message_type TEXT NOT NULL,
    schema_uri TEXT NOT NULL,
    reply_key TEXT NOT NULL,
    xml BLOB,
    attachments TEXT,
    phase TEXT NOT NULL CHECK (phase IN ('queued', 'created', 'submitted', 'accepted', 'rejected', 'unanswered')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    fit_reply_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error TEXT,
    problems TEXT,
    submitted_at INTEGER,
    finished_at INTEGER,
    UNIQUE (upstream, idempotency_key)
);
CREATE INDEX replies_due ON replies (next_attempt_at) WHERE state = 'pending';
CREATE INDEX replies_submission ON replies (submission_id);
",
    },
    // ---- Version 6 (issue 17, console2 branch): the console's queries from indexes
    // alone. A row carries its envelope (often tens of KB, on overflow pages) before
    // `decision` and `acked_at`, so reading them row by row for the overview's counts took
    // 50 ms (106 ms for the whole page with 64 KB envelopes, `benches/console`), and the
    // queue figures (`/metrics` too) another 20 ms. `submissions_list` holds every column the
    // list and the counts read, in the list's order; `submissions_ack` and `outbox_counts`
    // the columns of the queue figures.
    Migration {
        version: 6,
        name: "console: the submission list, counts and queue figures from covering indexes",
        backfill: Backfill::None,
        sql: "
CREATE INDEX submissions_list ON submissions
    (seen_at, submission_id, decision, message_type, destination_id, stored_at, purged_at);
DROP INDEX submissions_seen;
CREATE INDEX submissions_ack ON submissions (state, acked_at);
CREATE INDEX outbox_counts ON outbox (state, next_attempt_at, lease_until);
",
    },
];

/// PostgreSQL: timestamps are BIGINT milliseconds; attachment content is stored as bytea
/// chunks inside the same transaction as the rows that reference it.
pub(crate) const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "submissions, attachments, evidence, outbox",
        backfill: Backfill::None,
        sql: "
CREATE TABLE submissions (
    submission_id TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('seen', 'stored')),
    seen_at BIGINT NOT NULL,
    stored_at BIGINT,
    envelope TEXT,
    decision TEXT CHECK (decision IN ('accepted', 'rejected')),
    problems TEXT,
    ack_policy TEXT CHECK (ack_policy IN ('after-store', 'after-forward')),
    acked_at BIGINT,
    ack_set TEXT
);
CREATE INDEX submissions_unacked ON submissions (stored_at)
    WHERE state = 'stored' AND acked_at IS NULL;
CREATE TABLE attachments (
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    attachment_id TEXT NOT NULL,
    filename TEXT,
    media_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    PRIMARY KEY (submission_id, attachment_id)
);
CREATE TABLE attachment_chunks (
    submission_id TEXT NOT NULL,
    attachment_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (submission_id, attachment_id, seq),
    FOREIGN KEY (submission_id, attachment_id) REFERENCES attachments (submission_id, attachment_id)
        DEFERRABLE INITIALLY DEFERRED
);
CREATE TABLE evidence (
    submission_id TEXT PRIMARY KEY REFERENCES submissions (submission_id),
    submit_set TEXT NOT NULL,
    auth_tags TEXT NOT NULL,
    hashes TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    decided_at BIGINT NOT NULL
);
CREATE TABLE outbox (
    job_id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    upstream TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    finished_at BIGINT,
    UNIQUE (submission_id, upstream)
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_state ON outbox (state, job_id);
",
    },
    Migration {
        version: 2,
        name: "typed evidence: case, destination and message type columns; callback replay table",
        backfill: Backfill::TypedEvidence,
        sql: "
ALTER TABLE submissions ADD COLUMN case_id TEXT;
ALTER TABLE submissions ADD COLUMN destination_id TEXT;
ALTER TABLE submissions ADD COLUMN message_type TEXT;
UPDATE submissions SET
    destination_id = (envelope::jsonb) -> 'submission' ->> 'destinationId',
    message_type = (envelope::jsonb) -> 'message' ->> 'type'
    WHERE envelope IS NOT NULL;
CREATE TABLE callbacks_seen (
    destination_id TEXT NOT NULL,
    timestamp_secs BIGINT NOT NULL,
    mac TEXT NOT NULL,
    PRIMARY KEY (destination_id, timestamp_secs, mac)
);
",
    },
    Migration {
        version: 3,
        name: "retention: purged_at marks a submission whose payload was purged",
        backfill: Backfill::None,
        sql: "
ALTER TABLE submissions ADD COLUMN purged_at BIGINT;
",
    },
    Migration {
        version: 4,
        name: "console: the Fachdaten for the case-worker document; submissions by time",
        backfill: Backfill::None,
        sql: "
ALTER TABLE submissions ADD COLUMN fachdaten BYTEA;
CREATE INDEX submissions_seen ON submissions (seen_at);
",
    },
    Migration {
        version: 5,
        name: "replies: answers of Fachverfahren sent over FIT-Connect (outbox of the Rückkanal)",
        backfill: Backfill::None,
        sql: "
CREATE TABLE replies (
    reply_id TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL REFERENCES submissions (submission_id),
    destination_id TEXT NOT NULL,
    upstream TEXT NOT NULL,
    idempotency_key TEXT,
    message_type TEXT NOT NULL,
    schema_uri TEXT NOT NULL,
    reply_key TEXT NOT NULL,
    xml BYTEA,
    attachments TEXT,
    phase TEXT NOT NULL CHECK (phase IN ('queued', 'created', 'submitted', 'accepted', 'rejected', 'unanswered')),
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'dead')),
    fit_reply_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    problems TEXT,
    submitted_at BIGINT,
    finished_at BIGINT,
    UNIQUE (upstream, idempotency_key)
);
CREATE INDEX replies_due ON replies (next_attempt_at) WHERE state = 'pending';
CREATE INDEX replies_submission ON replies (submission_id);
",
    },
    // ---- Version 6 (issue 17, console2 branch): as for SQLite. PostgreSQL keeps
    // large envelopes out of line (TOAST), so the gain is smaller; the index keeps the two
    // backends' plans alike (index-only scans for the list and the counts).
    Migration {
        version: 6,
        name: "console: the submission list, counts and queue figures from covering indexes",
        backfill: Backfill::None,
        sql: "
CREATE INDEX submissions_list ON submissions (seen_at, submission_id)
    INCLUDE (decision, message_type, destination_id, stored_at, purged_at);
DROP INDEX submissions_seen;
CREATE INDEX submissions_ack ON submissions (state, acked_at);
CREATE INDEX outbox_counts ON outbox (state, next_attempt_at, lease_until);
",
    },
];

/// The highest version a list knows.
pub(crate) fn latest(list: &[Migration]) -> i64 {
    list.iter().map(|m| m.version).max().unwrap_or(0)
}

/// For a store opened without migrating: `applied` (ascending; `None` without a migrations
/// table) must end at exactly the latest version of `list`, the schema this binary reads and
/// writes.
pub(crate) fn check_current(applied: Option<&[i64]>, list: &[Migration]) -> Result<(), StoreError> {
    let known = latest(list);
    match applied.ok_or(StoreError::NotInitialised)?.last() {
        None => Err(StoreError::NotInitialised),
        Some(&found) if found > known => Err(StoreError::SchemaFromFuture { found, known }),
        Some(&found) if found < known => Err(StoreError::NotMigrated { found, known }),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_1_tags_become_typed_and_garbage_is_corrupt() {
        let (case, tags) =
            v2_evidence("", r#"["metadata:m","data:d","attachment:a-1:t1"]"#).expect("v1 list");
        assert_eq!(case, None);
        let tags: Option<AuthenticationTags> = serde_json::from_str(&tags).expect("typed");
        let tags = tags.expect("some");
        assert_eq!(tags.metadata, "m");
        assert_eq!(tags.data.as_deref(), Some("d"));
        assert_eq!(tags.attachments["a-1"], "t1");
        assert_eq!(v2_evidence("", "[]").expect("empty").1, "null");
        assert!(v2_evidence("", r#"["bogus"]"#).is_err());
        assert!(v2_evidence("", r#"["data:d"]"#).is_err(), "no metadata tag");
        assert!(v2_evidence("not.a.jws", "[]").is_err());
    }
}
