//! Client configuration: endpoints, path profile, timeouts, size limits, retry policy, and the
//! environment presets (data in `presets.toml`).

use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use crate::fitconnect::captured::ApiProfile;

const PRESETS_TOML: &str = include_str!("presets.toml");

/// How failed requests are retried (429 and 5xx, honouring `Retry-After`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request including the first. Default 4.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled each time. Default 500 ms.
    pub initial_backoff: Duration,
    /// Upper bound of one backoff. Default 10 s.
    pub max_backoff: Duration,
    /// Longest `Retry-After` the client waits; a longer one ends the retries. Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

/// Where the client talks to and within which bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Base URL of the Submission API without the version segment
    /// (`https://submission-api-testing.fit-connect.fitko.dev`, or the sandbox's base URL).
    pub submission_api: String,
    /// OAuth2 token endpoint (client_credentials, client_secret_post).
    pub token_url: String,
    /// `iss` of the delivery service's SETs; default: `submission_api`.
    pub issuer: Option<String>,
    /// Path profile: `/v1` (documented) or `/v2` (observed).
    pub profile: ApiProfile,
    /// TCP + TLS connect timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// Timeout of one whole request (including the body). Default 60 s.
    pub request_timeout: Duration,
    /// Timeout of one attachment download or upload. Default 15 min (500 MB at ~5 MB/s).
    pub transfer_timeout: Duration,
    /// Largest JSON response (submission with its two JWEs, event log). Default 32 MiB.
    pub max_json_bytes: usize,
    /// Largest attachment JWE downloaded. Default 700 MB (500 MB encrypted plus base64).
    pub max_attachment_bytes: usize,
    /// Pages fetched at most when listing submissions or events (each ≤ 500). Default 100.
    pub max_pages: u32,
    /// Renew the token this long before it expires. Default 60 s.
    pub token_refresh_margin: Duration,
    /// Retries on 429 and 5xx.
    pub retry: RetryPolicy,
    /// `User-Agent` (the routing API refuses requests without one).
    pub user_agent: String,
}

impl ClientConfig {
    /// A configuration for explicit URLs with the default bounds.
    #[must_use]
    pub fn new(submission_api: &str, token_url: &str, profile: ApiProfile) -> Self {
        Self {
            submission_api: submission_api.trim_end_matches('/').to_owned(),
            token_url: token_url.to_owned(),
            issuer: None,
            profile,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            transfer_timeout: Duration::from_secs(15 * 60),
            max_json_bytes: 32 << 20,
            max_attachment_bytes: 700_000_000,
            max_pages: 100,
            token_refresh_margin: Duration::from_secs(60),
            retry: RetryPolicy::default(),
            user_agent: concat!("poststelle/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }

    /// The `poststelle sandbox` at `base_url` (`http://127.0.0.1:8090`): API, `/token` and
    /// the SET issuer all live under the one base URL.
    #[must_use]
    pub fn sandbox(base_url: &str, profile: ApiProfile) -> Self {
        let base = base_url.trim_end_matches('/');
        Self::new(base, &format!("{base}/token"), profile)
    }

    /// A configuration from a named preset (`test`, `test-v2`, `stage`, `prod`; see
    /// [`presets`]). `None` for an unknown name.
    #[must_use]
    pub fn preset(name: &str) -> Option<Self> {
        let p = presets().iter().find(|p| p.name == name)?;
        let mut config = Self::new(&p.submission_api, &p.token_url, p.profile);
        config.issuer.clone_from(&p.issuer);
        Some(config)
    }

    /// The SET issuer of the delivery service.
    #[must_use]
    pub fn issuer(&self) -> &str {
        self.issuer.as_deref().unwrap_or(&self.submission_api)
    }

    /// `<submission_api>/v1` or `/v2`.
    #[must_use]
    pub fn api_base(&self) -> String {
        let version = match self.profile {
            ApiProfile::V1 => "v1",
            ApiProfile::V2 => "v2",
        };
        format!("{}/{version}", self.submission_api)
    }
}

/// An environment preset (one entry of `presets.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Preset {
    /// Name used on the command line.
    pub name: String,
    /// OAuth token endpoint.
    pub token_url: String,
    /// Submission API base URL (without `/v1`, `/v2`).
    pub submission_api: String,
    /// Path profile.
    pub profile: ApiProfile,
    /// `confirmed`, `observed` or `unconfirmed` (protocol notes §1.1).
    pub status: String,
    /// SET issuer when it differs from `submission_api`.
    #[serde(default)]
    pub issuer: Option<String>,
}

#[derive(Deserialize)]
struct PresetFile {
    preset: Vec<Preset>,
}

/// The embedded environment presets.
#[must_use]
pub fn presets() -> &'static [Preset] {
    static PRESETS: OnceLock<Vec<Preset>> = OnceLock::new();
    PRESETS.get_or_init(|| {
        toml::from_str::<PresetFile>(PRESETS_TOML)
            .expect("embedded presets.toml is valid (unit-tested)")
            .preset
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_parse_and_carry_their_status() {
        let names: Vec<&str> = presets().iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["test", "test-v2", "stage", "prod"]);
        for p in presets() {
            assert!(p.token_url.starts_with("https://"), "{}", p.name);
            assert!(p.submission_api.starts_with("https://"), "{}", p.name);
            assert!(
                ["confirmed", "observed", "unconfirmed"].contains(&p.status.as_str()),
                "{}",
                p.name
            );
        }
        let test = ClientConfig::preset("test").expect("test preset");
        assert_eq!(
            test.api_base(),
            "https://submission-api-testing.fit-connect.fitko.dev/v1"
        );
        assert_eq!(test.issuer(), test.submission_api);
        assert!(ClientConfig::preset("nowhere").is_none());
    }

    #[test]
    fn sandbox_config_shares_one_base() {
        let c = ClientConfig::sandbox("http://127.0.0.1:8090/", ApiProfile::V2);
        assert_eq!(c.token_url, "http://127.0.0.1:8090/token");
        assert_eq!(c.api_base(), "http://127.0.0.1:8090/v2");
        assert_eq!(c.issuer(), "http://127.0.0.1:8090");
    }
}
