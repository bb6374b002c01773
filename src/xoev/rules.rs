//! The business rules of a schema pack: its ISO Schematron files ([`crate::schematron`]) and
//! its genericode code lists ([`super::codelist`]), compiled and read once per pack and
//! shared, and the one function that checks a document against them — used by
//! `poststelle validate --rules` and by the gateway's check alike.
//!
//! Which files are a pack's rules is the catalogue's word (`schematron = [...]` of a pack);
//! `schemas install` keeps exactly those, so they are part of the pack's fingerprint. A pack
//! whose rules do not compile is refused at install; a pack without rules has none to run.
//! `sch:include` is not resolved (no known XÖV Schematron uses it): an include is a compile
//! error, never a read outside the pack.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::config::{Limits, XmlLimits};
use crate::schematron::{Overrides, RunOptions, RunReport, Schema};
use crate::xml::{Pos, StartTag};
use crate::xpath::{Tree, TreeBuilder, TreeError, TreeLimits};
use crate::xsd::datatypes::Value;
use crate::xsd::validator::AttributeInfo;
use crate::xsd::{ElementInfo, Grammar, Observer, ValidationOptions, ValidationReport};

use super::codelist::{self, CodeChecker, CodeLists};

use super::registry::LoadedPack;

/// Bounds of one rules run, from `[limits.schematron]` ([`crate::config::SchematronLimits`]:
/// the 154 XBau rules take well under 1 % of the default budget on the samples; it bounds
/// hostile documents that make `//` contexts quadratic).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulesLimits {
    /// Options of each Schematron run (budget, findings kept, values shown).
    pub run: RunOptions,
    /// Nodes of the document tree the rules run on.
    pub tree: TreeLimits,
}

impl From<&crate::config::SchematronLimits> for RulesLimits {
    /// The run and tree bounds of `[limits.schematron]`; instance values are never shown.
    fn from(l: &crate::config::SchematronLimits) -> Self {
        RulesLimits {
            run: RunOptions {
                show_values: false,
                budget: l.max_evaluation_steps,
                max_findings: l.max_findings,
            },
            tree: TreeLimits {
                max_nodes: l.max_tree_nodes,
            },
        }
    }
}

impl Default for RulesLimits {
    fn default() -> Self {
        Self::from(&crate::config::SchematronLimits::default())
    }
}

/// The compiled rules of one pack.
#[derive(Debug, Default)]
pub struct CompiledRules {
    /// Schematron schemas in catalogue order.
    pub schematron: Vec<Schema>,
    /// The pack's code lists.
    pub codelists: CodeLists,
}

impl CompiledRules {
    /// Whether there is nothing to check.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.schematron.is_empty() && self.codelists.is_empty()
    }
}

/// The compiled rules of one pack, shared.
pub type PackRules = Arc<CompiledRules>;

/// Compiles Schematron files (offline, no includes).
///
/// # Errors
/// A short description naming the file and its first error, for a rule set that cannot run.
pub fn compile_files(files: &[PathBuf], xml: &XmlLimits) -> Result<Vec<Schema>, String> {
    files.iter().map(|f| compile_file(f, xml)).collect()
}

fn compile_file(file: &Path, xml: &XmlLimits) -> Result<Schema, String> {
    let shown = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bytes = std::fs::read(file).map_err(|e| format!("{shown}: {e}"))?;
    let no_includes = |_: &str| None;
    Schema::compile(&bytes, &shown, &no_includes, None, xml).map_err(|errors| {
        format!(
            "{shown}: {} error(s); first: {}",
            errors.len(),
            errors.first().map(ToString::to_string).unwrap_or_default()
        )
    })
}

/// Compiled rules by pack label (`id@fingerprint`): compiled the first time a message of the
/// pack is checked and kept (installed packs are immutable), with the operator's severity
/// overrides (`[validation.rule_severity]`). A clone shares the cache.
#[derive(Default, Clone)]
pub struct RulesCache {
    compiled: Arc<Mutex<HashMap<String, PackRules>>>,
    overrides: Arc<Overrides>,
}

impl std::fmt::Debug for RulesCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RulesCache").finish_non_exhaustive()
    }
}

impl RulesCache {
    /// An empty cache whose checks apply these severity overrides (by rule id).
    #[must_use]
    pub fn with_overrides(overrides: Overrides) -> Self {
        Self {
            compiled: Arc::default(),
            overrides: Arc::new(overrides),
        }
    }

    /// The severity overrides by rule id.
    #[must_use]
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The pack's compiled rules (empty when it has none).
    ///
    /// # Errors
    /// The rules do not compile (a pack changed after installation, or a fallback).
    pub fn rules(&self, pack: &LoadedPack, xml: &XmlLimits) -> Result<PackRules, String> {
        let label = pack.label();
        if let Some(r) = self.lock().get(&label) {
            return Ok(Arc::clone(r));
        }
        // Compiled outside the lock: two first requests may both compile; the result is equal.
        let schematron = compile_files(&pack.schematron, xml)
            .map_err(|e| format!("business rules of pack {} do not compile: {e}", pack.id))?;
        let codelists = CodeLists::load(&pack.codelists, xml)
            .map_err(|e| format!("code lists of pack {} do not load: {e}", pack.id))?;
        let rules = Arc::new(CompiledRules {
            schematron,
            codelists,
        });
        self.lock().insert(label, Arc::clone(&rules));
        Ok(rules)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PackRules>> {
        // A panic while holding the lock cannot leave the map inconsistent (single insert).
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The business rules' side of the one validation pass over a document: it builds the XPath
/// tree the Schematron rules run on (from the document as written) and checks the codes
/// against the lists (from the types the validator assigns), as an [`Observer`] beside the
/// validation, and a transform when there is one. The document is read once.
///
/// Its result ([`RulesPass::finish`]) means something only when the pass found the document
/// XSD-valid: the business rules run on valid documents only.
#[derive(Debug)]
pub struct RulesPass<'a> {
    rules: &'a CompiledRules,
    limits: RulesLimits,
    overrides: &'a Overrides,
    tree: Option<TreeBuilder>,
    tree_error: Option<TreeError>,
    codes: Option<CodeChecker<'a>>,
}

impl<'a> RulesPass<'a> {
    /// A pass for these rules (the tree only when there is Schematron, the code check only
    /// when there are lists).
    #[must_use]
    pub fn new(rules: &'a CompiledRules, limits: RulesLimits, overrides: &'a Overrides) -> Self {
        Self {
            rules,
            limits,
            overrides,
            tree: (!rules.schematron.is_empty()).then(|| TreeBuilder::new(limits.tree)),
            tree_error: None,
            codes: (!rules.codelists.is_empty()).then(|| {
                CodeChecker::new(
                    &rules.codelists,
                    codelist::CheckOptions {
                        show_values: limits.run.show_values,
                        max_findings: limits.run.max_findings,
                    },
                    overrides,
                )
            }),
        }
    }

    /// Runs the Schematron rules on the tree: the findings of every schema in order, then
    /// those of the code lists, with the severity overrides applied and at most
    /// `max_findings` in all.
    ///
    /// # Errors
    /// The document did not fit the tree's limits (in practice its node limit): the rules
    /// could not be evaluated at all.
    pub fn finish(self) -> Result<RunReport, TreeError> {
        if let Some(e) = self.tree_error {
            return Err(e);
        }
        let mut report = match self.tree {
            Some(builder) => run_schematron(
                &self.rules.schematron,
                &builder.finish(),
                &self.limits,
                self.overrides,
            ),
            None => RunReport::default(),
        };
        if let Some(codes) = self.codes {
            let r = codes.into_report();
            let room = self
                .limits
                .run
                .max_findings
                .saturating_sub(report.findings.len());
            report.truncated |= r.truncated || r.findings.len() > room;
            report.findings.extend(r.findings.into_iter().take(room));
        }
        Ok(report)
    }

    fn tree_step(&mut self, step: impl FnOnce(&mut TreeBuilder) -> Result<(), TreeError>) {
        if let Some(builder) = self.tree.as_mut()
            && let Err(e) = step(builder)
        {
            // The first error ends the tree; the pass (the validation) goes on.
            self.tree = None;
            self.tree_error = Some(e);
        }
    }
}

impl Observer for RulesPass<'_> {
    fn wants_values(&self) -> bool {
        self.codes.as_ref().is_some_and(Observer::wants_values)
    }
    fn start_element(&mut self, grammar: &Grammar, info: &ElementInfo<'_>) {
        if let Some(c) = self.codes.as_mut() {
            c.start_element(grammar, info);
        }
    }
    fn attribute(&mut self, grammar: &Grammar, info: &AttributeInfo<'_>) {
        if let Some(c) = self.codes.as_mut() {
            c.attribute(grammar, info);
        }
    }
    fn text(&mut self, grammar: &Grammar, text: &str) {
        if let Some(c) = self.codes.as_mut() {
            c.text(grammar, text);
        }
    }
    fn simple_value(&mut self, grammar: &Grammar, lexical: &str, typed: Option<&Value>) {
        if let Some(c) = self.codes.as_mut() {
            c.simple_value(grammar, lexical, typed);
        }
    }
    fn end_element(&mut self, grammar: &Grammar) {
        if let Some(c) = self.codes.as_mut() {
            c.end_element(grammar);
        }
    }
    fn unassessed_text(&mut self, grammar: &Grammar, text: &str) {
        if let Some(c) = self.codes.as_mut() {
            c.unassessed_text(grammar, text);
        }
    }
    fn wants_raw(&self) -> bool {
        self.tree.is_some()
    }
    fn raw_start(&mut self, tag: &StartTag<'_>, pos: Pos) {
        self.tree_step(|b| b.start_tag(tag, pos));
    }
    fn raw_text(&mut self, text: &str, pos: Pos) {
        self.tree_step(|b| b.text(text, pos));
    }
    fn raw_end(&mut self) {
        self.tree_step(|b| {
            b.end();
            Ok(())
        });
    }
}

/// The Schematron schemas' findings on a tree, in schema order, at most `max_findings`.
#[must_use]
pub fn run_schematron(
    rules: &[Schema],
    tree: &Tree,
    limits: &RulesLimits,
    overrides: &Overrides,
) -> RunReport {
    let mut report = RunReport::default();
    for schema in rules {
        let r = schema.run(tree, &limits.run, overrides);
        report.findings.extend(r.findings);
        report.fired += r.fired;
        report.truncated |= r.truncated;
    }
    report
}

/// Validates a document and, in the same pass, checks it against the rules: the XSD report,
/// and the rules' report when the document is XSD-valid (`None` otherwise).
pub fn validate_and_check(
    grammar: &Grammar,
    rules: &CompiledRules,
    document: &[u8],
    limits: &Limits,
    options: &ValidationOptions,
    rules_limits: RulesLimits,
    overrides: &Overrides,
) -> (ValidationReport, Option<Result<RunReport, TreeError>>) {
    let mut pass = RulesPass::new(rules, rules_limits, overrides);
    let report = crate::xsd::validate_with(grammar, document, limits, options, &mut pass);
    let rules = report.is_valid().then(|| pass.finish());
    (report, rules)
}

/// What the gateway does with the business rules of an accepted XML message
/// (`[validation] business_rules`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BusinessRules {
    /// Error-severity findings reject the submission (`schema-violation` at `data`, the rule
    /// ids and locations in the detail); a rule that cannot be evaluated rejects it as a
    /// technical error (never a silent pass). Other findings go into the envelope.
    Reject,
    /// Findings go into the envelope (`businessRules`); the submission is accepted.
    #[default]
    Annotate,
    /// The rules are not run.
    Off,
}

impl BusinessRules {
    /// `reject`, `annotate`, `off`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reject => "reject",
            Self::Annotate => "annotate",
            Self::Off => "off",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schematron::{FindingKind, Severity};
    use crate::xoev::registry::PackOrigin;

    const RULES: &str = r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <sch:pattern><sch:rule context="a">
    <sch:assert id="r-1" test="@n">a needs n</sch:assert>
    <sch:assert id="r-2" test="1 + @n = 2">n is 1</sch:assert>
  </sch:rule></sch:pattern>
</sch:schema>"#;

    fn pack(dir: &Path, schematron: Vec<PathBuf>) -> LoadedPack {
        LoadedPack {
            id: "p".to_owned(),
            dir: dir.to_path_buf(),
            fingerprint: "sha256:00".to_owned(),
            origin: PackOrigin::Installed,
            roots: Default::default(),
            files: Vec::new(),
            schematron,
            codelists: Vec::new(),
        }
    }

    const ONE_PASS_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
  targetNamespace="urn:t" xmlns="urn:t" elementFormDefault="qualified">
  <xs:element name="r"><xs:complexType><xs:sequence>
    <xs:element name="a" maxOccurs="unbounded"><xs:complexType><xs:simpleContent>
      <xs:extension base="xs:string"><xs:attribute name="n" type="xs:string" default="d"/></xs:extension>
    </xs:simpleContent></xs:complexType></xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#;

    const ONE_PASS_SCH: &str = r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
  <sch:ns prefix="t" uri="urn:t"/>
  <sch:pattern><sch:rule context="t:a">
    <sch:assert id="as-written" test="@n">only attributes as written (no schema default)</sch:assert>
    <sch:assert id="length" test="string-length(.) = 3">three characters</sch:assert>
    <sch:report id="prefix" test="name(..) = 'p:r'">the parent's prefix as written</sch:report>
    <sch:report id="whitespace" test="count(../text()) = 3">whitespace text nodes kept</sch:report>
  </sch:rule></sch:pattern>
</sch:schema>"#;

    /// The one pass (validation + tree + rules) sees the document exactly as the separate
    /// parse does: attributes as written (no defaults), prefixes, whitespace text nodes.
    #[test]
    fn the_one_pass_finds_what_a_separate_parse_finds() {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("t.xsd"), ONE_PASS_XSD).expect("write");
        let limits = Limits::default();
        let grammar =
            crate::xsd::compile_file(&tmp.path().join("t.xsd"), &limits).expect("grammar");
        let schema = Schema::compile(
            ONE_PASS_SCH.as_bytes(),
            "t.sch",
            &|_: &str| None,
            None,
            &limits.xml,
        )
        .expect("compiles");
        let rules = CompiledRules {
            schematron: vec![schema],
            codelists: CodeLists::default(),
        };
        let doc = b"<p:r xmlns:p='urn:t'>\n  <p:a n='x'>abc</p:a>\n  <p:a>ab</p:a>\n</p:r>";
        let rl = RulesLimits::default();
        let none = Overrides::new();
        let options = ValidationOptions::from_limits(&limits);
        let (xsd, one) = validate_and_check(&grammar, &rules, doc, &limits, &options, rl, &none);
        assert!(xsd.is_valid(), "{:?}", xsd.errors);
        let one = one.expect("valid").expect("tree");
        let tree = Tree::parse(doc, &limits.xml, rl.tree).expect("tree");
        let separate = run_schematron(&rules.schematron, &tree, &rl, &none);
        let got: Vec<(&str, u64)> = one
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.line))
            .collect();
        assert_eq!(
            got,
            [
                ("prefix", 2),
                ("whitespace", 2),
                ("as-written", 3),
                ("length", 3),
                ("prefix", 3),
                ("whitespace", 3),
            ]
        );
        assert_eq!(one.findings, separate.findings);
        // Not XSD-valid: no rules result at all.
        let (xsd, none_run) = validate_and_check(
            &grammar,
            &rules,
            b"<p:r xmlns:p='urn:t'><p:b/></p:r>",
            &limits,
            &options,
            rl,
            &none,
        );
        assert!(!xsd.is_valid());
        assert!(none_run.is_none());
        // Over the tree's node limit: the rules could not run, said as an error (never a pass).
        let tight = RulesLimits {
            tree: TreeLimits { max_nodes: 4 },
            ..rl
        };
        let (xsd, failed) =
            validate_and_check(&grammar, &rules, doc, &limits, &options, tight, &none);
        assert!(xsd.is_valid());
        assert_eq!(
            failed.expect("valid").expect_err("over the limit"),
            TreeError::TooManyNodes(4)
        );
    }

    #[test]
    fn rules_compile_once_per_pack_and_report_findings_and_processing_errors() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let file = tmp.path().join("r.sch");
        std::fs::write(&file, RULES).expect("write");
        let cache = RulesCache::default();
        let xml = XmlLimits::default();
        let p = pack(tmp.path(), vec![file.clone()]);
        let first = cache.rules(&p, &xml).expect("compiles");
        // Changed on disk: the cache keeps what it compiled for this pack label.
        std::fs::write(&file, "not schematron").expect("write");
        assert!(Arc::ptr_eq(&first, &cache.rules(&p, &xml).expect("cached")));
        let limits = RulesLimits::default();
        let tree =
            Tree::parse(b"<r><a/><a n='x'/><a n='1'/></r>", &xml, limits.tree).expect("tree");
        let report = run_schematron(&first.schematron, &tree, &limits, &Overrides::new());
        let got: Vec<(&str, FindingKind, u64)> = report
            .findings
            .iter()
            .map(|f| (f.rule.as_str(), f.kind, f.column))
            .collect();
        assert_eq!(
            got,
            [
                ("r-1", FindingKind::FailedAssert, 4),
                ("r-2", FindingKind::FailedAssert, 4),
                ("r-2", FindingKind::ProcessingError, 8),
            ]
        );
        assert!(
            report
                .findings
                .iter()
                .all(|f| f.severity == Severity::Error)
        );
        // Another pack with a broken file: refused with the file named.
        let other = LoadedPack {
            id: "q".to_owned(),
            ..pack(tmp.path(), vec![file])
        };
        let err = cache.rules(&other, &xml).expect_err("broken");
        assert!(
            err.contains("business rules of pack q") && err.contains("r.sch"),
            "{err}"
        );
    }
}
