//! A `BufRead` adapter that counts lines and columns of everything the tokenizer consumes, and
//! enforces the input-size and per-construct limits *while* bytes are read, so that no single
//! construct can make the tokenizer buffer more than the limits allow.

use std::io::{self, BufRead, Read};

use super::error::{Limit, Pos};

/// Marker carried inside an `io::Error` when a limit stops reading.
#[derive(Debug)]
pub(crate) struct LimitHit(pub(crate) Limit, pub(crate) u64);

impl std::fmt::Display for LimitHit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "limit {} exceeded", self.0.field())
    }
}

impl std::error::Error for LimitHit {}

/// Counts positions of consumed bytes; see the module docs.
pub(crate) struct Counting<R> {
    inner: R,
    offset: u64,
    line: u64,
    /// Characters since the last line feed.
    col: u64,
    /// Offset at which the construct being read started.
    construct_start: u64,
    max_input: u64,
    max_construct: u64,
}

impl<R: BufRead> Counting<R> {
    pub(crate) fn new(inner: R, max_input: u64, max_construct: u64) -> Self {
        Self {
            inner,
            offset: 0,
            line: 1,
            col: 0,
            construct_start: 0,
            max_input,
            max_construct,
        }
    }

    /// Position of the next byte to be consumed.
    pub(crate) fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.col + 1,
        }
    }

    /// Marks the start of a new construct (for the per-construct limit).
    pub(crate) fn start_construct(&mut self) {
        self.construct_start = self.offset;
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    fn advance(&mut self, scan: Scan) {
        if let Some(after_last) = scan.chars_after_last_newline {
            self.col = after_last;
        } else {
            self.col += scan.chars;
        }
        self.line += scan.newlines;
        self.offset += scan.bytes;
    }
}

/// Line/column effect of a run of bytes.
struct Scan {
    bytes: u64,
    newlines: u64,
    /// Characters in the run (used when it has no line feed).
    chars: u64,
    /// Characters after the last line feed, if there is one.
    chars_after_last_newline: Option<u64>,
}

fn scan(chunk: &[u8]) -> Scan {
    // Columns count characters: every byte that is not a UTF-8 continuation byte.
    let chars = |b: &[u8]| b.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
    match memchr::memrchr(b'\n', chunk) {
        Some(i) => Scan {
            bytes: chunk.len() as u64,
            newlines: memchr::memchr_iter(b'\n', chunk).count() as u64,
            chars: 0,
            chars_after_last_newline: Some(chars(&chunk[i + 1..])),
        },
        None => Scan {
            bytes: chunk.len() as u64,
            newlines: 0,
            chars: chars(chunk),
            chars_after_last_newline: None,
        },
    }
}

impl<R: BufRead> Read for Counting<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.offset > self.max_input {
            return Err(io::Error::other(LimitHit(
                Limit::InputBytes,
                self.max_input,
            )));
        }
        if self.offset - self.construct_start > self.max_construct {
            return Err(io::Error::other(LimitHit(
                Limit::TextBytes,
                self.max_construct,
            )));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        // `fill_buf` on an already filled buffer does no I/O and cannot fail for the readers
        // we wrap; if it ever did, positions would be off but reading stays correct.
        if let Ok(buf) = self.inner.fill_buf() {
            let result = scan(&buf[..amt.min(buf.len())]);
            self.advance(result);
        }
        self.inner.consume(amt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_character_columns() {
        let mut c = Counting::new(&b"ab\ncd\xc3\xa4e"[..], 100, 100);
        c.consume(2);
        assert_eq!(c.pos(), Pos { line: 1, column: 3 });
        c.consume(1);
        assert_eq!(c.pos(), Pos { line: 2, column: 1 });
        c.consume(5);
        assert_eq!(c.pos(), Pos { line: 2, column: 5 });
        assert_eq!(c.offset(), 8);
    }

    #[test]
    fn stops_at_the_input_limit() {
        let mut c = Counting::new(&b"0123456789"[..], 4, 100);
        c.consume(5);
        assert!(c.fill_buf().is_err());
    }
}
