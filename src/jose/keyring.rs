//! The decryption keys a destination holds at once, selected by the JWE `kid`.
//!
//! During key rotation senders may still use the previous encryption key for a while, so a
//! receiver keeps several keys; the ring refuses two keys with the same `kid` because the choice
//! between them would be arbitrary.

use super::jwk::{DecryptionKey, JwkError};

/// A set of private decryption keys, unique by `kid`. Not `Clone` (keys are not).
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<DecryptionKey>,
}

impl KeyRing {
    /// An empty ring.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a key.
    ///
    /// # Errors
    /// [`JwkError::DuplicateKid`] if a key with the same `kid` is already present.
    pub fn insert(&mut self, key: DecryptionKey) -> Result<(), JwkError> {
        if self.get(key.kid()).is_some() {
            return Err(JwkError::DuplicateKid);
        }
        self.keys.push(key);
        Ok(())
    }

    /// The key with this `kid`, if any.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&DecryptionKey> {
        self.keys.iter().find(|k| k.kid() == kid)
    }

    /// The key ids held, in insertion order.
    pub fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.iter().map(DecryptionKey::kid)
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the ring is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

impl From<DecryptionKey> for KeyRing {
    fn from(key: DecryptionKey) -> Self {
        Self { keys: vec![key] }
    }
}
