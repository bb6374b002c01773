//! Callbacks from the sandbox: delivered with retries to a loopback receiver, verified with our
//! callback verifier; tampered body, wrong secret and stale timestamp are refused.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use poststelle::fitconnect::callback::{self, CallbackError, CallbackSecret, ReplayGuard};
use serde_json::Value;
use tokio::sync::mpsc;

use crate::sandbox_support::{now, start_with};

const SECRET: &str = "callback-secret-for-tests";

/// One received callback: timestamp, MAC and the raw body.
struct Received {
    timestamp: String,
    mac: String,
    body: Vec<u8>,
}

/// A loopback receiver that answers 500 to the first `fail_first` calls, then 200.
async fn receiver(fail_first: usize) -> (String, mpsc::UnboundedReceiver<Received>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = mpsc::unbounded_channel();
    let calls = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tx = tx.clone();
            let calls = Arc::clone(&calls);
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let tx = tx.clone();
                let calls = Arc::clone(&calls);
                async move {
                    let header = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let (timestamp, mac) = (
                        header("callback-timestamp"),
                        header("callback-authentication"),
                    );
                    let body = req
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes().to_vec())
                        .unwrap_or_default();
                    let n = calls.fetch_add(1, Ordering::SeqCst);
                    let _ = tx.send(Received {
                        timestamp,
                        mac,
                        body,
                    });
                    let mut resp = Response::new(Full::new(Bytes::new()));
                    if n < fail_first {
                        *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    Ok::<_, Infallible>(resp)
                }
            });
            tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
        }
    });
    (format!("http://{addr}/callback"), rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .expect("callback in time")
        .expect("receiver alive")
}

#[tokio::test]
async fn callback_is_signed_retried_and_verifiable() {
    let (url, mut rx) = receiver(1).await;
    let env = start_with(|c| {
        c.destinations[0].callback_url = Some(url);
        c.destinations[0].callback_secret = Some(SECRET.into());
    })
    .await;
    let (sid, case, _) = env.submitted(0).await;

    // First attempt answered 500, so a second one follows.
    let first = next(&mut rx).await;
    let second = next(&mut rx).await;
    assert_eq!(first.body, second.body);

    let body: Value = serde_json::from_slice(&second.body).expect("json");
    assert_eq!(
        body["type"],
        "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions"
    );
    assert_eq!(body["submissions"][0]["submissionId"], sid.as_str());
    assert_eq!(body["submissions"][0]["caseId"], case.as_str());
    assert_eq!(
        body["submissions"][0]["destinationId"],
        env.destination.as_str()
    );

    let secret = CallbackSecret::new(SECRET.as_bytes()).expect("secret");
    let mut guard = ReplayGuard::new();
    let t = now();
    assert_eq!(
        callback::verify(
            &secret,
            &env.destination,
            &second.timestamp,
            &second.mac,
            &second.body,
            t,
            &mut guard
        ),
        Ok(())
    );
    // The same callback again is a replay.
    assert_eq!(
        callback::verify(
            &secret,
            &env.destination,
            &second.timestamp,
            &second.mac,
            &second.body,
            t,
            &mut guard
        ),
        Err(CallbackError::Replay)
    );
    // Tampered body.
    let mut tampered = second.body.clone();
    tampered.push(b' ');
    let mut fresh = ReplayGuard::new();
    assert_eq!(
        callback::verify(
            &secret,
            &env.destination,
            &second.timestamp,
            &second.mac,
            &tampered,
            t,
            &mut fresh
        ),
        Err(CallbackError::BadMac)
    );
    // Wrong secret.
    let wrong = CallbackSecret::new(b"another-secret").expect("secret");
    assert_eq!(
        callback::verify(
            &wrong,
            &env.destination,
            &second.timestamp,
            &second.mac,
            &second.body,
            t,
            &mut fresh
        ),
        Err(CallbackError::BadMac)
    );
    // Stale: checked as if received six minutes later.
    let ts: i64 = second.timestamp.parse().expect("unix seconds");
    assert_eq!(
        callback::verify(
            &secret,
            &env.destination,
            &second.timestamp,
            &second.mac,
            &second.body,
            ts + 360,
            &mut fresh
        ),
        Err(CallbackError::Stale)
    );
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn no_callback_url_means_polling_only() {
    let (url, mut rx) = receiver(0).await;
    // The receiver exists but is not configured: nothing may arrive.
    let _ = url;
    let env = start_with(|_| {}).await;
    env.submitted(0).await;
    let got = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await;
    assert!(got.is_err(), "no callback without a configured URL");
    env.sandbox.shutdown().await;
}
