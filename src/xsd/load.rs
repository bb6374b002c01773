//! Loading a schema set: entry documents, then every `xs:include`, `xs:redefine` and
//! `xs:import` reachable from them. Every location of an imported namespace is loaded (XBau 2.6
//! imports the Kernmodul namespace from two files), each document once per effective target
//! namespace (a chameleon document included into two namespaces is two documents).

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use crate::config::Limits;

use super::catalog::Catalog;
use super::error::SchemaError;
use super::schema_doc::{SchemaDoc, read_schema_doc};

/// Reads the entry documents and everything they reference.
pub(crate) fn load_documents(
    entries: &[PathBuf],
    catalog: &Catalog,
    limits: &Limits,
) -> (Vec<SchemaDoc>, Vec<SchemaError>) {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    let mut seen: HashSet<(PathBuf, Option<String>)> = HashSet::new();
    // Documents with their own target namespace are the same document whoever includes them.
    let mut namespaced: HashSet<PathBuf> = HashSet::new();
    // The target namespace of every document read, for imports that reach it again.
    let mut target_of: HashMap<PathBuf, String> = HashMap::new();
    let mut queue: VecDeque<Queued> = entries.iter().map(|p| (p.clone(), None, None)).collect();
    while let Some((path, chameleon, import)) = queue.pop_front() {
        let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
        let mut import = import;
        if let Some(own) = target_of.get(&canonical)
            && let Some(i) = import.take()
        {
            errors.extend(i.check(own));
        }
        let chameleon = if namespaced.contains(&canonical) {
            None
        } else {
            chameleon
        };
        if seen.contains(&(canonical.clone(), chameleon.clone())) {
            continue;
        }
        if docs.len() >= limits.xsd.max_schema_documents {
            errors.push(SchemaError {
                file: path,
                line: 0,
                column: 0,
                message: format!(
                    "more than {} schema documents (limit max_schema_documents)",
                    limits.xsd.max_schema_documents
                ),
            });
            break;
        }
        let doc = match read_schema_doc(&canonical, chameleon.as_deref(), &limits.xml) {
            Ok(doc) => doc,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let own = doc.nodes[0].attr("targetNamespace").unwrap_or("");
        if !own.is_empty() {
            namespaced.insert(canonical.clone());
        }
        if let Some(import) = &import {
            errors.extend(import.check(own));
        }
        target_of.insert(canonical.clone(), own.to_owned());
        let key = (
            canonical.clone(),
            if own.is_empty() {
                chameleon.clone()
            } else {
                None
            },
        );
        if !seen.insert(key) {
            continue;
        }
        if let Some(expected) = &chameleon
            && !own.is_empty()
            && own != expected
        {
            errors.push(doc.error(
                0,
                format!(
                    "included document has target namespace '{own}', the includer '{expected}'"
                ),
            ));
        }
        errors.extend(super::s4s::check(&doc));
        for child in doc.top_level() {
            let node = &doc.nodes[child as usize];
            let kind = &*node.kind;
            if !matches!(kind, "include" | "import" | "redefine") {
                continue;
            }
            let Some(location) = node.attr("schemaLocation") else {
                if kind != "import" {
                    errors.push(doc.error(child, format!("xs:{kind} without schemaLocation")));
                }
                continue;
            };
            // XSD 1.0 §4.2: an unresolvable location is not an error in itself; the references
            // into it fail with "not defined" if they are needed.
            if let Some(target) = catalog.resolve(&canonical, location) {
                let cham = (kind != "import").then(|| doc.target_ns.clone());
                let import = (kind == "import").then(|| Import {
                    namespace: node.attr("namespace").unwrap_or("").to_owned(),
                    at: doc.error(child, ""),
                });
                queue.push_back((target, cham, import));
            }
        }
        docs.push(doc);
    }
    for (d, doc) in docs.iter_mut().enumerate() {
        mark_redefine_self_references(doc, d);
    }
    (docs, errors)
}

/// A document to read: its path, the namespace it is included into (chameleon), and the
/// `xs:import` that names it.
type Queued = (PathBuf, Option<String>, Option<Import>);

/// An `xs:import` on the way to its document: the namespace it names (`""`: none) and where it
/// stands (an error with an empty message).
struct Import {
    namespace: String,
    at: SchemaError,
}

impl Import {
    /// src-import 3: the imported document's target namespace is the one the import names;
    /// without `namespace`, the document has none. Checked for every import of a document, also
    /// when another reference read it first.
    fn check(&self, own: &str) -> Option<SchemaError> {
        (own != self.namespace).then(|| {
            let shown = |what: &str, ns: &str| {
                if ns.is_empty() {
                    format!("no {what}")
                } else {
                    format!("{what} '{ns}'")
                }
            };
            SchemaError {
                message: format!(
                    "xs:import names {}, but the document at its schemaLocation has {} \
                     (src-import)",
                    shown("namespace", &self.namespace),
                    shown("target namespace", own)
                ),
                ..self.at.clone()
            }
        })
    }
}

/// The key under which the original of a component redefined by document `doc` stays
/// reachable (per redefining document, so that chains of redefinitions stay apart).
pub(crate) fn original_key(clark: &str, doc: usize) -> String {
    format!("{clark}#original{doc}")
}

/// Inside `xs:redefine`, a type's `base`, a group's inner `group ref` and an attribute group's
/// inner `attributeGroup ref` naming the component itself mean the original definition.
fn mark_redefine_self_references(doc: &mut SchemaDoc, d: usize) {
    let components: Vec<(u32, String)> = doc
        .redefined_components()
        .map(|(c, name)| (c, format!("{{{}}}{}", doc.target_ns, name)))
        .collect();
    for (c, clark) in components {
        let node = &doc.nodes[c as usize];
        let (attr, on_kind): (&str, &[&str]) = match &*node.kind {
            "complexType" | "simpleType" => ("base", &["restriction", "extension"]),
            "group" => ("ref", &["group"]),
            "attributeGroup" => ("ref", &["attributeGroup"]),
            _ => continue,
        };
        let mut stack = node.children.clone();
        while let Some(n) = stack.pop() {
            let node = &mut doc.nodes[n as usize];
            if on_kind.contains(&&*node.kind) {
                for (k, v) in &mut node.attrs {
                    if &**k == attr && **v == *clark {
                        *v = original_key(&clark, d).into_boxed_str();
                    }
                }
            }
            stack.extend(node.children.iter().copied());
        }
    }
}

/// The `*.xsd` files of a directory (not recursive), sorted for reproducible results.
pub(crate) fn xsd_files_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "xsd") && p.is_file())
        .collect();
    files.sort();
    Ok(files)
}
