//! pattern (§4.3.4): patterns of one derivation step are ORed into one automaton, the
//! automata of different steps are ANDed. Patterns apply to the normalised lexical form.

use crate::config::XsdLimits;
use crate::xsd::regex::{CompiledPattern, compile_any};
use crate::xsd::simple::SimpleTypeErrorKind;

use super::FacetError;

/// The pattern automata of all derivation steps.
#[derive(Clone, Debug, Default)]
pub struct Patterns {
    steps: Vec<CompiledPattern>,
}

impl Patterns {
    /// Add the patterns of one restriction step (no-op when empty).
    pub fn restrict(&self, step: &[&str], limits: &XsdLimits) -> Result<Patterns, FacetError> {
        let mut out = self.clone();
        if !step.is_empty() {
            out.steps.push(compile_any(step, limits)?);
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

    #[test]
    fn or_within_and_across_steps() {
        let limits = XsdLimits::default();
        let p = Patterns::default()
            .restrict(&["[a-z]+", "[0-9]+"], &limits)
            .and_then(|p| p.restrict(&[".{2}"], &limits))
            .expect("patterns compile");
        assert_eq!(p.check("ab"), Ok(()));
        assert_eq!(p.check("12"), Ok(()));
        assert!(p.check("a1").is_err());
        assert!(p.check("abc").is_err());
    }
}
