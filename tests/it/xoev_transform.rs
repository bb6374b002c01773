//! The transform on every valid XÖV sample we have: the shared XBau samples (fv-testdateien,
//! fv-generated), the valid KoSIT XGewerbeanzeige 2.2 sample and our own examples.
//!
//! For each: an insta snapshot of the JSON (redacted, see [`redact`]), the round trip
//! XML → JSON → XML (valid, same infoset, same JSON again) and validation of the JSON against
//! the JSON Schema generated for its message type.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use poststelle::config::Limits;
use poststelle::xml::{BoundedReader, Event};
use poststelle::xoev::catalog::Catalog;
use poststelle::xoev::json_schema::json_schema;
use poststelle::xoev::pack::{PackSources, discover};
use poststelle::xoev::pack_files::PackLimits;
use poststelle::xoev::registry::Registry;
use poststelle::xoev::root::document_root;
use poststelle::xoev::transform::{
    DiscardBinaries, MemoryBinaries, MessageIdentity, WriteOptions, to_xml, transform_to_writer,
    transform_with_sink,
};
use poststelle::xsd::{self, Grammar, ValidationOptions};
use serde_json::Value as Json;

use super::xoev_support::{repo, shared};
use super::xsd_validator::compile_text;

/// Keys whose string values are kept in snapshots: code-list identities, the message identity
/// (but not the pack fingerprint) and its fixed root attributes, structure markers and binary references. Every other string value
/// (names, addresses, dates, free text, ids) is replaced by `"[string]"`; booleans and numbers
/// stay, as they pin the typing rules and are not personal in these samples.
const KEPT: &[&str] = &[
    "code",
    "listURI",
    "listVersionID",
    "@standard",
    "@version",
    "#order",
    "attachment",
    "sha512",
    "@xsi:type",
    "standard",
    "version",
    "type",
    "namespace",
];

/// The documented redaction pass of the snapshots.
pub(crate) fn redact(v: &Json, key: &str) -> Json {
    match v {
        Json::String(_) if KEPT.contains(&key) => v.clone(),
        Json::String(_) => Json::String("[string]".into()),
        Json::Array(items) => Json::Array(items.iter().map(|i| redact(i, key)).collect()),
        Json::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (k.clone(), redact(v, k))).collect())
        }
        other => other.clone(),
    }
}

fn samples() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "xoev/samples/xbau/fv-testdateien",
        "xoev/samples/xbau/fv-generated",
    ] {
        let mut list: Vec<PathBuf> = std::fs::read_dir(shared().join(dir))
            .expect("shared XBau samples present")
            .map(|e| e.expect("dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        list.sort();
        files.extend(list);
    }
    files.push(shared().join("xoev/samples/xgewerbeanzeige/xgwa2.2-valid.xml"));
    files.push(repo("examples/xbau/baugenehmigung.antrag.0200.xml"));
    files.push(repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml"));
    files
}

pub(crate) fn registry() -> Registry<'static> {
    let sources = PackSources {
        packs_dir: repo("target/no-installed-packs"),
        shared_dir: Some(shared()),
        repo_dir: Some(repo("")),
    };
    discover(Catalog::embedded(), &sources, &PackLimits::default()).0
}

/// Snapshot name: set + file stem, stable across machines.
fn snapshot_name(path: &Path) -> String {
    let set = path
        .parent()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("{set}__{stem}")
}

/// An element of the infoset comparison: name, attributes (xsi:schemaLocation left out, it is
/// a hint the gateway never uses), children and whitespace-collapsed character data.
#[derive(Debug, PartialEq)]
struct Node {
    name: (String, String),
    attrs: Vec<(String, String, String)>,
    text: String,
    children: Vec<Node>,
}

fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

fn infoset(bytes: &[u8]) -> Node {
    let limits = Limits::default();
    let mut r = BoundedReader::from_bytes(bytes, &limits.xml);
    let mut stack: Vec<Node> = Vec::new();
    loop {
        match r.next_event().expect("well-formed") {
            Event::Start(tag) => {
                let n = tag.name();
                let mut attrs: Vec<(String, String, String)> = tag
                    .attributes()
                    .filter(|a| a.name.local != "schemaLocation")
                    .map(|a| {
                        (
                            a.name.namespace.to_owned(),
                            a.name.local.to_owned(),
                            collapse(a.value),
                        )
                    })
                    .collect();
                attrs.sort();
                stack.push(Node {
                    name: (n.namespace.to_owned(), n.local.to_owned()),
                    attrs,
                    text: String::new(),
                    children: Vec::new(),
                });
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(t);
                }
            }
            Event::End => {
                let mut done = stack.pop().expect("balanced");
                done.text = collapse(&done.text);
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return done,
                }
            }
            Event::Eof => panic!("no root element"),
        }
    }
}

/// Decimal text in its shortest form (the transform writes decimals that way), else `None`.
fn canonical_decimal(s: &str) -> Option<String> {
    let (sign, digits) = match s.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let sign = if int == "0" && frac.is_empty() {
        ""
    } else {
        sign
    };
    Some(if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    })
}

/// `a` (the input) and `b` (the round trip) have the same infoset; `b` may carry attributes
/// the schema defaults (filled in by the transform), which `allowed_extra` names.
fn same_infoset(a: &Node, b: &Node, path: &str, allowed_extra: &[&str]) -> Result<(), String> {
    let here = format!("{path}/{}", a.name.1);
    if a.name != b.name {
        return Err(format!("{here}: element name differs: {:?}", b.name));
    }
    for attr in &a.attrs {
        if !b.attrs.contains(attr) {
            return Err(format!("{here}: attribute {} lost or changed", attr.1));
        }
    }
    for attr in &b.attrs {
        if !a.attrs.iter().any(|x| x.0 == attr.0 && x.1 == attr.1)
            && !allowed_extra.contains(&attr.1.as_str())
        {
            return Err(format!("{here}: attribute {} added", attr.1));
        }
    }
    // Decimals come back in their shortest form (`680.00` → `680`), the documented rule.
    let same_text = a.text == b.text
        || canonical_decimal(&a.text).is_some_and(|x| Some(x) == canonical_decimal(&b.text));
    if a.children.is_empty() != b.children.is_empty() || (a.children.is_empty() && !same_text) {
        return Err(format!("{here}: character data differs"));
    }
    if a.children.len() != b.children.len() {
        return Err(format!(
            "{here}: {} children, round trip has {}",
            a.children.len(),
            b.children.len()
        ));
    }
    for (x, y) in a.children.iter().zip(&b.children) {
        same_infoset(x, y, &here, allowed_extra)?;
    }
    Ok(())
}

fn load(
    registry: &Registry<'_>,
    cache: &mut HashMap<PathBuf, std::rc::Rc<Grammar>>,
    file: &Path,
) -> (std::rc::Rc<Grammar>, MessageIdentity) {
    let limits = Limits::default();
    let root = document_root(
        BufReader::new(File::open(file).expect("sample")),
        &limits.xml,
    )
    .expect("root");
    let resolved = registry
        .resolve(&root.namespace, &root.local)
        .expect("sample message is supported");
    let grammar = cache
        .entry(resolved.entry.clone())
        .or_insert_with(|| {
            std::rc::Rc::new(xsd::compile_file(&resolved.entry, &limits).expect("pack compiles"))
        })
        .clone();
    (grammar, MessageIdentity::from_resolved(&resolved))
}

#[test]
fn xoev_transform_samples_snapshot_round_trip_and_json_schema() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let registry = registry();
    let limits = Limits::default();
    let mut cache = HashMap::new();
    let mut failures = Vec::new();
    let files = samples();
    assert!(files.len() >= 23, "all samples found: {}", files.len());
    for file in &files {
        let name = snapshot_name(file);
        let (grammar, identity) = load(&registry, &mut cache, file);
        let mut bins = MemoryBinaries::default();
        let input = BufReader::new(File::open(file).expect("sample"));
        let out = match transform_with_sink(&grammar, &identity, input, &limits, &mut bins) {
            Ok(t) => t,
            Err(e) => {
                failures.push(format!("{name}: transform failed: {e}"));
                continue;
            }
        };
        let envelope = out.to_json();
        insta::assert_json_snapshot!(name.clone(), redact(&envelope, ""));

        // The streaming writer writes exactly the serialization of that value, compact and
        // pretty (the test build has serde_json's `preserve_order`, so the value serializes in
        // insertion order, the order the stream writes).
        for pretty in [false, true] {
            let mut streamed = Vec::new();
            let input = BufReader::new(File::open(file).expect("sample"));
            let options = WriteOptions {
                pretty,
                ..WriteOptions::default()
            };
            let expected = if pretty {
                serde_json::to_vec_pretty(&out)
            } else {
                serde_json::to_vec(&out)
            }
            .expect("serializes");
            match transform_to_writer(
                &grammar,
                &identity,
                input,
                &limits,
                &mut DiscardBinaries,
                &mut streamed,
                &options,
            ) {
                Ok(_) if streamed == expected => {}
                Ok(_) => failures.push(format!("{name}: streamed JSON differs (pretty {pretty})")),
                Err(e) => failures.push(format!("{name}: streaming failed: {e}")),
            }
        }

        // Round trip: JSON → XML validates, has the input's infoset and transforms to the same JSON.
        let xml = match to_xml(&grammar, &envelope, &bins) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{name}: to_xml failed: {e}"));
                continue;
            }
        };
        let report = xsd::validate_bytes(
            &grammar,
            xml.as_bytes(),
            &limits,
            &ValidationOptions::default(),
        );
        if !report.is_valid() {
            failures.push(format!(
                "{name}: round trip invalid: {:?}",
                report.errors.first()
            ));
            continue;
        }
        let original = std::fs::read(file).expect("sample");
        if let Err(e) = same_infoset(
            &infoset(&original),
            &infoset(xml.as_bytes()),
            "",
            &["listURI", "listVersionID"],
        ) {
            failures.push(format!("{name}: {e}"));
        }
        let again = transform_with_sink(
            &grammar,
            &identity,
            xml.as_bytes(),
            &limits,
            &mut MemoryBinaries::default(),
        )
        .expect("round trip transforms");
        if again.to_json() != envelope {
            failures.push(format!("{name}: JSON differs after the round trip"));
        }

        // The output validates against the JSON Schema generated for its message type.
        let schema =
            json_schema(&grammar, &identity.namespace, &identity.message_type).expect("schema");
        let validator = jsonschema::validator_for(&schema).expect("generated schema compiles");
        let errors: Vec<String> = validator
            .iter_errors(&envelope)
            .take(3)
            .map(|e| format!("{} (schema {})", e.instance_path(), e.schema_path()))
            .collect();
        if !errors.is_empty() {
            failures.push(format!("{name}: JSON Schema: {errors:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A writer that keeps nothing: counts the bytes and their lines.
#[derive(Default)]
struct Counting {
    bytes: u64,
}

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Our XBau example with `copies` more `antragsteller` and `anlage` elements (both repeatable).
fn enlarged_example(copies: usize) -> String {
    let text = std::fs::read_to_string(repo("examples/xbau/baugenehmigung.antrag.0200.xml"))
        .expect("example");
    let block = |open: &str, close: &str| {
        let start = text.find(open).expect("open tag");
        let end = text[start..].find(close).expect("close tag") + start + close.len();
        (end, &text[start..end])
    };
    let (a_end, antragsteller) = block("<xbau:antragsteller>", "</xbau:antragsteller>");
    let (l_end, anlage) = block("<anlage>", "</anlage>");
    assert!(a_end < l_end);
    let mut out = String::with_capacity(text.len() + copies * (antragsteller.len() + anlage.len()));
    out.push_str(&text[..a_end]);
    for _ in 0..copies {
        out.push_str(antragsteller);
    }
    out.push_str(&text[a_end..l_end]);
    for _ in 0..copies {
        out.push_str(anlage);
    }
    out.push_str(&text[l_end..]);
    out
}

/// Acceptance 4 of issue 4: the transform writes the JSON while it validates, holding memory
/// that does not grow with the document. A message 100 times larger holds the same number of
/// bytes (the elements that are held, like code values, are small and written at once), the
/// stream is the exact serialization of the value API's result, and the counting writer sees
/// every byte.
#[test]
fn xoev_transform_stream_large_message_holds_bounded_memory() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let registry = registry();
    let limits = Limits::default();
    let mut cache = HashMap::new();
    let example = repo("examples/xbau/baugenehmigung.antrag.0200.xml");
    let (grammar, identity) = load(&registry, &mut cache, &example);
    let mut peaks = Vec::new();
    for copies in [20, 2000] {
        let xml = enlarged_example(copies);
        let mut counter = Counting::default();
        let written = transform_to_writer(
            &grammar,
            &identity,
            xml.as_bytes(),
            &limits,
            &mut DiscardBinaries,
            &mut counter,
            &WriteOptions::default(),
        )
        .expect("enlarged example is valid");
        assert_eq!(written.bytes, counter.bytes);
        if copies == 20 {
            let value = transform_with_sink(
                &grammar,
                &identity,
                xml.as_bytes(),
                &limits,
                &mut DiscardBinaries,
            )
            .expect("valid");
            let mut out = Vec::new();
            transform_to_writer(
                &grammar,
                &identity,
                xml.as_bytes(),
                &limits,
                &mut DiscardBinaries,
                &mut out,
                &WriteOptions::default(),
            )
            .expect("valid");
            assert!(out == serde_json::to_vec(&value).expect("serializes"));
        } else {
            assert!(xml.len() > 2_000_000, "{} bytes of XML", xml.len());
            assert!(counter.bytes > 1_000_000, "{} bytes of JSON", counter.bytes);
        }
        peaks.push(written.peak_buffered);
    }
    assert_eq!(
        peaks[0], peaks[1],
        "held bytes do not grow with the document"
    );
    assert!(peaks[1] < 4096, "held at most {} bytes", peaks[1]);
}

/// Transforms `doc`, a test message whose root element is `{namespace}root`, to compact JSON.
fn transform_root(
    grammar: &Grammar,
    namespace: &str,
    doc: &str,
) -> Result<String, poststelle::xoev::transform::TransformError> {
    let identity = MessageIdentity {
        standard: String::new(),
        version: String::new(),
        message_type: "root".into(),
        namespace: namespace.into(),
        schema_uri: None,
        schema_pack: "test".into(),
        pass_through: false,
    };
    let mut out = Vec::new();
    transform_to_writer(
        grammar,
        &identity,
        doc.as_bytes(),
        &Limits::default(),
        &mut DiscardBinaries,
        &mut out,
        &WriteOptions::default(),
    )
    .map(|_| String::from_utf8(out).expect("UTF-8"))
}

/// A code type (derived from XÖV `Code`) writes `listURI` without `@`: a child element of the
/// same name would repeat the key. The streamed object must not get a duplicate key; the
/// transform refuses instead (as it did before keys were tracked by position).
#[test]
fn xoev_transform_refuses_a_child_that_repeats_a_code_attribute_key() {
    let grammar = compile_text(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:c="http://xoev.de/schemata/code/1_0" targetNamespace="http://xoev.de/schemata/code/1_0">
  <xs:complexType name="Code">
    <xs:sequence>
      <xs:element name="code" type="xs:token"/>
      <xs:element name="listURI" type="xs:string" minOccurs="0"/>
    </xs:sequence>
    <xs:attribute name="listURI" type="xs:anyURI"/>
  </xs:complexType>
  <xs:element name="root"><xs:complexType><xs:sequence>
    <xs:element name="c" type="c:Code" maxOccurs="2"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#,
    )
    .expect("compiles");
    let run = |doc: &str| transform_root(&grammar, "http://xoev.de/schemata/code/1_0", doc);
    let ok = run(
        r#"<c:root xmlns:c="http://xoev.de/schemata/code/1_0"><c listURI="urn:l"><code>x</code></c><c><code>y</code><listURI>z</listURI></c></c:root>"#,
    )
    .expect("no key repeated");
    assert!(
        ok.contains(r#""data":{"c":[{"listURI":"urn:l","code":"x"},{"code":"y","listURI":"z"}]}"#),
        "{ok}"
    );
    let err = run(
        r#"<c:root xmlns:c="http://xoev.de/schemata/code/1_0"><c listURI="urn:l"><code>x</code><listURI>z</listURI></c></c:root>"#,
    )
    .expect_err("the key would repeat");
    assert!(err.to_string().contains("listURI"), "{err}");
}

/// An element matched by a lax wildcard and typed by its xsi:type alone (no declaration) is
/// transformed by its type, records `@xsi:type`, and `--to-xml` gives it back with the type,
/// valid again (issue 18, goal 5: cvc-assess-elt 1.2).
#[test]
fn xoev_transform_keeps_the_xsi_type_of_a_wildcard_element_through_the_round_trip() {
    let ns = "urn:w";
    let grammar = compile_text(&format!(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:w="{ns}"
    targetNamespace="{ns}" elementFormDefault="qualified">
  <xs:complexType name="T"><xs:sequence><xs:element name="n" type="xs:int"/></xs:sequence></xs:complexType>
  <xs:element name="root"><xs:complexType><xs:sequence>
    <xs:any processContents="lax" maxOccurs="unbounded"/>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#
    ))
    .expect("compiles");
    let doc = format!(
        r#"<w:root xmlns:w="{ns}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><w:x xsi:type="w:T"><w:n> 42 </w:n></w:x></w:root>"#
    );
    let out = transform_root(&grammar, ns, &doc).expect("transforms");
    let envelope: Json = serde_json::from_str(&out).expect("JSON");
    let x = &envelope["data"]["{urn:w}x"][0];
    assert_eq!(x["@xsi:type"], Json::from("{urn:w}T"), "{envelope}");
    assert_eq!(x["n"], Json::from(42), "typed by T: a number, {envelope}");
    let xml = to_xml(&grammar, &envelope, &MemoryBinaries::default()).expect("to XML");
    assert!(xml.contains("xsi:type="), "{xml}");
    let report = xsd::validate_bytes(
        &grammar,
        xml.as_bytes(),
        &Limits::default(),
        &ValidationOptions::default(),
    );
    assert!(report.is_valid(), "{xml}: {:?}", report.errors);
}
