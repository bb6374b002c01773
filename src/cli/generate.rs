//! `poststelle generate` (hidden): the man pages, shell completions and configuration
//! reference, generated from what they document (the clap definition [`super::Cli`] and
//! [`crate::config::reference`]) so that they cannot drift from it. For packaging
//! (`scripts/build-deb.sh`) and for `docs/config-reference.md`.

use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory, Subcommand};
use clap_complete::Shell;

use crate::error::{CliError, Verdict};

/// Arguments of `poststelle generate`.
#[derive(Debug, Args)]
pub(crate) struct GenerateArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// Man pages: `poststelle.1` and one page per subcommand (`poststelle-serve.1`, …).
    Man {
        /// Directory to write the pages into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// A shell completion script (`poststelle.bash`, `_poststelle`, `poststelle.fish`, …).
    Completions {
        /// The shell.
        #[arg(long, value_enum)]
        shell: Shell,
        /// Directory to write the script into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// The `serve` configuration reference (Markdown), on stdout or into a file.
    ConfigReference {
        /// File to write (`docs/config-reference.md`) instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CliError + '_ {
    move |source| CliError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes the man pages into `dir`; returns the files written.
fn man_pages(dir: &Path) -> Result<Vec<PathBuf>, CliError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    clap_mangen::generate_to(super::Cli::command(), dir).map_err(io(dir))?;
    let mut pages: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "1"))
        .collect();
    pages.sort();
    Ok(pages)
}

/// Writes the completion script for `shell` into `dir`; returns its path.
fn completions(shell: Shell, dir: &Path) -> Result<PathBuf, CliError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    clap_complete::generate_to(shell, &mut super::Cli::command(), "poststelle", dir)
        .map_err(io(dir))
}

/// Runs `poststelle generate`.
pub(crate) fn execute(args: &GenerateArgs) -> super::CommandResult {
    match &args.what {
        What::Man { out } => {
            for page in man_pages(out)? {
                println!("{}", page.display());
            }
        }
        What::Completions { shell, out } => println!("{}", completions(*shell, out)?.display()),
        What::ConfigReference { out: None } => print!("{}", crate::config::reference::markdown()),
        What::ConfigReference { out: Some(path) } => {
            std::fs::write(path, crate::config::reference::markdown()).map_err(io(path))?;
        }
    }
    Ok(Verdict::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subcommands() -> Vec<String> {
        super::super::Cli::command()
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_owned())
            .collect()
    }

    #[test]
    fn the_man_page_names_every_subcommand_and_each_has_its_own_page() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pages = man_pages(dir.path()).expect("man pages");
        let main = std::fs::read_to_string(dir.path().join("poststelle.1")).expect("poststelle.1");
        let names = subcommands();
        assert!(names.len() >= 12, "{names:?}");
        for name in &names {
            // roff escapes the hyphens of names: `json\-schema`.
            let escaped = name.replace('-', "\\-");
            assert!(
                main.contains(&format!("poststelle\\-{escaped}(1)")),
                "poststelle.1 does not name {name}"
            );
            assert!(
                pages.contains(&dir.path().join(format!("poststelle-{name}.1"))),
                "no page for {name}: {pages:?}"
            );
        }
        assert!(main.contains(".TH poststelle 1"), "{main}");
        assert!(
            !pages.iter().any(|p| p.ends_with("poststelle-generate.1")),
            "the hidden generate command has no page: {pages:?}"
        );
        // Nested subcommands get pages too.
        assert!(pages.contains(&dir.path().join("poststelle-schemas-install.1")));
    }

    /// Parses the script with the shell's own `-n` when the shell is installed (bash always is
    /// on the machines this runs on; zsh and fish only where someone installed them).
    fn parses(shell: Shell, program: &str) {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = completions(shell, dir.path()).expect("completions");
        let text = std::fs::read_to_string(&script).expect("script");
        for name in subcommands() {
            assert!(text.contains(&name), "{program}: {name} not completed");
        }
        match std::process::Command::new(program)
            .arg("-n")
            .arg(&script)
            .output()
        {
            Ok(out) => assert!(
                out.status.success(),
                "{program} -n {}: {}",
                script.display(),
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                assert_ne!(program, "bash", "bash must be installed");
                eprintln!("{program} not installed: syntax not checked");
            }
            Err(e) => panic!("{program}: {e}"),
        }
    }

    #[test]
    fn bash_completions_parse() {
        parses(Shell::Bash, "bash");
    }

    #[test]
    fn zsh_completions_parse() {
        parses(Shell::Zsh, "zsh");
    }

    #[test]
    fn fish_completions_parse() {
        parses(Shell::Fish, "fish");
    }
}
