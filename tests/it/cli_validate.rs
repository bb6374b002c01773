//! `poststelle validate` as a user runs it on a mixed set of files (issue 13, defects found
//! when tried as a new user would).

use std::ffi::OsStr;

use serde_json::Value as Json;

use crate::xoev_support::{poststelle, repo, text};

/// Before, `--json` printed one document per group of files sharing a schema and nothing for
/// unsupported files, so stdout was not one JSON value; now one document has every file in
/// command-line order and a summary counting each outcome.
#[test]
fn validate_json_prints_one_document_for_all_files_unsupported_included() {
    let dir = tempfile::tempdir().expect("tmp");
    let example = repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml");
    let xml = std::fs::read_to_string(&example).expect("example");
    let invalid = dir.path().join("invalid.xml");
    std::fs::write(
        &invalid,
        xml.replacen("<xga:familienname>Mustermann</xga:familienname>", "", 1),
    )
    .expect("write");
    let unknown = dir.path().join("unknown.xml");
    std::fs::write(&unknown, r#"<x:antrag xmlns:x="urn:example:unknown"/>"#).expect("write");
    let missing = dir.path().join("missing.xml");
    let files = [&example, &unknown, &invalid, &missing, &example];
    let mut args = vec![OsStr::new("validate"), OsStr::new("--json")];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let out = poststelle(&args);
    let doc: Json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is one JSON document ({e}): {}", text(&out)));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let entries = doc["files"].as_array().expect("files");
    let shown: Vec<&str> = entries
        .iter()
        .map(|f| f["file"].as_str().expect("file"))
        .collect();
    let expected: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    assert_eq!(shown, expected, "every file, in command-line order");
    let valid: Vec<bool> = entries
        .iter()
        .map(|f| f["valid"].as_bool().expect("valid"))
        .collect();
    assert_eq!(valid, [true, false, false, false, true]);
    assert_eq!(entries[1]["errors"][0]["kind"], "unsupported");
    assert_eq!(entries[2]["errors"][0]["kind"], "unexpected-element");
    assert_eq!(entries[3]["errors"][0]["kind"], "io");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"files": 5, "valid": 2, "invalid": 1, "unreadable": 1, "unsupported": 1})
    );
    assert_eq!(doc["schema_errors"], serde_json::json!([]));
}

/// The text mode ends with one summary line for the whole run, not one per schema group.
#[test]
fn validate_text_summary_is_one_line_counting_unsupported_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let unknown = dir.path().join("unknown.xml");
    std::fs::write(&unknown, r#"<x:antrag xmlns:x="urn:example:unknown"/>"#).expect("write");
    let example = repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml");
    let out = poststelle(&[
        OsStr::new("validate"),
        example.as_os_str(),
        unknown.as_os_str(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let summaries: Vec<&str> = stderr.lines().filter(|l| l.contains(" valid, ")).collect();
    assert_eq!(
        summaries,
        ["1 valid, 0 invalid, 0 unreadable, 1 unsupported (2 file(s))"],
        "{stderr}"
    );
}
