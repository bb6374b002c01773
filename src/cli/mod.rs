//! The command line: parses arguments and dispatches to one module per command.
//!
//! Exit codes follow xmllint and sysexits: 0 success, 1 "the input is invalid", 2 usage, I/O or
//! schema errors, 64 invalid configuration.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod queue;

/// poststelle — hardened FIT-Connect / XÖV gateway and offline tools.
#[derive(Debug, Parser)]
#[command(name = "poststelle", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect the store: list jobs, show a submission, list and re-drive dead letters.
    Queue(queue::QueueArgs),
}

/// Runs the command line with the given arguments (the first is the program name).
pub fn run<I, T>(args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // `--help` and `--version` are "errors" that print to stdout and succeed.
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Queue(args) => queue::run(args),
    }
}
