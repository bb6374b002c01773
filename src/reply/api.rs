//! The reply API for Fachverfahren (served by `crate::server` under `/api/v1/` after it
//! authenticated the caller by its reply token):
//!
//! | method, path | answer |
//! |---|---|
//! | `POST /api/v1/submissions/{submissionId}/replies` | hand in an answer (`application/json` or `application/xml`); `202` with the reply (`Location: /api/v1/replies/{replyId}`), `200` with the earlier one for a repeated `Idempotency-Key`; refusals as problem documents (400, 404, 409, 410, 413, 415, 422 with `violations`) |
//! | `GET /api/v1/submissions/{submissionId}/replies` | this Fachverfahren's replies to the submission |
//! | `GET /api/v1/replies/{replyId}` | one reply's status |
//!
//! A reply's `status`: `queued` → `created` → `submitted` → `accepted` | `rejected` (with the
//! sender's `problems`) | `unanswered`; `state` `pending` | `done` | `dead` (see
//! `store::replies`).

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue, LOCATION};
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};

use super::{Answer, HandIn, HandInError, ReplyDesk};
use crate::config::HttpLimits;
use crate::http::reply::{self, Problem, Reply};
use crate::http::{BodyError, BodyLimits};
use crate::store::{ReplyInsert, ReplyStore, ReplyView};

/// The longest `Idempotency-Key` taken.
const MAX_IDEMPOTENCY_KEY: usize = 200;

/// The reply API: the desk plus the limits of a hand-in's body.
pub struct ReplyEndpoint {
    desk: Arc<ReplyDesk>,
    max_bytes: usize,
    body_timeout: Duration,
    http: HttpLimits,
}

impl ReplyEndpoint {
    /// The API over `desk`; a hand-in's body may hold `max_bytes` and must arrive within
    /// `body_timeout`.
    #[must_use]
    pub fn new(
        desk: Arc<ReplyDesk>,
        max_bytes: usize,
        body_timeout: Duration,
        http: HttpLimits,
    ) -> Self {
        Self {
            desk,
            max_bytes,
            body_timeout,
            http,
        }
    }

    async fn route(&self, client: String, path: Vec<String>, req: Request<Incoming>) -> Reply {
        let segments: Vec<&str> = path.iter().map(String::as_str).collect();
        let method = req.method().clone();
        match (segments.as_slice(), &method) {
            (["submissions", id, "replies"], &Method::POST) => {
                let id = (*id).to_owned();
                self.hand_in(client, id, req).await
            }
            (["submissions", id, "replies"], &Method::GET) => {
                match self.desk.store().replies_of(&id.to_ascii_lowercase()).await {
                    Ok(list) => {
                        let mine: Vec<Value> = list
                            .iter()
                            .filter(|r| r.upstream == client)
                            .map(view_json)
                            .collect();
                        reply::json(StatusCode::OK, &json!({ "replies": mine }))
                    }
                    Err(_) => problem(503, "unavailable", "the store is not available"),
                }
            }
            (["replies", id], &Method::GET) => {
                match self.desk.store().reply(&id.to_ascii_lowercase()).await {
                    Ok(Some(view)) if view.upstream == client => {
                        reply::json(StatusCode::OK, &view_json(&view))
                    }
                    Ok(_) => problem(404, "reply-not-found", "no reply with this id"),
                    Err(_) => problem(503, "unavailable", "the store is not available"),
                }
            }
            (["submissions", _, "replies"] | ["replies", _], _) => problem(
                405,
                "method-not-allowed",
                "method not allowed on this resource",
            ),
            _ => problem(404, "not-found", "no such resource"),
        }
    }

    async fn hand_in(
        &self,
        client: String,
        submission_id: String,
        req: Request<Incoming>,
    ) -> Reply {
        let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
        let media = header("content-type").map(|c| {
            c.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        let json_body = match media.as_deref() {
            Some("application/json") => true,
            Some("application/xml" | "text/xml") => false,
            _ => {
                return problem(
                    415,
                    "unsupported-media-type",
                    "send the reply as application/json (the documented mapping) or application/xml",
                );
            }
        };
        let idempotency_key = match header("idempotency-key") {
            None => None,
            Some(k)
                if !k.is_empty()
                    && k.len() <= MAX_IDEMPOTENCY_KEY
                    && k.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                Some(k.to_owned())
            }
            Some(_) => {
                return problem(
                    400,
                    "bad-request",
                    "Idempotency-Key must be 1 to 200 visible ASCII characters",
                );
            }
        };
        let limits = BodyLimits::new(self.max_bytes, self.body_timeout, &self.http);
        let body = match crate::http::body::read_all(req, limits).await {
            Ok(b) => b,
            Err(BodyError::TooLarge { limit }) => {
                return problem(
                    413,
                    "payload-too-large",
                    &format!("a reply may hold at most {limit} bytes ([replies] max_bytes)"),
                );
            }
            Err(BodyError::Timeout | BodyError::TooSlow) => {
                return problem(408, "request-timeout", "the body did not arrive in time");
            }
            Err(_) => return problem(400, "bad-request", "the body could not be read"),
        };
        let answer = if json_body {
            match crate::json::parse(&body, &crate::json::JsonLimits::FACHDATEN) {
                Ok(v) => Answer::Json(v),
                Err(e) => {
                    return problem(
                        400,
                        "bad-request",
                        &format!("the body is not acceptable JSON: {e}"),
                    );
                }
            }
        } else {
            Answer::Xml(body.to_vec())
        };
        let result = self
            .desk
            .hand_in(HandIn {
                submission_id,
                client,
                idempotency_key,
                answer,
            })
            .await;
        match result {
            Ok(ReplyInsert::Inserted(view)) => located(StatusCode::ACCEPTED, &view),
            Ok(ReplyInsert::Existing(view)) => located(StatusCode::OK, &view),
            Err(e) => refusal(&e),
        }
    }
}

impl crate::server::ReplyApi for ReplyEndpoint {
    fn serve(
        &self,
        client: String,
        path: Vec<String>,
        req: Request<Incoming>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
        Box::pin(self.route(client, path, req))
    }
}

fn located(status: StatusCode, view: &ReplyView) -> Reply {
    let mut resp = reply::json(status, &view_json(view));
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/replies/{}", view.reply_id)) {
        resp.headers_mut().insert(LOCATION, v);
    }
    resp
}

/// A reply as the API shows it: ids, status, times, the last error and the sender's problems.
#[must_use]
pub fn view_json(v: &ReplyView) -> Value {
    let problems: Value = v
        .problems
        .as_deref()
        .and_then(|p| serde_json::from_str(p).ok())
        .unwrap_or(Value::Null);
    json!({
        "replyId": v.reply_id,
        "submissionId": v.submission_id,
        "messageType": v.message_type,
        "status": v.phase.as_str(),
        "state": v.state,
        "fitConnectReplyId": v.fit_reply_id,
        "attempts": v.attempts,
        "createdAt": v.created_at.to_rfc3339(),
        "submittedAt": v.submitted_at.and_then(|t| t.to_rfc3339()),
        "finishedAt": v.finished_at.and_then(|t| t.to_rfc3339()),
        "lastError": v.last_error,
        "problems": problems,
    })
}

fn problem(status: u16, slug: &str, detail: &str) -> Reply {
    problem_with(status, slug, detail, None)
}

fn problem_with(status: u16, slug: &str, detail: &str, extra: Option<Value>) -> Reply {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let type_uri = format!("urn:poststelle:problem:{slug}");
    let doc = Problem {
        type_uri: &type_uri,
        title: code.canonical_reason().unwrap_or("error"),
        status,
        detail,
        instance: None,
    };
    let mut value: Value = serde_json::from_slice(&doc.to_json()).expect("a problem is JSON");
    if let (Some(Value::Object(extra)), Some(obj)) = (extra, value.as_object_mut()) {
        obj.extend(extra);
    }
    let mut resp = reply::json(code, &value);
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    resp
}

/// A refused hand-in as a problem document; an invalid message lists its violations.
fn refusal(e: &HandInError) -> Reply {
    let (status, slug) = e.status_and_slug();
    match e {
        HandInError::Invalid {
            violations,
            truncated,
        } => problem_with(
            status,
            slug,
            &e.to_string(),
            Some(json!({ "violations": violations, "truncated": truncated })),
        ),
        HandInError::Store(_) => problem(status, slug, "the store is not available; retry later"),
        _ => {
            if status >= 500 {
                tracing::error!(error = %e, "reply hand-in failed");
            }
            problem(status, slug, &e.to_string())
        }
    }
}
