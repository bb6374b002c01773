//! Constraining facets (XML Schema Part 2, §4.3): their schema-level rules (applicability,
//! valid restriction of the base's facets, consistency) and their instance checks.
//!
//! Facets are compiled once per simple type: patterns to automata, enumerations to hash
//! sets of values, bounds to values. Each family lives in its own file; [`Facets`] is the
//! effective set of a type (its own facets plus the inherited ones).

pub mod bounds;
pub mod digits;
pub mod enumeration;
pub mod length;
pub mod pattern;

use crate::xsd::regex::RegexError;

pub use bounds::{Bound, Bounds};
pub use digits::Digits;
pub use enumeration::Enumeration;
pub use length::Lengths;
pub use pattern::Patterns;

/// The constraining facets of XSD 1.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // each variant is the facet of the same name
pub enum FacetKind {
    Length,
    MinLength,
    MaxLength,
    Pattern,
    Enumeration,
    WhiteSpace,
    MaxInclusive,
    MaxExclusive,
    MinInclusive,
    MinExclusive,
    TotalDigits,
    FractionDigits,
}

impl FacetKind {
    /// The facet's element name in a schema (`minLength`, …).
    pub fn name(self) -> &'static str {
        match self {
            FacetKind::Length => "length",
            FacetKind::MinLength => "minLength",
            FacetKind::MaxLength => "maxLength",
            FacetKind::Pattern => "pattern",
            FacetKind::Enumeration => "enumeration",
            FacetKind::WhiteSpace => "whiteSpace",
            FacetKind::MaxInclusive => "maxInclusive",
            FacetKind::MaxExclusive => "maxExclusive",
            FacetKind::MinInclusive => "minInclusive",
            FacetKind::MinExclusive => "minExclusive",
            FacetKind::TotalDigits => "totalDigits",
            FacetKind::FractionDigits => "fractionDigits",
        }
    }

    /// The facet for an element name in the XSD namespace.
    pub fn from_name(name: &str) -> Option<FacetKind> {
        use FacetKind as F;
        [
            F::Length,
            F::MinLength,
            F::MaxLength,
            F::Pattern,
            F::Enumeration,
            F::WhiteSpace,
            F::MaxInclusive,
            F::MaxExclusive,
            F::MinInclusive,
            F::MinExclusive,
            F::TotalDigits,
            F::FractionDigits,
        ]
        .into_iter()
        .find(|f| f.name() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl std::fmt::Display for FacetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A set of facet kinds (which facets are `fixed="true"`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FacetSet(u16);

impl FacetSet {
    /// Add a facet.
    pub fn insert(&mut self, f: FacetKind) {
        self.0 |= f.bit();
    }
    /// Is the facet in the set?
    pub fn contains(self, f: FacetKind) -> bool {
        self.0 & f.bit() != 0
    }
}

/// A facet in a schema breaks the rules of §4.3 (a schema error; facet values are schema
/// data, not personal data, and may appear in the message).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FacetError {
    /// The facet does not apply to the base type's variety or primitive.
    #[error("facet {facet} is not applicable to {to}")]
    NotApplicable {
        /// The facet.
        facet: FacetKind,
        /// What it was applied to (a built-in, "a list type", "a union type").
        to: String,
    },
    /// The facet appears twice in one restriction.
    #[error("facet {0} is given more than once")]
    Duplicate(FacetKind),
    /// The facet's value is not valid (wrong lexical form or outside the base's value space).
    #[error("value {value:?} of facet {facet} is invalid: {reason}")]
    InvalidValue {
        /// The facet.
        facet: FacetKind,
        /// The value as written.
        value: String,
        /// Why.
        reason: String,
    },
    /// The base type fixes this facet and the restriction changes it.
    #[error("facet {0} is fixed in the base type and cannot be changed")]
    FixedChanged(FacetKind),
    /// The restriction contradicts itself or loosens the base type.
    #[error("facet {facet}: {what}")]
    Conflict {
        /// The facet that caused the conflict.
        facet: FacetKind,
        /// What conflicts.
        what: &'static str,
    },
    /// A pattern is not a valid XSD regular expression.
    #[error("facet pattern: {0}")]
    Pattern(#[from] RegexError),
    /// A list's item type must be atomic or a union of atomic types.
    #[error("the item type of a list must not be a list (or a union containing a list)")]
    ListOfList,
    /// Restricting anySimpleType with facets is not allowed in XSD 1.0.
    #[error("xs:anySimpleType cannot be restricted by facets")]
    AnySimpleType,
}

/// The effective facets of a simple type.
#[derive(Clone, Debug, Default)]
pub struct Facets {
    /// length, minLength, maxLength.
    pub lengths: Lengths,
    /// Patterns of every derivation step (all must match).
    pub patterns: Patterns,
    /// The innermost enumeration (each step's is a subset of its base's).
    pub enumeration: Option<Enumeration>,
    /// min/max inclusive/exclusive.
    pub bounds: Bounds,
    /// totalDigits, fractionDigits.
    pub digits: Digits,
    /// Facets fixed by some ancestor.
    pub fixed: FacetSet,
}
