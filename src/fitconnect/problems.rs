//! The catalogue of `reject-submission` problem types, as data.
//!
//! The catalogue lives in `schemas/fit-connect/problems.toml` (embedded at build time) because
//! FIT-Connect's official list could only be read partially: entries are flagged `unconfirmed`
//! there, and fixing one is a data change, not a code change. Every [`Failure`] the pipeline can
//! detect maps to exactly one problem type; a unit test proves the mapping is total.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

const CATALOGUE_TOML: &str = include_str!("../../schemas/fit-connect/problems.toml");

/// Every validation failure of the receive pipeline that leads to a rejection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// A JWE is not a well-formed compact JWE.
    JweMalformed,
    /// A JWE uses an algorithm outside RSA-OAEP-256 + A256GCM.
    JweUnsupportedAlgorithm,
    /// No decryption key for the JWE's kid.
    JweUnknownKey,
    /// Decryption failed (opaque).
    JweDecryptionFailed,
    /// The `zip: DEF` plaintext is invalid or too large.
    JweInflate,
    /// The event log has no submit-submission SET.
    SubmitEventMissing,
    /// A SET of the event log fails verification.
    SetInvalid,
    /// The submit-submission event carries no authentication tags.
    AuthenticationTagsMissing,
    /// An authentication tag differs from part 5 of the downloaded JWE.
    AuthenticationTagMismatch,
    /// The metadata plaintext is not JSON.
    MetadataNotJson,
    /// The Fachdaten are not well-formed JSON/XML.
    DataSyntax,
    /// The metadata violate their schema.
    MetadataSchema,
    /// The Fachdaten violate their schema (XSD or JSON Schema).
    DataSchema,
    /// The metadata name a schema version we do not support.
    MetadataVersionUnsupported,
    /// Fachdaten are announced but missing.
    DataMissing,
    /// No submission schema is given for the Fachdaten.
    DataSchemaMissing,
    /// The submission schema is not one the destination supports.
    DataSchemaUnsupported,
    /// A SHA-512 hash differs from the metadata.
    HashMismatch,
    /// Attachments were sent that the metadata do not list.
    AttachmentsUnexpected,
    /// Attachments listed in the metadata are missing.
    AttachmentsMissing,
    /// The public service is not offered by the destination.
    ServiceUnsupported,
    /// The reply channel is not supported.
    ReplyChannelUnsupported,
    /// Anything else (a technical error on our side or unclassified).
    Technical,
}

impl Failure {
    /// Every failure, for exhaustive checks.
    pub const ALL: &[Failure] = &[
        Failure::JweMalformed,
        Failure::JweUnsupportedAlgorithm,
        Failure::JweUnknownKey,
        Failure::JweDecryptionFailed,
        Failure::JweInflate,
        Failure::SubmitEventMissing,
        Failure::SetInvalid,
        Failure::AuthenticationTagsMissing,
        Failure::AuthenticationTagMismatch,
        Failure::MetadataNotJson,
        Failure::DataSyntax,
        Failure::MetadataSchema,
        Failure::DataSchema,
        Failure::MetadataVersionUnsupported,
        Failure::DataMissing,
        Failure::DataSchemaMissing,
        Failure::DataSchemaUnsupported,
        Failure::HashMismatch,
        Failure::AttachmentsUnexpected,
        Failure::AttachmentsMissing,
        Failure::ServiceUnsupported,
        Failure::ReplyChannelUnsupported,
        Failure::Technical,
    ];

    /// The name used in the catalogue's `failures` lists.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Failure::JweMalformed => "jwe-malformed",
            Failure::JweUnsupportedAlgorithm => "jwe-unsupported-algorithm",
            Failure::JweUnknownKey => "jwe-unknown-key",
            Failure::JweDecryptionFailed => "jwe-decryption-failed",
            Failure::JweInflate => "jwe-inflate",
            Failure::SubmitEventMissing => "submit-event-missing",
            Failure::SetInvalid => "set-invalid",
            Failure::AuthenticationTagsMissing => "authentication-tags-missing",
            Failure::AuthenticationTagMismatch => "authentication-tag-mismatch",
            Failure::MetadataNotJson => "metadata-not-json",
            Failure::DataSyntax => "data-syntax",
            Failure::MetadataSchema => "metadata-schema",
            Failure::DataSchema => "data-schema",
            Failure::MetadataVersionUnsupported => "metadata-version-unsupported",
            Failure::DataMissing => "data-missing",
            Failure::DataSchemaMissing => "data-schema-missing",
            Failure::DataSchemaUnsupported => "data-schema-unsupported",
            Failure::HashMismatch => "hash-mismatch",
            Failure::AttachmentsUnexpected => "attachments-unexpected",
            Failure::AttachmentsMissing => "attachments-missing",
            Failure::ServiceUnsupported => "service-unsupported",
            Failure::ReplyChannelUnsupported => "reply-channel-unsupported",
            Failure::Technical => "technical",
        }
    }

    /// The catalogue entry this failure maps to.
    #[must_use]
    pub fn problem_type(self) -> &'static ProblemType {
        catalogue()
            .problems
            .iter()
            .find(|p| p.failures.iter().any(|f| f == self.name()))
            .expect("the catalogue maps every failure (unit test `every_failure_is_mapped`)")
    }
}

impl From<&crate::jose::JweError> for Failure {
    /// The failure for a JWE that could not be read or decrypted.
    fn from(err: &crate::jose::JweError) -> Self {
        use crate::jose::JweError as E;
        match err {
            E::AlgNotAllowed { .. }
            | E::EncNotAllowed { .. }
            | E::ZipNotSupported { .. }
            | E::CritNotSupported
            | E::ForbiddenHeaderMember { .. } => Failure::JweUnsupportedAlgorithm,
            E::UnknownKid => Failure::JweUnknownKey,
            E::Decrypt(_) => Failure::JweDecryptionFailed,
            E::InflateTooLarge { .. } | E::InflateFailed => Failure::JweInflate,
            E::EncryptionKey | E::InvalidContentType => Failure::Technical,
            _ => Failure::JweMalformed,
        }
    }
}

impl From<&super::set::SetError> for Failure {
    /// Any SET of the event log that fails verification makes the event log invalid.
    fn from(_: &super::set::SetError) -> Self {
        Failure::SetInvalid
    }
}

impl From<&super::metadata::MetadataError> for Failure {
    fn from(err: &super::metadata::MetadataError) -> Self {
        err.failure()
    }
}

/// Where a problem is located (the `instance` of the problem).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Instance {
    /// The metadata.
    Metadata,
    /// The Fachdaten.
    Data,
    /// One attachment (its attachmentId).
    Attachment(String),
    /// The submission as a whole.
    Submission,
    /// Not attributable.
    Other,
}

impl Instance {
    fn kind(&self) -> &'static str {
        match self {
            Instance::Metadata => "metadata",
            Instance::Data => "data",
            Instance::Attachment(_) => "attachment",
            Instance::Submission => "submission",
            Instance::Other => "other",
        }
    }

    fn render(&self) -> String {
        match self {
            Instance::Attachment(id) => format!("attachment:{id}"),
            other => other.kind().to_owned(),
        }
    }
}

/// One entry of the catalogue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ProblemType {
    /// Our stable key.
    pub id: String,
    /// The problem type URI.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// The documented title.
    pub title: String,
    /// Our default detail text.
    pub detail: String,
    /// Allowed instance kinds.
    pub instances: Vec<String>,
    /// Pipeline failures mapping here.
    pub failures: Vec<String>,
    /// Whether the entry is not yet verified against the official catalogue.
    pub unconfirmed: bool,
}

/// The whole catalogue.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Catalogue {
    /// Common prefix of all type URIs.
    pub prefix: String,
    /// The entries.
    #[serde(rename = "problem")]
    pub problems: Vec<ProblemType>,
}

/// The embedded catalogue (parsed once).
#[must_use]
pub fn catalogue() -> &'static Catalogue {
    static CATALOGUE: OnceLock<Catalogue> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        toml::from_str(CATALOGUE_TOML).expect("embedded problems.toml is valid (unit-tested)")
    })
}

/// A problem as it goes into a `reject-submission` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    /// Problem type URI.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// Title.
    pub title: String,
    /// Detail (free text, no personal data).
    pub detail: String,
    /// Instance (`metadata`, `data`, `attachment:<id>`, `submission`, `other`).
    pub instance: String,
}

/// The instance does not fit the problem type.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("instance kind {instance} is not allowed for problem {problem}")]
pub struct InstanceNotAllowed {
    /// The problem id.
    pub problem: String,
    /// The instance kind that was offered.
    pub instance: &'static str,
}

impl Problem {
    /// `kind@instance` (the last segment of the type URI, e.g. `schema-violation@data`): how
    /// logs and `queue decisions` name a problem — no detail, so no place or value.
    #[must_use]
    pub fn label(&self) -> String {
        let kind = self.type_uri.rsplit('/').next().unwrap_or(&self.type_uri);
        format!("{kind}@{}", self.instance)
    }

    /// The problem for `failure` at `instance`, with the catalogue's title and detail.
    ///
    /// # Errors
    /// [`InstanceNotAllowed`] if the catalogue does not allow this instance kind.
    pub fn new(failure: Failure, instance: &Instance) -> Result<Self, InstanceNotAllowed> {
        let p = failure.problem_type();
        if !p.instances.iter().any(|i| i == instance.kind()) {
            return Err(InstanceNotAllowed {
                problem: p.id.clone(),
                instance: instance.kind(),
            });
        }
        Ok(Self {
            type_uri: p.type_uri.clone(),
            title: p.title.clone(),
            detail: p.detail.clone(),
            instance: instance.render(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_failure_is_mapped_exactly_once() {
        for failure in Failure::ALL {
            let hits = catalogue()
                .problems
                .iter()
                .filter(|p| p.failures.iter().any(|f| f == failure.name()))
                .count();
            assert_eq!(hits, 1, "{failure:?}");
        }
        let names: Vec<_> = Failure::ALL.iter().map(|f| f.name()).collect();
        for p in &catalogue().problems {
            assert!(p.type_uri.starts_with(&catalogue().prefix), "{}", p.id);
            assert!(p.type_uri.ends_with(&p.id), "{}", p.id);
            for f in &p.failures {
                assert!(names.contains(&f.as_str()), "unknown failure {f}");
            }
        }
    }

    #[test]
    fn jose_errors_map_to_encryption_issue() {
        use crate::jose::JweError;
        let cases = [
            (
                JweError::AlgNotAllowed { alg: "none".into() },
                Failure::JweUnsupportedAlgorithm,
            ),
            (JweError::UnknownKid, Failure::JweUnknownKey),
            (JweError::InflateFailed, Failure::JweInflate),
            (JweError::PartCount { found: 4 }, Failure::JweMalformed),
        ];
        for (err, failure) in cases {
            assert_eq!(Failure::from(&err), failure);
            assert_eq!(Failure::from(&err).problem_type().id, "encryption-issue");
        }
    }

    #[test]
    fn unconfirmed_entries_are_flagged() {
        // The protocol notes mark the whole catalogue UNCONFIRMED (fit-connect-protocol.md §4).
        assert!(catalogue().problems.iter().all(|p| p.unconfirmed));
    }

    #[test]
    fn builds_problem_with_instance_rules() {
        let p = Problem::new(Failure::HashMismatch, &Instance::Attachment("a-1".into()))
            .expect("allowed");
        assert_eq!(p.instance, "attachment:a-1");
        assert!(p.type_uri.ends_with("/hash-mismatch"));
        assert!(Problem::new(Failure::HashMismatch, &Instance::Metadata).is_err());
    }
}
