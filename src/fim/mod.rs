//! JSON Fachdaten: FIM-style JSON Schema packs, their validation and their labels (layer L1,
//! pure: no I/O, no logging).
//!
//! Much of what travels over FIT-Connect is JSON that follows a FIM data schema (Föderales
//! Informationsmanagement): a root schema per form (`…/s00000096_1.0.schema.json`) that
//! references field and group schemas by absolute `$id`. A [`JsonPack`] is one installable set
//! of such schemas, identified by their `$id`s:
//!
//! - every schema file has an absolute `$id`; the `submissionSchema.schemaUri` of the metadata
//!   names one of them;
//! - every `$ref` resolves inside the pack: the pack is self-contained, so its content
//!   fingerprint alone decides every verdict, and nothing is ever fetched (a reference leaving
//!   the pack is a clear error when the pack is read, i.e. at install time);
//! - each schema is compiled once, on first use, and shared ([`JsonPack::validator`]).
//!
//! [`validate`] checks a parsed document and reports violations as JSON pointers and keywords,
//! never values; member names that no schema of the pack declares (keys of free-form maps,
//! which may be data) are shown as `*` ([`JsonPack::mask_pointer`]). [`labels`] lists the
//! fields of a document in schema order with the schemas' German `title`/`description`, for a
//! case-worker view.

pub mod labels;
mod pack;

pub use pack::{JsonPack, JsonPackError, SCHEMA_SUFFIX, is_schema_file};

/// `pointer` with every member name masked as `*` (array indexes kept): the places of data
/// no schema describes (passed-through Fachdaten).
#[must_use]
pub fn mask_all_names(pointer: &str) -> String {
    pack::mask_pointer(pointer, |_| false)
}

use serde_json::Value;

/// One violation of a JSON Fachdaten document: where (JSON pointer, undeclared member names
/// masked) and which keyword failed; never the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer into the document (`""` is the whole document).
    pub pointer: String,
    /// The failing JSON Schema keyword (`required`, `type`, `pattern`, …).
    pub keyword: String,
    /// The validator's message with instance values masked (for the offline tools; the
    /// gateway's problems carry only pointer and keyword).
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.pointer.is_empty() {
            "/"
        } else {
            &self.pointer
        };
        write!(f, "{at} ({})", self.keyword)
    }
}

/// Validates `doc` against the schema `schema_uri` of `pack`: at most `max_errors` violations,
/// in the validator's order. Empty when the document is valid.
///
/// # Errors
/// [`JsonPackError`] when the pack has no such schema or it does not compile.
pub fn validate(
    pack: &JsonPack,
    schema_uri: &str,
    doc: &Value,
    max_errors: usize,
) -> Result<Vec<Violation>, JsonPackError> {
    let validator = pack.validator(schema_uri)?;
    Ok(validator
        .iter_errors(doc)
        .take(max_errors)
        .map(|e| Violation {
            pointer: pack.mask_pointer(&e.instance_path().to_string()),
            keyword: e.kind().keyword().to_owned(),
            message: e.masked().to_string(),
        })
        .collect())
}
