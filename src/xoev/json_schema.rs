//! JSON Schema (draft 2020-12) of the transform's output for one message type, generated from
//! the same grammar analysis the transform uses ([`super::transform`]), so the two cannot drift.
//!
//! One `$defs` entry per reachable type definition; element occurrences refer to it, wrapped in
//! an array where the array rule applies. Objects are closed (`additionalProperties: false`)
//! except where the schema has wildcards. Children that every valid instance must contain
//! (reached only through particles with `minOccurs` ≥ 1 and no choice) are `required`;
//! attributes with `use="required"` or a default/fixed value (filled in by the transform) too.
//!
//! Enumerated string values are `enum`s (so the `code` of every XÖV code type of Typ 1); with
//! the pack's code lists ([`json_schema_with_lists`]), a code type whose `listURI` the XSD
//! fixes (Typ 2 and 3) gets, per installed version of that list, `if listVersionID is v then
//! code is one of v's codes`.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde_json::{Map, Value as Json, json};

use super::codelist::CodeLists;
use super::transform::kind::{ElementKind, attribute_key, element_kind, is_code_type, type_clark};
use super::transform::shape::{ShapeCache, clark};
use super::transform::value::{ValueKind, value_kind};
use super::transform::{ORDER_KEY, TEXT_KEY, VALUE_KEY, XSI_NIL_KEY, XSI_TYPE_KEY};
use crate::xsd::Grammar;
use crate::xsd::components::{ElemId, ModelId, QNameId, TypeId, TypeKind};
use crate::xsd::content::NodeKind;
use crate::xsd::simple::SimpleType;

/// The message root is not a global element of the grammar.
#[derive(Debug, thiserror::Error)]
#[error("the schema has no global element {0}")]
pub struct UnknownMessage(pub String);

/// The JSON Schema of `poststelle transform`'s output (`{message, data, binaries}`) for the
/// message whose root element is `{namespace}root`.
pub fn json_schema(grammar: &Grammar, namespace: &str, root: &str) -> Result<Json, UnknownMessage> {
    json_schema_with_lists(grammar, namespace, root, None)
}

/// [`json_schema`] with the codes of the pack's code lists for the code types whose list the
/// XSD fixes.
pub fn json_schema_with_lists(
    grammar: &Grammar,
    namespace: &str,
    root: &str,
    lists: Option<&CodeLists>,
) -> Result<Json, UnknownMessage> {
    let decl = grammar
        .root_element(namespace, root)
        .ok_or_else(|| UnknownMessage(clark(namespace, root)))?;
    let mut generator = Generator {
        g: grammar,
        lists,
        shapes: ShapeCache::default(),
        names: HashMap::new(),
        defs: BTreeMap::new(),
        queue: VecDeque::new(),
        derived: None,
    };
    let data = generator.element(decl);
    while let Some(t) = generator.queue.pop_front() {
        let def = generator.type_def(t);
        let name = generator.names[&t].clone();
        generator.defs.insert(name, def);
    }
    generator.defs.insert(
        "attachment".into(),
        json!({
            "type": "object",
            "properties": {
                "attachment": {"type": "string", "pattern": "^binary-[0-9]+$"},
                "size": {"type": "integer", "minimum": 0},
                "sha512": {"type": "string", "pattern": "^[0-9a-f]{128}$"}
            },
            "required": ["attachment", "size", "sha512"],
            "additionalProperties": false
        }),
    );
    Ok(json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": format!("poststelle transform output: {root}"),
        "description": "Schema-driven JSON of an XÖV message (see the README, 'transform').",
        "type": "object",
        "properties": {
            "message": {
                "type": "object",
                "properties": {
                    "standard": {"type": "string"},
                    "version": {"type": "string"},
                    "type": {"const": root},
                    "namespace": {"const": namespace},
                    "schemaPack": {"type": "string"}
                },
                "required": ["standard", "version", "type", "namespace", "schemaPack"],
                "additionalProperties": false
            },
            "data": data,
            "binaries": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string", "pattern": "^binary-[0-9]+$"},
                        "size": {"type": "integer", "minimum": 0},
                        "sha512": {"type": "string", "pattern": "^[0-9a-f]{128}$"},
                        "path": {"type": "string"}
                    },
                    "required": ["id", "size", "sha512", "path"],
                    "additionalProperties": false
                }
            }
        },
        "required": ["message", "data", "binaries"],
        "additionalProperties": false,
        "$defs": generator.defs,
    }))
}

struct Generator<'g> {
    g: &'g Grammar,
    lists: Option<&'g CodeLists>,
    shapes: ShapeCache,
    names: HashMap<TypeId, String>,
    defs: BTreeMap<String, Json>,
    queue: VecDeque<TypeId>,
    /// Named, non-abstract types by base type (built on first need), for `xsi:type`.
    derived: Option<HashMap<TypeId, Vec<TypeId>>>,
}

impl Generator<'_> {
    fn type_ref(&mut self, t: TypeId) -> Json {
        let name = match self.names.get(&t) {
            Some(n) => n.clone(),
            None => {
                let label = self
                    .g
                    .type_def(t)
                    .name
                    .map_or("anonymous", |q| self.g.names().local(q));
                let n = format!("{label}.{t}");
                self.names.insert(t, n.clone());
                self.queue.push_back(t);
                n
            }
        };
        json!({ "$ref": format!("#/$defs/{name}") })
    }

    /// Types that may replace `t` through `xsi:type` (named, not abstract, derived from `t`).
    fn derived_from(&mut self, t: TypeId) -> Vec<TypeId> {
        let g = self.g;
        let map = self.derived.get_or_insert_with(|| {
            let mut map: HashMap<TypeId, Vec<TypeId>> = HashMap::new();
            for (&_, &d) in &g.global_types {
                let def = g.type_def(d);
                if def.is_abstract {
                    continue;
                }
                let mut cur = d;
                for _ in 0..64 {
                    let base = g.type_def(cur).base;
                    if base == cur {
                        break;
                    }
                    map.entry(base).or_default().push(d);
                    cur = base;
                }
            }
            for v in map.values_mut() {
                v.sort_unstable();
            }
            map
        });
        map.get(&t).cloned().unwrap_or_default()
    }

    /// The schema of one occurrence of an element.
    fn element(&mut self, e: ElemId) -> Json {
        let d = self.g.element(e);
        let (t, nillable) = (d.type_id, d.nillable);
        let mut alternatives = vec![self.type_ref(t)];
        // xsi:type: derived complex types are listed; a simple-typed element replaced by
        // xsi:type is covered by the object form of its own type's definition.
        if t > crate::xsd::components::ANY_SIMPLE_TYPE
            && matches!(self.g.type_def(t).kind, TypeKind::Complex(_))
        {
            for dt in self.derived_from(t) {
                let r = self.type_ref(dt);
                let name = type_clark(self.g, dt).unwrap_or_default();
                alternatives.push(json!({
                    "allOf": [r],
                    "properties": { XSI_TYPE_KEY: {"const": name} },
                    "required": [XSI_TYPE_KEY]
                }));
            }
        }
        if nillable {
            alternatives.push(json!({"type": "null"}));
        }
        if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            json!({ "anyOf": alternatives })
        }
    }

    fn value(&self, kind: &ValueKind) -> Json {
        match kind {
            ValueKind::Boolean => json!({"type": "boolean"}),
            ValueKind::Integer => json!({"anyOf": [
                {"type": "integer"},
                {"type": "string", "pattern": "^[+-]?[0-9]+$"}
            ]}),
            ValueKind::Decimal => json!({
                "type": "string",
                "pattern": "^[+-]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)$"
            }),
            ValueKind::Float => json!({"anyOf": [
                {"type": "number"},
                {"enum": ["INF", "-INF", "NaN"]}
            ]}),
            ValueKind::Binary => json!({"$ref": "#/$defs/attachment"}),
            ValueKind::List(item) => json!({"type": "array", "items": self.value(item)}),
            ValueKind::Text => json!({"type": "string"}),
        }
    }

    /// The schema of a simple value: [`Self::value`], with the enumerated values of a string
    /// type as `enum`.
    fn simple(&self, st: &SimpleType) -> Json {
        let kind = value_kind(st);
        let mut schema = self.value(&kind);
        if matches!(kind, ValueKind::Text)
            && let Some(texts) = st.facets().enumeration.as_ref().and_then(|e| e.texts())
        {
            schema["enum"] = json!(texts);
        }
        schema
    }

    /// For a code type whose `listURI` the XSD fixes: per installed version of that list,
    /// `listVersionID` = version ⇒ `code` ∈ its codes.
    fn code_list_conditions(&self, t: TypeId) -> Option<Json> {
        let lists = self.lists?;
        let TypeKind::Complex(ct) = &self.g.type_def(t).kind else {
            return None;
        };
        let names = self.g.names();
        let uri = ct.attributes.iter().find_map(|u| {
            let fixed = u.value.as_ref().filter(|v| v.fixed)?;
            (names.local(u.name) == "listURI").then(|| fixed.lexical.to_string())
        })?;
        let conditions: Vec<Json> = lists
            .versions_of(&uri)
            .into_iter()
            .map(|list| {
                json!({
                    "if": {
                        "properties": {"listVersionID": {"const": list.version}},
                        "required": ["listVersionID"]
                    },
                    "then": {"properties": {"code": {"enum": list.codes()}}}
                })
            })
            .collect();
        (!conditions.is_empty()).then(|| json!(conditions))
    }

    fn type_def(&mut self, t: TypeId) -> Json {
        let g = self.g;
        let kind = element_kind(g, Some(t));
        let code = is_code_type(g, t);
        let mut props = Map::new();
        let mut required: Vec<String> = Vec::new();
        let mut open = false;
        // An element whose type was replaced by xsi:type records it; the derived variants
        // require it, the base variant does not forbid it.
        props.insert(XSI_TYPE_KEY.into(), json!({"type": "string"}));
        props.insert(XSI_NIL_KEY.into(), json!({"const": true}));
        if let TypeKind::Complex(ct) = &g.type_def(t).kind {
            for u in &ct.attributes {
                let names = g.names();
                let key =
                    attribute_key(names.ns_uri(names.ns_of(u.name)), names.local(u.name), code);
                let schema = match &g.type_def(u.type_id).kind {
                    TypeKind::Simple(st, _) => self.simple(st),
                    TypeKind::Complex(_) => json!({}),
                };
                if u.required || u.value.is_some() {
                    required.push(key.clone());
                }
                props.insert(key, schema);
            }
            open |= ct.attr_wildcard.is_some();
        }
        match kind {
            ElementKind::Simple(st) => {
                let value = self.simple(st);
                props.insert(VALUE_KEY.into(), value.clone());
                return json!({ "anyOf": [
                    value,
                    {
                        "type": "object",
                        "properties": props,
                        "required": [VALUE_KEY, XSI_TYPE_KEY],
                        "additionalProperties": false
                    }
                ]});
            }
            ElementKind::SimpleContent(st) => {
                props.insert(VALUE_KEY.into(), self.simple(st));
                required.push(VALUE_KEY.into());
            }
            ElementKind::Empty => {}
            ElementKind::Unassessed => return json!({}),
            ElementKind::Elements { model, mixed } => {
                let shape = self.shapes.get(g, model);
                let must = required_children(g, model);
                for c in &shape.children {
                    let q = &c.name;
                    let item = self.element(c.decl);
                    let schema = if c.repeated {
                        json!({"type": "array", "items": item, "minItems": 1})
                    } else {
                        item
                    };
                    if must.contains(q) {
                        required.push(c.key.to_string());
                    }
                    props.insert(c.key.to_string(), schema);
                }
                if mixed {
                    props.insert(
                        TEXT_KEY.into(),
                        json!({"type": "array", "items": {"type": "string"}}),
                    );
                }
                if mixed || shape.order_sensitive {
                    props.insert(
                        ORDER_KEY.into(),
                        json!({"type": "array", "items": {"type": "string"}}),
                    );
                }
                open |= shape.has_wildcard;
            }
        }
        let mut schema = json!({ "type": "object", "properties": props });
        if !required.is_empty() {
            schema["required"] = json!(required);
        }
        if !open {
            schema["additionalProperties"] = json!(false);
        }
        if code && let Some(conditions) = self.code_list_conditions(t) {
            schema["allOf"] = conditions;
        }
        schema
    }
}

/// Child names every valid instance contains: leaves reached through particles with
/// `minOccurs` ≥ 1 and no choice with several branches.
fn required_children(g: &Grammar, model: ModelId) -> Vec<QNameId> {
    let m = &g.models[model as usize];
    let mut out = Vec::new();
    let mut stack = vec![0u32];
    while let Some(n) = stack.pop() {
        let Some(node) = m.nodes.get(n as usize) else {
            continue;
        };
        if node.min == 0 {
            continue;
        }
        match &node.kind {
            NodeKind::Element(e) => {
                // A substitution group may put another name in its place.
                let d = g.element(*e);
                if d.substitutes.iter().all(|(q, _)| *q == d.name) && !d.is_abstract {
                    out.push(d.name);
                }
            }
            NodeKind::Choice if node.children.len() > 1 => {}
            NodeKind::Any(_) | NodeKind::Choice => stack.extend(node.children.iter().copied()),
            NodeKind::Sequence | NodeKind::All => stack.extend(node.children.iter().copied()),
        }
    }
    out
}
