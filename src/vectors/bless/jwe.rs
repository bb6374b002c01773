//! `jwe` cases: FIT-Connect §3.1 (RSA-OAEP-256 + A256GCM, compact only, `zip: DEF` accepted
//! on decrypt) and the JWE rules of RFC 7516 / RFC 8725 the gateway enforces.

use std::io::Write as _;

use serde_json::{Value, json};

use super::{Gen, Keys};
use crate::fitconnect::hash::sha512_hex;
use crate::jose::base64url;
use crate::jose::jwe::encrypt_with_header;
use crate::vectors::{Kind, VectorsError};

const RULE: &str = "FIT-Connect §3.1 (JWE: RSA-OAEP-256, A256GCM, compact serialization)";
const META: &[u8] = br#"{"contentStructure":{"attachments":[]}}"#;

fn err(e: impl std::fmt::Display) -> VectorsError {
    VectorsError::Format(e.to_string())
}

/// A JWE with the given header members (the key's kid unless `kid` is in `extra`).
fn seal(keys: &Keys, header: &Value, plaintext: &[u8]) -> Result<Vec<u8>, VectorsError> {
    let bytes = serde_json::to_vec(header).map_err(err)?;
    encrypt_with_header(plaintext, &keys.enc_public, &bytes)
        .map(String::into_bytes)
        .map_err(err)
}

fn base(kid: &str) -> Value {
    json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid})
}

fn with(kid: &str, member: &str, value: Value) -> Value {
    let mut h = base(kid);
    h[member] = value;
    h
}

fn without(kid: &str, member: &str) -> Value {
    let mut h = base(kid);
    h.as_object_mut().expect("object").remove(member);
    h
}

fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("in-memory write");
    enc.finish().expect("in-memory write")
}

/// Replaces part `index` (0-based) of a compact JWE.
fn replace_part(token: &[u8], index: usize, f: impl FnOnce(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8_lossy(token);
    let mut parts: Vec<String> = text.split('.').map(str::to_owned).collect();
    parts[index] = f(&parts[index]);
    parts.join(".").into_bytes()
}

/// Flips one bit in the decoded bytes of a part.
fn flip(part: &str, byte: usize) -> String {
    let mut bytes = base64url::decode(part).expect("own part is base64url");
    let i = byte.min(bytes.len().saturating_sub(1));
    bytes[i] ^= 0x01;
    base64url::encode(&bytes)
}

fn plaintext(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    header: &Value,
    plain: &[u8],
    zip: bool,
) -> Result<(), VectorsError> {
    let header = header.clone();
    let body = if zip { deflate(plain) } else { plain.to_vec() };
    let file = g.random_file(&format!("jwe/{id}.jwe"), |k| seal(k, &header, &body))?;
    g.case(
        id,
        Kind::Jwe,
        desc,
        rule,
        &[("token", file)],
        json!({"result": "plaintext", "sha512": sha512_hex(plain), "length": plain.len()}),
    );
    Ok(())
}

fn error(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    failure: &str,
    reason: &str,
    make: impl FnOnce(&Keys) -> Result<Vec<u8>, VectorsError>,
) -> Result<(), VectorsError> {
    let file = g.random_file(&format!("jwe/{id}.jwe"), make)?;
    g.case(
        id,
        Kind::Jwe,
        desc,
        rule,
        &[("token", file)],
        json!({"result": "error", "failure": failure, "reason": reason}),
    );
    Ok(())
}

#[allow(clippy::too_many_lines)]
pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    let kid = g.keys.enc_kid.clone();
    let b = base(&kid);
    let json_cty = with(&kid, "cty", json!("application/json"));
    let xml_cty = with(&kid, "cty", json!("application/xml"));
    let zip_cty = {
        let mut h = json_cty.clone();
        h["zip"] = json!("DEF");
        h
    };
    let typ = {
        let mut h = json_cty.clone();
        h["typ"] = json!("JWE");
        h
    };
    let pdf = with(&kid, "cty", json!("application/pdf"));
    let unknown_kid = with(&kid, "kid", json!("unknown-kid-of-another-destination"));

    // Valid: what senders legitimately produce.
    plaintext(
        g,
        "jwe-valid-metadata-json",
        "Metadata JSON with cty application/json decrypts.",
        RULE,
        &json_cty,
        META,
        false,
    )?;
    plaintext(
        g,
        "jwe-valid-without-cty",
        "cty is optional in the JWE layer; the JWE decrypts.",
        RULE,
        &b,
        META,
        false,
    )?;
    plaintext(g, "jwe-valid-data-xml", "XML Fachdaten with cty application/xml decrypt.", RULE, &xml_cty, b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<antrag xmlns=\"urn:poststelle:test-vectors:antrag\"/>\n", false)?;
    plaintext(
        g,
        "jwe-valid-zip-def",
        "zip DEF (older SDKs) must be accepted on decrypt; the hash is over the inflated bytes.",
        "FIT-Connect §3.1 zip row, §8 (hash over the uncompressed payload)",
        &zip_cty,
        &META.repeat(40),
        true,
    )?;
    plaintext(
        g,
        "jwe-valid-typ-jwe",
        "typ JWE (python client) is allowed.",
        RULE,
        &typ,
        META,
        false,
    )?;
    plaintext(
        g,
        "jwe-valid-empty-plaintext",
        "An empty plaintext decrypts to zero bytes.",
        RULE,
        &json_cty,
        b"",
        false,
    )?;
    plaintext(
        g,
        "jwe-valid-binary-attachment",
        "Attachment bytes (all 256 byte values) decrypt unchanged.",
        "FIT-Connect §3.1 (attachment plaintext = raw file bytes)",
        &pdf,
        &(0u8..=255).cycle().take(4096).collect::<Vec<_>>(),
        false,
    )?;
    plaintext(
        g,
        "jwe-valid-attachment-cty-json",
        "Receivers must not rely on attachment cty (PHP client labels everything application/json).",
        "FIT-Connect §3.1 (attachment cty unreliable)",
        &json_cty,
        b"%PDF-1.7\n%test\n",
        false,
    )?;
    plaintext(
        g,
        "jwe-valid-unicode",
        "UTF-8 plaintext with non-ASCII characters decrypts byte for byte.",
        RULE,
        &json_cty,
        "{\"contentStructure\":{\"attachments\":[]},\"x-name\":\"Müller-Lüdenscheidt ß €\"}"
            .as_bytes(),
        false,
    )?;
    plaintext(
        g,
        "jwe-valid-large-100k",
        "A 100 KiB plaintext decrypts.",
        RULE,
        &json_cty,
        &b"0123456789abcdef".repeat(6400),
        false,
    )?;
    plaintext(
        g,
        "jwe-valid-header-extra-member",
        "Unknown harmless header members (x-trace) are ignored.",
        "RFC 7516 §4 (unknown members ignored unless crit)",
        &with(&kid, "x-trace", json!("abc")),
        META,
        false,
    )?;

    // Algorithm allow-list.
    for (alg, id) in [
        ("RSA1_5", "rsa1_5"),
        ("RSA-OAEP", "rsa-oaep-sha1"),
        ("dir", "dir"),
        ("A256KW", "a256kw"),
        ("none", "none"),
        ("ECDH-ES", "ecdh-es"),
        ("PBES2-HS512+A256KW", "pbes2"),
    ] {
        let h = with(&kid, "alg", json!(alg));
        error(
            g,
            &format!("jwe-alg-{id}-refused"),
            &format!("alg {alg} is outside the FIT-Connect profile."),
            "FIT-Connect §3.1 alg = RSA-OAEP-256 only",
            "jwe-unsupported-algorithm",
            "alg-not-allowed",
            |k| seal(k, &h, META),
        )?;
    }
    for (enc, id) in [
        ("A128GCM", "a128gcm"),
        ("A256CBC-HS512", "a256cbc-hs512"),
        ("A192GCM", "a192gcm"),
    ] {
        let h = with(&kid, "enc", json!(enc));
        error(
            g,
            &format!("jwe-enc-{id}-refused"),
            &format!("enc {enc} is outside the FIT-Connect profile."),
            "FIT-Connect §3.1 enc = A256GCM only",
            "jwe-unsupported-algorithm",
            "enc-not-allowed",
            |k| seal(k, &h, META),
        )?;
    }
    let h = with(&kid, "zip", json!("GZIP"));
    error(
        g,
        "jwe-zip-gzip-refused",
        "zip values other than DEF are not defined.",
        "RFC 7516 §4.1.3 (zip: DEF only)",
        "jwe-unsupported-algorithm",
        "zip-not-supported",
        |k| seal(k, &h, META),
    )?;
    let h = with(&kid, "crit", json!(["exp"]));
    error(
        g,
        "jwe-crit-refused",
        "crit names extensions the receiver does not understand.",
        "RFC 7516 §4.1.13 (crit)",
        "jwe-unsupported-algorithm",
        "crit-not-supported",
        |k| seal(k, &h, META),
    )?;
    for (member, value) in [
        ("jku", json!("https://attacker.invalid/jwks.json")),
        ("jwk", json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"})),
        ("x5u", json!("https://attacker.invalid/cert.pem")),
        ("epk", json!({"kty": "EC"})),
        ("p2s", json!("c2FsdA")),
        ("iv", json!("AAAAAAAAAAAAAAAA")),
    ] {
        let h = with(&kid, member, value);
        error(
            g,
            &format!("jwe-header-{member}-refused"),
            &format!("Header member {member} (key injection / other algorithm) is refused."),
            "RFC 8725 §3.1, §2.1 (no keys from the token; algorithm confusion)",
            "jwe-unsupported-algorithm",
            "forbidden-header-member",
            |k| seal(k, &h, META),
        )?;
    }
    for member in ["alg", "enc", "kid"] {
        let h = without(&kid, member);
        error(
            g,
            &format!("jwe-missing-{member}"),
            &format!("The protected header has no {member}."),
            "FIT-Connect §3.1 header table (alg, enc, kid required)",
            "jwe-malformed",
            "missing-header-member",
            |k| seal(k, &h, META),
        )?;
    }
    let h = with(&kid, "kid", json!(42));
    error(
        g,
        "jwe-kid-not-string",
        "kid must be a string.",
        "RFC 7517 §4.5",
        "jwe-malformed",
        "header-member-type",
        |k| seal(k, &h, META),
    )?;
    let dup =
        format!(r#"{{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"{kid}","alg":"RSA-OAEP-256"}}"#);
    error(
        g,
        "jwe-duplicate-header-member",
        "A header with a duplicate member name is refused (parsers disagree on which wins).",
        "RFC 7515 §4 / RFC 8725 §3.1 (duplicate members)",
        "jwe-malformed",
        "duplicate-header-member",
        |k| {
            encrypt_with_header(META, &k.enc_public, dup.as_bytes())
                .map(String::into_bytes)
                .map_err(err)
        },
    )?;
    error(
        g,
        "jwe-header-not-json",
        "The protected header is not JSON.",
        "RFC 7516 §5.2 step 3",
        "jwe-malformed",
        "header-not-json",
        |k| {
            encrypt_with_header(META, &k.enc_public, b"{alg:RSA-OAEP-256}")
                .map(String::into_bytes)
                .map_err(err)
        },
    )?;

    // Serialization and part lengths.
    let bh = b.clone();
    error(
        g,
        "jwe-four-parts",
        "A compact JWE has exactly five parts.",
        "RFC 7516 §7.1",
        "jwe-malformed",
        "part-count",
        |k| {
            let t = seal(k, &bh, META)?;
            let s = String::from_utf8_lossy(&t).to_string();
            Ok(s.as_bytes()[..s.rfind('.').expect("five parts")].to_vec())
        },
    )?;
    let bh = b.clone();
    error(
        g,
        "jwe-six-parts",
        "A sixth part is refused.",
        "RFC 7516 §7.1",
        "jwe-malformed",
        "part-count",
        |k| {
            let mut t = seal(k, &bh, META)?;
            t.extend_from_slice(b".AAAA");
            Ok(t)
        },
    )?;
    error(
        g,
        "jwe-json-serialization",
        "The JSON serialization is not used by FIT-Connect.",
        "FIT-Connect §3.1 (compact serialization only)",
        "jwe-malformed",
        "json-serialization",
        |_| {
            Ok(br#"{"protected":"eyJhbGciOiJSU0EtT0FFUC0yNTYifQ","ciphertext":"AAAA","iv":"AAAA","tag":"AAAA"}"#.to_vec())
        },
    )?;
    let bh = b.clone();
    error(
        g,
        "jwe-base64-padding",
        "Parts are unpadded base64url; '=' padding is refused.",
        "RFC 7515 §2 (base64url without padding)",
        "jwe-malformed",
        "base64",
        |k| Ok(replace_part(&seal(k, &bh, META)?, 2, |p| format!("{p}=="))),
    )?;
    let bh = b.clone();
    error(
        g,
        "jwe-base64-standard-alphabet",
        "Standard base64 characters (+ /) are refused.",
        "RFC 7515 §2",
        "jwe-malformed",
        "base64",
        |k| {
            Ok(replace_part(&seal(k, &bh, META)?, 3, |p| {
                format!("+/{}", &p[2..])
            }))
        },
    )?;
    let bh = b.clone();
    error(
        g,
        "jwe-iv-16-bytes",
        "The A256GCM IV is 96 bits; 128 bits are refused.",
        "RFC 7518 §5.3 (96-bit IV)",
        "jwe-malformed",
        "iv-length",
        |k| {
            Ok(replace_part(&seal(k, &bh, META)?, 2, |_| {
                base64url::encode(&[7u8; 16])
            }))
        },
    )?;
    let bh = b.clone();
    error(
        g,
        "jwe-tag-12-bytes",
        "The A256GCM tag is 128 bits; a truncated tag is refused.",
        "RFC 7518 §5.3 (128-bit tag)",
        "jwe-malformed",
        "tag-length",
        |k| {
            Ok(replace_part(&seal(k, &bh, META)?, 4, |p| {
                base64url::encode(&base64url::decode(p).expect("own tag")[..12])
            }))
        },
    )?;
    let bh = b.clone();
    error(
        g,
        "jwe-encrypted-key-truncated",
        "The encrypted key must be as long as the RSA modulus.",
        "RFC 8017 §7.1.2 (ciphertext length = k)",
        "jwe-malformed",
        "encrypted-key-length",
        |k| {
            Ok(replace_part(&seal(k, &bh, META)?, 1, |p| {
                base64url::encode(&base64url::decode(p).expect("own key")[..256])
            }))
        },
    )?;

    // Keys and integrity.
    error(
        g,
        "jwe-unknown-kid",
        "No decryption key has the JWE's kid.",
        "FIT-Connect §3.1 kid = encryptionKid; §7 (select key by kid)",
        "jwe-unknown-key",
        "unknown-kid",
        |k| seal(k, &unknown_kid, META),
    )?;
    let bh = b.clone();
    error(
        g,
        "jwe-encrypted-to-other-key",
        "The kid is ours but the CEK was wrapped for another key.",
        "RFC 7516 §11.5 (opaque decryption failure)",
        "jwe-decryption-failed",
        "decryption-failed",
        |k| {
            let bytes = serde_json::to_vec(&bh).map_err(err)?;
            encrypt_with_header(META, &k.unrelated_enc_public, &bytes)
                .map(String::into_bytes)
                .map_err(err)
        },
    )?;
    for (part, name) in [
        (1usize, "encrypted-key"),
        (2, "iv"),
        (3, "ciphertext"),
        (4, "tag"),
    ] {
        let bh = b.clone();
        error(
            g,
            &format!("jwe-tampered-{name}"),
            &format!("One bit of the {name} is flipped."),
            "RFC 7516 §5.2 steps 10-14 (GCM authentication)",
            "jwe-decryption-failed",
            "decryption-failed",
            |k| Ok(replace_part(&seal(k, &bh, META)?, part, |p| flip(p, 5))),
        )?;
    }
    let (jh, pdf_h) = (json_cty.clone(), pdf.clone());
    error(
        g,
        "jwe-tampered-protected-header",
        "The protected header (the GCM AAD) was re-encoded with another cty.",
        "RFC 7516 §5.1 step 14 (AAD = encoded protected header)",
        "jwe-decryption-failed",
        "decryption-failed",
        |k| {
            let t = seal(k, &jh, META)?;
            Ok(replace_part(&t, 0, |_| {
                base64url::encode(&serde_json::to_vec(&pdf_h).expect("json"))
            }))
        },
    )?;
    let z = with(&kid, "zip", json!("DEF"));
    error(
        g,
        "jwe-zip-def-invalid-deflate",
        "zip DEF but the plaintext is not a DEFLATE stream.",
        "RFC 7516 §4.1.3, RFC 1951",
        "jwe-inflate",
        "inflate-failed",
        |k| seal(k, &z, &[0xff, 0xff, 0xff, 0xff]),
    )?;
    let z = with(&kid, "zip", json!("DEF"));
    error(
        g,
        "jwe-zip-def-bomb",
        "zip DEF expanding beyond the 64 MiB inflate limit (a decompression bomb) is refused.",
        "poststelle limit jose.max_inflated_bytes = 64 MiB (README: limits)",
        "jwe-inflate",
        "inflate-too-large",
        |k| seal(k, &z, &deflate(&vec![0u8; 65 * 1024 * 1024 + 1])),
    )?;
    Ok(())
}
