//! XÖV code lists: the genericode lists of a schema pack and the check of an instance's codes
//! against them.
//!
//! A code element is one whose type derives from `xoev-code:Code`
//! (`{http://xoev.de/schemata/code/1_0}Code`). The XSD says which of the four code types it
//! is, and the check follows from that:
//! - **Typ 1**: the `code` child's type enumerates the values — the XSD already checked them;
//!   nothing more to do here.
//! - **Typ 2**: `listURI` and `listVersionID` fixed in the XSD, the values only in the list.
//! - **Typ 3**: `listURI` fixed, `listVersionID` from the instance.
//! - **Typ 4**: both from the instance.
//!
//! For Typ 2–4 the list is looked up by (`listURI`, `listVersionID`) — a fixed attribute the
//! instance omits arrives from the validator as a default — and the code must be in its key
//! column (finding `codelist-value`, an error). A list or version that is not installed is the
//! finding `codelist-unknown` (a warning by default; its severity can be overridden by that
//! id like any rule). The check runs as an observer of an XSD validation, so the classification
//! is exact (`xsi:type`, local declarations, restrictions), never guessed from element names.

pub mod genericode;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use genericode::{CodeList, GenericodeError};

use super::transform::kind::is_code_type;

use crate::config::{Limits, XmlLimits};
use crate::schematron::{Finding, FindingKind, Overrides, Severity};
use crate::xsd::components::{TypeId, TypeKind};
use crate::xsd::datatypes::Value;
use crate::xsd::validator::AttributeInfo;
use crate::xsd::{ElementInfo, Grammar, Observer, ValidationOptions, validate_with};

/// Rule id of a code that is not in its list.
pub const RULE_VALUE: &str = "codelist-value";
/// Rule id of a list (or version) that is not installed.
pub const RULE_UNKNOWN: &str = "codelist-unknown";

/// Rows of one list at most (the AGS list has 11,227).
pub const MAX_ROWS: usize = 200_000;

/// The code lists of a pack, by (`CanonicalUri`, `Version`).
#[derive(Debug, Clone, Default)]
pub struct CodeLists {
    lists: HashMap<(String, String), CodeList>,
}

impl CodeLists {
    /// Reads genericode files (a pack's `codelists/*.xml`). Two files with the same URI and
    /// version: the later one wins only if equal — else the set is refused, since it would be
    /// unclear which one decides.
    ///
    /// # Errors
    /// A file that cannot be read or is not a code list, named with its reason.
    pub fn load(files: &[PathBuf], xml: &XmlLimits) -> Result<Self, String> {
        let mut lists = HashMap::new();
        for file in files {
            let list = read_file(file, xml)?;
            let key = (list.uri.clone(), list.version.clone());
            if let Some(prev) = lists.get(&key)
                && *prev != list
            {
                return Err(format!(
                    "{}: a different list {} version {} was read before",
                    shown(file),
                    list.uri,
                    list.version
                ));
            }
            lists.insert(key, list);
        }
        Ok(Self { lists })
    }

    /// The list with this URI and version.
    #[must_use]
    pub fn get(&self, uri: &str, version: &str) -> Option<&CodeList> {
        self.lists.get(&(uri.to_owned(), version.to_owned()))
    }

    /// Number of lists.
    #[must_use]
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// The installed lists with this URI, by version (sorted).
    #[must_use]
    pub fn versions_of(&self, uri: &str) -> Vec<&CodeList> {
        let mut v: Vec<&CodeList> = self.lists.values().filter(|l| l.uri == uri).collect();
        v.sort_by(|a, b| a.version.cmp(&b.version));
        v
    }

    /// Whether some installed list has this URI (in any version).
    #[must_use]
    pub fn has_uri(&self, uri: &str) -> bool {
        self.lists.keys().any(|(u, _)| u == uri)
    }

    /// Adds a list (tests, tools).
    pub fn insert(&mut self, list: CodeList) {
        self.lists
            .insert((list.uri.clone(), list.version.clone()), list);
    }
}

fn shown(file: &Path) -> String {
    file.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn read_file(file: &Path, xml: &XmlLimits) -> Result<CodeList, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", shown(file)))?;
    genericode::read(&bytes, xml, MAX_ROWS).map_err(|e| format!("{}: {e}", shown(file)))
}

/// Options of one check.
#[derive(Debug, Clone, Copy)]
pub struct CheckOptions {
    /// Name the offending code in messages (local debugging only).
    pub show_values: bool,
    /// Findings kept.
    pub max_findings: usize,
}

/// The findings of one document's codes, and whether some were cut off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeReport {
    /// In document order.
    pub findings: Vec<Finding>,
    /// More existed than were kept.
    pub truncated: bool,
}

/// Checks the codes of a document on their own: a validation pass with only the code-list
/// checker (the gateway and `validate --rules` check codes in their one pass instead,
/// [`crate::xoev::rules::RulesPass`]). `None` when the document is not XSD-valid within
/// `limits`: its codes are not checked then, and nothing is claimed about them.
#[must_use]
pub fn check(
    grammar: &Grammar,
    lists: &CodeLists,
    document: &[u8],
    limits: &Limits,
    options: CheckOptions,
    overrides: &Overrides,
) -> Option<CodeReport> {
    let mut observer = CodeChecker::new(lists, options, overrides);
    let mut validation = ValidationOptions::from_limits(limits);
    validation.max_errors = 1;
    validate_with(grammar, document, limits, &validation, &mut observer)
        .is_valid()
        .then(|| observer.into_report())
}

/// What an element's type is, for this check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Not a code.
    Other,
    /// A code (derives from `xoev-code:Code`).
    Code,
}

#[derive(Debug)]
enum Frame {
    Other,
    Code(Box<CodeFrame>),
    /// The `code` child of a code element.
    CodeChild,
}

#[derive(Debug, Default)]
struct CodeFrame {
    line: u64,
    column: u64,
    path: String,
    uri: Option<String>,
    version: Option<String>,
    code: Option<String>,
    /// The `code` child's type enumerates its values (Typ 1).
    enumerated: bool,
    /// The XSD fixes `listURI` (Typ 2, 3): its value is the schema's, not the sender's.
    uri_fixed: bool,
}

/// The code-list check as an [`Observer`] of a validation pass (the pass that validates the
/// document, so its codes are checked without reading it again): every element whose type
/// derives from `xoev-code:Code` is looked up in the lists by its `listURI` + `listVersionID`.
/// Its findings mean something only when the pass found the document valid.
#[derive(Debug)]
pub struct CodeChecker<'a> {
    lists: &'a CodeLists,
    options: CheckOptions,
    overrides: &'a Overrides,
    kinds: HashMap<TypeId, Kind>,
    stack: Vec<Frame>,
    report: CodeReport,
}

impl<'a> CodeChecker<'a> {
    /// A checker against these lists, with the severity overrides by rule id.
    #[must_use]
    pub fn new(lists: &'a CodeLists, options: CheckOptions, overrides: &'a Overrides) -> Self {
        Self {
            lists,
            options,
            overrides,
            kinds: HashMap::new(),
            stack: Vec::new(),
            report: CodeReport::default(),
        }
    }

    /// The findings, in document order.
    #[must_use]
    pub fn into_report(self) -> CodeReport {
        self.report
    }
}

impl CodeChecker<'_> {
    fn kind(&mut self, g: &Grammar, type_id: TypeId) -> Kind {
        *self.kinds.entry(type_id).or_insert_with(|| {
            if is_code_type(g, type_id) {
                Kind::Code
            } else {
                Kind::Other
            }
        })
    }

    fn finish(&mut self, frame: &CodeFrame) {
        if frame.enumerated {
            return;
        }
        let (Some(uri), Some(version), Some(code)) = (&frame.uri, &frame.version, &frame.code)
        else {
            // The XSD requires what a list lookup needs; a code type that leaves them optional
            // (the bare `xoev-code:Code`) names no list to check against.
            return;
        };
        let (rule, default, message) = match self.lists.get(uri, version) {
            Some(list) if list.contains(code) => return,
            Some(_) => {
                let mut m = format!("code not in code list {uri} version {version}");
                if self.options.show_values {
                    m.push_str(&format!(" ({code:?})"));
                }
                (RULE_VALUE, Severity::Error, m)
            }
            None => {
                // Named only as far as they are not the sender's free text: a URI the schema
                // fixes or an installed list has, a version of a plain shape.
                let known_uri = frame.uri_fixed || self.lists.has_uri(uri);
                let list = if known_uri || self.options.show_values {
                    format!("code list {uri}")
                } else {
                    "a code list (listURI not among the installed lists)".to_owned()
                };
                let plain = version.len() <= 32
                    && version
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
                let version = if plain || self.options.show_values {
                    format!("version {version}")
                } else {
                    "in the version given".to_owned()
                };
                (
                    RULE_UNKNOWN,
                    Severity::Warning,
                    format!("{list} {version} is not installed; the code was not checked"),
                )
            }
        };
        if self.report.findings.len() >= self.options.max_findings {
            self.report.truncated = true;
            return;
        }
        self.report.findings.push(Finding {
            rule: rule.to_owned(),
            severity: self.overrides.get(rule).copied().unwrap_or(default),
            kind: FindingKind::CodeList,
            line: frame.line,
            column: frame.column,
            path: frame.path.clone(),
            message,
            test: String::new(),
            diagnostics: Vec::new(),
        });
    }
}

impl Observer for CodeChecker<'_> {
    fn wants_values(&self) -> bool {
        false
    }

    fn start_element(&mut self, g: &Grammar, info: &ElementInfo<'_>) {
        let in_code = matches!(self.stack.last(), Some(Frame::Code(_)));
        let frame = if in_code && info.ns.is_empty() && info.local == "code" {
            let enumerated = info.type_id.is_some_and(|t| match &g.type_def(t).kind {
                TypeKind::Simple(st, _) => st.facets().enumeration.is_some(),
                TypeKind::Complex(_) => false,
            });
            if let Some(Frame::Code(c)) = self.stack.last_mut() {
                c.enumerated = enumerated;
            }
            Frame::CodeChild
        } else if info.type_id.is_some_and(|t| self.kind(g, t) == Kind::Code) {
            let uri_fixed = info.type_id.is_some_and(|t| match &g.type_def(t).kind {
                TypeKind::Complex(ct) => ct.attributes.iter().any(|a| {
                    g.names().local(a.name) == "listURI"
                        && a.value.as_ref().is_some_and(|v| v.fixed)
                }),
                TypeKind::Simple(..) => false,
            });
            Frame::Code(Box::new(CodeFrame {
                line: info.pos.line,
                column: info.pos.column,
                path: info.path.to_owned(),
                uri_fixed,
                ..CodeFrame::default()
            }))
        } else {
            Frame::Other
        };
        self.stack.push(frame);
    }

    fn attribute(&mut self, _g: &Grammar, info: &AttributeInfo<'_>) {
        if let Some(Frame::Code(c)) = self.stack.last_mut()
            && info.ns.is_empty()
        {
            let value = info
                .value
                .split_ascii_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            match info.local {
                "listURI" => c.uri = Some(value),
                "listVersionID" => c.version = Some(value),
                _ => {}
            }
        }
    }

    fn simple_value(&mut self, _g: &Grammar, lexical: &str, _typed: Option<&Value>) {
        if matches!(self.stack.last(), Some(Frame::CodeChild)) {
            let code = lexical
                .split_ascii_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            let n = self.stack.len();
            if let Some(Frame::Code(c)) = n.checked_sub(2).and_then(|i| self.stack.get_mut(i)) {
                c.code = Some(code);
            }
        }
    }

    fn end_element(&mut self, _g: &Grammar) {
        if let Some(Frame::Code(c)) = self.stack.pop() {
            self.finish(&c);
        }
    }
}

#[cfg(test)]
mod tests;
