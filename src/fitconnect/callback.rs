//! FIT-Connect callbacks: authentication (`callback-authentication`, `callback-timestamp`),
//! replay protection, and the notice they carry — the one implementation the gateway's server
//! and the test vectors use (layer L1, pure: `now` is a parameter).
//!
//! # Rules
//!
//! 1. **Secret.** The HMAC key is the configured callback secret; surrounding white space of a
//!    secret file is not part of it, and an empty secret is refused ([`CallbackSecret::new`]) —
//!    an empty key would let anybody compute the MAC.
//! 2. **Headers first** ([`check_headers`]): the timestamp is decimal Unix seconds, not older
//!    than [`MAX_AGE_SECS`] (5 minutes, FIT-Connect) nor more than [`MAX_SKEW_SECS`] ahead; the
//!    MAC is 128 lowercase hex characters. All of that is decided before a byte of the body is
//!    read.
//! 3. **MAC** ([`authenticate`]): HMAC-SHA512 over `<timestamp>.<raw body>` (the exact bytes
//!    received, never a re-serialization), compared in constant time.
//! 4. **Replay** ([`ReplayKey`]): a callback is identified by (destination, timestamp, MAC); one
//!    accepted within the window is refused again. Check, hand the notice over, then record —
//!    a callback whose hand-over failed (the gateway was busy) stays acceptable for the
//!    service's retry. Keys older than the window are forgotten: their timestamp alone refuses
//!    them. [`ReplayGuard`] keeps keys in memory; the gateway keeps them in its store so a
//!    restart does not reopen the window.
//! 5. **Notice** ([`parse_notice`]): strict JSON; the submission ids of `submissions[]` and the
//!    deprecated `submissionIds` are UUIDs (compared in lower case), at most
//!    [`MAX_NOTICE_IDS`]. A callback is a hint to poll, never a fact about a submission.

use std::collections::{BTreeSet, HashSet};

use aws_lc_rs::hmac;

use super::hash::hex_lower;
use super::types::NewSubmissionsCallback;

/// How old a callback timestamp may be, in seconds (FIT-Connect: 5 minutes).
pub const MAX_AGE_SECS: i64 = 300;
/// How far in the future a timestamp may lie (clock skew), in seconds.
pub const MAX_SKEW_SECS: i64 = 60;
/// Most submission ids one notice may name.
pub const MAX_NOTICE_IDS: usize = 1000;

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
    /// The same (destination, timestamp, MAC) was already accepted.
    #[error("callback was already received (replay)")]
    Replay,
}

/// Why a callback secret is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretError {
    /// Empty (or only white space).
    #[error("the callback secret is empty")]
    Empty,
}

/// The callback secret of a destination (HMAC key). Not `Clone`; not printable; the key
/// material lives in aws-lc's key object only.
pub struct CallbackSecret(hmac::Key);

impl std::fmt::Debug for CallbackSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CallbackSecret(..)")
    }
}

impl CallbackSecret {
    /// The HMAC-SHA512 key from the configured secret; ASCII white space around it (a trailing
    /// newline of a secret file) is not part of it.
    ///
    /// # Errors
    /// [`SecretError::Empty`].
    pub fn new(secret: &[u8]) -> Result<Self, SecretError> {
        let secret = secret.trim_ascii();
        if secret.is_empty() {
            return Err(SecretError::Empty);
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA512, secret)))
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

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Rule 2: what the headers alone decide. Returns the timestamp.
///
/// # Errors
/// [`CallbackError::BadTimestamp`], [`CallbackError::Stale`], [`CallbackError::BadMacFormat`].
pub fn check_headers(
    timestamp: &str,
    authentication: &str,
    now: i64,
) -> Result<i64, CallbackError> {
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
    Ok(ts)
}

/// A callback whose headers and MAC verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    /// `callback-timestamp`.
    pub timestamp: i64,
    /// `callback-authentication` (lowercase hex).
    pub mac: String,
}

impl Authenticated {
    /// Its replay key for `destination`.
    #[must_use]
    pub fn replay_key(&self, destination: &str) -> ReplayKey {
        ReplayKey {
            destination: destination.to_ascii_lowercase(),
            timestamp: self.timestamp,
            mac: self.mac.clone(),
        }
    }
}

/// Rules 2 and 3: headers and MAC.
///
/// # Errors
/// The first failed check (format, window, MAC).
pub fn authenticate(
    secret: &CallbackSecret,
    timestamp: &str,
    authentication: &str,
    raw_body: &[u8],
    now: i64,
) -> Result<Authenticated, CallbackError> {
    let ts = check_headers(timestamp, authentication, now)?;
    let expected = secret.sign(timestamp, raw_body);
    aws_lc_rs::constant_time::verify_slices_are_equal(
        expected.as_bytes(),
        authentication.as_bytes(),
    )
    .map_err(|_| CallbackError::BadMac)?;
    Ok(Authenticated {
        timestamp: ts,
        mac: expected,
    })
}

/// What identifies one callback for replay protection (rule 4).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplayKey {
    /// The destination it was addressed to (lower case).
    pub destination: String,
    /// Its timestamp (Unix seconds).
    pub timestamp: i64,
    /// Its MAC (lowercase hex).
    pub mac: String,
}

impl ReplayKey {
    /// Keys with a timestamp before this may be forgotten at `now`: the window refuses them.
    #[must_use]
    pub fn forget_before(now: i64) -> i64 {
        now - MAX_AGE_SECS
    }
}

/// Accepted callbacks remembered in memory (rule 4), for one process.
#[derive(Debug, Default)]
pub struct ReplayGuard {
    seen: HashSet<ReplayKey>,
}

impl ReplayGuard {
    /// An empty guard.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `key` was accepted before (forgets keys outside the window first).
    pub fn is_replay(&mut self, key: &ReplayKey, now: i64) -> bool {
        let cutoff = ReplayKey::forget_before(now);
        self.seen.retain(|k| k.timestamp >= cutoff);
        self.seen.contains(key)
    }

    /// Records `key` as accepted.
    pub fn record(&mut self, key: ReplayKey) {
        self.seen.insert(key);
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

/// Rules 2–4 in one step with an in-memory guard (check, then record at once): for callers
/// that hand nothing over, like the test vectors.
///
/// # Errors
/// A [`CallbackError`] naming the first failed check (format, window, MAC, replay).
pub fn verify(
    secret: &CallbackSecret,
    destination: &str,
    timestamp: &str,
    authentication: &str,
    raw_body: &[u8],
    now: i64,
    guard: &mut ReplayGuard,
) -> Result<(), CallbackError> {
    let key =
        authenticate(secret, timestamp, authentication, raw_body, now)?.replay_key(destination);
    if guard.is_replay(&key, now) {
        return Err(CallbackError::Replay);
    }
    guard.record(key);
    Ok(())
}

/// The notice of a callback (rule 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The submission ids it names (lower case, sorted, unique).
    pub submission_ids: Vec<String>,
}

/// Why a callback body is not a notice.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoticeError {
    /// Not the expected JSON (strict: duplicate members refused).
    #[error("callback body is not the expected JSON")]
    Shape,
    /// More than [`MAX_NOTICE_IDS`] ids.
    #[error("callback names too many submissions")]
    TooMany,
    /// An id that is not a UUID.
    #[error("callback names a malformed submission id")]
    BadId,
}

/// Rule 5: the submission ids of a new-submissions callback. Other (authenticated) callback
/// types yield an empty list: the notice still triggers a poll.
///
/// # Errors
/// [`NoticeError`].
pub fn parse_notice(body: &[u8]) -> Result<Notice, NoticeError> {
    let parsed: NewSubmissionsCallback =
        crate::json::from_slice(body, &crate::json::JsonLimits::PROTOCOL)
            .map_err(|_| NoticeError::Shape)?;
    if parsed.submissions.len() + parsed.submission_ids.len() > 2 * MAX_NOTICE_IDS {
        return Err(NoticeError::TooMany);
    }
    let mut ids = BTreeSet::new();
    for id in parsed
        .submissions
        .into_iter()
        .map(|e| e.submission_id)
        .chain(parsed.submission_ids)
    {
        if !super::set::is_uuid(&id) {
            return Err(NoticeError::BadId);
        }
        ids.insert(id.to_ascii_lowercase());
    }
    if ids.len() > MAX_NOTICE_IDS {
        return Err(NoticeError::TooMany);
    }
    Ok(Notice {
        submission_ids: ids.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions","submissionIds":["f39ab143-d91a-474a-b69f-b00f1a1873c2"]}"#;
    const DEST: &str = "d12caea8-0000-4000-8000-000000000001";

    fn secret(s: &[u8]) -> CallbackSecret {
        CallbackSecret::new(s).expect("non-empty")
    }

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
    fn empty_callback_secret_is_refused_and_white_space_is_not_part_of_it() {
        assert_eq!(
            CallbackSecret::new(b"").map(|_| ()),
            Err(SecretError::Empty)
        );
        assert_eq!(
            CallbackSecret::new(b" \n\t").map(|_| ()),
            Err(SecretError::Empty)
        );
        // A secret file with a trailing newline signs like the secret itself.
        let file = secret(b"callback secret\n");
        assert_eq!(
            file.sign("1", BODY),
            secret(b"callback secret").sign("1", BODY)
        );
    }

    #[test]
    fn accepts_fresh_refuses_stale_tampered_and_replayed() {
        let s = secret(b"callback secret");
        let now = 1_672_527_599;
        let mac = s.sign("1672527599", BODY);
        let mut guard = ReplayGuard::new();
        let v = |ts: &str, mac: &str, body: &[u8], now: i64, g: &mut ReplayGuard| {
            verify(&s, DEST, ts, mac, body, now, g)
        };
        assert_eq!(v("1672527599", &mac, BODY, now, &mut guard), Ok(()));
        assert_eq!(
            v("1672527599", &mac, BODY, now + 10, &mut guard),
            Err(CallbackError::Replay)
        );
        assert_eq!(
            v("1672527599", &mac, BODY, now + 301, &mut guard),
            Err(CallbackError::Stale)
        );
        let mut tampered = BODY.to_vec();
        tampered.push(b' ');
        assert_eq!(
            v("1672527599", &mac, &tampered, now, &mut ReplayGuard::new()),
            Err(CallbackError::BadMac)
        );
        assert_eq!(
            v(
                "1672527599",
                &mac.to_uppercase(),
                BODY,
                now,
                &mut ReplayGuard::new()
            ),
            Err(CallbackError::BadMacFormat)
        );
        assert_eq!(
            v("-5", &mac, BODY, now, &mut ReplayGuard::new()),
            Err(CallbackError::BadTimestamp)
        );
        assert_eq!(
            v("1672527999", &mac, BODY, now, &mut ReplayGuard::new()),
            Err(CallbackError::Stale),
            "too far in the future"
        );
        // The headers alone decide the format and the window, before any body.
        assert_eq!(check_headers("1672527599", &mac, now), Ok(1_672_527_599));
        assert_eq!(
            check_headers("1672527599", "ab", now),
            Err(CallbackError::BadMacFormat)
        );
    }

    #[test]
    fn guard_forgets_entries_outside_the_window() {
        let s = secret(b"k");
        let mut guard = ReplayGuard::new();
        let mac = s.sign("1000", b"a");
        verify(&s, DEST, "1000", &mac, b"a", 1000, &mut guard).expect("fresh");
        let mac2 = s.sign("2000", b"b");
        verify(&s, DEST, "2000", &mac2, b"b", 2000, &mut guard).expect("fresh");
        assert_eq!(guard.len(), 1);
    }

    #[test]
    fn notice_merges_both_id_lists_and_refuses_bad_ids() {
        let a = "f39ab143-d91a-474a-b69f-b00f1a1873c2";
        let b = "0b4e7a6c-3f1d-4c8e-9a2b-5d6e7f8a9b0c";
        let body = format!(
            r#"{{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions",
            "submissionIds":["{}","{a}"],"submissions":[{{"destinationId":"d","submissionId":"{a}","caseId":"c"}}]}}"#,
            b.to_ascii_uppercase()
        );
        let n = parse_notice(body.as_bytes()).expect("valid");
        assert_eq!(n.submission_ids, [b, a]);
        assert_eq!(
            parse_notice(br#"{"submissionIds":["../x"]}"#),
            Err(NoticeError::BadId)
        );
        assert_eq!(parse_notice(b"[1]"), Err(NoticeError::Shape));
        assert_eq!(
            parse_notice(br#"{"submissionIds":[],"submissionIds":[]}"#),
            Err(NoticeError::Shape),
            "duplicate members"
        );
        assert_eq!(
            parse_notice(b"{}").expect("empty").submission_ids,
            Vec::<String>::new()
        );
        let many: Vec<String> = (0..1001)
            .map(|i| format!("00000000-0000-4000-8000-{i:012}"))
            .collect();
        let body = serde_json::json!({ "submissionIds": many }).to_string();
        assert_eq!(parse_notice(body.as_bytes()), Err(NoticeError::TooMany));
    }
}
