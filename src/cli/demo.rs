//! `poststelle demo`: the whole flow in one process — a local sandbox (delivery service), the
//! gateway (pipeline, SQLite store, forwarder, server) and a file-drop upstream — fed with the
//! example XGewerbeanzeige and XBau submissions (compiled in from `examples/`) plus one that
//! must be rejected, with a readable account of each step. It needs no checkout: the project's
//! own XGewerbeanzeige pack is compiled in too, XBau comes from the installed packs.

use std::path::{Path, PathBuf};

use clap::Args;

use crate::error::{CliError, Verdict};

use crate::config::gateway::GatewayConfig;
use crate::fitconnect::captured::ApiProfile;
use crate::fitconnect::client::{Client, ClientConfig, Credentials, NewSubmission};
use crate::fitconnect::hash::sha512_hex;
use crate::jose::{DecryptionKey, Jwk, jwe};
use crate::pipeline::Outcome;
use crate::sandbox::{ClientRole, Sandbox, SandboxConfig};
use crate::xoev::catalog::Catalog;
use crate::xoev::embedded::write_project_packs;
use crate::xoev::pack::{PackSources, discover};
use crate::xoev::pack_files::PackLimits;

/// Arguments of `poststelle demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Working directory (wiped first) for the sandbox, the store and the outbox.
    #[arg(long, value_name = "DIR", default_value = "demo-data")]
    data_dir: PathBuf,
    /// Installed schema packs (the XBau part runs when XBau 2.6 is installed there)
    /// [default: $POSTSTELLE_PACKS, else ./schemas-installed].
    #[arg(long, value_name = "DIR")]
    packs: Option<PathBuf>,
}

/// The example messages, compiled in: the demo needs no checkout.
const XGEWERBEANZEIGE: &[u8] =
    include_bytes!("../../examples/xgewerbeanzeige/gewerbeanmeldung.xml");
const XBAU: &[u8] = include_bytes!("../../examples/xbau/baugenehmigung.antrag.0200.xml");
/// The Fachverfahren's answer to the XBau example, as the JSON of the documented mapping.
const XBAU_REPLY: &str =
    include_str!("../../examples/xbau/baugenehmigung.formellePruefung.0201.json");
/// The process standard the XBau example's sender names for replies.
const XBAU_STANDARD: &str = "urn:xoev-de:bmk:standard:xbau_2.6";
/// The demo Fachverfahren's reply token (the demo's own, written to its data directory).
const REPLY_TOKEN: &str = "demo-fachverfahren-reply-token";
/// The catalogue id of the official XBau pack the XBau example needs.
const XBAU_PACK: &str = "xbau-2.6";

/// One submission of the demo.
struct Example {
    label: &'static str,
    xml: &'static [u8],
    /// Break the data hash in the metadata: the gateway must reject it.
    tamper: bool,
    /// Ask for answers over FIT-Connect (metadata 2.0.0 with `replyChannel.fitConnect`).
    reply: bool,
}

/// Where the demo's gateway finds packs: the installed ones, the shared development copy, and
/// the project's own packs written out from the binary into `dir/embedded` (so the
/// XGewerbeanzeige part runs from any directory).
fn pack_sources(args: &DemoArgs, dir: &Path) -> Result<PackSources, DemoError> {
    let root = dir.join("embedded");
    write_project_packs(&root).map_err(|(p, e)| format!("{}: {e}", p.display()))?;
    Ok(PackSources {
        repo_dir: Some(root),
        ..PackSources::from_env(args.packs.clone())
    })
}

fn examples(xbau: bool, log: &dyn Fn(&str)) -> Vec<Example> {
    let mut out = vec![
        Example {
            label: "XGewerbeanzeige Gewerbeanmeldung (examples/xgewerbeanzeige)",
            xml: XGEWERBEANZEIGE,
            tamper: false,
            reply: false,
        },
        Example {
            label: "XGewerbeanzeige with a wrong data hash (must be rejected)",
            xml: XGEWERBEANZEIGE,
            tamper: true,
            reply: false,
        },
    ];
    if xbau {
        out.push(Example {
            label: "XBau Bauantrag (examples/xbau, official XBau 2.6 pack)",
            xml: XBAU,
            tamper: false,
            reply: true,
        });
    } else {
        log(&format!(
            "the official {XBAU_PACK} pack is not installed (`poststelle schemas install DIR|ZIP`, \
             or ../shared in a development checkout): running the XGewerbeanzeige part only"
        ));
    }
    out
}

fn metadata(
    xml: &[u8],
    attachment: (&str, &[u8]),
    tamper: bool,
    reply: Option<serde_json::Value>,
) -> serde_json::Value {
    let data_hash = if tamper {
        "0".repeat(128)
    } else {
        sha512_hex(xml)
    };
    // What a sender declares for these Fachdaten (`<kennung>_<version>#<message>`).
    let schema_uri = crate::fitconnect::sender::detect_schema(xml, Catalog::embedded())
        .map(|s| s.schema_uri)
        .unwrap_or_default();
    let mut doc = serde_json::json!({
        "publicServiceType": {"identifier": SERVICE, "name": "Demo"},
        "contentStructure": {
            "data": {
                "hash": {"type": "sha512", "content": data_hash},
                "submissionSchema": {"schemaUri": schema_uri, "mimeType": "application/xml"}
            },
            "attachments": [{
                "attachmentId": attachment.0, "purpose": "attachment",
                "mimeType": "application/pdf", "filename": "anlage.pdf",
                "hash": {"type": "sha512", "content": sha512_hex(attachment.1)}
            }]
        }
    });
    // Answers over FIT-Connect exist from metadata 2.0.0 on, which names the service
    // `publicService`.
    if let (Some(channel), Some(o)) = (reply, doc.as_object_mut()) {
        let service = o.remove("publicServiceType").unwrap_or_default();
        o.insert(
            "$schema".into(),
            crate::fitconnect::metadata::VERSIONS[1].uri.into(),
        );
        o.insert("publicService".into(), service);
        o.insert("replyChannel".into(), channel);
    }
    doc
}

const SERVICE: &str = "urn:de:fim:leika:leistung:99099002067003";

type DemoError = String;

async fn send(
    sender: &Client,
    destination: &str,
    key: &DecryptionKey,
    example: &Example,
    reply_key: Option<&DecryptionKey>,
) -> Result<String, DemoError> {
    let aid = uuid::Uuid::new_v4().to_string();
    let pdf = b"%PDF-1.7 demo attachment".to_vec();
    let created = sender
        .create_submission(&NewSubmission {
            destination_id: destination.to_owned(),
            service_identifier: SERVICE.to_owned(),
            service_name: "Demo".to_owned(),
            announced_attachments: vec![aid.clone()],
        })
        .await
        .map_err(|e| e.to_string())?;
    let public = key.public_key();
    let enc = |bytes: &[u8], cty: &str| {
        jwe::encrypt(bytes, public, key.kid(), Some(cty)).map_err(|e| e.to_string())
    };
    let att = enc(&pdf, "application/pdf")?;
    sender
        .upload_attachment(&created.submission_id, &aid, &att)
        .await
        .map_err(|e| e.to_string())?;
    let channel = reply_key
        .filter(|_| example.reply)
        .map(|k| crate::fitconnect::reply_inbox::reply_channel(k, &[XBAU_STANDARD.to_owned()]));
    let meta = metadata(example.xml, (&aid, &pdf), example.tamper, channel);
    let meta = enc(
        &serde_json::to_vec(&meta).map_err(|e| e.to_string())?,
        "application/json",
    )?;
    let data = enc(example.xml, "application/xml")?;
    sender
        .submit(&created.submission_id, &meta, Some(&data))
        .await
        .map_err(|e| e.to_string())?;
    Ok(created.submission_id)
}

fn count_files(dir: &Path) -> usize {
    // Hidden entries are the upstream's own work area (atomic rename), not deliveries.
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
                .count()
        })
        .unwrap_or(0)
}

async fn demo(args: &DemoArgs) -> Result<(), DemoError> {
    let say = |m: &str| println!("{m}");
    let dir = &args.data_dir;
    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))?;

    say("[1/6] starting the sandbox delivery service (RSA-4096 keys are generated: a few seconds)");
    let mut sc = SandboxConfig::generated();
    sc.listen = "127.0.0.1:0".parse().map_err(|_| "address".to_owned())?;
    sc.data_dir = dir.join("sandbox");
    let sender_client = sc
        .clients
        .iter()
        .find(|c| c.role == ClientRole::Sender)
        .cloned()
        .ok_or("no sender client")?;
    std::fs::create_dir_all(&sc.data_dir).map_err(|e| e.to_string())?;
    std::fs::write(
        sc.data_dir.join("sandbox.toml"),
        sc.to_toml().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let destination = sc.destinations[0].id.clone();
    let sandbox = Sandbox::start(sc.clone())
        .await
        .map_err(|e| e.to_string())?;
    let url = sandbox.base_url().to_owned();
    say(&format!(
        "      sandbox at {url}, destination {destination}"
    ));

    say("[2/6] starting the gateway (SQLite store, file-drop upstream, server, reply API)");
    // The demo Fachverfahren behind the file drop may answer over the reply API.
    let token_file = dir.join("fachverfahren-reply-token");
    std::fs::write(&token_file, REPLY_TOKEN).map_err(|e| e.to_string())?;
    let toml = format!(
        "[delivery_service]\nsandbox_dir = {:?}\nsandbox_url = {url:?}\n\
         [store]\naddress = \"sqlite:{}\"\n\
         [pipeline]\nspool_dir = {:?}\n\
         [[upstream]]\nname = \"outbox\"\nfile_drop = {:?}\nreply_token_file = {:?}\n\
         [replies]\nfirst_poll_secs = 1\n\
         [server]\nlisten = \"127.0.0.1:0\"\n",
        sc.data_dir.display().to_string(),
        dir.join("gateway.sqlite3").display(),
        dir.join("spool").display().to_string(),
        dir.join("outbox").display().to_string(),
        token_file.display().to_string(),
    );
    let config = GatewayConfig::from_toml(&toml, &dir).map_err(|e| e.join("; "))?;
    let dests = crate::app::destinations(&config).map_err(|e| e.join("; "))?;
    let log = |m: &str| println!("      {m}");
    let packs = pack_sources(args, &dir)?;
    // The same discovery the gateway makes: it tells whether the XBau example can be sent.
    let (registry, _) = discover(Catalog::embedded(), &packs, &PackLimits::default());
    let xbau = registry.packs().iter().any(|p| p.id == XBAU_PACK);
    let gw = crate::app::assemble(&config, dests, &packs, &log)
        .await
        .map_err(|e| e.to_string().replace('\n', "; "))?;
    say(&format!(
        "      gateway server at http://{}",
        gw.server.addr()
    ));

    say("[3/6] sending the example submissions as a sender would");
    let key_path = sc
        .data_dir
        .join("keys")
        .join(&destination)
        .join("encryption.private.jwk.json");
    let key_text = std::fs::read_to_string(&key_path).map_err(|e| e.to_string())?;
    let key = DecryptionKey::from_jwk(&Jwk::from_json(&key_text).map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let sender = Client::new(
        ClientConfig::sandbox(&url, ApiProfile::V1),
        Credentials::new(&sender_client.id, &sender_client.secret),
    )
    .map_err(|e| e.to_string())?;
    // The sender's own key pair for answers (its public half goes into the metadata).
    let reply_key = if xbau {
        let g = crate::jose::jwk::generate(crate::jose::jwk::KeyUse::Encryption, None)
            .map_err(|e| e.to_string())?;
        Some(DecryptionKey::from_jwk(&g.private_jwk).map_err(|e| e.to_string())?)
    } else {
        None
    };
    let mut sent = Vec::new();
    for ex in examples(xbau, &log) {
        let id = send(&sender, &destination, &key, &ex, reply_key.as_ref()).await?;
        say(&format!("      sent {id}: {}", ex.label));
        sent.push((id, ex.label));
    }

    say(
        "[4/6] the gateway polls: download → verify SET and tags → decrypt → validate → store → acknowledge",
    );
    let mut outcomes = Vec::new();
    for p in &gw.pipelines {
        outcomes.extend(p.poll_once().await.map_err(|e| e.to_string())?);
    }
    for (id, label) in &sent {
        let line = match outcomes.iter().find(|(o, _)| o == id).map(|(_, o)| o) {
            Some(Outcome::Accepted {
                message, upstreams, ..
            }) => format!(
                "ACCEPTED  {} → stored, queued for {}",
                message.as_deref().unwrap_or("(no data)"),
                upstreams.join(", ")
            ),
            Some(Outcome::Rejected { problems }) => format!(
                "REJECTED  {}",
                problems
                    .iter()
                    .map(|p| format!("{} ({}, {})", p.type_uri, p.title, p.instance))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            Some(other) => format!("{other:?}"),
            None => "not processed (see the log above)".to_owned(),
        };
        say(&format!("      {label}\n        {id}: {line}"));
    }
    let c = gw.counts();
    say(&format!(
        "      acknowledged at the delivery service: {} (accept/reject SETs posted to the case event logs)",
        c.acknowledged
    ));

    say("[5/6] forwarding to the file-drop upstream");
    let report = gw
        .forwarder
        .deliver_due_once()
        .await
        .map_err(|e| e.to_string())?;
    let outbox = dir.join("outbox");
    say(&format!(
        "      delivered {} of {} job(s); {} submission(s) in {}",
        report.delivered,
        report.claimed,
        count_files(&outbox),
        outbox.display()
    ));
    if let Some(reply_key) = reply_key
        && let Some((sid, _)) = sent.iter().find(|(_, label)| label.starts_with("XBau"))
    {
        say(
            "[6/6] the Fachverfahren answers: reply API → validate → store → encrypt for the sender's reply key → FIT-Connect reply; the sender receives it",
        );
        answer(&gw, &sender, sid, reply_key, &registry, &dir).await?;
    } else {
        say("[6/6] replies: shown with the XBau example (its pack is not installed)");
    }
    gw.server.shutdown().await;
    sandbox.shutdown().await;
    say(&format!(
        "done. Everything is in {} (store: gateway.sqlite3; try `poststelle queue --store sqlite:{} list`)",
        dir.display(),
        dir.join("gateway.sqlite3").display()
    ));
    Ok(())
}

/// Step 6: the demo Fachverfahren posts its answer (the example 0201 as JSON) to the reply
/// API; the gateway sends it; the sender lists, verifies, decrypts and validates it, keeps it
/// under `replies/<reply id>.xml` and accepts it.
async fn answer(
    gw: &crate::app::Gateway,
    sender: &Client,
    submission_id: &str,
    reply_key: DecryptionKey,
    registry: &crate::xoev::registry::Registry<'_>,
    dir: &Path,
) -> Result<(), DemoError> {
    use crate::fitconnect::reply_inbox::{self, ReplyOptions};
    use crate::store::ReplyStore as _;
    let say = |m: &str| println!("{m}");
    let url = format!(
        "http://{}/api/v1/submissions/{submission_id}/replies",
        gw.server.addr()
    );
    let resp = reqwest::Client::new()
        .post(&url)
        .bearer_auth(REPLY_TOKEN)
        .header("content-type", "application/json")
        .body(XBAU_REPLY)
        .send()
        .await
        .map_err(|e| format!("reply API: {e}"))?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
    let reply_id = body["replyId"].as_str().unwrap_or_default().to_owned();
    if status != 202 {
        return Err(format!(
            "the reply API refused the demo answer: HTTP {status} {body}"
        ));
    }
    say(&format!(
        "      Fachverfahren → gateway: HTTP 202, reply {reply_id} ({}) validated and stored",
        body["messageType"].as_str().unwrap_or_default()
    ));
    // Create, then upload and submit: one step per round.
    for _ in 0..3 {
        gw.replies
            .send_due_once()
            .await
            .map_err(|e| e.to_string())?;
    }
    let ring = crate::jose::KeyRing::from(reply_key);
    let options = ReplyOptions {
        wait: std::time::Duration::from_secs(10),
        ..ReplyOptions::default()
    };
    let received = reply_inbox::receive(sender, submission_id, &ring, &options)
        .await
        .map_err(|e| e.to_string())?;
    let replies_dir = dir.join("replies");
    crate::private_file::create_dir_all(&replies_dir).map_err(|e| e.to_string())?;
    for reply in &received {
        let content = reply.content.as_ref().map_err(|e| e.to_string())?;
        let root = crate::xoev::root::document_root(content.data.as_slice(), &Default::default())
            .map_err(|e| e.to_string())?;
        let resolved = registry
            .resolve(&root.namespace, &root.local)
            .map_err(|e| e.to_string())?;
        let limits = crate::config::Limits::default();
        let grammar = crate::pipeline::GrammarSource::grammar(
            &crate::pipeline::GrammarCache::default(),
            &resolved,
            &limits,
        )?;
        let options = crate::xsd::ValidationOptions::from_limits(&limits);
        let report = crate::xsd::validate_bytes(&grammar, &content.data, &limits, &options);
        let path = replies_dir.join(format!("{}.xml", reply.reply_id));
        crate::private_file::write(&path, &content.data).map_err(|e| e.to_string())?;
        say(&format!(
            "      sender ← FIT-Connect: reply {} {} — {}, decrypted with the reply key, {} ({} {}); saved as {}",
            reply.reply_id,
            resolved.message.message_type,
            if reply.tags_checked {
                "tags match the signed submit-reply event"
            } else {
                "no per-reply event log to check the tags against"
            },
            if report.is_valid() {
                "valid"
            } else {
                "INVALID"
            },
            resolved.message.standard,
            resolved.message.version,
            path.display()
        ));
        sender
            .accept_reply(&reply.reply_id, &reply.tags)
            .await
            .map_err(|e| e.to_string())?;
    }
    if received.is_empty() {
        return Err("the sender received no reply".into());
    }
    // The gateway asks for the decision after `[replies] first_poll_secs` (1 s here).
    let mut view = None;
    for _ in 0..20 {
        gw.replies
            .send_due_once()
            .await
            .map_err(|e| e.to_string())?;
        let v = gw
            .store
            .reply(&reply_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the reply is not in the store")?;
        let decided = v.state != "pending";
        view = Some(v);
        if decided {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    let view = view.ok_or("the reply is not in the store")?;
    say(&format!(
        "      the sender accepted the reply; the Fachverfahren reads status {} (GET /api/v1/replies/{reply_id})",
        view.phase.as_str()
    ));
    Ok(())
}

/// Runs `poststelle demo`.
pub(crate) fn run(args: &DemoArgs) -> super::CommandResult {
    // Everything this command creates (store, spool, outbox, data dirs) is private.
    crate::private_file::restrict_umask();
    let runtime = tokio::runtime::Runtime::new().map_err(CliError::failed)?;
    runtime.block_on(demo(args)).map_err(CliError::failed)?;
    Ok(Verdict::Done)
}
