//! Durable sandbox state in SQLite (a file, or `:memory:` with `--ephemeral`).
//!
//! Design note:
//! - Tables: `submissions` (one row per submission, status and the two JWEs), `attachments`
//!   (one row per uploaded attachment JWE), `events` (the case event log, one SET per row,
//!   ordered by an autoincrement `seq` — the log is append-only).
//! - Every mutating call is one transaction; a state check and the write it guards happen in
//!   the same transaction, so concurrent requests cannot both pass a check (e.g. two submits).
//! - File mode uses WAL with `synchronous=FULL`: a 2xx answer means the change is on disk.
//! - Recovery is SQLite's own; on restart the sandbox serves exactly what was committed.
//! - Access tokens are not stored: after a restart clients fetch a new token, as they must
//!   after 30 minutes anyway.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension as _, params};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The submission does not exist.
    #[error("submission not found")]
    NotFound,
    /// The submission has no such part (no data, or no attachment with that id).
    #[error("the submission has no such part")]
    PartNotFound,
    /// The submission is not in a state that allows the change.
    #[error("submission is {0}")]
    State(Status),
    /// A stored value is corrupt.
    #[error("stored value is corrupt")]
    Corrupt,
}

/// Status of a submission (protocol notes §1.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Created, attachments may be uploaded, not yet sent.
    Incomplete,
    /// Sent; the subscriber may fetch it.
    Submitted,
    /// Taken over by an intermediary (`forward-submission`).
    Forwarded,
    /// Accepted by the subscriber.
    Accepted,
    /// Rejected by the subscriber.
    Rejected,
}

impl Status {
    /// The wire name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::Submitted => "submitted",
            Self::Forwarded => "forwarded",
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "incomplete" => Self::Incomplete,
            "submitted" => Self::Submitted,
            "forwarded" => Self::Forwarded,
            "accepted" => Self::Accepted,
            "rejected" => Self::Rejected,
            _ => return None,
        })
    }

    /// Whether the subscriber may fetch and decide on it (§1.3: submitted or forwarded).
    #[must_use]
    pub fn is_deliverable(self) -> bool {
        matches!(self, Self::Submitted | Self::Forwarded)
    }

    /// The allowed transitions: incomplete → submitted → (forwarded →) accepted | rejected.
    #[must_use]
    pub fn may_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (Self::Incomplete, Self::Submitted)
                | (Self::Submitted, Self::Forwarded)
                | (
                    Self::Submitted | Self::Forwarded,
                    Self::Accepted | Self::Rejected
                )
        )
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One encrypted part of a submission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// `encryptedMetadata`.
    Metadata,
    /// `encryptedData`.
    Data,
    /// The attachment with this id.
    Attachment(String),
}

/// One submission as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    /// submissionId.
    pub id: String,
    /// caseId.
    pub case_id: String,
    /// destinationId.
    pub destination_id: String,
    /// The sending client.
    pub client_id: String,
    /// API generation used to create it (1 or 2): decides `serviceType` vs `publicService`.
    pub api_version: u8,
    /// `serviceType` / `publicService` object as sent.
    pub service: serde_json::Value,
    /// Announced attachment ids, in the order given.
    pub announced: Vec<String>,
    /// Current status.
    pub status: Status,
    /// The metadata JWE, once submitted.
    pub encrypted_metadata: Option<String>,
    /// The data JWE, once submitted (optional in v1).
    pub encrypted_data: Option<String>,
    /// Unix seconds of creation.
    pub created_at: i64,
}

/// The shared, thread-safe store handle.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    api_version INTEGER NOT NULL,
    service TEXT NOT NULL,
    announced TEXT NOT NULL,
    status TEXT NOT NULL,
    encrypted_metadata TEXT,
    encrypted_data TEXT,
    created_at INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_destination ON submissions(destination_id, seq);
CREATE INDEX IF NOT EXISTS submissions_by_case ON submissions(case_id);
CREATE TABLE IF NOT EXISTS attachments (
    submission_id TEXT NOT NULL,
    attachment_id TEXT NOT NULL,
    jwe TEXT NOT NULL,
    PRIMARY KEY (submission_id, attachment_id)
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    event TEXT NOT NULL,
    token TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_case ON events(case_id, seq);
";

fn row_to_submission(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Submission, String, String)> {
    let status: String = row.get(7)?;
    let status = Status::parse(&status).ok_or_else(|| {
        rusqlite::Error::InvalidColumnType(7, "status".into(), rusqlite::types::Type::Text)
    })?;
    let submission = Submission {
        id: row.get(0)?,
        case_id: row.get(1)?,
        destination_id: row.get(2)?,
        client_id: row.get(3)?,
        api_version: row.get(4)?,
        service: serde_json::Value::Null,
        announced: Vec::new(),
        status,
        encrypted_metadata: row.get(8)?,
        encrypted_data: row.get(9)?,
        created_at: row.get(10)?,
    };
    Ok((submission, row.get(5)?, row.get(6)?))
}

const SELECT_SUBMISSION: &str = "SELECT id, case_id, destination_id, client_id, api_version, \
     service, announced, status, encrypted_metadata, encrypted_data, created_at FROM submissions";

impl Store {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Self::init(conn)
    }

    /// An in-memory database (lost when the sandbox stops).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while holding the lock cannot leave SQLite inconsistent (transactions roll
        // back), so a poisoned lock is still usable.
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Inserts a new submission (status `incomplete`).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn create_submission(&self, s: &Submission) -> Result<(), StoreError> {
        let conn = self.lock();
        let announced = serde_json::to_string(&s.announced).map_err(|_| StoreError::Corrupt)?;
        conn.execute(
            "INSERT INTO submissions (id, case_id, destination_id, client_id, api_version, \
             service, announced, status, created_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
             ?8, ?9, (SELECT COALESCE(MAX(seq), 0) + 1 FROM submissions))",
            params![
                s.id,
                s.case_id,
                s.destination_id,
                s.client_id,
                s.api_version,
                s.service.to_string(),
                announced,
                s.status.as_str(),
                s.created_at
            ],
        )?;
        Ok(())
    }

    /// One submission by id.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`].
    pub fn submission(&self, id: &str) -> Result<Option<Submission>, StoreError> {
        let conn = self.lock();
        Self::submission_in(&conn, id)
    }

    fn submission_in(conn: &Connection, id: &str) -> Result<Option<Submission>, StoreError> {
        let row = conn
            .query_row(
                &format!("{SELECT_SUBMISSION} WHERE id = ?1"),
                [id],
                row_to_submission,
            )
            .optional()?;
        row.map(|(mut s, service, announced)| {
            s.service = serde_json::from_str(&service).map_err(|_| StoreError::Corrupt)?;
            s.announced = serde_json::from_str(&announced).map_err(|_| StoreError::Corrupt)?;
            Ok(s)
        })
        .transpose()
    }

    /// Any submission of a case (the first one), to find its destination and sender.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`].
    pub fn case_submission(&self, case_id: &str) -> Result<Option<Submission>, StoreError> {
        let conn = self.lock();
        let id: Option<String> = conn
            .query_row(
                "SELECT id FROM submissions WHERE case_id = ?1 ORDER BY seq LIMIT 1",
                [case_id],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => Self::submission_in(&conn, &id),
            None => Ok(None),
        }
    }

    /// Stores an attachment JWE while the submission is `incomplete` (re-upload replaces).
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::State`] or [`StoreError::Sqlite`].
    pub fn put_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        jwe: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let status = Self::status_in(&tx, submission_id)?;
        if status != Status::Incomplete {
            return Err(StoreError::State(status));
        }
        tx.execute(
            "INSERT OR REPLACE INTO attachments (submission_id, attachment_id, jwe) \
             VALUES (?1, ?2, ?3)",
            params![submission_id, attachment_id, jwe],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn status_in(conn: &Connection, submission_id: &str) -> Result<Status, StoreError> {
        let status: Option<String> = conn
            .query_row(
                "SELECT status FROM submissions WHERE id = ?1",
                [submission_id],
                |r| r.get(0),
            )
            .optional()?;
        let status = status.ok_or(StoreError::NotFound)?;
        Status::parse(&status).ok_or(StoreError::Corrupt)
    }

    /// Uploaded attachments of a submission: (attachmentId, JWE).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn attachments(&self, submission_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT attachment_id, jwe FROM attachments WHERE submission_id = ?1 \
             ORDER BY attachment_id",
        )?;
        let rows = stmt.query_map([submission_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One attachment JWE.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
    ) -> Result<Option<String>, StoreError> {
        let conn = self.lock();
        Ok(conn
            .query_row(
                "SELECT jwe FROM attachments WHERE submission_id = ?1 AND attachment_id = ?2",
                [submission_id, attachment_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Marks a submission `submitted` with its JWEs and appends the SET built by `make_set`
    /// from the stored attachments, all in one transaction. `make_set` returns `None` to
    /// abort (e.g. missing attachments), in which case nothing changes.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::State`] or [`StoreError::Sqlite`].
    pub fn submit<E>(
        &self,
        submission_id: &str,
        metadata: &str,
        data: Option<&str>,
        now: i64,
        make_set: impl FnOnce(&Submission, &[(String, String)]) -> Result<(String, String), E>,
    ) -> Result<Result<Submission, E>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let submission = Self::submission_in(&tx, submission_id)?.ok_or(StoreError::NotFound)?;
        if !submission.status.may_become(Status::Submitted) {
            return Err(StoreError::State(submission.status));
        }
        let attachments: Vec<(String, String)> = {
            let mut stmt =
                tx.prepare("SELECT attachment_id, jwe FROM attachments WHERE submission_id = ?1")?;
            let rows = stmt.query_map([submission_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<Result<_, _>>()?
        };
        let (event, token) = match make_set(&submission, &attachments) {
            Ok(set) => set,
            Err(e) => return Ok(Err(e)),
        };
        tx.execute(
            "UPDATE submissions SET status = 'submitted', encrypted_metadata = ?2, \
             encrypted_data = ?3 WHERE id = ?1",
            params![submission_id, metadata, data],
        )?;
        tx.execute(
            "INSERT INTO events (case_id, submission_id, event, token, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![submission.case_id, submission_id, event, token, now],
        )?;
        tx.commit()?;
        Ok(Ok(Submission {
            status: Status::Submitted,
            encrypted_metadata: Some(metadata.to_owned()),
            encrypted_data: data.map(str::to_owned),
            ..submission
        }))
    }

    /// Appends a SET to the case log and, if `next` is given, moves the submission there —
    /// refused unless the transition is allowed.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::State`] or [`StoreError::Sqlite`].
    pub fn append_event(
        &self,
        submission_id: &str,
        event: &str,
        token: &str,
        next: Option<Status>,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let submission = Self::submission_in(&tx, submission_id)?.ok_or(StoreError::NotFound)?;
        if let Some(next) = next {
            if !submission.status.may_become(next) {
                return Err(StoreError::State(submission.status));
            }
            tx.execute(
                "UPDATE submissions SET status = ?2 WHERE id = ?1",
                params![submission_id, next.as_str()],
            )?;
        }
        tx.execute(
            "INSERT INTO events (case_id, submission_id, event, token, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![submission.case_id, submission_id, event, token, now],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces one stored JWE of a submitted (or forwarded) submission without touching its
    /// event log — fault injection behind `[dangerous] allow_replacing_parts`: afterwards the
    /// part's tag no longer matches its `submit-submission` SET.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] / [`StoreError::PartNotFound`], [`StoreError::State`] (not
    /// submitted yet, or already decided) or [`StoreError::Sqlite`].
    pub fn replace_part(
        &self,
        submission_id: &str,
        part: &Part,
        jwe: &str,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let status = Self::status_in(&tx, submission_id)?;
        if !status.is_deliverable() {
            return Err(StoreError::State(status));
        }
        let changed = match part {
            Part::Metadata => tx.execute(
                "UPDATE submissions SET encrypted_metadata = ?2 WHERE id = ?1",
                params![submission_id, jwe],
            )?,
            Part::Data => tx.execute(
                "UPDATE submissions SET encrypted_data = ?2 WHERE id = ?1 \
                 AND encrypted_data IS NOT NULL",
                params![submission_id, jwe],
            )?,
            Part::Attachment(id) => tx.execute(
                "UPDATE attachments SET jwe = ?3 WHERE submission_id = ?1 AND attachment_id = ?2",
                params![submission_id, id.to_ascii_lowercase(), jwe],
            )?,
        };
        if changed != 1 {
            return Err(StoreError::PartNotFound);
        }
        tx.commit()?;
        Ok(())
    }

    /// A page of a case's event log (oldest first) and the total count.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn events(
        &self,
        case_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<String>, u64), StoreError> {
        let conn = self.lock();
        let total: i64 = conn.query_row(
            "SELECT COUNT(*) FROM events WHERE case_id = ?1",
            [case_id],
            |r| r.get(0),
        )?;
        let total = u64::try_from(total).map_err(|_| StoreError::Corrupt)?;
        let mut stmt = conn.prepare(
            "SELECT token FROM events WHERE case_id = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(params![case_id, limit, offset], |r| r.get(0))?;
        Ok((rows.collect::<Result<_, _>>()?, total))
    }

    /// Events of one kind for a submission (e.g. its `submit-submission`), oldest first.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn events_of(&self, submission_id: &str, event: &str) -> Result<Vec<String>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT token FROM events WHERE submission_id = ?1 AND event = ?2 ORDER BY seq",
        )?;
        let rows = stmt.query_map([submission_id, event], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// A page of a destination's deliverable submissions (submitted or forwarded), oldest
    /// first: (submissionId, caseId) and the total count.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn deliverable(
        &self,
        destination_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<(String, String)>, u64), StoreError> {
        let conn = self.lock();
        let filter = "destination_id = ?1 AND status IN ('submitted', 'forwarded')";
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM submissions WHERE {filter}"),
            [destination_id],
            |r| r.get(0),
        )?;
        let total = u64::try_from(total).map_err(|_| StoreError::Corrupt)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT id, case_id FROM submissions WHERE {filter} ORDER BY seq LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(params![destination_id, limit, offset], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?;
        Ok((rows.collect::<Result<_, _>>()?, total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str) -> Submission {
        Submission {
            id: id.into(),
            case_id: format!("case-{id}"),
            destination_id: "d".into(),
            client_id: "c".into(),
            api_version: 1,
            service: serde_json::json!({"identifier": "urn:x:y"}),
            announced: vec!["a1".into()],
            status: Status::Incomplete,
            encrypted_metadata: None,
            encrypted_data: None,
            created_at: 1,
        }
    }

    #[test]
    fn transitions_follow_the_status_model() {
        use Status::*;
        assert!(Incomplete.may_become(Submitted));
        assert!(Submitted.may_become(Forwarded));
        assert!(Forwarded.may_become(Accepted));
        assert!(Submitted.may_become(Rejected));
        assert!(!Incomplete.may_become(Accepted));
        assert!(!Accepted.may_become(Rejected));
        assert!(!Rejected.may_become(Submitted));
        assert!(!Submitted.may_become(Submitted));
    }

    #[test]
    fn replacing_a_part_needs_a_submitted_submission_and_keeps_the_log() {
        let store = Store::in_memory().expect("store");
        store.create_submission(&sample("s1")).expect("create");
        store.put_attachment("s1", "a1", "jwe").expect("upload");
        assert!(matches!(
            store.replace_part("s1", &Part::Attachment("a1".into()), "other"),
            Err(StoreError::State(Status::Incomplete))
        ));
        store
            .submit("s1", "m", None, 2, |_, _| {
                Ok::<_, ()>(("submit".into(), "token".into()))
            })
            .expect("store")
            .expect("submitted");
        store
            .replace_part("s1", &Part::Attachment("A1".into()), "other")
            .expect("replaced");
        store
            .replace_part("s1", &Part::Metadata, "m2")
            .expect("replaced");
        assert_eq!(
            store.attachment("s1", "a1").expect("get"),
            Some("other".into())
        );
        let s = store.submission("s1").expect("get").expect("some");
        assert_eq!(s.encrypted_metadata.as_deref(), Some("m2"));
        // No data was sent, and there is no attachment a2: nothing to replace.
        assert!(matches!(
            store.replace_part("s1", &Part::Data, "d"),
            Err(StoreError::PartNotFound)
        ));
        assert!(matches!(
            store.replace_part("s1", &Part::Attachment("a2".into()), "x"),
            Err(StoreError::PartNotFound)
        ));
        assert!(matches!(
            store.replace_part("s2", &Part::Metadata, "x"),
            Err(StoreError::NotFound)
        ));
        assert_eq!(
            store.events("case-s1", 0, 10).expect("events"),
            (vec!["token".to_owned()], 1)
        );
    }

    #[test]
    fn submit_is_atomic_and_only_once() {
        let store = Store::in_memory().expect("store");
        store.create_submission(&sample("s1")).expect("create");
        store.put_attachment("s1", "a1", "jwe").expect("upload");
        let refused: Result<Result<Submission, ()>, _> =
            store.submit("s1", "m", None, 2, |_, _| Err(()));
        assert!(matches!(refused, Ok(Err(()))));
        assert_eq!(
            store.submission("s1").expect("get").expect("some").status,
            Status::Incomplete
        );
        let ok = store
            .submit("s1", "m", Some("d"), 2, |_, a| {
                assert_eq!(a.len(), 1);
                Ok::<_, ()>(("submit".into(), "token".into()))
            })
            .expect("store");
        assert_eq!(ok.expect("submitted").status, Status::Submitted);
        assert!(matches!(
            store.put_attachment("s1", "a1", "x"),
            Err(StoreError::State(Status::Submitted))
        ));
        assert!(matches!(
            store.submit("s1", "m", None, 3, |_, _| Ok::<_, ()>((
                String::new(),
                String::new()
            ))),
            Err(StoreError::State(Status::Submitted))
        ));
        let (events, total) = store.events("case-s1", 0, 10).expect("events");
        assert_eq!((events, total), (vec!["token".to_owned()], 1));
        assert_eq!(store.deliverable("d", 0, 10).expect("list").1, 1);
    }
}
