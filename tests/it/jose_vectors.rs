//! Fixed regression vectors from an independent implementation (jwcrypto 1.6.1), committed
//! under `tests/it/data/jose/` with TEST-ONLY keys: a `zip: DEF` metadata JWE and the
//! `submit-submission` SET whose authentication tag is that JWE's part 5.

use std::path::PathBuf;

use poststelle::config::JoseLimits;
use poststelle::fitconnect::keys::validate_public_key;
use poststelle::fitconnect::metadata::MetadataValidator;
use poststelle::fitconnect::set::{self, StaticKeys};
use poststelle::jose::jwe::CompactJwe;
use poststelle::jose::jwk::KeyUse;
use poststelle::jose::x509::TrustPolicy;
use poststelle::jose::{DecryptionKey, Jwk, KeyRing};

/// Inside the validity of the committed self-signed certificates (generated 2026-11-23).
const CERT_NOW: i64 = 1_795_400_000;
/// Shortly after the fixed SET's `iat`.
const SET_NOW: i64 = 1_763_856_060;

fn data(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/data/jose")
        .join(name);
    std::fs::read_to_string(&path).expect("committed vector")
}

fn jwk(name: &str) -> Jwk {
    Jwk::from_json(&data(name)).expect("JWK")
}

#[test]
fn jwcrypto_deflated_metadata_jwe_decrypts_to_the_fixed_plaintext() {
    let ring = KeyRing::from(
        DecryptionKey::from_jwk(&jwk("TEST-ONLY-enc.private.jwk.json")).expect("key"),
    );
    let token = data("metadata.jwcrypto-zip.jwe");
    let jwe = CompactJwe::parse(token.trim(), &JoseLimits::default()).expect("parse");
    assert!(jwe.header().deflated);
    assert_eq!(jwe.header().cty.as_deref(), Some("application/json"));
    let plain = jwe.decrypt(&ring, &JoseLimits::default()).expect("decrypt");
    assert_eq!(plain.bytes(), data("metadata.plain.json").as_bytes());
    let metadata = MetadataValidator::new()
        .validate(plain.bytes())
        .expect("valid metadata");
    assert_eq!(metadata.version, "1.0.0");
}

#[test]
fn jwcrypto_submit_submission_set_verifies_and_matches_the_jwe_tag() {
    let signer = jwk("TEST-ONLY-sig.public.jwk.json");
    let keys = StaticKeys {
        delivery_service: vec![(
            "https://submission-api-testing.fit-connect.fitko.dev".into(),
            signer.kid.clone().expect("kid"),
            signer.public_key().expect("key"),
        )],
        destinations: Vec::new(),
    };
    let verified = set::verify(
        data("submit-submission.jwcrypto.set").trim(),
        &keys,
        &JoseLimits::default(),
        SET_NOW,
    )
    .expect("SET verifies");
    let token = data("metadata.jwcrypto-zip.jwe");
    let jwe = CompactJwe::parse(token.trim(), &JoseLimits::default()).expect("parse");
    assert_eq!(
        verified.authentication_tags().expect("tags").metadata,
        jwe.authentication_tag()
    );
    assert_eq!(verified.txn, "case:e89e107e-ed79-40e6-ad34-4e770f9df263");
}

#[test]
fn committed_public_keys_follow_the_fitconnect_rules() {
    let policy = TrustPolicy::dangerous_self_signed();
    validate_public_key(
        &jwk("TEST-ONLY-enc.public.jwk.json"),
        KeyUse::Encryption,
        &policy,
        CERT_NOW,
    )
    .expect("enc");
    validate_public_key(
        &jwk("TEST-ONLY-sig.public.jwk.json"),
        KeyUse::Signature,
        &policy,
        CERT_NOW,
    )
    .expect("sig");
}
