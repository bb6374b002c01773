//! `reply` and `reply-admission` cases: replies (Rückkanal) over FIT-Connect.
//!
//! * `reply` (the sender's side): a reply as the sender downloads it — `reply.json`
//!   (`GET /replies/{id}`), `attachments/<id>.jwe`, `events.json` (`GET /replies/{id}/events`:
//!   the delivery service's `create-reply` and `submit-reply` SETs) — checked with the reply
//!   key and the delivery service's keys. The JWEs are made by poststelle's own receiver side
//!   (`reply_out::seal`, for the target `reply_out::reply_target` derives from the
//!   submission's metadata), so the valid case is what an implementation we did not write must
//!   decrypt (`crosscheck.py`, jwcrypto).
//! * `reply-admission` (the receiver's side): decrypted submission metadata, the reply channels
//!   the destination offers and the reply's process standard → the reply key, or the refusal.
//!
//! Facts and open points: `docs/protocol-facts.md`, section "Replies" (R-1 … R-9).

use serde_json::{Value, json};

use super::{CASE_ID, DELIVERY_SERVICE_ISS, Gen, Keys, NOW, SUBMISSION_ID};
use crate::fitconnect::hash::sha512_hex;
use crate::fitconnect::metadata::MetadataValidator;
use crate::fitconnect::reply_inbox::reply_channel;
use crate::fitconnect::reply_out::{self, ReplyTarget};
use crate::fitconnect::sender::OutgoingAttachment;
use crate::fitconnect::set::{
    CREATE_REPLY, PayloadSchema, SUBMIT_REPLY, SetClaims, sign_reply_event,
};
use crate::vectors::{Kind, VectorsError};

/// The reply of the cases (the FITKO documentation's example replyId).
pub(super) const REPLY_ID: &str = "b9715dcb-700e-44d9-802f-12b45bf9f8a3";
/// Another reply of the same case.
const OTHER_REPLY_ID: &str = "0c6d2f1e-9a8b-4c7d-8e6f-5a4b3c2d1e0f";
/// A case the reply does not belong to.
const OTHER_CASE_ID: &str = "11111111-2222-4333-8444-555555555555";
/// The reply's attachment.
const ATTACHMENT_ID: &str = "4e1f6a2b-8c3d-4e5f-9a0b-1c2d3e4f5a6b";
/// The process standard of the dialogue (XBau 2.6).
pub(super) const XBAU: &str = "urn:xoev-de:bmk:standard:xbau_2.6";
/// The project's own example answer (fictional data), copied into the suite.
const ANSWER: &str = "examples/xbau/baugenehmigung.formellePruefung.0201.xml";
const PROBLEM_PREFIX: &str = "https://schema.fitko.de/fit-connect/events/problems/";
const RULE_REPLY: &str =
    "FIT-Connect replies (protocol notes \"Replies\" R-5, R-6, R-8; §3.1 JWE, §3.3 SET)";
const RULE_ADMISSION: &str = "FIT-Connect replies (protocol notes \"Replies\" R-1, R-2, R-3)";

fn err(e: impl std::fmt::Display) -> VectorsError {
    VectorsError::Format(e.to_string())
}

fn attachment() -> OutgoingAttachment {
    OutgoingAttachment {
        filename: Some("nachforderung.pdf".into()),
        mime_type: "application/pdf".into(),
        purpose: "attachment".into(),
        bytes: b"%PDF-1.7\n% poststelle test vector: Nachforderung (not a real PDF)\n%%EOF\n"
            .to_vec(),
    }
}

/// The submission's metadata as the sender sent them (metadata 2.0.0): an XBau application
/// with `replyChannel` = `channel`.
fn submission_metadata(channel: Value) -> Value {
    let mut doc = reply_out::reply_metadata(
        &format!("{XBAU}#baugenehmigung.antrag.0200"),
        b"<xbau:baugenehmigung.antrag.0200/>",
        &[],
        &[],
    );
    doc["replyChannel"] = channel;
    doc
}

/// The reply key's target, as the receiver derives it from the submission's metadata.
fn target(keys: &Keys) -> Result<ReplyTarget, VectorsError> {
    let doc = submission_metadata(reply_channel(&keys.reply_enc, &[XBAU.to_owned()]));
    let typed = MetadataValidator::new()
        .validate(&serde_json::to_vec(&doc).map_err(err)?)
        .map_err(err)?;
    reply_out::reply_target(typed.reply_channel.as_ref(), &[], XBAU).map_err(err)
}

/// How a reply deviates from the correct one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    /// Encrypted for another key under the reply key's kid.
    WrongKey,
    /// The submit-reply SET's metadata tag is the data JWE's tag.
    TagMismatch,
    /// The submit-reply SET names another case.
    OtherCase,
    /// The only submit-reply SET is about another reply.
    OtherReply,
}

/// Writes the reply directory: reply.json, attachments, events.json.
fn build(g: &Gen, dir: &std::path::Path, xml: &[u8], fault: Fault) -> Result<(), VectorsError> {
    let keys = &g.keys;
    let mut target = target(keys)?;
    if fault == Fault::WrongKey {
        target.key = keys.unrelated_enc_public.clone();
    }
    let ids = vec![ATTACHMENT_ID.to_owned()];
    let sealed = reply_out::seal(
        &target,
        &format!("{XBAU}#baugenehmigung.formellePruefung.0201"),
        xml,
        &[attachment()],
        &ids,
    )
    .map_err(err)?;
    let tag = |jwe: &str| jwe.rsplit('.').next().unwrap_or_default().to_owned();
    let mut tags = json!({
        "metadata": tag(&sealed.metadata),
        "data": tag(&sealed.data),
        "attachments": sealed.attachments.iter().map(|(id, jwe)| (id.clone(), json!(tag(jwe)))).collect::<serde_json::Map<_, _>>(),
    });
    if fault == Fault::TagMismatch {
        tags["metadata"] = json!(tag(&sealed.data));
    }
    let case = if fault == Fault::OtherCase {
        OTHER_CASE_ID
    } else {
        CASE_ID
    };
    let submit_about = if fault == Fault::OtherReply {
        OTHER_REPLY_ID
    } else {
        REPLY_ID
    };
    let claims = |case_id| SetClaims {
        issuer: DELIVERY_SERVICE_ISS,
        submission_id: SUBMISSION_ID,
        case_id,
        schema: PayloadSchema::V1_2_2,
    };
    let log = json!({"eventLog": [
        sign_reply_event(&keys.delivery_sig, &claims(CASE_ID), REPLY_ID, CREATE_REPLY, json!({}), NOW - 120),
        sign_reply_event(&keys.delivery_sig, &claims(case), submit_about, SUBMIT_REPLY,
                         json!({"authenticationTags": tags}), NOW - 60),
    ]});
    let doc = json!({
        "replyId": REPLY_ID,
        "caseId": CASE_ID,
        "submissionId": SUBMISSION_ID,
        "status": "submitted",
        "encryptedMetadata": sealed.metadata,
        "encryptedData": sealed.data,
        "attachments": ids,
    });
    if dir.is_dir() {
        std::fs::remove_dir_all(dir).map_err(err)?;
    }
    std::fs::create_dir_all(dir.join("attachments")).map_err(err)?;
    let pretty = |v: &Value| serde_json::to_string_pretty(v).map(|s| s + "\n");
    std::fs::write(dir.join("reply.json"), pretty(&doc).map_err(err)?).map_err(err)?;
    std::fs::write(dir.join("events.json"), pretty(&log).map_err(err)?).map_err(err)?;
    for (id, jwe) in &sealed.attachments {
        std::fs::write(dir.join(format!("attachments/{id}.jwe")), jwe).map_err(err)?;
    }
    Ok(())
}

fn add(
    g: &mut Gen,
    id: &str,
    desc: &str,
    xml: &[u8],
    fault: Fault,
    expected: Value,
) -> Result<(), VectorsError> {
    let rel = format!("reply/{id}");
    let dir = g.dir.join(&rel);
    if g.force || !dir.join("reply.json").is_file() {
        build(g, &dir, xml, fault)?;
        g.done.written += 1;
    } else {
        g.done.kept += 1;
    }
    let mut inputs = vec![
        ("reply", rel),
        (
            "replyKey",
            "keys/reply-encryption.private.jwk.json".to_owned(),
        ),
    ];
    if fault == Fault::None {
        inputs.push(("data", g.file(&format!("reply/{id}.data.xml"), xml)?));
    }
    g.case(id, Kind::Reply, desc, RULE_REPLY, &inputs, expected);
    Ok(())
}

fn problem(id: &str, instance: &str) -> Value {
    json!({"type": format!("{PROBLEM_PREFIX}{id}"), "instance": instance})
}

/// The reply cases.
pub(super) fn cases(g: &mut Gen, repo: &std::path::Path) -> Result<(), VectorsError> {
    // The answer is kept with the suite: a later edit of the example must not change the
    // plaintext of the committed JWEs.
    let kept = g.dir.join("reply/reply-valid.data.xml");
    let xml = match std::fs::read(&kept) {
        Ok(bytes) if !g.force => bytes,
        _ => std::fs::read(repo.join(ANSWER)).map_err(err)?,
    };
    let pdf = attachment().bytes;
    add(
        g,
        "reply-valid",
        "A reply sealed by poststelle for the sender's reply key, with the delivery service's submit-reply SET naming its JWE tags: it decrypts to the XBau answer and its attachment.",
        &xml,
        Fault::None,
        json!({"result": "accept", "metadataVersion": "2.0.0", "dataType": "application/xml",
               "dataSha512": sha512_hex(&xml),
               "attachments": {ATTACHMENT_ID: sha512_hex(&pdf)}}),
    )?;
    add(
        g,
        "reply-wrong-key",
        "The reply is encrypted for another key (under the reply key's kid): it does not decrypt with the reply key; the sender rejects it.",
        &xml,
        Fault::WrongKey,
        json!({"result": "reject", "fault": "undecryptable",
               "problems": [problem("encryption-issue", "metadata")]}),
    )?;
    add(
        g,
        "reply-tag-mismatch",
        "The submit-reply SET's metadata tag is not the metadata JWE's: the JWEs are not those the delivery service recorded; the sender rejects the reply.",
        &xml,
        Fault::TagMismatch,
        json!({"result": "reject", "fault": "tag-mismatch",
               "problems": [problem("incorrect-authentication-tag", "metadata")]}),
    )?;
    add(
        g,
        "reply-unknown-case",
        "The only submit-reply SET names another case (txn) than the reply's: there is no submit-reply event for this reply; nothing is decrypted and the reply stays undecided.",
        &xml,
        Fault::OtherCase,
        json!({"result": "unverified", "fault": "submit-reply-count"}),
    )?;
    add(
        g,
        "reply-submit-event-of-other-reply",
        "The only submit-reply SET is about another reply of the case (sub): there is no submit-reply event for this reply; the reply stays undecided.",
        &xml,
        Fault::OtherReply,
        json!({"result": "unverified", "fault": "submit-reply-count"}),
    )?;
    admission_cases(g)
}

/// One admission case: metadata (written), the offer and the process standard.
fn admission(
    g: &mut Gen,
    id: &str,
    desc: &str,
    metadata: &Value,
    offered: &[&str],
    process_standard: &str,
    expected: Value,
) -> Result<(), VectorsError> {
    let pretty = |v: &Value| serde_json::to_string_pretty(v).map(|s| s + "\n");
    let meta = g.file(
        &format!("reply-admission/{id}.metadata.json"),
        pretty(metadata).map_err(err)?.as_bytes(),
    )?;
    let request = json!({"replyChannels": offered, "processStandard": process_standard});
    let request = g.file(
        &format!("reply-admission/{id}.request.json"),
        pretty(&request).map_err(err)?.as_bytes(),
    )?;
    g.case(
        id,
        Kind::ReplyAdmission,
        desc,
        RULE_ADMISSION,
        &[("metadata", meta), ("request", request)],
        expected,
    );
    Ok(())
}

fn admission_cases(g: &mut Gen) -> Result<(), VectorsError> {
    let fit = submission_metadata(reply_channel(&g.keys.reply_enc, &[XBAU.to_owned()]));
    let email = submission_metadata(json!({"eMail": {"address": "antrag@example.invalid"}}));
    let mut none = fit.clone();
    if let Some(map) = none.as_object_mut() {
        map.remove("replyChannel");
    }
    let mut signing_use = fit.clone();
    signing_use["replyChannel"]["fitConnect"]["encryptionPublicKey"]["use"] = json!("sig");
    let kid = g.keys.reply_enc.kid().to_owned();
    let refuse = |slug: &str| json!({"result": "refuse", "refusal": slug});
    admission(
        g,
        "reply-admission-valid",
        "The sender chose the fitConnect channel for XBau 2.6 and the destination offers it: the reply goes to the sender's reply key.",
        &fit,
        &["eMail", "fitConnect"],
        XBAU,
        json!({"result": "admit", "kid": kid}),
    )?;
    admission(
        g,
        "reply-admission-any-channel",
        "A destination that configures no reply channels offers any (poststelle: empty = any).",
        &fit,
        &[],
        XBAU,
        json!({"result": "admit", "kid": kid}),
    )?;
    admission(
        g,
        "reply-channel-not-offered",
        "The destination offers only eMail: no reply over FIT-Connect although the sender asked for it.",
        &fit,
        &["eMail"],
        XBAU,
        refuse("reply-channel-not-offered"),
    )?;
    admission(
        g,
        "reply-channel-not-fit-connect",
        "The sender chose the eMail reply channel: FIT-Connect replies exist only for the fitConnect channel.",
        &email,
        &["eMail", "fitConnect"],
        XBAU,
        refuse("reply-channel-not-fit-connect"),
    )?;
    admission(
        g,
        "reply-channel-none-chosen",
        "The sender chose no reply channel at all.",
        &none,
        &["fitConnect"],
        XBAU,
        refuse("reply-channel-not-fit-connect"),
    )?;
    admission(
        g,
        "reply-process-standard-not-chosen",
        "The reply is an XGewerbeanzeige message; the sender listed only XBau 2.6 in processStandards.",
        &fit,
        &["fitConnect"],
        "urn:xoev-de:kosit:standard:xgewerbeanzeige_2.2",
        refuse("reply-process-standard-not-chosen"),
    )?;
    admission(
        g,
        "reply-key-invalid",
        "The reply key is declared for signatures (use sig), which the metadata schema allows but the FIT-Connect key rules do not.",
        &signing_use,
        &["fitConnect"],
        XBAU,
        refuse("reply-key-invalid"),
    )
}
