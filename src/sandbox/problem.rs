//! RFC 7807 problem responses of the sandbox's Submission API.
//!
//! The catalogue is data: one row per problem with its status, type slug and title. Only
//! `destination-not-found`, `destination-state-invalid` and `submission-not-found` were seen
//! from the real delivery service (protocol notes §1.2, OBSERVED); the other slugs are the
//! sandbox's own and documented as such. The type prefix is configuration
//! ([`Profile::problem_prefix`](super::config::Profile)), so it can follow FITKO without a
//! code change.

use crate::http::reply::Problem;

/// One row of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProblemKind {
    /// HTTP status.
    pub status: u16,
    /// Type slug appended to the configured prefix.
    pub slug: &'static str,
    /// Human-readable summary (the same for every occurrence).
    pub title: &'static str,
}

macro_rules! catalogue {
    ($($name:ident = $status:literal, $slug:literal, $title:literal;)*) => {
        $(
            #[doc = $title]
            pub const $name: ProblemKind =
                ProblemKind { status: $status, slug: $slug, title: $title };
        )*
        /// Every problem the sandbox answers with.
        pub const ALL: &[ProblemKind] = &[$($name),*];
    };
}

catalogue! {
    INVALID_REQUEST = 400, "invalid-request", "The request is malformed.";
    INVALID_PAGING = 400, "invalid-paging", "offset or limit is out of range.";
    UNAUTHORIZED = 401, "unauthorized", "A valid bearer token is required.";
    INSUFFICIENT_SCOPE = 403, "insufficient-scope", "The token does not grant this operation.";
    DESTINATION_NOT_CONNECTED = 403, "destination-not-connected",
        "The client is not connected to this destination.";
    NOT_FOUND = 404, "not-found", "No such resource.";
    DESTINATION_NOT_FOUND = 404, "destination-not-found", "The destination does not exist.";
    SUBMISSION_NOT_FOUND = 404, "submission-not-found", "The submission does not exist.";
    ATTACHMENT_NOT_FOUND = 404, "attachment-not-found", "The attachment does not exist.";
    CASE_NOT_FOUND = 404, "case-not-found", "The case does not exist.";
    KEY_NOT_FOUND = 404, "key-not-found", "The destination has no key with this kid.";
    METHOD_NOT_ALLOWED = 405, "method-not-allowed", "The method is not allowed on this path.";
    SUBMISSION_STATE_INVALID = 409, "submission-state-invalid",
        "The submission is not in a state that allows this operation.";
    PAYLOAD_TOO_LARGE = 413, "payload-too-large", "The request body exceeds the limit.";
    UNSUPPORTED_MEDIA_TYPE = 415, "unsupported-media-type",
        "The request Content-Type is not accepted here.";
    DESTINATION_STATE_INVALID = 422, "destination-state-invalid",
        "The destination does not accept submissions.";
    SERVICE_NOT_OFFERED = 422, "service-not-offered",
        "The destination does not offer this service.";
    INVALID_ANNOUNCED_ATTACHMENTS = 422, "invalid-announced-attachments",
        "announcedAttachments must be unique UUIDs within the limit.";
    ATTACHMENT_NOT_ANNOUNCED = 422, "attachment-not-announced",
        "The attachment was not announced when the submission was created.";
    MISSING_ATTACHMENTS = 422, "missing-attachments",
        "Not all announced attachments were uploaded.";
    INVALID_JWE = 422, "invalid-jwe",
        "The content is not a compact JWE with RSA-OAEP-256 and A256GCM.";
    MISSING_CONTENT_TYPE = 422, "missing-content-type",
        "The JWE header lacks an accepted cty.";
    INVALID_EVENT = 422, "invalid-event", "The security event token was refused.";
    PAYLOAD_SCHEMA_NOT_SUPPORTED = 422, "payload-schema-not-supported",
        "Payload Schema not supported";
    REPLY_NOT_FOUND = 404, "reply-not-found", "The reply does not exist.";
    REPLY_STATE_INVALID = 409, "reply-state-invalid",
        "The reply is not in a state that allows this operation.";
    REPLY_CHANNEL_NOT_OFFERED = 422, "reply-channel-not-offered",
        "The destination does not offer the FIT-Connect reply channel.";
    REPLY_CHANNEL_NOT_FIT_CONNECT = 422, "reply-channel-not-fit-connect",
        "The sender of the submission chose no FIT-Connect reply channel.";
    TOO_MANY_REPLIES = 422, "too-many-replies",
        "The submission has as many replies as the sandbox keeps.";
    INCORRECT_AUTHENTICATION_TAGS = 422, "incorrect-authentication-tags",
        "The authentication tags differ from those of the submit event.";
    REQUEST_TIMEOUT = 408, "request-timeout", "The request body was not received in time.";
    INTERNAL_ERROR = 500, "internal-error", "The sandbox failed to process the request.";
    SERVICE_UNAVAILABLE = 503, "service-unavailable",
        "The sandbox is busy; retry later.";
}

/// A problem to answer with: its kind plus a detail that never echoes request content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} ({})", kind.slug, detail)]
pub struct ApiProblem {
    /// Which catalogue row.
    pub kind: ProblemKind,
    /// What exactly went wrong, without instance values from the request.
    pub detail: String,
}

impl ApiProblem {
    /// A problem of `kind` with `detail`.
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    /// The `application/problem+json` body for `prefix` and the request path (`instance`).
    #[must_use]
    pub fn body(&self, prefix: &str, instance: &str) -> Vec<u8> {
        let type_uri = format!("{prefix}{}", self.kind.slug);
        Problem {
            type_uri: &type_uri,
            title: self.kind.title,
            status: self.kind.status,
            detail: &self.detail,
            instance: Some(instance),
        }
        .to_json()
    }
}

/// Shorthand for handler results.
pub type ApiResult<T> = Result<T, ApiProblem>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_statuses_are_errors() {
        let mut slugs: Vec<_> = ALL.iter().map(|k| k.slug).collect();
        slugs.sort_unstable();
        let before = slugs.len();
        slugs.dedup();
        assert_eq!(before, slugs.len());
        assert!(ALL.iter().all(|k| (400..600).contains(&k.status)));
    }

    #[test]
    fn body_carries_prefix_and_instance() {
        let p = ApiProblem::new(SUBMISSION_NOT_FOUND, "no such id");
        let v: serde_json::Value =
            serde_json::from_slice(&p.body("https://x/problems/", "/v1/submissions/1"))
                .expect("json");
        assert_eq!(v["type"], "https://x/problems/submission-not-found");
        assert_eq!(v["status"], 404);
        assert_eq!(v["instance"], "/v1/submissions/1");
    }
}
