//! Content-addressed blob directory of the SQLite backend.
//!
//! A blob is streamed into `tmp/<random>` while its SHA-256 is computed, fsynced, renamed to
//! `<aa>/<sha256>` and the directory fsynced. Only then does the database commit that
//! references it, so a committed row never points at a missing or partial file. A crash between
//! rename and commit leaves an unreferenced file, which is harmless (the retry writes the same
//! name) and removable by [`BlobDir::sweep_tmp`]; files are never overwritten in place.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use aws_lc_rs::digest;

use super::StoreError;

/// Bytes read per step while streaming a blob.
const CHUNK: usize = 256 * 1024;

/// A directory of immutable, content-addressed blobs.
#[derive(Debug, Clone)]
pub(crate) struct BlobDir {
    root: PathBuf,
}

/// A blob written durably.
pub(crate) struct WrittenBlob {
    pub(crate) sha256: String,
    pub(crate) size: u64,
}

impl BlobDir {
    pub(crate) fn open(root: PathBuf) -> Result<Self, StoreError> {
        crate::private_file::create_dir_all(&root.join("tmp"))
            .map_err(|e| StoreError::io(root.display(), e))?;
        Ok(Self { root })
    }

    /// The directory as it is, nothing created: for a store opened without migrating, which
    /// reads blobs at most (a write fails where the directory is missing).
    pub(crate) fn existing(root: PathBuf) -> Self {
        Self { root }
    }

    /// The path of the blob with this hash.
    pub(crate) fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Streams `reader` into the directory and returns its address once it is durable.
    pub(crate) fn write(&self, mut reader: impl Read) -> Result<WrittenBlob, StoreError> {
        let tmp = self.root.join("tmp").join(random_name());
        let result = self.write_at(&tmp, &mut reader);
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    fn write_at(&self, tmp: &Path, reader: &mut dyn Read) -> Result<WrittenBlob, StoreError> {
        let io_err = |e| StoreError::io(tmp.display(), e);
        let mut file = crate::private_file::create(tmp).map_err(io_err)?;
        let mut ctx = digest::Context::new(&digest::SHA256);
        let mut buf = vec![0u8; CHUNK];
        let mut size = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(StoreError::io("<attachment>", e)),
            };
            ctx.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(io_err)?;
            size += n as u64;
        }
        file.sync_all().map_err(io_err)?;
        drop(file);
        let sha256 = hex(ctx.finish().as_ref());
        let dest = self.path(&sha256);
        let dir = dest.parent().expect("blob paths have a fan-out directory");
        let new_dir = !dir.exists();
        crate::private_file::create_dir_all(dir).map_err(|e| StoreError::io(dir.display(), e))?;
        fs::rename(tmp, &dest).map_err(|e| StoreError::io(dest.display(), e))?;
        sync_dir(dir)?;
        if new_dir {
            // The new fan-out directory's own entry must be durable too.
            sync_dir(&self.root)?;
        }
        Ok(WrittenBlob { sha256, size })
    }

    /// Removes temporary files a crash left behind; returns how many were removed.
    pub(crate) fn sweep_tmp(&self) -> Result<usize, StoreError> {
        let tmp = self.root.join("tmp");
        let mut n = 0;
        for entry in fs::read_dir(&tmp).map_err(|e| StoreError::io(tmp.display(), e))? {
            let entry = entry.map_err(|e| StoreError::io(tmp.display(), e))?;
            if fs::remove_file(entry.path()).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| StoreError::io(dir.display(), e))
}

fn random_name() -> String {
    // Uniqueness only matters among concurrent writers of this process and crash leftovers.
    let r = getrandom::u64().unwrap_or_else(|_| u64::from(std::process::id()));
    format!("{r:016x}.part")
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_content_same_address_and_no_leftovers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobDir::open(dir.path().join("blobs")).expect("open");
        let a = blobs.write(&b"hello"[..]).expect("write");
        let b = blobs.write(&b"hello"[..]).expect("write");
        assert_eq!(a.sha256, b.sha256);
        assert_eq!(
            a.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(fs::read(blobs.path(&a.sha256)).expect("read"), b"hello");
        assert_eq!(blobs.sweep_tmp().expect("sweep"), 0);
    }

    #[test]
    fn failing_reader_leaves_nothing() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("boom"))
            }
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobDir::open(dir.path().join("blobs")).expect("open");
        assert!(blobs.write(Broken).is_err());
        assert_eq!(blobs.sweep_tmp().expect("sweep"), 0);
    }
}
