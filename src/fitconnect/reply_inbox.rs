//! The sender's side of replies (Rückkanal): the `replyChannel.fitConnect` it names in its
//! metadata, and receiving the replies to its submission — list, fetch, check the JWEs
//! against the delivery service's `submit-reply` event, decrypt with the reply key.
//!
//! Layer L2 (uses [`crate::fitconnect::client`]); `poststelle send --reply-key` is the CLI.
//! What a reply's content means (XÖV validation, saving, accept/reject) is the caller's: this
//! module hands out plaintext only after the checks it can make without the content passed.
//! Paths and bodies: `docs/protocol-facts.md`, section "Replies" (partly UNCONFIRMED).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::client::{Client, ClientError, unix_now};
use super::event_log::{self, DownloadedTags, EventLogError};
use super::hash::sha512_hex;
use super::metadata::{MetadataValidator, content};
use super::problems::{Failure, Instance, Problem};
use super::sender::SendError;
use super::set::{AuthenticationTags, Issuer, SUBMIT_REPLY, StaticKeys};
use super::types::{ReplyDocument, ReplyIds};
use crate::config::JoseLimits;
use crate::jose::jwk::{Jwk, KeyUse};
use crate::jose::{CompactJwe, DecryptionKey, KeyRing};

/// The `replyChannel` member for answers over FIT-Connect: the public half of `key`
/// (RSA-OAEP-256, `wrapKey`, no `x5c`: the schema requires none) and the process standards.
#[must_use]
pub fn reply_channel(key: &DecryptionKey, process_standards: &[String]) -> Value {
    let public: Jwk = key.public_key().to_jwk(key.kid(), KeyUse::Encryption, None);
    // `Jwk::to_json` writes the members it has; `use` is not part of the reply key's shape
    // (metadata 2.0.0 `replyEncryptionKey` lists kty, key_ops, alg, kid, n, e).
    let mut jwk: Value = serde_json::from_str(&public.to_json()).expect("JWK JSON");
    if let Some(o) = jwk.as_object_mut() {
        o.remove("use");
    }
    json!({ "fitConnect": {
        "encryptionPublicKey": jwk,
        "processStandards": process_standards,
    }})
}

/// The process standard of an XÖV submission schema URI: `urn:xoev-de:…_<version>` without
/// the `#<message>` fragment (`urn:xoev-de:bmk:standard:xbau_2.6`). `None` for other URIs (a
/// JSON schema names no process standard).
#[must_use]
pub fn process_standard_of(schema_uri: &str) -> Option<String> {
    let (base, message) = schema_uri.split_once('#')?;
    (base.starts_with("urn:xoev-de:") && !message.is_empty()).then(|| base.to_owned())
}

/// How long and how often [`receive`] asks for replies.
#[derive(Debug, Clone)]
pub struct ReplyOptions {
    /// How long to wait for the first replies (zero: list once).
    pub wait: Duration,
    /// First pause between two listings; doubled after each empty one.
    pub first_pause: Duration,
    /// Longest pause between two listings.
    pub max_pause: Duration,
}

impl Default for ReplyOptions {
    fn default() -> Self {
        Self {
            wait: Duration::ZERO,
            first_pause: Duration::from_secs(1),
            max_pause: Duration::from_secs(16),
        }
    }
}

/// The decrypted parts of a reply.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplyContent {
    /// The metadata plaintext.
    pub metadata: Vec<u8>,
    /// The data plaintext (the answer itself).
    pub data: Vec<u8>,
    /// The data JWE's `cty`, when it has one.
    pub data_type: Option<String>,
    /// Each attachment's plaintext, by attachment id.
    pub attachments: BTreeMap<String, Vec<u8>>,
}

/// Why a reply could not be opened. Its id and status are still reported.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyFault {
    /// The delivery service returned the reply without metadata or data.
    #[error("the reply has no {0}")]
    Missing(&'static str),
    /// A part does not decrypt with the reply key (wrong key, broken JWE, disallowed
    /// algorithm).
    #[error("the reply's {} could not be decrypted with the reply key {kid}: {source}", part_name(.part))]
    Undecryptable {
        /// Which part: metadata, data or an attachment.
        part: Instance,
        /// The reply key's kid.
        kid: String,
        /// Why.
        source: crate::jose::JweError,
    },
    /// The reply's event log has no `submit-reply` event from the delivery service in the
    /// submission's case, or several.
    #[error(
        "the reply's event log has {0} submit-reply events from the delivery service in this case (one expected)"
    )]
    SubmitEvent(usize),
    /// The event log failed a check: a SET does not verify, no valid tags, or the tags of the
    /// downloaded JWEs differ from the `submit-reply` event's.
    #[error("event log: {0}")]
    EventLog(#[from] EventLogError),
    /// The decrypted metadata are not valid metadata, or do not describe the content: the
    /// data's or an attachment's SHA-512 differs, an attachment is missing or not announced.
    #[error("the reply's content does not match its metadata: {what}")]
    Content {
        /// The FIT-Connect failure.
        failure: Failure,
        /// Where.
        instance: Instance,
        /// What, in words (no values).
        what: String,
    },
}

impl ReplyFault {
    /// A short, stable name of the fault (the `fault` of the `reply` test vectors).
    #[must_use]
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Missing(_) => "missing-part",
            Self::Undecryptable { .. } => "undecryptable",
            Self::SubmitEvent(_) => "submit-reply-count",
            Self::EventLog(EventLogError::TagMismatch(_)) => "tag-mismatch",
            Self::EventLog(EventLogError::TagsMissing(_)) => "tags-missing",
            Self::EventLog(_) => "event-log",
            Self::Content { .. } => "content-mismatch",
        }
    }

    /// The problems a sender rejects the reply with, when the fault is the answerer's: the
    /// reply key is the one the sender named in its metadata, so a part that does not decrypt
    /// with it is `encryption-issue`, and JWEs other than those the delivery service recorded
    /// are `incorrect-authentication-tag` (each differing part). Empty for every other fault
    /// (an event log that does not verify, a missing part): the reply stays undecided.
    #[must_use]
    pub fn problems(&self) -> Vec<Problem> {
        match self {
            Self::Undecryptable { part, .. } => Problem::new(Failure::JweDecryptionFailed, part)
                .into_iter()
                .collect(),
            Self::EventLog(EventLogError::TagMismatch(parts)) => parts
                .iter()
                .filter_map(|p| Problem::new(Failure::AuthenticationTagMismatch, p).ok())
                .collect(),
            Self::Content {
                failure, instance, ..
            } => Problem::new(*failure, instance).into_iter().collect(),
            _ => Vec::new(),
        }
    }
}

/// One reply to the submission, as received.
#[derive(Debug)]
#[non_exhaustive]
pub struct ReceivedReply {
    /// replyId.
    pub reply_id: String,
    /// The status the delivery service gave (`submitted` for an undecided reply).
    pub status: String,
    /// The tags of the JWEs as downloaded (an accept names them).
    pub tags: AuthenticationTags,
    /// Whether the tags were compared with a `submit-reply` event (false where the service
    /// has no per-reply event log).
    pub tags_checked: bool,
    /// The decrypted parts, or why there are none.
    pub content: Result<ReplyContent, ReplyFault>,
}

/// Lists the undecided replies to `submission_id` and opens each with the reply key in `keys`;
/// waits up to `options.wait` for the first ones (bounded polling with doubling pauses), then
/// returns what the last listing had.
///
/// # Errors
/// [`SendError::Client`] when listing or downloading fails; faults of one reply are in its
/// [`ReceivedReply::content`].
pub async fn receive(
    client: &Client,
    submission_id: &str,
    keys: &KeyRing,
    options: &ReplyOptions,
) -> Result<Vec<ReceivedReply>, SendError> {
    let started = Instant::now();
    let mut pause = options.first_pause;
    loop {
        let pending = pending(client, submission_id).await?;
        let elapsed = started.elapsed();
        if !pending.is_empty() || elapsed >= options.wait {
            let mut received = Vec::with_capacity(pending.len());
            for ids in &pending {
                received.push(open(client, ids, keys).await?);
            }
            return Ok(received);
        }
        tokio::time::sleep(pause.min(options.wait - elapsed)).await;
        pause = (pause * 2).min(options.max_pause);
    }
}

/// The undecided replies to `submission_id` (all pages, bounded), each once.
async fn pending(client: &Client, submission_id: &str) -> Result<Vec<ReplyIds>, ClientError> {
    const PAGE: u32 = 500;
    const MAX_PAGES: u64 = 100;
    let mut seen = BTreeSet::new();
    let mut mine = Vec::new();
    let mut offset = 0;
    for _ in 0..MAX_PAGES {
        let page = client.list_replies(offset, PAGE).await?;
        let n = page.replies.len() as u64;
        for ids in page.replies {
            if ids.submission_id.eq_ignore_ascii_case(submission_id)
                && seen.insert(ids.reply_id.to_ascii_lowercase())
            {
                mine.push(ids);
            }
        }
        offset += n;
        if n < u64::from(PAGE) || page.paging.total_count.is_none_or(|t| offset >= t) {
            break;
        }
    }
    Ok(mine)
}

/// Fetches one reply, its attachments and its event log, then checks and opens it
/// ([`check_reply`]).
async fn open(client: &Client, ids: &ReplyIds, keys: &KeyRing) -> Result<ReceivedReply, SendError> {
    let doc = client.reply(&ids.reply_id).await?;
    let mut attachments = BTreeMap::new();
    for aid in &doc.attachments {
        let jwe = client.reply_attachment(&doc.ids.reply_id, aid).await?;
        attachments.insert(aid.clone(), jwe);
    }
    // Without metadata or data there is nothing to compare the log with.
    let complete = doc
        .encrypted_metadata
        .as_deref()
        .is_some_and(|m| !m.is_empty())
        && doc.encrypted_data.as_deref().is_some_and(|d| !d.is_empty());
    let log = if complete {
        match client.reply_events(&doc.ids.reply_id).await {
            Ok(log) => Some(log),
            // The service has no per-reply event log: the tags cannot be compared.
            Err(ClientError::Status { status: 404, .. }) => None,
            Err(e) => return Err(e.into()),
        }
    } else {
        None
    };
    let issuer = client.config().issuer().to_owned();
    let service = match &log {
        Some(_) => Some(event_log::service_keys(
            &client.service_jwks().await?,
            &issuer,
        )?),
        None => None,
    };
    let reply_log = log
        .as_ref()
        .zip(service.as_ref())
        .map(|(body, keys)| ReplyLog {
            body,
            issuer: &issuer,
            keys,
            now: unix_now(),
        });
    let content = check_reply(&doc, &attachments, reply_log.as_ref(), keys);
    // The tags were compared when the check got past the event log (decryption comes after).
    let tags_checked =
        reply_log.is_some() && matches!(&content, Ok(_) | Err(ReplyFault::Undecryptable { .. }));
    Ok(ReceivedReply {
        reply_id: doc.ids.reply_id.clone(),
        status: doc.status.clone(),
        tags: downloaded_tags(&doc, &attachments),
        tags_checked,
        content,
    })
}

/// The tags of a reply's JWEs as downloaded (what an accept names); a part without a
/// compact-JWE tag has an empty one.
#[must_use]
pub fn downloaded_tags(
    doc: &ReplyDocument,
    attachments: &BTreeMap<String, String>,
) -> AuthenticationTags {
    let tag = |jwe: &str| event_log::jwe_tag(jwe).unwrap_or_default().to_owned();
    AuthenticationTags {
        metadata: tag(doc.encrypted_metadata.as_deref().unwrap_or_default()),
        data: Some(tag(doc.encrypted_data.as_deref().unwrap_or_default())),
        attachments: attachments
            .iter()
            .map(|(id, jwe)| (id.clone(), tag(jwe)))
            .collect(),
    }
}

/// A reply's event log (`GET /replies/{id}/events`) and what verifies it.
#[derive(Debug, Clone, Copy)]
pub struct ReplyLog<'a> {
    /// The body, `{"eventLog": [SET…]}`.
    pub body: &'a Value,
    /// The delivery service's SET issuer (`iss`).
    pub issuer: &'a str,
    /// Its keys ([`event_log::service_keys`]).
    pub keys: &'a StaticKeys,
    /// "Now" for the SETs' `iat` (Unix seconds).
    pub now: i64,
}

/// The sender's checks of one reply, in order — the one implementation `poststelle send`
/// (through [`receive`]) and the `reply` test vectors run:
///
/// 1. metadata and data are present ([`ReplyFault::Missing`]);
/// 2. with an event log (`None`: the service has none for replies, the check is skipped):
///    every SET verifies, exactly one `submit-reply` from the delivery service about this
///    reply (`sub` `reply:<replyId>`) in the reply's case (`txn` `case:<caseId>`)
///    ([`ReplyFault::SubmitEvent`]), carrying valid tags equal to the downloaded JWEs'
///    ([`ReplyFault::EventLog`]);
/// 3. every part decrypts with the reply key ([`ReplyFault::Undecryptable`]).
///
/// # Errors
/// The first failed check.
pub fn check_reply(
    doc: &ReplyDocument,
    attachments: &BTreeMap<String, String>,
    log: Option<&ReplyLog<'_>>,
    keys: &KeyRing,
) -> Result<ReplyContent, ReplyFault> {
    let meta = doc.encrypted_metadata.as_deref().unwrap_or_default();
    let data = doc.encrypted_data.as_deref().unwrap_or_default();
    if meta.is_empty() {
        return Err(ReplyFault::Missing("metadata"));
    }
    if data.is_empty() {
        return Err(ReplyFault::Missing("data"));
    }
    if let Some(log) = log {
        let downloaded = DownloadedTags {
            metadata: event_log::jwe_tag(meta),
            data: event_log::jwe_tag(data),
            data_present: true,
            attachments: attachments
                .iter()
                .map(|(id, jwe)| (id.clone(), event_log::jwe_tag(jwe)))
                .collect(),
        };
        check_submit_event(&doc.ids, &downloaded, log)?;
    }
    let content = decrypt_all(keys, meta, data, attachments)?;
    check_content(&content)?;
    Ok(content)
}

/// Rule 4 of [`check_reply`]: the decrypted metadata are valid FIT-Connect metadata and
/// describe the content — the data's SHA-512, and exactly the attachments downloaded, each
/// with its SHA-512 (the rules a receiver applies to a submission, for inline data).
fn check_content(content: &ReplyContent) -> Result<(), ReplyFault> {
    use std::sync::OnceLock;
    static VALIDATOR: OnceLock<MetadataValidator> = OnceLock::new();
    let fault = |failure, instance, what: &str| ReplyFault::Content {
        failure,
        instance,
        what: what.to_owned(),
    };
    let validator = VALIDATOR.get_or_init(|| MetadataValidator::with_unconfirmed(true));
    let metadata = validator.validate(&content.metadata).map_err(|e| {
        fault(
            e.failure(),
            Instance::Metadata,
            "the metadata are not valid",
        )
    })?;
    let data = metadata.content_structure.data.as_ref().ok_or_else(|| {
        fault(
            Failure::DataSchemaMissing,
            Instance::Metadata,
            "the metadata declare no data",
        )
    })?;
    if !content::hash_matches(&data.hash, &sha512_hex(&content.data)) {
        return Err(fault(
            Failure::HashMismatch,
            Instance::Data,
            "the data's SHA-512 differs from the metadata's",
        ));
    }
    let declared = &metadata.content_structure.attachments;
    let set = content::attachment_set(
        declared.iter().map(|a| a.attachment_id.as_str()),
        content.attachments.keys().map(String::as_str),
        None,
    );
    if set.unexpected {
        return Err(fault(
            Failure::AttachmentsUnexpected,
            Instance::Submission,
            "an attachment the metadata do not announce, or one listed twice",
        ));
    }
    if set.missing {
        return Err(fault(
            Failure::AttachmentsMissing,
            Instance::Submission,
            "an attachment the metadata announce is missing",
        ));
    }
    for a in declared {
        let bytes = content
            .attachments
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&a.attachment_id))
            .map(|(_, b)| b)
            .ok_or_else(|| {
                fault(
                    Failure::AttachmentsMissing,
                    Instance::Submission,
                    "an attachment the metadata announce is missing",
                )
            })?;
        if !content::hash_matches(&a.hash, &sha512_hex(bytes)) {
            return Err(fault(
                Failure::HashMismatch,
                Instance::Attachment(a.attachment_id.clone()),
                "an attachment's SHA-512 differs from the metadata's",
            ));
        }
    }
    Ok(())
}

/// Rule 2 of [`check_reply`]: the `submit-reply` event and its tags.
fn check_submit_event(
    ids: &ReplyIds,
    downloaded: &DownloadedTags<'_>,
    log: &ReplyLog<'_>,
) -> Result<(), ReplyFault> {
    let limits = JoseLimits::default();
    let subject = event_log::Subject::new(&ids.submission_id, &ids.case_id)?;
    let sets = event_log::verify_log(log.body, &subject, log.issuer, log.keys, &limits, log.now)?;
    let sub = format!("reply:{}", ids.reply_id.to_ascii_lowercase());
    let txn = format!("case:{}", subject.case_id);
    let submits: Vec<_> = sets
        .iter()
        .filter(|s| {
            s.event == SUBMIT_REPLY
                && s.sub.eq_ignore_ascii_case(&sub)
                && s.txn.eq_ignore_ascii_case(&txn)
                && matches!(&s.issuer, Issuer::DeliveryService(iss) if iss == log.issuer)
        })
        .collect();
    let [submit] = submits.as_slice() else {
        return Err(ReplyFault::SubmitEvent(submits.len()));
    };
    let expected = submit
        .authentication_tags()
        .map_err(EventLogError::TagsMissing)?;
    event_log::compare_tags(&expected, downloaded)?;
    Ok(())
}

fn decrypt_all(
    keys: &KeyRing,
    meta: &str,
    data: &str,
    attachments: &BTreeMap<String, String>,
) -> Result<ReplyContent, ReplyFault> {
    let limits = JoseLimits::default();
    let kid = keys.kids().collect::<Vec<_>>().join(", ");
    let open = |part: Instance, token: &str| {
        CompactJwe::parse(token, &limits)
            .and_then(|jwe| jwe.decrypt(keys, &limits))
            .map_err(|source| ReplyFault::Undecryptable {
                part,
                kid: kid.clone(),
                source,
            })
    };
    let metadata = open(Instance::Metadata, meta)?.bytes().to_vec();
    let plain = open(Instance::Data, data)?;
    let data_type = plain.content_type().map(str::to_owned);
    let mut opened = BTreeMap::new();
    for (id, token) in attachments {
        let plain = open(Instance::Attachment(id.clone()), token)?;
        opened.insert(id.clone(), plain.bytes().to_vec());
    }
    Ok(ReplyContent {
        metadata,
        data: plain.bytes().to_vec(),
        data_type,
        attachments: opened,
    })
}

/// `metadata`, `data` or `attachment <id>`, for messages.
fn part_name(part: &Instance) -> String {
    match part {
        Instance::Metadata => "metadata".into(),
        Instance::Data => "data".into(),
        Instance::Attachment(id) => format!("attachment {id}"),
        _ => "content".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fitconnect::reply_out::{ReplyTarget, seal};
    use crate::fitconnect::set::{PayloadSchema, SetClaims, sign_reply_event};
    use crate::jose::test_keys;

    const ISS: &str = "https://delivery.example";
    const REPLY: &str = "b9715dcb-700e-44d9-802f-12b45bf9f8a3";
    const SID: &str = "02bf1d9f-282d-4abf-810a-c4104baf0afe";
    const CASE: &str = "452b5ee6-35df-441a-bd39-6141723cf914";
    const OTHER: &str = "11111111-2222-4333-8444-555555555555";

    #[test]
    fn content_must_match_the_metadata() {
        use crate::fitconnect::reply_out::reply_metadata;
        use crate::fitconnect::sender::OutgoingAttachment;
        let pdf = OutgoingAttachment {
            filename: None,
            mime_type: "application/pdf".into(),
            purpose: "attachment".into(),
            bytes: b"%PDF".to_vec(),
        };
        let aid = "7d3b1d6c-2f0e-4b8a-9c4e-5a6b7c8d9e0f".to_owned();
        let meta = reply_metadata("urn:x:y_1#z", b"<x/>", &[pdf], std::slice::from_ref(&aid));
        let content = |data: &[u8], attachments: &[(&str, &[u8])]| ReplyContent {
            metadata: serde_json::to_vec(&meta).expect("json"),
            data: data.to_vec(),
            data_type: Some("application/xml".into()),
            attachments: attachments
                .iter()
                .map(|(id, b)| ((*id).to_owned(), b.to_vec()))
                .collect(),
        };
        assert!(check_content(&content(b"<x/>", &[(&aid, b"%PDF")])).is_ok());
        let problem = |c: ReplyContent| {
            let fault = check_content(&c).expect_err("refused");
            let p = fault.problems();
            assert_eq!(p.len(), 1, "{fault}");
            (
                p[0].type_uri
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                p[0].instance.clone(),
            )
        };
        assert_eq!(
            problem(content(b"<y/>", &[(&aid, b"%PDF")])),
            ("hash-mismatch".into(), "data".into())
        );
        assert_eq!(
            problem(content(b"<x/>", &[(&aid, b"%PDF-changed")])),
            ("hash-mismatch".into(), format!("attachment:{aid}"))
        );
        assert_eq!(problem(content(b"<x/>", &[])).0, "missing-attachments");
        let extra = "0e3b1d6c-2f0e-4b8a-9c4e-5a6b7c8d9e0f";
        assert_eq!(
            problem(content(b"<x/>", &[(&aid, b"%PDF"), (extra, b"x")])).0,
            "incorrect-attachments"
        );
        let mut bad = content(b"<x/>", &[(&aid, b"%PDF")]);
        bad.metadata = br#"{"$schema":"https://schema.fitko.de/fit-connect/metadata/2.0.0/metadata.schema.json"}"#.to_vec();
        assert_eq!(problem(bad).1, "metadata");
    }
    const NOW: i64 = 1_767_225_600;

    fn sealed_reply() -> (ReplyDocument, AuthenticationTags) {
        let (_, public, kid) = test_keys::encryption();
        let target = ReplyTarget {
            kid: kid.to_owned(),
            key: public.clone(),
            jwk: String::new(),
        };
        let uri = "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.formellePruefung.0201";
        let sealed = seal(&target, uri, b"<x/>", &[], &[]).expect("sealed");
        let doc = ReplyDocument {
            ids: ReplyIds {
                reply_id: REPLY.into(),
                case_id: CASE.into(),
                submission_id: SID.into(),
                destination_id: None,
            },
            status: "submitted".into(),
            encrypted_metadata: Some(sealed.metadata),
            encrypted_data: Some(sealed.data),
            attachments: Vec::new(),
        };
        let tags = downloaded_tags(&doc, &BTreeMap::new());
        (doc, tags)
    }

    /// A log with one submit-reply SET of the delivery service about `reply` in `case`.
    fn log(case: &str, reply: &str, tags: &AuthenticationTags) -> Value {
        let claims = SetClaims {
            issuer: ISS,
            submission_id: SID,
            case_id: case,
            schema: PayloadSchema::V1_2_2,
        };
        let payload = json!({ "authenticationTags": tags });
        let set = sign_reply_event(
            test_keys::signing(),
            &claims,
            reply,
            SUBMIT_REPLY,
            payload,
            NOW,
        );
        json!({ "eventLog": [set] })
    }

    fn check(doc: &ReplyDocument, body: &Value) -> Result<ReplyContent, ReplyFault> {
        let signing = test_keys::signing();
        let keys = StaticKeys {
            delivery_service: vec![(
                ISS.into(),
                signing.kid().into(),
                signing.public_key().clone(),
            )],
            destinations: Vec::new(),
        };
        let log = ReplyLog {
            body,
            issuer: ISS,
            keys: &keys,
            now: NOW,
        };
        check_reply(doc, &BTreeMap::new(), Some(&log), test_keys::encryption().0)
    }

    #[test]
    fn a_reply_opens_only_with_the_submit_event_of_this_reply_in_its_case() {
        let (doc, tags) = sealed_reply();
        let content = check(&doc, &log(CASE, REPLY, &tags)).expect("opens");
        assert_eq!(content.data, b"<x/>");
        assert_eq!(content.data_type.as_deref(), Some("application/xml"));
        // The event names another case or another reply (test vectors reply-unknown-case,
        // reply-submit-event-of-other-reply): nothing is decrypted, and no decision is made.
        for body in [log(OTHER, REPLY, &tags), log(CASE, OTHER, &tags)] {
            let fault = check(&doc, &body).expect_err("refused");
            assert!(matches!(fault, ReplyFault::SubmitEvent(0)), "{fault}");
            assert_eq!(fault.slug(), "submit-reply-count");
            assert!(fault.problems().is_empty());
        }
        // The reply document claims another case than the one the event names.
        let mut moved = doc.clone();
        moved.ids.case_id = OTHER.into();
        assert!(matches!(
            check(&moved, &log(CASE, REPLY, &tags)),
            Err(ReplyFault::SubmitEvent(0))
        ));
        // Not a reply of any case we know of: the ids are not even UUIDs.
        let mut broken = doc.clone();
        broken.ids.case_id = "case-1".into();
        assert_eq!(
            check(&broken, &log(CASE, REPLY, &tags))
                .expect_err("refused")
                .slug(),
            "event-log"
        );
    }

    #[test]
    fn other_tags_reject_the_reply_with_the_differing_part() {
        let (doc, tags) = sealed_reply();
        let mut other = tags.clone();
        other.metadata = other.data.clone().expect("data tag");
        let fault = check(&doc, &log(CASE, REPLY, &other)).expect_err("mismatch");
        assert_eq!(fault.slug(), "tag-mismatch");
        let problems = fault.problems();
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0]
                .type_uri
                .ends_with("/incorrect-authentication-tag")
        );
        assert_eq!(problems[0].instance, "metadata");
        // Without metadata there is nothing to check: no decision either.
        let mut empty = doc.clone();
        empty.encrypted_metadata = None;
        let fault = check(&empty, &log(CASE, REPLY, &tags)).expect_err("missing");
        assert_eq!(fault.slug(), "missing-part");
        assert!(fault.problems().is_empty());
    }

    #[test]
    fn process_standard_is_the_xoev_uri_without_the_message() {
        assert_eq!(
            process_standard_of("urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200")
                .as_deref(),
            Some("urn:xoev-de:bmk:standard:xbau_2.6")
        );
        assert_eq!(
            process_standard_of("https://schema.fitko.de/fim/s00000092_1.0.schema.json"),
            None
        );
        assert_eq!(process_standard_of("urn:xoev-de:x_1#"), None);
    }
}
