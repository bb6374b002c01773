//! The admin API: queue inspection and re-drive, behind a bearer token.

use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::{Value, json};

use super::reply::{self, Refusal, Reply};
use super::routes::State;
use crate::store::{
    AttachmentMeta, Decision, JobFilter, JobState, JobSummary, Redrive, Store, SubmissionView,
    Timestamp,
};

/// Most jobs one listing returns.
const MAX_LIMIT: u32 = 1000;

/// Compares the presented token with the configured one ([`super::AdminToken::matches`]).
fn authorized(state: &State, req: &Request<Incoming>) -> Result<(), Refusal> {
    let token = state
        .handlers
        .admin_token
        .as_ref()
        .ok_or(Refusal::NotFound)?;
    let presented = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::http::bearer_token)
        .ok_or(Refusal::Unauthorized("a bearer token is required"))?;
    if token.matches(presented) {
        Ok(())
    } else {
        Err(Refusal::Unauthorized("the bearer token is not valid"))
    }
}

/// Answers `/admin/...` (`rest` is the path after `admin`).
pub(super) async fn handle(
    state: &State,
    rest: &[&str],
    req: Request<Incoming>,
) -> Result<Reply, Refusal> {
    authorized(state, &req)?;
    let store = state
        .handlers
        .store
        .as_ref()
        .ok_or(Refusal::Unavailable("no store configured"))?;
    let query = query(&req);
    let limit = query
        .iter()
        .find(|(k, _)| k == "limit")
        .map(|(_, v)| {
            v.parse::<u32>()
                .map_err(|_| Refusal::BadRequest("limit must be a number"))
        })
        .transpose()?
        .unwrap_or(100)
        .min(MAX_LIMIT);
    let store_failed = |_| Refusal::Unavailable("the store is not available");
    match (rest, req.method()) {
        (["jobs"], &Method::GET) => {
            let state_filter = match query
                .iter()
                .find(|(k, _)| k == "state")
                .map(|(_, v)| v.as_str())
            {
                None => None,
                Some("pending") => Some(JobState::Pending),
                Some("delivered") => Some(JobState::Delivered),
                Some("dead") => Some(JobState::Dead),
                Some(_) => {
                    return Err(Refusal::BadRequest(
                        "state must be pending, delivered or dead",
                    ));
                }
            };
            let jobs = store
                .list_jobs(JobFilter {
                    state: state_filter,
                    limit,
                })
                .await
                .map_err(store_failed)?;
            Ok(reply::json(StatusCode::OK, &jobs_json(&jobs)))
        }
        (["dead-letters"], &Method::GET) => {
            let jobs = store
                .list_jobs(JobFilter {
                    state: Some(JobState::Dead),
                    limit,
                })
                .await
                .map_err(store_failed)?;
            Ok(reply::json(StatusCode::OK, &jobs_json(&jobs)))
        }
        (["decisions"], &Method::GET) => {
            // `?decision=rejected`: why were submissions rejected (problem types and their
            // locations, never values).
            let rejected_only = match query
                .iter()
                .find(|(k, _)| k == "decision")
                .map(|(_, v)| v.as_str())
            {
                None => false,
                Some("rejected") => true,
                Some(_) => return Err(Refusal::BadRequest("decision must be rejected")),
            };
            let rows = store
                .decisions(rejected_only, limit)
                .await
                .map_err(store_failed)?;
            let list: Vec<Value> = rows
                .iter()
                .map(|d| {
                    json!({
                        "submissionId": d.submission_id,
                        "caseId": d.case_id,
                        "messageType": d.message_type,
                        "decidedAt": time(Some(d.decided_at)),
                        "decision": decision_json(Some(&d.decision)),
                    })
                })
                .collect();
            Ok(reply::json(StatusCode::OK, &json!({ "decisions": list })))
        }
        (["submissions", id], &Method::GET) => {
            let view = store.submission(id).await.map_err(store_failed)?;
            let view = view.ok_or(Refusal::NotFound)?;
            Ok(reply::json(StatusCode::OK, &submission_json(&view)))
        }
        (["jobs", id, "redrive"], &Method::POST) => {
            let id: i64 = id.parse().map_err(|_| Refusal::NotFound)?;
            let n = store
                .redrive(Redrive::Job(id), Timestamp::now())
                .await
                .map_err(store_failed)?;
            if n == 0 {
                return Err(Refusal::NotFound);
            }
            tracing::info!(job_id = id, via = "admin API", "dead letter re-driven");
            Ok(reply::json(StatusCode::OK, &json!({ "redriven": n })))
        }
        (["dead-letters", "redrive"], &Method::POST) => {
            let n = store
                .redrive(Redrive::All, Timestamp::now())
                .await
                .map_err(store_failed)?;
            tracing::info!(redriven = n, via = "admin API", "dead letters re-driven");
            Ok(reply::json(StatusCode::OK, &json!({ "redriven": n })))
        }
        (
            ["jobs" | "dead-letters" | "decisions"]
            | ["submissions", _]
            | ["jobs", _, "redrive"]
            | ["dead-letters", "redrive"],
            _,
        ) => Err(Refusal::MethodNotAllowed),
        _ => Err(Refusal::NotFound),
    }
}

fn query(req: &Request<Incoming>) -> Vec<(String, String)> {
    req.uri()
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// A time as the CLI shows it (RFC 3339, UTC), `null` when unset.
fn time(t: Option<Timestamp>) -> Value {
    t.and_then(Timestamp::to_rfc3339)
        .map_or(Value::Null, Value::String)
}

fn jobs_json(jobs: &[JobSummary]) -> Value {
    Value::Array(jobs.iter().map(job_json).collect())
}

fn job_json(j: &JobSummary) -> Value {
    json!({
        "jobId": j.job_id,
        "submissionId": j.submission_id,
        "upstream": j.upstream,
        "state": j.state.to_string(),
        "attempts": j.attempts,
        "createdAt": time(Some(j.created_at)),
        "nextAttemptAt": time(Some(j.next_attempt_at)),
        "leaseOwner": j.lease_owner,
        "leaseUntil": time(j.lease_until),
        "lastError": j.last_error,
        "finishedAt": time(j.finished_at),
    })
}

fn attachment_json(a: &AttachmentMeta) -> Value {
    // The file name may carry personal data (a citizen's name); it stays out.
    json!({
        "attachmentId": a.attachment_id,
        "mediaType": a.media_type,
        "size": a.size,
        "sha256": a.sha256,
    })
}

/// A decision with its problems (type, title, location; the detail names places, never
/// values).
fn decision_json(decision: Option<&Decision>) -> Value {
    match decision {
        None => Value::Null,
        Some(Decision::Accepted) => json!({ "kind": "accepted" }),
        Some(Decision::Rejected { problems }) => {
            json!({ "kind": "rejected", "problems": problems })
        }
    }
}

/// One submission for operators: states, decision, timestamps, attachments and jobs. The
/// envelope, evidence tokens and file names stay out (personal data).
fn submission_json(v: &SubmissionView) -> Value {
    let decision = decision_json(v.decision.as_ref());
    json!({
        "submissionId": v.submission_id,
        "seenAt": time(Some(v.seen_at)),
        "storedAt": time(v.stored_at),
        "ackedAt": time(v.acked_at),
        "payloadPurgedAt": time(v.purged_at),
        "decision": decision,
        "attachments": v.attachments.iter().map(attachment_json).collect::<Vec<_>>(),
        "jobs": jobs_json(&v.jobs),
    })
}
