//! FIT-Connect metadata: parsing, JSON Schema validation and the typed model.

use std::sync::OnceLock;

use serde_json::Value;

use crate::fitconnect::metadata::{MetadataError, MetadataValidator};

/// Every keyword a violation may name (the JSON Schema vocabulary `jsonschema` reports).
const KEYWORDS: &[&str] = &[
    "additionalItems",
    "additionalProperties",
    "anyOf",
    "pattern",
    "const",
    "contains",
    "contentEncoding",
    "contentMediaType",
    "enum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "falseSchema",
    "format",
    "maxItems",
    "maximum",
    "maxLength",
    "maxProperties",
    "minItems",
    "minimum",
    "minLength",
    "minProperties",
    "multipleOf",
    "not",
    "oneOf",
    "propertyNames",
    "required",
    "type",
    "unevaluatedItems",
    "unevaluatedProperties",
    "uniqueItems",
    "$ref",
];

fn validators() -> &'static [MetadataValidator; 2] {
    static V: OnceLock<[MetadataValidator; 2]> = OnceLock::new();
    V.get_or_init(|| {
        [
            MetadataValidator::new(),
            MetadataValidator::with_unconfirmed(true),
        ]
    })
}

/// Metadata properties, with the confirmed schemas and with the reconstructed 2.x ones: no
/// panic and never the "does not fit the typed model" error (the schema admits only what the
/// model can hold); accepted metadata re-serialized (compact and pretty) validate again to the
/// same typed value; a violation names a JSON pointer that exists in the document and a JSON
/// Schema keyword — so the error text carries no instance values — and there are at most 20;
/// "not JSON" only when `serde_json` cannot parse the bytes, and bytes `serde_json` cannot
/// parse are refused as not JSON or by the strict reader (duplicate member, depth).
pub fn metadata(data: &[u8]) {
    let parsed: Option<Value> = serde_json::from_slice(data).ok();
    for (unconfirmed, validator) in [false, true].into_iter().zip(validators()) {
        let result = validator.validate(data);
        match (&result, &parsed) {
            // The strict reader may stop at an earlier fault (a duplicate member, too deep)
            // than serde_json's syntax error: refused either way.
            (Err(MetadataError::NotJson { .. } | MetadataError::Json(_)), None) => continue,
            // serde_json takes a duplicate member (the last wins); the strict reader refuses.
            (Err(MetadataError::Json(_)), Some(_)) => continue,
            (Err(MetadataError::NotJson { .. }), Some(_)) => panic!("JSON refused as not JSON"),
            (_, None) => panic!("not JSON, but {result:?}"),
            (_, Some(_)) => {}
        }
        let doc = parsed.as_ref().expect("checked above");
        match result {
            Ok(typed) => {
                for again in [
                    serde_json::to_vec(doc).expect("a JSON value serializes"),
                    serde_json::to_vec_pretty(doc).expect("a JSON value serializes"),
                ] {
                    let retyped = validator
                        .validate(&again)
                        .expect("re-serialized metadata validate again");
                    assert_eq!(retyped, typed, "re-serialized metadata type differently");
                }
            }
            Err(MetadataError::SchemaViolation {
                version,
                violations,
            }) => {
                assert!(!violations.is_empty() && violations.len() <= 20);
                let mut text = format!("metadata violate schema {version}: ");
                for (i, v) in violations.iter().enumerate() {
                    assert!(
                        doc.pointer(&v.pointer).is_some(),
                        "violation at a pointer not in the document"
                    );
                    assert!(
                        KEYWORDS.contains(&v.keyword.as_str()),
                        "unexpected keyword in a violation"
                    );
                    if i > 0 {
                        text.push_str("; ");
                    }
                    text.push_str(&v.to_string());
                }
                let err = MetadataError::SchemaViolation {
                    version,
                    violations,
                };
                assert_eq!(
                    err.to_string(),
                    text,
                    "the error text holds more than pointers"
                );
            }
            Err(MetadataError::UnsupportedVersion) => {
                let schema = doc.get("$schema");
                let known = crate::fitconnect::metadata::VERSIONS.iter().any(|v| {
                    (unconfirmed || !v.unconfirmed) && Some(v.uri) == schema.and_then(Value::as_str)
                });
                assert!(
                    schema.is_some() && !known,
                    "a known or absent $schema refused as unsupported"
                );
            }
            Err(MetadataError::UnconfirmedVersion { version }) => {
                let named = crate::fitconnect::metadata::VERSIONS
                    .iter()
                    .find(|v| Some(v.uri) == doc.get("$schema").and_then(Value::as_str));
                assert!(
                    !unconfirmed && named.is_some_and(|v| v.unconfirmed && v.version == version),
                    "refused as unconfirmed: {version}"
                );
            }
            Err(e) => panic!("unexpected metadata error: {e:?}"),
        }
    }
}

#[cfg(test)]
mod finding_tests {
    /// Fuzz finding (metadata, 2026-12-05): a duplicate member before a syntax error — the
    /// strict reader names the duplicate, serde_json the syntax error; both refuse.
    #[test]
    fn a_duplicate_before_a_syntax_error_is_refused_by_both() {
        super::metadata(br#"{"contentStructure":{"data":{},"data":{}},"x":}"#);
    }

    /// Fuzz finding (metadata, 2026-12-05): a duplicate member serde_json takes (last wins)
    /// is refused by the strict reader — expected, not an "unexpected error".
    #[test]
    fn a_duplicate_member_serde_json_takes_is_refused() {
        super::metadata(br#"{"contentStructure":{"attachments":[]},"contentStructure":{}}"#);
    }
}
