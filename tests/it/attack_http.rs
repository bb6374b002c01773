//! Issue 19, scope 3: the attack harness for the HTTP listeners (loopback only, bounded in
//! count and time, stops by itself).
//!
//! It replays the starvation attacks of the attack run against `poststelle serve` and
//! `poststelle sandbox`, both child processes of the built binary, and measures `/health`
//! meanwhile (fresh connection per probe, from 127.0.0.1, every 100 ms):
//!
//! - **silent**: 1,200 connections that send nothing;
//! - **slow**: 300 connections that send a request head and then one body byte per second
//!   (`serve`: a callback with a fresh timestamp and a well-formed MAC, which only the body can
//!   refute; `sandbox`: the token endpoint);
//!
//! each attacker reconnecting one second after the server dropped it. Scenarios:
//!
//! 1. `serve`, all attackers from 127.0.0.2: `/health` on the main port and on the probe
//!    listener must both have p99 ≤ 1 s (the per-client limit keeps the attacker to its share).
//! 2. `serve`, attackers spread over 40 addresses (127.0.0.10–49), enough to take every slot
//!    of the main port: `/health` on the probe listener must have p99 ≤ 1 s; the main port's
//!    figures are printed (probes there compete with the attackers for the probe slots).
//! 3. `sandbox`, all attackers from 127.0.0.2: `/health` p99 ≤ 1 s.
//!
//! The figures (p50, p99, max, failures) are printed. `#[ignore]`d (about a minute); CI runs
//! it from `.ci/steps.d/65-attack.sh`. Needs the 127.0.0.0/8 loopback net (Linux) and about
//! 4,000 open files; skips with a note otherwise.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use poststelle::fitconnect::callback::CallbackSecret;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::gateway_crash::Rig;

/// Silent connections of an attack.
const SILENT: usize = 1_200;
/// Slow-body connections of an attack.
const SLOW: usize = 300;
/// Attackers get this long to open their connections before probing starts.
const WARM_UP: Duration = Duration::from_secs(3);
/// Probes per measurement, one every [`PROBE_EVERY`].
const PROBES: usize = 100;
const PROBE_EVERY: Duration = Duration::from_millis(100);
/// A probe that takes longer counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// The acceptance bound.
const P99_BOUND: Duration = Duration::from_secs(1);

/// Opens a TCP connection to `addr` from the loopback address `from` (any 127.0.0.0/8
/// address works on Linux); `None` if that is not possible (bind or connect failed).
pub(crate) async fn connect_from(from: &str, addr: SocketAddr) -> Option<TcpStream> {
    let ip: IpAddr = from.parse().ok()?;
    let socket = TcpSocket::new_v4().ok()?;
    socket.bind(SocketAddr::new(ip, 0)).ok()?;
    tokio::time::timeout(Duration::from_secs(2), socket.connect(addr))
        .await
        .ok()?
        .ok()
}

/// The soft limit of open files of this process (children inherit it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// What an attacker does on each connection.
#[derive(Clone)]
enum Kind {
    /// Nothing: holds the connection until the server closes it.
    Silent,
    /// Sends `head`, then one byte per second.
    Slow { head: String },
}

/// Attackers running until [`Attack::stop`].
struct Attack {
    stop: watch::Sender<bool>,
    tasks: JoinSet<u64>,
}

impl Attack {
    fn new() -> Self {
        Self {
            stop: watch::channel(false).0,
            tasks: JoinSet::new(),
        }
    }

    /// `n` attackers of `kind` against `target`, from the addresses `from` in turn.
    fn launch(&mut self, kind: &Kind, n: usize, from: &[String], target: SocketAddr) {
        for i in 0..n {
            let kind = kind.clone();
            let from = from[i % from.len()].clone();
            let mut stop = self.stop.subscribe();
            self.tasks.spawn(async move {
                let mut connections = 0u64;
                while !*stop.borrow() {
                    if let Some(stream) = connect_from(&from, target).await {
                        connections += 1;
                        tokio::select! {
                            () = hold(stream, &kind) => {}
                            _ = stop.changed() => return connections,
                        }
                    }
                    // Reconnect a second after being dropped (or failing to connect).
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => return connections,
                    }
                }
                connections
            });
        }
    }

    /// Stops every attacker; the number of connections they opened.
    async fn stop(mut self) -> u64 {
        let _ = self.stop.send(true);
        let mut total = 0;
        while let Some(n) = self.tasks.join_next().await {
            total += n.unwrap_or(0);
        }
        total
    }
}

/// Keeps one attacking connection going until the server ends it.
async fn hold(mut stream: TcpStream, kind: &Kind) {
    let (mut read, mut write) = stream.split();
    let mut buf = [0u8; 512];
    match kind {
        Kind::Silent => {
            // Until the server closes (0 bytes) or resets.
            while let Ok(n) = read.read(&mut buf).await {
                if n == 0 {
                    return;
                }
            }
        }
        Kind::Slow { head } => {
            if write.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let drip = async {
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    if write.write_all(b"x").await.is_err() {
                        return;
                    }
                }
            };
            let closed = async {
                while let Ok(n) = read.read(&mut buf).await {
                    if n == 0 {
                        return;
                    }
                }
            };
            tokio::select! {
                () = drip => {}
                () = closed => {}
            }
        }
    }
}

/// One `GET /health` on a fresh connection: the time to a `200` status line, or `None`.
async fn probe_once(addr: SocketAddr) -> Option<Duration> {
    let started = Instant::now();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.ok()?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nhost: probe\r\nconnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        (&head == b"HTTP/1.1 200").then_some(())
    };
    match tokio::time::timeout(PROBE_TIMEOUT, exchange).await {
        Ok(Some(())) => Some(started.elapsed()),
        _ => None,
    }
}

/// Latency figures of a probe series; failures count as slower than any answer.
struct Figures {
    p50: Duration,
    p99: Duration,
    max: Duration,
    failures: usize,
    count: usize,
}

impl Figures {
    fn of(results: &[Option<Duration>]) -> Self {
        let mut times: Vec<Duration> = results.iter().map(|r| r.unwrap_or(Duration::MAX)).collect();
        times.sort_unstable();
        let at =
            |q: f64| times[((times.len() as f64 * q).ceil() as usize).clamp(1, times.len()) - 1];
        Self {
            p50: at(0.50),
            p99: at(0.99),
            max: times[times.len() - 1],
            failures: results.iter().filter(|r| r.is_none()).count(),
            count: results.len(),
        }
    }

    fn show(d: Duration) -> String {
        if d == Duration::MAX {
            "failed".to_owned()
        } else {
            format!("{:.1} ms", d.as_secs_f64() * 1000.0)
        }
    }

    fn print(&self, what: &str) {
        println!(
            "attack_http: {what}: /health p50 {} p99 {} max {} ({} of {} probes failed)",
            Self::show(self.p50),
            Self::show(self.p99),
            Self::show(self.max),
            self.failures,
            self.count
        );
    }
}

/// Probes each of `targets` every [`PROBE_EVERY`], [`PROBES`] times, at the same time.
async fn measure(targets: &[SocketAddr]) -> Vec<Figures> {
    let mut series: Vec<Vec<Option<Duration>>> = vec![Vec::new(); targets.len()];
    for _ in 0..PROBES {
        let next = tokio::time::Instant::now() + PROBE_EVERY;
        let mut round = JoinSet::new();
        for (i, addr) in targets.iter().enumerate() {
            let addr = *addr;
            round.spawn(async move { (i, probe_once(addr).await) });
        }
        while let Some(done) = round.join_next().await {
            let (i, result) = done.expect("probe task");
            series[i].push(result);
        }
        tokio::time::sleep_until(next).await;
    }
    series.iter().map(|s| Figures::of(s)).collect()
}

/// The address after `prefix` in a child's output file, once it appears (bounded wait).
async fn address_in_log(log: &Path, prefix: &str, child: &mut Child) -> SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(addr) = text
            .split(prefix)
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|a| a.parse().ok())
        {
            return addr;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the child exited ({status}):\n{text}");
        }
        assert!(Instant::now() < deadline, "no {prefix:?} in:\n{text}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn can_run() -> bool {
    match open_files_limit() {
        Some(n) if n >= 4_096 => {}
        other => {
            println!(
                "attack_http: skipped: needs 4,096 open files, the soft limit is {other:?} \
                 (raise it with `ulimit -n 8192`)"
            );
            return false;
        }
    }
    let probe = std::net::TcpListener::bind("127.0.0.2:0");
    if probe.is_err() {
        println!("attack_http: skipped: 127.0.0.2 is not a local address here");
        return false;
    }
    true
}

fn addresses(range: std::ops::RangeInclusive<u8>) -> Vec<String> {
    range.map(|i| format!("127.0.0.{i}")).collect()
}

/// Runs the silent and slow attackers from `from` against `target` and probes `probes`.
async fn under_attack(
    slow_head: &dyn Fn() -> String,
    from: &[String],
    target: SocketAddr,
    probes: &[SocketAddr],
) -> (Vec<Figures>, u64) {
    let mut attack = Attack::new();
    attack.launch(&Kind::Silent, SILENT, from, target);
    attack.launch(&Kind::Slow { head: slow_head() }, SLOW, from, target);
    tokio::time::sleep(WARM_UP).await;
    let figures = measure(probes).await;
    let connections = attack.stop().await;
    (figures, connections)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "1,500 attacking connections against child processes: run with --ignored (CI: .ci/steps.d/65-attack.sh)"]
async fn serve_and_sandbox_answer_health_under_slowloris_and_connection_floods() {
    if !can_run() {
        return;
    }
    let started = Instant::now();
    let secret = "attack-harness-callback-secret-0123";

    // `serve` with the probe listener; callbacks on, so slow bodies hit the real endpoint.
    let db = tempfile::tempdir().expect("tempdir");
    let mut rig = Rig::new(
        &format!("sqlite:{}", db.path().join("gateway.db").display()),
        "",
    )
    .await;
    let sandbox_toml = rig.dir.path().join("sandbox").join("sandbox.toml");
    let mut sandbox_config = poststelle::sandbox::SandboxConfig::from_toml(
        &std::fs::read_to_string(&sandbox_toml).expect("read"),
    )
    .expect("sandbox config");
    sandbox_config.callbacks.allow_http_loopback = true;
    sandbox_config.destinations[0].callback_url = Some("http://127.0.0.1:9/unused".into());
    sandbox_config.destinations[0].callback_secret = Some(secret.into());
    std::fs::write(&sandbox_toml, sandbox_config.to_toml().expect("toml")).expect("write");
    let gateway_toml = std::fs::read_to_string(&rig.gateway.config).expect("read");
    std::fs::write(
        &rig.gateway.config,
        gateway_toml.replace("[server]\n", "[server]\nprobe_listen = \"127.0.0.1:0\"\n"),
    )
    .expect("write");
    rig.gateway.start();
    let child = rig.gateway.child.as_mut().expect("serve runs");
    let main = address_in_log(&rig.gateway.log, "listening on http://", child).await;
    let probe = address_in_log(&rig.gateway.log, "probes on http://", child).await;
    let destination = rig.destination.clone();
    let callback_head = move || {
        let ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs()
            .to_string();
        // A MAC of the right form that no body will match.
        let mac = CallbackSecret::new(b"not the secret")
            .expect("secret")
            .sign(&ts, b"");
        format!(
            "POST /callbacks/{destination} HTTP/1.1\r\nhost: gw\r\ncallback-timestamp: {ts}\r\n\
             callback-authentication: {mac}\r\ncontent-type: application/json\r\n\
             content-length: 1000\r\n\r\n"
        )
    };

    // 1. One attacker address.
    let (figures, connections) =
        under_attack(&callback_head, &addresses(2..=2), main, &[main, probe]).await;
    figures[0].print("serve, one attacker address, main port");
    figures[1].print("serve, one attacker address, probe listener");
    println!("attack_http: ({connections} attacking connections opened)");
    rig.gateway.assert_running();

    // 2. Attackers on 40 addresses: every main slot taken.
    let (spread, connections) =
        under_attack(&callback_head, &addresses(10..=49), main, &[main, probe]).await;
    spread[0].print("serve, 40 attacker addresses, main port (informative)");
    spread[1].print("serve, 40 attacker addresses, probe listener");
    println!("attack_http: ({connections} attacking connections opened)");
    rig.gateway.assert_running();
    rig.gateway.kill();

    // 3. The sandbox (a child as well, so the attackers and it do not share a runtime).
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("sandbox.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nephemeral = true\n").expect("config");
    let log_path = dir.path().join("sandbox.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut sandbox = ChildGuard(
        Command::new(env!("CARGO_BIN_EXE_poststelle"))
            .arg("sandbox")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start poststelle sandbox"),
    );
    let addr = address_in_log(&log_path, "listening on http://", &mut sandbox.0).await;
    let token_head = || {
        "POST /token HTTP/1.1\r\nhost: sandbox\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: 1000\r\n\r\n"
            .to_owned()
    };
    let (sandbox_figures, connections) =
        under_attack(&token_head, &addresses(2..=2), addr, &[addr]).await;
    sandbox_figures[0].print("sandbox, one attacker address");
    println!("attack_http: ({connections} attacking connections opened)");
    assert!(
        sandbox.0.try_wait().expect("status").is_none(),
        "the sandbox survived"
    );
    drop(sandbox);
    println!(
        "attack_http: {SILENT} silent + {SLOW} slow connections per scenario; whole run {:.0} s",
        started.elapsed().as_secs_f64()
    );

    for (figures, what) in [
        (&figures[0], "serve main port, one attacker address"),
        (&figures[1], "serve probe listener, one attacker address"),
        (&spread[1], "serve probe listener, 40 attacker addresses"),
        (&sandbox_figures[0], "sandbox, one attacker address"),
    ] {
        assert!(
            figures.p99 <= P99_BOUND,
            "{what}: /health p99 {} exceeds {P99_BOUND:?}",
            Figures::show(figures.p99)
        );
    }
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}

/// Kills the child when dropped (a failing assertion must not leave it running).
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
