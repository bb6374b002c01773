//! `poststelle encrypt --key PUB.jwk --cty TYPE FILE`: encrypts a file as a FIT-Connect JWE
//! (RSA-OAEP-256 + A256GCM, never compressed); the compact JWE goes to stdout.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::keyfile;
use crate::config::Limits;
use crate::error::{CliError, Verdict};
use crate::jose::jwe;
use crate::jose::jwk::{Jwk, KeyUse};

/// Arguments of `poststelle encrypt`.
#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// The destination's public encryption key (JWK with kid, alg RSA-OAEP-256).
    #[arg(long, value_name = "PUB.jwk")]
    key: PathBuf,
    /// MIME type of the plaintext, put into the `cty` header (e.g. application/json).
    #[arg(long, value_name = "TYPE")]
    cty: Option<String>,
    /// The file to encrypt.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

/// Runs `encrypt`, returning its verdict.
///
/// # Errors
/// [`CliError`] for usage and I/O failures (exit 2).
pub fn execute(args: &EncryptArgs) -> Result<Verdict, CliError> {
    let text = keyfile::read_key_text(&args.key)?;
    let usage = |e: &dyn std::fmt::Display| CliError::Usage(format!("{}: {e}", args.key.display()));
    let jwk = Jwk::from_json(&text).map_err(|e| usage(&e))?;
    jwk.check_use(KeyUse::Encryption, false)
        .map_err(|e| usage(&e))?;
    let kid = jwk.kid.clone().ok_or_else(|| usage(&"key has no kid"))?;
    let public = jwk.public_key().map_err(|e| usage(&e))?;
    let limit = u64::try_from(Limits::default().jose.max_token_bytes / 4 * 3).unwrap_or(u64::MAX);
    let plaintext = zeroize::Zeroizing::new(keyfile::read_bounded(&args.file, limit)?);
    let token = jwe::encrypt(&plaintext, &public, &kid, args.cty.as_deref())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let mut out = std::io::stdout().lock();
    out.write_all(token.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| keyfile::io_error(Path::new("<stdout>"), e))?;
    Ok(Verdict::Done)
}
