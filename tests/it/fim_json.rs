//! Issue 20: JSON Fachdaten (FIM-style JSON Schemas). Packs install offline with every schema
//! compiled (a `$ref` leaving the pack is an install error); the receive checks validate JSON
//! Fachdaten and 2.x data sets against the pack providing the declared schema URI, forward
//! valid data as it is, and reject hostile or invalid JSON with a precise problem whose detail
//! names places, never values.
//!
//! The schemas are the project's own test pack (`test-vectors/fim/pack`, test domain
//! `schema.poststelle.invalid`, not official FIM schemas), found as the catalogue's repository
//! fallback.

use std::process::Command;

use poststelle::fitconnect::captured::CapturedSubmission;
use poststelle::fitconnect::hash::sha512_hex;
use poststelle::pipeline::{Accepted, Refused, Schemas, check_submission};
use poststelle::xoev::registry::Registry;
use serde_json::{Value, json};

use crate::pipeline_fixture::{Draft, capture, check_keys, limits, repo, schemas};
use crate::sandbox_support;

mod end_to_end;

const P: &str = "https://schema.fitko.de/fit-connect/events/problems/";
/// The root schema of the test pack.
pub(crate) const ROOT: &str = "https://schema.poststelle.invalid/fim/s99000001_1.0.schema.json";
const VORNAME: &str = "https://schema.poststelle.invalid/fim/f99000100_1.0.schema.json";

/// A document valid against [`ROOT`] (shape of the published FIM examples: element ids as
/// member names, `$schema` naming the form).
pub(crate) fn valid_doc() -> Value {
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

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_poststelle"))
}

fn check_with(c: &CapturedSubmission, schemas: &Schemas<'_>) -> Result<Accepted, Refused> {
    check_submission(c, &check_keys(), schemas, &limits(), sandbox_support::now())
}

/// (type suffix, instance, detail) of each problem of a rejection.
fn rejected_with(c: &CapturedSubmission, schemas: &Schemas<'_>) -> Vec<(String, String, String)> {
    let Err(Refused::Rejected(r)) = check_with(c, schemas) else {
        panic!("must be rejected");
    };
    r.problems
        .iter()
        .map(|p| {
            (
                p.type_uri.strip_prefix(P).expect("prefix").to_owned(),
                p.instance.clone(),
                p.detail.clone(),
            )
        })
        .collect()
}

fn draft(data: &[u8]) -> Draft {
    Draft::new(data, 1)
}

/// One problem of this type and instance; its detail.
fn single(c: &CapturedSubmission, kind: &str, instance: &str) -> String {
    let got = rejected_with(c, &schemas());
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(
        (got[0].0.as_str(), got[0].1.as_str()),
        (kind, instance),
        "{got:?}"
    );
    got[0].2.clone()
}

#[test]
fn json_pack_installs_with_every_schema_compiled_lists_and_checks() {
    let packs = tempfile::tempdir().expect("tmp");
    let dir = packs.path().to_str().expect("utf-8");
    let out = bin()
        .args(["schemas", "install", "--packs", dir, "--id", "fim-test"])
        .arg(repo("test-vectors/fim/pack"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.starts_with("installed JSON schema pack fim-test@sha256:"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("  {ROOT}\n")), "{stdout}");
    assert!(stdout.contains("(15 schemas, all compiled)"), "{stdout}");
    let manifest =
        std::fs::read_to_string(packs.path().join("fim-test/pack.toml")).expect("manifest");
    assert!(manifest.contains("kind = \"json\""), "{manifest}");

    let list = bin()
        .args(["schemas", "list", "--packs", dir])
        .output()
        .expect("run");
    let list = String::from_utf8_lossy(&list.stdout);
    assert!(
        list.lines()
            .any(|l| l.starts_with("fim-test\tsha256:") && l.contains("15 JSON schemas\tinstalled")),
        "{list}"
    );
    let check = bin()
        .args(["schemas", "check", "--packs", dir])
        .output()
        .expect("run");
    assert!(check.status.success());
    assert!(String::from_utf8_lossy(&check.stdout).contains("15 JSON schemas compiled"));

    // A changed file no longer matches the fingerprint recorded at installation.
    let field = packs.path().join("fim-test/f99000100_1.0.schema.json");
    let text = std::fs::read_to_string(&field).expect("read");
    std::fs::write(
        &field,
        text.replace("\"maxLength\": 80", "\"maxLength\": 81"),
    )
    .expect("write");
    let check = bin()
        .args(["schemas", "check", "--packs", dir])
        .output()
        .expect("run");
    assert_eq!(check.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("content fingerprint mismatch"),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn a_ref_leaving_the_pack_is_refused_at_install_and_nothing_is_installed() {
    let packs = tempfile::tempdir().expect("tmp");
    let out = bin()
        .args(["schemas", "install", "--packs"])
        .arg(packs.path())
        .arg(repo("test-vectors/fim/pack-ref-outside"))
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("https://schema.poststelle.invalid/fim/f99000999_1.0.schema.json"),
        "{stderr}"
    );
    assert!(stderr.contains("never over the network"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(packs.path())
            .map(Iterator::count)
            .unwrap_or(0),
        0,
        "nothing installed, no staging left"
    );
}

#[test]
fn valid_json_fachdaten_are_accepted_and_forwarded_as_they_are() {
    let doc = valid_doc();
    let bytes = serde_json::to_vec_pretty(&doc).expect("json");
    let d = draft(&bytes);
    let a = check_with(&capture(&d, &d.seal()), &schemas()).expect("accepted");
    let env = a.envelope("2026-01-01T00:00:00Z");
    // As sent: same members in the same order.
    assert_eq!(env["data"].to_string(), doc.to_string());
    let message = &env["message"];
    assert_eq!(message["type"], ROOT);
    assert_eq!(message["schemaUri"], ROOT);
    assert!(
        message["schemaPack"]
            .as_str()
            .is_some_and(|p| p.starts_with("poststelle-fim-test@sha256:")),
        "{message}"
    );
    assert_eq!(
        message
            .as_object()
            .map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Some(vec!["type".into(), "schemaUri".into(), "schemaPack".into()])
    );
    assert!(a.binaries.is_empty());
}

#[test]
fn schema_violations_are_rejected_with_json_pointers_never_values() {
    let mut doc = valid_doc();
    doc["G99000010"]["G99000011"]["F99000105"] = json!("SECRET-1");
    doc["G99000010"]
        .as_object_mut()
        .expect("object")
        .remove("F99000101");
    doc["G99000012"]["F99000109"] = json!(0);
    doc["Bemerkung"] = json!("SECRET-2");
    let d = draft(&serde_json::to_vec(&doc).expect("json"));
    let detail = single(&capture(&d, &d.seal()), "schema-violation", "data");
    for place in [
        "/ (additionalProperties)",
        "/G99000010 (required)",
        "/G99000010/G99000011/F99000105 (pattern)",
        "/G99000012/F99000109 (minimum)",
    ] {
        assert!(detail.contains(place), "{place} missing in {detail}");
    }
    assert!(detail.starts_with("Der Inhalt entspricht nicht dem Schema. Stellen: "));
    assert!(!detail.contains("SECRET"), "{detail}");
}

#[test]
fn an_unknown_json_schema_is_unsupported_schema_at_metadata() {
    let mut doc = valid_doc();
    doc["$schema"] = json!("https://schema.poststelle.invalid/fim/s99000077_1.0.schema.json");
    let d = draft(&serde_json::to_vec(&doc).expect("json"));
    single(&capture(&d, &d.seal()), "unsupported-schema", "metadata");
}

#[test]
fn a_document_naming_another_schema_than_declared_is_a_schema_violation() {
    let doc = valid_doc();
    let mut d = draft(&serde_json::to_vec(&doc).expect("json"));
    d.metadata["contentStructure"]["data"]["submissionSchema"]["schemaUri"] = json!(VORNAME);
    let detail = single(&capture(&d, &d.seal()), "schema-violation", "data");
    assert!(
        detail.ends_with("Stellen: /$schema (schemaUri)"),
        "{detail}"
    );
}

/// Replaces the data of `d` with `bytes` (hash updated).
fn with_data(doc_bytes: Vec<u8>) -> Draft {
    let mut d = draft(&serde_json::to_vec(&valid_doc()).expect("json"));
    d.metadata["contentStructure"]["data"]["hash"]["content"] = json!(sha512_hex(&doc_bytes));
    d.data = Some(doc_bytes);
    d
}

#[test]
fn hostile_json_gets_a_precise_syntax_violation() {
    let deep = format!(
        "{{\"$schema\":\"{ROOT}\",\"G99000010\":{}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let mut huge_string = br#"{"G99000010":{"F99000100":""#.to_vec();
    huge_string.extend(std::iter::repeat_n(b'a', 50 << 20));
    huge_string.extend(br#""}}"#);
    let cases: Vec<(&str, Vec<u8>, &str)> = [
        (
            "duplicate keys",
            br#"{"G99000010": {"F99000100": "A", "F99000100": "B"}}"#.to_vec(),
            "doppelter Name im Objekt /G99000010",
        ),
        (
            "duplicate undeclared keys",
            br#"{"Erika Musterfrau": {"x": 1, "x": 2}}"#.to_vec(),
            "doppelter Name im Objekt /*",
        ),
        (
            "100,000-deep nesting",
            deep.into_bytes(),
            "tiefer als 64 Ebenen geschachtelt",
        ),
        ("a 50 MB string", huge_string, "größer als 16777216 Bytes"),
        (
            "an integer beyond 64 bits",
            br#"{"G99000012": {"F99000109": 123456789012345678901234567890}}"#.to_vec(),
            "Zahl nicht exakt darstellbar (Zeile 1, Spalte 29)",
        ),
        (
            "a number beyond f64",
            br#"{"G99000012": {"F99000109": 1e999}}"#.to_vec(),
            "Zahl nicht exakt darstellbar",
        ),
        (
            "invalid UTF-8",
            b"{\"G99000010\": {\"F99000100\": \"\xff\xfe\"}}".to_vec(),
            "kein gültiges JSON (Zeile 1",
        ),
    ]
    .into();
    for (label, bytes, expected) in cases {
        let started = std::time::Instant::now();
        let d = with_data(bytes);
        let detail = single(&capture(&d, &d.seal()), "syntax-violation", "data");
        assert!(detail.contains(expected), "{label}: {detail}");
        assert!(
            !detail.contains("Erika") && !detail.contains("aaaa"),
            "{label}: {detail}"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "{label} took {:?}",
            started.elapsed()
        );
    }
}

#[test]
fn pass_through_schemas_are_forwarded_unvalidated_but_still_parsed_strictly() {
    const UNPUBLISHED: &str = "https://schema.poststelle.invalid/fim/s99000099_1.0.schema.json";
    let base = schemas();
    let registry: Registry<'static> = base
        .registry
        .clone()
        .with_json_pass_through(vec![UNPUBLISHED.to_owned()]);
    let lenient = Schemas {
        registry: &registry,
        ..base
    };
    let doc = json!({"$schema": UNPUBLISHED, "beliebig": [1, 2]});
    let d = draft(&serde_json::to_vec(&doc).expect("json"));
    let a = check_with(&capture(&d, &d.seal()), &lenient).expect("passed through");
    let env = a.envelope("2026-01-01T00:00:00Z");
    assert_eq!(env["message"]["passThrough"], true);
    assert_eq!(env["message"]["schemaUri"], UNPUBLISHED);
    assert!(env["message"].get("schemaPack").is_none());
    assert_eq!(env["data"], doc);
    // Without the operator's list the same submission is unsupported.
    assert_eq!(
        rejected_with(&capture(&d, &d.seal()), &schemas())[0].0,
        "unsupported-schema"
    );
    // Strict parsing still applies; undeclared names are masked.
    let d = with_data(br#"{"Erika": 1, "Erika": 2}"#.to_vec());
    let mut d2 = d;
    d2.metadata["contentStructure"]["data"]["submissionSchema"]["schemaUri"] = json!(UNPUBLISHED);
    let got = rejected_with(&capture(&d2, &d2.seal()), &lenient);
    assert_eq!(got[0].0, "syntax-violation");
    assert!(got[0].2.ends_with("doppelter Name im Objekt /"), "{got:?}");
}

/// Metadata 2.0.0 of the draft with one data set.
fn with_data_set(schema_uri: &str, content: Value) -> Draft {
    let mut d = draft(&serde_json::to_vec(&valid_doc()).expect("json"));
    let m = d.metadata.as_object_mut().expect("object");
    m.remove("publicServiceType");
    m.insert(
        "$schema".into(),
        json!("https://schema.fitko.de/fit-connect/metadata/2.0.0/metadata.schema.json"),
    );
    m.insert(
        "dataSets".into(),
        json!([{
            "dataSetId": "3a0e6bd5-8f0a-4f55-9d8e-5c1b2a3d4e5f",
            "schema": {"schemaUri": schema_uri, "mimeType": "application/json"},
            "hash": {"type": "sha512", "content": sha512_hex(content.to_string().as_bytes())},
            "content": content
        }]),
    );
    d
}

#[test]
fn json_data_sets_of_2x_metadata_are_validated_against_their_schemas() {
    let d = with_data_set(VORNAME, json!("Erika"));
    check_with(&capture(&d, &d.seal()), &schemas()).expect("valid data set accepted");

    let d = with_data_set(VORNAME, json!({"SECRET": 5}));
    let detail = single(&capture(&d, &d.seal()), "schema-violation", "metadata");
    assert!(
        detail.ends_with("Stellen: /dataSets/0/content (type)"),
        "{detail}"
    );

    let d = with_data_set(
        "https://schema.poststelle.invalid/fim/unknown.schema.json",
        json!({}),
    );
    let detail = single(&capture(&d, &d.seal()), "unsupported-schema", "metadata");
    assert!(detail.ends_with("/dataSets/0/schema/schemaUri"), "{detail}");
}

#[test]
fn fields_render_in_schema_order_with_the_german_labels_of_the_pack() {
    let registry = schemas().registry;
    let Ok(poststelle::xoev::registry::JsonSchemaSource::Pack(p)) = registry.resolve_json(ROOT)
    else {
        panic!("the test pack provides {ROOT}");
    };
    let doc = valid_doc();
    let fields = poststelle::fim::labels::fields(&p.pack, ROOT, &doc);
    let labelled: Vec<(&str, Option<&str>)> = fields
        .iter()
        .map(|f| (f.pointer.as_str(), f.title.as_deref()))
        .take(4)
        .collect();
    assert_eq!(
        labelled,
        [
            ("/$schema", None),
            ("/G99000010", Some("Veranstalterin oder Veranstalter")),
            ("/G99000010/F99000100", Some("Vorname")),
            ("/G99000010/F99000101", Some("Familienname")),
        ]
    );
    let ort = fields
        .iter()
        .find(|f| f.pointer == "/G99000012/G99000011")
        .expect("venue");
    assert_eq!(ort.title.as_deref(), Some("Veranstaltungsort"));
    assert_eq!(
        fields
            .iter()
            .find(|f| f.pointer == "/G99000012/F99000110/1")
            .map(|f| (f.title.as_deref(), f.value)),
        Some((Some("Programmpunkt"), &json!("Flohmarkt")))
    );
}

#[test]
fn validate_checks_json_files_like_xml_files() {
    let doc = |name: &str| repo(&format!("test-vectors/fim/documents/{name}"));
    // By `$schema` through the catalogue's pack.
    let out = bin()
        .arg("validate")
        .arg(doc("valid.json"))
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = bin()
        .arg("validate")
        .arg(doc("invalid.json"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let file = doc("invalid.json").display().to_string();
    assert!(
        stdout.contains(&format!(
            "{file}:8:20: /G99000010/G99000011/F99000105: value does not match \"^[0-9]{{5}}$\""
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{file}:1:1: /: properties the schema does not declare are not allowed"
        )),
        "{stdout}"
    );
    assert!(
        !stdout.contains("1234") && !stdout.contains("Bemerkung"),
        "{stdout}"
    );
    // An explicit schema file, --json output, refusals by the strict reader.
    let out = bin()
        .args(["validate", "--json", "--schema"])
        .arg(repo("test-vectors/fim/pack/s99000001_1.0.schema.json"))
        .arg(doc("duplicate-member.json"))
        .arg(doc("deep-nesting.json"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let kinds: Vec<(&str, u64)> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["errors"][0]["kind"].as_str().expect("kind"),
                f["errors"][0]["line"].as_u64().expect("line"),
            )
        })
        .collect();
    assert_eq!(kinds, [("duplicate-member", 3), ("too-deep", 0)]);
    // No pack for the schema it names: no verdict.
    let out = bin()
        .arg("validate")
        .arg(doc("unknown-schema.json"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_json_fachdaten_fuzz_property_holds_on_the_vector_documents_and_their_mutations() {
    let dir = repo("test-vectors/fim/documents");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("documents") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        poststelle::fuzzing::json_fachdaten(&bytes);
        // Truncated, one byte flipped at several places, one byte dropped.
        poststelle::fuzzing::json_fachdaten(&bytes[..bytes.len() / 2]);
        for at in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 2] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x20;
            poststelle::fuzzing::json_fachdaten(&flipped);
            let mut dropped = bytes.clone();
            dropped.remove(at);
            poststelle::fuzzing::json_fachdaten(&dropped);
        }
        n += 1;
    }
    assert!(n >= 9, "only {n} documents");
    // The invalid form's violations are all checked for their places (none is masked).
    let invalid = std::fs::read(dir.join("invalid.json")).expect("invalid");
    poststelle::fuzzing::json_fachdaten(&invalid);
}

/// Peak resident set (KiB) of `poststelle validate` on one JSON file, measured by
/// `/usr/bin/time`; `None` (test skipped) where it is missing.
fn validate_peak_kib(file: &std::path::Path) -> Option<(i32, u64)> {
    let time = std::path::Path::new("/usr/bin/time");
    if !time.exists() {
        return None;
    }
    let out = Command::new(time)
        .args(["-f", "PEAK %M"])
        .arg(env!("CARGO_BIN_EXE_poststelle"))
        .args(["validate", "--schema-dir"])
        .arg(repo("test-vectors/fim/pack"))
        .arg(file)
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kib = stderr
        .lines()
        .find_map(|l| l.strip_prefix("PEAK "))
        .and_then(|k| k.trim().parse().ok())
        .expect("peak line");
    Some((out.status.code().unwrap_or(-1), kib))
}

/// Hostile JSON is refused in bounded memory: 16 MiB of tiny values (eight million of them,
/// about a gigabyte once parsed without the value limit), a 50 MB string and 100,000-deep
/// nesting each stay below 160 MiB peak in a whole `poststelle validate` process.
#[test]
fn hostile_json_is_refused_within_bounded_memory() {
    let dir = tempfile::tempdir().expect("tmp");
    let tiny = dir.path().join("tiny-values.json");
    let mut text = format!("{{\"$schema\": \"{ROOT}\", \"x\": [0");
    while text.len() < (16 << 20) - 64 {
        text.push_str(",0");
    }
    text.push_str("]}");
    std::fs::write(&tiny, text).expect("write");
    let string = dir.path().join("string.json");
    let mut big = format!("{{\"$schema\": \"{ROOT}\", \"x\": \"").into_bytes();
    big.resize(big.len() + (50 << 20), b'a');
    big.extend_from_slice(b"\"}");
    std::fs::write(&string, big).expect("write");
    let deep = dir.path().join("deep.json");
    std::fs::write(
        &deep,
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
    )
    .expect("write");
    for file in [tiny, string, deep] {
        let Some((code, kib)) = validate_peak_kib(&file) else {
            eprintln!("SKIPPED: /usr/bin/time not installed (apt-get install time)");
            return;
        };
        eprintln!("{}: exit {code}, peak {} MiB", file.display(), kib / 1024);
        assert_eq!(code, 1, "{}: refused as invalid", file.display());
        assert!(kib < 160 * 1024, "{}: peak {kib} KiB", file.display());
    }
}
