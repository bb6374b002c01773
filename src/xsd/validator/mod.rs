//! The streaming validator: XML events in, a stack of small element frames, errors out.
//!
//! [`Validator`] is the event-driven core (`start`/`text`/`end`/`finish`); it can be fed by any
//! event source and reports, through an [`Observer`], the matched declaration and the actual
//! (`xsi:type`-aware) type of every element and the typed value of every simple value, so a
//! transform can run in the same pass. [`validate_reader`] and [`validate_bytes`] drive it from
//! the bounded XML reader; memory stays proportional to nesting depth, not document size.

mod attributes;
mod engine;
mod identity;
mod tag;

use std::io::BufRead;

use crate::config::Limits;
use crate::xml::{BoundedReader, Event, Pos, StartTag};

use super::components::{ElemId, Grammar, QNameId, TypeId};
use super::datatypes::{NsResolver, Value};
use super::error::ValidationError;
use super::schema_doc::XML_NS;
use super::simple::SimpleType;

pub use engine::Validator;
use tag::ReaderTag;
pub use tag::{Tag, TagData};

/// Options of one validation run.
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// Include instance values in messages (local debugging only: values may be personal data).
    pub show_values: bool,
    /// Stop collecting after this many errors (the verdict stays "invalid").
    pub max_errors: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        Self {
            show_values: false,
            max_errors: Limits::default().xsd.max_errors,
        }
    }
}

impl ValidationOptions {
    /// Defaults from the limits.
    pub fn from_limits(limits: &Limits) -> Self {
        Self {
            show_values: false,
            max_errors: limits.xsd.max_errors,
        }
    }
}

/// What an element was validated as.
#[derive(Debug, Clone, Copy)]
pub struct ElementInfo<'a> {
    /// Namespace URI of the instance element ("" = none).
    pub ns: &'a str,
    /// Local name.
    pub local: &'a str,
    /// The matched declaration (None when skipped or laxly assessed without declaration).
    pub decl: Option<ElemId>,
    /// The governing type (after `xsi:type`), if any.
    pub type_id: Option<TypeId>,
    /// `xsi:nil="true"`.
    pub nil: bool,
    /// Where its start tag begins.
    pub pos: Pos,
    /// Its element path as written (`/p:a/b`, no positions), as validation errors name it.
    pub path: &'a str,
}

/// One attribute as validated.
#[derive(Debug, Clone, Copy)]
pub struct AttributeInfo<'a> {
    /// Interned name, if the grammar knows it.
    pub name: Option<QNameId>,
    /// Namespace URI ("" = none).
    pub ns: &'a str,
    /// Local name.
    pub local: &'a str,
    /// The value as written (or the default).
    pub value: &'a str,
    /// The typed value, if it was assessed and valid.
    pub typed: Option<&'a Value>,
    /// Supplied from a default in the schema, absent in the instance.
    pub defaulted: bool,
}

/// Receives the validation outcome per element, attribute and simple value, in document order.
/// All methods default to doing nothing.
pub trait Observer {
    /// Whether [`Observer::simple_value`] and [`Observer::attribute`] need the typed values.
    /// Without that, the validator skips building values no facet or constraint needs (string
    /// types then validate without allocating). Default `true`.
    fn wants_values(&self) -> bool {
        true
    }
    /// Whether the typed value of one simple type is wanted (asked per value). An observer that
    /// uses the typed value of some types only says so here, and values of the other types
    /// validate without being built. Default [`Observer::wants_values`].
    fn wants_value(&self, _st: &SimpleType) -> bool {
        self.wants_values()
    }
    /// An element starts.
    fn start_element(&mut self, _grammar: &Grammar, _info: &ElementInfo<'_>) {}
    /// An attribute of the current element (also defaulted ones).
    fn attribute(&mut self, _grammar: &Grammar, _info: &AttributeInfo<'_>) {}
    /// Character data of mixed content.
    fn text(&mut self, _grammar: &Grammar, _text: &str) {}
    /// The value of an element with simple content (after defaults), at its end.
    fn simple_value(&mut self, _grammar: &Grammar, _lexical: &str, _typed: Option<&Value>) {}
    /// The current element ends.
    fn end_element(&mut self, _grammar: &Grammar) {}
    /// Character data (not whitespace-only) of an element that was not assessed (skipped or
    /// laxly matched without a declaration), so that a transform can keep it.
    fn unassessed_text(&mut self, _grammar: &Grammar, _text: &str) {}
    /// Whether the document as written is wanted ([`Observer::raw_start`], [`Observer::raw_text`],
    /// [`Observer::raw_end`]): for an observer that builds its own view of the document (the
    /// business rules' XPath tree) in the same pass. Asked once per pass. Default `false`.
    fn wants_raw(&self) -> bool {
        false
    }
    /// A start tag as the reader delivered it (prefixes and attributes as written, no defaults),
    /// before the validator sees it.
    fn raw_start(&mut self, _tag: &StartTag<'_>, _pos: Pos) {}
    /// Character data as written, whitespace-only runs included.
    fn raw_text(&mut self, _text: &str, _pos: Pos) {}
    /// An end tag, before the validator sees it.
    fn raw_end(&mut self) {}
}

/// Forwards to the observer behind the reference (so a caller can lend its observer to a pass).
impl<O: Observer + ?Sized> Observer for &mut O {
    fn wants_values(&self) -> bool {
        (**self).wants_values()
    }
    fn wants_value(&self, st: &SimpleType) -> bool {
        (**self).wants_value(st)
    }
    fn start_element(&mut self, grammar: &Grammar, info: &ElementInfo<'_>) {
        (**self).start_element(grammar, info);
    }
    fn attribute(&mut self, grammar: &Grammar, info: &AttributeInfo<'_>) {
        (**self).attribute(grammar, info);
    }
    fn text(&mut self, grammar: &Grammar, text: &str) {
        (**self).text(grammar, text);
    }
    fn simple_value(&mut self, grammar: &Grammar, lexical: &str, typed: Option<&Value>) {
        (**self).simple_value(grammar, lexical, typed);
    }
    fn end_element(&mut self, grammar: &Grammar) {
        (**self).end_element(grammar);
    }
    fn unassessed_text(&mut self, grammar: &Grammar, text: &str) {
        (**self).unassessed_text(grammar, text);
    }
    fn wants_raw(&self) -> bool {
        (**self).wants_raw()
    }
    fn raw_start(&mut self, tag: &StartTag<'_>, pos: Pos) {
        (**self).raw_start(tag, pos);
    }
    fn raw_text(&mut self, text: &str, pos: Pos) {
        (**self).raw_text(text, pos);
    }
    fn raw_end(&mut self) {
        (**self).raw_end();
    }
}

/// Two observers of one pass: every event goes to the first, then to the second (a transform
/// and the business rules in one validation pass).
impl<A: Observer, B: Observer> Observer for (A, B) {
    fn wants_values(&self) -> bool {
        self.0.wants_values() || self.1.wants_values()
    }
    fn wants_value(&self, st: &SimpleType) -> bool {
        self.0.wants_value(st) || self.1.wants_value(st)
    }
    fn start_element(&mut self, grammar: &Grammar, info: &ElementInfo<'_>) {
        self.0.start_element(grammar, info);
        self.1.start_element(grammar, info);
    }
    fn attribute(&mut self, grammar: &Grammar, info: &AttributeInfo<'_>) {
        self.0.attribute(grammar, info);
        self.1.attribute(grammar, info);
    }
    fn text(&mut self, grammar: &Grammar, text: &str) {
        self.0.text(grammar, text);
        self.1.text(grammar, text);
    }
    fn simple_value(&mut self, grammar: &Grammar, lexical: &str, typed: Option<&Value>) {
        self.0.simple_value(grammar, lexical, typed);
        self.1.simple_value(grammar, lexical, typed);
    }
    fn end_element(&mut self, grammar: &Grammar) {
        self.0.end_element(grammar);
        self.1.end_element(grammar);
    }
    fn unassessed_text(&mut self, grammar: &Grammar, text: &str) {
        self.0.unassessed_text(grammar, text);
        self.1.unassessed_text(grammar, text);
    }
    fn wants_raw(&self) -> bool {
        self.0.wants_raw() || self.1.wants_raw()
    }
    fn raw_start(&mut self, tag: &StartTag<'_>, pos: Pos) {
        self.0.raw_start(tag, pos);
        self.1.raw_start(tag, pos);
    }
    fn raw_text(&mut self, text: &str, pos: Pos) {
        self.0.raw_text(text, pos);
        self.1.raw_text(text, pos);
    }
    fn raw_end(&mut self) {
        self.0.raw_end();
        self.1.raw_end();
    }
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn wants_values(&self) -> bool {
        false
    }
}

/// The result of validating one document.
#[derive(Debug, Clone, Default)]
pub struct ValidationReport {
    /// Violations found (at most `max_errors`).
    pub errors: Vec<ValidationError>,
    /// More violations existed than were collected.
    pub truncated: bool,
    /// The root element's declaration, if one matched (a valid document whose root has no
    /// declaration was assessed against the type its `xsi:type` names).
    pub root: Option<ElemId>,
}

impl ValidationReport {
    /// Whether the document is valid.
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty() && !self.truncated
    }

    /// The proof type for later stages, or the report itself if invalid or if the root has
    /// no declaration (assessed by `xsi:type` alone: no message root).
    pub fn into_validated(self) -> Result<ValidatedDoc, Self> {
        match (self.is_valid(), self.root) {
            (true, Some(root)) => Ok(ValidatedDoc { root }),
            _ => Err(self),
        }
    }
}

/// Proof that a document was valid against a grammar. Only [`ValidationReport::into_validated`]
/// creates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidatedDoc {
    root: ElemId,
}

impl ValidatedDoc {
    /// The root element's declaration.
    pub fn root(&self) -> ElemId {
        self.root
    }
}

struct ReaderNs<'r, R: BufRead>(&'r BoundedReader<R>);

impl<R: BufRead> NsResolver for ReaderNs<'_, R> {
    fn resolve(&self, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        self.0.resolve_prefix(prefix)
    }
}

/// Validates a document from a reader (streaming; use a `BufReader<File>` for files).
pub fn validate_reader<R: BufRead>(
    grammar: &Grammar,
    input: R,
    limits: &Limits,
    options: &ValidationOptions,
) -> ValidationReport {
    validate_with(grammar, input, limits, options, &mut NoObserver)
}

/// Validates a document held in memory.
pub fn validate_bytes(
    grammar: &Grammar,
    input: &[u8],
    limits: &Limits,
    options: &ValidationOptions,
) -> ValidationReport {
    validate_with(grammar, input, limits, options, &mut NoObserver)
}

/// Validates with an observer that sees every element, attribute and value as it is validated.
pub fn validate_with<R: BufRead, O: Observer>(
    grammar: &Grammar,
    input: R,
    limits: &Limits,
    options: &ValidationOptions,
    observer: &mut O,
) -> ValidationReport {
    let mut reader = BoundedReader::new(input, &limits.xml);
    let mut validator = Validator::new(grammar, options.clone(), &limits.xsd);
    let raw = observer.wants_raw();
    loop {
        // The event's own borrow ends here; the tag and the text are then borrowed from the
        // reader immutably, next to its namespace bindings (no copy per event).
        let event = reader.next_event().map(|e| match e {
            Event::Start(_) => Ev::Start,
            Event::Text(_) => Ev::Text,
            Event::End => Ev::End,
            Event::Eof => Ev::Eof,
        });
        match event {
            Ok(Ev::Start) => {
                if let Some(start) = reader.start_tag() {
                    let pos = reader.position();
                    if raw {
                        observer.raw_start(&start, pos);
                    }
                    let tag = ReaderTag::new(start);
                    validator.start(&tag, &ReaderNs(&reader), pos, observer);
                }
            }
            Ok(Ev::Text) => {
                if let Some(text) = reader.text() {
                    if raw {
                        observer.raw_text(text, reader.position());
                    }
                    if validator.wants_text() || !is_xml_whitespace(text) {
                        validator.text(text, reader.position(), observer);
                    }
                }
            }
            Ok(Ev::End) => {
                let pos = reader.position();
                if raw {
                    observer.raw_end();
                }
                validator.end(&ReaderNs(&reader), pos, observer);
            }
            Ok(Ev::Eof) => {
                let pos = reader.position();
                return validator.finish(pos);
            }
            Err(e) => {
                validator.not_well_formed(e.pos, format!("not well-formed or over a limit: {e}"));
                return validator.finish(e.pos);
            }
        }
    }
}

/// The kind of an [`Event`], without its borrow of the reader.
enum Ev {
    Start,
    Text,
    End,
    Eof,
}

pub(crate) fn is_xml_whitespace(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}
