//! xs:decimal and the integer types (§3.2.3, §3.3.13–§3.3.25): arbitrary precision, no f64.
//!
//! A [`Decimal`] is kept canonical (no leading zeros, no trailing fraction zeros, no negative
//! zero), so derived `Eq`/`Hash` are value equality: `1.0` = `1` = `01`. Values that fit an
//! `i128` mantissa (38 digits) take the allocation-free `Small` form.

use std::cmp::Ordering;

use super::{Builtin, LexicalError};

/// An exact decimal number `mantissa × 10^-scale`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Decimal {
    /// Mantissa fits an `i128`.
    Small {
        /// Signed mantissa without trailing zeros when `scale > 0`.
        mantissa: i128,
        /// Digits after the decimal point.
        scale: u32,
    },
    /// Longer numbers: sign, magnitude digits (ASCII, no leading zero) and scale.
    Big {
        /// Negative?
        neg: bool,
        /// Magnitude digits.
        digits: Box<str>,
        /// Digits after the decimal point.
        scale: u32,
    },
}

/// Split an optional sign; returns (negative, rest).
fn split_sign(s: &str) -> (bool, &str) {
    match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    }
}

impl Decimal {
    /// Zero.
    pub const ZERO: Decimal = Decimal::Small {
        mantissa: 0,
        scale: 0,
    };

    /// Parse the xs:decimal lexical space: `[+-]? (d+ ('.' d*)? | '.' d+)`.
    pub fn parse(s: &str) -> Option<Decimal> {
        let (neg, rest) = split_sign(s);
        let (int, frac) = match rest.split_once('.') {
            Some((i, f)) => (i, f),
            None => (rest, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return None;
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Self::from_parts(neg, int, frac))
    }

    /// Build from validated digit strings.
    pub(crate) fn from_parts(neg: bool, int: &str, frac: &str) -> Decimal {
        let int = int.trim_start_matches('0');
        let frac = frac.trim_end_matches('0');
        let mut m: i128 = 0;
        let mut fits = true;
        for b in int.bytes().chain(frac.bytes()) {
            match m
                .checked_mul(10)
                .and_then(|x| x.checked_add(i128::from(b - b'0')))
            {
                Some(x) => m = x,
                None => {
                    fits = false;
                    break;
                }
            }
        }
        let scale = u32::try_from(frac.len()).unwrap_or(u32::MAX);
        if fits {
            if m == 0 {
                return Decimal::ZERO;
            }
            return Decimal::Small {
                mantissa: if neg { -m } else { m },
                scale,
            };
        }
        let mut digits = String::with_capacity(int.len() + frac.len());
        digits.push_str(int);
        digits.push_str(frac);
        let digits = digits.trim_start_matches('0');
        Decimal::Big {
            neg,
            digits: digits.into(),
            scale,
        }
    }

    /// An integer value.
    pub fn from_i128(v: i128) -> Decimal {
        Decimal::Small {
            mantissa: v,
            scale: 0,
        }
    }

    /// Is the value negative (< 0)?
    pub fn is_negative(&self) -> bool {
        match self {
            Decimal::Small { mantissa, .. } => *mantissa < 0,
            Decimal::Big { neg, .. } => *neg,
        }
    }

    /// Is the value zero?
    pub fn is_zero(&self) -> bool {
        matches!(self, Decimal::Small { mantissa: 0, .. })
    }

    /// Digits after the decimal point in the canonical form (`0.10` has 1).
    pub fn fraction_digits(&self) -> u32 {
        match self {
            Decimal::Small { scale, .. } | Decimal::Big { scale, .. } => *scale,
        }
    }

    /// Significant digits in the sense of the totalDigits facet: the number of digits of
    /// `i` where the value is `i × 10^-n` with the smallest `n` (`0.012` has 2, `120` has 3).
    pub fn total_digits(&self) -> u32 {
        match self {
            Decimal::Small { mantissa, .. } => {
                let mut m = mantissa.unsigned_abs();
                let mut n = 1;
                while m >= 10 {
                    m /= 10;
                    n += 1;
                }
                n
            }
            Decimal::Big { digits, .. } => u32::try_from(digits.len()).unwrap_or(u32::MAX),
        }
    }

    /// The value as an `i128` when it is an integer that fits.
    pub fn to_i128(&self) -> Option<i128> {
        match self {
            Decimal::Small { mantissa, scale: 0 } => Some(*mantissa),
            _ => None,
        }
    }

    fn magnitude_digits(&self) -> (bool, std::borrow::Cow<'_, str>, u32) {
        match self {
            Decimal::Small { mantissa, scale } => (
                *mantissa < 0,
                mantissa.unsigned_abs().to_string().into(),
                *scale,
            ),
            Decimal::Big { neg, digits, scale } => (*neg, digits.as_ref().into(), *scale),
        }
    }

    /// Total order on decimal values.
    pub fn cmp_value(&self, other: &Decimal) -> Ordering {
        if let (
            Decimal::Small {
                mantissa: a,
                scale: sa,
            },
            Decimal::Small {
                mantissa: b,
                scale: sb,
            },
        ) = (self, other)
        {
            if sa == sb {
                return a.cmp(b);
            }
            let (x, y, diff, flip) = if sa < sb {
                (*a, *b, sb - sa, false)
            } else {
                (*b, *a, sa - sb, true)
            };
            if let Some(scaled) = 10i128.checked_pow(diff).and_then(|p| x.checked_mul(p)) {
                let o = scaled.cmp(&y);
                return if flip { o.reverse() } else { o };
            }
        }
        let (na, da, sa) = self.magnitude_digits();
        let (nb, db, sb) = other.magnitude_digits();
        let zero_a = self.is_zero();
        let zero_b = other.is_zero();
        let sign = |neg: bool, zero: bool| {
            if zero {
                0
            } else if neg {
                -1
            } else {
                1
            }
        };
        let (ga, gb) = (sign(na, zero_a), sign(nb, zero_b));
        if ga != gb || ga == 0 {
            return ga.cmp(&gb);
        }
        let mag = cmp_magnitude(&da, sa, &db, sb);
        if na { mag.reverse() } else { mag }
    }
}

/// Compare magnitudes given canonical digit strings and scales.
fn cmp_magnitude(da: &str, sa: u32, db: &str, sb: u32) -> Ordering {
    let int_len = |d: &str, s: u32| d.len().saturating_sub(s as usize);
    let (ia, ib) = (int_len(da, sa), int_len(db, sb));
    if ia != ib {
        return ia.cmp(&ib);
    }
    // Same integer length: align at the decimal point by prefixing fraction-only numbers
    // with their leading zeros, then compare digit by digit.
    let lead = |d: &str, s: u32| (s as usize).saturating_sub(d.len());
    let a = std::iter::repeat_n(b'0', lead(da, sa)).chain(da.bytes());
    let b = std::iter::repeat_n(b'0', lead(db, sb)).chain(db.bytes());
    a.cmp(b)
}

impl std::fmt::Display for Decimal {
    /// The shortest exact form (`-1.5`, `0.01`, `12`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (neg, digits, scale) = self.magnitude_digits();
        let scale = scale as usize;
        if neg {
            f.write_str("-")?;
        }
        if scale == 0 {
            return f.write_str(&digits);
        }
        if digits.len() > scale {
            let (i, fr) = digits.split_at(digits.len() - scale);
            write!(f, "{i}.{fr}")
        } else {
            write!(f, "0.{}{digits}", "0".repeat(scale - digits.len()))
        }
    }
}

/// Parse an integer-derived built-in: `[+-]? d+`, then its range.
pub fn parse_integer(b: Builtin, s: &str) -> Result<Decimal, LexicalError> {
    let (neg, digits) = split_sign(s);
    if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
        return Err(LexicalError::Syntax(b));
    }
    let v = Decimal::from_parts(neg, digits, "");
    if in_range(b, &v) {
        Ok(v)
    } else {
        Err(LexicalError::Range(b))
    }
}

/// The value-space bounds of the integer built-ins (`None` = unbounded on that side).
pub fn integer_bounds(b: Builtin) -> (Option<i128>, Option<i128>) {
    use Builtin as B;
    match b {
        B::NonPositiveInteger => (None, Some(0)),
        B::NegativeInteger => (None, Some(-1)),
        B::Long => (Some(i64::MIN.into()), Some(i64::MAX.into())),
        B::Int => (Some(i32::MIN.into()), Some(i32::MAX.into())),
        B::Short => (Some(i16::MIN.into()), Some(i16::MAX.into())),
        B::Byte => (Some(i8::MIN.into()), Some(i8::MAX.into())),
        B::NonNegativeInteger => (Some(0), None),
        B::UnsignedLong => (Some(0), Some(u64::MAX.into())),
        B::UnsignedInt => (Some(0), Some(u32::MAX.into())),
        B::UnsignedShort => (Some(0), Some(u16::MAX.into())),
        B::UnsignedByte => (Some(0), Some(u8::MAX.into())),
        B::PositiveInteger => (Some(1), None),
        _ => (None, None),
    }
}

fn in_range(b: Builtin, v: &Decimal) -> bool {
    let (lo, hi) = integer_bounds(b);
    match v.to_i128() {
        Some(x) => lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h),
        // Beyond i128: only the unbounded side may be that large.
        None => {
            if v.is_negative() {
                lo.is_none()
            } else {
                hi.is_none()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).expect("valid decimal in test")
    }

    #[test]
    fn lexical_space() {
        for ok in [
            "0",
            "-0",
            "+1",
            "1.",
            ".5",
            "-.5",
            "007.100",
            "123456789012345678901234567890123456789012.5",
        ] {
            assert!(Decimal::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", ".", "-", "+", "1e3", "1.2.3", "INF", "NaN", " 1", "1,5", "++1", "0x1",
        ] {
            assert!(Decimal::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn value_equality_and_digits() {
        assert_eq!(d("1.0"), d("01"));
        assert_eq!(d("-0"), d("0.000"));
        assert_eq!(d("0.10").fraction_digits(), 1);
        assert_eq!(d("0.012").total_digits(), 2);
        assert_eq!(d("120").total_digits(), 3);
        assert_eq!(d("-12.340").total_digits(), 4);
        assert_eq!(d("0").total_digits(), 1);
        assert_eq!(d("-1.50").to_string(), "-1.5");
        assert_eq!(d("0.005").to_string(), "0.005");
        let big = "123456789012345678901234567890123456789012.5";
        assert_eq!(d(big).to_string(), big);
        assert_eq!(d(big).total_digits(), 43);
    }

    #[test]
    fn ordering() {
        let sorted = [
            "-123456789012345678901234567890123456789012",
            "-1.5",
            "-1",
            "-0.001",
            "0",
            "0.0009",
            "0.001",
            "0.01",
            "1",
            "1.000000000000000000000000000000000000001",
            "2",
            "10",
            "123456789012345678901234567890123456789012",
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(d(a).cmp_value(&d(b)), i.cmp(&j), "{a} vs {b}");
            }
        }
    }

    #[test]
    fn integer_ranges() {
        use Builtin as B;
        let ok = |b, s| parse_integer(b, s).is_ok();
        assert!(ok(B::Byte, "-128") && ok(B::Byte, "127") && !ok(B::Byte, "128"));
        assert!(!ok(B::Byte, "-129"));
        assert!(ok(B::UnsignedLong, "18446744073709551615"));
        assert!(!ok(B::UnsignedLong, "18446744073709551616"));
        assert!(ok(B::Long, "-9223372036854775808") && !ok(B::Long, "9223372036854775808"));
        assert!(ok(B::Int, "+2147483647") && !ok(B::Int, "2147483648"));
        assert!(ok(B::Short, "-32768") && !ok(B::Short, "32768"));
        assert!(ok(B::UnsignedInt, "4294967295") && !ok(B::UnsignedInt, "-1"));
        assert!(ok(B::UnsignedShort, "65535") && !ok(B::UnsignedShort, "65536"));
        assert!(ok(B::UnsignedByte, "255") && !ok(B::UnsignedByte, "256"));
        assert!(ok(B::UnsignedByte, "-0"));
        assert!(ok(B::PositiveInteger, "1") && !ok(B::PositiveInteger, "0"));
        assert!(ok(B::NegativeInteger, "-1") && !ok(B::NegativeInteger, "-0"));
        assert!(ok(B::NonPositiveInteger, "0") && !ok(B::NonPositiveInteger, "1"));
        assert!(ok(
            B::NonNegativeInteger,
            "99999999999999999999999999999999999999999999"
        ));
        assert!(!ok(
            B::NegativeInteger,
            "99999999999999999999999999999999999999999999"
        ));
        assert!(ok(
            B::Integer,
            "-99999999999999999999999999999999999999999999"
        ));
        assert!(!ok(B::Integer, "1.0") && !ok(B::Integer, "") && !ok(B::Integer, "+"));
    }
}
