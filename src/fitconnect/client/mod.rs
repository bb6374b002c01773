//! The FIT-Connect HTTP client, for the subscriber (gateway) and the sender (portal) side,
//! against the real delivery service or `poststelle sandbox` with the same code.
//!
//! Layer L2 (I/O): reqwest + rustls, redirects off, connect and request timeouts, every
//! response body read with a size limit, retries with exponential backoff and jitter on 429
//! and 5xx honouring `Retry-After` (bounded by [`RetryPolicy`]). 429 is retried for every
//! method (the service did not act); 5xx and transport errors only for GET and PUT, which are
//! idempotent — a repeated `POST /submissions` would open a second submission. A 401 on an API
//! call drops the cached token and retries once with a fresh one.
//!
//! The OAuth token is cached inside the [`Client`] (cheap to clone; clones share the cache):
//! one token request at a time (single flight; concurrent callers wait for it and reuse it),
//! renewed [`ClientConfig::token_refresh_margin`] before it expires.
//!
//! # Stable API (used by the gateway pipeline)
//!
//! ```text
//! Client::new(ClientConfig, Credentials) -> Result<Client, ClientError>
//! ClientConfig::{new, sandbox, preset}, config::presets()
//! Client::access_token()                                   -> String
//! Client::list_submissions(destination, offset, limit)     -> SubmissionPage
//! Client::list_all_submissions(destination)                -> Vec<SubmissionIds>
//! Client::submission(id) / attachment(id, aid) / events(case) / service_jwks()
//! Client::download(submission_id)                          -> CapturedSubmission
//! Client::post_event(case_id, set)                         (application/jose)
//! Client::accept(key, subject, tags) / reject(key, subject, problems)
//! (checks: fitconnect::event_log::{verify_capture, verify_log, submit_event, compare_tags})
//! sender side: destination(id), destination_key(id, kid), encryption_key(id, now),
//!   trusted_destination_key(id, kid, use, now), check_revocation(chain, now),
//!   create_submission(NewSubmission), upload_attachment(sid, aid, jwe), submit(sid, meta, data)
//! ```
//!
//! Destination keys are trusted through [`ClientConfig::trust`] (anchors; the dangerous
//! self-signed switch only for a [`ClientConfig::test_environment`]) and
//! [`ClientConfig::revocation`] (CRL/OCSP, see [`revocation`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), poststelle::fitconnect::client::ClientError> {
//! use poststelle::fitconnect::captured::ApiProfile;
//! use poststelle::fitconnect::client::{Client, ClientConfig, Credentials};
//! use poststelle::fitconnect::event_log;
//! let config = ClientConfig::sandbox("http://127.0.0.1:8090", ApiProfile::V1);
//! let client = Client::new(config, Credentials::new("subscriber-…", "secret…"))?;
//! for item in client.list_all_submissions("5f6a…").await? {
//!     let capture = client.download(&item.submission_id).await?;
//!     let log = event_log::verify_capture(&capture, &[], &Default::default());
//!     // decrypt, validate, store … then client.accept(&key, &subject, &log?.tags)
//! }
//! # Ok(()) }
//! ```

pub mod config;

use crate::fitconnect::types::{
    CreateSubmission, DestinationInfo, ServiceMember, ServiceRef, Submit,
};
pub use crate::fitconnect::types::{ProblemDetails, SubmissionIds, SubmissionPage};
mod replies;
pub mod revocation;
mod shape;
mod spool;
mod transport;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::Mutex;
use zeroize::Zeroizing;

pub use config::{
    ClientConfig, Preset, RetryPolicy, RevocationConfig, RevocationMode, is_loopback_url, presets,
};
pub use revocation::{LinkOutcome, RevocationError, RevocationReport};

use crate::fitconnect::captured::{ApiProfile, CaptureInfo, CapturedSubmission};
use crate::fitconnect::keys::{PublicKeyError, ValidatedPublicKey, validate_public_key};
use crate::fitconnect::problems::Problem;
use crate::fitconnect::set::{self, AuthenticationTags, SubmissionRef};
use crate::jose::jwk::{Jwk, KeyUse, SigningKey};
pub use spool::{SPOOL_MEMORY_BYTES, SpooledJwe};
use transport::{Body, Exchange, Expect};

/// OAuth client credentials (client_secret_post). The secret is zeroized on drop and never
/// printed.
#[derive(Clone)]
pub struct Credentials {
    client_id: String,
    client_secret: Zeroizing<String>,
}

impl Credentials {
    /// Credentials from the Self-Service-Portal (or the sandbox's `sandbox.toml`).
    #[must_use]
    pub fn new(client_id: &str, client_secret: &str) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: Zeroizing::new(client_secret.to_owned()),
        }
    }

    /// The client id.
    #[must_use]
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The HTTP client could not be built (TLS setup).
    #[error("HTTP client setup: {0}")]
    Setup(String),
    /// Connecting or transferring failed (after the retries).
    #[error("{what}: {message}")]
    Transport {
        /// The request (method and path, no query values).
        what: String,
        /// The cause.
        message: String,
    },
    /// Writing a download to its local spool file failed (not the service's fault).
    #[error("{what}: spool file: {message}")]
    Spool {
        /// The request.
        what: String,
        /// The I/O error.
        message: String,
    },
    /// The request or the response body took longer than the configured timeout.
    #[error("{what}: timed out")]
    Timeout {
        /// The request.
        what: String,
    },
    /// The service answered with a redirect; the client never follows one.
    #[error("{what}: refused to follow a redirect (HTTP {status})")]
    Redirect {
        /// The request.
        what: String,
        /// The 3xx status.
        status: u16,
    },
    /// The response body exceeds the configured limit.
    #[error("{what}: response larger than {limit} bytes")]
    TooLarge {
        /// The request.
        what: String,
        /// The limit.
        limit: usize,
    },
    /// The service answered with an unexpected status (after the retries).
    #[error("{what}: HTTP {status}{}", problem_suffix(.problem))]
    Status {
        /// The request.
        what: String,
        /// The status code.
        status: u16,
        /// The problem body, when the service sent one.
        problem: Option<Box<ProblemDetails>>,
    },
    /// The token endpoint refused the credentials.
    #[error("token endpoint: HTTP {status} {error}")]
    Token {
        /// The status code.
        status: u16,
        /// The OAuth `error` code (`invalid_client`, `invalid_scope`, …).
        error: String,
    },
    /// A response did not have the documented shape.
    #[error("{what}: unexpected response: {message}")]
    Response {
        /// The request.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A destination key failed the FIT-Connect key rules.
    #[error("destination key: {0}")]
    Key(#[from] PublicKeyError),
    /// A destination key's certificate is revoked, or (`require`) has no valid status.
    #[error("destination key: {0}")]
    Revocation(#[from] RevocationError),
}

fn problem_suffix(problem: &Option<Box<ProblemDetails>>) -> String {
    match problem {
        Some(p) if !p.type_uri.is_empty() => format!(" {} ({})", p.type_uri, p.title),
        _ => String::new(),
    }
}

impl ClientError {
    /// The API answered that the resource does not exist (any more): HTTP 404 or 410.
    #[must_use]
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            Self::Status {
                status: 404 | 410,
                ..
            }
        )
    }

    /// The HTTP status for [`ClientError::Status`] and [`ClientError::Token`].
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } | Self::Token { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A submission downloaded with its attachment JWEs in memory or unnamed spool files
/// ([`Client::download_spooled`]).
#[derive(Debug)]
pub struct SpooledDownload {
    /// Submission, event log and JWKS as [`Client::download`] gives them; `attachments` is
    /// empty.
    pub captured: CapturedSubmission,
    /// The attachment JWEs by id, each in memory or an unnamed file ([`SpooledJwe`], read
    /// from its start).
    pub attachments: BTreeMap<String, SpooledJwe>,
}

/// What `POST /submissions` needs (sender side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSubmission {
    /// The destination.
    pub destination_id: String,
    /// Service identifier (`urn:de:fim:leika:leistung:…`).
    pub service_identifier: String,
    /// Service name.
    pub service_name: String,
    /// Attachment ids (fresh UUIDv4 each) announced now and uploaded before submit.
    pub announced_attachments: Vec<String>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: Zeroizing<String>,
    renew_at: Instant,
}

struct Inner {
    http: reqwest::Client,
    config: ClientConfig,
    credentials: Credentials,
    token: Mutex<Option<CachedToken>>,
    revocation: std::sync::Mutex<revocation::StatusCache>,
}

/// A destination key that passed the key rules, the path validation and the revocation check.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustedKey {
    /// The key.
    pub key: ValidatedPublicKey,
    /// What the revocation check found (links without status under `prefer`).
    pub revocation: RevocationReport,
}

/// The FIT-Connect client. Cloning is cheap; clones share the connection pool and the
/// token cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("submission_api", &self.inner.config.submission_api)
            .field("client_id", &self.inner.credentials.client_id)
            .finish_non_exhaustive()
    }
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn shape(what: &str, message: impl Into<String>) -> ClientError {
    ClientError::Response {
        what: what.to_owned(),
        message: message.into(),
    }
}

fn parse_json<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| shape(what, shape::describe(&e)))
}

fn check_id(what: &str, id: &str) -> Result<(), ClientError> {
    // Ids go into URL paths: only UUIDs, so nothing can steer the path.
    if set::is_uuid(id) {
        Ok(())
    } else {
        Err(shape(what, "identifier is not a UUID"))
    }
}

impl Client {
    /// Builds the client (no network traffic yet).
    ///
    /// # Errors
    /// [`ClientError::Setup`] if the TLS backend cannot be initialised, or if dangerous
    /// self-signed destination keys are allowed for an environment that is not a test one.
    pub fn new(config: ClientConfig, credentials: Credentials) -> Result<Self, ClientError> {
        if config.trust.dangerous_allow_self_signed && !config.test_environment {
            return Err(ClientError::Setup(
                "self-signed destination keys may be allowed only for the sandbox, a loopback \
                 URL or a FIT-Connect test environment"
                    .into(),
            ));
        }
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.connect_timeout)
            .user_agent(config.user_agent.clone())
            .no_proxy()
            .build()
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                config,
                credentials,
                token: Mutex::new(None),
                revocation: std::sync::Mutex::default(),
            }),
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// A valid access token: the cached one, or a new one (single flight).
    ///
    /// # Errors
    /// [`ClientError::Token`] when the credentials are refused; transport errors.
    pub async fn access_token(&self) -> Result<Zeroizing<String>, ClientError> {
        let mut cached = self.inner.token.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.renew_at
        {
            return Ok(t.token.clone());
        }
        let fresh = self.fetch_token().await?;
        let token = fresh.token.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn invalidate_token(&self, used: &str) {
        let mut cached = self.inner.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.token.as_str() == used) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<CachedToken, ClientError> {
        let c = &self.inner.config;
        let form: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &self.inner.credentials.client_id)
            .append_pair("client_secret", &self.inner.credentials.client_secret)
            .finish();
        let form = Zeroizing::new(form);
        let started = Instant::now();
        let resp = self
            .send(
                &Exchange {
                    method: Method::POST,
                    url: &c.token_url,
                    what: "POST token",
                    token: None,
                    body: Body::Form(form.as_bytes().to_vec().into()),
                    expect: Expect::Any,
                },
                None,
            )
            .await?;
        if resp.status != 200 {
            let error = serde_json::from_slice::<Value>(&resp.body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            return Err(ClientError::Token {
                status: resp.status,
                error,
            });
        }
        #[derive(Deserialize)]
        struct TokenResponse {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let t: TokenResponse = parse_json("POST token", &resp.body)?;
        // Without expires_in assume the documented maximum of 30 minutes.
        let lifetime = Duration::from_secs(t.expires_in.unwrap_or(1800));
        // A short-lived token is renewed at half its life rather than never.
        let margin = c.token_refresh_margin.min(lifetime / 2);
        Ok(CachedToken {
            token: Zeroizing::new(t.access_token),
            renew_at: started + lifetime - margin,
        })
    }

    /// An authorised API call with the 401 → fresh token → retry-once rule.
    async fn api(
        &self,
        method: Method,
        path: &str,
        body: Body,
        expect: Expect,
        mut spool: transport::Spool<'_>,
    ) -> Result<transport::Response, ClientError> {
        let url = format!("{}{path}", self.inner.config.api_base());
        // The path without the query, for error messages.
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let mut refreshed = false;
        loop {
            let token = self.access_token().await?;
            let resp = self
                .send(
                    &Exchange {
                        method: method.clone(),
                        url: &url,
                        what: &what,
                        token: Some(&token),
                        body: body.clone(),
                        expect,
                    },
                    spool.as_deref_mut(),
                )
                .await?;
            if resp.status == 401 && !refreshed {
                refreshed = true;
                self.invalidate_token(&token).await;
                continue;
            }
            return Ok(resp);
        }
    }

    /// An API call that must answer `ok`; anything else becomes [`ClientError::Status`].
    async fn api_ok(
        &self,
        method: Method,
        path: &str,
        body: Body,
        expect: Expect,
        ok: &[u16],
    ) -> Result<Vec<u8>, ClientError> {
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let resp = self.api(method, path, body, expect, None).await?;
        if ok.contains(&resp.status) {
            Ok(resp.body)
        } else {
            Err(ClientError::Status {
                what,
                status: resp.status,
                problem: serde_json::from_slice(&resp.body).ok().map(Box::new),
            })
        }
    }

    async fn get_json(&self, path: &str) -> Result<Value, ClientError> {
        let body = self
            .api_ok(Method::GET, path, Body::Empty, Expect::Json, &[200])
            .await?;
        parse_json(
            &format!("GET {}", path.split('?').next().unwrap_or(path)),
            &body,
        )
    }

    // ---- subscriber side ------------------------------------------------------------------

    /// One page of the deliverable submissions of a destination (`limit` ≤ 500).
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn list_submissions(
        &self,
        destination_id: &str,
        offset: u64,
        limit: u32,
    ) -> Result<SubmissionPage, ClientError> {
        check_id("GET /submissions", destination_id)?;
        let path =
            format!("/submissions?destinationId={destination_id}&offset={offset}&limit={limit}");
        let body = self
            .api_ok(Method::GET, &path, Body::Empty, Expect::Json, &[200])
            .await?;
        parse_json("GET /submissions", &body)
    }

    /// All deliverable submissions of a destination, page by page (500 each, at most
    /// [`ClientConfig::max_pages`] pages).
    ///
    /// # Errors
    /// As [`Client::list_submissions`].
    pub async fn list_all_submissions(
        &self,
        destination_id: &str,
    ) -> Result<Vec<SubmissionIds>, ClientError> {
        const PAGE: u32 = 500;
        let mut all = Vec::new();
        for _ in 0..self.inner.config.max_pages {
            let page = self
                .list_submissions(destination_id, all.len() as u64, PAGE)
                .await?;
            let n = page.submissions.len();
            all.extend(page.submissions);
            let done = n == 0
                || page
                    .paging
                    .total_count
                    .is_some_and(|t| all.len() as u64 >= t);
            if done || n < PAGE as usize {
                break;
            }
        }
        Ok(all)
    }

    /// `GET /submissions/{id}`, verbatim.
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn submission(&self, submission_id: &str) -> Result<Value, ClientError> {
        check_id("GET /submissions/{id}", submission_id)?;
        self.get_json(&format!("/submissions/{submission_id}"))
            .await
    }

    /// `GET /submissions/{id}/attachments/{attachmentId}`: the compact JWE, verbatim.
    ///
    /// # Errors
    /// Transport, status errors; [`ClientError::TooLarge`] beyond
    /// [`ClientConfig::max_attachment_bytes`]; a body that is not UTF-8.
    pub async fn attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
    ) -> Result<String, ClientError> {
        let what = "GET /submissions/{id}/attachments/{attachmentId}";
        check_id(what, submission_id)?;
        check_id(what, attachment_id)?;
        let path = format!("/submissions/{submission_id}/attachments/{attachment_id}");
        let body = self
            .api_ok(Method::GET, &path, Body::Empty, Expect::Attachment, &[200])
            .await?;
        String::from_utf8(body).map_err(|_| shape(what, "attachment body is not text"))
    }

    /// `GET /cases/{caseId}/events`, all pages; the first page's body with the `eventLog`
    /// arrays of all pages joined.
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn events(&self, case_id: &str) -> Result<Value, ClientError> {
        const PAGE: usize = 500;
        let what = "GET /cases/{caseId}/events";
        check_id(what, case_id)?;
        let mut first: Option<Value> = None;
        let mut log: Vec<Value> = Vec::new();
        for _ in 0..self.inner.config.max_pages {
            let path = format!("/cases/{case_id}/events?offset={}&limit={PAGE}", log.len());
            let page = self.get_json(&path).await?;
            let entries = page
                .get("eventLog")
                .and_then(Value::as_array)
                .ok_or_else(|| shape(what, "no eventLog array"))?
                .clone();
            let total = page.get("totalCount").and_then(Value::as_u64);
            let n = entries.len();
            log.extend(entries);
            if first.is_none() {
                first = Some(page);
            }
            // Without paging members the service sent everything at once.
            if n < PAGE || total.is_none_or(|t| log.len() as u64 >= t) {
                break;
            }
        }
        let mut body = first.ok_or_else(|| shape(what, "no page"))?;
        body["eventLog"] = Value::Array(log);
        Ok(body)
    }

    /// The delivery service's JWKS (`<submission_api>/.well-known/jwks.json`).
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn service_jwks(&self) -> Result<Value, ClientError> {
        let url = format!("{}/.well-known/jwks.json", self.inner.config.submission_api);
        let what = "GET /.well-known/jwks.json";
        let resp = self
            .send(
                &Exchange {
                    method: Method::GET,
                    url: &url,
                    what,
                    token: None,
                    body: Body::Empty,
                    expect: Expect::Json,
                },
                None,
            )
            .await?;
        if resp.status != 200 {
            return Err(ClientError::Status {
                what: what.to_owned(),
                status: resp.status,
                problem: None,
            });
        }
        parse_json(what, &resp.body)
    }

    /// `GET /submissions/{id}/attachments/{attachmentId}` streamed into `file` (emptied
    /// first; retries start over), never held in memory. Returns the bytes written.
    ///
    /// # Errors
    /// As [`Client::attachment`]; [`ClientError::Spool`] when writing the file fails.
    /// Downloads one attachment JWE: in memory up to `memory` bytes, a larger one whole into
    /// an unnamed file in `spool_dir` ([`SpooledJwe`]). Only a 200 body is kept; a retried
    /// attempt starts clean.
    ///
    /// # Errors
    /// A failed download; [`ClientError::TooLarge`] beyond `max_attachment_bytes`;
    /// [`ClientError::Spool`] when the spool file cannot be made or written.
    pub async fn attachment_spooled(
        &self,
        submission_id: &str,
        attachment_id: &str,
        spool_dir: &std::path::Path,
        memory: usize,
    ) -> Result<SpooledJwe, ClientError> {
        let what = "GET /submissions/{id}/attachments/{attachmentId}";
        check_id(what, submission_id)?;
        check_id(what, attachment_id)?;
        let path = format!("/submissions/{submission_id}/attachments/{attachment_id}");
        let mut sink = spool::SpoolSink::new(spool_dir, memory);
        let resp = self
            .api(
                Method::GET,
                &path,
                Body::Empty,
                Expect::Attachment,
                Some(&mut sink),
            )
            .await?;
        if resp.status != 200 {
            return Err(ClientError::Status {
                what: what.to_owned(),
                status: resp.status,
                problem: serde_json::from_slice(&resp.body).ok().map(Box::new),
            });
        }
        sink.finish().await.map_err(|e| ClientError::Spool {
            what: what.to_owned(),
            message: e.to_string(),
        })
    }

    /// Downloads a submission with all its attachments, its case event log and the delivery
    /// service's JWKS, verbatim, as a [`CapturedSubmission`]. Nothing is checked here; run
    /// [`crate::fitconnect::event_log::verify_capture`] on the result. An attachment the
    /// service answers with 404 or 410 is left out of the capture (the checks then find it
    /// missing).
    ///
    /// # Errors
    /// The first failed download.
    pub async fn download(&self, submission_id: &str) -> Result<CapturedSubmission, ClientError> {
        let (mut captured, ids) = self.download_submission(submission_id).await?;
        for id in ids {
            match self.attachment(submission_id, &id).await {
                Ok(jwe) => {
                    captured.attachments.insert(id, jwe);
                }
                Err(e) if e.is_gone() => {}
                Err(e) => return Err(e),
            }
        }
        self.download_log(captured).await
    }

    /// As [`Client::download`], but the attachment JWEs are held in memory only while they
    /// stay within [`SPOOL_MEMORY_BYTES`] together; each one beyond is streamed into an
    /// unnamed file in `spool_dir` (removed by the OS when dropped, also after a crash), so
    /// memory does not grow with attachment size.
    ///
    /// # Errors
    /// The first failed download; [`ClientError::Spool`] when a spool file cannot be made.
    pub async fn download_spooled(
        &self,
        submission_id: &str,
        spool_dir: &std::path::Path,
    ) -> Result<SpooledDownload, ClientError> {
        let (captured, ids) = self.download_submission(submission_id).await?;
        let mut attachments = BTreeMap::new();
        let mut memory = SPOOL_MEMORY_BYTES;
        for id in ids {
            match self
                .attachment_spooled(submission_id, &id, spool_dir, memory)
                .await
            {
                Ok(jwe) => {
                    memory -= jwe.memory_len();
                    attachments.insert(id, jwe);
                }
                // Listed but gone (deleted, or never uploaded): the capture lacks it and the
                // receive check rejects with `missing-attachments` — a definite answer, not an
                // outage to retry forever.
                Err(e) if e.is_gone() => {}
                Err(e) => return Err(e),
            }
        }
        let captured = self.download_log(captured).await?;
        Ok(SpooledDownload {
            captured,
            attachments,
        })
    }

    /// The submission JSON (in a capture without attachments yet) and its attachment ids.
    async fn download_submission(
        &self,
        submission_id: &str,
    ) -> Result<(CapturedSubmission, Vec<String>), ClientError> {
        let submission = self.submission(submission_id).await?;
        let what = "GET /submissions/{id}";
        let ids: Vec<String> = match submission.get("attachments") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| shape(what, "attachment id is not a string"))
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(shape(what, "attachments is not an array")),
        };
        if submission.get("caseId").and_then(Value::as_str).is_none() {
            return Err(shape(what, "no caseId"));
        }
        let captured = CapturedSubmission {
            submission,
            attachments: BTreeMap::new(),
            events: Value::Null,
            service_jwks: Value::Null,
            info: CaptureInfo {
                issuer: self.inner.config.issuer().to_owned(),
                captured_at: unix_now(),
                profile: self.inner.config.profile,
            },
        };
        Ok((captured, ids))
    }

    /// Completes a capture with the case's event log and the service's JWKS.
    async fn download_log(
        &self,
        mut captured: CapturedSubmission,
    ) -> Result<CapturedSubmission, ClientError> {
        let case_id = captured
            .case_id()
            .ok_or_else(|| shape("GET /submissions/{id}", "no caseId"))?
            .to_owned();
        captured.events = self.events(&case_id).await?;
        captured.service_jwks = self.service_jwks().await?;
        Ok(captured)
    }

    /// `POST /cases/{caseId}/events` with a signed SET (`application/jose`).
    ///
    /// # Errors
    /// Transport or status errors (the service refuses a SET it cannot verify).
    pub async fn post_event(&self, case_id: &str, set_token: &str) -> Result<(), ClientError> {
        check_id("POST /cases/{caseId}/events", case_id)?;
        self.api_ok(
            Method::POST,
            &format!("/cases/{case_id}/events"),
            Body::Jose(set_token.as_bytes().to_vec().into()),
            Expect::Json,
            &[200, 201, 202, 204],
        )
        .await?;
        Ok(())
    }

    /// Signs and posts `accept-submission` with the tags of the verified download.
    ///
    /// # Errors
    /// As [`Client::post_event`].
    pub async fn accept(
        &self,
        key: &SigningKey,
        subject: &SubmissionRef<'_>,
        tags: &AuthenticationTags,
    ) -> Result<(), ClientError> {
        let token = set::accept_submission(
            key,
            subject,
            tags,
            unix_now(),
            self.config().set_payload_schema,
        );
        self.post_event(subject.case_id, &token).await
    }

    /// Signs and posts `reject-submission` with the problems.
    ///
    /// # Errors
    /// As [`Client::post_event`].
    pub async fn reject(
        &self,
        key: &SigningKey,
        subject: &SubmissionRef<'_>,
        problems: &[Problem],
    ) -> Result<(), ClientError> {
        let token = set::reject_submission(
            key,
            subject,
            problems,
            unix_now(),
            self.config().set_payload_schema,
        );
        self.post_event(subject.case_id, &token).await
    }

    // ---- sender side ----------------------------------------------------------------------

    /// `GET /destinations/{id}`, verbatim.
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn destination(&self, destination_id: &str) -> Result<DestinationInfo, ClientError> {
        let what = "GET /destinations/{id}";
        check_id(what, destination_id)?;
        let value = self
            .get_json(&format!("/destinations/{destination_id}"))
            .await?;
        serde_json::from_value(value).map_err(|e| shape(what, e.to_string()))
    }

    /// `GET /destinations/{id}/keys/{kid}` as a JWK (not yet checked).
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn destination_key(
        &self,
        destination_id: &str,
        kid: &str,
    ) -> Result<Jwk, ClientError> {
        let what = "GET /destinations/{id}/keys/{kid}";
        check_id(what, destination_id)?;
        if kid.is_empty()
            || kid.len() > 64
            || !kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(shape(what, "kid has characters outside base64url"));
        }
        let body = self
            .api_ok(
                Method::GET,
                &format!("/destinations/{destination_id}/keys/{kid}"),
                Body::Empty,
                Expect::Json,
                &[200],
            )
            .await?;
        parse_json(what, &body)
    }

    /// A destination's public key by `kid`, checked with the FIT-Connect key rules, its `x5c`
    /// path validated against [`ClientConfig::trust`] and its revocation status checked per
    /// [`ClientConfig::revocation`].
    ///
    /// # Errors
    /// [`ClientError::Key`] for a refused key; [`ClientError::Revocation`] for a revoked one
    /// (or one without status under `require`); download errors.
    pub async fn trusted_destination_key(
        &self,
        destination_id: &str,
        kid: &str,
        key_use: KeyUse,
        now: i64,
    ) -> Result<TrustedKey, ClientError> {
        let jwk = self.destination_key(destination_id, kid).await?;
        let key = validate_public_key(&jwk, key_use, &self.inner.config.trust, now)?;
        let revocation = self.check_revocation(&key.chain, now).await?;
        Ok(TrustedKey { key, revocation })
    }

    /// The destination (must be `active`) and its encryption key, trusted as
    /// [`Client::trusted_destination_key`] checks it.
    ///
    /// # Errors
    /// As [`Client::trusted_destination_key`]; [`ClientError::Response`] for an inactive
    /// destination or one without `encryptionKid`.
    pub async fn encryption_key(
        &self,
        destination_id: &str,
        now: i64,
    ) -> Result<(DestinationInfo, TrustedKey), ClientError> {
        let what = "GET /destinations/{id}";
        let destination = self.destination(destination_id).await?;
        if destination.status != "active" {
            return Err(shape(what, "the destination is not active"));
        }
        let kid = destination.encryption_kid.clone();
        let key = self
            .trusted_destination_key(destination_id, &kid, KeyUse::Encryption, now)
            .await?;
        if key.key.kid != kid {
            return Err(shape(what, "the key's kid is not the encryptionKid"));
        }
        Ok((destination, key))
    }

    /// `POST /submissions` → submissionId and caseId.
    ///
    /// # Errors
    /// Transport, status or shape errors.
    pub async fn create_submission(
        &self,
        new: &NewSubmission,
    ) -> Result<SubmissionIds, ClientError> {
        let member = match self.inner.config.profile {
            ApiProfile::V1 => ServiceMember::ServiceType,
            ApiProfile::V2 => ServiceMember::PublicService,
        };
        let body = CreateSubmission::new(
            &new.destination_id,
            new.announced_attachments.clone(),
            ServiceRef {
                identifier: new.service_identifier.clone(),
                name: new.service_name.clone(),
            },
            member,
        );
        let body = serde_json::to_vec(&body).expect("the wire type serializes");
        let resp = self
            .api_ok(
                Method::POST,
                "/submissions",
                Body::Json(body.into()),
                Expect::Json,
                &[201],
            )
            .await?;
        parse_json("POST /submissions", &resp)
    }

    /// `PUT /submissions/{id}/attachments/{attachmentId}` with the attachment JWE.
    ///
    /// # Errors
    /// Transport or status errors.
    pub async fn upload_attachment(
        &self,
        submission_id: &str,
        attachment_id: &str,
        jwe: &str,
    ) -> Result<(), ClientError> {
        let what = "PUT /submissions/{id}/attachments/{attachmentId}";
        check_id(what, submission_id)?;
        check_id(what, attachment_id)?;
        self.api_ok(
            Method::PUT,
            &format!("/submissions/{submission_id}/attachments/{attachment_id}"),
            Body::Jose(jwe.as_bytes().to_vec().into()),
            Expect::Upload,
            &[200, 204],
        )
        .await?;
        Ok(())
    }

    /// `PUT /submissions/{id}` with the metadata and (optionally) data JWEs.
    ///
    /// # Errors
    /// Transport or status errors (e.g. missing attachments).
    pub async fn submit(
        &self,
        submission_id: &str,
        encrypted_metadata: &str,
        encrypted_data: Option<&str>,
    ) -> Result<(), ClientError> {
        check_id("PUT /submissions/{id}", submission_id)?;
        let body = Submit {
            encrypted_metadata: encrypted_metadata.to_owned(),
            encrypted_data: encrypted_data.map(str::to_owned),
        };
        let body = serde_json::to_vec(&body).expect("the wire type serializes");
        self.api_ok(
            Method::PUT,
            &format!("/submissions/{submission_id}"),
            Body::Json(body.into()),
            Expect::Upload,
            &[200, 202, 204],
        )
        .await?;
        Ok(())
    }
}
