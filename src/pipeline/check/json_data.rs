//! Step 7 for JSON: JSON Fachdaten (`submissionSchema.mimeType` `application/json`) and the
//! JSON data sets of 2.x metadata, against the installed JSON schema packs (`fim`).
//!
//! The schema is the one the metadata declare (`schemaUri`), never one the document picks; a
//! URI no installed pack provides is `unsupported-schema` at `metadata`, unless the operator
//! passes it through (`[validation] pass_through_json`, dangerous). The Fachdaten are parsed by
//! the strict reader within `[limits.json]` (duplicate member names, depth, size, value count,
//! numbers beyond 64 bits: `syntax-violation` at `data`), validated (`schema-violation` at
//! `data`), and become the envelope's `data` as they are. Problem details name places — JSON
//! pointers with member names no schema declares masked as `*`, keywords, line:column — and
//! never values.

use serde_json::Value;

use super::{Checker, Schemas};
use crate::fim::{self, Violation};
use crate::fitconnect::metadata::Metadata;
use crate::fitconnect::problems::{Failure, Instance};
use crate::json::JsonError;
use crate::xoev::registry::JsonSchemaSource;
use crate::xoev::transform::MessageIdentity;

/// The media type of JSON Fachdaten and data sets.
const JSON: &str = "application/json";

/// Whether the metadata declare JSON Fachdaten.
pub(super) fn declared(metadata: &Metadata) -> bool {
    metadata
        .content_structure
        .data
        .as_ref()
        .is_some_and(|d| d.submission_schema.mime_type == JSON)
}

/// `pointer` masked the way the schema source allows: names its pack declares are kept; with
/// no pack (pass-through) every member name is masked.
fn masked(source: JsonSchemaSource<'_>, pointer: &str) -> String {
    match source {
        JsonSchemaSource::Pack(p) => p.pack.mask_pointer(pointer),
        JsonSchemaSource::PassThrough => fim::mask_all_names(pointer),
    }
}

/// Where the strict reader refused the document, in the catalogue's language.
fn refusal(error: &JsonError, source: JsonSchemaSource<'_>) -> String {
    match error {
        JsonError::Syntax { line, column } => {
            format!("kein gültiges JSON (Zeile {line}, Spalte {column})")
        }
        JsonError::DuplicateMember { pointer } => {
            let at = masked(source, pointer);
            format!(
                "doppelter Name im Objekt {}",
                if at.is_empty() { "/" } else { &at }
            )
        }
        JsonError::TooDeep { max } => format!("tiefer als {max} Ebenen geschachtelt"),
        JsonError::TooLarge { max } => format!("größer als {max} Bytes"),
        JsonError::TooManyValues { max } => format!("mehr als {max} Werte"),
        JsonError::NumberOutOfRange { line, column } => {
            format!("Zahl nicht exakt darstellbar (Zeile {line}, Spalte {column})")
        }
    }
}

/// The places of violations, `prefix` (a JSON pointer) before each pointer; `…` when the list
/// was cut at the limit.
fn places(violations: &[Violation], prefix: &str, cut: bool) -> String {
    let mut list: Vec<String> = violations
        .iter()
        .map(|v| format!("{prefix}{}", v.pointer))
        .zip(violations)
        .map(|(at, v)| {
            let at = if at.is_empty() { "/".to_owned() } else { at };
            format!("{at} ({})", v.keyword)
        })
        .collect();
    if cut {
        list.push("…".to_owned());
    }
    list.join("; ")
}

/// The top-level `$schema` of a document, when it names another schema than the declared one
/// (the document must be what the metadata declare, as for XML).
fn names_other_schema(doc: &Value, declared: &str) -> bool {
    let trim = |u: &str| u.strip_suffix('#').unwrap_or(u).to_owned();
    doc.get("$schema")
        .and_then(Value::as_str)
        .is_some_and(|s| trim(s) != trim(declared))
}

/// JSON Fachdaten: parse, validate, and their identity and JSON for the envelope. `None` when
/// rejected (problems recorded).
pub(super) fn validate_json(
    c: &mut Checker<'_>,
    metadata: &Metadata,
    bytes: &[u8],
    schemas: &Schemas<'_>,
) -> Option<(MessageIdentity, Value)> {
    let declared = metadata
        .content_structure
        .data
        .as_ref()
        .map(|d| d.submission_schema.schema_uri.as_str())
        .unwrap_or_default();
    let Ok(source) = schemas.registry.resolve_json(declared) else {
        c.problems
            .add(Failure::DataSchemaUnsupported, Instance::Metadata);
        return None;
    };
    let doc = match crate::json::parse(bytes, &c.limits.json) {
        Ok(doc) => doc,
        Err(e) => {
            c.problems
                .add_detailed(Failure::DataSyntax, Instance::Data, &refusal(&e, source));
            return None;
        }
    };
    if names_other_schema(&doc, declared) {
        c.problems
            .add_detailed(Failure::DataSchema, Instance::Data, "/$schema (schemaUri)");
        return None;
    }
    let pack = match source {
        JsonSchemaSource::PassThrough => {
            return Some((MessageIdentity::json(declared, None), doc));
        }
        JsonSchemaSource::Pack(p) => p,
    };
    let max = c.limits.json.max_errors;
    match fim::validate(&pack.pack, declared, &doc, max.saturating_add(1)) {
        Ok(v) if v.is_empty() => Some((
            MessageIdentity::json(declared, Some(pack.pack.label())),
            doc,
        )),
        Ok(v) => {
            let cut = v.len() > max;
            c.problems.add_detailed(
                Failure::DataSchema,
                Instance::Data,
                &places(&v[..v.len().min(max)], "", cut),
            );
            None
        }
        // The pack's own schema does not compile: ours, not the sender's.
        Err(_) => {
            c.problems.add(Failure::Technical, Instance::Other);
            None
        }
    }
}

/// The JSON data sets of 2.x metadata (`dataSets[]` with `schema.mimeType`
/// `application/json`) against the schemas they name, like the Fachdaten: a schema no pack
/// provides is `unsupported-schema`, violations are `schema-violation`, both at `metadata`
/// with the places under `/dataSets/<i>/content`. Other media types are not JSON and left as
/// they are.
pub(super) fn check_data_sets(c: &mut Checker<'_>, metadata: &Metadata, schemas: &Schemas<'_>) {
    let Some(sets) = &metadata.data_sets else {
        return;
    };
    let max = c.limits.json.max_errors;
    for (i, set) in sets.iter().enumerate() {
        if set.schema.mime_type != JSON {
            continue;
        }
        let uri = set.schema.schema_uri.as_str();
        let pack = match schemas.registry.resolve_json(uri) {
            Ok(JsonSchemaSource::Pack(p)) => p,
            Ok(JsonSchemaSource::PassThrough) => continue,
            Err(_) => {
                c.problems.add_detailed(
                    Failure::DataSchemaUnsupported,
                    Instance::Metadata,
                    &format!("/dataSets/{i}/schema/schemaUri"),
                );
                continue;
            }
        };
        match fim::validate(&pack.pack, uri, &set.content, max.saturating_add(1)) {
            Ok(v) if v.is_empty() => {}
            Ok(v) => {
                let cut = v.len() > max;
                c.problems.add_detailed(
                    Failure::MetadataSchema,
                    Instance::Metadata,
                    &places(
                        &v[..v.len().min(max)],
                        &format!("/dataSets/{i}/content"),
                        cut,
                    ),
                );
            }
            Err(_) => c.problems.add(Failure::Technical, Instance::Other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_prefix_pointers_and_mark_a_cut_list() {
        let v = |pointer: &str, keyword: &str| Violation {
            pointer: pointer.to_owned(),
            keyword: keyword.to_owned(),
            message: String::new(),
        };
        assert_eq!(
            places(&[v("", "required"), v("/a/0", "type")], "", true),
            "/ (required); /a/0 (type); …"
        );
        assert_eq!(
            places(&[v("", "required")], "/dataSets/1/content", false),
            "/dataSets/1/content (required)"
        );
    }

    #[test]
    fn refusals_name_places_not_values() {
        let text = refusal(
            &JsonError::DuplicateMember {
                pointer: "/Erika Musterfrau/0".to_owned(),
            },
            JsonSchemaSource::PassThrough,
        );
        assert_eq!(text, "doppelter Name im Objekt /*/0");
        assert!(names_other_schema(
            &serde_json::json!({"$schema": "https://a.invalid/x"}),
            "https://a.invalid/y"
        ));
        assert!(!names_other_schema(
            &serde_json::json!({"$schema": "https://a.invalid/x#"}),
            "https://a.invalid/x"
        ));
        assert!(!names_other_schema(&serde_json::json!([1]), "x"));
    }
}
