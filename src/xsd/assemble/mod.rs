//! Assembly of a schema set into a [`Grammar`]: symbol tables over all documents, lazy
//! resolution of references with cycle detection, derived properties (effective content and
//! attribute uses, substitution-group closures), schema-component checks, compilation of the
//! content models.
//!
//! Components are built on first reference and memoised; a type under construction that is
//! needed as a base again is a circular derivation. Content references (an element of type T
//! inside T) only need the id, so recursive structures are fine.

mod attributes;
mod elements;
mod redefine;
mod restriction;
mod types;

use std::collections::{HashMap, HashSet};

use crate::config::Limits;

use super::components::{
    ANY_SIMPLE_TYPE, ANY_TYPE, AttrUse, ComplexType, Content, Derivations, ElemId, Grammar, IdKind,
    Method, NameMap, Names, NsConstraint, Process, TypeDef, TypeId, TypeKind, Wildcard,
};
use super::content::{Model, Particle, Term, UNBOUNDED};
use super::datatypes::{Builtin, NsResolver};
use super::error::SchemaError;
use super::regex::PatternBudget;
use super::schema_doc::{SNode, SchemaDoc, XS_NS, split_clark};
use super::simple::{SimpleType, Variety};

/// Where a component is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Src {
    pub doc: u32,
    pub node: u32,
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Pending(Src),
    Building,
    Done,
}

/// Top-level definitions by kind and Clark name.
#[derive(Debug, Default)]
struct Tables {
    types: HashMap<String, Src>,
    elements: HashMap<String, Src>,
    attributes: HashMap<String, Src>,
    groups: HashMap<String, Src>,
    attr_groups: HashMap<String, Src>,
    /// Notations: only for "one name, one notation" (NOTATION values are not resolved).
    notations: HashMap<String, Src>,
}

/// Prefix bindings of one schema node, for QName values and XPath.
pub(super) struct NodeNs<'a>(pub &'a [(Box<str>, Box<str>)]);

impl NsResolver for NodeNs<'_> {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(p, _)| &**p == prefix)
            .map(|(_, u)| &**u)
    }
}

pub(super) struct Asm<'d> {
    docs: &'d [SchemaDoc],
    tables: Tables,
    pub(super) g: Grammar,
    limits: &'d Limits,
    type_memo: HashMap<String, TypeId>,
    type_slots: Vec<Slot>,
    /// Effective content particle of each complex type (for extension).
    type_particles: Vec<Option<Particle>>,
    elem_memo: HashMap<String, ElemId>,
    elem_slots: Vec<Slot>,
    /// Element declarations whose value constraint is checked once all types exist.
    elem_values: Vec<(ElemId, Src)>,
    group_memo: HashMap<String, Option<Particle>>,
    group_building: HashSet<String>,
    attr_group_memo: HashMap<String, AttrSet>,
    attr_group_building: HashSet<String>,
    global_attr_memo: HashMap<String, AttrUse>,
    /// Source of each compiled model (for UPA errors).
    model_src: Vec<Src>,
    /// Identity constraints waiting for `refer` resolution.
    keyrefs: Vec<(u32, String, Src)>,
    idc_names: HashMap<String, u32>,
    /// complexContent restrictions to check once everything is built: (type, base, where).
    restrictions: Vec<(TypeId, TypeId, Src)>,
    /// Resource accounting against `limits.xsd` (see [`Budget`]).
    budget: Budget,
    /// The pattern facets compiled so far, against `limits.xsd.max_regex_total_bytes`.
    patterns: PatternBudget,
    errors: Vec<SchemaError>,
}

/// What the schema set has cost so far, against `limits.xsd`. Once a limit is hit the
/// assembly stops building (`exhausted`): the set is refused, and whatever would follow is
/// exactly the work the limit is there to prevent.
#[derive(Debug, Default)]
struct Budget {
    /// Definition depth of each type (0 for built-ins): 1 + the deepest definition it was
    /// built from.
    type_depth: Vec<u32>,
    /// One entry per type or element under construction: the deepest definition it has used
    /// so far. Its length is the recursion depth of the builder.
    building: Vec<u32>,
    /// Nesting of `particle` calls (model groups and group references being built).
    particle_depth: usize,
    /// Particles of all compiled content models.
    particles: usize,
    /// Components counted against `max_components`.
    components: usize,
    /// A limit was hit: build nothing more.
    exhausted: bool,
}

/// Attribute uses, prohibitions and wildcard collected from attribute declarations.
#[derive(Debug, Clone, Default)]
pub(super) struct AttrSet {
    pub uses: Vec<AttrUse>,
    /// The declaration of each use in `uses` (same order), where collected by
    /// [`Asm::attr_set`]: tells one declaration reached twice from two declarations.
    pub origins: Vec<Src>,
    pub prohibited: Vec<u32>,
    pub wildcard: Option<Wildcard>,
}

/// Builds the grammar from loaded documents.
pub(crate) fn assemble(docs: &[SchemaDoc], limits: &Limits) -> Result<Grammar, Vec<SchemaError>> {
    let mut names = Names::new();
    let xsi_ns = names.intern_ns("http://www.w3.org/2001/XMLSchema-instance");
    let g = Grammar {
        names,
        elements: Vec::new(),
        types: Vec::new(),
        models: Vec::new(),
        identity: Vec::new(),
        global_elements: NameMap::default(),
        global_types: NameMap::default(),
        global_attributes: NameMap::default(),
        xsi_ns,
        docs: crate::xsd::components::Docs::default(),
    };
    let mut asm = Asm {
        docs,
        tables: Tables::default(),
        g,
        limits,
        type_memo: HashMap::new(),
        type_slots: Vec::new(),
        type_particles: Vec::new(),
        elem_memo: HashMap::new(),
        elem_slots: Vec::new(),
        elem_values: Vec::new(),
        group_memo: HashMap::new(),
        group_building: HashSet::new(),
        attr_group_memo: HashMap::new(),
        attr_group_building: HashSet::new(),
        global_attr_memo: HashMap::new(),
        model_src: Vec::new(),
        keyrefs: Vec::new(),
        idc_names: HashMap::new(),
        restrictions: Vec::new(),
        budget: Budget::default(),
        patterns: PatternBudget::new(&limits.xsd),
        errors: Vec::new(),
    };
    asm.init_builtins();
    asm.collect_tables();
    asm.collect_redefinitions();
    asm.build_all();
    if !asm.budget.exhausted {
        asm.finish();
    }
    if asm.errors.is_empty() {
        Ok(asm.g)
    } else {
        Err(asm.errors)
    }
}

impl<'d> Asm<'d> {
    pub(super) fn doc(&self, src: Src) -> &'d SchemaDoc {
        &self.docs[src.doc as usize]
    }

    pub(super) fn node(&self, src: Src) -> &'d SNode {
        let docs: &'d [SchemaDoc] = self.docs;
        &docs[src.doc as usize].nodes[src.node as usize]
    }

    pub(super) fn kids(&self, src: Src) -> impl Iterator<Item = (Src, &'d SNode)> + 'd {
        let docs: &'d [SchemaDoc] = self.docs;
        let doc = &docs[src.doc as usize];
        doc.nodes[src.node as usize].children.iter().map(move |&n| {
            (
                Src {
                    doc: src.doc,
                    node: n,
                },
                &doc.nodes[n as usize],
            )
        })
    }

    pub(super) fn error(&mut self, src: Src, message: impl Into<String>) {
        let e = self.doc(src).error(src.node, message);
        self.errors.push(e);
    }

    /// Interns a Clark name.
    pub(super) fn intern_clark(&mut self, clark: &str) -> u32 {
        let (ns, local) = split_clark(clark);
        self.g.names.intern(ns, local)
    }

    fn init_builtins(&mut self) {
        let any = self.g.names.intern(XS_NS, "anyType");
        let wildcard = Wildcard {
            ns: NsConstraint::Any,
            process: Process::Lax,
        };
        let particle = Particle {
            min: 1,
            max: 1,
            term: Term::Sequence(vec![Particle {
                min: 0,
                max: UNBOUNDED,
                term: Term::Any(wildcard.clone()),
            }]),
        };
        let model = self.push_model(&particle, Src { doc: 0, node: 0 });
        self.push_type(
            TypeDef {
                name: Some(any),
                base: ANY_TYPE,
                method: Method::Restriction,
                is_abstract: false,
                final_: Derivations::default(),
                block: Derivations::default(),
                kind: TypeKind::Complex(ComplexType {
                    attributes: Vec::new(),
                    attr_wildcard: Some(wildcard),
                    content: Content::Elements { model, mixed: true },
                }),
            },
            Some(particle),
        );
        self.type_memo
            .insert(format!("{{{XS_NS}}}anyType"), ANY_TYPE);
        for b in Builtin::all() {
            self.builtin_type(b);
        }
        debug_assert_eq!(
            self.type_memo.get(&format!("{{{XS_NS}}}anySimpleType")),
            Some(&ANY_SIMPLE_TYPE)
        );
    }

    fn builtin_type(&mut self, b: Builtin) -> TypeId {
        let clark = format!("{{{XS_NS}}}{}", b.local_name());
        if let Some(&id) = self.type_memo.get(&clark) {
            return id;
        }
        let base = match b.base() {
            Some(base) => self.builtin_type(base),
            None => ANY_TYPE,
        };
        let st = SimpleType::builtin(b);
        let method = if b.list_item().is_some() {
            Method::List
        } else {
            Method::Restriction
        };
        let id_kind = id_kind_of(&st);
        let name = self.g.names.intern(XS_NS, b.local_name());
        let id = self.push_type(
            TypeDef {
                name: Some(name),
                base,
                method,
                is_abstract: false,
                final_: Derivations::default(),
                block: Derivations::default(),
                kind: TypeKind::Simple(st, id_kind),
            },
            None,
        );
        self.type_memo.insert(clark, id);
        id
    }

    pub(super) fn push_type(&mut self, def: TypeDef, particle: Option<Particle>) -> TypeId {
        let id = u32::try_from(self.g.types.len()).expect("fewer than 2^32 types");
        self.g.types.push(def);
        self.type_slots.push(Slot::Done);
        self.type_particles.push(particle);
        self.budget.type_depth.push(0);
        id
    }

    /// Compiles a content model, unless it breaks a particle limit (then an empty model
    /// stands in and the assembly stops: see [`Budget`]).
    pub(super) fn push_model(&mut self, particle: &Particle, src: Src) -> u32 {
        let id = u32::try_from(self.g.models.len()).expect("fewer than 2^32 models");
        let (size, depth) = particle.size_and_depth();
        let xsd = &self.limits.xsd;
        let refused = if size > xsd.max_content_model_particles {
            Some(format!(
                "content model with {size} particles, more than {} (limit \
                 xsd.max_content_model_particles)",
                xsd.max_content_model_particles
            ))
        } else if depth > xsd.max_content_model_depth {
            Some(format!(
                "model groups nested {depth} deep, more than {} (limit \
                 xsd.max_content_model_depth)",
                xsd.max_content_model_depth
            ))
        } else if self.budget.particles + size > xsd.max_grammar_particles {
            Some(format!(
                "content models with more than {} particles in all (limit \
                 xsd.max_grammar_particles)",
                xsd.max_grammar_particles
            ))
        } else {
            None
        };
        let model = match refused {
            Some(message) => {
                self.over_limit(Some(src), message);
                Model::compile(&Particle::empty())
            }
            None => {
                self.budget.particles += size;
                Model::compile(particle)
            }
        };
        self.g.models.push(model);
        self.model_src.push(src);
        id
    }

    /// Counts `n` more components against `xsd.max_components`.
    pub(super) fn count_components(&mut self, n: usize, at: Option<Src>) {
        self.budget.components = self.budget.components.saturating_add(n);
        if self.budget.components > self.limits.xsd.max_components {
            let max = self.limits.xsd.max_components;
            self.over_limit(
                at,
                format!(
                    "more than {max} schema components: types, elements, attribute uses, \
                     substitution-group members and identity constraints (limit \
                     xsd.max_components)"
                ),
            );
        }
    }

    /// Reports a broken limit (once) and stops the assembly.
    pub(super) fn over_limit(&mut self, at: Option<Src>, message: String) {
        if self.budget.exhausted {
            return;
        }
        self.budget.exhausted = true;
        let message = format!("schema set refused: {message}");
        match at {
            Some(src) => self.error(src, message),
            None => self.errors.push(SchemaError {
                file: std::path::PathBuf::new(),
                line: 0,
                column: 0,
                message,
            }),
        }
    }

    /// Whether a definition may start building now: false once the assembly stopped, or when
    /// it would nest deeper than `xsd.max_derivation_depth` (reported).
    pub(super) fn enter_definition(&mut self, at: Src) -> bool {
        if self.budget.exhausted {
            return false;
        }
        let max = self.limits.xsd.max_derivation_depth;
        if self.budget.building.len() >= max {
            self.over_limit(
                Some(at),
                format!(
                    "type definitions built on one another more than {max} deep (limit \
                     xsd.max_derivation_depth)"
                ),
            );
            return false;
        }
        self.budget.building.push(0);
        true
    }

    /// Ends a definition started by [`Asm::enter_definition`]; returns its depth (1 + the
    /// deepest type it was derived from, see [`Asm::uses_type`]), reported when over
    /// `xsd.max_derivation_depth`.
    pub(super) fn leave_definition(&mut self, at: Src) -> u32 {
        let used = self.budget.building.pop().unwrap_or(0);
        let depth = used.saturating_add(1);
        let max = self.limits.xsd.max_derivation_depth;
        if depth as usize > max {
            self.over_limit(
                Some(at),
                format!(
                    "a chain of more than {max} type definitions built on one another (limit \
                     xsd.max_derivation_depth)"
                ),
            );
        }
        depth
    }

    /// Notes that the definition being built is derived from type `t` (its base, list item or
    /// union member type), for its definition depth.
    pub(super) fn uses_type(&mut self, t: TypeId) {
        let depth = self.budget.type_depth.get(t as usize).copied().unwrap_or(0);
        if let Some(top) = self.budget.building.last_mut() {
            *top = (*top).max(depth);
        }
    }

    fn collect_tables(&mut self) {
        for (d, doc) in self.docs.iter().enumerate() {
            let d = u32::try_from(d).expect("document count bounded by limits");
            for n in doc.top_level() {
                let node = &doc.nodes[n as usize];
                let Some(name) = node.attr("name") else {
                    continue;
                };
                let table = match &*node.kind {
                    "complexType" | "simpleType" => &mut self.tables.types,
                    "element" => &mut self.tables.elements,
                    "attribute" => &mut self.tables.attributes,
                    "group" => &mut self.tables.groups,
                    "attributeGroup" => &mut self.tables.attr_groups,
                    "notation" => &mut self.tables.notations,
                    _ => continue,
                };
                let clark = format!("{{{}}}{}", doc.target_ns, name);
                let src = Src { doc: d, node: n };
                if let Some(prev) = table.insert(clark.clone(), src) {
                    let other = &self.docs[prev.doc as usize];
                    let e = doc.error(
                        n,
                        format!(
                            "duplicate {} '{clark}' (also defined in {}:{})",
                            node.kind,
                            other.path.display(),
                            other.nodes[prev.node as usize].line
                        ),
                    );
                    self.errors.push(e);
                }
            }
        }
    }

    /// Components inside `xs:redefine` replace the redefined ones; the originals stay reachable
    /// under a private key for the redefinition's self-reference.
    /// Documents are visited last-loaded first, so in a chain (A redefines B, which redefines
    /// C) the redefinition nearest to the original is applied first.
    fn collect_redefinitions(&mut self) {
        for (d, doc) in self.docs.iter().enumerate().rev() {
            let key = |clark: &str| super::load::original_key(clark, d);
            let d = u32::try_from(d).expect("document count bounded by limits");
            // What this document redefines: a second redefinition of the same component here
            // is a duplicate, not a redefinition of the first one.
            let mut here: HashMap<(&str, String), u32> = HashMap::new();
            for (n, name) in doc.redefined_components() {
                let kind = &*doc.nodes[n as usize].kind;
                let (table, space) = match kind {
                    "complexType" | "simpleType" => (&mut self.tables.types, "type"),
                    "group" => (&mut self.tables.groups, "group"),
                    "attributeGroup" => (&mut self.tables.attr_groups, "attributeGroup"),
                    _ => continue,
                };
                let clark = format!("{{{}}}{}", doc.target_ns, name);
                if let Some(first) = here.insert((space, clark.clone()), n) {
                    let e = doc.error(
                        n,
                        format!(
                            "duplicate {kind} '{clark}' in xs:redefine (also redefined at line {})",
                            doc.nodes[first as usize].line
                        ),
                    );
                    self.errors.push(e);
                    continue;
                }
                match table.remove(&clark) {
                    Some(orig) => {
                        table.insert(key(&clark), orig);
                    }
                    None => {
                        let e =
                            doc.error(n, format!("redefined component '{clark}' does not exist"));
                        self.errors.push(e);
                    }
                }
                table.insert(clark, Src { doc: d, node: n });
            }
        }
    }

    /// Builds every global component, referenced or not (xsi:type may name any global type).
    fn build_all(&mut self) {
        let mut types: Vec<String> = self.tables.types.keys().cloned().collect();
        types.sort();
        for clark in types {
            let src = self.tables.types[&clark];
            let id = self.type_ref(&clark, src);
            self.ensure_type(id);
        }
        let mut elements: Vec<String> = self.tables.elements.keys().cloned().collect();
        elements.sort();
        for clark in elements {
            let src = self.tables.elements[&clark];
            let id = self.elem_ref(&clark, src);
            self.ensure_elem(id);
            self.g
                .global_elements
                .insert(self.g.elements[id as usize].name, id);
        }
        let mut attributes: Vec<String> = self.tables.attributes.keys().cloned().collect();
        attributes.sort();
        for clark in attributes {
            let src = self.tables.attributes[&clark];
            if let Some(a) = self.global_attribute(&clark, src) {
                self.g.global_attributes.insert(a.name, a);
            }
        }
        // Unreferenced groups and attribute groups must be correct too (src-resolve etc.).
        let mut groups: Vec<(String, Src)> = self
            .tables
            .groups
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (clark, src) in groups {
            self.named_group(&clark, src);
        }
        let mut attr_groups: Vec<(String, Src)> = self
            .tables
            .attr_groups
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect();
        attr_groups.sort_by(|a, b| a.0.cmp(&b.0));
        for (clark, src) in attr_groups {
            self.attr_group(&clark, src);
        }
        // Types referenced only from inside others are built on demand; drain the rest.
        self.drain_pending();
        for (id, def) in self.g.types.iter().enumerate() {
            if let Some(name) = def.name {
                self.g
                    .global_types
                    .insert(name, u32::try_from(id).expect("bounded"));
            }
        }
    }

    /// Builds every type and element still pending. Building may allocate more (deferred
    /// anonymous types, local elements): loops until nothing is pending.
    pub(super) fn drain_pending(&mut self) {
        let (mut t, mut e) = (0, 0);
        while t < self.type_slots.len() || e < self.elem_slots.len() {
            while t < self.type_slots.len() {
                self.ensure_type(u32::try_from(t).expect("bounded"));
                t += 1;
            }
            while e < self.elem_slots.len() {
                self.ensure_elem(u32::try_from(e).expect("bounded"));
                e += 1;
            }
        }
    }

    fn finish(&mut self) {
        self.substitution_groups();
        self.element_values();
        self.resolve_keyrefs();
        self.check_restrictions();
        self.check_redefinitions();
        self.check_element_consistency();
        self.check_upa();
    }

    /// Element Declarations Consistent (cos-element-consistent, XSD 1.0 §3.8.6): element
    /// particles of one content model (nested groups and an extension's base content included)
    /// that share a name share their type definition. One error per model, at the model.
    fn check_element_consistency(&mut self) {
        let mut seen: HashMap<super::components::QNameId, TypeId> = HashMap::new();
        for m in 0..self.g.models.len() {
            seen.clear();
            let conflict = self.g.models[m].nodes.iter().find_map(|node| {
                let super::content::NodeKind::Element(e) = node.kind else {
                    return None;
                };
                let decl = &self.g.elements[e as usize];
                match seen.insert(decl.name, decl.type_id) {
                    Some(t) if t != decl.type_id => Some((decl.name, t, decl.type_id)),
                    _ => None,
                }
            });
            if let Some((name, a, b)) = conflict {
                let ty = |t: TypeId| match self.g.types[t as usize].name {
                    Some(q) => format!("type {}", self.g.names.display(q)),
                    None => "an anonymous type".to_owned(),
                };
                let message = format!(
                    "content model declares element {} twice with different types ({} and {}): \
                     Element Declarations Consistent (cos-element-consistent)",
                    self.g.names.display(name),
                    ty(a),
                    ty(b)
                );
                self.error(self.model_src[m], message);
            }
        }
    }

    fn check_upa(&mut self) {
        for m in 0..self.g.models.len() {
            if let Some((a, b)) = self.g.models[m].upa_conflict(&self.g) {
                let describe = |leaf: u32| match &self.g.models[m].nodes[leaf as usize].kind {
                    super::content::NodeKind::Element(e) => {
                        format!(
                            "element {}",
                            self.g.names.display(self.g.elements[*e as usize].name)
                        )
                    }
                    _ => "a wildcard".to_owned(),
                };
                let message = format!(
                    "content model violates Unique Particle Attribution: {} and {} compete",
                    describe(a),
                    describe(b)
                );
                self.error(self.model_src[m], message);
            }
        }
    }

    /// The simple type of a type used for text: simple types and simple content.
    pub(super) fn simple_of(&self, id: TypeId) -> Option<std::sync::Arc<SimpleType>> {
        match &self.g.types[id as usize].kind {
            TypeKind::Simple(st, _) => Some(st.clone()),
            TypeKind::Complex(ct) => match ct.content {
                Content::Simple(t) => self.simple_of(t),
                _ => None,
            },
        }
    }
}

/// ID role of a simple type.
pub(super) fn id_kind_of(st: &SimpleType) -> IdKind {
    match st.variety() {
        Variety::List(item) => match item.builtin_base() {
            Some(b) if b.is_derived_from(Builtin::IDREF) => IdKind::IdRefs,
            _ => IdKind::None,
        },
        Variety::Atomic(_) => match st.builtin_base() {
            Some(b) if b.is_derived_from(Builtin::ID) => IdKind::Id,
            Some(b) if b.is_derived_from(Builtin::IDREF) => IdKind::IdRef,
            Some(b) if b.is_derived_from(Builtin::IDREFS) => IdKind::IdRefs,
            _ => IdKind::None,
        },
        Variety::Union(_) => IdKind::None,
    }
}

/// `minOccurs`/`maxOccurs` of a particle node.
pub(super) fn occurs(node: &SNode) -> Result<(u32, u32), String> {
    let parse = |v: &str| {
        v.trim()
            .parse::<u64>()
            .map(|n| u32::try_from(n).unwrap_or(UNBOUNDED - 1))
    };
    let min = match node.attr("minOccurs") {
        Some(v) => parse(v).map_err(|_| format!("invalid minOccurs '{v}'"))?,
        None => 1,
    };
    let max = match node.attr("maxOccurs") {
        Some(v) if v.trim() == "unbounded" => UNBOUNDED,
        Some(v) => parse(v).map_err(|_| format!("invalid maxOccurs '{v}'"))?,
        None => 1,
    };
    if min > max {
        return Err(format!("minOccurs {min} is greater than maxOccurs {max}"));
    }
    Ok((min, max))
}
