//! Attachments on disk while a submission is processed (architecture.md §3, "memory per
//! submission bounded").
//!
//! The client streams each attachment JWE into an unnamed file in the spool directory
//! ([`Client::download_spooled`](crate::fitconnect::client::Client::download_spooled));
//! [`decrypt_spooled`] decrypts it into a second unnamed file while hashing the plaintext
//! (SHA-512 for the protocol, SHA-256 for the store's address), and the SQLite store links that
//! file into its blob directory (PostgreSQL reads it into its chunks). Unnamed files (`O_TMPFILE` where the file system has it) are
//! removed by the OS when the last handle closes — also after a crash — so nothing needs
//! sweeping and nothing is visible to other processes. The plaintext file counts only once
//! the GCM tag verified: on any error it is dropped unread.

use std::io::{self, Write};
use std::path::Path;

use zeroize::{Zeroize as _, Zeroizing};

use crate::config::JoseLimits;
use crate::fitconnect::hash::Sha512Writer;
use crate::jose::{JweSource, KeyRing, StreamError, decrypt_seekable_tagged};
use crate::store::AddressWriter;

use super::check::{DecryptedFile, SpooledAttachment};

/// Plaintext bytes buffered before a write to the spool file.
const WRITE_BUFFER: usize = 256 * 1024;

/// Writes at least this large go straight to the file (after what is buffered): the decrypt
/// loop hands over 192 KiB chunks, and copying them into the buffer only to wipe it again cost
/// a copy and a byte-wise wipe of every plaintext byte. Smaller writes (the inflater's, the
/// last chunk) are still gathered into large file writes.
const PASS_THROUGH: usize = 64 * 1024;

/// Makes sure the spool directory exists (and is private to this user).
///
/// # Errors
/// The directory cannot be created.
pub fn prepare_spool_dir(dir: &Path) -> io::Result<()> {
    crate::private_file::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Decrypts the attachment JWE in `jwe` into an unnamed file in `spool_dir`.
///
/// A refused JWE is a result ([`SpooledAttachment::decrypted`] is `Err`), not an error.
///
/// # Errors
/// Local I/O failed (reading the JWE file, creating or writing the plaintext file): the
/// submission cannot be judged now and must be processed again later.
pub fn decrypt_spooled(
    mut jwe: impl JweSource,
    spool_dir: &Path,
    keys: &KeyRing,
    limits: &JoseLimits,
) -> io::Result<SpooledAttachment> {
    let plain = tempfile::tempfile_in(spool_dir)?;
    // Both hashes in the one pass: the protocol's SHA-512 and the store's address (SHA-256),
    // so the store adopts the file without reading it again. The tag (part 5, compared with
    // the event log) and the decryption share one scan for the separators.
    let mut out = Sha512Writer::new(AddressWriter::new(PlaintextBuffer::new(&plain)));
    let (tag, decrypted) = decrypt_seekable_tagged(&mut jwe, &mut out, keys, limits)?;
    let decrypted = match decrypted {
        Ok(p) => {
            let (address, sha512) = out.finish()?;
            let (_, sha256) = address.finish()?;
            Ok(DecryptedFile {
                file: plain,
                len: p.len(),
                sha512,
                sha256,
            })
        }
        Err(StreamError::Jwe(e)) => Err(e),
        Err(StreamError::Read(e) | StreamError::Write(e)) => return Err(e),
    };
    Ok(SpooledAttachment { tag, decrypted })
}

/// A write buffer for decrypted bytes (`BufWriter` would leave them in freed memory): the
/// part written out is wiped after every flush, and the whole buffer on drop. Bytes still
/// buffered at drop are discarded, not written — every caller flushes (`Sha512Writer::finish`)
/// and drops the file on any error anyway.
struct PlaintextBuffer<W: Write> {
    inner: W,
    buf: Zeroizing<Vec<u8>>,
    len: usize,
}

impl<W: Write> PlaintextBuffer<W> {
    fn new(inner: W) -> Self {
        Self {
            inner,
            // Allocated by the first small write: when every write passes through, nothing is
            // allocated or wiped.
            buf: Zeroizing::new(Vec::new()),
            len: 0,
        }
    }

    fn flush_buf(&mut self) -> io::Result<()> {
        let written = self.inner.write_all(&self.buf[..self.len]);
        self.buf[..self.len].zeroize();
        self.len = 0;
        written
    }
}

impl<W: Write> Write for PlaintextBuffer<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.len + data.len() > self.buf.len() {
            self.flush_buf()?;
        }
        if data.len() >= PASS_THROUGH {
            // Large enough for a file write of its own: straight through, nothing copied.
            if self.len > 0 {
                self.flush_buf()?;
            }
            self.inner.write_all(data)?;
        } else {
            if self.buf.is_empty() {
                // From empty (no bytes to leave behind in a reallocation).
                self.buf.resize(WRITE_BUFFER, 0);
            }
            self.buf[self.len..self.len + data.len()].copy_from_slice(data);
            self.len += data.len();
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_buf()?;
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read as _, Seek as _, Write as _};

    use super::*;
    use crate::fitconnect::hash::sha512_hex;
    use crate::jose::{JweError, jwe};

    fn spooled(text: &[u8]) -> std::fs::File {
        let mut f = tempfile::tempfile().expect("tempfile");
        f.write_all(text).expect("write");
        f
    }

    #[test]
    fn plaintext_lands_in_a_file_with_its_hash_and_tag() {
        let (keys, public, kid) = crate::jose::test_keys::encryption();
        let plain: Vec<u8> = (0..1_000_000u32).map(|i| (i % 253) as u8).collect();
        let token = jwe::encrypt(&plain, public, kid, None).expect("encrypt");
        let dir = tempfile::tempdir().expect("dir");
        let s = decrypt_spooled(
            spooled(token.as_bytes()),
            dir.path(),
            keys,
            &JoseLimits::default(),
        )
        .expect("local I/O");
        assert_eq!(s.tag.as_deref(), token.rsplit('.').next());
        let d = s.decrypted.expect("decrypts");
        assert_eq!(d.len, plain.len() as u64);
        assert_eq!(d.sha512, sha512_hex(&plain));
        let mut f = d.file;
        f.rewind().expect("rewind");
        let mut back = Vec::new();
        f.read_to_end(&mut back).expect("read");
        assert_eq!(back, plain);
        // Unnamed: nothing is left in the spool directory.
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0);

        // A tampered tag is a refused JWE, not a local error.
        let mut bad = token.into_bytes();
        let at = bad.len() - 3;
        bad[at] = if bad[at] == b'A' { b'B' } else { b'A' };
        let s = decrypt_spooled(spooled(&bad), dir.path(), keys, &JoseLimits::default())
            .expect("local I/O");
        assert!(matches!(s.decrypted, Err(JweError::Decrypt(_))));
    }

    #[test]
    fn spool_plaintext_buffer_is_wiped_after_each_flush() {
        let mut out = Vec::new();
        let mut w = PlaintextBuffer::new(&mut out);
        w.write_all(b"Fachdaten: Max Mustermann").expect("write");
        assert!(w.buf.iter().any(|&b| b != 0), "buffered until flushed");
        w.flush().expect("flush");
        assert!(
            w.buf.iter().all(|&b| b == 0),
            "buffer wiped after the flush"
        );
        // A write of a decrypted chunk's size goes straight through, after what was buffered,
        // and leaves nothing behind in the buffer.
        let big = vec![0xA5u8; PASS_THROUGH];
        w.write_all(b"x").expect("write");
        w.write_all(&big).expect("write");
        assert!(w.buf.iter().all(|&b| b == 0));
        w.write_all(b"y").expect("write");
        w.flush().expect("flush");
        drop(w);
        let mut expected = b"Fachdaten: Max Mustermannx".to_vec();
        expected.extend_from_slice(&big);
        expected.push(b'y');
        assert_eq!(out, expected);
    }

    #[test]
    fn spool_writes_of_chunk_size_allocate_no_buffer() {
        // The decrypted chunks of an attachment (192 KiB) pass straight through: nothing is
        // copied into the buffer, so there is nothing to allocate or wipe.
        let mut out = Vec::new();
        let mut w = PlaintextBuffer::new(&mut out);
        let chunk = vec![0x5Au8; 192 * 1024];
        for _ in 0..3 {
            w.write_all(&chunk).expect("write");
            w.write_all(&chunk[..PASS_THROUGH]).expect("write");
        }
        w.flush().expect("flush");
        assert_eq!(w.buf.capacity(), 0, "no write buffer allocated");
        drop(w);
        assert_eq!(out.len(), 3 * (chunk.len() + PASS_THROUGH));
        assert!(out.iter().all(|&b| b == 0x5A));
    }

    #[test]
    fn a_missing_spool_dir_is_a_local_error() {
        let keys = KeyRing::default();
        let r = decrypt_spooled(
            spooled(b"a.b.c.d.e"),
            Path::new("/nonexistent/poststelle-spool"),
            &keys,
            &JoseLimits::default(),
        );
        assert!(r.is_err());
    }
}
