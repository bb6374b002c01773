//! Exponential backoff with "equal jitter", shared by the FIT-Connect client's request retries
//! and the outbox's delivery retries ([`crate::store::RetryPolicy`]).
//!
//! Equal jitter: half of the exponential delay is fixed, half random. The fixed half keeps
//! retries from bunching at zero after an outage; the random half spreads many clients and
//! instances apart. Pure apart from [`sample`]: the random sample is an argument, so every
//! delay is reproducible in tests.

use std::time::Duration;

/// The delay after the `attempt`-th failure (1-based): `base · 2^(attempt−1)`, capped at `max`.
#[must_use]
pub fn exponential(base: Duration, max: Duration, attempt: u32) -> Duration {
    let exp = attempt.saturating_sub(1).min(31);
    base.checked_mul(1u32 << exp).unwrap_or(max).min(max)
}

/// Equal jitter of `full`: `full/2 + (full − full/2) · sample`, with `sample` clamped to
/// `[0, 1]` (NaN counts as 0.5).
#[must_use]
pub fn equal_jitter(full: Duration, sample: f64) -> Duration {
    let half = full / 2;
    // NaN would make `mul_f64` panic; treat it like any other out-of-range sample.
    let sample = if sample.is_nan() {
        0.5
    } else {
        sample.clamp(0.0, 1.0)
    };
    half + (full - half).mul_f64(sample)
}

/// A fresh sample from the operating system's generator, uniform in `[0, 1)`; 0.5 if the
/// generator fails (that loses only the spread, never the backoff).
#[must_use]
pub fn sample() -> f64 {
    // 53 random bits give every representable step of [0, 1).
    #[expect(clippy::cast_precision_loss, reason = "53-bit value, exact in an f64")]
    getrandom::u64().map_or(0.5, |r| (r >> 11) as f64 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_doubles_and_caps() {
        let (b, m) = (Duration::from_secs(1), Duration::from_secs(60));
        let secs: Vec<u64> = (1..=9).map(|a| exponential(b, m, a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(exponential(b, m, 0), b);
        assert_eq!(exponential(b, m, u32::MAX), m);
    }

    #[test]
    fn equal_jitter_stays_between_half_and_whole() {
        let d = Duration::from_millis(1000);
        assert_eq!(equal_jitter(d, 0.0), Duration::from_millis(500));
        assert_eq!(equal_jitter(d, 1.0), d);
        assert_eq!(equal_jitter(d, -3.0), Duration::from_millis(500));
        assert_eq!(equal_jitter(d, f64::NAN), Duration::from_millis(750));
        for _ in 0..100 {
            let j = equal_jitter(d, sample());
            assert!(j >= Duration::from_millis(500) && j <= d, "{j:?}");
        }
    }

    #[test]
    fn samples_are_in_range_and_vary() {
        let samples: Vec<f64> = (0..64).map(|_| sample()).collect();
        assert!(samples.iter().all(|s| (0.0..1.0).contains(s)));
        assert!(
            samples
                .iter()
                .any(|s| (s - samples[0]).abs() > f64::EPSILON)
        );
    }
}
