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
use std::rc::Rc;

use serde_json::{Map, Value as Json};

/// The JSON of an element held in memory: members in the order they were added.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A simple value as the typing rules give it (a scalar, or an array of scalars for lists).
    Leaf(Json),
    /// The items of a repeated element.
    Array(Vec<Node>),
    /// An object; keys are unique in valid documents. Keys are shared with the schema shapes
    /// (element keys) or the builder's key cache (attribute keys), not copied per element.
    Object(Vec<(Rc<str>, Node)>),
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
                    map.insert(k.to_string(), v.into_json());
                }
                Json::Object(map)
            }
        }
    }

    /// Adds `item` as an element of the repeated member `key` (created at the end if absent).
    pub(crate) fn push_repeated(members: &mut Vec<(Rc<str>, Node)>, key: Rc<str>, item: Node) {
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
        Node::Object(m) => object_size(m.iter().map(|(k, v)| (&**k, node_size(v)))),
    }
}

fn array_size(items: impl Iterator<Item = usize>) -> usize {
    2 + items.map(|n| n + 1).sum::<usize>()
}

fn object_size<'a>(members: impl Iterator<Item = (&'a str, usize)>) -> usize {
    2 + members.map(|(k, n)| text_size(k) + 2 + n).sum::<usize>()
}

/// The structural JSON writer. Text is collected in an own buffer and handed to the inner
/// writer in blocks of [`BLOCK`] bytes (the many small pieces of a document — a brace, a key, a
/// short value — cost a copy into memory, not a call through the writer each). The first I/O
/// error is kept and every later block dropped; [`JsonOut::flush_block`] hands over the rest.
pub(crate) struct JsonOut<W: Write> {
    w: W,
    buf: Vec<u8>,
    pretty: bool,
    depth: usize,
    /// Bytes handed over (or dropped after an error) before the current block.
    handed: u64,
    pub(crate) error: Option<std::io::Error>,
}

/// Size of the blocks handed to the inner writer.
const BLOCK: usize = 64 * 1024;

const INDENT: &[u8] = b"                                                                ";

impl<W: Write> JsonOut<W> {
    pub(crate) fn new(w: W, pretty: bool) -> Self {
        Self {
            w,
            buf: Vec::with_capacity(BLOCK + 4096),
            pretty,
            depth: 0,
            handed: 0,
            error: None,
        }
    }

    /// Bytes written so far (handed over or still in the block).
    pub(crate) fn written(&self) -> u64 {
        self.handed + self.buf.len() as u64
    }

    /// The inner writer, after handing over the last block (flushing is the caller's
    /// business).
    #[cfg(test)]
    pub(crate) fn into_inner(mut self) -> W {
        self.flush_block();
        self.w
    }

    /// Hands what is collected to the inner writer. Called by [`JsonOut::raw`] when a block is
    /// full, and once by the owner at the end: without it the last block is lost.
    pub(crate) fn flush_block(&mut self) {
        if self.error.is_none()
            && !self.buf.is_empty()
            && let Err(e) = self.w.write_all(&self.buf)
        {
            self.error = Some(e);
        }
        self.handed += self.buf.len() as u64;
        self.buf.clear();
    }

    /// Hands a full block over. After an error the block is still filled and then dropped:
    /// the small writes need no check of their own, and memory stays bounded.
    fn appended(&mut self) {
        if self.buf.len() >= BLOCK {
            self.flush_block();
        }
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.appended();
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
        self.string(key);
        self.raw(if self.pretty { b": " } else { b":" });
    }

    /// [`JsonOut::key`] with the key already as JSON text ([`super::shape::json_key`]).
    pub(crate) fn key_json(&mut self, first: bool, key_json: &str) {
        if self.pretty {
            self.item(first);
            self.raw(key_json.as_bytes());
            self.raw(b": ");
            return;
        }
        // Compact: `,"key":` in one append.
        self.buf.reserve(key_json.len() + 2);
        if !first {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(key_json.as_bytes());
        self.buf.push(b':');
        self.appended();
    }

    /// A scalar (or string) as `serde_json` writes it.
    fn scalar<T: serde::Serialize + ?Sized>(&mut self, v: &T) {
        let before = self.buf.len();
        if let Err(e) = serde_json::to_writer(&mut self.buf, v) {
            self.buf.truncate(before);
            self.error.get_or_insert(e.into());
            return;
        }
        self.appended();
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
        members: impl Iterator<Item = (&'a str, &'a T)>,
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
            Json::Object(map) => self.object(map.iter().map(|(k, v)| (k.as_str(), v)), Self::json),
            scalar => self.scalar(scalar),
        }
    }

    /// A held value, members in insertion order.
    pub(crate) fn node(&mut self, n: &Node) {
        match n {
            Node::Leaf(v) => self.json(v),
            Node::Array(items) => self.array(items.iter(), Self::node),
            Node::Object(members) => {
                self.object(members.iter().map(|(k, v)| (&**k, v)), Self::node)
            }
        }
    }

    /// A string member value (`key` written before).
    pub(crate) fn string(&mut self, s: &str) {
        if needs_escape(s) {
            self.scalar(s);
        } else {
            // What `serde_json` writes for a string without `"`, `\\` or control characters:
            // the bytes between quotes.
            self.buf.reserve(s.len() + 2);
            self.buf.push(b'"');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.push(b'"');
            self.appended();
        }
    }
}

/// Whether `serde_json` escapes anything in `s` (`"`, `\\`, a control character below U+0020).
/// Looks at eight bytes per step (most strings of a document need no escape): a byte below
/// 0x20 makes `x - 0x20…` borrow into its top bit while its own top bit is clear, a byte equal
/// to `"` or `\\` becomes zero after the XOR and borrows the same way. Bytes of multi-byte
/// characters have their top bit set and never count.
fn needs_escape(s: &str) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = |x: u64, n: u8| x.wrapping_sub(ONES * u64::from(n)) & !x & HIGH;
    let mut chunks = s.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let x = u64::from_le_bytes(word);
        if below(x, 0x20)
            | below(x ^ (ONES * u64::from(b'"')), 1)
            | below(x ^ (ONES * u64::from(b'\\')), 1)
            != 0
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
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
    fn strings_are_written_as_serde_json_writes_them_with_or_without_escapes() {
        let mut cases: Vec<String> = (0u32..0x80)
            .chain([0xe4, 0x2028, 0x1f600])
            .filter_map(char::from_u32)
            .map(|c| format!("a{c}b"))
            .collect();
        // One character to escape at every position of a long string (the check looks at
        // many bytes per step, the tail included).
        for at in 0..70 {
            for c in ['"', '\\', '\u{1f}', '\n'] {
                let mut t: String = "xyzäöü-0123456789".repeat(5).chars().take(70).collect();
                let i = t.char_indices().nth(at).map_or(t.len(), |(i, _)| i);
                t.insert(i, c);
                cases.push(t);
            }
        }
        cases.push(String::new());
        for case in &cases {
            let mut out = JsonOut::new(Vec::new(), false);
            out.string(case);
            let mut key = JsonOut::new(Vec::new(), false);
            key.begin(false);
            key.key(true, case);
            key.string("");
            key.end(false, true);
            let want = serde_json::to_vec(case).expect("serialise");
            assert_eq!(out.into_inner(), want, "{case:?}");
            let key = key.into_inner();
            assert_eq!(key[1..1 + want.len()], want[..], "{case:?}");
        }
    }

    #[test]
    fn a_pre_escaped_key_writes_what_key_writes() {
        let keys = [
            "plain",
            "quo\"te",
            "back\\slash",
            "ctl\u{1}\n",
            "umlaut-äöü",
            "{urn:x}local",
        ];
        for pretty in [false, true] {
            for key in keys {
                let mut plain = JsonOut::new(Vec::new(), pretty);
                let mut escaped = JsonOut::new(Vec::new(), pretty);
                for (out, pre) in [(&mut plain, false), (&mut escaped, true)] {
                    out.begin(false);
                    if pre {
                        out.key_json(true, &super::super::shape::json_key(key));
                    } else {
                        out.key(true, key);
                    }
                    out.string("v");
                    out.end(false, true);
                }
                let plain = plain.into_inner();
                assert_eq!(plain, escaped.into_inner(), "{key:?}");
                let parsed: Json = serde_json::from_slice(&plain).expect("valid JSON");
                assert_eq!(parsed[key], "v");
            }
        }
    }

    /// Fails once `room` bytes were taken.
    struct Full {
        taken: Vec<u8>,
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.taken.len() + buf.len() > self.room {
                return Err(std::io::Error::other("disk full"));
            }
            self.taken.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn blocks_reach_the_writer_whole_and_in_order_and_the_first_error_is_kept() {
        let items: Vec<String> = (0..40_000).map(|i| format!("item \"{i}\"")).collect();
        let expected = serde_json::to_vec(&items).expect("serializes");
        assert!(
            expected.len() > 4 * BLOCK,
            "several blocks: {}",
            expected.len()
        );
        let write = |out: &mut JsonOut<Full>| {
            out.begin(true);
            for (i, s) in items.iter().enumerate() {
                out.item(i == 0);
                out.string(s);
            }
            out.end(true, true);
            out.flush_block();
        };
        let mut out = JsonOut::new(
            Full {
                taken: Vec::new(),
                room: usize::MAX,
            },
            false,
        );
        write(&mut out);
        assert!(out.error.is_none());
        assert_eq!(out.written(), expected.len() as u64);
        assert!(out.into_inner().taken == expected);

        // A writer that fails in the second block: the error stays, nothing more is handed
        // over, and what arrived is a whole first block.
        let mut out = JsonOut::new(
            Full {
                taken: Vec::new(),
                room: BLOCK + BLOCK / 2,
            },
            false,
        );
        write(&mut out);
        assert_eq!(
            out.error.as_ref().map(ToString::to_string).as_deref(),
            Some("disk full")
        );
        let taken = out.into_inner().taken;
        assert!(
            taken.len() >= BLOCK && taken.len() < BLOCK + BLOCK / 2,
            "{}",
            taken.len()
        );
        assert!(expected.starts_with(&taken));
    }

    #[test]
    fn insertion_order_is_kept_and_repeated_members_grouped() {
        let mut members = Vec::new();
        members.push(("z".into(), Node::Leaf(Json::from(1))));
        Node::push_repeated(&mut members, "a".into(), Node::Leaf(Json::from(2)));
        Node::push_repeated(&mut members, "a".into(), Node::Leaf(Json::from(3)));
        let mut out = JsonOut::new(Vec::new(), false);
        out.node(&Node::Object(members));
        assert_eq!(out.into_inner(), br#"{"z":1,"a":[2,3]}"#);
    }
}
