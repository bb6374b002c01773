//! The access log: every view of an application's personal data (the submission page, the
//! case-worker document) is recorded — who (the session's principal), when, which submission
//! and which view; never the data itself.
//!
//! Each record is one `tracing` event (target `poststelle::access`, so log pipelines can route
//! it apart) and, with `[console] access_log`, one JSON line appended to that file (created
//! with mode 0600; written and flushed before the page is answered, so a view that is not
//! recorded is not shown).

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use super::session::Principal;
use crate::store::Timestamp;

/// Which view of personal data was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    /// The console's submission page.
    Submission,
    /// The case-worker document (`document.html`).
    Document,
}

impl View {
    fn as_str(self) -> &'static str {
        match self {
            Self::Submission => "submission",
            Self::Document => "document",
        }
    }
}

/// The access log could not be written: the view is refused.
#[derive(Debug)]
pub(crate) struct NotRecorded;

/// Where access records go.
pub(crate) struct AccessLog {
    file: Option<(PathBuf, Mutex<()>)>,
}

impl AccessLog {
    /// Records into the tracing log, and into `file` when given.
    pub(crate) fn new(file: Option<PathBuf>) -> Self {
        Self {
            file: file.map(|p| (p, Mutex::new(()))),
        }
    }

    /// Records one view on a blocking thread (the file is synced before the page is shown).
    pub(crate) async fn record_async(
        self: &std::sync::Arc<Self>,
        principal: &Principal,
        submission_id: &str,
        view: View,
    ) -> Result<(), NotRecorded> {
        let (log, principal, id) = (
            std::sync::Arc::clone(self),
            principal.clone(),
            submission_id.to_owned(),
        );
        tokio::task::spawn_blocking(move || log.record(&principal, &id, view))
            .await
            .map_err(|_| NotRecorded)?
    }

    /// Records one view.
    pub(crate) fn record(
        &self,
        principal: &Principal,
        submission_id: &str,
        view: View,
    ) -> Result<(), NotRecorded> {
        let at = Timestamp::now();
        let at_text = at.to_rfc3339().unwrap_or_default();
        tracing::info!(
            target: "poststelle::access",
            principal = %principal.0,
            submission_id,
            view = view.as_str(),
            "personal data viewed"
        );
        let Some((path, lock)) = &self.file else {
            return Ok(());
        };
        let line = serde_json::json!({
            "at": at_text,
            "principal": principal.0,
            "submissionId": submission_id,
            "view": view.as_str(),
        })
        .to_string();
        // One writer at a time, so lines never interleave.
        let _guard = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = (|| -> std::io::Result<()> {
            let mut f = crate::private_file::options()
                .create(true)
                .append(true)
                .open(path)?;
            f.write_all(format!("{line}\n").as_bytes())?;
            f.sync_data()
        })();
        written.map_err(|e| {
            tracing::error!(
                path = %path.display(),
                error = %e,
                "access log not writable: personal data not shown"
            );
            NotRecorded
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_appended_as_json_lines_without_data() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("access.log");
        let log = AccessLog::new(Some(path.clone()));
        let who = Principal("admin-token".into());
        log.record(&who, "s-1", View::Submission).expect("written");
        log.record(&who, "s-1", View::Document).expect("written");
        let text = std::fs::read_to_string(&path).expect("read");
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["principal"], "admin-token");
        assert_eq!(lines[0]["submissionId"], "s-1");
        assert_eq!(lines[1]["view"], "document");
        let keys: Vec<&String> = lines[0].as_object().expect("object").keys().collect();
        assert_eq!(keys, ["at", "principal", "submissionId", "view"]);
    }

    #[test]
    fn an_unwritable_log_refuses_the_view() {
        let dir = tempfile::tempdir().expect("tmp");
        let log = AccessLog::new(Some(dir.path().join("missing-dir").join("access.log")));
        assert!(
            log.record(&Principal("a".into()), "s", View::Submission)
                .is_err()
        );
    }
}
