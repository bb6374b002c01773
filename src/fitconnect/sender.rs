//! The sender (portal) side as a library: build the metadata (hashes, submission schema,
//! attachment entries), check the destination's key, encrypt, create, upload, submit, then
//! follow the case event log until the destination accepts or rejects.
//!
//! Layer L2 (uses [`crate::fitconnect::client`]). `poststelle send` is a thin CLI over
//! [`send`]. The decision is read from the event log and every SET there is verified: the
//! delivery service's with its JWKS, the destination's with its signing key fetched by
//! `iss`/`kid` and checked with the FIT-Connect key rules; an `accept-submission` must carry
//! the authentication tags of exactly the JWEs this sender uploaded.
//!
//! Destination keys (encryption and signing) are trusted by the client's configuration:
//! [`ClientConfig::trust`](super::client::ClientConfig::trust) and
//! [`ClientConfig::revocation`](super::client::ClientConfig::revocation).

use std::io::BufReader;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::captured::ApiProfile;
use super::client::{Client, ClientError, NewSubmission, SubmissionIds, TrustedKey, unix_now};
use super::event_log::{self, EventLogError, SubmissionDecision};
use super::hash::{HASH_TYPE, sha512_hex};
use super::metadata::{self, Generation, MetadataValidator};
use super::problems::Problem;
use super::set::AuthenticationTags;
use crate::config::{JoseLimits, XmlLimits};
use crate::jose::jwe;
use crate::jose::jwk::KeyUse;
use crate::xoev::catalog::Catalog;
use crate::xoev::{registry, root};

/// The Fachdaten's schema reference (`contentStructure.data.submissionSchema`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSchema {
    /// `schemaUri`.
    pub schema_uri: String,
    /// `application/xml` or `application/json`.
    pub mime_type: String,
}

/// One attachment to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingAttachment {
    /// File name (metadata `filename`), without directories.
    pub filename: Option<String>,
    /// MIME type (metadata `mimeType`, JWE `cty`).
    pub mime_type: String,
    /// `form`, `attachment` or `report`.
    pub purpose: String,
    /// The plaintext bytes.
    pub bytes: Vec<u8>,
}

/// A submission to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// destinationId.
    pub destination_id: String,
    /// Service identifier URN.
    pub service_identifier: String,
    /// Service name.
    pub service_name: String,
    /// The Fachdaten bytes, hashed and encrypted exactly as given.
    pub data: Vec<u8>,
    /// Their schema reference.
    pub data_schema: DataSchema,
    /// Attachments.
    pub attachments: Vec<OutgoingAttachment>,
    /// The metadata's `replyChannel` (e.g. [`super::reply_inbox::reply_channel`]); `None`:
    /// no reply channel.
    pub reply_channel: Option<Value>,
}

/// How [`send`] behaves (whom to trust is the client's configuration).
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// How long to follow the event log for a decision (zero: do not wait).
    pub wait: Duration,
    /// Pause between two reads of the event log.
    pub poll_interval: Duration,
}

impl Default for SendOptions {
    fn default() -> Self {
        Self {
            wait: Duration::from_secs(300),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// Progress of [`send`], for a status line.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// The destination's key passed the checks.
    KeyChecked {
        /// Its kid.
        kid: String,
    },
    /// `revocation = "prefer"`: a certificate of a destination key has no revocation status;
    /// the key is used anyway. Reported once per key and certificate.
    RevocationUnavailable {
        /// The key's kid.
        kid: String,
        /// Position of the certificate in `x5c`.
        index: usize,
        /// What was tried and why it failed.
        detail: String,
    },
    /// The submission exists.
    Created {
        /// submissionId.
        submission_id: String,
        /// caseId.
        case_id: String,
    },
    /// One attachment is uploaded (1-based).
    Uploaded {
        /// Number of this attachment.
        index: usize,
        /// Number of attachments.
        total: usize,
    },
    /// Metadata and data are submitted.
    Submitted,
    /// Still waiting for accept or reject.
    Waiting {
        /// Seconds since submission.
        elapsed_secs: u64,
    },
}

/// What the destination decided.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// `accept-submission` with the tags of what was sent.
    Accepted,
    /// `reject-submission` with its problems.
    Rejected {
        /// The problems (type, title, detail, instance).
        problems: Vec<Problem>,
    },
}

/// The result of [`send`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendReport {
    /// submissionId.
    pub submission_id: String,
    /// caseId.
    pub case_id: String,
    /// The tags of the uploaded JWEs.
    pub tags: AuthenticationTags,
    /// The decision, or `None` when none came within the wait.
    pub decision: Option<Decision>,
}

/// Why sending failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// A call to the delivery service failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Encrypting failed.
    #[error("encryption: {0}")]
    Encrypt(#[from] crate::jose::JweError),
    /// The metadata we built do not pass the metadata schema (a bug or a bad input value).
    #[error("the built metadata violate the metadata schema: {0}")]
    Metadata(String),
    /// The destination does not offer the service, or the service does not accept the
    /// submission schema (from `GET /destinations/{id}`).
    #[error("{0}")]
    NotOffered(String),
    /// The event log failed a check (a SET does not verify, an accept carries tags of other
    /// JWEs, a reject carries no valid problems).
    #[error("event log: {0}")]
    EventLog(#[from] EventLogError),
}

/// Why the schema of the Fachdaten could not be determined.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DetectError {
    /// Neither XML nor JSON.
    #[error("the data are neither an XML document nor a JSON object")]
    UnknownFormat,
    /// XML that the hardened reader refuses before the root element.
    #[error("the XML data are not readable up to the root element: {0}")]
    Xml(String),
    /// An XML message the catalogue does not know.
    #[error("unknown XÖV message: {0}; pass the schema URI explicitly")]
    UnknownMessage(String),
    /// A JSON object without `$schema`.
    #[error("the JSON data have no $schema member; pass the schema URI explicitly")]
    NoJsonSchema,
    /// JSON that the receiver's strict reader refuses (duplicate member names, limits): the
    /// gateway would reject it with `syntax-violation`.
    #[error("the JSON data would be refused by a strict receiver: {0}")]
    Json(crate::json::JsonError),
}

/// The media type of Fachdaten by their first byte: `application/json` for a JSON object or
/// array, else `application/xml`.
#[must_use]
pub fn media_type_of(data: &[u8]) -> &'static str {
    let start = data.trim_ascii_start();
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    match start.first() {
        Some(b'{' | b'[') => "application/json",
        _ => "application/xml",
    }
}

/// Determines `submissionSchema` from the Fachdaten: an XML root element through the XÖV
/// catalogue (`<kennung>_<version>#<message>`, e.g.
/// `urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200`), a JSON object by its
/// `$schema` member.
///
/// # Errors
/// [`DetectError`] when neither works.
pub fn detect_schema(data: &[u8], catalog: &Catalog) -> Result<DataSchema, DetectError> {
    let start = data
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|i| &data[i..])
        .unwrap_or_default();
    let start = start.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(start);
    if start.first() == Some(&b'<') {
        let name = root::document_root(BufReader::new(data), &XmlLimits::default())
            .map_err(|e| DetectError::Xml(e.to_string()))?;
        let found = registry::identify(catalog, &name.namespace, &name.local)
            .map_err(|e| DetectError::UnknownMessage(e.to_string()))?;
        let schema_uri = found.schema_uri().ok_or_else(|| {
            DetectError::UnknownMessage(format!(
                "{} {} has no kennung",
                found.standard, found.version
            ))
        })?;
        return Ok(DataSchema {
            schema_uri,
            mime_type: "application/xml".into(),
        });
    }
    if start.first() == Some(&b'{') {
        // Read as the gateway reads JSON Fachdaten, so a sender learns of a duplicate member
        // before the receiver rejects it.
        let doc: Value = match crate::json::parse(start, &crate::json::JsonLimits::FACHDATEN) {
            Ok(doc) => doc,
            Err(crate::json::JsonError::Syntax { .. }) => return Err(DetectError::UnknownFormat),
            Err(e) => return Err(DetectError::Json(e)),
        };
        let uri = doc
            .get("$schema")
            .and_then(Value::as_str)
            .ok_or(DetectError::NoJsonSchema)?;
        return Ok(DataSchema {
            schema_uri: uri.to_owned(),
            mime_type: "application/json".into(),
        });
    }
    Err(DetectError::UnknownFormat)
}

/// The metadata for `out` with the given attachment ids (same order), in the version the
/// senders of the path profile write: 1.0.0 with `publicServiceType` for v1; 2.1.0 for v2,
/// where the service travels in the Submission API and is repeated as `publicService` (not a
/// member of the 2.x schemas, which allow it; current v2 clients send it, and receivers that
/// route on the metadata read it).
///
/// With a reply channel the v1 profile writes 2.0.0 instead (with `publicService`): the
/// `fitConnect` channel exists only from metadata 2.0.0 on, and 1.0.0 would carry it as an
/// undeclared member no receiver reads.
#[must_use]
pub fn build_metadata(out: &Outgoing, attachment_ids: &[String], profile: ApiProfile) -> Value {
    let attachments = attachment_entries(&out.attachments, attachment_ids);
    let (schema, service_member) = match (profile, &out.reply_channel) {
        (ApiProfile::V1, None) => (metadata::newest(Generation::V1).uri, "publicServiceType"),
        // Metadata 2.0.0: the first version with `replyChannel.fitConnect`.
        (ApiProfile::V1, Some(_)) => (metadata::VERSIONS[1].uri, "publicService"),
        (ApiProfile::V2, _) => (metadata::newest(Generation::V2).uri, "publicService"),
    };
    let mut doc = json!({
        "$schema": schema,
        service_member: {
            "identifier": out.service_identifier,
            "name": out.service_name,
        },
        "contentStructure": {
            "data": {
                "submissionSchema": {
                    "schemaUri": out.data_schema.schema_uri,
                    "mimeType": out.data_schema.mime_type,
                },
                "hash": { "type": HASH_TYPE, "content": sha512_hex(&out.data) },
            },
            "attachments": attachments,
        },
    });
    if let Some(channel) = &out.reply_channel {
        doc["replyChannel"] = channel.clone();
    }
    doc
}

/// `contentStructure.attachments` for `attachments` with the given ids (same order): id, the
/// SHA-512 of the plaintext, media type, purpose and file name. Shared by submissions and
/// replies.
#[must_use]
pub fn attachment_entries(attachments: &[OutgoingAttachment], ids: &[String]) -> Vec<Value> {
    attachments
        .iter()
        .zip(ids)
        .map(|(a, id)| {
            let mut entry = json!({
                "attachmentId": id,
                "hash": { "type": HASH_TYPE, "content": sha512_hex(&a.bytes) },
                "mimeType": a.mime_type,
                "purpose": a.purpose,
            });
            if let Some(name) = &a.filename {
                entry["filename"] = Value::String(name.clone());
            }
            entry
        })
        .collect()
}

fn tag_of(jwe: &str) -> String {
    jwe.rsplit('.').next().unwrap_or_default().to_owned()
}

/// Sends `out` and follows the event log for up to `options.wait`.
///
/// # Errors
/// [`SendError`] for the first failed step; a submission already created stays on the
/// delivery service (incomplete ones are deleted there after a day).
pub async fn send(
    client: &Client,
    out: &Outgoing,
    options: &SendOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SendReport, SendError> {
    let mut warned = std::collections::HashSet::new();
    let (destination, trusted) = client
        .encryption_key(&out.destination_id, unix_now())
        .await?;
    // What the destination says it accepts: refuse here rather than be rejected later.
    let offered = destination.offered();
    if !offered.is_empty() {
        let service = offered
            .iter()
            .find(|s| s.identifier == out.service_identifier)
            .ok_or_else(|| {
                SendError::NotOffered(format!(
                    "the destination does not offer service {}",
                    out.service_identifier
                ))
            })?;
        let schema = &out.data_schema;
        if !service.submission_schemas.is_empty()
            && !service
                .submission_schemas
                .iter()
                .any(|s| s.accepts(&schema.schema_uri, &schema.mime_type))
        {
            return Err(SendError::NotOffered(format!(
                "the service does not accept submission schema {} ({})",
                schema.schema_uri, schema.mime_type
            )));
        }
    }
    warn_unavailable(&trusted, &mut warned, progress);
    let key = trusted.key;
    progress(Progress::KeyChecked {
        kid: key.kid.clone(),
    });
    let ids: Vec<String> = out
        .attachments
        .iter()
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let metadata = build_metadata(out, &ids, client.config().profile);
    // Checked against every schema the project has, the 2.1.0 reconstruction included (it
    // holds the 2.0.0 rules), so a v2 document is valid for 2.0.0 receivers as well.
    MetadataValidator::with_unconfirmed(true)
        .validate_value(&metadata)
        .map_err(|e| SendError::Metadata(e.to_string()))?;
    let metadata = serde_json::to_vec(&metadata).expect("JSON value serializes");
    let created: SubmissionIds = client
        .create_submission(&NewSubmission {
            destination_id: out.destination_id.clone(),
            service_identifier: out.service_identifier.clone(),
            service_name: out.service_name.clone(),
            announced_attachments: ids.clone(),
        })
        .await?;
    progress(Progress::Created {
        submission_id: created.submission_id.clone(),
        case_id: created.case_id.clone(),
    });
    let mut tags = AuthenticationTags::default();
    for (i, (a, id)) in out.attachments.iter().zip(&ids).enumerate() {
        let token = jwe::encrypt(&a.bytes, &key.key, &key.kid, Some(&a.mime_type))?;
        client
            .upload_attachment(&created.submission_id, id, &token)
            .await?;
        tags.attachments.insert(id.clone(), tag_of(&token));
        progress(Progress::Uploaded {
            index: i + 1,
            total: ids.len(),
        });
    }
    let encrypted_metadata = jwe::encrypt(&metadata, &key.key, &key.kid, Some("application/json"))?;
    let encrypted_data = jwe::encrypt(
        &out.data,
        &key.key,
        &key.kid,
        Some(&out.data_schema.mime_type),
    )?;
    tags.metadata = tag_of(&encrypted_metadata);
    tags.data = Some(tag_of(&encrypted_data));
    client
        .submit(
            &created.submission_id,
            &encrypted_metadata,
            Some(&encrypted_data),
        )
        .await?;
    progress(Progress::Submitted);
    let started = Instant::now();
    let mut decision = None;
    loop {
        let mut report = |p: Progress| {
            // The log is read every poll: say each missing status once.
            if let Progress::RevocationUnavailable { kid, index, .. } = &p
                && !warned.insert((kid.clone(), *index))
            {
                return;
            }
            progress(p);
        };
        decision = read_decision(client, &created, &out.destination_id, &tags, &mut report)
            .await?
            .or(decision);
        if decision.is_some() || started.elapsed() >= options.wait {
            break;
        }
        tokio::time::sleep(options.poll_interval.min(options.wait - started.elapsed())).await;
        progress(Progress::Waiting {
            elapsed_secs: started.elapsed().as_secs(),
        });
    }
    Ok(SendReport {
        submission_id: created.submission_id,
        case_id: created.case_id,
        tags,
        decision,
    })
}

/// Reports the links of `key` without revocation status (once per kid and link in `warned`).
fn warn_unavailable(
    key: &TrustedKey,
    warned: &mut std::collections::HashSet<(String, usize)>,
    progress: &mut (dyn FnMut(Progress) + Send),
) {
    for (index, detail) in key.revocation.unavailable() {
        if warned.insert((key.key.kid.clone(), index)) {
            progress(Progress::RevocationUnavailable {
                kid: key.key.kid.clone(),
                index,
                detail: detail.to_owned(),
            });
        }
    }
}

/// Reads the case event log once and returns the destination's decision on this submission,
/// if there is one ([`event_log::decision`]); every SET is verified first
/// ([`event_log::verify_log`]). The destination's signing keys are fetched by the kids its
/// SETs name and trusted as the client's configuration says; missing revocation statuses
/// (`prefer`) go to `progress`.
///
/// # Errors
/// Download errors, a SET that fails verification, an accept with foreign tags.
pub async fn read_decision(
    client: &Client,
    created: &SubmissionIds,
    destination_id: &str,
    sent: &AuthenticationTags,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<Option<Decision>, SendError> {
    let limits = JoseLimits::default();
    let events = client.events(&created.case_id).await?;
    let issuer = client.config().issuer().to_owned();
    let mut keys = event_log::service_keys(&client.service_jwks().await?, &issuer)?;
    let now = unix_now();
    // Destination keys are fetched on demand, by the kids the destination's SETs name.
    for kid in event_log::destination_kids(&events, destination_id, &limits) {
        let trusted = client
            .trusted_destination_key(destination_id, &kid, KeyUse::Signature, now)
            .await?;
        let mut once = std::collections::HashSet::new();
        warn_unavailable(&trusted, &mut once, progress);
        keys.destinations
            .push((destination_id.to_ascii_lowercase(), kid, trusted.key.key));
    }
    let subject = event_log::Subject::new(&created.submission_id, &created.case_id)?;
    let sets = event_log::verify_log(&events, &subject, &issuer, &keys, &limits, now)?;
    Ok(
        event_log::decision(&sets, &subject, destination_id, sent)?.map(|d| match d {
            SubmissionDecision::Accepted => Decision::Accepted,
            SubmissionDecision::Rejected(problems) => Decision::Rejected { problems },
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_xbau_and_json_schemas() {
        let catalog = Catalog::embedded();
        let xml = br#"<?xml version="1.0"?>
<xbau:baugenehmigung.antrag.0200 xmlns:xbau="http://www.xleitstelle.de/xbau/2/6"/>"#;
        assert_eq!(
            detect_schema(xml, catalog),
            Ok(DataSchema {
                schema_uri: "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200".into(),
                mime_type: "application/xml".into(),
            })
        );
        let json = br#"{"$schema": "https://schema.fitko.de/fim/s00000092_1.0.schema.json"}"#;
        assert_eq!(
            detect_schema(json, catalog).expect("json").mime_type,
            "application/json"
        );
        assert_eq!(
            detect_schema(b"{}", catalog),
            Err(DetectError::NoJsonSchema)
        );
        // What the gateway would refuse is refused here too, before anything is sent.
        assert!(matches!(
            detect_schema(br#"{"$schema": "a:b", "x": 1, "x": 2}"#, catalog),
            Err(DetectError::Json(
                crate::json::JsonError::DuplicateMember { .. }
            ))
        ));
        assert_eq!(media_type_of(b" \n[1]"), "application/json");
        assert_eq!(media_type_of(b"\xEF\xBB\xBF<x/>"), "application/xml");
        assert_eq!(
            detect_schema(b"%PDF", catalog),
            Err(DetectError::UnknownFormat)
        );
        assert!(matches!(
            detect_schema(b"<x xmlns='urn:unknown'/>", catalog),
            Err(DetectError::UnknownMessage(_))
        ));
    }

    #[test]
    fn built_metadata_validate_and_hash_the_plaintext() {
        let out = Outgoing {
            destination_id: "879ee109-a690-4db8-ab32-424284184d7d".into(),
            service_identifier: "urn:de:fim:leika:leistung:99099002067003".into(),
            service_name: "Test".into(),
            data: b"<x/>".to_vec(),
            data_schema: DataSchema {
                schema_uri: "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200".into(),
                mime_type: "application/xml".into(),
            },
            attachments: vec![OutgoingAttachment {
                filename: Some("plan.pdf".into()),
                mime_type: "application/pdf".into(),
                purpose: "attachment".into(),
                bytes: b"%PDF-1.7".to_vec(),
            }],
            reply_channel: None,
        };
        let id = "ce75a6b8-d72f-4b94-b09e-af6be35bc2ae".to_owned();
        let validator = MetadataValidator::with_unconfirmed(true);
        for (profile, version, service) in [
            (ApiProfile::V1, "1.0.0", "publicServiceType"),
            (ApiProfile::V2, "2.1.0", "publicService"),
        ] {
            let m = build_metadata(&out, std::slice::from_ref(&id), profile);
            let typed = validator
                .validate(m.to_string().as_bytes())
                .expect("valid metadata");
            assert_eq!(typed.version, version, "{profile:?}");
            assert_eq!(
                m[service]["identifier"], "urn:de:fim:leika:leistung:99099002067003",
                "{profile:?}"
            );
            assert_eq!(
                m["contentStructure"]["data"]["hash"]["content"],
                sha512_hex(b"<x/>")
            );
            assert_eq!(
                m["contentStructure"]["attachments"][0]["attachmentId"],
                id.as_str()
            );
            assert_eq!(
                m["contentStructure"]["attachments"][0]["filename"],
                "plan.pdf"
            );
        }
        // A FIT-Connect reply channel needs metadata 2.x: v1 writes 2.0.0 with it.
        let key = crate::jose::jwk::generate(KeyUse::Encryption, None).expect("keygen");
        let key = crate::jose::DecryptionKey::from_jwk(&key.private_jwk).expect("decryption key");
        let standards = ["urn:xoev-de:bmk:standard:xbau_2.6".to_owned()];
        let with_channel = Outgoing {
            reply_channel: Some(super::super::reply_inbox::reply_channel(&key, &standards)),
            ..out.clone()
        };
        for (profile, version) in [(ApiProfile::V1, "2.0.0"), (ApiProfile::V2, "2.1.0")] {
            let m = build_metadata(&with_channel, std::slice::from_ref(&id), profile);
            let typed = validator
                .validate(m.to_string().as_bytes())
                .expect("valid metadata");
            assert_eq!(typed.version, version, "{profile:?}");
            let Some(metadata::ReplyChannel::FitConnect(channel)) = typed.reply_channel else {
                panic!("{profile:?}: no fitConnect channel");
            };
            assert_eq!(channel.encryption_public_key.kid, key.kid());
            assert_eq!(channel.process_standards, standards);
        }
        // The v2 document holds the confirmed 2.0.0 rules too.
        let mut v2 = build_metadata(&out, std::slice::from_ref(&id), ApiProfile::V2);
        v2["$schema"] = metadata::VERSIONS[1].uri.into();
        assert_eq!(MetadataValidator::new().validate_value(&v2), Ok("2.0.0"));
    }
}
