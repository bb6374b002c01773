//! Issue 13, scope 3: `poststelle serve` (a child process) with `[server] tls_cert`/`tls_key`
//! serves its main listener over HTTPS; plain HTTP on that port gets no HTTP answer; a client
//! that connects and sends nothing, or completes the handshake and sends no request, is
//! dropped within the configured deadlines; the startup log says TLS is on without showing
//! key material. `serve --check` loads the TLS material and names every bad file (exit 64).

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

use crate::forward_mtls::{Pki, write};
use crate::forward_support::pem;
use crate::gateway_crash::Rig;

/// The handshake and header deadlines the gateway gets (the defaults are 5 s).
const DEADLINE_MS: u64 = 1_000;

/// Writes a CA-issued server certificate for 127.0.0.1 and localhost into `<dir>/tls/` and
/// points the rig's configuration at it (relative paths: relative to the configuration file).
/// Returns the CA certificate (PEM) and the key's PEM text.
fn configure_tls(rig: &Rig, pki: &Pki) -> (String, String) {
    let dir = rig.dir.path();
    std::fs::create_dir_all(dir.join("tls")).expect("tls dir");
    let (cert, key) = pki.leaf_for(&["127.0.0.1", "localhost"]);
    let key_pem = pem("PRIVATE KEY", &key);
    write(dir, "tls/server.pem", &pem("CERTIFICATE", &cert));
    write(dir, "tls/server.key", &key_pem);
    let text = std::fs::read_to_string(&rig.gateway.config).expect("config");
    let server = "[server]\nlisten = \"127.0.0.1:0\"\n";
    assert!(text.contains(server), "{text}");
    let text = text.replace(
        server,
        &format!(
            "{server}tls_cert = \"tls/server.pem\"\ntls_key = \"tls/server.key\"\n\
             [limits.http]\nheader_timeout_ms = {DEADLINE_MS}\ntls_handshake_timeout_ms = {DEADLINE_MS}\n"
        ),
    );
    std::fs::write(&rig.gateway.config, text).expect("config");
    (pem("CERTIFICATE", pki.ca.der()), key_pem)
}

fn log_of(rig: &Rig) -> String {
    std::fs::read_to_string(&rig.gateway.log).unwrap_or_default()
}

/// The main listener's address, from the startup log.
async fn https_addr(rig: &mut Rig) -> std::net::SocketAddr {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let log = log_of(rig);
        if let Some(rest) = log.split("listening on https://").nth(1) {
            let addr = rest.split_whitespace().next().expect("address");
            return addr.parse().expect("socket address");
        }
        rig.gateway.assert_running();
        assert!(Instant::now() < deadline, "not listening:\n{log}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the peer closes (EOF or reset) and returns how long that took; fails after 10 s.
async fn closed_after(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Duration {
    let start = Instant::now();
    let mut buf = [0u8; 256];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Err(_) => panic!("still open after 10 s"),
            Ok(Ok(0) | Err(_)) => return start.elapsed(),
            Ok(Ok(n)) => assert!(
                !buf[..n].starts_with(b"HTTP/"),
                "an HTTP answer to a client that sent nothing"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_over_https_and_drops_plain_and_silent_clients() {
    let state = tempfile::tempdir().expect("state dir");
    let mut rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "",
    )
    .await;
    let pki = Pki::new();
    let (ca_pem, key_pem) = configure_tls(&rig, &pki);
    rig.gateway.start();
    let addr = https_addr(&mut rig).await;

    // A client trusting the CA gets /health over HTTPS, by IP address and by name.
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("ca")])
        .resolve("localhost", addr)
        .build()
        .expect("client");
    for url in [
        format!("https://{addr}/health"),
        format!("https://localhost:{}/health", addr.port()),
    ] {
        let resp = client.get(&url).send().await.expect("https request");
        assert_eq!(resp.status().as_u16(), 200, "{url}");
    }
    // A client that does not trust the CA refuses the server.
    assert!(
        reqwest::get(format!("https://{addr}/health"))
            .await
            .is_err()
    );

    // Plain HTTP on the TLS port: no HTTP answer.
    let mut plain = TcpStream::connect(addr).await.expect("connect");
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), plain.read_to_end(&mut answer)).await;
    assert!(!answer.starts_with(b"HTTP/"), "plain HTTP was answered");
    assert!(
        reqwest::get(format!("http://{addr}/health")).await.is_err(),
        "plain HTTP was answered"
    );

    // Connects and never sends a ClientHello: dropped at the handshake deadline.
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let took = closed_after(&mut silent).await;
    assert!(
        took >= Duration::from_millis(DEADLINE_MS * 8 / 10) && took < Duration::from_secs(4),
        "silent connection closed after {took:?}"
    );

    // Completes the handshake, then sends no request: dropped at the header deadline.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = rustls_pki_types::ServerName::try_from("localhost").expect("name");
    let mut tls = connector.connect(name, tcp).await.expect("handshake");
    let took = closed_after(&mut tls).await;
    assert!(
        took < Duration::from_secs(4),
        "idle TLS connection closed after {took:?}"
    );

    // The startup log says TLS is on, and shows no key material.
    let log = log_of(&rig);
    assert!(log.contains("TLS on"), "{log}");
    let key_line = key_pem.lines().nth(1).expect("base64 line");
    assert!(!log.contains(key_line), "key material in the log");
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}

/// Runs `poststelle serve --check` on `config`: (exit code, stderr).
pub(crate) fn check(config: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_poststelle"))
        .arg("serve")
        .arg("--config")
        .arg(config)
        .arg("--check")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("POSTSTELLE_SHARED", crate::shared_data::shared())
        .env_remove("POSTSTELLE_PACKS")
        .stdin(Stdio::null())
        .output()
        .expect("run serve --check");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_check_names_a_key_that_does_not_match_its_certificate() {
    let state = tempfile::tempdir().expect("state dir");
    let rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "",
    )
    .await;
    let pki = Pki::new();
    configure_tls(&rig, &pki);
    let (code, stderr) = check(&rig.gateway.config);
    assert_eq!(code, Some(0), "{stderr}");

    // The key of another certificate, and an upstream whose client key and CA file are bad:
    // every problem at once, each naming its file, none quoting it.
    let dir = rig.dir.path();
    let (_, other_key) = pki.leaf("other.example");
    let other_key_pem = pem("PRIVATE KEY", &other_key);
    write(dir, "tls/other.key", &other_key_pem);
    let (client_cert, _) = pki.leaf("gateway.example");
    write(dir, "tls/gw.pem", &pem("CERTIFICATE", &client_cert));
    write(dir, "tls/ca.pem", "not a certificate\n");
    let mut text = std::fs::read_to_string(&rig.gateway.config)
        .expect("config")
        .replace("tls/server.key", "tls/other.key");
    text.push_str(
        "[[upstream]]\nname = \"bau\"\nurl = \"https://bau.example/in\"\n\
         ca_file = \"tls/ca.pem\"\nclient_cert = \"tls/gw.pem\"\nclient_key = \"tls/other.key\"\n",
    );
    // `[[upstream]]` after `[dangerous]`: the tables of TOML may come in any order.
    std::fs::write(&rig.gateway.config, text).expect("config");
    let (code, stderr) = check(&rig.gateway.config);
    assert_eq!(code, Some(64), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let line_with = |needle: &str| {
        lines
            .iter()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{stderr}"))
    };
    let server = line_with("server TLS:");
    assert!(
        server.contains("other.key: the private key does not belong to the certificate in")
            && server.contains("server.pem"),
        "{server}"
    );
    let upstream = line_with("upstream bau:");
    assert!(
        upstream.contains("other.key: the private key does not belong")
            && upstream.contains("gw.pem")
            && upstream.contains("ca.pem: no certificate"),
        "{upstream}"
    );
    let key_line = other_key_pem.lines().nth(1).expect("base64 line");
    assert!(!stderr.contains(key_line), "key material in the report");
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}
