//! The case-worker view of a message: one self-contained German HTML page, generated from the
//! schema (never written per message), so it works for every message of every pack.
//!
//! The document is validated and, in the same pass, collected into a small tree
//! ([`Observer`](crate::xsd::Observer)); only a valid document is rendered. What the page shows:
//! - headings and labels from the first `xs:documentation` of the element declaration
//!   ([`label_and_description`]); the humanised element name where there is none;
//! - elements with element content as nested sections (`h2`…`h6`, deeper ones stay `h6`),
//!   the values of a section as a `dl`, in document order;
//! - code values (types derived from `xoev-code:Code`) as "Name (code)": the name the message
//!   carries, else the enumeration's documentation (XÖV Typ 1), else the code list's name
//!   column (installed genericode lists), else the bare code;
//! - dates `05.12.2026`, date-times `05.12.2026, 10:30 Uhr`, decimals `1.234,50`, booleans
//!   `ja`/`nein` ([`mod@format`]);
//! - `base64Binary` content never dumped: its size, and every such attachment listed at the
//!   end with the file name and type found beside it.
//!
//! JSON Fachdaten (FIM JSON Schema packs) get the same page from their schemas' titles and
//! descriptions ([`json_document_html`]).
//!
//! The page has no scripts and no external resources: inline CSS (with `@media print`),
//! `lang="de"`, one `h1`, semantic `section`/`dl`/`table`, XHTML-compatible markup.

pub mod format;
mod html;
mod json;
mod tree;

use crate::config::Limits;
use crate::xsd::Grammar;
use crate::xsd::validator::{ValidationOptions, ValidationReport, validate_with};

use super::codelist::CodeLists;

pub use json::json_document_html;
pub use tree::{MAX_NODES, label_and_description};

/// The Content-Security-Policy source of the page's one inline style (`sha256-<base64>`), so a
/// server can serve the page with `style-src` allowing exactly that style and nothing else.
#[must_use]
pub fn style_hash() -> String {
    use base64::Engine as _;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, html::CSS.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    )
}

/// What the page says about the message besides its content.
#[derive(Debug, Clone, Default)]
pub struct RenderContext<'a> {
    /// `XBau 2.6 baugenehmigung.antrag.0200`, shown under the heading.
    pub message: &'a str,
    /// The pack's code lists (may be empty).
    pub codelists: Option<&'a CodeLists>,
}

/// Why there is no page.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The document is not valid against the schema (its report names the errors).
    #[error("the document is not valid")]
    Invalid(ValidationReport),
    /// More elements and attributes than a page shows ([`MAX_NODES`]).
    #[error("more than {0} elements and attributes: too large for the case-worker view")]
    TooLarge(usize),
}

/// Validates `document` against `grammar` and renders it as a self-contained HTML page; no
/// page for an invalid document (the report) or one too large to show.
pub fn document_html(
    grammar: &Grammar,
    document: &[u8],
    limits: &Limits,
    context: &RenderContext<'_>,
) -> Result<String, RenderError> {
    render_with(grammar, document, limits, context, MAX_NODES)
}

fn render_with(
    grammar: &Grammar,
    document: &[u8],
    limits: &Limits,
    context: &RenderContext<'_>,
    max_nodes: usize,
) -> Result<String, RenderError> {
    let mut collector = tree::Collector::new(context.codelists, max_nodes);
    let options = ValidationOptions::from_limits(limits);
    let report = validate_with(grammar, document, limits, &options, &mut collector);
    if !report.is_valid() {
        return Err(RenderError::Invalid(report));
    }
    let root = collector.finish().ok_or(RenderError::TooLarge(max_nodes))?;
    Ok(html::page(&root, context.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
        targetNamespace="urn:t" xmlns="urn:t" elementFormDefault="qualified">
      <xs:element name="antrag">
        <xs:annotation><xs:documentation>Der   Antrag
          auf Erteilung.</xs:documentation><xs:documentation>Zweiter Text</xs:documentation></xs:annotation>
        <xs:complexType><xs:sequence>
          <xs:element name="eingang" type="xs:date">
            <xs:annotation><xs:documentation>Tag des Eingangs.</xs:documentation></xs:annotation>
          </xs:element>
          <xs:element name="kosten" type="xs:decimal"/>
          <xs:element name="eilig" type="xs:boolean"/>
          <xs:element name="art" type="Art"/>
          <xs:element name="bemerkung" type="xs:string"/>
          <xs:element name="anlage">
            <xs:complexType><xs:sequence>
              <xs:element name="dateiname" type="xs:string"/>
              <xs:element name="mimeType" type="xs:string"/>
              <xs:element name="inhalt" type="xs:base64Binary"/>
            </xs:sequence></xs:complexType>
          </xs:element>
        </xs:sequence>
        <xs:attribute name="version" type="xs:string">
          <xs:annotation><xs:documentation>Version des Standards</xs:documentation></xs:annotation>
        </xs:attribute>
        </xs:complexType>
      </xs:element>
      <xs:simpleType name="Art">
        <xs:annotation><xs:documentation>Die Art des Vorhabens.</xs:documentation></xs:annotation>
        <xs:restriction base="xs:token">
          <xs:enumeration value="1"><xs:annotation><xs:appinfo><beschreibung>Neubau</beschreibung></xs:appinfo></xs:annotation></xs:enumeration>
          <xs:enumeration value="2"><xs:annotation><xs:appinfo>x</xs:appinfo><xs:documentation>Umbau</xs:documentation></xs:annotation></xs:enumeration>
        </xs:restriction>
      </xs:simpleType>
    </xs:schema>"#;

    fn grammar() -> Grammar {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("t.xsd");
        std::fs::write(&path, XSD).expect("write");
        crate::xsd::compile_file(&path, &Limits::default()).expect("compiles")
    }

    #[test]
    fn the_grammar_keeps_the_first_documentation_collapsed() {
        let g = grammar();
        let root = g.root_element("urn:t", "antrag").expect("root");
        assert_eq!(g.element_doc(root), Some("Der Antrag auf Erteilung."));
        assert!(g.type_doc(g.element(root).type_id).is_none());
        let q = g.names().lookup(0, "version").expect("attribute");
        assert_eq!(g.attribute_doc(q), Some("Version des Standards"));
        assert!(g.docs().heap_bytes() > 0);
    }

    #[test]
    fn a_document_renders_with_labels_formats_codes_and_attachments() {
        let g = grammar();
        let doc = r#"<antrag xmlns="urn:t" version="2.6"><eingang>2026-12-05</eingang>
            <kosten>12345.5</kosten><eilig>true</eilig><art>1</art>
            <bemerkung>&lt;script&gt;alert(1)&lt;/script&gt; &amp; mehr</bemerkung>
            <anlage><dateiname>plan.pdf</dateiname><mimeType>application/pdf</mimeType>
            <inhalt>SGFsbG8=</inhalt></anlage></antrag>"#;
        let context = RenderContext {
            message: "Test 1.0 antrag",
            codelists: None,
        };
        let page = document_html(&g, doc.as_bytes(), &Limits::default(), &context).expect("valid");
        assert!(page.contains("<h1>Der Antrag auf Erteilung</h1>"), "{page}");
        assert!(
            page.contains("<dt>Tag des Eingangs</dt><dd>05.12.2026"),
            "{page}"
        );
        assert!(page.contains("<dd>12.345,5"), "{page}");
        assert!(page.contains("<dd>ja"), "{page}");
        assert!(
            page.contains("<dt>Version des Standards</dt><dd>2.6"),
            "{page}"
        );
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; mehr"));
        assert!(!page.contains("<script"));
        assert!(page.contains("<td>plan.pdf</td><td>application/pdf</td><td>5 Byte</td>"));
        assert!(!page.contains("SGFsbG8="), "never dumped");
        // An enumerated value is named by its documentation (here the appinfo).
        assert!(page.contains("<dd>Neubau (1)"), "{page}");
    }

    #[test]
    fn enumeration_values_are_named_by_documentation_else_appinfo() {
        let g = grammar();
        let q = g
            .names()
            .lookup(g.names().ns_id("urn:t"), "Art")
            .expect("type name");
        let t = *g.global_types.get(&q).expect("type");
        assert_eq!(g.enumeration_doc(t, "1"), Some("Neubau"));
        assert_eq!(g.enumeration_doc(t, "2"), Some("Umbau"));
        assert_eq!(g.enumeration_doc(t, "3"), None);
        assert_eq!(g.type_doc(t), Some("Die Art des Vorhabens."));
    }

    #[test]
    fn a_document_with_more_elements_than_a_page_shows_is_refused() {
        let g = grammar();
        let doc = r#"<antrag xmlns="urn:t" version="2.6"><eingang>2026-12-05</eingang>
            <kosten>1</kosten><eilig>0</eilig><art>2</art><bemerkung/>
            <anlage><dateiname>a</dateiname><mimeType>b</mimeType><inhalt/></anlage></antrag>"#;
        let context = RenderContext::default();
        // 10 elements and 1 attribute.
        assert!(render_with(&g, doc.as_bytes(), &Limits::default(), &context, 11).is_ok());
        let over = render_with(&g, doc.as_bytes(), &Limits::default(), &context, 10);
        assert!(matches!(over, Err(RenderError::TooLarge(10))), "{over:?}");
    }

    #[test]
    fn an_invalid_document_gives_the_report_and_no_page() {
        let g = grammar();
        let doc = r#"<antrag xmlns="urn:t"><eingang>gestern</eingang></antrag>"#;
        let report = document_html(
            &g,
            doc.as_bytes(),
            &Limits::default(),
            &RenderContext::default(),
        )
        .expect_err("invalid");
        assert!(matches!(report, RenderError::Invalid(r) if !r.errors.is_empty()));
        let cut = r#"<antrag xmlns="urn:t"><eingang>"#;
        assert!(
            document_html(
                &g,
                cut.as_bytes(),
                &Limits::default(),
                &RenderContext::default()
            )
            .is_err()
        );
    }
}
