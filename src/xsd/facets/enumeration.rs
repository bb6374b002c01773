//! enumeration (§4.3.5): a hash set of values in the value space, built once per type.
//! String-like types (string family, anyURI) are keyed by their normalised text so the hot
//! path looks up a `&str` without building a value. The sets use foldhash: enumeration
//! lookups are among the hottest operations of validation, and the keys come from the
//! (trusted) schema, so SipHash's flooding resistance buys nothing here while its cost shows.

use std::collections::HashSet;

type FastSet<T> = HashSet<T, foldhash::fast::RandomState>;

use crate::xsd::datatypes::Value;

/// The enumerated values of a type.
#[derive(Clone, Debug)]
pub struct Enumeration {
    text: Option<FastSet<Box<str>>>,
    values: FastSet<Value>,
}

impl Enumeration {
    /// Build from the values of the facets (already checked against the base type).
    pub fn new(values: Vec<Value>) -> Enumeration {
        let text = values
            .iter()
            .map(|v| match v {
                Value::String(s) | Value::AnyUri(s) => Some(s.clone()),
                _ => None,
            })
            .collect::<Option<FastSet<_>>>();
        Enumeration {
            text,
            values: values.into_iter().collect(),
        }
    }

    /// The number of distinct values.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Never true for a facet from a schema (one value at least); for completeness.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Are the values keyed by text (the allocation-free lookup applies)?
    pub fn by_text(&self) -> bool {
        self.text.is_some()
    }

    /// The values as normalised text, sorted; `None` if the set is not keyed by text.
    pub fn texts(&self) -> Option<Vec<&str>> {
        let mut t: Vec<&str> = self.text.as_ref()?.iter().map(AsRef::as_ref).collect();
        t.sort_unstable();
        Some(t)
    }

    /// Lookup by normalised text; `None` if the set is not keyed by text.
    pub fn contains_text(&self, s: &str) -> Option<bool> {
        self.text.as_ref().map(|t| t.contains(s))
    }

    /// Lookup by value.
    pub fn contains(&self, v: &Value) -> bool {
        self.values.contains(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsd::datatypes::Decimal;

    #[test]
    fn lookups() {
        let e = Enumeration::new(vec![Value::String("a".into()), Value::String("b".into())]);
        assert_eq!(e.contains_text("a"), Some(true));
        assert_eq!(e.contains_text("c"), Some(false));
        let one = |s| Value::Decimal(Decimal::parse(s).expect("valid in test"));
        let n = Enumeration::new(vec![one("1.0"), one("2")]);
        assert!(!n.by_text());
        assert!(n.contains(&one("01")));
        assert!(!n.contains(&Value::String("1".into())));
    }
}
