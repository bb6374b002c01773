//! `json` cases: a JSON Fachdaten document checked against a JSON schema pack (FIM-style).
//!
//! Inputs: `pack` (a directory of JSON Schemas) and, except for cases about the pack itself,
//! `document`. The document is read by the strict reader within the default `[limits.json]`,
//! its schema is the one its `$schema` names (as a sender declares it in the metadata), and it
//! is validated against the pack's schema of that `$id`. Expected (see the README):
//! `{"result": "valid"}`, `{"result": "invalid", "violations": [{"pointer", "keyword"}]}` (the
//! exact set), `{"result": "refused", "reason": R}` (the reader refused the document),
//! `{"result": "unsupported-schema"}` (no schema of the pack has that `$id`) or
//! `{"result": "pack-refused"}` (a schema of the pack does not compile offline).

use std::collections::BTreeSet;

use serde_json::Value;

use super::{Case, Env, expected_str, same};
use crate::fim::{self, JsonPack};
use crate::xoev::pack::fingerprint;
use crate::xoev::pack_files::{PackLimits, read_dir};

fn load_pack(env: &Env, case: &Case) -> Result<Result<JsonPack, String>, String> {
    let rel = case
        .inputs
        .get("pack")
        .ok_or("case has no input \"pack\"")?;
    let files =
        read_dir(&env.path(rel), &PackLimits::default(), None).map_err(|e| e.to_string())?;
    Ok(
        JsonPack::from_files("vectors", &fingerprint(&files), &files)
            .and_then(|p| p.compile_all().map(|_| p))
            .map_err(|e| e.to_string()),
    )
}

pub(super) fn run(env: &Env, case: &Case) -> Result<(), String> {
    let expected = expected_str(case, "result")?;
    let pack = match (load_pack(env, case)?, expected) {
        (Err(_), "pack-refused") => return Ok(()),
        (Err(e), _) => return Err(format!("pack refused: {e}")),
        (Ok(_), "pack-refused") => return Err("expected the pack to be refused".into()),
        (Ok(p), _) => p,
    };
    let bytes = env.input(case, "document")?;
    let doc = match crate::json::parse(&bytes, &env.limits.json) {
        Ok(doc) => doc,
        Err(e) if expected == "refused" => {
            return same("reason", expected_str(case, "reason")?, e.reason());
        }
        Err(e) => return Err(format!("refused: {e}")),
    };
    let uri = doc
        .get("$schema")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !pack.provides(uri) {
        return same("result", expected, "unsupported-schema");
    }
    let violations =
        fim::validate(&pack, uri, &doc, env.limits.json.max_errors).map_err(|e| e.to_string())?;
    if violations.is_empty() {
        return same("result", expected, "valid");
    }
    same("result", expected, "invalid")?;
    let actual: BTreeSet<(String, String)> = violations
        .into_iter()
        .map(|v| (v.pointer, v.keyword))
        .collect();
    let wanted: BTreeSet<(String, String)> = case
        .expected
        .get("violations")
        .and_then(Value::as_array)
        .ok_or("expected.violations missing")?
        .iter()
        .map(|v| {
            let s = |k: &str| {
                v.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            (s("pointer"), s("keyword"))
        })
        .collect();
    if actual == wanted {
        Ok(())
    } else {
        Err(format!("violations: expected {wanted:?}, got {actual:?}"))
    }
}
