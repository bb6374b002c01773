//! The in-scope namespace bindings of the element being read (Namespaces in XML 1.0).

/// The namespace bound to the `xml` prefix by definition.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of `xmlns` attributes; it may never be declared.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Where a resolved namespace URI is stored: no namespace, the `xml` namespace, or a binding
/// of the [`NsStack`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct NsRef(u32);

impl NsRef {
    /// No namespace.
    pub(crate) const NONE: NsRef = NsRef(0);
    /// The namespace bound to `xml` by definition.
    const XML: NsRef = NsRef(1);
    const FIRST_BINDING: u32 = 2;
}

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

    /// Like [`NsStack::resolve`] (without `skip_top`), but returns where the URI is stored, so
    /// that a start tag can refer to it without copying it ([`NsStack::uri`]).
    pub(crate) fn resolve_ref(&self, prefix: &str) -> Option<NsRef> {
        if prefix == "xml" {
            return Some(NsRef::XML);
        }
        let i = self.bindings.iter().rposition(|(p, _)| &**p == prefix)?;
        if self.bindings[i].1.is_empty() {
            return None;
        }
        Some(NsRef(
            u32::try_from(i).ok()?.checked_add(NsRef::FIRST_BINDING)?,
        ))
    }

    /// The URI a [`NsRef`] refers to; valid while the scope that bound it is open.
    pub(crate) fn uri(&self, r: NsRef) -> &str {
        match r {
            NsRef::NONE => "",
            NsRef::XML => XML_NS,
            NsRef(i) => self
                .bindings
                .get((i - NsRef::FIRST_BINDING) as usize)
                .map_or("", |(_, u)| u),
        }
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
        assert_eq!(ns.uri(ns.resolve_ref("p").expect("bound")), "urn:p");
        assert_eq!(ns.uri(ns.resolve_ref("xml").expect("predefined")), XML_NS);
        assert_eq!(ns.resolve_ref(""), Some(NsRef(2)));
        ns.pop_scope();
        assert_eq!(ns.resolve("p", false), None);
        assert_eq!(ns.resolve_ref("p"), None);
        assert_eq!(ns.uri(NsRef::NONE), "");
    }
}
