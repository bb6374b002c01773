//! The business-rule engines on generated input: the ISO Schematron compiler and evaluator
//! (with its XPath 2.0 engine and document tree), and the genericode code-list reader.

use std::io::BufReader;

use super::input::Input;
use crate::config::XmlLimits;
use crate::schematron::{FindingKind, Overrides, RunOptions, Schema, Severity};
use crate::xoev::codelist::genericode;
use crate::xpath::{Tree, TreeLimits};

/// Context patterns the generated rules use (the shapes XÖV Schematron has, and more).
const CONTEXTS: &[&str] = &[
    "*", "r", "a", "b", "/r", "r/a", "//b", "p:a", "@x", "text()", "a[1]", "a[@x]", "node()",
    "r//a",
];

/// Tests and values: XPath 2.0 the XBau rules use (general comparisons against sequences,
/// `exists`, `matches`, `normalize-space`, `if`, arithmetic on untyped values) and some that
/// raise dynamic errors (a sequence where one item is expected, division, casts).
const EXPRESSIONS: &[&str] = &[
    "@x",
    "exists(b)",
    "not(*)",
    "count(*) > 1",
    "normalize-space(.) = ''",
    ". = ('1', '2')",
    "@x + 1 > 2",
    "matches(., '^[a-z]+$')",
    "matches(@x, '^[a-z]{3}:\\d+$')",
    "if (@x) then @x = 'a' else true()",
    "string-length(.) lt 5",
    "a = b",
    "number(@x) div 0 = 1",
    "sum(a) > 3",
    "name() = 'a'",
    "a + b",
    "string(a) = 'x'",
    "b/@x != ''",
    "$v = 1",
    "../a",
    "count(//a) * 2",
    "true()",
    "p:a",
    "if (exists(a)) then a else ()",
];

/// Escapes text for an attribute value or element content.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

fn expression(input: &mut Input<'_>) -> String {
    if input.below(8) == 0 {
        // Now and then the fuzzer's own text, to reach the XPath parser's error paths.
        input.text(64)
    } else {
        (*input.pick(EXPRESSIONS)).to_owned()
    }
}

/// A Schematron schema built from the input: a `let`, one to three patterns of one to three
/// rules (an abstract one pulled in by `extends` now and then), each with asserts and reports
/// whose messages use `value-of` and `name`, roles and a phase.
fn generated(input: &mut Input<'_>) -> String {
    let mut s = String::from(
        r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2"><sch:ns prefix="p" uri="urn:p"/>"#,
    );
    if input.flag() {
        s.push_str(&format!(
            r#"<sch:let name="v" value="{}"/>"#,
            esc(&expression(input))
        ));
    }
    let with_abstract = input.flag();
    let patterns = 1 + input.below(3);
    for p in 0..patterns {
        s.push_str(&format!(r#"<sch:pattern id="p{p}">"#));
        if with_abstract && p == 0 {
            s.push_str(&format!(
                r#"<sch:rule abstract="true" id="abs"><sch:assert id="abs-1" test="{}">abstract</sch:assert></sch:rule>"#,
                esc(&expression(input))
            ));
        }
        for r in 0..1 + input.below(3) {
            let role = *input.pick(&[
                "",
                " role=\"warning\"",
                " role=\"information\"",
                " flag=\"fatal\"",
            ]);
            let context = input.pick::<&str>(CONTEXTS);
            s.push_str(&format!(
                r#"<sch:rule context="{}" id="p{p}r{r}"{role}>"#,
                esc(context)
            ));
            if with_abstract && p == 0 && input.flag() {
                s.push_str(r#"<sch:extends rule="abs"/>"#);
            }
            for c in 0..1 + input.below(2) {
                let kind = if input.flag() { "report" } else { "assert" };
                s.push_str(&format!(
                    r#"<sch:{kind} id="p{p}r{r}c{c}" test="{}">m <sch:value-of select="{}"/> <sch:name/></sch:{kind}>"#,
                    esc(&expression(input)),
                    esc(&expression(input)),
                ));
            }
            s.push_str("</sch:rule>");
        }
        s.push_str("</sch:pattern>");
    }
    if input.flag() {
        s.push_str(r#"<sch:phase id="one"><sch:active pattern="p0"/></sch:phase>"#);
    }
    s.push_str("</sch:schema>");
    s
}

/// Business-rule property. The input selects a generated Schematron schema (or takes raw
/// bytes as one) and a document. Compiling never panics and a refusal names at least one
/// error; the document tree is the same built from one slice and through a one-byte buffer
/// (or fails the same way), and a compiled schema gives the same findings on both, twice,
/// within the finding limit, with every processing error an error and no instance value in a
/// message (`show_values` off: `value-of` renders as `[…]`). The same bytes read as a
/// genericode code list give a list within the row limit or a precise error, never a panic.
pub fn schematron(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let schema_text = if mode & 1 == 0 {
        generated(&mut input).into_bytes()
    } else {
        input.bytes(16 * 1024).to_vec()
    };
    let doc = input.rest();
    let xml = XmlLimits::default();
    if mode & 2 != 0
        && let Ok(list) = genericode::read(doc, &xml, 1000)
    {
        assert!(list.len() <= 1000, "more codes than rows allowed");
        assert!(!list.uri.is_empty() && !list.version.is_empty());
    }
    let no_includes = |_: &str| None;
    let phase = (mode & 4 != 0).then_some("one");
    let schema = match Schema::compile(&schema_text, "fuzz.sch", &no_includes, phase, &xml) {
        Ok(s) => s,
        Err(errors) => {
            assert!(!errors.is_empty(), "a refused schema names no error");
            return;
        }
    };
    let limits = TreeLimits { max_nodes: 20_000 };
    let whole = Tree::parse(doc, &xml, limits);
    let chunked = Tree::parse_reader(BufReader::with_capacity(1, doc), &xml, limits);
    let (whole, chunked) = match (whole, chunked) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "the tree fails differently with a one-byte buffer");
            return;
        }
        (a, b) => panic!(
            "the tree depends on buffering: {:?} vs {:?}",
            a.err(),
            b.err()
        ),
    };
    let options = RunOptions {
        show_values: false,
        budget: 200_000,
        max_findings: 50,
    };
    let overrides = Overrides::new();
    let a = schema.run(&whole, &options, &overrides);
    let b = schema.run(&chunked, &options, &overrides);
    assert_eq!(a, b, "findings depend on buffering");
    assert_eq!(
        a,
        schema.run(&whole, &options, &overrides),
        "not deterministic"
    );
    assert!(a.findings.len() <= options.max_findings);
    for f in &a.findings {
        if f.kind == FindingKind::ProcessingError {
            assert_eq!(
                f.severity,
                Severity::Error,
                "a processing error passed as {f:?}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::input::Seed;

    #[test]
    fn a_generated_schema_compiles_and_finds_what_its_rules_say() {
        // Generated: no let, no abstract rule, one pattern with one rule on `a` and one
        // assert `@x`; the document has an `a` without `x`.
        let seed = Seed::default()
            .byte(0) // mode: generated, no code list, no phase
            .byte(0) // no let
            .byte(0) // no abstract rule
            .byte(0) // one pattern
            .byte(0) // one rule
            .byte(0) // no role
            .byte(2) // context "a"
            .byte(0) // one check
            .byte(0) // assert
            .byte(1) // test: expression, EXPRESSIONS[0] = "@x"
            .byte(0)
            .byte(1) // value-of: "@x"
            .byte(0)
            .byte(0) // no phase
            .rest(b"<r><a/><a x='secret'/></r>");
        let mut input = Input::new(&seed.0);
        input.byte();
        let text = generated(&mut input);
        assert!(
            text.contains(r#"<sch:rule context="a" id="p0r0">"#)
                && text.contains(r#"<sch:assert id="p0r0c0" test="@x">"#),
            "{text}"
        );
        schematron(&seed.0);
        let schema = Schema::compile(
            text.as_bytes(),
            "t.sch",
            &|_| None,
            None,
            &XmlLimits::default(),
        )
        .expect("compiles");
        let tree = Tree::parse(
            b"<r><a/><a x='secret'/></r>",
            &XmlLimits::default(),
            TreeLimits { max_nodes: 100 },
        )
        .expect("tree");
        let report = schema.run(
            &tree,
            &RunOptions {
                show_values: false,
                budget: 10_000,
                max_findings: 10,
            },
            &Overrides::new(),
        );
        let ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
        assert_eq!(ids, ["p0r0c0"]);
    }
}
