//! `poststelle schemas`: install, list and check schema packs — XSD sets of XÖV standards and
//! JSON schema packs of JSON Fachdaten (FIM).

use std::path::{Path, PathBuf};

use crate::error::{CliError, Verdict};

use clap::{Args, Subcommand};

use crate::xoev::catalog::Catalog;
use crate::xoev::pack::{self, Installed, PackSources};
use crate::xoev::pack_files::PackLimits;
use crate::xoev::registry::{LoadedPack, PackOrigin};

/// Arguments of `poststelle schemas`.
#[derive(Debug, Args)]
pub struct SchemasArgs {
    #[command(subcommand)]
    command: SchemasCommand,
}

#[derive(Debug, Subcommand)]
enum SchemasCommand {
    /// Install a schema pack from a directory or a .zip: XSD files (e.g. an XRepository
    /// download) or JSON Schemas of JSON Fachdaten (FIM; every schema by its $id, every $ref
    /// resolving inside the pack).
    Install {
        /// Directory or .zip holding the XSD or JSON Schema files.
        source: PathBuf,
        /// Pack id of a JSON schema pack [default: derived from the source's name].
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// Replace an installed pack with the same id.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List installed packs with their content fingerprints (and available fallbacks).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Print the JSON Schema (draft 2020-12) of `poststelle transform`'s output for a message.
    JsonSchema {
        /// Pack id (`xbau-2.6`).
        pack: String,
        /// Message type: the root element's local name (`baugenehmigung.antrag.0200`).
        message: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Re-verify installed packs: fingerprint and every entry XSD the catalogue names.
    Check {
        /// Pack ids to check (default: all installed).
        ids: Vec<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Debug, Args)]
struct StoreArgs {
    /// Packs directory [default: $POSTSTELLE_PACKS, else ./schemas-installed].
    #[arg(long, value_name = "DIR")]
    packs: Option<PathBuf>,
    /// Catalogue file to use instead of the embedded schemas/catalog.toml.
    #[arg(long, value_name = "FILE")]
    catalog: Option<PathBuf>,
}

impl StoreArgs {
    fn catalog(&self) -> Result<Option<Catalog>, String> {
        let Some(path) = &self.catalog else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Catalog::from_toml(&text)
            .map(Some)
            .map_err(|e| format!("{}: {e}", path.display()))
    }

    fn sources(&self) -> PackSources {
        PackSources::from_env(self.packs.clone())
    }
}

/// Runs `poststelle schemas …`.
pub(crate) fn run(args: SchemasArgs) -> super::CommandResult {
    let store = match &args.command {
        SchemasCommand::Install { store, .. }
        | SchemasCommand::List { store }
        | SchemasCommand::Check { store, .. }
        | SchemasCommand::JsonSchema { store, .. } => store,
    };
    let owned = store
        .catalog()
        .map_err(|e| CliError::ConfigProblems(vec![e.to_string()]))?;
    let catalog = owned.as_ref().unwrap_or_else(|| Catalog::embedded());
    let limits = PackLimits::default();
    let sources = store.sources();
    match &args.command {
        SchemasCommand::Install {
            source, id, force, ..
        } => install(
            catalog,
            source,
            &sources.packs_dir,
            id.as_deref(),
            *force,
            &limits,
        ),
        SchemasCommand::List { .. } => list(catalog, &sources, &limits),
        SchemasCommand::Check { ids, .. } => check(catalog, &sources.packs_dir, ids, &limits),
        SchemasCommand::JsonSchema { pack, message, .. } => {
            json_schema(catalog, &sources, &limits, pack, message)
        }
    }
}

/// `schemas json-schema PACK MESSAGE`: exit 0 with the schema on stdout, 2 when the pack or
/// message is unknown or the XSDs do not compile.
fn json_schema(
    catalog: &Catalog,
    sources: &PackSources,
    limits: &PackLimits,
    pack_id: &str,
    message: &str,
) -> super::CommandResult {
    let (registry, _) = pack::discover(catalog, sources, limits);
    let Some(p) = registry.pack(pack_id) else {
        return Err(CliError::failed(format_args!(
            "json-schema: schema pack {pack_id} is not available"
        )));
    };
    let Some(((ns, _), file)) = p.roots.iter().find(|((_, local), _)| local == message) else {
        return Err(CliError::failed(format_args!(
            "json-schema: {pack_id} declares no message {message}"
        )));
    };
    let entry = match registry.resolve(ns, message) {
        Ok(r) if r.pack.id == p.id => r.entry,
        _ => p.dir.join(file),
    };
    let xsd_limits = crate::config::Limits::default();
    let grammar = crate::xsd::compile_file(&entry, &xsd_limits)
        .map_err(|e| CliError::Failed(e.errors().iter().map(ToString::to_string).collect()))?;
    let failed = |e: &dyn std::fmt::Display| CliError::failed(format_args!("json-schema: {e}"));
    // The pack's code lists add the codes of the lists the XSD fixes (Typ 2 and 3).
    let lists = crate::xoev::codelist::CodeLists::load(&p.codelists, &xsd_limits.xml)
        .map_err(|e| failed(&format_args!("code list {e}")))?;
    let schema =
        crate::xoev::json_schema::json_schema_with_lists(&grammar, ns, message, Some(&lists))
            .map_err(|e| failed(&e))?;
    let text = serde_json::to_string_pretty(&schema).map_err(|e| failed(&e))?;
    println!("{text}");
    Ok(Verdict::Done)
}

fn install(
    catalog: &Catalog,
    source: &Path,
    packs_dir: &Path,
    id: Option<&str>,
    force: bool,
    limits: &PackLimits,
) -> super::CommandResult {
    match pack::install_any(
        catalog,
        source,
        packs_dir,
        id,
        force,
        limits,
        &crate::config::Limits::default(),
    ) {
        Ok(Installed::Xsd(p)) => {
            println!(
                "installed {} ({} files, {} message roots) into {}",
                p.label(),
                p.files.len(),
                p.roots.len(),
                p.dir.display()
            );
            Ok(Verdict::Done)
        }
        Ok(Installed::Json(p)) => {
            println!(
                "installed JSON schema pack {} ({} schemas, all compiled) into {}",
                p.pack.label(),
                p.pack.schema_ids().count(),
                p.dir.display()
            );
            for id in p.pack.schema_ids() {
                println!("  {id}");
            }
            Ok(Verdict::Done)
        }
        Err(e) => Err(CliError::failed(format_args!("install: {e}"))),
    }
}

fn origin_name(origin: PackOrigin) -> &'static str {
    match origin {
        PackOrigin::Installed => "installed",
        PackOrigin::SharedFallback => "shared fallback",
        PackOrigin::RepoFallback => "repository pack",
    }
}

fn list(catalog: &Catalog, sources: &PackSources, limits: &PackLimits) -> super::CommandResult {
    let (registry, broken) = pack::discover(catalog, sources, limits);
    if registry.packs().is_empty() && registry.json_packs().is_empty() && broken.is_empty() {
        println!(
            "no schema packs installed in {}",
            sources.packs_dir.display()
        );
    }
    for p in registry.packs() {
        println!(
            "{}\t{}\t{} files\t{}\t{}",
            p.id,
            p.fingerprint,
            p.files.len(),
            origin_name(p.origin),
            p.dir.display()
        );
    }
    for p in registry.json_packs() {
        println!(
            "{}\t{}\t{} JSON schemas\t{}\t{}",
            p.pack.id(),
            p.pack.fingerprint(),
            p.pack.schema_ids().count(),
            origin_name(p.origin),
            p.dir.display()
        );
    }
    for (dir, e) in &broken {
        println!("BROKEN\t{}\t{e}", dir.display());
    }
    Ok(Verdict::of(broken.is_empty()))
}

/// Entry files the catalogue names for this pack that the pack lacks.
fn missing_entries<'c>(catalog: &'c Catalog, p: &LoadedPack) -> (Vec<&'c str>, Vec<&'c str>) {
    let mut entries: Vec<&str> = catalog
        .pack(&p.id)
        .into_iter()
        .flat_map(|spec| &spec.standards)
        .flat_map(|s| &s.messages)
        .filter_map(|m| m.entry.as_deref())
        .collect();
    entries.sort_unstable();
    entries.dedup();
    let missing = entries
        .iter()
        .copied()
        .filter(|e| !p.files.iter().any(|f| f == e))
        .collect();
    (entries, missing)
}

fn check(
    catalog: &Catalog,
    packs_dir: &Path,
    ids: &[String],
    limits: &PackLimits,
) -> super::CommandResult {
    let failed_to = |e: &dyn std::fmt::Display| CliError::failed(format_args!("check: {e}"));
    let list = pack::list_installed(catalog, packs_dir, limits).map_err(|e| failed_to(&e))?;
    let selected = |dir: &Path| {
        ids.is_empty()
            || dir
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| ids.iter().any(|i| i == n))
    };
    let mut failed = false;
    let mut checked = 0usize;
    for (dir, result) in list.iter().filter(|(d, _)| selected(d)) {
        checked += 1;
        let p = match result {
            Ok(p) => p,
            Err(e) => {
                println!("FAIL\t{}\t{e}", dir.display());
                failed = true;
                continue;
            }
        };
        let (entries, missing) = missing_entries(catalog, p);
        if !missing.is_empty() {
            println!(
                "FAIL\t{}\tmissing entry schemas: {}",
                p.id,
                missing.join(", ")
            );
            failed = true;
            continue;
        }
        let Some(spec) = catalog.pack(&p.id) else {
            println!("FAIL\t{}\tnot in the catalogue", p.id);
            failed = true;
            continue;
        };
        let compiled = pack::entry_files(spec, &p.files, &p.roots);
        let xsd_limits = crate::config::Limits::default();
        let outcome = pack::compile_entries(&p.dir, &compiled, &xsd_limits)
            .and_then(|()| pack::compile_rules(&p.schematron, &xsd_limits))
            .and_then(|r| Ok((r, pack::load_codelists(&p.codelists, &xsd_limits)?)));
        let outcome = outcome.and_then(|counts| {
            Ok((
                counts,
                pack::verify_recorded_roots(catalog, &p.dir, limits)?,
            ))
        });
        let ((rules, lists), roots) = match outcome {
            Ok(n) => n,
            Err(e) => {
                println!("FAIL\t{}\t{e}", p.id);
                failed = true;
                continue;
            }
        };
        let roots = match roots {
            pack::RootsRecord::Verified => "recorded roots verified",
            pack::RootsRecord::Absent => "roots not recorded (installed by an earlier version)",
        };
        println!(
            "OK\t{}\tfingerprint verified, {} entry schemas present, {} compiled, {rules} business-rule files compiled, {lists} code lists read, {roots}",
            p.label(),
            entries.len(),
            compiled.len()
        );
    }
    let json = pack::list_installed_json(packs_dir, limits).map_err(|e| failed_to(&e))?;
    for (dir, result) in json.iter().filter(|(d, _)| selected(d)) {
        checked += 1;
        match result.as_ref().map(|p| (p, p.pack.compile_all())) {
            Ok((p, Ok(n))) => println!(
                "OK\t{}\tfingerprint verified, {n} JSON schemas compiled",
                p.pack.label()
            ),
            Ok((p, Err(e))) => {
                println!("FAIL\t{}\t{e}", p.pack.id());
                failed = true;
            }
            Err(e) => {
                println!("FAIL\t{}\t{e}", dir.display());
                failed = true;
            }
        }
    }
    for id in ids {
        let named = |d: &PathBuf| d.file_name().and_then(|n| n.to_str()) == Some(id.as_str());
        if !list.iter().any(|(d, _)| named(d)) && !json.iter().any(|(d, _)| named(d)) {
            println!("FAIL\t{id}\tnot installed in {}", packs_dir.display());
            failed = true;
        }
    }
    if checked == 0 && ids.is_empty() {
        println!("no schema packs installed in {}", packs_dir.display());
    }
    Ok(Verdict::of(!failed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn missing_entries_are_listed_from_the_catalogue() {
        let p = LoadedPack {
            id: "xbau-2.6".to_owned(),
            dir: PathBuf::from("p"),
            fingerprint: "sha256:00".to_owned(),
            origin: PackOrigin::Installed,
            roots: BTreeMap::new(),
            files: vec![],
            schematron: vec![],
            codelists: vec![],
        };
        let c = Catalog::embedded();
        let (entries, missing) = missing_entries(c, &p);
        assert_eq!(entries.len(), 25);
        assert_eq!(missing.len(), 25);
    }
}
