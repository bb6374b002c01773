//! Delivery to an HTTP(S) upstream: each attachment `PUT` (streamed from a spool file), then
//! one `POST` of the envelope.

use std::io;
use std::path::Path;

use base64::Engine as _;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use reqwest::{Certificate, Client, Identity, redirect};

use super::upstream::{DeliveryFailure, HttpUpstream};
use super::{ForwardError, attachments_of, safe_component};
use crate::http::reply::FileBody;
use crate::http::tls;
use crate::store::{AttachmentMeta, Store, StoreError};

/// The name the case-worker document is sent under (`attachments/document.html`).
pub(crate) const DOCUMENT_NAME: &str = "document.html";

/// The idempotency header: the submission id, so a re-delivery after a lost response is
/// recognisable upstream.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A ready client for one upstream.
#[derive(Debug, Clone)]
pub(crate) struct HttpTarget {
    client: Client,
    url: reqwest::Url,
    attachments: bool,
    document: bool,
}

impl HttpTarget {
    /// Builds the client: no redirects, the configured timeouts, optional client certificate and
    /// extra roots — both loaded and checked by [`crate::http::tls`], as `serve --check` does.
    pub(crate) fn new(name: &str, spec: &HttpUpstream) -> Result<Self, ForwardError> {
        let bad = |reason: String| ForwardError::Upstream {
            upstream: name.to_owned(),
            reason,
        };
        let url = reqwest::Url::parse(&spec.url).map_err(|e| bad(format!("url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
            return Err(bad("url must be http:// or https:// with a host".to_owned()));
        }
        let mut builder = Client::builder()
            .redirect(redirect::Policy::none())
            .connect_timeout(spec.connect_timeout)
            .timeout(spec.total_timeout)
            .user_agent(concat!("poststelle/", env!("CARGO_PKG_VERSION")));
        // Every problem of both at once (`serve --check` reports them through here).
        let mut errors = Vec::new();
        match spec
            .client_identity
            .as_ref()
            .map(crate::http::Identity::load)
        {
            Some(Ok(id)) => match Identity::from_pem(id.pem()) {
                Ok(identity) => builder = builder.identity(identity),
                Err(e) => errors.push(format!("client identity: {e}")),
            },
            Some(Err(e)) => errors.push(tls::joined(&e)),
            None => {}
        }
        match spec.extra_roots.as_deref().map(tls::trust_roots) {
            Some(Ok(roots)) => {
                let mut certs = Vec::with_capacity(roots.len());
                for der in &roots {
                    match Certificate::from_der(der) {
                        Ok(c) => certs.push(c),
                        Err(e) => errors.push(format!("ca_file: {e}")),
                    }
                }
                builder = builder.tls_certs_merge(certs);
            }
            Some(Err(e)) => errors.push(tls::joined(&e)),
            None => {}
        }
        if !errors.is_empty() {
            return Err(bad(errors.join("; ")));
        }
        let client = builder.build().map_err(|e| bad(format!("client: {e}")))?;
        Ok(Self {
            client,
            url,
            attachments: spec.send_attachments,
            document: spec.send_document,
        })
    }

    /// Whether this upstream receives the case-worker document.
    pub(crate) fn sends_document(&self) -> bool {
        self.document
    }

    /// One delivery attempt: the attachments (if enabled and any), the case-worker document
    /// (if given), then the envelope. The envelope goes last so that when the upstream sees
    /// it, everything it refers to is there.
    pub(crate) async fn deliver<S: Store>(
        &self,
        store: &S,
        spool: &Path,
        submission_id: &str,
        envelope: &str,
        document: Option<&str>,
    ) -> Result<(), DeliveryFailure> {
        let key = HeaderValue::from_str(submission_id)
            .map_err(|_| DeliveryFailure::permanent("bad-submission-id"))?;
        if self.attachments {
            let attachments = attachments_of(store, submission_id).await?;
            for a in &attachments {
                self.put_attachment(store, spool, submission_id, &key, a)
                    .await?;
            }
        }
        if let Some(page) = document {
            self.put_document(submission_id, &key, page).await?;
        }
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(IDEMPOTENCY_KEY, key)
            .body(envelope.to_owned())
            .send()
            .await
            .map_err(|e| DeliveryFailure::transient(transport_kind(&e)))?;
        check(&response)
    }

    /// `PUT <url>/<submission id>/attachments/document.html`: the case-worker document.
    async fn put_document(
        &self,
        submission_id: &str,
        key: &HeaderValue,
        page: &str,
    ) -> Result<(), DeliveryFailure> {
        let url = self.attachment_url(submission_id, DOCUMENT_NAME)?;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, page.as_bytes());
        let digest = format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
        );
        let digest =
            HeaderValue::from_str(&digest).map_err(|_| DeliveryFailure::permanent("bad-digest"))?;
        let response = self
            .client
            .put(url)
            .header(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            )
            .header(IDEMPOTENCY_KEY, key.clone())
            .header("repr-digest", digest)
            .body(page.to_owned())
            .send()
            .await
            .map_err(|e| DeliveryFailure::transient(transport_kind(&e)))?;
        check(&response)
    }

    /// `<url>/<submission id>/attachments/<name>`, both checked to be one safe path segment.
    fn attachment_url(
        &self,
        submission_id: &str,
        name: &str,
    ) -> Result<reqwest::Url, DeliveryFailure> {
        if !safe_component(submission_id) {
            return Err(DeliveryFailure::permanent("unsafe-submission-id"));
        }
        if !safe_component(name) {
            return Err(DeliveryFailure::permanent("unsafe-attachment-id"));
        }
        let mut url = self.url.clone();
        url.path_segments_mut()
            .map_err(|()| DeliveryFailure::permanent("url-cannot-be-base"))?
            .pop_if_empty()
            .extend([submission_id, "attachments", name]);
        Ok(url)
    }

    /// `PUT <url>/<submission id>/attachments/<attachment id>` — where the envelope's relative
    /// `href` (`attachments/<id>`) points, resolved against `<url>/<submission id>/`.
    async fn put_attachment<S: Store>(
        &self,
        store: &S,
        spool: &Path,
        submission_id: &str,
        key: &HeaderValue,
        a: &AttachmentMeta,
    ) -> Result<(), DeliveryFailure> {
        let url = self.attachment_url(submission_id, &a.attachment_id)?;
        // Read once, straight from the store's copy (SQLite: the blob; PostgreSQL: an unnamed
        // file): no export copy, no fsync for an upload.
        let (meta, file) = match store
            .open_attachment(submission_id, &a.attachment_id, spool)
            .await
        {
            Ok(opened) => opened,
            Err(StoreError::NotFound { .. }) => {
                return Err(DeliveryFailure::permanent("attachment-missing"));
            }
            Err(StoreError::Io { .. }) => return Err(DeliveryFailure::transient("io")),
            Err(_) => return Err(DeliveryFailure::transient("store")),
        };
        let body = FileBody::new(file, meta.size);
        let media_type = HeaderValue::from_str(&meta.media_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
        let digest = hex_to_base64(&meta.sha256).ok_or(DeliveryFailure::permanent("bad-digest"))?;
        let digest = HeaderValue::from_str(&format!("sha-256=:{digest}:"))
            .map_err(|_| DeliveryFailure::permanent("bad-digest"))?;
        let response = self
            .client
            .put(url)
            .header(CONTENT_TYPE, media_type)
            .header(CONTENT_LENGTH, meta.size)
            .header(IDEMPOTENCY_KEY, key.clone())
            .header("repr-digest", digest)
            .body(reqwest::Body::wrap(body))
            .send()
            .await
            .map_err(|e| DeliveryFailure::transient(transport_kind(&e)))?;
        check(&response)
    }
}

fn check(response: &reqwest::Response) -> Result<(), DeliveryFailure> {
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(DeliveryFailure::from_status(status.as_u16()))
    }
}

fn hex_to_base64(hex: &str) -> Option<String> {
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Prefix of the named export files earlier versions wrote into the spool directory before an
/// upload (uploads now read the store's copy or an unnamed file).
const EXPORT_PREFIX: &str = ".forward-";

/// Removes export files a killed process of an earlier version left in `dir` (a crash between
/// export and upload) that are older than `min_age` — younger ones may be another instance's
/// in-flight export.
/// Returns how many were removed; a missing directory has none.
///
/// # Errors
/// The directory cannot be read.
pub(crate) fn sweep_exports(dir: &Path, min_age: std::time::Duration) -> io::Result<usize> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    let now = std::time::SystemTime::now();
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if !entry
            .file_name()
            .to_string_lossy()
            .starts_with(EXPORT_PREFIX)
        {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age >= min_age));
        if old
            && entry.file_type().is_ok_and(|t| t.is_file())
            && std::fs::remove_file(entry.path()).is_ok()
        {
            removed += 1;
        }
    }
    Ok(removed)
}

fn transport_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "transport"
    }
}
