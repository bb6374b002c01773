//! Keys from outside: JWK, JWKS (the delivery service's), x5c chains and PKCS#8 PEM.

use serde_json::Value;

use super::fixtures::{DELIVERY_SERVICE_ISS, NOW};
use super::input::Input;
use crate::fitconnect::keys::{Jwks, validate_public_key};
use crate::jose::x509::{self, TrustPolicy};
use crate::jose::{DecryptionKey, Jwk, KeyUse, RsaPublicKey, SigningKey};

const USES: [KeyUse; 2] = [KeyUse::Encryption, KeyUse::Signature];

/// The committed public JWKs (with their self-signed x5c), valid at the suite's "now".
const PUBLIC: [(&str, KeyUse); 2] = [
    (
        include_str!("../../test-vectors/keys/destination-encryption.public.jwk.json"),
        KeyUse::Encryption,
    ),
    (
        include_str!("../../test-vectors/keys/destination-signing.public.jwk.json"),
        KeyUse::Signature,
    ),
];

/// A thumbprint is the base64url SHA-256 of the canonical members: 43 characters.
fn check_thumbprint(key: &RsaPublicKey) -> String {
    let t = key.thumbprint();
    assert_eq!(t.len(), 43, "thumbprint is not a base64url SHA-256");
    assert_eq!(t, key.thumbprint(), "thumbprint not stable");
    t
}

/// One JWK: `check_use` never panics; its public key's thumbprint survives serialization of
/// the JWK and rebuilding it from the key; a private key built from it has the same public
/// key; a key that passes the FIT-Connect rules is the JWK's key, 4096 bits, with its kid.
fn one_jwk(jwk: &Jwk) {
    for key_use in USES {
        let _ = jwk.check_use(key_use, false);
        let _ = jwk.check_use(key_use, true);
    }
    let Ok(public) = jwk.public_key() else {
        return;
    };
    let t = check_thumbprint(&public);
    let again = Jwk::from_json(&jwk.to_json()).expect("a serialized JWK parses");
    let again = again
        .public_key()
        .expect("the same members give the same key");
    assert_eq!(again, public, "key changed by serialization");
    assert_eq!(check_thumbprint(&again), t);
    for key_use in USES {
        let rebuilt = public.to_jwk("kid", key_use, None);
        assert_eq!(rebuilt.public_key().as_ref(), Ok(&public));
        if let Ok(v) = validate_public_key(jwk, key_use, &TrustPolicy::dangerous_self_signed(), NOW)
        {
            assert_eq!(v.key, public);
            assert_eq!(v.key.bits(), 4096);
            assert_eq!(Some(v.kid), jwk.kid.clone());
        }
    }
    if let Ok(k) = DecryptionKey::from_jwk(jwk) {
        assert_eq!(k.public_key(), &public, "private key of another public key");
    }
    if let Ok(k) = SigningKey::from_jwk(jwk) {
        assert_eq!(k.public_key(), &public, "private key of another public key");
    }
}

/// Key import property, by the first byte: (0) a JWK from JSON text — see `one_jwk`; (1) a
/// JWKS: parsing never panics and the delivery-service keys taken from it are exactly its
/// usable PS512 keys; (2) the committed destination keys with up to four bytes of their
/// leaf certificate changed: validated under the self-signed test policy at the suite's
/// "now", the key passes unchanged and is refused changed; (3) a PKCS#8 PEM private key:
/// never panics, and its public key round-trips like a JWK's.
pub fn jwk(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 4 {
        0 => {
            if let Ok(jwk) = Jwk::from_json(&String::from_utf8_lossy(input.rest())) {
                one_jwk(&jwk);
            }
        }
        1 => jwks(&String::from_utf8_lossy(input.rest())),
        2 => x5c(&mut input),
        _ => {
            let pem = String::from_utf8_lossy(input.rest()).into_owned();
            for k in [
                DecryptionKey::from_pkcs8_pem(&pem, None).map(|k| k.public_key().clone()),
                SigningKey::from_pkcs8_pem(&pem, Some("k")).map(|k| k.public_key().clone()),
            ]
            .into_iter()
            .flatten()
            {
                check_thumbprint(&k);
                one_jwk(&k.to_jwk("k", KeyUse::Signature, None));
            }
        }
    }
}

fn jwks(text: &str) {
    let parsed = Jwks::from_json(text);
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        assert!(parsed.is_err(), "a JWKS parsed from what is not JSON");
        return;
    };
    if let Ok(set) = &parsed {
        for k in &set.keys {
            one_jwk(k);
        }
    }
    let usable: Vec<(String, RsaPublicKey)> = value
        .get("keys")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
        .filter(|k| k.check_use(KeyUse::Signature, false).is_ok())
        .filter_map(|k| Some((k.kid.clone()?, k.public_key().ok()?)))
        .collect();
    match crate::fitconnect::event_log::service_keys(&value, DELIVERY_SERVICE_ISS) {
        Ok(keys) => {
            let got: Vec<(String, RsaPublicKey)> = keys
                .delivery_service
                .into_iter()
                .map(|(iss, kid, key)| {
                    assert_eq!(iss, DELIVERY_SERVICE_ISS);
                    (kid, key)
                })
                .collect();
            assert_eq!(
                got, usable,
                "service keys are not the usable keys of the JWKS"
            );
        }
        Err(_) => assert!(usable.is_empty(), "usable keys, yet the JWKS was refused"),
    }
}

/// Closed finding (jwk target, for the x5c work of issue 19): `x509-parser` ignores the class and
/// the constructed bit of the tags outside the signed TBS part (the Certificate SEQUENCE, the
/// outer signatureAlgorithm SEQUENCE, its OID and NULL, the signature BIT STRING), so a
/// certificate with such a byte changed still validates (test
/// `a_certificate_with_a_changed_tag_outside_its_signed_part_is_refused`). The signed part
/// cannot change, so this is malleability, not forgery. The chain check now refuses any
/// certificate whose outer structure is not exact DER (`x509::outer_is_der`).
const OPEN_UNSIGNED_CERT_BYTES: bool = false;

/// The byte range of the TBS certificate (the signed part) in a certificate's DER: the first
/// element inside the outer SEQUENCE. Definite lengths only (DER).
fn signed_part(der: &[u8]) -> std::ops::Range<usize> {
    let header = |at: usize| -> Option<(usize, usize)> {
        let first = *der.get(at + 1)?;
        if first < 0x80 {
            return Some((2, usize::from(first)));
        }
        let n = usize::from(first & 0x7f);
        let len = der
            .get(at + 2..at + 2 + n)?
            .iter()
            .fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        Some((2 + n, len))
    };
    let Some((outer, _)) = header(0) else {
        return 0..0;
    };
    match header(outer) {
        Some((h, len)) => outer..outer + h + len,
        None => 0..0,
    }
}

fn x5c(input: &mut Input<'_>) {
    let (text, key_use) = *input.pick(&PUBLIC);
    let mut jwk = Jwk::from_json(text).expect("committed key parses");
    let chain = jwk.x5c.clone().expect("committed key has x5c");
    let mut der = crate::jose::base64url::decode_standard(&chain[0]).expect("committed DER");
    let original = der.clone();
    for _ in 0..input.below(5) {
        let (at, x) = (usize::from(input.u16()), input.byte());
        if !der.is_empty() {
            let i = at % der.len();
            der[i] ^= x;
        }
    }
    if input.flag() {
        let keep = usize::from(input.u16()) % (der.len() + 1);
        der.truncate(keep);
    }
    let mut certs = vec![crate::jose::base64url::encode_standard(&der)];
    certs.extend(chain[1..].iter().cloned());
    jwk.x5c = Some(certs.clone());
    let policy = TrustPolicy::dangerous_self_signed();
    let verdict = validate_public_key(&jwk, key_use, &policy, NOW);
    let key = jwk.public_key().expect("committed key");
    let direct = x509::validate_chain(&certs, &key, key_use, &policy, NOW);
    assert_eq!(
        verdict.is_ok(),
        direct.is_ok(),
        "key rules and chain check disagree"
    );
    let signed = signed_part(&original);
    let outside_signed = der.len() == original.len()
        && der
            .iter()
            .zip(&original)
            .enumerate()
            .any(|(i, (a, b))| a != b && !signed.contains(&i));
    if der == original {
        assert!(verdict.is_ok(), "the committed key is refused: {verdict:?}");
    } else if !(outside_signed && OPEN_UNSIGNED_CERT_BYTES) {
        assert!(verdict.is_err(), "a changed certificate is accepted");
    }
    // The same chain for the other use must fail the KeyUsage check, never pass.
    let other = if key_use == KeyUse::Encryption {
        KeyUse::Signature
    } else {
        KeyUse::Encryption
    };
    assert!(x509::validate_chain(&certs, &key, other, &policy, NOW).is_err());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn changed_at(i: usize, x: u8) -> Result<(), x509::CertError> {
        let (text, key_use) = PUBLIC[1];
        let jwk = Jwk::from_json(text).expect("committed key");
        let mut der = crate::jose::base64url::decode_standard(&jwk.x5c.clone().expect("x5c")[0])
            .expect("committed DER");
        der[i] ^= x;
        let certs = vec![crate::jose::base64url::encode_standard(&der)];
        let key = Jwk::from_json(text)
            .expect("key")
            .public_key()
            .expect("key");
        x509::validate_chain(
            &certs,
            &key,
            key_use,
            &TrustPolicy::dangerous_self_signed(),
            NOW,
        )
    }

    #[test]
    fn the_signed_part_is_the_tbs_certificate() {
        let jwk = Jwk::from_json(PUBLIC[1].0).expect("committed key");
        let der = crate::jose::base64url::decode_standard(&jwk.x5c.clone().expect("x5c")[0])
            .expect("committed DER");
        let tbs = signed_part(&der);
        assert_eq!((der[tbs.start], tbs.start), (0x30, 4));
        assert!(
            tbs.end < der.len() && der[tbs.end] == 0x30,
            "signatureAlgorithm follows"
        );
        // A change inside the signed part is refused.
        assert!(changed_at(tbs.start + 20, 0x01).is_err());
    }

    /// Fuzz finding (jwk target, input `2a 6b 86 08 07 00 00 00 00 00 00 00 00 00 80`: the
    /// committed signing key's certificate with its first byte 0x30 changed to 0xb0) — the
    /// chain still validates. Any class or constructed bit of the outer tags is ignored.
    #[test]
    fn a_certificate_with_a_changed_tag_outside_its_signed_part_is_refused() {
        let jwk = Jwk::from_json(PUBLIC[1].0).expect("committed key");
        let der = crate::jose::base64url::decode_standard(&jwk.x5c.clone().expect("x5c")[0])
            .expect("committed DER");
        let tbs = signed_part(&der);
        for (i, x) in [(0, 0x80), (0, 0x20), (tbs.end, 0x80), (tbs.end + 2, 0x80)] {
            assert!(changed_at(i, x).is_err(), "byte {i} ^ {x:#x} accepted");
        }
    }

    /// CI-seed finding (jwk target, 2026-12-05): the signature BIT STRING's count of unused
    /// bits (its first content byte) was not checked, so a certificate with it changed from 0
    /// still validated. The finding's input, and the byte itself.
    #[test]
    fn a_certificate_with_unused_bits_in_its_signature_is_refused() {
        jwk(&[0x02, 0xd4, 0x27, 0xb7, 0x08, 0x01, 0x55]);
        let jwk = Jwk::from_json(PUBLIC[1].0).expect("committed key");
        let der = crate::jose::base64url::decode_standard(&jwk.x5c.clone().expect("x5c")[0])
            .expect("committed DER");
        // The last element of the certificate: `03 82 LL LL 00 <signature>`.
        let unused_bits = der.len() - 512 - 1;
        assert_eq!(der[unused_bits - 4..unused_bits], [0x03, 0x82, 0x02, 0x01]);
        for x in [0x01, 0x07, 0x80] {
            assert!(
                changed_at(unused_bits, x).is_err(),
                "unused bits ^ {x:#x} accepted"
            );
        }
    }
}
