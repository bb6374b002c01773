//! Bounded raw DEFLATE (RFC 1951) for `zip: DEF` plaintexts, pushed in pieces.
//!
//! One implementation for the in-memory and the streaming JWE paths, so both give the same
//! verdict for the same bytes. Strict: the stream must end (a truncated stream is refused) and
//! nothing may follow its end; the output is capped at a limit.

use std::io::{self, Write};

use flate2::{Decompress, FlushDecompress, Status};
use zeroize::Zeroizing;

use super::jwe::JweError;

/// Output produced per inner step.
const STEP: usize = 64 * 1024;

/// A DEFLATE decoder that writes to a sink and stops at `limit` bytes of output.
pub(super) struct Inflater {
    state: Decompress,
    buf: Zeroizing<Vec<u8>>,
    limit: u64,
    written: u64,
    ended: bool,
}

/// Why pushing failed: the data (a [`JweError`]) or the sink.
pub(super) enum InflateError {
    Data(JweError),
    Sink(io::Error),
}

impl Inflater {
    pub(super) fn new(limit: usize) -> Self {
        Self {
            state: Decompress::new(false),
            buf: Zeroizing::new(vec![0u8; STEP]),
            limit: u64::try_from(limit).unwrap_or(u64::MAX),
            written: 0,
            ended: false,
        }
    }

    /// Decodes `input` and writes what it yields to `out`.
    pub(super) fn push(
        &mut self,
        mut input: &[u8],
        out: &mut dyn Write,
    ) -> Result<(), InflateError> {
        while !input.is_empty() {
            if self.ended {
                // Bytes after the end of the DEFLATE stream.
                return Err(InflateError::Data(JweError::InflateFailed));
            }
            let (consumed, produced) = self.step(input, FlushDecompress::None)?;
            input = &input[consumed..];
            self.emit(produced, out)?;
            if consumed == 0 && produced == 0 && !self.ended {
                // No progress with input left: the decoder refuses it.
                return Err(InflateError::Data(JweError::InflateFailed));
            }
        }
        Ok(())
    }

    /// Flushes the rest; the stream must have ended.
    pub(super) fn finish(mut self, out: &mut dyn Write) -> Result<u64, InflateError> {
        while !self.ended {
            let (_, produced) = self.step(&[], FlushDecompress::Finish)?;
            self.emit(produced, out)?;
            if produced == 0 && !self.ended {
                return Err(InflateError::Data(JweError::InflateFailed));
            }
        }
        Ok(self.written)
    }

    fn step(
        &mut self,
        input: &[u8],
        flush: FlushDecompress,
    ) -> Result<(usize, usize), InflateError> {
        let (in_before, out_before) = (self.state.total_in(), self.state.total_out());
        let status = self
            .state
            .decompress(input, &mut self.buf, flush)
            .map_err(|_| InflateError::Data(JweError::InflateFailed))?;
        if status == Status::StreamEnd {
            self.ended = true;
        }
        let consumed = usize::try_from(self.state.total_in() - in_before).unwrap_or(usize::MAX);
        let produced = usize::try_from(self.state.total_out() - out_before).unwrap_or(usize::MAX);
        Ok((consumed, produced))
    }

    fn emit(&mut self, produced: usize, out: &mut dyn Write) -> Result<(), InflateError> {
        self.written += produced as u64;
        if self.written > self.limit {
            return Err(InflateError::Data(JweError::InflateTooLarge {
                limit: usize::try_from(self.limit).unwrap_or(usize::MAX),
            }));
        }
        out.write_all(&self.buf[..produced])
            .map_err(InflateError::Sink)
    }
}

/// Inflates a whole buffer within `limit` (the in-memory JWE path).
pub(super) fn inflate_all(compressed: &[u8], limit: usize) -> Result<Zeroizing<Vec<u8>>, JweError> {
    let cap = compressed.len().saturating_mul(4).min(limit);
    let mut out = Zeroizing::new(Vec::with_capacity(cap));
    let mut inflater = Inflater::new(limit);
    let result = inflater
        .push(compressed, &mut *out)
        .and_then(|()| inflater.finish(&mut *out));
    match result {
        Ok(_) => Ok(out),
        Err(InflateError::Data(e)) => Err(e),
        // Writing to a Vec does not fail.
        Err(InflateError::Sink(_)) => Err(JweError::InflateFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).expect("deflate");
        e.finish().expect("deflate")
    }

    #[test]
    fn whole_and_piecewise_agree() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let z = deflate(&data);
        assert_eq!(
            &inflate_all(&z, data.len()).expect("inflate")[..],
            &data[..]
        );
        let mut out = Vec::new();
        let mut inf = Inflater::new(data.len());
        for piece in z.chunks(7) {
            assert!(inf.push(piece, &mut out).is_ok());
        }
        assert!(matches!(inf.finish(&mut out), Ok(n) if n == data.len() as u64));
        assert_eq!(out, data);
    }

    #[test]
    fn limit_truncation_and_trailing_bytes_are_refused() {
        let data = vec![b'a'; 10_000];
        let z = deflate(&data);
        assert_eq!(
            inflate_all(&z, 9_999).map(|_| ()),
            Err(JweError::InflateTooLarge { limit: 9_999 })
        );
        assert_eq!(
            inflate_all(&z[..z.len() - 2], 20_000).map(|_| ()),
            Err(JweError::InflateFailed),
            "a truncated stream"
        );
        let mut trailing = z.clone();
        trailing.push(0);
        assert_eq!(
            inflate_all(&trailing, 20_000).map(|_| ()),
            Err(JweError::InflateFailed),
            "a byte after the end"
        );
        assert_eq!(
            inflate_all(b"\xff\xff\xff", 20_000).map(|_| ()),
            Err(JweError::InflateFailed)
        );
        assert_eq!(
            inflate_all(&deflate(b""), 0).map(|z| z.len()),
            Ok(0),
            "the empty stream"
        );
    }
}
