use super::*;
use crate::config::XsdLimits;
use crate::xsd::datatypes::NoNamespaces;
use crate::xsd::regex::PatternBudget;

fn budget() -> PatternBudget {
    PatternBudget::new(&XsdLimits::default())
}

fn facet(kind: FacetKind, value: &str) -> RawFacet<'_> {
    RawFacet {
        kind,
        value,
        fixed: false,
        ns: &NoNamespaces,
    }
}

fn restrict(base: Builtin, facets: &[RawFacet<'_>]) -> Result<SimpleType, FacetError> {
    SimpleType::restrict(&SimpleType::builtin(base), facets, &mut budget())
}

fn ok(t: &SimpleType, s: &str) -> bool {
    t.validate(s, &NoNamespaces).is_ok() && t.check(s, &NoNamespaces).is_ok()
}

fn kind(t: &SimpleType, s: &str) -> SimpleTypeErrorKind {
    match t.validate(s, &NoNamespaces) {
        Ok(_) => panic!("expected {s:?} to be invalid"),
        Err(e) => e.kind,
    }
}

#[test]
fn token_collapses_before_checks() {
    let t = restrict(
        Builtin::Token,
        &[
            facet(FacetKind::Enumeration, "0200"),
            facet(FacetKind::Enumeration, "0300"),
        ],
    )
    .expect("valid restriction");
    assert!(ok(&t, "\n 0200 "));
    assert!(!ok(&t, "0400"));
    assert_eq!(kind(&t, "0400"), SimpleTypeErrorKind::Enumeration(2));
    assert_eq!(
        t.validate(" 0200\t", &NoNamespaces),
        Ok(Value::String("0200".into()))
    );
    assert_eq!(t.normalize("  a   b "), "a b");
}

#[test]
fn builtin_types() {
    let b = SimpleType::builtin;
    assert!(ok(&b(Builtin::Int), " 42 "));
    assert_eq!(
        kind(&b(Builtin::Byte), "128"),
        SimpleTypeErrorKind::Lexical(LexicalError::Range(Builtin::Byte))
    );
    assert!(ok(&b(Builtin::String), "  keeps  spaces "));
    assert!(ok(&b(Builtin::NMTOKENS), " a b\tc "));
    assert_eq!(
        kind(&b(Builtin::NMTOKENS), "  "),
        SimpleTypeErrorKind::MinLength(1)
    );
    assert!(!ok(&b(Builtin::IDREFS), "a 1b"));
    assert!(!ok(&b(Builtin::ENTITY), "anything"));
    assert!(!ok(&b(Builtin::ENTITIES), "a b"));
    assert!(ok(&b(Builtin::AnyURI), "http://example.org/a b"));
    assert_eq!(b(Builtin::ID).builtin_base(), Some(Builtin::ID));
    assert_eq!(b(Builtin::Long).primitive(), Some(Builtin::Decimal));
    let e = b(Builtin::Date)
        .validate("2024-02-30", &NoNamespaces)
        .expect_err("invalid date");
    assert_eq!(e.to_string(), "not a valid xs:date");
    assert!(!e.to_string().contains("2024"));
    assert!(e.describe_with_value("2024-02-30").contains("2024-02-30"));
}

#[test]
fn value_equality_across_types() {
    let v = |b, s| {
        SimpleType::builtin(b)
            .validate(s, &NoNamespaces)
            .expect("valid in test")
    };
    assert_eq!(v(Builtin::Int, "1"), v(Builtin::Integer, "01"));
    assert_eq!(v(Builtin::Decimal, "1.0"), v(Builtin::Integer, "1"));
    assert_ne!(v(Builtin::Int, "1"), v(Builtin::String, "1"));
    assert_ne!(v(Builtin::Float, "0.1"), v(Builtin::Double, "0.1"));
    assert_ne!(
        v(Builtin::HexBinary, "00"),
        v(Builtin::Base64Binary, "AA==")
    );
    assert_eq!(v(Builtin::NMTOKENS, "a  b"), v(Builtin::NMTOKENS, " a b "));
}

#[test]
fn numeric_facets() {
    let t = restrict(
        Builtin::Decimal,
        &[
            facet(FacetKind::TotalDigits, "5"),
            facet(FacetKind::FractionDigits, "2"),
            facet(FacetKind::MinExclusive, "0"),
            facet(FacetKind::MaxInclusive, "999.99"),
        ],
    )
    .expect("valid restriction");
    assert!(ok(&t, "999.99") && ok(&t, "0.01") && ok(&t, "1.10"));
    assert_eq!(kind(&t, "0"), SimpleTypeErrorKind::MinExclusive("0".into()));
    assert_eq!(kind(&t, "1.001"), SimpleTypeErrorKind::FractionDigits(2));
    assert_eq!(
        kind(&t, "1000"),
        SimpleTypeErrorKind::MaxInclusive("999.99".into())
    );
    let e = t
        .validate("1.001", &NoNamespaces)
        .expect_err("too many digits");
    assert_eq!(e.to_string(), "value must have at most 2 fraction digits");
    // integer types fix fractionDigits = 0
    assert!(matches!(
        restrict(Builtin::Int, &[facet(FacetKind::FractionDigits, "1")]),
        Err(FacetError::FixedChanged(_))
    ));
    assert!(restrict(Builtin::Int, &[facet(FacetKind::FractionDigits, "0")]).is_ok());
    // bounds must be in the base's value space
    assert!(restrict(Builtin::Byte, &[facet(FacetKind::MaxInclusive, "200")]).is_err());
    let narrow = restrict(Builtin::Byte, &[facet(FacetKind::MaxInclusive, "10")]).expect("valid");
    let narrower = SimpleType::restrict(
        &Arc::new(narrow),
        &[facet(FacetKind::MaxInclusive, "11")],
        &mut budget(),
    );
    assert!(narrower.is_err());
}

#[test]
fn date_bounds_partial_order() {
    let t = restrict(
        Builtin::DateTime,
        &[facet(FacetKind::MinInclusive, "2000-01-01T00:00:00Z")],
    )
    .expect("valid");
    assert!(ok(&t, "2000-01-01T00:00:00Z"));
    assert!(ok(&t, "2000-01-02T00:00:00"));
    // indeterminate without timezone: fails the bound
    assert!(!ok(&t, "2000-01-01T05:00:00"));
    assert!(!ok(&t, "1999-12-31T23:59:59Z"));
}

#[test]
fn string_lengths_and_patterns() {
    let t = restrict(
        Builtin::String,
        &[
            facet(FacetKind::MaxLength, "3"),
            facet(FacetKind::Pattern, "[a-z]+"),
            facet(FacetKind::Pattern, "\\d+"),
        ],
    )
    .expect("valid");
    assert!(ok(&t, "abc") && ok(&t, "123") && !ok(&t, "äb"));
    assert!(matches!(kind(&t, "a1"), SimpleTypeErrorKind::Pattern(_)));
    assert_eq!(kind(&t, "abcd"), SimpleTypeErrorKind::MaxLength(3));
    // patterns across steps are ANDed
    let t2 = SimpleType::restrict(
        &Arc::new(t),
        &[facet(FacetKind::Pattern, "a.*")],
        &mut budget(),
    )
    .expect("valid");
    assert!(ok(&t2, "abc") && !ok(&t2, "bcd") && !ok(&t2, "123"));
    let e = restrict(Builtin::String, &[facet(FacetKind::Length, "2")])
        .expect("valid")
        .validate("abc", &NoNamespaces)
        .expect_err("too long");
    assert_eq!(e.to_string(), "length must be exactly 2 characters");
}

#[test]
fn binary_lengths_count_octets() {
    let hex = restrict(Builtin::HexBinary, &[facet(FacetKind::Length, "2")]).expect("valid");
    assert!(ok(&hex, "0aFF") && !ok(&hex, "0a"));
    let b64 = restrict(Builtin::Base64Binary, &[facet(FacetKind::MaxLength, "3")]).expect("valid");
    assert!(ok(&b64, "TWFu") && !ok(&b64, "TWFuTQ=="));
}

#[test]
fn schema_rules() {
    use FacetError as E;
    assert!(matches!(
        restrict(Builtin::Boolean, &[facet(FacetKind::Length, "1")]),
        Err(E::NotApplicable { .. })
    ));
    assert!(matches!(
        restrict(Builtin::String, &[facet(FacetKind::TotalDigits, "1")]),
        Err(E::NotApplicable { .. })
    ));
    assert!(matches!(
        restrict(Builtin::Date, &[facet(FacetKind::MaxLength, "1")]),
        Err(E::NotApplicable { .. })
    ));
    assert!(matches!(
        restrict(
            Builtin::String,
            &[
                facet(FacetKind::MinLength, "1"),
                facet(FacetKind::MinLength, "2")
            ]
        ),
        Err(E::Duplicate(_))
    ));
    assert!(matches!(
        restrict(Builtin::Token, &[facet(FacetKind::WhiteSpace, "preserve")]),
        Err(E::Conflict { .. })
    ));
    assert!(restrict(Builtin::String, &[facet(FacetKind::WhiteSpace, "collapse")]).is_ok());
    assert!(matches!(
        restrict(Builtin::String, &[facet(FacetKind::Pattern, "\\b")]),
        Err(E::Pattern(_))
    ));
    assert!(matches!(
        restrict(Builtin::Int, &[facet(FacetKind::Enumeration, "x")]),
        Err(E::InvalidValue { .. })
    ));
    assert!(matches!(
        restrict(Builtin::AnySimpleType, &[facet(FacetKind::Length, "1")]),
        Err(E::AnySimpleType)
    ));
    assert!(matches!(
        restrict(
            Builtin::Decimal,
            &[
                facet(FacetKind::MinInclusive, "5"),
                facet(FacetKind::MaxInclusive, "4")
            ]
        ),
        Err(E::Conflict { .. })
    ));
    // fixed facets cannot change
    let mut fixed = facet(FacetKind::MaxLength, "5");
    fixed.fixed = true;
    let base = Arc::new(restrict(Builtin::String, &[fixed]).expect("valid"));
    let changed = SimpleType::restrict(&base, &[facet(FacetKind::MaxLength, "4")], &mut budget());
    assert_eq!(changed.err(), Some(E::FixedChanged(FacetKind::MaxLength)));
    let mut fixed_pattern = facet(FacetKind::Pattern, "a");
    fixed_pattern.fixed = true;
    assert!(matches!(
        restrict(Builtin::String, &[fixed_pattern]),
        Err(E::InvalidValue { .. })
    ));
    // enumeration of a restriction must be a subset
    let ab = Arc::new(
        restrict(
            Builtin::Token,
            &[
                facet(FacetKind::Enumeration, "a"),
                facet(FacetKind::Enumeration, "b"),
            ],
        )
        .expect("valid"),
    );
    assert!(
        SimpleType::restrict(&ab, &[facet(FacetKind::Enumeration, "a")], &mut budget()).is_ok()
    );
    assert!(
        SimpleType::restrict(&ab, &[facet(FacetKind::Enumeration, "c")], &mut budget()).is_err()
    );
}

#[test]
fn lists() {
    let list =
        Arc::new(SimpleType::list_of(SimpleType::builtin(Builtin::Int)).expect("atomic item"));
    assert!(ok(&list, " 1  2\n3 "));
    assert!(ok(&list, ""));
    let e = list.validate("1 x 3", &NoNamespaces).expect_err("bad item");
    assert_eq!(e.item, Some(1));
    assert_eq!(e.to_string(), "list item 2: not a valid xs:int");
    let two = SimpleType::restrict(&list, &[facet(FacetKind::Length, "2")], &mut budget())
        .expect("valid");
    assert!(ok(&two, "1 2") && !ok(&two, "1"));
    let en = SimpleType::restrict(
        &list,
        &[facet(FacetKind::Enumeration, "1 2")],
        &mut budget(),
    )
    .expect("valid");
    assert!(ok(&en, "01 +2") && !ok(&en, "2 1"));
    assert!(matches!(
        SimpleType::list_of(list.clone()),
        Err(FacetError::ListOfList)
    ));
    assert!(matches!(
        restrict(Builtin::NMTOKENS, &[facet(FacetKind::TotalDigits, "1")]),
        Err(FacetError::NotApplicable { .. })
    ));
}

#[test]
fn unions() {
    let u = Arc::new(SimpleType::union_of(vec![
        SimpleType::builtin(Builtin::Int),
        SimpleType::builtin(Builtin::Date),
    ]));
    assert_eq!(
        u.validate(" 7 ", &NoNamespaces),
        SimpleType::builtin(Builtin::Int).validate("7", &NoNamespaces)
    );
    assert!(ok(&u, "2024-01-31"));
    assert_eq!(kind(&u, "x"), SimpleTypeErrorKind::NoUnionMember(2));
    let en = SimpleType::restrict(
        &u,
        &[
            facet(FacetKind::Enumeration, "7"),
            facet(FacetKind::Enumeration, "2024-01-31"),
        ],
        &mut budget(),
    )
    .expect("valid");
    assert!(ok(&en, "007") && ok(&en, "2024-01-31") && !ok(&en, "8"));
    let pat = SimpleType::restrict(&u, &[facet(FacetKind::Pattern, "\\d+")], &mut budget())
        .expect("valid");
    assert!(ok(&pat, "12") && !ok(&pat, "2024-01-31"));
    assert!(matches!(
        SimpleType::restrict(&u, &[facet(FacetKind::Length, "1")], &mut budget()),
        Err(FacetError::NotApplicable { .. })
    ));
}

#[test]
fn qnames_resolve_prefixes() {
    struct Ns;
    impl NsResolver for Ns {
        fn resolve(&self, p: &str) -> Option<&str> {
            (p == "x").then_some("urn:x")
        }
    }
    let q = SimpleType::builtin(Builtin::QName);
    assert!(q.validate("x:a", &Ns).is_ok());
    assert_eq!(
        q.validate("y:a", &Ns).map_err(|e| e.kind),
        Err(SimpleTypeErrorKind::Lexical(LexicalError::UnboundPrefix(
            Builtin::QName
        )))
    );
    let en = SimpleType::restrict(
        &q,
        &[RawFacet {
            kind: FacetKind::Enumeration,
            value: "x:a",
            fixed: false,
            ns: &Ns,
        }],
        &mut budget(),
    )
    .expect("valid");
    struct Other;
    impl NsResolver for Other {
        fn resolve(&self, p: &str) -> Option<&str> {
            (p == "z").then_some("urn:x")
        }
    }
    assert!(en.validate("z:a", &Other).is_ok());
    assert!(en.validate("z:b", &Other).is_err());
}

#[test]
fn types_are_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<SimpleType>();
    assert_send_sync::<SimpleTypeError>();
}
