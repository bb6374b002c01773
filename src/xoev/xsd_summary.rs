//! A summary of one schema document: its target namespace and its global element names.
//!
//! This is all the pack store needs to recognise a pack and to find the file declaring a
//! message root. It is not schema processing: includes are not followed and nothing is
//! compiled (that is the XSD engine's job, `crate::xsd`). The document is read with the
//! hardened [`BoundedReader`], so the usual XML limits and the DOCTYPE ban apply.

use crate::config::XmlLimits;
use crate::xml::{BoundedReader, Event, XmlError};

/// The XML Schema namespace.
const XS: &str = "http://www.w3.org/2001/XMLSchema";

/// Why a schema document could not be summarised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// Not acceptable XML (malformed, DOCTYPE, over a limit); carries line:column.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// The document element is not `xs:schema`.
    #[error("document element is not an XML Schema <schema>")]
    NotSchema,
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
pub fn summarise(bytes: &[u8], limits: &XmlLimits) -> Result<XsdSummary, SummaryError> {
    let mut reader = BoundedReader::from_bytes(bytes, limits);
    let mut summary = XsdSummary::default();
    let mut depth = 0usize;
    loop {
        match reader.next_event()? {
            Event::Start(tag) => {
                let name = tag.name();
                let attr = |key: &str| {
                    tag.attributes()
                        .find(|a| a.name.namespace.is_empty() && a.name.local == key)
                        .map(|a| a.value.trim().to_owned())
                };
                match depth {
                    0 if name.namespace == XS && name.local == "schema" => {
                        summary.target_namespace = attr("targetNamespace").unwrap_or_default();
                    }
                    0 => return Err(SummaryError::NotSchema),
                    1 if name.namespace == XS && name.local == "element" => {
                        summary.global_elements.extend(attr("name"));
                    }
                    _ => {}
                }
                depth += 1;
            }
            Event::End => depth = depth.saturating_sub(1),
            Event::Text(_) => {}
            Event::Eof => break,
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> XmlLimits {
        XmlLimits::default()
    }

    #[test]
    fn finds_namespace_and_top_level_elements_only() {
        let xsd = br#"<?xml version="1.0"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t">
  <xs:element name="a.nachricht.0100"><xs:complexType><xs:sequence>
    <xs:element name="inner"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="b"/>
  <xs:complexType name="T"/>
  <other:element xmlns:other="urn:not-xs" name="c"/>
</xs:schema>"#;
        let s = summarise(xsd, &limits()).expect("summary");
        assert_eq!(s.target_namespace, "urn:t");
        assert_eq!(s.global_elements, ["a.nachricht.0100", "b"]);
    }

    #[test]
    fn refuses_doctype_and_non_schemas() {
        let dt = b"<!DOCTYPE x [<!ENTITY e 'x'>]><xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'/>";
        assert!(matches!(
            summarise(dt, &limits()),
            Err(SummaryError::Xml(_))
        ));
        assert_eq!(
            summarise(b"<root/>", &limits()),
            Err(SummaryError::NotSchema)
        );
        assert_eq!(
            summarise(b"<schema xmlns='urn:not-xs'/>", &limits()),
            Err(SummaryError::NotSchema)
        );
        assert!(matches!(
            summarise(b"<xs:schema", &limits()),
            Err(SummaryError::Xml(_))
        ));
    }
}
