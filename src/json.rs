//! Strict JSON for untrusted input (layer L1, pure): the one parser for every JSON document a
//! peer sends that the gateway decides on — JOSE headers, SET payloads, FIT-Connect metadata,
//! callback notices, JSON Fachdaten.
//!
//! What `serde_json::from_slice` accepts and this refuses:
//! - a member name that occurs twice in one object, at any depth (RFC 8259 §4 leaves the
//!   meaning open; RFC 7515 §4 says JOSE headers MUST be rejected. Two parsers picking
//!   different duplicates is a known confusion attack, so every document is refused);
//! - nesting deeper than [`JsonLimits::max_depth`] (serde_json's own hard limit is 128);
//! - documents larger than [`JsonLimits::max_bytes`], refused before parsing.
//!
//! Numbers follow serde_json (integers as i64/u64, others as f64; a number beyond f64's range
//! is a syntax error). Invalid UTF-8 is a syntax error. Member order is kept.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Bounds of one JSON document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonLimits {
    /// Size of the document in bytes.
    pub max_bytes: usize,
    /// Nesting depth of arrays and objects (the top-level value is depth 1). At most 128
    /// (serde_json's recursion limit); larger values act as 128.
    pub max_depth: usize,
}

impl JsonLimits {
    /// Limits for protocol documents (metadata, SET payloads, headers, notices): 16 MiB and
    /// depth 64 — FIT-Connect metadata nest about 6 deep.
    pub const PROTOCOL: Self = Self {
        max_bytes: 16 << 20,
        max_depth: 64,
    };
}

/// Why a document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// Not JSON (or not UTF-8), with the position of the first error.
    #[error("not valid JSON at {line}:{column}")]
    Syntax {
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
    },
    /// A member name occurs twice in one object; the JSON pointer of that object.
    #[error("duplicate member name in the object at {pointer:?}")]
    DuplicateMember {
        /// JSON pointer of the object holding the duplicate (names are schema field names,
        /// never values; the empty string is the top level).
        pointer: String,
    },
    /// Nested deeper than allowed.
    #[error("JSON nested deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: usize,
    },
    /// Larger than allowed.
    #[error("JSON document larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: usize,
    },
}

/// Parses one JSON document strictly (see the module doc).
///
/// # Errors
/// [`JsonError`] naming the first violation.
pub fn parse(bytes: &[u8], limits: &JsonLimits) -> Result<Value, JsonError> {
    if bytes.len() > limits.max_bytes {
        return Err(JsonError::TooLarge {
            max: limits.max_bytes,
        });
    }
    let mut failure = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let seed = Strict {
        depth: 1,
        max_depth: limits.max_depth.min(128),
        path: &mut Vec::new(),
        failure: &mut failure,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    match (parsed, failure) {
        (_, Some(f)) => Err(f),
        (Ok(v), None) => Ok(v),
        (Err(e), None) if e.to_string().starts_with("recursion limit exceeded") => {
            Err(JsonError::TooDeep {
                max: limits.max_depth.min(128),
            })
        }
        (Err(e), None) => Err(JsonError::Syntax {
            line: e.line(),
            column: e.column(),
        }),
    }
}

/// Parses strictly and deserializes into `T`.
///
/// # Errors
/// [`JsonError`] from [`parse`]; a shape `T` does not accept is reported as
/// [`JsonError::Syntax`] at 1:1 (the position is not known once the value is built).
pub fn from_slice<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    limits: &JsonLimits,
) -> Result<T, JsonError> {
    let value = parse(bytes, limits)?;
    serde_json::from_value(value).map_err(|_| JsonError::Syntax { line: 1, column: 1 })
}

/// A JSON pointer segment (RFC 6901 escaping).
fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Builds a [`Value`] and records the first strictness violation in `failure` (serde's error
/// type cannot carry it, so the custom error only stops the parse).
struct Strict<'a> {
    depth: usize,
    max_depth: usize,
    path: &'a mut Vec<String>,
    failure: &'a mut Option<JsonError>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl Strict<'_> {
    fn nested(&mut self) -> Strict<'_> {
        Strict {
            depth: self.depth + 1,
            max_depth: self.max_depth,
            path: self.path,
            failure: self.failure,
        }
    }

    fn enter<E: serde::de::Error>(&mut self) -> Result<(), E> {
        if self.depth > self.max_depth {
            *self.failure = Some(JsonError::TooDeep {
                max: self.max_depth,
            });
            return Err(E::custom("too deep"));
        }
        Ok(())
    }
}

impl<'de> Visitor<'de> for Strict<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut out = Vec::new();
        let mut index = 0usize;
        loop {
            self.path.push(index.to_string());
            let item = seq.next_element_seed(self.nested());
            self.path.pop();
            match item? {
                Some(v) => out.push(v),
                None => return Ok(Value::Array(out)),
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        self.enter()?;
        let mut out = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if out.contains_key(&name) {
                *self.failure = Some(JsonError::DuplicateMember {
                    pointer: pointer(self.path),
                });
                return Err(serde::de::Error::custom("duplicate member"));
            }
            self.path.push(name.clone());
            let value = map.next_value_seed(self.nested());
            self.path.pop();
            out.insert(name, value?);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: JsonLimits = JsonLimits::PROTOCOL;

    #[test]
    fn duplicate_members_are_refused_at_every_depth_with_their_place() {
        assert_eq!(
            parse(br#"{"a":1,"a":2}"#, &L),
            Err(JsonError::DuplicateMember {
                pointer: String::new()
            })
        );
        assert_eq!(
            parse(br#"{"x":[{"ok":1},{"sub":"a","sub":"b"}]}"#, &L),
            Err(JsonError::DuplicateMember {
                pointer: "/x/1".into()
            })
        );
        assert_eq!(
            parse(br#"{"a/b":{"c":1,"c":1}}"#, &L),
            Err(JsonError::DuplicateMember {
                pointer: "/a~1b".into()
            })
        );
        // The same name in sibling objects is fine.
        assert!(parse(br#"[{"a":1},{"a":2}]"#, &L).is_ok());
    }

    #[test]
    fn depth_size_and_syntax_are_bounded_and_precise() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let limits = JsonLimits {
            max_bytes: 1 << 20,
            max_depth: 10,
        };
        assert!(parse(deep(10).as_bytes(), &limits).is_ok());
        assert_eq!(
            parse(deep(11).as_bytes(), &limits),
            Err(JsonError::TooDeep { max: 10 })
        );
        // 100,000 levels: refused by depth, not by the stack.
        assert!(matches!(
            parse(
                deep(100_000).as_bytes(),
                &JsonLimits {
                    max_bytes: 1 << 20,
                    max_depth: 1000
                }
            ),
            Err(JsonError::TooDeep { .. })
        ));
        assert_eq!(
            parse(
                b"[1,2]",
                &JsonLimits {
                    max_bytes: 4,
                    max_depth: 4
                }
            ),
            Err(JsonError::TooLarge { max: 4 })
        );
        assert_eq!(
            parse(b"{\"a\":1} x", &L),
            Err(JsonError::Syntax { line: 1, column: 9 })
        );
        assert!(matches!(
            parse(b"\"\xff\"", &L),
            Err(JsonError::Syntax { .. })
        ));
        assert!(matches!(parse(b"1e400", &L), Err(JsonError::Syntax { .. })));
    }

    #[test]
    fn values_and_order_are_kept() {
        let v = parse(br#"{"z":1,"a":[true,null,-2,1.5,"s"],"m":{}}"#, &L).expect("valid");
        assert_eq!(
            v.to_string(),
            r#"{"z":1,"a":[true,null,-2,1.5,"s"],"m":{}}"#
        );
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct T {
            z: u8,
        }
        assert_eq!(from_slice::<T>(br#"{"z":1}"#, &L), Ok(T { z: 1 }));
        assert!(from_slice::<T>(br#"{"z":1,"z":2}"#, &L).is_err());
    }
}
