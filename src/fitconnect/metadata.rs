//! FIT-Connect metadata: the typed model and its validation against the JSON Schema that its
//! `$schema` selects.
//!
//! The schemas are the project's own (`schemas/fit-connect/`), embedded at build time and
//! compiled with a retriever that refuses every external reference: no `$ref` is ever fetched.
//! Metadata 1.0.0 has no `$schema` member (it arrived with 1.1.0), so a document without one is
//! 1.0.0. Any version not in [`VERSIONS`] is refused with the `unsupported-metadata-schema`
//! problem. Violations report the JSON pointer and keyword, never the offending value.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::problems::Failure;

/// A metadata schema version the gateway knows.
#[derive(Debug)]
#[non_exhaustive]
pub struct SchemaVersion {
    /// Version number.
    pub version: &'static str,
    /// The `$schema` URI naming it.
    pub uri: &'static str,
    /// The JSON Schema text (ours).
    pub schema: &'static str,
    /// Whether the schema is a reconstruction not verified against the official one.
    pub unconfirmed: bool,
}

const RECONSTRUCTED_2X: &str =
    include_str!("../../schemas/fit-connect/metadata-2.x.reconstructed.schema.json");

/// The metadata versions the gateway knows. Confirmed versions are always accepted; the
/// `unconfirmed` ones (a lenient reconstruction of 2.0.0/2.1.0, whose official schema was not
/// available) only when [`MetadataValidator::with_unconfirmed`] enables them. Every other
/// version (1.1–1.5, 3.0, …) is refused until the project has a schema for it.
pub const VERSIONS: &[SchemaVersion] = &[
    SchemaVersion {
        version: "1.0.0",
        uri: "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json",
        schema: include_str!("../../schemas/fit-connect/metadata-1.0.0.schema.json"),
        unconfirmed: false,
    },
    SchemaVersion {
        version: "2.0.0",
        uri: "https://schema.fitko.de/fit-connect/metadata/2.0.0/metadata.schema.json",
        schema: RECONSTRUCTED_2X,
        unconfirmed: true,
    },
    SchemaVersion {
        version: "2.1.0",
        uri: "https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json",
        schema: RECONSTRUCTED_2X,
        unconfirmed: true,
    },
];

/// Why metadata are refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetadataError {
    /// Not JSON.
    #[error("metadata are not JSON (at {line}:{column})")]
    NotJson {
        /// Line of the JSON error.
        line: usize,
        /// Column of the JSON error.
        column: usize,
    },
    /// `$schema` names a version that is not supported (or is not a string).
    #[error("metadata schema version is not supported")]
    UnsupportedVersion,
    /// The document violates its schema.
    #[error("metadata violate schema {version}: {}", .violations.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    SchemaViolation {
        /// The schema version used.
        version: &'static str,
        /// Where and which keyword failed (at most 20).
        violations: Vec<Violation>,
    },
    /// Valid by schema but not representable in the typed model (a bug in schema or model).
    #[error("metadata do not fit the typed model")]
    Model,
}

impl MetadataError {
    /// The pipeline failure (and so the reject problem) this error maps to.
    #[must_use]
    pub fn failure(&self) -> Failure {
        match self {
            MetadataError::NotJson { .. } => Failure::MetadataNotJson,
            MetadataError::UnsupportedVersion => Failure::MetadataVersionUnsupported,
            MetadataError::SchemaViolation { .. } | MetadataError::Model => Failure::MetadataSchema,
        }
    }
}

/// One schema violation: where (JSON pointer) and what (keyword); no values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the document.
    pub pointer: String,
    /// The failing JSON Schema keyword.
    pub keyword: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({})",
            if self.pointer.is_empty() {
                "/"
            } else {
                &self.pointer
            },
            self.keyword
        )
    }
}

struct NoRemoteRefs;

impl jsonschema::Retrieve for NoRemoteRefs {
    fn retrieve(
        &self,
        _uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err("external $ref resolution is disabled".into())
    }
}

/// Compiles a JSON Schema the way the gateway always does: draft 2020-12, formats checked,
/// no external references.
///
/// # Errors
/// A description of why the schema does not compile.
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .with_retriever(NoRemoteRefs)
        .build(schema)
        .map_err(|e| e.masked().to_string())
}

/// Compiled validators for every supported version; build once, share freely.
pub struct MetadataValidator {
    compiled: Vec<(&'static SchemaVersion, jsonschema::Validator)>,
}

impl std::fmt::Debug for MetadataValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.compiled.iter().map(|(v, _)| v.version))
            .finish()
    }
}

impl Default for MetadataValidator {
    fn default() -> Self {
        Self::new()
    }
}

impl MetadataValidator {
    /// Compiles the embedded schemas of the confirmed versions.
    #[must_use]
    pub fn new() -> Self {
        Self::with_unconfirmed(false)
    }

    /// Compiles the embedded schemas; with `unconfirmed`, also the reconstructed ones.
    #[must_use]
    pub fn with_unconfirmed(unconfirmed: bool) -> Self {
        let compiled = VERSIONS
            .iter()
            .filter(|v| unconfirmed || !v.unconfirmed)
            .map(|v| {
                let schema: Value =
                    serde_json::from_str(v.schema).expect("embedded schema is JSON");
                (
                    v,
                    compile_schema(&schema).expect("embedded schema compiles (unit-tested)"),
                )
            })
            .collect();
        Self { compiled }
    }

    /// Picks the schema by `$schema` (absent: 1.0.0).
    fn select(
        &self,
        doc: &Value,
    ) -> Result<&(&'static SchemaVersion, jsonschema::Validator), MetadataError> {
        let uri = match doc.get("$schema") {
            None => VERSIONS[0].uri,
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(MetadataError::UnsupportedVersion),
        };
        self.compiled
            .iter()
            .find(|(v, _)| v.uri == uri)
            .ok_or(MetadataError::UnsupportedVersion)
    }

    /// Validates a parsed document; the schema version used on success.
    ///
    /// # Errors
    /// [`MetadataError::UnsupportedVersion`] or [`MetadataError::SchemaViolation`].
    pub fn validate_value(&self, doc: &Value) -> Result<&'static str, MetadataError> {
        let (version, validator) = self.select(doc)?;
        let violations: Vec<Violation> = validator
            .iter_errors(doc)
            .take(20)
            .map(|e| Violation {
                pointer: e.instance_path().to_string(),
                keyword: e.kind().keyword().to_owned(),
            })
            .collect();
        if violations.is_empty() {
            Ok(version.version)
        } else {
            Err(MetadataError::SchemaViolation {
                version: version.version,
                violations,
            })
        }
    }

    /// Parses, validates and types decrypted metadata.
    ///
    /// # Errors
    /// Any [`MetadataError`]; [`MetadataError::failure`] names the reject problem.
    pub fn validate(&self, bytes: &[u8]) -> Result<Metadata, MetadataError> {
        let doc: Value = serde_json::from_slice(bytes).map_err(|e| MetadataError::NotJson {
            line: e.line(),
            column: e.column(),
        })?;
        let version = self.validate_value(&doc)?;
        let mut metadata: Metadata =
            serde_json::from_value(doc).map_err(|_| MetadataError::Model)?;
        metadata.version = version;
        Ok(metadata)
    }
}

/// For a member that not every supported schema version defines: the member typed when it
/// has the model's shape, `None` when not. A version whose schema does not define the member
/// allows any value there (additional members are allowed everywhere), so a value of another
/// shape is not an error — it is not this version's member.
fn other_version_member<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = Option::<Value>::deserialize(deserializer)?;
    Ok(value.and_then(|v| serde_json::from_value(v).ok()))
}

/// Validated metadata (FIT-Connect 1.0.0, plus the optional members later versions added).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Metadata {
    /// The schema version the document was validated against.
    #[serde(skip)]
    pub version: &'static str,
    /// `$schema` (1.1.0+).
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// What the submission contains.
    pub content_structure: ContentStructure,
    /// The public service (1.x: `publicServiceType`).
    #[serde(default, deserialize_with = "other_version_member")]
    pub public_service_type: Option<PublicService>,
    /// The public service (2.x: `publicService`).
    #[serde(default, deserialize_with = "other_version_member")]
    pub public_service: Option<PublicService>,
    /// Authentication reports (1.x).
    #[serde(default, deserialize_with = "other_version_member")]
    pub authentication_information: Option<Vec<AuthenticationInformation>>,
    /// Payment information.
    #[serde(default, deserialize_with = "other_version_member")]
    pub payment_information: Option<PaymentInformation>,
    /// The reply channel chosen by the applicant.
    pub reply_channel: Option<BTreeMap<String, Value>>,
    /// Sender references; senders add `x-…` members.
    #[serde(default, deserialize_with = "other_version_member")]
    pub additional_reference_info: Option<BTreeMap<String, Value>>,
    /// Author (2.x).
    pub author: Option<Value>,
    /// Additional data sets (2.x, e.g. identification reports).
    #[serde(default, deserialize_with = "other_version_member")]
    pub data_sets: Option<Vec<DataSet>>,
}

/// `contentStructure`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ContentStructure {
    /// The Fachdaten, if any.
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

/// The schema of the Fachdaten.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SubmissionSchema {
    /// Schema URI (FIM JSON URL or XÖV URN).
    pub schema_uri: String,
    /// `application/json` or `application/xml`.
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
    /// `form`, `attachment`, `report` (later also `data`).
    pub purpose: String,
    /// MIME type.
    pub mime_type: String,
    /// File name.
    pub filename: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Fragment ids of a chunked attachment (1.3.0+).
    #[serde(default, deserialize_with = "other_version_member")]
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

/// A data set (2.x).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct DataSet {
    /// UUID.
    pub data_set_id: Option<String>,
    /// Schema reference.
    pub schema: Option<Value>,
    /// Hash.
    pub hash: Option<Hash>,
    /// Content.
    pub content: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

    fn doc() -> Value {
        serde_json::json!({
            "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "Test"},
            "contentStructure": {
                "data": {"hash": {"type": "sha512", "content": HASH},
                         "submissionSchema": {"schemaUri": "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200", "mimeType": "application/xml"}},
                "attachments": [{"attachmentId": "654bf3b3-5b3e-4c54-9c5a-6f0b0b0b0b0b", "purpose": "form",
                                 "mimeType": "application/pdf", "hash": {"type": "sha512", "content": HASH}}]
            },
            "additionalReferenceInfo": {"senderReference": "ThAVEL-Test-9879", "x-sender": {"a": 1}}
        })
    }

    #[test]
    fn valid_document_is_typed() {
        let v = MetadataValidator::new();
        let m = v.validate(doc().to_string().as_bytes()).expect("valid");
        assert_eq!(m.version, "1.0.0");
        assert_eq!(m.content_structure.attachments.len(), 1);
        assert_eq!(
            m.content_structure
                .data
                .expect("data")
                .submission_schema
                .mime_type,
            "application/xml"
        );
    }

    #[test]
    fn violations_name_place_and_keyword_not_value() {
        let v = MetadataValidator::new();
        let mut d = doc();
        d["contentStructure"]["attachments"][0]["hash"]["content"] = "SECRET-VALUE".into();
        let err = v.validate(d.to_string().as_bytes()).expect_err("invalid");
        assert_eq!(err.failure(), Failure::MetadataSchema);
        let text = err.to_string();
        assert!(
            text.contains("/contentStructure/attachments/0/hash/content (pattern)"),
            "{text}"
        );
        assert!(!text.contains("SECRET"), "{text}");
    }

    #[test]
    fn unknown_versions_and_non_json_map_to_their_problems() {
        let v = MetadataValidator::new();
        let mut d = doc();
        d["$schema"] =
            "https://schema.fitko.de/fit-connect/metadata/9.9.9/metadata.schema.json".into();
        let err = v.validate(d.to_string().as_bytes()).expect_err("unknown");
        assert_eq!(err.failure(), Failure::MetadataVersionUnsupported);
        d["$schema"] = VERSIONS[0].uri.into();
        assert!(v.validate(d.to_string().as_bytes()).is_ok());
        let err = v.validate(b"{").expect_err("not json");
        assert_eq!(err.failure(), Failure::MetadataNotJson);
    }

    #[test]
    fn reconstructed_2x_only_when_enabled() {
        let mut d = doc();
        d["$schema"] =
            "https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json".into();
        d["publicService"] = serde_json::json!({"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "x"});
        let strict = MetadataValidator::new();
        assert_eq!(
            strict.validate(d.to_string().as_bytes()).map(|m| m.version),
            Err(MetadataError::UnsupportedVersion)
        );
        let lenient = MetadataValidator::with_unconfirmed(true);
        let m = lenient
            .validate(d.to_string().as_bytes())
            .expect("valid 2.1.0");
        assert_eq!(m.version, "2.1.0");
        assert!(m.public_service.is_some());
        d["contentStructure"]["attachments"][0]["fragments"] = serde_json::json!([]);
        let err = lenient
            .validate(d.to_string().as_bytes())
            .expect_err("empty fragments");
        assert_eq!(err.failure(), Failure::MetadataSchema);
    }

    /// Fuzz finding (metadata target): a member that only another version defines, in a shape
    /// the model does not know, made schema-valid metadata fail with "do not fit the typed
    /// model" (a reject) instead of being ignored like any additional member.
    #[test]
    fn a_member_of_another_version_in_another_shape_is_ignored_not_a_model_error() {
        let mut d = doc();
        d["publicService"] = serde_json::json!(1);
        d["dataSets"] = serde_json::json!("x");
        d["contentStructure"]["attachments"][0]["fragments"] = serde_json::json!(5);
        let m = MetadataValidator::new()
            .validate(d.to_string().as_bytes())
            .expect("valid 1.0.0: unknown members are allowed");
        assert_eq!(m.public_service, None);
        assert_eq!(m.data_sets, None);
        assert_eq!(m.content_structure.attachments[0].fragments, None);
        assert!(
            m.public_service_type.is_some(),
            "its own members are still typed"
        );

        let mut d = doc();
        d["$schema"] =
            "https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json".into();
        d["publicServiceType"] = serde_json::json!({"er": "t9"});
        d["authenticationInformation"] = serde_json::json!({});
        d["paymentInformation"] = serde_json::json!([]);
        d["additionalReferenceInfo"] = serde_json::json!("R-1");
        d["publicService"] =
            serde_json::json!({"identifier": "urn:de:fim:leika:leistung:99099002067003"});
        let m = MetadataValidator::with_unconfirmed(true)
            .validate(d.to_string().as_bytes())
            .expect("valid 2.1.0");
        assert_eq!(m.public_service_type, None);
        assert_eq!(m.authentication_information, None);
        assert_eq!(m.payment_information, None);
        assert_eq!(m.additional_reference_info, None);
        assert!(m.public_service.is_some());
        // A member the version defines is checked by its schema, not dropped.
        d["publicService"]["description"] = serde_json::json!(5);
        let err = MetadataValidator::with_unconfirmed(true)
            .validate(d.to_string().as_bytes())
            .expect_err("publicService.description must be a string");
        assert_eq!(err.failure(), Failure::MetadataSchema);
    }

    #[test]
    fn remote_refs_are_never_fetched() {
        let schema = serde_json::json!({"$ref": "https://example.org/remote.json"});
        assert!(compile_schema(&schema).is_err());
    }
}
