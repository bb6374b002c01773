//! The retention task: purges the payload of forwarded submissions once their retention is over
//! (`[retention] payload_days`; the rule and what stays are in `store/retention.rs`).
//!
//! It runs at start and then every [`PURGE_INTERVAL`]; each run logs one event with counts
//! only and adds to `poststelle_purged_submissions_total`. A failed run is logged and tried
//! again at the next interval: purging late is harmless, the payload is still protected by the
//! store's file modes.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::server::Metrics;
use crate::store::{Retention, Store, Timestamp};

/// Time between purge runs.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(3600);

/// Purges due payloads at start and then every `interval` until `shutdown` completes. With
/// payloads kept forever (`payload_days = 0`) it returns at once.
pub async fn run_purges<S: Store>(
    store: S,
    retention: Retention,
    metrics: Option<Arc<Metrics>>,
    interval: Duration,
    shutdown: impl Future<Output = ()>,
) {
    if retention.delivered_before(Timestamp::now()).is_none() {
        tracing::info!("retention: payload_days = 0, payloads are kept forever");
        return;
    }
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            _ = ticks.tick() => {}
        }
        let now = Timestamp::now();
        let Some(before) = retention.delivered_before(now) else {
            return;
        };
        match store.purge_payloads(before, now, false).await {
            Ok(report) => {
                let n = report.submission_ids.len() as u64;
                if let Some(m) = &metrics {
                    m.payloads_purged(n);
                }
                tracing::info!(
                    purged_submissions = n,
                    files_removed = report.files_removed,
                    replies_purged = report.replies_purged,
                    payload_days = retention.payload_days,
                    "retention: purged the payloads of {n} forwarded submission(s)"
                );
            }
            Err(e) => tracing::warn!(error = %e, "retention: purge failed; tried again later"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewSubmission, SqliteStore};

    #[tokio::test]
    async fn purges_at_start_counts_and_stops_on_shutdown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("s.db"))
            .await
            .expect("open");
        let now = Timestamp::now();
        let long_ago = Timestamp(now.0 - 40 * 86_400_000);
        store
            .store_submission(
                NewSubmission::accepted_for_tests("sub-old", &["fv"], vec![], long_ago),
                long_ago,
            )
            .await
            .expect("store");
        store
            .mark_acknowledged("sub-old", long_ago, None)
            .await
            .expect("ack");
        let job = store
            .claim_jobs("w", long_ago, Duration::from_secs(30), 1)
            .await
            .expect("claim");
        store
            .complete_job(job[0].job_id, long_ago)
            .await
            .expect("complete");
        let metrics = Arc::new(Metrics::new());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(run_purges(
            store.clone(),
            Retention::default(),
            Some(Arc::clone(&metrics)),
            Duration::from_secs(3600),
            async {
                let _ = stopped.await;
            },
        ));
        // The first run is at start.
        tokio::time::timeout(Duration::from_secs(10), async {
            while metrics
                .render(None)
                .contains("poststelle_purged_submissions_total 0")
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("purged at start");
        assert!(
            metrics
                .render(None)
                .contains("poststelle_purged_submissions_total 1\n")
        );
        let view = store
            .submission("sub-old")
            .await
            .expect("view")
            .expect("row");
        assert!(view.purged_at.is_some() && view.envelope.is_none());
        let _ = stop.send(());
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("stops on shutdown")
            .expect("no panic");
        // Kept forever: returns at once, purging nothing.
        run_purges(
            store,
            Retention { payload_days: 0 },
            None,
            Duration::from_secs(1),
            std::future::pending(),
        )
        .await;
    }
}
