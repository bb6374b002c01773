//! `xsd` cases: an XML document validated against an XSD.
//!
//! Inputs: `schema` (the entry schema document) and `instance`. Expected: `{"result": "valid"}`
//! or `{"result": "invalid", "errors": [{"line", "column", "kind"}, …]}`: the first error reported
//! must be the first expected one, and every expected error must be reported, in this order.
//! Further follow-on errors are allowed: how a validator recovers after a content-model error is
//! not specified by XML Schema.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Case, Env, expected_str};
use crate::xsd::{self, Grammar, ValidationOptions};

/// Compiled grammars by schema path (many cases share one schema).
#[derive(Default)]
pub(super) struct GrammarCache(HashMap<String, Result<Grammar, String>>);

pub(super) fn run(env: &Env, case: &Case, cache: &mut GrammarCache) -> Result<(), String> {
    let rel = case
        .inputs
        .get("schema")
        .ok_or("case has no input \"schema\"")?;
    let grammar = cache
        .0
        .entry(rel.clone())
        .or_insert_with(|| {
            xsd::compile_file(&env.path(rel), &env.limits).map_err(|e| {
                e.errors()
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .as_ref()
        .map_err(|e| format!("schema does not compile: {e}"))?;
    let instance = env.input(case, "instance")?;
    let options = ValidationOptions::from_limits(&env.limits);
    let report = xsd::validate_bytes(grammar, &instance, &env.limits, &options);
    let actual: Vec<Value> = report
        .errors
        .iter()
        .map(|e| json!({"line": e.line, "column": e.column, "kind": e.kind.as_str()}))
        .collect();
    match expected_str(case, "result")? {
        "valid" if report.is_valid() => Ok(()),
        "valid" => Err(format!("expected valid, got {}", Value::Array(actual))),
        "invalid" => {
            let expected = case
                .expected
                .get("errors")
                .and_then(Value::as_array)
                .filter(|e| !e.is_empty())
                .ok_or("expected.errors missing or empty")?;
            let mut rest = actual.iter();
            let first_matches = actual.first() == expected.first();
            let all_found = expected.iter().all(|e| rest.any(|a| a == e));
            if first_matches && all_found {
                Ok(())
            } else {
                Err(format!(
                    "errors: expected {}, got {}",
                    Value::Array(expected.clone()),
                    Value::Array(actual)
                ))
            }
        }
        other => Err(format!("unknown expected.result {other:?}")),
    }
}
