//! Issue 16: the official XBau 2.6 Schematron on the 20 XBau samples. The expected failed
//! asserts per sample are what SaxonC-HE 13.1 reports (conformance/schematron_oracle.py) —
//! several XSD-valid samples break business rules (DVDV ids, statistics plausibility).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use poststelle::Limits;
use poststelle::schematron::{FindingKind, Overrides, RunOptions, Schema, Severity};
use poststelle::xpath::{Tree, TreeLimits};

/// The shared XBau data, or `None` (with the reason printed) when it is absent; under CI a
/// missing copy fails instead.
pub(crate) fn xbau_shared() -> Option<PathBuf> {
    let dir = super::xoev_support::shared().join("xoev/xbau-2.6");
    if dir.join("sch/xbau-schematron.sch").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "shared XBau 2.6 data missing at {} (CI must have it)",
        dir.display()
    );
    eprintln!("skipped: shared XBau 2.6 data missing at {}", dir.display());
    None
}

pub(crate) fn compile(path: &Path) -> Schema {
    let bytes = std::fs::read(path).expect("schematron readable");
    let none = |_: &str| None;
    Schema::compile(
        &bytes,
        &path.display().to_string(),
        &none,
        None,
        &Limits::default().xml,
    )
    .unwrap_or_else(|e| panic!("{} compiles: {e:?}", path.display()))
}

pub(crate) fn samples() -> Vec<PathBuf> {
    let base = super::xoev_support::shared().join("xoev/samples/xbau");
    let mut files = Vec::new();
    for dir in ["fv-testdateien", "fv-generated"] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(base.join(dir))
            .expect("samples")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        v.sort();
        files.extend(v);
    }
    files
}

const OPTIONS: RunOptions = RunOptions {
    show_values: false,
    budget: 10_000_000,
    max_findings: 1000,
};

fn failed(schema: &Schema, file: &Path) -> Vec<String> {
    let bytes = std::fs::read(file).expect("sample");
    let tree = Tree::parse(
        &bytes,
        &Limits::default().xml,
        TreeLimits { max_nodes: 1 << 20 },
    )
    .expect("well-formed");
    let r = schema.run(&tree, &OPTIONS, &Overrides::new());
    let mut ids: Vec<String> = r
        .findings
        .iter()
        .map(|f| match f.kind {
            FindingKind::ProcessingError => format!("{}!", f.rule),
            _ => f.rule.clone(),
        })
        .collect();
    ids.sort();
    ids
}

#[test]
fn official_xbau_schematron_compiles_with_every_rule() {
    let Some(dir) = xbau_shared() else { return };
    let main = compile(&dir.join("sch/xbau-schematron.sch"));
    // 154 concrete rules pulling in the 18 asserts through 349 extends.
    assert_eq!(main.size(), (154, 349));
    let empty = compile(&dir.join("sch/xbau-schematron-leere-elemente.sch"));
    assert_eq!(empty.size(), (1, 1));
}

#[test]
fn xbau_samples_fail_the_asserts_saxon_fails() {
    let Some(dir) = xbau_shared() else { return };
    let main = compile(&dir.join("sch/xbau-schematron.sch"));
    let empty = compile(&dir.join("sch/xbau-schematron-leere-elemente.sch"));
    let dvdv = "sch-xbau-001,sch-xbau-002";
    let expected: BTreeMap<&str, &str> = [
        (
            "fv-testdateien/baugenehmigung.antrag.0200_f180ba27-4549-4752-ab01-a7513866faa6.xml",
            "",
        ),
        ("fv-testdateien/statistik.bauabgang.0426_sample.xml", dvdv),
        (
            "fv-testdateien/statistik.baubeginn.0423_sample.xml",
            "sch-stat-007,sch-xbau-001,sch-xbau-002",
        ),
        (
            "fv-testdateien/statistik.baufertigstellung.0425_sample.xml",
            "sch-stat-007,sch-xbau-001,sch-xbau-002",
        ),
        (
            "fv-testdateien/statistik.baugenehmigung.0421_sample.xml",
            "sch-stat-007,sch-xbau-001,sch-xbau-002",
        ),
        (
            "fv-testdateien/statistik.bauueberhang.0427_sample.xml",
            "sch-stat-007,sch-xbau-001,sch-xbau-002",
        ),
        ("fv-testdateien/statistik.erloeschen.0422_sample.xml", dvdv),
        (
            "fv-testdateien/statistik.rohbaufertigstellung.0424_sample.xml",
            "sch-stat-007,sch-xbau-001,sch-xbau-002",
        ),
        ("fv-testdateien/test-0420-import.xml", dvdv),
        (
            "fv-generated/baugenehmigung.formellePruefung.0201_sample.xml",
            "",
        ),
        (
            "fv-generated/baugenehmigung.formellePruefung.0201_vollstaendig_sample.xml",
            "",
        ),
        (
            "fv-generated/prozessnachrichten.generischeQuittierungEingang.1180_sample.xml",
            "",
        ),
        (
            "fv-generated/prozessnachrichten.rueckweisung.G2G.1100_sample.xml",
            "",
        ),
        (
            "fv-generated/statistik.bauabgang.0426_sample.xml",
            "sch-stat-001,sch-stat-002",
        ),
        (
            "fv-generated/statistik.baubeginn.0423_sample.xml",
            "sch-stat-001,sch-stat-002",
        ),
        (
            "fv-generated/statistik.baufertigstellung.0425_sample.xml",
            "sch-stat-001,sch-stat-002",
        ),
        (
            "fv-generated/statistik.baugenehmigung.0421_sample.xml",
            "sch-stat-001,sch-stat-002",
        ),
        (
            "fv-generated/statistik.bauueberhang.0427_sample.xml",
            "sch-stat-001,sch-stat-002",
        ),
        (
            "fv-generated/statistik.erloscheneBaugenehmigung.0422_sample.xml",
            "sch-stat-001,sch-stat-002",
        ),
        (
            "fv-generated/statistik.fertigstellungRohbau.0424_sample.xml",
            "sch-stat-001,sch-stat-002",
        ),
    ]
    .into();
    let files = samples();
    assert_eq!(files.len(), 20);
    for file in files {
        let rel = format!(
            "{}/{}",
            file.parent()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            file.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
        let got = failed(&main, &file).join(",");
        assert_eq!(got, expected[rel.as_str()], "{rel}");
        assert_eq!(
            failed(&empty, &file),
            Vec::<String>::new(),
            "{rel}: no empty elements"
        );
    }
}

/// The message with its first Bauherr twice (`bauherr` is unbounded in the XSD, so still
/// XSD-valid): with two natural persons, `normalize-space()` of sch-stat-002 gets two family
/// names, XPTY0004 in XPath 2.0.
pub(crate) fn two_bauherren(text: &str) -> String {
    // Duplicate the first Bauherr (unbounded in the XSD): `normalize-space()` then gets two
    // family names, XPTY0004 in XPath 2.0.
    // (`bauherr` holds a `bauherr`: the end is the matching one, not the first.)
    let start = text.find("<xbau:bauherr>").expect("a bauherr");
    let mut depth = 0usize;
    let mut at = start;
    let end = loop {
        let open = text[at..].find("<xbau:bauherr>").map(|i| i + at);
        let close = text[at..].find("</xbau:bauherr>").expect("its end") + at;
        match open {
            Some(o) if o < close => {
                depth += 1;
                at = o + 1;
            }
            _ => {
                depth -= 1;
                at = close + "</xbau:bauherr>".len();
                if depth == 0 {
                    break at;
                }
            }
        }
    };
    format!("{}{}{}", &text[..end], &text[start..end], &text[end..])
}

#[test]
fn two_natural_person_bauherren_are_a_processing_error_of_stat_002() {
    let Some(dir) = xbau_shared() else { return };
    let main = compile(&dir.join("sch/xbau-schematron.sch"));
    let file = super::xoev_support::shared()
        .join("xoev/samples/xbau/fv-testdateien/statistik.baugenehmigung.0421_sample.xml");
    let doubled = two_bauherren(&std::fs::read_to_string(&file).expect("sample"));
    let tree = Tree::parse(
        doubled.as_bytes(),
        &Limits::default().xml,
        TreeLimits { max_nodes: 1 << 20 },
    )
    .expect("xml");
    let r = main.run(&tree, &OPTIONS, &Overrides::new());
    let stat002: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.rule == "sch-stat-002")
        .collect();
    assert_eq!(stat002.len(), 1, "{:?}", r.findings);
    assert_eq!(stat002[0].kind, FindingKind::ProcessingError);
    assert_eq!(stat002[0].severity, Severity::Error);
    assert!(stat002[0].message.contains("XPTY0004"));
}
