//! `poststelle vectors check-submission` and `vectors verify`: the per-rule report on captured
//! submissions (the published vectors' captures and tampered copies of them) and the CLI's exit
//! codes.

use std::path::{Path, PathBuf};

use poststelle::vectors::check::{RULES, RuleStatus, check_capture, problem_id};

fn suite() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors")
}

fn capture(id: &str) -> PathBuf {
    suite().join("submission").join(id)
}

fn keys() -> PathBuf {
    suite().join("keys")
}

/// A copy of a published capture in a temporary directory.
fn copy_capture(id: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = capture(id);
    std::fs::create_dir_all(tmp.path().join("attachments")).expect("mkdir");
    for name in [
        "submission.json",
        "events.json",
        "service-jwks.json",
        "capture.json",
    ] {
        std::fs::copy(src.join(name), tmp.path().join(name)).expect("copy");
    }
    for entry in std::fs::read_dir(src.join("attachments")).expect("attachments") {
        let entry = entry.expect("entry");
        std::fs::copy(
            entry.path(),
            tmp.path().join("attachments").join(entry.file_name()),
        )
        .expect("copy attachment");
    }
    tmp
}

#[test]
fn vectors_check_valid_capture_passes_every_rule() {
    let report =
        check_capture(&capture("submission-valid-xgewerbeanzeige"), &keys(), None).expect("run");
    assert!(report.accepted());
    assert_eq!(report.rules, vec![RuleStatus::Passed; RULES.len()]);
    let env = report.envelope.expect("envelope");
    assert_eq!(env["message"]["type"], "sta.gewerbemeldung.0100");
    assert_eq!(env["attachments"].as_array().map(Vec::len), Some(2));
}

#[test]
fn vectors_check_tampered_attachment_names_the_tag_rule() {
    let tmp = copy_capture("submission-valid-xgewerbeanzeige");
    // Swap the two attachment JWEs: both decrypt, but neither matches its tag any more.
    let dir = tmp.path().join("attachments");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let (a, b) = (
        std::fs::read(&files[0]).expect("a"),
        std::fs::read(&files[1]).expect("b"),
    );
    std::fs::write(&files[0], b).expect("write");
    std::fs::write(&files[1], a).expect("write");
    let report = check_capture(tmp.path(), &keys(), None).expect("run");
    assert!(!report.accepted());
    assert_eq!(report.rules[0], RuleStatus::Passed);
    assert_eq!(report.rules[1], RuleStatus::Passed);
    let RuleStatus::Failed(problems) = &report.rules[2] else {
        panic!("rule 3 (authentication-tags) must fail: {:?}", report.rules);
    };
    assert_eq!(problems.len(), 2);
    assert!(
        problems
            .iter()
            .all(|p| problem_id(p) == "incorrect-authentication-tag"
                && p.instance.starts_with("attachment:"))
    );
    assert!(
        report.rules[3..]
            .iter()
            .all(|r| *r == RuleStatus::NotReached)
    );
}

#[test]
fn vectors_check_rule_of_each_rejection_vector() {
    // Each published rejection lands in the rule that checks its problem type.
    for (id, rule) in [
        ("submission-technical-error-no-case-id", 0),
        ("submission-invalid-event-log-forged-set", 1),
        ("submission-missing-authentication-tags", 1),
        ("submission-incorrect-authentication-tag-metadata", 2),
        ("submission-encryption-issue-data-unknown-kid", 3),
        ("submission-unsupported-metadata-schema", 4),
        ("submission-missing-attachments", 5),
        ("submission-schema-violation-data", 6),
    ] {
        let report = check_capture(&capture(id), &keys(), None).expect("run");
        assert!(
            matches!(report.rules[rule], RuleStatus::Failed(_)),
            "{id}: {:?}",
            report.rules
        );
        assert!(
            report.rules[..rule]
                .iter()
                .all(|r| *r == RuleStatus::Passed),
            "{id}"
        );
    }
}

#[test]
fn vectors_check_without_decryption_key_is_an_error() {
    let empty = tempfile::tempdir().expect("tempdir");
    let err = check_capture(
        &capture("submission-valid-xgewerbeanzeige"),
        empty.path(),
        None,
    )
    .expect_err("no key");
    assert!(
        err.to_string().contains("no private encryption key"),
        "{err}"
    );
}

#[test]
fn vectors_cli_exit_codes() {
    let run = |args: &[&str]| {
        let mut all = vec!["poststelle", "vectors"];
        all.extend_from_slice(args);
        poststelle::cli::run(all)
    };
    let keys = keys();
    let keys = keys.to_str().expect("utf8");
    let ok = capture("submission-valid-xgewerbeanzeige");
    let bad = capture("submission-hash-mismatch-data");
    assert_eq!(
        run(&[
            "check-submission",
            ok.to_str().expect("utf8"),
            "--keys",
            keys
        ]),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        run(&[
            "check-submission",
            bad.to_str().expect("utf8"),
            "--keys",
            keys
        ]),
        std::process::ExitCode::from(1)
    );
    assert_eq!(
        run(&["check-submission", "/nonexistent", "--keys", keys]),
        std::process::ExitCode::from(2)
    );
    assert_eq!(
        run(&["verify", "--quiet", suite().to_str().expect("utf8")]),
        std::process::ExitCode::SUCCESS
    );
    assert_eq!(
        run(&["verify", "/nonexistent"]),
        std::process::ExitCode::from(2)
    );
}
