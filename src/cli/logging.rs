//! The log of the long-running commands (`serve`, `sandbox`), in one place: `tracing` events
//! on stderr, human-readable lines (colours only on a terminal) or, with `--log-format json`,
//! one JSON object per line for a log collector. The level filter comes from
//! `POSTSTELLE_LOG` in `RUST_LOG` syntax (default `info`; e.g.
//! `POSTSTELLE_LOG=poststelle::forward=debug,info`).
//!
//! Events carry identifiers (submission, case, destination, job), message types, decisions,
//! problem types and durations — never a value from metadata, Fachdaten or attachments.

use std::io::IsTerminal as _;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message` and the event's
    /// fields at the top level).
    Json,
}

/// Installs the process's log subscriber (once; later calls, e.g. from in-process tests,
/// change nothing). An invalid `POSTSTELLE_LOG` is reported and `info` used.
pub(crate) fn init(format: LogFormat) {
    let filter = match std::env::var("POSTSTELLE_LOG") {
        Ok(spec) => EnvFilter::try_new(&spec).unwrap_or_else(|e| {
            eprintln!("poststelle: POSTSTELLE_LOG {spec:?} ignored: {e}");
            EnvFilter::new("info")
        }),
        Err(_) => EnvFilter::new("info"),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}
