//! XSD 1.0 regular expressions (Part 2, Appendix F) → `regex` crate syntax.
//!
//! A recursive-descent parser over the XSD grammar that emits an equivalent Rust pattern.
//! Every literal character is emitted as `\x{…}` (except ASCII letters and digits), so no
//! XSD character can become a Rust metacharacter. Classes are emitted as nested Rust classes;
//! subtraction `[A-[B]]` becomes intersection with a complement `[[A]&&[^[B]]]`.

use super::RegexError;
use super::blocks;
use crate::xsd::datatypes::names::{NAME_EXTRA_RANGES, NAME_START_RANGES};
use std::fmt::Write as _;

const CATEGORIES: &[&str] = &[
    "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No", "P", "Pc",
    "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Z", "Zs", "Zl", "Zp", "S", "Sm", "Sc", "Sk", "So", "C",
    "Cc", "Cf", "Co", "Cn",
];

/// Translate without anchors (the caller wraps the result).
pub(super) fn translate_body(xsd: &str) -> Result<String, RegexError> {
    translate_with(xsd, None)
}

/// XPath 2.0 (F&O §7.6.1) extends XSD regexes: `^` and `$` are anchors, quantifiers may be
/// reluctant (`*?`), `\$` and `\^` escape them, `.` excludes only `\n` (unless the `s` flag
/// makes it match everything). Back-references are not supported (the `regex` crate runs in
/// linear time and has none): such a pattern is refused, never misread.
pub(super) fn translate_xpath_body(pattern: &str, dot_all: bool) -> Result<String, RegexError> {
    translate_with(pattern, Some(dot_all))
}

fn translate_with(xsd: &str, xpath: Option<bool>) -> Result<String, RegexError> {
    let mut p = Parser {
        chars: xsd.chars().collect(),
        pos: 0,
        out: String::with_capacity(xsd.len() * 2),
        xpath,
    };
    p.reg_exp()?;
    if p.pos != p.chars.len() {
        return Err(p.err("unbalanced ')'"));
    }
    Ok(p.out)
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    out: String,
    /// `Some(dot_all)` in XPath mode.
    xpath: Option<bool>,
}

fn push_char(out: &mut String, c: char) {
    if c.is_ascii_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    }
}

fn push_range(out: &mut String, lo: char, hi: char) {
    push_char(out, lo);
    if hi != lo {
        out.push('-');
        push_char(out, hi);
    }
}

/// One element of a character class, rendered for use inside `[...]`.
enum Item {
    Range(char, char),
    Fragment(String),
}

impl Parser {
    fn err(&self, what: &'static str) -> RegexError {
        RegexError::Syntax { at: self.pos, what }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.chars.get(self.pos + n).copied()
    }

    fn reg_exp(&mut self) -> Result<(), RegexError> {
        self.branch()?;
        while self.peek() == Some('|') {
            self.pos += 1;
            self.out.push('|');
            self.branch()?;
        }
        Ok(())
    }

    fn branch(&mut self) -> Result<(), RegexError> {
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            self.atom()?;
            self.quantifier()?;
        }
        Ok(())
    }

    fn atom(&mut self) -> Result<(), RegexError> {
        let c = self.peek().ok_or_else(|| self.err("expected an atom"))?;
        self.pos += 1;
        match c {
            '(' => {
                self.out.push_str("(?:");
                self.reg_exp()?;
                if self.peek() != Some(')') {
                    return Err(self.err("missing ')'"));
                }
                self.pos += 1;
                self.out.push(')');
            }
            '[' => {
                let class = self.class_expr()?;
                self.out.push_str(&class);
            }
            '.' => match self.xpath {
                None => self.out.push_str("[^\\n\\r]"),
                Some(false) => self.out.push_str("[^\\n]"),
                Some(true) => self.out.push_str("(?s:.)"),
            },
            '^' if self.xpath.is_some() => self.out.push('^'),
            '$' if self.xpath.is_some() => self.out.push('$'),
            '\\' if self.xpath.is_some() && self.peek().is_some_and(|c| c.is_ascii_digit()) => {
                return Err(self.err("back-references are not supported"));
            }
            '\\' if self.xpath.is_some() && self.peek() == Some('$') => {
                self.pos += 1;
                push_char(&mut self.out, '$');
            }
            '\\' => match self.escape()? {
                Item::Range(lo, _) => push_char(&mut self.out, lo),
                Item::Fragment(f) => {
                    self.out.push('[');
                    self.out.push_str(&f);
                    self.out.push(']');
                }
            },
            '?' | '*' | '+' | '{' => return Err(self.err("quantifier without an atom")),
            '}' | ']' => return Err(self.err("unescaped '}' or ']'")),
            c => push_char(&mut self.out, c),
        }
        Ok(())
    }

    fn quantifier(&mut self) -> Result<(), RegexError> {
        match self.peek() {
            Some(c @ ('?' | '*' | '+')) => {
                self.pos += 1;
                self.out.push(c);
            }
            Some('{') => {
                self.pos += 1;
                let min = self
                    .number()
                    .ok_or_else(|| self.err("expected a number after '{'"))?;
                let mut max = Some(min);
                if self.peek() == Some(',') {
                    self.pos += 1;
                    max = self.number();
                }
                if self.peek() != Some('}') {
                    return Err(self.err("expected '}'"));
                }
                self.pos += 1;
                if max.is_some_and(|m| m < min) {
                    return Err(self.err("quantifier {n,m} with m < n"));
                }
                let _ = match max {
                    Some(m) if m == min => write!(self.out, "{{{min}}}"),
                    Some(m) => write!(self.out, "{{{min},{m}}}"),
                    None => write!(self.out, "{{{min},}}"),
                };
            }
            _ => return Ok(()),
        }
        if self.xpath.is_some() && self.peek() == Some('?') {
            // Reluctant quantifier (XPath only).
            self.pos += 1;
            self.out.push('?');
        }
        if matches!(self.peek(), Some('?' | '*' | '+' | '{')) {
            return Err(self.err("quantifier after a quantifier (not XSD)"));
        }
        Ok(())
    }

    fn number(&mut self) -> Option<u32> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        if start == self.pos {
            return None;
        }
        self.chars[start..self.pos]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    /// After `\`: a single-character escape (as a one-char range) or a class fragment.
    fn escape(&mut self) -> Result<Item, RegexError> {
        let c = self.peek().ok_or_else(|| self.err("'\\' at the end"))?;
        self.pos += 1;
        let single = |ch| Ok(Item::Range(ch, ch));
        match c {
            'n' => single('\n'),
            'r' => single('\r'),
            't' => single('\t'),
            '\\' | '|' | '.' | '?' | '*' | '+' | '(' | ')' | '{' | '}' | '-' | '[' | ']' | '^' => {
                single(c)
            }
            's' => Ok(Item::Fragment("\\x{20}\\x{9}\\x{A}\\x{D}".into())),
            'S' => Ok(Item::Fragment("[^\\x{20}\\x{9}\\x{A}\\x{D}]".into())),
            'd' => Ok(Item::Fragment("\\p{Nd}".into())),
            'D' => Ok(Item::Fragment("\\P{Nd}".into())),
            'w' => Ok(Item::Fragment("[^\\p{P}\\p{Z}\\p{C}]".into())),
            'W' => Ok(Item::Fragment("\\p{P}\\p{Z}\\p{C}".into())),
            'i' | 'I' | 'c' | 'C' => {
                let mut f = String::new();
                let negate = c.is_ascii_uppercase();
                if negate {
                    f.push_str("[^");
                }
                let extra: &[(char, char)] = if c.eq_ignore_ascii_case(&'c') {
                    NAME_EXTRA_RANGES
                } else {
                    &[]
                };
                for &(lo, hi) in NAME_START_RANGES.iter().chain(extra) {
                    push_range(&mut f, lo, hi);
                }
                if negate {
                    f.push(']');
                }
                Ok(Item::Fragment(f))
            }
            'p' | 'P' => self.property(c == 'P'),
            _ => Err(self.err("unknown escape (not XSD, e.g. \\b, \\x, \\u)")),
        }
    }

    fn property(&mut self, negate: bool) -> Result<Item, RegexError> {
        if self.peek() != Some('{') {
            return Err(self.err("expected '{' after \\p"));
        }
        self.pos += 1;
        let start = self.pos;
        while self.peek().is_some_and(|c| c != '}') {
            self.pos += 1;
        }
        if self.peek() != Some('}') {
            return Err(self.err("missing '}' after \\p{"));
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        self.pos += 1;
        if let Some(block) = name.strip_prefix("Is") {
            let ranges =
                blocks::lookup(block).ok_or_else(|| RegexError::UnknownBlock(name.clone()))?;
            if ranges.is_empty() {
                // An empty block (surrogates): match nothing, or everything when negated.
                let all = "\\x{0}-\\x{10FFFF}]";
                return Ok(Item::Fragment(if negate {
                    format!("[{all}")
                } else {
                    format!("[^{all}")
                }));
            }
            let mut f = String::from(if negate { "[^" } else { "[" });
            for &(lo, hi) in ranges {
                let _ = write!(f, "\\x{{{lo:X}}}-\\x{{{hi:X}}}");
            }
            f.push(']');
            return Ok(Item::Fragment(f));
        }
        if !CATEGORIES.contains(&name.as_str()) {
            return Err(RegexError::UnknownCategory(name));
        }
        Ok(Item::Fragment(format!(
            "\\{}{{{name}}}",
            if negate { 'P' } else { 'p' }
        )))
    }

    /// After `[`: parse a charGroup and the closing `]`; returns a Rust class.
    fn class_expr(&mut self) -> Result<String, RegexError> {
        let negate = self.peek() == Some('^');
        if negate {
            self.pos += 1;
        }
        let mut items = Vec::new();
        let mut subtract = None;
        let group_start = self.pos;
        loop {
            let c = self.peek().ok_or_else(|| self.err("missing ']'"))?;
            match c {
                ']' => {
                    if items.is_empty() {
                        return Err(self.err("empty character class"));
                    }
                    self.pos += 1;
                    break;
                }
                '[' => return Err(self.err("unescaped '[' in a character class")),
                '-' if self.peek_at(1) == Some('[') => {
                    if items.is_empty() {
                        return Err(self.err("subtraction from an empty class"));
                    }
                    self.pos += 2;
                    subtract = Some(self.class_expr()?);
                    if self.peek() != Some(']') {
                        return Err(self.err("subtraction must end the class"));
                    }
                    self.pos += 1;
                    break;
                }
                // A literal '-' may start or end a group, also right before a subtraction.
                '-' if self.pos != group_start
                    && self.peek_at(1) != Some(']')
                    && !(self.peek_at(1) == Some('-') && self.peek_at(2) == Some('[')) =>
                {
                    return Err(self.err("'-' inside a class must be escaped or at an end"));
                }
                _ => {
                    self.pos += 1;
                    let first = if c == '\\' {
                        self.escape()?
                    } else {
                        Item::Range(c, c)
                    };
                    let Item::Range(lo, _) = first else {
                        items.push(first);
                        continue;
                    };
                    if self.peek() == Some('-')
                        && !matches!(self.peek_at(1), Some(']' | '[') | None)
                    {
                        self.pos += 1;
                        let hi = match self.peek() {
                            Some('\\') => {
                                self.pos += 1;
                                match self.escape()? {
                                    Item::Range(h, _) => h,
                                    Item::Fragment(_) => {
                                        return Err(
                                            self.err("a range cannot end in a class escape")
                                        );
                                    }
                                }
                            }
                            Some(h) => {
                                self.pos += 1;
                                h
                            }
                            None => return Err(self.err("missing ']'")),
                        };
                        if hi < lo {
                            return Err(self.err("range out of order"));
                        }
                        items.push(Item::Range(lo, hi));
                    } else {
                        items.push(Item::Range(lo, lo));
                    }
                }
            }
        }
        let mut base = String::from(if negate { "[^" } else { "[" });
        for item in &items {
            match item {
                Item::Range(lo, hi) => push_range(&mut base, *lo, *hi),
                Item::Fragment(f) => base.push_str(f),
            }
        }
        base.push(']');
        Ok(match subtract {
            Some(sub) => format!("[{base}&&[^{sub}]]"),
            None => base,
        })
    }
}
