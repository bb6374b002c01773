//! `transform` cases: an XML message → the schema-driven JSON (`xoev::transform`).
//!
//! Inputs: `schema`, `instance` and (for `json`) `output`. Expected: `{"result": "json"}` where
//! `output` is `{"message", "data", "binaries"}` (the message identity is an input of the transform
//! and is copied through), or `{"result": "invalid"}` when the document must not be transformed.

use serde_json::Value;

use super::{Case, Env, expected_str};
use crate::xoev::transform::{self, MessageIdentity};
use crate::xsd;

pub(super) fn run(env: &Env, case: &Case) -> Result<(), String> {
    let rel = case
        .inputs
        .get("schema")
        .ok_or("case has no input \"schema\"")?;
    let grammar = xsd::compile_file(&env.path(rel), &env.limits)
        .map_err(|e| format!("schema does not compile: {e}"))?;
    let instance = env.input(case, "instance")?;
    let (expected, message): (Option<Value>, MessageIdentity) = match expected_str(case, "result")?
    {
        "json" => {
            let out: Value = serde_json::from_slice(&env.input(case, "output")?)
                .map_err(|e| format!("output: {e}"))?;
            let message = serde_json::from_value(out["message"].clone())
                .map_err(|e| format!("output.message: {e}"))?;
            (Some(out), message)
        }
        "invalid" => (
            None,
            MessageIdentity {
                standard: "poststelle-test-vectors".into(),
                version: "1".into(),
                message_type: "antrag".into(),
                namespace: "urn:poststelle:test-vectors:antrag".into(),
                schema_uri: None,
                schema_pack: "test-vectors-antrag".into(),
                pass_through: false,
            },
        ),
        other => return Err(format!("unknown expected.result {other:?}")),
    };
    match (
        expected,
        transform::transform(&grammar, &message, instance.as_slice(), &env.limits),
    ) {
        (Some(expected), Ok(done)) => {
            let actual = done.to_json();
            if actual == expected {
                Ok(())
            } else {
                Err(format!("output differs: expected {expected}, got {actual}"))
            }
        }
        (None, Err(transform::TransformError::Invalid(_))) => Ok(()),
        (None, Ok(_)) => Err("expected the document to be refused, it was transformed".into()),
        (_, Err(e)) => Err(format!("transform failed: {e}")),
    }
}
