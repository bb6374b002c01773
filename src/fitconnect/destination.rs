//! What a destination accepts — its services (each with the submission schemas it takes and
//! the regions it serves) and the reply channels it offers — and the receive rules that follow
//! from it (layer L1, pure). The FIT-Connect destination object carries the same facts
//! (`publicServices[].submissionSchemas[].schemaUri`, `regions`, reply channels; protocol notes
//! §7); the gateway reads them from its configuration, the sandbox serves them, the test vectors
//! name them in their context.
//!
//! # Rules ([`DestinationPolicy::check`])
//!
//! 1. **The service is the one the delivery service asserts** (`publicService` in v2,
//!    `serviceType` in v1 of the submission JSON: the sender chose it when creating the
//!    submission at the delivery service). When the metadata name a service too, it must be the
//!    same; a submission whose metadata claim another service than it was created for is
//!    refused. Only when the delivery service names none is the metadata's claim used.
//! 2. The service must be one the destination offers (`unsupported-service`), when services are
//!    configured; an empty list accepts any service (the gateway logs that at start).
//! 3. The declared submission schema (`contentStructure.data.submissionSchema`) must be one the
//!    service accepts (`unsupported-schema` at `metadata`), when the service lists schemas.
//! 4. A reply channel the metadata ask for must be one the destination offers
//!    (`unsupported-reply-channel`), when reply channels are configured.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::metadata::Metadata;
use super::problems::Failure;

/// A submission schema reference (`schemaUri` + `mimeType`). Written in FIT-Connect's JSON
/// spelling (camelCase); configuration files may use snake_case. Members the delivery service
/// adds are ignored (configuration parsing refuses unknown keys in its own raw types).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SchemaRef {
    /// Schema URI (`urn:xoev-de:bmk:standard:xbau_2.6`, a FIM JSON schema URL, …).
    #[serde(alias = "schema_uri")]
    pub schema_uri: String,
    /// `application/xml` or `application/json`.
    #[serde(alias = "mime_type")]
    pub mime_type: String,
}

impl SchemaRef {
    /// Whether a declared schema is this one: the same media type and the same URI, or — when
    /// this URI names a whole standard (`urn:xoev-de:bmk:standard:xbau_2.6`, no `#`) — any
    /// message of it (`…xbau_2.6#baugenehmigung.antrag.0200`).
    #[must_use]
    pub fn accepts(&self, schema_uri: &str, mime_type: &str) -> bool {
        if self.mime_type != mime_type {
            return false;
        }
        schema_uri == self.schema_uri
            || (!self.schema_uri.contains('#')
                && schema_uri
                    .split_once('#')
                    .is_some_and(|(base, _)| base == self.schema_uri))
    }
}

/// One service (Leistung) a destination offers (the delivery service's `publicServices[]`;
/// members it adds are ignored).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    /// `urn:de:fim:leika:leistung:…` or another URN.
    pub identifier: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Region keys (e.g. ARS) it is offered in.
    #[serde(default)]
    pub regions: Vec<String>,
    /// Submission schemas it accepts (empty: any the installed schema packs support).
    #[serde(default, alias = "submission_schemas")]
    pub submission_schemas: Vec<SchemaRef>,
}

/// The reply channels FIT-Connect metadata know (`replyChannel` members).
pub const REPLY_CHANNELS: &[&str] = &[
    "eMail",
    "deMail",
    "fink",
    "elster",
    "fitConnect",
    "idBundDeMailbox",
];

/// What one destination accepts.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DestinationPolicy {
    /// The destination id (UUID).
    pub id: String,
    /// Services offered (empty: any).
    #[serde(default)]
    pub services: Vec<Service>,
    /// Reply channels offered, by their metadata name ([`REPLY_CHANNELS`]; empty: any).
    #[serde(default, alias = "reply_channels")]
    pub reply_channels: Vec<String>,
}

/// A broken rule of [`DestinationPolicy::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyViolation {
    /// The metadata name another service than the delivery service asserts.
    #[error("the metadata name another service than the submission was created for")]
    ServiceMismatch,
    /// The service is not offered by the destination.
    #[error("the service is not offered by this destination")]
    ServiceNotOffered,
    /// The submission schema is not accepted by the service.
    #[error("the submission schema is not accepted for this service")]
    SchemaNotAccepted,
    /// The reply channel is not offered.
    #[error("the reply channel {0} is not offered by this destination")]
    ReplyChannelNotOffered(String),
}

impl PolicyViolation {
    /// The reject failure (its instance is `metadata` for every violation).
    #[must_use]
    pub fn failure(&self) -> Failure {
        match self {
            Self::ServiceMismatch | Self::ServiceNotOffered => Failure::ServiceUnsupported,
            Self::SchemaNotAccepted => Failure::DataSchemaUnsupported,
            Self::ReplyChannelNotOffered(_) => Failure::ReplyChannelUnsupported,
        }
    }
}

/// The service identifier the delivery service asserts in the submission JSON (`publicService`
/// in v2, `serviceType` in v1).
#[must_use]
pub fn asserted_service(submission: &Value) -> Option<&str> {
    submission
        .get("publicService")
        .or_else(|| submission.get("serviceType"))
        .and_then(|s| s.get("identifier"))
        .and_then(Value::as_str)
}

impl DestinationPolicy {
    /// A policy that accepts every service, schema and reply channel (a destination without
    /// configured offers).
    #[must_use]
    pub fn open(id: &str) -> Self {
        Self {
            id: id.to_owned(),
            ..Self::default()
        }
    }

    /// The service a submission is for (rule 1): the delivery service's assertion, checked
    /// against the metadata's claim.
    ///
    /// # Errors
    /// [`PolicyViolation::ServiceMismatch`].
    pub fn service_of<'a>(
        submission: &'a Value,
        metadata: &'a Metadata,
    ) -> Result<Option<&'a str>, PolicyViolation> {
        let claimed = metadata
            .public_service
            .as_ref()
            .or(metadata.public_service_type.as_ref())
            .map(|s| s.identifier.as_str());
        match (asserted_service(submission), claimed) {
            (Some(a), Some(c)) if a != c => Err(PolicyViolation::ServiceMismatch),
            (Some(a), _) => Ok(Some(a)),
            (None, c) => Ok(c),
        }
    }

    /// Rules 1–4 for a submission (the submission JSON as the delivery service sent it and its
    /// validated metadata). Returns the service the submission is for.
    ///
    /// # Errors
    /// The first broken rule.
    pub fn check<'a>(
        &self,
        submission: &'a Value,
        metadata: &'a Metadata,
    ) -> Result<Option<&'a str>, PolicyViolation> {
        let service_id = Self::service_of(submission, metadata)?;
        if !self.services.is_empty() {
            let service = service_id
                .and_then(|id| self.services.iter().find(|s| s.identifier == id))
                .ok_or(PolicyViolation::ServiceNotOffered)?;
            if let Some(data) = &metadata.content_structure.data
                && !service.submission_schemas.is_empty()
            {
                let declared = &data.submission_schema;
                let accepted = service
                    .submission_schemas
                    .iter()
                    .any(|s| s.accepts(&declared.schema_uri, &declared.mime_type));
                if !accepted {
                    return Err(PolicyViolation::SchemaNotAccepted);
                }
            }
        }
        if !self.reply_channels.is_empty()
            && let Some(channel) = metadata.reply_channel.as_ref()
            && !self.reply_channels.iter().any(|c| c == channel.name())
        {
            return Err(PolicyViolation::ReplyChannelNotOffered(
                channel.name().to_owned(),
            ));
        }
        Ok(service_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_standard_uri_accepts_its_messages_a_message_uri_only_itself() {
        let xbau = SchemaRef {
            schema_uri: "urn:xoev-de:bmk:standard:xbau_2.6".into(),
            mime_type: "application/xml".into(),
        };
        assert!(xbau.accepts("urn:xoev-de:bmk:standard:xbau_2.6", "application/xml"));
        assert!(xbau.accepts(
            "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200",
            "application/xml"
        ));
        assert!(!xbau.accepts("urn:xoev-de:bmk:standard:xbau_2.6", "application/json"));
        assert!(!xbau.accepts("urn:xoev-de:bmk:standard:xbau_2.60", "application/xml"));
        let one = SchemaRef {
            schema_uri: "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200".into(),
            mime_type: "application/xml".into(),
        };
        assert!(!one.accepts(
            "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.formellePruefung.0201",
            "application/xml"
        ));
        assert!(!one.accepts("urn:xoev-de:bmk:standard:xbau_2.6", "application/xml"));
    }

    #[test]
    fn the_service_is_the_one_the_delivery_service_asserts() {
        let metadata: Metadata = serde_json::from_value(serde_json::json!({
            "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:2"},
            "contentStructure": {"attachments": []}
        }))
        .expect("metadata");
        let created_for =
            serde_json::json!({"serviceType": {"identifier": "urn:de:fim:leika:leistung:1"}});
        assert_eq!(
            DestinationPolicy::service_of(&created_for, &metadata),
            Err(PolicyViolation::ServiceMismatch)
        );
        let v2 =
            serde_json::json!({"publicService": {"identifier": "urn:de:fim:leika:leistung:2"}});
        assert_eq!(
            DestinationPolicy::service_of(&v2, &metadata),
            Ok(Some("urn:de:fim:leika:leistung:2"))
        );
        let policy = DestinationPolicy {
            id: "d".into(),
            services: vec![Service {
                identifier: "urn:de:fim:leika:leistung:1".into(),
                name: String::new(),
                regions: Vec::new(),
                submission_schemas: Vec::new(),
            }],
            reply_channels: vec!["eMail".into()],
        };
        assert_eq!(
            policy.check(&v2, &metadata),
            Err(PolicyViolation::ServiceNotOffered)
        );
    }
}
