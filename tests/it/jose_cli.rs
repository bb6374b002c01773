//! The `decrypt`, `encrypt` and `keys` commands through `cli::run`: exit codes on the fixed
//! TEST-ONLY vectors (0 ok, 1 refused input, 2 usage/I-O).

use std::process::ExitCode;

use poststelle::cli::run;

fn data(name: &str) -> String {
    format!("{}/tests/it/data/jose/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn decrypt_fixed_vector_and_refusals() {
    let key = data("TEST-ONLY-enc.private.jwk.json");
    assert_eq!(
        run([
            "poststelle",
            "decrypt",
            "--key",
            &key,
            &data("metadata.jwcrypto-zip.jwe")
        ]),
        ExitCode::SUCCESS
    );
    // Not a JWE: refused input.
    assert_eq!(
        run([
            "poststelle",
            "decrypt",
            "--key",
            &key,
            &data("metadata.plain.json")
        ]),
        ExitCode::from(1)
    );
    // A public key cannot decrypt: usage error.
    let public = data("TEST-ONLY-enc.public.jwk.json");
    assert_eq!(
        run([
            "poststelle",
            "decrypt",
            "--key",
            &public,
            &data("metadata.jwcrypto-zip.jwe")
        ]),
        ExitCode::from(2)
    );
    assert_eq!(
        run(["poststelle", "decrypt", "--key", &key, "/nonexistent.jwe"]),
        ExitCode::from(2)
    );
}

#[test]
fn encrypt_then_decrypt_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("p.txt");
    std::fs::write(&plain, b"hello").expect("write");
    let public = data("TEST-ONLY-enc.public.jwk.json");
    assert_eq!(
        run([
            "poststelle",
            "encrypt",
            "--key",
            &public,
            "--cty",
            "text/plain",
            plain.to_str().expect("utf-8")
        ]),
        ExitCode::SUCCESS
    );
    // The signing key is not an encryption key.
    let sig = data("TEST-ONLY-sig.public.jwk.json");
    assert_eq!(
        run([
            "poststelle",
            "encrypt",
            "--key",
            &sig,
            plain.to_str().expect("utf-8")
        ]),
        ExitCode::from(2)
    );
}

#[test]
fn keys_check_needs_the_dangerous_switch_for_self_signed() {
    let public = data("TEST-ONLY-enc.public.jwk.json");
    assert_eq!(
        run(["poststelle", "keys", "check", &public]),
        ExitCode::from(1)
    );
    // The committed certificate may have expired when this runs years later; then 1 as well.
    let code = run([
        "poststelle",
        "keys",
        "check",
        "--dangerous-allow-self-signed",
        &public,
    ]);
    assert!(code == ExitCode::SUCCESS || code == ExitCode::from(1));
    assert_eq!(
        run([
            "poststelle",
            "keys",
            "check",
            &data("TEST-ONLY-enc.private.jwk.json")
        ]),
        ExitCode::SUCCESS
    );
}
