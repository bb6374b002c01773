//! Named console users (`[console] users_file`): who logged in is who the access log names.
//!
//! # The file
//!
//! One user a line, `NAME:$pbkdf2-sha256$i=ITERATIONS$SALT$HASH` (PHC string format; salt and
//! hash in base64 without padding); empty lines and lines starting with `#` are ignored. Make
//! a line with `poststelle console user NAME` (the password from standard input).
//!
//! - NAME: 1 to 64 of `A-Z a-z 0-9 . _ @ -` (it appears in the access log and the log, so
//!   choose a staff identifier, not a full name); each name once.
//! - PBKDF2-HMAC-SHA256 (aws-lc-rs, already the crate's crypto; no new dependency), at least
//!   [`MIN_ITERATIONS`] iterations (OWASP 2023: 600,000 for PBKDF2-HMAC-SHA256), a salt of at
//!   least 16 bytes, a 32-byte hash.
//!
//! # Verification
//!
//! [`Users::verify`] compares in constant time (`pbkdf2::verify`) and derives a key for
//! unknown names too, so the time of a refusal does not tell whether the name exists. It runs
//! for hundreds of milliseconds by design: call it on a blocking thread. Passwords are never
//! logged, kept or compared as text; errors name the line, never its content.

use std::num::NonZeroU32;

use aws_lc_rs::{pbkdf2, rand};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;

/// Fewest PBKDF2 iterations a line may name.
pub const MIN_ITERATIONS: u32 = 100_000;
/// Most iterations a line may name (a login must not take minutes).
const MAX_ITERATIONS: u32 = 10_000_000;
/// Iterations of the lines [`hash_line`] writes.
pub const DEFAULT_ITERATIONS: u32 = 600_000;
const SCHEME: &str = "$pbkdf2-sha256$";
const HASH_LEN: usize = 32;
const SALT_LEN: usize = 16;
const ALG: pbkdf2::Algorithm = pbkdf2::PBKDF2_HMAC_SHA256;

struct User {
    name: String,
    iterations: NonZeroU32,
    salt: Vec<u8>,
    hash: [u8; HASH_LEN],
}

/// The users of the console, read from the users file.
pub struct Users {
    users: Vec<User>,
    /// Derived against for names that are not in the file (same cost as a real check).
    decoy: User,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("users", &self.users.len())
            .finish_non_exhaustive()
    }
}

/// Whether `name` may be a user name.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

fn parse_line(line: &str) -> Result<User, &'static str> {
    let (name, phc) = line.split_once(':').ok_or("no `NAME:` before the hash")?;
    if !valid_name(name) {
        return Err("the name must be 1 to 64 of A-Z a-z 0-9 . _ @ -");
    }
    let rest = phc
        .strip_prefix(SCHEME)
        .ok_or("the hash must start with $pbkdf2-sha256$")?;
    let mut parts = rest.split('$');
    let iterations = parts
        .next()
        .and_then(|p| p.strip_prefix("i="))
        .and_then(|i| i.parse::<u32>().ok())
        .ok_or("no iteration count (i=N)")?;
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
        return Err("the iteration count must be 100000..=10000000");
    }
    let salt = parts
        .next()
        .and_then(|s| STANDARD_NO_PAD.decode(s).ok())
        .filter(|s| s.len() >= SALT_LEN)
        .ok_or("the salt must be base64 (no padding) of at least 16 bytes")?;
    let hash: [u8; HASH_LEN] = parts
        .next()
        .and_then(|h| STANDARD_NO_PAD.decode(h).ok())
        .and_then(|h| h.try_into().ok())
        .ok_or("the hash must be base64 (no padding) of 32 bytes")?;
    if parts.next().is_some() {
        return Err("too many `$` fields");
    }
    Ok(User {
        name: name.to_owned(),
        iterations: NonZeroU32::new(iterations).ok_or("no iteration count (i=N)")?,
        salt,
        hash,
    })
}

impl Users {
    /// Reads the users file's text.
    ///
    /// # Errors
    /// Every problem, one line each (`line N: what`), never the line's content; also when the
    /// file names no user.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let mut users: Vec<User> = Vec::new();
        let mut errors = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            match parse_line(line) {
                Ok(u) if users.iter().any(|o| o.name == u.name) => {
                    errors.push(format!("line {}: a user of this name came before", n + 1));
                }
                Ok(u) => users.push(u),
                Err(why) => errors.push(format!("line {}: {why}", n + 1)),
            }
        }
        if users.is_empty() && errors.is_empty() {
            errors.push("no user in the file".to_owned());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let decoy = User {
            name: String::new(),
            iterations: users
                .iter()
                .map(|u| u.iterations)
                .max()
                .unwrap_or(NonZeroU32::MIN),
            salt: vec![0; SALT_LEN],
            hash: [0; HASH_LEN],
        };
        Ok(Self { users, decoy })
    }

    /// How many users the file names.
    #[must_use]
    pub fn len(&self) -> usize {
        self.users.len()
    }

    /// Whether the file names no user (never true for a parsed file).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// The user's name when `password` is theirs. Slow by design (see the module doc).
    #[must_use]
    pub fn verify(&self, name: &str, password: &str) -> Option<&str> {
        let user = self.users.iter().find(|u| u.name == name);
        let u = user.unwrap_or(&self.decoy);
        let ok = pbkdf2::verify(ALG, u.iterations, &u.salt, password.as_bytes(), &u.hash).is_ok();
        user.filter(|_| ok).map(|u| u.name.as_str())
    }
}

/// A line of the users file for `name` with `password` (a fresh random salt).
///
/// # Errors
/// The name is not allowed, the password is empty, or the random source failed.
pub fn hash_line(name: &str, password: &str, iterations: u32) -> Result<String, &'static str> {
    if !valid_name(name) {
        return Err("the name must be 1 to 64 of A-Z a-z 0-9 . _ @ -");
    }
    if password.is_empty() {
        return Err("the password is empty");
    }
    let iterations = NonZeroU32::new(iterations.clamp(MIN_ITERATIONS, MAX_ITERATIONS))
        .ok_or("no iteration count")?;
    let mut salt = [0u8; SALT_LEN];
    rand::fill(&mut salt).map_err(|_| "the random source failed")?;
    let mut hash = [0u8; HASH_LEN];
    pbkdf2::derive(ALG, iterations, &salt, password.as_bytes(), &mut hash);
    Ok(format!(
        "{name}:{SCHEME}i={iterations}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(hash)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_line_verifies_and_nothing_else_does() {
        let line = hash_line("m.muster", "geheim 123", MIN_ITERATIONS).expect("line");
        assert!(
            line.starts_with("m.muster:$pbkdf2-sha256$i=100000$"),
            "{line}"
        );
        let other = hash_line("a-b", "anders", MIN_ITERATIONS).expect("line");
        let users = Users::parse(&format!("# Konsole\n\n{line}\n{other}\n")).expect("parse");
        assert_eq!(users.len(), 2);
        assert_eq!(users.verify("m.muster", "geheim 123"), Some("m.muster"));
        assert_eq!(users.verify("a-b", "anders"), Some("a-b"));
        assert_eq!(
            users.verify("m.muster", "anders"),
            None,
            "another's password"
        );
        assert_eq!(users.verify("m.muster", "geheim 12"), None);
        assert_eq!(users.verify("niemand", "geheim 123"), None);
        assert_eq!(users.verify("", ""), None);
    }

    #[test]
    fn bad_lines_are_named_by_number_without_their_content() {
        let good = hash_line("x", "pw", MIN_ITERATIONS).expect("line");
        let weak = good.replace("i=100000", "i=1000");
        let text = format!(
            "{good}\n{good}\nno-colon\nbad name:{}\n{weak}\ny:$pbkdf2-sha256$i=100000$AAAA$AAAA\n",
            good.split_once(':').expect("colon").1
        );
        let errors = Users::parse(&text).expect_err("refused");
        assert_eq!(
            errors,
            [
                "line 2: a user of this name came before",
                "line 3: no `NAME:` before the hash",
                "line 4: the name must be 1 to 64 of A-Z a-z 0-9 . _ @ -",
                "line 5: the iteration count must be 100000..=10000000",
                "line 6: the salt must be base64 (no padding) of at least 16 bytes",
            ]
        );
        assert_eq!(
            Users::parse("# nobody\n").expect_err("empty"),
            ["no user in the file"]
        );
        assert!(hash_line("a:b", "pw", MIN_ITERATIONS).is_err());
        assert!(hash_line("a", "", MIN_ITERATIONS).is_err());
    }
}
