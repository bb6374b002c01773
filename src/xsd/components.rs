//! The compiled schema components: arenas indexed by small integers, names interned to `u32`.
//! A [`Grammar`] is immutable once built, `Send + Sync`, and meant to be shared in an `Arc`.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::content::Model;
use super::datatypes::Value;
use super::simple::SimpleType;

/// Interned namespace URI ("" = no namespace is always 0).
pub type NsId = u32;
/// Interned expanded name (namespace + local name).
pub type QNameId = u32;
/// Index of an element declaration.
pub type ElemId = u32;
/// Index of a type definition.
pub type TypeId = u32;
/// Index of a compiled content model.
pub type ModelId = u32;

/// Namespace id of a namespace the grammar does not know.
pub const UNKNOWN_NS: NsId = u32::MAX;
/// Type id of `xs:anyType`.
pub const ANY_TYPE: TypeId = 0;
/// Type id of `xs:anySimpleType`.
pub const ANY_SIMPLE_TYPE: TypeId = 1;

/// A fast multiplicative hasher for the name tables. The tables are fixed once compiled and
/// instance names are only looked up, never inserted, so hash flooding cannot degrade them;
/// SipHash would cost a tenth of the validation time here.
#[derive(Debug, Default, Clone, Copy)]
pub struct NameHasher(u64);

impl Hasher for NameHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

impl NameHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

/// Hash map keyed by names or small ids.
pub type NameMap<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;

/// Interning tables for namespaces and expanded names.
#[derive(Debug, Default)]
pub struct Names {
    ns_ids: NameMap<Box<str>, NsId>,
    ns_uris: Vec<Box<str>>,
    locals: Vec<NameMap<Box<str>, QNameId>>,
    qnames: Vec<(NsId, Box<str>)>,
}

impl Names {
    pub(crate) fn new() -> Self {
        let mut names = Self::default();
        names.intern_ns("");
        names
    }

    pub(crate) fn intern_ns(&mut self, uri: &str) -> NsId {
        if let Some(&id) = self.ns_ids.get(uri) {
            return id;
        }
        let id = u32::try_from(self.ns_uris.len()).expect("fewer than 2^32 namespaces");
        self.ns_ids.insert(uri.into(), id);
        self.ns_uris.push(uri.into());
        self.locals.push(NameMap::default());
        id
    }

    pub(crate) fn intern(&mut self, ns: &str, local: &str) -> QNameId {
        let ns_id = self.intern_ns(ns);
        if let Some(&id) = self.locals[ns_id as usize].get(local) {
            return id;
        }
        let id = u32::try_from(self.qnames.len()).expect("fewer than 2^32 names");
        self.locals[ns_id as usize].insert(local.into(), id);
        self.qnames.push((ns_id, local.into()));
        id
    }

    /// The id of a namespace URI, or [`UNKNOWN_NS`].
    pub fn ns_id(&self, uri: &str) -> NsId {
        if uri.is_empty() {
            // Interned first by `Names::new`.
            return 0;
        }
        self.ns_ids.get(uri).copied().unwrap_or(UNKNOWN_NS)
    }

    /// The id of an expanded name, if the grammar mentions it.
    pub fn lookup(&self, ns: NsId, local: &str) -> Option<QNameId> {
        self.locals.get(ns as usize)?.get(local).copied()
    }

    /// Namespace of an interned name.
    pub fn ns_of(&self, q: QNameId) -> NsId {
        self.qnames[q as usize].0
    }

    /// Local part of an interned name.
    pub fn local(&self, q: QNameId) -> &str {
        &self.qnames[q as usize].1
    }

    /// URI of a namespace id.
    pub fn ns_uri(&self, ns: NsId) -> &str {
        self.ns_uris.get(ns as usize).map_or("", |s| s)
    }

    /// `{uri}local` (or `local`) for messages.
    pub fn display(&self, q: QNameId) -> String {
        let (ns, local) = &self.qnames[q as usize];
        let uri = self.ns_uri(*ns);
        if uri.is_empty() {
            local.to_string()
        } else {
            format!("{{{uri}}}{local}")
        }
    }
}

/// A set of derivation methods (`block`, `final`, and what a derivation chain used).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Derivations(pub u8);

impl Derivations {
    /// Derivation by extension.
    pub const EXTENSION: u8 = 1;
    /// Derivation by restriction.
    pub const RESTRICTION: u8 = 2;
    /// Substitution-group membership.
    pub const SUBSTITUTION: u8 = 4;
    /// Derivation by list.
    pub const LIST: u8 = 8;
    /// Derivation by union.
    pub const UNION: u8 = 16;

    /// Whether any of `bits` is in the set.
    pub fn has(self, bits: u8) -> bool {
        self.0 & bits != 0
    }

    pub(crate) fn parse(tokens: &str, allowed: u8) -> Self {
        let mut bits = 0;
        for t in tokens.split_ascii_whitespace() {
            bits |= match t {
                "#all" => 0xff,
                "extension" => Self::EXTENSION,
                "restriction" => Self::RESTRICTION,
                "substitution" => Self::SUBSTITUTION,
                "list" => Self::LIST,
                "union" => Self::UNION,
                _ => 0,
            };
        }
        Self(bits & allowed)
    }
}

/// A default or fixed value constraint.
#[derive(Debug, Clone)]
pub struct ValueConstraint {
    /// `true` for `fixed`, `false` for `default`.
    pub fixed: bool,
    /// The lexical form as written in the schema.
    pub lexical: Box<str>,
    /// The value in the value space (None when the type is not simple or the value is invalid).
    pub value: Option<Value>,
}

/// Whether a simple value takes part in ID/IDREF checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdKind {
    /// Neither.
    #[default]
    None,
    /// `xs:ID` (or derived).
    Id,
    /// `xs:IDREF` (or derived).
    IdRef,
    /// A list of IDREFs.
    IdRefs,
}

/// An element declaration.
#[derive(Debug, Clone)]
pub struct ElementDecl {
    /// Expanded name.
    pub name: QNameId,
    /// Declared type.
    pub type_id: TypeId,
    /// `nillable="true"`.
    pub nillable: bool,
    /// `abstract="true"`.
    pub is_abstract: bool,
    /// Default or fixed value.
    pub value: Option<ValueConstraint>,
    /// Substitutions and `xsi:type` derivations this declaration blocks.
    pub block: Derivations,
    /// Derivations its substitution-group members may not use (`final`).
    pub final_: Derivations,
    /// Whether this is a global declaration.
    pub global: bool,
    /// Substitution-group head, if any.
    pub head: Option<ElemId>,
    /// Members that may appear in its place (transitive, non-abstract, not blocked).
    pub substitutes: Vec<(QNameId, ElemId)>,
    /// Identity constraints declared on this element.
    pub identity: Vec<u32>,
}

/// How a type was derived from its base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// By extension.
    Extension,
    /// By restriction (also the ur-type relation of built-ins).
    Restriction,
    /// By list.
    List,
    /// By union.
    Union,
}

impl Method {
    pub(crate) fn bit(self) -> u8 {
        match self {
            Self::Extension => Derivations::EXTENSION,
            Self::Restriction => Derivations::RESTRICTION,
            Self::List => Derivations::LIST,
            Self::Union => Derivations::UNION,
        }
    }
}

/// A type definition, simple or complex.
#[derive(Debug, Clone)]
pub struct TypeDef {
    /// Name, absent for anonymous types.
    pub name: Option<QNameId>,
    /// Base type (`anyType` is its own base).
    pub base: TypeId,
    /// How it was derived from `base`.
    pub method: Method,
    /// `abstract="true"` (complex types only).
    pub is_abstract: bool,
    /// Derivations this type forbids (`final`).
    pub final_: Derivations,
    /// Derivations this type blocks for `xsi:type` and substitution.
    pub block: Derivations,
    /// Simple or complex.
    pub kind: TypeKind,
}

/// Simple or complex.
#[derive(Debug, Clone)]
pub enum TypeKind {
    /// A simple type with its ID role.
    Simple(Arc<SimpleType>, IdKind),
    /// A complex type.
    Complex(ComplexType),
}

/// Namespace constraint of a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NsConstraint {
    /// `##any`.
    Any,
    /// `##other`: neither this namespace nor no namespace.
    Not(NsId),
    /// An explicit list (`##local` is 0).
    List(Vec<NsId>),
}

impl NsConstraint {
    /// Whether a name in namespace `ns` is allowed.
    pub fn allows(&self, ns: NsId) -> bool {
        match self {
            Self::Any => true,
            Self::Not(t) => ns != *t && ns != 0,
            Self::List(list) => list.contains(&ns),
        }
    }
}

/// `processContents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Process {
    /// Must be declared and valid.
    Strict,
    /// Validate if declared.
    Lax,
    /// Do not validate.
    Skip,
}

/// An element or attribute wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    /// Allowed namespaces.
    pub ns: NsConstraint,
    /// How matched items are validated.
    pub process: Process,
}

/// An attribute use of a complex type (or a global attribute declaration).
#[derive(Debug, Clone)]
pub struct AttrUse {
    /// Expanded name.
    pub name: QNameId,
    /// Its simple type.
    pub type_id: TypeId,
    /// `use="required"`.
    pub required: bool,
    /// Default or fixed value.
    pub value: Option<ValueConstraint>,
}

/// The content of a complex type.
#[derive(Debug, Clone)]
pub enum Content {
    /// No children, no text.
    Empty,
    /// Text of a simple type.
    Simple(TypeId),
    /// Child elements by a content model; text allowed if mixed.
    Elements {
        /// The compiled content model.
        model: ModelId,
        /// Mixed content.
        mixed: bool,
    },
}

/// A complex type definition.
#[derive(Debug, Clone)]
pub struct ComplexType {
    /// Effective attribute uses (inherited ones included, prohibited ones removed).
    pub attributes: Vec<AttrUse>,
    /// Attribute wildcard.
    pub attr_wildcard: Option<Wildcard>,
    /// Content.
    pub content: Content,
}

/// One identity constraint (`unique`, `key`, `keyref`).
#[derive(Debug, Clone)]
pub struct IdentityConstraint {
    /// Name (for messages and keyref resolution).
    pub name: QNameId,
    /// Which kind.
    pub category: IdcCategory,
    /// The selector.
    pub selector: super::identity::XPath,
    /// The fields.
    pub fields: Vec<super::identity::XPath>,
    /// The referenced key (keyref only).
    pub refer: Option<u32>,
}

/// Kind of identity constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdcCategory {
    /// `xs:unique`.
    Unique,
    /// `xs:key`.
    Key,
    /// `xs:keyref`.
    KeyRef,
}

/// The compiled, immutable schema set.
#[derive(Debug)]
pub struct Grammar {
    pub(crate) names: Names,
    pub(crate) elements: Vec<ElementDecl>,
    pub(crate) types: Vec<TypeDef>,
    pub(crate) models: Vec<Model>,
    pub(crate) identity: Vec<IdentityConstraint>,
    pub(crate) global_elements: NameMap<QNameId, ElemId>,
    pub(crate) global_types: NameMap<QNameId, TypeId>,
    pub(crate) global_attributes: NameMap<QNameId, AttrUse>,
    pub(crate) xsi_ns: NsId,
    /// Documentation texts, for human-readable views only (never read while validating).
    pub(crate) docs: Docs,
}

/// An enumeration value and its documentation.
pub type EnumDoc = (Box<str>, Box<str>);

/// The first `xs:documentation` of the schema's components (whitespace collapsed, capped in
/// length), kept beside the components so that validation does not carry them: for the
/// case-worker view (`render`), not for validation.
#[derive(Debug, Default)]
pub struct Docs {
    pub(crate) elements: NameMap<ElemId, Box<str>>,
    pub(crate) types: NameMap<TypeId, Box<str>>,
    /// By attribute name: the first declaration of that name with documentation.
    pub(crate) attributes: NameMap<QNameId, Box<str>>,
    /// Per simple type, its own enumeration values with their documentation (or appinfo).
    pub(crate) enums: NameMap<TypeId, Vec<EnumDoc>>,
}

impl Docs {
    /// Approximate heap bytes held (texts and table entries), for diagnostics.
    pub fn heap_bytes(&self) -> usize {
        let entry = size_of::<(u32, Box<str>)>() + 8;
        let texts = |m: &NameMap<u32, Box<str>>| m.values().map(|t| t.len() + entry).sum::<usize>();
        texts(&self.elements)
            + texts(&self.types)
            + texts(&self.attributes)
            + self
                .enums
                .values()
                .flat_map(|v| v.iter())
                .map(|(a, b)| a.len() + b.len() + 2 * size_of::<Box<str>>())
                .sum::<usize>()
    }
}

impl Grammar {
    /// The interning tables.
    pub fn names(&self) -> &Names {
        &self.names
    }

    /// An element declaration.
    pub fn element(&self, id: ElemId) -> &ElementDecl {
        &self.elements[id as usize]
    }

    /// A type definition.
    pub fn type_def(&self, id: TypeId) -> &TypeDef {
        &self.types[id as usize]
    }

    /// The global element declaration for a root element.
    pub fn root_element(&self, ns: &str, local: &str) -> Option<ElemId> {
        let q = self.names.lookup(self.names.ns_id(ns), local)?;
        self.global_elements.get(&q).copied()
    }

    /// Global element names (for listing message types).
    pub fn global_element_names(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.global_elements
            .keys()
            .map(|&q| (self.names.ns_uri(self.names.ns_of(q)), self.names.local(q)))
    }

    /// The documentation of an element declaration.
    pub fn element_doc(&self, id: ElemId) -> Option<&str> {
        self.docs.elements.get(&id).map(|d| &**d)
    }

    /// The documentation of a type definition.
    pub fn type_doc(&self, id: TypeId) -> Option<&str> {
        self.docs.types.get(&id).map(|d| &**d)
    }

    /// The documentation of an attribute declaration of this name.
    pub fn attribute_doc(&self, name: QNameId) -> Option<&str> {
        self.docs.attributes.get(&name).map(|d| &**d)
    }

    /// The documentation of an enumeration value of a simple type (or of the type it
    /// restricts, nearest first).
    pub fn enumeration_doc(&self, id: TypeId, value: &str) -> Option<&str> {
        let mut t = id;
        for _ in 0..64 {
            if let Some(list) = self.docs.enums.get(&t)
                && let Some((_, d)) = list.iter().find(|(v, _)| &**v == value)
            {
                return Some(d);
            }
            let def = self.types.get(t as usize)?;
            if def.base == t || def.method != Method::Restriction {
                return None;
            }
            t = def.base;
        }
        None
    }

    /// The documentation texts (for diagnostics: their memory).
    pub fn docs(&self) -> &Docs {
        &self.docs
    }

    /// Number of element declarations, types and content models (for diagnostics).
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.elements.len(), self.types.len(), self.models.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn grammar_is_shareable() {
        assert_send_sync::<Grammar>();
    }

    #[test]
    fn wildcard_other_excludes_target_and_absent() {
        let c = NsConstraint::Not(3);
        assert!(!c.allows(3));
        assert!(!c.allows(0));
        assert!(c.allows(UNKNOWN_NS));
    }
}
