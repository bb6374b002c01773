//! The schema-driven transform in both directions and the JSON Schema of its output.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use crate::config::Limits;
use crate::xoev::json_schema::json_schema;
use crate::xoev::transform::{
    DiscardBinaries, MemoryBinaries, MessageIdentity, TransformError, WriteOptions, to_xml,
    transform, transform_to_writer, transform_with_sink,
};
use crate::xsd::Grammar;

/// The two fixed grammars: the test-vector schema (keys, a wildcard, nil, choice, facets) and
/// the repository's XGewerbeanzeige 2.2 pack (XÖV code types, deep nesting).
fn grammars() -> &'static [Grammar; 2] {
    static G: OnceLock<[Grammar; 2]> = OnceLock::new();
    G.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let compile = |p: &str| {
            crate::xsd::compile_file(&root.join(p), &Limits::default())
                .expect("committed schema compiles")
        };
        [
            compile("test-vectors/xsd/schemas/antrag.xsd"),
            compile("schemas/xgewerbeanzeige-2.2/xgewerbeanzeige-nachrichten.xsd"),
        ]
    })
}

/// The identity of a document with root `{namespace}local` (what the registry would name).
fn identity(namespace: &str, local: &str) -> MessageIdentity {
    MessageIdentity {
        standard: "fuzz".into(),
        version: "1".into(),
        message_type: local.into(),
        namespace: namespace.into(),
        schema_pack: "fuzz@0".into(),
        schema_uri: None,
        pass_through: false,
    }
}

/// Compiles the JSON Schema of a message's output (cached per grammar and root for the
/// fixed grammars: generation and compilation cost more than a transform).
fn output_schema(
    grammar: &Grammar,
    cache: bool,
    ns: &str,
    local: &str,
) -> std::sync::Arc<jsonschema::Validator> {
    type Cache = Mutex<HashMap<(usize, String, String), std::sync::Arc<jsonschema::Validator>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let key = (
        std::ptr::from_ref(grammar) as usize,
        ns.to_owned(),
        local.to_owned(),
    );
    if cache
        && let Some(v) = CACHE
            .get_or_init(Cache::default)
            .lock()
            .ok()
            .and_then(|c| c.get(&key).cloned())
    {
        return v;
    }
    let schema = json_schema(grammar, ns, local).expect("the root is a global element");
    let validator = std::sync::Arc::new(
        crate::fitconnect::metadata::compile_schema(&schema)
            .unwrap_or_else(|e| panic!("the generated JSON Schema does not compile: {e}")),
    );
    if cache && let Ok(mut c) = CACHE.get_or_init(Cache::default).lock() {
        c.insert(key, std::sync::Arc::clone(&validator));
    }
    validator
}

/// Transform properties for one grammar and document: the streaming writer and the value API
/// reach the same verdict and, for a valid document, the same bytes; the output validates
/// against the JSON Schema generated for its message; `to_xml` turns it back into a document
/// that is valid and transforms to the same JSON (XML → JSON → XML → JSON is stable).
pub(crate) fn round_trip(grammar: &Grammar, cache_schema: bool, xml: &[u8]) {
    let limits = Limits::default();
    let Ok(root) = crate::xoev::root::document_root(xml, &limits.xml) else {
        return;
    };
    let message = identity(&root.namespace, &root.local);
    let mut binaries = MemoryBinaries::default();
    let value = transform_with_sink(grammar, &message, xml, &limits, &mut binaries);
    let mut written = Vec::new();
    let streamed = transform_to_writer(
        grammar,
        &message,
        xml,
        &limits,
        &mut DiscardBinaries,
        &mut written,
        &WriteOptions::default(),
    );
    let t = match (value, streamed) {
        (Ok(t), Ok(_)) => {
            let expected = serde_json::to_vec(&t).expect("a transform serializes");
            assert_eq!(
                String::from_utf8_lossy(&written),
                String::from_utf8_lossy(&expected),
                "the streamed JSON differs from the value"
            );
            t
        }
        (Ok(_), Err(TransformError::BufferLimit { .. })) => return,
        (Err(TransformError::Invalid(a)), Err(TransformError::Invalid(b))) => {
            assert_eq!(a.errors, b.errors, "the two passes report different errors");
            return;
        }
        (Err(TransformError::WrongMessage { .. }), Err(TransformError::WrongMessage { .. })) => {
            return;
        }
        (a, b) => panic!(
            "value and streamed transform disagree: {:?} / {:?}",
            a.map(|_| ()),
            b.map(|_| ())
        ),
    };
    let envelope = t.to_json();
    let schema = output_schema(grammar, cache_schema, &root.namespace, &root.local);
    if let Some(e) = schema.iter_errors(&envelope).next() {
        panic!(
            "the output violates its JSON Schema at {} ({})",
            e.instance_path(),
            e.kind().keyword()
        );
    }
    let xml2 = to_xml(grammar, &envelope, &binaries)
        .unwrap_or_else(|e| panic!("the transform's own output does not go back to XML: {e}"));
    let again = transform(grammar, &message, xml2.as_bytes(), &limits);
    let again = match again {
        Ok(a) => a,
        Err(TransformError::Invalid(r)) => panic!(
            "to_xml wrote an invalid document: {:?}",
            r.errors.iter().map(ToString::to_string).collect::<Vec<_>>()
        ),
        Err(e) => panic!("to_xml's document does not transform: {e}"),
    };
    assert_eq!(again.data, t.data, "XML → JSON → XML → JSON is not stable");
}

/// Transform property on the two fixed grammars (first byte: which; bit 1: mode). XML mode:
/// see `round_trip`. JSON mode: the rest is a transform envelope; whenever `to_xml` turns
/// it into a valid document, that document round-trips (XML → JSON → XML → JSON) stably.
pub fn transform_round_trip(data: &[u8]) {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let grammar = &grammars()[usize::from(choice & 1)];
    if choice & 2 == 0 {
        round_trip(grammar, true, rest);
        return;
    }
    let Ok(envelope) = serde_json::from_slice::<Value>(rest) else {
        return;
    };
    // Binaries the envelope names but nobody stored are an error of to_xml, not a panic.
    if let Ok(xml) = to_xml(grammar, &envelope, &MemoryBinaries::default()) {
        round_trip(grammar, true, xml.as_bytes());
    }
}
