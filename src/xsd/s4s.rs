//! The schema for schemas, as far as assembly does not check it already: which attributes and
//! children each XSD element may have in its context, the lexical form of the attribute values,
//! and the co-occurrence rules (`name` vs `ref`, `type` vs inline type, …). Runs per document
//! before assembly, so that malformed schemas are rejected with a precise position.

use std::collections::HashSet;

use super::datatypes::uri::is_any_uri;
use super::datatypes::whitespace::trim;
use super::error::SchemaError;
use super::schema_doc::{SNode, SchemaDoc};
use crate::xml::chars::is_whitespace;

const FACETS: [&str; 12] = [
    "length",
    "minLength",
    "maxLength",
    "pattern",
    "enumeration",
    "whiteSpace",
    "maxInclusive",
    "maxExclusive",
    "minInclusive",
    "minExclusive",
    "totalDigits",
    "fractionDigits",
];
const PARTICLES: [&str; 4] = ["group", "all", "choice", "sequence"];
const ATTR_DECLS: [&str; 2] = ["attribute", "attributeGroup"];
/// `xs:anyAttribute` comes after every attribute and attribute group reference.
const ANY_ATTR: [&str; 1] = ["anyAttribute"];

/// Where an element occurs, which decides its allowed attributes and children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    Local,
}

struct Rule {
    attrs: &'static [&'static str],
    required: &'static [&'static str],
    /// Allowed children, in the order they must appear (groups of alternatives).
    children: &'static [&'static [&'static str]],
}

fn rule(kind: &str, parent: &str, ctx: Ctx, node: &SNode) -> Option<Rule> {
    const NONE: &[&[&str]] = &[];
    let r = |attrs, required, children| {
        Some(Rule {
            attrs,
            required,
            children,
        })
    };
    match (kind, ctx) {
        ("annotation", _) => r(&["id"], &[], NONE),
        ("schema", _) => r(
            &[
                "attributeFormDefault",
                "blockDefault",
                "elementFormDefault",
                "finalDefault",
                "targetNamespace",
                "version",
                "id",
            ],
            &[],
            // include, import and redefine come before every declaration and definition
            // (`schema` in the schema for schemas); annotations may come anywhere.
            &[
                &["include", "import", "redefine"],
                &[
                    "simpleType",
                    "complexType",
                    "group",
                    "attributeGroup",
                    "element",
                    "attribute",
                    "notation",
                ],
            ],
        ),
        ("include", Ctx::Top) => r(&["schemaLocation", "id"], &["schemaLocation"], NONE),
        ("import", Ctx::Top) => r(&["namespace", "schemaLocation", "id"], &[], NONE),
        ("redefine", Ctx::Top) => r(
            &["schemaLocation", "id"],
            &["schemaLocation"],
            &[&["simpleType", "complexType", "group", "attributeGroup"]],
        ),
        ("notation", Ctx::Top) => r(&["name", "public", "system", "id"], &["name"], NONE),
        ("element", Ctx::Top) => r(
            &[
                "name",
                "type",
                "substitutionGroup",
                "default",
                "fixed",
                "nillable",
                "abstract",
                "final",
                "block",
                "id",
            ],
            &["name"],
            &[&["simpleType", "complexType"], &["unique", "key", "keyref"]],
        ),
        ("element", Ctx::Local) if node.attr("ref").is_some() => {
            r(&["ref", "minOccurs", "maxOccurs", "id"], &[], NONE)
        }
        ("element", Ctx::Local) => r(
            &[
                "name",
                "type",
                "minOccurs",
                "maxOccurs",
                "default",
                "fixed",
                "nillable",
                "block",
                "form",
                "id",
            ],
            &["name"],
            &[&["simpleType", "complexType"], &["unique", "key", "keyref"]],
        ),
        ("attribute", Ctx::Top) => r(
            &["name", "type", "default", "fixed", "id"],
            &["name"],
            &[&["simpleType"]],
        ),
        ("attribute", Ctx::Local) if node.attr("ref").is_some() => {
            r(&["ref", "use", "default", "fixed", "id"], &[], NONE)
        }
        ("attribute", Ctx::Local) => r(
            &["name", "type", "use", "default", "fixed", "form", "id"],
            &["name"],
            &[&["simpleType"]],
        ),
        ("complexType", _) => r(
            if ctx == Ctx::Top {
                &["name", "mixed", "abstract", "final", "block", "id"]
            } else {
                &["mixed", "id"]
            },
            if ctx == Ctx::Top { &["name"] } else { &[] },
            &[
                &[
                    "simpleContent",
                    "complexContent",
                    "group",
                    "all",
                    "choice",
                    "sequence",
                ],
                &ATTR_DECLS,
                &ANY_ATTR,
            ],
        ),
        ("simpleContent", _) => r(&["id"], &[], &[&["restriction", "extension"]]),
        ("complexContent", _) => r(&["mixed", "id"], &[], &[&["restriction", "extension"]]),
        ("restriction", _) if parent == "simpleContent" => r(
            &["base", "id"],
            &["base"],
            &[&["simpleType"], &FACETS, &ATTR_DECLS, &ANY_ATTR],
        ),
        ("extension", _) if parent == "simpleContent" => {
            r(&["base", "id"], &["base"], &[&ATTR_DECLS, &ANY_ATTR])
        }
        ("restriction" | "extension", _) if parent == "complexContent" => r(
            &["base", "id"],
            &["base"],
            &[&PARTICLES, &ATTR_DECLS, &ANY_ATTR],
        ),
        ("restriction", _) => r(&["base", "id"], &[], &[&["simpleType"], &FACETS]),
        ("simpleType", _) => r(
            if ctx == Ctx::Top {
                &["name", "final", "id"]
            } else {
                &["id"]
            },
            if ctx == Ctx::Top { &["name"] } else { &[] },
            &[&["restriction", "list", "union"]],
        ),
        ("list", _) => r(&["itemType", "id"], &[], &[&["simpleType"]]),
        ("union", _) => r(&["memberTypes", "id"], &[], &[&["simpleType"]]),
        ("group", Ctx::Top) => r(
            &["name", "id"],
            &["name"],
            &[&["all", "choice", "sequence"]],
        ),
        ("group", Ctx::Local) => r(&["ref", "minOccurs", "maxOccurs", "id"], &["ref"], NONE),
        ("attributeGroup", Ctx::Top) => r(&["name", "id"], &["name"], &[&ATTR_DECLS, &ANY_ATTR]),
        ("attributeGroup", Ctx::Local) => r(&["ref", "id"], &["ref"], NONE),
        // The model group of a named xs:group has no occurrence attributes (XSD 1.0 §3.7.2,
        // `namedGroup` in the schema for schemas): the reference carries them.
        ("sequence" | "choice", Ctx::Local) if parent == "group" => r(
            &["id"],
            &[],
            &[&["element", "group", "choice", "sequence", "any"]],
        ),
        ("all", Ctx::Local) if parent == "group" => r(&["id"], &[], &[&["element"]]),
        ("sequence" | "choice", Ctx::Local) => r(
            &["minOccurs", "maxOccurs", "id"],
            &[],
            &[&["element", "group", "choice", "sequence", "any"]],
        ),
        ("all", Ctx::Local) => r(&["minOccurs", "maxOccurs", "id"], &[], &[&["element"]]),
        ("any", Ctx::Local) => r(
            &[
                "namespace",
                "processContents",
                "minOccurs",
                "maxOccurs",
                "id",
            ],
            &[],
            NONE,
        ),
        ("anyAttribute", Ctx::Local) => r(&["namespace", "processContents", "id"], &[], NONE),
        ("unique" | "key", Ctx::Local) => {
            r(&["name", "id"], &["name"], &[&["selector"], &["field"]])
        }
        ("keyref", Ctx::Local) => r(
            &["name", "refer", "id"],
            &["name", "refer"],
            &[&["selector"], &["field"]],
        ),
        ("selector" | "field", Ctx::Local) => r(&["xpath", "id"], &["xpath"], NONE),
        (f, Ctx::Local) if FACETS.contains(&f) => {
            if matches!(f, "pattern" | "enumeration") {
                r(&["value", "id"], &["value"], NONE)
            } else {
                r(&["value", "fixed", "id"], &["value"], NONE)
            }
        }
        _ => None,
    }
}

/// Checks one schema document; returns every violation found.
pub(crate) fn check(doc: &SchemaDoc) -> Vec<SchemaError> {
    let mut errors = Vec::new();
    for (line, column, name) in &doc.foreign {
        errors.push(SchemaError {
            file: doc.path.clone(),
            line: *line,
            column: *column,
            message: format!("element {name} is not allowed outside xs:annotation"),
        });
    }
    let mut ids = HashSet::new();
    walk(doc, 0, "", Ctx::Top, &mut ids, &mut errors);
    check_imported(doc, &mut errors);
    errors
}

/// src-resolve 4: a QName may only name a component of the document's own target namespace,
/// of the XSD namespace, or of a namespace this document imports.
fn check_imported(doc: &SchemaDoc, errors: &mut Vec<SchemaError>) {
    let mut allowed: Vec<&str> = vec![doc.target_ns.as_str(), super::schema_doc::XS_NS];
    for n in doc.top_level() {
        let node = &doc.nodes[n as usize];
        if &*node.kind == "import" {
            allowed.push(node.attr("namespace").unwrap_or(""));
        }
    }
    for (i, node) in doc.nodes.iter().enumerate() {
        for (name, value) in &node.attrs {
            if !matches!(
                &**name,
                "type"
                    | "base"
                    | "ref"
                    | "substitutionGroup"
                    | "itemType"
                    | "memberTypes"
                    | "refer"
            ) {
                continue;
            }
            for clark in value.split(' ').filter(|v| v.starts_with('{')) {
                let (ns, _) = super::schema_doc::split_clark(clark);
                if !allowed.contains(&ns) {
                    let n = u32::try_from(i).expect("bounded");
                    errors.push(doc.error(
                        n,
                        format!(
                            "{name} refers to namespace '{ns}', which this document does not import"
                        ),
                    ));
                }
            }
        }
    }
}

fn walk<'d>(
    doc: &'d SchemaDoc,
    n: u32,
    parent: &str,
    ctx: Ctx,
    ids: &mut HashSet<&'d str>,
    errors: &mut Vec<SchemaError>,
) {
    let node = &doc.nodes[n as usize];
    let kind = &*node.kind;
    let mut err = |m: String| errors.push(doc.error(n, m));
    let Some(r) = rule(kind, parent, ctx, node) else {
        err(format!("xs:{kind} is not allowed in xs:{parent}"));
        return;
    };
    for (name, value) in &node.attrs {
        if !r.attrs.contains(&&**name) {
            err(format!("attribute '{name}' is not allowed on xs:{kind}"));
            continue;
        }
        if let Err(m) = check_value(kind, name, value) {
            err(format!("xs:{kind}/@{name}: {m}"));
        }
        if &**name == "id" && !ids.insert(value) {
            err(format!("duplicate id '{value}'"));
        }
    }
    for req in r.required {
        if node.attr(req).is_none() {
            err(format!("xs:{kind} requires attribute '{req}'"));
        }
    }
    co_occurrence(kind, ctx, node, doc, &mut err);
    // Children in order: each group of alternatives may follow the previous ones; one
    // annotation may come first (in schema and redefine: annotations anywhere).
    let mut stage = 0usize;
    let mut misplaced = Vec::new();
    let mut counts = vec![0usize; r.children.len()];
    for (pos, &c) in node.children.iter().enumerate() {
        let ck = &*doc.nodes[c as usize].kind;
        if ck == "annotation" {
            if pos > 0 && !matches!(kind, "schema" | "redefine") {
                err(format!(
                    "xs:annotation must be the first child of xs:{kind}, and only one"
                ));
            }
            continue;
        }
        match r
            .children
            .iter()
            .enumerate()
            .skip(stage)
            .find(|(_, g)| g.contains(&ck))
        {
            Some((i, _)) => {
                stage = i;
                counts[i] += 1;
            }
            None => {
                if kind == "schema" && matches!(ck, "include" | "import" | "redefine") {
                    // Reported at the misplaced child, not at xs:schema.
                    misplaced.push(doc.error(
                        c,
                        format!(
                            "xs:{ck} is out of order in xs:schema: include, import and \
                             redefine come before every declaration and definition"
                        ),
                    ));
                } else if r.children.iter().any(|g| g.contains(&ck)) {
                    err(format!("xs:{ck} is out of order in xs:{kind}"));
                } else {
                    err(format!("xs:{ck} is not allowed in xs:{kind}"));
                }
            }
        }
    }
    single_children(kind, parent, node, doc, &counts, &mut err);
    if kind == "complexType"
        && node.children.iter().any(|&c| {
            matches!(
                &*doc.nodes[c as usize].kind,
                "simpleContent" | "complexContent"
            )
        })
        && node
            .children
            .iter()
            .filter(|&&c| &*doc.nodes[c as usize].kind != "annotation")
            .count()
            > 1
    {
        err("xs:complexType with simpleContent or complexContent has no other children".into());
    }
    errors.append(&mut misplaced);
    let child_ctx = if matches!(kind, "schema" | "redefine") {
        Ctx::Top
    } else {
        Ctx::Local
    };
    for &c in &node.children {
        walk(doc, c, kind, child_ctx, ids, errors);
    }
}

fn single_children(
    kind: &str,
    parent: &str,
    node: &SNode,
    doc: &SchemaDoc,
    counts: &[usize],
    err: &mut dyn FnMut(String),
) {
    let count = |k: &str| {
        node.children
            .iter()
            .filter(|&&c| &*doc.nodes[c as usize].kind == k)
            .count()
    };
    let at_most_one: &[&str] = match kind {
        "element" => &["simpleType", "complexType"],
        "attribute" | "list" => &["simpleType"],
        "complexType" => &[
            "simpleContent",
            "complexContent",
            "group",
            "all",
            "choice",
            "sequence",
            "anyAttribute",
        ],
        "restriction" | "extension" => &[
            "simpleType",
            "group",
            "all",
            "choice",
            "sequence",
            "anyAttribute",
        ],
        "simpleContent" | "complexContent" | "simpleType" => {
            &["restriction", "extension", "list", "union"]
        }
        "group" | "unique" | "key" | "keyref" => &["all", "choice", "sequence", "selector"],
        _ => &[],
    };
    let total: usize = at_most_one
        .iter()
        .filter(|k| !matches!(**k, "anyAttribute" | "simpleType"))
        .map(|k| count(k))
        .sum();
    if total > 1 || at_most_one.iter().any(|k| count(k) > 1) {
        err(format!(
            "xs:{kind} has more than one of {}",
            at_most_one.join("/")
        ));
    }
    if matches!(
        kind,
        "simpleContent" | "complexContent" | "simpleType" | "unique" | "key" | "keyref"
    ) && total == 0
    {
        err(format!("xs:{kind} lacks its required child"));
    }
    if matches!(kind, "group")
        && doc.nodes[0].children.iter().any(|_| true)
        && node.attr("name").is_some()
        && total == 0
    {
        err("named xs:group needs a model group".into());
    }
    if matches!(kind, "unique" | "key" | "keyref") && count("field") == 0 {
        err(format!("xs:{kind} needs at least one xs:field"));
    }
    if kind == "complexType" && count("anyAttribute") > 0 {
        // anyAttribute must be last: already ordered by the rule; nothing more here.
    }
    if kind == "restriction" && parent != "simpleContent" && parent != "complexContent" {
        let has_base = node.attr("base").is_some();
        let has_inline = count("simpleType") > 0;
        if has_base == has_inline {
            err("xs:restriction needs either a base attribute or an inline xs:simpleType".into());
        }
    }
    if kind == "list" && node.attr("itemType").is_some() && count("simpleType") > 0 {
        err(
            "xs:list has both an itemType attribute and an inline xs:simpleType \
             (src-simple-type.3: one or the other)"
                .into(),
        );
    }
    let _ = counts;
}

fn co_occurrence(kind: &str, ctx: Ctx, node: &SNode, doc: &SchemaDoc, err: &mut dyn FnMut(String)) {
    let has = |a: &str| node.attr(a).is_some();
    let child = |k: &str| {
        node.children
            .iter()
            .any(|&c| &*doc.nodes[c as usize].kind == k)
    };
    match kind {
        "element" | "attribute" => {
            if has("default") && has("fixed") {
                err(format!("xs:{kind} has both default and fixed"));
            }
            if has("type") && (child("simpleType") || child("complexType")) {
                err(format!(
                    "xs:{kind} has both a type attribute and an inline type"
                ));
            }
            if ctx == Ctx::Local
                && has("ref")
                && node
                    .children
                    .iter()
                    .any(|&c| &*doc.nodes[c as usize].kind != "annotation")
            {
                err(format!(
                    "xs:{kind} with ref cannot have children other than annotation"
                ));
            }
            if kind == "attribute" {
                if has("default") && node.attr("use").is_some_and(|u| u.trim() != "optional") {
                    err("attribute with a default must have use=\"optional\"".into());
                }
                if node.attr("name") == Some("xmlns") {
                    err("attribute must not be named xmlns".into());
                }
                // no-xsi: only declarations whose target namespace is the xsi namespace
                // (global ones, qualified local ones).
                let qualified = ctx == Ctx::Top
                    || match node.attr("form") {
                        Some(f) => f.trim() == "qualified",
                        None => doc.attribute_qualified,
                    };
                if doc.target_ns == "http://www.w3.org/2001/XMLSchema-instance"
                    && qualified
                    && !has("ref")
                {
                    err("attributes cannot be declared in the xsi namespace".into());
                }
            }
        }
        "schema" if node.attr("targetNamespace").is_some_and(is_whitespace) => {
            err(
                "xs:schema/@targetNamespace is empty: the empty string is not a namespace \
                 name (leave the attribute out for no namespace)"
                    .into(),
            );
        }
        // A notation names something: a public identifier, a system identifier or both (the
        // first edition required `public`; the second made it optional, as W3C errC004 with
        // `system` alone shows, and notatB001 with neither is invalid).
        "notation" if node.attr("public").is_none() && node.attr("system").is_none() => {
            err("xs:notation needs a public or a system attribute".into());
        }
        "import" => {
            if node.attr("namespace") == Some(doc.target_ns.as_str()) {
                err("xs:import of the document's own target namespace".into());
            }
            if node.attr("namespace").is_none() && doc.target_ns.is_empty() {
                err("xs:import without namespace in a document without target namespace".into());
            }
        }
        "all" => {
            if node
                .attr("minOccurs")
                .is_some_and(|v| !matches!(v.trim(), "0" | "1"))
            {
                err("xs:all must have minOccurs 0 or 1".into());
            }
            if node.attr("maxOccurs").is_some_and(|v| v.trim() != "1") {
                err("xs:all must have maxOccurs 1".into());
            }
        }
        _ => {}
    }
    if let (Some(min), Some(max)) = (node.attr("minOccurs"), node.attr("maxOccurs"))
        && let (Ok(min), Ok(max)) = (min.trim().parse::<u64>(), max.trim().parse::<u64>())
        && min > max
    {
        err(format!("minOccurs {min} is greater than maxOccurs {max}"));
    }
}

fn check_value(kind: &str, name: &str, value: &str) -> Result<(), String> {
    // Whitespace collapse of the schema-for-schemas types.
    let v = trim(value);
    let one_of = |allowed: &[&str]| {
        if allowed.contains(&v) {
            Ok(())
        } else {
            Err(format!("'{v}' is not one of {}", allowed.join(", ")))
        }
    };
    let tokens = |allowed: &[&str]| {
        if v == "#all" || v.split_ascii_whitespace().all(|t| allowed.contains(&t)) {
            Ok(())
        } else {
            Err(format!(
                "'{v}' is not #all or a list of {}",
                allowed.join(", ")
            ))
        }
    };
    match name {
        "abstract" | "nillable" | "mixed" => one_of(&["true", "false", "1", "0"]),
        "fixed" if FACETS.contains(&kind) => one_of(&["true", "false", "1", "0"]),
        "form" | "elementFormDefault" | "attributeFormDefault" => {
            one_of(&["qualified", "unqualified"])
        }
        "use" => one_of(&["optional", "required", "prohibited"]),
        "processContents" => one_of(&["strict", "lax", "skip"]),
        "minOccurs" => nonneg(v),
        "maxOccurs" => {
            if v == "unbounded" {
                Ok(())
            } else {
                nonneg(v)
            }
        }
        "name" => ncname(v),
        "block" if kind == "element" => tokens(&["extension", "restriction", "substitution"]),
        "block" | "final" if kind == "complexType" => tokens(&["extension", "restriction"]),
        "final" if kind == "element" => tokens(&["extension", "restriction"]),
        "final" => tokens(&["list", "union", "restriction"]),
        "blockDefault" => tokens(&["extension", "restriction", "substitution"]),
        "finalDefault" => tokens(&["extension", "restriction", "list", "union"]),
        "namespace" if matches!(kind, "any" | "anyAttribute") => {
            if matches!(v, "##any" | "##other")
                || v.split_ascii_whitespace().all(|t| {
                    if t.starts_with("##") {
                        matches!(t, "##targetNamespace" | "##local")
                    } else {
                        is_any_uri(t)
                    }
                })
            {
                Ok(())
            } else {
                Err(format!("'{v}' is not a namespace constraint"))
            }
        }
        // The attributes of type xs:anyURI in the schema for schemas.
        "namespace" | "schemaLocation" | "source" | "system" | "targetNamespace" => {
            if is_any_uri(v) {
                Ok(())
            } else {
                Err(format!("'{v}' is not a valid anyURI"))
            }
        }
        "id" => ncname(v),
        // Resolved to Clark notation `{uri}local` when the document was read; the prefix was
        // checked there (bound), the local part is checked here.
        "type" | "base" | "ref" | "substitutionGroup" | "itemType" | "refer" => qname_local(v),
        "memberTypes" => v
            .split(' ')
            .filter(|t| !t.is_empty())
            .try_for_each(qname_local),
        _ => Ok(()),
    }
}

fn nonneg(v: &str) -> Result<(), String> {
    let digits = v.strip_prefix('+').unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("'{v}' is not a non-negative integer"))
    }
}

/// The local part of a QName resolved to `{uri}local` must be an NCName.
fn qname_local(clark: &str) -> Result<(), String> {
    let (_, local) = super::schema_doc::split_clark(clark);
    ncname(local)
        .map_err(|_| format!("'{clark}' is not a QName: its local part '{local}' is not an NCName"))
}

fn ncname(v: &str) -> Result<(), String> {
    let mut chars = v.chars();
    let ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| {
            c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{b7}') || is_combining(c)
        });
    if ok {
        Ok(())
    } else {
        Err(format!("'{v}' is not an NCName"))
    }
}

fn is_combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x203F..=0x2040)
        || (!c.is_alphanumeric() && !c.is_whitespace() && !c.is_ascii() && !c.is_control())
}
