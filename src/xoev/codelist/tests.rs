use super::*;

const CODE_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    targetNamespace="http://xoev.de/schemata/code/1_0" elementFormDefault="qualified">
  <xs:complexType name="Code">
    <xs:sequence>
      <xs:element name="code" type="xs:token" form="unqualified"/>
      <xs:element name="name" type="xs:normalizedString" minOccurs="0" form="unqualified"/>
    </xs:sequence>
    <xs:attribute name="listURI" type="xs:anyURI"/>
    <xs:attribute name="listVersionID" type="xs:normalizedString"/>
  </xs:complexType>
</xs:schema>"#;

const MSG_XSD: &str = r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:c="http://xoev.de/schemata/code/1_0" xmlns:m="urn:m" targetNamespace="urn:m"
    elementFormDefault="qualified">
  <xs:import namespace="http://xoev.de/schemata/code/1_0" schemaLocation="code.xsd"/>
  <!-- Typ 1: enumerated -->
  <xs:complexType name="Code.Enum">
    <xs:complexContent><xs:restriction base="c:Code">
      <xs:sequence>
        <xs:element name="code" form="unqualified"><xs:simpleType>
          <xs:restriction base="xs:token"><xs:enumeration value="A"/></xs:restriction>
        </xs:simpleType></xs:element>
        <xs:element name="name" type="xs:normalizedString" minOccurs="0" form="unqualified"/>
      </xs:sequence>
      <xs:attribute name="listURI" type="xs:anyURI" fixed="urn:enum"/>
      <xs:attribute name="listVersionID" type="xs:normalizedString" fixed="1"/>
    </xs:restriction></xs:complexContent>
  </xs:complexType>
  <!-- Typ 3: URI fixed, version in the instance -->
  <xs:complexType name="Code.Land">
    <xs:complexContent><xs:restriction base="c:Code">
      <xs:sequence>
        <xs:element name="code" type="xs:token" form="unqualified"/>
        <xs:element name="name" type="xs:normalizedString" minOccurs="0" form="unqualified"/>
      </xs:sequence>
      <xs:attribute name="listURI" type="xs:anyURI" fixed="urn:land"/>
      <xs:attribute name="listVersionID" type="xs:normalizedString" use="required"/>
    </xs:restriction></xs:complexContent>
  </xs:complexType>
  <!-- Typ 4: both in the instance -->
  <xs:complexType name="Code.Frei">
    <xs:complexContent><xs:restriction base="c:Code">
      <xs:sequence>
        <xs:element name="code" type="xs:token" form="unqualified"/>
        <xs:element name="name" type="xs:normalizedString" minOccurs="0" form="unqualified"/>
      </xs:sequence>
      <xs:attribute name="listURI" type="xs:anyURI" use="required"/>
      <xs:attribute name="listVersionID" type="xs:normalizedString" use="required"/>
    </xs:restriction></xs:complexContent>
  </xs:complexType>
  <xs:element name="msg">
    <xs:complexType><xs:sequence>
      <xs:element name="art" type="m:Code.Enum" minOccurs="0"/>
      <xs:element name="land" type="m:Code.Land" minOccurs="0" maxOccurs="unbounded"/>
      <xs:element name="frei" type="m:Code.Frei" minOccurs="0"/>
      <xs:element name="code" type="xs:token" minOccurs="0"/>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>"#;

const LAND: &str = r#"<gc:CodeList xmlns:gc="http://docs.oasis-open.org/codelist/ns/genericode/1.0/">
  <Identification><ShortName>land</ShortName><Version>2010</Version><CanonicalUri>urn:land</CanonicalUri></Identification>
  <ColumnSet><Column Id="k"/><Key Id="kk"><ColumnRef Ref="k"/></Key></ColumnSet>
  <SimpleCodeList><Row><Value ColumnRef="k"><SimpleValue>01</SimpleValue></Value></Row></SimpleCodeList>
</gc:CodeList>"#;

fn grammar(dir: &Path) -> Grammar {
    std::fs::write(dir.join("code.xsd"), CODE_XSD).expect("write");
    std::fs::write(dir.join("msg.xsd"), MSG_XSD).expect("write");
    crate::xsd::compile_file(&dir.join("msg.xsd"), &Limits::default()).expect("compiles")
}

fn run(g: &Grammar, lists: &CodeLists, doc: &str, overrides: &Overrides) -> CodeReport {
    check(
        g,
        lists,
        doc.as_bytes(),
        &Limits::default(),
        CheckOptions {
            show_values: false,
            max_findings: 10,
        },
        overrides,
    )
    .expect("XSD-valid")
}

#[test]
fn codes_are_checked_by_the_type_the_xsd_gives_them() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let g = grammar(tmp.path());
    std::fs::write(tmp.path().join("land.xml"), LAND).expect("write");
    let lists =
        CodeLists::load(&[tmp.path().join("land.xml")], &XmlLimits::default()).expect("loads");
    assert_eq!(lists.len(), 1);
    let doc = r#"<m:msg xmlns:m="urn:m">
  <m:art><code>A</code></m:art>
  <m:land listVersionID="2010"><code> 01 </code></m:land>
  <m:land listVersionID="2010"><code>ZZ</code></m:land>
  <m:land listVersionID="1999"><code>01</code></m:land>
  <m:frei listURI="urn:other" listVersionID="1"><code>x</code></m:frei>
  <m:code>ZZ</m:code>
</m:msg>"#;
    // The document is XSD-valid.
    assert!(
        crate::xsd::validate_bytes(
            &g,
            doc.as_bytes(),
            &Limits::default(),
            &ValidationOptions::default()
        )
        .is_valid()
    );
    let report = run(&g, &lists, doc, &Overrides::new());
    let got: Vec<(&str, Severity, u64, &str)> = report
        .findings
        .iter()
        .map(|f| (f.rule.as_str(), f.severity, f.line, f.path.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            (RULE_VALUE, Severity::Error, 4, "/m:msg/m:land"),
            (RULE_UNKNOWN, Severity::Warning, 5, "/m:msg/m:land"),
            (RULE_UNKNOWN, Severity::Warning, 6, "/m:msg/m:frei"),
        ]
    );
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.kind == FindingKind::CodeList)
    );
    // No value without show_values; the list and version are named.
    assert_eq!(
        report.findings[0].message,
        "code not in code list urn:land version 2010"
    );
    assert!(!report.findings.iter().any(|f| f.message.contains("ZZ")));
    // A URI the schema fixes is named; one the sender chose and no installed list has is not.
    assert_eq!(
        report.findings[1].message,
        "code list urn:land version 1999 is not installed; the code was not checked"
    );
    assert_eq!(
        report.findings[2].message,
        "a code list (listURI not among the installed lists) version 1 is not installed; the code was not checked"
    );
    // The unknown-list severity is configurable like a rule's.
    let overrides: Overrides = [(RULE_UNKNOWN.to_owned(), Severity::Error)].into();
    let report = run(&g, &lists, doc, &overrides);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.severity == Severity::Error)
    );
    // Findings beyond the limit are cut off and marked.
    let report = check(
        &g,
        &lists,
        doc.as_bytes(),
        &Limits::default(),
        CheckOptions {
            show_values: true,
            max_findings: 1,
        },
        &Overrides::new(),
    )
    .expect("XSD-valid");
    assert!(report.truncated);
    assert_eq!(
        report.findings[0].message,
        "code not in code list urn:land version 2010 (\"ZZ\")"
    );
}

#[test]
fn conflicting_lists_of_one_version_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("a.xml"), LAND).expect("write");
    std::fs::write(tmp.path().join("b.xml"), LAND.replace(">01<", ">02<")).expect("write");
    std::fs::write(tmp.path().join("c.xml"), "<notalist/>").expect("write");
    let xml = XmlLimits::default();
    let err = CodeLists::load(&[tmp.path().join("a.xml"), tmp.path().join("b.xml")], &xml)
        .expect_err("conflict");
    assert!(err.contains("b.xml") && err.contains("urn:land"), "{err}");
    let err = CodeLists::load(&[tmp.path().join("c.xml")], &xml).expect_err("not a list");
    assert!(err.starts_with("c.xml: not a genericode"), "{err}");
}

#[test]
fn the_json_schema_enumerates_typ1_codes_and_the_installed_lists_of_fixed_list_uris() {
    use crate::xoev::json_schema::json_schema_with_lists;
    use crate::xoev::transform::{MessageIdentity, transform};
    let tmp = tempfile::tempdir().expect("tempdir");
    let g = grammar(tmp.path());
    let mut lists = CodeLists::default();
    lists.insert(genericode::read(LAND.as_bytes(), &XmlLimits::default(), 10).expect("list"));
    let schema = json_schema_with_lists(&g, "urn:m", "msg", Some(&lists)).expect("schema");
    let text = schema.to_string();
    assert!(text.contains(r#""enum":["A"]"#), "Typ 1: {text}");
    assert!(
        text.contains(r#"{"if":{"properties":{"listVersionID":{"const":"2010"}},"required":["listVersionID"]},"then":{"properties":{"code":{"enum":["01"]}}}}"#),
        "Typ 3: {text}"
    );
    let validator = jsonschema::validator_for(&schema).expect("compiles");
    let identity = MessageIdentity {
        standard: "Test".into(),
        version: "1".into(),
        message_type: "msg".into(),
        namespace: "urn:m".into(),
        schema_uri: None,
        schema_pack: "test@none".into(),
        pass_through: false,
    };
    let json_of = |doc: &str| {
        transform(&g, &identity, doc.as_bytes(), &Limits::default())
            .expect("valid")
            .to_json()
    };
    let good = json_of(
        r#"<m:msg xmlns:m="urn:m"><m:art><code>A</code></m:art><m:land listVersionID="2010"><code>01</code></m:land><m:land listVersionID="1999"><code>77</code></m:land></m:msg>"#,
    );
    assert!(validator.is_valid(&good), "{good}");
    // A code not in the installed version's list, a Typ 1 code not enumerated: refused.
    let mut bad = good.clone();
    bad["data"]["land"][0]["code"] = "02".into();
    assert!(!validator.is_valid(&bad));
    let mut bad = good;
    bad["data"]["art"]["code"] = "B".into();
    assert!(!validator.is_valid(&bad));
    // Without lists: only the XSD's enumerations.
    let plain = json_schema_with_lists(&g, "urn:m", "msg", None).expect("schema");
    assert!(!plain.to_string().contains("listVersionID\":{\"const"));
}
