//! The signature algorithms a certificate, CRL or OCSP response may be signed with, and the
//! keys that may sign them.
//!
//! Allowlist (anything else is refused by name, before any cryptography runs):
//! RSA PKCS#1 v1.5 and RSASSA-PSS with SHA-256/384/512 (PSS only with MGF1 over the same hash,
//! a salt as long as the hash and the standard trailer — the only form aws-lc-rs verifies, and
//! the one BSI TR-02102 and FIT-Connect's SHA-512/PSS rule name); ECDSA with SHA-256/384 on
//! P-256 and P-384. SHA-1, MD5 and everything else are refused: a collision in the hash lets
//! an attacker get a CA signature on a certificate of their own.
//!
//! Signing keys: RSA with at least [`MIN_SIGNER_RSA_BITS`] bits, or EC on P-256/P-384.
//! (x509-parser's own `verify_signature` accepts SHA-1 with 1024-bit RSA keys; it is not used.)

use aws_lc_rs::signature::{self, VerificationAlgorithm};
use x509_parser::der_parser::oid::Oid;
use x509_parser::prelude::FromDer as _;
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::RsaSsaPssParams;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

/// Smallest RSA key accepted for a key that signs certificates, CRLs or OCSP responses.
/// BSI TR-02102-1 has required 2000+ bits since 2016 (3000 from 2023 for new keys); 2048 is
/// what CAs actually issue and what aws-lc-rs verifies at the least.
pub const MIN_SIGNER_RSA_BITS: usize = 2048;

/// Why a signature is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SignatureError {
    /// The algorithm is not on the allowlist (its name or dotted OID).
    Algorithm(String),
    /// The signing key is an RSA key below [`MIN_SIGNER_RSA_BITS`].
    WeakKey(usize),
    /// The signing key is neither RSA nor EC on an allowed curve.
    KeyType,
    /// The signature does not verify.
    Invalid,
}

const SHA256_RSA: &str = "1.2.840.113549.1.1.11";
const SHA384_RSA: &str = "1.2.840.113549.1.1.12";
const SHA512_RSA: &str = "1.2.840.113549.1.1.13";
const RSA_PSS: &str = "1.2.840.113549.1.1.10";
const MGF1: &str = "1.2.840.113549.1.1.8";
const ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const SHA512: &str = "2.16.840.1.101.3.4.2.3";
const RSA_KEY: &str = "1.2.840.113549.1.1.1";
const EC_KEY: &str = "1.2.840.10045.2.1";
const P256: &str = "1.2.840.10045.3.1.7";
const P384: &str = "1.3.132.0.34";

/// Readable names of refused algorithms seen in the wild, for the error message.
fn name_of(oid: &str) -> String {
    match oid {
        "1.2.840.113549.1.1.5" | "1.3.14.3.2.29" => "sha1WithRSAEncryption".into(),
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption".into(),
        "1.2.840.113549.1.1.2" => "md2WithRSAEncryption".into(),
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption".into(),
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1".into(),
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512".into(),
        "1.2.840.10040.4.3" => "dsa-with-sha1".into(),
        "1.3.101.112" => "Ed25519".into(),
        other => other.to_owned(),
    }
}

fn refused(oid: &Oid<'_>) -> SignatureError {
    SignatureError::Algorithm(name_of(&oid.to_id_string()))
}

/// The hash a PSS parameter set uses, if it is the one form we verify.
fn pss_hash(params: &AlgorithmIdentifier<'_>) -> Result<&'static str, SignatureError> {
    let bad = || SignatureError::Algorithm("RSASSA-PSS with unsupported parameters".into());
    let any = params.parameters.as_ref().ok_or_else(bad)?;
    let pss = RsaSsaPssParams::try_from(any).map_err(|_| bad())?;
    let (hash, len) = match pss.hash_algorithm_oid().to_id_string().as_str() {
        SHA256 => (SHA256, 32),
        SHA384 => (SHA384, 48),
        SHA512 => (SHA512, 64),
        // The default (absent) hash is SHA-1.
        _ => return Err(bad()),
    };
    let mgf = pss.mask_gen_algorithm().map_err(|_| bad())?;
    if mgf.mgf.to_id_string() != MGF1 || mgf.hash.to_id_string() != hash {
        return Err(bad());
    }
    if pss.salt_length() != len || pss.trailer_field() != 1 {
        return Err(bad());
    }
    Ok(hash)
}

/// A signing key that passed the signer-key rules: RSA, or EC with its curve.
enum SignerKey {
    Rsa,
    Ec(&'static str),
}

fn signer_key(spki: &SubjectPublicKeyInfo<'_>) -> Result<SignerKey, SignatureError> {
    match spki.algorithm.algorithm.to_id_string().as_str() {
        RSA_KEY => {
            let Ok(PublicKey::RSA(rsa)) = spki.parsed() else {
                return Err(SignatureError::KeyType);
            };
            let bits = rsa_bits(rsa.modulus);
            if bits < MIN_SIGNER_RSA_BITS {
                return Err(SignatureError::WeakKey(bits));
            }
            Ok(SignerKey::Rsa)
        }
        EC_KEY => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some(P256) => Ok(SignerKey::Ec(P256)),
                Some(P384) => Ok(SignerKey::Ec(P384)),
                _ => Err(SignatureError::KeyType),
            }
        }
        _ => Err(SignatureError::KeyType),
    }
}

/// Bits of a big-endian modulus (leading zero bytes ignored).
pub(crate) fn rsa_bits(modulus: &[u8]) -> usize {
    let start = modulus
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(modulus.len());
    let m = &modulus[start..];
    m.first()
        .map_or(0, |&b| m.len() * 8 - b.leading_zeros() as usize)
}

/// RSA PKCS#1 v1.5 parameters must be NULL or absent (RFC 4055 §5).
fn null_or_absent(alg: &AlgorithmIdentifier<'_>) -> bool {
    alg.parameters
        .as_ref()
        .is_none_or(|p| p.tag() == x509_parser::der_parser::asn1_rs::Tag::Null && p.data.is_empty())
}

/// Verifies `signature` over `message` made by the holder of `signer` with `algorithm`, after
/// the allowlist and the signer-key rules.
pub(crate) fn verify(
    algorithm: &AlgorithmIdentifier<'_>,
    signer: &SubjectPublicKeyInfo<'_>,
    signature: &[u8],
    message: &[u8],
) -> Result<(), SignatureError> {
    let oid = algorithm.algorithm.to_id_string();
    let key = signer_key(signer)?;
    let alg: &'static dyn VerificationAlgorithm = match (oid.as_str(), &key) {
        (SHA256_RSA, SignerKey::Rsa) if null_or_absent(algorithm) => {
            &signature::RSA_PKCS1_2048_8192_SHA256
        }
        (SHA384_RSA, SignerKey::Rsa) if null_or_absent(algorithm) => {
            &signature::RSA_PKCS1_2048_8192_SHA384
        }
        (SHA512_RSA, SignerKey::Rsa) if null_or_absent(algorithm) => {
            &signature::RSA_PKCS1_2048_8192_SHA512
        }
        (SHA256_RSA | SHA384_RSA | SHA512_RSA, SignerKey::Rsa) => {
            return Err(SignatureError::Algorithm(
                "RSA PKCS#1 v1.5 with parameters".into(),
            ));
        }
        (RSA_PSS, SignerKey::Rsa) => match pss_hash(algorithm)? {
            SHA256 => &signature::RSA_PSS_2048_8192_SHA256,
            SHA384 => &signature::RSA_PSS_2048_8192_SHA384,
            _ => &signature::RSA_PSS_2048_8192_SHA512,
        },
        (ECDSA_SHA256, SignerKey::Ec(P256)) => &signature::ECDSA_P256_SHA256_ASN1,
        (ECDSA_SHA256, SignerKey::Ec(_)) => &signature::ECDSA_P384_SHA256_ASN1,
        (ECDSA_SHA384, SignerKey::Ec(P256)) => &signature::ECDSA_P256_SHA384_ASN1,
        (ECDSA_SHA384, SignerKey::Ec(_)) => &signature::ECDSA_P384_SHA384_ASN1,
        (SHA256_RSA | SHA384_RSA | SHA512_RSA | RSA_PSS | ECDSA_SHA256 | ECDSA_SHA384, _) => {
            // An allowed algorithm with the wrong kind of key cannot verify.
            return Err(SignatureError::Invalid);
        }
        _ => return Err(refused(&algorithm.algorithm)),
    };
    signature::UnparsedPublicKey::new(alg, &signer.subject_public_key.data)
        .verify(message, signature)
        .map_err(|_| SignatureError::Invalid)
}

/// Parses a DER `AlgorithmIdentifier` (from another ASN.1 library's encoding).
pub(crate) fn parse_algorithm(der: &[u8]) -> Option<AlgorithmIdentifier<'_>> {
    match AlgorithmIdentifier::from_der(der) {
        Ok(([], alg)) => Some(alg),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_bits_ignores_leading_zeros() {
        assert_eq!(rsa_bits(&[0, 0x80, 0]), 16);
        assert_eq!(rsa_bits(&[0x01, 0]), 9);
        assert_eq!(rsa_bits(&[]), 0);
        assert_eq!(rsa_bits(&[0, 0]), 0);
    }

    #[test]
    fn refused_algorithms_have_readable_names() {
        assert_eq!(name_of("1.2.840.113549.1.1.5"), "sha1WithRSAEncryption");
        assert_eq!(name_of("1.2.3"), "1.2.3");
    }
}
