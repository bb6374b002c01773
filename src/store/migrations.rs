//! Versioned schema migrations, one list per backend.
//!
//! A migration is applied once, in its own transaction together with its row in
//! `schema_migrations`; versions only ever grow. A database with a version this binary does not
//! know is refused (an older binary must not write into a newer schema).

/// One schema step.
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) sql: &'static str,
}

/// The table that records applied migrations (same shape on both backends).
pub(crate) const MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL
)";

/// SQLite: timestamps are INTEGER milliseconds; blobs live in the blob directory.
pub(crate) const SQLITE: &[Migration] = &[Migration {
    version: 1,
    name: "submissions, attachments, evidence, outbox",
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
}];

/// PostgreSQL: timestamps are BIGINT milliseconds; attachment content is stored as bytea
/// chunks inside the same transaction as the rows that reference it.
pub(crate) const POSTGRES: &[Migration] = &[Migration {
    version: 1,
    name: "submissions, attachments, evidence, outbox",
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
}];

/// The highest version a list knows.
pub(crate) fn latest(list: &[Migration]) -> i64 {
    list.iter().map(|m| m.version).max().unwrap_or(0)
}
