//! Rough per-value timings of the simple-type hot paths (ignored by default; run with
//! `CARGO_PROFILE_DEV_OPT_LEVEL=3 cargo test --test it xsd_datatypes_bench -- --ignored --nocapture`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use poststelle::config::XsdLimits;
use poststelle::xsd::datatypes::{Builtin, NoNamespaces};
use poststelle::xsd::regex::PatternBudget;
use poststelle::xsd::simple::{FacetKind, RawFacet, SimpleType};

fn restrict(base: Builtin, facets: &[(FacetKind, &str)]) -> SimpleType {
    let raw: Vec<RawFacet<'_>> = facets
        .iter()
        .map(|(kind, value)| RawFacet {
            kind: *kind,
            value,
            fixed: false,
            ns: &NoNamespaces,
        })
        .collect();
    SimpleType::restrict(
        &SimpleType::builtin(base),
        &raw,
        &mut PatternBudget::new(&XsdLimits::default()),
    )
    .expect("valid restriction")
}

/// CPU time of this thread in ns (the build machine is shared, so wall time misleads).
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

fn time(label: &str, t: &SimpleType, inputs: &[&str], value: bool) {
    let rounds = 1_000_000 / inputs.len().max(1) / if inputs[0].len() > 100 { 100 } else { 1 };
    let start = Instant::now();
    let cpu_start = cpu_ns();
    for _ in 0..rounds {
        for s in inputs {
            if value {
                black_box(t.validate(black_box(s), &NoNamespaces).is_ok());
            } else {
                black_box(t.check(black_box(s), &NoNamespaces).is_ok());
            }
        }
    }
    let n = rounds * inputs.len();
    let wall = start.elapsed().as_nanos() as f64 / n as f64;
    let cpu = match (cpu_start, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64 / n as f64,
        _ => f64::NAN,
    };
    eprintln!("{label:<44} {cpu:>8.1} ns/value CPU ({wall:.1} wall)");
}

#[test]
#[ignore = "timing, not a check"]
fn simple_type_hot_paths() {
    // Calibration: a std parse in the same loop shows how loaded the machine is.
    let start = cpu_ns();
    for _ in 0..5_000_000 {
        black_box(black_box("123456789").parse::<i64>().is_ok());
    }
    if let (Some(a), Some(b)) = (start, cpu_ns()) {
        eprintln!(
            "{:<44} {:>8.1} ns/value CPU",
            "calibration: str::parse::<i64>",
            (b - a) as f64 / 5_000_000.0
        );
    }
    let codes: Vec<String> = (0..60).map(|i| format!("{:04}", i * 10)).collect();
    let enums: Vec<(FacetKind, &str)> = codes
        .iter()
        .map(|c| (FacetKind::Enumeration, c.as_str()))
        .collect();
    let code = restrict(Builtin::Token, &enums);
    time(
        "token, 60 enumerations (check)",
        &code,
        &["0200", "\n 0300 ", "0590"],
        false,
    );
    time(
        "token, 60 enumerations (validate)",
        &code,
        &["0200", "0300", "0590"],
        true,
    );
    let din = "([\\p{IsBasicLatin}-[\\p{Cc}]]|[\u{A0}-\u{17F}]|[\u{1E00}-\u{1EFF}]|[\u{20000}-\u{2A6DF}]|A\u{30A}|\u{1F600})*";
    let name = restrict(
        Builtin::String,
        &[(FacetKind::Pattern, din), (FacetKind::MaxLength, "255")],
    );
    time(
        "string, DIN-like pattern, 30 chars (check)",
        &name,
        &["Müller-Lüdenscheidt, Hans Jörg"],
        false,
    );
    let uuid = restrict(
        Builtin::Token,
        &[(
            FacetKind::Pattern,
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        )],
    );
    time(
        "token, UUID pattern (check)",
        &uuid,
        &["123e4567-e89b-12d3-a456-426614174000"],
        false,
    );
    time(
        "date",
        &SimpleType::builtin(Builtin::Date),
        &["2024-02-29", "1999-12-31Z"],
        true,
    );
    time(
        "dateTime",
        &SimpleType::builtin(Builtin::DateTime),
        &["2024-02-29T12:30:00.5+01:00"],
        true,
    );
    let money = restrict(
        Builtin::Decimal,
        &[
            (FacetKind::TotalDigits, "12"),
            (FacetKind::FractionDigits, "2"),
            (FacetKind::MinInclusive, "0"),
        ],
    );
    time(
        "decimal, totalDigits/fractionDigits/min",
        &money,
        &["1234.50", "0.99"],
        true,
    );
    time(
        "integer",
        &SimpleType::builtin(Builtin::Integer),
        &["123456789"],
        true,
    );
    time("int", &SimpleType::builtin(Builtin::Int), &["-42"], true);
    time(
        "boolean",
        &SimpleType::builtin(Builtin::Boolean),
        &["true", "0"],
        true,
    );
    let b64: String = "TWFu".repeat(256);
    time(
        "base64Binary, 1 KiB",
        &SimpleType::builtin(Builtin::Base64Binary),
        &[b64.as_str()],
        true,
    );
    let list = Arc::new(SimpleType::list_of(SimpleType::builtin(Builtin::Int)).expect("list"));
    time("list of int, 5 items (check)", &list, &["1 2 3 4 5"], false);
}
