//! JSON → XML, the inverse of the transform for the same grammar (`poststelle transform
//! --to-xml`). Element names, namespaces and the order of children come from the schema (and
//! from `#order` where the schema leaves order open), so the JSON needs no XML hints.

use std::collections::HashMap;
use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::{Map, Value as Json};

use crate::xml::chars::{first_invalid_char, is_ncname};
use crate::xsd::Grammar;
use crate::xsd::components::{ElemId, TypeId, TypeKind};

use super::binary::BinarySource;
use super::builder::{ORDER_KEY, TEXT_KEY, VALUE_KEY, XSI_NIL_KEY, XSI_TYPE_KEY};
use super::kind::{ElementKind, element_kind, is_code_type};
use super::shape::ShapeCache;
use super::value::to_lexical;

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// Why JSON could not be turned back into XML. Names keys and paths, never values.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ToXmlError {
    /// Where in the JSON (`/data/child/…`).
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Turns a transform envelope (`{"message": …, "data": …}`, see
/// [`Transformed::to_json`](super::Transformed::to_json)) back into an XML document.
pub fn to_xml(
    grammar: &Grammar,
    envelope: &Json,
    binaries: &dyn BinarySource,
) -> Result<String, ToXmlError> {
    let err = |path: &str, reason: &str| ToXmlError {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    let message = envelope
        .get("message")
        .ok_or_else(|| err("/", "no message"))?;
    let ns = message
        .get("namespace")
        .and_then(Json::as_str)
        .ok_or_else(|| err("/message", "no namespace"))?;
    let local = message
        .get("type")
        .and_then(Json::as_str)
        .ok_or_else(|| err("/message", "no type"))?;
    let decl = grammar
        .root_element(ns, local)
        .ok_or_else(|| err("/message", "the grammar has no such message root"))?;
    let data = envelope.get("data").ok_or_else(|| err("/", "no data"))?;
    let mut w = Writer {
        g: grammar,
        out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        shapes: ShapeCache::default(),
        binaries,
        path: "/data".into(),
        root_done: false,
    };
    w.element(ns, local, Some(decl), data)?;
    w.out.push('\n');
    Ok(w.out)
}

struct Writer<'a> {
    g: &'a Grammar,
    out: String,
    shapes: ShapeCache,
    binaries: &'a dyn BinarySource,
    path: String,
    root_done: bool,
}

fn escape(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attr => out.push_str("&quot;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// `{ns}local` or `local` → (ns, local).
fn parse_clark(key: &str) -> (&str, &str) {
    match key.strip_prefix('{').and_then(|k| k.split_once('}')) {
        Some((ns, local)) => (ns, local),
        None => ("", key),
    }
}

impl Writer<'_> {
    fn fail(&self, reason: impl Into<String>) -> ToXmlError {
        ToXmlError {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// `s` as it may appear in an XML 1.0 document: characters outside production `Char`
    /// (C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF) have no escape
    /// there, so the JSON is refused, naming the character (not the value).
    fn xml_text<'s>(&self, s: &'s str, what: &str) -> Result<&'s str, ToXmlError> {
        match first_invalid_char(s) {
            None => Ok(s),
            Some(c) => Err(self.fail(format!(
                "{what} contains U+{c:04X}, a character not allowed in XML 1.0"
            ))),
        }
    }

    /// A local name taken from a JSON key (wildcard children, attributes): must be an NCName,
    /// or the output would not be well-formed.
    fn xml_name<'s>(&self, local: &'s str, what: &str) -> Result<&'s str, ToXmlError> {
        if is_ncname(local) {
            Ok(local)
        } else {
            Err(self.fail(format!("{what} name is not an XML name (NCName)")))
        }
    }

    /// Prefix for a namespace: grammar namespaces are declared on the root as `n<id>`; others
    /// get a local declaration on the element that uses them.
    fn prefix(&self, ns: &str, local_decls: &mut Vec<(String, String)>) -> String {
        if ns == XML_NS {
            return "xml".into();
        }
        if ns == XSI_NS {
            return "xsi".into();
        }
        let id = self.g.names().ns_id(ns);
        if id != crate::xsd::components::UNKNOWN_NS {
            return format!("n{id}");
        }
        if let Some((p, _)) = local_decls.iter().find(|(_, u)| u == ns) {
            return p.clone();
        }
        let p = format!("w{}", local_decls.len());
        local_decls.push((p.clone(), ns.to_owned()));
        p
    }

    fn lexical(&mut self, v: &Json) -> Result<String, ToXmlError> {
        if let Some(id) = v.get("attachment").and_then(Json::as_str) {
            let bytes = self
                .binaries
                .get(id)
                .map_err(|e| self.fail(format!("binary {id}: {e}")))?;
            return Ok(base64::engine::general_purpose::STANDARD.encode(bytes));
        }
        let lexical = to_lexical(v).ok_or_else(|| self.fail("expected a simple value"))?;
        self.xml_text(&lexical, "the value")?;
        Ok(lexical)
    }

    fn element(
        &mut self,
        ns: &str,
        local: &str,
        decl: Option<ElemId>,
        v: &Json,
    ) -> Result<(), ToXmlError> {
        let g = self.g;
        let empty = Map::new();
        let obj = v.as_object();
        let mut type_id: Option<TypeId> = decl.map(|d| g.element(d).type_id);
        if let Some(name) = obj.and_then(|o| o.get(XSI_TYPE_KEY)).and_then(Json::as_str) {
            let (tns, tlocal) = parse_clark(name);
            let t = g
                .names()
                .lookup(g.names().ns_id(tns), tlocal)
                .and_then(|q| g.global_types.get(&q).copied())
                .ok_or_else(|| self.fail("@xsi:type names an unknown type"))?;
            type_id = Some(t);
        }
        self.xml_name(local, "the element")?;
        self.xml_text(ns, "the element's namespace")?;
        let kind = element_kind(g, type_id);
        let code = type_id.is_some_and(|t| is_code_type(g, t));
        let nil = v.is_null() || obj.and_then(|o| o.get(XSI_NIL_KEY)) == Some(&Json::Bool(true));
        let mut decls: Vec<(String, String)> = Vec::new();
        let mut head = String::new();
        let mut attrs = String::new();
        let p = if ns.is_empty() {
            String::new()
        } else {
            self.prefix(ns, &mut decls)
        };
        if p.is_empty() {
            head.push_str(local);
        } else {
            let _ = write!(head, "{p}:{local}");
        }
        if !self.root_done {
            self.root_done = true;
            let names = g.names();
            let _ = write!(attrs, " xmlns:xsi=\"{XSI_NS}\"");
            let mut id = 1u32;
            loop {
                let uri = names.ns_uri(id);
                if uri.is_empty() {
                    break;
                }
                if uri != XML_NS && uri != XSI_NS {
                    let _ = write!(attrs, " xmlns:n{id}=\"");
                    escape(&mut attrs, uri, true);
                    attrs.push('"');
                }
                id += 1;
            }
        }
        if nil {
            attrs.push_str(" xsi:nil=\"true\"");
        }
        let needs_object = matches!(
            kind,
            ElementKind::Elements { .. } | ElementKind::Empty | ElementKind::SimpleContent(_)
        );
        if needs_object && !nil && obj.is_none() {
            return Err(self.fail("expected an object"));
        }
        let o = obj.unwrap_or(&empty);
        if let Some(t) = obj.and_then(|o| o.get(XSI_TYPE_KEY)).and_then(Json::as_str) {
            let (tns, tlocal) = parse_clark(t);
            let tp = self.prefix(tns, &mut decls);
            let _ = write!(attrs, " xsi:type=\"{tp}:{tlocal}\"");
        }
        // Attributes: `@…` keys, and on code types the unqualified attribute uses by name.
        let code_attrs: Vec<&str> = match type_id.map(|t| &g.type_def(t).kind) {
            Some(TypeKind::Complex(ct)) if code => ct
                .attributes
                .iter()
                .filter(|u| g.names().ns_of(u.name) == 0)
                .map(|u| g.names().local(u.name))
                .collect(),
            _ => Vec::new(),
        };
        for (k, av) in o {
            let name = if k == XSI_TYPE_KEY || k == XSI_NIL_KEY {
                continue;
            } else if let Some(n) = k.strip_prefix('@') {
                n
            } else if code_attrs.contains(&k.as_str()) {
                k.as_str()
            } else {
                continue;
            };
            let (ans, alocal) = parse_clark(name);
            self.xml_name(alocal, "an attribute")?;
            self.xml_text(ans, "an attribute's namespace")?;
            let lexical = self.lexical(av)?;
            attrs.push(' ');
            if !ans.is_empty() {
                let ap = self.prefix(ans, &mut decls);
                let _ = write!(attrs, "{ap}:");
            }
            attrs.push_str(alocal);
            attrs.push_str("=\"");
            escape(&mut attrs, &lexical, true);
            attrs.push('"');
        }
        self.out.push('<');
        self.out.push_str(&head);
        for (p, uri) in &decls {
            let _ = write!(self.out, " xmlns:{p}=\"");
            escape(&mut self.out, uri, true);
            self.out.push('"');
        }
        self.out.push_str(&attrs);
        self.out.push('>');
        if !nil {
            match &kind {
                ElementKind::Simple(_) | ElementKind::SimpleContent(_) => {
                    let value = match obj {
                        Some(o) if !o.contains_key("attachment") => {
                            o.get(VALUE_KEY).ok_or_else(|| self.fail("no #value"))?
                        }
                        _ => v,
                    };
                    let lexical = self.lexical(value)?;
                    escape(&mut self.out, &lexical, false);
                }
                ElementKind::Empty => {}
                ElementKind::Elements { model, .. } => {
                    let model = *model;
                    self.children(o, Some(model), code_attrs.as_slice())?;
                }
                ElementKind::Unassessed => self.children(o, None, &[])?,
            }
        }
        self.out.push_str("</");
        self.out.push_str(&head);
        self.out.push('>');
        Ok(())
    }

    fn children(
        &mut self,
        o: &Map<String, Json>,
        model: Option<crate::xsd::components::ModelId>,
        skip: &[&str],
    ) -> Result<(), ToXmlError> {
        let g = self.g;
        let shape = model.map(|m| self.shapes.get(g, m));
        let mut by_key: HashMap<&str, (String, String, Option<ElemId>)> = HashMap::new();
        if let Some(s) = &shape {
            for c in &s.children {
                let names = g.names();
                by_key.insert(
                    &*c.key,
                    (
                        names.ns_uri(names.ns_of(c.name)).to_owned(),
                        names.local(c.name).to_owned(),
                        Some(c.decl),
                    ),
                );
            }
        }
        let resolve = |key: &str| -> (String, String, Option<ElemId>) {
            if let Some(r) = by_key.get(key) {
                return r.clone();
            }
            let (ns, local) = parse_clark(key);
            (ns.to_owned(), local.to_owned(), g.root_element(ns, local))
        };
        let repeated = |k: &str| {
            shape
                .as_ref()
                .and_then(|s| s.children.iter().find(|c| *c.key == *k).map(|c| c.repeated))
                .unwrap_or(true)
        };
        let is_child = |k: &str| !k.starts_with('@') && !k.starts_with('#') && !skip.contains(&k);
        if let Some(order) = o.get(ORDER_KEY).and_then(Json::as_array) {
            let mut cursors: HashMap<&str, usize> = HashMap::new();
            for entry in order {
                let k = entry
                    .as_str()
                    .ok_or_else(|| self.fail("#order entry is not a key"))?;
                if k != TEXT_KEY
                    && !by_key.contains_key(k)
                    && shape.as_ref().is_some_and(|s| !s.has_wildcard)
                {
                    return Err(self.fail(format!("#order names {k}, not a child element here")));
                }
                let i = cursors.entry(k).or_insert(0);
                let item = match o.get(k) {
                    Some(Json::Array(items)) if k == TEXT_KEY || repeated(k) => items.get(*i),
                    Some(other) if *i == 0 => Some(other),
                    _ => None,
                };
                *i += 1;
                let item = item.ok_or_else(|| {
                    self.fail(format!("#order names {k} more often than it occurs"))
                })?;
                if k == TEXT_KEY {
                    let t = item
                        .as_str()
                        .ok_or_else(|| self.fail("#text item is not a string"))?;
                    let t = self.xml_text(t, "the #text item")?;
                    escape(&mut self.out, t, false);
                } else {
                    let (ns, local, decl) = resolve(k);
                    self.child(k, &ns, &local, decl, item)?;
                }
            }
            return Ok(());
        }
        let mut keys: Vec<&str> = Vec::new();
        if let Some(s) = &shape {
            keys.extend(s.children.iter().map(|c| &*c.key));
        }
        for k in o.keys() {
            if is_child(k) && !keys.contains(&k.as_str()) {
                if shape.as_ref().is_some_and(|s| !s.has_wildcard) {
                    return Err(self.fail(format!("{k} is not a child element here")));
                }
                keys.push(k);
            }
        }
        for k in keys {
            let Some(v) = o.get(k) else { continue };
            let (ns, local, decl) = resolve(k);
            match v {
                Json::Array(items) if repeated(k) => {
                    for item in items {
                        self.child(k, &ns, &local, decl, item)?;
                    }
                }
                _ => self.child(k, &ns, &local, decl, v)?,
            }
        }
        Ok(())
    }

    fn child(
        &mut self,
        key: &str,
        ns: &str,
        local: &str,
        decl: Option<ElemId>,
        v: &Json,
    ) -> Result<(), ToXmlError> {
        let len = self.path.len();
        self.path.push('/');
        self.path.push_str(key);
        let r = self.element(ns, local, decl, v);
        self.path.truncate(len);
        r
    }
}
