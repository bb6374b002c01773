//! Gateway throughput benchmark (issue 6, acceptance 5): the sandbox (delivery service, in this
//! process), the gateway (`poststelle serve`, the release binary, a child process, SQLite store
//! by default) and an HTTP sink (in this process), all on this machine.
//!
//! Each submission: a valid XBau 2.6 `baugenehmigung.antrag.0200` grown to about 100 KB
//! (`benches/xsd/gen_xbau.py --size-mb 0.1`, from the shared sample) plus two 1 MiB attachments
//! (random bytes, distinct per submission), sent with the library sender
//! (`fitconnect::sender::send`). The sandbox calls the gateway back on every submission, the
//! gateway checks (decrypt, hashes, tags, XSD), stores, acknowledges (after-store) and forwards
//! to the sink. `--inflight` senders run closed-loop: each waits for the acknowledgement of its
//! submission before it sends the next, so latency is not queueing behind an unbounded backlog.
//!
//! Measured: submissions per second (first send to last acknowledgement) and p50/p99 latency
//! from the end of the submit call to the acknowledgement (seen in the sandbox: the submission
//! stops being deliverable; the watcher lists every 10 ms). Compared in the same run with the
//! bound `openssl speed -seconds 3 rsa4096` implies for the RSA-4096 private-key operations the
//! run performs per submission: 4 RSA-OAEP unwraps on the gateway (metadata, data, two
//! attachments), 1 PS512 signature on the gateway (accept SET) and 2 on the sandbox
//! (create-submission and submit-submission SETs) = 7. openssl measures one core; the bound is
//! given for one core and for all cores of the machine.
//!
//! **The gateway's own CPU per submission** (issue 18, goal 1): the gateway process's user +
//! system time from `/proc/<pid>/stat` over the measured window (first send to last
//! forward), divided by the submissions; compared with its crypto floor computed in the same
//! run from this machine's rates (our aws-lc RSA-OAEP-4096 unwrap and PS512 sign, per CPU
//! second): 4 unwraps + 1 signature. Beside it, the *protocol floor*: that plus what the
//! protocol requires on every payload byte (one SHA-512 for the hash check, one AES-256-GCM
//! pass, one base64url decode of the JWE text), at rates measured in the same run; the goal
//! stays on the crypto floor. On two or more cores the gateway is pinned to CPU 0
//! (`taskset`) and this process — the load generator: sandbox, senders, sink — to the others,
//! so the throughput is the gateway's per core. `--gateway-cpus 0,1` pins it to two (the load
//! generator then shares them), `--no-pin` pins nothing.
//!
//! Where the gateway's threads wait at 8 in flight (locks, the store's connection, idle pools):
//! `bash benches/gateway/contention.sh`, an off-CPU profile from scheduler switches (goal 4).
//!
//! Run: `cargo bench --bench gateway` (150 submissions, about 30 s), `-- --quick` (30),
//! `-- --submissions N --inflight C --store postgres://… --gateway-cpus LIST`. Needs
//! `python3`, `openssl`, `taskset` (for pinning) and the shared data (`POSTSTELLE_SHARED`,
//! default `../shared`). `POSTSTELLE_BENCH_GATEWAY=<path>` runs another build of the gateway
//! (a before/after comparison on the same machine in one session).
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::client::{Client, ClientConfig, Credentials};
use poststelle::fitconnect::sender::{self, Outgoing, OutgoingAttachment, SendOptions};
use poststelle::jose::x509::TrustPolicy;
use poststelle::sandbox::{ClientRole, Sandbox, SandboxConfig};
use poststelle::xoev::catalog::Catalog;

#[path = "../common/openssl.rs"]
mod openssl;
use openssl::openssl_rsa4096_private_ops;

#[path = "../common/cpu.rs"]
mod cpu;

#[path = "../common/rsa_rates.rs"]
mod rsa_rates;

/// RSA-4096 private-key operations per submission (see the module documentation).
const GATEWAY_UNWRAPS: u32 = 4;
const GATEWAY_SIGNATURES: u32 = 1;
const SANDBOX_SIGNATURES: u32 = 2;
const PRIVATE_OPS: u32 = GATEWAY_UNWRAPS + GATEWAY_SIGNATURES + SANDBOX_SIGNATURES;
const ATTACHMENT_BYTES: usize = 1024 * 1024;
const SERVICE: &str = "urn:de:fim:leika:leistung:99099002067003";

struct Args {
    submissions: usize,
    inflight: usize,
    store: Option<String>,
    warmup: usize,
    /// CPUs the gateway is pinned to (`taskset -c` list); `None`: not pinned.
    gateway_cpus: Option<String>,
}

/// The CPUs of this machine as `taskset` lists: (gateway, load generator). Default: the
/// gateway on CPU 0, the load generator on the rest; `None` on one core.
fn cpu_split(cores: usize, gateway: Option<&str>) -> Option<(String, String)> {
    if cores < 2 {
        return None;
    }
    let gateway = gateway.unwrap_or("0").to_owned();
    let taken: Vec<usize> = gateway.split(',').filter_map(|c| c.parse().ok()).collect();
    let mut rest: Vec<String> = (0..cores)
        .filter(|c| !taken.contains(c))
        .map(|c| c.to_string())
        .collect();
    if rest.is_empty() {
        // The gateway has every CPU: the load generator shares them.
        rest = (0..cores).map(|c| c.to_string()).collect();
    }
    Some((gateway, rest.join(",")))
}

/// Pins this process (before any thread starts: later threads inherit it) to `cpus`.
fn pin_self(cpus: &str) -> bool {
    Command::new("taskset")
        .args(["-p", "-c", cpus, &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The gateway's crypto floor per submission, from this machine's rates measured now: CPU
/// seconds for `GATEWAY_UNWRAPS` RSA-OAEP-4096 unwraps and `GATEWAY_SIGNATURES` PS512 signatures
/// (our aws-lc path, per CPU second). Returns (floor seconds, unwraps/s, signs/s).
fn crypto_floor() -> (f64, f64, f64) {
    let ((unwraps, _), (signs, _)) = rsa_rates::Keys::generate().rates(Duration::from_secs(2));
    let floor = f64::from(GATEWAY_UNWRAPS) / unwraps + f64::from(GATEWAY_SIGNATURES) / signs;
    (floor, unwraps, signs)
}

/// The rates of the work the protocol requires on every payload byte, measured now on a 1 MiB
/// buffer (per CPU second, 0.5 s each): one SHA-512 of the plaintext (the hash check of data and
/// attachments, aws-lc), one AES-256-GCM pass (aws-lc; sealing costs what opening costs) and one
/// base64url decode of the compact JWE's ciphertext (the `base64` crate). In bytes per second:
/// (SHA-512, AES-256-GCM, base64url decode, per encoded byte).
fn payload_rates() -> (f64, f64, f64) {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use base64::Engine as _;
    let each = Duration::from_millis(500);
    #[allow(clippy::cast_precision_loss)]
    let mib = ATTACHMENT_BYTES as f64;
    let mut buf = attachment(7);
    let (sha512, _) = cpu::rate(each, || {
        std::hint::black_box(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA512, &buf));
    });
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).unwrap());
    let (gcm, _) = cpu::rate(each, || {
        let nonce = Nonce::assume_unique_for_key([1; 12]);
        let tag = key
            .seal_in_place_separate_tag(nonce, Aad::empty(), &mut buf)
            .unwrap();
        std::hint::black_box(tag.as_ref()[0]);
    });
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&buf);
    let (b64, _) = cpu::rate(each, || {
        let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode_slice(&encoded, &mut buf)
            .unwrap();
        std::hint::black_box(n);
    });
    #[allow(clippy::cast_precision_loss)]
    let encoded_len = encoded.len() as f64;
    (sha512 * mib, gcm * mib, b64 * encoded_len)
}

fn args() -> Args {
    let mut a = Args {
        submissions: 150,
        inflight: 4,
        store: None,
        warmup: 3,
        gateway_cpus: Some("0".to_owned()),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => a.submissions = 30,
            "--submissions" => a.submissions = it.next().and_then(|v| v.parse().ok()).unwrap(),
            "--inflight" => a.inflight = it.next().and_then(|v| v.parse().ok()).unwrap(),
            "--store" => a.store = it.next(),
            "--gateway-cpus" => a.gateway_cpus = it.next(),
            "--no-pin" => a.gateway_cpus = None,
            // `cargo bench` passes --bench; anything else is ignored likewise.
            _ => {}
        }
    }
    a
}

fn shared() -> PathBuf {
    std::env::var_os("POSTSTELLE_SHARED").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"),
        PathBuf::from,
    )
}

/// The ~100 KB XBau message, generated by the XSD benchmark's generator.
fn xbau_message(dir: &Path) -> Vec<u8> {
    let out = dir.join("xbau-100k.xml");
    let status = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/xsd/gen_xbau.py"))
        .arg("--shared")
        .arg(shared())
        .args(["--size-mb", "0.1", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .expect("python3 runs");
    assert!(status.success(), "gen_xbau.py failed");
    std::fs::read(&out).expect("generated message")
}

/// Pseudo-random, incompressible bytes (xorshift), distinct per `seed`.
fn attachment(seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut out = Vec::with_capacity(ATTACHMENT_BYTES);
    while out.len() < ATTACHMENT_BYTES {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(ATTACHMENT_BYTES);
    out
}

/// The upstream: counts envelope POSTs (by Idempotency-Key) and bytes, answers 200.
#[derive(Default)]
struct SinkStats {
    posts: HashMap<String, usize>,
    bytes: u64,
}

async fn start_sink() -> (String, Arc<Mutex<SinkStats>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/in", listener.local_addr().unwrap());
    let stats = Arc::new(Mutex::new(SinkStats::default()));
    let s = Arc::clone(&stats);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let s = Arc::clone(&s);
            let service = service_fn(move |req: Request<Incoming>| {
                let s = Arc::clone(&s);
                async move {
                    let key = req
                        .headers()
                        .get("idempotency-key")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    let post = req.method() == hyper::Method::POST;
                    let mut body = req.into_body();
                    let mut n = 0u64;
                    while let Some(Ok(frame)) = body.frame().await {
                        if let Some(d) = frame.data_ref() {
                            n += d.len() as u64;
                        }
                    }
                    let mut st = s.lock().unwrap();
                    st.bytes += n;
                    if let (true, Some(k)) = (post, key) {
                        *st.posts.entry(k).or_default() += 1;
                    }
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                }
            });
            tokio::spawn(async move {
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, stats)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// Acknowledgement times, filled by the watcher: id → (registered at, acknowledged at).
type Acks = Arc<Mutex<HashMap<String, (Instant, Option<Instant>)>>>;

/// Lists the deliverable submissions every 10 ms; a registered id absent from a list fetched
/// after its registration has been decided.
async fn watch(subscriber: Client, destination: String, acks: Acks) {
    loop {
        let asked = Instant::now();
        if let Ok(list) = subscriber.list_all_submissions(&destination).await {
            let listed: std::collections::HashSet<String> =
                list.into_iter().map(|i| i.submission_id).collect();
            let now = Instant::now();
            for (id, (registered, acked)) in acks.lock().unwrap().iter_mut() {
                if acked.is_none() && *registered < asked && !listed.contains(id) {
                    *acked = Some(now);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[allow(clippy::too_many_lines)]
async fn run(a: Args, cores: usize, split: Option<(String, String)>) {
    println!("openssl speed -seconds 3 rsa4096 (one core, before the load) …");
    let openssl = openssl_rsa4096_private_ops(3);
    println!("crypto floor: our RSA-OAEP-4096 unwrap and PS512 sign rates (2 s each) …");
    let floor = crypto_floor();
    println!("payload floor: SHA-512, AES-256-GCM and base64url decode rates (0.5 s each) …");
    let payload = payload_rates();
    let dir = tempfile::tempdir().unwrap();
    let xml = xbau_message(dir.path());
    let schema = sender::detect_schema(&xml, Catalog::embedded()).expect("an XBau message");

    // Sandbox with a callback to the gateway's port.
    let gw_port = free_port();
    let mut sc = SandboxConfig::generated();
    sc.listen = "127.0.0.1:0".parse().unwrap();
    sc.data_dir = dir.path().join("sandbox");
    let destination = sc.destinations[0].id.clone();
    sc.destinations[0].callback_url = Some(format!(
        "http://127.0.0.1:{gw_port}/callbacks/{destination}"
    ));
    sc.destinations[0].callback_secret = Some(format!("bench-{}", uuid::Uuid::new_v4()));
    sc.destinations[0].services[0].identifier = SERVICE.to_owned();
    let client_of = |role: ClientRole| {
        sc.clients
            .iter()
            .find(|c| c.role == role)
            .map(|c| (c.id.clone(), c.secret.clone()))
            .unwrap()
    };
    let (sender_id, sender_secret) = client_of(ClientRole::Sender);
    let (sub_id, sub_secret) = client_of(ClientRole::Subscriber);
    std::fs::create_dir_all(&sc.data_dir).unwrap();
    std::fs::write(sc.data_dir.join("sandbox.toml"), sc.to_toml().unwrap()).unwrap();
    println!("starting the sandbox (RSA-4096 key generation) …");
    let sandbox = Sandbox::start(sc.clone()).await.expect("sandbox");
    let base = sandbox.base_url().to_owned();
    let (sink_url, sink) = start_sink().await;

    let store = a
        .store
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.path().join("gateway.sqlite3").display()));
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[delivery_service]\nsandbox_dir = {:?}\nsandbox_url = {base:?}\n\
             [store]\naddress = {store:?}\n\
             [pipeline]\nconcurrency = 4\npoll_interval_secs = 5\n\
             [[upstream]]\nname = \"sink\"\nurl = {sink_url:?}\n\
             [server]\nlisten = \"127.0.0.1:{gw_port}\"\n\
             [dangerous]\nallow_plain_http = true\n",
            sc.data_dir.display().to_string(),
        ),
    )
    .unwrap();
    let log = std::fs::File::create(dir.path().join("gateway.log")).unwrap();
    // `POSTSTELLE_BENCH_GATEWAY`: another build of the gateway (before/after comparisons in
    // one checkout); default: the one this bench was built with.
    let binary = std::env::var_os("POSTSTELLE_BENCH_GATEWAY").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_poststelle")),
        PathBuf::from,
    );
    println!("gateway binary: {}", binary.display());
    let mut command = match &split {
        Some((gateway_cpus, _)) => {
            let mut c = Command::new("taskset");
            c.args(["-c", gateway_cpus]).arg(&binary);
            c
        }
        None => Command::new(&binary),
    };
    let gateway = Gateway(
        command
            .args(["serve", "--config"])
            .arg(&config)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("POSTSTELLE_SHARED", shared())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("poststelle serve starts"),
    );
    let http = reqwest::Client::new();
    let health = format!("http://127.0.0.1:{gw_port}/health");
    let up = Instant::now();
    while !http
        .get(&health)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(up.elapsed() < Duration::from_secs(60), "gateway not up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let acks: Acks = Arc::new(Mutex::new(HashMap::new()));
    let subscriber = Client::new(
        ClientConfig::sandbox(&base, ApiProfile::V1),
        Credentials::new(&sub_id, &sub_secret),
    )
    .unwrap();
    let watcher = tokio::spawn(watch(subscriber, destination.clone(), Arc::clone(&acks)));

    let total = a.warmup + a.submissions;
    let next = Arc::new(AtomicUsize::new(0));
    let xml = Arc::new(xml);
    println!(
        "sending {} warm-up + {} submissions ({} KB XBau + 2 × 1 MiB), {} in flight …",
        a.warmup,
        a.submissions,
        xml.len() / 1000,
        a.inflight
    );
    let mut started_at = None;
    let mut cpu_at_start = None;
    let mut tasks = tokio::task::JoinSet::new();
    for phase in [0, 1] {
        // Phase 0: warm-up (grammar compile, connections), one at a time; phase 1: measured.
        let (workers, until) = if phase == 0 {
            (1, a.warmup)
        } else {
            // The warm-up worker took one number past its range when it stopped.
            next.store(a.warmup, Ordering::SeqCst);
            // The warm-up's forwarding (behind its acknowledgement) ends before the window.
            let t = Instant::now();
            while sink.lock().unwrap().posts.len() < a.warmup
                && t.elapsed() < Duration::from_secs(30)
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            started_at = Some(Instant::now());
            cpu_at_start = cpu::other_process_cpu_secs(gateway.0.id());
            (a.inflight, total)
        };
        for _ in 0..workers {
            let (base, destination, next, acks, xml, schema) = (
                base.clone(),
                destination.clone(),
                Arc::clone(&next),
                Arc::clone(&acks),
                Arc::clone(&xml),
                schema.clone(),
            );
            let (id, secret) = (sender_id.clone(), sender_secret.clone());
            tasks.spawn(async move {
                let mut config = ClientConfig::sandbox(&base, ApiProfile::V1);
                config.trust = TrustPolicy::dangerous_self_signed();
                let client = Client::new(config, Credentials::new(&id, &secret)).unwrap();
                let options = SendOptions {
                    wait: Duration::ZERO,
                    poll_interval: Duration::from_millis(100),
                };
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= until {
                        return latencies;
                    }
                    let out = Outgoing {
                        destination_id: destination.clone(),
                        service_identifier: SERVICE.to_owned(),
                        service_name: "Bench".to_owned(),
                        data: xml.to_vec(),
                        data_schema: schema.clone(),
                        attachments: (0..2u64)
                            .map(|k| OutgoingAttachment {
                                filename: Some(format!("anlage-{k}.bin")),
                                mime_type: "application/octet-stream".to_owned(),
                                purpose: "attachment".to_owned(),
                                bytes: attachment(i as u64 * 2 + k + 1),
                            })
                            .collect(),
                        reply_channel: None,
                    };
                    let report = sender::send(&client, &out, &options, &mut |_| {})
                        .await
                        .expect("send");
                    let submitted = Instant::now();
                    acks.lock()
                        .unwrap()
                        .insert(report.submission_id.clone(), (submitted, None));
                    let acked = loop {
                        if let Some((_, Some(t))) = acks.lock().unwrap().get(&report.submission_id)
                        {
                            break *t;
                        }
                        tokio::time::sleep(Duration::from_millis(2)).await;
                    };
                    latencies.push(acked - submitted);
                }
            });
        }
        let mut all = Vec::new();
        while let Some(done) = tasks.join_next().await {
            all.extend(done.unwrap());
        }
        if phase == 1 {
            let elapsed = started_at.unwrap().elapsed();
            let window = Window {
                elapsed,
                openssl,
                floor,
                payload,
                payload_bytes: xml.len() + 2 * ATTACHMENT_BYTES,
                cores,
                split: split.clone(),
                gateway_pid: gateway.0.id(),
                cpu_at_start,
            };
            report(&a, all, &window, &sink, total).await;
        }
    }
    watcher.abort();
    sandbox.shutdown().await;
}

/// What the report needs of the measured window.
struct Window {
    elapsed: Duration,
    openssl: Option<f64>,
    /// (floor seconds per submission, unwraps/s, signs/s).
    floor: (f64, f64, f64),
    /// [`payload_rates`]: bytes per second of SHA-512, AES-256-GCM, base64url decode.
    payload: (f64, f64, f64),
    /// Plaintext bytes per submission (the message and its attachments).
    payload_bytes: usize,
    cores: usize,
    split: Option<(String, String)>,
    gateway_pid: u32,
    cpu_at_start: Option<f64>,
}

#[allow(clippy::too_many_lines)]
async fn report(
    a: &Args,
    mut latencies: Vec<Duration>,
    w: &Window,
    sink: &Arc<Mutex<SinkStats>>,
    total: usize,
) {
    let (elapsed, openssl, cores) = (w.elapsed, w.openssl, w.cores);
    // Forwarding runs behind the acknowledgement (after-store): wait for it, bounded.
    let t = Instant::now();
    while sink.lock().unwrap().posts.len() < total && t.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let forwarded_after = elapsed + t.elapsed();
    // The gateway's CPU over the window: the warm-up's forwarding was done before it started,
    // the measured submissions' forwarding is inside.
    let gateway_cpu = w
        .cpu_at_start
        .zip(cpu::other_process_cpu_secs(w.gateway_pid))
        .map(|(start, end)| end - start);
    latencies.sort();
    #[allow(clippy::cast_precision_loss)]
    let measured = latencies.len() as f64 / elapsed.as_secs_f64();
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
    let st = sink.lock().unwrap();
    let duplicates: usize = st.posts.values().map(|n| n - 1).sum();
    println!();
    println!(
        "gateway benchmark: {} submissions ({} in flight), store {}, {} cores",
        a.submissions,
        a.inflight,
        a.store.as_deref().map_or("SQLite", |_| "PostgreSQL"),
        cores
    );
    println!(
        "private-key ops per submission: {GATEWAY_UNWRAPS} RSA-OAEP unwraps + {GATEWAY_SIGNATURES} \
         PS512 (gateway) + {SANDBOX_SIGNATURES} PS512 (sandbox) = {PRIVATE_OPS}"
    );
    match &w.split {
        Some((g, l)) => println!("pinned: gateway on CPU {g}, load generator on CPU {l}"),
        None => println!("not pinned"),
    }
    println!("| figure | value |");
    println!("|---|---|");
    println!("| measured submissions/s (send → ack) | {measured:.2} |");
    let (floor, unwraps, signs) = w.floor;
    if let Some(cpu) = gateway_cpu {
        #[allow(clippy::cast_precision_loss)]
        let per = cpu / a.submissions as f64;
        let gateway_cores = w
            .split
            .as_ref()
            .map_or(cores, |(g, _)| g.split(',').count());
        #[allow(clippy::cast_precision_loss)]
        let per_core = measured / gateway_cores as f64;
        println!(
            "| gateway CPU per submission (user+system, /proc) | {:.1} ms |",
            per * 1e3
        );
        println!(
            "| crypto floor per submission ({GATEWAY_UNWRAPS} unwraps at {unwraps:.0}/s + \
             {GATEWAY_SIGNATURES} PS512 at {signs:.0}/s) | {:.1} ms |",
            floor * 1e3
        );
        println!(
            "| ratio gateway CPU / crypto floor | {:.2} (goal <= 2.0) |",
            per / floor
        );
        // What no implementation of the protocol avoids beyond the private-key operations:
        // every payload byte hashed once, decrypted once and base64-decoded once (the compact
        // JWE's text is 4/3 of the ciphertext). Shown beside the crypto floor, not
        // instead of it.
        let (sha512, gcm, b64) = w.payload;
        #[allow(clippy::cast_precision_loss)]
        let bytes = w.payload_bytes as f64;
        let protocol = floor + bytes / sha512 + bytes / gcm + bytes * 4.0 / 3.0 / b64;
        println!(
            "| protocol floor per submission (crypto floor + the {:.1} MB payload: SHA-512 at \
             {:.0} MB/s, AES-256-GCM at {:.0} MB/s, base64url decode at {:.0} MB/s) | {:.1} ms |",
            bytes / 1e6,
            sha512 / 1e6,
            gcm / 1e6,
            b64 / 1e6,
            protocol * 1e3
        );
        println!(
            "| ratio gateway CPU / protocol floor | {:.2} |",
            per / protocol
        );
        println!("| submissions/s per gateway core ({gateway_cores} pinned) | {per_core:.2} |");
        println!(
            "| gateway CPU utilisation in the window | {:.0} % of {gateway_cores} core(s) |",
            cpu / elapsed.as_secs_f64().max(f64::EPSILON) * 100.0 / gateway_cores as f64
        );
    } else {
        println!("| gateway CPU per submission | not readable from /proc |");
    }
    if let Some(ops) = openssl {
        let one = ops / f64::from(PRIVATE_OPS);
        #[allow(clippy::cast_precision_loss)]
        let all = one * cores as f64;
        println!("| openssl rsa4096 private ops/s (1 core) | {ops:.1} |");
        println!("| bound submissions/s, 1 core | {one:.2} |");
        println!("| bound submissions/s, {cores} cores | {all:.2} |");
        println!(
            "| ratio measured / bound ({cores} cores) | {:.2} |",
            measured / all
        );
        println!(
            "| ratio measured / bound (1 core) | {:.2} |",
            measured / one
        );
    } else {
        println!("| openssl speed | not available |");
    }
    println!(
        "| latency p50 (submit → ack) | {:.0} ms |",
        p50.as_secs_f64() * 1e3
    );
    println!(
        "| latency p99 (submit → ack) | {:.0} ms |",
        p99.as_secs_f64() * 1e3
    );
    println!(
        "| forwarded to the sink | {} distinct keys ({duplicates} duplicates), {:.0} MB, all after {:.1} s |",
        st.posts.len(),
        st.bytes as f64 / 1e6,
        forwarded_after.as_secs_f64()
    );
}

fn main() {
    let a = args();
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut split =
        cpu_split(cores, a.gateway_cpus.as_deref()).filter(|_| a.gateway_cpus.is_some());
    if let Some((_, load)) = &split
        && !pin_self(load)
    {
        println!("taskset not available: nothing pinned");
        split = None;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(a, cores, split));
}
