//! `metadata` cases: a decrypted metadata document validated against the schema its
//! `$schema` names (absent: 1.0.0). Every version the project has a schema for is enabled,
//! the 2.1.0 reconstruction included: the vectors state the rules, not the gateway's default.
//!
//! Expected: `{"result": "valid", "version": "1.0.0" | "2.0.0" | "2.1.0"}` or
//! `{"result": "error", "problem": <problem type id>, "pointer": <JSON pointer of one
//! violation, optional>}`.

use super::{Case, Env, expected_str, same};
use crate::fitconnect::metadata::{MetadataError, MetadataValidator};

pub(super) fn run(env: &Env, case: &Case) -> Result<(), String> {
    static VALIDATOR: std::sync::OnceLock<MetadataValidator> = std::sync::OnceLock::new();
    let validator = VALIDATOR.get_or_init(|| MetadataValidator::with_unconfirmed(true));
    let bytes = env.input(case, "document")?;
    match (expected_str(case, "result")?, validator.validate(&bytes)) {
        ("valid", Ok(meta)) => same("version", expected_str(case, "version")?, meta.version),
        ("error", Err(err)) => {
            let problem = &err.failure().problem_type().id;
            same("problem", expected_str(case, "problem")?, problem)?;
            if let Some(pointer) = case.expected.get("pointer").and_then(|p| p.as_str()) {
                let MetadataError::SchemaViolation { violations, .. } = &err else {
                    return Err(format!("expected a violation at {pointer}, got {err}"));
                };
                if !violations.iter().any(|v| v.pointer == pointer) {
                    return Err(format!("expected a violation at {pointer}, got {err}"));
                }
            }
            Ok(())
        }
        ("valid", Err(err)) => Err(format!("expected valid, got {err}")),
        ("error", Ok(_)) => Err("expected an error, the metadata are valid".into()),
        (other, _) => Err(format!("unknown expected.result {other:?}")),
    }
}
