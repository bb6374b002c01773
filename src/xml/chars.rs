//! Character classes of XML 1.0 (fifth edition) and Namespaces in XML 1.0.

/// NameStartChar (colon included, as the production has it), as
/// inclusive ranges (XML 1.0 5th edition, production \[4\]).
pub const NAME_START_RANGES: &[(char, char)] = &[
    (':', ':'),
    ('A', 'Z'),
    ('_', '_'),
    ('a', 'z'),
    ('\u{C0}', '\u{D6}'),
    ('\u{D8}', '\u{F6}'),
    ('\u{F8}', '\u{2FF}'),
    ('\u{370}', '\u{37D}'),
    ('\u{37F}', '\u{1FFF}'),
    ('\u{200C}', '\u{200D}'),
    ('\u{2070}', '\u{218F}'),
    ('\u{2C00}', '\u{2FEF}'),
    ('\u{3001}', '\u{D7FF}'),
    ('\u{F900}', '\u{FDCF}'),
    ('\u{FDF0}', '\u{FFFD}'),
    ('\u{10000}', '\u{EFFFF}'),
];

/// NameChar additions to NameStartChar (production \[4a\]).
pub const NAME_EXTRA_RANGES: &[(char, char)] = &[
    ('-', '-'),
    ('.', '.'),
    ('0', '9'),
    ('\u{B7}', '\u{B7}'),
    ('\u{300}', '\u{36F}'),
    ('\u{203F}', '\u{2040}'),
];

fn in_ranges(c: char, ranges: &[(char, char)]) -> bool {
    ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

/// Whether `c` may start an XML name (production `NameStartChar`, colon excluded).
pub fn is_name_start_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphabetic() || c == '_'
    } else {
        in_ranges(c, NAME_START_RANGES)
    }
}

/// Whether `c` may continue an XML name (production `NameChar`, colon excluded).
pub fn is_name_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
    } else {
        in_ranges(c, NAME_START_RANGES) || in_ranges(c, NAME_EXTRA_RANGES)
    }
}

/// Whether `s` is a non-colonized name (`NCName` of Namespaces in XML).
pub fn is_ncname(s: &str) -> bool {
    let bytes = s.as_bytes();
    if bytes.is_ascii() {
        // Fast path for the names of nearly every document (checked per tag by the reader).
        return match bytes.split_first() {
            Some((&c, rest)) if c.is_ascii_alphabetic() || c == b'_' => rest
                .iter()
                .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.')),
            _ => false,
        };
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start_char(c) => chars.all(is_name_char),
        _ => false,
    }
}

/// Whether `c` is allowed in an XML 1.0 document (production `Char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// The first character in `s` that XML forbids, if any.
///
/// Fast path over bytes: in valid UTF-8 only C0 controls and U+FFFE/U+FFFF (encoded
/// `EF BF BE`/`EF BF BF`) can be outside `Char`; surrogates cannot occur in a `str`.
pub fn first_invalid_char(s: &str) -> Option<u32> {
    let bytes = s.as_bytes();
    // One branch-free pass (vectorised) for the common case of nothing suspicious at all.
    let suspicious = bytes.iter().fold(false, |acc, &b| {
        acc | (b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r') | (b == 0xEF)
    });
    if !suspicious {
        return None;
    }
    if let Some(&b) = bytes
        .iter()
        .find(|&&b| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
    {
        return Some(u32::from(b));
    }
    for i in memchr::memchr_iter(0xEF, bytes) {
        if bytes.get(i + 1) == Some(&0xBF) {
            match bytes.get(i + 2) {
                Some(0xBE) => return Some(0xFFFE),
                Some(0xBF) => return Some(0xFFFF),
                _ => {}
            }
        }
    }
    None
}

/// Whether `s` is XML whitespace only (space, tab, CR, LF).
pub fn is_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ncnames() {
        assert!(is_ncname("baugenehmigung.antrag.0200"));
        assert!(is_ncname("_x-1"));
        assert!(is_ncname("Straße"));
        assert!(!is_ncname("1abc"));
        assert!(!is_ncname("a:b"));
        assert!(!is_ncname(""));
        assert!(!is_ncname("-a"));
    }

    #[test]
    fn invalid_chars() {
        assert_eq!(first_invalid_char("ok\t\n\r text ü 😀"), None);
        assert_eq!(first_invalid_char("a\0b"), Some(0));
        assert_eq!(first_invalid_char("a\u{1}b"), Some(1));
        assert_eq!(first_invalid_char("a\u{FFFE}"), Some(0xFFFE));
        assert_eq!(first_invalid_char("a\u{FFFF}"), Some(0xFFFF));
        assert_eq!(first_invalid_char("\u{FFFD}\u{EFFF}"), None);
        assert!(!is_xml_char('\u{FFFE}'));
        assert!(is_xml_char('\u{10FFFF}'));
    }
}
