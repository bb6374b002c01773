//! A reader for OASIS genericode 1.0 code lists as XÖV publishes them (XRepository).
//!
//! What varies between the files of one standard (XBau 2.6 ships 112): four generations of
//! XÖV metadata mark the code column (`xoev-cl:xoev-code` of `…/genericode/1_0` and
//! `…/xoev-gc-codelist-1_0`, `xoev-cl-2:xoev-code`, `xoev-cl-3:empfohleneCodeSpalte`,
//! `xoev-cl-4:recommendedKeyColumn`), some lists mark none (the first `Key` is then the code
//! column, else the first column), column names differ (`SCHLUESSEL`, `code`, …), and a few
//! files are ISO-8859-1 (`bundesland`). The reader is the hardened XML reader with its limits;
//! a Latin-1 file is transcoded first (its code points are the bytes).

use std::collections::HashMap;

use crate::config::XmlLimits;
use crate::xml::{BoundedReader, Event};

/// The annotations (local names) that mark a `Key` as the code column, in every generation of
/// XÖV genericode metadata.
const CODE_KEY_MARKERS: [&str; 3] = ["xoev-code", "recommendedKeyColumn", "empfohleneCodeSpalte"];
/// The annotation (local name) that marks a `Column` as the name of each code.
const CODE_NAME_MARKER: &str = "xoev-codename";

/// One code list: identification and the set of codes of its key column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeList {
    /// `Identification/CanonicalUri` (what instances send as `listURI`).
    pub uri: String,
    /// `Identification/Version` (what instances send as `listVersionID`).
    pub version: String,
    /// `Identification/ShortName`.
    pub short_name: String,
    /// Id of the column holding the codes.
    pub key_column: String,
    /// The codes (whitespace-collapsed, as `xs:token` compares them), each with its name:
    /// the value of the column marked `xoev-codename`, else of the first column that is not
    /// the code column.
    codes: HashMap<Box<str>, Option<Box<str>>>,
}

impl CodeList {
    /// Whether `code` (already whitespace-collapsed) is in the list.
    #[must_use]
    pub fn contains(&self, code: &str) -> bool {
        self.codes.contains_key(code)
    }

    /// The name of a code (for readers), if the list has a name column.
    #[must_use]
    pub fn name_of(&self, code: &str) -> Option<&str> {
        self.codes.get(code)?.as_deref()
    }

    /// The codes, sorted.
    #[must_use]
    pub fn codes(&self) -> Vec<&str> {
        let mut c: Vec<&str> = self.codes.keys().map(AsRef::as_ref).collect();
        c.sort_unstable();
        c
    }

    /// Number of codes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    /// Whether the list has no codes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

/// Why a file is not a usable code list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenericodeError {
    /// Not well-formed, over a reader limit, or in an encoding other than UTF-8/ISO-8859-1.
    #[error("not readable XML: {0}")]
    Xml(String),
    /// The root is not `CodeList`.
    #[error("not a genericode code list (root element {0:?})")]
    NotCodeList(String),
    /// A required part is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// More rows than allowed.
    #[error("more than {0} rows")]
    TooManyRows(usize),
}

/// Reads a genericode file.
///
/// # Errors
/// See [`GenericodeError`]; `max_rows` bounds the rows kept.
pub fn read(bytes: &[u8], xml: &XmlLimits, max_rows: usize) -> Result<CodeList, GenericodeError> {
    let transcoded;
    let bytes = match latin1_to_utf8(bytes) {
        Some(t) => {
            transcoded = t;
            transcoded.as_bytes()
        }
        None => bytes,
    };
    let mut r = BoundedReader::from_bytes(bytes, xml);
    let mut stack: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut ident: HashMap<&'static str, String> = HashMap::new();
    let mut columns: Vec<String> = Vec::new();
    // Keys: (column ref, marked as the code column).
    let mut keys: Vec<(Option<String>, bool)> = Vec::new();
    // Rows: values by column id.
    let mut rows: Vec<Vec<(String, String)>> = Vec::new();
    let mut row: Vec<(String, String)> = Vec::new();
    let mut value_column: Option<String> = None;
    let mut name_column: Option<String> = None;
    loop {
        let event = r
            .next_event()
            .map_err(|e| GenericodeError::Xml(e.to_string()))?;
        match event {
            Event::Start(tag) => {
                let name = tag.name();
                if stack.is_empty() && name.local != "CodeList" {
                    return Err(GenericodeError::NotCodeList(
                        name.local.chars().take(60).collect(),
                    ));
                }
                let attr = |n: &str| {
                    tag.attributes()
                        .find(|a| a.name.namespace.is_empty() && a.name.local == n)
                        .map(|a| a.value.to_owned())
                };
                let parent = stack.last().map(String::as_str);
                match (parent, name.local) {
                    (Some("ColumnSet"), "Column") => {
                        columns.push(attr("Id").unwrap_or_default());
                    }
                    (Some("ColumnSet"), "Key") => keys.push((None, false)),
                    (Some("Key"), "ColumnRef") => {
                        if let Some(k) = keys.last_mut() {
                            k.0 = attr("Ref");
                        }
                    }
                    (Some("AppInfo"), marker) if CODE_KEY_MARKERS.contains(&marker) => {
                        let in_key = stack.iter().rev().nth(2).is_some_and(|s| s == "Key");
                        if in_key && let Some(k) = keys.last_mut() {
                            k.1 = true;
                        }
                    }
                    (Some("AppInfo"), CODE_NAME_MARKER) => {
                        let in_column = stack.iter().rev().nth(2).is_some_and(|s| s == "Column");
                        if in_column && name_column.is_none() {
                            name_column = columns.last().cloned();
                        }
                    }
                    (Some("SimpleCodeList"), "Row") => row.clear(),
                    (Some("Row"), "Value") => {
                        // Without ColumnRef a value belongs to the column after the previous
                        // value's (genericode 1.0, 3.6).
                        let next = match row.last() {
                            None => columns.first().cloned(),
                            Some((prev, _)) => columns
                                .iter()
                                .position(|c| c == prev)
                                .and_then(|i| columns.get(i + 1).cloned()),
                        };
                        value_column = attr("ColumnRef").or(next);
                    }
                    _ => {}
                }
                text.clear();
                stack.push(name.local.to_owned());
            }
            Event::Text(t) => text.push_str(t),
            Event::End => {
                let Some(local) = stack.pop() else { break };
                let parent = stack.last().map(String::as_str);
                match (parent, local.as_str()) {
                    (
                        Some("Identification"),
                        field @ ("ShortName" | "Version" | "CanonicalUri"),
                    ) => {
                        let key = match field {
                            "ShortName" => "ShortName",
                            "Version" => "Version",
                            _ => "CanonicalUri",
                        };
                        ident.insert(key, collapse(&text));
                    }
                    (Some("Value"), "SimpleValue") => {
                        if let Some(c) = &value_column {
                            row.push((c.clone(), collapse(&text)));
                        }
                    }
                    (Some("SimpleCodeList"), "Row") => {
                        if rows.len() == max_rows {
                            return Err(GenericodeError::TooManyRows(max_rows));
                        }
                        rows.push(std::mem::take(&mut row));
                    }
                    _ => {}
                }
                text.clear();
                if stack.is_empty() {
                    break;
                }
            }
            Event::Eof => break,
        }
    }
    let key_column = keys
        .iter()
        .find(|(_, marked)| *marked)
        .or_else(|| keys.first())
        .and_then(|(c, _)| c.clone())
        .or_else(|| columns.first().cloned())
        .ok_or(GenericodeError::Missing("a column"))?;
    let name_column = name_column
        .filter(|c| *c != key_column)
        .or_else(|| columns.iter().find(|c| **c != key_column).cloned());
    let mut codes = HashMap::with_capacity(rows.len());
    for row in rows {
        let name = name_column.as_ref().and_then(|n| {
            row.iter()
                .find(|(c, v)| c == n && !v.is_empty())
                .map(|(_, v)| v.clone().into_boxed_str())
        });
        if let Some((_, code)) = row.into_iter().find(|(c, _)| *c == key_column) {
            codes.insert(code.into_boxed_str(), name);
        }
    }
    let mut take = |k: &'static str, what: &'static str| {
        ident
            .remove(k)
            .filter(|v| !v.is_empty())
            .ok_or(GenericodeError::Missing(what))
    };
    Ok(CodeList {
        uri: take("CanonicalUri", "Identification/CanonicalUri")?,
        version: take("Version", "Identification/Version")?,
        short_name: take("ShortName", "Identification/ShortName").unwrap_or_default(),
        key_column,
        codes,
    })
}

/// Whitespace collapsed as `xs:token` does.
fn collapse(s: &str) -> String {
    s.split_ascii_whitespace().collect::<Vec<_>>().join(" ")
}

/// A document declared as ISO-8859-1 (or `latin1`) transcoded to UTF-8, its declaration
/// naming UTF-8; `None` for every other document (the reader then judges its encoding).
fn latin1_to_utf8(bytes: &[u8]) -> Option<String> {
    let head = bytes.get(..bytes.len().min(200))?;
    if !head.starts_with(b"<?xml") {
        return None;
    }
    let end = head.windows(2).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&head[..end]).ok()?;
    let label = ["ISO-8859-1", "ISO8859-1", "latin1", "ISO_8859-1"]
        .into_iter()
        .find(|l| decl.to_ascii_lowercase().contains(&l.to_ascii_lowercase()))?;
    let at = decl
        .to_ascii_lowercase()
        .find(&label.to_ascii_lowercase())?;
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    out.push_str(&decl[..at]);
    out.push_str("UTF-8");
    out.push_str(&decl[at + label.len()..]);
    // ISO-8859-1 maps every byte to the code point of the same number.
    out.extend(bytes[end..].iter().map(|&b| char::from(b)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GEN4: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<gc:CodeList xmlns:gc="http://docs.oasis-open.org/codelist/ns/genericode/1.0/" xmlns:xoev-cl-4="http://xoev.de/schemata/genericode/4">
  <Identification><ShortName>t</ShortName><Version>2.0</Version><CanonicalUri>urn:t</CanonicalUri></Identification>
  <ColumnSet>
    <Column Id="name" Use="required"/><Column Id="code" Use="required"/>
    <Key Id="nameKey"><ColumnRef Ref="name"/></Key>
    <Key Id="codeKey"><Annotation><AppInfo><xoev-cl-4:recommendedKeyColumn/></AppInfo></Annotation><ColumnRef Ref="code"/></Key>
  </ColumnSet>
  <SimpleCodeList>
    <Row><Value ColumnRef="name"><SimpleValue>Eins</SimpleValue></Value><Value ColumnRef="code"><SimpleValue> 01 </SimpleValue></Value></Row>
    <Row><Value><SimpleValue>Zwei</SimpleValue></Value><Value><SimpleValue>02</SimpleValue></Value></Row>
  </SimpleCodeList>
</gc:CodeList>"#;

    #[test]
    fn the_marked_key_is_the_code_column_and_values_without_column_ref_are_positional() {
        let list = read(GEN4.as_bytes(), &XmlLimits::default(), 100).expect("reads");
        assert_eq!((list.uri.as_str(), list.version.as_str()), ("urn:t", "2.0"));
        assert_eq!(list.key_column, "code");
        assert!(list.contains("01") && list.contains("02"));
        assert!(!list.contains("Eins") && !list.contains(" 01 "));
        assert_eq!(list.len(), 2);
        // Without a name marker the first other column names the codes.
        assert_eq!(list.name_of("01"), Some("Eins"));
        assert_eq!(list.name_of("02"), Some("Zwei"));
        assert_eq!(list.name_of("03"), None);
    }

    #[test]
    fn the_column_marked_as_code_name_names_the_codes() {
        let marked = GEN4
            .replace(
                r#"<Column Id="code" Use="required"/>"#,
                r#"<Column Id="code" Use="required"/><Column Id="lang"><Annotation><AppInfo><xoev-cl-4:xoev-codename/></AppInfo></Annotation></Column>"#,
            )
            .replace(
                "<SimpleValue> 01 </SimpleValue></Value>",
                r#"<SimpleValue> 01 </SimpleValue></Value><Value ColumnRef="lang"><SimpleValue>Erster Eintrag</SimpleValue></Value>"#,
            );
        let list = read(marked.as_bytes(), &XmlLimits::default(), 100).expect("reads");
        assert_eq!(list.name_of("01"), Some("Erster Eintrag"));
        assert_eq!(list.name_of("02"), None);
    }

    #[test]
    fn without_a_marker_the_first_key_wins_and_latin1_is_transcoded() {
        let text = GEN4
            .replace("UTF-8", "ISO-8859-1")
            .replace(
                "<Annotation><AppInfo><xoev-cl-4:recommendedKeyColumn/></AppInfo></Annotation>",
                "",
            )
            .replace("Eins", "Schleswig-Holstein \u{fc}");
        // The same text as ISO-8859-1 bytes.
        let latin1: Vec<u8> = text
            .chars()
            .map(|c| u8::try_from(u32::from(c)).expect("latin1"))
            .collect();
        assert!(std::str::from_utf8(&latin1).is_err());
        let list = read(&latin1, &XmlLimits::default(), 100).expect("reads");
        assert_eq!(list.key_column, "name");
        assert!(list.contains("Schleswig-Holstein \u{fc}"));
    }

    #[test]
    fn hostile_or_foreign_files_are_refused_precisely() {
        let x = XmlLimits::default();
        assert!(matches!(
            read(b"<r/>", &x, 10),
            Err(GenericodeError::NotCodeList(_))
        ));
        assert!(matches!(
            read(b"<CodeList>", &x, 10),
            Err(GenericodeError::Xml(_))
        ));
        assert_eq!(
            read(GEN4.as_bytes(), &x, 1),
            Err(GenericodeError::TooManyRows(1))
        );
        let no_uri = GEN4.replace("<CanonicalUri>urn:t</CanonicalUri>", "");
        assert_eq!(
            read(no_uri.as_bytes(), &x, 10),
            Err(GenericodeError::Missing("Identification/CanonicalUri"))
        );
        let doctype = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><!DOCTYPE a [<!ENTITY e \"x\">]><CodeList/>";
        assert!(matches!(
            read(doctype.as_bytes(), &x, 10),
            Err(GenericodeError::Xml(_))
        ));
        let utf16 = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><CodeList/>";
        assert!(matches!(
            read(utf16.as_bytes(), &x, 10),
            Err(GenericodeError::Xml(_))
        ));
    }
}
