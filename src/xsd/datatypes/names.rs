//! Name-like lexical spaces: Name, NCName, NMTOKEN, language and QName (XML 1.0 5th edition
//! name characters; Namespaces in XML 1.0 for QName).

use super::NsResolver;

pub use crate::xml::chars::{NAME_EXTRA_RANGES, NAME_START_RANGES};

/// XML NameStartChar.
pub fn is_name_start(c: char) -> bool {
    c == ':' || crate::xml::chars::is_name_start_char(c)
}

/// XML NameChar.
pub fn is_name_char(c: char) -> bool {
    c == ':' || crate::xml::chars::is_name_char(c)
}

/// xs:Name.
pub fn is_name(s: &str) -> bool {
    let mut it = s.chars();
    it.next().is_some_and(is_name_start) && it.all(is_name_char)
}

/// xs:NCName (a Name without colons): the rule of Namespaces in XML, as the reader checks
/// names.
pub use crate::xml::chars::is_ncname;

/// xs:NMTOKEN.
pub fn is_nmtoken(s: &str) -> bool {
    !s.is_empty() && s.chars().all(is_name_char)
}

/// xs:language: `[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*` (the pattern facet of the built-in).
pub fn is_language(s: &str) -> bool {
    let mut first = true;
    for part in s.split('-') {
        let ok_len = (1..=8).contains(&part.len());
        let ok_chars = if first {
            part.bytes().all(|b| b.is_ascii_alphabetic())
        } else {
            part.bytes().all(|b| b.is_ascii_alphanumeric())
        };
        if !ok_len || !ok_chars {
            return false;
        }
        first = false;
    }
    true
}

/// Why a QName lexical form has no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QNameError {
    /// Not `NCName (':' NCName)?`.
    Syntax,
    /// The prefix is not bound.
    Unbound,
}

/// Split and resolve a QName: returns (namespace name, local part); no namespace is `""`.
/// Unprefixed names take the default namespace, as QName-valued content does.
pub fn resolve_qname<'a>(
    s: &'a str,
    ns: &'a dyn NsResolver,
) -> Result<(&'a str, &'a str), QNameError> {
    let (prefix, local) = crate::xml::chars::split_qname(s).map_err(|_| QNameError::Syntax)?;
    let uri = match ns.resolve(prefix) {
        Some(u) => u,
        None if prefix.is_empty() => "",
        None => return Err(QNameError::Unbound),
    };
    if !prefix.is_empty() && uri.is_empty() {
        return Err(QNameError::Unbound);
    }
    Ok((uri, local))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ns;
    impl NsResolver for Ns {
        fn resolve(&self, p: &str) -> Option<&str> {
            match p {
                "a" => Some("urn:a"),
                "" => Some("urn:default"),
                _ => None,
            }
        }
    }

    #[test]
    fn names() {
        for ok in [
            "a",
            "_x",
            ":a",
            "a:b",
            "é",
            "a-b.c",
            "A\u{B7}",
            "x\u{10000}",
        ] {
            assert!(is_name(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", ".a", "a b", "\u{B7}a", "a\u{D7}"] {
            assert!(!is_name(bad), "{bad}");
        }
        assert!(is_ncname("a_b"));
        assert!(!is_ncname("a:b"));
        assert!(is_nmtoken("1-a:b"));
        assert!(!is_nmtoken(""));
        assert!(!is_nmtoken("a b"));
    }

    #[test]
    fn language() {
        for ok in [
            "de",
            "de-DE",
            "en-GB-oed",
            "i-klingon",
            "x-a1b2c3d4",
            "abcdefgh",
        ] {
            assert!(is_language(ok), "{ok}");
        }
        for bad in [
            "",
            "de_DE",
            "abcdefghi",
            "de-",
            "-de",
            "1a",
            "de--x",
            "de-123456789",
        ] {
            assert!(!is_language(bad), "{bad}");
        }
    }

    #[test]
    fn qnames() {
        assert_eq!(resolve_qname("a:x", &Ns), Ok(("urn:a", "x")));
        assert_eq!(resolve_qname("x", &Ns), Ok(("urn:default", "x")));
        assert_eq!(resolve_qname("b:x", &Ns), Err(QNameError::Unbound));
        assert_eq!(resolve_qname("a:", &Ns), Err(QNameError::Syntax));
        assert_eq!(resolve_qname(":x", &Ns), Err(QNameError::Syntax));
        assert_eq!(resolve_qname("a:b:c", &Ns), Err(QNameError::Syntax));
        assert_eq!(
            resolve_qname("x", &super::super::NoNamespaces),
            Ok(("", "x"))
        );
    }
}
