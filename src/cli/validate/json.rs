//! `poststelle validate` for JSON Fachdaten: the schema is a JSON Schema file (`--schema
//! FILE.schema.json`, its `$ref`s resolving among the `*.schema.json` files beside it), a
//! directory of them (`--schema-dir`), or — without either — the installed pack providing the
//! `$schema` the document names. Output and exit codes are those of XML validation: one line
//! per violation `file:line:col: pointer: message` (no values unless `--show-values`), 0 valid,
//! 1 invalid or refused by the strict reader's limits, 2 unreadable or no schema.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value as Json, json};

use super::ValidateArgs;
use crate::config::Limits;
use crate::error::{CliError, Verdict};
use crate::fim::{JsonPack, SCHEMA_SUFFIX};
use crate::xoev::pack::fingerprint;
use crate::xoev::pack_files::PackFiles;
use crate::xoev::registry::{JsonSchemaSource, Registry};

/// Whether `path` holds JSON (by its name, else by its first byte): `.json`, `{` or `[`.
pub(crate) fn is_json(path: &Path) -> bool {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        return true;
    }
    use std::io::Read as _;
    let mut head = [0u8; 512];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| matches!(b, b'{' | b'['))
}

/// The schemas given on the command line as one pack: each `--schema` file and the
/// `*.schema.json` files beside it, or every JSON Schema of `--schema-dir`.
fn given_pack(args: &ValidateArgs) -> Result<Option<Arc<JsonPack>>, String> {
    let mut files = PackFiles::new();
    let mut add = |path: &Path| -> Result<(), String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        files.insert(path.display().to_string(), bytes);
        Ok(())
    };
    if let Some(dir) = &args.schema_dir {
        for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_file() && path.to_string_lossy().ends_with(".json") {
                add(&path)?;
            }
        }
    }
    for schema in &args.schema {
        add(schema)?;
        let dir = schema.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.to_string_lossy().ends_with(SCHEMA_SUFFIX) && path.is_file() {
                add(&path)?;
            }
        }
    }
    if files.is_empty() {
        return Ok(None);
    }
    let fp = fingerprint(&files);
    JsonPack::from_files("command-line", &fp, &files)
        .map(|p| Some(Arc::new(p)))
        .map_err(|e| e.to_string())
}

/// The `$id` of the first `--schema` file: its schema applies to every document, whatever
/// `$schema` they name.
fn given_id(args: &ValidateArgs) -> Option<String> {
    let bytes = std::fs::read(args.schema.first()?).ok()?;
    let doc: Json = serde_json::from_slice(&bytes).ok()?;
    let id = doc.get("$id")?.as_str()?;
    Some(id.strip_suffix('#').unwrap_or(id).to_owned())
}

/// `--repeat N` (a hidden benchmark aid, as for XML): parse and validate the file N more
/// times from memory, collecting every violation, and print the mean time on stderr.
fn repeat(path: &Path, pack: &JsonPack, uri: &str, n: u32, limits: &Limits) {
    let Ok(bytes) = std::fs::read(path) else {
        return;
    };
    let Ok(validator) = pack.validator(uri) else {
        return;
    };
    let started = std::time::Instant::now();
    for _ in 0..n {
        if let Ok(doc) = crate::json::parse(&bytes, &limits.json) {
            std::hint::black_box(validator.iter_errors(&doc).count());
        }
    }
    let mean = started.elapsed().as_secs_f64() / f64::from(n.max(1));
    eprintln!(
        "{}: mean {:.4} ms over {n} runs ({:.1} MB/s)",
        path.display(),
        mean * 1e3,
        bytes.len() as f64 / mean / 1e6
    );
}

/// One document's outcome.
enum Outcome {
    /// Validated: its violations (empty: valid).
    Checked(Vec<Json>),
    /// Refused by the strict reader (invalid, exit 1): why and where.
    Refused(Json),
    /// No verdict (exit 2): why.
    Failed(String),
}

fn violation(line: usize, column: usize, path: &str, kind: &str, message: &str) -> Json {
    json!({"line": line, "column": column, "path": path, "kind": kind, "message": message})
}

fn check_one(
    path: &Path,
    given: Option<(&Arc<JsonPack>, Option<&str>)>,
    registry: Option<&Registry<'_>>,
    args: &ValidateArgs,
    limits: &Limits,
) -> Outcome {
    let bytes = match read_limited(path, limits.json.max_bytes) {
        Ok(Some(b)) => b,
        Ok(None) => {
            return Outcome::Refused(violation(
                0,
                0,
                "",
                "too-large",
                &format!("JSON document larger than {} bytes", limits.json.max_bytes),
            ));
        }
        Err(e) => return Outcome::Failed(format!("cannot read: {e}")),
    };
    let doc = match crate::json::parse(&bytes, &limits.json) {
        Ok(doc) => doc,
        Err(e) => {
            let (line, column) = match &e {
                crate::json::JsonError::Syntax { line, column }
                | crate::json::JsonError::NumberOutOfRange { line, column } => (*line, *column),
                // Only the duplicate broke the parse: the text is otherwise readable.
                crate::json::JsonError::DuplicateMember { pointer } => {
                    crate::json::locate(&bytes, pointer).unwrap_or((0, 0))
                }
                _ => (0, 0),
            };
            return Outcome::Refused(violation(line, column, "", e.reason(), &e.to_string()));
        }
    };
    let named = doc.get("$schema").and_then(Json::as_str).map(str::to_owned);
    let (pack, uri): (Arc<JsonPack>, String) = match (given, registry) {
        (Some((pack, Some(id))), _) => (Arc::clone(pack), id.to_owned()),
        (Some((pack, None)), _) => match named.filter(|u| pack.provides(u)) {
            Some(u) => (Arc::clone(pack), u),
            None => return Outcome::Failed("no given schema has the $id its $schema names".into()),
        },
        (None, Some(registry)) => {
            let Some(uri) = named else {
                return Outcome::Failed("no $schema member: give --schema FILE.schema.json".into());
            };
            match registry.resolve_json(&uri) {
                Ok(JsonSchemaSource::Pack(p)) => (Arc::clone(&p.pack), uri),
                _ => {
                    return Outcome::Failed(format!(
                        "no installed JSON schema pack provides {uri} (poststelle schemas install)"
                    ));
                }
            }
        }
        (None, None) => return Outcome::Failed("no schema".into()),
    };
    let validator = match pack.validator(&uri) {
        Ok(v) => v,
        Err(e) => return Outcome::Failed(e.to_string()),
    };
    if let Some(n) = args.repeat {
        repeat(path, &pack, &uri, n, limits);
    }
    let max = args.max_errors.unwrap_or(limits.json.max_errors).max(1);
    let errors = validator
        .iter_errors(&doc)
        .take(max)
        .map(|e| {
            let raw = e.instance_path().to_string();
            let (line, column) = crate::json::locate(&bytes, &raw).unwrap_or((0, 0));
            let keyword = e.kind().keyword();
            let (at, message) = if args.show_values {
                (raw, e.to_string())
            } else if matches!(keyword, "additionalProperties" | "unevaluatedProperties") {
                // The masked message still lists the unexpected names, which may be data.
                (
                    pack.mask_pointer(&raw),
                    "properties the schema does not declare are not allowed".to_owned(),
                )
            } else {
                (pack.mask_pointer(&raw), e.masked().to_string())
            };
            violation(line, column, &at, keyword, &message)
        })
        .collect();
    Outcome::Checked(errors)
}

/// The file's bytes, `None` when it is larger than `max` (read no further).
pub(crate) fn read_limited(path: &Path, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read as _;
    let mut out = Vec::new();
    std::fs::File::open(path)?
        .take(max as u64 + 1)
        .read_to_end(&mut out)?;
    Ok((out.len() <= max).then_some(out))
}

/// Validates the JSON `files`; the verdict.
pub(super) fn run(args: &ValidateArgs, files: &[PathBuf]) -> super::super::CommandResult {
    let limits = Limits::default();
    let given = given_pack(args).map_err(CliError::failed)?;
    let id = given_id(args);
    let registry = given.is_none().then(super::super::discover::registry);
    let (mut valid, mut invalid, mut failed) = (0usize, 0usize, 0usize);
    let mut reports = Vec::new();
    for path in files {
        let shown = path.display().to_string();
        let outcome = check_one(
            path,
            given.as_ref().map(|p| (p, id.as_deref())),
            registry.as_ref(),
            args,
            &limits,
        );
        let errors = match outcome {
            Outcome::Checked(errors) => {
                if errors.is_empty() {
                    valid += 1;
                } else {
                    invalid += 1;
                }
                errors
            }
            Outcome::Refused(e) => {
                invalid += 1;
                vec![e]
            }
            Outcome::Failed(message) => {
                failed += 1;
                if !args.json {
                    eprintln!("{shown}: {message}");
                }
                vec![violation(0, 0, "", "io", &message)]
            }
        };
        if !args.json {
            for e in errors.iter().filter(|e| e["kind"] != "io") {
                let at = e["path"].as_str().unwrap_or_default();
                println!(
                    "{shown}:{}:{}: {}: {}",
                    e["line"],
                    e["column"],
                    if at.is_empty() { "/" } else { at },
                    e["message"].as_str().unwrap_or_default()
                );
            }
        }
        reports.push(json!({"file": shown, "valid": errors.is_empty(), "errors": errors}));
    }
    if args.json {
        println!("{}", json!({"schema_errors": [], "files": reports}));
    } else {
        eprintln!(
            "{valid} valid, {invalid} invalid, {failed} unreadable ({} file(s))",
            files.len()
        );
    }
    Ok(if failed > 0 {
        Verdict::Undecided
    } else {
        Verdict::of(invalid == 0)
    })
}

/// Files grouped by kind, in their order: (JSON, other).
pub(super) fn split(files: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut by: BTreeMap<bool, Vec<PathBuf>> = BTreeMap::new();
    for f in files {
        by.entry(is_json(f)).or_default().push(f.clone());
    }
    (
        by.remove(&true).unwrap_or_default(),
        by.remove(&false).unwrap_or_default(),
    )
}

/// Whether the schemas given on the command line are JSON Schemas.
pub(super) fn schemas_are_json(args: &ValidateArgs) -> bool {
    args.schema
        .iter()
        .any(|s| s.to_string_lossy().ends_with(".json"))
        || args.schema_dir.as_ref().is_some_and(|d| {
            std::fs::read_dir(d).is_ok_and(|mut entries| {
                entries
                    .any(|e| e.is_ok_and(|e| e.path().to_string_lossy().ends_with(SCHEMA_SUFFIX)))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_recognised_by_name_or_first_byte() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = dir.path().join("a.txt");
        std::fs::write(&a, b"  \n{\"x\": 1}").expect("write");
        let b = dir.path().join("b.xml");
        std::fs::write(&b, b"<x/>").expect("write");
        let c = dir.path().join("c.JSON");
        std::fs::write(&c, b"not even json").expect("write");
        assert!(is_json(&a) && !is_json(&b) && is_json(&c));
        let (json, other) = split(&[a.clone(), b.clone(), c.clone()]);
        assert_eq!((json, other), (vec![a, c], vec![b]));
    }
}
