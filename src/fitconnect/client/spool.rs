//! Where a downloaded attachment JWE is held until it is decrypted: in memory while the
//! submission's downloads together stay within [`SPOOL_MEMORY_BYTES`], beyond that in an
//! unnamed file in the spool directory (removed by the OS when dropped, also after a crash).
//! Most submissions (a form and a few scanned documents) then cost no file and no write for
//! their JWEs; a large one still never sits whole in memory.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use tokio::io::AsyncWriteExt as _;

/// The JWE bytes of one submission's attachments held in memory during the download, at
/// most; the rest goes to spool files. Per submission in progress, so bounded by the
/// pipeline's concurrency too.
pub const SPOOL_MEMORY_BYTES: usize = 8 * 1024 * 1024;

/// A downloaded attachment JWE, read from its start.
#[derive(Debug)]
pub enum SpooledJwe {
    /// Held in memory.
    Memory(io::Cursor<Vec<u8>>),
    /// In an unnamed spool file.
    File(std::fs::File),
}

impl SpooledJwe {
    /// The bytes held in memory (0 for a file).
    #[must_use]
    pub fn memory_len(&self) -> usize {
        match self {
            Self::Memory(c) => c.get_ref().len(),
            Self::File(_) => 0,
        }
    }
}

impl SpooledJwe {
    /// Whether it is empty.
    ///
    /// # Errors
    /// The file's metadata cannot be read.
    pub fn is_empty(&self) -> io::Result<bool> {
        self.len().map(|n| n == 0)
    }

    /// Its length in bytes.
    ///
    /// # Errors
    /// The file's metadata cannot be read.
    pub fn len(&self) -> io::Result<u64> {
        match self {
            Self::Memory(c) => Ok(c.get_ref().len() as u64),
            Self::File(f) => f.metadata().map(|m| m.len()),
        }
    }
}

impl crate::jose::JweSource for SpooledJwe {
    /// A JWE held in memory is decrypted in place (no copy through a read buffer).
    fn in_memory(&self) -> Option<&[u8]> {
        match self {
            Self::Memory(c) => Some(c.get_ref()),
            Self::File(_) => None,
        }
    }
}

impl From<std::fs::File> for SpooledJwe {
    fn from(file: std::fs::File) -> Self {
        Self::File(file)
    }
}

impl Read for SpooledJwe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Memory(c) => c.read(buf),
            Self::File(f) => f.read(buf),
        }
    }
}

impl Seek for SpooledJwe {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Self::Memory(c) => c.seek(pos),
            Self::File(f) => f.seek(pos),
        }
    }
}

/// Receives one response body: into memory up to `memory` bytes, then (everything so far and
/// the rest) into an unnamed file in `dir`.
#[derive(Debug)]
pub(super) struct SpoolSink {
    dir: PathBuf,
    memory: usize,
    buf: Vec<u8>,
    file: Option<tokio::fs::File>,
}

impl SpoolSink {
    pub(super) fn new(dir: &Path, memory: usize) -> Self {
        Self {
            dir: dir.to_owned(),
            memory,
            buf: Vec::new(),
            file: None,
        }
    }

    /// Empties the sink (a retry starts clean).
    pub(super) async fn reset(&mut self) -> io::Result<()> {
        self.buf.clear();
        if let Some(f) = &mut self.file {
            f.set_len(0).await?;
            tokio::io::AsyncSeekExt::seek(f, SeekFrom::Start(0)).await?;
        }
        Ok(())
    }

    /// Makes room in memory for a body of `len` bytes (its announced `Content-Length`) when
    /// it will stay there: the bytes are then copied once, not again on every growth.
    pub(super) fn expect_len(&mut self, len: u64) {
        let fits = usize::try_from(len).is_ok_and(|n| n <= self.memory);
        if self.file.is_none() && fits {
            let n = usize::try_from(len).unwrap_or(0);
            self.buf.reserve_exact(n.saturating_sub(self.buf.len()));
        }
    }

    pub(super) async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        if self.file.is_none() && self.buf.len() + chunk.len() <= self.memory {
            self.buf.extend_from_slice(chunk);
            return Ok(());
        }
        if self.file.is_none() {
            let dir = self.dir.clone();
            let std_file = tokio::task::spawn_blocking(move || tempfile::tempfile_in(dir))
                .await
                .map_err(io::Error::other)??;
            let mut file = tokio::fs::File::from_std(std_file);
            file.write_all(&self.buf).await?;
            self.buf = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(f) => f.write_all(chunk).await,
            None => Ok(()),
        }
    }

    /// The received bytes, from their start.
    pub(super) async fn finish(self) -> io::Result<SpooledJwe> {
        match self.file {
            None => Ok(SpooledJwe::Memory(io::Cursor::new(self.buf))),
            Some(mut f) => {
                f.flush().await?;
                let mut file = f.into_std().await;
                file.seek(SeekFrom::Start(0))?;
                Ok(SpooledJwe::File(file))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn received(memory: usize, chunks: &[&[u8]]) -> SpooledJwe {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut sink = SpoolSink::new(dir.path(), memory);
        // A failed first attempt, then the whole body again.
        sink.write(b"partial").await.expect("write");
        sink.reset().await.expect("reset");
        for c in chunks {
            sink.write(c).await.expect("write");
        }
        sink.finish().await.expect("finish")
    }

    #[tokio::test]
    async fn small_bodies_stay_in_memory_and_large_ones_spill_whole_to_a_file() {
        let mut small = received(10, &[b"abc", b"defgh"]).await;
        assert!(matches!(small, SpooledJwe::Memory(_)));
        assert_eq!(small.memory_len(), 8);
        let mut s = String::new();
        small.read_to_string(&mut s).expect("read");
        assert_eq!(s, "abcdefgh");

        let mut large = received(10, &[b"abcdef", b"ghijkl", b"mn"]).await;
        assert!(matches!(large, SpooledJwe::File(_)));
        assert_eq!(large.memory_len(), 0);
        let mut s = String::new();
        large.read_to_string(&mut s).expect("read");
        assert_eq!(
            s, "abcdefghijklmn",
            "what was in memory went to the file first"
        );
        large.seek(SeekFrom::Start(12)).expect("seek");
        let mut tail = String::new();
        large.read_to_string(&mut tail).expect("read");
        assert_eq!(tail, "mn");
    }

    #[tokio::test]
    async fn an_announced_length_is_reserved_only_when_it_stays_in_memory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut sink = SpoolSink::new(dir.path(), 1000);
        sink.expect_len(1_000_000);
        assert_eq!(
            sink.buf.capacity(),
            0,
            "beyond the memory share: no room made"
        );
        sink.expect_len(600);
        assert!(sink.buf.capacity() >= 600);
        let before = sink.buf.as_ptr();
        sink.write(&[1; 300]).await.expect("write");
        sink.write(&[2; 300]).await.expect("write");
        assert_eq!(sink.buf.as_ptr(), before, "no reallocation while receiving");
        let got = sink.finish().await.expect("finish");
        assert_eq!(got.memory_len(), 600);
    }
}
