//! The gateway's counters and histograms, rendered in the Prometheus text format (0.0.4).
//!
//! One shared [`Metrics`] (in an `Arc`) is incremented by the pipeline (received, accepted,
//! rejected, stage latencies), the forwarder (forwarded, retries, dead letters) and the server
//! (callbacks); `/metrics` renders it together with the store's queue figures. Labels carry only
//! bounded, non-personal values: problem type URIs, upstream names from the configuration,
//! fixed stage names. Each labelled family keeps at most [`MAX_SERIES`] label values; further
//! values are counted under `other`, so a misbehaving peer cannot grow memory.
//!
//! Series (all prefixed `poststelle_`):
//!
//! | name | type | labels |
//! |---|---|---|
//! | `submissions_received_total` | counter | |
//! | `submissions_accepted_total` | counter | |
//! | `submissions_rejected_total` | counter | `problem` (problem type URI) |
//! | `forwarded_total` | counter | `upstream` |
//! | `forward_retries_total` | counter | `upstream` |
//! | `dead_letters_total` | counter | `upstream` |
//! | `decisions_total` | counter | `destination` (configured destination ids, from 0) |
//! | `callbacks_total` | counter | `outcome` (`accepted`, `refused`) |
//! | `callbacks_refused_total` | counter | `reason` ([`CALLBACK_REFUSALS`]) |
//! | `poll_errors_total` | counter | |
//! | `ack_failures_total` | counter | |
//! | `build_info` | gauge | `version` (always 1) |
//! | `stage_duration_seconds` | histogram | `stage` |
//! | `store_up` | gauge | |
//! | `queue_depth` | gauge | (due, unleased jobs) |
//! | `queue_oldest_due_age_seconds` | gauge | |
//! | `outbox_jobs` | gauge | `state` (`pending`, `leased`, `delivered`, `dead`) |
//! | `submissions` | gauge | `state` (`unfinished`, `unacked`, `acked`) |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::store::QueueMetrics;

/// Why callbacks are refused (`callbacks_refused_total{reason}`; every series starts at 0):
/// no callback secret for the destination in the path, a missing header, a malformed or
/// out-of-window timestamp, a MAC that does not verify, a replay, a body that is not a notice,
/// too large or too slow, or the gateway cannot take it now (store down, queue full).
pub const CALLBACK_REFUSALS: [&str; 10] = [
    "unknown_destination",
    "missing_header",
    "bad_timestamp",
    "stale",
    "bad_mac",
    "replay",
    "bad_body",
    "too_large",
    "timeout",
    "unavailable",
];

/// Label values kept per labelled family before new values fold into `other`.
pub const MAX_SERIES: usize = 64;

/// Upper bounds (seconds) of the stage latency histogram buckets.
pub const BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// A processing stage whose latency is measured; every one is observed (the check's steps —
/// SETs and tags, decryption, metadata and hashes, XSD validation fused with the XML → JSON
/// transform in one streaming pass — are one stage, as they run as one blocking task).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Stage {
    /// Fetching the submission, attachments and event log.
    Fetch,
    /// Checking: event log and authentication tags, decryption, metadata, hashes, validation
    /// and transform.
    Check,
    /// The store transaction of the decision.
    Store,
    /// Posting one accept/reject SET to the delivery service.
    Ack,
    /// One delivery attempt to an upstream.
    Forward,
    /// A whole submission, from fetch to stored decision.
    Total,
}

impl Stage {
    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fetch => "fetch",
            Self::Check => "check",
            Self::Store => "store",
            Self::Ack => "ack",
            Self::Forward => "forward",
            Self::Total => "total",
        }
    }
}

#[derive(Debug, Default)]
struct Family(Mutex<BTreeMap<String, u64>>);

impl Family {
    /// Starts the series of `label` at 0 (so that dashboards see it before its first event).
    fn init(&self, label: &str) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() < MAX_SERIES {
            map.entry(label.to_owned()).or_default();
        }
    }

    fn inc(&self, label: &str) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(n) = map.get_mut(label) {
            *n += 1;
        } else if map.len() < MAX_SERIES {
            map.insert(label.to_owned(), 1);
        } else {
            *map.entry("other".to_owned()).or_default() += 1;
        }
    }

    fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[derive(Debug, Clone, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The gateway's metrics. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    received: AtomicU64,
    accepted: AtomicU64,
    poll_errors: AtomicU64,
    ack_failures: AtomicU64,
    purged: AtomicU64,
    rejected: Family,
    forwarded: Family,
    retries: Family,
    dead_letters: Family,
    callbacks: Family,
    callbacks_refused: Family,
    decisions: Family,
    stages: Mutex<BTreeMap<Stage, Histogram>>,
}

impl Metrics {
    /// Fresh metrics, all zero.
    #[must_use]
    pub fn new() -> Self {
        let metrics = Self::default();
        for reason in CALLBACK_REFUSALS {
            metrics.callbacks_refused.init(reason);
        }
        metrics
    }

    /// A submission was fetched from the delivery service.
    pub fn submission_received(&self) {
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts the per-upstream series (delivered, retries, dead letters) of the configured
    /// upstreams at 0.
    pub fn register_upstreams<'a>(&self, upstreams: impl IntoIterator<Item = &'a str>) {
        for u in upstreams {
            self.forwarded.init(u);
            self.retries.init(u);
            self.dead_letters.init(u);
        }
    }

    /// A poll round failed (delivery service or store).
    pub fn poll_error(&self) {
        self.poll_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// An acknowledgement (accept/reject SET) could not be posted; it is retried.
    pub fn ack_failure(&self) {
        self.ack_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The payloads of `n` submissions were purged under the retention.
    pub fn payloads_purged(&self, n: u64) {
        self.purged.fetch_add(n, Ordering::Relaxed);
    }

    /// A submission was accepted (stored with an accept decision).
    pub fn submission_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts the per-destination decision series of the configured destinations at 0.
    pub fn register_destinations<'a>(&self, destinations: impl IntoIterator<Item = &'a str>) {
        for d in destinations {
            self.decisions.init(d);
        }
    }

    /// A submission for `destination` was decided (accepted or rejected) and stored.
    pub fn decided(&self, destination: &str) {
        self.decisions.inc(destination);
    }

    /// A submission was rejected; counted once per problem type it carries.
    pub fn submission_rejected(&self, problem_type: &str) {
        self.rejected.inc(problem_type);
    }

    /// A job was delivered to `upstream`.
    pub fn forwarded(&self, upstream: &str) {
        self.forwarded.inc(upstream);
    }

    /// A delivery to `upstream` failed and is scheduled again.
    pub fn forward_retry(&self, upstream: &str) {
        self.retries.inc(upstream);
    }

    /// A job for `upstream` became a dead letter.
    pub fn dead_letter(&self, upstream: &str) {
        self.dead_letters.inc(upstream);
    }

    /// A callback was accepted (`true`) or refused.
    pub fn callback(&self, accepted: bool) {
        self.callbacks
            .inc(if accepted { "accepted" } else { "refused" });
    }

    /// A callback was refused for `reason` (one of [`CALLBACK_REFUSALS`]).
    pub fn callback_refused(&self, reason: &str) {
        self.callbacks_refused.inc(reason);
    }

    /// Records how long a stage took.
    pub fn observe_stage(&self, stage: Stage, took: Duration) {
        let secs = took.as_secs_f64();
        let mut stages = self
            .stages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let h = stages.entry(stage).or_default();
        for (bound, n) in BUCKETS.iter().zip(h.counts.iter_mut()) {
            if secs <= *bound {
                *n += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Current value of a counter family member, for tests and the status page
    /// (`forwarded`, `retries`, `dead_letters`, `rejected`, `callbacks`, `callbacks_refused`,
    /// `decisions`).
    #[must_use]
    pub fn count(&self, family: &str, label: &str) -> u64 {
        let f = match family {
            "forwarded" => &self.forwarded,
            "retries" => &self.retries,
            "dead_letters" => &self.dead_letters,
            "rejected" => &self.rejected,
            "callbacks" => &self.callbacks,
            "callbacks_refused" => &self.callbacks_refused,
            "decisions" => &self.decisions,
            _ => return 0,
        };
        f.snapshot().get(label).copied().unwrap_or(0)
    }

    /// The Prometheus text exposition. `queue` is `None` when the store could not be read
    /// (then `store_up` is 0 and the queue gauges are left out).
    #[must_use]
    pub fn render(&self, queue: Option<&QueueMetrics>) -> String {
        let mut out = String::with_capacity(4096);
        let scalar = |out: &mut String, name: &str, kind: &str, help: &str, value: String| {
            header(out, name, kind, help);
            let _ = writeln!(out, "poststelle_{name} {value}");
        };
        scalar(
            &mut out,
            "submissions_received_total",
            "counter",
            "Submissions fetched from the delivery service.",
            self.received.load(Ordering::Relaxed).to_string(),
        );
        scalar(
            &mut out,
            "submissions_accepted_total",
            "counter",
            "Submissions accepted and stored.",
            self.accepted.load(Ordering::Relaxed).to_string(),
        );
        scalar(
            &mut out,
            "poll_errors_total",
            "counter",
            "Poll rounds that failed (delivery service or store unavailable).",
            self.poll_errors.load(Ordering::Relaxed).to_string(),
        );
        scalar(
            &mut out,
            "ack_failures_total",
            "counter",
            "Acknowledgements (accept/reject SETs) that could not be posted; retried.",
            self.ack_failures.load(Ordering::Relaxed).to_string(),
        );
        scalar(
            &mut out,
            "purged_submissions_total",
            "counter",
            "Submissions whose payload was purged under the retention (evidence kept).",
            self.purged.load(Ordering::Relaxed).to_string(),
        );
        header(
            &mut out,
            "build_info",
            "gauge",
            "The running version (always 1).",
        );
        let _ = writeln!(
            out,
            "poststelle_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let families = [
            (
                "submissions_rejected_total",
                "problem",
                "Rejections by FIT-Connect problem type.",
                &self.rejected,
            ),
            (
                "forwarded_total",
                "upstream",
                "Outbox jobs delivered, by upstream.",
                &self.forwarded,
            ),
            (
                "forward_retries_total",
                "upstream",
                "Failed deliveries scheduled for another attempt, by upstream.",
                &self.retries,
            ),
            (
                "dead_letters_total",
                "upstream",
                "Outbox jobs moved to the dead letters, by upstream.",
                &self.dead_letters,
            ),
            (
                "decisions_total",
                "destination",
                "Submissions decided and stored, by destination.",
                &self.decisions,
            ),
            (
                "callbacks_total",
                "outcome",
                "Callbacks received, by outcome.",
                &self.callbacks,
            ),
            (
                "callbacks_refused_total",
                "reason",
                "Callbacks refused, by reason.",
                &self.callbacks_refused,
            ),
        ];
        for (name, label, help, family) in families {
            header(&mut out, name, "counter", help);
            for (value, n) in family.snapshot() {
                let _ = writeln!(
                    out,
                    "poststelle_{name}{{{label}=\"{}\"}} {n}",
                    escape(&value)
                );
            }
        }
        self.render_stages(&mut out);
        scalar(
            &mut out,
            "store_up",
            "gauge",
            "Whether the store answered this scrape.",
            u8::from(queue.is_some()).to_string(),
        );
        if let Some(q) = queue {
            render_queue(&mut out, q);
        }
        out
    }

    fn render_stages(&self, out: &mut String) {
        let name = "stage_duration_seconds";
        header(out, name, "histogram", "Latency of processing stages.");
        let stages = self
            .stages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for (stage, h) in stages {
            let stage = stage.as_str();
            for (bound, n) in BUCKETS.iter().zip(h.counts) {
                let _ = writeln!(
                    out,
                    "poststelle_{name}_bucket{{stage=\"{stage}\",le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "poststelle_{name}_bucket{{stage=\"{stage}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(out, "poststelle_{name}_sum{{stage=\"{stage}\"}} {}", h.sum);
            let _ = writeln!(
                out,
                "poststelle_{name}_count{{stage=\"{stage}\"}} {}",
                h.count
            );
        }
    }
}

fn render_queue(out: &mut String, q: &QueueMetrics) {
    header(
        out,
        "queue_depth",
        "gauge",
        "Outbox jobs due now and not leased.",
    );
    let _ = writeln!(out, "poststelle_queue_depth {}", q.jobs_due);
    header(
        out,
        "queue_oldest_due_age_seconds",
        "gauge",
        "How long the oldest due job has been waiting.",
    );
    let _ = writeln!(
        out,
        "poststelle_queue_oldest_due_age_seconds {}",
        q.oldest_due_age.as_secs_f64()
    );
    header(out, "outbox_jobs", "gauge", "Outbox jobs by state.");
    for (state, n) in [
        ("pending", q.jobs_pending),
        ("leased", q.jobs_leased),
        ("delivered", q.jobs_delivered),
        ("dead", q.jobs_dead),
    ] {
        let _ = writeln!(out, "poststelle_outbox_jobs{{state=\"{state}\"}} {n}");
    }
    header(
        out,
        "replies",
        "gauge",
        "Replies of Fachverfahren by state (pending: being sent or followed; dead: given up).",
    );
    for (state, n) in [("pending", q.replies_pending), ("dead", q.replies_dead)] {
        let _ = writeln!(out, "poststelle_replies{{state=\"{state}\"}} {n}");
    }
    header(out, "submissions", "gauge", "Submissions by state.");
    for (state, n) in [
        ("unfinished", q.submissions_unfinished),
        ("unacked", q.submissions_unacked),
        ("acked", q.submissions_acked),
    ] {
        let _ = writeln!(out, "poststelle_submissions{{state=\"{state}\"}} {n}");
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP poststelle_{name} {help}");
    let _ = writeln!(out, "# TYPE poststelle_{name} {kind}");
}

/// Escapes a label value (`\`, `"`, newline), as the text format requires.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_bounded_and_labels_escaped() {
        let m = Metrics::new();
        for i in 0..(MAX_SERIES + 10) {
            m.submission_rejected(&format!("p{i}"));
        }
        m.submission_rejected("a\"b\\c\nd");
        assert_eq!(m.count("rejected", "other"), 11);
        m.forwarded("x\"y");
        let text = m.render(None);
        assert!(
            text.contains("poststelle_forwarded_total{upstream=\"x\\\"y\"} 1"),
            "{text}"
        );
        assert!(text.contains("poststelle_store_up 0"));
    }

    /// Issue 13, scope 7: the version, poll errors and acknowledgement failures are exposed,
    /// and the series of configured upstreams exist before their first delivery.
    #[test]
    fn build_info_failures_and_configured_upstreams_are_exposed() {
        let m = Metrics::new();
        m.register_upstreams(["bauamt", "gewerbeamt"]);
        m.poll_error();
        m.ack_failure();
        m.ack_failure();
        let text = m.render(None);
        for line in [
            format!(
                "poststelle_build_info{{version=\"{}\"}} 1",
                env!("CARGO_PKG_VERSION")
            ),
            "poststelle_poll_errors_total 1".to_owned(),
            "poststelle_ack_failures_total 2".to_owned(),
            "poststelle_forwarded_total{upstream=\"bauamt\"} 0".to_owned(),
            "poststelle_dead_letters_total{upstream=\"gewerbeamt\"} 0".to_owned(),
            "poststelle_forward_retries_total{upstream=\"gewerbeamt\"} 0".to_owned(),
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
        m.forwarded("bauamt");
        assert_eq!(m.count("forwarded", "bauamt"), 1);
    }

    #[test]
    fn histogram_buckets_are_cumulative() {
        let m = Metrics::new();
        m.observe_stage(Stage::Store, Duration::from_millis(3));
        m.observe_stage(Stage::Store, Duration::from_millis(200));
        m.observe_stage(Stage::Store, Duration::from_secs(100));
        let text = m.render(None);
        for (le, n) in [("0.005", 1), ("0.25", 2), ("60", 2), ("+Inf", 3)] {
            let line = format!(
                "poststelle_stage_duration_seconds_bucket{{stage=\"store\",le=\"{le}\"}} {n}"
            );
            assert!(text.contains(&line), "{line}\n{text}");
        }
        assert!(text.contains("poststelle_stage_duration_seconds_count{stage=\"store\"} 3"));
    }
}
