//! XPath errors: static errors found when compiling an expression, dynamic errors raised while
//! evaluating one. Codes are the W3C error codes (plus `POST0001` for the engine's own work
//! budget), so findings can name the same code Saxon names. Messages never contain values from
//! the document being evaluated.

use std::fmt;

/// The W3C error codes the engine raises.
#[allow(clippy::upper_case_acronyms, missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Syntax error.
    XPST0003,
    /// Undeclared variable.
    XPST0008,
    /// Unknown function or wrong number of arguments.
    XPST0017,
    /// Unknown atomic type in a cast or sequence type.
    XPST0051,
    /// Unbound namespace prefix.
    XPST0081,
    /// Context item absent.
    XPDY0002,
    /// Type error (wrong type or cardinality).
    XPTY0004,
    /// A path's last step mixes nodes and atomic values.
    XPTY0018,
    /// A step other than the last returned atomic values.
    XPTY0019,
    /// The context item of an axis step is not a node.
    XPTY0020,
    /// `treat as` failed.
    XPDY0050,
    /// Division by zero.
    FOAR0001,
    /// Numeric overflow.
    FOAR0002,
    /// A value that cannot be cast.
    FOCA0002,
    /// Invalid value for a cast or constructor.
    FORG0001,
    /// `zero-or-one` with more than one item.
    FORG0003,
    /// `one-or-more` with none.
    FORG0004,
    /// `exactly-one` with not one.
    FORG0005,
    /// No effective boolean value.
    FORG0006,
    /// Invalid regular-expression flags.
    FORX0001,
    /// Invalid regular expression.
    FORX0002,
    /// A regular expression that matches the empty string (`replace`, `tokenize`).
    FORX0003,
    /// `fn:error`.
    FOER0000,
    /// Code point not a valid XML character.
    FOCH0001,
    /// The engine's evaluation budget for one document is spent (see `SchematronLimits`).
    POST0001,
}

impl ErrorCode {
    /// The code as written (`XPTY0004`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::XPST0003 => "XPST0003",
            Self::XPST0008 => "XPST0008",
            Self::XPST0017 => "XPST0017",
            Self::XPST0051 => "XPST0051",
            Self::XPST0081 => "XPST0081",
            Self::XPDY0002 => "XPDY0002",
            Self::XPTY0004 => "XPTY0004",
            Self::XPTY0018 => "XPTY0018",
            Self::XPTY0019 => "XPTY0019",
            Self::XPTY0020 => "XPTY0020",
            Self::XPDY0050 => "XPDY0050",
            Self::FOAR0001 => "FOAR0001",
            Self::FOAR0002 => "FOAR0002",
            Self::FOCA0002 => "FOCA0002",
            Self::FORG0001 => "FORG0001",
            Self::FORG0003 => "FORG0003",
            Self::FORG0004 => "FORG0004",
            Self::FORG0005 => "FORG0005",
            Self::FORG0006 => "FORG0006",
            Self::FORX0001 => "FORX0001",
            Self::FORX0002 => "FORX0002",
            Self::FORX0003 => "FORX0003",
            Self::FOER0000 => "FOER0000",
            Self::FOCH0001 => "FOCH0001",
            Self::POST0001 => "POST0001",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error found while compiling an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} at character {offset}: {message}")]
pub struct StaticError {
    /// The W3C code.
    pub code: ErrorCode,
    /// Character offset in the expression.
    pub offset: usize,
    /// What is wrong (from the expression's text, never from a document).
    pub message: String,
}

impl StaticError {
    pub(crate) fn new(code: ErrorCode, offset: usize, message: impl Into<String>) -> Self {
        Self {
            code,
            offset,
            message: message.into(),
        }
    }
}

/// An error raised while evaluating an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct DynError {
    /// The W3C code.
    pub code: ErrorCode,
    /// What went wrong, without document values.
    pub message: String,
}

impl DynError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn type_error(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::XPTY0004, message)
    }
}
