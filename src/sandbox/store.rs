//! Durable sandbox state in SQLite (a file, or `:memory:` with `--ephemeral`), attachment JWEs
//! as files beside it.
//!
//! Design note:
//! - Tables: `submissions` (one row per submission, status and the two JWEs), `attachments`
//!   (one row per uploaded attachment: its file in the blob directory, its authentication tag
//!   and size), `events` (the case event log, one SET per row, ordered by an autoincrement
//!   `seq` — the log is append-only).
//! - Attachment JWEs (up to 500 MB each) never pass through memory whole: an upload is
//!   streamed into `<uuid>.part` in the blob directory, renamed to `<uuid>.jwe` and (file
//!   mode) fsynced, and only then recorded in a row ([`Store::put_attachment`]). A replaced
//!   file is deleted after the commit that stopped naming it. A crash leaves at most files
//!   no row names; [`Store::open`] sweeps them. Downloads stream the named file.
//! - Every mutating call is one transaction; a state check and the write it guards happen in
//!   the same transaction, so concurrent requests cannot both pass a check (e.g. two submits).
//! - File mode uses WAL with `synchronous=FULL`: a 2xx answer means the change is on disk.
//! - Recovery is SQLite's own; on restart the sandbox serves exactly what was committed.
//! - Databases of earlier versions held attachment JWEs in the row (`attachments.jwe`); they
//!   are moved to files once, when such a database is opened.
//! - Access tokens are not stored: after a restart clients fetch a new token, as they must
//!   after 30 minutes anyway.
//! - Replies (`store/replies.rs`) have their own table and share `attachments` and `events` (their
//!   rows name the reply id where a submission's name the submission id).

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension as _, params};

mod replies;

pub use replies::StoredReply;

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
    /// A per-submission bound is reached (replies to one submission).
    #[error("too many replies to this submission")]
    TooMany,
    /// An attachment file could not be written, read or removed.
    #[error("attachment file: {0}")]
    File(#[from] std::io::Error),
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

/// Which event log a page is of.
#[derive(Debug, Clone, Copy)]
enum LogOf {
    /// All SETs of a case.
    Case,
    /// The SETs about one submission or reply.
    Owner,
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

/// An attachment JWE complete in the blob directory, not yet recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentFile {
    /// The file name within the blob directory (`<uuid>.jwe`).
    pub name: String,
    /// Part 5 of the JWE as sent (its authentication tag).
    pub tag: String,
    /// Its size in bytes.
    pub size: u64,
}

/// A size as SQLite stores it (files are far below `i64::MAX` bytes).
fn sql_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

/// The shared, thread-safe store handle.
#[derive(Debug, Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
    blobs: Arc<Blobs>,
}

/// The blob directory; in ephemeral mode a temporary one, removed with the store.
#[derive(Debug)]
struct Blobs {
    dir: PathBuf,
    /// Whether files are fsynced (file mode) before their row is written.
    durable: bool,
    _temp: Option<tempfile::TempDir>,
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
    file TEXT NOT NULL,
    tag TEXT NOT NULL,
    size INTEGER NOT NULL,
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
    /// Opens (creating if needed) the database file at `path`, with attachment files in
    /// `blob_dir` (created if needed); moves attachments of an earlier version's database into
    /// files and removes files no row names.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::File`].
    pub fn open(path: &Path, blob_dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(blob_dir)?;
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let store = Self::init(
            conn,
            Blobs {
                dir: blob_dir.to_owned(),
                durable: true,
                _temp: None,
            },
        )?;
        store.sweep()?;
        Ok(store)
    }

    /// An in-memory database with attachment files in a temporary directory (all lost when
    /// the sandbox stops).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::File`].
    pub fn in_memory() -> Result<Self, StoreError> {
        let temp = tempfile::Builder::new()
            .prefix("poststelle-sandbox-")
            .tempdir()?;
        Self::init(
            Connection::open_in_memory()?,
            Blobs {
                dir: temp.path().to_owned(),
                durable: false,
                _temp: Some(temp),
            },
        )
    }

    fn init(conn: Connection, blobs: Blobs) -> Result<Self, StoreError> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let legacy = Self::legacy_attachments(&conn)?;
        if legacy {
            conn.execute_batch("ALTER TABLE attachments RENAME TO attachments_v1;")?;
        }
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(replies::SCHEMA)?;
        let store = Self {
            conn: Arc::new(Mutex::new(conn)),
            blobs: Arc::new(blobs),
        };
        if legacy {
            store.migrate_legacy()?;
        }
        Ok(store)
    }

    /// Whether the `attachments` table is an earlier version's (JWE in the row).
    fn legacy_attachments(conn: &Connection) -> Result<bool, StoreError> {
        let mut stmt = conn.prepare("SELECT name FROM pragma_table_info('attachments')")?;
        let columns = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(columns.iter().any(|c| c == "jwe"))
    }

    /// Moves the JWEs of `attachments_v1` into files, one row at a time.
    fn migrate_legacy(&self) -> Result<(), StoreError> {
        let keys: Vec<(String, String)> = {
            let conn = self.lock();
            let mut stmt =
                conn.prepare("SELECT submission_id, attachment_id FROM attachments_v1")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<_, _>>()?
        };
        for (sid, aid) in keys {
            let jwe: String = self.lock().query_row(
                "SELECT jwe FROM attachments_v1 WHERE submission_id = ?1 AND attachment_id = ?2",
                [&sid, &aid],
                |r| r.get(0),
            )?;
            let file = self.write_file(&jwe)?;
            let conn = self.lock();
            conn.execute(
                "INSERT OR REPLACE INTO attachments (submission_id, attachment_id, file, tag, size) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sid, aid, file.name, file.tag, sql_size(file.size)],
            )?;
            conn.execute(
                "DELETE FROM attachments_v1 WHERE submission_id = ?1 AND attachment_id = ?2",
                [&sid, &aid],
            )?;
        }
        self.lock().execute_batch("DROP TABLE attachments_v1;")?;
        Ok(())
    }

    /// Removes files in the blob directory that no row names (a crash between writing a file
    /// and recording it, or after a replacing commit).
    fn sweep(&self) -> Result<(), StoreError> {
        let named: HashSet<String> = {
            let conn = self.lock();
            let mut stmt = conn.prepare("SELECT file FROM attachments")?;
            stmt.query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?
        };
        for entry in std::fs::read_dir(&self.blobs.dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let ours = name.ends_with(".part") || name.ends_with(".jwe");
            if ours && !named.contains(&name) {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(())
    }

    /// The directory attachment files are written to.
    #[must_use]
    pub fn blob_dir(&self) -> &Path {
        &self.blobs.dir
    }

    /// Whether attachment files must be fsynced before they are recorded (file mode).
    #[must_use]
    pub fn durable(&self) -> bool {
        self.blobs.durable
    }

    /// The path of a recorded attachment file.
    #[must_use]
    pub fn blob_path(&self, name: &str) -> PathBuf {
        self.blobs.dir.join(name)
    }

    /// Writes a JWE held in memory as an attachment file (migration, fault injection).
    fn write_file(&self, jwe: &str) -> Result<AttachmentFile, StoreError> {
        let name = format!("{}.jwe", uuid::Uuid::new_v4());
        let path = self.blob_path(&name);
        let mut file = std::fs::File::create(&path)?;
        file.write_all(jwe.as_bytes())?;
        if self.blobs.durable {
            file.sync_all()?;
        }
        Ok(AttachmentFile {
            name,
            tag: jwe.rsplit('.').next().unwrap_or_default().to_owned(),
            size: jwe.len() as u64,
        })
    }

    /// Deletes a file no row names any more; a failure leaves garbage for the next sweep.
    fn forget_file(&self, name: Option<String>) {
        if let Some(name) = name {
            let _ = std::fs::remove_file(self.blob_path(&name));
        }
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

    /// Records an attachment file (complete in the blob directory) while the submission is
    /// `incomplete`; a re-upload replaces the earlier file, which is then deleted. On an error
    /// the file is not recorded and the caller deletes it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::State`] or [`StoreError::Sqlite`].
    pub fn put_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        file: &AttachmentFile,
    ) -> Result<(), StoreError> {
        let replaced = {
            let mut conn = self.lock();
            let tx = conn.transaction()?;
            let status = Self::status_in(&tx, submission_id)?;
            if status != Status::Incomplete {
                return Err(StoreError::State(status));
            }
            let replaced = Self::file_in(&tx, submission_id, attachment_id)?;
            tx.execute(
                "INSERT OR REPLACE INTO attachments (submission_id, attachment_id, file, tag, size) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![submission_id, attachment_id, file.name, file.tag, sql_size(file.size)],
            )?;
            tx.commit()?;
            replaced
        };
        self.forget_file(replaced);
        Ok(())
    }

    fn file_in(
        conn: &Connection,
        submission_id: &str,
        attachment_id: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(conn
            .query_row(
                "SELECT file FROM attachments WHERE submission_id = ?1 AND attachment_id = ?2",
                [submission_id, attachment_id],
                |r| r.get(0),
            )
            .optional()?)
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

    /// Uploaded attachments of a submission: (attachmentId, authentication tag).
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn attachments(&self, submission_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        Self::tags_in(&self.lock(), submission_id)
    }

    fn tags_in(
        conn: &Connection,
        submission_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut stmt = conn.prepare(
            "SELECT attachment_id, tag FROM attachments WHERE submission_id = ?1 \
             ORDER BY attachment_id",
        )?;
        let rows = stmt.query_map([submission_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One attachment file: its path and size.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`] (a negative size).
    pub fn attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
    ) -> Result<Option<(PathBuf, u64)>, StoreError> {
        let conn = self.lock();
        let row: Option<(String, i64)> = conn
            .query_row(
                "SELECT file, size FROM attachments WHERE submission_id = ?1 AND attachment_id = ?2",
                [submission_id, attachment_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        row.map(|(file, size)| {
            let size = u64::try_from(size).map_err(|_| StoreError::Corrupt)?;
            Ok((self.blob_path(&file), size))
        })
        .transpose()
    }

    /// Marks a submission `submitted` with its JWEs and appends the SET built by `make_set` from
    /// the stored attachments (attachmentId, authentication tag), all in one transaction.
    /// `make_set` returns `None` to abort (e.g. missing attachments), in which case nothing
    /// changes.
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
        let attachments = Self::tags_in(&tx, submission_id)?;
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
        let written = match part {
            Part::Attachment(_) => Some(self.write_file(jwe)?),
            Part::Metadata | Part::Data => None,
        };
        let result = self.replace_in_db(submission_id, part, jwe, written.as_ref());
        match (result, written) {
            (Ok(replaced), _) => {
                self.forget_file(replaced);
                Ok(())
            }
            (Err(e), written) => {
                self.forget_file(written.map(|w| w.name));
                Err(e)
            }
        }
    }

    /// The transaction of [`Self::replace_part`]: the attachment file it stopped naming.
    fn replace_in_db(
        &self,
        submission_id: &str,
        part: &Part,
        jwe: &str,
        written: Option<&AttachmentFile>,
    ) -> Result<Option<String>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let status = Self::status_in(&tx, submission_id)?;
        if !status.is_deliverable() {
            return Err(StoreError::State(status));
        }
        let mut replaced = None;
        let changed = match (part, written) {
            (Part::Metadata, _) => tx.execute(
                "UPDATE submissions SET encrypted_metadata = ?2 WHERE id = ?1",
                params![submission_id, jwe],
            )?,
            (Part::Data, _) => tx.execute(
                "UPDATE submissions SET encrypted_data = ?2 WHERE id = ?1 \
                 AND encrypted_data IS NOT NULL",
                params![submission_id, jwe],
            )?,
            (Part::Attachment(id), Some(file)) => {
                let id = id.to_ascii_lowercase();
                replaced = Self::file_in(&tx, submission_id, &id)?;
                tx.execute(
                    "UPDATE attachments SET file = ?3, tag = ?4, size = ?5 \
                     WHERE submission_id = ?1 AND attachment_id = ?2",
                    params![submission_id, id, file.name, file.tag, sql_size(file.size)],
                )?
            }
            (Part::Attachment(_), None) => 0,
        };
        if changed != 1 {
            return Err(StoreError::PartNotFound);
        }
        tx.commit()?;
        Ok(replaced)
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
        self.log_page(LogOf::Case, case_id, offset, limit)
    }

    /// A page of the SETs of `id` (a case, or one submission or reply), oldest first, and the
    /// total count.
    fn log_page(
        &self,
        of: LogOf,
        id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<String>, u64), StoreError> {
        let column = match of {
            LogOf::Case => "case_id",
            LogOf::Owner => "submission_id",
        };
        let conn = self.lock();
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM events WHERE {column} = ?1"),
            [id],
            |r| r.get(0),
        )?;
        let total = u64::try_from(total).map_err(|_| StoreError::Corrupt)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT token FROM events WHERE {column} = ?1 ORDER BY seq LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(params![id, limit, offset], |r| r.get(0))?;
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

    /// Uploads `jwe` as an attachment the way the route does: a file first, then the row.
    fn put(store: &Store, sid: &str, aid: &str, jwe: &str) -> Result<(), StoreError> {
        let file = store.write_file(jwe)?;
        store.put_attachment(sid, aid, &file).inspect_err(|_| {
            let _ = std::fs::remove_file(store.blob_path(&file.name));
        })
    }

    fn content(store: &Store, sid: &str, aid: &str) -> Option<String> {
        let (path, size) = store.attachment(sid, aid).expect("get")?;
        let text = std::fs::read_to_string(path).expect("file");
        assert_eq!(text.len() as u64, size);
        Some(text)
    }

    fn files(store: &Store) -> usize {
        std::fs::read_dir(store.blob_dir()).expect("dir").count()
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
        put(&store, "s1", "a1", "jwe").expect("upload");
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
        assert_eq!(content(&store, "s1", "a1").as_deref(), Some("other"));
        assert_eq!(
            store.attachments("s1").expect("tags"),
            vec![("a1".to_owned(), "other".to_owned())]
        );
        assert_eq!(files(&store), 1, "the replaced file is gone");
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
        put(&store, "s1", "a1", "h.k.iv.c.first").expect("upload");
        put(&store, "s1", "a1", "h.k.iv.c.tag").expect("re-upload");
        assert_eq!(files(&store), 1, "a re-upload replaces the file");
        let refused: Result<Result<Submission, ()>, _> =
            store.submit("s1", "m", None, 2, |_, _| Err(()));
        assert!(matches!(refused, Ok(Err(()))));
        assert_eq!(
            store.submission("s1").expect("get").expect("some").status,
            Status::Incomplete
        );
        let ok = store
            .submit("s1", "m", Some("d"), 2, |_, a| {
                assert_eq!(a, [("a1".to_owned(), "tag".to_owned())]);
                Ok::<_, ()>(("submit".into(), "token".into()))
            })
            .expect("store");
        assert_eq!(ok.expect("submitted").status, Status::Submitted);
        assert!(matches!(
            put(&store, "s1", "a1", "x"),
            Err(StoreError::State(Status::Submitted))
        ));
        assert_eq!(files(&store), 1, "the refused upload left no file");
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

    #[test]
    fn attachments_of_an_earlier_database_become_files_and_strays_are_swept() {
        let dir = tempfile::tempdir().expect("dir");
        let db = dir.path().join("sandbox.sqlite3");
        let blobs = dir.path().join("attachments");
        {
            // The schema of earlier versions: the JWE in the row.
            let conn = Connection::open(&db).expect("db");
            conn.execute_batch(&SCHEMA.replace(
                "file TEXT NOT NULL,\n    tag TEXT NOT NULL,\n    size INTEGER NOT NULL,",
                "jwe TEXT NOT NULL,",
            ))
            .expect("old schema");
            conn.execute(
                "INSERT INTO attachments (submission_id, attachment_id, jwe) VALUES ('s1', 'a1', 'h.k.iv.c.t1')",
                [],
            )
            .expect("old row");
        }
        std::fs::create_dir_all(&blobs).expect("blobs");
        std::fs::write(blobs.join("stray.part"), "half an upload").expect("stray");
        std::fs::write(blobs.join("unrelated.txt"), "not ours").expect("other");
        let store = Store::open(&db, &blobs).expect("open");
        assert_eq!(content(&store, "s1", "a1").as_deref(), Some("h.k.iv.c.t1"));
        assert_eq!(
            store.attachments("s1").expect("tags"),
            vec![("a1".to_owned(), "t1".to_owned())]
        );
        assert!(!blobs.join("stray.part").exists());
        assert!(blobs.join("unrelated.txt").exists());
        drop(store);
        // Opening again changes nothing.
        let store = Store::open(&db, &blobs).expect("reopen");
        assert_eq!(content(&store, "s1", "a1").as_deref(), Some("h.k.iv.c.t1"));
    }
}
