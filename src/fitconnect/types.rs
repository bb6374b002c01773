//! The Submission API's wire types (JSON bodies), shared by the client (which reads what the
//! delivery service answers and writes what a sender posts), the sandbox (which answers like
//! the delivery service) and the gateway's server (callback notices). One definition per body,
//! so both sides of the local test setup speak exactly the same JSON (layer L1, pure).
//!
//! Member names follow FIT-Connect (camelCase); the two API generations differ in the service
//! member (`serviceType` in v1, `publicService` in v2, protocol notes §1.2/§1.4) and in the
//! destination's service list (`services` / `publicServices`): both are optional members here
//! and [`ServiceMember`] chooses. Facts and their sources: `docs/protocol-facts.md`.

use serde::{Deserialize, Serialize};

use super::destination::Service;

/// The service a submission is created for (`{identifier, name}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRef {
    /// `urn:de:fim:leika:leistung:…` or another URN.
    pub identifier: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
}

/// Which member names the service in this API generation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServiceMember {
    /// v1: `serviceType` / `services`.
    ServiceType,
    /// v2: `publicService` / `publicServices`.
    PublicService,
}

/// `POST /submissions` (sender).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateSubmission {
    /// The destination.
    pub destination_id: String,
    /// Attachment ids (fresh UUIDv4 each) announced now, uploaded before submit.
    #[serde(default)]
    pub announced_attachments: Vec<String>,
    /// v1: the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<ServiceRef>,
    /// v2: the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_service: Option<ServiceRef>,
    /// v2: the region (ARS) the submission is for, when the destination serves several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl CreateSubmission {
    /// The service under the member of `member`.
    #[must_use]
    pub fn new(
        destination_id: &str,
        announced_attachments: Vec<String>,
        service: ServiceRef,
        member: ServiceMember,
    ) -> Self {
        let (service_type, public_service) = match member {
            ServiceMember::ServiceType => (Some(service), None),
            ServiceMember::PublicService => (None, Some(service)),
        };
        Self {
            destination_id: destination_id.to_owned(),
            announced_attachments,
            service_type,
            public_service,
            region: None,
        }
    }

    /// The service under whichever member is present.
    #[must_use]
    pub fn service(&self, member: ServiceMember) -> Option<&ServiceRef> {
        match member {
            ServiceMember::ServiceType => self.service_type.as_ref(),
            ServiceMember::PublicService => self.public_service.as_ref(),
        }
    }
}

/// The identifiers of a submission: the answer to `POST /submissions` (201) and to `PUT
/// /submissions/{id}`, and one entry of a submission list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionIds {
    /// destinationId (the live v2 service's 201 omits it).
    #[serde(default)]
    pub destination_id: String,
    /// submissionId.
    pub submission_id: String,
    /// caseId.
    #[serde(default)]
    pub case_id: String,
}

/// `PUT /submissions/{id}` (sender): both members are required in v2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Submit {
    /// The metadata JWE.
    pub encrypted_metadata: String,
    /// The data JWE (absent in v1 without Fachdaten).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_data: Option<String>,
}

/// The paging members of a list answer (each when the service sends it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Paging {
    /// Items on this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Offset of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    /// Total number of items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

/// One page of `GET /submissions?destinationId=…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmissionPage {
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The items of this page.
    pub submissions: Vec<SubmissionIds>,
}

/// One page of a case's event log (`GET /cases/{caseId}/events`): compact SETs in log order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventLogPage {
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The SETs.
    pub event_log: Vec<String>,
}

/// `POST /replies` (receiver): the submission answered and the attachments it will upload.
/// Shape UNCONFIRMED (`docs/protocol-facts.md`, section "Replies").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateReply {
    /// The submission answered.
    pub submission_id: String,
    /// UUIDs of the attachments that will be uploaded (unique).
    #[serde(default)]
    pub announced_attachments: Vec<String>,
}

/// The ids of a reply (answer of `POST /replies`, item of `GET /replies`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyIds {
    /// replyId.
    pub reply_id: String,
    /// caseId (that of the submission answered).
    pub case_id: String,
    /// The submission answered.
    pub submission_id: String,
    /// The destination that wrote it (in the answer of `POST /replies`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_id: Option<String>,
}

/// One page of `GET /replies` (sender): the replies waiting for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyPage {
    /// Paging.
    #[serde(flatten)]
    pub paging: Paging,
    /// The items of this page.
    pub replies: Vec<ReplyIds>,
}

/// `GET /replies/{id}`: the reply with its status and, once submitted, its JWEs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReplyDocument {
    /// The ids.
    #[serde(flatten)]
    pub ids: ReplyIds,
    /// `incomplete`, `submitted`, `accepted` or `rejected`.
    pub status: String,
    /// The metadata JWE (encrypted for the sender's reply key).
    #[serde(default)]
    pub encrypted_metadata: Option<String>,
    /// The data JWE (the answer itself).
    #[serde(default)]
    pub encrypted_data: Option<String>,
    /// Ids of the attachments.
    #[serde(default)]
    pub attachments: Vec<String>,
}

/// The public destination object (`GET /destinations/{id}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationInfo {
    /// destinationId.
    #[serde(default)]
    pub destination_id: String,
    /// `active` accepts submissions.
    pub status: String,
    /// The kid of the encryption key to use (`GET /destinations/{id}/keys/{kid}`).
    pub encryption_kid: String,
    /// v1: services offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<Service>>,
    /// v2: services offered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_services: Option<Vec<Service>>,
    /// Metadata schema versions accepted.
    #[serde(default)]
    pub metadata_versions: Vec<String>,
    /// Reply channels offered at destination level (`replyChannels`; deprecated since
    /// Submission API 1.3.0 in favour of per-service lists, which list what all services
    /// share). Empty when not sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reply_channels: Vec<String>,
}

impl DestinationInfo {
    /// The services, under whichever member the service sent.
    #[must_use]
    pub fn offered(&self) -> &[Service] {
        self.public_services
            .as_deref()
            .or(self.services.as_deref())
            .unwrap_or_default()
    }
}

/// The body of a new-submissions callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewSubmissionsCallback {
    /// `https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions`.
    #[serde(rename = "type", default)]
    pub callback_type: String,
    /// Deprecated id list.
    #[serde(default)]
    pub submission_ids: Vec<String>,
    /// The submissions.
    #[serde(default)]
    pub submissions: Vec<SubmissionIds>,
}

/// An RFC 7807 problem of the Submission API (`application/problem+json`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProblemDetails {
    /// Problem type URI.
    #[serde(rename = "type", default)]
    pub type_uri: String,
    /// Title.
    #[serde(default)]
    pub title: String,
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Detail.
    #[serde(default)]
    pub detail: String,
    /// The request path it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_member_follows_the_api_generation() {
        let s = ServiceRef {
            identifier: "urn:de:fim:leika:leistung:1".into(),
            name: "x".into(),
        };
        let v1 = CreateSubmission::new("d", vec![], s.clone(), ServiceMember::ServiceType);
        let v2 = CreateSubmission::new("d", vec![], s, ServiceMember::PublicService);
        let v1 = serde_json::to_value(&v1).expect("json");
        let v2 = serde_json::to_value(&v2).expect("json");
        assert!(v1.get("serviceType").is_some() && v1.get("publicService").is_none());
        assert!(v2.get("publicService").is_some() && v2.get("serviceType").is_none());
        let back: CreateSubmission = serde_json::from_value(v2).expect("parse");
        assert_eq!(
            back.service(ServiceMember::PublicService)
                .map(|s| s.name.as_str()),
            Some("x")
        );
    }

    #[test]
    fn destination_objects_of_both_generations_list_their_services() {
        let v2: DestinationInfo = serde_json::from_value(serde_json::json!({
            "status": "active", "encryptionKid": "k",
            "publicServices": [{"identifier": "urn:a", "submissionSchemas": [
                {"schemaUri": "urn:s", "mimeType": "application/xml"}], "regions": ["DE"]}]
        }))
        .expect("v2");
        assert_eq!(v2.offered()[0].submission_schemas[0].schema_uri, "urn:s");
        let v1: DestinationInfo = serde_json::from_value(serde_json::json!({
            "status": "active", "encryptionKid": "k", "services": [{"identifier": "urn:b"}]
        }))
        .expect("v1");
        assert_eq!(v1.offered()[0].identifier, "urn:b");
    }
}
