//! The evaluator: a tree walk over [`Expr`] with a focus (context item, position, size), a
//! variable stack and a work budget.

use std::cmp::Ordering;

use super::ast::{
    Arith, Axis, Cmp, Expr, ItemType, KindTest, NodeCmp, NodeTest, Occurrence, SeqType, SetOp, Step,
};
use super::error::{DynError, ErrorCode};
use super::functions;
use super::tree::{NodeId, NodeKind, Tree};
use super::value::{
    Atomic, AtomicType, Decimal, Item, Sequence, effective_boolean_value, overflow,
};

/// Work units left for one document: each node an axis visits, each item a function or
/// comparison consumes costs one.
#[derive(Debug, Clone, Copy)]
pub struct Budget(u64);

impl Budget {
    /// A budget of `units`.
    pub fn new(units: u64) -> Self {
        Self(units)
    }

    /// Units left.
    pub fn left(self) -> u64 {
        self.0
    }

    pub(crate) fn spend(&mut self, units: u64) -> Result<(), DynError> {
        match self.0.checked_sub(units) {
            Some(left) => {
                self.0 = left;
                Ok(())
            }
            None => {
                self.0 = 0;
                Err(DynError::new(
                    ErrorCode::POST0001,
                    "evaluation budget for this document spent (limit max_evaluation_steps)",
                ))
            }
        }
    }
}

/// The focus: context item, position and size.
#[derive(Debug, Clone)]
pub(crate) struct Focus {
    pub item: Option<Item>,
    pub pos: usize,
    pub size: usize,
}

#[derive(Debug)]
pub(crate) struct Eval<'t> {
    tree: &'t Tree,
    names: Vec<u32>,
    pub vars: Vec<Sequence>,
    pub budget: Budget,
}

fn err_type(m: &str) -> DynError {
    DynError::type_error(m)
}

impl<'t> Eval<'t> {
    pub(crate) fn new(tree: &'t Tree, names: Vec<u32>, budget: u64) -> Self {
        Self {
            tree,
            names,
            vars: Vec::new(),
            budget: Budget::new(budget),
        }
    }

    pub(crate) fn tree(&self) -> &'t Tree {
        self.tree
    }

    pub(crate) fn eval_top(&mut self, e: &Expr, item: Option<Item>) -> Result<Sequence, DynError> {
        let focus = Focus {
            item,
            pos: 1,
            size: 1,
        };
        self.eval(e, &focus)
    }

    pub(crate) fn eval_bool_top(&mut self, e: &Expr, item: Option<Item>) -> Result<bool, DynError> {
        let focus = Focus {
            item,
            pos: 1,
            size: 1,
        };
        self.eval_bool(e, &focus)
    }

    pub(crate) fn resolved(&self, slot: usize) -> Option<u32> {
        self.names.get(slot).copied().filter(|&n| n != u32::MAX)
    }

    pub(crate) fn name_matches(&self, node: NodeId, slot: usize) -> bool {
        let want = self.names.get(slot).copied().unwrap_or(u32::MAX);
        want != u32::MAX && self.tree.expanded_name(node) == Some(want)
    }

    fn context_node(&self, f: &Focus) -> Result<NodeId, DynError> {
        match &f.item {
            Some(Item::Node(n)) => Ok(*n),
            Some(Item::Atomic(_)) => Err(DynError::new(
                ErrorCode::XPTY0020,
                "the context item of an axis step is not a node",
            )),
            None => Err(DynError::new(
                ErrorCode::XPDY0002,
                "the context item is absent",
            )),
        }
    }

    pub(crate) fn atomize(&mut self, seq: &[Item]) -> Result<Vec<Atomic>, DynError> {
        self.budget.spend(seq.len() as u64)?;
        Ok(super::value::atomize(self.tree, seq))
    }

    pub(crate) fn eval(&mut self, e: &Expr, f: &Focus) -> Result<Sequence, DynError> {
        match e {
            Expr::Literal(a) => Ok(vec![Item::Atomic(a.clone())]),
            Expr::Empty => Ok(Vec::new()),
            Expr::Var(slot) => self
                .vars
                .get(*slot)
                .cloned()
                .ok_or_else(|| DynError::new(ErrorCode::XPDY0002, "variable not bound")),
            Expr::Context => match &f.item {
                Some(i) => Ok(vec![i.clone()]),
                None => Err(DynError::new(
                    ErrorCode::XPDY0002,
                    "the context item is absent",
                )),
            },
            Expr::Root => {
                // `/` is the root of the context node's tree, which must be a document node.
                self.context_node(f)?;
                Ok(vec![Item::Node(super::tree::DOCUMENT)])
            }
            Expr::Comma(items) => {
                let mut out = Vec::new();
                for i in items {
                    out.extend(self.eval(i, f)?);
                }
                Ok(out)
            }
            Expr::Path(a, b) => self.path(a, b, f),
            Expr::Step(step) => {
                let n = self.context_node(f)?;
                self.step(step, n)
            }
            Expr::Filter(primary, preds) => {
                let mut seq = self.eval(primary, f)?;
                for p in preds {
                    seq = self.filter(seq, p)?;
                }
                Ok(seq)
            }
            Expr::Or(a, b) => {
                let l = effective_boolean_value(&self.eval(a, f)?)?;
                if l {
                    return Ok(bool_seq(true));
                }
                let r = effective_boolean_value(&self.eval(b, f)?)?;
                Ok(bool_seq(r))
            }
            Expr::And(a, b) => {
                let l = effective_boolean_value(&self.eval(a, f)?)?;
                if !l {
                    return Ok(bool_seq(false));
                }
                let r = effective_boolean_value(&self.eval(b, f)?)?;
                Ok(bool_seq(r))
            }
            Expr::General(op, a, b) => {
                let l = self.eval(a, f)?;
                let r = self.eval(b, f)?;
                let l = self.atomize(&l)?;
                let r = self.atomize(&r)?;
                self.budget
                    .spend((l.len() as u64).saturating_mul(r.len() as u64))?;
                for x in &l {
                    for y in &r {
                        if general_compare(*op, x, y)? {
                            return Ok(bool_seq(true));
                        }
                    }
                }
                Ok(bool_seq(false))
            }
            Expr::Value(op, a, b) => {
                let Some(x) = self.singleton_atomic(a, f, "value comparison")? else {
                    return Ok(Vec::new());
                };
                let Some(y) = self.singleton_atomic(b, f, "value comparison")? else {
                    return Ok(Vec::new());
                };
                let x = untyped_to_string(x);
                let y = untyped_to_string(y);
                Ok(bool_seq(value_compare(*op, &x, &y)?))
            }
            Expr::Node(op, a, b) => {
                let Some(x) = self.singleton_node(a, f)? else {
                    return Ok(Vec::new());
                };
                let Some(y) = self.singleton_node(b, f)? else {
                    return Ok(Vec::new());
                };
                Ok(bool_seq(match op {
                    NodeCmp::Is => x == y,
                    NodeCmp::Precedes => x < y,
                    NodeCmp::Follows => x > y,
                }))
            }
            Expr::Arith(op, a, b) => {
                let Some(x) = self.singleton_atomic(a, f, "arithmetic")? else {
                    return Ok(Vec::new());
                };
                let Some(y) = self.singleton_atomic(b, f, "arithmetic")? else {
                    return Ok(Vec::new());
                };
                Ok(vec![Item::Atomic(arithmetic(*op, &x, &y)?)])
            }
            Expr::Unary(plus, a) => {
                let Some(x) = self.singleton_atomic(a, f, "arithmetic")? else {
                    return Ok(Vec::new());
                };
                let x = numeric_operand(&x)?;
                if *plus {
                    return Ok(vec![Item::Atomic(x)]);
                }
                let neg = match x {
                    Atomic::Integer(i) => Atomic::Integer(i.checked_neg().ok_or_else(overflow)?),
                    Atomic::Decimal(d) => Atomic::Decimal(d.negated()),
                    Atomic::Double(d) => Atomic::Double(-d),
                    other => other,
                };
                Ok(vec![Item::Atomic(neg)])
            }
            Expr::Range(a, b) => {
                let Some(x) = self.singleton_atomic(a, f, "range")? else {
                    return Ok(Vec::new());
                };
                let Some(y) = self.singleton_atomic(b, f, "range")? else {
                    return Ok(Vec::new());
                };
                let (x, y) = (range_bound(&x)?, range_bound(&y)?);
                if x > y {
                    return Ok(Vec::new());
                }
                let n = (y - x) as u64 + 1;
                self.budget.spend(n)?;
                Ok((x..=y).map(|i| Item::Atomic(Atomic::Integer(i))).collect())
            }
            Expr::Set(op, a, b) => {
                let l = self.nodes_of(a, f)?;
                let r = self.nodes_of(b, f)?;
                self.budget.spend((l.len() + r.len()) as u64)?;
                let out: Vec<NodeId> = match op {
                    SetOp::Union => {
                        let mut u = l;
                        u.extend(r);
                        u.sort_unstable();
                        u.dedup();
                        u
                    }
                    SetOp::Intersect => l
                        .into_iter()
                        .filter(|n| r.binary_search(n).is_ok())
                        .collect(),
                    SetOp::Except => l
                        .into_iter()
                        .filter(|n| r.binary_search(n).is_err())
                        .collect(),
                };
                Ok(out.into_iter().map(Item::Node).collect())
            }
            Expr::If(c, a, b) => {
                if effective_boolean_value(&self.eval(c, f)?)? {
                    self.eval(a, f)
                } else {
                    self.eval(b, f)
                }
            }
            Expr::For(slot, input, body) => {
                let items = self.eval(input, f)?;
                let mut out = Vec::new();
                for item in items {
                    self.bind(*slot, vec![item]);
                    let r = self.eval(body, f);
                    self.vars.truncate(*slot);
                    out.extend(r?);
                }
                Ok(out)
            }
            Expr::Quantified(every, slot, input, test) => {
                let items = self.eval(input, f)?;
                for item in items {
                    self.bind(*slot, vec![item]);
                    let r = self.eval(test, f).and_then(|s| effective_boolean_value(&s));
                    self.vars.truncate(*slot);
                    let b = r?;
                    if b != *every {
                        return Ok(bool_seq(b));
                    }
                }
                Ok(bool_seq(*every))
            }
            Expr::InstanceOf(a, t) => {
                let s = self.eval(a, f)?;
                Ok(bool_seq(self.matches_type(&s, t)))
            }
            Expr::Treat(a, t) => {
                let s = self.eval(a, f)?;
                if self.matches_type(&s, t) {
                    Ok(s)
                } else {
                    Err(DynError::new(
                        ErrorCode::XPDY0050,
                        "the value does not match the sequence type of 'treat as'",
                    ))
                }
            }
            Expr::Castable(a, t, opt) => {
                let s = self.eval(a, f)?;
                let atoms = self.atomize(&s)?;
                Ok(bool_seq(match atoms.as_slice() {
                    [] => *opt,
                    [x] => x.cast(*t).is_ok(),
                    _ => false,
                }))
            }
            Expr::Cast(a, t, opt) => {
                let s = self.eval(a, f)?;
                let atoms = self.atomize(&s)?;
                match atoms.as_slice() {
                    [] if *opt => Ok(Vec::new()),
                    [] => Err(err_type("cast of an empty sequence to a required type")),
                    [x] => Ok(vec![Item::Atomic(x.cast(*t)?)]),
                    _ => Err(err_type("cast of a sequence of more than one item")),
                }
            }
            Expr::Call(func, args) => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(self.eval(a, f)?);
                }
                functions::call(self, *func, values, f)
            }
        }
    }

    /// The effective boolean value of `e`, as `effective_boolean_value(&self.eval(e, f)?)` gives
    /// it (same result, same errors), without building the sequences whose emptiness alone
    /// decides: how Schematron tests are read, thousands of times per document.
    pub(crate) fn eval_bool(&mut self, e: &Expr, f: &Focus) -> Result<bool, DynError> {
        match e {
            Expr::Or(a, b) => Ok(self.eval_bool(a, f)? || self.eval_bool(b, f)?),
            Expr::And(a, b) => Ok(self.eval_bool(a, f)? && self.eval_bool(b, f)?),
            Expr::If(c, a, b) => {
                if self.eval_bool(c, f)? {
                    self.eval_bool(a, f)
                } else {
                    self.eval_bool(b, f)
                }
            }
            Expr::Call(functions::Builtin::Not, args) if args.len() == 1 => {
                Ok(!self.eval_bool(&args[0], f)?)
            }
            Expr::Call(functions::Builtin::Boolean, args) if args.len() == 1 => {
                self.eval_bool(&args[0], f)
            }
            Expr::Call(functions::Builtin::Exists, args) if args.len() == 1 => {
                self.non_empty(&args[0], f)
            }
            Expr::Call(functions::Builtin::Empty, args) if args.len() == 1 => {
                Ok(!self.non_empty(&args[0], f)?)
            }
            // A step yields nodes only: its value is true exactly when it selects one.
            Expr::Step(_) => self.non_empty(e, f),
            _ => effective_boolean_value(&self.eval(e, f)?),
        }
    }

    /// Whether `e` yields at least one item; a child or attribute step without predicates stops
    /// at the first node it selects.
    fn non_empty(&mut self, e: &Expr, f: &Focus) -> Result<bool, DynError> {
        if let Expr::Step(step) = e
            && step.preds.is_empty()
            && matches!(step.axis, Axis::Child | Axis::Attribute)
        {
            let n = self.context_node(f)?;
            let t = self.tree;
            let principal = Self::principal(step.axis);
            let mut visited: u64 = 0;
            let mut found = false;
            if step.axis == Axis::Child {
                for c in t.children(n) {
                    visited += 1;
                    if self.test(&step.test, principal, c) {
                        found = true;
                        break;
                    }
                }
            } else {
                for a in t.attributes(n) {
                    visited += 1;
                    if self.test(&step.test, principal, a) {
                        found = true;
                        break;
                    }
                }
            }
            self.budget.spend(visited.max(1))?;
            return Ok(found);
        }
        Ok(!self.eval(e, f)?.is_empty())
    }

    fn bind(&mut self, slot: usize, value: Sequence) {
        // The stack holds exactly the variables in scope: a binding is pushed at its slot.
        self.vars.truncate(slot);
        self.vars.push(value);
    }

    fn singleton_atomic(
        &mut self,
        e: &Expr,
        f: &Focus,
        what: &str,
    ) -> Result<Option<Atomic>, DynError> {
        let s = self.eval(e, f)?;
        let mut atoms = self.atomize(&s)?;
        match atoms.len() {
            0 => Ok(None),
            1 => Ok(atoms.pop()),
            _ => Err(DynError::type_error(format!(
                "an operand of a {what} is a sequence of more than one item"
            ))),
        }
    }

    fn singleton_node(&mut self, e: &Expr, f: &Focus) -> Result<Option<NodeId>, DynError> {
        let s = self.eval(e, f)?;
        match s.as_slice() {
            [] => Ok(None),
            [Item::Node(n)] => Ok(Some(*n)),
            [Item::Atomic(_)] => Err(err_type("an operand of a node comparison is not a node")),
            _ => Err(err_type(
                "an operand of a node comparison is a sequence of more than one item",
            )),
        }
    }

    fn nodes_of(&mut self, e: &Expr, f: &Focus) -> Result<Vec<NodeId>, DynError> {
        let s = self.eval(e, f)?;
        let mut out = Vec::with_capacity(s.len());
        for i in s {
            match i {
                Item::Node(n) => out.push(n),
                Item::Atomic(_) => {
                    return Err(err_type(
                        "an operand of union, intersect or except is not a node",
                    ));
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn path(&mut self, a: &Expr, b: &Expr, f: &Focus) -> Result<Sequence, DynError> {
        let left = self.eval(a, f)?;
        let size = left.len();
        // The common case: a step applied to nodes, collected as node ids.
        let mut out: Sequence = Vec::new();
        let (mut nodes, mut atomics) = (false, false);
        for (i, item) in left.into_iter().enumerate() {
            let Item::Node(n) = item else {
                return Err(DynError::new(
                    ErrorCode::XPTY0019,
                    "a step of a path expression was applied to an atomic value",
                ));
            };
            let r = if let Expr::Step(step) = b {
                self.step(step, n)?
            } else {
                let focus = Focus {
                    item: Some(Item::Node(n)),
                    pos: i + 1,
                    size,
                };
                self.eval(b, &focus)?
            };
            for x in r {
                match x {
                    Item::Node(_) => nodes = true,
                    Item::Atomic(_) => atomics = true,
                }
                out.push(x);
            }
        }
        if nodes && atomics {
            return Err(DynError::new(
                ErrorCode::XPTY0018,
                "the last step of a path returned both nodes and atomic values",
            ));
        }
        if nodes && (size > 1 || !matches!(b, Expr::Step(_))) {
            let mut ids: Vec<NodeId> = out
                .iter()
                .filter_map(|i| match i {
                    Item::Node(n) => Some(*n),
                    Item::Atomic(_) => None,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            return Ok(ids.into_iter().map(Item::Node).collect());
        }
        Ok(out)
    }

    fn principal(axis: Axis) -> NodeKind {
        if axis == Axis::Attribute {
            NodeKind::Attribute
        } else {
            NodeKind::Element
        }
    }

    fn test(&self, test: &NodeTest, principal: NodeKind, n: NodeId) -> bool {
        let t = self.tree;
        match test {
            NodeTest::Name(slot) => t.kind(n) == principal && self.name_matches(n, *slot),
            NodeTest::Namespace(ns) => t.kind(n) == principal && t.namespace(n) == &**ns,
            NodeTest::Local(l) => t.kind(n) == principal && t.local_name(n) == &**l,
            NodeTest::Any => t.kind(n) == principal,
            NodeTest::Kind(k) => self.kind_matches(k, n),
        }
    }

    fn kind_matches(&self, k: &KindTest, n: NodeId) -> bool {
        let t = self.tree;
        match k {
            KindTest::AnyNode => true,
            KindTest::Text => t.kind(n) == NodeKind::Text,
            KindTest::Never => false,
            KindTest::Document => t.kind(n) == NodeKind::Document,
            KindTest::Element(name) => {
                t.kind(n) == NodeKind::Element && name.is_none_or(|s| self.name_matches(n, s))
            }
            KindTest::Attribute(name) => {
                t.kind(n) == NodeKind::Attribute && name.is_none_or(|s| self.name_matches(n, s))
            }
        }
    }

    /// The nodes of `axis` from `n` that pass `test`, in document order.
    fn axis_nodes(
        &mut self,
        axis: Axis,
        test: &NodeTest,
        n: NodeId,
    ) -> Result<Vec<NodeId>, DynError> {
        let t = self.tree;
        let principal = Self::principal(axis);
        let mut out = Vec::new();
        let mut visited: u64 = 0;
        let mut take = |m: NodeId, out: &mut Vec<NodeId>| {
            visited += 1;
            if self.test(test, principal, m) {
                out.push(m);
            }
        };
        match axis {
            Axis::Child => {
                for c in t.children(n) {
                    take(c, &mut out);
                }
            }
            Axis::Descendant | Axis::DescendantOrSelf => {
                if axis == Axis::DescendantOrSelf {
                    take(n, &mut out);
                }
                if matches!(t.kind(n), NodeKind::Element | NodeKind::Document) {
                    for m in t.children_start(n)..t.subtree_end(n) {
                        if t.kind(m) != NodeKind::Attribute {
                            take(m, &mut out);
                        }
                    }
                }
            }
            Axis::Attribute => {
                for a in t.attributes(n) {
                    take(a, &mut out);
                }
            }
            Axis::Itself => take(n, &mut out),
            Axis::Parent => {
                if let Some(p) = t.parent(n) {
                    take(p, &mut out);
                }
            }
            Axis::Ancestor | Axis::AncestorOrSelf => {
                if axis == Axis::AncestorOrSelf {
                    take(n, &mut out);
                }
                let mut cur = t.parent(n);
                while let Some(p) = cur {
                    take(p, &mut out);
                    cur = t.parent(p);
                }
                out.reverse();
            }
            Axis::FollowingSibling => {
                if t.kind(n) != NodeKind::Attribute
                    && let Some(p) = t.parent(n)
                {
                    let end = t.subtree_end(p);
                    let mut m = t.subtree_end(n);
                    while m < end {
                        take(m, &mut out);
                        m = t.subtree_end(m);
                    }
                }
            }
            Axis::PrecedingSibling => {
                if t.kind(n) != NodeKind::Attribute
                    && let Some(p) = t.parent(n)
                {
                    for c in t.children(p) {
                        if c == n {
                            break;
                        }
                        take(c, &mut out);
                    }
                }
            }
            Axis::Following => {
                let start = if t.kind(n) == NodeKind::Attribute {
                    n + 1
                } else {
                    t.subtree_end(n)
                };
                for m in start..t.len() as NodeId {
                    if t.kind(m) != NodeKind::Attribute {
                        take(m, &mut out);
                    }
                }
            }
            Axis::Preceding => {
                let mut ancestors = Vec::new();
                let mut cur = t.parent(n);
                while let Some(p) = cur {
                    ancestors.push(p);
                    cur = t.parent(p);
                }
                for m in 1..n {
                    if t.kind(m) != NodeKind::Attribute && !ancestors.contains(&m) {
                        take(m, &mut out);
                    }
                }
            }
        }
        self.budget.spend(visited.max(1))?;
        Ok(out)
    }

    fn step(&mut self, step: &Step, n: NodeId) -> Result<Sequence, DynError> {
        let mut nodes = self.axis_nodes(step.axis, &step.test, n)?;
        if step.preds.is_empty() {
            return Ok(nodes.into_iter().map(Item::Node).collect());
        }
        let reverse = step.axis.is_reverse();
        for p in &step.preds {
            if reverse {
                nodes.reverse();
            }
            let seq: Sequence = nodes.into_iter().map(Item::Node).collect();
            let kept = self.filter(seq, p)?;
            nodes = kept
                .into_iter()
                .filter_map(|i| match i {
                    Item::Node(n) => Some(n),
                    Item::Atomic(_) => None,
                })
                .collect();
            if reverse {
                nodes.reverse();
            }
        }
        Ok(nodes.into_iter().map(Item::Node).collect())
    }

    /// Applies one predicate to a sequence (positions in sequence order).
    fn filter(&mut self, seq: Sequence, pred: &Expr) -> Result<Sequence, DynError> {
        // A literal number selects by position without evaluating per item.
        if let Expr::Literal(Atomic::Integer(i)) = pred {
            let keep = usize::try_from(*i)
                .ok()
                .filter(|&i| i >= 1 && i <= seq.len());
            return Ok(keep.map(|i| vec![seq[i - 1].clone()]).unwrap_or_default());
        }
        let size = seq.len();
        let mut out = Vec::new();
        for (i, item) in seq.into_iter().enumerate() {
            let focus = Focus {
                item: Some(item.clone()),
                pos: i + 1,
                size,
            };
            let r = self.eval(pred, &focus)?;
            let keep = match r.as_slice() {
                [Item::Atomic(a)] if a.is_numeric() => {
                    a.as_f64().is_some_and(|v| v == (i + 1) as f64)
                }
                _ => effective_boolean_value(&r)?,
            };
            if keep {
                out.push(item);
            }
        }
        Ok(out)
    }

    fn matches_type(&self, s: &[Item], t: &SeqType) -> bool {
        let Some(item_type) = &t.item else {
            return s.is_empty();
        };
        let count_ok = match t.occurrence {
            Occurrence::One => s.len() == 1,
            Occurrence::Optional => s.len() <= 1,
            Occurrence::Many => true,
            Occurrence::OneOrMore => !s.is_empty(),
        };
        count_ok
            && s.iter().all(|i| match (item_type, i) {
                (ItemType::Item, _) => true,
                (ItemType::Kind(k), Item::Node(n)) => self.kind_matches(k, *n),
                (ItemType::Atomic(a), Item::Atomic(v)) => v.instance_of(*a),
                _ => false,
            })
    }
}

fn bool_seq(b: bool) -> Sequence {
    vec![Item::Atomic(Atomic::Boolean(b))]
}

fn untyped_to_string(a: Atomic) -> Atomic {
    match a {
        Atomic::Untyped(s) => Atomic::String(s),
        other => other,
    }
}

/// One pair of a general comparison (XPath 2.0 §3.5.2): untyped values take the other
/// operand's type (double for numbers, string for strings and untyped).
pub(crate) fn general_compare(op: Cmp, a: &Atomic, b: &Atomic) -> Result<bool, DynError> {
    let conv = |x: &Atomic, other: &Atomic| -> Result<Atomic, DynError> {
        match (x, other) {
            (Atomic::Untyped(s), Atomic::Untyped(_) | Atomic::String(_) | Atomic::AnyUri(_)) => {
                Ok(Atomic::String(s.clone()))
            }
            (Atomic::Untyped(_), o) if o.is_numeric() => x.cast(AtomicType::Double),
            (Atomic::Untyped(_), o) => x.cast(o.type_of()),
            _ => Ok(x.clone()),
        }
    };
    let x = conv(a, b)?;
    let y = conv(b, a)?;
    value_compare(op, &x, &y)
}

/// A value comparison of two atomic values (untyped already converted).
pub(crate) fn value_compare(op: Cmp, a: &Atomic, b: &Atomic) -> Result<bool, DynError> {
    let ord = compare_atomics(a, b)?;
    Ok(match ord {
        // NaN compares unequal to everything.
        None => op == Cmp::Ne,
        Some(o) => match op {
            Cmp::Eq => o == Ordering::Equal,
            Cmp::Ne => o != Ordering::Equal,
            Cmp::Lt => o == Ordering::Less,
            Cmp::Le => o != Ordering::Greater,
            Cmp::Gt => o == Ordering::Greater,
            Cmp::Ge => o != Ordering::Less,
        },
    })
}

/// Orders two comparable atomic values (`None` when a NaN is involved).
pub(crate) fn compare_atomics(a: &Atomic, b: &Atomic) -> Result<Option<Ordering>, DynError> {
    if let (Some(x), Some(y)) = (a.as_str(), b.as_str()) {
        return Ok(Some(x.cmp(y)));
    }
    if a.is_numeric() && b.is_numeric() {
        return Ok(match (a, b) {
            (Atomic::Integer(x), Atomic::Integer(y)) => Some(x.cmp(y)),
            (Atomic::Double(_), _) | (_, Atomic::Double(_)) => {
                let (x, y) = (
                    a.as_f64().unwrap_or(f64::NAN),
                    b.as_f64().unwrap_or(f64::NAN),
                );
                x.partial_cmp(&y)
            }
            _ => Some(to_decimal(a).cmp(&to_decimal(b))),
        });
    }
    if let (Atomic::Boolean(x), Atomic::Boolean(y)) = (a, b) {
        return Ok(Some(x.cmp(y)));
    }
    Err(DynError::type_error(format!(
        "{} and {} cannot be compared",
        a.type_of().name(),
        b.type_of().name()
    )))
}

fn to_decimal(a: &Atomic) -> Decimal {
    match a {
        Atomic::Integer(i) => Decimal::from_i64(*i),
        Atomic::Decimal(d) => *d,
        _ => Decimal::from_i64(0),
    }
}

/// An arithmetic operand: untyped becomes a double, numbers stay, anything else is XPTY0004.
pub(crate) fn numeric_operand(a: &Atomic) -> Result<Atomic, DynError> {
    match a {
        Atomic::Untyped(_) => a.cast(AtomicType::Double),
        x if x.is_numeric() => Ok(x.clone()),
        x => Err(DynError::type_error(format!(
            "{} is not a numeric operand",
            x.type_of().name()
        ))),
    }
}

fn range_bound(a: &Atomic) -> Result<i64, DynError> {
    match a {
        Atomic::Integer(i) => Ok(*i),
        Atomic::Untyped(_) => match a.cast(AtomicType::Integer)? {
            Atomic::Integer(i) => Ok(i),
            _ => Err(err_type("range bound is not an integer")),
        },
        _ => Err(err_type("range bound is not an integer")),
    }
}

fn div_zero() -> DynError {
    DynError::new(ErrorCode::FOAR0001, "division by zero")
}

/// Binary arithmetic with XPath 2.0 numeric promotion.
pub(crate) fn arithmetic(op: Arith, a: &Atomic, b: &Atomic) -> Result<Atomic, DynError> {
    let x = numeric_operand(a)?;
    let y = numeric_operand(b)?;
    if let (Atomic::Integer(i), Atomic::Integer(j)) = (&x, &y) {
        let (i, j) = (*i, *j);
        return match op {
            Arith::Add => i.checked_add(j).map(Atomic::Integer).ok_or_else(overflow),
            Arith::Sub => i.checked_sub(j).map(Atomic::Integer).ok_or_else(overflow),
            Arith::Mul => i.checked_mul(j).map(Atomic::Integer).ok_or_else(overflow),
            Arith::Div => {
                if j == 0 {
                    return Err(div_zero());
                }
                Decimal::from_i64(i)
                    .checked_div(Decimal::from_i64(j))
                    .map(Atomic::Decimal)
                    .ok_or_else(overflow)
            }
            Arith::IDiv => {
                if j == 0 {
                    return Err(div_zero());
                }
                i.checked_div(j).map(Atomic::Integer).ok_or_else(overflow)
            }
            Arith::Mod => {
                if j == 0 {
                    return Err(div_zero());
                }
                i.checked_rem(j).map(Atomic::Integer).ok_or_else(overflow)
            }
        };
    }
    let double = matches!(x, Atomic::Double(_)) || matches!(y, Atomic::Double(_));
    if double {
        let (i, j) = (
            x.as_f64().unwrap_or(f64::NAN),
            y.as_f64().unwrap_or(f64::NAN),
        );
        return match op {
            Arith::Add => Ok(Atomic::Double(i + j)),
            Arith::Sub => Ok(Atomic::Double(i - j)),
            Arith::Mul => Ok(Atomic::Double(i * j)),
            Arith::Div => Ok(Atomic::Double(i / j)),
            Arith::Mod => Ok(Atomic::Double(i % j)),
            Arith::IDiv => {
                if j == 0.0 {
                    return Err(div_zero());
                }
                let q = (i / j).trunc();
                if q.is_nan() || q.is_infinite() || q.abs() >= 9.2e18 {
                    return Err(overflow());
                }
                Ok(Atomic::Integer(q as i64))
            }
        };
    }
    let (i, j) = (to_decimal(&x), to_decimal(&y));
    match op {
        Arith::Add => i.checked_add(j).map(Atomic::Decimal).ok_or_else(overflow),
        Arith::Sub => i.checked_sub(j).map(Atomic::Decimal).ok_or_else(overflow),
        Arith::Mul => i.checked_mul(j).map(Atomic::Decimal).ok_or_else(overflow),
        Arith::Div => {
            if j.is_zero() {
                return Err(div_zero());
            }
            i.checked_div(j).map(Atomic::Decimal).ok_or_else(overflow)
        }
        Arith::IDiv => {
            if j.is_zero() {
                return Err(div_zero());
            }
            i.checked_div(j)
                .and_then(Decimal::trunc_i64)
                .map(Atomic::Integer)
                .ok_or_else(overflow)
        }
        Arith::Mod => i.checked_rem(j).map(Atomic::Decimal).ok_or_else(div_zero),
    }
}
