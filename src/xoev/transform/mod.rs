//! The schema-driven XÖV → JSON transform, validation and transform in one streaming pass.
//!
//! [`transform_to_writer`] validates the document with the XSD engine and, through the
//! validator's [`crate::xsd::Observer`] hook, writes the JSON of every element to a
//! [`std::io::Write`] while the document streams by, using the declaration and type the
//! validator matched. There is no document tree and no output value: memory is one small frame
//! per open element, plus the few parts of the JSON that cannot be written before their element
//! ends (below), bounded by [`WriteOptions::max_buffered`]. `xs:base64Binary` payloads never
//! enter the JSON; their octets go to a [`BinarySink`] and the JSON keeps a reference.
//!
//! [`transform`] / [`transform_with_sink`] give the same JSON as a `serde_json::Value` (for
//! callers that work on the value: pipeline, vectors); they hold the whole output.
//!
//! A document that is not valid yields [`TransformError::Invalid`] with the validation report
//! (the pipeline maps it to the FIT-Connect problem for schema violations). The value API then
//! returns no JSON; [`transform_to_writer`] has already written a prefix of the JSON, which
//! is not closed and must be discarded (the CLI writes to a temporary file and only publishes
//! it when the document was valid). [`to_xml()`] turns the JSON back into XML for the same
//! grammar.
//!
//! # What is held in memory while streaming
//!
//! Object members appear in the order they occur in the document (attributes first), an
//! array at the place of its first item. That order can be written as it comes for every
//! element with element-only content whose model keeps same-named siblings adjacent. An
//! element is *held* — its JSON built in memory and written when it ends — when it is a simple
//! value or has simple or empty content (small: attributes and one value), is `xsi:nil`, has
//! mixed content (`#text` and `#order` follow the children), its model is order-sensitive
//! (needs `#order`; a repeated name may come back after other siblings and must join the
//! array at its first place), or its model has a wildcard (keys known only at run time). Everything inside a held element is held with it. Held JSON is
//! bounded by [`WriteOptions::max_buffered`] (estimated output bytes, default
//! [`DEFAULT_MAX_BUFFERED`], 16 MiB); a document that needs more fails with
//! [`TransformError::BufferLimit`] instead of growing. The list of extracted binaries
//! (`binaries`, written after `data`) is kept too: about 200 bytes plus the path per
//! `base64Binary` value.
//!
//! # The mapping (the contract for Fachverfahren vendors; the README repeats it)
//!
//! * `data` is the root element's JSON; the root's name is `message.type` in `message.namespace`.
//! * An element is a JSON object key. The key is the local name; it is `{namespace}local` only
//!   when one content model has two children of the same local name in different namespaces,
//!   and for elements the content model does not name (wildcard content).
//! * Array rule: an element whose declared `maxOccurs` is above 1 — on the element particle,
//!   on any enclosing sequence/choice, or because several particles of the model name it — is
//!   **always** an array, even with one item. Any other element is a single value. An absent
//!   optional element is absent (never `null`). Elements matched by a wildcard are always arrays.
//! * Simple-typed element → its value: `xs:boolean` → `true`/`false`; integer types → JSON
//!   number when within ±(2^53 − 1), else a string of the exact digits; `xs:decimal` → string in
//!   the shortest exact form (`0012.50` → `"12.5"`; never a binary float); `xs:float`/`xs:double` → number
//!   (`"INF"`, `"-INF"`, `"NaN"` as strings); lists → arrays; dates, times and every other type →
//!   the string after the type's whitespace normalisation (dates stay ISO 8601 as written).
//! * `xs:base64Binary` → `{"attachment": "binary-N", "size": octets, "sha512": hex}`; the
//!   payload is listed in [`Transformed::binaries`] and handed to the [`BinarySink`].
//! * Attributes → `"@name"` (`"@{namespace}name"` when namespaced), typed like values; default
//!   and fixed values from the schema are filled in when absent.
//! * XÖV code types (every type derived from xoev-code `Code`) →
//!   `{"code", "name", "listURI", "listVersionID"}`: attributes without `@`, and `listURI` /
//!   `listVersionID` filled in from the schema's fixed values when the instance omits them.
//! * Complex type with simple content → `{"@attr": …, "#value": value}`.
//! * Mixed content → character data chunks in `"#text"` (array of strings, as written).
//! * `"#order"`: where grouping children by key would lose their relative order (repeated
//!   groups of several elements, a name used by two particles, `xs:all`, substitution groups
//!   in repeated particles, wildcards, mixed content) the object also has `"#order"`, the keys
//!   of its children (and `"#text"` for text chunks) in document order. Whether an element type
//!   has it is decided by the schema, not by the instance.
//! * `xsi:type` → `"@xsi:type": "{namespace}TypeName"` (a simple-typed element then becomes
//!   `{"@xsi:type": …, "#value": value}`); `xsi:nil="true"` → `null` (or `"@xsi:nil": true`
//!   next to attributes).
//!
//! Whitespace-only text in element-only content is not kept (it is not part of the content).

mod binary;
mod builder;
pub(crate) mod kind;
pub(crate) mod shape;
mod to_xml;
pub(crate) mod value;
mod writer;

use std::io::{BufRead, Write};

use serde_json::{Value as Json, json};

use crate::config::Limits;
use crate::xsd::validator::NoObserver;
use crate::xsd::{Grammar, Observer, ValidatedDoc, ValidationOptions, ValidationReport};

use writer::JsonOut;

pub use binary::{
    BinarySink, BinarySource, DirBinaries, DiscardBinaries, ExtractedBinary, MemoryBinaries,
};
pub use builder::{ORDER_KEY, TEXT_KEY, VALUE_KEY, XSI_NIL_KEY, XSI_TYPE_KEY};
pub use to_xml::{ToXmlError, to_xml};

/// What the message is, as named in the JSON envelope (`message` of architecture §6).
///
/// XÖV messages name standard, version, type (the root element) and namespace. JSON Fachdaten
/// ([`MessageIdentity::json`]) name their schema: `type` and `schemaUri` are the `$id` the
/// metadata declare, and `standard`, `version` and `namespace` are absent (empty).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageIdentity {
    /// Standard (`XBau`); empty for JSON Fachdaten.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub standard: String,
    /// Standard version (`2.6`); empty for JSON Fachdaten.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// Message type = root element local name (`baugenehmigung.antrag.0200`); for JSON
    /// Fachdaten the schema URI (routes match it as for XML).
    #[serde(rename = "type")]
    pub message_type: String,
    /// Namespace of the root element; empty for JSON Fachdaten.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// The declared JSON Schema (`submissionSchema.schemaUri`) of JSON Fachdaten.
    #[serde(rename = "schemaUri", default, skip_serializing_if = "Option::is_none")]
    pub schema_uri: Option<String>,
    /// `pack-id@fingerprint` of the schema pack used; empty when nothing validated the data.
    #[serde(
        rename = "schemaPack",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub schema_pack: String,
    /// JSON Fachdaten the operator passes through unvalidated (`[validation]
    /// pass_through_json`): the Fachverfahren must not rely on their shape.
    #[serde(
        rename = "passThrough",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub pass_through: bool,
}

impl MessageIdentity {
    /// The identity of JSON Fachdaten declaring `schema_uri`, validated by the pack labelled
    /// `schema_pack` (`id@fingerprint`), or passed through unvalidated when `None`.
    #[must_use]
    pub fn json(schema_uri: &str, schema_pack: Option<String>) -> Self {
        Self {
            standard: String::new(),
            version: String::new(),
            message_type: schema_uri.to_owned(),
            namespace: String::new(),
            schema_uri: Some(schema_uri.to_owned()),
            pass_through: schema_pack.is_none(),
            schema_pack: schema_pack.unwrap_or_default(),
        }
    }

    /// A short label for logs: `XBau 2.6 baugenehmigung.antrag.0200`, or `JSON <schema URI>`.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.schema_uri {
            Some(uri) => format!("JSON {uri}"),
            None => format!("{} {} {}", self.standard, self.version, self.message_type),
        }
    }

    /// The identity of a message the registry resolved.
    pub fn from_resolved(r: &crate::xoev::registry::Resolved<'_>) -> Self {
        Self {
            standard: r.message.standard.to_owned(),
            version: r.message.version.to_owned(),
            message_type: r.message.message_type.clone(),
            namespace: r.message.namespace.to_owned(),
            schema_uri: None,
            schema_pack: r.pack.label(),
            pass_through: false,
        }
    }
}

/// The result of a successful transform.
#[derive(Debug, Clone)]
pub struct Transformed {
    /// The message identity (copied from the input).
    pub message: MessageIdentity,
    /// The schema-driven JSON of the root element.
    pub data: Json,
    /// The `base64Binary` payloads moved out of `data`, in document order.
    pub binaries: Vec<ExtractedBinary>,
    /// Proof that the document was valid.
    pub validated: ValidatedDoc,
}

impl Transformed {
    /// `{"message": …, "data": …, "binaries": […]}`, the CLI's output and `--to-xml`'s input
    /// (a copy; serialize the `Transformed` itself to write it without one).
    pub fn to_json(&self) -> Json {
        json!({ "message": self.message, "data": self.data, "binaries": self.binaries })
    }
}

/// Serializes as [`Transformed::to_json`] does, without copying `data`.
impl serde::Serialize for Transformed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut st = s.serialize_struct("Transformed", 3)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("data", &self.data)?;
        st.serialize_field("binaries", &self.binaries)?;
        st.end()
    }
}

/// Why a document was not transformed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// Not valid against the grammar (or not well-formed, or over a reader limit). The report
    /// names where and what, never values.
    #[error("document is not valid: {} error(s)", .0.errors.len())]
    Invalid(ValidationReport),
    /// The root element is not the message the identity names.
    #[error("root element is not {expected} (the message identity does not match the document)")]
    WrongMessage {
        /// `{namespace}type` from the identity.
        expected: String,
    },
    /// The binary sink failed.
    #[error("cannot store an extracted binary: {0}")]
    Sink(std::io::Error),
    /// A part of the JSON that has to be held until its element ends (see the module doc)
    /// grew over [`WriteOptions::max_buffered`].
    #[error(
        "a part of the JSON written in one piece (mixed content, #order, or repeats that may \
         interleave) needs more than {limit} bytes"
    )]
    BufferLimit {
        /// The limit in (estimated) JSON bytes.
        limit: usize,
    },
    /// The output could not be written.
    #[error("cannot write the JSON: {0}")]
    Write(std::io::Error),
    /// A repeated element came back after other siblings where the schema analysis said it
    /// cannot (a bug: the JSON would have a duplicate key, so nothing is claimed valid).
    #[error("internal: element {key} recurs after other siblings; cannot stream its parent")]
    OutOfOrder {
        /// The JSON key of the element.
        key: String,
    },
}

/// Default of [`WriteOptions::max_buffered`]: 16 MiB of JSON text.
pub const DEFAULT_MAX_BUFFERED: usize = 16 << 20;

/// How [`transform_to_writer`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Indent like `serde_json::to_writer_pretty` (default: compact like `to_writer`).
    pub pretty: bool,
    /// Most (estimated) JSON bytes held in memory at once for elements that cannot be written
    /// as they come (see the module doc).
    pub max_buffered: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        Self {
            pretty: false,
            max_buffered: DEFAULT_MAX_BUFFERED,
        }
    }
}

/// What [`transform_to_writer`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// The `base64Binary` payloads moved out of `data`, in document order (also in the JSON).
    pub binaries: Vec<ExtractedBinary>,
    /// Proof that the document was valid.
    pub validated: ValidatedDoc,
    /// Bytes of JSON written.
    pub bytes: u64,
    /// Most (estimated) JSON bytes held in memory at once.
    pub peak_buffered: usize,
}

/// Validates and transforms one document in one streaming pass; binaries are dropped after
/// hashing (use [`transform_with_sink`] to keep them).
pub fn transform<R: BufRead>(
    grammar: &Grammar,
    message: &MessageIdentity,
    xml: R,
    limits: &Limits,
) -> Result<Transformed, TransformError> {
    transform_with_sink(grammar, message, xml, limits, &mut DiscardBinaries)
}

/// [`transform`], handing each decoded `base64Binary` payload to `sink`.
pub fn transform_with_sink<R: BufRead>(
    grammar: &Grammar,
    message: &MessageIdentity,
    xml: R,
    limits: &Limits,
    sink: &mut dyn BinarySink,
) -> Result<Transformed, TransformError> {
    transform_observed(grammar, message, xml, limits, sink, &mut NoObserver)
}

/// [`transform_with_sink`] with another observer of the same validation pass (the business
/// rules, [`crate::xoev::rules::RulesPass`]): the document is read once for both.
///
/// # Errors
/// See [`transform`].
pub fn transform_observed<R: BufRead>(
    grammar: &Grammar,
    message: &MessageIdentity,
    xml: R,
    limits: &Limits,
    sink: &mut dyn BinarySink,
    also: &mut dyn Observer,
) -> Result<Transformed, TransformError> {
    let options = ValidationOptions::from_limits(limits);
    let mut builder = builder::Builder::new(sink);
    let mut both = (&mut builder, also);
    let report = crate::xsd::validate_with(grammar, xml, limits, &options, &mut both);
    let validated = finish(grammar, message, report, &mut builder)?;
    Ok(Transformed {
        message: message.clone(),
        data: builder
            .root
            .take()
            .map_or(Json::Null, writer::Node::into_json),
        binaries: std::mem::take(&mut builder.binaries),
        validated,
    })
}

/// Validates and transforms one document in one streaming pass, writing
/// `{"message": …, "data": …, "binaries": […]}` to `out` as the document is read (the same
/// bytes as serializing [`Transformed`] with `serde_json`, members in document order).
///
/// On an error, what was written is an unfinished prefix: discard it.
pub fn transform_to_writer<R: BufRead, W: Write>(
    grammar: &Grammar,
    message: &MessageIdentity,
    xml: R,
    limits: &Limits,
    sink: &mut dyn BinarySink,
    out: W,
    write: &WriteOptions,
) -> Result<Written, TransformError> {
    let mut json = JsonOut::new(out, write.pretty);
    json.begin(false);
    json.key(true, "message");
    json.begin(false);
    let fields = [
        ("standard", &message.standard),
        ("version", &message.version),
        ("type", &message.message_type),
        ("namespace", &message.namespace),
        ("schemaPack", &message.schema_pack),
    ];
    for (i, (k, v)) in fields.into_iter().enumerate() {
        json.key(i == 0, k);
        json.string(v);
    }
    json.end(false, true);
    json.key(false, "data");
    let options = ValidationOptions::from_limits(limits);
    let mut builder = builder::Builder::streaming(sink, json, write.max_buffered);
    let report = crate::xsd::validate_with(grammar, xml, limits, &options, &mut builder);
    let validated = finish(grammar, message, report, &mut builder)?;
    let Some(mut json) = builder.take_output() else {
        // `streaming` always has an output.
        return Err(TransformError::Write(std::io::Error::other("no output")));
    };
    json.key(false, "binaries");
    json.begin(true);
    for (i, b) in builder.binaries.iter().enumerate() {
        json.item(i == 0);
        json.begin(false);
        json.key(true, "id");
        json.string(&b.id);
        json.key(false, "size");
        json.json(&Json::from(b.size));
        json.key(false, "sha512");
        json.string(&b.sha512);
        json.key(false, "path");
        json.string(&b.path);
        json.end(false, true);
    }
    json.end(true, !builder.binaries.is_empty());
    json.end(false, true);
    json.flush_block();
    if let Some(e) = json.error.take() {
        return Err(TransformError::Write(e));
    }
    Ok(Written {
        binaries: std::mem::take(&mut builder.binaries),
        validated,
        bytes: json.written(),
        peak_buffered: builder.peak_buffered,
    })
}

/// The verdict after the pass: validity first, then the identity, then our own failures.
fn finish<W: Write>(
    grammar: &Grammar,
    message: &MessageIdentity,
    report: ValidationReport,
    builder: &mut builder::Builder<'_, W>,
) -> Result<ValidatedDoc, TransformError> {
    let names = grammar.names();
    let validated = match report.into_validated() {
        Ok(v) => v,
        // Valid, but the root has no declaration (assessed by its xsi:type alone): not the
        // message's root element.
        Err(r) if r.is_valid() => {
            return Err(TransformError::WrongMessage {
                expected: shape::clark(&message.namespace, &message.message_type),
            });
        }
        Err(r) => return Err(TransformError::Invalid(r)),
    };
    let root = grammar.element(validated.root()).name;
    if names.local(root) != message.message_type
        || names.ns_uri(names.ns_of(root)) != message.namespace
    {
        return Err(TransformError::WrongMessage {
            expected: shape::clark(&message.namespace, &message.message_type),
        });
    }
    if let Some(e) = builder.sink_error.take() {
        return Err(TransformError::Sink(e));
    }
    match builder.failure.take() {
        None => Ok(validated),
        Some(builder::Failure::BufferLimit) => Err(TransformError::BufferLimit {
            limit: builder.max_buffered(),
        }),
        Some(builder::Failure::OutOfOrder(key)) => Err(TransformError::OutOfOrder { key }),
        Some(builder::Failure::Write) => Err(TransformError::Write(
            builder
                .take_output()
                .and_then(|mut o| o.error.take())
                .unwrap_or_else(|| std::io::Error::other("write failed")),
        )),
    }
}
