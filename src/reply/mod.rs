//! Replies (Rückkanal) from the gateway's side: a Fachverfahren hands in its answer to a stored
//! submission; the gateway validates it, stores it and sends it over FIT-Connect, encrypted for
//! the key the applicant's portal named in the submission's metadata.
//!
//! Layer L3 (orchestration). [`ReplyDesk`] takes answers (the reply API under `/api/v1/`, and
//! `poststelle reply`); [`sender::ReplySender`] sends stored replies and follows them until the
//! sender decided. The rules of *whether* a submission may be answered over FIT-Connect and the
//! JWEs live in [`crate::fitconnect::reply_out`]; the durable state in
//! [`crate::store::ReplyStore`].
//!
//! A hand-in, in order (every refusal names its cause, never a value of the message):
//! 1. the submission must be stored, accepted, routed to the calling Fachverfahren (else 404:
//!    its existence is not revealed) and its payload not purged (410: the reply key went with
//!    it);
//! 2. the message: XML as it is, or the JSON of the documented mapping (`{"message":
//!    {"type", "namespace"?}, "data": …}`, what `transform` writes) turned into XML by the
//!    schema (`transform --to-xml`);
//! 3. its pack must be installed; the sender must have chosen the FIT-Connect reply channel
//!    for the message's process standard, the destination must offer it, the reply key must
//!    pass the key rules ([`reply_out::reply_target`]);
//! 4. XSD-valid against the pack, and the pack's business rules as `[validation]
//!    business_rules` says for incoming messages (422 with the violations: line, column,
//!    path, kind);
//! 5. stored (one row with XML, attachments and reply key) before anything is sent.
//!
//! The pipeline's compiled grammars are shared (`crate::pipeline::GrammarCache`, same layer).

pub mod api;
pub mod sender;

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;

use crate::config::Limits;
use crate::fitconnect::metadata::MetadataValidator;
use crate::fitconnect::reply_out::{self, ReplyRefusal};
use crate::pipeline::{GrammarCache, GrammarSource};
use crate::store::{
    AnyStore, NewReply, ReplyAttachment, ReplyInsert, ReplyStore, StoreError, Timestamp,
};
use crate::xoev::registry::Registry;
use crate::xoev::rules::{BusinessRules, RulesCache, RulesLimits, validate_and_check};
use crate::xoev::transform::{MemoryBinaries, to_xml};
use crate::xsd::{self, ValidationOptions};

/// Most violations a refusal lists.
const MAX_VIOLATIONS: usize = 100;

/// The upstream name `poststelle reply` hands in under (it may answer any submission).
pub const CLI_CLIENT: &str = "cli";

/// An answer as handed in.
#[derive(Debug, Clone)]
pub enum Answer {
    /// The XÖV XML itself.
    Xml(Vec<u8>),
    /// JSON: `{"message": {"type", "namespace"?}, "data": {…}, "binaries"?: {id: base64},
    /// "attachments"?: [{"filename"?, "mimeType", "content": base64}]}`.
    Json(Value),
}

/// One hand-in.
#[derive(Debug, Clone)]
pub struct HandIn {
    /// The submission answered.
    pub submission_id: String,
    /// The Fachverfahren (upstream name) handing it in; [`CLI_CLIENT`] may answer any
    /// submission.
    pub client: String,
    /// Its `Idempotency-Key`, if any.
    pub idempotency_key: Option<String>,
    /// The answer.
    pub answer: Answer,
}

/// One violation of a refused answer: where and what kind, never a value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// 1-based line (0: not from the XML, e.g. a rule that could not run).
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// Element path, or the JSON path for a mapping error.
    pub path: String,
    /// The kind (`xsd:…`, a rule id, `json`).
    pub kind: String,
    /// What is wrong (the engine's message; it names no instance values).
    pub message: String,
}

/// Why an answer is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HandInError {
    /// No such stored submission for this Fachverfahren.
    #[error("no stored submission with this id was routed to this Fachverfahren")]
    NotFound,
    /// The submission was rejected; there is nothing to answer over FIT-Connect.
    #[error("the submission was rejected by the gateway; it cannot be answered")]
    Rejected,
    /// The payload (with the reply key) was purged after the retention.
    #[error("the submission's payload was purged after the retention; its reply key is gone")]
    Purged,
    /// A FIT-Connect rule refuses the reply.
    #[error("{0}")]
    Refused(ReplyRefusal),
    /// The request is not a usable answer.
    #[error("{0}")]
    BadRequest(String),
    /// No installed pack provides the message.
    #[error("{0}")]
    Unsupported(String),
    /// The message is invalid (XSD, business rules or the JSON mapping).
    #[error("the reply message is invalid ({} violation(s))", violations.len())]
    Invalid {
        /// The violations (at most 100).
        violations: Vec<Violation>,
        /// More were found than listed.
        truncated: bool,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// Our own failure (a pack that does not compile, stored metadata we cannot read).
    #[error("{0}")]
    Technical(String),
}

impl HandInError {
    /// HTTP status and problem slug (`urn:poststelle:problem:<slug>`).
    #[must_use]
    pub fn status_and_slug(&self) -> (u16, &'static str) {
        match self {
            Self::NotFound => (404, "submission-not-found"),
            Self::Rejected => (409, "submission-rejected"),
            Self::Purged => (410, "submission-purged"),
            Self::Refused(r) => (422, r.slug()),
            Self::BadRequest(_) => (400, "bad-request"),
            Self::Unsupported(_) => (422, "reply-message-unsupported"),
            Self::Invalid { .. } => (422, "reply-invalid"),
            Self::Store(_) => (503, "unavailable"),
            Self::Technical(_) => (500, "internal-error"),
        }
    }
}

/// Takes answers of Fachverfahren: checks, validates and stores them for the
/// [`sender::ReplySender`].
pub struct ReplyDesk {
    store: AnyStore,
    registry: Registry<'static>,
    grammars: GrammarCache,
    rules: RulesCache,
    business_rules: BusinessRules,
    limits: Limits,
    /// Reply channels offered per destination (lowercase id; empty list: any).
    offered: HashMap<String, Vec<String>>,
    validator: MetadataValidator,
    /// Woken when a reply was stored.
    wake: Arc<tokio::sync::Notify>,
}

impl std::fmt::Debug for ReplyDesk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyDesk").finish_non_exhaustive()
    }
}

/// What [`ReplyDesk::new`] needs besides the store.
pub struct DeskSettings {
    /// The installed packs.
    pub registry: Registry<'static>,
    /// Compiled grammars (shared with the pipeline).
    pub grammars: GrammarCache,
    /// Compiled business rules (shared with the pipeline).
    pub rules: RulesCache,
    /// What the business rules do (`[validation] business_rules`): `reject` refuses an answer
    /// with error findings, as it rejects a submission.
    pub business_rules: BusinessRules,
    /// The limits (`[limits]`).
    pub limits: Limits,
    /// Reply channels offered per destination id (empty list: any).
    pub offered: HashMap<String, Vec<String>>,
    /// Whether metadata 2.1.0 (reconstructed schema) is read.
    pub unconfirmed_metadata_versions: bool,
}

impl ReplyDesk {
    /// A desk over `store`.
    #[must_use]
    pub fn new(store: AnyStore, settings: DeskSettings) -> Self {
        Self {
            store,
            registry: settings.registry,
            grammars: settings.grammars,
            rules: settings.rules,
            business_rules: settings.business_rules,
            limits: settings.limits,
            offered: settings
                .offered
                .into_iter()
                .map(|(k, v)| (k.to_ascii_lowercase(), v))
                .collect(),
            validator: MetadataValidator::with_unconfirmed(settings.unconfirmed_metadata_versions),
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// Notified whenever a reply was stored (the sender waits on it).
    #[must_use]
    pub fn wake(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.wake)
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// Checks, validates and stores an answer (see the module documentation for the order).
    ///
    /// # Errors
    /// [`HandInError`], the first refusal.
    pub async fn hand_in(&self, mut h: HandIn) -> Result<ReplyInsert, HandInError> {
        // Ids are stored as the delivery service writes them: lowercase UUIDs.
        h.submission_id = h.submission_id.to_ascii_lowercase();
        let ctx = self
            .store
            .reply_context(&h.submission_id)
            .await?
            .filter(|c| h.client == CLI_CLIENT || c.upstreams.contains(&h.client))
            .ok_or(HandInError::NotFound)?;
        if ctx.decision != "accepted" {
            return Err(HandInError::Rejected);
        }
        let metadata = ctx.metadata.ok_or(HandInError::Purged)?;
        let metadata = self.validator.validate(metadata.as_bytes()).map_err(|e| {
            HandInError::Technical(format!(
                "the stored metadata of the submission could not be read ({})",
                e.failure().problem_type().id
            ))
        })?;
        let (xml, binaries_attachments) = match h.answer {
            Answer::Xml(bytes) => (bytes, Vec::new()),
            Answer::Json(value) => {
                let attachments = attachments_of(&value)?;
                (self.json_to_xml(&value)?.into_bytes(), attachments)
            }
        };
        let checked = self.check_message(&xml)?;
        let process_standard = checked
            .schema_uri
            .split_once('#')
            .map_or(checked.schema_uri.as_str(), |(base, _)| base);
        let offered = self
            .offered
            .get(&ctx.destination_id.to_ascii_lowercase())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let target =
            reply_out::reply_target(metadata.reply_channel.as_ref(), offered, process_standard)
                .map_err(HandInError::Refused)?;
        let reply = NewReply {
            reply_id: uuid::Uuid::new_v4().to_string(),
            submission_id: h.submission_id,
            destination_id: ctx.destination_id,
            upstream: h.client,
            idempotency_key: h.idempotency_key,
            message_type: checked.message_type,
            schema_uri: checked.schema_uri,
            reply_key: target.jwk,
            xml,
            attachments: binaries_attachments,
        };
        let stored = self.store.insert_reply(reply, Timestamp::now()).await?;
        if let ReplyInsert::Inserted(view) = &stored {
            tracing::info!(
                reply = %view.reply_id,
                submission = %view.submission_id,
                upstream = %view.upstream,
                message_type = %view.message_type,
                "reply stored; queued for the delivery service"
            );
            self.wake.notify_one();
        }
        Ok(stored)
    }

    /// The JSON of the documented mapping → XML, by the message's grammar.
    fn json_to_xml(&self, value: &Value) -> Result<String, HandInError> {
        let message = value
            .get("message")
            .ok_or_else(|| HandInError::BadRequest("the JSON has no \"message\" member".into()))?;
        let local = message
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                HandInError::BadRequest(
                    "message.type (the XÖV message, e.g. baugenehmigung.formellePruefung.0201) is required"
                        .into(),
                )
            })?;
        let namespace = match message.get("namespace").and_then(Value::as_str) {
            Some(ns) => ns.to_owned(),
            None => self.namespace_of(local)?,
        };
        let resolved = self.registry.resolve(&namespace, local).map_err(|e| {
            HandInError::Unsupported(format!("no installed schema pack provides {local}: {e}"))
        })?;
        let grammar = self
            .grammars
            .grammar(&resolved, &self.limits)
            .map_err(HandInError::Technical)?;
        let mut envelope = value.clone();
        envelope["message"]["namespace"] = Value::String(namespace);
        let binaries = binaries_of(value)?;
        to_xml(&grammar, &envelope, &binaries).map_err(|e| HandInError::Invalid {
            violations: vec![Violation {
                line: 0,
                column: 0,
                path: e.path,
                kind: "json".into(),
                message: e.reason,
            }],
            truncated: false,
        })
    }

    /// The namespace of the one installed message with this root name.
    fn namespace_of(&self, local: &str) -> Result<String, HandInError> {
        let found: Vec<&str> = self
            .registry
            .packs()
            .iter()
            .flat_map(|p| p.roots.keys())
            .filter(|(_, l)| l == local)
            .map(|(ns, _)| ns.as_str())
            .collect();
        match found.as_slice() {
            [ns] => Ok((*ns).to_owned()),
            [] => Err(HandInError::Unsupported(format!(
                "no installed schema pack provides the message {local}"
            ))),
            _ => Err(HandInError::BadRequest(format!(
                "several installed packs provide {local}: give message.namespace"
            ))),
        }
    }

    /// Identifies the XML, validates it against its pack (and the business rules), and
    /// returns what the reply needs.
    fn check_message(&self, xml: &[u8]) -> Result<Checked, HandInError> {
        let invalid_syntax = |message: String| HandInError::Invalid {
            violations: vec![Violation {
                line: 0,
                column: 0,
                path: "/".into(),
                kind: "xml".into(),
                message,
            }],
            truncated: false,
        };
        let root = crate::xoev::root::document_root(xml, &self.limits.xml)
            .map_err(|e| invalid_syntax(e.to_string()))?;
        let resolved = self
            .registry
            .resolve(&root.namespace, &root.local)
            .map_err(|e| HandInError::Unsupported(e.to_string()))?;
        let schema_uri = resolved.message.schema_uri().ok_or_else(|| {
            HandInError::Unsupported(format!(
                "{} {} has no XRepository kennung, so no FIT-Connect schema URI",
                resolved.message.standard, resolved.message.version
            ))
        })?;
        let grammar = self
            .grammars
            .grammar(&resolved, &self.limits)
            .map_err(HandInError::Technical)?;
        let options = ValidationOptions::from_limits(&self.limits);
        let with_rules = self.business_rules != BusinessRules::Off
            && !(resolved.pack.schematron.is_empty() && resolved.pack.codelists.is_empty());
        let (report, rules) = if with_rules {
            let rules = self
                .rules
                .rules(resolved.pack, &self.limits.xml)
                .map_err(HandInError::Technical)?;
            let (report, findings) = validate_and_check(
                &grammar,
                &rules,
                xml,
                &self.limits,
                &options,
                RulesLimits::from(&self.limits.schematron),
                self.rules.overrides(),
            );
            (report, findings)
        } else {
            (
                xsd::validate_bytes(&grammar, xml, &self.limits, &options),
                None,
            )
        };
        if !report.is_valid() {
            let truncated = report.truncated || report.errors.len() > MAX_VIOLATIONS;
            return Err(HandInError::Invalid {
                violations: report
                    .errors
                    .iter()
                    .take(MAX_VIOLATIONS)
                    .map(|e| Violation {
                        line: e.line,
                        column: e.column,
                        path: e.path.clone(),
                        kind: format!("xsd:{:?}", e.kind),
                        message: e.message.clone(),
                    })
                    .collect(),
                truncated,
            });
        }
        if self.business_rules == BusinessRules::Reject
            && let Some(result) = rules
        {
            let report = result.map_err(|e| {
                HandInError::Technical(format!("the business rules could not be evaluated: {e}"))
            })?;
            let errors: Vec<Violation> = report
                .findings
                .iter()
                .filter(|f| f.severity == crate::schematron::Severity::Error)
                .map(|f| Violation {
                    line: f.line,
                    column: f.column,
                    path: f.path.clone(),
                    kind: f.rule.clone(),
                    message: "business rule violated".into(),
                })
                .collect();
            if !errors.is_empty() {
                let truncated = errors.len() > MAX_VIOLATIONS;
                return Err(HandInError::Invalid {
                    violations: errors.into_iter().take(MAX_VIOLATIONS).collect(),
                    truncated,
                });
            }
        }
        Ok(Checked {
            message_type: resolved.message.message_type.clone(),
            schema_uri,
        })
    }
}

struct Checked {
    message_type: String,
    schema_uri: String,
}

fn base64_field(value: &Value, what: &str) -> Result<Vec<u8>, HandInError> {
    let text = value
        .as_str()
        .ok_or_else(|| HandInError::BadRequest(format!("{what} must be a base64 string")))?;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| HandInError::BadRequest(format!("{what} is not valid base64")))
}

/// `binaries`: `{id: base64}` for base64Binary elements the mapping references by id.
fn binaries_of(value: &Value) -> Result<MemoryBinaries, HandInError> {
    let mut out = MemoryBinaries::default();
    if let Some(map) = value.get("binaries") {
        let map = map
            .as_object()
            .ok_or_else(|| HandInError::BadRequest("binaries must be an object".into()))?;
        for (id, content) in map {
            out.0
                .insert(id.clone(), base64_field(content, "binaries.<id>")?);
        }
    }
    Ok(out)
}

/// `attachments`: each gets a new id (UUID) for the delivery service.
fn attachments_of(value: &Value) -> Result<Vec<ReplyAttachment>, HandInError> {
    let Some(list) = value.get("attachments") else {
        return Ok(Vec::new());
    };
    let list = list
        .as_array()
        .ok_or_else(|| HandInError::BadRequest("attachments must be a list".into()))?;
    list.iter()
        .enumerate()
        .map(|(i, a)| {
            let media_type = a
                .get("mimeType")
                .and_then(Value::as_str)
                .filter(|m| m.contains('/') && m.bytes().all(|b| b.is_ascii_graphic()))
                .ok_or_else(|| {
                    HandInError::BadRequest(format!(
                        "attachments[{i}].mimeType must be a media type"
                    ))
                })?;
            let filename = match a.get("filename") {
                None => None,
                Some(Value::String(f))
                    if !f.is_empty() && !f.contains(['/', '\\']) && f.chars().count() <= 255 =>
                {
                    Some(f.clone())
                }
                Some(_) => {
                    return Err(HandInError::BadRequest(format!(
                        "attachments[{i}].filename must be a file name without directories"
                    )));
                }
            };
            let content = base64_field(
                a.get("content").unwrap_or(&Value::Null),
                &format!("attachments[{i}].content"),
            )?;
            Ok(ReplyAttachment {
                id: uuid::Uuid::new_v4().to_string(),
                filename,
                media_type: media_type.to_owned(),
                content: base64::engine::general_purpose::STANDARD.encode(content),
            })
        })
        .collect()
}
