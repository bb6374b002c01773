//! `x5c` chain validation with a real two-level PKI made by rcgen: trust anchors, CA flags,
//! key usage, validity, signatures and the leaf-key/JWK match.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poststelle::fitconnect::keys::{PublicKeyError, TestKeyPair, validate_public_key};
use poststelle::jose::Jwk;
use poststelle::jose::jwk::KeyUse;
use poststelle::jose::x509::{CertError, TrustPolicy};
use rcgen::{CertifiedIssuer, KeyUsagePurpose};

use crate::jose_keys::{self, encryption, signing};
use crate::pki_support::{jwk_with, key_of, params, rsa_key};

struct Pki {
    root: CertifiedIssuer<'static, rcgen::KeyPair>,
}

fn pki(cn: &str) -> Pki {
    Pki { root: root(cn) }
}

fn leaf(pki: &Pki, pair: &TestKeyPair, usages: Vec<KeyUsagePurpose>, days: i64) -> String {
    let cert = params("destination key", usages, false, days)
        .signed_by(&key_of(pair), &pki.root)
        .expect("leaf");
    STANDARD.encode(cert.der())
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

// ---- issue 19: the x5c checks the sender relies on ------------------------------------------

use poststelle::jose::x509::anchors_from_pem_or_der;
use rcgen::{BasicConstraints, CustomExtension, IsCa};

use crate::pki_support::{b64, ca_params, enc_leaf_params, intermediate, leaf_with, openssl, root};

fn check_with(jwk: &Jwk, anchors: &[&[u8]]) -> Result<(), PublicKeyError> {
    check_at(jwk, anchors, jose_keys::now())
}

fn check_at(jwk: &Jwk, anchors: &[&[u8]], now: i64) -> Result<(), PublicKeyError> {
    let policy = TrustPolicy::with_anchors(anchors.iter().map(|a| a.to_vec()).collect());
    validate_public_key(jwk, KeyUse::Encryption, &policy, now).map(|_| ())
}

/// Checks a chain made by openssl, whose validity starts at the wall clock (the fixed test
/// clock may lie before it).
fn check_openssl(leaf: &[u8], root: &[u8]) -> Result<(), PublicKeyError> {
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| i64::try_from(t.as_secs()).expect("fits"))
        .expect("clock");
    check_at(&jwk_with(encryption(), vec![b64(leaf)]), &[root], wall + 1)
}

/// A chain made by the openssl command: a root CA with `root_key` (e.g. `rsa:1024`), and a
/// leaf over the encryption test key signed with `sign_args` (e.g. `-sha1`). Returns the leaf
/// and root DER, or `None` without openssl.
fn openssl_chain(root_key: &str, sign_args: &[&str]) -> Option<(Vec<u8>, Vec<u8>)> {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("leaf.key"), encryption().pkcs8_pem.as_bytes()).expect("key");
    std::fs::write(d.join("leaf.ext"), "keyUsage=critical,keyEncipherment\n").expect("ext");
    openssl(
        d,
        &[
            "req",
            "-x509",
            "-newkey",
            root_key,
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-subj",
            "/CN=openssl test root",
            "-days",
            "30",
            "-sha256",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    )?;
    openssl(
        d,
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/CN=destination key",
            "-out",
            "leaf.csr",
        ],
    )?;
    let mut sign = vec![
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "root.pem",
        "-CAkey",
        "root.key",
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        "leaf.ext",
        "-outform",
        "DER",
        "-out",
        "leaf.der",
    ];
    sign.extend_from_slice(sign_args);
    openssl(d, &sign)?;
    openssl(
        d,
        &[
            "x509", "-in", "root.pem", "-outform", "DER", "-out", "root.der",
        ],
    )?;
    let read = |name: &str| std::fs::read(d.join(name)).expect("read");
    Some((read("leaf.der"), read("root.der")))
}

#[test]
fn sha1_signed_x5c_certificate_is_refused() {
    let Some((leaf, root)) = openssl_chain("rsa:2048", &["-sha1"]) else {
        return;
    };
    assert_eq!(
        check_openssl(&leaf, &root),
        cert_err(CertError::SignatureAlgorithm {
            index: 0,
            algorithm: "sha1WithRSAEncryption".into()
        })
    );
    // The same chain signed with SHA-256 is fine: the refusal is about the algorithm.
    let (leaf, root) = openssl_chain("rsa:2048", &["-sha256"]).expect("openssl ran before");
    assert_eq!(check_openssl(&leaf, &root), Ok(()));
}

#[test]
fn x5c_issuer_with_a_1024_bit_key_is_refused() {
    let Some((leaf, root)) = openssl_chain("rsa:1024", &["-sha256"]) else {
        return;
    };
    assert_eq!(
        check_openssl(&leaf, &root),
        cert_err(CertError::WeakIssuerKey {
            index: 0,
            bits: 1024
        })
    );
}

#[test]
fn x5c_signed_with_rsassa_pss_sha512_is_accepted_and_odd_pss_parameters_are_not() {
    // FIT-Connect's own rule for certificates: RSASSA-PSS with SHA-512.
    let pss = ["-sha512", "-sigopt", "rsa_padding_mode:pss", "-sigopt"];
    let Some((leaf, root)) =
        openssl_chain("rsa:2048", &[&pss[..], &["rsa_pss_saltlen:64"]].concat())
    else {
        return;
    };
    assert_eq!(check_openssl(&leaf, &root), Ok(()));
    let (leaf, root) = openssl_chain("rsa:2048", &[&pss[..], &["rsa_pss_saltlen:32"]].concat())
        .expect("openssl ran before");
    assert_eq!(
        check_openssl(&leaf, &root),
        cert_err(CertError::SignatureAlgorithm {
            index: 0,
            algorithm: "RSASSA-PSS with unsupported parameters".into()
        })
    );
}

#[test]
fn x5c_issued_by_an_ecdsa_ca_is_accepted() {
    for alg in [
        &rcgen::PKCS_ECDSA_P256_SHA256,
        &rcgen::PKCS_ECDSA_P384_SHA384,
    ] {
        let ca = CertifiedIssuer::self_signed(
            ca_params("EC root", None),
            rcgen::KeyPair::generate_for(alg).expect("ec key"),
        )
        .expect("root");
        let leaf = leaf_with(&enc_leaf_params(), encryption(), &ca);
        assert_eq!(
            check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
            Ok(())
        );
    }
}

#[test]
fn x5c_path_len_constraint_is_enforced() {
    // root (pathLen 0) → intermediate → leaf: one intermediate too many for the root.
    let strict = root_with_path_len(0);
    let sub = intermediate(ca_params("Sub CA", None), &strict);
    let leaf = leaf_with(&enc_leaf_params(), encryption(), &sub);
    let x5c = vec![leaf.clone(), b64(sub.der())];
    assert_eq!(
        check_with(&jwk_with(encryption(), x5c.clone()), &[strict.der()]),
        cert_err(CertError::PathLen { index: 2 })
    );
    // With the root in x5c the position is inside the chain.
    let with_root = vec![leaf, b64(sub.der()), b64(strict.der())];
    assert_eq!(
        check_with(&jwk_with(encryption(), with_root), &[strict.der()]),
        cert_err(CertError::PathLen { index: 2 })
    );
    // pathLen 1 admits the intermediate.
    let lenient = root_with_path_len(1);
    let sub = intermediate(ca_params("Sub CA", None), &lenient);
    let leaf = leaf_with(&enc_leaf_params(), encryption(), &sub);
    assert_eq!(
        check_with(
            &jwk_with(encryption(), vec![leaf, b64(sub.der())]),
            &[lenient.der()]
        ),
        Ok(())
    );
    // An intermediate with pathLen 0 may not issue another CA.
    let top = root("Top");
    let sub = intermediate(ca_params("Sub CA", Some(0)), &top);
    let subsub = intermediate(ca_params("Sub-sub CA", None), &sub);
    let leaf = leaf_with(&enc_leaf_params(), encryption(), &subsub);
    assert_eq!(
        check_with(
            &jwk_with(encryption(), vec![leaf, b64(subsub.der()), b64(sub.der())]),
            &[top.der()]
        ),
        cert_err(CertError::PathLen { index: 2 })
    );
}

fn root_with_path_len(n: u8) -> crate::pki_support::Ca {
    crate::pki_support::root_with(ca_params("pathLen root", Some(n)))
}

#[test]
fn x5c_leaf_that_is_a_ca_is_refused() {
    let ca = root("Root");
    let mut p = enc_leaf_params();
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let leaf = leaf_with(&p, encryption(), &ca);
    assert_eq!(
        check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
        cert_err(CertError::LeafIsCa)
    );
    let mut p = enc_leaf_params();
    p.key_usages = vec![
        KeyUsagePurpose::KeyEncipherment,
        KeyUsagePurpose::KeyCertSign,
    ];
    let leaf = leaf_with(&p, encryption(), &ca);
    assert_eq!(
        check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
        cert_err(CertError::LeafIsCa)
    );
}

fn private_extension(critical: bool) -> CustomExtension {
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 1], vec![0x05, 0x00]);
    ext.set_criticality(critical);
    ext
}

#[test]
fn x5c_unknown_critical_extension_is_refused() {
    let ca = root("Root");
    let mut p = enc_leaf_params();
    p.custom_extensions = vec![private_extension(true)];
    let leaf = leaf_with(&p, encryption(), &ca);
    assert_eq!(
        check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
        cert_err(CertError::CriticalExtension {
            index: 0,
            oid: "1.3.6.1.4.1.99999.1".into()
        })
    );
    // Not critical: ignored, as RFC 5280 allows.
    let mut p = enc_leaf_params();
    p.custom_extensions = vec![private_extension(false)];
    let leaf = leaf_with(&p, encryption(), &ca);
    assert_eq!(
        check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
        Ok(())
    );
    // In an intermediate CA too.
    let mut p = ca_params("Sub CA", None);
    p.custom_extensions = vec![private_extension(true)];
    let sub = intermediate(p, &ca);
    let leaf = leaf_with(&enc_leaf_params(), encryption(), &sub);
    assert_eq!(
        check_with(
            &jwk_with(encryption(), vec![leaf, b64(sub.der())]),
            &[ca.der()]
        ),
        cert_err(CertError::CriticalExtension {
            index: 1,
            oid: "1.3.6.1.4.1.99999.1".into()
        })
    );
}

#[test]
fn x5c_name_constraints_are_refused_not_ignored() {
    let mut p = ca_params("Constrained root", None);
    p.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("example.org".into())],
        excluded_subtrees: vec![],
    });
    let ca = crate::pki_support::root_with(p);
    let leaf = leaf_with(&enc_leaf_params(), encryption(), &ca);
    assert_eq!(
        check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
        cert_err(CertError::NameConstraints { index: 1 })
    );
}

#[test]
fn trust_anchors_load_from_a_pem_bundle_or_der() {
    let (a, b) = (root("Root A"), root("Root B"));
    let bundle = format!(
        "{}\n{}",
        crate::pki_support::ca_pem(&a),
        crate::pki_support::ca_pem(&b)
    );
    let anchors = anchors_from_pem_or_der(bundle.as_bytes()).expect("bundle");
    assert_eq!(anchors, vec![a.der().to_vec(), b.der().to_vec()]);
    assert_eq!(
        anchors_from_pem_or_der(b.der()).expect("der"),
        vec![b.der().to_vec()]
    );
    let leaf = leaf_with(&enc_leaf_params(), encryption(), &b);
    let policy = TrustPolicy::with_anchors(anchors);
    assert!(
        validate_public_key(
            &jwk_with(encryption(), vec![leaf]),
            KeyUse::Encryption,
            &policy,
            jose_keys::now()
        )
        .is_ok()
    );
    assert_eq!(
        anchors_from_pem_or_der(b"no pem here"),
        Err(CertError::Anchor("no PEM certificate found"))
    );
    assert_eq!(
        anchors_from_pem_or_der(b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
        Err(CertError::Anchor("a certificate is not DER X.509"))
    );
    assert!(anchors_from_pem_or_der(&[0x30, 0x03, 0x01, 0x01, 0xff]).is_err());
}

#[test]
fn x5c_required_explicit_policy_is_refused_and_plain_policies_are_understood() {
    // policyConstraints { requireExplicitPolicy 0 }, critical as RFC 5280 asks.
    let mut require =
        CustomExtension::from_oid_content(&[2, 5, 29, 36], vec![0x30, 0x03, 0x80, 0x01, 0x00]);
    require.set_criticality(true);
    let mut p = ca_params("Policy root", None);
    p.custom_extensions = vec![require];
    let ca = crate::pki_support::root_with(p);
    let leaf = leaf_with(&enc_leaf_params(), encryption(), &ca);
    assert_eq!(
        check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
        cert_err(CertError::PolicyConstraints { index: 1 })
    );
    // A critical certificatePolicies (anyPolicy) needs no policy processing to be accepted.
    let any_policy = vec![0x30, 0x08, 0x30, 0x06, 0x06, 0x04, 0x55, 0x1d, 0x20, 0x00];
    let mut ext = CustomExtension::from_oid_content(&[2, 5, 29, 32], any_policy);
    ext.set_criticality(true);
    let ca = root("Root");
    let mut p = enc_leaf_params();
    p.custom_extensions = vec![ext];
    let leaf = leaf_with(&p, encryption(), &ca);
    assert_eq!(
        check_with(&jwk_with(encryption(), vec![leaf]), &[ca.der()]),
        Ok(())
    );
}
