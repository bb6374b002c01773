//! Content models: particle trees from assembly, compiled into flat node arrays that a
//! streaming matcher walks with O(1) state per node.
//!
//! Why not a Glushkov automaton: occurrence bounds stay counters on their node (`maxOccurs=5000`
//! costs one node, not 5000 states), and each node of the tree has at most one active instance
//! at a time, so the whole matcher state of an element is one fixed-size slice of
//! [`NodeState`]s, reused without allocation. Choices are resolved by first sets; for schemas
//! that satisfy Unique Particle Attribution (checked at compile time by [`Model::upa_conflict`])
//! the greedy walk is the unique attribution.
//!
//! UPA fixes the particle an element matches, not the counters: in `(a{1,2} b?){2}` the second
//! `a` either repeats the first or starts the group's second iteration, and only the end of
//! the content tells which was right. Models with such a repeated group whose minimum is above
//! one ([`Model::multi`]) keep up to [`MAX_CONFIGS`] alternative counter states side by side
//! (the extra states live in the same slice); all other models keep the single greedy state.

use super::components::{ElemId, Grammar, NsId, QNameId, Wildcard};

/// Unbounded `maxOccurs`.
pub const UNBOUNDED: u32 = u32::MAX;

/// A particle as assembled from the schema (before compilation).
#[derive(Debug, Clone)]
pub struct Particle {
    /// `minOccurs`.
    pub min: u32,
    /// `maxOccurs` ([`UNBOUNDED`] for unbounded).
    pub max: u32,
    /// The term.
    pub term: Term,
}

/// The term of a particle.
#[derive(Debug, Clone)]
pub enum Term {
    /// An element declaration.
    Element(ElemId),
    /// A wildcard.
    Any(Wildcard),
    /// `xs:sequence`.
    Sequence(Vec<Particle>),
    /// `xs:choice`.
    Choice(Vec<Particle>),
    /// `xs:all`.
    All(Vec<Particle>),
}

impl Particle {
    /// The empty particle (an empty sequence).
    pub fn empty() -> Self {
        Self {
            min: 1,
            max: 1,
            term: Term::Sequence(Vec::new()),
        }
    }

    /// The content of an extension: `base` followed by `own`, as one sequence. Sequences
    /// that occur exactly once are spliced in (pointless particles, §3.9.6), so a chain of
    /// extensions gives one flat sequence, not a nesting as deep as the chain: the compiled
    /// model, its first sets and every recursion over it stay proportional to the particles.
    pub fn sequence_of(base: Particle, own: Particle) -> Self {
        let mut kids = Vec::new();
        for p in [base, own] {
            match p {
                Particle {
                    min: 1,
                    max: 1,
                    term: Term::Sequence(children),
                } => kids.extend(children),
                other => kids.push(other),
            }
        }
        Self {
            min: 1,
            max: 1,
            term: Term::Sequence(kids),
        }
    }

    /// Number of particles in the tree and its nesting depth (a leaf has depth 1).
    pub fn size_and_depth(&self) -> (usize, usize) {
        match &self.term {
            Term::Element(_) | Term::Any(_) => (1, 1),
            Term::Sequence(c) | Term::Choice(c) | Term::All(c) => {
                c.iter().fold((1, 1), |(size, depth), k| {
                    let (s, d) = k.size_and_depth();
                    (size.saturating_add(s), depth.max(d + 1))
                })
            }
        }
    }

    /// Whether the particle can only match nothing.
    pub fn is_empty(&self) -> bool {
        self.max == 0
            || match &self.term {
                Term::Sequence(c) | Term::Choice(c) | Term::All(c) => c.iter().all(Self::is_empty),
                _ => false,
            }
    }
}

/// Kind of a compiled node.
#[derive(Debug, Clone)]
pub enum NodeKind {
    /// Element leaf.
    Element(ElemId),
    /// Wildcard leaf.
    Any(Wildcard),
    /// Sequence.
    Sequence,
    /// Choice.
    Choice,
    /// All.
    All,
}

/// A compiled node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Kind.
    pub kind: NodeKind,
    /// `minOccurs`.
    pub min: u32,
    /// `maxOccurs`.
    pub max: u32,
    /// Children (node indices).
    pub children: Vec<u32>,
    /// Leaves that can match first in one repetition of the body.
    pub first: Vec<u32>,
    /// One repetition of the body can match the empty sequence.
    pub body_nullable: bool,
    /// For sequences: `suffix_nullable[i]` = children `i..` can all be empty.
    pub suffix_nullable: Vec<bool>,
}

impl Node {
    fn nullable(&self) -> bool {
        self.min == 0 || self.body_nullable
    }
}

/// A compiled content model.
#[derive(Debug, Clone)]
pub struct Model {
    /// Nodes; `nodes[0]` is the root.
    pub nodes: Vec<Node>,
    /// Whether a repeated group with `minOccurs` > 1 contains repetition, so that the split of
    /// the children into iterations is ambiguous and alternatives are tracked.
    pub multi: bool,
}

/// Most counter configurations tracked at once for a [`Model::multi`] model.
pub const MAX_CONFIGS: usize = 8;

/// Mutable per-node state of a running match.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeState {
    count: u32,
    idx: u32,
    bits: u64,
}

const NONE: u32 = u32::MAX;

/// What a child element matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matched {
    /// An element declaration (possibly a substitution-group member).
    Element(ElemId),
    /// A wildcard leaf (node index in the model).
    Any(u32),
}

/// Result of feeding one child element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Accepted.
    Matched(Matched),
    /// Not accepted here; `complete` says whether the node could end before it.
    NoMatch {
        /// Whether the node is in an accepting state.
        complete: bool,
    },
}

impl Model {
    /// Compiles a particle tree.
    pub fn compile(particle: &Particle) -> Self {
        let mut model = Self {
            nodes: Vec::new(),
            multi: false,
        };
        model.add(particle);
        // Grammars live as long as the process: no growth slack in the largest arena.
        model.nodes.shrink_to_fit();
        model.multi = model.nodes.iter().enumerate().any(|(i, n)| {
            matches!(n.kind, NodeKind::Sequence | NodeKind::Choice)
                && n.max >= 2
                && ((n.min >= 2 && model.repeats_below(i)) || model.split_range_below(i))
        });
        model
    }

    /// Whether a node below `id` has a minimum of two or more and room above it: in a repeated
    /// group, `(a{3,5})*` with six a's is two iterations of three, which the greedy counter
    /// (five, then one) misses.
    fn split_range_below(&self, id: usize) -> bool {
        self.nodes[id].children.iter().any(|&c| {
            let n = &self.nodes[c as usize];
            (n.min >= 2 && n.max > n.min) || self.split_range_below(c as usize)
        })
    }

    /// Whether a node below `id` can occur more than once.
    fn repeats_below(&self, id: usize) -> bool {
        self.nodes[id]
            .children
            .iter()
            .any(|&c| self.nodes[c as usize].max > 1 || self.repeats_below(c as usize))
    }

    fn add(&mut self, p: &Particle) -> u32 {
        let id = u32::try_from(self.nodes.len()).expect("content model below 2^32 nodes");
        let (kind, kids) = match &p.term {
            Term::Element(e) => (NodeKind::Element(*e), &[][..]),
            Term::Any(w) => (NodeKind::Any(w.clone()), &[][..]),
            Term::Sequence(c) => (NodeKind::Sequence, &c[..]),
            Term::Choice(c) => (NodeKind::Choice, &c[..]),
            Term::All(c) => (NodeKind::All, &c[..]),
        };
        self.nodes.push(Node {
            kind,
            min: p.min,
            max: p.max,
            children: Vec::new(),
            first: Vec::new(),
            body_nullable: false,
            suffix_nullable: Vec::new(),
        });
        let children: Vec<u32> = kids
            .iter()
            .filter(|k| k.max > 0)
            .map(|k| self.add(k))
            .collect();
        let node_nullable = |m: &Self, c: u32| m.nodes[c as usize].nullable();
        let (first, body_nullable, suffix) = match self.nodes[id as usize].kind {
            NodeKind::Element(_) | NodeKind::Any(_) => (vec![id], false, Vec::new()),
            NodeKind::Sequence => {
                let mut first = Vec::new();
                for &c in &children {
                    first.extend_from_slice(&self.nodes[c as usize].first);
                    if !node_nullable(self, c) {
                        break;
                    }
                }
                let mut suffix = vec![true; children.len() + 1];
                for i in (0..children.len()).rev() {
                    suffix[i] = suffix[i + 1] && node_nullable(self, children[i]);
                }
                (first, suffix[0], suffix)
            }
            NodeKind::Choice => {
                let first = children
                    .iter()
                    .flat_map(|&c| self.nodes[c as usize].first.clone())
                    .collect();
                let nullable =
                    children.is_empty() || children.iter().any(|&c| node_nullable(self, c));
                (first, nullable, Vec::new())
            }
            NodeKind::All => {
                let first = children
                    .iter()
                    .flat_map(|&c| self.nodes[c as usize].first.clone())
                    .collect();
                let nullable = children.iter().all(|&c| node_nullable(self, c));
                (first, nullable, Vec::new())
            }
        };
        let node = &mut self.nodes[id as usize];
        node.children = children;
        node.first = first;
        node.body_nullable = body_nullable;
        node.suffix_nullable = suffix;
        id
    }

    /// Number of state slots a running match needs.
    pub fn state_len(&self) -> usize {
        if self.multi {
            1 + MAX_CONFIGS * self.nodes.len()
        } else {
            self.nodes.len()
        }
    }

    /// Initial state (the caller provides a slice of [`Model::state_len`]).
    pub fn reset(&self, state: &mut [NodeState]) {
        if self.multi {
            // Slot 0 counts the configurations; configuration 0 starts at slot 1.
            state[0] = NodeState {
                count: 1,
                idx: NONE,
                bits: 0,
            };
            state[1] = fresh();
        } else if let Some(root) = state.first_mut() {
            *root = fresh();
        }
    }

    /// The first (greedy) configuration of a state.
    fn primary<'s>(&self, state: &'s [NodeState]) -> &'s [NodeState] {
        if self.multi {
            &state[1..=self.nodes.len()]
        } else {
            state
        }
    }

    /// Feeds one child element named `name` (`None` if the grammar does not know the name) in
    /// namespace `ns`.
    pub fn step(
        &self,
        g: &Grammar,
        state: &mut [NodeState],
        name: Option<QNameId>,
        ns: NsId,
    ) -> Step {
        if self.multi {
            return self.step_multi(g, state, name, ns);
        }
        self.step_node(g, state, 0, name, ns, false)
    }

    /// [`Model::step`] over every tracked configuration: each may take the element greedily or
    /// by closing the current iteration of a group on its active path and starting the next.
    fn step_multi(
        &self,
        g: &Grammar,
        state: &mut [NodeState],
        name: Option<QNameId>,
        ns: NsId,
    ) -> Step {
        let n = self.nodes.len();
        let k = (state[0].count as usize).clamp(1, MAX_CONFIGS);
        let mut next: Vec<Vec<NodeState>> = Vec::new();
        let mut matched = None;
        let mut complete = false;
        let keep = |cfg: Vec<NodeState>, next: &mut Vec<Vec<NodeState>>| {
            if next.len() < MAX_CONFIGS && !next.contains(&cfg) {
                next.push(cfg);
            }
        };
        for c in 0..k {
            let cfg = &state[1 + c * n..1 + (c + 1) * n];
            let mut greedy = cfg.to_vec();
            match self.step_node(g, &mut greedy, 0, name, ns, false) {
                Step::Matched(m) => {
                    matched.get_or_insert(m);
                    keep(greedy, &mut next);
                }
                Step::NoMatch { complete: done } => complete |= done,
            }
            let mut id = 0u32;
            while let Some(child) = self.active_child(cfg, id) {
                let node = &self.nodes[id as usize];
                if node.max > 1
                    && cfg[id as usize].count < node.max
                    && self.iteration_complete(cfg, id)
                    && self.can_start(g, id, name, ns)
                {
                    let mut restart = cfg.to_vec();
                    restart[id as usize].idx = match node.kind {
                        NodeKind::Sequence => u32::try_from(node.children.len()).unwrap_or(NONE),
                        _ => NONE,
                    };
                    if let Step::Matched(m) = self.step_node(g, &mut restart, 0, name, ns, false) {
                        matched.get_or_insert(m);
                        keep(restart, &mut next);
                    }
                }
                id = child;
            }
        }
        match matched {
            Some(m) => {
                state[0].count = u32::try_from(next.len()).unwrap_or(1);
                for (c, cfg) in next.iter().enumerate() {
                    state[1 + c * n..1 + (c + 1) * n].copy_from_slice(cfg);
                }
                Step::Matched(m)
            }
            None => Step::NoMatch { complete },
        }
    }

    /// The child of a sequence or choice its current iteration is in.
    fn active_child(&self, st: &[NodeState], id: u32) -> Option<u32> {
        let node = &self.nodes[id as usize];
        let s = st[id as usize];
        match node.kind {
            NodeKind::Sequence | NodeKind::Choice if s.idx != NONE => {
                node.children.get(s.idx as usize).copied()
            }
            _ => None,
        }
    }

    /// Whether the current iteration of a sequence or choice could end here.
    fn iteration_complete(&self, st: &[NodeState], id: u32) -> bool {
        let node = &self.nodes[id as usize];
        let idx = st[id as usize].idx as usize;
        match self.active_child(st, id) {
            Some(child) => {
                self.complete_node(st, child)
                    && (!matches!(node.kind, NodeKind::Sequence) || node.suffix_nullable[idx + 1])
            }
            None => false,
        }
    }

    /// Error recovery after a [`Step::NoMatch`]: like [`Model::step`], but required particles
    /// that are missing are skipped, so that validation resynchronises on the next element the
    /// model knows (one error for one missing element instead of a cascade).
    pub fn step_skipping_missing(
        &self,
        g: &Grammar,
        state: &mut [NodeState],
        name: Option<QNameId>,
        ns: NsId,
    ) -> Step {
        if self.multi {
            // Recovery continues from the greedy configuration alone.
            state[0].count = 1;
            return self.step_node(g, &mut state[1..=self.nodes.len()], 0, name, ns, true);
        }
        self.step_node(g, state, 0, name, ns, true)
    }

    /// Whether the model accepts the children seen so far as complete.
    pub fn is_complete(&self, state: &[NodeState]) -> bool {
        if self.multi {
            let n = self.nodes.len();
            let k = (state[0].count as usize).clamp(1, MAX_CONFIGS);
            return (0..k).any(|c| self.complete_node(&state[1 + c * n..1 + (c + 1) * n], 0));
        }
        self.complete_node(state, 0)
    }

    fn leaf_match(
        &self,
        g: &Grammar,
        leaf: u32,
        name: Option<QNameId>,
        ns: NsId,
    ) -> Option<Matched> {
        match &self.nodes[leaf as usize].kind {
            NodeKind::Element(e) => {
                let name = name?;
                let decl = g.element(*e);
                if decl.name == name {
                    return Some(Matched::Element(*e));
                }
                decl.substitutes
                    .iter()
                    .find(|(q, _)| *q == name)
                    .map(|&(_, m)| Matched::Element(m))
            }
            NodeKind::Any(w) => w.ns.allows(ns).then_some(Matched::Any(leaf)),
            _ => None,
        }
    }

    fn can_start(&self, g: &Grammar, node: u32, name: Option<QNameId>, ns: NsId) -> bool {
        self.nodes[node as usize]
            .first
            .iter()
            .any(|&leaf| self.leaf_match(g, leaf, name, ns).is_some())
    }

    fn step_node(
        &self,
        g: &Grammar,
        st: &mut [NodeState],
        id: u32,
        name: Option<QNameId>,
        ns: NsId,
        lenient: bool,
    ) -> Step {
        let node = &self.nodes[id as usize];
        let i = id as usize;
        match node.kind {
            NodeKind::Element(_) | NodeKind::Any(_) => {
                if st[i].count < node.max
                    && let Some(m) = self.leaf_match(g, id, name, ns)
                {
                    st[i].count += 1;
                    return Step::Matched(m);
                }
                Step::NoMatch {
                    complete: st[i].count >= node.min,
                }
            }
            NodeKind::Sequence => loop {
                let idx = st[i].idx;
                if idx != NONE && (idx as usize) < node.children.len() {
                    let child = node.children[idx as usize];
                    match self.step_node(g, st, child, name, ns, lenient) {
                        Step::Matched(m) => return Step::Matched(m),
                        Step::NoMatch { complete: false } if !lenient => {
                            return Step::NoMatch { complete: false };
                        }
                        Step::NoMatch { .. } => {
                            st[i].idx = idx + 1;
                            if let Some(&next) = node.children.get(idx as usize + 1) {
                                st[next as usize] = fresh();
                            }
                        }
                    }
                } else {
                    let start =
                        self.can_start(g, id, name, ns) || (lenient && st[i].count < node.min);
                    if st[i].count < node.max && start {
                        st[i].count += 1;
                        st[i].idx = 0;
                        if let Some(&c0) = node.children.first() {
                            st[c0 as usize] = fresh();
                        }
                        continue;
                    }
                    return Step::NoMatch {
                        complete: st[i].count >= node.min || node.body_nullable,
                    };
                }
            },
            NodeKind::Choice => {
                let idx = st[i].idx;
                if idx != NONE {
                    let child = node.children[idx as usize];
                    match self.step_node(g, st, child, name, ns, lenient) {
                        Step::Matched(m) => return Step::Matched(m),
                        Step::NoMatch { complete: false } if !lenient => {
                            return Step::NoMatch { complete: false };
                        }
                        Step::NoMatch { .. } => {}
                    }
                }
                if st[i].count < node.max {
                    for &child in &node.children {
                        if self.can_start(g, child, name, ns) {
                            st[i].count += 1;
                            st[i].idx = self.child_pos(id, child);
                            st[child as usize] = fresh();
                            return self.step_node(g, st, child, name, ns, lenient);
                        }
                    }
                }
                Step::NoMatch {
                    complete: st[i].count >= node.min || node.body_nullable,
                }
            }
            NodeKind::All => {
                for (k, &child) in node.children.iter().enumerate() {
                    if st[i].bits & (1 << (k % 64)) != 0 {
                        continue;
                    }
                    if let Some(m) = self.leaf_match(g, child, name, ns) {
                        st[i].bits |= 1 << (k % 64);
                        st[i].count = 1;
                        return Step::Matched(m);
                    }
                }
                Step::NoMatch {
                    complete: self.complete_node(st, id),
                }
            }
        }
    }

    fn child_pos(&self, parent: u32, child: u32) -> u32 {
        let pos = self.nodes[parent as usize]
            .children
            .iter()
            .position(|&c| c == child)
            .expect("child of its parent");
        u32::try_from(pos).expect("small")
    }

    fn complete_node(&self, st: &[NodeState], id: u32) -> bool {
        let node = &self.nodes[id as usize];
        let s = st[id as usize];
        match node.kind {
            NodeKind::Element(_) | NodeKind::Any(_) => s.count >= node.min,
            NodeKind::Sequence => {
                let reps_ok = s.count >= node.min || node.body_nullable;
                if s.idx == NONE || s.idx as usize >= node.children.len() {
                    return reps_ok;
                }
                let child = node.children[s.idx as usize];
                reps_ok && self.complete_node(st, child) && node.suffix_nullable[s.idx as usize + 1]
            }
            NodeKind::Choice => {
                let reps_ok = s.count >= node.min || node.body_nullable;
                if s.idx == NONE {
                    return reps_ok;
                }
                reps_ok && self.complete_node(st, node.children[s.idx as usize])
            }
            NodeKind::All => {
                if s.bits == 0 && (node.min == 0 || node.body_nullable) {
                    return true;
                }
                node.children
                    .iter()
                    .enumerate()
                    .all(|(k, &c)| s.bits & (1 << (k % 64)) != 0 || self.nodes[c as usize].min == 0)
            }
        }
    }

    /// The leaves that could come next (for "expected …" messages), deduplicated.
    pub fn expected(&self, st: &[NodeState]) -> Vec<u32> {
        let mut out = Vec::new();
        self.expected_node(self.primary(st), 0, &mut out);
        out.dedup();
        out
    }

    fn expected_node(&self, st: &[NodeState], id: u32, out: &mut Vec<u32>) -> bool {
        // Returns whether the node may end here (so later siblings are expected too).
        let node = &self.nodes[id as usize];
        let s = st[id as usize];
        let more = s.count < node.max;
        match node.kind {
            NodeKind::Element(_) | NodeKind::Any(_) => {
                if more {
                    out.push(id);
                }
                s.count >= node.min
            }
            NodeKind::Sequence => {
                let mut pos = if s.idx == NONE {
                    node.children.len()
                } else {
                    s.idx as usize
                };
                if pos < node.children.len() {
                    if !self.expected_node(st, node.children[pos], out) {
                        return false;
                    }
                    pos += 1;
                    for &c in &node.children[pos..] {
                        out.extend_from_slice(&self.nodes[c as usize].first);
                        if !self.nodes[c as usize].nullable() {
                            return false;
                        }
                    }
                }
                if more {
                    out.extend_from_slice(&node.first);
                }
                s.count >= node.min || node.body_nullable
            }
            NodeKind::Choice => {
                if s.idx != NONE && !self.expected_node(st, node.children[s.idx as usize], out) {
                    return false;
                }
                if more {
                    out.extend_from_slice(&node.first);
                }
                s.count >= node.min || node.body_nullable
            }
            NodeKind::All => {
                for (k, &c) in node.children.iter().enumerate() {
                    if s.bits & (1 << (k % 64)) == 0 {
                        out.push(c);
                    }
                }
                self.complete_node(st, id)
            }
        }
    }

    /// Unique Particle Attribution: two different leaves that can compete for the same element
    /// at one point. Returns the pair of leaves if the model is ambiguous.
    ///
    /// Checked conservatively on the tree: within a choice, first sets of different branches
    /// must not overlap; within a sequence, a repeatable or optional child's leaves must not
    /// overlap with what may follow it.
    pub fn upa_conflict(&self, g: &Grammar) -> Option<(u32, u32)> {
        let mut follow = vec![Vec::new(); self.nodes.len()];
        self.compute_follow(0, &[], &mut follow);
        for (id, node) in self.nodes.iter().enumerate() {
            match node.kind {
                NodeKind::Choice => {
                    for (a_i, &a) in node.children.iter().enumerate() {
                        for &b in &node.children[a_i + 1..] {
                            if let Some(pair) = self.overlap(
                                g,
                                &self.nodes[a as usize].first,
                                &self.nodes[b as usize].first,
                            ) {
                                return Some(pair);
                            }
                        }
                    }
                }
                NodeKind::All => {
                    let leaves: Vec<u32> = node.children.clone();
                    for (a_i, &a) in leaves.iter().enumerate() {
                        for &b in &leaves[a_i + 1..] {
                            if let Some(pair) = self.overlap(g, &[a], &[b]) {
                                return Some(pair);
                            }
                        }
                    }
                }
                _ => {}
            }
            // A node that may stop or repeat competes with what follows it.
            if node.min != node.max || node.body_nullable {
                let own: Vec<u32> = if node.max > 1 || node.min != node.max {
                    node.first.clone()
                } else {
                    Vec::new()
                };
                if let Some(pair) = self.overlap(g, &own, &follow[id])
                    && pair.0 != pair.1
                {
                    return Some(pair);
                }
            }
        }
        None
    }

    fn compute_follow(&self, id: u32, after: &[u32], follow: &mut Vec<Vec<u32>>) {
        follow[id as usize] = after.to_vec();
        let node = &self.nodes[id as usize];
        match node.kind {
            NodeKind::Sequence => {
                for (k, &c) in node.children.iter().enumerate() {
                    let mut next = Vec::new();
                    let mut all_nullable = true;
                    for &d in &node.children[k + 1..] {
                        next.extend_from_slice(&self.nodes[d as usize].first);
                        if !self.nodes[d as usize].nullable() {
                            all_nullable = false;
                            break;
                        }
                    }
                    if all_nullable {
                        next.extend_from_slice(after);
                        if node.max > 1 {
                            next.extend_from_slice(&node.first);
                        }
                    }
                    self.compute_follow(c, &next, follow);
                }
            }
            NodeKind::Choice | NodeKind::All => {
                let mut next = after.to_vec();
                if node.max > 1 {
                    next.extend_from_slice(&node.first);
                }
                for &c in &node.children {
                    self.compute_follow(c, &next, follow);
                }
            }
            _ => {}
        }
    }

    fn overlap(&self, g: &Grammar, a: &[u32], b: &[u32]) -> Option<(u32, u32)> {
        for &x in a {
            for &y in b {
                if x != y && self.leaves_overlap(g, x, y) {
                    return Some((x, y));
                }
            }
        }
        None
    }

    fn leaves_overlap(&self, g: &Grammar, x: u32, y: u32) -> bool {
        // Called for pairs of leaves, quadratically often: no allocation here.
        let names = |e: ElemId| {
            let d = g.element(e);
            std::iter::once(d.name).chain(d.substitutes.iter().map(|&(q, _)| q))
        };
        match (&self.nodes[x as usize].kind, &self.nodes[y as usize].kind) {
            (NodeKind::Any(a), NodeKind::Any(b)) => wildcards_overlap(a, b),
            (NodeKind::Any(w), NodeKind::Element(e)) | (NodeKind::Element(e), NodeKind::Any(w)) => {
                names(*e).any(|q| w.ns.allows(g.names.ns_of(q)))
            }
            (NodeKind::Element(a), NodeKind::Element(b)) => {
                names(*a).any(|q| names(*b).any(|r| r == q))
            }
            _ => false,
        }
    }
}

fn wildcards_overlap(a: &Wildcard, b: &Wildcard) -> bool {
    use super::components::NsConstraint as C;
    match (&a.ns, &b.ns) {
        (C::List(x), C::List(y)) => x.iter().any(|n| y.contains(n)),
        (C::List(x), other) | (other, C::List(x)) => x.iter().any(|&n| other.allows(n)),
        _ => true,
    }
}

fn fresh() -> NodeState {
    NodeState {
        count: 0,
        idx: NONE,
        bits: 0,
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::xsd::components::{ANY_TYPE, Derivations, ElementDecl, NameMap, Names};

    fn grammar(names: &[&str]) -> Grammar {
        let mut n = Names::new();
        let elements = names
            .iter()
            .map(|l| ElementDecl {
                name: n.intern("urn:t", l),
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
            })
            .collect();
        Grammar {
            names: n,
            elements,
            types: Vec::new(),
            models: Vec::new(),
            identity: Vec::new(),
            global_elements: NameMap::default(),
            global_types: NameMap::default(),
            global_attributes: NameMap::default(),
            xsi_ns: UNBOUNDED,
            docs: crate::xsd::components::Docs::default(),
        }
    }

    fn el(e: u32, min: u32, max: u32) -> Particle {
        Particle {
            min,
            max,
            term: Term::Element(e),
        }
    }

    fn run(g: &Grammar, p: &Particle, input: &[u32]) -> bool {
        let m = Model::compile(p);
        let mut st = vec![NodeState::default(); m.state_len()];
        m.reset(&mut st);
        let ns = g.names.ns_id("urn:t");
        for &e in input {
            let q = g.elements[e as usize].name;
            if !matches!(m.step(g, &mut st, Some(q), ns), Step::Matched(_)) {
                return false;
            }
        }
        m.is_complete(&st)
    }

    #[test]
    fn sequence_with_optional_and_repeated_children() {
        let g = grammar(&["a", "b", "c"]);
        let p = Particle {
            min: 1,
            max: 1,
            term: Term::Sequence(vec![el(0, 1, 1), el(1, 0, UNBOUNDED), el(2, 1, 1)]),
        };
        assert!(run(&g, &p, &[0, 2]));
        assert!(run(&g, &p, &[0, 1, 1, 1, 2]));
        assert!(!run(&g, &p, &[0, 1]));
        assert!(!run(&g, &p, &[1, 2]));
        assert!(!run(&g, &p, &[0, 2, 2]));
    }

    #[test]
    fn large_bounds_are_counters_not_states() {
        let g = grammar(&["a"]);
        let p = Particle {
            min: 1,
            max: 1,
            term: Term::Sequence(vec![el(0, 2, 5000)]),
        };
        assert_eq!(Model::compile(&p).state_len(), 2);
        assert!(!run(&g, &p, &[0]));
        assert!(run(&g, &p, &vec![0; 5000]));
        assert!(!run(&g, &p, &vec![0; 5001]));
    }

    #[test]
    fn repeated_choice_and_nested_groups() {
        let g = grammar(&["a", "b", "c"]);
        let inner = Particle {
            min: 1,
            max: 1,
            term: Term::Sequence(vec![el(0, 1, 1), el(1, 0, 1)]),
        };
        let p = Particle {
            min: 2,
            max: 3,
            term: Term::Choice(vec![inner, el(2, 1, 1)]),
        };
        assert!(run(&g, &p, &[0, 1, 2]));
        assert!(run(&g, &p, &[0, 0, 0]));
        assert!(!run(&g, &p, &[0]));
        assert!(!run(&g, &p, &[2, 2, 2, 2]));
    }

    #[test]
    fn iterations_of_a_repeated_choice_split_counts_with_a_minimum() {
        let g = grammar(&["a", "b"]);
        // (a{3,5} | b{3,5})*: six a's are two iterations of three (W3C ctZ009_b).
        let p = Particle {
            min: 0,
            max: UNBOUNDED,
            term: Term::Choice(vec![el(0, 3, 5), el(1, 3, 5)]),
        };
        assert!(Model::compile(&p).multi);
        assert!(run(&g, &p, &[0, 0, 0, 0, 0, 0]));
        assert!(run(&g, &p, &[0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]));
        assert!(run(&g, &p, &[0, 0, 0, 0]));
        assert!(!run(&g, &p, &[0, 0]));
        assert!(!run(&g, &p, &[0, 0, 0, 1]));
    }

    #[test]
    fn iterations_of_a_repeated_group_are_split_as_needed() {
        let g = grammar(&["a", "b"]);
        // (a+){2,}: two a's are two iterations of one a each.
        let p = Particle {
            min: 2,
            max: UNBOUNDED,
            term: Term::Sequence(vec![el(0, 1, UNBOUNDED)]),
        };
        assert!(Model::compile(&p).multi);
        assert!(run(&g, &p, &[0, 0]));
        assert!(run(&g, &p, &[0, 0, 0, 0, 0]));
        assert!(!run(&g, &p, &[0]));
        // (a{1,2} b?){2}: "a a b" is (a)(a b); "a a b a" is (a a b)(a).
        let q = Particle {
            min: 2,
            max: 2,
            term: Term::Sequence(vec![el(0, 1, 2), el(1, 0, 1)]),
        };
        assert!(run(&g, &q, &[0, 0, 1]));
        assert!(run(&g, &q, &[0, 0, 1, 0]));
        assert!(run(&g, &q, &[0, 0, 0, 0]));
        assert!(!run(&g, &q, &[0, 0, 0, 0, 0]));
        assert!(!run(&g, &q, &[0, 1, 1]));
    }

    #[test]
    fn all_group_is_a_set() {
        let g = grammar(&["a", "b", "c"]);
        let p = Particle {
            min: 1,
            max: 1,
            term: Term::All(vec![el(0, 1, 1), el(1, 0, 1), el(2, 1, 1)]),
        };
        assert!(run(&g, &p, &[2, 0]));
        assert!(run(&g, &p, &[1, 2, 0]));
        assert!(!run(&g, &p, &[0, 0, 2]));
        assert!(!run(&g, &p, &[0]));
    }

    #[test]
    fn extension_sequences_are_spliced_not_nested() {
        let seq = |kids| Particle {
            min: 1,
            max: 1,
            term: Term::Sequence(kids),
        };
        let mut p = seq(vec![el(0, 0, 1)]);
        for _ in 0..100 {
            p = Particle::sequence_of(p, seq(vec![el(1, 0, 1)]));
        }
        assert_eq!(p.size_and_depth(), (102, 2));
        // A repeated base group stays a group of its own.
        let repeated = Particle {
            min: 0,
            max: UNBOUNDED,
            term: Term::Sequence(vec![el(0, 1, 1)]),
        };
        let q = Particle::sequence_of(repeated, el(1, 1, 1));
        assert_eq!(q.size_and_depth(), (4, 3));
    }

    #[test]
    fn upa_violations_are_found() {
        let g = grammar(&["a", "b"]);
        let ambiguous = Particle {
            min: 1,
            max: 1,
            term: Term::Sequence(vec![el(0, 0, 1), el(0, 1, 1)]),
        };
        assert!(Model::compile(&ambiguous).upa_conflict(&g).is_some());
        let choice = Particle {
            min: 1,
            max: 1,
            term: Term::Choice(vec![el(0, 1, 1), el(0, 1, 1)]),
        };
        assert!(Model::compile(&choice).upa_conflict(&g).is_some());
        let fine = Particle {
            min: 1,
            max: 1,
            term: Term::Sequence(vec![el(0, 0, UNBOUNDED), el(1, 1, 1)]),
        };
        assert!(Model::compile(&fine).upa_conflict(&g).is_none());
    }
}
