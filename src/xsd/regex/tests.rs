use super::*;

fn m(pattern: &str, text: &str) -> bool {
    compile(pattern, &XsdLimits::default())
        .expect("pattern compiles in test")
        .is_match(text)
}

fn rejected(pattern: &str) -> bool {
    compile(pattern, &XsdLimits::default()).is_err()
}

#[test]
fn implicit_anchoring_and_literal_anchors() {
    assert!(m("abc", "abc"));
    assert!(!m("abc", "xabc"));
    assert!(!m("abc", "abcx"));
    assert!(m("a|b", "b") && !m("a|b", "ab"));
    assert!(m("^a$", "^a$"));
    assert!(!m("^a$", "a"));
}

#[test]
fn dot_and_quantifiers() {
    assert!(m(".", "é") && !m(".", "\n") && !m(".", "\r") && m(".", "\t"));
    assert!(m("a{2,3}", "aaa") && !m("a{2,3}", "a") && !m("a{2,3}", "aaaa"));
    assert!(m("a{2}", "aa") && m("a{2,}", "aaaaa") && m("a{0}", ""));
    assert!(m("(ab)+", "abab") && m("a?b*c+", "c"));
    assert!(rejected("a{3,2}") && rejected("a{,2}") && rejected("a**") && rejected("a*?"));
    assert!(rejected("*a") && rejected("a{") && rejected("(a") && rejected("a)"));
}

#[test]
fn escapes() {
    assert!(m("\\d+", "0123") && m("\\d", "٣") && !m("\\d", "a"));
    assert!(m("\\s", " ") && m("\\s", "\t") && !m("\\s", "\u{A0}"));
    assert!(m("\\S", "a") && !m("\\S", " "));
    assert!(m("\\w", "a") && m("\\w", "1") && !m("\\w", "-") && !m("\\w", " "));
    assert!(m("\\W", "!") && !m("\\W", "a"));
    assert!(m("\\i\\c*", "_a-b.c:d") && !m("\\i\\c*", "1a") && !m("\\i\\c*", "-a"));
    assert!(m("\\I", "1") && m("\\C", " ") && !m("\\C", "a"));
    assert!(m(
        "\\.\\*\\+\\?\\(\\)\\{\\}\\[\\]\\|\\\\\\-\\^",
        ".*+?(){}[]|\\-^"
    ));
    assert!(m("\\n\\r\\t", "\n\r\t"));
    for bad in [
        "\\b",
        "\\B",
        "\\A",
        "\\z",
        "\\x41",
        "\\u0041",
        "\\1",
        "\\",
        "\\$",
        "\\p{Foo}",
        "\\p{IsNoSuchBlock}",
        "\\pL",
    ] {
        assert!(rejected(bad), "{bad}");
    }
}

#[test]
fn categories_and_blocks() {
    assert!(m("\\p{Lu}", "Ä") && !m("\\p{Lu}", "ä"));
    assert!(m("\\P{L}", "1") && !m("\\P{L}", "x"));
    assert!(m("\\p{IsBasicLatin}+", "abc~") && !m("\\p{IsBasicLatin}", "é"));
    assert!(m("\\P{IsBasicLatin}", "é"));
    assert!(m("\\p{IsLatin-1Supplement}", "é"));
    assert!(m("\\p{IsSpecials}", "\u{FEFF}") && m("\\p{IsSpecials}", "\u{FFFD}"));
    assert!(!m("\\p{IsPrivateUse}", "\u{100000}") && m("\\p{IsPrivateUse}", "\u{E000}"));
    assert!(!m("\\p{IsHighSurrogates}", "a") && m("\\P{IsHighSurrogates}", "a"));
    assert!(m("[\\p{IsGreek}\\d]+", "αβ1"));
    assert!(m("\\p{Nd}\\p{N}\\p{Zs}\\p{Cc}", "1½ \u{1}"));
}

#[test]
fn classes() {
    assert!(m("[a-z]+", "hello") && !m("[a-z]", "A"));
    assert!(m("[^a-z]", "A") && !m("[^a-z]", "a"));
    assert!(m("[a-z-[aeiou]]+", "bcd") && !m("[a-z-[aeiou]]", "e"));
    assert!(m("[a-z-[b-y-[c]]]", "c") && !m("[a-z-[b-y-[c]]]", "d"));
    assert!(m("[^a-c-[x]]", "d") && !m("[^a-c-[x]]", "x") && !m("[^a-c-[x]]", "a"));
    assert!(m("[-a]", "-") && m("[a-]", "-") && m("[a\\-z]", "-") && !m("[a\\-z]", "b"));
    assert!(m("[\\^]", "^") && m("[a^]", "^") && m("[.]", ".") && !m("[.]", "a"));
    assert!(
        m("[\\s\\d]", "5") && m("[\\S]", "x") && m("[\\w-[\\d]]", "a") && !m("[\\w-[\\d]]", "5")
    );
    assert!(m("[$]", "$") && m("[|]", "|"));
    for bad in [
        "[]",
        "[a",
        "[a-]]",
        "[z-a]",
        "[a[b]]",
        "[a-z-[b]x]",
        "[a-\\d]",
        "[a-b-c]",
        "[^]",
        "]",
    ] {
        assert!(rejected(bad), "{bad}");
    }
}

#[test]
fn non_bmp_and_din91379_like_class() {
    // In the style of DIN 91379 datatypeC: a large class with multi-character sequences
    // and non-BMP ranges, applied to whole strings.
    let din = "([\\p{IsBasicLatin}-[\\p{Cc}]]|[\\u{A0}-\\u{17F}]|[\u{1E00}-\u{1EFF}]|[\u{20000}-\u{2A6DF}]|\u{0041}\u{030A}|\u{1F600})*";
    // The \u{...} escapes above are Rust string escapes; \\u would be rejected by XSD.
    let din = din
        .replace("\\u{A0}", "\u{A0}")
        .replace("\\u{17F}", "\u{17F}");
    assert!(m(&din, "Müller-Lüdenscheidt"));
    assert!(m(&din, "A\u{030A}ngström \u{20000}\u{1F600}"));
    assert!(!m(&din, "\u{030A}"));
    assert!(!m(&din, "a\u{1}b"));
    assert!(!m(&din, "\u{1F601}"));
    assert!(m("[\u{10000}-\u{10FFFF}]", "\u{1F600}") && !m("[\u{10000}-\u{10FFFF}]", "a"));
}

#[test]
fn translation_output_and_cache() {
    assert_eq!(translate("a.b").as_deref(), Ok("\\A(?:a[^\\n\\r]b)\\z"));
    assert_eq!(
        translate("[a-z-[aeiou]]").as_deref(),
        Ok("\\A(?:[[a-z]&&[^[aeiou]]])\\z")
    );
    let limits = XsdLimits::default();
    let a = compile("x[0-9]{4}", &limits).expect("compiles");
    let b = compile("x[0-9]{4}", &limits).expect("compiles");
    assert_eq!(a.source(), b.source());
    let either = PatternBudget::new(&limits)
        .compile_any(&["a+", "b+"])
        .expect("compiles");
    assert!(either.is_match("bb") && either.is_match("aa") && !either.is_match("ab"));
}

#[test]
fn size_limit_is_enforced() {
    let tiny = XsdLimits {
        max_regex_bytes: 1000,
        ..XsdLimits::default()
    };
    assert_eq!(
        compile("\\w{50}", &tiny).err(),
        Some(RegexError::TooLarge { limit: 1000 })
    );
}

#[test]
fn a_budget_charges_each_distinct_pattern_once_with_its_compiled_size() {
    let mut budget = PatternBudget::new(&XsdLimits::default());
    let a = budget.compile_any(&["[A-Z]{2}[0-9]+"]).expect("compiles");
    assert!(a.heap_bytes() > 0);
    assert_eq!(budget.used(), a.heap_bytes());
    // The same step again (a second type with the same facet) costs nothing more.
    budget.compile_any(&["[A-Z]{2}[0-9]+"]).expect("compiles");
    assert_eq!(budget.used(), a.heap_bytes());
    let b = budget.compile_any(&["x", "y"]).expect("compiles");
    assert_eq!(budget.used(), a.heap_bytes() + b.heap_bytes());
}

#[test]
fn patterns_refused_for_their_size_use_up_the_budget_with_their_limit() {
    let limits = XsdLimits {
        max_regex_bytes: 1000,
        max_regex_total_bytes: 2500,
        ..XsdLimits::default()
    };
    let mut budget = PatternBudget::new(&limits);
    let too_large = Some(RegexError::TooLarge { limit: 1000 });
    assert_eq!(budget.compile_any(&["\\w{50}"]).err(), too_large);
    assert_eq!(budget.used(), 1000);
    // A refusal is cached, and charged once per schema set like a compiled pattern.
    assert_eq!(budget.compile_any(&["\\w{50}"]).err(), too_large);
    assert_eq!(budget.used(), 1000);
    assert_eq!(budget.compile_any(&["\\w{51}"]).err(), too_large);
    let over = Some(RegexError::OverBudget { limit: 2500 });
    assert_eq!(budget.compile_any(&["\\w{52}"]).err(), over);
    // Once over, nothing more is compiled, even a pattern that would fit.
    assert_eq!(budget.compile_any(&["a"]).err(), over);
    assert_eq!(budget.used(), 3000);
}

#[test]
fn patterns_just_under_their_limit_are_bounded_by_the_total() {
    let one = compile("\\d{20}", &XsdLimits::default())
        .expect("compiles")
        .heap_bytes();
    let limits = XsdLimits {
        max_regex_total_bytes: one * 10,
        ..XsdLimits::default()
    };
    let mut budget = PatternBudget::new(&limits);
    let refused = (20..60)
        .map(|n| budget.compile_any(&[&format!("\\d{{{n}}}")]))
        .position(|r| r.is_err());
    // Longer repetitions cost more than the first, so fewer than ten fit.
    assert!(
        refused.is_some_and(|at| (1..10).contains(&at)),
        "{refused:?}"
    );
}
