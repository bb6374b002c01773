//! xs:float and xs:double (§3.2.4, §3.2.5): IEEE 754 binary32/binary64.
//!
//! The value is kept as normalised bits so that `Eq`/`Hash` are total: every NaN is one value
//! (equal to itself for identity purposes; [`super::Value::partial_cmp_xsd`] keeps it
//! incomparable) and `-0` equals `0`. A literal is rounded to the nearest value of the type,
//! so `float` and `double` differ in precision: `0.1` as float ≠ `0.1` as double.

/// A float value (binary32) with total equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Float32(u32);

/// A double value (binary64) with total equality.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Float64(u64);

impl Float32 {
    /// Wrap a value, normalising NaN and negative zero.
    pub fn new(v: f32) -> Self {
        if v.is_nan() {
            Float32(f32::NAN.to_bits())
        } else if v == 0.0 {
            Float32(0)
        } else {
            Float32(v.to_bits())
        }
    }
    /// The number.
    pub fn get(self) -> f32 {
        f32::from_bits(self.0)
    }
}

impl Float64 {
    /// Wrap a value, normalising NaN and negative zero.
    pub fn new(v: f64) -> Self {
        if v.is_nan() {
            Float64(f64::NAN.to_bits())
        } else if v == 0.0 {
            Float64(0)
        } else {
            Float64(v.to_bits())
        }
    }
    /// The number.
    pub fn get(self) -> f64 {
        f64::from_bits(self.0)
    }
}

/// Is `s` in the shared lexical space: `INF`, `-INF`, `NaN` (→ `Some(false)`) or
/// `[+-]? (d+ ('.' d*)? | '.' d+) ([eE] [+-]? d+)?` (→ `Some(true)`)?
/// `+INF` is XSD 1.1 only and rejected.
fn grammar(s: &str) -> Option<bool> {
    if matches!(s, "INF" | "-INF" | "NaN") {
        return Some(false);
    }
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    super::Decimal::parse(mantissa)?;
    if let Some(e) = exp {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some(true)
}

fn special<T>(s: &str, inf: T, neg_inf: T, nan: T) -> T {
    match s {
        "INF" => inf,
        "-INF" => neg_inf,
        _ => nan,
    }
}

/// Parse xs:float (rounding to nearest; out-of-range magnitudes become ±INF or 0).
pub fn parse_float(s: &str) -> Option<Float32> {
    if grammar(s)? {
        s.parse::<f32>().ok().map(Float32::new)
    } else {
        Some(Float32::new(special(
            s,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
        )))
    }
}

/// Parse xs:double.
pub fn parse_double(s: &str) -> Option<Float64> {
    if grammar(s)? {
        s.parse::<f64>().ok().map(Float64::new)
    } else {
        Some(Float64::new(special(
            s,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_space() {
        for ok in [
            "0",
            "-0",
            "1.",
            ".5",
            "1e10",
            "1E-10",
            "-1.5e+3",
            "INF",
            "-INF",
            "NaN",
            "12.78e-2",
            "3.4028235E38",
        ] {
            assert!(parse_float(ok).is_some(), "{ok}");
            assert!(parse_double(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "+INF", "inf", "nan", "Infinity", "1e", "e5", "1.5e3.2", ".", "1 ", "0x10", "1d",
        ] {
            assert!(parse_float(bad).is_none(), "{bad}");
            assert!(parse_double(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn values() {
        assert_eq!(parse_float("-0"), parse_float("0"));
        assert_eq!(parse_float("NaN"), parse_float("NaN"));
        assert_eq!(parse_float("1e0"), parse_float("1.000"));
        assert_eq!(parse_float("1e39").map(Float32::get), Some(f32::INFINITY));
        assert_eq!(parse_double("1e39").map(Float64::get), Some(1e39));
        assert!(
            parse_float("0.1").map(|f| f64::from(f.get())) != parse_double("0.1").map(Float64::get)
        );
    }
}
