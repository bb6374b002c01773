//! The [`Observer`] that produces the JSON while the validator walks the document: one small
//! frame per open element.
//!
//! With an output ([`Builder::streaming`]) an element whose members can be written in document
//! order is *streamed*: its `{`, its attributes and then each child are written as they come,
//! and only the open frames are in memory. An element is streamed when its parent is streamed
//! and its type has element-only content whose model keeps same-named siblings together (not
//! `order_sensitive`, see [`ModelShape`]) and has no wildcard; every other element (simple values, attribute-only
//! elements, `xsi:nil`, mixed content, models that need `#order` or may interleave a repeated
//! name) is *held* as a [`Node`] until it ends, and then written in one piece. Held subtrees are
//! bounded by `max_buffered` (estimated JSON bytes); over it the transform fails with
//! [`Failure::BufferLimit`] rather than growing.
//!
//! Without an output everything is held and the root's [`Node`] is the result (the
//! `Value`-returning API). Members are in the same order either way, so the written text is
//! exactly the serialization of that value.

use std::collections::HashSet;
use std::io::Write;
use std::rc::Rc;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::xsd::Grammar;
use crate::xsd::datatypes::Value;
use crate::xsd::simple::SimpleType;
use crate::xsd::validator::{AttributeInfo, ElementInfo, Observer};

use super::binary::{BinarySink, ExtractedBinary};
use super::kind::{
    ElementKind, attribute_key, attribute_type, element_kind, is_code_type, type_clark,
};
use super::shape::{ModelShape, ShapeCache, clark};
use super::value::{ValueKind, to_json, value_kind};
use super::writer::{JsonOut, Node, node_size, text_size};

/// Key of the document-order list of an order-sensitive element.
pub const ORDER_KEY: &str = "#order";
/// Key of mixed or unassessed character data.
pub const TEXT_KEY: &str = "#text";
/// Key of the value of a complex type with simple content.
pub const VALUE_KEY: &str = "#value";
/// Key recording `xsi:type`.
pub const XSI_TYPE_KEY: &str = "@xsi:type";
/// Key recording `xsi:nil` on an element that also has attributes.
pub const XSI_NIL_KEY: &str = "@xsi:nil";

/// Why the streaming builder gave up (only reported when the document is otherwise valid).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// A held subtree grew over `max_buffered`.
    BufferLimit,
    /// A repeated element came back after other siblings in a model that keeps same-named
    /// siblings together (a bug in the shape analysis: the element type should be held).
    OutOfOrder(String),
    /// Writing the output failed.
    Write,
}

/// The state of a streamed element.
#[derive(Debug, Default)]
struct Streaming {
    /// `{` and the held members (attributes) are written.
    opened: bool,
    /// Members written.
    written: usize,
    /// The key of the array written last, still open for more items.
    open_array: Option<Rc<str>>,
    /// Keys written (a key must not come back); foldhash: one insert per member. The keys are
    /// the shapes' shared strings, not copies.
    keys: HashSet<Rc<str>, foldhash::fast::RandomState>,
}

struct Frame {
    key: Rc<str>,
    repeated: bool,
    type_id: Option<crate::xsd::components::TypeId>,
    kind: ElementKind,
    code: bool,
    nil: bool,
    shape: Option<Rc<ModelShape>>,
    /// Held members (a streamed element: only those not written yet).
    members: Vec<(String, Node)>,
    order: Option<Vec<Node>>,
    texts: Vec<Node>,
    value: Option<Node>,
    /// Estimated JSON bytes held by this frame.
    bytes: usize,
    stream: Option<Streaming>,
}

impl Frame {
    /// `#text` and `#order`, which follow the children.
    fn trailing(&mut self) {
        if !self.texts.is_empty() {
            let texts = std::mem::take(&mut self.texts);
            self.members.push((TEXT_KEY.into(), Node::Array(texts)));
        }
        if let Some(order) = self.order.take()
            && !order.is_empty()
        {
            self.members.push((ORDER_KEY.into(), Node::Array(order)));
        }
    }

    /// The complete value of an element that is not (or no longer) being written.
    fn finish(mut self) -> Node {
        self.trailing();
        if self.nil {
            if self.members.is_empty() {
                return Node::Leaf(Json::Null);
            }
            self.members
                .push((XSI_NIL_KEY.into(), Node::Leaf(Json::Bool(true))));
            return Node::Object(self.members);
        }
        match self.kind {
            ElementKind::Simple(_) if self.members.is_empty() => {
                self.value.unwrap_or(Node::Leaf(Json::Null))
            }
            ElementKind::Simple(_) | ElementKind::SimpleContent(_) => {
                let v = self.value.unwrap_or(Node::Leaf(Json::Null));
                self.members.push((VALUE_KEY.into(), v));
                Node::Object(self.members)
            }
            _ => Node::Object(self.members),
        }
    }

    /// Writes `{` and the held members of a streamed element (once); returns the bytes freed.
    fn open<W: Write>(&mut self, out: &mut JsonOut<W>) -> usize {
        let Some(s) = &mut self.stream else {
            return 0;
        };
        if s.opened {
            return 0;
        }
        s.opened = true;
        out.begin(false);
        for (k, v) in self.members.drain(..) {
            out.key(s.written == 0, &k);
            out.node(&v);
            s.written += 1;
            s.keys.insert(k.into());
        }
        std::mem::take(&mut self.bytes)
    }

    /// Writes what precedes the value of the child `key` of an opened streamed element.
    /// `false`: the key was written before and is not the open array.
    fn member<W: Write>(&mut self, out: &mut JsonOut<W>, key: &Rc<str>, repeated: bool) -> bool {
        let Some(s) = &mut self.stream else {
            return true;
        };
        if repeated && s.open_array.as_deref() == Some(&**key) {
            out.item(false);
            return true;
        }
        if s.open_array.take().is_some() {
            out.end(true, true);
        }
        if !s.keys.insert(key.clone()) {
            return false;
        }
        out.key(s.written == 0, key);
        s.written += 1;
        if repeated {
            out.begin(true);
            out.item(true);
            s.open_array = Some(key.clone());
        }
        true
    }

    /// Ends an opened streamed element: the open array, `#text`, `}`.
    fn close<W: Write>(&mut self, out: &mut JsonOut<W>) {
        self.trailing();
        let Some(s) = &mut self.stream else {
            return;
        };
        if s.open_array.take().is_some() {
            out.end(true, true);
        }
        for (k, v) in self.members.drain(..) {
            out.key(s.written == 0, &k);
            out.node(&v);
            s.written += 1;
        }
        out.end(false, s.written > 0);
    }
}

/// Builds (or writes) the JSON of one document.
pub(crate) struct Builder<'s, W: Write> {
    frames: Vec<Frame>,
    shapes: ShapeCache,
    /// `is_code_type` per type id (0 = not yet known, 1 = no, 2 = yes).
    code_types: Vec<u8>,
    /// The root's value when nothing is written.
    pub(crate) root: Option<Node>,
    pub(crate) binaries: Vec<ExtractedBinary>,
    sink: &'s mut dyn BinarySink,
    pub(crate) sink_error: Option<std::io::Error>,
    out: Option<JsonOut<W>>,
    max_buffered: usize,
    buffered: usize,
    /// Most estimated JSON bytes held at once.
    pub(crate) peak_buffered: usize,
    /// Set once; then every event is ignored (the validator still finishes its report).
    pub(crate) failure: Option<Failure>,
}

impl<'s> Builder<'s, std::io::Sink> {
    /// Holds everything; the root's value ends up in [`Builder::root`].
    pub(crate) fn new(sink: &'s mut dyn BinarySink) -> Self {
        Self::with_output(sink, None, usize::MAX)
    }
}

impl<'s, W: Write> Builder<'s, W> {
    /// Streams into `out` (placed where the root's value belongs), holding at most
    /// `max_buffered` estimated bytes.
    pub(crate) fn streaming(
        sink: &'s mut dyn BinarySink,
        out: JsonOut<W>,
        max_buffered: usize,
    ) -> Self {
        Self::with_output(sink, Some(out), max_buffered)
    }

    fn with_output(
        sink: &'s mut dyn BinarySink,
        out: Option<JsonOut<W>>,
        max_buffered: usize,
    ) -> Self {
        Self {
            frames: Vec::new(),
            shapes: ShapeCache::default(),
            code_types: Vec::new(),
            root: None,
            binaries: Vec::new(),
            sink,
            sink_error: None,
            out,
            max_buffered,
            buffered: 0,
            peak_buffered: 0,
            failure: None,
        }
    }

    /// The limit on held bytes.
    pub(crate) fn max_buffered(&self) -> usize {
        self.max_buffered
    }

    /// The output back, after the document.
    pub(crate) fn take_output(&mut self) -> Option<JsonOut<W>> {
        self.out.take()
    }

    fn fail(&mut self, f: Failure) {
        if self.failure.is_none() {
            self.failure = Some(f);
        }
        self.frames.clear();
        self.root = None;
        self.buffered = 0;
    }

    /// Counts `n` more held bytes on the current element.
    fn hold(&mut self, n: usize) {
        if let Some(f) = self.frames.last_mut() {
            f.bytes += n;
        }
        self.buffered += n;
        self.peak_buffered = self.peak_buffered.max(self.buffered);
    }

    fn binary(&mut self, bytes: &[u8]) -> Node {
        let id = format!("binary-{}", self.binaries.len() + 1);
        let mut path = String::new();
        for f in &self.frames {
            path.push('/');
            path.push_str(&f.key);
        }
        let entry = ExtractedBinary::new(id, bytes, path);
        if self.sink_error.is_none()
            && let Err(e) = self.sink.put(&entry, bytes)
        {
            self.sink_error = Some(e);
        }
        let reference = entry.reference_node();
        self.binaries.push(entry);
        reference
    }

    fn simple_json(&mut self, st: &SimpleType, lexical: &str, typed: Option<&Value>) -> Node {
        let kind = value_kind(st);
        match (&kind, typed) {
            (ValueKind::Binary, Some(Value::Base64Binary(bytes))) => self.binary(bytes),
            _ => Node::Leaf(to_json(&kind, st, lexical, typed)),
        }
    }
}

impl<W: Write> Observer for Builder<'_, W> {
    fn start_element(&mut self, g: &Grammar, info: &ElementInfo<'_>) {
        if self.failure.is_some() {
            return;
        }
        let (key, repeated): (Rc<str>, bool) = match self.frames.last() {
            None => (info.local.into(), false),
            Some(parent) => {
                let child = parent.shape.as_ref().and_then(|s| {
                    // The matched declaration names the element; look the name up otherwise.
                    let q = match info.decl {
                        Some(d) => g.element(d).name,
                        None => g.names().lookup(g.names().ns_id(info.ns), info.local)?,
                    };
                    s.children.get(&q)
                });
                match child {
                    Some(c) => (c.key.clone(), c.repeated),
                    // Not named by the parent's model (wildcard or unassessed): always arrays.
                    None => (clark(info.ns, info.local).into(), true),
                }
            }
        };
        let kind = element_kind(g, info.type_id);
        let shape = match kind {
            ElementKind::Elements { model, .. } => Some(self.shapes.get(g, model)),
            _ => None,
        };
        let order = match (&kind, &shape) {
            (ElementKind::Elements { mixed: true, .. } | ElementKind::Unassessed, _) => {
                Some(Vec::new())
            }
            (_, Some(s)) if s.order_sensitive => Some(Vec::new()),
            _ => None,
        };
        // Streamed: below a streamed parent (or the root), element-only content that keeps
        // same-named siblings together, not nil. Models with a wildcard are held: elements it
        // matches are keyed by name at run time, so two wildcard particles could bring the same
        // key back after other siblings.
        let stream = self.out.is_some()
            && order.is_none()
            && !info.nil
            && matches!(kind, ElementKind::Elements { mixed: false, .. })
            && shape.as_ref().is_some_and(|s| !s.has_wildcard)
            && self.frames.last().is_none_or(|p| p.stream.is_some());
        if stream && let (Some(out), Some(parent)) = (self.out.as_mut(), self.frames.last_mut()) {
            let freed = parent.open(out);
            self.buffered = self.buffered.saturating_sub(freed);
            if !parent.member(out, &key, repeated) {
                self.fail(Failure::OutOfOrder(key.to_string()));
                return;
            }
        }
        let mut members = Vec::new();
        let mut bytes = 0;
        if let (Some(decl), Some(t)) = (info.decl, info.type_id)
            && g.element(decl).type_id != t
            && let Some(name) = type_clark(g, t)
        {
            bytes += text_size(XSI_TYPE_KEY) + text_size(&name) + 2;
            members.push((XSI_TYPE_KEY.into(), Node::Leaf(Json::String(name))));
        }
        let code = match info.type_id {
            Some(t) => {
                let i = t as usize;
                if self.code_types.len() <= i {
                    self.code_types.resize(i + 1, 0);
                }
                if self.code_types[i] == 0 {
                    self.code_types[i] = if is_code_type(g, t) { 2 } else { 1 };
                }
                self.code_types[i] == 2
            }
            None => false,
        };
        self.frames.push(Frame {
            key,
            repeated,
            type_id: info.type_id,
            code,
            kind,
            nil: info.nil,
            shape,
            members,
            order,
            texts: Vec::new(),
            value: None,
            bytes: 0,
            stream: stream.then(Streaming::default),
        });
        self.hold(bytes);
    }

    fn attribute(&mut self, g: &Grammar, info: &AttributeInfo<'_>) {
        if self.failure.is_some() {
            return;
        }
        let Some(f) = self.frames.last() else {
            return;
        };
        let key = attribute_key(info.ns, info.local, f.code);
        let st = info.name.and_then(|q| attribute_type(g, f.type_id, q));
        let v = match st {
            Some(st) => self.simple_json(&st, info.value, info.typed),
            None => Node::Leaf(Json::String(info.value.to_owned())),
        };
        let n = text_size(&key) + 2 + node_size(&v);
        if let Some(f) = self.frames.last_mut() {
            f.members.push((key, v));
        }
        self.hold(n);
    }

    fn text(&mut self, _g: &Grammar, text: &str) {
        if self.failure.is_some() {
            return;
        }
        let mut n = text_size(text) + 1;
        if let Some(f) = self.frames.last_mut() {
            f.texts.push(Node::Leaf(Json::String(text.to_owned())));
            if let Some(order) = &mut f.order {
                order.push(Node::Leaf(Json::String(TEXT_KEY.into())));
                n += text_size(TEXT_KEY) + 1;
            }
        }
        self.hold(n);
        if self.buffered > self.max_buffered {
            self.fail(Failure::BufferLimit);
        }
    }

    fn unassessed_text(&mut self, g: &Grammar, text: &str) {
        self.text(g, text);
    }

    fn simple_value(&mut self, _g: &Grammar, lexical: &str, typed: Option<&Value>) {
        if self.failure.is_some() {
            return;
        }
        let st: Option<Arc<SimpleType>> = match self.frames.last() {
            Some(f) if f.nil => None,
            Some(Frame {
                kind: ElementKind::Simple(st) | ElementKind::SimpleContent(st),
                ..
            }) => Some(st.clone()),
            _ => None,
        };
        let v = match st {
            Some(st) => self.simple_json(&st, lexical, typed),
            None => Node::Leaf(Json::Null),
        };
        let n = node_size(&v);
        if let Some(f) = self.frames.last_mut() {
            f.value = Some(v);
        }
        self.hold(n);
    }

    fn end_element(&mut self, _g: &Grammar) {
        if self.failure.is_some() {
            return;
        }
        let Some(mut f) = self.frames.pop() else {
            return;
        };
        let bytes = f.bytes;
        let streamed = f.stream.is_some();
        if let Some(out) = self.out.as_mut() {
            if f.stream.as_ref().is_some_and(|s| s.opened) {
                f.close(out);
                self.buffered = self.buffered.saturating_sub(bytes);
            } else {
                let (key, repeated) = (std::mem::take(&mut f.key), f.repeated);
                let node = f.finish();
                match self.frames.last_mut() {
                    // A streamed element's key was written when it started.
                    _ if streamed => out.node(&node),
                    None => out.node(&node),
                    Some(parent) if parent.stream.is_some() => {
                        self.buffered = self.buffered.saturating_sub(parent.open(out));
                        if !parent.member(out, &key, repeated) {
                            self.fail(Failure::OutOfOrder(key.to_string()));
                            return;
                        }
                        out.node(&node);
                    }
                    Some(parent) => {
                        let extra = fold(parent, key.to_string(), repeated, node);
                        parent.bytes += bytes + extra;
                        self.buffered += extra;
                        self.peak_buffered = self.peak_buffered.max(self.buffered);
                        if self.buffered > self.max_buffered {
                            self.fail(Failure::BufferLimit);
                        }
                        return;
                    }
                }
                self.buffered = self.buffered.saturating_sub(bytes);
            }
            if out.error.is_some() {
                self.fail(Failure::Write);
            }
            return;
        }
        let (key, repeated) = (std::mem::take(&mut f.key), f.repeated);
        let node = f.finish();
        match self.frames.last_mut() {
            None => self.root = Some(node),
            Some(parent) => {
                let extra = fold(parent, key.to_string(), repeated, node);
                parent.bytes += bytes + extra;
                self.buffered += extra;
                self.peak_buffered = self.peak_buffered.max(self.buffered);
            }
        }
    }
}

/// Adds a finished child to a held parent; returns the bytes its key adds.
fn fold(parent: &mut Frame, key: String, repeated: bool, node: Node) -> usize {
    let mut extra = text_size(&key) + 2;
    if let Some(order) = &mut parent.order {
        order.push(Node::Leaf(Json::String(key.clone())));
        extra += text_size(&key) + 1;
    }
    if repeated {
        Node::push_repeated(&mut parent.members, key, node);
    } else {
        // A second occurrence only happens in invalid documents, whose JSON is discarded.
        parent.members.push((key, node));
    }
    extra
}
