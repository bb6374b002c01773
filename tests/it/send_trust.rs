//! Issue 19, end to end: `poststelle send` against the sandbox serving CA-issued destination
//! keys trusts them only with the CA as `--trust-anchor`, and refuses a revoked one.

use std::path::Path;

use poststelle::config::JoseLimits;
use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::event_log as verify;
use poststelle::jose::SigningKey;
use rcgen::KeyUsagePurpose;

use crate::fitconnect_client::subscriber;
use crate::jose_keys::{encryption, signing};
use crate::pki_support::{
    self, Ca, PkiServer, crl_dp, enc_leaf_params, leaf_with, params, private_jwk_with, root,
};
use crate::sandbox_support::{Env, SERVICE, start_with};
use crate::send_e2e::{XBAU, first_submission, run_send};

/// A sandbox whose destination keys (encryption and signing) are issued by `ca`, with the
/// encryption key's certificate naming `crl_url` as its CRL distribution point.
async fn sandbox_with_ca_keys(ca: &Ca, crl_url: Option<&str>, dir: &Path) -> Env {
    let mut enc = enc_leaf_params();
    if let Some(url) = crl_url {
        enc.crl_distribution_points = vec![crl_dp(url)];
    }
    let enc_x5c = vec![leaf_with(&enc, encryption(), ca)];
    let sig = params(
        "destination signing key",
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::ContentCommitment,
        ],
        false,
        365,
    );
    let sig_x5c = vec![leaf_with(&sig, signing(), ca)];
    let enc_path = dir.join("enc.jwk.json");
    let sig_path = dir.join("sig.jwk.json");
    std::fs::write(&enc_path, private_jwk_with(encryption(), enc_x5c).to_json()).expect("key");
    std::fs::write(&sig_path, private_jwk_with(signing(), sig_x5c).to_json()).expect("key");
    std::fs::write(dir.join("root.pem"), pki_support::ca_pem(ca)).expect("anchor");
    std::fs::write(dir.join("antrag.xml"), XBAU).expect("data");
    start_with(move |c| {
        c.destinations[0].encryption_key = Some(enc_path);
        c.destinations[0].signing_key = Some(sig_path);
    })
    .await
}

/// `send` as a portal would run it against a delivery service: no --sandbox, so no implied
/// self-signed switch.
fn args(env: &Env, dir: &Path, wait: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "send",
        "--url",
        &env.base,
        "--client-id",
        "sender",
        "--client-secret",
        "sender-secret-0123456789",
        "--destination",
        &env.destination,
        "--service-identifier",
        SERVICE,
        "--wait",
        wait,
        "--data",
        &dir.join("antrag.xml").display().to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

/// Asserts that nothing reached the destination.
async fn assert_nothing_sent(env: &Env) {
    let client = subscriber(env, ApiProfile::V1);
    let list = client
        .list_all_submissions(&env.destination)
        .await
        .expect("list");
    assert!(list.is_empty(), "{list:?}");
}

#[tokio::test]
async fn send_trusts_a_ca_issued_destination_key_with_a_configured_anchor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ca = root("E2E V-PKI root");
    let env = sandbox_with_ca_keys(&ca, None, d).await;
    // Without an anchor the CA-issued key is refused before anything is created.
    let (code, stdout) = run_send(args(&env, d, "0", &[])).await;
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert_nothing_sent(&env).await;
    let client = subscriber(&env, ApiProfile::V1);
    // With the CA as anchor: sent, and the destination's accept (signed with its CA-issued
    // signing key) is verified and reported.
    let anchor = d.join("root.pem").display().to_string();
    let send = tokio::spawn(run_send(args(&env, d, "60", &["--trust-anchor", &anchor])));
    let sid = first_submission(&client, &env.destination).await;
    let capture = client.download(&sid).await.expect("download");
    let log = verify::verify_capture(&capture, &[], &JoseLimits::default()).expect("verified");
    let case = capture.case_id().expect("case").to_owned();
    let key = SigningKey::from_jwk(&signing().private_jwk).expect("signing key");
    client
        .accept(&key, &env.subject(&sid, &case), &log.tags)
        .await
        .expect("accept");
    let (code, stdout) = send.await.expect("join");
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(stdout.trim(), format!("accepted {sid}"));
    env.sandbox.shutdown().await;
}

#[tokio::test]
async fn send_refuses_a_revoked_destination_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let ca = root("E2E V-PKI root");
    let crl: std::sync::Arc<std::sync::Mutex<Vec<u8>>> = std::sync::Arc::default();
    let served = std::sync::Arc::clone(&crl);
    let server = PkiServer::start(move |_, _| (200, served.lock().expect("crl").clone())).await;
    let env = sandbox_with_ca_keys(&ca, Some(&server.url("/root.crl")), d).await;
    // The CRL lists the encryption key's certificate.
    let jwk_text = std::fs::read_to_string(d.join("enc.jwk.json")).expect("key");
    let jwk = poststelle::jose::Jwk::from_json(&jwk_text).expect("jwk");
    let leaf = pki_support::b64_decode(&jwk.x5c.clone().expect("x5c")[0]);
    let now = crate::jose_keys::now();
    *crl.lock().expect("crl") = pki_support::crl(&ca, &[&leaf], now - 3600, now + 86_400);
    let anchor = d.join("root.pem").display().to_string();
    let (code, stdout) = run_send(args(&env, d, "0", &["--trust-anchor", &anchor])).await;
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(server.hits() >= 1, "the CRL was fetched");
    assert_nothing_sent(&env).await;
    // Only the dangerous switch gets it through: the refusal was the revocation.
    let (code, stdout) = run_send(args(
        &env,
        d,
        "0",
        &["--trust-anchor", &anchor, "--revocation", "off"],
    ))
    .await;
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("submitted "), "{stdout}");
    env.sandbox.shutdown().await;
}
