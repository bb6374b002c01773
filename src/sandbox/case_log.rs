//! The case event log: `GET /v{1,2}/cases/{caseId}/events` (sender of the case or a
//! connected subscriber) and `POST /v{1,2}/cases/{caseId}/events` (subscriber SETs).
//!
//! The answer is `{"count","offset","totalCount","eventLog":[SET…]}` for both API generations
//! (v2 `eventLog` OBSERVED; the paging members follow the other lists — UNCONFIRMED).
//! A posted SET is answered with 204 (the real status code is UNCONFIRMED).

use std::collections::HashMap;
use std::sync::Arc;

use hyper::Request;
use hyper::body::Incoming;

use crate::fitconnect::types::{EventLogPage, Paging};

use super::auth::Grant;
use super::config::ClientRole;
use super::events;
use super::http::{self, Reply};
use super::problem::{self, ApiProblem, ApiResult};
use super::routes::{Api, db, paging, read, require_content_type};
use super::store::Submission;
use super::{State, now};

fn case_not_found() -> ApiProblem {
    ApiProblem::new(problem::CASE_NOT_FOUND, "unknown case id")
}

async fn case(state: &State, case_id: &str) -> ApiResult<Submission> {
    let key = case_id.to_ascii_lowercase();
    db(state, move |store| store.case_submission(&key))
        .await?
        .ok_or_else(case_not_found)
}

/// Senders see the cases they opened; subscribers those of their destinations.
fn may_read(state: &State, grant: &Grant, s: &Submission) -> ApiResult<()> {
    match grant.role {
        ClientRole::Sender if grant.client_id == s.client_id => state.auth.require_send(grant),
        ClientRole::Sender => Err(case_not_found()),
        ClientRole::Subscriber => state.auth.require_subscribe(grant, &s.destination_id),
    }
}

async fn page(state: &State, s: &Submission, query: &HashMap<String, String>) -> ApiResult<Reply> {
    let (offset, limit) = paging(state, query)?;
    let case_id = s.case_id.clone();
    let (log, total) = db(state, move |store| store.events(&case_id, offset, limit)).await?;
    Ok(log_page(log, offset, total))
}

/// The answer of an event-log request: one page of SETs with its paging members.
pub(crate) fn log_page(log: Vec<String>, offset: u32, total: u64) -> Reply {
    http::json(
        200,
        &EventLogPage {
            paging: Paging {
                count: Some(log.len() as u64),
                offset: Some(u64::from(offset)),
                total_count: Some(total),
            },
            event_log: log,
        },
    )
}

/// `GET /v{1,2}/cases/{caseId}/events`.
pub(crate) async fn list(
    state: &Arc<State>,
    grant: &Grant,
    case_id: &str,
    query: &HashMap<String, String>,
) -> ApiResult<Reply> {
    let s = case(state, case_id).await?;
    may_read(state, grant, &s)?;
    page(state, &s, query).await
}

/// `GET /v{1,2}/submissions/{id}/events` (v2 variant seen in one client; UNCONFIRMED).
pub(crate) async fn list_for_submission(
    state: &Arc<State>,
    grant: &Grant,
    submission_id: &str,
    query: &HashMap<String, String>,
) -> ApiResult<Reply> {
    let key = submission_id.to_ascii_lowercase();
    let s = db(state, move |store| store.submission(&key))
        .await?
        .ok_or_else(|| ApiProblem::new(problem::SUBMISSION_NOT_FOUND, "unknown id"))?;
    may_read(state, grant, &s)?;
    page(state, &s, query).await
}

/// `POST /v{1,2}/cases/{caseId}/events`: an accept, reject or forward SET signed with the
/// destination's signing key.
pub(crate) async fn post(
    state: &Arc<State>,
    api: Api,
    grant: &Grant,
    case_id: &str,
    req: Request<Incoming>,
) -> ApiResult<Reply> {
    let accepted: Vec<&str> = state
        .config
        .profile
        .event_content_types
        .iter()
        .map(String::as_str)
        .collect();
    require_content_type(&req, &accepted)?;
    let s = case(state, case_id).await?;
    state.auth.require_subscribe(grant, &s.destination_id)?;
    if !s.status.is_deliverable() {
        return Err(ApiProblem::new(
            problem::SUBMISSION_STATE_INVALID,
            format!("the submission is {}", s.status),
        ));
    }
    let body = read(state, req, state.config.limits.max_set_bytes).await?;
    let token = std::str::from_utf8(&body)
        .map_err(|_| ApiProblem::new(problem::INVALID_EVENT, "the body is not UTF-8 text"))?
        .trim_ascii()
        .to_owned();
    let destination = state.destination(&s.destination_id)?;
    let sid = s.id.clone();
    let attachments = db(state, move |store| store.attachments(&sid)).await?;
    let expected = events::authentication_tags(
        s.encrypted_metadata.as_deref().unwrap_or_default(),
        s.encrypted_data.as_deref(),
        &attachments,
    );
    let at = now();
    let posted = events::check_posted(
        &token,
        &s,
        &destination.signing.kid,
        &destination.signing.key,
        &expected,
        (api == Api::V2).then_some(state.config.profile.set_payload_schema),
        at,
    )?;
    let sid = s.id.clone();
    db(state, move |store| {
        store.append_event(&sid, &posted.event, &token, Some(posted.next), at)
    })
    .await?;
    Ok(http::no_content())
}
