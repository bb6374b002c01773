//! Submission resources: create (sender), upload attachments, submit, list and fetch
//! (subscriber), download attachments.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::fitconnect::types::{Paging, SubmissionIds, SubmissionPage};

use super::auth::Grant;
use super::events::{self, CREATE_SUBMISSION};
use super::http::{self, Reply};
use super::problem::{self, ApiProblem, ApiResult};
use super::routes::{Api, db, paging, read, require_content_type};
use super::store::{Status, Submission};
use super::{Destination, State, now};
use crate::config::JoseLimits;
use crate::fitconnect::set::{self, SUBMIT_SUBMISSION};
use crate::jose::{CompactJwe, JweError, JweHeader};

pub(crate) fn invalid(detail: &str) -> ApiProblem {
    ApiProblem::new(problem::INVALID_REQUEST, detail)
}

pub(crate) fn parse_json(body: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(invalid("the body must be a JSON object")),
        Err(e) => Err(invalid(&format!(
            "the body is not JSON (at {}:{})",
            e.line(),
            e.column()
        ))),
    }
}

/// `POST /v{1,2}/submissions`.
pub(crate) async fn create(
    state: &Arc<State>,
    api: Api,
    grant: &Grant,
    body: &[u8],
) -> ApiResult<Reply> {
    state.auth.require_send(grant)?;
    let req = parse_json(body)?;
    let destination_id = req
        .get("destinationId")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("destinationId (string) is required"))?
        .to_ascii_lowercase();
    let destination = state.destination(&destination_id)?;
    if destination.config.status != "active" {
        return Err(ApiProblem::new(
            problem::DESTINATION_STATE_INVALID,
            "the destination is not active",
        ));
    }
    let service = req
        .get(api.service_field())
        .filter(|s| s.get("identifier").is_some_and(Value::is_string))
        .ok_or_else(|| {
            invalid(&format!(
                "{} with a string identifier is required",
                api.service_field()
            ))
        })?;
    let identifier = service["identifier"].as_str().unwrap_or_default();
    let services = &destination.config.services;
    if !services.is_empty() && !services.iter().any(|s| s.identifier == identifier) {
        return Err(ApiProblem::new(
            problem::SERVICE_NOT_OFFERED,
            "the destination does not offer this service identifier",
        ));
    }
    let announced = announced_attachments(state, req.get("announcedAttachments"))?;
    let submission = Submission {
        id: uuid::Uuid::new_v4().to_string(),
        case_id: uuid::Uuid::new_v4().to_string(),
        destination_id,
        client_id: grant.client_id.clone(),
        api_version: match api {
            Api::V1 => 1,
            Api::V2 => 2,
        },
        service: service.clone(),
        announced,
        status: Status::Incomplete,
        encrypted_metadata: None,
        encrypted_data: None,
        created_at: now(),
    };
    let reply = SubmissionIds {
        destination_id: submission.destination_id.clone(),
        submission_id: submission.id.clone(),
        case_id: submission.case_id.clone(),
    };
    let st = Arc::clone(state);
    db(state, move |store| {
        store.create_submission(&submission)?;
        let token = events::service_set(
            &st.service_key.private,
            &st.issuer,
            st.config.profile.set_payload_schema,
            &submission,
            CREATE_SUBMISSION,
            json!({}),
            submission.created_at,
        );
        store.append_event(&submission.id, CREATE_SUBMISSION, &token, None, now())
    })
    .await?;
    Ok(http::json(201, &reply))
}

pub(crate) fn announced_attachments(
    state: &State,
    value: Option<&Value>,
) -> ApiResult<Vec<String>> {
    let bad = |d: &str| ApiProblem::new(problem::INVALID_ANNOUNCED_ATTACHMENTS, d);
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let list = value
        .as_array()
        .ok_or_else(|| bad("announcedAttachments must be an array"))?;
    let max = state.config.limits.max_attachments;
    if list.len() > max {
        return Err(bad(&format!("at most {max} attachments per submission")));
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::with_capacity(list.len());
    for item in list {
        let id = item
            .as_str()
            .filter(|s| set::is_uuid(s))
            .ok_or_else(|| bad("every announced attachment id must be a UUID"))?;
        let id = id.to_ascii_lowercase();
        if !seen.insert(id.clone()) {
            return Err(bad("announced attachment ids must be unique"));
        }
        ids.push(id);
    }
    Ok(ids)
}

/// The sender's own submission, or `submission-not-found` (also for someone else's).
async fn own_submission(state: &State, grant: &Grant, id: &str) -> ApiResult<Submission> {
    state.auth.require_send(grant)?;
    let submission = load(state, id).await?;
    if submission.client_id != grant.client_id {
        return Err(ApiProblem::new(problem::SUBMISSION_NOT_FOUND, "unknown id"));
    }
    Ok(submission)
}

async fn load(state: &State, id: &str) -> ApiResult<Submission> {
    let key = id.to_ascii_lowercase();
    db(state, move |store| store.submission(&key))
        .await?
        .ok_or_else(|| ApiProblem::new(problem::SUBMISSION_NOT_FOUND, "unknown id"))
}

/// Structural JWE check: compact form, allowed `alg`/`enc`, the `kid` of `key` (the key the
/// content must be encrypted for), and on v2 an accepted `cty` for metadata and data.
pub(crate) fn check_jwe(
    state: &State,
    key: &ExpectedKey<'_>,
    token: &str,
    what: &str,
    need_cty: bool,
) -> ApiResult<()> {
    let limits = JoseLimits::default();
    let jwe = CompactJwe::parse(token, &limits).map_err(|e| invalid_jwe(what, &e))?;
    check_header(state, key, jwe.header(), what, need_cty)
}

/// The key a JWE must name in its `kid`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExpectedKey<'a> {
    /// Its `kid`.
    pub(crate) kid: &'a str,
    /// What it is, for the problem detail (e.g. "the destination's encryption key").
    pub(crate) name: &'static str,
}

impl<'a> ExpectedKey<'a> {
    /// The destination's encryption key (submissions).
    pub(crate) fn destination(destination: &'a Destination) -> Self {
        Self {
            kid: &destination.encryption.kid,
            name: "the destination's encryption key",
        }
    }
}

pub(crate) fn invalid_jwe(what: &str, e: &JweError) -> ApiProblem {
    ApiProblem::new(problem::INVALID_JWE, format!("{what}: {e}"))
}

/// The header part of [`check_jwe`].
pub(crate) fn check_header(
    state: &State,
    key: &ExpectedKey<'_>,
    header: &JweHeader,
    what: &str,
    need_cty: bool,
) -> ApiResult<()> {
    if header.kid != key.kid {
        return Err(ApiProblem::new(
            problem::INVALID_JWE,
            format!("{what}: kid is not {}", key.name),
        ));
    }
    if need_cty {
        let accepted = &state.config.profile.v2_required_cty;
        if !header.cty.as_ref().is_some_and(|c| accepted.contains(c)) {
            return Err(ApiProblem::new(
                problem::MISSING_CONTENT_TYPE,
                format!("{what}: cty must be one of {}", accepted.join(", ")),
            ));
        }
    }
    Ok(())
}

/// `PUT /v{1,2}/submissions/{id}/attachments/{attachmentId}`.
pub(crate) async fn upload(
    state: &Arc<State>,
    grant: &Grant,
    id: &str,
    attachment_id: &str,
    req: Request<Incoming>,
) -> ApiResult<Reply> {
    require_content_type(&req, &["application/jose"])?;
    // Cheap checks first: a 500 MB body is read only for an upload that can succeed. It is
    // then streamed to a file (`upload`), never held whole.
    let submission = own_submission(state, grant, id).await?;
    let attachment_id = attachment_id.to_ascii_lowercase();
    if !submission.announced.contains(&attachment_id) {
        return Err(ApiProblem::new(
            problem::ATTACHMENT_NOT_ANNOUNCED,
            "announce every attachment when creating the submission",
        ));
    }
    if submission.status != Status::Incomplete {
        return Err(ApiProblem::new(
            problem::SUBMISSION_STATE_INVALID,
            format!("the submission is {}", submission.status),
        ));
    }
    let destination = state.destination(&submission.destination_id)?;
    let (spool, file, header) = super::upload::receive(state, req).await?;
    check_header(
        state,
        &ExpectedKey::destination(destination),
        &header,
        "attachment",
        false,
    )?;
    let sid = submission.id.clone();
    db(state, move |store| {
        store.put_attachment(&sid, &attachment_id, &file)
    })
    .await?;
    spool.keep();
    Ok(http::no_content())
}

/// `PUT /v{1,2}/submissions/{id}`: all announced attachments must be there.
pub(crate) async fn submit(
    state: &Arc<State>,
    api: Api,
    grant: &Grant,
    id: &str,
    req: Request<Incoming>,
) -> ApiResult<Reply> {
    require_content_type(&req, &["application/json"])?;
    let submission = own_submission(state, grant, id).await?;
    let destination = state.destination(&submission.destination_id)?;
    let body = read(state, req, state.config.limits.max_submit_bytes).await?;
    let fields = parse_json(&body)?;
    let text = |name: &str| -> ApiResult<Option<String>> {
        match fields.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim_ascii().to_owned())),
            Some(_) => Err(invalid(&format!("{name} must be a string"))),
        }
    };
    let metadata =
        text("encryptedMetadata")?.ok_or_else(|| invalid("encryptedMetadata is required"))?;
    let data = text("encryptedData")?.filter(|d| !d.is_empty());
    let v2 = api == Api::V2;
    if v2 && data.is_none() {
        return Err(invalid("encryptedData is required on v2"));
    }
    let key = ExpectedKey::destination(destination);
    check_jwe(state, &key, &metadata, "encryptedMetadata", v2)?;
    if let Some(data) = &data {
        check_jwe(state, &key, data, "encryptedData", v2)?;
    }
    let st = Arc::clone(state);
    let sid = submission.id.clone();
    let submitted = db(state, move |store| {
        let at = now();
        store.submit(&sid, &metadata, data.as_deref(), at, |s, uploaded| {
            all_uploaded(&s.announced, uploaded)?;
            let tags = events::authentication_tags(&metadata, data.as_deref(), uploaded);
            let payload = json!({ "authenticationTags": tags });
            let token = events::service_set(
                &st.service_key.private,
                &st.issuer,
                st.config.profile.set_payload_schema,
                s,
                SUBMIT_SUBMISSION,
                payload,
                at,
            );
            Ok((SUBMIT_SUBMISSION.to_owned(), token))
        })
    })
    .await??;
    state.callbacks.new_submission(destination, &submitted);
    Ok(http::json(
        200,
        &SubmissionIds {
            destination_id: submitted.destination_id,
            submission_id: submitted.id,
            case_id: submitted.case_id,
        },
    ))
}

/// Refuses a submit (of a submission or a reply) before every announced attachment is
/// there; `uploaded`: (attachmentId, tag) as the store keeps them.
pub(crate) fn all_uploaded(announced: &[String], uploaded: &[(String, String)]) -> ApiResult<()> {
    let have: HashSet<&str> = uploaded.iter().map(|(a, _)| a.as_str()).collect();
    let missing = announced
        .iter()
        .filter(|a| !have.contains(a.as_str()))
        .count();
    if missing > 0 {
        return Err(ApiProblem::new(
            problem::MISSING_ATTACHMENTS,
            format!("{missing} announced attachment(s) not uploaded"),
        ));
    }
    Ok(())
}

/// `GET /v{1,2}/submissions?destinationId=&offset=&limit=` (subscriber).
pub(crate) async fn list(
    state: &Arc<State>,
    grant: &Grant,
    query: &HashMap<String, String>,
) -> ApiResult<Reply> {
    let destination_id = query
        .get("destinationId")
        .ok_or_else(|| invalid("the destinationId query parameter is required"))?
        .to_ascii_lowercase();
    state.destination(&destination_id)?;
    state.auth.require_subscribe(grant, &destination_id)?;
    let (offset, limit) = paging(state, query)?;
    let dest = destination_id.clone();
    let (rows, total) = db(state, move |store| store.deliverable(&dest, offset, limit)).await?;
    let submissions: Vec<SubmissionIds> = rows
        .into_iter()
        .map(|(submission_id, case_id)| SubmissionIds {
            destination_id: destination_id.clone(),
            submission_id,
            case_id,
        })
        .collect();
    Ok(http::json(
        200,
        &SubmissionPage {
            paging: Paging {
                count: Some(submissions.len() as u64),
                offset: Some(u64::from(offset)),
                total_count: Some(total),
            },
            submissions,
        },
    ))
}

async fn deliverable(state: &State, grant: &Grant, id: &str) -> ApiResult<Submission> {
    let submission = load(state, id).await?;
    state
        .auth
        .require_subscribe(grant, &submission.destination_id)?;
    if !submission.status.is_deliverable() {
        return Err(ApiProblem::new(
            problem::SUBMISSION_STATE_INVALID,
            format!("the submission is {}", submission.status),
        ));
    }
    Ok(submission)
}

/// `GET /v{1,2}/submissions/{id}` (subscriber; submitted or forwarded only).
pub(crate) async fn fetch(
    state: &Arc<State>,
    api: Api,
    grant: &Grant,
    id: &str,
) -> ApiResult<Reply> {
    let s = deliverable(state, grant, id).await?;
    // The service object is answered under the name of the API generation asked.
    let field = api.service_field();
    Ok(http::json(
        200,
        &json!({
            "destinationId": s.destination_id,
            "submissionId": s.id,
            "caseId": s.case_id,
            field: s.service,
            "encryptedMetadata": s.encrypted_metadata,
            "encryptedData": s.encrypted_data,
            "attachments": s.announced,
        }),
    ))
}

/// `GET /v{1,2}/submissions/{id}/attachments/{attachmentId}` (subscriber).
pub(crate) async fn fetch_attachment(
    state: &Arc<State>,
    grant: &Grant,
    id: &str,
    attachment_id: &str,
) -> ApiResult<Reply> {
    let s = deliverable(state, grant, id).await?;
    let aid = attachment_id.to_ascii_lowercase();
    let (path, size) = db(state, move |store| store.attachment(&s.id, &aid))
        .await?
        .ok_or_else(|| ApiProblem::new(problem::ATTACHMENT_NOT_FOUND, "unknown attachment id"))?;
    // Streamed from its file: a 500 MB attachment is never read whole.
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiProblem::new(problem::INTERNAL_ERROR, "the attachment file is missing"))?
        .into_std()
        .await;
    Ok(crate::http::reply::file(file, size, "application/jose"))
}
