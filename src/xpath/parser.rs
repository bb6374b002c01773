//! Recursive-descent parser for XPath 2.0 (W3C XPath 2.0, appendix A), producing [`Expr`] with
//! prefixes, variables and functions resolved against a [`StaticContext`].

use std::sync::Arc;

use super::ast::{
    Arith, Axis, Cmp, Expr, ItemType, KindTest, NodeCmp, NodeTest, Occurrence, SeqType, SetOp, Step,
};
use super::error::{ErrorCode, StaticError};
use super::functions::Builtin;
use super::lexer::{Tok, Token, tokenize};
use super::value::{Atomic, AtomicType, Decimal};
use super::{FN_NS, NameTable, StaticContext, XS_NS};

/// Nesting of parentheses, predicates and operators in one expression. Schema files are
/// operator-supplied but may still be wrong or hostile; the parser recurses per level.
const MAX_NESTING: usize = 200;

pub(crate) fn parse(
    src: &str,
    ctx: &StaticContext,
    names: &mut NameTable,
    vars: &[String],
) -> Result<Expr, StaticError> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        ctx,
        names,
        vars: vars.to_vec(),
        depth: 0,
    };
    let e = p.expr()?;
    if p.peek() != &Tok::Eof {
        return Err(p.err("unexpected token after the end of the expression"));
    }
    Ok(e)
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    ctx: &'a StaticContext,
    names: &'a mut NameTable,
    vars: Vec<String>,
    depth: usize,
}

fn bx(e: Expr) -> Box<Expr> {
    Box::new(e)
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn peek_at(&self, n: usize) -> &Tok {
        let i = (self.pos + n).min(self.toks.len() - 1);
        &self.toks[i].tok
    }

    fn offset(&self) -> usize {
        self.toks[self.pos].offset
    }

    fn err(&self, m: impl Into<String>) -> StaticError {
        StaticError::new(ErrorCode::XPST0003, self.offset(), m)
    }

    fn bump(&mut self) -> Tok {
        let t = self.toks[self.pos].tok.clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.is_sym(s) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), StaticError> {
        if self.eat_sym(s) {
            Ok(())
        } else {
            Err(self.err(format!("expected '{s}'")))
        }
    }

    /// An unprefixed name token equal to `kw` (keywords are not reserved words in XPath).
    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Name(None, n) if n == kw)
    }

    fn is_kw_at(&self, n: usize, kw: &str) -> bool {
        matches!(self.peek_at(n), Tok::Name(None, x) if x == kw)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> Result<(), StaticError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.err("expression nested too deeply"));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Expr, StaticError> {
        self.enter()?;
        let first = self.expr_single()?;
        let e = if self.is_sym(",") {
            let mut items = vec![first];
            while self.eat_sym(",") {
                items.push(self.expr_single()?);
            }
            Expr::Comma(items)
        } else {
            first
        };
        self.depth -= 1;
        Ok(e)
    }

    fn expr_single(&mut self) -> Result<Expr, StaticError> {
        self.enter()?;
        let dollar_next = matches!(self.peek_at(1), Tok::Sym("$"));
        let e = if self.is_kw("for") && dollar_next {
            self.bump();
            self.for_expr()?
        } else if (self.is_kw("some") || self.is_kw("every")) && dollar_next {
            let every = self.is_kw("every");
            self.bump();
            self.quantified(every)?
        } else if self.is_kw("if") && matches!(self.peek_at(1), Tok::Sym("(")) {
            self.bump();
            self.bump();
            let c = self.expr()?;
            self.expect_sym(")")?;
            if !self.eat_kw("then") {
                return Err(self.err("expected 'then'"));
            }
            let a = self.expr_single()?;
            if !self.eat_kw("else") {
                return Err(self.err("expected 'else'"));
            }
            let b = self.expr_single()?;
            Expr::If(bx(c), bx(a), bx(b))
        } else {
            self.or_expr()?
        };
        self.depth -= 1;
        Ok(e)
    }

    /// `$name in Expr` clauses separated by commas, then `return` / `satisfies`.
    fn bindings(&mut self) -> Result<Vec<(usize, Expr)>, StaticError> {
        let mut out = Vec::new();
        loop {
            self.expect_sym("$")?;
            let name = self.var_name()?;
            if !self.eat_kw("in") {
                return Err(self.err("expected 'in'"));
            }
            let input = self.expr_single()?;
            let slot = self.vars.len();
            self.vars.push(name);
            out.push((slot, input));
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(out)
    }

    fn for_expr(&mut self) -> Result<Expr, StaticError> {
        let scope = self.vars.len();
        let binds = self.bindings()?;
        if !self.eat_kw("return") {
            return Err(self.err("expected 'return'"));
        }
        let mut body = self.expr_single()?;
        self.vars.truncate(scope);
        for (slot, input) in binds.into_iter().rev() {
            body = Expr::For(slot, bx(input), bx(body));
        }
        Ok(body)
    }

    fn quantified(&mut self, every: bool) -> Result<Expr, StaticError> {
        let scope = self.vars.len();
        let binds = self.bindings()?;
        if !self.eat_kw("satisfies") {
            return Err(self.err("expected 'satisfies'"));
        }
        let mut body = self.expr_single()?;
        self.vars.truncate(scope);
        // `some $a in A, $b in B satisfies T` = `some $a in A satisfies (some $b in B satisfies T)`.
        for (slot, input) in binds.into_iter().rev() {
            body = Expr::Quantified(every, slot, bx(input), bx(body));
        }
        Ok(body)
    }

    fn var_name(&mut self) -> Result<String, StaticError> {
        match self.bump() {
            Tok::Name(prefix, local) => {
                let ns = match prefix {
                    Some(p) => self.resolve_prefix(&p)?.to_string(),
                    None => String::new(),
                };
                Ok(format!("{{{ns}}}{local}"))
            }
            _ => Err(self.err("expected a variable name")),
        }
    }

    fn or_expr(&mut self) -> Result<Expr, StaticError> {
        let mut l = self.and_expr()?;
        while self.eat_kw("or") {
            let r = self.and_expr()?;
            l = Expr::Or(bx(l), bx(r));
        }
        Ok(l)
    }

    fn and_expr(&mut self) -> Result<Expr, StaticError> {
        let mut l = self.comparison()?;
        while self.eat_kw("and") {
            let r = self.comparison()?;
            l = Expr::And(bx(l), bx(r));
        }
        Ok(l)
    }

    fn comparison(&mut self) -> Result<Expr, StaticError> {
        let l = self.range()?;
        let general = match self.peek() {
            Tok::Sym("=") => Some(Cmp::Eq),
            Tok::Sym("!=") => Some(Cmp::Ne),
            Tok::Sym("<") => Some(Cmp::Lt),
            Tok::Sym("<=") => Some(Cmp::Le),
            Tok::Sym(">") => Some(Cmp::Gt),
            Tok::Sym(">=") => Some(Cmp::Ge),
            _ => None,
        };
        if let Some(op) = general {
            self.bump();
            let r = self.range()?;
            return Ok(Expr::General(op, bx(l), bx(r)));
        }
        let value = match self.peek() {
            Tok::Name(None, n) => match n.as_str() {
                "eq" => Some(Cmp::Eq),
                "ne" => Some(Cmp::Ne),
                "lt" => Some(Cmp::Lt),
                "le" => Some(Cmp::Le),
                "gt" => Some(Cmp::Gt),
                "ge" => Some(Cmp::Ge),
                _ => None,
            },
            _ => None,
        };
        if let Some(op) = value {
            self.bump();
            let r = self.range()?;
            return Ok(Expr::Value(op, bx(l), bx(r)));
        }
        let node = match self.peek() {
            Tok::Name(None, n) if n == "is" => Some(NodeCmp::Is),
            Tok::Sym("<<") => Some(NodeCmp::Precedes),
            Tok::Sym(">>") => Some(NodeCmp::Follows),
            _ => None,
        };
        if let Some(op) = node {
            self.bump();
            let r = self.range()?;
            return Ok(Expr::Node(op, bx(l), bx(r)));
        }
        Ok(l)
    }

    fn range(&mut self) -> Result<Expr, StaticError> {
        let l = self.additive()?;
        if self.eat_kw("to") {
            let r = self.additive()?;
            return Ok(Expr::Range(bx(l), bx(r)));
        }
        Ok(l)
    }

    fn additive(&mut self) -> Result<Expr, StaticError> {
        let mut l = self.multiplicative()?;
        loop {
            let op = if self.eat_sym("+") {
                Arith::Add
            } else if self.eat_sym("-") {
                Arith::Sub
            } else {
                return Ok(l);
            };
            let r = self.multiplicative()?;
            l = Expr::Arith(op, bx(l), bx(r));
        }
    }

    fn multiplicative(&mut self) -> Result<Expr, StaticError> {
        let mut l = self.union()?;
        loop {
            let op = match self.peek() {
                Tok::Wildcard(None, None) => Arith::Mul,
                Tok::Name(None, n) if n == "div" => Arith::Div,
                Tok::Name(None, n) if n == "idiv" => Arith::IDiv,
                Tok::Name(None, n) if n == "mod" => Arith::Mod,
                _ => return Ok(l),
            };
            self.bump();
            let r = self.union()?;
            l = Expr::Arith(op, bx(l), bx(r));
        }
    }

    fn union(&mut self) -> Result<Expr, StaticError> {
        let mut l = self.intersect()?;
        while self.eat_sym("|") || self.eat_kw("union") {
            let r = self.intersect()?;
            l = Expr::Set(SetOp::Union, bx(l), bx(r));
        }
        Ok(l)
    }

    fn intersect(&mut self) -> Result<Expr, StaticError> {
        let mut l = self.instance_of()?;
        loop {
            let op = if self.eat_kw("intersect") {
                SetOp::Intersect
            } else if self.eat_kw("except") {
                SetOp::Except
            } else {
                return Ok(l);
            };
            let r = self.instance_of()?;
            l = Expr::Set(op, bx(l), bx(r));
        }
    }

    fn instance_of(&mut self) -> Result<Expr, StaticError> {
        let l = self.treat()?;
        if self.is_kw("instance") && self.is_kw_at(1, "of") {
            self.bump();
            self.bump();
            let t = self.sequence_type()?;
            return Ok(Expr::InstanceOf(bx(l), t));
        }
        Ok(l)
    }

    fn treat(&mut self) -> Result<Expr, StaticError> {
        let l = self.castable()?;
        if self.is_kw("treat") && self.is_kw_at(1, "as") {
            self.bump();
            self.bump();
            let t = self.sequence_type()?;
            return Ok(Expr::Treat(bx(l), t));
        }
        Ok(l)
    }

    fn castable(&mut self) -> Result<Expr, StaticError> {
        let l = self.cast()?;
        if self.is_kw("castable") && self.is_kw_at(1, "as") {
            self.bump();
            self.bump();
            let (t, opt) = self.single_type()?;
            return Ok(Expr::Castable(bx(l), t, opt));
        }
        Ok(l)
    }

    fn cast(&mut self) -> Result<Expr, StaticError> {
        let l = self.unary()?;
        if self.is_kw("cast") && self.is_kw_at(1, "as") {
            self.bump();
            self.bump();
            let (t, opt) = self.single_type()?;
            return Ok(Expr::Cast(bx(l), t, opt));
        }
        Ok(l)
    }

    fn single_type(&mut self) -> Result<(AtomicType, bool), StaticError> {
        let t = self.atomic_type()?;
        let opt = self.eat_sym("?");
        Ok((t, opt))
    }

    fn atomic_type(&mut self) -> Result<AtomicType, StaticError> {
        let at = self.offset();
        match self.bump() {
            Tok::Name(prefix, local) => {
                let ns = match &prefix {
                    Some(p) => self.resolve_prefix(p)?,
                    None => Arc::from(""),
                };
                if &*ns != XS_NS {
                    return Err(StaticError::new(
                        ErrorCode::XPST0051,
                        at,
                        format!("unknown atomic type {local}"),
                    ));
                }
                AtomicType::from_xs_name(&local).ok_or_else(|| {
                    StaticError::new(
                        ErrorCode::XPST0051,
                        at,
                        format!("atomic type xs:{local} is not supported"),
                    )
                })
            }
            _ => Err(StaticError::new(
                ErrorCode::XPST0003,
                at,
                "expected a type name",
            )),
        }
    }

    fn sequence_type(&mut self) -> Result<SeqType, StaticError> {
        if self.is_kw("empty-sequence") && matches!(self.peek_at(1), Tok::Sym("(")) {
            self.bump();
            self.bump();
            self.expect_sym(")")?;
            return Ok(SeqType {
                item: None,
                occurrence: Occurrence::Optional,
            });
        }
        let item = if self.is_kw("item") && matches!(self.peek_at(1), Tok::Sym("(")) {
            self.bump();
            self.bump();
            self.expect_sym(")")?;
            ItemType::Item
        } else if let Some(k) = self.kind_test()? {
            ItemType::Kind(k)
        } else {
            ItemType::Atomic(self.atomic_type()?)
        };
        let occurrence = match self.peek() {
            Tok::Sym("?") => Occurrence::Optional,
            Tok::Wildcard(None, None) => Occurrence::Many,
            Tok::Sym("+") => Occurrence::OneOrMore,
            _ => Occurrence::One,
        };
        if occurrence != Occurrence::One {
            self.bump();
        }
        Ok(SeqType {
            item: Some(item),
            occurrence,
        })
    }

    fn unary(&mut self) -> Result<Expr, StaticError> {
        let mut signs = Vec::new();
        loop {
            if self.eat_sym("-") {
                signs.push(false);
            } else if self.eat_sym("+") {
                signs.push(true);
            } else {
                break;
            }
        }
        if signs.len() > MAX_NESTING {
            return Err(self.err("too many signs"));
        }
        let mut e = self.path()?;
        for plus in signs.into_iter().rev() {
            e = Expr::Unary(plus, bx(e));
        }
        Ok(e)
    }

    /// Whether the current token can start a step (after a leading `/`).
    fn starts_step(&self) -> bool {
        match self.peek() {
            Tok::Name(..)
            | Tok::Wildcard(..)
            | Tok::Str(_)
            | Tok::Integer(_)
            | Tok::Decimal(_)
            | Tok::Double(_) => true,
            Tok::Sym(s) => matches!(*s, "@" | "." | ".." | "(" | "$"),
            Tok::Eof => false,
        }
    }

    fn path(&mut self) -> Result<Expr, StaticError> {
        if self.eat_sym("/") {
            if self.starts_step() {
                let rel = self.relative(Expr::Root)?;
                return Ok(rel);
            }
            return Ok(Expr::Root);
        }
        if self.eat_sym("//") {
            let step = self.step_expr()?;
            let e = descend(Expr::Root, step);
            return self.relative_rest(e);
        }
        let first = self.step_expr()?;
        self.relative_rest(first)
    }

    /// `base / step (/ step)*` — the first step follows a `/` already consumed.
    fn relative(&mut self, base: Expr) -> Result<Expr, StaticError> {
        let step = self.step_expr()?;
        let e = Expr::Path(bx(base), bx(step));
        self.relative_rest(e)
    }

    fn relative_rest(&mut self, mut e: Expr) -> Result<Expr, StaticError> {
        loop {
            if self.eat_sym("/") {
                let step = self.step_expr()?;
                e = Expr::Path(bx(e), bx(step));
            } else if self.eat_sym("//") {
                let step = self.step_expr()?;
                e = descend(e, step);
            } else {
                return Ok(e);
            }
        }
    }

    fn step_expr(&mut self) -> Result<Expr, StaticError> {
        self.enter()?;
        let e = self.step_inner()?;
        self.depth -= 1;
        Ok(e)
    }

    fn step_inner(&mut self) -> Result<Expr, StaticError> {
        // Abbreviated steps.
        if self.eat_sym("..") {
            return Ok(Expr::Step(Box::new(Step {
                axis: Axis::Parent,
                test: NodeTest::Kind(KindTest::AnyNode),
                preds: Vec::new(),
            })));
        }
        if self.eat_sym("@") {
            let test = self.node_test(Axis::Attribute)?;
            return self.axis_step(Axis::Attribute, test);
        }
        // Full axis.
        if let Tok::Name(None, n) = self.peek()
            && matches!(self.peek_at(1), Tok::Sym("::"))
        {
            let name = n.clone();
            let axis = Axis::from_name(&name).ok_or_else(|| self.err("unknown axis"))?;
            self.bump();
            self.bump();
            let test = self.node_test(axis)?;
            return self.axis_step(axis, test);
        }
        // Kind tests and name tests (a name followed by `(` is a function call, unless it is
        // a kind test name).
        let is_call =
            matches!(self.peek(), Tok::Name(..)) && matches!(self.peek_at(1), Tok::Sym("("));
        if matches!(self.peek(), Tok::Wildcard(..))
            || (matches!(self.peek(), Tok::Name(..)) && !is_call)
        {
            let test = self.node_test(Axis::Child)?;
            return self.axis_step(Axis::Child, test);
        }
        if is_call && let Some(k) = self.kind_test()? {
            let axis = if matches!(k, KindTest::Attribute(_)) {
                Axis::Attribute
            } else {
                Axis::Child
            };
            return self.axis_step(axis, NodeTest::Kind(k));
        }
        let primary = self.primary()?;
        let preds = self.predicates()?;
        if preds.is_empty() {
            Ok(primary)
        } else {
            Ok(Expr::Filter(bx(primary), preds))
        }
    }

    fn axis_step(&mut self, axis: Axis, test: NodeTest) -> Result<Expr, StaticError> {
        let preds = self.predicates()?;
        Ok(Expr::Step(Box::new(Step { axis, test, preds })))
    }

    fn predicates(&mut self) -> Result<Vec<Expr>, StaticError> {
        let mut preds = Vec::new();
        while self.eat_sym("[") {
            preds.push(self.expr()?);
            self.expect_sym("]")?;
        }
        Ok(preds)
    }

    fn node_test(&mut self, axis: Axis) -> Result<NodeTest, StaticError> {
        if let Some(k) = self.kind_test()? {
            return Ok(NodeTest::Kind(k));
        }
        match self.bump() {
            Tok::Wildcard(None, None) => Ok(NodeTest::Any),
            Tok::Wildcard(Some(p), None) => Ok(NodeTest::Namespace(self.resolve_prefix(&p)?)),
            Tok::Wildcard(None, Some(l)) => Ok(NodeTest::Local(Arc::from(l.as_str()))),
            Tok::Name(prefix, local) => {
                // Unprefixed names: no namespace (attributes always; elements since Schematron
                // declares no default element namespace).
                let ns = match prefix {
                    Some(p) => self.resolve_prefix(&p)?,
                    None if axis == Axis::Attribute => Arc::from(""),
                    None => Arc::from(self.ctx.default_element_ns.as_str()),
                };
                Ok(NodeTest::Name(self.names.intern(&ns, &local)))
            }
            _ => Err(self.err("expected a node test")),
        }
    }

    /// A kind test at the current position, if there is one (consumed).
    fn kind_test(&mut self) -> Result<Option<KindTest>, StaticError> {
        let Tok::Name(None, name) = self.peek() else {
            return Ok(None);
        };
        if !matches!(self.peek_at(1), Tok::Sym("(")) {
            return Ok(None);
        }
        let kind = match name.as_str() {
            "node" => KindTest::AnyNode,
            "text" => KindTest::Text,
            "comment" | "processing-instruction" => KindTest::Never,
            "document-node" => KindTest::Document,
            "element" => KindTest::Element(None),
            "attribute" => KindTest::Attribute(None),
            "schema-element" | "schema-attribute" => {
                return Err(self.err("schema-aware kind tests are not supported"));
            }
            _ => return Ok(None),
        };
        self.bump();
        self.bump();
        let kind = match kind {
            KindTest::Element(_) | KindTest::Attribute(_) => {
                let is_elem = matches!(kind, KindTest::Element(_));
                let name = match self.peek().clone() {
                    Tok::Wildcard(None, None) => {
                        self.bump();
                        None
                    }
                    Tok::Name(prefix, local) => {
                        self.bump();
                        let ns = match prefix {
                            Some(p) => self.resolve_prefix(&p)?,
                            None if is_elem => Arc::from(self.ctx.default_element_ns.as_str()),
                            None => Arc::from(""),
                        };
                        Some(self.names.intern(&ns, &local))
                    }
                    _ => None,
                };
                if self.eat_sym(",") {
                    return Err(self.err("type annotations in kind tests are not supported"));
                }
                if is_elem {
                    KindTest::Element(name)
                } else {
                    KindTest::Attribute(name)
                }
            }
            KindTest::Never => {
                // processing-instruction(name) may carry a target.
                if matches!(self.peek(), Tok::Name(..) | Tok::Str(_)) {
                    self.bump();
                }
                KindTest::Never
            }
            KindTest::Document => {
                if self.is_kw("element") {
                    return Err(self.err("document-node(element(…)) is not supported"));
                }
                KindTest::Document
            }
            k => k,
        };
        self.expect_sym(")")?;
        Ok(Some(kind))
    }

    fn primary(&mut self) -> Result<Expr, StaticError> {
        let at = self.offset();
        match self.bump() {
            Tok::Str(s) => Ok(Expr::Literal(Atomic::String(Arc::from(s.as_str())))),
            Tok::Integer(s) => match s.parse::<i64>() {
                Ok(i) => Ok(Expr::Literal(Atomic::Integer(i))),
                // Beyond 64 bits: a decimal, as close as the engine gets to xs:integer's
                // arbitrary precision.
                Err(_) => Decimal::parse(&s)
                    .map(|d| Expr::Literal(Atomic::Decimal(d)))
                    .ok_or_else(|| {
                        StaticError::new(ErrorCode::XPST0003, at, "integer literal too large")
                    }),
            },
            Tok::Decimal(s) => Decimal::parse(&s)
                .map(|d| Expr::Literal(Atomic::Decimal(d)))
                .ok_or_else(|| {
                    StaticError::new(ErrorCode::XPST0003, at, "decimal literal out of range")
                }),
            Tok::Double(s) => s
                .parse::<f64>()
                .map(|d| Expr::Literal(Atomic::Double(d)))
                .map_err(|_| StaticError::new(ErrorCode::XPST0003, at, "invalid double literal")),
            Tok::Sym("$") => {
                let name = self.var_name()?;
                match self.vars.iter().rposition(|v| *v == name) {
                    Some(slot) => Ok(Expr::Var(slot)),
                    None => Err(StaticError::new(
                        ErrorCode::XPST0008,
                        at,
                        format!("variable ${} is not declared", short_name(&name)),
                    )),
                }
            }
            Tok::Sym("(") => {
                if self.eat_sym(")") {
                    return Ok(Expr::Empty);
                }
                let e = self.expr()?;
                self.expect_sym(")")?;
                Ok(e)
            }
            Tok::Sym(".") => Ok(Expr::Context),
            Tok::Name(prefix, local) if self.is_sym("(") => self.call(prefix, local, at),
            _ => Err(StaticError::new(
                ErrorCode::XPST0003,
                at,
                "expected an expression",
            )),
        }
    }

    fn call(
        &mut self,
        prefix: Option<String>,
        local: String,
        at: usize,
    ) -> Result<Expr, StaticError> {
        self.expect_sym("(")?;
        let mut args = Vec::new();
        if !self.eat_sym(")") {
            loop {
                args.push(self.expr_single()?);
                if self.eat_sym(")") {
                    break;
                }
                self.expect_sym(",")?;
            }
        }
        let ns = match &prefix {
            Some(p) => self.resolve_prefix(p)?,
            None => Arc::from(FN_NS),
        };
        if &*ns == XS_NS {
            let t = AtomicType::from_xs_name(&local).ok_or_else(|| {
                StaticError::new(
                    ErrorCode::XPST0017,
                    at,
                    format!("no constructor function xs:{local}"),
                )
            })?;
            if args.len() != 1 || matches!(t, AtomicType::AnyAtomic) {
                return Err(StaticError::new(
                    ErrorCode::XPST0017,
                    at,
                    format!("xs:{local} takes one argument"),
                ));
            }
            let arg = args.pop().unwrap_or(Expr::Empty);
            return Ok(Expr::Cast(bx(arg), t, true));
        }
        if &*ns != FN_NS {
            return Err(StaticError::new(
                ErrorCode::XPST0017,
                at,
                format!("unknown function {}:{local}", prefix.unwrap_or_default()),
            ));
        }
        let f = Builtin::lookup(&local, args.len()).ok_or_else(|| {
            StaticError::new(
                ErrorCode::XPST0017,
                at,
                format!("unknown function {local}#{}", args.len()),
            )
        })?;
        // Functions whose argument defaults to the context item.
        if args.is_empty() && f.context_default() {
            args.push(Expr::Context);
        }
        Ok(Expr::Call(f, args))
    }

    fn resolve_prefix(&self, p: &str) -> Result<Arc<str>, StaticError> {
        self.ctx.namespace(p).ok_or_else(|| {
            StaticError::new(
                ErrorCode::XPST0081,
                self.offset(),
                format!("namespace prefix {p} is not declared"),
            )
        })
    }
}

/// `base//step`: `base/descendant-or-self::node()/step`, or `base/descendant::test` when the
/// step is a child step without predicates (the same nodes; positional predicates would
/// count differently, so steps with predicates keep the long form).
fn descend(base: Expr, step: Expr) -> Expr {
    if let Expr::Step(s) = &step
        && s.axis == Axis::Child
        && s.preds.is_empty()
    {
        return Expr::Path(
            bx(base),
            bx(Expr::Step(Box::new(Step {
                axis: Axis::Descendant,
                test: s.test.clone(),
                preds: Vec::new(),
            }))),
        );
    }
    Expr::Path(bx(Expr::Path(bx(base), bx(descendant_or_self()))), bx(step))
}

fn descendant_or_self() -> Expr {
    Expr::Step(Box::new(Step {
        axis: Axis::DescendantOrSelf,
        test: NodeTest::Kind(KindTest::AnyNode),
        preds: Vec::new(),
    }))
}

fn short_name(clark: &str) -> &str {
    clark.rsplit('}').next().unwrap_or(clark)
}
