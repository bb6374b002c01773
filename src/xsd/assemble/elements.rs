//! Element declarations, particles and model groups, substitution groups, identity constraints.

use super::types::is_true;
use super::{Asm, NodeNs, Slot, Src, occurs};
use crate::xsd::components::{
    ANY_TYPE, Content, Derivations, ElemId, ElementDecl, IdcCategory, IdentityConstraint, TypeKind,
};
use crate::xsd::content::{Particle, Term};
use crate::xsd::datatypes::NsResolver;
use crate::xsd::derivation::methods_between;
use crate::xsd::identity::XPath;
use crate::xsd::schema_doc::SNode;

fn placeholder(name: u32) -> ElementDecl {
    ElementDecl {
        name,
        type_id: ANY_TYPE,
        nillable: false,
        is_abstract: false,
        value: None,
        block: Derivations::default(),
        final_: Derivations::default(),
        global: true,
        head: None,
        substitutes: Vec::new(),
        identity: Vec::new(),
    }
}

impl Asm<'_> {
    /// The global element named by a Clark name.
    pub(in crate::xsd) fn elem_ref(&mut self, clark: &str, at: Src) -> ElemId {
        if let Some(&id) = self.elem_memo.get(clark) {
            return id;
        }
        let name = self.intern_clark(clark);
        let id = self.push_elem(placeholder(name));
        self.elem_memo.insert(clark.to_owned(), id);
        match self.tables.elements.get(clark) {
            Some(&src) => self.elem_slots[id as usize] = Slot::Pending(src),
            None => self.error(at, format!("element '{clark}' is not declared")),
        }
        id
    }

    fn push_elem(&mut self, decl: ElementDecl) -> ElemId {
        let id = u32::try_from(self.g.elements.len()).expect("fewer than 2^32 elements");
        self.g.elements.push(decl);
        self.elem_slots.push(Slot::Done);
        id
    }

    pub(in crate::xsd) fn ensure_elem(&mut self, id: ElemId) {
        match self.elem_slots[id as usize] {
            Slot::Done | Slot::Building => {}
            Slot::Pending(src) => {
                self.elem_slots[id as usize] = Slot::Building;
                // Substitution-group heads are built first: the same recursion as base types.
                if self.enter_definition(src) {
                    self.build_element(id, src, true);
                    self.leave_definition(src);
                }
                self.elem_slots[id as usize] = Slot::Done;
            }
        }
    }

    fn build_element(&mut self, id: ElemId, src: Src, global: bool) {
        self.count_components(1, Some(src));
        let node = self.node(src);
        let doc = self.doc(src);
        let head = match node.attr("substitutionGroup") {
            Some(clark) if global => {
                let h = self.elem_ref(clark, src);
                Some(h)
            }
            _ => None,
        };
        let type_id = if let Some(clark) = node.attr("type") {
            self.type_ref(clark, src)
        } else if let Some((tsrc, tnode)) = self
            .kids(src)
            .find(|(_, n)| matches!(&*n.kind, "complexType" | "simpleType"))
        {
            if !global && &*tnode.kind == "complexType" {
                // Built later: its content may refer back to a model group that is still
                // being built (recursion through an element declaration is allowed).
                self.deferred_anonymous_type(tsrc)
            } else {
                self.anonymous_type(tsrc)
            }
        } else if let Some(h) = head {
            if matches!(self.elem_slots[h as usize], Slot::Building) {
                self.error(src, "circular substitution group");
                ANY_TYPE
            } else {
                self.ensure_elem(h);
                self.g.elements[h as usize].type_id
            }
        } else {
            ANY_TYPE
        };
        let block = Derivations::parse(
            node.attr("block").unwrap_or(&doc.block_default),
            Derivations::EXTENSION | Derivations::RESTRICTION | Derivations::SUBSTITUTION,
        );
        let final_ = Derivations::parse(
            node.attr("final").unwrap_or(&doc.final_default),
            Derivations::EXTENSION | Derivations::RESTRICTION,
        );
        let mut decl = ElementDecl {
            name: self.g.elements[id as usize].name,
            type_id,
            nillable: node.attr("nillable").is_some_and(is_true),
            is_abstract: node.attr("abstract").is_some_and(is_true),
            value: None,
            block,
            final_,
            global,
            head,
            substitutes: Vec::new(),
            identity: Vec::new(),
        };
        if let Some(text) = &node.doc {
            self.g.docs.elements.insert(id, text.clone());
        }
        if node.attr("default").is_some() || node.attr("fixed").is_some() {
            self.elem_values.push((id, src));
        }
        let idcs: Vec<(Src, &SNode)> = self
            .kids(src)
            .filter(|(_, n)| matches!(&*n.kind, "unique" | "key" | "keyref"))
            .collect();
        for (isrc, inode) in idcs {
            if let Some(i) = self.identity_constraint(isrc, inode) {
                decl.identity.push(i);
            }
        }
        self.g.elements[id as usize] = decl;
    }

    /// A local element declaration (with `name`) or a reference (with `ref`).
    fn local_element(&mut self, src: Src, node: &SNode) -> ElemId {
        if let Some(clark) = node.attr("ref") {
            return self.elem_ref(clark, src);
        }
        let doc = self.doc(src);
        let Some(local) = node.attr("name") else {
            self.error(src, "element without name or ref");
            return self.push_elem(placeholder(0));
        };
        let qualified = match node.attr("form") {
            Some(f) => f.trim() == "qualified",
            None => doc.element_qualified,
        };
        let ns = if qualified {
            doc.target_ns.as_str()
        } else {
            ""
        };
        let name = self.g.names.intern(ns, local);
        let id = self.push_elem(placeholder(name));
        self.elem_slots[id as usize] = Slot::Building;
        self.build_element(id, src, false);
        self.elem_slots[id as usize] = Slot::Done;
        id
    }

    /// The particle at an `element`, `group` (ref), `sequence`, `choice`, `all` or `any` node,
    /// within `xsd.max_content_model_depth` and `xsd.max_content_model_particles` (`None` once
    /// a limit is hit: the assembly stops).
    pub(in crate::xsd) fn particle(&mut self, src: Src) -> Option<Particle> {
        if self.budget.exhausted {
            return None;
        }
        let max = self.limits.xsd.max_content_model_depth;
        if self.budget.particle_depth >= max {
            self.over_limit(
                Some(src),
                format!(
                    "model groups nested more than {max} deep (limit xsd.max_content_model_depth)"
                ),
            );
            return None;
        }
        self.budget.particle_depth += 1;
        let p = self.particle_at(src);
        self.budget.particle_depth -= 1;
        p
    }

    fn particle_at(&mut self, src: Src) -> Option<Particle> {
        let node = self.node(src);
        let (min, max) = match occurs(node) {
            Ok(mm) => mm,
            Err(e) => {
                self.error(src, e);
                (1, 1)
            }
        };
        let term = match &*node.kind {
            "element" => Term::Element(self.local_element(src, node)),
            "any" => Term::Any(self.wildcard(src, node)),
            "group" => {
                let Some(clark) = node.attr("ref") else {
                    self.error(src, "group reference without ref");
                    return None;
                };
                let inner = self.named_group(clark, src)?;
                if matches!(inner.term, Term::All(_)) && max > 1 {
                    self.error(
                        src,
                        "a reference to an xs:all group must have maxOccurs 1 (cos-all-limited)",
                    );
                }
                return Some(Particle {
                    min,
                    max,
                    term: inner.term,
                });
            }
            kind @ ("sequence" | "choice" | "all") => {
                let kids: Vec<Src> = self.kids(src).map(|(s, _)| s).collect();
                let mut children = Vec::new();
                let mut size = 1usize;
                let max_particles = self.limits.xsd.max_content_model_particles;
                for k in kids {
                    if let Some(p) = self.particle(k) {
                        // Checked while building: group references copy their group, so a
                        // few references can multiply the size.
                        size = size.saturating_add(p.size_and_depth().0);
                        if size > max_particles {
                            self.over_limit(
                                Some(src),
                                format!(
                                    "model group with more than {max_particles} particles \
                                     (limit xsd.max_content_model_particles)"
                                ),
                            );
                            return None;
                        }
                        children.push(p);
                    }
                }
                // An `xs:all` inside a sequence or choice can only come from a group
                // reference (the schema for schemas refuses it as a direct child).
                if kind != "all" && children.iter().any(|c| matches!(c.term, Term::All(_))) {
                    self.error(
                        src,
                        "an xs:all group must be the whole content model, not part of a \
                         sequence or choice (cos-all-limited)",
                    );
                }
                match kind {
                    "sequence" => Term::Sequence(children),
                    "choice" => Term::Choice(children),
                    _ => {
                        if max > 1
                            || children
                                .iter()
                                .any(|c| c.max > 1 || !matches!(c.term, Term::Element(_)))
                        {
                            self.error(src, "xs:all allows only elements with maxOccurs 1 and itself at most once");
                        }
                        Term::All(children)
                    }
                }
            }
            _ => return None,
        };
        Some(Particle { min, max, term })
    }

    pub(super) fn named_group(&mut self, clark: &str, at: Src) -> Option<Particle> {
        if let Some(p) = self.group_memo.get(clark) {
            return p.clone();
        }
        let Some(&src) = self.tables.groups.get(clark) else {
            self.error(at, format!("group '{clark}' is not defined"));
            return None;
        };
        if !self.group_building.insert(clark.to_owned()) {
            self.error(at, format!("circular group reference '{clark}'"));
            return None;
        }
        let inner = self
            .kids(src)
            .find(|(_, n)| matches!(&*n.kind, "sequence" | "choice" | "all"))
            .map(|(s, _)| s);
        let particle = inner.and_then(|s| self.particle(s)).map(|mut p| {
            p.min = 1;
            p.max = 1;
            p
        });
        self.group_building.remove(clark);
        self.group_memo.insert(clark.to_owned(), particle.clone());
        particle
    }

    fn identity_constraint(&mut self, src: Src, node: &SNode) -> Option<u32> {
        let category = match &*node.kind {
            "unique" => IdcCategory::Unique,
            "key" => IdcCategory::Key,
            _ => IdcCategory::KeyRef,
        };
        let doc = self.doc(src);
        let name = node.attr("name")?;
        let clark = format!("{{{}}}{}", doc.target_ns, name);
        let qname = self.g.names.intern(&doc.target_ns, name);
        let parse = |asm: &mut Self, kind: &str, is_field: bool| -> Vec<XPath> {
            let mut out = Vec::new();
            for (s, n) in asm.kids(src).filter(|(_, n)| &*n.kind == kind) {
                let expr = n.attr("xpath").unwrap_or("");
                let ns = NodeNs(&n.bindings);
                let resolve = |p: &str| ns.resolve(p).map(str::to_owned);
                match XPath::parse(expr, is_field, &resolve) {
                    Ok(x) => out.push(x),
                    Err(e) => asm.error(s, e),
                }
            }
            out
        };
        let selector = parse(self, "selector", false).into_iter().next()?;
        let fields = parse(self, "field", true);
        self.count_components(1, Some(src));
        let id = u32::try_from(self.g.identity.len()).expect("bounded");
        self.g.identity.push(IdentityConstraint {
            name: qname,
            category,
            selector,
            fields,
            refer: None,
        });
        if self.idc_names.insert(clark.clone(), id).is_some() {
            self.error(src, format!("duplicate identity constraint '{clark}'"));
        }
        if category == IdcCategory::KeyRef {
            let refer = node.attr("refer").unwrap_or("").to_owned();
            self.keyrefs.push((id, refer, src));
        }
        Some(id)
    }

    pub(super) fn resolve_keyrefs(&mut self) {
        for (id, refer, src) in std::mem::take(&mut self.keyrefs) {
            match self.idc_names.get(&refer) {
                Some(&target)
                    if self.g.identity[target as usize].category != IdcCategory::KeyRef =>
                {
                    if self.g.identity[target as usize].fields.len()
                        != self.g.identity[id as usize].fields.len()
                    {
                        self.error(src, "keyref has a different number of fields than its key");
                    }
                    self.g.identity[id as usize].refer = Some(target);
                }
                _ => self.error(src, format!("keyref refers to unknown key '{refer}'")),
            }
        }
    }

    /// Computes the members each global element admits in its place.
    pub(super) fn substitution_groups(&mut self) {
        let n = self.g.elements.len();
        for e in 0..n {
            let member = &self.g.elements[e];
            if member.head.is_none() {
                continue;
            }
            let (m_name, m_type, m_abstract) = (member.name, member.type_id, member.is_abstract);
            let mut head = member.head;
            let mut steps = 0;
            while let Some(h) = head {
                steps += 1;
                if steps > n || h as usize == e {
                    let name = self.g.names.display(m_name);
                    self.errors.push(crate::xsd::error::SchemaError {
                        file: std::path::PathBuf::new(),
                        line: 0,
                        column: 0,
                        message: format!("circular substitution group at element '{name}'"),
                    });
                    break;
                }
                let hd = &self.g.elements[h as usize];
                let h_block = hd.block.0 | self.g.types[hd.type_id as usize].block.0;
                let methods = methods_between(&self.g, m_type, hd.type_id);
                match methods {
                    None => {
                        let (a, b) = (self.g.names.display(m_name), self.g.names.display(hd.name));
                        self.errors.push(crate::xsd::error::SchemaError {
                            file: std::path::PathBuf::new(),
                            line: 0,
                            column: 0,
                            message: format!("type of '{a}' is not derived from the type of its substitution-group head '{b}'"),
                        });
                        break;
                    }
                    Some(m) => {
                        if steps == 1 && hd.final_.0 & m != 0 {
                            let (a, b) =
                                (self.g.names.display(m_name), self.g.names.display(hd.name));
                            self.errors.push(crate::xsd::error::SchemaError {
                                file: std::path::PathBuf::new(),
                                line: 0,
                                column: 0,
                                message: format!("'{a}' cannot join the substitution group of '{b}': the head is final for that derivation"),
                            });
                            break;
                        }
                        let blocked = hd.block.has(Derivations::SUBSTITUTION) || m & h_block != 0;
                        if !m_abstract && !blocked {
                            let eid = u32::try_from(e).expect("bounded");
                            self.g.elements[h as usize].substitutes.push((m_name, eid));
                            self.count_components(1, None);
                            if self.budget.exhausted {
                                return;
                            }
                        }
                    }
                }
                head = self.g.elements[h as usize].head;
            }
        }
    }

    /// Checks element default/fixed values against the (now complete) types.
    pub(super) fn element_values(&mut self) {
        for (id, src) in std::mem::take(&mut self.elem_values) {
            let node = self.node(src);
            let type_id = self.g.elements[id as usize].type_id;
            let usable = match &self.g.types[type_id as usize].kind {
                TypeKind::Simple(..) => true,
                TypeKind::Complex(ct) => {
                    matches!(
                        ct.content,
                        Content::Simple(_) | Content::Elements { mixed: true, .. }
                    )
                }
            };
            if !usable {
                self.error(
                    src,
                    "value constraint on an element with element-only or empty content",
                );
                continue;
            }
            let vc = self.value_constraint(src, node, type_id);
            self.g.elements[id as usize].value = vc;
        }
    }
}
