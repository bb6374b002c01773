//! `poststelle render`: the case-worker view of a message, one self-contained German HTML
//! page on stdout (`poststelle render antrag.xml > antrag.html`).
//!
//! JSON Fachdaten (a `.json` file, or one starting with `{`) are rendered with the installed
//! JSON schema pack that provides the `$schema` they name, labels from the schemas' titles
//! ([`crate::xoev::render::json_document_html`]); an invalid document gives exit 1, its
//! violations (JSON pointer and keyword) on stderr and no page.
//!
//! The schema is found like `validate` finds it: by the root element (installed pack, its code
//! lists for code names), or every `*.xsd` in `--schema-dir DIR`. Only a valid document is
//! rendered: an invalid one gives exit 1, its XSD errors on stderr (`file:line:col: path:
//! message`, no values) and nothing on stdout. Exit 2 for usage, I/O and schema errors.

use std::io::{Read, Write};
use std::path::PathBuf;

use crate::config::Limits;
use crate::error::{CliError, Verdict};
use crate::xoev::codelist::CodeLists;
use crate::xoev::render::{MAX_NODES, RenderContext, RenderError, document_html};
use crate::xsd;

/// Arguments of `poststelle render`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RenderArgs {
    /// Load every `*.xsd` in DIR instead of finding the schema pack by the root element.
    #[arg(long, value_name = "DIR")]
    schema_dir: Option<PathBuf>,
    /// The message: XML, or JSON Fachdaten whose `$schema` names their JSON Schema.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Runs the command.
pub(crate) fn run(args: &RenderArgs) -> super::CommandResult {
    render(args).map_err(|message| CliError::Usage(format!("{}: {message}", args.file.display())))
}

fn render(args: &RenderArgs) -> Result<Verdict, String> {
    if args.schema_dir.is_none() && super::validate::json::is_json(&args.file) {
        return render_json(args);
    }
    let limits = Limits::default();
    let shown = args.file.display();
    let schema_errors = super::transform::schema_errors;
    let (grammar, label, codelists) = if let Some(dir) = &args.schema_dir {
        let grammar = xsd::compile_dir(dir, &limits).map_err(schema_errors)?;
        (grammar, String::new(), CodeLists::default())
    } else {
        let registry = super::discover::registry();
        let chosen = match super::discover::schema_for(&registry, &args.file, &limits) {
            Ok(chosen) => chosen,
            Err(not) => {
                eprintln!("{shown}: {}", not.message);
                return Ok(not.verdict);
            }
        };
        let grammar = xsd::compile_file(&chosen.entry, &limits).map_err(schema_errors)?;
        // Code names are a courtesy: a list that does not load leaves codes unnamed.
        let codelists = CodeLists::load(&chosen.codelists, &limits.xml).unwrap_or_else(|e| {
            eprintln!("warning: code lists not loaded, codes shown without names: {e}");
            CodeLists::default()
        });
        (grammar, chosen.label, codelists)
    };
    let mut bytes = Vec::new();
    std::fs::File::open(&args.file)
        .map_err(|e| format!("cannot read: {e}"))?
        .take(limits.xml.max_input_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read: {e}"))?;
    let context = RenderContext {
        message: &label,
        codelists: Some(&codelists),
    };
    match document_html(&grammar, &bytes, &limits, &context) {
        Ok(page) => print_page(&page),
        Err(RenderError::TooLarge(_)) => {
            eprintln!(
                "{}: not rendered: {}",
                args.file.display(),
                RenderError::TooLarge(MAX_NODES)
            );
            Ok(Verdict::Refused)
        }
        Err(RenderError::Invalid(report)) => {
            super::transform::print_invalid(&args.file, &report, "not rendered");
            Ok(Verdict::Refused)
        }
    }
}

/// JSON Fachdaten: the installed pack providing their `$schema`, validated, then rendered.
fn render_json(args: &RenderArgs) -> Result<Verdict, String> {
    let limits = Limits::default();
    let shown = args.file.display();
    let Some(bytes) = super::validate::json::read_limited(&args.file, limits.json.max_bytes)
        .map_err(|e| format!("cannot read: {e}"))?
    else {
        eprintln!(
            "{shown}: not rendered: larger than {} bytes",
            limits.json.max_bytes
        );
        return Ok(Verdict::Refused);
    };
    let doc = match crate::json::parse(&bytes, &limits.json) {
        Ok(doc) => doc,
        Err(e) => {
            eprintln!("{shown}: not rendered: {e}");
            return Ok(Verdict::Refused);
        }
    };
    let uri = doc
        .get("$schema")
        .and_then(serde_json::Value::as_str)
        .ok_or("no $schema member names the JSON Schema of the document")?
        .to_owned();
    let registry = super::discover::registry();
    let Ok(crate::xoev::registry::JsonSchemaSource::Pack(loaded)) = registry.resolve_json(&uri)
    else {
        return Err(format!(
            "no installed JSON schema pack provides {uri} (poststelle schemas install)"
        ));
    };
    let violations = crate::fim::validate(&loaded.pack, &uri, &doc, limits.json.max_errors)
        .map_err(|e| e.to_string())?;
    if !violations.is_empty() {
        for v in &violations {
            eprintln!("{shown}: {v}: not rendered");
        }
        return Ok(Verdict::Refused);
    }
    let label = format!("JSON-Fachdaten nach {uri}");
    let context = RenderContext {
        message: &label,
        codelists: None,
    };
    match crate::xoev::render::json_document_html(&loaded.pack, &uri, &doc, &context) {
        Ok(page) => print_page(&page),
        Err(e) => {
            eprintln!("{shown}: not rendered: {e}");
            Ok(Verdict::Refused)
        }
    }
}

/// The page on stdout.
fn print_page(page: &str) -> Result<Verdict, String> {
    let mut out = std::io::stdout().lock();
    out.write_all(page.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot write: {e}"))?;
    Ok(Verdict::Done)
}
