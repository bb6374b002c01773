//! ISO Schematron (ISO/IEC 19757-3) with the `xslt2` query binding, natively: the rules of a
//! schema pack compiled once into an immutable [`Schema`] (`Send + Sync`, shared like a
//! grammar), then run on a document [`Tree`] into [`Finding`]s.
//!
//! # Semantics (what the XSLT skeleton implementations do, and SaxonC-HE 13.1 confirmed)
//! - Every node of the document (document node, elements, attributes, text) is visited in
//!   document order once per active pattern; within a pattern the **first rule** (in schema
//!   order) whose context matches the node fires, the others do not.
//! - Abstract rules are pulled into concrete ones by `sch:extends` (recursively); abstract
//!   patterns are instantiated with their `sch:param`s; `sch:include` is resolved through a
//!   caller-supplied, offline resolver.
//! - `sch:let` at schema and phase level and in patterns is evaluated once per document with
//!   the document node as context; in rules once per fired node.
//! - A failed `assert` or a successful `report` is a finding. A dynamic XPath error in a test,
//!   a `let` or an evaluated context is a **processing error** of that rule (severity error),
//!   never a pass: the case of sch-stat-002 (`normalize-space()` of two Bauherr names,
//!   XPTY0004).
//! - Severity comes from `role` (then `flag`) of the check, else of its rule: `fatal`,
//!   `error` → error; `warning`, `warn` → warning; `info`, `information` → information;
//!   anything else, or nothing, → error (a failed assert rejects unless said otherwise, as
//!   in the KoSIT validator). Per-rule overrides come from the pack ([`Overrides`]).
//! - Messages: the rule's text with `sch:name` rendered; `sch:value-of` shows instance
//!   values, so it is rendered as `[…]` unless values are asked for
//!   ([`RunOptions::show_values`]).
//!
//! Static errors (an XPath that does not compile, an unknown `extends`) make the whole schema
//! fail to compile, with every error listed: a rule set that cannot run must never look like
//! one that passed.

mod read;

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::config::XmlLimits;
use crate::xpath::{
    DynError, Evaluator, Expression, NameTable, NodeId, NodeKind, Pattern, PatternKey,
    StaticContext, Tree,
};

pub use read::{Resolver, SCH_NS};

/// A problem in a Schematron file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaError {
    /// The file (as the caller named it).
    pub file: String,
    /// Line (0 when unknown).
    pub line: u64,
    /// Column (0 when unknown).
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

/// How severe a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Information only.
    Information,
    /// A warning: does not reject.
    Warning,
    /// An error: rejects.
    Error,
}

impl Severity {
    /// The severity a `role`/`flag` value names (`None` when it names none).
    pub fn from_role(role: &str) -> Option<Severity> {
        match role.trim().to_ascii_lowercase().as_str() {
            "fatal" | "error" | "err" => Some(Self::Error),
            "warning" | "warn" => Some(Self::Warning),
            "info" | "information" | "informational" => Some(Self::Information),
            _ => None,
        }
    }

    /// `error`, `warning`, `information`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Information => "information",
        }
    }

    /// Parses `error`, `warning`, `information`.
    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "error" => Some(Self::Error),
            "warning" => Some(Self::Warning),
            "information" => Some(Self::Information),
            _ => None,
        }
    }
}

/// What kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// An `assert` whose test was false.
    FailedAssert,
    /// A `report` whose test was true.
    SuccessfulReport,
    /// A rule could not be evaluated (an XPath error, the work budget).
    ProcessingError,
    /// A code-list check (see `xoev::codelist`).
    CodeList,
}

/// One finding: where, what rule, how severe, the rule's text. No instance values unless
/// asked for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// The assert/report id, else the rule id, else the pattern id, else `"-"`.
    pub rule: String,
    /// Severity (after overrides).
    pub severity: Severity,
    /// Kind.
    pub kind: FindingKind,
    /// Line of the node (0 for document-level findings).
    pub line: u64,
    /// Column.
    pub column: u64,
    /// Location path of the node (`/xbau:x[1]/y[2]`).
    pub path: String,
    /// The rule's text (or the processing error).
    pub message: String,
    /// The test expression, for reports.
    #[serde(skip)]
    pub test: String,
    /// Diagnostic texts referenced by the check.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<String>,
}

/// Per-rule severity overrides of a pack (KoSIT's `customLevel`), by assert/report/rule id.
pub type Overrides = HashMap<String, Severity>;

/// Limits of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Render `sch:value-of` with instance values (local debugging only).
    pub show_values: bool,
    /// Work units per document (see `config::SchematronLimits::max_evaluation_steps`).
    pub budget: u64,
    /// Findings kept per document; beyond it the report is marked truncated.
    pub max_findings: usize,
}

#[derive(Debug, Clone)]
enum Part {
    Text(String),
    ValueOf(Expression),
    Name(Option<Expression>),
}

#[derive(Debug, Clone)]
struct Check {
    report: bool,
    id: Option<String>,
    test: Expression,
    severity: Severity,
    message: Vec<Part>,
    diagnostics: Vec<Vec<Part>>,
}

#[derive(Debug, Clone)]
struct Rule {
    id: Option<String>,
    context: Pattern,
    lets: Vec<Expression>,
    checks: Vec<Check>,
}

#[derive(Debug, Clone)]
struct CompiledPattern {
    id: Option<String>,
    lets: Vec<Expression>,
    rules: Vec<Rule>,
    /// Rules by name-table slot of their context's last step; the rest in `generic`.
    by_name: Vec<(usize, Vec<usize>)>,
    generic: Vec<usize>,
    /// Whether some rule may match attributes or text (else only elements and the document
    /// node are visited).
    all_nodes: bool,
}

/// A compiled Schematron schema.
#[derive(Debug, Clone)]
pub struct Schema {
    names: NameTable,
    lets: Vec<Expression>,
    patterns: Vec<CompiledPattern>,
    /// Number of rules (concrete) and checks, for diagnostics.
    counts: (usize, usize),
    title: Arc<str>,
}

/// The result of running a schema on one document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// The findings in document order per pattern.
    pub findings: Vec<Finding>,
    /// Rules that fired (node × rule), for the report.
    pub fired: usize,
    /// More findings existed than were kept.
    pub truncated: bool,
}

impl RunReport {
    /// Whether any finding has severity error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }
}

fn severity_of(
    check_role: Option<&str>,
    check_flag: Option<&str>,
    rule: &read::RawRule,
) -> Severity {
    [
        check_role,
        check_flag,
        rule.role.as_deref(),
        rule.flag.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find_map(Severity::from_role)
    .unwrap_or(Severity::Error)
}

struct Compiler<'a> {
    ctx: StaticContext,
    names: NameTable,
    file: &'a str,
    errors: Vec<SchemaError>,
}

impl Compiler<'_> {
    fn expr(&mut self, src: &str, vars: &[String], what: &str) -> Option<Expression> {
        match Expression::compile(src, &self.ctx, &mut self.names, vars) {
            Ok(e) => Some(e),
            Err(e) => {
                self.errors.push(SchemaError {
                    file: self.file.to_owned(),
                    line: 0,
                    column: 0,
                    message: format!(
                        "{what}: XPath {} at character {}: {} in {src:?}",
                        e.code, e.offset, e.message
                    ),
                });
                None
            }
        }
    }

    fn message(&mut self, parts: &[read::RawPart], vars: &[String], what: &str) -> Vec<Part> {
        parts
            .iter()
            .filter_map(|p| match p {
                read::RawPart::Text(t) => Some(Part::Text(t.clone())),
                read::RawPart::ValueOf(s) => self.expr(s, vars, what).map(Part::ValueOf),
                read::RawPart::Name(None) => Some(Part::Name(None)),
                read::RawPart::Name(Some(p)) => {
                    self.expr(p, vars, what).map(|e| Part::Name(Some(e)))
                }
            })
            .collect()
    }
}

/// Clark name of a `let` variable (`{}name`; let names are NCNames in practice).
fn var_name(name: &str) -> String {
    format!("{{}}{name}")
}

impl Schema {
    /// Compiles a Schematron document. `file` names it in errors; `resolve` loads included
    /// files (offline); `phase` selects a phase (`None`: the schema's `defaultPhase`, else
    /// all patterns; `#ALL`: all patterns).
    ///
    /// # Errors
    /// Every problem found (not well-formed, unknown elements, XPath static errors, unknown
    /// `extends` or phase, a query binding other than `xslt2`/`xslt3`/`xpath2`/`xpath3`).
    pub fn compile(
        bytes: &[u8],
        file: &str,
        resolve: Resolver<'_>,
        phase: Option<&str>,
        xml: &XmlLimits,
    ) -> Result<Schema, Vec<SchemaError>> {
        let raw = read::read(bytes, file, resolve, xml)?;
        let at_file = |message: String| SchemaError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            message,
        };
        match raw.query_binding.as_deref() {
            None | Some("xslt2" | "xslt3" | "xpath2" | "xpath3" | "xpath31") => {}
            Some(other) => {
                return Err(vec![at_file(format!(
                    "queryBinding {other:?} is not supported (xslt2, xslt3, xpath2, xpath3)"
                ))]);
            }
        }
        let mut c = Compiler {
            ctx: StaticContext::new(),
            names: NameTable::default(),
            file,
            errors: Vec::new(),
        };
        for (p, u) in &raw.namespaces {
            c.ctx.bind(p, u);
        }
        // Active patterns and the phase's lets.
        let phase = phase
            .map(str::to_owned)
            .or_else(|| raw.default_phase.clone());
        let (active, phase_lets): (Option<Vec<String>>, Vec<(String, String)>) =
            match phase.as_deref() {
                None | Some("#ALL") | Some("#DEFAULT") => (None, Vec::new()),
                Some(id) => match raw.phases.iter().find(|(p, ..)| p == id) {
                    Some((_, pats, lets)) => (Some(pats.clone()), lets.clone()),
                    None => return Err(vec![at_file(format!("no phase {id:?}"))]),
                },
            };
        let mut vars: Vec<String> = Vec::new();
        let mut lets = Vec::new();
        for (name, value) in raw.lets.iter().chain(&phase_lets) {
            if let Some(e) = c.expr(value, &vars, &format!("let ${name}")) {
                lets.push(e);
            }
            vars.push(var_name(name));
        }
        let abstract_rules: HashMap<&str, &read::RawRule> = raw
            .patterns
            .iter()
            .flat_map(|p| &p.rules)
            .filter(|r| r.is_abstract)
            .filter_map(|r| Some((r.id.as_deref()?, r)))
            .collect();
        let mut patterns = Vec::new();
        let (mut rule_count, mut check_count) = (0, 0);
        for p in &raw.patterns {
            if let Some(active) = &active
                && !p.id.as_ref().is_some_and(|id| active.contains(id))
            {
                continue;
            }
            let mut pvars = vars.clone();
            let mut plets = Vec::new();
            for (name, value) in &p.lets {
                if let Some(e) = c.expr(value, &pvars, &format!("let ${name}")) {
                    plets.push(e);
                }
                pvars.push(var_name(name));
            }
            let mut rules = Vec::new();
            for r in p.rules.iter().filter(|r| !r.is_abstract) {
                let Some(context) = &r.context else { continue };
                let what = format!("rule context {context:?}");
                let pattern = match Pattern::compile(context, &c.ctx, &mut c.names, &pvars) {
                    Ok(p) => p,
                    Err(e) => {
                        c.errors.push(at_file(format!(
                            "{what}: XPath {} at character {}: {}",
                            e.code, e.offset, e.message
                        )));
                        continue;
                    }
                };
                // Flatten the rule: its own items with `extends` expanded in place.
                let mut items = Vec::new();
                let mut stack = Vec::new();
                if let Err(m) = expand(r, &abstract_rules, &mut items, &mut stack) {
                    c.errors.push(at_file(m));
                    continue;
                }
                let mut rvars = pvars.clone();
                let mut rlets = Vec::new();
                let mut checks = Vec::new();
                for (item, owner) in items {
                    match item {
                        read::RawRuleItem::Let(name, value) => {
                            if let Some(e) = c.expr(value, &rvars, &format!("let ${name}")) {
                                rlets.push((checks.len(), e));
                            }
                            rvars.push(var_name(name));
                        }
                        read::RawRuleItem::Check(ch) => {
                            let label = ch.id.clone().unwrap_or_else(|| "assert".to_owned());
                            let Some(test) = c.expr(&ch.test, &rvars, &format!("{label} test"))
                            else {
                                continue;
                            };
                            let message = c.message(&ch.message, &rvars, &label);
                            let mut diagnostics = Vec::new();
                            for d in &ch.diagnostics {
                                match raw.diagnostics.get(d) {
                                    Some(parts) => diagnostics.push(c.message(parts, &rvars, d)),
                                    None => c.errors.push(at_file(format!(
                                        "{label}: no diagnostic with id {d:?}"
                                    ))),
                                }
                            }
                            checks.push(Check {
                                report: ch.report,
                                id: ch
                                    .id
                                    .clone()
                                    .or_else(|| owner.id.clone())
                                    .or_else(|| r.id.clone()),
                                test,
                                severity: severity_of(
                                    ch.role.as_deref(),
                                    ch.flag.as_deref(),
                                    owner,
                                ),
                                message,
                                diagnostics,
                            });
                        }
                        read::RawRuleItem::Extends(_) => {}
                    }
                }
                // Lets interleaved with checks are evaluated before all checks: each let only
                // sees earlier lets, so evaluating them first changes nothing observable.
                let lets = rlets.into_iter().map(|(_, e)| e).collect();
                rule_count += 1;
                check_count += checks.len();
                rules.push(Rule {
                    id: r.id.clone(),
                    context: pattern,
                    lets,
                    checks,
                });
            }
            patterns.push(index_pattern(p.id.clone(), plets, rules));
        }
        if let Some(active) = &active {
            for id in active {
                if !raw.patterns.iter().any(|p| p.id.as_ref() == Some(id)) {
                    c.errors
                        .push(at_file(format!("the phase names no pattern {id:?}")));
                }
            }
        }
        if !c.errors.is_empty() {
            return Err(c.errors);
        }
        Ok(Schema {
            names: c.names,
            lets,
            patterns,
            counts: (rule_count, check_count),
            title: Arc::from(file),
        })
    }

    /// Concrete rules and checks after `extends`.
    pub fn size(&self) -> (usize, usize) {
        self.counts
    }

    /// The name given at compile time.
    pub fn name(&self) -> &str {
        &self.title
    }

    /// Runs the schema on a document.
    pub fn run(&self, tree: &Tree, options: &RunOptions, overrides: &Overrides) -> RunReport {
        let mut run = Run {
            ev: Evaluator::new(tree, &self.names, options.budget),
            options,
            overrides,
            report: RunReport::default(),
            out_of_budget: false,
        };
        let doc = crate::xpath::tree::DOCUMENT;
        for (i, l) in self.lets.iter().enumerate() {
            match run.ev.evaluate(l, doc) {
                Ok(v) => run.ev.push_variable(v),
                Err(e) => {
                    run.processing_error(&format!("let #{}", i + 1), None, doc, &e);
                    run.ev.push_variable(Vec::new());
                }
            }
        }
        let base = run.ev.variable_depth();
        for (pi, p) in self.patterns.iter().enumerate() {
            run.ev.truncate_variables(base);
            for l in &p.lets {
                match run.ev.evaluate(l, doc) {
                    Ok(v) => run.ev.push_variable(v),
                    Err(e) => {
                        let label =
                            p.id.clone()
                                .unwrap_or_else(|| format!("pattern #{}", pi + 1));
                        run.processing_error(&label, None, doc, &e);
                        run.ev.push_variable(Vec::new());
                    }
                }
            }
            run.pattern(pi, p);
            if run.out_of_budget {
                break;
            }
        }
        run.report
    }
}

/// Expands `extends` depth-first; `stack` detects cycles.
fn expand<'r>(
    rule: &'r read::RawRule,
    abstracts: &HashMap<&str, &'r read::RawRule>,
    out: &mut Vec<(&'r read::RawRuleItem, &'r read::RawRule)>,
    stack: &mut Vec<&'r str>,
) -> Result<(), String> {
    for item in &rule.items {
        if let read::RawRuleItem::Extends(target) = item {
            let Some(abs) = abstracts.get(target.as_str()) else {
                return Err(format!("sch:extends names no abstract rule {target:?}"));
            };
            if stack.contains(&target.as_str()) || stack.len() > 64 {
                return Err(format!("sch:extends cycle through {target:?}"));
            }
            stack.push(target);
            expand(abs, abstracts, out, stack)?;
            stack.pop();
        } else {
            out.push((item, rule));
        }
    }
    Ok(())
}

fn index_pattern(id: Option<String>, lets: Vec<Expression>, rules: Vec<Rule>) -> CompiledPattern {
    let mut by_name: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut generic = Vec::new();
    // Attributes and text nodes are visited only when some rule may match them (`//*` and
    // named element contexts cannot).
    let mut all_nodes = false;
    for (i, r) in rules.iter().enumerate() {
        match r.context.key() {
            PatternKey::Names(names) => {
                for (attr, slot) in names {
                    all_nodes |= attr;
                    let list = by_name.entry(slot).or_default();
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            }
            PatternKey::Any => {
                generic.push(i);
                all_nodes |= !element_only(&r.context);
            }
        }
    }
    let mut by_name: Vec<(usize, Vec<usize>)> = by_name.into_iter().collect();
    by_name.sort_unstable();
    CompiledPattern {
        id,
        lets,
        rules,
        by_name,
        generic,
        all_nodes,
    }
}

/// Whether a pattern can only match elements or the document node (checked on its text:
/// no `@`, `attribute`, `text()`, `node()` and no evaluated fallback).
fn element_only(p: &Pattern) -> bool {
    let s = p.source();
    !p.is_evaluated()
        && !s.contains('@')
        && !s.contains("attribute")
        && !s.contains("text(")
        && !s.contains("node(")
}

struct Run<'a, 't> {
    ev: Evaluator<'t>,
    options: &'a RunOptions,
    overrides: &'a Overrides,
    report: RunReport,
    out_of_budget: bool,
}

impl Run<'_, '_> {
    fn push(&mut self, f: Finding) {
        if self.report.findings.len() >= self.options.max_findings {
            self.report.truncated = true;
            return;
        }
        self.report.findings.push(f);
    }

    fn location(&self, node: NodeId) -> (u64, u64, String) {
        let t = self.ev.tree();
        let p = t.position(node);
        if node == crate::xpath::tree::DOCUMENT {
            return (0, 0, "/".to_owned());
        }
        (p.line, p.column, t.path(node))
    }

    fn processing_error(
        &mut self,
        rule: &str,
        severity: Option<Severity>,
        node: NodeId,
        e: &DynError,
    ) {
        if e.code == crate::xpath::ErrorCode::POST0001 {
            self.out_of_budget = true;
        }
        let (line, column, path) = self.location(node);
        let severity = self
            .overrides
            .get(rule)
            .copied()
            .or(severity)
            .unwrap_or(Severity::Error)
            .max(Severity::Error);
        self.push(Finding {
            rule: rule.to_owned(),
            severity,
            kind: FindingKind::ProcessingError,
            line,
            column,
            path,
            message: format!("the rule could not be evaluated: {e}"),
            test: String::new(),
            diagnostics: Vec::new(),
        });
    }

    fn pattern(&mut self, pi: usize, p: &CompiledPattern) {
        let tree = self.ev.tree();
        // Candidate rules per expanded name of this document, indexed by the (dense) expanded-
        // name id: one array access per node instead of a hash lookup.
        let mut by_expanded: Vec<Vec<usize>> = Vec::new();
        for (slot, rules) in &p.by_name {
            if let Some(e) = self.ev.resolved_name(*slot) {
                let e = e as usize;
                if by_expanded.len() <= e {
                    by_expanded.resize_with(e + 1, Vec::new);
                }
                let list = &mut by_expanded[e];
                list.extend(rules);
                list.sort_unstable();
                list.dedup();
            }
        }
        let empty = Vec::new();
        let mut errored: Vec<bool> = vec![false; p.rules.len()];
        for node in 0..tree.len() as NodeId {
            if self.out_of_budget {
                return;
            }
            let kind = tree.kind(node);
            if !p.all_nodes && !matches!(kind, NodeKind::Element | NodeKind::Document) {
                continue;
            }
            let named = tree
                .expanded_name(node)
                .and_then(|e| by_expanded.get(e as usize))
                .unwrap_or(&empty);
            // Merge the two ascending candidate lists: the first match in schema order wins.
            let (mut a, mut b) = (0, 0);
            while a < named.len() || b < p.generic.len() {
                let ri = match (named.get(a), p.generic.get(b)) {
                    (Some(&x), Some(&y)) if x <= y => {
                        a += 1;
                        if x == y {
                            b += 1;
                        }
                        x
                    }
                    (Some(_), Some(&y)) => {
                        b += 1;
                        y
                    }
                    (Some(&x), None) => {
                        a += 1;
                        x
                    }
                    (None, Some(&y)) => {
                        b += 1;
                        y
                    }
                    (None, None) => break,
                };
                let rule = &p.rules[ri];
                match self.ev.matches(&rule.context, pi * 1_000_000 + ri, node) {
                    Ok(true) => {
                        self.fire(p, rule, node);
                        break;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        if !errored[ri] {
                            errored[ri] = true;
                            let label = rule_label(p, rule);
                            self.processing_error(&label, None, crate::xpath::tree::DOCUMENT, &e);
                        }
                    }
                }
                if self.out_of_budget {
                    return;
                }
            }
        }
    }

    fn fire(&mut self, p: &CompiledPattern, rule: &Rule, node: NodeId) {
        self.report.fired += 1;
        let depth = self.ev.variable_depth();
        for l in &rule.lets {
            match self.ev.evaluate(l, node) {
                Ok(v) => self.ev.push_variable(v),
                Err(e) => {
                    let label = rule_label(p, rule);
                    self.processing_error(&label, None, node, &e);
                    self.ev.truncate_variables(depth);
                    return;
                }
            }
        }
        for check in &rule.checks {
            // Built only for a finding: most checks pass on most nodes.
            let label = || check.id.clone().unwrap_or_else(|| rule_label(p, rule));
            match self.ev.test(&check.test, node) {
                Ok(result) => {
                    if result == check.report {
                        let label = label();
                        let severity = self
                            .overrides
                            .get(&label)
                            .copied()
                            .unwrap_or(check.severity);
                        let message = self.render(&check.message, node);
                        let diagnostics = check
                            .diagnostics
                            .iter()
                            .map(|d| self.render(d, node))
                            .collect();
                        let (line, column, path) = self.location(node);
                        self.push(Finding {
                            rule: label,
                            severity,
                            kind: if check.report {
                                FindingKind::SuccessfulReport
                            } else {
                                FindingKind::FailedAssert
                            },
                            line,
                            column,
                            path,
                            message,
                            test: check.test.source().to_owned(),
                            diagnostics,
                        });
                    }
                }
                Err(e) => self.processing_error(&label(), Some(check.severity), node, &e),
            }
            if self.out_of_budget {
                break;
            }
        }
        self.ev.truncate_variables(depth);
    }

    fn render(&mut self, parts: &[Part], node: NodeId) -> String {
        let mut out = String::new();
        for part in parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::ValueOf(e) => {
                    if self.options.show_values {
                        match self.ev.string(e, node) {
                            Ok(s) => out.push_str(&s),
                            Err(e) => out.push_str(&format!("[{}]", e.code)),
                        }
                    } else {
                        out.push_str("[…]");
                    }
                }
                Part::Name(None) => out.push_str(&self.ev.tree().qualified_name(node)),
                Part::Name(Some(e)) => match self.ev.evaluate(e, node) {
                    Ok(seq) => {
                        if let Some(crate::xpath::Item::Node(n)) = seq.first() {
                            out.push_str(&self.ev.tree().qualified_name(*n));
                        }
                    }
                    Err(e) => out.push_str(&format!("[{}]", e.code)),
                },
            }
        }
        // Rule texts are indented in their files: one line, single spaces.
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

fn rule_label(p: &CompiledPattern, r: &Rule) -> String {
    r.id.clone()
        .or_else(|| p.id.clone())
        .unwrap_or_else(|| format!("rule {}", r.context.source()))
}

#[cfg(test)]
mod tests;
