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

/// Bytes read from the inner reader at a time (as much as `validate`'s `BufReader` holds, so
/// that its reads go straight into this buffer).
const BUFFER: usize = 64 * 1024;

/// Counts positions of consumed bytes; see the module docs.
///
/// The bytes are read into a buffer of its own. When the buffer is filled, one pass notes where
/// its line feeds and UTF-8 continuation bytes are (the marks; a few per line in
/// indented XML, none inside runs of ASCII); a position is then the last position moved on
/// past the marks in between, whatever the distance. quick-xml consumes a few bytes at a time
/// and the validator asks for the position of every event: counting the bytes between two
/// events one by one cost a tenth of the validation time, and a word at a time still 8 %.
pub(crate) struct Counting<R> {
    inner: R,
    /// Empty until the first read, then sized by what the inner reader first offers (a
    /// document in memory: its length), from 8 KiB to [`BUFFER`] bytes.
    buf: Vec<u8>,
    /// The largest size of `buf`.
    size: usize,
    /// The tokenizer's next byte in `buf`.
    pos: usize,
    /// End of the bytes read into `buf`.
    end: usize,
    /// Indices in `buf[..end]` of line feeds and continuation bytes, ascending.
    marks: Vec<u32>,
    /// The first entry of `marks` at or after `at`.
    next_mark: usize,
    /// Index in `buf` up to which `line` and `col` count.
    at: usize,
    /// Line of the byte at `at`.
    line: u64,
    /// Characters between the last line feed and `at`.
    col: u64,
    /// Bytes consumed by the tokenizer.
    offset: u64,
    /// Offset at which the construct being read started.
    construct_start: u64,
    /// The offset past which a limit is exceeded: the lesser of `max_input` and
    /// `construct_start + max_construct` (one comparison per `fill_buf`).
    limit_at: u64,
    max_input: u64,
    max_construct: u64,
}

impl<R: BufRead> Counting<R> {
    pub(crate) fn new(inner: R, max_input: u64, max_construct: u64) -> Self {
        Self::with_buffer(inner, max_input, max_construct, BUFFER)
    }

    fn with_buffer(inner: R, max_input: u64, max_construct: u64, size: usize) -> Self {
        Self {
            inner,
            buf: Vec::new(),
            size,
            pos: 0,
            end: 0,
            marks: Vec::new(),
            next_mark: 0,
            at: 0,
            line: 1,
            col: 0,
            offset: 0,
            construct_start: 0,
            limit_at: max_input.min(max_construct),
            max_input,
            max_construct,
        }
    }

    /// Moves `line` and `col` on to `pos`.
    fn count(&mut self) {
        let (mut line, mut col, mut from) = (self.line, self.col, self.at);
        let until = self.pos;
        while let Some(&m) = self.marks.get(self.next_mark) {
            let m = m as usize;
            if m >= until {
                break;
            }
            if self.buf[m] == b'\n' {
                line += 1;
                col = 0;
            } else {
                // A continuation byte: no character of its own.
                col += (m - from) as u64;
            }
            from = m + 1;
            self.next_mark += 1;
        }
        self.line = line;
        self.col = col + (until - from) as u64;
        self.at = until;
    }

    /// Position of the next byte to be consumed.
    pub(crate) fn here(&mut self) -> Pos {
        self.count();
        Pos {
            line: self.line,
            column: self.col + 1,
        }
    }

    /// Marks the start of a new construct (for the per-construct limit) and returns its
    /// position.
    pub(crate) fn mark(&mut self) -> Pos {
        self.construct_start = self.offset;
        self.limit_at = self
            .max_input
            .min(self.offset.saturating_add(self.max_construct));
        self.here()
    }

    /// Bytes consumed so far.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// [`BufRead::fill_buf`] past the end of the buffer or of a limit.
    #[cold]
    fn fill_slow(&mut self) -> io::Result<()> {
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
        if self.pos == self.end {
            self.refill()?;
        }
        Ok(())
    }

    /// Reads the next bytes into the (used up) buffer and notes their marks.
    fn refill(&mut self) -> io::Result<()> {
        self.count();
        self.pos = 0;
        self.end = 0;
        self.at = 0;
        self.marks.clear();
        self.next_mark = 0;
        if self.buf.is_empty() {
            let offered = self.inner.fill_buf()?.len();
            self.buf = vec![0; offered.max(8 * 1024).min(self.size)];
        }
        let n = loop {
            match self.inner.read(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.end = n;
        find_marks(&self.buf[..n], &mut self.marks);
        Ok(())
    }
}

/// Appends to `marks` the indices of the line feeds and UTF-8 continuation bytes (`10xxxxxx`)
/// of `chunk`, ascending. Eight bytes at a time (SWAR); a word of ASCII without a line feed
/// costs a handful of instructions.
fn find_marks(chunk: &[u8], marks: &mut Vec<u32>) {
    const LO7: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = 0x0A0A_0A0A_0A0A_0A0A;
    let mut words = chunk.chunks_exact(8);
    let mut base = 0u32;
    for w in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(w);
        let x = u64::from_le_bytes(bytes);
        // High bit of each continuation byte: bit 7 set, bit 6 clear.
        let cont = x & !(x << 1) & HI;
        // High bit of each line feed: the bytes of `y` that are exactly zero.
        let y = x ^ NEWLINES;
        let nonzero = (((y & LO7) + LO7) | y) & HI;
        let mut found = (!nonzero & HI) | cont;
        while found != 0 {
            marks.push(base + found.trailing_zeros() / 8);
            found &= found - 1;
        }
        base += 8;
    }
    for (i, &b) in words.remainder().iter().enumerate() {
        if b == b'\n' || b & 0xC0 == 0x80 {
            marks.push(base + i as u32);
        }
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
        if self.pos == self.end || self.offset > self.limit_at {
            self.fill_slow()?;
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amt: usize) {
        let amt = amt.min(self.end - self.pos);
        self.pos += amt;
        self.offset += amt as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(c: &mut Counting<&[u8]>, n: usize) {
        let mut left = n;
        while left > 0 {
            let got = c.fill_buf().expect("no limit here").len().min(left);
            assert!(got > 0, "input ended");
            c.consume(got);
            left -= got;
        }
    }

    #[test]
    fn counts_lines_and_character_columns() {
        let mut c = Counting::new(&b"ab\ncd\xc3\xa4e\n\nf"[..], 100, 100);
        take(&mut c, 2);
        assert_eq!(c.here(), Pos { line: 1, column: 3 });
        take(&mut c, 1);
        assert_eq!(c.here(), Pos { line: 2, column: 1 });
        take(&mut c, 5);
        assert_eq!(c.here(), Pos { line: 2, column: 5 });
        assert_eq!(c.offset(), 8);
        take(&mut c, 1);
        take(&mut c, 1);
        take(&mut c, 1);
        assert_eq!(c.here(), Pos { line: 4, column: 2 });
    }

    /// Positions after random steps, with buffers of every small size (so that line feeds,
    /// characters and steps straddle refills), against the byte-at-a-time definition.
    #[test]
    fn positions_match_the_bytewise_definition() {
        fn naive(input: &[u8]) -> Pos {
            let (mut line, mut col) = (1, 0);
            for &b in input {
                if b == b'\n' {
                    line += 1;
                    col = 0;
                } else if b & 0xC0 != 0x80 {
                    col += 1;
                }
            }
            Pos {
                line,
                column: col + 1,
            }
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
            0x00,
            0x80,
            0xC0,
        ];
        let mut seed = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..60 {
            for _ in 0..40 {
                let input: Vec<u8> = (0..len)
                    .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                    .collect();
                for size in [1, 2, 3, 7, 8, 9, 16, 64] {
                    let mut c = Counting::with_buffer(&input[..], 1000, 1000, size);
                    let mut done = 0;
                    assert_eq!(c.here(), naive(&[]));
                    while done < len {
                        let step = (next() % 12) as usize;
                        let step = step.min(len - done);
                        take(&mut c, step);
                        done += step;
                        assert_eq!(c.here(), naive(&input[..done]), "{input:?} {size} {done}");
                        assert_eq!(c.offset(), done as u64);
                    }
                    assert!(c.fill_buf().expect("at the end").is_empty());
                    assert_eq!(c.here(), naive(&input), "{input:?} {size}");
                }
            }
        }
    }

    #[test]
    fn marks_are_the_line_feeds_and_continuation_bytes() {
        let input = "a\nä€\n0123456789\u{1F600}\n".as_bytes();
        let mut marks = Vec::new();
        find_marks(input, &mut marks);
        let expected: Vec<u32> = input
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'\n' || b & 0xC0 == 0x80)
            .map(|(i, _)| i as u32)
            .collect();
        assert_eq!(marks, expected);
    }

    #[test]
    fn stops_at_the_construct_limit_until_the_next_construct() {
        let limit_of = |e: io::Error| {
            let hit = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<LimitHit>())
                .expect("a limit error");
            (hit.0, hit.1)
        };
        let mut c = Counting::with_buffer(&b"0123456789abcdef"[..], 100, 3, 4);
        take(&mut c, 3);
        assert!(c.fill_buf().is_ok(), "at the limit");
        take(&mut c, 1);
        let e = c.fill_buf().expect_err("over the limit");
        assert_eq!(limit_of(e), (Limit::TextBytes, 3));
        c.mark();
        take(&mut c, 3);
        assert_eq!(
            c.fill_buf().expect("a new construct"),
            b"7",
            "a new construct starts at offset 4"
        );
        take(&mut c, 1);
        assert!(c.fill_buf().is_err());
    }

    #[test]
    fn stops_at_the_input_limit() {
        let mut c = Counting::new(&b"0123456789"[..], 4, 100);
        take(&mut c, 5);
        assert!(c.fill_buf().is_err());
    }
}
