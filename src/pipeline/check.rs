//! The receive checks of one downloaded submission (architecture.md §3), as one pure function.
//!
//! [`check_submission`] takes a [`CapturedSubmission`] (the bytes the delivery service sent),
//! the keys, the schemas, the limits and "now", and answers [`Accepted`] (everything needed to
//! store, forward and acknowledge it) or [`Rejected`] (the FIT-Connect problems for the
//! `reject-submission` event). It does no network I/O and never logs, so the gateway, the
//! `submission` test vectors and `poststelle vectors check-submission` run exactly the same
//! code. The gateway's variant, [`check_submission_spooled`], takes attachments already
//! decrypted file to file ([`super::spool`]); the checks only compare their tags and hashes and
//! leave the plaintexts in their files (the one read: Fachdaten sent as a `data` attachment,
//! read for validation within the XML input limit). A [`GrammarSource`] may compile a schema
//! pack from disk the first time a message type is seen (configuration-time I/O).
//!
//! The steps, in order; a step whose input is unusable ends the check, otherwise problems are
//! collected where several can be reported at once:
//!
//! 1. the submission JSON names `submissionId`, `caseId`, `destinationId` (UUIDs);
//! 2. every SET of the event log verifies (PS512, `typ`, claims, one event) and exactly one is
//!    the delivery service's `submit-submission` for this submission and case;
//! 3. its `authenticationTags` equal part 5 of each downloaded JWE (all mismatches reported);
//! 4. metadata, data and every attachment decrypt (all failures reported);
//! 5. the metadata validate against the schema their `$schema` names;
//! 6. the Fachdaten are present when announced and their SHA-512 matches; the attachment set
//!    equals the metadata list, each attachment's SHA-512 matches (all reported);
//! 7. the JSON data sets of 2.x metadata are valid against the schemas they name, and the
//!    Fachdaten are XML whose (namespace, root) identifies a known message with an installed
//!    schema pack and that is valid against it (streaming validator) — or JSON, parsed within
//!    `[limits.json]` and valid against the installed JSON schema pack providing the declared
//!    `schemaUri` (the `fim` module);
//! 8. transform XML to the JSON `data` of the envelope (`xoev::transform`, in the same
//!    streaming pass as the validation); `base64Binary` payloads become extra attachments.
//!    JSON Fachdaten are the envelope's `data` as they are. Then the pack's business rules
//!    (ISO Schematron, `xoev::rules`) on the XSD-valid XML, as `[validation] business_rules`
//!    says: `annotate` puts the findings into the envelope (`businessRules`), `reject`
//!    rejects error-severity findings (`schema-violation` at `data`, rule ids and locations in
//!    the detail) and a rule that could not be evaluated (`technical-error`: the verdict is
//!    unknown, and a gateway must not pass what it could not check), `off` runs nothing.
//!
//! Every failure maps to exactly one [`Failure`] and so to one catalogue problem type.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use serde_json::{Value, json};

use crate::config::Limits;
use crate::fitconnect::captured::CapturedSubmission;
use crate::fitconnect::destination::DestinationPolicy;
use crate::fitconnect::event_log::{self, Disposition, DownloadedTags, EventLogError, Subject};
use crate::fitconnect::hash::{self, EMPTY_SHA512_HEX};
use crate::fitconnect::metadata::{Metadata, MetadataValidator, content};
use crate::fitconnect::problems::{Failure, Instance, Problem};
use crate::fitconnect::set::{self, AuthenticationTags, StaticKeys};
use crate::jose::KeyRing;
use crate::jose::jwe::CompactJwe;
use crate::schematron::{Finding, FindingKind, RunReport, Severity};
use crate::xoev::registry::{Registry, Resolved};
use crate::xoev::root::document_root;
use crate::xoev::rules::{BusinessRules, PackRules, RulesCache, RulesLimits, RulesPass};
use crate::xoev::transform::{
    ExtractedBinary, MemoryBinaries, MessageIdentity, TransformError, transform_observed,
    transform_with_sink,
};
use crate::xsd::{self, ErrorKind, Grammar};

mod json_data;

/// The keys a check needs.
#[derive(Clone, Copy)]
pub struct CheckKeys<'a> {
    /// The destination's private decryption keys (by `kid`).
    pub decryption: &'a KeyRing,
    /// Verification keys for the SETs of the event log: the delivery service's (under the
    /// capture's issuer, see [`event_log::service_keys`]) and the destinations' signing keys.
    pub sets: &'a StaticKeys,
}

/// Compiled grammars by entry schema; compiled once, shared by all checks.
pub trait GrammarSource: Send + Sync {
    /// The grammar for a resolved message.
    ///
    /// # Errors
    /// A short description when the pack's schemas do not compile.
    fn grammar(&self, resolved: &Resolved<'_>, limits: &Limits) -> Result<Arc<Grammar>, String>;
}

/// A [`GrammarSource`] that compiles each entry schema the first time it is asked for and keeps
/// it (packs are immutable once installed: their fingerprint is part of the envelope). A clone
/// shares the cache (the pipelines of several destinations compile each schema once).
#[derive(Default, Clone)]
pub struct GrammarCache {
    compiled: Arc<Mutex<HashMap<PathBuf, Arc<Grammar>>>>,
}

impl std::fmt::Debug for GrammarCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrammarCache").finish_non_exhaustive()
    }
}

impl GrammarSource for GrammarCache {
    fn grammar(&self, resolved: &Resolved<'_>, limits: &Limits) -> Result<Arc<Grammar>, String> {
        if let Some(g) = self.lock().get(&resolved.entry) {
            return Ok(Arc::clone(g));
        }
        // Compiled outside the lock: two first requests may both compile; the result is equal.
        let grammar = Arc::new(
            xsd::compile_file(&resolved.entry, limits)
                .map_err(|e| format!("schema pack {} does not compile: {e}", resolved.pack.id))?,
        );
        self.lock()
            .insert(resolved.entry.clone(), Arc::clone(&grammar));
        Ok(grammar)
    }
}

impl GrammarCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, Arc<Grammar>>> {
        // A panic while holding the lock cannot leave the map inconsistent (single insert).
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The schemas a check needs, and what the destination accepts.
#[derive(Clone, Copy)]
pub struct Schemas<'a> {
    /// The destination's offers: services, submission schemas, reply channels
    /// ([`DestinationPolicy::check`]).
    pub destination: &'a DestinationPolicy,
    /// FIT-Connect metadata schemas.
    pub metadata: &'a MetadataValidator,
    /// XÖV standards and installed packs.
    pub registry: &'a Registry<'a>,
    /// Compiled grammars of the packs.
    pub grammars: &'a dyn GrammarSource,
    /// Compiled business rules of the packs.
    pub rules: &'a RulesCache,
    /// What the business rules do (`[validation] business_rules`).
    pub business_rules: BusinessRules,
}

/// One decrypted, hash-checked attachment.
pub struct CheckedAttachment {
    /// The attachment id.
    pub id: String,
    /// File name from the metadata.
    pub filename: Option<String>,
    /// Media type from the metadata.
    pub mime_type: String,
    /// Purpose from the metadata (`form`, `attachment`, `report`, `data`).
    pub purpose: String,
    /// Lowercase hex SHA-512 of the content (checked against the metadata).
    pub sha512: String,
    /// The plaintext.
    pub content: AttachmentContent,
}

/// The plaintext of an attachment: in memory (captures, test vectors) or in an unnamed spool
/// file (the gateway, which streams attachments and never holds them whole).
pub enum AttachmentContent {
    /// Zeroized on drop.
    Memory(zeroize::Zeroizing<Vec<u8>>),
    /// An unnamed file (removed by the OS when dropped), `len` bytes from its start.
    File {
        /// The file.
        file: std::fs::File,
        /// Its length.
        len: u64,
        /// Lowercase hex SHA-256 of its content, computed while it was written.
        sha256: String,
    },
}

impl AttachmentContent {
    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> u64 {
        match self {
            Self::Memory(b) => b.len() as u64,
            Self::File { len, .. } => *len,
        }
    }

    /// Whether it is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, when held in memory.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Memory(b) => Some(b),
            Self::File { .. } => None,
        }
    }

    /// At most `limit` bytes from the start, in memory.
    ///
    /// # Errors
    /// Reading the spool file failed.
    pub fn read_prefix(&self, limit: u64) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
        use std::io::{Read as _, Seek as _};
        match self {
            Self::Memory(b) => Ok(zeroize::Zeroizing::new(
                b[..usize::try_from(limit).unwrap_or(usize::MAX).min(b.len())].to_vec(),
            )),
            Self::File { file, .. } => {
                let mut f: &std::fs::File = file;
                f.seek(std::io::SeekFrom::Start(0))?;
                let mut out = zeroize::Zeroizing::new(Vec::new());
                f.take(limit).read_to_end(&mut out)?;
                Ok(out)
            }
        }
    }
}

/// An attachment the gateway decrypted while it streamed from its spool file
/// ([`check_submission_spooled`]).
pub struct SpooledAttachment {
    /// Part 5 of its JWE when the JWE has exactly five parts (what step 3 compares).
    pub tag: Option<String>,
    /// The plaintext with its SHA-512, or why the JWE was refused.
    pub decrypted: Result<DecryptedFile, crate::jose::JweError>,
}

/// A decrypted, authenticated attachment plaintext in an unnamed spool file.
pub struct DecryptedFile {
    /// The file (any position; read from its start).
    pub file: std::fs::File,
    /// Plaintext length.
    pub len: u64,
    /// Lowercase hex SHA-512 of the plaintext, computed while it was written.
    pub sha512: String,
    /// Lowercase hex SHA-256 of the plaintext (the store's address), computed in the same pass.
    pub sha256: String,
}

/// One downloaded attachment as the checks take it.
enum AttachmentPart<'c> {
    Compact(&'c str),
    Spooled(SpooledAttachment),
}

/// A decrypted attachment with its SHA-512, before the hash is checked.
struct Plain {
    content: AttachmentContent,
    sha512: String,
}

impl std::fmt::Debug for CheckedAttachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedAttachment")
            .field("id", &self.id)
            .field("mime_type", &self.mime_type)
            .field("size", &self.content.len())
            .finish_non_exhaustive()
    }
}

/// The evidence of a check, archived with the decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckEvidence {
    /// The delivery service's `submit-submission` SET, verbatim (once found and verified).
    pub submit_set: Option<String>,
    /// The authentication tags of the submit event (once read).
    pub tags: Option<AuthenticationTags>,
    /// The hashes that were checked and matched: (object, `sha512:<hex>`).
    pub hashes: Vec<(String, String)>,
}

/// A submission that passed every check.
#[derive(Debug)]
pub struct Accepted {
    /// The submission id.
    pub submission_id: String,
    /// The case id.
    pub case_id: String,
    /// The destination id.
    pub destination_id: String,
    /// `serviceType` (v1) or `publicService` (v2) of the submission JSON, as sent.
    pub service: Option<Value>,
    /// The service identifier the submission is for: the delivery service's assertion (checked
    /// against the metadata and the destination's offers). Routing uses this, never the
    /// metadata's claim alone.
    pub service_identifier: Option<String>,
    /// The validated metadata.
    pub metadata: Metadata,
    /// The metadata JSON as decrypted.
    pub metadata_json: Value,
    /// What the Fachdaten are (absent when the submission carries none).
    pub message: Option<MessageIdentity>,
    /// The Fachdaten plaintext (absent when none).
    pub data: Option<zeroize::Zeroizing<Vec<u8>>>,
    /// The schema-driven JSON of the Fachdaten (absent when none).
    pub data_json: Option<Value>,
    /// The business-rule findings (absent when no rules ran: JSON Fachdaten, a pack without
    /// rules, `business_rules = "off"`).
    pub business_rules: Option<RunReport>,
    /// `base64Binary` payloads the transform moved out of the Fachdaten, with their octets.
    pub binaries: Vec<(ExtractedBinary, zeroize::Zeroizing<Vec<u8>>)>,
    /// The attachments, in metadata order.
    pub attachments: Vec<CheckedAttachment>,
    /// SET, tags and hashes.
    pub evidence: CheckEvidence,
    /// The tags to put into `accept-submission`.
    pub tags: AuthenticationTags,
}

impl Accepted {
    /// The JSON envelope for the Fachverfahren (architecture.md §6). `received_at` is RFC 3339;
    /// attachment `href`s are relative names (`attachments/<id>`) the forwarder resolves.
    #[must_use]
    pub fn envelope(&self, received_at: &str) -> Value {
        serde_json::to_value(self.envelope_parts(received_at))
            .expect("the envelope is JSON values and strings")
    }

    /// [`Self::envelope`] as JSON text, written from the decision's own values: the
    /// Fachdaten JSON and the metadata are not copied into a new tree first (issue 18, goal 1).
    #[must_use]
    pub fn envelope_json(&self, received_at: &str) -> String {
        serde_json::to_string(&self.envelope_parts(received_at))
            .expect("the envelope is JSON values and strings")
    }

    /// The envelope's parts, the large ones borrowed.
    fn envelope_parts<'a>(&'a self, received_at: &str) -> EnvelopeParts<'a> {
        let mut submission = json!({
            "id": self.submission_id,
            "caseId": self.case_id,
            "destinationId": self.destination_id,
            "receivedAt": received_at,
        });
        if let Some(service) = &self.service {
            submission["serviceType"] = service.clone();
        }
        let mut attachments: Vec<Value> = self
            .attachments
            .iter()
            .map(|a| {
                json!({
                    "id": a.id,
                    "filename": a.filename,
                    "mimeType": a.mime_type,
                    "purpose": a.purpose,
                    "sha512": a.sha512,
                    "size": a.content.len(),
                    "href": format!("attachments/{}", a.id),
                })
            })
            .collect();
        // Binaries moved out of the XML are attachments too; `data` references them by id.
        attachments.extend(self.binaries.iter().map(|(b, _)| {
            json!({
                "id": b.id,
                "mimeType": "application/octet-stream",
                "purpose": "extracted",
                "path": b.path,
                "sha512": b.sha512,
                "size": b.size,
                "href": format!("attachments/{}", b.id),
            })
        }));
        EnvelopeParts {
            submission,
            metadata: &self.metadata_json,
            attachments,
            message: self.message.as_ref(),
            data: self.data_json.as_ref(),
            business_rules: self.business_rules.as_ref().map(business_rules_json),
        }
    }

    /// The number of business-rule findings, when rules ran (for the decision log).
    #[must_use]
    pub fn business_rule_findings(&self) -> Option<usize> {
        self.business_rules.as_ref().map(|r| r.findings.len())
    }
}

/// The envelope's members in their order; absent optional members are left out.
#[derive(Serialize)]
struct EnvelopeParts<'a> {
    submission: Value,
    metadata: &'a Value,
    attachments: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a MessageIdentity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
    #[serde(rename = "businessRules", skip_serializing_if = "Option::is_none")]
    business_rules: Option<Value>,
}

/// The envelope's `businessRules`: each finding as [`Finding`] serialises (rule id, severity,
/// kind, location, the rule's text; instance values never rendered), and whether findings were
/// cut off.
fn business_rules_json(report: &RunReport) -> Value {
    json!({ "findings": report.findings, "truncated": report.truncated })
}

/// A submission that must be rejected.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    /// The problems for `reject-submission` (at least one).
    pub problems: Vec<Problem>,
    /// What was established before the check stopped (boxed: rejections stay small).
    pub evidence: Box<CheckEvidence>,
}

/// Why a check did not accept a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// The submission is broken: acknowledged with `reject-submission`.
    Rejected(Rejected),
    /// Not decided: a fact the check needs is not available (yet) and that is not the
    /// sender's fault — a SET key that is not known, a SET about another part of the case that
    /// does not verify, an unusable JWKS of the delivery service. The submission is kept
    /// unacknowledged and checked again later.
    Deferred(Deferred),
}

/// A check that could not decide (see [`Refused::Deferred`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferred {
    /// Why, for the log (protocol terms only, never payload values).
    pub reason: String,
}

impl Refused {
    /// The rejection, if this is one.
    #[must_use]
    pub fn rejected(self) -> Option<Rejected> {
        match self {
            Self::Rejected(r) => Some(r),
            Self::Deferred(_) => None,
        }
    }
}

impl From<Rejected> for Refused {
    fn from(r: Rejected) -> Self {
        Self::Rejected(r)
    }
}

impl Rejected {
    /// The failures' problem type URIs, for logs and metrics.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.problems.iter().map(|p| p.type_uri.as_str())
    }
}

/// Collects problems; the catalogue decides which instance kinds a problem allows.
#[derive(Default)]
struct Problems(Vec<Problem>);

impl Problems {
    fn add(&mut self, failure: Failure, instance: Instance) {
        let problem = Problem::new(failure, &instance).unwrap_or_else(|_| {
            // Unreachable with the embedded catalogue (unit test `every_failure_instance_is_allowed`);
            // fall back to the one entry that allows `other` rather than panic.
            Problem::new(Failure::Technical, &Instance::Other)
                .expect("technical-error allows instance other")
        });
        if !self.0.contains(&problem) {
            self.0.push(problem);
        }
    }

    /// [`Self::add`] with `places` appended to the catalogue's detail: where in the document
    /// (JSON pointers with keywords, a position), never a value.
    fn add_detailed(&mut self, failure: Failure, instance: Instance, places: &str) {
        let before = self.0.len();
        self.add(failure, instance);
        if self.0.len() > before
            && let Some(problem) = self.0.last_mut()
        {
            problem.detail = format!("{} Stellen: {places}", problem.detail);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

struct Checker<'a> {
    captured: &'a CapturedSubmission,
    limits: &'a Limits,
    problems: Problems,
    evidence: CheckEvidence,
}

impl Checker<'_> {
    fn reject(self) -> Refused {
        Refused::Rejected(Rejected {
            problems: self.problems.0,
            evidence: Box::new(self.evidence),
        })
    }

    fn fail(mut self, failure: Failure, instance: Instance) -> Refused {
        self.problems.add(failure, instance);
        self.reject()
    }

    /// The consequence of an event-log failure: a reject with its problem, or deferred.
    fn event_log(mut self, error: &EventLogError) -> Refused {
        match error.disposition() {
            Disposition::Reject(failure, instance) => {
                if let EventLogError::TagMismatch(parts) = error {
                    for part in parts {
                        self.problems
                            .add(Failure::AuthenticationTagMismatch, part.clone());
                    }
                    return self.reject();
                }
                self.fail(failure, instance)
            }
            Disposition::Retry => Refused::Deferred(Deferred {
                reason: error.to_string(),
            }),
        }
    }
}

fn uuid_member<'v>(submission: &'v Value, name: &str) -> Option<&'v str> {
    submission
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| set::is_uuid(s))
}

/// Runs every receive check on a downloaded submission (see the module doc for the order).
///
/// # Errors
/// [`Refused::Rejected`] with at least one problem when the submission must be rejected;
/// [`Refused::Deferred`] when it cannot be decided now.
pub fn check_submission(
    captured: &CapturedSubmission,
    keys: &CheckKeys<'_>,
    schemas: &Schemas<'_>,
    limits: &Limits,
    now: i64,
) -> Result<Accepted, Refused> {
    let parts = captured
        .attachments
        .iter()
        .map(|(id, token)| (id.clone(), AttachmentPart::Compact(token)))
        .collect();
    check_parts(captured, parts, keys, schemas, limits, now)
}

/// [`check_submission`] for a submission whose attachments were decrypted while they streamed
/// from spool files (the gateway): `spooled` replaces the capture's in-memory attachments.
/// Steps and problems are the same; the attachment plaintexts stay in their files.
///
/// # Errors
/// [`Refused::Rejected`] with at least one problem when the submission must be rejected;
/// [`Refused::Deferred`] when it cannot be decided now.
pub fn check_submission_spooled(
    captured: &CapturedSubmission,
    spooled: BTreeMap<String, SpooledAttachment>,
    keys: &CheckKeys<'_>,
    schemas: &Schemas<'_>,
    limits: &Limits,
    now: i64,
) -> Result<Accepted, Refused> {
    let parts = spooled
        .into_iter()
        .map(|(id, s)| (id, AttachmentPart::Spooled(s)))
        .collect();
    check_parts(captured, parts, keys, schemas, limits, now)
}

fn check_parts(
    captured: &CapturedSubmission,
    parts: BTreeMap<String, AttachmentPart<'_>>,
    keys: &CheckKeys<'_>,
    schemas: &Schemas<'_>,
    limits: &Limits,
    now: i64,
) -> Result<Accepted, Refused> {
    let mut c = Checker {
        captured,
        limits,
        problems: Problems::default(),
        evidence: CheckEvidence::default(),
    };
    let sub = &captured.submission;
    // 1. Identity. These come from the delivery service, not the sender: a broken submission
    //    JSON is a technical error, not the sender's fault.
    let (Some(sid), Some(case), Some(dest)) = (
        uuid_member(sub, "submissionId"),
        uuid_member(sub, "caseId"),
        uuid_member(sub, "destinationId"),
    ) else {
        return Err(c.fail(Failure::Technical, Instance::Other));
    };
    let encrypted_metadata = sub.get("encryptedMetadata").and_then(Value::as_str);
    let encrypted_data = sub
        .get("encryptedData")
        .and_then(Value::as_str)
        .filter(|d| !d.is_empty());

    // 2. Event log (fitconnect::event_log: every SET verified, the one submit event).
    let issuer = captured.info.issuer.as_str();
    let subject = match Subject::new(sid, case) {
        Ok(s) => s,
        Err(e) => return Err(c.event_log(&e)),
    };
    let sets = match event_log::verify_log(
        &captured.events,
        &subject,
        issuer,
        keys.sets,
        &limits.jose,
        now,
    ) {
        Ok(sets) => sets,
        Err(e) => return Err(c.event_log(&e)),
    };
    let tags = match event_log::submit_event(&sets, &subject, issuer) {
        Ok((submit, tags)) => {
            c.evidence.submit_set = Some(submit.token.clone());
            c.evidence.tags = Some(tags.clone());
            tags
        }
        Err(e) => return Err(c.event_log(&e)),
    };

    // 3. Authentication tags against part 5 of each downloaded JWE.
    let downloaded = DownloadedTags {
        metadata: encrypted_metadata.and_then(event_log::jwe_tag),
        data: encrypted_data.and_then(event_log::jwe_tag),
        data_present: encrypted_data.is_some(),
        attachments: parts
            .iter()
            .map(|(id, part)| {
                let tag = match part {
                    AttachmentPart::Compact(token) => event_log::jwe_tag(token),
                    AttachmentPart::Spooled(s) => s.tag.as_deref(),
                };
                (id.clone(), tag)
            })
            .collect(),
    };
    if let Err(e) = event_log::compare_tags(&tags, &downloaded) {
        return Err(c.event_log(&e));
    }

    // 4. Decrypt.
    let Some(encrypted_metadata) = encrypted_metadata else {
        return Err(c.fail(Failure::JweMalformed, Instance::Metadata));
    };
    let metadata_plain = match decrypt(encrypted_metadata, keys.decryption, limits) {
        Ok(p) => p,
        Err(f) => return Err(c.fail(f, Instance::Metadata)),
    };
    let data_plain = match encrypted_data.map(|d| decrypt_inline_data(d, keys.decryption, limits)) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(f)) => {
            c.problems.add(f, Instance::Data);
            None
        }
    };
    let mut attachment_plain = BTreeMap::new();
    for (id, part) in parts {
        let plain = match part {
            AttachmentPart::Compact(token) => {
                decrypt(token, keys.decryption, limits).map(|p| Plain {
                    sha512: hash::sha512_hex(&p),
                    content: AttachmentContent::Memory(p),
                })
            }
            AttachmentPart::Spooled(s) => s
                .decrypted
                .map(|d| Plain {
                    content: AttachmentContent::File {
                        file: d.file,
                        len: d.len,
                        sha256: d.sha256,
                    },
                    sha512: d.sha512,
                })
                .map_err(|e| Failure::from(&e)),
        };
        match plain {
            Ok(p) => {
                attachment_plain.insert(id, p);
            }
            Err(f) => c.problems.add(f, Instance::Attachment(id)),
        }
    }
    if !c.problems.is_empty() {
        return Err(c.reject());
    }

    // 5. Metadata schema.
    let metadata = match schemas.metadata.validate(&metadata_plain) {
        Ok(m) => m,
        Err(e) => return Err(c.fail(Failure::from(&e), Instance::Metadata)),
    };
    let metadata_json: Value = match serde_json::from_slice(&metadata_plain) {
        Ok(v) => v,
        Err(_) => return Err(c.fail(Failure::MetadataNotJson, Instance::Metadata)),
    };

    // 5b. What the destination accepts (fitconnect::destination): service, schema, channel.
    if !schemas.destination.id.is_empty() && !schemas.destination.id.eq_ignore_ascii_case(dest) {
        return Err(Refused::Deferred(Deferred {
            reason: "the delivery service handed over a submission for another destination"
                .to_owned(),
        }));
    }
    let service_identifier = match schemas.destination.check(sub, &metadata) {
        Ok(s) => s.map(str::to_owned),
        Err(v) => return Err(c.fail(v.failure(), Instance::Metadata)),
    };

    // 6. Hashes and the attachment set.
    let attachments = check_attachments(&mut c, &metadata, attachment_plain);
    let data = check_data(&mut c, &metadata, data_plain, &attachments);
    if !c.problems.is_empty() {
        return Err(c.reject());
    }

    // 7. JSON data sets of 2.x metadata against their schemas.
    json_data::check_data_sets(&mut c, &metadata, schemas);
    if !c.problems.is_empty() {
        return Err(c.reject());
    }

    // 7 + 8. Identify, validate and transform the Fachdaten (one streaming pass), then the
    //        business rules.
    let (message, data_json, binaries, business_rules) = match &data {
        Some(bytes) => match validate_data(&mut c, &metadata, bytes, schemas) {
            Some(t) => (Some(t.0), Some(t.1), t.2, t.3),
            None => return Err(c.reject()),
        },
        None => (None, None, Vec::new(), None),
    };

    Ok(Accepted {
        submission_id: sid.to_owned(),
        case_id: case.to_owned(),
        destination_id: dest.to_owned(),
        service: sub
            .get("serviceType")
            .or_else(|| sub.get("publicService"))
            .cloned(),
        service_identifier,
        metadata,
        metadata_json,
        message,
        data,
        data_json,
        business_rules,
        binaries,
        attachments,
        tags: tags.clone(),
        evidence: c.evidence,
    })
}

/// The inline Fachdaten: a `zip: DEF` payload stops inflating at
/// [`crate::config::PipelineLimits::max_inline_data_bytes`] (`encryption-issue`), never held
/// whole. Uncompressed data is as large as its token (bounded by the download and
/// `jose.max_token_bytes`, reserved from the memory budget); the JSON and XML readers refuse
/// data beyond their input limits with a precise `syntax-violation`.
fn decrypt_inline_data(
    token: &str,
    keys: &KeyRing,
    limits: &Limits,
) -> Result<zeroize::Zeroizing<Vec<u8>>, Failure> {
    let mut bounded = limits.clone();
    bounded.jose.max_inflated_bytes = bounded
        .jose
        .max_inflated_bytes
        .min(limits.pipeline.max_inline_data_bytes);
    decrypt(token, keys, &bounded)
}

fn decrypt(
    token: &str,
    keys: &KeyRing,
    limits: &Limits,
) -> Result<zeroize::Zeroizing<Vec<u8>>, Failure> {
    let jwe = CompactJwe::parse(token, &limits.jose).map_err(|e| Failure::from(&e))?;
    let plain = jwe
        .decrypt(keys, &limits.jose)
        .map_err(|e| Failure::from(&e))?;
    Ok(plain.into_bytes())
}

/// Step 6 for attachments: downloaded set == metadata list (== announced list), each listed
/// once, hashes. Attachment ids are UUIDs and compared in lower case (they are case-insensitive;
/// the checked attachments carry the lower-case form).
fn check_attachments(
    c: &mut Checker<'_>,
    metadata: &Metadata,
    plain: BTreeMap<String, Plain>,
) -> Vec<CheckedAttachment> {
    let lower = |id: &str| id.to_ascii_lowercase();
    let announced: Option<Vec<&str>> = c
        .captured
        .submission
        .get("attachments")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect());
    let set = content::attachment_set(
        metadata
            .content_structure
            .attachments
            .iter()
            .map(|a| a.attachment_id.as_str()),
        plain.keys().map(String::as_str),
        announced.as_deref(),
    );
    if set.unexpected {
        c.problems
            .add(Failure::AttachmentsUnexpected, Instance::Submission);
    }
    if set.missing {
        c.problems
            .add(Failure::AttachmentsMissing, Instance::Submission);
    }
    let mut plain: BTreeMap<String, Plain> =
        plain.into_iter().map(|(id, p)| (lower(&id), p)).collect();
    let mut out = Vec::new();
    for a in &metadata.content_structure.attachments {
        let id = lower(&a.attachment_id);
        let Some(Plain {
            content,
            sha512: actual,
        }) = plain.remove(&id)
        else {
            continue;
        };
        if !content::hash_matches(&a.hash, &actual) {
            c.problems
                .add(Failure::HashMismatch, Instance::Attachment(id));
            continue;
        }
        c.evidence
            .hashes
            .push((format!("attachment:{id}"), format!("sha512:{actual}")));
        out.push(CheckedAttachment {
            id,
            filename: a.filename.clone(),
            mime_type: a.mime_type.clone(),
            purpose: a.purpose.clone(),
            sha512: actual,
            content,
        });
    }
    out
}

/// Step 6 for the Fachdaten: present when announced, hash matches.
///
/// Inline Fachdaten (`encryptedData`) are always checked against `data.hash` — no value of it
/// switches the comparison off — and then no attachment may carry the purpose `data` (it would
/// reach the Fachverfahren unvalidated). Fachdaten over 10 MB travel instead as exactly one
/// attachment with purpose `data` while `encryptedData` is absent and `data.hash` holds the
/// SHA-512 of the empty string (protocol §8); that attachment's own hash was checked with the
/// attachments.
fn check_data(
    c: &mut Checker<'_>,
    metadata: &Metadata,
    plain: Option<zeroize::Zeroizing<Vec<u8>>>,
    attachments: &[CheckedAttachment],
) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    let data_attachments: Vec<&CheckedAttachment> =
        attachments.iter().filter(|a| a.purpose == "data").collect();
    let Some(data_ref) = &metadata.content_structure.data else {
        if plain.is_some() || !data_attachments.is_empty() {
            c.problems
                .add(Failure::DataSchemaMissing, Instance::Metadata);
        }
        return None;
    };
    let Some(plain) = plain else {
        return match data_attachments.as_slice() {
            [a] if data_ref.hash.content == EMPTY_SHA512_HEX => {
                // Held for the validation, up to the pipeline's bound for data attachments and
                // the reader's input limit (JSON or XML); a larger one is refused unread.
                let reader_limit = if json_data::declared(metadata) {
                    c.limits.json.max_bytes as u64
                } else {
                    c.limits.xml.max_input_bytes
                };
                let cap = (c.limits.pipeline.max_data_attachment_bytes as u64).min(reader_limit);
                if a.content.len() > cap {
                    c.problems.add(Failure::DataSyntax, Instance::Data);
                    return None;
                }
                match a.content.read_prefix(cap) {
                    Ok(bytes) => Some(bytes),
                    Err(_) => {
                        c.problems.add(Failure::Technical, Instance::Other);
                        None
                    }
                }
            }
            [_, _, ..] => {
                c.problems
                    .add(Failure::AttachmentsUnexpected, Instance::Submission);
                None
            }
            _ => {
                c.problems.add(Failure::DataMissing, Instance::Data);
                None
            }
        };
    };
    if !data_attachments.is_empty() {
        c.problems
            .add(Failure::AttachmentsUnexpected, Instance::Submission);
        return None;
    }
    let actual = hash::sha512_hex(&plain);
    if !content::hash_matches(&data_ref.hash, &actual) {
        c.problems.add(Failure::HashMismatch, Instance::Data);
        return None;
    }
    c.evidence
        .hashes
        .push(("data".to_owned(), format!("sha512:{actual}")));
    Some(plain)
}

/// What step 7 yields: the message, its JSON, the binaries moved out of it and the
/// business-rule findings (when rules ran).
type Transformed = (
    MessageIdentity,
    Value,
    Vec<(ExtractedBinary, zeroize::Zeroizing<Vec<u8>>)>,
    Option<RunReport>,
);

/// Steps 7 and 8: identify the message, validate and transform it. `None` when rejected
/// (problems recorded).
fn validate_data(
    c: &mut Checker<'_>,
    metadata: &Metadata,
    bytes: &[u8],
    schemas: &Schemas<'_>,
) -> Option<Transformed> {
    let mime = metadata
        .content_structure
        .data
        .as_ref()
        .map(|d| d.submission_schema.mime_type.as_str())
        .unwrap_or_default();
    if json_data::declared(metadata) {
        return json_data::validate_json(c, metadata, bytes, schemas)
            .map(|(m, v)| (m, v, Vec::new(), None));
    }
    if mime != "application/xml" {
        c.problems
            .add(Failure::DataSchemaUnsupported, Instance::Metadata);
        return None;
    }
    let root = match document_root(bytes, &c.limits.xml) {
        Ok(r) => r,
        Err(_) => {
            c.problems.add(Failure::DataSyntax, Instance::Data);
            return None;
        }
    };
    let resolved = match schemas.registry.resolve(&root.namespace, &root.local) {
        Ok(r) => r,
        // Unknown namespace or root, or no installed pack for it: this gateway does not
        // support the schema the Fachdaten use.
        Err(_) => {
            c.problems
                .add(Failure::DataSchemaUnsupported, Instance::Data);
            return None;
        }
    };
    let grammar = match schemas.grammars.grammar(&resolved, c.limits) {
        Ok(g) => g,
        Err(_) => {
            c.problems.add(Failure::Technical, Instance::Other);
            return None;
        }
    };
    // The document must be what the metadata declare: a sender must not announce one standard
    // (and be routed by it) and send another.
    let declared = metadata
        .content_structure
        .data
        .as_ref()
        .map(|d| d.submission_schema.schema_uri.as_str())
        .unwrap_or_default();
    if !resolved.message.matches_schema_uri(declared) {
        c.problems.add(Failure::DataSchema, Instance::Data);
        return None;
    }
    let identity = MessageIdentity::from_resolved(&resolved);
    let mut sink = MemoryBinaries::default();
    // The business rules (when on and the pack has them) are checked in the transform's pass.
    let rules = match pack_rules(c, &resolved, schemas) {
        Ok(r) => r,
        Err(()) => return None,
    };
    let rules_limits = RulesLimits::from(&c.limits.schematron);
    let mut pass = rules
        .as_deref()
        .map(|r| RulesPass::new(r, rules_limits, schemas.rules.overrides()));
    let transformed = match pass.as_mut() {
        Some(p) => transform_observed(&grammar, &identity, bytes, c.limits, &mut sink, p),
        None => transform_with_sink(&grammar, &identity, bytes, c.limits, &mut sink),
    };
    match transformed {
        Ok(t) => {
            let binaries = t
                .binaries
                .into_iter()
                .map(|b| {
                    let octets = sink.0.remove(&b.id).unwrap_or_default();
                    (b, zeroize::Zeroizing::new(octets))
                })
                .collect();
            let findings = match pass {
                Some(p) => Some(check_business_rules(c, p, schemas)?),
                None => None,
            };
            Some((identity, t.data, binaries, findings))
        }
        Err(TransformError::Invalid(report)) => {
            let syntax = report
                .errors
                .iter()
                .any(|e| e.kind == ErrorKind::NotWellFormed);
            let failure = if syntax {
                Failure::DataSyntax
            } else {
                Failure::DataSchema
            };
            c.problems.add(failure, Instance::Data);
            None
        }
        // The root matched the registry but not the grammar's root, or the sink failed: ours.
        Err(_) => {
            c.problems.add(Failure::Technical, Instance::Other);
            None
        }
    }
}

/// The pack's compiled rules when `schemas.business_rules` runs them and the pack has any;
/// `Err` when they do not compile (recorded as a technical error).
fn pack_rules(
    c: &mut Checker<'_>,
    resolved: &Resolved<'_>,
    schemas: &Schemas<'_>,
) -> Result<Option<PackRules>, ()> {
    if schemas.business_rules == BusinessRules::Off
        || (resolved.pack.schematron.is_empty() && resolved.pack.codelists.is_empty())
    {
        return Ok(None);
    }
    match schemas.rules.rules(resolved.pack, &c.limits.xml) {
        Ok(r) => Ok(Some(r)),
        Err(_) => {
            c.problems.add(Failure::Technical, Instance::Other);
            Err(())
        }
    }
}

/// Step 8, last part: the pack's business rules on the XSD-valid document (checked in the
/// transform's pass), as `schemas.business_rules` says. `None` when rejected (problems
/// recorded).
fn check_business_rules(
    c: &mut Checker<'_>,
    pass: RulesPass<'_>,
    schemas: &Schemas<'_>,
) -> Option<RunReport> {
    let report = pass.finish().unwrap_or_else(|e| RunReport {
        // The tree did not fit its limits: the rules could not be evaluated at all.
        findings: vec![Finding {
            rule: "-".to_owned(),
            severity: Severity::Error,
            kind: FindingKind::ProcessingError,
            line: 0,
            column: 0,
            path: "/".to_owned(),
            message: format!("the rules could not be evaluated: {e}"),
            test: String::new(),
            diagnostics: Vec::new(),
        }],
        fired: 0,
        truncated: false,
    });
    if schemas.business_rules == BusinessRules::Reject {
        if report
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::ProcessingError)
        {
            c.problems.add(Failure::Technical, Instance::Other);
            return None;
        }
        let errors: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect();
        if !errors.is_empty() {
            c.problems
                .add_detailed(Failure::DataSchema, Instance::Data, &rule_places(&errors));
            return None;
        }
    }
    Some(report)
}

/// Rule ids and locations of findings for a problem's detail (at most 20; never a value):
/// `sch-stat-001 /xbau:x[1]/y[1] (31:3), …`.
fn rule_places(findings: &[&Finding]) -> String {
    const SHOWN: usize = 20;
    let mut places: Vec<String> = findings
        .iter()
        .take(SHOWN)
        .map(|f| format!("{} {} ({}:{})", f.rule, f.path, f.line, f.column))
        .collect();
    if findings.len() > SHOWN {
        places.push(format!("und {} weitere", findings.len() - SHOWN));
    }
    places.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_instance_used_here_is_allowed() {
        let used = [
            (Failure::Technical, Instance::Other),
            (Failure::SetInvalid, Instance::Submission),
            (Failure::SubmitEventMissing, Instance::Submission),
            (Failure::AuthenticationTagsMissing, Instance::Submission),
            (Failure::AuthenticationTagMismatch, Instance::Metadata),
            (Failure::AuthenticationTagMismatch, Instance::Data),
            (
                Failure::AuthenticationTagMismatch,
                Instance::Attachment("a".into()),
            ),
            (Failure::JweDecryptionFailed, Instance::Metadata),
            (Failure::JweDecryptionFailed, Instance::Data),
            (
                Failure::JweDecryptionFailed,
                Instance::Attachment("a".into()),
            ),
            (Failure::MetadataSchema, Instance::Metadata),
            (Failure::MetadataNotJson, Instance::Metadata),
            (Failure::MetadataVersionUnsupported, Instance::Metadata),
            (Failure::AttachmentsUnexpected, Instance::Submission),
            (Failure::AttachmentsMissing, Instance::Submission),
            (Failure::HashMismatch, Instance::Attachment("a".into())),
            (Failure::HashMismatch, Instance::Data),
            (Failure::DataMissing, Instance::Data),
            (Failure::DataSchemaMissing, Instance::Metadata),
            (Failure::DataSchemaUnsupported, Instance::Metadata),
            (Failure::DataSchemaUnsupported, Instance::Data),
            (Failure::DataSyntax, Instance::Data),
            (Failure::DataSchema, Instance::Data),
        ];
        for (failure, instance) in used {
            assert!(
                Problem::new(failure, &instance).is_ok(),
                "{failure:?} at {instance:?}"
            );
        }
    }
}
