//! Simple and complex type definitions: derivation by restriction, extension, list and union;
//! effective content and attribute uses.

use std::sync::Arc;

use super::restriction::AttrBase;
use super::{Asm, AttrSet, NodeNs, Slot, Src, id_kind_of};
use crate::xsd::components::{
    ANY_SIMPLE_TYPE, ANY_TYPE, AttrUse, ComplexType, Content, Derivations, IdKind, Method, TypeDef,
    TypeId, TypeKind,
};
use crate::xsd::content::{Particle, Term};
use crate::xsd::facets::FacetError;
use crate::xsd::regex::RegexError;
use crate::xsd::schema_doc::SNode;
use crate::xsd::simple::{FacetKind, RawFacet, SimpleType};

fn facet_kind(kind: &str) -> Option<FacetKind> {
    Some(match kind {
        "length" => FacetKind::Length,
        "minLength" => FacetKind::MinLength,
        "maxLength" => FacetKind::MaxLength,
        "pattern" => FacetKind::Pattern,
        "enumeration" => FacetKind::Enumeration,
        "whiteSpace" => FacetKind::WhiteSpace,
        "maxInclusive" => FacetKind::MaxInclusive,
        "maxExclusive" => FacetKind::MaxExclusive,
        "minInclusive" => FacetKind::MinInclusive,
        "minExclusive" => FacetKind::MinExclusive,
        "totalDigits" => FacetKind::TotalDigits,
        "fractionDigits" => FacetKind::FractionDigits,
        _ => return None,
    })
}

fn placeholder() -> TypeDef {
    TypeDef {
        name: None,
        base: ANY_TYPE,
        method: Method::Restriction,
        is_abstract: false,
        final_: Derivations::default(),
        block: Derivations::default(),
        kind: TypeKind::Complex(ComplexType {
            attributes: Vec::new(),
            attr_wildcard: None,
            content: Content::Empty,
        }),
    }
}

impl Asm<'_> {
    /// The type named by a Clark name (allocated on first reference, built later).
    pub(in crate::xsd) fn type_ref(&mut self, clark: &str, at: Src) -> TypeId {
        if let Some(&id) = self.type_memo.get(clark) {
            return id;
        }
        let Some(&src) = self.tables.types.get(clark) else {
            self.error(at, format!("type '{clark}' is not defined"));
            return ANY_TYPE;
        };
        let id = self.push_type(placeholder(), None);
        self.type_slots[id as usize] = Slot::Pending(src);
        self.type_memo.insert(clark.to_owned(), id);
        let name = self.intern_clark(clark);
        self.g.types[id as usize].name = Some(name);
        id
    }

    /// Builds a type now if it is still pending; reports circular derivations.
    pub(in crate::xsd) fn ensure_type(&mut self, id: TypeId) {
        match self.type_slots[id as usize] {
            Slot::Done => {}
            Slot::Building => {
                // Only reachable through base-type or item/member references.
                let name = self.g.types[id as usize]
                    .name
                    .map(|q| self.g.names.display(q))
                    .unwrap_or_default();
                self.errors.push(crate::xsd::error::SchemaError {
                    file: std::path::PathBuf::new(),
                    line: 0,
                    column: 0,
                    message: format!("circular type derivation involving '{name}'"),
                });
            }
            Slot::Pending(src) => {
                self.type_slots[id as usize] = Slot::Building;
                self.build_counted(id, src);
                self.type_slots[id as usize] = Slot::Done;
            }
        }
    }

    /// Builds a type within the limits on definition depth and components; once a limit is
    /// hit the placeholder stays (the schema set is refused anyway).
    fn build_counted(&mut self, id: TypeId, src: Src) {
        if !self.enter_definition(src) {
            return;
        }
        self.count_components(1, Some(src));
        self.build_type(id, src);
        self.budget.type_depth[id as usize] = self.leave_definition(src);
    }

    /// An anonymous type defined inline at `src` (`complexType` or `simpleType`).
    pub(in crate::xsd) fn anonymous_type(&mut self, src: Src) -> TypeId {
        let id = self.push_type(placeholder(), None);
        self.type_slots[id as usize] = Slot::Building;
        self.build_counted(id, src);
        self.type_slots[id as usize] = Slot::Done;
        id
    }

    /// An anonymous type allocated now and built by [`Asm::ensure_type`] (or the final drain
    /// of pending types).
    pub(in crate::xsd) fn deferred_anonymous_type(&mut self, src: Src) -> TypeId {
        let id = self.push_type(placeholder(), None);
        self.type_slots[id as usize] = Slot::Pending(src);
        id
    }

    /// Keeps the documentation of a type and of its own enumeration values.
    fn keep_type_docs(&mut self, id: TypeId, src: Src) {
        let node = self.node(src);
        if let Some(text) = &node.doc {
            self.g.docs.types.insert(id, text.clone());
        }
        let values: Vec<(Box<str>, Box<str>)> = self
            .kids(src)
            .filter(|(_, n)| &*n.kind == "restriction")
            .flat_map(|(r, _)| self.kids(r))
            .filter(|(_, n)| &*n.kind == "enumeration")
            .filter_map(|(_, n)| Some((n.attr("value")?.into(), n.doc.clone()?)))
            .collect();
        if !values.is_empty() {
            self.g.docs.enums.insert(id, values);
        }
    }

    fn build_type(&mut self, id: TypeId, src: Src) {
        self.keep_type_docs(id, src);
        let node = self.node(src);
        let name = self.g.types[id as usize].name;
        if &*node.kind == "simpleType" {
            let (st, base, method) = self.simple_from_node(src);
            let final_ = self.final_of(src, node);
            self.g.types[id as usize] = TypeDef {
                name,
                base,
                method,
                is_abstract: false,
                final_,
                block: Derivations::default(),
                kind: TypeKind::Simple(st.clone(), id_kind_of(&st)),
            };
        } else {
            self.build_complex(id, src);
        }
    }

    fn final_of(&self, src: Src, node: &SNode) -> Derivations {
        let doc = self.doc(src);
        let tokens = node.attr("final").unwrap_or(&doc.final_default);
        Derivations::parse(tokens, 0xff)
    }

    /// A simple type's base, item and member types must be simple type definitions, not complex
    /// types with simple content (Structures §3.14: {base type definition}, {item type
    /// definition}, {member type definitions}). Types still being built are left to the
    /// circularity check.
    fn require_simple(&mut self, t: TypeId, src: Src, what: &str) {
        if matches!(self.type_slots[t as usize], Slot::Done)
            && matches!(self.g.types[t as usize].kind, TypeKind::Complex(_))
        {
            self.error(src, format!("{what} is a complex type, not a simple type"));
        }
    }

    /// The simple type at a `simpleType` node, with its base type and derivation method.
    pub(in crate::xsd) fn simple_from_node(
        &mut self,
        src: Src,
    ) -> (Arc<SimpleType>, TypeId, Method) {
        let fallback = || SimpleType::builtin(crate::xsd::datatypes::Builtin::AnySimpleType);
        let Some((csrc, child)) = self.kids(src).find(|(_, n)| &*n.kind != "annotation") else {
            self.error(src, "simpleType without restriction, list or union");
            return (fallback(), ANY_SIMPLE_TYPE, Method::Restriction);
        };
        match &*child.kind {
            "restriction" => {
                let base = self.simple_base(csrc, child);
                self.uses_type(base);
                if base == ANY_SIMPLE_TYPE && child.attr("base").is_some() {
                    // Derivation Valid (Restriction, Simple) 1.1: an atomic restriction's base
                    // is atomic or primitive; anySimpleType is neither (lists and unions are
                    // the ways to derive from it).
                    self.error(
                        csrc,
                        "xs:anySimpleType cannot be the base of a simple type restriction \
                         (cos-st-restricts.1.1)",
                    );
                }
                self.require_simple(base, csrc, "the restriction base");
                self.check_final(base, Derivations::RESTRICTION, csrc);
                let base_st = self.simple_of(base).unwrap_or_else(|| {
                    self.error(csrc, "restriction base is not a simple type");
                    fallback()
                });
                let st = self.restrict_with_facets(&base_st, csrc);
                // A restriction is a type of its own even without facets: union membership
                // (cos-st-derived-ok 2.2.4, `derivation::union_contains`) compares simple
                // types by identity, and must not take the base for the restriction.
                let st = if Arc::ptr_eq(&st, &base_st) {
                    Arc::new((*base_st).clone())
                } else {
                    st
                };
                (st, base, Method::Restriction)
            }
            "list" => {
                let item = match child.attr("itemType") {
                    Some(clark) => {
                        let t = self.type_ref(clark, csrc);
                        self.ensure_type(t);
                        self.require_simple(t, csrc, "the list item type");
                        t
                    }
                    None => match self.kids(csrc).find(|(_, n)| &*n.kind == "simpleType") {
                        Some((s, _)) => self.anonymous_type(s),
                        None => {
                            self.error(csrc, "list without item type");
                            ANY_SIMPLE_TYPE
                        }
                    },
                };
                self.uses_type(item);
                self.check_final(item, Derivations::LIST, csrc);
                let item_st = self.simple_of(item).unwrap_or_else(fallback);
                match SimpleType::list_of(item_st) {
                    Ok(st) => (Arc::new(st), ANY_SIMPLE_TYPE, Method::List),
                    Err(e) => {
                        self.error(csrc, format!("invalid list type: {e}"));
                        (fallback(), ANY_SIMPLE_TYPE, Method::List)
                    }
                }
            }
            "union" => {
                let mut members = Vec::new();
                if let Some(list) = child.attr("memberTypes") {
                    for clark in list.split(' ').filter(|s| !s.is_empty()) {
                        let t = self.type_ref(clark, csrc);
                        self.ensure_type(t);
                        self.uses_type(t);
                        self.require_simple(t, csrc, "a union member type");
                        self.check_final(t, Derivations::UNION, csrc);
                        members.push(self.simple_of(t).unwrap_or_else(fallback));
                    }
                }
                let inline: Vec<Src> = self
                    .kids(csrc)
                    .filter(|(_, n)| &*n.kind == "simpleType")
                    .map(|(s, _)| s)
                    .collect();
                for s in inline {
                    let t = self.anonymous_type(s);
                    self.uses_type(t);
                    members.push(self.simple_of(t).unwrap_or_else(fallback));
                }
                if members.is_empty() {
                    self.error(csrc, "union without member types");
                }
                (
                    Arc::new(SimpleType::union_of(members)),
                    ANY_SIMPLE_TYPE,
                    Method::Union,
                )
            }
            other => {
                self.error(csrc, format!("unexpected xs:{other} in simpleType"));
                (fallback(), ANY_SIMPLE_TYPE, Method::Restriction)
            }
        }
    }

    /// Base of a `restriction`: the `base` attribute or an inline `simpleType`.
    fn simple_base(&mut self, src: Src, node: &SNode) -> TypeId {
        if let Some(clark) = node.attr("base") {
            let t = self.type_ref(clark, src);
            self.ensure_type(t);
            return t;
        }
        match self.kids(src).find(|(_, n)| &*n.kind == "simpleType") {
            Some((s, _)) => self.anonymous_type(s),
            None => {
                self.error(src, "restriction without base");
                ANY_SIMPLE_TYPE
            }
        }
    }

    fn check_final(&mut self, base: TypeId, method: u8, at: Src) {
        if self.g.types[base as usize].final_.has(method) {
            let name = self.g.types[base as usize]
                .name
                .map(|q| self.g.names.display(q))
                .unwrap_or_else(|| "anonymous type".into());
            self.error(at, format!("type '{name}' is final for this derivation"));
        }
    }

    /// Applies the facet children of `src` to `base`.
    fn restrict_with_facets(&mut self, base: &Arc<SimpleType>, src: Src) -> Arc<SimpleType> {
        let facets: Vec<(FacetKind, &SNode)> = self
            .kids(src)
            .filter_map(|(_, n)| facet_kind(&n.kind).map(|k| (k, n)))
            .collect();
        if facets.is_empty() {
            return base.clone();
        }
        let resolvers: Vec<NodeNs<'_>> = facets.iter().map(|(_, n)| NodeNs(&n.bindings)).collect();
        let mut raw = Vec::with_capacity(facets.len());
        for ((kind, n), ns) in facets.iter().zip(&resolvers) {
            let Some(value) = n.attr("value") else {
                self.error(src, format!("facet xs:{} without value", n.kind));
                continue;
            };
            raw.push(RawFacet {
                kind: *kind,
                value,
                fixed: n
                    .attr("fixed")
                    .is_some_and(|v| matches!(v.trim(), "true" | "1")),
                ns,
            });
        }
        match SimpleType::restrict(base, &raw, &mut self.patterns) {
            Ok(st) => Arc::new(st),
            Err(e @ FacetError::Pattern(RegexError::OverBudget { .. })) => {
                self.over_limit(Some(src), e.to_string());
                base.clone()
            }
            Err(e) => {
                self.error(src, format!("invalid facets: {e}"));
                base.clone()
            }
        }
    }

    fn build_complex(&mut self, id: TypeId, src: Src) {
        let node = self.node(src);
        let doc = self.doc(src);
        let is_abstract = node.attr("abstract").is_some_and(is_true);
        let block = Derivations::parse(
            node.attr("block").unwrap_or(&doc.block_default),
            Derivations::EXTENSION | Derivations::RESTRICTION,
        );
        let final_ = Derivations::parse(
            node.attr("final").unwrap_or(&doc.final_default),
            Derivations::EXTENSION | Derivations::RESTRICTION,
        );
        let mut mixed = node.attr("mixed").is_some_and(is_true);
        let name = self.g.types[id as usize].name;
        let content_node = self
            .kids(src)
            .find(|(_, n)| matches!(&*n.kind, "simpleContent" | "complexContent"));
        let (base, method, content, particle, attrs) = match content_node {
            None => {
                let particle = self.content_particle(src);
                let attrs = self.attr_set(src);
                let content = self.make_content(particle.as_ref(), mixed, src);
                (ANY_TYPE, Method::Restriction, content, particle, attrs)
            }
            Some((csrc, cnode)) => {
                if let Some(m) = cnode.attr("mixed") {
                    mixed = is_true(m);
                }
                let Some((dsrc, dnode)) = self
                    .kids(csrc)
                    .find(|(_, n)| matches!(&*n.kind, "restriction" | "extension"))
                else {
                    self.error(csrc, "content without restriction or extension");
                    return;
                };
                let extension = &*dnode.kind == "extension";
                let base = match dnode.attr("base") {
                    Some(clark) => self.type_ref(clark, dsrc),
                    None => {
                        self.error(dsrc, "derivation without base");
                        ANY_TYPE
                    }
                };
                if base == id {
                    self.error(dsrc, "type derives from itself");
                    return;
                }
                self.ensure_type(base);
                self.uses_type(base);
                let method = if extension {
                    Method::Extension
                } else {
                    Method::Restriction
                };
                self.check_final(base, method.bit(), dsrc);
                let own = self.attr_set(dsrc);
                if &*cnode.kind == "simpleContent" {
                    let (content, attrs) = self.simple_content(base, extension, dsrc, own);
                    (base, method, content, None, attrs)
                } else {
                    let own_particle = self.content_particle(dsrc);
                    let base_ct = match &self.g.types[base as usize].kind {
                        TypeKind::Complex(ct) => Some(ct.clone()),
                        TypeKind::Simple(..) => None,
                    };
                    let Some(base_ct) = base_ct else {
                        self.error(dsrc, "complexContent derivation from a simple type");
                        return;
                    };
                    if extension {
                        let base_particle = self.type_particles[base as usize].clone();
                        self.check_extension_content(
                            base,
                            &base_ct,
                            base_particle.as_ref(),
                            own_particle.as_ref(),
                            mixed,
                            dsrc,
                        );
                        let particle = match (base_particle, own_particle) {
                            (b, None) => b,
                            (None, o) => o,
                            (Some(b), Some(o)) if b.is_empty() => Some(o),
                            (Some(b), Some(o)) if o.is_empty() => Some(b),
                            (Some(b), Some(o)) => Some(Particle::sequence_of(b, o)),
                        };
                        if let Content::Elements { mixed: true, .. } = base_ct.content {
                            mixed = true;
                        }
                        let content = self.make_content(particle.as_ref(), mixed, src);
                        let attrs = self.extend_attrs(&base_ct, own, dsrc);
                        (base, method, content, particle, attrs)
                    } else {
                        self.note_restriction(id, base, dsrc);
                        let content = self.make_content(own_particle.as_ref(), mixed, src);
                        let attrs = restrict_attrs(&base_ct, own);
                        self.check_restricted_attrs(base, &base_ct, &attrs, dsrc);
                        (base, method, content, own_particle, attrs)
                    }
                }
            }
        };
        // ct-props-correct 5: at most one attribute use whose type is or derives from xs:ID.
        let id_uses = attrs
            .uses
            .iter()
            .filter(|u| {
                matches!(
                    self.g.types[u.type_id as usize].kind,
                    TypeKind::Simple(_, IdKind::Id)
                )
            })
            .count();
        if id_uses > 1 {
            self.error(
                src,
                "more than one attribute use whose type is or is derived from xs:ID \
                 (ct-props-correct 5)",
            );
        }
        self.count_components(attrs.uses.len(), Some(src));
        self.type_particles[id as usize] = particle;
        self.g.types[id as usize] = TypeDef {
            name,
            base,
            method,
            is_abstract,
            final_,
            block,
            kind: TypeKind::Complex(ComplexType {
                attributes: attrs.uses,
                attr_wildcard: attrs.wildcard,
                content,
            }),
        };
    }

    /// Schema-component constraints on a complexContent extension's content type: cos-ct-extends
    /// 1.4 (simple content takes no elements), 1.4.3.2.2.1 (a non-empty explicit content of an
    /// extension and the base's content are both mixed or both element-only; `mixed="true"` alone
    /// is explicit content, an empty sequence) and cos-all-limited (an `xs:all` cannot become part
    /// of a sequence, so neither side may be an `all` group when both have particles).
    fn check_extension_content(
        &mut self,
        base: TypeId,
        base_ct: &ComplexType,
        base_particle: Option<&Particle>,
        own_particle: Option<&Particle>,
        mixed: bool,
        at: Src,
    ) {
        let own_nonempty = own_particle.is_some_and(|p| !p.is_empty());
        if let Content::Elements {
            mixed: base_mixed, ..
        } = base_ct.content
            && base != ANY_TYPE
            && (own_nonempty || mixed)
            && base_mixed != mixed
        {
            self.error(
                at,
                "an extension and its base must both be mixed or both element-only \
                 (cos-ct-extends 1.4.3.2.2.1)",
            );
        }
        if matches!(base_ct.content, Content::Simple(_)) && (own_nonempty || mixed) {
            self.error(
                at,
                "a complexContent extension cannot add elements or mixed content to a base \
                 type with simple content (cos-ct-extends 1.4)",
            );
        }
        let base_nonempty = base_particle.is_some_and(|p| !p.is_empty());
        let is_all = |p: Option<&Particle>| p.is_some_and(|p| matches!(p.term, Term::All(_)));
        if base_nonempty && own_nonempty && (is_all(base_particle) || is_all(own_particle)) {
            self.error(
                at,
                "an xs:all group cannot be combined with other particles by extension \
                 (cos-all-limited)",
            );
        }
    }

    fn simple_content(
        &mut self,
        base: TypeId,
        extension: bool,
        dsrc: Src,
        own: AttrSet,
    ) -> (Content, AttrSet) {
        let base_def = self.g.types[base as usize].clone();
        match (&base_def.kind, extension) {
            (TypeKind::Simple(..), true) => (Content::Simple(base), own),
            (TypeKind::Complex(ct), true) => {
                let content = match ct.content {
                    Content::Simple(t) => Content::Simple(t),
                    _ => {
                        self.error(
                            dsrc,
                            "simpleContent extension of a type without simple content",
                        );
                        Content::Simple(ANY_SIMPLE_TYPE)
                    }
                };
                let attrs = self.extend_attrs(ct, own, dsrc);
                (content, attrs)
            }
            (TypeKind::Complex(ct), false) => {
                let base_simple = match ct.content {
                    Content::Simple(t) => t,
                    Content::Elements { mixed: true, .. }
                        if self.kids(dsrc).any(|(_, n)| &*n.kind == "simpleType") =>
                    {
                        ANY_SIMPLE_TYPE
                    }
                    _ => {
                        self.error(
                            dsrc,
                            "simpleContent restriction of a type without simple content",
                        );
                        ANY_SIMPLE_TYPE
                    }
                };
                let inline = self
                    .kids(dsrc)
                    .find(|(_, n)| &*n.kind == "simpleType")
                    .map(|(s, _)| s);
                let start = match inline {
                    Some(s) => {
                        let t = self.anonymous_type(s);
                        if crate::xsd::derivation::methods_between(&self.g, t, base_simple)
                            .is_none()
                        {
                            self.error(
                                s,
                                "the simple type of a simpleContent restriction must be derived \
                                 from the base type's simple content (src-ct 2.2)",
                            );
                        }
                        t
                    }
                    None => base_simple,
                };
                self.uses_type(start);
                let start_st = self.simple_of(start).unwrap_or_else(|| {
                    SimpleType::builtin(crate::xsd::datatypes::Builtin::AnySimpleType)
                });
                let st = self.restrict_with_facets(&start_st, dsrc);
                let content_type = if Arc::ptr_eq(&st, &start_st) {
                    start
                } else {
                    self.push_type(
                        TypeDef {
                            name: None,
                            base: start,
                            method: Method::Restriction,
                            is_abstract: false,
                            final_: Derivations::default(),
                            block: Derivations::default(),
                            kind: TypeKind::Simple(st.clone(), id_kind_of(&st)),
                        },
                        None,
                    )
                };
                let attrs = restrict_attrs(ct, own);
                self.check_restricted_attrs(base, ct, &attrs, dsrc);
                (Content::Simple(content_type), attrs)
            }
            (TypeKind::Simple(..), false) => {
                self.error(
                    dsrc,
                    "simpleContent restriction must have a complex base type",
                );
                (Content::Simple(base), own)
            }
        }
    }

    fn check_restricted_attrs(
        &mut self,
        base: TypeId,
        base_ct: &ComplexType,
        attrs: &AttrSet,
        at: Src,
    ) {
        let base_set = AttrBase {
            uses: &base_ct.attributes,
            wildcard: base_ct.attr_wildcard.as_ref(),
            ur_type: base == ANY_TYPE,
        };
        self.check_attr_restriction(
            &base_set,
            &attrs.uses,
            attrs.wildcard.as_ref(),
            "restriction",
            at,
        );
    }

    fn extend_attrs(&mut self, base: &ComplexType, own: AttrSet, at: Src) -> AttrSet {
        let mut uses = base.attributes.clone();
        for u in own.uses {
            if uses.iter().any(|b| b.name == u.name) {
                let name = self.g.names.display(u.name);
                self.error(at, format!("extension redeclares attribute '{name}'"));
                continue;
            }
            uses.push(u);
        }
        let wildcard = match (base.attr_wildcard.clone(), own.wildcard) {
            (None, w) | (w, None) => w,
            (Some(b), Some(o)) => match super::attributes::wildcard_union(&o, &b) {
                Ok(w) => Some(w),
                Err(message) => {
                    self.error(at, message);
                    Some(b)
                }
            },
        };
        AttrSet {
            uses,
            origins: Vec::new(),
            prohibited: Vec::new(),
            wildcard,
        }
    }

    /// The model-group particle of a complex type (or its derivation) node, if any.
    fn content_particle(&mut self, src: Src) -> Option<Particle> {
        let (psrc, _) = self
            .kids(src)
            .find(|(_, n)| matches!(&*n.kind, "group" | "all" | "choice" | "sequence"))?;
        self.particle(psrc)
    }

    fn make_content(&mut self, particle: Option<&Particle>, mixed: bool, src: Src) -> Content {
        match particle {
            Some(p) if !p.is_empty() => {
                let model = self.push_model(p, src);
                Content::Elements { model, mixed }
            }
            _ if mixed => {
                let model = self.push_model(&Particle::empty(), src);
                Content::Elements { model, mixed }
            }
            _ => Content::Empty,
        }
    }
}

/// Attribute uses of a restriction: the base's, overridden by name, minus prohibited ones; the
/// wildcard is the restriction's own (XSD 1.0 does not inherit it).
fn restrict_attrs(base: &ComplexType, own: AttrSet) -> AttrSet {
    let mut uses: Vec<AttrUse> = base
        .attributes
        .iter()
        .filter(|b| !own.prohibited.contains(&b.name) && !own.uses.iter().any(|u| u.name == b.name))
        .cloned()
        .collect();
    uses.extend(own.uses);
    AttrSet {
        uses,
        origins: Vec::new(),
        prohibited: Vec::new(),
        wildcard: own.wildcard,
    }
}

pub(super) fn is_true(v: &str) -> bool {
    matches!(v.trim(), "true" | "1")
}
