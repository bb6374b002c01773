//! Console sessions: random ids in a cookie, the session table in memory, CSRF tokens.
//!
//! A session id is 32 random bytes from aws-lc-rs (base64url in the cookie). The table is keyed
//! by the SHA-256 of the id, so a lookup's timing says nothing about the stored ids, and a
//! memory dump holds no usable cookie. Each session has its own CSRF token (32 random bytes),
//! compared in constant time. A session ends on logout, after `idle` without a request, or
//! `max_age` after login, whichever comes first; a restart ends all of them (nothing is
//! persisted).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use aws_lc_rs::{digest, rand};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The cookie's name. `__Host-` makes browsers insist on `Secure`, `Path=/` and no `Domain`.
pub(crate) const COOKIE: &str = "__Host-poststelle-console";

/// Most sessions at once; the oldest is dropped for a new one beyond it.
const MAX_SESSIONS: usize = 256;

/// Whom a session belongs to, as the access log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principal(pub(crate) String);

/// A live session, as a request sees it.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    /// Who logged in.
    pub(crate) principal: Principal,
    /// The token every form of this session carries.
    pub(crate) csrf: String,
}

struct Entry {
    session: Session,
    created: Instant,
    last_seen: Instant,
}

/// The session table.
pub(crate) struct Sessions {
    by_hash: HashMap<[u8; 32], Entry>,
    idle: Duration,
    max_age: Duration,
}

fn random_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

fn hash(id: &str) -> [u8; 32] {
    let d = digest::digest(&digest::SHA256, id.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl Sessions {
    /// An empty table with these lifetimes.
    pub(crate) fn new(idle: Duration, max_age: Duration) -> Self {
        Self {
            by_hash: HashMap::new(),
            idle,
            max_age,
        }
    }

    fn live(&self, e: &Entry, now: Instant) -> bool {
        now.duration_since(e.last_seen) < self.idle && now.duration_since(e.created) < self.max_age
    }

    /// Starts a session for `principal`; returns its id (for the cookie), or `None` when the
    /// system's random source fails.
    pub(crate) fn start(&mut self, principal: Principal, now: Instant) -> Option<String> {
        let id = random_token()?;
        let csrf = random_token()?;
        let idle = self.idle;
        let max_age = self.max_age;
        self.by_hash.retain(|_, e| {
            now.duration_since(e.last_seen) < idle && now.duration_since(e.created) < max_age
        });
        if self.by_hash.len() >= MAX_SESSIONS
            && let Some(oldest) = self
                .by_hash
                .iter()
                .min_by_key(|(_, e)| e.last_seen)
                .map(|(k, _)| *k)
        {
            self.by_hash.remove(&oldest);
        }
        self.by_hash.insert(
            hash(&id),
            Entry {
                session: Session { principal, csrf },
                created: now,
                last_seen: now,
            },
        );
        Some(id)
    }

    /// The live session with this id (its idle time restarts), or `None`; an expired one is
    /// removed.
    pub(crate) fn get(&mut self, id: &str, now: Instant) -> Option<Session> {
        let key = hash(id);
        let live = self.by_hash.get(&key).map(|e| self.live(e, now))?;
        if !live {
            self.by_hash.remove(&key);
            return None;
        }
        let entry = self.by_hash.get_mut(&key)?;
        entry.last_seen = now;
        Some(entry.session.clone())
    }

    /// Ends the session with this id (logout).
    pub(crate) fn end(&mut self, id: &str) {
        self.by_hash.remove(&hash(id));
    }
}

/// Whether `presented` is the session's CSRF token (constant time).
pub(crate) fn csrf_matches(session: &Session, presented: Option<&str>) -> bool {
    let Some(presented) = presented else {
        return false;
    };
    let a = digest::digest(&digest::SHA256, presented.as_bytes());
    let b = digest::digest(&digest::SHA256, session.csrf.as_bytes());
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
}

/// The session id from a `Cookie` header, if the console's cookie is in it.
pub(crate) fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then_some(value)
    })
}

/// The `Set-Cookie` value that starts a session.
pub(crate) fn set_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; HttpOnly; Secure; SameSite=Strict")
}

/// The `Set-Cookie` value that removes the cookie (logout).
pub(crate) fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Sessions {
        Sessions::new(Duration::from_secs(60), Duration::from_secs(600))
    }

    #[test]
    fn a_session_lives_until_idle_or_max_age_or_logout() {
        let mut s = table();
        let t0 = Instant::now();
        let id = s.start(Principal("admin".into()), t0).expect("random");
        assert_ne!(
            s.get(&id, t0).expect("live").csrf,
            id,
            "csrf differs from id"
        );
        assert!(s.get(&id, t0 + Duration::from_secs(59)).is_some());
        // Idle time restarted at 59 s: alive at 118 s, dead after 60 s of silence.
        assert!(s.get(&id, t0 + Duration::from_secs(118)).is_some());
        assert!(s.get(&id, t0 + Duration::from_secs(179)).is_none());
        assert!(s.get(&id, t0).is_none(), "removed once expired");

        let id = s.start(Principal("admin".into()), t0).expect("random");
        for k in 1..=11 {
            // Never idle for long, yet ended by the maximum age.
            assert!(s.get(&id, t0 + Duration::from_secs(50 * k)).is_some());
        }
        assert!(
            s.get(&id, t0 + Duration::from_secs(600)).is_none(),
            "max age"
        );

        let id = s.start(Principal("admin".into()), t0).expect("random");
        s.end(&id);
        assert!(s.get(&id, t0).is_none(), "logout");
        assert!(s.get("not-an-id", t0).is_none());
    }

    #[test]
    fn csrf_tokens_must_match_exactly() {
        let mut s = table();
        let now = Instant::now();
        let id = s.start(Principal("admin".into()), now).expect("random");
        let session = s.get(&id, now).expect("live");
        assert!(csrf_matches(&session, Some(&session.csrf.clone())));
        assert!(!csrf_matches(&session, None));
        assert!(!csrf_matches(&session, Some("")));
        assert!(!csrf_matches(&session, Some(&session.csrf[1..])));
    }

    #[test]
    fn the_table_is_bounded() {
        let mut s = table();
        let now = Instant::now();
        let first = s.start(Principal("a".into()), now).expect("random");
        for i in 0..MAX_SESSIONS {
            s.start(
                Principal("a".into()),
                now + Duration::from_millis(i as u64 + 1),
            )
            .expect("random");
        }
        assert_eq!(s.by_hash.len(), MAX_SESSIONS);
        assert!(s.get(&first, now).is_none(), "the oldest made room");
    }

    #[test]
    fn the_cookie_is_found_among_others_and_has_the_flags() {
        assert_eq!(
            cookie_value(&format!("a=b; {COOKIE}=xyz; c=d")),
            Some("xyz")
        );
        assert_eq!(cookie_value(&format!("{COOKIE}=")), None);
        assert_eq!(cookie_value("x-poststelle-console=xyz"), None);
        assert_eq!(
            set_cookie("v"),
            format!("{COOKIE}=v; Path=/; HttpOnly; Secure; SameSite=Strict")
        );
    }
}
