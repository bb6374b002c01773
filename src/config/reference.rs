//! The reference of every `serve` configuration key, beside the parser it documents
//! ([`super::gateway`]): the table that `docs/config-reference.md` is generated from
//! (`poststelle generate config-reference`).
//!
//! Defaults are not written here but read from the configuration without a file
//! ([`GatewayConfig::embedded_default`], whose limits are [`super::Limits::default`]) and, for
//! keys whose default the layer that uses them decides, from that layer ([`ForwardPolicy`]
//! retries, [`HttpUpstream::new`]), so a changed default changes the reference. The tests hold the table to the parser: every key
//! it accepts is listed, every listed key is accepted (found by probing the parser's
//! unknown-field errors), every written default parses back to the defaults, and the
//! checked-in file is what this module generates.
//!
//! Adding a key to the parser is one entry in [`keys`]: `key("section.name", default, "meaning")`
//! (a new section also gets its line in [`SECTIONS`]); then regenerate ([`REGENERATE`]).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::gateway::{DeliverySource, GatewayConfig};
use crate::forward::{ForwardPolicy, HttpUpstream};

/// The command that regenerates the checked-in reference.
pub const REGENERATE: &str =
    "cargo run --locked -- generate config-reference --out docs/config-reference.md";

/// What a key is when the file leaves it out.
#[derive(Debug, Clone, Copy)]
pub enum DefaultValue {
    /// The value of the configuration without a file, as a TOML literal.
    Value(fn(&GatewayConfig) -> String),
    /// The key must be given (in the setting its section describes).
    Required,
    /// Nothing is set; the text says what that means.
    Unset(&'static str),
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The key's path: sections joined by `.`, `[]` after an array of tables
    /// (`upstream[].url`, `destination.service[].identifier`).
    pub path: &'static str,
    /// Its default.
    pub default: DefaultValue,
    /// What it means, in one or two sentences (Markdown).
    pub meaning: &'static str,
}

impl Key {
    /// The section part of [`Self::path`] (`pipeline`, `upstream[]`; empty at the top level).
    #[must_use]
    pub fn section(&self) -> &'static str {
        self.path.rsplit_once('.').map_or("", |(s, _)| s)
    }

    /// The key's own name.
    #[must_use]
    pub fn name(&self) -> &'static str {
        self.path.rsplit_once('.').map_or(self.path, |(_, n)| n)
    }
}

const fn key(path: &'static str, default: DefaultValue, meaning: &'static str) -> Key {
    Key {
        path,
        default,
        meaning,
    }
}

use DefaultValue::{Required, Unset, Value};

/// A value as a TOML literal.
trait Literal {
    fn literal(&self) -> String;
}

macro_rules! display_literal {
    ($($t:ty),*) => {$(
        impl Literal for $t {
            fn literal(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
display_literal!(u32, u64, u128, usize, bool);

impl Literal for str {
    fn literal(&self) -> String {
        toml::Value::String(self.to_owned()).to_string()
    }
}

impl Literal for String {
    fn literal(&self) -> String {
        self.as_str().literal()
    }
}

impl Literal for SocketAddr {
    fn literal(&self) -> String {
        self.to_string().literal()
    }
}

/// Paths of the defaults are resolved against `.`; the reference shows them as written.
impl Literal for Path {
    fn literal(&self) -> String {
        let shown = self.strip_prefix(".").unwrap_or(self);
        shown.to_string_lossy().literal()
    }
}

impl Literal for PathBuf {
    fn literal(&self) -> String {
        self.as_path().literal()
    }
}

fn sandbox_dir(c: &GatewayConfig) -> String {
    match &c.delivery {
        DeliverySource::Sandbox { dir, .. } => dir.literal(),
        DeliverySource::Remote { .. } => String::new(),
    }
}

fn sandbox_url(c: &GatewayConfig) -> String {
    match &c.delivery {
        DeliverySource::Sandbox { url, .. } => url.literal(),
        DeliverySource::Remote { .. } => String::new(),
    }
}

/// Sections in the order of the reference, each with what it is for.
pub const SECTIONS: &[(&str, &str)] = &[
    (
        "delivery_service",
        "Where submissions come from: a local sandbox (`sandbox_dir`/`sandbox_url`, the default) or a FIT-Connect delivery service (`preset` or `submission_api` + `token_url`, with the subscriber client's credentials).",
    ),
    (
        "destination",
        "The destination the gateway receives for and its keys: `[destination]` for one, `[[destination]]` for several (one pipeline each, sharing store and budgets). Required with a remote delivery service; with a sandbox they come from its `sandbox.toml`.",
    ),
    (
        "destination.service[]",
        "The services offered (none given: any service). A submission for another service is rejected.",
    ),
    (
        "destination.service[].submission_schemas[]",
        "The Fachdaten schemas a service accepts, usually written inline: `submission_schemas = [{ schema_uri = \"…\", mime_type = \"application/xml\" }]`.",
    ),
    ("store", "Where submissions, jobs and decisions are kept."),
    (
        "retention",
        "How long payloads stay after delivery: Fachdaten, envelope and attachment contents and names of accepted submissions are purged once every job is delivered and the last delivery is older than this; the evidence (SETs, tags, hashes, decision, times) stays. Rejected submissions keep no payload at all; dead letters are never purged. `poststelle queue purge` runs it by hand.",
    ),
    (
        "pipeline",
        "Receiving: polling, checking, storing and acknowledging submissions.",
    ),
    (
        "forwarding",
        "Delivering stored submissions to the upstreams.",
    ),
    (
        "upstream[]",
        "Where submissions are delivered; give exactly one of `file_drop` or `url`. The other keys apply to `url` upstreams only, except `reply_token_file`. None given: one file drop `outbox` at `data/outbox`.",
    ),
    (
        "route[]",
        "The first route whose every given pattern matches decides the upstreams (patterns: the exact value, or a prefix ending in `*`).",
    ),
    ("routing", "Submissions no route matches."),
    (
        "server",
        "The HTTP listener: callbacks, `/health`, `/ready`, `/metrics`, the admin API and the console.",
    ),
    (
        "console",
        "The operator console at `/console/` on the main listener (German HTML pages: overview, submissions, re-drive, the case-worker document). It is on whenever `server.admin_token_file` is set and logged into with that token; serve it over HTTPS (`tls_cert` or a proxy), its cookie is `Secure`.",
    ),
    (
        "replies",
        "Answers of Fachverfahren sent back to the applicant's portal over FIT-Connect (Rückkanal). The reply API (`/api/v1/` on the main listener) is on when an upstream has a `reply_token_file`; `poststelle reply submit` hands in from the command line. Replies are sent with the `[forwarding]` retry policy.",
    ),
    (
        "limits.http",
        "Bounds of the HTTP listeners (`config::HttpLimits`; the reasons are documented in `src/config/limits.rs`).",
    ),
    (
        "limits.server",
        "Bounds of the gateway's routes (`config::ServerLimits`).",
    ),
    (
        "limits.pipeline",
        "Memory bounds of the receive pipeline (`config::PipelineLimits`).",
    ),
    (
        "limits.xml",
        "Bounds of the XML reader (`config::XmlLimits`).",
    ),
    (
        "limits.xsd",
        "Bounds of the XSD engine (`config::XsdLimits`).",
    ),
    (
        "limits.jose",
        "Bounds of the JOSE layer (`config::JoseLimits`).",
    ),
    (
        "limits.json",
        "Bounds of the JSON reader and JSON Schema validation of JSON Fachdaten (`config::JsonLimits`).",
    ),
    (
        "limits.schematron",
        "Bounds of one business-rules (Schematron) run over one message (`config::SchematronLimits`); a rule that runs over them is a processing error of that rule, never a pass.",
    ),
    ("validation", "Validation of Fachdaten."),
    (
        "schemas",
        "The installed schema packs (`poststelle schemas install`).",
    ),
    (
        "dangerous",
        "Settings that weaken a protection; each one in effect is logged at startup.",
    ),
];

/// Every key `serve` accepts, section by section (the order of [`SECTIONS`]).
#[must_use]
#[allow(clippy::too_many_lines)] // one line per key, by design
pub fn keys() -> Vec<Key> {
    vec![
        key(
            "delivery_service.sandbox_dir",
            Value(sandbox_dir),
            "The `poststelle sandbox` data directory; its `sandbox.toml` names the destination, the subscriber client and the key files.",
        ),
        key(
            "delivery_service.sandbox_url",
            Value(sandbox_url),
            "The sandbox's base URL: https, or http on a loopback address.",
        ),
        key(
            "delivery_service.preset",
            Unset("no preset: `submission_api` and `token_url` are required"),
            "A FIT-Connect environment: `test`, `test-v2`, `stage` or `prod` (`src/fitconnect/client/presets.toml`). Selects a remote delivery service.",
        ),
        key(
            "delivery_service.submission_api",
            Unset("the preset's"),
            "Submission API base URL (https; overrides the preset). Selects a remote delivery service.",
        ),
        key(
            "delivery_service.token_url",
            Unset("the preset's"),
            "OAuth token URL (https; overrides the preset).",
        ),
        key(
            "delivery_service.profile",
            Unset("the preset's, else `v1`"),
            "API profile `v1` or `v2` (overrides the preset).",
        ),
        key(
            "delivery_service.client_id",
            Required,
            "OAuth client id of the subscriber client (remote delivery service); a destination may have its own.",
        ),
        key(
            "delivery_service.client_secret_file",
            Required,
            "File holding the subscriber client's secret (remote delivery service; surrounding white space ignored).",
        ),
        key("destination.id", Required, "The destination id (a UUID)."),
        key(
            "destination.client_id",
            Unset("`[delivery_service]`'s client"),
            "This destination's own subscriber client (give `client_secret_file` with it).",
        ),
        key(
            "destination.client_secret_file",
            Unset("`[delivery_service]`'s"),
            "File holding the secret of this destination's own subscriber client.",
        ),
        key(
            "destination.encryption_keys",
            Required,
            "Private decryption keys (JWK files), at least one; several while keys are rotated.",
        ),
        key(
            "destination.signing_key",
            Required,
            "Private signing key (JWK file) for the SETs the gateway posts (accept, reject).",
        ),
        key(
            "destination.callback_secret_file",
            Unset("no callback endpoint for the destination (404); the gateway polls"),
            "File holding the callback secret (HMAC-SHA512 key) the delivery service signs callbacks with.",
        ),
        key(
            "destination.reply_channels",
            Unset("any reply channel"),
            "Reply channels offered: `eMail`, `deMail`, `fink`, `elster`, `fitConnect`.",
        ),
        key(
            "destination.service[].identifier",
            Required,
            "Service identifier (`urn:de:fim:leika:leistung:…`).",
        ),
        key(
            "destination.service[].name",
            Unset("empty"),
            "Service name.",
        ),
        key(
            "destination.service[].regions",
            Unset("none"),
            "Region keys (ARS) the service is offered in.",
        ),
        key(
            "destination.service[].submission_schemas[].schema_uri",
            Required,
            "Schema URI of accepted Fachdaten (`urn:xoev-de:…` or a FIM JSON Schema URL).",
        ),
        key(
            "destination.service[].submission_schemas[].mime_type",
            Required,
            "Their MIME type: `application/xml` or `application/json`.",
        ),
        key(
            "store.address",
            Value(|c| c.store.replacen("sqlite:./", "sqlite:", 1).literal()),
            "`sqlite:PATH` or `postgres://…` (`postgresql://…`).",
        ),
        key(
            "store.password_file",
            Unset("no password, or `$POSTSTELLE_STORE_PASSWORD`, or one in the address"),
            "PostgreSQL only: a file holding the password (never printed). One source: not together with a password in `address` or the environment variable.",
        ),
        key(
            "retention.payload_days",
            Value(|c| c.retention.payload_days.literal()),
            "Days after the last delivery (0: keep payloads forever; at most 36500).",
        ),
        key(
            "pipeline.ack_policy",
            Value(|c| {
                if c.after_forward {
                    "after-forward"
                } else {
                    "after-store"
                }
                .literal()
            }),
            "When a submission is acknowledged to the delivery service: `after-store` (once stored durably) or `after-forward` (once every upstream has it).",
        ),
        key(
            "pipeline.concurrency",
            Value(|c| c.concurrency.literal()),
            "Submissions processed at the same time (1..=256).",
        ),
        key(
            "pipeline.poll_interval_secs",
            Value(|c| c.poll_interval_secs.literal()),
            "Seconds between polls of the delivery service (at least 1).",
        ),
        key(
            "pipeline.shutdown_grace_secs",
            Value(|c| c.shutdown_grace_secs.literal()),
            "On SIGTERM or SIGINT: seconds in-flight work gets to finish before the process exits (at most 3600; unfinished work resumes at the next start).",
        ),
        key(
            "pipeline.spool_dir",
            Value(|c| c.spool_dir.literal()),
            "Attachments while a submission is processed, and exports for HTTP uploads; this instance's own (swept at start).",
        ),
        key(
            "pipeline.unconfirmed_metadata_versions",
            Value(|c| c.unconfirmed_metadata_versions.literal()),
            "Accept metadata 2.1.0, validated against the project's reconstruction of its schema (the official one was not available).",
        ),
        key(
            "forwarding.lease_secs",
            Value(|c| c.forward_lease_secs.literal()),
            "Lease of a claimed delivery job in seconds, renewed while the delivery runs (2..=86400).",
        ),
        key(
            "forwarding.concurrency",
            Value(|c| c.forward_concurrency.literal()),
            "Deliveries in flight at most (1..=256).",
        ),
        key(
            "forwarding.max_attempts",
            Value(|c| ForwardPolicy::configured(c).retry.max_attempts.literal()),
            "Delivery attempts before a job becomes a dead letter (1..=1000; `poststelle queue redrive` retries it).",
        ),
        key(
            "forwarding.max_age_secs",
            Value(|c| {
                ForwardPolicy::configured(c)
                    .retry
                    .max_age
                    .as_secs()
                    .literal()
            }),
            "Age in seconds after which a failing job becomes a dead letter, whatever its attempts (1..=31536000).",
        ),
        key(
            "forwarding.backoff_base_ms",
            Value(|c| {
                ForwardPolicy::configured(c)
                    .retry
                    .base_delay
                    .as_millis()
                    .literal()
            }),
            "Delay after the first failed attempt in ms, doubled with each further one, with jitter (1..=3600000).",
        ),
        key(
            "forwarding.backoff_cap_secs",
            Value(|c| {
                ForwardPolicy::configured(c)
                    .retry
                    .max_delay
                    .as_secs()
                    .literal()
            }),
            "Upper bound of any retry delay in seconds (1..=86400, not below `backoff_base_ms`).",
        ),
        key(
            "upstream[].name",
            Required,
            "The upstream's name for routes and logs (1-64 of `A-Z a-z 0-9 . _ -`).",
        ),
        key(
            "upstream[].file_drop",
            Unset("give `file_drop` or `url`"),
            "A directory each submission is written into as a JSON envelope with its attachments.",
        ),
        key(
            "upstream[].url",
            Unset("give `file_drop` or `url`"),
            "An https URL the JSON envelope is POSTed to (http needs `[dangerous] allow_plain_http`).",
        ),
        key(
            "upstream[].ca_file",
            Unset("the built-in roots only"),
            "PEM bundle of further trusted roots, for an https upstream with an internal CA.",
        ),
        key(
            "upstream[].client_cert",
            Unset("no client certificate"),
            "PEM certificate chain for mutual TLS (with `client_key`; https only).",
        ),
        key(
            "upstream[].client_key",
            Unset("no client certificate"),
            "PEM private key of `client_cert`.",
        ),
        key(
            "upstream[].timeout_secs",
            Value(|_| HttpUpstream::new("").total_timeout.as_secs().literal()),
            "Time for one whole delivery exchange in seconds, from connecting to the end of the response (1..=3600).",
        ),
        key(
            "upstream[].connect_timeout_secs",
            Value(|_| HttpUpstream::new("").connect_timeout.as_secs().literal()),
            "Time to connect (TCP and TLS) in seconds (1..=300, not above `timeout_secs`).",
        ),
        key(
            "upstream[].attachments",
            Value(|_| HttpUpstream::new("").send_attachments.literal()),
            "Send the attachments before the envelope, each as `PUT <url>/<submission id>/attachments/<attachment id>`; off for an upstream that fetches them elsewhere.",
        ),
        key(
            "upstream[].rendering",
            Value(|_| HttpUpstream::new("").send_document.literal()),
            "Also send the case-worker document (the page `poststelle render` makes, German, self-contained; of XML Fachdaten, or of JSON Fachdaten with their installed JSON pack) as `PUT <url>/<submission id>/attachments/document.html` before the envelope, for the e-Akte. A document that cannot be rendered is logged and the submission delivered without it.",
        ),
        key(
            "upstream[].reply_token_file",
            Unset("this Fachverfahren cannot answer"),
            "File holding the bearer token with which the Fachverfahren behind this upstream hands in answers to the submissions routed to it (`POST /api/v1/submissions/<id>/replies`); any upstream kind. Surrounding white space is not part of the token; an empty file is an error.",
        ),
        key(
            "route[].service",
            Unset("any"),
            "Pattern on the service identifier.",
        ),
        key(
            "route[].message_type",
            Unset("any"),
            "Pattern on the message type (`baugenehmigung.*`).",
        ),
        key(
            "route[].destination",
            Unset("any"),
            "Pattern on the destination id.",
        ),
        key(
            "route[].to",
            Required,
            "Names of the upstreams that receive the matching submissions.",
        ),
        key(
            "routing.default",
            Unset("every upstream when there is no `[[route]]`, else none"),
            "Upstreams of submissions no route matches.",
        ),
        key(
            "server.listen",
            Value(|c| c.listen.literal()),
            "Address (IP:PORT) of the listener: callbacks, probes, metrics, admin API.",
        ),
        key(
            "server.probe_listen",
            Unset("no probe listener"),
            "A second listener (IP:PORT) with `/health`, `/ready` and `/metrics` only.",
        ),
        key(
            "server.admin_token_file",
            Unset("the admin API and the console are off"),
            "File holding the bearer token of the admin API; also the console's login token.",
        ),
        key(
            "server.tls_cert",
            Unset("plain HTTP (a TLS-terminating proxy in front)"),
            "PEM certificate chain: the main listener serves HTTPS (the probe listener stays plain); with `tls_key`.",
        ),
        key(
            "server.tls_key",
            Unset("plain HTTP"),
            "PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.",
        ),
        key(
            "console.session_idle_minutes",
            Value(|c| (c.console.session_idle.as_secs() / 60).literal()),
            "A console session ends after this many minutes without a request (1..=1440).",
        ),
        key(
            "console.session_max_hours",
            Value(|c| (c.console.session_max.as_secs() / 3600).literal()),
            "A console session ends this many hours after login at the latest (1..=168).",
        ),
        key(
            "console.access_log",
            Unset("access records go to the log only (target `poststelle::access`)"),
            "File the access records are appended to (JSON lines, mode 0600): who viewed which submission's personal data (submission page, case-worker document), when; never the data. A view that cannot be recorded is refused.",
        ),
        key(
            "console.users_file",
            Unset(
                "the console is logged into with the admin token; the access log names `admin-token`",
            ),
            "File of named console users, one `NAME:$pbkdf2-sha256$i=N$SALT$HASH` line each (`poststelle console user NAME` writes one). With it the login asks for user name and password, the access log names the user, and the admin token no longer opens the console (it still guards the admin API).",
        ),
        key(
            "replies.max_bytes",
            Value(|c| c.replies.max_bytes.literal()),
            "The largest hand-in in bytes: the message plus base64 attachments as sent (1024..=536870912).",
        ),
        key(
            "replies.first_poll_secs",
            Value(|c| c.replies.first_poll.as_secs().literal()),
            "Seconds before the sender's decision on a submitted reply is first asked for; the pause grows with the time since submission (a tenth of it) up to `max_poll_secs` (1..=86400).",
        ),
        key(
            "replies.max_poll_secs",
            Value(|c| c.replies.max_poll.as_secs().literal()),
            "The longest pause between two questions for the sender's decision (1..=86400, not below `first_poll_secs`).",
        ),
        key(
            "replies.follow_days",
            Value(|c| (c.replies.follow_for.as_secs() / 86_400).literal()),
            "Days a submitted reply is followed; without a decision by then it counts as `unanswered` (1..=365).",
        ),
        key(
            "limits.http.max_connections",
            Value(|c| c.limits.http.max_connections.literal()),
            "Connections served at once; further ones are refused at once.",
        ),
        key(
            "limits.http.max_connections_per_client",
            Value(|c| c.limits.http.max_connections_per_client.literal()),
            "Connections from one client address (IPv6: one /64) at once; behind a reverse proxy set it to `max_connections`.",
        ),
        key(
            "limits.http.probe_connections",
            Value(|c| c.limits.http.probe_connections.literal()),
            "Connections beyond the limits still answered for `/health` and `/ready`.",
        ),
        key(
            "limits.http.probe_timeout_ms",
            Value(|c| c.limits.http.probe_timeout_ms.literal()),
            "Time such a connection has for its handshake and request head, in ms.",
        ),
        key(
            "limits.http.listen_backlog",
            Value(|c| c.limits.http.listen_backlog.literal()),
            "Length of the kernel's queue of connections not yet accepted.",
        ),
        key(
            "limits.http.max_header_bytes",
            Value(|c| c.limits.http.max_header_bytes.literal()),
            "Buffer for the request line and headers (at least 8 KiB; larger heads get 431).",
        ),
        key(
            "limits.http.max_headers",
            Value(|c| c.limits.http.max_headers.literal()),
            "Header fields in one request.",
        ),
        key(
            "limits.http.header_timeout_ms",
            Value(|c| c.limits.http.header_timeout_ms.literal()),
            "Time for a request head to arrive, in ms; also the keep-alive idle time.",
        ),
        key(
            "limits.http.tls_handshake_timeout_ms",
            Value(|c| c.limits.http.tls_handshake_timeout_ms.literal()),
            "Time for the TLS handshake, in ms.",
        ),
        key(
            "limits.http.request_timeout_ms",
            Value(|c| c.limits.http.request_timeout_ms.literal()),
            "Time from a complete request head to the response, body included, in ms.",
        ),
        key(
            "limits.http.min_body_bytes_per_sec",
            Value(|c| c.limits.http.min_body_bytes_per_sec.literal()),
            "Slowest accepted request body after `body_grace_ms`, in bytes per second.",
        ),
        key(
            "limits.http.body_grace_ms",
            Value(|c| c.limits.http.body_grace_ms.literal()),
            "Time a body may take before the minimum rate applies, in ms.",
        ),
        key(
            "limits.http.drain_timeout_ms",
            Value(|c| c.limits.http.drain_timeout_ms.literal()),
            "How long shutdown waits for requests in flight, in ms.",
        ),
        key(
            "limits.server.max_callback_bytes",
            Value(|c| c.limits.server.max_callback_bytes.literal()),
            "Largest callback body (413 beyond).",
        ),
        key(
            "limits.server.callback_body_timeout_ms",
            Value(|c| c.limits.server.callback_body_timeout_ms.literal()),
            "Time for a callback body to arrive once its headers passed the checks, in ms.",
        ),
        key(
            "limits.pipeline.max_inline_data_bytes",
            Value(|c| c.limits.pipeline.max_inline_data_bytes.literal()),
            "How far inline Fachdaten with `zip: DEF` may inflate.",
        ),
        key(
            "limits.pipeline.max_data_attachment_bytes",
            Value(|c| c.limits.pipeline.max_data_attachment_bytes.literal()),
            "Fachdaten sent as an attachment with purpose `data` (read into memory for validation).",
        ),
        key(
            "limits.pipeline.memory_budget_bytes",
            Value(|c| c.limits.pipeline.memory_budget_bytes.literal()),
            "Memory all submissions in progress may reserve together (at least 1 MiB).",
        ),
        key(
            "limits.pipeline.memory_per_data_byte",
            Value(|c| c.limits.pipeline.memory_per_data_byte.literal()),
            "What one byte of Fachdaten costs in memory while a submission is processed.",
        ),
        key(
            "limits.xml.max_input_bytes",
            Value(|c| c.limits.xml.max_input_bytes.literal()),
            "Size of one XML document.",
        ),
        key(
            "limits.xml.max_depth",
            Value(|c| c.limits.xml.max_depth.literal()),
            "Element nesting depth.",
        ),
        key(
            "limits.xml.max_attributes",
            Value(|c| c.limits.xml.max_attributes.literal()),
            "Attributes on one element, namespace declarations included.",
        ),
        key(
            "limits.xml.max_namespace_declarations",
            Value(|c| c.limits.xml.max_namespace_declarations.literal()),
            "Namespace declarations on one element.",
        ),
        key(
            "limits.xml.max_name_bytes",
            Value(|c| c.limits.xml.max_name_bytes.literal()),
            "Length of one element or attribute name, prefix included.",
        ),
        key(
            "limits.xml.max_attribute_value_bytes",
            Value(|c| c.limits.xml.max_attribute_value_bytes.literal()),
            "Length of one attribute value after unescaping.",
        ),
        key(
            "limits.xml.max_text_bytes",
            Value(|c| c.limits.xml.max_text_bytes.literal()),
            "Length of one text node (CDATA included).",
        ),
        key(
            "limits.xml.max_markup_bytes",
            Value(|c| c.limits.xml.max_markup_bytes.literal()),
            "Size of one piece of markup (a start tag with its attributes, a comment, a processing instruction).",
        ),
        key(
            "limits.xsd.max_errors",
            Value(|c| c.limits.xsd.max_errors.literal()),
            "Validation errors collected per document before the rest is skipped.",
        ),
        key(
            "limits.xsd.max_schema_documents",
            Value(|c| c.limits.xsd.max_schema_documents.literal()),
            "Schema documents loaded for one schema set.",
        ),
        key(
            "limits.xsd.max_regex_bytes",
            Value(|c| c.limits.xsd.max_regex_bytes.literal()),
            "Compiled size of one pattern facet's regex.",
        ),
        key(
            "limits.xsd.max_regex_total_bytes",
            Value(|c| c.limits.xsd.max_regex_total_bytes.literal()),
            "Compiled size of all pattern facets of one schema set together.",
        ),
        key(
            "limits.xsd.max_identity_entries",
            Value(|c| c.limits.xsd.max_identity_entries.literal()),
            "IDs, IDREFs and identity-constraint entries held at once for one document.",
        ),
        key(
            "limits.xsd.max_identity_bytes",
            Value(|c| c.limits.xsd.max_identity_bytes.literal()),
            "Bytes of the values (and element paths) behind those entries.",
        ),
        key(
            "limits.xsd.max_derivation_depth",
            Value(|c| c.limits.xsd.max_derivation_depth.literal()),
            "Type definitions built on one another (base, item and member types, substitution-group heads).",
        ),
        key(
            "limits.xsd.max_content_model_depth",
            Value(|c| c.limits.xsd.max_content_model_depth.literal()),
            "Nesting of model groups in one content model.",
        ),
        key(
            "limits.xsd.max_content_model_particles",
            Value(|c| c.limits.xsd.max_content_model_particles.literal()),
            "Particles of one compiled content model.",
        ),
        key(
            "limits.xsd.max_grammar_particles",
            Value(|c| c.limits.xsd.max_grammar_particles.literal()),
            "Particles of all content models of one schema set together.",
        ),
        key(
            "limits.xsd.max_components",
            Value(|c| c.limits.xsd.max_components.literal()),
            "Schema components of one schema set.",
        ),
        key(
            "limits.jose.max_token_bytes",
            Value(|c| c.limits.jose.max_token_bytes.literal()),
            "Size of one compact JWE or JWS.",
        ),
        key(
            "limits.jose.max_protected_header_bytes",
            Value(|c| c.limits.jose.max_protected_header_bytes.literal()),
            "Size of the base64url-encoded protected header.",
        ),
        key(
            "limits.jose.max_inflated_bytes",
            Value(|c| c.limits.jose.max_inflated_bytes.literal()),
            "Size of a `zip: DEF` plaintext after inflating.",
        ),
        key(
            "limits.jose.max_jws_bytes",
            Value(|c| c.limits.jose.max_jws_bytes.literal()),
            "Size of one compact JWS (SETs of the event log).",
        ),
        key(
            "limits.json.max_bytes",
            Value(|c| c.limits.json.max_bytes.literal()),
            "Size of one JSON document, refused before parsing.",
        ),
        key(
            "limits.json.max_depth",
            Value(|c| c.limits.json.max_depth.literal()),
            "Nesting depth of arrays and objects (at most 128 takes effect).",
        ),
        key(
            "limits.json.max_values",
            Value(|c| c.limits.json.max_values.literal()),
            "Values in one document.",
        ),
        key(
            "limits.json.max_errors",
            Value(|c| c.limits.json.max_errors.literal()),
            "Schema violations collected per document before the rest is skipped.",
        ),
        key(
            "limits.schematron.max_evaluation_steps",
            Value(|c| c.limits.schematron.max_evaluation_steps.literal()),
            "XPath evaluation steps per document.",
        ),
        key(
            "limits.schematron.max_findings",
            Value(|c| c.limits.schematron.max_findings.literal()),
            "Findings kept per document (beyond: the report says truncated).",
        ),
        key(
            "limits.schematron.max_tree_nodes",
            Value(|c| c.limits.schematron.max_tree_nodes.literal()),
            "Nodes of the document tree the rules run on (about 40 bytes each).",
        ),
        key(
            "validation.pass_through_json",
            Unset("none"),
            "**Dangerous** (logged at startup): schema URIs of JSON Fachdaten forwarded unvalidated (still parsed strictly) when no installed pack provides the schema.",
        ),
        key(
            "validation.business_rules",
            Value(|c| c.business_rules.as_str().literal()),
            "Business rules (ISO Schematron) of the schema pack on accepted XML Fachdaten: `\"annotate\"` puts the findings (rule, severity, location; no values) into the envelope's `businessRules`, `\"reject\"` rejects error-severity findings with `schema-violation` at `data` (a rule that cannot be evaluated: `technical-error`), `\"off\"` runs none.",
        ),
        key(
            "validation.rule_severity",
            Unset(
                "each rule's own severity (Schematron `role`/`flag`, else error; `codelist-value` error, `codelist-unknown` warning)",
            ),
            "A table of rule id → `\"error\"`, `\"warning\"` or `\"information\"` (KoSIT's `customLevel`): Schematron assert/report ids, `codelist-value`, `codelist-unknown`. Processing errors stay errors.",
        ),
        key(
            "schemas.packs_dir",
            Unset("`$POSTSTELLE_PACKS`, else `schemas-installed` in the working directory"),
            "Directory of the installed schema packs.",
        ),
        key(
            "dangerous.allow_plain_http",
            Value(|c| c.allow_plain_http.literal()),
            "Allow http:// URLs for the delivery service and upstreams (local tests only).",
        ),
    ]
}

/// `1048576` → ` (1 MiB)`, for byte counts; empty for other keys and odd values.
fn human_size(name: &str, literal: &str) -> String {
    let Ok(n) = literal.parse::<u64>() else {
        return String::new();
    };
    if !name.ends_with("_bytes") || n < 1024 || n % 1024 != 0 {
        return String::new();
    }
    let (mut value, mut unit) = (n / 1024, "KiB");
    for bigger in ["MiB", "GiB"] {
        if value >= 1024 && value % 1024 == 0 {
            value /= 1024;
            unit = bigger;
        }
    }
    format!(" ({value} {unit})")
}

/// The TOML header of a section path (`upstream[]` → `[[upstream]]`).
#[must_use]
pub fn header(section: &str) -> String {
    match section.strip_suffix("[]") {
        Some(array) => format!("[[{}]]", array.replace("[]", "")),
        None => format!("[{}]", section.replace("[]", "")),
    }
}

/// A Markdown table cell: `|` would end the cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The reference as Markdown (`docs/config-reference.md`).
#[must_use]
pub fn markdown() -> String {
    let defaults = GatewayConfig::embedded_default();
    let keys = keys();
    let mut out = String::new();
    out.push_str("# `poststelle serve` configuration reference\n\n");
    let _ = writeln!(
        out,
        "<!-- GENERATED from src/config/reference.rs by `{REGENERATE}`; do not edit. -->\n"
    );
    out.push_str(
        "Every key `poststelle serve --config FILE` accepts. Unknown keys are errors; all errors \
         of a file are reported at once and `serve` (and `serve --check`) exit 64. Relative \
         paths are resolved against the directory of the configuration file. Defaults are \
         those of `serve` without a file (a local sandbox); the limits' reasons are \
         documented in `src/config/limits.rs`.\n",
    );
    for (section, intro) in SECTIONS {
        let _ = write!(out, "\n## `{}`\n\n{}\n\n", header(section), intro);
        out.push_str("| key | default | meaning |\n|---|---|---|\n");
        for k in keys.iter().filter(|k| k.section() == *section) {
            let default = match k.default {
                Value(f) => {
                    let literal = f(&defaults);
                    format!("`{literal}`{}", human_size(k.name(), &literal))
                }
                Required => "*required*".to_owned(),
                Unset(text) => format!("*unset:* {text}"),
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                k.name(),
                cell(&default),
                cell(k.meaning)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The fields of the table at `path` (segments with their kind: `true` for an array of
    /// tables), as the parser names them in its unknown-field error; `None` when `path` is not
    /// a table of fixed fields (a plain key, a list of values, a map).
    fn probe(path: &[(String, bool)]) -> Option<Vec<String>> {
        let mut doc = String::new();
        for i in 0..path.len() {
            let name: Vec<&str> = path[..=i].iter().map(|(n, _)| n.as_str()).collect();
            let name = name.join(".");
            if path[i].1 {
                let _ = writeln!(doc, "[[{name}]]");
            } else {
                let _ = writeln!(doc, "[{name}]");
            }
        }
        doc.push_str("__probe__ = 0\n");
        // Accepted: a map of arbitrary keys, documented as one key.
        let errors = GatewayConfig::from_toml(&doc, Path::new(".")).err()?;
        let text = errors.join("\n");
        let rest = text.split("unknown field `__probe__`, ").nth(1)?;
        let line = rest.lines().next().unwrap_or_default();
        if line.starts_with("there are no fields") {
            return Some(Vec::new());
        }
        Some(
            line.split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect(),
        )
    }

    /// Every key path the parser accepts, found by asking it section by section.
    fn accepted(path: &mut Vec<(String, bool)>, out: &mut BTreeSet<String>) {
        let fields = probe(path).expect("a table");
        for field in fields {
            let mut found = false;
            for array in [false, true] {
                path.push((field.clone(), array));
                if probe(path).is_some() {
                    accepted(path, out);
                    found = true;
                }
                path.pop();
                if found {
                    break;
                }
            }
            if !found {
                let mut name: Vec<String> = path
                    .iter()
                    .map(|(n, a)| if *a { format!("{n}[]") } else { n.clone() })
                    .collect();
                name.push(field);
                out.insert(name.join("."));
            }
        }
    }

    #[test]
    fn reference_lists_exactly_the_keys_the_parser_accepts() {
        let mut parser = BTreeSet::new();
        accepted(&mut Vec::new(), &mut parser);
        assert!(parser.contains("limits.http.max_connections"), "{parser:?}");
        assert!(
            parser.contains("destination.service[].submission_schemas[].schema_uri"),
            "{parser:?}"
        );
        let listed: BTreeSet<String> = keys().iter().map(|k| k.path.to_owned()).collect();
        let missing: Vec<&String> = parser.difference(&listed).collect();
        let refused: Vec<&String> = listed.difference(&parser).collect();
        assert!(
            missing.is_empty() && refused.is_empty(),
            "src/config/reference.rs is out of step with the parser.\n\
             accepted by the parser but not in keys() (add a `key(\"…\", default, \"meaning\")` line each): {missing:?}\n\
             in keys() but refused by the parser (remove or rename): {refused:?}\n\
             then regenerate: {REGENERATE}"
        );
        assert_eq!(keys().len(), listed.len(), "a key is listed twice");
    }

    #[test]
    fn every_section_has_an_introduction_and_keys_in_its_order() {
        let keys = keys();
        let sections: Vec<&str> = SECTIONS.iter().map(|(s, _)| *s).collect();
        let mut last = 0;
        for k in &keys {
            let at = sections
                .iter()
                .position(|s| *s == k.section())
                .unwrap_or_else(|| panic!("{}: add its section to SECTIONS", k.path));
            assert!(at >= last, "{}: keep keys in the order of SECTIONS", k.path);
            last = at;
        }
        for s in sections {
            assert!(
                keys.iter().any(|k| k.section() == s),
                "section {s} has no keys"
            );
        }
    }

    /// The documented defaults of a section, as TOML lines.
    fn default_lines(section: &str, defaults: &GatewayConfig) -> Vec<String> {
        keys()
            .iter()
            .filter(|k| k.section() == section)
            .filter_map(|k| match k.default {
                Value(f) => Some(format!("{} = {}", k.name(), f(defaults))),
                _ => None,
            })
            .collect()
    }

    /// Writing every documented default into a file gives the configuration without a file:
    /// the reference shows the defaults as the parser and the layers behind it read them.
    #[test]
    fn documented_defaults_parse_back_to_the_defaults() {
        let defaults = GatewayConfig::embedded_default();
        let mut doc = String::new();
        // Arrays of tables have no entry in the defaults: an upstream is checked below.
        for (section, _) in SECTIONS.iter().filter(|(s, _)| !s.ends_with("[]")) {
            let lines = default_lines(section, &defaults);
            if !lines.is_empty() {
                let _ = writeln!(doc, "{}\n{}", header(section), lines.join("\n"));
            }
        }
        let mut parsed = GatewayConfig::from_toml(&doc, Path::new(".")).unwrap_or_else(|e| {
            panic!("the documented defaults do not parse: {e:?}\n{doc}");
        });
        // The file's retry keys stay as written (unset: the forwarder's defaults), so they are
        // compared by the policy they make.
        assert_eq!(
            ForwardPolicy::configured(&parsed).retry,
            ForwardPolicy::configured(&defaults).retry,
            "a documented retry default is not the default:\n{doc}"
        );
        parsed.forward_retry = defaults.forward_retry;
        assert_eq!(
            parsed, defaults,
            "a documented default is not the default:\n{doc}"
        );

        let upstream = |extra: &[String]| {
            let text = format!(
                "[[upstream]]\nname = \"u\"\nurl = \"https://upstream.example/in\"\n{}\n",
                extra.join("\n")
            );
            let c = GatewayConfig::from_toml(&text, Path::new("."))
                .unwrap_or_else(|e| panic!("{e:?}\n{text}"));
            crate::forward::UpstreamSpec::configured(&c.upstreams[0])
        };
        let lines = default_lines("upstream[]", &defaults);
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(
            upstream(&lines),
            upstream(&[]),
            "a documented upstream default is not the default: {lines:?}"
        );
    }

    #[test]
    fn checked_in_reference_is_the_generated_one() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/config-reference.md");
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == markdown(),
            "{} differs from the generated reference: regenerate with `{REGENERATE}`",
            path.display()
        );
    }

    #[test]
    fn headers_and_sizes_render_as_toml_and_units() {
        assert_eq!(header("upstream[]"), "[[upstream]]");
        assert_eq!(header("limits.http"), "[limits.http]");
        assert_eq!(
            header("destination.service[].submission_schemas[]"),
            "[[destination.service.submission_schemas]]"
        );
        assert_eq!(human_size("max_bytes", "16777216"), " (16 MiB)");
        assert_eq!(human_size("max_bytes", "65536"), " (64 KiB)");
        assert_eq!(human_size("max_depth", "65536"), "");
        assert_eq!(human_size("max_bytes", "1000"), "");
    }
}
