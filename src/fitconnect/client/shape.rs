//! What a delivery-service answer of the wrong shape is called in errors: where and what kind,
//! never a value from the body (the answers carry case data, and errors reach logs).
//!
//! `serde_json`'s messages quote values: `invalid type: string "…", expected …`, `integer `5``,
//! `unknown variant `…``, and the messages of custom `Deserialize` impls. Field names stay (the
//! client's own, or the answer's keys: where, not what); the expected form comes from the
//! client's types.

/// A `serde_json` error of an answer, without the values it quotes.
pub(super) fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let message = e.to_string();
    let at = format!(" at line {} column {}", e.line(), e.column());
    let message = message.strip_suffix(&at).unwrap_or(&message);
    let what = match e.classify() {
        // Syntax and end-of-input messages name the token class, not the text.
        Category::Syntax | Category::Eof | Category::Io => message.to_owned(),
        Category::Data => data(message),
    };
    if e.line() == 0 {
        what
    } else {
        format!("{what}{at}")
    }
}

/// A data error (the JSON is well-formed, a value is not what the type expects).
fn data(message: &str) -> String {
    // The expected form is the last ", expected …": a quoted value before it may hold the
    // same words, the client's own description after it cannot.
    let expected = message.rfind(", expected ").map_or("", |i| &message[i..]);
    for kind in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(kind) {
            // `string "…"`, `integer `5``, `map`: the word before the value.
            let unexpected = rest
                .split([' ', ','])
                .next()
                .filter(|w| w.chars().all(|c| c.is_ascii_alphabetic()))
                .unwrap_or("value");
            return format!("{kind}{unexpected}{expected}");
        }
    }
    if message.starts_with("unknown variant ") {
        return format!("unknown variant{expected}");
    }
    let named = ["missing field `", "duplicate field `", "unknown field `"];
    if named.iter().any(|p| message.starts_with(p)) || message.starts_with("invalid length ") {
        // A field name (or a count) and the expected form: no value.
        return message.to_owned();
    }
    "a value does not have the documented form".to_owned()
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Page {
        submissions: Vec<Item>,
        total_count: u64,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Item {
        state: State,
        #[serde(deserialize_with = "uuid")]
        id: String,
    }

    /// A custom impl whose message quotes the value, as custom impls may.
    fn uuid<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() == 36 {
            Ok(s)
        } else {
            Err(serde::de::Error::custom(format!("not a UUID: {s}")))
        }
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum State {
        Submitted,
    }

    fn shown(json: &str) -> String {
        let e = serde_json::from_str::<Page>(json).expect_err("refused");
        describe(&e)
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_kind_not_quoted() {
        let m = shown(r#"{"submissions":"Max Mustermann, Hauptstr. 1","totalCount":1}"#);
        assert_eq!(
            m,
            "invalid type: string, expected a sequence at line 1 column 44"
        );
        let m = shown(r#"{"submissions":[],"totalCount":-7342}"#);
        assert!(m.starts_with("invalid value: integer, expected u64"), "{m}");
        assert!(!m.contains("7342"), "{m}");
        let m = shown(r#"{"submissions":[],"totalCount":"4711, expected x"}"#);
        assert!(!m.contains("4711"), "{m}");
    }

    #[test]
    fn unknown_variants_and_custom_errors_do_not_quote_the_value() {
        let m = shown(
            r#"{"submissions":[{"state":"Mustermann","id":"6d1f0a3e-3a76-4c83-9b6a-3f5d2f0f9e11"}],"totalCount":1}"#,
        );
        assert!(m.starts_with("unknown variant, expected"), "{m}");
        assert!(!m.contains("Mustermann"), "{m}");
        let m = shown(
            r#"{"submissions":[{"state":"submitted","id":"Erika-Musterfrau"}],"totalCount":1}"#,
        );
        assert!(
            m.starts_with("a value does not have the documented form"),
            "{m}"
        );
        assert!(!m.contains("Erika"), "{m}");
    }

    #[test]
    fn field_names_and_syntax_errors_stay_as_serde_says_them() {
        assert_eq!(
            shown(r#"{"subm]ssions":[],"totalCount":1}"#),
            "missing field `submissions` at line 1 column 33"
        );
        let m = shown(r#"{"submissions":[],"totalCount":1,"totalCount":2}"#);
        assert!(m.starts_with("duplicate field `totalCount`"), "{m}");
        assert_eq!(
            shown(r#"{"submissions":[] "totalCount":1}"#),
            "expected `,` or `}` at line 1 column 19"
        );
    }
}
