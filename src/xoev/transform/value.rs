//! Simple values ↔ JSON: the typing rules of the mapping (see the module doc of `transform`).

use serde_json::Value as Json;

use crate::xsd::datatypes::{Builtin, Value};
use crate::xsd::simple::{SimpleType, Variety};

/// Largest integer a JSON number carries exactly in every consumer (IEEE double, 2^53 − 1).
pub(crate) const MAX_SAFE_INTEGER: i128 = (1 << 53) - 1;

/// How a simple type appears in JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ValueKind {
    /// `xs:boolean` → `true`/`false`.
    Boolean,
    /// Integer types → number, or a string beyond ±(2^53 − 1).
    Integer,
    /// `xs:decimal` (not integer) → string, exactly as written after whitespace collapsing
    /// (`"680.00"` stays `"680.00"`: exact, and trailing zeros of amounts are kept).
    Decimal,
    /// `xs:float`/`xs:double` → number, or `"INF"`, `"-INF"`, `"NaN"`.
    Float,
    /// `xs:base64Binary` → an attachment reference.
    Binary,
    /// Lists → array of items.
    List(Box<ValueKind>),
    /// Everything else → the whitespace-normalised string (dates stay ISO 8601 strings).
    Text,
}

/// The JSON kind of a simple type.
pub(crate) fn value_kind(st: &SimpleType) -> ValueKind {
    match st.variety() {
        Variety::List(item) => ValueKind::List(Box::new(value_kind(item))),
        Variety::Union(_) => ValueKind::Text,
        Variety::Atomic(b) => {
            let b = *b;
            if b.is_derived_from(Builtin::Integer) {
                ValueKind::Integer
            } else {
                match b.primitive() {
                    Builtin::Boolean => ValueKind::Boolean,
                    Builtin::Decimal => ValueKind::Decimal,
                    Builtin::Float | Builtin::Double => ValueKind::Float,
                    Builtin::Base64Binary => ValueKind::Binary,
                    _ => ValueKind::Text,
                }
            }
        }
    }
}

/// The JSON of a valid simple value (`Binary` is handled by the caller). `lexical` is the text
/// as written; `typed` the validator's value (absent when invalid: then the normalised text).
pub(crate) fn to_json(
    kind: &ValueKind,
    st: &SimpleType,
    lexical: &str,
    typed: Option<&Value>,
) -> Json {
    match (kind, typed) {
        (ValueKind::Boolean, Some(Value::Boolean(b))) => Json::Bool(*b),
        (ValueKind::Integer, Some(Value::Decimal(d))) => match d.to_i128() {
            Some(v) if v.abs() <= MAX_SAFE_INTEGER => {
                Json::from(i64::try_from(v).unwrap_or_default())
            }
            _ => Json::String(d.to_string()),
        },
        (ValueKind::Float, Some(Value::Float(f))) => float_json(f64::from(f.get()), st, lexical),
        (ValueKind::Float, Some(Value::Double(f))) => float_json(f.get(), st, lexical),
        (ValueKind::List(item), Some(Value::List(items))) => {
            let normalized = st.normalize(lexical);
            let lexicals = normalized.split_ascii_whitespace();
            Json::Array(
                items
                    .iter()
                    .zip(lexicals)
                    .map(|(v, lex)| match v {
                        Value::Boolean(_)
                        | Value::Decimal(_)
                        | Value::Float(_)
                        | Value::Double(_) => to_json(item, st, lex, Some(v)),
                        _ => Json::String(lex.to_owned()),
                    })
                    .collect(),
            )
        }
        _ => Json::String(st.normalize(lexical).into_owned()),
    }
}

fn float_json(v: f64, st: &SimpleType, lexical: &str) -> Json {
    serde_json::Number::from_f64(v)
        .map(Json::Number)
        .unwrap_or_else(|| Json::String(st.normalize(lexical).into_owned()))
}

/// The XML lexical form of a JSON simple value (`None` for objects, which are not simple).
pub(crate) fn to_lexical(v: &Json) -> Option<String> {
    match v {
        Json::Bool(b) => Some(if *b { "true" } else { "false" }.to_owned()),
        Json::Number(n) => Some(n.to_string()),
        Json::String(s) => Some(s.clone()),
        Json::Array(items) => {
            let parts: Option<Vec<String>> = items.iter().map(to_lexical).collect();
            Some(parts?.join(" "))
        }
        Json::Null | Json::Object(_) => None,
    }
}
