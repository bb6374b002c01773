//! JOSE benchmarks against the anchors of `rust-stack-and-perf-anchors.md` §2, in one run:
//! `openssl speed rsa4096` (private ops) is measured by this same program, so the ratio is
//! taken on the same machine at the same time.
//!
//! Run: `cargo bench --bench jose` (everything, incl. the 100 MB JWE; about a minute), or
//! `cargo bench --bench jose -- --quick` (no 100 MB case, short runs).
//! Goals: unwraps/s ≥ 1.5 × openssl private ops/s; 100 MB decrypt ≥ 400 MB/s with peak memory
//! ≤ 2.5 × the payload. The streamed path (what the gateway does with attachments: spool file
//! to unnamed plaintext file, SHA-512 while writing) is compared with the in-memory one in the
//! same run.
#![allow(missing_docs, clippy::print_stdout, clippy::unwrap_used)]

use std::time::{Duration, Instant};

use poststelle::config::JoseLimits;
use poststelle::jose::jwe::{self, CompactJwe};

#[path = "../common/openssl.rs"]
mod openssl;
use openssl::{openssl_rsa4096_private_ops, openssl_sha512_mb_per_s};

#[path = "../common/cpu.rs"]
mod cpu;

#[path = "../common/rsa_rates.rs"]
mod rsa_rates;

/// CPU time of this thread in seconds (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, nanosecond
/// resolution; the scheduler statistics counted whole ticks here). `openssl speed` divides by
/// CPU time too, so ratios stay fair on a loaded machine.
fn cpu_secs() -> f64 {
    cpu::thread_cpu_secs()
}

/// Runs `op` and returns (CPU seconds, wall seconds).
fn timed(op: impl FnOnce()) -> (f64, f64) {
    let start = Instant::now();
    let cpu = cpu_secs();
    op();
    (cpu_secs() - cpu, start.elapsed().as_secs_f64())
}

/// Peak resident set (VmHWM) in bytes.
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn current_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn reset_peak_rss() {
    // Linux: writing 5 to clear_refs resets VmHWM to the current RSS.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let secs = if quick { 1 } else { 3 };
    let limits = JoseLimits::default();
    println!(
        "poststelle JOSE benchmark ({})",
        if quick { "quick" } else { "full" }
    );

    let keys = rsa_rates::Keys::generate();
    let (enc, kid, ring) = (&keys.enc, keys.kid.as_str(), &keys.ring);
    let (unwraps, signs) = keys.rates(Duration::from_secs(secs));
    let openssl = openssl_rsa4096_private_ops(u32::try_from(secs).unwrap());
    println!(
        "(rates per CPU second, wall-clock in brackets; openssl speed reports per CPU second)"
    );
    println!(
        "RSA-OAEP-256 unwraps/s (JWE, empty payload): {:.0} [{:.0}]",
        unwraps.0, unwraps.1
    );
    println!(
        "PS512 signs/s:                               {:.0} [{:.0}]",
        signs.0, signs.1
    );
    match openssl {
        Some(o) => {
            println!("openssl speed rsa4096 private ops/s:         {o:.0}");
            println!(
                "ratio unwrap / openssl private op:           {:.2}x (goal >= 1.5x)",
                unwraps.0 / o
            );
            println!(
                "ratio PS512 sign / openssl private op:       {:.2}x",
                signs.0 / o
            );
        }
        None => println!("openssl speed rsa4096: not available"),
    }

    // JWE decrypt, 1 MiB.
    let mb = vec![0x5au8; 1 << 20];
    let token = jwe::encrypt(&mb, &enc.public, kid, Some("application/pdf")).unwrap();
    let runs: Vec<(f64, f64)> = (0..if quick { 20 } else { 100 })
        .map(|_| {
            timed(|| {
                let p = CompactJwe::parse(&token, &limits)
                    .unwrap()
                    .decrypt(ring, &limits)
                    .unwrap();
                assert_eq!(p.bytes().len(), 1 << 20);
            })
        })
        .collect();
    let cpu = median(runs.iter().map(|r| r.0).collect());
    let wall = median(runs.iter().map(|r| r.1).collect());
    println!(
        "JWE decrypt 1 MiB: median {:.2} ms CPU [{:.2} ms wall], {:.0} MB/s (anchor aws-lc-rs 3.5 ms, josekit 6.4 ms)",
        cpu * 1e3,
        wall * 1e3,
        1.048_576 / cpu
    );

    // SHA-512 over payload bytes (the protocol's hash of every payload and attachment), as the
    // gateway computes it (aws-lc through `fitconnect::hash`), against `openssl speed -evp`.
    let block = vec![0x3cu8; 16 << 20];
    let runs: Vec<(f64, f64)> = (0..if quick { 3 } else { 9 })
        .map(|_| {
            timed(|| {
                let hex = poststelle::fitconnect::hash::sha512_hex(&block);
                assert_eq!(hex.len(), 128);
            })
        })
        .collect();
    let ours = 16.777_216 / median(runs.iter().map(|r| r.0).collect());
    match openssl_sha512_mb_per_s(1) {
        Some(o) => println!(
            "SHA-512 16 MiB: {ours:.0} MB/s per CPU second; openssl speed -evp sha512 (16 KiB blocks): {o:.0} MB/s; ratio {:.2}x",
            ours / o
        ),
        None => println!(
            "SHA-512 16 MiB: {ours:.0} MB/s per CPU second; openssl speed sha512: not available"
        ),
    }

    if quick {
        return;
    }
    // JWE decrypt, 100 MiB: the token is written to a file and read back so that peak memory
    // covers only what decryption needs (token + working buffer).
    let size = 100usize << 20;
    let dir = std::env::temp_dir().join(format!("poststelle-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("100mb.jwe");
    {
        let payload = vec![0xa5u8; size];
        let token =
            jwe::encrypt(&payload, &enc.public, kid, Some("application/octet-stream")).unwrap();
        std::fs::write(&path, token).unwrap();
    }
    let mut runs = Vec::new();
    let mut peak_over = 0u64;
    for _ in 0..3 {
        let token = std::fs::read_to_string(&path).unwrap();
        let base = current_rss();
        reset_peak_rss();
        let mut plain = None;
        let run = timed(|| {
            plain = Some(
                CompactJwe::parse(&token, &limits)
                    .unwrap()
                    .decrypt(ring, &limits)
                    .unwrap(),
            );
        });
        assert_eq!(plain.as_ref().map(|p| p.bytes().len()), Some(size));
        drop(plain);
        // Peak during decryption, including the token itself (it was resident before).
        peak_over =
            peak_over.max(peak_rss().saturating_sub(base) + u64::try_from(token.len()).unwrap());
        runs.push(run);
    }
    // What the gateway does with an attachment: in memory (decrypt + SHA-512 of the plaintext)
    // against streamed (spool file → unnamed plaintext file, SHA-512 while writing).
    let mut in_memory = Vec::new();
    for _ in 0..3 {
        let token = std::fs::read_to_string(&path).unwrap();
        in_memory.push(timed(|| {
            let p = CompactJwe::parse(&token, &limits)
                .unwrap()
                .decrypt(ring, &limits)
                .unwrap();
            let _ = poststelle::fitconnect::hash::sha512_hex(p.bytes());
        }));
    }
    let mut streamed = Vec::new();
    let mut stream_peak = 0u64;
    for _ in 0..3 {
        let mut input = std::fs::File::open(&path).unwrap();
        let out = tempfile::tempfile_in(&dir).unwrap();
        let base = current_rss();
        reset_peak_rss();
        streamed.push(timed(|| {
            let mut w = poststelle::fitconnect::hash::Sha512Writer::new(
                std::io::BufWriter::with_capacity(256 * 1024, &out),
            );
            let p = poststelle::jose::decrypt_seekable(&mut input, &mut w, ring, &limits).unwrap();
            assert_eq!(p.len(), size as u64);
            let _ = w.finish().unwrap();
        }));
        stream_peak = stream_peak.max(peak_rss().saturating_sub(base));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mem_cpu = median(in_memory.iter().map(|r| r.0).collect());
    let str_cpu = median(streamed.iter().map(|r| r.0).collect());
    let str_wall = median(streamed.iter().map(|r| r.1).collect());
    println!(
        "attachment 100 MiB, decrypt + SHA-512: in memory {:.0} MB/s, streamed file to file {:.0} MB/s per CPU second [{:.0} ms wall]; streamed / in memory {:.2}x; streamed peak memory +{:.1} MiB",
        104.857_6 / mem_cpu,
        104.857_6 / str_cpu,
        str_wall * 1e3,
        mem_cpu / str_cpu,
        {
            #[allow(clippy::cast_precision_loss)]
            let mib = stream_peak as f64 / 1_048_576.0;
            mib
        }
    );
    let cpu = median(runs.iter().map(|r| r.0).collect());
    let wall = median(runs.iter().map(|r| r.1).collect());
    println!(
        "JWE decrypt 100 MiB: median {:.0} ms CPU [{:.0} ms wall], {:.0} MB/s per CPU second (goal >= 400; anchor aws-lc-rs 500 MB/s)",
        cpu * 1e3,
        wall * 1e3,
        104.857_6 / cpu
    );
    #[allow(clippy::cast_precision_loss)]
    let factor = peak_over as f64 / size as f64;
    #[allow(clippy::cast_precision_loss)]
    let peak_mib = peak_over as f64 / 1_048_576.0;
    println!(
        "JWE decrypt 100 MiB: peak memory {peak_mib:.0} MiB = {factor:.2}x payload (goal <= 2.5x)"
    );
}
