//! The client's revocation fetcher (issue 19) against a loopback CRL/OCSP server: the
//! `require`/`prefer`/`off` policy, CRL distribution points and OCSP responders, offline CRL
//! files, caching, and bounds on slow or oversized answers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::client::{
    Client, ClientConfig, ClientError, Credentials, LinkOutcome, RevocationError, RevocationMode,
};
use poststelle::fitconnect::keys::validate_public_key;
use poststelle::jose::jwk::KeyUse;
use poststelle::jose::x509::{StatusSource, TrustPolicy, VerifiedChain};
use x509_ocsp::CertStatus;

use crate::jose_keys::{self, encryption};
use crate::pki_support::{
    self, Ca, PkiServer, Responder, aia_ocsp, b64_decode, crl_dp, enc_leaf_params, jwk_with,
    leaf_with, ocsp_response, root,
};

const HOUR: i64 = 3600;

fn now() -> i64 {
    jose_keys::now()
}

type Slot = Arc<Mutex<Vec<u8>>>;

/// A loopback server answering `/crl` and `/ocsp` from slots, a root, and a leaf whose
/// certificate names the given paths.
struct Fixture {
    server: PkiServer,
    ca: Ca,
    leaf: Vec<u8>,
    chain: VerifiedChain,
    crl: Slot,
    ocsp: Slot,
}

async fn fixture(crl_path: Option<&str>, ocsp_path: Option<&str>) -> Fixture {
    let (crl, ocsp): (Slot, Slot) = (Arc::default(), Arc::default());
    let (c, o) = (Arc::clone(&crl), Arc::clone(&ocsp));
    let server = PkiServer::start(move |path, _| match path {
        "/crl" => (200, c.lock().expect("slot").clone()),
        "/ocsp" => (200, o.lock().expect("slot").clone()),
        _ => (404, Vec::new()),
    })
    .await;
    let ca = root("Fetcher test root");
    let mut p = enc_leaf_params();
    if let Some(path) = crl_path {
        p.crl_distribution_points = vec![crl_dp(&server.url(path))];
    }
    if let Some(path) = ocsp_path {
        p.custom_extensions = vec![aia_ocsp(&server.url(path))];
    }
    let leaf = leaf_with(&p, encryption(), &ca);
    let policy = TrustPolicy::with_anchors(vec![ca.der().to_vec()]);
    let chain = validate_public_key(
        &jwk_with(encryption(), vec![leaf.clone()]),
        KeyUse::Encryption,
        &policy,
        now(),
    )
    .expect("valid chain")
    .chain;
    Fixture {
        server,
        ca,
        leaf: b64_decode(&leaf),
        chain,
        crl,
        ocsp,
    }
}

impl Fixture {
    fn client(&self, adjust: impl FnOnce(&mut ClientConfig)) -> Client {
        let mut config = ClientConfig::new(
            &self.server.base,
            &self.server.url("/token"),
            ApiProfile::V1,
        );
        adjust(&mut config);
        Client::new(config, Credentials::new("sender", "secret")).expect("client")
    }

    fn serve_crl(&self, revoked: &[&[u8]]) {
        *self.crl.lock().expect("slot") =
            pki_support::crl(&self.ca, revoked, now() - HOUR, now() + HOUR);
    }

    fn serve_ocsp(&self, status: CertStatus) {
        let responder = Responder {
            key: self.ca.key(),
            cert: self.ca.der(),
            include: false,
        };
        *self.ocsp.lock().expect("slot") = ocsp_response(
            &self.chain.links[0],
            &responder,
            status,
            now() - 60,
            Some(now() + HOUR),
        );
    }
}

/// The report of a chain whose only link, the leaf, is good per `source`.
fn good_leaf(source: StatusSource) -> [LinkOutcome; 1] {
    [LinkOutcome::Good { index: 0, source }]
}

fn revoked(result: Result<impl std::fmt::Debug, ClientError>) -> Option<(usize, StatusSource)> {
    match result {
        Err(ClientError::Revocation(RevocationError::Revoked { index, via })) => Some((index, via)),
        other => panic!("expected a revoked key, got {other:?}"),
    }
}

#[tokio::test]
async fn revoked_destination_key_is_refused_by_its_crl_distribution_point() {
    let f = fixture(Some("/crl"), None).await;
    f.serve_crl(&[&f.leaf]);
    // Refused under the default for a loopback (test) environment, prefer, as under require.
    for mode in [RevocationMode::Prefer, RevocationMode::Require] {
        let client = f.client(|c| c.revocation.mode = mode);
        assert_eq!(
            revoked(client.check_revocation(&f.chain, now()).await),
            Some((0, StatusSource::Crl))
        );
    }
    // A CRL that does not list it: good.
    f.serve_crl(&[]);
    let client = f.client(|c| c.revocation.mode = RevocationMode::Require);
    let report = client
        .check_revocation(&f.chain, now())
        .await
        .expect("good");
    assert_eq!(report.links, good_leaf(StatusSource::Crl));
}

#[tokio::test]
async fn revoked_destination_key_is_refused_by_its_ocsp_responder() {
    let f = fixture(None, Some("/ocsp")).await;
    f.serve_ocsp(pki_support::revoked_status(now() - HOUR, None));
    let client = f.client(|_| {});
    assert_eq!(
        revoked(client.check_revocation(&f.chain, now()).await),
        Some((0, StatusSource::Ocsp))
    );
}

#[tokio::test]
async fn ocsp_status_is_cached_until_it_expires() {
    let f = fixture(None, Some("/ocsp")).await;
    f.serve_ocsp(CertStatus::good());
    let client = f.client(|c| c.revocation.mode = RevocationMode::Require);
    for _ in 0..3 {
        let report = client
            .check_revocation(&f.chain, now())
            .await
            .expect("good");
        assert_eq!(report.links, good_leaf(StatusSource::Ocsp));
    }
    assert_eq!(f.server.hits(), 1, "one OCSP request, then the cache");
    // After nextUpdate the cached status is not used: the responder is asked again.
    client
        .check_revocation(&f.chain, now() + 2 * HOUR)
        .await
        .expect_err("the served response is stale by then");
    assert_eq!(f.server.hits(), 2);
}

#[tokio::test]
async fn missing_status_refuses_under_require_warns_under_prefer_and_is_ignored_when_off() {
    // The certificate names no CRL or OCSP source.
    let f = fixture(None, None).await;
    let client = f.client(|c| c.revocation.mode = RevocationMode::Require);
    match client.check_revocation(&f.chain, now()).await {
        Err(ClientError::Revocation(RevocationError::NoStatus { index: 0, detail })) => {
            assert!(detail.contains("names no OCSP responder"), "{detail}");
        }
        other => panic!("expected no status, got {other:?}"),
    }
    let client = f.client(|c| c.revocation.mode = RevocationMode::Prefer);
    let report = client
        .check_revocation(&f.chain, now())
        .await
        .expect("prefer");
    assert_eq!(report.unavailable().count(), 1);
    let client = f.client(|c| c.revocation.mode = RevocationMode::Off);
    let report = client.check_revocation(&f.chain, now()).await.expect("off");
    assert!(report.links.is_empty());
}

#[tokio::test]
async fn a_silent_responder_costs_one_timeout_and_is_remembered_as_a_failure() {
    let f = fixture(None, Some("/silent")).await;
    let client = f.client(|c| {
        c.revocation.mode = RevocationMode::Prefer;
        c.revocation.timeout = Duration::from_millis(500);
    });
    let started = Instant::now();
    let report = client
        .check_revocation(&f.chain, now())
        .await
        .expect("prefer");
    let (index, detail) = report.unavailable().next().expect("unavailable");
    assert_eq!(index, 0);
    assert!(detail.contains("timed out"), "{detail}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Polling again within the failure cache time does not ask again.
    client
        .check_revocation(&f.chain, now())
        .await
        .expect("prefer");
    assert_eq!(f.server.hits(), 1);
}

#[tokio::test]
async fn oversized_or_garbage_crl_gives_no_status() {
    let f = fixture(Some("/crl"), None).await;
    f.serve_crl(&[]);
    let client = f.client(|c| {
        c.revocation.mode = RevocationMode::Require;
        c.revocation.max_crl_bytes = 64;
    });
    match client.check_revocation(&f.chain, now()).await {
        Err(ClientError::Revocation(RevocationError::NoStatus { detail, .. })) => {
            assert!(detail.contains("larger than 64 bytes"), "{detail}");
        }
        other => panic!("expected no status, got {other:?}"),
    }
    *f.crl.lock().expect("slot") = b"<html>not a CRL</html>".to_vec();
    let client = f.client(|c| c.revocation.mode = RevocationMode::Require);
    match client.check_revocation(&f.chain, now()).await {
        Err(ClientError::Revocation(RevocationError::NoStatus { detail, .. })) => {
            assert!(detail.contains("not a DER or PEM CRL"), "{detail}");
        }
        other => panic!("expected no status, got {other:?}"),
    }
}

#[tokio::test]
async fn configured_crl_files_work_offline() {
    let f = fixture(Some("/crl"), Some("/ocsp")).await;
    let revoking = pki_support::crl(&f.ca, &[&f.leaf], now() - HOUR, now() + HOUR);
    let client = f.client(|c| {
        c.revocation.mode = RevocationMode::Require;
        c.revocation.online = false;
        c.revocation.crls = vec![revoking];
    });
    assert_eq!(
        revoked(client.check_revocation(&f.chain, now()).await),
        Some((0, StatusSource::Crl))
    );
    let clean = pki_support::crl(&f.ca, &[], now() - HOUR, now() + HOUR);
    let client = f.client(|c| {
        c.revocation.mode = RevocationMode::Require;
        c.revocation.online = false;
        c.revocation.crls = vec![clean];
    });
    client
        .check_revocation(&f.chain, now())
        .await
        .expect("good");
    // A stale file is no status, and offline nothing else is tried.
    let stale = pki_support::crl(&f.ca, &[], now() - 3 * HOUR, now() - HOUR);
    let client = f.client(|c| {
        c.revocation.mode = RevocationMode::Require;
        c.revocation.online = false;
        c.revocation.crls = vec![stale];
    });
    match client.check_revocation(&f.chain, now()).await {
        Err(ClientError::Revocation(RevocationError::NoStatus { detail, .. })) => {
            assert!(detail.contains("out of date"), "{detail}");
        }
        other => panic!("expected no status, got {other:?}"),
    }
    assert_eq!(f.server.hits(), 0, "offline: no network access");
}

#[tokio::test]
async fn dangerous_self_signed_keys_are_refused_outside_test_environments() {
    let mut prod = ClientConfig::preset("prod").expect("preset");
    prod.trust = TrustPolicy::dangerous_self_signed();
    assert!(matches!(
        Client::new(prod, Credentials::new("a", "b")),
        Err(ClientError::Setup(_))
    ));
    let mut test = ClientConfig::preset("test").expect("preset");
    test.trust = TrustPolicy::dangerous_self_signed();
    assert!(Client::new(test, Credentials::new("a", "b")).is_ok());
}
