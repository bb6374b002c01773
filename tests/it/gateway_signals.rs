//! Issue 13, scope 2: `poststelle serve` (a child process) stops gracefully on SIGTERM
//! (`systemctl stop`, `docker stop`) and on SIGINT — it logs the signal, drains and exits 0 —
//! and ignores SIGHUP (logged; nothing is reloaded). The files it creates are private (umask
//! 077).

use std::time::{Duration, Instant};

use crate::gateway_crash::Rig;

fn signal(pid: u32, name: &str) {
    let status = std::process::Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -s {name}");
}

fn log_of(rig: &Rig) -> String {
    std::fs::read_to_string(&rig.gateway.log).unwrap_or_default()
}

/// Waits until the gateway's log contains `needle` (the gateway still running).
async fn wait_for_log(rig: &mut Rig, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !log_of(rig).contains(needle) {
        rig.gateway.assert_running();
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in time:\n{}",
            rig.gateway.tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_drain_and_exit_0_and_sighup_is_ignored() {
    for name in ["TERM", "INT"] {
        let state = tempfile::tempdir().expect("state dir");
        let mut rig = Rig::new(
            &format!("sqlite:{}", state.path().join("gw.db").display()),
            "shutdown_grace_secs = 5\n",
        )
        .await;
        rig.gateway.start();
        wait_for_log(&mut rig, "listening on").await;
        let pid = rig.gateway.child.as_ref().expect("running").id();
        // Issue 13, scope 5: the store serve created is private whatever the umask (this
        // test process runs with the usual 022).
        let db = state.path().join("gw.db");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&db).expect("database file").permissions(),
        );
        assert_eq!(mode & 0o077, 0, "database mode {mode:o}");
        if name == "TERM" {
            signal(pid, "HUP");
            wait_for_log(&mut rig, "SIGHUP ignored").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            rig.gateway.assert_running();
        }
        signal(pid, name);
        let code = exit_status(&mut rig, &format!("SIG{name}")).await;
        let log = log_of(&rig);
        assert_eq!(code, Some(0), "SIG{name}:\n{log}");
        assert!(
            log.contains(&format!("SIG{name}: shutting down")),
            "SIG{name}:\n{log}"
        );
        assert!(log.contains("stopped: "), "SIG{name}:\n{log}");
        rig.sandbox.shutdown().await;
        rig.sink.stop();
    }
}

/// Waits until the child exits (at most 60 s); its exit code.
async fn exit_status(rig: &mut Rig, what: &str) -> Option<i32> {
    let child = rig.gateway.child.as_mut().expect("running");
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "{what}: still running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    rig.gateway.child = None;
    status.code()
}

/// Issue 13, acceptance: "SIGTERM during a slow upstream POST: the process logs the drain,
/// finishes the delivery, exits 0; no second POST after restart."
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_slow_upstream_post_finishes_it_and_nothing_is_posted_twice() {
    use std::sync::atomic::Ordering;
    let state = tempfile::tempdir().expect("state dir");
    let mut rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "shutdown_grace_secs = 30\n",
    )
    .await;
    // The upstream takes 3 s to answer each POST.
    rig.sink.set(crate::forward_support::SinkMode {
        delay: Duration::from_secs(3),
        ..Default::default()
    });
    rig.gateway.start();
    wait_for_log(&mut rig, "listening on").await;
    let sender =
        crate::gateway_crash::client(rig.sandbox.base_url(), "sender", "sender-secret-0123456789");
    crate::gateway_crash::send_data(
        &sender,
        &rig.destination,
        0,
        crate::pipeline_fixture::xgewerbeanzeige(),
    )
    .await;
    // The POST has reached the upstream, which has not answered yet: stop now.
    let deadline = Instant::now() + Duration::from_secs(60);
    while rig.sink.arrived.load(Ordering::SeqCst) == 0 {
        rig.gateway.assert_running();
        assert!(
            Instant::now() < deadline,
            "no POST in time:\n{}",
            rig.gateway.tail()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        rig.sink.received().is_empty(),
        "the POST is still in progress"
    );
    signal(rig.gateway.child.as_ref().expect("running").id(), "TERM");
    let code = exit_status(&mut rig, "SIGTERM").await;
    let log = log_of(&rig);
    assert_eq!(code, Some(0), "{log}");
    let drain = log
        .find("SIGTERM: shutting down")
        .expect("the drain is logged");
    let after = &log[drain..];
    let delivered = after
        .find("delivered")
        .expect("the delivery finished after the signal");
    let stopped = after.find("stopped: ").expect("the stop is logged");
    assert!(delivered < stopped, "{log}");
    assert!(!log.contains("grace period over"), "{log}");
    // The delivery (attachment upload, then the envelope POST to /in) ran to its end.
    let answered = rig.sink.received();
    let summary: Vec<_> = answered
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.status))
        .collect();
    assert!(
        answered.iter().all(|r| r.status == 200),
        "{summary:?}\n{log}"
    );
    assert_eq!(
        answered.iter().filter(|r| r.path == "/in").count(),
        1,
        "one envelope POST: {summary:?}\n{log}"
    );
    let requests = answered.len();
    assert_eq!(rig.sink.arrived.load(Ordering::SeqCst), requests);

    // Restarted, the gateway finds the job delivered: no second POST.
    rig.sink.set(crate::forward_support::SinkMode::default());
    rig.gateway.start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while log_of(&rig).matches("listening on").count() < 2 {
        rig.gateway.assert_running();
        assert!(
            Instant::now() < deadline,
            "no restart:\n{}",
            rig.gateway.tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A few poll rounds (poll_interval_secs = 1) and forwarder passes.
    tokio::time::sleep(Duration::from_secs(4)).await;
    rig.gateway.assert_running();
    signal(rig.gateway.child.as_ref().expect("running").id(), "TERM");
    assert_eq!(exit_status(&mut rig, "second SIGTERM").await, Some(0));
    assert_eq!(
        rig.sink.arrived.load(Ordering::SeqCst),
        requests,
        "nothing is sent again after the restart"
    );
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}

/// Issue 13, scope 3: "started from another working directory it loads no schema packs and
/// then rejects every valid application as unsupported-schema while /ready says 200". Now
/// `[schemas] packs_dir` resolves relative to the configuration file, and with no pack at
/// all `serve` refuses to start (exit 64, naming the directory) before it creates anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packs_are_found_relative_to_the_config_and_none_at_all_is_refused() {
    let state = tempfile::tempdir().expect("state dir");
    let mut rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "",
    )
    .await;
    let config = rig.gateway.config.clone();
    let mut toml = std::fs::read_to_string(&config).expect("config");
    toml.push_str("\n[schemas]\npacks_dir = \"packs\"\n");
    std::fs::write(&config, toml).expect("config");
    let packs = config.parent().expect("dir").join("packs");
    // From `/`, without the development fallbacks (no ../shared, no repository beside it).
    let serve = || {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"));
        c.arg("serve")
            .arg("--config")
            .arg(&config)
            .current_dir("/")
            .env_remove("POSTSTELLE_SHARED")
            .env_remove("POSTSTELLE_PACKS")
            .stdin(std::process::Stdio::null());
        c
    };
    // `--check` finds it too, without starting anything.
    let check = serve().arg("--check").output().expect("serve --check runs");
    let text = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(64), "{text}");
    assert!(text.contains("no schema pack is loaded"), "{text}");
    let out = serve().output().expect("serve runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(64), "{text}");
    assert!(
        text.contains(&format!(
            "no schema pack is loaded from {}",
            packs.display()
        )),
        "{text}"
    );
    assert!(!state.path().join("gw.db").exists(), "nothing created");

    let install = std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .args(["schemas", "install"])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schemas/xgewerbeanzeige-2.2"
        ))
        .arg("--packs")
        .arg(&packs)
        .output()
        .expect("schemas install runs");
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let check = serve().arg("--check").output().expect("serve --check runs");
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // A route for a message type no installed pack provides (XBau is not installed here)
    // could never match: refused at start and by --check, naming the route.
    let base = std::fs::read_to_string(&config).expect("config");
    let routed = |pattern: &str| {
        let text = format!("{base}\n[[route]]\nmessage_type = {pattern:?}\nto = [\"sink\"]\n");
        std::fs::write(&config, text).expect("config");
        serve().arg("--check").output().expect("serve --check runs")
    };
    let check = routed("baugenehmigung.*");
    let text = String::from_utf8_lossy(&check.stderr);
    assert_eq!(check.status.code(), Some(64), "{text}");
    assert!(
        text.contains("route[0].message_type \"baugenehmigung.*\": no installed schema pack"),
        "{text}"
    );
    let check = routed("sta.gewerbemeldung.*");
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    std::fs::write(&config, base).expect("config");
    let log = std::fs::File::create(&rig.gateway.log).expect("log");
    let child = serve()
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .spawn()
        .expect("serve starts");
    rig.gateway.child = Some(child);
    wait_for_log(&mut rig, "listening on").await;
    let text = log_of(&rig);
    assert!(text.contains("schema pack xgewerbeanzeige"), "{text}");
    rig.gateway.kill();
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}

/// The text values of an XML document (what a log must never show): every run of text
/// between tags with a letter in it and at least four characters.
pub(crate) fn text_values(xml: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(xml);
    text.split('<')
        .filter_map(|part| part.split_once('>').map(|(_, t)| t.trim().to_owned()))
        .filter(|t| t.chars().count() >= 4 && t.chars().any(char::is_alphabetic))
        .collect()
}

/// Issue 13, scope 1 and its acceptance: `serve --log-format json` writes one JSON object per
/// line; a valid and an invalid submission each get one "submission decided" event with the
/// identifiers, the message type or the problem types, and durations; the delivery of the
/// valid one is logged; no text value of the messages appears anywhere in the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_have_one_decision_event_per_submission_and_no_message_values() {
    let state = tempfile::tempdir().expect("state dir");
    let mut rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "",
    )
    .await;
    rig.gateway.args = vec!["--log-format".into(), "json".into()];
    // With the admin API on: its answers must not show message values either.
    let token = "admin-token-for-the-log-test-0123456789";
    let config = std::fs::read_to_string(&rig.gateway.config).expect("config");
    let token_file = rig.dir.path().join("admin-token");
    std::fs::write(&token_file, token).expect("token file");
    std::fs::write(
        &rig.gateway.config,
        config.replace(
            "[server]\n",
            &format!(
                "[server]\nadmin_token_file = {:?}\n",
                token_file.display().to_string()
            ),
        ),
    )
    .expect("config");
    rig.gateway.start();
    let sender =
        crate::gateway_crash::client(rig.sandbox.base_url(), "sender", "sender-secret-0123456789");
    let valid = crate::pipeline_fixture::xgewerbeanzeige();
    // The same message with an element the schema does not allow right after the root's
    // first child opens: schema-violation.
    let text = String::from_utf8(valid.clone()).expect("UTF-8");
    let root = text
        .match_indices('<')
        .map(|(i, _)| i)
        .find(|&i| text[i + 1..].starts_with(char::is_alphabetic))
        .expect("root element");
    let first = root + text[root..].find('>').expect("root start tag") + 1;
    let invalid = format!(
        "{}<unerwartet>Wert</unerwartet>{}",
        &text[..first],
        &text[first..]
    );
    let (ok_id, ok_case) =
        crate::gateway_crash::send_data(&sender, &rig.destination, 0, valid.clone()).await;
    let (bad_id, _) =
        crate::gateway_crash::send_data(&sender, &rig.destination, 1, invalid.into_bytes()).await;
    // A valid XBau message too, where the official XBau pack is there (serve loads it as the
    // development fallback); without it this part is skipped with the reason printed.
    let xbau = crate::shared_data::shared_or_skip(&[crate::shared_data::XBAU]).map(|_| {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/examples/xbau/baugenehmigung.antrag.0200.xml"
        ))
        .expect("XBau example")
    });
    let xbau_id = match &xbau {
        Some(x) => Some(
            crate::gateway_crash::send_data(&sender, &rig.destination, 2, x.clone())
                .await
                .0,
        ),
        None => None,
    };
    // Every text value of the messages: none may appear in logs, metrics or admin output
    // (MIME types are the attachments' metadata, shown by design).
    let secrets: Vec<String> = text_values(&valid)
        .into_iter()
        .chain(xbau.as_deref().map(text_values).unwrap_or_default())
        .chain(["Wert".to_owned()])
        .filter(|v| !v.starts_with("application/"))
        .collect();
    wait_for_log(&mut rig, &format!("\"submission_id\":\"{bad_id}\"")).await;
    if let Some(id) = &xbau_id {
        wait_for_log(&mut rig, &format!("\"submission_id\":\"{id}\"")).await;
    }
    wait_for_log(&mut rig, "\"message\":\"delivered\"").await;
    // Issue 13, scope 7: every documented stage of `stage_duration_seconds` is observed, and
    // the metrics show no value of the messages either.
    let log = log_of(&rig);
    let at = log.find("listening on http://").expect("listen line") + "listening on http://".len();
    let addr = &log[at..at + log[at..].find(' ').expect("address end")];
    let metrics = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for stage in ["fetch", "check", "store", "ack", "forward", "total"] {
        let series = format!("poststelle_stage_duration_seconds_count{{stage=\"{stage}\"}} ");
        let count: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&series))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(count > 0, "stage {stage} not observed:\n{metrics}");
    }
    let http = reqwest::Client::new();
    let mut admin = String::new();
    for path in [
        format!("/admin/submissions/{ok_id}"),
        format!("/admin/submissions/{bad_id}"),
        "/admin/decisions".to_owned(),
        "/admin/jobs".to_owned(),
    ] {
        let resp = http
            .get(format!("http://{addr}{path}"))
            .bearer_auth(token)
            .send()
            .await
            .expect("admin request");
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        admin.push_str(&resp.text().await.expect("admin text"));
    }
    assert!(
        admin.contains(&ok_id) && admin.contains("schema-violation"),
        "{admin}"
    );
    // A re-drive through the admin API is logged (issue 13, scope 1).
    let resp = http
        .post(format!("http://{addr}/admin/dead-letters/redrive"))
        .bearer_auth(token)
        .send()
        .await
        .expect("redrive");
    assert_eq!(resp.status().as_u16(), 200);
    wait_for_log(&mut rig, "dead letters re-driven").await;
    for value in &secrets {
        assert!(
            !metrics.contains(value.as_str()),
            "{value:?} in the metrics"
        );
        assert!(
            !admin.contains(value.as_str()),
            "{value:?} in the admin API"
        );
    }
    rig.gateway.kill();
    let log = log_of(&rig);
    let events: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let decided = |id: &str| -> Vec<&serde_json::Value> {
        events
            .iter()
            .filter(|e| e["message"] == "submission decided" && e["submission_id"] == id)
            .collect()
    };
    let accepted = decided(&ok_id);
    assert_eq!(accepted.len(), 1, "{log}");
    let a = accepted[0];
    assert_eq!(a["decision"], "accepted");
    assert_eq!(a["case_id"], ok_case.as_str());
    assert_eq!(a["destination"], rig.destination.as_str());
    assert!(
        a["message_type"]
            .as_str()
            .is_some_and(|m| m.contains("gewerbe")),
        "{a}"
    );
    for field in ["fetch_ms", "check_ms", "total_ms"] {
        assert!(a[field].is_u64(), "{field}: {a}");
    }
    assert_eq!(a["level"], "INFO");
    // Spans per submission and per delivery.
    assert_eq!(a["span"]["name"], "submission", "{a}");
    assert_eq!(a["span"]["submission_id"], ok_id.as_str(), "{a}");
    let delivered = events
        .iter()
        .find(|e| e["message"] == "delivered")
        .expect("delivered event");
    assert_eq!(delivered["span"]["name"], "delivery", "{delivered}");
    let rejected = decided(&bad_id);
    assert_eq!(rejected.len(), 1, "{log}");
    assert_eq!(rejected[0]["decision"], "rejected");
    assert!(
        rejected[0]["problems"]
            .as_str()
            .is_some_and(|p| p.contains("schema-violation@data")),
        "{}",
        rejected[0]
    );
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "delivered" && e["submission_id"] == ok_id.as_str()),
        "{log}"
    );
    assert!(
        log.contains("business rules: annotate"),
        "the rules mode is logged at start"
    );
    if let Some(id) = &xbau_id {
        let d = decided(id);
        assert_eq!(d.len(), 1, "{log}");
        assert_eq!(d[0]["decision"], "accepted", "{}", d[0]);
        assert!(
            d[0]["message_type"]
                .as_str()
                .is_some_and(|m| m.contains("baugenehmigung.antrag.0200")),
            "{}",
            d[0]
        );
    }
    for value in &secrets {
        assert!(!log.contains(value.as_str()), "{value:?} in the log");
    }
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}

/// Issue 13, scope 3: `serve --check --connect` also reaches the store and, per destination,
/// the delivery service (token, destination, its published key among ours); with the
/// delivery service down it exits 2 naming the destination.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_reaches_the_store_and_the_delivery_service() {
    let state = tempfile::tempdir().expect("state dir");
    let rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "",
    )
    .await;
    let config = rig.gateway.config.clone();
    let check = || async {
        let config = config.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"))
                .args(["serve", "--check", "--connect", "--config"])
                .arg(&config)
                .env("POSTSTELLE_SHARED", crate::shared_data::shared())
                .env_remove("POSTSTELLE_PACKS")
                .output()
                .expect("serve --check runs")
        })
        .await
        .expect("join")
    };
    let out = check().await;
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("not created yet"), "{text}");
    assert!(
        text.contains(&format!(
            "destination {}: reachable, active",
            rig.destination
        )),
        "{text}"
    );
    assert!(
        !state.path().join("gw.db").exists(),
        "--check creates nothing"
    );
    rig.sandbox.shutdown().await;
    let out = check().await;
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains(&format!("destination {}: ", rig.destination)),
        "{text}"
    );
    rig.sink.stop();
}

/// Issue 13, scope 5: `serve --check --connect` reaches a PostgreSQL store with the password
/// from `[store] password_file`, and never prints it. (The test server trusts local
/// connections, so any password is accepted: this shows the file is read and the connection
/// made with it; that the password reaches the connection is `store::postgres`'s unit test.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_connect_reaches_postgres_with_a_password_file() {
    const SECRET: &str = "s3cr3t-pg-password";
    let Ok(url) = std::env::var("POSTSTELLE_TEST_DATABASE_URL") else {
        eprintln!("POSTSTELLE_TEST_DATABASE_URL not set: PostgreSQL variant skipped");
        return;
    };
    // A schema nobody created: the store is reachable and "not created yet".
    let schema = format!("poststelle_pw_{:016x}", getrandom::u64().expect("random"));
    let sep = if url.contains('?') { '&' } else { '?' };
    let address = format!("{url}{sep}options=-c%20search_path%3D{schema}");
    let rig = Rig::new(&address, "").await;
    let config = rig.gateway.config.clone();
    let text = std::fs::read_to_string(&config).expect("config");
    let line = format!("address = {address:?}\n");
    assert!(text.contains(&line), "{text}");
    std::fs::write(
        &config,
        text.replacen(
            &line,
            &format!("{line}password_file = \"pg-password\"\n"),
            1,
        ),
    )
    .expect("config");
    std::fs::write(
        config.parent().expect("dir").join("pg-password"),
        format!("{SECRET}\n"),
    )
    .expect("password file");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_poststelle"))
            .args(["serve", "--check", "--connect", "--config"])
            .arg(&config)
            .env("POSTSTELLE_SHARED", crate::shared_data::shared())
            .env_remove("POSTSTELLE_PACKS")
            .env_remove("POSTSTELLE_STORE_PASSWORD")
            .output()
            .expect("serve --check runs")
    })
    .await
    .expect("join");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("not created yet"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}
