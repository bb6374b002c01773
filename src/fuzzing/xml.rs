//! The XML reader, root sniffing and XSD validation against XBau 2.6.

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

/// Root sniffing property: [`document_root`](crate::xoev::root::document_root) names the
/// first start tag the full reader reports, at the same position, or fails exactly where the
/// full reader fails before any start tag; buffering does not change the answer.
pub fn root_sniff(data: &[u8]) {
    use crate::xoev::root::document_root;
    let limits = XmlLimits::default();
    let sniffed = document_root(data, &limits);
    let chunked = document_root(BufReader::with_capacity(1, data), &limits);
    assert_eq!(sniffed, chunked, "root sniffing depends on buffering");
    let mut reader = BoundedReader::from_bytes(data, &limits);
    loop {
        match reader.next_event() {
            Ok(Event::Start(tag)) => {
                let name = tag.name();
                let (ns, local) = (name.namespace.to_owned(), name.local.to_owned());
                let root = sniffed.expect("the full reader found a root element");
                assert_eq!((root.namespace, root.local), (ns, local), "different root");
                assert_eq!(root.pos, reader.position(), "different root position");
                return;
            }
            Ok(Event::Text(_) | Event::End) => {}
            Ok(Event::Eof) => {
                assert!(sniffed.is_err(), "a root where the full reader found none");
                return;
            }
            Err(e) => {
                assert_eq!(
                    sniffed,
                    Err(e),
                    "the reader failed before the root, differently"
                );
                return;
            }
        }
    }
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
        // The proof names the root's declaration; a root assessed by its xsi:type alone has
        // none and gets no proof.
        assert_eq!(
            whole.clone().into_validated().is_ok(),
            whole.root.is_some(),
            "a valid report gives a proof exactly when its root is declared"
        );
        let again = validate_bytes(grammar, data, &limits, &options);
        assert!(again.is_valid(), "valid document did not re-validate");
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
    fn root_sniff_property_holds_on_samples() {
        for doc in [
            &b"<?xml version='1.0'?><!-- c --><p:r xmlns:p='urn:p'><a/></p:r>"[..],
            b"\xef\xbb\xbf<r/>",
            b"  <r",
            b"<!DOCTYPE r><r/>",
            b"",
            b"text<r/>",
            b"<?xml version='1.0'?>",
        ] {
            super::root_sniff(doc);
        }
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
