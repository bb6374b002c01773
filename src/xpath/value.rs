//! The XPath 2.0 data model as far as poststelle evaluates it: items (nodes of one [`Tree`] and
//! atomic values), sequences, atomization, the effective boolean value and the casts between
//! the atomic types the engine knows.
//!
//! Atomic types: `xs:untypedAtomic` (what atomizing a node gives: the engine is not
//! schema-aware, as the Schematron `xslt2` binding without a schema import is not), `xs:string`,
//! `xs:anyURI`, `xs:boolean`, `xs:integer` (64-bit; overflow is the error FOAR0002),
//! `xs:decimal` (fixed point, 18 fractional digits) and `xs:double` (`xs:float` is evaluated as
//! a double).

use std::fmt;
use std::sync::Arc;

use super::error::{DynError, ErrorCode};
use super::tree::{NodeId, Tree};

/// An item of a sequence.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// A node of the document being evaluated.
    Node(NodeId),
    /// An atomic value.
    Atomic(Atomic),
}

/// A sequence: XPath has no nested sequences, and a single item is a sequence of one.
pub type Sequence = Vec<Item>;

/// An atomic value.
#[derive(Debug, Clone, PartialEq)]
pub enum Atomic {
    /// `xs:untypedAtomic`.
    Untyped(Arc<str>),
    /// `xs:string`.
    String(Arc<str>),
    /// `xs:anyURI`.
    AnyUri(Arc<str>),
    /// `xs:boolean`.
    Boolean(bool),
    /// `xs:integer`.
    Integer(i64),
    /// `xs:decimal`.
    Decimal(Decimal),
    /// `xs:double` (and `xs:float`).
    Double(f64),
}

/// The atomic types a cast or a sequence type can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtomicType {
    /// `xs:anyAtomicType` (sequence types only).
    AnyAtomic,
    /// `xs:untypedAtomic`.
    Untyped,
    /// `xs:string` (and the string-derived types the engine treats as strings).
    String,
    /// `xs:anyURI`.
    AnyUri,
    /// `xs:boolean`.
    Boolean,
    /// `xs:integer`.
    Integer,
    /// `xs:decimal`.
    Decimal,
    /// `xs:double`.
    Double,
    /// `xs:float` (evaluated as a double).
    Float,
    /// Any numeric type (function signatures only).
    Numeric,
}

impl AtomicType {
    /// The type for a local name in the XML Schema namespace.
    pub fn from_xs_name(local: &str) -> Option<AtomicType> {
        Some(match local {
            "anyAtomicType" => Self::AnyAtomic,
            "untypedAtomic" => Self::Untyped,
            "string" | "normalizedString" | "token" | "NCName" | "Name" | "language"
            | "NMTOKEN" | "ID" | "IDREF" | "ENTITY" => Self::String,
            "anyURI" => Self::AnyUri,
            "boolean" => Self::Boolean,
            "integer" | "long" | "int" | "short" | "byte" | "nonNegativeInteger"
            | "positiveInteger" | "nonPositiveInteger" | "negativeInteger" | "unsignedLong"
            | "unsignedInt" | "unsignedShort" | "unsignedByte" => Self::Integer,
            "decimal" => Self::Decimal,
            "double" => Self::Double,
            "float" => Self::Float,
            _ => return None,
        })
    }

    /// `xs:…` name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::AnyAtomic => "xs:anyAtomicType",
            Self::Untyped => "xs:untypedAtomic",
            Self::String => "xs:string",
            Self::AnyUri => "xs:anyURI",
            Self::Boolean => "xs:boolean",
            Self::Integer => "xs:integer",
            Self::Decimal => "xs:decimal",
            Self::Double => "xs:double",
            Self::Float => "xs:float",
            Self::Numeric => "numeric",
        }
    }
}

impl Atomic {
    /// A string value.
    pub fn string(s: &str) -> Atomic {
        Atomic::String(Arc::from(s))
    }

    /// The dynamic type.
    pub fn type_of(&self) -> AtomicType {
        match self {
            Self::Untyped(_) => AtomicType::Untyped,
            Self::String(_) => AtomicType::String,
            Self::AnyUri(_) => AtomicType::AnyUri,
            Self::Boolean(_) => AtomicType::Boolean,
            Self::Integer(_) => AtomicType::Integer,
            Self::Decimal(_) => AtomicType::Decimal,
            Self::Double(_) => AtomicType::Double,
        }
    }

    /// Whether the value is of a numeric type.
    pub fn is_numeric(&self) -> bool {
        matches!(self, Self::Integer(_) | Self::Decimal(_) | Self::Double(_))
    }

    /// Whether the value is a string-like type (string, untyped, anyURI).
    pub fn is_stringlike(&self) -> bool {
        matches!(self, Self::Untyped(_) | Self::String(_) | Self::AnyUri(_))
    }

    /// Whether the value is an instance of `t` (with the subtype relations the engine has).
    pub fn instance_of(&self, t: AtomicType) -> bool {
        match t {
            AtomicType::AnyAtomic => true,
            AtomicType::Numeric => self.is_numeric(),
            AtomicType::Decimal => matches!(self, Self::Integer(_) | Self::Decimal(_)),
            AtomicType::Float => matches!(self, Self::Double(_)),
            other => self.type_of() == other,
        }
    }

    /// The canonical string form (`fn:string`).
    pub fn to_text(&self) -> String {
        match self {
            Self::Untyped(s) | Self::String(s) | Self::AnyUri(s) => s.to_string(),
            Self::Boolean(b) => b.to_string(),
            Self::Integer(i) => i.to_string(),
            Self::Decimal(d) => d.to_string(),
            Self::Double(d) => format_double(*d),
        }
    }

    /// The string of a string-like value without copying.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Untyped(s) | Self::String(s) | Self::AnyUri(s) => Some(s),
            _ => None,
        }
    }

    /// The value as a double (numeric types only).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Integer(i) => Some(*i as f64),
            Self::Decimal(d) => Some(d.to_f64()),
            Self::Double(d) => Some(*d),
            _ => None,
        }
    }

    /// Casts to `target` (XPath 2.0 casting rules for the types the engine knows).
    ///
    /// # Errors
    /// FORG0001 for a lexically invalid value, XPTY0004 for a cast the rules forbid, FOAR0002
    /// when an integer overflows.
    pub fn cast(&self, target: AtomicType) -> Result<Atomic, DynError> {
        use AtomicType as T;
        let invalid = || {
            DynError::new(
                ErrorCode::FORG0001,
                format!("value cannot be cast to {}", target.name()),
            )
        };
        match target {
            T::AnyAtomic | T::Numeric => Ok(self.clone()),
            T::Untyped => Ok(Atomic::Untyped(Arc::from(self.to_text()))),
            T::String => Ok(Atomic::String(Arc::from(self.to_text()))),
            T::AnyUri => match self {
                Self::Untyped(s) | Self::String(s) | Self::AnyUri(s) => {
                    Ok(Atomic::AnyUri(Arc::from(collapse(s))))
                }
                _ => Err(type_error(self, target)),
            },
            T::Boolean => match self {
                Self::Boolean(b) => Ok(Atomic::Boolean(*b)),
                Self::Untyped(s) | Self::String(s) => match collapse(s).as_str() {
                    "true" | "1" => Ok(Atomic::Boolean(true)),
                    "false" | "0" => Ok(Atomic::Boolean(false)),
                    _ => Err(invalid()),
                },
                Self::Integer(i) => Ok(Atomic::Boolean(*i != 0)),
                Self::Decimal(d) => Ok(Atomic::Boolean(!d.is_zero())),
                Self::Double(d) => Ok(Atomic::Boolean(!(*d == 0.0 || d.is_nan()))),
                Self::AnyUri(_) => Err(type_error(self, target)),
            },
            T::Double | T::Float => match self {
                Self::Untyped(s) | Self::String(s) => {
                    parse_double(s).map(Atomic::Double).ok_or_else(invalid)
                }
                Self::Boolean(b) => Ok(Atomic::Double(if *b { 1.0 } else { 0.0 })),
                Self::Integer(_) | Self::Decimal(_) | Self::Double(_) => {
                    Ok(Atomic::Double(self.as_f64().unwrap_or(f64::NAN)))
                }
                Self::AnyUri(_) => Err(type_error(self, target)),
            },
            T::Decimal => match self {
                Self::Untyped(s) | Self::String(s) => Decimal::parse(&collapse(s))
                    .map(Atomic::Decimal)
                    .ok_or_else(invalid),
                Self::Boolean(b) => Ok(Atomic::Decimal(Decimal::from_i64(i64::from(*b)))),
                Self::Integer(i) => Ok(Atomic::Decimal(Decimal::from_i64(*i))),
                Self::Decimal(d) => Ok(Atomic::Decimal(*d)),
                Self::Double(d) => Decimal::from_f64(*d)
                    .map(Atomic::Decimal)
                    .ok_or_else(invalid),
                Self::AnyUri(_) => Err(type_error(self, target)),
            },
            T::Integer => match self {
                Self::Untyped(s) | Self::String(s) => parse_integer(&collapse(s))
                    .map(Atomic::Integer)
                    .ok_or_else(invalid),
                Self::Boolean(b) => Ok(Atomic::Integer(i64::from(*b))),
                Self::Integer(i) => Ok(Atomic::Integer(*i)),
                Self::Decimal(d) => d.trunc_i64().map(Atomic::Integer).ok_or_else(overflow),
                Self::Double(d) => {
                    if d.is_nan() || d.is_infinite() {
                        Err(DynError::new(
                            ErrorCode::FOCA0002,
                            "NaN or infinity cannot be cast to xs:integer",
                        ))
                    } else if d.trunc().abs() < 9.2e18 {
                        Ok(Atomic::Integer(d.trunc() as i64))
                    } else {
                        Err(overflow())
                    }
                }
                Self::AnyUri(_) => Err(type_error(self, target)),
            },
        }
    }
}

fn type_error(value: &Atomic, target: AtomicType) -> DynError {
    DynError::new(
        ErrorCode::XPTY0004,
        format!(
            "a value of type {} cannot be cast to {}",
            value.type_of().name(),
            target.name()
        ),
    )
}

/// The integer overflow error.
pub(crate) fn overflow() -> DynError {
    DynError::new(ErrorCode::FOAR0002, "integer or decimal overflow")
}

/// Whitespace collapse (what casting from a string applies first for every type but string).
pub(crate) fn collapse(s: &str) -> String {
    s.split([' ', '\t', '\n', '\r'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `xs:integer` lexical form (after collapse).
pub(crate) fn parse_integer(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.strip_prefix('+').unwrap_or(s).parse().ok()
}

/// `xs:double` lexical form (leading and trailing whitespace allowed).
pub(crate) fn parse_double(s: &str) -> Option<f64> {
    let t = s.trim_matches([' ', '\t', '\n', '\r']);
    match t {
        "INF" | "+INF" => return Some(f64::INFINITY),
        "-INF" => return Some(f64::NEG_INFINITY),
        "NaN" => return Some(f64::NAN),
        _ => {}
    }
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - f;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if e == i {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    t.parse().ok()
}

/// The XPath 2.0 canonical string of a double: plain notation for magnitudes in [1e-6, 1e6),
/// otherwise `1.5E7`.
pub(crate) fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "NaN".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "INF".into() } else { "-INF".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    let a = d.abs();
    if (1e-6..1e6).contains(&a) {
        return format!("{d}");
    }
    let s = format!("{d:E}");
    match s.split_once('E') {
        Some((m, e)) if !m.contains('.') => format!("{m}.0E{e}"),
        _ => s,
    }
}

/// An `xs:decimal`: a fixed-point number with 18 fractional digits in an `i128`
/// (magnitudes up to about 1.7 × 10²⁰; beyond that arithmetic reports FOAR0002).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Decimal(i128);

const SCALE: i128 = 1_000_000_000_000_000_000;

impl Decimal {
    /// From an integer.
    pub fn from_i64(i: i64) -> Decimal {
        Decimal(i128::from(i) * SCALE)
    }

    /// From a double, if finite and in range.
    pub fn from_f64(d: f64) -> Option<Decimal> {
        if !d.is_finite() || d.abs() >= 1.7e20 {
            return None;
        }
        // Through the shortest decimal representation, as Saxon does, not the binary value.
        Decimal::parse(&format!("{d}"))
    }

    /// `xs:decimal` lexical form; digits beyond the 18th fractional one are truncated.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (neg, body) = match s.strip_prefix('-') {
            Some(b) => (true, b),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = body.split_once('.').unwrap_or((body, ""));
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut v: i128 = 0;
        for b in int.bytes() {
            v = v.checked_mul(10)?.checked_add(i128::from(b - b'0'))?;
        }
        v = v.checked_mul(SCALE)?;
        let mut unit = SCALE / 10;
        for b in frac.bytes().take(18) {
            v += i128::from(b - b'0') * unit;
            unit /= 10;
        }
        Some(Decimal(if neg { -v } else { v }))
    }

    /// Whether the value is zero.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// As a double.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / SCALE as f64
    }

    /// Truncated towards zero, if it fits.
    pub fn trunc_i64(self) -> Option<i64> {
        i64::try_from(self.0 / SCALE).ok()
    }

    /// Sum.
    pub fn checked_add(self, o: Decimal) -> Option<Decimal> {
        self.0.checked_add(o.0).map(Decimal)
    }

    /// Difference.
    pub fn checked_sub(self, o: Decimal) -> Option<Decimal> {
        self.0.checked_sub(o.0).map(Decimal)
    }

    /// Product.
    pub fn checked_mul(self, o: Decimal) -> Option<Decimal> {
        // (a·S)(b·S)/S without overflowing early: split one factor into whole and fraction.
        let (whole, frac) = (o.0 / SCALE, o.0 % SCALE);
        let a = self.0.checked_mul(whole)?;
        let b = self.0.checked_mul(frac)?.checked_div(SCALE)?;
        a.checked_add(b).map(Decimal)
    }

    /// Quotient (`None` when dividing by zero or out of range).
    pub fn checked_div(self, o: Decimal) -> Option<Decimal> {
        if o.0 == 0 {
            return None;
        }
        if let Some(n) = self.0.checked_mul(SCALE) {
            return Some(Decimal(n / o.0));
        }
        Decimal::from_f64(self.to_f64() / o.to_f64())
    }

    /// Remainder with the sign of the dividend (`None` when dividing by zero).
    pub fn checked_rem(self, o: Decimal) -> Option<Decimal> {
        (o.0 != 0).then(|| Decimal(self.0 % o.0))
    }

    /// Negation.
    pub fn negated(self) -> Decimal {
        Decimal(-self.0)
    }

    /// Rounded to an integer value (`fn:round`: halves towards positive infinity).
    pub fn round(self) -> Decimal {
        let floor = self.0.div_euclid(SCALE);
        let rem = self.0.rem_euclid(SCALE);
        Decimal((floor + i128::from(rem * 2 >= SCALE)) * SCALE)
    }

    /// Largest integer value not above.
    pub fn floor(self) -> Decimal {
        Decimal(self.0.div_euclid(SCALE) * SCALE)
    }

    /// Smallest integer value not below.
    pub fn ceiling(self) -> Decimal {
        let f = self.0.div_euclid(SCALE) * SCALE;
        Decimal(if f == self.0 { f } else { f + SCALE })
    }

    /// Absolute value.
    pub fn abs(self) -> Decimal {
        Decimal(self.0.abs())
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = self.0 < 0;
        let a = self.0.unsigned_abs();
        let int = a / SCALE as u128;
        let frac = a % SCALE as u128;
        if neg {
            f.write_str("-")?;
        }
        write!(f, "{int}")?;
        if frac != 0 {
            let digits = format!("{frac:018}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

/// Atomizes a sequence: nodes become `xs:untypedAtomic` of their string value.
pub fn atomize(tree: &Tree, seq: &[Item]) -> Vec<Atomic> {
    seq.iter().map(|i| atomize_item(tree, i)).collect()
}

/// Atomizes one item.
pub fn atomize_item(tree: &Tree, item: &Item) -> Atomic {
    match item {
        Item::Node(n) => Atomic::Untyped(Arc::from(tree.string_value(*n))),
        Item::Atomic(a) => a.clone(),
    }
}

/// The effective boolean value (XPath 2.0 §2.4.3).
///
/// # Errors
/// FORG0006 for a sequence that has none (two atomic values, or an atomic value of a type
/// without one).
pub fn effective_boolean_value(seq: &[Item]) -> Result<bool, DynError> {
    match seq {
        [] => Ok(false),
        [Item::Node(_), ..] => Ok(true),
        [Item::Atomic(a)] => match a {
            Atomic::Boolean(b) => Ok(*b),
            Atomic::Untyped(s) | Atomic::String(s) | Atomic::AnyUri(s) => Ok(!s.is_empty()),
            Atomic::Integer(i) => Ok(*i != 0),
            Atomic::Decimal(d) => Ok(!d.is_zero()),
            Atomic::Double(d) => Ok(!(*d == 0.0 || d.is_nan())),
        },
        _ => Err(DynError::new(
            ErrorCode::FORG0006,
            "effective boolean value of a sequence of two or more atomic values",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_as_xpath_does() {
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(0.5), "0.5");
        assert_eq!(format_double(1e7), "1.0E7");
        assert_eq!(format_double(1.5e-7), "1.5E-7");
        assert_eq!(format_double(f64::NAN), "NaN");
        assert_eq!(format_double(-0.0), "-0");
    }

    #[test]
    fn double_lexical_space_is_xsd_not_rust() {
        assert_eq!(parse_double(" 12 "), Some(12.0));
        assert_eq!(parse_double("1e3"), Some(1000.0));
        assert_eq!(parse_double(".5"), Some(0.5));
        assert_eq!(parse_double("INF"), Some(f64::INFINITY));
        assert_eq!(parse_double("inf"), None);
        assert_eq!(parse_double("infinity"), None);
        assert_eq!(parse_double("1,5"), None);
        assert_eq!(parse_double(""), None);
        assert_eq!(parse_double("."), None);
    }

    #[test]
    fn decimals_are_exact_where_doubles_are_not() {
        let a = Decimal::parse("0.1").expect("decimal");
        let b = Decimal::parse("0.2").expect("decimal");
        assert_eq!(a.checked_add(b).expect("sum").to_string(), "0.3");
        let third = Decimal::from_i64(1)
            .checked_div(Decimal::from_i64(3))
            .expect("q");
        assert_eq!(third.to_string(), "0.333333333333333333");
        assert_eq!(Decimal::parse("-2.50").expect("d").to_string(), "-2.5");
        assert_eq!(Decimal::parse("2.5").expect("d").round().to_string(), "3");
        assert_eq!(Decimal::parse("-2.5").expect("d").round().to_string(), "-2");
        assert_eq!(
            Decimal::parse("1.5")
                .expect("d")
                .checked_mul(Decimal::parse("4").expect("d")),
            Decimal::parse("6")
        );
    }

    #[test]
    fn casts_follow_the_lexical_rules() {
        let s = Atomic::string(" 42 ");
        assert_eq!(s.cast(AtomicType::Integer), Ok(Atomic::Integer(42)));
        assert_eq!(
            Atomic::string("4.2")
                .cast(AtomicType::Integer)
                .map_err(|e| e.code),
            Err(ErrorCode::FORG0001)
        );
        assert_eq!(
            Atomic::Boolean(true)
                .cast(AtomicType::AnyUri)
                .map_err(|e| e.code),
            Err(ErrorCode::XPTY0004)
        );
        assert_eq!(
            Atomic::Double(2.9).cast(AtomicType::Integer),
            Ok(Atomic::Integer(2))
        );
    }

    #[test]
    fn ebv_of_two_atomics_is_an_error() {
        let two = vec![
            Item::Atomic(Atomic::Integer(1)),
            Item::Atomic(Atomic::Integer(2)),
        ];
        assert!(effective_boolean_value(&two).is_err());
        assert_eq!(effective_boolean_value(&[]), Ok(false));
    }
}
