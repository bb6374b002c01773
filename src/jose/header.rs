//! JOSE protected headers: a JSON object whose member names must be unique.
//!
//! RFC 7515 §4 says a header with duplicate names MUST be rejected (or the last one taken);
//! parsers disagreeing on which duplicate wins is a known confusion attack, so we reject.

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
        // The one strict JSON rule of the crate (duplicates refused at every depth).
        match crate::json::parse(json, &crate::json::JsonLimits::PROTOCOL) {
            Ok(Value::Object(members)) => Ok(Self(members.into_iter().collect())),
            Ok(_) => Err(HeaderJsonError::Syntax { line: 1, column: 1 }),
            Err(crate::json::JsonError::DuplicateMember { .. }) => Err(HeaderJsonError::Duplicate),
            Err(crate::json::JsonError::Syntax { line, column }) => {
                Err(HeaderJsonError::Syntax { line, column })
            }
            Err(_) => Err(HeaderJsonError::Syntax { line: 1, column: 1 }),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Value> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
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
