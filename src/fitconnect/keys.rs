//! FIT-Connect rules for public keys (routing-api 2.0.0 JWK schema and the crypto guidelines),
//! and generation of self-signed test key pairs.
//!
//! A destination public key is accepted only if: `kty` RSA; `alg` and `key_ops` match its use
//! (`RSA-OAEP-256`/`["wrapKey"]` or `PS512`/`["verify"]`); `e` is `AQAB`; the modulus has 4096
//! bits; `kid` has 8–64 characters; no private members; `x5c` is present, its leaf key equals
//! the JWK and the chain validates against the trust anchors (see [`crate::jose::x509`]).

use serde::Deserialize;

use crate::jose::jwk::{self, Jwk, JwkError, KeyUse, RsaPublicKey};
use crate::jose::x509::{self, CertError, TrustPolicy, VerifiedChain};

/// Exact modulus size FIT-Connect requires.
pub const RSA_BITS: usize = 4096;

/// Why a public key is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The JWK itself is unusable.
    #[error(transparent)]
    Jwk(#[from] JwkError),
    /// A FIT-Connect key rule is violated.
    #[error("public key violates the FIT-Connect rule: {rule}")]
    Rule {
        /// The rule, in words.
        rule: &'static str,
    },
    /// The certificate chain is not acceptable.
    #[error(transparent)]
    Certificate(#[from] CertError),
}

fn rule(rule: &'static str) -> PublicKeyError {
    PublicKeyError::Rule { rule }
}

/// A public key that passed every FIT-Connect rule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidatedPublicKey {
    /// Key id.
    pub kid: String,
    /// What it is for.
    pub key_use: KeyUse,
    /// The key.
    pub key: RsaPublicKey,
    /// The validated `x5c` path, for the revocation check (empty for a pinned or a dangerous
    /// self-signed certificate).
    pub chain: VerifiedChain,
}

/// Checks a public JWK against the FIT-Connect rules at `now` (Unix seconds).
///
/// # Errors
/// The first violated rule.
pub fn validate_public_key(
    jwk: &Jwk,
    key_use: KeyUse,
    policy: &TrustPolicy,
    now: i64,
) -> Result<ValidatedPublicKey, PublicKeyError> {
    let (kid, key) = key_rules(jwk, key_use)?;
    let x5c = jwk.x5c.as_deref().unwrap_or_default();
    let chain = x509::verify_chain(x5c, &key, key_use, policy, now)?;
    Ok(ValidatedPublicKey {
        kid,
        key_use,
        key,
        chain,
    })
}

/// The reply key a sender names in `replyChannel.fitConnect.encryptionPublicKey`: the same
/// rules as a destination's encryption key except the certificate — metadata 2.0.0
/// (`replyEncryptionKey`) requires no `x5c`, and the key is the sender's own, carried inside
/// the end-to-end encrypted, hash-checked metadata. Returns its kid and key.
///
/// # Errors
/// The first violated rule.
pub fn validate_reply_key(jwk: &Jwk) -> Result<(String, RsaPublicKey), PublicKeyError> {
    key_rules(jwk, KeyUse::Encryption)
}

/// The FIT-Connect rules on the JWK itself (everything but the certificate chain).
fn key_rules(jwk: &Jwk, key_use: KeyUse) -> Result<(String, RsaPublicKey), PublicKeyError> {
    if jwk.kty != "RSA" {
        return Err(rule("kty must be RSA"));
    }
    if [&jwk.d, &jwk.p, &jwk.q, &jwk.dp, &jwk.dq, &jwk.qi]
        .iter()
        .any(|m| m.is_some())
    {
        return Err(rule("a public key must not carry private members"));
    }
    if jwk.alg.as_deref() != Some(key_use.alg()) {
        return Err(match key_use {
            KeyUse::Encryption => rule("alg must be RSA-OAEP-256"),
            KeyUse::Signature => rule("alg must be PS512"),
        });
    }
    let op = key_use.operation(false);
    if jwk.key_ops.as_deref() != Some(&[op.to_owned()][..]) {
        return Err(match key_use {
            KeyUse::Encryption => rule("key_ops must be [\"wrapKey\"]"),
            KeyUse::Signature => rule("key_ops must be [\"verify\"]"),
        });
    }
    if jwk
        .key_use
        .as_deref()
        .is_some_and(|u| u != key_use.jwk_use())
    {
        return Err(rule("use does not match the key's purpose"));
    }
    let kid = jwk.kid.clone().ok_or_else(|| rule("kid is required"))?;
    if !(8..=64).contains(&kid.chars().count()) {
        return Err(rule("kid must have 8 to 64 characters"));
    }
    if jwk.e.as_deref() != Some("AQAB") {
        return Err(rule("e must be AQAB"));
    }
    let key = jwk.public_key()?;
    if key.bits() != RSA_BITS {
        return Err(rule("modulus must have 4096 bits"));
    }
    Ok((kid, key))
}

/// A JWK Set (`{"keys": […]}`).
#[derive(Debug, Deserialize)]
#[non_exhaustive]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses a JWKS.
    ///
    /// # Errors
    /// [`JwkError::NotJson`] with the position.
    pub fn from_json(text: &str) -> Result<Self, JwkError> {
        serde_json::from_str(text).map_err(|e| JwkError::NotJson {
            line: e.line(),
            column: e.column(),
        })
    }

    /// Serializes public keys as a JWKS.
    #[must_use]
    pub fn to_json(keys: &[&Jwk]) -> String {
        serde_json::json!({ "keys": keys }).to_string()
    }
}

/// A generated test key pair: private JWK (with x5c), public JWK, PKCS#8 PEM.
pub struct TestKeyPair {
    /// Private JWK.
    pub private_jwk: Jwk,
    /// Public JWK (FIT-Connect shape).
    pub public_jwk: Jwk,
    /// Private key as PKCS#8 PEM.
    pub pkcs8_pem: zeroize::Zeroizing<String>,
}

/// Generates an RSA-4096 key pair for `key_use` with a self-signed certificate in `x5c`
/// (valid from one day before `now` for two years). For sandbox and tests only: the
/// certificate is refused unless self-signed keys are explicitly allowed.
///
/// # Errors
/// [`PublicKeyError`] if generation or certificate creation fails.
pub fn generate_test_key_pair(key_use: KeyUse, now: i64) -> Result<TestKeyPair, PublicKeyError> {
    let mut generated = jwk::generate(key_use, None)?;
    let kid = generated
        .private_jwk
        .kid
        .clone()
        .ok_or(JwkError::MissingKid)?;
    let name = match key_use {
        KeyUse::Encryption => "poststelle test encryption key",
        KeyUse::Signature => "poststelle test signing key",
    };
    let cert = x509::self_signed(&generated.pkcs8_der, key_use, name, now, 730)?;
    generated.private_jwk.x5c = Some(vec![cert.clone()]);
    let public_jwk = generated.public.to_jwk(&kid, key_use, Some(vec![cert]));
    Ok(TestKeyPair {
        private_jwk: std::mem::take(&mut generated.private_jwk),
        public_jwk,
        pkcs8_pem: std::mem::take(&mut generated.pkcs8_pem),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_pass_only_with_dangerous_self_signed() {
        let now = 1_700_000_000;
        let pair = generate_test_key_pair(KeyUse::Encryption, now).expect("generate");
        let dangerous = TrustPolicy::dangerous_self_signed();
        let ok = validate_public_key(&pair.public_jwk, KeyUse::Encryption, &dangerous, now)
            .expect("valid with dangerous switch");
        assert_eq!(Some(ok.kid), pair.public_jwk.kid.clone());
        assert_eq!(
            validate_public_key(
                &pair.public_jwk,
                KeyUse::Encryption,
                &TrustPolicy::default(),
                now
            ),
            Err(PublicKeyError::Certificate(CertError::SelfSigned))
        );
        // Wrong use: the certificate has keyEncipherment only and alg is RSA-OAEP-256.
        assert!(validate_public_key(&pair.public_jwk, KeyUse::Signature, &dangerous, now).is_err());
        // Expired two years later.
        assert_eq!(
            validate_public_key(
                &pair.public_jwk,
                KeyUse::Encryption,
                &dangerous,
                now + 800 * 86_400
            ),
            Err(PublicKeyError::Certificate(CertError::OutsideValidity {
                index: 0
            }))
        );
        // The private JWK is not a public key.
        assert!(matches!(
            validate_public_key(&pair.private_jwk, KeyUse::Encryption, &dangerous, now),
            Err(PublicKeyError::Rule { .. })
        ));
    }
}
