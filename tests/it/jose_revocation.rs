//! Pure revocation checks (issue 19): CRL and OCSP evidence judged for one link of a validated
//! chain — signatures by the issuer or a delegated responder, validity windows, scope, CertID
//! matching, and the statuses good, revoked and unknown.

use poststelle::fitconnect::keys::validate_public_key;
use poststelle::jose::jwk::KeyUse;
use poststelle::jose::x509::{
    ChainLink, RevocationStatus, StatusError, StatusSource, TrustPolicy, crl, ocsp,
};
use rcgen::{CrlIssuingDistributionPoint, CrlScope, ExtendedKeyUsagePurpose, KeyUsagePurpose};
use x509_ocsp::CertStatus;

use crate::jose_keys::{self, encryption};
use crate::pki_support::{
    self, Ca, Responder, crl_dp, enc_leaf_params, jwk_with, leaf_with, ocsp_response,
    ocsp_response_for, openssl, params, root, rsa_key,
};

const HOUR: i64 = 3600;

fn now() -> i64 {
    jose_keys::now()
}

/// A root, a leaf over the encryption test key with a CRL distribution point, and the leaf's
/// link as path validation returns it.
struct Setup {
    ca: Ca,
    leaf: Vec<u8>,
    link: ChainLink,
}

fn setup() -> Setup {
    setup_with(root("Revocation test root"))
}

fn setup_with(ca: Ca) -> Setup {
    let mut p = enc_leaf_params();
    p.crl_distribution_points = vec![crl_dp("http://crl.invalid/root.crl")];
    let leaf_b64 = leaf_with(&p, encryption(), &ca);
    let policy = TrustPolicy::with_anchors(vec![ca.der().to_vec()]);
    let key = validate_public_key(
        &jwk_with(encryption(), vec![leaf_b64.clone()]),
        KeyUse::Encryption,
        &policy,
        now(),
    )
    .expect("valid chain");
    assert_eq!(key.chain.links.len(), 1);
    let link = key.chain.links[0].clone();
    assert_eq!(link.issuer, ca.der().to_vec());
    assert_eq!(link.crl_urls, ["http://crl.invalid/root.crl"]);
    let leaf = pki_support::b64_decode(&leaf_b64);
    Setup { ca, leaf, link }
}

#[test]
fn crl_listing_the_serial_revokes_and_one_without_it_is_good() {
    let s = setup();
    let revoked = pki_support::crl(&s.ca, &[&s.leaf], now() - HOUR, now() + HOUR);
    let info = crl::status(&revoked, &s.link, now()).expect("usable CRL");
    assert!(matches!(
        info.status,
        RevocationStatus::Revoked {
            reason: Some(1),
            ..
        }
    ));
    assert_eq!(info.source, StatusSource::Crl);
    assert_eq!(info.valid_until, now() + HOUR);
    let other = root("Other").der().to_vec();
    let good = pki_support::crl(&s.ca, &[&other], now() - HOUR, now() + HOUR);
    assert_eq!(
        crl::status(&good, &s.link, now()).expect("usable").status,
        RevocationStatus::Good
    );
    // PEM works too.
    let pem = crate::forward_support::pem("X509 CRL", &revoked);
    assert_eq!(
        crl::der_from_pem_or_der(pem.as_bytes()).as_deref(),
        Some(&revoked[..])
    );
}

#[test]
fn crl_outside_its_window_gives_no_status() {
    let s = setup();
    let stale = pki_support::crl(&s.ca, &[], now() - 2 * HOUR, now() - HOUR);
    assert_eq!(crl::status(&stale, &s.link, now()), Err(StatusError::Stale));
    let future = pki_support::crl(&s.ca, &[], now() + HOUR, now() + 2 * HOUR);
    assert_eq!(
        crl::status(&future, &s.link, now()),
        Err(StatusError::NotYetValid)
    );
}

#[test]
fn crl_of_another_ca_or_tampered_gives_no_status() {
    let s = setup();
    // Another CA under the same name: the signature does not verify with the real issuer.
    let impostor = root("Revocation test root");
    let forged = pki_support::crl(&impostor, &[], now() - HOUR, now() + HOUR);
    assert_eq!(
        crl::status(&forged, &s.link, now()),
        Err(StatusError::BadSignature)
    );
    let other = pki_support::crl(&root("Other"), &[], now() - HOUR, now() + HOUR);
    assert_eq!(
        crl::status(&other, &s.link, now()),
        Err(StatusError::WrongIssuer)
    );
    assert!(!crl::issued_for(&other, &s.link));
    let mut tampered = pki_support::crl(&s.ca, &[&s.leaf], now() - HOUR, now() + HOUR);
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        crl::status(&tampered, &s.link, now()),
        Err(StatusError::BadSignature)
    );
    assert_eq!(
        crl::status(b"\x30\x03garbage", &s.link, now()),
        Err(StatusError::Malformed { what: "CRL" })
    );
}

#[test]
fn crl_scope_must_cover_the_certificate() {
    let s = setup();
    let idp = |scope, uri: &str| {
        Some(CrlIssuingDistributionPoint {
            distribution_point: crl_dp(uri),
            scope,
        })
    };
    let uri = "http://crl.invalid/root.crl";
    let ca_only = pki_support::crl_with(
        &s.ca,
        &[],
        now() - HOUR,
        now() + HOUR,
        idp(Some(CrlScope::CaCertsOnly), uri),
    );
    assert_eq!(
        crl::status(&ca_only, &s.link, now()),
        Err(StatusError::OutOfScope)
    );
    let elsewhere = pki_support::crl_with(
        &s.ca,
        &[],
        now() - HOUR,
        now() + HOUR,
        idp(None, "http://crl.invalid/other.crl"),
    );
    assert_eq!(
        crl::status(&elsewhere, &s.link, now()),
        Err(StatusError::OutOfScope)
    );
    let users = pki_support::crl_with(
        &s.ca,
        &[&s.leaf],
        now() - HOUR,
        now() + HOUR,
        idp(Some(CrlScope::UserCertsOnly), uri),
    );
    assert!(matches!(
        crl::status(&users, &s.link, now()).map(|i| i.status),
        Ok(RevocationStatus::Revoked { .. })
    ));
}

fn issuer_responder(ca: &Ca) -> Responder<'_> {
    Responder {
        key: ca.key(),
        cert: ca.der(),
        include: false,
    }
}

#[test]
fn ocsp_good_revoked_and_unknown_signed_by_the_issuer() {
    let s = setup();
    let r = issuer_responder(&s.ca);
    let good = ocsp_response(
        &s.link,
        &r,
        CertStatus::good(),
        now() - 60,
        Some(now() + HOUR),
    );
    let info = ocsp::status(&good, &s.link, now()).expect("usable");
    assert_eq!(info.status, RevocationStatus::Good);
    assert_eq!(info.source, StatusSource::Ocsp);
    assert_eq!(info.valid_until, now() + HOUR);
    let revoked = ocsp_response(
        &s.link,
        &r,
        pki_support::revoked_status(
            now() - HOUR,
            Some(x509_cert::ext::pkix::crl::CrlReason::KeyCompromise),
        ),
        now() - 60,
        Some(now() + HOUR),
    );
    assert_eq!(
        ocsp::status(&revoked, &s.link, now())
            .expect("usable")
            .status,
        RevocationStatus::Revoked {
            revoked_at: now() - HOUR,
            reason: Some(1)
        }
    );
    let unknown = ocsp_response(&s.link, &r, CertStatus::unknown(), now() - 60, None);
    let info = ocsp::status(&unknown, &s.link, now()).expect("usable");
    assert_eq!(info.status, RevocationStatus::Unknown);
    // Without nextUpdate the answer is current for a bounded time only.
    assert_eq!(
        info.valid_until,
        now() - 60 + poststelle::jose::x509::MAX_AGE_WITHOUT_NEXT_UPDATE_SECS
    );
}

#[test]
fn ocsp_outside_its_window_gives_no_status() {
    let s = setup();
    let r = issuer_responder(&s.ca);
    let stale = ocsp_response(
        &s.link,
        &r,
        CertStatus::good(),
        now() - 2 * HOUR,
        Some(now() - HOUR),
    );
    assert_eq!(
        ocsp::status(&stale, &s.link, now()),
        Err(StatusError::Stale)
    );
    let old = ocsp_response(&s.link, &r, CertStatus::good(), now() - 2 * HOUR, None);
    assert_eq!(ocsp::status(&old, &s.link, now()), Err(StatusError::Stale));
    let future = ocsp_response(
        &s.link,
        &r,
        CertStatus::good(),
        now() + HOUR,
        Some(now() + 2 * HOUR),
    );
    assert_eq!(
        ocsp::status(&future, &s.link, now()),
        Err(StatusError::NotYetValid)
    );
}

/// A responder certificate issued by `ca` with extended key usage `eku`, and its key.
fn responder_cert(ca: &Ca, eku: ExtendedKeyUsagePurpose) -> (Vec<u8>, rcgen::KeyPair) {
    let key = rsa_key(aws_lc_rs::rsa::KeySize::Rsa2048);
    let mut p = params(
        "OCSP responder",
        vec![KeyUsagePurpose::DigitalSignature],
        false,
        30,
    );
    p.extended_key_usages = vec![eku];
    let cert = p.signed_by(&key, ca).expect("responder");
    (cert.der().to_vec(), key)
}

/// A current `good` answer about `link` from `responder`.
fn current_good(link: &ChainLink, responder: &Responder<'_>) -> Vec<u8> {
    ocsp_response(
        link,
        responder,
        CertStatus::good(),
        now() - 60,
        Some(now() + HOUR),
    )
}

#[test]
fn ocsp_delegated_responder_needs_the_ocsp_signing_purpose_and_the_issuers_signature() {
    let s = setup();
    let other = root("Other CA");
    // (issuer of the responder certificate, its extended key usage, included in the answer)
    let verdict = |ca: &Ca, eku: ExtendedKeyUsagePurpose, include: bool| {
        let (cert, key) = responder_cert(ca, eku);
        let responder = Responder {
            key: &key,
            cert: &cert,
            include,
        };
        ocsp::status(&current_good(&s.link, &responder), &s.link, now()).map(|i| i.status)
    };
    assert_eq!(
        verdict(&s.ca, ExtendedKeyUsagePurpose::OcspSigning, true),
        Ok(RevocationStatus::Good)
    );
    // Without id-kp-OCSPSigning the issuer did not delegate.
    assert_eq!(
        verdict(&s.ca, ExtendedKeyUsagePurpose::ServerAuth, true),
        Err(StatusError::ResponderNotAuthorized)
    );
    // A responder of another CA, even with the purpose, is not this issuer's.
    assert_eq!(
        verdict(&other, ExtendedKeyUsagePurpose::OcspSigning, true),
        Err(StatusError::ResponderNotAuthorized)
    );
    // A responder certificate that is named but not included cannot be checked.
    assert_eq!(
        verdict(&s.ca, ExtendedKeyUsagePurpose::OcspSigning, false),
        Err(StatusError::ResponderNotAuthorized)
    );
}

#[test]
fn ocsp_response_about_another_certificate_or_tampered_gives_no_status() {
    let s = setup();
    let r = issuer_responder(&s.ca);
    let other = setup_with(root("Second root"));
    let theirs = ocsp_response(
        &other.link,
        &issuer_responder(&other.ca),
        CertStatus::good(),
        now() - 60,
        Some(now() + HOUR),
    );
    // Signed by another issuer and about another certificate.
    assert!(ocsp::status(&theirs, &s.link, now()).is_err());
    // Signed by our issuer, but about a certificate of another issuer.
    let request = <x509_ocsp::OcspRequest as der::Decode>::from_der(
        &ocsp::request(&other.link).expect("request"),
    )
    .expect("decode");
    let foreign_id = request.tbs_request.request_list[0].req_cert.clone();
    let wrong = ocsp_response_for(
        foreign_id,
        &r,
        CertStatus::good(),
        now() - 60,
        Some(now() + HOUR),
        None,
    );
    assert_eq!(
        ocsp::status(&wrong, &s.link, now()),
        Err(StatusError::NoMatchingResponse)
    );
    let mut tampered = ocsp_response(
        &s.link,
        &r,
        CertStatus::good(),
        now() - 60,
        Some(now() + HOUR),
    );
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(
        ocsp::status(&tampered, &s.link, now()),
        Err(StatusError::BadSignature)
    );
    // A weak algorithm is refused by name, before any cryptography.
    let request = <x509_ocsp::OcspRequest as der::Decode>::from_der(
        &ocsp::request(&s.link).expect("request"),
    )
    .expect("decode");
    let id = request.tbs_request.request_list[0].req_cert.clone();
    let sha1_rsa = [
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
    ];
    let sha1 = ocsp_response_for(
        id,
        &r,
        CertStatus::good(),
        now() - 60,
        Some(now() + HOUR),
        Some(&sha1_rsa),
    );
    assert_eq!(
        ocsp::status(&sha1, &s.link, now()),
        Err(StatusError::SignatureAlgorithm {
            algorithm: "sha1WithRSAEncryption".into()
        })
    );
    // Error statuses and garbage.
    use der::Encode as _;
    let try_later = x509_ocsp::OcspResponse::try_later()
        .to_der()
        .expect("encode");
    assert_eq!(
        ocsp::status(&try_later, &s.link, now()),
        Err(StatusError::ResponseStatus { status: 3 })
    );
    assert_eq!(
        ocsp::status(b"\x30\x00", &s.link, now()),
        Err(StatusError::Malformed {
            what: "OCSP response"
        })
    );
}

/// The request is what openssl sends, and openssl's responder answers are understood: an
/// independent implementation on both sides.
#[test]
fn ocsp_request_and_response_interoperate_with_openssl() {
    let s = setup();
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let write = |name: &str, text: &str| std::fs::write(d.join(name), text).expect("write");
    write("ca.pem", &pki_support::ca_pem(&s.ca));
    write(
        "ca.key",
        &crate::forward_support::pem("PRIVATE KEY", &s.ca.key().serialize_der()),
    );
    write(
        "leaf.pem",
        &crate::forward_support::pem("CERTIFICATE", &s.leaf),
    );
    let Some(()) = openssl(
        d,
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            "leaf.pem",
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
    ) else {
        return;
    };
    let theirs = std::fs::read(d.join("req.der")).expect("request");
    assert_eq!(ocsp::request(&s.link).expect("request"), theirs);
    // openssl as the responder, from an index that lists the leaf as revoked.
    let serial = {
        use x509_parser::prelude::FromDer as _;
        let (_, c) = x509_parser::certificate::X509Certificate::from_der(&s.leaf).expect("leaf");
        let magnitude: Vec<u8> = c
            .raw_serial()
            .iter()
            .copied()
            .skip_while(|&b| b == 0)
            .collect();
        magnitude
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<String>()
    };
    write(
        "index.txt",
        &format!(
            "R\t301231235959Z\t240101000000Z,keyCompromise\t{serial}\tunknown\t/CN=destination key\n"
        ),
    );
    std::fs::write(d.join("ours.der"), ocsp::request(&s.link).expect("request")).expect("write");
    openssl(
        d,
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
            "-reqin",
            "ours.der",
            "-respout",
            "resp.der",
            "-ndays",
            "1",
        ],
    )
    .expect("openssl ran before");
    let response = std::fs::read(d.join("resp.der")).expect("response");
    // openssl stamps the wall clock; the fixed test clock may be minutes behind by now.
    let wall = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| i64::try_from(t.as_secs()).expect("fits"))
        .expect("clock");
    let info = ocsp::status(&response, &s.link, wall).expect("usable");
    assert!(matches!(
        info.status,
        RevocationStatus::Revoked {
            reason: Some(1),
            ..
        }
    ));
}

/// Hostile evidence: every truncation and every single-bit flip of a valid CRL and OCSP
/// response is an error or (where the bit is outside what is signed and judged) the very same
/// verdict — never a panic, never another status.
#[test]
fn truncated_or_flipped_crl_and_ocsp_bytes_never_change_the_verdict() {
    let s = setup();
    let crl_der = pki_support::crl(&s.ca, &[&s.leaf], now() - HOUR, now() + HOUR);
    let ocsp_der = current_good(&s.link, &issuer_responder(&s.ca));
    type Judge =
        fn(&[u8], &ChainLink, i64) -> Result<poststelle::jose::x509::StatusInfo, StatusError>;
    for (name, bytes, judge) in [
        ("CRL", &crl_der, crl::status as Judge),
        ("OCSP", &ocsp_der, ocsp::status as Judge),
    ] {
        let original = judge(bytes, &s.link, now()).expect("valid evidence");
        for len in 0..bytes.len() {
            assert!(
                judge(&bytes[..len], &s.link, now()).is_err(),
                "{name} truncated to {len} bytes was accepted"
            );
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x01;
            if let Ok(info) = judge(&flipped, &s.link, now()) {
                assert_eq!(
                    info, original,
                    "{name}: flipping byte {i} changed the verdict"
                );
            }
        }
    }
}
