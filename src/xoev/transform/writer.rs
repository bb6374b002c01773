//! The JSON text of the transform, written as the document streams by: a small structural
//! writer (braces, commas, keys, the indentation of `--pretty`) and [`Node`], the value of an
//! element that has to be held until it ends.
//!
//! The writer produces exactly what `serde_json::to_writer` (or `to_writer_pretty`) produces for
//! the same members in the same order: scalars are written by `serde_json` itself, and the
//! layout follows its compact and pretty formatters (two-space indent, `": "`, empty
//! containers as `{}` / `[]`). Members are written in insertion order, never sorted, so the
//! output does not depend on whether `serde_json`'s `preserve_order` feature is on.

use std::io::Write;

use serde_json::{Map, Value as Json};

/// The JSON of an element held in memory: members in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A simple value as the typing rules give it (a scalar, or an array of scalars for lists).
    Leaf(Json),
    /// The items of a repeated element.
    Array(Vec<Node>),
    /// An object; keys are unique in valid documents.
    Object(Vec<(String, Node)>),
}

impl Node {
    /// The `serde_json` value (what the `Value`-returning API hands out).
    pub(crate) fn into_json(self) -> Json {
        match self {
            Node::Leaf(v) => v,
            Node::Array(items) => Json::Array(items.into_iter().map(Node::into_json).collect()),
            Node::Object(members) => {
                let mut map = Map::new();
                for (k, v) in members {
                    // A key seen twice keeps its first place and the last value, as `insert` on
                    // the map the transform built before did.
                    map.insert(k, v.into_json());
                }
                Json::Object(map)
            }
        }
    }

    /// Adds `item` as an element of the repeated member `key` (created at the end if absent).
    pub(crate) fn push_repeated(members: &mut Vec<(String, Node)>, key: String, item: Node) {
        // Repeated siblings are usually adjacent: search from the end.
        match members.iter_mut().rev().find(|(k, _)| *k == key) {
            Some((_, Node::Array(items))) => items.push(item),
            Some((_, other)) => {
                let first = std::mem::replace(other, Node::Array(Vec::new()));
                *other = Node::Array(vec![first, item]);
            }
            None => members.push((key, Node::Array(vec![item]))),
        }
    }
}

/// Approximate size of a JSON string in the output (quotes included, escapes not counted).
pub(crate) fn text_size(s: &str) -> usize {
    s.len() + 2
}

/// Approximate size of a scalar (or list) in the output.
fn leaf_size(v: &Json) -> usize {
    match v {
        Json::String(s) => text_size(s),
        Json::Array(items) => array_size(items.iter().map(leaf_size)),
        Json::Object(m) => object_size(m.iter().map(|(k, v)| (k.as_str(), leaf_size(v)))),
        Json::Null | Json::Bool(_) | Json::Number(_) => 8,
    }
}

/// Approximate size of a held value in the output.
pub(crate) fn node_size(n: &Node) -> usize {
    match n {
        Node::Leaf(v) => leaf_size(v),
        Node::Array(items) => array_size(items.iter().map(node_size)),
        Node::Object(m) => object_size(m.iter().map(|(k, v)| (k.as_str(), node_size(v)))),
    }
}

fn array_size(items: impl Iterator<Item = usize>) -> usize {
    2 + items.map(|n| n + 1).sum::<usize>()
}

fn object_size<'a>(members: impl Iterator<Item = (&'a str, usize)>) -> usize {
    2 + members.map(|(k, n)| text_size(k) + 2 + n).sum::<usize>()
}

/// The structural JSON writer. The first I/O error is kept and every later write skipped.
pub(crate) struct JsonOut<W: Write> {
    w: W,
    pretty: bool,
    depth: usize,
    written: u64,
    pub(crate) error: Option<std::io::Error>,
}

/// Counts what passes through to the inner writer.
struct Counted<'a, W: Write> {
    w: &'a mut W,
    n: &'a mut u64,
}

impl<W: Write> Write for Counted<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.w.write(buf)?;
        *self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

const INDENT: &[u8] = b"                                                                ";

impl<W: Write> JsonOut<W> {
    pub(crate) fn new(w: W, pretty: bool) -> Self {
        Self {
            w,
            pretty,
            depth: 0,
            written: 0,
            error: None,
        }
    }

    /// Bytes written so far.
    pub(crate) fn written(&self) -> u64 {
        self.written
    }

    /// The inner writer (flushing is the caller's business).
    #[cfg(test)]
    pub(crate) fn into_inner(self) -> W {
        self.w
    }

    fn raw(&mut self, bytes: &[u8]) {
        if self.error.is_none() {
            match self.w.write_all(bytes) {
                Ok(()) => self.written += bytes.len() as u64,
                Err(e) => self.error = Some(e),
            }
        }
    }

    fn newline_indent(&mut self) {
        self.raw(b"\n");
        let mut n = self.depth * 2;
        while n > 0 {
            let k = n.min(INDENT.len());
            self.raw(&INDENT[..k]);
            n -= k;
        }
    }

    /// `{` (or `[` with `array`).
    pub(crate) fn begin(&mut self, array: bool) {
        self.depth += 1;
        self.raw(if array { b"[" } else { b"{" });
    }

    /// `}` (or `]`); `nonempty` tells the pretty layout whether members were written.
    pub(crate) fn end(&mut self, array: bool, nonempty: bool) {
        self.depth = self.depth.saturating_sub(1);
        if self.pretty && nonempty {
            self.newline_indent();
        }
        self.raw(if array { b"]" } else { b"}" });
    }

    /// The separator before an array item.
    pub(crate) fn item(&mut self, first: bool) {
        if !first {
            self.raw(b",");
        }
        if self.pretty {
            self.newline_indent();
        }
    }

    /// The separator and the key of an object member, up to its value.
    pub(crate) fn key(&mut self, first: bool, key: &str) {
        self.item(first);
        self.scalar(key);
        self.raw(if self.pretty { b": " } else { b":" });
    }

    /// A scalar (or string) as `serde_json` writes it.
    fn scalar<T: serde::Serialize + ?Sized>(&mut self, v: &T) {
        if self.error.is_none() {
            let mut c = Counted {
                w: &mut self.w,
                n: &mut self.written,
            };
            if let Err(e) = serde_json::to_writer(&mut c, v) {
                self.error = Some(e.into());
            }
        }
    }

    fn array<'a, T: 'a>(&mut self, items: impl Iterator<Item = &'a T>, each: fn(&mut Self, &T)) {
        self.begin(true);
        let mut first = true;
        for item in items {
            self.item(first);
            first = false;
            each(self, item);
        }
        self.end(true, !first);
    }

    fn object<'a, T: 'a>(
        &mut self,
        members: impl Iterator<Item = (&'a String, &'a T)>,
        each: fn(&mut Self, &T),
    ) {
        self.begin(false);
        let mut first = true;
        for (k, v) in members {
            self.key(first, k);
            first = false;
            each(self, v);
        }
        self.end(false, !first);
    }

    /// Any `serde_json` value (objects in their map's order).
    pub(crate) fn json(&mut self, v: &Json) {
        match v {
            Json::Array(items) => self.array(items.iter(), Self::json),
            Json::Object(map) => self.object(map.iter(), Self::json),
            scalar => self.scalar(scalar),
        }
    }

    /// A held value, members in insertion order.
    pub(crate) fn node(&mut self, n: &Node) {
        match n {
            Node::Leaf(v) => self.json(v),
            Node::Array(items) => self.array(items.iter(), Self::node),
            Node::Object(members) => self.object(members.iter().map(|(k, v)| (k, v)), Self::node),
        }
    }

    /// A string member value (`key` written before).
    pub(crate) fn string(&mut self, s: &str) {
        self.scalar(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Node {
        Node::Object(vec![
            ("b".into(), Node::Leaf(Json::from(1))),
            (
                "a".into(),
                Node::Array(vec![
                    Node::Leaf(Json::String("x\"\n\u{1}é".into())),
                    Node::Object(vec![]),
                    Node::Array(vec![]),
                    Node::Leaf(Json::from(vec![1.5, 2.0])),
                ]),
            ),
            ("c".into(), Node::Leaf(Json::Null)),
        ])
    }

    #[test]
    fn layout_matches_serde_json_compact_and_pretty() {
        let n = sample();
        let v = n.clone().into_json();
        for pretty in [false, true] {
            let mut out = JsonOut::new(Vec::new(), pretty);
            out.node(&n);
            let expected = if pretty {
                serde_json::to_vec_pretty(&v)
            } else {
                serde_json::to_vec(&v)
            }
            .expect("serializes");
            let written = out.written();
            let got = out.into_inner();
            // Members in insertion order; serde_json's map may sort them (without
            // `preserve_order`), so compare parsed values and, where the order agrees, bytes.
            let parsed: Json = serde_json::from_slice(&got).expect("valid JSON");
            assert_eq!(parsed, v);
            assert_eq!(written, got.len() as u64);
            if v.as_object()
                .and_then(|m| m.keys().next())
                .map(String::as_str)
                == Some("b")
            {
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    String::from_utf8_lossy(&expected)
                );
            }
        }
    }

    #[test]
    fn insertion_order_is_kept_and_repeated_members_grouped() {
        let mut members = Vec::new();
        members.push(("z".to_owned(), Node::Leaf(Json::from(1))));
        Node::push_repeated(&mut members, "a".into(), Node::Leaf(Json::from(2)));
        Node::push_repeated(&mut members, "a".into(), Node::Leaf(Json::from(3)));
        let mut out = JsonOut::new(Vec::new(), false);
        out.node(&Node::Object(members));
        assert_eq!(out.into_inner(), br#"{"z":1,"a":[2,3]}"#);
    }
}
