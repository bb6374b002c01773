//! The function library (F&O 2.0 names and signatures, codepoint collation only).
//!
//! Arguments are converted by the function conversion rules of XPath 2.0 without the 1.0
//! compatibility mode: an `xs:string?` parameter takes at most one item (two are the type
//! error XPTY0004 — the case of sch-stat-002 with two natural-person Bauherren), untyped values
//! are cast to the parameter type, and a number where a string is expected is a type error.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::error::{DynError, ErrorCode};
use super::eval::{Eval, Focus, arithmetic, compare_atomics};
use super::tree::{DOCUMENT, NodeKind};
use super::value::{Atomic, AtomicType, Decimal, Item, Sequence, effective_boolean_value};

macro_rules! builtins {
    ($($variant:ident = $name:literal ($min:literal, $max:expr)),* $(,)?) => {
        /// A built-in function.
        #[allow(missing_docs)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Builtin { $($variant),* }

        const TABLE: &[(Builtin, &str, usize, usize)] = &[$((Builtin::$variant, $name, $min, $max)),*];
    };
}

const MANY: usize = usize::MAX;

builtins! {
    Position = "position" (0, 0),
    Last = "last" (0, 0),
    True = "true" (0, 0),
    False = "false" (0, 0),
    Not = "not" (1, 1),
    Boolean = "boolean" (1, 1),
    Exists = "exists" (1, 1),
    Empty = "empty" (1, 1),
    Count = "count" (1, 1),
    String = "string" (0, 1),
    Data = "data" (1, 1),
    Number = "number" (0, 1),
    StringLength = "string-length" (0, 1),
    NormalizeSpace = "normalize-space" (0, 1),
    Concat = "concat" (2, MANY),
    Contains = "contains" (2, 3),
    StartsWith = "starts-with" (2, 3),
    EndsWith = "ends-with" (2, 3),
    Substring = "substring" (2, 3),
    SubstringBefore = "substring-before" (2, 3),
    SubstringAfter = "substring-after" (2, 3),
    UpperCase = "upper-case" (1, 1),
    LowerCase = "lower-case" (1, 1),
    Translate = "translate" (3, 3),
    StringJoin = "string-join" (1, 2),
    Matches = "matches" (2, 3),
    Replace = "replace" (3, 4),
    Tokenize = "tokenize" (1, 3),
    Sum = "sum" (1, 2),
    Avg = "avg" (1, 1),
    Min = "min" (1, 2),
    Max = "max" (1, 2),
    Abs = "abs" (1, 1),
    Round = "round" (1, 1),
    Floor = "floor" (1, 1),
    Ceiling = "ceiling" (1, 1),
    RoundHalfToEven = "round-half-to-even" (1, 2),
    Name = "name" (0, 1),
    LocalName = "local-name" (0, 1),
    NamespaceUri = "namespace-uri" (0, 1),
    Root = "root" (0, 1),
    DistinctValues = "distinct-values" (1, 2),
    IndexOf = "index-of" (2, 3),
    Reverse = "reverse" (1, 1),
    Subsequence = "subsequence" (2, 3),
    Remove = "remove" (2, 2),
    InsertBefore = "insert-before" (3, 3),
    Head = "head" (1, 1),
    Tail = "tail" (1, 1),
    ExactlyOne = "exactly-one" (1, 1),
    OneOrMore = "one-or-more" (1, 1),
    ZeroOrOne = "zero-or-one" (1, 1),
    Compare = "compare" (2, 3),
    CodepointEqual = "codepoint-equal" (2, 2),
    CodepointsToString = "codepoints-to-string" (1, 1),
    StringToCodepoints = "string-to-codepoints" (1, 1),
    DeepEqual = "deep-equal" (2, 3),
    Error = "error" (0, 3),
    Trace = "trace" (1, 2),
}

impl Builtin {
    /// The function for `name` with `arity` arguments, if the library has it.
    pub(crate) fn lookup(name: &str, arity: usize) -> Option<Builtin> {
        TABLE
            .iter()
            .find(|(_, n, min, max)| *n == name && arity >= *min && arity <= *max)
            .map(|(b, ..)| *b)
    }

    /// Functions whose zero-argument form applies to the context item.
    pub(crate) fn context_default(self) -> bool {
        matches!(
            self,
            Self::String
                | Self::Number
                | Self::StringLength
                | Self::NormalizeSpace
                | Self::Name
                | Self::LocalName
                | Self::NamespaceUri
                | Self::Root
        )
    }

    fn name(self) -> &'static str {
        TABLE
            .iter()
            .find(|(b, ..)| *b == self)
            .map_or("?", |(_, n, ..)| n)
    }
}

fn card_error(f: Builtin) -> DynError {
    DynError::type_error(format!(
        "an argument of {}() is a sequence of more than one item where at most one is allowed",
        f.name()
    ))
}

/// Converts an argument to `xs:string?` (untyped and anyURI are promoted).
fn opt_string(ev: &mut Eval<'_>, f: Builtin, seq: &[Item]) -> Result<Option<Arc<str>>, DynError> {
    let mut atoms = ev.atomize(seq)?;
    match atoms.len() {
        0 => Ok(None),
        1 => match atoms.pop() {
            Some(Atomic::Untyped(s) | Atomic::String(s) | Atomic::AnyUri(s)) => Ok(Some(s)),
            Some(other) => Err(DynError::type_error(format!(
                "{}() expects a string, not {}",
                f.name(),
                other.type_of().name()
            ))),
            None => Ok(None),
        },
        _ => Err(card_error(f)),
    }
}

/// `xs:string?` with the empty sequence read as "".
fn string_arg(ev: &mut Eval<'_>, f: Builtin, seq: &[Item]) -> Result<Arc<str>, DynError> {
    Ok(opt_string(ev, f, seq)?.unwrap_or_else(|| Arc::from("")))
}

/// Converts an argument to a numeric value (`numeric?`): untyped becomes a double.
fn opt_numeric(ev: &mut Eval<'_>, f: Builtin, seq: &[Item]) -> Result<Option<Atomic>, DynError> {
    let mut atoms = ev.atomize(seq)?;
    match atoms.len() {
        0 => Ok(None),
        1 => match atoms.pop() {
            Some(a @ Atomic::Untyped(_)) => a.cast(AtomicType::Double).map(Some),
            Some(a) if a.is_numeric() => Ok(Some(a)),
            Some(other) => Err(DynError::type_error(format!(
                "{}() expects a number, not {}",
                f.name(),
                other.type_of().name()
            ))),
            None => Ok(None),
        },
        _ => Err(card_error(f)),
    }
}

/// A required `xs:double` argument.
fn double_arg(ev: &mut Eval<'_>, f: Builtin, seq: &[Item]) -> Result<f64, DynError> {
    match opt_numeric(ev, f, seq)? {
        Some(a) => Ok(a.as_f64().unwrap_or(f64::NAN)),
        None => Err(DynError::type_error(format!(
            "{}() requires a number where the empty sequence was given",
            f.name()
        ))),
    }
}

/// A required `xs:integer` argument.
fn integer_arg(ev: &mut Eval<'_>, f: Builtin, seq: &[Item]) -> Result<i64, DynError> {
    match opt_numeric(ev, f, seq)? {
        Some(Atomic::Integer(i)) => Ok(i),
        Some(other) => Err(DynError::type_error(format!(
            "{}() expects an integer, not {}",
            f.name(),
            other.type_of().name()
        ))),
        None => Err(DynError::type_error(format!(
            "{}() requires an integer where the empty sequence was given",
            f.name()
        ))),
    }
}

fn opt_node(f: Builtin, seq: &[Item]) -> Result<Option<u32>, DynError> {
    match seq {
        [] => Ok(None),
        [Item::Node(n)] => Ok(Some(*n)),
        [Item::Atomic(_)] => Err(DynError::type_error(format!(
            "{}() expects a node",
            f.name()
        ))),
        _ => Err(card_error(f)),
    }
}

fn one(a: Atomic) -> Sequence {
    vec![Item::Atomic(a)]
}

fn boolean(b: bool) -> Sequence {
    one(Atomic::Boolean(b))
}

fn string(s: impl Into<Arc<str>>) -> Sequence {
    one(Atomic::String(s.into()))
}

fn integer(i: usize) -> Sequence {
    one(Atomic::Integer(i64::try_from(i).unwrap_or(i64::MAX)))
}

/// Only the Unicode codepoint collation exists here.
fn check_collation(ev: &mut Eval<'_>, f: Builtin, seq: Option<&Sequence>) -> Result<(), DynError> {
    let Some(seq) = seq else {
        return Ok(());
    };
    let c = string_arg(ev, f, seq)?;
    if &*c == "http://www.w3.org/2005/xpath-functions/collation/codepoint" {
        Ok(())
    } else {
        Err(DynError::new(
            ErrorCode::FORG0001,
            "only the Unicode codepoint collation is supported",
        ))
    }
}

/// Compiled regular expressions by (pattern, flags).
type RegexCache = Mutex<HashMap<(Box<str>, Box<str>), regex::Regex>>;

fn regex_cache() -> &'static RegexCache {
    static CACHE: OnceLock<RegexCache> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Compiled size of one XPath regex. Patterns come from rule files, or (for a rule that
/// builds one from the document) from the document: bounded like the XSD patterns.
const MAX_REGEX_BYTES: usize = 4 * 1024 * 1024;
/// Regexes kept compiled; rule sets use a handful.
const REGEX_CACHE_CAP: usize = 1000;

fn regex(pattern: &str, flags: &str) -> Result<regex::Regex, DynError> {
    let key = (Box::from(pattern), Box::from(flags));
    if let Ok(c) = regex_cache().lock()
        && let Some(r) = c.get(&key)
    {
        return Ok(r.clone());
    }
    let r = crate::xsd::regex::compile_xpath(pattern, flags, MAX_REGEX_BYTES).map_err(|e| {
        let code = if flags.chars().any(|c| !"smix".contains(c)) {
            ErrorCode::FORX0001
        } else {
            ErrorCode::FORX0002
        };
        DynError::new(code, format!("invalid regular expression: {e}"))
    })?;
    if let Ok(mut c) = regex_cache().lock() {
        if c.len() >= REGEX_CACHE_CAP {
            c.clear();
        }
        c.insert(key, r.clone());
    }
    Ok(r)
}

fn flags_arg(ev: &mut Eval<'_>, f: Builtin, seq: Option<&Sequence>) -> Result<Arc<str>, DynError> {
    match seq {
        Some(s) => string_arg(ev, f, s),
        None => Ok(Arc::from("")),
    }
}

/// Numeric aggregate helper: every value numeric (untyped → double).
fn numbers(ev: &mut Eval<'_>, f: Builtin, seq: &[Item]) -> Result<Vec<Atomic>, DynError> {
    let atoms = ev.atomize(seq)?;
    atoms
        .into_iter()
        .map(|a| match a {
            Atomic::Untyped(_) => a.cast(AtomicType::Double),
            a if a.is_numeric() => Ok(a),
            other => Err(DynError::type_error(format!(
                "{}() expects numbers, not {}",
                f.name(),
                other.type_of().name()
            ))),
        })
        .collect()
}

/// Calls `f` with evaluated arguments.
pub(crate) fn call(
    ev: &mut Eval<'_>,
    f: Builtin,
    mut args: Vec<Sequence>,
    focus: &Focus,
) -> Result<Sequence, DynError> {
    use Builtin as B;
    // Indexing `args` is safe: the parser checked the arity against the table.
    match f {
        B::Position => Ok(integer(focus.pos)),
        B::Last => Ok(integer(focus.size)),
        B::True => Ok(boolean(true)),
        B::False => Ok(boolean(false)),
        B::Not => Ok(boolean(!effective_boolean_value(&args[0])?)),
        B::Boolean => Ok(boolean(effective_boolean_value(&args[0])?)),
        B::Exists => Ok(boolean(!args[0].is_empty())),
        B::Empty => Ok(boolean(args[0].is_empty())),
        B::Count => Ok(integer(args[0].len())),
        B::String => match args[0].as_slice() {
            [] => Ok(string("")),
            [item] => {
                let a = super::value::atomize_item(ev.tree(), item);
                Ok(string(a.to_text()))
            }
            _ => Err(card_error(f)),
        },
        B::Data => Ok(ev
            .atomize(&args[0])?
            .into_iter()
            .map(Item::Atomic)
            .collect()),
        B::Number => {
            let mut atoms = ev.atomize(&args[0])?;
            let v = match atoms.len() {
                0 => f64::NAN,
                1 => match atoms.pop() {
                    Some(a) => match a.cast(AtomicType::Double) {
                        Ok(Atomic::Double(d)) => d,
                        _ => f64::NAN,
                    },
                    None => f64::NAN,
                },
                _ => return Err(card_error(f)),
            };
            Ok(one(Atomic::Double(v)))
        }
        B::StringLength => {
            let s = string_arg(ev, f, &args[0])?;
            Ok(integer(s.chars().count()))
        }
        B::NormalizeSpace => {
            let s = string_arg(ev, f, &args[0])?;
            Ok(string(super::value::collapse(&s)))
        }
        B::Concat => {
            let mut out = String::new();
            for a in &args {
                let mut atoms = ev.atomize(a)?;
                match atoms.len() {
                    0 => {}
                    1 => {
                        if let Some(x) = atoms.pop() {
                            out.push_str(&x.to_text());
                        }
                    }
                    _ => return Err(card_error(f)),
                }
            }
            Ok(string(out))
        }
        B::Contains | B::StartsWith | B::EndsWith | B::SubstringBefore | B::SubstringAfter => {
            let a = string_arg(ev, f, &args[0])?;
            let b = string_arg(ev, f, &args[1])?;
            check_collation(ev, f, args.get(2))?;
            Ok(match f {
                B::Contains => boolean(a.contains(&*b)),
                B::StartsWith => boolean(a.starts_with(&*b)),
                B::EndsWith => boolean(a.ends_with(&*b)),
                B::SubstringBefore => string(a.find(&*b).map_or("", |i| &a[..i])),
                _ => string(if b.is_empty() {
                    &a[..]
                } else {
                    a.find(&*b).map_or("", |i| &a[i + b.len()..])
                }),
            })
        }
        B::Substring => {
            let s = string_arg(ev, f, &args[0])?;
            let start = round_half_up(double_arg(ev, f, &args[1])?);
            let len = match args.get(2) {
                Some(l) => round_half_up(double_arg(ev, f, l)?),
                None => f64::INFINITY,
            };
            let out: String = s
                .chars()
                .enumerate()
                .filter(|(i, _)| {
                    let p = (*i + 1) as f64;
                    p >= start && p < start + len
                })
                .map(|(_, c)| c)
                .collect();
            Ok(string(out))
        }
        B::UpperCase => Ok(string(string_arg(ev, f, &args[0])?.to_uppercase())),
        B::LowerCase => Ok(string(string_arg(ev, f, &args[0])?.to_lowercase())),
        B::Translate => {
            let s = string_arg(ev, f, &args[0])?;
            let from: Vec<char> = string_arg(ev, f, &args[1])?.chars().collect();
            let to: Vec<char> = string_arg(ev, f, &args[2])?.chars().collect();
            let out: String = s
                .chars()
                .filter_map(|c| match from.iter().position(|&x| x == c) {
                    Some(i) => to.get(i).copied(),
                    None => Some(c),
                })
                .collect();
            Ok(string(out))
        }
        B::StringJoin => {
            let atoms = ev.atomize(&args[0])?;
            let sep = match args.get(1) {
                Some(s) => string_arg(ev, f, s)?,
                None => Arc::from(""),
            };
            let parts: Vec<String> = atoms.iter().map(Atomic::to_text).collect();
            Ok(string(parts.join(&sep)))
        }
        B::Matches => {
            let s = string_arg(ev, f, &args[0])?;
            let p = string_arg(ev, f, &args[1])?;
            let flags = flags_arg(ev, f, args.get(2))?;
            let r = regex(&p, &flags)?;
            ev.budget.spend(s.len() as u64 / 64 + 1)?;
            Ok(boolean(r.is_match(&s)))
        }
        B::Replace => {
            let s = string_arg(ev, f, &args[0])?;
            let p = string_arg(ev, f, &args[1])?;
            let rep = string_arg(ev, f, &args[2])?;
            let flags = flags_arg(ev, f, args.get(3))?;
            let r = regex(&p, &flags)?;
            if r.is_match("") {
                return Err(DynError::new(
                    ErrorCode::FORX0003,
                    "the pattern of replace() matches the empty string",
                ));
            }
            let rep = replacement(&rep)?;
            ev.budget.spend(s.len() as u64 / 64 + 1)?;
            Ok(string(r.replace_all(&s, rep.as_str()).into_owned()))
        }
        B::Tokenize => {
            let s = string_arg(ev, f, &args[0])?;
            if args.len() == 1 {
                let out: Sequence = s
                    .split([' ', '\t', '\n', '\r'])
                    .filter(|t| !t.is_empty())
                    .map(|t| Item::Atomic(Atomic::string(t)))
                    .collect();
                return Ok(out);
            }
            let p = string_arg(ev, f, &args[1])?;
            let flags = flags_arg(ev, f, args.get(2))?;
            let r = regex(&p, &flags)?;
            if r.is_match("") {
                return Err(DynError::new(
                    ErrorCode::FORX0003,
                    "the pattern of tokenize() matches the empty string",
                ));
            }
            if s.is_empty() {
                return Ok(Vec::new());
            }
            ev.budget.spend(s.len() as u64 / 64 + 1)?;
            Ok(r.split(&s)
                .map(|t| Item::Atomic(Atomic::string(t)))
                .collect())
        }
        B::Sum => {
            let nums = numbers(ev, f, &args[0])?;
            if nums.is_empty() {
                return match args.get(1) {
                    Some(zero) => Ok(zero.clone()),
                    None => Ok(one(Atomic::Integer(0))),
                };
            }
            let mut acc = nums[0].clone();
            for n in &nums[1..] {
                acc = arithmetic(super::ast::Arith::Add, &acc, n)?;
            }
            Ok(one(acc))
        }
        B::Avg => {
            let nums = numbers(ev, f, &args[0])?;
            if nums.is_empty() {
                return Ok(Vec::new());
            }
            let mut acc = nums[0].clone();
            for n in &nums[1..] {
                acc = arithmetic(super::ast::Arith::Add, &acc, n)?;
            }
            let count = Atomic::Integer(i64::try_from(nums.len()).unwrap_or(i64::MAX));
            Ok(one(arithmetic(super::ast::Arith::Div, &acc, &count)?))
        }
        B::Min | B::Max => {
            check_collation(ev, f, args.get(1))?;
            let atoms = ev.atomize(&args[0])?;
            let mut best: Option<Atomic> = None;
            for a in atoms {
                let a = match a {
                    Atomic::Untyped(_) => a.cast(AtomicType::Double)?,
                    other => other,
                };
                if let Atomic::Double(d) = a
                    && d.is_nan()
                {
                    return Ok(one(Atomic::Double(f64::NAN)));
                }
                best = Some(match best {
                    None => a,
                    Some(b) => {
                        let ord = compare_atomics(&a, &b)?;
                        let better = match ord {
                            Some(std::cmp::Ordering::Less) => f == B::Min,
                            Some(std::cmp::Ordering::Greater) => f == B::Max,
                            _ => false,
                        };
                        // Numeric promotion: a double anywhere makes the result a double.
                        let promote =
                            matches!(a, Atomic::Double(_)) || matches!(b, Atomic::Double(_));
                        let chosen = if better { a } else { b };
                        if promote && chosen.is_numeric() {
                            Atomic::Double(chosen.as_f64().unwrap_or(f64::NAN))
                        } else {
                            chosen
                        }
                    }
                });
            }
            Ok(best.map(one).unwrap_or_default())
        }
        B::Abs | B::Round | B::Floor | B::Ceiling | B::RoundHalfToEven => {
            let Some(n) = opt_numeric(ev, f, &args[0])? else {
                return Ok(Vec::new());
            };
            let precision = match args.get(1) {
                Some(p) => integer_arg(ev, f, p)?,
                None => 0,
            };
            Ok(one(rounding(f, n, precision)?))
        }
        B::Name | B::LocalName | B::NamespaceUri => {
            let Some(n) = opt_node(f, &args[0])? else {
                return Ok(string(""));
            };
            let t = ev.tree();
            Ok(string(match f {
                B::Name => t.qualified_name(n),
                B::LocalName => t.local_name(n).to_owned(),
                _ => t.namespace(n).to_owned(),
            }))
        }
        B::Root => match opt_node(f, &args[0])? {
            Some(_) => Ok(vec![Item::Node(DOCUMENT)]),
            None => Ok(Vec::new()),
        },
        B::DistinctValues => {
            check_collation(ev, f, args.get(1))?;
            let atoms = ev.atomize(&args[0])?;
            ev.budget
                .spend((atoms.len() as u64).saturating_mul(atoms.len() as u64) / 16 + 1)?;
            let mut out: Vec<Atomic> = Vec::new();
            for a in atoms {
                let a = match a {
                    Atomic::Untyped(s) => Atomic::String(s),
                    other => other,
                };
                let dup = out.iter().any(|b| {
                    matches!(compare_atomics(&a, b), Ok(Some(std::cmp::Ordering::Equal)))
                        || (is_nan(&a) && is_nan(b))
                });
                if !dup {
                    out.push(a);
                }
            }
            Ok(out.into_iter().map(Item::Atomic).collect())
        }
        B::IndexOf => {
            check_collation(ev, f, args.get(2))?;
            let atoms = ev.atomize(&args[0])?;
            let mut key = ev.atomize(&args[1])?;
            if key.len() != 1 {
                return Err(DynError::type_error(
                    "index-of() needs exactly one search value",
                ));
            }
            let key = match key.pop() {
                Some(Atomic::Untyped(s)) => Atomic::String(s),
                Some(k) => k,
                None => return Ok(Vec::new()),
            };
            let mut out = Vec::new();
            for (i, a) in atoms.into_iter().enumerate() {
                let a = match a {
                    Atomic::Untyped(s) => Atomic::String(s),
                    other => other,
                };
                if matches!(
                    compare_atomics(&a, &key),
                    Ok(Some(std::cmp::Ordering::Equal))
                ) {
                    out.push(Item::Atomic(Atomic::Integer(i as i64 + 1)));
                }
            }
            Ok(out)
        }
        B::Reverse => {
            let mut s = std::mem::take(&mut args[0]);
            s.reverse();
            Ok(s)
        }
        B::Subsequence => {
            let start = round_half_up(double_arg(ev, f, &args[1])?);
            let len = match args.get(2) {
                Some(l) => round_half_up(double_arg(ev, f, l)?),
                None => f64::INFINITY,
            };
            let s = std::mem::take(&mut args[0]);
            Ok(s.into_iter()
                .enumerate()
                .filter(|(i, _)| {
                    let p = (*i + 1) as f64;
                    p >= start && p < start + len
                })
                .map(|(_, x)| x)
                .collect())
        }
        B::Remove => {
            let pos = integer_arg(ev, f, &args[1])?;
            let mut s = std::mem::take(&mut args[0]);
            if pos >= 1 && (pos as usize) <= s.len() {
                s.remove(pos as usize - 1);
            }
            Ok(s)
        }
        B::InsertBefore => {
            let pos = integer_arg(ev, f, &args[1])?;
            let ins = std::mem::take(&mut args[2]);
            let mut s = std::mem::take(&mut args[0]);
            let at = (pos.max(1) as usize - 1).min(s.len());
            s.splice(at..at, ins);
            Ok(s)
        }
        B::Head => Ok(args[0].first().cloned().into_iter().collect()),
        B::Tail => Ok(args[0].iter().skip(1).cloned().collect()),
        B::ExactlyOne | B::OneOrMore | B::ZeroOrOne => {
            let n = args[0].len();
            let (ok, code) = match f {
                B::ExactlyOne => (n == 1, ErrorCode::FORG0005),
                B::OneOrMore => (n >= 1, ErrorCode::FORG0004),
                _ => (n <= 1, ErrorCode::FORG0003),
            };
            if ok {
                Ok(std::mem::take(&mut args[0]))
            } else {
                Err(DynError::new(
                    code,
                    format!("{}() called with {n} item(s)", f.name()),
                ))
            }
        }
        B::Compare | B::CodepointEqual => {
            if f == B::Compare {
                check_collation(ev, f, args.get(2))?;
            }
            let (Some(a), Some(b)) = (opt_string(ev, f, &args[0])?, opt_string(ev, f, &args[1])?)
            else {
                return Ok(Vec::new());
            };
            if f == B::CodepointEqual {
                return Ok(boolean(a == b));
            }
            Ok(one(Atomic::Integer(match a.cmp(&b) {
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => 0,
                std::cmp::Ordering::Greater => 1,
            })))
        }
        B::CodepointsToString => {
            let nums = numbers(ev, f, &args[0])?;
            let mut out = String::new();
            for n in nums {
                let Atomic::Integer(i) = n else {
                    return Err(DynError::type_error(
                        "codepoints-to-string() expects integers",
                    ));
                };
                let c = u32::try_from(i)
                    .ok()
                    .and_then(char::from_u32)
                    .filter(|&c| crate::xml::chars::is_xml_char(c))
                    .ok_or_else(|| {
                        DynError::new(ErrorCode::FOCH0001, "not a valid XML character code point")
                    })?;
                out.push(c);
            }
            Ok(string(out))
        }
        B::StringToCodepoints => {
            let Some(s) = opt_string(ev, f, &args[0])? else {
                return Ok(Vec::new());
            };
            Ok(s.chars()
                .map(|c| Item::Atomic(Atomic::Integer(i64::from(u32::from(c)))))
                .collect())
        }
        B::DeepEqual => {
            check_collation(ev, f, args.get(2))?;
            let (a, b) = (&args[0], &args[1]);
            if a.len() != b.len() {
                return Ok(boolean(false));
            }
            ev.budget.spend(a.len() as u64)?;
            for (x, y) in a.iter().zip(b) {
                let same = match (x, y) {
                    (Item::Atomic(p), Item::Atomic(q)) => {
                        matches!(compare_atomics(p, q), Ok(Some(std::cmp::Ordering::Equal)))
                            || (is_nan(p) && is_nan(q))
                    }
                    (Item::Node(p), Item::Node(q)) => deep_equal_nodes(ev, *p, *q)?,
                    _ => false,
                };
                if !same {
                    return Ok(boolean(false));
                }
            }
            Ok(boolean(true))
        }
        B::Error => Err(DynError::new(
            ErrorCode::FOER0000,
            "fn:error() was called by the rule",
        )),
        B::Trace => Ok(std::mem::take(&mut args[0])),
    }
}

fn is_nan(a: &Atomic) -> bool {
    matches!(a, Atomic::Double(d) if d.is_nan())
}

fn round_half_up(d: f64) -> f64 {
    (d + 0.5).floor()
}

/// `$1`…`$9` group references and `\$`, `\\` escapes of a `replace()` replacement string,
/// rewritten for the `regex` crate (`${1}`).
fn replacement(rep: &str) -> Result<String, DynError> {
    let mut out = String::with_capacity(rep.len());
    let mut chars = rep.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('\\' | '$')) => {
                    if e == '$' {
                        out.push_str("$$");
                    } else {
                        out.push('\\');
                    }
                }
                _ => {
                    return Err(DynError::new(
                        ErrorCode::FORX0002,
                        "invalid escape in the replacement string",
                    ));
                }
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                    digits.push(d);
                    chars.next();
                }
                if digits.is_empty() {
                    return Err(DynError::new(
                        ErrorCode::FORX0002,
                        "'$' in the replacement string is not followed by a digit",
                    ));
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

fn rounding(f: Builtin, n: Atomic, precision: i64) -> Result<Atomic, DynError> {
    use Builtin as B;
    Ok(match n {
        Atomic::Integer(i) => match f {
            B::Abs => Atomic::Integer(i.checked_abs().ok_or_else(super::value::overflow)?),
            B::RoundHalfToEven if precision < 0 => {
                let p = 10i64
                    .checked_pow(precision.unsigned_abs() as u32)
                    .unwrap_or(i64::MAX);
                let d = Decimal::from_i64(i)
                    .checked_div(Decimal::from_i64(p))
                    .unwrap_or(Decimal::from_i64(0));
                let r = half_even(d.to_f64());
                Atomic::Integer((r as i64).saturating_mul(p))
            }
            _ => Atomic::Integer(i),
        },
        Atomic::Decimal(d) => Atomic::Decimal(match f {
            B::Abs => d.abs(),
            B::Round => d.round(),
            B::Floor => d.floor(),
            B::Ceiling => d.ceiling(),
            _ => {
                let scale = 10f64.powi(precision as i32);
                Decimal::from_f64(half_even(d.to_f64() * scale) / scale).unwrap_or(d)
            }
        }),
        Atomic::Double(d) => Atomic::Double(match f {
            B::Abs => d.abs(),
            B::Round => {
                if d.is_nan() || d.is_infinite() {
                    d
                } else {
                    let r = (d + 0.5).floor();
                    // round(-0.4) is -0.
                    if r == 0.0 && d < 0.0 { -0.0 } else { r }
                }
            }
            B::Floor => d.floor(),
            B::Ceiling => d.ceil(),
            _ => {
                let scale = 10f64.powi(precision as i32);
                half_even(d * scale) / scale
            }
        }),
        other => other,
    })
}

fn half_even(d: f64) -> f64 {
    let r = d.round();
    if (d - d.trunc()).abs() == 0.5 {
        2.0 * (d / 2.0).round()
    } else {
        r
    }
}

fn deep_equal_nodes(ev: &mut Eval<'_>, a: u32, b: u32) -> Result<bool, DynError> {
    let t = ev.tree();
    if t.kind(a) != t.kind(b) {
        return Ok(false);
    }
    ev.budget.spend(1)?;
    match t.kind(a) {
        NodeKind::Text => Ok(t.own_text(a) == t.own_text(b)),
        NodeKind::Attribute => {
            Ok(t.expanded_name(a) == t.expanded_name(b) && t.own_text(a) == t.own_text(b))
        }
        NodeKind::Element | NodeKind::Document => {
            if t.expanded_name(a) != t.expanded_name(b) {
                return Ok(false);
            }
            let (aa, ba): (Vec<_>, Vec<_>) = (t.attributes(a).collect(), t.attributes(b).collect());
            if aa.len() != ba.len() {
                return Ok(false);
            }
            for x in &aa {
                if !ba.iter().any(|y| {
                    t.expanded_name(*x) == t.expanded_name(*y) && t.own_text(*x) == t.own_text(*y)
                }) {
                    return Ok(false);
                }
            }
            let ca: Vec<_> = t.children(a).collect();
            let cb: Vec<_> = t.children(b).collect();
            if ca.len() != cb.len() {
                return Ok(false);
            }
            for (x, y) in ca.into_iter().zip(cb) {
                if !deep_equal_nodes(ev, x, y)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
    }
}
