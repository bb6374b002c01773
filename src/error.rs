//! The top-level error: every module error, tagged with where it came from.
//!
//! The origin decides how the error is answered: a `Client` error is the peer's fault (reject,
//! 4xx), an `Upstream` error is a dependency's fault (retry later), an `Internal` error is ours.

use std::fmt;

/// Who caused an error; decides retries, status codes and problem types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Origin {
    /// The input or the peer is at fault (bad document, bad token, bad request).
    Client,
    /// A dependency (delivery service, upstream, database) failed; worth retrying.
    Upstream,
    /// A bug or misconfiguration on our side.
    Internal,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Origin::Client => "client",
            Origin::Upstream => "upstream",
            Origin::Internal => "internal",
        })
    }
}

/// Errors of the command-line layer, with the exit code each maps to.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Wrong arguments or an unreadable input file (exit 2).
    #[error("{0}")]
    Usage(String),
    /// A configuration file is invalid (exit 64, like `EX_USAGE` from sysexits).
    #[error("configuration error: {0}")]
    Config(String),
    /// An I/O failure while reading or writing a named path (exit 2).
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}
