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

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::rc::Rc;

use serde_json::Value as Json;

use crate::xsd::Grammar;
use crate::xsd::components::QNameId;
use crate::xsd::datatypes::Value;
use crate::xsd::simple::SimpleType;
use crate::xsd::validator::{AttributeInfo, ElementInfo, Observer};

use super::binary::{BinarySink, ExtractedBinary};
use super::kind::{
    ElementKind, attribute_key, attribute_type, element_kind, is_code_type, type_clark,
};
use super::shape::{ModelShape, ShapeCache, clark};
use super::value::{ValueKind, needs_typed, to_json, value_kind};
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

/// The state of a streamed element. Kept in its frame slot and reused by the next element at
/// the same depth, so the bit set and the spare key set keep their allocations.
#[derive(Debug, Default)]
struct Streaming {
    /// `{` and the held members (attributes) are written.
    opened: bool,
    /// Members written.
    written: usize,
    /// The key of the array written last, still open for more items.
    open_array: Option<Key>,
    /// Child keys written (a key must not come back), by [`super::shape::ChildShape::index`] in the
    /// element's shape.
    written_children: Vec<u64>,
    /// Other keys written: attribute keys without `@` (`listURI`, `listVersionID` of code
    /// types), and element keys the shape does not name (only in documents that are not
    /// valid: a streamed element's model has no wildcard). Empty for most elements.
    written_other: HashSet<Rc<str>, foldhash::fast::RandomState>,
}

impl Streaming {
    fn reset(&mut self, children: usize) {
        self.opened = false;
        self.written = 0;
        self.open_array = None;
        self.written_children.clear();
        self.written_children.resize(children.div_ceil(64), 0);
        self.written_other.clear();
    }

    /// Writes the key of a held member of an opened element (an attribute or `@xsi:type`),
    /// up to its value. Element keys never start with `@`, so only the code types'
    /// `listURI`/`listVersionID` are recorded: a child element of that name would repeat the
    /// key.
    fn attribute<W: Write>(&mut self, out: &mut JsonOut<W>, key: Rc<str>) {
        out.key(self.written == 0, &key);
        self.written += 1;
        if !key.starts_with('@') {
            self.written_other.insert(key);
        }
    }

    /// Records that `key` (whose text is `text`) is written; `false` when it was written
    /// before.
    fn first_time(&mut self, key: &Key, text: &str) -> bool {
        if !self.written_other.is_empty() && self.written_other.contains(text) {
            return false;
        }
        match key {
            Key::Child(i) => {
                let (word, bit) = ((i / 64) as usize, 1u64 << (i % 64));
                match self.written_children.get_mut(word) {
                    Some(w) if *w & bit != 0 => false,
                    Some(w) => {
                        *w |= bit;
                        true
                    }
                    None => self.written_other.insert(text.into()),
                }
            }
            Key::Own(text) => self.written_other.insert(text.clone()),
        }
    }
}

/// The JSON key of an element in its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    /// The parent's shape names the element: its [`super::shape::ChildShape::index`] there
    /// (the key text and its JSON form are the shape's, nothing is copied per element).
    Child(u32),
    /// The root, or an element the parent's model does not name (`{ns}local`).
    Own(Rc<str>),
}

impl Default for Key {
    fn default() -> Self {
        Key::Child(0)
    }
}

impl Key {
    /// The key text; `parent` is the shape of the element's parent.
    fn text<'a>(&'a self, parent: Option<&'a ModelShape>) -> &'a str {
        match self {
            Key::Child(i) => parent
                .and_then(|s| s.children.get(*i as usize))
                .map_or("", |c| &c.key),
            Key::Own(text) => text,
        }
    }

    /// The key text as a shared string (for a held parent's members).
    fn shared(&self, parent: Option<&ModelShape>) -> Rc<str> {
        match self {
            Key::Child(i) => parent
                .and_then(|s| s.children.get(*i as usize))
                .map_or_else(|| Rc::from(""), |c| c.key.clone()),
            Key::Own(text) => text.clone(),
        }
    }
}

/// What an element's value is made of, for [`Frame::finish`] (the element's [`ElementKind`]
/// without the borrowed type).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Form {
    /// A simple type: the element is its value (an object only with `@xsi:type`).
    Simple,
    /// Simple content: an object with `#value`.
    SimpleContent,
    /// Anything else: an object of members.
    #[default]
    Members,
}

#[derive(Default)]
struct Frame {
    key: Key,
    repeated: bool,
    type_id: Option<crate::xsd::components::TypeId>,
    form: Form,
    code: bool,
    nil: bool,
    shape: Option<Rc<ModelShape>>,
    /// Held members (a streamed element: only those not written yet).
    members: Vec<(Rc<str>, Node)>,
    order: Option<Vec<Node>>,
    texts: Vec<Node>,
    value: Option<Node>,
    /// Estimated JSON bytes held by this frame.
    bytes: usize,
    /// Streamed (see the module doc); `stream` holds the state.
    streamed: bool,
    stream: Streaming,
    /// The element's value was written to the output already (a simple value below a streamed
    /// parent); its end writes nothing.
    written: bool,
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

    /// The complete value of an element that is not (or no longer) being written; the frame's
    /// members are taken.
    fn finish(&mut self) -> Node {
        self.trailing();
        let members = std::mem::take(&mut self.members);
        let value = self.value.take();
        if self.nil {
            if members.is_empty() {
                return Node::Leaf(Json::Null);
            }
            let mut members = members;
            members.push((XSI_NIL_KEY.into(), Node::Leaf(Json::Bool(true))));
            return Node::Object(members);
        }
        match self.form {
            Form::Simple if members.is_empty() => value.unwrap_or(Node::Leaf(Json::Null)),
            Form::Simple | Form::SimpleContent => {
                let mut members = members;
                members.push((VALUE_KEY.into(), value.unwrap_or(Node::Leaf(Json::Null))));
                Node::Object(members)
            }
            _ => Node::Object(members),
        }
    }

    /// Writes `{` and the held members of a streamed element (once); returns the bytes freed.
    fn open<W: Write>(&mut self, out: &mut JsonOut<W>) -> usize {
        if !self.streamed || self.stream.opened {
            return 0;
        }
        let s = &mut self.stream;
        s.opened = true;
        out.begin(false);
        // Held members are attributes and `@xsi:type`.
        for (k, v) in self.members.drain(..) {
            s.attribute(out, k);
            out.node(&v);
        }
        std::mem::take(&mut self.bytes)
    }

    /// Writes what precedes the value of the child `key` of an opened streamed element.
    /// `false`: the key was written before and is not the open array.
    fn member<W: Write>(&mut self, out: &mut JsonOut<W>, key: &Key, repeated: bool) -> bool {
        if !self.streamed {
            return true;
        }
        let s = &mut self.stream;
        if repeated && s.open_array.as_ref() == Some(key) {
            out.item(false);
            return true;
        }
        if s.open_array.take().is_some() {
            out.end(true, true);
        }
        let child = match key {
            Key::Child(i) => self
                .shape
                .as_deref()
                .and_then(|sh| sh.children.get(*i as usize)),
            Key::Own(_) => None,
        };
        let text = child.map_or_else(|| key.text(None), |c| &*c.key);
        if !s.first_time(key, text) {
            return false;
        }
        match child {
            Some(c) => out.key_json(s.written == 0, &c.key_json),
            None => out.key(s.written == 0, text),
        }
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
        if !self.streamed {
            return;
        }
        let s = &mut self.stream;
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
    /// Frame slots; `frames[..depth]` are the open elements. A slot is reused by the next
    /// element at its depth (no move of a frame per element, its vectors keep their capacity).
    frames: Vec<Frame>,
    depth: usize,
    shapes: ShapeCache,
    /// `is_code_type` per type id (0 = not yet known, 1 = no, 2 = yes).
    code_types: Vec<u8>,
    /// Attribute keys by declared name and code-ness, shared by every occurrence.
    attribute_keys: HashMap<(QNameId, bool), Rc<str>, foldhash::fast::RandomState>,
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
            depth: 0,
            shapes: ShapeCache::default(),
            code_types: Vec::new(),
            attribute_keys: HashMap::default(),
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
        self.depth = 0;
        self.root = None;
        self.buffered = 0;
    }

    /// The innermost open element.
    fn top(&self) -> Option<&Frame> {
        self.frames[..self.depth].last()
    }

    fn top_mut(&mut self) -> Option<&mut Frame> {
        self.frames[..self.depth].last_mut()
    }

    /// Counts `n` more held bytes on the current element.
    fn hold(&mut self, n: usize) {
        if let Some(f) = self.top_mut() {
            f.bytes += n;
        }
        self.buffered += n;
        self.peak_buffered = self.peak_buffered.max(self.buffered);
    }

    fn binary(&mut self, bytes: &[u8]) -> Node {
        let id = format!("binary-{}", self.binaries.len() + 1);
        let mut path = String::new();
        let mut parent: Option<&ModelShape> = None;
        for f in &self.frames[..self.depth] {
            path.push('/');
            path.push_str(f.key.text(parent));
            parent = f.shape.as_deref();
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

    /// Writes the value of a simple-typed element without attributes straight into its
    /// streamed parent (no held value); `false` when the element does not qualify (held as
    /// usual). Base64 payloads take the held path (they go to the binary sink first).
    fn write_simple(&mut self, st: &SimpleType, lexical: &str, typed: Option<&Value>) -> bool {
        let Some(out) = self.out.as_mut() else {
            return false;
        };
        let Some((f, Some(parent))) = self.frames[..self.depth]
            .split_last_mut()
            .map(|(f, rest)| (f, rest.last_mut()))
        else {
            return false;
        };
        if f.nil || f.written || !f.members.is_empty() || !parent.streamed {
            return false;
        }
        let kind = value_kind(st);
        if kind == ValueKind::Binary {
            return false;
        }
        let freed = parent.open(out);
        if !parent.member(out, &f.key, f.repeated) {
            let key = f.key.text(parent.shape.as_deref()).to_owned();
            self.fail(Failure::OutOfOrder(key));
            return true;
        }
        write_value(out, &kind, st, lexical, typed);
        f.written = true;
        self.buffered = self.buffered.saturating_sub(freed);
        if out.error.is_some() {
            self.fail(Failure::Write);
        }
        true
    }

    /// The key of an attribute (cached per declared name).
    fn attribute_key(&mut self, info: &AttributeInfo<'_>, code: bool) -> Rc<str> {
        match info.name {
            Some(q) => self
                .attribute_keys
                .entry((q, code))
                .or_insert_with(|| attribute_key(info.ns, info.local, code).into())
                .clone(),
            None => attribute_key(info.ns, info.local, code).into(),
        }
    }
}

impl<W: Write> Observer for Builder<'_, W> {
    fn wants_value(&self, st: &SimpleType) -> bool {
        needs_typed(st)
    }

    fn start_element(&mut self, g: &Grammar, info: &ElementInfo<'_>) {
        if self.failure.is_some() {
            return;
        }
        let (key, repeated) = match self.top() {
            None => (Key::Own(info.local.into()), false),
            Some(parent) => {
                let child = parent.shape.as_ref().and_then(|s| {
                    // The matched declaration names the element; look the name up otherwise.
                    let q = match info.decl {
                        Some(d) => g.element(d).name,
                        None => g.names().lookup(g.names().ns_id(info.ns), info.local)?,
                    };
                    s.child(q)
                });
                match child {
                    Some(c) => (Key::Child(c.index), c.repeated),
                    // Not named by the parent's model (wildcard or unassessed): always arrays.
                    None => (Key::Own(clark(info.ns, info.local).into()), true),
                }
            }
        };
        let kind = element_kind(g, info.type_id);
        let shape = match kind {
            ElementKind::Elements { model, .. } => Some(self.shapes.get(g, model)),
            _ => None,
        };
        let ordered = match (&kind, &shape) {
            (ElementKind::Elements { mixed: true, .. } | ElementKind::Unassessed, _) => true,
            (_, Some(s)) => s.order_sensitive,
            _ => false,
        };
        // Streamed: below a streamed parent (or the root), element-only content that keeps
        // same-named siblings together, not nil. Models with a wildcard are held: elements it
        // matches are keyed by name at run time, so two wildcard particles could bring the same
        // key back after other siblings.
        let stream = self.out.is_some()
            && !ordered
            && !info.nil
            && matches!(kind, ElementKind::Elements { mixed: false, .. })
            && shape.as_ref().is_some_and(|s| !s.has_wildcard)
            && self.top().is_none_or(|p| p.streamed);
        if stream
            && let Some(out) = self.out.as_mut()
            && let Some(parent) = self.frames[..self.depth].last_mut()
        {
            let freed = parent.open(out);
            self.buffered = self.buffered.saturating_sub(freed);
            if !parent.member(out, &key, repeated) {
                let key = key.text(parent.shape.as_deref()).to_owned();
                self.fail(Failure::OutOfOrder(key));
                return;
            }
        }
        let xsi_type = match (info.decl, info.type_id) {
            (Some(decl), Some(t)) if g.element(decl).type_id != t => type_clark(g, t),
            // Assessed by its xsi:type alone (no declaration): recorded, so --to-xml finds
            // the type again.
            (None, Some(t)) => type_clark(g, t),
            _ => None,
        };
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
        if self.depth == self.frames.len() {
            self.frames.push(Frame::default());
        }
        let f = &mut self.frames[self.depth];
        self.depth += 1;
        f.members.clear();
        f.texts.clear();
        f.value = None;
        f.bytes = 0;
        f.written = false;
        f.order = ordered.then(Vec::new);
        f.streamed = stream;
        if stream {
            f.stream
                .reset(shape.as_ref().map_or(0, |s| s.children.len()));
        }
        f.key = key;
        f.repeated = repeated;
        f.type_id = info.type_id;
        f.code = code;
        f.form = match kind {
            ElementKind::Simple(_) => Form::Simple,
            ElementKind::SimpleContent(_) => Form::SimpleContent,
            _ => Form::Members,
        };
        f.nil = info.nil;
        f.shape = shape;
        if let Some(name) = xsi_type {
            let bytes = text_size(XSI_TYPE_KEY) + text_size(&name) + 2;
            f.members
                .push((XSI_TYPE_KEY.into(), Node::Leaf(Json::String(name))));
            self.hold(bytes);
        }
    }

    fn attribute(&mut self, g: &Grammar, info: &AttributeInfo<'_>) {
        if self.failure.is_some() {
            return;
        }
        let Some(f) = self.top() else {
            return;
        };
        let (code, type_id, streamed) = (f.code, f.type_id, f.streamed);
        let key = self.attribute_key(info, code);
        let st = info.name.and_then(|q| attribute_type(g, type_id, q));
        // A streamed element is opened by its first attribute, which is then written straight
        // away (nothing held); base64 values go to the binary sink first and are held.
        let kind = st.map(value_kind);
        if streamed
            && kind != Some(ValueKind::Binary)
            && let Some(out) = self.out.as_mut()
            && let Some(f) = self.frames[..self.depth].last_mut()
        {
            let freed = f.open(out);
            self.buffered = self.buffered.saturating_sub(freed);
            f.stream.attribute(out, key);
            match (st, kind) {
                (Some(st), Some(kind)) => write_value(out, &kind, st, info.value, info.typed),
                _ => out.string(info.value),
            }
            if out.error.is_some() {
                self.fail(Failure::Write);
            }
            return;
        }
        let v = match st {
            Some(st) => self.simple_json(st, info.value, info.typed),
            None => Node::Leaf(Json::String(info.value.to_owned())),
        };
        let n = text_size(&key) + 2 + node_size(&v);
        if let Some(f) = self.top_mut() {
            f.members.push((key, v));
        }
        self.hold(n);
    }

    fn text(&mut self, _g: &Grammar, text: &str) {
        if self.failure.is_some() {
            return;
        }
        let mut n = text_size(text) + 1;
        if let Some(f) = self.top_mut() {
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

    fn simple_value(&mut self, g: &Grammar, lexical: &str, typed: Option<&Value>) {
        if self.failure.is_some() {
            return;
        }
        // The type from the grammar (not the frame), so the builder stays free to write.
        let (st, simple) = match self.top() {
            Some(f) if f.nil || f.written => (None, false),
            Some(f) => match element_kind(g, f.type_id) {
                ElementKind::Simple(st) => (Some(st), true),
                ElementKind::SimpleContent(st) => (Some(st), false),
                _ => (None, false),
            },
            None => (None, false),
        };
        if simple
            && let Some(st) = st
            && self.write_simple(st, lexical, typed)
        {
            return;
        }
        let v = match st {
            Some(st) => self.simple_json(st, lexical, typed),
            None => Node::Leaf(Json::Null),
        };
        let n = node_size(&v);
        if let Some(f) = self.top_mut() {
            f.value = Some(v);
        }
        self.hold(n);
    }

    fn end_element(&mut self, _g: &Grammar) {
        if self.failure.is_some() {
            return;
        }
        let Some((f, rest)) = self.frames[..self.depth].split_last_mut() else {
            return;
        };
        let parent = rest.last_mut();
        let bytes = f.bytes;
        if f.written {
            // Written with its value (`write_simple`); nothing was held.
            self.depth -= 1;
            return;
        }
        let streamed = f.streamed;
        if let Some(out) = self.out.as_mut() {
            let mut freed = bytes;
            let mut failure = None;
            if f.streamed && f.stream.opened {
                f.close(out);
            } else {
                let node = f.finish();
                match parent {
                    // A streamed element's key was written when it started.
                    _ if streamed => out.node(&node),
                    None => out.node(&node),
                    Some(parent) if parent.streamed => {
                        freed += parent.open(out);
                        if parent.member(out, &f.key, f.repeated) {
                            out.node(&node);
                        } else {
                            let key = f.key.text(parent.shape.as_deref()).to_owned();
                            failure = Some(Failure::OutOfOrder(key));
                        }
                    }
                    Some(parent) => {
                        let key = f.key.shared(parent.shape.as_deref());
                        let extra = fold(parent, key, f.repeated, node);
                        parent.bytes += bytes + extra;
                        self.depth -= 1;
                        self.buffered += extra;
                        self.peak_buffered = self.peak_buffered.max(self.buffered);
                        if self.buffered > self.max_buffered {
                            self.fail(Failure::BufferLimit);
                        }
                        return;
                    }
                }
            }
            self.depth -= 1;
            self.buffered = self.buffered.saturating_sub(freed);
            if let Some(failure) = failure {
                self.fail(failure);
            } else if out.error.is_some() {
                self.fail(Failure::Write);
            }
            return;
        }
        let node = f.finish();
        match parent {
            None => self.root = Some(node),
            Some(parent) => {
                let key = f.key.shared(parent.shape.as_deref());
                let extra = fold(parent, key, f.repeated, node);
                parent.bytes += bytes + extra;
                self.buffered += extra;
                self.peak_buffered = self.peak_buffered.max(self.buffered);
            }
        }
        self.depth -= 1;
    }
}

/// Writes a simple value of `kind` (not `Binary`, whose bytes go to the sink first): the
/// normalised text for strings, else the JSON the typing rules give.
fn write_value<W: Write>(
    out: &mut JsonOut<W>,
    kind: &ValueKind,
    st: &SimpleType,
    lexical: &str,
    typed: Option<&Value>,
) {
    match kind {
        ValueKind::Text => out.string(&st.normalize(lexical)),
        _ => out.json(&to_json(kind, st, lexical, typed)),
    }
}

/// Adds a finished child to a held parent; returns the bytes its key adds.
fn fold(parent: &mut Frame, key: Rc<str>, repeated: bool, node: Node) -> usize {
    let mut extra = text_size(&key) + 2;
    if let Some(order) = &mut parent.order {
        order.push(Node::Leaf(Json::String(key.to_string())));
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
