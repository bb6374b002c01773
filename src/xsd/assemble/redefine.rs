//! Constraints on `xs:redefine` (XSD 1.0 §4.2.2, src-redefine 5–7): a redefined type derives
//! from its original; a redefined group or attribute group either refers to its original
//! exactly once (a group only with occurrence 1..1) or is a valid restriction of it.

use super::restriction::AttrBase;
use super::{Asm, AttrSet, Src};
use crate::xsd::load::original_key;

impl Asm<'_> {
    /// Checks every component inside every `xs:redefine`.
    pub(super) fn check_redefinitions(&mut self) {
        for d in 0..self.docs.len() {
            let doc = &self.docs[d];
            let d = u32::try_from(d).expect("document count bounded by limits");
            for (n, name) in doc.redefined_components() {
                let clark = format!("{{{}}}{}", doc.target_ns, name);
                let src = Src { doc: d, node: n };
                match &*doc.nodes[n as usize].kind {
                    "simpleType" | "complexType" => self.check_redefined_type(&clark, src),
                    "group" => self.check_redefined_group(&clark, src),
                    "attributeGroup" => self.check_redefined_attr_group(&clark, src),
                    _ => {}
                }
            }
        }
    }

    /// Nodes below `src` of kind `kind` whose `ref` names the original of `clark`.
    fn self_references(&self, src: Src, kind: &str, clark: &str) -> Vec<Src> {
        let original = original_key(clark, src.doc as usize);
        let mut out = Vec::new();
        let mut stack = vec![src];
        while let Some(s) = stack.pop() {
            for (c, node) in self.kids(s) {
                if &*node.kind == kind && node.attr("ref") == Some(original.as_str()) {
                    out.push(c);
                }
                stack.push(c);
            }
        }
        out
    }

    /// src-redefine 5: the redefinition restricts or extends the original, by its own name.
    fn check_redefined_type(&mut self, clark: &str, src: Src) {
        let original = original_key(clark, src.doc as usize);
        let node = self.node(src);
        let derivation = if &*node.kind == "simpleType" {
            self.kids(src)
                .find(|(_, n)| &*n.kind != "annotation")
                .filter(|(_, n)| &*n.kind == "restriction")
                .map(|(_, n)| n)
        } else {
            self.kids(src)
                .find(|(_, n)| matches!(&*n.kind, "simpleContent" | "complexContent"))
                .and_then(|(c, _)| {
                    self.kids(c)
                        .find(|(_, n)| matches!(&*n.kind, "restriction" | "extension"))
                })
                .map(|(_, n)| n)
        };
        if derivation.is_none_or(|n| n.attr("base") != Some(original.as_str())) {
            self.error(
                src,
                format!(
                    "a type in xs:redefine must be derived from its original '{clark}' \
                     (src-redefine 5)"
                ),
            );
        }
    }

    /// src-redefine 6: one self-reference with minOccurs = maxOccurs = 1, or none and a valid
    /// restriction of the original.
    fn check_redefined_group(&mut self, clark: &str, src: Src) {
        let refs = self.self_references(src, "group", clark);
        match refs.as_slice() {
            [] => {
                let redefined = if self.tables.groups.get(clark) == Some(&src) {
                    self.named_group(clark, src)
                } else {
                    self.kids(src)
                        .find(|(_, n)| matches!(&*n.kind, "sequence" | "choice" | "all"))
                        .map(|(s, _)| s)
                        .and_then(|s| self.particle(s))
                        .map(|mut p| {
                            p.min = 1;
                            p.max = 1;
                            p
                        })
                };
                let original = original_key(clark, src.doc as usize);
                if !self.tables.groups.contains_key(&original) {
                    return;
                }
                let base = self.named_group(&original, src);
                self.drain_pending();
                if !self.particle_restricts(redefined.as_ref(), base.as_ref()) {
                    self.error(
                        src,
                        format!(
                            "redefined group '{clark}' is not a valid restriction of the \
                             original (src-redefine 6.2.2)"
                        ),
                    );
                }
            }
            [one] => {
                let node = self.node(*one);
                let occurs = |a: &str| node.attr(a).is_none_or(|v| v.trim() == "1");
                if !(occurs("minOccurs") && occurs("maxOccurs")) {
                    self.error(
                        *one,
                        "the self-reference of a redefined group must have minOccurs and \
                         maxOccurs 1 (src-redefine 6.1.2)",
                    );
                }
            }
            [_, rest @ ..] => {
                for &r in rest {
                    self.error(
                        r,
                        format!(
                            "redefined group '{clark}' refers to itself more than once \
                             (src-redefine 6.1.1)"
                        ),
                    );
                }
            }
        }
    }

    /// src-redefine 7: at most one self-reference; without one, a valid restriction.
    fn check_redefined_attr_group(&mut self, clark: &str, src: Src) {
        let refs = self.self_references(src, "attributeGroup", clark);
        if refs.len() > 1 {
            for &r in &refs[1..] {
                self.error(
                    r,
                    format!(
                        "redefined attribute group '{clark}' refers to itself more than once \
                         (src-redefine 7.2.1)"
                    ),
                );
            }
            return;
        }
        if !refs.is_empty() {
            return;
        }
        let original = original_key(clark, src.doc as usize);
        if !self.tables.attr_groups.contains_key(&original) {
            return;
        }
        let redefined: AttrSet = if self.tables.attr_groups.get(clark) == Some(&src) {
            self.attr_group(clark, src)
        } else {
            self.attr_set(src)
        };
        let base = self.attr_group(&original, src);
        let base_set = AttrBase {
            uses: &base.uses,
            wildcard: base.wildcard.as_ref(),
            ur_type: false,
        };
        self.check_attr_restriction(
            &base_set,
            &redefined.uses,
            redefined.wildcard.as_ref(),
            "redefined attribute group (src-redefine 7.2.2)",
            src,
        );
    }
}
