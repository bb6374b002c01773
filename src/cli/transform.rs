//! `poststelle transform`: validate an XÖV message and print its schema-driven JSON on stdout;
//! with `--to-xml`, turn such JSON back into XML.
//!
//! Exit codes like `validate`: 0 done, 1 the document is invalid or over a limit (errors on
//! stderr, as `file:line:col: path: message`, no values), 2 usage, I/O, schema or
//! unsupported-document errors. With `--to-xml` the XML is validated by the same engine
//! before it is written: JSON that does not fit the schema, a value with a character XML 1.0
//! does not allow, or a result that is not valid gives exit 1 and nothing on stdout.
//!
//! The JSON is written while the document is validated, in one pass with bounded memory. So
//! that an invalid document never leaves JSON that looks complete, the output goes to a
//! temporary file first: with `--output FILE` a temporary file next to FILE, renamed onto FILE
//! only when the document was valid (FILE is left untouched otherwise); on stdout a buffer of up
//! to `STDOUT_MEMORY_BYTES` in memory, beyond that an unnamed temporary file in `$TMPDIR`
//! (from the first byte for a document over twice that size, see `stdout_memory`), copied to
//! stdout only when the document was valid (nothing is printed otherwise). So memory stays
//! bounded whatever the size of the JSON.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, Write};
use std::path::{Path, PathBuf};

use crate::config::Limits;
use crate::error::{CliError, Verdict};
use crate::xoev::transform::{
    BinarySink, DirBinaries, DiscardBinaries, MessageIdentity, TransformError, WriteOptions,
    to_xml, transform_to_writer,
};
use crate::xsd::{self, Grammar};

/// Arguments of `poststelle transform`.
#[derive(Debug, Clone, clap::Args)]
pub struct TransformArgs {
    /// Load every `*.xsd` in DIR instead of finding the schema pack by the root element.
    #[arg(long, value_name = "DIR")]
    schema_dir: Option<PathBuf>,
    /// Write each extracted base64Binary payload to `DIR/<id>.bin` (with --to-xml: read them).
    #[arg(long, value_name = "DIR")]
    binaries: Option<PathBuf>,
    /// FILE is the JSON this command printed; print the XML again.
    #[arg(long)]
    to_xml: bool,
    /// Indent the JSON (default: compact, one line).
    #[arg(long)]
    pretty: bool,
    /// Write the JSON to FILE (replaced only when the document is valid) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// The XML message (or, with --to-xml, the JSON).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Runs the command.
pub(crate) fn run(args: &TransformArgs) -> super::CommandResult {
    if args.to_xml {
        run_to_xml(args)
    } else {
        run_transform(args)
    }
    .map_err(|message| CliError::Usage(format!("{}: {message}", args.file.display())))
}

/// The grammar and identity for a (namespace, root) pair: `--schema-dir`, else the registry.
fn grammar_for(
    args: &TransformArgs,
    namespace: &str,
    root: &str,
    limits: &Limits,
) -> Result<(Grammar, MessageIdentity), String> {
    let registry = super::discover::registry();
    if let Some(dir) = &args.schema_dir {
        let grammar = xsd::compile_dir(dir, limits).map_err(schema_errors)?;
        let known = registry.identify(namespace, root).ok();
        let identity = MessageIdentity {
            standard: known.as_ref().map_or("unknown", |m| m.standard).to_owned(),
            version: known.as_ref().map_or("", |m| m.version).to_owned(),
            message_type: root.to_owned(),
            namespace: namespace.to_owned(),
            schema_uri: None,
            schema_pack: format!("dir:{}", dir.display()),
            pass_through: false,
        };
        return Ok((grammar, identity));
    }
    let resolved = registry
        .resolve(namespace, root)
        .map_err(|e| e.to_string())?;
    let grammar = xsd::compile_file(&resolved.entry, limits).map_err(schema_errors)?;
    Ok((grammar, MessageIdentity::from_resolved(&resolved)))
}

/// Prints a schema's errors on stderr and says how many there were.
pub(super) fn schema_errors(e: xsd::XsdError) -> String {
    let errors = e.errors();
    for e in errors {
        eprintln!("{e}");
    }
    format!("schema invalid: {} error(s)", errors.len())
}

/// Prints the errors of an invalid document on stderr (`file:line:col: path: message`, no
/// values), then `file: invalid, {outcome}`.
pub(super) fn print_invalid(file: &Path, report: &xsd::ValidationReport, outcome: &str) {
    let shown = file.display();
    for e in &report.errors {
        eprintln!("{shown}:{}:{}: {}: {}", e.line, e.column, e.path, e.message);
    }
    if report.truncated {
        eprintln!("{shown}: more errors not shown");
    }
    eprintln!("{shown}: invalid, {outcome}");
}

/// JSON for stdout is held in memory up to this size, in an unnamed temporary file beyond
/// (most messages fit; writing and reading back a file cost the transform about 5 %).
pub(crate) const STDOUT_MEMORY_BYTES: usize = 16 << 20;

/// How much of the JSON for stdout is held in memory, for a document of `input_len` bytes. The
/// JSON of an XÖV message is about half the size of its XML (0.57 for XBau), so a document
/// over twice [`STDOUT_MEMORY_BYTES`] goes to the file from the first byte: filling memory
/// first would only add the page faults of the buffer and its copy into the file.
fn stdout_memory(input_len: u64) -> usize {
    if input_len / 2 > STDOUT_MEMORY_BYTES as u64 {
        0
    } else {
        STDOUT_MEMORY_BYTES
    }
}

/// Where the JSON goes until the document is known to be valid.
enum Spool {
    /// `--output FILE`: a new file next to FILE, renamed onto it when published, removed on
    /// drop otherwise.
    File {
        file: File,
        path: PathBuf,
        target: PathBuf,
        published: bool,
    },
    /// stdout: memory, rolled over into an unnamed file (gone with the process) when large.
    Stdout(tempfile::SpooledTempFile),
}

impl Spool {
    /// A spool for `output` (stdout when `None`); `input_len` is the document's size in bytes.
    fn new(output: Option<&Path>, input_len: u64) -> Result<Self, String> {
        let Some(target) = output else {
            return Ok(Spool::Stdout(tempfile::SpooledTempFile::new(
                stdout_memory(input_len),
            )));
        };
        let unique = format!(
            ".poststelle-transform-{}.tmp",
            uuid::Uuid::new_v4().simple()
        );
        // Next to FILE, so that the rename stays on one file system.
        let path = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.join(unique),
            _ => PathBuf::from(unique),
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(Spool::File {
            file,
            path,
            target: target.to_path_buf(),
            published: false,
        })
    }

    /// Makes the complete JSON visible: rename onto the output file, or copy to stdout.
    fn publish(self) -> Result<(), String> {
        self.publish_to(&mut std::io::stdout().lock())
    }

    /// [`Spool::publish`], with `stdout` standing for the standard output. Generic so that,
    /// with the real standard output, a spool rolled over into a file reaches it by the
    /// kernel's copy (`sendfile`/`splice`, through `std::io::copy`'s specialisation) instead
    /// of 8 KiB reads and writes.
    fn publish_to<W: Write>(mut self, stdout: &mut W) -> Result<(), String> {
        let failed = |e: std::io::Error| format!("cannot write: {e}");
        match &mut self {
            Spool::File {
                file,
                path,
                target,
                published,
            } => {
                file.sync_all().map_err(failed)?;
                std::fs::rename(&*path, &*target)
                    .map_err(|e| format!("cannot write {}: {e}", target.display()))?;
                *published = true;
                Ok(())
            }
            Spool::Stdout(spooled) => {
                spooled.rewind().map_err(failed)?;
                // Taken out of `self` (which has a `Drop`), to be consumed.
                let spooled = std::mem::replace(spooled, tempfile::SpooledTempFile::new(0));
                match spooled.into_inner() {
                    tempfile::SpooledData::InMemory(bytes) => stdout.write_all(bytes.get_ref()),
                    tempfile::SpooledData::OnDisk(mut file) => {
                        std::io::copy(&mut file, stdout).map(drop)
                    }
                }
                .and_then(|()| stdout.flush())
                .map_err(failed)
            }
        }
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Spool::File { file, .. } => file.write(buf),
            Spool::Stdout(spooled) => spooled.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Spool::File { file, .. } => file.flush(),
            Spool::Stdout(spooled) => spooled.flush(),
        }
    }
}

impl Drop for Spool {
    fn drop(&mut self) {
        if let Spool::File {
            path,
            published: false,
            ..
        } = self
        {
            // Best effort: a leftover is a hidden `.tmp` file, never the output.
            let _ = std::fs::remove_file(&*path);
        }
    }
}

fn run_transform(args: &TransformArgs) -> Result<Verdict, String> {
    let limits = Limits::default();
    let open = |p: &Path| File::open(p).map_err(|e| format!("cannot read: {e}"));
    let root = match super::discover::root_of(&args.file, &limits) {
        Ok(root) => root,
        Err(not) => {
            eprintln!("{}: {}", args.file.display(), not.message);
            return Ok(not.verdict);
        }
    };
    let (grammar, identity) = grammar_for(args, &root.namespace, &root.local, &limits)?;
    let input = BufReader::with_capacity(64 * 1024, open(&args.file)?);
    let mut dir_sink;
    let mut discard = DiscardBinaries;
    let sink: &mut dyn BinarySink = match &args.binaries {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            dir_sink = DirBinaries(dir.clone());
            &mut dir_sink
        }
        None => &mut discard,
    };
    let input_len = std::fs::metadata(&args.file).map_or(0, |m| m.len());
    let mut spool = Spool::new(args.output.as_deref(), input_len)?;
    let mut out = BufWriter::with_capacity(1 << 16, &mut spool);
    let options = WriteOptions {
        pretty: args.pretty,
        ..WriteOptions::default()
    };
    let result = transform_to_writer(
        &grammar, &identity, input, &limits, sink, &mut out, &options,
    );
    match result {
        Ok(_) => {
            writeln!(out)
                .and_then(|()| out.flush())
                .map_err(|e| format!("cannot write: {e}"))?;
            drop(out);
            spool.publish()?;
            Ok(Verdict::Done)
        }
        // The spool is dropped unpublished: nothing on stdout, FILE untouched.
        Err(TransformError::Invalid(report)) => {
            print_invalid(&args.file, &report, "not transformed");
            Ok(Verdict::Refused)
        }
        // Over a limit of the transform's own: refused like a document over a reader limit.
        Err(e @ TransformError::BufferLimit { .. }) => {
            eprintln!("{}: {e}", args.file.display());
            Ok(Verdict::Refused)
        }
        Err(e) => Err(e.to_string()),
    }
}

fn run_to_xml(args: &TransformArgs) -> Result<Verdict, String> {
    let limits = Limits::default();
    let file = File::open(&args.file).map_err(|e| format!("cannot read: {e}"))?;
    let envelope: serde_json::Value =
        serde_json::from_reader(BufReader::new(file)).map_err(|e| format!("not JSON: {e}"))?;
    let field = |k: &str| {
        envelope
            .get("message")
            .and_then(|m| m.get(k))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("no message.{k}"))
    };
    let (grammar, _) = grammar_for(args, &field("namespace")?, &field("type")?, &limits)?;
    let dir = args.binaries.clone().unwrap_or_else(|| PathBuf::from("."));
    let shown = args.file.display();
    let xml = match to_xml(&grammar, &envelope, &DirBinaries(dir)) {
        Ok(xml) => xml,
        // The JSON does not describe a message of this schema (names the place, not values).
        Err(e) => {
            eprintln!("{shown}: {e}");
            eprintln!("{shown}: invalid, no XML written");
            return Ok(Verdict::Refused);
        }
    };
    // What is written must be a valid message: checked by the same engine that validates
    // incoming messages, before a byte reaches stdout.
    let options = xsd::ValidationOptions::from_limits(&limits);
    let report = xsd::validate_bytes(&grammar, xml.as_bytes(), &limits, &options);
    if !report.is_valid() {
        for e in &report.errors {
            eprintln!(
                "{shown}: the XML written from it, {}:{}: {}: {}",
                e.line, e.column, e.path, e.message
            );
        }
        if report.truncated {
            eprintln!("{shown}: more errors not shown");
        }
        eprintln!("{shown}: invalid, no XML written");
        return Ok(Verdict::Refused);
    }
    std::io::stdout()
        .lock()
        .write_all(xml.as_bytes())
        .map_err(|e| format!("cannot write: {e}"))?;
    Ok(Verdict::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdout_spool_gives_back_every_byte_from_memory_and_after_rolling_over_to_a_file() {
        // A large document spools to the file from the first byte.
        assert_eq!(stdout_memory(1 << 20), STDOUT_MEMORY_BYTES);
        assert_eq!(stdout_memory(3 * STDOUT_MEMORY_BYTES as u64), 0);
        for (cap, len) in [(1 << 10, 700), (64, 100_000), (0, 5)] {
            let json: Vec<u8> = (0..len).map(|i| b"{}[]\"ab:,"[i % 9]).collect();
            let mut spool = Spool::Stdout(tempfile::SpooledTempFile::new(cap));
            {
                let mut out = BufWriter::with_capacity(50, &mut spool);
                for chunk in json.chunks(37) {
                    out.write_all(chunk).expect("write");
                }
                out.flush().expect("flush");
            }
            let rolled = matches!(&spool, Spool::Stdout(s) if s.is_rolled());
            assert_eq!(rolled, len > cap, "cap {cap}, {len} bytes");
            // A real file as the standard output: the rolled-over spool reaches it by the
            // kernel's copy.
            let mut stdout = tempfile::tempfile().expect("tempfile");
            spool.publish_to(&mut stdout).expect("publish");
            stdout.rewind().expect("rewind");
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut got).expect("read");
            assert_eq!(got, json);
        }
    }

    #[test]
    fn file_spool_replaces_the_target_only_when_published() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("out.json");
        std::fs::write(&target, b"old").expect("write");
        let mut spool = Spool::new(Some(&target), 0).expect("spool");
        spool.write_all(b"{}").expect("write");
        drop(spool);
        assert_eq!(std::fs::read(&target).expect("read"), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);

        let mut spool = Spool::new(Some(&target), 0).expect("spool");
        spool.write_all(b"{\"a\":1}").expect("write");
        spool.publish().expect("publish");
        assert_eq!(std::fs::read(&target).expect("read"), b"{\"a\":1}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 1);
    }
}
