//! hexBinary (§3.2.15) and base64Binary (§3.2.16). Length facets count octets, which the
//! `*_octets` functions compute without decoding.

/// Decode hexBinary: an even number of hex digits (either case).
pub fn parse_hex(s: &str) -> Option<Box<[u8]>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok());
    b.chunks_exact(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// Octets of a valid hexBinary lexical form.
pub fn hex_octets(s: &str) -> usize {
    s.len() / 2
}

/// The base64 alphabet as a lookup table (`INVALID` for other bytes).
const B64: [u8; 256] = {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t
};
const INVALID: u8 = 0xff;

fn b64_value(c: u8) -> Option<u8> {
    let v = B64[c as usize];
    (v != INVALID).then_some(v)
}

/// Check the base64Binary grammar of §3.2.16 on a collapsed form and return the number of
/// octets: groups of four characters from `[A-Za-z0-9+/]`, single spaces allowed between
/// characters, padding only in the last group (`xx==` with the second character in
/// `[AQgw]`, `xxx=` with the third in `[AEIMQUYcgkosw048]`, so no stray bits).
pub fn base64_octets(s: &str) -> Option<usize> {
    let mut n = 0usize; // significant characters seen
    let mut pad = 0usize;
    let mut last = 0u8;
    let mut prev_space = true; // no leading space
    for &c in s.as_bytes() {
        if c == b' ' {
            if prev_space {
                return None;
            }
            prev_space = true;
            continue;
        }
        prev_space = false;
        if c == b'=' {
            pad += 1;
            if pad > 2 {
                return None;
            }
            continue;
        }
        if pad > 0 {
            return None;
        }
        b64_value(c)?;
        last = c;
        n += 1;
    }
    if prev_space && !s.is_empty() {
        return None;
    }
    if !(n + pad).is_multiple_of(4) {
        return None;
    }
    let stray = b64_value(last).unwrap_or(0);
    match pad {
        0 => Some(n / 4 * 3),
        1 if stray & 0b11 == 0 => Some(n / 4 * 3 + 2),
        2 if stray & 0b1111 == 0 => Some(n / 4 * 3 + 1),
        _ => None,
    }
}

/// Decode base64Binary after checking the grammar.
pub fn parse_base64(s: &str) -> Option<Box<[u8]>> {
    let len = base64_octets(s)?;
    let mut out = Vec::with_capacity(len + 2);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in s.as_bytes() {
        let v = B64[c as usize];
        if v == INVALID {
            continue; // spaces and padding, already checked
        }
        acc = (acc << 6 | u32::from(v)) & 0x00ff_ffff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out.truncate(len);
    Some(out.into_boxed_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex() {
        assert_eq!(parse_hex("0fA1").as_deref(), Some(&[0x0f, 0xa1][..]));
        assert_eq!(parse_hex("").as_deref(), Some(&[][..]));
        for bad in ["0", "0g", "0x00", " 00"] {
            assert!(parse_hex(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn base64() {
        assert_eq!(parse_base64("").as_deref(), Some(&[][..]));
        assert_eq!(parse_base64("TWFu").as_deref(), Some(&b"Man"[..]));
        assert_eq!(parse_base64("TWE=").as_deref(), Some(&b"Ma"[..]));
        assert_eq!(parse_base64("TQ==").as_deref(), Some(&b"M"[..]));
        assert_eq!(parse_base64("TQ= =").as_deref(), Some(&b"M"[..]));
        assert_eq!(parse_base64("T W F u").as_deref(), Some(&b"Man"[..]));
        assert_eq!(base64_octets("TWFu TWE="), Some(5));
        for bad in [
            "TWF",
            "TWFu=",
            "TR==",
            "TWF=",
            "T===",
            "TW=u",
            "TWFu  TWFu",
            " TWFu",
            "TWFu ",
            "TW-u",
            "====",
            "TQ==TWFu",
        ] {
            assert!(parse_base64(bad).is_none(), "{bad}");
        }
    }
}
