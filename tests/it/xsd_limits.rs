//! Hostile schema sets and documents against the XSD engine's limits (`limits.xsd`): each is
//! refused with the limit's name, in bounded memory, or compiled within the limits.
//!
//! The compile tests run the binary (`validate --timings`, which prints the process's peak
//! resident set), so that the memory figure is the compiler's alone and not the test
//! harness's.

use std::path::Path;
use std::process::Output;

use poststelle::Limits;
use poststelle::xsd::{self, ErrorKind, ValidationOptions, ValidationReport};

use super::xoev_support::text;

const HEAD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">"#;

/// Peak memory a refused or compiled hostile schema may cost the debug binary (its own
/// baseline is about 17 MiB). Before the limits, 400 extension levels took 150 MiB and 2,000
/// more than 4 GiB.
const PEAK_BOUND_KIB: u64 = 64 * 1024;

/// A chain of `levels` complex types, each extending the previous one by an optional element.
/// `name` gives the type names: their sort order decides whether the compiler meets the chain
/// from its end (deep recursion) or from its start (no recursion, long copies).
fn extension_chain(levels: usize, name: impl Fn(usize) -> String) -> String {
    extension_chain_in("urn:t", "root", levels, name)
}

/// [`extension_chain`] in namespace `ns`, with the global element `root` of the last type.
pub(crate) fn extension_chain_in(
    ns: &str,
    root: &str,
    levels: usize,
    name: impl Fn(usize) -> String,
) -> String {
    let mut s = format!(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="{ns}" targetNamespace="{ns}" elementFormDefault="qualified">"#
    );
    s.push_str(&format!(
        r#"<xs:complexType name="{}"><xs:sequence><xs:element name="e0" type="xs:string" minOccurs="0"/></xs:sequence></xs:complexType>"#,
        name(0)
    ));
    for i in 1..=levels {
        s.push_str(&format!(
            r#"<xs:complexType name="{}"><xs:complexContent><xs:extension base="t:{}"><xs:sequence><xs:element name="e{i}" type="xs:string" minOccurs="0"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>"#,
            name(i),
            name(i - 1)
        ));
    }
    s.push_str(&format!(
        r#"<xs:element name="{root}" type="t:{}"/></xs:schema>"#,
        name(levels)
    ));
    s
}

/// Compiles `schema` with the binary; returns the run and its peak memory in KiB.
fn compile_in_child(schema: &str) -> (Output, u64) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.xsd");
    std::fs::write(&path, schema).expect("write schema");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .arg("validate")
        .arg("--timings")
        .arg("--schema")
        .arg(&path)
        .output()
        .expect("poststelle runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let peak = stderr
        .split("peak memory ")
        .nth(1)
        .and_then(|rest| rest.split(" KiB").next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no peak memory in: {stderr}"));
    (out, peak)
}

fn compile_str(schema: &str, limits: &Limits) -> Result<xsd::Grammar, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.xsd");
    std::fs::write(&path, schema).expect("write schema");
    xsd::compile_file(&path, limits).map_err(|e| {
        e.errors()
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    })
}

#[test]
fn extension_chains_of_400_800_and_2000_levels_are_refused_in_bounded_memory() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: needs /proc for the peak memory");
        return;
    }
    let reversed = |i: usize| format!("T{i}");
    let in_order = |i: usize| format!("T{i:05}");
    for levels in [400, 800, 2000] {
        for (order, schema) in [
            ("nested", extension_chain(levels, reversed)),
            ("in order", extension_chain(levels, in_order)),
        ] {
            let (out, peak) = compile_in_child(&schema);
            let shown = text(&out);
            assert_eq!(out.status.code(), Some(2), "{levels} {order}: {shown}");
            assert!(
                shown.contains("(limit xsd.max_derivation_depth)"),
                "{levels} {order}: {shown}"
            );
            assert!(
                peak < PEAK_BOUND_KIB,
                "{levels} levels ({order}) peaked at {peak} KiB"
            );
        }
    }
}

#[test]
fn an_extension_chain_within_the_depth_limit_compiles_into_one_flat_model() {
    let levels = 60;
    let schema = extension_chain(levels, |i| format!("T{i}"));
    let (out, peak) = compile_in_child(&schema);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(peak < PEAK_BOUND_KIB, "peaked at {peak} KiB");
    let g = compile_str(&schema, &Limits::default()).expect("compiles");
    let body: String = (0..=levels)
        .filter(|i| i % 3 == 0)
        .map(|i| format!("<t:e{i}/>"))
        .collect();
    let ok = validate(&g, &format!(r#"<t:root xmlns:t="urn:t">{body}</t:root>"#));
    assert!(ok.is_valid(), "{:?}", ok.errors);
    // The base's elements come first: the extension order is kept by the flattening.
    let swapped = validate(&g, r#"<t:root xmlns:t="urn:t"><t:e1/><t:e0/></t:root>"#);
    assert!(!swapped.is_valid());
}

fn validate(g: &xsd::Grammar, doc: &str) -> ValidationReport {
    validate_with(g, doc, &Limits::default())
}

fn validate_with(g: &xsd::Grammar, doc: &str, limits: &Limits) -> ValidationReport {
    xsd::validate_bytes(g, doc.as_bytes(), limits, &ValidationOptions::default())
}

#[test]
fn group_reference_chains_deeper_than_the_model_depth_limit_are_refused() {
    let mut s = String::from(HEAD);
    s.push_str(r#"<xs:group name="g0"><xs:sequence><xs:element name="e" type="xs:string"/></xs:sequence></xs:group>"#);
    for i in 1..=500 {
        s.push_str(&format!(
            r#"<xs:group name="g{i}"><xs:sequence><xs:group ref="t:g{}"/><xs:element name="e{i}" type="xs:string" minOccurs="0"/></xs:sequence></xs:group>"#,
            i - 1
        ));
    }
    s.push_str(r#"<xs:element name="root"><xs:complexType><xs:group ref="t:g500"/></xs:complexType></xs:element></xs:schema>"#);
    let err = compile_str(&s, &Limits::default()).expect_err("refused");
    assert!(err.contains("(limit xsd.max_content_model_depth)"), "{err}");
}

#[test]
fn content_models_over_the_particle_limit_are_refused_also_when_built_by_group_references() {
    // One wide sequence.
    let mut wide = String::from(HEAD);
    wide.push_str(r#"<xs:complexType name="W"><xs:sequence>"#);
    for i in 0..2_100 {
        wide.push_str(&format!(
            r#"<xs:element name="e{i}" type="xs:string" minOccurs="0"/>"#
        ));
    }
    wide.push_str(r#"</xs:sequence></xs:complexType></xs:schema>"#);
    let err = compile_str(&wide, &Limits::default()).expect_err("refused");
    assert!(
        err.contains("(limit xsd.max_content_model_particles)"),
        "{err}"
    );
    // "Billion laughs" of model groups: each group references the previous one ten times;
    // 12 levels would be 10^12 particles.
    let mut laughs = String::from(HEAD);
    laughs.push_str(r#"<xs:group name="g0"><xs:sequence><xs:element name="e" type="xs:string" minOccurs="0" maxOccurs="unbounded"/></xs:sequence></xs:group>"#);
    for i in 1..=12 {
        laughs.push_str(&format!(r#"<xs:group name="g{i}"><xs:sequence>"#));
        for _ in 0..10 {
            laughs.push_str(&format!(r#"<xs:group ref="t:g{}"/>"#, i - 1));
        }
        laughs.push_str("</xs:sequence></xs:group>");
    }
    laughs.push_str(r#"<xs:element name="root"><xs:complexType><xs:group ref="t:g12"/></xs:complexType></xs:element></xs:schema>"#);
    let (out, peak) = compile_in_child(&laughs);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("(limit xsd.max_content_model_particles)"),
        "{shown}"
    );
    assert!(peak < PEAK_BOUND_KIB, "peaked at {peak} KiB");
}

#[test]
fn many_large_content_models_are_refused_by_the_grammar_particle_limit() {
    let mut limits = Limits::default();
    limits.xsd.max_grammar_particles = 1_000;
    let mut s = String::from(HEAD);
    s.push_str(r#"<xs:complexType name="B"><xs:sequence>"#);
    for i in 0..100 {
        s.push_str(&format!(r#"<xs:element name="e{i}" type="xs:string"/>"#));
    }
    s.push_str("</xs:sequence></xs:complexType>");
    for k in 0..20 {
        s.push_str(&format!(
            r#"<xs:complexType name="X{k}"><xs:complexContent><xs:extension base="t:B"><xs:sequence><xs:element name="x{k}" type="xs:string"/></xs:sequence></xs:extension></xs:complexContent></xs:complexType>"#
        ));
    }
    s.push_str("</xs:schema>");
    let err = compile_str(&s, &limits).expect_err("refused");
    assert!(err.contains("(limit xsd.max_grammar_particles)"), "{err}");
    assert!(compile_str(&s, &Limits::default()).is_ok());
}

#[test]
fn substitution_group_chains_are_refused_by_the_component_limit() {
    // Every member of a chain of heads joins each head above it: n²/2 memberships.
    let mut s = String::from(HEAD);
    s.push_str(r#"<xs:element name="E00000" type="xs:string"/>"#);
    for i in 1..2_000 {
        s.push_str(&format!(
            r#"<xs:element name="E{i:05}" substitutionGroup="t:E{:05}"/>"#,
            i - 1
        ));
    }
    s.push_str("</xs:schema>");
    let (out, peak) = compile_in_child(&s);
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(shown.contains("(limit xsd.max_components)"), "{shown}");
    assert!(peak < PEAK_BOUND_KIB, "peaked at {peak} KiB");
}

const IDC_SCHEMA: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:element name="root">
    <xs:complexType><xs:sequence>
      <xs:element name="row" maxOccurs="unbounded">
        <xs:complexType><xs:attribute name="k" type="xs:string"/><xs:attribute name="r" type="xs:string"/></xs:complexType>
      </xs:element>
    </xs:sequence></xs:complexType>
    <xs:key name="rowKey"><xs:selector xpath="t:row"/><xs:field xpath="@k"/></xs:key>
    <xs:keyref name="rowRef" refer="t:rowKey"><xs:selector xpath="t:row"/><xs:field xpath="@r"/></xs:keyref>
  </xs:element>
</xs:schema>"#;

fn rows(n: usize, value: impl Fn(usize) -> String) -> String {
    let mut doc = String::from(r#"<t:root xmlns:t="urn:t">"#);
    for i in 0..n {
        let v = value(i);
        doc.push_str(&format!(r#"<t:row k="{v}" r="{v}"/>"#));
    }
    doc.push_str("</t:root>");
    doc
}

fn limit_errors(report: &ValidationReport) -> Vec<&str> {
    report
        .errors
        .iter()
        .filter(|e| e.kind == ErrorKind::Limit)
        .map(|e| e.message.as_str())
        .collect()
}

#[test]
fn identity_constraint_floods_are_refused_with_the_limit_error() {
    let g = compile_str(IDC_SCHEMA, &Limits::default()).expect("compiles");
    let mut limits = Limits::default();
    limits.xsd.max_identity_entries = 1_000;
    // 400 keys and 400 keyref values fit; 600 of each do not.
    let fits = validate_with(&g, &rows(400, |i| format!("k{i}")), &limits);
    assert!(fits.is_valid(), "{:?}", fits.errors);
    let flood = validate_with(&g, &rows(600, |i| format!("k{i}")), &limits);
    let limit = limit_errors(&flood);
    assert_eq!(limit.len(), 1, "{:?}", flood.errors);
    assert!(limit[0].contains("(limit xsd.max_identity_entries)"));
    // Keys left out once the limit was hit do not make keyrefs fail: one error, the limit.
    assert_eq!(flood.errors.len(), 1, "{:?}", flood.errors);

    // Few rows of long values: the byte limit.
    limits.xsd.max_identity_bytes = 64 * 1024;
    let long = validate_with(
        &g,
        &rows(40, |i| format!("{i}{}", "x".repeat(2_000))),
        &limits,
    );
    let limit = limit_errors(&long);
    assert_eq!(limit.len(), 1, "{:?}", long.errors);
    assert!(limit[0].contains("(limit xsd.max_identity_bytes)"));
}

#[test]
fn identity_tables_of_closed_scopes_no_longer_count_against_the_limit() {
    // The key's scope is each `group`: its table is dropped when the group ends, so many
    // groups of a few rows each stay far below the limit.
    let schema = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:element name="root"><xs:complexType><xs:sequence>
    <xs:element name="group" maxOccurs="unbounded">
      <xs:complexType><xs:sequence>
        <xs:element name="row" maxOccurs="unbounded"><xs:complexType><xs:attribute name="k" type="xs:string"/></xs:complexType></xs:element>
      </xs:sequence></xs:complexType>
      <xs:unique name="u"><xs:selector xpath="t:row"/><xs:field xpath="@k"/></xs:unique>
    </xs:element>
  </xs:sequence></xs:complexType></xs:element>
</xs:schema>"#;
    let g = compile_str(schema, &Limits::default()).expect("compiles");
    let mut limits = Limits::default();
    limits.xsd.max_identity_entries = 100;
    let mut doc = String::from(r#"<t:root xmlns:t="urn:t">"#);
    for _ in 0..200 {
        doc.push_str(r#"<t:group><t:row k="a"/><t:row k="b"/><t:row k="c"/></t:group>"#);
    }
    doc.push_str("</t:root>");
    let report = validate_with(&g, &doc, &limits);
    assert!(report.is_valid(), "{:?}", report.errors);
}

#[test]
fn idrefs_under_a_deep_path_count_their_path_against_the_byte_limit() {
    // Each IDREF keeps its element path for the message at the end of the document: under
    // long element names a few thousand short IDREFs hold megabytes.
    let long = "n".repeat(135);
    let schema = format!(
        r###"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:complexType name="N"><xs:choice>
    <xs:any namespace="##targetNamespace" processContents="strict" minOccurs="0"/>
    <xs:element name="ref" form="unqualified" type="xs:IDREF" maxOccurs="unbounded"/>
  </xs:choice></xs:complexType>
  <xs:element name="{long}" type="t:N"/>
  <xs:element name="root" type="t:N"/>
</xs:schema>"###
    );
    let g = compile_str(&schema, &Limits::default()).expect("compiles");
    let name = format!("t:{long}");
    let mut doc = String::from(r#"<t:root xmlns:t="urn:t">"#);
    for _ in 0..30 {
        doc.push_str(&format!("<{name}>"));
    }
    for _ in 0..200 {
        doc.push_str("<ref>a</ref>");
    }
    for _ in 0..30 {
        doc.push_str(&format!("</{name}>"));
    }
    doc.push_str("</t:root>");
    let mut limits = Limits::default();
    limits.xsd.max_identity_bytes = 256 * 1024;
    let report = validate_with(&g, &doc, &limits);
    let limit = limit_errors(&report);
    assert_eq!(limit.len(), 1, "{:?}", report.errors);
    assert!(limit[0].contains("(limit xsd.max_identity_bytes)"));
}

#[test]
fn xs_all_groups_still_compile_beside_the_particle_count_check() {
    // The count's bound once shadowed the group's own maxOccurs, and every xs:all was refused.
    let schema = format!(
        r#"{HEAD}<xs:element name="root"><xs:complexType><xs:all>
        <xs:element name="a" type="xs:string"/><xs:element name="b" type="xs:string" minOccurs="0"/>
        </xs:all></xs:complexType></xs:element></xs:schema>"#
    );
    let g = compile_str(&schema, &Limits::default()).expect("compiles");
    let ok = validate(&g, r#"<t:root xmlns:t="urn:t"><t:b/><t:a/></t:root>"#);
    assert!(ok.is_valid(), "{:?}", ok.errors);
}

/// A schema of `n` simple types, the i-th with the pattern `\d{k(i)}`.
fn digit_patterns(n: usize, k: impl Fn(usize) -> usize) -> String {
    let mut s = String::from(HEAD);
    for i in 0..n {
        s.push_str(&format!(
            r#"<xs:simpleType name="P{i}"><xs:restriction base="xs:string"><xs:pattern value="\d{{{}}}"/></xs:restriction></xs:simpleType>"#,
            k(i)
        ));
    }
    s.push_str("</xs:schema>");
    s
}

#[test]
fn pattern_facets_over_the_size_limit_stop_the_compiler_at_the_total_budget() {
    // 300 distinct patterns, each refused only once its automaton reaches the 16 MiB size
    // limit: before the budget the compiler tried all 300 (49 s of CPU in a release build).
    let schema = digit_patterns(300, |i| 11_000 + i);
    let err = compile_str(&schema, &Limits::default()).expect_err("refused");
    assert!(err.contains("(limit xsd.max_regex_total_bytes)"), "{err}");
    // 64 MiB of budget at 16 MiB per refusal: the fifth refusal crosses it.
    let tried = err.matches("(limit xsd.max_regex_bytes)").count();
    assert_eq!(tried, 4, "{err}");
}

#[test]
fn pattern_facets_under_the_size_limit_are_bounded_by_the_total_budget() {
    // Each `\d{k}` for k near 1,000 compiles to about 5 MB: fine alone, but 100 distinct ones
    // would keep half a gigabyte.
    let mut limits = Limits::default();
    limits.xsd.max_regex_total_bytes = 32 * 1024 * 1024;
    let err = compile_str(&digit_patterns(100, |i| 1_000 + i), &limits).expect_err("refused");
    assert!(err.contains("(limit xsd.max_regex_total_bytes)"), "{err}");
    assert!(!err.contains("(limit xsd.max_regex_bytes)"), "{err}");
    // The same facet in every type is one pattern, charged once: the schema compiles.
    compile_str(&digit_patterns(100, |_| 1_000), &limits).expect("one pattern, charged once");
}
