//! Interoperability with josekit (OpenSSL), an independent JOSE implementation: all four
//! directions (JWE both ways, with and without `zip: DEF`; PS512 both ways).

use josekit::jwe::{JweHeader, RSA_OAEP_256};
use josekit::jws::{JwsHeader, PS512};
use poststelle::config::JoseLimits;
use poststelle::fitconnect::set::{self, AuthenticationTags, StaticKeys, SubmissionRef};
use poststelle::jose::jwe::{self, CompactJwe};

use crate::jose_keys::{self, encryption, kid, signing};

fn josekit_jwk(text: &str) -> josekit::jwk::Jwk {
    josekit::jwk::Jwk::from_bytes(text.as_bytes()).expect("josekit reads our JWK")
}

fn josekit_encrypt(payload: &[u8], zip: bool) -> String {
    let mut header = JweHeader::new();
    header.set_content_encryption("A256GCM");
    header.set_key_id(kid(encryption()));
    header.set_content_type("application/json");
    if zip {
        header.set_compression("DEF");
    }
    let encrypter = RSA_OAEP_256
        .encrypter_from_jwk(&josekit_jwk(&jose_keys::without_ops(
            &encryption().public_jwk,
        )))
        .expect("encrypter");
    josekit::jwe::serialize_compact(payload, &header, &encrypter).expect("josekit encrypts")
}

#[test]
fn josekit_encrypts_we_decrypt() {
    let payload = br#"{"contentStructure":{"attachments":[]}}"#.repeat(50);
    for zip in [false, true] {
        let token = josekit_encrypt(&payload, zip);
        let jwe = CompactJwe::parse(&token, &JoseLimits::default()).expect("parse");
        assert_eq!(jwe.header().deflated, zip);
        let plain = jwe
            .decrypt(&jose_keys::ring(), &JoseLimits::default())
            .expect("decrypt");
        assert_eq!(plain.bytes(), payload.as_slice());
        assert_eq!(plain.content_type(), Some("application/json"));
    }
}

#[test]
fn we_encrypt_josekit_decrypts() {
    let token = jwe::encrypt(
        b"<xml/>",
        &jose_keys::enc_public(),
        kid(encryption()),
        Some("application/xml"),
    )
    .expect("encrypt");
    let decrypter = RSA_OAEP_256
        .decrypter_from_jwk(&josekit_jwk(&jose_keys::without_ops(
            &encryption().private_jwk,
        )))
        .expect("decrypter");
    let (payload, header) =
        josekit::jwe::deserialize_compact(&token, &decrypter).expect("josekit decrypts");
    assert_eq!(payload, b"<xml/>");
    assert_eq!(header.content_type(), Some("application/xml"));
    assert_eq!(header.key_id(), Some(kid(encryption())));
    assert_eq!(header.compression(), None, "we never produce zip");
}

const DEST: &str = "40847c29-06aa-40e2-bf28-c29884c694c4";

#[test]
fn we_sign_a_set_josekit_verifies() {
    let subject = SubmissionRef {
        destination_id: DEST,
        submission_id: "02bf1d9f-282d-4abf-810a-c4104baf0afe",
        case_id: "452b5ee6-35df-441a-bd39-6141723cf914",
    };
    let tags = AuthenticationTags {
        metadata: "rJzLKF3ApPQN-gUfK-Ahgw".into(),
        ..AuthenticationTags::default()
    };
    let token = set::accept_submission(
        &jose_keys::signing_key(),
        &subject,
        &tags,
        jose_keys::now(),
        set::PayloadSchema::default(),
    );
    let verifier = PS512
        .verifier_from_jwk(&josekit_jwk(&jose_keys::without_ops(&signing().public_jwk)))
        .expect("verifier");
    let (payload, header) =
        josekit::jws::deserialize_compact(&token, &verifier).expect("josekit verifies");
    assert_eq!(header.token_type(), Some("secevent+jwt"));
    let claims: serde_json::Value = serde_json::from_slice(&payload).expect("JSON");
    assert_eq!(claims["iss"], DEST);
    assert_eq!(
        claims["events"][set::ACCEPT_SUBMISSION]["authenticationTags"]["metadata"],
        "rJzLKF3ApPQN-gUfK-Ahgw"
    );
}

#[test]
fn josekit_signs_a_set_we_verify() {
    let claims = serde_json::json!({
        "$schema": set::PayloadSchema::V1_2_2.uri(),
        "jti": "ee7e1bfd-0000-4000-8000-000000000001",
        "iss": "https://submission-api-testing.fit-connect.fitko.dev",
        "iat": jose_keys::now() - 10,
        "sub": "submission:5e82c135-0000-4000-8000-000000000002",
        "txn": "case:c9f0db91-0000-4000-8000-000000000003",
        "events": {set::SUBMIT_SUBMISSION: {"authenticationTags": {
            "metadata": "rJzLKF3ApPQN-gUfK-Ahgw", "data": "LbKRwun2tAcaqAdxGJQoYg",
            "attachments": {"f50308a5-0000-4000-8000-000000000004": "RH7FW5Ug6qDgqKwO56g1Qg"}}}}
    });
    let mut header = JwsHeader::new();
    header.set_token_type("secevent+jwt");
    header.set_key_id(kid(signing()));
    let signer = PS512
        .signer_from_jwk(&josekit_jwk(&jose_keys::without_ops(
            &signing().private_jwk,
        )))
        .expect("signer");
    let token = josekit::jws::serialize_compact(claims.to_string().as_bytes(), &header, &signer)
        .expect("josekit signs");
    let keys = StaticKeys {
        delivery_service: vec![(
            "https://submission-api-testing.fit-connect.fitko.dev".into(),
            kid(signing()).into(),
            signing().public_jwk.public_key().expect("key"),
        )],
        destinations: Vec::new(),
    };
    let verified =
        set::verify(&token, &keys, &JoseLimits::default(), jose_keys::now()).expect("we verify");
    assert_eq!(verified.event, set::SUBMIT_SUBMISSION);
    let tags = verified.authentication_tags().expect("tags");
    assert_eq!(tags.attachments.len(), 1);
}
