//! Errors of the XSD engine: schema errors (the schema set is wrong) and validation errors (the
//! instance is wrong). Validation errors never carry instance values unless the caller asked for
//! them (`ValidationOptions::show_values`), because XÖV messages hold personal data.

use std::fmt;
use std::path::PathBuf;

/// One error in a schema document: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// Schema document the error was found in (empty when it concerns the whole set).
    pub file: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column in characters (0 when unknown).
    pub column: u64,
    /// What is wrong, naming the schema component.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Failure to build a grammar from a schema set.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XsdError {
    /// The schema set has errors; all found are listed.
    #[error("schema has {} error(s); first: {}", .0.len(), .0.first().map(ToString::to_string).unwrap_or_default())]
    Schema(Vec<SchemaError>),
}

impl XsdError {
    /// The individual schema errors.
    pub fn errors(&self) -> &[SchemaError] {
        match self {
            Self::Schema(errors) => errors,
        }
    }
}

/// The kind of a validation error, stable for tools (`--json` prints [`ErrorKind::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The XML itself is not well-formed or exceeds a reader limit.
    NotWellFormed,
    /// No global element declaration matches the root element.
    UnknownRoot,
    /// A child element that the content model does not allow at this point.
    UnexpectedElement,
    /// The element ended while the content model still required children.
    MissingElement,
    /// Character data where the content model allows none.
    UnexpectedText,
    /// Text or attribute value not valid for its simple type (lexical form or facet).
    InvalidValue,
    /// A value differs from the fixed value constraint.
    FixedValue,
    /// An attribute that is neither declared nor allowed by a wildcard.
    UnexpectedAttribute,
    /// A required attribute is absent.
    MissingAttribute,
    /// An abstract element or type used directly in the instance.
    Abstract,
    /// Bad `xsi:type`: unknown, not derived from the declared type, or blocked.
    XsiType,
    /// Bad `xsi:nil`: element not nillable, or nil element with content.
    Nil,
    /// Duplicate ID or IDREF without matching ID.
    Id,
    /// Identity-constraint violation (unique, key, keyref).
    IdentityConstraint,
    /// A limit of the validator was reached (e.g. too many errors).
    Limit,
}

impl ErrorKind {
    /// Stable kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotWellFormed => "not-well-formed",
            Self::UnknownRoot => "unknown-root",
            Self::UnexpectedElement => "unexpected-element",
            Self::MissingElement => "missing-element",
            Self::UnexpectedText => "unexpected-text",
            Self::InvalidValue => "invalid-value",
            Self::FixedValue => "fixed-value",
            Self::UnexpectedAttribute => "unexpected-attribute",
            Self::MissingAttribute => "missing-attribute",
            Self::Abstract => "abstract",
            Self::XsiType => "xsi-type",
            Self::Nil => "nil",
            Self::Id => "id",
            Self::IdentityConstraint => "identity-constraint",
            Self::Limit => "limit",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One violation found in an instance document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// 1-based line of the event that revealed the violation.
    pub line: u64,
    /// 1-based column in characters.
    pub column: u64,
    /// Element path from the root, e.g. `/xbau:antrag.0200/nachrichtenkopf.g2g`.
    pub path: String,
    /// The kind of violation.
    pub kind: ErrorKind,
    /// What is wrong and what was expected (no instance values unless asked for).
    pub message: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}: {}: {}",
            self.line, self.column, self.path, self.message
        )
    }
}
