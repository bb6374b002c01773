//! JSON Fachdaten (FIM JSON Schema packs, [`crate::fim`]) as the case-worker document: the same
//! page as for XML ([`super::html`]), built from the pack's schemas instead of an XSD.
//!
//! - headings and labels are the schemas' `title`s, help texts their `description`s
//!   ([`crate::fim::labels`]); a member no schema titles shows its humanised name;
//! - members in the order the schema declares them (the form's order), members the schema
//!   does not declare after them in document order;
//! - objects are sections, arrays sections of numbered entries, other values fields;
//! - values formatted as for XML: `format: date` → `13.06.2026`, `date-time`, `time`, numbers
//!   with a decimal comma, booleans `ja`/`nein`, a code whose schema lists it with a title
//!   (`oneOf`/`anyOf` of `const` + `title`) as "Titel (code)";
//! - the document's `$schema` member (a technical URI) is left out.

use std::rc::Rc;

use serde_json::Value;

use super::tree::{Node, humanise};
use super::{MAX_NODES, RenderContext, RenderError, format, html};
use crate::fim::JsonPack;
use crate::fim::labels::{Field, fields};

/// Renders JSON Fachdaten `doc` that the schema `schema_uri` of `pack` describes as a
/// self-contained HTML page. The document was validated when it was received; it is not
/// validated again here (a value the schema does not describe is shown unlabelled).
///
/// # Errors
/// [`RenderError::TooLarge`] with more than [`MAX_NODES`] values.
pub fn json_document_html(
    pack: &JsonPack,
    schema_uri: &str,
    doc: &Value,
    context: &RenderContext<'_>,
) -> Result<String, RenderError> {
    let list = fields(pack, schema_uri, doc);
    if list.len() > MAX_NODES {
        return Err(RenderError::TooLarge(MAX_NODES));
    }
    let schema = pack.schema(schema_uri);
    let text = |key: &str| {
        schema
            .and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .map(Rc::from)
    };
    let mut root = Node {
        label: text("title").unwrap_or_else(|| Rc::from("")),
        description: text("description"),
        value: None,
        children: Vec::new(),
        section: true,
        binary: None,
        local: String::new(),
    };
    let mut rest = list.iter().filter(|f| f.pointer != "/$schema").peekable();
    children(&mut rest, 0, &mut root.children);
    Ok(html::page(&root, context.message))
}

/// Collects the fields at `depth` (and, below each, its own) from a pre-order list.
fn children<'a, 'd: 'a>(
    rest: &mut std::iter::Peekable<impl Iterator<Item = &'a Field<'d>>>,
    depth: usize,
    out: &mut Vec<Node>,
) {
    while let Some(field) = rest.next_if(|f| f.depth == depth) {
        let mut node = node(field);
        if node.section {
            children(rest, depth + 1, &mut node.children);
        }
        out.push(node);
    }
}

fn node(field: &Field<'_>) -> Node {
    let name = field.pointer.rsplit('/').next().unwrap_or("");
    let name = name.replace("~1", "/").replace("~0", "~");
    let label = match &field.title {
        Some(t) => t.clone(),
        // Entries of an array whose items have no title: numbered.
        None if name.bytes().all(|b| b.is_ascii_digit()) && !name.is_empty() => {
            let n = name.parse::<usize>().map_or(0, |n| n.saturating_add(1));
            format!("Eintrag {n}")
        }
        None if name.is_empty() => "Angabe".to_owned(),
        None => humanise(&name),
    };
    let section = field.value.is_object() || field.value.is_array();
    Node {
        label: Rc::from(label),
        description: field.description.as_deref().map(Rc::from),
        value: (!section).then(|| value(field)),
        children: Vec::new(),
        section,
        binary: None,
        local: name,
    }
}

/// A scalar value for German readers.
fn value(field: &Field<'_>) -> String {
    let shown = match field.value {
        Value::Null => "—".to_owned(),
        Value::Bool(b) => format::boolean(if *b { "true" } else { "false" }),
        Value::Number(n) if n.is_f64() => format::float(&n.to_string()),
        Value::Number(n) => format::decimal(&n.to_string(), false),
        Value::String(s) => match field.format.as_deref() {
            Some("date") => format::date(s),
            Some("date-time") => format::date_time(s),
            Some("time") => format::time(s),
            _ => s.clone(),
        },
        // Sections are handled by the caller.
        Value::Array(_) | Value::Object(_) => String::new(),
    };
    match &field.value_title {
        Some(title) => format!("{title} ({shown})"),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;

    const ROOT: &str = "https://schema.poststelle.invalid/fim/test/s2.schema.json";

    fn pack() -> JsonPack {
        let root = json!({"$id": ROOT, "title": "Anzeige", "description": "Testformular.",
        "type": "object",
        "properties": {
            "$schema": {"type": "string"},
            "art": {"title": "Art", "type": "string",
                    "oneOf": [{"const": "01", "title": "Konzert"}, {"const": "02", "title": "Markt"}]},
            "datum": {"title": "Datum", "type": "string", "format": "date"},
            "besucher": {"title": "Erwartete Besucher", "type": "integer"},
            "kosten": {"title": "Kosten", "type": "number"},
            "oeffentlich": {"title": "Öffentlich", "type": "boolean"},
            "programm": {"title": "Programm", "type": "array", "items": {"type": "string"}},
            "ort": {"title": "Ort", "description": "Wo sie stattfindet.", "type": "object",
                    "properties": {"strasse": {"title": "Straße", "type": "string"}}}
        }});
        let files: BTreeMap<String, Vec<u8>> =
            [("s2.schema.json".to_owned(), root.to_string().into_bytes())].into();
        JsonPack::from_files("t", "sha256:00", &files).expect("pack")
    }

    #[test]
    fn labels_order_and_values_come_from_the_schema() {
        let doc = json!({"ort": {"strasse": "Marktplatz"}, "$schema": ROOT,
            "programm": ["Eröffnung", "Flohmarkt"], "oeffentlich": true, "kosten": 1234.5,
            "besucher": 25000, "datum": "2026-06-13", "art": "02", "nichtImSchema": "x"});
        let page =
            json_document_html(&pack(), ROOT, &doc, &RenderContext::default()).expect("page");
        let order: Vec<usize> = [
            "<h1>Anzeige</h1>",
            "<dt>Art</dt><dd>Markt (02)</dd>",
            "<dt>Datum</dt><dd>13.06.2026</dd>",
            "<dt>Erwartete Besucher</dt><dd>25.000</dd>",
            "<dt>Kosten</dt><dd>1.234,5</dd>",
            "<dt>Öffentlich</dt><dd>ja</dd>",
            "<h2>Programm</h2>",
            "<dt>Eintrag 1</dt><dd>Eröffnung</dd>",
            "<h2>Ort</h2>",
            "Wo sie stattfindet.",
            "<dt>Straße</dt><dd>Marktplatz</dd>",
            "<dt>Nicht Im Schema</dt><dd>x</dd>",
        ]
        .iter()
        .map(|s| page.find(s).unwrap_or_else(|| panic!("{s} in {page}")))
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
        assert!(!page.contains(ROOT), "the $schema member is left out");
    }
}
