//! `poststelle reply`: the gateway's reply flow from the command line — hand in a
//! Fachverfahren's answer to a stored submission (the same checks as the reply API:
//! `crate::reply::ReplyDesk`), show replies, re-drive a dead one. A running `serve` on the same
//! store sends what is handed in here.
//!
//! Exit codes: 0 done; 1 refused (invalid message, no FIT-Connect reply channel, …) or not
//! found; 2 the store or a pack failed; 64 configuration errors.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::config::gateway::GatewayConfig;
use crate::error::{CliError, Verdict};
use crate::reply::api::view_json;
use crate::reply::{Answer, CLI_CLIENT, HandIn, HandInError};
use crate::store::{Access, AnyStore, ReplyInsert, ReplyStore, ReplyView, Timestamp};
use crate::xoev::pack::PackSources;

/// Arguments of `poststelle reply`.
#[derive(Debug, Args)]
pub(crate) struct ReplyArgs {
    /// The gateway's configuration file (store, packs, destinations); without it the embedded
    /// defaults.
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    action: ReplyAction,
}

#[derive(Debug, Subcommand)]
enum ReplyAction {
    /// Hand in an answer to a stored submission: the XÖV XML, or the JSON of the documented
    /// mapping (`{"message": {"type"}, "data": …}`, what `poststelle transform` writes). It is
    /// validated and stored; `serve` sends it.
    Submit {
        /// The submission answered.
        submission_id: String,
        /// The answer (.xml or .json; decided by its first character).
        file: PathBuf,
        /// An attachment (repeatable), sent with the reply.
        #[arg(long = "attachment", value_name = "FILE")]
        attachments: Vec<PathBuf>,
        /// The attachments' media type.
        #[arg(long, default_value = "application/pdf")]
        attachment_type: String,
        /// Hand-ins with the same key give the reply stored first.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show one reply (the gateway's reply id).
    Status {
        /// The reply id.
        reply_id: String,
    },
    /// List the replies to a submission.
    List {
        /// The submission id.
        submission_id: String,
    },
    /// Re-drive a dead reply: due now, at the step where it stopped.
    Redrive {
        /// The reply id.
        reply_id: String,
    },
}

fn load(path: Option<&Path>) -> Result<GatewayConfig, Vec<String>> {
    match path {
        None => Ok(GatewayConfig::embedded_default()),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| vec![format!("{}: {e}", path.display())])?;
            GatewayConfig::from_toml(&text, path.parent().unwrap_or(Path::new(".")))
        }
    }
}

/// Runs `poststelle reply`.
pub(crate) fn run(args: ReplyArgs) -> super::CommandResult {
    let config = load(args.config.as_deref()).map_err(CliError::ConfigProblems)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format_args!("cannot start the runtime: {e}")))?;
    runtime.block_on(execute(args, &config))
}

async fn open(config: &GatewayConfig, access: Access) -> Result<AnyStore, CliError> {
    let password =
        crate::app::store_password(config).map_err(|e| CliError::ConfigProblems(vec![e]))?;
    AnyStore::open_existing_with(&config.store, access, password.as_ref())
        .await
        .map_err(|e| {
            CliError::failed(format_args!(
                "store {}: {e}",
                crate::store::display_address(&config.store)
            ))
        })
}

fn print(json_out: bool, views: &[ReplyView]) {
    let mut out = std::io::stdout().lock();
    if json_out {
        let list: Vec<Value> = views.iter().map(view_json).collect();
        let _ = writeln!(out, "{}", json!({ "replies": list }));
        return;
    }
    for v in views {
        let _ = writeln!(
            out,
            "reply {}  submission {}  {}  status {} ({}){}{}",
            v.reply_id,
            v.submission_id,
            v.message_type,
            v.phase.as_str(),
            v.state,
            v.fit_reply_id
                .as_deref()
                .map(|f| format!("  FIT-Connect reply {f}"))
                .unwrap_or_default(),
            v.last_error
                .as_deref()
                .map(|e| format!("  last error: {e}"))
                .unwrap_or_default(),
        );
    }
}

async fn execute(args: ReplyArgs, config: &GatewayConfig) -> super::CommandResult {
    match args.action {
        ReplyAction::Status { reply_id } => {
            let store = open(config, Access::ReadOnly).await?;
            let view = store.reply(&reply_id.to_ascii_lowercase()).await;
            match view.map_err(CliError::failed)? {
                Some(v) => {
                    print(args.json, &[v]);
                    Ok(Verdict::Done)
                }
                None => {
                    eprintln!("poststelle reply: no reply {reply_id}");
                    Ok(Verdict::Refused)
                }
            }
        }
        ReplyAction::List { submission_id } => {
            let store = open(config, Access::ReadOnly).await?;
            let list = store
                .replies_of(&submission_id.to_ascii_lowercase())
                .await
                .map_err(CliError::failed)?;
            print(args.json, &list);
            Ok(Verdict::Done)
        }
        ReplyAction::Redrive { reply_id } => {
            let store = open(config, Access::ReadWrite).await?;
            let id = reply_id.to_ascii_lowercase();
            if store
                .redrive_reply(&id, Timestamp::now())
                .await
                .map_err(CliError::failed)?
            {
                eprintln!("poststelle reply: {id} is due again (a running serve sends it)");
                Ok(Verdict::Done)
            } else {
                eprintln!("poststelle reply: {id} is not a dead reply");
                Ok(Verdict::Refused)
            }
        }
        ReplyAction::Submit {
            submission_id,
            file,
            attachments,
            attachment_type,
            idempotency_key,
        } => {
            let bytes = std::fs::read(&file)
                .map_err(|e| CliError::failed(format_args!("{}: {e}", file.display())))?;
            let mut answer = if bytes.trim_ascii_start().first() == Some(&b'{') {
                let value = crate::json::parse(&bytes, &crate::json::JsonLimits::FACHDATEN)
                    .map_err(|e| CliError::failed(format_args!("{}: {e}", file.display())))?;
                Answer::Json(value)
            } else {
                Answer::Xml(bytes)
            };
            if !attachments.is_empty() {
                let mut list = Vec::new();
                for path in &attachments {
                    let content = std::fs::read(path)
                        .map_err(|e| CliError::failed(format_args!("{}: {e}", path.display())))?;
                    list.push(json!({
                        "filename": path.file_name().map(|n| n.to_string_lossy().into_owned()),
                        "mimeType": attachment_type,
                        "content": base64::engine::general_purpose::STANDARD.encode(content),
                    }));
                }
                answer = match answer {
                    Answer::Json(mut v) => {
                        v["attachments"] = Value::Array(list);
                        Answer::Json(v)
                    }
                    Answer::Xml(_) => {
                        return Err(CliError::failed(
                            "attachments go with a JSON answer (give the message as JSON, or add \"attachments\" to it)",
                        ));
                    }
                };
            }
            let dests = crate::app::destinations(config).map_err(CliError::ConfigProblems)?;
            let log = |m: &str| eprintln!("poststelle reply: {m}");
            let registry = crate::app::load_packs(
                config,
                &PackSources::from_env(config.packs_dir.clone()),
                &log,
            )?;
            let store = open(config, Access::ReadWrite).await?;
            let desk = crate::app::reply_desk(
                config,
                &dests,
                store,
                registry,
                crate::pipeline::GrammarCache::default(),
                crate::xoev::rules::RulesCache::with_overrides(config.rule_severity.clone()),
            );
            let result = desk
                .hand_in(HandIn {
                    submission_id,
                    client: CLI_CLIENT.to_owned(),
                    idempotency_key,
                    answer,
                })
                .await;
            match result {
                Ok(ReplyInsert::Inserted(v) | ReplyInsert::Existing(v)) => {
                    print(args.json, &[v]);
                    Ok(Verdict::Done)
                }
                Err(HandInError::Store(e)) => Err(CliError::failed(e)),
                Err(e @ HandInError::Technical(_)) => Err(CliError::failed(e)),
                Err(e) => {
                    let (_, slug) = e.status_and_slug();
                    eprintln!("poststelle reply: refused ({slug}): {e}");
                    if let HandInError::Invalid {
                        violations,
                        truncated,
                    } = &e
                    {
                        for v in violations {
                            eprintln!(
                                "  {}:{}: {}: {}: {}",
                                v.line, v.column, v.path, v.kind, v.message
                            );
                        }
                        if *truncated {
                            eprintln!("  more violations not shown");
                        }
                    }
                    Ok(Verdict::Refused)
                }
            }
        }
    }
}
