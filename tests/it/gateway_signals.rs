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
        let child = rig.gateway.child.as_mut().expect("running");
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            assert!(Instant::now() < deadline, "SIG{name}: still running");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        rig.gateway.child = None;
        let log = log_of(&rig);
        assert_eq!(status.code(), Some(0), "SIG{name}:\n{log}");
        assert!(
            log.contains(&format!("SIG{name}: shutting down")),
            "SIG{name}:\n{log}"
        );
        assert!(log.contains("stopped: "), "SIG{name}:\n{log}");
        rig.sandbox.shutdown().await;
        rig.sink.stop();
    }
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
