//! Certificate status from a CRL (RFC 5280 §5, §6.3), for one [`ChainLink`].
//!
//! A CRL gives a status only if: it parses (DER, or one PEM `X509 CRL` block); its issuer is
//! the certificate's issuer and its signature verifies with the issuer's key under the
//! algorithm allowlist; the issuer's key usage (when present) has cRLSign; `thisUpdate` is not
//! in the future and `nextUpdate` is present and not passed; it is a complete CRL (no delta
//! indicator, no partitioning by reasons, not indirect) whose issuing distribution point covers
//! the certificate; no unknown critical extension, on the CRL or on an entry. Then a listed
//! serial number means revoked, an unlisted one good.

use rustls_pki_types::pem::PemObject as _;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;
use x509_parser::revocation_list::CertificateRevocationList;

use super::algorithm;
use super::extensions::is_ca;
use super::status::{serial_magnitude, window};
use super::{ChainLink, RevocationStatus, StatusError, StatusInfo, StatusSource, crl_urls};

/// CRL extensions understood (dotted OIDs); a critical one outside this list refuses the CRL.
const UNDERSTOOD: &[&str] = &[
    "2.5.29.20", // cRLNumber
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.18", // issuerAltName
    "2.5.29.28", // issuingDistributionPoint (checked below)
    "2.5.29.46", // freshestCRL (delta CRLs are not fetched; the complete CRL suffices)
];
const DELTA_INDICATOR: &str = "2.5.29.27";

/// CRL entry extensions understood; `certificateIssuer` (indirect CRLs) is not.
const ENTRY_UNDERSTOOD: &[&str] = &[
    "2.5.29.21", // reasonCode
    "2.5.29.24", // invalidityDate
];

/// The DER of a CRL given as DER or as PEM (`-----BEGIN X509 CRL-----`).
#[must_use]
pub fn der_from_pem_or_der(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.first() == Some(&0x30) {
        return Some(bytes.to_vec());
    }
    rustls_pki_types::CertificateRevocationListDer::from_pem_slice(bytes)
        .ok()
        .map(|der| der.as_ref().to_vec())
}

/// Whether `crl` (DER) is issued by the issuer of `link` — to pick configured CRL files for a
/// certificate before judging them.
#[must_use]
pub fn issued_for(crl: &[u8], link: &ChainLink) -> bool {
    let (Ok(([], crl)), Ok((_, cert))) = (
        CertificateRevocationList::from_der(crl),
        X509Certificate::from_der(&link.certificate),
    ) else {
        return false;
    };
    crl.issuer().as_raw() == cert.issuer().as_raw()
}

fn full_name_uris<'a>(names: &'a [GeneralName<'a>]) -> impl Iterator<Item = &'a str> {
    names.iter().filter_map(|n| match n {
        GeneralName::URI(u) => Some(*u),
        _ => None,
    })
}

/// RFC 5280 §6.3.3 (b): the issuing distribution point must cover `cert`.
fn check_scope(
    idp: &x509_parser::extensions::IssuingDistributionPoint<'_>,
    cert: &X509Certificate<'_>,
) -> Result<(), StatusError> {
    if idp.only_some_reasons.is_some() {
        return Err(StatusError::Unsupported {
            what: "CRL partitioned by revocation reasons",
        });
    }
    if idp.indirect_crl {
        return Err(StatusError::Unsupported {
            what: "indirect CRL",
        });
    }
    let ca = is_ca(cert);
    if idp.only_contains_attribute_certs
        || (idp.only_contains_user_certs && ca)
        || (idp.only_contains_ca_certs && !ca)
    {
        return Err(StatusError::OutOfScope);
    }
    if let Some(DistributionPointName::FullName(names)) = &idp.distribution_point {
        let cert_points = crl_urls(cert);
        // A certificate without distribution points may use any CRL of its issuer.
        if !cert_points.is_empty()
            && !full_name_uris(names).any(|u| cert_points.iter().any(|c| c == u))
        {
            return Err(StatusError::OutOfScope);
        }
    }
    Ok(())
}

/// The status of `link`'s certificate according to `crl` (DER) at `now` (Unix seconds).
///
/// # Errors
/// [`StatusError`] when the CRL gives no usable status for this certificate.
pub fn status(crl: &[u8], link: &ChainLink, now: i64) -> Result<StatusInfo, StatusError> {
    let malformed = |what| StatusError::Malformed { what };
    let Ok(([], crl)) = CertificateRevocationList::from_der(crl) else {
        return Err(malformed("CRL"));
    };
    let (Ok(([], cert)), Ok(([], issuer))) = (
        X509Certificate::from_der(&link.certificate),
        X509Certificate::from_der(&link.issuer),
    ) else {
        return Err(malformed("certificate"));
    };
    if crl.issuer().as_raw() != cert.issuer().as_raw()
        || crl.issuer().as_raw() != issuer.subject().as_raw()
    {
        return Err(StatusError::WrongIssuer);
    }
    if crl.tbs_cert_list.signature != crl.signature_algorithm {
        return Err(StatusError::SignatureAlgorithm {
            algorithm: "mismatch between signed and outer algorithm".into(),
        });
    }
    algorithm::verify(
        &crl.signature_algorithm,
        issuer.public_key(),
        &crl.signature_value.data,
        crl.tbs_cert_list.as_ref(),
    )?;
    if issuer
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|ku| !ku.value.crl_sign())
    {
        return Err(StatusError::NotCrlSigner);
    }
    let this_update = crl.last_update().timestamp();
    let next_update = crl
        .next_update()
        .ok_or(StatusError::NoNextUpdate)?
        .timestamp();
    window(this_update, next_update, now)?;
    for ext in crl.extensions() {
        let oid = ext.oid.to_id_string();
        if oid == DELTA_INDICATOR {
            return Err(StatusError::Unsupported { what: "delta CRL" });
        }
        match ext.parsed_extension() {
            ParsedExtension::ParseError { .. } => return Err(malformed("CRL extension")),
            ParsedExtension::IssuingDistributionPoint(idp) => check_scope(idp, &cert)?,
            _ => {}
        }
        if ext.critical && !UNDERSTOOD.contains(&oid.as_str()) {
            return Err(StatusError::CriticalExtension { oid });
        }
    }
    let serial = serial_magnitude(cert.raw_serial());
    let mut status = RevocationStatus::Good;
    for entry in crl.iter_revoked_certificates() {
        for ext in entry.extensions() {
            let oid = ext.oid.to_id_string();
            if ext.critical && !ENTRY_UNDERSTOOD.contains(&oid.as_str()) {
                return Err(StatusError::CriticalExtension { oid });
            }
        }
        if status == RevocationStatus::Good && serial_magnitude(entry.raw_serial()) == serial {
            status = RevocationStatus::Revoked {
                revoked_at: entry.revocation_date.timestamp(),
                reason: entry.reason_code().map(|(_, r)| r.0),
            };
        }
    }
    Ok(StatusInfo {
        status,
        source: StatusSource::Crl,
        this_update,
        valid_until: next_update,
    })
}
