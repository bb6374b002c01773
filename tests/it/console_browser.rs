//! The operator console in a real browser (issue 17): Debian's Chromium driven by
//! playwright-core (`tests/browser/console.mjs`), axe-core run on every page. The store holds a
//! rejected submission, a dead letter, an XGewerbeanzeige application, JSON Fachdaten of the
//! test FIM pack and — with the shared data — an XBau 0200; the browser logs in with the
//! keyboard, filters the list, reads the problems, re-drives the dead letter and reads the
//! case-worker documents. The dead letter is made by the real outbox worker ([`Forwarder`], as
//! `serve` runs it) against a loopback upstream that answers 503; the upstream then recovers,
//! and after the re-drive click the browser sees the job delivered on the submission page (and
//! the upstream received it). Zero axe violations (WCAG 2.0/2.1 A and AA rules) on every page;
//! the screenshots go to `target/console-screenshots/`.
//!
//! Needs `chromium`, `node` and `npm ci --prefix tests/browser` (`.ci/install.d/60-browser.sh`);
//! skips with the reason without them, fails under `CI`.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use poststelle::config::gateway::ConsoleSettings;
use poststelle::console::{Console, DocumentRenderer};
use poststelle::fitconnect::problems::{Failure, Instance, Problem};
use poststelle::forward::{ForwardPolicy, Forwarder, HttpUpstream, RouteTable, UpstreamSpec};
use poststelle::server::{AdminToken, Handlers, Metrics, Server, ServerConfig};
use poststelle::store::{Decision, JobState, NewSubmission, RetryPolicy, Store, Timestamp};

use crate::forward_support::{
    Sink, SinkMode, TestStore, eventually, jobs_in, new_submission, spawn_worker,
};
use crate::xoev_support::repo;

const TOKEN: &str = "browser-test-token-0123456789";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The user of the console with a users file (test credentials, not a secret).
const NAMED_USER: &str = "m.muster";
const NAMED_PASSWORD: &str = "browser-test-password";

/// What the browser test needs, or the reason it cannot run.
fn browser_or_skip() -> Option<PathBuf> {
    let dir = repo("tests/browser");
    let missing = if !Path::new(CHROMIUM).exists() {
        Some(format!(
            "{CHROMIUM} is not installed (Debian package chromium)"
        ))
    } else if Command::new("node").arg("--version").output().is_err() {
        Some("node is not installed".to_owned())
    } else if !dir.join("node_modules/playwright-core").is_dir()
        || !dir.join("node_modules/axe-core").is_dir()
    {
        Some(
            "playwright-core and axe-core are not installed (npm ci --prefix tests/browser)"
                .to_owned(),
        )
    } else {
        None
    };
    match missing {
        Some(reason) => {
            crate::shared_data::skip(&format!("the browser test needs {reason}"));
            None
        }
        None => Some(dir),
    }
}

fn accepted_with(id: &str, message_type: &str, xml: Vec<u8>) -> NewSubmission {
    NewSubmission {
        message_type: Some(message_type.to_owned()),
        fachdaten: Some(xml),
        ..new_submission(id)
    }
}

#[tokio::test]
async fn the_console_works_in_chromium_with_zero_axe_violations() {
    let Some(browser_dir) = browser_or_skip() else {
        return;
    };
    let shared = crate::shared_data::shared();
    let xbau_sample = shared.join(
        "xoev/samples/xbau/fv-testdateien/baugenehmigung.antrag.0200_f180ba27-4549-4752-ab01-a7513866faa6.xml",
    );
    let t = TestStore::sqlite().await;
    let now = Timestamp::now();
    let store = &t.store;
    let gewerbe =
        std::fs::read(repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml")).expect("example");
    store
        .store_submission(
            accepted_with("sub-gewerbe", "sta.gewerbemeldung.0100", gewerbe),
            now,
        )
        .await
        .expect("store");
    store
        .store_submission(
            NewSubmission {
                message_type: Some(crate::fim_json::ROOT.to_owned()),
                envelope: Some(crate::console_http::json_envelope("sub-json")),
                ..new_submission("sub-json")
            },
            now,
        )
        .await
        .expect("store");
    let mut documents = vec![
        serde_json::json!({
            "id": "sub-gewerbe", "name": "xgewerbeanzeige",
            "labels": ["Nachrichtenkopf", "Identifikation Nachricht", "Musterstadt"],
        }),
        serde_json::json!({
            "id": "sub-json", "name": "fim-json",
            "labels": ["Veranstalterin oder Veranstalter", "Datum der Veranstaltung", "13.06.2026"],
        }),
    ];
    if xbau_sample.is_file() {
        let xml = std::fs::read(&xbau_sample).expect("XBau sample");
        store
            .store_submission(
                accepted_with("sub-xbau", "baugenehmigung.antrag.0200", xml),
                now,
            )
            .await
            .expect("store");
        documents.push(serde_json::json!({
            "id": "sub-xbau", "name": "xbau-0200",
            "labels": ["Diese Nachricht stellt einen Bauantrag dar", "Nachrichtenkopf G2g"],
        }));
    } else {
        crate::shared_data::skip("the XBau part needs the shared XBau samples");
    }
    store
        .store_submission(
            NewSubmission {
                envelope: None,
                decision: Decision::Rejected {
                    problems: vec![
                        Problem::new(Failure::DataSchema, &Instance::Data)
                            .expect("catalogue problem"),
                    ],
                },
                ..new_submission("sub-rejected")
            },
            now,
        )
        .await
        .expect("store");
    // The outbox worker `serve` runs, against an upstream that is down (503): one attempt,
    // then the job is a dead letter. Polling every 100 ms, it delivers the re-driven job soon
    // after the click.
    let upstream = Sink::start().await;
    upstream.set(SinkMode {
        status: 503,
        ..SinkMode::default()
    });
    let routes = RouteTable::single(UpstreamSpec::http(
        "fv",
        HttpUpstream::new(upstream.url("/in/")),
    ));
    let spool = t.path("spool");
    std::fs::create_dir_all(&spool).expect("spool");
    let forwarder = Forwarder::new(
        store.clone(),
        Arc::new(routes),
        ForwardPolicy {
            retry: RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::default()
            },
            poll_interval: Duration::from_millis(100),
            spool_dir: spool,
            ..ForwardPolicy::default()
        },
    )
    .expect("forwarder");
    let (stop_worker, worker) = spawn_worker(&forwarder);
    store
        .store_submission(
            NewSubmission {
                upstreams: vec!["fv".to_owned()],
                ..new_submission("sub-dead")
            },
            now,
        )
        .await
        .expect("store");
    forwarder.waker().notify_one();
    let deadline = Instant::now() + Duration::from_secs(20);
    while jobs_in(store, Some(JobState::Dead)).await.is_empty() {
        assert!(Instant::now() < deadline, "the job became a dead letter");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(upstream.received().len(), 1, "one attempt, answered 503");
    // The upstream is back: only a re-drive brings the dead letter to it.
    upstream.set(SinkMode::default());

    let empty = tempfile::tempdir().expect("tmp");
    let (registry, _broken) = poststelle::xoev::pack::discover(
        poststelle::xoev::catalog::Catalog::embedded(),
        &poststelle::xoev::pack::PackSources {
            packs_dir: empty.path().to_owned(),
            shared_dir: Some(shared.clone()),
            repo_dir: Some(repo("")),
        },
        &poststelle::xoev::pack_files::PackLimits::default(),
    );
    let console = Console::new(
        AdminToken::new(TOKEN),
        store.clone(),
        &ConsoleSettings::default(),
    )
    .documents(Arc::new(DocumentRenderer::new(
        registry,
        poststelle::pipeline::GrammarCache::default(),
        poststelle::config::Limits::default(),
    )));
    let handlers = Handlers {
        metrics: Arc::new(Metrics::new()),
        store: Some(store.clone()),
        readiness: None,
        callbacks: None,
        admin_token: Some(AdminToken::new(TOKEN)),
        console: Some(Arc::new(console) as Arc<dyn poststelle::server::ConsolePages>),
        replies: None,
    };
    let server = Server::start(
        ServerConfig::new("127.0.0.1:0".parse().expect("addr")),
        handlers,
    )
    .await
    .expect("server");
    // A second console over the same store with a users file: the named login form.
    let line = poststelle::console::hash_line(
        NAMED_USER,
        NAMED_PASSWORD,
        poststelle::console::MIN_ITERATIONS,
    )
    .expect("users line");
    let named = Console::new(
        AdminToken::new(TOKEN),
        store.clone(),
        &ConsoleSettings::default(),
    )
    .users(Arc::new(
        poststelle::console::Users::parse(&line).expect("users"),
    ));
    let named_server = Server::start(
        ServerConfig::new("127.0.0.1:0".parse().expect("addr")),
        Handlers {
            metrics: Arc::new(Metrics::new()),
            store: Some(store.clone()),
            readiness: None,
            callbacks: None,
            admin_token: Some(AdminToken::new(TOKEN)),
            console: Some(Arc::new(named) as Arc<dyn poststelle::server::ConsolePages>),
            replies: None,
        },
    )
    .await
    .expect("server");
    let shots = repo("target/console-screenshots");
    std::fs::create_dir_all(&shots).expect("screenshot folder");
    let scenario = serde_json::json!({
        "rejected": "sub-rejected",
        "problem": Problem::new(Failure::DataSchema, &Instance::Data).expect("problem").type_uri,
        "dead": "sub-dead",
        "named": {
            "base": format!("http://localhost:{}", named_server.addr().port()),
            "user": NAMED_USER,
            "password": NAMED_PASSWORD,
        },
        "documents": documents,
    });

    // The browser runs in its own process; the server answers on this runtime meanwhile.
    let mut child = Command::new("node")
        .arg(browser_dir.join("console.mjs"))
        .current_dir(&browser_dir)
        // `localhost`: the session cookie is `Secure` (`__Host-`), which browsers keep over
        // plain HTTP only for localhost.
        .env(
            "CONSOLE_BASE",
            format!("http://localhost:{}", server.addr().port()),
        )
        .env("CONSOLE_TOKEN", TOKEN)
        .env("CHROMIUM", CHROMIUM)
        .env("SHOTS", &shots)
        .env("SCENARIO", scenario.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        // Bounded: the script ends itself after 120 s; this kills it after 180 s.
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > Duration::from_secs(180) {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        child.wait_with_output().expect("output")
    })
    .await
    .expect("join");
    server.shutdown().await;
    named_server.shutdown().await;
    let _ = stop_worker.send(());
    let _ = worker.await;
    let status = out.status;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("browser report ({e}): {stdout}\n{stderr}"));
    let pages = report["pages"].as_array().cloned().unwrap_or_default();
    // Printed for the CI log even when the test passes (straight to stderr: the harness
    // captures only `print!`/`eprint!`): the axe result and the screenshot of every page.
    let mut err = std::io::stderr();
    for p in &pages {
        let _ = writeln!(
            err,
            "console page {:<24} {:<48} axe violations: {} screenshot: {}",
            p["name"].as_str().unwrap_or(""),
            p["url"].as_str().unwrap_or(""),
            p["violations"].as_array().map_or(0, Vec::len),
            p["screenshot"].as_str().unwrap_or("")
        );
    }
    let _ = writeln!(
        err,
        "browser run: {:.1} s, {} pages",
        started.elapsed().as_secs_f64(),
        pages.len()
    );
    assert_eq!(
        report["failures"],
        serde_json::json!([]),
        "browser run failed (exit {status}): {report:#}\n{stderr}"
    );
    assert!(status.success());
    eventually(
        Duration::from_secs(1),
        "the re-driven submission reached the upstream",
        || upstream.delivered_keys().contains("sub-dead"),
    )
    .await;
    let names: Vec<&str> = pages.iter().filter_map(|p| p["name"].as_str()).collect();
    for expected in [
        "login",
        "overview",
        "list",
        "list-rejected",
        "rejected",
        "dead-letter",
        "redriven",
        "redriven-delivered",
        "document-xgewerbeanzeige",
        "document-fim-json",
        "login-named",
        "overview-named",
    ] {
        assert!(
            names.contains(&expected),
            "page {expected} visited: {names:?}"
        );
    }
    for p in &pages {
        let shot = PathBuf::from(p["screenshot"].as_str().expect("screenshot"));
        assert!(
            std::fs::metadata(&shot).is_ok_and(|m| m.len() > 1000),
            "{}",
            shot.display()
        );
    }
}
