//! An XPath 2.0 evaluator over a compact, read-only document tree, for Schematron rules.
//!
//! Why our own and not `xee-xpath`: see `docs/business-rules.md` (the evaluation). In short,
//! xee-xpath 0.1.5 gives the same verdicts on the XBau rules but costs tens of times the XSD
//! validation per message, its compiled queries are not `Send` (one compile per thread), and
//! it brings about 130 crates; the rules need a subset of XPath 2.0 that fits in a few files.
//!
//! What is supported: the whole XPath 2.0 expression grammar except schema-aware kind tests
//! (`schema-element`, typed `element(N, T)`); every axis; the atomic types of [`value`]
//! (no dates, durations or QNames as values); the function library of `functions`. The
//! semantics are XPath 2.0 without the 1.0 compatibility mode — the Schematron `xslt2` query
//! binding: general comparisons are existential with `xs:untypedAtomic` cast to the other
//! operand's type, arithmetic on the empty sequence is empty, a sequence of two where one is
//! expected is the type error XPTY0004. Errors are values ([`DynError`]), never a silent pass.
//!
//! Evaluation is bounded: every node an axis visits and every item a function consumes counts
//! against a budget per document ([`Budget`]), so a rule set cannot be made to run forever by
//! a hostile document (the budget's error is `POST0001`).

mod ast;
pub mod error;
mod eval;
mod functions;
mod lexer;
mod parser;
mod pattern;
pub mod tree;
pub mod value;

use std::collections::HashMap;
use std::sync::Arc;

pub use error::{DynError, ErrorCode, StaticError};
pub use eval::Budget;
pub use pattern::{Pattern, PatternKey};
pub use tree::{NodeId, NodeKind, Tree, TreeBuilder, TreeError, TreeLimits};
pub use value::{Atomic, Item, Sequence};

/// The XPath functions namespace (the default function namespace).
pub const FN_NS: &str = "http://www.w3.org/2005/xpath-functions";
/// The XML Schema namespace (constructor functions, type names).
pub const XS_NS: &str = "http://www.w3.org/2001/XMLSchema";

/// The static context expressions are compiled in: namespace bindings and the default element
/// namespace. `xml`, `xs` and `fn` are bound unless rebound.
#[derive(Debug, Clone, Default)]
pub struct StaticContext {
    namespaces: HashMap<String, Arc<str>>,
    default_element_ns: String,
}

impl StaticContext {
    /// A context with the predeclared prefixes only.
    pub fn new() -> Self {
        let mut namespaces = HashMap::new();
        namespaces.insert("xml".to_owned(), Arc::from(crate::xml::XML_NS));
        namespaces.insert("xs".to_owned(), Arc::from(XS_NS));
        namespaces.insert("fn".to_owned(), Arc::from(FN_NS));
        Self {
            namespaces,
            default_element_ns: String::new(),
        }
    }

    /// Binds `prefix` to `uri`.
    pub fn bind(&mut self, prefix: &str, uri: &str) {
        self.namespaces.insert(prefix.to_owned(), Arc::from(uri));
    }

    fn namespace(&self, prefix: &str) -> Option<Arc<str>> {
        self.namespaces.get(prefix).cloned()
    }
}

/// The expanded names a set of compiled expressions tests for, numbered. Resolved once per
/// document ([`NameTable::resolve`]) so that a name test is an integer comparison.
#[derive(Debug, Clone, Default)]
pub struct NameTable {
    names: Vec<(Arc<str>, Arc<str>)>,
    index: HashMap<(Arc<str>, Arc<str>), usize>,
}

impl NameTable {
    fn intern(&mut self, ns: &str, local: &str) -> usize {
        let key: (Arc<str>, Arc<str>) = (Arc::from(ns), Arc::from(local));
        if let Some(&i) = self.index.get(&key) {
            return i;
        }
        let i = self.names.len();
        self.names.push(key.clone());
        self.index.insert(key, i);
        i
    }

    /// The expanded-name ids of every name in `tree` (`u32::MAX` where the document does not
    /// use the name, which then matches nothing).
    pub fn resolve(&self, tree: &Tree) -> Vec<u32> {
        self.names
            .iter()
            .map(|(ns, local)| tree.lookup_expanded(ns, local).unwrap_or(u32::MAX))
            .collect()
    }

    /// Number of names.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether no name is tested.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A compiled expression. Compile with [`Expression::compile`] against a [`NameTable`] shared
/// by all expressions evaluated on one document; evaluate with an [`Evaluator`].
#[derive(Debug, Clone)]
pub struct Expression {
    expr: ast::Expr,
    source: Arc<str>,
}

impl Expression {
    /// Compiles `source`. `variables` are the names (`{ns}local` Clark notation) of the
    /// variables in scope, in the order the evaluator's stack will hold them.
    ///
    /// # Errors
    /// A [`StaticError`] with its W3C code and the character offset.
    pub fn compile(
        source: &str,
        ctx: &StaticContext,
        names: &mut NameTable,
        variables: &[String],
    ) -> Result<Expression, StaticError> {
        let expr = parser::parse(source, ctx, names, variables)?;
        Ok(Expression {
            expr,
            source: Arc::from(source),
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// Evaluates compiled expressions on one document: holds the resolved names, the variable stack
/// and the work budget.
#[derive(Debug)]
pub struct Evaluator<'t> {
    inner: eval::Eval<'t>,
    /// Node sets of evaluated patterns, by the caller's pattern id.
    pattern_cache: HashMap<usize, Vec<NodeId>>,
}

impl<'t> Evaluator<'t> {
    /// An evaluator for `tree`, with the names of `names` resolved and `budget` units of work.
    pub fn new(tree: &'t Tree, names: &NameTable, budget: u64) -> Self {
        Self {
            inner: eval::Eval::new(tree, names.resolve(tree), budget),
            pattern_cache: HashMap::new(),
        }
    }

    /// Evaluates `e` with `context` as the context item (position 1 of 1).
    ///
    /// # Errors
    /// The dynamic error the expression raised.
    pub fn evaluate(&mut self, e: &Expression, context: NodeId) -> Result<Sequence, DynError> {
        self.inner.eval_top(&e.expr, Some(Item::Node(context)))
    }

    /// Evaluates `e` and takes its effective boolean value (how `assert`/`report` tests are
    /// read).
    ///
    /// # Errors
    /// The dynamic error the expression raised, or FORG0006.
    pub fn test(&mut self, e: &Expression, context: NodeId) -> Result<bool, DynError> {
        self.inner.eval_bool_top(&e.expr, Some(Item::Node(context)))
    }

    /// Evaluates `e` and joins the string values of the result with spaces (how `value-of`
    /// renders a sequence).
    ///
    /// # Errors
    /// The dynamic error the expression raised.
    pub fn string(&mut self, e: &Expression, context: NodeId) -> Result<String, DynError> {
        let seq = self.evaluate(e, context)?;
        let tree = self.inner.tree();
        Ok(seq
            .iter()
            .map(|i| value::atomize_item(tree, i).to_text())
            .collect::<Vec<_>>()
            .join(" "))
    }

    /// Pushes a variable value (Schematron `let`); variables are numbered by push order.
    pub fn push_variable(&mut self, value: Sequence) {
        self.inner.vars.push(value);
    }

    /// Drops variables down to `depth` (leaving a rule's scope).
    pub fn truncate_variables(&mut self, depth: usize) {
        self.inner.vars.truncate(depth);
    }

    /// Variables on the stack.
    pub fn variable_depth(&self) -> usize {
        self.inner.vars.len()
    }

    /// The expanded-name id (in the tree) of name-table `slot`, if the document uses it.
    pub fn resolved_name(&self, slot: usize) -> Option<u32> {
        self.inner.resolved(slot)
    }

    /// The tree being evaluated.
    pub fn tree(&self) -> &'t Tree {
        self.inner.tree()
    }

    /// Work units left.
    pub fn budget_left(&self) -> u64 {
        self.inner.budget.left()
    }

    /// Whether `node` has the expanded name of `slot` in the [`NameTable`].
    pub fn name_matches(&self, node: NodeId, slot: usize) -> bool {
        self.inner.name_matches(node, slot)
    }
}

#[cfg(test)]
mod tests;
