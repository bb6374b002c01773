//! `submission` cases: a captured submission run through `pipeline::check_submission` with the
//! context's keys at "now".
//!
//! Expected: `{"result": "accept", "envelope": <file>}` — the JSON envelope for the Fachverfahren,
//! compared member by member (`schemaPack` up to the `@fingerprint`; a `data` member only when
//! the expected envelope has one) — or `{"result": "reject", "problems": [{"type", "instance"}]}`,
//! the exact problem list in any order.

use serde_json::{Value, json};

use super::{Case, Env, expected_str, same_problems};
use crate::fitconnect::capture_dir;
use crate::fitconnect::destination::DestinationPolicy;
use crate::fitconnect::metadata::MetadataValidator;
use crate::pipeline::{self, CheckKeys, GrammarCache, Schemas};
use crate::xoev::catalog::Catalog;
use crate::xoev::pack::{PackSources, discover};
use crate::xoev::pack_files::PackLimits;
use crate::xoev::registry::Registry;

/// What every submission case shares: schemas and compiled grammars.
pub(crate) struct SubmissionEnv {
    metadata: MetadataValidator,
    registry: Registry<'static>,
    grammars: GrammarCache,
    rules: crate::xoev::rules::RulesCache,
    destination: DestinationPolicy,
}

impl SubmissionEnv {
    /// Schema packs: installed ones, then the development fallbacks; the repository's own packs
    /// are looked up beside the suite directory (`test-vectors/..`).
    pub(crate) fn new(suite_dir: &std::path::Path, destination: DestinationPolicy) -> Self {
        let mut sources = PackSources::from_env(None);
        sources.repo_dir = Some(suite_dir.join(".."));
        Self::from_sources(&sources, destination)
    }

    /// Schema packs from the given sources (broken packs are left out: their messages then
    /// resolve as unsupported, which the report shows).
    pub(crate) fn from_sources(sources: &PackSources, destination: DestinationPolicy) -> Self {
        let (registry, _broken) = discover(Catalog::embedded(), sources, &PackLimits::default());
        Self {
            metadata: MetadataValidator::new(),
            registry,
            grammars: GrammarCache::default(),
            rules: crate::xoev::rules::RulesCache::default(),
            destination,
        }
    }

    /// The schemas for `check_submission`.
    pub(crate) fn schemas(&self) -> Schemas<'_> {
        Schemas {
            destination: &self.destination,
            metadata: &self.metadata,
            registry: &self.registry,
            grammars: &self.grammars,
            rules: &self.rules,
            business_rules: crate::xoev::rules::BusinessRules::default(),
        }
    }
}

/// RFC 3339 UTC for the envelope's `receivedAt`.
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// `schemaPack` without the fingerprint (packs are reinstalled; the id is what a case names).
fn normalise(mut envelope: Value, keep_data: bool) -> Value {
    if let Some(pack) = envelope
        .pointer_mut("/message/schemaPack")
        .and_then(|p| p.as_str().map(str::to_owned))
    {
        envelope["message"]["schemaPack"] = json!(pack.split('@').next().unwrap_or_default());
    }
    if !keep_data && let Some(map) = envelope.as_object_mut() {
        map.remove("data");
    }
    envelope
}

/// What a check decided, for comparing two runs: the envelope, or the sorted problems.
pub(crate) fn verdict(result: &Result<pipeline::Accepted, pipeline::Refused>, now: i64) -> Value {
    match result {
        Ok(a) => json!({"accept": a.envelope(&rfc3339(now))}),
        Err(pipeline::Refused::Deferred(d)) => json!({"defer": d.reason}),
        Err(pipeline::Refused::Rejected(r)) => {
            let mut problems: Vec<(String, String)> = r
                .problems
                .iter()
                .map(|p| (p.type_uri.clone(), p.instance.clone()))
                .collect();
            problems.sort();
            json!({"reject": problems})
        }
    }
}

/// The gateway checks attachments that were streamed to spool files and decrypted file to
/// file: that path must decide every vector exactly as the in-memory one.
fn same_when_spooled(
    env: &Env,
    shared: &SubmissionEnv,
    capture: &crate::fitconnect::captured::CapturedSubmission,
    keys: &CheckKeys<'_>,
    now: i64,
    in_memory: &Result<pipeline::Accepted, pipeline::Refused>,
) -> Result<(), String> {
    use std::io::Write as _;
    let spool = std::env::temp_dir();
    let mut spooled = std::collections::BTreeMap::new();
    for (id, token) in &capture.attachments {
        let mut file = tempfile::tempfile_in(&spool).map_err(|e| format!("spool: {e}"))?;
        file.write_all(token.as_bytes())
            .map_err(|e| format!("spool: {e}"))?;
        let d = pipeline::spool::decrypt_spooled(file, &spool, &env.keyring, &env.limits.jose)
            .map_err(|e| format!("spool: {e}"))?;
        spooled.insert(id.clone(), d);
    }
    let mut bare = capture.clone();
    bare.attachments.clear();
    let streamed = pipeline::check_submission_spooled(
        &bare,
        spooled,
        keys,
        &shared.schemas(),
        &env.limits,
        now,
    );
    let (a, b) = (verdict(in_memory, now), verdict(&streamed, now));
    if a == b {
        Ok(())
    } else {
        Err(format!(
            "spooled attachments decide differently: in memory {a}, spooled {b}"
        ))
    }
}

pub(super) fn run(env: &Env, case: &Case, now: i64, shared: &SubmissionEnv) -> Result<(), String> {
    let rel = case
        .inputs
        .get("capture")
        .ok_or("case has no input \"capture\"")?;
    let capture = capture_dir::read(&env.path(rel)).map_err(|e| e.to_string())?;
    let keys = CheckKeys {
        decryption: &env.keyring,
        sets: &env.set_keys,
    };
    let result = pipeline::check_submission(&capture, &keys, &shared.schemas(), &env.limits, now);
    same_when_spooled(env, shared, &capture, &keys, now, &result)?;
    match (expected_str(case, "result")?, result) {
        ("accept", Ok(accepted)) => {
            let expected: Value = serde_json::from_slice(&env.input(case, "envelope")?)
                .map_err(|e| format!("envelope: {e}"))?;
            let keep_data = expected.get("data").is_some();
            let actual = normalise(accepted.envelope(&rfc3339(now)), keep_data);
            if actual == normalise(expected.clone(), keep_data) {
                Ok(())
            } else {
                Err(format!(
                    "envelope differs: expected {expected}, got {actual}"
                ))
            }
        }
        ("defer", Err(pipeline::Refused::Deferred(_))) => Ok(()),
        ("reject", Err(pipeline::Refused::Rejected(rejected))) => same_problems(
            case,
            rejected
                .problems
                .iter()
                .map(|p| (p.type_uri.clone(), p.instance.clone()))
                .collect(),
        ),
        ("accept" | "defer", Err(pipeline::Refused::Rejected(rejected))) => Err(format!(
            "expected {}, rejected with {:?}",
            expected_str(case, "result")?,
            rejected.types().collect::<Vec<_>>()
        )),
        (_, Err(pipeline::Refused::Deferred(d))) => {
            Err(format!("the check deferred the decision: {}", d.reason))
        }
        ("defer", Ok(_)) => Err("expected a deferred decision, the submission was accepted".into()),
        ("reject", Ok(_)) => Err("expected a rejection, the submission was accepted".into()),
        (other, _) => Err(format!("unknown expected.result {other:?}")),
    }
}
