//! Compact JWE (RFC 7516) restricted to what FIT-Connect uses: `RSA-OAEP-256` + `A256GCM`.
//!
//! Untrusted text becomes a [`CompactJwe`] only through [`CompactJwe::parse`], which enforces
//! the limits, the algorithm allow-list and the part lengths; only a `CompactJwe` can be
//! decrypted, into a zeroized [`Plaintext`].
//!
//! Decryption failures are one opaque error ([`JweError::Decrypt`]): if the RSA-OAEP unwrap
//! fails we go on with a random CEK so that every failure surfaces as a GCM tag failure
//! (RFC 7516 §11.5, Manger/Marvin). The precise reason is kept in [`DecryptFailure::reason`]
//! for debug logs; it names no secret.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use serde_json::Value;
use zeroize::Zeroizing;

use super::base64url;
use super::header::{HeaderJsonError, HeaderMembers};
use super::inflate::inflate_all;
use super::jwk::{ALG_RSA_OAEP_256, RsaPublicKey};
use super::keyring::KeyRing;
use crate::config::JoseLimits;

/// The only content encryption FIT-Connect uses.
pub const ENC_A256GCM: &str = "A256GCM";
pub(super) const IV_LEN: usize = 12;
pub(super) const TAG_LEN: usize = 16;
const CEK_LEN: usize = 32;
/// RSA-8192, the largest modulus aws-lc accepts, gives 1024-byte encrypted keys.
const MAX_ENCRYPTED_KEY_LEN: usize = 1024;
/// Longest `alg`/`enc`/`zip` value echoed in an error (they are attacker-chosen).
const ECHO_MAX: usize = 32;

/// Header parameters that belong to other algorithms or fetch keys from elsewhere; their
/// presence means algorithm confusion or key injection, never a valid FIT-Connect JWE.
const FORBIDDEN_MEMBERS: &[&str] = &[
    "jku", "jwk", "x5u", "epk", "apu", "apv", "p2s", "p2c", "iv", "tag", "b64",
];

/// The five parts of a compact JWE, for error reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// Part 1, the protected header.
    ProtectedHeader,
    /// Part 2, the RSA-encrypted CEK.
    EncryptedKey,
    /// Part 3, the GCM nonce.
    Iv,
    /// Part 4, the ciphertext.
    Ciphertext,
    /// Part 5, the authentication tag.
    Tag,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::ProtectedHeader => "protected header",
            Part::EncryptedKey => "encrypted key",
            Part::Iv => "initialization vector",
            Part::Ciphertext => "ciphertext",
            Part::Tag => "authentication tag",
        })
    }
}

/// Why a decryption failed; for debug logs only, never for peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecryptReason {
    /// RSA-OAEP unwrap failed (continued with a random CEK, so the tag check failed too).
    KeyUnwrap,
    /// The GCM tag did not verify (tampered header, IV, ciphertext or tag, or wrong key).
    Tag,
}

/// An opaque decryption failure; `Display` says nothing beyond "decryption failed".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecryptFailure {
    reason: DecryptReason,
}

impl DecryptFailure {
    /// The precise reason, for debug logs (contains no secret).
    #[must_use]
    pub fn reason(&self) -> DecryptReason {
        self.reason
    }
}

/// Errors of parsing, decrypting or producing a compact JWE.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum JweError {
    /// The token exceeds `JoseLimits::max_token_bytes`.
    #[error("JWE is larger than the limit of {limit} bytes")]
    TokenTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The token is a JSON serialization; only compact is supported.
    #[error("JWE JSON serialization is not supported (compact only)")]
    JsonSerialization,
    /// The token does not have exactly five dot-separated parts.
    #[error("JWE must have 5 parts, found {found}")]
    PartCount {
        /// Parts found (counting stops at 6).
        found: usize,
    },
    /// The protected header exceeds `JoseLimits::max_protected_header_bytes`.
    #[error("JWE protected header is larger than the limit of {limit} bytes")]
    HeaderTooLarge {
        /// The limit.
        limit: usize,
    },
    /// A part is not strict unpadded base64url.
    #[error("JWE {part} is not valid base64url")]
    Base64 {
        /// The offending part.
        part: Part,
    },
    /// The protected header is not a JSON object.
    #[error("JWE protected header is not a JSON object (at {line}:{column})")]
    HeaderNotJson {
        /// Line of the JSON error.
        line: usize,
        /// Column of the JSON error.
        column: usize,
    },
    /// A header member occurs twice.
    #[error("JWE protected header has a duplicate member")]
    DuplicateHeaderMember,
    /// A required header member is missing.
    #[error("JWE header member {name} is missing")]
    MissingHeaderMember {
        /// Member name.
        name: &'static str,
    },
    /// A header member has the wrong JSON type.
    #[error("JWE header member {name} has the wrong type")]
    HeaderMemberType {
        /// Member name.
        name: &'static str,
    },
    /// `alg` is not `RSA-OAEP-256`.
    #[error("JWE alg {alg:?} is not allowed (only RSA-OAEP-256)")]
    AlgNotAllowed {
        /// The offered value (truncated).
        alg: String,
    },
    /// `enc` is not `A256GCM`.
    #[error("JWE enc {enc:?} is not allowed (only A256GCM)")]
    EncNotAllowed {
        /// The offered value (truncated).
        enc: String,
    },
    /// `zip` is present with a value other than `DEF`.
    #[error("JWE zip {zip:?} is not supported (only DEF)")]
    ZipNotSupported {
        /// The offered value (truncated).
        zip: String,
    },
    /// `crit` is present; no extension is understood.
    #[error("JWE crit is not supported")]
    CritNotSupported,
    /// A header member of another algorithm or a key-injection member is present.
    #[error("JWE header member {name} is not allowed")]
    ForbiddenHeaderMember {
        /// Member name.
        name: &'static str,
    },
    /// The encrypted key has the wrong length for the selected key.
    #[error("JWE encrypted key has {found} bytes; the key needs {expected}")]
    EncryptedKeyLength {
        /// Decoded length.
        found: usize,
        /// Modulus length of the selected key.
        expected: usize,
    },
    /// The encrypted key is longer than any supported RSA key (8192 bits) could produce.
    #[error("JWE encrypted key has {found} bytes; at most 1024 are possible")]
    EncryptedKeyTooLarge {
        /// Decoded length.
        found: usize,
    },
    /// The IV is not 12 bytes.
    #[error("JWE IV has {found} bytes; A256GCM needs 12")]
    IvLength {
        /// Decoded length.
        found: usize,
    },
    /// The tag is not 16 bytes.
    #[error("JWE tag has {found} bytes; A256GCM needs 16")]
    TagLength {
        /// Decoded length.
        found: usize,
    },
    /// No key in the ring has the JWE's `kid`.
    #[error("no decryption key for the JWE kid")]
    UnknownKid,
    /// Decryption failed (opaque; see [`DecryptFailure::reason`] for logs).
    #[error("JWE decryption failed")]
    Decrypt(DecryptFailure),
    /// The `zip: DEF` plaintext inflates beyond `JoseLimits::max_inflated_bytes`.
    #[error("JWE plaintext inflates beyond the limit of {limit} bytes")]
    InflateTooLarge {
        /// The limit.
        limit: usize,
    },
    /// The `zip: DEF` plaintext is not valid raw DEFLATE.
    #[error("JWE plaintext is not valid DEFLATE data")]
    InflateFailed,
    /// The public key given for encryption is unusable.
    #[error("encryption key rejected")]
    EncryptionKey,
    /// A `cty` to be produced contains characters outside visible ASCII.
    #[error("content type must be visible ASCII")]
    InvalidContentType,
}

fn echo(value: &str) -> String {
    value.chars().take(ECHO_MAX).collect()
}

/// The validated protected header of a FIT-Connect JWE.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct JweHeader {
    /// Key id of the destination's encryption key.
    pub kid: String,
    /// Content type of the plaintext, kept as sent.
    pub cty: Option<String>,
    /// `typ`, if the sender set one.
    pub typ: Option<String>,
    /// Whether the plaintext is `zip: DEF` compressed.
    pub deflated: bool,
}

fn string_member(members: &HeaderMembers, name: &'static str) -> Result<Option<String>, JweError> {
    match members.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JweError::HeaderMemberType { name }),
    }
}

impl JweHeader {
    pub(super) fn from_json(json: &[u8]) -> Result<Self, JweError> {
        let members = HeaderMembers::parse(json).map_err(|e| match e {
            HeaderJsonError::Duplicate => JweError::DuplicateHeaderMember,
            HeaderJsonError::Syntax { line, column } => JweError::HeaderNotJson { line, column },
        })?;
        if members.get("crit").is_some() {
            return Err(JweError::CritNotSupported);
        }
        let alg =
            string_member(&members, "alg")?.ok_or(JweError::MissingHeaderMember { name: "alg" })?;
        if alg != ALG_RSA_OAEP_256 {
            return Err(JweError::AlgNotAllowed { alg: echo(&alg) });
        }
        let enc =
            string_member(&members, "enc")?.ok_or(JweError::MissingHeaderMember { name: "enc" })?;
        if enc != ENC_A256GCM {
            return Err(JweError::EncNotAllowed { enc: echo(&enc) });
        }
        let deflated = match string_member(&members, "zip")? {
            None => false,
            Some(z) if z == "DEF" => true,
            Some(z) => return Err(JweError::ZipNotSupported { zip: echo(&z) }),
        };
        if let Some(name) = FORBIDDEN_MEMBERS.iter().find(|n| members.get(n).is_some()) {
            return Err(JweError::ForbiddenHeaderMember { name });
        }
        let kid =
            string_member(&members, "kid")?.ok_or(JweError::MissingHeaderMember { name: "kid" })?;
        Ok(Self {
            kid,
            cty: string_member(&members, "cty")?,
            typ: string_member(&members, "typ")?,
            deflated,
        })
    }
}

/// A parsed compact JWE: limits, allow-list and part lengths enforced.
pub struct CompactJwe<'a> {
    header: JweHeader,
    protected: &'a str,
    encrypted_key: Vec<u8>,
    iv: [u8; IV_LEN],
    /// Ciphertext followed by room for the tag (GCM opens in place).
    ciphertext: Vec<u8>,
    tag: [u8; TAG_LEN],
    tag_text: &'a str,
}

impl std::fmt::Debug for CompactJwe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompactJwe")
            .field("header", &self.header)
            .field("ciphertext_len", &self.ciphertext.len())
            .field("tag", &self.tag_text)
            .finish_non_exhaustive()
    }
}

pub(super) fn fixed<const N: usize>(
    text: &str,
    part: Part,
    wrong: fn(usize) -> JweError,
) -> Result<[u8; N], JweError> {
    // Alphabet and length first: an oversized part is not decoded at all.
    if !text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(JweError::Base64 { part });
    }
    if base64url::decoded_len(text.len()) != N {
        return Err(wrong(base64url::decoded_len(text.len())));
    }
    let bytes = base64url::decode(text).ok_or(JweError::Base64 { part })?;
    bytes.try_into().map_err(|v: Vec<u8>| wrong(v.len()))
}

/// Part 1: within the size limit, strict base64url, a valid FIT-Connect header.
pub(super) fn parse_protected(h: &str, limits: &JoseLimits) -> Result<JweHeader, JweError> {
    if h.len() > limits.max_protected_header_bytes {
        return Err(JweError::HeaderTooLarge {
            limit: limits.max_protected_header_bytes,
        });
    }
    let header_json = base64url::decode(h).ok_or(JweError::Base64 {
        part: Part::ProtectedHeader,
    })?;
    JweHeader::from_json(&header_json)
}

/// Part 2, bounded before decoding: the part is attacker-sized up to the token limit.
pub(super) fn check_encrypted_key_len(text_len: usize) -> Result<(), JweError> {
    let found = base64url::decoded_len(text_len);
    if found > MAX_ENCRYPTED_KEY_LEN {
        return Err(JweError::EncryptedKeyTooLarge { found });
    }
    Ok(())
}

/// Part 2 decoded (after [`check_encrypted_key_len`]).
pub(super) fn decode_encrypted_key(k: &str) -> Result<Vec<u8>, JweError> {
    base64url::decode(k).ok_or(JweError::Base64 {
        part: Part::EncryptedKey,
    })
}

/// The content encryption key of a JWE, or a random one that fails like a bad tag.
pub(super) struct Cek {
    pub(super) key: Zeroizing<[u8; CEK_LEN]>,
    /// Whether the RSA-OAEP unwrap succeeded (false: `key` is random).
    pub(super) unwrapped: bool,
}

impl Cek {
    /// A random key that can only fail (stands in when no key could be chosen).
    pub(super) fn random() -> Self {
        let mut key = Zeroizing::new([0u8; CEK_LEN]);
        aws_lc_rs::rand::fill(key.as_mut()).expect("system RNG available");
        Self {
            key,
            unwrapped: false,
        }
    }

    /// The error to report when the GCM layer (or the unwrap) failed.
    pub(super) fn failure(&self) -> JweError {
        JweError::Decrypt(DecryptFailure {
            reason: if self.unwrapped {
                DecryptReason::Tag
            } else {
                DecryptReason::KeyUnwrap
            },
        })
    }
}

/// Unwraps the CEK with the key of `kid`. A failed unwrap is not reported here: the caller
/// goes on with a random CEK so that it fails exactly like a bad tag (RFC 7516 §11.5).
pub(super) fn unwrap_cek(kid: &str, encrypted_key: &[u8], keys: &KeyRing) -> Result<Cek, JweError> {
    let key = keys.get(kid).ok_or(JweError::UnknownKid)?;
    let expected = key.public_key().modulus_len();
    if encrypted_key.len() != expected {
        return Err(JweError::EncryptedKeyLength {
            found: encrypted_key.len(),
            expected,
        });
    }
    let mut cek = Zeroizing::new([0u8; CEK_LEN]);
    let mut unwrap_buf = Zeroizing::new(vec![0u8; expected]);
    let unwrapped = key
        .oaep()
        .decrypt(
            &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256,
            encrypted_key,
            &mut unwrap_buf,
            None,
        )
        .ok()
        .filter(|cek| cek.len() == CEK_LEN)
        .map(|bytes| cek.copy_from_slice(bytes))
        .is_some();
    if !unwrapped {
        aws_lc_rs::rand::fill(cek.as_mut()).expect("system RNG available");
    }
    Ok(Cek {
        key: cek,
        unwrapped,
    })
}

impl<'a> CompactJwe<'a> {
    /// Parses a compact JWE, enforcing `limits` and the FIT-Connect allow-list.
    ///
    /// # Errors
    /// A precise [`JweError`] for every deviation.
    pub fn parse(token: &'a str, limits: &JoseLimits) -> Result<Self, JweError> {
        if token.len() > limits.max_token_bytes {
            return Err(JweError::TokenTooLarge {
                limit: limits.max_token_bytes,
            });
        }
        if token.trim_start().starts_with('{') {
            return Err(JweError::JsonSerialization);
        }
        let mut parts = token.splitn(6, '.');
        let mut next = || parts.next();
        let (Some(h), Some(k), Some(iv), Some(c), Some(t), None) =
            (next(), next(), next(), next(), next(), next())
        else {
            return Err(JweError::PartCount {
                found: token.split('.').take(6).count(),
            });
        };
        let header = parse_protected(h, limits)?;
        check_encrypted_key_len(k.len())?;
        let encrypted_key = decode_encrypted_key(k)?;
        let iv = fixed::<IV_LEN>(iv, Part::Iv, |found| JweError::IvLength { found })?;
        let tag = fixed::<TAG_LEN>(t, Part::Tag, |found| JweError::TagLength { found })?;
        let mut ciphertext = Vec::with_capacity(base64url::decoded_len(c.len()) + TAG_LEN);
        if !base64url::decode_into(c, &mut ciphertext) {
            return Err(JweError::Base64 {
                part: Part::Ciphertext,
            });
        }
        Ok(Self {
            header,
            protected: h,
            encrypted_key,
            iv,
            ciphertext,
            tag,
            tag_text: t,
        })
    }

    /// The validated protected header.
    #[must_use]
    pub fn header(&self) -> &JweHeader {
        &self.header
    }

    /// Part 5 exactly as sent: what FIT-Connect `authenticationTags` carry.
    #[must_use]
    pub fn authentication_tag(&self) -> &'a str {
        self.tag_text
    }

    /// Length of the ciphertext in bytes.
    #[must_use]
    pub fn ciphertext_len(&self) -> usize {
        self.ciphertext.len()
    }

    /// Decrypts with the key of `kid` from `keys`; inflates `zip: DEF` within the limit.
    ///
    /// # Errors
    /// [`JweError::UnknownKid`], [`JweError::EncryptedKeyLength`], the opaque
    /// [`JweError::Decrypt`], or the inflate errors.
    pub fn decrypt(self, keys: &KeyRing, limits: &JoseLimits) -> Result<Plaintext, JweError> {
        let cek = unwrap_cek(&self.header.kid, &self.encrypted_key, keys)?;
        let mut buffer = Zeroizing::new(self.ciphertext);
        buffer.extend_from_slice(&self.tag);
        let len = match open_a256gcm(&cek.key, self.iv, self.protected.as_bytes(), &mut buffer) {
            Some(len) if cek.unwrapped => len,
            _ => return Err(cek.failure()),
        };
        buffer.truncate(len);
        let bytes = if self.header.deflated {
            inflate_all(&buffer, limits.max_inflated_bytes)?
        } else {
            buffer
        };
        Ok(Plaintext {
            bytes,
            kid: self.header.kid,
            cty: self.header.cty,
            tag: self.tag_text.to_owned(),
        })
    }
}

/// Opens A256GCM in place (`buffer` = ciphertext ‖ tag); the plaintext length on success.
fn open_a256gcm(
    cek: &[u8; CEK_LEN],
    iv: [u8; IV_LEN],
    aad: &[u8],
    buffer: &mut [u8],
) -> Option<usize> {
    let aead =
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, cek).expect("CEK has the AES-256 length"));
    aead.open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(aad), buffer)
        .ok()
        .map(|p| p.len())
}

/// A decrypted JWE payload; zeroized on drop, not `Clone`.
pub struct Plaintext {
    bytes: Zeroizing<Vec<u8>>,
    kid: String,
    cty: Option<String>,
    tag: String,
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plaintext")
            .field("len", &self.bytes.len())
            .field("kid", &self.kid)
            .field("cty", &self.cty)
            .finish_non_exhaustive()
    }
}

impl Plaintext {
    /// The plaintext bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The plaintext bytes, taken out (still zeroized on drop; no copy).
    #[must_use]
    pub fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        self.bytes
    }

    /// The `kid` of the key that decrypted it.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The `cty` the sender declared.
    #[must_use]
    pub fn content_type(&self) -> Option<&str> {
        self.cty.as_deref()
    }

    /// Part 5 of the JWE it came from (for `authenticationTags`).
    #[must_use]
    pub fn authentication_tag(&self) -> &str {
        &self.tag
    }
}

/// Encrypts `plaintext` for `key` (RSA-OAEP-256 + A256GCM, never compressed).
///
/// # Errors
/// [`JweError::EncryptionKey`] if the key is unusable, [`JweError::InvalidContentType`] for a
/// `cty` outside visible ASCII.
pub fn encrypt(
    plaintext: &[u8],
    key: &RsaPublicKey,
    kid: &str,
    cty: Option<&str>,
) -> Result<String, JweError> {
    if cty.is_some_and(|c| !c.bytes().all(|b| b.is_ascii_graphic() || b == b' ')) {
        return Err(JweError::InvalidContentType);
    }
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), ALG_RSA_OAEP_256.into());
    header.insert("enc".into(), ENC_A256GCM.into());
    header.insert("kid".into(), kid.into());
    if let Some(cty) = cty {
        header.insert("cty".into(), cty.into());
    }
    let header = serde_json::to_vec(&header).expect("a JSON map serializes");
    encrypt_with_header(plaintext, key, &header)
}

/// Encrypts with an arbitrary protected header, unchecked. For tests and test-vector
/// generation only (hostile headers); production code calls [`encrypt`].
///
/// # Errors
/// [`JweError::EncryptionKey`] if the key is unusable.
#[doc(hidden)]
pub fn encrypt_with_header(
    plaintext: &[u8],
    key: &RsaPublicKey,
    header: &[u8],
) -> Result<String, JweError> {
    let wrapping = aws_lc_rs::rsa::OaepPublicEncryptingKey::new(
        key.encrypting_key().map_err(|_| JweError::EncryptionKey)?,
    )
    .map_err(|_| JweError::EncryptionKey)?;
    let mut cek = Zeroizing::new([0u8; CEK_LEN]);
    let mut iv = [0u8; IV_LEN];
    aws_lc_rs::rand::fill(cek.as_mut()).expect("system RNG available");
    aws_lc_rs::rand::fill(&mut iv).expect("system RNG available");
    let mut encrypted_key = vec![0u8; wrapping.ciphertext_size()];
    let encrypted_key = wrapping
        .encrypt(
            &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256,
            cek.as_ref(),
            &mut encrypted_key,
            None,
        )
        .map_err(|_| JweError::EncryptionKey)?;

    let protected = base64url::encode(header);
    let aead = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, cek.as_ref()).expect("CEK has the AES-256 length"),
    );
    let mut buffer = Zeroizing::new(plaintext.to_vec());
    let tag = aead
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut buffer,
        )
        .map_err(|_| JweError::EncryptionKey)?;
    let mut out = String::with_capacity(
        protected.len() + encrypted_key.len() * 4 / 3 + buffer.len() * 4 / 3 + 64,
    );
    out.push_str(&protected);
    out.push('.');
    base64url::encode_into(encrypted_key, &mut out);
    out.push('.');
    base64url::encode_into(&iv, &mut out);
    out.push('.');
    base64url::encode_into(&buffer, &mut out);
    out.push('.');
    base64url::encode_into(tag.as_ref(), &mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::test_keys;

    fn limits() -> JoseLimits {
        JoseLimits::default()
    }

    #[test]
    fn rfc7516_a1_content_encryption_vector() {
        // RFC 7516 Appendix A.1: the A256GCM layer (CEK, IV, AAD, ciphertext, tag).
        let cek: [u8; 32] = [
            177, 161, 244, 128, 84, 143, 225, 115, 63, 180, 3, 255, 107, 154, 212, 246, 138, 7,
            110, 91, 112, 46, 34, 105, 47, 130, 203, 46, 122, 234, 64, 252,
        ];
        let iv: [u8; 12] = base64url::decode("48V1_ALb6US04U3b")
            .expect("b64")
            .try_into()
            .expect("12");
        let aad = b"eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ";
        let mut buf = base64url::decode(
            "5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A",
        )
        .expect("b64");
        buf.extend(base64url::decode("XFBoMYUZodetZdvTiFvSkQ").expect("b64"));
        let len = open_a256gcm(&cek, iv, aad, &mut buf).expect("vector opens");
        assert_eq!(
            &buf[..len],
            b"The true sign of intelligence is not knowledge but imagination."
        );
        buf[0] ^= 1;
        assert!(open_a256gcm(&cek, iv, aad, &mut buf).is_none());
    }

    #[test]
    fn round_trip_keeps_cty_kid_and_tag() {
        let (ring, public, kid) = test_keys::encryption();
        let token = encrypt(b"hello", public, kid, Some("application/json")).expect("encrypt");
        let jwe = CompactJwe::parse(&token, &limits()).expect("parse");
        let tag = jwe.authentication_tag().to_owned();
        assert_eq!(tag, token.rsplit('.').next().expect("5 parts"));
        assert!(!jwe.header().deflated);
        let plain = jwe.decrypt(ring, &limits()).expect("decrypt");
        assert_eq!(plain.bytes(), b"hello");
        assert_eq!(plain.content_type(), Some("application/json"));
        assert_eq!(plain.kid(), kid);
        assert_eq!(plain.authentication_tag(), tag);
    }

    #[test]
    fn deflate_is_inflated_within_limit() {
        use std::io::Write as _;
        let (ring, public, kid) = test_keys::encryption();
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        z.write_all(&[b'a'; 10_000]).expect("mem");
        let compressed = z.finish().expect("mem");
        let header =
            format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","zip":"DEF","kid":"{kid}"}}"#);
        let token = encrypt_with_header(&compressed, public, header.as_bytes()).expect("enc");
        let plain = CompactJwe::parse(&token, &limits())
            .and_then(|j| j.decrypt(ring, &limits()))
            .expect("decrypt");
        assert_eq!(plain.bytes(), &[b'a'; 10_000][..]);
        let mut small = limits();
        small.max_inflated_bytes = 9_999;
        let err = CompactJwe::parse(&token, &small)
            .and_then(|j| j.decrypt(ring, &small))
            .expect_err("over limit");
        assert_eq!(err, JweError::InflateTooLarge { limit: 9_999 });
    }

    #[test]
    fn wrong_key_and_tampering_are_opaque() {
        let (ring, public, kid) = test_keys::encryption();
        let token = encrypt(b"secret", public, kid, None).expect("encrypt");
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        // Flip one bit of the encrypted key: OAEP fails, error is the same opaque one.
        let mut ek = base64url::decode(&parts[1]).expect("b64");
        ek[100] ^= 1;
        parts[1] = base64url::encode(&ek);
        let err = CompactJwe::parse(&parts.join("."), &limits())
            .and_then(|j| j.decrypt(ring, &limits()))
            .expect_err("tampered");
        assert_eq!(err.to_string(), "JWE decryption failed");
        let JweError::Decrypt(f) = err else {
            panic!("opaque")
        };
        assert_eq!(f.reason(), DecryptReason::KeyUnwrap);
    }
}
