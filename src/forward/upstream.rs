//! Upstream declarations (typed data built by the configuration layer) and the classification
//! of delivery failures.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::TlsFiles;
use crate::config::gateway::UpstreamSettings;

/// One named upstream (a Fachverfahren or a drop directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamSpec {
    /// The name routes and outbox jobs refer to (`[A-Za-z0-9._-]`, at most 64 bytes).
    pub name: String,
    /// How submissions are delivered.
    pub kind: UpstreamKind,
}

impl UpstreamSpec {
    /// An HTTP(S) upstream.
    #[must_use]
    pub fn http(name: impl Into<String>, http: HttpUpstream) -> Self {
        Self {
            name: name.into(),
            kind: UpstreamKind::Http(http),
        }
    }

    /// A file-drop upstream.
    #[must_use]
    pub fn file_drop(name: impl Into<String>, drop: FileDropUpstream) -> Self {
        Self {
            name: name.into(),
            kind: UpstreamKind::FileDrop(drop),
        }
    }

    /// The upstream as `serve` configures it (`[[upstream]]`): what the file leaves out keeps
    /// the defaults of [`HttpUpstream::new`].
    #[must_use]
    pub fn configured(settings: &UpstreamSettings) -> Self {
        match settings {
            UpstreamSettings::FileDrop { name, dir } => {
                Self::file_drop(name.clone(), FileDropUpstream::new(dir.clone()))
            }
            UpstreamSettings::Http { name, url, options } => {
                let mut http = HttpUpstream::new(url.clone());
                http.client_identity.clone_from(&options.client_identity);
                http.extra_roots.clone_from(&options.ca_file);
                if let Some(t) = options.timeout {
                    http.total_timeout = t;
                }
                if let Some(t) = options.connect_timeout {
                    http.connect_timeout = t;
                }
                if let Some(a) = options.attachments {
                    http.send_attachments = a;
                }
                http.send_document = options.rendering;
                Self::http(name.clone(), http)
            }
        }
    }
}

/// The kinds of upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UpstreamKind {
    /// `POST` of the JSON envelope.
    Http(HttpUpstream),
    /// A directory the Fachverfahren picks submissions up from.
    FileDrop(FileDropUpstream),
}

/// An HTTP(S) upstream: each submission is one `POST` of its JSON envelope
/// (`Content-Type: application/json`, `Idempotency-Key: <submission id>`), preceded by one `PUT`
/// per attachment (see [`HttpUpstream::send_attachments`]). Redirects are never followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUpstream {
    /// The URL posted to (`http://` or `https://`).
    pub url: String,
    /// Time to establish the connection (TCP + TLS). Default 10 s.
    pub connect_timeout: Duration,
    /// Time for the whole exchange, from connecting to the end of the response. Default 30 s;
    /// keep it well below the forwarder's lease.
    pub total_timeout: Duration,
    /// Client certificate chain and key for mutual TLS (PEM files).
    pub client_identity: Option<ClientIdentity>,
    /// Extra trusted root certificates (PEM bundle) besides the built-in roots, for upstreams
    /// with an internal CA.
    pub extra_roots: Option<PathBuf>,
    /// Whether attachments are sent before the envelope, each as
    /// `PUT <url>/<submission id>/attachments/<attachment id>` (streamed, with `Content-Type`,
    /// `Repr-Digest: sha-256=:…:` and the submission's `Idempotency-Key`). Default true; an
    /// upstream that fetches attachments elsewhere turns it off.
    pub send_attachments: bool,
    /// `rendering = true`: the case-worker document of the XML Fachdaten (the page
    /// `poststelle render` makes) is sent before the envelope as
    /// `PUT <url>/<submission id>/attachments/document.html` (`text/html`, with
    /// `Repr-Digest` and the `Idempotency-Key`), for the e-Akte. Default false.
    pub send_document: bool,
}

impl HttpUpstream {
    /// An upstream at `url` with the default timeouts, no client certificate and the built-in
    /// roots.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(30),
            client_identity: None,
            extra_roots: None,
            send_attachments: true,
            send_document: false,
        }
    }
}

/// A client certificate for mutual TLS: a certificate chain and its key, loaded and checked by
/// [`crate::http::Identity`] like a listener's.
pub type ClientIdentity = TlsFiles;

/// A file-drop upstream: each submission becomes the directory `<dir>/<submission id>/` holding
/// `envelope.json` and `attachments/<attachment id>`. It is assembled under `<dir>/.tmp/`,
/// fsynced, and renamed into place in one step, so a reader never sees a partial submission;
/// readers must ignore names starting with `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDropUpstream {
    /// The drop directory (created if missing).
    pub dir: PathBuf,
}

impl FileDropUpstream {
    /// A drop directory.
    #[must_use]
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }
}

/// Why a delivery attempt failed, and whether trying again can help.
///
/// Classification (documented in the README): connection errors, timeouts, `408`, `409`,
/// `425`, `429` and `5xx` are transient (retried with backoff); every other non-2xx status
/// (other `4xx`, and `3xx`, since redirects are not followed) is permanent: the upstream will
/// answer the same again, so the job goes to the dead letters at once and waits for an operator
/// (`queue redrive` once the cause is fixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// A short kind for the store and metrics (`timeout`, `connect`, `http-503`, `io`): never
    /// payload data.
    pub kind: String,
    /// Whether retrying cannot help.
    pub permanent: bool,
}

impl DeliveryFailure {
    /// A failure worth retrying.
    #[must_use]
    pub fn transient(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            permanent: false,
        }
    }

    /// A failure retrying cannot fix.
    #[must_use]
    pub fn permanent(kind: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            permanent: true,
        }
    }

    /// Classifies a non-2xx HTTP status.
    #[must_use]
    pub fn from_status(status: u16) -> Self {
        let kind = format!("http-{status}");
        if matches!(status, 408 | 409 | 425 | 429 | 500..=599) {
            Self::transient(kind)
        } else {
            Self::permanent(kind)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_classification() {
        for s in [408, 409, 425, 429, 500, 502, 503, 504, 599] {
            assert!(!DeliveryFailure::from_status(s).permanent, "{s}");
        }
        for s in [300, 301, 302, 307, 308, 400, 401, 403, 404, 410, 413, 422] {
            assert!(DeliveryFailure::from_status(s).permanent, "{s}");
        }
        assert_eq!(DeliveryFailure::from_status(503).kind, "http-503");
    }
}
