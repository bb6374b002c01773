//! The HTTP/1.1 listener: accept loop, per-connection timeouts, bounded body reading,
//! graceful shutdown, and the response helpers every handler uses.
//!
//! Plain HTTP on loopback by default: the sandbox is a local test double. A vendor who needs
//! TLS puts it behind a terminating proxy.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::State;
use super::problem::{self, ApiProblem, ApiResult};

/// What every handler returns.
pub(crate) type Reply = Response<Full<Bytes>>;

/// How long shutdown waits for open requests before dropping them.
const DRAIN: Duration = Duration::from_secs(5);

/// Runs the accept loop until `stop` fires, then drains open connections.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let header_timeout = Duration::from_secs(state.config.limits.header_timeout_secs);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                // Accept errors (e.g. too many open files) are transient; the loop goes on.
                let Ok((stream, _peer)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let conn = builder(header_timeout)
                    .serve_connection(TokioIo::new(stream), service(Arc::clone(&state)));
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    // A failed connection (client reset, header timeout) concerns only itself.
                    let _ = conn.await;
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, graceful.shutdown()).await;
}

/// One connection over any byte stream, as the accept loop serves a socket, except that the
/// client may half-close (an in-memory stream ends a request no other way). For the fuzz
/// targets, which drive the routes in-process.
pub(crate) async fn serve_stream<IO>(io: IO, state: &Arc<State>)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = builder(Duration::from_secs(state.config.limits.header_timeout_secs));
    builder.half_close(true);
    let _ = builder
        .serve_connection(TokioIo::new(io), service(Arc::clone(state)))
        .await;
}

fn service(
    state: Arc<State>,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Reply,
    Error = Infallible,
    Future = impl Future<Output = Result<Reply, Infallible>> + Send,
> + use<> {
    service_fn(move |req| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(super::routes::handle(state, req).await) }
    })
}

/// The HTTP/1.1 settings of every connection.
fn builder(header_timeout: Duration) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    builder
}

/// Reads the whole body, refusing more than `limit` bytes or taking longer than `timeout`.
pub(crate) async fn read_body(
    req: Request<Incoming>,
    limit: usize,
    timeout: Duration,
) -> ApiResult<Bytes> {
    let too_large = || {
        ApiProblem::new(
            problem::PAYLOAD_TOO_LARGE,
            format!("the body of this request may hold at most {limit} bytes"),
        )
    };
    // An honest Content-Length is refused before a single body byte is read.
    if let Some(len) = req.headers().get(CONTENT_LENGTH) {
        let len: u64 = len
            .to_str()
            .ok()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| ApiProblem::new(problem::INVALID_REQUEST, "bad Content-Length"))?;
        if len > limit as u64 {
            return Err(too_large());
        }
    }
    let body = Limited::new(req.into_body(), limit);
    match tokio::time::timeout(timeout, body.collect()).await {
        Err(_) => Err(ApiProblem::new(
            problem::REQUEST_TIMEOUT,
            "the body did not arrive in time",
        )),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Ok(Err(_)) => Err(ApiProblem::new(
            problem::INVALID_REQUEST,
            "the body could not be read",
        )),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

fn with_type(status: u16, content_type: &'static str, body: Vec<u8>) -> Reply {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A JSON response.
pub(crate) fn json(status: u16, value: &serde_json::Value) -> Reply {
    with_type(
        status,
        "application/json",
        serde_json::to_vec(value).expect("JSON value serializes"),
    )
}

/// A compact JOSE token (`application/jose`).
pub(crate) fn jose(token: String) -> Reply {
    with_type(200, "application/jose", token.into_bytes())
}

/// 204 No Content.
pub(crate) fn no_content() -> Reply {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}

/// An `application/problem+json` response.
pub(crate) fn problem(p: &ApiProblem, prefix: &str, instance: &str) -> Reply {
    with_type(
        p.kind.status,
        "application/problem+json",
        p.body(prefix, instance),
    )
}

/// An OAuth error response (RFC 6749 §5.2).
pub(crate) fn oauth_error(status: u16, body: Vec<u8>) -> Reply {
    let mut resp = with_type(status, "application/json", body);
    resp.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    resp
}
