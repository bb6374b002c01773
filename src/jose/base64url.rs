//! Strict base64url (RFC 4648 §5, no padding) as JOSE requires (RFC 7515 §2).
//!
//! Padding, the standard alphabet, whitespace and non-canonical trailing bits are all refused:
//! two encodings of the same bytes would let a token be altered without changing its meaning.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// Encodes bytes as unpadded base64url.
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Appends the unpadded base64url encoding of `bytes` to `out`.
pub fn encode_into(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(bytes, out);
}

/// Decodes strict unpadded base64url; `None` on any deviation.
#[must_use]
pub fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

/// Decodes strict unpadded base64url into `out` (appending); `false` on any deviation.
pub fn decode_into(text: &str, out: &mut Vec<u8>) -> bool {
    URL_SAFE_NO_PAD.decode_vec(text, out).is_ok()
}

/// Decodes strict unpadded base64url bytes into `out` (which must have room for
/// [`decoded_len`]); the number of bytes written, `None` on any deviation. Used piecewise on
/// groups of four characters, with the rest as the last piece.
#[must_use]
pub fn decode_to_slice(text: &[u8], out: &mut [u8]) -> Option<usize> {
    URL_SAFE_NO_PAD.decode_slice(text, out).ok()
}

/// Decodes standard, padded base64 as used by the `x5c` header (RFC 7517 §4.7).
#[must_use]
pub fn decode_standard(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

/// Encodes bytes as standard, padded base64 (for `x5c`).
#[must_use]
pub fn encode_standard(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The exact decoded length of a valid unpadded base64url text of `len` characters.
#[must_use]
pub fn decoded_len(len: usize) -> usize {
    len / 4 * 3 + (len % 4).saturating_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rfc4648_vectors() {
        assert_eq!(encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(encode(b"fo"), "Zm8");
        assert_eq!(decode("Zm8").as_deref(), Some(&b"fo"[..]));
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decoded_len(3), 2);
        assert_eq!(decoded_len(8), 6);
    }

    #[test]
    fn refuses_padding_alphabet_and_noncanonical_bits() {
        assert!(decode("Zm8=").is_none());
        assert!(decode("+/8").is_none());
        assert!(decode("Zm9").is_none(), "non-canonical trailing bits");
        assert!(decode("Z").is_none());
        assert!(decode("Zm 8").is_none());
    }
}
