//! XSD 1.0 regular expressions, translated to the linear-time `regex` crate.
//!
//! XSD patterns are implicitly anchored, have no anchors, backreferences, lazy quantifiers
//! or lookaround, and add `\i`, `\c`, block escapes and class subtraction. [`translate()`]
//! produces an anchored Rust pattern; [`compile`] builds it once per pattern string (a
//! process-wide cache: the DIN 91379 classes in XÖV schemas are large and used everywhere)
//! with the size limit of [`XsdLimits::max_regex_bytes`]; a schema set compiles its pattern
//! facets through a [`PatternBudget`], which also bounds them all together.

mod blocks;
mod translate;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};

use regex_automata::meta;

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
    /// The compiled pattern would exceed its size limit (`XsdLimits::max_regex_bytes`).
    #[error(
        "pattern cannot be compiled within the size limit of {limit} bytes (limit \
         xsd.max_regex_bytes)"
    )]
    TooLarge {
        /// The size limit, in bytes.
        limit: usize,
    },
    /// The pattern facets of one schema set together exceed
    /// `XsdLimits::max_regex_total_bytes` (see [`PatternBudget`]).
    #[error(
        "the pattern facets of the schema set need more than {limit} bytes compiled (limit \
         xsd.max_regex_total_bytes)"
    )]
    OverBudget {
        /// The budget, in bytes.
        limit: usize,
    },
    /// The regex engine refused the translated pattern for another reason.
    #[error("pattern cannot be compiled: {0}")]
    Compile(String),
}

/// Translate an XSD pattern to an anchored `regex` pattern.
pub fn translate(xsd: &str) -> Result<String, RegexError> {
    Ok(format!("\\A(?:{})\\z", translate::translate_body(xsd)?))
}

/// A compiled pattern facet value (cheap to clone: the automaton is shared).
#[derive(Clone, Debug)]
pub struct CompiledPattern {
    regex: meta::Regex,
    source: Arc<str>,
    heap_bytes: usize,
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

    /// Heap memory of the compiled automata, in bytes (without the per-thread search caches,
    /// which `max_regex_bytes` bounds separately).
    pub fn heap_bytes(&self) -> usize {
        self.heap_bytes
    }
}

/// Entries kept in the pattern cache (compiled patterns and refusals); bounds what a stream
/// of different schema sets in one process can pin.
const CACHE_CAP: usize = 10_000;

type Cache = Mutex<HashMap<(Box<str>, usize), Result<CompiledPattern, RegexError>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Compile one XSD pattern within `limits.max_regex_bytes` (cached per pattern string and
/// size limit), outside any schema set's [`PatternBudget`].
pub fn compile(xsd: &str, limits: &XsdLimits) -> Result<CompiledPattern, RegexError> {
    compile_cached(&[xsd], limits.max_regex_bytes)
}

/// Compile the patterns of one derivation step, which XSD ORs together, without the
/// process-wide cache (for callers that would otherwise fill it with throw-away patterns,
/// like the fuzzing harness).
pub fn compile_uncached(
    patterns: &[&str],
    size_limit: usize,
) -> Result<CompiledPattern, RegexError> {
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
    // What `regex::RegexBuilder` configures for a `&str` regex, on the engine underneath,
    // which reports the memory of what it built.
    let config = meta::Config::new()
        .match_kind(regex_automata::MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(Some(size_limit))
        .hybrid_cache_capacity(size_limit);
    let regex = meta::Builder::new()
        .configure(config)
        .syntax(regex_automata::util::syntax::Config::new().utf8(true))
        .build(&body)
        .map_err(|e| match e.size_limit() {
            Some(limit) => RegexError::TooLarge { limit },
            None => RegexError::Compile(e.to_string()),
        })?;
    Ok(CompiledPattern {
        heap_bytes: regex.memory_usage(),
        regex,
        source: patterns.join("|").into(),
    })
}

fn compile_cached(patterns: &[&str], size_limit: usize) -> Result<CompiledPattern, RegexError> {
    let key = (Box::<str>::from(patterns.join("|")), size_limit);
    if let Ok(c) = cache().lock()
        && let Some(hit) = c.get(&key)
    {
        return hit.clone();
    }
    let result = compile_uncached(patterns, size_limit);
    if let Ok(mut c) = cache().lock()
        && c.len() < CACHE_CAP
    {
        c.insert(key, result.clone());
    }
    result
}

/// The pattern facets of one schema set against its limits: each distinct pattern (the
/// patterns of one derivation step ORed) is compiled within `max_regex_bytes` and charged
/// once with the memory of its automata, or with `max_regex_bytes` when it is refused for
/// its size (the compile work spent on it); all together within `max_regex_total_bytes`.
///
/// Without the total, a schema of a few hundred patterns like `\d{11000}` kept the compiler
/// busy for a minute (each refused only at the size limit), and a few hundred just under the
/// limit pinned gigabytes. The pattern that crosses the budget is compiled before it is
/// refused, so the work is bounded by the budget plus one pattern's limit.
#[derive(Debug)]
pub struct PatternBudget {
    max_pattern_bytes: usize,
    max_total_bytes: usize,
    used: usize,
    charged: HashSet<Arc<str>>,
}

impl PatternBudget {
    /// An empty budget for one schema set.
    pub fn new(limits: &XsdLimits) -> PatternBudget {
        PatternBudget {
            max_pattern_bytes: limits.max_regex_bytes,
            max_total_bytes: limits.max_regex_total_bytes,
            used: 0,
            charged: HashSet::new(),
        }
    }

    /// Compile the patterns of one derivation step, which XSD ORs together (cached per
    /// pattern string and size limit), and charge them to the budget.
    ///
    /// # Errors
    /// [`RegexError`] for an invalid pattern or one over its size limit;
    /// [`RegexError::OverBudget`] once the schema set's patterns are over the total.
    pub fn compile_any(&mut self, patterns: &[&str]) -> Result<CompiledPattern, RegexError> {
        let over = RegexError::OverBudget {
            limit: self.max_total_bytes,
        };
        if self.used > self.max_total_bytes {
            return Err(over);
        }
        let result = compile_cached(patterns, self.max_pattern_bytes);
        let cost = match &result {
            Ok(c) => c.heap_bytes,
            Err(RegexError::TooLarge { limit }) => *limit,
            Err(_) => 0,
        };
        let source: Arc<str> = patterns.join("|").into();
        if self.charged.insert(source) {
            self.used = self.used.saturating_add(cost);
        }
        if self.used > self.max_total_bytes {
            return Err(over);
        }
        result
    }

    /// Bytes charged so far.
    pub fn used(&self) -> usize {
        self.used
    }
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
