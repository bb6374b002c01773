//! The store of installed schema packs: install, load, verify, discover.
//!
//! This is the one part of `xoev` that touches the file system, and only for operator-managed
//! schema files (never payloads). Layout: `<packs>/<pack-id>/…files…` plus
//! `<packs>/<pack-id>/pack.toml`:
//!
//! ```toml
//! id = "xbau-2.6"
//! title = "XBau 2.6 …"
//! fingerprint = "sha256:…"   # see `fingerprint`
//! files = 45
//! source = "xsd_dev"          # file name of what was installed, for humans
//! kind = "json"               # only for JSON schema packs (absent: XSD)
//! ```
//!
//! Every load recomputes the fingerprint, so a pack changed after installation is refused
//! everywhere, not only by `schemas check`.
//!
//! Two kinds of pack share the store: XSD sets of XÖV standards, recognised through the
//! catalogue, and JSON schema packs for JSON Fachdaten ([`crate::fim`]), which describe
//! themselves by their `$id`s (a source without `.xsd` files and with `.json` files). A JSON
//! pack's id is given at install or derived from the source's name; every schema of it is
//! compiled before it is installed, so a `$ref` leaving the pack is an install error.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, PackSpec, is_safe_id};
use super::pack_files::{
    CODELIST_DIR, PackFiles, PackLimits, SourceError, is_codelist, pack_name, read_dir, read_source,
};
use super::registry::{LoadedJsonPack, LoadedPack, PackOrigin, Registry, RootIndex};
use super::xsd_summary::{SummaryError, summarise};
use crate::config::Limits;
use crate::fim::{JsonPack, JsonPackError};

/// Name of the manifest inside an installed pack.
pub const MANIFEST: &str = "pack.toml";

/// Errors of the pack store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// Reading the source directory or zip failed or broke a limit.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A schema file could not be summarised.
    #[error("{file}: {source}")]
    Schema {
        /// Relative path of the file in the pack.
        file: String,
        /// What was wrong.
        source: SummaryError,
    },
    /// No `.xsd` file declares a namespace the catalogue knows.
    #[error("no known standard found (target namespaces: {})", .0.join(", "))]
    Unrecognised(Vec<String>),
    /// An entry schema of the pack does not compile (schema errors, or a limit of
    /// `limits.xsd` hit by a hostile or broken pack).
    #[error(
        "entry schema {entry} does not compile ({} error(s)); first: {}",
        .errors.len(),
        .errors.first().map(ToString::to_string).unwrap_or_default()
    )]
    Compile {
        /// The entry file, relative to the pack.
        entry: String,
        /// The schema errors.
        errors: Vec<crate::xsd::SchemaError>,
    },
    /// A Schematron file of the pack's business rules does not compile.
    #[error("business rules: {0}")]
    Rules(String),
    /// The pack is already installed and `--force` was not given.
    #[error("pack {0} is already installed (use --force to replace it)")]
    AlreadyInstalled(String),
    /// `pack.toml` is missing or invalid.
    #[error("{path}: invalid pack manifest: {reason}")]
    Manifest {
        /// The manifest path.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// The files no longer match the fingerprint recorded at installation.
    #[error("pack {id}: content fingerprint mismatch (recorded {recorded}, found {found})")]
    FingerprintMismatch {
        /// The pack id.
        id: String,
        /// Fingerprint in `pack.toml`.
        recorded: String,
        /// Fingerprint of the files now.
        found: String,
    },
    /// A JSON schema pack is not usable: a file is not a schema with an absolute `$id`, or a
    /// schema does not compile (a `$ref` leaving the pack, an invalid schema).
    #[error(transparent)]
    Json(#[from] JsonPackError),
    /// No pack id was given and none can be derived from the source's name.
    #[error("{0}: cannot derive a pack id from the name (give --id, [a-z0-9._-]+)")]
    NoId(String),
    /// The pack id given is not `[a-z0-9._-]+`.
    #[error("pack id {0:?} is not [a-z0-9._-]+")]
    BadId(String),
    /// Writing the pack failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> PackError + '_ {
    move |source| PackError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a pack holds.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum PackKind {
    /// XSD files of an XÖV standard (recognised through the catalogue).
    #[default]
    Xsd,
    /// JSON Schemas of JSON Fachdaten, identified by their `$id`s.
    Json,
}

impl PackKind {
    /// Whether this is the default kind (not written to `pack.toml`, as before JSON packs).
    #[must_use]
    pub fn is_xsd(&self) -> bool {
        *self == Self::Xsd
    }
}

/// The manifest of an installed pack (`pack.toml`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PackManifest {
    /// Pack id from the catalogue.
    pub id: String,
    /// Title from the catalogue.
    pub title: String,
    /// Content fingerprint at installation.
    pub fingerprint: String,
    /// Number of files.
    pub files: usize,
    /// File name of the installed directory or zip (no path), for humans.
    pub source: String,
    /// What the pack holds (absent in `pack.toml`: XSD).
    #[serde(default, skip_serializing_if = "PackKind::is_xsd")]
    pub kind: PackKind,
    /// The global element declarations of the pack's XSD files, recorded at installation
    /// (`[[root]]` tables; absent in packs installed before, and in JSON packs). Loading the
    /// pack takes them from here once its fingerprint is verified, instead of parsing every
    /// XSD file again on each start of a command.
    #[serde(default, rename = "root", skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<RecordedRoot>,
}

/// One global element declaration of an installed pack, as `pack.toml` records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RecordedRoot {
    /// Target namespace of the declaring file.
    pub namespace: String,
    /// Local name of the element.
    pub element: String,
    /// The declaring XSD file (relative path in the pack; the first by path if several).
    pub file: String,
}

/// The declarations recorded in a manifest, for `pack.toml`.
fn record_roots(declarations: &RootIndex) -> Vec<RecordedRoot> {
    declarations
        .iter()
        .map(|((namespace, element), file)| RecordedRoot {
            namespace: namespace.clone(),
            element: element.clone(),
            file: file.clone(),
        })
        .collect()
}

/// The pack spec and declarations an installed pack's manifest records, each naming an XSD
/// file of the pack; `None` when it records none (installed before they were recorded, or its
/// id left the catalogue), so the files are recognised again.
fn recorded_roots<'c>(
    catalog: &'c Catalog,
    dir: &Path,
    manifest: &PackManifest,
    files: &PackFiles,
) -> Result<Option<(&'c PackSpec, RootIndex)>, PackError> {
    let Some(spec) = catalog.pack(&manifest.id) else {
        return Ok(None);
    };
    if manifest.roots.is_empty() {
        return Ok(None);
    }
    let mut declarations = RootIndex::new();
    for root in &manifest.roots {
        if !root.file.ends_with(".xsd") || !files.contains_key(&root.file) {
            return Err(manifest_error(
                dir,
                format!(
                    "root element {} names {}, which is not an XSD file of the pack",
                    root.element, root.file
                ),
            ));
        }
        declarations.insert(
            (root.namespace.clone(), root.element.clone()),
            root.file.clone(),
        );
    }
    Ok(Some((spec, declarations)))
}

/// The content fingerprint: SHA-256 over the files sorted by relative path, each fed as
/// (path length as u64 BE, path bytes, content length as u64 BE, content bytes), written
/// `sha256:<hex>`. Lengths make the encoding unambiguous; `pack.toml` is not included.
pub fn fingerprint(files: &PackFiles) -> String {
    let mut ctx = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
    for (path, bytes) in files {
        ctx.update(&(path.len() as u64).to_be_bytes());
        ctx.update(path.as_bytes());
        ctx.update(&(bytes.len() as u64).to_be_bytes());
        ctx.update(bytes);
    }
    let digest = ctx.finish();
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Recognises the pack among the catalogue's and indexes the global element declarations of
/// its XSD files, in every namespace ([`message_roots`] picks the pack's own).
fn recognise<'c>(
    catalog: &'c Catalog,
    files: &PackFiles,
    limits: &PackLimits,
) -> Result<(&'c PackSpec, RootIndex), PackError> {
    let mut summaries = Vec::new();
    for (path, bytes) in files.iter().filter(|(p, _)| p.ends_with(".xsd")) {
        let summary = summarise(bytes, &limits.xml).map_err(|source| PackError::Schema {
            file: path.clone(),
            source,
        })?;
        summaries.push((path, summary));
    }
    let spec = catalog
        .detect_pack(summaries.iter().map(|(_, s)| s.target_namespace.as_str()))
        .ok_or_else(|| {
            let mut found: Vec<String> = summaries
                .iter()
                .map(|(_, s)| s.target_namespace.clone())
                .collect();
            found.sort();
            found.dedup();
            PackError::Unrecognised(found)
        })?;
    let mut declarations = RootIndex::new();
    for (path, summary) in &summaries {
        for name in &summary.global_elements {
            declarations
                .entry((summary.target_namespace.clone(), name.clone()))
                .or_insert_with(|| (*path).clone());
        }
    }
    Ok((spec, declarations))
}

/// The message roots among a pack's declarations: those in the namespaces of the pack's
/// standards.
fn message_roots(spec: &PackSpec, declarations: &RootIndex) -> RootIndex {
    declarations
        .iter()
        .filter(|((namespace, _), _)| spec.standards.iter().any(|s| &s.namespace == namespace))
        .map(|(key, file)| (key.clone(), file.clone()))
        .collect()
}

/// The loaded pack; `fingerprint` is [`fingerprint`] of `files`, which every caller has
/// already computed (to record or to verify it): hashing a pack's megabytes of code lists a
/// second time on every load would double the cost of finding a schema.
fn loaded(
    spec: &PackSpec,
    dir: PathBuf,
    files: &PackFiles,
    fingerprint: String,
    origin: PackOrigin,
    roots: RootIndex,
) -> LoadedPack {
    let schematron = spec
        .schematron
        .iter()
        .filter(|s| files.contains_key(s.as_str()))
        .map(|s| dir.join(s))
        .collect();
    let codelists = if spec.codelists {
        files
            .keys()
            .filter(|k| is_codelist(k))
            .map(|k| dir.join(k))
            .collect()
    } else {
        Vec::new()
    };
    LoadedPack {
        id: spec.id.clone(),
        dir,
        fingerprint,
        origin,
        roots,
        files: files.keys().cloned().collect(),
        schematron,
        codelists,
    }
}

/// Keeps of the `.sch` files of an install source exactly those the catalogue names for the
/// pack (a source may carry other rule sets, not ours to run), and its code lists only if the
/// catalogue says the pack has them.
fn keep_named_rules(spec: &PackSpec, files: &mut PackFiles) {
    files.retain(|path, _| {
        if path.ends_with(".sch") {
            spec.schematron.contains(path)
        } else {
            spec.codelists || !is_codelist(path)
        }
    });
}

/// The entry schema documents of a pack, sorted and deduplicated: each message's `entry` from
/// the catalogue where the pack has it, and every file declaring a message root (what
/// [`Registry::resolve`] can hand to the XSD engine).
pub fn entry_files(spec: &PackSpec, files: &[String], roots: &RootIndex) -> Vec<String> {
    let mut entries: Vec<String> = spec
        .standards
        .iter()
        .flat_map(|s| &s.messages)
        .filter_map(|m| m.entry.clone())
        .filter(|e| files.contains(e))
        .chain(roots.values().cloned())
        .collect();
    entries.sort_unstable();
    entries.dedup();
    entries
}

/// Compiles each entry schema in `dir` with the XSD engine, within `limits` — as the gateway
/// will when a message of the pack arrives, so a pack that breaks a limit is refused here and
/// not on the first submission.
///
/// # Errors
/// [`PackError::Compile`] for the first entry that does not compile.
pub fn compile_entries(dir: &Path, entries: &[String], limits: &Limits) -> Result<(), PackError> {
    for entry in entries {
        crate::xsd::compile_file(&dir.join(entry), limits).map_err(|e| PackError::Compile {
            entry: entry.clone(),
            errors: e.errors().to_vec(),
        })?;
    }
    Ok(())
}

/// Compiles a pack's business rules (its Schematron files) — as the gateway will when a message
/// of the pack arrives, so rules that cannot run are refused at install and by `schemas check`,
/// not on the first message. The number of files compiled.
///
/// # Errors
/// [`PackError::Rules`] naming the first file that does not compile.
pub fn compile_rules(paths: &[PathBuf], limits: &Limits) -> Result<usize, PackError> {
    super::rules::compile_files(paths, &limits.xml)
        .map(|r| r.len())
        .map_err(PackError::Rules)
}

/// Reads a pack's code lists (at install and `schemas check`): how many lists, or the first
/// file that is not a usable genericode list.
///
/// # Errors
/// [`PackError::Rules`] naming the file.
pub fn load_codelists(paths: &[PathBuf], limits: &Limits) -> Result<usize, PackError> {
    super::codelist::CodeLists::load(paths, &limits.xml)
        .map(|l| l.len())
        .map_err(|e| PackError::Rules(format!("code list {e}")))
}

/// Installs a pack from a directory or `.zip` into `packs_dir/<id>/`, after compiling its
/// entry schemas within `xsd_limits` ([`compile_entries`]).
///
/// The files are staged in a hidden sibling directory and renamed into place, so a failed
/// install leaves no half-written pack behind.
pub fn install(
    catalog: &Catalog,
    source: &Path,
    packs_dir: &Path,
    force: bool,
    limits: &PackLimits,
    xsd_limits: &Limits,
) -> Result<LoadedPack, PackError> {
    let files = read_source(source, limits)?;
    install_xsd_files(catalog, source, files, packs_dir, force, limits, xsd_limits)
}

/// A pack [`install_any`] installed.
#[derive(Debug)]
pub enum Installed {
    /// An XSD pack of an XÖV standard.
    Xsd(LoadedPack),
    /// A JSON schema pack.
    Json(LoadedJsonPack),
}

/// Whether the files of an install source are a JSON schema pack: no `.xsd` file and at least
/// one `.json` file.
#[must_use]
pub fn is_json_source(files: &PackFiles) -> bool {
    !files.keys().any(|p| p.ends_with(".xsd")) && files.keys().any(|p| p.ends_with(".json"))
}

/// Installs whatever pack the source holds: JSON schemas ([`is_json_source`]) as a JSON pack
/// with `id` (or one derived from the source's name), anything else as an XSD pack
/// ([`install`]; `id` must then be absent or the catalogue's).
///
/// # Errors
/// As [`install`], plus [`PackError::Json`] for a JSON pack whose schemas do not compile
/// offline and [`PackError::NoId`]/[`PackError::BadId`].
pub fn install_any(
    catalog: &Catalog,
    source: &Path,
    packs_dir: &Path,
    id: Option<&str>,
    force: bool,
    limits: &PackLimits,
    xsd_limits: &Limits,
) -> Result<Installed, PackError> {
    let files = read_source(source, limits)?;
    if !is_json_source(&files) {
        let p = install_xsd_files(catalog, source, files, packs_dir, force, limits, xsd_limits)?;
        if let Some(id) = id
            && id != p.id
        {
            return Err(PackError::Manifest {
                path: source.display().to_string(),
                reason: format!("--id {id}, but the catalogue names this pack {}", p.id),
            });
        }
        return Ok(Installed::Xsd(p));
    }
    let id = match id {
        Some(id) if is_safe_id(id) => id.to_owned(),
        Some(id) => return Err(PackError::BadId(id.to_owned())),
        None => derived_id(source).ok_or_else(|| PackError::NoId(source.display().to_string()))?,
    };
    let fp = fingerprint(&files);
    let pack = JsonPack::from_files(&id, &fp, &files)?;
    let manifest = PackManifest {
        id: id.clone(),
        title: format!("JSON schema pack ({} schemas)", pack.schema_ids().count()),
        fingerprint: fp,
        files: files.len(),
        source: source_name(source),
        kind: PackKind::Json,
        roots: Vec::new(),
    };
    // Every schema compiles offline, or nothing is installed.
    pack.compile_all()?;
    let dir = place(packs_dir, &id, force, &manifest, &files, |_| Ok(()))?;
    Ok(Installed::Json(LoadedJsonPack {
        dir,
        origin: PackOrigin::Installed,
        pack: Arc::new(pack),
    }))
}

/// A pack id from a source's file name: lower case, `.zip` and `.json` endings dropped, runs
/// of other characters than `[a-z0-9._-]` as one `-`.
fn derived_id(source: &Path) -> Option<String> {
    let name = source.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".zip").unwrap_or(&name);
    let mut id = String::new();
    for c in name.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c) {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches(|c| c == '-' || c == '.').to_owned();
    is_safe_id(&id).then_some(id)
}

fn source_name(source: &Path) -> String {
    source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn install_xsd_files(
    catalog: &Catalog,
    source: &Path,
    files: PackFiles,
    packs_dir: &Path,
    force: bool,
    limits: &PackLimits,
    xsd_limits: &Limits,
) -> Result<LoadedPack, PackError> {
    let (spec, declarations) = recognise(catalog, &files, limits)?;
    let roots = message_roots(spec, &declarations);
    let mut files = files;
    keep_named_rules(spec, &mut files);
    add_rules_beside(spec, source, &mut files, limits)?;
    let names: Vec<String> = files.keys().cloned().collect();
    let entries = entry_files(spec, &names, &roots);
    let rules: Vec<String> = spec
        .schematron
        .iter()
        .filter(|s| files.contains_key(s.as_str()))
        .cloned()
        .collect();
    let lists: Vec<String> = files.keys().filter(|k| is_codelist(k)).cloned().collect();
    let manifest = PackManifest {
        id: spec.id.clone(),
        title: spec.title.clone(),
        fingerprint: fingerprint(&files),
        files: files.len(),
        source: source_name(source),
        kind: PackKind::Xsd,
        roots: record_roots(&declarations),
    };
    let target = place(packs_dir, &spec.id, force, &manifest, &files, |staging| {
        compile_entries(staging, &entries, xsd_limits)?;
        let paths: Vec<PathBuf> = rules.iter().map(|r| staging.join(r)).collect();
        compile_rules(&paths, xsd_limits)?;
        let paths: Vec<PathBuf> = lists.iter().map(|r| staging.join(r)).collect();
        load_codelists(&paths, xsd_limits).map(drop)
    })?;
    Ok(loaded(
        spec,
        target,
        &files,
        manifest.fingerprint,
        PackOrigin::Installed,
        roots,
    ))
}

/// Writes `files` and the manifest to a hidden staging directory, runs `check` on it and
/// renames it to `packs_dir/<id>/`; the directory of the installed pack.
fn place(
    packs_dir: &Path,
    id: &str,
    force: bool,
    manifest: &PackManifest,
    files: &PackFiles,
    check: impl FnOnce(&Path) -> Result<(), PackError>,
) -> Result<PathBuf, PackError> {
    let target = packs_dir.join(id);
    if target.exists() && !force {
        return Err(PackError::AlreadyInstalled(id.to_owned()));
    }
    fs::create_dir_all(packs_dir).map_err(io_err(packs_dir))?;
    let staging = packs_dir.join(format!(".staging-{id}-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
    }
    // Replacing moves the old pack aside first, so at every moment either the old or the new
    // pack is complete under `target`, never a mix.
    let retired = packs_dir.join(format!(".retired-{id}-{}", std::process::id()));
    let result = write_pack(manifest, files, &staging).and_then(|()| {
        check(&staging)?;
        if target.exists() {
            fs::rename(&target, &retired).map_err(io_err(&target))?;
        }
        fs::rename(&staging, &target).map_err(io_err(&target))?;
        if retired.exists() {
            fs::remove_dir_all(&retired).map_err(io_err(&retired))?;
        }
        Ok(())
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result?;
    Ok(target)
}

fn write_pack(manifest: &PackManifest, files: &PackFiles, dir: &Path) -> Result<(), PackError> {
    for (rel, bytes) in files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        fs::write(&path, bytes).map_err(io_err(&path))?;
    }
    let text = toml::to_string(manifest).map_err(|e| manifest_error(dir, e.to_string()))?;
    let path = dir.join(MANIFEST);
    let mut f = fs::File::create(&path).map_err(io_err(&path))?;
    f.write_all(text.as_bytes()).map_err(io_err(&path))?;
    f.sync_all().map_err(io_err(&path))
}

/// Reads the manifest of an installed pack.
pub fn read_manifest(dir: &Path) -> Result<PackManifest, PackError> {
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(io_err(&path))?;
    toml::from_str(&text).map_err(|e| PackError::Manifest {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// Loads an installed pack, verifying its fingerprint against `pack.toml`.
pub fn load_installed(
    catalog: &Catalog,
    dir: &Path,
    limits: &PackLimits,
) -> Result<LoadedPack, PackError> {
    let (manifest, files) = verified_files(dir, limits)?;
    let (spec, declarations) = match recorded_roots(catalog, dir, &manifest, &files)? {
        Some(recorded) => recorded,
        None => recognise(catalog, &files, limits)?,
    };
    let roots = message_roots(spec, &declarations);
    if spec.id != manifest.id {
        return Err(manifest_error(
            dir,
            format!("id {} but the files are pack {}", manifest.id, spec.id),
        ));
    }
    Ok(loaded(
        spec,
        dir.to_path_buf(),
        &files,
        manifest.fingerprint,
        PackOrigin::Installed,
        roots,
    ))
}

/// What `schemas check` finds of the roots an installed pack records ([`PackManifest::roots`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootsRecord {
    /// The record equals what parsing the pack's XSD files gives.
    Verified,
    /// The manifest records none (installed before roots were recorded).
    Absent,
}

/// Parses the XSD files of an installed pack again and compares their global element
/// declarations with the manifest's record.
///
/// # Errors
/// As [`load_installed`], and [`PackError::Manifest`] when the record differs from the files.
pub fn verify_recorded_roots(
    catalog: &Catalog,
    dir: &Path,
    limits: &PackLimits,
) -> Result<RootsRecord, PackError> {
    let (manifest, files) = verified_files(dir, limits)?;
    if manifest.roots.is_empty() {
        return Ok(RootsRecord::Absent);
    }
    let (_, declarations) = recognise(catalog, &files, limits)?;
    let recorded = record_roots(&declarations);
    // Compared as sets: the order of the `[[root]]` tables does not matter.
    let differing = recorded
        .iter()
        .filter(|r| !manifest.roots.contains(r))
        .chain(manifest.roots.iter().filter(|r| !recorded.contains(r)))
        .map(|r| (&r.namespace, &r.element))
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    if differing == 0 {
        return Ok(RootsRecord::Verified);
    }
    Err(manifest_error(
        dir,
        format!(
            "the recorded roots differ from the XSD files in {differing} entr{}; reinstall the pack with --force",
            if differing == 1 { "y" } else { "ies" }
        ),
    ))
}

/// An error about the manifest of the installed pack in `dir`.
fn manifest_error(dir: &Path, reason: String) -> PackError {
    PackError::Manifest {
        path: dir.join(MANIFEST).display().to_string(),
        reason,
    }
}

/// The manifest and files of an installed pack, the fingerprint verified.
fn verified_files(dir: &Path, limits: &PackLimits) -> Result<(PackManifest, PackFiles), PackError> {
    let manifest = read_manifest(dir)?;
    let files = read_dir(dir, limits, Some(MANIFEST))?;
    let found = fingerprint(&files);
    if found != manifest.fingerprint {
        return Err(PackError::FingerprintMismatch {
            id: manifest.id,
            recorded: manifest.fingerprint,
            found,
        });
    }
    Ok((manifest, files))
}

/// Loads an installed JSON schema pack, verifying its fingerprint against `pack.toml`. Its
/// schemas are compiled on first use.
pub fn load_installed_json(dir: &Path, limits: &PackLimits) -> Result<LoadedJsonPack, PackError> {
    let (manifest, files) = verified_files(dir, limits)?;
    if manifest.kind != PackKind::Json {
        return Err(manifest_error(dir, "not a JSON schema pack".to_owned()));
    }
    let pack = JsonPack::from_files(&manifest.id, &manifest.fingerprint, &files)?;
    Ok(LoadedJsonPack {
        dir: dir.to_path_buf(),
        origin: PackOrigin::Installed,
        pack: Arc::new(pack),
    })
}

/// Loads a directory that has no manifest (a development fallback) as a JSON schema pack.
pub fn load_unmanaged_json(
    id: &str,
    dir: &Path,
    origin: PackOrigin,
    limits: &PackLimits,
) -> Result<LoadedJsonPack, PackError> {
    let files = read_dir(dir, limits, None)?;
    let pack = JsonPack::from_files(id, &fingerprint(&files), &files)?;
    Ok(LoadedJsonPack {
        dir: dir.to_path_buf(),
        origin,
        pack: Arc::new(pack),
    })
}

/// Loads a directory that has no manifest (a development fallback) as a pack.
pub fn load_unmanaged(
    catalog: &Catalog,
    dir: &Path,
    origin: PackOrigin,
    limits: &PackLimits,
) -> Result<LoadedPack, PackError> {
    let files = read_dir(dir, limits, None)?;
    let (spec, declarations) = recognise(catalog, &files, limits)?;
    let roots = message_roots(spec, &declarations);
    let fingerprint = fingerprint(&files);
    let mut pack = loaded(spec, dir.to_path_buf(), &files, fingerprint, origin, roots);
    // A development copy of the XRepository layout (`…/xsd_dev` as the fallback) has its
    // rules beside it, where `schemas install` takes them from.
    if pack.schematron.is_empty() && pack.codelists.is_empty() {
        for (name, path) in rules_beside(spec, dir) {
            if is_codelist(&name) {
                pack.codelists.push(path);
            } else {
                pack.schematron.push(path);
            }
        }
    }
    Ok(pack)
}

/// The Schematron files the catalogue names for `spec`, then its code lists
/// (`codelists/*.xml`, if the catalogue says it has them), beside a directory named `xsd_dev`
/// (the XRepository layout: names are relative to the folder holding `xsd_dev/`), as (name in
/// the pack, path); regular files only, a symlink is not followed.
fn rules_beside(spec: &PackSpec, dir: &Path) -> Vec<(String, PathBuf)> {
    let Some(parent) = dir
        .file_name()
        .filter(|n| *n == "xsd_dev")
        .and(dir.parent())
    else {
        return Vec::new();
    };
    let mut found: Vec<(String, PathBuf)> = spec
        .schematron
        .iter()
        .map(|name| (name.clone(), parent.join(name)))
        .filter(|(_, p)| fs::symlink_metadata(p).is_ok_and(|m| m.is_file()))
        .collect();
    if spec.codelists
        && let Ok(entries) = fs::read_dir(parent.join(CODELIST_DIR))
    {
        let mut lists: Vec<(String, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .filter_map(|e| {
                let name = pack_name(&format!("{CODELIST_DIR}/{}", e.file_name().to_str()?))?;
                is_codelist(&name).then(|| (name, e.path()))
            })
            .collect();
        lists.sort();
        found.extend(lists);
    }
    found
}

/// Adds the rules beside an `xsd_dev` install source ([`rules_beside`]) to its files, within
/// the pack's byte budget.
fn add_rules_beside(
    spec: &PackSpec,
    source: &Path,
    files: &mut PackFiles,
    limits: &PackLimits,
) -> Result<(), PackError> {
    let mut total: u64 = files.values().map(|b| b.len() as u64).sum();
    for (name, path) in rules_beside(spec, source) {
        if files.contains_key(&name) {
            continue;
        }
        let bytes = fs::read(&path).map_err(io_err(&path))?;
        total = total.saturating_add(bytes.len() as u64);
        if total > limits.max_total_bytes {
            return Err(SourceError::TooLarge(limits.max_total_bytes).into());
        }
        files.insert(name, bytes);
    }
    Ok(())
}

/// Each installed pack directory with the result of loading it.
pub type PackListing = Vec<(PathBuf, Result<LoadedPack, PackError>)>;

/// The installed XSD packs: each subdirectory of `packs_dir` with a `pack.toml` that does not
/// name another kind, with its load result. A missing `packs_dir` has no packs.
pub fn list_installed(
    catalog: &Catalog,
    packs_dir: &Path,
    limits: &PackLimits,
) -> Result<PackListing, PackError> {
    Ok(installed_dirs(packs_dir, PackKind::Xsd)?
        .into_iter()
        .map(|d| {
            let r = load_installed(catalog, &d, limits);
            (d, r)
        })
        .collect())
}

/// Each installed JSON schema pack directory with the result of loading it.
pub type JsonPackListing = Vec<(PathBuf, Result<LoadedJsonPack, PackError>)>;

/// The installed JSON schema packs, with their load results.
pub fn list_installed_json(
    packs_dir: &Path,
    limits: &PackLimits,
) -> Result<JsonPackListing, PackError> {
    Ok(installed_dirs(packs_dir, PackKind::Json)?
        .into_iter()
        .map(|d| {
            let r = load_installed_json(&d, limits);
            (d, r)
        })
        .collect())
}

/// Pack directories of `kind` (a manifest that cannot be read counts as XSD, so that it is
/// reported as broken once).
fn installed_dirs(packs_dir: &Path, kind: PackKind) -> Result<Vec<PathBuf>, PackError> {
    let entries = match fs::read_dir(packs_dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err(packs_dir)(e)),
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        // Hidden directories are staging or retired copies of an interrupted install.
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter(|p| p.join(MANIFEST).is_file())
        .filter(|p| read_manifest(p).map_or(PackKind::Xsd, |m| m.kind) == kind)
        .collect();
    dirs.sort();
    Ok(dirs)
}

/// Where packs are looked for, in precedence order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackSources {
    /// The packs directory (`--packs`, `$POSTSTELLE_PACKS`, default `./schemas-installed`).
    pub packs_dir: PathBuf,
    /// The shared test-data directory for development fallbacks (`$POSTSTELLE_SHARED`, else
    /// `../shared` if it exists); `None` disables them.
    pub shared_dir: Option<PathBuf>,
    /// The repository root for the project's own packs (`schemas/…`); `None` disables them.
    pub repo_dir: Option<PathBuf>,
}

impl PackSources {
    /// The default sources: `packs_dir` if given, else `$POSTSTELLE_PACKS`, else
    /// `./schemas-installed`; shared data from `$POSTSTELLE_SHARED`, else `./../shared`; the
    /// working directory as the repository root.
    pub fn from_env(packs_dir: Option<PathBuf>) -> PackSources {
        let packs_dir = packs_dir
            .or_else(|| std::env::var_os("POSTSTELLE_PACKS").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("schemas-installed"));
        let shared_dir = std::env::var_os("POSTSTELLE_SHARED")
            .map(PathBuf::from)
            .or_else(|| Some(PathBuf::from("../shared")).filter(|p| p.is_dir()));
        PackSources {
            packs_dir,
            shared_dir,
            repo_dir: Some(PathBuf::from(".")),
        }
    }
}

/// Builds the registry: installed packs first, then the catalogue's development fallbacks
/// for packs not installed. Packs that fail to load are returned beside it (they are left
/// out, so their messages resolve as `PackNotInstalled`).
pub fn discover<'c>(
    catalog: &'c Catalog,
    sources: &PackSources,
    limits: &PackLimits,
) -> (Registry<'c>, Vec<(PathBuf, PackError)>) {
    let mut packs = Vec::new();
    let mut broken = Vec::new();
    match list_installed(catalog, &sources.packs_dir, limits) {
        Ok(list) => {
            for (dir, r) in list {
                match r {
                    Ok(p) => packs.push(p),
                    Err(e) => broken.push((dir, e)),
                }
            }
        }
        Err(e) => broken.push((sources.packs_dir.clone(), e)),
    }
    for spec in catalog.packs() {
        if packs.iter().any(|p: &LoadedPack| p.id == spec.id) {
            continue;
        }
        let candidates = [
            (
                sources.shared_dir.as_ref(),
                spec.shared_fallback.as_ref(),
                PackOrigin::SharedFallback,
            ),
            (
                sources.repo_dir.as_ref(),
                spec.repo_fallback.as_ref(),
                PackOrigin::RepoFallback,
            ),
        ];
        for (base, rel, origin) in candidates {
            let (Some(base), Some(rel)) = (base, rel) else {
                continue;
            };
            let dir = base.join(rel);
            if !dir.is_dir() {
                continue;
            }
            match load_unmanaged(catalog, &dir, origin, limits) {
                Ok(p) if p.id == spec.id => {
                    packs.push(p);
                    break;
                }
                Ok(_) => {}
                Err(e) => broken.push((dir, e)),
            }
        }
    }
    let json = discover_json(catalog, sources, limits, &mut broken);
    (Registry::new(catalog, packs).with_json_packs(json), broken)
}

/// The JSON schema packs: installed ones, then the catalogue's development fallbacks for ids
/// not installed.
fn discover_json(
    catalog: &Catalog,
    sources: &PackSources,
    limits: &PackLimits,
    broken: &mut Vec<(PathBuf, PackError)>,
) -> Vec<LoadedJsonPack> {
    let mut packs: Vec<LoadedJsonPack> = Vec::new();
    match list_installed_json(&sources.packs_dir, limits) {
        Ok(list) => {
            for (dir, r) in list {
                match r {
                    Ok(p) => packs.push(p),
                    Err(e) => broken.push((dir, e)),
                }
            }
        }
        Err(e) => broken.push((sources.packs_dir.clone(), e)),
    }
    for spec in catalog.json_packs() {
        if packs.iter().any(|p| p.pack.id() == spec.id) {
            continue;
        }
        let candidates = [
            (
                sources.shared_dir.as_ref(),
                spec.shared_fallback.as_ref(),
                PackOrigin::SharedFallback,
            ),
            (
                sources.repo_dir.as_ref(),
                spec.repo_fallback.as_ref(),
                PackOrigin::RepoFallback,
            ),
        ];
        for (base, rel, origin) in candidates {
            let (Some(base), Some(rel)) = (base, rel) else {
                continue;
            };
            let dir = base.join(rel);
            if !dir.is_dir() {
                continue;
            }
            match load_unmanaged_json(&spec.id, &dir, origin, limits) {
                Ok(p) => {
                    packs.push(p);
                    break;
                }
                Err(e) => broken.push((dir, e)),
            }
        }
    }
    packs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_paths_and_bytes() {
        let a: PackFiles = [("a.xsd".to_owned(), b"x".to_vec())].into();
        let b: PackFiles = [("b.xsd".to_owned(), b"x".to_vec())].into();
        let c: PackFiles = [("a.xsd".to_owned(), b"y".to_vec())].into();
        let fa = fingerprint(&a);
        assert!(fa.starts_with("sha256:") && fa.len() == 7 + 64);
        assert_ne!(fa, fingerprint(&b));
        assert_ne!(fa, fingerprint(&c));
        // The (path, bytes) boundary is unambiguous.
        let d: PackFiles = [("a.xsdx".to_owned(), Vec::new())].into();
        assert_ne!(fa, fingerprint(&d));
    }

    #[test]
    fn json_pack_ids_derive_from_the_source_name() {
        assert_eq!(
            derived_id(Path::new("/tmp/FIM S00000096 v1.0.zip")).as_deref(),
            Some("fim-s00000096-v1.0")
        );
        assert_eq!(
            derived_id(Path::new("/x/.hidden")).as_deref(),
            Some("hidden")
        );
        assert_eq!(derived_id(Path::new("/x/ÄÖÜ")), None);
        let json: PackFiles = [("a.schema.json".to_owned(), Vec::new())].into();
        let mixed: PackFiles = [
            ("a.json".to_owned(), Vec::new()),
            ("b.xsd".to_owned(), Vec::new()),
        ]
        .into();
        assert!(is_json_source(&json));
        assert!(!is_json_source(&mixed));
    }

    #[test]
    fn unrecognised_files_are_reported_with_their_namespaces() {
        let files: PackFiles = [(
            "x.xsd".to_owned(),
            br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:other"/>"#
                .to_vec(),
        )]
        .into();
        let err =
            recognise(Catalog::embedded(), &files, &PackLimits::default()).expect_err("unknown");
        assert!(matches!(err, PackError::Unrecognised(ns) if ns == ["urn:other"]));
    }
}
