//! `poststelle validate`: XSD validation of files, xmllint-like; JSON files are validated
//! against JSON Schemas (`validate::json`) with the same output and exit codes. With `--rules`, an
//! XSD-valid XML document is then checked against its pack's business rules (ISO Schematron,
//! [`crate::xoev::rules`]) or the `--schematron` files given, and its codes against the pack's
//! code lists ([`crate::xoev::codelist`]: `codelist-value`, `codelist-unknown`); each finding
//! is one line
//! `file:line:col: severity: rule-id: message` (the rule's text, instance values shown only
//! with `--show-values`), and an error-severity finding makes the file invalid.
//!
//! The grammar is compiled once for all files. Without files only the schema is compiled (exit 0
//! if it is valid, 2 with the schema errors otherwise). Text mode prints one line per violation,
//! `file:line:col: path: message`, on stdout and a summary on stderr; `--json` prints one JSON
//! document on stdout. `--report DIR` also writes one KoSIT-like XML report per XML file
//! (`report`); `--daemon` serves the same check over HTTP the way the KoSIT validator's
//! daemon does (`service`).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value as Json, json};

use crate::config::Limits;
use crate::error::Verdict;
use crate::schematron::{Overrides, Schema, Severity};
use crate::xoev::codelist::CodeLists;
use crate::xoev::rules::{self, CompiledRules};
use crate::xsd::{self, Grammar, SchemaError, ValidationOptions, ValidationReport};

mod document;
pub(super) mod json;
mod report;
mod service;

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
    /// Check XSD-valid XML documents against the business rules (Schematron) of their schema
    /// pack as well; an error-severity finding makes the document invalid.
    #[arg(long)]
    rules: bool,
    /// Business rules from this Schematron file instead of the pack's (implies --rules);
    /// repeatable.
    #[arg(long, value_name = "FILE.sch")]
    schematron: Vec<PathBuf>,
    /// Severity of a rule by its id (`ID=error|warning|information`, KoSIT's `customLevel`);
    /// repeatable. Processing errors stay errors.
    #[arg(long, value_name = "ID=SEVERITY", value_parser = parse_rule_severity)]
    rule_severity: Vec<(String, Severity)>,
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
    /// Write one KoSIT-like XML report per XML file into DIR (`DIR/<file-stem>-report.xml`):
    /// XSD errors, business-rule and code-list findings, processing errors and the
    /// recommendation (ACCEPTABLE or REJECT; warnings and information do not reject).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Run as an HTTP validation service compatible with the KoSIT validator's daemon (`-D`):
    /// POST the raw XML to any path (the last segment names the document) and get the report
    /// with 200 (ACCEPTABLE), 406 (REJECT), 400 (empty or not XML), 413 (too large), 422 (no
    /// schema pack for the document); `GET /server/health` answers with the service's health.
    /// Schemas come from --schema/--schema-dir or the installed packs. Runs until SIGTERM or
    /// SIGINT.
    #[arg(
        long,
        short = 'D',
        conflicts_with_all = ["files", "json", "report", "repeat", "timings"]
    )]
    daemon: bool,
    /// The daemon's address (KoSIT's `-H`): an IP address or `localhost`. The service has no
    /// authentication: keep it on loopback or behind a proxy that has [default: 127.0.0.1].
    #[arg(long, short = 'H', value_name = "HOST")]
    host: Option<String>,
    /// The daemon's port (KoSIT's `-P`; 0 picks a free one, printed at start) [default: 8080].
    #[arg(long, short = 'P', value_name = "PORT")]
    port: Option<u16>,
    /// Documents the daemon checks at the same time (KoSIT's `-T`) [default: the number of
    /// CPUs]; each holds at most one body (`[limits.xml] max_input_bytes`) in memory.
    #[arg(long, short = 'T', value_name = "N")]
    threads: Option<usize>,
    /// Instance documents to validate.
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,
}

/// Runs the command.
pub(crate) fn run(args: &ValidateArgs) -> super::CommandResult {
    if args.daemon {
        return service::run(args);
    }
    // (clap's `requires` cannot name a flag: a flag's default `false` counts as present.)
    if args.host.is_some() || args.port.is_some() || args.threads.is_some() {
        return Err(crate::error::CliError::Usage(
            "--host, --port and --threads are options of --daemon".into(),
        ));
    }
    run_code(args)
}

fn parse_rule_severity(s: &str) -> Result<(String, Severity), String> {
    let (id, level) = s
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected ID=error|warning|information"))?;
    let severity = Severity::parse(level)
        .ok_or_else(|| format!("{level:?}: expected error, warning or information"))?;
    if id.is_empty() {
        return Err("empty rule id".to_owned());
    }
    Ok((id.to_owned(), severity))
}

impl ValidateArgs {
    /// Whether business rules are checked.
    fn rules_wanted(&self) -> bool {
        self.rules || !self.schematron.is_empty()
    }
}

/// The business rules of one group of files: compiled Schematron, code lists and the
/// overrides.
struct Rules {
    compiled: CompiledRules,
    overrides: Overrides,
}

/// Compiles the rules for files whose pack names `pack_rules` (`--schematron` wins) and reads
/// the pack's `codelists`; `None` without `--rules`. A rule set that does not compile (or a
/// code list that does not read) fails the run like a schema.
fn compile_rules(
    args: &ValidateArgs,
    pack_rules: &[PathBuf],
    codelists: &[PathBuf],
    run: &mut Run,
) -> Option<Rules> {
    if !args.rules_wanted() {
        return None;
    }
    let files = if args.schematron.is_empty() {
        pack_rules
    } else {
        &args.schematron[..]
    };
    let xml = Limits::default().xml;
    let compiled = rules::compile_files(files, &xml).and_then(|schemas| {
        CodeLists::load(codelists, &xml)
            .map(|lists| (schemas, lists))
            .map_err(|e| format!("code list {e}"))
    });
    match compiled {
        Ok((schematron, codelists)) => Some(Rules {
            compiled: CompiledRules {
                schematron,
                codelists,
            },
            overrides: args.rule_severity.iter().cloned().collect(),
        }),
        Err(message) => {
            run.schema_failed = true;
            if args.json {
                run.schema_errors.push(json!({"message": message}));
            } else {
                eprintln!("business rules: {message}");
            }
            // Checking no rules would pass every document: the run stops here.
            None
        }
    }
}

/// What one run found over all its files — with discovered schemas, over all the groups of
/// files sharing an entry schema — printed once at the end: `--json` is one document for the
/// whole run, the text summary one line.
#[derive(Default)]
struct Run {
    valid: usize,
    invalid: usize,
    /// Files that could not be read.
    unreadable: usize,
    /// Files no installed pack (or fallback) has a schema for.
    unsupported: usize,
    /// A schema did not compile, or the arguments named none.
    schema_failed: bool,
    schema_errors: Vec<Json>,
    /// `--json` entries with the index of their file on the command line, for the order.
    files: Vec<(usize, Json)>,
    /// `--report DIR`: the reports written.
    reports: report::Reports,
}

impl Run {
    /// A file that got no verdict from the validator (unreadable, unsupported, or refused
    /// while its root element was read), `kind` as in the JSON errors.
    fn not_validated(&mut self, args: &ValidateArgs, index: usize, kind: &str, message: &str) {
        let shown = args.files[index].display().to_string();
        match kind {
            "io" => self.unreadable += 1,
            "unsupported" => self.unsupported += 1,
            _ => self.invalid += 1,
        }
        if args.json {
            self.files.push((
                index,
                json!({
                    "file": shown, "valid": false,
                    "errors": [{"line": 0, "column": 0, "path": "", "kind": kind, "message": message}],
                }),
            ));
        } else {
            eprintln!("{shown}: {message}");
        }
    }

    /// Prints the JSON document or the summary line and returns the verdict.
    fn finish(mut self, args: &ValidateArgs) -> Verdict {
        let files = args.files.len();
        if args.json {
            self.files.sort_by_key(|(i, _)| *i);
            let doc = json!({
                "schema_errors": self.schema_errors,
                "files": self.files.into_iter().map(|(_, f)| f).collect::<Vec<_>>(),
                "summary": {
                    "files": files, "valid": self.valid, "invalid": self.invalid,
                    "unreadable": self.unreadable, "unsupported": self.unsupported,
                },
            });
            println!("{doc}");
        } else if files > 0 {
            eprintln!(
                "{} valid, {} invalid, {} unreadable, {} unsupported ({files} file(s))",
                self.valid, self.invalid, self.unreadable, self.unsupported
            );
        }
        if self.schema_failed || self.unreadable > 0 || self.unsupported > 0 || self.reports.failed
        {
            Verdict::Undecided
        } else {
            Verdict::of(self.invalid == 0)
        }
    }
}

fn run_code(args: &ValidateArgs) -> super::CommandResult {
    if json::schemas_are_json(args) {
        return json::run(args, &args.files);
    }
    let mut run = Run::default();
    if args.schema_dir.is_none() && args.schema.is_empty() && !args.files.is_empty() {
        // JSON files go to the JSON Schema validator, the rest through the catalogue.
        let (json_files, xml_files) = json::split(&args.files);
        if args.rules_wanted() && !json_files.is_empty() {
            eprintln!("note: business rules (Schematron) apply to XML documents only");
        }
        if args.report.is_some() && !json_files.is_empty() {
            eprintln!("note: --report writes reports for XML documents only");
        }
        let worst = if json_files.is_empty() {
            Verdict::Done
        } else {
            json::run(args, &json_files)?
        };
        if xml_files.is_empty() {
            return Ok(worst);
        }
        let xml_args = ValidateArgs {
            files: xml_files,
            ..args.clone()
        };
        run_discovered(&xml_args, &mut run);
        return Ok(worst.max(run.finish(&xml_args)));
    } else {
        let all: Vec<usize> = (0..args.files.len()).collect();
        if args.rules && args.schematron.is_empty() {
            eprintln!("poststelle validate: --rules with --schema needs --schematron FILE.sch");
            run.schema_failed = true;
            return Ok(run.finish(args));
        }
        let rules = compile_rules(args, &[], &[], &mut run);
        if run.schema_failed {
            return Ok(run.finish(args));
        }
        if let Some(grammar) = compile(args, args.schema_dir.as_deref(), &args.schema, &mut run) {
            validate_files(args, &grammar, rules.as_ref(), &all, &mut run);
        }
    }
    Ok(run.finish(args))
}

/// Without `--schema`/`--schema-dir`, each file's schema is found by its root element through
/// the catalogue and the installed packs (or the development fallbacks); files sharing an
/// entry schema share one compiled grammar.
fn run_discovered(args: &ValidateArgs, run: &mut Run) {
    let limits = Limits::default();
    // Entry schema → (the pack's rules, its code lists, files).
    type Group = (Vec<PathBuf>, Vec<PathBuf>, Vec<usize>);
    let mut groups: BTreeMap<PathBuf, Group> = BTreeMap::new();
    let registry = super::discover::registry();
    for (index, file) in args.files.iter().enumerate() {
        match super::discover::schema_for(&registry, file, &limits) {
            Ok(chosen) => {
                eprintln!("{}: {}", file.display(), chosen.label);
                if args.report.is_some() {
                    run.reports.scenario(index, &chosen.label);
                }
                let group = groups.entry(chosen.entry).or_default();
                group.0 = chosen.rules;
                group.1 = chosen.codelists;
                group.2.push(index);
            }
            Err(not) => {
                if let (Some(dir), Verdict::Refused) = (&args.report, not.verdict) {
                    let refused = report::Checked::NotWellFormed {
                        message: &not.message,
                        line: 0,
                        column: 0,
                    };
                    run.reports.write(dir, file, index, &[], &refused);
                }
                run.not_validated(args, index, not.kind, &not.message);
            }
        }
    }
    for (entry, (pack_rules, codelists, files)) in groups {
        if args.rules_wanted()
            && args.schematron.is_empty()
            && pack_rules.is_empty()
            && codelists.is_empty()
        {
            // Asked for rules the pack does not have: no verdict, never a silent pass.
            for index in files {
                run.not_validated(
                    args,
                    index,
                    "unsupported",
                    "the schema pack has no business rules (Schematron)",
                );
            }
            continue;
        }
        let rules = compile_rules(args, &pack_rules, &codelists, run);
        if args.rules_wanted() && rules.is_none() {
            continue;
        }
        if let Some(grammar) = compile(args, None, &[entry], run) {
            validate_files(args, &grammar, rules.as_ref(), &files, run);
        }
    }
}

/// Compiles the schema set; schema errors are recorded in `run` (printed at once in text
/// mode).
fn compile(
    args: &ValidateArgs,
    schema_dir: Option<&Path>,
    schemas: &[PathBuf],
    run: &mut Run,
) -> Option<Grammar> {
    let limits = Limits::default();
    let started = Instant::now();
    let compiled = match (schema_dir, schemas) {
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
            run.schema_failed = true;
            return None;
        }
    };
    if args.timings {
        eprintln!(
            "schema compiled in {:.2} ms, peak memory {} KiB",
            started.elapsed().as_secs_f64() * 1e3,
            peak_memory_kib().map_or_else(|| "unknown".to_owned(), |k| k.to_string())
        );
    }
    match compiled {
        Ok(g) => Some(g),
        Err(e) => {
            run.schema_failed = true;
            report_schema_errors(args.json, e.errors(), run);
            None
        }
    }
}

/// Validates the files with the given indexes against `grammar`, recording each verdict.
fn validate_files(
    args: &ValidateArgs,
    grammar: &Grammar,
    rules: Option<&Rules>,
    indexes: &[usize],
    run: &mut Run,
) {
    let limits = Limits::default();
    let mut options = ValidationOptions::from_limits(&limits);
    options.show_values = args.show_values;
    if let Some(n) = args.max_errors {
        options.max_errors = n.max(1);
    }
    for &index in indexes {
        let path = &args.files[index];
        let shown = path.display().to_string();
        let t = Instant::now();
        let outcome = validate_file(grammar, rules, path, &limits, &options);
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
                std::hint::black_box(xsd::validate_bytes(grammar, &bytes, &limits, &options));
            }
            let mean = t.elapsed().as_secs_f64() / f64::from(n.max(1));
            let mbs = bytes.len() as f64 / mean / 1e6;
            eprintln!(
                "{shown}: mean {:.4} ms over {n} runs ({mbs:.1} MB/s)",
                mean * 1e3
            );
        }
        match outcome {
            Ok((report, rules_outcome)) => {
                // Business rules only for XSD-valid documents (as the KoSIT validator does),
                // from the same reading of the file.
                let findings = match rules_outcome {
                    document::RulesOutcome::Checked {
                        findings,
                        truncated,
                    } => Some((findings, truncated)),
                    document::RulesOutcome::Failed(message) => {
                        write_report(args, run, index, rules, &report, || {
                            document::RulesOutcome::Failed(message.clone())
                        });
                        run.not_validated(args, index, "rules", &message);
                        continue;
                    }
                    document::RulesOutcome::NotRun => None,
                };
                let accepted =
                    document::accepted(&report, findings.as_ref().map_or(&[][..], |(f, _)| &f[..]));
                write_report(args, run, index, rules, &report, || {
                    findings
                        .as_ref()
                        .map_or(document::RulesOutcome::NotRun, |(f, t)| {
                            document::RulesOutcome::Checked {
                                findings: f.clone(),
                                truncated: *t,
                            }
                        })
                });
                if accepted {
                    run.valid += 1;
                } else {
                    run.invalid += 1;
                }
                if args.json {
                    let mut entry = file_json(&shown, &report);
                    if let Some((findings, truncated)) = &findings {
                        entry["valid"] = Json::Bool(accepted);
                        // As `Finding` serialises: the same members as the envelope's.
                        entry["findings"] = json!(findings);
                        entry["findings_truncated"] = Json::Bool(*truncated);
                    }
                    run.files.push((index, entry));
                } else {
                    for e in &report.errors {
                        println!("{shown}:{}:{}: {}: {}", e.line, e.column, e.path, e.message);
                    }
                    if report.truncated {
                        println!("{shown}: more errors not shown (--max-errors)");
                    }
                    for f in findings.iter().flat_map(|(f, _)| f) {
                        println!(
                            "{shown}:{}:{}: {}: {}: {}",
                            f.line,
                            f.column,
                            f.severity.as_str(),
                            f.rule,
                            f.message
                        );
                    }
                    if findings.as_ref().is_some_and(|(_, t)| *t) {
                        println!("{shown}: more business-rule findings not shown");
                    }
                }
            }
            Err(message) => run.not_validated(args, index, "io", &message),
        }
    }
}

/// `--report DIR`: writes the file's report (the rules outcome is built only then).
fn write_report(
    args: &ValidateArgs,
    run: &mut Run,
    index: usize,
    rules: Option<&Rules>,
    xsd: &ValidationReport,
    outcome: impl FnOnce() -> document::RulesOutcome,
) {
    let Some(dir) = &args.report else {
        return;
    };
    let outcome = outcome();
    let names: Vec<&str> = rules
        .iter()
        .flat_map(|r| r.compiled.schematron.iter().map(Schema::name))
        .collect();
    let checked = report::Checked::Validated {
        xsd,
        rules: &outcome,
    };
    run.reports
        .write(dir, &args.files[index], index, &names, &checked);
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

/// Validates a file (streaming) and, with rules, checks them in the same reading.
fn validate_file(
    grammar: &Grammar,
    rules: Option<&Rules>,
    path: &PathBuf,
    limits: &Limits,
    options: &ValidationOptions,
) -> Result<(ValidationReport, document::RulesOutcome), String> {
    let file = File::open(path).map_err(|e| format!("cannot read: {e}"))?;
    let reader = BufReader::with_capacity(64 * 1024, file);
    Ok(document::check_reader(
        grammar, rules, reader, limits, options,
    ))
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

fn report_schema_errors(as_json: bool, errors: &[SchemaError], run: &mut Run) {
    if as_json {
        run.schema_errors.extend(errors.iter().map(|e| {
            json!({
                "file": e.file.display().to_string(), "line": e.line,
                "column": e.column, "message": e.message,
            })
        }));
    } else {
        for e in errors {
            eprintln!("{e}");
        }
        eprintln!("schema invalid: {} error(s)", errors.len());
    }
}
