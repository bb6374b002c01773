//! One XML document's check, shared by the file loop of `poststelle validate` and its daemon
//! ([`super::service`]), so that the order of the steps and the acceptance rule live in one
//! place: XSD first; the business rules only for an XSD-valid document (as the KoSIT validator
//! stops after a failed schema step); a rule set that cannot run is a processing error, never
//! a pass.

use super::Rules;
use crate::config::Limits;
use crate::schematron::{Finding, FindingKind, Severity};
use crate::xoev::rules::{self, RulesLimits};
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

/// Runs the business rules (Schematron and code lists, with their overrides) on an XSD-valid
/// document held in memory: its findings and whether some were cut off.
///
/// # Errors
/// The document cannot be built into the rules' tree (in practice only its node limit).
pub(super) fn rule_findings(
    grammar: &Grammar,
    rules: &Rules,
    bytes: &[u8],
    limits: &Limits,
    show_values: bool,
) -> Result<(Vec<Finding>, bool), String> {
    let mut rules_limits = RulesLimits::from(&limits.schematron);
    rules_limits.run.show_values = show_values;
    let codes = rules::CodeCheck {
        grammar,
        lists: &rules.codelists,
    };
    let report = rules::check(
        &rules.schemas,
        Some(codes),
        bytes,
        &limits.xml,
        &rules_limits,
        &rules.overrides,
    )
    .map_err(|e| format!("business rules not checked: {e}"))?;
    Ok((report.findings, report.truncated))
}

/// Checks a document held in memory: the XSD report, then the rules (`None`: none asked for).
pub(super) fn check_bytes(
    grammar: &Grammar,
    rules: Option<&Rules>,
    bytes: &[u8],
    limits: &Limits,
    options: &ValidationOptions,
) -> (ValidationReport, RulesOutcome) {
    let report = xsd::validate_bytes(grammar, bytes, limits, options);
    let rules = match rules {
        Some(rules) if report.is_valid() => {
            match rule_findings(grammar, rules, bytes, limits, options.show_values) {
                Ok((findings, truncated)) => RulesOutcome::Checked {
                    findings,
                    truncated,
                },
                Err(message) => RulesOutcome::Failed(message),
            }
        }
        _ => RulesOutcome::NotRun,
    };
    (report, rules)
}
