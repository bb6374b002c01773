//! XSD engine features beyond XBau, on small schemas written for these tests.

use std::path::PathBuf;

use poststelle::Limits;
use poststelle::xsd::{
    self, ElementInfo, ErrorKind, Grammar, Observer, ValidationOptions, ValidationReport,
};

const SCHEMA: &str = r###"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified">
  <xs:complexType name="Base">
    <xs:sequence><xs:element name="a" type="xs:int"/></xs:sequence>
  </xs:complexType>
  <xs:complexType name="Derived">
    <xs:complexContent><xs:extension base="t:Base">
      <xs:sequence><xs:element name="b" type="xs:string" minOccurs="0"/></xs:sequence>
      <xs:attribute name="id" type="xs:ID"/>
    </xs:extension></xs:complexContent>
  </xs:complexType>
  <xs:complexType name="Abstract" abstract="true"><xs:sequence/></xs:complexType>
  <xs:element name="shape" abstract="true" type="xs:string"/>
  <xs:element name="circle" substitutionGroup="t:shape" type="xs:string"/>
  <xs:element name="root">
    <xs:complexType>
      <xs:sequence>
        <xs:element name="item" type="t:Base" maxOccurs="5000"/>
        <xs:element ref="t:shape" minOccurs="0"/>
        <xs:element name="n" type="xs:decimal" nillable="true" minOccurs="0"/>
        <xs:element name="d" type="xs:decimal" default="1.0" minOccurs="0"/>
        <xs:element name="ref" type="xs:IDREF" minOccurs="0" maxOccurs="unbounded"/>
        <xs:element name="abs" type="t:Abstract" minOccurs="0"/>
        <xs:any namespace="##other" processContents="lax" minOccurs="0"/>
      </xs:sequence>
      <xs:attribute name="v" type="xs:decimal" fixed="1.0"/>
      <xs:attribute name="req" type="xs:string" use="required"/>
    </xs:complexType>
    <xs:key name="itemKey">
      <xs:selector xpath="t:item"/>
      <xs:field xpath="t:a"/>
    </xs:key>
  </xs:element>
</xs:schema>"###;

fn grammar() -> Grammar {
    compile_text(SCHEMA).expect("test schema compiles")
}

/// Compiles one schema document (written to a temporary file, as the engine reads files).
pub(crate) fn compile_text(text: &str) -> Result<Grammar, xsd::XsdError> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path: PathBuf = dir.path().join("s.xsd");
    std::fs::write(&path, text).expect("write schema");
    xsd::compile_file(&path, &Limits::default())
}

fn check(g: &Grammar, body: &str) -> ValidationReport {
    let doc = format!(
        r#"<t:root xmlns:t="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" req="x" {body}</t:root>"#
    );
    xsd::validate_bytes(
        g,
        doc.as_bytes(),
        &Limits::default(),
        &ValidationOptions::default(),
    )
}

fn kinds(r: &ValidationReport) -> Vec<ErrorKind> {
    r.errors.iter().map(|e| e.kind).collect()
}

#[test]
fn valid_document_with_xsi_type_substitution_nil_and_wildcard() {
    let g = grammar();
    let r = check(
        &g,
        r#"v="1"><t:item xsi:type="t:Derived" id="i1"><t:a>1</t:a><t:b>x</t:b></t:item>
        <t:item><t:a>2</t:a></t:item><t:circle>c</t:circle><t:n xsi:nil="true"/><t:d/>
        <t:ref>i1</t:ref><t:abs xsi:type="t:Abstract2"/>"#,
    );
    // Abstract2 does not exist: exactly that one error.
    assert_eq!(
        kinds(&r),
        vec![ErrorKind::XsiType, ErrorKind::Abstract],
        "{:?}",
        r.errors
    );
    let r = check(
        &g,
        r#"><t:item><t:a>1</t:a></t:item><other xmlns="urn:o"><x/></other>"#,
    );
    assert!(r.is_valid(), "{:?}", r.errors);
}

#[test]
fn violations_are_all_reported_with_their_kind() {
    let g = grammar();
    let r = check(
        &g,
        r#"v="2" bogus="1"><t:item><t:a>x</t:a></t:item><t:item><t:a>1</t:a><t:b/></t:item>
        <t:shape>s</t:shape><t:n>1</t:n><t:ref>nowhere</t:ref>"#,
    );
    let k = kinds(&r);
    for expected in [
        ErrorKind::FixedValue,
        ErrorKind::UnexpectedAttribute,
        ErrorKind::InvalidValue,
        ErrorKind::UnexpectedElement,
        ErrorKind::Abstract,
        ErrorKind::Id,
    ] {
        assert!(
            k.contains(&expected),
            "{expected:?} missing in {:?}",
            r.errors
        );
    }
    let missing = xsd::validate_bytes(
        &g,
        br#"<t:root xmlns:t="urn:t"/>"#,
        &Limits::default(),
        &ValidationOptions::default(),
    );
    assert_eq!(
        kinds(&missing),
        vec![ErrorKind::MissingAttribute, ErrorKind::MissingElement]
    );
}

#[test]
fn keys_must_be_unique() {
    let g = grammar();
    let r = check(
        &g,
        r#"><t:item><t:a>1</t:a></t:item><t:item><t:a>01</t:a></t:item>"#,
    );
    assert_eq!(
        kinds(&r),
        vec![ErrorKind::IdentityConstraint],
        "{:?}",
        r.errors
    );
}

#[test]
fn large_max_occurs_is_counted() {
    let g = grammar();
    let items: String = (0..5001)
        .map(|i| format!("<t:item><t:a>{i}</t:a></t:item>"))
        .collect();
    let r = check(&g, &format!(">{items}"));
    assert_eq!(kinds(&r), vec![ErrorKind::UnexpectedElement]);
}

#[derive(Default)]
struct Recorder {
    elements: Vec<(String, Option<String>)>,
    values: Vec<String>,
}

impl Observer for Recorder {
    fn start_element(&mut self, g: &Grammar, info: &ElementInfo<'_>) {
        let ty = info
            .type_id
            .and_then(|t| g.type_def(t).name)
            .map(|q| g.names().local(q).to_owned());
        self.elements.push((info.local.to_owned(), ty));
    }

    fn simple_value(&mut self, _g: &Grammar, lexical: &str, typed: Option<&xsd::datatypes::Value>) {
        self.values.push(format!("{lexical}:{}", typed.is_some()));
    }
}

#[test]
fn observer_sees_actual_types_and_defaults() {
    let g = grammar();
    let doc = br#"<t:root xmlns:t="urn:t" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" req="x"><t:item xsi:type="t:Derived"><t:a>7</t:a></t:item><t:d/></t:root>"#;
    let mut rec = Recorder::default();
    let r = xsd::validate_with(
        &g,
        &doc[..],
        &Limits::default(),
        &ValidationOptions::default(),
        &mut rec,
    );
    assert!(r.is_valid(), "{:?}", r.errors);
    assert_eq!(
        rec.elements[1],
        ("item".to_owned(), Some("Derived".to_owned()))
    );
    assert_eq!(rec.elements[2], ("a".to_owned(), Some("int".to_owned())));
    assert_eq!(rec.values, vec!["7:true".to_owned(), "1.0:true".to_owned()]);
}

/// Records whether each simple value and attribute came typed; wants typed values per type
/// only when `typed` says so.
struct Picky {
    typed: bool,
    seen: Vec<String>,
}

impl Observer for Picky {
    fn wants_value(&self, _st: &xsd::simple::SimpleType) -> bool {
        self.typed
    }

    fn attribute(&mut self, _g: &Grammar, info: &xsd::AttributeInfo<'_>) {
        self.seen
            .push(format!("@{}:{}", info.local, info.typed.is_some()));
    }

    fn simple_value(&mut self, _g: &Grammar, lexical: &str, typed: Option<&xsd::datatypes::Value>) {
        self.seen.push(format!("{lexical}:{}", typed.is_some()));
    }
}

#[test]
fn typed_values_are_built_only_where_wanted_or_needed() {
    let g = compile_text(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="r"><xs:complexType>
    <xs:sequence>
      <xs:element name="i" type="xs:int"/>
      <xs:element name="s" type="xs:string"/>
      <xs:element name="f" type="xs:decimal" fixed="2.50"/>
    </xs:sequence>
    <xs:attribute name="req" type="xs:string"/>
    <xs:attribute name="v" type="xs:decimal" fixed="1.0"/>
  </xs:complexType></xs:element>
</xs:schema>"#,
    )
    .expect("compiles");
    let doc = br#"<r req="x" v="1"><i>7</i><s>c</s><f>2.5</f></r>"#;
    let run = |typed: bool| {
        let mut picky = Picky {
            typed,
            seen: Vec::new(),
        };
        let r = xsd::validate_with(
            &g,
            &doc[..],
            &Limits::default(),
            &ValidationOptions::default(),
            &mut picky,
        );
        assert!(r.is_valid(), "{:?}", r.errors);
        picky.seen
    };
    // Not wanted: only the fixed values are built (they are compared as values: `1` = `1.0`).
    assert_eq!(
        run(false),
        ["@req:false", "@v:true", "7:false", "c:false", "2.5:true"]
    );
    assert_eq!(
        run(true),
        ["@req:true", "@v:true", "7:true", "c:true", "2.5:true"]
    );
}

#[test]
fn broken_schemas_are_rejected_with_positions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.xsd");
    std::fs::write(
        &path,
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="a" type="missing"/>
  <xs:complexType name="c"><xs:choice><xs:element name="x"/><xs:element name="x"/></xs:choice></xs:complexType>
</xs:schema>"#,
    )
    .expect("write");
    let err = xsd::compile_file(&path, &Limits::default()).expect_err("invalid schema");
    let errors = err.errors();
    assert!(
        errors
            .iter()
            .any(|e| e.line == 2 && e.message.contains("missing")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("Unique Particle Attribution")),
        "{errors:?}"
    );
}

/// Schema-for-schemas and component rules added for the W3C sets: xs:annotation content,
/// xml:lang on xs:documentation, value constraints on ID types, two ID attribute uses, complex
/// types where a simple type's base, item or member type must stand.
/// Writes `<xs:schema>{prefix}{body}</xs:schema>` as `dir/s{i}.xsd` and asserts that compiling
/// it fails with an error whose message contains `expected`.
fn assert_schema_error(
    dir: &std::path::Path,
    i: usize,
    prefix: &str,
    body: &str,
    what: &str,
    expected: &str,
) {
    let path = dir.join(format!("s{i}.xsd"));
    std::fs::write(
        &path,
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{prefix}{body}</xs:schema>"#
        ),
    )
    .expect("write");
    let err = xsd::compile_file(&path, &Limits::default()).expect_err(what);
    assert!(
        err.errors().iter().any(|e| e.message.contains(expected)),
        "{what}: {:?}",
        err.errors()
    );
}

#[test]
fn annotation_content_and_id_rules_are_schema_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "nested annotation",
            r#"<xs:annotation><xs:annotation/></xs:annotation>"#,
            "not allowed in xs:annotation",
        ),
        (
            "empty xml:lang",
            r#"<xs:annotation><xs:documentation xml:lang=" "/></xs:annotation>"#,
            "xml:lang",
        ),
        (
            "element of type ID with a default",
            r#"<xs:element name="e" type="xs:ID" default="a"/>"#,
            "xs:ID cannot have a default or fixed value",
        ),
        (
            "attribute of a type derived from ID with a fixed value",
            r#"<xs:simpleType name="myId"><xs:restriction base="xs:ID"/></xs:simpleType>
               <xs:attribute name="a" type="myId" fixed="x"/>"#,
            "xs:ID cannot have a default or fixed value",
        ),
        (
            "two ID attributes",
            r#"<xs:complexType name="t"><xs:attribute name="a" type="xs:ID"/>
               <xs:attribute name="b" type="xs:ID"/></xs:complexType>"#,
            "ct-props-correct 5",
        ),
        (
            "list of a complex type",
            r#"<xs:complexType name="c"><xs:simpleContent><xs:extension base="xs:int"/>
               </xs:simpleContent></xs:complexType>
               <xs:simpleType name="l"><xs:list itemType="c"/></xs:simpleType>"#,
            "the list item type is a complex type",
        ),
    ];
    for (i, (what, body, expected)) in cases.iter().enumerate() {
        assert_schema_error(dir.path(), i, "", body, what, expected);
    }
    // The same shapes without the violation compile.
    let path = dir.path().join("ok.xsd");
    std::fs::write(
        &path,
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:annotation><xs:appinfo><x/></xs:appinfo><xs:documentation xml:lang="de-DE"/></xs:annotation>
  <xs:complexType name="t"><xs:attribute name="a" type="xs:ID"/>
    <xs:attribute name="b" type="xs:IDREF" default="x"/></xs:complexType>
</xs:schema>"#,
    )
    .expect("write");
    xsd::compile_file(&path, &Limits::default()).expect("valid schema");
}

/// Component constraints on derivations (W3C ComplexType/Attribute sets): attribute
/// restriction (derivation-ok-restriction 2–4), extension content (cos-ct-extends, cos-all-limited),
/// attribute references (au-props-correct 2), clashing attribute uses, anyAttribute last.
#[test]
fn derivation_constraints_are_schema_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = r#"<xs:complexType name="b"><xs:sequence><xs:element name="x"/></xs:sequence>
        <xs:attribute name="r" use="required"/><xs:attribute name="f" fixed="1"/>
        </xs:complexType>"#;
    let cases = [
        (
            "required attribute made optional",
            r#"<xs:complexType name="d"><xs:complexContent><xs:restriction base="b">
               <xs:sequence><xs:element name="x"/></xs:sequence>
               <xs:attribute name="r" use="optional"/></xs:restriction></xs:complexContent>
               </xs:complexType>"#,
            "derivation-ok-restriction 2.1.1",
        ),
        (
            "required attribute prohibited",
            r#"<xs:complexType name="d"><xs:complexContent><xs:restriction base="b">
               <xs:sequence><xs:element name="x"/></xs:sequence>
               <xs:attribute name="r" use="prohibited"/></xs:restriction></xs:complexContent>
               </xs:complexType>"#,
            "derivation-ok-restriction 3",
        ),
        (
            "fixed value changed",
            r#"<xs:complexType name="d"><xs:complexContent><xs:restriction base="b">
               <xs:sequence><xs:element name="x"/></xs:sequence>
               <xs:attribute name="r" use="required"/><xs:attribute name="f" fixed="2"/>
               </xs:restriction></xs:complexContent></xs:complexType>"#,
            "derivation-ok-restriction 2.1.3",
        ),
        (
            "new attribute without a base wildcard",
            r#"<xs:complexType name="d"><xs:complexContent><xs:restriction base="b">
               <xs:sequence><xs:element name="x"/></xs:sequence>
               <xs:attribute name="r" use="required"/><xs:attribute name="n"/>
               </xs:restriction></xs:complexContent></xs:complexType>"#,
            "derivation-ok-restriction 2.2",
        ),
        (
            "wildcard without a base wildcard",
            r#"<xs:complexType name="d"><xs:complexContent><xs:restriction base="b">
               <xs:sequence><xs:element name="x"/></xs:sequence>
               <xs:attribute name="r" use="required"/><xs:anyAttribute/>
               </xs:restriction></xs:complexContent></xs:complexType>"#,
            "derivation-ok-restriction 4.1",
        ),
        (
            "mixed extension of element-only content",
            r#"<xs:complexType name="d"><xs:complexContent mixed="true">
               <xs:extension base="b"/></xs:complexContent></xs:complexType>"#,
            "cos-ct-extends",
        ),
        (
            "all group added by extension",
            r#"<xs:complexType name="d"><xs:complexContent><xs:extension base="b">
               <xs:all><xs:element name="y"/></xs:all></xs:extension></xs:complexContent>
               </xs:complexType>"#,
            "cos-all-limited",
        ),
        (
            "reference changes a fixed value",
            r#"<xs:attribute name="g" fixed="1"/>
               <xs:complexType name="d"><xs:attribute ref="g" fixed="2"/></xs:complexType>"#,
            "au-props-correct 2",
        ),
        (
            "two declarations of one attribute",
            r#"<xs:attribute name="g"/>
               <xs:attributeGroup name="ag"><xs:attribute name="g"/></xs:attributeGroup>
               <xs:attributeGroup name="ag2"><xs:attribute ref="g"/>
               <xs:attributeGroup ref="ag"/></xs:attributeGroup>"#,
            "declared twice",
        ),
        (
            "anyAttribute before an attribute",
            r#"<xs:complexType name="d"><xs:anyAttribute/><xs:attribute name="a"/>
               </xs:complexType>"#,
            "out of order",
        ),
    ];
    for (i, (what, body, expected)) in cases.iter().enumerate() {
        assert_schema_error(dir.path(), i, base, body, what, expected);
    }
    // Valid counterparts: a proper restriction, a group referenced twice, recursion through an
    // element declaration inside a named group.
    let path = dir.path().join("ok.xsd");
    std::fs::write(
        &path,
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">{base}
  <xs:complexType name="d"><xs:complexContent><xs:restriction base="b">
    <xs:sequence><xs:element name="x"/></xs:sequence>
    <xs:attribute name="r" type="xs:token" use="required"/><xs:attribute name="f" fixed="1"/>
  </xs:restriction></xs:complexContent></xs:complexType>
  <xs:attribute name="g"/>
  <xs:attributeGroup name="ag"><xs:attribute ref="g"/></xs:attributeGroup>
  <xs:complexType name="twice"><xs:attributeGroup ref="ag"/><xs:attributeGroup ref="ag"/>
  </xs:complexType>
  <xs:group name="tree"><xs:sequence><xs:element name="node" minOccurs="0">
    <xs:complexType><xs:sequence><xs:group ref="tree"/></xs:sequence></xs:complexType>
  </xs:element></xs:sequence></xs:group>
</xs:schema>"#
        ),
    )
    .expect("write");
    xsd::compile_file(&path, &Limits::default()).expect("valid schema");
}

/// src-redefine 5–7: a redefined type derives from its original, a redefined group refers to
/// itself once with occurrence 1 or restricts the original, a redefined attribute group
/// restricts the original when it does not refer to itself. Chains of redefinitions resolve.
#[test]
fn redefine_constraints() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("orig.xsd"),
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="t"><xs:sequence><xs:element name="a"/></xs:sequence></xs:complexType>
  <xs:group name="g"><xs:sequence><xs:element name="a"/></xs:sequence></xs:group>
  <xs:attributeGroup name="ag"><xs:attribute name="r" use="required"/></xs:attributeGroup>
</xs:schema>"#,
    )
    .expect("write");
    let compile = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::write(
            &path,
            format!(
                r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:redefine schemaLocation="orig.xsd">{body}</xs:redefine></xs:schema>"#
            ),
        )
        .expect("write");
        xsd::compile_file(&path, &Limits::default())
    };
    let cases = [
        (
            r#"<xs:complexType name="t"><xs:sequence><xs:element name="b"/></xs:sequence>
               </xs:complexType>"#,
            "src-redefine 5",
        ),
        (
            r#"<xs:group name="g"><xs:sequence><xs:group ref="g" minOccurs="0"/></xs:sequence>
               </xs:group>"#,
            "src-redefine 6.1.2",
        ),
        (
            r#"<xs:group name="g"><xs:sequence><xs:group ref="g"/><xs:group ref="g"/>
               </xs:sequence></xs:group>"#,
            "src-redefine 6.1.1",
        ),
        (
            r#"<xs:group name="g"><xs:sequence><xs:element name="b"/></xs:sequence></xs:group>"#,
            "src-redefine 6.2.2",
        ),
        (
            r#"<xs:attributeGroup name="ag"><xs:attribute name="s"/></xs:attributeGroup>"#,
            "src-redefine 7.2.2",
        ),
    ];
    for (i, (body, expected)) in cases.iter().enumerate() {
        let err = compile(&format!("bad{i}.xsd"), body).expect_err(expected);
        assert!(
            err.errors().iter().any(|e| e.message.contains(expected)),
            "{expected}: {:?}",
            err.errors()
        );
    }
    compile(
        "ok.xsd",
        r#"<xs:complexType name="t"><xs:complexContent><xs:extension base="t">
             <xs:sequence><xs:element name="b"/></xs:sequence></xs:extension></xs:complexContent>
           </xs:complexType>
           <xs:group name="g"><xs:sequence><xs:group ref="g"/><xs:element name="b"/>
             </xs:sequence></xs:group>
           <xs:attributeGroup name="ag"><xs:attributeGroup ref="ag"/><xs:attribute name="s"/>
           </xs:attributeGroup>"#,
    )
    .expect("valid redefinitions");
    // B redefines the original, A redefines B: A's self-reference means B's version.
    std::fs::write(
        dir.path().join("b.xsd"),
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:redefine schemaLocation="orig.xsd"><xs:complexType name="t"><xs:complexContent>
    <xs:extension base="t"><xs:attribute name="x"/></xs:extension></xs:complexContent>
  </xs:complexType></xs:redefine></xs:schema>"#,
    )
    .expect("write");
    let a = dir.path().join("a.xsd");
    std::fs::write(
        &a,
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:redefine schemaLocation="b.xsd"><xs:complexType name="t"><xs:complexContent>
    <xs:extension base="t"><xs:attribute name="y"/></xs:extension></xs:complexContent>
  </xs:complexType></xs:redefine>
  <xs:element name="e" type="t"/></xs:schema>"#,
    )
    .expect("write");
    let g = xsd::compile_file(&a, &Limits::default()).expect("chained redefinition");
    let ok = |doc: &str| {
        xsd::validate_bytes(
            &g,
            doc.as_bytes(),
            &Limits::default(),
            &ValidationOptions::default(),
        )
        .errors
        .is_empty()
    };
    assert!(ok(r#"<e x="1" y="2"><a/></e>"#));
    assert!(!ok(r#"<e z="1"><a/></e>"#));
}

/// Instance rules found through the W3C sets: fixed values on mixed content, defaulted
/// attributes in identity-constraint fields, QName content resolved with the element's own
/// namespace declarations, repeated groups whose iterations are only known at the end.
#[test]
fn fixed_mixed_content_defaulted_fields_qnames_and_group_iterations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("s.xsd");
    std::fs::write(
        &path,
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:element name="root"><xs:complexType><xs:sequence>
    <xs:element name="fixed" fixed="abc" minOccurs="0"/>
    <xs:element name="uid" minOccurs="0" maxOccurs="unbounded"><xs:complexType>
      <xs:attribute name="val" type="xs:string" default="test"/></xs:complexType></xs:element>
    <xs:element name="q" type="xs:QName" minOccurs="0"/>
    <xs:element name="rep" minOccurs="0"><xs:complexType>
      <xs:sequence minOccurs="2" maxOccurs="2">
        <xs:element name="a" maxOccurs="2"/><xs:element name="b" minOccurs="0"/>
      </xs:sequence></xs:complexType></xs:element>
  </xs:sequence></xs:complexType>
  <xs:unique name="u"><xs:selector xpath="uid"/><xs:field xpath="@val"/></xs:unique>
  </xs:element>
</xs:schema>"#,
    )
    .expect("write");
    let g = xsd::compile_file(&path, &Limits::default()).expect("schema");
    let errors = |body: &str| {
        xsd::validate_bytes(
            &g,
            format!("<root>{body}</root>").as_bytes(),
            &Limits::default(),
            &ValidationOptions::default(),
        )
        .errors
    };
    assert!(errors("<fixed>abc</fixed>").is_empty());
    assert!(errors("<fixed/>").is_empty());
    assert!(!errors("<fixed>abd</fixed>").is_empty());
    assert!(!errors("<fixed>abc<x/></fixed>").is_empty());
    assert!(errors(r#"<uid val="a"/><uid/>"#).is_empty());
    assert!(!errors(r#"<uid val="test"/><uid/>"#).is_empty());
    assert!(errors(r#"<q xmlns:p="urn:p">p:x</q>"#).is_empty());
    assert!(!errors(r#"<q>p:x</q>"#).is_empty());
    assert!(errors("<rep><a/><a/><b/></rep>").is_empty());
    assert!(errors("<rep><a/><a/><b/><a/></rep>").is_empty());
    assert!(!errors("<rep><a/><b/><b/></rep>").is_empty());
}

/// Issue 18, conformance: the model group of a named `xs:group` carries no `minOccurs` or
/// `maxOccurs` (XSD 1.0 §3.7.2; `namedGroup` in the schema for schemas) — the reference
/// does. libxml2 and Xerces refuse such a schema; so do we, and a reference's occurrence
/// attributes stay allowed.
#[test]
fn occurrence_attributes_on_the_model_group_of_a_named_group_are_refused() {
    let schema = |attrs: &str, compositor: &str| {
        // A reference to an `xs:all` group is the whole content model, at most once
        // (cos-all-limited).
        let reference = if compositor == "all" {
            r#"<xs:group ref="g" minOccurs="0"/>"#
        } else {
            r#"<xs:sequence><xs:group ref="g" minOccurs="0" maxOccurs="2"/></xs:sequence>"#
        };
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:group name="g"><xs:{compositor}{attrs}><xs:element name="a"/></xs:{compositor}></xs:group>
  <xs:element name="r"><xs:complexType>{reference}</xs:complexType></xs:element>
</xs:schema>"#
        )
    };
    let compile = |text: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.xsd");
        std::fs::write(&path, text).expect("write");
        xsd::compile_file(&path, &Limits::default())
            .map(drop)
            .map_err(|e| e.to_string())
    };
    for compositor in ["sequence", "choice", "all"] {
        assert!(compile(&schema("", compositor)).is_ok(), "{compositor}");
        for attr in [r#" minOccurs="1""#, r#" maxOccurs="1""#] {
            let err = compile(&schema(attr, compositor)).expect_err(compositor);
            assert!(
                err.contains("is not allowed on xs:") || err.contains("not allowed"),
                "{compositor}{attr}: {err}"
            );
        }
    }
}

/// Compiles one schema document; the errors as `line: message` on failure.
fn compile_schema_text(text: &str) -> Result<(), Vec<String>> {
    compile_text(text).map(drop).map_err(|e| {
        e.errors()
            .iter()
            .map(|e| format!("{}: {}", e.line, e.message))
            .collect()
    })
}

/// Asserts that `bad` is refused with an error on `line` containing `expected`, and that
/// `good` (the same shape without the violation) compiles.
fn assert_refused_at(bad: &str, line: u64, expected: &str, good: &str) {
    let errors = compile_schema_text(bad).expect_err(expected);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with(&format!("{line}: ")) && e.contains(expected)),
        "{expected}: {errors:?}"
    );
    if let Err(errors) = compile_schema_text(good) {
        panic!("{expected}: the valid variant is refused: {errors:?}");
    }
}

/// Issue 18 s4s audit (docs/s4s-audit.md): in `xs:schema`, include, import and redefine come
/// before every declaration and definition (content model of `schema` in XMLSchema.xsd);
/// annotations may stand anywhere.
#[test]
fn include_import_and_redefine_must_precede_declarations_in_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let other = dir.path().join("other.xsd");
    std::fs::write(
        &other,
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:o"/>"#,
    )
    .expect("write");
    let schema = |body: &str| {
        format!("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n{body}\n</xs:schema>",)
    };
    let import = format!(
        r#"<xs:import namespace="urn:o" schemaLocation="{}"/>"#,
        other.display()
    );
    assert_refused_at(
        &schema(&format!(r#"<xs:element name="e"/>{import}"#)),
        2,
        "xs:import is out of order in xs:schema",
        &schema(&format!(
            r#"<xs:annotation/>{import}<xs:annotation/><xs:element name="e"/><xs:annotation/>"#
        )),
    );
}

/// Issue 18 s4s audit: XSD elements (and xs:annotation) have element-only content; character
/// data is allowed only inside xs:appinfo, xs:documentation and foreign elements there.
#[test]
fn character_data_in_schema_elements_is_refused() {
    let schema = |body: &str| {
        format!("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n{body}\n</xs:schema>")
    };
    for (body, kind) in [
        (
            r#"<xs:notation name="n" public="p">Some text</xs:notation>"#,
            "notation",
        ),
        (
            "<xs:element name=\"e\"><xs:complexType><xs:sequence>\n&amp;</xs:sequence></xs:complexType></xs:element>",
            "sequence",
        ),
        ("<xs:annotation>text</xs:annotation>", "annotation"),
    ] {
        let errors = compile_schema_text(&schema(body)).expect_err(kind);
        assert!(
            errors
                .iter()
                .any(|e| e.contains(&format!("character data is not allowed in xs:{kind}"))),
            "{kind}: {errors:?}"
        );
    }
    compile_schema_text(&schema(
        "<xs:annotation>\n <xs:documentation>text <b>bold</b></xs:documentation>\
         <xs:appinfo><x>1</x>2</xs:appinfo></xs:annotation>\n\
         <xs:notation name=\"n\" public=\"p\">\n\t</xs:notation>",
    ))
    .expect("whitespace and annotation text are fine");
}

/// Issue 18 s4s audit: XSD elements allow foreign attributes only from namespaces other than
/// XML Schema (`openAttrs`: `anyAttribute namespace="##other"`); xs:appinfo and
/// xs:documentation allow `source` as their only unqualified attribute.
#[test]
fn attributes_in_the_schema_namespace_and_unknown_annotation_attributes_are_refused() {
    let schema = |body: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" \
             xmlns:o=\"urn:other\">\n{body}\n</xs:schema>"
        )
    };
    assert_refused_at(
        &schema(r#"<xs:complexType name="c" xs:type="xs:integer"/>"#),
        2,
        "attributes in the XML Schema namespace are not allowed",
        &schema(r#"<xs:complexType name="c" o:type="xs:integer"/>"#),
    );
    assert_refused_at(
        &schema(r#"<xs:annotation><xs:appinfo lang="de"/></xs:annotation>"#),
        2,
        "attribute 'lang' is not allowed on xs:appinfo",
        &schema(r#"<xs:annotation><xs:appinfo source="urn:x" o:lang="de"/></xs:annotation>"#),
    );
    assert_refused_at(
        &schema(r#"<xs:annotation><xs:documentation xs:source="x"/></xs:annotation>"#),
        2,
        "is not allowed on xs:documentation",
        &schema(r#"<xs:annotation><xs:documentation source="x" xml:lang="de"/></xs:annotation>"#),
    );
}

/// Issue 18 s4s audit: src-simple-type.3, xs:list has an itemType attribute or an inline
/// xs:simpleType, not both (neither is refused by assembly).
#[test]
fn list_with_both_item_type_and_inline_simple_type_is_refused() {
    let schema = |body: &str| {
        format!("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n{body}\n</xs:schema>")
    };
    assert_refused_at(
        &schema(
            r#"<xs:simpleType name="l"><xs:list itemType="xs:int"><xs:simpleType>
               <xs:restriction base="xs:int"/></xs:simpleType></xs:list></xs:simpleType>"#,
        ),
        2,
        "src-simple-type.3",
        &schema(
            r#"<xs:simpleType name="l"><xs:list><xs:simpleType>
               <xs:restriction base="xs:int"/></xs:simpleType></xs:list></xs:simpleType>"#,
        ),
    );
}

/// Issue 18 s4s audit: QName-valued attributes (type, base, ref, substitutionGroup, itemType,
/// memberTypes, refer) must be QNames: `a:b:c` or an empty value is no reference to a
/// missing component but a lexical error.
#[test]
fn qname_attributes_with_a_malformed_local_part_are_refused() {
    let schema = |body: &str| {
        format!("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n{body}\n</xs:schema>")
    };
    assert_refused_at(
        &schema(r#"<xs:element name="e" type="xs:string:x"/>"#),
        2,
        "xs:element/@type: '{http://www.w3.org/2001/XMLSchema}string:x' is not a QName",
        &schema(r#"<xs:element name="e" type="xs:string"/>"#),
    );
    assert_refused_at(
        &schema(r#"<xs:simpleType name="u"><xs:union memberTypes="xs:int 1x"/></xs:simpleType>"#),
        2,
        "xs:union/@memberTypes",
        &schema(
            r#"<xs:simpleType name="u"><xs:union memberTypes="xs:int  xs:date"/></xs:simpleType>"#,
        ),
    );
}

/// Issue 18 s4s audit: the empty string is not a namespace name, so `targetNamespace=""` is
/// refused (no-namespace schemas leave the attribute out; W3C test schZ014_b).
#[test]
fn empty_target_namespace_is_refused() {
    assert_refused_at(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace=" "/>"#,
        1,
        "xs:schema/@targetNamespace is empty",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>"#,
    );
}

/// Element Declarations Consistent (cos-element-consistent): one content model, one type per
/// element name — also across nested groups and between an extension and its base; the same
/// declaration referenced twice is fine. W3C mgR002 … mgR018, addB100.
#[test]
fn element_particles_of_one_name_in_one_content_model_share_their_type() {
    let schema = |a: &str, b: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:complexType name=\"base\"><xs:sequence><xs:element name=\"e\" type=\"{a}\"/>\
             </xs:sequence></xs:complexType>\n\
             <xs:complexType name=\"t\"><xs:complexContent><xs:extension base=\"base\">\
             <xs:sequence><xs:choice><xs:sequence>\
             <xs:element name=\"e\" type=\"{b}\"/></xs:sequence></xs:choice></xs:sequence>\
             </xs:extension></xs:complexContent></xs:complexType>\n\
             </xs:schema>"
        )
    };
    assert_refused_at(
        &schema("xs:string", "xs:int"),
        3,
        "declares element e twice with different types",
        &schema("xs:string", "xs:string"),
    );
    // Within one sequence, and anonymous types are never the same definition.
    let twice = |a: &str, b: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:element name=\"r\"><xs:complexType><xs:sequence>{a}{b}</xs:sequence>\
             </xs:complexType></xs:element></xs:schema>"
        )
    };
    let anon = r#"<xs:element name="e"><xs:simpleType><xs:restriction base="xs:int"/></xs:simpleType></xs:element>"#;
    let errors = compile_schema_text(&twice(anon, anon)).expect_err("two anonymous types");
    assert!(
        errors.iter().any(|e| e.contains("an anonymous type")),
        "{errors:?}"
    );
    let global = r#"<xs:element name="g" type="xs:int"/>"#;
    let refs = format!(
        "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">{global}\
         <xs:element name=\"r\"><xs:complexType><xs:sequence>\
         <xs:element ref=\"g\"/><xs:element name=\"x\" type=\"xs:int\"/><xs:element ref=\"g\"/>\
         </xs:sequence></xs:complexType></xs:element></xs:schema>"
    );
    compile_schema_text(&refs).expect("the same declaration twice");
}

/// Derivation Valid (Restriction, Simple) 1.1 (cos-st-restricts.1.1): xs:anySimpleType is
/// not the base of a restriction; list and union derive from it. W3C stZ005, stZ006, stZ011,
/// addB110.
#[test]
fn a_simple_type_restriction_of_any_simple_type_is_refused() {
    let schema = |base: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:simpleType name=\"t\"><xs:restriction base=\"{base}\"/></xs:simpleType>\n\
             <xs:element name=\"e\" type=\"xs:anySimpleType\"/></xs:schema>"
        )
    };
    assert_refused_at(
        &schema("xs:anySimpleType"),
        2,
        "xs:anySimpleType cannot be the base of a simple type restriction",
        &schema("xs:string"),
    );
}

/// One name, one notation: a second top-level xs:notation of the same name is refused like
/// any other duplicate component (W3C notatB005).
#[test]
fn a_duplicate_notation_is_refused() {
    let schema = |second: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:notation name=\"jpeg\" public=\"image/jpeg\"/>\n\
             <xs:notation name=\"{second}\" public=\"image/jpeg\"/>\n</xs:schema>"
        )
    };
    assert_refused_at(
        &schema("jpeg"),
        3,
        "duplicate notation '{}jpeg'",
        &schema("png"),
    );
}

/// Element Locally Valid (Complex Type) 5 (cvc-complex-type.5): the attribute wildcard lets
/// through at most one attribute of type ID (or derived from it), and none when the type
/// declares an ID attribute of its own. W3C attZ014a, attZ014b.
#[test]
fn at_most_one_id_attribute_through_the_attribute_wildcard() {
    let schema = |own: &str| {
        format!(
            r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:simpleType name="st"><xs:restriction base="xs:ID"/></xs:simpleType>
  <xs:element name="doc"><xs:complexType>{own}<xs:anyAttribute processContents="lax"/></xs:complexType></xs:element>
  <xs:attribute name="a" type="xs:ID"/>
  <xs:attribute name="b" type="st"/>
  <xs:attribute name="c" type="xs:string"/>
</xs:schema>"#
        )
    };
    let validate = |schema: &str, doc: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.xsd");
        std::fs::write(&path, schema).expect("write");
        let g = xsd::compile_file(&path, &Limits::default()).expect("compiles");
        xsd::validate_bytes(
            &g,
            doc.as_bytes(),
            &Limits::default(),
            &ValidationOptions::default(),
        )
    };
    let plain = schema("");
    assert!(validate(&plain, r#"<doc a="x" c="y"/>"#).is_valid());
    let two = validate(&plain, r#"<doc a="x" b="y"/>"#);
    assert_eq!(kinds(&two), vec![ErrorKind::Id], "{:?}", two.errors);
    assert!(two.errors[0].message.contains("cvc-complex-type.5.1"));
    let own = schema(r#"<xs:attribute name="k" type="xs:ID"/>"#);
    assert!(validate(&own, r#"<doc k="x" c="y"/>"#).is_valid());
    let both = validate(&own, r#"<doc b="y" c="z"/>"#);
    assert_eq!(kinds(&both), vec![ErrorKind::Id], "{:?}", both.errors);
    assert!(both.errors[0].message.contains("cvc-complex-type.5.2"));
}

/// cvc-elt.3.1: xsi:nil may stand only on a nillable element — even `xsi:nil="false"`
/// (W3C elemO011); on a nillable one `false` leaves the content as it is.
#[test]
fn xsi_nil_false_on_an_element_that_is_not_nillable_is_invalid() {
    let g = grammar();
    let r = check(
        &g,
        r#"><t:item><t:a>1</t:a></t:item><t:n xsi:nil="false">1.5</t:n>"#,
    );
    assert!(r.is_valid(), "{:?}", r.errors);
    for value in ["false", "0", "true"] {
        let r = check(
            &g,
            &format!(r#"><t:item><t:a>1</t:a></t:item><t:d xsi:nil="{value}">2</t:d>"#),
        );
        assert_eq!(kinds(&r), vec![ErrorKind::Nil], "{value}: {:?}", r.errors);
    }
}

/// cos-particle-restrict 2.1: an element particle whose declaration heads a substitution
/// group stands for a choice of the head and its members; restricting it by the same particle
/// is valid (W3C elemZ025, elemZ027_e/f, elemZ028a: before, the expansion recursed into the
/// head's own alternative and the valid restriction was refused).
#[test]
fn a_substitution_group_head_restricted_by_itself_is_a_valid_restriction() {
    let schema = |r_min: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:element name=\"head\"/><xs:element name=\"sub1\" substitutionGroup=\"head\"/>\n\
             <xs:element name=\"sub2\" substitutionGroup=\"sub1\"/>\n\
             <xs:complexType name=\"base\"><xs:sequence>\
             <xs:element ref=\"head\" minOccurs=\"2\" maxOccurs=\"5\"/></xs:sequence></xs:complexType>\n\
             <xs:complexType name=\"derived\"><xs:complexContent><xs:restriction base=\"base\">\
             <xs:sequence><xs:element ref=\"head\" minOccurs=\"{r_min}\" maxOccurs=\"5\"/>\
             </xs:sequence></xs:restriction></xs:complexContent></xs:complexType>\n\
             </xs:schema>"
        )
    };
    // Same range, and a narrower one: valid; a wider one (min 1 < 2): refused.
    assert_refused_at(&schema("1"), 5, "not a valid restriction", &schema("2"));
    compile_schema_text(&schema("3")).expect("a narrower range restricts");
}

/// Attribute Wildcard Union (cos-aw-union, XSD 1.0 with erratum E1-10), as an extension
/// computes it: `##other` (not the target namespace, not absent) with a list holding absent
/// but not the target namespace is not expressible (5.3, W3C wildZ013); with the target
/// namespace and absent it is `##any` (5.1).
#[test]
fn an_inexpressible_attribute_wildcard_union_is_refused() {
    let schema = |ext: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"urn:a\" \
             xmlns:a=\"urn:a\">\n\
             <xs:complexType name=\"base\"><xs:anyAttribute namespace=\"##other\"/></xs:complexType>\n\
             <xs:complexType name=\"derived\"><xs:complexContent><xs:extension base=\"a:base\">\
             <xs:anyAttribute namespace=\"{ext}\"/></xs:extension></xs:complexContent></xs:complexType>\n\
             </xs:schema>"
        )
    };
    assert_refused_at(
        &schema("##local urn:b"),
        3,
        "not expressible",
        &schema("##local ##targetNamespace"),
    );
    compile_schema_text(&schema("urn:b urn:c")).expect("5.4: stays ##other");
}

/// A notation names a public identifier, a system identifier or both (W3C notatB001 with
/// neither is invalid; errC004 with `system` alone is valid).
#[test]
fn a_notation_without_public_and_system_is_refused() {
    let schema = |attrs: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:notation name=\"n\"{attrs}/>\n</xs:schema>"
        )
    };
    assert_refused_at(
        &schema(""),
        2,
        "xs:notation needs a public or a system attribute",
        &schema(r#" system="viewer.exe""#),
    );
    compile_schema_text(&schema(r#" public="image/jpeg""#)).expect("public alone");
}

/// Issue 18, goal 5 (W3C tests the JDK passes and we failed): a reference to an `xs:all`
/// group is the whole content model and occurs at most once (cos-all-limited; msData mgA020,
/// particlesEa025).
#[test]
fn an_all_group_reached_through_a_reference_stays_the_whole_content_model_once() {
    let schema = |content: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:group name=\"g\"><xs:all><xs:element name=\"a\"/></xs:all></xs:group>\n\
             <xs:element name=\"r\"><xs:complexType>\n{content}\n</xs:complexType></xs:element>\n\
             </xs:schema>"
        )
    };
    assert_refused_at(
        &schema(r#"<xs:sequence><xs:element name="b"/><xs:group ref="g"/></xs:sequence>"#),
        4,
        "an xs:all group must be the whole content model",
        &schema(r#"<xs:group ref="g"/>"#),
    );
    assert_refused_at(
        &schema(r#"<xs:choice><xs:group ref="g"/></xs:choice>"#),
        4,
        "an xs:all group must be the whole content model",
        &schema(r#"<xs:group ref="g" minOccurs="0"/>"#),
    );
    assert_refused_at(
        &schema(r#"<xs:group ref="g" maxOccurs="2"/>"#),
        4,
        "a reference to an xs:all group must have maxOccurs 1",
        &schema(r#"<xs:group ref="g" maxOccurs="1"/>"#),
    );
}

/// Issue 18, goal 5: an exclusive bound may equal the opposite exclusive bound given in the
/// same restriction, not the base type's (minExclusive / maxExclusive valid restriction; msData
/// int_minExclusive006i).
#[test]
fn an_exclusive_bound_equal_to_the_base_types_opposite_exclusive_bound_is_refused() {
    let schema = |base: &str, derived: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:simpleType name=\"b\"><xs:restriction base=\"xs:int\">{base}</xs:restriction></xs:simpleType>\n\
             <xs:simpleType name=\"d\"><xs:restriction base=\"b\">{derived}</xs:restriction></xs:simpleType>\n\
             </xs:schema>"
        )
    };
    assert_refused_at(
        &schema(
            r#"<xs:maxExclusive value="10"/>"#,
            r#"<xs:minExclusive value="10"/>"#,
        ),
        3,
        "equal to the base type's opposite exclusive bound",
        &schema(
            r#"<xs:maxExclusive value="10"/>"#,
            r#"<xs:minExclusive value="9"/>"#,
        ),
    );
    assert_refused_at(
        &schema(
            r#"<xs:minExclusive value="3"/>"#,
            r#"<xs:maxExclusive value="3"/>"#,
        ),
        3,
        "equal to the base type's opposite exclusive bound",
        // Both in one step: allowed (an empty value space, but no error).
        &schema(
            "",
            r#"<xs:minExclusive value="3"/><xs:maxExclusive value="3"/>"#,
        ),
    );
}

/// Issue 18, goal 5: the document an `xs:import` reaches has the target namespace the import
/// names, or none when the import names none (src-import 3; msData schF6, schG13) — checked
/// on every import of it, also when another reference read it first.
#[test]
fn an_import_whose_document_has_another_target_namespace_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    write(
        "a.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:a"/>"#,
    );
    write(
        "none.xsd",
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="e"/></xs:schema>"#,
    );
    let entry = |name: &str, imports: &str| {
        write(
            name,
            &format!(
                "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" targetNamespace=\"urn:e\">\n{imports}\n</xs:schema>"
            ),
        )
    };
    let errors = |path: &std::path::Path| -> Vec<String> {
        match xsd::compile_file(path, &Limits::default()) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .errors()
                .iter()
                .map(|e| format!("{}: {}", e.line, e.message))
                .collect(),
        }
    };
    let ok = entry(
        "ok.xsd",
        r#"<xs:import namespace="urn:a" schemaLocation="a.xsd"/><xs:import schemaLocation="none.xsd"/>"#,
    );
    assert_eq!(errors(&ok), Vec::<String>::new());
    let other = entry(
        "other.xsd",
        r#"<xs:import namespace="urn:a" schemaLocation="a.xsd"/>
<xs:import namespace="urn:b" schemaLocation="a.xsd"/>"#,
    );
    assert_eq!(
        errors(&other),
        vec![
            "3: xs:import names namespace 'urn:b', but the document at its schemaLocation has \
             target namespace 'urn:a' (src-import)"
                .to_owned()
        ]
    );
    let none = entry(
        "none-named.xsd",
        r#"<xs:import namespace="urn:n" schemaLocation="none.xsd"/>"#,
    );
    assert!(
        errors(&none).iter().any(|e| e.starts_with("2: ")
            && e.contains("names namespace 'urn:n'")
            && e.contains("has no target namespace")),
        "{:?}",
        errors(&none)
    );
    let unnamed = entry("unnamed.xsd", r#"<xs:import schemaLocation="a.xsd"/>"#);
    assert!(
        errors(&unnamed)
            .iter()
            .any(|e| e.contains("names no namespace") && e.contains("target namespace 'urn:a'")),
        "{:?}",
        errors(&unnamed)
    );
}

/// Issue 18, goal 5: the simple type given inside a simpleContent restriction derives from the
/// base's simple content (src-ct 2.2; msData particlesZ018), and a complexContent extension
/// adds no elements to a base with simple content (cos-ct-extends 1.4; msData addB033/036).
#[test]
fn simple_content_keeps_its_simple_type_through_derivations() {
    let schema = |body: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:complexType name=\"b\"><xs:simpleContent><xs:extension base=\"xs:decimal\">\
             <xs:attribute name=\"a\"/></xs:extension></xs:simpleContent></xs:complexType>\n\
             {body}\n</xs:schema>"
        )
    };
    let restricted = |item: &str| {
        schema(&format!(
            "<xs:complexType name=\"r\"><xs:simpleContent><xs:restriction base=\"b\">\n\
             {item}\n</xs:restriction></xs:simpleContent></xs:complexType>"
        ))
    };
    assert_refused_at(
        &restricted(r#"<xs:simpleType><xs:list itemType="xs:int"/></xs:simpleType>"#),
        4,
        "must be derived from the base type's simple content (src-ct 2.2)",
        &restricted(
            r#"<xs:simpleType><xs:restriction base="xs:int"><xs:minInclusive value="0"/></xs:restriction></xs:simpleType>"#,
        ),
    );
    let extended = |content: &str| {
        schema(&format!(
            "<xs:complexType name=\"e\"{content}</xs:complexType>"
        ))
    };
    assert_refused_at(
        &extended(
            "><xs:complexContent><xs:extension base=\"b\">\n\
             <xs:sequence><xs:element name=\"x\"/></xs:sequence></xs:extension></xs:complexContent>",
        ),
        3,
        "cannot add elements or mixed content to a base type with simple content",
        &extended(
            "><xs:simpleContent><xs:extension base=\"b\">\n\
             <xs:attribute name=\"c\"/></xs:extension></xs:simpleContent>",
        ),
    );
}

/// Issue 18, goal 5: the attributes the schema for schemas types as xs:anyURI are checked
/// (msData anyURI_a001: `source` of xs:appinfo / xs:documentation; namespace lists of
/// wildcards), with the engine's one anyURI rule.
#[test]
fn any_uri_attributes_of_schema_documents_are_checked() {
    let schema = |body: &str| {
        format!("<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n{body}\n</xs:schema>")
    };
    assert_refused_at(
        &schema(r#"<xs:annotation><xs:appinfo source="1111http://foo/bar"/></xs:annotation>"#),
        2,
        "xs:appinfo/@source: '1111http://foo/bar' is not a valid anyURI",
        &schema(r#"<xs:annotation><xs:appinfo source="http://foo/bar"/></xs:annotation>"#),
    );
    assert_refused_at(
        &schema(r#"<xs:annotation><xs:documentation source=" a#b#c "/></xs:annotation>"#),
        2,
        "xs:documentation/@source: 'a#b#c' is not a valid anyURI",
        &schema(r#"<xs:annotation><xs:documentation source=" ../a#b "/></xs:annotation>"#),
    );
    let wildcard = |namespace: &str| {
        schema(&format!(
            "<xs:complexType name=\"t\">\n<xs:anyAttribute namespace=\"{namespace}\"/></xs:complexType>"
        ))
    };
    assert_refused_at(
        &wildcard("##local 9:x"),
        3,
        "is not a namespace constraint",
        &wildcard("##local urn:x 2"),
    );
}

/// Issue 18, goal 5: two components of the same name in the redefinitions of one document are
/// a duplicate (msData schT2); before, the second took the first for its original.
#[test]
fn a_component_redefined_twice_in_one_document_is_a_duplicate() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("base.xsd"),
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:attributeGroup name="g"><xs:attribute name="a"/></xs:attributeGroup>
</xs:schema>"#,
    )
    .expect("write");
    let redefining = |groups: usize| {
        let group = r#"<xs:attributeGroup name="g"><xs:attribute name="a" type="xs:int"/></xs:attributeGroup>"#;
        let path = dir.path().join(format!("r{groups}.xsd"));
        std::fs::write(
            &path,
            format!(
                "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
                 <xs:redefine schemaLocation=\"base.xsd\">\n{}\n</xs:redefine>\n</xs:schema>",
                vec![group; groups].join("\n")
            ),
        )
        .expect("write");
        xsd::compile_file(&path, &Limits::default())
            .map(drop)
            .map_err(|e| {
                e.errors()
                    .iter()
                    .map(|e| format!("{}: {}", e.line, e.message))
                    .collect::<Vec<_>>()
            })
    };
    assert_eq!(redefining(1), Ok(()));
    assert_eq!(
        redefining(2),
        Err(vec![
            "4: duplicate attributeGroup '{}g' in xs:redefine (also redefined at line 3)"
                .to_owned()
        ])
    );
}

/// Issue 18, goal 5: an `xs:all` with one particle and occurrence (1,1) is pointless in a
/// particle restriction, like a sequence or choice of one (§3.9.6 clause 2.2; msData
/// particlesHa122): restricting a sequence of one element by an all of that element is valid.
#[test]
fn an_all_of_one_element_restricts_a_sequence_of_that_element() {
    let schema = |derived: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:complexType name=\"base\"><xs:sequence><xs:element name=\"e1\" type=\"xs:string\"/>\
             </xs:sequence></xs:complexType>\n\
             <xs:complexType name=\"derived\"><xs:complexContent><xs:restriction base=\"base\">\n\
             {derived}\n</xs:restriction></xs:complexContent></xs:complexType>\n</xs:schema>"
        )
    };
    assert_refused_at(
        &schema(r#"<xs:all><xs:element name="e2" type="xs:string"/></xs:all>"#),
        3,
        "not a valid restriction",
        &schema(r#"<xs:all><xs:element name="e1" type="xs:string"/></xs:all>"#),
    );
}

/// Issue 18, goal 5 (cvc-assess-elt 1.2; W3C msData addB116, addB187, ctZ011_a, which the JDK
/// passes): an element without a declaration — an undeclared root, a match of a strict or lax
/// wildcard — is assessed against the global type its xsi:type names. The gateway's proof of
/// validity still needs a declared root.
#[test]
fn an_undeclared_element_is_assessed_by_its_xsi_type() {
    let g = compile_text(
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:complexType name="T"><xs:sequence><xs:element name="n" type="xs:int"/></xs:sequence></xs:complexType>
  <xs:element name="strict"><xs:complexType><xs:sequence>
    <xs:any processContents="strict" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
  <xs:element name="lax"><xs:complexType><xs:sequence>
    <xs:any processContents="lax" maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>
</xs:schema>"#,
    )
    .expect("schema compiles");
    let run = |doc: &str| {
        xsd::validate_bytes(
            &g,
            doc.as_bytes(),
            &Limits::default(),
            &ValidationOptions::default(),
        )
    };
    let xsi = r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance""#;
    // Strict wildcard: with a type the element is valid when its content fits the type.
    let ok = run(&format!(
        r#"<strict {xsi}><a xsi:type="T"><n>1</n></a><b xsi:type="xs:int" xmlns:xs="http://www.w3.org/2001/XMLSchema">12</b></strict>"#
    ));
    assert!(ok.is_valid(), "{:?}", ok.errors);
    assert!(ok.into_validated().is_ok(), "the root is declared");
    let bad = run(&format!(
        r#"<strict {xsi}><a xsi:type="T"><n>x</n></a></strict>"#
    ));
    assert_eq!(
        kinds(&bad),
        vec![ErrorKind::InvalidValue],
        "{:?}",
        bad.errors
    );
    let untyped = run(&format!(r#"<strict {xsi}><a><n>1</n></a></strict>"#));
    assert_eq!(kinds(&untyped), vec![ErrorKind::UnexpectedElement]);
    let unknown = run(&format!(r#"<strict {xsi}><a xsi:type="Nope"/></strict>"#));
    assert_eq!(kinds(&unknown), vec![ErrorKind::UnexpectedElement]);
    // Lax wildcard: untyped content stays unassessed, typed content is checked.
    assert!(run(&format!(r#"<lax {xsi}><a><n>x</n></a></lax>"#)).is_valid());
    let lax_bad = run(&format!(r#"<lax {xsi}><a xsi:type="T"><m/></a></lax>"#));
    assert_eq!(
        kinds(&lax_bad),
        vec![ErrorKind::UnexpectedElement, ErrorKind::MissingElement]
    );
    // An undeclared root: valid by its type, but no message root (no proof).
    let root = run(&format!(r#"<doc {xsi} xsi:type="T"><n>7</n></doc>"#));
    assert!(root.is_valid(), "{:?}", root.errors);
    assert_eq!(root.root, None);
    assert!(root.into_validated().is_err());
    let root_bad = run(&format!(
        r#"<doc {xsi} xsi:type="T"><n>7</n><n>8</n></doc>"#
    ));
    assert_eq!(kinds(&root_bad), vec![ErrorKind::UnexpectedElement]);
    let root_untyped = run(&format!(r#"<doc {xsi}><n>7</n></doc>"#));
    assert_eq!(kinds(&root_untyped), vec![ErrorKind::UnknownRoot]);
}

/// Issue 18, goal 5: a type derives from a union through a member only when it is (or derives
/// from) that member itself; a restriction without facets is a type of its own, not its base
/// (cos-st-derived-ok 2.2.4; W3C msData particlesIk025/027, which the JDK passed).
#[test]
fn a_facetless_restriction_is_not_the_union_member_it_shares_a_base_with() {
    let schema = |restricted: &str| {
        format!(
            "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\">\n\
             <xs:simpleType name=\"M\"><xs:restriction base=\"xs:integer\"/></xs:simpleType>\n\
             <xs:simpleType name=\"S\"><xs:restriction base=\"xs:integer\"/></xs:simpleType>\n\
             <xs:simpleType name=\"U\"><xs:union memberTypes=\"M xs:string\"/></xs:simpleType>\n\
             <xs:complexType name=\"B\"><xs:sequence><xs:element name=\"c\" type=\"U\"/></xs:sequence></xs:complexType>\n\
             <xs:complexType name=\"R\"><xs:complexContent><xs:restriction base=\"B\">\n\
             <xs:sequence><xs:element name=\"c\" type=\"{restricted}\"/></xs:sequence>\n\
             </xs:restriction></xs:complexContent></xs:complexType>\n</xs:schema>"
        )
    };
    assert_refused_at(&schema("S"), 6, "not a valid restriction", &schema("M"));
    // A built-in member is the built-in itself.
    let builtin = schema("xs:string");
    if let Err(errors) = compile_schema_text(&builtin) {
        panic!("a built-in member type: {errors:?}");
    }
}

/// Fuzz finding (xsd_compile, campaign 2026-12-07): the scan for prefixes in values that may
/// hold QNames (`value`, `default`, `fixed`, `xpath`) started a prefix one byte after the
/// character before it — inside that character when it takes several bytes (`«`, or U+0302,
/// a name character the scan did not count as one): the compiler panicked.
#[test]
fn a_prefix_after_a_multi_byte_character_in_a_schema_value_is_read_whole() {
    let g = compile_text(
        "<xs:schema xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:t=\"urn:t\" \
         targetNamespace=\"urn:t\" elementFormDefault=\"qualified\">\
         <xs:element name=\"e1\" type=\"xs:string\" fixed=\"\u{ab}t:v\"/>\
         <xs:element name=\"e2\"><xs:simpleType><xs:restriction base=\"xs:string\">\
         <xs:pattern value=\"x\u{302}y:z\"/></xs:restriction></xs:simpleType></xs:element>\
         </xs:schema>",
    )
    .expect("compiles");
    let verdict = |doc: &str| {
        xsd::validate_bytes(
            &g,
            doc.as_bytes(),
            &Limits::default(),
            &ValidationOptions::default(),
        )
        .is_valid()
    };
    assert!(verdict("<t:e1 xmlns:t=\"urn:t\">\u{ab}t:v</t:e1>"));
    assert!(!verdict("<t:e1 xmlns:t=\"urn:t\">t:v</t:e1>"));
    assert!(verdict("<t:e2 xmlns:t=\"urn:t\">x\u{302}y:z</t:e2>"));
    assert!(!verdict("<t:e2 xmlns:t=\"urn:t\">xy:z</t:e2>"));
}
