//! Compact JWE: the streamed decryption (attachments) against the in-memory one, on arbitrary
//! tokens and on tokens the target encrypts itself (so mutations reach the GCM tag check,
//! inflation and the plaintext comparison).

use std::io::Write as _;

use super::input::Input;

/// The first byte that selects the structure-aware mode; any other input is a raw token (the
/// JWE test vectors are seeds as they are).
pub(crate) const STRUCTURED: u8 = 0;

/// Header variants the structured mode encrypts under: the FIT-Connect header with and
/// without `cty`/`typ`/`zip`, and raw header bytes from the input.
const CTYS: &[Option<&str>] = &[
    None,
    Some("application/json"),
    Some("application/xml"),
    Some("application/pdf"),
];

/// JWE property. Raw mode: for any bytes, the streamed decryption (what the gateway does with
/// attachments) reaches the verdict of the in-memory path — the same plaintext or the same
/// error — and bytes that are not UTF-8 are refused. Structured mode (first byte 0): the
/// target encrypts a plaintext from the input for the test key (optionally `zip: DEF`, the
/// compressed stream optionally raw bytes from the input) and changes up to three bytes; both
/// paths still agree, an unchanged token decrypts to exactly the plaintext, and a changed one
/// never decrypts.
pub fn jwe_stream(data: &[u8]) {
    match data.split_first() {
        Some((&STRUCTURED, rest)) => structured(rest),
        _ => {
            jwe_differential(data);
        }
    }
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory write")
}

fn structured(data: &[u8]) {
    let keys = super::fixtures::keys();
    let mut input = Input::new(data);
    let flags = input.byte();
    let zip = flags & 1 == 1;
    // Raw DEFLATE bytes from the input instead of a compressed plaintext: inflation errors.
    let raw_stream = flags & 2 == 2;
    let cty = *input.pick(CTYS);
    let mut edits = Vec::new();
    for _ in 0..input.below(4) {
        edits.push((input.u16(), input.byte()));
    }
    let plaintext = input.rest();
    let mut header =
        serde_json::json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": keys.enc_kid});
    if let Some(cty) = cty {
        header["cty"] = cty.into();
    }
    if zip {
        header["zip"] = "DEF".into();
    }
    let body = match (zip, raw_stream) {
        (true, false) => deflate(plaintext),
        _ => plaintext.to_vec(),
    };
    let header = serde_json::to_vec(&header).expect("JSON value serializes");
    let token = crate::jose::jwe::encrypt_with_header(&body, &keys.enc_public, &header)
        .expect("the test key encrypts");
    let mut bytes = token.clone().into_bytes();
    for (at, x) in edits {
        if !bytes.is_empty() && x != 0 {
            let i = usize::from(at) % bytes.len();
            bytes[i] ^= x;
        }
    }
    let decrypted = jwe_differential(&bytes);
    if bytes != token.as_bytes() {
        assert!(decrypted.is_none(), "a changed JWE decrypted");
    } else if !(zip && raw_stream) {
        assert_eq!(
            decrypted.as_deref(),
            Some(plaintext),
            "own JWE did not decrypt to its plaintext"
        );
    }
}

/// For any bytes, the streamed decryption reaches the verdict of the in-memory path — the same
/// plaintext or the same error — and bytes that are not UTF-8 are refused. The in-memory
/// plaintext, when there is one.
fn jwe_differential(data: &[u8]) -> Option<Vec<u8>> {
    use crate::jose::{
        Chunked, CompactJwe, StreamError, authentication_tag, decrypt_seekable,
        decrypt_seekable_tagged,
    };
    let keys = &super::fixtures::keys().decryption;
    let limits = crate::config::JoseLimits {
        max_inflated_bytes: 1 << 20,
        ..crate::config::JoseLimits::default()
    };
    let mut out = Vec::new();
    let streamed = decrypt_seekable(&mut std::io::Cursor::new(data), &mut out, keys, &limits);
    // The same verdict whether the source lends its bytes in place or is read in chunks; the
    // chunked source (the file path) as the gateway reads it, the tag and the decryption from
    // one scan, with the tag `authentication_tag` finds.
    let mut chunked_out = Vec::new();
    let (chunked_tag, chunked) = decrypt_seekable_tagged(
        &mut Chunked(std::io::Cursor::new(data)),
        &mut chunked_out,
        keys,
        &limits,
    )
    .expect("a Cursor reads");
    let tag = authentication_tag(&mut std::io::Cursor::new(data)).expect("a Cursor reads");
    assert_eq!(chunked_tag, tag, "tags differ");
    match (&streamed, &chunked) {
        (Ok(a), Ok(b)) => assert!(a == b && out == chunked_out, "in place and chunked differ"),
        (Err(StreamError::Jwe(a)), Err(StreamError::Jwe(b))) => {
            assert_eq!(a, b, "in place and chunked differ");
        }
        (a, b) => panic!("in place {a:?}, chunked {b:?}"),
    }
    let Ok(token) = std::str::from_utf8(data) else {
        assert!(
            matches!(streamed, Err(StreamError::Jwe(_))),
            "non-UTF-8 bytes: {streamed:?}"
        );
        return None;
    };
    let in_memory = CompactJwe::parse(token, &limits).and_then(|j| j.decrypt(keys, &limits));
    match (in_memory, streamed) {
        (Ok(p), Ok(s)) => {
            assert_eq!(p.bytes(), &out[..], "plaintexts differ");
            assert_eq!(s.len(), out.len() as u64);
            assert_eq!(p.authentication_tag(), s.authentication_tag());
            assert_eq!(tag.as_deref(), Some(p.authentication_tag()));
            Some(out)
        }
        (Err(a), Err(StreamError::Jwe(b))) => {
            assert_eq!(a, b, "errors differ");
            None
        }
        (a, b) => panic!(
            "verdicts differ: in memory {:?}, streamed {b:?}",
            a.map(|p| p.bytes().len())
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn jwe_stream_property_holds_on_the_vectors_and_mutations() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors/jwe");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).expect("vectors") {
            let token = std::fs::read(entry.expect("entry").path()).expect("read");
            super::jwe_stream(&token);
            // A few cheap mutations of each: truncated, a byte flipped in the middle, not UTF-8.
            super::jwe_stream(&token[..token.len() / 2]);
            let mut t = token.clone();
            let mid = t.len() / 2;
            t[mid] ^= 0x01;
            super::jwe_stream(&t);
            t.push(0xff);
            super::jwe_stream(&t);
            n += 1;
        }
        assert!(n >= 40, "only {n} vectors");
    }
}
