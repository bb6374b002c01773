//! Issue 16, scope 4: `poststelle validate --rules --report DIR` writes one KoSIT-like XML
//! report per file (VARL's elements, `urn:poststelle:report:1` additions): read back with the
//! project's strict XML reader and asserted — recommendation, rule ids, counts, hash, and no
//! instance values.

use std::path::Path;

use poststelle::config::XmlLimits;
use poststelle::xml::{BoundedReader, Event};

use crate::validate_rules::{CLEAN_0200, STAT_0426, installed_or_skip, run, sample};
use crate::xoev_support::text;

const VARL: &str = "http://www.xoev.de/de/validator/varl/1";
const PS: &str = "urn:poststelle:report:1";
const SCENARIOS: &str = "http://www.xoev.de/de/validator/framework/1/scenarios";

/// One `rep:message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Message {
    /// The id of its step (`val-xsd`, `val-sch.1`, …).
    pub(crate) step: String,
    pub(crate) code: String,
    pub(crate) level: String,
    pub(crate) kind: String,
    pub(crate) text: String,
}

/// What the tests read from a report.
#[derive(Debug, Default)]
pub(crate) struct Report {
    /// `ACCEPTABLE` or `REJECT` from `ps:recommendation`, checked against `rep:accept`/`rep:reject`.
    pub(crate) recommendation: String,
    pub(crate) valid: String,
    pub(crate) document_reference: String,
    /// `s:scenario/s:name`.
    pub(crate) scenario: String,
    pub(crate) hash: String,
    pub(crate) messages: Vec<Message>,
    /// `ps:counts` attributes.
    pub(crate) counts: Vec<(String, String)>,
    pub(crate) text: String,
    pub(crate) processing_errors: Vec<String>,
    /// Every text of the document, for "no value anywhere".
    pub(crate) all_text: String,
}

impl Report {
    pub(crate) fn count(&self, name: &str) -> &str {
        self.counts
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v)
    }

    pub(crate) fn codes(&self, step_prefix: &str) -> Vec<&str> {
        self.messages
            .iter()
            .filter(|m| m.step.starts_with(step_prefix))
            .map(|m| m.code.as_str())
            .collect()
    }
}

/// Parses a report with the project's strict reader (it must be well-formed and namespaced).
pub(crate) fn parse_report(xml: &[u8]) -> Report {
    let mut reader = BoundedReader::new(xml, &XmlLimits::default());
    let mut report = Report::default();
    // (namespace, local) of the open elements.
    let mut open: Vec<(String, String)> = Vec::new();
    let mut verdict_element = String::new();
    let mut step = String::new();
    loop {
        match reader.next_event().expect("a well-formed report") {
            Event::Start(tag) => {
                let name = tag.name();
                let attrs: Vec<(String, String, String)> = tag
                    .attributes()
                    .map(|a| {
                        (
                            a.name.namespace.to_owned(),
                            a.name.local.to_owned(),
                            a.value.to_owned(),
                        )
                    })
                    .collect();
                let attr = |ns: &str, local: &str| {
                    attrs
                        .iter()
                        .find(|(n, l, _)| n == ns && l == local)
                        .map(|(_, _, v)| v.clone())
                        .unwrap_or_default()
                };
                match (name.namespace, name.local) {
                    (VARL, "report") => report.valid = attr("", "valid"),
                    (VARL, "validationStepResult") => step = attr("", "id"),
                    (VARL, "accept" | "reject") => verdict_element = name.local.to_owned(),
                    (VARL, "message") => report.messages.push(Message {
                        step: step.clone(),
                        code: attr("", "code"),
                        level: attr("", "level"),
                        kind: attr(PS, "kind"),
                        text: String::new(),
                    }),
                    (PS, "counts") => {
                        report.counts = attrs
                            .iter()
                            .map(|(_, l, v)| (l.clone(), v.clone()))
                            .collect();
                    }
                    _ => {}
                }
                open.push((name.namespace.to_owned(), name.local.to_owned()));
            }
            Event::Text(t) => {
                report.all_text.push_str(t);
                report.all_text.push('\n');
                let Some((ns, local)) = open.last() else {
                    continue;
                };
                match (ns.as_str(), local.as_str()) {
                    (VARL, "message") => {
                        if let Some(m) = report.messages.last_mut() {
                            m.text.push_str(t);
                        }
                    }
                    (VARL, "documentReference") => report.document_reference.push_str(t),
                    (SCENARIOS, "name") if open.iter().any(|(_, l)| l == "scenario") => {
                        report.scenario.push_str(t);
                    }
                    (VARL, "hashValue") => report.hash.push_str(t),
                    (VARL, "error") => report.processing_errors.push(t.to_owned()),
                    (PS, "recommendation") => report.recommendation.push_str(t),
                    (PS, "text") => report.text.push_str(t),
                    _ => {}
                }
            }
            Event::End => {
                open.pop();
            }
            Event::Eof => break,
        }
    }
    let expected = match report.recommendation.as_str() {
        "ACCEPTABLE" => "accept",
        "REJECT" => "reject",
        other => panic!("recommendation {other:?}"),
    };
    assert_eq!(verdict_element, expected, "rep:assessment agrees");
    report
}

fn read_report(dir: &Path, name: &str) -> Report {
    let path = dir.join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_report(&bytes)
}

/// SHA-256 (base64) of a file, computed independently (python3's hashlib).
fn sha256_b64(path: &str) -> String {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys,hashlib,base64;print(base64.b64encode(hashlib.sha256(open(sys.argv[1],'rb').read()).digest()).decode())",
            path,
        ])
        .output()
        .expect("python3 runs");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn validate_report_writes_a_kosit_like_report_per_file_with_the_recommendation() {
    let Some((tmp, packs)) = installed_or_skip() else {
        return;
    };
    let dir = tmp.path().join("reports");
    let dir_arg = dir.to_str().expect("utf-8");
    let (rejected, accepted) = (sample(STAT_0426), sample(CLEAN_0200));
    let out = run(
        &packs,
        &[
            "validate", "--rules", "--report", dir_arg, &rejected, &accepted,
        ],
    );
    // The exit code is validate's as before: one file fails the rules.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    let r = read_report(&dir, "statistik.bauabgang.0426_sample-report.xml");
    assert_eq!(r.recommendation, "REJECT");
    assert_eq!(r.valid, "false");
    assert_eq!(r.codes("val-sch.1"), ["sch-stat-001", "sch-stat-002"]);
    assert!(r.codes("val-xsd").is_empty());
    let m = &r.messages[0];
    assert_eq!(
        (m.level.as_str(), m.kind.as_str()),
        ("error", "failed-assert")
    );
    assert_eq!(m.text, "Die Angabe des Bundeslandes fehlt.");
    // Code-list findings (if any) are warnings in their own step: the 2 errors are the rules'.
    assert_eq!(r.count("errors"), "2");
    assert_eq!(r.count("processingErrors"), "0");
    assert!(
        r.text.starts_with("REJECT: 2 error-severity finding(s)"),
        "{}",
        r.text
    );
    assert_eq!(r.document_reference, "statistik.bauabgang.0426_sample.xml");
    assert!(
        r.scenario
            .starts_with("XBau 2.6 statistik.bauabgang.0426 (xbau-2.6@sha256:"),
        "{}",
        r.scenario
    );
    assert_eq!(r.hash, sha256_b64(&rejected));
    // No instance value of the message anywhere in the report.
    let value = "urn:de:bund:destatis:bfs:intern:statistik:nrw";
    assert!(!r.all_text.contains(value), "{}", r.all_text);

    let r = read_report(
        &dir,
        "baugenehmigung.antrag.0200_f180ba27-4549-4752-ab01-a7513866faa6-report.xml",
    );
    assert_eq!(r.recommendation, "ACCEPTABLE");
    // No Schematron finding; the code lists it names that the pack lacks are warnings
    // (`codelist-unknown`) in their own step, and warnings do not reject.
    assert!(r.codes("val-sch.1").is_empty(), "{:?}", r.messages);
    assert!(
        r.messages
            .iter()
            .all(|m| m.step == "val-codelist" && m.level == "warning" && m.kind == "code-list"),
        "{:?}",
        r.messages
    );
    let warnings = r.messages.len();
    assert_eq!(r.count("warnings"), warnings.to_string());
    assert!(r.text.starts_with("ACCEPTABLE: "), "{}", r.text);
    assert!(
        r.text.contains(&format!(
            "{warnings} warning(s) and 0 information finding(s), which do not reject"
        )),
        "{}",
        r.text
    );
    assert_eq!(r.hash, sha256_b64(&accepted));

    // Downgraded to warnings: accepted, the report says why, KoSIT's valid stays false.
    let dir2 = tmp.path().join("reports2");
    let out = run(
        &packs,
        &[
            "validate",
            "--rules",
            "--rule-severity",
            "sch-stat-001=warning",
            "--rule-severity",
            "sch-stat-002=warning",
            "--report",
            dir2.to_str().expect("utf-8"),
            &rejected,
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let r = read_report(&dir2, "statistik.bauabgang.0426_sample-report.xml");
    assert_eq!(r.recommendation, "ACCEPTABLE");
    assert_eq!(r.valid, "false");
    let sch: Vec<&str> = r
        .messages
        .iter()
        .filter(|m| m.step == "val-sch.1")
        .map(|m| m.level.as_str())
        .collect();
    assert_eq!(sch, ["warning", "warning"]);
    assert_eq!(r.count("errors"), "0");
    assert!(r.text.contains("which do not reject"), "{}", r.text);
}

/// The rule set of `validate_rules.rs` (an assert with `value-of`, a test with a type error):
/// downgraded to warnings, the processing error alone still rejects, and the `value-of` value
/// stays out. A document with a DTD is refused before any schema, as `validate` refuses it.
#[test]
fn validate_report_rejects_a_processing_error_and_refused_input() {
    let Some((tmp, packs)) = installed_or_skip() else {
        return;
    };
    let sch = tmp.path().join("own.sch");
    std::fs::write(&sch, crate::validate_rules::OWN_RULES).expect("write");
    let broken = tmp.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
    )
    .expect("write");
    let dir = tmp.path().join("reports");
    let out = run(
        &packs,
        &[
            "validate",
            "--schematron",
            sch.to_str().expect("utf-8"),
            // own-1 becomes a warning; own-2's processing error stays an error and rejects.
            "--rule-severity",
            "own-1=warning",
            "--rule-severity",
            "own-2=warning",
            "--report",
            dir.to_str().expect("utf-8"),
            &sample(STAT_0426),
            broken.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let r = read_report(&dir, "statistik.bauabgang.0426_sample-report.xml");
    assert_eq!(r.recommendation, "REJECT", "{}", r.text);
    assert_eq!(r.codes("val-sch.1"), ["own-1", "own-2"]);
    assert_eq!(r.messages[1].kind, "processing-error");
    assert_eq!(
        r.messages[1].level, "error",
        "processing errors stay errors"
    );
    assert_eq!(r.count("processingErrors"), "1");
    assert_eq!(r.messages[0].level, "warning");
    assert_eq!(r.messages[0].text, "Leser […] unbekannt");
    assert!(
        r.text.contains("1 processing error(s)") && !r.text.contains("error-severity finding"),
        "{}",
        r.text
    );
    assert!(
        !r.all_text.contains("urn:de:bund:destatis"),
        "{}",
        r.all_text
    );

    // Not XML (a DTD): refused before any schema, as validate refuses it.
    let r = read_report(&dir, "broken-report.xml");
    assert_eq!(r.recommendation, "REJECT");
    assert_eq!(r.codes("val-xml"), ["not-well-formed"]);
    assert!(
        r.messages[0]
            .text
            .contains("DOCTYPE declarations are not allowed"),
        "{:?}",
        r.messages
    );
}
