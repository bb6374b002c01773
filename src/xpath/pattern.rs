//! XSLT 2.0 match patterns (what a Schematron rule's `context` is).
//!
//! A pattern is parsed with the expression grammar. When every alternative is a path of child,
//! attribute and `//` steps with name or kind tests and no predicates (all of XBau's 155
//! contexts), it is matched directly, from the node upwards: no evaluation, no allocation.
//! Any other pattern (predicates, functions) is matched by membership: the node set of
//! `//(P)` (or `P` when absolute) is evaluated once per document and cached — the definition
//! of pattern matching in XSLT 2.0 §5.5.3 for the patterns Schematron uses.

use std::sync::Arc;

use super::ast::{Axis, Expr, KindTest, NodeTest, SetOp, Step};
use super::error::{DynError, StaticError};
use super::tree::{DOCUMENT, NodeId, NodeKind};
use super::{Evaluator, NameTable, StaticContext, parser};

/// How a step is separated from the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sep {
    /// `/`: the previous step matches the parent.
    Parent,
    /// `//`: the previous step matches an ancestor.
    Ancestor,
}

#[derive(Debug, Clone)]
struct PathPattern {
    /// `/…` patterns: the first step's node must be a child of the document node. The pattern
    /// `/` alone has no steps.
    absolute: bool,
    /// Steps with the separator before each (the first step's is ignored unless `absolute`).
    steps: Vec<(Sep, bool, NodeTest)>,
}

/// A compiled match pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// Direct matchers; empty when `fallback` is used.
    paths: Vec<PathPattern>,
    /// `//(P)` for patterns the direct matcher cannot take.
    fallback: Option<Expr>,
    source: Arc<str>,
}

/// What a pattern can match at most, for indexing rules by the node they may fire on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternKey {
    /// Only elements or attributes with one of these names (name-table slots, with whether the
    /// node is an attribute).
    Names(Vec<(bool, usize)>),
    /// Anything (wildcards, kind tests, fallback patterns).
    Any,
}

impl Pattern {
    /// Compiles a pattern.
    ///
    /// # Errors
    /// A [`StaticError`] when the pattern is not a valid expression.
    pub fn compile(
        source: &str,
        ctx: &StaticContext,
        names: &mut NameTable,
        variables: &[String],
    ) -> Result<Pattern, StaticError> {
        let expr = parser::parse(source, ctx, names, variables)?;
        let mut paths = Vec::new();
        if alternatives(&expr, &mut paths) {
            return Ok(Pattern {
                paths,
                fallback: None,
                source: Arc::from(source),
            });
        }
        let wrapped = if source.trim_start().starts_with('/') {
            expr
        } else {
            parser::parse(&format!("//({source})"), ctx, names, variables)?
        };
        Ok(Pattern {
            paths: Vec::new(),
            fallback: Some(wrapped),
            source: Arc::from(source),
        })
    }

    /// The pattern as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether the pattern is matched by evaluating an expression (and may raise errors).
    pub fn is_evaluated(&self) -> bool {
        self.fallback.is_some()
    }

    /// The names the pattern's nodes must have, if that can be said statically.
    pub fn key(&self) -> PatternKey {
        if self.fallback.is_some() {
            return PatternKey::Any;
        }
        let mut names = Vec::new();
        for p in &self.paths {
            match p.steps.last() {
                Some((_, attr, NodeTest::Name(slot))) => names.push((*attr, *slot)),
                _ => return PatternKey::Any,
            }
        }
        PatternKey::Names(names)
    }

    /// The fallback expression (evaluated by the [`Evaluator`]).
    pub(crate) fn fallback(&self) -> Option<&Expr> {
        self.fallback.as_ref()
    }

    /// Direct matching (patterns without fallback).
    pub(crate) fn matches_direct(&self, ev: &Evaluator<'_>, node: NodeId) -> bool {
        self.paths.iter().any(|p| path_matches(ev, p, node))
    }
}

/// Collects the direct matchers of `e`; false when some alternative is not a simple path.
fn alternatives(e: &Expr, out: &mut Vec<PathPattern>) -> bool {
    match e {
        Expr::Set(SetOp::Union, a, b) => alternatives(a, out) && alternatives(b, out),
        _ => match simple_path(e) {
            Some(p) => {
                out.push(p);
                true
            }
            None => false,
        },
    }
}

fn simple_path(e: &Expr) -> Option<PathPattern> {
    let mut steps = Vec::new();
    let absolute = flatten(e, &mut steps)?;
    // `//x` (rewritten to `/descendant::x`) is the relative pattern `x`.
    let absolute = absolute && !matches!(steps.first(), Some((Sep::Ancestor, ..)));
    if steps.is_empty() && !absolute {
        return None;
    }
    Some(PathPattern { absolute, steps })
}

/// Appends the steps of `e` (left to right); returns whether the path starts at the root.
fn flatten(e: &Expr, steps: &mut Vec<(Sep, bool, NodeTest)>) -> Option<bool> {
    match e {
        Expr::Root => Some(true),
        Expr::Step(s) => {
            push_step(s, Sep::Parent, steps)?;
            Some(false)
        }
        Expr::Path(a, b) => {
            // `a//b` with predicates on b keeps `descendant-or-self::node()` explicitly.
            if let Expr::Path(inner, dos) = &**a
                && let Expr::Step(d) = &**dos
                && d.axis == Axis::DescendantOrSelf
                && matches!(d.test, NodeTest::Kind(KindTest::AnyNode))
                && d.preds.is_empty()
                && let Expr::Step(s) = &**b
            {
                let abs = flatten(inner, steps)?;
                push_step(s, Sep::Ancestor, steps)?;
                return Some(abs);
            }
            let abs = flatten(a, steps)?;
            let Expr::Step(s) = &**b else {
                return None;
            };
            push_step(s, Sep::Parent, steps)?;
            Some(abs)
        }
        _ => None,
    }
}

fn push_step(s: &Step, sep: Sep, steps: &mut Vec<(Sep, bool, NodeTest)>) -> Option<()> {
    if !s.preds.is_empty() {
        return None;
    }
    let (sep, attr) = match s.axis {
        Axis::Child => (sep, false),
        Axis::Attribute => (sep, true),
        Axis::Descendant => (Sep::Ancestor, false),
        _ => return None,
    };
    steps.push((sep, attr, s.test.clone()));
    Some(())
}

fn step_matches(ev: &Evaluator<'_>, attr: bool, test: &NodeTest, node: NodeId) -> bool {
    let t = ev.inner.tree();
    let kind = t.kind(node);
    // Child steps match children (elements, text); attribute steps match attributes.
    let principal = if attr {
        NodeKind::Attribute
    } else {
        NodeKind::Element
    };
    if attr != (kind == NodeKind::Attribute) || kind == NodeKind::Document {
        return false;
    }
    match test {
        NodeTest::Name(slot) => kind == principal && ev.name_matches(node, *slot),
        NodeTest::Namespace(ns) => kind == principal && t.namespace(node) == &**ns,
        NodeTest::Local(l) => kind == principal && t.local_name(node) == &**l,
        NodeTest::Any => kind == principal,
        NodeTest::Kind(k) => match k {
            KindTest::AnyNode => true,
            KindTest::Text => kind == NodeKind::Text,
            KindTest::Never | KindTest::Document => false,
            KindTest::Element(n) => {
                kind == NodeKind::Element && n.is_none_or(|s| ev.name_matches(node, s))
            }
            KindTest::Attribute(n) => {
                kind == NodeKind::Attribute && n.is_none_or(|s| ev.name_matches(node, s))
            }
        },
    }
}

fn path_matches(ev: &Evaluator<'_>, p: &PathPattern, node: NodeId) -> bool {
    if p.steps.is_empty() {
        // The pattern `/`.
        return p.absolute && node == DOCUMENT;
    }
    match_from(ev, p, p.steps.len() - 1, node)
}

/// Whether steps `0..=i` match with step `i` on `node`.
fn match_from(ev: &Evaluator<'_>, p: &PathPattern, i: usize, node: NodeId) -> bool {
    let (sep, attr, test) = &p.steps[i];
    if !step_matches(ev, *attr, test, node) {
        return false;
    }
    let t = ev.inner.tree();
    let Some(parent) = t.parent(node) else {
        return false;
    };
    if i == 0 {
        return match (p.absolute, sep) {
            (true, Sep::Parent) => parent == DOCUMENT,
            // A relative pattern's first step matches a node anywhere in a document.
            _ => true,
        };
    }
    match sep {
        Sep::Parent => match_from(ev, p, i - 1, parent),
        Sep::Ancestor => {
            let mut cur = Some(parent);
            while let Some(a) = cur {
                if a != DOCUMENT && match_from(ev, p, i - 1, a) {
                    return true;
                }
                cur = t.parent(a);
            }
            false
        }
    }
}

impl Evaluator<'_> {
    /// Whether `node` matches `pattern` (`id` identifies the pattern for the cache of
    /// evaluated patterns; use a different id per pattern).
    ///
    /// # Errors
    /// The dynamic error of an evaluated pattern.
    pub fn matches(
        &mut self,
        pattern: &Pattern,
        id: usize,
        node: NodeId,
    ) -> Result<bool, DynError> {
        let Some(expr) = pattern.fallback() else {
            return Ok(pattern.matches_direct(self, node));
        };
        if !self.pattern_cache.contains_key(&id) {
            let seq = self
                .inner
                .eval_top(expr, Some(super::Item::Node(DOCUMENT)))?;
            let mut nodes: Vec<NodeId> = seq
                .into_iter()
                .filter_map(|i| match i {
                    super::Item::Node(n) => Some(n),
                    super::Item::Atomic(_) => None,
                })
                .collect();
            nodes.sort_unstable();
            self.pattern_cache.insert(id, nodes);
        }
        Ok(self
            .pattern_cache
            .get(&id)
            .is_some_and(|nodes| nodes.binary_search(&node).is_ok()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::XmlLimits;
    use crate::xpath::{Tree, TreeLimits};

    fn check(pattern: &str, xml: &str) -> Vec<String> {
        let t = Tree::parse(
            xml.as_bytes(),
            &XmlLimits::default(),
            TreeLimits { max_nodes: 1000 },
        )
        .expect("xml");
        let mut ctx = StaticContext::new();
        ctx.bind("p", "urn:p");
        let mut names = NameTable::default();
        let pat = Pattern::compile(pattern, &ctx, &mut names, &[]).expect("pattern");
        let mut ev = Evaluator::new(&t, &names, 100_000);
        (0..t.len() as NodeId)
            .filter(|&n| ev.matches(&pat, 0, n).expect("matches"))
            .map(|n| t.path(n))
            .collect()
    }

    const XML: &str = r#"<p:m xmlns:p="urn:p"><p:a><k x="1"><p:b/></k></p:a><p:b/></p:m>"#;

    #[test]
    fn descendant_patterns_need_the_ancestor() {
        assert_eq!(check("p:a//p:b", XML), ["/p:m[1]/p:a[1]/k[1]/p:b[1]"]);
        assert_eq!(check("p:b", XML).len(), 2);
        assert_eq!(check("/p:m/p:b", XML), ["/p:m[1]/p:b[1]"]);
        assert_eq!(check("//*", XML).len(), 5);
        assert_eq!(check("@x", XML), ["/p:m[1]/p:a[1]/k[1]/@x"]);
        assert_eq!(check("k/p:b | p:m/p:b", XML).len(), 2);
        assert_eq!(check("/", XML), ["/"]);
    }

    #[test]
    fn predicates_use_the_evaluated_fallback() {
        assert_eq!(check("p:b[1]", XML).len(), 2);
        assert_eq!(check("k[@x = '1']", XML), ["/p:m[1]/p:a[1]/k[1]"]);
        assert_eq!(check("*[2]", XML), ["/p:m[1]/p:b[1]"]);
    }
}
