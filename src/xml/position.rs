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
///
/// Consumed bytes are handed back to the inner reader, and counted, only when the tokenizer
/// asks for a position ([`Counting::mark`], [`Counting::here`]) or has used up the inner buffer:
/// quick-xml consumes a few bytes at a time (often one), and counting each piece separately
/// cost a tenth of the validation time.
pub(crate) struct Counting<R> {
    inner: R,
    /// Bytes at the front of the inner buffer that the tokenizer consumed but that are not yet
    /// counted nor consumed from `inner`.
    held: usize,
    /// Bytes consumed by the tokenizer (including `held`).
    offset: u64,
    /// Line of the first held byte.
    line: u64,
    /// Characters between the last line feed and the first held byte.
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
            held: 0,
            offset: 0,
            line: 1,
            col: 0,
            construct_start: 0,
            max_input,
            max_construct,
        }
    }

    /// Counts the held bytes and consumes them from the inner reader.
    fn sync(&mut self) {
        if self.held == 0 {
            return;
        }
        // `fill_buf` on a buffer that still holds the held bytes does no I/O and cannot fail
        // for the readers we wrap; if it ever did, positions would be off but reading stays
        // correct.
        if let Ok(buf) = self.inner.fill_buf() {
            let chunk = &buf[..self.held.min(buf.len())];
            (self.line, self.col) = advance(chunk, self.line, self.col);
        }
        self.inner.consume(self.held);
        self.held = 0;
    }

    /// Position of the next byte to be consumed.
    pub(crate) fn here(&mut self) -> Pos {
        self.sync();
        Pos {
            line: self.line,
            column: self.col + 1,
        }
    }

    /// Marks the start of a new construct (for the per-construct limit) and returns its
    /// position.
    pub(crate) fn mark(&mut self) -> Pos {
        self.construct_start = self.offset;
        self.here()
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }
}

/// Line and column after `chunk`, starting from (`line`, `col`). Columns count characters:
/// every byte that is not a UTF-8 continuation byte (`10xxxxxx`). Eight bytes at a time
/// (SWAR): the chunks between two events are short, too short for vector loops to pay off.
fn advance(chunk: &[u8], mut line: u64, mut col: u64) -> (u64, u64) {
    const LO7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = 0x0A0A_0A0A_0A0A_0A0A;
    let mut words = chunk.chunks_exact(8);
    for w in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        let x = u64::from_le_bytes(bytes);
        // High bit of each continuation byte: bit 7 set, bit 6 clear.
        let cont = x & !(x << 1) & HI;
        // High bit of each line feed: the bytes of `y` that are exactly zero.
        let y = x ^ NEWLINES;
        let nonzero = (((y & LO7) + LO7) | y) & HI;
        let nl = !nonzero & HI;
        if nl == 0 {
            col += 8 - u64::from(cont.count_ones());
        } else {
            line += u64::from(nl.count_ones());
            // Byte index of the last line feed (little-endian: higher bytes come later).
            let last = (63 - nl.leading_zeros()) / 8;
            let after = if last == 7 { 0 } else { HI << (8 * (last + 1)) };
            col = u64::from(7 - last) - u64::from((cont & after).count_ones());
        }
    }
    for &b in words.remainder() {
        if b == b'\n' {
            line += 1;
            col = 0;
        } else {
            col += u64::from(b & 0xC0 != 0x80);
        }
    }
    (line, col)
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
        if self.held > 0 && self.held >= self.inner.fill_buf()?.len() {
            // The inner buffer is used up: count it and let the inner reader refill.
            self.sync();
        }
        let held = self.held;
        Ok(&self.inner.fill_buf()?[held..])
    }

    fn consume(&mut self, amt: usize) {
        self.held += amt;
        self.offset += amt as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_lines_and_character_columns() {
        let mut c = Counting::new(&b"ab\ncd\xc3\xa4e\n\nf"[..], 100, 100);
        c.consume(2);
        assert_eq!(c.here(), Pos { line: 1, column: 3 });
        c.consume(1);
        assert_eq!(c.here(), Pos { line: 2, column: 1 });
        c.consume(5);
        assert_eq!(c.here(), Pos { line: 2, column: 5 });
        assert_eq!(c.offset(), 8);
        c.consume(1);
        c.consume(1);
        c.consume(1);
        assert_eq!(c.here(), Pos { line: 4, column: 2 });
    }

    /// The word-at-a-time scan against the byte-at-a-time definition.
    #[test]
    fn advance_matches_the_bytewise_definition() {
        fn naive(chunk: &[u8], mut line: u64, mut col: u64) -> (u64, u64) {
            for &b in chunk {
                if b == b'\n' {
                    line += 1;
                    col = 0;
                } else if b & 0xC0 != 0x80 {
                    col += 1;
                }
            }
            (line, col)
        }
        let alphabet: &[u8] = &[
            b'a',
            b'\n',
            0x0B,
            0x8A,
            0xC3,
            0xA4,
            0x7F,
            0xFF,
            0x0A ^ 0x80,
            0x4A,
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        for len in 0..40 {
            for _ in 0..200 {
                let chunk: Vec<u8> = (0..len)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        alphabet[(seed % alphabet.len() as u64) as usize]
                    })
                    .collect();
                assert_eq!(advance(&chunk, 3, 5), naive(&chunk, 3, 5), "{chunk:?}");
            }
        }
    }

    #[test]
    fn stops_at_the_input_limit() {
        let mut c = Counting::new(&b"0123456789"[..], 4, 100);
        c.consume(5);
        assert!(c.fill_buf().is_err());
    }
}
