//! One schema document read into a small arena of XSD elements: the raw material for assembly.
//!
//! QName-valued attributes (`type`, `base`, `ref`, `substitutionGroup`, `itemType`,
//! `memberTypes`, `refer`) are resolved here, while the namespace bindings are in scope, and
//! stored in Clark notation `{uri}local`. Chameleon includes are applied at the same time: a
//! reference to "no namespace" in a document without target namespace, included into a
//! namespaced one, means the includer's namespace. Annotations and foreign elements are dropped.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::config::XmlLimits;
use crate::xml::{BoundedReader, Event};

use super::datatypes::whitespace::trim;
use super::error::SchemaError;
use crate::xml::chars::{is_name_char, is_whitespace};

/// The XML Schema namespace.
pub(crate) const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";
/// Schema-for-schemas rules for a child of xs:annotation in the XML Schema namespace: only
/// xs:appinfo and xs:documentation, their `source` an xs:anyURI, and xml:lang on the latter
/// an xs:language.
fn annotation_child_error(tag: &crate::xml::StartTag<'_>) -> Option<String> {
    let local = tag.name().local;
    if !matches!(local, "appinfo" | "documentation") {
        return Some(format!(
            "xs:{local} is not allowed in xs:annotation (only xs:appinfo and xs:documentation)"
        ));
    }
    // Only `source` without namespace; other attributes must be in a namespace other than
    // the XML Schema namespace (`anyAttribute namespace="##other"`).
    if let Some(a) = tag.attributes().find(|a| {
        (a.name.namespace.is_empty() && a.name.local != "source") || a.name.namespace == XS_NS
    }) {
        let name = if a.name.namespace.is_empty() {
            a.name.local.to_owned()
        } else {
            format!("{{{}}}{}", a.name.namespace, a.name.local)
        };
        return Some(format!(
            "attribute '{name}' is not allowed on xs:{local} (only source, and attributes of \
             namespaces other than XML Schema)"
        ));
    }
    if let Some(source) = tag
        .attributes()
        .find(|a| a.name.namespace.is_empty() && a.name.local == "source")
        .map(|a| trim(a.value))
        && !super::datatypes::uri::is_any_uri(source)
    {
        return Some(format!(
            "xs:{local}/@source: '{source}' is not a valid anyURI"
        ));
    }
    let lang = tag
        .attributes()
        .find(|a| a.name.namespace == XML_NS && a.name.local == "lang")?;
    let value = trim(lang.value);
    (local == "documentation" && !super::datatypes::names::is_language(value))
        .then(|| "xs:documentation/@xml:lang is not a valid xs:language".to_owned())
}

/// The XML namespace (bound to `xml` without declaration).
pub(crate) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// One XSD element of a schema document.
#[derive(Debug)]
pub(crate) struct SNode {
    /// Local name in the XSD namespace (`element`, `complexType`, …).
    pub kind: Box<str>,
    /// Unqualified attributes; QName-valued ones in Clark notation.
    pub attrs: Vec<(Box<str>, Box<str>)>,
    /// Child XSD elements (indices into [`SchemaDoc::nodes`]).
    pub children: Vec<u32>,
    /// Where the element starts.
    pub line: u64,
    /// Column where the element starts.
    pub column: u64,
    /// Bindings of the prefixes used in `value`, `default`, `fixed` and `xpath` attributes.
    pub bindings: Vec<(Box<str>, Box<str>)>,
    /// The text of the first `xs:documentation` of its `xs:annotation` (whitespace
    /// collapsed, at most [`MAX_DOC_CHARS`] characters); for an `xs:enumeration` without
    /// one, the text of its first `xs:appinfo` (XÖV code types name each code there).
    pub doc: Option<Box<str>>,
}

/// The longest documentation text kept per component, in characters (the rest is cut at a
/// word and marked with `…`): labels and descriptions, not manuals.
pub(crate) const MAX_DOC_CHARS: usize = 600;

/// What the reader is collecting inside an `xs:annotation`.
struct DocCapture {
    /// The node that owns the annotation.
    owner: u32,
    /// `xs:documentation` (true) or `xs:appinfo` (false).
    documentation: bool,
    text: String,
}

/// `text` with whitespace runs collapsed to one space, trimmed, cut to [`MAX_DOC_CHARS`].
pub(crate) fn collapse_doc(text: &str) -> Option<Box<str>> {
    let mut out = String::new();
    let mut cut = false;
    for (n, word) in text.split_whitespace().enumerate() {
        if out.chars().count() + word.chars().count() + 1 > MAX_DOC_CHARS {
            cut = true;
            break;
        }
        if n > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    if cut {
        out.push('…');
    }
    (!out.is_empty()).then(|| out.into_boxed_str())
}

impl SNode {
    /// The value of an unqualified attribute.
    pub(crate) fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, v)| &**v)
    }
}

/// A parsed schema document.
#[derive(Debug)]
pub(crate) struct SchemaDoc {
    /// The file it was read from.
    pub path: PathBuf,
    /// Effective target namespace ("" = none), after chameleon inclusion.
    pub target_ns: String,
    /// `elementFormDefault="qualified"`.
    pub element_qualified: bool,
    /// `attributeFormDefault="qualified"`.
    pub attribute_qualified: bool,
    /// `blockDefault` tokens.
    pub block_default: String,
    /// `finalDefault` tokens.
    pub final_default: String,
    /// All XSD elements; `nodes[0]` is `xs:schema`.
    pub nodes: Vec<SNode>,
    /// Elements outside the XSD namespace found outside annotations: (line, column, name).
    pub foreign: Vec<(u64, u64, String)>,
}

impl SchemaDoc {
    /// The schema element's children.
    pub(crate) fn top_level(&self) -> impl Iterator<Item = u32> + '_ {
        self.nodes[0].children.iter().copied()
    }

    /// The named components inside this document's `xs:redefine` elements: (node, name).
    pub(crate) fn redefined_components(&self) -> impl Iterator<Item = (u32, &str)> + '_ {
        self.top_level()
            .filter(|&n| &*self.nodes[n as usize].kind == "redefine")
            .flat_map(|r| self.nodes[r as usize].children.iter().copied())
            .filter_map(|n| self.nodes[n as usize].attr("name").map(|name| (n, name)))
    }

    /// Schema error at a node.
    pub(crate) fn error(&self, node: u32, message: impl Into<String>) -> SchemaError {
        let n = &self.nodes[node as usize];
        SchemaError {
            file: self.path.clone(),
            line: n.line,
            column: n.column,
            message: message.into(),
        }
    }
}

const QNAME_ATTRS: [&str; 6] = [
    "type",
    "base",
    "ref",
    "substitutionGroup",
    "itemType",
    "refer",
];
const PREFIXED_VALUE_ATTRS: [&str; 4] = ["value", "default", "fixed", "xpath"];

/// Reads the schema document at `path`. `chameleon` is the includer's namespace when the
/// document is included; it applies only if the document has no target namespace.
pub(crate) fn read_schema_doc(
    path: &Path,
    chameleon: Option<&str>,
    limits: &XmlLimits,
) -> Result<SchemaDoc, SchemaError> {
    let io_err = |message: String| SchemaError {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        message,
    };
    let file = File::open(path).map_err(|e| io_err(format!("cannot read schema document: {e}")))?;
    let mut reader = BoundedReader::new(BufReader::new(file), limits);
    let mut nodes: Vec<SNode> = Vec::new();
    let mut stack: Vec<u32> = Vec::new();
    // Depth inside a skipped subtree (annotation or foreign element); 0 = not skipping.
    let mut skip = 0usize;
    // Whether the skipped subtree is an xs:annotation (whose children are still checked).
    let mut in_annotation = false;
    let mut declared_tns: Option<String> = None;
    let mut errors: Vec<SchemaError> = Vec::new();
    let mut foreign: Vec<(u64, u64, String)> = Vec::new();
    // The node whose xs:annotation is being skipped, and the text being collected in it.
    let mut annotation_owner: Option<u32> = None;
    let mut capture: Option<DocCapture> = None;
    let mut documented: std::collections::HashSet<u32> = std::collections::HashSet::new();
    loop {
        let event = reader.next_event().map_err(|e| SchemaError {
            file: path.to_path_buf(),
            line: e.pos.line,
            column: e.pos.column,
            message: format!("schema document is not well-formed: {e}"),
        })?;
        // `xs_attr`: an attribute in the XML Schema namespace on the XSD element read.
        let (kind, raw_attrs, xs_attr) = match event {
            Event::Eof => break,
            Event::Text(t) => {
                // XSD elements have element-only content, and so has xs:annotation: character
                // data is allowed only in xs:appinfo, xs:documentation and foreign elements.
                let stray_text = !stack.is_empty()
                    && (skip == 0 || (skip == 1 && in_annotation))
                    && !is_whitespace(t);
                if let Some(c) = capture.as_mut() {
                    // Bounded: the collapsed text keeps at most MAX_DOC_CHARS anyway.
                    if c.text.len() < MAX_DOC_CHARS * 8 {
                        c.text.push_str(t);
                        c.text.push(' ');
                    }
                }
                if stray_text {
                    let kind = match (skip, stack.last()) {
                        (0, Some(&n)) => &*nodes[n as usize].kind,
                        _ => "annotation",
                    };
                    let message = format!(
                        "character data is not allowed in xs:{kind} (element-only content in \
                         the schema for schemas)"
                    );
                    let p = reader.position();
                    errors.push(SchemaError {
                        file: path.to_path_buf(),
                        line: p.line,
                        column: p.column,
                        message,
                    });
                }
                continue;
            }
            Event::End => {
                if skip > 0 {
                    skip -= 1;
                    if skip == 1
                        && let Some(c) = capture.take()
                    {
                        let node = &mut nodes[c.owner as usize];
                        let text = collapse_doc(&c.text);
                        if c.documentation && text.is_some() && documented.insert(c.owner) {
                            // The first xs:documentation; it wins over an appinfo text.
                            node.doc = text;
                        } else if !c.documentation
                            && node.doc.is_none()
                            && &*node.kind == "enumeration"
                        {
                            node.doc = text;
                        }
                    }
                } else {
                    stack.pop();
                }
                continue;
            }
            Event::Start(tag) => {
                let name = tag.name();
                if skip > 0 || name.namespace != XS_NS {
                    // Everything from the tag first: positions need the reader again.
                    let annotation_error = if skip == 1 && in_annotation && name.namespace == XS_NS
                    {
                        annotation_child_error(&tag)
                    } else {
                        None
                    };
                    let foreign_label = (skip == 0 && name.namespace != XS_NS)
                        .then(|| format!("{{{}}}{}", name.namespace, name.local));
                    if skip == 1
                        && in_annotation
                        && name.namespace == XS_NS
                        && let Some(owner) = annotation_owner
                    {
                        let documentation = name.local == "documentation";
                        capture = Some(DocCapture {
                            owner,
                            documentation,
                            text: String::new(),
                        });
                    }
                    let p = reader.position();
                    if let Some(message) = annotation_error {
                        errors.push(SchemaError {
                            file: path.to_path_buf(),
                            line: p.line,
                            column: p.column,
                            message,
                        });
                    }
                    if let Some(label) = foreign_label {
                        in_annotation = false;
                        foreign.push((p.line, p.column, label));
                    }
                    skip += 1;
                    continue;
                }
                let kind: Box<str> = name.local.into();
                // Attributes of XSD elements: unqualified ones (checked by s4s) or of a namespace
                // other than XML Schema (`openAttrs`: `anyAttribute namespace="##other"`).
                let xs_attr = tag
                    .attributes()
                    .find(|a| a.name.namespace == XS_NS)
                    .map(|a| {
                        format!(
                            "attribute '{{{XS_NS}}}{}' is not allowed on xs:{kind}: attributes in \
                             the XML Schema namespace are not allowed on schema elements",
                            a.name.local
                        )
                    });
                let attrs: Vec<(String, String)> = tag
                    .attributes()
                    .filter(|a| a.name.namespace.is_empty())
                    .map(|a| (a.name.local.to_owned(), a.value.to_owned()))
                    .collect();
                (kind, attrs, xs_attr)
            }
        };
        let pos = reader.position();
        if let Some(message) = xs_attr {
            errors.push(SchemaError {
                file: path.to_path_buf(),
                line: pos.line,
                column: pos.column,
                message,
            });
        }
        if nodes.is_empty() {
            if &*kind != "schema" {
                return Err(SchemaError {
                    file: path.to_path_buf(),
                    line: pos.line,
                    column: pos.column,
                    message: "root element is not xs:schema".into(),
                });
            }
            declared_tns = Some(
                raw_attrs
                    .iter()
                    .find(|(n, _)| n == "targetNamespace")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
            );
        }
        let own_tns = declared_tns.as_deref().unwrap_or("");
        let chameleon_ns = match chameleon {
            Some(outer) if own_tns.is_empty() && !outer.is_empty() => Some(outer),
            _ => None,
        };
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        let mut bindings: Vec<(Box<str>, Box<str>)> = Vec::new();
        for (name, value) in raw_attrs {
            let resolved = if QNAME_ATTRS.contains(&name.as_str()) {
                match resolve_clark(&reader, &value, chameleon_ns) {
                    Ok(clark) => clark,
                    Err(prefix) => {
                        errors.push(SchemaError {
                            file: path.to_path_buf(),
                            line: pos.line,
                            column: pos.column,
                            message: format!(
                                "prefix '{prefix}' in {name}=\"{value}\" is not bound"
                            ),
                        });
                        value
                    }
                }
            } else if name == "memberTypes" {
                let mut out = String::new();
                for token in value.split_ascii_whitespace() {
                    match resolve_clark(&reader, token, chameleon_ns) {
                        Ok(clark) => {
                            if !out.is_empty() {
                                out.push(' ');
                            }
                            out.push_str(&clark);
                        }
                        Err(prefix) => errors.push(SchemaError {
                            file: path.to_path_buf(),
                            line: pos.line,
                            column: pos.column,
                            message: format!("prefix '{prefix}' in memberTypes is not bound"),
                        }),
                    }
                }
                out
            } else {
                if PREFIXED_VALUE_ATTRS.contains(&name.as_str()) {
                    collect_bindings(&reader, &value, chameleon_ns, &mut bindings);
                }
                value
            };
            attrs.push((name.into_boxed_str(), resolved.into_boxed_str()));
        }
        let index =
            u32::try_from(nodes.len()).map_err(|_| io_err("schema document too large".into()))?;
        if let Some(&parent) = stack.last() {
            nodes[parent as usize].children.push(index);
        } else if !nodes.is_empty() {
            return Err(io_err("content after the schema element".into()));
        }
        let is_annotation = &*kind == "annotation";
        nodes.push(SNode {
            kind,
            attrs,
            children: Vec::new(),
            line: pos.line,
            column: pos.column,
            bindings,
            doc: None,
        });
        if is_annotation {
            // Keep the annotation itself (for ordering rules), not its content; its first
            // documentation goes to the annotated node.
            skip += 1;
            in_annotation = true;
            annotation_owner = stack.last().copied();
        } else {
            stack.push(index);
        }
    }
    if let Some(first) = errors.into_iter().next() {
        return Err(first);
    }
    let Some(schema) = nodes.first() else {
        return Err(io_err("empty schema document".into()));
    };
    let declared = schema.attr("targetNamespace").unwrap_or("").to_owned();
    let target_ns = match chameleon {
        Some(outer) if declared.is_empty() => outer.to_owned(),
        _ => declared,
    };
    let element_qualified = schema.attr("elementFormDefault") == Some("qualified");
    let attribute_qualified = schema.attr("attributeFormDefault") == Some("qualified");
    let block_default = schema.attr("blockDefault").unwrap_or("").to_owned();
    let final_default = schema.attr("finalDefault").unwrap_or("").to_owned();
    Ok(SchemaDoc {
        path: path.to_path_buf(),
        target_ns,
        element_qualified,
        attribute_qualified,
        block_default,
        final_default,
        nodes,
        foreign,
    })
}

fn resolve_clark<R: std::io::BufRead>(
    reader: &BoundedReader<R>,
    value: &str,
    chameleon: Option<&str>,
) -> Result<String, String> {
    let value = value.trim();
    let (prefix, local) = value.split_once(':').unwrap_or(("", value));
    let ns = if prefix == "xml" {
        XML_NS
    } else {
        match reader.resolve_prefix(prefix) {
            Some(ns) => ns,
            None if prefix.is_empty() => "",
            None => return Err(prefix.to_owned()),
        }
    };
    let ns = match (ns, chameleon) {
        ("", Some(outer)) => outer,
        _ => ns,
    };
    Ok(format!("{{{ns}}}{local}"))
}

/// Records the bindings of every `prefix:` that occurs in a value (and the default namespace),
/// so that QName-typed values and XPath expressions can be resolved after parsing.
fn collect_bindings<R: std::io::BufRead>(
    reader: &BoundedReader<R>,
    value: &str,
    chameleon: Option<&str>,
    out: &mut Vec<(Box<str>, Box<str>)>,
) {
    let mut push = |prefix: &str, ns: &str| {
        if !out.iter().any(|(p, _)| &**p == prefix) {
            out.push((prefix.into(), ns.into()));
        }
    };
    let default_ns = reader.resolve_prefix("").or(chameleon).unwrap_or("");
    push("", default_ns);
    let bytes = value.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b != b':' {
            continue;
        }
        // The prefix: the NCName characters before the colon. The character before the prefix
        // may take several bytes (U+0302 in a fuzzed value), so the prefix starts after its last
        // byte.
        let start = value[..i]
            .char_indices()
            .rev()
            .find(|&(_, c)| !is_name_char(c))
            .map_or(0, |(p, c)| p + c.len_utf8());
        let prefix = &value[start..i];
        if prefix.is_empty() {
            continue;
        }
        if prefix == "xml" {
            push("xml", XML_NS);
        } else if let Some(ns) = reader.resolve_prefix(prefix) {
            push(prefix, ns);
        }
    }
}

/// Splits a Clark name `{uri}local` into its parts.
pub(crate) fn split_clark(clark: &str) -> (&str, &str) {
    clark
        .strip_prefix('{')
        .and_then(|rest| rest.split_once('}'))
        .unwrap_or(("", clark))
}
