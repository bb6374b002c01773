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

    /// Takes an unnamed file (`O_TMPFILE`) whose SHA-256 the caller computed while writing it
    /// ([`AddressWriter`]) into the directory without copying it: synced, then linked under its
    /// address and the directory synced. Content already present under that address (complete:
    /// a name appears only after its file was synced) is not written again. Where linking is
    /// not possible (another file system, no `/proc`, a named temporary file) the content is
    /// copied as [`BlobDir::write`] does, and hashed again on the way.
    pub(crate) fn adopt(
        &self,
        mut file: File,
        len: u64,
        sha256: &str,
    ) -> Result<WrittenBlob, StoreError> {
        let dest = self.path(sha256);
        if dest.is_file() {
            return Ok(WrittenBlob {
                sha256: sha256.to_owned(),
                size: len,
            });
        }
        let dir = dest.parent().expect("blob paths have a fan-out directory");
        let new_dir = !dir.exists();
        crate::private_file::create_dir_all(dir).map_err(|e| StoreError::io(dir.display(), e))?;
        file.sync_all()
            .map_err(|e| StoreError::io("<spool file>", e))?;
        match link_unnamed(&file, &dest) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(_) => {
                use std::io::Seek as _;
                file.rewind()
                    .map_err(|e| StoreError::io("<spool file>", e))?;
                return self.write(file);
            }
        }
        sync_dir(dir)?;
        if new_dir {
            sync_dir(&self.root)?;
        }
        Ok(WrittenBlob {
            sha256: sha256.to_owned(),
            size: len,
        })
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

/// Gives an unnamed (`O_TMPFILE`) file the name `dest` (`linkat` through `/proc/self/fd`).
fn link_unnamed(file: &File, dest: &Path) -> io::Result<()> {
    use std::os::fd::AsRawFd as _;
    let source = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(
        rustix::fs::CWD,
        source.as_str(),
        rustix::fs::CWD,
        dest,
        rustix::fs::AtFlags::SYMLINK_FOLLOW,
    )
    .map_err(io::Error::from)
}

/// A writer that computes the store's content address (SHA-256) of everything written through
/// it, so a spool file can be adopted (`BlobDir::adopt`) without being read again.
pub struct AddressWriter<W> {
    inner: W,
    ctx: digest::Context,
}

impl<W: Write> AddressWriter<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            ctx: digest::Context::new(&digest::SHA256),
        }
    }

    /// The inner writer (flushed) and the lowercase hex SHA-256 of what was written.
    ///
    /// # Errors
    /// Flushing the inner writer failed.
    pub fn finish(mut self) -> io::Result<(W, String)> {
        self.inner.flush()?;
        Ok((self.inner, hex(self.ctx.finish().as_ref())))
    }
}

impl<W: Write> Write for AddressWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
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

    /// Writes `bytes` through an [`AddressWriter`] into `file`: (file, its SHA-256).
    fn addressed(mut file: File, bytes: &[u8]) -> (File, String) {
        let mut w = AddressWriter::new(&mut file);
        w.write_all(bytes).expect("write");
        let (_, sha256) = w.finish().expect("finish");
        (file, sha256)
    }

    #[test]
    fn an_unnamed_spool_file_is_linked_not_copied() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobDir::open(dir.path().join("blobs")).expect("open");
        let spool = tempfile::tempfile_in(dir.path()).expect("unnamed file");
        let (spool, sha256) = addressed(spool, b"hello");
        assert_eq!(
            sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let inode = spool.metadata().expect("stat").ino();
        let written = blobs.adopt(spool, 5, &sha256).expect("adopt");
        assert_eq!(
            (written.sha256.as_str(), written.size),
            (sha256.as_str(), 5)
        );
        let dest = blobs.path(&sha256);
        assert_eq!(fs::read(&dest).expect("read"), b"hello");
        assert_eq!(
            fs::metadata(&dest).expect("stat").ino(),
            inode,
            "the spool file itself got the name (no copy)"
        );
        // The same content again: already there, nothing written.
        let again = tempfile::tempfile_in(dir.path()).expect("unnamed file");
        let (again, _) = addressed(again, b"hello");
        blobs.adopt(again, 5, &sha256).expect("adopt again");
        assert_eq!(fs::metadata(&dest).expect("stat").ino(), inode);
        assert_eq!(blobs.sweep_tmp().expect("sweep"), 0);
    }

    #[test]
    fn a_file_that_cannot_be_linked_is_copied() {
        // A named file removed after opening: nothing to link (not O_TMPFILE).
        let dir = tempfile::tempdir().expect("tempdir");
        let blobs = BlobDir::open(dir.path().join("blobs")).expect("open");
        let path = dir.path().join("gone");
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .expect("create");
        let (file, sha256) = addressed(file, b"copied");
        fs::remove_file(&path).expect("unlink");
        let written = blobs.adopt(file, 6, &sha256).expect("adopt by copy");
        assert_eq!(written.sha256, sha256, "hashed again on the copy: the same");
        assert_eq!(fs::read(blobs.path(&sha256)).expect("read"), b"copied");
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
