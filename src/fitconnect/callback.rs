//! Verification of FIT-Connect callbacks (`callback-authentication`, `callback-timestamp`).
//!
//! The MAC is HMAC-SHA512 over `<timestamp>.<raw body>` (the exact bytes received, never a
//! re-serialization), lowercase hex, compared in constant time. A timestamp older than the
//! window (5 minutes) is refused, and so is a (timestamp, MAC) pair seen before within it, so a
//! captured callback cannot be replayed. Pure: `now` is a parameter.

use std::collections::HashSet;

use aws_lc_rs::hmac;

use super::hash::hex_lower;

/// How old a callback timestamp may be, in seconds (FIT-Connect: 5 minutes).
pub const MAX_AGE_SECS: i64 = 300;
/// How far in the future a timestamp may lie (clock skew), in seconds.
pub const MAX_SKEW_SECS: i64 = 60;

/// Why a callback is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CallbackError {
    /// `callback-timestamp` is not a decimal Unix time.
    #[error("callback-timestamp is not a Unix time in seconds")]
    BadTimestamp,
    /// The timestamp is older than [`MAX_AGE_SECS`] or further ahead than [`MAX_SKEW_SECS`].
    #[error("callback-timestamp is outside the accepted window")]
    Stale,
    /// `callback-authentication` is not 128 lowercase hex characters.
    #[error("callback-authentication is not a lowercase hex HMAC-SHA512")]
    BadMacFormat,
    /// The MAC does not verify.
    #[error("callback-authentication does not verify")]
    BadMac,
    /// The same (timestamp, MAC) was already accepted.
    #[error("callback was already received (replay)")]
    Replay,
}

/// The callback secret of a destination (HMAC key). Not `Clone`; not printable.
pub struct CallbackSecret(hmac::Key);

impl std::fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackSecret(..)")
    }
}

impl CallbackSecret {
    /// Builds the HMAC-SHA512 key from the configured secret bytes.
    #[must_use]
    pub fn new(secret: &[u8]) -> Self {
        Self(hmac::Key::new(hmac::HMAC_SHA512, secret))
    }

    /// The `callback-authentication` value for `timestamp` and `body` (sandbox/sender side).
    #[must_use]
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        let mut ctx = hmac::Context::with_key(&self.0);
        ctx.update(timestamp.as_bytes());
        ctx.update(b".");
        ctx.update(body);
        hex_lower(ctx.sign().as_ref())
    }
}

/// The (timestamp, MAC) pairs accepted within the window; older entries are pruned.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: HashSet<(i64, String)>,
}

impl ReplayGuard {
    /// An empty guard.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Entries currently remembered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether nothing is remembered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Verifies one callback at `now` (Unix seconds) and records it in `guard`.
///
/// # Errors
/// A [`CallbackError`] naming the first failed check (format, window, MAC, replay).
pub fn verify(
    secret: &CallbackSecret,
    timestamp: &str,
    authentication: &str,
    raw_body: &[u8],
    now: i64,
    guard: &mut ReplayGuard,
) -> Result<(), CallbackError> {
    if timestamp.is_empty()
        || timestamp.len() > 12
        || !timestamp.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(CallbackError::BadTimestamp);
    }
    let ts: i64 = timestamp.parse().map_err(|_| CallbackError::BadTimestamp)?;
    if ts < now - MAX_AGE_SECS || ts > now + MAX_SKEW_SECS {
        return Err(CallbackError::Stale);
    }
    if authentication.len() != 128 || !is_lower_hex(authentication) {
        return Err(CallbackError::BadMacFormat);
    }
    let expected = secret.sign(timestamp, raw_body);
    aws_lc_rs::constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        authentication.as_bytes(),
    )
    .map_err(|_| CallbackError::BadMac)?;
    guard
        .seen
        .retain(|(seen_ts, _)| *seen_ts >= now - MAX_AGE_SECS);
    if !guard.seen.insert((ts, expected)) {
        return Err(CallbackError::Replay);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions","submissionIds":["f39ab143-d91a-474a-b69f-b00f1a1873c2"]}"#;

    #[test]
    fn rfc4231_case_7_hmac_sha512() {
        // RFC 4231 test case 7 (key 131 × 0xaa) through our hex encoding.
        let key = hmac::Key::new(hmac::HMAC_SHA512, &[0xaa; 131]);
        let tag = hmac::sign(&key, b"This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.");
        assert_eq!(
            hex_lower(tag.as_ref()),
            "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"
        );
    }

    #[test]
    fn accepts_fresh_refuses_stale_tampered_and_replayed() {
        let secret = CallbackSecret::new(b"callback secret");
        let now = 1_672_527_599;
        let mac = secret.sign("1672527599", BODY);
        let mut guard = ReplayGuard::new();
        assert_eq!(
            verify(&secret, "1672527599", &mac, BODY, now, &mut guard),
            Ok(())
        );
        assert_eq!(
            verify(&secret, "1672527599", &mac, BODY, now + 10, &mut guard),
            Err(CallbackError::Replay)
        );
        assert_eq!(
            verify(&secret, "1672527599", &mac, BODY, now + 301, &mut guard),
            Err(CallbackError::Stale)
        );
        let mut tampered = BODY.to_vec();
        tampered.push(b' ');
        assert_eq!(
            verify(
                &secret,
                "1672527599",
                &mac,
                &tampered,
                now,
                &mut ReplayGuard::new()
            ),
            Err(CallbackError::BadMac)
        );
        assert_eq!(
            verify(
                &secret,
                "1672527599",
                &mac.to_uppercase(),
                BODY,
                now,
                &mut ReplayGuard::new()
            ),
            Err(CallbackError::BadMacFormat)
        );
        assert_eq!(
            verify(&secret, "-5", &mac, BODY, now, &mut ReplayGuard::new()),
            Err(CallbackError::BadTimestamp)
        );
        assert_eq!(
            verify(
                &secret,
                "1672527999",
                &mac,
                BODY,
                now,
                &mut ReplayGuard::new()
            ),
            Err(CallbackError::Stale),
            "too far in the future"
        );
    }

    #[test]
    fn guard_forgets_entries_outside_the_window() {
        let secret = CallbackSecret::new(b"k");
        let mut guard = ReplayGuard::new();
        let mac = secret.sign("1000", b"a");
        verify(&secret, "1000", &mac, b"a", 1000, &mut guard).expect("fresh");
        let mac2 = secret.sign("2000", b"b");
        verify(&secret, "2000", &mac2, b"b", 2000, &mut guard).expect("fresh");
        assert_eq!(guard.len(), 1);
    }
}
