//! The accept loop: admission (see the design note in [`super`]), optional TLS with a
//! handshake deadline, HTTP/1.1 with header limits and timeouts, a whole-request deadline, and
//! graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::admission::{Admission, ListenerStats, Slot, Ticket};
use super::reply::{Problem, Reply};
use super::{ListenError, TlsFiles, tls};
use crate::config::HttpLimits;

/// Answers one request.
pub type Handler =
    Arc<dyn Fn(Request<Incoming>) -> Pin<Box<dyn Future<Output = Reply> + Send>> + Send + Sync>;

/// Wraps an async function of the request as a [`Handler`].
pub fn handler<F, Fut>(f: F) -> Handler
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Reply> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

/// The handlers of a listener.
#[derive(Clone)]
pub struct Routes {
    /// Requests on connections within the limits.
    pub main: Handler,
    /// Requests on connections beyond the limits (probe slots): must answer `/health` and
    /// `/ready` and should refuse everything else cheaply (503).
    pub probes: Handler,
}

impl std::fmt::Debug for Routes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Routes(..)")
    }
}

/// Where and how a listener listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// The address (port 0 picks a free port).
    pub addr: SocketAddr,
    /// TLS, if the listener terminates it.
    pub tls: Option<TlsFiles>,
    /// Connection limits and timeouts.
    pub limits: HttpLimits,
}

/// A running listener. Dropping it stops accepting (open connections are drained in the
/// background); [`Listener::shutdown`] also waits for them.
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    admission: Arc<Admission>,
}

/// A bound listener that does not serve yet (its address is known: a server whose state needs
/// its own address binds first).
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
    tls: Option<TlsAcceptor>,
    limits: HttpLimits,
}

impl std::fmt::Debug for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bound")
            .field("addr", &self.addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

impl Bound {
    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `routes` in a background task of the current Tokio runtime.
    #[must_use]
    pub fn serve(self, routes: Routes) -> Listener {
        let (stop, stopped) = watch::channel(false);
        let admission = Admission::new(&self.limits);
        let accept = AcceptLoop {
            listener: self.listener,
            tls: self.tls,
            routes,
            limits: Arc::new(self.limits),
            admission: Arc::clone(&admission),
        };
        let task = tokio::spawn(accept.run(stopped));
        Listener {
            addr: self.addr,
            stop,
            task,
            admission,
        }
    }
}

impl Listener {
    /// Binds `config.addr` and loads TLS if configured.
    ///
    /// # Errors
    /// [`ListenError`] when the address cannot be bound or TLS cannot be set up.
    pub async fn bind(config: &ListenerConfig) -> Result<Bound, ListenError> {
        let tls = config.tls.as_ref().map(tls::acceptor).transpose()?;
        let bind_failed = |source| ListenError::Bind {
            addr: config.addr,
            source,
        };
        let socket = if config.addr.is_ipv4() {
            TcpSocket::new_v4()
        } else {
            TcpSocket::new_v6()
        }
        .map_err(bind_failed)?;
        // As `TcpListener::bind` does: a restarted server may bind while old connections of
        // its predecessor linger in TIME_WAIT.
        socket.set_reuseaddr(true).map_err(bind_failed)?;
        socket.bind(config.addr).map_err(bind_failed)?;
        let listener = socket
            .listen(config.limits.listen_backlog)
            .map_err(bind_failed)?;
        let addr = listener.local_addr().map_err(bind_failed)?;
        Ok(Bound {
            listener,
            addr,
            tls,
            limits: config.limits.clone(),
        })
    }

    /// [`Self::bind`], then [`Bound::serve`].
    ///
    /// # Errors
    /// [`ListenError`] when the address cannot be bound or TLS cannot be set up.
    pub async fn start(config: &ListenerConfig, routes: Routes) -> Result<Self, ListenError> {
        Ok(Self::bind(config).await?.serve(routes))
    }

    /// The bound address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connection counts.
    #[must_use]
    pub fn stats(&self) -> ListenerStats {
        self.admission.stats()
    }

    /// Stops accepting connections and waits until open requests are answered (at most
    /// [`HttpLimits::drain_timeout_ms`]).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

struct AcceptLoop {
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    routes: Routes,
    limits: Arc<HttpLimits>,
    admission: Arc<Admission>,
}

impl AcceptLoop {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let graceful = GracefulShutdown::new();
        loop {
            let accepted = tokio::select! {
                accepted = self.listener.accept() => accepted,
                _ = stop.changed() => break,
            };
            let Ok((stream, peer)) = accepted else {
                // Transient (e.g. too many open files): the loop goes on after a breath.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let (ticket, probe) = match self.admission.admit(peer.ip()) {
                Slot::Main(t) => (t, false),
                Slot::Probe(t) => {
                    // Under a flood the loop runs behind, so a probe's request is often here
                    // already: then it is not evicted while its task waits to be scheduled.
                    if self.tls.is_none() && head_is_waiting(&stream) {
                        t.started();
                    }
                    (t, true)
                }
                // Closing at once: the client learns it is refused instead of waiting.
                Slot::Refused => continue,
            };
            let conn = Connection {
                tls: self.tls.clone(),
                handler: if probe {
                    Arc::clone(&self.routes.probes)
                } else {
                    Arc::clone(&self.routes.main)
                },
                limits: Arc::clone(&self.limits),
                probe,
            };
            let watcher = graceful.watcher();
            let ticket = Arc::new(ticket);
            tokio::spawn(async move {
                tokio::select! {
                    () = conn.run(stream, watcher, Arc::clone(&ticket)) => {}
                    // A newer connection took this probe slot before a request head came.
                    () = ticket.evicted() => {}
                }
            });
        }
        drop(self.listener);
        let _ = tokio::time::timeout(self.limits.drain_timeout(), graceful.shutdown()).await;
    }
}

/// Whether a complete request head waits in the socket's receive buffer (without reading it
/// and without waiting).
fn head_is_waiting(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 2048];
    let mut read = tokio::io::ReadBuf::new(&mut buf);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match stream.poll_peek(&mut cx, &mut read) {
        std::task::Poll::Ready(Ok(_)) => memchr::memmem::find(read.filled(), b"\r\n\r\n").is_some(),
        _ => false,
    }
}

/// One admitted connection.
struct Connection {
    tls: Option<TlsAcceptor>,
    handler: Handler,
    limits: Arc<HttpLimits>,
    /// A probe slot: short deadlines, one request.
    probe: bool,
}

impl Connection {
    async fn run(self, stream: TcpStream, watcher: Watcher, ticket: Arc<Ticket>) {
        let _ = stream.set_nodelay(true);
        let handshake = if self.probe {
            self.limits.probe_timeout()
        } else {
            self.limits.tls_handshake_timeout()
        };
        match self.tls.clone() {
            None => self.serve(stream, watcher, ticket).await,
            Some(acceptor) => {
                if let Ok(Ok(tls)) = tokio::time::timeout(handshake, acceptor.accept(stream)).await
                {
                    self.serve(tls, watcher, ticket).await;
                }
            }
        }
    }

    async fn serve<IO>(self, io: IO, watcher: Watcher, ticket: Arc<Ticket>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let request_timeout = self.limits.request_timeout();
        let handler = self.handler;
        let service = service_fn(move |req| {
            // A request head arrived: a probe slot's connection is no longer evictable.
            ticket.started();
            within(request_timeout, handler(req))
        });
        // A failed connection (reset, header timeout) concerns only itself.
        let _ = watcher
            .watch(builder(&self.limits, self.probe).serve_connection(TokioIo::new(io), service))
            .await;
    }
}

/// The HTTP/1.1 settings of a connection: header limits and timeouts; a probe slot's
/// connection has the short deadline and no keep-alive.
fn builder(limits: &HttpLimits, probe: bool) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(if probe {
            limits.probe_timeout()
        } else {
            limits.header_timeout()
        })
        .keep_alive(!probe)
        // hyper refuses buffers below 8 KiB.
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers);
    builder
}

/// Serves one HTTP/1.1 connection over `io` (any byte stream, e.g. an in-memory duplex) with
/// `handler`, with the settings and the request deadline of a listener's connection, except
/// that the client may half-close (an in-memory stream ends a request no other way). For the
/// fuzz targets (`crate::fuzzing`), which drive the routes in-process.
pub(crate) async fn serve_stream<IO>(io: IO, handler: Handler, limits: &HttpLimits)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let request_timeout = limits.request_timeout();
    let service = service_fn(move |req| within(request_timeout, handler(req)));
    let mut builder = builder(limits, false);
    builder.half_close(true);
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

/// A handler's answer, or 503 when it overruns the request deadline.
async fn within(
    deadline: Duration,
    answer: Pin<Box<dyn Future<Output = Reply> + Send>>,
) -> Result<Reply, Infallible> {
    Ok(tokio::time::timeout(deadline, answer)
        .await
        .unwrap_or_else(|_| too_slow()))
}

/// The answer when a handler overran the request deadline.
fn too_slow() -> Reply {
    let mut reply = Problem {
        type_uri: "about:blank",
        title: "Service Unavailable",
        status: StatusCode::SERVICE_UNAVAILABLE.as_u16(),
        detail: "the request was not answered in time",
        instance: None,
    }
    .reply();
    reply
        .headers_mut()
        .insert("retry-after", hyper::header::HeaderValue::from_static("5"));
    reply
}
