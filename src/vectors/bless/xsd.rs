//! `xsd` cases: the project's own schema (`xsd/schemas/antrag.xsd`, an XÖV-like application)
//! and our own instance documents, each breaking one clause of XML Schema 1.0 Part 1
//! ("Validation Rules") or Part 2 (datatypes and facets).
//!
//! Every instance is the valid base document with one edit, so the line of the fault is known
//! when the case is written; the position is that of the event revealing the fault: the `<` of
//! the start tag (values, attributes, unexpected elements, identity constraints), of the end tag
//! (missing content, well-formedness of end tags) or the first character of offending text.

use serde_json::{Value, json};

use super::Gen;
use crate::vectors::{Kind, VectorsError};

const SCHEMA: &str = r###"<?xml version="1.0" encoding="UTF-8"?>
<!-- Test-vector schema of the poststelle project (not an XÖV standard). Licence: see README. -->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:a="urn:poststelle:test-vectors:antrag"
           targetNamespace="urn:poststelle:test-vectors:antrag"
           elementFormDefault="qualified">
  <xs:element name="antrag" type="a:Antrag">
    <xs:key name="personKey">
      <xs:selector xpath="a:person"/>
      <xs:field xpath="@id"/>
    </xs:key>
    <xs:keyref name="bezugRef" refer="a:personKey">
      <xs:selector xpath="a:bezug"/>
      <xs:field xpath="@person"/>
    </xs:keyref>
  </xs:element>
  <xs:complexType name="Antrag">
    <xs:sequence>
      <xs:element name="kopf" type="a:Kopf"/>
      <xs:element name="person" type="a:Person" maxOccurs="3"/>
      <xs:choice>
        <xs:element name="gewerbe" type="a:Gewerbe"/>
        <xs:element name="bau" type="a:Bau"/>
      </xs:choice>
      <xs:element name="bezug" minOccurs="0" maxOccurs="unbounded">
        <xs:complexType>
          <xs:attribute name="person" type="xs:string" use="required"/>
        </xs:complexType>
      </xs:element>
      <xs:element name="zustimmung" type="xs:boolean"/>
      <xs:element name="bemerkung" type="xs:string" minOccurs="0" nillable="true"/>
      <xs:element name="anhang" minOccurs="0">
        <xs:complexType>
          <xs:sequence>
            <xs:any namespace="##other" processContents="lax" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="version" type="xs:string" use="required" fixed="1.0"/>
  </xs:complexType>
  <xs:complexType name="Kopf">
    <xs:sequence>
      <xs:element name="nachrichtID" type="a:UUID"/>
      <xs:element name="erstellt" type="xs:dateTime"/>
    </xs:sequence>
  </xs:complexType>
  <xs:simpleType name="UUID">
    <xs:restriction base="xs:string">
      <xs:pattern value="[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"/>
    </xs:restriction>
  </xs:simpleType>
  <xs:complexType name="Person">
    <xs:sequence>
      <xs:element name="name">
        <xs:simpleType>
          <xs:restriction base="xs:string">
            <xs:minLength value="1"/>
            <xs:maxLength value="20"/>
          </xs:restriction>
        </xs:simpleType>
      </xs:element>
      <xs:element name="geburtsdatum" type="xs:date"/>
      <xs:element name="plz">
        <xs:simpleType>
          <xs:restriction base="xs:string">
            <xs:pattern value="\d{5}"/>
          </xs:restriction>
        </xs:simpleType>
      </xs:element>
      <xs:element name="staat">
        <xs:simpleType>
          <xs:restriction base="xs:token">
            <xs:enumeration value="DE"/>
            <xs:enumeration value="AT"/>
            <xs:enumeration value="CH"/>
          </xs:restriction>
        </xs:simpleType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="id" type="xs:string" use="required"/>
  </xs:complexType>
  <xs:complexType name="Gewerbe">
    <xs:sequence>
      <xs:element name="taetigkeit" type="xs:string"/>
      <xs:element name="beschaeftigte">
        <xs:simpleType>
          <xs:restriction base="xs:nonNegativeInteger">
            <xs:maxInclusive value="9999"/>
          </xs:restriction>
        </xs:simpleType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>
  <xs:complexType name="Bau">
    <xs:sequence>
      <xs:element name="flaeche">
        <xs:simpleType>
          <xs:restriction base="xs:decimal">
            <xs:totalDigits value="6"/>
            <xs:fractionDigits value="2"/>
          </xs:restriction>
        </xs:simpleType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>
</xs:schema>
"###;

/// The valid base document, one line per entry (line numbers are index + 1).
pub(super) const BASE: &[&str] = &[
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<antrag xmlns="urn:poststelle:test-vectors:antrag" version="1.0">"#,
    r"  <kopf>",
    r"    <nachrichtID>3f2c9a9e-0d6b-4c55-9a2e-6f7f3b1e2d10</nachrichtID>",
    r"    <erstellt>2025-12-31T23:59:00Z</erstellt>",
    r"  </kopf>",
    r#"  <person id="p1">"#,
    r"    <name>Erika Mustermann</name>",
    r"    <geburtsdatum>1964-08-12</geburtsdatum>",
    r"    <plz>10115</plz>",
    r"    <staat>DE</staat>",
    r"  </person>",
    r"  <gewerbe>",
    r"    <taetigkeit>Softwareentwicklung</taetigkeit>",
    r"    <beschaeftigte>3</beschaeftigte>",
    r"  </gewerbe>",
    r#"  <bezug person="p1"/>"#,
    r"  <zustimmung>true</zustimmung>",
    r"</antrag>",
];

const PERSON: &[&str] = &[
    r#"  <person id="p2">"#,
    r"    <name>Max Mustermann</name>",
    r"    <geburtsdatum>1960-01-31</geburtsdatum>",
    r"    <plz>80331</plz>",
    r"    <staat>AT</staat>",
    r"  </person>",
];

/// Another person with the given id (leaked: the generator runs once per process).
fn person(id: &str) -> [&'static str; 6] {
    let open: &'static str = Box::leak(format!(r#"  <person id="{id}">"#).into_boxed_str());
    [open, PERSON[1], PERSON[2], PERSON[3], PERSON[4], PERSON[5]]
}

/// One edit of the base document: replace lines `from..=to` (1-based) with `with`.
pub(super) struct Edit<'a> {
    pub(super) from: usize,
    pub(super) to: usize,
    pub(super) with: &'a [&'a str],
}

pub(super) fn doc(edits: &[Edit<'_>]) -> String {
    let mut lines: Vec<String> = BASE.iter().map(|s| (*s).to_owned()).collect();
    // Apply from the bottom so earlier line numbers stay valid.
    let mut sorted: Vec<&Edit<'_>> = edits.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse(e.from));
    for e in sorted {
        let new: Vec<String> = e.with.iter().map(|s| (*s).to_owned()).collect();
        lines.splice(e.from - 1..e.to, new);
    }
    lines.join("\n") + "\n"
}

/// Replace one line.
pub(super) fn line(n: usize, with: &'static str) -> Edit<'static> {
    Edit {
        from: n,
        to: n,
        with: Box::leak(Box::new([with])),
    }
}

/// Insert lines before line `n`.
pub(super) fn insert<'a>(n: usize, with: &'a [&'a str]) -> Edit<'a> {
    Edit {
        from: n,
        to: n - 1,
        with,
    }
}

fn valid(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    edits: &[Edit<'_>],
) -> Result<(), VectorsError> {
    add(g, id, desc, rule, edits, json!({"result": "valid"}))
}

fn invalid(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    edits: &[Edit<'_>],
    errors: &[(u64, u64, &str)],
) -> Result<(), VectorsError> {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(l, c, k)| json!({"line": l, "column": c, "kind": k}))
        .collect();
    add(
        g,
        id,
        desc,
        rule,
        edits,
        json!({"result": "invalid", "errors": errors}),
    )
}

fn add(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    edits: &[Edit<'_>],
    expected: Value,
) -> Result<(), VectorsError> {
    let instance = g.file(&format!("xsd/{id}.xml"), doc(edits).as_bytes())?;
    g.case(
        id,
        Kind::Xsd,
        desc,
        rule,
        &[
            ("schema", "xsd/schemas/antrag.xsd".to_owned()),
            ("instance", instance),
        ],
        expected,
    );
    Ok(())
}

#[allow(clippy::too_many_lines)]
pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    g.file("xsd/schemas/antrag.xsd", SCHEMA.as_bytes())?;
    let p1 = "XML Schema 1.0 Part 1 §3.3.4 Element Locally Valid (Element)";
    let seq = "XML Schema 1.0 Part 1 §3.8.4 / cvc-complex-type.2.4 (content model)";
    let val = "XML Schema 1.0 Part 2 §4.1.4 cvc-datatype-valid / cvc-facet-valid";
    valid(g, "xsd-valid-base", "The base document is valid.", p1, &[])?;
    valid(
        g,
        "xsd-valid-choice-bau",
        "The other branch of the choice (bau) with a decimal in range.",
        seq,
        &[Edit {
            from: 13,
            to: 16,
            with: &["  <bau>", "    <flaeche>1234.56</flaeche>", "  </bau>"],
        }],
    )?;
    valid(
        g,
        "xsd-valid-three-persons",
        "person occurs up to three times.",
        seq,
        &[
            insert(13, PERSON),
            insert(
                13,
                &[
                    r#"  <person id="p3">"#,
                    "    <name>A</name>",
                    "    <geburtsdatum>2000-02-29</geburtsdatum>",
                    "    <plz>01067</plz>",
                    "    <staat>CH</staat>",
                    "  </person>",
                ],
            ),
        ],
    )?;
    valid(
        g,
        "xsd-valid-nil-bemerkung",
        "A nillable element with xsi:nil=\"true\" and no content.",
        "XML Schema 1.0 Part 1 §3.3.4 clause 3.3 (xsi:nil)",
        &[insert(
            19,
            &[
                r#"  <bemerkung xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>"#,
            ],
        )],
    )?;
    valid(
        g,
        "xsd-valid-lax-wildcard",
        "Elements of another namespace inside the lax wildcard.",
        "XML Schema 1.0 Part 1 §3.10.4 (wildcard ##other, lax)",
        &[insert(
            19,
            &[
                "  <anhang>",
                r#"    <x:datei xmlns:x="urn:example:other" name="plan.pdf">ZmFrZQ==</x:datei>"#,
                "  </anhang>",
            ],
        )],
    )?;
    valid(
        g,
        "xsd-valid-comments-cdata",
        "Comments, processing instructions and CDATA do not change validity.",
        "XML 1.0 §2.5, §2.7",
        &[
            line(
                14,
                "    <taetigkeit><![CDATA[Software & Beratung]]></taetigkeit><!-- ok -->",
            ),
            insert(3, &["  <?note kein Einfluss?>"]),
        ],
    )?;
    valid(
        g,
        "xsd-valid-token-whitespace",
        "xs:token collapses whitespace before the enumeration is checked.",
        "XML Schema 1.0 Part 2 §4.3.6 (whiteSpace collapse)",
        &[line(11, "    <staat>  DE </staat>")],
    )?;
    valid(
        g,
        "xsd-valid-zero-employees",
        "0 is a nonNegativeInteger.",
        val,
        &[line(15, "    <beschaeftigte>0</beschaeftigte>")],
    )?;
    valid(
        g,
        "xsd-valid-boolean-1",
        "1 is a lexical form of xs:boolean.",
        "XML Schema 1.0 Part 2 §3.2.2 (boolean)",
        &[line(18, "  <zustimmung>1</zustimmung>")],
    )?;

    invalid(
        g,
        "xsd-unknown-root-namespace",
        "The root element is in another namespace.",
        "XML Schema 1.0 Part 1 §3.3.4 cvc-elt.1 (no declaration for the root)",
        &[line(
            2,
            r#"<antrag xmlns="urn:example:other" version="1.0">"#,
        )],
        &[(2, 1, "unknown-root")],
    )?;
    invalid(
        g,
        "xsd-kopf-missing",
        "The first element of the sequence is missing.",
        seq,
        &[Edit {
            from: 3,
            to: 6,
            with: &[],
        }],
        &[(3, 3, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-sequence-order",
        "erstellt before nachrichtID breaks the sequence order.",
        seq,
        &[Edit {
            from: 4,
            to: 5,
            with: &[
                "    <erstellt>2025-12-31T23:59:00Z</erstellt>",
                "    <nachrichtID>3f2c9a9e-0d6b-4c55-9a2e-6f7f3b1e2d10</nachrichtID>",
            ],
        }],
        &[(4, 5, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-unqualified-child",
        "A child in no namespace where a qualified one is required.",
        "XML Schema 1.0 Part 1 §3.3.2 elementFormDefault qualified; cvc-complex-type.2.4",
        &[line(
            4,
            r#"    <nachrichtID xmlns="">3f2c9a9e-0d6b-4c55-9a2e-6f7f3b1e2d10</nachrichtID>"#,
        )],
        &[(4, 5, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-uuid-pattern",
        "nachrichtID does not match the UUID pattern (uppercase).",
        "XML Schema 1.0 Part 2 §4.3.4 cvc-pattern-valid",
        &[line(
            4,
            "    <nachrichtID>3F2C9A9E-0D6B-4C55-9A2E-6F7F3B1E2D10</nachrichtID>",
        )],
        &[(4, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-datetime-german-format",
        "31.12.2025 is not an xs:dateTime.",
        "XML Schema 1.0 Part 2 §3.2.7 (dateTime lexical space)",
        &[line(5, "    <erstellt>31.12.2025 23:59</erstellt>")],
        &[(5, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-datetime-month-13",
        "Month 13 is outside the value space.",
        "XML Schema 1.0 Part 2 §3.2.7",
        &[line(5, "    <erstellt>2025-13-01T00:00:00Z</erstellt>")],
        &[(5, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-name-empty",
        "name has minLength 1.",
        "XML Schema 1.0 Part 2 §4.3.2 cvc-minLength-valid",
        &[line(8, "    <name></name>")],
        &[(8, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-name-too-long",
        "name has maxLength 20 (21 characters given).",
        "XML Schema 1.0 Part 2 §4.3.3 cvc-maxLength-valid",
        &[line(8, "    <name>Erika Mustermann-Gabl</name>")],
        &[(8, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-date-february-30",
        "1964-02-30 is not a date.",
        "XML Schema 1.0 Part 2 §3.2.9 (date)",
        &[line(9, "    <geburtsdatum>1964-02-30</geburtsdatum>")],
        &[(9, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-date-2100-02-29",
        "2100 is not a leap year.",
        "XML Schema 1.0 Part 2 §3.2.9 (date)",
        &[line(9, "    <geburtsdatum>2100-02-29</geburtsdatum>")],
        &[(9, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-plz-four-digits",
        "plz must match \\d{5}.",
        "XML Schema 1.0 Part 2 §4.3.4 cvc-pattern-valid",
        &[line(10, "    <plz>1011</plz>")],
        &[(10, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-plz-trailing-space",
        "xs:string preserves whitespace, so the pattern sees the space.",
        "XML Schema 1.0 Part 2 §4.3.6 (whiteSpace preserve) + cvc-pattern-valid",
        &[line(10, "    <plz>10115 </plz>")],
        &[(10, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-staat-not-enumerated",
        "FR is not in the enumeration.",
        "XML Schema 1.0 Part 2 §4.3.5 cvc-enumeration-valid",
        &[line(11, "    <staat>FR</staat>")],
        &[(11, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-employees-negative",
        "-1 is not a nonNegativeInteger.",
        "XML Schema 1.0 Part 2 §3.3.20 (nonNegativeInteger)",
        &[line(15, "    <beschaeftigte>-1</beschaeftigte>")],
        &[(15, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-employees-max-inclusive",
        "10000 exceeds maxInclusive 9999.",
        "XML Schema 1.0 Part 2 §4.3.7 cvc-maxInclusive-valid",
        &[line(15, "    <beschaeftigte>10000</beschaeftigte>")],
        &[(15, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-employees-word",
        "drei is not an integer.",
        "XML Schema 1.0 Part 2 §3.3.13 (integer lexical space)",
        &[line(15, "    <beschaeftigte>drei</beschaeftigte>")],
        &[(15, 5, "invalid-value")],
    )?;
    let bau = |v: &'static str| Edit {
        from: 13,
        to: 16,
        with: Box::leak(Box::new(["  <bau>", v, "  </bau>"])),
    };
    invalid(
        g,
        "xsd-decimal-fraction-digits",
        "Three fraction digits exceed fractionDigits 2.",
        "XML Schema 1.0 Part 2 §4.3.12 cvc-fractionDigits-valid",
        &[bau("    <flaeche>12.345</flaeche>")],
        &[(14, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-decimal-total-digits",
        "Seven digits exceed totalDigits 6.",
        "XML Schema 1.0 Part 2 §4.3.11 cvc-totalDigits-valid",
        &[bau("    <flaeche>1234567</flaeche>")],
        &[(14, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-decimal-comma",
        "A decimal comma is not xs:decimal.",
        "XML Schema 1.0 Part 2 §3.2.3 (decimal lexical space)",
        &[bau("    <flaeche>12,5</flaeche>")],
        &[(14, 5, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-boolean-ja",
        "ja is not an xs:boolean.",
        "XML Schema 1.0 Part 2 §3.2.2 (boolean)",
        &[line(18, "  <zustimmung>ja</zustimmung>")],
        &[(18, 3, "invalid-value")],
    )?;
    invalid(
        g,
        "xsd-required-element-missing",
        "zustimmung is required; the parent ends without it.",
        "XML Schema 1.0 Part 1 cvc-complex-type.2.4 (content incomplete)",
        &[Edit {
            from: 18,
            to: 18,
            with: &[],
        }],
        &[(18, 1, "missing-element")],
    )?;
    invalid(
        g,
        "xsd-undeclared-element",
        "An element the content model does not know.",
        seq,
        &[insert(19, &["  <unbekannt/>"])],
        &[(19, 3, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-person-max-occurs",
        "A fourth person exceeds maxOccurs 3.",
        "XML Schema 1.0 Part 1 §3.9.4 (maxOccurs)",
        &[
            insert(13, &person("p4")),
            insert(13, &person("p3")),
            insert(13, PERSON),
        ],
        &[(25, 3, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-choice-both-branches",
        "gewerbe and bau together violate the choice.",
        "XML Schema 1.0 Part 1 §3.8.4 (choice: exactly one)",
        &[insert(
            17,
            &["  <bau>", "    <flaeche>1</flaeche>", "  </bau>"],
        )],
        &[(17, 3, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-choice-no-branch",
        "Neither gewerbe nor bau.",
        "XML Schema 1.0 Part 1 §3.8.4 (choice: exactly one)",
        &[Edit {
            from: 13,
            to: 16,
            with: &[],
        }],
        &[(13, 3, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-child-missing-in-gewerbe",
        "beschaeftigte is missing at the end of gewerbe.",
        "XML Schema 1.0 Part 1 cvc-complex-type.2.4 (content incomplete)",
        &[Edit {
            from: 15,
            to: 15,
            with: &[],
        }],
        &[(15, 3, "missing-element")],
    )?;
    invalid(
        g,
        "xsd-required-attribute-missing",
        "The required version attribute is missing.",
        "XML Schema 1.0 Part 1 §3.4.4 cvc-complex-type.4",
        &[line(
            2,
            r#"<antrag xmlns="urn:poststelle:test-vectors:antrag">"#,
        )],
        &[(2, 1, "missing-attribute")],
    )?;
    invalid(
        g,
        "xsd-fixed-attribute-value",
        "version is fixed to 1.0.",
        "XML Schema 1.0 Part 1 §3.2.4 cvc-au (fixed value)",
        &[line(
            2,
            r#"<antrag xmlns="urn:poststelle:test-vectors:antrag" version="2.0">"#,
        )],
        &[(2, 1, "fixed-value")],
    )?;
    invalid(
        g,
        "xsd-undeclared-attribute",
        "person has no attribute rolle.",
        "XML Schema 1.0 Part 1 §3.4.4 cvc-complex-type.3.2",
        &[line(7, r#"  <person id="p1" rolle="antragsteller">"#)],
        &[(7, 3, "unexpected-attribute")],
    )?;
    invalid(
        g,
        "xsd-person-id-missing",
        "person requires id.",
        "XML Schema 1.0 Part 1 §3.4.4 cvc-complex-type.4",
        &[line(7, "  <person>")],
        &[(7, 3, "missing-attribute")],
    )?;
    invalid(
        g,
        "xsd-text-in-element-only",
        "Character data in element-only content.",
        "XML Schema 1.0 Part 1 cvc-complex-type.2.3",
        &[line(3, "  <kopf>Kopfzeile")],
        &[(3, 9, "unexpected-text")],
    )?;
    invalid(
        g,
        "xsd-keyref-dangling",
        "bezug names a person id that does not exist.",
        "XML Schema 1.0 Part 1 §3.11.4 cvc-identity-constraint.4.3 (keyref)",
        &[line(17, r#"  <bezug person="p9"/>"#)],
        &[(17, 3, "identity-constraint")],
    )?;
    invalid(
        g,
        "xsd-key-duplicate",
        "Two persons with the same id violate the key.",
        "XML Schema 1.0 Part 1 §3.11.4 cvc-identity-constraint.4.2.2 (key unique)",
        &[insert(
            13,
            &[
                r#"  <person id="p1">"#,
                "    <name>Max Mustermann</name>",
                "    <geburtsdatum>1960-01-31</geburtsdatum>",
                "    <plz>80331</plz>",
                "    <staat>AT</staat>",
                "  </person>",
            ],
        )],
        &[(13, 3, "identity-constraint")],
    )?;
    invalid(
        g,
        "xsd-nil-with-content",
        "An element with xsi:nil=\"true\" must be empty.",
        "XML Schema 1.0 Part 1 §3.3.4 cvc-elt.3.2.2",
        &[insert(
            19,
            &[
                r#"  <bemerkung xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true">Text</bemerkung>"#,
            ],
        )],
        &[(19, 83, "nil")],
    )?;
    invalid(
        g,
        "xsd-nil-not-nillable",
        "xsi:nil on an element that is not nillable.",
        "XML Schema 1.0 Part 1 §3.3.4 cvc-elt.3.1",
        &[line(
            18,
            r#"  <zustimmung xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:nil="true"/>"#,
        )],
        &[(18, 3, "nil")],
    )?;
    invalid(
        g,
        "xsd-xsi-type-unknown",
        "xsi:type names a type the schema does not have.",
        "XML Schema 1.0 Part 1 §3.3.4 cvc-elt.4.1",
        &[line(
            14,
            r#"    <taetigkeit xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:a="urn:poststelle:test-vectors:antrag" xsi:type="a:Unbekannt">x</taetigkeit>"#,
        )],
        &[(14, 5, "xsi-type")],
    )?;
    invalid(
        g,
        "xsd-wildcard-own-namespace",
        "##other excludes the target namespace.",
        "XML Schema 1.0 Part 1 §3.10.4 cvc-wildcard-namespace",
        &[insert(19, &["  <anhang>", "    <kopf/>", "  </anhang>"])],
        &[(20, 5, "unexpected-element")],
    )?;
    invalid(
        g,
        "xsd-not-well-formed-end-tag",
        "Mismatched end tag: the document is not XML.",
        "XML 1.0 §3 WFC Element Type Match",
        &[line(14, "    <taetigkeit>Software</taetigkeitx>")],
        &[(14, 25, "not-well-formed")],
    )?;
    invalid(
        g,
        "xsd-doctype-refused",
        "DOCTYPE (and so entities) is refused before validation.",
        "poststelle: XML reader refuses DTDs (XXE, billion laughs)",
        &[insert(2, &["<!DOCTYPE antrag [<!ENTITY x \"y\">]>"])],
        &[(2, 1, "not-well-formed")],
    )?;
    Ok(())
}
