//! dateTime, date, time and the g* types (§3.2.7–§3.2.14), XSD 1.0 rules: years of four or
//! more digits (no leading zero beyond four), negative years, no year 0000, timezones
//! `Z`/`±hh:mm` up to ±14:00, `24:00:00` as the end of the day, fractional seconds of any
//! length.
//!
//! Values are points on one timeline (seconds from 0001-01-01T00:00:00 in the proleptic
//! Gregorian calendar; `-0001` is the year before `0001` and is a leap year, like 1 BCE),
//! normalised to UTC when a timezone is given. time and the g* types are placed on fixed
//! reference dates (1972-12-31, 1972-MM-DD, …) so one ordering serves all kinds. Values with
//! and without a timezone are partially ordered by the ±14:00 rule of §3.2.7.4.
//! Years are limited to 12 digits (a documented limit; longer years are `Unsupported`).

use std::cmp::Ordering;

use super::{Builtin, LexicalError};

/// Fractional seconds: the first 18 digits as attoseconds, further digits (trimmed of
/// trailing zeros) as text, so ordering and equality stay exact for any length.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Frac {
    /// First 18 digits.
    pub atto: u64,
    /// Digits 19 and later, if any are non-zero.
    pub extra: Option<Box<str>>,
}

impl Frac {
    /// Parse the digits after the decimal point (already checked to be ASCII digits).
    pub fn parse(digits: &str) -> Frac {
        let digits = digits.trim_end_matches('0');
        let (head, tail) = digits.split_at(digits.len().min(18));
        let mut atto: u64 = 0;
        for b in head.bytes() {
            atto = atto * 10 + u64::from(b - b'0');
        }
        for _ in head.len()..18 {
            atto *= 10;
        }
        Frac {
            atto,
            extra: (!tail.is_empty()).then(|| tail.into()),
        }
    }

    /// Zero?
    pub fn is_zero(&self) -> bool {
        self.atto == 0 && self.extra.is_none()
    }
}

/// A value of one of the date/time primitives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DateTimeValue {
    /// Which primitive (dateTime, time, date, gYearMonth, gYear, gMonthDay, gDay, gMonth).
    pub kind: Builtin,
    /// Whether a timezone was given (then `secs` is in UTC).
    pub tz: bool,
    /// Seconds on the timeline.
    pub secs: i128,
    /// Fractional seconds.
    pub frac: Frac,
}

const MAX_YEAR_DIGITS: usize = 12;
const FOURTEEN_HOURS: i128 = 14 * 3600;

fn is_leap(astro_year: i128) -> bool {
    (astro_year % 4 == 0 && astro_year % 100 != 0) || astro_year % 400 == 0
}

/// Days in a month of an astronomical year.
pub(crate) fn days_in_month(astro_year: i128, month: u32) -> u32 {
    match month {
        2 if is_leap(astro_year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 0001-01-01 of an astronomical date (Howard Hinnant's `days_from_civil`).
pub(crate) fn days_from_civil(y: i128, m: u32, d: u32) -> i128 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i128::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i128::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 306 // the era count starts at 0000-03-01, 306 days before 0001-01-01
}

fn digits2(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() == 2 && b[0].is_ascii_digit() && b[1].is_ascii_digit() {
        Some(u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
    } else {
        None
    }
}

/// Split a trailing timezone; returns (rest, offset in minutes).
fn split_tz(s: &str) -> Option<(&str, Option<i32>)> {
    if let Some(rest) = s.strip_suffix('Z') {
        return Some((rest, Some(0)));
    }
    let b = s.as_bytes();
    if b.len() >= 6 && matches!(b[b.len() - 6], b'+' | b'-') && b[b.len() - 3] == b':' {
        let sign = if b[b.len() - 6] == b'-' { -1 } else { 1 };
        let hh = digits2(&s[s.len() - 5..s.len() - 3])?;
        let mm = digits2(&s[s.len() - 2..])?;
        if hh > 14 || mm > 59 || (hh == 14 && mm != 0) {
            return None;
        }
        let off = i32::try_from(hh * 60 + mm).ok()?;
        return Some((&s[..s.len() - 6], Some(sign * off)));
    }
    Some((s, None))
}

/// Parse `-?YYYY+`; returns the astronomical year.
fn parse_year(s: &str) -> Result<i128, bool> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.len() < 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(false);
    }
    if digits.len() > 4 && digits.starts_with('0') {
        return Err(false);
    }
    if digits.len() > MAX_YEAR_DIGITS {
        return Err(true);
    }
    let y: i128 = digits.parse().map_err(|_| false)?;
    if y == 0 {
        return Err(false);
    }
    Ok(if neg { 1 - y } else { y })
}

/// `hh:mm:ss(.s+)?` → (seconds of day, fraction); `24:00:00` gives 86400.
fn parse_time(s: &str) -> Option<(i128, Frac)> {
    let (hms, frac) = match s.split_once('.') {
        Some((a, f)) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            (a, Frac::parse(f))
        }
        Some(_) => return None,
        None => (s, Frac::default()),
    };
    let b = hms.as_bytes();
    if b.len() != 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (h, m, sec) = (
        digits2(&hms[..2])?,
        digits2(&hms[3..5])?,
        digits2(&hms[6..])?,
    );
    if h == 24 && m == 0 && sec == 0 && frac.is_zero() {
        return Some((86_400, frac));
    }
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some((i128::from(h * 3600 + m * 60 + sec), frac))
}

/// `YYYY-MM-DD` parts (day optional for gYearMonth).
fn parse_ymd(s: &str, with_day: bool) -> Result<(i128, u32, u32), bool> {
    let tail = if with_day { 6 } else { 3 };
    if s.len() < tail + 4 || !s.is_char_boundary(s.len() - tail) {
        return Err(false);
    }
    let (y, md) = s.split_at(s.len() - tail);
    let year = parse_year(y)?;
    let md = md.as_bytes();
    if md[0] != b'-' || (with_day && md[3] != b'-') {
        return Err(false);
    }
    let month = digits2(std::str::from_utf8(&md[1..3]).map_err(|_| false)?).ok_or(false)?;
    let day = if with_day {
        digits2(std::str::from_utf8(&md[4..6]).map_err(|_| false)?).ok_or(false)?
    } else {
        1
    };
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err(false);
    }
    Ok((year, month, day))
}

fn month_day(s: &str, year: i128) -> Option<(u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 5 || b[2] != b'-' {
        return None;
    }
    let (m, d) = (digits2(&s[..2])?, digits2(&s[3..])?);
    ((1..=12).contains(&m) && d >= 1 && d <= days_in_month(year, m)).then_some((m, d))
}

impl DateTimeValue {
    /// Parse a collapsed lexical form of `kind`.
    pub fn parse(kind: Builtin, s: &str) -> Result<DateTimeValue, LexicalError> {
        let syntax = LexicalError::Syntax(kind);
        let map = |unsupported: bool| {
            if unsupported {
                LexicalError::Unsupported(kind)
            } else {
                syntax
            }
        };
        let (body, tz) = split_tz(s).ok_or(syntax)?;
        let reference_year = 1972; // a leap year, so --02-29 exists
        let (days, secs_of_day, frac) = match kind {
            Builtin::DateTime => {
                let (date, time) = body.split_once('T').ok_or(syntax)?;
                let (y, m, d) = parse_ymd(date, true).map_err(map)?;
                let (t, f) = parse_time(time).ok_or(syntax)?;
                (days_from_civil(y, m, d), t, f)
            }
            Builtin::Date => {
                let (y, m, d) = parse_ymd(body, true).map_err(map)?;
                (days_from_civil(y, m, d), 0, Frac::default())
            }
            Builtin::Time => {
                let (t, f) = parse_time(body).ok_or(syntax)?;
                // 24:00:00 as a time is the same time of day as 00:00:00.
                (days_from_civil(reference_year, 12, 31), t % 86_400, f)
            }
            Builtin::GYearMonth => {
                let (y, m, _) = parse_ymd(body, false).map_err(map)?;
                (days_from_civil(y, m, 1), 0, Frac::default())
            }
            Builtin::GYear => {
                let y = parse_year(body).map_err(map)?;
                (days_from_civil(y, 1, 1), 0, Frac::default())
            }
            Builtin::GMonthDay => {
                let rest = body.strip_prefix("--").ok_or(syntax)?;
                let (m, d) = month_day(rest, reference_year).ok_or(syntax)?;
                (days_from_civil(reference_year, m, d), 0, Frac::default())
            }
            Builtin::GDay => {
                let d = digits2(body.strip_prefix("---").ok_or(syntax)?).ok_or(syntax)?;
                if !(1..=31).contains(&d) {
                    return Err(syntax);
                }
                (days_from_civil(reference_year, 12, d), 0, Frac::default())
            }
            Builtin::GMonth => {
                let rest = body.strip_prefix("--").ok_or(syntax)?;
                // `--MM--` (printed in the first edition) is an erratum: 2nd edition is `--MM`.
                let m = digits2(rest)
                    .filter(|m| (1..=12).contains(m))
                    .ok_or(syntax)?;
                (days_from_civil(reference_year, m, 1), 0, Frac::default())
            }
            _ => return Err(syntax),
        };
        let offset = i128::from(tz.unwrap_or(0)) * 60;
        Ok(DateTimeValue {
            kind,
            tz: tz.is_some(),
            secs: days * 86_400 + secs_of_day - offset,
            frac,
        })
    }

    /// XSD order (§3.2.7.4): `None` when the kinds differ or the comparison is indeterminate.
    pub fn partial_cmp_xsd(&self, other: &DateTimeValue) -> Option<Ordering> {
        if self.kind != other.kind {
            return None;
        }
        let key = |v: &DateTimeValue, shift: i128| (v.secs + shift, v.frac.clone());
        if self.tz == other.tz {
            return Some(key(self, 0).cmp(&key(other, 0)));
        }
        // One side has no timezone: it may be anywhere within ±14:00.
        let (zoned, local, flip) = if self.tz {
            (self, other, false)
        } else {
            (other, self, true)
        };
        let z = key(zoned, 0);
        let o = if z < key(local, -FOURTEEN_HOURS) {
            Ordering::Less
        } else if z > key(local, FOURTEEN_HOURS) {
            Ordering::Greater
        } else {
            return None;
        };
        Some(if flip { o.reverse() } else { o })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Builtin as B;

    fn p(k: Builtin, s: &str) -> DateTimeValue {
        DateTimeValue::parse(k, s).expect("valid in test")
    }

    #[test]
    fn lexical_spaces() {
        let cases: &[(Builtin, &[&str], &[&str])] = &[
            (
                B::DateTime,
                &[
                    "2002-10-10T12:00:00",
                    "2002-10-10T12:00:00.5Z",
                    "-0001-01-01T00:00:00",
                    "12345-01-01T00:00:00+14:00",
                    "2000-02-29T24:00:00",
                    "2002-10-10T12:00:00.000000000000000000000001-05:00",
                ],
                &[
                    "2002-10-10",
                    "2002-10-10T12:00",
                    "0000-01-01T00:00:00",
                    "02002-01-01T00:00:00",
                    "2001-02-29T00:00:00",
                    "2002-10-10T24:00:01",
                    "2002-10-10T12:00:00+14:01",
                    "2002-10-10T12:00:00+15:00",
                    "2002-10-10T12:00:60",
                    "2002-10-10T12:00:00.",
                    "2002-10-10T12:00:00z",
                    "2002-10-10 12:00:00",
                    "2002-1-10T12:00:00",
                    "2002-13-10T12:00:00",
                    "2002-10-10T12:00:00+0500",
                    "+2002-10-10T12:00:00",
                ],
            ),
            (
                B::Date,
                &[
                    "2002-10-10",
                    "2002-10-10Z",
                    "2002-10-10-05:00",
                    "-0005-02-29",
                    "-0001-02-29",
                ],
                &[
                    "-0004-02-29",
                    "2002-10-32",
                    "2002-02-30",
                    "1900-02-29",
                    "2002-10",
                    "20021010",
                    "2002-10-10T00:00:00",
                ],
            ),
            (
                B::Time,
                &["13:20:00", "13:20:00.123Z", "24:00:00", "00:00:00-14:00"],
                &[
                    "13:20",
                    "25:00:00",
                    "24:00:00.1",
                    "13:20:00Z+01:00",
                    "1:20:00",
                ],
            ),
            (
                B::GYearMonth,
                &["2002-10", "-2002-10Z", "20020-01"],
                &["2002-13", "2002", "02002-01", "2002-10-10"],
            ),
            (
                B::GYear,
                &["2002", "-2002", "2002+05:00", "123456"],
                &["02", "0000", "-0000", "2002-10", "012345"],
            ),
            (
                B::GMonthDay,
                &["--02-29", "--12-31Z", "--04-30"],
                &["--04-31", "02-29", "--2-29", "---29"],
            ),
            (
                B::GDay,
                &["---01", "---31+01:00"],
                &["---32", "---00", "--31", "---1"],
            ),
            (
                B::GMonth,
                &["--12", "--01Z"],
                &["--13", "--00", "-05", "--5", "--05--"],
            ),
        ];
        for (k, good, bad) in cases {
            for s in *good {
                assert!(DateTimeValue::parse(*k, s).is_ok(), "{k} {s}");
            }
            for s in *bad {
                assert!(DateTimeValue::parse(*k, s).is_err(), "{k} {s}");
            }
        }
    }

    #[test]
    fn equality_and_order() {
        assert_eq!(
            p(B::DateTime, "2002-10-10T12:00:00-05:00"),
            p(B::DateTime, "2002-10-10T17:00:00Z")
        );
        assert_eq!(
            p(B::DateTime, "2002-10-10T24:00:00"),
            p(B::DateTime, "2002-10-11T00:00:00")
        );
        assert_eq!(
            p(B::DateTime, "2002-10-10T12:00:00.50"),
            p(B::DateTime, "2002-10-10T12:00:00.5")
        );
        assert_ne!(
            p(B::DateTime, "2002-10-10T12:00:00Z"),
            p(B::DateTime, "2002-10-10T12:00:00")
        );
        let lt = |k, a, b| p(k, a).partial_cmp_xsd(&p(k, b));
        assert_eq!(
            lt(B::Date, "-0001-12-31", "0001-01-01"),
            Some(Ordering::Less)
        );
        assert_eq!(
            lt(B::DateTime, "2000-01-15T00:00:00", "2000-02-15T00:00:00"),
            Some(Ordering::Less)
        );
        // ±14h rule (examples from §3.2.7.4).
        assert_eq!(
            lt(B::DateTime, "2000-01-01T12:00:00", "1999-12-31T23:00:00Z"),
            None
        );
        assert_eq!(
            lt(B::DateTime, "2000-01-16T12:00:00", "2000-01-16T12:00:00Z"),
            None
        );
        assert_eq!(
            lt(B::DateTime, "2000-01-15T12:00:00", "2000-01-16T12:00:00Z"),
            Some(Ordering::Less)
        );
        assert_eq!(
            lt(B::DateTime, "2000-01-16T12:00:00Z", "2000-01-15T12:00:00"),
            Some(Ordering::Greater)
        );
        assert_eq!(
            lt(B::Time, "12:00:00.000000000000000000001", "12:00:00"),
            Some(Ordering::Greater)
        );
        assert_eq!(lt(B::GYear, "2001", "2000"), Some(Ordering::Greater));
        assert_eq!(
            p(B::Date, "2000-01-01").partial_cmp_xsd(&p(B::GYear, "2000")),
            None
        );
    }
}
