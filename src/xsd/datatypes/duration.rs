//! xs:duration (§3.2.6): `-?PnYnMnDTnHnMnS`, partially ordered by the four reference
//! dateTimes of §3.2.6.2.
//!
//! The value is (months, attoseconds), both signed; `P1Y` = `P12M`, `PT1H` = `PT60M`, but
//! `P1M` and `P30D` are different and incomparable. Documented limits: seconds keep at most
//! 18 fraction digits and the totals must fit an `i128` (about 10^20 seconds); longer forms
//! are rejected as unsupported rather than rounded.

use std::cmp::Ordering;

use super::date_time::days_from_civil;

/// A duration value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Duration {
    /// Years × 12 + months, signed.
    pub months: i128,
    /// Days, hours, minutes and seconds in attoseconds (10^-18 s), signed.
    pub atto: i128,
}

const ATTO: i128 = 1_000_000_000_000_000_000;

fn num(s: &str) -> Option<i128> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

impl Duration {
    /// Parse a collapsed lexical form; `None` also for the documented size limits.
    pub fn parse(s: &str) -> Option<Duration> {
        let (neg, rest) = match s.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, s),
        };
        let rest = rest.strip_prefix('P')?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) => (d, Some(t)),
            None => (rest, None),
        };
        let mut months: i128 = 0;
        let mut atto: i128 = 0;
        let mut any = false;
        let mut rest = date;
        for (designator, unit) in [('Y', 0), ('M', 1), ('D', 2)] {
            if let Some(i) = rest.find(designator) {
                let n = num(&rest[..i])?;
                match unit {
                    0 => months = months.checked_add(n.checked_mul(12)?)?,
                    1 => months = months.checked_add(n)?,
                    _ => atto = atto.checked_add(n.checked_mul(86_400 * ATTO)?)?,
                }
                rest = &rest[i + 1..];
                any = true;
            }
        }
        if !rest.is_empty() {
            return None;
        }
        if let Some(time) = time {
            if time.is_empty() {
                return None;
            }
            let mut rest = time;
            for (designator, secs) in [('H', 3600), ('M', 60)] {
                if let Some(i) = rest.find(designator) {
                    let n = num(&rest[..i])?;
                    atto = atto.checked_add(n.checked_mul(secs * ATTO)?)?;
                    rest = &rest[i + 1..];
                    any = true;
                }
            }
            if let Some(body) = rest.strip_suffix('S') {
                let (whole, frac) = match body.split_once('.') {
                    Some((w, f)) => (w, f),
                    None => (body, ""),
                };
                let n = num(whole)?;
                atto = atto.checked_add(n.checked_mul(ATTO)?)?;
                if body.contains('.') {
                    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
                        return None;
                    }
                    let frac = frac.trim_end_matches('0');
                    if frac.len() > 18 {
                        return None;
                    }
                    let mut f: i128 = num(frac).unwrap_or(0);
                    for _ in frac.len()..18 {
                        f *= 10;
                    }
                    atto = atto.checked_add(f)?;
                }
                any = true;
            } else if !rest.is_empty() {
                return None;
            }
        }
        if !any {
            return None;
        }
        Some(if neg {
            Duration {
                months: -months,
                atto: -atto,
            }
        } else {
            Duration { months, atto }
        })
    }

    /// Is this the zero duration?
    pub fn is_zero(&self) -> bool {
        self.months == 0 && self.atto == 0
    }

    /// The partial order of §3.2.6.2: compare at 1696-09-01, 1697-02-01, 1903-03-01 and
    /// 1903-07-01 (all 00:00:00Z); equal results everywhere decide, otherwise `None`.
    pub fn partial_cmp_xsd(&self, other: &Duration) -> Option<Ordering> {
        const REFS: [(i128, u32); 4] = [(1696, 9), (1697, 2), (1903, 3), (1903, 7)];
        let mut result: Option<Ordering> = None;
        for (y, m) in REFS {
            let a = offset_atto(y, m, self)?;
            let b = offset_atto(y, m, other)?;
            let o = a.cmp(&b);
            match result {
                None => result = Some(o),
                Some(prev) if prev == o => {}
                Some(_) => return None,
            }
        }
        result
    }
}

/// Attoseconds from the reference start (day 1 of the month) to start + duration.
fn offset_atto(y: i128, m: u32, d: &Duration) -> Option<i128> {
    let start = days_from_civil(y, m, 1);
    let total = i128::from(m - 1).checked_add(d.months)?;
    let end = days_from_civil(
        y.checked_add(total.div_euclid(12))?,
        u32::try_from(total.rem_euclid(12) + 1).ok()?,
        1,
    );
    (end - start)
        .checked_mul(86_400 * ATTO)?
        .checked_add(d.atto)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Duration {
        Duration::parse(s).expect("valid in test")
    }

    #[test]
    fn lexical_space() {
        for ok in [
            "P1Y",
            "P1Y2M3DT10H30M",
            "-P120D",
            "PT1.5S",
            "P0Y",
            "PT0S",
            "P1DT2H",
            "PT36H",
            "PT1.000000000000000000000S",
        ] {
            assert!(Duration::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "P",
            "PT",
            "P1YT",
            "-P",
            "1Y",
            "P-1Y",
            "P1.5Y",
            "P1M2Y",
            "PT1.S",
            "PT.5S",
            "P1Y2M3DT",
            "+P1Y",
            "P1DT1D",
            "PT1H1H",
            "PT0.0000000000000000001S",
            "P1W",
        ] {
            assert!(Duration::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn order() {
        assert_eq!(d("P1Y"), d("P12M"));
        assert_eq!(d("PT1H"), d("PT60M"));
        assert_eq!(d("P1D"), d("PT24H"));
        assert_eq!(d("-P0D"), d("PT0S"));
        assert_ne!(d("P1M"), d("P30D"));
        assert_eq!(d("P1M").partial_cmp_xsd(&d("P30D")), None);
        assert_eq!(
            d("P1Y").partial_cmp_xsd(&d("P364D")),
            Some(Ordering::Greater)
        );
        assert_eq!(d("P1Y").partial_cmp_xsd(&d("P365D")), None);
        assert_eq!(
            d("P1M").partial_cmp_xsd(&d("P27D")),
            Some(Ordering::Greater)
        );
        assert_eq!(d("-P1D").partial_cmp_xsd(&d("PT1S")), Some(Ordering::Less));
        assert_eq!(
            d("PT1.5S").partial_cmp_xsd(&d("PT1.25S")),
            Some(Ordering::Greater)
        );
    }
}
