//! Reading key files for the JOSE commands: JWK JSON or PKCS#8 PEM, bounded in size.

use std::path::Path;

use zeroize::Zeroizing;

use crate::error::CliError;

/// Largest key file read (a 4096-bit private JWK with a certificate chain is about 10 KiB).
const MAX_KEY_FILE_BYTES: u64 = 1024 * 1024;

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Reads a file of at most `limit` bytes (checked before reading; a larger file is
/// [`CliError::OverLimit`]).
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, CliError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, e))?;
    if meta.len() > limit {
        return Err(CliError::OverLimit(format!(
            "{}: larger than the limit of {limit} bytes",
            path.display()
        )));
    }
    std::fs::read(path).map_err(|e| io_error(path, e))
}

/// Reads a key file as zeroized UTF-8 text.
pub(crate) fn read_key_text(path: &Path) -> Result<Zeroizing<String>, CliError> {
    let bytes = Zeroizing::new(read_bounded(path, MAX_KEY_FILE_BYTES)?);
    std::str::from_utf8(&bytes)
        .map(|s| Zeroizing::new(s.to_owned()))
        .map_err(|_| CliError::Usage(format!("{}: key file is not UTF-8", path.display())))
}

/// Whether the text is PEM armour rather than JSON.
pub(crate) fn is_pem(text: &str) -> bool {
    text.trim_start().starts_with("-----BEGIN")
}

/// Largest trust anchor bundle or CRL file read from disk: a V-PKI bundle has a handful of
/// certificates; large CA CRLs reach a few MiB.
const MAX_PKI_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads trust anchors: a PEM bundle (one or more `CERTIFICATE` blocks) or one DER
/// certificate.
pub(crate) fn read_anchors(path: &Path) -> Result<Vec<Vec<u8>>, CliError> {
    let bytes = read_bounded(path, MAX_PKI_FILE_BYTES)?;
    crate::jose::x509::anchors_from_pem_or_der(&bytes)
        .map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

/// Reads a CRL file (DER or PEM `X509 CRL`).
pub(crate) fn read_crl(path: &Path) -> Result<Vec<u8>, CliError> {
    let bytes = read_bounded(path, MAX_PKI_FILE_BYTES)?;
    crate::jose::x509::crl::der_from_pem_or_der(&bytes)
        .ok_or_else(|| CliError::Usage(format!("{}: not a DER or PEM CRL", path.display())))
}
