//! The accept loop: connection limit, optional TLS with a handshake timeout, HTTP/1.1 with
//! header limits and timeouts, graceful shutdown.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio_rustls::TlsAcceptor;

use super::routes::{self, State};
use super::{ServerError, ServerLimits, TlsFiles};

/// Loads the PEM certificate chain and key into a rustls acceptor (TLS 1.2 and 1.3, aws-lc-rs,
/// HTTP/1.1 via ALPN).
pub(super) fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, ServerError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert_chain_pem)
        .and_then(Iterator::collect)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", files.cert_chain_pem.display())))?;
    if certs.is_empty() {
        return Err(ServerError::Tls(format!(
            "{}: no certificate",
            files.cert_chain_pem.display()
        )));
    }
    let key = PrivateKeyDer::from_pem_file(&files.private_key_pem)
        .map_err(|e| ServerError::Tls(format!("{}: {e}", files.private_key_pem.display())))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves until `stop` fires, then waits (at most the drain timeout) for open requests.
pub(super) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    state: Arc<State>,
    limits: ServerLimits,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let Ok((stream, _peer)) = accepted else {
            // Transient (e.g. too many open files): the loop goes on.
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let state = Arc::clone(&state);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => run_connection(stream, &state, &limits, watcher).await,
                Some(acceptor) => {
                    let handshake = limits.tls_handshake_timeout;
                    if let Ok(Ok(tls_stream)) =
                        tokio::time::timeout(handshake, acceptor.accept(stream)).await
                    {
                        run_connection(tls_stream, &state, &limits, watcher).await;
                    }
                }
            }
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(limits.drain_timeout, graceful.shutdown()).await;
}

async fn run_connection<IO>(
    io: IO,
    state: &Arc<State>,
    limits: &ServerLimits,
    watcher: hyper_util::server::graceful::Watcher,
) where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A failed connection (reset, header timeout) concerns only itself.
    let _ = watcher
        .watch(builder(limits).serve_connection(TokioIo::new(io), service(Arc::clone(state))))
        .await;
}

/// One connection over any byte stream, as [`run_connection`] serves a socket, except that
/// the client may half-close (an in-memory stream ends a request no other way). For the fuzz
/// targets, which drive the routes in-process.
pub(super) async fn serve_stream<IO>(io: IO, state: &Arc<State>, limits: &ServerLimits)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = builder(limits);
    builder.half_close(true);
    let _ = builder
        .serve_connection(TokioIo::new(io), service(Arc::clone(state)))
        .await;
}

fn service(
    state: Arc<State>,
) -> impl hyper::service::Service<
    hyper::Request<hyper::body::Incoming>,
    Response = routes::Reply,
    Error = Infallible,
    Future = impl Future<Output = Result<routes::Reply, Infallible>> + Send,
> + use<> {
    service_fn(move |req| {
        let state = Arc::clone(&state);
        async move { Ok::<_, Infallible>(routes::handle(&state, req).await) }
    })
}

/// The HTTP/1.1 settings of every connection: header limits and the header timeout.
fn builder(limits: &ServerLimits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .max_headers(limits.max_headers);
    builder
}
