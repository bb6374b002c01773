//! Errors of the XML reader. Each carries the line:column where reading stopped.
//!
//! Messages name what is wrong and where, never the document's character data (it may be
//! personal data).

use std::fmt;

/// A position in the document: 1-based line and 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// Line number, starting at 1.
    pub line: u64,
    /// Column in Unicode scalar values, starting at 1.
    pub column: u64,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Which configured limit was exceeded (see `config::XmlLimits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Limit {
    /// `max_input_bytes`.
    InputBytes,
    /// `max_depth`.
    Depth,
    /// `max_attributes`.
    Attributes,
    /// `max_namespace_declarations`.
    NamespaceDeclarations,
    /// `max_name_bytes`.
    NameBytes,
    /// `max_attribute_value_bytes`.
    AttributeValueBytes,
    /// `max_text_bytes`.
    TextBytes,
    /// `max_markup_bytes` (one tag, comment or processing instruction).
    MarkupBytes,
}

impl Limit {
    /// The name of the `XmlLimits` field.
    pub fn field(self) -> &'static str {
        match self {
            Limit::InputBytes => "max_input_bytes",
            Limit::Depth => "max_depth",
            Limit::Attributes => "max_attributes",
            Limit::NamespaceDeclarations => "max_namespace_declarations",
            Limit::NameBytes => "max_name_bytes",
            Limit::AttributeValueBytes => "max_attribute_value_bytes",
            Limit::TextBytes => "max_text_bytes",
            Limit::MarkupBytes => "max_markup_bytes",
        }
    }
}

/// What went wrong while reading XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlErrorKind {
    /// A DOCTYPE declaration: DTD processing is never done (no entities, no external subsets).
    #[error("DOCTYPE declarations are not allowed (no DTD processing)")]
    Doctype,
    /// An entity reference other than the five predefined ones or a character reference.
    #[error(
        "reference to an undeclared entity (only &lt; &gt; &amp; &apos; &quot; and character references exist without a DTD)"
    )]
    UndeclaredEntity,
    /// A character reference to a character that XML does not allow.
    #[error("character reference to a character not allowed in XML")]
    InvalidCharRef,
    /// The XML declaration names an encoding other than UTF-8, or the input has a UTF-16 byte
    /// order mark.
    #[error("unsupported encoding {0:?}: only UTF-8 input is accepted")]
    UnsupportedEncoding(String),
    /// The XML declaration names a version that is not `1.` and digits.
    #[error("unsupported XML version: only XML 1.x is read (as XML 1.0)")]
    UnsupportedVersion,
    /// The bytes are not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// A character XML does not allow (for example NUL or another C0 control character).
    #[error("character U+{0:04X} is not allowed in XML")]
    InvalidChar(u32),
    /// A name that is not an XML name, or a qualified name that is not a namespace QName.
    #[error("invalid name: {0}")]
    InvalidName(&'static str),
    /// A prefix that is not bound to a namespace.
    #[error("namespace prefix {0:?} is not declared")]
    UnboundPrefix(String),
    /// A namespace declaration that the Namespaces in XML recommendation forbids.
    #[error("invalid namespace declaration: {0}")]
    InvalidNamespaceDeclaration(&'static str),
    /// The same attribute (by expanded name) occurs twice on one element.
    #[error("duplicate attribute {0:?}")]
    DuplicateAttribute(String),
    /// A configured limit was exceeded.
    #[error("limit exceeded: {field} = {max}", field = .limit.field())]
    LimitExceeded {
        /// Which limit.
        limit: Limit,
        /// Its configured value.
        max: u64,
    },
    /// No root element, a second root element, or character data outside the root element.
    #[error("{0}")]
    DocumentStructure(&'static str),
    /// The input ended inside the document.
    #[error("unexpected end of input: {0}")]
    UnexpectedEof(&'static str),
    /// Other well-formedness errors reported by the tokenizer (mismatched end tag, bad markup).
    #[error("not well-formed: {0}")]
    Syntax(String),
    /// Reading the underlying input failed.
    #[error("I/O error: {0}")]
    Io(String),
}

/// An XML error with the position at which it was detected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {kind}")]
pub struct XmlError {
    /// What went wrong.
    pub kind: XmlErrorKind,
    /// Where (line:column of the construct being read).
    pub pos: Pos,
}
