//! Interoperability with Python jwcrypto (installed by `.ci/install.d/30-jose.sh`): all four
//! directions through `tests/interop/jwcrypto_interop.py`. Without python3 + jwcrypto the test
//! is skipped locally but fails under CI (`CI` set), so a broken install cannot pass silently.

use std::path::{Path, PathBuf};
use std::process::Command;

use poststelle::config::JoseLimits;
use poststelle::fitconnect::set::{self, AuthenticationTags, StaticKeys, SubmissionRef};
use poststelle::jose::jwe::{self, CompactJwe};

use crate::jose_keys::{self, encryption, kid, signing};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/jwcrypto_interop.py")
}

fn python_available() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import jwcrypto"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        crate::shared_data::skip(
            "python3 with jwcrypto not available; see .ci/install.d/30-jose.sh",
        );
    }
    ok
}

fn py(args: &[&str]) -> Vec<u8> {
    let out = Command::new("python3")
        .arg(script())
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "jwcrypto_interop.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn jwcrypto_four_directions() {
    if !python_available() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| {
        dir.path()
            .join(name)
            .to_str()
            .expect("utf-8 path")
            .to_owned()
    };
    std::fs::write(path("enc.pub.json"), encryption().public_jwk.to_json()).expect("write");
    std::fs::write(path("enc.priv.json"), encryption().private_jwk.to_json()).expect("write");
    std::fs::write(path("sig.pub.json"), signing().public_jwk.to_json()).expect("write");
    std::fs::write(path("sig.priv.json"), signing().private_jwk.to_json()).expect("write");
    let payload = "{\"Antrag\":\"Müller\"}".repeat(100);
    std::fs::write(path("plain"), &payload).expect("write");

    // 1. jwcrypto encrypts (plain and zip: DEF) → we decrypt.
    for zip in ["nozip", "zip"] {
        let token = py(&["encrypt", &path("enc.pub.json"), &path("plain"), zip]);
        let token = String::from_utf8(token).expect("ascii");
        let jwe = CompactJwe::parse(token.trim(), &JoseLimits::default()).expect("parse");
        assert_eq!(jwe.header().deflated, zip == "zip");
        let plain = jwe
            .decrypt(&jose_keys::ring(), &JoseLimits::default())
            .expect("we decrypt");
        assert_eq!(plain.bytes(), payload.as_bytes());
    }

    // 2. We encrypt → jwcrypto decrypts.
    let token = jwe::encrypt(
        payload.as_bytes(),
        &jose_keys::enc_public(),
        kid(encryption()),
        Some("application/json"),
    )
    .expect("encrypt");
    std::fs::write(path("ours.jwe"), &token).expect("write");
    assert_eq!(
        py(&["decrypt", &path("enc.priv.json"), &path("ours.jwe")]),
        payload.as_bytes()
    );

    // 3. We sign a SET → jwcrypto verifies PS512.
    let subject = SubmissionRef {
        destination_id: "40847c29-06aa-40e2-bf28-c29884c694c4",
        submission_id: "02bf1d9f-282d-4abf-810a-c4104baf0afe",
        case_id: "452b5ee6-35df-441a-bd39-6141723cf914",
    };
    let tags = AuthenticationTags {
        metadata: token.rsplit('.').next().expect("5 parts").to_owned(),
        ..AuthenticationTags::default()
    };
    let set_token = set::accept_submission(
        &jose_keys::signing_key(),
        &subject,
        &tags,
        jose_keys::now(),
        set::PayloadSchema::default(),
    );
    std::fs::write(path("ours.set"), &set_token).expect("write");
    let claims: serde_json::Value =
        serde_json::from_slice(&py(&["verify", &path("sig.pub.json"), &path("ours.set")]))
            .expect("JSON");
    assert_eq!(claims["iss"], subject.destination_id);

    // 4. jwcrypto signs → we verify.
    let claims = serde_json::json!({
        "jti": "ee7e1bfd-0000-4000-8000-000000000001",
        "iss": "https://submission-api-testing.fit-connect.fitko.dev",
        "iat": jose_keys::now() - 5,
        "sub": "submission:5e82c135-0000-4000-8000-000000000002",
        "txn": "case:c9f0db91-0000-4000-8000-000000000003",
        "events": {set::SUBMIT_SUBMISSION: {"authenticationTags": {"metadata": "rJzLKF3ApPQN-gUfK-Ahgw"}}}
    });
    std::fs::write(path("claims.json"), claims.to_string()).expect("write");
    let token = py(&["sign", &path("sig.priv.json"), &path("claims.json")]);
    let token = String::from_utf8(token).expect("ascii");
    let keys = StaticKeys {
        delivery_service: vec![(
            "https://submission-api-testing.fit-connect.fitko.dev".into(),
            kid(signing()).into(),
            signing().public_jwk.public_key().expect("key"),
        )],
        destinations: Vec::new(),
    };
    let verified = set::verify(
        token.trim(),
        &keys,
        &JoseLimits::default(),
        jose_keys::now(),
    )
    .expect("we verify");
    assert_eq!(verified.event, set::SUBMIT_SUBMISSION);
}
