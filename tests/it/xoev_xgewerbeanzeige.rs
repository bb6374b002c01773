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
fn kosit_valid_example_is_accepted() {
    let Some(_) =
        crate::shared_data::shared_or_skip(&[crate::shared_data::XGEWERBEANZEIGE_SAMPLES])
    else {
        return;
    };
    let out = validate(&shared().join("xoev/samples/xgewerbeanzeige/xgwa2.2-valid.xml"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn our_example_is_accepted() {
    let out = validate(&repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml"));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn kosit_invalid_example_is_rejected_for_both_reasons() {
    let Some(_) =
        crate::shared_data::shared_or_skip(&[crate::shared_data::XGEWERBEANZEIGE_SAMPLES])
    else {
        return;
    };
    let out = validate(&shared().join("xoev/samples/xgewerbeanzeige/xgwa2.2-invalid.xml"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = text(&out);
    // 1. `gewerbe` lacks `betriebArt` (reported where `niederlassungArt` comes instead).
    assert!(report.contains("betriebArt"), "{report}");
    // 2. a `beteiligtePerson` lacks `familienname` (reported where `vorname` comes instead).
    assert!(report.contains("familienname"), "{report}");
}

/// The README quick start: without `--schema`, each file's pack is found by its root element
/// (the project's own XGewerbeanzeige pack; XBau from the shared development fallback).
#[test]
fn validate_finds_the_pack_by_root_element() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let out = poststelle(&[
        OsStr::new("validate"),
        repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml").as_os_str(),
        repo("examples/xbau/baugenehmigung.antrag.0200.xml").as_os_str(),
    ]);
    let report = text(&out);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        report.contains("XGewerbeanzeige 2.2 sta.gewerbemeldung.0100 (xgewerbeanzeige-2.2@sha256:"),
        "{report}"
    );
    assert!(
        report.contains("XBau 2.6 baugenehmigung.antrag.0200 (xbau-2.6@sha256:"),
        "{report}"
    );

    let invalid = shared().join("xoev/samples/xbau/negative/m2_enum_code.xml");
    let out = poststelle(&[OsStr::new("validate"), invalid.as_os_str()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let unknown = shared().join("xoev/samples/xgewerbeanzeige/xy-unknown.xml");
    let out = poststelle(&[OsStr::new("validate"), unknown.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("unsupported document"),
        "{}",
        text(&out)
    );
}
