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
                    payload_days = retention.payload_days,
                    "retention: purged the payloads of {n} forwarded submission(s)"
                );
            }
            Err(e) => tracing::warn!(error = %e, "retention: purge failed; tried again later"),
        }
    }
}
