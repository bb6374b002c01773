//! Delivery to a drop directory: assemble under `.tmp/`, fsync, rename into place, fsync the
//! directory. The final directory's existence is the proof of delivery, so a second delivery
//! of the same submission (after a crash before the job was marked delivered, or by a second
//! worker after a lease expiry) finds it and writes nothing.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::store::{Store, StoreError};

use super::upstream::DeliveryFailure;
use super::{attachments_of, safe_component};

/// Leftovers in `.tmp/` older than this are from crashed attempts and are removed on start.
const STALE_TMP: Duration = Duration::from_secs(3600);

fn io_failure(_e: &io::Error) -> DeliveryFailure {
    // Disk full, permissions, a missing mount: an operator can fix these, so retry.
    DeliveryFailure::transient("io")
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

/// A drop directory.
#[derive(Debug, Clone)]
pub(crate) struct DropTarget {
    dir: PathBuf,
}

impl DropTarget {
    /// Creates the directory and its `.tmp/`, and sweeps stale leftovers.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        let tmp = dir.join(".tmp");
        crate::private_file::create_dir_all(&tmp)?;
        let now = SystemTime::now();
        for entry in fs::read_dir(&tmp)?.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE_TMP);
            if old {
                // Best effort: a leftover that cannot be removed only wastes space.
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        Ok(Self {
            dir: dir.to_path_buf(),
        })
    }

    /// Delivers one submission: the envelope and its attachments, exported from the store by
    /// streaming.
    pub(crate) async fn deliver<S: Store>(
        &self,
        store: &S,
        submission_id: &str,
        envelope: &str,
    ) -> Result<(), DeliveryFailure> {
        if !safe_component(submission_id) {
            return Err(DeliveryFailure::permanent("unsafe-submission-id"));
        }
        let final_dir = self.dir.join(submission_id);
        if final_dir.exists() {
            return Ok(());
        }
        let attachments = attachments_of(store, submission_id).await?;
        if attachments
            .iter()
            .any(|a| !safe_component(&a.attachment_id))
        {
            return Err(DeliveryFailure::permanent("unsafe-attachment-id"));
        }
        let tmp = self
            .dir
            .join(".tmp")
            .join(format!("{submission_id}.{}", uuid::Uuid::new_v4().simple()));
        let result = self
            .assemble(store, submission_id, envelope, &attachments, &tmp)
            .await;
        if result.is_err() {
            let tmp = tmp.clone();
            let _ = tokio::task::spawn_blocking(move || fs::remove_dir_all(tmp)).await;
        }
        result
    }

    async fn assemble<S: Store>(
        &self,
        store: &S,
        submission_id: &str,
        envelope: &str,
        attachments: &[crate::store::AttachmentMeta],
        tmp: &Path,
    ) -> Result<(), DeliveryFailure> {
        let att_dir = tmp.join("attachments");
        {
            let att_dir = att_dir.clone();
            let envelope_path = tmp.join("envelope.json");
            let envelope = envelope.to_owned();
            blocking(move || {
                crate::private_file::create_dir_all(&att_dir)?;
                let mut f = crate::private_file::create(&envelope_path)?;
                f.write_all(envelope.as_bytes())?;
                f.sync_all()
            })
            .await?;
        }
        for a in attachments {
            let dest = att_dir.join(&a.attachment_id);
            match store
                .export_attachment(submission_id, &a.attachment_id, &dest)
                .await
            {
                Ok(_) => {}
                Err(StoreError::Io { .. }) => return Err(DeliveryFailure::transient("io")),
                Err(_) => return Err(DeliveryFailure::transient("store")),
            }
        }
        let tmp = tmp.to_path_buf();
        let final_dir = self.dir.join(submission_id);
        let dir = self.dir.clone();
        blocking(move || {
            // Every export is fsynced by the store (both backends); the directory entries
            // must be durable too before the rename makes them visible.
            sync_dir(&tmp.join("attachments"))?;
            sync_dir(&tmp)?;
            match fs::rename(&tmp, &final_dir) {
                Ok(()) => {}
                // Another worker (after a lease expiry) finished first: its copy is complete.
                Err(_) if final_dir.is_dir() => {
                    fs::remove_dir_all(&tmp)?;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            sync_dir(&dir)?;
            sync_dir(&dir.join(".tmp"))
        })
        .await
    }
}

async fn blocking(
    f: impl FnOnce() -> io::Result<()> + Send + 'static,
) -> Result<(), DeliveryFailure> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io_failure(&e)),
        Err(_) => Err(DeliveryFailure::transient("task")),
    }
}
