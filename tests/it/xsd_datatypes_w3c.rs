//! W3C XSD test suite (msData/datatypes and msData/regex) run against the simple-type layer
//! alone: a small test-only reader turns each schema's simple types and element/attribute
//! declarations into `SimpleType`s and checks the leaf values of the instance documents.
//!
//! Test groups whose schemas need more than the simple-type layer (include/import,
//! simpleContent, references, ambiguous declarations) or whose instances have a DTD are
//! skipped; the remaining verdicts must match the suite except for the cases listed with
//! reasons in `xsd_datatypes_w3c_xfail.txt`.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::rc::Rc;
use std::sync::Arc;

use poststelle::config::XsdLimits;
use poststelle::xsd::datatypes::{Builtin, NsResolver, Value};
use poststelle::xsd::regex::PatternBudget;
use poststelle::xsd::simple::{FacetKind, RawFacet, SimpleType, Variety};
use quick_xml::events::Event;

const XSD_NS: &str = "http://www.w3.org/2001/XMLSchema";

type Scope = Rc<HashMap<String, String>>;

struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
    has_element_children: bool,
    ns: Scope,
}

impl NsResolver for Node {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some("http://www.w3.org/XML/1998/namespace");
        }
        self.ns.get(prefix).map(String::as_str)
    }
}

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
    fn kids<'a>(&'a self, l: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| local(&c.name) == l)
    }
    fn walk<'a>(&'a self, out: &mut Vec<&'a Node>) {
        out.push(self);
        for c in &self.children {
            c.walk(out);
        }
    }
}

/// Parse a document into a tree; `None` for a DTD or malformed XML.
// The suite's files are trusted test data read by a test-only tree builder, and the xml
// layer's bounded reader is outside this branch: the raw reader is fine here.
#[allow(clippy::disallowed_methods)]
fn parse(path: &Path) -> Option<Node> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut stack: Vec<Node> = Vec::new();
    let mut root = None;
    loop {
        let ev = reader.read_event().ok()?;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let parent_ns = stack.last().map(|n| n.ns.clone()).unwrap_or_default();
                let mut ns = (*parent_ns).clone();
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.ok()?;
                    let key = a.key.as_ref().to_string();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .ok()?
                        .into_owned();
                    if key == "xmlns" {
                        ns.insert(String::new(), value);
                    } else if let Some(p) = key.strip_prefix("xmlns:") {
                        ns.insert(p.to_string(), value);
                    } else {
                        attrs.push((key, value));
                    }
                }
                let name = e.name().as_ref().to_string();
                if let Some(parent) = stack.last_mut() {
                    parent.has_element_children = true;
                }
                let node = Node {
                    name,
                    attrs,
                    children: Vec::new(),
                    text: String::new(),
                    has_element_children: false,
                    ns: Rc::new(ns),
                };
                if matches!(ev, Event::Empty(_)) {
                    match stack.last_mut() {
                        Some(p) => p.children.push(node),
                        None => root = Some(node),
                    }
                } else {
                    stack.push(node);
                }
            }
            Event::End(_) => {
                let node = stack.pop()?;
                match stack.last_mut() {
                    Some(p) => p.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::GeneralRef(r) => {
                let c = if r.is_char_ref() {
                    r.resolve_char_ref().ok()??
                } else {
                    match r.xml10_content().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        _ => return None,
                    }
                };
                if let Some(n) = stack.last_mut() {
                    n.text.push(c);
                }
            }
            Event::DocType(_) => return None,
            Event::Eof => break,
            _ => {}
        }
    }
    root
}

/// Why a schema is outside what this harness can judge.
struct Skip(&'static str);

struct Schema<'a> {
    root: &'a Node,
    named: HashMap<&'a str, &'a Node>,
    complex: HashSet<&'a str>,
    complex_nodes: HashMap<&'a str, &'a Node>,
    built: HashMap<&'a str, Arc<SimpleType>>,
    limits: XsdLimits,
}

enum Resolved {
    Simple(Arc<SimpleType>),
    NotSimple,
}

impl<'a> Schema<'a> {
    fn resolve(
        &mut self,
        qname: &'a str,
        ctx: &'a Node,
        depth: u32,
    ) -> Result<Result<Resolved, String>, Skip> {
        let (prefix, l) = qname.split_once(':').unwrap_or(("", qname));
        let ns = ctx.resolve(prefix).unwrap_or("");
        if ns == XSD_NS {
            if l == "anyType" {
                return Ok(Ok(Resolved::NotSimple));
            }
            return Ok(match Builtin::from_local_name(l) {
                Some(b) => Ok(Resolved::Simple(SimpleType::builtin(b))),
                None => Err(format!("unknown built-in {l}")),
            });
        }
        if let Some(t) = self.built.get(l) {
            return Ok(Ok(Resolved::Simple(t.clone())));
        }
        if let Some(node) = self.named.get(l).copied() {
            if depth > 20 {
                return Ok(Err("circular type definition".into()));
            }
            let t = match self.build(node, depth + 1)? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            };
            self.built.insert(l, t.clone());
            return Ok(Ok(Resolved::Simple(t)));
        }
        if self.complex.contains(l) {
            return Ok(Ok(Resolved::NotSimple));
        }
        Ok(Err(format!("unknown type {qname}")))
    }

    fn simple_ref(
        &mut self,
        qname: &'a str,
        ctx: &'a Node,
        depth: u32,
    ) -> Result<Result<Arc<SimpleType>, String>, Skip> {
        Ok(match self.resolve(qname, ctx, depth)? {
            Ok(Resolved::Simple(t)) => Ok(t),
            Ok(Resolved::NotSimple) => Err("complex type where a simple type is needed".into()),
            Err(e) => Err(e),
        })
    }

    /// The simple content type of a complex type (`None` if it has no simple content).
    fn simple_content(
        &mut self,
        ct: &'a Node,
        depth: u32,
    ) -> Result<Option<Result<Arc<SimpleType>, String>>, Skip> {
        let Some(sc) = ct.kids("simpleContent").next() else {
            return Ok(None);
        };
        if depth > 20 {
            return Ok(Some(Err("circular type definition".into())));
        }
        let Some(body) = sc
            .children
            .iter()
            .find(|c| matches!(local(&c.name), "extension" | "restriction"))
        else {
            return Ok(Some(Err("simpleContent without a body".into())));
        };
        let Some(base) = body.attr("base") else {
            return Ok(Some(Err("no base".into())));
        };
        let (prefix, l) = base.split_once(':').unwrap_or(("", base));
        let base_ct = self
            .complex_nodes
            .get(l)
            .copied()
            .filter(|_| body.resolve(prefix) != Some(XSD_NS));
        let base_type = match base_ct {
            Some(b) => match self.simple_content(b, depth + 1)? {
                Some(t) => t,
                None => return Ok(Some(Err("simpleContent based on complex content".into()))),
            },
            None if local(&body.name) == "extension" => self.simple_ref(base, body, depth)?,
            None => {
                return Ok(Some(Err(
                    "simpleContent restriction of a simple type".into()
                )));
            }
        };
        let base_type = match base_type {
            Ok(t) => t,
            Err(e) => return Ok(Some(Err(e))),
        };
        if local(&body.name) == "extension" {
            return Ok(Some(Ok(base_type)));
        }
        let base_type = match body.kids("simpleType").next() {
            Some(inline) => match self.build(inline, depth + 1)? {
                Ok(t) => t,
                Err(e) => return Ok(Some(Err(e))),
            },
            None => base_type,
        };
        let raw = match facets_of(body, true) {
            Ok(r) => r,
            Err(e) => return Ok(Some(Err(e))),
        };
        Ok(Some(
            SimpleType::restrict(&base_type, &raw, &mut PatternBudget::new(&self.limits))
                .map(Arc::new)
                .map_err(|e| e.to_string()),
        ))
    }

    /// Build an `xsd:simpleType` element.
    fn build(&mut self, st: &'a Node, depth: u32) -> Result<Result<Arc<SimpleType>, String>, Skip> {
        let body = st
            .children
            .iter()
            .find(|c| matches!(local(&c.name), "restriction" | "list" | "union"));
        let Some(body) = body else {
            return Ok(Err("simpleType without a body".into()));
        };
        match local(&body.name) {
            "restriction" => {
                let base = match (body.attr("base"), body.kids("simpleType").next()) {
                    (Some(b), None) => self.simple_ref(b, body, depth)?,
                    (None, Some(inline)) => self.build(inline, depth + 1)?,
                    _ => return Ok(Err("restriction needs exactly one base".into())),
                };
                let base = match base {
                    Ok(b) => b,
                    Err(e) => return Ok(Err(e)),
                };
                let raw = match facets_of(body, false) {
                    Ok(r) => r,
                    Err(e) => return Ok(Err(e)),
                };
                Ok(
                    SimpleType::restrict(&base, &raw, &mut PatternBudget::new(&self.limits))
                        .map(Arc::new)
                        .map_err(|e| e.to_string()),
                )
            }
            "list" => {
                let item = match (body.attr("itemType"), body.kids("simpleType").next()) {
                    (Some(b), None) => self.simple_ref(b, body, depth)?,
                    (None, Some(inline)) => self.build(inline, depth + 1)?,
                    _ => return Ok(Err("list needs exactly one item type".into())),
                };
                Ok(item.and_then(|i| {
                    SimpleType::list_of(i)
                        .map(Arc::new)
                        .map_err(|e| e.to_string())
                }))
            }
            _ => {
                let mut members = Vec::new();
                for m in body.attr("memberTypes").unwrap_or("").split_whitespace() {
                    match self.simple_ref(m, body, depth)? {
                        Ok(t) => members.push(t),
                        Err(e) => return Ok(Err(e)),
                    }
                }
                for inline in body.kids("simpleType") {
                    match self.build(inline, depth + 1)? {
                        Ok(t) => members.push(t),
                        Err(e) => return Ok(Err(e)),
                    }
                }
                if members.is_empty() {
                    return Ok(Err("union without members".into()));
                }
                Ok(Ok(Arc::new(SimpleType::union_of(members))))
            }
        }
    }
}

/// The facets of a restriction element (for simpleContent, attribute declarations are
/// skipped).
fn facets_of(body: &Node, complex: bool) -> Result<Vec<RawFacet<'_>>, String> {
    let mut raw = Vec::new();
    for c in &body.children {
        let l = local(&c.name);
        if matches!(l, "annotation" | "simpleType")
            || (complex && matches!(l, "attribute" | "attributeGroup" | "anyAttribute"))
        {
            continue;
        }
        let Some(kind) = FacetKind::from_name(l) else {
            return Err(format!("unexpected {l} in a restriction"));
        };
        let Some(value) = c.attr("value") else {
            return Err("facet without value".into());
        };
        let fixed = match c.attr("fixed") {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(_) => return Err("bad fixed".into()),
        };
        raw.push(RawFacet {
            kind,
            value,
            fixed,
            ns: c as &dyn NsResolver,
        });
    }
    Ok(raw)
}

/// A simple-typed declaration: its type and fixed/default value.
struct Decl<'a> {
    ty: Arc<SimpleType>,
    fixed: Option<&'a str>,
    default: Option<&'a str>,
}

/// Compile the schema: `Err(Skip("?"))` outside the harness's reach, `Ok(Err(_))` for a schema
/// error, else the declarations by (element?, local name).
#[allow(clippy::type_complexity)]
fn compile(root: &Node) -> Result<Result<HashMap<(bool, String), Decl<'_>>, String>, Skip> {
    let mut all = Vec::new();
    root.walk(&mut all);
    for n in &all {
        match local(&n.name) {
            "include" | "import" | "redefine" => return Err(Skip("composition")),
            "notation" => return Err(Skip("notation declarations")),
            "key" | "keyref" | "unique" => return Err(Skip("identity constraints")),
            _ => {}
        }
    }
    let mut schema = Schema {
        root,
        named: root
            .kids("simpleType")
            .filter_map(|n| Some((n.attr("name")?, n)))
            .collect(),
        complex: root
            .kids("complexType")
            .filter_map(|n| n.attr("name"))
            .collect(),
        complex_nodes: root
            .kids("complexType")
            .filter_map(|n| Some((n.attr("name")?, n)))
            .collect(),
        built: HashMap::new(),
        limits: XsdLimits::default(),
    };
    let named: Vec<_> = schema.named.values().copied().collect();
    for n in named {
        if let Err(e) = schema.build(n, 0)? {
            return Ok(Err(e));
        }
    }
    let mut decls: HashMap<(bool, String), Decl<'_>> = HashMap::new();
    for n in all {
        let element = match local(&n.name) {
            "element" => true,
            "attribute" => false,
            _ => continue,
        };
        // References (`ref=`) reuse a global declaration, which is walked by itself.
        let Some(name) = n.attr("name") else { continue };
        let ty = match (
            n.attr("type"),
            n.kids("simpleType").next(),
            n.kids("complexType").next(),
        ) {
            (Some(t), None, None) => match schema.resolve(t, n, 0)? {
                Ok(Resolved::Simple(t)) => t,
                Ok(Resolved::NotSimple) => {
                    let (prefix, l) = t.split_once(':').unwrap_or(("", t));
                    let ct = schema.complex_nodes.get(l).copied();
                    match ct.filter(|_| n.resolve(prefix) != Some(XSD_NS)) {
                        Some(ct) => match schema.simple_content(ct, 0)? {
                            Some(Ok(t)) => t,
                            Some(Err(e)) => return Ok(Err(e)),
                            None => continue,
                        },
                        None => continue,
                    }
                }
                Err(e) => return Ok(Err(e)),
            },
            (None, Some(st), None) => match schema.build(st, 0)? {
                Ok(t) => t,
                Err(e) => return Ok(Err(e)),
            },
            (None, None, Some(ct)) => match schema.simple_content(ct, 0)? {
                Some(Ok(t)) => t,
                Some(Err(e)) => return Ok(Err(e)),
                None => continue,
            },
            (None, None, None) => {
                if element {
                    continue; // anyType
                }
                SimpleType::builtin(Builtin::AnySimpleType)
            }
            _ => return Ok(Err("declaration with both type and inline type".into())),
        };
        let key = (element, name.to_string());
        if decls.contains_key(&key) {
            return Err(Skip("ambiguous declarations"));
        }
        decls.insert(
            key,
            Decl {
                ty,
                fixed: n.attr("fixed"),
                default: n.attr("default"),
            },
        );
    }
    let _ = schema.root;
    Ok(Ok(decls))
}

fn is_id_type(t: &SimpleType, b: Builtin) -> bool {
    t.builtin_base().is_some_and(|x| x.is_derived_from(b))
}

/// Validate the simple-typed leaves of an instance.
fn instance_valid(decls: &HashMap<(bool, String), Decl<'_>>, doc: &Node) -> Result<bool, Skip> {
    let mut nodes = Vec::new();
    doc.walk(&mut nodes);
    let mut ids = HashSet::new();
    let mut idrefs = Vec::new();
    for n in nodes {
        let mut values: Vec<(&Decl<'_>, String)> = Vec::new();
        if let Some(d) = decls.get(&(true, local(&n.name).to_string())) {
            if n.has_element_children {
                return Ok(false);
            }
            if n.attr("xsi:nil") == Some("true") {
                continue;
            }
            let text = if n.text.is_empty() {
                d.default.unwrap_or("").to_string()
            } else {
                n.text.clone()
            };
            values.push((d, text));
        }
        for (k, v) in &n.attrs {
            if k.starts_with("xsi:") {
                continue;
            }
            if let Some(d) = decls.get(&(false, local(k).to_string())) {
                values.push((d, v.clone()));
            }
        }
        for (d, text) in values {
            let Ok(v) = d.ty.validate(&text, n) else {
                return Ok(false);
            };
            if let Some(f) = d.fixed
                && d.ty.validate(f, n).ok() != Some(v.clone())
            {
                return Ok(false);
            }
            if is_id_type(&d.ty, Builtin::ID) && !ids.insert(v.clone()) {
                return Ok(false);
            }
            if is_id_type(&d.ty, Builtin::IDREF) {
                idrefs.push(v);
            } else if d.ty.builtin_base() == Some(Builtin::IDREFS) {
                if let Value::List(items) = v {
                    idrefs.extend(items.iter().cloned());
                }
            } else if matches!(d.ty.variety(), Variety::Union(_)) {
                // ID members of unions are not tracked by this harness.
            }
        }
    }
    Ok(idrefs.iter().all(|r| ids.contains(r)))
}

struct Outcome {
    name: String,
    ok: bool,
    detail: String,
}

fn run_set(shared: &Path, meta: &str) -> (Vec<Outcome>, HashMap<&'static str, usize>) {
    let dir = shared.join("w3c-xsdtests/msMeta");
    let Some(set) = parse(&dir.join(meta)) else {
        panic!("cannot read {meta}")
    };
    let mut out = Vec::new();
    let mut skipped: HashMap<&'static str, usize> = HashMap::new();
    for group in set.kids("testGroup") {
        let name = group.attr("name").unwrap_or("?").to_string();
        let Some(st) = group.kids("schemaTest").next() else {
            *skipped.entry("no schema test").or_default() += 1;
            continue;
        };
        let href = |n: &Node, what: &str| {
            n.kids(what)
                .next()
                .and_then(|d| d.attr("xlink:href"))
                .map(|h| dir.join(h))
        };
        // XSD 1.0 verdicts: expectations without a version or for 1.0.
        // XSD 1.0 verdicts (expectations without a version or for 1.0); where the verdict
        // depends on the Unicode version, the newest (the `regex` crate is current).
        let expected_valid = |n: &Node| {
            let has = |e: &Node, v: &str| {
                e.attr("version")
                    .is_some_and(|x| x.split_whitespace().any(|t| t == v))
            };
            n.kids("expected")
                .find(|e| has(e, "Unicode_6.0.0"))
                .or_else(|| {
                    n.kids("expected")
                        .find(|e| e.attr("version").is_none() || has(e, "1.0"))
                })
                .and_then(|e| e.attr("validity"))
                == Some("valid")
        };
        // Verdicts under dispute (status "queried") are not counted.
        let queried = |n: &Node| {
            n.kids("current")
                .any(|c| c.attr("status") == Some("queried"))
        };
        if queried(st) {
            *skipped.entry("queried verdict").or_default() += 1;
            continue;
        }
        let Some(schema_doc) = href(st, "schemaDocument").and_then(|p| parse(&p)) else {
            *skipped.entry("schema unreadable or with DTD").or_default() += 1;
            continue;
        };
        let compiled = match compile(&schema_doc) {
            Ok(c) => c,
            Err(Skip(why)) => {
                *skipped.entry(why).or_default() += 1;
                continue;
            }
        };
        let want = expected_valid(st);
        let got = compiled.is_ok();
        let detail = compiled.as_ref().err().cloned().unwrap_or_default();
        out.push(Outcome {
            name: format!("{name} schema"),
            ok: want == got,
            detail,
        });
        let Ok(decls) = compiled else { continue };
        for it in group.kids("instanceTest") {
            if queried(it) {
                *skipped.entry("queried verdict").or_default() += 1;
                continue;
            }
            let Some(doc) = href(it, "instanceDocument").and_then(|p| parse(&p)) else {
                *skipped
                    .entry("instance unreadable or with DTD")
                    .or_default() += 1;
                continue;
            };
            match instance_valid(&decls, &doc) {
                Ok(got) => out.push(Outcome {
                    name: format!("{name} {}", it.attr("name").unwrap_or("?")),
                    ok: got == expected_valid(it),
                    detail: format!(
                        "expected {}",
                        if expected_valid(it) {
                            "valid"
                        } else {
                            "invalid"
                        }
                    ),
                }),
                Err(Skip(why)) => *skipped.entry(why).or_default() += 1,
            }
        }
    }
    (out, skipped)
}

fn xfail() -> HashSet<String> {
    include_str!("xsd_datatypes_w3c_xfail.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split(" #").next().unwrap_or(l).trim().to_string())
        .collect()
}

fn check(meta: &str) {
    let Some(shared) = crate::shared_data::shared_or_skip(&[crate::shared_data::W3C_SUITE]) else {
        return;
    };
    let (outcomes, skipped) = run_set(&shared, meta);
    let xfail = xfail();
    let failed: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| !o.ok && !xfail.contains(&o.name))
        .collect();
    let passed = outcomes.iter().filter(|o| o.ok).count();
    let xpass: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.ok && xfail.contains(&o.name))
        .map(|o| o.name.as_str())
        .collect();
    eprintln!(
        "{meta}: {passed}/{} verdicts match, skipped {skipped:?}, {} unexpected pass(es) {xpass:?}",
        outcomes.len(),
        xpass.len()
    );
    for f in &failed {
        eprintln!("MISMATCH {} ({})", f.name, f.detail);
    }
    assert!(
        failed.is_empty(),
        "{} mismatches not in the xfail list",
        failed.len()
    );
}

#[test]
fn w3c_datatypes() {
    check("DataTypes_w3c.xml");
}

#[test]
fn w3c_regex() {
    check("Regex_w3c.xml");
}
