//! Business-rules benchmark (issue 16, "speed and memory"), in one run:
//!
//! (a) XSD only, (b) XSD + business rules — `xoev::rules::validate_and_check`: one validation
//! pass that also builds the rules' tree and checks the code lists, then the Schematron rules,
//! what `validate --rules` and the gateway do per message —
//! and (c) SaxonC-HE with a warm processor evaluating the same Schematron files on the same
//! documents (`benches/rules/oracle.py --bench-saxon`: stylesheets compiled and documents parsed
//! before timing, only the evaluation timed): the median per message over the 20 XBau samples
//! (each sample's median over `--runs`), and the ratios (b)/(a) (target ≤ 3) and (c)/(b)
//! (target ≥ 1, goal ≥ 3), judged on process CPU time (wall time printed beside it: on a loaded
//! machine it measures the load). Then a generated 10 MB XBau 0200 message
//! (`benches/xsd/gen_xbau.py`) through `poststelle validate --rules --json` (the release
//! binary of this bench build): wall time, findings and peak RSS (`/usr/bin/time -v`; goal
//! ≤ 128 MB).
//!
//! Run: `cargo bench --bench rules` (about a minute), `-- --quick` (fewer runs),
//! `-- --runs N --size-mb M --no-saxon`. Needs `python3` (with `saxonche` 13.1.1 for (c)) and
//! the shared data (`POSTSTELLE_SHARED`, default `../shared`). XBau 2.6 is installed into a
//! temporary packs directory.
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use poststelle::Limits;
use poststelle::schematron::Overrides;
use poststelle::xoev::catalog::Catalog;
use poststelle::xoev::pack::{PackSources, discover};
use poststelle::xoev::pack_files::PackLimits;
use poststelle::xoev::root::document_root;
use poststelle::xoev::rules::{self, RulesCache, RulesLimits};
use poststelle::xsd::{self, Grammar, ValidationOptions};

struct Args {
    runs: usize,
    size_mb: f64,
    saxon: bool,
}

fn args() -> Args {
    let mut a = Args {
        runs: 41,
        size_mb: 10.0,
        saxon: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.runs = 9,
            "--runs" => a.runs = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.runs),
            "--size-mb" => a.size_mb = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.size_mb),
            "--no-saxon" => a.saxon = false,
            _ => {} // cargo bench passes --bench
        }
    }
    a.runs = a.runs.max(1);
    a
}

fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("POSTSTELLE_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    );
    if dir.join("xoev/xbau-2.6/sch/xbau-schematron.sch").is_file() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "shared XBau 2.6 data missing at {} (CI must have it)",
        dir.display()
    );
    println!("skipped: shared XBau 2.6 data missing at {}", dir.display());
    None
}

/// The 20 samples, in the order of conformance/xbau.py's `valid_samples`.
fn samples(shared: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["fv-testdateien", "fv-generated"] {
        let mut v: Vec<PathBuf> = std::fs::read_dir(shared.join("xoev/samples/xbau").join(dir))
            .expect("samples")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        v.sort();
        out.extend(v);
    }
    out
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// CPU seconds this process has used (all threads): unlike wall time, it does not grow when
/// other work on the machine preempts the bench.
fn cpu_now() -> f64 {
    cpu::process_cpu_secs()
}

#[path = "../common/cpu.rs"]
mod cpu;

/// Median (wall, CPU) seconds of `runs` calls of `op`.
fn time_median(runs: usize, mut op: impl FnMut()) -> (f64, f64) {
    op(); // warm-up
    let (mut wall, mut cpu) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        let (s, c) = (Instant::now(), cpu_now());
        op();
        cpu.push(cpu_now() - c);
        wall.push(s.elapsed().as_secs_f64());
    }
    (median(&mut wall), median(&mut cpu))
}

fn main() {
    let args = args();
    let Some(shared) = shared() else { return };
    let bin = env!("CARGO_BIN_EXE_poststelle");
    let tmp = tempfile::tempdir().expect("tempdir");
    let packs = tmp.path().join("packs");
    let out = Command::new(bin)
        .args(["schemas", "install"])
        .arg(shared.join("xoev/xbau-2.6/xsd_dev"))
        .env("POSTSTELLE_PACKS", &packs)
        .env("POSTSTELLE_SHARED", "/nonexistent-shared")
        .output()
        .expect("poststelle runs");
    assert!(
        out.status.success(),
        "schemas install: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let limits = Limits::default();
    let sources = PackSources {
        packs_dir: packs.clone(),
        shared_dir: None,
        repo_dir: None,
    };
    let (registry, broken) = discover(Catalog::embedded(), &sources, &PackLimits::default());
    assert!(broken.is_empty(), "packs not loaded: {broken:?}");
    let options = ValidationOptions::from_limits(&limits);
    let rules_limits = RulesLimits::from(&limits.schematron);
    let overrides = Overrides::new();
    let cache = RulesCache::default();
    let mut grammars: HashMap<PathBuf, Grammar> = HashMap::new();

    println!(
        "rules benchmark: {} runs per message, 20 XBau samples",
        args.runs
    );
    println!(
        "{:<62} {:>9} {:>9} {:>9} {:>8}",
        "sample", "a XSD ms", "b-a ms", "b ms", "findings"
    );
    let (mut a_all, mut r_all, mut b_all) = (Vec::new(), Vec::new(), Vec::new());
    let (mut a_cpu_all, mut b_cpu_all) = (Vec::new(), Vec::new());
    for path in samples(&shared) {
        let bytes = std::fs::read(&path).expect("sample");
        let root = document_root(&bytes[..], &limits.xml).expect("root");
        let resolved = registry
            .resolve(&root.namespace, &root.local)
            .expect("pack");
        let grammar = grammars
            .entry(resolved.entry.clone())
            .or_insert_with(|| xsd::compile_file(&resolved.entry, &limits).expect("grammar"));
        let compiled = cache.rules(resolved.pack, &limits.xml).expect("rules");
        assert!(!compiled.is_empty(), "the XBau pack carries rules");
        let report = xsd::validate_bytes(grammar, &bytes, &limits, &options);
        assert!(report.is_valid(), "{} is XSD-valid", path.display());
        let check = || {
            rules::validate_and_check(
                grammar,
                &compiled,
                &bytes,
                &limits,
                &options,
                rules_limits,
                &overrides,
            )
        };
        let findings = check().1.expect("valid").expect("tree").findings.len();
        let (a, a_cpu) = time_median(args.runs, || {
            let r = xsd::validate_bytes(grammar, &bytes, &limits, &options);
            std::hint::black_box(r.is_valid());
        });
        let (b, b_cpu) = time_median(args.runs, || {
            let (xsd, rules) = check();
            std::hint::black_box((xsd.is_valid(), rules.map(|r| r.map(|r| r.findings.len()))));
        });
        // What the rules add to the one pass (tree, code check, Schematron).
        let r = (b - a).max(0.0);
        let name = path
            .strip_prefix(shared.join("xoev/samples/xbau"))
            .unwrap_or(&path)
            .display()
            .to_string();
        println!(
            "{:<62} {:>9.3} {:>9.3} {:>9.3} {:>8}",
            name.chars().take(62).collect::<String>(),
            a * 1e3,
            r * 1e3,
            b * 1e3,
            findings
        );
        a_cpu_all.push(a_cpu);
        b_cpu_all.push(b_cpu);
        a_all.push(a);
        r_all.push(r);
        b_all.push(b);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (a_mean, r_mean, b_mean) = (mean(&a_all), mean(&r_all), mean(&b_all));
    let (a, r, b) = (median(&mut a_all), median(&mut r_all), median(&mut b_all));
    println!(
        "median per message: (a) XSD {:.3} ms, rules' share ((b) - (a): tree, code lists, Schematron) {:.3} ms, (b) XSD + rules in one pass {:.3} ms; mean: {:.3} / {:.3} / {:.3} ms",
        a * 1e3,
        r * 1e3,
        b * 1e3,
        a_mean * 1e3,
        r_mean * 1e3,
        b_mean * 1e3
    );
    let (a_cpu, b_cpu) = (median(&mut a_cpu_all), median(&mut b_cpu_all));
    println!(
        "median per message, process CPU time: (a) {:.3} ms, (b) {:.3} ms",
        a_cpu * 1e3,
        b_cpu * 1e3
    );
    // The verdicts use CPU time (the same in a quiet and a loaded machine); wall beside it.
    println!(
        "(b)/(a) = {:.2} CPU, {:.2} wall (target <= 3: {})",
        b_cpu / a_cpu,
        b / a,
        if b_cpu / a_cpu <= 3.0 {
            "met"
        } else {
            "NOT met"
        }
    );

    if args.saxon {
        match saxon(&shared, args.runs) {
            Ok(c) => {
                println!(
                    "(c) {}, warm, evaluation only: median {:.3} ms wall, mean {:.3} ms wall, median {:.3} ms CPU per message",
                    c.engine,
                    c.wall * 1e3,
                    c.wall_mean * 1e3,
                    c.cpu * 1e3
                );
                let ratio = c.cpu / b_cpu;
                println!(
                    "(c)/(b) = {ratio:.2} CPU, {:.2} wall (target >= 1: {}, goal >= 3: {}); (c)/((b) - (a)) = {:.2} wall",
                    c.wall / b,
                    if ratio >= 1.0 { "met" } else { "NOT met" },
                    if ratio >= 3.0 { "met" } else { "not met" },
                    c.wall / r
                );
            }
            Err(e) => println!("(c) SaxonC-HE not measured: {e}"),
        }
    }

    big_message(bin, &shared, &packs, tmp.path(), args.size_mb);
}

/// (c) per message: median and mean wall seconds, median process CPU seconds.
struct Saxon {
    wall: f64,
    wall_mean: f64,
    cpu: f64,
    engine: String,
}

/// (c): runs the oracle's Saxon timing.
fn saxon(shared: &Path, runs: usize) -> Result<Saxon, String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/rules/oracle.py");
    let out = Command::new("python3")
        .arg(script)
        .args(["--bench-saxon", &runs.to_string(), "--shared"])
        .arg(shared)
        .output()
        .map_err(|e| format!("python3: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_owned());
    }
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("oracle output: {e}"))?;
    let median = v["median_per_message_s"].as_f64().ok_or("no median")?;
    let per: Vec<f64> = v["per_message_s"]
        .as_object()
        .ok_or("no per-message times")?
        .values()
        .filter_map(serde_json::Value::as_f64)
        .collect();
    let mean = per.iter().sum::<f64>() / per.len().max(1) as f64;
    Ok(Saxon {
        wall: median,
        wall_mean: mean,
        cpu: v["cpu_median_per_message_s"]
            .as_f64()
            .ok_or("no CPU median")?,
        engine: v["engine"].as_str().unwrap_or("SaxonC").to_owned(),
    })
}

/// The big message: generated, then `validate --rules --json` under `/usr/bin/time -v`.
fn big_message(bin: &str, shared: &Path, packs: &Path, tmp: &Path, size_mb: f64) {
    let big = tmp.join("xbau-big.xml");
    let gen_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/xsd/gen_xbau.py");
    let out = Command::new("python3")
        .arg(gen_script)
        .args(["--size-mb", &size_mb.to_string(), "--shared"])
        .arg(shared)
        .arg("--out")
        .arg(&big)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "gen_xbau: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let size = std::fs::metadata(&big).expect("generated").len();
    let time = Path::new("/usr/bin/time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-v").arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let start = Instant::now();
    let out = cmd
        .args(["validate", "--rules", "--json"])
        .arg(&big)
        .env("POSTSTELLE_PACKS", packs)
        .env("POSTSTELLE_SHARED", "/nonexistent-shared")
        .output()
        .expect("poststelle runs");
    let wall = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let rss_kib: Option<u64> = stderr
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let file = &doc["files"][0];
    let findings = file["findings"].as_array().map(Vec::len);
    let mut rules: Vec<String> = file["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule"].as_str().map(str::to_owned))
        .collect();
    rules.sort();
    rules.dedup();
    println!(
        "big message: {:.1} MB, validate --rules {:.2} s, valid {}, XSD errors {}, findings {} {:?}{}",
        size as f64 / 1e6,
        wall,
        file["valid"],
        file["errors"].as_array().map_or(0, Vec::len),
        findings.map_or_else(|| "none (rules not run)".to_owned(), |n| n.to_string()),
        rules,
        if file["findings_truncated"] == true {
            " (truncated)"
        } else {
            ""
        }
    );
    match rss_kib {
        Some(k) => println!(
            "big message peak RSS: {:.1} MB (goal <= 128 MB: {})",
            k as f64 / 1024.0,
            if k <= 128 * 1024 { "met" } else { "NOT met" }
        ),
        None => println!("big message peak RSS: not measured (no /usr/bin/time)"),
    }
}
