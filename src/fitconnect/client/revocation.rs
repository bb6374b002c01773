//! Revocation status of destination certificates: CRL and OCSP fetched and judged for every
//! link of a validated `x5c` path, under the configured [`RevocationMode`].
//!
//! Design note.
//! - Sources, per certificate, in this order: the operator's CRL files (offline, no network);
//!   the cache; the OCSP responders named in the certificate (POST `application/ocsp-request`);
//!   the CRL distribution points (GET). The first source that gives a verified, current
//!   `good` or `revoked` answers; an OCSP `unknown` moves on to the next source.
//! - Only URLs of certificates that already chained to a trust anchor are fetched, so a
//!   sender of an arbitrary `x5c` cannot make the client call addresses of its choice.
//!   At most [`MAX_URLS`] of each kind per certificate, one attempt each, no redirects, the
//!   configured timeout per request and size limits per kind.
//! - Policy: `require` — every link needs `good`, anything else refuses the key; `prefer` — a
//!   revoked link refuses the key, a missing status becomes [`LinkOutcome::Unavailable`] for
//!   the caller to warn about; `off` — nothing is checked (dangerous, named so by the CLI).
//!   A revoked certificate is refused under every mode but `off`.
//! - Default: `require` in production, `prefer` for test environments (the sandbox, loopback,
//!   FIT-Connect TEST), whose self-signed or test-CA keys have no reachable CRL or OCSP; an
//!   offline installation uses `crls` with `online = false`.
//! - Cache: verified statuses until `valid_until` (`nextUpdate`), at most
//!   `max_cache_age`; failures for `failure_cache_age` so that polling the event log does not
//!   hammer an unreachable responder; at most `max_cache_entries` certificates (expired
//!   entries go first, then the soonest to expire). Shared by clones of the client.

use std::collections::HashMap;

use aws_lc_rs::digest;
use reqwest::header::{ACCEPT, CONTENT_TYPE};

use super::config::{RevocationConfig, RevocationMode};
use super::transport::{Limited, read_limited};
use super::{Client, ClientError};
use crate::jose::x509::{
    ChainLink, RevocationStatus, StatusError, StatusInfo, StatusSource, VerifiedChain, crl, ocsp,
};

/// Responders and distribution points tried per certificate and kind.
pub const MAX_URLS: usize = 2;

/// Why a key was refused on revocation grounds.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationError {
    /// A certificate of the path is revoked.
    #[error("x5c[{index}] is revoked (per {via})")]
    Revoked {
        /// Position in `x5c`.
        index: usize,
        /// Where the status came from.
        via: StatusSource,
    },
    /// `require`: no current status could be obtained.
    #[error("x5c[{index}]: no valid revocation status ({detail})")]
    NoStatus {
        /// Position in `x5c`.
        index: usize,
        /// What was tried and why each source failed.
        detail: String,
    },
}

/// The outcome for one link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkOutcome {
    /// A current `good` status.
    Good {
        /// Position in `x5c`.
        index: usize,
        /// Where it came from.
        source: StatusSource,
    },
    /// `prefer`: no status could be obtained; the key is used anyway.
    Unavailable {
        /// Position in `x5c`.
        index: usize,
        /// What was tried and why each source failed.
        detail: String,
    },
}

/// What the revocation check found for a chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationReport {
    /// One outcome per link (empty with `off` or for a chain without links).
    pub links: Vec<LinkOutcome>,
}

impl RevocationReport {
    /// The links without a status (`prefer`), for a warning.
    pub fn unavailable(&self) -> impl Iterator<Item = (usize, &str)> {
        self.links.iter().filter_map(|l| match l {
            LinkOutcome::Unavailable { index, detail } => Some((*index, detail.as_str())),
            LinkOutcome::Good { .. } => None,
        })
    }
}

#[derive(Debug, Clone)]
enum Cached {
    Status(StatusInfo),
    Failed(String),
}

#[derive(Debug)]
struct Entry {
    value: Cached,
    expires: i64,
}

/// The status cache (see the design note).
#[derive(Debug, Default)]
pub(super) struct StatusCache {
    entries: HashMap<[u8; 32], Entry>,
}

fn cache_key(link: &ChainLink) -> [u8; 32] {
    let mut key = [0u8; 32];
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(&link.certificate);
    ctx.update(&link.issuer);
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

fn secs(d: std::time::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

impl StatusCache {
    fn get(&self, key: &[u8; 32], now: i64) -> Option<Cached> {
        self.entries
            .get(key)
            .filter(|e| now < e.expires)
            .map(|e| e.value.clone())
    }

    fn put(&mut self, key: [u8; 32], value: Cached, expires: i64, now: i64, max: usize) {
        if max == 0 {
            return;
        }
        if self.entries.len() >= max && !self.entries.contains_key(&key) {
            self.entries.retain(|_, e| now < e.expires);
        }
        while self.entries.len() >= max && !self.entries.contains_key(&key) {
            let Some(soonest) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.entries.remove(&soonest);
        }
        self.entries.insert(key, Entry { value, expires });
    }
}

/// What one link's sources gave.
enum Found {
    Status(StatusInfo),
    Nothing(String),
}

impl Client {
    fn cache(&self) -> std::sync::MutexGuard<'_, StatusCache> {
        // A panic while holding the lock cannot leave the map inconsistent: use it anyway.
        self.inner
            .revocation
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks the revocation status of every link of `chain` at `now` under the configured
    /// [`RevocationConfig`].
    ///
    /// # Errors
    /// [`ClientError::Revocation`] for a revoked certificate, or under `require` for one
    /// without a current `good` status.
    pub async fn check_revocation(
        &self,
        chain: &VerifiedChain,
        now: i64,
    ) -> Result<RevocationReport, ClientError> {
        let config = &self.inner.config.revocation;
        let mut report = RevocationReport::default();
        if config.mode == RevocationMode::Off {
            return Ok(report);
        }
        for link in &chain.links {
            let key = cache_key(link);
            let cached = self.cache().get(&key, now);
            let found = match cached {
                Some(Cached::Status(info)) => Found::Status(info),
                Some(Cached::Failed(detail)) => Found::Nothing(detail),
                None => {
                    let found = self.find_status(config, link, now).await;
                    let (value, expires) = match &found {
                        Found::Status(info) => (
                            Cached::Status(*info),
                            info.valid_until
                                .min(now.saturating_add(secs(config.max_cache_age))),
                        ),
                        Found::Nothing(detail) => (
                            Cached::Failed(detail.clone()),
                            now.saturating_add(secs(config.failure_cache_age)),
                        ),
                    };
                    self.cache()
                        .put(key, value, expires, now, config.max_cache_entries);
                    found
                }
            };
            let index = link.index;
            let detail = match found {
                Found::Status(info) => match info.status {
                    RevocationStatus::Good => {
                        report.links.push(LinkOutcome::Good {
                            index,
                            source: info.source,
                        });
                        continue;
                    }
                    RevocationStatus::Revoked { .. } => {
                        return Err(RevocationError::Revoked {
                            index,
                            via: info.source,
                        }
                        .into());
                    }
                    // `find_status` settles on good or revoked only; be safe all the same.
                    _ => "the status is unknown".to_owned(),
                },
                Found::Nothing(detail) => detail,
            };
            if config.mode == RevocationMode::Require {
                return Err(RevocationError::NoStatus { index, detail }.into());
            }
            report
                .links
                .push(LinkOutcome::Unavailable { index, detail });
        }
        Ok(report)
    }

    /// The first good or revoked status from the sources of `link`, or what went wrong.
    async fn find_status(&self, config: &RevocationConfig, link: &ChainLink, now: i64) -> Found {
        let mut tried: Vec<String> = Vec::new();
        let mut settle = |what: &str, result: Result<StatusInfo, String>| match result {
            Ok(info) if info.status != RevocationStatus::Unknown => Some(info),
            Ok(_) => {
                tried.push(format!("{what}: responder does not know the certificate"));
                None
            }
            Err(e) => {
                tried.push(format!("{what}: {e}"));
                None
            }
        };
        for crl_der in config.crls.iter().filter(|c| crl::issued_for(c, link)) {
            let result = crl::status(crl_der, link, now).map_err(|e| e.to_string());
            if let Some(info) = settle("configured CRL", result) {
                return Found::Status(info);
            }
        }
        if config.online {
            for url in link.ocsp_urls.iter().take(MAX_URLS) {
                let result = self.ocsp(config, link, url, now).await;
                if let Some(info) = settle(&format!("OCSP {url}"), result) {
                    return Found::Status(info);
                }
            }
            for url in link.crl_urls.iter().take(MAX_URLS) {
                let result = self.crl(config, link, url, now).await;
                if let Some(info) = settle(&format!("CRL {url}"), result) {
                    return Found::Status(info);
                }
            }
        }
        if tried.is_empty() {
            tried.push(if config.online {
                "the certificate names no OCSP responder or CRL distribution point, and no configured CRL is from its issuer".into()
            } else {
                "online checks are off and no configured CRL is from its issuer".into()
            });
        }
        Found::Nothing(tried.join("; "))
    }

    async fn fetch(
        &self,
        request: reqwest::RequestBuilder,
        timeout: std::time::Duration,
        limit: usize,
    ) -> Result<Vec<u8>, String> {
        let mut resp = request.timeout(timeout).send().await.map_err(|e| {
            if e.is_timeout() {
                "timed out".to_owned()
            } else {
                "unreachable".to_owned()
            }
        })?;
        let status = resp.status().as_u16();
        if status != 200 {
            return Err(format!("HTTP {status}"));
        }
        match read_limited(&mut resp, limit).await {
            Ok(body) => Ok(body),
            Err(Limited::TooLarge) => Err(format!("response larger than {limit} bytes")),
            Err(Limited::Body(e)) => Err(if e.is_timeout() {
                "timed out".to_owned()
            } else {
                "reading the response failed".to_owned()
            }),
        }
    }

    async fn ocsp(
        &self,
        config: &RevocationConfig,
        link: &ChainLink,
        url: &str,
        now: i64,
    ) -> Result<StatusInfo, String> {
        let body = ocsp::request(link).map_err(|e| e.to_string())?;
        let request = self
            .inner
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/ocsp-request")
            .header(ACCEPT, "application/ocsp-response")
            .body(body);
        let response = self
            .fetch(request, config.timeout, config.max_ocsp_bytes)
            .await?;
        ocsp::status(&response, link, now).map_err(|e: StatusError| e.to_string())
    }

    async fn crl(
        &self,
        config: &RevocationConfig,
        link: &ChainLink,
        url: &str,
        now: i64,
    ) -> Result<StatusInfo, String> {
        let request = self.inner.http.get(url);
        let body = self
            .fetch(request, config.timeout, config.max_crl_bytes)
            .await?;
        let der = crl::der_from_pem_or_der(&body).ok_or("not a DER or PEM CRL")?;
        crl::status(&der, link, now).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(valid_until: i64) -> Cached {
        Cached::Status(StatusInfo {
            status: RevocationStatus::Good,
            source: StatusSource::Crl,
            this_update: 0,
            valid_until,
        })
    }

    #[test]
    fn cache_is_bounded_and_evicts_expired_then_soonest() {
        let mut cache = StatusCache::default();
        cache.put([1; 32], info(100), 100, 0, 2);
        cache.put([2; 32], info(50), 50, 0, 2);
        cache.put([3; 32], info(200), 200, 0, 2);
        // The soonest to expire ([2]) made room.
        assert_eq!(cache.entries.len(), 2);
        assert!(cache.get(&[2; 32], 0).is_none());
        assert!(cache.get(&[1; 32], 0).is_some());
        // Expired entries are not returned and go first.
        assert!(cache.get(&[1; 32], 100).is_none());
        cache.put([4; 32], info(300), 300, 150, 2);
        assert!(cache.get(&[3; 32], 150).is_some());
        assert!(cache.get(&[4; 32], 150).is_some());
        // A zero-sized cache keeps nothing.
        let mut none = StatusCache::default();
        none.put([1; 32], info(100), 100, 0, 0);
        assert!(none.entries.is_empty());
    }
}
