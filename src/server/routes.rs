//! Request dispatch and the public endpoints (health, ready, metrics, callbacks).

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::reply::{self, Refusal};
use super::{CallbackNotice, Handlers, admin};
use crate::config::{HttpLimits, ServerLimits};
use crate::fitconnect::callback::{self, CallbackError, CallbackSecret, ReplayGuard};
use crate::http::{self, BodyLimits};
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
    pub(super) http: HttpLimits,
}

/// Which routes a handler serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Everything, on connections within the limits.
    Main,
    /// `/health` and `/ready` on a probe slot beyond the limits; everything else 503.
    Overflow,
    /// The probe listener: `/health`, `/ready`, `/metrics`; everything else 404.
    Probe,
}

/// The listener's handler for `mode`.
pub(super) fn handler(state: &Arc<State>, mode: Mode) -> http::Handler {
    let state = Arc::clone(state);
    http::handler(move |req| {
        let state = Arc::clone(&state);
        async move {
            let answer = match mode {
                Mode::Main => route(&state, req).await,
                Mode::Overflow | Mode::Probe => {
                    let (path, method) = (req.uri().path().to_owned(), req.method().clone());
                    probe(&state, mode, &path, &method).await
                }
            };
            answer.unwrap_or_else(|refusal| refusal.reply())
        }
    })
}

fn health() -> Reply {
    reply::with_type(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        b"ok\n".as_slice(),
    )
}

/// The probe routes, answered without reading a body.
async fn probe(state: &State, mode: Mode, path: &str, method: &Method) -> Result<Reply, Refusal> {
    match (path, method, mode) {
        ("/health", &Method::GET, _) => Ok(health()),
        ("/ready", &Method::GET, _) => ready(state).await,
        ("/metrics", &Method::GET, Mode::Probe) => Ok(metrics(state).await),
        (_, _, Mode::Probe) => Err(Refusal::NotFound),
        _ => Err(Refusal::Unavailable(
            "the server is at its connection limit; retry later",
        )),
    }
}

async fn route(state: &State, req: Request<Incoming>) -> Result<Reply, Refusal> {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let method = req.method().clone();
    match (segments.as_slice(), &method) {
        (["health"], &Method::GET) => Ok(health()),
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

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn unauthenticated(e: CallbackError) -> Refusal {
    Refusal::Unauthorized(match e {
        CallbackError::BadTimestamp => "callback-timestamp is malformed",
        CallbackError::Stale => "callback-timestamp is outside the accepted window",
        CallbackError::BadMacFormat | CallbackError::BadMac | CallbackError::Replay => {
            "callback-authentication does not verify"
        }
    })
}

/// The checks of [`callback::verify`] that need no body, before a byte of it is read: the
/// timestamp's format and window, the MAC's format. The verifier itself decides (one rule in
/// one place): run over an empty body, it reaches the MAC comparison only when all of those
/// passed, so a MAC mismatch there means "headers fine, body still to check".
fn check_headers(
    secret: &CallbackSecret,
    timestamp: &str,
    mac: &str,
    now: i64,
) -> Result<(), Refusal> {
    match callback::verify(secret, timestamp, mac, b"", now, &mut ReplayGuard::new()) {
        Ok(()) | Err(CallbackError::BadMac) => Ok(()),
        Err(e) => Err(unauthenticated(e)),
    }
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
    check_headers(secret, &timestamp, &mac, unix_now())?;
    // Only now is the body read: small, and within a short deadline, because its MAC can only
    // be checked once it is all there.
    let limits = BodyLimits::new(
        state.limits.max_callback_bytes,
        state.limits.callback_body_timeout(),
        &state.http,
    );
    let body = http::body::read_all(req, limits).await?;
    let now = unix_now();
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
    .map_err(unauthenticated)?;
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
