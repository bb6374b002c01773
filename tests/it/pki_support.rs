//! Test PKIs for the trust tests: CA chains made with rcgen (pathLen, extensions, CRL
//! distribution points, OCSP responders), certificates rcgen cannot sign (SHA-1, 1024-bit
//! issuers, RSASSA-PSS) made by the `openssl` command at run time, CRLs, OCSP responses signed
//! here, and a loopback HTTP server for CRL and OCSP fetching.

use std::convert::Infallible;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode as _, Encode as _};
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use poststelle::fitconnect::keys::TestKeyPair;
use poststelle::jose::Jwk;
use poststelle::jose::x509::{ChainLink, ocsp};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer,
    CrlDistributionPoint, CustomExtension, DistinguishedName, DnType, IsCa, KeyIdMethod,
    KeyUsagePurpose, RevokedCertParams, SerialNumber, SigningKey as _,
};
use tokio::net::TcpListener;
use x509_ocsp::{
    BasicOcspResponse, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse, ResponderId,
    ResponseData, SingleResponse,
};

use crate::jose_keys;

/// A CA: its certificate and key.
pub(crate) type Ca = CertifiedIssuer<'static, rcgen::KeyPair>;

/// A fresh RSA key for rcgen (signs with SHA-256).
pub(crate) fn rsa_key(bits: aws_lc_rs::rsa::KeySize) -> rcgen::KeyPair {
    use aws_lc_rs::encoding::AsDer as _;
    let pair = aws_lc_rs::rsa::KeyPair::generate(bits).expect("keygen");
    let der = pair.as_der().expect("pkcs8");
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(der.as_ref().to_vec());
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA256).expect("rcgen key")
}

/// The rcgen key of a generated FIT-Connect test key pair.
pub(crate) fn key_of(pair: &TestKeyPair) -> rcgen::KeyPair {
    let body: String = pair
        .pkcs8_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = rustls_pki_types::PrivatePkcs8KeyDer::from(STANDARD.decode(body).expect("pem"));
    rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_RSA_SHA512).expect("rcgen key")
}

/// Certificate parameters valid from two days ago for `days_valid` days.
pub(crate) fn params(
    cn: &str,
    usages: Vec<KeyUsagePurpose>,
    ca: bool,
    days_valid: i64,
) -> CertificateParams {
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.key_usages = usages;
    p.is_ca = if ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    let now = time::OffsetDateTime::from_unix_timestamp(jose_keys::now()).expect("time");
    p.not_before = now - time::Duration::days(2);
    p.not_after = now + time::Duration::days(days_valid);
    p
}

/// CA parameters (keyCertSign, cRLSign) with an optional pathLen.
pub(crate) fn ca_params(cn: &str, path_len: Option<u8>) -> CertificateParams {
    let mut p = params(
        cn,
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign],
        true,
        3650,
    );
    if let Some(n) = path_len {
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(n));
    }
    p
}

/// A self-signed root CA with an RSA-2048 key.
pub(crate) fn root(cn: &str) -> Ca {
    root_with(ca_params(cn, None))
}

/// A self-signed root CA from `params`.
pub(crate) fn root_with(params: CertificateParams) -> Ca {
    CertifiedIssuer::self_signed(params, rsa_key(aws_lc_rs::rsa::KeySize::Rsa2048)).expect("root")
}

/// An intermediate CA under `issuer`.
pub(crate) fn intermediate(params: CertificateParams, issuer: &Ca) -> Ca {
    CertifiedIssuer::signed_by(params, rsa_key(aws_lc_rs::rsa::KeySize::Rsa2048), issuer)
        .expect("intermediate")
}

/// End-entity parameters for a FIT-Connect encryption key (keyEncipherment).
pub(crate) fn enc_leaf_params() -> CertificateParams {
    params(
        "destination key",
        vec![KeyUsagePurpose::KeyEncipherment],
        false,
        365,
    )
}

/// A leaf for `pair` under `issuer` from `params`, base64 DER.
pub(crate) fn leaf_with(params: &CertificateParams, pair: &TestKeyPair, issuer: &Ca) -> String {
    b64(params.signed_by(&key_of(pair), issuer).expect("leaf").der())
}

/// Standard base64 (the `x5c` encoding).
pub(crate) fn b64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

/// PEM of a CA certificate (rcgen is built without its PEM feature).
pub(crate) fn ca_pem(ca: &Ca) -> String {
    crate::forward_support::pem("CERTIFICATE", ca.der())
}

/// Decodes standard base64.
pub(crate) fn b64_decode(text: &str) -> Vec<u8> {
    STANDARD.decode(text).expect("base64")
}

/// `pair`'s public JWK with `x5c` replaced.
pub(crate) fn jwk_with(pair: &TestKeyPair, x5c: Vec<String>) -> Jwk {
    let mut value: serde_json::Value =
        serde_json::from_str(&pair.public_jwk.to_json()).expect("JSON");
    value["x5c"] = serde_json::json!(x5c);
    Jwk::from_json(&value.to_string()).expect("JWK")
}

/// `pair`'s private JWK with `x5c` replaced (for a sandbox destination key file).
pub(crate) fn private_jwk_with(pair: &TestKeyPair, x5c: Vec<String>) -> Jwk {
    let mut value: serde_json::Value =
        serde_json::from_str(&pair.private_jwk.to_json()).expect("JSON");
    value["x5c"] = serde_json::json!(x5c);
    Jwk::from_json(&value.to_string()).expect("JWK")
}

/// An authorityInfoAccess extension naming one OCSP responder.
pub(crate) fn aia_ocsp(url: &str) -> CustomExtension {
    // AccessDescription ::= SEQUENCE { id-ad-ocsp, [6] IA5String }
    let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01];
    let mut uri = vec![0x86, u8::try_from(url.len()).expect("short URL")];
    uri.extend_from_slice(url.as_bytes());
    let desc = tlv(0x30, &[&oid[..], &uri].concat());
    CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 1], tlv(0x30, &desc))
}

/// A CRL distribution point.
pub(crate) fn crl_dp(url: &str) -> CrlDistributionPoint {
    CrlDistributionPoint {
        uris: vec![url.to_owned()],
    }
}

fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = value.len();
    if len < 0x80 {
        out.push(u8::try_from(len).expect("short"));
    } else {
        out.push(0x82);
        out.extend_from_slice(&u16::try_from(len).expect("fits").to_be_bytes());
    }
    out.extend_from_slice(value);
    out
}

/// The serial number of a DER certificate (for CRL entries).
pub(crate) fn serial_of(der: &[u8]) -> SerialNumber {
    use x509_parser::prelude::FromDer as _;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).expect("cert");
    SerialNumber::from_slice(cert.raw_serial())
}

fn offset(unix: i64) -> time::OffsetDateTime {
    time::OffsetDateTime::from_unix_timestamp(unix).expect("time")
}

/// A CRL of `issuer` valid in `[this_update, next_update)` listing `revoked` (DER
/// certificates).
pub(crate) fn crl(issuer: &Ca, revoked: &[&[u8]], this_update: i64, next_update: i64) -> Vec<u8> {
    crl_with(issuer, revoked, this_update, next_update, None)
}

/// As [`crl`], with an issuing distribution point.
pub(crate) fn crl_with(
    issuer: &Ca,
    revoked: &[&[u8]],
    this_update: i64,
    next_update: i64,
    idp: Option<rcgen::CrlIssuingDistributionPoint>,
) -> Vec<u8> {
    CertificateRevocationListParams {
        this_update: offset(this_update),
        next_update: offset(next_update),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: idp,
        revoked_certs: revoked
            .iter()
            .map(|der| RevokedCertParams {
                serial_number: serial_of(der),
                revocation_time: offset(this_update - 60),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(issuer)
    .expect("crl")
    .der()
    .to_vec()
}

/// Who signs an OCSP response and how it names itself.
pub(crate) struct Responder<'a> {
    /// The signing key.
    pub(crate) key: &'a rcgen::KeyPair,
    /// Its certificate (DER): named by key hash; included in the response when `include`.
    pub(crate) cert: &'a [u8],
    /// Include `cert` in the response (delegated responders).
    pub(crate) include: bool,
}

fn gt(unix: i64) -> OcspGeneralizedTime {
    OcspGeneralizedTime(
        der::asn1::GeneralizedTime::from_unix_duration(Duration::from_secs(
            u64::try_from(unix).expect("after 1970"),
        ))
        .expect("time"),
    )
}

/// The OCSP status `revoked` at `unix` with an optional reason.
pub(crate) fn revoked_status(
    unix: i64,
    reason: Option<x509_cert::ext::pkix::crl::CrlReason>,
) -> CertStatus {
    CertStatus::revoked(x509_ocsp::RevokedInfo {
        revocation_time: gt(unix),
        revocation_reason: reason,
    })
}

/// The algorithm identifier (DER) of what an rcgen key signs with.
fn signature_algorithm(key: &rcgen::KeyPair) -> Vec<u8> {
    if key.algorithm() == &rcgen::PKCS_RSA_SHA256 {
        // sha256WithRSAEncryption, NULL
        vec![
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05,
            0x00,
        ]
    } else if key.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256 {
        // ecdsa-with-SHA256
        vec![
            0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
        ]
    } else {
        panic!("test OCSP signer uses an unexpected algorithm")
    }
}

/// A signed, successful OCSP response about `link`'s certificate.
pub(crate) fn ocsp_response(
    link: &ChainLink,
    responder: &Responder<'_>,
    status: CertStatus,
    this_update: i64,
    next_update: Option<i64>,
) -> Vec<u8> {
    let request = OcspRequest::from_der(&ocsp::request(link).expect("request")).expect("decode");
    let cert_id = request.tbs_request.request_list[0].req_cert.clone();
    ocsp_response_for(cert_id, responder, status, this_update, next_update, None)
}

/// A signed OCSP response about `cert_id`; `algorithm` overrides the signature algorithm
/// named in the response (the signature itself stays the key's).
pub(crate) fn ocsp_response_for(
    cert_id: x509_ocsp::CertId,
    responder: &Responder<'_>,
    status: CertStatus,
    this_update: i64,
    next_update: Option<i64>,
    algorithm: Option<&[u8]>,
) -> Vec<u8> {
    use x509_parser::prelude::FromDer as _;
    let (_, cert) =
        x509_parser::certificate::X509Certificate::from_der(responder.cert).expect("responder");
    let key_hash = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
        &cert.public_key().subject_public_key.data,
    );
    let data = ResponseData {
        version: x509_ocsp::Version::V1,
        responder_id: ResponderId::ByKey(
            der::asn1::OctetString::new(key_hash.as_ref()).expect("hash"),
        ),
        produced_at: gt(this_update),
        responses: vec![SingleResponse {
            cert_id,
            cert_status: status,
            this_update: gt(this_update),
            next_update: next_update.map(gt),
            single_extensions: None,
        }],
        response_extensions: None,
    };
    let signature = responder
        .key
        .sign(&data.to_der().expect("encode"))
        .expect("sign");
    let alg_der = algorithm.map_or_else(|| signature_algorithm(responder.key), <[u8]>::to_vec);
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: der::Decode::from_der(&alg_der).expect("algorithm"),
        signature: der::asn1::BitString::from_bytes(&signature).expect("bits"),
        certs: responder
            .include
            .then(|| vec![x509_cert::Certificate::from_der(responder.cert).expect("cert")]),
    };
    OcspResponse::successful(basic)
        .expect("response")
        .to_der()
        .expect("encode")
}

/// What the loopback PKI server answers.
type Handler = dyn Fn(&str, &[u8]) -> (u16, Vec<u8>) + Send + Sync;

/// A loopback HTTP server for CRL (GET) and OCSP (POST) requests, counting them; stops when
/// dropped.
pub(crate) struct PkiServer {
    pub(crate) base: String,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for PkiServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl PkiServer {
    /// Starts on 127.0.0.1 with `handler(path, body) -> (status, body)`.
    pub(crate) async fn start(
        handler: impl Fn(&str, &[u8]) -> (u16, Vec<u8>) + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let counted = Arc::clone(&hits);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (handler, counted) = (Arc::clone(&handler), Arc::clone(&counted));
                let service = service_fn(move |req: Request<Incoming>| {
                    let (handler, counted) = (Arc::clone(&handler), Arc::clone(&counted));
                    async move {
                        counted.fetch_add(1, Ordering::SeqCst);
                        let path = req.uri().path().to_owned();
                        let body = req
                            .into_body()
                            .collect()
                            .await
                            .map(|c| c.to_bytes().to_vec())
                            .unwrap_or_default();
                        if path == "/silent" {
                            // Never answers within any test's timeout.
                            tokio::time::sleep(Duration::from_secs(60)).await;
                        }
                        let (status, body) = handler(&path, &body);
                        let mut resp = Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
                        Ok::<_, Infallible>(resp)
                    }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { base, hits, task }
    }

    /// `base` + `path`.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Requests answered so far.
    pub(crate) fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Runs `openssl` with `args` in `dir`; `None` (with a printed reason) when the command is not
/// installed, so tests that need it skip.
pub(crate) fn openssl(dir: &Path, args: &[&str]) -> Option<()> {
    match Command::new("openssl").args(args).current_dir(dir).output() {
        Ok(out) if out.status.success() => Some(()),
        Ok(out) => panic!(
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => {
            eprintln!("skipped: the openssl command is not available ({e})");
            None
        }
    }
}
