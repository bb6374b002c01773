//! `poststelle send`: play the portal. Builds the metadata, checks the destination's key,
//! encrypts, creates, uploads, submits, follows the event log and prints the decision.
//!
//! Exit codes: 0 accepted (or submitted, with `--wait 0`); 1 rejected (the problems are
//! printed); 2 usage, I/O, network or protocol errors (a refused destination key too); 3 no
//! decision within `--wait`; 64 invalid configuration (e.g. an unreadable `sandbox.toml`).
//!
//! Replies (`--reply-key`, see `cli::replies`): the metadata name a FIT-Connect reply
//! channel; after an accept the replies are received, checked, printed and optionally decided.
//! A reply's faults are reported with it and do not change the exit code.
//!
//! Trust in the destination's keys: `--trust-anchor` (the Verwaltungs-PKI roots), revocation
//! per `--revocation` (default `require`, `prefer` for test environments) with `--crl` files
//! for offline use. `--dangerous-allow-self-signed` is accepted only for the sandbox, a
//! loopback URL and the `test`/`test-v2` presets.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde_json::json;

use super::keyfile::{read_anchors, read_bounded, read_crl};
use super::replies::{ReplyArgs, ReplySetup};
use crate::error::{CliError, Verdict};
use crate::fitconnect::captured::ApiProfile;
use crate::fitconnect::client::{Client, ClientConfig, Credentials, RevocationMode};
use crate::fitconnect::sender::{
    self, DataSchema, Decision, Outgoing, OutgoingAttachment, Progress, SendOptions,
};
use crate::sandbox::{ClientRole, SandboxConfig};
use crate::xoev::catalog::Catalog;

/// Largest Fachdaten file (FIT-Connect: 10 MB; larger data travel as attachment).
const MAX_DATA_BYTES: u64 = 10 * 1000 * 1000;
/// Largest attachment file: FIT-Connect allows 500 MB encrypted, and base64 adds a third.
const MAX_ATTACHMENT_BYTES: u64 = 370 * 1000 * 1000;

/// Path profile on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Api {
    /// `/v1/…` (documented).
    V1,
    /// `/v2/…` (observed in current clients).
    V2,
}

/// Arguments of `poststelle send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// Send to the local `poststelle sandbox`: base URL, credentials, destination and service
    /// default to its `sandbox.toml`; self-signed destination keys are accepted.
    #[arg(long, conflicts_with = "env")]
    sandbox: bool,
    /// The sandbox's data directory (with `sandbox.toml`).
    #[arg(long, value_name = "DIR", default_value = "sandbox-data")]
    sandbox_dir: PathBuf,
    /// Submission API base URL (without /v1); with --sandbox it overrides the configured address.
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    /// OAuth token endpoint (default: the --url address + `/token`).
    #[arg(long, value_name = "URL")]
    token_url: Option<String>,
    /// A FIT-Connect environment preset: test, test-v2, stage, prod (see the README).
    #[arg(long, value_name = "NAME", conflicts_with = "url")]
    env: Option<String>,
    /// Path profile [default: v1, or the preset's].
    #[arg(long, value_enum)]
    api: Option<Api>,
    /// OAuth client id (a sender client).
    #[arg(long, value_name = "ID")]
    client_id: Option<String>,
    /// OAuth client secret [default: $POSTSTELLE_CLIENT_SECRET].
    #[arg(long, value_name = "SECRET")]
    client_secret: Option<String>,
    /// destinationId.
    #[arg(long, value_name = "UUID")]
    destination: Option<String>,
    /// Service identifier, e.g. urn:de:fim:leika:leistung:99099002067003.
    #[arg(long, value_name = "URN")]
    service_identifier: Option<String>,
    /// Service name.
    #[arg(long, value_name = "NAME", default_value = "")]
    service_name: String,
    /// The Fachdaten file (XML or JSON, at most 10 MB).
    #[arg(long, value_name = "FILE")]
    data: PathBuf,
    /// submissionSchema URI [default: detected: XÖV messages by root element, JSON by $schema].
    #[arg(long, value_name = "URI")]
    schema_uri: Option<String>,
    /// An attachment file; repeatable. The MIME type follows the file extension.
    #[arg(long, value_name = "FILE")]
    attachment: Vec<PathBuf>,
    /// Seconds to wait for accept or reject (0: submit and exit).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    wait: u64,
    /// Trust anchors for the destination's keys (the Verwaltungs-PKI roots): a PEM bundle or
    /// one DER certificate; repeatable.
    #[arg(long, value_name = "FILE")]
    trust_anchor: Vec<PathBuf>,
    /// Revocation check of the destination's certificates: require (no valid status: refuse),
    /// prefer (refuse revoked, warn when no status), off (DANGEROUS) [default: require;
    /// prefer for the sandbox, loopback and the test presets].
    #[arg(long, value_name = "POLICY", value_parser = ["require", "prefer", "off"])]
    revocation: Option<String>,
    /// A CRL (DER or PEM) to check the destination's certificates against before any
    /// network access; repeatable.
    #[arg(long, value_name = "FILE")]
    crl: Vec<PathBuf>,
    /// Do not fetch CRLs or ask OCSP responders: only the --crl files count (offline use).
    #[arg(long)]
    revocation_offline: bool,
    /// DANGEROUS: accept self-signed destination keys. Only for the sandbox (where it is
    /// implied), a loopback --url and the test/test-v2 presets; refused for stage and prod.
    #[arg(long)]
    dangerous_allow_self_signed: bool,
    /// Print the result as one JSON document on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    replies: ReplyArgs,
}

fn mime_of(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "xml" => "application/xml",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" => "text/plain",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

struct Target {
    config: ClientConfig,
    credentials: Credentials,
    destination: String,
    service: String,
}

fn sandbox_defaults(args: &SendArgs) -> Result<SandboxConfig, CliError> {
    let path = args.sandbox_dir.join("sandbox.toml");
    let text = std::fs::read_to_string(&path).map_err(|e| CliError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    SandboxConfig::from_toml(&text).map_err(|e| CliError::Config(e.to_string()))
}

fn target(args: &SendArgs) -> Result<Target, CliError> {
    let usage = |m: &str| CliError::Usage(m.to_owned());
    let sandbox = if args.sandbox {
        Some(sandbox_defaults(args)?)
    } else {
        None
    };
    let profile = |fallback: ApiProfile| match args.api {
        Some(Api::V1) => ApiProfile::V1,
        Some(Api::V2) => ApiProfile::V2,
        None => fallback,
    };
    let mut config = if let Some(name) = &args.env {
        let mut c = ClientConfig::preset(name).ok_or_else(|| {
            usage(&format!(
                "unknown --env {name}: use test, test-v2, stage, prod"
            ))
        })?;
        c.profile = profile(c.profile);
        c
    } else if let Some(url) = &args.url {
        let token = args
            .token_url
            .clone()
            .unwrap_or_else(|| format!("{}/token", url.trim_end_matches('/')));
        ClientConfig::new(url, &token, profile(ApiProfile::V1))
    } else if let Some(s) = &sandbox {
        let mut addr = s.listen;
        if addr.ip().is_unspecified() {
            addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        ClientConfig::sandbox(&format!("http://{addr}"), profile(ApiProfile::V1))
    } else {
        return Err(usage(
            "name the delivery service: --sandbox, --url or --env",
        ));
    };
    if let Some(issuer) = sandbox.as_ref().and_then(|s| s.issuer.clone()) {
        config.issuer = Some(issuer);
    }
    let sender = sandbox
        .as_ref()
        .and_then(|s| s.clients.iter().find(|c| c.role == ClientRole::Sender));
    let client_id = args
        .client_id
        .clone()
        .or_else(|| sender.map(|c| c.id.clone()))
        .ok_or_else(|| usage("--client-id is required"))?;
    let secret = args
        .client_secret
        .clone()
        .or_else(|| std::env::var("POSTSTELLE_CLIENT_SECRET").ok())
        .or_else(|| {
            sender
                .filter(|c| c.id == client_id)
                .map(|c| c.secret.clone())
        })
        .ok_or_else(|| usage("--client-secret (or POSTSTELLE_CLIENT_SECRET) is required"))?;
    let first = sandbox.as_ref().and_then(|s| s.destinations.first());
    let destination = args
        .destination
        .clone()
        .or_else(|| first.map(|d| d.id.clone()))
        .ok_or_else(|| usage("--destination is required"))?;
    let service = args
        .service_identifier
        .clone()
        .or_else(|| {
            first
                .filter(|d| d.id.eq_ignore_ascii_case(&destination))
                .and_then(|d| d.services.first())
                .map(|s| s.identifier.clone())
        })
        .ok_or_else(|| usage("--service-identifier is required"))?;
    trust(args, &mut config)?;
    Ok(Target {
        config,
        credentials: Credentials::new(&client_id, &secret),
        destination,
        service,
    })
}

/// Applies the trust options to `config`: anchors, the self-signed switch (test environments
/// only), the revocation policy and offline CRLs. DANGEROUS choices are named on stderr.
fn trust(args: &SendArgs, config: &mut ClientConfig) -> Result<(), CliError> {
    for path in &args.trust_anchor {
        config.trust.anchors.extend(read_anchors(path)?);
    }
    if args.dangerous_allow_self_signed && !(args.sandbox || config.test_environment) {
        return Err(CliError::Usage(
            "--dangerous-allow-self-signed is allowed only with --sandbox, a loopback --url or \
             the test/test-v2 presets"
                .into(),
        ));
    }
    if args.sandbox || args.dangerous_allow_self_signed {
        eprintln!("poststelle send: DANGEROUS: self-signed destination keys are accepted");
        config.trust.dangerous_allow_self_signed = true;
        // The sandbox's keys are self-signed wherever it listens.
        config.test_environment = true;
    }
    if let Some(mode) = &args.revocation {
        config.revocation.mode = mode.parse().map_err(CliError::Usage)?;
    }
    if config.revocation.mode == RevocationMode::Off {
        eprintln!(
            "poststelle send: DANGEROUS: revocation checking is off (a revoked destination key would be used)"
        );
    }
    for path in &args.crl {
        config.revocation.crls.push(read_crl(path)?);
    }
    config.revocation.online = !args.revocation_offline;
    Ok(())
}

fn outgoing(args: &SendArgs, t: &Target) -> Result<(Outgoing, Option<ReplySetup>), CliError> {
    let data = read_bounded(&args.data, MAX_DATA_BYTES)?;
    let data_schema = match &args.schema_uri {
        Some(uri) => DataSchema {
            schema_uri: uri.clone(),
            mime_type: if mime_of(&args.data) == "application/json" {
                "application/json".into()
            } else {
                sender::media_type_of(&data).into()
            },
        },
        None => sender::detect_schema(&data, Catalog::embedded())
            .map_err(|e| CliError::Usage(format!("{}: {e}", args.data.display())))?,
    };
    let attachments = args
        .attachment
        .iter()
        .map(|path| {
            Ok(OutgoingAttachment {
                filename: path.file_name().map(|n| n.to_string_lossy().into_owned()),
                mime_type: mime_of(path).to_owned(),
                purpose: "attachment".into(),
                bytes: read_bounded(path, MAX_ATTACHMENT_BYTES)?,
            })
        })
        .collect::<Result<Vec<_>, CliError>>()?;
    let replies = args.replies.setup(&data_schema.schema_uri)?;
    let out = Outgoing {
        destination_id: t.destination.clone(),
        service_identifier: t.service.clone(),
        service_name: args.service_name.clone(),
        data,
        data_schema,
        attachments,
        reply_channel: replies.as_ref().map(|r| r.channel.clone()),
    };
    Ok((out, replies))
}

fn report_progress(p: Progress) {
    match p {
        Progress::KeyChecked { kid } => eprintln!("destination key {kid} checked"),
        Progress::RevocationUnavailable { kid, index, detail } => eprintln!(
            "poststelle send: warning: no revocation status for x5c[{index}] of key {kid} ({detail}); used anyway (revocation = prefer)"
        ),
        Progress::Created {
            submission_id,
            case_id,
        } => eprintln!("created submission {submission_id} (case {case_id})"),
        Progress::Uploaded { index, total } => eprintln!("uploaded attachment {index}/{total}"),
        Progress::Submitted => eprintln!("submitted; waiting for accept or reject"),
        Progress::Waiting { elapsed_secs } => eprintln!("… still waiting ({elapsed_secs} s)"),
    }
}

/// Runs the command.
pub(crate) fn run(args: &SendArgs) -> super::CommandResult {
    execute(args, &mut std::io::stdout().lock())
}

#[derive(Debug, clap::Parser)]
#[command(name = "send")]
struct SendCli {
    #[command(flatten)]
    args: SendArgs,
}

/// `poststelle send ARGS…` with the result written to `out` instead of stdout (progress
/// still goes to stderr); returns the exit code. For tests and embedding; `argv[0]` is the
/// command name. Must not be called from inside a Tokio runtime (it runs its own).
pub fn run_to<I, T>(argv: I, out: &mut dyn Write) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    match <SendCli as clap::Parser>::try_parse_from(argv) {
        Ok(cli) => super::exit_code("send", &execute(&cli.args, out)),
        Err(e) => {
            let _ = e.print();
            crate::error::exit::FAILED
        }
    }
}

fn execute(args: &SendArgs, stdout: &mut dyn Write) -> super::CommandResult {
    let t = target(args)?;
    let (out, replies) = outgoing(args, &t)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::failed)?;
    let options = SendOptions {
        wait: Duration::from_secs(args.wait),
        poll_interval: Duration::from_secs(1),
    };
    let client = {
        let _entered = runtime.enter();
        Client::new(t.config.clone(), t.credentials.clone()).map_err(CliError::failed)?
    };
    let result = runtime.block_on(sender::send(&client, &out, &options, &mut report_progress));
    let report = result.map_err(CliError::failed)?;
    let (word, verdict) = match (&report.decision, args.wait) {
        (Some(Decision::Accepted), _) => ("accepted", Verdict::Done),
        (Some(Decision::Rejected { .. }), _) => ("rejected", Verdict::Refused),
        (None, 0) => ("submitted", Verdict::Done),
        (None, _) => ("pending", Verdict::Pending),
    };
    let problems = match &report.decision {
        Some(Decision::Rejected { problems }) => problems.as_slice(),
        _ => &[],
    };
    // A closed stdout loses only the echo; the exit code still tells the decision.
    if !args.json {
        let _ = writeln!(stdout, "{word} {}", report.submission_id);
    }
    // Replies are read once the submission is accepted: the answer to a rejected one is the
    // rejection, and without a decision the wait is over.
    // A failure while reading replies does not hide the decision: it is printed first, and
    // the error (exit 2) follows.
    let mut reply_error = None;
    let received = match (&replies, &report.decision) {
        (Some(setup), Some(Decision::Accepted)) => super::replies::handle(
            &args.replies,
            setup,
            &runtime,
            &client,
            &report.submission_id,
            args.json,
            stdout,
        )
        .map_err(|e| reply_error = Some(e))
        .ok(),
        (Some(_), _) => {
            eprintln!(
                "poststelle send: replies are read once the submission is accepted; none were read"
            );
            None
        }
        (None, _) => None,
    };
    if args.json {
        let mut doc = json!({
            "result": word,
            "submissionId": report.submission_id,
            "caseId": report.case_id,
            "problems": problems,
        });
        if let Some(received) = received {
            doc["replies"] = received;
        }
        if let Some(e) = &reply_error {
            doc["repliesError"] = e.to_string().into();
        }
        let _ = writeln!(stdout, "{doc}");
    } else {
        for p in problems {
            let _ = writeln!(
                stdout,
                "  {} [{}] {}: {}",
                p.type_uri, p.instance, p.title, p.detail
            );
        }
        if verdict == Verdict::Pending {
            eprintln!(
                "poststelle send: no decision within {} s; the submission stays on the delivery service",
                args.wait
            );
        }
    }
    match reply_error {
        Some(e) => Err(e),
        None => Ok(verdict),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target_of(extra: &[&str]) -> Result<Target, CliError> {
        let mut argv = vec![
            "send",
            "--client-id",
            "sender",
            "--client-secret",
            "secret",
            "--destination",
            "879ee109-a690-4db8-ab32-424284184d7d",
            "--service-identifier",
            "urn:de:fim:leika:leistung:99099002067003",
            "--data",
            "antrag.xml",
        ];
        argv.extend_from_slice(extra);
        let cli = <SendCli as clap::Parser>::try_parse_from(argv).expect("arguments parse");
        target(&cli.args)
    }

    #[test]
    fn dangerous_allow_self_signed_is_refused_for_stage_and_prod() {
        for env in ["stage", "prod"] {
            match target_of(&["--env", env, "--dangerous-allow-self-signed"]) {
                Err(CliError::Usage(m)) => assert!(m.contains("allowed only"), "{m}"),
                Err(e) => panic!("{env}: expected a usage error, got {e}"),
                Ok(_) => panic!("{env}: the dangerous switch was accepted"),
            }
        }
        match target_of(&[
            "--url",
            "https://delivery.example",
            "--dangerous-allow-self-signed",
        ]) {
            Err(CliError::Usage(m)) => assert!(m.contains("allowed only"), "{m}"),
            _ => panic!("a non-loopback --url must not allow self-signed keys"),
        }
        for extra in [
            &["--env", "test"][..],
            &["--env", "test-v2"],
            &["--url", "http://127.0.0.1:8090"],
        ] {
            let t = target_of(&[extra, &["--dangerous-allow-self-signed"]].concat())
                .unwrap_or_else(|e| panic!("{extra:?}: {e}"));
            assert!(t.config.trust.dangerous_allow_self_signed, "{extra:?}");
        }
        // Without the switch nothing is dangerous, and production requires revocation status.
        let t = target_of(&["--env", "prod"]).expect("prod");
        assert!(!t.config.trust.dangerous_allow_self_signed);
        assert_eq!(t.config.revocation.mode, RevocationMode::Require);
    }

    #[test]
    fn trust_options_reach_the_client_configuration() {
        let t = target_of(&[
            "--env",
            "prod",
            "--revocation",
            "prefer",
            "--revocation-offline",
        ])
        .expect("prod");
        assert_eq!(t.config.revocation.mode, RevocationMode::Prefer);
        assert!(!t.config.revocation.online);
        let t = target_of(&["--env", "test", "--revocation", "off"]).expect("test");
        assert_eq!(t.config.revocation.mode, RevocationMode::Off);
        match target_of(&[
            "--env",
            "prod",
            "--trust-anchor",
            "/nonexistent/anchors.pem",
        ]) {
            Err(CliError::Io { .. }) => {}
            _ => panic!("a missing anchor file must be an error"),
        }
        match target_of(&["--env", "prod", "--crl", "/nonexistent/root.crl"]) {
            Err(CliError::Io { .. }) => {}
            _ => panic!("a missing CRL file must be an error"),
        }
    }
}
