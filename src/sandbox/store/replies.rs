//! Replies (Rückkanal) in the sandbox store.
//!
//! Design note:
//! - Table `replies`: one row per reply, its case, the submission it answers, the destination
//!   whose subscriber wrote it, the sending client it is for, the `kid` of the reply key the
//!   sender named in that submission's metadata, status and the two JWEs.
//! - Reply attachments and reply events share the tables of submissions: `attachments` and
//!   `events` rows name their owner in `submission_id`, which holds the reply id for a reply.
//!   Ids are UUIDs the sandbox generates, so a submission and a reply never share one; the
//!   blob sweep of [`Store::open`] therefore keeps reply attachment files as it keeps
//!   submission ones, and the case event log shows reply events in case order.
//! - Commit points as for submissions: creation with its `create-reply` SET, submission with
//!   its `submit-reply` SET, and each decision with its SET are single transactions; a state
//!   check and the write it guards share the transaction.
//! - Status model (the submission one, `forwarded` unused): `incomplete` → `submitted` →
//!   `accepted` | `rejected`.

use std::collections::HashSet;
use std::path::PathBuf;

use rusqlite::{Connection, OptionalExtension as _, params};

use super::{AttachmentFile, Status, Store, StoreError, sql_size};
use crate::fitconnect::types::ReplyIds;

pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS replies (
    id TEXT PRIMARY KEY,
    case_id TEXT NOT NULL,
    submission_id TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    sender_client_id TEXT NOT NULL,
    reply_kid TEXT NOT NULL,
    announced TEXT NOT NULL,
    status TEXT NOT NULL,
    encrypted_metadata TEXT,
    encrypted_data TEXT,
    created_at INTEGER NOT NULL,
    seq INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS replies_by_sender ON replies(sender_client_id, status, seq);
CREATE INDEX IF NOT EXISTS replies_by_submission ON replies(submission_id);
CREATE INDEX IF NOT EXISTS events_by_owner ON events(submission_id, seq);
";

/// One reply as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReply {
    /// replyId.
    pub id: String,
    /// caseId (the case of the submission answered).
    pub case_id: String,
    /// The submission answered.
    pub submission_id: String,
    /// The destination whose subscriber wrote the reply.
    pub destination_id: String,
    /// The client that sent the submission: the only one that may read and decide.
    pub sender_client_id: String,
    /// `kid` of the reply key from the submission's `replyChannel.fitConnect`.
    pub reply_kid: String,
    /// Announced attachment ids, in the order given.
    pub announced: Vec<String>,
    /// Current status.
    pub status: Status,
    /// The metadata JWE, once submitted.
    pub encrypted_metadata: Option<String>,
    /// The data JWE, once submitted.
    pub encrypted_data: Option<String>,
    /// Unix seconds of creation.
    pub created_at: i64,
}

const SELECT_REPLY: &str = "SELECT id, case_id, submission_id, destination_id, \
     sender_client_id, reply_kid, announced, status, encrypted_metadata, encrypted_data, \
     created_at FROM replies";

fn row_to_reply(row: &rusqlite::Row<'_>) -> rusqlite::Result<(StoredReply, String, String)> {
    let reply = StoredReply {
        id: row.get(0)?,
        case_id: row.get(1)?,
        submission_id: row.get(2)?,
        destination_id: row.get(3)?,
        sender_client_id: row.get(4)?,
        reply_kid: row.get(5)?,
        announced: Vec::new(),
        status: Status::Incomplete,
        encrypted_metadata: row.get(8)?,
        encrypted_data: row.get(9)?,
        created_at: row.get(10)?,
    };
    Ok((reply, row.get(6)?, row.get(7)?))
}

fn reply_in(conn: &Connection, id: &str) -> Result<Option<StoredReply>, StoreError> {
    let row = conn
        .query_row(&format!("{SELECT_REPLY} WHERE id = ?1"), [id], row_to_reply)
        .optional()?;
    row.map(|(mut r, announced, status)| {
        r.announced = serde_json::from_str(&announced).map_err(|_| StoreError::Corrupt)?;
        r.status = Status::parse(&status).ok_or(StoreError::Corrupt)?;
        Ok(r)
    })
    .transpose()
}

fn insert_event(
    conn: &Connection,
    case_id: &str,
    owner: &str,
    event: &str,
    token: &str,
    now: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO events (case_id, submission_id, event, token, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![case_id, owner, event, token, now],
    )?;
    Ok(())
}

impl Store {
    /// Inserts a new reply (status `incomplete`) and its `create-reply` SET, refused when the
    /// submission already has `max_per_submission` replies.
    ///
    /// # Errors
    /// [`StoreError::TooMany`] or [`StoreError::Sqlite`].
    pub fn create_reply(
        &self,
        r: &StoredReply,
        max_per_submission: usize,
        event: &str,
        token: &str,
    ) -> Result<(), StoreError> {
        let announced = serde_json::to_string(&r.announced).map_err(|_| StoreError::Corrupt)?;
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let existing: i64 = tx.query_row(
            "SELECT COUNT(*) FROM replies WHERE submission_id = ?1",
            [&r.submission_id],
            |row| row.get(0),
        )?;
        if usize::try_from(existing).unwrap_or(usize::MAX) >= max_per_submission {
            return Err(StoreError::TooMany);
        }
        tx.execute(
            "INSERT INTO replies (id, case_id, submission_id, destination_id, sender_client_id, \
             reply_kid, announced, status, created_at, seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, \
             ?8, ?9, (SELECT COALESCE(MAX(seq), 0) + 1 FROM replies))",
            params![
                r.id,
                r.case_id,
                r.submission_id,
                r.destination_id,
                r.sender_client_id,
                r.reply_kid,
                announced,
                r.status.as_str(),
                r.created_at
            ],
        )?;
        insert_event(&tx, &r.case_id, &r.id, event, token, r.created_at)?;
        tx.commit()?;
        Ok(())
    }

    /// One reply by id.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`].
    pub fn reply(&self, id: &str) -> Result<Option<StoredReply>, StoreError> {
        reply_in(&self.lock(), id)
    }

    /// Records a reply attachment file while the reply is `incomplete` (a re-upload replaces
    /// the earlier file). On an error the file is not recorded and the caller deletes it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::State`] or [`StoreError::Sqlite`].
    pub fn put_reply_attachment(
        &self,
        reply_id: &str,
        attachment_id: &str,
        file: &AttachmentFile,
    ) -> Result<(), StoreError> {
        let replaced = {
            let mut conn = self.lock();
            let tx = conn.transaction()?;
            let reply = reply_in(&tx, reply_id)?.ok_or(StoreError::NotFound)?;
            if reply.status != Status::Incomplete {
                return Err(StoreError::State(reply.status));
            }
            let replaced = Self::file_in(&tx, reply_id, attachment_id)?;
            tx.execute(
                "INSERT OR REPLACE INTO attachments (submission_id, attachment_id, file, tag, size) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![reply_id, attachment_id, file.name, file.tag, sql_size(file.size)],
            )?;
            tx.commit()?;
            replaced
        };
        self.forget_file(replaced);
        Ok(())
    }

    /// Marks a reply `submitted` with its JWEs and appends the SET `make_set` builds from the
    /// uploaded attachments (attachmentId, tag), in one transaction; `make_set` refusing
    /// changes nothing.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::State`] or [`StoreError::Sqlite`].
    pub fn submit_reply<E>(
        &self,
        reply_id: &str,
        metadata: &str,
        data: &str,
        now: i64,
        make_set: impl FnOnce(&StoredReply, &[(String, String)]) -> Result<(String, String), E>,
    ) -> Result<Result<StoredReply, E>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let reply = reply_in(&tx, reply_id)?.ok_or(StoreError::NotFound)?;
        if !reply.status.may_become(Status::Submitted) {
            return Err(StoreError::State(reply.status));
        }
        let attachments = Self::tags_in(&tx, reply_id)?;
        let (event, token) = match make_set(&reply, &attachments) {
            Ok(set) => set,
            Err(e) => return Ok(Err(e)),
        };
        tx.execute(
            "UPDATE replies SET status = 'submitted', encrypted_metadata = ?2, \
             encrypted_data = ?3 WHERE id = ?1",
            params![reply_id, metadata, data],
        )?;
        insert_event(&tx, &reply.case_id, reply_id, &event, &token, now)?;
        tx.commit()?;
        Ok(Ok(StoredReply {
            status: Status::Submitted,
            encrypted_metadata: Some(metadata.to_owned()),
            encrypted_data: Some(data.to_owned()),
            ..reply
        }))
    }

    /// Moves a reply to `next` (refused unless allowed) and appends the SET recording it.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::State`] or [`StoreError::Sqlite`].
    pub fn decide_reply(
        &self,
        reply_id: &str,
        next: Status,
        event: &str,
        token: &str,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let reply = reply_in(&tx, reply_id)?.ok_or(StoreError::NotFound)?;
        if !reply.status.may_become(next) {
            return Err(StoreError::State(reply.status));
        }
        tx.execute(
            "UPDATE replies SET status = ?2 WHERE id = ?1",
            params![reply_id, next.as_str()],
        )?;
        insert_event(&tx, &reply.case_id, reply_id, event, token, now)?;
        tx.commit()?;
        Ok(())
    }

    /// A page of the submitted (not yet decided) replies for a sending client, oldest first,
    /// and the total count.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn replies_for(
        &self,
        client_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<ReplyIds>, u64), StoreError> {
        let conn = self.lock();
        let filter = "sender_client_id = ?1 AND status = 'submitted'";
        let total: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM replies WHERE {filter}"),
            [client_id],
            |r| r.get(0),
        )?;
        let total = u64::try_from(total).map_err(|_| StoreError::Corrupt)?;
        let mut stmt = conn.prepare(&format!(
            "SELECT id, case_id, submission_id FROM replies WHERE {filter} \
             ORDER BY seq LIMIT ?2 OFFSET ?3"
        ))?;
        let rows = stmt.query_map(params![client_id, limit, offset], |r| {
            Ok(ReplyIds {
                reply_id: r.get(0)?,
                case_id: r.get(1)?,
                submission_id: r.get(2)?,
                destination_id: None,
            })
        })?;
        Ok((rows.collect::<Result<_, _>>()?, total))
    }

    /// Appends `event` about each reply in `reply_ids` that has none of that kind yet (the
    /// delivery service records that the sender learnt of a reply once per way of learning);
    /// `make_set` builds the SET for one reply. The ids that got one.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`].
    pub fn note_once(
        &self,
        reply_ids: &[String],
        event: &str,
        now: i64,
        mut make_set: impl FnMut(&StoredReply) -> String,
    ) -> Result<Vec<String>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let mut noted = Vec::new();
        let mut seen = HashSet::new();
        for id in reply_ids {
            if !seen.insert(id.as_str()) {
                continue;
            }
            let has: i64 = tx.query_row(
                "SELECT COUNT(*) FROM events WHERE submission_id = ?1 AND event = ?2",
                [id.as_str(), event],
                |r| r.get(0),
            )?;
            if has > 0 {
                continue;
            }
            let Some(reply) = reply_in(&tx, id)? else {
                continue;
            };
            let token = make_set(&reply);
            insert_event(&tx, &reply.case_id, id, event, &token, now)?;
            noted.push(id.clone());
        }
        tx.commit()?;
        Ok(noted)
    }

    /// A page of the SETs about one submission or reply (oldest first) and the total count.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`].
    pub fn events_about(
        &self,
        owner_id: &str,
        offset: u32,
        limit: u32,
    ) -> Result<(Vec<String>, u64), StoreError> {
        self.log_page(super::LogOf::Owner, owner_id, offset, limit)
    }

    /// One reply attachment file: its path and size.
    ///
    /// # Errors
    /// [`StoreError::Sqlite`] or [`StoreError::Corrupt`].
    pub fn reply_attachment(
        &self,
        reply_id: &str,
        attachment_id: &str,
    ) -> Result<Option<(PathBuf, u64)>, StoreError> {
        self.attachment(reply_id, attachment_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(id: &str) -> StoredReply {
        StoredReply {
            id: id.into(),
            case_id: "case-1".into(),
            submission_id: "s1".into(),
            destination_id: "d".into(),
            sender_client_id: "sender".into(),
            reply_kid: "reply-key".into(),
            announced: vec!["a1".into()],
            status: Status::Incomplete,
            encrypted_metadata: None,
            encrypted_data: None,
            created_at: 1,
        }
    }

    fn file(store: &Store, jwe: &str) -> AttachmentFile {
        store.write_file(jwe).expect("file")
    }

    #[test]
    fn a_reply_is_bounded_submitted_once_and_decided_once() {
        let store = Store::in_memory().expect("store");
        store
            .create_reply(&sample("r1"), 2, "create", "t1")
            .expect("first");
        store
            .create_reply(&sample("r2"), 2, "create", "t2")
            .expect("second");
        assert!(matches!(
            store.create_reply(&sample("r3"), 2, "create", "t3"),
            Err(StoreError::TooMany)
        ));
        let refused: Result<Result<StoredReply, ()>, _> =
            store.submit_reply("r1", "m", "d", 2, |_, _| Err(()));
        assert!(matches!(refused, Ok(Err(()))));
        assert_eq!(
            store.reply("r1").expect("get").expect("some").status,
            Status::Incomplete,
            "a refused submit changes nothing"
        );
        store
            .put_reply_attachment("r1", "a1", &file(&store, "h.k.iv.c.tag"))
            .expect("upload");
        let done = store
            .submit_reply("r1", "m", "d", 3, |_, uploaded| {
                assert_eq!(uploaded, [("a1".to_owned(), "tag".to_owned())]);
                Ok::<_, ()>(("submit".into(), "t4".into()))
            })
            .expect("store")
            .expect("submitted");
        assert_eq!(done.status, Status::Submitted);
        assert!(matches!(
            store.put_reply_attachment("r1", "a1", &file(&store, "x.y.z.w.v")),
            Err(StoreError::State(Status::Submitted))
        ));
        assert!(matches!(
            store.decide_reply("r2", Status::Accepted, "accept", "t5", 4),
            Err(StoreError::State(Status::Incomplete))
        ));
        store
            .decide_reply("r1", Status::Rejected, "reject", "t6", 5)
            .expect("decided");
        assert!(matches!(
            store.decide_reply("r1", Status::Accepted, "accept", "t7", 6),
            Err(StoreError::State(Status::Rejected))
        ));
        assert_eq!(
            store.events_about("r1", 0, 10).expect("log"),
            (vec!["t1".to_owned(), "t4".to_owned(), "t6".to_owned()], 3)
        );
        assert_eq!(store.events("case-1", 0, 10).expect("case").1, 4);
    }

    #[test]
    fn only_submitted_replies_are_listed_and_noted_once() {
        let store = Store::in_memory().expect("store");
        let mut r = sample("r1");
        r.announced.clear();
        store.create_reply(&r, 10, "create", "t1").expect("create");
        assert_eq!(store.replies_for("sender", 0, 10).expect("list").1, 0);
        store
            .submit_reply("r1", "m", "d", 2, |_, _| {
                Ok::<_, ()>(("submit".into(), "t2".into()))
            })
            .expect("store")
            .expect("submitted");
        let (page, total) = store.replies_for("sender", 0, 10).expect("list");
        assert_eq!((page[0].reply_id.as_str(), total), ("r1", 1));
        assert_eq!(store.replies_for("someone-else", 0, 10).expect("list").1, 0);
        let ids = vec!["r1".to_owned(), "r1".to_owned(), "unknown".to_owned()];
        let noted = store
            .note_once(&ids, "notify", 3, |_| "t3".into())
            .expect("noted");
        assert_eq!(noted, ["r1"]);
        let again = store
            .note_once(&ids, "notify", 4, |_| "t4".into())
            .expect("noted");
        assert!(again.is_empty());
        assert_eq!(store.events_about("r1", 0, 10).expect("log").1, 3);
    }
}
