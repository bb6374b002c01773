//! xs:anyURI (§3.2.17). Lenient, as XSD 1.0 processors are in practice: any string that
//! could become a URI reference by escaping is accepted. Only forms that no escaping can
//! repair are refused (the W3C suite's 1.0 verdicts): an empty or malformed scheme before the
//! first `:` (`:a`), a scheme with nothing after it (`b:`), more than one `#`, and `%` not
//! followed by two hex digits.

/// Is `s` (collapsed) in the lexical space of anyURI?
pub fn is_any_uri(s: &str) -> bool {
    if s.bytes().filter(|&b| b == b'#').count() > 1 {
        return false;
    }
    // Escaping never touches '%', so it must already start an escape.
    let b = s.as_bytes();
    for (i, _) in s.match_indices('%') {
        if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return false;
        }
    }
    let head_end = s.find(['/', '?', '#']).unwrap_or(s.len());
    let Some(colon) = s[..head_end].find(':') else {
        return true;
    };
    let scheme = &s[..colon];
    let mut bytes = scheme.bytes();
    let scheme_ok = bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    scheme_ok && colon + 1 < s.len()
}

#[cfg(test)]
mod tests {
    #[test]
    fn lenient_but_not_everything() {
        for ok in [
            "",
            "a",
            "http://example.org/a b",
            "urn:x-a:b",
            "../a?b#c",
            "mailto:x@y",
            "a/b:c",
            "#frag",
            "ä",
        ] {
            assert!(super::is_any_uri(ok), "{ok}");
        }
        for bad in [":a", "b:", "1a:b", "a#b#c", "a b:c", "%", "a%2", "%zz"] {
            assert!(!super::is_any_uri(bad), "{bad}");
        }
    }
}
