//! The composition root of the gateway, shared by `poststelle serve` and `poststelle demo`:
//! configuration → keys, schema packs, store, delivery-service client, pipeline, forwarder,
//! callback server. The commands decide what to do with the assembled [`Gateway`] (run until
//! a signal, or one demonstration round).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::gateway::{DeliverySource, GatewayConfig, UpstreamSettings};
use crate::error::CliError;
use crate::fitconnect::callback::CallbackSecret;
use crate::fitconnect::captured::ApiProfile;
use crate::fitconnect::client::{Client, ClientConfig, Credentials};
use crate::fitconnect::destination::DestinationPolicy;
use crate::fitconnect::metadata::MetadataValidator;
use crate::fitconnect::set::StaticKeys;
use crate::forward::{
    ForwardPolicy, Forwarder, Pattern, Route, RouteKey, RouteMatch, RouteTable, UpstreamSpec,
    check_upstream,
};
use crate::jose::{DecryptionKey, Jwk, KeyRing, SigningKey};
use crate::pipeline::spool::prepare_spool_dir;
use crate::pipeline::{ClientDelivery, Counts, GrammarCache, Pipeline, PipelineSettings};
use crate::sandbox::{ClientRole, SandboxConfig};
use crate::server::{
    AdminToken, CallbackNotice, CallbackSink, Callbacks, Handlers, Metrics, Server, ServerConfig,
    ServerHandle, SinkFull,
};
use crate::store::{AckPolicy, AnyStore, StorePassword};
use crate::xoev::catalog::Catalog;
use crate::xoev::pack::{PackSources, discover};
use crate::xoev::pack_files::PackLimits;
use crate::xoev::registry::Registry;

/// The destination's identity and keys, resolved from the configuration.
pub(crate) struct Destination {
    pub(crate) id: String,
    /// What it accepts (services, schemas, reply channels).
    pub(crate) policy: DestinationPolicy,
    pub(crate) decryption: KeyRing,
    pub(crate) signing: SigningKey,
    pub(crate) callback_secret: Option<CallbackSecret>,
    pub(crate) client: Client,
}

/// A secret from a file: surrounding white space (a trailing newline) is not part of it, and
/// an empty one is a configuration error — an empty HMAC key or token would let anybody in.
fn read_secret(path: &Path, errors: &mut Vec<String>) -> Option<zeroize::Zeroizing<String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => zeroize::Zeroizing::new(t),
        Err(e) => {
            errors.push(format!("{}: {e}", path.display()));
            return None;
        }
    };
    let trimmed = text.trim();
    if trimmed.is_empty() {
        errors.push(format!("{}: the secret is empty", path.display()));
        return None;
    }
    Some(zeroize::Zeroizing::new(trimmed.to_owned()))
}

/// The console's users file (`[console] users_file`); every problem names the file and line,
/// never its content.
fn console_users(path: &Path) -> Result<crate::console::Users, Vec<String>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).map_err(|e| vec![format!("{}: {e}", path.display())])?,
    );
    crate::console::Users::parse(&text).map_err(|errors| {
        errors
            .into_iter()
            .map(|e| format!("console.users_file {}: {e}", path.display()))
            .collect()
    })
}

/// For `serve --check`: the console's users file reads (when one is configured).
///
/// # Errors
/// Every problem of the file, one line each.
pub(crate) fn check_console(config: &GatewayConfig) -> Result<(), Vec<String>> {
    match &config.console.users_file {
        Some(p) => console_users(p).map(drop),
        None => Ok(()),
    }
}

/// The token files `serve` reads at start (`[server] admin_token_file`, each
/// `[[upstream]] reply_token_file`): every one unreadable or empty, for `serve --check`.
pub(crate) fn check_token_files(config: &GatewayConfig) -> Vec<String> {
    let mut errors = Vec::new();
    for file in config
        .admin_token_file
        .iter()
        .chain(config.reply_clients.iter().map(|(_, f)| f))
    {
        let _ = read_secret(file, &mut errors);
    }
    errors
}

/// A callback secret from configuration; an empty one is an error.
fn callback_secret(
    secret: &[u8],
    origin: &str,
    errors: &mut Vec<String>,
) -> Option<CallbackSecret> {
    CallbackSecret::new(secret)
        .map_err(|e| errors.push(format!("{origin}: {e}")))
        .ok()
}

fn read_jwk(path: &Path, errors: &mut Vec<String>) -> Option<Jwk> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| errors.push(format!("{}: {e}", path.display())))
        .ok()?;
    Jwk::from_json(&text)
        .map_err(|e| errors.push(format!("{}: {e}", path.display())))
        .ok()
}

fn keys_from(
    encryption: &[PathBuf],
    signing: &Path,
    errors: &mut Vec<String>,
) -> Option<(KeyRing, SigningKey)> {
    let mut ring = KeyRing::new();
    for path in encryption {
        if let Some(jwk) = read_jwk(path, errors) {
            match DecryptionKey::from_jwk(&jwk).map(|k| ring.insert(k)) {
                Ok(Ok(())) => {}
                Ok(Err(e)) | Err(e) => errors.push(format!("{}: {e}", path.display())),
            }
        }
    }
    let signing = read_jwk(signing, errors).and_then(|jwk| {
        SigningKey::from_jwk(&jwk)
            .map_err(|e| errors.push(format!("{}: {e}", signing.display())))
            .ok()
    })?;
    Some((ring, signing))
}

/// Resolves the delivery service, the destinations and their keys: every destination of the
/// sandbox's `sandbox.toml` (each with the subscriber client linked to it), or every
/// `[[destination]]` (each with its own subscriber client or `[delivery_service]`'s). Every
/// problem is reported.
pub(crate) fn destinations(config: &GatewayConfig) -> Result<Vec<Destination>, Vec<String>> {
    let mut errors = Vec::new();
    let mut resolved = Vec::new();
    match &config.delivery {
        DeliverySource::Sandbox { dir, url } => {
            let path = dir.join("sandbox.toml");
            let text = std::fs::read_to_string(&path).map_err(|e| {
                vec![format!(
                    "{}: {e} (start `poststelle sandbox` first, or configure [delivery_service])",
                    path.display()
                )]
            })?;
            let sandbox = SandboxConfig::from_toml(&text)
                .map_err(|e| vec![format!("{}: {e}", path.display())])?;
            if sandbox.destinations.is_empty() {
                return Err(vec![format!("{}: no destination", path.display())]);
            }
            for d in &sandbox.destinations {
                let Some(subscriber) = sandbox
                    .clients
                    .iter()
                    .find(|c| c.role == ClientRole::Subscriber && c.destinations.contains(&d.id))
                else {
                    errors.push(format!(
                        "{}: no subscriber client for destination {}",
                        path.display(),
                        d.id
                    ));
                    continue;
                };
                let keys = dir.join("keys").join(&d.id);
                let enc = d
                    .encryption_key
                    .clone()
                    .unwrap_or_else(|| keys.join("encryption.private.jwk.json"));
                let sig = d
                    .signing_key
                    .clone()
                    .unwrap_or_else(|| keys.join("signing.private.jwk.json"));
                let client = Client::new(
                    ClientConfig::sandbox(url, ApiProfile::V1),
                    Credentials::new(&subscriber.id, &subscriber.secret),
                );
                let policy = DestinationPolicy {
                    id: d.id.clone(),
                    services: d.services.clone(),
                    reply_channels: Vec::new(),
                };
                let secret = d.callback_secret.as_ref().and_then(|s| {
                    callback_secret(
                        s.as_bytes(),
                        &format!("{}: destination {} callback_secret", path.display(), d.id),
                        &mut errors,
                    )
                });
                if let Some((ring, signing)) = keys_from(&[enc], &sig, &mut errors) {
                    resolved.push((policy, ring, signing, secret, client));
                }
            }
        }
        DeliverySource::Remote {
            preset,
            submission_api,
            token_url,
            profile,
            client_id,
            client_secret_file,
        } => {
            let mut cc = match preset.as_deref().map(ClientConfig::preset) {
                Some(Some(c)) => Some(c),
                Some(None) => {
                    errors.push(format!(
                        "delivery_service.preset: unknown preset {:?}",
                        preset.as_deref().unwrap_or_default()
                    ));
                    None
                }
                None => Some(ClientConfig::new(
                    submission_api.as_deref().unwrap_or_default(),
                    token_url.as_deref().unwrap_or_default(),
                    ApiProfile::V1,
                )),
            };
            if let Some(c) = &mut cc {
                if let Some(api) = submission_api {
                    c.submission_api.clone_from(api);
                }
                if let Some(t) = token_url {
                    c.token_url.clone_from(t);
                }
                match profile.as_deref() {
                    Some("v2") => c.profile = ApiProfile::V2,
                    Some(_) => c.profile = ApiProfile::V1,
                    None => {}
                }
            }
            if config.destinations.is_empty() {
                return Err(vec![
                    "[destination] is required with a remote delivery service".to_owned(),
                ]);
            }
            // The shared client secret is read once (and only when a destination uses it).
            let shared_secret = config
                .destinations
                .iter()
                .any(|d| d.client.is_none())
                .then(|| read_secret(client_secret_file, &mut errors))
                .flatten();
            for d in &config.destinations {
                let credentials = match &d.client {
                    Some((id, file)) => read_secret(file, &mut errors)
                        .map(|secret| Credentials::new(id, secret.trim())),
                    None => shared_secret
                        .as_ref()
                        .map(|secret| Credentials::new(client_id, secret.trim())),
                };
                let callback_secret = d.callback_secret_file.as_ref().and_then(|p| {
                    let text = read_secret(p, &mut errors)?;
                    callback_secret(text.as_bytes(), &p.display().to_string(), &mut errors)
                });
                let keys = keys_from(&d.encryption_keys, &d.signing_key, &mut errors);
                if let (Some(cc), Some(credentials), Some((ring, signing))) =
                    (cc.clone(), credentials, keys)
                {
                    resolved.push((
                        DestinationPolicy {
                            id: d.id.clone(),
                            services: d.services.clone(),
                            reply_channels: d.reply_channels.clone(),
                        },
                        ring,
                        signing,
                        callback_secret,
                        Client::new(cc, credentials),
                    ));
                }
            }
        }
    }
    let mut out = Vec::new();
    for (policy, decryption, signing, callback_secret, client) in resolved {
        match client {
            Ok(client) => out.push(Destination {
                id: policy.id.clone(),
                policy,
                decryption,
                signing,
                callback_secret,
                client,
            }),
            Err(e) => errors.push(format!("delivery service client: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// The route table of the configuration.
pub(crate) fn route_table(config: &GatewayConfig) -> Result<RouteTable, Vec<String>> {
    let upstreams = config
        .upstreams
        .iter()
        .map(UpstreamSpec::configured)
        .collect();
    let routes = config
        .routes
        .iter()
        .map(|r| Route {
            when: RouteMatch {
                service_identifier: r.service.clone().map(Pattern::new),
                message_type: r.message_type.clone().map(Pattern::new),
                destination_id: r.destination.clone().map(Pattern::new),
            },
            to: r.to.clone(),
        })
        .collect();
    RouteTable::new(upstreams, routes, config.default_upstreams.clone())
        .map_err(|errs| errs.iter().map(ToString::to_string).collect())
}

/// The TLS material of the configuration, loaded and checked as the start loads it: the main
/// listener's certificate and key, and each HTTP(S) upstream's client certificate, trust roots
/// and URL. Every problem at once (exit 64), before anything is opened; shared by `serve` and
/// `serve --check`.
pub(crate) fn check_tls(config: &GatewayConfig) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    if let Some(files) = &config.tls
        && let Err(problems) = crate::http::Identity::load(files)
    {
        errors.extend(problems.iter().map(|e| format!("server TLS: {e}")));
    }
    for u in &config.upstreams {
        if let Err(e) = check_upstream(&UpstreamSpec::configured(u)) {
            errors.push(e.to_string());
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Logs how each listener and upstream is reached: TLS on or off, and for HTTPS upstreams
/// whether a client certificate (mTLS) or a CA file of their own is used (file names only,
/// never their content); then the routes in order and the default.
pub(crate) fn log_transport(config: &GatewayConfig, main: std::net::SocketAddr) {
    match &config.tls {
        Some(files) => tracing::info!(
            listener = "main",
            addr = %main,
            tls = true,
            "main listener on {main}: TLS on (certificate {})",
            files.cert_chain_pem.display()
        ),
        None => tracing::info!(
            listener = "main",
            addr = %main,
            tls = false,
            "main listener on {main}: TLS off (plain HTTP; put a TLS-terminating proxy in front or set [server] tls_cert/tls_key)"
        ),
    }
    if let Some(probe) = config.probe_listen {
        tracing::info!(
            listener = "probe",
            addr = %probe,
            tls = false,
            "probe listener on {probe}: TLS off (plain HTTP by design: probes only, no personal data)"
        );
    }
    for u in &config.upstreams {
        match u {
            UpstreamSettings::FileDrop { name, dir } => tracing::info!(
                upstream = %name,
                kind = "file_drop",
                "upstream {name}: file drop {}",
                dir.display()
            ),
            UpstreamSettings::Http { name, url, options } => {
                let tls = url
                    .get(..8)
                    .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
                let mtls = options.client_identity.is_some();
                let custom_ca = options.ca_file.is_some();
                tracing::info!(
                    upstream = %name,
                    kind = "http",
                    tls,
                    mtls,
                    custom_ca,
                    attachments = options.attachments.unwrap_or(true),
                    rendering = options.rendering,
                    "upstream {name}: TLS {}, client certificate (mTLS) {}, trust roots {}",
                    if tls { "on" } else { "off" },
                    if mtls { "yes" } else { "no" },
                    if custom_ca { "built-in + ca_file" } else { "built-in" },
                );
            }
        }
    }
    // The routing as configured: first match wins, then the default.
    for (i, r) in config.routes.iter().enumerate() {
        let when: Vec<String> = [
            ("service", &r.service),
            ("message_type", &r.message_type),
            ("destination", &r.destination),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
        tracing::info!(
            route = i,
            "route {i}: {} → {}",
            if when.is_empty() {
                "any".to_owned()
            } else {
                when.join(", ")
            },
            r.to.join(", ")
        );
    }
    tracing::info!(
        "routing default → {}",
        if config.default_upstreams.is_empty() {
            "none (accepted submissions no route matches get no outbox job)".to_owned()
        } else {
            config.default_upstreams.join(", ")
        }
    );
}

/// The running gateway's parts.
pub(crate) struct Gateway {
    /// One pipeline per destination, sharing store, budget, grammars and metrics.
    pub(crate) pipelines: Vec<Pipeline<AnyStore, ClientDelivery>>,
    pub(crate) forwarder: Forwarder<AnyStore>,
    pub(crate) server: ServerHandle,
    pub(crate) metrics: Arc<Metrics>,
    /// The store, for the retention task.
    pub(crate) store: AnyStore,
    /// Sends stored replies and follows them.
    pub(crate) replies: crate::reply::sender::ReplySender,
}

/// The PostgreSQL password from `[store] password_file` or `$POSTSTELLE_STORE_PASSWORD`
/// (one source; [`StorePassword::resolve`]); an error is a configuration problem (exit 64),
/// named by path or variable, never by value.
pub(crate) fn store_password(config: &GatewayConfig) -> Result<Option<StorePassword>, String> {
    StorePassword::from_config_or_env(&config.store, config.store_password_file.as_deref())
}

impl Gateway {
    /// The counters of all destinations' pipelines together.
    pub(crate) fn counts(&self) -> Counts {
        self.pipelines
            .iter()
            .map(Pipeline::counts)
            .fold(Counts::default(), |a, b| Counts {
                accepted: a.accepted + b.accepted,
                rejected: a.rejected + b.rejected,
                acknowledged: a.acknowledged + b.acknowledged,
                errors: a.errors + b.errors,
                deferred: a.deferred + b.deferred,
            })
    }
}

/// Callback notices go to the pipeline of the destination they are addressed to.
struct Sink(HashMap<String, tokio::sync::mpsc::Sender<Vec<String>>>);

impl CallbackSink for Sink {
    fn notify(&self, notice: CallbackNotice) -> Result<(), SinkFull> {
        // The server accepts callbacks only for configured destinations (their secrets).
        match self.0.get(&notice.destination_id) {
            Some(tx) => tx.try_send(notice.submission_ids).map_err(|_| SinkFull),
            None => Ok(()),
        }
    }
}

/// The console's renderer as the forwarder's document source (`[[upstream]] rendering`): the
/// two layer-3 modules meet here, in the composition root.
struct Documents(Arc<crate::console::DocumentRenderer>);

impl crate::forward::DocumentSource for Documents {
    fn document(
        &self,
        fachdaten: Vec<u8>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<String, String>> + Send + '_>> {
        Box::pin(async move { self.0.render(fachdaten).await.map_err(str::to_owned) })
    }

    fn json_document(&self, envelope: String) -> crate::forward::JsonDocument<'_> {
        Box::pin(async move {
            self.0
                .render_json(envelope)
                .await
                .map(|r| r.map_err(str::to_owned))
        })
    }
}

/// The schema packs `serve` validates with: installed packs (and the development fallbacks),
/// each named in the log; a pack that fails to load is a warning, no pack at all an error
/// (exit 64) — shared by `serve` and `serve --check`.
pub(crate) fn load_packs(
    config: &GatewayConfig,
    packs: &PackSources,
    log: &dyn Fn(&str),
) -> Result<Registry<'static>, CliError> {
    let (registry, broken) = discover(Catalog::embedded(), packs, &PackLimits::default());
    let registry = registry.with_json_pass_through(config.pass_through_json.clone());
    for (dir, err) in broken {
        log(&format!(
            "warning: schema pack {} not loaded: {err}",
            dir.display()
        ));
    }
    for pack in registry.packs() {
        log(&format!("schema pack {}", pack.label()));
    }
    for pack in registry.json_packs() {
        log(&format!("JSON schema pack {}", pack.pack.label()));
    }
    // Without a pack every valid application would be rejected as unsupported-schema while
    // the gateway looked healthy: refuse to start instead.
    if registry.packs().is_empty() && registry.json_packs().is_empty() {
        return Err(CliError::ConfigProblems(vec![format!(
            "no schema pack is loaded from {} (nor a development fallback): install one with `poststelle schemas install`, or set [schemas] packs_dir (relative to the configuration file) or $POSTSTELLE_PACKS",
            packs.packs_dir.display()
        )]));
    }
    let unmatched = routes_without_messages(config, &registry);
    if !unmatched.is_empty() {
        return Err(CliError::ConfigProblems(unmatched));
    }
    Ok(registry)
}

/// `serve --check --connect`: reaches the store (read-only; a store not created or not
/// migrated yet is fine, the start does that) and, for every destination, the delivery
/// service: a token, the destination (active), and its published encryption key must be one
/// of the configured `encryption_keys` (else senders encrypt for a key the gateway lacks).
/// What was found goes to `log`; every problem is reported (exit 2).
pub(crate) async fn check_connections(
    config: &GatewayConfig,
    destinations: &[Destination],
    log: &dyn Fn(&str),
) -> Result<(), CliError> {
    use crate::store::{Access, StoreError};
    let mut problems = Vec::new();
    let shown = crate::store::display_address(&config.store);
    // The password file was read by the configuration check before; read again here, as the
    // start does.
    let password = store_password(config).map_err(|e| CliError::ConfigProblems(vec![e]))?;
    match AnyStore::open_existing_with(&config.store, Access::ReadOnly, password.as_ref()).await {
        Ok(_) => log(&format!("store {shown}: reachable, schema current")),
        Err(StoreError::NotFound { .. } | StoreError::NotInitialised) => log(&format!(
            "store {shown}: not created yet (the first start creates it)"
        )),
        Err(StoreError::NotMigrated { .. }) => log(&format!(
            "store {shown}: reachable; migrated at the next start"
        )),
        Err(e) => problems.push(format!("store {shown}: {e}")),
    }
    for d in destinations {
        match d.client.destination(&d.id).await {
            Ok(info) if info.status != "active" => problems.push(format!(
                "destination {}: the delivery service says it is {:?}, not active",
                d.id, info.status
            )),
            Ok(info) if d.decryption.get(&info.encryption_kid).is_none() => {
                problems.push(format!(
                    "destination {}: the delivery service publishes encryption key kid {:?}, which none of the configured encryption_keys has (senders would encrypt for a key this gateway cannot use)",
                    d.id, info.encryption_kid
                ));
            }
            Ok(info) => log(&format!(
                "destination {}: reachable, active, encryption key {:?} is ours",
                d.id, info.encryption_kid
            )),
            Err(e) => problems.push(format!("destination {}: {e}", d.id)),
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Failed(problems))
    }
}

/// Routes whose `message_type` pattern no installed pack provides a message for (an XÖV root
/// element, a JSON schema URI, or a `pass_through_json` URI): such a route can never match,
/// which is a typo or a missing pack, not a configuration to start with.
fn routes_without_messages(config: &GatewayConfig, registry: &Registry<'_>) -> Vec<String> {
    let provided: Vec<&str> = registry
        .packs()
        .iter()
        .flat_map(|p| p.roots.keys().map(|(_, local)| local.as_str()))
        .chain(
            registry
                .json_packs()
                .iter()
                .flat_map(|p| p.pack.schema_ids()),
        )
        .chain(config.pass_through_json.iter().map(String::as_str))
        .collect();
    config
        .routes
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let text = r.message_type.as_deref()?;
            let pattern = Pattern::new(text);
            (!provided.iter().any(|m| pattern.matches(m))).then(|| {
                format!(
                    "route[{i}].message_type {text:?}: no installed schema pack provides such a message (install the pack with `poststelle schemas install`, or correct the pattern)"
                )
            })
        })
        .collect()
}

/// The desk that takes answers of Fachverfahren (the reply API's and `poststelle reply`'s):
/// the pipeline's packs, grammars and rules, each destination's offered reply channels.
pub(crate) fn reply_desk(
    config: &GatewayConfig,
    destinations: &[Destination],
    store: AnyStore,
    registry: Registry<'static>,
    grammars: GrammarCache,
    rules: crate::xoev::rules::RulesCache,
) -> crate::reply::ReplyDesk {
    crate::reply::ReplyDesk::new(
        store,
        crate::reply::DeskSettings {
            registry,
            grammars,
            rules,
            business_rules: config.business_rules,
            limits: config.limits.clone(),
            offered: destinations
                .iter()
                .map(|d| (d.id.clone(), d.policy.reply_channels.clone()))
                .collect(),
            unconfirmed_metadata_versions: config.unconfirmed_metadata_versions,
        },
    )
}

/// Builds and starts every part (the pipeline and forwarder loops are left to the caller);
/// schema packs come from `packs`.
pub(crate) async fn assemble(
    config: &GatewayConfig,
    destinations: Vec<Destination>,
    packs: &PackSources,
    log: &dyn Fn(&str),
) -> Result<Gateway, CliError> {
    let table = Arc::new(route_table(config).map_err(CliError::ConfigProblems)?);
    check_tls(config).map_err(CliError::ConfigProblems)?;
    let registry = load_packs(config, packs, log)?;
    if let Some(path) = config.store.strip_prefix("sqlite:")
        && let Some(parent) = Path::new(path).parent()
    {
        crate::private_file::create_dir_all(parent)
            .map_err(|e| CliError::failed(format_args!("{}: {e}", parent.display())))?;
    }
    let password = store_password(config).map_err(|e| CliError::ConfigProblems(vec![e]))?;
    let store = AnyStore::open_with(&config.store, password.as_ref())
        .await
        .map_err(|e| CliError::failed(format_args!("store: {e}")))?;
    if config.unconfirmed_metadata_versions {
        log(
            "metadata 2.1.0 is accepted and validated against the project's reconstruction (the official schema was not available; [pipeline] unconfirmed_metadata_versions = false refuses it)",
        );
    }
    prepare_spool_dir(&config.spool_dir).map_err(|e| {
        CliError::failed(format_args!("spool: {}: {e}", config.spool_dir.display()))
    })?;
    let metrics = Arc::new(Metrics::new());
    metrics.register_upstreams(config.upstreams.iter().map(UpstreamSettings::name));
    // Our own accept/reject SETs of earlier submissions are in the case logs: they verify
    // with the destinations' signing keys (the service's keys come with each download). A
    // case may hold another configured destination's SETs too.
    let set_keys = StaticKeys {
        delivery_service: Vec::new(),
        destinations: destinations
            .iter()
            .map(|d| {
                (
                    d.id.clone(),
                    d.signing.kid().to_owned(),
                    d.signing.public_key().clone(),
                )
            })
            .collect(),
    };
    metrics.register_destinations(destinations.iter().map(|d| d.id.as_str()));
    let grammars = GrammarCache::default();
    let rules = crate::xoev::rules::RulesCache::with_overrides(config.rule_severity.clone());
    let with_rules = registry
        .packs()
        .iter()
        .filter(|p| !p.schematron.is_empty())
        .count();
    let with_lists = registry
        .packs()
        .iter()
        .filter(|p| !p.codelists.is_empty())
        .count();
    log(&format!(
        "business rules: {} ({with_rules} installed pack(s) carry Schematron rules, {with_lists} code lists; [validation] business_rules)",
        config.business_rules.as_str()
    ));
    let mut pipelines: Vec<Pipeline<AnyStore, ClientDelivery>> = Vec::new();
    let mut callback_secrets = Vec::new();
    let mut sinks = HashMap::new();
    let desk = Arc::new(reply_desk(
        config,
        &destinations,
        store.clone(),
        registry.clone(),
        grammars.clone(),
        rules.clone(),
    ));
    let reply_clients: HashMap<String, Client> = destinations
        .iter()
        .map(|d| (d.id.clone(), d.client.clone()))
        .collect();
    let replies = crate::reply::sender::ReplySender::new(
        store.clone(),
        reply_clients,
        crate::reply::sender::ReplyPolicy {
            lease: std::time::Duration::from_secs(config.forward_lease_secs),
            retry: ForwardPolicy::configured(config).retry,
            first_poll: config.replies.first_poll,
            max_poll: config.replies.max_poll,
            follow_for: config.replies.follow_for,
            ..crate::reply::sender::ReplyPolicy::default()
        },
        desk.wake(),
    );
    for dest in destinations {
        let router_table = Arc::clone(&table);
        let destination_id = dest.id.clone();
        let settings = PipelineSettings {
            destination: dest.policy.clone(),
            decryption: dest.decryption,
            set_keys: set_keys.clone(),
            signing: dest.signing,
            set_payload_schema: dest.client.config().set_payload_schema,
            metadata: MetadataValidator::with_unconfirmed(config.unconfirmed_metadata_versions),
            registry: registry.clone(),
            grammars: grammars.clone(),
            rules: rules.clone(),
            business_rules: config.business_rules,
            limits: config.limits.clone(),
            ack_policy: if config.after_forward {
                AckPolicy::AfterForward
            } else {
                AckPolicy::AfterStore
            },
            router: Arc::new(move |a| {
                // The service the delivery service asserts (checked against the metadata and
                // the destination's offers), never the metadata's claim alone.
                let service = a.service_identifier.as_deref();
                router_table
                    .route(&RouteKey {
                        service_identifier: service,
                        message_type: a.message.as_ref().map(|m| m.message_type.as_str()),
                        destination_id: Some(&destination_id),
                    })
                    .to_vec()
            }),
            concurrency: config.concurrency,
            metrics: Some(Arc::clone(&metrics)),
            spool_dir: config.spool_dir.clone(),
        };
        let delivery = ClientDelivery {
            client: dest.client,
            destination_id: dest.id.clone(),
        };
        // One concurrency and memory budget for all destinations together.
        let pipeline = match pipelines.first() {
            None => Pipeline::new(store.clone(), delivery, settings),
            Some(first) => Pipeline::sharing_budget_of(store.clone(), delivery, settings, first),
        };
        log(&format!(
            "destination {}: {} service(s) offered{}; callbacks {}",
            dest.id,
            dest.policy.services.len(),
            if dest.policy.services.is_empty() {
                " (any)"
            } else {
                ""
            },
            if dest.callback_secret.is_some() {
                "on"
            } else {
                "off (polling only)"
            }
        ));
        if let Some(secret) = dest.callback_secret {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<String>>(1024);
            let p = pipeline.clone();
            tokio::spawn(async move {
                while let Some(ids) = rx.recv().await {
                    p.process_all(ids).await;
                    p.notify();
                }
            });
            // Keyed as the server names the destination: its path segment, lowercased.
            sinks.insert(dest.id.to_ascii_lowercase(), tx);
            callback_secrets.push((dest.id, secret));
        }
        pipelines.push(pipeline);
    }
    let documents = Arc::new(crate::console::DocumentRenderer::new(
        registry.clone(),
        grammars.clone(),
        config.limits.clone(),
    ));
    // One renderer for the console's documents and the upstreams with `rendering = true`.
    let forwarder = Forwarder::new(store.clone(), table, ForwardPolicy::configured(config))
        .map_err(|e| CliError::ConfigProblems(vec![e.to_string()]))?
        .with_metrics(Arc::clone(&metrics))
        .with_documents(Arc::new(Documents(Arc::clone(&documents))));
    if forwarder.swept_exports() > 0 {
        log(&format!(
            "spool: removed {} export file(s) an earlier run left behind",
            forwarder.swept_exports()
        ));
    }
    let callbacks = (!callback_secrets.is_empty()).then(|| {
        callback_secrets.into_iter().fold(
            Callbacks::new(Arc::new(Sink(sinks))),
            |callbacks, (id, secret)| callbacks.destination(id, secret),
        )
    });
    let readiness: Arc<dyn crate::server::Readiness> = Arc::new(pipelines.clone());
    let (admin_token, console) = match &config.admin_token_file {
        Some(p) => {
            let mut errors = Vec::new();
            let token = read_secret(p, &mut errors).ok_or(CliError::ConfigProblems(errors))?;
            // The console's pages share the admin token, the store, the packs and the
            // pipeline's compiled grammars.
            let mut console = crate::console::Console::new(
                AdminToken::new(token.as_str()),
                store.clone(),
                &config.console,
            )
            .readiness(Arc::clone(&readiness))
            .dangerous(config.dangerous_settings())
            .http_limits(config.limits.http.clone())
            .documents(Arc::clone(&documents));
            let login = match &config.console.users_file {
                Some(p) => {
                    let users = console_users(p).map_err(CliError::ConfigProblems)?;
                    let n = users.len();
                    console = console.users(Arc::new(users));
                    format!("{n} named user(s) from {}", p.display())
                }
                None => "the admin token".to_owned(),
            };
            log(&format!(
                "console: on at /console/ (login with {login}; sessions {} min idle, {} h at most; access log {})",
                config.console.session_idle.as_secs() / 60,
                config.console.session_max.as_secs() / 3600,
                config
                    .console
                    .access_log
                    .as_ref()
                    .map_or_else(|| "to the log only".to_owned(), |p| p.display().to_string())
            ));
            let console: Arc<dyn crate::server::ConsolePages> = Arc::new(console);
            (Some(AdminToken::new(token.as_str())), Some(console))
        }
        None => (None, None),
    };
    let reply_api = if config.reply_clients.is_empty() {
        None
    } else {
        let mut errors = Vec::new();
        let clients: Vec<(AdminToken, String)> = config
            .reply_clients
            .iter()
            .filter_map(|(name, file)| {
                read_secret(file, &mut errors).map(|t| (AdminToken::new(t.as_str()), name.clone()))
            })
            .collect();
        if !errors.is_empty() {
            return Err(CliError::ConfigProblems(errors));
        }
        log(&format!(
            "reply API: on at /api/v1/ for {} Fachverfahren ({}); replies up to {} bytes",
            clients.len(),
            config
                .reply_clients
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            config.replies.max_bytes
        ));
        let api = crate::reply::api::ReplyEndpoint::new(
            Arc::clone(&desk),
            config.replies.max_bytes,
            std::time::Duration::from_secs(120),
            config.limits.http.clone(),
        );
        Some(crate::server::Replies {
            api: Arc::new(api),
            clients,
        })
    };
    let handlers = Handlers {
        metrics: Arc::clone(&metrics),
        store: Some(store.clone()),
        readiness: Some(readiness),
        callbacks,
        admin_token,
        console,
        replies: reply_api,
    };
    let mut server_config = ServerConfig::new(config.listen);
    server_config.probe_listen = config.probe_listen;
    server_config.tls.clone_from(&config.tls);
    server_config.http = config.limits.http.clone();
    server_config.limits = config.limits.server.clone();
    let server = Server::start(server_config, handlers)
        .await
        .map_err(CliError::failed)?;
    Ok(Gateway {
        pipelines,
        forwarder,
        server,
        metrics,
        store,
        replies,
    })
}
