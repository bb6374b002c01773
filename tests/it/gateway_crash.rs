//! Acceptance 2 of the gateway (issue 6): crash safety of `poststelle serve`.
//!
//! 200 submissions flow from a sender through the sandbox (in this test process) to the
//! gateway (`poststelle serve --config FILE`, a child process) and on to an HTTP sink
//! (in this process) that records every request. Meanwhile the gateway is killed with SIGKILL
//! at random moments (seeded RNG; the seed is printed, `POSTSTELLE_CRASH_SEED` replays it) at
//! least five times and restarted at once. Afterwards:
//!
//! - every submission reached the sink: 200 distinct `Idempotency-Key`s (duplicates are allowed,
//!   delivery is at-least-once; their number is printed);
//! - every submission carries exactly one decision (an `accept-submission`) in its case log at
//!   the sandbox, and none is still deliverable; the sandbox refuses a second decision (checked
//!   once at the end: HTTP 409, log unchanged);
//! - the store has no pending acknowledgement and every outbox job is delivered: none lost.
//!
//! Both tests are `#[ignore]`d (about a minute each, debug build); CI runs them from
//! `.ci/steps.d/60-gateway.sh`:
//! `cargo test --locked --test it gateway_crash -- --ignored --test-threads=1`.
//! The PostgreSQL variant needs `POSTSTELLE_TEST_DATABASE_URL` and is skipped with a note
//! without it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use poststelle::config::JoseLimits;
use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::client::{Client, ClientConfig, Credentials};
use poststelle::fitconnect::sender::{
    self, Outgoing, OutgoingAttachment, SendOptions, detect_schema,
};
use poststelle::fitconnect::set::{self, ACCEPT_SUBMISSION, REJECT_SUBMISSION, SubmissionRef};
use poststelle::jose::CompactJws;
use poststelle::jose::x509::TrustPolicy;
use poststelle::sandbox::{Sandbox, SandboxHandle};
use poststelle::store::{AnyStore, JobFilter, JobState, Store};
use poststelle::xoev::catalog::Catalog;
use serde_json::Value;

use crate::forward_support::{Sink, TestStore};
use crate::pipeline_fixture::{shared, xgewerbeanzeige};
use crate::sandbox_support::{self, SERVICE};

/// Submissions sent.
const SUBMISSIONS: usize = 200;
/// Kills at least (more while the sender is still sending).
const MIN_KILLS: u32 = 5;
/// Senders at the same time.
const SENDERS: usize = 3;
/// The whole run, well below the CI bound of 4 minutes per test.
const BUDGET: Duration = Duration::from_secs(200);
/// The gateway's outbox lease: a killed worker's job is claimable again after this.
const LEASE_SECS: u64 = 3;

/// splitmix64: a small seeded generator, so a failing schedule can be replayed.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A duration in `[lo, hi)` milliseconds.
    pub(crate) fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(lo + self.next() % (hi - lo))
    }
}

/// `POSTSTELLE_CRASH_SEED`, or a random seed (printed by the caller so the run can be replayed).
pub(crate) fn seed() -> u64 {
    std::env::var("POSTSTELLE_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| getrandom::u64().expect("random seed"))
}

/// The gateway child process: started, SIGKILLed and restarted; output appended to one log.
pub(crate) struct Gateway {
    pub(crate) config: PathBuf,
    /// More arguments of `serve` (e.g. `--log-format json`).
    pub(crate) args: Vec<String>,
    pub(crate) log: PathBuf,
    pub(crate) child: Option<Child>,
    pub(crate) starts: u32,
    pub(crate) kills: u32,
}

impl Gateway {
    pub(crate) fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("gateway log");
        let child = Command::new(env!("CARGO_BIN_EXE_poststelle"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .args(&self.args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("POSTSTELLE_SHARED", shared())
            .env_remove("POSTSTELLE_PACKS")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .spawn()
            .expect("start poststelle serve");
        self.child = Some(child);
        self.starts += 1;
    }

    /// SIGKILL (`Child::kill` on Unix) and reap.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            self.kills += 1;
        }
    }

    /// Fails the test if the gateway exited by itself (it must only die by our hand).
    pub(crate) fn assert_running(&mut self) {
        if let Some(child) = &mut self.child
            && let Ok(Some(status)) = child.try_wait()
        {
            panic!("the gateway exited by itself ({status}):\n{}", self.tail());
        }
    }

    pub(crate) fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A client for the sandbox at `base`; as a sender it accepts the sandbox's self-signed keys.
pub(crate) fn client(base: &str, id: &str, secret: &str) -> Client {
    let mut config = ClientConfig::sandbox(base, ApiProfile::V1);
    config.trust = TrustPolicy::dangerous_self_signed();
    Client::new(config, Credentials::new(id, secret)).expect("client")
}

/// Sends submission `i`: the example XGewerbeanzeige and one small PDF of its own.
async fn send_one(sender: &Client, destination: &str, i: usize) -> (String, String) {
    send_data(sender, destination, i, xgewerbeanzeige()).await
}

/// Sends `xml` (its schema detected from the root) with one small attachment; (submission id,
/// case id).
pub(crate) async fn send_data(
    sender: &Client,
    destination: &str,
    i: usize,
    xml: Vec<u8>,
) -> (String, String) {
    let out = Outgoing {
        destination_id: destination.to_owned(),
        service_identifier: SERVICE.to_owned(),
        service_name: "Crash test".to_owned(),
        data_schema: detect_schema(&xml, Catalog::embedded()).expect("schema"),
        data: xml,
        attachments: vec![OutgoingAttachment {
            filename: Some(format!("anlage-{i}.pdf")),
            mime_type: "application/pdf".to_owned(),
            purpose: "attachment".to_owned(),
            bytes: format!("%PDF-1.7 crash test attachment {i}").into_bytes(),
        }],
        reply_channel: None,
    };
    let options = SendOptions {
        wait: Duration::ZERO,
        poll_interval: Duration::from_millis(100),
    };
    // The sandbox stays up: a failure here is a test failure, not a crash effect.
    let report = sender::send(sender, &out, &options, &mut |_| {})
        .await
        .expect("send");
    (report.submission_id, report.case_id)
}

/// The decision events (accept, reject) in a case log.
pub(crate) fn decisions(log: &Value) -> (usize, usize) {
    let limits = JoseLimits::default();
    let mut counts = (0, 0);
    for token in log["eventLog"].as_array().expect("event log") {
        let jws = CompactJws::parse(token.as_str().expect("token"), &limits).expect("jws");
        let claims: Value = serde_json::from_slice(jws.unverified_payload()).expect("claims");
        let events = claims["events"].as_object().expect("events");
        if events.contains_key(ACCEPT_SUBMISSION) {
            counts.0 += 1;
        }
        if events.contains_key(REJECT_SUBMISSION) {
            counts.1 += 1;
        }
    }
    counts
}

fn gateway_toml(sandbox_dir: &Path, sandbox: &SandboxHandle, store: &str, sink: &Sink) -> String {
    format!(
        "[delivery_service]\nsandbox_dir = {:?}\nsandbox_url = {:?}\n\
         [store]\naddress = {store:?}\n\
         [pipeline]\nconcurrency = 4\npoll_interval_secs = 1\n\
         [forwarding]\nlease_secs = {LEASE_SECS}\n\
         [[upstream]]\nname = \"sink\"\nurl = {:?}\n\
         [server]\nlisten = \"127.0.0.1:0\"\n\
         [dangerous]\nallow_plain_http = true\n",
        sandbox_dir.display().to_string(),
        sandbox.base_url(),
        sink.url("/in"),
    )
}

/// Sandbox (in this process), HTTP sink and a configured (not yet started) `serve` child.
pub(crate) struct Rig {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) destination: String,
    pub(crate) sandbox: SandboxHandle,
    pub(crate) sink: Sink,
    pub(crate) gateway: Gateway,
}

impl Rig {
    /// `pipeline_extra`: more `[pipeline]` lines for the gateway's configuration.
    pub(crate) async fn new(store: &str, pipeline_extra: &str) -> Self {
        Self::with(store, pipeline_extra, |_, _| {}).await
    }

    /// As [`Rig::new`], with the sandbox configuration edited by `edit` (given the sandbox
    /// directory) before the sandbox starts.
    pub(crate) async fn with(
        store: &str,
        pipeline_extra: &str,
        edit: impl FnOnce(&mut poststelle::sandbox::SandboxConfig, &Path),
    ) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let sandbox_dir = dir.path().join("sandbox");
        std::fs::create_dir_all(&sandbox_dir).expect("sandbox dir");
        let destination = uuid::Uuid::new_v4().to_string();
        let mut config = sandbox_support::config(&sandbox_dir, &destination);
        edit(&mut config, &sandbox_dir);
        std::fs::write(
            sandbox_dir.join("sandbox.toml"),
            config.to_toml().expect("toml"),
        )
        .expect("sandbox.toml");
        let sandbox = Sandbox::start(config).await.expect("sandbox starts");
        let sink = Sink::start().await;
        let config_path = dir.path().join("gateway.toml");
        let toml = gateway_toml(&sandbox_dir, &sandbox, store, &sink)
            .replace("[pipeline]\n", &format!("[pipeline]\n{pipeline_extra}"));
        std::fs::write(&config_path, toml).expect("gateway.toml");
        let gateway = Gateway {
            config: config_path,
            args: Vec::new(),
            log: dir.path().join("gateway.log"),
            child: None,
            starts: 0,
            kills: 0,
        };
        Self {
            dir,
            destination,
            sandbox,
            sink,
            gateway,
        }
    }
}

async fn crash_run(backend: &str, store: &str) {
    let seed = seed();
    println!(
        "gateway_crash[{backend}]: seed {seed} (POSTSTELLE_CRASH_SEED={seed} replays the kill schedule)"
    );
    let mut rng = Rng(seed);
    let started = Instant::now();
    let deadline = started + BUDGET;

    let Rig {
        dir: _dir, // kept until the end: the sandbox, the store and the log live in it
        destination,
        sandbox,
        sink,
        gateway: mut gw,
    } = Rig::new(store, "").await;

    // The sender: SENDERS tasks share the numbers 0..SUBMISSIONS, pacing themselves so the
    // flow spans the kills.
    let base = sandbox.base_url().to_owned();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut senders = tokio::task::JoinSet::new();
    for s in 0..SENDERS {
        let (base, destination, next) = (base.clone(), destination.clone(), Arc::clone(&next));
        let mut pace = Rng(seed ^ (s as u64 + 1));
        senders.spawn(async move {
            let sender = client(&base, "sender", "sender-secret-0123456789");
            let mut sent = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= SUBMISSIONS {
                    return sent;
                }
                sent.push(send_one(&sender, &destination, i).await);
                tokio::time::sleep(pace.millis(50, 400)).await;
            }
        });
    }

    gw.start();
    let mut sent: BTreeMap<String, String> = BTreeMap::new();
    // (seconds, submissions started, distinct keys forwarded) at each kill.
    let mut timeline: Vec<String> = Vec::new();
    let subscriber = client(&base, "subscriber", "subscriber-secret-0123456789");
    // Kill at random moments while the sender sends (at least MIN_KILLS times), restarting at
    // once or after a short pause.
    while !senders.is_empty() || gw.kills < MIN_KILLS {
        assert!(Instant::now() < deadline, "budget exceeded while killing");
        let wait = rng.millis(700, 5_000);
        let until = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < until {
            tokio::select! {
                Some(done) = senders.join_next(), if !senders.is_empty() => {
                    sent.extend(done.expect("sender task"));
                }
                () = tokio::time::sleep_until(until) => {}
            }
        }
        gw.assert_running();
        gw.kill();
        timeline.push(format!(
            "{:.1}s/{}/{}",
            started.elapsed().as_secs_f64(),
            next.load(std::sync::atomic::Ordering::SeqCst)
                .min(SUBMISSIONS),
            sink.delivered_keys().len()
        ));
        tokio::time::sleep(rng.millis(0, 800)).await;
        gw.start();
    }
    assert_eq!(sent.len(), SUBMISSIONS, "every submission was sent");
    let sending_done = started.elapsed();

    // Let the last gateway finish: everything forwarded and nothing deliverable any more.
    let ids: BTreeSet<String> = sent.keys().cloned().collect();
    loop {
        gw.assert_running();
        let forwarded = sink.delivered_keys();
        let listed = subscriber
            .list_all_submissions(&destination)
            .await
            .expect("list");
        if ids.is_subset(&forwarded) && listed.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not done within {BUDGET:?}: {} of {SUBMISSIONS} forwarded, {} still deliverable \
             (seed {seed})\n{}",
            ids.intersection(&forwarded).count(),
            listed.len(),
            gw.tail()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settled = started.elapsed();
    // Give a last ack bookkeeping round a moment, then stop the gateway for the store checks.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let final_kill = gw.child.is_some();
    gw.kill();
    if final_kill {
        gw.kills -= 1; // the stop after the run is not a crash under load
    }

    // Forwarded: every key, only our keys; duplicates counted.
    let received = sink.received();
    let mut posts: BTreeMap<String, usize> = BTreeMap::new();
    for r in received
        .iter()
        .filter(|r| r.method == "POST" && (200..300).contains(&r.status))
    {
        *posts
            .entry(r.idempotency_key.clone().expect("idempotency key"))
            .or_default() += 1;
    }
    let keys: BTreeSet<String> = posts.keys().cloned().collect();
    assert_eq!(keys, ids, "exactly our 200 submissions reached the sink");
    let duplicates: usize = posts.values().map(|n| n - 1).sum();
    for r in received.iter().filter(|r| r.method == "POST") {
        let envelope: Value = serde_json::from_slice(&r.body).expect("envelope json");
        assert_eq!(
            envelope["submission"]["id"].as_str(),
            r.idempotency_key.as_deref(),
            "the envelope belongs to its key"
        );
    }

    // Acknowledged exactly once each at the sandbox.
    let sender_client = client(&base, "sender", "sender-secret-0123456789");
    let mut acks = 0;
    for (sid, case) in &sent {
        let log = sender_client.events(case).await.expect("case log");
        let (accepts, rejects) = decisions(&log);
        assert_eq!(
            (accepts, rejects),
            (1, 0),
            "submission {sid}: exactly one decision, an accept (seed {seed})"
        );
        acks += accepts;
    }
    // The sandbox refuses a second decision and keeps its log as it was.
    let (sid, case) = sent.iter().next().expect("one submission");
    let before = sender_client.events(case).await.expect("case log");
    let second = set::accept_submission(
        &sandbox_support::keys().signing_private,
        &SubmissionRef {
            destination_id: &destination,
            submission_id: sid,
            case_id: case,
        },
        &set::AuthenticationTags::default(),
        sandbox_support::now(),
        set::PayloadSchema::default(),
    );
    let refused = subscriber.post_event(case, &second).await;
    assert_eq!(
        refused.as_ref().err().and_then(|e| e.status()),
        Some(409),
        "a second decision is refused"
    );
    assert_eq!(
        sender_client.events(case).await.expect("case log"),
        before,
        "the refused decision is not recorded"
    );

    // None lost in the store: every ack recorded, every job delivered.
    let store = AnyStore::open(store).await.expect("open the store");
    let pending = store.pending_acks(1_000).await.expect("pending acks");
    assert!(
        pending.is_empty(),
        "{} acknowledgements still pending in the store",
        pending.len()
    );
    let jobs = store
        .list_jobs(JobFilter {
            state: None,
            limit: 10_000,
        })
        .await
        .expect("jobs");
    assert_eq!(jobs.len(), SUBMISSIONS, "one outbox job per submission");
    assert!(
        jobs.iter().all(|j| j.state == JobState::Delivered),
        "every job delivered: {:?}",
        jobs.iter()
            .filter(|j| j.state != JobState::Delivered)
            .collect::<Vec<_>>()
    );
    let attempts: u64 = jobs.iter().map(|j| u64::from(j.attempts)).sum();

    println!(
        "gateway_crash[{backend}]: seed {seed}; {} SIGKILLs, {} starts; sent {SUBMISSIONS} \
         (done after {:.0} s); forwarded {} distinct Idempotency-Keys, {duplicates} duplicate \
         POSTs, {attempts} delivery attempts; acknowledged {acks} (exactly one decision each, a \
         second one refused with 409); all settled after {:.0} s",
        gw.kills,
        gw.starts,
        sending_done.as_secs_f64(),
        keys.len(),
        settled.as_secs_f64(),
    );
    println!(
        "gateway_crash[{backend}]: kills at (time/sent/forwarded): {}",
        timeline.join(", ")
    );
    assert!(gw.kills >= MIN_KILLS, "killed at least {MIN_KILLS} times");
    sandbox.shutdown().await;
    sink.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about a minute: run with --ignored (CI: .ci/steps.d/60-gateway.sh)"]
async fn sigkilled_gateway_loses_nothing_on_sqlite() {
    let dir = tempfile::tempdir().expect("tempdir");
    let address = format!("sqlite:{}", dir.path().join("gateway.db").display());
    crash_run("sqlite", &address).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "about a minute: run with --ignored (CI: .ci/steps.d/60-gateway.sh)"]
async fn sigkilled_gateway_loses_nothing_on_postgres() {
    let Some(pg) = TestStore::postgres().await else {
        println!(
            "gateway_crash[postgres]: skipped, POSTSTELLE_TEST_DATABASE_URL is not set \
             (e.g. postgres://postgres@127.0.0.1:5432/test)"
        );
        return;
    };
    let address = pg.address.clone();
    crash_run("postgres", &address).await;
    drop(pg);
}
