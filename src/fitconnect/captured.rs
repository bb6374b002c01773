//! A submission exactly as a subscriber downloads it from the delivery service.
//!
//! This is the input of every receive-side check (the gateway pipeline, the `submission` test
//! vectors, `poststelle vectors check-submission`): the submission JSON, each attachment's
//! compact JWE, the case event log, and what is needed to verify the delivery service's SETs.
//! Everything is kept verbatim so that the checks see the bytes the delivery service sent.
//!
//! On disk (written and read by [`crate::fitconnect::capture_dir`]) a captured submission is
//! a directory:
//!
//! ```text
//! submission.json            GET /v1/submissions/{id} body, verbatim
//! attachments/<id>.jwe       GET /v1/submissions/{id}/attachments/{attachmentId} body, verbatim
//! events.json                GET /v1/cases/{caseId}/events body, verbatim
//! service-jwks.json          the delivery service's JWKS (/.well-known/jwks.json) at capture time
//! capture.json               {"issuer": "<SET iss of the delivery service>",
//!                             "capturedAt": <unix seconds>, "profile": "v1" | "v2"}
//! ```
//!
//! Private keys never belong in a capture; they are handed to the checks separately.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Which path profile of the Submission API the capture came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApiProfile {
    /// `/v1/...` (documented).
    #[default]
    V1,
    /// `/v2/...` (observed in current clients).
    V2,
}

/// Where and when a capture was taken: the facts its SETs are checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureInfo {
    /// The delivery service's SET issuer (`iss`), e.g. its base URL.
    pub issuer: String,
    /// Unix seconds when the capture was taken: the "now" for SET time checks.
    pub captured_at: i64,
    /// The API profile the submission was fetched with.
    #[serde(default)]
    pub profile: ApiProfile,
}

/// A downloaded submission with its attachments, event log and the delivery service's keys.
#[derive(Debug, Clone, PartialEq)]
pub struct CapturedSubmission {
    /// The submission JSON as the delivery service returned it.
    pub submission: Value,
    /// Compact JWE of each attachment, by attachment id, as downloaded.
    pub attachments: BTreeMap<String, String>,
    /// The case event log body as the delivery service returned it (`{"eventLog": [SET…], …}`).
    pub events: Value,
    /// The delivery service's JWKS at capture time.
    pub service_jwks: Value,
    /// Issuer, time and profile of the capture.
    pub info: CaptureInfo,
}

impl CapturedSubmission {
    /// The `submissionId` member, if present and a string.
    pub fn submission_id(&self) -> Option<&str> {
        self.submission.get("submissionId").and_then(Value::as_str)
    }

    /// The `caseId` member, if present and a string.
    pub fn case_id(&self) -> Option<&str> {
        self.submission.get("caseId").and_then(Value::as_str)
    }

    /// The `destinationId` member, if present and a string.
    pub fn destination_id(&self) -> Option<&str> {
        self.submission.get("destinationId").and_then(Value::as_str)
    }

    /// The SETs of the event log in order (strings only; anything else is skipped).
    pub fn event_log(&self) -> impl Iterator<Item = &str> {
        self.events
            .get("eventLog")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
    }
}
