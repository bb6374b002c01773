//! Runs every case of `test-vectors/` through the library (harness = false: one line per
//! unexpected result and a closing `vectors: N passed, M failed`; exit 1 on any unexpected).

use std::path::Path;
use std::process::ExitCode;

use poststelle::fitconnect::problems::catalogue;
use poststelle::vectors::{self, Kind, Status};

/// Problem types of the catalogue that no `submission` case expects (issue 7: every problem
/// type is produced by at least one case).
fn uncovered_problem_types(dir: &Path) -> Vec<String> {
    let Ok(manifest) = vectors::load_manifest(dir) else {
        return vec!["(manifest unreadable)".to_owned()];
    };
    let expected: Vec<&str> = manifest
        .cases
        .iter()
        .filter(|c| c.kind == Kind::Submission)
        .filter_map(|c| c.expected.get("problems")?.as_array())
        .flatten()
        .filter_map(|p| p.get("type")?.as_str())
        .collect();
    catalogue()
        .problems
        .iter()
        .filter(|p| !expected.contains(&p.type_uri.as_str()))
        .map(|p| p.id.clone())
        .collect()
}

fn main() -> ExitCode {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors");
    let report = match vectors::run(&dir) {
        Ok(r) => r,
        Err(e) => {
            println!("vectors: cannot run the suite: {e}");
            return ExitCode::FAILURE;
        }
    };
    for o in &report.outcomes {
        match &o.status {
            Status::Fail(why) => println!("FAIL {} ({}): {why}", o.id, o.kind.as_str()),
            Status::XPass => println!(
                "XPASS {} ({}): remove its xfail entry",
                o.id,
                o.kind.as_str()
            ),
            Status::Pass | Status::XFail(_) => {}
        }
    }
    let uncovered = uncovered_problem_types(&dir);
    for id in &uncovered {
        println!("FAIL problem type {id} is expected by no submission case");
    }
    println!(
        "vectors: {} passed, {} failed",
        report.passed(),
        report.failed() + uncovered.len()
    );
    if report.failed() > 0 || report.outcomes.is_empty() || !uncovered.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
