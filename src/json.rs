//! Strict JSON for untrusted input (layer L1, pure): the one parser for every JSON document a
//! peer sends that the gateway decides on — JOSE headers, SET payloads, FIT-Connect metadata,
//! callback notices, JSON Fachdaten.
//!
//! What `serde_json::from_slice` accepts and this refuses:
//! - a member name that occurs twice in one object, at any depth (RFC 8259 §4 leaves the
//!   meaning open; RFC 7515 §4 says JOSE headers MUST be rejected. Two parsers picking
//!   different duplicates is a known confusion attack, so every document is refused);
//! - nesting deeper than [`JsonLimits::max_depth`] (serde_json's own hard limit is 128);
//! - documents larger than [`JsonLimits::max_bytes`], refused before parsing;
//! - more than [`JsonLimits::max_values`] values (memory: a parsed value costs far more than
//!   its two bytes of text);
//! - a number serde_json cannot hold exactly as written: an integer literal beyond i64/u64
//!   (serde_json would silently round it to f64, and a gateway that forwards a value must not
//!   change it — two parsers disagreeing on a value is the confusion duplicates are refused
//!   for) and a number beyond f64's range ([`JsonError::NumberOutOfRange`]).
//!
//! Other numbers follow serde_json (integers as i64/u64, others as f64). Invalid UTF-8 is a
//! syntax error. Member order is kept. The limits are [`crate::config::JsonLimits`]: fixed
//! [`JsonLimits::PROTOCOL`] for protocol documents, `[limits.json]` for JSON Fachdaten.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

pub use crate::config::JsonLimits;

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
    /// More values than allowed.
    #[error("JSON document with more than {max} values")]
    TooManyValues {
        /// The limit.
        max: usize,
    },
    /// A number that cannot be held exactly as written: an integer beyond i64/u64, or any
    /// number beyond f64's range.
    #[error("number out of range at {line}:{column}")]
    NumberOutOfRange {
        /// Line (1-based).
        line: usize,
        /// Column (1-based).
        column: usize,
    },
}

impl JsonError {
    /// The kind of refusal, as tools and test vectors name it: `syntax`, `duplicate-member`,
    /// `too-deep`, `too-large`, `too-many-values`, `number-out-of-range`.
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Syntax { .. } => "syntax",
            Self::DuplicateMember { .. } => "duplicate-member",
            Self::TooDeep { .. } => "too-deep",
            Self::TooLarge { .. } => "too-large",
            Self::TooManyValues { .. } => "too-many-values",
            Self::NumberOutOfRange { .. } => "number-out-of-range",
        }
    }
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
        values: &mut Budget {
            left: limits.max_values,
            max: limits.max_values,
        },
        path: &mut Vec::new(),
        failure: &mut failure,
    };
    let parsed = seed.deserialize(&mut de).and_then(|v| de.end().map(|()| v));
    let value = match (parsed, failure) {
        (_, Some(f)) => return Err(f),
        (Ok(v), None) => v,
        (Err(e), None) => {
            let text = e.to_string();
            return Err(if text.starts_with("recursion limit exceeded") {
                JsonError::TooDeep {
                    max: limits.max_depth.min(128),
                }
            } else if text.starts_with("number out of range") {
                JsonError::NumberOutOfRange {
                    line: e.line(),
                    column: e.column().max(1),
                }
            } else {
                // serde_json says column 0 for the end of input right after a newline.
                JsonError::Syntax {
                    line: e.line(),
                    column: e.column().max(1),
                }
            });
        }
    };
    // Only a document that parsed is scanned: its strings are then known to be closed.
    if let Some(at) = first_wide_integer(bytes) {
        let (line, column) = position(bytes, at);
        return Err(JsonError::NumberOutOfRange { line, column });
    }
    Ok(value)
}

/// The offset of the first integer literal (no fraction, no exponent) of a well-formed JSON
/// text that fits neither i64 nor u64 — the literals serde_json turns into a rounded f64.
fn first_wide_integer(bytes: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                // Skip the string: to its closing quote, stepping over escapes.
                i += 1;
                while let Some(off) = memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                    i += off;
                    if bytes[i] == b'"' {
                        break;
                    }
                    i += 2;
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < bytes.len()
                    && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    i += 1;
                }
                let literal = &bytes[start..i];
                // At most 20 characters fit (u64::MAX has 20 digits, i64::MIN 19 and a sign).
                let integer = !literal.iter().any(|b| matches!(b, b'.' | b'e' | b'E'));
                if integer && literal.len() >= 19 {
                    let text = std::str::from_utf8(literal).unwrap_or_default();
                    if text.parse::<i64>().is_err() && text.parse::<u64>().is_err() {
                        return Some(start);
                    }
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// Line and column (1-based, columns in bytes as serde_json counts them) of a byte offset.
pub(crate) fn position(bytes: &[u8], at: usize) -> (usize, usize) {
    let before = &bytes[..at.min(bytes.len())];
    let line = memchr::memchr_iter(b'\n', before).count() + 1;
    let column = before.len() - memchr::memrchr(b'\n', before).map_or(0, |n| n + 1) + 1;
    (line, column)
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

/// The position (line, column; 1-based, columns in bytes) of the value a JSON pointer names
/// in a JSON text that [`parse`] accepted — for tools that report violations the way they
/// report XML errors. `None` when the pointer names nothing.
#[must_use]
pub fn locate(bytes: &[u8], pointer: &str) -> Option<(usize, usize)> {
    let mut cursor = Cursor { bytes, at: 0 };
    cursor.space();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        match bytes.get(cursor.at)? {
            b'{' => {
                cursor.at += 1;
                loop {
                    cursor.space();
                    let (start, end) = cursor.string()?;
                    let name: String = serde_json::from_slice(&bytes[start..end]).ok()?;
                    cursor.space();
                    cursor.expect(b':')?;
                    cursor.space();
                    if name == segment {
                        break;
                    }
                    cursor.value()?;
                    cursor.space();
                    cursor.expect(b',')?;
                }
            }
            b'[' => {
                let index: usize = segment.parse().ok()?;
                cursor.at += 1;
                cursor.space();
                for _ in 0..index {
                    cursor.value()?;
                    cursor.space();
                    cursor.expect(b',')?;
                    cursor.space();
                }
                if bytes.get(cursor.at) == Some(&b']') {
                    return None;
                }
            }
            _ => return None,
        }
    }
    Some(position(bytes, cursor.at))
}

/// A read position in a well-formed JSON text ([`locate`]).
struct Cursor<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Cursor<'_> {
    fn space(&mut self) {
        while self
            .bytes
            .get(self.at)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            self.at += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.bytes.get(self.at) == Some(&byte)).then(|| self.at += 1)
    }

    /// Skips a string; its range with the quotes.
    fn string(&mut self) -> Option<(usize, usize)> {
        let start = self.at;
        self.expect(b'"')?;
        loop {
            let off = memchr::memchr2(b'"', b'\\', self.bytes.get(self.at..)?)?;
            self.at += off;
            if self.bytes[self.at] == b'"' {
                self.at += 1;
                return Some((start, self.at));
            }
            self.at += 2;
        }
    }

    /// Skips one value (nesting is bounded: the text passed [`parse`]).
    fn value(&mut self) -> Option<()> {
        match *self.bytes.get(self.at)? {
            b'"' => self.string().map(|_| ()),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                self.at += 1;
                self.space();
                if self.expect(close).is_some() {
                    return Some(());
                }
                loop {
                    if open == b'{' {
                        self.string()?;
                        self.space();
                        self.expect(b':')?;
                        self.space();
                    }
                    self.value()?;
                    self.space();
                    if self.expect(close).is_some() {
                        return Some(());
                    }
                    self.expect(b',')?;
                    self.space();
                }
            }
            _ => {
                // Number or literal: up to the next delimiter.
                while self.bytes.get(self.at).is_some_and(|b| {
                    !matches!(b, b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
                }) {
                    self.at += 1;
                }
                Some(())
            }
        }
    }
}

/// Refuses every reference that is not already in the schema set: no `$ref` is ever fetched.
struct NoRemoteRefs;

impl jsonschema::Retrieve for NoRemoteRefs {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        Err(format!(
            "{uri} is outside the schema set (schemas resolve offline, never over the network)"
        )
        .into())
    }
}

/// The options every JSON Schema of the gateway is compiled with — the FIT-Connect metadata
/// schemas and the JSON Fachdaten packs: formats are asserted, and a retriever refuses every
/// reference that is not among the schemas given, so nothing is ever fetched. The draft
/// follows each schema's `$schema` (2020-12 when absent); callers may pin it.
#[must_use]
pub fn schema_options() -> jsonschema::ValidationOptions<'static> {
    jsonschema::options()
        .should_validate_formats(true)
        .with_retriever(NoRemoteRefs)
}

/// The retriever of [`schema_options`], for registries built ahead of compiling.
#[must_use]
pub fn offline_retriever() -> impl jsonschema::Retrieve + 'static {
    NoRemoteRefs
}

/// A JSON pointer segment (RFC 6901 escaping).
fn pointer(path: &[String]) -> String {
    path.iter()
        .map(|p| format!("/{}", p.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// Values still allowed in the document.
struct Budget {
    left: usize,
    max: usize,
}

/// Builds a [`Value`] and records the first strictness violation in `failure` (serde's error
/// type cannot carry it, so the custom error only stops the parse).
struct Strict<'a> {
    depth: usize,
    max_depth: usize,
    values: &'a mut Budget,
    path: &'a mut Vec<String>,
    failure: &'a mut Option<JsonError>,
}

impl<'de> DeserializeSeed<'de> for Strict<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.values.left == 0 {
            *self.failure = Some(JsonError::TooManyValues {
                max: self.values.max,
            });
            return Err(serde::de::Error::custom("too many values"));
        }
        self.values.left -= 1;
        deserializer.deserialize_any(self)
    }
}

impl Strict<'_> {
    fn nested(&mut self) -> Strict<'_> {
        Strict {
            depth: self.depth + 1,
            max_depth: self.max_depth,
            values: self.values,
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
        let limits = JsonLimits::PROTOCOL
            .with_max_bytes(1 << 20)
            .with_max_depth(10);
        assert!(parse(deep(10).as_bytes(), &limits).is_ok());
        assert_eq!(
            parse(deep(11).as_bytes(), &limits),
            Err(JsonError::TooDeep { max: 10 })
        );
        // 100,000 levels: refused by depth, not by the stack.
        assert!(matches!(
            parse(
                deep(100_000).as_bytes(),
                &JsonLimits::PROTOCOL
                    .with_max_bytes(1 << 20)
                    .with_max_depth(1000)
            ),
            Err(JsonError::TooDeep { .. })
        ));
        assert_eq!(
            parse(
                b"[1,2]",
                &JsonLimits::PROTOCOL.with_max_bytes(4).with_max_depth(4)
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
        assert_eq!(
            parse(b"[1,\n 1e400]", &L),
            Err(JsonError::NumberOutOfRange { line: 2, column: 6 })
        );
    }

    #[test]
    fn integers_beyond_64_bits_are_refused_not_rounded() {
        // serde_json alone would read these as a rounded f64.
        assert_eq!(
            parse(b"{\"a\": [1, 123456789012345678901234567890]}", &L),
            Err(JsonError::NumberOutOfRange {
                line: 1,
                column: 11
            })
        );
        assert_eq!(
            parse(b"-9223372036854775809", &L),
            Err(JsonError::NumberOutOfRange { line: 1, column: 1 })
        );
        // The extremes of i64 and u64 are exact; digits inside strings and floats are no
        // integers.
        let ok = br#"[-9223372036854775808, 18446744073709551615, "123456789012345678901234567890",
                      "a\"12345678901234567890123", 1.23456789012345678901234567890, 1e25]"#;
        let v = parse(ok, &L).expect("valid");
        assert_eq!(v[0], i64::MIN);
        assert_eq!(v[1], u64::MAX);
    }

    #[test]
    fn locate_finds_the_value_a_pointer_names() {
        let text =
            b"{\"a\": 1,\n \"b/c\": [true, {\"x\\\"y\": \"s,]}\", \"d\": [ ]}],\n \"e\": {}}";
        assert!(parse(text, &L).is_ok());
        assert_eq!(locate(text, ""), Some((1, 1)));
        assert_eq!(locate(text, "/a"), Some((1, 7)));
        assert_eq!(locate(text, "/b~1c"), Some((2, 9)));
        assert_eq!(locate(text, "/b~1c/1/d"), Some((2, 38)));
        assert_eq!(locate(text, "/e"), Some((3, 7)));
        assert_eq!(locate(text, "/b~1c/2"), None);
        assert_eq!(locate(text, "/zz"), None);
        assert_eq!(locate(text, "/a/0"), None);
    }

    /// Fuzz finding (json_fachdaten, a truncated vector document): serde_json reports the end
    /// of input after a newline at column 0; positions are 1-based.
    #[test]
    fn eof_after_a_newline_is_reported_at_column_1_not_0() {
        assert_eq!(
            parse(b"{\"a\": [1,\n", &L),
            Err(JsonError::Syntax { line: 2, column: 1 })
        );
    }

    #[test]
    fn value_count_is_bounded() {
        let limits = JsonLimits::PROTOCOL.with_max_values(4);
        assert!(parse(b"[1,2,3]", &limits).is_ok());
        assert_eq!(
            parse(b"[1,2,3,4]", &limits),
            Err(JsonError::TooManyValues { max: 4 })
        );
        assert_eq!(
            parse(br#"{"a":{"b":{"c":{"d":1}}}}"#, &limits),
            Err(JsonError::TooManyValues { max: 4 })
        );
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
