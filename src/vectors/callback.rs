//! `callback` cases: one callback request, delivered one or more times, verified at "now".
//!
//! The `request` input is JSON `{"secret", "timestamp", "authentication", "deliveries"}`; the
//! `body` input holds the raw HTTP body bytes. Expected: `{"results": [...]}` with one entry per
//! delivery: `accept` or the refusal (`bad-timestamp`, `stale`, `bad-mac-format`, `bad-mac`,
//! `replay`).

use serde::Deserialize;

use super::{Case, Env};
use crate::fitconnect::callback::{self, CallbackError, CallbackSecret, ReplayGuard};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    secret: String,
    timestamp: String,
    authentication: String,
    #[serde(default = "one")]
    deliveries: usize,
}

fn one() -> usize {
    1
}

/// The stable name of a callback refusal in the vectors.
#[must_use]
pub(super) fn reason(err: &CallbackError) -> &'static str {
    match err {
        CallbackError::BadTimestamp => "bad-timestamp",
        CallbackError::Stale => "stale",
        CallbackError::BadMacFormat => "bad-mac-format",
        CallbackError::BadMac => "bad-mac",
        CallbackError::Replay => "replay",
    }
}

pub(super) fn run(env: &Env, case: &Case, now: i64) -> Result<(), String> {
    let request: Request = serde_json::from_slice(&env.input(case, "request")?)
        .map_err(|e| format!("request: {e}"))?;
    let body = env.input(case, "body")?;
    let expected: Vec<&str> = case
        .expected
        .get("results")
        .and_then(|r| r.as_array())
        .ok_or("expected.results missing")?
        .iter()
        .map(|v| v.as_str().unwrap_or("?"))
        .collect();
    let secret = CallbackSecret::new(request.secret.as_bytes())
        .map_err(|e| format!("request.secret: {e}"))?;
    let mut guard = ReplayGuard::new();
    let destination = &env.destination_id;
    let actual: Vec<&str> = (0..request.deliveries.min(16))
        .map(|_| {
            match callback::verify(
                &secret,
                destination,
                &request.timestamp,
                &request.authentication,
                &body,
                now,
                &mut guard,
            ) {
                Ok(()) => "accept",
                Err(e) => reason(&e),
            }
        })
        .collect();
    if actual == expected {
        Ok(())
    } else {
        Err(format!("results: expected {expected:?}, got {actual:?}"))
    }
}
