//! Reads and writes a [`CapturedSubmission`] as a directory (layout in
//! [`crate::fitconnect::captured`]).
//!
//! Layer L2 (file I/O). Reading is bounded: each file at most [`MAX_FILE_BYTES`], at most
//! [`MAX_ATTACHMENTS`] attachments, attachment ids restricted to a safe character set so a
//! hostile capture cannot name paths outside its directory.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::captured::{CaptureInfo, CapturedSubmission};

/// Largest file read from a capture directory (an attachment JWE may be large).
pub const MAX_FILE_BYTES: u64 = 1 << 30;
/// Most attachments read from a capture directory.
pub const MAX_ATTACHMENTS: usize = 1000;

/// Why a capture directory could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureDirError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A JSON file does not parse or has the wrong shape.
    #[error("{path}: {message}")]
    Json {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Something about the directory breaks the layout rules.
    #[error("{path}: {message}")]
    Layout {
        /// The file or directory.
        path: PathBuf,
        /// What is wrong.
        message: &'static str,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaptureDirError + '_ {
    move |source| CaptureDirError::Io {
        path: path.to_owned(),
        source,
    }
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, CaptureDirError> {
    let file = fs::File::open(path).map_err(io(path))?;
    let mut buf = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(io(path))?;
    if buf.len() as u64 > MAX_FILE_BYTES {
        return Err(CaptureDirError::Layout {
            path: path.to_owned(),
            message: "file is larger than the capture limit",
        });
    }
    Ok(buf)
}

fn read_json(path: &Path) -> Result<Value, CaptureDirError> {
    serde_json::from_slice(&read_bounded(path)?).map_err(|e| CaptureDirError::Json {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Whether `id` is safe as a file name: ASCII letters, digits, `-`, `_`, `.` (not leading).
fn safe_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Reads a capture directory.
///
/// # Errors
/// A missing or unreadable file, JSON that does not parse, an unsafe attachment file name, or
/// more than [`MAX_ATTACHMENTS`] attachments.
pub fn read(dir: &Path) -> Result<CapturedSubmission, CaptureDirError> {
    let submission = read_json(&dir.join("submission.json"))?;
    let events = read_json(&dir.join("events.json"))?;
    let service_jwks = read_json(&dir.join("service-jwks.json"))?;
    let info_path = dir.join("capture.json");
    let info: CaptureInfo =
        serde_json::from_value(read_json(&info_path)?).map_err(|e| CaptureDirError::Json {
            path: info_path.clone(),
            message: e.to_string(),
        })?;
    let mut attachments = BTreeMap::new();
    let att_dir = dir.join("attachments");
    if att_dir.is_dir() {
        let mut entries = fs::read_dir(&att_dir)
            .map_err(io(&att_dir))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io(&att_dir))?;
        entries.sort_by_key(fs::DirEntry::file_name);
        for entry in entries {
            let path = entry.path();
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".jwe")) else {
                return Err(CaptureDirError::Layout {
                    path,
                    message: "attachment files must be named <attachmentId>.jwe",
                });
            };
            if !safe_id(id) {
                return Err(CaptureDirError::Layout {
                    path,
                    message: "attachment id has characters outside [A-Za-z0-9._-]",
                });
            }
            if attachments.len() >= MAX_ATTACHMENTS {
                return Err(CaptureDirError::Layout {
                    path: att_dir,
                    message: "too many attachments",
                });
            }
            let bytes = read_bounded(&path)?;
            let text = String::from_utf8(bytes).map_err(|_| CaptureDirError::Layout {
                path: path.clone(),
                message: "attachment JWE is not UTF-8 text",
            })?;
            attachments.insert(id.to_owned(), text.trim_end().to_owned());
        }
    }
    Ok(CapturedSubmission {
        submission,
        attachments,
        events,
        service_jwks,
        info,
    })
}

/// Writes a capture directory (creating it; existing files are replaced).
///
/// # Errors
/// An I/O failure, or an attachment id that is not safe as a file name.
pub fn write(dir: &Path, capture: &CapturedSubmission) -> Result<(), CaptureDirError> {
    let att_dir = dir.join("attachments");
    fs::create_dir_all(&att_dir).map_err(io(&att_dir))?;
    let write_json = |name: &str, value: &Value| {
        let path = dir.join(name);
        let mut text = serde_json::to_string_pretty(value).map_err(|e| CaptureDirError::Json {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        fs::write(&path, text).map_err(io(&path))
    };
    write_json("submission.json", &capture.submission)?;
    write_json("events.json", &capture.events)?;
    write_json("service-jwks.json", &capture.service_jwks)?;
    let info = serde_json::to_value(&capture.info).map_err(|e| CaptureDirError::Json {
        path: dir.join("capture.json"),
        message: e.to_string(),
    })?;
    write_json("capture.json", &info)?;
    for (id, jwe) in &capture.attachments {
        let path = att_dir.join(format!("{id}.jwe"));
        if !safe_id(id) {
            return Err(CaptureDirError::Layout {
                path,
                message: "attachment id has characters outside [A-Za-z0-9._-]",
            });
        }
        fs::write(&path, jwe).map_err(io(&path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fitconnect::captured::ApiProfile;
    use serde_json::json;

    fn sample() -> CapturedSubmission {
        let mut attachments = BTreeMap::new();
        attachments.insert(
            "0b3b3f3e-1b4c-4f5c-9a6f-2f0e4d7c8a11".to_owned(),
            "a.b.c.d.e".to_owned(),
        );
        CapturedSubmission {
            submission: json!({"submissionId": "s", "caseId": "c", "destinationId": "d"}),
            attachments,
            events: json!({"eventLog": ["x.y.z"], "count": 1}),
            service_jwks: json!({"keys": []}),
            info: CaptureInfo {
                issuer: "http://127.0.0.1:8090".to_owned(),
                captured_at: 1_780_000_000,
                profile: ApiProfile::V1,
            },
        }
    }

    #[test]
    fn round_trip_through_a_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let capture = sample();
        write(dir.path(), &capture).expect("write");
        let back = read(dir.path()).expect("read");
        assert_eq!(back, capture);
        assert_eq!(back.submission_id(), Some("s"));
        assert_eq!(back.event_log().collect::<Vec<_>>(), ["x.y.z"]);
    }

    #[test]
    fn unsafe_attachment_names_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut capture = sample();
        capture
            .attachments
            .insert("../escape".to_owned(), "a.b.c.d.e".to_owned());
        assert!(matches!(
            write(dir.path(), &capture),
            Err(CaptureDirError::Layout { .. })
        ));
        let mut ok = sample();
        ok.attachments.clear();
        write(dir.path(), &ok).expect("write");
        fs::write(dir.path().join("attachments/.hidden.jwe"), "x").expect("write");
        assert!(matches!(
            read(dir.path()),
            Err(CaptureDirError::Layout { .. })
        ));
    }

    #[test]
    fn missing_files_name_the_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = read(dir.path()).expect_err("empty dir");
        assert!(err.to_string().contains("submission.json"), "{err}");
    }
}
