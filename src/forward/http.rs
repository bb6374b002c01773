//! Delivery to an HTTP(S) upstream: one `POST` of the envelope per attempt.

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use reqwest::{Certificate, Client, Identity, redirect};

use super::ForwardError;
use super::upstream::{DeliveryFailure, HttpUpstream};

/// The idempotency header: the submission id, so a re-delivery after a lost response is
/// recognisable upstream.
pub(crate) const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// A ready client for one upstream.
#[derive(Debug, Clone)]
pub(crate) struct HttpTarget {
    client: Client,
    url: reqwest::Url,
}

fn read_pem(upstream: &str, path: &std::path::Path) -> Result<Vec<u8>, ForwardError> {
    std::fs::read(path).map_err(|e| ForwardError::Upstream {
        upstream: upstream.to_owned(),
        reason: format!("{}: {e}", path.display()),
    })
}

impl HttpTarget {
    /// Builds the client: no redirects, the configured timeouts, optional client certificate and
    /// extra roots.
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
        if let Some(id) = &spec.client_identity {
            let mut pem = read_pem(name, &id.cert_chain_pem)?;
            pem.push(b'\n');
            pem.extend(read_pem(name, &id.private_key_pem)?);
            let identity =
                Identity::from_pem(&pem).map_err(|e| bad(format!("client identity: {e}")))?;
            builder = builder.identity(identity);
        }
        if let Some(roots) = &spec.extra_roots {
            let certs = Certificate::from_pem_bundle(&read_pem(name, roots)?)
                .map_err(|e| bad(format!("extra roots: {e}")))?;
            builder = builder.tls_certs_merge(certs);
        }
        let client = builder.build().map_err(|e| bad(format!("client: {e}")))?;
        Ok(Self { client, url })
    }

    /// Posts the envelope once.
    pub(crate) async fn deliver(
        &self,
        submission_id: &str,
        envelope: &str,
    ) -> Result<(), DeliveryFailure> {
        let key = HeaderValue::from_str(submission_id)
            .map_err(|_| DeliveryFailure::permanent("bad-submission-id"))?;
        let response = self
            .client
            .post(self.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header(IDEMPOTENCY_KEY, key)
            .body(envelope.to_owned())
            .send()
            .await
            .map_err(|e| DeliveryFailure::transient(transport_kind(&e)))?;
        let status = response.status();
        // The body is not needed; dropping the response closes or reuses the connection.
        drop(response);
        if status.is_success() {
            Ok(())
        } else {
            Err(DeliveryFailure::from_status(status.as_u16()))
        }
    }
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
