//! How an element's governing type maps to JSON: a bare value, an object with `#value`, an
//! object of children, or a code object. Shared by the transform, `--to-xml` and the JSON
//! Schema generator.

use crate::xsd::components::{Content, Grammar, ModelId, QNameId, TypeId, TypeKind};
use crate::xsd::simple::SimpleType;

/// Namespace of the XÖV `Code` datatype (xoev-code 1.0).
pub(crate) const XOEV_CODE_NS: &str = "http://xoev.de/schemata/code/1_0";

/// The JSON form of an element, decided by its governing type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ElementKind<'g> {
    /// A simple type: the element is its value.
    Simple(&'g SimpleType),
    /// A complex type with simple content: `{"@attr": …, "#value": …}`.
    SimpleContent(&'g SimpleType),
    /// Element content (mixed or not): an object of children.
    Elements {
        /// The content model.
        model: ModelId,
        /// Mixed content: text chunks go to `#text`.
        mixed: bool,
    },
    /// Empty content: an object of attributes only.
    Empty,
    /// Not assessed (wildcard `skip`/`lax` without declaration): kept generically.
    Unassessed,
}

/// The kind of a governing type (`None` = not assessed).
pub(crate) fn element_kind(g: &Grammar, type_id: Option<TypeId>) -> ElementKind<'_> {
    let Some(t) = type_id else {
        return ElementKind::Unassessed;
    };
    match &g.type_def(t).kind {
        TypeKind::Simple(st, _) => ElementKind::Simple(st),
        TypeKind::Complex(ct) => match ct.content {
            Content::Empty => ElementKind::Empty,
            Content::Simple(s) => match &g.type_def(s).kind {
                TypeKind::Simple(st, _) => ElementKind::SimpleContent(st),
                TypeKind::Complex(_) => ElementKind::Empty,
            },
            Content::Elements { model, mixed } => ElementKind::Elements { model, mixed },
        },
    }
}

/// Whether the type is the XÖV `Code` type or derived from it (every XÖV code-list type).
pub(crate) fn is_code_type(g: &Grammar, t: TypeId) -> bool {
    let mut cur = t;
    for _ in 0..64 {
        let def = g.type_def(cur);
        if let Some(q) = def.name
            && g.names.local(q) == "Code"
            && g.names.ns_uri(g.names.ns_of(q)) == XOEV_CODE_NS
        {
            return true;
        }
        if def.base == cur {
            return false;
        }
        cur = def.base;
    }
    false
}

/// The simple type of an attribute of a complex type (declared use, else global declaration).
pub(crate) fn attribute_type(
    g: &Grammar,
    type_id: Option<TypeId>,
    name: QNameId,
) -> Option<&SimpleType> {
    let from_use = type_id.and_then(|t| match &g.type_def(t).kind {
        TypeKind::Complex(ct) => ct
            .attributes
            .iter()
            .find(|u| u.name == name)
            .map(|u| u.type_id),
        TypeKind::Simple(..) => None,
    });
    let t = from_use.or_else(|| g.global_attributes.get(&name).map(|u| u.type_id))?;
    match &g.type_def(t).kind {
        TypeKind::Simple(st, _) => Some(st),
        TypeKind::Complex(_) => None,
    }
}

/// The JSON key of an attribute: `@local` (`@{ns}local` when namespaced); on code types the
/// unqualified `listURI`/`listVersionID` lose the `@`.
pub(crate) fn attribute_key(ns: &str, local: &str, code: bool) -> String {
    if ns.is_empty() {
        if code {
            local.to_owned()
        } else {
            format!("@{local}")
        }
    } else {
        format!("@{{{ns}}}{local}")
    }
}

/// `{ns}local` of a named type (for `@xsi:type`).
pub(crate) fn type_clark(g: &Grammar, t: TypeId) -> Option<String> {
    let q = g.type_def(t).name?;
    Some(super::shape::clark(
        g.names.ns_uri(g.names.ns_of(q)),
        g.names.local(q),
    ))
}
