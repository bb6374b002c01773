//! "Particle Valid (Restriction)" (XSD 1.0 §3.9.6, cos-particle-restrict): a complex type
//! derived by restriction may only accept what its base accepts. Checked once all components
//! exist, on particle trees with pointless groups removed.

use super::{Asm, Src};
use crate::xsd::components::{AttrUse, Derivations, NsConstraint, Process, TypeId, Wildcard};
use crate::xsd::content::{Particle, Term, UNBOUNDED};
use crate::xsd::derivation::methods_between;

/// Removes pointless particles (§3.9.6 clause 2.2): groups (`all` too) with one child and
/// occurrence (1,1), nested groups of the same kind with (1,1), empty groups.
fn normalize(p: &Particle) -> Particle {
    match &p.term {
        Term::Sequence(c) | Term::Choice(c) | Term::All(c) => {
            let is_seq = matches!(p.term, Term::Sequence(_));
            let is_choice = matches!(p.term, Term::Choice(_));
            let mut kids = Vec::new();
            for k in c.iter().map(normalize) {
                if k.is_empty() {
                    continue;
                }
                let same = k.min == 1
                    && k.max == 1
                    && ((is_seq && matches!(k.term, Term::Sequence(_)))
                        || (is_choice && matches!(k.term, Term::Choice(_))));
                match (same, k.term) {
                    (true, Term::Sequence(g) | Term::Choice(g)) => kids.extend(g),
                    (_, term) => kids.push(Particle {
                        min: k.min,
                        max: k.max,
                        term,
                    }),
                }
            }
            if kids.len() == 1 && p.min == 1 && p.max == 1 {
                return kids.pop().expect("one child");
            }
            let term = match p.term {
                Term::Sequence(_) => Term::Sequence(kids),
                Term::Choice(_) => Term::Choice(kids),
                _ => Term::All(kids),
            };
            Particle {
                min: p.min,
                max: p.max,
                term,
            }
        }
        _ => p.clone(),
    }
}

fn range_ok(r: &Particle, b: &Particle) -> bool {
    r.min >= b.min && (b.max == UNBOUNDED || (r.max != UNBOUNDED && r.max <= b.max))
}

fn emptiable(p: &Particle) -> bool {
    p.min == 0
        || match &p.term {
            Term::Sequence(c) | Term::All(c) => c.iter().all(emptiable),
            Term::Choice(c) => c.iter().any(emptiable),
            _ => false,
        }
}

fn ns_subset(r: &NsConstraint, b: &NsConstraint) -> bool {
    match (r, b) {
        (_, NsConstraint::Any) => true,
        (NsConstraint::Not(x), NsConstraint::Not(y)) => x == y,
        (NsConstraint::List(l), other) => l.iter().all(|&n| other.allows(n)),
        _ => false,
    }
}

fn process_ok(r: &Wildcard, b: &Wildcard) -> bool {
    match b.process {
        Process::Strict => r.process == Process::Strict,
        Process::Lax => r.process != Process::Skip,
        Process::Skip => true,
    }
}

/// Effective total range of a group particle (for NSRecurseCheckCardinality / MapAndSum).
fn total_range(p: &Particle) -> (u64, u64) {
    let mul = |a: u64, b: u64| {
        if a == u64::MAX || b == u64::MAX {
            u64::MAX
        } else {
            a.saturating_mul(b)
        }
    };
    let max_of = |m: u32| {
        if m == UNBOUNDED {
            u64::MAX
        } else {
            u64::from(m)
        }
    };
    match &p.term {
        Term::Element(_) | Term::Any(_) => (u64::from(p.min), max_of(p.max)),
        Term::Sequence(c) | Term::All(c) => {
            let (mn, mx) = c
                .iter()
                .map(total_range)
                .fold((0u64, 0u64), |(a, b), (x, y)| {
                    (
                        a + x,
                        if b == u64::MAX || y == u64::MAX {
                            u64::MAX
                        } else {
                            b + y
                        },
                    )
                });
            (mul(u64::from(p.min), mn), mul(max_of(p.max), mx))
        }
        Term::Choice(c) => {
            let mn = c.iter().map(|k| total_range(k).0).min().unwrap_or(0);
            let mx = c.iter().map(|k| total_range(k).1).max().unwrap_or(0);
            (mul(u64::from(p.min), mn), mul(max_of(p.max), mx))
        }
    }
}

/// Where a particle in the restriction check came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// From the schema (or a group of such particles).
    Schema,
    /// A substitution group expanded into a choice (or a group wrapping an alternative).
    Group,
    /// One declaration of an expanded substitution group: not expanded again.
    Alternative,
}

impl Kind {
    /// The origin of this particle's children.
    fn children(self) -> Self {
        match self {
            Self::Group => Self::Alternative,
            Self::Schema | Self::Alternative => Self::Schema,
        }
    }
}

impl Asm<'_> {
    /// Checks every recorded complexContent restriction.
    pub(super) fn check_restrictions(&mut self) {
        for (id, base, src) in std::mem::take(&mut self.restrictions) {
            let ok = self.particle_restricts(
                self.type_particles[id as usize].as_ref(),
                self.type_particles[base as usize].as_ref(),
            );
            let mixed = |t: TypeId| match &self.g.types[t as usize].kind {
                crate::xsd::components::TypeKind::Complex(ct) => {
                    matches!(
                        ct.content,
                        crate::xsd::components::Content::Elements { mixed: true, .. }
                    )
                }
                crate::xsd::components::TypeKind::Simple(..) => false,
            };
            if mixed(id) && !mixed(base) {
                self.error(src, "a restriction of element-only content cannot be mixed");
            }
            if !ok {
                self.error(src, "content model is not a valid restriction of the base type's (cos-particle-restrict)");
            }
        }
    }

    /// An element particle whose declaration heads a substitution group stands for a choice of
    /// the head (unless abstract) and its members (XSD 1.0 §3.9.6).
    fn as_choice(&self, p: &Particle) -> Option<Particle> {
        let Term::Element(e) = p.term else {
            return None;
        };
        let d = &self.g.elements[e as usize];
        if d.substitutes.is_empty() {
            return None;
        }
        let one = |e: u32| Particle {
            min: 1,
            max: 1,
            term: Term::Element(e),
        };
        let mut alts: Vec<Particle> = Vec::new();
        if !d.is_abstract {
            alts.push(one(e));
        }
        alts.extend(d.substitutes.iter().map(|&(_, m)| one(m)));
        Some(Particle {
            min: p.min,
            max: p.max,
            term: Term::Choice(alts),
        })
    }

    fn restricts(&self, r: &Particle, b: &Particle) -> bool {
        self.restricts_at(r, Kind::Schema, b, Kind::Schema, 0)
    }

    /// `r` restricts `b`; `rk` and `bk` say where each particle came from (see [`Kind`]).
    fn restricts_at(&self, r: &Particle, rk: Kind, b: &Particle, bk: Kind, depth: u32) -> bool {
        // Guards against circular substitution groups (already reported as schema errors).
        if depth > 64 {
            return false;
        }
        let d = depth + 1;
        // A head's substitution group is expanded once: the alternatives are its declarations
        // (the group is transitive), never expanded again — the head's own alternative would
        // otherwise expand into the same choice without end.
        let expand = |p: &Particle, k: Kind| {
            if k == Kind::Alternative {
                None
            } else {
                self.as_choice(p)
            }
        };
        if let Some(bc) = expand(b, bk) {
            return match expand(r, rk) {
                Some(rc) => self.restricts_at(&rc, Kind::Group, &bc, Kind::Group, d),
                None => self.restricts_at(r, rk, &bc, Kind::Group, d),
            };
        }
        if let Some(rc) = expand(r, rk) {
            return self.restricts_at(&rc, Kind::Group, b, bk, d);
        }
        let (rck, bck) = (rk.children(), bk.children());
        match (&r.term, &b.term) {
            (Term::Element(re), Term::Element(be)) => self.name_and_type_ok(r, *re, b, *be),
            (Term::Element(re), Term::Any(w)) => {
                range_ok(r, b)
                    && w.ns
                        .allows(self.g.names.ns_of(self.g.elements[*re as usize].name))
            }
            (Term::Element(_), Term::Sequence(_) | Term::Choice(_) | Term::All(_)) => {
                let group = Particle {
                    min: 1,
                    max: 1,
                    term: match b.term {
                        Term::Sequence(_) => Term::Sequence(vec![r.clone()]),
                        Term::Choice(_) => Term::Choice(vec![r.clone()]),
                        _ => Term::All(vec![r.clone()]),
                    },
                };
                // The wrapped particle keeps its origin.
                let gk = if rk == Kind::Alternative {
                    Kind::Group
                } else {
                    Kind::Schema
                };
                self.restricts_at(&group, gk, b, bk, d)
            }
            (Term::Any(rw), Term::Any(bw)) => {
                range_ok(r, b) && ns_subset(&rw.ns, &bw.ns) && process_ok(rw, bw)
            }
            (Term::Sequence(_) | Term::Choice(_) | Term::All(_), Term::Any(bw)) => {
                let (mn, mx) = total_range(r);
                let bmax = if b.max == UNBOUNDED {
                    u64::MAX
                } else {
                    u64::from(b.max)
                };
                mn >= u64::from(b.min) && mx <= bmax && self.leaves_in(r, bw)
            }
            (Term::All(rc), Term::All(bc)) | (Term::Sequence(rc), Term::Sequence(bc)) => {
                range_ok(r, b) && self.recurse((rc, rck), (bc, bck), true, d)
            }
            (Term::Choice(rc), Term::Choice(bc)) => {
                range_ok(r, b) && self.recurse((rc, rck), (bc, bck), false, d)
            }
            (Term::Sequence(rc), Term::All(bc)) => {
                if !range_ok(r, b) {
                    return false;
                }
                let mut used = vec![false; bc.len()];
                for rp in rc {
                    match (0..bc.len())
                        .find(|&i| !used[i] && self.restricts_at(rp, rck, &bc[i], bck, d))
                    {
                        Some(i) => used[i] = true,
                        None => return false,
                    }
                }
                bc.iter().zip(&used).all(|(bp, u)| *u || emptiable(bp))
            }
            (Term::Sequence(rc), Term::Choice(bc)) => {
                let n = u32::try_from(rc.len()).unwrap_or(UNBOUNDED);
                let mul = |a: u32| {
                    if a == UNBOUNDED {
                        UNBOUNDED
                    } else {
                        a.saturating_mul(n)
                    }
                };
                let summed = Particle {
                    min: r.min.saturating_mul(n),
                    max: mul(r.max),
                    term: Term::Sequence(Vec::new()),
                };
                range_ok(&summed, b)
                    && rc
                        .iter()
                        .all(|rp| bc.iter().any(|bp| self.restricts_at(rp, rck, bp, bck, d)))
            }
            _ => false,
        }
    }

    /// Recurse (ordered; unmatched base particles must be emptiable) or RecurseLax.
    fn recurse(
        &self,
        (rc, rk): (&[Particle], Kind),
        (bc, bk): (&[Particle], Kind),
        strict: bool,
        depth: u32,
    ) -> bool {
        let mut j = 0;
        for rp in rc {
            loop {
                let Some(bp) = bc.get(j) else {
                    return false;
                };
                j += 1;
                if self.restricts_at(rp, rk, bp, bk, depth) {
                    break;
                }
                if strict && !emptiable(bp) {
                    return false;
                }
            }
        }
        !strict || bc[j..].iter().all(emptiable)
    }

    fn leaves_in(&self, p: &Particle, w: &Wildcard) -> bool {
        match &p.term {
            Term::Element(e) => {
                w.ns.allows(self.g.names.ns_of(self.g.elements[*e as usize].name))
            }
            Term::Any(rw) => ns_subset(&rw.ns, &w.ns),
            Term::Sequence(c) | Term::Choice(c) | Term::All(c) => {
                c.iter().all(|k| self.leaves_in(k, w))
            }
        }
    }

    fn name_and_type_ok(&self, r: &Particle, re: u32, b: &Particle, be: u32) -> bool {
        let (rd, bd) = (&self.g.elements[re as usize], &self.g.elements[be as usize]);
        if rd.name != bd.name {
            return false;
        }
        if !range_ok(r, b) || (rd.nillable && !bd.nillable) {
            return false;
        }
        if let Some(bv) = bd.value.as_ref().filter(|v| v.fixed) {
            match &rd.value {
                Some(rv) if rv.fixed && (rv.value == bv.value || rv.lexical == bv.lexical) => {}
                _ => return false,
            }
        }
        if bd.block.0
            & !rd.block.0
            & (Derivations::EXTENSION | Derivations::RESTRICTION | Derivations::SUBSTITUTION)
            != 0
        {
            return false;
        }
        self.type_restricts(rd.type_id, bd.type_id)
    }

    fn type_restricts(&self, r: TypeId, b: TypeId) -> bool {
        methods_between(&self.g, r, b).is_some_and(|m| m & Derivations::EXTENSION == 0)
    }

    /// Records a restriction for [`Asm::check_restrictions`].
    pub(super) fn note_restriction(&mut self, id: TypeId, base: TypeId, src: Src) {
        if base != crate::xsd::components::ANY_TYPE {
            self.restrictions.push((id, base, src));
        }
    }
}

/// The attribute side of a restriction: derived attribute uses and wildcard against the base's.
pub(super) struct AttrBase<'a> {
    /// The base's attribute uses.
    pub uses: &'a [AttrUse],
    /// The base's attribute wildcard.
    pub wildcard: Option<&'a Wildcard>,
    /// The base is `xs:anyType` (exempt from the processContents rule).
    pub ur_type: bool,
}

impl Asm<'_> {
    /// derivation-ok-restriction 2–4 (XSD 1.0 §3.4.6), also used for attribute groups in
    /// `xs:redefine` without self-reference (src-redefine 7.2.2): every attribute use of the
    /// restriction matches a base use (as required as it, with a type derived from its type and
    /// the same fixed value) or the base wildcard; no required base attribute is lost; the
    /// wildcard is a subset of the base's.
    pub(super) fn check_attr_restriction(
        &mut self,
        base: &AttrBase<'_>,
        uses: &[AttrUse],
        wildcard: Option<&Wildcard>,
        what: &str,
        at: Src,
    ) {
        let mut problems: Vec<String> = Vec::new();
        for r in uses {
            let name = || self.g.names.display(r.name);
            match base.uses.iter().find(|b| b.name == r.name) {
                Some(b) => {
                    if b.required && !r.required {
                        problems.push(format!(
                            "attribute '{}' is required in the base and must stay required \
                             (derivation-ok-restriction 2.1.1)",
                            name()
                        ));
                    }
                    if methods_between(&self.g, r.type_id, b.type_id).is_none() {
                        problems.push(format!(
                            "the type of attribute '{}' is not derived from its type in the base \
                             (derivation-ok-restriction 2.1.2)",
                            name()
                        ));
                    }
                    if let Some(bv) = b.value.as_ref().filter(|v| v.fixed) {
                        let same = r.value.as_ref().is_some_and(|rv| {
                            rv.fixed
                                && (rv.lexical == bv.lexical
                                    || (rv.value.is_some() && rv.value == bv.value))
                        });
                        if !same {
                            problems.push(format!(
                                "attribute '{}' has a fixed value in the base that the \
                                 restriction must keep (derivation-ok-restriction 2.1.3)",
                                name()
                            ));
                        }
                    }
                }
                None => {
                    let ns = self.g.names.ns_of(r.name);
                    if !base.wildcard.is_some_and(|w| w.ns.allows(ns)) {
                        problems.push(format!(
                            "attribute '{}' is neither declared in the base nor allowed by its \
                             attribute wildcard (derivation-ok-restriction 2.2)",
                            name()
                        ));
                    }
                }
            }
        }
        for b in base.uses.iter().filter(|b| b.required) {
            if !uses.iter().any(|r| r.name == b.name) {
                problems.push(format!(
                    "required attribute '{}' of the base is missing (derivation-ok-restriction 3)",
                    self.g.names.display(b.name)
                ));
            }
        }
        if let Some(w) = wildcard {
            match base.wildcard {
                None => problems.push(
                    "an attribute wildcard needs one in the base (derivation-ok-restriction 4.1)"
                        .into(),
                ),
                Some(bw) => {
                    if !ns_subset(&w.ns, &bw.ns) {
                        problems.push(
                            "the attribute wildcard allows namespaces the base's does not \
                             (derivation-ok-restriction 4.2)"
                                .into(),
                        );
                    }
                    if !base.ur_type && !process_ok(w, bw) {
                        problems.push(
                            "the attribute wildcard's processContents is weaker than the base's \
                             (derivation-ok-restriction 4.3)"
                                .into(),
                        );
                    }
                }
            }
        }
        for p in problems {
            self.error(at, format!("{what}: {p}"));
        }
    }
}

impl Asm<'_> {
    /// Whether particle `r` (None = empty) is a valid restriction of `b` (cos-particle-restrict).
    pub(super) fn particle_restricts(&self, r: Option<&Particle>, b: Option<&Particle>) -> bool {
        let r = r.map(normalize);
        let b = b.map(normalize);
        match (&r, &b) {
            (None, _) => true,
            (Some(r), _) if r.is_empty() => b.as_ref().is_none_or(emptiable),
            (Some(_), None) => false,
            (Some(r), Some(b)) => self.restricts(r, b),
        }
    }
}
