//! JOSE protected headers: a JSON object whose member names must be unique.
//!
//! RFC 7515 §4 says a header with duplicate names MUST be rejected (or the last one taken);
//! parsers disagreeing on which duplicate wins is a known confusion attack, so we reject.

use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::Value;

/// Header members in their original order, names unique.
#[derive(Debug, Default)]
pub(crate) struct HeaderMembers(pub(crate) Vec<(String, Value)>);

/// Why a header is not acceptable JSON.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum HeaderJsonError {
    /// Not JSON or not an object; position of the error.
    Syntax { line: usize, column: usize },
    /// A member name occurs twice.
    Duplicate,
}

impl HeaderMembers {
    pub(crate) fn parse(json: &[u8]) -> Result<Self, HeaderJsonError> {
        let mut de = serde_json::Deserializer::from_slice(json);
        let members = match HeaderMembers::deserialize(&mut de) {
            Ok(m) => m,
            Err(e) if e.to_string().starts_with("duplicate header member") => {
                return Err(HeaderJsonError::Duplicate);
            }
            Err(e) => {
                return Err(HeaderJsonError::Syntax {
                    line: e.line(),
                    column: e.column(),
                });
            }
        };
        de.end().map_err(|e| HeaderJsonError::Syntax {
            line: e.line(),
            column: e.column(),
        })?;
        Ok(members)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

impl<'de> Deserialize<'de> for HeaderMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = HeaderMembers;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<HeaderMembers, A::Error> {
                let mut members: Vec<(String, Value)> = Vec::new();
                while let Some((name, value)) = map.next_entry::<String, Value>()? {
                    if members.iter().any(|(n, _)| *n == name) {
                        return Err(serde::de::Error::custom("duplicate header member"));
                    }
                    members.push((name, value));
                }
                Ok(HeaderMembers(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_duplicates_and_non_objects() {
        assert!(HeaderMembers::parse(br#"{"alg":"a","enc":"b"}"#).is_ok());
        assert_eq!(
            HeaderMembers::parse(br#"{"alg":"a","alg":"b"}"#).expect_err("duplicate"),
            HeaderJsonError::Duplicate
        );
        assert!(matches!(
            HeaderMembers::parse(b"[1]"),
            Err(HeaderJsonError::Syntax { .. })
        ));
        assert!(matches!(
            HeaderMembers::parse(br#"{"a":1} x"#),
            Err(HeaderJsonError::Syntax { .. })
        ));
    }
}
