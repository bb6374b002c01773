//! Routing: path + method → handler, for the v1 and the v2 path profile alike, plus the
//! token endpoint, the sandbox JWKS and the destination resources. Every failure becomes a
//! problem response here, and only here.

use std::collections::HashMap;
use std::sync::Arc;

use hyper::body::{Bytes, Incoming};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request};
use serde_json::json;

use crate::fitconnect::types::DestinationInfo;

use super::http::{self, Reply};
use super::problem::{self, ApiProblem, ApiResult};
use super::store::{Store, StoreError};
use super::{Destination, State, case_log, replies, submissions};

/// The two API generations (protocol notes §1.2 and §1.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    /// `/v1/…`, `serviceType`, `services`.
    V1,
    /// `/v2/…`, `publicService`, `publicServices`; metadata and data JWEs need `cty`.
    V2,
}

impl Api {
    fn parse(segment: &str) -> Option<Self> {
        match segment {
            "v1" => Some(Self::V1),
            "v2" => Some(Self::V2),
            _ => None,
        }
    }

    /// Name of the service object in requests and responses.
    pub(crate) fn service_field(self) -> &'static str {
        match self {
            Self::V1 => "serviceType",
            Self::V2 => "publicService",
        }
    }
}

/// Answers one request; never panics on its content.
pub(crate) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    let reply = match dispatch(&state, req).await {
        Ok(reply) => reply,
        Err(p) => http::problem(&p, &state.config.profile.problem_prefix, &path),
    };
    // One event per request: method, path (ids only; the query and bodies stay out), status.
    tracing::info!(method = %method, path = %path, status = reply.status().as_u16(), "request");
    reply
}

/// Answers a request on a connection beyond the listener's limits: `/health` only.
pub(crate) async fn probe(state: Arc<State>, req: Request<Incoming>) -> Reply {
    if req.uri().path() == "/health" && req.method() == Method::GET {
        return health();
    }
    let busy = ApiProblem::new(
        problem::SERVICE_UNAVAILABLE,
        "the sandbox is at its connection limit; retry later",
    );
    http::problem(
        &busy,
        &state.config.profile.problem_prefix,
        req.uri().path(),
    )
}

/// `GET /health`: 200 while the sandbox serves (liveness for orchestrated test setups).
fn health() -> Reply {
    http::text(200, "ok\n")
}

fn method_not_allowed() -> ApiProblem {
    ApiProblem::new(
        problem::METHOD_NOT_ALLOWED,
        "see the sandbox README for the API",
    )
}

async fn dispatch(state: &Arc<State>, req: Request<Incoming>) -> ApiResult<Reply> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let query = parse_query(req.uri().query());
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match segments.as_slice() {
        ["token"] if method == Method::POST => token(state, req).await,
        ["token"] => Err(method_not_allowed()),
        ["health"] if method == Method::GET => Ok(health()),
        ["health"] => Err(method_not_allowed()),
        [".well-known", "jwks.json"] if method == Method::GET => Ok(http::json(
            200,
            &json!({ "keys": [state.service_key.public.jwk] }),
        )),
        [version, rest @ ..] => {
            let Some(api) = Api::parse(version) else {
                return Err(not_found());
            };
            api_route(state, api, &method, rest, &query, req).await
        }
        [] => Err(not_found()),
    }
}

fn not_found() -> ApiProblem {
    ApiProblem::new(problem::NOT_FOUND, "no such endpoint")
}

async fn api_route(
    state: &Arc<State>,
    api: Api,
    method: &Method,
    rest: &[&str],
    query: &HashMap<String, String>,
    req: Request<Incoming>,
) -> ApiResult<Reply> {
    let grant = state.auth.grant(
        req.headers()
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok()),
    )?;
    let m = method.clone();
    match (rest, m) {
        (["destinations", id], Method::GET) => destination(state, api, id),
        // The live service has keys per kid only; a list request answers 404 (observed
        // 2026-06-14, protocol notes §13).
        (["destinations", _, "keys"], Method::GET) => Err(not_found()),
        (["destinations", id, "keys", kid], Method::GET) => {
            let d = state.destination(id)?;
            [&d.encryption, &d.signing]
                .into_iter()
                .find(|k| k.kid == *kid)
                .map(|k| http::json(200, &k.jwk))
                .ok_or_else(|| ApiProblem::new(problem::KEY_NOT_FOUND, "unknown kid"))
        }
        (["submissions"], Method::POST) => {
            require_content_type(&req, &["application/json"])?;
            let body = read(state, req, state.config.limits.max_json_bytes).await?;
            submissions::create(state, api, &grant, &body).await
        }
        (["submissions"], Method::GET) => submissions::list(state, &grant, query).await,
        (["submissions", id], Method::GET) => submissions::fetch(state, api, &grant, id).await,
        (["submissions", id], Method::PUT) => {
            submissions::submit(state, api, &grant, id, req).await
        }
        (["submissions", id, "attachments", aid], Method::PUT) => {
            submissions::upload(state, &grant, id, aid, req).await
        }
        (["submissions", id, "attachments", aid], Method::GET) => {
            submissions::fetch_attachment(state, &grant, id, aid).await
        }
        (["submissions", id, "events"], Method::GET) => {
            case_log::list_for_submission(state, &grant, id, query).await
        }
        (["cases", case, "events"], Method::GET) => {
            case_log::list(state, &grant, case, query).await
        }
        (["cases", case, "events"], Method::POST) => {
            case_log::post(state, api, &grant, case, req).await
        }
        (["replies"], Method::POST) => {
            require_content_type(&req, &["application/json"])?;
            let body = read(state, req, state.config.limits.max_json_bytes).await?;
            replies::create(state, &grant, &body).await
        }
        (["replies"], Method::GET) => replies::list(state, &grant, query).await,
        (["replies", id], Method::GET) => replies::fetch(state, &grant, id).await,
        (["replies", id], Method::PUT) => replies::submit(state, api, &grant, id, req).await,
        (["replies", id, "attachments", aid], Method::PUT) => {
            replies::upload(state, &grant, id, aid, req).await
        }
        (["replies", id, "attachments", aid], Method::GET) => {
            replies::fetch_attachment(state, &grant, id, aid).await
        }
        (["replies", id, "events"], Method::GET) => {
            replies::event_log(state, &grant, id, query).await
        }
        (["replies", id, decision @ ("accept" | "reject")], Method::PUT) => {
            require_content_type(&req, &["application/json"])?;
            let body = read(state, req, state.config.limits.max_json_bytes).await?;
            replies::decide(state, &grant, id, decision, &body).await
        }
        (
            ["destinations", _]
            | ["destinations", _, "keys", ..]
            | ["submissions", ..]
            | ["replies", ..]
            | ["cases", _, "events"],
            _,
        ) => Err(method_not_allowed()),
        _ => Err(not_found()),
    }
}

async fn token(state: &Arc<State>, req: Request<Incoming>) -> ApiResult<Reply> {
    require_content_type(&req, &["application/x-www-form-urlencoded"])?;
    let has_auth = req.headers().contains_key(AUTHORIZATION);
    let body = read(state, req, state.config.limits.max_json_bytes).await?;
    Ok(match state.auth.token(&body, has_auth) {
        Ok(grant) => {
            let mut reply = http::json(200, &grant);
            reply.headers_mut().insert(
                "cache-control",
                hyper::header::HeaderValue::from_static("no-store"),
            );
            reply
        }
        Err(e) => http::oauth_error(e.status, e.body()),
    })
}

fn destination(state: &State, api: Api, id: &str) -> ApiResult<Reply> {
    let d = state.destination(id)?;
    let versions = if d.config.metadata_versions.is_empty() {
        &state.config.profile.default_metadata_versions
    } else {
        &d.config.metadata_versions
    };
    let services = Some(d.config.services.clone());
    let (services, public_services) = match api {
        Api::V1 => (services, None),
        Api::V2 => (None, services),
    };
    Ok(http::json(
        200,
        &DestinationInfo {
            destination_id: d.config.id.clone(),
            status: d.config.status.clone(),
            encryption_kid: d.encryption.kid.clone(),
            services,
            public_services,
            metadata_versions: versions.clone(),
            reply_channels: d.config.reply_channels.clone(),
        },
    ))
}

/// Reads the body within `limit`, the configured body timeout and minimum rate.
pub(crate) async fn read(state: &State, req: Request<Incoming>, limit: usize) -> ApiResult<Bytes> {
    http::read_body(req, state.body_limits(limit)).await
}

/// Refuses a request whose media type (parameters ignored) is not one of `accepted`.
pub(crate) fn require_content_type(req: &Request<Incoming>, accepted: &[&str]) -> ApiResult<()> {
    let media = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    match media {
        Some(m) if accepted.iter().any(|a| a.eq_ignore_ascii_case(&m)) => Ok(()),
        _ => Err(ApiProblem::new(
            problem::UNSUPPORTED_MEDIA_TYPE,
            format!("Content-Type must be {}", accepted.join(" or ")),
        )),
    }
}

fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// `offset` and `limit` from the query: `limit` within 1..=max_page.
pub(crate) fn paging(state: &State, query: &HashMap<String, String>) -> ApiResult<(u32, u32)> {
    let limits = &state.config.limits;
    let bad = |d: &str| ApiProblem::new(problem::INVALID_PAGING, d);
    let offset = match query.get("offset") {
        None => 0,
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| bad("offset must be a non-negative integer"))?,
    };
    let limit = match query.get("limit") {
        None => limits.default_page,
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| bad("limit must be a positive integer"))?,
    };
    if limit == 0 || limit > limits.max_page {
        return Err(bad(&format!("limit must be 1..={}", limits.max_page)));
    }
    Ok((offset, limit))
}

/// Runs a store call off the async workers and maps its errors to problems.
pub(crate) async fn db<T, F>(state: &State, f: F) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    db_map(state, f, store_problem).await
}

/// [`db`] with the problems of `map` (e.g. the reply ones).
pub(crate) async fn db_map<T, F>(
    state: &State,
    f: F,
    map: fn(StoreError) -> ApiProblem,
) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, StoreError> + Send + 'static,
{
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || f(&store))
        .await
        .map_err(|_| ApiProblem::new(problem::INTERNAL_ERROR, "store task failed"))?
        .map_err(map)
}

fn store_problem(e: StoreError) -> ApiProblem {
    match e {
        StoreError::NotFound => ApiProblem::new(problem::SUBMISSION_NOT_FOUND, "unknown id"),
        StoreError::State(s) => ApiProblem::new(
            problem::SUBMISSION_STATE_INVALID,
            format!("the submission is {s}"),
        ),
        _ => ApiProblem::new(problem::INTERNAL_ERROR, "the sandbox store failed"),
    }
}

impl State {
    /// The bounds of a body of at most `max_bytes`.
    pub(crate) fn body_limits(&self, max_bytes: usize) -> crate::http::BodyLimits {
        let limits = &self.config.limits;
        crate::http::BodyLimits::new(max_bytes, limits.body_timeout(), &limits.http)
    }

    /// A configured destination or `destination-not-found`.
    pub(crate) fn destination(&self, id: &str) -> ApiResult<&Destination> {
        self.destinations.get(id).ok_or_else(|| {
            ApiProblem::new(
                problem::DESTINATION_NOT_FOUND,
                "no destination with this id",
            )
        })
    }
}
