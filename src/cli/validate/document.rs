//! One XML document's check, shared by the file loop of `poststelle validate` and its daemon
//! ([`super::service`]), so that the order of the steps and the acceptance rule live in one
//! place: XSD first; the business rules only for an XSD-valid document (as the KoSIT validator
//! stops after a failed schema step); a rule set that cannot run is a processing error, never
//! a pass.

use std::io::BufRead;

use super::Rules;
use crate::config::Limits;
use crate::schematron::{Finding, FindingKind, Severity};
use crate::xoev::rules::{RulesLimits, RulesPass};
use crate::xsd::{self, Grammar, ValidationOptions, ValidationReport};

/// What the business-rules step gave.
#[derive(Debug, Clone)]
pub(super) enum RulesOutcome {
    /// Not run: no rules asked for, or the document is not XSD-valid.
    NotRun,
    /// Run: the findings (business rules and code lists) and whether some were cut off.
    Checked {
        /// Every finding, in rule-set order.
        findings: Vec<Finding>,
        /// More findings existed than were kept.
        truncated: bool,
    },
    /// The rules could not be run on the document (a processing error: rejects).
    Failed(String),
}

impl RulesOutcome {
    /// The findings (none when not run or failed).
    pub(super) fn findings(&self) -> &[Finding] {
        match self {
            Self::Checked { findings, .. } => findings,
            Self::NotRun | Self::Failed(_) => &[],
        }
    }
}

/// The acceptance rule: an XSD-valid document without error-severity findings. Warnings and
/// information never reject; a processing error (a finding of that kind, always an error) does.
pub(super) fn accepted(xsd: &ValidationReport, findings: &[Finding]) -> bool {
    xsd.is_valid()
        && findings
            .iter()
            .all(|f| f.severity != Severity::Error && f.kind != FindingKind::ProcessingError)
}

/// Checks a document from a reader in one pass: the XSD report and, for an XSD-valid document,
/// the business rules (Schematron and code lists, with their overrides; `None`: none asked for)
/// from the same reading.
pub(super) fn check_reader<R: BufRead>(
    grammar: &Grammar,
    rules: Option<&Rules>,
    reader: R,
    limits: &Limits,
    options: &ValidationOptions,
) -> (ValidationReport, RulesOutcome) {
    let Some(rules) = rules else {
        return (
            xsd::validate_reader(grammar, reader, limits, options),
            RulesOutcome::NotRun,
        );
    };
    let mut rules_limits = RulesLimits::from(&limits.schematron);
    rules_limits.run.show_values = options.show_values;
    let mut pass = RulesPass::new(&rules.compiled, rules_limits, &rules.overrides);
    let report = xsd::validate_with(grammar, reader, limits, options, &mut pass);
    if !report.is_valid() {
        return (report, RulesOutcome::NotRun);
    }
    let outcome = match pass.finish() {
        Ok(r) => RulesOutcome::Checked {
            findings: r.findings,
            truncated: r.truncated,
        },
        Err(e) => RulesOutcome::Failed(format!("business rules not checked: {e}")),
    };
    (report, outcome)
}
