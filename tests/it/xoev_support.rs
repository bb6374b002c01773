//! Shared helpers of the `xoev_*` tests: where the shared test data and the binary are.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub(crate) use crate::shared_data::shared;

/// The self-contained official XBau 2.6 set.
pub(crate) fn xbau_xsd_dev() -> PathBuf {
    shared().join("xoev/xbau-2.6/xsd_dev")
}

/// A path inside the repository.
pub(crate) fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs the poststelle binary in the repository root with the given arguments.
pub(crate) fn poststelle(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("POSTSTELLE_SHARED", shared())
        .env_remove("POSTSTELLE_PACKS")
        .output()
        .expect("poststelle binary runs")
}

/// Stdout and stderr of a run, for assertions and failure messages.
pub(crate) fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
