//! The receiver's side of replies (Rückkanal), without I/O: whether a submission may be
//! answered over FIT-Connect and with which key, and the JWEs of a reply.
//!
//! Layer L1. The gateway's reply flow (`crate::reply`) decides with [`reply_target`] before it
//! stores an answer and seals it with [`seal`] when it sends. Facts and open points:
//! `docs/protocol-facts.md`, section "Replies".
//!
//! Rules, in the order they are checked:
//! 1. The sender must have chosen a reply channel, and it must be `fitConnect`: the
//!    refusal names the channel it chose (its name only, never its address).
//! 2. The destination must offer `fitConnect` (its configured `reply_channels`; empty = any;
//!
//! 3. The reply's process standard (`urn:xoev-de:…_<version>` of its message) must be one the
//!    sender listed in `processStandards`.
//! 4. The reply key must pass the FIT-Connect key rules ([`keys::validate_reply_key`]).

use serde_json::{Value, json};

use super::hash::{HASH_TYPE, sha512_hex};
use super::keys::{self, PublicKeyError};
use super::metadata::{self, ReplyChannel};
use super::sender::{OutgoingAttachment, attachment_entries};
use crate::jose::jwk::{Jwk, RsaPublicKey};
use crate::jose::{JweError, jwe};

/// The channel name of FIT-Connect replies (`replyChannel.fitConnect`, `reply_channels`).
pub const FIT_CONNECT: &str = "fitConnect";

/// Why a submission cannot be answered over FIT-Connect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyRefusal {
    /// The sender chose no reply channel at all.
    #[error("the sender of the submission chose no reply channel")]
    NoChannel,
    /// The sender chose another channel (its name).
    #[error(
        "the sender of the submission chose the {channel} reply channel, not fitConnect: answer on that channel"
    )]
    NotFitConnect {
        /// The channel's member name (`eMail`, `deMail`, …).
        channel: String,
    },
    /// The destination does not offer the FIT-Connect reply channel.
    #[error(
        "the destination offers the reply channels [{}], not fitConnect ([[destination]] reply_channels)",
        offered.join(", ")
    )]
    NotOffered {
        /// What it offers.
        offered: Vec<String>,
    },
    /// The reply's process standard is not one the sender chose.
    #[error(
        "the reply is a message of the process standard {reply}; the sender chose [{}]",
        chosen.join(", ")
    )]
    ProcessStandard {
        /// The reply's process standard.
        reply: String,
        /// `processStandards` of the submission's metadata.
        chosen: Vec<String>,
    },
    /// The reply key fails the FIT-Connect key rules.
    #[error("the sender's reply key is not usable: {0}")]
    BadKey(String),
}

impl ReplyRefusal {
    /// A short, stable name of the refusal (the last part of its problem type).
    #[must_use]
    pub fn slug(&self) -> &'static str {
        match self {
            Self::NoChannel | Self::NotFitConnect { .. } => "reply-channel-not-fit-connect",
            Self::NotOffered { .. } => "reply-channel-not-offered",
            Self::ProcessStandard { .. } => "reply-process-standard-not-chosen",
            Self::BadKey(_) => "reply-key-invalid",
        }
    }
}

/// Where a reply goes: the sender's reply key, checked.
#[derive(Debug, Clone)]
pub struct ReplyTarget {
    /// The key's kid (the JWE header's `kid`).
    pub kid: String,
    /// The key.
    pub key: RsaPublicKey,
    /// The JWK as the sender gave it (JSON), to be kept with the stored reply.
    pub jwk: String,
}

/// Decides whether a submission whose metadata chose `channel` may be answered over
/// FIT-Connect with a message of `process_standard`, at a destination offering `offered`
/// reply channels (empty: any). Returns the checked reply key.
///
/// # Errors
/// The first rule violated ([`ReplyRefusal`]).
pub fn reply_target(
    channel: Option<&ReplyChannel>,
    offered: &[String],
    process_standard: &str,
) -> Result<ReplyTarget, ReplyRefusal> {
    let fit = match channel {
        None => return Err(ReplyRefusal::NoChannel),
        Some(ReplyChannel::FitConnect(fit)) => fit,
        Some(other) => {
            return Err(ReplyRefusal::NotFitConnect {
                channel: other.name().to_owned(),
            });
        }
    };
    if !offered.is_empty() && !offered.iter().any(|c| c == FIT_CONNECT) {
        return Err(ReplyRefusal::NotOffered {
            offered: offered.to_vec(),
        });
    }
    if !fit.process_standards.iter().any(|p| p == process_standard) {
        return Err(ReplyRefusal::ProcessStandard {
            reply: process_standard.to_owned(),
            chosen: fit.process_standards.clone(),
        });
    }
    let jwk = serde_json::to_string(&fit.encryption_public_key.jwk).expect("a JSON map");
    target_from_jwk(&jwk)
}

/// The target of a stored reply (the JWK kept by [`reply_target`]), checked again.
///
/// # Errors
/// [`ReplyRefusal::BadKey`].
pub fn target_from_jwk(jwk: &str) -> Result<ReplyTarget, ReplyRefusal> {
    let bad = |e: &dyn std::fmt::Display| ReplyRefusal::BadKey(e.to_string());
    let parsed = Jwk::from_json(jwk).map_err(|e| bad(&e))?;
    let (kid, key) = keys::validate_reply_key(&parsed).map_err(|e: PublicKeyError| bad(&e))?;
    Ok(ReplyTarget {
        kid,
        key,
        jwk: jwk.to_owned(),
    })
}

/// The JWEs of a reply, encrypted for the sender's reply key.
#[derive(Debug, Clone)]
pub struct SealedReply {
    /// The metadata JWE.
    pub metadata: String,
    /// The data JWE (the XÖV message).
    pub data: String,
    /// `(attachment id, JWE)` in the order given.
    pub attachments: Vec<(String, String)>,
}

/// The metadata of a reply: metadata 2.0.0 (the first version with replies over FIT-Connect)
/// with `contentStructure` only — the data's schema URI and hash, and the attachments.
#[must_use]
pub fn reply_metadata(
    schema_uri: &str,
    data: &[u8],
    attachments: &[OutgoingAttachment],
    attachment_ids: &[String],
) -> Value {
    json!({
        "$schema": metadata::VERSIONS[1].uri,
        "contentStructure": {
            "data": {
                "submissionSchema": { "schemaUri": schema_uri, "mimeType": "application/xml" },
                "hash": { "type": HASH_TYPE, "content": sha512_hex(data) },
            },
            "attachments": attachment_entries(attachments, attachment_ids),
        },
    })
}

/// Encrypts a reply's metadata, XML data and attachments for `target` (RSA-OAEP-256 +
/// A256GCM, `cty` on every JWE).
///
/// # Errors
/// [`JweError`] when the key is unusable.
pub fn seal(
    target: &ReplyTarget,
    schema_uri: &str,
    xml: &[u8],
    attachments: &[OutgoingAttachment],
    attachment_ids: &[String],
) -> Result<SealedReply, JweError> {
    let enc = |bytes: &[u8], cty: &str| jwe::encrypt(bytes, &target.key, &target.kid, Some(cty));
    let meta = reply_metadata(schema_uri, xml, attachments, attachment_ids);
    let meta = serde_json::to_vec(&meta).expect("JSON value serializes");
    let sealed_attachments = attachments
        .iter()
        .zip(attachment_ids)
        .map(|(a, id)| Ok((id.clone(), enc(&a.bytes, &a.mime_type)?)))
        .collect::<Result<Vec<_>, JweError>>()?;
    Ok(SealedReply {
        metadata: enc(&meta, "application/json")?,
        data: enc(xml, "application/xml")?,
        attachments: sealed_attachments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitconnect::metadata::MetadataValidator;
    use crate::fitconnect::reply_inbox;
    use crate::jose::{CompactJwe, DecryptionKey, KeyRing};

    const XBAU: &str = "urn:xoev-de:bmk:standard:xbau_2.6";

    fn channel(key: &DecryptionKey, standards: &[&str]) -> ReplyChannel {
        let standards: Vec<String> = standards.iter().map(|s| (*s).to_owned()).collect();
        let mut doc = reply_metadata(
            &format!("{XBAU}#baugenehmigung.antrag.0200"),
            b"<x/>",
            &[],
            &[],
        );
        doc["replyChannel"] = reply_inbox::reply_channel(key, &standards);
        MetadataValidator::new()
            .validate(&serde_json::to_vec(&doc).expect("json"))
            .expect("valid metadata")
            .reply_channel
            .expect("a channel")
    }

    fn key() -> DecryptionKey {
        let generated =
            crate::jose::jwk::generate(crate::jose::jwk::KeyUse::Encryption, None).expect("keygen");
        DecryptionKey::from_jwk(&generated.private_jwk).expect("own key")
    }

    #[test]
    fn each_rule_refuses_with_its_own_reason() {
        let key = key();
        let fit = channel(&key, &[XBAU]);
        assert_eq!(
            reply_target(None, &[], XBAU).expect_err("refused"),
            ReplyRefusal::NoChannel
        );
        let email = ReplyChannel::Undeclared {
            name: "eMail".into(),
        };
        let refused = reply_target(Some(&email), &[], XBAU).expect_err("refused");
        assert_eq!(refused.slug(), "reply-channel-not-fit-connect");
        assert!(refused.to_string().contains("eMail"), "{refused}");
        let refused = reply_target(Some(&fit), &["eMail".into()], XBAU).expect_err("refused");
        assert_eq!(refused.slug(), "reply-channel-not-offered");
        let other = "urn:xoev-de:kosit:standard:xgewerbeanzeige_2.2";
        let refused = reply_target(Some(&fit), &[], other).expect_err("refused");
        assert_eq!(refused.slug(), "reply-process-standard-not-chosen");
        assert!(refused.to_string().contains(XBAU), "{refused}");
        let ok = reply_target(Some(&fit), &["fitConnect".into()], XBAU).expect("target");
        assert_eq!(ok.kid, key.kid());
        // The stored JWK gives the same target again.
        assert_eq!(target_from_jwk(&ok.jwk).expect("again").kid, ok.kid);
    }

    #[test]
    fn a_weak_or_private_reply_key_is_refused() {
        let key = key();
        let public = key
            .public_key()
            .to_jwk(key.kid(), crate::jose::jwk::KeyUse::Encryption, None)
            .to_json();
        let mut value: Value = serde_json::from_str(&public).expect("json");
        value["alg"] = "RSA1_5".into();
        let refused = target_from_jwk(&value.to_string()).expect_err("refused");
        assert_eq!(refused.slug(), "reply-key-invalid");
        let mut value: Value = serde_json::from_str(&public).expect("json");
        value["d"] = "AQAB".into();
        assert!(target_from_jwk(&value.to_string()).is_err());
    }

    #[test]
    fn a_sealed_reply_opens_with_the_reply_key_and_its_metadata_are_valid() {
        let key = key();
        let target = reply_target(Some(&channel(&key, &[XBAU])), &[], XBAU).expect("target");
        let xml = b"<x/>";
        let attachment = OutgoingAttachment {
            filename: Some("bescheid.pdf".into()),
            mime_type: "application/pdf".into(),
            purpose: "attachment".into(),
            bytes: b"%PDF-1.7".to_vec(),
        };
        let ids = vec!["7d3b1d6c-2f0e-4b8a-9c4e-5a6b7c8d9e0f".to_owned()];
        let uri = format!("{XBAU}#baugenehmigung.formellePruefung.0201");
        let sealed = seal(&target, &uri, xml, &[attachment], &ids).expect("sealed");
        let limits = crate::config::JoseLimits::default();
        let ring = KeyRing::from(key);
        let open = |t: &str| {
            CompactJwe::parse(t, &limits)
                .and_then(|j| j.decrypt(&ring, &limits))
                .expect("opens")
        };
        let meta = open(&sealed.metadata);
        assert_eq!(meta.content_type(), Some("application/json"));
        let typed = MetadataValidator::new()
            .validate(meta.bytes())
            .expect("reply metadata are valid 2.0.0 metadata");
        assert_eq!(typed.version, "2.0.0");
        let data = typed.content_structure.data.expect("data");
        assert_eq!(data.submission_schema.schema_uri, uri);
        assert_eq!(open(&sealed.data).bytes(), xml);
        assert_eq!(open(&sealed.attachments[0].1).bytes(), b"%PDF-1.7");
    }
}
