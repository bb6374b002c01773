//! xs:anyURI (§3.2.17). Lenient, as XSD 1.0 processors are in practice: any string that
//! could become a URI reference by escaping is accepted. Only forms that no escaping can
//! repair are refused (the W3C suite's 1.0 verdicts): an empty or malformed scheme before the
//! first `:` (`:a`), a scheme with nothing after it (`b:`), more than one `#`, and `%` not
//! followed by two hex digits.

/// Is `s` (collapsed) in the lexical space of anyURI?
pub fn is_any_uri(s: &str) -> bool {
    // One pass (this runs for every listURI attribute of an XÖV code): the first '/', '?' or
    // '#' ends the part where a scheme may stand, the first ':' before it ends the scheme.
    let b = s.as_bytes();
    let mut hashes = 0;
    let mut head_end = None;
    let mut colon = None;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'#' => {
                hashes += 1;
                if hashes > 1 {
                    return false;
                }
                head_end.get_or_insert(i);
            }
            b'/' | b'?' => {
                head_end.get_or_insert(i);
            }
            b':' if head_end.is_none() => {
                colon.get_or_insert(i);
            }
            // Escaping never touches '%', so it must already start an escape.
            b'%' if !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit)) =>
            {
                return false;
            }
            _ => {}
        }
    }
    let Some(colon) = colon else {
        return true;
    };
    let scheme = &b[..colon];
    let scheme_ok = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme[1..]
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
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
            "a?b:c",
            "urn:xoev-de:kosit:codeliste:verzeichnisdienst",
            "http://x/%20#y:z",
        ] {
            assert!(super::is_any_uri(ok), "{ok}");
        }
        for bad in [
            ":a", "b:", "1a:b", "a#b#c", "a b:c", "%", "a%2", "%zz", "a:b#%g0", "#a:b#",
        ] {
            assert!(!super::is_any_uri(bad), "{bad}");
        }
    }
}
