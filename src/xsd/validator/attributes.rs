//! Attribute assessment: declared uses, wildcards, required and prohibited attributes, fixed
//! values and defaults, `xsi:*`.

use crate::xml::Pos;
use crate::xsd::components::{AttrUse, IdKind, Process, TypeKind, UNKNOWN_NS};
use crate::xsd::datatypes::NsResolver;
use crate::xsd::error::ErrorKind;

use super::engine::{Frame, Validator};
use super::{AttributeInfo, Observer, Tag};

impl Validator<'_> {
    pub(super) fn emit_attributes<O: Observer>(
        &mut self,
        frame: &Frame,
        tag: &impl Tag,
        ns: &dyn NsResolver,
        pos: Pos,
        obs: &mut O,
    ) {
        let g = self.g;
        let Some(type_id) = frame.type_id else {
            return;
        };
        let ct = match &g.type_def(type_id).kind {
            TypeKind::Complex(ct) => Some(ct),
            TypeKind::Simple(..) => None,
        };
        let uses: &[AttrUse] = ct.map_or(&[], |c| &c.attributes);
        self.seen.clear();
        self.seen.resize(uses.len(), false);
        // Attributes the wildcard validated with a type that is or derives from ID.
        let mut wild_ids = 0usize;
        for (ans, local, prefix, value) in tag.attributes() {
            let ns_id = g.names.ns_id(ans);
            if ns_id == g.xsi_ns {
                match local {
                    "type" | "nil" | "schemaLocation" | "noNamespaceSchemaLocation" => continue,
                    _ => {
                        self.error(
                            pos,
                            ErrorKind::UnexpectedAttribute,
                            format!("attribute xsi:{local} is not defined"),
                        );
                        continue;
                    }
                }
            }
            let name = if ns_id == UNKNOWN_NS {
                None
            } else {
                g.names.lookup(ns_id, local)
            };
            // Built only for messages (not per attribute: this is the hot path).
            let shown_name = || {
                if prefix.is_empty() {
                    local.to_owned()
                } else {
                    format!("{prefix}:{local}")
                }
            };
            if let Some(i) = name.and_then(|q| uses.iter().position(|u| u.name == q)) {
                self.seen[i] = true;
                self.check_attr(&uses[i], shown_name, value, ns, pos, obs, ans, local);
                continue;
            }
            match ct.and_then(|c| c.attr_wildcard.as_ref()) {
                Some(w) if w.ns.allows(ns_id) => {
                    let global = name.and_then(|q| g.global_attributes.get(&q));
                    match (w.process, global) {
                        (Process::Skip, _) | (Process::Lax, None) => {
                            obs.attribute(
                                g,
                                &AttributeInfo {
                                    name,
                                    ns: ans,
                                    local,
                                    value,
                                    typed: None,
                                    defaulted: false,
                                },
                            );
                        }
                        (_, Some(a)) => {
                            if is_id(g, a) {
                                wild_ids += 1;
                            }
                            self.check_attr(a, shown_name, value, ns, pos, obs, ans, local);
                        }
                        (Process::Strict, None) => self.error(
                            pos,
                            ErrorKind::UnexpectedAttribute,
                            format!(
                                "attribute {} matches a strict wildcard but is not declared",
                                shown_name()
                            ),
                        ),
                    }
                }
                _ => self.error(
                    pos,
                    ErrorKind::UnexpectedAttribute,
                    format!("attribute {} is not allowed here", shown_name()),
                ),
            }
        }
        // Element Locally Valid (Complex Type) 5 (cvc-complex-type.5): at most one ID
        // attribute through the wildcard, and none when the type declares an ID attribute.
        if wild_ids > 1 {
            self.error(
                pos,
                ErrorKind::Id,
                "more than one attribute of type ID matched by the attribute wildcard \
                 (cvc-complex-type.5.1)"
                    .to_owned(),
            );
        } else if wild_ids == 1 && uses.iter().any(|u| is_id(g, u)) {
            self.error(
                pos,
                ErrorKind::Id,
                "an attribute of type ID matched by the attribute wildcard, and the type \
                 declares an ID attribute too (cvc-complex-type.5.2)"
                    .to_owned(),
            );
        }
        for (i, u) in uses.iter().enumerate() {
            if self.seen[i] {
                continue;
            }
            if u.required {
                let label = g.names.display(u.name);
                self.error(
                    pos,
                    ErrorKind::MissingAttribute,
                    format!("required attribute {label} is missing"),
                );
            } else if let Some(vc) = &u.value {
                let (ans, local) = (g.names.ns_uri(g.names.ns_of(u.name)), g.names.local(u.name));
                obs.attribute(
                    g,
                    &AttributeInfo {
                        name: Some(u.name),
                        ns: ans,
                        local,
                        value: &vc.lexical,
                        typed: vc.value.as_ref(),
                        defaulted: true,
                    },
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn check_attr<O: Observer>(
        &mut self,
        u: &AttrUse,
        shown_name: impl Fn() -> String,
        value: &str,
        ns: &dyn NsResolver,
        pos: Pos,
        obs: &mut O,
        ans: &str,
        local: &str,
    ) {
        let g = self.g;
        let TypeKind::Simple(st, id_kind) = &g.type_def(u.type_id).kind else {
            return;
        };
        let fixed = u.value.as_ref().filter(|vc| vc.fixed);
        let checked = if obs.wants_value(st) || fixed.is_some() {
            st.validate(value, ns).map(Some)
        } else {
            st.check(value, ns).map(|()| None)
        };
        match checked {
            Ok(v) => {
                if let Some(vc) = fixed {
                    let same = match (&vc.value, &v) {
                        (Some(fv), Some(v)) => fv == v,
                        _ => st.normalize(value) == st.normalize(&vc.lexical),
                    };
                    if !same {
                        let shown = self.shown(value);
                        self.error(
                            pos,
                            ErrorKind::FixedValue,
                            format!(
                                "attribute {} does not match the fixed value '{}'{shown}",
                                shown_name(),
                                vc.lexical
                            ),
                        );
                    }
                }
                if *id_kind != IdKind::None {
                    let normalized = st.normalize(value).into_owned();
                    self.record_id(*id_kind, &normalized, pos);
                }
                obs.attribute(
                    g,
                    &AttributeInfo {
                        name: Some(u.name),
                        ns: ans,
                        local,
                        value,
                        typed: v.as_ref(),
                        defaulted: false,
                    },
                );
            }
            Err(e) => {
                let shown = self.shown(value);
                let label = self.type_label(u.type_id);
                self.error(
                    pos,
                    ErrorKind::InvalidValue,
                    format!(
                        "attribute {}: value not valid for {label}: {e}{shown}",
                        shown_name()
                    ),
                );
                obs.attribute(
                    g,
                    &AttributeInfo {
                        name: Some(u.name),
                        ns: ans,
                        local,
                        value,
                        typed: None,
                        defaulted: false,
                    },
                );
            }
        }
    }
}

/// The attribute's type is or derives from ID.
fn is_id(g: &crate::xsd::components::Grammar, u: &AttrUse) -> bool {
    matches!(&g.type_def(u.type_id).kind, TypeKind::Simple(_, IdKind::Id))
}
