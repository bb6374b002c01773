//! A summary of one schema document: its target namespace and its global element names.
//!
//! This is all the pack store needs to recognise a pack and to find the file declaring a
//! message root. It is not schema processing: includes are not followed and nothing is
//! compiled (that is the XSD engine's job, `crate::xsd`).

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

/// Deepest nesting the summary scan follows. Schema documents nest far less; a deeper file is
/// refused rather than walked.
const MAX_DEPTH: usize = 512;

/// Why a schema document could not be summarised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// Not well-formed XML (position is a byte offset).
    #[error("not well-formed XML at byte {offset}")]
    Malformed {
        /// Byte offset of the error.
        offset: u64,
    },
    /// Schema documents must not carry a DOCTYPE (no DTDs, no entities).
    #[error("DOCTYPE is not allowed in schema documents")]
    Doctype,
    /// The document element is not `xs:schema`.
    #[error("document element is not an XML Schema <schema>")]
    NotSchema,
    /// Nesting deeper than the scan follows.
    #[error("nesting deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// Target namespace and global elements of one schema document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XsdSummary {
    /// `targetNamespace` of the `schema` element (empty when absent).
    pub target_namespace: String,
    /// Names of the top-level `element` declarations, in document order.
    pub global_elements: Vec<String>,
}

/// Summarises a schema document.
pub fn summarise(bytes: &[u8]) -> Result<XsdSummary, SummaryError> {
    #[expect(
        clippy::disallowed_methods,
        reason = "summary scan of operator-installed schema files; moves to xml::BoundedReader \
                  once it lands (branch core)"
    )]
    let mut reader = quick_xml::Reader::from_reader(bytes);
    let mut summary = XsdSummary::default();
    let mut depth = 0usize;
    let mut seen_schema = false;
    loop {
        let event = reader.read_event().map_err(|_| SummaryError::Malformed {
            offset: reader.error_position(),
        })?;
        match event {
            Event::DocType(_) => return Err(SummaryError::Doctype),
            Event::Start(e) => {
                visit(&e, depth, &mut seen_schema, &mut summary)?;
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(SummaryError::TooDeep);
                }
            }
            Event::Empty(e) => visit(&e, depth, &mut seen_schema, &mut summary)?,
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Eof => break,
            _ => {}
        }
    }
    if seen_schema {
        Ok(summary)
    } else {
        Err(SummaryError::NotSchema)
    }
}

fn visit(
    e: &BytesStart<'_>,
    depth: usize,
    seen_schema: &mut bool,
    summary: &mut XsdSummary,
) -> Result<(), SummaryError> {
    let local = e.local_name();
    match depth {
        0 => {
            if local.as_ref() != "schema" {
                return Err(SummaryError::NotSchema);
            }
            *seen_schema = true;
            if let Some(ns) = attribute(e, "targetNamespace") {
                summary.target_namespace = ns;
            }
        }
        1 if local.as_ref() == "element" => {
            if let Some(name) = attribute(e, "name") {
                summary.global_elements.push(name);
            }
        }
        _ => {}
    }
    Ok(())
}

fn attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| a.normalized_value(XmlVersion::Implicit1_0).ok())
        .map(|v| v.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_namespace_and_top_level_elements_only() {
        let xsd = br#"<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
  <xs:element name="a.nachricht.0100"><xs:complexType><xs:sequence>
    <xs:element name="inner"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="b"/>
  <xs:complexType name="T"/>
</xs:schema>"#;
        let s = summarise(xsd).expect("summary");
        assert_eq!(s.target_namespace, "urn:t");
        assert_eq!(s.global_elements, ["a.nachricht.0100", "b"]);
    }

    #[test]
    fn refuses_doctype_and_non_schemas() {
        let dt = b"<!DOCTYPE x [<!ENTITY e 'x'>]><xs:schema xmlns:xs='x'/>";
        assert_eq!(summarise(dt), Err(SummaryError::Doctype));
        assert_eq!(summarise(b"<root/>"), Err(SummaryError::NotSchema));
        assert!(matches!(
            summarise(b"<xs:schema"),
            Err(SummaryError::Malformed { .. })
        ));
    }
}
