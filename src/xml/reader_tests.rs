use super::*;

/// Renders all events of a document, or the first error.
fn events(xml: &str) -> Result<Vec<String>, XmlError> {
    events_with(xml, &XmlLimits::default())
}

fn events_with(xml: &str, limits: &XmlLimits) -> Result<Vec<String>, XmlError> {
    let mut r = BoundedReader::from_bytes(xml.as_bytes(), limits);
    let mut out = Vec::new();
    loop {
        let pos = match r.next_event()? {
            Event::Start(t) => {
                let n = t.name();
                let mut s = format!("<{{{}}}{}", n.namespace, n.local);
                for a in t.attributes() {
                    s.push_str(&format!(
                        " {{{}}}{}={:?}",
                        a.name.namespace, a.name.local, a.value
                    ));
                }
                s.push('>');
                s
            }
            Event::End => "</>".to_owned(),
            Event::Text(t) => format!("{t:?}"),
            Event::Eof => break,
        };
        out.push(format!("{}@{}", pos, r.position()));
    }
    Ok(out)
}

fn kind(xml: &str) -> XmlErrorKind {
    events(xml).expect_err("must fail").kind
}

#[test]
fn namespaces_attributes_and_positions() {
    let ev = events(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<a:r xmlns:a=\"urn:a\" xmlns=\"urn:d\" x=\"1\" a:y=\"2\">\n  <c/>t&amp;<![CDATA[<x>]]>&#x41;</a:r>",
    )
    .expect("well-formed");
    assert_eq!(
        ev,
        vec![
            "<{urn:a}r {}x=\"1\" {urn:a}y=\"2\">@2:1",
            "\"\\n  \"@2:50",
            "<{urn:d}c>@3:3",
            "</>@3:3",
            "\"t&<x>A\"@3:7",
            "</>@3:34",
        ]
    );
}

#[test]
fn attribute_values_are_normalised_and_unescaped() {
    let ev = events("<r a=\"x\ty\nz&lt;&#9;\"/>").expect("ok");
    assert_eq!(ev[0], "<{}r {}a=\"x y z<\\t\">@1:1");
}

#[test]
fn line_ends_are_normalised_in_text() {
    let ev = events("<r>a\r\nb\rc</r>").expect("ok");
    assert_eq!(ev[1], "\"a\\nb\\nc\"@1:4");
}

#[test]
fn doctype_and_entities_are_refused() {
    assert_eq!(
        kind("<!DOCTYPE r [<!ENTITY a \"b\">]><r/>"),
        XmlErrorKind::Doctype
    );
    assert_eq!(kind("<r>&nbsp;</r>"), XmlErrorKind::UndeclaredEntity);
    assert_eq!(kind("<r a=\"&x;\"/>"), XmlErrorKind::UndeclaredEntity);
    assert_eq!(kind("<r>&#0;</r>"), XmlErrorKind::InvalidCharRef);
    assert_eq!(kind("<r>&#xD800;</r>"), XmlErrorKind::InvalidCharRef);
}

/// XML 1.0 §2.8: another 1.x version is read as XML 1.0, under XML 1.0's character rules.
#[test]
fn xml_1_1_documents_are_read_as_xml_1_0() {
    let ev = events("<?xml version=\"1.1\"?><r>text</r>").expect("read as 1.0");
    assert_eq!(ev.len(), 3, "{ev:?}");
    // What only XML 1.1 allows stays refused.
    assert!(matches!(
        kind("<?xml version=\"1.1\"?><r>&#x1;</r>"),
        XmlErrorKind::InvalidCharRef | XmlErrorKind::InvalidChar(_)
    ));
}

#[test]
fn encodings_other_than_utf8_are_refused() {
    assert!(matches!(
        kind("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><r/>"),
        XmlErrorKind::UnsupportedEncoding(_)
    ));
    for version in ["2.0", "1.", "1.x", "1.0 ", "0.9"] {
        assert_eq!(
            kind(&format!("<?xml version=\"{version}\"?><r/>")),
            XmlErrorKind::UnsupportedVersion,
            "{version}"
        );
    }
    let utf16 = [0xFF, 0xFE, b'<', 0, b'r', 0, b'/', 0, b'>', 0];
    let mut r = BoundedReader::from_bytes(&utf16, &XmlLimits::default());
    assert!(matches!(
        r.next_event().expect_err("utf-16").kind,
        XmlErrorKind::UnsupportedEncoding(_)
    ));
    let bad = b"<r>\xC3\x28</r>";
    let mut r = BoundedReader::from_bytes(bad, &XmlLimits::default());
    let err = loop {
        match r.next_event() {
            Ok(Event::Eof) => panic!("accepted invalid UTF-8"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind, XmlErrorKind::InvalidUtf8);
    // A UTF-8 byte order mark is fine.
    assert!(events("\u{FEFF}<r/>").is_ok());
}

#[test]
fn forbidden_characters() {
    assert_eq!(kind("<r>a\u{0}b</r>"), XmlErrorKind::InvalidChar(0));
    assert_eq!(kind("<r a=\"\u{1}\"/>"), XmlErrorKind::InvalidChar(1));
    assert_eq!(
        kind("<r><!-- \u{FFFF} --></r>"),
        XmlErrorKind::InvalidChar(0xFFFF)
    );
}

#[test]
fn document_structure() {
    assert!(matches!(kind(""), XmlErrorKind::DocumentStructure(_)));
    assert!(matches!(
        kind("text<r/>"),
        XmlErrorKind::DocumentStructure(_)
    ));
    assert!(matches!(
        kind("<r/><s/>"),
        XmlErrorKind::DocumentStructure(_)
    ));
    assert!(matches!(
        kind("<r/>tail"),
        XmlErrorKind::DocumentStructure(_)
    ));
    assert!(matches!(kind("<r><s></r>"), XmlErrorKind::Syntax(_)));
    assert!(matches!(kind("<r><s>"), XmlErrorKind::UnexpectedEof(_)));
    assert!(matches!(kind("<r a=\"1"), XmlErrorKind::UnexpectedEof(_)));
    assert!(matches!(
        kind("<r/><?xml version=\"1.0\"?>"),
        XmlErrorKind::Syntax(_)
    ));
    assert!(events("<!-- c --><?pi x?>\n<r/>\n<!-- after -->\n").is_ok());
}

#[test]
fn namespace_rules() {
    assert_eq!(kind("<p:r/>"), XmlErrorKind::UnboundPrefix("p".into()));
    assert_eq!(
        kind("<r p:a=\"1\"/>"),
        XmlErrorKind::UnboundPrefix("p".into())
    );
    assert!(matches!(
        kind("<r xmlns:p=\"\"/>"),
        XmlErrorKind::InvalidNamespaceDeclaration(_)
    ));
    assert!(matches!(
        kind("<r xmlns:xml=\"urn:x\"/>"),
        XmlErrorKind::InvalidNamespaceDeclaration(_)
    ));
    assert!(matches!(
        kind("<r xmlns:xmlns=\"urn:x\"/>"),
        XmlErrorKind::InvalidNamespaceDeclaration(_)
    ));
    assert!(matches!(
        kind("<r xmlns:a=\"urn:x\" xmlns:b=\"urn:x\" a:z=\"1\" b:z=\"2\"/>"),
        XmlErrorKind::DuplicateAttribute(_)
    ));
    assert!(matches!(
        kind("<r a=\"1\" a=\"2\"/>"),
        XmlErrorKind::Syntax(_)
    ));
    assert!(matches!(
        kind("<a:b:c xmlns:a=\"urn:a\"/>"),
        XmlErrorKind::InvalidName(_)
    ));
    // The default namespace does not apply to attributes; xmlns="" undeclares it.
    let ev = events("<r xmlns=\"urn:d\" a=\"1\"><s xmlns=\"\"/></r>").expect("ok");
    assert_eq!(ev[0], "<{urn:d}r {}a=\"1\">@1:1");
    assert_eq!(ev[1], "<{}s>@1:24");
    // xml: is always bound.
    assert!(
        events("<r xml:lang=\"de\"/>").expect("ok")[0]
            .contains("{http://www.w3.org/XML/1998/namespace}lang")
    );
}

#[test]
fn resolve_prefix_follows_scopes() {
    let xml = "<r xmlns:p=\"urn:1\">x<s xmlns:p=\"urn:2\">y</s></r>";
    let mut r = BoundedReader::from_bytes(xml.as_bytes(), &XmlLimits::default());
    assert!(matches!(r.next_event(), Ok(Event::Start(_))));
    assert_eq!(r.resolve_prefix("p"), Some("urn:1"));
    assert!(matches!(r.next_event(), Ok(Event::Text("x"))));
    // The child's start tag is already read, but the text belongs to the parent's scope.
    assert_eq!(r.resolve_prefix("p"), Some("urn:1"));
    assert!(matches!(r.next_event(), Ok(Event::Start(_))));
    assert_eq!(r.resolve_prefix("p"), Some("urn:2"));
    assert!(matches!(r.next_event(), Ok(Event::Text("y"))));
    // At its end tag the element's own declarations are still in scope (QName content is
    // resolved when the element ends, as SAX ends prefix mappings after endElement).
    assert!(matches!(r.next_event(), Ok(Event::End)));
    assert_eq!(r.resolve_prefix("p"), Some("urn:2"));
    assert!(matches!(r.next_event(), Ok(Event::End)));
    assert_eq!(r.resolve_prefix("p"), Some("urn:1"));
    assert_eq!(r.resolve_prefix(""), None);
    assert!(matches!(r.next_event(), Ok(Event::Eof)));
    assert_eq!(r.resolve_prefix("p"), None);
}

#[test]
fn limits_are_enforced() {
    let l = XmlLimits {
        max_depth: 3,
        ..XmlLimits::default()
    };
    assert!(events_with("<a><b><c/></b></a>", &l).is_ok());
    assert!(matches!(
        events_with("<a><b><c><d/></c></b></a>", &l)
            .expect_err("deep")
            .kind,
        XmlErrorKind::LimitExceeded {
            limit: Limit::Depth,
            ..
        }
    ));
    let l = XmlLimits {
        max_attributes: 2,
        ..XmlLimits::default()
    };
    assert!(matches!(
        events_with("<a x=\"1\" y=\"2\" z=\"3\"/>", &l)
            .expect_err("attrs")
            .kind,
        XmlErrorKind::LimitExceeded {
            limit: Limit::Attributes,
            ..
        }
    ));
    let l = XmlLimits {
        max_text_bytes: 8,
        ..XmlLimits::default()
    };
    assert!(matches!(
        events_with("<a>0123&amp;45678</a>", &l)
            .expect_err("text")
            .kind,
        XmlErrorKind::LimitExceeded {
            limit: Limit::TextBytes,
            ..
        }
    ));
    let l = XmlLimits {
        max_input_bytes: 10,
        ..XmlLimits::default()
    };
    assert!(matches!(
        events_with("<a>0123456789012345678901234567890123456789</a>", &l)
            .expect_err("size")
            .kind,
        XmlErrorKind::LimitExceeded {
            limit: Limit::InputBytes,
            ..
        }
    ));
    let l = XmlLimits {
        max_name_bytes: 4,
        ..XmlLimits::default()
    };
    assert!(matches!(
        events_with("<abcdef/>", &l).expect_err("name").kind,
        XmlErrorKind::LimitExceeded {
            limit: Limit::NameBytes,
            ..
        }
    ));
    let l = XmlLimits {
        max_namespace_declarations: 1,
        ..XmlLimits::default()
    };
    assert!(matches!(
        events_with("<a xmlns:a=\"urn:a\" xmlns:b=\"urn:b\"/>", &l)
            .expect_err("ns")
            .kind,
        XmlErrorKind::LimitExceeded {
            limit: Limit::NamespaceDeclarations,
            ..
        }
    ));
    let l = XmlLimits {
        max_attribute_value_bytes: 3,
        ..XmlLimits::default()
    };
    assert!(matches!(
        events_with("<a x=\"1234\"/>", &l).expect_err("value").kind,
        XmlErrorKind::LimitExceeded {
            limit: Limit::AttributeValueBytes,
            ..
        }
    ));
}

#[test]
fn eof_is_sticky() {
    let mut r = BoundedReader::from_bytes(b"<r/>", &XmlLimits::default());
    while !matches!(r.next_event(), Ok(Event::Eof)) {}
    assert!(matches!(r.next_event(), Ok(Event::Eof)));
}

/// Fuzz finding (validate_xbau): a UTF-16 byte order mark was only recognised when the first
/// buffer held two bytes, so the verdict depended on buffering.
#[test]
fn utf16_is_recognised_whatever_the_buffering() {
    let utf16 = [0xFF, 0xFE, b'<', 0, b'r', 0, b'/', 0, b'>', 0];
    for cap in [1, 2, 64] {
        let reader = std::io::BufReader::with_capacity(cap, &utf16[..]);
        let mut r = BoundedReader::new(reader, &XmlLimits::default());
        let err = r.next_event().expect_err("utf-16");
        assert!(
            matches!(err.kind, XmlErrorKind::UnsupportedEncoding(_)),
            "cap {cap}: {err}"
        );
    }
}

/// Fuzz finding (validate_xbau, CI): a UTF-8 byte order mark was only removed when the first
/// buffer held all three bytes; through a one-byte buffer it became character data.
#[test]
fn utf8_bom_is_removed_whatever_the_buffering() {
    let doc = "\u{FEFF}<r>x</r>";
    for cap in [1, 2, 3, 64] {
        let reader = std::io::BufReader::with_capacity(cap, doc.as_bytes());
        let mut r = BoundedReader::new(reader, &XmlLimits::default());
        assert!(matches!(r.next_event(), Ok(Event::Start(_))), "cap {cap}");
    }
    let bad = b"\xEF\xBB<r/>";
    let mut r = BoundedReader::from_bytes(bad, &XmlLimits::default());
    assert!(matches!(
        r.next_event().expect_err("broken BOM").kind,
        XmlErrorKind::DocumentStructure(_)
    ));
}

/// Fuzz finding (xml_reader, CI): after our byte order mark, quick-xml dropped a second one when
/// it lay in its first buffer, so two marks were accepted from a slice and refused through a
/// one-byte buffer. A second mark is character data before the root, whatever the buffering.
#[test]
fn a_second_byte_order_mark_is_refused_whatever_the_buffering() {
    for doc in [
        &b"\xEF\xBB\xBF\xEF\xBB\xBF<?xml version='1.0'?><r/>"[..],
        b"\xEF\xBB\xBF\xEF\xBB\xBF<r/>",
        b"\xEF\xBB\xBF\xEF\xBF\xBD<r/>",
    ] {
        for cap in [1, 2, 3, 4, 6, 64] {
            let reader = std::io::BufReader::with_capacity(cap, doc);
            let mut r = BoundedReader::new(reader, &XmlLimits::default());
            let err = r.next_event().expect_err("second mark");
            assert!(
                matches!(err.kind, XmlErrorKind::DocumentStructure(_)),
                "cap {cap}: {err}"
            );
            assert_eq!((err.pos.line, err.pos.column), (1, 2), "cap {cap}");
        }
    }
}

/// Thousands of attributes (the W3C suite's attgD003 has 2,000) are read; a duplicate by
/// expanded name among them, written with another prefix, is found past the scanned handful.
#[test]
fn many_prefixed_attributes_and_a_late_expanded_name_duplicate() {
    let attrs: String = (0..3000).map(|i| format!(" p:a{i}='v'")).collect();
    let doc = format!("<r xmlns:p='urn:x' xmlns:q='urn:x'{attrs}/>");
    let mut r = BoundedReader::from_bytes(doc.as_bytes(), &XmlLimits::default());
    match r.next_event() {
        Ok(Event::Start(tag)) => assert_eq!(tag.attributes().count(), 3000),
        other => panic!("expected the start tag, got {other:?}"),
    }
    let dup = format!("<r xmlns:p='urn:x' xmlns:q='urn:x'{attrs} q:a2999='w'/>");
    let mut r = BoundedReader::from_bytes(dup.as_bytes(), &XmlLimits::default());
    let err = r.next_event().expect_err("duplicate");
    assert!(
        matches!(&err.kind, XmlErrorKind::DuplicateAttribute(n) if n == "{urn:x}a2999"),
        "{err}"
    );
    let early = "<r xmlns:p='urn:x' xmlns:q='urn:x' p:a='1' q:a='2'/>";
    let mut r = BoundedReader::from_bytes(early.as_bytes(), &XmlLimits::default());
    assert!(matches!(
        r.next_event().expect_err("duplicate").kind,
        XmlErrorKind::DuplicateAttribute(_)
    ));
}

/// Namespaces in XML: a QName's prefix is an NCName, so a name starting with a colon is not
/// a QName. The reader took `<:a>` for the unprefixed element `a` (libxml2: "Failed to parse
/// QName ':a'").
#[test]
fn a_name_starting_with_a_colon_is_not_a_qualified_name() {
    for xml in ["<:a/>", "<r :b=\"1\"/>", "<r><:a/></r>"] {
        assert_eq!(
            kind(xml),
            XmlErrorKind::InvalidName("the prefix is not an NCName"),
            "{xml}"
        );
    }
    assert_eq!(
        kind("<a:/>"),
        XmlErrorKind::InvalidName("not a qualified name (NCName or prefix:NCName)")
    );
    // `xmlns:` names no prefix; it was taken for a declaration of the default namespace.
    assert_eq!(
        kind("<a xmlns:=\"urn:x\"/>"),
        XmlErrorKind::InvalidNamespaceDeclaration("the declared prefix is not an NCName")
    );
    // Names with characters beyond ASCII take the slow path and still split.
    let ev = events("<ü:straße xmlns:ü=\"urn:ü\" ü:nr=\"1\"/>").expect("ok");
    assert_eq!(ev[0], "<{urn:ü}straße {urn:ü}nr=\"1\">@1:1");
}

/// Character data without a carriage return or a suspicious byte is taken as it is; the rest is
/// normalised and checked. Both kinds of piece, mixed in one text, read as before, and the
/// verdicts on forbidden characters and on the text limit do not depend on the path.
#[test]
fn plain_and_other_character_data_read_the_same() {
    let ev = events("<r>ab<![CDATA[c\r\nd]]>e\rf&#13;g\u{FFFD}</r>").expect("ok");
    assert_eq!(ev[1], "\"abc\\nde\\nf\\rg\u{FFFD}\"@1:4");
    assert_eq!(
        kind("<r>plain<![CDATA[x\u{FFFF}]]></r>"),
        XmlErrorKind::InvalidChar(0xFFFF)
    );
    assert_eq!(kind("<r>x\r\u{1}</r>"), XmlErrorKind::InvalidChar(1));
    assert_eq!(kind("<r>\u{FFFE}</r>"), XmlErrorKind::InvalidChar(0xFFFE));
    let limits = XmlLimits {
        max_text_bytes: 4,
        ..XmlLimits::default()
    };
    for xml in ["<r>abcde</r>", "<r>ab\rcde</r>", "<r>abcd\u{1}</r>"] {
        let e = events_with(xml, &limits).expect_err("over the limit");
        assert!(
            matches!(e.kind, XmlErrorKind::LimitExceeded { .. }),
            "{xml:?}: {:?}",
            e.kind
        );
    }
}
