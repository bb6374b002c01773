//! FIT-Connect metadata: validation against the JSON Schema that `$schema` selects, and the
//! typed model of what passed.
//!
//! The schemas are the project's own (`schemas/fit-connect/`), embedded at build time and
//! compiled with a retriever that refuses every external reference: no `$ref` is ever fetched.
//! Metadata 1.0.0 has no `$schema` member (it arrived with 1.1.0), so a document without one is
//! 1.0.0. 2.0.0 follows the published schema; 2.1.0 is a reconstruction, refused unless
//! [`MetadataValidator::with_unconfirmed`] enables it. Any version not in [`VERSIONS`] is
//! refused with the `unsupported-metadata-schema` problem. Violations report the JSON pointer
//! and keyword, never the offending value.

pub mod content;
mod model;
mod reply_channel;

use serde_json::Value;

pub use model::{
    Attachment, AuthenticationInformation, Author, ContentStructure, DataRef, DataSet, Generation,
    Hash, Metadata, PaymentInformation, Product, PublicService, SubmissionSchema,
};
pub use reply_channel::{
    DeMail, EMail, Elster, Fink, FitConnect, IdBundDeMailbox, ReplyChannel, ReplyKey,
};

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
    /// Which members the version declares (what the typed model reads).
    pub generation: Generation,
}

/// The metadata versions the gateway knows. Confirmed versions are always accepted; the
/// `unconfirmed` one (2.1.0, reconstructed from 2.0.0 because its official text was not
/// available) only when [`MetadataValidator::with_unconfirmed`] enables it. Every other
/// version (1.1–1.5, 3.0, …) is refused until the project has a schema for it.
pub const VERSIONS: &[SchemaVersion] = &[
    SchemaVersion {
        version: "1.0.0",
        uri: "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json",
        schema: include_str!("../../../schemas/fit-connect/metadata-1.0.0.schema.json"),
        unconfirmed: false,
        generation: Generation::V1,
    },
    SchemaVersion {
        version: "2.0.0",
        uri: "https://schema.fitko.de/fit-connect/metadata/2.0.0/metadata.schema.json",
        schema: include_str!("../../../schemas/fit-connect/metadata-2.0.0.schema.json"),
        unconfirmed: false,
        generation: Generation::V2,
    },
    SchemaVersion {
        version: "2.1.0",
        uri: "https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json",
        schema: include_str!("../../../schemas/fit-connect/metadata-2.1.0.schema.json"),
        unconfirmed: true,
        generation: Generation::V2,
    },
];

/// The version a sender writes for a generation: the newest one known (2.1.0 for 2.x, which
/// is what current senders write).
#[must_use]
pub fn newest(generation: Generation) -> &'static SchemaVersion {
    VERSIONS
        .iter()
        .rev()
        .find(|v| v.generation == generation)
        .expect("VERSIONS has an entry for every generation (unit-tested)")
}

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
    /// `$schema` names a version the gateway knows only as a reconstruction, and unconfirmed
    /// versions are not enabled.
    #[error("metadata schema version {version} is known only as a reconstruction and not enabled")]
    UnconfirmedVersion {
        /// The version named.
        version: &'static str,
    },
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
    /// JSON that the strict reader refuses: a duplicate member name (at its JSON pointer),
    /// too deep, too large.
    #[error("metadata: {0}")]
    Json(crate::json::JsonError),
}

impl MetadataError {
    /// The pipeline failure (and so the reject problem) this error maps to.
    #[must_use]
    pub fn failure(&self) -> Failure {
        match self {
            MetadataError::NotJson { .. } | MetadataError::Json(_) => Failure::MetadataNotJson,
            MetadataError::UnsupportedVersion | MetadataError::UnconfirmedVersion { .. } => {
                Failure::MetadataVersionUnsupported
            }
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

/// Compiles a metadata JSON Schema the way the gateway compiles every schema
/// ([`crate::json::schema_options`]: formats checked, no external references), pinned to
/// draft 2020-12.
///
/// # Errors
/// A description of why the schema does not compile.
pub fn compile_schema(schema: &Value) -> Result<jsonschema::Validator, String> {
    crate::json::schema_options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(schema)
        .map_err(|e| e.masked().to_string())
}

/// Compiled validators for the known versions; build once, share freely.
pub struct MetadataValidator {
    compiled: Vec<(&'static SchemaVersion, jsonschema::Validator)>,
    unconfirmed: bool,
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
    /// Compiles the embedded schemas of the confirmed versions (1.0.0, 2.0.0).
    #[must_use]
    pub fn new() -> Self {
        Self::with_unconfirmed(false)
    }

    /// Compiles the embedded schemas; with `unconfirmed`, also the reconstructed one (2.1.0).
    #[must_use]
    pub fn with_unconfirmed(unconfirmed: bool) -> Self {
        let compiled = VERSIONS
            .iter()
            .filter(|v| unconfirmed || !v.unconfirmed)
            .map(|v| {
                let schema: Value =
                    serde_json::from_str(v.schema).expect("embedded schema is JSON (unit-tested)");
                (
                    v,
                    compile_schema(&schema).expect("embedded schema compiles (unit-tested)"),
                )
            })
            .collect();
        Self {
            compiled,
            unconfirmed,
        }
    }

    /// Whether the unconfirmed versions are enabled.
    #[must_use]
    pub fn unconfirmed_enabled(&self) -> bool {
        self.unconfirmed
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
        if let Some(found) = self.compiled.iter().find(|(v, _)| v.uri == uri) {
            return Ok(found);
        }
        Err(match VERSIONS.iter().find(|v| v.uri == uri) {
            Some(v) => MetadataError::UnconfirmedVersion { version: v.version },
            None => MetadataError::UnsupportedVersion,
        })
    }

    fn check(&self, doc: &Value) -> Result<&'static SchemaVersion, MetadataError> {
        let (version, validator) = self.select(doc)?;
        let violations: Vec<Violation> = validator
            .iter_errors(doc)
            .take(crate::json::JsonLimits::PROTOCOL.max_errors)
            .map(|e| Violation {
                pointer: e.instance_path().to_string(),
                keyword: e.kind().keyword().to_owned(),
            })
            .collect();
        if violations.is_empty() {
            Ok(version)
        } else {
            Err(MetadataError::SchemaViolation {
                version: version.version,
                violations,
            })
        }
    }

    /// Validates a parsed document; the schema version used on success.
    ///
    /// # Errors
    /// [`MetadataError::UnsupportedVersion`], [`MetadataError::UnconfirmedVersion`] or
    /// [`MetadataError::SchemaViolation`].
    pub fn validate_value(&self, doc: &Value) -> Result<&'static str, MetadataError> {
        self.check(doc).map(|v| v.version)
    }

    /// Parses, validates and types decrypted metadata.
    ///
    /// # Errors
    /// Any [`MetadataError`]; [`MetadataError::failure`] names the reject problem.
    pub fn validate(&self, bytes: &[u8]) -> Result<Metadata, MetadataError> {
        let doc =
            crate::json::parse(bytes, &crate::json::JsonLimits::PROTOCOL).map_err(|e| match e {
                crate::json::JsonError::Syntax { line, column } => {
                    MetadataError::NotJson { line, column }
                }
                other => MetadataError::Json(other),
            })?;
        let version = self.check(&doc)?;
        let reply_channel = match doc.get("replyChannel") {
            Some(value) => {
                ReplyChannel::read(value, version.generation).map_err(|()| MetadataError::Model)?
            }
            None => None,
        };
        let public_service = model::unofficial_public_service(&doc);
        let mut metadata: Metadata =
            serde_json::from_value(model::typed_view(doc, version.generation))
                .map_err(|_| MetadataError::Model)?;
        metadata.version = version.version;
        metadata.reply_channel = reply_channel;
        metadata.public_service = public_service;
        Ok(metadata)
    }
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
    fn metadata_2_1_0_is_refused_until_unconfirmed_versions_are_enabled() {
        let mut d = doc();
        d["$schema"] = VERSIONS[2].uri.into();
        d.as_object_mut()
            .expect("object")
            .remove("publicServiceType");
        let strict = MetadataValidator::new();
        assert!(!strict.unconfirmed_enabled());
        let err = strict
            .validate(d.to_string().as_bytes())
            .expect_err("not enabled");
        assert_eq!(err, MetadataError::UnconfirmedVersion { version: "2.1.0" });
        assert_eq!(err.failure(), Failure::MetadataVersionUnsupported);
        let lenient = MetadataValidator::with_unconfirmed(true);
        let m = lenient
            .validate(d.to_string().as_bytes())
            .expect("valid 2.1.0");
        assert_eq!(m.version, "2.1.0");
        // The reconstruction's one relaxation: 2.0.0 closes additionalReferenceInfo, so the
        // sender's x- member is refused there.
        d["$schema"] = VERSIONS[1].uri.into();
        let err = strict
            .validate(d.to_string().as_bytes())
            .expect_err("x- member in 2.0.0");
        assert_eq!(
            err.to_string(),
            "metadata violate schema 2.0.0: /additionalReferenceInfo (additionalProperties)"
        );
        d["additionalReferenceInfo"]
            .as_object_mut()
            .expect("object")
            .remove("x-sender");
        let m = strict
            .validate(d.to_string().as_bytes())
            .expect("2.0.0 by default");
        assert_eq!(m.version, "2.0.0");
    }

    #[test]
    fn every_embedded_schema_compiles_and_each_generation_has_a_newest_version() {
        for v in VERSIONS {
            let schema: Value = serde_json::from_str(v.schema).expect("JSON");
            compile_schema(&schema).expect("compiles");
            assert!(v.uri.contains(v.version), "{}", v.version);
        }
        assert_eq!(newest(Generation::V1).version, "1.0.0");
        assert_eq!(newest(Generation::V2).version, "2.1.0");
        assert_eq!(
            format!("{:?}", MetadataValidator::with_unconfirmed(true)),
            r#"["1.0.0", "2.0.0", "2.1.0"]"#
        );
    }

    #[test]
    fn remote_refs_are_never_fetched() {
        let schema = serde_json::json!({"$ref": "https://example.org/remote.json"});
        assert!(compile_schema(&schema).is_err());
    }
}
