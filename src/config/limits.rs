//! Every bound on untrusted input, with its default and the reason for it.
//!
//! One struct, grouped by layer, so that the denial-of-service posture of the whole gateway can
//! be reviewed in one file and tuned in one config section. Each default is what a typical
//! XÖV/FIT-Connect deployment needs plus headroom; none is unbounded.

use serde::Deserialize;

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
