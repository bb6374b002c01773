//! `poststelle decrypt --key KEY.jwk FILE.jwe`: decrypts a FIT-Connect JWE offline.
//!
//! The plaintext goes to stdout (bytes as they are), a one-line header summary to stderr with
//! the sender's `kid` and `cty` escaped (they are the sender's text and must not drive the
//! terminal). Exit 0 on success, 1 if the JWE is refused, breaks a limit or does not decrypt,
//! 2 on usage or I/O errors.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clap::Args;

use super::keyfile;
use crate::config::Limits;
use crate::error::{CliError, Verdict};
use crate::jose::jwe::{CompactJwe, JweError};
use crate::jose::jwk::{DecryptionKey, Jwk};
use crate::jose::keyring::KeyRing;

/// Arguments of `poststelle decrypt`.
#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// Private decryption key: JWK (JSON) or PKCS#8 PEM. Repeat for several keys (rotation);
    /// the JWE's kid selects one.
    #[arg(long = "key", required = true, value_name = "KEY")]
    keys: Vec<PathBuf>,
    /// Show why decryption failed (for the key owner; never shown to peers).
    #[arg(long, short)]
    verbose: bool,
    /// The compact JWE file.
    #[arg(value_name = "FILE.jwe")]
    file: PathBuf,
}

/// Reads a private decryption key: a JWK, or PKCS#8 PEM (kid: its thumbprint).
pub(crate) fn load_key(path: &Path) -> Result<DecryptionKey, CliError> {
    let text = keyfile::read_key_text(path)?;
    let key = if keyfile::is_pem(&text) {
        DecryptionKey::from_pkcs8_pem(&text, None)
    } else {
        Jwk::from_json(&text).and_then(|jwk| DecryptionKey::from_jwk(&jwk))
    };
    key.map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// Runs `decrypt`, returning its verdict.
///
/// # Errors
/// [`CliError`] for usage and I/O failures (exit 2).
pub fn execute(args: &DecryptArgs) -> Result<Verdict, CliError> {
    let limits = Limits::default();
    let mut ring = KeyRing::new();
    for path in &args.keys {
        ring.insert(load_key(path)?)
            .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))?;
    }
    let limit = u64::try_from(limits.jose.max_token_bytes).unwrap_or(u64::MAX);
    let bytes = keyfile::read_bounded(&args.file, limit)?;
    let Ok(text) = std::str::from_utf8(&bytes) else {
        eprintln!(
            "{}: not a compact JWE (not ASCII text)",
            args.file.display()
        );
        return Ok(Verdict::Refused);
    };
    let file = args.file.display();
    let result = CompactJwe::parse(text.trim_end(), &limits.jose).and_then(|jwe| {
        let h = jwe.header();
        eprintln!(
            "kid={} cty={} zip={} tag={}",
            super::printable(&h.kid),
            h.cty.as_deref().map_or("-".into(), super::printable),
            if h.deflated { "DEF" } else { "-" },
            jwe.authentication_tag()
        );
        jwe.decrypt(&ring, &limits.jose)
    });
    match result {
        Ok(plain) => {
            let mut out = std::io::stdout().lock();
            out.write_all(plain.bytes())
                .and_then(|()| out.flush())
                .map_err(|e| keyfile::io_error(Path::new("<stdout>"), e))?;
            eprintln!("{file}: decrypted {} bytes", plain.bytes().len());
            Ok(Verdict::Done)
        }
        Err(JweError::Decrypt(failure)) if args.verbose => {
            eprintln!("{file}: JWE decryption failed ({:?})", failure.reason());
            Ok(Verdict::Refused)
        }
        Err(e) => {
            eprintln!("{file}: {e}");
            Ok(Verdict::Refused)
        }
    }
}
