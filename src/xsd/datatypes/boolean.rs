//! xs:boolean (§3.2.2): `true`, `false`, `1`, `0`.

/// Parse a collapsed lexical form.
pub fn parse(s: &str) -> Option<bool> {
    match s {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lexical_space() {
        assert_eq!(super::parse("1"), Some(true));
        assert_eq!(super::parse("false"), Some(false));
        for bad in ["TRUE", "yes", "", "01", " true"] {
            assert_eq!(super::parse(bad), None, "{bad}");
        }
    }
}
