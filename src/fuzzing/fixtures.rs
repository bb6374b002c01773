//! What the targets share: the project's own test keys (`test-vectors/keys`, TEST ONLY), the
//! identifiers of the test-vector suite, and a cache of PS512 signatures (RSA-4096 signing
//! costs milliseconds; libFuzzer repeats similar inputs, so signing inputs recur).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::jose::{DecryptionKey, Jwk, KeyRing, RsaPublicKey, SigningKey};

pub(crate) use crate::vectors::bless::{
    CASE_ID, DELIVERY_SERVICE_ISS, DESTINATION_ID, NOW, SUBMISSION_ID,
};

/// The suite's keys, loaded once.
pub(crate) struct Keys {
    /// The destination's decryption key ring (one key).
    pub(crate) decryption: KeyRing,
    /// Its public half and kid, for encrypting.
    pub(crate) enc_public: RsaPublicKey,
    /// The kid of the encryption key.
    pub(crate) enc_kid: String,
    /// The delivery service's SET signing key.
    pub(crate) delivery: SigningKey,
    /// The destination's SET signing key.
    pub(crate) destination: SigningKey,
    /// A key nobody trusts.
    pub(crate) unrelated: SigningKey,
}

fn jwk(text: &str) -> Jwk {
    Jwk::from_json(text).expect("committed test key parses")
}

/// The keys of `test-vectors/keys`.
pub(crate) fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let enc = DecryptionKey::from_jwk(&jwk(include_str!(
            "../../test-vectors/keys/destination-encryption.private.jwk.json"
        )))
        .expect("committed test key is a decryption key");
        let sig = |text: &str| {
            SigningKey::from_jwk(&jwk(text)).expect("committed test key is a signing key")
        };
        Keys {
            enc_public: enc.public_key().clone(),
            enc_kid: enc.kid().to_owned(),
            decryption: KeyRing::from(enc),
            delivery: sig(include_str!(
                "../../test-vectors/keys/delivery-service.private.jwk.json"
            )),
            destination: sig(include_str!(
                "../../test-vectors/keys/destination-signing.private.jwk.json"
            )),
            unrelated: sig(include_str!(
                "../../test-vectors/keys/unrelated-signing.private.jwk.json"
            )),
        }
    })
}

/// Which of the suite's signing keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Signer {
    /// The delivery service.
    Delivery,
    /// The destination.
    Destination,
    /// Nobody trusted.
    Unrelated,
}

impl Signer {
    /// The key.
    pub(crate) fn key(self) -> &'static SigningKey {
        let k = keys();
        match self {
            Self::Delivery => &k.delivery,
            Self::Destination => &k.destination,
            Self::Unrelated => &k.unrelated,
        }
    }
}

/// Entries the signature cache holds before it is emptied.
const SIGNATURE_CACHE: usize = 4096;

/// A compact PS512 JWS over exactly these header and payload bytes, signed by `signer`.
pub(crate) fn sign_compact(signer: Signer, header: &[u8], payload: &[u8]) -> String {
    type Cache = Mutex<HashMap<(Signer, String), String>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let mut input = crate::jose::base64url::encode(header);
    input.push('.');
    crate::jose::base64url::encode_into(payload, &mut input);
    let cache = CACHE.get_or_init(Cache::default);
    let key = (signer, input);
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return hit;
    }
    let signature = signer.key().sign_ps512(key.1.as_bytes());
    let mut token = key.1.clone();
    token.push('.');
    crate::jose::base64url::encode_into(&signature, &mut token);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= SIGNATURE_CACHE {
            c.clear();
        }
        c.insert(key, token.clone());
    }
    token
}

/// A capture as the suite's delivery service hands it over at [`NOW`]: the submission JSON,
/// the attachment JWEs, the case event log and the service's JWKS.
pub(crate) fn capture(
    submission: serde_json::Value,
    attachments: std::collections::BTreeMap<String, String>,
    event_log: Vec<String>,
) -> crate::fitconnect::captured::CapturedSubmission {
    use crate::fitconnect::captured::{ApiProfile, CaptureInfo, CapturedSubmission};
    CapturedSubmission {
        submission,
        attachments,
        events: serde_json::json!({ "eventLog": event_log }),
        service_jwks: serde_json::from_str(include_str!(
            "../../test-vectors/keys/delivery-service.jwks.json"
        ))
        .expect("committed JWKS is JSON"),
        info: CaptureInfo {
            issuer: DELIVERY_SERVICE_ISS.to_owned(),
            captured_at: NOW,
            profile: ApiProfile::V1,
        },
    }
}
