//! An owned copy of one start tag in a reusable buffer, so the reader can be asked for namespace
//! bindings while the tag is validated (no allocation per element after warm-up).

use std::ops::Range;

use crate::xml::StartTag;

/// One start tag: name and attributes, with the text in one reused buffer.
#[derive(Debug, Default, Clone)]
pub struct TagData {
    buf: String,
    name: [Range<usize>; 3],
    attrs: Vec<[Range<usize>; 4]>,
}

impl TagData {
    fn push(&mut self, s: &str) -> Range<usize> {
        let start = self.buf.len();
        self.buf.push_str(s);
        start..self.buf.len()
    }

    /// Replaces the content with `tag`.
    pub fn fill(&mut self, tag: &StartTag<'_>) {
        self.buf.clear();
        self.attrs.clear();
        let name = tag.name();
        let ns = self.push(name.namespace);
        let local = self.push(name.local);
        let prefix = self.push(name.prefix);
        self.name = [ns, local, prefix];
        for a in tag.attributes() {
            let ns = self.push(a.name.namespace);
            let local = self.push(a.name.local);
            let prefix = self.push(a.name.prefix);
            let value = self.push(a.value);
            self.attrs.push([ns, local, prefix, value]);
        }
    }

    /// Sets the content directly (for event sources other than the reader).
    pub fn set(&mut self, ns: &str, local: &str, prefix: &str, attrs: &[(&str, &str, &str, &str)]) {
        self.buf.clear();
        self.attrs.clear();
        let n = self.push(ns);
        let l = self.push(local);
        let p = self.push(prefix);
        self.name = [n, l, p];
        for (ns, local, prefix, value) in attrs {
            let a = [
                self.push(ns),
                self.push(local),
                self.push(prefix),
                self.push(value),
            ];
            self.attrs.push(a);
        }
    }

    /// Namespace URI of the element ("" = none).
    pub fn ns(&self) -> &str {
        &self.buf[self.name[0].clone()]
    }

    /// Local name of the element.
    pub fn local(&self) -> &str {
        &self.buf[self.name[1].clone()]
    }

    /// Prefix of the element as written.
    pub fn prefix(&self) -> &str {
        &self.buf[self.name[2].clone()]
    }

    /// Attributes as `(namespace, local, prefix, value)`.
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str, &str, &str)> + '_ {
        self.attrs.iter().map(|[n, l, p, v]| {
            (
                &self.buf[n.clone()],
                &self.buf[l.clone()],
                &self.buf[p.clone()],
                &self.buf[v.clone()],
            )
        })
    }
}
