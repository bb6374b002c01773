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
    /// namespace, as XPath 1.0 says).
    pub fn parse(
        expr: &str,
        is_field: bool,
        resolve: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, String> {
        let mut paths = Vec::new();
        for alt in expr.split('|') {
            let mut s = alt.trim();
            let mut descendant = false;
            if let Some(rest) = s.strip_prefix(".//") {
                descendant = true;
                s = rest.trim_start();
            }
            let mut steps = Vec::new();
            let parts: Vec<&str> = s.split('/').map(str::trim).collect();
            for (i, part) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                let (attr, test) = match part.strip_prefix('@') {
                    Some(rest) => (true, rest.trim()),
                    None => match part.strip_prefix("attribute::") {
                        Some(rest) => (true, rest.trim()),
                        None => (false, part.strip_prefix("child::").unwrap_or(part).trim()),
                    },
                };
                if test.is_empty() {
                    return Err(format!("empty step in XPath '{expr}'"));
                }
                if !attr && test == "." {
                    continue;
                }
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
}
