//! Certificate extensions (RFC 5280 §4.2): which critical ones this validator understands, and
//! the CA constraints it enforces.
//!
//! A certificate with a critical extension not in [`UNDERSTOOD`] is refused (RFC 5280: "a
//! certificate-using system MUST reject the certificate if it encounters a critical extension
//! it does not recognize"). Understood and enforced: basicConstraints (CA flag, pathLen), key
//! usage, CRL distribution points and authority information access (revocation). Understood
//! and safe to accept without policy processing: certificatePolicies, policyMappings and
//! inhibitAnyPolicy — this validator runs with the initial policy set anyPolicy and does not
//! require an explicit policy, so they cannot make a path invalid (RFC 5280 §6.1). Refused
//! because not implemented: nameConstraints (any criticality: ignoring it would accept names the
//! CA excluded) and policyConstraints with requireExplicitPolicy (it would need the policy tree).
//! Extended key usage and the alternative names are understood and not restricted further:
//! FIT-Connect defines no extended key usage for its keys.

use std::collections::HashSet;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;

use super::CertError;

/// Extensions whose meaning this validator knows (dotted OIDs).
const UNDERSTOOD: &[&str] = &[
    "2.5.29.14",            // subjectKeyIdentifier
    "2.5.29.15",            // keyUsage
    "2.5.29.17",            // subjectAltName
    "2.5.29.18",            // issuerAltName
    "2.5.29.19",            // basicConstraints
    "2.5.29.30",            // nameConstraints (refused below)
    "2.5.29.31",            // cRLDistributionPoints
    "2.5.29.32",            // certificatePolicies
    "2.5.29.33",            // policyMappings
    "2.5.29.35",            // authorityKeyIdentifier
    "2.5.29.36",            // policyConstraints (requireExplicitPolicy refused below)
    "2.5.29.37",            // extKeyUsage
    "2.5.29.54",            // inhibitAnyPolicy
    "1.3.6.1.5.5.7.1.1",    // authorityInfoAccess
    "1.3.6.1.5.5.7.48.1.5", // id-pkix-ocsp-nocheck (delegated OCSP responders)
];

const NAME_CONSTRAINTS: &str = "2.5.29.30";

/// Checks the extensions of `cert` (at chain position `index`): no duplicates, none malformed,
/// no critical one outside [`UNDERSTOOD`], no name constraints, no required explicit policy.
pub(super) fn check(cert: &X509Certificate<'_>, index: usize) -> Result<(), CertError> {
    let mut seen = HashSet::new();
    for ext in cert.extensions() {
        let oid = ext.oid.to_id_string();
        let malformed = || CertError::MalformedExtension {
            index,
            oid: oid.clone(),
        };
        if !seen.insert(oid.clone()) {
            return Err(malformed());
        }
        if matches!(ext.parsed_extension(), ParsedExtension::ParseError { .. }) {
            return Err(malformed());
        }
        if ext.critical && !UNDERSTOOD.contains(&oid.as_str()) {
            return Err(CertError::CriticalExtension { index, oid });
        }
        if oid == NAME_CONSTRAINTS {
            return Err(CertError::NameConstraints { index });
        }
        if let ParsedExtension::PolicyConstraints(pc) = ext.parsed_extension()
            && pc.require_explicit_policy.is_some()
        {
            return Err(CertError::PolicyConstraints { index });
        }
    }
    Ok(())
}

/// The basicConstraints CA flag (absent extension: not a CA).
pub(super) fn is_ca(cert: &X509Certificate<'_>) -> bool {
    cert.basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca)
}

/// An issuing certificate must be a CA whose key usage (when present) allows certificate
/// signing.
pub(super) fn check_ca(cert: &X509Certificate<'_>, index: usize) -> Result<(), CertError> {
    let signs = cert
        .key_usage()
        .ok()
        .flatten()
        .is_none_or(|ku| ku.value.key_cert_sign());
    if is_ca(cert) && signs {
        Ok(())
    } else {
        Err(CertError::NotCa { index })
    }
}

/// The end-entity certificate must not be a CA: a CA key is for signing certificates, and a
/// CA certificate passed off as a destination key would let its holder mint more of them.
pub(super) fn check_leaf(leaf: &X509Certificate<'_>) -> Result<(), CertError> {
    let cert_sign = leaf
        .key_usage()
        .ok()
        .flatten()
        .is_some_and(|ku| ku.value.key_cert_sign());
    if is_ca(leaf) || cert_sign {
        Err(CertError::LeafIsCa)
    } else {
        Ok(())
    }
}

fn self_issued(cert: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == cert.subject().as_raw()
}

/// `pathLenConstraint` of the CA at position `index`, which issued the path `below` (leaf
/// first): at most that many non-self-issued intermediate CA certificates may follow it
/// (RFC 5280 §4.2.1.9; the leaf does not count).
pub(super) fn check_path_len(
    ca: &X509Certificate<'_>,
    index: usize,
    below: &[X509Certificate<'_>],
) -> Result<(), CertError> {
    let Some(max) = ca
        .basic_constraints()
        .ok()
        .flatten()
        .and_then(|bc| bc.value.path_len_constraint)
    else {
        return Ok(());
    };
    let intermediates = below.iter().skip(1).filter(|c| !self_issued(c)).count();
    if intermediates > max as usize {
        Err(CertError::PathLen { index })
    } else {
        Ok(())
    }
}
