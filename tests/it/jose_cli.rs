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

fn decrypt_cli(jwe: &std::path::Path) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .arg("decrypt")
        .arg("--key")
        .arg(data("TEST-ONLY-enc.private.jwk.json"))
        .arg(jwe)
        .output()
        .expect("poststelle runs")
}

#[test]
fn decrypt_escapes_control_characters_of_kid_and_cty() {
    use poststelle::jose::jwe;
    use poststelle::jose::jwk::Jwk;
    let public = std::fs::read_to_string(data("TEST-ONLY-enc.public.jwk.json")).expect("key");
    let key = Jwk::from_json(&public)
        .and_then(|k| k.public_key())
        .expect("public key");
    // kid clears the screen and sets a colour; cty rings the bell and reverses the text.
    let header = br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"k\u001b[2J\u001b[31m","cty":"text/plain\u0007\u202e"}"#;
    let token = jwe::encrypt_with_header(b"hello", &key, header).expect("encrypt");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("evil.jwe");
    std::fs::write(&path, token).expect("write");
    let out = decrypt_cli(&path);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.stderr.iter().any(|&b| b == 0x1b || b == 0x07),
        "raw control characters on the terminal: {stderr:?}"
    );
    assert!(!stderr.contains('\u{202e}'), "{stderr:?}");
    assert!(stderr.contains(r"kid=k\u{1b}[2J\u{1b}[31m"), "{stderr}");
    assert!(stderr.contains(r"cty=text/plain\u{7}\u{202e}"), "{stderr}");
}

#[test]
fn decrypt_exits_1_for_a_jwe_over_the_size_limit() {
    // Like every other limit of the input (inflated size, header size): refused input, exit 1.
    // Before, only this one gave 2. A sparse file: nothing is written or read.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("huge.jwe");
    let file = std::fs::File::create(&path).expect("create");
    let limit = poststelle::Limits::default().jose.max_token_bytes as u64;
    file.set_len(limit + 1).expect("sparse file");
    let out = decrypt_cli(&path);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than the limit"));
}

#[cfg(unix)]
#[test]
fn keys_generate_writes_private_keys_0600_over_existing_files_and_never_through_symlinks() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("keys");
    std::fs::create_dir(&out).expect("mkdir");
    // Left over from an earlier run, world-readable: before, they kept that mode.
    let private = [
        "enc.private.jwk.json",
        "enc.private.pem",
        "sig.private.jwk.json",
        "sig.private.pem",
    ];
    for name in private {
        let p = out.join(name);
        std::fs::write(&p, b"old").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let out_arg = out.to_str().expect("utf-8");
    assert_eq!(
        run(["poststelle", "keys", "generate", "--out", out_arg]),
        ExitCode::SUCCESS
    );
    for name in private {
        assert_eq!(mode(&out.join(name)), 0o600, "{name}");
        assert_ne!(std::fs::read(out.join(name)).expect("read"), b"old");
    }

    // A symlink where a private key goes: refused, its target untouched.
    let target = dir.path().join("readable-by-all");
    std::fs::write(&target, b"not a key").expect("write");
    std::fs::remove_file(out.join("enc.private.jwk.json")).expect("rm");
    std::os::unix::fs::symlink(&target, out.join("enc.private.jwk.json")).expect("symlink");
    assert_eq!(
        run(["poststelle", "keys", "generate", "--out", out_arg]),
        ExitCode::from(2)
    );
    assert_eq!(std::fs::read(&target).expect("read"), b"not a key");
}

/// Before, `keys check` refused a self-signed key "allowed only by
/// dangerous.allow_self_signed_keys", a switch that exists nowhere; now it names its own flag,
/// and that flag, taken from the message, is accepted by clap and accepts the key.
#[test]
fn keys_check_names_the_real_flag_for_self_signed_keys() {
    let dir = tempfile::tempdir().expect("tmp");
    let keys = dir.path().join("keys");
    let bin = env!("CARGO_BIN_EXE_poststelle");
    let generated = std::process::Command::new(bin)
        .args(["keys", "generate", "--out"])
        .arg(&keys)
        .output()
        .expect("keys generate runs");
    assert!(generated.status.success());
    let public = keys.join("enc.public.jwk.json");
    let refused = std::process::Command::new(bin)
        .args(["keys", "check"])
        .arg(&public)
        .output()
        .expect("keys check runs");
    assert_eq!(refused.status.code(), Some(1));
    let text = String::from_utf8_lossy(&refused.stdout);
    assert!(!text.contains("dangerous.allow_self_signed_keys"), "{text}");
    let flag = text
        .split_whitespace()
        .find(|w| w.starts_with("--"))
        .unwrap_or_else(|| panic!("a flag is named: {text}"));
    let accepted = std::process::Command::new(bin)
        .args(["keys", "check", flag])
        .arg(&public)
        .output()
        .expect("keys check runs");
    assert!(
        accepted.status.success(),
        "{flag}: {}{}",
        String::from_utf8_lossy(&accepted.stdout),
        String::from_utf8_lossy(&accepted.stderr)
    );
}
