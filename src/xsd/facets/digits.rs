//! totalDigits and fractionDigits (§4.3.11, §4.3.12), counted on the value: `0.10` has one
//! fraction digit, `0.012` has two total digits.

use super::{FacetError, FacetKind, FacetSet};
use crate::xsd::datatypes::Decimal;
use crate::xsd::simple::SimpleTypeErrorKind;

/// The effective digit facets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digits {
    /// totalDigits.
    pub total: Option<u32>,
    /// fractionDigits.
    pub fraction: Option<u32>,
}

/// Parse a facet value: a positiveInteger for totalDigits, nonNegativeInteger otherwise.
pub fn parse_digits(facet: FacetKind, value: &str) -> Result<u32, FacetError> {
    let n = super::length::parse_count(facet, value)?;
    if facet == FacetKind::TotalDigits && n == 0 {
        return Err(FacetError::InvalidValue {
            facet,
            value: value.into(),
            reason: "totalDigits must be positive".into(),
        });
    }
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

impl Digits {
    /// Apply one restriction step.
    pub fn restrict(&self, new: Digits, base_fixed: FacetSet) -> Result<Digits, FacetError> {
        let mut out = *self;
        for (facet, base, new, slot) in [
            (
                FacetKind::TotalDigits,
                self.total,
                new.total,
                &mut out.total,
            ),
            (
                FacetKind::FractionDigits,
                self.fraction,
                new.fraction,
                &mut out.fraction,
            ),
        ] {
            if let Some(n) = new {
                if base_fixed.contains(facet) && base != Some(n) {
                    return Err(FacetError::FixedChanged(facet));
                }
                if base.is_some_and(|b| n > b) {
                    return Err(FacetError::Conflict {
                        facet,
                        what: "greater than in the base type",
                    });
                }
                *slot = Some(n);
            }
        }
        if let (Some(t), Some(f)) = (out.total, out.fraction)
            && f > t
        {
            return Err(FacetError::Conflict {
                facet: FacetKind::FractionDigits,
                what: "fractionDigits is greater than totalDigits",
            });
        }
        Ok(out)
    }

    /// Check a decimal value.
    pub fn check(&self, v: &Decimal) -> Result<(), SimpleTypeErrorKind> {
        if let Some(f) = self.fraction
            && v.fraction_digits() > f
        {
            return Err(SimpleTypeErrorKind::FractionDigits(f));
        }
        if let Some(t) = self.total
            && v.total_digits() > t
        {
            return Err(SimpleTypeErrorKind::TotalDigits(t));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::parse(s).expect("valid in test")
    }

    #[test]
    fn counts_on_the_value() {
        let two = Digits {
            total: Some(3),
            fraction: Some(1),
        };
        assert_eq!(two.check(&d("12.30")), Ok(()));
        assert_eq!(two.check(&d("0.10")), Ok(()));
        assert_eq!(two.check(&d("00123.0")), Ok(()));
        assert_eq!(
            two.check(&d("1.25")),
            Err(SimpleTypeErrorKind::FractionDigits(1))
        );
        assert_eq!(
            two.check(&d("1234")),
            Err(SimpleTypeErrorKind::TotalDigits(3))
        );
        assert!(parse_digits(FacetKind::TotalDigits, "0").is_err());
        assert_eq!(parse_digits(FacetKind::FractionDigits, "0"), Ok(0));
    }

    #[test]
    fn restriction_rules() {
        let base = Digits {
            total: Some(5),
            fraction: Some(2),
        };
        let none = FacetSet::default();
        assert!(
            base.restrict(
                Digits {
                    total: Some(6),
                    fraction: None
                },
                none
            )
            .is_err()
        );
        assert!(
            base.restrict(
                Digits {
                    total: None,
                    fraction: Some(3)
                },
                none
            )
            .is_err()
        );
        assert!(
            base.restrict(
                Digits {
                    total: Some(1),
                    fraction: None
                },
                none
            )
            .is_err()
        );
        assert!(
            base.restrict(
                Digits {
                    total: Some(4),
                    fraction: Some(1)
                },
                none
            )
            .is_ok()
        );
    }
}
