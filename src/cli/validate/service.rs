//! `poststelle validate --daemon`: the check of `validate` as an HTTP service that a client of
//! the KoSIT validator's daemon (`java -jar validator.jar -D`) can use unchanged.
//!
//! # The protocol, as KoSIT's daemon has it
//! Read in itplr-kosit/validator (`daemon/Daemon.java`, `RoutingHandler.java`,
//! `CheckHandler.java`, `HealthHandler.java`, `model/xsd/daemon.xsd`) through the code search,
//! December 2026:
//! - `POST` the raw XML to any path; the last path segment names the document
//!   (`supplied_instance_N` for `/`); multipart is refused (400), an empty body is 400;
//! - the answer is the report (`application/xml`): 200 when the recommendation is ACCEPTABLE,
//!   406 when it is REJECT, 422 when the document could not be processed (KoSIT: no scenario
//!   matched or a configuration error), 500 on an internal error;
//! - `GET` on other paths shows a page (KoSIT: a GUI; here a short text on how to POST);
//!   other methods are 405;
//! - flags (`docs/daemon.md`): `-D` daemon mode, `-H` address and `-P` port, default
//!   `localhost:8080`; the worker count is `threadCount` in `Daemon.java` (default: the CPUs);
//!   that its command-line flag is `-T` is unconfirmed;
//! - `GET /server/health`: `<health xmlns="http://www.xoev.de/de/validator/framework/1/daemon">`
//!   with `status` (`UP`/`DOWN`) and `application` (`name`, `version`, `build`); KoSIT adds the
//!   JVM's `memory`, we add `ps:uptimeSeconds`, `ps:requests` and `ps:documents` instead
//!   (unconfirmed: whether KoSIT's monitoring clients require `memory`).
//!
//! # What differs
//! - A body that is not XML (not well-formed, a DTD, over a reader limit) is 400 with a REJECT
//!   report naming the reason (KoSIT answers such input with a report too); a body over
//!   `[limits.xml] max_input_bytes` is 413 before it is read; a slow body is 408.
//! - No scenario files: the schema comes from `--schema`/`--schema-dir`, else from the installed
//!   packs by the document's root element (no pack: 422); with `--rules`, a pack without
//!   business rules is 422 too (never a silent pass).
//! - The listener is the gateway's ([`crate::http`]): bounded connections per client and in
//!   all, header and body deadlines, a whole-request deadline (503 beyond it); at most
//!   `--threads` documents are read and checked at once, so memory is bounded by
//!   `threads × max_input_bytes` plus the trees of the checks.
//!
//! One log line per request on stderr: method, path, status, milliseconds — never the body.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, StatusCode};

use super::document::{RulesOutcome, check_reader};
use super::report::{self, Checked, Recommendation, Subject};
use super::{Rules, Run, ValidateArgs};
use crate::config::{HttpLimits, Limits};
use crate::error::{CliError, Verdict};
use crate::http::body::{BodyLimits, read_all};
use crate::http::reply::{Reply, with_type};
use crate::http::{Listener, ListenerConfig, Routes, handler};
use crate::pipeline::{GrammarCache, GrammarSource as _};
use crate::server::reply::Refusal;
use crate::xoev::registry::Registry;
use crate::xoev::root::document_root;
use crate::xsd::{Grammar, ValidationOptions};

/// The health document's namespace (KoSIT's `daemon.xsd`).
const DAEMON_NS: &str = "http://www.xoev.de/de/validator/framework/1/daemon";

/// Where the schemas come from.
enum Schemas {
    /// `--schema`/`--schema-dir`: one grammar for every document, compiled at start.
    Given {
        grammar: Arc<Grammar>,
        rules: Option<Arc<Rules>>,
    },
    /// The installed packs, by the document's root element: each entry schema compiled on its
    /// first document and kept; the packs' rules compiled at start.
    Packs {
        registry: Registry<'static>,
        grammars: GrammarCache,
        /// By pack id (with `--schematron`, those rules and the pack's code lists).
        rules: HashMap<String, Arc<Rules>>,
    },
}

/// The daemon's shared state.
struct Service {
    schemas: Schemas,
    rules_wanted: bool,
    limits: Limits,
    options: ValidationOptions,
    started: Instant,
    requests: AtomicU64,
    documents: AtomicU64,
    unnamed: AtomicU64,
    /// Documents read and checked at once (`--threads`).
    permits: tokio::sync::Semaphore,
}

/// An answer computed off the runtime.
struct Answer {
    status: StatusCode,
    report: Option<String>,
    refusal: Option<Refusal>,
}

impl Answer {
    fn refused(refusal: Refusal) -> Self {
        Answer {
            status: StatusCode::OK,
            report: None,
            refusal: Some(refusal),
        }
    }

    fn reply(self) -> Reply {
        match (self.refusal, self.report) {
            (Some(r), _) => r.reply(),
            (None, Some(xml)) => with_type(self.status, "application/xml; charset=utf-8", xml),
            (None, None) => Refusal::Unavailable("no answer").reply(),
        }
    }
}

/// Runs the daemon until SIGTERM or SIGINT.
pub(super) fn run(args: &ValidateArgs) -> super::super::CommandResult {
    if super::json::schemas_are_json(args) {
        return Err(CliError::Usage(
            "validate --daemon checks XML documents; JSON Schemas are not served".into(),
        ));
    }
    if args.rules && args.schematron.is_empty() && !args.schema.is_empty() {
        return Err(CliError::Usage(
            "validate --daemon: --rules with --schema needs --schematron FILE.sch".into(),
        ));
    }
    let host = parse_host(args.host.as_deref().unwrap_or("127.0.0.1"))?;
    let addr = SocketAddr::new(host, args.port.unwrap_or(8080));
    super::super::logging::init(super::super::logging::LogFormat::Text);
    let Some(service) = prepare(args) else {
        return Ok(Verdict::Undecided);
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, usize::from))
        .max(1);
    let service = Arc::new(Service {
        permits: tokio::sync::Semaphore::new(threads),
        ..service
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::failed(format_args!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(serve(service, addr, threads));
    // Checks still running off the runtime are abandoned, not waited for.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}

/// `localhost` or an IP address.
fn parse_host(host: &str) -> Result<IpAddr, CliError> {
    if host.eq_ignore_ascii_case("localhost") {
        return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
    }
    host.parse().map_err(|_| {
        CliError::Usage(format!(
            "--host {host:?}: expected an IP address or localhost"
        ))
    })
}

/// Compiles what can be compiled before the first request; `None` (errors printed) when a
/// schema or a rule set does not compile.
fn prepare(args: &ValidateArgs) -> Option<Service> {
    let limits = Limits::default();
    let mut options = ValidationOptions::from_limits(&limits);
    options.show_values = args.show_values;
    if let Some(n) = args.max_errors {
        options.max_errors = n.max(1);
    }
    let mut run = Run::default();
    let schemas = if args.schema_dir.is_some() || !args.schema.is_empty() {
        let rules = super::compile_rules(args, &[], &[], &mut run).map(Arc::new);
        if run.schema_failed {
            return None;
        }
        let grammar = super::compile(args, args.schema_dir.as_deref(), &args.schema, &mut run)?;
        Schemas::Given {
            grammar: Arc::new(grammar),
            rules,
        }
    } else {
        let registry = super::super::discover::registry();
        let mut rules = HashMap::new();
        if args.rules_wanted() {
            // As `validate` groups files: `--schematron` replaces a pack's Schematron, its
            // code lists stay.
            for pack in registry.packs() {
                if args.schematron.is_empty()
                    && pack.schematron.is_empty()
                    && pack.codelists.is_empty()
                {
                    continue;
                }
                let compiled =
                    super::compile_rules(args, &pack.schematron, &pack.codelists, &mut run)?;
                rules.insert(pack.id.clone(), Arc::new(compiled));
            }
        }
        Schemas::Packs {
            registry,
            grammars: GrammarCache::default(),
            rules,
        }
    };
    Some(Service {
        schemas,
        rules_wanted: args.rules_wanted(),
        limits,
        options,
        started: Instant::now(),
        requests: AtomicU64::new(0),
        documents: AtomicU64::new(0),
        unnamed: AtomicU64::new(0),
        permits: tokio::sync::Semaphore::new(1),
    })
}

async fn serve(
    service: Arc<Service>,
    addr: SocketAddr,
    threads: usize,
) -> super::super::CommandResult {
    let mut signals = super::super::signals::Signals::install()
        .map_err(|e| CliError::failed(format_args!("cannot install the signal handlers: {e}")))?;
    let config = ListenerConfig {
        addr,
        tls: None,
        limits: HttpLimits::default(),
    };
    let main = {
        let service = Arc::clone(&service);
        handler(move |req| Arc::clone(&service).handle(req, false))
    };
    let probes = {
        let service = Arc::clone(&service);
        handler(move |req| Arc::clone(&service).handle(req, true))
    };
    let listener = Listener::start(&config, Routes { main, probes })
        .await
        .map_err(CliError::failed)?;
    let bound = listener.addr();
    if matches!(service.schemas, Schemas::Packs { .. }) {
        // The packs' entry schemas, compiled in the background while the first requests are
        // served (a request for a schema not compiled yet compiles it itself).
        let service = Arc::clone(&service);
        tokio::task::spawn_blocking(move || service.prewarm());
    }
    if !bound.ip().is_loopback() {
        tracing::warn!(
            "validate daemon on {bound}: no authentication; anyone who reaches it can submit \
             documents"
        );
    }
    let packs = match &service.schemas {
        Schemas::Given { .. } => "the given schema".to_owned(),
        Schemas::Packs { registry, .. } => format!("{} schema pack(s)", registry.packs().len()),
    };
    // The banner is the command's output (a test or a supervisor reads the address from it).
    println!(
        "poststelle validate daemon listening on http://{bound}/ ({packs}, {threads} document(s) at once)"
    );
    {
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
    }
    let log = |m: &str| tracing::info!("{m}");
    let signal = signals.stop_requested(&log).await;
    log(&format!("{signal}: stopping"));
    listener.shutdown().await;
    Ok(Verdict::Done)
}

impl Service {
    /// Answers one request and logs it (method, path, status, time; never the body).
    async fn handle(self: Arc<Self>, req: Request<Incoming>, probe: bool) -> Reply {
        let started = Instant::now();
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let reply = if probe && path != "/server/health" {
            // A connection beyond the limits: only the health check is served there.
            Refusal::Unavailable("busy: only /server/health is answered now").reply()
        } else {
            self.route(req).await
        };
        let shown: String = path.chars().take(200).collect();
        tracing::info!(
            method = %method,
            path = %shown,
            status = reply.status().as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "request"
        );
        reply
    }

    async fn route(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        let method = req.method().clone();
        if method == Method::POST {
            return self.post(req).await;
        }
        if method == Method::GET || method == Method::HEAD {
            return if req.uri().path() == "/server/health" {
                self.health()
            } else {
                page()
            };
        }
        let mut reply = Refusal::MethodNotAllowed.reply();
        reply
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD, POST"));
        reply
    }

    async fn post(self: Arc<Self>, req: Request<Incoming>) -> Reply {
        let multipart = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("multipart/")
            });
        if multipart {
            return Refusal::BadRequest("multipart is not supported: POST the raw XML document")
                .reply();
        }
        let name = self.document_name(req.uri().path());
        // Held while the body is read and checked: bounds the bodies in memory.
        let Ok(_permit) = self.permits.acquire().await else {
            return Refusal::Unavailable("stopping").reply();
        };
        let http = HttpLimits::default();
        let max = usize::try_from(self.limits.xml.max_input_bytes).unwrap_or(usize::MAX);
        let limits = BodyLimits::new(max, http.request_timeout(), &http);
        let bytes = match read_all(req, limits).await {
            Ok(b) => b,
            Err(e) => return Refusal::from(e).reply(),
        };
        if bytes.is_empty() {
            return Refusal::BadRequest("no content: POST the XML document as the body").reply();
        }
        let service = Arc::clone(&self);
        let checked = tokio::task::spawn_blocking(move || service.check(&bytes, &name)).await;
        match checked {
            Ok(answer) => answer.reply(),
            // A panic in a check: the document is not answered, the service goes on.
            Err(_) => with_type(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                "internal error while checking the document\n",
            ),
        }
    }

    /// The last path segment (KoSIT's `resolveInputName`), `supplied_instance_N` for `/`.
    fn document_name(&self, path: &str) -> String {
        match path.rsplit('/').next() {
            Some(last) if !last.is_empty() => last.chars().take(200).collect(),
            _ => format!(
                "supplied_instance_{}",
                self.unnamed.fetch_add(1, Ordering::Relaxed) + 1
            ),
        }
    }

    /// Checks one document (off the runtime: XSD and rules are CPU work).
    fn check(&self, bytes: &[u8], name: &str) -> Answer {
        self.documents.fetch_add(1, Ordering::Relaxed);
        let hash = report::sha256(bytes);
        let now = report::now();
        let root = match document_root(bytes, &self.limits.xml) {
            Ok(root) => root,
            Err(e) => {
                let message = e.to_string();
                let checked = Checked::NotWellFormed {
                    message: &message,
                    line: e.pos.line,
                    column: e.pos.column,
                };
                let subject = Subject {
                    name,
                    sha256: &hash,
                    scenario: None,
                    rule_sets: &[],
                };
                return Answer {
                    status: StatusCode::BAD_REQUEST,
                    report: Some(report::render(&subject, &checked, &now)),
                    refusal: None,
                };
            }
        };
        let (grammar, rules, scenario) = match &self.schemas {
            Schemas::Given { grammar, rules } => (Arc::clone(grammar), rules.clone(), None),
            Schemas::Packs {
                registry,
                grammars,
                rules,
            } => {
                let Ok(resolved) = registry.resolve(&root.namespace, &root.local) else {
                    return Answer::refused(Refusal::Unprocessable(
                        "no installed schema pack for this document's root element",
                    ));
                };
                let Ok(grammar) = grammars.grammar(&resolved, &self.limits) else {
                    return Answer::refused(Refusal::Unprocessable(
                        "the schema pack for this document does not compile",
                    ));
                };
                let m = &resolved.message;
                let scenario = format!(
                    "{} {} {} ({})",
                    m.standard,
                    m.version,
                    root.local,
                    resolved.pack.label()
                );
                (
                    grammar,
                    rules.get(&resolved.pack.id).cloned(),
                    Some(scenario),
                )
            }
        };
        if self.rules_wanted && rules.is_none() {
            return Answer::refused(Refusal::Unprocessable(
                "the schema pack for this document has no business rules (Schematron)",
            ));
        }
        let (xsd, outcome) = check_reader(
            &grammar,
            rules.as_deref(),
            bytes,
            &self.limits,
            &self.options,
        );
        let names: Vec<&str> = match (&outcome, &rules) {
            (RulesOutcome::NotRun, _) | (_, None) => Vec::new(),
            (_, Some(r)) => r.compiled.schematron.iter().map(|s| s.name()).collect(),
        };
        let checked = Checked::Validated {
            xsd: &xsd,
            rules: &outcome,
        };
        let status = if checked.not_xml() {
            StatusCode::BAD_REQUEST
        } else {
            match checked.recommendation() {
                Recommendation::Acceptable => StatusCode::OK,
                Recommendation::Reject => StatusCode::NOT_ACCEPTABLE,
            }
        };
        let subject = Subject {
            name,
            sha256: &hash,
            scenario: scenario.as_deref(),
            rule_sets: &names,
        };
        Answer {
            status,
            report: Some(report::render(&subject, &checked, &now)),
            refusal: None,
        }
    }

    /// Compiles every entry schema of the installed packs into the shared cache.
    fn prewarm(&self) {
        let Schemas::Packs {
            registry, grammars, ..
        } = &self.schemas
        else {
            return;
        };
        let started = Instant::now();
        let mut entries = std::collections::HashSet::new();
        for pack in registry.packs() {
            for (namespace, local) in pack.roots.keys() {
                let Ok(resolved) = registry.resolve(namespace, local) else {
                    continue;
                };
                if !entries.insert(resolved.entry.clone()) {
                    continue;
                }
                if let Err(e) = grammars.grammar(&resolved, &self.limits) {
                    tracing::warn!("{e}");
                }
            }
        }
        tracing::info!(
            "{} entry schema(s) compiled in {} ms",
            entries.len(),
            started.elapsed().as_millis()
        );
    }

    /// KoSIT's health document, with our counters instead of the JVM's memory.
    fn health(&self) -> Reply {
        let up = match &self.schemas {
            Schemas::Given { .. } => true,
            Schemas::Packs { registry, .. } => !registry.packs().is_empty(),
        };
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <health xmlns=\"{DAEMON_NS}\" xmlns:ps=\"{ps}\">\n  \
             <status>{status}</status>\n  \
             <application>\n    <name>poststelle</name>\n    <version>{version}</version>\n    \
             <build>{version}</build>\n  </application>\n  \
             <ps:uptimeSeconds>{uptime}</ps:uptimeSeconds>\n  \
             <ps:requests>{requests}</ps:requests>\n  \
             <ps:documents>{documents}</ps:documents>\n\
             </health>\n",
            ps = report::PS_NS,
            status = if up { "UP" } else { "DOWN" },
            version = env!("CARGO_PKG_VERSION"),
            uptime = self.started.elapsed().as_secs(),
            requests = self.requests.load(Ordering::Relaxed),
            documents = self.documents.load(Ordering::Relaxed),
        );
        with_type(StatusCode::OK, "application/xml; charset=utf-8", xml)
    }
}

/// `GET` anywhere else: how to use the service (KoSIT shows a GUI there).
fn page() -> Reply {
    with_type(
        StatusCode::OK,
        "text/html; charset=utf-8",
        concat!(
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
            "<title>poststelle validate daemon</title></head><body>\n",
            "<h1>poststelle validate daemon</h1>\n",
            "<p>POST an XML document as the raw request body to any path (the last path segment ",
            "names the document), e.g. <code>curl --data-binary @message.xml ",
            "http://127.0.0.1:8080/message.xml</code>. The answer is a KoSIT-like report ",
            "(application/xml): 200 ACCEPTABLE, 406 REJECT, 400 empty or not XML, 413 too large, ",
            "422 no schema pack for the document.</p>\n",
            "<p>Health: <a href=\"/server/health\">/server/health</a>.</p>\n",
            "</body></html>\n"
        ),
    )
}
