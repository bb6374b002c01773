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
//!         .destination(destination_id, CallbackSecret::new(secret))),
//!     admin_token: Some(AdminToken::new(token)),
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
//! | `POST /callbacks/{destinationId}` | FIT-Connect callback: 202 once verified and handed to the [`CallbackSink`]; 401 unauthenticated (bad/missing MAC, stale timestamp, replay), 404 unknown destination, 400 malformed body, 413 too large, 503 sink full |
//! | `GET /admin/jobs?state=&limit=` | outbox jobs (JSON) |
//! | `GET /admin/dead-letters?limit=` | dead letters (JSON) |
//! | `GET /admin/submissions/{id}` | one submission without envelope or personal data (JSON) |
//! | `POST /admin/jobs/{jobId}/redrive` | re-drive one dead letter |
//! | `POST /admin/dead-letters/redrive` | re-drive all dead letters |
//!
//! Admin requests need `Authorization: Bearer <token>` (compared in constant time); without a
//! configured token the admin API does not exist (404).

mod admin;
mod listener;
pub mod metrics;
mod reply;
mod routes;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::fitconnect::callback::CallbackSecret;
use crate::store::AnyStore;

pub use metrics::{Metrics, Stage};

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// The TLS certificate or key cannot be read or used.
    #[error("TLS: {0}")]
    Tls(String),
}

/// PEM files of the server's TLS certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert_chain_pem: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub private_key_pem: PathBuf,
}

/// Request limits and timeouts of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Largest request body accepted (413 beyond). Default 1 MiB: callbacks are small.
    pub max_body_bytes: usize,
    /// Buffer for the request line and headers (at least 8 KiB; larger heads get 431).
    /// Default 16 KiB.
    pub max_header_bytes: usize,
    /// Most header fields in a request. Default 64.
    pub max_headers: usize,
    /// Time for the request head to arrive. Default 10 s.
    pub header_read_timeout: Duration,
    /// Time for the body to arrive. Default 30 s.
    pub body_read_timeout: Duration,
    /// Time for the TLS handshake. Default 10 s.
    pub tls_handshake_timeout: Duration,
    /// Connections served at once; further ones wait in the accept backlog. Default 256.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests. Default 30 s.
    pub drain_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 1 << 20,
            max_header_bytes: 16 << 10,
            max_headers: 64,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 256,
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Where and how the server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// The listen address (port 0 picks a free port).
    pub listen: SocketAddr,
    /// TLS, if the server terminates it itself (the FIT-Connect callback URL must be HTTPS; a
    /// terminating proxy in front is the alternative).
    pub tls: Option<TlsFiles>,
    /// Limits and timeouts.
    pub limits: ServerLimits,
}

impl ServerConfig {
    /// Plain HTTP on `listen` with the default limits.
    #[must_use]
    pub fn new(listen: SocketAddr) -> Self {
        Self {
            listen,
            tls: None,
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

/// The callback endpoint's configuration: the secret of each destination, and the sink.
pub struct Callbacks {
    destinations: HashMap<String, (CallbackSecret, Mutex<routes::Accepted>)>,
    sink: Arc<dyn CallbackSink>,
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
        self.destinations.insert(
            destination_id.into(),
            (secret, Mutex::new(routes::Accepted::default())),
        );
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
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminToken(..)")
    }
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
}

impl std::fmt::Debug for Handlers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handlers")
            .field("store", &self.store.is_some())
            .field("callbacks", &self.callbacks)
            .field("admin", &self.admin_token.is_some())
            .finish_non_exhaustive()
    }
}

/// The server entry point.
#[derive(Debug)]
pub struct Server;

impl Server {
    /// Binds `config.listen`, loads TLS if configured, and serves `handlers` in the background.
    ///
    /// # Errors
    /// [`ServerError`] when the address cannot be bound or TLS cannot be set up.
    pub async fn start(
        config: ServerConfig,
        handlers: Handlers,
    ) -> Result<ServerHandle, ServerError> {
        let tls = match &config.tls {
            Some(files) => Some(listener::tls_acceptor(files)?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        let (stop, stopped) = watch::channel(false);
        let state = Arc::new(routes::State {
            handlers,
            limits: config.limits,
        });
        let task = tokio::spawn(listener::serve(
            listener,
            tls,
            state,
            config.limits,
            stopped,
        ));
        Ok(ServerHandle { addr, stop, task })
    }
}

/// Serves one HTTP/1.1 connection over `io` (any byte stream, e.g. an in-memory duplex) with
/// `handlers`, as the listener serves a TCP connection but allowing the client to half-close.
/// For the fuzz targets (`crate::fuzzing`), which drive the routes in-process.
pub(crate) async fn serve_stream<IO>(io: IO, handlers: Handlers, limits: ServerLimits)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let state = Arc::new(routes::State { handlers, limits });
    listener::serve_stream(io, &state, &limits).await;
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl ServerHandle {
    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits until in-flight requests are answered (at most
    /// [`ServerLimits::drain_timeout`]).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
