//! The in-scope namespace bindings of the element being read (Namespaces in XML 1.0).

/// The namespace bound to the `xml` prefix by definition.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` attributes; it may never be declared.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// A stack of bindings; each element opens a scope that its end tag closes.
#[derive(Debug, Default)]
pub(crate) struct NsStack {
    /// (prefix, uri); prefix "" is the default namespace, uri "" undeclares it.
    bindings: Vec<(Box<str>, Box<str>)>,
    /// Start index in `bindings` of each open scope.
    scopes: Vec<usize>,
}

impl NsStack {
    pub(crate) fn push_scope(&mut self) {
        self.scopes.push(self.bindings.len());
    }

    pub(crate) fn pop_scope(&mut self) {
        if let Some(start) = self.scopes.pop() {
            self.bindings.truncate(start);
        }
    }

    pub(crate) fn bind(&mut self, prefix: &str, uri: &str) {
        self.bindings.push((prefix.into(), uri.into()));
    }

    /// Resolves a prefix; `skip_top` ignores the innermost scope (used while a start tag has
    /// been read ahead but not yet delivered). The default namespace resolves to `None` when
    /// it is absent or undeclared.
    pub(crate) fn resolve(&self, prefix: &str, skip_top: bool) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        let end = if skip_top {
            self.scopes.last().copied().unwrap_or(self.bindings.len())
        } else {
            self.bindings.len()
        };
        self.bindings[..end]
            .iter()
            .rev()
            .find(|(p, _)| &**p == prefix)
            .map(|(_, uri)| &**uri)
            .filter(|uri| !uri.is_empty())
    }

    /// All bindings in scope, innermost first (for serialisers that must re-declare them).
    pub(crate) fn in_scope(&self) -> impl Iterator<Item = (&str, &str)> {
        self.bindings.iter().rev().map(|(p, u)| (&**p, &**u))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoping_and_undeclaring() {
        let mut ns = NsStack::default();
        ns.push_scope();
        ns.bind("", "urn:a");
        ns.bind("p", "urn:p");
        ns.push_scope();
        ns.bind("", "");
        assert_eq!(ns.resolve("", false), None);
        assert_eq!(ns.resolve("", true), Some("urn:a"));
        assert_eq!(ns.resolve("p", false), Some("urn:p"));
        assert_eq!(ns.resolve("xml", false), Some(XML_NS));
        ns.pop_scope();
        assert_eq!(ns.resolve("", false), Some("urn:a"));
        ns.pop_scope();
        assert_eq!(ns.resolve("p", false), None);
    }
}
