//! Callback delivery: after each submit, `POST <callback_url>` with the new-submissions body and
//! the `callback-authentication` (hex HMAC-SHA512 over `<timestamp>.<body>`, computed by
//! `fitconnect::callback`) and `callback-timestamp` headers, retried with doubling backoff until
//! a 2xx or the attempts run out. Polling works whatever happens here (§6).
//!
//! Each attempt gets a fresh timestamp and MAC, so a late retry is not refused as stale.
//! Redirects are not followed.

use std::time::Duration;

use crate::fitconnect::types::{NewSubmissionsCallback, SubmissionIds};

use super::Destination;
use super::config::CallbackPolicy;
use super::store::Submission;
use crate::fitconnect::callback::CallbackSecret;

/// Sends callbacks in background tasks.
#[derive(Debug)]
pub(crate) struct Callbacks {
    client: Option<reqwest::Client>,
    policy: CallbackPolicy,
    callback_type: String,
}

impl Callbacks {
    pub(crate) fn new(policy: CallbackPolicy, callback_type: String) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(policy.timeout_secs))
            .connect_timeout(Duration::from_secs(policy.timeout_secs))
            .build()
            .ok();
        Self {
            client,
            policy,
            callback_type,
        }
    }

    /// Announces a submitted submission to its destination's callback URL, if one is set.
    pub(crate) fn new_submission(&self, destination: &Destination, submission: &Submission) {
        let (Some(url), Some(secret), Some(client)) = (
            destination.config.callback_url.clone(),
            destination.config.callback_secret.as_ref(),
            self.client.clone(),
        ) else {
            return;
        };
        let body = NewSubmissionsCallback {
            callback_type: self.callback_type.clone(),
            submission_ids: vec![submission.id.clone()],
            submissions: vec![SubmissionIds {
                destination_id: submission.destination_id.clone(),
                submission_id: submission.id.clone(),
                case_id: submission.case_id.clone(),
            }],
        };
        let body = serde_json::to_vec(&body).expect("JSON value serializes");
        // The configuration refuses an empty secret (checked at load).
        let Ok(secret) = CallbackSecret::new(secret.as_bytes()) else {
            return;
        };
        let policy = self.policy.clone();
        tokio::spawn(async move {
            deliver(&client, &url, &secret, body, &policy).await;
        });
    }
}

/// Tries up to `policy.attempts` times; returns whether a 2xx came back.
async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: &CallbackSecret,
    body: Vec<u8>,
    policy: &CallbackPolicy,
) -> bool {
    let mut backoff = Duration::from_millis(policy.initial_backoff_ms);
    for attempt in 1..=policy.attempts {
        let timestamp = super::now().to_string();
        let mac = secret.sign(&timestamp, &body);
        let sent = client
            .post(url)
            .header("content-type", "application/json")
            .header("callback-authentication", mac)
            .header("callback-timestamp", &timestamp)
            .body(body.clone())
            .send()
            .await;
        if sent.is_ok_and(|r| r.status().is_success()) {
            return true;
        }
        if attempt < policy.attempts {
            tokio::time::sleep(backoff).await;
            backoff = backoff.saturating_mul(2).min(Duration::from_secs(300));
        }
    }
    false
}
