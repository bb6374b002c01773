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

/// The exit codes of every command, in one place (the README's "Exit codes" line says the
/// same): the offline tools answer like xmllint, the gateway's configuration check like
/// sysexits. Commands never pick a number: they return a [`Verdict`] or a [`CliError`], and
/// `cli::run` maps it here, once.
pub mod exit {
    /// Success; every input valid.
    pub const OK: u8 = 0;
    /// Some input is invalid or breaks a limit (`Limits`): it is refused, as the gateway
    /// would refuse it. A limit is part of what is accepted, so over a limit is not "could
    /// not decide" but "no".
    pub const INVALID: u8 = 1;
    /// Usage, I/O, schema or unsupported-document errors: no verdict on the input.
    pub const FAILED: u8 = 2;
    /// `send`: submitted, but no decision arrived within `--wait`.
    pub const PENDING: u8 = 3;
    /// An invalid configuration file (`EX_USAGE` of sysexits).
    pub const CONFIG: u8 = 64;
}

/// How a command that ran to its end judged its input; what it found is already printed (its
/// report on stdout). Errors that stopped a command are [`CliError`]s. Ordered by severity:
/// the verdict of a run over several groups of inputs is the `max` of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Verdict {
    /// Done; every input valid, accepted or found (exit 0).
    Done,
    /// Some input is invalid, over a limit, rejected or not found (exit 1).
    Refused,
    /// The report names inputs the command could not judge (unreadable, unsupported, a schema
    /// that does not compile): no verdict on them (exit 2).
    Undecided,
    /// Submitted, no decision yet (`send --wait`, exit 3).
    Pending,
}

impl Verdict {
    /// `Done` when `ok`, else `Refused`.
    #[must_use]
    pub fn of(ok: bool) -> Self {
        if ok { Self::Done } else { Self::Refused }
    }

    /// The exit code this verdict maps to ([`exit`]).
    #[must_use]
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Done => exit::OK,
            Self::Refused => exit::INVALID,
            Self::Undecided => exit::FAILED,
            Self::Pending => exit::PENDING,
        }
    }
}

/// Errors of the command-line layer, with the exit code each maps to. `cli::run` prints them
/// (each line prefixed with the command's name) and exits with [`CliError::exit_code`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// Wrong arguments or an unreadable input file (exit 2).
    #[error("{0}")]
    Usage(String),
    /// An input file is larger than a limit allows (exit 1, like any input that breaks a
    /// limit).
    #[error("{0}")]
    OverLimit(String),
    /// A configuration file is invalid (exit 64, like `EX_USAGE` from sysexits).
    #[error("configuration error: {0}")]
    Config(String),
    /// A configuration with several problems, one line each, all reported at once (exit 64).
    #[error("{}", .0.join("\n"))]
    ConfigProblems(Vec<String>),
    /// The command could not do its work: the runtime, the store, the network, a listener
    /// (exit 2). One line per problem.
    #[error("{}", .0.join("\n"))]
    Failed(Vec<String>),
    /// An I/O failure while reading or writing a named path (exit 2).
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl CliError {
    /// A failure with one line of explanation (exit 2).
    pub fn failed(message: impl fmt::Display) -> Self {
        Self::Failed(vec![message.to_string()])
    }

    /// The exit code this error maps to ([`exit`]).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::OverLimit(_) => exit::INVALID,
            Self::Config(_) | Self::ConfigProblems(_) => exit::CONFIG,
            Self::Usage(_) | Self::Failed(_) | Self::Io { .. } => exit::FAILED,
        }
    }
}
