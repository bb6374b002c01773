//! The typed model of validated metadata (1.x and 2.x members side by side).
//!
//! The model is built only from a document its schema accepted, and it reads only the members
//! that schema declares: a member a version leaves unconstrained (`dataSets` in 1.0.0,
//! `authenticationInformation` in 2.x, `fragments` of a 1.0.0 attachment) is dropped before
//! typing, so valid metadata can never fail to fit the model ([`typed_view`]).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::reply_channel::ReplyChannel;

/// The metadata generation of a schema version: which members it declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Generation {
    /// 1.x: `publicServiceType`, `authenticationInformation`; reply channels `eMail`, `deMail`,
    /// `fink`, `elster`.
    V1,
    /// 2.x: `author`, `dataSets`, attachment `fragments`; reply channels also `fitConnect` and
    /// `idBundDeMailbox`. No service member: the v2 Submission API carries `publicService`.
    V2,
}

/// Validated metadata.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Metadata {
    /// The schema version the document was validated against.
    #[serde(skip)]
    pub version: &'static str,
    /// `$schema` (optional in 1.x, required in 2.x).
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// What the submission contains.
    pub content_structure: ContentStructure,
    /// The public service (1.x `publicServiceType`).
    pub public_service_type: Option<PublicService>,
    /// `publicService` as some 2.x senders add it to the metadata. It is a member of no
    /// official metadata schema (the v2 Submission API's `publicService` is the authoritative
    /// service), so it is unchecked: read only when it has the shape of `publicServiceType`,
    /// otherwise `None`.
    #[serde(skip)]
    pub public_service: Option<PublicService>,
    /// Authentication reports (1.x; 2.x carries them as [`DataSet`]s).
    pub authentication_information: Option<Vec<AuthenticationInformation>>,
    /// Payment information.
    pub payment_information: Option<PaymentInformation>,
    /// The reply channel chosen by the applicant.
    #[serde(skip)]
    pub reply_channel: Option<ReplyChannel>,
    /// Sender references: in 1.x open (senders add `x-…` members), in 2.0.0 closed
    /// (`senderReference`, `applicationDate`, `idBundDeApplicationId`,
    /// `zustimmungZumDigitalenBescheid`).
    pub additional_reference_info: Option<BTreeMap<String, Value>>,
    /// The sending system's self-description (2.x).
    pub author: Option<Author>,
    /// Further data sets with their own schema, e.g. identification reports (2.x).
    pub data_sets: Option<Vec<DataSet>>,
}

/// `contentStructure`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContentStructure {
    /// The Fachdaten (optional in 1.x, required in 2.x).
    pub data: Option<DataRef>,
    /// The attachments.
    pub attachments: Vec<Attachment>,
}

/// The Fachdaten declaration.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataRef {
    /// Hash of the plaintext Fachdaten.
    pub hash: Hash,
    /// Their schema.
    pub submission_schema: SubmissionSchema,
    /// Signature information.
    pub signature: Option<Value>,
}

/// A FIT-Connect hash (`type` is always `sha512`).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Hash {
    /// `sha512`.
    #[serde(rename = "type")]
    pub hash_type: String,
    /// Lowercase hex.
    pub content: String,
}

/// A schema reference: the Fachdaten's `submissionSchema` or a data set's `schema`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubmissionSchema {
    /// Schema URI (FIM JSON URL, XÖV URN, identification report schema, …).
    pub schema_uri: String,
    /// `application/json` or `application/xml` (data sets also `application/jose`).
    pub mime_type: String,
}

/// One attachment declaration.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Attachment {
    /// UUID.
    pub attachment_id: String,
    /// Hash of the plaintext.
    pub hash: Hash,
    /// `form`, `attachment`, `report` (2.x also `data`: Fachdaten too large for `data`).
    pub purpose: String,
    /// MIME type.
    pub mime_type: String,
    /// File name.
    pub filename: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Fragment ids of a chunked attachment (2.x; at least one when present).
    pub fragments: Option<Vec<String>>,
}

/// A public service reference.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublicService {
    /// URN (`urn:de:fim:leika:leistung:…`).
    pub identifier: String,
    /// Name.
    pub name: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// An authentication report reference (1.x).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthenticationInformation {
    /// `identificationReport`.
    #[serde(rename = "type")]
    pub info_type: String,
    /// Semantic version.
    pub version: String,
    /// base64url content.
    pub content: String,
}

/// Payment information.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentInformation {
    /// Reference / purpose.
    pub transaction_reference: String,
    /// Payment provider's transaction id.
    pub transaction_id: String,
    /// Payment method.
    pub payment_method: String,
    /// Status.
    pub status: String,
    /// Gross amount.
    pub gross_amount: Option<f64>,
}

/// `author`: the sending system describes itself (2.x), for tracing problems back to it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Author {
    /// Name of the portal or platform.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// URL of the portal (a string; the schema does not require a URI).
    pub url: Option<String>,
    /// The software product.
    pub product: Product,
}

/// `author.product`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Product {
    /// Product name.
    pub name: String,
    /// Description.
    pub description: Option<String>,
    /// Product version.
    pub version: String,
    /// Manufacturer.
    pub manufacturer: String,
}

/// A data set (2.x): content with its own schema and a hash over it.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataSet {
    /// UUID, unique within the list.
    pub data_set_id: String,
    /// The schema `content` follows.
    pub schema: SubmissionSchema,
    /// Hash over the unencrypted content.
    pub hash: Hash,
    /// Description.
    pub description: Option<String>,
    /// The payload (any JSON value).
    pub content: Value,
}

/// Top-level members the model types, with the generations whose schema declares them.
const DECLARED: &[(&str, &[Generation])] = &[
    ("publicServiceType", &[Generation::V1]),
    ("authenticationInformation", &[Generation::V1]),
    ("author", &[Generation::V2]),
    ("dataSets", &[Generation::V2]),
];

/// The document reduced to what `generation` declares among the typed members, so that typing
/// a valid document cannot fail on a member its schema leaves unconstrained.
pub(super) fn typed_view(mut doc: Value, generation: Generation) -> Value {
    let Some(object) = doc.as_object_mut() else {
        return doc;
    };
    for (member, generations) in DECLARED {
        if !generations.contains(&generation) {
            object.remove(*member);
        }
    }
    if generation == Generation::V1
        && let Some(Value::Array(attachments)) = object
            .get_mut("contentStructure")
            .and_then(|c| c.get_mut("attachments"))
    {
        for attachment in attachments.iter_mut().filter_map(Value::as_object_mut) {
            attachment.remove("fragments");
        }
    }
    doc
}

/// `publicService` when it has the shape of a service reference (see [`Metadata::public_service`]).
pub(super) fn unofficial_public_service(doc: &Value) -> Option<PublicService> {
    serde_json::from_value(doc.get("publicService")?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::{MetadataValidator, ReplyChannel, VERSIONS};

    const HASH: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    fn content_structure() -> serde_json::Value {
        json!({
            "data": {"hash": {"type": "sha512", "content": HASH},
                     "submissionSchema": {"schemaUri": "urn:x:y", "mimeType": "application/xml"}},
            "attachments": [{"attachmentId": "654bf3b3-7e3a-4d8f-9a55-0c6a8d2e4f11", "purpose": "form",
                             "mimeType": "application/pdf", "hash": {"type": "sha512", "content": HASH}}]
        })
    }

    /// Regression: a 1.0.0 document with `dataSets: 5` or attachment `fragments: 5` is valid
    /// (1.0.0 does not declare them), yet typing it failed and the submission was rejected.
    #[test]
    fn member_undeclared_by_the_version_does_not_make_valid_metadata_untypable() {
        let v = MetadataValidator::with_unconfirmed(true);
        let mut one = json!({"contentStructure": content_structure(), "dataSets": 5, "author": [],
                             "publicService": "not an object", "replyChannel": {"fitConnect": 5}});
        one["contentStructure"]["attachments"][0]["fragments"] = json!(5);
        let m = v.validate(one.to_string().as_bytes()).expect("valid 1.0.0");
        assert_eq!(
            (m.version, m.data_sets, m.author, m.public_service),
            ("1.0.0", None, None, None)
        );
        assert_eq!(m.content_structure.attachments[0].fragments, None);
        assert_eq!(
            m.reply_channel.as_ref().map(ReplyChannel::name),
            Some("fitConnect")
        );
        assert!(matches!(
            m.reply_channel,
            Some(ReplyChannel::Undeclared { .. })
        ));
        for schema in [VERSIONS[1].uri, VERSIONS[2].uri] {
            let two = json!({"$schema": schema, "contentStructure": content_structure(),
                             "authenticationInformation": 5, "publicServiceType": "x"});
            let m = v.validate(two.to_string().as_bytes()).expect("valid 2.x");
            assert_eq!(
                (m.authentication_information, m.public_service_type),
                (None, None)
            );
        }
    }

    #[test]
    fn unofficial_public_service_is_read_only_in_service_shape() {
        let v = MetadataValidator::new();
        let mut d = json!({"$schema": VERSIONS[1].uri, "contentStructure": content_structure(),
                           "publicService": {"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "Test"}});
        let m = v.validate(d.to_string().as_bytes()).expect("valid");
        assert_eq!(
            m.public_service.map(|s| s.identifier),
            Some("urn:de:fim:leika:leistung:99099002067003".to_owned())
        );
        d["publicService"] = json!({"name": "no identifier"});
        let m = v.validate(d.to_string().as_bytes()).expect("still valid");
        assert_eq!(m.public_service, None);
    }
}
