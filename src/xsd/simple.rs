//! The compiled simple type: variety (atomic, list, union), whitespace rule and effective
//! facets, built once from the schema and shared (`Arc`) by the validator.
//!
//! [`SimpleType::validate`] runs the steps of XML Schema Part 2 in order: whiteSpace
//! normalisation, lexical space, then every facet on the value. [`SimpleType::check`] is the
//! same without building the value, so string-like types with patterns and enumerations
//! (most of XÖV) validate without allocating.
//!
//! Error messages name the violated facet and what was expected, never the instance value
//! (it may be personal data); [`SimpleTypeError::describe_with_value`] adds it on request.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use crate::xsd::datatypes::Decimal;
use crate::xsd::datatypes::decimal::integer_bounds;
use crate::xsd::datatypes::{
    Builtin, LexicalError, NsResolver, Value, WhiteSpace, check_string_lexical, parse_lexical,
    whitespace::collapse,
};
use crate::xsd::facets::bounds::{Bound, Bounds};
use crate::xsd::facets::digits::parse_digits;
use crate::xsd::facets::length::parse_count;
use crate::xsd::facets::{Digits, Enumeration, FacetError, FacetSet, Facets, Lengths};
use crate::xsd::regex::PatternBudget;

pub use crate::xsd::facets::FacetKind;

/// A facet as written in the schema.
#[derive(Clone, Copy)]
pub struct RawFacet<'a> {
    /// Which facet.
    pub kind: FacetKind,
    /// Its `value` attribute, as written.
    pub value: &'a str,
    /// Its `fixed` attribute.
    pub fixed: bool,
    /// Namespace bindings in scope at the facet (for QName-valued facets).
    pub ns: &'a dyn NsResolver,
}

impl std::fmt::Debug for RawFacet<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawFacet")
            .field("kind", &self.kind)
            .field("value", &self.value)
            .field("fixed", &self.fixed)
            .finish_non_exhaustive()
    }
}

/// The variety of a simple type.
#[derive(Clone, Debug)]
pub enum Variety {
    /// Atomic; the nearest built-in ancestor (its primitive is `Builtin::primitive`).
    Atomic(Builtin),
    /// A list of the item type.
    List(Arc<SimpleType>),
    /// A union of the member types, tried in order.
    Union(Vec<Arc<SimpleType>>),
}

/// A compiled simple type (immutable, `Send + Sync`).
#[derive(Clone, Debug)]
pub struct SimpleType {
    variety: Variety,
    builtin: Option<Builtin>,
    whitespace: WhiteSpace,
    facets: Facets,
}

/// What a value violates (see the `Display` texts).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimpleTypeErrorKind {
    /// Not in the lexical space of the built-in.
    Lexical(LexicalError),
    /// Does not match the pattern (its XSD source).
    Pattern(Arc<str>),
    /// Not one of this many enumerated values.
    Enumeration(usize),
    /// Length differs from this.
    Length(u64),
    /// Shorter than this.
    MinLength(u64),
    /// Longer than this.
    MaxLength(u64),
    /// Below this inclusive bound (schema text).
    MinInclusive(Arc<str>),
    /// Not above this exclusive bound.
    MinExclusive(Arc<str>),
    /// Above this inclusive bound.
    MaxInclusive(Arc<str>),
    /// Not below this exclusive bound.
    MaxExclusive(Arc<str>),
    /// More total digits than this.
    TotalDigits(u32),
    /// More fraction digits than this.
    FractionDigits(u32),
    /// No member type of the union (this many) accepts the value.
    NoUnionMember(usize),
}

/// A value that is not valid for a simple type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimpleTypeError {
    /// What is violated.
    pub kind: SimpleTypeErrorKind,
    /// For list types: the (0-based) item that is invalid.
    pub item: Option<usize>,
    unit: &'static str,
}

impl SimpleTypeError {
    fn new(kind: SimpleTypeErrorKind, unit: &'static str) -> Self {
        SimpleTypeError {
            kind,
            item: None,
            unit,
        }
    }

    /// The message with the offending value, for the explicit debug option only (the value
    /// may be personal data).
    pub fn describe_with_value(&self, value: &str) -> String {
        format!("{self} (value: {value:?})")
    }
}

impl std::fmt::Display for SimpleTypeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use SimpleTypeErrorKind as K;
        if let Some(i) = self.item {
            write!(f, "list item {}: ", i + 1)?;
        }
        let unit = self.unit;
        match &self.kind {
            K::Lexical(e) => write!(f, "{e}"),
            K::Pattern(p) if p.chars().count() <= 80 => {
                write!(f, "value must match the pattern {p:?}")
            }
            K::Pattern(p) => write!(
                f,
                "value must match the pattern of the type ({} characters, starting {:?}…)",
                p.chars().count(),
                p.chars().take(40).collect::<String>()
            ),
            K::Enumeration(1) => write!(f, "value must be the one enumerated value"),
            K::Enumeration(n) => write!(f, "value must be one of {n} enumerated values"),
            K::Length(n) => write!(f, "length must be exactly {n} {unit}"),
            K::MinLength(n) => write!(f, "length must be at least {n} {unit}"),
            K::MaxLength(n) => write!(f, "length must be at most {n} {unit}"),
            K::MinInclusive(b) => write!(f, "value must be at least {b}"),
            K::MinExclusive(b) => write!(f, "value must be greater than {b}"),
            K::MaxInclusive(b) => write!(f, "value must be at most {b}"),
            K::MaxExclusive(b) => write!(f, "value must be less than {b}"),
            K::TotalDigits(n) => write!(f, "value must have at most {n} total digits"),
            K::FractionDigits(n) => write!(f, "value must have at most {n} fraction digits"),
            K::NoUnionMember(n) => {
                write!(f, "value matches none of the {n} member types of the union")
            }
        }
    }
}

impl std::error::Error for SimpleTypeError {}

fn builtins() -> &'static [Arc<SimpleType>] {
    static ALL: OnceLock<Vec<Arc<SimpleType>>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut out: Vec<Arc<SimpleType>> = Vec::new();
        for b in Builtin::all() {
            let mut facets = Facets::default();
            if b.is_derived_from(Builtin::Integer) {
                facets.digits = Digits {
                    total: None,
                    fraction: Some(0),
                };
                facets.fixed.insert(FacetKind::FractionDigits);
                // The ranges as facets, so restrictions are checked against them.
                let (lo, hi) = integer_bounds(b);
                let bound = |v: i128| Bound {
                    value: Value::Decimal(Decimal::from_i128(v)),
                    inclusive: true,
                    lexical: v.to_string().into(),
                };
                facets.bounds = Bounds {
                    lower: lo.map(bound),
                    upper: hi.map(bound),
                };
            }
            let variety = match b.list_item() {
                Some(item) => {
                    facets.lengths = Lengths {
                        min: Some(1),
                        ..Lengths::default()
                    };
                    Variety::List(out[item as usize].clone())
                }
                None => Variety::Atomic(b),
            };
            out.push(Arc::new(SimpleType {
                variety,
                builtin: Some(b),
                whitespace: b.whitespace(),
                facets,
            }));
        }
        out
    })
}

fn applicable(variety: &Variety) -> (&'static [FacetKind], String) {
    use FacetKind as F;
    const LENGTHY: &[F] = &[
        F::Length,
        F::MinLength,
        F::MaxLength,
        F::Pattern,
        F::Enumeration,
        F::WhiteSpace,
    ];
    const ORDERED: &[F] = &[
        F::Pattern,
        F::Enumeration,
        F::WhiteSpace,
        F::MaxInclusive,
        F::MaxExclusive,
        F::MinInclusive,
        F::MinExclusive,
    ];
    const DECIMAL: &[F] = &[
        F::Pattern,
        F::Enumeration,
        F::WhiteSpace,
        F::MaxInclusive,
        F::MaxExclusive,
        F::MinInclusive,
        F::MinExclusive,
        F::TotalDigits,
        F::FractionDigits,
    ];
    match variety {
        Variety::List(_) => (LENGTHY, "a list type".into()),
        Variety::Union(_) => (&[F::Pattern, F::Enumeration], "a union type".into()),
        Variety::Atomic(b) => {
            let p = b.primitive();
            let set: &'static [F] = match p {
                Builtin::Boolean => &[F::Pattern, F::WhiteSpace],
                Builtin::Decimal => DECIMAL,
                Builtin::Float
                | Builtin::Double
                | Builtin::Duration
                | Builtin::DateTime
                | Builtin::Time
                | Builtin::Date
                | Builtin::GYearMonth
                | Builtin::GYear
                | Builtin::GMonthDay
                | Builtin::GDay
                | Builtin::GMonth => ORDERED,
                _ => LENGTHY,
            };
            (set, p.to_string())
        }
    }
}

fn contains_list(t: &SimpleType) -> bool {
    match &t.variety {
        Variety::List(_) => true,
        Variety::Union(m) => m.iter().any(|m| contains_list(m)),
        Variety::Atomic(_) => false,
    }
}

impl SimpleType {
    /// The built-in type (shared; built once per process).
    pub fn builtin(b: Builtin) -> Arc<SimpleType> {
        builtins()[b as usize].clone()
    }

    /// Derive by restriction, enforcing the schema-level facet rules of §4.3; pattern facets
    /// are compiled within the schema set's `budget`.
    pub fn restrict(
        base: &Arc<SimpleType>,
        facets: &[RawFacet<'_>],
        budget: &mut PatternBudget,
    ) -> Result<SimpleType, FacetError> {
        if matches!(base.variety, Variety::Atomic(Builtin::AnySimpleType)) && !facets.is_empty() {
            return Err(FacetError::AnySimpleType);
        }
        let (allowed, what) = applicable(&base.variety);
        let base_fixed = base.facets.fixed;
        let mut seen = FacetSet::default();
        let mut fixed = base_fixed;
        let mut lengths = Lengths::default();
        let mut digits = Digits::default();
        let (mut min, mut max) = ((None, None), (None, None));
        let mut whitespace = base.whitespace;
        let mut patterns = Vec::new();
        let mut enums = Vec::new();
        for f in facets {
            if !allowed.contains(&f.kind) {
                return Err(FacetError::NotApplicable {
                    facet: f.kind,
                    to: what,
                });
            }
            if !matches!(f.kind, FacetKind::Pattern | FacetKind::Enumeration)
                && seen.contains(f.kind)
            {
                return Err(FacetError::Duplicate(f.kind));
            }
            seen.insert(f.kind);
            if f.fixed {
                if matches!(f.kind, FacetKind::Pattern | FacetKind::Enumeration) {
                    return Err(FacetError::InvalidValue {
                        facet: f.kind,
                        value: f.value.into(),
                        reason: "pattern and enumeration have no fixed attribute".into(),
                    });
                }
                fixed.insert(f.kind);
            }
            match f.kind {
                FacetKind::Length => lengths.length = Some(parse_count(f.kind, f.value)?),
                FacetKind::MinLength => lengths.min = Some(parse_count(f.kind, f.value)?),
                FacetKind::MaxLength => lengths.max = Some(parse_count(f.kind, f.value)?),
                FacetKind::TotalDigits => digits.total = Some(parse_digits(f.kind, f.value)?),
                FacetKind::FractionDigits => digits.fraction = Some(parse_digits(f.kind, f.value)?),
                FacetKind::Pattern => patterns.push(f.value),
                FacetKind::Enumeration => enums.push(f),
                FacetKind::WhiteSpace => {
                    let w = WhiteSpace::from_lexical(&collapse(f.value)).ok_or_else(|| {
                        FacetError::InvalidValue {
                            facet: f.kind,
                            value: f.value.into(),
                            reason: "must be preserve, replace or collapse".into(),
                        }
                    })?;
                    if base_fixed.contains(FacetKind::WhiteSpace) && w != base.whitespace {
                        return Err(FacetError::FixedChanged(f.kind));
                    }
                    if w < base.whitespace {
                        return Err(FacetError::Conflict {
                            facet: f.kind,
                            what: "whiteSpace cannot be weakened",
                        });
                    }
                    whitespace = w;
                }
                FacetKind::MinInclusive => min.0 = Some(base.bound(f, true)?),
                FacetKind::MinExclusive => min.1 = Some(base.bound(f, false)?),
                FacetKind::MaxInclusive => max.0 = Some(base.bound(f, true)?),
                FacetKind::MaxExclusive => max.1 = Some(base.bound(f, false)?),
            }
        }
        let enumeration = if enums.is_empty() {
            base.facets.enumeration.clone()
        } else {
            let mut values = Vec::with_capacity(enums.len());
            for f in enums {
                let v = base
                    .validate(&whitespace.apply(f.value), f.ns)
                    .map_err(|e| FacetError::InvalidValue {
                        facet: FacetKind::Enumeration,
                        value: f.value.into(),
                        reason: format!("not in the value space of the base type: {e}"),
                    })?;
                values.push(v);
            }
            Some(Enumeration::new(values))
        };
        let facets = Facets {
            lengths: base.facets.lengths.restrict(lengths, base_fixed)?,
            patterns: base.facets.patterns.restrict(&patterns, budget)?,
            enumeration,
            bounds: base.facets.bounds.restrict(min, max, base_fixed)?,
            digits: base.facets.digits.restrict(digits, base_fixed)?,
            fixed,
        };
        Ok(SimpleType {
            variety: base.variety.clone(),
            builtin: base.builtin,
            whitespace,
            facets,
        })
    }

    /// Parse a bound facet's value in the value space of this (base) type's built-in.
    fn bound(&self, f: &RawFacet<'_>, inclusive: bool) -> Result<Bound, FacetError> {
        let Variety::Atomic(b) = self.variety else {
            return Err(FacetError::NotApplicable {
                facet: f.kind,
                to: "a list or union type".into(),
            });
        };
        let text = collapse(f.value);
        let value = parse_lexical(b, &text, f.ns).map_err(|e| FacetError::InvalidValue {
            facet: f.kind,
            value: f.value.into(),
            reason: e.to_string(),
        })?;
        Ok(Bound {
            value,
            inclusive,
            lexical: text.as_ref().into(),
        })
    }

    /// A list of `item` (which must not be a list or a union containing one).
    pub fn list_of(item: Arc<SimpleType>) -> Result<SimpleType, FacetError> {
        if contains_list(&item) {
            return Err(FacetError::ListOfList);
        }
        Ok(SimpleType {
            variety: Variety::List(item),
            builtin: None,
            whitespace: WhiteSpace::Collapse,
            facets: Facets::default(),
        })
    }

    /// A union of `members`, tried in order.
    pub fn union_of(members: Vec<Arc<SimpleType>>) -> SimpleType {
        let whitespace = if members.iter().all(|m| m.whitespace == WhiteSpace::Collapse) {
            WhiteSpace::Collapse
        } else {
            WhiteSpace::Preserve
        };
        SimpleType {
            variety: Variety::Union(members),
            builtin: None,
            whitespace,
            facets: Facets::default(),
        }
    }

    /// The variety.
    pub fn variety(&self) -> &Variety {
        &self.variety
    }

    /// The whiteSpace facet. For unions (which have none) `Collapse` when every member
    /// collapses, else `Preserve` (each member then normalises for itself).
    pub fn whitespace(&self) -> WhiteSpace {
        self.whitespace
    }

    /// The primitive type of an atomic type (`None` for list and union).
    pub fn primitive(&self) -> Option<Builtin> {
        match self.variety {
            Variety::Atomic(b) => Some(b.primitive()),
            _ => None,
        }
    }

    /// The nearest built-in ancestor: for atomic types, and for restrictions of the
    /// built-in lists (NMTOKENS, IDREFS, ENTITIES); `None` for user-defined lists and unions.
    pub fn builtin_base(&self) -> Option<Builtin> {
        self.builtin
    }

    /// The effective facets.
    pub fn facets(&self) -> &Facets {
        &self.facets
    }

    /// Normalise only (for fixed/default comparisons and keeping normalised text).
    pub fn normalize<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.whitespace.apply(text)
    }

    /// Validate a lexical form as it appears in the instance: normalise, check the lexical
    /// space and every facet, return the value.
    pub fn validate(&self, text: &str, ns: &dyn NsResolver) -> Result<Value, SimpleTypeError> {
        let norm = self.normalize(text);
        let v = self.validate_normalized(&norm, ns, true)?;
        Ok(v.unwrap_or_else(|| Value::String(norm.as_ref().into())))
    }

    /// Validate without building the value (no allocation for string-like types whose
    /// text needs no whitespace changes).
    pub fn check(&self, text: &str, ns: &dyn NsResolver) -> Result<(), SimpleTypeError> {
        let norm = self.normalize(text);
        self.validate_normalized(&norm, ns, false).map(drop)
    }

    fn validate_normalized(
        &self,
        s: &str,
        ns: &dyn NsResolver,
        want: bool,
    ) -> Result<Option<Value>, SimpleTypeError> {
        match &self.variety {
            Variety::Atomic(b) => self.atomic(*b, s, ns, want),
            Variety::List(item) => self.list(item, s, ns, want),
            Variety::Union(members) => self.union(members, s, ns, want),
        }
    }

    fn atomic(
        &self,
        b: Builtin,
        s: &str,
        ns: &dyn NsResolver,
        want: bool,
    ) -> Result<Option<Value>, SimpleTypeError> {
        let f = &self.facets;
        let prim = b.primitive();
        if matches!(
            prim,
            Builtin::String | Builtin::AnyURI | Builtin::AnySimpleType
        ) {
            let err = |k| SimpleTypeError::new(k, "characters");
            check_string_lexical(b, s).map_err(|e| err(SimpleTypeErrorKind::Lexical(e)))?;
            f.patterns.check(s).map_err(err)?;
            if !f.lengths.is_empty() {
                f.lengths.check(s.chars().count()).map_err(err)?;
            }
            let value = || {
                if prim == Builtin::AnyURI {
                    Value::AnyUri(s.into())
                } else {
                    Value::String(s.into())
                }
            };
            if let Some(e) = &f.enumeration {
                let found = match e.contains_text(s) {
                    Some(found) => found,
                    None => e.contains(&value()),
                };
                if !found {
                    return Err(err(SimpleTypeErrorKind::Enumeration(e.len())));
                }
            }
            return Ok(want.then(value));
        }
        let err = |k| SimpleTypeError::new(k, "octets");
        let value = parse_lexical(b, s, ns).map_err(|e| err(SimpleTypeErrorKind::Lexical(e)))?;
        f.patterns.check(s).map_err(err)?;
        if !f.lengths.is_empty()
            && let Some(n) = value.length_units()
        {
            f.lengths.check(n).map_err(err)?;
        }
        if let Some(e) = &f.enumeration
            && !e.contains(&value)
        {
            return Err(err(SimpleTypeErrorKind::Enumeration(e.len())));
        }
        f.bounds.check(&value).map_err(err)?;
        if let Value::Decimal(d) = &value {
            f.digits.check(d).map_err(err)?;
        }
        Ok(Some(value))
    }

    fn list(
        &self,
        item: &SimpleType,
        s: &str,
        ns: &dyn NsResolver,
        want: bool,
    ) -> Result<Option<Value>, SimpleTypeError> {
        let f = &self.facets;
        let err = |k| SimpleTypeError::new(k, "items");
        let need_values = want || f.enumeration.is_some();
        let mut values = Vec::new();
        let mut count = 0;
        for (i, token) in s.split(' ').filter(|t| !t.is_empty()).enumerate() {
            let norm = item.normalize(token);
            let v = item
                .validate_normalized(&norm, ns, need_values)
                .map_err(|mut e| {
                    e.item.get_or_insert(i);
                    e
                })?;
            if need_values {
                values.push(v.unwrap_or_else(|| Value::String(token.into())));
            }
            count += 1;
        }
        f.lengths.check(count).map_err(err)?;
        f.patterns.check(s).map_err(err)?;
        let value = Value::List(values.into_boxed_slice());
        if let Some(e) = &f.enumeration
            && !e.contains(&value)
        {
            return Err(err(SimpleTypeErrorKind::Enumeration(e.len())));
        }
        Ok(want.then_some(value))
    }

    fn union(
        &self,
        members: &[Arc<SimpleType>],
        s: &str,
        ns: &dyn NsResolver,
        want: bool,
    ) -> Result<Option<Value>, SimpleTypeError> {
        let f = &self.facets;
        let err = |k| SimpleTypeError::new(k, "characters");
        let need_value = want || f.enumeration.is_some();
        let mut accepted = None;
        for m in members {
            let norm = m.normalize(s);
            if let Ok(v) = m.validate_normalized(&norm, ns, need_value) {
                f.patterns.check(&norm).map_err(err)?;
                accepted =
                    Some(v.or_else(|| need_value.then(|| Value::String(norm.as_ref().into()))));
                break;
            }
        }
        let Some(value) = accepted else {
            return Err(err(SimpleTypeErrorKind::NoUnionMember(members.len())));
        };
        if let (Some(e), Some(v)) = (&f.enumeration, &value)
            && !e.contains(v)
        {
            return Err(err(SimpleTypeErrorKind::Enumeration(e.len())));
        }
        Ok(value)
    }
}

#[cfg(test)]
mod tests;
