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

use crate::config::XmlLimits;
use crate::schematron::{Overrides, RunOptions, RunReport, Schema};
use crate::xpath::{Tree, TreeError, TreeLimits};
use crate::xsd::Grammar;

use super::codelist::{self, CodeLists};

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

/// Code lists to check a document's codes against, with the grammar that types its elements.
#[derive(Debug, Clone, Copy)]
pub struct CodeCheck<'a> {
    /// The grammar the document was validated with.
    pub grammar: &'a Grammar,
    /// The lists.
    pub lists: &'a CodeLists,
}

/// Checks a document (already XSD-valid) against rules: the findings of every Schematron
/// schema in order, then those of the code lists, with the severity overrides applied and at
/// most `limits.run.max_findings` in all.
///
/// # Errors
/// The document cannot be built into a tree within `limits.tree` (it was read before, so in
/// practice only the node limit).
pub fn check(
    rules: &[Schema],
    codes: Option<CodeCheck<'_>>,
    document: &[u8],
    xml: &XmlLimits,
    limits: &RulesLimits,
    overrides: &Overrides,
) -> Result<RunReport, TreeError> {
    let mut report = RunReport::default();
    if !rules.is_empty() {
        let tree = Tree::parse(document, xml, limits.tree)?;
        for schema in rules {
            let r = schema.run(&tree, &limits.run, overrides);
            report.findings.extend(r.findings);
            report.fired += r.fired;
            report.truncated |= r.truncated;
        }
    }
    if let Some(codes) = codes.filter(|c| !c.lists.is_empty()) {
        let room = limits
            .run
            .max_findings
            .saturating_sub(report.findings.len());
        let r = codelist::check(
            codes.grammar,
            codes.lists,
            document,
            xml,
            codelist::CheckOptions {
                show_values: limits.run.show_values,
                max_findings: room,
            },
            overrides,
        );
        report.findings.extend(r.findings);
        report.truncated |= r.truncated;
    }
    Ok(report)
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
        let report = check(
            &first.schematron,
            None,
            b"<r><a/><a n='x'/><a n='1'/></r>",
            &xml,
            &limits,
            &Overrides::new(),
        )
        .expect("tree");
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
