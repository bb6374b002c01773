//! The `poststelle serve` configuration: TOML read into raw serde structs (unknown keys are
//! errors), then checked in full into [`GatewayConfig`]. Every problem is collected, so one run
//! names all of them (`serve` exits 64).
//!
//! Without a file, [`GatewayConfig::embedded_default`] is used: a local sandbox
//! (`poststelle sandbox`, its generated `sandbox-data/sandbox.toml` names the destination, the
//! subscriber and the key files), SQLite under `./data`, a file-drop upstream `./data/outbox`.
//!
//! ```toml
//! [delivery_service]          # either `sandbox_dir` or preset/submission_api + credentials
//! preset = "test"             # test | test-v2 | stage | prod (fitconnect::client presets)
//! client_id = "…"
//! client_secret_file = "secrets/client-secret"
//!
//! [[destination]]             # one or more (`[destination]` for one); not with sandbox_dir,
//! id = "…uuid…"               # whose sandbox.toml names the destinations
//! # client_id = "…"           # this destination's own subscriber client, else the one
//! # client_secret_file = "…"  # of [delivery_service]
//! encryption_keys = ["keys/encryption.private.jwk.json"]
//! signing_key = "keys/signing.private.jwk.json"
//! callback_secret_file = "secrets/callback-secret"   # optional
//! reply_channels = ["eMail", "fitConnect"]  # offered reply channels (default: any)
//!
//! [[destination.service]]     # services offered (default: any); a submission for another
//! identifier = "urn:de:fim:leika:leistung:99050012104000"   # service is rejected
//! submission_schemas = [{ schema_uri = "urn:xoev-de:kosit:standard:xgewerbeanzeige_2.2",
//!                         mime_type = "application/xml" }]
//!
//! [store]
//! address = "sqlite:data/poststelle.db"        # or postgres://user@host/db
//! # password_file = "secrets/pg-password"     # PostgreSQL only; or $POSTSTELLE_STORE_PASSWORD
//!                                             # (one source: not with a password in address)
//!
//! [retention]
//! payload_days = 30           # envelope and attachments of a submission are purged this many
//!                             # days after its last delivery (evidence stays; dead letters
//!                             # are never purged); 0 keeps them forever
//!
//! [pipeline]
//! ack_policy = "after-store"  # or after-forward
//! concurrency = 4
//! poll_interval_secs = 30
//! shutdown_grace_secs = 30    # SIGTERM/SIGINT: time to finish in-flight work, then exit 0
//! spool_dir = "data/spool"    # attachments while processed (unnamed files)
//! unconfirmed_metadata_versions = true   # metadata 2.1.0, validated against our reconstruction
//!
//! [forwarding]
//! lease_secs = 60             # claim lease, renewed while a delivery runs (min 2)
//! concurrency = 8             # deliveries in flight
//! max_attempts = 12           # failed attempts before the dead letters (1..=1000)
//! max_age_secs = 259200       # or once the job is this old (3 days; up to 365 days)
//! backoff_base_ms = 2000      # delay after the first failure, doubling (1 ms..=1 h) …
//! backoff_cap_secs = 3600     # … up to this (1 s..=1 day); each delay has equal jitter
//!
//! [[upstream]]
//! name = "outbox"
//! file_drop = "data/outbox"   # or url = "https://fachverfahren.example/in"
//!
//! [[upstream]]                # an HTTP(S) upstream; these keys are refused on a file_drop
//! name = "bau"
//! url = "https://bau.example/in"
//! ca_file = "tls/internal-ca.pem"       # optional: trust roots added for this upstream
//! client_cert = "tls/gateway.pem"       # optional, with client_key: mutual TLS
//! client_key = "tls/gateway.key"
//! timeout_secs = 30           # the whole exchange (1..=3600)
//! connect_timeout_secs = 10   # TCP + TLS (1..=300, at most timeout_secs)
//! attachments = true          # PUT each attachment before the envelope (false: envelope only)
//! rendering = false           # true: also PUT the case-worker document (attachments/document.html)
//! reply_token_file = "secrets/bau-reply-token"   # optional (any upstream): this Fachverfahren
//!                             # may answer the submissions routed to it (reply API, /api/v1/)
//!
//! [replies]                   # answers sent back over FIT-Connect (all keys optional)
//! max_bytes = 16777216        # largest hand-in (message + attachments as sent)
//! first_poll_secs = 30        # first pause before asking for the sender's decision (grows)
//! max_poll_secs = 3600
//! follow_days = 30            # then a submitted reply counts as unanswered
//!
//! [[route]]
//! message_type = "baugenehmigung.*"   # and/or service, destination (glob patterns)
//! to = ["outbox"]
//!
//! [routing]
//! default = ["outbox"]
//!
//! [server]
//! listen = "127.0.0.1:8091"                  # callbacks, admin API, probes
//! tls_cert = "tls/server.pem"                # optional, with tls_key: `listen` serves HTTPS
//! tls_key = "tls/server.key"                 # (chain leaf first; PKCS#8, PKCS#1 or SEC1 key)
//! probe_listen = "127.0.0.1:8092"            # optional: /health, /ready, /metrics only,
//!                                            # always plain HTTP (no personal data; loopback)
//! admin_token_file = "secrets/admin-token"   # optional; also turns on the console
//!
//! [console]                   # the operator console at /console/ (needs admin_token_file)
//! session_idle_minutes = 15   # a session ends after this long without a request (1..=1440)
//! session_max_hours = 8       # … and this long after login at the latest (1..=168)
//! access_log = "data/access.log"   # optional: who viewed which submission, JSON lines
//! users_file = "secrets/console-users"   # optional: named users (`poststelle console user`);
//!                                        # the login then asks for name and password
//!
//! [limits.http]               # the listeners (config::HttpLimits; all keys optional)
//! max_connections = 256
//! max_connections_per_client = 32
//! header_timeout_ms = 5000
//! tls_handshake_timeout_ms = 5000   # with tls_cert: silent clients are dropped after it
//!
//! [limits.server]             # the routes (config::ServerLimits)
//! max_callback_bytes = 65536
//!
//! [limits.pipeline]           # memory of the receive pipeline (config::PipelineLimits)
//! max_inline_data_bytes = 16777216
//! memory_budget_bytes = 201326592
//!
//! [limits.json]               # JSON Fachdaten (config::JsonLimits; all keys optional)
//! max_bytes = 16777216
//! max_depth = 64
//! # [limits.xml], [limits.xsd], [limits.jose], [limits.schematron]: the other groups of
//! # config::Limits (every key: docs/config-reference.md)
//!
//! [validation]
//! # DANGEROUS (logged at startup): JSON Fachdaten declaring one of these schema URIs are
//! # forwarded unvalidated (still parsed strictly) when no installed pack provides the schema,
//! # for services whose schema is not published yet.
//! pass_through_json = ["https://schema.fitko.de/fim/s00000000_1.0.schema.json"]
//! # Business rules (Schematron) of the schema pack on accepted XML Fachdaten: "annotate"
//! # (default; findings in the envelope's `businessRules`), "reject" (error findings reject
//! # with schema-violation at data), "off".
//! business_rules = "annotate"
//! # Severity of single rules by id (KoSIT's customLevel): "error", "warning", "information".
//! [validation.rule_severity]
//! codelist-unknown = "error"
//!
//! [schemas]
//! packs_dir = "packs"         # installed schema packs (default $POSTSTELLE_PACKS, else
//!                             # ./schemas-installed); relative to this file like every path
//!
//! [dangerous]                 # logged at startup
//! allow_plain_http = false    # http:// delivery service or upstream (local sandbox only)
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::{Limits, TlsFiles};
use crate::xoev::rules::BusinessRules;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// Every group of [`Limits`], read as it is (unknown keys refused).
    limits: Option<Limits>,
    delivery_service: Option<RawDelivery>,
    /// `[destination]` (one) or `[[destination]]` (several).
    #[serde(default, deserialize_with = "one_or_many")]
    destination: Vec<RawDestination>,
    store: Option<RawStore>,
    retention: Option<RawRetention>,
    pipeline: Option<RawPipeline>,
    forwarding: Option<RawForwarding>,
    #[serde(default)]
    upstream: Vec<RawUpstream>,
    #[serde(default)]
    route: Vec<RawRoute>,
    routing: Option<RawRouting>,
    server: Option<RawServer>,
    validation: Option<RawValidation>,
    schemas: Option<RawSchemas>,
    dangerous: Option<RawDangerous>,
    console: Option<RawConsole>,
    replies: Option<RawReplies>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReplies {
    max_bytes: Option<usize>,
    first_poll_secs: Option<u64>,
    max_poll_secs: Option<u64>,
    follow_days: Option<u64>,
}

/// `[replies]`: answers of Fachverfahren sent back over FIT-Connect (the reply API is on
/// when an upstream has a `reply_token_file`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplySettings {
    /// `max_bytes` (1 KiB..=512 MiB, default 16 MiB): the largest hand-in (message plus
    /// attachments, as sent).
    pub max_bytes: usize,
    /// `first_poll_secs` (1..=86400, default 30): first pause before the sender's decision is
    /// asked for; it grows with the time since submission.
    pub first_poll: Duration,
    /// `max_poll_secs` (1..=86400, default 3600, not below `first_poll_secs`).
    pub max_poll: Duration,
    /// `follow_days` (1..=365, default 30): how long a submitted reply is followed before it
    /// counts as unanswered.
    pub follow_for: Duration,
}

impl Default for ReplySettings {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            first_poll: Duration::from_secs(30),
            max_poll: Duration::from_secs(3600),
            follow_for: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsole {
    session_idle_minutes: Option<u64>,
    session_max_hours: Option<u64>,
    access_log: Option<PathBuf>,
    users_file: Option<PathBuf>,
}

/// `[console]`: the operator console's sessions and access log (the console itself is on
/// whenever `[server] admin_token_file` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    /// `session_idle_minutes` (1..=1440, default 15): a session ends after this long without a
    /// request.
    pub session_idle: Duration,
    /// `session_max_hours` (1..=168, default 8): a session ends this long after login at the
    /// latest.
    pub session_max: Duration,
    /// `access_log`: a file the access records (who viewed which submission's personal data,
    /// when) are appended to as JSON lines, mode 0600; without it they go to the log only
    /// (target `poststelle::access`).
    pub access_log: Option<PathBuf>,
    /// `users_file`: named users with password hashes (`console::Users`); with it the login
    /// asks for a user name and password and the access log names the user, and the admin token
    /// no longer opens the console.
    pub users_file: Option<PathBuf>,
}

impl Default for ConsoleSettings {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(15 * 60),
            session_max: Duration::from_secs(8 * 3600),
            access_log: None,
            users_file: None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchemas {
    packs_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawValidation {
    #[serde(default)]
    pass_through_json: Vec<String>,
    #[serde(default)]
    business_rules: BusinessRules,
    #[serde(default)]
    rule_severity: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    sandbox_dir: Option<PathBuf>,
    sandbox_url: Option<String>,
    preset: Option<String>,
    submission_api: Option<String>,
    token_url: Option<String>,
    profile: Option<String>,
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
}

/// `[destination]` or `[[destination]]`: each table read with the strict reader (unknown keys
/// named), which an untagged enum would hide behind "did not match any variant".
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<RawDestination>, D::Error> {
    use serde::de::Error as _;
    let tables = match toml::Value::deserialize(d)? {
        toml::Value::Table(t) => vec![t],
        toml::Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                toml::Value::Table(t) => Ok(t),
                _ => Err(D::Error::custom("destination: expected tables")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(D::Error::custom("destination: expected a table")),
    };
    tables
        .into_iter()
        .map(|t| t.try_into().map_err(D::Error::custom))
        .collect()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDestination {
    id: Option<String>,
    /// This destination's own subscriber client (else `[delivery_service]`'s).
    client_id: Option<String>,
    client_secret_file: Option<PathBuf>,
    #[serde(default)]
    encryption_keys: Vec<PathBuf>,
    signing_key: Option<PathBuf>,
    callback_secret_file: Option<PathBuf>,
    #[serde(default, rename = "service")]
    services: Vec<RawService>,
    #[serde(default)]
    reply_channels: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    identifier: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    submission_schemas: Vec<RawSchemaRef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSchemaRef {
    schema_uri: String,
    mime_type: String,
}

impl From<RawService> for crate::fitconnect::destination::Service {
    fn from(raw: RawService) -> Self {
        Self {
            identifier: raw.identifier,
            name: raw.name,
            regions: raw.regions,
            submission_schemas: raw
                .submission_schemas
                .into_iter()
                .map(|s| crate::fitconnect::destination::SchemaRef {
                    schema_uri: s.schema_uri,
                    mime_type: s.mime_type,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStore {
    address: Option<String>,
    password_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRetention {
    payload_days: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPipeline {
    ack_policy: Option<String>,
    concurrency: Option<usize>,
    poll_interval_secs: Option<u64>,
    shutdown_grace_secs: Option<u64>,
    spool_dir: Option<PathBuf>,
    unconfirmed_metadata_versions: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawForwarding {
    lease_secs: Option<u64>,
    concurrency: Option<usize>,
    max_attempts: Option<u32>,
    max_age_secs: Option<u64>,
    backoff_base_ms: Option<u64>,
    backoff_cap_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUpstream {
    name: Option<String>,
    file_drop: Option<PathBuf>,
    url: Option<String>,
    ca_file: Option<PathBuf>,
    client_cert: Option<PathBuf>,
    client_key: Option<PathBuf>,
    timeout_secs: Option<u64>,
    connect_timeout_secs: Option<u64>,
    attachments: Option<bool>,
    rendering: Option<bool>,
    /// The Fachverfahren behind this upstream may answer the submissions routed to it (the
    /// reply API, `Authorization: Bearer <token>`).
    reply_token_file: Option<PathBuf>,
}

impl RawUpstream {
    /// The keys given that only an HTTP(S) upstream takes.
    fn http_keys(&self) -> Vec<&'static str> {
        [
            ("ca_file", self.ca_file.is_some()),
            ("client_cert", self.client_cert.is_some()),
            ("client_key", self.client_key.is_some()),
            ("timeout_secs", self.timeout_secs.is_some()),
            ("connect_timeout_secs", self.connect_timeout_secs.is_some()),
            ("attachments", self.attachments.is_some()),
            ("rendering", self.rendering.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    service: Option<String>,
    message_type: Option<String>,
    destination: Option<String>,
    #[serde(default)]
    to: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRouting {
    #[serde(default)]
    default: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: Option<String>,
    probe_listen: Option<String>,
    admin_token_file: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDangerous {
    allow_plain_http: Option<bool>,
}

/// Where submissions come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliverySource {
    /// A local sandbox: its generated config in `dir` names destination, client and keys.
    Sandbox {
        /// The sandbox data directory (`sandbox-data`).
        dir: PathBuf,
        /// Its base URL.
        url: String,
    },
    /// A FIT-Connect delivery service.
    Remote {
        /// Preset name, if one was used.
        preset: Option<String>,
        /// Submission API base URL (overrides the preset).
        submission_api: Option<String>,
        /// OAuth token URL (overrides the preset).
        token_url: Option<String>,
        /// `v1` or `v2` (overrides the preset).
        profile: Option<String>,
        /// OAuth client id.
        client_id: String,
        /// File holding the client secret.
        client_secret_file: PathBuf,
    },
}

/// A destination the gateway receives for (with `DeliverySource::Sandbox` they come from the
/// sandbox config instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationSettings {
    /// Destination id (UUID).
    pub id: String,
    /// Its own subscriber client id and secret file, when it does not use
    /// `[delivery_service]`'s (a subscriber client may be linked to some destinations only).
    pub client: Option<(String, PathBuf)>,
    /// Private decryption JWK files.
    pub encryption_keys: Vec<PathBuf>,
    /// Private signing JWK file.
    pub signing_key: PathBuf,
    /// Callback secret file, when callbacks are configured.
    pub callback_secret_file: Option<PathBuf>,
    /// Services offered, with the submission schemas each accepts (`[[destination.service]]`;
    /// empty: any service).
    pub services: Vec<crate::fitconnect::destination::Service>,
    /// Reply channels offered (`eMail`, `deMail`, `fink`, `elster`, `fitConnect`; empty: any).
    pub reply_channels: Vec<String>,
}

/// One upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpstreamSettings {
    /// A file-drop directory.
    FileDrop {
        /// Configured name.
        name: String,
        /// Directory.
        dir: PathBuf,
    },
    /// HTTP(S) POST of the JSON envelope.
    Http {
        /// Configured name.
        name: String,
        /// URL.
        url: String,
        /// TLS, timeouts and attachments; what is not configured keeps
        /// `forward::HttpUpstream`'s defaults.
        options: HttpUpstreamOptions,
    },
}

/// The settings of an HTTP(S) upstream beyond its URL (`None`: `forward::HttpUpstream`'s
/// default, which is documented there).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpUpstreamOptions {
    /// `ca_file`: PEM trust roots for this upstream, added to the built-in ones (an internal
    /// CA). Only with an `https://` URL.
    pub ca_file: Option<PathBuf>,
    /// `client_cert` + `client_key`: the client certificate for mutual TLS. Only with an
    /// `https://` URL.
    pub client_identity: Option<TlsFiles>,
    /// `timeout_secs`: time for the whole exchange, 1..=3600.
    pub timeout: Option<Duration>,
    /// `connect_timeout_secs`: time to connect (TCP + TLS), 1..=300, at most `timeout_secs`.
    pub connect_timeout: Option<Duration>,
    /// `attachments`: whether attachments are sent (`PUT`) before the envelope.
    pub attachments: Option<bool>,
    /// `rendering`: whether the case-worker document (HTML) of the Fachdaten is sent as an
    /// extra attachment `document.html` before the envelope (default false).
    pub rendering: bool,
}

/// `[forwarding]`'s retry policy (`None`: `store::RetryPolicy`'s default, documented there).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetrySettings {
    /// `max_attempts`: attempts before a job becomes a dead letter, 1..=1000.
    pub max_attempts: Option<u32>,
    /// `max_age_secs`: age after which a failing job becomes a dead letter, 1 s..=365 days.
    pub max_age: Option<Duration>,
    /// `backoff_base_ms`: delay after the first failed attempt (before jitter), 1 ms..=1 h.
    pub backoff_base: Option<Duration>,
    /// `backoff_cap_secs`: upper bound of any delay, 1 s..=1 day, not below the base.
    pub backoff_cap: Option<Duration>,
}

impl UpstreamSettings {
    /// The configured name.
    #[must_use]
    pub fn name(&self) -> &str {
        match self {
            Self::FileDrop { name, .. } | Self::Http { name, .. } => name,
        }
    }
}

/// One route: glob patterns (all given ones must match) → upstream names.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RouteSettings {
    /// Service identifier pattern.
    pub service: Option<String>,
    /// Message type pattern.
    pub message_type: Option<String>,
    /// Destination id pattern.
    pub destination: Option<String>,
    /// Upstream names.
    pub to: Vec<String>,
}

/// The checked `serve` configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Where submissions come from.
    pub delivery: DeliverySource,
    /// The destinations (`[[destination]]`; empty with a sandbox source: the sandbox's).
    pub destinations: Vec<DestinationSettings>,
    /// Store address (`sqlite:PATH` or `postgres://…`).
    pub store: String,
    /// `[store] password_file`: the PostgreSQL password, read at startup (never in the
    /// address at the same time; `$POSTSTELLE_STORE_PASSWORD` is the alternative).
    pub store_password_file: Option<PathBuf>,
    /// `[retention]`: how long payloads of forwarded submissions are kept (default 30 days;
    /// 0 keeps them forever).
    pub retention: crate::store::Retention,
    /// `after-store` (default) or `after-forward`.
    pub after_forward: bool,
    /// Submissions processed at the same time.
    pub concurrency: usize,
    /// Seconds between polls.
    pub poll_interval_secs: u64,
    /// On SIGTERM or SIGINT: seconds in-flight decisions and deliveries get to finish before
    /// the process exits (0 after them either way; unfinished work is resumed by the next
    /// start, nothing is acknowledged before it is stored). Default 30.
    pub shutdown_grace_secs: u64,
    /// Spool directory: attachment JWEs and plaintexts while a submission is processed, and
    /// exports for HTTP uploads. This instance's own (files in it are swept at start).
    pub spool_dir: PathBuf,
    /// Accept metadata versions whose official schema was not available and that are validated
    /// against the project's reconstruction (2.1.0, what current senders write). Default true.
    pub unconfirmed_metadata_versions: bool,
    /// Lease of a claimed outbox job in seconds (renewed while its delivery runs).
    pub forward_lease_secs: u64,
    /// Deliveries in flight at most.
    pub forward_concurrency: usize,
    /// When failed deliveries are retried and when they become dead letters.
    pub forward_retry: RetrySettings,
    /// Upstreams.
    pub upstreams: Vec<UpstreamSettings>,
    /// Routes.
    pub routes: Vec<RouteSettings>,
    /// Upstreams for submissions no route matches.
    pub default_upstreams: Vec<String>,
    /// Server listen address.
    pub listen: SocketAddr,
    /// `[server] tls_cert` + `tls_key`: the main listener serves HTTPS with this certificate
    /// (the FIT-Connect callback URL must be HTTPS; a terminating proxy is the alternative).
    /// The probe listener stays plain HTTP: it serves only `/health`, `/ready` and `/metrics`,
    /// no personal data, to probes on an address attackers cannot reach (loopback, a pod).
    pub tls: Option<TlsFiles>,
    /// The probe listener's address (`/health`, `/ready`, `/metrics` only), if any.
    pub probe_listen: Option<SocketAddr>,
    /// The limits: every `[limits.*]` group from the file, defaults for what it leaves out.
    pub limits: Limits,
    /// `[validation] pass_through_json`: schema URIs of JSON Fachdaten forwarded unvalidated
    /// when no installed pack provides them (dangerous, logged at startup).
    pub pass_through_json: Vec<String>,
    /// `[validation] business_rules`: what the schema pack's business rules (Schematron) do to
    /// accepted XML Fachdaten (default: annotate the envelope).
    pub business_rules: BusinessRules,
    /// `[validation.rule_severity]`: severity by rule id (Schematron assert/report ids,
    /// `codelist-value`, `codelist-unknown`), like KoSIT's `customLevel`.
    pub rule_severity: crate::schematron::Overrides,
    /// `[schemas] packs_dir`: the installed schema packs, relative to the configuration file.
    /// Without it: `$POSTSTELLE_PACKS`, else `./schemas-installed` (working directory).
    pub packs_dir: Option<PathBuf>,
    /// Admin token file (admin API and console off without it).
    pub admin_token_file: Option<PathBuf>,
    /// `[console]`.
    pub console: ConsoleSettings,
    /// `[[upstream]] reply_token_file`: `(upstream name, token file)` of each Fachverfahren
    /// that may hand in replies.
    pub reply_clients: Vec<(String, PathBuf)>,
    /// `[replies]`.
    pub replies: ReplySettings,
    /// `[dangerous] allow_plain_http`.
    pub allow_plain_http: bool,
}

/// The default sandbox URL (`poststelle sandbox` listens there by default).
pub const DEFAULT_SANDBOX_URL: &str = "http://127.0.0.1:8090";

impl GatewayConfig {
    /// The configuration without a file: local sandbox, SQLite under `./data`, file drop
    /// `./data/outbox`, server on 127.0.0.1:8091.
    #[must_use]
    pub fn embedded_default() -> Self {
        Self::from_toml("", Path::new(".")).expect("the empty configuration is valid")
    }

    /// Parses and checks a configuration; relative paths are taken relative to `base`.
    ///
    /// # Errors
    /// Every problem found, one line each.
    pub fn from_toml(text: &str, base: &Path) -> Result<Self, Vec<String>> {
        let raw: Raw = toml::from_str(text).map_err(|e| vec![e.to_string()])?;
        let mut errors = Vec::new();
        let path = |p: &Path| -> PathBuf {
            if p.is_absolute() {
                p.to_owned()
            } else {
                base.join(p)
            }
        };
        let dangerous = raw.dangerous.unwrap_or_default();
        let d = raw.delivery_service.unwrap_or_default();
        let remote = d.preset.is_some() || d.submission_api.is_some();
        let delivery = if remote {
            if d.sandbox_dir.is_some() || d.sandbox_url.is_some() {
                errors.push(
                    "delivery_service: give either sandbox_dir/sandbox_url or preset/submission_api"
                        .to_owned(),
                );
            }
            // Presets live with the client (layer L2); `serve` resolves the name and reports
            // an unknown one with the other errors.
            if d.preset.is_none() && (d.submission_api.is_none() || d.token_url.is_none()) {
                errors.push(
                    "delivery_service: submission_api and token_url are required without a preset"
                        .into(),
                );
            }
            if let Some(profile) = &d.profile
                && profile != "v1"
                && profile != "v2"
            {
                errors.push(format!(
                    "delivery_service.profile: {profile:?} is not v1 or v2"
                ));
            }
            for url in d.submission_api.iter().chain(d.token_url.iter()) {
                check_url(url, dangerous.allow_plain_http == Some(true), &mut errors);
            }
            if d.client_id.is_none() {
                errors.push("delivery_service.client_id is required".into());
            }
            if d.client_secret_file.is_none() {
                errors.push("delivery_service.client_secret_file is required".into());
            }
            DeliverySource::Remote {
                preset: d.preset.clone(),
                submission_api: d.submission_api.clone(),
                token_url: d.token_url.clone(),
                profile: d.profile.clone(),
                client_id: d.client_id.clone().unwrap_or_default(),
                client_secret_file: path(d.client_secret_file.as_deref().unwrap_or(Path::new(""))),
            }
        } else {
            let url = d
                .sandbox_url
                .clone()
                .unwrap_or_else(|| DEFAULT_SANDBOX_URL.to_owned());
            // The sandbox is local and speaks plain HTTP: that needs no `[dangerous]` switch,
            // but only on loopback.
            // By the parsed host: `http://127.0.0.1.example` is not loopback.
            let https = url
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
            if !https && !crate::fitconnect::client::config::is_loopback_url(&url) {
                errors.push(format!(
                    "delivery_service.sandbox_url: {url:?} must be https or a loopback http URL"
                ));
            }
            DeliverySource::Sandbox {
                dir: path(
                    d.sandbox_dir
                        .as_deref()
                        .unwrap_or(Path::new("sandbox-data")),
                ),
                url,
            }
        };

        if remote && raw.destination.is_empty() {
            errors.push("[destination] is required with a remote delivery service".into());
        }
        if !remote && !raw.destination.is_empty() {
            errors.push(
                "[destination]: with a sandbox the destinations come from its sandbox.toml".into(),
            );
        }
        let mut destinations = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for (i, dest) in raw.destination.into_iter().enumerate() {
            let at = format!("destination[{i}]");
            let id = dest.id.unwrap_or_default();
            if uuid::Uuid::try_parse(&id).is_err() || id.len() != 36 {
                errors.push(format!("{at}.id must be a UUID"));
            } else if uuid::Uuid::try_parse(&id).is_ok_and(|u| u.is_nil()) {
                // The packaged configuration's placeholder: no delivery service issues it.
                errors.push(format!(
                    "{at}.id is the nil UUID, a placeholder: put in your destination id"
                ));
            } else if !ids.insert(id.to_ascii_lowercase()) {
                errors.push(format!("{at}.id {id} is configured twice"));
            }
            if dest.encryption_keys.is_empty() {
                errors.push(format!("{at}.encryption_keys: at least one key file"));
            }
            if dest.signing_key.is_none() {
                errors.push(format!("{at}.signing_key is required"));
            }
            for c in &dest.reply_channels {
                if !crate::fitconnect::destination::REPLY_CHANNELS.contains(&c.as_str()) {
                    errors.push(format!(
                        "{at}.reply_channels: {c:?} is not one of {}",
                        crate::fitconnect::destination::REPLY_CHANNELS.join(", ")
                    ));
                }
            }
            let client = match (dest.client_id, dest.client_secret_file) {
                (Some(id), Some(file)) => Some((id, path(&file))),
                (None, None) => None,
                _ => {
                    errors.push(format!(
                        "{at}: give both client_id and client_secret_file, or neither"
                    ));
                    None
                }
            };
            destinations.push(DestinationSettings {
                id,
                client,
                encryption_keys: dest.encryption_keys.iter().map(|p| path(p)).collect(),
                signing_key: path(dest.signing_key.as_deref().unwrap_or(Path::new(""))),
                callback_secret_file: dest.callback_secret_file.as_deref().map(path),
                services: dest.services.into_iter().map(Into::into).collect(),
                reply_channels: dest.reply_channels,
            });
        }

        let raw_store = raw.store.unwrap_or_default();
        let store = raw_store
            .address
            .unwrap_or_else(|| "sqlite:data/poststelle.db".into());
        let store_password_file = raw_store.password_file.as_deref().map(path);
        // Which password source wins is not a question: two are an error, checked with the
        // file read at startup (`store::StorePassword::resolve`, exit 64).
        let retention = crate::store::Retention {
            payload_days: raw
                .retention
                .and_then(|r| r.payload_days)
                .unwrap_or(crate::store::Retention::default().payload_days),
        };
        if retention.payload_days > 36_500 {
            errors.push(
                "retention.payload_days must be at most 36500 (0 keeps payloads forever)".into(),
            );
        }
        let store = match store.strip_prefix("sqlite:") {
            Some(p) => format!("sqlite:{}", path(Path::new(p)).display()),
            None if store.starts_with("postgres://") || store.starts_with("postgresql://") => store,
            None => {
                errors.push(format!(
                    "store.address: {store:?} is neither sqlite:PATH nor postgres://…"
                ));
                store
            }
        };

        let p = raw.pipeline.unwrap_or_default();
        let after_forward = match p.ack_policy.as_deref() {
            None | Some("after-store") => false,
            Some("after-forward") => true,
            Some(other) => {
                errors.push(format!(
                    "pipeline.ack_policy: {other:?} is not after-store or after-forward"
                ));
                false
            }
        };
        let concurrency = p.concurrency.unwrap_or(4);
        if !(1..=256).contains(&concurrency) {
            errors.push("pipeline.concurrency must be 1..=256".into());
        }
        let poll_interval_secs = p.poll_interval_secs.unwrap_or(30);
        if poll_interval_secs == 0 {
            errors.push("pipeline.poll_interval_secs must be at least 1".into());
        }
        let shutdown_grace_secs = p.shutdown_grace_secs.unwrap_or(30);
        if shutdown_grace_secs > 3600 {
            errors.push("pipeline.shutdown_grace_secs must be at most 3600".into());
        }
        let spool_dir = path(p.spool_dir.as_deref().unwrap_or(Path::new("data/spool")));
        let unconfirmed_metadata_versions = p.unconfirmed_metadata_versions.unwrap_or(true);

        let f = raw.forwarding.unwrap_or_default();
        let forward_lease_secs = f.lease_secs.unwrap_or(60);
        if !(2..=86_400).contains(&forward_lease_secs) {
            errors.push("forwarding.lease_secs must be 2..=86400".into());
        }
        let forward_concurrency = f.concurrency.unwrap_or(8);
        if !(1..=256).contains(&forward_concurrency) {
            errors.push("forwarding.concurrency must be 1..=256".into());
        }
        let forward_retry = retry_settings(&f, &mut errors);

        let mut upstreams = Vec::new();
        let mut reply_clients = Vec::new();
        for (i, u) in raw.upstream.iter().enumerate() {
            let Some(name) = u.name.clone().filter(|n| !n.is_empty()) else {
                errors.push(format!("upstream[{i}].name is required"));
                continue;
            };
            if let Some(file) = &u.reply_token_file {
                reply_clients.push((name.clone(), path(file)));
            }
            match (&u.file_drop, &u.url) {
                (Some(dir), None) => {
                    let http_keys = u.http_keys();
                    if !http_keys.is_empty() {
                        errors.push(format!(
                            "upstream {name:?}: {} only apply to url upstreams, not file_drop",
                            http_keys.join(", ")
                        ));
                    }
                    upstreams.push(UpstreamSettings::FileDrop {
                        name,
                        dir: path(dir),
                    });
                }
                (None, Some(url)) => {
                    check_url(url, dangerous.allow_plain_http == Some(true), &mut errors);
                    let options = http_upstream_options(&name, url, u, &path, &mut errors);
                    upstreams.push(UpstreamSettings::Http {
                        name,
                        url: url.clone(),
                        options,
                    });
                }
                _ => errors.push(format!(
                    "upstream {name:?}: give exactly one of file_drop or url"
                )),
            }
        }
        if upstreams.is_empty() && raw.upstream.is_empty() {
            upstreams.push(UpstreamSettings::FileDrop {
                name: "outbox".into(),
                dir: path(Path::new("data/outbox")),
            });
        }
        let mut names = std::collections::BTreeSet::new();
        for u in &upstreams {
            if !names.insert(u.name().to_owned()) {
                errors.push(format!("upstream {:?} is configured twice", u.name()));
            }
        }
        let routes: Vec<RouteSettings> = raw
            .route
            .into_iter()
            .map(|r| RouteSettings {
                service: r.service,
                message_type: r.message_type,
                destination: r.destination,
                to: r.to,
            })
            .collect();
        let default_upstreams = match raw.routing {
            Some(r) => r.default,
            None if routes.is_empty() => upstreams.iter().map(|u| u.name().to_owned()).collect(),
            None => Vec::new(),
        };
        for (i, r) in routes.iter().enumerate() {
            if r.to.is_empty() {
                errors.push(format!("route[{i}].to names no upstream"));
            }
        }
        for name in routes
            .iter()
            .flat_map(|r| r.to.iter())
            .chain(default_upstreams.iter())
        {
            if !names.contains(name) {
                errors.push(format!("routing names unknown upstream {name:?}"));
            }
        }

        let console = {
            let c = raw.console.unwrap_or_default();
            let mut settings = ConsoleSettings::default();
            match c.session_idle_minutes {
                Some(m) if !(1..=1440).contains(&m) => {
                    errors.push("console.session_idle_minutes must be 1..=1440".to_owned());
                }
                Some(m) => settings.session_idle = Duration::from_secs(m * 60),
                None => {}
            }
            match c.session_max_hours {
                Some(h) if !(1..=168).contains(&h) => {
                    errors.push("console.session_max_hours must be 1..=168".to_owned());
                }
                Some(h) => settings.session_max = Duration::from_secs(h * 3600),
                None => {}
            }
            settings.access_log = c.access_log.as_deref().map(path);
            settings.users_file = c.users_file.as_deref().map(path);
            settings
        };
        let server = raw.server.unwrap_or_default();
        let listen_text = server.listen.unwrap_or_else(|| "127.0.0.1:8091".into());
        let listen = listen_text.parse().unwrap_or_else(|_| {
            errors.push(format!("server.listen: {listen_text:?} is not IP:PORT"));
            SocketAddr::from(([127, 0, 0, 1], 8091))
        });
        let probe_listen = server.probe_listen.as_deref().and_then(|text| {
            let parsed = text.parse().ok();
            if parsed.is_none() {
                errors.push(format!("server.probe_listen: {text:?} is not IP:PORT"));
            }
            parsed
        });
        let tls = match (&server.tls_cert, &server.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert_chain_pem: path(cert),
                private_key_pem: path(key),
            }),
            (None, None) => None,
            _ => {
                errors.push("server: give both tls_cert and tls_key, or neither".into());
                None
            }
        };
        let limits = raw.limits.unwrap_or_default();
        errors.extend(limits.http.problems("limits.http"));
        let p = &limits.pipeline;
        if p.max_inline_data_bytes == 0
            || p.max_data_attachment_bytes == 0
            || p.memory_per_data_byte == 0
            || p.memory_budget_bytes < 1024 * 1024
        {
            errors.push(
                "limits.pipeline: every bound must be positive and memory_budget_bytes at least 1 MiB"
                    .to_owned(),
            );
        }
        errors.extend(limits.json.problems("limits.json"));
        errors.extend(limits.schematron.problems("limits.schematron"));
        let validation = raw.validation.unwrap_or_default();
        let business_rules = validation.business_rules;
        let mut rule_severity = crate::schematron::Overrides::new();
        for (id, level) in &validation.rule_severity {
            match crate::schematron::Severity::parse(level) {
                Some(s) if !id.is_empty() => {
                    rule_severity.insert(id.clone(), s);
                }
                _ => errors.push(format!(
                    "validation.rule_severity.{id}: {level:?} is not \"error\", \"warning\" or \"information\""
                )),
            }
        }
        let pass_through_json = validation.pass_through_json;
        for uri in &pass_through_json {
            if !uri.contains(':') || uri.chars().any(char::is_whitespace) {
                errors.push(format!(
                    "validation.pass_through_json: {uri:?} is not an absolute schema URI"
                ));
            }
        }
        let replies = reply_settings(raw.replies.unwrap_or_default(), &mut errors);

        if errors.is_empty() {
            Ok(GatewayConfig {
                delivery,
                destinations,
                store,
                store_password_file,
                retention,
                after_forward,
                concurrency,
                poll_interval_secs,
                shutdown_grace_secs,
                spool_dir,
                unconfirmed_metadata_versions,
                forward_lease_secs,
                forward_concurrency,
                forward_retry,
                upstreams,
                routes,
                default_upstreams,
                listen,
                tls,
                probe_listen,
                limits,
                pass_through_json,
                business_rules,
                rule_severity,
                packs_dir: raw.schemas.and_then(|s| s.packs_dir).map(|p| path(&p)),
                admin_token_file: server.admin_token_file.as_deref().map(path),
                console,
                reply_clients,
                replies,
                allow_plain_http: dangerous.allow_plain_http == Some(true),
            })
        } else {
            Err(errors)
        }
    }

    /// The dangerous settings in effect (`[dangerous]`, `[validation] pass_through_json`), one
    /// line each, for the startup log.
    #[must_use]
    pub fn dangerous_settings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.allow_plain_http {
            out.push(
                "allow_plain_http: plain http:// delivery service or upstream URLs".to_owned(),
            );
        }
        for uri in &self.pass_through_json {
            out.push(format!(
                "pass_through_json: JSON Fachdaten of {uri} are forwarded without schema validation"
            ));
        }
        out
    }
}

/// `[forwarding]`'s retry keys, each checked against its range.
fn reply_settings(r: RawReplies, errors: &mut Vec<String>) -> ReplySettings {
    let d = ReplySettings::default();
    let max_bytes = r.max_bytes.unwrap_or(d.max_bytes);
    if !(1024..=512 * 1024 * 1024).contains(&max_bytes) {
        errors.push("replies.max_bytes must be 1024..=536870912".into());
    }
    let secs = |v: Option<u64>, default: Duration, key: &str, errors: &mut Vec<String>| {
        let v = v.unwrap_or(default.as_secs());
        if !(1..=86_400).contains(&v) {
            errors.push(format!("replies.{key} must be 1..=86400"));
        }
        Duration::from_secs(v)
    };
    let first_poll = secs(r.first_poll_secs, d.first_poll, "first_poll_secs", errors);
    let max_poll = secs(r.max_poll_secs, d.max_poll, "max_poll_secs", errors);
    if max_poll < first_poll {
        errors.push("replies.max_poll_secs must not be below first_poll_secs".into());
    }
    let days = r.follow_days.unwrap_or(d.follow_for.as_secs() / 86_400);
    if !(1..=365).contains(&days) {
        errors.push("replies.follow_days must be 1..=365".into());
    }
    ReplySettings {
        max_bytes,
        first_poll,
        max_poll,
        follow_for: Duration::from_secs(days * 86_400),
    }
}

fn retry_settings(f: &RawForwarding, errors: &mut Vec<String>) -> RetrySettings {
    let mut within = |key: &str, value: Option<u64>, range: std::ops::RangeInclusive<u64>| {
        if value.is_some_and(|v| !range.contains(&v)) {
            errors.push(format!(
                "forwarding.{key} must be {}..={}",
                range.start(),
                range.end()
            ));
        }
        value
    };
    let max_attempts = within("max_attempts", f.max_attempts.map(u64::from), 1..=1000);
    let max_age = within("max_age_secs", f.max_age_secs, 1..=365 * 86_400);
    let base = within("backoff_base_ms", f.backoff_base_ms, 1..=3_600_000);
    let cap = within("backoff_cap_secs", f.backoff_cap_secs, 1..=86_400);
    if let (Some(base), Some(cap)) = (base, cap)
        && base > cap.saturating_mul(1000)
    {
        errors.push("forwarding.backoff_base_ms must not exceed backoff_cap_secs".into());
    }
    RetrySettings {
        max_attempts: max_attempts.and_then(|n| u32::try_from(n).ok()),
        max_age: max_age.map(Duration::from_secs),
        backoff_base: base.map(Duration::from_millis),
        backoff_cap: cap.map(Duration::from_secs),
    }
}

/// An HTTP(S) upstream's TLS, timeout and attachment keys, checked.
fn http_upstream_options(
    name: &str,
    url: &str,
    u: &RawUpstream,
    path: &dyn Fn(&Path) -> PathBuf,
    errors: &mut Vec<String>,
) -> HttpUpstreamOptions {
    let client_identity = match (&u.client_cert, &u.client_key) {
        (Some(cert), Some(key)) => Some(TlsFiles {
            cert_chain_pem: path(cert),
            private_key_pem: path(key),
        }),
        (None, None) => None,
        _ => {
            errors.push(format!(
                "upstream {name:?}: give both client_cert and client_key, or neither"
            ));
            None
        }
    };
    let https = url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    if !https && (u.ca_file.is_some() || u.client_cert.is_some() || u.client_key.is_some()) {
        errors.push(format!(
            "upstream {name:?}: ca_file, client_cert and client_key need an https:// url"
        ));
    }
    let mut secs = |key: &str, value: Option<u64>, max: u64| {
        if value.is_some_and(|v| !(1..=max).contains(&v)) {
            errors.push(format!("upstream {name:?}: {key} must be 1..={max}"));
        }
        value.map(Duration::from_secs)
    };
    let timeout = secs("timeout_secs", u.timeout_secs, 3600);
    let connect_timeout = secs("connect_timeout_secs", u.connect_timeout_secs, 300);
    if let (Some(t), Some(c)) = (timeout, connect_timeout)
        && c > t
    {
        errors.push(format!(
            "upstream {name:?}: connect_timeout_secs must not exceed timeout_secs"
        ));
    }
    HttpUpstreamOptions {
        ca_file: u.ca_file.as_deref().map(path),
        client_identity,
        timeout,
        connect_timeout,
        attachments: u.attachments,
        rendering: u.rendering == Some(true),
    }
}

fn check_url(url: &str, allow_http: bool, errors: &mut Vec<String>) {
    if url.starts_with("https://") {
        return;
    }
    if url.starts_with("http://") {
        if !allow_http {
            errors.push(format!(
                "{url:?}: plain http needs [dangerous] allow_plain_http = true"
            ));
        }
        return;
    }
    errors.push(format!("{url:?} is not an http(s) URL"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_sandbox_default() {
        let c = GatewayConfig::embedded_default();
        assert!(matches!(c.delivery, DeliverySource::Sandbox { .. }));
        assert_eq!(c.store, "sqlite:./data/poststelle.db");
        assert_eq!(c.spool_dir, Path::new("./data/spool"));
        assert_eq!(c.default_upstreams, vec!["outbox".to_owned()]);
        assert!(!c.after_forward);
        assert!(c.dangerous_settings().is_empty());
    }

    #[test]
    fn console_keys_default_are_read_and_range_checked() {
        let c = GatewayConfig::embedded_default();
        assert_eq!(c.console, ConsoleSettings::default());
        assert_eq!(c.console.session_idle, Duration::from_secs(900));
        let c = GatewayConfig::from_toml(
            "[console]\nsession_idle_minutes = 5\nsession_max_hours = 2\naccess_log = \"a.log\"\nusers_file = \"u\"\n",
            Path::new("/etc/ps"),
        )
        .expect("valid");
        assert_eq!(c.console.session_idle, Duration::from_secs(300));
        assert_eq!(c.console.session_max, Duration::from_secs(7200));
        assert_eq!(
            c.console.access_log.as_deref(),
            Some(Path::new("/etc/ps/a.log"))
        );
        assert_eq!(
            c.console.users_file.as_deref(),
            Some(Path::new("/etc/ps/u"))
        );
        let errors = GatewayConfig::from_toml(
            "[console]\nsession_idle_minutes = 0\nsession_max_hours = 1000\n",
            Path::new("."),
        )
        .expect_err("out of range");
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(GatewayConfig::from_toml("[console]\nenabled = true\n", Path::new(".")).is_err());
    }

    #[test]
    fn a_plain_http_sandbox_must_be_on_a_loopback_host() {
        for (url, ok) in [
            ("http://127.0.0.1:8090", true),
            ("http://localhost:8090", true),
            ("http://[::1]:8090", true),
            ("HTTPS://sandbox.example", true),
            ("http://127.0.0.1.example:8090", false),
            ("http://localhost.example", false),
            ("http://sandbox.example", false),
        ] {
            let text = format!("[delivery_service]\nsandbox_url = \"{url}\"\n");
            let verdict = GatewayConfig::from_toml(&text, Path::new("."));
            let refused = verdict.as_ref().err().is_some_and(|e| {
                e.iter()
                    .any(|m| m.contains("must be https or a loopback http URL"))
            });
            assert_eq!(!refused, ok, "{url}: {:?}", verdict.err());
        }
    }

    #[test]
    fn every_error_is_reported_at_once() {
        let text = r#"
            [delivery_service]
            submission_api = "http://insecure.example"
            [destination]
            id = "x"
            [pipeline]
            ack_policy = "sometimes"
            concurrency = 0
            [forwarding]
            lease_secs = 1
            [[upstream]]
            name = "a"
            [[route]]
            to = ["b"]
            [server]
            listen = "everywhere"
        "#;
        let errors = GatewayConfig::from_toml(text, Path::new(".")).expect_err("invalid");
        let all = errors.join("\n");
        for needle in [
            "token_url are required",
            "allow_plain_http",
            "client_id",
            "client_secret_file",
            "destination[0].id",
            "encryption_keys",
            "signing_key",
            "ack_policy",
            "concurrency",
            "forwarding.lease_secs",
            "exactly one of file_drop or url",
            "unknown upstream \"b\"",
            "server.listen",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
    }

    #[test]
    fn server_probe_listener_and_http_limits_are_configurable() {
        let text = r#"
            [server]
            probe_listen = "127.0.0.1:9000"
            [limits.http]
            max_connections_per_client = 8
            header_timeout_ms = 2000
            [limits.server]
            max_callback_bytes = 4096
        "#;
        let c = GatewayConfig::from_toml(text, Path::new(".")).expect("valid");
        assert_eq!(
            c.probe_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9000)))
        );
        assert_eq!(c.limits.http.max_connections_per_client, 8);
        assert_eq!(c.limits.http.header_timeout_ms, 2000);
        assert_eq!(c.limits.http.max_connections, 256, "defaults stay");
        assert_eq!(c.limits.server.max_callback_bytes, 4096);
        let errors = GatewayConfig::from_toml(
            "[server]\nprobe_listen = \"x\"\n[limits.http]\nheader_timeout_ms = 0\n",
            Path::new("."),
        )
        .expect_err("invalid");
        assert!(
            errors.iter().any(|e| e.contains("probe_listen")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.contains("limits.http.header_timeout_ms")),
            "{errors:?}"
        );
        // Every group of `Limits` is read from the file (serve hard-codes none); unknown keys
        // in a group are refused.
        let c = GatewayConfig::from_toml(
            "[limits.xml]\nmax_depth = 3\n[limits.pipeline]\nmax_inline_data_bytes = 1024\n",
            Path::new("."),
        )
        .expect("valid");
        assert_eq!(c.limits.xml.max_depth, 3);
        assert_eq!(c.limits.pipeline.max_inline_data_bytes, 1024);
        let c = GatewayConfig::from_toml("[limits.schematron]\nmax_findings = 5\n", Path::new("."))
            .expect("valid");
        assert_eq!(c.limits.schematron.max_findings, 5);
        assert_eq!(c.limits.schematron.max_tree_nodes, 1 << 20, "defaults stay");
        let errors = GatewayConfig::from_toml(
            "[limits.schematron]\nmax_evaluation_steps = 0\n",
            Path::new("."),
        )
        .expect_err("zero");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("limits.schematron.max_evaluation_steps")),
            "{errors:?}"
        );
        assert!(GatewayConfig::from_toml("[limits.xml]\nmax_dept = 3\n", Path::new(".")).is_err());
        assert!(
            GatewayConfig::from_toml(
                "[limits.pipeline]\nmemory_budget_bytes = 5\n",
                Path::new(".")
            )
            .is_err()
        );
    }

    #[test]
    fn business_rules_default_to_annotate_and_take_reject_or_off() {
        let c = GatewayConfig::from_toml("", Path::new(".")).expect("valid");
        assert_eq!(c.business_rules, BusinessRules::Annotate);
        for (text, mode) in [
            ("reject", BusinessRules::Reject),
            ("annotate", BusinessRules::Annotate),
            ("off", BusinessRules::Off),
        ] {
            let c = GatewayConfig::from_toml(
                &format!("[validation]\nbusiness_rules = \"{text}\"\n"),
                Path::new("."),
            )
            .expect("valid");
            assert_eq!(c.business_rules, mode);
        }
        let errors =
            GatewayConfig::from_toml("[validation]\nbusiness_rules = \"warn\"\n", Path::new("."))
                .expect_err("unknown mode");
        assert!(
            errors.iter().any(|e| e.contains("business_rules")),
            "{errors:?}"
        );
        let c = GatewayConfig::from_toml(
            "[validation.rule_severity]\ncodelist-unknown = \"error\"\nsch-stat-001 = \"warning\"\n",
            Path::new("."),
        )
        .expect("valid");
        use crate::schematron::Severity;
        assert_eq!(c.rule_severity.len(), 2);
        assert_eq!(c.rule_severity["codelist-unknown"], Severity::Error);
        assert_eq!(c.rule_severity["sch-stat-001"], Severity::Warning);
        let errors = GatewayConfig::from_toml(
            "[validation.rule_severity]\nsch-stat-001 = \"fatal\"\n",
            Path::new("."),
        )
        .expect_err("unknown severity");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("validation.rule_severity.sch-stat-001")),
            "{errors:?}"
        );
    }

    #[test]
    fn json_limits_and_pass_through_are_configurable_and_pass_through_is_dangerous() {
        let text = r#"
            [limits.json]
            max_bytes = 1048576
            [validation]
            pass_through_json = ["https://schema.fitko.de/fim/s00000000_1.0.schema.json"]
        "#;
        let c = GatewayConfig::from_toml(text, Path::new(".")).expect("valid");
        assert_eq!(c.limits.json.max_bytes, 1 << 20);
        assert_eq!(c.limits.json.max_depth, 64, "defaults stay");
        assert_eq!(c.pass_through_json.len(), 1);
        assert_eq!(
            c.dangerous_settings(),
            [
                "pass_through_json: JSON Fachdaten of https://schema.fitko.de/fim/s00000000_1.0.schema.json are forwarded without schema validation"
            ]
        );
        let errors = GatewayConfig::from_toml(
            "[limits.json]\nmax_depth = 0\n[validation]\npass_through_json = [\"no uri\"]\n",
            Path::new("."),
        )
        .expect_err("invalid");
        assert!(
            errors.iter().any(|e| e.contains("limits.json.max_depth")),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.contains("\"no uri\"")),
            "{errors:?}"
        );
    }

    #[test]
    fn several_destinations_each_with_keys_and_optionally_their_own_client() {
        let head = "[delivery_service]\npreset = \"test\"\nclient_id = \"c\"\nclient_secret_file = \"s\"\n";
        let dest = |id: &str, extra: &str| {
            format!(
                "[[destination]]\nid = \"{id}\"\nencryption_keys = [\"e-{id}\"]\nsigning_key = \"s-{id}\"\n{extra}"
            )
        };
        let (a, b) = (
            "40847c29-06aa-40e2-bf28-c29884c694c4",
            "9d2b6a5e-4c1f-4f3e-8a77-0b6f3c1e2d10",
        );
        let text = format!(
            "{head}{}{}",
            dest(a, ""),
            dest(
                b,
                "client_id = \"bau\"\nclient_secret_file = \"bau-secret\"\n"
            )
        );
        let c = GatewayConfig::from_toml(&text, Path::new("/etc/p")).expect("valid");
        assert_eq!(c.destinations.len(), 2);
        assert_eq!(c.destinations[0].id, a);
        assert_eq!(c.destinations[0].client, None);
        assert_eq!(
            c.destinations[1].client,
            Some(("bau".to_owned(), PathBuf::from("/etc/p/bau-secret")))
        );
        assert_eq!(
            c.destinations[1].signing_key,
            PathBuf::from(format!("/etc/p/s-{b}"))
        );
        // One `[destination]` table is still one destination.
        let single = format!(
            "{head}{}",
            dest(a, "").replace("[[destination]]", "[destination]")
        );
        let c = GatewayConfig::from_toml(&single, Path::new(".")).expect("valid");
        assert_eq!(c.destinations.len(), 1);
        // Unknown keys inside a destination are named, as everywhere.
        let typo = format!("{head}{}", dest(a, "signing_kee = \"x\"\n"));
        let errors = GatewayConfig::from_toml(&typo, Path::new(".")).expect_err("typo");
        assert!(errors[0].contains("signing_kee"), "{errors:?}");
        // The same id twice, a client id without its secret, destinations beside a sandbox.
        let text = format!(
            "{head}{}{}",
            dest(a, "client_id = \"x\"\n"),
            dest(&a.to_uppercase(), "")
        );
        let errors = GatewayConfig::from_toml(&text, Path::new(".")).expect_err("invalid");
        let all = errors.join("\n");
        assert!(all.contains("configured twice"), "{all}");
        assert!(all.contains("destination[0]: give both client_id"), "{all}");
        // The packaged configuration's placeholder id is no destination.
        let nil = format!("{head}{}", dest("00000000-0000-0000-0000-000000000000", ""));
        let errors = GatewayConfig::from_toml(&nil, Path::new(".")).expect_err("nil id");
        assert!(errors.join("\n").contains("nil UUID"), "{errors:?}");
        let errors =
            GatewayConfig::from_toml(&dest(a, ""), Path::new(".")).expect_err("sandbox + dest");
        assert!(errors.join("\n").contains("sandbox.toml"), "{errors:?}");
    }

    #[test]
    fn store_password_file_and_retention_are_read() {
        let c = GatewayConfig::embedded_default();
        assert_eq!(c.retention.payload_days, 30, "the default");
        assert_eq!(c.store_password_file, None);
        let text = r#"
            [store]
            address = "postgres://gw@db.example/poststelle"
            password_file = "secrets/pg-password"
            [retention]
            payload_days = 0
        "#;
        let c = GatewayConfig::from_toml(text, Path::new("/etc/poststelle")).expect("valid");
        assert_eq!(
            c.store_password_file.as_deref(),
            Some(Path::new("/etc/poststelle/secrets/pg-password")),
            "relative to the configuration file"
        );
        assert_eq!(c.retention.payload_days, 0, "0 keeps payloads forever");
        let errors =
            GatewayConfig::from_toml("[retention]\npayload_days = 40000\n", Path::new("."))
                .expect_err("too long");
        assert!(errors[0].contains("retention.payload_days"), "{errors:?}");
        assert!(
            GatewayConfig::from_toml("[retention]\npayload_day = 3\n", Path::new(".")).is_err()
        );
    }

    #[test]
    fn unknown_keys_are_refused() {
        let errors = GatewayConfig::from_toml("[store]\nadress = \"x\"\n", Path::new("."))
            .expect_err("typo");
        assert!(errors[0].contains("adress"), "{errors:?}");
    }

    #[test]
    fn tls_upstream_and_retry_keys_default_to_off_and_unset() {
        let c = GatewayConfig::embedded_default();
        assert_eq!(c.tls, None);
        assert_eq!(c.forward_retry, RetrySettings::default());
        let c = GatewayConfig::from_toml(
            "[[upstream]]\nname = \"bau\"\nurl = \"https://bau.example/in\"\n",
            Path::new("/etc/p"),
        )
        .expect("valid");
        let UpstreamSettings::Http { options, .. } = &c.upstreams[0] else {
            panic!("http upstream")
        };
        assert_eq!(*options, HttpUpstreamOptions::default());
    }

    #[test]
    fn tls_upstream_and_retry_keys_are_read_relative_to_the_file() {
        let text = r#"
            [server]
            tls_cert = "tls/server.pem"
            tls_key = "/abs/server.key"
            [forwarding]
            max_attempts = 3
            max_age_secs = 600
            backoff_base_ms = 50
            backoff_cap_secs = 2
            [[upstream]]
            name = "bau"
            url = "https://bau.example/in"
            ca_file = "tls/ca.pem"
            client_cert = "tls/gw.pem"
            client_key = "tls/gw.key"
            timeout_secs = 20
            connect_timeout_secs = 5
            attachments = false
        "#;
        let c = GatewayConfig::from_toml(text, Path::new("/etc/p")).expect("valid");
        assert_eq!(
            c.tls,
            Some(TlsFiles {
                cert_chain_pem: PathBuf::from("/etc/p/tls/server.pem"),
                private_key_pem: PathBuf::from("/abs/server.key"),
            })
        );
        assert_eq!(
            c.forward_retry,
            RetrySettings {
                max_attempts: Some(3),
                max_age: Some(Duration::from_secs(600)),
                backoff_base: Some(Duration::from_millis(50)),
                backoff_cap: Some(Duration::from_secs(2)),
            }
        );
        assert_eq!(
            c.upstreams[0],
            UpstreamSettings::Http {
                name: "bau".into(),
                url: "https://bau.example/in".into(),
                options: HttpUpstreamOptions {
                    ca_file: Some(PathBuf::from("/etc/p/tls/ca.pem")),
                    client_identity: Some(TlsFiles {
                        cert_chain_pem: PathBuf::from("/etc/p/tls/gw.pem"),
                        private_key_pem: PathBuf::from("/etc/p/tls/gw.key"),
                    }),
                    timeout: Some(Duration::from_secs(20)),
                    connect_timeout: Some(Duration::from_secs(5)),
                    attachments: Some(false),
                    rendering: false,
                },
            }
        );
    }

    #[test]
    fn tls_pairs_are_both_or_neither_and_http_keys_are_refused_on_file_drop() {
        let text = r#"
            [server]
            tls_cert = "server.pem"
            [[upstream]]
            name = "bau"
            url = "https://bau.example/in"
            client_key = "gw.key"
            [[upstream]]
            name = "plain"
            url = "http://127.0.0.1:9/in"
            ca_file = "ca.pem"
            [[upstream]]
            name = "outbox"
            file_drop = "out"
            ca_file = "ca.pem"
            attachments = false
            [dangerous]
            allow_plain_http = true
        "#;
        let errors = GatewayConfig::from_toml(text, Path::new(".")).expect_err("invalid");
        let all = errors.join("\n");
        for needle in [
            "server: give both tls_cert and tls_key, or neither",
            "upstream \"bau\": give both client_cert and client_key, or neither",
            "upstream \"plain\": ca_file, client_cert and client_key need an https:// url",
            "upstream \"outbox\": ca_file, attachments only apply to url upstreams, not file_drop",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        assert_eq!(errors.len(), 4, "{all}");
        let errors = GatewayConfig::from_toml(
            "[server]\ntls_key = \"k\"\n[[upstream]]\nname = \"a\"\nurl = \"https://a.example\"\nclient_cert = \"c\"\n",
            Path::new("."),
        )
        .expect_err("invalid");
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    #[test]
    fn timeouts_and_retry_limits_are_range_checked() {
        let text = r#"
            [forwarding]
            max_attempts = 0
            max_age_secs = 0
            backoff_base_ms = 0
            backoff_cap_secs = 86401
            [[upstream]]
            name = "bau"
            url = "https://bau.example/in"
            timeout_secs = 0
            connect_timeout_secs = 301
        "#;
        let errors = GatewayConfig::from_toml(text, Path::new(".")).expect_err("invalid");
        let all = errors.join("\n");
        for needle in [
            "forwarding.max_attempts must be 1..=1000",
            "forwarding.max_age_secs must be 1..=31536000",
            "forwarding.backoff_base_ms must be 1..=3600000",
            "forwarding.backoff_cap_secs must be 1..=86400",
            "upstream \"bau\": timeout_secs must be 1..=3600",
            "upstream \"bau\": connect_timeout_secs must be 1..=300",
        ] {
            assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
        }
        let text = r#"
            [forwarding]
            backoff_base_ms = 5000
            backoff_cap_secs = 2
            [[upstream]]
            name = "bau"
            url = "https://bau.example/in"
            timeout_secs = 5
            connect_timeout_secs = 10
        "#;
        let errors = GatewayConfig::from_toml(text, Path::new(".")).expect_err("invalid");
        assert_eq!(
            errors,
            [
                "forwarding.backoff_base_ms must not exceed backoff_cap_secs",
                "upstream \"bau\": connect_timeout_secs must not exceed timeout_secs",
            ]
        );
        // Negative numbers and wrong types are refused by the reader, naming the key.
        let errors = GatewayConfig::from_toml("[forwarding]\nmax_attempts = -1\n", Path::new("."))
            .expect_err("negative");
        assert!(errors[0].contains("max_attempts"), "{errors:?}");
        let errors = GatewayConfig::from_toml(
            "[[upstream]]\nname = \"a\"\nurl = \"https://a.example\"\nattachments = \"yes\"\n",
            Path::new("."),
        )
        .expect_err("not a bool");
        assert!(errors[0].contains("attachments"), "{errors:?}");
    }

    #[test]
    fn remote_with_preset_and_routes() {
        let text = r#"
            [delivery_service]
            preset = "test"
            client_id = "c"
            client_secret_file = "secret"
            [destination]
            id = "40847c29-06aa-40e2-bf28-c29884c694c4"
            encryption_keys = ["enc.jwk.json"]
            signing_key = "sig.jwk.json"
            [[upstream]]
            name = "bau"
            url = "https://bau.example/in"
            [[upstream]]
            name = "archiv"
            file_drop = "/var/spool/archiv"
            [[route]]
            message_type = "baugenehmigung.*"
            to = ["bau"]
            [routing]
            default = ["archiv"]
        "#;
        let c = GatewayConfig::from_toml(text, Path::new("/etc/poststelle")).expect("valid");
        let DeliverySource::Remote { preset, .. } = &c.delivery else {
            panic!("remote")
        };
        assert_eq!(preset.as_deref(), Some("test"));
        assert_eq!(
            c.destinations[0].signing_key,
            PathBuf::from("/etc/poststelle/sig.jwk.json")
        );
        assert_eq!(c.routes.len(), 1);
        assert_eq!(c.default_upstreams, vec!["archiv".to_owned()]);
    }
}
