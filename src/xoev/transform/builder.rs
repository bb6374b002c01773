//! The [`Observer`] that builds the JSON while the validator walks the document: one small frame
//! per open element, each finished element folded into its parent at once, so memory is the
//! output JSON plus the nesting depth, never a document tree.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

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

struct Frame {
    key: String,
    repeated: bool,
    type_id: Option<crate::xsd::components::TypeId>,
    kind: ElementKind,
    code: bool,
    nil: bool,
    shape: Option<Rc<ModelShape>>,
    obj: Map<String, Json>,
    order: Option<Vec<Json>>,
    texts: Vec<Json>,
    value: Option<Json>,
}

/// Builds the JSON of one document.
pub(crate) struct Builder<'s> {
    frames: Vec<Frame>,
    shapes: ShapeCache,
    /// `is_code_type` per type id (0 = not yet known, 1 = no, 2 = yes).
    code_types: Vec<u8>,
    pub(crate) root: Option<Json>,
    pub(crate) binaries: Vec<ExtractedBinary>,
    sink: &'s mut dyn BinarySink,
    pub(crate) sink_error: Option<std::io::Error>,
}

impl<'s> Builder<'s> {
    pub(crate) fn new(sink: &'s mut dyn BinarySink) -> Self {
        Self {
            frames: Vec::new(),
            shapes: ShapeCache::default(),
            code_types: Vec::new(),
            root: None,
            binaries: Vec::new(),
            sink,
            sink_error: None,
        }
    }

    fn binary(&mut self, bytes: &[u8]) -> Json {
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
        let reference = entry.reference();
        self.binaries.push(entry);
        reference
    }

    fn simple_json(&mut self, st: &SimpleType, lexical: &str, typed: Option<&Value>) -> Json {
        let kind = value_kind(st);
        match (&kind, typed) {
            (ValueKind::Binary, Some(Value::Base64Binary(bytes))) => self.binary(bytes),
            _ => to_json(&kind, st, lexical, typed),
        }
    }
}

impl Observer for Builder<'_> {
    fn start_element(&mut self, g: &Grammar, info: &ElementInfo<'_>) {
        let (key, repeated) = match self.frames.last() {
            None => (info.local.to_owned(), false),
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
                    None => (clark(info.ns, info.local), true),
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
        let mut obj = Map::new();
        if let (Some(decl), Some(t)) = (info.decl, info.type_id)
            && g.element(decl).type_id != t
            && let Some(name) = type_clark(g, t)
        {
            obj.insert(XSI_TYPE_KEY.into(), Json::String(name));
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
            obj,
            order,
            texts: Vec::new(),
            value: None,
        });
    }

    fn attribute(&mut self, g: &Grammar, info: &AttributeInfo<'_>) {
        let Some(f) = self.frames.last() else {
            return;
        };
        let key = attribute_key(info.ns, info.local, f.code);
        let st = info.name.and_then(|q| attribute_type(g, f.type_id, q));
        let v = match st {
            Some(st) => self.simple_json(&st, info.value, info.typed),
            None => Json::String(info.value.to_owned()),
        };
        if let Some(f) = self.frames.last_mut() {
            f.obj.insert(key, v);
        }
    }

    fn text(&mut self, _g: &Grammar, text: &str) {
        if let Some(f) = self.frames.last_mut() {
            f.texts.push(Json::String(text.to_owned()));
            if let Some(order) = &mut f.order {
                order.push(Json::String(TEXT_KEY.into()));
            }
        }
    }

    fn unassessed_text(&mut self, g: &Grammar, text: &str) {
        self.text(g, text);
    }

    fn simple_value(&mut self, _g: &Grammar, lexical: &str, typed: Option<&Value>) {
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
            None => Json::Null,
        };
        if let Some(f) = self.frames.last_mut() {
            f.value = Some(v);
        }
    }

    fn end_element(&mut self, _g: &Grammar) {
        let Some(mut f) = self.frames.pop() else {
            return;
        };
        if !f.texts.is_empty() {
            f.obj
                .insert(TEXT_KEY.into(), Json::Array(std::mem::take(&mut f.texts)));
        }
        if let Some(order) = f.order.take()
            && !order.is_empty()
        {
            f.obj.insert(ORDER_KEY.into(), Json::Array(order));
        }
        let v = if f.nil {
            if f.obj.is_empty() {
                Json::Null
            } else {
                f.obj.insert(XSI_NIL_KEY.into(), Json::Bool(true));
                Json::Object(f.obj)
            }
        } else {
            match f.kind {
                ElementKind::Simple(_) if f.obj.is_empty() => f.value.unwrap_or(Json::Null),
                ElementKind::Simple(_) | ElementKind::SimpleContent(_) => {
                    f.obj
                        .insert(VALUE_KEY.into(), f.value.unwrap_or(Json::Null));
                    Json::Object(f.obj)
                }
                _ => Json::Object(f.obj),
            }
        };
        let Some(parent) = self.frames.last_mut() else {
            self.root = Some(v);
            return;
        };
        if let Some(order) = &mut parent.order {
            order.push(Json::String(f.key.clone()));
        }
        if f.repeated {
            match parent
                .obj
                .entry(f.key)
                .or_insert_with(|| Json::Array(Vec::new()))
            {
                Json::Array(items) => items.push(v),
                other => *other = Json::Array(vec![other.take(), v]),
            }
        } else {
            // A second occurrence only happens in invalid documents, whose JSON is discarded.
            parent.obj.insert(f.key, v);
        }
    }
}
