//! The schema-driven XÖV → JSON transform, validation and transform in one streaming pass.
//!
//! [`transform`] validates the document with the XSD engine and, through the validator's
//! [`Observer`](crate::xsd::Observer) hook, builds the JSON of every element as soon as it ends,
//! using the declaration and type the validator matched. There is no document tree: memory is
//! the output JSON plus one small frame per open element. `xs:base64Binary` payloads never enter
//! the JSON; their octets go to a [`BinarySink`] and the JSON keeps a reference.
//!
//! A document that is not valid yields [`TransformError::Invalid`] with the validation report
//! (the pipeline maps it to the FIT-Connect problem for schema violations); no partial JSON is
//! returned. [`to_xml`] turns the JSON back into XML for the same grammar.
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
//!   number when within ±(2^53 − 1), else a string of the exact digits; `xs:decimal` → string exactly
//!   as written after whitespace collapsing (`"680.00"`; never a binary float); `xs:float`/`xs:double` → number
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

use std::io::BufRead;

use serde_json::{Value as Json, json};

use crate::config::Limits;
use crate::xsd::{Grammar, ValidatedDoc, ValidationOptions, ValidationReport};

pub use binary::{
    BinarySink, BinarySource, DirBinaries, DiscardBinaries, ExtractedBinary, MemoryBinaries,
};
pub use builder::{ORDER_KEY, TEXT_KEY, VALUE_KEY, XSI_NIL_KEY, XSI_TYPE_KEY};
pub use to_xml::{ToXmlError, to_xml};

/// What the message is, as named in the JSON envelope (`message` of architecture §6).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MessageIdentity {
    /// Standard (`XBau`).
    pub standard: String,
    /// Standard version (`2.6`).
    pub version: String,
    /// Message type = root element local name (`baugenehmigung.antrag.0200`).
    #[serde(rename = "type")]
    pub message_type: String,
    /// Namespace of the root element.
    pub namespace: String,
    /// `pack-id@fingerprint` of the schema pack used.
    #[serde(rename = "schemaPack")]
    pub schema_pack: String,
}

impl MessageIdentity {
    /// The identity of a message the registry resolved.
    pub fn from_resolved(r: &crate::xoev::registry::Resolved<'_>) -> Self {
        Self {
            standard: r.message.standard.to_owned(),
            version: r.message.version.to_owned(),
            message_type: r.message.message_type.clone(),
            namespace: r.message.namespace.to_owned(),
            schema_pack: r.pack.label(),
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
    let options = ValidationOptions::from_limits(limits);
    let mut builder = builder::Builder::new(sink);
    let report = crate::xsd::validate_with(grammar, xml, limits, &options, &mut builder);
    let validated = report.into_validated().map_err(TransformError::Invalid)?;
    let root = grammar.element(validated.root()).name;
    let names = grammar.names();
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
    Ok(Transformed {
        message: message.clone(),
        data: builder.root.take().unwrap_or(Json::Null),
        binaries: std::mem::take(&mut builder.binaries),
        validated,
    })
}
