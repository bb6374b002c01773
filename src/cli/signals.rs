//! Process signals of the long-running commands (`serve`, `sandbox`), in one place.
//!
//! SIGTERM (`systemctl stop`, `docker stop`) and SIGINT (Ctrl-C) both ask for a graceful stop.
//! SIGHUP is ignored explicitly and logged: nothing is reloaded (a changed configuration takes
//! effect at the next start), and a closed terminal or a `systemctl reload` must not kill a
//! gateway in the middle of a delivery.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The handlers of SIGTERM, SIGINT and SIGHUP, installed at once: from [`Signals::install`]
/// on, those signals are caught (queued until [`Signals::stop_requested`] reads them), so a
/// signal that arrives while the command is still starting is not fatal.
pub(crate) struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers (inside a Tokio runtime).
    ///
    /// # Errors
    /// The handlers cannot be installed.
    pub(crate) fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    /// Waits for SIGTERM or SIGINT and returns its name; SIGHUP meanwhile is logged and
    /// ignored.
    pub(crate) async fn stop_requested(&mut self, log: &(dyn Fn(&str) + Sync)) -> &'static str {
        loop {
            tokio::select! {
                _ = self.term.recv() => return "SIGTERM",
                _ = self.int.recv() => return "SIGINT",
                _ = self.hup.recv() => log(
                    "SIGHUP ignored: nothing is reloaded; restart to apply a changed configuration"
                ),
            }
        }
    }
}
