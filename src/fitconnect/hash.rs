//! The FIT-Connect hash: SHA-512 of the plaintext as lowercase hex (`type: "sha512"`).
//!
//! The comparison is constant-time so a timing side channel cannot reveal how many leading
//! characters of a forged hash were right.

use aws_lc_rs::digest;

/// The only hash type FIT-Connect allows.
pub const HASH_TYPE: &str = "sha512";

/// SHA-512 of zero bytes: the placeholder hash of `encryptedData` when Fachdaten travel as an
/// attachment (`purpose: data`).
pub const EMPTY_SHA512_HEX: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

/// Lowercase hex of the SHA-512 of `bytes`.
#[must_use]
pub fn sha512_hex(bytes: &[u8]) -> String {
    hex_lower(digest::digest(&digest::SHA512, bytes).as_ref())
}

/// Lowercase hex encoding.
#[must_use]
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Whether `expected` (from the metadata) is the SHA-512 of `bytes`, compared in constant time.
/// Uppercase or malformed hex never matches (the schema requires `^[a-f0-9]{128}$`).
#[must_use]
pub fn matches_sha512(bytes: &[u8], expected: &str) -> bool {
    let actual = sha512_hex(bytes);
    aws_lc_rs::constant_time::verify_slices_are_equal(actual.as_bytes(), expected.as_bytes())
        .is_ok()
}

/// A writer that computes the SHA-512 of everything written through it.
pub struct Sha512Writer<W> {
    inner: W,
    ctx: digest::Context,
}

impl<W: std::io::Write> Sha512Writer<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self {
            inner,
            ctx: digest::Context::new(&digest::SHA512),
        }
    }

    /// The inner writer (flushed) and the lowercase hex SHA-512 of what was written.
    ///
    /// # Errors
    /// Flushing the inner writer failed.
    pub fn finish(mut self) -> std::io::Result<(W, String)> {
        self.inner.flush()?;
        Ok((self.inner, hex_lower(self.ctx.finish().as_ref())))
    }
}

impl<W: std::io::Write> std::io::Write for Sha512Writer<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fips180_vectors() {
        assert_eq!(sha512_hex(b""), EMPTY_SHA512_HEX);
        assert_eq!(
            sha512_hex(b"abc"),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn comparison_is_exact() {
        assert!(matches_sha512(b"", EMPTY_SHA512_HEX));
        assert!(!matches_sha512(b"", &EMPTY_SHA512_HEX.to_uppercase()));
        assert!(!matches_sha512(b"x", EMPTY_SHA512_HEX));
        assert!(!matches_sha512(b"", &EMPTY_SHA512_HEX[..127]));
    }
}
