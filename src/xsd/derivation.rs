//! Type derivation checks used by `xsi:type`, substitution groups and `final`: "Type Derivation
//! OK" (complex and simple) of XSD 1.0 §3.4.6 / §3.14.6.

use std::sync::Arc;

use super::components::{ANY_TYPE, Grammar, TypeId, TypeKind};
use super::simple::{SimpleType, Variety};

/// Why a derivation is not acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotDerived {
    /// `sub` does not derive from `base` at all.
    Unrelated,
    /// It does, but through a method in the blocked set.
    Blocked,
}

/// The derivation methods used on the way from `sub` up to `base`, or `None` if `base` is not
/// an ancestor (union membership counts, per cos-st-derived-ok 2.2.4).
pub fn methods_between(g: &Grammar, sub: TypeId, base: TypeId) -> Option<u8> {
    let mut t = sub;
    let mut methods = 0u8;
    for _ in 0..=g.types.len() {
        if t == base {
            return Some(methods);
        }
        if let (TypeKind::Simple(sub_st, _), TypeKind::Simple(base_st, _)) =
            (&g.type_def(t).kind, &g.type_def(base).kind)
            && union_contains(base_st, sub_st)
        {
            return Some(methods);
        }
        if t == ANY_TYPE {
            return None;
        }
        let def = g.type_def(t);
        methods |= def.method.bit();
        t = def.base;
    }
    None
}

/// Checks that `sub` may replace `base` when the methods in `blocked` are forbidden.
pub fn check_derived(
    g: &Grammar,
    sub: TypeId,
    base: TypeId,
    blocked: u8,
) -> Result<(), NotDerived> {
    match methods_between(g, sub, base) {
        None => Err(NotDerived::Unrelated),
        Some(m) if m & blocked != 0 => Err(NotDerived::Blocked),
        Some(_) => Ok(()),
    }
}

fn union_contains(union: &Arc<SimpleType>, member: &Arc<SimpleType>) -> bool {
    match union.variety() {
        Variety::Union(members) => members
            .iter()
            .any(|m| Arc::ptr_eq(m, member) || union_contains(m, member)),
        _ => false,
    }
}
