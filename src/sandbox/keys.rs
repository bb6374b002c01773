//! Key material of the sandbox: its own PS512 key and each destination's key pairs.
//!
//! Keys are loaded from the configured files or, when absent, generated (RSA-4096 with a
//! self-signed `x5c`, via `jose`) and written as private JWKs under
//! `<data_dir>/keys/` so that a vendor's subscriber can decrypt and sign with them. Keys are
//! files even with `--ephemeral` (which only keeps the database in memory): a subscriber needs
//! the private halves. The sandbox itself never decrypts: it keeps
//! only the public half of each encryption key.

use std::path::{Path, PathBuf};

use crate::jose::jwk::{self, DecryptionKey, Jwk, KeyUse, RsaPublicKey, SigningKey};
use crate::jose::x509;

/// Why key material could not be prepared.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key file holds no usable key of the expected kind.
    #[error("{path}: {source}")]
    Jwk {
        /// The file.
        path: PathBuf,
        /// Why the key was refused.
        source: jwk::JwkError,
    },
    /// Generating a key or its certificate failed.
    #[error("key generation failed")]
    Generation,
}

/// The public half of a key as published (JWK with `kid`, `alg`, `key_ops`, `x5c`).
#[derive(Debug)]
pub struct PublicKey {
    /// Key id.
    pub kid: String,
    /// The key itself (for SET verification).
    pub key: RsaPublicKey,
    /// The public JWK as served.
    pub jwk: serde_json::Value,
}

/// A signing key plus its published public half.
#[derive(Debug)]
pub struct SigningPair {
    /// The private key.
    pub private: SigningKey,
    /// The public half.
    pub public: PublicKey,
}

fn read_jwk(path: &Path) -> Result<Option<Jwk>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Jwk::from_json(&text)
            .map(Some)
            .map_err(|source| KeyError::Jwk {
                path: path.to_owned(),
                source,
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn write_private(path: &Path, jwk: &Jwk) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    // 0600 from creation, atomic replace, never through a symlink.
    let text = zeroize::Zeroizing::new(jwk.to_json());
    crate::private_file::write(path, text.as_bytes()).map_err(io)
}

/// Generates a key with a self-signed certificate in `x5c`.
fn generate(key_use: KeyUse, common_name: &str, now: i64) -> Result<Jwk, KeyError> {
    let mut generated = jwk::generate(key_use, None).map_err(|_| KeyError::Generation)?;
    let cert = x509::self_signed(&generated.pkcs8_der, key_use, common_name, now, 365)
        .map_err(|_| KeyError::Generation)?;
    generated.private_jwk.x5c = Some(vec![cert]);
    Ok(std::mem::take(&mut generated.private_jwk))
}

fn load_or_generate(
    path: &Path,
    key_use: KeyUse,
    common_name: &str,
    now: i64,
) -> Result<Jwk, KeyError> {
    if let Some(jwk) = read_jwk(path)? {
        return Ok(jwk);
    }
    let jwk = generate(key_use, common_name, now)?;
    write_private(path, &jwk)?;
    Ok(jwk)
}

fn public_of(jwk: &Jwk, key_use: KeyUse, path: &Path) -> Result<PublicKey, KeyError> {
    let err = |source| KeyError::Jwk {
        path: path.to_owned(),
        source,
    };
    let key = jwk.public_key().map_err(err)?;
    let kid = jwk.kid.clone().unwrap_or_else(|| key.thumbprint());
    let public = key.to_jwk(&kid, key_use, jwk.x5c.clone());
    let value = serde_json::from_str(&public.to_json()).expect("a JWK is JSON");
    Ok(PublicKey {
        kid,
        key,
        jwk: value,
    })
}

/// Loads or generates (and writes) a PS512 signing pair at `path`.
pub(crate) fn signing_pair(
    path: &Path,
    common_name: &str,
    now: i64,
) -> Result<SigningPair, KeyError> {
    let jwk = load_or_generate(path, KeyUse::Signature, common_name, now)?;
    let private = SigningKey::from_jwk(&jwk).map_err(|source| KeyError::Jwk {
        path: path.to_owned(),
        source,
    })?;
    let public = public_of(&jwk, KeyUse::Signature, path)?;
    Ok(SigningPair { private, public })
}

/// Reads the private RSA-OAEP-256 key at `path` (written by [`encryption_public`] at start).
/// Held only while one reply is opened (see `sandbox::replies`), never kept.
pub(crate) fn decryption_key(path: &Path) -> Result<DecryptionKey, KeyError> {
    let jwk = read_jwk(path)?.ok_or_else(|| KeyError::Io {
        path: path.to_owned(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })?;
    DecryptionKey::from_jwk(&jwk).map_err(|source| KeyError::Jwk {
        path: path.to_owned(),
        source,
    })
}

/// Loads or generates (and writes) an RSA-OAEP-256 key at `path`; keeps only its public half.
pub(crate) fn encryption_public(
    path: &Path,
    common_name: &str,
    now: i64,
) -> Result<PublicKey, KeyError> {
    let jwk = load_or_generate(path, KeyUse::Encryption, common_name, now)?;
    // Loaded as a decryption key once, so a wrong or inconsistent file fails at start-up
    // rather than at the vendor's first decryption.
    DecryptionKey::from_jwk(&jwk).map_err(|source| KeyError::Jwk {
        path: path.to_owned(),
        source,
    })?;
    public_of(&jwk, KeyUse::Encryption, path)
}
