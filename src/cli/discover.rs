//! Finding the schema for a document when none is named on the command line: root element →
//! catalogue → schema pack (installed, else a development fallback) → entry XSD.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::config::Limits;
use crate::xoev::catalog::Catalog;
use crate::xoev::pack::{PackSources, discover};
use crate::xoev::pack_files::PackLimits;
use crate::xoev::registry::Registry;
use crate::xoev::root::document_root;

/// The registry over the embedded catalogue and the packs on this machine, built once per run
/// (loading a pack fingerprints all its files). Packs that fail to load are reported on stderr
/// and left out, so their messages resolve as "not installed".
pub(crate) fn registry() -> Registry<'static> {
    let (registry, broken) = discover(
        Catalog::embedded(),
        &PackSources::from_env(None),
        &PackLimits::default(),
    );
    for (dir, err) in broken {
        eprintln!("warning: schema pack {} not loaded: {err}", dir.display());
    }
    registry
}

/// The schema chosen for a document.
pub(crate) struct Chosen {
    /// The entry schema document.
    pub(crate) entry: PathBuf,
    /// `XBau 2.6 baugenehmigung.antrag.0200 (xbau-2.6@sha256:…)`, for messages.
    pub(crate) label: String,
}

/// Chooses the schema for the document at `path` by its root element.
pub(crate) fn schema_for(
    registry: &Registry<'_>,
    path: &Path,
    limits: &Limits,
) -> Result<Chosen, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let root = document_root(BufReader::new(file), &limits.xml).map_err(|e| e.to_string())?;
    let resolved = registry
        .resolve(&root.namespace, &root.local)
        .map_err(|e| e.to_string())?;
    // Packs are flat directories: absolute `schemaLocation` URLs resolve to the file of the
    // same name beside the entry (`xsd::compile_file`), which is what the catalogue's URL map
    // says for every known pack.
    let m = &resolved.message;
    Ok(Chosen {
        entry: resolved.entry.clone(),
        label: format!(
            "{} {} {} ({})",
            m.standard,
            m.version,
            root.local,
            resolved.pack.label()
        ),
    })
}
