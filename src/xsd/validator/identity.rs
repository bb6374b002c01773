//! Streaming evaluation of identity constraints (`unique`, `key`, `keyref`).
//!
//! Each element that declares constraints opens a scope; selector paths are matched against the
//! element names below it, fields against the names below each selected element. Field values
//! are compared in the value space (`Value` equality distinguishes types). A keyref is checked
//! when its scope ends, against the key tables completed inside that scope's subtree.

use std::collections::HashSet;

use crate::config::XsdLimits;
use crate::xml::Pos;
use crate::xsd::components::{IdcCategory, TypeId, TypeKind};
use crate::xsd::datatypes::{NsResolver, Value};
use crate::xsd::error::ErrorKind;
use crate::xsd::identity::{Path, Step};

use super::Tag;
use super::engine::Validator;

/// What a validator holds for ID/IDREF and identity-constraint checking, against
/// `xsd.max_identity_entries` and `xsd.max_identity_bytes`: entries live until the end of the
/// document (IDs, IDREFs) or until their tables are dropped (identity constraints).
#[derive(Debug)]
pub(super) struct Held {
    max_entries: usize,
    max_bytes: usize,
    entries: usize,
    bytes: usize,
    exhausted: bool,
}

impl Held {
    pub(super) fn new(limits: &XsdLimits) -> Self {
        Self {
            max_entries: limits.max_identity_entries,
            max_bytes: limits.max_identity_bytes,
            entries: 0,
            bytes: 0,
            exhausted: false,
        }
    }

    /// Takes room for `entries` holding `bytes`. `Err(Some(message))` the first time a limit
    /// is hit, `Err(None)` after that: the document is refused, one error says why.
    pub(super) fn take(&mut self, entries: usize, bytes: usize) -> Result<(), Option<String>> {
        if self.exhausted {
            return Err(None);
        }
        let (e, b) = (self.entries + entries, self.bytes.saturating_add(bytes));
        let message = if e > self.max_entries {
            format!(
                "more than {} ID, IDREF and identity-constraint entries in one document (limit \
                 xsd.max_identity_entries)",
                self.max_entries
            )
        } else if b > self.max_bytes {
            format!(
                "ID, IDREF and identity-constraint values of more than {} bytes in one document \
                 (limit xsd.max_identity_bytes)",
                self.max_bytes
            )
        } else {
            (self.entries, self.bytes) = (e, b);
            return Ok(());
        };
        self.exhausted = true;
        Err(Some(message))
    }

    /// Returns what dropped entries held.
    pub(super) fn give_back(&mut self, entries: usize, bytes: usize) {
        self.entries = self.entries.saturating_sub(entries);
        self.bytes = self.bytes.saturating_sub(bytes);
    }

    /// A limit was hit: IDs, keys and keyrefs seen so far are incomplete, so the checks that
    /// need all of them (IDREF and keyref resolution) are skipped.
    pub(super) fn exhausted(&self) -> bool {
        self.exhausted
    }
}

/// Bytes one identity-constraint row holds: its values plus the table's bookkeeping.
fn row_bytes(key: &[Value]) -> usize {
    size_of::<Vec<Value>>() + 16 + key.iter().map(Value::held_bytes).sum::<usize>()
}

/// A key or unique table (or a keyref's pending values) with what it holds.
#[derive(Debug, Default)]
struct Tally {
    entries: usize,
    bytes: usize,
}

#[derive(Debug)]
pub(super) struct Scope {
    idc: u32,
    depth: usize,
    seq: u64,
    table: HashSet<Vec<Value>>,
    refs: Vec<(Vec<Value>, Pos)>,
    held: Tally,
}

#[derive(Debug)]
pub(super) struct Target {
    scope: usize,
    depth: usize,
    fields: Vec<Option<Value>>,
    pos: Pos,
}

#[derive(Debug, Default)]
pub(super) struct IdcState {
    /// Names of the open elements (reused buffers).
    names: Vec<(String, String)>,
    depth: usize,
    seq: u64,
    scopes: Vec<Scope>,
    targets: Vec<Target>,
    /// (target index, field index, element depth) waiting for an element's value.
    sinks: Vec<(usize, usize, usize)>,
    /// Completed key/unique tables: (constraint, scope start sequence, table).
    finished: Vec<(u32, u64, HashSet<Vec<Value>>)>,
    /// What the finished tables hold together.
    finished_held: Tally,
    /// Typed value of the element that just ended (only kept while constraints are active).
    pub last_value: Option<Value>,
}

impl IdcState {
    pub(super) fn active(&self) -> bool {
        !self.scopes.is_empty()
    }
}

fn path_matches(p: &Path, names: &[(String, String)], base: usize, steps: &[Step]) -> bool {
    // `names[base]` is the context element; the path's element steps match names after it.
    let rel = &names[base + 1..];
    let n = steps.len();
    if p.descendant {
        rel.len() >= n && suffix_match(&rel[rel.len() - n..], steps)
    } else {
        rel.len() == n && suffix_match(rel, steps)
    }
}

fn suffix_match(names: &[(String, String)], steps: &[Step]) -> bool {
    names.iter().zip(steps).all(|((ns, local), s)| match s {
        Step::Child(t) => t.matches(ns, local),
        _ => false,
    })
}

impl Validator<'_> {
    /// After an element started (its frame pushed at `depth`).
    pub(super) fn idc_start(
        &mut self,
        tag: &impl Tag,
        decl: Option<u32>,
        type_id: Option<TypeId>,
        assessed: bool,
        ns: &dyn NsResolver,
        pos: Pos,
    ) {
        let g = self.g;
        let has_own = decl.is_some_and(|e| !g.element(e).identity.is_empty());
        let st = &mut self.idc;
        let depth = st.depth;
        st.depth += 1;
        st.seq += 1;
        // Elements not assessed (skipped after an error) take no part: no cascades.
        if (!has_own && st.scopes.is_empty()) || !assessed {
            return;
        }
        if st.names.len() <= depth {
            st.names.resize(depth + 1, (String::new(), String::new()));
        }
        let slot = &mut st.names[depth];
        slot.0.clear();
        slot.0.push_str(tag.ns());
        slot.1.clear();
        slot.1.push_str(tag.local());
        if let Some(e) = decl {
            for &idc in &g.element(e).identity {
                st.scopes.push(Scope {
                    idc,
                    depth,
                    seq: st.seq,
                    table: HashSet::new(),
                    refs: Vec::new(),
                    held: Tally::default(),
                });
            }
        }
        let names = &st.names[..=depth];
        for (si, scope) in st.scopes.iter().enumerate() {
            let sel = &g.identity[scope.idc as usize].selector;
            if sel
                .paths
                .iter()
                .any(|p| path_matches(p, names, scope.depth, &p.steps))
            {
                let n = g.identity[scope.idc as usize].fields.len();
                st.targets.push(Target {
                    scope: si,
                    depth,
                    fields: vec![None; n],
                    pos,
                });
            }
        }
        let mut duplicate_field = false;
        let mut untyped_field = false;
        for (ti, target) in st.targets.iter_mut().enumerate() {
            let idc = &g.identity[st.scopes[target.scope].idc as usize];
            for (fi, field) in idc.fields.iter().enumerate() {
                for p in &field.paths {
                    match p.steps.last() {
                        Some(Step::Attribute(test)) => {
                            let elem_steps = &p.steps[..p.steps.len() - 1];
                            if !path_matches(p, names, target.depth, elem_steps) {
                                continue;
                            }
                            for (ans, local, _, value) in tag.attributes() {
                                if test.matches(ans, local) {
                                    let Some(typed) =
                                        attribute_value(g, type_id, ans, local, value, ns)
                                    else {
                                        untyped_field = true;
                                        continue;
                                    };
                                    if target.fields[fi].is_some() {
                                        duplicate_field = true;
                                    }
                                    target.fields[fi] = Some(typed);
                                }
                            }
                            // An absent attribute with a default or fixed value is in the
                            // post-schema-validation infoset with that value.
                            for u in defaulted_uses(g, type_id) {
                                let (ans, local) =
                                    (g.names.ns_uri(g.names.ns_of(u.name)), g.names.local(u.name));
                                if !test.matches(ans, local)
                                    || tag.attributes().any(|(n, l, _, _)| n == ans && l == local)
                                {
                                    continue;
                                }
                                let Some(vc) = &u.value else { continue };
                                let typed = vc
                                    .value
                                    .clone()
                                    .unwrap_or_else(|| Value::String(vc.lexical.clone()));
                                if target.fields[fi].is_some() {
                                    duplicate_field = true;
                                }
                                target.fields[fi] = Some(typed);
                            }
                        }
                        _ => {
                            if path_matches(p, names, target.depth, &p.steps) {
                                st.sinks.push((ti, fi, depth));
                            }
                        }
                    }
                }
            }
        }
        if untyped_field {
            self.error(
                pos,
                ErrorKind::IdentityConstraint,
                "a field selects an attribute without a declared simple type".into(),
            );
        }
        if duplicate_field {
            self.error(
                pos,
                ErrorKind::IdentityConstraint,
                "a field selects more than one value".into(),
            );
        }
    }

    /// After an element ended (its frame popped).
    pub(super) fn idc_end(&mut self, pos: Pos) {
        let g = self.g;
        let held = &mut self.held;
        let st = &mut self.idc;
        st.depth = st.depth.saturating_sub(1);
        let depth = st.depth;
        let value = st.last_value.take();
        let mut problems: Vec<(Pos, ErrorKind, String)> = Vec::new();
        let mut k = 0;
        while k < st.sinks.len() {
            let (ti, fi, d) = st.sinks[k];
            if d == depth {
                st.sinks.swap_remove(k);
                let target = &mut st.targets[ti];
                if target.fields[fi].is_some() {
                    problems.push((
                        pos,
                        ErrorKind::IdentityConstraint,
                        "a field selects more than one value".into(),
                    ));
                }
                match &value {
                    Some(v) => target.fields[fi] = Some(v.clone()),
                    None => problems.push((
                        pos,
                        ErrorKind::IdentityConstraint,
                        "a field selects an element without a simple value".into(),
                    )),
                }
            } else {
                k += 1;
            }
        }
        while st.targets.last().is_some_and(|t| t.depth == depth) {
            let t = st.targets.pop().expect("checked");
            st.sinks.retain(|&(ti, _, _)| ti < st.targets.len());
            let scope = &mut st.scopes[t.scope];
            let idc = &g.identity[scope.idc as usize];
            let name = g.names.local(idc.name).to_owned();
            if t.fields.iter().any(Option::is_none) {
                if idc.category == IdcCategory::Key {
                    problems.push((
                        t.pos,
                        ErrorKind::IdentityConstraint,
                        format!("key '{name}': a field is missing"),
                    ));
                }
                continue;
            }
            let key: Vec<Value> = t.fields.into_iter().map(|f| f.expect("checked")).collect();
            let bytes = row_bytes(&key);
            match held.take(1, bytes) {
                Ok(()) => {}
                Err(Some(message)) => {
                    problems.push((t.pos, ErrorKind::Limit, message));
                    continue;
                }
                Err(None) => continue,
            }
            match idc.category {
                IdcCategory::KeyRef => {
                    scope.refs.push((key, t.pos));
                    scope.held.entries += 1;
                    scope.held.bytes += bytes;
                }
                _ => {
                    if scope.table.insert(key) {
                        scope.held.entries += 1;
                        scope.held.bytes += bytes;
                    } else {
                        held.give_back(1, bytes);
                        problems.push((
                            t.pos,
                            ErrorKind::IdentityConstraint,
                            format!(
                                "duplicate value for {} '{name}'",
                                category_name(idc.category)
                            ),
                        ));
                    }
                }
            }
        }
        // Close scopes of this element: keys first, then keyrefs against completed tables.
        let mut closing: Vec<Scope> = Vec::new();
        while st.scopes.last().is_some_and(|s| s.depth == depth) {
            closing.push(st.scopes.pop().expect("checked"));
        }
        for s in closing
            .iter_mut()
            .filter(|s| g.identity[s.idc as usize].category != IdcCategory::KeyRef)
        {
            // A finished table is kept for keyrefs of enclosing scopes: an empty one could
            // match nothing, and a kept one costs an entry of its own (a million elements
            // with a one-row table each are a million tables).
            if s.table.is_empty() {
                continue;
            }
            let own = size_of::<(u32, u64, HashSet<Vec<Value>>)>();
            match held.take(1, own) {
                Ok(()) => {}
                Err(message) => {
                    held.give_back(s.held.entries, s.held.bytes);
                    if let Some(message) = message {
                        problems.push((pos, ErrorKind::Limit, message));
                    }
                    continue;
                }
            }
            st.finished
                .push((s.idc, s.seq, std::mem::take(&mut s.table)));
            st.finished_held.entries += s.held.entries + 1;
            st.finished_held.bytes += s.held.bytes + own;
        }
        for s in closing
            .iter()
            .filter(|s| g.identity[s.idc as usize].category == IdcCategory::KeyRef)
        {
            held.give_back(s.held.entries, s.held.bytes);
            let idc = &g.identity[s.idc as usize];
            let Some(refer) = idc.refer else { continue };
            if held.exhausted() {
                // Keys were left out once the limit was hit: no verdict on keyrefs.
                continue;
            }
            for (key, at) in &s.refs {
                let found = st
                    .finished
                    .iter()
                    .any(|(i, seq, table)| *i == refer && *seq >= s.seq && table.contains(key));
                if !found {
                    let name = g.names.local(idc.name).to_owned();
                    problems.push((
                        *at,
                        ErrorKind::IdentityConstraint,
                        format!("keyref '{name}': no matching key value"),
                    ));
                }
            }
        }
        // Finished tables serve keyrefs only: without an open keyref scope they go.
        let keyref_open = st
            .scopes
            .iter()
            .any(|s| g.identity[s.idc as usize].category == IdcCategory::KeyRef);
        if !keyref_open {
            st.finished.clear();
            let done = std::mem::take(&mut st.finished_held);
            held.give_back(done.entries, done.bytes);
        }
        if st.scopes.is_empty() {
            st.targets.clear();
            st.sinks.clear();
        }
        for (p, kind, m) in problems {
            self.error(p, kind, m);
        }
    }
}

fn category_name(c: IdcCategory) -> &'static str {
    match c {
        IdcCategory::Unique => "unique",
        IdcCategory::Key => "key",
        IdcCategory::KeyRef => "keyref",
    }
}

/// The typed value of an attribute for a field: by its attribute use in the element's type, else
/// by a global attribute declaration (an attribute matched by a wildcard); `None` when no
/// declaration governs it (a field must select a node with a simple type, §3.11.4).
fn attribute_value(
    g: &crate::xsd::components::Grammar,
    type_id: Option<TypeId>,
    ns: &str,
    local: &str,
    value: &str,
    resolver: &dyn NsResolver,
) -> Option<Value> {
    let q = g.names.lookup(g.names.ns_id(ns), local);
    let own = type_id.and_then(|t| {
        let TypeKind::Complex(ct) = &g.type_def(t).kind else {
            return None;
        };
        ct.attributes
            .iter()
            .find(|u| Some(u.name) == q)
            .map(|u| u.type_id)
    });
    let type_id = match own {
        Some(t) => t,
        None => q
            .and_then(|q| g.global_attributes.get(&q))
            .map(|u| u.type_id)?,
    };
    if let TypeKind::Simple(st, _) = &g.type_def(type_id).kind
        && let Ok(v) = st.validate(value, resolver)
    {
        return Some(v);
    }
    Some(Value::String(value.trim().into()))
}

/// Attribute uses of an element's type that carry a default or fixed value.
fn defaulted_uses(
    g: &crate::xsd::components::Grammar,
    type_id: Option<TypeId>,
) -> impl Iterator<Item = &crate::xsd::components::AttrUse> {
    let uses: &[crate::xsd::components::AttrUse] = match type_id.map(|t| &g.type_def(t).kind) {
        Some(TypeKind::Complex(ct)) => &ct.attributes,
        _ => &[],
    };
    uses.iter().filter(|u| u.value.is_some())
}
