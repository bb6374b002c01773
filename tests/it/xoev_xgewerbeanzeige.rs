//! The reconstructed XGewerbeanzeige 2.2 pack against the KoSIT examples, through
//! `poststelle validate` (our XSD engine).

use std::ffi::OsStr;

use crate::xoev_support::{poststelle, repo, shared, text};

fn validate(file: &std::path::Path) -> std::process::Output {
    let schema_dir = repo("schemas/xgewerbeanzeige-2.2");
    poststelle(&[
        OsStr::new("validate"),
        OsStr::new("--schema-dir"),
        schema_dir.as_os_str(),
        file.as_os_str(),
    ])
}

#[test]
#[ignore = "needs the XSD engine (branch core)"]
fn kosit_valid_example_is_accepted() {
    let out = validate(&shared().join("xoev/samples/xgewerbeanzeige/xgwa2.2-valid.xml"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
#[ignore = "needs the XSD engine (branch core)"]
fn our_example_is_accepted() {
    let out = validate(&repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
#[ignore = "needs the XSD engine (branch core)"]
fn kosit_invalid_example_is_rejected_for_both_reasons() {
    let out = validate(&shared().join("xoev/samples/xgewerbeanzeige/xgwa2.2-invalid.xml"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = text(&out);
    // 1. `gewerbe` lacks `betriebArt` (reported where `niederlassungArt` comes instead).
    assert!(report.contains("betriebArt"), "{report}");
    // 2. a `beteiligtePerson` lacks `familienname` (reported where `vorname` comes instead).
    assert!(report.contains("familienname"), "{report}");
}
