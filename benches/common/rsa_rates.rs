//! The private-key rates of our JOSE layer (aws-lc) on this machine: RSA-OAEP-4096 unwraps (a
//! JWE of an empty payload: the unwrap and a trivial GCM open) and PS512 signatures. Shared by
//! the JOSE bench (against `openssl speed`) and the gateway bench (its crypto floor).

use std::time::Duration;

use poststelle::config::JoseLimits;
use poststelle::jose::jwe::{self, CompactJwe};
use poststelle::jose::jwk::{self, DecryptionKey, GeneratedKey, KeyUse, SigningKey};
use poststelle::jose::{KeyRing, jws};

/// Freshly generated keys: the encryption pair (with its kid and ring) and a signing key.
pub(crate) struct Keys {
    pub(crate) enc: GeneratedKey,
    pub(crate) kid: String,
    pub(crate) ring: KeyRing,
    pub(crate) sig: SigningKey,
}

impl Keys {
    pub(crate) fn generate() -> Self {
        let enc = jwk::generate(KeyUse::Encryption, None).unwrap();
        let kid = enc.private_jwk.kid.clone().unwrap();
        let ring = KeyRing::from(DecryptionKey::from_jwk(&enc.private_jwk).unwrap());
        let sig = SigningKey::from_jwk(
            &jwk::generate(KeyUse::Signature, Some("bench"))
                .unwrap()
                .private_jwk,
        )
        .unwrap();
        Self {
            enc,
            kid,
            ring,
            sig,
        }
    }

    /// (unwraps, signatures) per second, each measured for `each`: (per CPU second, per
    /// wall-clock second).
    pub(crate) fn rates(&self, each: Duration) -> ((f64, f64), (f64, f64)) {
        let limits = JoseLimits::default();
        let empty = jwe::encrypt(b"", &self.enc.public, &self.kid, None).unwrap();
        let unwraps = super::cpu::rate(each, || {
            let p = CompactJwe::parse(&empty, &limits)
                .unwrap()
                .decrypt(&self.ring, &limits)
                .unwrap();
            assert!(p.bytes().is_empty());
        });
        let signs = super::cpu::rate(each, || {
            let _ = jws::sign(b"{\"events\":{}}", &self.sig, Some("secevent+jwt"));
        });
        (unwraps, signs)
    }
}
