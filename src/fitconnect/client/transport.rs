//! One HTTP exchange with retries: bounded body reading, no redirects, timeouts, backoff with
//! jitter on 429/5xx honouring `Retry-After`.

use std::time::Duration;

use hyper::body::Bytes;
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};

use super::{Client, ClientError};
use crate::backoff;

/// A request body; cheap to clone for retries.
#[derive(Debug, Clone)]
pub(super) enum Body {
    Empty,
    Json(Bytes),
    Form(Bytes),
    Jose(Bytes),
}

/// What kind of exchange this is: decides the response size limit and the timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expect {
    /// A JSON answer (`max_json_bytes`, `request_timeout`).
    Json,
    /// Any answer of the token endpoint (as `Json`).
    Any,
    /// An attachment download (`max_attachment_bytes`, `transfer_timeout`).
    Attachment,
    /// An upload: small answer, long transfer (`max_json_bytes`, `transfer_timeout`).
    Upload,
}

/// A received response: status and the whole (bounded) body. With a spool file, a 200 body
/// went to the sink instead (`body` is empty).
#[derive(Debug)]
pub(super) struct Response {
    pub(super) status: u16,
    pub(super) body: Vec<u8>,
}

/// One logical request (cheap to repeat for retries).
#[derive(Debug)]
pub(super) struct Exchange<'a> {
    pub(super) method: Method,
    pub(super) url: &'a str,
    /// Method and path for messages (no query values, no host).
    pub(super) what: &'a str,
    /// Bearer token.
    pub(super) token: Option<&'a str>,
    pub(super) body: Body,
    pub(super) expect: Expect,
}

/// Where a `200` body of an [`Expect::Attachment`] exchange goes instead of memory.
pub(super) type Spool<'a> = Option<&'a mut super::spool::SpoolSink>;

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    // Only the delta-seconds form; an HTTP-date falls back to the backoff.
    let v = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    v.parse::<u64>().ok().map(Duration::from_secs)
}

/// The error's kind and its causes, without the URL.
fn describe(e: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut msg = String::from(if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the response failed"
    } else {
        "request failed"
    });
    let mut source = e.source();
    while let Some(s) = source {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        source = s.source();
    }
    msg
}

fn idempotent(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::PUT | Method::HEAD)
}

enum Attempt {
    Done(Response),
    /// Retry after the given delay (None: the policy's backoff).
    Retry(Option<Duration>, ClientError),
    Fail(ClientError),
}

impl Client {
    /// Sends one logical request, retrying per the policy.
    pub(super) async fn send(
        &self,
        x: &Exchange<'_>,
        mut spool: Spool<'_>,
    ) -> Result<Response, ClientError> {
        let policy = &self.inner.config.retry;
        let mut attempt = 1;
        loop {
            let outcome = self.attempt(x, spool.as_deref_mut()).await;
            let (delay, error) = match outcome {
                Attempt::Done(r) => return Ok(r),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(delay, error) => (delay, error),
            };
            if attempt >= policy.max_attempts.max(1) {
                return Err(error);
            }
            let wait = match delay {
                // The service said how long; waiting longer than allowed is giving up.
                Some(d) if d > policy.max_retry_after => return Err(error),
                Some(d) => d,
                // Equal jitter, so that many clients do not retry in step.
                None => backoff::equal_jitter(
                    backoff::exponential(policy.initial_backoff, policy.max_backoff, attempt),
                    backoff::sample(),
                ),
            };
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, x: &Exchange<'_>, spool: Spool<'_>) -> Attempt {
        let (method, what, expect) = (&x.method, x.what, x.expect);
        let c = &self.inner.config;
        let (limit, timeout) = match expect {
            Expect::Json | Expect::Any => (c.max_json_bytes, c.request_timeout),
            Expect::Attachment => (c.max_attachment_bytes, c.transfer_timeout),
            Expect::Upload => (c.max_json_bytes, c.transfer_timeout),
        };
        let mut req = self
            .inner
            .http
            .request(method.clone(), x.url)
            .timeout(timeout);
        if let Some(token) = x.token {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        req = match x.body.clone() {
            Body::Empty => req,
            Body::Json(b) => req.header(CONTENT_TYPE, "application/json").body(b),
            Body::Form(b) => req
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(b),
            Body::Jose(b) => req.header(CONTENT_TYPE, "application/jose").body(b),
        };
        let transport = |e: &reqwest::Error| {
            if e.is_timeout() {
                ClientError::Timeout {
                    what: what.to_owned(),
                }
            } else {
                ClientError::Transport {
                    what: what.to_owned(),
                    // Without the URL: it is known from `what` and the configuration.
                    message: describe(e),
                }
            }
        };
        let mut resp = match req.send().await {
            Ok(r) => r,
            Err(e) if idempotent(method) && (e.is_connect() || e.is_timeout()) => {
                return Attempt::Retry(None, transport(&e));
            }
            Err(e) => return Attempt::Fail(transport(&e)),
        };
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Attempt::Fail(ClientError::Redirect {
                what: what.to_owned(),
                status,
            });
        }
        let retryable = status == 429 || (status >= 500 && idempotent(method));
        if retryable {
            let delay = retry_after(resp.headers());
            return Attempt::Retry(
                delay,
                ClientError::Status {
                    what: what.to_owned(),
                    status,
                    problem: None,
                },
            );
        }
        let too_large = || ClientError::TooLarge {
            what: what.to_owned(),
            limit,
        };
        if announced_length(&resp).is_some_and(|n| n > limit as u64) {
            return Attempt::Fail(too_large());
        }
        let spooling = spool.is_some();
        if let (Some(file), 200) = (spool, status) {
            return match spool_body(&mut resp, file, limit).await {
                Ok(_) => Attempt::Done(Response {
                    status,
                    body: Vec::new(),
                }),
                Err(Spooling::TooLarge) => Attempt::Fail(too_large()),
                Err(Spooling::Body(e)) => Attempt::Fail(transport(&e)),
                Err(Spooling::File(e)) => Attempt::Fail(ClientError::Spool {
                    what: what.to_owned(),
                    message: e.to_string(),
                }),
            };
        }
        // Error answers are small problem documents even on attachment downloads.
        let limit = if spooling { c.max_json_bytes } else { limit };
        let body = match read_limited(&mut resp, limit).await {
            Ok(body) => body,
            Err(Limited::TooLarge) => return Attempt::Fail(too_large()),
            Err(Limited::Body(e)) => return Attempt::Fail(transport(&e)),
        };
        Attempt::Done(Response { status, body })
    }
}

/// The `Content-Length` the server announced, if it is a number.
fn announced_length(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
}

/// Why [`read_limited`] stopped.
pub(super) enum Limited {
    /// The body is longer than the limit (announced or counted).
    TooLarge,
    /// Reading failed.
    Body(reqwest::Error),
}

/// Reads a whole response body, at most `limit` bytes: a `Content-Length` above the limit is
/// refused before reading, and the count is kept while reading (the header may be absent or
/// lie).
pub(super) async fn read_limited(
    resp: &mut reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, Limited> {
    let announced = announced_length(resp);
    if announced.is_some_and(|n| n > limit as u64) {
        return Err(Limited::TooLarge);
    }
    let mut body = Vec::with_capacity(announced.map_or(0, |n| n as usize).min(limit));
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(Limited::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(Limited::Body(e)),
        }
    }
}

enum Spooling {
    TooLarge,
    Body(reqwest::Error),
    File(std::io::Error),
}

/// Streams a response body into `sink` (emptied first, so a retry starts clean), at most
/// `limit` bytes.
async fn spool_body(
    resp: &mut reqwest::Response,
    sink: &mut super::spool::SpoolSink,
    limit: usize,
) -> Result<u64, Spooling> {
    sink.reset().await.map_err(Spooling::File)?;
    if let Some(len) = announced_length(resp).filter(|&n| n <= limit as u64) {
        sink.expect_len(len);
    }
    let mut written = 0u64;
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                written += chunk.len() as u64;
                if written > limit as u64 {
                    return Err(Spooling::TooLarge);
                }
                sink.write(&chunk).await.map_err(Spooling::File)?;
            }
            Ok(None) => break,
            Err(e) => return Err(Spooling::Body(e)),
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(RETRY_AFTER, "3".parse().expect("value"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("value"),
        );
        assert_eq!(retry_after(&h), None);
    }
}
