//! Strict JOSE: compact JWE (RSA-OAEP-256 + A256GCM) and JWS (PS512) on aws-lc-rs.
//!
//! Layer L1: pure and synchronous, no I/O, no logging. Everything outside the FIT-Connect
//! profile is a precise error; secrets live in aws-lc-rs key objects or `Zeroizing` buffers.

pub mod base64url;
mod header;
mod inflate;
pub mod jwe;
pub mod jwe_stream;
pub mod jwk;
pub mod jws;
pub mod keyring;
mod rsa_der;
pub mod x509;

pub use jwe::{CompactJwe, JweError, JweHeader, Plaintext};
pub use jwe_stream::{
    Chunked, JweSource, StreamError, StreamedPlaintext, authentication_tag, decrypt_seekable,
    decrypt_seekable_tagged,
};
pub use jwk::{DecryptionKey, Jwk, JwkError, KeyUse, RsaPublicKey, SigningKey};
pub use jws::{CompactJws, JwsError, VerifiedJws};
pub use keyring::KeyRing;

#[cfg(test)]
pub(crate) mod test_keys {
    //! RSA-4096 test keys, generated once per test process (generation takes about a second).
    use std::sync::OnceLock;

    use super::jwk::{self, DecryptionKey, KeyUse, RsaPublicKey, SigningKey};
    use super::keyring::KeyRing;

    struct Enc(KeyRing, RsaPublicKey, String);
    struct Sig(SigningKey);

    pub(crate) fn encryption() -> (&'static KeyRing, &'static RsaPublicKey, &'static str) {
        static KEY: OnceLock<Enc> = OnceLock::new();
        let k = KEY.get_or_init(|| {
            let g = jwk::generate(KeyUse::Encryption, None).expect("keygen");
            let key = DecryptionKey::from_jwk(&g.private_jwk).expect("own key");
            let kid = key.kid().to_owned();
            Enc(KeyRing::from(key), g.public.clone(), kid)
        });
        (&k.0, &k.1, &k.2)
    }

    pub(crate) fn signing() -> &'static SigningKey {
        static KEY: OnceLock<Sig> = OnceLock::new();
        &KEY.get_or_init(|| {
            let g = jwk::generate(KeyUse::Signature, Some("test-signing-key")).expect("keygen");
            Sig(SigningKey::from_jwk(&g.private_jwk).expect("own key"))
        })
        .0
    }
}
