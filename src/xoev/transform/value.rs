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
    /// `xs:decimal` (not integer) → string, shortest exact form (`0012.50` → `"12.5"`).
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
        Variety::Atomic(b) => atomic_kind(*b),
    }
}

fn atomic_kind(b: Builtin) -> ValueKind {
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

/// Whether [`to_json`] reads the validator's typed value for this type: every kind but `Text`,
/// which is the normalised lexical form (so the validator need not build a string value).
pub(crate) fn needs_typed(st: &SimpleType) -> bool {
    match st.variety() {
        Variety::List(_) => true,
        Variety::Union(_) => false,
        // `atomic_kind` by the primitive alone (integers are decimals), without the walk up
        // the derivation chain: asked for every simple value of the document.
        Variety::Atomic(b) => matches!(
            b.primitive(),
            Builtin::Boolean
                | Builtin::Decimal
                | Builtin::Float
                | Builtin::Double
                | Builtin::Base64Binary
        ),
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
        (ValueKind::Decimal, Some(Value::Decimal(d))) => Json::String(d.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `needs_typed` tells the validator which values the transform reads: it must agree with
    /// `value_kind` on every built-in type, on lists and on unions, or a value would be
    /// converted from a typed value that was never built.
    #[test]
    fn typed_values_are_wanted_for_every_kind_but_text() {
        let mut text = 0;
        for b in Builtin::all() {
            let st = SimpleType::builtin(b);
            let kind = value_kind(&st);
            assert_eq!(needs_typed(&st), kind != ValueKind::Text, "{b:?}: {kind:?}");
            text += usize::from(kind == ValueKind::Text);
            if let Ok(list) = SimpleType::list_of(st.clone()) {
                assert!(needs_typed(&list), "list of {b:?}");
            }
        }
        assert!(
            text > 10,
            "string-like built-ins need no typed value ({text})"
        );
        let union = SimpleType::union_of(vec![
            SimpleType::builtin(Builtin::Int),
            SimpleType::builtin(Builtin::String),
        ]);
        assert_eq!(value_kind(&union), ValueKind::Text);
        assert!(!needs_typed(&union));
        // With no typed value, text is the normalised lexical form; typed kinds still convert.
        let token = SimpleType::builtin(Builtin::Token);
        assert_eq!(
            to_json(&ValueKind::Text, &token, "  a \n b ", None),
            Json::String("a b".into())
        );
    }
}
