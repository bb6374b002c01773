use super::*;
use crate::xpath::TreeLimits;

const OPTIONS: RunOptions = RunOptions {
    show_values: false,
    budget: 1_000_000,
    max_findings: 1000,
};

fn no_includes(_: &str) -> Option<Vec<u8>> {
    None
}

fn compile(sch: &str) -> Result<Schema, Vec<SchemaError>> {
    Schema::compile(
        sch.as_bytes(),
        "test.sch",
        &no_includes,
        None,
        &XmlLimits::default(),
    )
}

fn run_with(schema: &Schema, xml: &str, options: &RunOptions) -> RunReport {
    let tree = Tree::parse(
        xml.as_bytes(),
        &XmlLimits::default(),
        TreeLimits { max_nodes: 10_000 },
    )
    .expect("xml");
    schema.run(&tree, options, &Overrides::new())
}

fn ids(report: &RunReport) -> Vec<String> {
    report.findings.iter().map(|f| f.rule.clone()).collect()
}

fn sch(body: &str) -> String {
    format!(
        r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
           <sch:ns prefix="x" uri="urn:x"/>{body}</sch:schema>"#
    )
}

const DOC: &str =
    r#"<x:m xmlns:x="urn:x"><x:a n="1"><b>2</b></x:a><x:a n="3"><b>4</b><b>5</b></x:a></x:m>"#;

#[test]
fn first_matching_rule_per_pattern_wins() {
    let s = compile(&sch(
        r#"<sch:pattern>
             <sch:rule context="x:a[@n = '1']"><sch:assert id="first" test="false()">f</sch:assert></sch:rule>
             <sch:rule context="x:a"><sch:assert id="second" test="false()">s</sch:assert></sch:rule>
           </sch:pattern>
           <sch:pattern>
             <sch:rule context="x:a"><sch:assert id="other-pattern" test="false()">o</sch:assert></sch:rule>
           </sch:pattern>"#,
    ))
    .expect("compiles");
    let r = run_with(&s, DOC, &OPTIONS);
    assert_eq!(
        ids(&r),
        ["first", "second", "other-pattern", "other-pattern"]
    );
    assert_eq!(r.findings[0].path, "/x:m[1]/x:a[1]");
    assert_eq!(r.findings[0].line, 1);
}

#[test]
fn abstract_rules_are_pulled_in_by_extends() {
    let s = compile(&sch(
        r#"<sch:pattern>
             <sch:rule id="abs" abstract="true"><sch:assert id="one-b" test="count(b) = 1">one b</sch:assert></sch:rule>
             <sch:rule context="x:m//x:a"><sch:extends rule="abs"/></sch:rule>
           </sch:pattern>"#,
    ))
    .expect("compiles");
    let r = run_with(&s, DOC, &OPTIONS);
    assert_eq!(ids(&r), ["one-b"]);
    assert_eq!(r.findings[0].path, "/x:m[1]/x:a[2]");
    assert_eq!(r.findings[0].kind, FindingKind::FailedAssert);
    assert_eq!(r.findings[0].message, "one b");
}

#[test]
fn xpath_errors_are_processing_errors_not_passes() {
    let s = compile(&sch(r#"<sch:pattern><sch:rule context="x:a">
             <sch:assert id="two-b" test="normalize-space(b) != ''">b</sch:assert>
           </sch:rule></sch:pattern>"#))
    .expect("compiles");
    let r = run_with(&s, DOC, &OPTIONS);
    assert_eq!(ids(&r), ["two-b"]);
    let f = &r.findings[0];
    assert_eq!(f.kind, FindingKind::ProcessingError);
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("XPTY0004"), "{}", f.message);
    assert_eq!(f.path, "/x:m[1]/x:a[2]");
}

#[test]
fn reports_lets_roles_and_values() {
    let s = compile(&sch(
        r#"<sch:let name="total" value="count(//b)"/>
           <sch:pattern id="p"><sch:rule context="x:a" role="warning">
             <sch:let name="mine" value="count(b)"/>
             <sch:report id="many" test="$mine &gt; 1">has <sch:value-of select="$mine"/> of <sch:value-of select="$total"/> in <sch:name/></sch:report>
             <sch:assert id="info" role="info" test="@n = '1'">n</sch:assert>
           </sch:rule></sch:pattern>"#,
    ))
    .expect("compiles");
    let r = run_with(&s, DOC, &OPTIONS);
    assert_eq!(ids(&r), ["many", "info"]);
    assert_eq!(r.findings[0].kind, FindingKind::SuccessfulReport);
    assert_eq!(r.findings[0].severity, Severity::Warning);
    assert_eq!(r.findings[0].message, "has […] of […] in x:a");
    assert_eq!(r.findings[1].severity, Severity::Information);
    let shown = run_with(
        &s,
        DOC,
        &RunOptions {
            show_values: true,
            ..OPTIONS
        },
    );
    assert_eq!(shown.findings[0].message, "has 2 of 3 in x:a");
    let mut overrides = Overrides::new();
    overrides.insert("info".into(), Severity::Error);
    let tree = Tree::parse(
        DOC.as_bytes(),
        &XmlLimits::default(),
        TreeLimits { max_nodes: 100 },
    )
    .expect("xml");
    let r = s.run(&tree, &OPTIONS, &overrides);
    assert_eq!(r.findings[1].severity, Severity::Error);
}

#[test]
fn abstract_patterns_phases_and_includes() {
    let main = sch(
        r#"<sch:phase id="only-p2"><sch:active pattern="p2"/></sch:phase>
           <sch:pattern abstract="true" id="count-of">
             <sch:rule context="$parent"><sch:assert id="count" test="count($child) = $n">c</sch:assert></sch:rule>
           </sch:pattern>
           <sch:pattern id="p1" is-a="count-of">
             <sch:param name="parent" value="x:a"/><sch:param name="child" value="b"/><sch:param name="n" value="1"/>
           </sch:pattern>
           <sch:include href="p2.sch"/>"#,
    );
    let resolve = |href: &str| -> Option<Vec<u8>> {
        (href == "p2.sch").then(|| {
            br#"<sch:pattern xmlns:sch="http://purl.oclc.org/dsdl/schematron" id="p2">
                  <sch:rule context="b"><sch:report id="five" test=". = '5'">five</sch:report></sch:rule>
                </sch:pattern>"#
                .to_vec()
        })
    };
    let all = Schema::compile(
        main.as_bytes(),
        "m.sch",
        &resolve,
        None,
        &XmlLimits::default(),
    )
    .expect("compiles");
    assert_eq!(ids(&run_with(&all, DOC, &OPTIONS)), ["count", "five"]);
    let p2 = Schema::compile(
        main.as_bytes(),
        "m.sch",
        &resolve,
        Some("only-p2"),
        &XmlLimits::default(),
    )
    .expect("compiles");
    assert_eq!(ids(&run_with(&p2, DOC, &OPTIONS)), ["five"]);
}

#[test]
fn static_errors_are_all_reported() {
    let errs = compile(&sch(r#"<sch:pattern><sch:rule context="x:a">
             <sch:assert id="a" test="nosuch()">x</sch:assert>
             <sch:assert id="b" test="y:z">x</sch:assert>
             <sch:extends rule="missing"/>
           </sch:rule></sch:pattern>"#))
    .expect_err("errors");
    assert_eq!(errs.len(), 1, "{errs:?}");
    let errs = compile(&sch(r#"<sch:pattern><sch:rule context="x:a">
             <sch:assert id="a" test="nosuch()">x</sch:assert>
             <sch:assert id="b" test="y:z">x</sch:assert>
           </sch:rule></sch:pattern>"#))
    .expect_err("errors");
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert!(errs[0].message.contains("XPST0017"));
    assert!(errs[1].message.contains("XPST0081"));
    assert!(compile("<notsch/>").is_err());
    let binding = compile(
        r#"<sch:schema xmlns:sch="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt"/>"#,
    )
    .expect_err("xslt1");
    assert!(binding[0].message.contains("queryBinding"));
}

#[test]
fn the_budget_ends_the_run_with_a_processing_error() {
    let s = compile(&sch(
        r#"<sch:pattern><sch:rule context="//*"><sch:assert id="q" test="count(//*[. = //*]) ge 0">q</sch:assert></sch:rule></sch:pattern>"#,
    ))
    .expect("compiles");
    let r = run_with(
        &s,
        DOC,
        &RunOptions {
            budget: 200,
            ..OPTIONS
        },
    );
    assert_eq!(r.findings.len(), 1, "{:?}", r.findings);
    assert!(r.findings[0].message.contains("POST0001"));
}
