//! The reply side of `poststelle send` (`--reply-key` …): the reply channel put into the
//! metadata, and after the decision the replies received for the submission — checked and
//! decrypted ([`crate::fitconnect::reply_inbox`]), XÖV data validated with the engine and the
//! installed packs of `poststelle validate` (root element → catalogue → pack → XSD), printed
//! without any instance value, optionally saved (0600) and accepted or rejected.
//!
//! Decisions: `--accept-replies` accepts a reply whose XÖV data are valid, or whose data are
//! JSON (not validated: no JSON reply schemas are known); `--reject-invalid-replies` rejects
//! a reply whose XÖV data violate their schema, with a `schema-violation` problem naming the
//! number of violations and the first one's path and kind (`syntax-violation` for XML that is
//! not well-formed); likewise a reply that does not
//! decrypt with the reply key (`encryption-issue`) or whose JWE tags differ from the
//! `submit-reply` event (`incorrect-authentication-tag`), naming the part. Anything else (an
//! event log that does not verify, XML of no installed pack) stays undecided.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};

use crate::config::Limits;
use crate::error::CliError;
use crate::fitconnect::client::Client;
use crate::fitconnect::problems::{Failure, Instance, Problem};
use crate::fitconnect::reply_inbox::{
    self, ReceivedReply, ReplyContent, ReplyFault, ReplyOptions, process_standard_of,
};
use crate::fitconnect::sender::media_type_of;
use crate::jose::{DecryptionKey, KeyRing};
use crate::xsd::{self, Grammar, ValidationOptions};

/// Violations listed per invalid reply (the count is always complete).
const SHOWN_VIOLATIONS: usize = 10;

/// The reply options of `poststelle send`.
#[derive(Debug, Args)]
pub(crate) struct ReplyArgs {
    /// Ask for replies over FIT-Connect: the private RSA key (JWK or PKCS#8 PEM, e.g.
    /// `enc.private.jwk.json` of `poststelle keys generate`) replies are decrypted with; its
    /// public half goes into the metadata as `replyChannel.fitConnect` (metadata 2.0.0 in
    /// the v1 profile, 2.1.0 in v2).
    #[arg(long, value_name = "FILE")]
    reply_key: Option<PathBuf>,
    /// Process standard of the dialogue (`replyChannel.fitConnect.processStandards`);
    /// repeatable [default: that of the XÖV message sent, e.g.
    /// urn:xoev-de:bmk:standard:xbau_2.6].
    #[arg(long, value_name = "URI", requires = "reply_key")]
    reply_process_standard: Vec<String>,
    /// After the submission is accepted, wait up to this many seconds for replies (0: only
    /// list those present).
    #[arg(long, value_name = "SECS", default_value_t = 0, requires = "reply_key")]
    reply_wait: u64,
    /// Write each reply's decrypted data and attachments (mode 0600) to
    /// `DIR/<replyId>/{data.xml|data.json|data.bin, attachments/<attachmentId>}`.
    #[arg(long, value_name = "DIR", requires = "reply_key")]
    save_replies: Option<PathBuf>,
    /// Accept each reply whose XÖV data are valid (or whose data are JSON, not validated).
    #[arg(long, requires = "reply_key")]
    accept_replies: bool,
    /// Reject each reply whose XÖV data violate their schema (problem `schema-violation`).
    #[arg(long, requires = "reply_key")]
    reject_invalid_replies: bool,
}

/// The reply key and the channel that names it.
pub(crate) struct ReplySetup {
    keys: KeyRing,
    /// The `replyChannel` member for the metadata.
    pub(crate) channel: Value,
}

impl ReplyArgs {
    /// The reply key and channel, `None` without `--reply-key`.
    pub(crate) fn setup(&self, schema_uri: &str) -> Result<Option<ReplySetup>, CliError> {
        let Some(path) = &self.reply_key else {
            return Ok(None);
        };
        let key: DecryptionKey = super::decrypt::load_key(path)?;
        let standards = if self.reply_process_standard.is_empty() {
            vec![process_standard_of(schema_uri).ok_or_else(|| {
                CliError::Usage(format!(
                    "--reply-process-standard is required: submission schema {schema_uri} names no XÖV process standard"
                ))
            })?]
        } else {
            self.reply_process_standard.clone()
        };
        let channel = reply_inbox::reply_channel(&key, &standards);
        Ok(Some(ReplySetup {
            keys: KeyRing::from(key),
            channel,
        }))
    }
}

/// What the XÖV check of a reply's data gave.
enum Check {
    /// Valid against the pack's schema.
    Valid,
    /// Not valid: the number of violations and the first ones (path, kind), no values;
    /// `syntax` when the data are not even well-formed XML.
    Invalid {
        syntax: bool,
        count: usize,
        truncated: bool,
        violations: Vec<(String, &'static str)>,
    },
    /// Not checked, and why.
    NotValidated { json: bool, reason: String },
}

/// One reply, judged.
struct Judged<'r> {
    reply: &'r ReceivedReply,
    message: Option<String>,
    check: Option<Check>,
    decision: Option<&'static str>,
}

/// Receives, checks, saves and decides the replies to `submission_id`; returns the `replies`
/// JSON array and prints the text summary to `out` unless `json`.
pub(crate) fn handle(
    args: &ReplyArgs,
    setup: &ReplySetup,
    runtime: &tokio::runtime::Runtime,
    client: &Client,
    submission_id: &str,
    json: bool,
    out: &mut dyn std::io::Write,
) -> Result<Value, CliError> {
    let options = ReplyOptions {
        wait: Duration::from_secs(args.reply_wait),
        ..ReplyOptions::default()
    };
    if args.reply_wait > 0 {
        eprintln!("waiting up to {} s for replies", args.reply_wait);
    }
    let received = runtime
        .block_on(reply_inbox::receive(
            client,
            submission_id,
            &setup.keys,
            &options,
        ))
        .map_err(CliError::failed)?;
    let mut grammars = BTreeMap::new();
    // Loading the packs reads (fingerprints) every file: only when there is XML to check.
    let mut registry = None;
    let mut judged = Vec::with_capacity(received.len());
    for reply in &received {
        let (message, check) = match &reply.content {
            Ok(content) => {
                let registry = registry.get_or_insert_with(super::discover::registry);
                let (message, check) = validate(registry, &mut grammars, content);
                (message, Some(check))
            }
            Err(_) => (None, None),
        };
        judged.push(Judged {
            reply,
            message,
            check,
            decision: None,
        });
    }
    if let Some(dir) = &args.save_replies {
        for j in &judged {
            if let Ok(content) = &j.reply.content {
                save(dir, &j.reply.reply_id, content)?;
            }
        }
    }
    for j in &mut judged {
        j.decision = runtime.block_on(decide(args, client, j))?;
    }
    let replies: Vec<Value> = judged.iter().map(to_json).collect();
    if !json {
        for j in &judged {
            print_text(j, out);
        }
    }
    Ok(Value::Array(replies))
}

/// Validates XML data as `validate` does; JSON is not validated.
fn validate(
    registry: &crate::xoev::registry::Registry<'_>,
    grammars: &mut BTreeMap<PathBuf, Result<Grammar, String>>,
    content: &ReplyContent,
) -> (Option<String>, Check) {
    let limits = Limits::default();
    if media_type_of(&content.data) == "application/json" {
        return (
            None,
            Check::NotValidated {
                json: true,
                reason: "JSON data are not validated".into(),
            },
        );
    }
    let root = match crate::xoev::root::document_root(&content.data[..], &limits.xml) {
        Ok(root) => root,
        Err(e) => {
            let kind = match e.kind {
                crate::xml::XmlErrorKind::LimitExceeded { .. } => "limit",
                _ => "not-well-formed",
            };
            return (
                None,
                Check::Invalid {
                    syntax: true,
                    count: 1,
                    truncated: false,
                    violations: vec![(format!("{}:{}", e.pos.line, e.pos.column), kind)],
                },
            );
        }
    };
    let message = Some(root.local.clone());
    let resolved = match registry.resolve(&root.namespace, &root.local) {
        Ok(r) => r,
        Err(e) => {
            return (
                message,
                Check::NotValidated {
                    json: false,
                    reason: e.to_string(),
                },
            );
        }
    };
    let message = Some(format!(
        "{} ({} {})",
        root.local, resolved.message.standard, resolved.message.version
    ));
    let grammar = grammars
        .entry(resolved.entry.clone())
        .or_insert_with(|| xsd::compile_file(&resolved.entry, &limits).map_err(|e| e.to_string()));
    let grammar = match grammar {
        Ok(g) => g,
        Err(e) => {
            return (
                message,
                Check::NotValidated {
                    json: false,
                    reason: format!("the pack's schema does not compile: {e}"),
                },
            );
        }
    };
    let report = xsd::validate_bytes(
        grammar,
        &content.data,
        &limits,
        &ValidationOptions::from_limits(&limits),
    );
    if report.is_valid() {
        return (message, Check::Valid);
    }
    let violations = report
        .errors
        .iter()
        .take(SHOWN_VIOLATIONS)
        .map(|e| (e.path.clone(), e.kind.as_str()))
        .collect();
    (
        message,
        Check::Invalid {
            syntax: false,
            count: report.errors.len(),
            truncated: report.truncated,
            violations,
        },
    )
}

/// Writes the decrypted data and attachments below `dir/<reply id>` (files 0600).
fn save(dir: &Path, reply_id: &str, content: &ReplyContent) -> Result<(), CliError> {
    let io = |p: &Path, e| super::keyfile::io_error(p, e);
    // The reply id is a UUID (the client refuses any other in a path), so it is a safe name.
    let base = dir.join(reply_id);
    let attachments = base.join("attachments");
    std::fs::create_dir_all(&attachments).map_err(|e| io(&attachments, e))?;
    let name = match (content.data_type.as_deref(), media_type_of(&content.data)) {
        (Some("application/json"), _) | (None, "application/json") => "data.json",
        (Some(t), _) if t.ends_with("xml") => "data.xml",
        (None, _) => "data.xml",
        _ => "data.bin",
    };
    let path = base.join(name);
    crate::private_file::write(&path, &content.data).map_err(|e| io(&path, e))?;
    for (id, bytes) in &content.attachments {
        // Attachment ids are UUIDs (checked by the client before the download).
        let path = attachments.join(id);
        crate::private_file::write(&path, bytes).map_err(|e| io(&path, e))?;
    }
    Ok(())
}

/// Accepts or rejects one reply as the options say; `None`: left undecided.
async fn decide(
    args: &ReplyArgs,
    client: &Client,
    j: &Judged<'_>,
) -> Result<Option<&'static str>, CliError> {
    let reply = j.reply;
    match &j.check {
        Some(Check::Valid | Check::NotValidated { json: true, .. }) if args.accept_replies => {
            client
                .accept_reply(&reply.reply_id, &reply.tags)
                .await
                .map_err(CliError::failed)?;
            Ok(Some("accepted"))
        }
        Some(Check::Invalid {
            syntax,
            count,
            truncated,
            violations,
        }) if args.reject_invalid_replies => {
            let failure = if *syntax {
                Failure::DataSyntax
            } else {
                Failure::DataSchema
            };
            let mut problem = Problem::new(failure, &Instance::Data).expect(
                "syntax- and schema-violation allow the data instance (catalogue, unit-tested)",
            );
            let more = if *truncated { " or more" } else { "" };
            let first = violations
                .first()
                .map(|(path, kind)| format!(", the first at {path} ({kind})"))
                .unwrap_or_default();
            problem.detail = format!(
                "the reply's data violate the schema of {}: {count}{more} violation(s){first}",
                j.message.as_deref().unwrap_or("the message")
            );
            reject(client, &reply.reply_id, vec![problem]).await
        }
        // The reply key is the one this run named in the metadata: a reply that does not
        // decrypt, or whose JWEs are not those the service recorded, is the answerer's fault
        // (`ReplyFault::problems`); anything else stays undecided.
        _ => match &reply.content {
            Err(fault) if args.reject_invalid_replies => {
                reject(client, &reply.reply_id, fault.problems()).await
            }
            _ => Ok(None),
        },
    }
}

async fn reject(
    client: &Client,
    reply_id: &str,
    problems: Vec<Problem>,
) -> Result<Option<&'static str>, CliError> {
    if problems.is_empty() {
        return Ok(None);
    }
    client
        .reject_reply(reply_id, &problems)
        .await
        .map_err(CliError::failed)?;
    Ok(Some("rejected"))
}

fn result_word(j: &Judged<'_>) -> &'static str {
    match (&j.reply.content, &j.check) {
        (Err(ReplyFault::Undecryptable { .. }), _) => "undecryptable",
        (Err(_), _) => "unverified",
        (Ok(_), Some(Check::Valid)) => "valid",
        (Ok(_), Some(Check::Invalid { .. })) => "invalid",
        (Ok(_), _) => "not-validated",
    }
}

fn to_json(j: &Judged<'_>) -> Value {
    let r = j.reply;
    let mut v = json!({
        "replyId": r.reply_id,
        "status": r.status,
        "result": result_word(j),
        "messageType": j.message,
        "tagsChecked": r.tags_checked,
        "decision": j.decision,
    });
    if let Err(fault) = &r.content {
        v["error"] = fault.to_string().into();
    }
    if let Ok(content) = &r.content {
        v["dataBytes"] = content.data.len().into();
        v["attachments"] = content
            .attachments
            .iter()
            .map(|(id, bytes)| json!({ "attachmentId": id, "bytes": bytes.len() }))
            .collect();
    }
    match &j.check {
        Some(Check::Invalid {
            count,
            truncated,
            violations,
            ..
        }) => {
            v["errorCount"] = (*count).into();
            v["truncated"] = (*truncated).into();
            v["violations"] = violations
                .iter()
                .map(|(path, kind)| json!({ "path": path, "kind": kind }))
                .collect();
        }
        Some(Check::NotValidated { reason, .. }) => v["notValidated"] = reason.clone().into(),
        _ => {}
    }
    v
}

fn print_text(j: &Judged<'_>, out: &mut dyn std::io::Write) {
    let r = j.reply;
    let message = j.message.as_deref().unwrap_or("-");
    let verdict = match (&r.content, &j.check) {
        (Err(fault), _) => format!("{}: {fault}", result_word(j)),
        (Ok(_), Some(Check::Invalid { count, .. })) => format!("invalid ({count} error(s))"),
        (Ok(_), Some(Check::NotValidated { reason, .. })) => format!("not validated ({reason})"),
        (Ok(_), _) => "valid".into(),
    };
    let _ = writeln!(out, "reply {} {message}: {verdict}", r.reply_id);
    if let Some(Check::Invalid { violations, .. }) = &j.check {
        for (path, kind) in violations {
            let _ = writeln!(out, "  {path} [{kind}]");
        }
    }
    if let Ok(content) = &r.content {
        for (id, bytes) in &content.attachments {
            let _ = writeln!(out, "  attachment {id} ({} bytes)", bytes.len());
        }
    }
    if let Some(decision) = j.decision {
        let _ = writeln!(out, "  {decision}");
    }
}
