//! The hardened XML reader: [`BoundedReader`] over quick-xml.
//!
//! No DTD processing ever (a DOCTYPE is an error), UTF-8 only, namespaces resolved here, every
//! input bounded by [`XmlLimits`](crate::config::XmlLimits), every error with line:column.

pub mod chars;
mod error;
mod namespaces;
mod position;
mod reader;

pub use error::{Limit, Pos, XmlError, XmlErrorKind};
pub use namespaces::{XML_NS, XMLNS_NS};
pub use reader::{Attribute, BoundedReader, Event, Name, StartTag};
