//! Attribute declarations, attribute groups and attribute wildcards.

use super::{Asm, AttrSet, NodeNs, Src, id_kind_of};
use crate::xsd::components::{
    ANY_SIMPLE_TYPE, AttrUse, IdKind, NsConstraint, Process, TypeId, ValueConstraint, Wildcard,
};
use crate::xsd::schema_doc::{SNode, split_clark};

impl Asm<'_> {
    /// Attribute uses, prohibitions and the complete wildcard declared by the children of `src`.
    pub(in crate::xsd) fn attr_set(&mut self, src: Src) -> AttrSet {
        let mut set = AttrSet::default();
        let mut group_wildcards: Vec<Wildcard> = Vec::new();
        let mut own_wildcard: Option<Wildcard> = None;
        let kids: Vec<(Src, &SNode)> = self.kids(src).collect();
        for (csrc, child) in kids {
            match &*child.kind {
                "attribute" => {
                    let prohibited = child.attr("use").is_some_and(|u| u.trim() == "prohibited");
                    if let Some(u) = self.local_attribute(csrc, child) {
                        if prohibited {
                            set.prohibited.push(u.name);
                        } else if set.uses.iter().any(|x| x.name == u.name) {
                            let name = self.g.names.display(u.name);
                            self.error(csrc, format!("attribute '{name}' declared twice"));
                        } else {
                            set.origins.push(self.attribute_origin(csrc, child));
                            set.uses.push(u);
                        }
                    }
                }
                "attributeGroup" => {
                    let Some(clark) = child.attr("ref") else {
                        continue;
                    };
                    let group = self.attr_group(clark, csrc);
                    for (i, u) in group.uses.into_iter().enumerate() {
                        let origin = group.origins.get(i).copied();
                        match set.uses.iter().position(|x| x.name == u.name) {
                            None => {
                                set.origins.push(origin.unwrap_or(csrc));
                                set.uses.push(u);
                            }
                            // The same declaration reached twice (a group referenced twice)
                            // is one attribute use; two declarations of one name are an error
                            // (ct-props-correct 4, ag-props-correct 2).
                            Some(j)
                                if origin.is_some() && set.origins.get(j) == origin.as_ref() => {}
                            Some(_) => {
                                let name = self.g.names.display(u.name);
                                self.error(
                                    csrc,
                                    format!(
                                        "attribute '{name}' declared twice (ct-props-correct 4)"
                                    ),
                                );
                            }
                        }
                    }
                    // XSD 1.0: prohibited uses inside an attribute group take no effect where
                    // the group is referenced (only a restriction's own prohibitions do).
                    if let Some(w) = group.wildcard {
                        group_wildcards.push(w);
                    }
                }
                "anyAttribute" => own_wildcard = Some(self.wildcard(csrc, child)),
                _ => {}
            }
        }
        // The complete wildcard: intersection of the local one with those of the groups.
        let mut wildcard = own_wildcard;
        for w in group_wildcards {
            wildcard = Some(match wildcard {
                None => w,
                Some(cur) => wildcard_intersection(&cur, &w),
            });
        }
        set.wildcard = wildcard;
        set
    }

    /// The declaration behind an attribute node: the global one for a reference.
    fn attribute_origin(&self, src: Src, node: &SNode) -> Src {
        node.attr("ref")
            .and_then(|clark| self.tables.attributes.get(clark).copied())
            .unwrap_or(src)
    }

    fn local_attribute(&mut self, src: Src, node: &SNode) -> Option<AttrUse> {
        let required = node.attr("use").is_some_and(|u| u.trim() == "required");
        if let Some(clark) = node.attr("ref") {
            let mut u = self.global_attribute(clark, src)?;
            u.required = required;
            if let Some(vc) = self.value_constraint(src, node, u.type_id) {
                // au-props-correct 2: a fixed declaration stays fixed, with the same value.
                if let Some(decl_vc) = u.value.as_ref().filter(|v| v.fixed) {
                    let same = vc.fixed
                        && (vc.lexical == decl_vc.lexical
                            || (vc.value.is_some() && vc.value == decl_vc.value));
                    if !same {
                        self.error(
                            src,
                            "the attribute declaration has a fixed value; a reference may only \
                             repeat it (au-props-correct 2)",
                        );
                    }
                }
                u.value = Some(vc);
            }
            return Some(u);
        }
        let Some(name) = node.attr("name") else {
            self.error(src, "attribute without name or ref");
            return None;
        };
        let doc = self.doc(src);
        let qualified = match node.attr("form") {
            Some(f) => f.trim() == "qualified",
            None => doc.attribute_qualified,
        };
        let ns = if qualified {
            doc.target_ns.as_str()
        } else {
            ""
        };
        let name = self.g.names.intern(ns, name);
        self.keep_attribute_doc(name, node);
        let type_id = self.attribute_type(src, node);
        let value = self.value_constraint(src, node, type_id);
        if value.as_ref().is_some_and(|v| !v.fixed) && required {
            self.error(src, "attribute with a default must be optional");
        }
        Some(AttrUse {
            name,
            type_id,
            required,
            value,
        })
    }

    /// Keeps the first documentation of an attribute of this name.
    fn keep_attribute_doc(&mut self, name: u32, node: &SNode) {
        if let Some(text) = &node.doc {
            self.g
                .docs
                .attributes
                .entry(name)
                .or_insert_with(|| text.clone());
        }
    }

    fn attribute_type(&mut self, src: Src, node: &SNode) -> TypeId {
        if let Some(clark) = node.attr("type") {
            let t = self.type_ref(clark, src);
            self.ensure_type(t);
            if self.simple_of(t).is_none()
                || !matches!(
                    self.g.types[t as usize].kind,
                    crate::xsd::components::TypeKind::Simple(..)
                )
            {
                self.error(
                    src,
                    format!("attribute type '{clark}' is not a simple type"),
                );
                return ANY_SIMPLE_TYPE;
            }
            return t;
        }
        match self.kids(src).find(|(_, n)| &*n.kind == "simpleType") {
            Some((s, _)) => self.anonymous_type(s),
            None => ANY_SIMPLE_TYPE,
        }
    }

    /// `default`/`fixed` of a declaration, checked against its simple type.
    pub(in crate::xsd) fn value_constraint(
        &mut self,
        src: Src,
        node: &SNode,
        type_id: TypeId,
    ) -> Option<ValueConstraint> {
        let (fixed, lexical) = match (node.attr("default"), node.attr("fixed")) {
            (Some(_), Some(_)) => {
                self.error(src, "both default and fixed given");
                return None;
            }
            (Some(d), None) => (false, d),
            (None, Some(f)) => (true, f),
            (None, None) => return None,
        };
        let st = self.simple_of(type_id);
        if st.as_deref().is_some_and(|st| id_kind_of(st) == IdKind::Id) {
            self.error(
                src,
                "a declaration whose type is or is derived from xs:ID cannot have a default or \
                 fixed value (e-props-correct 4, a-props-correct 3)",
            );
            return None;
        }
        let value = match st {
            Some(st) => match st.validate(lexical, &NodeNs(&node.bindings)) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.error(
                        src,
                        format!("value constraint '{lexical}' is not valid for its type: {e}"),
                    );
                    None
                }
            },
            None => None,
        };
        Some(ValueConstraint {
            fixed,
            lexical: lexical.into(),
            value,
        })
    }

    /// A global attribute declaration as an (optional) attribute use.
    pub(in crate::xsd) fn global_attribute(&mut self, clark: &str, at: Src) -> Option<AttrUse> {
        if let Some(u) = self.global_attr_memo.get(clark) {
            return Some(u.clone());
        }
        let (ns, local) = split_clark(clark);
        if ns == crate::xsd::schema_doc::XML_NS && !self.tables.attributes.contains_key(clark) {
            // xml:lang, xml:space, … without an imported xml.xsd: accept any simple value.
            let name = self.g.names.intern(ns, local);
            return Some(AttrUse {
                name,
                type_id: ANY_SIMPLE_TYPE,
                required: false,
                value: None,
            });
        }
        let Some(&src) = self.tables.attributes.get(clark) else {
            self.error(at, format!("attribute '{clark}' is not declared"));
            return None;
        };
        let node = self.node(src);
        let name = self.g.names.intern(ns, local);
        self.keep_attribute_doc(name, node);
        let type_id = self.attribute_type(src, node);
        let value = self.value_constraint(src, node, type_id);
        let u = AttrUse {
            name,
            type_id,
            required: false,
            value,
        };
        self.global_attr_memo.insert(clark.to_owned(), u.clone());
        Some(u)
    }

    pub(super) fn attr_group(&mut self, clark: &str, at: Src) -> AttrSet {
        if let Some(set) = self.attr_group_memo.get(clark) {
            return set.clone();
        }
        let Some(&src) = self.tables.attr_groups.get(clark) else {
            self.error(at, format!("attribute group '{clark}' is not defined"));
            return AttrSet::default();
        };
        if !self.attr_group_building.insert(clark.to_owned()) {
            self.error(at, format!("circular attribute group '{clark}'"));
            return AttrSet::default();
        }
        let set = self.attr_set(src);
        self.attr_group_building.remove(clark);
        self.attr_group_memo.insert(clark.to_owned(), set.clone());
        set
    }

    /// An `any` or `anyAttribute` node.
    pub(in crate::xsd) fn wildcard(&mut self, src: Src, node: &SNode) -> Wildcard {
        let tns = self.doc(src).target_ns.clone();
        let tns_id = self.g.names.intern_ns(&tns);
        let ns = match node.attr("namespace").map(str::trim) {
            None | Some("##any") => NsConstraint::Any,
            Some("##other") => NsConstraint::Not(tns_id),
            Some(list) => {
                let mut ids = Vec::new();
                for token in list.split_ascii_whitespace() {
                    let id = match token {
                        "##targetNamespace" => tns_id,
                        "##local" => 0,
                        uri => self.g.names.intern_ns(uri),
                    };
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                NsConstraint::List(ids)
            }
        };
        let process = match node.attr("processContents").map(str::trim) {
            Some("lax") => Process::Lax,
            Some("skip") => Process::Skip,
            _ => Process::Strict,
        };
        Wildcard { ns, process }
    }
}

/// Attribute wildcard union (extension), XSD 1.0 §3.10.6 with erratum E1-10 (cos-aw-union);
/// `Err` when the union is not expressible (5.3).
pub(super) fn wildcard_union(own: &Wildcard, other: &Wildcard) -> Result<Wildcard, String> {
    use NsConstraint as C;
    let ns = match (&own.ns, &other.ns) {
        (C::Any, _) | (_, C::Any) => C::Any,
        (C::List(a), C::List(b)) => {
            let mut v = a.clone();
            v.extend(b.iter().filter(|n| !a.contains(n)));
            C::List(v)
        }
        (C::Not(a), C::Not(b)) if a == b => C::Not(*a),
        // 4: two negations of different namespaces allow everything but absent.
        (C::Not(_), C::Not(_)) => C::Not(0),
        // `Not(t)` is "not t and not absent" (`Not(0)`: not absent); 0 in a list is absent.
        (C::Not(t), C::List(l)) | (C::List(l), C::Not(t)) => {
            match (l.contains(t), l.contains(&0)) {
                // 6.1 (not absent ∪ a set with absent), 5.1
                (_, true) if *t == 0 => C::Any,
                (true, true) => C::Any,
                // 5.2: everything but absent; 6.2
                (true, false) => C::Not(0),
                // 5.3
                (false, true) => {
                    return Err(
                        "the union of the attribute wildcards is not expressible: one allows \
                         no namespace but not the other's negated namespace (cos-aw-union 5.3)"
                            .into(),
                    );
                }
                // 5.4
                (false, false) => C::Not(*t),
            }
        }
    };
    Ok(Wildcard {
        ns,
        process: own.process,
    })
}

/// Attribute wildcard intersection (attribute groups), XSD 1.0 §3.10.6.
pub(super) fn wildcard_intersection(own: &Wildcard, other: &Wildcard) -> Wildcard {
    use NsConstraint as C;
    let ns = match (&own.ns, &other.ns) {
        (C::Any, x) | (x, C::Any) => x.clone(),
        (C::List(a), C::List(b)) => C::List(a.iter().copied().filter(|n| b.contains(n)).collect()),
        (C::Not(t), C::List(l)) | (C::List(l), C::Not(t)) => {
            C::List(l.iter().copied().filter(|n| n != t && *n != 0).collect())
        }
        (C::Not(a), C::Not(_)) => C::Not(*a),
    };
    Wildcard {
        ns,
        process: own.process,
    }
}
