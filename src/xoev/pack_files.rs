//! Reading the files of a schema pack from a directory or a zip, within limits.
//!
//! Zips come from outside (an XRepository download, a vendor), so they are read defensively:
//! a bounded number of entries and bytes, each entry's declared and actual size checked, and
//! no entry name that could leave the pack directory (absolute, `..`, drive letters,
//! backslashes) or be a symlink.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read as _;
use std::path::Path;

use super::catalog::is_safe_relative;
use crate::config::XmlLimits;

/// A pack's files: relative path (with `/`) → bytes, sorted by path.
pub type PackFiles = BTreeMap<String, Vec<u8>>;

/// Bounds on a pack being installed or loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackLimits {
    /// Files (zip entries) in one pack. Default 10,000: XBau 2.6 has 45 XSD files, the whole
    /// XRepository zip under 200 entries.
    pub max_files: usize,
    /// Total uncompressed bytes of one pack. Default 256 MiB: XBau 2.6 is 1.8 MB; bounds zip
    /// bombs.
    pub max_total_bytes: u64,
    /// Directory nesting inside a pack. Default 16.
    pub max_depth: usize,
    /// XML limits for reading the schema documents (defaults of [`XmlLimits`]).
    pub xml: XmlLimits,
}

impl Default for PackLimits {
    fn default() -> Self {
        PackLimits {
            max_files: 10_000,
            max_total_bytes: 256 * 1024 * 1024,
            max_depth: 16,
            xml: XmlLimits::default(),
        }
    }
}

/// Why the files of a pack could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// Reading a file or directory failed.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The zip archive is malformed.
    #[error("{path}: not a readable zip archive: {reason}")]
    Zip {
        /// The archive path.
        path: String,
        /// What the zip reader reported.
        reason: String,
    },
    /// An entry name would escape the pack directory, or is not UTF-8.
    #[error("unsafe path in pack: {0:?}")]
    UnsafePath(String),
    /// A symlink or other special file where a regular file was expected.
    #[error("not a regular file: {0}")]
    NotRegular(String),
    /// More files than `max_files`.
    #[error("more than {0} files")]
    TooManyFiles(usize),
    /// More bytes than `max_total_bytes`.
    #[error("more than {0} bytes in total")]
    TooLarge(u64),
    /// Deeper nesting than `max_depth`.
    #[error("directories nested deeper than {0}")]
    TooDeep(usize),
    /// The source contains no files.
    #[error("{0}: no files")]
    Empty(String),
}

struct Budget<'l> {
    limits: &'l PackLimits,
    bytes: u64,
}

impl Budget<'_> {
    fn add(&mut self, files: &PackFiles, len: u64) -> Result<(), SourceError> {
        if files.len() >= self.limits.max_files {
            return Err(SourceError::TooManyFiles(self.limits.max_files));
        }
        self.bytes = self.bytes.saturating_add(len);
        if self.bytes > self.limits.max_total_bytes {
            return Err(SourceError::TooLarge(self.limits.max_total_bytes));
        }
        Ok(())
    }
}

/// Reads every regular file under `dir` (symlinks are refused), except a top-level file named
/// `exclude` (the manifest).
pub fn read_dir(
    dir: &Path,
    limits: &PackLimits,
    exclude: Option<&str>,
) -> Result<PackFiles, SourceError> {
    let mut files = PackFiles::new();
    let mut budget = Budget { limits, bytes: 0 };
    walk(dir, "", 0, &mut files, &mut budget)?;
    if let Some(name) = exclude {
        files.remove(name);
    }
    Ok(files)
}

fn walk(
    dir: &Path,
    prefix: &str,
    depth: usize,
    files: &mut PackFiles,
    budget: &mut Budget<'_>,
) -> Result<(), SourceError> {
    if depth > budget.limits.max_depth {
        return Err(SourceError::TooDeep(budget.limits.max_depth));
    }
    let io = |source| SourceError::Io {
        path: dir.display().to_string(),
        source,
    };
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(io)?
        .collect::<Result<_, _>>()
        .map_err(io)?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name();
        let name = name
            .to_str()
            .ok_or_else(|| SourceError::UnsafePath(format!("{name:?}")))?;
        let rel = format!("{prefix}{name}");
        let Some(rel) = pack_name(&rel) else {
            return Err(SourceError::UnsafePath(rel));
        };
        let path = entry.path();
        // symlink_metadata: a symlink is refused, never followed out of the pack.
        let meta = fs::symlink_metadata(&path).map_err(|source| SourceError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if meta.is_dir() {
            walk(&path, &format!("{rel}/"), depth + 1, files, budget)?;
        } else if meta.is_file() {
            budget.add(files, meta.len())?;
            let bytes = fs::read(&path).map_err(|source| SourceError::Io {
                path: path.display().to_string(),
                source,
            })?;
            // Two names mapped to one (`a:b.xml` beside `a_b.xml`): refused, never one lost.
            if files.insert(rel.clone(), bytes).is_some() {
                return Err(SourceError::UnsafePath(rel));
            }
        } else {
            return Err(SourceError::NotRegular(rel));
        }
    }
    Ok(())
}

/// Reads a zip archive's files.
pub fn read_zip(path: &Path, limits: &PackLimits) -> Result<PackFiles, SourceError> {
    let zip_err = |e: zip::result::ZipError| SourceError::Zip {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let file = fs::File::open(path).map_err(|source| SourceError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut archive = zip::ZipArchive::new(file).map_err(zip_err)?;
    if archive.len() > limits.max_files {
        return Err(SourceError::TooManyFiles(limits.max_files));
    }
    let mut files = PackFiles::new();
    let mut budget = Budget { limits, bytes: 0 };
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(zip_err)?;
        let raw_name = entry.name().map_err(zip_err)?.into_owned();
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(SourceError::NotRegular(raw_name));
        }
        // enclosed_name() rejects absolute names and `..`; pack_name adds our rules.
        let Some(name) = pack_name(&raw_name).filter(|_| entry.enclosed_name().is_some()) else {
            return Err(SourceError::UnsafePath(raw_name));
        };
        if raw_name.split('/').count() > limits.max_depth + 1 {
            return Err(SourceError::TooDeep(limits.max_depth));
        }
        let declared = entry.size();
        budget.add(&files, declared)?;
        // The declared size (already within the budget) may lie: read one byte more than it
        // to notice an overrun, never more.
        let mut bytes = Vec::new();
        (&mut entry)
            .take(declared.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|source| SourceError::Io {
                path: raw_name.clone(),
                source,
            })?;
        if bytes.len() as u64 != declared {
            return Err(SourceError::Zip {
                path: path.display().to_string(),
                reason: format!("entry {raw_name} is not the size it declares"),
            });
        }
        if files.insert(name, bytes).is_some() {
            return Err(SourceError::UnsafePath(raw_name));
        }
    }
    Ok(files)
}

/// The folder of a pack's genericode code lists, beside `xsd_dev/` in an install source and
/// inside an installed pack.
pub const CODELIST_DIR: &str = "codelists";

/// The name a source file keeps in a pack: the path itself if it is a safe relative path; a
/// code list — an `.xml` file directly in a `codelists/` folder — whose name holds `:`
/// (XRepository names code lists by their URN, `urn:xoev-de:xbau:codeliste:anlagen_2.0.xml`)
/// with `_` for each `:`; `None` (refused) otherwise. A name that starts like a drive
/// (`C:…`) is refused even there.
#[must_use]
pub fn pack_name(path: &str) -> Option<String> {
    if is_safe_relative(path) {
        return Some(path.to_owned());
    }
    let (dir, name) = path.rsplit_once('/')?;
    let in_codelists = dir.rsplit('/').next() == Some(CODELIST_DIR);
    let drive = name.as_bytes().get(1) == Some(&b':');
    if !in_codelists || drive || !name.ends_with(".xml") || !is_safe_relative(dir) {
        return None;
    }
    let mapped = format!("{dir}/{}", name.replace(':', "_"));
    is_safe_relative(&mapped).then_some(mapped)
}

/// Whether `path` (relative to a pack) is one of its code lists (`codelists/*.xml`).
#[must_use]
pub fn is_codelist(path: &str) -> bool {
    path.strip_prefix(CODELIST_DIR)
        .and_then(|r| r.strip_prefix('/'))
        .is_some_and(|name| !name.contains('/') && name.ends_with(".xml"))
}

/// Reads an install source (a directory or a `.zip`) and picks the pack's root inside it: an
/// `xsd_dev/` folder if there is one (XRepository zips carry `xsd/` with absolute imports and
/// the self-contained `xsd_dev/`), else the single top-level folder all files share, if any.
/// Beside an `xsd_dev/` folder, the Schematron files (`*.sch`) under its parent are kept too,
/// relative to that parent (`sch/xbau-schematron.sch`): the install keeps those the
/// catalogue names for the pack, and the code lists (`codelists/*.xml`) of a pack that has them.
pub fn read_source(source: &Path, limits: &PackLimits) -> Result<PackFiles, SourceError> {
    let files = if source.is_dir() {
        read_dir(source, limits, Some(super::pack::MANIFEST))?
    } else {
        read_zip(source, limits)?
    };
    let files = select_root(files);
    if files.is_empty() {
        return Err(SourceError::Empty(source.display().to_string()));
    }
    Ok(files)
}

fn select_root(mut files: PackFiles) -> PackFiles {
    if let Some(dev) = files
        .keys()
        .filter_map(|k| {
            k.find("xsd_dev/")
                .map(|at| k[..at + "xsd_dev/".len()].to_owned())
        })
        .min_by_key(String::len)
    {
        let parent = dev[..dev.len() - "xsd_dev/".len()].to_owned();
        let rules: PackFiles = files
            .iter()
            .filter(|(k, _)| !k.starts_with(&dev))
            .filter_map(|(k, v)| Some((k.strip_prefix(&parent)?.to_owned(), v.clone())))
            .filter(|(k, _)| k.ends_with(".sch") || is_codelist(k))
            .collect();
        let mut picked = strip(files, &dev);
        // A `.sch` inside xsd_dev/ keeps its place; one outside cannot collide with it.
        for (k, v) in rules {
            picked.entry(k).or_insert(v);
        }
        return picked;
    }
    loop {
        let Some(first) = files
            .keys()
            .next()
            .and_then(|k| k.split_once('/'))
            .map(|(d, _)| d)
        else {
            return files;
        };
        let prefix = format!("{first}/");
        if !files.keys().all(|k| k.starts_with(&prefix)) {
            return files;
        }
        files = strip(files, &prefix);
    }
}

fn strip(files: PackFiles, prefix: &str) -> PackFiles {
    files
        .into_iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|rest| (rest.to_owned(), v)))
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_list_urn_names_are_mapped_and_other_unsafe_names_refused() {
        assert_eq!(pack_name("a/b.xsd").as_deref(), Some("a/b.xsd"));
        assert_eq!(
            pack_name("codelists/urn:xoev-de:xbau:codeliste:anlagen_2.0.xml").as_deref(),
            Some("codelists/urn_xoev-de_xbau_codeliste_anlagen_2.0.xml")
        );
        assert!(is_codelist("codelists/urn_x_1.xml"));
        assert!(!is_codelist("codelists/sub/urn_x_1.xml") && !is_codelist("codelists/a.xsd"));
        for bad in [
            "c:/x.xsd",
            "a:b/c.xml",
            "../x.xml",
            "/abs.xml",
            "a/../b:c.xml",
            "x:y.xsd",
            "C:p.xml",
            "urn:x.xml",
            "other/urn:x.xml",
            "codelists/C:x.xml",
            "../codelists/urn:x.xml",
        ] {
            assert_eq!(pack_name(bad), None, "{bad}");
        }
        assert_eq!(
            pack_name("xbau-2.6/codelists/urn:x:y_1.xml").as_deref(),
            Some("xbau-2.6/codelists/urn_x_y_1.xml")
        );
        // Two names mapped to one: refused, never one silently lost.
        let dir = tempfile::tempdir().expect("tempdir");
        let lists = dir.path().join(CODELIST_DIR);
        fs::create_dir(&lists).expect("mkdir");
        fs::write(lists.join("a:b.xml"), "<x/>").expect("write");
        fs::write(lists.join("a_b.xml"), "<y/>").expect("write");
        assert!(matches!(
            read_dir(dir.path(), &PackLimits::default(), None),
            Err(SourceError::UnsafePath(_))
        ));
    }

    fn files(names: &[&str]) -> PackFiles {
        names
            .iter()
            .map(|n| ((*n).to_owned(), Vec::new()))
            .collect()
    }

    #[test]
    fn prefers_xsd_dev_and_strips_common_folders() {
        let picked = select_root(files(&[
            "zip/xsd/a.xsd",
            "zip/xsd_dev/a.xsd",
            "zip/xsd_dev/b.xsd",
        ]));
        assert_eq!(picked.keys().collect::<Vec<_>>(), ["a.xsd", "b.xsd"]);
        // Schematron and code lists beside xsd_dev/ are kept relative to the parent; other
        // files are not.
        let picked = select_root(files(&[
            "zip/codelists/x.xml",
            "zip/codelists/old/y.xml",
            "zip/docs/z.xml",
            "zip/sch/r.sch",
            "zip/xsd_dev/a.xsd",
            "other/s.sch",
        ]));
        assert_eq!(
            picked.keys().collect::<Vec<_>>(),
            ["a.xsd", "codelists/x.xml", "sch/r.sch"]
        );
        let picked = select_root(files(&["top/inner/a.xsd", "top/inner/b/c.xsd"]));
        assert_eq!(picked.keys().collect::<Vec<_>>(), ["a.xsd", "b/c.xsd"]);
        let picked = select_root(files(&["a.xsd", "sub/b.xsd"]));
        assert_eq!(picked.len(), 2);
    }

    #[test]
    fn budget_counts_files_and_bytes() {
        let limits = PackLimits {
            max_files: 1,
            max_total_bytes: 10,
            max_depth: 2,
            xml: XmlLimits::default(),
        };
        let mut b = Budget {
            limits: &limits,
            bytes: 0,
        };
        let mut fs = PackFiles::new();
        b.add(&fs, 5).expect("fits");
        fs.insert("a".into(), vec![0; 5]);
        assert!(matches!(b.add(&fs, 1), Err(SourceError::TooManyFiles(1))));
        let mut b = Budget {
            limits: &limits,
            bytes: 8,
        };
        assert!(matches!(
            b.add(&PackFiles::new(), 3),
            Err(SourceError::TooLarge(10))
        ));
    }
}
