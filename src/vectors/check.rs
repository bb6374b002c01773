//! `poststelle vectors check-submission`: every receive-side rule on a vendor's captured
//! submission, with a readable verdict per rule.
//!
//! The checks are exactly the gateway's (`pipeline::check_submission`); this module only turns
//! its answer into a per-rule report. The pipeline stops at the first rule that fails (and
//! collects every problem of that rule), so the rules before it passed and those after it were
//! not reached.

use std::path::Path;

use serde_json::Value;

use super::submission::{SubmissionEnv, rfc3339};
use super::{VectorsError, read_bounded};
use crate::config::Limits;
use crate::fitconnect::capture_dir;
use crate::fitconnect::problems::{Problem, catalogue};
use crate::fitconnect::set::StaticKeys;
use crate::jose::{DecryptionKey, Jwk, KeyRing, KeyUse};
use crate::pipeline::{self, CheckKeys};

/// The receive-side rules, in the order the gateway checks them.
pub const RULES: &[(&str, &str)] = &[
    (
        "identity",
        "the submission names submissionId, caseId and destinationId (UUIDs)",
    ),
    (
        "event-log",
        "every SET verifies; exactly one submit-submission by the delivery service, for this submission and case, with authenticationTags (FIT-Connect §3.3)",
    ),
    (
        "authentication-tags",
        "the submit event's tags equal part 5 of every downloaded JWE (§3.3 integrity check)",
    ),
    (
        "decryption",
        "metadata, data and attachments decrypt: RSA-OAEP-256 + A256GCM, known kid (§3.1)",
    ),
    (
        "metadata",
        "the metadata are JSON and valid against the schema version their $schema names (§5)",
    ),
    (
        "hashes-and-attachments",
        "Fachdaten present when announced, SHA-512 hashes match, attachments == metadata list (§8)",
    ),
    (
        "fachdaten",
        "the Fachdaten are XML of a known standard and valid against its schema pack",
    ),
];

/// The rule a problem belongs to (index into [`RULES`]).
fn rule_of(problem: &Problem) -> usize {
    let id = problem.type_uri.rsplit('/').next().unwrap_or_default();
    match (id, problem.instance.as_str()) {
        ("invalid-event-log" | "missing-authentication-tags", _) => 1,
        ("incorrect-authentication-tag", _) => 2,
        ("encryption-issue", _) => 3,
        ("syntax-violation" | "schema-violation", "metadata")
        | ("unsupported-metadata-schema", _) => 4,
        (
            "hash-mismatch"
            | "incorrect-attachments"
            | "missing-attachments"
            | "missing-data"
            | "missing-schema",
            _,
        ) => 5,
        ("syntax-violation" | "schema-violation" | "unsupported-schema", _) => 6,
        _ => 0,
    }
}

/// The verdict on one rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleStatus {
    /// The rule holds.
    Passed,
    /// The rule is broken; the problems a `reject-submission` would carry.
    Failed(Vec<Problem>),
    /// Not checked because an earlier rule failed.
    NotReached,
    /// Could not be decided with the keys at hand (the gateway tries again later), e.g. a SET
    /// signed with a key that is not known.
    Deferred(String),
}

/// The report of one check.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// One verdict per entry of [`RULES`].
    pub rules: Vec<RuleStatus>,
    /// The envelope a Fachverfahren would receive, when accepted.
    pub envelope: Option<Value>,
}

impl CheckReport {
    /// Whether the gateway would accept the submission.
    #[must_use]
    pub fn accepted(&self) -> bool {
        self.envelope.is_some()
    }

    /// Whether the gateway would defer the decision (no accept, no reject yet).
    #[must_use]
    pub fn deferred(&self) -> bool {
        self.rules
            .iter()
            .any(|r| matches!(r, RuleStatus::Deferred(_)))
    }
}

fn fmt_err(path: &Path, e: impl std::fmt::Display) -> VectorsError {
    VectorsError::Format(format!("{}: {e}", path.display()))
}

/// Reads the decryption keys (`*.jwk.json` private encryption keys) and destination signing
/// JWKS (`*.jwks.json`) of a keys directory.
fn read_keys(dir: &Path, destination: &str) -> Result<(KeyRing, StaticKeys), VectorsError> {
    let mut ring = KeyRing::new();
    let mut sets = StaticKeys::default();
    let entries = std::fs::read_dir(dir).map_err(|e| fmt_err(dir, e))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if name.ends_with(".jwks.json") {
            for (kid, key) in super::jwks_keys(&path)? {
                sets.destinations.push((destination.to_owned(), kid, key));
            }
        } else if name.ends_with(".jwk.json") {
            let text = String::from_utf8(read_bounded(&path)?).map_err(|e| fmt_err(&path, e))?;
            let jwk = Jwk::from_json(&text).map_err(|e| fmt_err(&path, e))?;
            if jwk.d.is_some() && jwk.check_use(KeyUse::Encryption, true).is_ok() {
                let key = DecryptionKey::from_jwk(&jwk).map_err(|e| fmt_err(&path, e))?;
                ring.insert(key).map_err(|e| fmt_err(&path, e))?;
            }
        }
    }
    if ring.is_empty() {
        return Err(VectorsError::Format(format!(
            "{}: no private encryption key (*.jwk.json with use enc / key_ops unwrapKey)",
            dir.display()
        )));
    }
    Ok((ring, sets))
}

/// Runs every receive-side rule on the capture in `capture` with the keys in `keys`, at `now`
/// (default: the capture time, so that the SETs are judged as they were when downloaded).
///
/// # Errors
/// The capture or the keys cannot be read; a broken submission is a report, never an error.
pub fn check_capture(
    capture: &Path,
    keys: &Path,
    now: Option<i64>,
) -> Result<CheckReport, VectorsError> {
    let captured = capture_dir::read(capture).map_err(|e| VectorsError::Format(e.to_string()))?;
    let destination = captured.destination_id().unwrap_or_default().to_owned();
    let (ring, mut sets) = read_keys(keys, &destination)?;
    let jwks_path = capture.join("service-jwks.json");
    for (kid, key) in super::jwks_keys(&jwks_path)? {
        sets.delivery_service
            .push((captured.info.issuer.clone(), kid, key));
    }
    let now = now.unwrap_or(captured.info.captured_at);
    // A vendor's capture is checked against an open destination (any service, schema and reply
    // channel): what its real destination offers is not known here.
    let env = SubmissionEnv::from_sources(
        &crate::xoev::pack::PackSources::from_env(None),
        crate::fitconnect::destination::DestinationPolicy::open(&destination),
    );
    let check_keys = CheckKeys {
        decryption: &ring,
        sets: &sets,
    };
    let limits = Limits::default();
    let result = pipeline::check_submission(&captured, &check_keys, &env.schemas(), &limits, now);
    Ok(match result {
        Ok(accepted) => CheckReport {
            rules: vec![RuleStatus::Passed; RULES.len()],
            envelope: Some(accepted.envelope(&rfc3339(now))),
        },
        Err(pipeline::Refused::Deferred(d)) => CheckReport {
            // Only the event log can defer (an unknown key, an unverifiable unrelated SET).
            rules: (0..RULES.len())
                .map(|i| match i {
                    0 => RuleStatus::Passed,
                    1 => RuleStatus::Deferred(d.reason.clone()),
                    _ => RuleStatus::NotReached,
                })
                .collect(),
            envelope: None,
        },
        Err(pipeline::Refused::Rejected(rejected)) => {
            let failed = rejected.problems.iter().map(rule_of).min().unwrap_or(0);
            let rules = (0..RULES.len())
                .map(|i| match i.cmp(&failed) {
                    std::cmp::Ordering::Less => RuleStatus::Passed,
                    std::cmp::Ordering::Equal => RuleStatus::Failed(
                        rejected
                            .problems
                            .iter()
                            .filter(|p| rule_of(p) == i)
                            .cloned()
                            .collect(),
                    ),
                    std::cmp::Ordering::Greater => RuleStatus::NotReached,
                })
                .collect();
            CheckReport {
                rules,
                envelope: None,
            }
        }
    })
}

/// The catalogue id of a problem (`hash-mismatch`), for reports.
#[must_use]
pub fn problem_id(problem: &Problem) -> &str {
    catalogue()
        .problems
        .iter()
        .find(|p| p.type_uri == problem.type_uri)
        .map_or(problem.type_uri.as_str(), |p| p.id.as_str())
}
