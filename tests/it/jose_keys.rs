//! Test keys for the JOSE and FIT-Connect tests: RSA-4096 pairs generated once per test process
//! (generation costs about a second each), never written to the repository.

use std::sync::OnceLock;

use poststelle::fitconnect::keys::{TestKeyPair, generate_test_key_pair};
use poststelle::jose::jwk::KeyUse;
use poststelle::jose::{DecryptionKey, Jwk, KeyRing, RsaPublicKey, SigningKey};

/// A fixed clock for certificate checks (2026-11-22, inside the generated validity).
pub(crate) fn now() -> i64 {
    static NOW: OnceLock<i64> = OnceLock::new();
    *NOW.get_or_init(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_secs()).expect("time fits"))
            .expect("clock after 1970")
    })
}

pub(crate) fn encryption() -> &'static TestKeyPair {
    static KEY: OnceLock<TestKeyPair> = OnceLock::new();
    KEY.get_or_init(|| generate_test_key_pair(KeyUse::Encryption, now()).expect("keygen"))
}

pub(crate) fn encryption_2() -> &'static TestKeyPair {
    static KEY: OnceLock<TestKeyPair> = OnceLock::new();
    KEY.get_or_init(|| generate_test_key_pair(KeyUse::Encryption, now()).expect("keygen"))
}

pub(crate) fn signing() -> &'static TestKeyPair {
    static KEY: OnceLock<TestKeyPair> = OnceLock::new();
    KEY.get_or_init(|| generate_test_key_pair(KeyUse::Signature, now()).expect("keygen"))
}

pub(crate) fn kid(pair: &TestKeyPair) -> &str {
    pair.public_jwk
        .kid
        .as_deref()
        .expect("generated keys have a kid")
}

pub(crate) fn ring() -> KeyRing {
    KeyRing::from(DecryptionKey::from_jwk(&encryption().private_jwk).expect("own key"))
}

pub(crate) fn enc_public() -> RsaPublicKey {
    encryption().public_jwk.public_key().expect("own key")
}

pub(crate) fn signing_key() -> SigningKey {
    SigningKey::from_jwk(&signing().private_jwk).expect("own key")
}

/// A JWK as JSON text with `key_ops`/`use` removed (josekit wants `encrypt`/`decrypt` there,
/// FIT-Connect uses `wrapKey`/`unwrapKey`; clients strip them the same way).
pub(crate) fn without_ops(jwk: &Jwk) -> String {
    let mut value: serde_json::Value = serde_json::from_str(&jwk.to_json()).expect("JSON");
    let map = value.as_object_mut().expect("object");
    map.remove("key_ops");
    map.remove("use");
    value.to_string()
}
