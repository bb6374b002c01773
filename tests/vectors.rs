//! Runs every case of `test-vectors/` through the library (harness = false: one line per
//! unexpected result and a closing `vectors: N passed, M failed`; exit 1 on any unexpected).

use std::path::Path;
use std::process::ExitCode;

use poststelle::vectors::{self, Status};

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
    println!(
        "vectors: {} passed, {} failed",
        report.passed(),
        report.failed()
    );
    if report.failed() > 0 || report.outcomes.is_empty() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
