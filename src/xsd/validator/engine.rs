//! The validator state machine: one frame per open element.

use std::collections::HashSet;

use crate::xml::Pos;
use crate::xsd::components::{
    Content, ElemId, Grammar, IdKind, ModelId, NsId, Process, TypeId, TypeKind, UNKNOWN_NS,
};
use crate::xsd::content::{Matched, NodeKind, NodeState, Step};
use crate::xsd::datatypes::NsResolver;
use crate::xsd::derivation::{NotDerived, check_derived};
use crate::xsd::error::{ErrorKind, ValidationError};

use super::{ElementInfo, Observer, Tag, ValidationOptions, ValidationReport, is_xml_whitespace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Assessed against a declaration and type.
    Validate,
    /// Laxly assessed: children are validated only where a global declaration exists.
    Lax,
    /// Not assessed at all.
    Skip,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum FrameContent {
    Empty,
    Simple(TypeId),
    Elements { model: ModelId, mixed: bool },
}

#[derive(Debug)]
pub(super) struct Frame {
    pub mode: Mode,
    pub decl: Option<ElemId>,
    pub type_id: Option<TypeId>,
    pub nil: bool,
    pub content: FrameContent,
    pub state_base: usize,
    pub path_len: usize,
    pub text_error: bool,
    pub pos: Pos,
    /// An element child has started.
    pub children: bool,
    /// Mixed content under a fixed value constraint: the text is collected and compared.
    pub fixed_mixed: bool,
}

/// The event-driven validator core. Feed it `start`/`text`/`end` in document order, then call
/// `finish`.
#[derive(Debug)]
pub struct Validator<'g> {
    pub(super) g: &'g Grammar,
    pub(super) opts: ValidationOptions,
    frames: Vec<Frame>,
    states: Vec<NodeState>,
    text: String,
    pub(super) path: String,
    errors: Vec<ValidationError>,
    truncated: bool,
    root: Option<ElemId>,
    /// The root element has started (declared or not).
    root_seen: bool,
    ids: HashSet<Box<str>>,
    idrefs: Vec<(Box<str>, Pos, Box<str>)>,
    /// What IDs, IDREFs and identity-constraint tables hold, against the limits.
    pub(super) held: super::identity::Held,
    pub(super) seen: Vec<bool>,
    scratch: Vec<NodeState>,
    pub(super) idc: super::identity::IdcState,
    /// The namespace URI of the last element and its id: consecutive elements mostly share
    /// one namespace, and comparing is cheaper than hashing.
    ns_cache: (String, NsId),
}

impl<'g> Validator<'g> {
    /// A validator for one document, holding at most `limits.max_identity_entries` IDs,
    /// IDREFs and identity-constraint entries of `limits.max_identity_bytes` together.
    pub fn new(
        grammar: &'g Grammar,
        options: ValidationOptions,
        limits: &crate::config::XsdLimits,
    ) -> Self {
        Self {
            g: grammar,
            opts: options,
            frames: Vec::new(),
            states: Vec::new(),
            text: String::new(),
            path: String::new(),
            errors: Vec::new(),
            truncated: false,
            root: None,
            root_seen: false,
            ids: HashSet::new(),
            idrefs: Vec::new(),
            held: super::identity::Held::new(limits),
            seen: Vec::new(),
            scratch: Vec::new(),
            idc: super::identity::IdcState::default(),
            ns_cache: (String::new(), 0),
        }
    }

    pub(super) fn error(&mut self, pos: Pos, kind: ErrorKind, message: String) {
        if self.errors.len() >= self.opts.max_errors {
            self.truncated = true;
            return;
        }
        self.errors.push(ValidationError {
            line: pos.line,
            column: pos.column,
            path: self.path.clone(),
            kind,
            message,
        });
    }

    /// Records that the event source failed (not well-formed XML or a reader limit); the
    /// document is invalid.
    pub fn not_well_formed(&mut self, pos: Pos, message: String) {
        self.error(pos, ErrorKind::NotWellFormed, message);
    }

    /// Whether whitespace-only text matters for the current element (simple or mixed content).
    pub fn wants_text(&self) -> bool {
        matches!(
            self.frames.last(),
            Some(Frame {
                mode: Mode::Validate,
                content: FrameContent::Simple(_) | FrameContent::Elements { mixed: true, .. },
                ..
            })
        )
    }

    /// `{ns}local` or `local` of an element for messages.
    fn element_label(&self, e: ElemId) -> String {
        self.g.names.display(self.g.element(e).name)
    }

    pub(super) fn type_label(&self, t: TypeId) -> String {
        let mut cur = t;
        for _ in 0..64 {
            let def = self.g.type_def(cur);
            if let Some(name) = def.name {
                let n = self.g.names.display(name);
                return if cur == t {
                    n
                } else {
                    format!("a type derived from {n}")
                };
            }
            if def.base == cur {
                break;
            }
            cur = def.base;
        }
        "an anonymous type".into()
    }

    fn expected_list(&self, model: ModelId, base: usize) -> String {
        let m = &self.g.models[model as usize];
        let st = &self.states[base..base + m.state_len()];
        let mut names: Vec<String> = Vec::new();
        for leaf in m.expected(st) {
            let label = match &m.nodes[leaf as usize].kind {
                NodeKind::Element(e) => self.element_label(*e),
                _ => "any element (wildcard)".into(),
            };
            if !names.contains(&label) {
                names.push(label);
            }
        }
        match names.len() {
            0 => "no further element".into(),
            1 => names.remove(0),
            _ => format!("one of {}", names.join(", ")),
        }
    }

    /// The id of an element's namespace URI, through the one-entry cache.
    fn element_ns_id(&mut self, uri: &str) -> NsId {
        if uri.is_empty() {
            return self.g.names.ns_id("");
        }
        if self.ns_cache.0 != uri {
            self.ns_cache.0.clear();
            self.ns_cache.0.push_str(uri);
            self.ns_cache.1 = self.g.names.ns_id(uri);
        }
        self.ns_cache.1
    }

    fn lax_lookup(&self, name: Option<u32>) -> (Mode, Option<ElemId>) {
        match name.and_then(|q| self.g.global_elements.get(&q)) {
            Some(&e) => (Mode::Validate, Some(e)),
            None => (Mode::Lax, None),
        }
    }

    /// An element starts. `ns` resolves prefixes in its scope (for `xsi:type` and QNames).
    pub fn start<O: Observer>(
        &mut self,
        tag: &impl Tag,
        ns: &dyn NsResolver,
        pos: Pos,
        obs: &mut O,
    ) {
        let g = self.g;
        let path_len = self.path.len();
        self.path.push('/');
        if !tag.prefix().is_empty() {
            self.path.push_str(tag.prefix());
            self.path.push(':');
        }
        self.path.push_str(tag.local());
        let ns_id = self.element_ns_id(tag.ns());
        let name = if ns_id == UNKNOWN_NS {
            None
        } else {
            g.names.lookup(ns_id, tag.local())
        };
        let label = || {
            if tag.ns().is_empty() {
                tag.local().to_owned()
            } else {
                format!("{{{}}}{}", tag.ns(), tag.local())
            }
        };
        let mut problem: Option<(ErrorKind, String)> = None;
        if let Some(parent) = self.frames.last_mut() {
            parent.children = true;
        }
        // No declaration where the element would be assessed (an undeclared root, a strict or
        // lax wildcard, the child of a laxly assessed element): its xsi:type may name the type.
        let mut undeclared = false;
        self.root_seen = true;
        let (mut mode, decl) = match self.frames.last() {
            None => match name.and_then(|q| g.global_elements.get(&q)) {
                Some(&e) => {
                    self.root = Some(e);
                    (Mode::Validate, Some(e))
                }
                None => {
                    undeclared = true;
                    problem = Some((
                        ErrorKind::UnknownRoot,
                        format!("no global element declaration for root element {}", label()),
                    ));
                    (Mode::Skip, None)
                }
            },
            Some(parent) => match parent.mode {
                Mode::Skip => (Mode::Skip, None),
                Mode::Lax => {
                    let found = self.lax_lookup(name);
                    undeclared = found.1.is_none();
                    found
                }
                Mode::Validate if parent.nil => {
                    problem = Some((
                        ErrorKind::Nil,
                        "element is nil (xsi:nil) but has child elements".into(),
                    ));
                    (Mode::Skip, None)
                }
                Mode::Validate => match parent.content {
                    FrameContent::Elements { model, .. } => {
                        let m = &g.models[model as usize];
                        let base = parent.state_base;
                        let st = &mut self.states[base..base + m.state_len()];
                        match m.step(g, st, name, ns_id) {
                            Step::Matched(Matched::Element(e)) => (Mode::Validate, Some(e)),
                            Step::Matched(Matched::Any(leaf)) => match &m.nodes[leaf as usize].kind
                            {
                                NodeKind::Any(w) => match w.process {
                                    Process::Skip => (Mode::Skip, None),
                                    Process::Lax => {
                                        let found = self.lax_lookup(name);
                                        undeclared = found.1.is_none();
                                        found
                                    }
                                    Process::Strict => {
                                        match name.and_then(|q| g.global_elements.get(&q)) {
                                            Some(&e) => (Mode::Validate, Some(e)),
                                            None => {
                                                undeclared = true;
                                                problem = Some((
                                                    ErrorKind::UnexpectedElement,
                                                    format!(
                                                        "element {} matches a strict wildcard but has no global declaration",
                                                        label()
                                                    ),
                                                ));
                                                (Mode::Skip, None)
                                            }
                                        }
                                    }
                                },
                                _ => (Mode::Skip, None),
                            },
                            Step::NoMatch { .. } => {
                                let expected = self.expected_list(model, base);
                                problem = Some((
                                    ErrorKind::UnexpectedElement,
                                    format!(
                                        "element {} not expected here; expected {expected}",
                                        label()
                                    ),
                                ));
                                // Resynchronise if the element fits once missing ones are skipped.
                                self.scratch.clear();
                                self.scratch
                                    .extend_from_slice(&self.states[base..base + m.state_len()]);
                                let st = &mut self.states[base..base + m.state_len()];
                                match m.step_skipping_missing(g, st, name, ns_id) {
                                    Step::Matched(Matched::Element(e)) => (Mode::Validate, Some(e)),
                                    Step::Matched(Matched::Any(_)) => self.lax_lookup(name),
                                    Step::NoMatch { .. } => {
                                        st.copy_from_slice(&self.scratch);
                                        (Mode::Skip, None)
                                    }
                                }
                            }
                        }
                    }
                    FrameContent::Simple(_) => {
                        problem = Some((
                            ErrorKind::UnexpectedElement,
                            format!(
                                "element {} not allowed: the parent has simple content",
                                label()
                            ),
                        ));
                        (Mode::Skip, None)
                    }
                    FrameContent::Empty => {
                        problem = Some((
                            ErrorKind::UnexpectedElement,
                            format!(
                                "element {} not allowed: the parent's content must be empty",
                                label()
                            ),
                        ));
                        (Mode::Skip, None)
                    }
                },
            },
        };
        // cvc-assess-elt 1.2: an element without a declaration is assessed against the type
        // its xsi:type names, when that resolves (otherwise it stays as it was: an unknown
        // root or strict wildcard match is an error, a lax one unassessed).
        let mut xsi_typed = None;
        if undeclared
            && let Some(t) = self
                .xsi_attribute(tag, "type")
                .and_then(|v| self.resolve_xsi_type(v, ns).ok())
        {
            xsi_typed = Some(t);
            mode = Mode::Validate;
            problem = None;
        }
        if let Some((kind, message)) = problem {
            self.error(pos, kind, message);
        }
        let mut frame = Frame {
            mode,
            decl,
            type_id: None,
            nil: false,
            content: FrameContent::Empty,
            state_base: self.states.len(),
            path_len,
            text_error: false,
            pos,
            children: false,
            fixed_mixed: false,
        };
        self.text.clear();
        if let (Mode::Validate, Some(e)) = (mode, decl) {
            self.start_declared(&mut frame, e, tag, ns, pos, obs);
        } else if let Some(t) = xsi_typed {
            self.check_not_abstract(t, pos);
            self.set_type(&mut frame, t);
        }
        obs.start_element(
            g,
            &ElementInfo {
                ns: tag.ns(),
                local: tag.local(),
                decl: frame.decl,
                type_id: frame.type_id,
                nil: frame.nil,
                pos,
                path: &self.path,
            },
        );
        if frame.mode == Mode::Validate {
            self.emit_attributes(&frame, tag, ns, pos, obs);
        } else {
            // Unassessed elements: attributes are passed on untyped so observers lose nothing.
            for (ans, local, _, value) in tag.attributes() {
                let name = g.names.lookup(g.names.ns_id(ans), local);
                let info = super::AttributeInfo {
                    name,
                    ns: ans,
                    local,
                    value,
                    typed: None,
                    defaulted: false,
                };
                obs.attribute(g, &info);
            }
        }
        if let FrameContent::Elements { model, .. } = frame.content {
            let len = g.models[model as usize].state_len();
            let base = self.states.len();
            self.states.resize(base + len, NodeState::default());
            g.models[model as usize].reset(&mut self.states[base..]);
        }
        let (decl, type_id) = (frame.decl, frame.type_id);
        let assessed = frame.mode != Mode::Skip;
        self.frames.push(frame);
        if !self.g.identity.is_empty() {
            self.idc_start(tag, decl, type_id, assessed, ns, pos);
        }
    }

    fn start_declared<O: Observer>(
        &mut self,
        frame: &mut Frame,
        e: ElemId,
        tag: &impl Tag,
        ns: &dyn NsResolver,
        pos: Pos,
        _obs: &mut O,
    ) {
        let g = self.g;
        let d = g.element(e);
        if d.is_abstract {
            self.error(
                pos,
                ErrorKind::Abstract,
                format!("element {} is abstract", self.element_label(e)),
            );
        }
        let mut type_id = d.type_id;
        let xsi_nil = self.xsi_attribute(tag, "nil");
        if let Some(v) = self.xsi_attribute(tag, "type") {
            match self.resolve_xsi_type(v, ns) {
                Err(message) => self.error(pos, ErrorKind::XsiType, message),
                Ok(t) => {
                    let blocked = d.block.0 | g.type_def(d.type_id).block.0;
                    match check_derived(g, t, d.type_id, blocked) {
                        Ok(()) => type_id = t,
                        Err(NotDerived::Unrelated) => self.error(
                            pos,
                            ErrorKind::XsiType,
                            format!(
                                "xsi:type {} is not derived from the declared type {}",
                                self.type_label(t),
                                self.type_label(d.type_id)
                            ),
                        ),
                        Err(NotDerived::Blocked) => self.error(
                            pos,
                            ErrorKind::XsiType,
                            format!(
                                "xsi:type {} uses a derivation the declaration blocks",
                                self.type_label(t)
                            ),
                        ),
                    }
                }
            }
        }
        self.check_not_abstract(type_id, pos);
        if let Some(v) = xsi_nil {
            match v.trim() {
                "true" | "1" if d.nillable => {
                    frame.nil = true;
                    if d.value.as_ref().is_some_and(|vc| vc.fixed) {
                        self.error(
                            pos,
                            ErrorKind::Nil,
                            "element with a fixed value cannot be nil".into(),
                        );
                    }
                }
                // cvc-elt.3.1: on an element that is not nillable xsi:nil must be absent,
                // even with the value false.
                "true" | "1" | "false" | "0" if !d.nillable => self.error(
                    pos,
                    ErrorKind::Nil,
                    "xsi:nil on an element that is not nillable".into(),
                ),
                "false" | "0" => {}
                _ => self.error(pos, ErrorKind::Nil, "xsi:nil is not a boolean".into()),
            }
        }
        self.set_type(frame, type_id);
        frame.fixed_mixed = matches!(frame.content, FrameContent::Elements { mixed: true, .. })
            && d.value.as_ref().is_some_and(|vc| vc.fixed);
    }

    /// The value of the element's `xsi:{local}` attribute, if present.
    fn xsi_attribute<'t>(&self, tag: &'t impl Tag, local: &str) -> Option<&'t str> {
        if self.g.xsi_ns == UNKNOWN_NS {
            return None;
        }
        let xsi = self.g.names.ns_uri(self.g.xsi_ns);
        tag.attributes()
            .find(|(ans, l, _, _)| *ans == xsi && *l == local)
            .map(|(_, _, _, value)| value)
    }

    /// The global type an `xsi:type` value names.
    fn resolve_xsi_type(&self, value: &str, ns: &dyn NsResolver) -> Result<TypeId, String> {
        let g = self.g;
        let v = value.trim();
        let (prefix, local) = v.split_once(':').unwrap_or(("", v));
        let uri = ns.resolve(prefix).unwrap_or("");
        g.names
            .lookup(g.names.ns_id(uri), local)
            .and_then(|q| g.global_types.get(&q))
            .copied()
            .ok_or_else(|| format!("xsi:type names an unknown type {{{uri}}}{local}"))
    }

    fn check_not_abstract(&mut self, type_id: TypeId, pos: Pos) {
        if self.g.type_def(type_id).is_abstract {
            self.error(
                pos,
                ErrorKind::Abstract,
                format!(
                    "type {} is abstract; use xsi:type to name a concrete type",
                    self.type_label(type_id)
                ),
            );
        }
    }

    /// The element is assessed against `type_id`: its content follows from the type.
    fn set_type(&mut self, frame: &mut Frame, type_id: TypeId) {
        frame.type_id = Some(type_id);
        frame.content = match &self.g.type_def(type_id).kind {
            TypeKind::Simple(..) => FrameContent::Simple(type_id),
            TypeKind::Complex(ct) => match ct.content {
                Content::Empty => FrameContent::Empty,
                Content::Simple(t) => FrameContent::Simple(t),
                Content::Elements { model, mixed } => FrameContent::Elements { model, mixed },
            },
        };
    }

    /// Character data of the current element.
    pub fn text<O: Observer>(&mut self, text: &str, pos: Pos, obs: &mut O) {
        let Some(f) = self.frames.last_mut() else {
            return;
        };
        if f.mode != Mode::Validate {
            if !is_xml_whitespace(text) {
                obs.unassessed_text(self.g, text);
            }
            return;
        }
        let ws = is_xml_whitespace(text);
        if f.nil {
            if !ws {
                self.error(
                    pos,
                    ErrorKind::Nil,
                    "element is nil (xsi:nil) but has character content".into(),
                );
            }
            return;
        }
        match f.content {
            FrameContent::Simple(_) => self.text.push_str(text),
            FrameContent::Elements { mixed: true, .. } => {
                if f.fixed_mixed {
                    self.text.push_str(text);
                }
                obs.text(self.g, text);
            }
            FrameContent::Elements { mixed: false, .. } | FrameContent::Empty => {
                if !ws && !f.text_error {
                    f.text_error = true;
                    let what = if matches!(f.content, FrameContent::Empty) {
                        "empty content"
                    } else {
                        "element-only content"
                    };
                    self.error(
                        pos,
                        ErrorKind::UnexpectedText,
                        format!("character content not allowed ({what})"),
                    );
                }
            }
        }
    }

    /// The current element ends.
    pub fn end<O: Observer>(&mut self, ns: &dyn NsResolver, pos: Pos, obs: &mut O) {
        let Some(f) = self.frames.pop() else {
            return;
        };
        if f.mode == Mode::Validate {
            match f.content {
                FrameContent::Elements { model, .. } if !f.nil => {
                    let m = &self.g.models[model as usize];
                    let st = &self.states[f.state_base..f.state_base + m.state_len()];
                    if !m.is_complete(st) {
                        let expected = self.expected_list(model, f.state_base);
                        self.error(
                            pos,
                            ErrorKind::MissingElement,
                            format!("content incomplete; expected {expected}"),
                        );
                    }
                }
                FrameContent::Simple(t) => self.end_simple(&f, t, ns, obs),
                _ => {}
            }
            if f.fixed_mixed && !f.nil {
                self.check_fixed_mixed(&f);
            }
        }
        self.states.truncate(f.state_base);
        if !self.g.identity.is_empty() {
            self.idc_end(pos);
        }
        obs.end_element(self.g);
        self.path.truncate(f.path_len);
        self.text.clear();
    }

    /// cvc-elt 5.2.2: an element with a fixed value and mixed content has no element children
    /// and, unless empty, exactly the fixed value as its character content.
    fn check_fixed_mixed(&mut self, f: &Frame) {
        let Some(vc) = f.decl.and_then(|e| self.g.element(e).value.as_ref()) else {
            return;
        };
        if f.children {
            self.error(
                f.pos,
                ErrorKind::FixedValue,
                "element with a fixed value cannot have element children".into(),
            );
        } else if !self.text.is_empty() && *self.text != *vc.lexical {
            let shown = self.shown(&self.text);
            let message = format!(
                "element value does not match the fixed value '{}'{shown}",
                vc.lexical
            );
            self.error(f.pos, ErrorKind::FixedValue, message);
        }
    }

    fn end_simple<O: Observer>(&mut self, f: &Frame, t: TypeId, ns: &dyn NsResolver, obs: &mut O) {
        if f.nil {
            obs.simple_value(self.g, "", None);
            return;
        }
        let g = self.g;
        let TypeKind::Simple(st, id_kind) = &g.type_def(t).kind else {
            return;
        };
        let vc = f.decl.and_then(|e| g.element(e).value.as_ref());
        let text = std::mem::take(&mut self.text);
        let (lexical, defaulted) = match vc {
            Some(vc) if text.is_empty() => (&*vc.lexical, true),
            _ => (text.as_str(), false),
        };
        let fixed = vc.filter(|vc| vc.fixed && !defaulted);
        let need_value = obs.wants_value(st) || self.idc.active() || fixed.is_some();
        let checked = if need_value {
            st.validate(lexical, ns).map(Some)
        } else {
            st.check(lexical, ns).map(|()| None)
        };
        match checked {
            Ok(v) => {
                if let Some(vc) = fixed {
                    let same = match (&vc.value, &v) {
                        (Some(fv), Some(v)) => fv == v,
                        _ => st.normalize(lexical) == st.normalize(&vc.lexical),
                    };
                    if !same {
                        let shown = self.shown(lexical);
                        self.error(
                            f.pos,
                            ErrorKind::FixedValue,
                            format!(
                                "element value does not match the fixed value '{}'{shown}",
                                vc.lexical
                            ),
                        );
                    }
                }
                if *id_kind != IdKind::None {
                    let normalized = st.normalize(lexical).into_owned();
                    self.record_id(*id_kind, &normalized, f.pos);
                }
                obs.simple_value(g, lexical, v.as_ref());
                if self.idc.active() {
                    self.idc.last_value = v;
                }
            }
            Err(e) => {
                let shown = self.shown(lexical);
                let label = self.type_label(t);
                self.error(
                    f.pos,
                    ErrorKind::InvalidValue,
                    format!("value not valid for {label}: {e}{shown}"),
                );
                obs.simple_value(g, lexical, None);
            }
        }
        self.text = text;
    }

    /// ` (value "…")` when values may be shown, else nothing.
    pub(super) fn shown(&self, value: &str) -> String {
        if self.opts.show_values {
            format!(" (value {value:?})")
        } else {
            String::new()
        }
    }

    pub(super) fn record_id(&mut self, kind: IdKind, value: &str, pos: Pos) {
        // An IDREF keeps its element path for the message at the end of the document.
        let entry = size_of::<(Box<str>, Pos, Box<str>)>();
        match kind {
            IdKind::Id => {
                if !self.hold(1, entry + value.len(), pos) {
                    return;
                }
                if !self.ids.insert(value.into()) {
                    let shown = self.shown(value);
                    self.error(pos, ErrorKind::Id, format!("duplicate ID{shown}"));
                }
            }
            IdKind::IdRef => {
                if self.hold(1, entry + value.len() + self.path.len(), pos) {
                    self.idrefs
                        .push((value.into(), pos, self.path.as_str().into()));
                }
            }
            IdKind::IdRefs => {
                for token in value.split_ascii_whitespace() {
                    if !self.hold(1, entry + token.len() + self.path.len(), pos) {
                        return;
                    }
                    self.idrefs
                        .push((token.into(), pos, self.path.as_str().into()));
                }
            }
            IdKind::None => {}
        }
    }

    /// Takes `entries` and `bytes` from the identity budget; reports the limit (once per
    /// document) and returns false when they do not fit.
    pub(super) fn hold(&mut self, entries: usize, bytes: usize, pos: Pos) -> bool {
        match self.held.take(entries, bytes) {
            Ok(()) => true,
            Err(Some(message)) => {
                self.error(pos, ErrorKind::Limit, message);
                false
            }
            Err(None) => false,
        }
    }

    /// Ends the document: resolves IDREFs and returns the report.
    pub fn finish(mut self, pos: Pos) -> ValidationReport {
        if !self.root_seen && self.errors.is_empty() && self.frames.is_empty() {
            self.error(
                pos,
                ErrorKind::NotWellFormed,
                "document has no root element".into(),
            );
        }
        // Over the identity limit some IDs were not recorded: no verdict on IDREFs then.
        let idrefs = if self.held.exhausted() {
            Vec::new()
        } else {
            std::mem::take(&mut self.idrefs)
        };
        for (value, at, path) in idrefs {
            if !self.ids.contains(&value) {
                let shown = self.shown(&value);
                if self.errors.len() >= self.opts.max_errors {
                    self.truncated = true;
                    break;
                }
                self.errors.push(ValidationError {
                    line: at.line,
                    column: at.column,
                    path: path.into(),
                    kind: ErrorKind::Id,
                    message: format!("IDREF does not match any ID in the document{shown}"),
                });
            }
        }
        ValidationReport {
            errors: self.errors,
            truncated: self.truncated,
            root: self.root,
        }
    }
}
