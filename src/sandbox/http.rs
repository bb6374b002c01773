//! The sandbox's replies and body reading on top of the shared [`crate::http`] plumbing:
//! status codes as numbers (the problem catalogue's), problem documents with the configured
//! type prefix, and body errors mapped to catalogue problems.
//!
//! Plain HTTP on loopback by default: the sandbox is a local test double. A vendor who needs
//! TLS puts it behind a terminating proxy.

use hyper::body::{Bytes, Incoming};
use hyper::header::HeaderValue;
use hyper::{Request, StatusCode};

use super::problem::{self, ApiProblem, ApiResult};
use crate::http::reply;
use crate::http::{BodyError, BodyLimits};

pub(crate) use crate::http::Reply;

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// A JSON response.
pub(crate) fn json<T: serde::Serialize + ?Sized>(code: u16, value: &T) -> Reply {
    reply::json(status(code), value)
}

/// A `text/plain` response.
pub(crate) fn text(code: u16, body: &'static str) -> Reply {
    reply::with_type(status(code), "text/plain; charset=utf-8", body)
}

/// 204 No Content.
pub(crate) fn no_content() -> Reply {
    reply::empty(StatusCode::NO_CONTENT)
}

/// An `application/problem+json` response.
pub(crate) fn problem(p: &ApiProblem, prefix: &str, instance: &str) -> Reply {
    reply::with_type(
        status(p.kind.status),
        "application/problem+json",
        p.body(prefix, instance),
    )
}

/// An OAuth error response (RFC 6749 §5.2).
pub(crate) fn oauth_error(code: u16, body: Vec<u8>) -> Reply {
    let mut resp = reply::with_type(status(code), "application/json", body);
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}

/// The catalogue problem of a body that was not read.
pub(crate) fn body_problem(e: BodyError) -> ApiProblem {
    match e {
        BodyError::TooLarge { limit } => ApiProblem::new(
            problem::PAYLOAD_TOO_LARGE,
            format!("the body of this request may hold at most {limit} bytes"),
        ),
        BodyError::BadLength => ApiProblem::new(problem::INVALID_REQUEST, "bad Content-Length"),
        BodyError::Timeout | BodyError::TooSlow => {
            ApiProblem::new(problem::REQUEST_TIMEOUT, e.to_string())
        }
        _ => ApiProblem::new(problem::INVALID_REQUEST, "the body could not be read"),
    }
}

/// Reads the whole body within `limits`.
pub(crate) async fn read_body(req: Request<Incoming>, limits: BodyLimits) -> ApiResult<Bytes> {
    crate::http::body::read_all(req, limits)
        .await
        .map_err(body_problem)
}
