//! The retry policy of the outbox: exponential backoff with jitter, dead letter after a number
//! of attempts or an age.
//!
//! Pure: the random jitter sample is an argument, so every decision is reproducible in tests.
//! The delay is [`crate::backoff`]'s exponential backoff with equal jitter.

use std::time::Duration;

use super::records::{FailAction, Timestamp};
use crate::backoff;

/// When and how often a failed delivery is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay before the second attempt (before jitter). Default 2 s.
    pub base_delay: Duration,
    /// Upper bound of any delay. Default 1 h: an upstream back from maintenance is found within
    /// the hour.
    pub max_delay: Duration,
    /// Attempts before a job becomes a dead letter. Default 12 (about 10 h of trying with the
    /// defaults).
    pub max_attempts: u32,
    /// Age after which a failing job becomes a dead letter regardless of attempts. Default 3 days.
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(3600),
            max_attempts: 12,
            max_age: Duration::from_secs(3 * 24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The delay after the `attempts`-th failed attempt (1-based), before jitter:
    /// `base · 2^(attempts−1)`, capped at `max_delay`.
    #[must_use]
    pub fn backoff(&self, attempts: u32) -> Duration {
        backoff::exponential(self.base_delay, self.max_delay, attempts)
    }

    /// Decides what follows the `attempts`-th failed attempt of a job created at `created_at`.
    /// `jitter` is a uniform sample from `[0, 1)` (values outside are clamped).
    #[must_use]
    pub fn after_failure(
        &self,
        attempts: u32,
        created_at: Timestamp,
        now: Timestamp,
        jitter: f64,
    ) -> FailAction {
        if attempts >= self.max_attempts || now.since(created_at) >= self.max_age {
            return FailAction::DeadLetter;
        }
        let at = now.plus(backoff::equal_jitter(self.backoff(attempts), jitter));
        if at.since(created_at) >= self.max_age {
            // The next attempt would already be too old: give up now rather than wait for it.
            return FailAction::DeadLetter;
        }
        FailAction::RetryAt(at)
    }

    /// A fresh jitter sample from the operating system's generator, uniform in `[0, 1)`.
    #[must_use]
    pub fn jitter() -> f64 {
        backoff::sample()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_700_000_000_000);

    fn policy() -> RetryPolicy {
        RetryPolicy {
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_attempts: 5,
            max_age: Duration::from_secs(3600),
        }
    }

    #[test]
    fn backoff_doubles_and_caps() {
        let p = policy();
        let secs: Vec<u64> = (1..=9).map(|a| p.backoff(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jitter_stays_between_half_and_full_delay() {
        let p = policy();
        for attempts in 1..5 {
            let full = p.backoff(attempts);
            let FailAction::RetryAt(lo) = p.after_failure(attempts, T0, T0, 0.0) else {
                panic!("retry expected")
            };
            let FailAction::RetryAt(hi) = p.after_failure(attempts, T0, T0, 0.999_999) else {
                panic!("retry expected")
            };
            assert_eq!(lo.since(T0), full / 2);
            assert!(hi.since(T0) <= full && hi.since(T0) > full / 2);
        }
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        let p = policy();
        assert_eq!(
            p.after_failure(2, T0, T0, -3.0),
            FailAction::RetryAt(T0.plus(Duration::from_secs(1)))
        );
        assert_eq!(
            p.after_failure(2, T0, T0, f64::NAN),
            p.after_failure(2, T0, T0, f64::NAN)
        );
    }

    #[test]
    fn dead_letter_after_max_attempts() {
        let p = policy();
        assert!(matches!(
            p.after_failure(4, T0, T0, 0.5),
            FailAction::RetryAt(_)
        ));
        assert_eq!(p.after_failure(5, T0, T0, 0.5), FailAction::DeadLetter);
    }

    #[test]
    fn dead_letter_after_max_age() {
        let p = policy();
        let old = T0.plus(Duration::from_secs(3600));
        assert_eq!(p.after_failure(1, T0, old, 0.0), FailAction::DeadLetter);
        // Also when the next attempt would fall beyond the age limit.
        let almost = T0.plus(Duration::from_secs(3599));
        assert_eq!(p.after_failure(2, T0, almost, 0.0), FailAction::DeadLetter);
    }
}
