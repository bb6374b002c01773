//! Schema pack zips (`poststelle schemas install ZIP`): reading within limits.

use std::io::Write as _;
use std::sync::OnceLock;

use super::input::Input;
use crate::xoev::pack_files::{PackLimits, read_source};

/// Small limits, so that bombs and floods hit them.
fn limits() -> PackLimits {
    PackLimits {
        max_files: 16,
        max_total_bytes: 64 * 1024,
        max_depth: 4,
        ..PackLimits::default()
    }
}

/// An entry name and whether it stays inside the pack directory (`None`: not judged, e.g. a
/// folder entry, which readers skip).
fn name(input: &mut Input<'_>) -> (String, Option<bool>) {
    let base: String = input
        .text(40)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))
        .collect();
    let plain = |n: &str| {
        !n.is_empty()
            && n.split('/')
                .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
    };
    let judged = plain(&base).then_some(false);
    match input.below(8) {
        0 => (format!("../{base}"), judged),
        1 => (format!("/{base}"), judged),
        2 => (format!("C:{base}"), judged),
        3 => (format!("a\\..\\{base}"), judged),
        4 => (format!("x/../{base}"), judged),
        _ => (base.clone(), plain(&base).then_some(true)),
    }
}

fn temp_zip() -> &'static std::path::Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary directory"))
        .path()
}

/// Pack zip property. The input is a zip as it is (first byte even) or entries a zip is built
/// from (names safe or escaping, contents, stored or deflated), optionally with bytes changed
/// afterwards. Reading never panics; what it returns stays within the limits (files, total
/// bytes, depth) and has only names that stay inside the pack; a zip with an escaping name is
/// refused; an unchanged zip of safe, distinct names within the limits is read completely.
pub fn pack_zip(data: &[u8]) {
    let mut input = Input::new(data);
    let path = temp_zip().join("pack.zip");
    let limits = limits();
    let built = if input.byte().is_multiple_of(2) {
        std::fs::write(&path, input.rest()).expect("temporary file written");
        None
    } else {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let mut entries = Vec::new();
        for _ in 0..input.below(6) {
            let (n, safe) = name(&mut input);
            let method = if input.flag() {
                zip::CompressionMethod::Deflated
            } else {
                zip::CompressionMethod::Stored
            };
            let content = input.bytes(4096).to_vec();
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            if zip.start_file(n.as_str(), options).is_err() || zip.write_all(&content).is_err() {
                return;
            }
            entries.push((n, safe, content));
        }
        let Ok(cursor) = zip.finish() else {
            return;
        };
        let mut bytes = cursor.into_inner();
        let mut changed = false;
        for _ in 0..input.below(3) {
            let (at, x) = (usize::from(input.u16()), input.byte());
            if !bytes.is_empty() && x != 0 {
                let i = at % bytes.len();
                bytes[i] ^= x;
                changed = true;
            }
        }
        std::fs::write(&path, &bytes).expect("temporary file written");
        Some((entries, changed))
    };
    let result = read_source(&path, &limits);
    if let Ok(files) = &result {
        assert!(files.len() <= limits.max_files, "more files than the limit");
        let total: usize = files.values().map(Vec::len).sum();
        assert!(
            total as u64 <= limits.max_total_bytes,
            "more bytes than the limit"
        );
        for n in files.keys() {
            assert!(
                !n.starts_with('/')
                    && !n.contains('\\')
                    && !n.contains(':')
                    && n.split('/').all(|s| !s.is_empty() && s != "." && s != ".."),
                "an escaping name was read: {n:?}"
            );
            assert!(
                n.split('/').count() <= limits.max_depth + 1,
                "too deep: {n:?}"
            );
        }
    }
    let Some((entries, changed)) = built else {
        return;
    };
    if changed {
        return;
    }
    if entries.iter().any(|(_, safe, _)| *safe == Some(false)) {
        assert!(result.is_err(), "a zip with an escaping name was read");
        return;
    }
    if entries
        .iter()
        .any(|(n, safe, _)| safe.is_none() || n.contains("xsd_dev"))
    {
        // Folders are skipped, and an `xsd_dev/` folder is picked as the root: not judged.
        return;
    }
    let mut names: Vec<&str> = entries.iter().map(|(n, _, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let total: usize = entries.iter().map(|(_, _, c)| c.len()).sum();
    let fits = names.len() == entries.len()
        && !entries.is_empty()
        && entries.len() <= limits.max_files
        && total as u64 <= limits.max_total_bytes
        && names.iter().all(|n| n.split('/').count() <= limits.max_depth + 1)
        // A name that is another's folder makes the zip a file and a folder at once.
        && !names
            .iter()
            .any(|a| names.iter().any(|b| b.starts_with(&format!("{a}/"))));
    if fits {
        let files = result.unwrap_or_else(|e| panic!("a well-formed pack was refused: {e}"));
        let mut got: Vec<&Vec<u8>> = files.values().collect();
        let mut want: Vec<&Vec<u8>> = entries.iter().map(|(_, _, c)| c).collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "the pack's contents differ from the zip's");
    }
}

#[cfg(test)]
mod tests {
    /// CI-seed finding (2026-12-05): a built zip entry `C:….xml` (a drive-like name) was read
    /// as a code list with `_` for `:`; only `.xml` files in a `codelists/` folder are mapped,
    /// and drive-like names never.
    #[test]
    fn a_drive_like_xml_name_is_refused() {
        let crash = [
            0x01, 0x73, 0x73, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75, 0x71, 0x75, 0x75, 0x75, 0x75,
            0x75, 0x75, 0x75, 0x01, 0x70, 0x00, 0x00, 0x01, 0x75, 0x75, 0x75, 0x75, 0x75, 0x75,
            0x75, 0x75, 0x75, 0x29, 0x75, 0x75, 0x75, 0x75, 0x29, 0x70, 0x2e, 0x78, 0x6d, 0x01,
            0x6c, 0x3e, 0x02,
        ];
        super::pack_zip(&crash);
    }
}
