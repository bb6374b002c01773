//! Issue 16: `poststelle validate --rules` — XSD first, then the business rules (ISO
//! Schematron) the installed schema pack carries. The expected rule ids are SaxonC-HE 13.1's
//! (see `schematron_xbau.rs`); the pack is installed from the shared `xsd_dev` folder, whose
//! Schematron the install takes from beside it (`sch/`, as the catalogue names it).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::xoev_support::{text, xbau_xsd_dev};

/// A packs directory with XBau 2.6 installed from the shared data.
fn installed(tmp: &Path) -> PathBuf {
    let packs = tmp.join("packs");
    let out = run(
        &packs,
        &[
            "schemas",
            "install",
            xbau_xsd_dev().to_str().expect("utf-8 path"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    packs
}

/// A temporary directory with XBau 2.6 installed in `packs/`, or `None` (skipped) without the
/// shared data.
fn installed_or_skip() -> Option<(tempfile::TempDir, PathBuf)> {
    crate::shared_data::xoev_or_skip()?;
    let tmp = tempfile::tempdir().expect("tempdir");
    let packs = installed(tmp.path());
    Some((tmp, packs))
}

/// Runs poststelle with only the installed packs (no development fallback).
fn run(packs: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(args)
        .env("POSTSTELLE_PACKS", packs)
        .env("POSTSTELLE_SHARED", "/nonexistent-shared")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("poststelle runs")
}

fn sample(rel: &str) -> String {
    crate::shared_data::shared()
        .join(crate::shared_data::XBAU_SAMPLES)
        .join(rel)
        .display()
        .to_string()
}

/// The rule ids of the finding lines (`file:line:col: severity: rule: message`) on stdout.
fn rule_ids(out: &Output, severity: &str) -> Vec<String> {
    let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let rest = l.split_once(&format!(": {severity}: "))?.1;
            Some(rest.split_once(": ")?.0.to_owned())
        })
        .collect();
    ids.sort();
    ids
}

const STAT_0426: &str = "fv-generated/statistik.bauabgang.0426_sample.xml";
const STAT_0423: &str = "fv-testdateien/statistik.baubeginn.0423_sample.xml";
const CLEAN_0200: &str =
    "fv-testdateien/baugenehmigung.antrag.0200_f180ba27-4549-4752-ab01-a7513866faa6.xml";

#[test]
fn install_keeps_the_catalogued_schematron_under_the_fingerprint() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let dir = packs.join("xbau-2.6");
    assert!(dir.join("sch/xbau-schematron.sch").is_file());
    assert!(dir.join("sch/xbau-schematron-leere-elemente.sch").is_file());
    let manifest = poststelle::xoev::pack::read_manifest(&dir).expect("pack.toml");
    assert_eq!(manifest.files, 47, "45 XSD + 2 Schematron");
    let out = run(&packs, &["schemas", "check"]);
    assert!(
        text(&out).contains("2 business-rule files compiled"),
        "{}",
        text(&out)
    );
    // A changed rule file is a changed pack: refused like a changed XSD.
    let sch = dir.join("sch/xbau-schematron.sch");
    let mut bytes = std::fs::read(&sch).expect("read");
    bytes.extend_from_slice(b"\n<!-- changed -->\n");
    std::fs::write(&sch, bytes).expect("write");
    let out = run(&packs, &["schemas", "check"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("fingerprint mismatch"),
        "{}",
        text(&out)
    );
}

#[test]
fn validate_rules_reports_the_rules_saxon_finds_broken_and_exits_1() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let (a, b) = (sample(STAT_0426), sample(STAT_0423));

    // XSD-valid: without --rules both pass.
    let out = run(&packs, &["validate", &a, &b]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = run(&packs, &["validate", "--rules", &a]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(rule_ids(&out, "error"), ["sch-stat-001", "sch-stat-002"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{a}:31:3: error: sch-stat-001: ")),
        "{stdout}"
    );

    let out = run(&packs, &["validate", "--rules", &b]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(
        rule_ids(&out, "error"),
        ["sch-stat-007", "sch-xbau-001", "sch-xbau-002"]
    );

    // Severity overrides: warnings do not make the file invalid.
    let out = run(
        &packs,
        &[
            "validate",
            "--rules",
            "--rule-severity",
            "sch-stat-001=warning",
            "--rule-severity",
            "sch-stat-002=warning",
            &a,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(rule_ids(&out, "warning"), ["sch-stat-001", "sch-stat-002"]);
    assert!(rule_ids(&out, "error").is_empty());
}

#[test]
fn validate_rules_passes_a_clean_message() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let out = run(&packs, &["validate", "--rules", &sample(CLEAN_0200)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(out.stdout.is_empty(), "{}", text(&out));
}

#[test]
fn validate_rules_json_lists_findings_per_file() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let (a, clean) = (sample(STAT_0426), sample(CLEAN_0200));
    let out = run(&packs, &["validate", "--rules", "--json", &a, &clean]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let files = doc["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["valid"], false);
    assert_eq!(files[0]["errors"], serde_json::json!([]));
    let findings = files[0]["findings"].as_array().expect("findings");
    let rules: Vec<&str> = findings
        .iter()
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect();
    assert_eq!(rules, ["sch-stat-001", "sch-stat-002"]);
    let f = &findings[0];
    let mut keys: Vec<&str> = f
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "column", "kind", "line", "message", "path", "rule", "severity"
        ]
    );
    assert_eq!(f["kind"], "failed-assert");
    assert_eq!(f["severity"], "error");
    assert_eq!(f["line"], 31);
    assert!(
        f["path"]
            .as_str()
            .expect("path")
            .starts_with("/xbau:statistik.bauabgang.0426[1]/")
    );
    assert_eq!(files[1]["valid"], true);
    assert_eq!(files[1]["findings"], serde_json::json!([]));
    assert_eq!(doc["summary"]["invalid"], 1);
    assert_eq!(doc["summary"]["valid"], 1);
}

/// A rule set of our own: one assert that shows an instance value with `value-of`, one test
/// that raises a type error (a processing error, never a pass).
const OWN_RULES: &str = r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <sch:ns prefix="xbau" uri="http://www.xleitstelle.de/xbau/2/6"/>
  <sch:pattern>
    <sch:rule context="/xbau:*">
      <sch:assert id="own-1" test="false()">Leser <sch:value-of select="nachrichtenkopf.g2g/leser/kennung"/> unbekannt</sch:assert>
      <sch:assert id="own-2" test="1 + nachrichtenkopf.g2g/leser/name = 2">Rechnen</sch:assert>
    </sch:rule>
  </sch:pattern>
</sch:schema>"#;

#[test]
fn validate_schematron_keeps_instance_values_out_and_reports_processing_errors() {
    let Some((tmp, packs)) = installed_or_skip() else {
        return;
    };
    let sch = tmp.path().join("own.sch");
    std::fs::write(&sch, OWN_RULES).expect("write");
    let sch = sch.to_str().expect("utf-8");
    let a = sample(STAT_0426);
    let value = "urn:de:bund:destatis:bfs:intern:statistik:nrw";

    let out = run(&packs, &["validate", "--schematron", sch, &a]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!text(&out).contains(value), "{}", text(&out));
    assert!(!text(&out).contains("Nordrhein"), "{}", text(&out));
    // Only the given rules ran, not the pack's.
    assert_eq!(rule_ids(&out, "error"), ["own-1", "own-2"]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("own-1: Leser […] unbekannt"),
        "{}",
        text(&out)
    );

    let out = run(&packs, &["validate", "--schematron", sch, "--json", &a]);
    let doc: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert!(!text(&out).contains(value));
    let findings = doc["files"][0]["findings"].as_array().expect("findings");
    let own2 = findings
        .iter()
        .find(|f| f["rule"] == "own-2")
        .expect("own-2 reported");
    assert_eq!(own2["kind"], "processing-error");
    assert_eq!(own2["severity"], "error");
    // A processing error cannot be downgraded away.
    let out = run(
        &packs,
        &[
            "validate",
            "--schematron",
            sch,
            "--rule-severity",
            "own-2=warning",
            &a,
        ],
    );
    assert_eq!(rule_ids(&out, "error"), ["own-1", "own-2"]);

    // Values only on request.
    let out = run(
        &packs,
        &["validate", "--schematron", sch, "--show-values", &a],
    );
    assert!(text(&out).contains(value), "{}", text(&out));
}

/// A copy of the shared `xsd_dev` at `dir/copy/xsd_dev` (without its `sch/` neighbour).
fn copy_xsd_dev(dir: &Path) -> PathBuf {
    let src = dir.join("copy/xsd_dev");
    std::fs::create_dir_all(&src).expect("mkdir");
    for e in std::fs::read_dir(xbau_xsd_dev()).expect("xsd_dev") {
        let p = e.expect("entry").path();
        std::fs::copy(&p, src.join(p.file_name().expect("name"))).expect("copy");
    }
    src
}

#[test]
fn install_refuses_business_rules_that_do_not_compile() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = copy_xsd_dev(tmp.path());
    let sch = tmp.path().join("copy/sch");
    std::fs::create_dir_all(&sch).expect("mkdir");
    std::fs::write(
        sch.join("xbau-schematron.sch"),
        r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <sch:pattern><sch:rule context="/*"><sch:assert test="((">x</sch:assert></sch:rule></sch:pattern>
</sch:schema>"#,
    )
    .expect("write");
    let packs = tmp.path().join("packs");
    let out = run(
        &packs,
        &["schemas", "install", src.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("business rules: xbau-schematron.sch: 1 error(s)"),
        "{}",
        text(&out)
    );
    assert!(!packs.join("xbau-2.6").exists(), "nothing installed");
}

#[test]
fn validate_rules_without_rules_in_the_pack_is_no_verdict() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    // The directory copy without its sch/ neighbour: a pack without rules.
    let src = copy_xsd_dev(tmp.path());
    let packs = tmp.path().join("packs");
    let out = run(
        &packs,
        &["schemas", "install", src.to_str().expect("utf-8")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&packs, &["validate", "--rules", &sample(STAT_0426)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no business rules"), "{}", text(&out));
}
