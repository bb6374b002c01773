//! Identity constraints: the XPath subset of XSD 1.0 (§3.11.6) for selectors and fields.
//!
//! Grammar: `Path ('|' Path)*`, `Path ::= ('.//')? Step ('/' Step)*`, steps are `.`, a name
//! test (`QName`, `*`, `prefix:*`) or, for fields only, a final `@` name test.

/// A name test with resolved namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameTest {
    /// `*`.
    Any,
    /// `prefix:*`.
    AnyIn(Box<str>),
    /// A QName.
    Name(Box<str>, Box<str>),
}

impl NameTest {
    /// Whether a name matches.
    pub fn matches(&self, ns: &str, local: &str) -> bool {
        match self {
            Self::Any => true,
            Self::AnyIn(n) => &**n == ns,
            Self::Name(n, l) => &**n == ns && &**l == local,
        }
    }
}

/// One step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `.`.
    SelfNode,
    /// A child element.
    Child(NameTest),
    /// An attribute (last step of a field).
    Attribute(NameTest),
}

/// One alternative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Starts with `.//`.
    pub descendant: bool,
    /// Steps (self steps removed).
    pub steps: Vec<Step>,
}

/// A parsed selector or field expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XPath {
    /// Alternatives.
    pub paths: Vec<Path>,
}

impl XPath {
    /// Parses an expression; `resolve` maps prefixes to namespaces (unprefixed names are in no
    /// namespace, as XPath 1.0 says). Whitespace may separate tokens (XPath 1.0
    /// ExprWhitespace): `. //.` and `child ::a` are valid.
    pub fn parse(
        expr: &str,
        is_field: bool,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let tokens = tokenize(expr)?;
        let mut paths = Vec::new();
        for alt in tokens.split(|t| *t == Tok::Pipe) {
            let mut rest = alt;
            let mut descendant = false;
            if let [Tok::Dot, Tok::DoubleSlash, tail @ ..] = rest {
                descendant = true;
                rest = tail;
            }
            let parts: Vec<&[Tok<'_>]> = rest.split(|t| *t == Tok::Slash).collect();
            let mut steps = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let (attr, test) = match part {
                    [Tok::Dot] => continue,
                    [Tok::At | Tok::Axis("attribute"), Tok::Name(t)] => (true, *t),
                    [Tok::Axis("child"), Tok::Name(t)] | [Tok::Name(t)] => (false, *t),
                    [] => return Err(format!("empty step in XPath '{expr}'")),
                    _ => return Err(format!("invalid step in XPath '{expr}'")),
                };
                if attr && !(is_field && last) {
                    return Err(format!(
                        "attribute step only allowed at the end of a field: '{expr}'"
                    ));
                }
                let name = if test == "*" {
                    NameTest::Any
                } else if let Some((prefix, local)) = test.split_once(':') {
                    let ns = resolve(prefix)
                        .ok_or_else(|| format!("prefix '{prefix}' not bound in XPath '{expr}'"))?;
                    if local == "*" {
                        NameTest::AnyIn(ns.into())
                    } else {
                        check_ncname(local, expr)?;
                        NameTest::Name(ns.into(), local.into())
                    }
                } else {
                    check_ncname(test, expr)?;
                    NameTest::Name("".into(), test.into())
                };
                steps.push(if attr {
                    Step::Attribute(name)
                } else {
                    Step::Child(name)
                });
            }
            paths.push(Path { descendant, steps });
        }
        Ok(Self { paths })
    }
}

/// A token of the XPath subset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok<'a> {
    Dot,
    Slash,
    DoubleSlash,
    Pipe,
    At,
    /// `child::` or `attribute::` (other axes are not in the subset).
    Axis(&'a str),
    /// A name test: `*`, `prefix:*`, `prefix:local` or `local`.
    Name(&'a str),
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{b7}')
}

fn tokenize(expr: &str) -> Result<Vec<Tok<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = expr;
    loop {
        rest = rest.trim_start_matches([' ', '\t', '\n', '\r']);
        let Some(c) = rest.chars().next() else {
            return Ok(out);
        };
        let (tok, len) = match c {
            '/' if rest.starts_with("//") => (Tok::DoubleSlash, 2),
            '/' => (Tok::Slash, 1),
            '|' => (Tok::Pipe, 1),
            '@' => (Tok::At, 1),
            '*' => (Tok::Name("*"), 1),
            '.' if !rest[1..].starts_with(is_name_char) || rest[1..].starts_with('.') => {
                (Tok::Dot, 1)
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
                let after = rest[end..].trim_start_matches([' ', '\t', '\n', '\r']);
                if let Some(tail) = after.strip_prefix("::") {
                    let axis = &rest[..end];
                    if !matches!(axis, "child" | "attribute") {
                        return Err(format!("axis '{axis}' is not allowed in XPath '{expr}'"));
                    }
                    rest = tail;
                    out.push(Tok::Axis(axis));
                    continue;
                }
                if rest[end..].starts_with(':') {
                    let local = &rest[end + 1..];
                    if local.starts_with('*') {
                        end += 2;
                    } else if local.starts_with(|c: char| c.is_alphabetic() || c == '_') {
                        end += 1 + local
                            .find(|c: char| !is_name_char(c))
                            .unwrap_or(local.len());
                    } else {
                        return Err(format!("invalid name test in XPath '{expr}'"));
                    }
                }
                (Tok::Name(&rest[..end]), end)
            }
            _ => return Err(format!("unexpected '{c}' in XPath '{expr}'")),
        };
        out.push(tok);
        rest = &rest[len..];
    }
}

fn check_ncname(s: &str, expr: &str) -> Result<(), String> {
    let mut chars = s.chars();
    let ok = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{b7}'));
    if ok {
        Ok(())
    } else {
        Err(format!("invalid name test '{s}' in XPath '{expr}'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_subset() {
        let r = |p: &str| (p == "a").then(|| "urn:a".to_owned());
        let x = XPath::parse(".//a:b/c|d", false, &r).expect("valid");
        assert_eq!(x.paths.len(), 2);
        assert!(x.paths[0].descendant);
        assert_eq!(
            x.paths[0].steps[0],
            Step::Child(NameTest::Name("urn:a".into(), "b".into()))
        );
        assert!(XPath::parse("@x/y", true, &r).is_err());
        assert!(XPath::parse("a:b/@c", true, &r).is_ok());
    }

    #[test]
    fn whitespace_between_tokens_is_allowed() {
        let r = |p: &str| (p == "a").then(|| "urn:a".to_owned());
        let x = XPath::parse(". //.", false, &r).expect("valid");
        assert!(x.paths[0].descendant);
        assert!(x.paths[0].steps.is_empty());
        let y = XPath::parse("child ::a:b / attribute :: c", true, &r).expect("valid");
        assert_eq!(
            y.paths[0].steps,
            vec![
                Step::Child(NameTest::Name("urn:a".into(), "b".into())),
                Step::Attribute(NameTest::Name("".into(), "c".into())),
            ]
        );
        assert!(XPath::parse("a : b", false, &r).is_err());
        assert!(XPath::parse("a//b", false, &r).is_err());
        assert!(XPath::parse("descendant::b", false, &r).is_err());
    }
}
