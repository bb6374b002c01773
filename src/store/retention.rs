//! Retention of personal data: how long the payload of a forwarded submission is kept.
//!
//! **What is purged.** The payload: the envelope (Fachdaten as JSON, the decrypted metadata), the
//! XML Fachdaten kept for the case-worker document (`fachdaten`),
//! the attachment contents (SQLite: blob files no unpurged submission shares; PostgreSQL: the
//! `bytea` chunks) and the attachments' file names; and the content (XML, attachments) of every
//! finished reply to a purged submission, also of one that finished after its submission was
//! purged (each run purges those, [`super::sql::PURGE_REPLIES`]). **What stays** is the evidence: the
//! submit SET, authentication tags, hashes, decision and problems, acknowledgement SET, times,
//! case, destination and message type, and per attachment its id, media type, size and
//! content hash. A purged submission keeps `purged_at`.
//!
//! **When** (the rule is [`super::sql::PURGE_DUE`], nowhere else): an accepted submission,
//! acknowledged, whose forwarding jobs are all delivered, once its last delivery is older than
//! the retention. A pending job or a dead letter keeps the payload: dead letters are never
//! purged by themselves — the operator re-drives them (`queue redrive`) or decides otherwise.
//! Rejected submissions are not purged because they hold no payload: the pipeline stores only
//! the evidence of a rejection (no envelope, no attachments).
//!
//! **Commit points.** One transaction per batch marks the rows purged, drops the envelope and
//! file names and (PostgreSQL) deletes the chunks. SQLite removes blob files after that commit,
//! under the connection lock, only those no unpurged attachment row refers to (content is
//! shared by address); a crash between commit and removal leaves files that the first purge
//! after the restart removes: it looks at the blobs of every purged submission, later runs only
//! at their own (so a run costs what it purges, not the whole history). A
//! store that wrote a blob and finds it gone before its commit fails (and is retried), so a
//! committed row still always refers to complete content.
//!
//! **Files outside the store.** A file-drop upstream's directory belongs to the Fachverfahren
//! once delivered and is not touched; the spool holds unnamed files only while a submission is
//! processed.

use std::time::Duration;

use super::Timestamp;

/// Submissions purged per transaction: bounds how long one purge holds the write lock.
pub(crate) const BATCH: u32 = 500;

/// How long payloads of forwarded submissions are kept (`[retention] payload_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days after the last delivery; 0 keeps payloads forever (no purge).
    pub payload_days: u32,
}

impl Default for Retention {
    /// 30 days: time for a Fachverfahren to ask for a re-delivery, not longer.
    fn default() -> Self {
        Self { payload_days: 30 }
    }
}

impl Retention {
    /// Submissions delivered at or before the returned time are due at `now`; `None` when
    /// payloads are kept forever.
    #[must_use]
    pub fn delivered_before(self, now: Timestamp) -> Option<Timestamp> {
        if self.payload_days == 0 {
            return None;
        }
        let age = Duration::from_secs(u64::from(self.payload_days) * 86_400);
        let millis = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        Some(Timestamp(now.0.saturating_sub(millis)))
    }
}

/// What a purge did (or, dry, would do).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PurgeReport {
    /// The submissions whose payload was purged (would be, dry), by id.
    pub submission_ids: Vec<String>,
    /// Blob files removed (SQLite; 0 on PostgreSQL and when dry).
    pub files_removed: u64,
    /// Finished replies to purged submissions whose content (XML, attachments) went in this
    /// run (0 when dry).
    pub replies_purged: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_days_keeps_forever_and_days_count_back_from_now() {
        let now = Timestamp(100 * 86_400_000);
        assert_eq!(Retention { payload_days: 0 }.delivered_before(now), None);
        assert_eq!(
            Retention::default().delivered_before(now),
            Some(Timestamp(70 * 86_400_000))
        );
        assert_eq!(
            Retention {
                payload_days: u32::MAX
            }
            .delivered_before(Timestamp(0))
            .map(|t| t.0 < 0),
            Some(true)
        );
    }
}
