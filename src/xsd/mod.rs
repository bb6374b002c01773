//! The XSD 1.0 engine: offline catalog → schema documents → compiled, immutable `Grammar` →
//! streaming validator.
pub mod datatypes;
pub mod facets;
pub mod regex;
pub mod simple;

mod assemble;
pub mod catalog;
pub mod components;
pub mod content;
pub mod derivation;
pub mod error;
pub mod identity;
mod load;
mod s4s;
mod schema_doc;
pub mod validator;

use std::path::{Path, PathBuf};

use crate::config::Limits;

pub use catalog::Catalog;
pub use components::Grammar;
pub use error::{ErrorKind, SchemaError, ValidationError, XsdError};
pub use validator::{
    AttributeInfo, ElementInfo, NoObserver, Observer, ValidatedDoc, ValidationOptions,
    ValidationReport, Validator, validate_bytes, validate_reader, validate_with,
};

/// Compiles the schema set reachable from the entry documents.
pub fn compile_files(
    entries: &[PathBuf],
    catalog: &Catalog,
    limits: &Limits,
) -> Result<Grammar, XsdError> {
    let (docs, mut errors) = load::load_documents(entries, catalog, limits);
    if !errors.is_empty() {
        return Err(XsdError::Schema(errors));
    }
    match assemble::assemble(&docs, limits) {
        Ok(g) => Ok(g),
        Err(mut e) => {
            errors.append(&mut e);
            Err(XsdError::Schema(errors))
        }
    }
}

/// Compiles one entry schema document (and what it includes and imports). Absolute
/// `schemaLocation` URLs resolve to files of the same name next to the entry document.
pub fn compile_file(entry: &Path, limits: &Limits) -> Result<Grammar, XsdError> {
    let mut catalog = Catalog::new();
    if let Some(dir) = entry.parent() {
        catalog.add_dir(dir);
    }
    compile_files(&[entry.to_path_buf()], &catalog, limits)
}

/// Compiles every `*.xsd` of a directory (not recursive) into one grammar.
pub fn compile_dir(dir: &Path, limits: &Limits) -> Result<Grammar, XsdError> {
    let files = load::xsd_files_in(dir).map_err(|e| {
        XsdError::Schema(vec![SchemaError {
            file: dir.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot list schema directory: {e}"),
        }])
    })?;
    if files.is_empty() {
        return Err(XsdError::Schema(vec![SchemaError {
            file: dir.to_path_buf(),
            line: 0,
            column: 0,
            message: "no *.xsd files in schema directory".into(),
        }]));
    }
    let mut catalog = Catalog::new();
    catalog.add_dir(dir);
    compile_files(&files, &catalog, limits)
}
