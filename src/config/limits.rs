//! Every bound on untrusted input, with its default and the reason for it.
//!
//! One struct, grouped by layer, so that the denial-of-service posture of the whole gateway can
//! be reviewed in one file and tuned in one config section. Each default is what a typical
//! XÖV/FIT-Connect deployment needs plus headroom; none is unbounded.
//!
//! The sandbox (`poststelle sandbox`) is a separate program with its own configuration file;
//! its bounds are [`SandboxLimits`] (its `[limits]` section), defined here too so that every
//! bound of the project is reviewed in this one file.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// All limits, grouped by the module that enforces them.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct Limits {
    /// Limits of the XML reader (`xml::BoundedReader`).
    pub xml: XmlLimits,
    /// Limits of the XSD engine (schema loading and validation).
    pub xsd: XsdLimits,
    /// Limits of the JOSE layer (JWE/JWS parsing and decryption).
    pub jose: JoseLimits,
    /// Limits of the gateway's HTTP listener (`serve`: callbacks, probes, admin API).
    pub http: HttpLimits,
    /// Limits of the gateway's own routes (the callback endpoint).
    pub server: ServerLimits,
    /// Per-submission and total memory bounds of the receive pipeline.
    pub pipeline: PipelineLimits,
    /// Limits of the strict JSON reader for JSON Fachdaten (`json::parse`) and of their
    /// JSON Schema validation (`fim`).
    pub json: JsonLimits,
    /// Limits of the business rules (Schematron over the XPath tree of a message).
    pub schematron: SchematronLimits,
}

/// Bounds of one Schematron run over one message (`xoev::rules`): the official XBau rules
/// take about 10⁵ steps on a sample message; a rule that runs away is stopped and reported as
/// a processing error of that rule, never as a pass.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SchematronLimits {
    /// XPath evaluation steps per document. Default 10,000,000.
    pub max_evaluation_steps: u64,
    /// Findings kept per document; beyond it the report says it is truncated. Default 1,000.
    pub max_findings: usize,
    /// Nodes of the document tree the rules run on (about 40 bytes a node). Default 1,048,576:
    /// an XML input at the `[limits.xml]` size fits.
    pub max_tree_nodes: usize,
}

impl Default for SchematronLimits {
    fn default() -> Self {
        Self {
            max_evaluation_steps: 10_000_000,
            max_findings: 1000,
            max_tree_nodes: 1 << 20,
        }
    }
}

impl SchematronLimits {
    /// Every bound that is 0, as a configuration problem under `section`.
    #[must_use]
    pub fn problems(&self, section: &str) -> Vec<String> {
        let steps = usize::try_from(self.max_evaluation_steps).unwrap_or(usize::MAX);
        [
            ("max_evaluation_steps", steps),
            ("max_findings", self.max_findings),
            ("max_tree_nodes", self.max_tree_nodes),
        ]
        .into_iter()
        .filter(|(_, v)| *v == 0)
        .map(|(name, _)| format!("{section}.{name} must be at least 1"))
        .collect()
    }
}

/// Limits enforced while reading XML, before any schema logic runs.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct XmlLimits {
    /// Total size of one document in bytes. Default 256 MiB: XBau messages may carry base64
    /// attachments inline; larger payloads belong in FIT-Connect attachments.
    pub max_input_bytes: u64,
    /// Element nesting depth. Default 256: XBau 2.6 nests about 20 deep; deep nesting is the
    /// classic stack/CPU amplification attack.
    pub max_depth: usize,
    /// Attributes on one element, namespace declarations included. Default 4,096 (XÖV roots
    /// carry about 15; the W3C suite has an element with 2,000). Both duplicate checks are
    /// linear: quick-xml ≥ 0.42 hashes names past a handful (RUSTSEC-2026-0194 was quadratic
    /// there), and ours by expanded name does the same.
    pub max_attributes: usize,
    /// Namespace declarations on one element. Default 64 (RUSTSEC-2026-0195: unbounded
    /// namespace declarations).
    pub max_namespace_declarations: usize,
    /// Length of one element or attribute name (prefix included), in bytes. Default 1,024.
    pub max_name_bytes: usize,
    /// Length of one attribute value after unescaping, in bytes. Default 1 MiB.
    pub max_attribute_value_bytes: usize,
    /// Length of one text node (contiguous character data of an element, CDATA included), in
    /// bytes. Default 64 MiB: FIT-Connect caps Fachdaten at 10 MB, so inline base64 attachments
    /// fit with room to spare, while a single hostile text node cannot pin more memory.
    pub max_text_bytes: usize,
    /// Size of one piece of markup (a start tag with its attributes, a comment, a processing
    /// instruction), in bytes. Default 4 MiB: bounds what the tokenizer buffers before the
    /// per-attribute limits can be checked.
    pub max_markup_bytes: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self {
            max_input_bytes: 256 * 1024 * 1024,
            max_depth: 256,
            max_attributes: 4096,
            max_namespace_declarations: 64,
            max_name_bytes: 1024,
            max_attribute_value_bytes: 1024 * 1024,
            max_text_bytes: 64 * 1024 * 1024,
            max_markup_bytes: 4 * 1024 * 1024,
        }
    }
}

/// Limits of the XSD engine.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct XsdLimits {
    /// Validation errors collected per document before the rest is skipped. Default 100.
    pub max_errors: usize,
    /// Schema documents loaded for one schema set. Default 2,000 (XBau 2.6 has 45).
    pub max_schema_documents: usize,
    /// Compiled size of one pattern facet's regex, in bytes (`regex` size limit). Default 16 MiB:
    /// the DIN 91379 character classes of XÖV need a few MiB.
    pub max_regex_bytes: usize,
    /// Compiled size of all pattern facets of one schema set together, in bytes: each distinct
    /// pattern counts with the memory of its automata, one refused for its size with
    /// `max_regex_bytes` (the work spent on it). Default 64 MiB: XBau 2.6's 19 distinct
    /// patterns need about 410 KB; a schema of hundreds of patterns just under (or over) the
    /// per-pattern limit would otherwise pin gigabytes (or keep the compiler busy for minutes).
    pub max_regex_total_bytes: usize,
    /// IDs, IDREFs and identity-constraint entries (rows of `xs:unique`/`xs:key` tables and
    /// pending `xs:keyref` values) held at once for one document. Default 1,000,000: XÖV
    /// messages carry a few hundred; a row costs about 100 bytes plus its values, which
    /// [`max_identity_bytes`](Self::max_identity_bytes) bounds.
    pub max_identity_entries: usize,
    /// Bytes of the values (and the element paths kept for messages) behind those entries.
    /// Default 64 MiB: a few hundred short keys need kilobytes; without this bound a million
    /// entries of long values, or IDREFs under a deep path, could pin gigabytes.
    pub max_identity_bytes: usize,
    /// How many type definitions may be built on one another: base types, list item and union
    /// member types, anonymous types inside them, substitution-group heads. Default 64: XBau
    /// 2.6 needs 5. Each level of a `complexContent` extension copies the base's content
    /// model, so a chain of n levels costs n² (2,000 levels took over 4 GB); the bound also
    /// keeps the compiler's recursion far from the end of a 2 MiB thread stack.
    pub max_derivation_depth: usize,
    /// Nesting of model groups in one content model, group references included. Default 64
    /// (XBau 2.6 needs 3): matching a child element recurses once per level, at compile time
    /// and for every element validated.
    pub max_content_model_depth: usize,
    /// Particles (element declarations, wildcards, groups) of one compiled content model.
    /// Default 2,000 (XBau 2.6's largest has 23): the Unique Particle Attribution check is
    /// quadratic in it (2,000 optional elements in a row take about a second), and an element
    /// being validated holds up to 128 bytes of matcher state per particle.
    pub max_content_model_particles: usize,
    /// Particles of all compiled content models of one schema set together. Default 200,000
    /// (XBau 2.6 has 3,026): about 200 bytes each compiled, so the models of a grammar stay
    /// below 40 MiB.
    pub max_grammar_particles: usize,
    /// Schema components of one schema set: type definitions, element declarations, the
    /// effective attribute uses of complex types (inherited ones repeated), substitution-group
    /// memberships and identity constraints. Default 250,000 (XBau 2.6 has 4,522); bounds the
    /// copies that extension (attribute uses) and substitution groups (transitive members)
    /// make, at roughly 100 bytes each.
    pub max_components: usize,
}

impl Default for XsdLimits {
    fn default() -> Self {
        Self {
            max_errors: 100,
            max_schema_documents: 2_000,
            max_regex_bytes: 16 * 1024 * 1024,
            max_regex_total_bytes: 64 * 1024 * 1024,
            max_identity_entries: 1_000_000,
            max_identity_bytes: 64 * 1024 * 1024,
            max_derivation_depth: 64,
            max_content_model_depth: 64,
            max_content_model_particles: 2_000,
            max_grammar_particles: 200_000,
            max_components: 250_000,
        }
    }
}

/// Limits of the strict JSON reader (`json::parse`) and of JSON Schema validation.
///
/// The defaults ([`JsonLimits::FACHDATEN`]) are for JSON Fachdaten, the `[limits.json]` group;
/// protocol documents (metadata, SET payloads, JOSE headers, callback notices) are read with
/// the fixed [`JsonLimits::PROTOCOL`].
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct JsonLimits {
    /// Size of one document in bytes, refused before parsing. Default 16 MiB: FIT-Connect caps
    /// inline Fachdaten at 10 MB, and FIM JSON carries no inline binaries; raise it for a
    /// service that sends larger JSON as a `data` attachment.
    pub max_bytes: usize,
    /// Nesting depth of arrays and objects (the top-level value is depth 1). Default 64: FIM
    /// forms nest groups about 10 deep. At most 128 (serde_json's recursion limit); larger
    /// values act as 128.
    pub max_depth: usize,
    /// Values in one document (every scalar, array and object; member names not counted).
    /// Default 500,000: a form has hundreds to a few thousand. A parsed value costs about 100
    /// bytes, so this bounds the memory of a document of tiny values (`[0,0,0,…]` packs eight
    /// million into 16 MiB) to about 50 MB instead of a gigabyte.
    pub max_values: usize,
    /// Schema violations collected per document before the rest is skipped, each reported
    /// with its JSON pointer. Default 20: enough to fix a document, little to transmit.
    pub max_errors: usize,
}

impl JsonLimits {
    /// Limits for protocol documents (metadata, SET payloads, headers, notices): 16 MiB,
    /// depth 64 (FIT-Connect metadata nest about 6 deep), 500,000 values, 20 violations.
    pub const PROTOCOL: Self = Self {
        max_bytes: 16 << 20,
        max_depth: 64,
        max_values: 500_000,
        max_errors: 20,
    };

    /// The defaults for JSON Fachdaten (see the fields).
    pub const FACHDATEN: Self = Self {
        max_bytes: 16 << 20,
        max_depth: 64,
        max_values: 500_000,
        max_errors: 20,
    };

    /// These limits with another size bound (tests and tools).
    #[must_use]
    pub const fn with_max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    /// These limits with another depth bound (tests and tools).
    #[must_use]
    pub const fn with_max_depth(mut self, max_depth: usize) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// These limits with another value-count bound (tests and tools).
    #[must_use]
    pub const fn with_max_values(mut self, max_values: usize) -> Self {
        self.max_values = max_values;
        self
    }

    /// The findings of a configuration that cannot work (a zero bound), each prefixed with
    /// `section` (e.g. `limits.json`).
    #[must_use]
    pub fn problems(&self, section: &str) -> Vec<String> {
        [
            ("max_bytes", self.max_bytes),
            ("max_depth", self.max_depth),
            ("max_values", self.max_values),
            ("max_errors", self.max_errors),
        ]
        .into_iter()
        .filter(|(_, v)| *v == 0)
        .map(|(name, _)| format!("{section}.{name} must be at least 1"))
        .collect()
    }
}

impl Default for JsonLimits {
    fn default() -> Self {
        Self::FACHDATEN
    }
}

/// Limits of the JOSE layer.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct JoseLimits {
    /// Size of one compact JWE or JWS, in bytes. Default 512 MiB (FIT-Connect attachments are
    /// large; the gateway streams them to the store).
    pub max_token_bytes: usize,
    /// Size of the base64url-encoded protected header, in bytes. Default 8 KiB.
    pub max_protected_header_bytes: usize,
    /// Size of a `zip: DEF` plaintext after inflating, in bytes. Default 64 MiB: bounds
    /// decompression bombs (1 KB → 1 GB).
    pub max_inflated_bytes: usize,
    /// Size of one compact JWS (SETs of the event log), in bytes. Default 1 MiB: a SET is a
    /// few KiB; bounds base64 and JSON work done before the signature is checked.
    pub max_jws_bytes: usize,
}

impl Default for JoseLimits {
    fn default() -> Self {
        Self {
            max_token_bytes: 512 * 1024 * 1024,
            max_protected_header_bytes: 8 * 1024,
            max_inflated_bytes: 64 * 1024 * 1024,
            max_jws_bytes: 1024 * 1024,
        }
    }
}

/// Limits of an HTTP listener (the `http` module: `serve`'s server and the sandbox).
///
/// They make starvation expensive: a connection that sends nothing, or sends slowly, holds a
/// slot only briefly, one client address cannot take every slot, and `/health` and `/ready`
/// keep a small budget of their own beyond the limits (see `http` for the design).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct HttpLimits {
    /// Connections served at once. Default 256: callbacks, probes and operators need a
    /// handful; the rest is headroom for bursts. Further connections are not queued in the
    /// kernel backlog (where a probe would wait behind them) but refused at once.
    pub max_connections: usize,
    /// Connections from one client address at once (IPv6: one /64). Default 32, so that one
    /// attacker cannot take the slots of others. Behind a reverse proxy every request comes
    /// from the proxy's address: set it to `max_connections` there and let the proxy limit.
    pub max_connections_per_client: usize,
    /// Connections beyond either limit that are still read, with [`Self::probe_timeout_ms`],
    /// and answered only for `/health` and `/ready` (anything else: 503). Default 16: enough
    /// for the probes of an orchestrator; further connections are closed at once.
    pub probe_connections: usize,
    /// Time a connection beyond the limits has to complete its TLS handshake and request head,
    /// in ms. Default 1,000: a probe sends its request at once.
    pub probe_timeout_ms: u64,
    /// Length of the kernel's queue of connections not yet accepted (capped by the system,
    /// e.g. Linux `net.core.somaxconn`). Default 4,096: the accept loop drains it at once, but
    /// a flood of reconnecting attackers can fill a short queue between two turns, and a probe
    /// whose SYN is dropped there retries only after a second.
    pub listen_backlog: u32,
    /// Buffer for the request line and headers, in bytes (at least 8 KiB; larger heads get
    /// 431). Default 16 KiB.
    pub max_header_bytes: usize,
    /// Header fields in one request. Default 64.
    pub max_headers: usize,
    /// Time for a request head to arrive, in ms, counted from the moment the connection waits
    /// for it: it is also the keep-alive idle time. Default 5,000: a silent socket holds a slot
    /// at most this long (the attack run measured 10 s slots exhausting the pool).
    pub header_timeout_ms: u64,
    /// Time for the TLS handshake, in ms. Default 5,000.
    pub tls_handshake_timeout_ms: u64,
    /// Time from a complete request head to the response (body reading included), in ms.
    /// Default 60,000: the slowest legitimate request is a store query of the admin API.
    pub request_timeout_ms: u64,
    /// Slowest accepted request body after [`Self::body_grace_ms`], in bytes per second.
    /// Default 16 KiB/s: a client that drips its body is cut off long before any overall
    /// deadline (the attack run held slots 30 s with one byte per second).
    pub min_body_bytes_per_sec: u64,
    /// Time a body may take before the minimum rate applies, in ms. Default 2,000: covers the
    /// first round trips of a slow but honest link.
    pub body_grace_ms: u64,
    /// How long shutdown waits for requests in flight, in ms. Default 30,000.
    pub drain_timeout_ms: u64,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            max_connections_per_client: 32,
            probe_connections: 16,
            probe_timeout_ms: 1_000,
            listen_backlog: 4_096,
            max_header_bytes: 16 * 1024,
            max_headers: 64,
            header_timeout_ms: 5_000,
            tls_handshake_timeout_ms: 5_000,
            request_timeout_ms: 60_000,
            min_body_bytes_per_sec: 16 * 1024,
            body_grace_ms: 2_000,
            drain_timeout_ms: 30_000,
        }
    }
}

impl HttpLimits {
    /// [`Self::header_timeout_ms`] as a duration.
    #[must_use]
    pub fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    /// [`Self::probe_timeout_ms`] as a duration.
    #[must_use]
    pub fn probe_timeout(&self) -> Duration {
        Duration::from_millis(self.probe_timeout_ms)
    }

    /// [`Self::tls_handshake_timeout_ms`] as a duration.
    #[must_use]
    pub fn tls_handshake_timeout(&self) -> Duration {
        Duration::from_millis(self.tls_handshake_timeout_ms)
    }

    /// [`Self::request_timeout_ms`] as a duration.
    #[must_use]
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }

    /// [`Self::body_grace_ms`] as a duration.
    #[must_use]
    pub fn body_grace(&self) -> Duration {
        Duration::from_millis(self.body_grace_ms)
    }

    /// [`Self::drain_timeout_ms`] as a duration.
    #[must_use]
    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }

    /// The findings of a configuration that cannot work (zero limits or timeouts), each
    /// prefixed with `section` (e.g. `limits.http`).
    #[must_use]
    pub fn problems(&self, section: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (name, value) in [
            ("max_connections", self.max_connections as u64),
            (
                "max_connections_per_client",
                self.max_connections_per_client as u64,
            ),
            ("probe_timeout_ms", self.probe_timeout_ms),
            ("listen_backlog", u64::from(self.listen_backlog)),
            ("max_headers", self.max_headers as u64),
            ("header_timeout_ms", self.header_timeout_ms),
            ("tls_handshake_timeout_ms", self.tls_handshake_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
        ] {
            if value == 0 {
                out.push(format!("{section}.{name} must be at least 1"));
            }
        }
        out
    }
}

/// Limits of the gateway's own routes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerLimits {
    /// Largest callback body, in bytes (413 beyond, before a byte of it is read when the
    /// length is declared). Default 64 KiB: a callback names submission ids, a few hundred
    /// bytes each at most.
    pub max_callback_bytes: usize,
    /// Time for a callback body to arrive once its headers passed the checks, in ms. Default
    /// 5,000: the body is read before its MAC can be checked, so this bounds what an
    /// unauthenticated sender can hold.
    pub callback_body_timeout_ms: u64,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_callback_bytes: 64 * 1024,
            callback_body_timeout_ms: 5_000,
        }
    }
}

impl ServerLimits {
    /// [`Self::callback_body_timeout_ms`] as a duration.
    #[must_use]
    pub fn callback_body_timeout(&self) -> Duration {
        Duration::from_millis(self.callback_body_timeout_ms)
    }
}

/// Memory bounds of the receive pipeline (`pipeline`): what one submission may make the
/// gateway hold, and what all submissions in progress may hold together.
///
/// Attachments are decrypted file to file; their JWEs are held in memory during the download
/// only while a submission's stay within 8 MiB together (`client::SPOOL_MEMORY_BYTES`, counted
/// in the reservation below), larger ones go to spool files. What is held in memory is the
/// Fachdaten (decrypted, validated, transformed into the JSON envelope, stored). A submission
/// reserves [`Self::memory_per_data_byte`] times its Fachdaten size from
/// [`Self::memory_budget_bytes`] before it is decrypted; submissions wait while the budget is
/// taken, so the pipeline's concurrency is bounded by memory, not only by count.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct PipelineLimits {
    /// Fachdaten sent inline (`encryptedData`) with `zip: DEF`: how far they may inflate, in
    /// bytes. Default 16 MiB (FIT-Connect names 10 MB as the maximum of inline Fachdaten;
    /// larger ones travel as an attachment with purpose `data`); a payload inflating beyond
    /// this is refused while it inflates (`encryption-issue`), never held whole. Uncompressed
    /// inline data are bounded by the readers' input limits (`xml.max_input_bytes`,
    /// `json.max_bytes`: `syntax-violation`).
    pub max_inline_data_bytes: usize,
    /// Fachdaten sent as an attachment with purpose `data` (read into memory for validation),
    /// in bytes. Default 64 MiB.
    pub max_data_attachment_bytes: usize,
    /// Memory all submissions in progress may reserve together, in bytes. Default 192 MiB.
    pub memory_budget_bytes: usize,
    /// What one byte of Fachdaten costs in memory while a submission is processed
    /// (plaintext, typed JSON, envelope text, store write). Default 4 (measured: 60 MiB of
    /// XML held ~95 MiB; the JSON of element-rich data weighs more than its XML).
    pub memory_per_data_byte: usize,
}

impl Default for PipelineLimits {
    fn default() -> Self {
        Self {
            max_inline_data_bytes: 16 * 1024 * 1024,
            max_data_attachment_bytes: 64 * 1024 * 1024,
            memory_budget_bytes: 192 * 1024 * 1024,
            memory_per_data_byte: 4,
        }
    }
}

/// Bounds of the sandbox (`poststelle sandbox`, its `[limits]` section).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct SandboxLimits {
    /// Body of JSON control requests (create submission, token). Default 64 KiB.
    pub max_json_bytes: usize,
    /// Body of `PUT /submissions/{id}` (two JWEs). Default 20 MiB: Fachdaten are capped at
    /// 10 MB, JWE base64 adds a third, plus metadata.
    pub max_submit_bytes: usize,
    /// One attachment JWE. Default 500 MB (FIT-Connect's documented maximum, §9). Uploads are
    /// streamed to a file, so this bounds disk, not memory.
    pub max_attachment_bytes: usize,
    /// Announced attachments per submission. Default 100 (§9).
    pub max_attachments: usize,
    /// One posted SET. Default 64 KiB.
    pub max_set_bytes: usize,
    /// Replies kept per submission (Rückkanal). Default 100: a dialogue of a few answers per
    /// application, with room; bounds what one subscriber can pile onto one case.
    pub max_replies_per_submission: usize,
    /// Time to receive a whole request body, in seconds. Default 600 (500 MB uploads; the
    /// minimum rate of `http` cuts off slow senders much earlier).
    pub body_timeout_secs: u64,
    /// Largest page (`limit`) for lists. Default 500 (§9).
    pub max_page: u32,
    /// Page size when `limit` is absent. Default 100.
    pub default_page: u32,
    /// The earlier name of `http.header_timeout_ms`, in seconds; still read so that the
    /// `sandbox.toml` files written by earlier versions start, and then it wins. Not written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub header_timeout_secs: Option<u64>,
    /// The listener: connections, head and body timing. Defaults as for the gateway, except a
    /// request timeout of 660 s (a 500 MB upload) and a drain time of 5 s (a test double).
    pub http: HttpLimits,
}

impl Default for SandboxLimits {
    fn default() -> Self {
        Self {
            max_json_bytes: 64 * 1024,
            max_submit_bytes: 20 * 1024 * 1024,
            max_attachment_bytes: 500 * 1000 * 1000,
            max_attachments: 100,
            max_set_bytes: 64 * 1024,
            max_replies_per_submission: 100,
            body_timeout_secs: 600,
            max_page: 500,
            default_page: 100,
            header_timeout_secs: None,
            http: HttpLimits {
                request_timeout_ms: 660_000,
                drain_timeout_ms: 5_000,
                ..HttpLimits::default()
            },
        }
    }
}

impl SandboxLimits {
    /// [`Self::body_timeout_secs`] as a duration.
    #[must_use]
    pub fn body_timeout(&self) -> Duration {
        Duration::from_secs(self.body_timeout_secs)
    }

    /// The listener limits in effect: [`Self::http`], with the legacy
    /// [`Self::header_timeout_secs`] applied when it is given.
    #[must_use]
    pub fn listener(&self) -> HttpLimits {
        let mut http = self.http.clone();
        if let Some(secs) = self.header_timeout_secs {
            http.header_timeout_ms = secs.saturating_mul(1000);
        }
        http
    }
}
