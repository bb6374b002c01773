//! The fields of a JSON Fachdaten document in schema order, labelled with the schemas' German
//! `title` and `description` (FIM schemas carry them for every field and group).
//!
//! This is what the case-worker view renders ("Vorname: Erika" instead of `"vorname": "Erika"`;
//! [`crate::xoev::render::json_document_html`]). It reads only the schema pack and the document
//! it is given and returns references into that document — it never logs or copies values.
//!
//! Order: the members of an object in the order its schema declares them (`properties`, then
//! the `properties` of `allOf` parts in order), then members the schema does not declare, in
//! document order. `$ref`s are followed inside the pack (absolute `$id`s and local `#/…`
//! pointers); a group referenced from itself is entered at most [`MAX_DEPTH`] levels deep.

use serde_json::Value;

use super::JsonPack;

/// How deep [`fields`] follows nested groups and `$ref`s.
pub const MAX_DEPTH: usize = 64;

/// One field of a document, labelled.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<'d> {
    /// JSON pointer of the value in the document.
    pub pointer: String,
    /// Nesting level (0: a member of the document's top-level object).
    pub depth: usize,
    /// The schema's `title` (the label), when it has one.
    pub title: Option<String>,
    /// The schema's `description` (help text), when it has one.
    pub description: Option<String>,
    /// The schema's `format` (`date`, `date-time`, `time`, …), when it names one.
    pub format: Option<String>,
    /// The `title` of the `oneOf`/`anyOf` entry whose `const` is the value (FIM code lists:
    /// `{"const": "02", "title": "Markt"}`), when the schema has one.
    pub value_title: Option<String>,
    /// The value (objects and arrays are followed by their own fields).
    pub value: &'d Value,
}

/// A schema with the `$id` of the document it came from (the base of its relative `$ref`s).
#[derive(Clone, Copy)]
struct At<'p> {
    base: &'p str,
    schema: &'p Value,
}

/// The fields of `doc` (valid against the schema `schema_uri` of `pack`) in schema order with
/// their labels; empty when the pack has no such schema.
#[must_use]
pub fn fields<'d>(pack: &JsonPack, schema_uri: &str, doc: &'d Value) -> Vec<Field<'d>> {
    let mut out = Vec::new();
    if let Some(schema) = pack.schema(schema_uri) {
        let root = At {
            base: schema_uri,
            schema,
        };
        walk(pack, root, doc, "", 0, &mut out);
    }
    out
}

/// Follows `$ref`s (at most [`MAX_DEPTH`] in a row) to the schema that describes the value.
fn deref<'p>(pack: &'p JsonPack, mut at: At<'p>) -> At<'p> {
    for _ in 0..MAX_DEPTH {
        let Some(reference) = at.schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match resolve(pack, at.base, reference) {
            Some(next) => at = next,
            None => break,
        }
    }
    at
}

/// A `$ref` inside the pack: `<$id>#<pointer>`, `#<pointer>` or a relative `$id`.
fn resolve<'p>(pack: &'p JsonPack, base: &'p str, reference: &str) -> Option<At<'p>> {
    let (uri, fragment) = reference.split_once('#').unwrap_or((reference, ""));
    let base = if uri.is_empty() {
        pack.schema_ids().find(|id| *id == base)?
    } else {
        let base_uri = jsonschema::uri::from_str(base).ok()?;
        let absolute = jsonschema::uri::resolve_against(&base_uri.borrow(), uri).ok()?;
        let absolute = absolute.as_str();
        pack.schema_ids().find(|id| *id == absolute)?
    };
    let doc = pack.schema(base)?;
    let schema = if fragment.is_empty() {
        doc
    } else {
        doc.pointer(fragment)?
    };
    Some(At { base, schema })
}

/// Property schemas of an object schema in declaration order, `allOf` parts included.
fn properties<'p>(pack: &'p JsonPack, at: At<'p>, depth: usize, out: &mut Vec<(&'p str, At<'p>)>) {
    if depth > MAX_DEPTH {
        return;
    }
    let at = deref(pack, at);
    if let Some(props) = at.schema.get("properties").and_then(Value::as_object) {
        for (name, schema) in props {
            if !out.iter().any(|(n, _)| n == name) {
                out.push((
                    name,
                    At {
                        base: at.base,
                        schema,
                    },
                ));
            }
        }
    }
    if let Some(parts) = at.schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            let part = At {
                base: at.base,
                schema: part,
            };
            properties(pack, part, depth + 1, out);
        }
    }
}

fn text(schema: &Value, key: &str) -> Option<String> {
    schema.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// The label of a value: its own schema's `title`/`description`, else those of the schema its
/// `$ref` names (a FIM field referenced from a group keeps the field's label).
fn label(pack: &JsonPack, at: At<'_>) -> (Option<String>, Option<String>) {
    let target = deref(pack, at);
    (
        text(at.schema, "title").or_else(|| text(target.schema, "title")),
        text(at.schema, "description").or_else(|| text(target.schema, "description")),
    )
}

/// The `format` of a value's schema (its own, else the one its `$ref` names).
fn format_of(pack: &JsonPack, at: At<'_>) -> Option<String> {
    text(at.schema, "format").or_else(|| text(deref(pack, at).schema, "format"))
}

/// The title of the `oneOf`/`anyOf` entry (own or referenced schema) whose `const` is `value`.
fn value_title(pack: &JsonPack, at: At<'_>, value: &Value) -> Option<String> {
    if value.is_object() || value.is_array() {
        return None;
    }
    [at, deref(pack, at)].into_iter().find_map(|a| {
        ["oneOf", "anyOf"]
            .into_iter()
            .filter_map(|k| a.schema.get(k).and_then(Value::as_array))
            .flatten()
            .find(|entry| entry.get("const") == Some(value))
            .and_then(|entry| text(entry, "title"))
    })
}

fn push_member<'d>(
    pack: &JsonPack,
    at: Option<At<'_>>,
    value: &'d Value,
    pointer: String,
    depth: usize,
    out: &mut Vec<Field<'d>>,
) {
    let (title, description) = at.map(|a| label(pack, a)).unwrap_or_default();
    out.push(Field {
        pointer: pointer.clone(),
        depth,
        title,
        description,
        format: at.and_then(|a| format_of(pack, a)),
        value_title: at.and_then(|a| value_title(pack, a, value)),
        value,
    });
    if let Some(at) = at {
        walk(pack, at, value, &pointer, depth + 1, out);
    } else if depth < MAX_DEPTH {
        walk_unknown(value, &pointer, depth + 1, out);
    }
}

fn walk<'d>(
    pack: &JsonPack,
    at: At<'_>,
    value: &'d Value,
    pointer: &str,
    depth: usize,
    out: &mut Vec<Field<'d>>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let at = deref(pack, at);
    match value {
        Value::Object(members) => {
            let mut declared = Vec::new();
            properties(pack, at, 0, &mut declared);
            for (name, schema) in &declared {
                if let Some(v) = members.get(*name) {
                    push_member(pack, Some(*schema), v, child(pointer, name), depth, out);
                }
            }
            for (name, v) in members {
                if !declared.iter().any(|(n, _)| n == name) {
                    push_member(pack, None, v, child(pointer, name), depth, out);
                }
            }
        }
        Value::Array(items) => {
            let item = at.schema.get("items").map(|schema| At {
                base: at.base,
                schema,
            });
            for (i, v) in items.iter().enumerate() {
                push_member(pack, item, v, format!("{pointer}/{i}"), depth, out);
            }
        }
        _ => {}
    }
}

/// Members of a value no schema describes: document order, no labels.
fn walk_unknown<'d>(value: &'d Value, pointer: &str, depth: usize, out: &mut Vec<Field<'d>>) {
    let children: Vec<(String, &'d Value)> = match value {
        Value::Object(m) => m.iter().map(|(k, v)| (child(pointer, k), v)).collect(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{pointer}/{i}"), v))
            .collect(),
        _ => return,
    };
    for (p, v) in children {
        out.push(Field {
            pointer: p.clone(),
            depth,
            title: None,
            description: None,
            format: None,
            value_title: None,
            value: v,
        });
        if depth < MAX_DEPTH {
            walk_unknown(v, &p, depth + 1, out);
        }
    }
}

fn child(pointer: &str, name: &str) -> String {
    format!("{pointer}/{}", name.replace('~', "~0").replace('/', "~1"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    const ROOT: &str = "https://schema.poststelle.invalid/fim/test/s1.schema.json";
    const GROUP: &str = "https://schema.poststelle.invalid/fim/test/g1.schema.json";
    const FIELD: &str = "https://schema.poststelle.invalid/fim/test/f1.schema.json";

    #[test]
    fn fields_follow_schema_order_with_titles_from_refs_and_overrides() {
        let root = json!({"$id": ROOT, "title": "Antrag", "type": "object",
            "properties": {
                "zweck": {"title": "Zweck der Anzeige", "type": "string"},
                "person": {"$ref": GROUP},
                "kinder": {"type": "array", "items": {"$ref": "#/$defs/kind"}}
            },
            "$defs": {"kind": {"title": "Kind", "type": "object",
                               "properties": {"vorname": {"$ref": FIELD}}}}});
        let group = json!({"$id": GROUP, "title": "Antragsteller", "type": "object",
            "allOf": [{"properties": {"nachname": {"title": "Familienname", "type": "string"}}}],
            "properties": {"vorname": {"$ref": FIELD}}});
        let field = json!({"$id": FIELD, "title": "Vorname", "description": "Rufname zuerst",
                           "type": "string"});
        let files: BTreeMap<String, Vec<u8>> = [
            ("s1.schema.json", root),
            ("g1.schema.json", group),
            ("f1.schema.json", field),
        ]
        .into_iter()
        .map(|(p, v)| (p.to_owned(), v.to_string().into_bytes()))
        .collect();
        let pack = JsonPack::from_files("t", "sha256:00", &files).expect("pack");
        // Document order differs from schema order; `x-extra` is not declared.
        let doc = json!({"x-extra": 1, "kinder": [{"vorname": "Ben"}],
                         "person": {"nachname": "Musterfrau", "vorname": "Erika"},
                         "zweck": "Test"});
        let got: Vec<(String, Option<String>)> = fields(&pack, ROOT, &doc)
            .into_iter()
            .map(|f| (f.pointer, f.title))
            .collect();
        let want = [
            ("/zweck", Some("Zweck der Anzeige")),
            ("/person", Some("Antragsteller")),
            ("/person/vorname", Some("Vorname")),
            ("/person/nachname", Some("Familienname")),
            ("/kinder", None),
            ("/kinder/0", Some("Kind")),
            ("/kinder/0/vorname", Some("Vorname")),
            ("/x-extra", None),
        ];
        let want: Vec<(String, Option<String>)> = want
            .iter()
            .map(|(p, t)| ((*p).to_owned(), t.map(str::to_owned)))
            .collect();
        assert_eq!(got, want);
        let vorname = fields(&pack, ROOT, &doc)
            .into_iter()
            .find(|f| f.pointer == "/person/vorname")
            .expect("field");
        assert_eq!(vorname.description.as_deref(), Some("Rufname zuerst"));
        assert_eq!(vorname.value, "Erika");
        assert_eq!(vorname.depth, 1);
        assert!(fields(&pack, "https://unknown.invalid/x", &doc).is_empty());
    }
}
