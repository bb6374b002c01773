//! Acceptance 1 of issue 2: XBau 2.6 with our own XSD engine. The 20 third-party samples are
//! valid; each derived negative case is invalid with exactly the error its `EXPECTED.tsv` names.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use poststelle::Limits;
use poststelle::xml::{BoundedReader, Event};
use poststelle::xsd::{self, ErrorKind, Grammar, ValidationOptions, ValidationReport};

use crate::shared_data::{shared, xoev_or_skip};

fn xbau_dir() -> PathBuf {
    shared().join("xoev/xbau-2.6/xsd_dev")
}

fn whole_set() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| {
        xsd::compile_dir(&xbau_dir(), &Limits::default()).expect("XBau 2.6 xsd_dev compiles")
    })
}

fn validate(g: &Grammar, file: &Path) -> ValidationReport {
    let bytes = std::fs::read(file).expect("sample readable");
    xsd::validate_bytes(g, &bytes, &Limits::default(), &ValidationOptions::default())
}

fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("sample dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

fn valid_samples() -> Vec<PathBuf> {
    let base = shared().join("xoev/samples/xbau");
    let mut files = xml_files(&base.join("fv-testdateien"));
    files.extend(xml_files(&base.join("fv-generated")));
    files
}

fn root_local_name(file: &Path) -> String {
    let bytes = std::fs::read(file).expect("readable");
    let mut reader = BoundedReader::from_bytes(&bytes, &Limits::default().xml);
    loop {
        match reader.next_event().expect("well-formed") {
            Event::Start(tag) => return tag.name().local.to_owned(),
            Event::Eof => panic!("no root element in {}", file.display()),
            _ => {}
        }
    }
}

#[test]
fn all_twenty_samples_are_valid_against_the_whole_directory() {
    let Some(_) = xoev_or_skip() else {
        return;
    };
    let g = whole_set();
    let files = valid_samples();
    assert_eq!(files.len(), 20);
    for file in files {
        let report = validate(g, &file);
        assert!(report.is_valid(), "{}: {:?}", file.display(), report.errors);
        assert!(report.clone().into_validated().is_ok());
    }
}

#[test]
fn samples_are_valid_against_their_entry_schema_from_roots_tsv() {
    let Some(_) = xoev_or_skip() else {
        return;
    };
    let roots =
        std::fs::read_to_string(shared().join("xoev/xbau-2.6/ROOTS.tsv")).expect("ROOTS.tsv");
    let entry_for = |root: &str| -> PathBuf {
        let line = roots
            .lines()
            .find(|l| l.split('\t').nth(1) == Some(root))
            .unwrap_or_else(|| panic!("{root} in ROOTS.tsv"));
        let entry = line.split('\t').nth(2).expect("entry column");
        shared().join("xoev/xbau-2.6").join(entry)
    };
    let mut compiled: Vec<(PathBuf, Grammar)> = Vec::new();
    for file in valid_samples() {
        let entry = entry_for(&root_local_name(&file));
        if !compiled.iter().any(|(p, _)| *p == entry) {
            let g = xsd::compile_file(&entry, &Limits::default())
                .unwrap_or_else(|e| panic!("{}: {e}", entry.display()));
            compiled.push((entry.clone(), g));
        }
        let g = &compiled
            .iter()
            .find(|(p, _)| *p == entry)
            .expect("compiled")
            .1;
        let report = validate(g, &file);
        assert!(report.is_valid(), "{}: {:?}", file.display(), report.errors);
    }
}

#[test]
fn universeller_antrag_roots_are_loaded_through_baukasten() {
    let Some(_) = xoev_or_skip() else {
        return;
    };
    // baukasten imports the Kernmodul namespace from two files; both must be loaded.
    let g = xsd::compile_file(
        &xbau_dir().join("xbau-nachrichten-baugenehmigung.xsd"),
        &Limits::default(),
    )
    .expect("compiles");
    let kern = "http://www.xleitstelle.de/xbau/kernmodul/1/3/0";
    assert!(
        g.root_element(kern, "universellerAntrag.antrag.1200")
            .is_some()
    );
    assert!(
        g.root_element(kern, "prozessnachrichten.rueckweisung.G2G.1100")
            .is_some()
    );
}

#[test]
fn every_negative_case_fails_with_its_expected_error() {
    let Some(_) = xoev_or_skip() else {
        return;
    };
    let dir = shared().join("xoev/samples/xbau/negative");
    let expected = std::fs::read_to_string(dir.join("EXPECTED.tsv")).expect("EXPECTED.tsv");
    let g = whole_set();
    let mut checked = 0;
    for line in expected
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("file\t"))
    {
        let mut cols = line.split('\t');
        let (Some(file), Some(_mutation), Some(error)) = (cols.next(), cols.next(), cols.next())
        else {
            continue;
        };
        let report = validate(g, &dir.join(file));
        assert_eq!(report.errors.len(), 1, "{file}: {:?}", report.errors);
        let e = &report.errors[0];
        let (kind, needle) = if error.starts_with("attribute ") {
            // "attribute listURI does not match fixed value X"
            let fixed = error.rsplit(' ').next().expect("value");
            (ErrorKind::FixedValue, fixed.to_owned())
        } else if error.starts_with("enumeration facet") {
            (ErrorKind::InvalidValue, "enumerated".to_owned())
        } else if error.starts_with("pattern facet of din91379") {
            (ErrorKind::InvalidValue, "datatypeC".to_owned())
        } else if error.starts_with("pattern facet of bn-g2g:UUID") {
            (ErrorKind::InvalidValue, "UUID".to_owned())
        } else if error.starts_with("not a valid xs:dateTime") {
            (ErrorKind::InvalidValue, "dateTime".to_owned())
        } else if error.contains("nachrichtenkopf.g2g expected") {
            (
                ErrorKind::UnexpectedElement,
                "expected nachrichtenkopf.g2g".to_owned(),
            )
        } else if error.starts_with("content model: unexpected element") {
            (ErrorKind::UnexpectedElement, "unerwartet".to_owned())
        } else {
            panic!("unknown expectation {error}");
        };
        assert_eq!(e.kind, kind, "{file}: {e}");
        assert!(
            e.message.contains(&needle),
            "{file}: '{}' lacks '{needle}'",
            e.message
        );
        assert!(
            e.line > 0 && e.column > 0 && e.path.starts_with('/'),
            "{file}: {e}"
        );
        checked += 1;
    }
    assert_eq!(checked, 10);
}

#[test]
fn error_texts_carry_no_instance_values_unless_asked() {
    let Some(_) = xoev_or_skip() else {
        return;
    };
    let file = shared().join("xoev/samples/xbau/negative/m3_din91379_cjk.xml");
    let report = validate(whole_set(), &file);
    assert!(!report.errors[0].message.contains("Müller"));
    let bytes = std::fs::read(&file).expect("readable");
    let options = ValidationOptions {
        show_values: true,
        ..ValidationOptions::default()
    };
    let shown = xsd::validate_bytes(whole_set(), &bytes, &Limits::default(), &options);
    assert!(shown.errors[0].message.contains("Müller"));
}
