//! The shared test data beside the repository (`$POSTSTELLE_SHARED`, else `../shared`): the
//! official XBau 2.6 pack and samples, the KoSIT XGewerbeanzeige examples, the W3C XSD suite and
//! FIT-Connect's official schemas. None of it is in the repository (third-party licences), so a
//! fresh clone has none of it: a test that needs it skips with one printed reason, and fails
//! instead when `CI` is set (CI always has the data; a skip there would hide a lost test).

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The shared test-data directory: `$POSTSTELLE_SHARED`, else `<manifest>/../shared`.
pub(crate) fn shared() -> PathBuf {
    std::env::var_os("POSTSTELLE_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"))
}

/// The official XBau 2.6 pack (its `xsd_dev`, `ROOTS.tsv`) and the XBau samples.
pub(crate) const XBAU: &str = "xoev/xbau-2.6";
/// The XBau sample messages (third-party, positive and negative).
pub(crate) const XBAU_SAMPLES: &str = "xoev/samples/xbau";
/// The KoSIT XGewerbeanzeige examples and the unknown-document sample.
pub(crate) const XGEWERBEANZEIGE_SAMPLES: &str = "xoev/samples/xgewerbeanzeige";
/// The W3C XML Schema test suite.
pub(crate) const W3C_SUITE: &str = "w3c-xsdtests";

/// Ends a test that cannot run here (shared data or an interop oracle missing): prints `SKIPPED <test>: <reason>` where `cargo test`
/// shows it (straight to stderr: the harness captures only `print!`/`eprint!`), or panics when
/// `CI` is set, where whatever is missing is an install or checkout bug.
pub(crate) fn skip(reason: &str) {
    let test = std::thread::current()
        .name()
        .unwrap_or("(unnamed test)")
        .to_owned();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: CI is set, so this must not be skipped: {reason}"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: {reason}");
}

/// `shared()/rel` for every `rel` in `parts` when all exist; otherwise [`skip`] naming the
/// first missing one and `None` (the caller returns).
pub(crate) fn shared_or_skip(parts: &[&str]) -> Option<PathBuf> {
    let root = shared();
    match parts.iter().find(|rel| !root.join(rel).exists()) {
        None => Some(root),
        Some(rel) => {
            skip(&format!(
                "needs the shared test data {rel} (not found under {}; set POSTSTELLE_SHARED)",
                root.display()
            ));
            None
        }
    }
}

/// Skips the test unless the official XBau 2.6 pack and the XÖV samples (XBau and
/// XGewerbeanzeige) are there; returns the shared directory.
pub(crate) fn xoev_or_skip() -> Option<PathBuf> {
    shared_or_skip(&[XBAU, XBAU_SAMPLES, XGEWERBEANZEIGE_SAMPLES])
}
