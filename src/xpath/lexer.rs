//! XPath 2.0 tokens. The lexer is context-free: whether a name is an operator keyword
//! (`and`, `div`, …), a function, an axis or a name test, and whether `*` multiplies or is a
//! wildcard, is decided by the parser from the position.

use super::error::{ErrorCode, StaticError};
use crate::xml::chars::{is_name_char, is_name_start_char};

/// One token with its character offset.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub tok: Tok,
    pub offset: usize,
}

/// The kinds of token.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    /// A QName (`local` or `prefix:local`).
    Name(Option<String>, String),
    /// `*`, `prefix:*` or `*:local` (a lone `*` is also multiplication; the parser decides).
    Wildcard(Option<String>, Option<String>),
    /// A string literal, quotes removed and doubled quotes undone.
    Str(String),
    /// An integer literal (as written; the parser converts).
    Integer(String),
    /// A decimal literal.
    Decimal(String),
    /// A double literal.
    Double(String),
    /// Punctuation and operators.
    Sym(&'static str),
    /// End of the expression.
    Eof,
}

const SYMBOLS: &[&str] = &[
    "//", "::", "..", "!=", "<=", ">=", "<<", ">>", "(", ")", "[", "]", ",", "/", "@", ".", "+",
    "-", "=", "<", ">", "|", "$", "?",
];

/// Splits an expression into tokens (comments `(: … :)` are skipped, nested ones too).
pub(crate) fn tokenize(src: &str) -> Result<Vec<Token>, StaticError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let err = |at: usize, m: &str| StaticError::new(ErrorCode::XPST0003, at, m);
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, ' ' | '\t' | '\n' | '\r') {
            i += 1;
            continue;
        }
        if c == '(' && chars.get(i + 1) == Some(&':') {
            let mut depth = 0usize;
            let start = i;
            loop {
                if i + 1 >= chars.len() {
                    return Err(err(start, "comment not closed"));
                }
                if chars[i] == '(' && chars[i + 1] == ':' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == ':' && chars[i + 1] == ')' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            continue;
        }
        let start = i;
        if c == '"' || c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(err(start, "string literal not closed")),
                    Some(&q) if q == c => {
                        if chars.get(i + 1) == Some(&c) {
                            s.push(c);
                            i += 2;
                        } else {
                            i += 1;
                            break;
                        }
                    }
                    Some(&ch) => {
                        s.push(ch);
                        i += 1;
                    }
                }
            }
            out.push(Token {
                tok: Tok::Str(s),
                offset: start,
            });
            continue;
        }
        if c.is_ascii_digit() || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let (tok, next) = number(&chars, i).map_err(|m| err(start, m))?;
            out.push(Token { tok, offset: start });
            i = next;
            continue;
        }
        if c == '*' {
            // `*:local`
            if chars.get(i + 1) == Some(&':')
                && chars.get(i + 2).is_some_and(|&c| is_ncname_start(c))
            {
                let (local, next) = ncname(&chars, i + 2);
                out.push(Token {
                    tok: Tok::Wildcard(None, Some(local)),
                    offset: start,
                });
                i = next;
            } else {
                out.push(Token {
                    tok: Tok::Wildcard(None, None),
                    offset: start,
                });
                i += 1;
            }
            continue;
        }
        if is_ncname_start(c) {
            let (first, next) = ncname(&chars, i);
            i = next;
            if chars.get(i) == Some(&':') && chars.get(i + 1) != Some(&':') {
                if chars.get(i + 1) == Some(&'*') {
                    out.push(Token {
                        tok: Tok::Wildcard(Some(first), None),
                        offset: start,
                    });
                    i += 2;
                    continue;
                }
                if chars.get(i + 1).is_some_and(|&c| is_ncname_start(c)) {
                    let (local, next) = ncname(&chars, i + 1);
                    i = next;
                    out.push(Token {
                        tok: Tok::Name(Some(first), local),
                        offset: start,
                    });
                    continue;
                }
            }
            out.push(Token {
                tok: Tok::Name(None, first),
                offset: start,
            });
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let Some(sym) = SYMBOLS.iter().find(|s| rest.starts_with(**s)) else {
            return Err(err(start, "unexpected character"));
        };
        i += sym.chars().count();
        out.push(Token {
            tok: Tok::Sym(sym),
            offset: start,
        });
    }
    out.push(Token {
        tok: Tok::Eof,
        offset: chars.len(),
    });
    Ok(out)
}

fn is_ncname_start(c: char) -> bool {
    c != ':' && is_name_start_char(c)
}

fn ncname(chars: &[char], mut i: usize) -> (String, usize) {
    let start = i;
    while i < chars.len() && chars[i] != ':' && is_name_char(chars[i]) {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

fn number(chars: &[char], mut i: usize) -> Result<(Tok, usize), &'static str> {
    let start = i;
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    let mut decimal = false;
    if chars.get(i) == Some(&'.') && chars.get(i + 1) != Some(&'.') {
        decimal = true;
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(chars.get(i), Some('e' | 'E')) {
        let mut j = i + 1;
        if matches!(chars.get(j), Some('+' | '-')) {
            j += 1;
        }
        if !chars.get(j).is_some_and(char::is_ascii_digit) {
            return Err("exponent without digits");
        }
        while j < chars.len() && chars[j].is_ascii_digit() {
            j += 1;
        }
        let text: String = chars[start..j].iter().collect();
        return Ok((Tok::Double(text), j));
    }
    // A number immediately followed by a name character is not a token boundary (`12abc`).
    if chars.get(i).is_some_and(|&c| is_ncname_start(c)) {
        return Err("a number must not be followed directly by a name");
    }
    let text: String = chars[start..i].iter().collect();
    Ok((
        if decimal {
            Tok::Decimal(text)
        } else {
            Tok::Integer(text)
        },
        i,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<Tok> {
        tokenize(s)
            .expect("lexes")
            .into_iter()
            .map(|t| t.tok)
            .collect()
    }

    #[test]
    fn names_keep_dots_and_hyphens() {
        assert_eq!(
            toks("xbau:anzeige.beseitigungAbsicht.0950//nachrichtenkopf.g2g"),
            vec![
                Tok::Name(
                    Some("xbau".into()),
                    "anzeige.beseitigungAbsicht.0950".into()
                ),
                Tok::Sym("//"),
                Tok::Name(None, "nachrichtenkopf.g2g".into()),
                Tok::Eof
            ]
        );
        assert_eq!(
            toks("a-b - c"),
            vec![
                Tok::Name(None, "a-b".into()),
                Tok::Sym("-"),
                Tok::Name(None, "c".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn literals_comments_and_wildcards() {
        assert_eq!(
            toks("'it''s' (: c (: nested :) :) 1.5 2 3e1 .5 p:* *:l child::x"),
            vec![
                Tok::Str("it's".into()),
                Tok::Decimal("1.5".into()),
                Tok::Integer("2".into()),
                Tok::Double("3e1".into()),
                Tok::Decimal(".5".into()),
                Tok::Wildcard(Some("p".into()), None),
                Tok::Wildcard(None, Some("l".into())),
                Tok::Name(None, "child".into()),
                Tok::Sym("::"),
                Tok::Name(None, "x".into()),
                Tok::Eof
            ]
        );
    }

    #[test]
    fn unclosed_things_are_syntax_errors() {
        for bad in ["'abc", "(: x", "1e", "#"] {
            let e = tokenize(bad).expect_err(bad);
            assert_eq!(e.code, ErrorCode::XPST0003, "{bad}");
        }
    }
}
