//! [`BoundedReader`]: the only way untrusted XML enters poststelle.
//!
//! It wraps quick-xml's raw tokenizer (all well-formedness checks on) and adds what the
//! tokenizer leaves to its user: namespace processing per Namespaces in XML 1.0 (done here, not
//! by quick-xml's `NsReader`, so every binding is bounded), refusal of DTDs and undeclared
//! entities, UTF-8-only input, XML `Char` checks, document structure (one root, nothing but
//! whitespace, comments and PIs outside it), exact line:column positions, and every limit of
//! `XmlLimits`, enforced before anything unbounded is buffered.

use std::io::BufRead;
use std::ops::Range;

use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as QEvent};

use super::chars;
use super::error::{Limit, Pos, XmlError, XmlErrorKind};
use super::namespaces::{NsRef, NsStack, XML_NS, XMLNS_NS};
use super::position::{Counting, LimitHit};
use crate::config::XmlLimits;

/// One step of a document. Start and End are always paired, also for empty elements.
#[derive(Debug)]
pub enum Event<'a> {
    /// A start tag (also produced by an empty-element tag, followed by [`Event::End`]).
    Start(StartTag<'a>),
    /// The end of the element opened by the matching [`Event::Start`].
    End,
    /// Character data between two tags: entity and character references resolved, CDATA
    /// sections included, line ends normalised. One event per run of character data;
    /// whitespace-only runs inside the root element are delivered too.
    Text(&'a str),
    /// The end of the document (returned again on every further call).
    Eof,
}

/// An expanded name with the prefix it was written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    /// Namespace URI; `""` means no namespace.
    pub namespace: &'a str,
    /// Local part.
    pub local: &'a str,
    /// Prefix as written; `""` if none.
    pub prefix: &'a str,
}

/// An attribute; namespace declarations (`xmlns`, `xmlns:p`) are not attributes here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// The attribute's expanded name.
    pub name: Name<'a>,
    /// The value, unescaped and normalised as XML 1.0 §3.3.3 prescribes for CDATA attributes.
    pub value: &'a str,
}

/// A start tag: the element name and its attributes.
#[derive(Debug, Clone, Copy)]
pub struct StartTag<'a> {
    doc: &'a Doc,
}

impl<'a> StartTag<'a> {
    /// The element's expanded name.
    pub fn name(&self) -> Name<'a> {
        self.doc.name(&self.doc.tag.name)
    }

    /// The attributes in document order (namespace declarations excluded).
    pub fn attributes(&self) -> impl ExactSizeIterator<Item = Attribute<'a>> + 'a {
        let doc = self.doc;
        doc.tag.attrs.iter().map(move |a| Attribute {
            name: doc.name(&a.name),
            value: &doc.tag.strings[a.value.clone()],
        })
    }

    /// The namespace declarations made on this element, as (prefix, uri); prefix `""` is the
    /// default namespace and uri `""` undeclares it.
    pub fn namespace_declarations(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let tag = &self.doc.tag;
        tag.ns_decls
            .iter()
            .map(move |(p, u)| (&tag.strings[p.clone()], &tag.strings[u.clone()]))
    }
}

#[derive(Debug, Default, Clone)]
struct NameRec {
    /// The URI lives in the namespace stack (not copied per element).
    namespace: NsRef,
    prefix: Range<usize>,
    local: Range<usize>,
}

#[derive(Debug, Default)]
struct AttrRec {
    name: NameRec,
    value: Range<usize>,
}

/// Reusable storage for the current start tag: all strings in one buffer, ranges into it.
#[derive(Debug, Default)]
struct TagBuf {
    strings: String,
    name: NameRec,
    attrs: Vec<AttrRec>,
    ns_decls: Vec<(Range<usize>, Range<usize>)>,
    /// Scratch for [`open`]: (prefix, local, value) of each attribute before its prefix is
    /// resolved.
    raw_attrs: Vec<(Range<usize>, Range<usize>, Range<usize>)>,
}

impl TagBuf {
    fn clear(&mut self) {
        self.strings.clear();
        self.attrs.clear();
        self.ns_decls.clear();
    }

    fn push(&mut self, s: &str) -> Range<usize> {
        let start = self.strings.len();
        self.strings.push_str(s);
        start..self.strings.len()
    }

    /// Stores a qualified name once; returns the ranges of its `prefix` and `local` part (both
    /// parts of `qname`, as [`split_qname`] returns them).
    fn push_qname(
        &mut self,
        qname: &str,
        prefix: &str,
        local: &str,
    ) -> (Range<usize>, Range<usize>) {
        let all = self.push(qname);
        (
            all.start..all.start + prefix.len(),
            all.end - local.len()..all.end,
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Nothing read yet (the XML declaration may still come).
    Start,
    /// Before the root element.
    Prolog,
    /// Inside the root element.
    Content,
    /// After the root element.
    Epilog,
    /// `Eof` delivered.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    Start { empty: bool },
    End,
    Eof,
}

/// Namespace scopes, depth and the current start tag.
#[derive(Debug, Default)]
struct Doc {
    ns: NsStack,
    tag: TagBuf,
    depth: usize,
}

impl Doc {
    fn name(&self, n: &NameRec) -> Name<'_> {
        Name {
            namespace: self.ns.uri(n.namespace),
            local: &self.tag.strings[n.local.clone()],
            prefix: &self.tag.strings[n.prefix.clone()],
        }
    }
}

/// A streaming, bounded, namespace-aware XML reader. See the module documentation.
pub struct BoundedReader<R: BufRead> {
    tok: quick_xml::Reader<Counting<R>>,
    buf: Vec<u8>,
    limits: XmlLimits,
    doc: Doc,
    text: String,
    state: State,
    pending: Option<(Pending, Pos)>,
    pos: Pos,
    /// What the last returned event was (for [`BoundedReader::start_tag`] and
    /// [`BoundedReader::text`]).
    last: Last,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Start,
    Text,
    /// An end tag: the element's namespace scope is still in place (a validator resolves
    /// QName content at the end of its element) and is popped by the next call.
    End,
    Other,
}

impl<'s> BoundedReader<&'s [u8]> {
    /// A reader over a document held in memory.
    pub fn from_bytes(input: &'s [u8], limits: &XmlLimits) -> Self {
        Self::new(input, limits)
    }
}

impl<R: BufRead> BoundedReader<R> {
    /// A reader over `input` (use a `BufReader` for files and sockets).
    pub fn new(input: R, limits: &XmlLimits) -> Self {
        let construct_cap = limits.max_text_bytes.max(limits.max_markup_bytes) as u64;
        // This module is the one place allowed to construct a raw tokenizer (clippy.toml).
        #[allow(clippy::disallowed_methods)]
        let mut tok = quick_xml::Reader::from_reader(Counting::new(
            input,
            limits.max_input_bytes,
            construct_cap,
        ));
        let config = tok.config_mut();
        config.enable_all_checks(true);
        config.trim_text(false);
        config.expand_empty_elements = false;
        Self {
            tok,
            buf: Vec::with_capacity(4096),
            limits: limits.clone(),
            doc: Doc::default(),
            text: String::new(),
            state: State::Start,
            pending: None,
            pos: Pos { line: 1, column: 1 },
            last: Last::Other,
        }
    }

    /// Line and column where the last returned event began.
    pub fn position(&self) -> Pos {
        self.pos
    }

    /// Current element depth (1 inside the root element).
    pub fn depth(&self) -> usize {
        self.doc.depth
    }

    /// Bytes consumed so far.
    pub fn bytes_read(&self) -> u64 {
        self.tok.get_ref().offset()
    }

    /// The namespace bound to `prefix` (`""` = the default namespace) for the element whose
    /// content is being delivered. `None` if unbound (for `""`: no default namespace).
    pub fn resolve_prefix(&self, prefix: &str) -> Option<&str> {
        let lookahead = matches!(self.pending, Some((Pending::Start { .. }, _)));
        self.doc.ns.resolve(prefix, lookahead)
    }

    /// The namespace bindings in scope, innermost first (for re-serialising QName values).
    pub fn namespaces_in_scope(&self) -> impl Iterator<Item = (&str, &str)> {
        self.doc.ns.in_scope()
    }

    /// The start tag the last event delivered, if it was [`Event::Start`]. Unlike the event
    /// itself, this borrows the reader immutably, so the tag can be used together with
    /// [`BoundedReader::resolve_prefix`] without copying it.
    pub fn start_tag(&self) -> Option<StartTag<'_>> {
        (self.last == Last::Start).then_some(StartTag { doc: &self.doc })
    }

    /// The character data the last event delivered, if it was [`Event::Text`] (see
    /// [`BoundedReader::start_tag`] for why).
    pub fn text(&self) -> Option<&str> {
        (self.last == Last::Text).then_some(self.text.as_str())
    }

    /// Reads the next event.
    pub fn next_event(&mut self) -> Result<Event<'_>, XmlError> {
        if self.last == Last::End {
            self.doc.ns.pop_scope();
        }
        self.last = Last::Other;
        if self.state == State::Done {
            return Ok(Event::Eof);
        }
        if let Some((pending, pos)) = self.pending.take() {
            return Ok(self.deliver(pending, pos));
        }
        if self.state == State::Start {
            self.check_byte_order_mark()?;
        }
        self.text.clear();
        let mut text_pos = None;
        loop {
            let start = self.tok.get_mut().mark();
            self.buf.clear();
            let event = match self.tok.read_event_into(&mut self.buf) {
                Ok(e) => e,
                Err(e) => return Err(self.tokenizer_error(e, start)),
            };
            let first = self.state == State::Start;
            if first {
                self.state = State::Prolog;
            }
            let err = |kind| XmlError { kind, pos: start };
            let markup_limit = self.limits.max_markup_bytes;
            let next = match event {
                QEvent::Decl(decl) => {
                    if !first {
                        return Err(err(XmlErrorKind::Syntax(
                            "XML declaration not at the start of the document".into(),
                        )));
                    }
                    check_declaration(&decl).map_err(err)?;
                    continue;
                }
                QEvent::DocType(_) => return Err(err(XmlErrorKind::Doctype)),
                QEvent::PI(pi) => {
                    check_markup(&pi, markup_limit).map_err(err)?;
                    if pi.target().eq_ignore_ascii_case("xml") {
                        return Err(err(XmlErrorKind::Syntax(
                            "processing instruction target 'xml' is reserved".into(),
                        )));
                    }
                    continue;
                }
                QEvent::Comment(c) => {
                    check_markup(&c, markup_limit).map_err(err)?;
                    continue;
                }
                QEvent::Text(t) => {
                    if self.doc.depth == 0 {
                        if !chars::is_whitespace(&t) {
                            return Err(err(XmlErrorKind::DocumentStructure(
                                "character data outside the root element",
                            )));
                        }
                        continue;
                    }
                    text_pos.get_or_insert(start);
                    if chars::is_plain_text(&t) {
                        append_plain(&mut self.text, &t, &self.limits)
                    } else {
                        append_text(&mut self.text, &t.xml10_content(), &self.limits)
                    }
                    .map_err(err)?;
                    continue;
                }
                QEvent::CData(c) => {
                    if self.doc.depth == 0 {
                        return Err(err(XmlErrorKind::DocumentStructure(
                            "CDATA section outside the root element",
                        )));
                    }
                    text_pos.get_or_insert(start);
                    if chars::is_plain_text(&c) {
                        append_plain(&mut self.text, &c, &self.limits)
                    } else {
                        append_text(&mut self.text, &c.xml10_content(), &self.limits)
                    }
                    .map_err(err)?;
                    continue;
                }
                QEvent::GeneralRef(r) => {
                    if self.doc.depth == 0 {
                        return Err(err(XmlErrorKind::DocumentStructure(
                            "reference outside the root element",
                        )));
                    }
                    text_pos.get_or_insert(start);
                    let resolved = resolve_reference(&r).map_err(err)?;
                    let mut tmp = [0u8; 4];
                    append_text(&mut self.text, resolved.encode_utf8(&mut tmp), &self.limits)
                        .map_err(err)?;
                    continue;
                }
                QEvent::Start(s) | QEvent::Empty(s) if self.state == State::Epilog => {
                    let _ = s;
                    return Err(err(XmlErrorKind::DocumentStructure(
                        "a second root element (only one is allowed)",
                    )));
                }
                QEvent::Start(ref s) | QEvent::Empty(ref s) => {
                    let empty = matches!(event, QEvent::Empty(_));
                    open(&mut self.doc, &self.limits, s, start)?;
                    self.state = State::Content;
                    Pending::Start { empty }
                }
                QEvent::End(_) => Pending::End,
                QEvent::Eof => {
                    if self.doc.depth > 0 {
                        return Err(err(XmlErrorKind::UnexpectedEof("an element is not closed")));
                    }
                    if self.state != State::Epilog {
                        return Err(err(XmlErrorKind::DocumentStructure("no root element")));
                    }
                    Pending::Eof
                }
            };
            if let Some(tp) = text_pos {
                self.pending = Some((next, start));
                self.pos = tp;
                self.last = Last::Text;
                return Ok(Event::Text(&self.text));
            }
            return Ok(self.deliver(next, start));
        }
    }

    fn deliver(&mut self, pending: Pending, pos: Pos) -> Event<'_> {
        self.pos = pos;
        match pending {
            Pending::Start { empty } => {
                if empty {
                    self.pending = Some((Pending::End, pos));
                }
                self.last = Last::Start;
                Event::Start(StartTag { doc: &self.doc })
            }
            Pending::End => {
                self.last = Last::End;
                self.doc.depth -= 1;
                if self.doc.depth == 0 {
                    self.state = State::Epilog;
                }
                Event::End
            }
            Pending::Eof => {
                self.state = State::Done;
                Event::Eof
            }
        }
    }

    /// Refuses UTF-16 and consumes a UTF-8 byte order mark, byte by byte, so that neither
    /// verdict depends on how the input is buffered (quick-xml's own BOM removal only sees the
    /// first buffer; with a one-byte buffer the BOM became character data before the root).
    fn check_byte_order_mark(&mut self) -> Result<(), XmlError> {
        let pos = Pos { line: 1, column: 1 };
        let counting = self.tok.get_mut();
        let first = match counting.fill_buf() {
            Ok(b) => b.first().copied(),
            Err(e) => return Err(io_error(&e, pos)),
        };
        // 0xFE/0xFF never start UTF-8, and NUL never starts an XML document; both mean
        // UTF-16 (with or without a byte order mark).
        if matches!(first, Some(0xFE | 0xFF | 0x00)) {
            return Err(XmlError {
                kind: XmlErrorKind::UnsupportedEncoding("UTF-16".into()),
                pos,
            });
        }
        if first == Some(0xEF) {
            for expected in [0xEF, 0xBB, 0xBF] {
                let byte = match counting.fill_buf() {
                    Ok(b) => b.first().copied(),
                    Err(e) => return Err(io_error(&e, pos)),
                };
                if byte != Some(expected) {
                    // Only a byte order mark may start with 0xEF before the root element.
                    return Err(XmlError {
                        kind: XmlErrorKind::DocumentStructure(
                            "character data outside the root element",
                        ),
                        pos,
                    });
                }
                counting.consume(1);
            }
            // A second mark (or any other character from U+F000 to U+FFFF, none of them
            // white space) is character data before the root. quick-xml would silently drop
            // a second mark when it lies in its first buffer, so decide it here, byte-exact.
            match counting.fill_buf() {
                Ok(b) if b.first() == Some(&0xEF) => {
                    return Err(XmlError {
                        kind: XmlErrorKind::DocumentStructure(
                            "character data outside the root element",
                        ),
                        pos: Pos { line: 1, column: 2 },
                    });
                }
                Ok(_) => {}
                Err(e) => return Err(io_error(&e, pos)),
            }
        }
        Ok(())
    }

    fn tokenizer_error(&mut self, e: quick_xml::Error, start: Pos) -> XmlError {
        let here = self.tok.get_mut().here();
        match e {
            quick_xml::Error::Io(io) => io_error(&io, here),
            quick_xml::Error::Encoding(_) => XmlError {
                kind: XmlErrorKind::InvalidUtf8,
                pos: here,
            },
            quick_xml::Error::Escape(e) => XmlError {
                kind: escape_error(&quick_xml::Error::Escape(e)),
                pos: start,
            },
            quick_xml::Error::Syntax(s) => {
                let at_end = here != start || self.doc.depth > 0;
                let kind = if at_end && is_eof_syntax(&s) {
                    XmlErrorKind::UnexpectedEof(syntax_name(&s))
                } else {
                    XmlErrorKind::Syntax(s.to_string())
                };
                XmlError { kind, pos: start }
            }
            other => XmlError {
                kind: XmlErrorKind::Syntax(other.to_string()),
                pos: start,
            },
        }
    }
}

/// Processes a start tag into `doc.tag`, opening its namespace scope.
fn open(doc: &mut Doc, limits: &XmlLimits, s: &BytesStart<'_>, pos: Pos) -> Result<(), XmlError> {
    let err = |kind| XmlError { kind, pos };
    if s.len() > limits.max_markup_bytes {
        return Err(err(limit(Limit::MarkupBytes, limits.max_markup_bytes)));
    }
    if doc.depth >= limits.max_depth {
        return Err(err(limit(Limit::Depth, limits.max_depth)));
    }
    let tag = &mut doc.tag;
    tag.clear();
    let raw_name = s.name().0;
    let (prefix, local) = split_qname(raw_name, limits).map_err(err)?;
    doc.ns.push_scope();
    doc.depth += 1;

    // First pass: namespace declarations bind, other attributes are recorded raw.
    // Reused across tags: no allocation per element.
    let mut raw_attrs = std::mem::take(&mut tag.raw_attrs);
    raw_attrs.clear();
    let mut count = 0usize;
    for attr in s.attributes() {
        count += 1;
        if count > limits.max_attributes {
            return Err(err(limit(Limit::Attributes, limits.max_attributes)));
        }
        let attr = attr.map_err(|e| err(XmlErrorKind::Syntax(e.to_string())))?;
        let key = attr.key.0;
        let value = attr
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|e| err(escape_error(&e)))?;
        if value.len() > limits.max_attribute_value_bytes {
            return Err(err(limit(
                Limit::AttributeValueBytes,
                limits.max_attribute_value_bytes,
            )));
        }
        if let Some(c) = chars::first_invalid_char(&value) {
            return Err(err(XmlErrorKind::InvalidChar(c)));
        }
        let decl_prefix = if key == "xmlns" {
            Some("")
        } else {
            key.strip_prefix("xmlns:")
        };
        if decl_prefix == Some("") && key != "xmlns" {
            // `xmlns:` declares no prefix, and not the default namespace either.
            return Err(err(XmlErrorKind::InvalidNamespaceDeclaration(
                "the declared prefix is not an NCName",
            )));
        }
        if let Some(p) = decl_prefix {
            if tag.ns_decls.len() >= limits.max_namespace_declarations {
                return Err(err(limit(
                    Limit::NamespaceDeclarations,
                    limits.max_namespace_declarations,
                )));
            }
            check_namespace_declaration(p, &value).map_err(err)?;
            doc.ns.bind(p, &value);
            let pr = tag.push(p);
            let ur = tag.push(&value);
            tag.ns_decls.push((pr, ur));
        } else {
            let (ap, al) = split_qname(key, limits).map_err(err)?;
            let (pr, lr) = tag.push_qname(key, ap, al);
            let vr = tag.push(&value);
            raw_attrs.push((pr, lr, vr));
        }
    }

    // Second pass: resolve prefixes now that all declarations of this tag are bound.
    let ns_ref = |ns: &NsStack, p: &str, is_attr: bool| {
        if is_attr && p.is_empty() {
            return Ok(NsRef::NONE);
        }
        match ns.resolve_ref(p) {
            Some(r) => Ok(r),
            None if p.is_empty() => Ok(NsRef::NONE),
            None => Err(XmlErrorKind::UnboundPrefix(p.to_owned())),
        }
    };
    let (element_prefix, element_local) = tag.push_qname(raw_name, prefix, local);
    let element_ns = ns_ref(&doc.ns, prefix, false).map_err(err)?;
    tag.name = NameRec {
        namespace: element_ns,
        prefix: element_prefix,
        local: element_local,
    };
    for (pr, lr, vr) in raw_attrs.drain(..) {
        let tag = &mut doc.tag;
        let nr = ns_ref(&doc.ns, &tag.strings[pr.clone()], true).map_err(err)?;
        tag.attrs.push(AttrRec {
            name: NameRec {
                namespace: nr,
                prefix: pr,
                local: lr,
            },
            value: vr,
        });
    }
    doc.tag.raw_attrs = raw_attrs;
    // Duplicates by expanded name (raw-name duplicates were caught by the tokenizer); only
    // prefixed attributes can collide this way. A scan for the usual handful, a hash set past
    // that, so that a hostile tag with thousands of prefixed attributes stays linear.
    let doc: &Doc = doc;
    let mut prefixed = doc
        .tag
        .attrs
        .iter()
        .filter(|a| !a.name.prefix.is_empty())
        .map(|a| doc.name(&a.name));
    let duplicate = |n: &Name<'_>| {
        err(XmlErrorKind::DuplicateAttribute(format!(
            "{{{}}}{}",
            n.namespace, n.local
        )))
    };
    let mut seen: Vec<Name<'_>> = Vec::new();
    for n in prefixed.by_ref() {
        if seen
            .iter()
            .any(|m| m.local == n.local && m.namespace == n.namespace)
        {
            return Err(duplicate(&n));
        }
        seen.push(n);
        if seen.len() == SMALL_ATTRIBUTE_SCAN {
            break;
        }
    }
    if seen.len() < SMALL_ATTRIBUTE_SCAN {
        // All scanned: the common case builds no hash set.
        return Ok(());
    }
    let mut hashed: std::collections::HashSet<(&str, &str)> =
        seen.iter().map(|n| (n.namespace, n.local)).collect();
    for n in prefixed {
        if !hashed.insert((n.namespace, n.local)) {
            return Err(duplicate(&n));
        }
    }
    Ok(())
}

/// Prefixed attributes checked for expanded-name duplicates by a scan before a hash set.
const SMALL_ATTRIBUTE_SCAN: usize = 16;

fn limit(limit: Limit, max: usize) -> XmlErrorKind {
    XmlErrorKind::LimitExceeded {
        limit,
        max: max as u64,
    }
}

fn io_error(e: &std::io::Error, pos: Pos) -> XmlError {
    let kind = match e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<LimitHit>())
    {
        Some(LimitHit(l, max)) => XmlErrorKind::LimitExceeded {
            limit: *l,
            max: *max,
        },
        None if e.kind() == std::io::ErrorKind::InvalidData => XmlErrorKind::InvalidUtf8,
        None => XmlErrorKind::Io(e.to_string()),
    };
    XmlError { kind, pos }
}

fn is_eof_syntax(s: &quick_xml::errors::SyntaxError) -> bool {
    use quick_xml::errors::SyntaxError as S;
    matches!(
        s,
        S::UnclosedTag
            | S::UnclosedComment
            | S::UnclosedCData
            | S::UnclosedDoctype
            | S::UnclosedPI
            | S::UnclosedXmlDecl
            | S::UnclosedSingleQuotedAttributeValue
            | S::UnclosedDoubleQuotedAttributeValue
    )
}

fn syntax_name(s: &quick_xml::errors::SyntaxError) -> &'static str {
    use quick_xml::errors::SyntaxError as S;
    match s {
        S::UnclosedTag => "a tag is not closed",
        S::UnclosedComment => "a comment is not closed",
        S::UnclosedCData => "a CDATA section is not closed",
        S::UnclosedDoctype => "a DOCTYPE is not closed",
        S::UnclosedPI | S::UnclosedXmlDecl => "a processing instruction is not closed",
        S::UnclosedSingleQuotedAttributeValue | S::UnclosedDoubleQuotedAttributeValue => {
            "an attribute value is not closed"
        }
        _ => "truncated markup",
    }
}

fn escape_error(e: &quick_xml::Error) -> XmlErrorKind {
    use quick_xml::escape::EscapeError;
    match e {
        quick_xml::Error::Escape(EscapeError::UnrecognizedEntity(..)) => {
            XmlErrorKind::UndeclaredEntity
        }
        quick_xml::Error::Escape(EscapeError::InvalidCharRef(_)) => XmlErrorKind::InvalidCharRef,
        other => XmlErrorKind::Syntax(other.to_string()),
    }
}

fn check_declaration(decl: &quick_xml::events::BytesDecl<'_>) -> Result<(), XmlErrorKind> {
    let version = decl
        .version()
        .map_err(|e| XmlErrorKind::Syntax(e.to_string()))?;
    // XML 1.0 (fifth edition) §2.8: `VersionNum ::= '1.' [0-9]+`, and a 1.0 processor
    // processes a document declaring another 1.x version as a 1.0 document (libxml2 does so
    // too). Its content is then held to XML 1.0's rules: a 1.1 document that uses what only
    // 1.1 allows (C0 controls by reference, NEL as a line end) is refused with the precise
    // error, never read under looser rules.
    let minor = version.strip_prefix("1.").unwrap_or("");
    if minor.is_empty() || !minor.bytes().all(|b| b.is_ascii_digit()) {
        return Err(XmlErrorKind::UnsupportedVersion);
    }
    if let Some(enc) = decl.encoding() {
        let enc = enc.map_err(|e| XmlErrorKind::Syntax(e.to_string()))?;
        let ok = ["utf-8", "utf8", "us-ascii", "ascii"]
            .iter()
            .any(|e| enc.eq_ignore_ascii_case(e));
        if !ok {
            // The name is from the document but is a charset label, not personal data; cap it.
            return Err(XmlErrorKind::UnsupportedEncoding(
                enc.chars().take(40).collect(),
            ));
        }
    }
    Ok(())
}

fn check_markup(content: &str, max: usize) -> Result<(), XmlErrorKind> {
    if content.len() > max {
        return Err(limit(Limit::MarkupBytes, max));
    }
    match chars::first_invalid_char(content) {
        Some(c) => Err(XmlErrorKind::InvalidChar(c)),
        None => Ok(()),
    }
}

fn append_text(text: &mut String, piece: &str, limits: &XmlLimits) -> Result<(), XmlErrorKind> {
    match chars::first_invalid_char(piece) {
        // Over the limit, the limit is the verdict ([`append_plain`]'s).
        Some(c) if text.len() + piece.len() <= limits.max_text_bytes => {
            Err(XmlErrorKind::InvalidChar(c))
        }
        _ => append_plain(text, piece, limits),
    }
}

/// [`append_text`] for a piece [`chars::is_plain_text`] passed: nothing to normalise or check
/// (most character data; the line-end normalisation alone, a `memchr` call per piece, cost
/// about 4 % of a validation).
fn append_plain(text: &mut String, piece: &str, limits: &XmlLimits) -> Result<(), XmlErrorKind> {
    if text.len() + piece.len() > limits.max_text_bytes {
        return Err(limit(Limit::TextBytes, limits.max_text_bytes));
    }
    text.push_str(piece);
    Ok(())
}

fn resolve_reference(r: &quick_xml::events::BytesRef<'_>) -> Result<char, XmlErrorKind> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) if chars::is_xml_char(c) => Ok(c),
            _ => Err(XmlErrorKind::InvalidCharRef),
        };
    }
    match &**r {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => Err(XmlErrorKind::UndeclaredEntity),
    }
}

/// Splits a QName into (prefix, local), checking both parts are NCNames.
fn split_qname<'n>(name: &'n str, limits: &XmlLimits) -> Result<(&'n str, &'n str), XmlErrorKind> {
    if name.len() > limits.max_name_bytes {
        return Err(limit(Limit::NameBytes, limits.max_name_bytes));
    }
    chars::split_qname(name).map_err(|fault| {
        XmlErrorKind::InvalidName(match fault {
            chars::QNameFault::Prefix => "the prefix is not an NCName",
            chars::QNameFault::Local => "not a qualified name (NCName or prefix:NCName)",
        })
    })
}

fn check_namespace_declaration(prefix: &str, uri: &str) -> Result<(), XmlErrorKind> {
    let bad = |why| Err(XmlErrorKind::InvalidNamespaceDeclaration(why));
    if !prefix.is_empty() && !chars::is_ncname(prefix) {
        return bad("the declared prefix is not an NCName");
    }
    if prefix == "xmlns" {
        return bad("the prefix xmlns must not be declared");
    }
    if prefix == "xml" {
        return if uri == XML_NS {
            Ok(())
        } else {
            bad("the prefix xml may only be bound to its namespace")
        };
    }
    if uri == XML_NS {
        return bad("the XML namespace may only be bound to the prefix xml");
    }
    if uri == XMLNS_NS {
        return bad("the xmlns namespace must not be declared");
    }
    if !prefix.is_empty() && uri.is_empty() {
        return bad("a prefix cannot be undeclared in XML 1.0");
    }
    Ok(())
}

#[cfg(test)]
#[path = "reader_tests.rs"]
mod tests;
