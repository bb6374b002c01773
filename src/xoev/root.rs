//! The root element of an instance document: what the registry identifies a message by.
//!
//! Only the prolog and the first start tag are read, with the hardened reader, so sniffing a
//! large message costs next to nothing and a hostile one is refused by the same rules as
//! everywhere else.

use std::io::BufRead;

use crate::config::XmlLimits;
use crate::xml::{BoundedReader, Event, Pos, XmlError, XmlErrorKind};

/// The expanded name of a document's root element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootName {
    /// Namespace URI (`""` when the root has none).
    pub namespace: String,
    /// Local name (`baugenehmigung.antrag.0200`).
    pub local: String,
    /// Where the root start tag begins.
    pub pos: Pos,
}

/// Reads up to the root start tag and returns its expanded name.
///
/// A document without a root element (empty, or only a prolog) is reported by the reader as
/// malformed.
pub fn document_root<R: BufRead>(input: R, limits: &XmlLimits) -> Result<RootName, XmlError> {
    let mut reader = BoundedReader::new(input, limits);
    loop {
        let found = match reader.next_event()? {
            Event::Start(tag) => {
                let name = tag.name();
                Some((name.namespace.to_owned(), name.local.to_owned()))
            }
            Event::Eof => {
                // The reader reports a missing root itself; this is only reached if it ever
                // stops doing so.
                return Err(XmlError {
                    kind: XmlErrorKind::UnexpectedEof("no root element"),
                    pos: reader.position(),
                });
            }
            Event::Text(_) | Event::End => None,
        };
        if let Some((namespace, local)) = found {
            return Ok(RootName {
                namespace,
                local,
                pos: reader.position(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_root_and_stops_there() {
        // Everything after the root start tag is never read: the unclosed tail is no error.
        let doc =
            b"<?xml version='1.0'?>\n<!-- c -->\n<x:a.b.0100 xmlns:x='urn:x' v='1'><unclosed>";
        let root = document_root(&doc[..], &XmlLimits::default()).expect("root");
        assert_eq!(
            (root.namespace.as_str(), root.local.as_str()),
            ("urn:x", "a.b.0100")
        );
        assert_eq!(root.pos.line, 3);
        let root = document_root(&b"<xy/>"[..], &XmlLimits::default()).expect("root");
        assert_eq!((root.namespace.as_str(), root.local.as_str()), ("", "xy"));
    }

    #[test]
    fn hostile_prologs_are_refused() {
        let doc = b"<!DOCTYPE a [<!ENTITY e 'x'>]><a/>";
        assert!(document_root(&doc[..], &XmlLimits::default()).is_err());
        assert!(document_root(&b""[..], &XmlLimits::default()).is_err());
    }
}
