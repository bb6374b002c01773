//! Request dispatch and the public endpoints (health, ready, metrics, callbacks).

use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt as _, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::CONTENT_LENGTH;
use hyper::{Method, Request, StatusCode};

use super::reply::{self, Refusal};
use super::{CallbackNotice, Handlers, ServerLimits, admin};
use crate::fitconnect::callback::{self, CallbackError, ReplayGuard};
use crate::store::{Store, Timestamp};

pub(super) use reply::Reply;

/// The store must answer `/ready` and `/metrics` within this time.
const STORE_PROBE: Duration = Duration::from_secs(2);
/// Most submission ids one callback may name.
const MAX_CALLBACK_IDS: usize = 1000;

/// Everything a request handler needs.
pub(super) struct State {
    pub(super) handlers: Handlers,
    pub(super) limits: ServerLimits,
}

/// Answers one request.
pub(super) async fn handle(state: &State, req: Request<Incoming>) -> Reply {
    match route(state, req).await {
        Ok(reply) => reply,
        Err(refusal) => refusal.reply(),
    }
}

async fn route(state: &State, req: Request<Incoming>) -> Result<Reply, Refusal> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    match (segments.as_slice(), &method) {
        (["health"], &Method::GET) => Ok(reply::with_type(
            StatusCode::OK,
            "text/plain; charset=utf-8",
            b"ok\n".to_vec(),
        )),
        (["ready"], &Method::GET) => ready(state).await,
        (["metrics"], &Method::GET) => Ok(metrics(state).await),
        (["callbacks", destination], &Method::POST) => {
            let destination = (*destination).to_owned();
            callback(state, &destination, req).await
        }
        (["admin", ..], _) => admin::handle(state, &segments[1..], req).await,
        (["health" | "ready" | "metrics"] | ["callbacks", _], _) => Err(Refusal::MethodNotAllowed),
        _ => Err(Refusal::NotFound),
    }
}

async fn store_metrics(state: &State) -> Option<crate::store::QueueMetrics> {
    let store = state.handlers.store.as_ref()?;
    tokio::time::timeout(STORE_PROBE, store.metrics(Timestamp::now()))
        .await
        .ok()?
        .ok()
}

async fn ready(state: &State) -> Result<Reply, Refusal> {
    let store_ok = match &state.handlers.store {
        None => true,
        Some(_) => store_metrics(state).await.is_some(),
    };
    let pipeline_ok = state
        .handlers
        .readiness
        .as_ref()
        .is_none_or(|r| r.is_ready());
    let status = if store_ok && pipeline_ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Ok(reply::json(
        status,
        &serde_json::json!({ "store": store_ok, "pipeline": pipeline_ok }),
    ))
}

async fn metrics(state: &State) -> Reply {
    let queue = store_metrics(state).await;
    reply::with_type(
        StatusCode::OK,
        "text/plain; version=0.0.4; charset=utf-8",
        state.handlers.metrics.render(queue.as_ref()).into_bytes(),
    )
}

/// Reads the whole body: refused beyond the limit (an honest `Content-Length` before a byte is
/// read) or when it does not arrive in time.
pub(super) async fn read_body(
    req: Request<Incoming>,
    limits: &ServerLimits,
) -> Result<Bytes, Refusal> {
    let limit = limits.max_body_bytes;
    if let Some(len) = req.headers().get(CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or(Refusal::BadRequest("bad Content-Length"))?;
        if len > limit as u64 {
            return Err(Refusal::PayloadTooLarge(limit));
        }
    }
    let body = Limited::new(req.into_body(), limit);
    match tokio::time::timeout(limits.body_read_timeout, body.collect()).await {
        Err(_) => Err(Refusal::RequestTimeout),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            Err(Refusal::PayloadTooLarge(limit))
        }
        Ok(Err(_)) => Err(Refusal::BadRequest("the body could not be read")),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn header<'r>(req: &'r Request<Incoming>, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

async fn callback(
    state: &State,
    destination: &str,
    req: Request<Incoming>,
) -> Result<Reply, Refusal> {
    let result = accept_callback(state, destination, req).await;
    state.handlers.metrics.callback(result.is_ok());
    result?;
    Ok(reply::json(
        StatusCode::ACCEPTED,
        &serde_json::json!({ "status": "accepted" }),
    ))
}

/// Verifies a callback and hands its notice to the sink, once.
async fn accept_callback(
    state: &State,
    destination: &str,
    req: Request<Incoming>,
) -> Result<(), Refusal> {
    let callbacks = state.handlers.callbacks.as_ref().ok_or(Refusal::NotFound)?;
    let (secret, accepted) = callbacks
        .destinations
        .get(destination)
        .ok_or(Refusal::NotFound)?;
    let timestamp = header(&req, "callback-timestamp")
        .ok_or(Refusal::Unauthorized("callback-timestamp missing"))?
        .to_owned();
    let mac = header(&req, "callback-authentication")
        .ok_or(Refusal::Unauthorized("callback-authentication missing"))?
        .to_owned();
    let body = read_body(req, &state.limits).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    // Format, window and MAC. Replays are checked by `Accepted` instead of the verifier's own
    // guard: a callback the sink refused (503) must stay acceptable for the service's retry.
    callback::verify(
        secret,
        &timestamp,
        &mac,
        &body,
        now,
        &mut ReplayGuard::new(),
    )
    .map_err(|e| {
        Refusal::Unauthorized(match e {
            CallbackError::BadTimestamp => "callback-timestamp is malformed",
            CallbackError::Stale => "callback-timestamp is outside the accepted window",
            CallbackError::BadMacFormat | CallbackError::BadMac | CallbackError::Replay => {
                "callback-authentication does not verify"
            }
        })
    })?;
    let notice = parse_notice(destination, &body)?;
    let mut accepted = accepted
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    accepted.prune(now);
    if accepted.contains(&timestamp, &mac) {
        return Err(Refusal::Unauthorized("callback was already received"));
    }
    // The sink does not block, so holding the lock makes check, hand-over and record atomic.
    callbacks
        .sink
        .notify(notice)
        .map_err(|_| Refusal::Unavailable("the gateway is busy; retry later"))?;
    accepted.insert(&timestamp, &mac);
    Ok(())
}

/// The callbacks accepted within the replay window, per destination: (timestamp, MAC).
#[derive(Debug, Default)]
pub(super) struct Accepted {
    seen: HashSet<(i64, String)>,
}

impl Accepted {
    fn key(timestamp: &str, mac: &str) -> (i64, String) {
        // Both were verified: the timestamp is decimal, the MAC lowercase hex.
        (timestamp.parse().unwrap_or(0), mac.to_owned())
    }

    fn prune(&mut self, now: i64) {
        self.seen
            .retain(|(ts, _)| *ts >= now - callback::MAX_AGE_SECS);
    }

    fn contains(&self, timestamp: &str, mac: &str) -> bool {
        self.seen.contains(&Self::key(timestamp, mac))
    }

    fn insert(&mut self, timestamp: &str, mac: &str) {
        self.seen.insert(Self::key(timestamp, mac));
    }
}

/// Extracts the submission ids of a new-submissions callback. Other (authenticated) callback
/// types yield an empty list: the notice still triggers a poll.
fn parse_notice(destination: &str, body: &[u8]) -> Result<CallbackNotice, Refusal> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        submission_id: Option<String>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Body {
        #[serde(default)]
        submissions: Vec<Entry>,
        #[serde(default)]
        submission_ids: Vec<String>,
    }
    let parsed: Body = serde_json::from_slice(body)
        .map_err(|_| Refusal::BadRequest("callback body is not the expected JSON"))?;
    let ids: BTreeSet<String> = parsed
        .submissions
        .into_iter()
        .filter_map(|e| e.submission_id)
        .chain(parsed.submission_ids)
        .collect();
    if ids.len() > MAX_CALLBACK_IDS {
        return Err(Refusal::BadRequest("callback names too many submissions"));
    }
    if ids.iter().any(|id| {
        id.is_empty()
            || id.len() > 64
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    }) {
        return Err(Refusal::BadRequest(
            "callback names a malformed submission id",
        ));
    }
    Ok(CallbackNotice {
        destination_id: destination.to_owned(),
        submission_ids: ids.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_merges_both_id_lists_and_refuses_bad_ids() {
        let body = br#"{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions",
            "submissionIds":["b","a"],"submissions":[{"destinationId":"d","submissionId":"a","caseId":"c"}]}"#;
        let n = parse_notice("d", body).expect("valid");
        assert_eq!(n.submission_ids, ["a", "b"]);
        assert_eq!(
            parse_notice("d", br#"{"submissionIds":["../x"]}"#),
            Err(Refusal::BadRequest(
                "callback names a malformed submission id"
            ))
        );
        assert!(parse_notice("d", b"[1]").is_err());
        assert_eq!(
            parse_notice("d", b"{}").expect("empty").submission_ids,
            Vec::<String>::new()
        );
    }
}
