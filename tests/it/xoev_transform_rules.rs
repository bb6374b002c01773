//! The mapping rules of the transform, pinned on a small schema written for the purpose: the
//! array rule, absent optional elements, value typing, code types with fixed values, simple
//! content, mixed content, `#order`, binaries; errors; and the CLI.

use poststelle::config::Limits;
use poststelle::xoev::json_schema::json_schema;
use poststelle::xoev::transform::{
    DiscardBinaries, MemoryBinaries, MessageIdentity, TransformError, WriteOptions, to_xml,
    transform, transform_to_writer, transform_with_sink,
};
use poststelle::xsd::{self, Grammar};
use serde_json::{Value as Json, json};

use super::xoev_support::{poststelle, repo, shared, text};

const CODE_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://xoev.de/schemata/code/1_0">
 <xs:complexType name="Code">
  <xs:sequence>
   <xs:element name="code" type="xs:token" form="unqualified"/>
   <xs:element name="name" type="xs:normalizedString" minOccurs="0" form="unqualified"/>
  </xs:sequence>
  <xs:attribute name="listURI" type="xs:anyURI"/>
  <xs:attribute name="listVersionID" type="xs:normalizedString"/>
 </xs:complexType>
</xs:schema>"#;

const MAIN_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t"
  xmlns:c="http://xoev.de/schemata/code/1_0" targetNamespace="urn:t" elementFormDefault="qualified">
 <xs:import namespace="http://xoev.de/schemata/code/1_0" schemaLocation="code.xsd"/>
 <xs:complexType name="Code.Farbe">
  <xs:complexContent><xs:restriction base="c:Code">
   <xs:sequence>
    <xs:element name="code" type="xs:token" form="unqualified"/>
    <xs:element name="name" type="xs:normalizedString" minOccurs="0" form="unqualified"/>
   </xs:sequence>
   <xs:attribute name="listURI" type="xs:anyURI" fixed="urn:farben"/>
   <xs:attribute name="listVersionID" type="xs:normalizedString" fixed="1.0"/>
  </xs:restriction></xs:complexContent>
 </xs:complexType>
 <xs:element name="root">
  <xs:complexType>
   <xs:sequence>
    <xs:element name="item" type="xs:string" maxOccurs="unbounded"/>
    <xs:sequence maxOccurs="2"><xs:element name="inGroup" type="xs:int"/></xs:sequence>
    <xs:element name="opt" type="xs:string" minOccurs="0"/>
    <xs:element name="flag" type="xs:boolean"/>
    <xs:element name="count" type="xs:integer"/>
    <xs:element name="big" type="xs:integer"/>
    <xs:element name="amount" type="xs:decimal"/>
    <xs:element name="day" type="xs:date"/>
    <xs:element name="farbe" type="t:Code.Farbe"/>
    <xs:element name="blob" type="xs:base64Binary"/>
    <xs:element name="measure"><xs:complexType><xs:simpleContent>
     <xs:extension base="xs:decimal"><xs:attribute name="unit" type="xs:token" use="required"/></xs:extension>
    </xs:simpleContent></xs:complexType></xs:element>
    <xs:element name="note"><xs:complexType mixed="true"><xs:sequence>
     <xs:element name="b" type="xs:string" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence></xs:complexType></xs:element>
    <xs:element name="pair" minOccurs="0"><xs:complexType>
     <xs:sequence maxOccurs="unbounded"><xs:element name="k" type="xs:string"/><xs:element name="v" type="xs:string"/></xs:sequence>
    </xs:complexType></xs:element>
    <xs:element name="mix" minOccurs="0"><xs:complexType>
     <xs:choice maxOccurs="unbounded"><xs:element name="x" type="xs:string"/><xs:element name="y" type="xs:string"/></xs:choice>
    </xs:complexType></xs:element>
   </xs:sequence>
   <xs:attribute name="version" type="xs:string" fixed="1.0"/>
  </xs:complexType>
 </xs:element>
</xs:schema>"#;

const DOC: &str = r#"<t:root xmlns:t="urn:t">
 <t:item>one</t:item>
 <t:inGroup>5</t:inGroup>
 <t:flag>1</t:flag>
 <t:count>0042</t:count>
 <t:big>123456789012345678901234567890</t:big>
 <t:amount>12.50</t:amount>
 <t:day>2026-12-02</t:day>
 <t:farbe><code> rot </code></t:farbe>
 <t:blob>aGVsbG8=</t:blob>
 <t:measure unit="m">3.0</t:measure>
 <t:note>Hello <t:b>bold</t:b> world</t:note>
 <t:pair><t:k>a</t:k><t:v>1</t:v><t:k>b</t:k><t:v>2</t:v></t:pair>
 <t:mix><t:x>1</t:x><t:y>2</t:y><t:x>3</t:x></t:mix>
</t:root>"#;

fn grammar() -> (tempfile::TempDir, Grammar) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("code.xsd"), CODE_XSD).expect("write");
    std::fs::write(dir.path().join("main.xsd"), MAIN_XSD).expect("write");
    let g = xsd::compile_file(&dir.path().join("main.xsd"), &Limits::default()).expect("compiles");
    (dir, g)
}

fn identity() -> MessageIdentity {
    MessageIdentity {
        standard: "Test".into(),
        version: "1".into(),
        message_type: "root".into(),
        namespace: "urn:t".into(),
        schema_uri: None,
        schema_pack: "test@none".into(),
        pass_through: false,
    }
}

#[test]
fn xoev_transform_rules_are_pinned() {
    let (_dir, g) = grammar();
    let mut bins = MemoryBinaries::default();
    let out = transform_with_sink(
        &g,
        &identity(),
        DOC.as_bytes(),
        &Limits::default(),
        &mut bins,
    )
    .expect("valid");
    let sha = out.binaries[0].sha512.clone();
    assert_eq!(
        out.data,
        json!({
            "@version": "1.0",
            "item": ["one"],
            "inGroup": [5],
            "flag": true,
            "count": 42,
            "big": "123456789012345678901234567890",
            "amount": "12.5",
            "day": "2026-12-02",
            "farbe": {"code": "rot", "listURI": "urn:farben", "listVersionID": "1.0"},
            "blob": {"attachment": "binary-1", "size": 5, "sha512": sha},
            "measure": {"@unit": "m", "#value": "3"},
            "note": {"#text": ["Hello ", " world"], "b": ["bold"], "#order": ["#text", "b", "#text"]},
            "pair": {"k": ["a", "b"], "v": ["1", "2"], "#order": ["k", "v", "k", "v"]},
            "mix": {"x": ["1", "3"], "y": ["2"], "#order": ["x", "y", "x"]}
        })
    );
    // The array rule: one occurrence of a maxOccurs > 1 element (or of an element in a
    // repeatable group) is still an array; an absent optional element is absent, not null.
    assert!(out.data["item"].is_array() && out.data["inGroup"].is_array());
    assert!(out.data.get("opt").is_none());
    // Binaries: the JSON has no payload; the sink has the octets; the hash is SHA-512.
    assert_eq!(bins.0["binary-1"], b"hello");
    assert_eq!(out.binaries[0].size, 5);
    assert!(sha.starts_with("9b71d224bd62f378"), "sha512(hello)");
    assert!(!out.to_json().to_string().contains("aGVsbG8="));
}

#[test]
fn xoev_transform_rules_round_trip_keeps_order_and_mixed_text() {
    let (_dir, g) = grammar();
    let limits = Limits::default();
    let mut bins = MemoryBinaries::default();
    let out =
        transform_with_sink(&g, &identity(), DOC.as_bytes(), &limits, &mut bins).expect("valid");
    let xml = to_xml(&g, &out.to_json(), &bins).expect("to xml");
    assert!(xml.contains(">Hello <n4:b>bold</n4:b> world</"), "{xml}");
    let again = transform_with_sink(
        &g,
        &identity(),
        xml.as_bytes(),
        &limits,
        &mut MemoryBinaries::default(),
    )
    .expect("round trip is valid");
    assert_eq!(again.data, out.data);
    // Document order inside repeated groups comes back from `#order`.
    assert!(
        xml.contains("<n4:x>1</n4:x><n4:y>2</n4:y><n4:x>3</n4:x>"),
        "{xml}"
    );
    assert!(
        xml.contains("<n4:k>a</n4:k><n4:v>1</n4:v><n4:k>b</n4:k><n4:v>2</n4:v>"),
        "{xml}"
    );
}

#[test]
fn xoev_transform_rules_json_schema_pins_the_shape() {
    let (_dir, g) = grammar();
    let out = transform(&g, &identity(), DOC.as_bytes(), &Limits::default()).expect("valid");
    let schema = json_schema(&g, "urn:t", "root").expect("schema");
    let v = jsonschema::validator_for(&schema).expect("compiles");
    let envelope = out.to_json();
    assert!(v.is_valid(&envelope));
    // A single item instead of an array, a null for an absent element, an extra key: rejected.
    for (key, bad) in [
        ("item", json!("one")),
        ("opt", Json::Null),
        ("unknown", json!(1)),
    ] {
        let mut e = envelope.clone();
        e["data"][key] = bad;
        assert!(!v.is_valid(&e), "{key} accepted");
    }
    let mut e = envelope.clone();
    e["data"].as_object_mut().expect("object").remove("flag");
    assert!(!v.is_valid(&e), "required child missing accepted");
}

#[test]
fn xoev_transform_rules_invalid_and_wrong_message_are_distinct_errors() {
    let (_dir, g) = grammar();
    let limits = Limits::default();
    let invalid = DOC.replace("<t:flag>1</t:flag>", "<t:flag>Mustermann</t:flag>");
    match transform(&g, &identity(), invalid.as_bytes(), &limits) {
        Err(TransformError::Invalid(report)) => {
            assert!(!report.errors.is_empty());
            assert!(
                report
                    .errors
                    .iter()
                    .all(|e| !e.message.contains("Mustermann")),
                "no values"
            );
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
    let mut wrong = identity();
    wrong.namespace = "urn:other".into();
    assert!(matches!(
        transform(&g, &wrong, DOC.as_bytes(), &limits),
        Err(TransformError::WrongMessage { .. })
    ));
    assert!(matches!(
        transform(&g, &identity(), &b"<t:root xmlns:t='urn:t'>"[..], &limits),
        Err(TransformError::Invalid(_))
    ));
}

#[test]
fn xoev_transform_cli_exit_codes_and_round_trip() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let bins = dir.path().join("bins");
    let example = repo("examples/xbau/baugenehmigung.antrag.0200.xml");
    let out = poststelle(&[
        "transform".as_ref(),
        "--binaries".as_ref(),
        bins.as_os_str(),
        example.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let envelope: Json = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(envelope["message"]["type"], "baugenehmigung.antrag.0200");
    assert_eq!(envelope["message"]["standard"], "XBau");
    assert!(
        !envelope["binaries"]
            .as_array()
            .expect("binaries")
            .is_empty()
    );
    let json_file = dir.path().join("out.json");
    std::fs::write(&json_file, &out.stdout).expect("write");
    let back = poststelle(&[
        "transform".as_ref(),
        "--to-xml".as_ref(),
        "--binaries".as_ref(),
        bins.as_os_str(),
        json_file.as_os_str(),
    ]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back));
    let xml_file = dir.path().join("back.xml");
    std::fs::write(&xml_file, &back.stdout).expect("write");
    let valid = poststelle(&["validate".as_ref(), xml_file.as_os_str()]);
    assert_eq!(valid.status.code(), Some(0), "{}", text(&valid));

    let negative = shared().join("xoev/samples/xbau/negative/m2_enum_code.xml");
    let out = poststelle(&["transform".as_ref(), negative.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty(), "no JSON for an invalid document");
    let unknown = shared().join("xoev/samples/xgewerbeanzeige/xy-unknown.xml");
    let out = poststelle(&["transform".as_ref(), unknown.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    let out = poststelle(&[
        "schemas".as_ref(),
        "json-schema".as_ref(),
        "xbau-2.6".as_ref(),
        "baugenehmigung.antrag.0200".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let schema: Json = serde_json::from_slice(&out.stdout).expect("schema JSON");
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(
        jsonschema::validator_for(&schema)
            .expect("compiles")
            .is_valid(&envelope)
    );
    let out = poststelle(&[
        "schemas".as_ref(),
        "json-schema".as_ref(),
        "xbau-2.6".as_ref(),
        "no.such.message".as_ref(),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn xoev_transform_rules_hostile_input_gives_precise_errors() {
    let (_dir, g) = grammar();
    let limits = Limits::default();
    let doctype = format!("<!DOCTYPE r [<!ENTITY a 'aaaa'>]>{DOC}");
    assert!(matches!(
        transform(&g, &identity(), doctype.as_bytes(), &limits),
        Err(TransformError::Invalid(_))
    ));
    let mut bins = MemoryBinaries::default();
    let out =
        transform_with_sink(&g, &identity(), DOC.as_bytes(), &limits, &mut bins).expect("valid");
    let good = out.to_json();
    // JSON that does not fit the schema: precise errors naming the place, never a panic.
    let cases: Vec<(&str, Json)> = vec![
        ("/data/mix", json!({"x": ["1"], "#order": ["x", "x"]})),
        (
            "/data/blob",
            json!({"attachment": "../../etc/passwd", "size": 1, "sha512": "00"}),
        ),
        ("/data/farbe", json!("not an object")),
        ("/data/item", json!([{"nested": true}])),
    ];
    for (path, bad) in cases {
        let mut e = good.clone();
        let key = path.rsplit('/').next().expect("key");
        e["data"][key] = bad;
        let err = to_xml(&g, &e, &bins).expect_err(path);
        assert!(err.path.starts_with(path), "{path}: {err}");
    }
    assert!(
        to_xml(
            &g,
            &json!({"message": {"namespace": "urn:t", "type": "nope"}, "data": {}}),
            &bins
        )
        .is_err()
    );
}

/// Streaming: the written bytes are the serialization of the value API's result (compact and
/// pretty); parts that must be held (mixed content, `#order`) obey the limit.
#[test]
fn xoev_transform_rules_stream_matches_value_and_obeys_the_buffer_limit() {
    let (_dir, g) = grammar();
    let limits = Limits::default();
    let stream = |doc: &str, out: &mut Vec<u8>, options: &WriteOptions| {
        transform_to_writer(
            &g,
            &identity(),
            doc.as_bytes(),
            &limits,
            &mut DiscardBinaries,
            out,
            options,
        )
    };
    let value = transform(&g, &identity(), DOC.as_bytes(), &limits).expect("valid");
    for pretty in [false, true] {
        let mut out = Vec::new();
        let options = WriteOptions {
            pretty,
            ..WriteOptions::default()
        };
        let written = stream(DOC, &mut out, &options).expect("valid");
        // The test build has serde_json's `preserve_order` (a dev-dependency enables it), so
        // the value serializes in insertion order, which is the order the stream writes.
        let expected = if pretty {
            serde_json::to_vec_pretty(&value)
        } else {
            serde_json::to_vec(&value)
        }
        .expect("serializes");
        assert_eq!(
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&expected)
        );
        assert_eq!(written.bytes, out.len() as u64);
        assert_eq!(written.binaries, value.binaries);
        // note, pair and mix are held until they end: small, but not nothing.
        assert!(written.peak_buffered > 0);
    }
    let tight = WriteOptions {
        max_buffered: 40,
        ..WriteOptions::default()
    };
    let result = stream(DOC, &mut Vec::new(), &tight);
    assert!(
        matches!(result, Err(TransformError::BufferLimit { limit: 40 })),
        "{result:?}"
    );
    // Invalid wins over the buffer limit: the report is what the user needs.
    let invalid = DOC.replace("<t:flag>1</t:flag>", "<t:flag>maybe</t:flag>");
    let result = stream(&invalid, &mut Vec::new(), &tight);
    assert!(
        matches!(result, Err(TransformError::Invalid(_))),
        "{result:?}"
    );
}

/// The CLI publishes JSON only for a valid document: `--output FILE` is replaced atomically
/// when valid and left untouched (no temporary file left behind) when not; the JSON is the
/// same as on stdout.
#[test]
fn xoev_transform_cli_output_file_only_for_valid_documents() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("out.json");
    let example = repo("examples/xbau/baugenehmigung.antrag.0200.xml");
    let stdout = poststelle(&["transform".as_ref(), example.as_os_str()]);
    assert_eq!(stdout.status.code(), Some(0), "{}", text(&stdout));
    let out = poststelle(&[
        "transform".as_ref(),
        "--output".as_ref(),
        target.as_os_str(),
        example.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert_eq!(std::fs::read(&target).expect("written"), stdout.stdout);

    std::fs::write(&target, b"previous").expect("write");
    let negative = shared().join("xoev/samples/xbau/negative/m2_enum_code.xml");
    let out = poststelle(&[
        "transform".as_ref(),
        "-o".as_ref(),
        target.as_os_str(),
        negative.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("invalid, not transformed"));
    assert_eq!(std::fs::read(&target).expect("kept"), b"previous");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(
        left,
        vec![std::ffi::OsString::from("out.json")],
        "no temporary file left"
    );
}

/// `transform --to-xml` on an envelope the CLI itself produced from [`DOC`], after `edit`.
fn to_xml_cli(edit: impl FnOnce(&mut Json)) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let schemas = dir.path().join("xsd");
    std::fs::create_dir(&schemas).expect("mkdir");
    std::fs::write(schemas.join("code.xsd"), CODE_XSD).expect("write");
    std::fs::write(schemas.join("main.xsd"), MAIN_XSD).expect("write");
    let doc = dir.path().join("doc.xml");
    std::fs::write(&doc, DOC).expect("write");
    let bins = dir.path().join("bins");
    let out = poststelle(&[
        "transform".as_ref(),
        "--schema-dir".as_ref(),
        schemas.as_os_str(),
        "--binaries".as_ref(),
        bins.as_os_str(),
        doc.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut envelope: Json = serde_json::from_slice(&out.stdout).expect("JSON");
    edit(&mut envelope);
    let json_file = dir.path().join("edited.json");
    std::fs::write(&json_file, envelope.to_string()).expect("write");
    poststelle(&[
        "transform".as_ref(),
        "--to-xml".as_ref(),
        "--schema-dir".as_ref(),
        schemas.as_os_str(),
        "--binaries".as_ref(),
        bins.as_os_str(),
        json_file.as_os_str(),
    ])
}

#[test]
fn transform_to_xml_refuses_characters_not_allowed_in_xml() {
    let unedited = to_xml_cli(|_| {});
    assert_eq!(unedited.status.code(), Some(0), "{}", text(&unedited));
    let out = to_xml_cli(|e| e["data"]["item"][0] = json!("secret\u{1}value"));
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(out.stdout.is_empty(), "no XML for an invalid result");
    assert!(shown.contains("/data/item"), "{shown}");
    assert!(shown.contains("U+0001"), "{shown}");
    assert!(!shown.contains("secret"), "no values in messages: {shown}");
    let out = to_xml_cli(|e| e["data"]["note"]["#text"][0] = json!("\u{FFFF}"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("U+FFFF"), "{}", text(&out));
}

#[test]
fn transform_to_xml_exits_1_without_output_when_the_result_is_invalid() {
    // Before: exit 0 with XML that `validate` rejects.
    let out = to_xml_cli(|e| e["data"]["count"] = json!("forty-two"));
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(1), "{shown}");
    assert!(out.stdout.is_empty(), "no XML for an invalid result");
    assert!(shown.contains(":count: value not valid"), "{shown}");
    assert!(
        !shown.contains("forty-two"),
        "no values in messages: {shown}"
    );
    // A required element missing from the JSON: the same.
    let out = to_xml_cli(|e| {
        e["data"].as_object_mut().expect("object").remove("flag");
    });
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(out.stdout.is_empty());
}

#[test]
fn to_xml_refuses_json_keys_that_are_not_xml_names() {
    let (_dir, g) = grammar();
    let mut bins = MemoryBinaries::default();
    let out = transform_with_sink(
        &g,
        &identity(),
        DOC.as_bytes(),
        &Limits::default(),
        &mut bins,
    )
    .expect("valid");
    let mut e = out.to_json();
    e["data"]["@bad name=\"x\""] = json!("1");
    let err = to_xml(&g, &e, &bins).expect_err("not a name");
    assert_eq!(err.path, "/data");
    assert!(err.reason.contains("not an XML name"), "{err}");
}
