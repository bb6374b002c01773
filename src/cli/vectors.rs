//! `poststelle vectors`: run the published test vectors, and (hidden) regenerate them.

use std::path::PathBuf;
use std::process::ExitCode;

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
pub fn run(args: &VectorsArgs) -> ExitCode {
    match &args.command {
        VectorsCommand::Verify { dir, quiet } => verify(dir, *quiet),
        VectorsCommand::Bless { dir, force } => match vectors::bless::bless(dir, *force) {
            Ok(done) => {
                println!(
                    "{} cases; {} files written, {} randomised files kept",
                    done.cases, done.written, done.kept
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("poststelle vectors bless: {e}");
                ExitCode::from(2)
            }
        },
    }
}

fn verify(dir: &std::path::Path, quiet: bool) -> ExitCode {
    let report = match vectors::run(dir) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("poststelle vectors verify: {e}");
            return ExitCode::from(2);
        }
    };
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
                "{:<5} {:<10} {:<width$} {detail}",
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
    if report.failed() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
