//! Expression tests: each expected value is what SaxonC-HE 13.1 returns for the same
//! expression on the same document (checked by hand with `saxonche`).

use super::*;
use crate::config::XmlLimits;

const DOC: &str = r#"<x:r xmlns:x="urn:x" a="1">
  <k><code>1</code><name>eins</name></k>
  <k><code>2</code></k>
  <n>3</n><n>4.5</n><e/><w>  </w>
  <b><f><name>A</name></f></b><b><f><name>B</name></f></b>
</x:r>"#;

fn tree() -> Tree {
    Tree::parse(
        DOC.as_bytes(),
        &XmlLimits::default(),
        TreeLimits { max_nodes: 10_000 },
    )
    .expect("well-formed")
}

fn eval(expr: &str) -> Result<String, ErrorCode> {
    let t = tree();
    let mut ctx = StaticContext::new();
    ctx.bind("x", "urn:x");
    let mut names = NameTable::default();
    let e = Expression::compile(expr, &ctx, &mut names, &[]).map_err(|e| e.code)?;
    let mut ev = Evaluator::new(&t, &names, 1_000_000);
    let root = t.root_element().expect("root");
    let seq = ev.evaluate(&e, root).map_err(|e| e.code)?;
    Ok(seq
        .iter()
        .map(|i| match i {
            Item::Node(n) => format!("<{}>", t.qualified_name(*n)),
            Item::Atomic(a) => a.to_text(),
        })
        .collect::<Vec<_>>()
        .join(","))
}

#[test]
fn general_comparisons_are_existential_over_sequences() {
    assert_eq!(eval("k/code = ('2','3')"), Ok("true".into()));
    assert_eq!(eval("k/code = '9'"), Ok("false".into()));
    assert_eq!(eval("k/code != '1'"), Ok("true".into()));
    // untyped against a number: compared as doubles
    assert_eq!(eval("n = 4.5"), Ok("true".into()));
    assert_eq!(eval("n > 4"), Ok("true".into()));
    // untyped that is not a number, compared with a number: FORG0001, not false
    assert_eq!(eval("k/name = 1"), Err(ErrorCode::FORG0001));
}

#[test]
fn empty_sequences_propagate_through_arithmetic() {
    assert_eq!(eval("n[1] + missing"), Ok(String::new()));
    assert_eq!(eval("(n[1] + missing) >= 1"), Ok("false".into()));
    assert_eq!(eval("n[1] + n[2]"), Ok("7.5".into()));
    assert_eq!(eval("7 * n[1]"), Ok("21".into()));
    assert_eq!(eval("3 div 2"), Ok("1.5".into()));
    assert_eq!(eval("1 div 0"), Err(ErrorCode::FOAR0001));
    assert_eq!(eval("1e0 div 0"), Ok("INF".into()));
    assert_eq!(eval("n + 1"), Err(ErrorCode::XPTY0004));
}

#[test]
fn two_items_where_one_is_expected_is_a_type_error() {
    // sch-stat-002's shape: normalize-space() of two names.
    assert_eq!(
        eval("normalize-space(b//name) = ''"),
        Err(ErrorCode::XPTY0004)
    );
    assert_eq!(eval("normalize-space(b[1]//name)"), Ok("A".into()));
    assert_eq!(eval("string-length(5)"), Err(ErrorCode::XPTY0004));
}

#[test]
fn conditionals_functions_and_regex() {
    assert_eq!(
        eval("if (k[1]/code = '1') then matches('abc:12','^[a-z]{3}:\\d+$') else true()"),
        Ok("true".into())
    );
    assert_eq!(
        eval("matches('abc:12x','^[a-z]{3}:\\d+$')"),
        Ok("false".into())
    );
    assert_eq!(eval("matches('a', '(a)\\1')"), Err(ErrorCode::FORX0002));
    assert_eq!(eval("exists(x:missing)"), Ok("false".into()));
    assert_eq!(eval("count(//name)"), Ok("3".into()));
    assert_eq!(
        eval("not(not(*) and normalize-space(.) = '')"),
        Ok("true".into())
    );
    assert_eq!(
        eval("for $e in (e, w) return not(not($e/*) and normalize-space($e) = '')"),
        Ok("false,false".into())
    );
    assert_eq!(
        eval("string-join(for $i in 1 to 3 return string($i), '-')"),
        Ok("1-2-3".into())
    );
    assert_eq!(
        eval("some $c in k/code satisfies $c = '2'"),
        Ok("true".into())
    );
    assert_eq!(
        eval("every $c in k/code satisfies $c = '2'"),
        Ok("false".into())
    );
    assert_eq!(eval("replace('a-b-c', '-', '+')"), Ok("a+b+c".into()));
    assert_eq!(eval("tokenize('a, b,c', ',\\s*')"), Ok("a,b,c".into()));
    assert_eq!(eval("substring('12345', 1.5, 2.6)"), Ok("234".into()));
    assert_eq!(eval("sum(n)"), Ok("7.5".into()));
    assert_eq!(eval("max((1, 3, 2))"), Ok("3".into()));
    assert_eq!(eval("distinct-values(k/code | k/code)"), Ok("1,2".into()));
    assert_eq!(eval("name(/*)"), Ok("x:r".into()));
    assert_eq!(eval("local-name(@a)"), Ok("a".into()));
    assert_eq!(eval("xs:integer('12') + 1"), Ok("13".into()));
    assert_eq!(eval("'5' castable as xs:integer"), Ok("true".into()));
    assert_eq!(eval("k instance of element()+"), Ok("true".into()));
}

#[test]
fn paths_axes_and_positions() {
    assert_eq!(eval("k[2]/code"), Ok("<code>".into()));
    assert_eq!(eval("string(k[last()]/code)"), Ok("2".into()));
    assert_eq!(eval("string((//name)[2])"), Ok("A".into()));
    assert_eq!(eval("count(//k/following-sibling::*)"), Ok("7".into()));
    assert_eq!(
        eval("string(k[2]/preceding-sibling::k/code)"),
        Ok("1".into())
    );
    assert_eq!(eval("count(//name/ancestor::*)"), Ok("6".into()));
    assert_eq!(eval("count(//name[1])"), Ok("3".into()));
    assert_eq!(eval("(//f/ancestor::*)[1] is /*"), Ok("true".into()));
    assert_eq!(eval("count(b/f/name/text())"), Ok("2".into()));
    assert_eq!(eval("k/code/string()"), Ok("1,2".into()));
    assert_eq!(eval("(k, n) / 1"), Ok("1,1,1,1".into()));
}

#[test]
fn static_errors_carry_codes() {
    assert_eq!(eval("foo(1)"), Err(ErrorCode::XPST0017));
    assert_eq!(eval("$undeclared"), Err(ErrorCode::XPST0008));
    assert_eq!(eval("p:x"), Err(ErrorCode::XPST0081));
    assert_eq!(eval("1 +"), Err(ErrorCode::XPST0003));
    assert_eq!(eval("(1"), Err(ErrorCode::XPST0003));
}

#[test]
fn the_budget_stops_quadratic_work() {
    let t = tree();
    let ctx = StaticContext::new();
    let mut names = NameTable::default();
    let e =
        Expression::compile("count(//*[count(//*) > 0])", &ctx, &mut names, &[]).expect("compiles");
    let mut ev = Evaluator::new(&t, &names, 50);
    let err = ev.evaluate(&e, 0).expect_err("budget");
    assert_eq!(err.code, ErrorCode::POST0001);
}
