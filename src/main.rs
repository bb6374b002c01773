//! Thin entry point: `main → cli::run → ExitCode`.
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    poststelle::cli::run(std::env::args_os())
}
