//! `poststelle keys generate --out DIR` and `poststelle keys check FILE`.
//!
//! `generate` writes an encryption and a signing key pair (RSA-4096, JWK with a self-signed
//! `x5c`) for sandbox and test use: `enc.private.jwk.json`, `enc.public.jwk.json`,
//! `enc.private.pem`, the same with `sig.`, and `jwks.json` with both public keys.
//! `check` applies the FIT-Connect public key rules to a public JWK (exit 1 if violated), or
//! loads a private JWK/PEM to show it is usable.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand, ValueEnum};

use super::keyfile;
use crate::error::{CliError, Verdict};
use crate::fitconnect::keys::{self, Jwks, TestKeyPair};
use crate::jose::jwk::{DecryptionKey, Jwk, KeyUse, SigningKey};
use crate::jose::x509::{CertError, TrustPolicy};
use crate::private_file;

/// Arguments of `poststelle keys`.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Generate an encryption and a signing key pair (RSA-4096, self-signed x5c; tests only).
    Generate {
        /// Directory to write the key files into (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Check a JWK against the FIT-Connect key rules.
    Check {
        /// What the key is for (default: taken from its alg).
        #[arg(long = "use", value_enum)]
        key_use: Option<UseArg>,
        /// Trust anchor certificates (PEM bundle or one DER certificate); repeatable.
        #[arg(long = "trust-anchor", visible_alias = "anchor", value_name = "FILE")]
        anchors: Vec<PathBuf>,
        /// DANGEROUS: accept a self-signed certificate (sandbox and tests only).
        #[arg(long)]
        dangerous_allow_self_signed: bool,
        /// The key file (JWK JSON, or PKCS#8 PEM for a private key).
        #[arg(value_name = "KEY")]
        file: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum UseArg {
    Enc,
    Sig,
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Writes a key file: private halves through [`private_file::write`] (0600 from creation, no
/// symlink followed, atomic replace), public ones as ordinary files.
fn write_file(path: &Path, contents: &[u8], private: bool) -> Result<(), CliError> {
    use std::io::Write as _;
    if private {
        return private_file::write(path, contents).map_err(|e| keyfile::io_error(path, e));
    }
    let mut file = std::fs::File::create(path).map_err(|e| keyfile::io_error(path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| keyfile::io_error(path, e))
}

fn pretty(jwk: &Jwk) -> String {
    let value: serde_json::Value = serde_json::from_str(&jwk.to_json()).expect("JWK JSON");
    serde_json::to_string_pretty(&value).expect("JSON value") + "\n"
}

fn write_pair(dir: &Path, prefix: &str, pair: &TestKeyPair) -> Result<(), CliError> {
    let private = zeroize::Zeroizing::new(pretty(&pair.private_jwk));
    write_file(
        &dir.join(format!("{prefix}.private.jwk.json")),
        private.as_bytes(),
        true,
    )?;
    write_file(
        &dir.join(format!("{prefix}.private.pem")),
        pair.pkcs8_pem.as_bytes(),
        true,
    )?;
    write_file(
        &dir.join(format!("{prefix}.public.jwk.json")),
        pretty(&pair.public_jwk).as_bytes(),
        false,
    )
}

fn generate(out: &Path) -> Result<Verdict, CliError> {
    std::fs::create_dir_all(out).map_err(|e| keyfile::io_error(out, e))?;
    let now = unix_now();
    let failed = |e: keys::PublicKeyError| CliError::Usage(format!("key generation failed: {e}"));
    let enc = keys::generate_test_key_pair(KeyUse::Encryption, now).map_err(failed)?;
    let sig = keys::generate_test_key_pair(KeyUse::Signature, now).map_err(failed)?;
    write_pair(out, "enc", &enc)?;
    write_pair(out, "sig", &sig)?;
    let jwks = Jwks::to_json(&[&enc.public_jwk, &sig.public_jwk]);
    write_file(&out.join("jwks.json"), (jwks + "\n").as_bytes(), false)?;
    for (name, pair) in [("encryption", &enc), ("signing", &sig)] {
        eprintln!(
            "{name} key kid={} (self-signed x5c: for sandbox and tests only)",
            pair.public_jwk.kid.as_deref().unwrap_or("-")
        );
    }
    eprintln!("wrote {}", out.display());
    Ok(Verdict::Done)
}

fn check(
    file: &Path,
    key_use: Option<UseArg>,
    anchors: &[PathBuf],
    dangerous: bool,
) -> Result<Verdict, CliError> {
    let text = keyfile::read_key_text(file)?;
    let name = file.display();
    if keyfile::is_pem(&text) {
        let result = match key_use {
            Some(UseArg::Sig) => {
                SigningKey::from_pkcs8_pem(&text, None).map(|k| k.kid().to_owned())
            }
            _ => DecryptionKey::from_pkcs8_pem(&text, None).map(|k| k.kid().to_owned()),
        };
        return Ok(match result {
            Ok(kid) => {
                println!("{name}: ok (PKCS#8 private key, thumbprint kid {kid})");
                Verdict::Done
            }
            Err(e) => {
                println!("{name}: {e}");
                Verdict::Refused
            }
        });
    }
    let jwk = match Jwk::from_json(&text) {
        Ok(jwk) => jwk,
        Err(e) => {
            println!("{name}: {e}");
            return Ok(Verdict::Refused);
        }
    };
    let key_use = match (key_use, jwk.alg.as_deref()) {
        (Some(UseArg::Enc), _) | (None, Some("RSA-OAEP-256")) => KeyUse::Encryption,
        (Some(UseArg::Sig), _) | (None, Some("PS512")) => KeyUse::Signature,
        (None, _) => {
            println!("{name}: alg is neither RSA-OAEP-256 nor PS512; pass --use");
            return Ok(Verdict::Refused);
        }
    };
    if jwk.d.is_some() {
        let loaded = match key_use {
            KeyUse::Encryption => DecryptionKey::from_jwk(&jwk).map(|k| k.kid().to_owned()),
            _ => SigningKey::from_jwk(&jwk).map(|k| k.kid().to_owned()),
        };
        return Ok(match loaded {
            Ok(kid) => {
                println!("{name}: ok (private {} key, kid {kid})", key_use.alg());
                Verdict::Done
            }
            Err(e) => {
                println!("{name}: {e}");
                Verdict::Refused
            }
        });
    }
    let mut policy = TrustPolicy::default();
    for anchor in anchors {
        policy.anchors.extend(keyfile::read_anchors(anchor)?);
    }
    if dangerous {
        eprintln!("warning: DANGEROUS: accepting self-signed certificates");
        policy.dangerous_allow_self_signed = true;
    }
    Ok(
        match keys::validate_public_key(&jwk, key_use, &policy, unix_now()) {
            Ok(key) => {
                println!(
                    "{name}: ok (FIT-Connect {} key, kid {}, {} bits)",
                    key_use.alg(),
                    key.kid,
                    key.key.bits()
                );
                Verdict::Done
            }
            Err(e @ keys::PublicKeyError::Certificate(CertError::SelfSigned)) => {
                println!("{name}: {e}; {SELF_SIGNED_FLAG} accepts it (sandbox and tests only)");
                Verdict::Refused
            }
            Err(e) => {
                println!("{name}: {e}");
                Verdict::Refused
            }
        },
    )
}

/// The switch of `keys check` that accepts self-signed certificates, as clap spells it.
const SELF_SIGNED_FLAG: &str = "--dangerous-allow-self-signed";

/// Runs `keys`, returning its verdict.
///
/// # Errors
/// [`CliError`] for usage and I/O failures (exit 2).
pub fn execute(args: &KeysArgs) -> Result<Verdict, CliError> {
    match &args.command {
        KeysCommand::Generate { out } => generate(out),
        KeysCommand::Check {
            key_use,
            anchors,
            dangerous_allow_self_signed,
            file,
        } => check(file, *key_use, anchors, *dangerous_allow_self_signed),
    }
}
