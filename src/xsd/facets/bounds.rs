//! minInclusive, minExclusive, maxInclusive, maxExclusive (§4.3.7–§4.3.10). Values compare
//! in the value space with [`Value::partial_cmp_xsd`]; an indeterminate comparison (dateTime
//! with and without timezone, NaN, incomparable durations) does not satisfy a bound.

use std::cmp::Ordering;
use std::sync::Arc;

use super::{FacetError, FacetKind, FacetSet};
use crate::xsd::datatypes::Value;
use crate::xsd::simple::SimpleTypeErrorKind;

/// One bound: the value, whether it is inclusive, and its schema text for messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bound {
    /// The bound in the value space.
    pub value: Value,
    /// Inclusive (min/maxInclusive) or exclusive.
    pub inclusive: bool,
    /// The value as written in the schema (schema data, used in error messages).
    pub lexical: Arc<str>,
}

/// The effective lower and upper bounds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bounds {
    /// minInclusive or minExclusive.
    pub lower: Option<Bound>,
    /// maxInclusive or maxExclusive.
    pub upper: Option<Bound>,
}

fn kind(lower: bool, inclusive: bool) -> FacetKind {
    match (lower, inclusive) {
        (true, true) => FacetKind::MinInclusive,
        (true, false) => FacetKind::MinExclusive,
        (false, true) => FacetKind::MaxInclusive,
        (false, false) => FacetKind::MaxExclusive,
    }
}

/// Is `lo` .. `hi` consistent (§4.3.7.4 etc.): both inclusive or both exclusive allow equal
/// values; mixed ones need `lo < hi`.
fn ordered(lo: &Bound, hi: &Bound) -> bool {
    match lo.value.partial_cmp_xsd(&hi.value) {
        Some(Ordering::Less) => true,
        Some(Ordering::Equal) => lo.inclusive == hi.inclusive,
        _ => false,
    }
}

/// Is `new` at least as tight as `base` on the same side?
fn not_looser(new: &Bound, base: &Bound, lower: bool) -> bool {
    let want = if lower {
        Ordering::Greater
    } else {
        Ordering::Less
    };
    match new.value.partial_cmp_xsd(&base.value) {
        Some(o) if o == want => true,
        Some(Ordering::Equal) => !new.inclusive || base.inclusive,
        _ => false,
    }
}

impl Bounds {
    /// Apply one restriction step; `inclusive`/`exclusive` are the step's own facets.
    pub fn restrict(
        &self,
        min: (Option<Bound>, Option<Bound>),
        max: (Option<Bound>, Option<Bound>),
        base_fixed: FacetSet,
    ) -> Result<Bounds, FacetError> {
        let mut out = self.clone();
        let mut stepped = [false; 2];
        for (lower, (incl, excl)) in [(true, min), (false, max)] {
            let new = match (incl, excl) {
                (Some(_), Some(_)) => {
                    return Err(FacetError::Conflict {
                        facet: kind(lower, true),
                        what: "inclusive and exclusive bound in one restriction",
                    });
                }
                (Some(b), None) | (None, Some(b)) => b,
                (None, None) => continue,
            };
            let facet = kind(lower, new.inclusive);
            let base = if lower { &self.lower } else { &self.upper };
            if let Some(b) = base {
                if base_fixed.contains(kind(lower, b.inclusive))
                    && (b.inclusive != new.inclusive || b.value != new.value)
                {
                    return Err(FacetError::FixedChanged(kind(lower, b.inclusive)));
                }
                if !not_looser(&new, b, lower) {
                    return Err(FacetError::Conflict {
                        facet,
                        what: "looser than the base type's bound",
                    });
                }
            }
            stepped[usize::from(!lower)] = true;
            if lower {
                out.lower = Some(new)
            } else {
                out.upper = Some(new)
            }
        }
        if let (Some(lo), Some(hi)) = (&out.lower, &out.upper) {
            if !ordered(lo, hi) {
                return Err(FacetError::Conflict {
                    facet: kind(true, lo.inclusive),
                    what: "lower bound is not below the upper bound",
                });
            }
            // Two exclusive bounds may be equal when one restriction step gives both
            // (minExclusive <= maxExclusive, §4.3.9.4), not when an exclusive bound meets the
            // base type's opposite exclusive bound (minExclusive and maxExclusive valid
            // restriction: "greater than or equal to" / "less than or equal to").
            if !lo.inclusive && !hi.inclusive && stepped[0] != stepped[1] {
                let facet = kind(stepped[0], false);
                if lo.value.partial_cmp_xsd(&hi.value) == Some(Ordering::Equal) {
                    return Err(FacetError::Conflict {
                        facet,
                        what: "equal to the base type's opposite exclusive bound",
                    });
                }
            }
        }
        Ok(out)
    }

    /// Are there any bounds?
    pub fn is_empty(&self) -> bool {
        self.lower.is_none() && self.upper.is_none()
    }

    /// Check a value against the bounds.
    pub fn check(&self, v: &Value) -> Result<(), SimpleTypeErrorKind> {
        if let Some(b) = &self.lower {
            let ok = match v.partial_cmp_xsd(&b.value) {
                Some(Ordering::Greater) => true,
                Some(Ordering::Equal) => b.inclusive,
                _ => false,
            };
            if !ok {
                return Err(if b.inclusive {
                    SimpleTypeErrorKind::MinInclusive(b.lexical.clone())
                } else {
                    SimpleTypeErrorKind::MinExclusive(b.lexical.clone())
                });
            }
        }
        if let Some(b) = &self.upper {
            let ok = match v.partial_cmp_xsd(&b.value) {
                Some(Ordering::Less) => true,
                Some(Ordering::Equal) => b.inclusive,
                _ => false,
            };
            if !ok {
                return Err(if b.inclusive {
                    SimpleTypeErrorKind::MaxInclusive(b.lexical.clone())
                } else {
                    SimpleTypeErrorKind::MaxExclusive(b.lexical.clone())
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xsd::datatypes::Decimal;

    fn b(s: &str, inclusive: bool) -> Bound {
        let d = Decimal::parse(s).expect("valid in test");
        Bound {
            value: Value::Decimal(d),
            inclusive,
            lexical: s.into(),
        }
    }

    #[test]
    fn restriction_rules() {
        let none = FacetSet::default();
        let base = Bounds {
            lower: Some(b("0", true)),
            upper: Some(b("10", false)),
        };
        assert!(
            base.restrict((Some(b("0", true)), None), (None, None), none)
                .is_ok()
        );
        assert!(
            base.restrict((None, Some(b("0", false))), (None, None), none)
                .is_ok()
        );
        assert!(
            base.restrict((Some(b("-1", true)), None), (None, None), none)
                .is_err()
        );
        assert!(
            base.restrict((None, None), (Some(b("10", true)), None), none)
                .is_err()
        );
        assert!(
            base.restrict((None, None), (None, Some(b("10", false))), none)
                .is_ok()
        );
        assert!(
            base.restrict((Some(b("10", true)), None), (None, None), none)
                .is_err()
        );
        assert!(
            base.restrict(
                (Some(b("1", true)), Some(b("1", false))),
                (None, None),
                none
            )
            .is_err()
        );
        let e = Bounds::default();
        assert!(
            e.restrict((Some(b("5", true)), None), (Some(b("5", true)), None), none)
                .is_ok()
        );
        assert!(
            e.restrict(
                (Some(b("5", true)), None),
                (None, Some(b("5", false))),
                none
            )
            .is_err()
        );
        assert!(
            e.restrict((Some(b("6", true)), None), (Some(b("5", true)), None), none)
                .is_err()
        );
    }

    /// W3C msData int_minExclusive006i: equal exclusive bounds are allowed in one step, not
    /// against the base type's opposite exclusive bound (either side).
    #[test]
    fn an_exclusive_bound_may_not_meet_the_base_types_opposite_exclusive_bound() {
        let none = FacetSet::default();
        let e = Bounds::default();
        let same_step = e.restrict(
            (None, Some(b("10", false))),
            (None, Some(b("10", false))),
            none,
        );
        assert!(same_step.is_ok(), "{same_step:?}");
        let upper = Bounds {
            lower: None,
            upper: Some(b("10", false)),
        };
        assert!(matches!(
            upper.restrict((None, Some(b("10", false))), (None, None), none),
            Err(FacetError::Conflict {
                facet: FacetKind::MinExclusive,
                ..
            })
        ));
        assert!(
            upper
                .restrict((None, Some(b("9", false))), (None, None), none)
                .is_ok()
        );
        // Inclusive on one side: equal is the ordinary mixed-bounds error.
        assert!(
            upper
                .restrict((Some(b("10", true)), None), (None, None), none)
                .is_err()
        );
        let lower = Bounds {
            lower: Some(b("3", false)),
            upper: None,
        };
        assert!(matches!(
            lower.restrict((None, None), (None, Some(b("3", false))), none),
            Err(FacetError::Conflict {
                facet: FacetKind::MaxExclusive,
                ..
            })
        ));
        // Both bounds inherited: nothing new to judge.
        let both = same_step.expect("checked");
        assert!(both.restrict((None, None), (None, None), none).is_ok());
    }

    #[test]
    fn instance_checks() {
        let r = Bounds {
            lower: Some(b("0", false)),
            upper: Some(b("1.5", true)),
        };
        let v = |s: &str| Value::Decimal(Decimal::parse(s).expect("valid in test"));
        assert_eq!(r.check(&v("1.50")), Ok(()));
        assert_eq!(r.check(&v("0.0001")), Ok(()));
        assert_eq!(
            r.check(&v("0")),
            Err(SimpleTypeErrorKind::MinExclusive("0".into()))
        );
        assert_eq!(
            r.check(&v("1.51")),
            Err(SimpleTypeErrorKind::MaxInclusive("1.5".into()))
        );
    }
}
