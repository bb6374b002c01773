//! Client configuration: endpoints, path profile, timeouts, size limits, retry policy, and the
//! environment presets (data in `presets.toml`).

use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use crate::fitconnect::captured::ApiProfile;
use crate::fitconnect::set::PayloadSchema;
use crate::jose::x509::TrustPolicy;

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

/// How the revocation status of destination certificates is established (see
/// [`crate::fitconnect::client::revocation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevocationMode {
    /// Every certificate below the trust anchor needs a current `good` status from a CRL or
    /// an OCSP response; without one the key is refused. The default outside test
    /// environments.
    Require,
    /// Use the status that can be obtained; a revoked certificate is refused, a missing status
    /// is reported as a warning. The default against the sandbox, loopback and the FIT-Connect
    /// test environment, which publish no CRL or OCSP for their (self-signed) keys.
    Prefer,
    /// DANGEROUS: no revocation check at all (a revoked key would be used).
    Off,
}

impl std::str::FromStr for RevocationMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "require" => Ok(Self::Require),
            "prefer" => Ok(Self::Prefer),
            "off" => Ok(Self::Off),
            other => Err(format!(
                "revocation must be require, prefer or off, not {other:?}"
            )),
        }
    }
}

/// Revocation checking of destination certificates (CRL and OCSP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationConfig {
    /// The policy. Default: [`RevocationMode::Require`], or [`RevocationMode::Prefer`] for a
    /// test environment ([`ClientConfig::test_environment`]).
    pub mode: RevocationMode,
    /// CRLs supplied by the operator (DER), consulted before any network access: with
    /// `online = false` they are the only source (offline operation).
    pub crls: Vec<Vec<u8>>,
    /// Ask the OCSP responders (authority information access) and fetch the CRLs
    /// (distribution points) named in the certificates. Default true.
    pub online: bool,
    /// Timeout of one OCSP request or CRL download. Default 10 s.
    pub timeout: Duration,
    /// Largest CRL downloaded. Default 16 MiB (large CA CRLs reach a few MiB).
    pub max_crl_bytes: usize,
    /// Largest OCSP response. Default 64 KiB (a response with a responder certificate is
    /// a few KiB).
    pub max_ocsp_bytes: usize,
    /// Longest time a status is kept in the cache, even if its `nextUpdate` is later.
    /// Default 1 h.
    pub max_cache_age: Duration,
    /// Certificates whose status is cached. Default 256.
    pub max_cache_entries: usize,
    /// How long a failed lookup is remembered, so that polling does not hammer an
    /// unreachable responder. Default 60 s.
    pub failure_cache_age: Duration,
}

impl RevocationConfig {
    /// The defaults with `mode`.
    #[must_use]
    pub fn with_mode(mode: RevocationMode) -> Self {
        Self {
            mode,
            crls: Vec::new(),
            online: true,
            timeout: Duration::from_secs(10),
            max_crl_bytes: 16 << 20,
            max_ocsp_bytes: 64 << 10,
            max_cache_age: Duration::from_secs(3600),
            max_cache_entries: 256,
            failure_cache_age: Duration::from_secs(60),
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
    /// Trust anchors for destination keys (the Verwaltungs-PKI roots). Default: none, so every
    /// destination key is refused until anchors are configured. The dangerous self-signed
    /// switch is accepted by [`Client::new`](super::Client::new) only for a test environment.
    pub trust: TrustPolicy,
    /// Revocation checking of destination certificates.
    pub revocation: RevocationConfig,
    /// Whether this is a test environment: the sandbox, a loopback URL or a preset marked
    /// `test` (FIT-Connect TEST). Decides where dangerous self-signed keys may be accepted and
    /// the default revocation mode; set by the constructors.
    pub test_environment: bool,
    /// The set-payload schema the SETs this client posts declare (`$schema`): the version the
    /// delivery service requires. Default by profile: 1.2.2 for v2 and the sandbox (the live
    /// service refuses 1.0.0, observed 2026-06-14), 1.0.0 (documented) for v1; a preset may
    /// name it (`set_payload_schema` in `presets.toml`).
    pub set_payload_schema: PayloadSchema,
}

impl ClientConfig {
    /// A configuration for explicit URLs with the default bounds.
    #[must_use]
    pub fn new(submission_api: &str, token_url: &str, profile: ApiProfile) -> Self {
        let submission_api = submission_api.trim_end_matches('/').to_owned();
        let test_environment = is_loopback_url(&submission_api)
            || presets()
                .iter()
                .any(|p| p.test && p.submission_api.trim_end_matches('/') == submission_api);
        Self {
            submission_api,
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
            trust: TrustPolicy::default(),
            revocation: RevocationConfig::with_mode(if test_environment {
                RevocationMode::Prefer
            } else {
                RevocationMode::Require
            }),
            test_environment,
            set_payload_schema: match profile {
                ApiProfile::V1 => PayloadSchema::V1_0_0,
                ApiProfile::V2 => PayloadSchema::V1_2_2,
            },
        }
    }

    /// The `poststelle sandbox` at `base_url` (`http://127.0.0.1:8090`): API, `/token` and
    /// the SET issuer all live under the one base URL.
    #[must_use]
    pub fn sandbox(base_url: &str, profile: ApiProfile) -> Self {
        let base = base_url.trim_end_matches('/');
        let mut config = Self::new(base, &format!("{base}/token"), profile);
        // The sandbox may listen on another address than loopback; it is a test service all
        // the same.
        config.test_environment = true;
        config.revocation.mode = RevocationMode::Prefer;
        // Like the live service, on either path.
        config.set_payload_schema = PayloadSchema::V1_2_2;
        config
    }

    /// A configuration from a named preset (`test`, `test-v2`, `stage`, `prod`; see
    /// [`presets`]). `None` for an unknown name.
    #[must_use]
    pub fn preset(name: &str) -> Option<Self> {
        let p = presets().iter().find(|p| p.name == name)?;
        let mut config = Self::new(&p.submission_api, &p.token_url, p.profile);
        config.issuer.clone_from(&p.issuer);
        if let Some(schema) = p.set_payload_schema {
            config.set_payload_schema = schema;
        }
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
    /// A test environment (FIT-Connect TEST): dangerous self-signed keys may be allowed and
    /// revocation defaults to `prefer`. Default false.
    #[serde(default)]
    pub test: bool,
    /// The set-payload schema the environment requires of posted SETs (default: by profile).
    #[serde(default)]
    pub set_payload_schema: Option<PayloadSchema>,
}

#[derive(Deserialize)]
struct PresetFile {
    preset: Vec<Preset>,
}

/// Whether `url` is `http(s)://` to a loopback host (`localhost`, 127.0.0.0/8, `[::1]`), by
/// its parsed host, not by a string prefix (`http://127.0.0.1.example` is not loopback).
#[must_use]
pub fn is_loopback_url(url: &str) -> bool {
    let Ok(parsed) = reqwest::Url::parse(url) else {
        return false;
    };
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
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
    fn test_environments_are_the_sandbox_loopback_and_test_presets() {
        for (name, test) in [
            ("test", true),
            ("test-v2", true),
            ("stage", false),
            ("prod", false),
        ] {
            let c = ClientConfig::preset(name).expect("preset");
            assert_eq!(c.test_environment, test, "{name}");
            let mode = if test {
                RevocationMode::Prefer
            } else {
                RevocationMode::Require
            };
            assert_eq!(c.revocation.mode, mode, "{name}");
        }
        let local = ClientConfig::new(
            "http://127.0.0.1:9/",
            "http://127.0.0.1:9/token",
            ApiProfile::V1,
        );
        assert!(local.test_environment);
        let tricked = ClientConfig::new(
            "http://127.0.0.1.example/",
            "http://127.0.0.1.example/token",
            ApiProfile::V1,
        );
        assert!(!tricked.test_environment);
        assert_eq!(tricked.revocation.mode, RevocationMode::Require);
        assert!(ClientConfig::sandbox("http://192.0.2.1:8090", ApiProfile::V1).test_environment);
        assert!(is_loopback_url("http://[::1]:80/x"));
        assert!(is_loopback_url("http://LOCALHOST"));
        assert!(!is_loopback_url("not a url"));
    }

    #[test]
    fn sandbox_config_shares_one_base() {
        let c = ClientConfig::sandbox("http://127.0.0.1:8090/", ApiProfile::V2);
        assert_eq!(c.token_url, "http://127.0.0.1:8090/token");
        assert_eq!(c.api_base(), "http://127.0.0.1:8090/v2");
        assert_eq!(c.issuer(), "http://127.0.0.1:8090");
    }
}
