//! Process signals of the long-running commands (`serve`, `sandbox`), in one place.
//!
//! SIGTERM (`systemctl stop`, `docker stop`) and SIGINT (Ctrl-C) both ask for a graceful stop.
//! SIGHUP is ignored explicitly and logged: nothing is reloaded (a changed configuration takes
//! effect at the next start), and a closed terminal or a `systemctl reload` must not kill a
//! gateway in the middle of a delivery.

use tokio::signal::unix::{SignalKind, signal};

/// Waits for SIGTERM or SIGINT and returns its name; SIGHUP meanwhile is logged and ignored.
/// When the handlers cannot be installed, returns at once (`"no signal handler"`), so the
/// caller stops rather than running without a way to be stopped gracefully.
pub(crate) async fn stop_requested(log: &(dyn Fn(&str) + Sync)) -> &'static str {
    let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) else {
        log("cannot install the signal handlers; stopping");
        return "no signal handler";
    };
    loop {
        tokio::select! {
            _ = term.recv() => return "SIGTERM",
            _ = int.recv() => return "SIGINT",
            _ = hup.recv() => log(
                "SIGHUP ignored: nothing is reloaded; restart to apply a changed configuration"
            ),
        }
    }
}
