//! The start tag as the validator sees it: [`Tag`], implemented by the reader's own tag (no
//! copy) and by [`TagData`], an owned tag in a reusable buffer for other event sources.

use std::ops::Range;

use crate::xml::{Name, StartTag};

/// One start tag: element name and attributes.
pub trait Tag {
    /// Namespace URI of the element ("" = none).
    fn ns(&self) -> &str;
    /// Local name of the element.
    fn local(&self) -> &str;
    /// Prefix of the element as written.
    fn prefix(&self) -> &str;
    /// Attributes as `(namespace, local, prefix, value)`, namespace declarations excluded.
    fn attributes(&self) -> impl Iterator<Item = (&str, &str, &str, &str)>;
}

/// The reader's start tag with its name resolved once.
pub(super) struct ReaderTag<'a> {
    name: Name<'a>,
    tag: StartTag<'a>,
}

impl<'a> ReaderTag<'a> {
    pub(super) fn new(tag: StartTag<'a>) -> Self {
        Self {
            name: tag.name(),
            tag,
        }
    }
}

impl Tag for ReaderTag<'_> {
    fn ns(&self) -> &str {
        self.name.namespace
    }

    fn local(&self) -> &str {
        self.name.local
    }

    fn prefix(&self) -> &str {
        self.name.prefix
    }

    fn attributes(&self) -> impl Iterator<Item = (&str, &str, &str, &str)> {
        self.tag
            .attributes()
            .map(|a| (a.name.namespace, a.name.local, a.name.prefix, a.value))
    }
}

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
}

impl Tag for TagData {
    fn ns(&self) -> &str {
        &self.buf[self.name[0].clone()]
    }

    fn local(&self) -> &str {
        &self.buf[self.name[1].clone()]
    }

    fn prefix(&self) -> &str {
        &self.buf[self.name[2].clone()]
    }

    fn attributes(&self) -> impl Iterator<Item = (&str, &str, &str, &str)> {
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
