//! pattern (§4.3.4): patterns of one derivation step are ORed into one automaton, the
//! automata of different steps are ANDed. Patterns apply to the normalised lexical form.

use crate::xsd::regex::{CompiledPattern, PatternBudget};
use crate::xsd::simple::SimpleTypeErrorKind;

use super::FacetError;

/// The pattern automata of all derivation steps.
#[derive(Clone, Debug, Default)]
pub struct Patterns {
    steps: Vec<CompiledPattern>,
}

impl Patterns {
    /// Add the patterns of one restriction step (no-op when empty), compiled within the
    /// schema set's budget.
    pub fn restrict(
        &self,
        step: &[&str],
        budget: &mut PatternBudget,
    ) -> Result<Patterns, FacetError> {
        let mut out = self.clone();
        if !step.is_empty() {
            out.steps.push(budget.compile_any(step)?);
        }
        Ok(out)
    }

    /// Are there any patterns?
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Check a normalised lexical form.
    pub fn check(&self, lexical: &str) -> Result<(), SimpleTypeErrorKind> {
        for p in &self.steps {
            if !p.is_match(lexical) {
                return Err(SimpleTypeErrorKind::Pattern(p.shared_source()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::XsdLimits;

    #[test]
    fn or_within_and_across_steps() {
        let mut budget = PatternBudget::new(&XsdLimits::default());
        let p = Patterns::default()
            .restrict(&["[a-z]+", "[0-9]+"], &mut budget)
            .and_then(|p| p.restrict(&[".{2}"], &mut budget))
            .expect("patterns compile");
        assert_eq!(p.check("ab"), Ok(()));
        assert_eq!(p.check("12"), Ok(()));
        assert!(p.check("a1").is_err());
        assert!(p.check("abc").is_err());
    }
}
