//! `json` cases: JSON Fachdaten documents against the project's FIM-style test pack
//! (`fim/pack`, test domain `schema.poststelle.invalid`, not official FIM schemas) and a pack
//! whose `$ref` leaves it (`fim/pack-ref-outside`). Both packs are data written by hand; the
//! documents are written here.

use serde_json::{Value, json};

use super::Gen;
use crate::vectors::{Kind, VectorsError};

/// The pack's root schema (the form "Anzeige einer Veranstaltung", a test schema).
pub(super) const ROOT: &str = "https://schema.poststelle.invalid/fim/s99000001_1.0.schema.json";
/// A schema URI no pack provides.
pub(super) const UNKNOWN: &str = "https://schema.poststelle.invalid/fim/s99000077_1.0.schema.json";
/// The test pack, relative to the manifest.
const PACK: &str = "fim/pack";

/// A document valid against [`ROOT`], in the shape of the published FIM examples (element ids
/// as member names, `$schema` naming the form).
pub(super) fn valid() -> Value {
    json!({
        "$schema": ROOT,
        "G99000010": {
            "F99000100": "Erika", "F99000101": "Musterfrau", "F99000102": "1980-02-29",
            "G99000011": {"F99000103": "Musterstraße", "F99000104": "1a",
                          "F99000105": "12345", "F99000106": "Musterstadt"}
        },
        "G99000012": {
            "F99000107": "02", "F99000108": "2026-06-13", "F99000109": 250,
            "G99000011": {"F99000103": "Marktplatz", "F99000105": "12345", "F99000106": "Musterstadt"},
            "F99000110": ["Eröffnung", "Flohmarkt"]
        }
    })
}

/// [`valid`] with seven violations, one per keyword family.
pub(super) fn invalid() -> Value {
    let mut doc = valid();
    doc["Bemerkung"] = json!("not declared");
    doc["G99000010"]
        .as_object_mut()
        .expect("object")
        .remove("F99000101");
    doc["G99000010"]["G99000011"]["F99000105"] = json!("1234");
    doc["G99000012"]["F99000107"] = json!("05");
    doc["G99000012"]["F99000108"] = json!("2026-02-30");
    doc["G99000012"]["F99000109"] = json!(0);
    doc["G99000012"]["F99000110"] = json!(["Eröffnung", 7]);
    doc
}

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).expect("a Value serializes");
    out.push(b'\n');
    out
}

fn violation(pointer: &str, keyword: &str) -> Value {
    json!({"pointer": pointer, "keyword": keyword})
}

pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    const RULE: &str = "JSON Schema 2020-12 (formats asserted); poststelle: JSON Fachdaten";
    let doc =
        |g: &mut Gen, name: &str, bytes: &[u8]| g.file(&format!("fim/documents/{name}"), bytes);
    let pack = || ("pack", PACK.to_owned());

    let file = doc(g, "valid.json", &pretty(&valid()))?;
    g.case(
        "json-valid-fim-form",
        Kind::Json,
        "A form valid against the test pack's root schema, whose groups and fields are separate schemas referenced by absolute $id.",
        RULE,
        &[pack(), ("document", file)],
        json!({"result": "valid"}),
    );
    let mut minimal = valid();
    for (group, member) in [("G99000010", "F99000102"), ("G99000012", "F99000110")] {
        minimal[group]
            .as_object_mut()
            .expect("object")
            .remove(member);
    }
    let file = doc(g, "valid-minimal.json", &pretty(&minimal))?;
    g.case(
        "json-valid-required-members-only",
        Kind::Json,
        "Only the required members: optional fields and groups may be absent.",
        RULE,
        &[pack(), ("document", file)],
        json!({"result": "valid"}),
    );
    let file = doc(g, "invalid.json", &pretty(&invalid()))?;
    g.case(
        "json-invalid-seven-violations",
        Kind::Json,
        "Seven violations (undeclared member, missing field, pattern, enum, format date, minimum, item type): every one is reported at its JSON pointer with its keyword.",
        RULE,
        &[pack(), ("document", file)],
        json!({"result": "invalid", "violations": [
            violation("", "additionalProperties"),
            violation("/G99000010", "required"),
            violation("/G99000010/G99000011/F99000105", "pattern"),
            violation("/G99000012/F99000107", "enum"),
            violation("/G99000012/F99000108", "format"),
            violation("/G99000012/F99000109", "minimum"),
            violation("/G99000012/F99000110/1", "type"),
        ]}),
    );
    let mut unknown = valid();
    unknown["$schema"] = json!(UNKNOWN);
    let file = doc(g, "unknown-schema.json", &pretty(&unknown))?;
    g.case(
        "json-unknown-schema",
        Kind::Json,
        "The document names a schema no installed pack provides: unsupported, never fetched.",
        "FIT-Connect §4 unsupported-schema; poststelle: schemas resolve offline",
        &[pack(), ("document", file)],
        json!({"result": "unsupported-schema"}),
    );
    let text = String::from_utf8(pretty(&valid())).expect("UTF-8");
    let duplicate = text.replacen(
        "\"F99000100\": \"Erika\",",
        "\"F99000100\": \"Erika\",\n    \"F99000100\": \"Max\",",
        1,
    );
    let file = doc(g, "duplicate-member.json", duplicate.as_bytes())?;
    g.case(
        "json-refused-duplicate-member",
        Kind::Json,
        "A member name occurs twice in one object: refused (parsers disagree on which one counts).",
        "RFC 8259 §4; poststelle: duplicate member names refused at every depth",
        &[pack(), ("document", file)],
        json!({"result": "refused", "reason": "duplicate-member"}),
    );
    let deep = format!(
        "{{\"$schema\": \"{ROOT}\", \"G99000012\": {{\"F99000110\": {}{}}}}}\n",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let file = doc(g, "deep-nesting.json", deep.as_bytes())?;
    g.case(
        "json-refused-deep-nesting",
        Kind::Json,
        "Arrays nested 100,000 deep: refused by the depth limit (64), not by the stack.",
        "poststelle: [limits.json] max_depth = 64",
        &[pack(), ("document", file)],
        json!({"result": "refused", "reason": "too-deep"}),
    );
    let big = text.replacen(
        "\"F99000109\": 250",
        "\"F99000109\": 123456789012345678901234567890",
        1,
    );
    let file = doc(g, "integer-beyond-64-bits.json", big.as_bytes())?;
    g.case(
        "json-refused-integer-beyond-64-bits",
        Kind::Json,
        "An integer that fits neither i64 nor u64: refused rather than rounded to a double (a forwarded value must not change).",
        "RFC 8259 §6 (interoperable range); poststelle: numbers kept exact",
        &[pack(), ("document", file)],
        json!({"result": "refused", "reason": "number-out-of-range"}),
    );
    let huge = text.replacen("\"F99000109\": 250", "\"F99000109\": 1e400", 1);
    let file = doc(g, "number-beyond-double.json", huge.as_bytes())?;
    g.case(
        "json-refused-number-beyond-double",
        Kind::Json,
        "A number beyond the range of a double.",
        "RFC 8259 §6; poststelle: numbers kept exact",
        &[pack(), ("document", file)],
        json!({"result": "refused", "reason": "number-out-of-range"}),
    );
    let mut latin1 = text
        .replacen("Musterstraße", "Musterstra\u{0}e", 1)
        .into_bytes();
    if let Some(at) = latin1.iter().position(|b| *b == 0) {
        latin1[at] = 0xDF; // ß in ISO-8859-1: not UTF-8
    }
    let file = doc(g, "invalid-utf8.json", &latin1)?;
    g.case(
        "json-refused-invalid-utf8",
        Kind::Json,
        "A string in ISO-8859-1 (ß as the byte 0xDF): JSON is UTF-8.",
        "RFC 8259 §8.1",
        &[pack(), ("document", file)],
        json!({"result": "refused", "reason": "syntax"}),
    );
    g.case(
        "json-pack-ref-outside",
        Kind::Json,
        "A pack whose root schema references a field schema that is in no pack: refused when the pack is read (at install), never fetched.",
        "poststelle: JSON schema packs are self-contained and resolve offline",
        &[("pack", "fim/pack-ref-outside".to_owned())],
        json!({"result": "pack-refused"}),
    );
    Ok(())
}
