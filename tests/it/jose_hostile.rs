//! Hostile JWE/JWS/JWK inputs: each must fail with its specific error, without panicking and
//! within bounded memory. Every case is a named test so a regression names its attack.

use poststelle::config::JoseLimits;
use poststelle::jose::base64url as b64;
use poststelle::jose::jwe::{self, CompactJwe, DecryptReason, JweError, Part};
use poststelle::jose::jwk::JwkError;
use poststelle::jose::jws::{self, CompactJws, JwsError};
use poststelle::jose::{DecryptionKey, Jwk, KeyRing};

use crate::jose_keys::{self, encryption, encryption_2, kid, signing};

fn limits() -> JoseLimits {
    JoseLimits::default()
}

fn valid_token() -> String {
    jwe::encrypt(
        b"payload",
        &jose_keys::enc_public(),
        kid(encryption()),
        Some("text/plain"),
    )
    .expect("encrypt")
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

/// A token whose protected header is `header` (crypto parts from a valid token).
fn with_header(header: &str) -> String {
    let mut p = parts(&valid_token());
    p[0] = b64::encode(header.as_bytes());
    p.join(".")
}

fn header_for(extra: &str) -> String {
    format!(
        r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{}"{extra}}}"#,
        kid(encryption())
    )
}

fn parse_err(token: &str) -> JweError {
    CompactJwe::parse(token, &limits()).expect_err("must be refused")
}

fn decrypt_err(token: &str) -> JweError {
    CompactJwe::parse(token, &limits())
        .and_then(|j| j.decrypt(&jose_keys::ring(), &limits()))
        .expect_err("must be refused")
}

fn alg_err(alg: &str) -> JweError {
    parse_err(&with_header(&format!(
        r#"{{"alg":"{alg}","enc":"A256GCM","kid":"k"}}"#
    )))
}

#[test]
fn jwe_alg_none() {
    assert_eq!(
        alg_err("none"),
        JweError::AlgNotAllowed { alg: "none".into() }
    );
}

#[test]
fn jwe_alg_dir() {
    assert_eq!(
        alg_err("dir"),
        JweError::AlgNotAllowed { alg: "dir".into() }
    );
}

#[test]
fn jwe_alg_rsa1_5() {
    assert_eq!(
        alg_err("RSA1_5"),
        JweError::AlgNotAllowed {
            alg: "RSA1_5".into()
        }
    );
}

#[test]
fn jwe_alg_rsa_oaep_sha1() {
    assert_eq!(
        alg_err("RSA-OAEP"),
        JweError::AlgNotAllowed {
            alg: "RSA-OAEP".into()
        }
    );
}

#[test]
fn jwe_alg_case_variant() {
    assert_eq!(
        alg_err("rsa-oaep-256"),
        JweError::AlgNotAllowed {
            alg: "rsa-oaep-256".into()
        }
    );
}

#[test]
fn jwe_alg_long_value_is_truncated_in_error() {
    let JweError::AlgNotAllowed { alg } = alg_err(&"A".repeat(5000)) else {
        panic!("wrong error")
    };
    assert_eq!(alg.len(), 32);
}

#[test]
fn jwe_enc_a128gcm() {
    let e = parse_err(&with_header(
        r#"{"alg":"RSA-OAEP-256","enc":"A128GCM","kid":"k"}"#,
    ));
    assert_eq!(
        e,
        JweError::EncNotAllowed {
            enc: "A128GCM".into()
        }
    );
}

#[test]
fn jwe_enc_cbc_hmac() {
    let e = parse_err(&with_header(
        r#"{"alg":"RSA-OAEP-256","enc":"A256CBC-HS512","kid":"k"}"#,
    ));
    assert_eq!(
        e,
        JweError::EncNotAllowed {
            enc: "A256CBC-HS512".into()
        }
    );
}

#[test]
fn jwe_missing_alg_enc_kid() {
    let e = parse_err(&with_header(r#"{"enc":"A256GCM","kid":"k"}"#));
    assert_eq!(e, JweError::MissingHeaderMember { name: "alg" });
    let e = parse_err(&with_header(r#"{"alg":"RSA-OAEP-256","kid":"k"}"#));
    assert_eq!(e, JweError::MissingHeaderMember { name: "enc" });
    let e = parse_err(&with_header(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM"}"#));
    assert_eq!(e, JweError::MissingHeaderMember { name: "kid" });
}

#[test]
fn jwe_alg_wrong_type() {
    let e = parse_err(&with_header(
        r#"{"alg":["RSA-OAEP-256"],"enc":"A256GCM","kid":"k"}"#,
    ));
    assert_eq!(e, JweError::HeaderMemberType { name: "alg" });
}

#[test]
fn jwe_crit() {
    let e = parse_err(&with_header(&header_for(r#","crit":["exp"],"exp":1"#)));
    assert_eq!(e, JweError::CritNotSupported);
}

#[test]
fn jwe_zip_other_than_def() {
    let e = parse_err(&with_header(&header_for(r#","zip":"GZIP""#)));
    assert_eq!(e, JweError::ZipNotSupported { zip: "GZIP".into() });
}

#[test]
fn jwe_embedded_jwk_and_jku() {
    let e = parse_err(&with_header(&header_for(r#","jwk":{"kty":"RSA"}"#)));
    assert_eq!(e, JweError::ForbiddenHeaderMember { name: "jwk" });
    let e = parse_err(&with_header(&header_for(
        r#","jku":"https://evil.example/jwks""#,
    )));
    assert_eq!(e, JweError::ForbiddenHeaderMember { name: "jku" });
}

#[test]
fn jwe_members_of_other_algorithms() {
    let e = parse_err(&with_header(&header_for(r#","epk":{}"#)));
    assert_eq!(e, JweError::ForbiddenHeaderMember { name: "epk" });
    let e = parse_err(&with_header(&header_for(
        r#","p2s":"abc","p2c":1000000000"#,
    )));
    assert_eq!(e, JweError::ForbiddenHeaderMember { name: "p2s" });
}

#[test]
fn jwe_duplicate_header_member() {
    let e = parse_err(&with_header(&header_for(r#","alg":"none""#)));
    assert_eq!(e, JweError::DuplicateHeaderMember);
}

#[test]
fn jwe_header_not_json() {
    assert!(matches!(
        parse_err(&with_header("not json")),
        JweError::HeaderNotJson { .. }
    ));
    assert!(matches!(
        parse_err(&with_header("[1,2]")),
        JweError::HeaderNotJson { .. }
    ));
    assert!(matches!(
        parse_err(&with_header(&header_for("").replace('}', "}x"))),
        JweError::HeaderNotJson { .. }
    ));
}

#[test]
fn jwe_truncated_and_extra_parts() {
    let p = parts(&valid_token());
    assert_eq!(
        parse_err(&p[..4].join(".")),
        JweError::PartCount { found: 4 }
    );
    assert_eq!(
        parse_err(&format!("{}.x", p.join("."))),
        JweError::PartCount { found: 6 }
    );
    assert_eq!(parse_err(""), JweError::PartCount { found: 1 });
    assert!(matches!(parse_err("...."), JweError::HeaderNotJson { .. }));
}

#[test]
fn jwe_json_serialization() {
    let e = parse_err(r#"{"protected":"x","recipients":[],"iv":"","ciphertext":"","tag":""}"#);
    assert_eq!(e, JweError::JsonSerialization);
}

#[test]
fn jwe_bad_base64_in_each_part() {
    let p = parts(&valid_token());
    let mut bad = p.clone();
    bad[0].push('=');
    assert_eq!(
        parse_err(&bad.join(".")),
        JweError::Base64 {
            part: Part::ProtectedHeader
        }
    );
    let mut bad = p.clone();
    bad[1].replace_range(0..1, "+");
    assert_eq!(
        parse_err(&bad.join(".")),
        JweError::Base64 {
            part: Part::EncryptedKey
        }
    );
    let mut bad = p.clone();
    bad[3].replace_range(0..1, "/");
    assert_eq!(
        parse_err(&bad.join(".")),
        JweError::Base64 {
            part: Part::Ciphertext
        }
    );
    let mut bad = p;
    bad[4].replace_range(0..1, "!");
    assert_eq!(
        parse_err(&bad.join(".")),
        JweError::Base64 { part: Part::Tag }
    );
}

#[test]
fn jwe_trailing_newline_is_not_base64() {
    let token = format!("{}\n", valid_token());
    assert_eq!(parse_err(&token), JweError::Base64 { part: Part::Tag });
}

#[test]
fn jwe_oversized_header() {
    let big = header_for(&format!(r#","x":"{}""#, "a".repeat(10_000)));
    assert_eq!(
        parse_err(&with_header(&big)),
        JweError::HeaderTooLarge { limit: 8 * 1024 }
    );
}

#[test]
fn jwe_token_over_limit() {
    let mut small = limits();
    small.max_token_bytes = 500;
    let e = CompactJwe::parse(&valid_token(), &small).expect_err("too large");
    assert_eq!(e, JweError::TokenTooLarge { limit: 500 });
}

#[test]
fn jwe_oversized_encrypted_key_is_not_decoded() {
    let mut p = parts(&valid_token());
    p[1] = "A".repeat(10_000_000);
    assert_eq!(
        parse_err(&p.join(".")),
        JweError::EncryptedKeyTooLarge { found: 7_500_000 }
    );
}

#[test]
fn jwe_wrong_iv_lengths() {
    let mut p = parts(&valid_token());
    p[2] = b64::encode(&[0u8; 16]);
    assert_eq!(parse_err(&p.join(".")), JweError::IvLength { found: 16 });
    p[2] = String::new();
    assert_eq!(parse_err(&p.join(".")), JweError::IvLength { found: 0 });
}

#[test]
fn jwe_wrong_tag_lengths() {
    let mut p = parts(&valid_token());
    p[4] = b64::encode(&[0u8; 12]);
    assert_eq!(parse_err(&p.join(".")), JweError::TagLength { found: 12 });
    p[4] = String::new();
    assert_eq!(parse_err(&p.join(".")), JweError::TagLength { found: 0 });
}

#[test]
fn jwe_encrypted_key_wrong_length() {
    let mut p = parts(&valid_token());
    p[1] = b64::encode(&[7u8; 256]);
    assert_eq!(
        decrypt_err(&p.join(".")),
        JweError::EncryptedKeyLength {
            found: 256,
            expected: 512
        }
    );
    p[1] = String::new();
    assert_eq!(
        decrypt_err(&p.join(".")),
        JweError::EncryptedKeyLength {
            found: 0,
            expected: 512
        }
    );
}

fn tamper(index: usize, byte: usize) -> String {
    let mut p = parts(&valid_token());
    let mut bytes = b64::decode(&p[index]).expect("b64");
    bytes[byte] ^= 0x01;
    p[index] = b64::encode(&bytes);
    p.join(".")
}

fn reason(err: JweError) -> DecryptReason {
    assert_eq!(err.to_string(), "JWE decryption failed", "opaque to peers");
    match err {
        JweError::Decrypt(f) => f.reason(),
        other => panic!("expected opaque decrypt error, got {other:?}"),
    }
}

#[test]
fn jwe_tampered_header() {
    // Same members, different bytes (whitespace): the AAD changes, the tag fails.
    let mut p = parts(&valid_token());
    let header = String::from_utf8(b64::decode(&p[0]).expect("b64")).expect("utf-8");
    p[0] = b64::encode(header.replacen(',', " ,", 1).as_bytes());
    assert_eq!(reason(decrypt_err(&p.join("."))), DecryptReason::Tag);
}

#[test]
fn jwe_tampered_encrypted_key() {
    assert_eq!(
        reason(decrypt_err(&tamper(1, 200))),
        DecryptReason::KeyUnwrap
    );
}

#[test]
fn jwe_tampered_iv() {
    assert_eq!(reason(decrypt_err(&tamper(2, 0))), DecryptReason::Tag);
}

#[test]
fn jwe_tampered_ciphertext() {
    assert_eq!(reason(decrypt_err(&tamper(3, 3))), DecryptReason::Tag);
}

#[test]
fn jwe_tampered_tag() {
    assert_eq!(reason(decrypt_err(&tamper(4, 15))), DecryptReason::Tag);
}

#[test]
fn jwe_unknown_kid() {
    let mut p = parts(&valid_token());
    p[0] =
        b64::encode(r#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"nobody-has-this"}"#.as_bytes());
    assert_eq!(decrypt_err(&p.join(".")), JweError::UnknownKid);
}

#[test]
fn jwe_kid_of_another_key() {
    // Encrypted for key 1, but labelled with the kid of key 2, which the ring holds.
    let header = format!(
        r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{}"}}"#,
        kid(encryption_2())
    );
    let token =
        jwe::encrypt_with_header(b"x", &jose_keys::enc_public(), header.as_bytes()).expect("enc");
    let mut ring = KeyRing::new();
    ring.insert(DecryptionKey::from_jwk(&encryption_2().private_jwk).expect("key"))
        .expect("insert");
    let err = CompactJwe::parse(&token, &limits()).and_then(|j| j.decrypt(&ring, &limits()));
    assert_eq!(
        reason(err.expect_err("wrong key")),
        DecryptReason::KeyUnwrap
    );
}

fn deflate_token(compressed: &[u8]) -> String {
    jwe::encrypt_with_header(
        compressed,
        &jose_keys::enc_public(),
        header_for(r#","zip":"DEF""#).as_bytes(),
    )
    .expect("enc")
}

#[test]
fn jwe_deflate_bomb_1mb_to_1gb_is_cut_at_the_limit() {
    use std::io::Write as _;
    // Raw DEFLATE tops out near 1:1032, so 1 GiB of zeros needs about 1 MB.
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    let block = vec![0u8; 1 << 20];
    for _ in 0..1024 {
        z.write_all(&block).expect("mem");
    }
    let bomb = z.finish().expect("mem");
    assert!(bomb.len() < 5 << 20, "bomb is {} bytes", bomb.len());
    let started = std::time::Instant::now();
    let err = decrypt_err(&deflate_token(&bomb));
    assert_eq!(
        err,
        JweError::InflateTooLarge {
            limit: 64 * 1024 * 1024
        }
    );
    assert!(started.elapsed().as_secs() < 30);
}

#[test]
fn jwe_deflate_bomb_1kb_to_1mb_with_small_limit() {
    use std::io::Write as _;
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![0u8; 1 << 20]).expect("mem");
    let bomb = z.finish().expect("mem");
    assert!(bomb.len() <= 1100, "bomb is {} bytes", bomb.len());
    let mut small = limits();
    small.max_inflated_bytes = 64 * 1024;
    let err = CompactJwe::parse(&deflate_token(&bomb), &small)
        .and_then(|j| j.decrypt(&jose_keys::ring(), &small))
        .expect_err("bomb");
    assert_eq!(err, JweError::InflateTooLarge { limit: 64 * 1024 });
}

#[test]
fn jwe_deflate_garbage() {
    assert_eq!(
        decrypt_err(&deflate_token(&[0xff; 64])),
        JweError::InflateFailed
    );
}

// ---- JWS ----

fn jws_with_header(header: &str) -> String {
    let token = jws::sign(b"{}", &jose_keys::signing_key(), Some("secevent+jwt"));
    let mut p = parts(&token);
    p[0] = b64::encode(header.as_bytes());
    p.join(".")
}

fn jws_err(token: &str) -> JwsError {
    CompactJws::parse(token, &limits())
        .and_then(|j| j.verify(&signing().public_jwk.public_key().expect("key")))
        .expect_err("must be refused")
}

#[test]
fn jws_alg_none() {
    let e = jws_err(&jws_with_header(r#"{"alg":"none","kid":"k"}"#));
    assert_eq!(e, JwsError::AlgNotAllowed { alg: "none".into() });
}

#[test]
fn jws_alg_hs512_confusion() {
    let e = jws_err(&jws_with_header(r#"{"alg":"HS512","kid":"k"}"#));
    assert_eq!(
        e,
        JwsError::AlgNotAllowed {
            alg: "HS512".into()
        }
    );
}

#[test]
fn jws_alg_rs512_and_ps256() {
    assert_eq!(
        jws_err(&jws_with_header(r#"{"alg":"RS512","kid":"k"}"#)),
        JwsError::AlgNotAllowed {
            alg: "RS512".into()
        }
    );
    assert_eq!(
        jws_err(&jws_with_header(r#"{"alg":"PS256","kid":"k"}"#)),
        JwsError::AlgNotAllowed {
            alg: "PS256".into()
        }
    );
}

#[test]
fn jws_embedded_key() {
    let e = jws_err(&jws_with_header(
        r#"{"alg":"PS512","kid":"k","jwk":{"kty":"RSA"}}"#,
    ));
    assert_eq!(e, JwsError::ForbiddenHeaderMember { name: "jwk" });
    let e = jws_err(&jws_with_header(
        r#"{"alg":"PS512","kid":"k","x5c":["AAAA"]}"#,
    ));
    assert_eq!(e, JwsError::ForbiddenHeaderMember { name: "x5c" });
}

#[test]
fn jws_crit_b64() {
    let e = jws_err(&jws_with_header(
        r#"{"alg":"PS512","kid":"k","b64":false,"crit":["b64"]}"#,
    ));
    assert_eq!(e, JwsError::CritNotSupported);
}

#[test]
fn jws_missing_kid() {
    assert_eq!(
        jws_err(&jws_with_header(r#"{"alg":"PS512"}"#)),
        JwsError::MissingHeaderMember { name: "kid" }
    );
}

#[test]
fn jws_truncated_signature_and_parts() {
    let token = jws::sign(b"{}", &jose_keys::signing_key(), None);
    let mut p = parts(&token);
    assert_eq!(jws_err(&p[..2].join(".")), JwsError::PartCount { found: 2 });
    p[2].truncate(100);
    assert!(matches!(
        jws_err(&p.join(".")),
        JwsError::SignatureLength { expected: 512, .. }
    ));
}

#[test]
fn jws_tampered_payload() {
    let token = jws::sign(br#"{"a":1}"#, &jose_keys::signing_key(), None);
    let mut p = parts(&token);
    p[1] = b64::encode(br#"{"a":2}"#);
    assert_eq!(jws_err(&p.join(".")), JwsError::BadSignature);
}

#[test]
fn jws_signed_by_another_key() {
    let other = encryption_2();
    // Same modulus size, different key: the verifier must not accept it.
    let key = other.public_jwk.public_key().expect("key");
    let token = jws::sign(b"{}", &jose_keys::signing_key(), None);
    let err = CompactJws::parse(&token, &limits()).and_then(|j| j.verify(&key));
    assert_eq!(err.expect_err("other key"), JwsError::BadSignature);
}

// ---- JWK ----

fn jwk_value(jwk: &Jwk) -> serde_json::Value {
    serde_json::from_str(&jwk.to_json()).expect("JSON")
}

fn jwk_from(value: &serde_json::Value) -> Jwk {
    Jwk::from_json(&value.to_string()).expect("JWK JSON")
}

#[test]
fn jwk_short_rsa_key_2048() {
    use aws_lc_rs::encoding::AsDer as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).expect("keygen");
    let der = pair.as_der().expect("der");
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        b64::encode_standard(der.as_ref())
    );
    let err = DecryptionKey::from_pkcs8_pem(&pem, None).expect_err("short");
    assert_eq!(
        err,
        JwkError::KeyTooShort {
            bits: 2048,
            min: 4096
        }
    );
}

#[test]
fn jwk_short_public_modulus() {
    let mut v = jwk_value(&encryption().public_jwk);
    v["n"] = b64::encode(&[0xc5; 128]).into();
    assert_eq!(
        jwk_from(&v).public_key(),
        Err(JwkError::KeyTooShort {
            bits: 1024,
            min: 4096
        })
    );
}

#[test]
fn jwk_wrong_kty_and_multi_prime() {
    let mut v = jwk_value(&encryption().private_jwk);
    v["oth"] = serde_json::json!([{"r": "AQAB", "d": "AQAB", "t": "AQAB"}]);
    assert_eq!(
        DecryptionKey::from_jwk(&jwk_from(&v)).map(|_| ()),
        Err(JwkError::MultiPrime)
    );
    v["kty"] = "EC".into();
    assert_eq!(
        DecryptionKey::from_jwk(&jwk_from(&v)).map(|_| ()),
        Err(JwkError::UnsupportedKeyType)
    );
}

#[test]
fn jwk_inconsistent_components() {
    let mut v = jwk_value(&encryption().private_jwk);
    v["d"] = jwk_value(&encryption_2().private_jwk)["d"].clone();
    assert_eq!(
        DecryptionKey::from_jwk(&jwk_from(&v)).map(|_| ()),
        Err(JwkError::KeyRejected)
    );
}

#[test]
fn jwk_bad_base64_member() {
    let mut v = jwk_value(&encryption().private_jwk);
    v["q"] = "not base64!".into();
    assert_eq!(
        DecryptionKey::from_jwk(&jwk_from(&v)).map(|_| ()),
        Err(JwkError::BadBase64 { member: "q" })
    );
}

#[test]
fn jwk_signing_key_used_for_decryption() {
    let err = DecryptionKey::from_jwk(&signing().private_jwk).map(|_| ());
    assert_eq!(
        err,
        Err(JwkError::AlgMismatch {
            expected: "RSA-OAEP-256"
        })
    );
}

#[test]
fn jwk_duplicate_kid_in_ring() {
    let mut ring = jose_keys::ring();
    let again = DecryptionKey::from_jwk(&encryption().private_jwk).expect("key");
    assert_eq!(ring.insert(again), Err(JwkError::DuplicateKid));
}

#[test]
fn jwk_not_json() {
    assert!(matches!(
        Jwk::from_json("{\"kty\":"),
        Err(JwkError::NotJson { line: 1, .. })
    ));
}
