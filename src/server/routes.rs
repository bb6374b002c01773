//! Request dispatch and the public endpoints (health, ready, metrics, callbacks).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};

use super::reply::{self, Refusal};
use super::{CallbackNotice, Handlers, admin};
use crate::config::{HttpLimits, ServerLimits};
use crate::fitconnect::callback::{self, CallbackError, NoticeError};
use crate::http::{self, BodyLimits};
use crate::store::{Store, Timestamp};

pub(super) use reply::Reply;

/// The store must answer `/ready` and `/metrics` within this time.
const STORE_PROBE: Duration = Duration::from_secs(2);

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
        ([""], &Method::GET) if state.handlers.console.is_some() => {
            let mut to = reply::empty(StatusCode::SEE_OTHER);
            to.headers_mut().insert(
                hyper::header::LOCATION,
                hyper::header::HeaderValue::from_static("/console/"),
            );
            Ok(to)
        }
        (["api", "v1", rest @ ..], _) => {
            let replies = state.handlers.replies.as_ref().ok_or(Refusal::NotFound)?;
            let client = reply_client(replies, &req)?;
            let rest = rest.iter().map(|s| (*s).to_owned()).collect();
            Ok(replies.api.serve(client, rest, req).await)
        }
        (["console", ..], _) => match &state.handlers.console {
            Some(console) => Ok(console.serve(req).await),
            None => Err(Refusal::NotFound),
        },
        (["health" | "ready" | "metrics"] | ["callbacks", _], _) => Err(Refusal::MethodNotAllowed),
        _ => Err(Refusal::NotFound),
    }
}

/// The Fachverfahren whose reply token is presented (each compared in constant time).
fn reply_client(replies: &super::Replies, req: &Request<Incoming>) -> Result<String, Refusal> {
    let presented = header(req, "authorization")
        .and_then(http::bearer_token)
        .ok_or(Refusal::Unauthorized("a bearer token is required"))?;
    // Every token is compared, so the time does not tell which one matched.
    let mut found = None;
    for (token, name) in &replies.clients {
        if token.matches(presented) && found.is_none() {
            found = Some(name.clone());
        }
    }
    found.ok_or(Refusal::Unauthorized("the bearer token is not valid"))
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
    let metrics = &state.handlers.metrics;
    match &result {
        Ok(()) => metrics.callback(true),
        Err(refused) => {
            metrics.callback(false);
            metrics.callback_refused(refused.reason);
        }
    }
    result.map_err(|r| r.reply)?;
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

/// A refused callback: the answer, and the reason counted in
/// `poststelle_callbacks_refused_total` (one of [`super::metrics::CALLBACK_REFUSALS`]).
struct Refused {
    reply: Refusal,
    reason: &'static str,
}

impl Refused {
    fn new(reason: &'static str, reply: Refusal) -> Self {
        Self { reply, reason }
    }
}

impl From<CallbackError> for Refused {
    fn from(e: CallbackError) -> Self {
        let reason = match e {
            CallbackError::BadTimestamp => "bad_timestamp",
            CallbackError::Stale => "stale",
            CallbackError::BadMacFormat | CallbackError::BadMac => "bad_mac",
            CallbackError::Replay => "replay",
        };
        Self::new(reason, unauthenticated(e))
    }
}

impl From<http::body::BodyError> for Refused {
    fn from(e: http::body::BodyError) -> Self {
        let reason = match e {
            http::body::BodyError::TooLarge { .. } => "too_large",
            http::body::BodyError::Timeout | http::body::BodyError::TooSlow => "timeout",
            _ => "bad_body",
        };
        Self::new(reason, e.into())
    }
}

fn unauthenticated(e: CallbackError) -> Refusal {
    Refusal::Unauthorized(match e {
        CallbackError::BadTimestamp => "callback-timestamp is malformed",
        CallbackError::Stale => "callback-timestamp is outside the accepted window",
        CallbackError::BadMacFormat | CallbackError::BadMac => {
            "callback-authentication does not verify"
        }
        CallbackError::Replay => "callback was already received",
    })
}

/// Verifies a callback and hands its notice to the sink, once (`fitconnect::callback`: headers
/// before the body, MAC, notice, replay check → hand-over → record).
async fn accept_callback(
    state: &State,
    destination: &str,
    req: Request<Incoming>,
) -> Result<(), Refused> {
    let unknown = || Refused::new("unknown_destination", Refusal::NotFound);
    let callbacks = state.handlers.callbacks.as_ref().ok_or_else(unknown)?;
    let destination = destination.to_ascii_lowercase();
    let secret = callbacks
        .destinations
        .get(&destination)
        .ok_or_else(unknown)?;
    let missing = |what| Refused::new("missing_header", Refusal::Unauthorized(what));
    let timestamp = header(&req, "callback-timestamp")
        .ok_or_else(|| missing("callback-timestamp missing"))?
        .to_owned();
    let mac = header(&req, "callback-authentication")
        .ok_or_else(|| missing("callback-authentication missing"))?
        .to_owned();
    callback::check_headers(&timestamp, &mac, unix_now())?;
    // Only now is the body read: small, and within a short deadline, because its MAC can only
    // be checked once it is all there.
    let limits = BodyLimits::new(
        state.limits.max_callback_bytes,
        state.limits.callback_body_timeout(),
        &state.http,
    );
    let body = http::body::read_all(req, limits).await?;
    let now = unix_now();
    let key =
        callback::authenticate(secret, &timestamp, &mac, &body, now)?.replay_key(&destination);
    let notice = callback::parse_notice(&body).map_err(|e| {
        Refused::new(
            "bad_body",
            Refusal::BadRequest(match e {
                NoticeError::TooMany => "callback names too many submissions",
                NoticeError::BadId => "callback names a malformed submission id",
                _ => "callback body is not the expected JSON",
            }),
        )
    })?;
    let unavailable = |what| Refused::new("unavailable", Refusal::Unavailable(what));
    let replayed = match &state.handlers.store {
        Some(store) => store
            .callback_replayed(&key)
            .await
            .map_err(|_| unavailable("the store is not available; retry later"))?,
        None => lock(&callbacks.replays).is_replay(&key, now),
    };
    if replayed {
        return Err(CallbackError::Replay.into());
    }
    callbacks
        .sink
        .notify(CallbackNotice {
            destination_id: destination,
            submission_ids: notice.submission_ids,
        })
        .map_err(|_| unavailable("the gateway is busy; retry later"))?;
    // Recorded after the hand-over: a callback the sink refused stays acceptable for the
    // service's retry. Two identical callbacks racing both trigger a poll, which is harmless.
    match &state.handlers.store {
        Some(store) => store
            .record_callback(&key, now)
            .await
            .map_err(|_| unavailable("the store is not available; retry later"))?,
        None => lock(&callbacks.replays).record(key),
    }
    Ok(())
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the set inconsistent (single inserts).
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
