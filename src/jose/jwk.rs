//! RSA keys as JWK (RFC 7517/7518 §6.3) and PKCS#8 PEM, held in aws-lc-rs key objects.
//!
//! Private keys are never `Clone` and never leave their aws-lc-rs object; the JWK text they came
//! from is zeroized on drop. Only two key kinds exist, mirroring FIT-Connect: a decryption key
//! (RSA-OAEP-256, `unwrapKey`) and a signing key (PS512, `sign`).

use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{
    KeyPair, KeyPairComponents, OaepPrivateDecryptingKey, PrivateDecryptingKey,
    PublicEncryptingKey, PublicKeyComponents,
};
use aws_lc_rs::signature::{self, KeyPair as _};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use super::{base64url, rsa_der};

/// Smallest RSA modulus accepted anywhere, in bits (FIT-Connect requires 4096).
pub const MIN_RSA_BITS: usize = 4096;

/// The JOSE algorithm of an encryption key.
pub const ALG_RSA_OAEP_256: &str = "RSA-OAEP-256";
/// The JOSE algorithm of a signature key.
pub const ALG_PS512: &str = "PS512";

/// Errors while reading or checking a key.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwkError {
    /// The JWK is not a JSON object of the expected shape (line:column of the JSON error).
    #[error("JWK is not valid JSON at {line}:{column}")]
    NotJson {
        /// Line of the JSON error.
        line: usize,
        /// Column of the JSON error.
        column: usize,
    },
    /// `kty` is not `RSA`.
    #[error("unsupported key type (only RSA)")]
    UnsupportedKeyType,
    /// `alg` is present and not the algorithm this key is used for.
    #[error("key algorithm does not match its use (expected {expected})")]
    AlgMismatch {
        /// The algorithm the use requires.
        expected: &'static str,
    },
    /// `key_ops` or `use` do not allow the operation.
    #[error("key_ops/use do not allow {operation}")]
    OperationNotAllowed {
        /// The operation that was requested.
        operation: &'static str,
    },
    /// The key has no `kid`.
    #[error("key has no kid")]
    MissingKid,
    /// A required member is missing.
    #[error("JWK member {member} is missing")]
    MissingMember {
        /// Name of the member.
        member: &'static str,
    },
    /// A member is not strict base64url.
    #[error("JWK member {member} is not base64url")]
    BadBase64 {
        /// Name of the member.
        member: &'static str,
    },
    /// Multi-prime keys (`oth`) are not supported.
    #[error("multi-prime RSA keys are not supported")]
    MultiPrime,
    /// The modulus is shorter than [`MIN_RSA_BITS`].
    #[error("RSA key has {bits} bits; at least {min} are required")]
    KeyTooShort {
        /// Bits of the offered key.
        bits: usize,
        /// Required minimum.
        min: usize,
    },
    /// The components do not form a consistent RSA key.
    #[error("RSA key rejected: components are inconsistent or unsupported")]
    KeyRejected,
    /// The PEM text holds no PKCS#8 `PRIVATE KEY` block.
    #[error("not a PKCS#8 PEM private key")]
    NotPkcs8Pem,
    /// Two keys with the same kid were added to one key ring.
    #[error("duplicate kid in key ring")]
    DuplicateKid,
    /// Key generation failed in the crypto library.
    #[error("key generation failed")]
    Generation,
}

/// A JSON Web Key as it appears on the wire; private members are zeroized on drop and never
/// printed by `Debug`.
#[derive(Default, Deserialize, Serialize, Zeroize, ZeroizeOnDrop)]
#[non_exhaustive]
pub struct Jwk {
    /// Key type (`RSA`).
    pub kty: String,
    /// Intended use (`enc`/`sig`).
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub key_use: Option<String>,
    /// Allowed operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Key id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Certificate chain (standard base64 DER, leaf first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x5c: Option<Vec<String>>,
    /// Modulus.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// Public exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Private exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    /// First prime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    /// Second prime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// First CRT exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    /// Second CRT exponent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    /// CRT coefficient.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// Other primes (multi-prime keys); refused when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[zeroize(skip)]
    pub oth: Option<serde_json::Value>,
}

impl std::fmt::Debug for Jwk {
    /// Public members as they are; of the private ones (`d`, `p`, `q`, `dp`, `dq`, `qi`) only
    /// whether they are present, so a key never reaches a log through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let private = |m: &Option<String>| m.as_ref().map(|_| "<redacted>");
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("key_use", &self.key_use)
            .field("key_ops", &self.key_ops)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("x5c", &self.x5c)
            .field("n", &self.n)
            .field("e", &self.e)
            .field("d", &private(&self.d))
            .field("p", &private(&self.p))
            .field("q", &private(&self.q))
            .field("dp", &private(&self.dp))
            .field("dq", &private(&self.dq))
            .field("qi", &private(&self.qi))
            .field("oth", &self.oth.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Jwk {
    /// Parses one JWK from JSON text.
    ///
    /// # Errors
    /// [`JwkError::NotJson`] with the position of the JSON error.
    pub fn from_json(text: &str) -> Result<Self, JwkError> {
        serde_json::from_str(text).map_err(|e| JwkError::NotJson {
            line: e.line(),
            column: e.column(),
        })
    }

    /// Serializes to compact JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a JWK always serializes")
    }

    fn member(&self, member: &'static str) -> Result<Zeroizing<Vec<u8>>, JwkError> {
        let text = match member {
            "n" => &self.n,
            "e" => &self.e,
            "d" => &self.d,
            "p" => &self.p,
            "q" => &self.q,
            "dp" => &self.dp,
            "dq" => &self.dq,
            _ => &self.qi,
        };
        let text = text.as_deref().ok_or(JwkError::MissingMember { member })?;
        base64url::decode(text)
            .map(Zeroizing::new)
            .ok_or(JwkError::BadBase64 { member })
    }

    /// Checks `kty`, `oth`, `alg`, `key_ops` and `use` against `key_use` (public or private half).
    ///
    /// # Errors
    /// The first mismatch.
    pub fn check_use(&self, key_use: KeyUse, private: bool) -> Result<(), JwkError> {
        if self.kty != "RSA" {
            return Err(JwkError::UnsupportedKeyType);
        }
        if self.oth.is_some() {
            return Err(JwkError::MultiPrime);
        }
        if self.alg.as_deref().is_some_and(|a| a != key_use.alg()) {
            return Err(JwkError::AlgMismatch {
                expected: key_use.alg(),
            });
        }
        let operation = key_use.operation(private);
        let ops_ok = self
            .key_ops
            .as_ref()
            .is_none_or(|ops| ops.iter().any(|o| o == operation));
        let use_ok = self
            .key_use
            .as_deref()
            .is_none_or(|u| u == key_use.jwk_use());
        if !ops_ok || !use_ok {
            return Err(JwkError::OperationNotAllowed { operation });
        }
        Ok(())
    }

    /// The RSA public key of this JWK (private members ignored).
    ///
    /// # Errors
    /// Missing/bad `n`/`e`, or a modulus shorter than [`MIN_RSA_BITS`].
    pub fn public_key(&self) -> Result<RsaPublicKey, JwkError> {
        if self.kty != "RSA" {
            return Err(JwkError::UnsupportedKeyType);
        }
        let n = strip_zeros(&self.member("n")?);
        let e = strip_zeros(&self.member("e")?);
        RsaPublicKey::new(n, e)
    }
}

fn strip_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

/// What a key is used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyUse {
    /// RSA-OAEP-256 key encryption (`wrapKey` / `unwrapKey`).
    Encryption,
    /// PS512 signatures (`verify` / `sign`).
    Signature,
}

impl KeyUse {
    /// The JOSE `alg` of this use.
    #[must_use]
    pub fn alg(self) -> &'static str {
        match self {
            KeyUse::Encryption => ALG_RSA_OAEP_256,
            KeyUse::Signature => ALG_PS512,
        }
    }

    /// The JWK `use` value.
    #[must_use]
    pub fn jwk_use(self) -> &'static str {
        match self {
            KeyUse::Encryption => "enc",
            KeyUse::Signature => "sig",
        }
    }

    /// The `key_ops` entry of the public (`false`) or private (`true`) half.
    #[must_use]
    pub fn operation(self, private: bool) -> &'static str {
        match (self, private) {
            (KeyUse::Encryption, false) => "wrapKey",
            (KeyUse::Encryption, true) => "unwrapKey",
            (KeyUse::Signature, false) => "verify",
            (KeyUse::Signature, true) => "sign",
        }
    }
}

/// An RSA public key (modulus and exponent, big-endian, no leading zeros).
#[derive(Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    n: Vec<u8>,
    e: Vec<u8>,
}

impl std::fmt::Debug for RsaPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RsaPublicKey({} bits)", self.bits())
    }
}

impl RsaPublicKey {
    /// Builds a key from modulus and exponent, enforcing [`MIN_RSA_BITS`].
    ///
    /// # Errors
    /// [`JwkError::KeyTooShort`] or [`JwkError::KeyRejected`].
    pub fn new(n: Vec<u8>, e: Vec<u8>) -> Result<Self, JwkError> {
        let key = Self { n, e };
        if key.bits() < MIN_RSA_BITS {
            return Err(JwkError::KeyTooShort {
                bits: key.bits(),
                min: MIN_RSA_BITS,
            });
        }
        key.encrypting_key()?;
        Ok(key)
    }

    /// Modulus length in bits.
    #[must_use]
    pub fn bits(&self) -> usize {
        self.n
            .first()
            .map_or(0, |&b| self.n.len() * 8 - b.leading_zeros() as usize)
    }

    /// Modulus length in bytes (= RSA ciphertext and signature length).
    #[must_use]
    pub fn modulus_len(&self) -> usize {
        self.n.len()
    }

    /// The modulus, big-endian.
    #[must_use]
    pub fn modulus(&self) -> &[u8] {
        &self.n
    }

    /// The public exponent, big-endian.
    #[must_use]
    pub fn exponent(&self) -> &[u8] {
        &self.e
    }

    pub(crate) fn encrypting_key(&self) -> Result<PublicEncryptingKey, JwkError> {
        let components = PublicKeyComponents {
            n: self.n.as_slice(),
            e: self.e.as_slice(),
        };
        let der = components.as_der().map_err(|_| JwkError::KeyRejected)?;
        PublicEncryptingKey::from_der(der.as_ref()).map_err(|_| JwkError::KeyRejected)
    }

    /// Verifies an RSASSA-PSS SHA-512 (PS512) signature.
    #[must_use]
    pub fn verify_ps512(&self, message: &[u8], signature_bytes: &[u8]) -> bool {
        signature::RsaPublicKeyComponents {
            n: self.n.as_slice(),
            e: self.e.as_slice(),
        }
        .verify(
            &signature::RSA_PSS_2048_8192_SHA512,
            message,
            signature_bytes,
        )
        .is_ok()
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url).
    #[must_use]
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
            base64url::encode(&self.e),
            base64url::encode(&self.n)
        );
        base64url::encode(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref())
    }

    /// The public JWK for `key_use`, with the FIT-Connect members (`alg`, `key_ops`, `use`).
    #[must_use]
    pub fn to_jwk(&self, kid: &str, key_use: KeyUse, x5c: Option<Vec<String>>) -> Jwk {
        let mut jwk = Jwk::default();
        jwk.kty = "RSA".into();
        jwk.key_use = Some(key_use.jwk_use().into());
        jwk.key_ops = Some(vec![key_use.operation(false).into()]);
        jwk.alg = Some(key_use.alg().into());
        jwk.kid = Some(kid.into());
        jwk.x5c = x5c;
        jwk.n = Some(base64url::encode(&self.n));
        jwk.e = Some(base64url::encode(&self.e));
        jwk
    }
}

/// Builds the aws-lc-rs key pair of a private JWK (checked for `key_use`).
fn key_pair_from_jwk(jwk: &Jwk, key_use: KeyUse) -> Result<(KeyPair, RsaPublicKey), JwkError> {
    jwk.check_use(key_use, true)?;
    let public = jwk.public_key()?;
    let (d, p, q) = (jwk.member("d")?, jwk.member("p")?, jwk.member("q")?);
    let (dp, dq, qi) = (jwk.member("dp")?, jwk.member("dq")?, jwk.member("qi")?);
    let components = KeyPairComponents {
        public_key: PublicKeyComponents {
            n: public.n.as_slice(),
            e: public.e.as_slice(),
        },
        d: d.as_slice(),
        p: p.as_slice(),
        q: q.as_slice(),
        dP: dp.as_slice(),
        dQ: dq.as_slice(),
        qInv: qi.as_slice(),
    };
    let pair = KeyPair::from_components(&components).map_err(|_| JwkError::KeyRejected)?;
    Ok((pair, public))
}

fn key_pair_from_pem(pem: &str) -> Result<(KeyPair, RsaPublicKey), JwkError> {
    let der = rsa_der::pkcs8_from_pem(pem).ok_or(JwkError::NotPkcs8Pem)?;
    let pair = KeyPair::from_pkcs8(&der).map_err(|_| JwkError::KeyRejected)?;
    let public = public_of(&pair)?;
    Ok((pair, public))
}

fn public_of(pair: &KeyPair) -> Result<RsaPublicKey, JwkError> {
    let (n, e) =
        rsa_der::rsa_public_from_pkcs1(pair.public_key().as_ref()).ok_or(JwkError::KeyRejected)?;
    RsaPublicKey::new(n, e)
}

fn kid_or_thumbprint(kid: Option<&str>, public: &RsaPublicKey) -> String {
    kid.map_or_else(|| public.thumbprint(), str::to_owned)
}

/// A private RSA-OAEP-256 key that unwraps content-encryption keys. Not `Clone`.
pub struct DecryptionKey {
    kid: String,
    key: OaepPrivateDecryptingKey,
    public: RsaPublicKey,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl DecryptionKey {
    fn from_pair(pair: &KeyPair, public: RsaPublicKey, kid: String) -> Result<Self, JwkError> {
        let pkcs8 = pair.as_der().map_err(|_| JwkError::KeyRejected)?;
        let private =
            PrivateDecryptingKey::from_pkcs8(pkcs8.as_ref()).map_err(|_| JwkError::KeyRejected)?;
        let key = OaepPrivateDecryptingKey::new(private).map_err(|_| JwkError::KeyRejected)?;
        Ok(Self { kid, key, public })
    }

    /// Reads a private JWK (`kid` required; `alg`/`key_ops`/`use` must allow `unwrapKey`).
    ///
    /// # Errors
    /// Any [`JwkError`] describing what is wrong with the key.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwkError> {
        let kid = jwk.kid.clone().ok_or(JwkError::MissingKid)?;
        let (pair, public) = key_pair_from_jwk(jwk, KeyUse::Encryption)?;
        Self::from_pair(&pair, public, kid)
    }

    /// Reads a PKCS#8 PEM private key; without `kid` the RFC 7638 thumbprint is used.
    ///
    /// # Errors
    /// [`JwkError::NotPkcs8Pem`], [`JwkError::KeyRejected`] or [`JwkError::KeyTooShort`].
    pub fn from_pkcs8_pem(pem: &str, kid: Option<&str>) -> Result<Self, JwkError> {
        let (pair, public) = key_pair_from_pem(pem)?;
        let kid = kid_or_thumbprint(kid, &public);
        Self::from_pair(&pair, public, kid)
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    pub(crate) fn oaep(&self) -> &OaepPrivateDecryptingKey {
        &self.key
    }
}

/// A private PS512 signing key. Not `Clone`.
pub struct SigningKey {
    kid: String,
    key: KeyPair,
    public: RsaPublicKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Reads a private JWK (`kid` required; `alg`/`key_ops`/`use` must allow `sign`).
    ///
    /// # Errors
    /// Any [`JwkError`] describing what is wrong with the key.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwkError> {
        let kid = jwk.kid.clone().ok_or(JwkError::MissingKid)?;
        let (key, public) = key_pair_from_jwk(jwk, KeyUse::Signature)?;
        Ok(Self { kid, key, public })
    }

    /// Reads a PKCS#8 PEM private key; without `kid` the RFC 7638 thumbprint is used.
    ///
    /// # Errors
    /// [`JwkError::NotPkcs8Pem`], [`JwkError::KeyRejected`] or [`JwkError::KeyTooShort`].
    pub fn from_pkcs8_pem(pem: &str, kid: Option<&str>) -> Result<Self, JwkError> {
        let (key, public) = key_pair_from_pem(pem)?;
        let kid = kid_or_thumbprint(kid, &public);
        Ok(Self { kid, key, public })
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> &RsaPublicKey {
        &self.public
    }

    /// Signs `message` with RSASSA-PSS SHA-512 (salt length 64, as JOSE PS512 requires).
    #[must_use]
    pub fn sign_ps512(&self, message: &[u8]) -> Vec<u8> {
        let mut out = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &signature::RSA_PSS_SHA512,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut out,
            )
            .expect("output buffer has the modulus length");
        out
    }
}

/// A freshly generated key pair: private JWK, PKCS#8 PEM and public key.
pub struct GeneratedKey {
    /// The private JWK (with `kid`, `alg`, `key_ops` of the private half).
    pub private_jwk: Jwk,
    /// The same private key as PKCS#8 PEM.
    pub pkcs8_pem: Zeroizing<String>,
    /// The PKCS#8 DER (for certificate generation).
    pub pkcs8_der: Zeroizing<Vec<u8>>,
    /// The public key.
    pub public: RsaPublicKey,
}

/// Generates an RSA-4096 key for `key_use`; `kid` defaults to the RFC 7638 thumbprint.
///
/// # Errors
/// [`JwkError::Generation`] if aws-lc fails.
pub fn generate(key_use: KeyUse, kid: Option<&str>) -> Result<GeneratedKey, JwkError> {
    let pair =
        KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa4096).map_err(|_| JwkError::Generation)?;
    let der = Zeroizing::new(
        pair.as_der()
            .map_err(|_| JwkError::Generation)?
            .as_ref()
            .to_vec(),
    );
    let c = rsa_der::rsa_private_from_pkcs8(&der).ok_or(JwkError::Generation)?;
    let public = RsaPublicKey::new(c.n.clone(), c.e.clone())?;
    let kid = kid_or_thumbprint(kid, &public);
    let enc = |v: &[u8]| Some(base64url::encode(v));
    let mut private_jwk = Jwk::default();
    private_jwk.kty = "RSA".into();
    private_jwk.key_use = Some(key_use.jwk_use().into());
    private_jwk.key_ops = Some(vec![key_use.operation(true).into()]);
    private_jwk.alg = Some(key_use.alg().into());
    private_jwk.kid = Some(kid);
    private_jwk.n = enc(&c.n);
    private_jwk.e = enc(&c.e);
    private_jwk.d = enc(&c.d);
    private_jwk.p = enc(&c.p);
    private_jwk.q = enc(&c.q);
    private_jwk.dp = enc(&c.dp);
    private_jwk.dq = enc(&c.dq);
    private_jwk.qi = enc(&c.qi);
    Ok(GeneratedKey {
        private_jwk,
        pkcs8_pem: rsa_der::pkcs8_to_pem(&der),
        pkcs8_der: der,
        public,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_thumbprint_vector() {
        // RFC 7638 §3.1 (a 2048-bit key: built directly, below our usage minimum).
        let n = base64url::decode("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
            .expect("b64");
        let key = RsaPublicKey {
            n,
            e: vec![1, 0, 1],
        };
        assert_eq!(key.bits(), 2048);
        assert_eq!(
            key.thumbprint(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(
            RsaPublicKey::new(key.n.clone(), key.e.clone()),
            Err(JwkError::KeyTooShort {
                bits: 2048,
                min: 4096
            })
        );
    }

    #[test]
    fn jwk_debug_does_not_print_private_members() {
        let jwk = Jwk::from_json(
            r#"{"kty":"RSA","kid":"k1","n":"public-n","e":"AQAB","d":"SECRET-d","p":"SECRET-p",
                "q":"SECRET-q","dp":"SECRET-dp","dq":"SECRET-dq","qi":"SECRET-qi",
                "oth":[{"r":"SECRET-r"}]}"#,
        )
        .expect("parses");
        let shown = format!("{jwk:?} {jwk:#?}");
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("public-n") && shown.contains("k1"),
            "{shown}"
        );
        assert!(shown.contains(r#"d: Some("<redacted>")"#), "{shown}");
        let public = Jwk::from_json(r#"{"kty":"RSA","n":"x","e":"AQAB"}"#).expect("parses");
        assert!(format!("{public:?}").contains("d: None"));
    }

    #[test]
    fn pem_and_jwk_of_one_key_agree() {
        let g = generate(KeyUse::Signature, None).expect("keygen");
        let from_pem = SigningKey::from_pkcs8_pem(&g.pkcs8_pem, None).expect("pem");
        let from_jwk = SigningKey::from_jwk(&g.private_jwk).expect("jwk");
        assert_eq!(from_pem.public_key(), from_jwk.public_key());
        assert_eq!(from_pem.kid(), g.public.thumbprint());
        let sig = from_pem.sign_ps512(b"message");
        assert!(from_jwk.public_key().verify_ps512(b"message", &sig));
        assert!(!from_jwk.public_key().verify_ps512(b"messagE", &sig));
        let public = g.public.to_jwk(from_jwk.kid(), KeyUse::Signature, None);
        assert_eq!(public.key_ops.as_deref(), Some(&["verify".to_owned()][..]));
        assert!(public.d.is_none());
        assert_eq!(public.public_key().as_ref(), Ok(&g.public));
    }
}
