//! `openssl speed rsa4096`: the reference for RSA-4096 private-key operations, shared by the
//! benchmarks that compare against it in the same run.

use std::process::{Command, Stdio};

/// Private-key operations (signatures) per second on one core, as `openssl speed -seconds
/// SECONDS rsa4096` measures them; `None` without a usable `openssl`.
pub(crate) fn openssl_rsa4096_private_ops(seconds: u32) -> Option<f64> {
    let out = Command::new("openssl")
        .args(["speed", "-seconds", &seconds.to_string(), "rsa4096"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("rsa") && l.contains("4096"))?;
    // "rsa 4096 bits 0.004561s 0.000072s 219.2 13896.2": the first time is one private op.
    let sign_secs: f64 = line
        .split_whitespace()
        .find_map(|t| t.strip_suffix('s').and_then(|v| v.parse().ok()))?;
    Some(1.0 / sign_secs)
}

/// SHA-512 throughput in MB/s (10^6 bytes per CPU second) on 16 KiB blocks, as `openssl speed
/// -evp sha512` measures it; `None` without a usable `openssl`. OpenSSL picks the fastest code
/// for the CPU (AVX2 on x86-64), so it is the anchor for our SHA-512 over payload bytes.
#[allow(dead_code)]
pub(crate) fn openssl_sha512_mb_per_s(seconds: u32) -> Option<f64> {
    let out = Command::new("openssl")
        .args([
            "speed",
            "-seconds",
            &seconds.to_string(),
            "-bytes",
            "16384",
            "-evp",
            "sha512",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "sha512          750616.22k": thousands of bytes per second.
    let kilo: f64 = text
        .lines()
        .rev()
        .find(|l| l.starts_with("sha512"))?
        .split_whitespace()
        .nth(1)?
        .strip_suffix('k')?
        .parse()
        .ok()?;
    Some(kilo / 1000.0)
}
