//! `transform` cases: our XML messages (the `xsd` cases' schema) → the schema-driven JSON of
//! architecture §6, written by hand from the documented mapping (`xoev::transform`): arrays for
//! `maxOccurs` > 1, typed booleans and integers, decimals as exact strings, attributes as
//! `@name`, `xsi:nil` as `null`, whitespace normalised per type.

use serde_json::{Value, json};

use super::Gen;
use super::xsd::{Edit, doc, insert, line};
use crate::vectors::{Kind, VectorsError};

const NS: &str = "urn:poststelle:test-vectors:antrag";
const RULE: &str = "architecture §6 (schema-driven JSON); xoev::transform mapping";

fn message() -> Value {
    json!({"standard": "poststelle-test-vectors", "version": "1", "type": "antrag",
           "namespace": NS, "schemaPack": "test-vectors-antrag"})
}

fn base_data() -> Value {
    json!({
        "@version": "1.0",
        "kopf": {"nachrichtID": "3f2c9a9e-0d6b-4c55-9a2e-6f7f3b1e2d10", "erstellt": "2025-12-31T23:59:00Z"},
        "person": [{"@id": "p1", "name": "Erika Mustermann", "geburtsdatum": "1964-08-12", "plz": "10115", "staat": "DE"}],
        "gewerbe": {"taetigkeit": "Softwareentwicklung", "beschaeftigte": 3},
        "bezug": [{"@person": "p1"}],
        "zustimmung": true
    })
}

fn add(
    g: &mut Gen,
    id: &str,
    desc: &str,
    edits: &[Edit<'_>],
    expected: Value,
    output: Option<String>,
) -> Result<(), VectorsError> {
    let instance = g.file(&format!("transform/{id}.xml"), doc(edits).as_bytes())?;
    let mut inputs = vec![
        ("schema", "xsd/schemas/antrag.xsd".to_owned()),
        ("instance", instance),
    ];
    inputs.extend(output.map(|o| ("output", o)));
    g.case(id, Kind::Transform, desc, RULE, &inputs, expected);
    Ok(())
}

fn json_case(
    g: &mut Gen,
    id: &str,
    desc: &str,
    edits: &[Edit<'_>],
    data: Value,
) -> Result<(), VectorsError> {
    let output = json!({"message": message(), "data": data, "binaries": []});
    let file = g.file(
        &format!("transform/{id}.json"),
        (serde_json::to_string_pretty(&super::sorted(&output)).expect("json") + "\n").as_bytes(),
    )?;
    add(g, id, desc, edits, json!({"result": "json"}), Some(file))
}

fn edit(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = base_data();
    f(&mut v);
    v
}

pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    json_case(
        g,
        "transform-base",
        "The base message: maxOccurs > 1 elements are arrays even with one item; integer and boolean typed.",
        &[],
        base_data(),
    )?;
    json_case(
        g,
        "transform-choice-bau-decimal",
        "xs:decimal becomes its shortest exact string (0012.50 → 12.5).",
        &[Edit {
            from: 13,
            to: 16,
            with: &["  <bau>", "    <flaeche>0012.50</flaeche>", "  </bau>"],
        }],
        edit(|v| {
            v.as_object_mut().expect("object").remove("gewerbe");
            v["bau"] = json!({"flaeche": "12.5"});
        }),
    )?;
    json_case(
        g,
        "transform-boolean-and-token",
        "xs:boolean 1 → true; xs:token collapses whitespace.",
        &[
            line(18, "  <zustimmung>1</zustimmung>"),
            line(11, "    <staat>  DE </staat>"),
        ],
        base_data(),
    )?;
    json_case(
        g,
        "transform-boolean-false",
        "xs:boolean 0 → false.",
        &[line(18, "  <zustimmung>0</zustimmung>")],
        edit(|v| v["zustimmung"] = json!(false)),
    )?;
    json_case(
        g,
        "transform-nil",
        "xsi:nil=\"true\" → null.",
        &[insert(
            19,
            &[
                r#"  <bemerkung xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>"#,
            ],
        )],
        edit(|v| v["bemerkung"] = Value::Null),
    )?;
    json_case(
        g,
        "transform-optional-text",
        "An optional string element present with text; absent optional elements stay absent.",
        &[insert(
            19,
            &["  <bemerkung>Bitte rasch bearbeiten.</bemerkung>"],
        )],
        edit(|v| v["bemerkung"] = json!("Bitte rasch bearbeiten.")),
    )?;
    json_case(
        g,
        "transform-two-persons-order-kept",
        "Repeated persons keep their document order in the array.",
        &[insert(
            13,
            &[
                r#"  <person id="p2">"#,
                "    <name>Max Mustermann</name>",
                "    <geburtsdatum>1960-01-31</geburtsdatum>",
                "    <plz>80331</plz>",
                "    <staat>AT</staat>",
                "  </person>",
            ],
        )],
        edit(|v| {
            v["person"].as_array_mut().expect("array").push(json!({"@id": "p2", "name": "Max Mustermann", "geburtsdatum": "1960-01-31", "plz": "80331", "staat": "AT"}));
        }),
    )?;
    json_case(
        g,
        "transform-no-bezug",
        "An absent repeated element is absent, not an empty array.",
        &[Edit {
            from: 17,
            to: 17,
            with: &[],
        }],
        edit(|v| {
            v.as_object_mut().expect("object").remove("bezug");
        }),
    )?;
    json_case(
        g,
        "transform-cdata-and-comments",
        "CDATA is text; comments and processing instructions are not data.",
        &[line(
            14,
            "    <taetigkeit><![CDATA[Software & Beratung]]></taetigkeit><!-- ok -->",
        )],
        edit(|v| v["gewerbe"]["taetigkeit"] = json!("Software & Beratung")),
    )?;
    add(
        g,
        "transform-invalid-refused",
        "An invalid document is not transformed (no partial JSON).",
        &[line(15, "    <beschaeftigte>drei</beschaeftigte>")],
        json!({"result": "invalid"}),
        None,
    )?;
    Ok(())
}
