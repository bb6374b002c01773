//! The document collected while it is validated: one [`Node`] per element, with its label,
//! its formatted value and its children, in document order.

use std::collections::HashMap;
use std::rc::Rc;

use crate::xoev::codelist::CodeLists;
use crate::xoev::transform::kind::is_code_type;
use crate::xsd::components::{Content, Grammar, TypeId, TypeKind};
use crate::xsd::datatypes::{Builtin, Value};
use crate::xsd::validator::{AttributeInfo, ElementInfo, Observer};

use super::format;

/// The most elements (and attributes) a page shows: bounds the memory of the tree and the
/// size of the page (a document of many tiny elements would otherwise multiply into
/// labels and explanations).
pub const MAX_NODES: usize = 100_000;

/// A label and its description, once per declaration.
type Labelled = (Rc<str>, Option<Rc<str>>);

/// Words that end with a full stop inside a German sentence.
const ABBREVIATIONS: [&str; 16] = [
    "bzw", "bspw", "ggf", "vgl", "usw", "etc", "evtl", "inkl", "ca", "nr", "abs", "gem", "sog",
    "max", "min", "zzgl",
];

/// The longest label taken from documentation, in characters.
const MAX_LABEL_CHARS: usize = 80;

/// One element of the message.
#[derive(Debug, Default)]
pub(super) struct Node {
    /// Heading or field label (shared by every element of one declaration).
    pub label: Rc<str>,
    /// The documentation where it says more than the label.
    pub description: Option<Rc<str>>,
    /// The formatted value (simple content, codes), if any.
    pub value: Option<String>,
    /// Child elements (and attributes shown as fields), in document order.
    pub children: Vec<Node>,
    /// The element has element content (a section), not a value (a field).
    pub section: bool,
    /// A `base64Binary` payload: its decoded size in bytes.
    pub binary: Option<usize>,
    /// The element's local name (for finding file name and type beside an attachment).
    pub local: String,
}

/// One attachment found in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Attachment {
    /// The label of the element that holds it (its parent's).
    pub holder: String,
    /// A file name found beside the payload.
    pub file_name: Option<String>,
    /// A media type found beside the payload.
    pub media_type: Option<String>,
    /// Decoded size in bytes of a payload in the message; `None` for a file sent beside it.
    pub size: Option<usize>,
}

/// The label rule: the first sentence of the documentation when it is short (at most 80
/// characters), else its longest beginning of at most 80 characters that ends before a comma,
/// semicolon, colon, parenthesis or dash, else the humanised element name. The whole
/// documentation is the description when it says more than the label.
pub fn label_and_description(doc: Option<&str>, local: &str) -> (String, Option<String>) {
    let Some(doc) = doc.map(str::trim).filter(|d| !d.is_empty()) else {
        return (humanise(local), None);
    };
    let sentence = first_sentence(doc);
    let fits = |c: &str| !c.is_empty() && c.chars().count() <= MAX_LABEL_CHARS;
    let label = if fits(sentence) && balanced(sentence) {
        Some(sentence)
    } else {
        sentence
            .char_indices()
            .filter(|&(i, c)| {
                matches!(c, ',' | ';' | ':' | '(') || sentence[i..].starts_with(" – ")
            })
            .map(|(i, _)| sentence[..i].trim())
            .rfind(|c| fits(c) && balanced(c))
    };
    match label.map(|l| l.trim_end_matches('.').to_owned()) {
        Some(label) => {
            let more = doc.trim_end_matches('.') != label;
            (label, more.then(|| doc.to_owned()))
        }
        None => (humanise(local), Some(doc.to_owned())),
    }
}

/// Whether every opened parenthesis is closed.
fn balanced(text: &str) -> bool {
    text.matches('(').count() == text.matches(')').count()
}

/// Up to the first full stop that ends a sentence (followed by a space and an upper-case
/// letter or the end), not the one of an abbreviation like "d.h." or "z. B.".
fn first_sentence(doc: &str) -> &str {
    let bytes = doc.as_bytes();
    for (i, _) in doc.match_indices(". ") {
        let rest = &doc[i + 2..];
        let before = doc[..i]
            .rsplit(' ')
            .next()
            .unwrap_or("")
            .trim_start_matches(['(', '"', '„']);
        // "d.h.", "z. B.", "bzw.", "bspw.", "ggf.", "Nr.": one or two letters, an inner
        // full stop, or a common abbreviation.
        let abbreviation = before.chars().count() <= 2
            || before.contains('.')
            || ABBREVIATIONS.contains(&before.to_lowercase().as_str());
        if !abbreviation && rest.chars().next().is_some_and(char::is_uppercase) {
            return &doc[..i];
        }
    }
    if bytes.last() == Some(&b'.') {
        &doc[..doc.len() - 1]
    } else {
        doc
    }
}

/// `referenzAntragsservice` → `Referenz Antragsservice`, `bauvorhaben_Ort` → `Bauvorhaben Ort`.
pub(super) fn humanise(local: &str) -> String {
    let mut out = String::with_capacity(local.len() + 4);
    let mut prev_lower = false;
    for c in local.chars() {
        if matches!(c, '_' | '-' | '.') {
            if !out.ends_with(' ') && !out.is_empty() {
                out.push(' ');
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        if out.is_empty() || out.ends_with(' ') {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    out.trim().to_owned()
}

/// How an element's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Text,
    Date,
    DateTime,
    Time,
    Decimal,
    Integer,
    Float,
    Boolean,
    Binary,
}

fn value_kind(g: &Grammar, t: TypeId) -> ValueKind {
    let simple = match &g.type_def(t).kind {
        TypeKind::Simple(st, _) => Some(st.clone()),
        TypeKind::Complex(ct) => match ct.content {
            Content::Simple(s) => match &g.type_def(s).kind {
                TypeKind::Simple(st, _) => Some(st.clone()),
                TypeKind::Complex(_) => None,
            },
            _ => None,
        },
    };
    let Some(st) = simple else {
        return ValueKind::Text;
    };
    let integer = st
        .builtin_base()
        .is_some_and(|b| b.is_derived_from(Builtin::Integer));
    match st.primitive() {
        Some(Builtin::Date) => ValueKind::Date,
        Some(Builtin::DateTime) => ValueKind::DateTime,
        Some(Builtin::Time) => ValueKind::Time,
        Some(Builtin::Decimal) if integer => ValueKind::Integer,
        Some(Builtin::Decimal) => ValueKind::Decimal,
        Some(Builtin::Float | Builtin::Double) => ValueKind::Float,
        Some(Builtin::Boolean) => ValueKind::Boolean,
        Some(Builtin::Base64Binary) => ValueKind::Binary,
        _ => ValueKind::Text,
    }
}

/// What an open element is, while its content arrives.
#[derive(Debug)]
enum Role {
    /// An ordinary element.
    Plain(ValueKind),
    /// A code element (type derived from `xoev-code:Code`).
    Code(Box<CodeParts>),
    /// A child of a code element: its value goes to the code.
    CodePart,
}

#[derive(Debug, Default)]
struct CodeParts {
    code: Option<String>,
    name: Option<String>,
    /// The enumeration's documentation of the code, looked up at `code`'s end.
    enum_name: Option<String>,
    uri: Option<String>,
    version: Option<String>,
}

struct Frame {
    node: Node,
    role: Role,
    type_id: Option<TypeId>,
}

/// The observer that builds the tree.
pub(super) struct Collector<'a> {
    codelists: Option<&'a CodeLists>,
    stack: Vec<Frame>,
    root: Option<Node>,
    /// Labels by (attribute?, declaration or attribute name).
    labels: HashMap<(bool, u32), Labelled>,
    /// Elements and attributes seen.
    nodes: usize,
    /// The most shown ([`MAX_NODES`] outside tests).
    max_nodes: usize,
}

fn shared((label, description): (String, Option<String>)) -> Labelled {
    (Rc::from(label), description.map(Rc::from))
}

impl<'a> Collector<'a> {
    pub(super) fn new(codelists: Option<&'a CodeLists>, max_nodes: usize) -> Self {
        Self {
            codelists,
            stack: Vec::new(),
            root: None,
            labels: HashMap::new(),
            nodes: 0,
            max_nodes,
        }
    }

    /// The root element's node (an empty one if the document had none), or `None` when the
    /// document has more elements and attributes than `max_nodes`.
    pub(super) fn finish(self) -> Option<Node> {
        (self.nodes <= self.max_nodes).then(|| self.root.unwrap_or_default())
    }

    fn code_name(&self, parts: &CodeParts) -> Option<String> {
        if let Some(n) = parts.name.as_ref().filter(|n| !n.trim().is_empty()) {
            return Some(n.trim().to_owned());
        }
        if let Some(n) = &parts.enum_name {
            return Some(n.clone());
        }
        let (uri, version, code) = (
            parts.uri.as_ref()?,
            parts.version.as_ref()?,
            parts.code.as_ref()?,
        );
        let list = self.codelists?.get(uri, version)?;
        list.name_of(code).map(str::to_owned)
    }
}

impl Observer for Collector<'_> {
    fn wants_values(&self) -> bool {
        false
    }

    fn start_element(&mut self, g: &Grammar, info: &ElementInfo<'_>) {
        let in_code = matches!(
            self.stack.last(),
            Some(Frame {
                role: Role::Code(_),
                ..
            })
        );
        // The declaration's documentation names the field; a type's documentation describes
        // the type (for a section, its content), so it is only ever a description.
        self.nodes += 1;
        let (label, mut description) = match info.decl {
            Some(d) => self
                .labels
                .entry((false, d))
                .or_insert_with(|| shared(label_and_description(g.element_doc(d), info.local)))
                .clone(),
            None => shared(label_and_description(None, info.local)),
        };
        let role = if in_code {
            Role::CodePart
        } else if info.type_id.is_some_and(|t| is_code_type(g, t)) {
            Role::Code(Box::default())
        } else {
            Role::Plain(info.type_id.map_or(ValueKind::Text, |t| value_kind(g, t)))
        };
        let section = matches!(role, Role::Plain(_))
            && info.type_id.is_some_and(|t| {
                matches!(&g.type_def(t).kind, TypeKind::Complex(ct)
                    if matches!(ct.content, Content::Elements { .. }))
            });
        if section && description.is_none() {
            description = info.type_id.and_then(|t| g.type_doc(t)).map(Rc::from);
        }
        let node = Node {
            label,
            description,
            section,
            local: info.local.to_owned(),
            value: info.nil.then(|| "keine Angabe".to_owned()),
            ..Node::default()
        };
        self.stack.push(Frame {
            node,
            role,
            type_id: info.type_id,
        });
    }

    fn attribute(&mut self, g: &Grammar, info: &AttributeInfo<'_>) {
        if info.defaulted || info.ns == "http://www.w3.org/2001/XMLSchema-instance" {
            return;
        }
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        match &mut frame.role {
            Role::Code(parts) => {
                let v = info.value.split_whitespace().collect::<Vec<_>>().join(" ");
                match info.local {
                    "listURI" => parts.uri = Some(v),
                    "listVersionID" => parts.version = Some(v),
                    _ => {}
                }
            }
            Role::CodePart => {}
            Role::Plain(_) => {
                self.nodes += 1;
                let (label, description) = match info.name {
                    Some(q) => self
                        .labels
                        .entry((true, q))
                        .or_insert_with(|| {
                            shared(label_and_description(g.attribute_doc(q), info.local))
                        })
                        .clone(),
                    None => shared(label_and_description(None, info.local)),
                };
                if self.nodes > self.max_nodes {
                    return;
                }
                frame.node.children.push(Node {
                    label,
                    description,
                    value: Some(info.value.trim().to_owned()),
                    local: info.local.to_owned(),
                    ..Node::default()
                });
            }
        }
    }

    fn text(&mut self, _g: &Grammar, text: &str) {
        if let Some(frame) = self.stack.last_mut()
            && !text.trim().is_empty()
        {
            let v = frame.node.value.get_or_insert_with(String::new);
            if !v.is_empty() {
                v.push(' ');
            }
            v.push_str(text.trim());
        }
    }

    fn unassessed_text(&mut self, g: &Grammar, text: &str) {
        self.text(g, text);
    }

    fn simple_value(&mut self, g: &Grammar, lexical: &str, _typed: Option<&Value>) {
        let Some(frame) = self.stack.last_mut() else {
            return;
        };
        let Role::Plain(kind) = frame.role else {
            // Code parts: kept raw, put together at the code element's end.
            if frame.node.local == "code"
                && let Some(t) = frame.type_id
            {
                frame.node.value = Some(lexical.trim().to_owned());
                frame.node.description = g.enumeration_doc(t, lexical.trim()).map(Rc::from);
            } else {
                frame.node.value = Some(lexical.trim().to_owned());
            }
            return;
        };
        let text = lexical.trim();
        frame.node.value = Some(match kind {
            ValueKind::Binary => {
                let size = format::base64_size(text);
                frame.node.binary = Some(size);
                format!("Datei, {} (siehe Anlagen)", format::bytes(size))
            }
            ValueKind::Date => format::date(text),
            ValueKind::DateTime => format::date_time(text),
            ValueKind::Time => format::time(text),
            ValueKind::Decimal => format::decimal(text, true),
            ValueKind::Integer => format::decimal(text, false),
            ValueKind::Float => format::float(text),
            ValueKind::Boolean => format::boolean(text),
            ValueKind::Text => match frame.type_id.and_then(|t| g.enumeration_doc(t, text)) {
                // An enumerated value with its documentation: named like a code.
                Some(name) => format!("{name} ({text})"),
                None => text.to_owned(),
            },
        });
    }

    fn end_element(&mut self, _g: &Grammar) {
        let Some(mut frame) = self.stack.pop() else {
            return;
        };
        if let Role::Code(parts) = &frame.role {
            let code = parts.code.clone().unwrap_or_default();
            frame.node.value = Some(match self.code_name(parts) {
                Some(name) if !code.is_empty() => format!("{name} ({code})"),
                Some(name) => name,
                None => code,
            });
        }
        match self.stack.last_mut() {
            Some(parent) => match &mut parent.role {
                Role::Code(parts) => match frame.node.local.as_str() {
                    "code" => {
                        parts.code = frame.node.value.take();
                        parts.enum_name = frame.node.description.take().map(|d| d.to_string());
                    }
                    "name" => parts.name = frame.node.value.take(),
                    _ => {}
                },
                Role::CodePart => {}
                // Over the limit the tree stops growing; the page is refused at the end.
                Role::Plain(_) if self.nodes <= self.max_nodes => {
                    parent.node.children.push(frame.node)
                }
                Role::Plain(_) => {}
            },
            None => self.root = Some(frame.node),
        }
    }
}

/// Every attachment under `node`, in document order: each `base64Binary` payload (with its
/// size), and each element that names a file (a child whose name contains `dateiname` or
/// `filename`) without a payload, as XÖV messages do for documents sent beside them.
/// A media type named further up (XBau: `mimeType` of the `anlage`) is taken too.
pub(super) fn attachments(node: &Node, beside: Option<&str>, out: &mut Vec<Attachment>) {
    let sibling = |keys: &[&str]| {
        node.children
            .iter()
            .filter(|c| c.binary.is_none() && !c.section)
            .find(|c| {
                let l = c.local.to_ascii_lowercase();
                keys.iter().any(|k| l.contains(k))
            })
            .and_then(|c| c.value.clone())
    };
    let file_name = sibling(&["dateiname", "filename"]);
    let payloads: Vec<usize> = node.children.iter().filter_map(|c| c.binary).collect();
    let entry = |size| Attachment {
        holder: node.label.to_string(),
        file_name: file_name.clone().or_else(|| sibling(&["name"])),
        media_type: sibling(&["mime", "format"]).or_else(|| beside.map(str::to_owned)),
        size,
    };
    if payloads.is_empty() {
        if file_name.is_some() {
            out.push(entry(None));
        }
    } else {
        out.extend(payloads.into_iter().map(|size| entry(Some(size))));
    }
    let media = sibling(&["mime", "format"]);
    for child in &node.children {
        attachments(child, media.as_deref().or(beside), out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_come_from_short_documentation() {
        let (l, d) = label_and_description(Some("Angaben zum Bauherrn."), "bauherr");
        assert_eq!(l, "Angaben zum Bauherrn");
        assert_eq!(d, None);
        let doc = "Eine vom Antragsservice vergebene eindeutige Kennung des Antragsvorgangs. \
                   Sofern die Bauaufsichtsbehörde reagiert, bezieht sie sich darauf.";
        let (l, d) = label_and_description(Some(doc), "referenzAntragsservice");
        assert_eq!(
            l,
            "Eine vom Antragsservice vergebene eindeutige Kennung des Antragsvorgangs"
        );
        assert_eq!(d.as_deref(), Some(doc));
    }

    #[test]
    fn long_sentences_give_their_first_clause_or_the_name() {
        let doc = "Diese Nachricht stellt einen Bauantrag dar, d.h. durch das Senden dieser \
                   Nachricht an die Bauaufsichtsbehörde beantragt der Absender die Genehmigung.";
        let (l, d) = label_and_description(Some(doc), "baugenehmigung.antrag.0200");
        assert_eq!(l, "Diese Nachricht stellt einen Bauantrag dar");
        assert!(d.is_some());
        let long = "x".repeat(200);
        let (l, _) = label_and_description(Some(&long), "anlageBauvorlage");
        assert_eq!(l, "Anlage Bauvorlage");
    }

    #[test]
    fn clauses_stop_at_the_longest_fitting_boundary_and_keep_parentheses_closed() {
        let doc = "Der Zeitpunkt, an dem die Nachricht erstellt wurde, wird hier im Format \
                   des W3C-Datentyps dateTime mit Angabe der Zeitzone eingetragen.";
        assert_eq!(
            label_and_description(Some(doc), "erstellungszeitpunkt").0,
            "Der Zeitpunkt, an dem die Nachricht erstellt wurde"
        );
        let doc = "Angabe des Verzeichnisdienstes (bspw. DVDV). Weitere Angaben folgen.";
        assert_eq!(
            label_and_description(Some(doc), "verzeichnisdienst").0,
            "Angabe des Verzeichnisdienstes (bspw. DVDV)"
        );
    }

    #[test]
    fn names_are_humanised_without_documentation() {
        assert_eq!(
            humanise("referenzAntragsservice"),
            "Referenz Antragsservice"
        );
        assert_eq!(humanise("bauvorhaben_ort"), "Bauvorhaben Ort");
        assert_eq!(label_and_description(None, "plz").0, "Plz");
    }
}
