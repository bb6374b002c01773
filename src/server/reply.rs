//! The one mapping from refusals to HTTP status and problem details (RFC 9457).

use hyper::StatusCode;
use hyper::header::HeaderValue;

use crate::http::BodyError;
use crate::http::reply::Problem;

pub(super) use crate::http::reply::{Reply, empty, json, with_type};

/// Why a request is refused. Texts name the kind of failure, never request contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    NotFound,
    MethodNotAllowed,
    Unauthorized(&'static str),
    BadRequest(&'static str),
    PayloadTooLarge(u64),
    RequestTimeout,
    Unavailable(&'static str),
    /// The request is well-formed but cannot be processed here (`validate --daemon`: no
    /// schema pack for the document, KoSIT's configuration error).
    Unprocessable(&'static str),
}

impl From<BodyError> for Refusal {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge { limit } => Self::PayloadTooLarge(limit),
            BodyError::BadLength => Self::BadRequest("bad Content-Length"),
            BodyError::Timeout | BodyError::TooSlow => Self::RequestTimeout,
            _ => Self::BadRequest("the body could not be read"),
        }
    }
}

impl Refusal {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                "not-found",
                "no such resource".into(),
            ),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "method not allowed on this resource".into(),
            ),
            Self::Unauthorized(why) => (StatusCode::UNAUTHORIZED, "unauthorized", (*why).into()),
            Self::BadRequest(why) => (StatusCode::BAD_REQUEST, "bad-request", (*why).into()),
            Self::PayloadTooLarge(limit) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                format!("the body may hold at most {limit} bytes"),
            ),
            Self::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "the body did not arrive in time".into(),
            ),
            Self::Unavailable(why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                (*why).into(),
            ),
            Self::Unprocessable(why) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "unprocessable",
                (*why).into(),
            ),
        }
    }

    /// The `application/problem+json` response.
    pub(crate) fn reply(&self) -> Reply {
        let (status, kind, detail) = self.parts();
        let type_uri = format!("urn:poststelle:problem:{kind}");
        let mut resp = Problem {
            type_uri: &type_uri,
            title: status.canonical_reason().unwrap_or("error"),
            status: status.as_u16(),
            detail: &detail,
            instance: None,
        }
        .reply();
        match self {
            Self::Unauthorized(_) => {
                resp.headers_mut()
                    .insert("www-authenticate", HeaderValue::from_static("Bearer"));
            }
            Self::Unavailable(_) => {
                resp.headers_mut()
                    .insert("retry-after", HeaderValue::from_static("5"));
            }
            _ => {}
        }
        resp
    }
}
