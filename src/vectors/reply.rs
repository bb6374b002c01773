//! `reply` and `reply-admission` cases, run through the functions the product uses:
//! `fitconnect::reply_inbox::check_reply` (what `poststelle send --reply-key` does with each
//! reply) and `fitconnect::reply_out::reply_target` (what the gateway decides before it takes
//! an answer).
//!
//! `reply` expected: `{"result": "accept", "metadataVersion", "dataType", "dataSha512",
//! "attachments": {id: sha512}}` (and the decrypted data equal the `data` input), `{"result":
//! "reject", "fault", "problems": [{"type", "instance"}]}` (the sender rejects the reply with
//! these problems) or `{"result": "unverified", "fault"}` (not opened, left undecided).
//!
//! `reply-admission` expected: `{"result": "admit", "kid"}` or `{"result": "refuse",
//! "refusal": slug}`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Case, Env, expected_str, read_bounded, same, same_problems};
use crate::fitconnect::hash::sha512_hex;
use crate::fitconnect::metadata::MetadataValidator;
use crate::fitconnect::reply_inbox::{self, ReplyContent, ReplyLog};
use crate::fitconnect::reply_out;
use crate::fitconnect::types::ReplyDocument;
use crate::jose::{DecryptionKey, Jwk, KeyRing, KeyUse};

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T, String> {
    let bytes = read_bounded(path).map_err(|e| e.to_string())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

pub(super) fn run(env: &Env, case: &Case, now: i64) -> Result<(), String> {
    let rel = case
        .inputs
        .get("reply")
        .ok_or("case has no input \"reply\"")?;
    let dir = env.path(rel);
    let doc: ReplyDocument = read_json(&dir.join("reply.json"))?;
    let events: Value = read_json(&dir.join("events.json"))?;
    let mut attachments = BTreeMap::new();
    for id in &doc.attachments {
        // Attachment ids are UUIDs: safe as file names.
        if !crate::fitconnect::set::is_uuid(id) {
            return Err(format!("attachment id {id:?} is not a UUID"));
        }
        let path = dir.join(format!("attachments/{id}.jwe"));
        let token = String::from_utf8(read_bounded(&path).map_err(|e| e.to_string())?)
            .map_err(|_| format!("{}: not UTF-8", path.display()))?;
        attachments.insert(id.clone(), token);
    }
    let jwk = Jwk::from_json(&env.input_text(case, "replyKey")?).map_err(|e| e.to_string())?;
    jwk.check_use(KeyUse::Encryption, true)
        .map_err(|e| e.to_string())?;
    let ring = KeyRing::from(DecryptionKey::from_jwk(&jwk).map_err(|e| e.to_string())?);
    let log = ReplyLog {
        body: &events,
        issuer: &env.delivery_service_iss,
        keys: &env.set_keys,
        now,
    };
    let result = reply_inbox::check_reply(&doc, &attachments, Some(&log), &ring);
    match (expected_str(case, "result")?, result) {
        ("accept", Ok(content)) => accepted(env, case, &content),
        ("reject", Err(fault)) => {
            same("fault", expected_str(case, "fault")?, fault.slug())?;
            let problems = fault.problems().into_iter();
            same_problems(case, problems.map(|p| (p.type_uri, p.instance)).collect())
        }
        ("unverified", Err(fault)) => {
            same("fault", expected_str(case, "fault")?, fault.slug())?;
            if fault.problems().is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "expected no decision, the sender would reject: {fault}"
                ))
            }
        }
        ("reject" | "unverified", Ok(_)) => Err("the reply was opened".into()),
        ("accept", Err(fault)) => Err(format!("expected accept, got {}: {fault}", fault.slug())),
        (other, _) => Err(format!("unknown expected.result {other:?}")),
    }
}

fn accepted(env: &Env, case: &Case, content: &ReplyContent) -> Result<(), String> {
    if content.data != env.input(case, "data")? {
        return Err("the decrypted data differ from the data file".into());
    }
    same(
        "dataSha512",
        expected_str(case, "dataSha512")?,
        &sha512_hex(&content.data),
    )?;
    same(
        "dataType",
        expected_str(case, "dataType")?,
        content.data_type.as_deref().unwrap_or("(none)"),
    )?;
    let typed = MetadataValidator::new()
        .validate(&content.metadata)
        .map_err(|e| format!("the reply's metadata are not valid: {e}"))?;
    same(
        "metadataVersion",
        expected_str(case, "metadataVersion")?,
        typed.version,
    )?;
    let declared = typed
        .content_structure
        .data
        .as_ref()
        .map(|d| d.hash.content.as_str())
        .unwrap_or("(none)");
    same(
        "the metadata's data hash",
        declared,
        &sha512_hex(&content.data),
    )?;
    let expected: BTreeMap<String, String> = case
        .expected
        .get("attachments")
        .and_then(Value::as_object)
        .ok_or("expected.attachments missing")?
        .iter()
        .map(|(k, v)| {
            (
                k.to_ascii_lowercase(),
                v.as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let actual: BTreeMap<String, String> = content
        .attachments
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), sha512_hex(v)))
        .collect();
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "attachments: expected {expected:?}, got {actual:?}"
        ))
    }
}

/// `request`: `{"replyChannels": [...], "processStandard": URI}`.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Request {
    reply_channels: Vec<String>,
    process_standard: String,
}

pub(super) fn run_admission(env: &Env, case: &Case) -> Result<(), String> {
    let request: Request = serde_json::from_slice(&env.input(case, "request")?)
        .map_err(|e| format!("request: {e}"))?;
    let metadata = MetadataValidator::new()
        .validate(&env.input(case, "metadata")?)
        .map_err(|e| format!("the submission's metadata are not valid: {e}"))?;
    let result = reply_out::reply_target(
        metadata.reply_channel.as_ref(),
        &request.reply_channels,
        &request.process_standard,
    );
    match (expected_str(case, "result")?, result) {
        ("admit", Ok(target)) => same("kid", expected_str(case, "kid")?, &target.kid),
        ("refuse", Err(refusal)) => same("refusal", expected_str(case, "refusal")?, refusal.slug()),
        ("admit", Err(refusal)) => Err(format!("expected admit, refused: {}", refusal.slug())),
        ("refuse", Ok(_)) => Err("expected a refusal, the reply was admitted".into()),
        (other, _) => Err(format!("unknown expected.result {other:?}")),
    }
}
