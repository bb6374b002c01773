//! The few DER structures of RSA keys we read (PKCS#1 `RSAPrivateKey`/`RSAPublicKey` inside
//! PKCS#8 and SubjectPublicKeyInfo), and the PEM armour around PKCS#8.
//!
//! aws-lc-rs builds keys from components and exports PKCS#8, but does not hand out private
//! components; JWK export needs them, so this reader walks the DER. It accepts only definite
//! lengths and never allocates beyond its input.

use zeroize::Zeroizing;

use super::base64url;

/// A DER integer's magnitude without leading zero bytes (big-endian).
fn positive(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// A minimal DER reader over one buffer.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn tlv(&mut self, tag: u8) -> Option<&'a [u8]> {
        let (&t, rest) = self.rest.split_first()?;
        if t != tag {
            return None;
        }
        let (&first, mut rest) = rest.split_first()?;
        let len = if first < 0x80 {
            usize::from(first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || rest.len() < count {
                return None;
            }
            let mut len = 0usize;
            for &b in &rest[..count] {
                len = (len << 8) | usize::from(b);
            }
            rest = &rest[count..];
            len
        };
        if rest.len() < len {
            return None;
        }
        let (value, rest) = rest.split_at(len);
        self.rest = rest;
        Some(value)
    }
}

/// Private RSA components, big-endian without leading zeros; zeroized on drop.
pub(crate) struct RsaPrivateComponents {
    pub(crate) n: Vec<u8>,
    pub(crate) e: Vec<u8>,
    pub(crate) d: Zeroizing<Vec<u8>>,
    pub(crate) p: Zeroizing<Vec<u8>>,
    pub(crate) q: Zeroizing<Vec<u8>>,
    pub(crate) dp: Zeroizing<Vec<u8>>,
    pub(crate) dq: Zeroizing<Vec<u8>>,
    pub(crate) qi: Zeroizing<Vec<u8>>,
}

/// Reads a PKCS#8 `PrivateKeyInfo` holding a two-prime RSA key.
pub(crate) fn rsa_private_from_pkcs8(der: &[u8]) -> Option<RsaPrivateComponents> {
    let mut outer = Reader { rest: der };
    let mut info = Reader {
        rest: outer.tlv(0x30)?,
    };
    info.tlv(0x02)?; // version
    info.tlv(0x30)?; // algorithm identifier (aws-lc checked it)
    let key = info.tlv(0x04)?;
    let mut seq = Reader {
        rest: Reader { rest: key }.tlv(0x30)?,
    };
    if positive(seq.tlv(0x02)?) != [] as [u8; 0] {
        return None; // multi-prime keys (version 1) are not used by JOSE RSA
    }
    let mut next = || seq.tlv(0x02).map(|v| positive(v).to_vec());
    Some(RsaPrivateComponents {
        n: next()?,
        e: next()?,
        d: Zeroizing::new(next()?),
        p: Zeroizing::new(next()?),
        q: Zeroizing::new(next()?),
        dp: Zeroizing::new(next()?),
        dq: Zeroizing::new(next()?),
        qi: Zeroizing::new(next()?),
    })
}

/// Reads a PKCS#1 `RSAPublicKey` (`SEQUENCE { n, e }`) into (n, e) without leading zeros.
pub(crate) fn rsa_public_from_pkcs1(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut seq = Reader {
        rest: Reader { rest: der }.tlv(0x30)?,
    };
    let n = positive(seq.tlv(0x02)?).to_vec();
    let e = positive(seq.tlv(0x02)?).to_vec();
    Some((n, e))
}

/// Extracts the DER body of a `-----BEGIN PRIVATE KEY-----` PEM block (PKCS#8 only).
pub(crate) fn pkcs8_from_pem(pem: &str) -> Option<Zeroizing<Vec<u8>>> {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let start = pem.find(BEGIN)? + BEGIN.len();
    let end = start + pem[start..].find(END)?;
    let body: Zeroizing<String> = Zeroizing::new(
        pem[start..end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    base64url::decode_standard(&body).map(Zeroizing::new)
}

/// Wraps PKCS#8 DER in PEM armour.
pub(crate) fn pkcs8_to_pem(der: &[u8]) -> Zeroizing<String> {
    let b64 = Zeroizing::new(base64url::encode_standard(der));
    let mut out = Zeroizing::new(String::with_capacity(b64.len() + b64.len() / 64 + 64));
    out.push_str("-----BEGIN PRIVATE KEY-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_rsa_public_key_and_refuses_truncation() {
        // SEQUENCE { INTEGER 0x00c5, INTEGER 0x010001 }
        let der = [
            0x30, 0x09, 0x02, 0x02, 0x00, 0xc5, 0x02, 0x03, 0x01, 0x00, 0x01,
        ];
        let (n, e) = rsa_public_from_pkcs1(&der).expect("valid");
        assert_eq!(n, [0xc5]);
        assert_eq!(e, [1, 0, 1]);
        assert!(rsa_public_from_pkcs1(&der[..8]).is_none());
        assert!(rsa_public_from_pkcs1(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
    }

    #[test]
    fn pem_armour_round_trip() {
        let pem = pkcs8_to_pem(&[1, 2, 3, 4]);
        assert_eq!(
            pkcs8_from_pem(&pem).as_deref().map(Vec::as_slice),
            Some(&[1u8, 2, 3, 4][..])
        );
        assert!(
            pkcs8_from_pem("-----BEGIN RSA PRIVATE KEY-----\nAQID\n-----END RSA PRIVATE KEY-----")
                .is_none()
        );
    }
}
