//! Sandbox configuration: TOML (or flags) → checked, immutable [`SandboxConfig`].
//!
//! Everything the protocol notes mark UNCONFIRMED (problem prefix, scope names, callback type,
//! accepted content types) lives in [`Profile`] with the observed values as defaults, so it can
//! be changed without a code change.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use crate::config::SandboxLimits;

/// Why a configuration is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The TOML text does not parse or has unknown fields.
    #[error("sandbox config: {0}")]
    Toml(String),
    /// The configuration parses but is inconsistent; all findings at once.
    #[error("sandbox config: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

/// The whole sandbox configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// Address to bind. Default `127.0.0.1:8090`; tests use `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// Directory for the SQLite file and the generated keys. Default `./sandbox-data`.
    pub data_dir: PathBuf,
    /// Keep all state in memory (SQLite `:memory:`, keys not written). Default false.
    pub ephemeral: bool,
    /// Base URL used as `iss` of the sandbox's SETs; default `http://<bound address>`.
    pub issuer: Option<String>,
    /// Lifetime of access tokens in seconds. Default 1800 (FIT-Connect: at most 30 minutes).
    pub token_lifetime_secs: u64,
    /// PKCS#8 PEM or private JWK file of the sandbox's own PS512 key; generated when absent.
    pub service_signing_key: Option<PathBuf>,
    /// Request size and time limits, the listener's included (`[limits]`, `[limits.http]`).
    pub limits: SandboxLimits,
    /// Protocol values that are not confirmed and therefore data.
    pub profile: Profile,
    /// Callback delivery.
    pub callbacks: CallbackPolicy,
    /// The destinations this sandbox serves.
    pub destinations: Vec<DestinationConfig>,
    /// The OAuth clients.
    pub clients: Vec<ClientConfig>,
    /// Fault-injection switches for testing subscribers; all off by default, and written to
    /// a generated configuration only when one is on.
    #[serde(skip_serializing_if = "Dangerous::is_off")]
    pub dangerous: Dangerous,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8090)),
            data_dir: PathBuf::from("sandbox-data"),
            ephemeral: false,
            issuer: None,
            token_lifetime_secs: 1800,
            service_signing_key: None,
            limits: SandboxLimits::default(),
            profile: Profile::default(),
            callbacks: CallbackPolicy::default(),
            destinations: Vec::new(),
            clients: Vec::new(),
            dangerous: Dangerous::default(),
        }
    }
}

/// `[dangerous]`: switches that make the sandbox misbehave on purpose, so that a subscriber's
/// checks can be tested against a real delivery service. Never turn one on outside tests;
/// `poststelle sandbox` names every switch that is on at startup.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Dangerous {
    /// Allow [`SandboxHandle::dangerous_replace_part`](super::SandboxHandle::dangerous_replace_part):
    /// replace a JWE of a submitted submission *after* the `submit-submission` SET recorded its
    /// authentication tag, so that subscribers download a part whose tag differs from the
    /// event log (the tag-mismatch case of the receive checks). Default false.
    pub allow_replacing_parts: bool,
}

impl Dangerous {
    fn is_off(&self) -> bool {
        *self == Self::default()
    }

    /// The switches that are on, one line each, for the startup log.
    #[must_use]
    pub fn in_effect(&self) -> Vec<&'static str> {
        let mut on = Vec::new();
        if self.allow_replacing_parts {
            on.push("dangerous.allow_replacing_parts: stored JWEs may be replaced after submit");
        }
        on
    }
}

/// Protocol values taken from observation, not from a normative source.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Profile {
    /// Prefix of problem `type` URIs (OBSERVED for v1).
    pub problem_prefix: String,
    /// Scopes granted to sender clients (CONFIRMED `send:region:DE`; OBSERVED 2026 URI).
    pub send_scopes: Vec<String>,
    /// Scope granted to subscriber clients (CONFIRMED).
    pub subscribe_scope: String,
    /// `type` of the new-submissions callback body (CONFIRMED).
    pub callback_type: String,
    /// Content types accepted for posted SETs (`application/jose` is UNCONFIRMED).
    pub event_content_types: Vec<String>,
    /// `cty` values v2 requires on metadata and data JWEs (OBSERVED).
    pub v2_required_cty: Vec<String>,
    /// Metadata schema versions a destination declares when its config names none.
    pub default_metadata_versions: Vec<String>,
    /// The set-payload schema of the sandbox's own SETs, and the one SETs posted on the v2
    /// path must declare (the live v2 service declares 1.2.2 and answers 1.0.0 with "Payload
    /// Schema not supported", OBSERVED 2026-06-14; the HTTP status of that answer is
    /// UNCONFIRMED, the sandbox uses 422). The v1 path accepts any set-payload 1.x.
    pub set_payload_schema: crate::fitconnect::set::PayloadSchema,
}

impl Default for Profile {
    fn default() -> Self {
        let s = |v: &str| v.to_owned();
        Self {
            problem_prefix: s("https://schema.fitko.de/fit-connect/submission-api/problems/"),
            send_scopes: vec![
                s("send:region:DE"),
                s("https://schema.fitko.de/fit-connect/oauth/scopes/send-submissions"),
            ],
            subscribe_scope: s(
                "https://schema.fitko.de/fit-connect/oauth/scopes/subscribe-destinations",
            ),
            callback_type: s(
                "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions",
            ),
            event_content_types: vec![s("application/jose"), s("application/jwt")],
            v2_required_cty: vec![s("application/json"), s("application/xml")],
            default_metadata_versions: vec![s("1.0.0"), s("2.0.0"), s("2.1.0"), s("3.0.0")],
            set_payload_schema: crate::fitconnect::set::PayloadSchema::V1_2_2,
        }
    }
}

/// How callbacks are delivered.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct CallbackPolicy {
    /// Attempts per callback before giving up. Default 5 (real schedule UNCONFIRMED).
    pub attempts: u32,
    /// Delay before the second attempt, doubled each time, in milliseconds. Default 1000.
    pub initial_backoff_ms: u64,
    /// Timeout of one attempt, in seconds. Default 10.
    pub timeout_secs: u64,
    /// Allow `http://` callback URLs on loopback hosts (FIT-Connect calls HTTPS only; a local
    /// sandbox talks to local receivers). Default true.
    pub allow_http_loopback: bool,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        Self {
            attempts: 5,
            initial_backoff_ms: 1000,
            timeout_secs: 10,
            allow_http_loopback: true,
        }
    }
}

/// One destination (Zustellpunkt).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DestinationConfig {
    /// destinationId (UUID).
    pub id: String,
    /// `active` (default) or anything else, which refuses new submissions.
    #[serde(default = "active")]
    pub status: String,
    /// Services offered.
    #[serde(default)]
    pub services: Vec<ServiceConfig>,
    /// Metadata schema versions accepted; default [`Profile::default_metadata_versions`].
    #[serde(default)]
    pub metadata_versions: Vec<String>,
    /// Where new submissions are announced (HTTPS, or HTTP on loopback).
    #[serde(default)]
    pub callback_url: Option<String>,
    /// The callback HMAC secret; required with `callback_url`.
    #[serde(default)]
    pub callback_secret: Option<String>,
    /// Private encryption JWK file; default `<data_dir>/keys/<id>/encryption.private.jwk.json`.
    #[serde(default)]
    pub encryption_key: Option<PathBuf>,
    /// Private signing JWK file; default `<data_dir>/keys/<id>/signing.private.jwk.json`.
    #[serde(default)]
    pub signing_key: Option<PathBuf>,
    /// Reply channels offered, by their metadata name (`eMail`, `fitConnect`, …; empty:
    /// any). A reply over FIT-Connect needs `fitConnect` among them.
    #[serde(default)]
    pub reply_channels: Vec<String>,
}

fn active() -> String {
    "active".to_owned()
}

/// One service (Leistung) of a destination: the receive side's type, so the sandbox serves and
/// the gateway checks the same facts.
pub use crate::fitconnect::destination::{SchemaRef, Service as ServiceConfig};

/// What an OAuth client may do.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientRole {
    /// Sends submissions (portal, Onlinedienst).
    Sender,
    /// Fetches and acknowledges submissions of its destinations (Fachverfahren, gateway).
    Subscriber,
}

/// One OAuth client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
    /// Sender or subscriber.
    pub role: ClientRole,
    /// Destinations a subscriber is connected to (ignored for senders).
    #[serde(default)]
    pub destinations: Vec<String>,
}

impl SandboxConfig {
    /// Parses TOML text (unknown fields refused) and checks it.
    ///
    /// # Errors
    /// [`ConfigError`] with every finding.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// A ready-to-use configuration: one destination offering a test service, one sender and
    /// one subscriber client with fresh random ids and secrets.
    #[must_use]
    pub fn generated() -> Self {
        let destination = uuid::Uuid::new_v4().to_string();
        Self {
            destinations: vec![DestinationConfig {
                id: destination.clone(),
                status: active(),
                services: vec![ServiceConfig {
                    identifier: "urn:de:fim:leika:leistung:99099002067003".into(),
                    name: "Sandbox test service".into(),
                    regions: vec!["DE".into()],
                    // The standards of the demo messages (any of their messages).
                    submission_schemas: vec![
                        SchemaRef {
                            schema_uri: "urn:xoev-de:bmk:standard:xbau_2.6".into(),
                            mime_type: "application/xml".into(),
                        },
                        SchemaRef {
                            schema_uri: "urn:xoev-de:kosit:standard:xgewerbeanzeige_2.2".into(),
                            mime_type: "application/xml".into(),
                        },
                    ],
                }],
                metadata_versions: Vec::new(),
                callback_url: None,
                callback_secret: None,
                encryption_key: None,
                signing_key: None,
                reply_channels: Vec::new(),
            }],
            clients: vec![
                ClientConfig {
                    id: format!("sender-{}", uuid::Uuid::new_v4()),
                    secret: random_secret(),
                    role: ClientRole::Sender,
                    destinations: Vec::new(),
                },
                ClientConfig {
                    id: format!("subscriber-{}", uuid::Uuid::new_v4()),
                    secret: random_secret(),
                    role: ClientRole::Subscriber,
                    destinations: vec![destination],
                },
            ],
            ..Self::default()
        }
    }

    /// Serializes to TOML (used to persist a generated configuration).
    ///
    /// # Errors
    /// [`ConfigError::Toml`] if serialization fails.
    pub fn to_toml(&self) -> Result<String, ConfigError> {
        toml::to_string_pretty(self).map_err(|e| ConfigError::Toml(e.to_string()))
    }

    /// Checks consistency; reports all findings at once.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`].
    pub fn check(&self) -> Result<(), ConfigError> {
        let mut findings = Vec::new();
        let mut ids = HashSet::new();
        for d in &self.destinations {
            if uuid::Uuid::parse_str(&d.id).is_err() {
                findings.push(format!("destination id {:?} is not a UUID", d.id));
            }
            if !ids.insert(d.id.as_str()) {
                findings.push(format!("destination {} is listed twice", d.id));
            }
            if d.callback_secret.as_ref().is_some_and(|s| {
                crate::fitconnect::callback::CallbackSecret::new(s.as_bytes()).is_err()
            }) {
                findings.push(format!("destination {}: callback_secret is empty", d.id));
            }
            match (&d.callback_url, &d.callback_secret) {
                (Some(url), Some(_)) => {
                    if let Err(why) = check_callback_url(url, self.callbacks.allow_http_loopback) {
                        findings.push(format!("destination {}: {why}", d.id));
                    }
                }
                (Some(_), None) => findings.push(format!(
                    "destination {}: callback_url needs callback_secret",
                    d.id
                )),
                (None, Some(_)) => findings.push(format!(
                    "destination {}: callback_secret without callback_url",
                    d.id
                )),
                (None, None) => {}
            }
            for channel in &d.reply_channels {
                if !crate::fitconnect::destination::REPLY_CHANNELS.contains(&channel.as_str()) {
                    findings.push(format!(
                        "destination {}: unknown reply channel {channel} (one of {})",
                        d.id,
                        crate::fitconnect::destination::REPLY_CHANNELS.join(", ")
                    ));
                }
            }
        }
        let mut clients = HashSet::new();
        for c in &self.clients {
            if !clients.insert(c.id.as_str()) {
                findings.push(format!("client {} is listed twice", c.id));
            }
            if c.secret.len() < 16 {
                findings.push(format!(
                    "client {}: secret shorter than 16 characters",
                    c.id
                ));
            }
            for d in &c.destinations {
                if !ids.contains(d.as_str()) {
                    findings.push(format!("client {}: unknown destination {d}", c.id));
                }
            }
        }
        if self.token_lifetime_secs == 0 || self.token_lifetime_secs > 1800 {
            findings.push("token_lifetime_secs must be 1..=1800".into());
        }
        let l = &self.limits;
        if l.default_page == 0 || l.default_page > l.max_page {
            findings.push("limits.default_page must be 1..=max_page".into());
        }
        if l.max_replies_per_submission == 0 {
            findings.push("limits.max_replies_per_submission must be at least 1".into());
        }
        findings.extend(l.listener().problems("limits.http"));
        if findings.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(findings))
        }
    }
}

/// A callback URL must be HTTPS, or HTTP to a loopback host when allowed.
fn check_callback_url(url: &str, allow_http_loopback: bool) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "callback_url is not a URL".to_owned())?;
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if allow_http_loopback => {
            let host = parsed.host_str().unwrap_or_default();
            let host = host.trim_start_matches('[').trim_end_matches(']');
            let loopback = host == "localhost"
                || host
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback());
            if loopback {
                Ok(())
            } else {
                Err("http callback_url must point to a loopback host".into())
            }
        }
        _ => Err("callback_url must be https".into()),
    }
}

/// 32 random bytes, base64url: a client secret nobody guesses.
#[must_use]
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("system RNG available");
    crate::jose::base64url::encode(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_config_round_trips_and_checks() {
        let c = SandboxConfig::generated();
        let text = c.to_toml().expect("toml");
        assert_eq!(SandboxConfig::from_toml(&text).expect("parse"), c);
    }

    #[test]
    fn dangerous_switches_are_off_by_default_and_named_when_on() {
        let c = SandboxConfig::generated();
        assert!(c.dangerous.in_effect().is_empty());
        let text = c.to_toml().expect("toml");
        assert!(!text.contains("dangerous"), "{text}");
        let on =
            SandboxConfig::from_toml("[dangerous]\nallow_replacing_parts = true\n").expect("parse");
        assert!(on.dangerous.allow_replacing_parts);
        assert_eq!(on.dangerous.in_effect().len(), 1);
        let text = on.to_toml().expect("toml");
        assert_eq!(SandboxConfig::from_toml(&text).expect("parse"), on);
        assert!(matches!(
            SandboxConfig::from_toml("[dangerous]\nallow_everything = true\n"),
            Err(ConfigError::Toml(_))
        ));
    }

    #[test]
    fn unknown_fields_and_inconsistencies_are_refused() {
        assert!(matches!(
            SandboxConfig::from_toml("lissen = \"127.0.0.1:1\""),
            Err(ConfigError::Toml(_))
        ));
        let text = r#"
            [[destinations]]
            id = "not-a-uuid"
            callback_url = "http://example.org/cb"
            callback_secret = "s"
            [[clients]]
            id = "c"
            secret = "short"
            role = "subscriber"
            destinations = ["x"]
        "#;
        let Err(ConfigError::Invalid(findings)) = SandboxConfig::from_toml(text) else {
            panic!("expected findings");
        };
        assert_eq!(findings.len(), 4, "{findings:?}");
    }
}
