//! Replies (Rückkanal, "BiDiKo"): the destination's subscriber answers a submission, the
//! submission's sender fetches the answer and accepts or rejects it.
//!
//! Endpoints (facts and what stays unconfirmed: `docs/protocol-facts.md`, section "Replies"):
//!
//! | who | request | answer |
//! |---|---|---|
//! | subscriber | `POST /v{1,2}/replies` `{"submissionId", "announcedAttachments"}` | 201 `{"replyId","caseId","submissionId","destinationId"}`, `create-reply` SET |
//! | subscriber | `PUT /v{1,2}/replies/{id}/attachments/{aid}` (`application/jose`) | 204 |
//! | subscriber | `PUT /v{1,2}/replies/{id}` `{"encryptedMetadata","encryptedData"}` | 200, `submit-reply` SET with the authentication tags |
//! | sender | `GET /v{1,2}/replies?offset&limit` | submitted replies for this client; `notify-reply` (`polling`) once per reply |
//! | sender, subscriber | `GET /v{1,2}/replies/{id}` | the reply with its status (the sender: once submitted) |
//! | sender | `GET /v{1,2}/replies/{id}/attachments/{aid}` | the attachment JWE |
//! | sender, subscriber | `GET /v{1,2}/replies/{id}/events` | the SETs about this reply |
//! | sender | `PUT /v{1,2}/replies/{id}/accept` `{"authenticationTags"}` | 204, `accept-reply` SET |
//! | sender | `PUT /v{1,2}/replies/{id}/reject` `{"problems":[…]}` | 204, `reject-reply` SET |
//!
//! Senders hold no signing key registered with FIT-Connect, so the sandbox writes every reply
//! SET itself (`iss` = its URL), the sender's decisions included.
//!
//! Which key the reply is encrypted for is the sender's choice in the submission's metadata
//! (`replyChannel.fitConnect.encryptionPublicKey`), end-to-end encrypted for the destination.
//! The real delivery service cannot read it. The sandbox, which generated or was given the
//! destination's private key, reads the metadata once when a reply is opened — to refuse a
//! reply the sender did not ask for with a precise problem (`reply-channel-not-fit-connect`,
//! naming the channel chosen) and to check later that the reply's JWEs name that key. Stricter
//! than the real service, on purpose, like its other checks; the plaintext never leaves the
//! function that reads the channel and is zeroized.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};

use super::auth::Grant;
use super::config::ClientRole;
use super::http::{self, Reply};
use super::problem::{self, ApiProblem, ApiResult};
use super::routes::{Api, db_map, paging, read, require_content_type};
use super::store::{Status, Store, StoreError, StoredReply, Submission};
use super::submissions::{
    ExpectedKey, all_uploaded, announced_attachments, check_header, check_jwe, invalid, parse_json,
};
use super::{State, events, keys, now};
use crate::config::JoseLimits;
use crate::fitconnect::metadata::{MetadataValidator, ReplyChannel};
use crate::fitconnect::problems::Problem;
use crate::fitconnect::set::{
    self, ACCEPT_REPLY, AuthenticationTags, CREATE_REPLY, NOTIFY_REPLY, REJECT_REPLY, SUBMIT_REPLY,
};
use crate::fitconnect::types::{Paging, ReplyDocument, ReplyIds, ReplyPage};
use crate::jose::{CompactJwe, KeyRing};

fn not_found() -> ApiProblem {
    ApiProblem::new(problem::REPLY_NOT_FOUND, "unknown reply id")
}

fn state_invalid(status: Status) -> ApiProblem {
    ApiProblem::new(
        problem::REPLY_STATE_INVALID,
        format!("the reply is {status}"),
    )
}

fn reply_problem(e: StoreError) -> ApiProblem {
    match e {
        StoreError::NotFound => not_found(),
        StoreError::State(s) => state_invalid(s),
        StoreError::TooMany => ApiProblem::new(
            problem::TOO_MANY_REPLIES,
            "limits.max_replies_per_submission is reached",
        ),
        _ => ApiProblem::new(problem::INTERNAL_ERROR, "the sandbox store failed"),
    }
}

/// A SET the sandbox issues about `reply`.
fn service_set(state: &State, reply: &StoredReply, event: &str, payload: Value, at: i64) -> String {
    set::sign_reply_event(
        &state.service_key.private,
        &set::SetClaims {
            issuer: &state.issuer,
            submission_id: &reply.submission_id,
            case_id: &reply.case_id,
            schema: state.config.profile.set_payload_schema,
        },
        &reply.id,
        event,
        payload,
        at,
    )
}

/// Submissions a reply may answer: sent and not rejected (an accepted one included — the
/// answer usually comes after the acknowledgement).
fn answerable(status: Status) -> bool {
    matches!(
        status,
        Status::Submitted | Status::Forwarded | Status::Accepted
    )
}

/// The kid of the reply key the sender named in the submission's metadata, or the precise
/// refusal. Blocking (RSA decryption, schema validation): call off the async workers.
fn reply_key_kid(state: &State, submission: &Submission) -> ApiResult<String> {
    static VALIDATOR: OnceLock<MetadataValidator> = OnceLock::new();
    let refuse = |detail: String| ApiProblem::new(problem::REPLY_CHANNEL_NOT_FIT_CONNECT, detail);
    let destination = state.destination(&submission.destination_id)?;
    let key = keys::decryption_key(&destination.encryption_path).map_err(|_| {
        ApiProblem::new(
            problem::INTERNAL_ERROR,
            "the destination's decryption key could not be read",
        )
    })?;
    let limits = JoseLimits::default();
    let metadata = submission.encrypted_metadata.as_deref().unwrap_or_default();
    let plaintext = CompactJwe::parse(metadata, &limits)
        .and_then(|jwe| jwe.decrypt(&KeyRing::from(key), &limits))
        .map_err(|_| refuse("the submission's metadata could not be decrypted".into()))?;
    let validator = VALIDATOR.get_or_init(|| MetadataValidator::with_unconfirmed(true));
    let parsed = validator.validate(plaintext.bytes()).map_err(|e| {
        refuse(format!(
            "the submission's metadata were not read ({}), so its reply channel is unknown",
            e.failure().problem_type().id
        ))
    })?;
    match parsed.reply_channel {
        Some(ReplyChannel::FitConnect(channel)) => Ok(channel.encryption_public_key.kid),
        // A name its version does not declare (e.g. `fitConnect` in 1.0.0) is not typed there,
        // so it is no FIT-Connect channel; the sender's member name is not echoed.
        Some(ReplyChannel::Undeclared { .. }) => Err(refuse(format!(
            "the sender chose a reply channel metadata {} does not define",
            parsed.version
        ))),
        Some(other) => Err(refuse(format!(
            "the sender chose the {} reply channel",
            other.name()
        ))),
        None => Err(refuse(
            "the submission's metadata name no reply channel".into(),
        )),
    }
}

/// `POST /v{1,2}/replies` (the subscriber of the submission's destination).
pub(crate) async fn create(state: &Arc<State>, grant: &Grant, body: &[u8]) -> ApiResult<Reply> {
    let req = parse_json(body)?;
    let submission_id = req
        .get("submissionId")
        .and_then(Value::as_str)
        .filter(|s| set::is_uuid(s))
        .ok_or_else(|| invalid("submissionId (a UUID) is required"))?
        .to_ascii_lowercase();
    let announced = announced_attachments(state, req.get("announcedAttachments"))?;
    let key = submission_id.clone();
    let submission = db_map(state, move |store| store.submission(&key), reply_problem)
        .await?
        .ok_or_else(|| ApiProblem::new(problem::SUBMISSION_NOT_FOUND, "unknown id"))?;
    state
        .auth
        .require_subscribe(grant, &submission.destination_id)?;
    if !answerable(submission.status) {
        return Err(ApiProblem::new(
            problem::SUBMISSION_STATE_INVALID,
            format!("a {} submission cannot be answered", submission.status),
        ));
    }
    let destination = state.destination(&submission.destination_id)?;
    let offered = &destination.config.reply_channels;
    if !offered.is_empty() && !offered.iter().any(|c| c == "fitConnect") {
        return Err(ApiProblem::new(
            problem::REPLY_CHANNEL_NOT_OFFERED,
            format!(
                "the destination offers the reply channels {} only",
                offered.join(", ")
            ),
        ));
    }
    let st = Arc::clone(state);
    let reply = tokio::task::spawn_blocking(move || -> ApiResult<StoredReply> {
        let reply_kid = reply_key_kid(&st, &submission)?;
        let reply = StoredReply {
            id: uuid::Uuid::new_v4().to_string(),
            case_id: submission.case_id.clone(),
            submission_id: submission.id.clone(),
            destination_id: submission.destination_id.clone(),
            sender_client_id: submission.client_id.clone(),
            reply_kid,
            announced,
            status: Status::Incomplete,
            encrypted_metadata: None,
            encrypted_data: None,
            created_at: now(),
        };
        let token = service_set(&st, &reply, CREATE_REPLY, json!({}), reply.created_at);
        st.store
            .create_reply(
                &reply,
                st.config.limits.max_replies_per_submission,
                CREATE_REPLY,
                &token,
            )
            .map_err(reply_problem)?;
        Ok(reply)
    })
    .await
    .map_err(|_| ApiProblem::new(problem::INTERNAL_ERROR, "reply task failed"))??;
    Ok(http::json(201, &ids(&reply)))
}

fn ids(reply: &StoredReply) -> ReplyIds {
    ReplyIds {
        reply_id: reply.id.clone(),
        case_id: reply.case_id.clone(),
        submission_id: reply.submission_id.clone(),
        destination_id: Some(reply.destination_id.clone()),
    }
}

async fn load(state: &State, id: &str) -> ApiResult<StoredReply> {
    let key = id.to_ascii_lowercase();
    db_map(state, move |store| store.reply(&key), reply_problem)
        .await?
        .ok_or_else(not_found)
}

/// Who asks about a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Party {
    /// The client that sent the submission answered.
    Sender,
    /// A subscriber connected to the destination that wrote the reply.
    Subscriber,
}

/// The reply if `grant` is one of its two parties (`reply-not-found` for anybody else, so
/// ids of others' replies are not confirmed).
async fn party(state: &State, grant: &Grant, id: &str) -> ApiResult<(StoredReply, Party)> {
    let reply = load(state, id).await?;
    match grant.role {
        ClientRole::Sender if grant.client_id == reply.sender_client_id => {
            state.auth.require_send(grant)?;
            Ok((reply, Party::Sender))
        }
        ClientRole::Sender => Err(not_found()),
        ClientRole::Subscriber => {
            state
                .auth
                .require_subscribe(grant, &reply.destination_id)
                .map_err(|_| not_found())?;
            Ok((reply, Party::Subscriber))
        }
    }
}

async fn as_subscriber(state: &State, grant: &Grant, id: &str) -> ApiResult<StoredReply> {
    match party(state, grant, id).await? {
        (reply, Party::Subscriber) => Ok(reply),
        (_, Party::Sender) => Err(ApiProblem::new(
            problem::INSUFFICIENT_SCOPE,
            "only the destination's subscriber writes a reply",
        )),
    }
}

/// The sender's view: once submitted (an incomplete reply is the subscriber's draft).
async fn as_sender(state: &State, grant: &Grant, id: &str) -> ApiResult<StoredReply> {
    match party(state, grant, id).await? {
        (reply, Party::Sender) if reply.status == Status::Incomplete => Err(not_found()),
        (reply, Party::Sender) => Ok(reply),
        (_, Party::Subscriber) => Err(ApiProblem::new(
            problem::INSUFFICIENT_SCOPE,
            "only the sender of the submission decides on a reply",
        )),
    }
}

fn reply_key(reply: &StoredReply) -> ExpectedKey<'_> {
    ExpectedKey {
        kid: &reply.reply_kid,
        name: "the reply key from the submission's metadata",
    }
}

/// `PUT /v{1,2}/replies/{id}/attachments/{attachmentId}` (subscriber).
pub(crate) async fn upload(
    state: &Arc<State>,
    grant: &Grant,
    id: &str,
    attachment_id: &str,
    req: Request<Incoming>,
) -> ApiResult<Reply> {
    require_content_type(&req, &["application/jose"])?;
    let reply = as_subscriber(state, grant, id).await?;
    let attachment_id = attachment_id.to_ascii_lowercase();
    if !reply.announced.contains(&attachment_id) {
        return Err(ApiProblem::new(
            problem::ATTACHMENT_NOT_ANNOUNCED,
            "announce every attachment when creating the reply",
        ));
    }
    if reply.status != Status::Incomplete {
        return Err(state_invalid(reply.status));
    }
    let (spool, file, header) = super::upload::receive(state, req).await?;
    check_header(state, &reply_key(&reply), &header, "attachment", false)?;
    let rid = reply.id.clone();
    db_map(
        state,
        move |store| store.put_reply_attachment(&rid, &attachment_id, &file),
        reply_problem,
    )
    .await?;
    spool.keep();
    Ok(http::no_content())
}

/// `PUT /v{1,2}/replies/{id}` (subscriber): metadata and data, both required, encrypted for
/// the reply key; every announced attachment uploaded.
pub(crate) async fn submit(
    state: &Arc<State>,
    api: Api,
    grant: &Grant,
    id: &str,
    req: Request<Incoming>,
) -> ApiResult<Reply> {
    require_content_type(&req, &["application/json"])?;
    let reply = as_subscriber(state, grant, id).await?;
    let body = read(state, req, state.config.limits.max_submit_bytes).await?;
    let fields = parse_json(&body)?;
    let text = |name: &str| -> ApiResult<String> {
        match fields.get(name) {
            Some(Value::String(s)) if !s.trim_ascii().is_empty() => Ok(s.trim_ascii().to_owned()),
            Some(Value::String(_)) | None | Some(Value::Null) => {
                Err(invalid(&format!("{name} is required")))
            }
            Some(_) => Err(invalid(&format!("{name} must be a string"))),
        }
    };
    let metadata = text("encryptedMetadata")?;
    let data = text("encryptedData")?;
    let key = reply_key(&reply);
    let v2 = api == Api::V2;
    check_jwe(state, &key, &metadata, "encryptedMetadata", v2)?;
    check_jwe(state, &key, &data, "encryptedData", v2)?;
    let st = Arc::clone(state);
    let rid = reply.id.clone();
    let submitted = db_map(
        state,
        move |store| {
            let at = now();
            store.submit_reply(&rid, &metadata, &data, at, |r, uploaded| {
                all_uploaded(&r.announced, uploaded)?;
                let tags = events::authentication_tags(&metadata, Some(&data), uploaded);
                let payload = json!({ "authenticationTags": tags });
                Ok((
                    SUBMIT_REPLY.to_owned(),
                    service_set(&st, r, SUBMIT_REPLY, payload, at),
                ))
            })
        },
        reply_problem,
    )
    .await??;
    Ok(http::json(200, &ids(&submitted)))
}

/// `GET /v{1,2}/replies?offset=&limit=` (sender): the submitted replies for this client, not
/// yet accepted or rejected; listing them counts as learning of them ([`note_polled`]).
pub(crate) async fn list(
    state: &Arc<State>,
    grant: &Grant,
    query: &HashMap<String, String>,
) -> ApiResult<Reply> {
    if grant.role != ClientRole::Sender {
        return Err(ApiProblem::new(
            problem::INSUFFICIENT_SCOPE,
            "replies are listed for the sender of the submissions",
        ));
    }
    state.auth.require_send(grant)?;
    let (offset, limit) = paging(state, query)?;
    let client = grant.client_id.clone();
    let st = Arc::clone(state);
    let (rows, total) = db_map(
        state,
        move |store| {
            let (rows, total) = store.replies_for(&client, offset, limit)?;
            let listed: Vec<String> = rows.iter().map(|r| r.reply_id.clone()).collect();
            note_polled(&st, store, &listed)?;
            Ok((rows, total))
        },
        reply_problem,
    )
    .await?;
    let replies = rows;
    Ok(http::json(
        200,
        &ReplyPage {
            paging: Paging {
                count: Some(replies.len() as u64),
                offset: Some(u64::from(offset)),
                total_count: Some(total),
            },
            replies,
        },
    ))
}

/// Records that the sender learnt of these replies by polling: one `notify-reply`
/// (`polling`) per reply, the first time only (FITKO planning#1295).
fn note_polled(state: &State, store: &Store, reply_ids: &[String]) -> Result<(), StoreError> {
    let at = now();
    store.note_once(reply_ids, NOTIFY_REPLY, at, |r| {
        service_set(
            state,
            r,
            NOTIFY_REPLY,
            json!({ "notifyType": "polling" }),
            at,
        )
    })?;
    Ok(())
}

/// `GET /v{1,2}/replies/{id}`: the reply with its status (the sender sees it once submitted;
/// its first retrieval counts as learning of it, as a listing does).
pub(crate) async fn fetch(state: &Arc<State>, grant: &Grant, id: &str) -> ApiResult<Reply> {
    let (reply, party) = party(state, grant, id).await?;
    if party == Party::Sender && reply.status == Status::Incomplete {
        return Err(not_found());
    }
    if party == Party::Sender {
        let st = Arc::clone(state);
        let ids = vec![reply.id.clone()];
        db_map(
            state,
            move |store| note_polled(&st, store, &ids),
            reply_problem,
        )
        .await?;
    }
    Ok(http::json(
        200,
        &ReplyDocument {
            ids: ids(&reply),
            status: reply.status.as_str().to_owned(),
            encrypted_metadata: reply.encrypted_metadata,
            encrypted_data: reply.encrypted_data,
            attachments: reply.announced,
        },
    ))
}

/// `GET /v{1,2}/replies/{id}/attachments/{attachmentId}` (sender, once submitted).
pub(crate) async fn fetch_attachment(
    state: &Arc<State>,
    grant: &Grant,
    id: &str,
    attachment_id: &str,
) -> ApiResult<Reply> {
    let reply = as_sender(state, grant, id).await?;
    let aid = attachment_id.to_ascii_lowercase();
    let (path, size) = db_map(
        state,
        move |store| store.reply_attachment(&reply.id, &aid),
        reply_problem,
    )
    .await?
    .ok_or_else(|| ApiProblem::new(problem::ATTACHMENT_NOT_FOUND, "unknown attachment id"))?;
    let file = tokio::fs::File::open(&path)
        .await
        .map_err(|_| ApiProblem::new(problem::INTERNAL_ERROR, "the attachment file is missing"))?
        .into_std()
        .await;
    Ok(crate::http::reply::file(file, size, "application/jose"))
}

/// `GET /v{1,2}/replies/{id}/events` (either party; FITKO planning#2089): the SETs about
/// this reply only, in the shape of the case event log.
pub(crate) async fn event_log(
    state: &Arc<State>,
    grant: &Grant,
    id: &str,
    query: &HashMap<String, String>,
) -> ApiResult<Reply> {
    let (reply, party) = party(state, grant, id).await?;
    if party == Party::Sender && reply.status == Status::Incomplete {
        return Err(not_found());
    }
    let (offset, limit) = paging(state, query)?;
    let (log, total) = db_map(
        state,
        move |store| store.events_about(&reply.id, offset, limit),
        reply_problem,
    )
    .await?;
    Ok(super::case_log::log_page(log, offset, total))
}

/// What the sender decided, checked against the reply.
fn decision(
    reply: &StoredReply,
    uploaded: &[(String, String)],
    which: &str,
    body: &[u8],
) -> ApiResult<(Status, &'static str, Value)> {
    let req = parse_json(body)?;
    match which {
        "accept" => {
            let tags: AuthenticationTags = req
                .get("authenticationTags")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|_| invalid("authenticationTags is malformed"))?
                .ok_or_else(|| invalid("authenticationTags is required"))?;
            let expected = events::authentication_tags(
                reply.encrypted_metadata.as_deref().unwrap_or_default(),
                reply.encrypted_data.as_deref(),
                uploaded,
            );
            if tags != expected {
                return Err(ApiProblem::new(
                    problem::INCORRECT_AUTHENTICATION_TAGS,
                    "authenticationTags differ from those of the submit-reply event",
                ));
            }
            Ok((
                Status::Accepted,
                ACCEPT_REPLY,
                json!({ "authenticationTags": tags }),
            ))
        }
        _ => {
            let problems: Vec<Problem> = req
                .get("problems")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|_| invalid("problems must be a list of {type, title, detail, instance}"))?
                .unwrap_or_default();
            if problems.is_empty() {
                return Err(invalid("a rejection needs a non-empty problems list"));
            }
            Ok((
                Status::Rejected,
                REJECT_REPLY,
                json!({ "problems": problems }),
            ))
        }
    }
}

/// `PUT /v{1,2}/replies/{id}/accept` and `…/reject` (sender): the sandbox records the
/// decision as an `accept-reply` / `reject-reply` SET of its own.
pub(crate) async fn decide(
    state: &Arc<State>,
    grant: &Grant,
    id: &str,
    which: &str,
    body: &[u8],
) -> ApiResult<Reply> {
    let reply = as_sender(state, grant, id).await?;
    if reply.status != Status::Submitted {
        return Err(state_invalid(reply.status));
    }
    let rid = reply.id.clone();
    let uploaded = db_map(state, move |store| store.attachments(&rid), reply_problem).await?;
    let (next, event, payload) = decision(&reply, &uploaded, which, body)?;
    let at = now();
    let token = service_set(state, &reply, event, payload, at);
    db_map(
        state,
        move |store| store.decide_reply(&reply.id, next, event, &token, at),
        reply_problem,
    )
    .await?;
    Ok(http::no_content())
}
