//! The compiled form of an expression: names resolved, variables numbered, functions bound.
//! Immutable once built and free of `Rc`, so a compiled rule set is `Send + Sync` and shared
//! like a grammar.

use std::sync::Arc;

use super::functions::Builtin;
use super::value::{Atomic, AtomicType};

/// An expression node.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// A literal.
    Literal(Atomic),
    /// `()`.
    Empty,
    /// A variable, by slot (its depth in the variable stack).
    Var(usize),
    /// `.`
    Context,
    /// `/` (the root of the tree containing the context node).
    Root,
    /// `E1, E2, …`
    Comma(Vec<Expr>),
    /// `E1/E2`
    Path(Box<Expr>, Box<Expr>),
    /// An axis step.
    Step(Box<Step>),
    /// A primary expression with predicates.
    Filter(Box<Expr>, Vec<Expr>),
    /// `or`
    Or(Box<Expr>, Box<Expr>),
    /// `and`
    And(Box<Expr>, Box<Expr>),
    /// `=`, `!=`, `<`, … (existential over both sequences).
    General(Cmp, Box<Expr>, Box<Expr>),
    /// `eq`, `ne`, `lt`, … (singletons).
    Value(Cmp, Box<Expr>, Box<Expr>),
    /// `is`, `<<`, `>>`.
    Node(NodeCmp, Box<Expr>, Box<Expr>),
    /// `+ - * div idiv mod`
    Arith(Arith, Box<Expr>, Box<Expr>),
    /// Unary minus (`plus` = false) or plus.
    Unary(bool, Box<Expr>),
    /// `E1 to E2`
    Range(Box<Expr>, Box<Expr>),
    /// `union`/`|`, `intersect`, `except`.
    Set(SetOp, Box<Expr>, Box<Expr>),
    /// `if (c) then a else b`
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `for $slot in input return body`
    For(usize, Box<Expr>, Box<Expr>),
    /// `some`/`every` (`every` = true) `$slot in input satisfies test`
    Quantified(bool, usize, Box<Expr>, Box<Expr>),
    /// `instance of`
    InstanceOf(Box<Expr>, SeqType),
    /// `treat as`
    Treat(Box<Expr>, SeqType),
    /// `castable as` (optional `?` allows the empty sequence).
    Castable(Box<Expr>, AtomicType, bool),
    /// `cast as` and constructor functions.
    Cast(Box<Expr>, AtomicType, bool),
    /// A built-in function call.
    Call(Builtin, Vec<Expr>),
}

/// An axis step: `axis::test[pred]…`.
#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub axis: Axis,
    pub test: NodeTest,
    pub preds: Vec<Expr>,
}

/// The axes.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    Child,
    Descendant,
    Attribute,
    Itself,
    DescendantOrSelf,
    FollowingSibling,
    Following,
    Parent,
    Ancestor,
    PrecedingSibling,
    Preceding,
    AncestorOrSelf,
}

impl Axis {
    /// Reverse axes count positions from the context node backwards.
    pub(crate) fn is_reverse(self) -> bool {
        matches!(
            self,
            Self::Parent
                | Self::Ancestor
                | Self::PrecedingSibling
                | Self::Preceding
                | Self::AncestorOrSelf
        )
    }

    pub(crate) fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "child" => Self::Child,
            "descendant" => Self::Descendant,
            "attribute" => Self::Attribute,
            "self" => Self::Itself,
            "descendant-or-self" => Self::DescendantOrSelf,
            "following-sibling" => Self::FollowingSibling,
            "following" => Self::Following,
            "parent" => Self::Parent,
            "ancestor" => Self::Ancestor,
            "preceding-sibling" => Self::PrecedingSibling,
            "preceding" => Self::Preceding,
            "ancestor-or-self" => Self::AncestorOrSelf,
            _ => return None,
        })
    }
}

/// A node test.
#[derive(Debug, Clone)]
pub(crate) enum NodeTest {
    /// An expanded name, by its slot in the compiled unit's name table.
    Name(usize),
    /// `prefix:*`
    Namespace(Arc<str>),
    /// `*:local`
    Local(Arc<str>),
    /// `*` (any node of the axis' principal kind).
    Any,
    /// A kind test.
    Kind(KindTest),
}

/// `node()`, `text()`, `element(…)`, …
#[derive(Debug, Clone)]
pub(crate) enum KindTest {
    /// `node()`
    AnyNode,
    /// `text()`
    Text,
    /// `comment()` and `processing-instruction()` (the tree holds neither).
    Never,
    /// `document-node()`
    Document,
    /// `element()`, `element(name)`, `element(*)`.
    Element(Option<usize>),
    /// `attribute()`, `attribute(name)`, `attribute(*)`.
    Attribute(Option<usize>),
}

/// Comparison operators (general and value comparisons share them).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Node comparisons.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeCmp {
    Is,
    Precedes,
    Follows,
}

/// Arithmetic operators.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    IDiv,
    Mod,
}

/// Set operators on node sequences.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetOp {
    Union,
    Intersect,
    Except,
}

/// A sequence type (`instance of`, `treat as`).
#[derive(Debug, Clone)]
pub(crate) struct SeqType {
    pub item: Option<ItemType>,
    pub occurrence: Occurrence,
}

/// The item part of a sequence type (`None` in [`SeqType`] is `empty-sequence()`).
#[derive(Debug, Clone)]
pub(crate) enum ItemType {
    /// `item()`
    Item,
    /// A kind test.
    Kind(KindTest),
    /// An atomic type.
    Atomic(AtomicType),
}

/// Occurrence indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Occurrence {
    /// exactly one
    One,
    /// `?`
    Optional,
    /// `*`
    Many,
    /// `+`
    OneOrMore,
}
