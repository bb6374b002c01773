//! KoSIT-like validation reports (`validate --report DIR`, and the body of every daemon
//! answer, [`super::service`]): one XML document per checked document, in the shape of the
//! KoSIT validator's default report (VARL), so that a client that reads KoSIT reports finds
//! the same elements.
//!
//! # What is taken from the KoSIT validator, and from where
//! Read in itplr-kosit/validator (1.6.x) through the code search, December 2026:
//! - the root `rep:report` in `http://www.xoev.de/de/validator/varl/1` with `varlVersion="1.0.0"`
//!   and `valid`, then `rep:engine/rep:name`, `rep:timestamp`, `rep:documentIdentification`
//!   (`rep:documentHash` with `rep:hashAlgorithm`/`rep:hashValue` (base64), and
//!   `rep:documentReference`), `rep:scenarioMatched` (or `rep:noScenarioMatched` holding the
//!   well-formedness step), one `rep:validationStepResult` per step with the ids `val-xml`,
//!   `val-xsd`, `val-sch.N` and `valid` (false when the step has an error or warning message),
//!   `rep:message` with `id`, `level` (`error`/`warning`/`information`), `code`, `lineNumber`,
//!   `columnNumber`, `xpathLocation`, and `rep:assessment` holding `rep:accept` or
//!   `rep:reject` with `rep:explanation` — `configurations/xrechnung/resources/default-report.xsl`;
//! - the scenario and resource elements in `http://www.xoev.de/de/validator/framework/1/scenarios`
//!   (`s:scenario`, `s:resource`, `s:name`) — the same file and `src/main/model/xsd/scenarios.xsd`;
//! - `processingError/error` — `src/main/model/xsd/createReportInput.xsd` (there it is part of
//!   the report *input*; here it is written into the report).
//!
//! Unconfirmed: whether VARL's schema admits the additions below (attributes and elements in
//! our own namespace, `urn:poststelle:report:1`); a client that validates reports against VARL
//! may refuse them. The scenario is named, not described (no `s:match`, no resources list).
//!
//! # Additions, in `ps:` (`urn:poststelle:report:1`)
//! - `ps:kind` on each message (`failed-assert`, `successful-report`, `processing-error`,
//!   `code-list`, or the XSD error kind), so that a processing error is never mistaken for a
//!   rule that merely failed;
//! - in `rep:explanation`: `ps:recommendation` (`ACCEPTABLE`/`REJECT`, KoSIT's
//!   `AcceptRecommendation` names), `ps:counts` (XSD errors, findings per severity, processing
//!   errors, truncation) and `ps:text`, one sentence that says why — warnings and information
//!   never reject, and the text says so (the recurring KoSIT question: "valid=false but
//!   accepted?").
//!
//! # Rule sets
//! The business rules of a pack (several Schematron files) are one step `val-sch.1` naming
//! every rule set as a resource, because the findings do not say which file produced them;
//! code-list findings are their own step `val-codelist`. Instance values appear only as the
//! messages carry them (never, unless `--show-values`).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;

use super::document::{RulesOutcome, accepted};
use crate::schematron::{Finding, FindingKind, Severity};
use crate::xsd::{ErrorKind, ValidationError, ValidationReport};

/// The report namespace (VARL 1).
pub(super) const VARL_NS: &str = "http://www.xoev.de/de/validator/varl/1";
/// The scenario namespace of the KoSIT configuration format.
const SCENARIOS_NS: &str = "http://www.xoev.de/de/validator/framework/1/scenarios";
/// Our additions.
pub(super) const PS_NS: &str = "urn:poststelle:report:1";

/// KoSIT's recommendation (its `UNDEFINED` is a document that got no verdict: no report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Recommendation {
    /// No XSD error, no error-severity finding, no processing error.
    Acceptable,
    /// Anything else.
    Reject,
}

impl Recommendation {
    /// `ACCEPTABLE`, `REJECT`.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Acceptable => "ACCEPTABLE",
            Self::Reject => "REJECT",
        }
    }
}

/// What was found in one document.
#[derive(Debug, Clone, Copy)]
pub(super) enum Checked<'a> {
    /// Refused before any schema applied: not well-formed, or over a reader limit.
    NotWellFormed {
        /// What happened (no values).
        message: &'a str,
        /// Line, 0 when unknown.
        line: u64,
        /// Column, 0 when unknown.
        column: u64,
    },
    /// Validated against its schema, and the rules if asked for.
    Validated {
        /// The XSD step.
        xsd: &'a ValidationReport,
        /// The rules step.
        rules: &'a RulesOutcome,
    },
}

impl Checked<'_> {
    /// The recommendation, by the one acceptance rule ([`accepted`]).
    pub(super) fn recommendation(&self) -> Recommendation {
        match self {
            Self::NotWellFormed { .. } => Recommendation::Reject,
            Self::Validated {
                rules: RulesOutcome::Failed(_),
                ..
            } => Recommendation::Reject,
            Self::Validated { xsd, rules } if accepted(xsd, rules.findings()) => {
                Recommendation::Acceptable
            }
            Self::Validated { .. } => Recommendation::Reject,
        }
    }

    /// Whether the document is not XML (not well-formed or over a reader limit, found while
    /// reading its root or during the schema step): the daemon answers 400.
    pub(super) fn not_xml(&self) -> bool {
        match self {
            Self::NotWellFormed { .. } => true,
            Self::Validated { xsd, .. } => xsd
                .errors
                .iter()
                .any(|e| e.kind == ErrorKind::NotWellFormed),
        }
    }
}

/// Who checked what, for the report's head.
#[derive(Debug, Clone, Copy)]
pub(super) struct Subject<'a> {
    /// The document's name (file name, or the daemon's last path segment).
    pub(super) name: &'a str,
    /// SHA-256 of the document's bytes.
    pub(super) sha256: &'a [u8],
    /// The scenario: which standard, message and pack (when known).
    pub(super) scenario: Option<&'a str>,
    /// The names of the business-rule sets run (Schematron files).
    pub(super) rule_sets: &'a [&'a str],
}

/// Counts over a document's messages.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    not_well_formed: usize,
    xsd_errors: usize,
    errors: usize,
    warnings: usize,
    information: usize,
    processing_errors: usize,
    truncated: bool,
}

impl Counts {
    fn of(checked: &Checked<'_>) -> Self {
        let mut c = Counts::default();
        match checked {
            Checked::NotWellFormed { .. } => c.not_well_formed = 1,
            Checked::Validated { xsd, rules } => {
                for e in &xsd.errors {
                    if e.kind == ErrorKind::NotWellFormed {
                        c.not_well_formed += 1;
                    } else {
                        c.xsd_errors += 1;
                    }
                }
                c.truncated = xsd.truncated;
                for f in rules.findings() {
                    match f.severity {
                        Severity::Error => c.errors += 1,
                        Severity::Warning => c.warnings += 1,
                        Severity::Information => c.information += 1,
                    }
                    if f.kind == FindingKind::ProcessingError {
                        c.processing_errors += 1;
                    }
                }
                match rules {
                    RulesOutcome::Failed(_) => c.processing_errors += 1,
                    RulesOutcome::Checked { truncated, .. } => c.truncated |= truncated,
                    RulesOutcome::NotRun => {}
                }
            }
        }
        c
    }

    /// One sentence: the recommendation and why; warnings and information never reject.
    fn text(&self, recommendation: Recommendation) -> String {
        let mut reasons = Vec::new();
        if self.not_well_formed > 0 {
            reasons.push("the document is not well-formed XML or breaks an input limit".into());
        }
        if self.xsd_errors > 0 {
            reasons.push(format!("{} XML Schema error(s)", self.xsd_errors));
        }
        if self.processing_errors > 0 {
            reasons.push(format!(
                "{} processing error(s): a rule could not be evaluated, which never passes",
                self.processing_errors
            ));
        }
        let rule_errors = self.errors.saturating_sub(self.processing_errors);
        if rule_errors > 0 {
            reasons.push(format!("{rule_errors} error-severity finding(s)"));
        }
        let soft = format!(
            "{} warning(s) and {} information finding(s), which do not reject",
            self.warnings, self.information
        );
        let truncated = if self.truncated {
            "; more messages existed than are listed"
        } else {
            ""
        };
        match recommendation {
            Recommendation::Acceptable => format!(
                "ACCEPTABLE: no XML Schema error, no error-severity finding and no processing \
                 error; {soft}{truncated}."
            ),
            Recommendation::Reject => format!(
                "REJECT: {}; {soft}{truncated}.",
                if reasons.is_empty() {
                    "the document was not accepted".to_owned()
                } else {
                    reasons.join(", ")
                }
            ),
        }
    }
}

/// The report of one document (UTF-8 XML), stamped `now`.
pub(super) fn render(subject: &Subject<'_>, checked: &Checked<'_>, now: &str) -> String {
    let recommendation = checked.recommendation();
    let counts = Counts::of(checked);
    let mut w = XmlOut::default();
    w.out
        .push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let valid = match checked {
        Checked::NotWellFormed { .. } => false,
        Checked::Validated { xsd, rules } => {
            // KoSIT's `valid`: no step holds an error or a warning (information is fine).
            xsd.is_valid()
                && !matches!(rules, RulesOutcome::Failed(_))
                && rules
                    .findings()
                    .iter()
                    .all(|f| f.severity == Severity::Information)
        }
    };
    w.open(
        "rep:report",
        &[
            ("xmlns:rep", VARL_NS),
            ("xmlns:s", SCENARIOS_NS),
            ("xmlns:ps", PS_NS),
            ("varlVersion", "1.0.0"),
            ("valid", bool_str(valid)),
        ],
    );
    w.open("rep:engine", &[]);
    w.leaf(
        "rep:name",
        &[],
        concat!("poststelle ", env!("CARGO_PKG_VERSION")),
    );
    w.leaf("rep:info", &[("key", "version")], env!("CARGO_PKG_VERSION"));
    w.close("rep:engine");
    w.leaf("rep:timestamp", &[], now);
    w.open("rep:documentIdentification", &[]);
    w.open("rep:documentHash", &[]);
    w.leaf("rep:hashAlgorithm", &[], "SHA-256");
    w.leaf(
        "rep:hashValue",
        &[],
        &base64::engine::general_purpose::STANDARD.encode(subject.sha256),
    );
    w.close("rep:documentHash");
    w.leaf("rep:documentReference", &[], subject.name);
    w.close("rep:documentIdentification");
    match checked {
        Checked::NotWellFormed {
            message,
            line,
            column,
        } => {
            w.open("rep:noScenarioMatched", &[]);
            w.open(
                "rep:validationStepResult",
                &[("id", "val-xml"), ("valid", "false")],
            );
            w.message(&Message {
                id: "val-xml.1",
                level: "error",
                code: "not-well-formed",
                kind: "not-well-formed",
                line: *line,
                column: *column,
                location: "",
                text: message,
            });
            w.close("rep:validationStepResult");
            w.close("rep:noScenarioMatched");
        }
        Checked::Validated { xsd, rules } => {
            w.open("rep:scenarioMatched", &[]);
            if let Some(scenario) = subject.scenario {
                w.open("s:scenario", &[]);
                w.leaf("s:name", &[], scenario);
                w.close("s:scenario");
            }
            xsd_steps(&mut w, xsd);
            rules_steps(&mut w, subject.rule_sets, rules);
            w.close("rep:scenarioMatched");
            if let RulesOutcome::Failed(message) = rules {
                w.open("rep:processingError", &[]);
                w.leaf("rep:error", &[], message);
                w.close("rep:processingError");
            }
        }
    }
    w.open("rep:assessment", &[]);
    let verdict = match recommendation {
        Recommendation::Acceptable => "rep:accept",
        Recommendation::Reject => "rep:reject",
    };
    w.open(verdict, &[]);
    w.open("rep:explanation", &[]);
    w.leaf("ps:recommendation", &[], recommendation.as_str());
    let n = |v: usize| v.to_string();
    w.empty(
        "ps:counts",
        &[
            ("notWellFormed", &n(counts.not_well_formed)),
            ("xsdErrors", &n(counts.xsd_errors)),
            ("errors", &n(counts.errors)),
            ("warnings", &n(counts.warnings)),
            ("information", &n(counts.information)),
            ("processingErrors", &n(counts.processing_errors)),
            ("truncated", bool_str(counts.truncated)),
        ],
    );
    w.leaf("ps:text", &[], &counts.text(recommendation));
    w.close("rep:explanation");
    w.close(verdict);
    w.close("rep:assessment");
    w.close("rep:report");
    w.out
}

/// The well-formedness step (only when the schema step met markup it could not read) and the
/// XML Schema step.
fn xsd_steps(w: &mut XmlOut, xsd: &ValidationReport) {
    let (syntax, schema): (Vec<_>, Vec<_>) = xsd
        .errors
        .iter()
        .partition(|e| e.kind == ErrorKind::NotWellFormed);
    if !syntax.is_empty() {
        w.open(
            "rep:validationStepResult",
            &[("id", "val-xml"), ("valid", "false")],
        );
        xsd_messages(w, "val-xml", &syntax);
        w.close("rep:validationStepResult");
    }
    w.open(
        "rep:validationStepResult",
        &[("id", "val-xsd"), ("valid", bool_str(schema.is_empty()))],
    );
    xsd_messages(w, "val-xsd", &schema);
    if xsd.truncated {
        w.leaf(
            "ps:truncated",
            &[],
            "more XML Schema errors existed than are listed (--max-errors)",
        );
    }
    w.close("rep:validationStepResult");
}

fn xsd_messages(w: &mut XmlOut, step: &str, errors: &[&ValidationError]) {
    for (i, e) in errors.iter().enumerate() {
        w.message(&Message {
            id: &format!("{step}.{}", i + 1),
            level: "error",
            code: e.kind.as_str(),
            kind: e.kind.as_str(),
            line: e.line,
            column: e.column,
            location: &e.path,
            text: &e.message,
        });
    }
}

/// The business-rules step (all rule sets) and the code-list step, when the rules ran.
fn rules_steps(w: &mut XmlOut, rule_sets: &[&str], rules: &RulesOutcome) {
    let (findings, truncated) = match rules {
        RulesOutcome::NotRun => return,
        RulesOutcome::Checked {
            findings,
            truncated,
        } => (&findings[..], *truncated),
        RulesOutcome::Failed(_) => (&[][..], false),
    };
    let (codes, sch): (Vec<&Finding>, Vec<&Finding>) = findings
        .iter()
        .partition(|f| f.kind == FindingKind::CodeList);
    let failed = matches!(rules, RulesOutcome::Failed(_));
    let step = |w: &mut XmlOut, id: &str, resources: &[&str], list: &[&Finding]| {
        let valid = !failed && list.iter().all(|f| f.severity == Severity::Information);
        w.open(
            "rep:validationStepResult",
            &[("id", id), ("valid", bool_str(valid))],
        );
        for name in resources {
            w.open("s:resource", &[]);
            w.leaf("s:name", &[], name);
            w.close("s:resource");
        }
        for (i, f) in list.iter().enumerate() {
            w.message(&Message {
                id: &format!("{id}.{}", i + 1),
                level: f.severity.as_str(),
                code: &f.rule,
                kind: kind_str(f.kind),
                line: f.line,
                column: f.column,
                location: &f.path,
                text: &f.message,
            });
        }
        if truncated {
            w.leaf(
                "ps:truncated",
                &[],
                "more findings existed than are listed ([limits.schematron] max_findings)",
            );
        }
        w.close("rep:validationStepResult");
    };
    step(w, "val-sch.1", rule_sets, &sch);
    if !codes.is_empty() {
        step(w, "val-codelist", &[], &codes);
    }
}

fn kind_str(kind: FindingKind) -> &'static str {
    match kind {
        FindingKind::FailedAssert => "failed-assert",
        FindingKind::SuccessfulReport => "successful-report",
        FindingKind::ProcessingError => "processing-error",
        FindingKind::CodeList => "code-list",
    }
}

fn bool_str(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// One `rep:message`.
struct Message<'a> {
    id: &'a str,
    level: &'a str,
    code: &'a str,
    kind: &'a str,
    line: u64,
    column: u64,
    location: &'a str,
    text: &'a str,
}

/// A minimal, always well-formed XML writer: names are ours, every text and attribute value
/// is escaped, and characters XML 1.0 forbids (from a file name, say) become U+FFFD.
#[derive(Default)]
struct XmlOut {
    out: String,
    depth: usize,
}

impl XmlOut {
    fn start(&mut self, name: &str, attrs: &[(&str, &str)]) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            let _ = write!(self.out, " {k}=\"");
            escape_into(&mut self.out, v);
            self.out.push('"');
        }
    }

    fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push_str(">\n");
        self.depth += 1;
    }

    fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        let _ = writeln!(self.out, "</{name}>");
    }

    fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.start(name, attrs);
        self.out.push('>');
        escape_into(&mut self.out, text);
        let _ = writeln!(self.out, "</{name}>");
    }

    fn empty(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.start(name, attrs);
        self.out.push_str("/>\n");
    }

    fn message(&mut self, m: &Message<'_>) {
        let (line, column) = (m.line.to_string(), m.column.to_string());
        let mut attrs = vec![
            ("id", m.id),
            ("level", m.level),
            ("code", m.code),
            ("ps:kind", m.kind),
        ];
        // KoSIT leaves out unknown positions (its -1) and empty locations.
        if m.line > 0 {
            attrs.push(("lineNumber", &line));
        }
        if m.column > 0 {
            attrs.push(("columnNumber", &column));
        }
        if !m.location.is_empty() {
            attrs.push(("xpathLocation", m.location));
        }
        self.leaf("rep:message", &attrs, m.text);
    }
}

/// Escapes text or an attribute value (quotes, and line ends so that attribute values keep
/// them), replacing characters XML forbids.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if crate::xml::chars::is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
}

/// The current time as KoSIT writes it (`xs:dateTime`, UTC).
pub(super) fn now() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// SHA-256 of bytes in memory.
pub(super) fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}

/// SHA-256 of a file, streamed.
fn sha256_file(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    let mut file = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        ctx.update(&buf[..n]);
    }
    Ok(ctx.finish().as_ref().to_vec())
}

/// `validate --report DIR`: one report per file, `DIR/<file-stem>-report.xml` (as KoSIT names
/// them); a stem met twice in one run gets `-2`, `-3`, … rather than overwriting.
#[derive(Debug, Default)]
pub(super) struct Reports {
    used: HashSet<String>,
    /// The scenario (standard, message, pack) chosen for the file of each index.
    scenarios: HashMap<usize, String>,
    /// A report could not be written (the run gets no verdict, exit 2).
    pub(super) failed: bool,
}

impl Reports {
    /// Records the scenario chosen for the file of `index` (its schema found by its root).
    pub(super) fn scenario(&mut self, index: usize, label: &str) {
        self.scenarios.insert(index, label.to_owned());
    }

    /// Writes the report of the file at `path` (`index` on the command line) into `dir`.
    pub(super) fn write(
        &mut self,
        dir: &Path,
        path: &Path,
        index: usize,
        rule_sets: &[&str],
        checked: &Checked<'_>,
    ) {
        let result = self.try_write(dir, path, index, rule_sets, checked);
        if let Err(message) = result {
            eprintln!("{}: report not written: {message}", path.display());
            self.failed = true;
        }
    }

    fn try_write(
        &mut self,
        dir: &Path,
        path: &Path,
        index: usize,
        rule_sets: &[&str],
        checked: &Checked<'_>,
    ) -> Result<PathBuf, String> {
        let hash = sha256_file(path).map_err(|e| format!("cannot read: {e}"))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stem = path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "document".to_owned());
        let mut file_name = format!("{stem}-report.xml");
        let mut i = 1;
        while !self.used.insert(file_name.clone()) {
            i += 1;
            file_name = format!("{stem}-{i}-report.xml");
        }
        let subject = Subject {
            name: &name,
            sha256: &hash,
            scenario: self.scenarios.get(&index).map(String::as_str),
            rule_sets,
        };
        let xml = render(&subject, checked, &now());
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let out = dir.join(file_name);
        std::fs::write(&out, xml).map_err(|e| format!("{}: {e}", out.display()))?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(rule: &str, severity: Severity, kind: FindingKind) -> Finding {
        Finding {
            rule: rule.to_owned(),
            severity,
            kind,
            line: 3,
            column: 7,
            path: "/a[1]/b[2]".to_owned(),
            message: "b & <c> \"fehlt\"".to_owned(),
            test: String::new(),
            diagnostics: Vec::new(),
        }
    }

    fn subject<'a>(hash: &'a [u8], name: &'a str) -> Subject<'a> {
        Subject {
            name,
            sha256: hash,
            scenario: Some("Test 1.0 a"),
            rule_sets: &["r.sch"],
        }
    }

    #[test]
    fn warnings_and_information_do_not_reject_and_the_report_says_so() {
        let xsd = ValidationReport::default();
        let rules = RulesOutcome::Checked {
            findings: vec![
                finding("w-1", Severity::Warning, FindingKind::FailedAssert),
                finding("i-1", Severity::Information, FindingKind::SuccessfulReport),
            ],
            truncated: false,
        };
        let checked = Checked::Validated {
            xsd: &xsd,
            rules: &rules,
        };
        assert_eq!(checked.recommendation(), Recommendation::Acceptable);
        let xml = render(
            &subject(&[0; 32], "a.xml"),
            &checked,
            "2026-12-05T00:00:00Z",
        );
        assert!(xml.contains("<rep:accept>"), "{xml}");
        assert!(
            xml.contains("valid=\"false\""),
            "KoSIT's valid counts warnings: {xml}"
        );
        assert!(
            xml.contains("1 warning(s) and 1 information finding(s), which do not reject"),
            "{xml}"
        );
        assert!(xml.contains("b &amp; &lt;c&gt; &quot;fehlt&quot;"), "{xml}");
    }

    #[test]
    fn a_processing_error_rejects_even_when_downgraded() {
        let xsd = ValidationReport::default();
        let rules = RulesOutcome::Checked {
            findings: vec![finding(
                "p-1",
                Severity::Warning,
                FindingKind::ProcessingError,
            )],
            truncated: false,
        };
        let checked = Checked::Validated {
            xsd: &xsd,
            rules: &rules,
        };
        assert_eq!(checked.recommendation(), Recommendation::Reject);
        let failed = RulesOutcome::Failed("business rules not checked: too many nodes".into());
        let checked = Checked::Validated {
            xsd: &xsd,
            rules: &failed,
        };
        assert_eq!(checked.recommendation(), Recommendation::Reject);
        let xml = render(&subject(&[1; 32], "a.xml"), &checked, "t");
        assert!(xml.contains("<rep:processingError>"), "{xml}");
        assert!(xml.contains("processingErrors=\"1\""), "{xml}");
        assert!(xml.contains("<rep:reject>"), "{xml}");
    }

    #[test]
    fn xsd_errors_reject_and_syntax_errors_get_their_own_step() {
        let xsd = ValidationReport {
            errors: vec![
                ValidationError {
                    line: 2,
                    column: 1,
                    path: "/a".into(),
                    kind: ErrorKind::MissingElement,
                    message: "b expected".into(),
                },
                ValidationError {
                    line: 9,
                    column: 0,
                    path: String::new(),
                    kind: ErrorKind::NotWellFormed,
                    message: "depth limit".into(),
                },
            ],
            ..ValidationReport::default()
        };
        let checked = Checked::Validated {
            xsd: &xsd,
            rules: &RulesOutcome::NotRun,
        };
        assert_eq!(checked.recommendation(), Recommendation::Reject);
        assert!(checked.not_xml());
        let xml = render(&subject(&[2; 32], "x\u{1}y.xml"), &checked, "t");
        assert!(xml.contains("id=\"val-xml.1\""), "{xml}");
        assert!(
            xml.contains(
                "<rep:message id=\"val-xsd.1\" level=\"error\" code=\"missing-element\" \
                 ps:kind=\"missing-element\" lineNumber=\"2\" columnNumber=\"1\" \
                 xpathLocation=\"/a\">b expected</rep:message>"
            ),
            "{xml}"
        );
        assert!(
            !xml.contains("val-sch"),
            "no rules step when not run: {xml}"
        );
        assert!(xml.contains("x\u{FFFD}y.xml"), "{xml}");
        assert!(!xml.contains('\u{1}'));
    }
}
