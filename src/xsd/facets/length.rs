//! length, minLength, maxLength (§4.3.1–§4.3.3). Units: characters for strings and URIs,
//! octets for binary types, items for lists.

use super::{FacetError, FacetKind, FacetSet};
use crate::xsd::simple::SimpleTypeErrorKind;

/// The effective length facets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lengths {
    /// length.
    pub length: Option<u64>,
    /// minLength.
    pub min: Option<u64>,
    /// maxLength.
    pub max: Option<u64>,
}

/// Parse a nonNegativeInteger facet value (saturating: longer values than any text).
pub fn parse_count(facet: FacetKind, value: &str) -> Result<u64, FacetError> {
    let v = crate::xsd::datatypes::whitespace::trim(value);
    let digits = v.strip_prefix('+').unwrap_or(v);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(FacetError::InvalidValue {
            facet,
            value: value.into(),
            reason: "not a non-negative integer".into(),
        });
    }
    Ok(digits.parse().unwrap_or(u64::MAX))
}

fn conflict(facet: FacetKind, what: &'static str) -> FacetError {
    FacetError::Conflict { facet, what }
}

impl Lengths {
    /// Apply the facets of one restriction step to the base's.
    pub fn restrict(&self, new: Lengths, base_fixed: FacetSet) -> Result<Lengths, FacetError> {
        let mut out = *self;
        // XSD 1.0 2nd edition: length with minLength/maxLength in one step is an error, except
        // when they restate the base's value (the case the WG allowed for NMTOKENS/IDREFS).
        let restates = |new: Option<u64>, base: Option<u64>| new.is_none() || new == base;
        if new.length.is_some() && !(restates(new.min, self.min) && restates(new.max, self.max)) {
            return Err(conflict(
                FacetKind::Length,
                "length and minLength/maxLength in the same restriction",
            ));
        }
        if let Some(l) = new.length {
            if self.length.is_some_and(|b| b != l) {
                return Err(if base_fixed.contains(FacetKind::Length) {
                    FacetError::FixedChanged(FacetKind::Length)
                } else {
                    conflict(FacetKind::Length, "must equal the base type's length")
                });
            }
            out.length = Some(l);
        }
        if let Some(m) = new.min {
            if base_fixed.contains(FacetKind::MinLength) && self.min != Some(m) {
                return Err(FacetError::FixedChanged(FacetKind::MinLength));
            }
            if self.min.is_some_and(|b| m < b) {
                return Err(conflict(
                    FacetKind::MinLength,
                    "less than the base type's minLength",
                ));
            }
            out.min = Some(m);
        }
        if let Some(m) = new.max {
            if base_fixed.contains(FacetKind::MaxLength) && self.max != Some(m) {
                return Err(FacetError::FixedChanged(FacetKind::MaxLength));
            }
            if self.max.is_some_and(|b| m > b) {
                return Err(conflict(
                    FacetKind::MaxLength,
                    "greater than the base type's maxLength",
                ));
            }
            out.max = Some(m);
        }
        if let (Some(lo), Some(hi)) = (out.min, out.max)
            && lo > hi
        {
            return Err(conflict(
                FacetKind::MinLength,
                "minLength is greater than maxLength",
            ));
        }
        if let Some(l) = out.length {
            if out.min.is_some_and(|m| m > l) {
                return Err(conflict(FacetKind::Length, "length is less than minLength"));
            }
            if out.max.is_some_and(|m| m < l) {
                return Err(conflict(
                    FacetKind::Length,
                    "length is greater than maxLength",
                ));
            }
        }
        Ok(out)
    }

    /// Are there any length facets?
    pub fn is_empty(&self) -> bool {
        self.length.is_none() && self.min.is_none() && self.max.is_none()
    }

    /// Check a value's length in units.
    pub fn check(&self, units: usize) -> Result<(), SimpleTypeErrorKind> {
        let n = u64::try_from(units).unwrap_or(u64::MAX);
        if let Some(l) = self.length
            && n != l
        {
            return Err(SimpleTypeErrorKind::Length(l));
        }
        if let Some(m) = self.min
            && n < m
        {
            return Err(SimpleTypeErrorKind::MinLength(m));
        }
        if let Some(m) = self.max
            && n > m
        {
            return Err(SimpleTypeErrorKind::MaxLength(m));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restriction_rules() {
        let none = FacetSet::default();
        let base = Lengths {
            length: None,
            min: Some(2),
            max: Some(10),
        };
        let ok = base.restrict(
            Lengths {
                length: None,
                min: Some(3),
                max: Some(5),
            },
            none,
        );
        assert_eq!(
            ok,
            Ok(Lengths {
                length: None,
                min: Some(3),
                max: Some(5)
            })
        );
        assert!(
            base.restrict(
                Lengths {
                    min: Some(1),
                    ..Lengths::default()
                },
                none
            )
            .is_err()
        );
        assert!(
            base.restrict(
                Lengths {
                    max: Some(11),
                    ..Lengths::default()
                },
                none
            )
            .is_err()
        );
        assert!(
            base.restrict(
                Lengths {
                    min: Some(6),
                    max: Some(5),
                    length: None
                },
                none
            )
            .is_err()
        );
        assert!(
            base.restrict(
                Lengths {
                    length: Some(1),
                    ..Lengths::default()
                },
                none
            )
            .is_err()
        );
        assert!(
            base.restrict(
                Lengths {
                    length: Some(4),
                    ..Lengths::default()
                },
                none
            )
            .is_ok()
        );
        let mut fixed = FacetSet::default();
        fixed.insert(FacetKind::MaxLength);
        assert_eq!(
            base.restrict(
                Lengths {
                    max: Some(9),
                    ..Lengths::default()
                },
                fixed
            ),
            Err(FacetError::FixedChanged(FacetKind::MaxLength))
        );
        assert!(parse_count(FacetKind::Length, "-1").is_err());
        assert_eq!(parse_count(FacetKind::Length, " 5 "), Ok(5));
    }

    #[test]
    fn instance_checks() {
        let l = Lengths {
            length: None,
            min: Some(2),
            max: Some(3),
        };
        assert_eq!(l.check(2), Ok(()));
        assert_eq!(l.check(1), Err(SimpleTypeErrorKind::MinLength(2)));
        assert_eq!(l.check(4), Err(SimpleTypeErrorKind::MaxLength(3)));
        let exact = Lengths {
            length: Some(0),
            ..Lengths::default()
        };
        assert_eq!(exact.check(0), Ok(()));
        assert_eq!(exact.check(1), Err(SimpleTypeErrorKind::Length(0)));
    }
}
