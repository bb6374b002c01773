//! Holding a lease while the work takes: the one heartbeat of the forwarder's jobs and the
//! reply worker's replies.

use std::future::Future;
use std::time::Duration;

use super::{Result, Timestamp};

/// Runs `work` and renews the lease every third of `lease` (at least every 100 ms) with
/// `renew(until)`. `None` when a renewal says the lease is lost (another worker may hold the
/// item now: the work's outcome must not be recorded); a store error on a renewal is a
/// hiccup (the lease still runs) and the next beat tries again.
pub(crate) async fn hold<T, R, F>(
    lease: Duration,
    work: impl Future<Output = T>,
    mut renew: R,
) -> Option<T>
where
    R: FnMut(Timestamp) -> F,
    F: Future<Output = Result<bool>>,
{
    let beat = (lease / 3).max(Duration::from_millis(100));
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            result = &mut work => return Some(result),
            () = tokio::time::sleep(beat) => {
                if matches!(renew(Timestamp::now().plus(lease)).await, Ok(false)) {
                    return None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    // The clock is paused: timers fire in order and exactly, however loaded the machine is.
    #[tokio::test(start_paused = true)]
    async fn renews_while_working_and_gives_up_when_the_lease_is_lost() {
        // A 300 ms lease beats every 100 ms: at 100, 200 and 300 ms of a 350 ms work.
        let lease = Duration::from_millis(300);
        let beats = AtomicU32::new(0);
        let done = hold(
            lease,
            async {
                tokio::time::sleep(Duration::from_millis(350)).await;
                7
            },
            |_| {
                beats.fetch_add(1, Ordering::SeqCst);
                async { Ok(true) }
            },
        )
        .await;
        assert_eq!(done, Some(7));
        let n = beats.load(Ordering::SeqCst);
        assert_eq!(n, 3, "{n} beats in 350 ms");

        let lost = hold(lease, std::future::pending::<()>(), |_| async { Ok(false) }).await;
        assert_eq!(lost, None);

        // A store error is retried at the next beat, not taken as a lost lease.
        let n = AtomicU32::new(0);
        let after_error = hold(lease, std::future::pending::<()>(), |_| {
            let first = n.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    Err(super::super::StoreError::NotFound { what: "job" })
                } else {
                    Ok(false)
                }
            }
        })
        .await;
        assert_eq!(after_error, None);
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }
}
