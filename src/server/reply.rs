//! Response builders and the one mapping from refusals to HTTP status and problem details
//! (RFC 9457).

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// What every handler returns.
pub(super) type Reply = Response<Full<Bytes>>;

/// Why a request is refused. Texts name the kind of failure, never request contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Refusal {
    NotFound,
    MethodNotAllowed,
    Unauthorized(&'static str),
    BadRequest(&'static str),
    PayloadTooLarge(usize),
    RequestTimeout,
    Unavailable(&'static str),
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
        }
    }

    /// The `application/problem+json` response.
    pub(super) fn reply(&self) -> Reply {
        let (status, kind, detail) = self.parts();
        let body = serde_json::json!({
            "type": format!("urn:poststelle:problem:{kind}"),
            "title": status.canonical_reason().unwrap_or("error"),
            "status": status.as_u16(),
            "detail": detail,
        });
        let mut resp = with_type(
            status,
            "application/problem+json",
            serde_json::to_vec(&body).unwrap_or_default(),
        );
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

/// A response with a body of the given type.
pub(super) fn with_type(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Reply {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A JSON response.
pub(super) fn json(status: StatusCode, value: &serde_json::Value) -> Reply {
    with_type(
        status,
        "application/json",
        serde_json::to_vec(value).unwrap_or_default(),
    )
}
