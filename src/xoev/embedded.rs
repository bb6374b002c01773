//! The schema packs the project wrote itself, compiled into the binary: the XGewerbeanzeige 2.2
//! reconstruction (`schemas/xgewerbeanzeige-2.2`). `poststelle demo` writes them out and uses
//! them as its development fallback, so it works from any directory and from an installed
//! binary; an operator installs them like any other pack (the Debian package does, from its
//! copy under `/usr/share/poststelle/schemas`). Only `.xsd` files: what a pack consists of.

use std::path::Path;

/// One embedded pack: where it lives relative to the repository root (its catalogue
/// `repo_fallback`) and its files (relative path, bytes).
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedPack {
    /// Directory relative to the repository root, as in the catalogue's `repo_fallback`.
    pub dir: &'static str,
    /// The schema documents: file name inside `dir`, content.
    pub files: &'static [(&'static str, &'static [u8])],
}

macro_rules! pack_file {
    ($dir:literal, $name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../", $dir, "/", $name)).as_slice(),
        )
    };
}

/// The project's own packs, as they were in `schemas/` when the binary was built.
pub const PROJECT_PACKS: &[EmbeddedPack] = &[EmbeddedPack {
    dir: "schemas/xgewerbeanzeige-2.2",
    files: &[
        pack_file!(
            "schemas/xgewerbeanzeige-2.2",
            "reconstruction-xoev-code.xsd"
        ),
        pack_file!(
            "schemas/xgewerbeanzeige-2.2",
            "xgewerbeanzeige-baukasten.xsd"
        ),
        pack_file!(
            "schemas/xgewerbeanzeige-2.2",
            "xgewerbeanzeige-datentypen.xsd"
        ),
        pack_file!(
            "schemas/xgewerbeanzeige-2.2",
            "xgewerbeanzeige-nachrichten.xsd"
        ),
    ],
}];

/// Writes every [`PROJECT_PACKS`] entry under `root` (`root/<dir>/<file>`), so that `root`
/// serves as the repository root of [`super::pack::PackSources::repo_dir`].
///
/// # Errors
/// The first I/O error, with the path it concerns.
pub fn write_project_packs(root: &Path) -> Result<(), (std::path::PathBuf, std::io::Error)> {
    for pack in PROJECT_PACKS {
        let dir = root.join(pack.dir);
        std::fs::create_dir_all(&dir).map_err(|e| (dir.clone(), e))?;
        for (name, bytes) in pack.files {
            let path = dir.join(name);
            std::fs::write(&path, bytes).map_err(|e| (path.clone(), e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A schema added to `schemas/…` but not here would make the embedded copy a different
    /// (and broken) pack: the lists must match the directories.
    #[test]
    fn embedded_packs_hold_every_schema_of_their_directory() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        for pack in PROJECT_PACKS {
            let mut on_disk: Vec<String> = std::fs::read_dir(repo.join(pack.dir))
                .expect("pack directory")
                .filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".xsd"))
                .collect();
            on_disk.sort();
            let mut embedded: Vec<String> =
                pack.files.iter().map(|(n, _)| (*n).to_owned()).collect();
            embedded.sort();
            assert_eq!(embedded, on_disk, "{}", pack.dir);
        }
    }

    #[test]
    fn written_packs_are_found_as_repository_fallbacks() {
        let dir = tempfile::tempdir().expect("tmp");
        write_project_packs(dir.path()).expect("write");
        let sources = crate::xoev::pack::PackSources {
            packs_dir: dir.path().join("none"),
            shared_dir: None,
            repo_dir: Some(dir.path().to_owned()),
        };
        let catalog = crate::xoev::catalog::Catalog::embedded();
        let (registry, broken) = crate::xoev::pack::discover(
            catalog,
            &sources,
            &crate::xoev::pack_files::PackLimits::default(),
        );
        assert!(broken.is_empty(), "{broken:?}");
        let ids: Vec<&str> = registry.packs().iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids, ["xgewerbeanzeige-2.2"]);
    }
}
