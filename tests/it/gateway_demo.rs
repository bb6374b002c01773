//! Acceptance 1 (end to end, in one process): `poststelle demo` runs sandbox → gateway →
//! file-drop upstream with the example XGewerbeanzeige and XBau submissions and one with a
//! wrong data hash; the account must show both accepted, the reject with exactly the
//! `hash-mismatch` problem, three acknowledgements, and two deliveries in the outbox.
//!
//! Both runs start the built binary in a temporary directory, not in the repository: the demo
//! must work from anywhere and from an installed binary (examples and the project's own
//! XGewerbeanzeige pack compiled in, XBau from the installed packs).

use std::path::Path;
use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `poststelle demo` in `cwd` with its default data directory (`cwd/demo-data`), the
/// shared development data out of reach and `packs` as the installed packs.
fn demo_in(cwd: &Path, packs: &Path) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(["demo", "--packs"])
        .arg(packs)
        .current_dir(cwd)
        .env("POSTSTELLE_SHARED", cwd.join("no-shared-data"))
        .env_remove("POSTSTELLE_PACKS")
        .output()
        .expect("demo runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// The message types of the envelopes in the outbox, sorted; each delivery is a directory
/// named by submission id holding the JSON envelope.
fn delivered_types(outbox: &Path, text: &str) -> Vec<String> {
    let mut types = Vec::new();
    for entry in std::fs::read_dir(outbox)
        .expect("outbox")
        .filter_map(Result::ok)
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
    {
        let env: serde_json::Value = serde_json::from_slice(
            &std::fs::read(entry.path().join("envelope.json")).expect("envelope"),
        )
        .expect("json");
        assert_eq!(
            env["submission"]["id"].as_str(),
            Some(&*entry.file_name().to_string_lossy()),
            "{text}"
        );
        assert!(env["data"].is_object(), "transformed data in the envelope");
        types.push(env["message"]["type"].as_str().expect("type").to_owned());
    }
    types.sort();
    types
}

#[test]
fn demo_accepts_the_examples_rejects_the_tampered_one_and_delivers() {
    let Some(shared) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let packs = dir.path().join("packs");
    let install = Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(["schemas", "install", "--packs"])
        .arg(&packs)
        .arg(shared.join("xoev/xbau-2.6/xsd_dev"))
        .output()
        .expect("schemas install runs");
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let (out, text) = demo_in(dir.path(), &packs);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ACCEPTED  XGewerbeanzeige 2.2 sta.gewerbemeldung.0100"),
        "{text}"
    );
    assert!(
        text.contains("ACCEPTED  XBau 2.6 baugenehmigung.antrag.0200"),
        "{text}"
    );
    assert!(
        text.contains(
            "REJECTED  https://schema.fitko.de/fit-connect/events/problems/hash-mismatch"
        ),
        "{text}"
    );
    assert!(
        text.contains("acknowledged at the delivery service: 3"),
        "{text}"
    );
    assert!(text.contains("delivered 2 of 2 job(s)"), "{text}");
    assert_eq!(
        delivered_types(&dir.path().join("demo-data/outbox"), &text),
        ["baugenehmigung.antrag.0200", "sta.gewerbemeldung.0100"]
    );
    // The answer (issue 15): the Fachverfahren's 0201 reaches the sender as a valid reply,
    // kept as replies/<reply id>.xml, and the Fachverfahren learns it was accepted.
    let line = text
        .lines()
        .find(|l| {
            l.contains("reply")
                && l.contains("baugenehmigung.formellePruefung.0201")
                && l.contains("sender")
        })
        .unwrap_or_else(|| panic!("no reply line in {text}"));
    assert!(line.contains("valid (XBau 2.6)"), "{line}");
    let saved: Vec<PathBuf> = std::fs::read_dir(dir.path().join("demo-data/replies"))
        .expect("replies directory")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}");
    let name = saved[0]
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    assert!(
        line.contains(name),
        "the line names the saved reply {name}: {line}"
    );
    let xml = std::fs::read_to_string(&saved[0]).expect("reply XML");
    assert!(
        xml.contains("baugenehmigung.formellePruefung.0201"),
        "{xml}"
    );
    assert!(
        text.contains("the Fachverfahren reads status accepted"),
        "{text}"
    );
}

/// A fresh clone or an installed binary without the XBau pack: the demo says so and runs the
/// XGewerbeanzeige part with the pack compiled into the binary.
#[test]
fn demo_without_installed_packs_runs_the_xgewerbeanzeige_part_from_any_directory() {
    let dir = tempfile::tempdir().expect("tmp");
    let (out, text) = demo_in(dir.path(), &dir.path().join("no-packs"));
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("the official xbau-2.6 pack is not installed"),
        "{text}"
    );
    assert!(
        text.contains("ACCEPTED  XGewerbeanzeige 2.2 sta.gewerbemeldung.0100"),
        "{text}"
    );
    assert!(
        text.contains(
            "REJECTED  https://schema.fitko.de/fit-connect/events/problems/hash-mismatch"
        ),
        "{text}"
    );
    assert!(!text.contains("XBau 2.6"), "{text}");
    assert!(
        text.contains("acknowledged at the delivery service: 2"),
        "{text}"
    );
    assert!(text.contains("delivered 1 of 1 job(s)"), "{text}");
    assert_eq!(
        delivered_types(&dir.path().join("demo-data/outbox"), &text),
        ["sta.gewerbemeldung.0100"]
    );
}

/// `serve` checks the whole configuration first: every error at once, exit 64.
#[test]
fn serve_reports_all_configuration_errors_with_exit_64() {
    let dir = tempfile::tempdir().expect("tmp");
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        "[pipeline]\nack_policy = \"sometimes\"\nconcurrency = 0\n[server]\nlisten = \"x\"\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(["serve", "--check", "--config"])
        .arg(&config)
        .output()
        .expect("serve runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{text}");
    for needle in ["ack_policy", "concurrency", "server.listen"] {
        assert!(text.contains(needle), "{needle} missing in {text}");
    }
}

/// A remote-delivery configuration in `dir` with generated keys and a client secret, plus
/// `extra` TOML; returns what `serve --check` says (exit code, stderr).
fn serve_check_remote(dir: &Path, extra: &str) -> (Option<i32>, String) {
    let keys = dir.join("keys");
    if !keys.exists() {
        let generated = Command::new(env!("CARGO_BIN_EXE_poststelle"))
            .args(["keys", "generate", "--out"])
            .arg(&keys)
            .output()
            .expect("keys generate runs");
        assert!(generated.status.success());
    }
    std::fs::write(dir.join("client-secret"), "client secret\n").expect("write");
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[delivery_service]\npreset = \"test\"\nclient_id = \"c\"\nclient_secret_file = \"client-secret\"\n\
             [destination]\nid = \"879ee109-a690-4db8-ab32-424284184d7d\"\n\
             encryption_keys = [\"keys/enc.private.jwk.json\"]\nsigning_key = \"keys/sig.private.jwk.json\"\n{extra}"
        ),
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(["serve", "--check", "--config"])
        .arg(&config)
        .env_remove("POSTSTELLE_STORE_PASSWORD")
        .output()
        .expect("serve runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Secret files are trimmed, and an empty one (an empty HMAC key or token would let anybody
/// in) stops `serve` at start with exit 64, naming the file.
#[test]
fn empty_callback_secret_file_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tmp");
    let run = |callback: &str, admin: &str| {
        std::fs::write(dir.path().join("callback-secret"), callback).expect("write");
        std::fs::write(dir.path().join("admin-token"), admin).expect("write");
        serve_check_remote(
            dir.path(),
            "callback_secret_file = \"callback-secret\"\n[server]\nadmin_token_file = \"admin-token\"\n",
        )
    };
    let (code, text) = run("\n", "token\n");
    assert_eq!(code, Some(64), "{text}");
    assert!(
        text.contains("callback-secret") && text.contains("empty"),
        "{text}"
    );
    // With a trailing newline only, the secret is fine.
    let (code, text) = run("the secret\n", "token\n");
    assert_eq!(code, Some(0), "{text}");
}

/// A reply token file (issue 15) is checked by `serve --check` like the other secrets: an
/// empty or missing one is exit 64 naming the file; the token itself is never shown.
#[test]
fn reply_token_files_are_checked() {
    let dir = tempfile::tempdir().expect("tmp");
    let extra =
        "[[upstream]]\nname = \"fv\"\nfile_drop = \"out\"\nreply_token_file = \"reply-token\"\n";
    let (code, text) = serve_check_remote(dir.path(), extra);
    assert_eq!(code, Some(64), "a missing token file: {text}");
    assert!(text.contains("reply-token"), "{text}");
    std::fs::write(dir.path().join("reply-token"), " \n").expect("write");
    let (code, text) = serve_check_remote(dir.path(), extra);
    assert_eq!(code, Some(64), "{text}");
    assert!(
        text.contains("reply-token") && text.contains("empty"),
        "{text}"
    );
    std::fs::write(dir.path().join("reply-token"), "fv-token-0123456789\n").expect("write");
    let (code, text) = serve_check_remote(dir.path(), extra);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("fv-token-0123456789"), "{text}");
}

/// Issue 13, scope 5: the PostgreSQL password comes from `[store] password_file` (relative to
/// the configuration file); a missing file, or a password in the address as well, stops
/// `serve` at start with exit 64, naming the file, never showing the password.
#[test]
fn store_password_file_is_checked_at_start_and_never_shown() {
    const SECRET: &str = "s3cr3t-pg-password";
    let dir = tempfile::tempdir().expect("tmp");
    let store = |address: &str| {
        format!("[store]\naddress = \"{address}\"\npassword_file = \"secrets/pg-password\"\n")
    };
    let (code, text) = serve_check_remote(dir.path(), &store("postgres://gw@db.example/p"));
    assert_eq!(code, Some(64), "{text}");
    assert!(text.contains("secrets/pg-password"), "{text}");
    std::fs::create_dir(dir.path().join("secrets")).expect("mkdir");
    std::fs::write(
        dir.path().join("secrets/pg-password"),
        format!("{SECRET}\n"),
    )
    .expect("write");
    let (code, text) = serve_check_remote(dir.path(), &store("postgres://gw@db.example/p"));
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    let (code, text) = serve_check_remote(
        dir.path(),
        &store(&format!("postgres://gw:{SECRET}@db.example/p")),
    );
    assert_eq!(code, Some(64), "{text}");
    assert!(
        text.contains("keep one") && !text.contains(SECRET),
        "{text}"
    );
    let (code, text) = serve_check_remote(dir.path(), &store("sqlite:data/p.db"));
    assert_eq!(code, Some(64), "{text}");
    assert!(text.contains("only for a postgres:// store"), "{text}");
}
