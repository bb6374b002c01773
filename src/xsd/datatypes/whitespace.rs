//! The whiteSpace facet: how a lexical form is normalised before anything else is checked.

use std::borrow::Cow;

/// The whiteSpace facet (XML Schema Part 2, §4.3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WhiteSpace {
    /// Keep the text as it is (xs:string).
    Preserve,
    /// Replace each tab, line feed and carriage return by a space (xs:normalizedString).
    Replace,
    /// Replace, then collapse runs of spaces to one and strip leading and trailing spaces.
    Collapse,
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// `text` without leading and trailing XML whitespace (space, tab, line feed, carriage
/// return); `str::trim` would also strip U+00A0 and the other Unicode spaces.
pub fn trim(text: &str) -> &str {
    text.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
}

impl WhiteSpace {
    /// Parse the facet value as written in a schema.
    pub fn from_lexical(s: &str) -> Option<WhiteSpace> {
        match s {
            "preserve" => Some(WhiteSpace::Preserve),
            "replace" => Some(WhiteSpace::Replace),
            "collapse" => Some(WhiteSpace::Collapse),
            _ => None,
        }
    }

    /// The facet value as written in a schema.
    pub fn as_str(self) -> &'static str {
        match self {
            WhiteSpace::Preserve => "preserve",
            WhiteSpace::Replace => "replace",
            WhiteSpace::Collapse => "collapse",
        }
    }

    /// Normalise `text`; borrows when nothing changes (the common case).
    pub fn apply(self, text: &str) -> Cow<'_, str> {
        match self {
            WhiteSpace::Preserve => Cow::Borrowed(text),
            WhiteSpace::Replace => {
                if text.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r')) {
                    Cow::Owned(
                        text.chars()
                            .map(|c| {
                                if matches!(c, '\t' | '\n' | '\r') {
                                    ' '
                                } else {
                                    c
                                }
                            })
                            .collect(),
                    )
                } else {
                    Cow::Borrowed(text)
                }
            }
            WhiteSpace::Collapse => collapse(text),
        }
    }
}

/// Collapse whitespace; borrows a trimmed slice when the inside is already collapsed, so
/// `<code> 0200 </code>` costs no allocation.
pub fn collapse(text: &str) -> Cow<'_, str> {
    let trimmed = trim(text);
    let bytes = trimmed.as_bytes();
    let mut clean = true;
    let mut prev_space = false;
    for &b in bytes {
        if is_xml_space(b) {
            if b != b' ' || prev_space {
                clean = false;
                break;
            }
            prev_space = true;
        } else {
            prev_space = false;
        }
    }
    if clean {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut pending = false;
    for c in trimmed.chars() {
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            pending = true;
        } else {
            if pending {
                out.push(' ');
                pending = false;
            }
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collapse_borrows_when_possible() {
        assert!(matches!(collapse(" 0200 "), Cow::Borrowed("0200")));
        assert!(matches!(collapse("\n 0200 \t"), Cow::Borrowed("0200")));
        assert_eq!(collapse("a \t\n b  c"), "a b c");
        assert_eq!(collapse("   "), "");
        assert_eq!(WhiteSpace::Replace.apply("a\tb\n"), "a b ");
        assert_eq!(WhiteSpace::Preserve.apply(" a\t"), " a\t");
    }
}
