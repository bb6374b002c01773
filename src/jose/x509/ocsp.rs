//! Certificate status by OCSP (RFC 6960), for one [`ChainLink`]: the request to send and the
//! judgement of the response. The ASN.1 types come from RustCrypto's `x509-ocsp`; the
//! signatures are checked by this crate's algorithm allowlist.
//!
//! A response gives a status only if: it is `successful` and of the basic type; it is signed,
//! under the allowlist, either by the certificate's issuer or by a delegated responder whose
//! certificate is included, issued directly by that issuer (signature verified), valid now,
//! carries extended key usage id-kp-OCSPSigning and no unknown critical extension; the
//! responder id names the signer; an entry's CertID matches the certificate (issuer name and
//! key hashes with SHA-1 or SHA-2, serial number); `thisUpdate` is not in the future and
//! `nextUpdate` (or, without it, the bounded age) has not passed; no unknown critical
//! extension on the response or the entry.
//!
//! Requests carry a SHA-1 CertID and no nonce: SHA-1 is what every responder understands (RFC
//! 5019 profile) and in a CertID it only names the certificate — the answer is trusted by its
//! signature, not by the hash. Freshness is the response's validity window, since lightweight
//! responders send pre-produced answers and ignore nonces.

use aws_lc_rs::digest;
use der::asn1::ObjectIdentifier;
use der::{Decode as _, Encode as _};
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus, Request,
    ResponderId, SingleResponse, TbsRequest,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer as _;

use super::algorithm::{self, parse_algorithm};
use super::extensions;
use super::status::{MAX_AGE_WITHOUT_NEXT_UPDATE_SECS, serial_magnitude, window};
use super::{ChainLink, RevocationStatus, StatusError, StatusInfo, StatusSource};

const ID_PKIX_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// Response and entry extensions understood: nonce, CRL references, archive cutoff.
const UNDERSTOOD: &[&str] = &[
    "1.3.6.1.5.5.7.48.1.2",
    "1.3.6.1.5.5.7.48.1.3",
    "1.3.6.1.5.5.7.48.1.6",
];
/// `AlgorithmIdentifier` of SHA-1 with NULL parameters, as responders expect it.
const SHA1_ALGORITHM: &[u8] = &[
    0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
];

fn malformed(what: &'static str) -> StatusError {
    StatusError::Malformed { what }
}

/// The certificate and its issuer of a link, parsed.
fn parse(link: &ChainLink) -> Result<(X509Certificate<'_>, X509Certificate<'_>), StatusError> {
    match (
        X509Certificate::from_der(&link.certificate),
        X509Certificate::from_der(&link.issuer),
    ) {
        (Ok(([], cert)), Ok(([], issuer))) => Ok((cert, issuer)),
        _ => Err(malformed("certificate")),
    }
}

/// The DER `OCSPRequest` for `link`'s certificate (one SHA-1 CertID, unsigned, no nonce), to
/// be POSTed as `application/ocsp-request`.
///
/// # Errors
/// [`StatusError::Malformed`] if the link's certificates do not parse or the serial number is
/// not a valid one.
pub fn request(link: &ChainLink) -> Result<Vec<u8>, StatusError> {
    let (cert, issuer) = parse(link)?;
    let sha1 = |data: &[u8]| digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let encode = |_| malformed("OCSP request");
    let cert_id = CertId {
        hash_algorithm: der::Decode::from_der(SHA1_ALGORITHM).map_err(encode)?,
        issuer_name_hash: der::asn1::OctetString::new(sha1(cert.issuer().as_raw()).as_ref())
            .map_err(encode)?,
        issuer_key_hash: der::asn1::OctetString::new(
            sha1(&issuer.public_key().subject_public_key.data).as_ref(),
        )
        .map_err(encode)?,
        serial_number: x509_cert::serial_number::SerialNumber::new(serial_magnitude(
            cert.raw_serial(),
        ))
        .map_err(encode)?,
    };
    OcspRequest {
        tbs_request: TbsRequest {
            version: x509_ocsp::Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
    .to_der()
    .map_err(encode)
}

fn key_hash(cert: &X509Certificate<'_>) -> digest::Digest {
    digest::digest(
        &digest::SHA1_FOR_LEGACY_USE_ONLY,
        &cert.public_key().subject_public_key.data,
    )
}

/// Whether the responder id names `candidate`.
fn names(id: &ResponderId, candidate: &X509Certificate<'_>) -> bool {
    match id {
        ResponderId::ByName(name) => name
            .to_der()
            .is_ok_and(|der| der == candidate.subject().as_raw()),
        ResponderId::ByKey(hash) => hash.as_bytes() == key_hash(candidate).as_ref(),
    }
}

/// A delegated responder certificate (RFC 6960 §4.2.2.2): issued by `issuer`, valid now,
/// for OCSP signing.
fn delegated(
    responder: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    now: i64,
) -> Result<(), StatusError> {
    if responder.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(StatusError::ResponderNotAuthorized);
    }
    if responder.tbs_certificate.signature != responder.signature_algorithm {
        return Err(StatusError::ResponderNotAuthorized);
    }
    algorithm::verify(
        &responder.signature_algorithm,
        issuer.public_key(),
        &responder.signature_value.data,
        responder.tbs_certificate.as_ref(),
    )
    .map_err(|_| StatusError::ResponderNotAuthorized)?;
    let valid = x509_parser::time::ASN1Time::from_timestamp(now)
        .is_ok_and(|t| responder.validity().is_valid_at(t));
    let ocsp_signing = responder
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| eku.value.ocsp_signing);
    let signs = responder
        .key_usage()
        .ok()
        .flatten()
        .is_none_or(|ku| ku.value.digital_signature());
    if !valid || !ocsp_signing || !signs || extensions::check(responder, 0).is_err() {
        return Err(StatusError::ResponderNotAuthorized);
    }
    Ok(())
}

fn check_extensions(exts: Option<&x509_cert::ext::Extensions>) -> Result<(), StatusError> {
    for ext in exts.into_iter().flatten() {
        let oid = ext.extn_id.to_string();
        if ext.critical && !UNDERSTOOD.contains(&oid.as_str()) {
            return Err(StatusError::CriticalExtension { oid });
        }
    }
    Ok(())
}

/// Whether `id` names `cert` issued by `issuer`.
fn matches(id: &CertId, cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    let alg = match id.hash_algorithm.oid.to_string().as_str() {
        "1.3.14.3.2.26" => &digest::SHA1_FOR_LEGACY_USE_ONLY,
        "2.16.840.1.101.3.4.2.1" => &digest::SHA256,
        "2.16.840.1.101.3.4.2.2" => &digest::SHA384,
        "2.16.840.1.101.3.4.2.3" => &digest::SHA512,
        _ => return false,
    };
    let name = digest::digest(alg, cert.issuer().as_raw());
    let key = digest::digest(alg, &issuer.public_key().subject_public_key.data);
    id.issuer_name_hash.as_bytes() == name.as_ref()
        && id.issuer_key_hash.as_bytes() == key.as_ref()
        && serial_magnitude(id.serial_number.as_bytes()) == serial_magnitude(cert.raw_serial())
}

fn unix(t: &x509_ocsp::OcspGeneralizedTime) -> i64 {
    i64::try_from(t.0.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn entry_status(single: &SingleResponse) -> RevocationStatus {
    match &single.cert_status {
        CertStatus::Good(_) => RevocationStatus::Good,
        CertStatus::Revoked(info) => RevocationStatus::Revoked {
            revoked_at: unix(&info.revocation_time),
            reason: info
                .revocation_reason
                .and_then(|r| u8::try_from(r as u32).ok()),
        },
        CertStatus::Unknown(_) => RevocationStatus::Unknown,
    }
}

/// The status of `link`'s certificate according to the DER OCSP `response` at `now`.
///
/// # Errors
/// [`StatusError`] when the response gives no usable status for this certificate.
pub fn status(response: &[u8], link: &ChainLink, now: i64) -> Result<StatusInfo, StatusError> {
    let (cert, issuer) = parse(link)?;
    let response = OcspResponse::from_der(response).map_err(|_| malformed("OCSP response"))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(StatusError::ResponseStatus {
            status: u8::try_from(response.response_status as u32).unwrap_or(u8::MAX),
        });
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| malformed("OCSP response"))?;
    if bytes.response_type != ID_PKIX_OCSP_BASIC {
        return Err(StatusError::ResponseType);
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|_| malformed("OCSP basic response"))?;
    let data = &basic.tbs_response_data;
    // DER is canonical: the re-encoding is the signed byte string (a non-DER original fails
    // the signature, which is the right outcome).
    let signed = data
        .to_der()
        .map_err(|_| malformed("OCSP basic response"))?;
    let included: Vec<Vec<u8>> = basic
        .certs
        .iter()
        .flatten()
        .filter_map(|c| c.to_der().ok())
        .collect();
    let signer_der = if names(&data.responder_id, &issuer) {
        None
    } else {
        let der = included
            .iter()
            .find(|der| {
                X509Certificate::from_der(der).is_ok_and(|(_, c)| names(&data.responder_id, &c))
            })
            .ok_or(StatusError::ResponderNotAuthorized)?;
        Some(der)
    };
    let responder = match signer_der {
        None => None,
        Some(der) => {
            let Ok((_, responder)) = X509Certificate::from_der(der) else {
                return Err(StatusError::ResponderNotAuthorized);
            };
            delegated(&responder, &issuer, now)?;
            Some(responder)
        }
    };
    let signer = responder.as_ref().unwrap_or(&issuer);
    let alg_der = basic
        .signature_algorithm
        .to_der()
        .map_err(|_| malformed("OCSP signature algorithm"))?;
    let alg = parse_algorithm(&alg_der).ok_or_else(|| malformed("OCSP signature algorithm"))?;
    let signature = basic
        .signature
        .as_bytes()
        .ok_or_else(|| malformed("OCSP signature"))?;
    algorithm::verify(&alg, signer.public_key(), signature, &signed)?;
    check_extensions(data.response_extensions.as_ref())?;
    let single = data
        .responses
        .iter()
        .find(|s| matches(&s.cert_id, &cert, &issuer))
        .ok_or(StatusError::NoMatchingResponse)?;
    check_extensions(single.single_extensions.as_ref())?;
    let this_update = unix(&single.this_update);
    let valid_until = single.next_update.as_ref().map_or_else(
        || this_update.saturating_add(MAX_AGE_WITHOUT_NEXT_UPDATE_SECS),
        unix,
    );
    window(this_update, valid_until, now)?;
    Ok(StatusInfo {
        status: entry_status(single),
        source: StatusSource::Ocsp,
        this_update,
        valid_until,
    })
}
