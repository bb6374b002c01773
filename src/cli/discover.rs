//! Finding the schema for a document when none is named on the command line: root element →
//! catalogue → schema pack (installed, else a development fallback) → entry XSD.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use crate::config::Limits;
use crate::error::Verdict;
use crate::xml::XmlErrorKind;
use crate::xoev::catalog::Catalog;
use crate::xoev::pack::{PackSources, discover};
use crate::xoev::pack_files::PackLimits;
use crate::xoev::registry::Registry;
use crate::xoev::root::{RootName, document_root};

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
    /// The pack's business rules (Schematron files), possibly none.
    pub(crate) rules: Vec<PathBuf>,
    /// The pack's code lists, possibly none.
    pub(crate) codelists: Vec<PathBuf>,
}

/// Why a document got no schema (or no root), with the verdict that earns.
pub(crate) struct NotChosen {
    /// [`Verdict::Refused`] when the document itself is refused (not well-formed, over a
    /// reader limit), [`Verdict::Undecided`] when it cannot be judged (unreadable,
    /// unsupported).
    pub(crate) verdict: Verdict,
    /// The kind, as `validate --json` names it: `io` (unreadable), `unsupported` (no pack
    /// for the root element), `limit` or `not-well-formed` (refused while reading the root,
    /// the kinds the validator gives the same faults).
    pub(crate) kind: &'static str,
    /// What happened, without values.
    pub(crate) message: String,
}

impl NotChosen {
    fn failed(kind: &'static str, message: impl ToString) -> Self {
        Self {
            verdict: Verdict::Undecided,
            kind,
            message: message.to_string(),
        }
    }
}

/// The root element of the document at `path`. Reading only up to the root is already
/// reading the document: a document that is not well-formed or breaks a reader limit there is
/// refused input, exactly as if the validator had found it.
pub(crate) fn root_of(path: &Path, limits: &Limits) -> Result<RootName, NotChosen> {
    let file =
        File::open(path).map_err(|e| NotChosen::failed("io", format!("cannot open: {e}")))?;
    document_root(BufReader::new(file), &limits.xml).map_err(|e| {
        let (verdict, kind) = match e.kind {
            XmlErrorKind::Io(_) => (Verdict::Undecided, "io"),
            XmlErrorKind::LimitExceeded { .. } => (Verdict::Refused, "limit"),
            _ => (Verdict::Refused, "not-well-formed"),
        };
        NotChosen {
            verdict,
            kind,
            message: e.to_string(),
        }
    })
}

/// Chooses the schema for the document at `path` by its root element.
pub(crate) fn schema_for(
    registry: &Registry<'_>,
    path: &Path,
    limits: &Limits,
) -> Result<Chosen, NotChosen> {
    let root = root_of(path, limits)?;
    let resolved = registry
        .resolve(&root.namespace, &root.local)
        .map_err(|e| NotChosen::failed("unsupported", e))?;
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
        rules: resolved.pack.schematron.clone(),
        codelists: resolved.pack.codelists.clone(),
    })
}
