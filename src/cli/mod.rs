//! The command line: parses arguments and dispatches to one module per command.
//!
//! Exit codes follow xmllint and sysexits ([`crate::error::exit`]): 0 success, 1 "the input is
//! invalid or breaks a limit", 2 usage, I/O or schema errors, 64 invalid configuration.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::error::{CliError, Verdict, exit};

mod console;
pub mod decrypt;
mod demo;
mod discover;
pub mod encrypt;
mod generate;
mod keyfile;
pub mod keys;
mod logging;
mod queue;
mod render;
mod replies;
mod reply;
mod sandbox;
pub mod schemas;
pub mod send;
mod serve;
mod signals;
pub mod transform;
pub mod validate;
pub mod vectors;

/// poststelle — hardened FIT-Connect / XÖV gateway and offline tools.
#[derive(Debug, Parser)]
#[command(name = "poststelle", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List, install and check schema packs (XSD sets of XÖV standards).
    Schemas(schemas::SchemasArgs),
    /// Validate XML files against an XSD 1.0 schema set (exit 0 valid, 1 invalid, 2 errors).
    Validate(validate::ValidateArgs),
    /// Validate an XÖV message and print its schema-driven JSON (exit 0, 1 invalid, 2 errors).
    Transform(transform::TransformArgs),
    /// Render a message as the case-worker view: a self-contained German HTML page on stdout.
    Render(render::RenderArgs),
    /// Decrypt a FIT-Connect JWE (RSA-OAEP-256 + A256GCM) with a private key.
    Decrypt(decrypt::DecryptArgs),
    /// Encrypt a file as a FIT-Connect JWE for a public key.
    Encrypt(encrypt::EncryptArgs),
    /// Generate test key pairs or check keys against the FIT-Connect rules.
    Keys(keys::KeysArgs),
    /// Run a local FIT-Connect delivery service (Submission API, OAuth, callbacks) for tests.
    Sandbox(sandbox::SandboxArgs),
    /// Send a submission (portal role): encrypt, upload, submit, wait for accept or reject.
    // Boxed: the trust and revocation options make it much larger than the other commands.
    Send(Box<send::SendArgs>),
    /// Run sandbox + gateway + file-drop upstream in one process with example submissions.
    Demo(demo::DemoArgs),
    /// Run the gateway: receive, check, store, acknowledge and forward submissions.
    Serve(serve::ServeArgs),
    /// Inspect the store: list jobs, show a submission, list and re-drive dead letters.
    Queue(queue::QueueArgs),
    /// The operator console's users: print a line for its users file.
    Console(console::ConsoleArgs),
    /// Answer a stored submission over FIT-Connect (as a Fachverfahren would through the reply
    /// API), show replies, re-drive a dead one.
    Reply(reply::ReplyArgs),
    /// Verify the published test vectors (test-vectors/) against this implementation.
    Vectors(vectors::VectorsArgs),
    /// Generate man pages, shell completions or the configuration reference (packaging).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

impl Command {
    /// Whether the command serves or calls peers over the network (and may run for long):
    /// there a peer closing its socket must be an error the command handles, never a signal
    /// that kills the process.
    fn talks_to_peers(&self) -> bool {
        matches!(
            self,
            Command::Serve(_) | Command::Sandbox(_) | Command::Demo(_) | Command::Send(_)
        )
    }
}

/// Output into a closed pipe (`poststelle validate … | head`) ends the process the way it ends
/// `cat` or `grep`: quietly, killed by SIGPIPE (status 141 in a shell), whatever the command
/// was writing and however (`println!`, a locked `stdout`). Rust starts programs with SIGPIPE
/// ignored, so without this every `println!` panics ("failed printing to stdout") and explicit
/// writes report `EPIPE` as an I/O error. Only for commands that do not talk to peers
/// ([`Command::talks_to_peers`]): a vectored socket write (`writev`) raises SIGPIPE too.
fn quiet_on_closed_pipe(command: &Command) {
    if !command.talks_to_peers() {
        sigpipe::reset();
    }
}

/// `s` safe to print on a terminal: control characters (C0, C1, DEL) and other invisible
/// format characters (bidi overrides) are escaped as `\u{…}`, backslashes and quotes as
/// `\\` and `\"`; text without them is borrowed unchanged. For strings a peer chose (JWE
/// header members), which must not move the cursor, recolour or hide output.
pub(crate) fn printable(s: &str) -> std::borrow::Cow<'_, str> {
    let plain = s.chars().all(|c| c.escape_debug().len() == 1);
    if plain {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.escape_debug().to_string())
    }
}

impl Command {
    /// The command's name, for the prefix of its error lines.
    fn name(&self) -> &'static str {
        match self {
            Command::Schemas(_) => "schemas",
            Command::Validate(_) => "validate",
            Command::Transform(_) => "transform",
            Command::Render(_) => "render",
            Command::Decrypt(_) => "decrypt",
            Command::Encrypt(_) => "encrypt",
            Command::Keys(_) => "keys",
            Command::Sandbox(_) => "sandbox",
            Command::Send(_) => "send",
            Command::Demo(_) => "demo",
            Command::Serve(_) => "serve",
            Command::Queue(_) => "queue",
            Command::Console(_) => "console",
            Command::Reply(_) => "reply",
            Command::Vectors(_) => "vectors",
            Command::Generate(_) => "generate",
        }
    }
}

/// What every command returns: its verdict, or the error that stopped it.
pub(crate) type CommandResult = Result<Verdict, CliError>;

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
            let code = if err.use_stderr() {
                exit::FAILED
            } else {
                exit::OK
            };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    quiet_on_closed_pipe(&cli.command);
    let name = cli.command.name();
    let result = match cli.command {
        Command::Schemas(args) => schemas::run(args),
        Command::Validate(args) => validate::run(&args),
        Command::Transform(args) => transform::run(&args),
        Command::Render(args) => render::run(&args),
        Command::Decrypt(args) => decrypt::execute(&args),
        Command::Encrypt(args) => encrypt::execute(&args),
        Command::Keys(args) => keys::execute(&args),
        Command::Sandbox(args) => sandbox::run(&args),
        Command::Send(args) => send::run(&args),
        Command::Queue(args) => queue::run(args),
        Command::Console(args) => console::run(&args),
        Command::Reply(args) => reply::run(args),
        Command::Vectors(args) => vectors::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Generate(args) => generate::execute(&args),
    };
    ExitCode::from(exit_code(name, &result))
}

/// The one place a command's result becomes an exit code: errors are printed, one line each,
/// prefixed with the command's name.
pub(crate) fn exit_code(name: &str, result: &CommandResult) -> u8 {
    match result {
        Ok(verdict) => verdict.exit_code(),
        Err(e) => {
            for line in e.to_string().lines() {
                eprintln!("poststelle {name}: {line}");
            }
            e.exit_code()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{exit_code, printable};
    use crate::error::{CliError, Verdict};

    #[test]
    fn verdicts_and_errors_map_to_the_documented_exit_codes() {
        let cases: [(super::CommandResult, u8); 9] = [
            (Ok(Verdict::Done), 0),
            (Ok(Verdict::Refused), 1),
            (Ok(Verdict::Undecided), 2),
            (Ok(Verdict::Pending), 3),
            (Err(CliError::OverLimit("big".into())), 1),
            (Err(CliError::Usage("how".into())), 2),
            (Err(CliError::failed("store down")), 2),
            (Err(CliError::Config("bad".into())), 64),
            (
                Err(CliError::ConfigProblems(vec!["a".into(), "b".into()])),
                64,
            ),
        ];
        for (result, code) in cases {
            assert_eq!(exit_code("test", &result), code, "{result:?}");
        }
        // A run over several groups of inputs reports the worst verdict.
        assert_eq!(Verdict::Refused.max(Verdict::Undecided), Verdict::Undecided);
        assert_eq!(Verdict::Done.max(Verdict::Refused), Verdict::Refused);
    }

    #[test]
    fn no_command_picks_an_exit_code_itself() {
        // The codes live in `error::exit`; `cli::run` (and `send::run_to` through the same
        // function) is the only place that turns a result into a process exit code.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/cli");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("src/cli") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "rs")
                && path.file_name().is_some_and(|n| n != "mod.rs")
            {
                let text = std::fs::read_to_string(&path).expect("source");
                if text.contains("ExitCode") {
                    offenders.push(path.display().to_string());
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "commands choosing exit codes: {offenders:?}"
        );
    }

    #[test]
    fn printable_escapes_what_drives_a_terminal() {
        assert_eq!(printable("enc-key-2026"), "enc-key-2026");
        assert!(matches!(
            printable("enc-key"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(printable("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(printable("x\u{7}\u{9b}\u{7f}"), "x\\u{7}\\u{9b}\\u{7f}");
        assert_eq!(printable("abc\u{202e}def"), "abc\\u{202e}def");
        assert_eq!(printable("a\nb\"c"), "a\\nb\\\"c");
    }
}
