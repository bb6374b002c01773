//! Values formatted for German readers. Each helper takes the lexical form the validator has
//! already accepted and falls back to it unchanged when it has an unexpected shape.

/// `2026-12-05` (with or without a time zone) → `05.12.2026`.
pub fn date(lexical: &str) -> String {
    split_date(lexical).map_or_else(|| lexical.to_owned(), |(d, _)| d)
}

/// `2026-12-05T10:30:00Z` → `05.12.2026, 10:30 Uhr (UTC)`; seconds only when not zero,
/// a time zone other than `Z` as `(UTC+01:00)`.
pub fn date_time(lexical: &str) -> String {
    let Some((day, rest)) = lexical.split_once('T') else {
        return lexical.to_owned();
    };
    match (split_date(day), time_parts(rest)) {
        (Some((d, _)), Some(t)) => format!("{d}, {t}"),
        _ => lexical.to_owned(),
    }
}

/// `10:30:00` → `10:30 Uhr`.
pub fn time(lexical: &str) -> String {
    time_parts(lexical).unwrap_or_else(|| lexical.to_owned())
}

fn split_date(lexical: &str) -> Option<(String, &str)> {
    let b = lexical.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (&lexical[..4], &lexical[5..7], &lexical[8..10]);
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit());
    (digits(y) && digits(m) && digits(d)).then(|| (format!("{d}.{m}.{y}"), &lexical[10..]))
}

fn time_parts(lexical: &str) -> Option<String> {
    let b = lexical.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let (hm, s) = (&lexical[..5], &lexical[6..8]);
    let mut rest = &lexical[8..];
    if let Some(frac) = rest.strip_prefix('.') {
        rest = frac.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    let zone = match rest {
        "" => String::new(),
        "Z" | "+00:00" | "-00:00" => " (UTC)".to_owned(),
        other => format!(" (UTC{other})"),
    };
    let clock = if s == "00" {
        hm.to_owned()
    } else {
        format!("{hm}:{s}")
    };
    Some(format!("{clock} Uhr{zone}"))
}

/// A decimal with `,` before the fraction and `.` between thousands: `1234.5` → `1.234,5`.
/// Integers (`grouped = false`) are grouped only from five digits on, so that years and
/// numbers like `2026` stay as they are.
pub fn decimal(lexical: &str, grouped: bool) -> String {
    let (sign, digits) = match lexical.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", lexical.strip_prefix('+').unwrap_or(lexical)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() && frac.is_empty()
        || !int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit())
    {
        return lexical.to_owned();
    }
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let group = grouped || int.len() >= 5;
    let mut out = String::from(sign);
    for (i, c) in int.chars().enumerate() {
        if group && i > 0 && (int.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push(',');
        out.push_str(frac);
    }
    out
}

/// `1.5E3` and the like: German decimal comma where the form is plain, else unchanged.
pub fn float(lexical: &str) -> String {
    if lexical.contains(['e', 'E']) || lexical.chars().any(char::is_alphabetic) {
        lexical.to_owned()
    } else {
        decimal(lexical, true)
    }
}

/// `true`/`1` → `ja`, `false`/`0` → `nein`.
pub fn boolean(lexical: &str) -> String {
    match lexical {
        "true" | "1" => "ja".to_owned(),
        "false" | "0" => "nein".to_owned(),
        other => other.to_owned(),
    }
}

/// The decoded size of base64 text (whitespace ignored, padding subtracted).
pub fn base64_size(lexical: &str) -> usize {
    let chars = lexical.bytes().filter(|b| !b.is_ascii_whitespace()).count();
    let padding = lexical
        .bytes()
        .rev()
        .filter(|b| !b.is_ascii_whitespace())
        .take_while(|&b| b == b'=')
        .count();
    (chars / 4 * 3).saturating_sub(padding)
}

/// `1536` → `1,5 KB`; below 1 KiB in bytes: `12 Byte`.
pub fn bytes(n: usize) -> String {
    const UNITS: [&str; 3] = ["KB", "MB", "GB"];
    if n < 1024 {
        return format!("{n} Byte");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = u;
    }
    format!("{value:.1} {unit}").replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_german() {
        assert_eq!(date("2026-12-05"), "05.12.2026");
        assert_eq!(date("2026-12-05+01:00"), "05.12.2026");
        assert_eq!(date("-0044-03-15"), "-0044-03-15");
        assert_eq!(date_time("2026-12-05T10:30:00"), "05.12.2026, 10:30 Uhr");
        assert_eq!(
            date_time("2026-12-05T10:30:15.25Z"),
            "05.12.2026, 10:30:15 Uhr (UTC)"
        );
        assert_eq!(
            date_time("2026-12-05T10:30:00+01:00"),
            "05.12.2026, 10:30 Uhr (UTC+01:00)"
        );
        assert_eq!(time("08:05:00"), "08:05 Uhr");
    }

    #[test]
    fn numbers_are_german() {
        assert_eq!(decimal("1234567.50", true), "1.234.567,50");
        assert_eq!(decimal("-0.5", true), "-0,5");
        assert_eq!(decimal("+12", true), "12");
        assert_eq!(decimal("2026", false), "2026");
        assert_eq!(decimal("12345", false), "12.345");
        assert_eq!(decimal("1234", true), "1.234");
        assert_eq!(decimal("abc", true), "abc");
        assert_eq!(float("2.5"), "2,5");
        assert_eq!(float("INF"), "INF");
        assert_eq!(float("1E3"), "1E3");
    }

    #[test]
    fn booleans_and_sizes() {
        assert_eq!(boolean("true"), "ja");
        assert_eq!(boolean("0"), "nein");
        assert_eq!(base64_size("SGFsbG8="), 5);
        assert_eq!(base64_size("SGFs\n bG8h"), 6);
        assert_eq!(bytes(12), "12 Byte");
        assert_eq!(bytes(1536), "1,5 KB");
        assert_eq!(bytes(3 * 1024 * 1024), "3,0 MB");
    }
}
