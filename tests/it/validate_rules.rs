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
pub(crate) fn installed_or_skip() -> Option<(tempfile::TempDir, PathBuf)> {
    crate::shared_data::xoev_or_skip()?;
    let tmp = tempfile::tempdir().expect("tempdir");
    let packs = installed(tmp.path());
    Some((tmp, packs))
}

/// Runs poststelle with only the installed packs (no development fallback).
pub(crate) fn run(packs: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(args)
        .env("POSTSTELLE_PACKS", packs)
        .env("POSTSTELLE_SHARED", "/nonexistent-shared")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("poststelle runs")
}

pub(crate) fn sample(rel: &str) -> String {
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

pub(crate) const STAT_0426: &str = "fv-generated/statistik.bauabgang.0426_sample.xml";
pub(crate) const STAT_0423: &str = "fv-testdateien/statistik.baubeginn.0423_sample.xml";
pub(crate) const CLEAN_0200: &str =
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
    assert_eq!(
        manifest.files, 159,
        "45 XSD + 2 Schematron + 112 code lists"
    );
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
    // The code lists find three codes more (Bundesland "00", reachability "telefon" and
    // "email" against list version 2, whose codes are "01"…).
    assert_eq!(
        rule_ids(&out, "error"),
        [
            "codelist-value",
            "codelist-value",
            "codelist-value",
            "sch-stat-007",
            "sch-xbau-001",
            "sch-xbau-002"
        ]
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
    assert_eq!(
        rule_ids(&out, "warning"),
        [
            "codelist-unknown",
            "codelist-unknown",
            "sch-stat-001",
            "sch-stat-002"
        ]
    );
    assert!(rule_ids(&out, "error").is_empty());
}

#[test]
fn validate_rules_passes_a_clean_message() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let out = run(&packs, &["validate", "--rules", &sample(CLEAN_0200)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // Only warnings: lists the sample names that are not shared (the DVDV directory list,
    // XBau lists in versions not published with 2.6); every other code is in its list.
    let warnings = rule_ids(&out, "warning");
    assert!(!warnings.is_empty());
    assert!(
        warnings.iter().all(|r| r == "codelist-unknown"),
        "{warnings:?}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        warnings.len(),
        "{}",
        text(&out)
    );
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
    // Schematron first, then the code lists (the DVDV directory list is not shared: a warning).
    assert_eq!(
        rules,
        [
            "sch-stat-001",
            "sch-stat-002",
            "codelist-unknown",
            "codelist-unknown"
        ]
    );
    assert_eq!(findings[2]["severity"], "warning");
    assert_eq!(findings[2]["kind"], "code-list");
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
    // The clean message: no Schematron finding; only lists it names that are not shared.
    let clean = files[1]["findings"].as_array().expect("findings");
    assert!(
        clean
            .iter()
            .all(|f| f["rule"] == "codelist-unknown" && f["severity"] == "warning"),
        "{clean:?}"
    );
    assert_eq!(doc["summary"]["invalid"], 1);
    assert_eq!(doc["summary"]["valid"], 1);
}

/// A rule set of our own: one assert that shows an instance value with `value-of`, one test
/// that raises a type error (a processing error, never a pass).
pub(crate) const OWN_RULES: &str = r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
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

/// The clean 0200 sample with its `bundesland` code (a Typ 3 code: the list URI fixed in the
/// XSD, the version from the instance) set to `version` and `code`.
fn bundesland_0200(dir: &Path, version: &str, code: &str) -> String {
    let original = std::fs::read_to_string(sample(CLEAN_0200)).expect("sample");
    let from = "listVersionID=\"2004\">\n              <code>05</code>";
    assert!(original.contains(from), "the sample's bundesland changed");
    let changed = original.replace(
        from,
        &format!("listVersionID=\"{version}\">\n              <code>{code}</code>"),
    );
    let path = dir.join(format!("0200-{version}-{code}.xml"));
    std::fs::write(&path, changed).expect("write");
    path.display().to_string()
}

#[test]
fn install_keeps_the_code_lists_and_check_reads_them() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let lists = packs.join("xbau-2.6").join("codelists");
    let names: Vec<String> = std::fs::read_dir(&lists)
        .expect("codelists/ in the pack")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 112, "{names:?}");
    // XRepository names lists by their URN; `:` becomes `_` inside the pack.
    assert!(
        names.contains(
            &"urn_de_bund_destatis_bevoelkerungsstatistik_schluessel_bundesland_2010-04-01.xml"
                .to_owned()
        ),
        "{names:?}"
    );
    let out = run(&packs, &["schemas", "check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("112 code lists read"), "{}", text(&out));
    // A changed list breaks the fingerprint like any file of the pack.
    let one = lists.join(&names[0]);
    let mut bytes = std::fs::read(&one).expect("read");
    bytes.extend_from_slice(b"\n");
    std::fs::write(&one, bytes).expect("write");
    let out = run(&packs, &["schemas", "check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn the_shared_lists_load_within_limits_latin1_and_the_11227_row_ags_list_included() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    use poststelle::config::XmlLimits;
    use poststelle::xoev::codelist::{CodeLists, genericode};
    let dir = xbau_xsd_dev().parent().expect("xbau dir").join("codelists");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("codelists")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let xml = XmlLimits::default();
    let started = std::time::Instant::now();
    let lists = CodeLists::load(&files, &xml).expect("every shared list loads");
    eprintln!(
        "{} lists from {} files in {:.0} ms",
        lists.len(),
        files.len(),
        started.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(lists.len(), 112);
    let land = lists
        .get(
            "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:bundesland",
            "2010-04-01",
        )
        .expect("the ISO-8859-1 list");
    assert_eq!(land.len(), 16);
    assert!(land.contains("01") && land.contains("16") && !land.contains("00"));
    let ags = lists
        .get(
            "urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:ags",
            "2026-06-30",
        )
        .expect("the AGS list");
    assert_eq!(ags.len(), 11_227);
    // Rows are bounded: the AGS list is refused below its size.
    let bytes = std::fs::read(
        files
            .iter()
            .find(|f| f.to_string_lossy().contains("schluessel:ags_"))
            .expect("ags file"),
    )
    .expect("read");
    assert_eq!(
        genericode::read(&bytes, &xml, 10_000),
        Err(genericode::GenericodeError::TooManyRows(10_000))
    );
}

#[test]
fn codes_are_checked_against_the_installed_lists_by_uri_and_version() {
    let Some((tmp, packs)) = installed_or_skip() else {
        return;
    };
    // In the list: no finding.
    let good = bundesland_0200(tmp.path(), "2010-04-01", "05");
    let out = run(&packs, &["validate", "--rules", &good]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(!text(&out).contains("bundesland"), "{}", text(&out));
    let unknown_before = rule_ids(&out, "warning").len();
    // Not in the list: an error at the code element, without the value.
    let bad = bundesland_0200(tmp.path(), "2010-04-01", "00");
    let out = run(&packs, &["validate", "--rules", "--json", &bad]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    let findings = json["files"][0]["findings"].as_array().expect("findings");
    let codes: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule"] == "codelist-value")
        .collect();
    assert_eq!(codes.len(), 1, "{findings:?}");
    let f = codes[0];
    assert_eq!(f["rule"], "codelist-value");
    assert_eq!(f["severity"], "error");
    assert_eq!(
        (f["line"].as_u64(), f["column"].as_u64()),
        (Some(143), Some(13))
    );
    assert!(
        f["path"]
            .as_str()
            .expect("path")
            .ends_with("/xbau:flurstueck/bundesland"),
        "{f}"
    );
    assert_eq!(
        f["message"],
        "code not in code list urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:bundesland version 2010-04-01"
    );
    // A version that is not installed: a warning (the file stays valid), or an error when
    // the operator says so.
    let unknown = bundesland_0200(tmp.path(), "1999", "05");
    let out = run(&packs, &["validate", "--rules", &unknown]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(rule_ids(&out, "warning").len(), unknown_before + 1);
    assert!(
        text(&out).contains(
            "warning: codelist-unknown: code list urn:de:bund:destatis:bevoelkerungsstatistik:schluessel:bundesland version 1999 is not installed"
        ),
        "{}",
        text(&out)
    );
    let out = run(
        &packs,
        &[
            "validate",
            "--rules",
            "--rule-severity",
            "codelist-unknown=error",
            &unknown,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(rule_ids(&out, "warning").is_empty());
    assert_eq!(rule_ids(&out, "error").len(), unknown_before + 1);
}

#[test]
fn the_codes_of_the_20_xbau_samples_are_checked_against_the_shared_lists() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let root = crate::shared_data::shared().join(crate::shared_data::XBAU_SAMPLES);
    let mut files: Vec<String> = ["fv-generated", "fv-testdateien"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).expect("samples"))
        .map(|e| e.expect("entry").path().display().to_string())
        .filter(|p| p.ends_with(".xml"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 20);
    let mut args = vec!["validate", "--rules", "--json"];
    args.extend(files.iter().map(String::as_str));
    let out = run(&packs, &args);
    let json: Value = serde_json::from_slice(&out.stdout).expect("json");
    // Per list: how many codes are not in it (all in the statistics and process samples:
    // Bundesland "00", reachability "telefon"/"email" where list version 2 has "01"…, an XBau
    // message code in the Kernmodul list), and how many name a list that is not installed.
    let mut wrong: std::collections::BTreeMap<String, usize> = Default::default();
    let mut unknown = 0;
    for file in json["files"].as_array().expect("files") {
        for f in file["findings"].as_array().into_iter().flatten() {
            match f["rule"].as_str() {
                Some("codelist-value") => {
                    let m = f["message"].as_str().expect("message");
                    let list = m.split(' ').nth(5).expect("list uri").rsplit(':').next();
                    *wrong.entry(list.expect("name").to_owned()).or_default() += 1;
                }
                Some("codelist-unknown") => unknown += 1,
                _ => {}
            }
        }
    }
    let wrong: Vec<(&str, usize)> = wrong.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        wrong,
        [
            ("bundesland", 7),
            ("erreichbarkeit", 15),
            ("nachricht-eingangsquittierung", 1),
            ("xbau-kernmodul-nachrichten", 2),
        ]
    );
    assert!(unknown > 0, "Typ 4 lists of the samples are not all shared");
}
