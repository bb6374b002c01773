//! `poststelle serve`: the gateway. Assembles it through the composition root ([`crate::app`]),
//! then polls, forwards and serves until SIGTERM or SIGINT, finishing in-flight work within the grace period
//! (`[pipeline] shutdown_grace_secs`; see `cli::signals`).
//!
//! Exit codes: 0 after a clean shutdown, 64 for configuration errors (all reported at once),
//! 2 when a resource (store, listen address) cannot be opened.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Args;

use super::logging::LogFormat;
use crate::app::{assemble, destinations};
use crate::config::gateway::GatewayConfig;
use crate::error::{CliError, Verdict};
use crate::xoev::pack::PackSources;

/// Arguments of `poststelle serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The configuration file (TOML); without it the embedded defaults are used (local sandbox,
    /// SQLite under ./data, file drop ./data/outbox).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the configuration and exit (0 valid, 64 invalid).
    #[arg(long)]
    check: bool,
    /// With --check: also reach the store and, for every destination, the delivery service
    /// (token, destination, its published encryption key among ours); exit 2 when one is
    /// unreachable or refuses.
    #[arg(long, requires = "check")]
    connect: bool,
    /// Log lines on stderr: `text` (human-readable) or `json` (one object per line); the
    /// level filter comes from `POSTSTELLE_LOG` (`RUST_LOG` syntax, default `info`).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

fn load(args: &ServeArgs) -> Result<GatewayConfig, Vec<String>> {
    match &args.config {
        None => Ok(GatewayConfig::embedded_default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| vec![format!("{}: {e}", path.display())])?;
            let base = path.parent().unwrap_or(Path::new("."));
            GatewayConfig::from_toml(&text, base)
        }
    }
}

/// Runs `poststelle serve`.
pub(crate) fn run(args: &ServeArgs) -> super::CommandResult {
    // Everything this command creates (store, spool, outbox, data dirs) is private.
    crate::private_file::restrict_umask();
    super::logging::init(args.log_format);
    let config = load(args).map_err(CliError::ConfigProblems)?;
    for d in config.dangerous_settings() {
        tracing::warn!(setting = %d, "DANGEROUS setting in effect: {d}");
    }
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::failed)?;
    runtime.block_on(async {
        // Caught from here on: a stop asked for while starting is honoured once started.
        let mut signals = super::signals::Signals::install()
            .map_err(|e| CliError::failed(format_args!("cannot install the signal handlers: {e}")))?;
        let dests = destinations(&config).map_err(CliError::ConfigProblems)?;
        let log = |m: &str| tracing::info!("{m}");
        let packs = PackSources::from_env(config.packs_dir.clone());
        if args.check {
            // Everything serve checks before it opens the store: configuration, keys, routes,
            // TLS material, the store password file, the console's users file, schema packs;
            // every configuration problem at once.
            let mut errors = crate::app::route_table(&config).err().unwrap_or_default();
            errors.extend(crate::app::check_tls(&config).err().unwrap_or_default());
            errors.extend(crate::app::store_password(&config).err());
            errors.extend(crate::app::check_console(&config).err().unwrap_or_default());
            errors.extend(crate::app::check_token_files(&config));
            if !errors.is_empty() {
                return Err(CliError::ConfigProblems(errors));
            }
            crate::app::load_packs(&config, &packs, &log)?;
            eprintln!("poststelle serve: configuration is valid");
            if args.connect {
                crate::app::check_connections(&config, &dests, &|m: &str| {
                    eprintln!("poststelle serve: {m}");
                })
                .await?;
            }
            return Ok(Verdict::Done);
        }
        let gw = assemble(&config, dests, &packs, &log).await?;
        crate::app::log_transport(&config, gw.server.addr());
        log(&format!(
            "listening on {}://{} (callbacks, /health, /ready, /metrics); store {}; polling every {} s",
            if config.tls.is_some() { "https" } else { "http" },
            gw.server.addr(),
            crate::store::display_address(&config.store),
            config.poll_interval_secs
        ));
        if let Some(probe) = gw.server.probe_addr() {
            log(&format!("probes on http://{probe} (/health, /ready, /metrics)"));
        }
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|s| *s).await;
        };
        let fwd = gw.forwarder.clone();
        let fwd_task = tokio::spawn({
            let s = stopped(stop_rx.clone());
            async move { fwd.run(s).await }
        });
        let replies = gw.replies.clone();
        let reply_task = tokio::spawn({
            let s = stopped(stop_rx.clone());
            async move { replies.run(s).await }
        });
        let interval = Duration::from_secs(config.poll_interval_secs);
        // One poll loop per destination.
        let poll_tasks: Vec<_> = gw
            .pipelines
            .iter()
            .map(|p| {
                let (p, s) = (p.clone(), stopped(stop_rx.clone()));
                tokio::spawn(async move { p.run(interval, s).await })
            })
            .collect();
        // Not waited for at shutdown: a purge is one transaction per batch, and an interrupted
        // one is finished by the next start.
        let purge_task = tokio::spawn(crate::forward::run_purges(
            gw.store.clone(),
            config.retention,
            Some(std::sync::Arc::clone(&gw.metrics)),
            crate::forward::PURGE_INTERVAL,
            stopped(stop_rx.clone()),
        ));
        let signal = signals.stop_requested(&log).await;
        let grace = Duration::from_secs(config.shutdown_grace_secs);
        log(&format!(
            "{signal}: shutting down: no new polls or deliveries; finishing in-flight work (up to {} s; a second signal stops at once)",
            grace.as_secs()
        ));
        let _ = stop_tx.send(true);
        purge_task.abort();
        let drained = async {
            for task in poll_tasks {
                let _ = task.await;
            }
            let _ = fwd_task.await;
            let _ = reply_task.await;
        };
        tokio::select! {
            finished = tokio::time::timeout(grace, drained) => {
                if finished.is_err() {
                    log("grace period over: stopping with work unfinished (resumed at the next start; nothing is acknowledged before it is stored)");
                }
            }
            again = signals.stop_requested(&log) => {
                log(&format!("{again} again: stopping now (unfinished work is resumed at the next start)"));
            }
        }
        let c = gw.counts();
        gw.server.shutdown().await;
        log(&format!(
            "stopped: {} accepted, {} rejected, {} acknowledged",
            c.accepted, c.rejected, c.acknowledged
        ));
        drop(gw.metrics);
        Ok(Verdict::Done)
    })
}
