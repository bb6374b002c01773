//! `poststelle sandbox`: run the local FIT-Connect delivery service until SIGTERM or SIGINT.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;

use crate::error::{CliError, Verdict};
use crate::sandbox::{ClientRole, Sandbox, SandboxConfig, SandboxError};

/// Arguments of `poststelle sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// TOML configuration (destinations, clients, callbacks, limits). Without it the sandbox
    /// uses `<data-dir>/sandbox.toml`, generating one with fresh credentials on first start.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (plain HTTP; keep it on loopback).
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Keep submissions and events in memory only (keys are still files).
    #[arg(long)]
    ephemeral: bool,
    /// Directory for the database, the generated config and the keys [default: sandbox-data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Log lines on stderr: `text` or `json` (one object per line); level filter from
    /// `POSTSTELLE_LOG` (default `info`).
    #[arg(long, value_enum, default_value_t = super::logging::LogFormat::Text)]
    log_format: super::logging::LogFormat,
}

fn config_error(msg: impl std::fmt::Display) -> CliError {
    CliError::Config(msg.to_string())
}

fn load(args: &SandboxArgs) -> Result<SandboxConfig, CliError> {
    use super::keyfile::io_error;
    let mut config = if let Some(path) = &args.config {
        let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
        SandboxConfig::from_toml(&text).map_err(config_error)?
    } else {
        let dir = args
            .data_dir
            .clone()
            .unwrap_or_else(|| SandboxConfig::default().data_dir);
        let path = dir.join("sandbox.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => SandboxConfig::from_toml(&text).map_err(config_error)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut generated = SandboxConfig::generated();
                generated.data_dir = dir.clone();
                if !args.ephemeral {
                    let text = generated.to_toml().map_err(config_error)?;
                    let written =
                        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, text));
                    written.map_err(|e| io_error(&path, e))?;
                }
                generated
            }
            Err(e) => return Err(io_error(&path, e)),
        }
    };
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(dir) = &args.data_dir {
        config.data_dir.clone_from(dir);
    }
    config.ephemeral |= args.ephemeral;
    config.check().map_err(config_error)?;
    Ok(config)
}

/// Runs the sandbox in the foreground.
pub(crate) fn run(args: &SandboxArgs) -> super::CommandResult {
    // Everything this command creates (store, spool, outbox, data dirs) is private.
    crate::private_file::restrict_umask();
    super::logging::init(args.log_format);
    let config = load(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format_args!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        eprintln!(
            "poststelle sandbox: preparing keys (RSA-4096 generation on first start takes a while)"
        );
        let sandbox = match Sandbox::start(config).await {
            Ok(s) => s,
            Err(SandboxError::Config(e)) => return Err(config_error(e)),
            Err(e) => return Err(CliError::failed(e)),
        };
        print_banner(&sandbox);
        for d in sandbox.config().dangerous.in_effect() {
            eprintln!("poststelle sandbox: DANGEROUS setting in effect: {d}");
        }
        let log = |m: &str| tracing::info!("{m}");
        let signal = super::signals::stop_requested(&log).await;
        log(&format!("{signal}: stopping"));
        sandbox.shutdown().await;
        Ok(Verdict::Done)
    })
}

#[allow(clippy::print_stdout, reason = "the banner is the command's output")]
fn print_banner(sandbox: &crate::sandbox::SandboxHandle) {
    let c = sandbox.config();
    let base = sandbox.base_url();
    println!("poststelle sandbox listening on {base}");
    println!("  Submission API   {base}/v1   (and {base}/v2)");
    println!("  token endpoint   {base}/token   (client_credentials, client_secret_post)");
    println!(
        "  SET keys (JWKS)  {base}/.well-known/jwks.json   (iss {})",
        sandbox.issuer()
    );
    println!(
        "  state            {}",
        if c.ephemeral {
            "in memory (--ephemeral)".to_owned()
        } else {
            c.data_dir.join("sandbox.sqlite3").display().to_string()
        }
    );
    for client in &c.clients {
        let role = match client.role {
            ClientRole::Sender => "sender",
            ClientRole::Subscriber => "subscriber",
        };
        println!("client ({role})");
        println!("  client_id      {}", client.id);
        println!("  client_secret  {}", client.secret);
        if !client.destinations.is_empty() {
            println!("  destinations   {}", client.destinations.join(", "));
        }
    }
    for d in &c.destinations {
        println!("destination {}", d.id);
        if let Some(keys) = sandbox.destination_keys(&d.id) {
            println!("  encryptionKid          {}", keys.encryption_kid);
            println!(
                "  decryption key (JWK)   {}",
                keys.encryption_private_jwk.display()
            );
            println!(
                "  signing key (JWK)      {}",
                keys.signing_private_jwk.display()
            );
        }
        if let Some(url) = &d.callback_url {
            println!("  callback               {url}");
        }
    }
}
