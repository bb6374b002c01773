//! The gateway's HTTP(S) server (layer L2, hyper + rustls): the FIT-Connect callback endpoint,
//! `/health`, `/ready`, `/metrics` and the token-protected admin API. It is the only place that
//! maps errors to HTTP responses (`application/problem+json`).
//!
//! # Using it
//!
//! ```text
//! let handlers = Handlers {
//!     metrics: metrics.clone(),                         // shared with pipeline and forwarder
//!     store: Some(store.clone()),                       // AnyStore: /ready, /metrics, admin
//!     readiness: Some(pipeline_ready.clone()),          // Arc<dyn Readiness>
//!     callbacks: Some(Callbacks::new(sink)              // Arc<dyn CallbackSink>
//!         .destination(destination_id, CallbackSecret::new(secret)?)),
//!     admin_token: Some(AdminToken::new(token)),
//!     console: None,                                    // Some(Arc<dyn ConsolePages>)
//!     replies: None,                                    // Some(Replies { api, clients })
//! };
//! let handle = Server::start(ServerConfig::new(addr), handlers).await?;
//! handle.addr();                 // the bound address (port 0 → the chosen port)
//! handle.shutdown().await;       // stop accepting, finish in-flight requests
//! ```
//!
//! # Endpoints
//!
//! | method, path | answer |
//! |---|---|
//! | `GET /health` | 200 while the process serves (liveness) |
//! | `GET /ready` | 200 when the store answers and the pipeline says it is ready, else 503 |
//! | `GET /metrics` | Prometheus text, see [`metrics`] |
//! | `POST /callbacks/{destinationId}` | FIT-Connect callback: 202 once verified and handed to the [`CallbackSink`]; 401 unauthenticated (bad/missing MAC, stale timestamp, replay — timestamp and MAC format are checked before the body is read), 404 unknown destination, 400 malformed body, 408 body too slow, 413 too large, 503 sink full |
//! | `GET /admin/jobs?state=&limit=` | outbox jobs (JSON) |
//! | `GET /admin/dead-letters?limit=` | dead letters (JSON) |
//! | `GET /admin/submissions/{id}` | one submission without envelope or personal data (JSON) |
//! | `POST /admin/jobs/{jobId}/redrive` | re-drive one dead letter |
//! | `POST /admin/dead-letters/redrive` | re-drive all dead letters |
//! | `GET /` | with a console: `303` to `/console/` |
//! | `/console/...` | the operator console ([`ConsolePages`], implemented by `crate::console`) |
//! | `/api/v1/...` | the reply API for Fachverfahren ([`ReplyApi`], implemented by `crate::reply`): `Authorization: Bearer <token>` of an upstream with `reply_token_file`; 401 otherwise |
//!
//! Admin requests need `Authorization: Bearer <token>` (the scheme in any case, RFC 7235; the
//! token compared in constant time); without a configured token the admin API does not exist
//! (404).
//!
//! The listener is [`crate::http`]'s: connection limits per client and in total, short head and
//! body deadlines, and probe slots beyond the limits where only `/health` and `/ready` are
//! answered. With [`ServerConfig::probe_listen`] a second listener serves `/health`, `/ready`
//! and `/metrics` with slots of its own.

mod admin;
pub mod metrics;
pub(crate) mod reply;
mod routes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::config::{HttpLimits, ServerLimits};
use crate::fitconnect::callback::{CallbackSecret, ReplayGuard};
use crate::http::{self, ListenError, Listener, ListenerConfig, ListenerStats};
use crate::store::AnyStore;

pub use crate::http::TlsFiles;
pub use metrics::{Metrics, Stage};

/// Errors starting the server: the listener's.
pub type ServerError = ListenError;

/// Where and how the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// A second, plain-HTTP listener that serves only `/health`, `/ready` and `/metrics`, with
    /// slots of its own: probes on it survive any flood of the main port. Bind it to an address
    /// attackers cannot reach (`[server] probe_listen`).
    pub probe_listen: Option<SocketAddr>,
    /// TLS on the main listener, if the server terminates it itself (the FIT-Connect callback
    /// URL must be HTTPS; a terminating proxy in front is the alternative).
    pub tls: Option<TlsFiles>,
    /// Connection limits and timeouts of the listeners (`[limits.http]`).
    pub http: HttpLimits,
    /// Limits of the routes (`[limits.server]`).
    pub limits: ServerLimits,
}

impl ServerConfig {
    /// Plain HTTP on `listen` with the default limits and no probe listener.
    #[must_use]
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            probe_listen: None,
            tls: None,
            http: HttpLimits::default(),
            limits: ServerLimits::default(),
        }
    }
}

/// A verified callback: new submissions are waiting at a destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackNotice {
    /// The destination the callback was addressed to (from the path).
    pub destination_id: String,
    /// The submission ids it names (from `submissions[].submissionId` and the deprecated
    /// `submissionIds`, deduplicated; may be empty: then poll).
    pub submission_ids: Vec<String>,
}

/// The sink refuses a notice for now (its queue is full); the server answers 503 and the
/// delivery service retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkFull;

/// Receives verified callbacks; implemented by the pipeline (e.g. a bounded channel's
/// `try_send`). Must not block.
pub trait CallbackSink: Send + Sync {
    /// Takes one notice.
    ///
    /// # Errors
    /// [`SinkFull`] when it cannot take more now.
    fn notify(&self, notice: CallbackNotice) -> Result<(), SinkFull>;
}

/// Whether the pipeline is ready to work (for `/ready`); implemented by the pipeline.
pub trait Readiness: Send + Sync {
    /// True when ready.
    fn is_ready(&self) -> bool;
}

/// The pipelines of several destinations: ready when every one is.
impl<T: Readiness> Readiness for Vec<T> {
    fn is_ready(&self) -> bool {
        self.iter().all(Readiness::is_ready)
    }
}

/// The callback endpoint's configuration: the secret of each destination, and the sink.
/// Accepted callbacks are remembered for replay protection in the store when the server has
/// one (a restart keeps them), else in memory.
pub struct Callbacks {
    destinations: HashMap<String, CallbackSecret>,
    sink: Arc<dyn CallbackSink>,
    replays: Mutex<ReplayGuard>,
}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("destinations", &self.destinations.len())
            .finish_non_exhaustive()
    }
}

impl Callbacks {
    /// No destinations yet; verified callbacks go to `sink`.
    #[must_use]
    pub fn new(sink: Arc<dyn CallbackSink>) -> Self {
        Self {
            destinations: HashMap::new(),
            sink,
            replays: Mutex::new(ReplayGuard::new()),
        }
    }

    /// Accepts callbacks for `destination_id` (at `/callbacks/{destination_id}`) signed with
    /// `secret`.
    #[must_use]
    pub fn destination(
        mut self,
        destination_id: impl Into<String>,
        secret: CallbackSecret,
    ) -> Self {
        self.destinations
            .insert(destination_id.into().to_ascii_lowercase(), secret);
        self
    }
}

/// The admin API's bearer token. Not printable.
pub struct AdminToken(zeroize::Zeroizing<String>);

impl AdminToken {
    /// The token operators send as `Authorization: Bearer <token>`.
    #[must_use]
    pub fn new(token: impl Into<String>) -> Self {
        Self(zeroize::Zeroizing::new(token.into()))
    }

    /// Whether `presented` is the token, compared in constant time: both are hashed first so
    /// neither the content nor the length of the secret leaks through timing. The admin API
    /// and the console's login use this one comparison.
    #[must_use]
    pub fn matches(&self, presented: &str) -> bool {
        use aws_lc_rs::digest;
        let a = digest::digest(&digest::SHA256, presented.as_bytes());
        let b = digest::digest(&digest::SHA256, self.0.as_bytes());
        aws_lc_rs::constant_time::verify_slices_are_equal(a.as_ref(), b.as_ref()).is_ok()
    }
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

/// The operator console's pages under `/console/` (implemented by `crate::console`, layer L3,
/// and plugged in by the composition root, so this layer serves them without importing them).
/// It answers every request itself: login, sessions and security headers are its own.
pub trait ConsolePages: Send + Sync {
    /// Answers one request whose path starts with `/console`.
    fn serve(
        &self,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> std::pin::Pin<Box<dyn Future<Output = http::Reply> + Send + '_>>;
}

/// The reply API under `/api/v1/` (implemented by `crate::reply`, layer L3, plugged in by the
/// composition root): Fachverfahren hand in answers to submissions and ask for their status.
/// The server authenticates the caller first; the API gets the caller's name.
pub trait ReplyApi: Send + Sync {
    /// Answers one request under `/api/v1/` (`path`: the segments after `v1`) of the
    /// authenticated Fachverfahren `client` (its upstream name).
    fn serve(
        &self,
        client: String,
        path: Vec<String>,
        req: hyper::Request<hyper::body::Incoming>,
    ) -> std::pin::Pin<Box<dyn Future<Output = http::Reply> + Send + '_>>;
}

/// The reply API and who may call it: one bearer token per Fachverfahren (upstream name).
pub struct Replies {
    /// The API.
    pub api: Arc<dyn ReplyApi>,
    /// `(token, upstream name)`; a token is compared like the admin token.
    pub clients: Vec<(AdminToken, String)>,
}

/// What the server serves.
pub struct Handlers {
    /// Shared metrics (rendered at `/metrics`, callbacks counted into them).
    pub metrics: Arc<Metrics>,
    /// The store: checked by `/ready`, queue figures in `/metrics`, the admin API.
    pub store: Option<AnyStore>,
    /// The pipeline's readiness (`None`: ready whenever the store is).
    pub readiness: Option<Arc<dyn Readiness>>,
    /// The callback endpoint (`None`: 404).
    pub callbacks: Option<Callbacks>,
    /// The admin API token (`None`: no admin API).
    pub admin_token: Option<AdminToken>,
    /// The operator console (`None`: `/console/` is 404).
    pub console: Option<Arc<dyn ConsolePages>>,
    /// The reply API (`None`: `/api/v1/` is 404).
    pub replies: Option<Replies>,
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("store", &self.store.is_some())
            .field("callbacks", &self.callbacks)
            .field("admin", &self.admin_token.is_some())
            .field("console", &self.console.is_some())
            .field("replies", &self.replies.is_some())
            .finish_non_exhaustive()
    }
}

/// The server entry point.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds `config.listen` (and `config.probe_listen`), loads TLS if configured, and serves
    /// `handlers` in the background.
    ///
    /// # Errors
    /// [`ServerError`] when an address cannot be bound or TLS cannot be set up.
    pub async fn start(
        config: ServerConfig,
        handlers: Handlers,
    ) -> Result<ServerHandle, ServerError> {
        let state = Arc::new(routes::State {
            handlers,
            limits: config.limits.clone(),
            http: config.http.clone(),
        });
        let routes = http::Routes {
            main: routes::handler(&state, routes::Mode::Main),
            probes: routes::handler(&state, routes::Mode::Overflow),
        };
        let main = Listener::start(
            &ListenerConfig {
                addr: config.listen,
                tls: config.tls.clone(),
                limits: config.http.clone(),
            },
            routes,
        )
        .await?;
        let probe = match config.probe_listen {
            None => None,
            Some(addr) => {
                let probes = routes::handler(&state, routes::Mode::Probe);
                let started = Listener::start(
                    &ListenerConfig {
                        addr,
                        tls: None,
                        limits: config.http.clone(),
                    },
                    http::Routes {
                        main: probes.clone(),
                        probes,
                    },
                )
                .await;
                match started {
                    Ok(listener) => Some(listener),
                    Err(e) => {
                        main.shutdown().await;
                        return Err(e);
                    }
                }
            }
        };
        Ok(ServerHandle { main, probe })
    }
}

/// Serves one HTTP/1.1 connection over `io` (any byte stream, e.g. an in-memory duplex) with
/// `handlers`, as the listener serves a TCP connection but allowing the client to half-close.
/// For the fuzz targets (`crate::fuzzing`), which drive the routes in-process.
pub(crate) async fn serve_stream<IO>(io: IO, handlers: Handlers, limits: ServerLimits)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let http = HttpLimits::default();
    let state = Arc::new(routes::State {
        handlers,
        limits,
        http: http.clone(),
    });
    http::serve_stream(io, routes::handler(&state, routes::Mode::Main), &http).await;
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    main: Listener,
    probe: Option<Listener>,
}

impl ServerHandle {
    /// The bound address of the main listener.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.main.addr()
    }

    /// The bound address of the probe listener, if one is configured.
    #[must_use]
    pub fn probe_addr(&self) -> Option<SocketAddr> {
        self.probe.as_ref().map(Listener::addr)
    }

    /// Connection counts of the main listener.
    #[must_use]
    pub fn stats(&self) -> ListenerStats {
        self.main.stats()
    }

    /// Stops accepting connections and waits until in-flight requests are answered (at most
    /// [`HttpLimits::drain_timeout_ms`]).
    pub async fn shutdown(self) {
        let probe = async {
            if let Some(p) = self.probe {
                p.shutdown().await;
            }
        };
        tokio::join!(self.main.shutdown(), probe);
    }
}
