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
