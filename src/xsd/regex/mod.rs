//! XSD 1.0 regular expressions, translated to the linear-time `regex` crate.
//!
//! XSD patterns are implicitly anchored, have no anchors, backreferences, lazy quantifiers
//! or lookaround, and add `\i`, `\c`, block escapes and class subtraction. [`translate`]
//! produces an anchored Rust pattern; [`compile`] builds it once per pattern string (a
//! process-wide cache: the DIN 91379 classes in XÖV schemas are large and used everywhere)
//! with the size limit of [`XsdLimits::max_regex_bytes`].

mod blocks;
mod translate;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use crate::config::XsdLimits;

/// A pattern that is not a valid XSD 1.0 regular expression or cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegexError {
    /// The pattern breaks the XSD regex grammar at this character offset.
    #[error("invalid XSD pattern at character {at}: {what}")]
    Syntax {
        /// Character offset in the pattern.
        at: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// `\p{IsX}` names no Unicode block known to XSD 1.0.
    #[error("unknown Unicode block in \\p{{{0}}}")]
    UnknownBlock(String),
    /// `\p{X}` names no Unicode general category.
    #[error("unknown Unicode category in \\p{{{0}}}")]
    UnknownCategory(String),
    /// The compiled pattern exceeds `XsdLimits::max_regex_bytes`, or the regex engine
    /// refused it.
    #[error("pattern cannot be compiled within the limits: {0}")]
    Compile(String),
}

/// Translate an XSD pattern to an anchored `regex` pattern.
pub fn translate(xsd: &str) -> Result<String, RegexError> {
    Ok(format!("\\A(?:{})\\z", translate::translate_body(xsd)?))
}

/// A compiled pattern facet value (cheap to clone: the automaton is shared).
#[derive(Clone, Debug)]
pub struct CompiledPattern {
    regex: regex::Regex,
    source: Arc<str>,
}

impl CompiledPattern {
    /// Does the whole text match?
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The XSD source (patterns of one derivation step are joined by `|`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The XSD source, shared (for error values).
    pub fn shared_source(&self) -> Arc<str> {
        self.source.clone()
    }
}

/// Entries kept in the pattern cache; schemas are trusted, so this only bounds mistakes.
const CACHE_CAP: usize = 10_000;

type Cache = Mutex<HashMap<(Box<str>, usize), CompiledPattern>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Compile one XSD pattern (cached per pattern string and size limit).
pub fn compile(xsd: &str, limits: &XsdLimits) -> Result<CompiledPattern, RegexError> {
    compile_any(&[xsd], limits)
}

/// Compile the patterns of one derivation step, which XSD ORs together.
pub fn compile_any(patterns: &[&str], limits: &XsdLimits) -> Result<CompiledPattern, RegexError> {
    let source = patterns.join("|");
    let key = (Box::<str>::from(source.as_str()), limits.max_regex_bytes);
    if let Ok(c) = cache().lock()
        && let Some(hit) = c.get(&key)
    {
        return Ok(hit.clone());
    }
    let mut body = String::from("\\A(?:");
    for (i, p) in patterns.iter().enumerate() {
        if i > 0 {
            body.push('|');
        }
        body.push_str("(?:");
        body.push_str(&translate::translate_body(p)?);
        body.push(')');
    }
    body.push_str(")\\z");
    let regex = regex::RegexBuilder::new(&body)
        .size_limit(limits.max_regex_bytes)
        .dfa_size_limit(limits.max_regex_bytes)
        .build()
        .map_err(|e| RegexError::Compile(e.to_string()))?;
    let compiled = CompiledPattern {
        regex,
        source: source.into(),
    };
    if let Ok(mut c) = cache().lock()
        && c.len() < CACHE_CAP
    {
        c.insert(key, compiled.clone());
    }
    Ok(compiled)
}

/// Compiles an XPath 2.0 regular expression (`fn:matches`, `fn:replace`, `fn:tokenize`) with
/// its flags (`s`, `m`, `i`, `x`), unanchored, within `max_bytes` of compiled size.
///
/// # Errors
/// [`RegexError`] for an invalid pattern, an unknown flag (`Syntax` at offset 0), a
/// back-reference, or a pattern over the size limit.
pub fn compile_xpath(
    pattern: &str,
    flags: &str,
    max_bytes: usize,
) -> Result<regex::Regex, RegexError> {
    let mut dot_all = false;
    let mut inline = String::new();
    let mut extended = false;
    for f in flags.chars() {
        match f {
            's' => dot_all = true,
            'm' => inline.push('m'),
            'i' => inline.push('i'),
            'x' => extended = true,
            _ => {
                return Err(RegexError::Syntax {
                    at: 0,
                    what: "unknown regular-expression flag",
                });
            }
        }
    }
    let stripped;
    let pattern = if extended {
        stripped = strip_whitespace_outside_classes(pattern);
        stripped.as_str()
    } else {
        pattern
    };
    let body = translate::translate_xpath_body(pattern, dot_all)?;
    let full = if inline.is_empty() {
        body
    } else {
        format!("(?{inline}:{body})")
    };
    regex::RegexBuilder::new(&full)
        .size_limit(max_bytes)
        .dfa_size_limit(max_bytes)
        .build()
        .map_err(|e| RegexError::Compile(e.to_string()))
}

/// The `x` flag: whitespace is removed except inside character classes (F&O 3.1 §5.6.1).
fn strip_whitespace_outside_classes(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for c in p.chars() {
        if escaped {
            out.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '[' => {
                depth += 1;
                out.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            ' ' | '\t' | '\n' | '\r' if depth == 0 => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
