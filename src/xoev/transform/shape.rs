//! What the schema says about the JSON shape of an element's children: the JSON key of each
//! child name, whether it is always an array, and whether document order must be recorded.
//!
//! Everything here is derived from the compiled content model alone, never from an instance, so
//! the transform, `--to-xml` and the JSON Schema generator agree by construction.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::xsd::components::{ElemId, Grammar, ModelId, NameMap, QNameId};
use crate::xsd::content::{NodeKind, UNBOUNDED};

/// The shape of one content model.
#[derive(Debug, Clone, Default)]
pub(crate) struct ModelShape {
    /// The child element names in schema order (first leaf naming them), with their keys and
    /// array-ness; an element's position here is its [`ChildShape::index`].
    pub(crate) children: Vec<ChildShape>,
    /// Name → position in `children`, for models with more than [`SCAN`] children (smaller
    /// ones are scanned: one or two cache lines, no hashing).
    by_name: NameMap<QNameId, u32>,
    /// A wildcard can match more than one element.
    pub(crate) wildcard_repeated: bool,
    /// The model has a wildcard.
    pub(crate) has_wildcard: bool,
    /// Grouping children by key loses their relative order, so `#order` is recorded.
    pub(crate) order_sensitive: bool,
}

/// One child element name of a content model.
#[derive(Debug, Clone)]
pub(crate) struct ChildShape {
    /// The element name.
    pub(crate) name: QNameId,
    /// The JSON key: the local name, or `{namespace}local` when another child of the same
    /// model has the same local name in another namespace. Shared: every element takes its key
    /// from here without allocating.
    pub(crate) key: std::rc::Rc<str>,
    /// The key as JSON text (quoted and escaped), written as it is.
    pub(crate) key_json: std::rc::Rc<str>,
    /// Position in [`ModelShape::children`] (which keys an object has written is a bit set over
    /// these).
    pub(crate) index: u32,
    /// The element can occur more than once here (maxOccurs > 1 on it or on an enclosing
    /// group, or it is named by several particles) → always an array.
    pub(crate) repeated: bool,
    /// The declaration matched for this name (substitution-group members included).
    pub(crate) decl: ElemId,
}

fn mul(a: u32, b: u32) -> u32 {
    if a == UNBOUNDED || b == UNBOUNDED {
        UNBOUNDED
    } else {
        a.saturating_mul(b)
    }
}

fn add(a: u32, b: u32) -> u32 {
    if a == UNBOUNDED || b == UNBOUNDED {
        UNBOUNDED
    } else {
        a.saturating_add(b)
    }
}

/// `{ns}local` or `local`, the key of an element the model does not name (wildcards).
pub(crate) fn clark(ns: &str, local: &str) -> String {
    if ns.is_empty() {
        local.to_owned()
    } else {
        format!("{{{ns}}}{local}")
    }
}

/// A key as JSON text: quoted, escaped as `serde_json` escapes it.
pub(crate) fn json_key(key: &str) -> String {
    // Serialising a string to memory cannot fail.
    serde_json::to_string(key).unwrap_or_default()
}

/// Analyses a content model.
pub(crate) fn model_shape(g: &Grammar, model: ModelId) -> ModelShape {
    let m = &g.models[model as usize];
    let mut counts: BTreeMap<QNameId, (u32, usize, ElemId)> = BTreeMap::new();
    let mut ordered = Vec::new();
    let mut shape = ModelShape::default();
    // (node, multiplier of its ancestors)
    let mut stack = vec![(0u32, 1u32)];
    while let Some((n, outer)) = stack.pop() {
        let Some(node) = m.nodes.get(n as usize) else {
            continue;
        };
        let mult = mul(outer, node.max);
        match &node.kind {
            NodeKind::Element(e) => {
                let d = g.element(*e);
                let mut names = vec![(d.name, *e)];
                names.extend(d.substitutes.iter().copied());
                names.dedup_by_key(|(q, _)| *q);
                if names.len() > 1 && mult > 1 {
                    shape.order_sensitive = true;
                }
                for (q, decl) in names {
                    let entry = counts.entry(q).or_insert_with(|| {
                        ordered.push(q);
                        (0, 0, decl)
                    });
                    entry.0 = add(entry.0, mult);
                    entry.1 += 1;
                }
            }
            NodeKind::Any(_) => {
                shape.has_wildcard = true;
                if mult > 1 {
                    shape.wildcard_repeated = true;
                    shape.order_sensitive = true;
                }
            }
            NodeKind::Sequence | NodeKind::Choice | NodeKind::All => {
                if matches!(node.kind, NodeKind::All) && node.children.len() > 1 {
                    shape.order_sensitive = true;
                }
                if mult > 1 && distinct_names(g, m, n) > 1 {
                    shape.order_sensitive = true;
                }
                // Reverse so that the stack pops children in schema order.
                for &c in node.children.iter().rev() {
                    stack.push((c, mult));
                }
            }
        }
    }
    let mut locals: HashMap<&str, BTreeSet<u32>> = HashMap::new();
    for &q in &ordered {
        locals
            .entry(g.names.local(q))
            .or_default()
            .insert(g.names.ns_of(q));
    }
    for (index, &q) in ordered.iter().enumerate() {
        let index = u32::try_from(index).unwrap_or(u32::MAX);
        let (count, leaves, decl) = counts[&q];
        if leaves > 1 {
            shape.order_sensitive = true;
        }
        let local = g.names.local(q);
        let key: String = if locals.get(local).is_some_and(|s| s.len() > 1) {
            clark(g.names.ns_uri(g.names.ns_of(q)), local)
        } else {
            local.to_owned()
        };
        if ordered.len() > SCAN {
            shape.by_name.insert(q, index);
        }
        shape.children.push(ChildShape {
            name: q,
            key_json: json_key(&key).into(),
            key: key.into(),
            index,
            repeated: count > 1,
            decl,
        });
    }
    shape
}

/// Most children of a model looked up by a scan rather than by hashing.
const SCAN: usize = 16;

impl ModelShape {
    /// The child named `q`, if the model names it.
    pub(crate) fn child(&self, q: QNameId) -> Option<&ChildShape> {
        if self.children.len() <= SCAN {
            self.children.iter().find(|c| c.name == q)
        } else {
            let i = *self.by_name.get(&q)?;
            self.children.get(i as usize)
        }
    }
}

/// Distinct element names (wildcards count as two) below a node.
fn distinct_names(g: &Grammar, m: &crate::xsd::content::Model, n: u32) -> usize {
    let mut names = BTreeSet::new();
    let mut wild = 0;
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        let Some(node) = m.nodes.get(n as usize) else {
            continue;
        };
        match &node.kind {
            NodeKind::Element(e) => {
                let d = g.element(*e);
                names.insert(d.name);
                names.extend(d.substitutes.iter().map(|(q, _)| *q));
            }
            NodeKind::Any(_) => wild = 2,
            _ => stack.extend(node.children.iter().copied()),
        }
    }
    names.len() + wild
}

/// Content-model shapes computed on first use, per transform run (cheap next to the document),
/// indexed by model id.
#[derive(Debug, Default)]
pub(crate) struct ShapeCache {
    models: Vec<Option<std::rc::Rc<ModelShape>>>,
}

impl ShapeCache {
    /// The shape of a model.
    pub(crate) fn get(&mut self, g: &Grammar, model: ModelId) -> std::rc::Rc<ModelShape> {
        let i = model as usize;
        if self.models.len() <= i {
            self.models.resize(i + 1, None);
        }
        self.models[i]
            .get_or_insert_with(|| std::rc::Rc::new(model_shape(g, model)))
            .clone()
    }
}
