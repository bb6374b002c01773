//! Values in the value spaces of the built-ins.
//!
//! `Eq`/`Hash` follow XSD value equality per primitive family: the variant is the primitive
//! (all string-derived types share `String`, all integer types share `Decimal`), so `1` as
//! xs:int equals `01` as xs:integer but not `"1"` as xs:string. The partial order is
//! [`Value::partial_cmp_xsd`].

use std::cmp::Ordering;

use super::date_time::DateTimeValue;
use super::decimal::Decimal;
use super::duration::Duration;
use super::float::{Float32, Float64};

/// An expanded QName value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QNameValue {
    /// Namespace name (`""` for none).
    pub ns: Box<str>,
    /// Local part.
    pub local: Box<str>,
}

/// A value in the value space of a simple type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Value {
    /// string and everything derived from it (token, Name, ID, …); also anySimpleType.
    String(Box<str>),
    /// boolean.
    Boolean(bool),
    /// decimal and all integer types.
    Decimal(Decimal),
    /// float.
    Float(Float32),
    /// double.
    Double(Float64),
    /// duration.
    Duration(Duration),
    /// dateTime, date, time and the g* types (the kind is inside).
    DateTime(DateTimeValue),
    /// hexBinary octets.
    HexBinary(Box<[u8]>),
    /// base64Binary octets.
    Base64Binary(Box<[u8]>),
    /// anyURI.
    AnyUri(Box<str>),
    /// QName.
    QName(QNameValue),
    /// NOTATION.
    Notation(QNameValue),
    /// A list value; lists compare item by item.
    List(Box<[Value]>),
}

impl Value {
    /// The XSD order: `Some` only for values of one ordered primitive that are comparable
    /// (`None` for different primitives, unordered types, NaN, and indeterminate
    /// date/time or duration comparisons). Unordered types answer `Some(Equal)` when equal.
    pub fn partial_cmp_xsd(&self, other: &Value) -> Option<Ordering> {
        match (self, other) {
            (Value::Decimal(a), Value::Decimal(b)) => Some(a.cmp_value(b)),
            (Value::Float(a), Value::Float(b)) => a.get().partial_cmp(&b.get()),
            (Value::Double(a), Value::Double(b)) => a.get().partial_cmp(&b.get()),
            (Value::DateTime(a), Value::DateTime(b)) => a.partial_cmp_xsd(b),
            (Value::Duration(a), Value::Duration(b)) => a.partial_cmp_xsd(b),
            _ => (self == other).then_some(Ordering::Equal),
        }
    }

    /// Bytes this value occupies (inline and on the heap), for the limits on what a validator
    /// may hold per document (`xsd.max_identity_bytes`).
    pub fn held_bytes(&self) -> usize {
        let heap = match self {
            Value::String(s) | Value::AnyUri(s) => s.len(),
            Value::HexBinary(b) | Value::Base64Binary(b) => b.len(),
            Value::QName(q) | Value::Notation(q) => q.ns.len() + q.local.len(),
            Value::Decimal(Decimal::Big { digits, .. }) => digits.len(),
            Value::DateTime(d) => d.frac.extra.as_ref().map_or(0, |e| e.len()),
            Value::List(items) => items.iter().map(Value::held_bytes).sum(),
            Value::Boolean(_)
            | Value::Decimal(Decimal::Small { .. })
            | Value::Float(_)
            | Value::Double(_)
            | Value::Duration(_) => 0,
        };
        size_of::<Value>() + heap
    }

    /// The number of units the length facets count: characters for strings and URIs,
    /// octets for binary values, items for lists; `None` where length facets do not apply
    /// (QName and NOTATION, whose length facets XSD 1.0 errata make always satisfied).
    pub fn length_units(&self) -> Option<usize> {
        match self {
            Value::String(s) | Value::AnyUri(s) => Some(s.chars().count()),
            Value::HexBinary(b) | Value::Base64Binary(b) => Some(b.len()),
            Value::List(items) => Some(items.len()),
            _ => None,
        }
    }
}
