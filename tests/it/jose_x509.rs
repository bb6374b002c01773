//! `x5c` chain validation with a real two-level PKI made by rcgen: trust anchors, CA flags,
//! key usage, validity, signatures and the leaf-key/JWK match.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poststelle::fitconnect::keys::{PublicKeyError, TestKeyPair, validate_public_key};
use poststelle::jose::Jwk;
use poststelle::jose::jwk::KeyUse;
use poststelle::jose::x509::{CertError, TrustPolicy};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, IsCa,
    KeyUsagePurpose,
};

use crate::jose_keys::{self, encryption, signing};

fn rsa_key(bits: aws_lc_rs::rsa::KeySize) -> rcgen::KeyPair {
    use aws_lc_rs::encoding::AsDer as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(bits).expect("keygen");
    let der = pair.as_der().expect("pkcs8");
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_ref().to_vec());
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256).expect("rcgen key")
}

fn key_of(pair: &TestKeyPair) -> rcgen::KeyPair {
    let body: String = pair
        .pkcs8_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(STANDARD.decode(body).expect("pem"));
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA512).expect("rcgen key")
}

fn params(cn: &str, usages: Vec<KeyUsagePurpose>, ca: bool, days_valid: i64) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.key_usages = usages;
    p.is_ca = if ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    let now = time::OffsetDateTime::from_unix_timestamp(jose_keys::now()).expect("time");
    p.not_before = now - time::Duration::days(2);
    p.not_after = now + time::Duration::days(days_valid);
    p
}

struct Pki {
    root: CertifiedIssuer<'static, rcgen::KeyPair>,
}

fn pki(cn: &str) -> Pki {
    let root = CertifiedIssuer::self_signed(
        params(
            cn,
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
            true,
            3650,
        ),
        rsa_key(aws_lc_rs::rsa::KeySize::Rsa2048),
    )
    .expect("root");
    Pki { root }
}

fn leaf(pki: &Pki, pair: &TestKeyPair, usages: Vec<KeyUsagePurpose>, days: i64) -> String {
    let cert = params("destination key", usages, false, days)
        .signed_by(&key_of(pair), &pki.root)
        .expect("leaf");
    STANDARD.encode(cert.der())
}

fn jwk_with(pair: &TestKeyPair, x5c: Vec<String>) -> Jwk {
    let mut value: serde_json::Value =
        serde_json::from_str(&pair.public_jwk.to_json()).expect("JSON");
    value["x5c"] = serde_json::json!(x5c);
    Jwk::from_json(&value.to_string()).expect("JWK")
}

fn check(jwk: &Jwk, anchors: &[&Pki]) -> Result<(), PublicKeyError> {
    let policy = TrustPolicy::with_anchors(anchors.iter().map(|p| p.root.der().to_vec()).collect());
    validate_public_key(jwk, KeyUse::Encryption, &policy, jose_keys::now()).map(|_| ())
}

fn cert_err(e: CertError) -> Result<(), PublicKeyError> {
    Err(PublicKeyError::Certificate(e))
}

#[test]
fn chain_to_a_configured_anchor() {
    let vpki = pki("Test V-PKI Root");
    let leaf = leaf(
        &vpki,
        encryption(),
        vec![KeyUsagePurpose::KeyEncipherment],
        365,
    );
    assert_eq!(
        check(&jwk_with(encryption(), vec![leaf.clone()]), &[&vpki]),
        Ok(())
    );
    let root = STANDARD.encode(vpki.root.der());
    assert_eq!(
        check(&jwk_with(encryption(), vec![leaf.clone(), root]), &[&vpki]),
        Ok(())
    );
    // Without the anchor, or with another one, the same chain is untrusted.
    assert_eq!(
        check(&jwk_with(encryption(), vec![leaf.clone()]), &[]),
        cert_err(CertError::Untrusted)
    );
    let other = pki("Other Root");
    assert_eq!(
        check(&jwk_with(encryption(), vec![leaf]), &[&other]),
        cert_err(CertError::Untrusted)
    );
}

#[test]
fn leaf_key_usage_must_fit_the_use() {
    let vpki = pki("Test V-PKI Root");
    let leaf = leaf(
        &vpki,
        encryption(),
        vec![KeyUsagePurpose::DigitalSignature],
        365,
    );
    assert_eq!(
        check(&jwk_with(encryption(), vec![leaf]), &[&vpki]),
        cert_err(CertError::KeyUsage {
            required: "keyEncipherment"
        })
    );
}

#[test]
fn expired_leaf() {
    let vpki = pki("Test V-PKI Root");
    let leaf = leaf(
        &vpki,
        encryption(),
        vec![KeyUsagePurpose::KeyEncipherment],
        -1,
    );
    assert_eq!(
        check(&jwk_with(encryption(), vec![leaf]), &[&vpki]),
        cert_err(CertError::OutsideValidity { index: 0 })
    );
}

#[test]
fn mismatched_x5c_leaf_key() {
    // The certificate belongs to the signing key, the JWK is the encryption key.
    let vpki = pki("Test V-PKI Root");
    let leaf = leaf(
        &vpki,
        signing(),
        vec![KeyUsagePurpose::KeyEncipherment],
        365,
    );
    assert_eq!(
        check(&jwk_with(encryption(), vec![leaf]), &[&vpki]),
        cert_err(CertError::KeyMismatch)
    );
}

#[test]
fn tampered_leaf_signature() {
    let vpki = pki("Test V-PKI Root");
    let mut der = STANDARD
        .decode(leaf(
            &vpki,
            encryption(),
            vec![KeyUsagePurpose::KeyEncipherment],
            365,
        ))
        .expect("b64");
    let last = der.len() - 1;
    der[last] ^= 1;
    assert_eq!(
        check(
            &jwk_with(encryption(), vec![STANDARD.encode(der)]),
            &[&vpki]
        ),
        cert_err(CertError::BadSignature { index: 0 })
    );
}

#[test]
fn intermediate_that_is_not_a_ca() {
    let vpki = pki("Test V-PKI Root");
    let not_ca_key = rsa_key(aws_lc_rs::rsa::KeySize::Rsa2048);
    let not_ca = CertifiedIssuer::signed_by(
        params(
            "not a CA",
            vec![KeyUsagePurpose::DigitalSignature],
            false,
            365,
        ),
        not_ca_key,
        &vpki.root,
    )
    .expect("intermediate");
    let leaf = params(
        "destination key",
        vec![KeyUsagePurpose::KeyEncipherment],
        false,
        365,
    )
    .signed_by(&key_of(encryption()), &not_ca)
    .expect("leaf");
    let x5c = vec![STANDARD.encode(leaf.der()), STANDARD.encode(not_ca.der())];
    assert_eq!(
        check(&jwk_with(encryption(), x5c), &[&vpki]),
        cert_err(CertError::NotCa { index: 1 })
    );
}

#[test]
fn garbage_x5c_entries() {
    let vpki = pki("Test V-PKI Root");
    assert_eq!(
        check(&jwk_with(encryption(), vec!["***".into()]), &[&vpki]),
        cert_err(CertError::Base64 { index: 0 })
    );
    assert_eq!(
        check(
            &jwk_with(encryption(), vec![STANDARD.encode(b"not DER")]),
            &[&vpki]
        ),
        cert_err(CertError::Parse { index: 0 })
    );
    assert_eq!(
        check(&jwk_with(encryption(), vec![]), &[&vpki]),
        cert_err(CertError::Missing)
    );
    let many = vec![STANDARD.encode(b"x"); 9];
    assert_eq!(
        check(&jwk_with(encryption(), many), &[&vpki]),
        cert_err(CertError::TooLong { max: 8 })
    );
}

#[test]
fn fitconnect_key_rules() {
    let vpki = pki("Test V-PKI Root");
    let leaf = leaf(
        &vpki,
        encryption(),
        vec![KeyUsagePurpose::KeyEncipherment],
        365,
    );
    let base: serde_json::Value =
        serde_json::from_str(&jwk_with(encryption(), vec![leaf]).to_json()).expect("JSON");
    let rule = |key: &str, value: serde_json::Value| {
        let mut v = base.clone();
        v[key] = value;
        match check(&Jwk::from_json(&v.to_string()).expect("JWK"), &[&vpki]) {
            Err(PublicKeyError::Rule { rule }) => rule,
            other => panic!("{key}: expected a rule violation, got {other:?}"),
        }
    };
    assert_eq!(rule("e", "Aw".into()), "e must be AQAB");
    assert_eq!(
        rule("kid", "short".into()),
        "kid must have 8 to 64 characters"
    );
    assert_eq!(
        rule("kid", "k".repeat(65).into()),
        "kid must have 8 to 64 characters"
    );
    assert_eq!(
        rule("key_ops", serde_json::json!(["encrypt"])),
        "key_ops must be [\"wrapKey\"]"
    );
    assert_eq!(
        rule("key_ops", serde_json::json!(["wrapKey", "verify"])),
        "key_ops must be [\"wrapKey\"]"
    );
    assert_eq!(rule("alg", "RSA-OAEP".into()), "alg must be RSA-OAEP-256");
    assert_eq!(rule("kty", "EC".into()), "kty must be RSA");
    assert_eq!(
        rule("d", "AQAB".into()),
        "a public key must not carry private members"
    );
    assert_eq!(
        rule("use", "sig".into()),
        "use does not match the key's purpose"
    );
}
