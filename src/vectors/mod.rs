//! The published test vectors (`test-vectors/`): their format (v1), the runner that drives
//! every case through the library, and the generator that writes them (`bless`).
//!
//! Layer L3: the runner reads files and calls the L1 checks (`jose`, `fitconnect`, `xsd`).
//! The format is data, documented for other implementations in `test-vectors/README.md`:
//! a `manifest.json` lists every case with its kind, the rule it exercises, its input files
//! (paths relative to the manifest) and the expected result. Nothing here rewrites a vector;
//! only [`bless`] writes files, and only on request.

pub mod bless;
mod callback;
pub mod check;
mod fim;
mod jwe;
mod metadata;
mod reply;
mod set;
pub(crate) mod submission;
mod transform;
mod xsd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::Limits;
use crate::fitconnect::set::StaticKeys;
use crate::jose::{DecryptionKey, Jwk, KeyRing, KeyUse};

/// The format version this runner reads.
pub const FORMAT: u32 = 1;
/// Largest input file a case may name (the inflate-bomb JWE is the largest, well below).
const MAX_INPUT_BYTES: u64 = 16 * 1024 * 1024;

/// `manifest.json`: the context shared by all cases and the cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    /// Format version ([`FORMAT`]).
    pub format: u32,
    /// The fixed "now" (Unix seconds) of every case that does not set its own.
    pub now: i64,
    /// Keys and identities the cases refer to.
    pub context: Context,
    /// The cases.
    pub cases: Vec<Case>,
}

/// Keys and identities shared by the cases (paths relative to the manifest).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Context {
    /// The delivery service (Zustelldienst) whose SETs the event logs carry.
    pub delivery_service: DeliveryService,
    /// The destination (the receiver under test).
    pub destination: Destination,
}

/// The delivery service's identity and public keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeliveryService {
    /// Its SET issuer (`iss`, a URL).
    pub iss: String,
    /// Its JWKS (`/.well-known/jwks.json`).
    pub jwks: String,
}

/// The destination's identity and keys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Destination {
    /// The destinationId (`iss` of its SETs).
    pub destination_id: String,
    /// JWKS of its public signing keys (verifies its accept/reject SETs).
    pub signing_jwks: String,
    /// Its private decryption key (TEST ONLY) as a JWK.
    pub decryption_key: String,
    /// The services it offers (with the submission schemas each accepts); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<crate::fitconnect::destination::Service>,
    /// The reply channels it offers (`eMail`, `fitConnect`, …); empty: any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_channels: Vec<String>,
}

impl Destination {
    /// What this destination accepts, for the receive checks.
    #[must_use]
    pub fn policy(&self) -> crate::fitconnect::destination::DestinationPolicy {
        crate::fitconnect::destination::DestinationPolicy {
            id: self.destination_id.clone(),
            services: self.services.clone(),
            reply_channels: self.reply_channels.clone(),
        }
    }
}

/// The kind of a case: which check it drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A compact JWE to decrypt.
    Jwe,
    /// A SET to verify.
    Set,
    /// A metadata document to validate.
    Metadata,
    /// A callback request to verify.
    Callback,
    /// An XML document to validate against an XSD.
    Xsd,
    /// An XML message to transform into the JSON envelope.
    Transform,
    /// A complete downloaded submission to check.
    Submission,
    /// A JSON Fachdaten document to check against a JSON schema pack.
    Json,
    /// A reply as its sender downloads it, to check and open with the reply key.
    Reply,
    /// Whether a submission may be answered over FIT-Connect, and with which key.
    #[serde(rename = "reply-admission")]
    ReplyAdmission,
}

impl Kind {
    /// The lowercase name used in the manifest.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Jwe => "jwe",
            Kind::Set => "set",
            Kind::Metadata => "metadata",
            Kind::Callback => "callback",
            Kind::Xsd => "xsd",
            Kind::Transform => "transform",
            Kind::Submission => "submission",
            Kind::Json => "json",
            Kind::Reply => "reply",
            Kind::ReplyAdmission => "reply-admission",
        }
    }
}

/// One case of the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    /// Unique id, named for the rule the case exercises.
    pub id: String,
    /// What is checked.
    pub kind: Kind,
    /// One sentence for humans.
    pub description: String,
    /// The rule: FIT-Connect document section, XSD clause or problem type.
    pub rule: String,
    /// Input files by role (paths relative to the manifest).
    pub inputs: BTreeMap<String, String>,
    /// "now" for this case, if it differs from the manifest's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub now: Option<i64>,
    /// The expected result (shape per kind, see the README).
    pub expected: Value,
    /// Why poststelle does not (yet) meet this case, if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xfail: Option<String>,
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Result as expected.
    Pass,
    /// Result differs from the expectation (the message says how).
    Fail(String),
    /// Failed as the `xfail` entry says (expected; the reason is the manifest's).
    XFail(String),
    /// Marked `xfail` but passed: the xfail list is stale (counts as unexpected).
    XPass,
}

impl Status {
    /// Whether this outcome is unexpected (fails a run).
    #[must_use]
    pub fn is_unexpected(&self) -> bool {
        matches!(self, Status::Fail(_) | Status::XPass)
    }

    /// A short label for tables.
    #[must_use]
    pub fn label(&self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail(_) => "FAIL",
            Status::XFail(_) => "xfail",
            Status::XPass => "XPASS",
        }
    }
}

/// One case and its outcome.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Case id.
    pub id: String,
    /// Case kind.
    pub kind: Kind,
    /// The outcome.
    pub status: Status,
}

/// The outcome of a whole run.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Every case, in manifest order.
    pub outcomes: Vec<Outcome>,
}

impl Report {
    /// Cases that behaved as expected (passes and expected failures).
    #[must_use]
    pub fn passed(&self) -> usize {
        self.outcomes.len() - self.failed()
    }

    /// Cases with an unexpected result.
    #[must_use]
    pub fn failed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.status.is_unexpected())
            .count()
    }

    /// Cases that failed as their `xfail` entry expects.
    #[must_use]
    pub fn xfailed(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| matches!(o.status, Status::XFail(_)))
            .count()
    }
}

/// Why the suite could not be run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VectorsError {
    /// A file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The manifest or a context file is malformed.
    #[error("{0}")]
    Format(String),
}

/// Everything a case needs besides its own inputs; built once per run.
pub(crate) struct Env {
    pub(crate) dir: PathBuf,
    pub(crate) now: i64,
    pub(crate) limits: Limits,
    pub(crate) keyring: KeyRing,
    pub(crate) set_keys: StaticKeys,
    /// The destination under test (callbacks are addressed to it).
    pub(crate) destination_id: String,
    /// The delivery service's SET issuer.
    pub(crate) delivery_service_iss: String,
}

impl Env {
    /// The bytes of a case input by role.
    pub(crate) fn input(&self, case: &Case, role: &str) -> Result<Vec<u8>, String> {
        let rel = case
            .inputs
            .get(role)
            .ok_or_else(|| format!("case has no input {role:?}"))?;
        read_bounded(&self.path(rel)).map_err(|e| e.to_string())
    }

    /// An input as UTF-8 text.
    pub(crate) fn input_text(&self, case: &Case, role: &str) -> Result<String, String> {
        String::from_utf8(self.input(case, role)?).map_err(|_| format!("input {role} is not UTF-8"))
    }

    /// A path relative to the manifest.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }
}

/// Reads a file of at most [`MAX_INPUT_BYTES`].
pub(crate) fn read_bounded(path: &Path) -> Result<Vec<u8>, VectorsError> {
    use std::io::Read as _;
    let err = |message: String| VectorsError::Read {
        path: path.to_owned(),
        message,
    };
    let file = std::fs::File::open(path).map_err(|e| err(e.to_string()))?;
    let mut buf = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    if buf.len() as u64 > MAX_INPUT_BYTES {
        return Err(err(format!("larger than {MAX_INPUT_BYTES} bytes")));
    }
    Ok(buf)
}

/// Reads and checks `manifest.json` in `dir`.
///
/// # Errors
/// The manifest is unreadable, not the v1 format, or has duplicate case ids.
pub fn load_manifest(dir: &Path) -> Result<Manifest, VectorsError> {
    let path = dir.join("manifest.json");
    let manifest: Manifest = serde_json::from_slice(&read_bounded(&path)?)
        .map_err(|e| VectorsError::Format(format!("{}: {e}", path.display())))?;
    if manifest.format != FORMAT {
        return Err(VectorsError::Format(format!(
            "{}: format {} is not supported (this runner reads {FORMAT})",
            path.display(),
            manifest.format
        )));
    }
    let mut seen = std::collections::HashSet::new();
    for case in &manifest.cases {
        if !seen.insert(case.id.as_str()) {
            return Err(VectorsError::Format(format!(
                "duplicate case id {}",
                case.id
            )));
        }
    }
    Ok(manifest)
}

fn read_text(path: &Path) -> Result<String, VectorsError> {
    String::from_utf8(read_bounded(path)?).map_err(|_| VectorsError::Read {
        path: path.to_owned(),
        message: "not UTF-8".into(),
    })
}

/// The (kid, key) pairs of a JWKS file.
pub(crate) fn jwks_keys(
    path: &Path,
) -> Result<Vec<(String, crate::jose::RsaPublicKey)>, VectorsError> {
    let jwks = crate::fitconnect::keys::Jwks::from_json(&read_text(path)?)
        .map_err(|e| VectorsError::Format(format!("{}: {e}", path.display())))?;
    jwks.keys
        .iter()
        .map(|jwk| {
            let kid = jwk.kid.clone().unwrap_or_default();
            jwk.public_key()
                .map(|k| (kid, k))
                .map_err(|e| VectorsError::Format(format!("{}: {e}", path.display())))
        })
        .collect()
}

fn build_env(dir: &Path, manifest: &Manifest) -> Result<Env, VectorsError> {
    let ctx = &manifest.context;
    let key_path = dir.join(&ctx.destination.decryption_key);
    let jwk = Jwk::from_json(&read_text(&key_path)?)
        .map_err(|e| VectorsError::Format(format!("{}: {e}", key_path.display())))?;
    jwk.check_use(KeyUse::Encryption, true)
        .map_err(|e| VectorsError::Format(format!("{}: {e}", key_path.display())))?;
    let key = DecryptionKey::from_jwk(&jwk)
        .map_err(|e| VectorsError::Format(format!("{}: {e}", key_path.display())))?;
    let mut set_keys = StaticKeys::default();
    for (kid, key) in jwks_keys(&dir.join(&ctx.delivery_service.jwks))? {
        set_keys
            .delivery_service
            .push((ctx.delivery_service.iss.clone(), kid, key));
    }
    for (kid, key) in jwks_keys(&dir.join(&ctx.destination.signing_jwks))? {
        set_keys
            .destinations
            .push((ctx.destination.destination_id.clone(), kid, key));
    }
    Ok(Env {
        dir: dir.to_owned(),
        now: manifest.now,
        limits: Limits::default(),
        keyring: KeyRing::from(key),
        set_keys,
        destination_id: ctx.destination.destination_id.clone(),
        delivery_service_iss: ctx.delivery_service.iss.clone(),
    })
}

/// Runs every case of the suite in `dir`.
///
/// # Errors
/// Only when the suite cannot be run at all (manifest or context unreadable); a broken case is
/// a failed outcome, never an error.
pub fn run(dir: &Path) -> Result<Report, VectorsError> {
    let manifest = load_manifest(dir)?;
    let env = build_env(dir, &manifest)?;
    let mut xsd_cache = xsd::GrammarCache::default();
    let submissions = manifest
        .cases
        .iter()
        .any(|c| c.kind == Kind::Submission)
        .then(|| submission::SubmissionEnv::new(dir, manifest.context.destination.policy()));
    let mut report = Report::default();
    for case in &manifest.cases {
        let now = case.now.unwrap_or(env.now);
        let result = match case.kind {
            Kind::Jwe => jwe::run(&env, case),
            Kind::Set => set::run(&env, case, now),
            Kind::Metadata => metadata::run(&env, case),
            Kind::Callback => callback::run(&env, case, now),
            Kind::Xsd => xsd::run(&env, case, &mut xsd_cache),
            Kind::Submission => match &submissions {
                Some(shared) => submission::run(&env, case, now, shared),
                None => Err("no submission environment".into()),
            },
            Kind::Transform => transform::run(&env, case),
            Kind::Json => fim::run(&env, case),
            Kind::Reply => reply::run(&env, case, now),
            Kind::ReplyAdmission => reply::run_admission(&env, case),
        };
        let status = match (result, &case.xfail) {
            (Ok(()), None) => Status::Pass,
            (Ok(()), Some(_)) => Status::XPass,
            (Err(why), None) => Status::Fail(why),
            (Err(_), Some(reason)) => Status::XFail(reason.clone()),
        };
        report.outcomes.push(Outcome {
            id: case.id.clone(),
            kind: case.kind,
            status,
        });
    }
    Ok(report)
}

/// A field of the expected result as a string.
pub(crate) fn expected_str<'a>(case: &'a Case, field: &str) -> Result<&'a str, String> {
    case.expected
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("expected.{field} missing or not a string"))
}

/// Compares an actual value with the expected one, naming the field on mismatch.
pub(crate) fn same(field: &str, expected: &str, actual: &str) -> Result<(), String> {
    if expected == actual {
        Ok(())
    } else {
        Err(format!("{field}: expected {expected}, got {actual}"))
    }
}

/// Compares a problem list (`(type URI, instance)` pairs) with `expected.problems`, in any
/// order.
pub(crate) fn same_problems(case: &Case, mut actual: Vec<(String, String)>) -> Result<(), String> {
    let mut expected: Vec<(String, String)> = case
        .expected
        .get("problems")
        .and_then(Value::as_array)
        .ok_or("expected.problems missing")?
        .iter()
        .map(|p| {
            let s = |k: &str| {
                p.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (s("type"), s("instance"))
        })
        .collect();
    actual.sort();
    expected.sort();
    if actual == expected {
        Ok(())
    } else {
        Err(format!("problems: expected {expected:?}, got {actual:?}"))
    }
}
