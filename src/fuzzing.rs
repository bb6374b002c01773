//! Entry points for the fuzz targets in `fuzz/`. Each takes raw bytes and asserts properties,
//! not only "no panic". Not a stable API.

use std::io::BufReader;

use crate::config::XmlLimits;
use crate::xml::{BoundedReader, Event};

/// Renders every event (with its position) or the first error, for comparisons.
fn xml_trace<R: std::io::BufRead>(mut reader: BoundedReader<R>) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match reader.next_event() {
            Ok(Event::Eof) => return out,
            Ok(Event::Start(tag)) => {
                let n = tag.name();
                let mut s = format!("S{{{}}}{}", n.namespace, n.local);
                for a in tag.attributes() {
                    let an = a.name;
                    s.push_str(&format!(" {{{}}}{}={:?}", an.namespace, an.local, a.value));
                }
                out.push(format!("{} {}", reader.position(), s));
            }
            Ok(Event::End) => out.push(format!("{} E", reader.position())),
            Ok(Event::Text(t)) => {
                let t = format!("T{t:?}");
                out.push(format!("{} {t}", reader.position()));
            }
            Err(e) => {
                out.push(format!("error {e}"));
                return out;
            }
        }
    }
}

/// XML reader property: reading from one slice and reading through a one-byte buffer give the
/// same events, positions and errors (no state is lost across buffer boundaries).
pub fn xml_reader(data: &[u8]) {
    let limits = XmlLimits {
        max_text_bytes: 64 * 1024,
        max_markup_bytes: 64 * 1024,
        ..XmlLimits::default()
    };
    let whole = xml_trace(BoundedReader::from_bytes(data, &limits));
    let chunked = xml_trace(BoundedReader::new(
        BufReader::with_capacity(1, data),
        &limits,
    ));
    assert_eq!(whole, chunked, "event streams differ between buffer sizes");
}

/// The XBau 2.6 grammar from `$POSTSTELLE_SHARED/xoev/xbau-2.6/xsd_dev` (default
/// `<manifest dir>/../shared`), compiled once.
fn xbau_grammar() -> Option<&'static crate::xsd::Grammar> {
    use std::sync::OnceLock;
    static GRAMMAR: OnceLock<Option<crate::xsd::Grammar>> = OnceLock::new();
    GRAMMAR
        .get_or_init(|| {
            let shared = std::env::var_os("POSTSTELLE_SHARED")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| {
                    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared")
                });
            let dir = shared.join("xoev/xbau-2.6/xsd_dev");
            crate::xsd::compile_dir(&dir, &crate::Limits::default()).ok()
        })
        .as_ref()
}

/// XSD validator properties on arbitrary bytes against XBau 2.6: no panic; the verdict and the
/// errors are the same when the document is streamed through a one-byte buffer; a valid
/// document yields a proof; errors carry positions and paths and never more than the cap.
pub fn validate_xbau(data: &[u8]) {
    use crate::xsd::{ValidationOptions, validate_bytes, validate_reader};
    let Some(grammar) = xbau_grammar() else {
        return;
    };
    let limits = crate::Limits::default();
    let options = ValidationOptions {
        max_errors: 20,
        ..ValidationOptions::default()
    };
    let whole = validate_bytes(grammar, data, &limits, &options);
    let chunked = validate_reader(
        grammar,
        BufReader::with_capacity(1, data),
        &limits,
        &options,
    );
    assert_eq!(
        whole.is_valid(),
        chunked.is_valid(),
        "verdict depends on buffering"
    );
    let reader_failed = |r: &crate::xsd::ValidationReport| {
        r.errors
            .iter()
            .any(|e| e.kind == crate::xsd::ErrorKind::NotWellFormed)
    };
    if !reader_failed(&whole) && !reader_failed(&chunked) {
        assert_eq!(whole.errors, chunked.errors, "errors depend on buffering");
    }
    assert!(whole.errors.len() <= options.max_errors);
    for e in &whole.errors {
        assert!(e.line >= 1 && e.column >= 1, "error without position: {e}");
    }
    if whole.is_valid() {
        assert!(whole.clone().into_validated().is_ok());
        let again = validate_bytes(grammar, data, &limits, &options);
        assert!(again.is_valid(), "valid document did not re-validate");
    }
}

/// The destination key the JWE test vectors are encrypted for (our own generated test key),
/// so the vectors are meaningful seeds.
fn vector_keyring() -> &'static crate::jose::KeyRing {
    static KEYS: std::sync::OnceLock<crate::jose::KeyRing> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let jwk = crate::jose::Jwk::from_json(include_str!(
            "../test-vectors/keys/destination-encryption.private.jwk.json"
        ))
        .expect("vector key parses");
        crate::jose::KeyRing::from(
            crate::jose::DecryptionKey::from_jwk(&jwk).expect("vector key is a decryption key"),
        )
    })
}

/// JWE property: for any bytes, the streamed decryption (what the gateway does with
/// attachments) reaches the verdict of the in-memory path — the same plaintext or the same
/// error — and bytes that are not UTF-8 (which the in-memory path cannot even take) are refused.
pub fn jwe_stream(data: &[u8]) {
    use crate::jose::{CompactJwe, StreamError, decrypt_seekable};
    let keys = vector_keyring();
    let limits = crate::config::JoseLimits {
        max_inflated_bytes: 1 << 20,
        ..crate::config::JoseLimits::default()
    };
    let mut out = Vec::new();
    let streamed = decrypt_seekable(&mut std::io::Cursor::new(data), &mut out, keys, &limits);
    let Ok(token) = std::str::from_utf8(data) else {
        assert!(
            matches!(streamed, Err(StreamError::Jwe(_))),
            "non-UTF-8 bytes: {streamed:?}"
        );
        return;
    };
    let in_memory = CompactJwe::parse(token, &limits).and_then(|j| j.decrypt(keys, &limits));
    match (in_memory, streamed) {
        (Ok(p), Ok(s)) => {
            assert_eq!(p.bytes(), &out[..], "plaintexts differ");
            assert_eq!(s.len(), out.len() as u64);
            assert_eq!(p.authentication_tag(), s.authentication_tag());
        }
        (Err(a), Err(StreamError::Jwe(b))) => assert_eq!(a, b, "errors differ"),
        (a, b) => panic!(
            "verdicts differ: in memory {:?}, streamed {b:?}",
            a.map(|p| p.bytes().len())
        ),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_reader_property_holds_on_samples() {
        for doc in [
            &b"<r xmlns:p='urn:p'><p:a x='1'>t&amp;x<![CDATA[c]]></p:a>\n<b/></r>"[..],
            b"<r><a></r>",
            b"<!DOCTYPE x><x/>",
            b"<r>\xff</r>",
            // Found by the fuzzer: two byte order marks; quick-xml dropped the second one
            // only when it lay in its first buffer.
            b"\xef\xbb\xbf\xef\xbb\xbf<?xml version='1.0'?><r a='1'/>",
            b"\xef\xbb\xbf\xef\xbf\xbd<r/>",
        ] {
            super::xml_reader(doc);
        }
    }

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

    #[test]
    fn validate_xbau_property_holds_on_samples() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        let sample = shared.join("xoev/samples/xbau/negative/m4_missing_required.xml");
        if let Ok(bytes) = std::fs::read(sample) {
            super::validate_xbau(&bytes);
            super::validate_xbau(&bytes[..bytes.len() / 2]);
        }
        super::validate_xbau(b"<x/>");
        super::validate_xbau(b"\xff\xfe<");
    }
}

#[cfg(test)]
mod buffering_regression {
    use std::io::BufReader;

    /// Fuzz finding (validate_xbau, CI seed corpus): the 0200 sample validated from memory but
    /// not through a one-byte buffer.
    #[test]
    fn xbau_0200_sample_validates_whatever_the_buffering() {
        let Some(grammar) = super::xbau_grammar() else {
            return;
        };
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
        let file = shared.join(
            "xoev/samples/xbau/fv-testdateien/baugenehmigung.antrag.0200_f180ba27-4549-4752-ab01-a7513866faa6.xml",
        );
        let Ok(data) = std::fs::read(&file) else {
            return;
        };
        let limits = crate::Limits::default();
        let options = crate::xsd::ValidationOptions::default();
        for cap in [1, 2, 3, 7, 64] {
            let r = crate::xsd::validate_reader(
                grammar,
                BufReader::with_capacity(cap, &data[..]),
                &limits,
                &options,
            );
            assert!(r.is_valid(), "capacity {cap}: {:?}", r.errors);
        }
    }
}

/// JSON Fachdaten on arbitrary bytes, read and validated as the gateway does (the strict reader
/// within the `[limits.json]` defaults, then the FIM-style test pack's root form from
/// `test-vectors/fim/pack`): no panic; an accepted document survives a round trip through its
/// serialization unchanged (the envelope's `data` is that serialization); a refusal has a
/// position or a place; every violation names its keyword, and each pointer without masked
/// names resolves both in the parsed value and, by [`crate::json::locate`], in the text.
pub fn json_fachdaten(data: &[u8]) {
    use std::sync::OnceLock;

    use crate::fim::JsonPack;
    use crate::json::{JsonError, locate, parse};

    const ROOT: &str = "https://schema.poststelle.invalid/fim/s99000001_1.0.schema.json";
    static PACK: OnceLock<Option<JsonPack>> = OnceLock::new();
    let limits = crate::Limits::default().json;
    let doc = match parse(data, &limits) {
        Ok(doc) => doc,
        Err(JsonError::Syntax { line, column } | JsonError::NumberOutOfRange { line, column }) => {
            assert!(line >= 1 && column >= 1, "position {line}:{column}");
            return;
        }
        Err(JsonError::DuplicateMember { pointer }) => {
            assert!(
                pointer.is_empty() || pointer.starts_with('/'),
                "{pointer:?}"
            );
            return;
        }
        Err(_) => return,
    };
    let text = serde_json::to_vec(&doc).expect("a parsed value serializes");
    assert_eq!(parse(&text, &limits).as_ref(), Ok(&doc), "round trip");
    let pack = PACK.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors/fim/pack");
        let files = crate::xoev::pack_files::read_dir(
            &dir,
            &crate::xoev::pack_files::PackLimits::default(),
            None,
        )
        .ok()?;
        JsonPack::from_files("fuzz", "sha256:fuzz", &files).ok()
    });
    let Some(pack) = pack else {
        return;
    };
    let violations = crate::fim::validate(pack, ROOT, &doc, limits.max_errors)
        .expect("the test pack's root schema compiles");
    assert!(violations.len() <= limits.max_errors);
    for v in violations.iter().filter(|v| !v.pointer.contains('*')) {
        assert!(!v.keyword.is_empty());
        assert!(
            doc.pointer(&v.pointer).is_some(),
            "{} not in the value",
            v.pointer
        );
        assert!(
            locate(data, &v.pointer).is_some(),
            "{} not in the text",
            v.pointer
        );
    }
}
