//! HTTPS upstreams with an internal CA and mutual TLS: the client certificate is presented, and
//! without it (or without trusting the CA) nothing is delivered.

use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use poststelle::forward::{
    ClientIdentity, ForwardPolicy, Forwarder, HttpUpstream, RoundReport, RouteTable, UpstreamSpec,
};
use poststelle::store::RetryPolicy;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair, KeyUsagePurpose};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::TcpListener;

use crate::forward_support::{TestStore, pem, store_submission};

/// A test CA issuing leaves (shared with `forward_config` and `server_tls`).
pub(crate) struct Pki {
    pub(crate) ca: CertifiedIssuer<'static, KeyPair>,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca =
            CertifiedIssuer::self_signed(params, KeyPair::generate().expect("key")).expect("ca");
        Self { ca }
    }

    /// A leaf for `name` (DNS name or IP address): certificate DER and PKCS#8 key DER.
    pub(crate) fn leaf(&self, name: &str) -> (CertificateDer<'static>, Vec<u8>) {
        self.leaf_for(&[name])
    }

    /// A leaf for several names (DNS names or IP addresses).
    pub(crate) fn leaf_for(&self, names: &[&str]) -> (CertificateDer<'static>, Vec<u8>) {
        let key = KeyPair::generate().expect("key");
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let cert = CertificateParams::new(names)
            .expect("params")
            .signed_by(&key, &self.ca)
            .expect("leaf");
        (cert.der().clone(), key.serialize_der())
    }
}

/// An HTTPS sink on 127.0.0.1 that requires a client certificate from `pki`'s CA; records
/// the idempotency keys of requests that got through.
pub(crate) async fn mtls_sink(pki: &Pki) -> (std::net::SocketAddr, Arc<Mutex<Vec<String>>>) {
    let (cert, key) = pki.leaf("127.0.0.1");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).expect("root");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .expect("verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![cert],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key)),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let keys = Arc::new(Mutex::new(Vec::new()));
    let k = Arc::clone(&keys);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let (acceptor, k) = (acceptor.clone(), Arc::clone(&k));
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let k = Arc::clone(&k);
                    async move {
                        if let Some(v) = req.headers().get("idempotency-key") {
                            k.lock()
                                .expect("keys")
                                .push(v.to_str().unwrap_or("").to_owned());
                        }
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, keys)
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write pem");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_is_presented_to_an_mtls_upstream() {
    let t = TestStore::sqlite().await;
    let pki = Pki::new();
    let (addr, keys) = mtls_sink(&pki).await;
    let ca_pem = write(t.dir.path(), "ca.pem", &pem("CERTIFICATE", pki.ca.der()));
    let (client_cert, client_key) = pki.leaf("gateway.example");
    let identity = ClientIdentity {
        cert_chain_pem: write(
            t.dir.path(),
            "client.pem",
            &pem("CERTIFICATE", &client_cert),
        ),
        private_key_pem: write(t.dir.path(), "client.key", &pem("PRIVATE KEY", &client_key)),
    };
    let url = format!("https://127.0.0.1:{}/in", addr.port());

    // Without a client certificate: refused by the upstream, retried later.
    let report = attempt(&t, &url, "sub-no-cert", None, Some(ca_pem.clone())).await;
    assert_eq!(report.retried, 1);
    // Without trusting the internal CA: the server is not accepted.
    let report = attempt(&t, &url, "sub-no-ca", Some(identity.clone()), None).await;
    assert_eq!(report.retried, 1);
    assert!(keys.lock().expect("keys").is_empty());
    // With both: delivered.
    let report = attempt(&t, &url, "sub-mtls", Some(identity), Some(ca_pem)).await;
    assert_eq!(report.delivered, 1);
    assert_eq!(*keys.lock().expect("keys"), ["sub-mtls"]);
}

/// Stores submission `id` and runs one delivery round to `url` with the given TLS settings.
async fn attempt(
    t: &TestStore,
    url: &str,
    id: &str,
    identity: Option<ClientIdentity>,
    roots: Option<std::path::PathBuf>,
) -> RoundReport {
    store_submission(&t.store, id, &["fv"], vec![]).await;
    let mut up = HttpUpstream::new(url);
    up.client_identity = identity;
    up.extra_roots = roots;
    let policy = ForwardPolicy {
        retry: RetryPolicy {
            base_delay: Duration::from_secs(60),
            ..RetryPolicy::default()
        },
        ..ForwardPolicy::default()
    };
    let table = RouteTable::single(UpstreamSpec::http("fv", up));
    Forwarder::new(t.store.clone(), Arc::new(table), policy)
        .expect("forwarder")
        .deliver_due_once()
        .await
        .expect("round")
}
