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

/// Class bit of [`NAME_CLASS`]: the byte is an ASCII `NameStartChar` (colon excluded).
const START: u8 = 1;
/// Class bit of [`NAME_CLASS`]: the byte is an ASCII `NameChar` (colon excluded).
const NAME: u8 = 2;
/// Class of [`NAME_CLASS`]: the byte is a colon.
const COLON: u8 = 4;

/// The name classes of every byte; 0 for bytes that are neither an ASCII name character nor
/// a colon, non-ASCII bytes included (their characters take the slow path over `char`s).
static NAME_CLASS: [u8; 256] = name_classes();

const fn name_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 128 {
        let b = i as u8;
        t[i] = if b.is_ascii_alphabetic() || b == b'_' {
            START | NAME
        } else if b.is_ascii_digit() || b == b'-' || b == b'.' {
            NAME
        } else if b == b':' {
            COLON
        } else {
            0
        };
        i += 1;
    }
    t
}

/// Whether `s` is a non-colonized name (`NCName` of Namespaces in XML).
pub fn is_ncname(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some((&first, rest)) = bytes.split_first() else {
        return false;
    };
    // Fast path for the names of nearly every document: one table look-up per byte.
    if NAME_CLASS[usize::from(first)] & START != 0
        && rest.iter().all(|&c| NAME_CLASS[usize::from(c)] & NAME != 0)
    {
        return true;
    }
    if bytes.is_ascii() {
        return false;
    }
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if is_name_start_char(c) => chars.all(is_name_char),
        _ => false,
    }
}

/// Which part of a qualified name is not an `NCName` (see [`split_qname`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QNameFault {
    /// The part before the colon (empty included: `:a` has no valid prefix).
    Prefix,
    /// The local part (the whole name when there is no colon).
    Local,
}

/// Splits a `QName` of Namespaces in XML (`NCName` or `NCName:NCName`) into (prefix, local
/// part); the prefix is `""` when there is none.
///
/// # Errors
/// Which part is not an `NCName`.
pub fn split_qname(s: &str) -> Result<(&str, &str), QNameFault> {
    let bytes = s.as_bytes();
    // Fast path, one pass: ASCII name characters and at most one colon, each part starting
    // with a name start character.
    let mut colon = None;
    let mut plain = true;
    for (i, &c) in bytes.iter().enumerate() {
        let class = NAME_CLASS[usize::from(c)];
        if class & NAME == 0 {
            if class == COLON && colon.is_none() {
                colon = Some(i);
            } else {
                plain = false;
                break;
            }
        }
    }
    let starts = |i: usize| {
        bytes
            .get(i)
            .is_some_and(|&c| NAME_CLASS[usize::from(c)] & START != 0)
    };
    if plain && starts(0) {
        match colon {
            None => return Ok(("", s)),
            Some(i) if starts(i + 1) => return Ok((&s[..i], &s[i + 1..])),
            Some(_) => {}
        }
    }
    // Everything else (non-ASCII names, and every error) by the definition.
    let (prefix, local) = match s.split_once(':') {
        Some((p, _)) if !is_ncname(p) => return Err(QNameFault::Prefix),
        Some(pl) => pl,
        None => ("", s),
    };
    if is_ncname(local) {
        Ok((prefix, local))
    } else {
        Err(QNameFault::Local)
    }
}

/// Whether `c` is allowed in an XML 1.0 document (production `Char`).
pub fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// A control character XML 1.0 forbids: every byte below 0x20 but tab, line feed and carriage
/// return (in UTF-8 such a byte is always the whole character).
const fn is_forbidden_control(b: u8) -> bool {
    b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r'
}

/// The first character in `s` that XML forbids, if any.
///
/// Fast path over bytes: in valid UTF-8 only C0 controls and U+FFFE/U+FFFF (encoded
/// `EF BF BE`/`EF BF BF`) can be outside `Char`; surrogates cannot occur in a `str`.
pub fn first_invalid_char(s: &str) -> Option<u32> {
    let bytes = s.as_bytes();
    // One branch-free pass (vectorised) for the common case of nothing suspicious at all.
    let suspicious = bytes
        .iter()
        .fold(false, |acc, &b| acc | is_forbidden_control(b) | (b == 0xEF));
    if !suspicious {
        return None;
    }
    if let Some(&b) = bytes.iter().find(|&&b| is_forbidden_control(b)) {
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

/// Whether character data needs neither line-end normalisation nor a closer look for
/// characters XML 1.0 forbids: no control character but tab and line feed (so no carriage
/// return either) and no byte 0xEF (which starts U+FFFE and U+FFFF). One branch-free pass, the
/// first of [`first_invalid_char`] with CR added: text for which this is `true` is taken as it
/// is, everything else goes through normalisation and [`first_invalid_char`].
pub fn is_plain_text(s: &str) -> bool {
    !s.as_bytes().iter().fold(false, |acc, &b| {
        acc | is_forbidden_control(b) | (b == b'\r') | (b == 0xEF)
    })
}

/// Whether `s` is XML whitespace only (space, tab, CR, LF).
pub fn is_whitespace(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plain text is exactly what needs no line-end normalisation (no CR) and has no
    /// forbidden character, checked on every byte value in several positions (the fold works
    /// on whole slices).
    #[test]
    fn plain_text_is_text_without_cr_or_anything_first_invalid_char_looks_at() {
        for c in (0u32..0x80).chain([0xE9, 0xFFFD, 0xFFFE, 0xFFFF, 0xEFFF, 0x1F600]) {
            let Some(c) = char::from_u32(c) else { continue };
            for s in [
                c.to_string(),
                format!("abc{c}"),
                format!("{}{c}{}", "x".repeat(40), "y".repeat(23)),
            ] {
                let expected = !s.contains('\r')
                    && first_invalid_char(&s).is_none()
                    && !s.as_bytes().contains(&0xEF);
                assert_eq!(is_plain_text(&s), expected, "{:?}", c);
            }
        }
        assert!(is_plain_text(""));
        assert!(is_plain_text("\n\t  Straße"));
    }

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
    fn qnames_are_split_where_both_parts_are_ncnames() {
        assert_eq!(split_qname("xbau:nachricht"), Ok(("xbau", "nachricht")));
        assert_eq!(split_qname("nachricht.0200"), Ok(("", "nachricht.0200")));
        assert_eq!(split_qname("bau:Straße"), Ok(("bau", "Straße")));
        assert_eq!(split_qname("ü:a"), Ok(("ü", "a")));
        assert_eq!(split_qname(":a"), Err(QNameFault::Prefix));
        assert_eq!(split_qname("1:a"), Err(QNameFault::Prefix));
        assert_eq!(split_qname("a-:b"), Ok(("a-", "b")));
        assert_eq!(split_qname("a:"), Err(QNameFault::Local));
        assert_eq!(split_qname("a:b:c"), Err(QNameFault::Local));
        assert_eq!(split_qname("a:1"), Err(QNameFault::Local));
        assert_eq!(split_qname(""), Err(QNameFault::Local));
        assert_eq!(split_qname("a b"), Err(QNameFault::Local));
        assert_eq!(split_qname("a\u{B7}:b"), Ok(("a\u{B7}", "b")));
        assert_eq!(split_qname("\u{B7}a"), Err(QNameFault::Local));
    }

    /// The table-driven paths agree with the definition by `char` classes for every name of
    /// up to three characters from a set that covers each class (and a colon).
    #[test]
    fn name_fast_paths_agree_with_the_definition() {
        let alphabet = [
            'a', 'Z', '_', '0', '-', '.', ':', ' ', '\u{B7}', 'ß', '\u{300}', '\u{7F}',
        ];
        let by_chars = |s: &str| {
            let mut it = s.chars();
            it.next().is_some_and(is_name_start_char) && it.all(is_name_char)
        };
        let mut names = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = names
                .iter()
                .flat_map(|n| alphabet.iter().map(move |c| format!("{n}{c}")))
                .collect();
            names.extend(longer);
        }
        for n in &names {
            assert_eq!(is_ncname(n), by_chars(n), "{n:?}");
            let expected = match n.split_once(':') {
                Some((p, _)) if !by_chars(p) => Err(QNameFault::Prefix),
                Some((p, l)) if by_chars(l) => Ok((p, l)),
                Some(_) => Err(QNameFault::Local),
                None if by_chars(n) => Ok(("", n.as_str())),
                None => Err(QNameFault::Local),
            };
            assert_eq!(split_qname(n), expected, "{n:?}");
        }
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
