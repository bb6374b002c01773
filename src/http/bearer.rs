//! `Authorization: Bearer <token>` (RFC 6750 §2.1 over RFC 7235 §2.1).

/// The token of an `Authorization` header value with the `Bearer` scheme, or `None`.
///
/// The scheme is compared case-insensitively (RFC 7235 §2.1: `bearer`, `BEARER` and `Bearer`
/// are the same scheme) and may be followed by more than one space; the token itself is taken
/// as sent and must be a single non-empty word.
#[must_use]
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = rest.trim_start_matches(' ');
    (!token.is_empty() && !token.contains([' ', '\t'])).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn the_scheme_is_case_insensitive_and_the_token_exact() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER t0k", "bEaReR   t0k"] {
            assert_eq!(bearer_token(value), Some("t0k"), "{value}");
        }
        for value in [
            "Basic dXNlcjpwYXNz",
            "Bearer",
            "Bearer ",
            "Bearert0k",
            "Bearer a b",
            "Token t0k",
            "",
        ] {
            assert_eq!(bearer_token(value), None, "{value:?}");
        }
    }
}
