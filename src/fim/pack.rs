//! One JSON Schema pack, read from its files (see the module doc of [`super`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::config::JsonLimits;

/// The file name ending of FIM schema documents (`s00000096_1.0.schema.json`).
pub const SCHEMA_SUFFIX: &str = ".schema.json";

/// Whether `path` is one of the schema documents among `all` files of a pack: the
/// `*.schema.json` files when there are any (a FIM download may carry example instances as
/// plain `.json`), else every `*.json` file.
#[must_use]
pub fn is_schema_file<'a>(path: &str, mut all: impl Iterator<Item = &'a str>) -> bool {
    if all.any(|p| p.ends_with(SCHEMA_SUFFIX)) {
        path.ends_with(SCHEMA_SUFFIX)
    } else {
        path.ends_with(".json")
    }
}

/// Why a pack cannot be read or a schema of it cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonPackError {
    /// The pack has no JSON schema document.
    #[error("no JSON schema files (*.schema.json, else *.json)")]
    Empty,
    /// A schema file is not strict JSON (or breaks the reader's limits).
    #[error("{file}: {source}")]
    NotJson {
        /// The file, relative to the pack.
        file: String,
        /// What the strict reader refused.
        source: crate::json::JsonError,
    },
    /// A schema file is not a JSON object with an absolute `$id`.
    #[error(
        "{file}: no absolute $id without fragment (every schema of a JSON pack is identified by it)"
    )]
    NoId {
        /// The file, relative to the pack.
        file: String,
    },
    /// Two files declare the same `$id`.
    #[error("$id {id} is declared by both {first} and {second}")]
    DuplicateId {
        /// The `$id`.
        id: String,
        /// The first file declaring it.
        first: String,
        /// The second file declaring it.
        second: String,
    },
    /// A schema does not compile: invalid for its draft, a `$ref` that leaves the pack or
    /// points nowhere, an unknown `$schema`.
    #[error("schema {id} ({file}) does not compile: {reason}")]
    Compile {
        /// The schema's `$id`.
        id: String,
        /// Its file, relative to the pack.
        file: String,
        /// The compiler's message (schema text only, no instance values).
        reason: String,
    },
    /// The pack has no schema with this `$id`.
    #[error("schema pack {pack} has no schema {uri}")]
    UnknownSchema {
        /// The pack id.
        pack: String,
        /// The URI asked for.
        uri: String,
    },
}

/// A schema document of the pack.
struct SchemaDoc {
    file: String,
    schema: Arc<Value>,
}

/// A JSON Schema pack: its schemas by `$id`, resolvable among themselves only, compiled on
/// first use and shared.
pub struct JsonPack {
    id: String,
    fingerprint: String,
    schemas: BTreeMap<String, SchemaDoc>,
    /// Every member name some schema of the pack declares (`properties`, `required`, …).
    names: BTreeSet<String>,
    registry: jsonschema::Registry<'static>,
    compiled: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for JsonPack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonPack")
            .field("id", &self.id)
            .field("fingerprint", &self.fingerprint)
            .field("schemas", &self.schemas.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

/// `$id` without an empty trailing fragment, when it is absolute and has no other fragment.
fn schema_id(doc: &Value) -> Option<String> {
    let id = doc.get("$id")?.as_str()?;
    let id = id.strip_suffix('#').unwrap_or(id);
    let absolute = id
        .split_once(':')
        .is_some_and(|(scheme, rest)| !scheme.is_empty() && !rest.is_empty());
    (absolute && !id.contains('#')).then(|| id.to_owned())
}

/// Adds the member names `schema` declares, at any depth.
fn collect_names(schema: &Value, names: &mut BTreeSet<String>) {
    match schema {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("properties" | "dependentRequired" | "dependentSchemas", Value::Object(m)) => {
                        names.extend(m.keys().cloned());
                    }
                    ("required", Value::Array(list)) => {
                        names.extend(list.iter().filter_map(Value::as_str).map(str::to_owned));
                    }
                    // `const`/`enum`/`default`/`examples` hold instance values, not names.
                    ("const" | "enum" | "default" | "examples", _) => continue,
                    _ => {}
                }
                collect_names(value, names);
            }
        }
        Value::Array(items) => {
            for item in items {
                collect_names(item, names);
            }
        }
        _ => {}
    }
}

impl JsonPack {
    /// Reads a pack from its files (relative path → bytes): the schema documents
    /// ([`is_schema_file`]) are parsed strictly, indexed by `$id` and put in one registry that
    /// refuses every reference outside it. Nothing is compiled yet ([`Self::compile_all`]).
    ///
    /// # Errors
    /// [`JsonPackError`] naming the first file that is not a usable schema document.
    pub fn from_files(
        id: &str,
        fingerprint: &str,
        files: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Self, JsonPackError> {
        let mut schemas: BTreeMap<String, SchemaDoc> = BTreeMap::new();
        let mut names = BTreeSet::new();
        for (file, bytes) in files {
            if !is_schema_file(file, files.keys().map(String::as_str)) {
                continue;
            }
            let doc = crate::json::parse(bytes, &JsonLimits::PROTOCOL).map_err(|source| {
                JsonPackError::NotJson {
                    file: file.clone(),
                    source,
                }
            })?;
            let schema_id =
                schema_id(&doc).ok_or_else(|| JsonPackError::NoId { file: file.clone() })?;
            if let Some(first) = schemas.get(&schema_id) {
                return Err(JsonPackError::DuplicateId {
                    id: schema_id,
                    first: first.file.clone(),
                    second: file.clone(),
                });
            }
            collect_names(&doc, &mut names);
            schemas.insert(
                schema_id,
                SchemaDoc {
                    file: file.clone(),
                    schema: Arc::new(doc),
                },
            );
        }
        if schemas.is_empty() {
            return Err(JsonPackError::Empty);
        }
        let registry = jsonschema::Registry::new()
            .retriever(crate::json::offline_retriever())
            .extend(
                schemas
                    .iter()
                    .map(|(id, doc)| (id.clone(), Arc::clone(&doc.schema))),
            )
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| {
                // Which file cannot be told from a registry error; name the pack's first.
                let (id, doc) = schemas.iter().next().expect("not empty (checked above)");
                JsonPackError::Compile {
                    id: id.clone(),
                    file: doc.file.clone(),
                    reason: e.to_string(),
                }
            })?;
        Ok(Self {
            id: id.to_owned(),
            fingerprint: fingerprint.to_owned(),
            schemas,
            names,
            registry,
            compiled: Mutex::new(HashMap::new()),
        })
    }

    /// The pack id.
    #[must_use]
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The content fingerprint (`sha256:<hex>`).
    #[must_use]
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// `id@fingerprint`, the form the JSON envelope names the schema pack by.
    #[must_use]
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.fingerprint)
    }

    /// The `$id`s of the pack's schemas, sorted.
    pub fn schema_ids(&self) -> impl Iterator<Item = &str> {
        self.schemas.keys().map(String::as_str)
    }

    /// Whether the pack has a schema with this `$id` (an empty trailing fragment is ignored).
    #[must_use]
    pub fn provides(&self, uri: &str) -> bool {
        self.schemas
            .contains_key(uri.strip_suffix('#').unwrap_or(uri))
    }

    /// The schema document with this `$id`.
    #[must_use]
    pub fn schema(&self, uri: &str) -> Option<&Value> {
        self.schemas
            .get(uri.strip_suffix('#').unwrap_or(uri))
            .map(|d| d.schema.as_ref())
    }

    /// The compiled validator of the schema `uri`, compiled on first use and shared.
    ///
    /// # Errors
    /// [`JsonPackError::UnknownSchema`] or [`JsonPackError::Compile`].
    pub fn validator(&self, uri: &str) -> Result<Arc<jsonschema::Validator>, JsonPackError> {
        let key = uri.strip_suffix('#').unwrap_or(uri);
        if let Some(v) = self.lock().get(key) {
            return Ok(Arc::clone(v));
        }
        let doc = self
            .schemas
            .get(key)
            .ok_or_else(|| JsonPackError::UnknownSchema {
                pack: self.id.clone(),
                uri: uri.to_owned(),
            })?;
        // Compiled outside the lock: two first requests may both compile; the result is equal.
        let validator = crate::json::schema_options()
            .with_registry(&self.registry)
            .build(&doc.schema)
            .map_err(|e| JsonPackError::Compile {
                id: key.to_owned(),
                file: doc.file.clone(),
                reason: e.masked().to_string(),
            })?;
        let validator = Arc::new(validator);
        self.lock().insert(key.to_owned(), Arc::clone(&validator));
        Ok(validator)
    }

    /// Compiles every schema of the pack, as `schemas install` does before installing it.
    ///
    /// # Errors
    /// The first schema that does not compile.
    pub fn compile_all(&self) -> Result<usize, JsonPackError> {
        for id in self.schemas.keys() {
            self.validator(id)?;
        }
        Ok(self.schemas.len())
    }

    /// `pointer` with every member-name segment that no schema of the pack declares replaced
    /// by `*`: the keys of free-form maps may be data, and problems never carry data. Array
    /// indexes are kept.
    #[must_use]
    pub fn mask_pointer(&self, pointer: &str) -> String {
        mask_pointer(pointer, |name| self.names.contains(name))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<jsonschema::Validator>>> {
        // A panic while holding the lock cannot leave the map inconsistent (single insert).
        self.compiled
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// [`JsonPack::mask_pointer`] with the set of declared names given as a predicate; with a
/// predicate that knows no name every member segment becomes `*` (pass-through data).
pub(crate) fn mask_pointer(pointer: &str, declared: impl Fn(&str) -> bool) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| {
            let name = segment.replace("~1", "/").replace("~0", "~");
            let index = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
            if index || declared(&name) {
                format!("/{segment}")
            } else {
                "/*".to_owned()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, Value)]) -> BTreeMap<String, Vec<u8>> {
        list.iter()
            .map(|(p, v)| ((*p).to_owned(), v.to_string().into_bytes()))
            .collect()
    }

    const ROOT: &str = "https://schema.poststelle.invalid/fim/test/root.schema.json";
    const FIELD: &str = "https://schema.poststelle.invalid/fim/test/f-name.schema.json";

    fn pack() -> JsonPack {
        let root = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": ROOT, "type": "object", "required": ["name"],
            "properties": {"name": {"$ref": FIELD}, "extra": {"type": "object",
                           "additionalProperties": {"type": "integer"}}},
            "additionalProperties": false
        });
        let field = serde_json::json!({"$id": FIELD, "type": "string", "maxLength": 5});
        JsonPack::from_files(
            "t",
            "sha256:00",
            &files(&[
                ("root.schema.json", root),
                ("f-name.schema.json", field),
                ("example.json", serde_json::json!({"not": "a schema"})),
            ]),
        )
        .expect("pack")
    }

    #[test]
    fn refs_between_files_resolve_and_violations_name_place_and_keyword() {
        let p = pack();
        assert_eq!(p.schema_ids().collect::<Vec<_>>(), [FIELD, ROOT]);
        assert!(p.provides(&format!("{ROOT}#")));
        assert_eq!(p.compile_all(), Ok(2));
        let ok = serde_json::json!({"name": "Anna"});
        assert_eq!(super::super::validate(&p, ROOT, &ok, 20), Ok(vec![]));
        let bad = serde_json::json!({"name": "Annabell-SECRET", "extra": {"Max Mustermann": "x"}});
        let v = super::super::validate(&p, ROOT, &bad, 20).expect("compiles");
        let places: Vec<String> = v.iter().map(ToString::to_string).collect();
        assert_eq!(places, ["/name (maxLength)", "/extra/* (type)"]);
        assert!(!format!("{v:?}").contains("SECRET"), "{v:?}");
    }

    #[test]
    fn a_ref_leaving_the_pack_is_a_compile_error_naming_it() {
        let root = serde_json::json!({"$id": ROOT, "properties": {
            "a": {"$ref": "https://schema.fitko.de/fim/elsewhere.schema.json"}}});
        let p = JsonPack::from_files("t", "sha256:00", &files(&[("r.schema.json", root)]));
        let err = match p {
            Err(e) => e,
            Ok(p) => p.compile_all().expect_err("ref leaves the pack"),
        };
        let text = err.to_string();
        assert!(
            text.contains("https://schema.fitko.de/fim/elsewhere.schema.json"),
            "{text}"
        );
    }

    #[test]
    fn files_without_id_or_with_duplicate_ids_are_refused() {
        let no_id = files(&[("a.schema.json", serde_json::json!({"type": "object"}))]);
        assert!(matches!(
            JsonPack::from_files("t", "x", &no_id),
            Err(JsonPackError::NoId { .. })
        ));
        let relative = files(&[("a.json", serde_json::json!({"$id": "a.json"}))]);
        assert!(matches!(
            JsonPack::from_files("t", "x", &relative),
            Err(JsonPackError::NoId { .. })
        ));
        let twice = files(&[
            ("a.schema.json", serde_json::json!({"$id": ROOT})),
            ("b.schema.json", serde_json::json!({"$id": ROOT})),
        ]);
        assert!(matches!(
            JsonPack::from_files("t", "x", &twice),
            Err(JsonPackError::DuplicateId { .. })
        ));
        let mut dup_member = BTreeMap::new();
        dup_member.insert(
            "a.schema.json".to_owned(),
            br#"{"$id": "https://x.invalid/a", "type": "object", "type": "string"}"#.to_vec(),
        );
        assert!(matches!(
            JsonPack::from_files("t", "x", &dup_member),
            Err(JsonPackError::NotJson { .. })
        ));
        assert_eq!(
            JsonPack::from_files("t", "x", &BTreeMap::new()).expect_err("empty"),
            JsonPackError::Empty
        );
    }

    #[test]
    fn pointers_keep_declared_names_and_indexes_only() {
        let known = |n: &str| n == "antragsteller" || n == "a/b";
        assert_eq!(
            mask_pointer("/antragsteller/0/Erika Musterfrau/a~1b", known),
            "/antragsteller/0/*/a~1b"
        );
        assert_eq!(mask_pointer("", known), "");
        assert_eq!(mask_pointer("/x", |_| false), "/*");
    }
}
