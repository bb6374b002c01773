//! `poststelle console user NAME`: a line for the console's users file (`[console] users_file`,
//! [`crate::console::Users`]). The password is read from standard input (one line; the line
//! end is not part of it), never from the command line, where other users of the machine
//! could see it; the line goes to standard output:
//! `printf '%s\n' "$PW" | poststelle console user m.muster >> secrets/console-users`.

use std::io::BufRead as _;

use crate::error::{CliError, Verdict};

/// Arguments of `poststelle console`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ConsoleArgs {
    #[command(subcommand)]
    command: ConsoleCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
enum ConsoleCommand {
    /// Print a users-file line for NAME with the password read from standard input.
    User {
        /// The user name (1 to 64 of A-Z a-z 0-9 . _ @ -); the access log records it.
        #[arg(value_name = "NAME")]
        name: String,
        /// PBKDF2 iterations (at least 100000).
        #[arg(long, default_value_t = crate::console::DEFAULT_ITERATIONS, value_parser = clap::value_parser!(u32).range(i64::from(crate::console::MIN_ITERATIONS)..))]
        iterations: u32,
    },
}

/// Runs the command.
pub(crate) fn run(args: &ConsoleArgs) -> super::CommandResult {
    match &args.command {
        ConsoleCommand::User { name, iterations } => {
            let mut line = zeroize::Zeroizing::new(String::new());
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|e| CliError::Usage(format!("standard input: {e}")))?;
            let password = line.strip_suffix('\n').unwrap_or(&line);
            let password = password.strip_suffix('\r').unwrap_or(password);
            let out = crate::console::hash_line(name, password, *iterations)
                .map_err(|why| CliError::Usage(why.to_owned()))?;
            println!("{out}");
            Ok(Verdict::Done)
        }
    }
}
