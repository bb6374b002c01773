//! `poststelle vectors`: run the published test vectors, check a vendor's captured submission
//! against every receive-side rule, and (hidden) regenerate the vectors.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Verdict};

use crate::vectors::check::{self, RuleStatus};
use crate::vectors::{self, Status};

/// Arguments of `poststelle vectors`.
#[derive(Debug, clap::Args)]
pub struct VectorsArgs {
    #[command(subcommand)]
    command: VectorsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum VectorsCommand {
    /// Run every case of the suite and print a table (exit 1 on any unexpected result).
    Verify {
        /// The suite directory (holding manifest.json).
        #[arg(value_name = "DIR", default_value = "test-vectors")]
        dir: PathBuf,
        /// Print only failures and the summary.
        #[arg(long)]
        quiet: bool,
    },
    /// Run every receive-side rule on a captured submission and report each rule.
    CheckSubmission {
        /// The capture directory (submission.json, attachments/, events.json, service-jwks.json,
        /// capture.json).
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Directory with the destination's private decryption key(s) (*.jwk.json) and,
        /// optionally, its signing JWKS (*.jwks.json) for its own SETs in the event log.
        #[arg(long, value_name = "DIR")]
        keys: PathBuf,
        /// "now" in Unix seconds (default: the capture time in capture.json).
        #[arg(long, value_name = "UNIX_SECONDS")]
        now: Option<i64>,
        /// Print the JSON envelope of an accepted submission.
        #[arg(long)]
        envelope: bool,
    },
    /// Write the suite (keys and randomised artefacts are kept unless --force).
    #[command(hide = true)]
    Bless {
        /// The suite directory.
        #[arg(value_name = "DIR", default_value = "test-vectors")]
        dir: PathBuf,
        /// Regenerate randomised artefacts (JWEs, SETs) even if they exist.
        #[arg(long)]
        force: bool,
    },
}

/// Runs the command.
pub(crate) fn run(args: &VectorsArgs) -> super::CommandResult {
    match &args.command {
        VectorsCommand::Verify { dir, quiet } => verify(dir, *quiet),
        VectorsCommand::CheckSubmission {
            dir,
            keys,
            now,
            envelope,
        } => check_submission(dir, keys, *now, *envelope),
        VectorsCommand::Bless { dir, force } => match vectors::bless::bless(dir, *force) {
            Ok(done) => {
                println!(
                    "{} cases; {} files written, {} randomised files kept",
                    done.cases, done.written, done.kept
                );
                Ok(Verdict::Done)
            }
            Err(e) => Err(CliError::failed(format_args!("bless: {e}"))),
        },
    }
}

fn check_submission(
    dir: &Path,
    keys: &Path,
    now: Option<i64>,
    envelope: bool,
) -> super::CommandResult {
    let report = check::check_capture(dir, keys, now)
        .map_err(|e| CliError::failed(format_args!("check-submission: {e}")))?;
    println!("check-submission {}", dir.display());
    for (i, ((name, what), status)) in check::RULES.iter().zip(&report.rules).enumerate() {
        match status {
            RuleStatus::Passed => println!("  pass  {}. {name}: {what}", i + 1),
            RuleStatus::NotReached => {
                println!(
                    "  skip  {}. {name}: not checked (an earlier rule failed)",
                    i + 1
                );
            }
            RuleStatus::Deferred(reason) => {
                println!("  wait  {}. {name}: cannot be decided yet: {reason}", i + 1);
            }
            RuleStatus::Failed(problems) => {
                println!("  FAIL  {}. {name}: {what}", i + 1);
                for p in problems {
                    println!(
                        "        {} at {}: {} — {}",
                        check::problem_id(p),
                        p.instance,
                        p.title,
                        p.detail
                    );
                }
            }
        }
    }
    match &report.envelope {
        Some(env) => {
            println!("result: ACCEPT (the gateway would store, forward and acknowledge it)");
            if envelope {
                println!("{}", serde_json::to_string_pretty(env).unwrap_or_default());
            }
            Ok(Verdict::Done)
        }
        None if report.deferred() => {
            println!(
                "result: DEFERRED (the gateway keeps it unacknowledged and checks it again later)"
            );
            Ok(Verdict::Refused)
        }
        None => {
            println!("result: REJECT (reject-submission with the problems above)");
            Ok(Verdict::Refused)
        }
    }
}

fn verify(dir: &Path, quiet: bool) -> super::CommandResult {
    let report = vectors::run(dir).map_err(|e| CliError::failed(format_args!("verify: {e}")))?;
    let width = report
        .outcomes
        .iter()
        .map(|o| o.id.len())
        .max()
        .unwrap_or(0);
    for o in &report.outcomes {
        let detail = match &o.status {
            Status::Pass => String::new(),
            Status::Fail(why) => why.clone(),
            Status::XFail(reason) => format!("expected failure: {reason}"),
            Status::XPass => "passed although marked xfail (remove the xfail entry)".into(),
        };
        if !quiet || o.status.is_unexpected() {
            println!(
                "{:<5} {:<15} {:<width$} {detail}",
                o.status.label(),
                o.kind.as_str(),
                o.id
            );
        }
    }
    println!(
        "vectors: {} passed, {} failed ({} cases, {} expected failures)",
        report.passed(),
        report.failed(),
        report.outcomes.len(),
        report.xfailed()
    );
    Ok(Verdict::of(report.failed() == 0))
}
