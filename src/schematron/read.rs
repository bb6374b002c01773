//! Reading an ISO Schematron document (`http://purl.oclc.org/dsdl/schematron`) into its parts,
//! before anything is compiled: includes resolved, abstract patterns instantiated, abstract
//! rules kept for `extends`. The file is parsed with the bounded reader into a [`Tree`], like
//! any untrusted XML.

use std::collections::HashMap;

use super::SchemaError;
use crate::config::XmlLimits;
use crate::xpath::{NodeId, NodeKind, Tree, TreeLimits};

/// The ISO Schematron namespace.
pub const SCH_NS: &str = "http://purl.oclc.org/dsdl/schematron";

/// `sch:include` nesting.
const MAX_INCLUDE_DEPTH: usize = 16;

/// One piece of a message (assert/report text, diagnostic).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawPart {
    Text(String),
    ValueOf(String),
    /// `sch:name` with its optional `path`.
    Name(Option<String>),
}

#[derive(Debug, Clone)]
pub(crate) struct RawCheck {
    pub report: bool,
    pub id: Option<String>,
    pub test: String,
    pub role: Option<String>,
    pub flag: Option<String>,
    pub diagnostics: Vec<String>,
    pub message: Vec<RawPart>,
}

#[derive(Debug, Clone)]
pub(crate) enum RawRuleItem {
    Let(String, String),
    Check(RawCheck),
    Extends(String),
}

#[derive(Debug, Clone)]
pub(crate) struct RawRule {
    pub id: Option<String>,
    pub context: Option<String>,
    pub is_abstract: bool,
    pub role: Option<String>,
    pub flag: Option<String>,
    pub items: Vec<RawRuleItem>,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RawPattern {
    pub id: Option<String>,
    pub lets: Vec<(String, String)>,
    pub rules: Vec<RawRule>,
}

/// A phase: its id, the ids of its active patterns and its own lets (name, expression).
pub(crate) type RawPhase = (String, Vec<String>, Vec<(String, String)>);

#[derive(Debug, Clone, Default)]
pub(crate) struct RawSchema {
    pub query_binding: Option<String>,
    pub default_phase: Option<String>,
    pub namespaces: Vec<(String, String)>,
    pub lets: Vec<(String, String)>,
    pub patterns: Vec<RawPattern>,
    /// phase id → active pattern ids (and the phase's own lets).
    pub phases: Vec<RawPhase>,
    pub diagnostics: HashMap<String, Vec<RawPart>>,
}

/// Loads included files: `href` → bytes (offline, from the pack), or `None`.
pub type Resolver<'a> = &'a dyn Fn(&str) -> Option<Vec<u8>>;

struct Reader<'a> {
    resolve: Resolver<'a>,
    xml: XmlLimits,
    file: String,
    errors: Vec<SchemaError>,
    /// Abstract patterns by id: (source tree, pattern node).
    abstract_patterns: Vec<(String, Tree, NodeId)>,
}

pub(crate) fn read(
    main: &[u8],
    file: &str,
    resolve: Resolver<'_>,
    xml: &XmlLimits,
) -> Result<RawSchema, Vec<SchemaError>> {
    let mut r = Reader {
        resolve,
        xml: xml.clone(),
        file: file.to_owned(),
        errors: Vec::new(),
        abstract_patterns: Vec::new(),
    };
    let tree = r.parse(main)?;
    let Some(root) = tree.root_element() else {
        return Err(vec![r.error(&tree, 0, "no root element")]);
    };
    if tree.namespace(root) != SCH_NS || tree.local_name(root) != "schema" {
        return Err(vec![r.error(
            &tree,
            root,
            "the root element is not sch:schema (namespace http://purl.oclc.org/dsdl/schematron)",
        )]);
    }
    let mut schema = RawSchema {
        query_binding: attr(&tree, root, "queryBinding"),
        default_phase: attr(&tree, root, "defaultPhase"),
        ..RawSchema::default()
    };
    let mut concrete = Vec::new();
    r.schema_children(&tree, root, &mut schema, &mut concrete, 0);
    // Abstract patterns are instantiated after all of them are known.
    for (pattern_tree, node, params) in concrete {
        match params {
            None => {
                let p = r.pattern(&pattern_tree, node, &HashMap::new());
                schema.patterns.push(p);
            }
            Some((is_a, params)) => {
                let Some(i) = r.abstract_patterns.iter().position(|(id, ..)| *id == is_a) else {
                    let e = r.error(
                        &pattern_tree,
                        node,
                        &format!("is-a names no abstract pattern: {is_a}"),
                    );
                    r.errors.push(e);
                    continue;
                };
                let (_, abs_tree, abs_node) = &r.abstract_patterns[i];
                let (abs_tree, abs_node) = (abs_tree.clone(), *abs_node);
                let mut p = r.pattern(&abs_tree, abs_node, &params);
                p.id = attr(&pattern_tree, node, "id");
                schema.patterns.push(p);
            }
        }
    }
    if r.errors.is_empty() {
        Ok(schema)
    } else {
        Err(r.errors)
    }
}

type PatternRef = (Tree, NodeId, Option<(String, HashMap<String, String>)>);

fn attr(t: &Tree, n: NodeId, name: &str) -> Option<String> {
    t.attributes(n)
        .find(|&a| t.namespace(a).is_empty() && t.local_name(a) == name)
        .map(|a| t.own_text(a).to_owned())
}

fn sch_children(t: &Tree, n: NodeId) -> impl Iterator<Item = NodeId> + '_ {
    t.children(n)
        .filter(move |&c| t.kind(c) == NodeKind::Element && t.namespace(c) == SCH_NS)
}

/// Replaces `$name` by the parameter's value (abstract patterns; longest names first so that
/// `$ab` is not taken for `$a` followed by `b`).
fn substitute(text: &str, params: &HashMap<String, String>) -> String {
    if params.is_empty() {
        return text.to_owned();
    }
    let mut names: Vec<&String> = params.keys().collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        match names.iter().find(|n| {
            after.starts_with(n.as_str())
                && !after[n.len()..]
                    .chars()
                    .next()
                    .is_some_and(crate::xml::chars::is_name_char)
        }) {
            Some(n) => {
                out.push_str(&params[n.as_str()]);
                rest = &after[n.len()..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

impl Reader<'_> {
    fn parse(&mut self, bytes: &[u8]) -> Result<Tree, Vec<SchemaError>> {
        Tree::parse(
            bytes,
            &self.xml,
            TreeLimits {
                max_nodes: 1_000_000,
            },
        )
        .map_err(|e| {
            let (line, column) = match &e {
                crate::xpath::TreeError::Xml(x) => (x.pos.line, x.pos.column),
                _ => (0, 0),
            };
            vec![SchemaError {
                file: self.file.clone(),
                line,
                column,
                message: e.to_string(),
            }]
        })
    }

    fn error(&self, t: &Tree, n: NodeId, message: &str) -> SchemaError {
        let p = t.position(n);
        SchemaError {
            file: self.file.clone(),
            line: p.line,
            column: p.column,
            message: message.to_owned(),
        }
    }

    fn push_error(&mut self, t: &Tree, n: NodeId, message: &str) {
        let e = self.error(t, n, message);
        self.errors.push(e);
    }

    fn schema_children(
        &mut self,
        t: &Tree,
        n: NodeId,
        schema: &mut RawSchema,
        patterns: &mut Vec<PatternRef>,
        depth: usize,
    ) {
        for c in sch_children(t, n).collect::<Vec<_>>() {
            match t.local_name(c) {
                "ns" => match (attr(t, c, "prefix"), attr(t, c, "uri")) {
                    (Some(p), Some(u)) => schema.namespaces.push((p, u)),
                    _ => self.push_error(t, c, "sch:ns needs prefix and uri"),
                },
                "let" => {
                    if let Some(l) = self.let_binding(t, c) {
                        schema.lets.push(l);
                    }
                }
                "pattern" => {
                    if attr(t, c, "abstract").as_deref() == Some("true") {
                        match attr(t, c, "id") {
                            Some(id) => self.abstract_patterns.push((id, t.clone(), c)),
                            None => self.push_error(t, c, "an abstract pattern needs an id"),
                        }
                    } else if let Some(is_a) = attr(t, c, "is-a") {
                        let params: HashMap<String, String> = sch_children(t, c)
                            .filter(|&p| t.local_name(p) == "param")
                            .filter_map(|p| Some((attr(t, p, "name")?, attr(t, p, "value")?)))
                            .collect();
                        patterns.push((t.clone(), c, Some((is_a, params))));
                    } else {
                        patterns.push((t.clone(), c, None));
                    }
                }
                "phase" => {
                    let Some(id) = attr(t, c, "id") else {
                        self.push_error(t, c, "sch:phase needs an id");
                        continue;
                    };
                    let active = sch_children(t, c)
                        .filter(|&a| t.local_name(a) == "active")
                        .filter_map(|a| attr(t, a, "pattern"))
                        .collect();
                    let lets = sch_children(t, c)
                        .filter(|&a| t.local_name(a) == "let")
                        .collect::<Vec<_>>()
                        .into_iter()
                        .filter_map(|a| self.let_binding(t, a))
                        .collect();
                    schema.phases.push((id, active, lets));
                }
                "diagnostics" => {
                    for d in sch_children(t, c).collect::<Vec<_>>() {
                        if t.local_name(d) == "diagnostic"
                            && let Some(id) = attr(t, d, "id")
                        {
                            let msg = self.message(t, d);
                            schema.diagnostics.insert(id, msg);
                        }
                    }
                }
                "include" => self.include(t, c, schema, patterns, depth),
                // Documentation and metadata elements.
                "title" | "p" | "properties" => {}
                other => {
                    let m = format!("sch:{other} is not supported at schema level");
                    self.push_error(t, c, &m);
                }
            }
        }
    }

    fn include(
        &mut self,
        t: &Tree,
        c: NodeId,
        schema: &mut RawSchema,
        patterns: &mut Vec<PatternRef>,
        depth: usize,
    ) {
        let Some(href) = attr(t, c, "href") else {
            self.push_error(t, c, "sch:include needs href");
            return;
        };
        if depth >= MAX_INCLUDE_DEPTH {
            self.push_error(t, c, "sch:include nested too deeply");
            return;
        }
        let Some(bytes) = (self.resolve)(&href) else {
            self.push_error(t, c, &format!("included file not found (offline): {href}"));
            return;
        };
        let Ok(inc) = self.parse(&bytes) else {
            self.push_error(t, c, &format!("included file is not well-formed: {href}"));
            return;
        };
        let Some(root) = inc.root_element() else {
            return;
        };
        if inc.namespace(root) != SCH_NS {
            self.push_error(t, c, "an included file must be a Schematron element");
            return;
        }
        // An included element takes the place of the include.
        match inc.local_name(root) {
            "schema" => self.schema_children(&inc, root, schema, patterns, depth + 1),
            "pattern" => patterns.push((inc.clone(), root, None)),
            "diagnostics" | "phase" | "let" | "ns" => {
                // Wrap: treat the root as a child list of a schema.
                let parent = inc.parent(root).unwrap_or(0);
                self.schema_children(&inc, parent, schema, patterns, depth + 1);
            }
            other => {
                let m = format!("sch:include of sch:{other} is not supported");
                self.push_error(t, c, &m);
            }
        }
    }

    fn let_binding(&mut self, t: &Tree, n: NodeId) -> Option<(String, String)> {
        match (attr(t, n, "name"), attr(t, n, "value")) {
            (Some(name), Some(value)) => Some((name, value)),
            _ => {
                self.push_error(t, n, "sch:let needs name and value");
                None
            }
        }
    }

    fn pattern(&mut self, t: &Tree, n: NodeId, params: &HashMap<String, String>) -> RawPattern {
        let mut p = RawPattern {
            id: attr(t, n, "id"),
            ..RawPattern::default()
        };
        for c in sch_children(t, n).collect::<Vec<_>>() {
            match t.local_name(c) {
                "let" => {
                    if let Some((name, value)) = self.let_binding(t, c) {
                        p.lets.push((name, substitute(&value, params)));
                    }
                }
                "rule" => {
                    let r = self.rule(t, c, params);
                    p.rules.push(r);
                }
                "include" => {
                    let Some(href) = attr(t, c, "href") else {
                        self.push_error(t, c, "sch:include needs href");
                        continue;
                    };
                    let included = (self.resolve)(&href).and_then(|b| self.parse(&b).ok());
                    match included {
                        Some(inc) => {
                            if let Some(root) = inc.root_element()
                                && inc.namespace(root) == SCH_NS
                                && inc.local_name(root) == "rule"
                            {
                                let r = self.rule(&inc, root, params);
                                p.rules.push(r);
                            } else {
                                self.push_error(
                                    t,
                                    c,
                                    "an included file in a pattern must be a sch:rule",
                                );
                            }
                        }
                        None => self.push_error(
                            t,
                            c,
                            &format!("included file not found (offline): {href}"),
                        ),
                    }
                }
                "title" | "p" | "param" => {}
                other => {
                    let m = format!("sch:{other} is not supported in a pattern");
                    self.push_error(t, c, &m);
                }
            }
        }
        p
    }

    fn rule(&mut self, t: &Tree, n: NodeId, params: &HashMap<String, String>) -> RawRule {
        let is_abstract = attr(t, n, "abstract").as_deref() == Some("true");
        let context = attr(t, n, "context").map(|c| substitute(&c, params));
        if context.is_none() && !is_abstract {
            self.push_error(t, n, "a rule needs a context");
        }
        let mut items = Vec::new();
        for c in sch_children(t, n).collect::<Vec<_>>() {
            match t.local_name(c) {
                "let" => {
                    if let Some((name, value)) = self.let_binding(t, c) {
                        items.push(RawRuleItem::Let(name, substitute(&value, params)));
                    }
                }
                "assert" | "report" => {
                    let Some(test) = attr(t, c, "test") else {
                        self.push_error(t, c, "assert/report needs a test");
                        continue;
                    };
                    items.push(RawRuleItem::Check(RawCheck {
                        report: t.local_name(c) == "report",
                        id: attr(t, c, "id"),
                        test: substitute(&test, params),
                        role: attr(t, c, "role"),
                        flag: attr(t, c, "flag"),
                        diagnostics: attr(t, c, "diagnostics")
                            .map(|d| d.split_whitespace().map(str::to_owned).collect())
                            .unwrap_or_default(),
                        message: self.message(t, c),
                    }));
                }
                "extends" => match attr(t, c, "rule") {
                    Some(r) => items.push(RawRuleItem::Extends(r)),
                    None => self.push_error(t, c, "sch:extends needs rule (href is not supported)"),
                },
                "title" | "p" => {}
                other => {
                    let m = format!("sch:{other} is not supported in a rule");
                    self.push_error(t, c, &m);
                }
            }
        }
        RawRule {
            id: attr(t, n, "id"),
            context,
            is_abstract,
            role: attr(t, n, "role"),
            flag: attr(t, n, "flag"),
            items,
        }
    }

    /// The mixed content of an assert, report or diagnostic.
    fn message(&mut self, t: &Tree, n: NodeId) -> Vec<RawPart> {
        let mut parts = Vec::new();
        self.message_into(t, n, &mut parts);
        parts
    }

    fn message_into(&mut self, t: &Tree, n: NodeId, parts: &mut Vec<RawPart>) {
        for c in t.children(n).collect::<Vec<_>>() {
            match t.kind(c) {
                NodeKind::Text => parts.push(RawPart::Text(t.own_text(c).to_owned())),
                NodeKind::Element if t.namespace(c) == SCH_NS => match t.local_name(c) {
                    "value-of" => match attr(t, c, "select") {
                        Some(s) => parts.push(RawPart::ValueOf(s)),
                        None => self.push_error(t, c, "sch:value-of needs select"),
                    },
                    "name" => parts.push(RawPart::Name(attr(t, c, "path"))),
                    // Formatting elements keep their text.
                    _ => self.message_into(t, c, parts),
                },
                // Foreign elements (e.g. XHTML) keep their text.
                NodeKind::Element => self.message_into(t, c, parts),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abstract_pattern_parameters_are_substituted_whole_names_only() {
        let params: HashMap<String, String> = [
            ("a".to_owned(), "x:a".to_owned()),
            ("ab".to_owned(), "x:ab".to_owned()),
        ]
        .into();
        assert_eq!(substitute("$a/$ab = $abc", &params), "x:a/x:ab = $abc");
    }
}
