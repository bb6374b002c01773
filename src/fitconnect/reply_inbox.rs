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
use super::problems::Instance;
use super::sender::SendError;
use super::set::{AuthenticationTags, Issuer, SUBMIT_REPLY};
use super::types::ReplyIds;
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

/// Lists the undecided replies to `submission_id` and opens each with the reply key in `keys`; waits up to
/// `options.wait` for the first ones (bounded polling with doubling pauses), then returns
/// what the last listing had.
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

/// Fetches one reply and its attachments, checks the tags against the `submit-reply` event
/// (where the service has a per-reply log) and decrypts.
async fn open(client: &Client, ids: &ReplyIds, keys: &KeyRing) -> Result<ReceivedReply, SendError> {
    let doc = client.reply(&ids.reply_id).await?;
    let mut attachments = BTreeMap::new();
    for aid in &doc.attachments {
        let jwe = client.reply_attachment(&doc.ids.reply_id, aid).await?;
        attachments.insert(aid.clone(), jwe);
    }
    let meta = doc.encrypted_metadata.as_deref().unwrap_or_default();
    let data = doc.encrypted_data.as_deref().unwrap_or_default();
    let tag = |jwe: &str| event_log::jwe_tag(jwe).unwrap_or_default().to_owned();
    let tags = AuthenticationTags {
        metadata: tag(meta),
        data: Some(tag(data)),
        attachments: attachments
            .iter()
            .map(|(id, jwe)| (id.clone(), tag(jwe)))
            .collect(),
    };
    let mut reply = ReceivedReply {
        reply_id: doc.ids.reply_id.clone(),
        status: doc.status.clone(),
        tags,
        tags_checked: false,
        content: Err(ReplyFault::Missing("metadata")),
    };
    if meta.is_empty() {
        return Ok(reply);
    }
    if data.is_empty() {
        reply.content = Err(ReplyFault::Missing("data"));
        return Ok(reply);
    }
    let downloaded = DownloadedTags {
        metadata: event_log::jwe_tag(meta),
        data: event_log::jwe_tag(data),
        data_present: true,
        attachments: attachments
            .iter()
            .map(|(id, jwe)| (id.clone(), event_log::jwe_tag(jwe)))
            .collect(),
    };
    match check_tags(client, &doc.ids, &downloaded).await? {
        Ok(checked) => reply.tags_checked = checked,
        Err(fault) => {
            reply.content = Err(fault);
            return Ok(reply);
        }
    }
    reply.content = decrypt_all(keys, meta, data, &attachments);
    Ok(reply)
}

/// Compares the downloaded tags with the reply's `submit-reply` event: `Ok(Ok(true))` when
/// they match, `Ok(Ok(false))` when the service has no per-reply event log (404).
async fn check_tags(
    client: &Client,
    ids: &ReplyIds,
    downloaded: &DownloadedTags<'_>,
) -> Result<Result<bool, ReplyFault>, SendError> {
    let log = match client.reply_events(&ids.reply_id).await {
        Ok(log) => log,
        Err(ClientError::Status { status: 404, .. }) => return Ok(Ok(false)),
        Err(e) => return Err(e.into()),
    };
    let issuer = client.config().issuer().to_owned();
    let keys = event_log::service_keys(&client.service_jwks().await?, &issuer)?;
    let limits = JoseLimits::default();
    let subject = event_log::Subject::new(&ids.submission_id, &ids.case_id)?;
    let sets = match event_log::verify_log(&log, &subject, &issuer, &keys, &limits, unix_now()) {
        Ok(sets) => sets,
        Err(e) => return Ok(Err(e.into())),
    };
    let sub = format!("reply:{}", ids.reply_id.to_ascii_lowercase());
    let txn = format!("case:{}", subject.case_id);
    let submits: Vec<_> = sets
        .iter()
        .filter(|s| {
            s.event == SUBMIT_REPLY
                && s.sub.eq_ignore_ascii_case(&sub)
                && s.txn.eq_ignore_ascii_case(&txn)
                && matches!(&s.issuer, Issuer::DeliveryService(iss) if *iss == issuer)
        })
        .collect();
    let [submit] = submits.as_slice() else {
        return Ok(Err(ReplyFault::SubmitEvent(submits.len())));
    };
    let expected = match submit.authentication_tags() {
        Ok(tags) => tags,
        Err(e) => return Ok(Err(EventLogError::TagsMissing(e).into())),
    };
    Ok(event_log::compare_tags(&expected, downloaded)
        .map(|()| true)
        .map_err(ReplyFault::from))
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
