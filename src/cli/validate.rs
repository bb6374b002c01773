//! `poststelle validate`: XSD validation of files, xmllint-like; JSON files are validated
//! against JSON Schemas ([`json`]) with the same output and exit codes.
//!
//! The grammar is compiled once for all files. Without files only the schema is compiled (exit 0
//! if it is valid, 2 with the schema errors otherwise). Text mode prints one line per violation,
//! `file:line:col: path: message`, on stdout and a summary on stderr; `--json` prints one JSON
//! document on stdout.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use serde_json::{Value as Json, json};

use crate::config::Limits;
use crate::error::exit;
use crate::xsd::{self, Grammar, SchemaError, ValidationOptions, ValidationReport};

mod json;

/// Arguments of `poststelle validate`.
#[derive(Debug, Clone, clap::Args)]
pub struct ValidateArgs {
    /// Load every `*.xsd` in DIR (not recursive); the declaration is chosen by the root element.
    /// For JSON documents: every JSON Schema in DIR, chosen by the document's `$schema`.
    #[arg(long, value_name = "DIR", conflicts_with = "schema")]
    schema_dir: Option<PathBuf>,
    /// Entry schema document (its includes and imports are followed offline); repeatable. A
    /// JSON Schema (`FILE.schema.json`) validates JSON documents; its `$ref`s resolve among the
    /// `*.schema.json` files beside it.
    #[arg(long, value_name = "FILE.xsd|FILE.schema.json")]
    schema: Vec<PathBuf>,
    /// Print one JSON document on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// Include instance values in messages (local debugging only: values may be personal data).
    #[arg(long)]
    show_values: bool,
    /// Stop reporting after N errors per file.
    #[arg(long, value_name = "N")]
    max_errors: Option<usize>,
    /// Print the schema compile time with the peak memory so far, and per-file validation
    /// times, on stderr.
    #[arg(long, hide = true)]
    timings: bool,
    /// Benchmark: validate each file N more times from memory and print the mean time.
    #[arg(long, hide = true, value_name = "N")]
    repeat: Option<u32>,
    /// Instance documents to validate.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs the command.
pub fn run(args: &ValidateArgs) -> ExitCode {
    ExitCode::from(run_code(args))
}

/// Without `--schema`/`--schema-dir`, each file's schema is found by its root element through
/// the catalogue and the installed packs (or the development fallbacks); files sharing an
/// entry schema share one compiled grammar.
fn run_discovered(args: &ValidateArgs) -> u8 {
    let (json_files, xml_files) = json::split(&args.files);
    let mut worst = exit::OK;
    if !json_files.is_empty() {
        worst = json::run(args, &json_files);
    }
    if xml_files.is_empty() {
        return worst;
    }
    let args = &ValidateArgs {
        files: xml_files,
        ..args.clone()
    };
    let limits = Limits::default();
    let mut groups: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let registry = super::discover::registry();
    for file in &args.files {
        match super::discover::schema_for(&registry, file, &limits) {
            Ok(chosen) => {
                eprintln!("{}: {}", file.display(), chosen.label);
                groups.entry(chosen.entry).or_default().push(file.clone());
            }
            Err(not) => {
                eprintln!("{}: {}", file.display(), not.message);
                worst = worst.max(not.code);
            }
        }
    }
    for (entry, files) in groups {
        let mut group = args.clone();
        group.schema = vec![entry];
        group.files = files;
        worst = worst.max(run_code(&group));
    }
    worst
}

fn run_code(args: &ValidateArgs) -> u8 {
    if args.schema_dir.is_none() && args.schema.is_empty() && !args.files.is_empty() {
        return run_discovered(args);
    }
    if json::schemas_are_json(args) {
        return json::run(args, &args.files);
    }
    let limits = Limits::default();
    let started = Instant::now();
    let compiled = match (&args.schema_dir, args.schema.as_slice()) {
        (Some(dir), _) => xsd::compile_dir(dir, &limits),
        (None, [file]) => xsd::compile_file(file, &limits),
        (None, files @ [_, ..]) => {
            let mut catalog = xsd::Catalog::new();
            for dir in files.iter().filter_map(|f| f.parent()) {
                catalog.add_dir(dir);
            }
            xsd::compile_files(files, &catalog, &limits)
        }
        (None, []) => {
            eprintln!("poststelle validate: give FILE..., --schema FILE.xsd or --schema-dir DIR");
            return exit::FAILED;
        }
    };
    if args.timings {
        eprintln!(
            "schema compiled in {:.2} ms, peak memory {} KiB",
            started.elapsed().as_secs_f64() * 1e3,
            peak_memory_kib().map_or_else(|| "unknown".to_owned(), |k| k.to_string())
        );
    }
    let grammar = match compiled {
        Ok(g) => g,
        Err(e) => {
            report_schema_errors(args.json, e.errors());
            return exit::FAILED;
        }
    };
    let mut options = ValidationOptions::from_limits(&limits);
    options.show_values = args.show_values;
    if let Some(n) = args.max_errors {
        options.max_errors = n.max(1);
    }
    let (mut valid, mut invalid, mut failed) = (0usize, 0usize, 0usize);
    let mut json_files = Vec::new();
    for path in &args.files {
        let shown = path.display().to_string();
        let t = Instant::now();
        let outcome = validate_file(&grammar, path, &limits, &options);
        if args.timings {
            eprintln!(
                "{shown}: validated in {:.3} ms",
                t.elapsed().as_secs_f64() * 1e3
            );
        }
        if let Some(n) = args.repeat
            && let Ok(bytes) = std::fs::read(path)
        {
            let t = Instant::now();
            for _ in 0..n {
                std::hint::black_box(xsd::validate_bytes(&grammar, &bytes, &limits, &options));
            }
            let mean = t.elapsed().as_secs_f64() / f64::from(n.max(1));
            let mbs = bytes.len() as f64 / mean / 1e6;
            eprintln!(
                "{shown}: mean {:.4} ms over {n} runs ({mbs:.1} MB/s)",
                mean * 1e3
            );
        }
        match outcome {
            Ok(report) => {
                if report.is_valid() {
                    valid += 1;
                } else {
                    invalid += 1;
                }
                if args.json {
                    json_files.push(file_json(&shown, &report));
                } else {
                    for e in &report.errors {
                        println!("{shown}:{}:{}: {}: {}", e.line, e.column, e.path, e.message);
                    }
                    if report.truncated {
                        println!("{shown}: more errors not shown (--max-errors)");
                    }
                }
            }
            Err(message) => {
                failed += 1;
                if args.json {
                    json_files.push(json!({
                        "file": shown, "valid": false,
                        "errors": [{"line": 0, "column": 0, "path": "", "kind": "io", "message": message}],
                    }));
                } else {
                    eprintln!("{shown}: {message}");
                }
            }
        }
    }
    if args.json {
        let doc = json!({ "schema_errors": [], "files": json_files });
        println!("{doc}");
    } else if !args.files.is_empty() {
        eprintln!(
            "{valid} valid, {invalid} invalid, {failed} unreadable ({} file(s))",
            args.files.len()
        );
    }
    if failed > 0 {
        exit::FAILED
    } else if invalid > 0 {
        exit::INVALID
    } else {
        exit::OK
    }
}

/// Peak resident set of this process (`VmHWM` of `/proc/self/status`; Linux only), for
/// `--timings`: what compiling a schema set cost, measured by the kernel.
fn peak_memory_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

fn validate_file(
    grammar: &Grammar,
    path: &PathBuf,
    limits: &Limits,
    options: &ValidationOptions,
) -> Result<ValidationReport, String> {
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let reader = BufReader::with_capacity(64 * 1024, file);
    Ok(xsd::validate_reader(grammar, reader, limits, options))
}

fn file_json(file: &str, report: &ValidationReport) -> Json {
    let errors: Vec<Json> = report
        .errors
        .iter()
        .map(|e| {
            json!({
                "line": e.line, "column": e.column, "path": e.path,
                "kind": e.kind.as_str(), "message": e.message,
            })
        })
        .collect();
    json!({ "file": file, "valid": report.is_valid(), "errors": errors })
}

fn report_schema_errors(as_json: bool, errors: &[SchemaError]) {
    if as_json {
        let list: Vec<Json> = errors
            .iter()
            .map(|e| {
                json!({
                    "file": e.file.display().to_string(), "line": e.line,
                    "column": e.column, "message": e.message,
                })
            })
            .collect();
        println!("{}", json!({ "schema_errors": list, "files": [] }));
    } else {
        for e in errors {
            eprintln!("{e}");
        }
        eprintln!("schema invalid: {} error(s)", errors.len());
    }
}
