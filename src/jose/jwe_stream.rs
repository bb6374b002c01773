//! Streaming decryption of a compact JWE held in a seekable source (a spooled attachment), in
//! bounded memory whatever its size.
//!
//! [`decrypt_seekable`] gives the verdict of [`CompactJwe::parse`](super::CompactJwe::parse) +
//! [`decrypt`](super::CompactJwe::decrypt) — the same error for the same token, checked in the
//! same order — while holding a few hundred KiB:
//!
//! 1. **Scan**: the size limit, the JSON-serialization check and the four part separators.
//! 2. **Small parts**: header, encrypted key, IV and tag are read and checked exactly as the
//!    in-memory parser does (an oversized IV or tag part is only scanned, never held).
//! 3. **Ciphertext**: decoded in chunks; AES-256-CTR from `inc32(J0)` (aws-lc) decrypts and
//!    GHASH (RustCrypto `ghash`) authenticates each chunk; at the end the tag is compared in
//!    constant time, then `zip: DEF` is finished. Errors of the key choice (unknown `kid`, key
//!    length) are held back until the ciphertext is known to be well-formed, as in memory.
//!
//! **The plaintext written to `output` is unauthenticated until this function returns `Ok`.**
//! Callers write it to a private spool file and drop that file on any error.

use std::io::{self, Read, Seek, SeekFrom, Write};

use aws_lc_rs::cipher::{
    AES_256, DecryptionContext, EncryptingKey, StreamingDecryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use ghash::GHash;
use ghash::universal_hash::UniversalHash as _;
use zeroize::Zeroizing;

use super::base64url;
use super::inflate::{InflateError, Inflater};
use super::jwe::{
    self, Cek, IV_LEN, JweError, Part, TAG_LEN, check_encrypted_key_len, decode_encrypted_key,
    parse_protected,
};
use super::keyring::KeyRing;
use crate::config::JoseLimits;

/// Characters of the ciphertext part decoded per step (a multiple of 4).
const CHUNK_CHARS: usize = 256 * 1024;
/// Bytes read per step while scanning.
const SCAN_CHUNK: usize = 64 * 1024;
/// IV and tag parts up to this length are read; longer ones are only scanned (valid: 16, 22).
const SMALL_PART: u64 = 64;
/// GCM's 32-bit block counter allows 2^32 − 2 blocks of ciphertext.
const MAX_GCM_CIPHERTEXT: u64 = ((1 << 32) - 2) * 16;

/// What a streamed decryption produced (the plaintext went to the output).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamedPlaintext {
    kid: String,
    cty: Option<String>,
    tag: String,
    len: u64,
}

impl StreamedPlaintext {
    /// The `kid` of the key that decrypted it.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// The `cty` header, if any.
    #[must_use]
    pub fn content_type(&self) -> Option<&str> {
        self.cty.as_deref()
    }
    /// Part 5 as sent.
    #[must_use]
    pub fn authentication_tag(&self) -> &str {
        &self.tag
    }
    /// Bytes of plaintext written (after inflating).
    #[must_use]
    pub fn len(&self) -> u64 {
        self.len
    }
    /// Whether the plaintext is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Why a streamed decryption failed: the token, or local I/O on either side.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// The token is refused (the same error the in-memory path gives).
    #[error(transparent)]
    Jwe(#[from] JweError),
    /// Reading the source failed.
    #[error("reading the JWE failed: {0}")]
    Read(#[source] io::Error),
    /// Writing the plaintext failed.
    #[error("writing the plaintext failed: {0}")]
    Write(#[source] io::Error),
}

/// A seekable source of a compact JWE. A source that holds its bytes in memory lends them
/// ([`in_memory`](Self::in_memory)): the scan and the ciphertext then read them in place
/// instead of copying them through a buffer (issue 18, goal 1).
pub trait JweSource: Read + Seek {
    /// All bytes of the source, when it holds them in memory.
    fn in_memory(&self) -> Option<&[u8]> {
        None
    }
}

impl JweSource for std::fs::File {}

impl<T: AsRef<[u8]>> JweSource for io::Cursor<T> {
    fn in_memory(&self) -> Option<&[u8]> {
        Some(self.get_ref().as_ref())
    }
}

/// A source read through `Read` and `Seek` only, even when it holds its bytes in memory: the
/// file path for a test or a fuzz input held in a `Cursor`.
#[derive(Debug)]
pub struct Chunked<R>(pub R);

impl<R: Read> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: Seek> Seek for Chunked<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.0.seek(pos)
    }
}

impl<R: Read + Seek> JweSource for Chunked<R> {}

/// Byte range of a part in the source.
#[derive(Debug, Clone, Copy)]
struct Range {
    start: u64,
    len: u64,
}

/// White space before a token (what a JSON serialization may start with).
fn is_white_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

fn seek_to<R: Seek + ?Sized>(input: &mut R, at: u64) -> Result<(), StreamError> {
    input
        .seek(SeekFrom::Start(at))
        .map(|_| ())
        .map_err(StreamError::Read)
}

fn read_range<R: Read + Seek + ?Sized>(input: &mut R, r: Range) -> Result<Vec<u8>, StreamError> {
    seek_to(input, r.start)?;
    let len =
        usize::try_from(r.len).map_err(|_| StreamError::Read(io::ErrorKind::OutOfMemory.into()))?;
    let mut buf = vec![0u8; len];
    input.read_exact(&mut buf).map_err(StreamError::Read)?;
    Ok(buf)
}

/// The text of a part; bytes outside ASCII cannot be base64url, so they become a text that
/// fails the same way.
fn part_text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|_| "!".to_owned())
}

/// The first non-white-space byte and the positions of the first five dots, from the start.
fn find_dots<R: JweSource + ?Sized>(input: &mut R) -> Result<(Option<u8>, Vec<u64>), io::Error> {
    if let Some(bytes) = input.in_memory() {
        let first = bytes.iter().copied().find(|b| !is_white_space(*b));
        let dots = memchr::memchr_iter(b'.', bytes)
            .take(5)
            .map(|i| i as u64)
            .collect();
        return Ok((first, dots));
    }
    input.seek(SeekFrom::Start(0))?;
    let mut buf = vec![0u8; SCAN_CHUNK];
    let mut first = None;
    let mut dots = Vec::with_capacity(5);
    let mut pos = 0u64;
    loop {
        let n = match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let chunk = &buf[..n];
        if first.is_none() {
            first = chunk.iter().copied().find(|b| !is_white_space(*b));
        }
        for i in memchr::memchr_iter(b'.', chunk) {
            if dots.len() < 5 {
                dots.push(pos + i as u64);
            }
        }
        pos += n as u64;
        if dots.len() == 5 && first.is_some() {
            break;
        }
    }
    Ok((first, dots))
}

/// Where the parts of a token are: its size, its first byte that is not white space and the
/// positions of its first five dots. Found by one read of the whole source ([`find_dots`]);
/// [`decrypt_seekable_tagged`] finds it once for the tag and the decryption.
#[derive(Debug, Clone)]
struct Layout {
    total: u64,
    first: Option<u8>,
    dots: Vec<u64>,
}

impl Layout {
    fn read<R: JweSource + ?Sized>(input: &mut R) -> io::Result<Self> {
        let total = input.seek(SeekFrom::End(0))?;
        let (first, dots) = find_dots(input)?;
        Ok(Self { total, first, dots })
    }

    /// Part 5 as sent, when there are exactly five parts ([`authentication_tag`]).
    fn tag<R: Read + Seek + ?Sized>(&self, input: &mut R) -> io::Result<Option<String>> {
        let [.., last] = self.dots[..] else {
            return Ok(None);
        };
        if self.dots.len() != 4 {
            return Ok(None);
        }
        let len = self.total - last - 1;
        if len > SMALL_PART {
            return Ok(Some("!too-long".to_owned()));
        }
        input.seek(SeekFrom::Start(last + 1))?;
        let mut buf = Vec::new();
        input.take(len).read_to_end(&mut buf)?;
        Ok(Some(String::from_utf8_lossy(&buf).into_owned()))
    }
}

/// Pass 1: the token's size, the JSON check and the separators, as `CompactJwe::parse` does.
/// `known`: the layout, when the caller has read it already (the size limit is still checked
/// first, so the errors are the same).
fn scan<R: JweSource + ?Sized>(
    input: &mut R,
    limits: &JoseLimits,
    known: Option<&Layout>,
) -> Result<(u64, [u64; 4]), StreamError> {
    let total = match known {
        Some(l) => l.total,
        None => input.seek(SeekFrom::End(0)).map_err(StreamError::Read)?,
    };
    if total > limits.max_token_bytes as u64 {
        return Err(JweError::TokenTooLarge {
            limit: limits.max_token_bytes,
        }
        .into());
    }
    let read;
    let layout = match known {
        Some(l) => l,
        None => {
            read = Layout::read(input).map_err(StreamError::Read)?;
            &read
        }
    };
    if layout.first == Some(b'{') {
        return Err(JweError::JsonSerialization.into());
    }
    match layout.dots[..] {
        [a, b, c, d] => Ok((total, [a, b, c, d])),
        _ => Err(JweError::PartCount {
            found: layout.dots.len() + 1,
        }
        .into()),
    }
}

/// Part 5 of the compact JWE in `input` when it has exactly five parts, as sent (what a
/// `submit-submission` event's `authenticationTags` must equal). A part 5 longer than any tag
/// is returned as a text no tag can equal.
///
/// # Errors
/// Reading the source failed.
pub fn authentication_tag<R: JweSource + ?Sized>(input: &mut R) -> io::Result<Option<String>> {
    Layout::read(input)?.tag(input)
}

/// An IV or tag part: read when short, else scanned for the alphabet only (its length alone
/// already makes it wrong), with the in-memory parser's error precedence.
fn fixed_part<const N: usize, R: Read + Seek + ?Sized>(
    input: &mut R,
    r: Range,
    part: Part,
    wrong: fn(usize) -> JweError,
) -> Result<([u8; N], String), StreamError> {
    if r.len <= SMALL_PART {
        let text = part_text(read_range(input, r)?);
        let bytes = jwe::fixed::<N>(&text, part, wrong)?;
        return Ok((bytes, text));
    }
    seek_to(input, r.start)?;
    let mut left = r.len;
    let mut buf = vec![0u8; SCAN_CHUNK];
    while left > 0 {
        let n = usize::try_from(left.min(SCAN_CHUNK as u64)).unwrap_or(SCAN_CHUNK);
        input.read_exact(&mut buf[..n]).map_err(StreamError::Read)?;
        if !buf[..n].iter().all(|&b| is_b64url(b)) {
            return Err(JweError::Base64 { part }.into());
        }
        left -= n as u64;
    }
    let decoded = usize::try_from(r.len)
        .map(base64url::decoded_len)
        .unwrap_or(usize::MAX);
    Err(wrong(decoded).into())
}

/// AES-256-GCM opened block by block: CTR for the plaintext, GHASH for the tag.
struct GcmStream {
    ctr: StreamingDecryptingKey,
    ghash: GHash,
    /// Ciphertext bytes not yet hashed (GHASH takes whole blocks).
    carry: [u8; 16],
    carry_len: usize,
    ej0: Zeroizing<[u8; 16]>,
    aad_len: u64,
    ct_len: u64,
}

impl GcmStream {
    fn new(cek: &Cek, iv: [u8; IV_LEN], aad: &[u8]) -> Self {
        let unbound =
            || UnboundCipherKey::new(&AES_256, &cek.key[..]).expect("CEK has the AES-256 length");
        let ecb = EncryptingKey::ecb(unbound()).expect("AES-256 supports ECB");
        let mut h = Zeroizing::new([0u8; 16]);
        ecb.encrypt(&mut h[..]).expect("one whole block");
        let mut j0 = [0u8; 16];
        j0[..IV_LEN].copy_from_slice(&iv);
        j0[15] = 1;
        let mut ej0 = Zeroizing::new(j0);
        ecb.encrypt(&mut ej0[..]).expect("one whole block");
        // The data blocks start at inc32(J0). aws-lc's CTR increments all 128 bits, GCM only
        // the last 32: the same for fewer than 2^32 − 2 blocks (checked by the caller).
        let mut first = j0;
        first[15] = 2;
        let ctr = StreamingDecryptingKey::ctr(
            unbound(),
            DecryptionContext::Iv128(FixedLength::from(first)),
        )
        .expect("AES-256 supports CTR");
        let mut ghash = GHash::new(&(*h).into());
        ghash.update_padded(aad);
        Self {
            ctr,
            ghash,
            carry: [0; 16],
            carry_len: 0,
            ej0,
            aad_len: aad.len() as u64,
            ct_len: 0,
        }
    }

    /// Authenticates and decrypts `ct` into `pt` (at least `ct.len() + 15` bytes); returns
    /// the plaintext written.
    fn update<'p>(&mut self, ct: &[u8], pt: &'p mut [u8]) -> &'p [u8] {
        self.ct_len += ct.len() as u64;
        let mut rest = ct;
        if self.carry_len > 0 {
            let take = (16 - self.carry_len).min(rest.len());
            self.carry[self.carry_len..self.carry_len + take].copy_from_slice(&rest[..take]);
            self.carry_len += take;
            rest = &rest[take..];
            if self.carry_len == 16 {
                self.ghash.update_padded(&self.carry);
                self.carry_len = 0;
            }
        }
        let whole = rest.len() / 16 * 16;
        self.ghash.update_padded(&rest[..whole]);
        let tail = &rest[whole..];
        self.carry[..tail.len()].copy_from_slice(tail);
        self.carry_len += tail.len();
        let out = self
            .ctr
            .update(ct, pt)
            .expect("the output has room for the input and a block");
        let n = out.written().len();
        &pt[..n]
    }

    /// Whether the computed tag equals `tag` (constant time).
    fn verify(mut self, tag: &[u8; TAG_LEN]) -> bool {
        self.ghash.update_padded(&self.carry[..self.carry_len]);
        let mut lengths = [0u8; 16];
        lengths[..8].copy_from_slice(&(self.aad_len * 8).to_be_bytes());
        lengths[8..].copy_from_slice(&(self.ct_len * 8).to_be_bytes());
        self.ghash.update_padded(&lengths);
        // GHASH's output XOR the tag is E(K, J0): wiped like `ej0` itself. The GHASH state
        // (its key H) is wiped by `ghash` on drop (its `zeroize` feature).
        let s = Zeroizing::new(<[u8; 16]>::from(self.ghash.finalize()));
        let mut computed = Zeroizing::new([0u8; TAG_LEN]);
        for (i, c) in computed.iter_mut().enumerate() {
            *c = s[i] ^ self.ej0[i];
        }
        aws_lc_rs::constant_time::verify_slices_are_equal(&computed[..], tag).is_ok()
    }
}

/// Where the decrypted bytes go: straight to the output, or through the inflater.
enum Sink {
    Plain,
    Deflated {
        inflater: Inflater,
        /// The first data error, reported only once the tag is known to be good.
        failed: Option<JweError>,
    },
}

impl Sink {
    fn take(&mut self, bytes: &[u8], output: &mut dyn Write) -> Result<(), StreamError> {
        match self {
            Self::Plain => output.write_all(bytes).map_err(StreamError::Write),
            Self::Deflated { inflater, failed } => {
                if failed.is_some() {
                    return Ok(());
                }
                match inflater.push(bytes, output) {
                    Ok(()) => Ok(()),
                    Err(InflateError::Data(e)) => {
                        *failed = Some(e);
                        Ok(())
                    }
                    Err(InflateError::Sink(e)) => Err(StreamError::Write(e)),
                }
            }
        }
    }

    fn finish(self, plain_len: u64, output: &mut dyn Write) -> Result<u64, StreamError> {
        match self {
            Self::Plain => Ok(plain_len),
            Self::Deflated {
                failed: Some(e), ..
            } => Err(e.into()),
            Self::Deflated { inflater, .. } => inflater.finish(output).map_err(|e| match e {
                InflateError::Data(e) => StreamError::Jwe(e),
                InflateError::Sink(e) => StreamError::Write(e),
            }),
        }
    }
}

/// Decrypts the compact JWE in `input` into `output` (see the module doc; the output is
/// unauthenticated unless this returns `Ok`).
///
/// # Errors
/// [`StreamError::Jwe`] with the error the in-memory path gives for the same token;
/// [`StreamError::Read`] / [`StreamError::Write`] for local I/O failures.
pub fn decrypt_seekable<R: JweSource + ?Sized>(
    input: &mut R,
    output: &mut dyn Write,
    keys: &KeyRing,
    limits: &JoseLimits,
) -> Result<StreamedPlaintext, StreamError> {
    decrypt_within(input, output, keys, limits, MAX_GCM_CIPHERTEXT, None)
}

/// [`authentication_tag`] and [`decrypt_seekable`] of one token, with one read of the whole
/// source for the separators instead of two (a file source is then read twice in all: the
/// scan and the decryption). The same results as the two calls.
///
/// # Errors
/// Reading the source for the tag failed (a failed decryption is in the result).
pub fn decrypt_seekable_tagged<R: JweSource + ?Sized>(
    input: &mut R,
    output: &mut dyn Write,
    keys: &KeyRing,
    limits: &JoseLimits,
) -> io::Result<(Option<String>, Result<StreamedPlaintext, StreamError>)> {
    let layout = Layout::read(input)?;
    let tag = layout.tag(input)?;
    let decrypted = decrypt_within(
        input,
        output,
        keys,
        limits,
        MAX_GCM_CIPHERTEXT,
        Some(&layout),
    );
    Ok((tag, decrypted))
}

/// [`decrypt_seekable`] with GCM's length bound as a parameter (tests cannot make 64 GiB).
fn decrypt_within<R: JweSource + ?Sized>(
    input: &mut R,
    output: &mut dyn Write,
    keys: &KeyRing,
    limits: &JoseLimits,
    max_ciphertext: u64,
    known: Option<&Layout>,
) -> Result<StreamedPlaintext, StreamError> {
    let (total, [d1, d2, d3, d4]) = scan(input, limits, known)?;
    let range = |from: u64, to: u64| Range {
        start: from,
        len: to - from,
    };
    let h = range(0, d1);
    if h.len > limits.max_protected_header_bytes as u64 {
        return Err(JweError::HeaderTooLarge {
            limit: limits.max_protected_header_bytes,
        }
        .into());
    }
    let protected = part_text(read_range(input, h)?);
    let header = parse_protected(&protected, limits)?;
    let k = range(d1 + 1, d2);
    check_encrypted_key_len(usize::try_from(k.len).unwrap_or(usize::MAX))?;
    let encrypted_key = decode_encrypted_key(&part_text(read_range(input, k)?))?;
    let (iv, _) = fixed_part::<IV_LEN, _>(input, range(d2 + 1, d3), Part::Iv, |found| {
        JweError::IvLength { found }
    })?;
    let (tag, tag_text) =
        fixed_part::<TAG_LEN, _>(input, range(d4 + 1, total), Part::Tag, |found| {
            JweError::TagLength { found }
        })?;
    let c = range(d3 + 1, d4);
    if c.len % 4 == 1 {
        return Err(JweError::Base64 {
            part: Part::Ciphertext,
        }
        .into());
    }

    // The key choice fails after the ciphertext's own checks, as in memory.
    let (cek, held_back) = match jwe::unwrap_cek(&header.kid, &encrypted_key, keys) {
        Ok(cek) => (cek, None),
        Err(e) => (Cek::random(), Some(e)),
    };
    let ct_total = usize::try_from(c.len)
        .map(base64url::decoded_len)
        .unwrap_or(usize::MAX) as u64;
    // Known before the first block: a ciphertext longer than GCM allows can never verify, and
    // past 2^32 − 2 blocks aws-lc's 128-bit counter would no longer be GCM's 32-bit one, so not
    // a byte of it is decrypted or written. Its base64 is still checked, so that the verdict
    // stays the in-memory path's (a bad character there is a base64 error, not a failure).
    let oversized = ct_total > max_ciphertext;
    let mut gcm = GcmStream::new(&cek, iv, protected.as_bytes());
    let mut sink = if header.deflated {
        Sink::Deflated {
            inflater: Inflater::new(limits.max_inflated_bytes),
            failed: None,
        }
    } else {
        Sink::Plain
    };
    // Buffers for one chunk, no larger than the ciphertext needs (a metadata JWE of a few KB
    // does not zero 640 KiB); the text buffer only when the source cannot lend its bytes.
    let chunk = usize::try_from(c.len.min(CHUNK_CHARS as u64)).unwrap_or(CHUNK_CHARS);
    let mut text: Vec<u8> = Vec::new();
    // Exact: every chunk but the last is whole 4-character groups, and the last is shorter
    // (`same_plaintext_as_in_memory_for_every_length_class` covers every length mod 4).
    let mut ct = vec![0u8; base64url::decoded_len(chunk)];
    let mut pt = Zeroizing::new(vec![0u8; ct.len() + 16]);
    seek_to(input, c.start)?;
    let mut left = c.len;
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK_CHARS as u64)).unwrap_or(CHUNK_CHARS);
        let at = usize::try_from(c.start + (c.len - left)).unwrap_or(usize::MAX);
        let chars = match input
            .in_memory()
            .and_then(|b| b.get(at..))
            .and_then(|b| b.get(..n))
        {
            Some(chars) => chars,
            None => {
                if text.len() < n {
                    text.resize(chunk, 0);
                }
                input
                    .read_exact(&mut text[..n])
                    .map_err(StreamError::Read)?;
                &text[..n]
            }
        };
        let Some(m) = base64url::decode_to_slice(chars, &mut ct) else {
            return Err(JweError::Base64 {
                part: Part::Ciphertext,
            }
            .into());
        };
        if !oversized {
            let plain = gcm.update(&ct[..m], &mut pt);
            sink.take(plain, output)?;
        }
        left -= n as u64;
    }
    if let Some(e) = held_back {
        return Err(e.into());
    }
    if !cek.unwrapped || oversized || !gcm.verify(&tag) {
        return Err(cek.failure().into());
    }
    let len = sink.finish(ct_total, output)?;
    Ok(StreamedPlaintext {
        kid: header.kid,
        cty: header.cty,
        tag: tag_text,
        len,
    })
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::jose::jwe::{encrypt, encrypt_with_header};
    use crate::jose::test_keys;
    use crate::jose::{CompactJwe, base64url};

    fn limits() -> JoseLimits {
        JoseLimits::default()
    }

    /// The verdict of either path: the plaintext, or the error's text.
    fn in_memory(token: &[u8], limits: &JoseLimits) -> Result<Vec<u8>, String> {
        let (keys, _, _) = test_keys::encryption();
        let token = std::str::from_utf8(token).map_err(|_| "not UTF-8".to_owned())?;
        CompactJwe::parse(token, limits)
            .and_then(|j| j.decrypt(keys, limits))
            .map(|p| p.bytes().to_vec())
            .map_err(|e| format!("{e:?}"))
    }

    /// The verdict of the streamed path, the same whether the token is lent in place (a
    /// `Cursor`) or read through a buffer (the file path).
    fn streamed(token: &[u8], limits: &JoseLimits) -> Result<Vec<u8>, String> {
        let in_place = streamed_from(&mut Cursor::new(token), limits);
        let chunked = streamed_from(&mut Chunked(Cursor::new(token)), limits);
        assert_eq!(in_place, chunked, "in place and chunked differ");
        in_place
    }

    /// The verdict of [`decrypt_seekable`]; [`decrypt_seekable_tagged`] must give the same
    /// verdict and plaintext, and the tag [`authentication_tag`] gives.
    fn streamed_from(input: &mut dyn JweSource, limits: &JoseLimits) -> Result<Vec<u8>, String> {
        let (keys, _, _) = test_keys::encryption();
        let verdict = |r: Result<StreamedPlaintext, StreamError>, out: Vec<u8>| match r {
            Ok(p) => {
                assert_eq!(p.len(), out.len() as u64);
                Ok(out)
            }
            Err(StreamError::Jwe(e)) => Err(format!("{e:?}")),
            Err(e) => panic!("local I/O error on a Cursor: {e}"),
        };
        let mut out = Vec::new();
        let separate = verdict(decrypt_seekable(input, &mut out, keys, limits), out);
        let tag = authentication_tag(input).expect("a Cursor reads");
        let mut out = Vec::new();
        let (tagged_tag, tagged) =
            decrypt_seekable_tagged(input, &mut out, keys, limits).expect("a Cursor reads");
        assert_eq!(verdict(tagged, out), separate, "tagged and separate differ");
        assert_eq!(tagged_tag, tag, "tags differ");
        separate
    }

    fn agree(token: &[u8], limits: &JoseLimits) -> Result<Vec<u8>, String> {
        let a = in_memory(token, limits);
        let b = streamed(token, limits);
        assert_eq!(
            a,
            b,
            "token {:?}",
            String::from_utf8_lossy(&token[..token.len().min(120)])
        );
        b
    }

    fn deflate(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).expect("deflate");
        e.finish().expect("deflate")
    }

    fn deflated_token(plain: &[u8]) -> String {
        let (_, public, kid) = test_keys::encryption();
        let header =
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF","kid":"{kid}"}}"#);
        encrypt_with_header(&deflate(plain), public, header.as_bytes()).expect("encrypt")
    }

    #[test]
    fn same_plaintext_as_in_memory_for_every_length_class() {
        let (_, public, kid) = test_keys::encryption();
        for len in [
            0usize, 1, 15, 16, 17, 31, 32, 33, 1000, 196_607, 196_608, 196_609, 700_001,
        ] {
            let plain: Vec<u8> = (0..len).map(|i| (i * 7 % 256) as u8).collect();
            let token = encrypt(&plain, public, kid, Some("application/pdf")).expect("encrypt");
            assert_eq!(
                agree(token.as_bytes(), &limits()),
                Ok(plain.clone()),
                "len {len}"
            );
            let token = deflated_token(&plain);
            assert_eq!(
                agree(token.as_bytes(), &limits()),
                Ok(plain),
                "deflated len {len}"
            );
        }
    }

    #[test]
    fn authentication_tag_is_part_five_of_five() {
        let tag = |t: &str| {
            let in_place = authentication_tag(&mut Cursor::new(t.as_bytes())).expect("read");
            let chunked =
                authentication_tag(&mut Chunked(Cursor::new(t.as_bytes()))).expect("read");
            assert_eq!(in_place, chunked, "{t:?}");
            in_place
        };
        assert_eq!(tag("a.b.c.d.e"), Some("e".to_owned()));
        assert_eq!(tag("a.b.c.d."), Some(String::new()));
        assert_eq!(tag("a.b.c.d"), None);
        assert_eq!(tag("a.b.c.d.e.f"), None);
        assert_eq!(tag(""), None);
        let long = format!("a.b.c.d.{}", "x".repeat(100));
        assert!(tag(&long).is_some_and(|t| t.len() < 100 && !t.bytes().all(is_b64url)));
    }

    /// A file-like source that counts the bytes read from it.
    struct Counted<'a> {
        inner: Cursor<&'a [u8]>,
        read: u64,
    }

    impl Read for Counted<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl Seek for Counted<'_> {
        fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    impl JweSource for Counted<'_> {}

    #[test]
    fn tag_and_decryption_share_one_scan_of_a_file_source() {
        let (keys, public, kid) = test_keys::encryption();
        let plain = vec![0x42u8; 300_000];
        let token = encrypt(&plain, public, kid, None).expect("encrypt");
        let len = token.len() as u64;
        let counted = || Counted {
            inner: Cursor::new(token.as_bytes()),
            read: 0,
        };
        let mut src = counted();
        let tag = authentication_tag(&mut src).expect("read");
        let mut out = Vec::new();
        decrypt_seekable(&mut src, &mut out, keys, &limits()).expect("decrypt");
        let separate = src.read;
        let mut src = counted();
        let mut tagged_out = Vec::new();
        let (tagged_tag, decrypted) =
            decrypt_seekable_tagged(&mut src, &mut tagged_out, keys, &limits()).expect("read");
        decrypted.expect("decrypt");
        assert_eq!((tagged_tag, &tagged_out), (tag, &out));
        assert_eq!(out, plain);
        // Two scans and the decryption before; one scan and the decryption now.
        assert!(separate >= 3 * len, "{separate} bytes read for {len}");
        assert_eq!(separate - src.read, len, "one whole read less");
    }

    #[test]
    fn gcm_length_limit_is_checked_before_streaming() {
        let (keys, public, kid) = test_keys::encryption();
        let token = encrypt(&[7u8; 64], public, kid, None).expect("encrypt");
        let run = |max: u64, out: &mut Vec<u8>| {
            decrypt_within(
                &mut Cursor::new(token.as_bytes()),
                out,
                keys,
                &limits(),
                max,
                None,
            )
        };
        let mut out = Vec::new();
        assert!(run(64, &mut out).is_ok());
        assert_eq!(out, [7u8; 64]);
        // One block over the bound: refused, and not a byte of plaintext was written (before,
        // the whole ciphertext was decrypted into the output first).
        let mut out = Vec::new();
        match run(48, &mut out) {
            Err(StreamError::Jwe(JweError::Decrypt(_))) => {}
            other => panic!("expected a decryption failure, got {other:?}"),
        }
        assert!(out.is_empty(), "{} bytes written", out.len());
    }

    #[test]
    fn ghash_state_is_zeroized_on_drop() {
        // GHASH's key H (E(K, 0^128)) lives inside `ghash::GHash`, out of our reach; the crate
        // wipes it on drop only with its `zeroize` feature, so that feature is the fix.
        let manifest: toml::Table = include_str!("../../Cargo.toml")
            .parse()
            .expect("Cargo.toml parses");
        let features = manifest["dependencies"]["ghash"]
            .get("features")
            .and_then(toml::Value::as_array)
            .cloned()
            .unwrap_or_default();
        assert!(
            features.iter().any(|f| f.as_str() == Some("zeroize")),
            "ghash without its zeroize feature: {features:?}"
        );
    }

    #[test]
    fn reports_kid_type_and_tag() {
        let (keys, public, kid) = test_keys::encryption();
        let token = encrypt(b"hello", public, kid, Some("text/plain")).expect("encrypt");
        let mut out = Vec::new();
        let p = decrypt_seekable(
            &mut Cursor::new(token.as_bytes()),
            &mut out,
            keys,
            &limits(),
        )
        .expect("decrypt");
        assert_eq!(out, b"hello");
        assert_eq!(p.kid(), kid);
        assert_eq!(p.content_type(), Some("text/plain"));
        assert_eq!(Some(p.authentication_tag()), token.rsplit('.').next());
    }

    #[test]
    fn every_tampering_gets_the_in_memory_error() {
        let (_, public, kid) = test_keys::encryption();
        let token = encrypt(&[7u8; 100], public, kid, None).expect("encrypt");
        let b = token.as_bytes();
        // One changed character in every part (every 5th position keeps the RSA work small).
        for i in (0..b.len()).step_by(5) {
            for c in [b'A', b'.', b'=', b'{', 0xc3] {
                let mut t = b.to_vec();
                t[i] = c;
                if c == 0xc3 {
                    t.insert(i + 1, 0xa4); // ä: UTF-8, not base64url
                }
                let _ = agree(&t, &limits());
            }
        }
        let parts: Vec<&str> = token.split('.').collect();
        let cases: Vec<String> = vec![
            String::new(),
            "   {\"protected\":1}".into(),
            parts[..4].join("."),
            format!("{token}."),
            format!("{token}.x"),
            format!("{}..{}", parts[0], parts[2..].join(".")),
            // IV and tag far too long, with and without a bad character.
            format!(
                "{}.{}.{}.{}.{}",
                parts[0],
                parts[1],
                "A".repeat(1000),
                parts[3],
                parts[4]
            ),
            format!(
                "{}.{}.{}!.{}.{}",
                parts[0],
                parts[1],
                "A".repeat(1000),
                parts[3],
                parts[4]
            ),
            format!(
                "{}.{}.{}.{}.{}",
                parts[0],
                parts[1],
                parts[2],
                parts[3],
                "B".repeat(200_000)
            ),
            // Ciphertext: one character too many, a non-canonical end, a bad character late.
            format!(
                "{}.{}.{}.{}A.{}",
                parts[0], parts[1], parts[2], parts[3], parts[4]
            ),
            format!(
                "{}.{}.{}.{}.{}",
                parts[0],
                parts[1],
                parts[2],
                &parts[3][..parts[3].len() - 1],
                parts[4]
            ),
            // Unknown kid with a broken ciphertext: the ciphertext error comes first.
            format!(
                "{}.{}.{}.{}!.{}",
                base64url::encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"nope"}"#),
                parts[1],
                parts[2],
                parts[3],
                parts[4]
            ),
            format!(
                "{}.{}.{}.{}.{}",
                base64url::encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"nope"}"#),
                parts[1],
                parts[2],
                parts[3],
                parts[4]
            ),
            // Encrypted key too short for the key.
            format!(
                "{}.{}.{}.{}.{}",
                parts[0],
                &parts[1][..40],
                parts[2],
                parts[3],
                parts[4]
            ),
        ];
        for t in &cases {
            assert!(agree(t.as_bytes(), &limits()).is_err(), "{t:.80}");
        }
        // Size limits.
        let small = JoseLimits {
            max_token_bytes: token.len() - 1,
            ..limits()
        };
        assert!(agree(b, &small).is_err_and(|e| e.starts_with("TokenTooLarge")));
        let header = JoseLimits {
            max_protected_header_bytes: 10,
            ..limits()
        };
        assert!(agree(b, &header).is_err_and(|e| e.starts_with("HeaderTooLarge")));
    }

    #[test]
    fn deflate_errors_wait_for_the_tag_and_obey_the_limit() {
        let plain = vec![b'x'; 100_000];
        let token = deflated_token(&plain);
        let tight = JoseLimits {
            max_inflated_bytes: 99_999,
            ..limits()
        };
        assert!(agree(token.as_bytes(), &tight).is_err_and(|e| e.starts_with("InflateTooLarge")));
        // Not DEFLATE inside a good GCM layer.
        let (_, public, kid) = test_keys::encryption();
        let header =
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF","kid":"{kid}"}}"#);
        let bad =
            encrypt_with_header(b"\xff\xfe not deflate", public, header.as_bytes()).expect("enc");
        assert_eq!(
            agree(bad.as_bytes(), &limits()),
            Err("InflateFailed".into())
        );
        // The same with a broken tag: the tag failure wins.
        let mut t = bad.into_bytes();
        let last = t.len() - 2;
        t[last] = if t[last] == b'A' { b'B' } else { b'A' };
        assert!(agree(&t, &limits()).is_err_and(|e| e.starts_with("Decrypt")));
    }

    #[test]
    fn local_io_failures_are_not_token_errors() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::other("disk full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let (keys, public, kid) = test_keys::encryption();
        let token = encrypt(&[1u8; 5000], public, kid, None).expect("encrypt");
        let r = decrypt_seekable(
            &mut Cursor::new(token.as_bytes()),
            &mut Full,
            keys,
            &limits(),
        );
        assert!(matches!(r, Err(StreamError::Write(_))), "{r:?}");

        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("I/O error"))
            }
        }
        impl Seek for Broken {
            fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
                Ok(100)
            }
        }
        impl JweSource for Broken {}
        let r = decrypt_seekable(&mut Broken, &mut Vec::new(), keys, &limits());
        assert!(matches!(r, Err(StreamError::Read(_))), "{r:?}");
    }
}
