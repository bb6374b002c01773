//! Writing files that hold secrets (private keys), for `keys generate` and the sandbox;
//! [`restrict_umask`] for the commands whose files hold personal data; and [`create_dir_all`]
//! and [`options`], with which the store, the spool and the file-drop outbox create their
//! directories (0700) and files (0600) whatever the umask is — a service manager's `UMask=`
//! or a library that resets it cannot widen them. (The umask can only remove bits from an
//! explicit mode, never add them.)
//!
//! Invariants, whatever was at the path before:
//! - the content exists only in a file of mode 0600 (owner read/write): the temporary file is
//!   created with that mode (`O_CREAT | O_EXCL`, which never follows a symlink), not chmodded
//!   after the secret is in it;
//! - a symbolic link at the path is refused, never written through (it could point at a file
//!   others can read, or one the key must not overwrite);
//! - the path switches from the old file to the complete new one in one `rename(2)` in the same
//!   directory, so an existing file ends up 0600 too (it is a new inode) and a crash leaves the
//!   old file or the new one, never half a key. The directory is synced after the rename.

use std::io::{self, Write as _};
use std::path::Path;

/// Makes every file and directory the process creates from now on private to its user (umask
/// 077: files 0600, directories 0700), whatever umask it was started with. Called first by the
/// commands that write personal data or evidence — `serve`, `demo`, `sandbox`: the database
/// and its blobs, the spool, the outbox of a file-drop upstream. Files that exist keep their
/// mode. Returns the umask the process had.
pub fn restrict_umask() -> u32 {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077)).as_raw_mode()
}

/// Creates `dir` and its missing parents with mode 0700. Directories that exist keep their
/// mode (an operator's shared parent is not changed).
///
/// # Errors
/// As [`std::fs::DirBuilder::create`].
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Open options whose newly created files get mode 0600; set `create`, `write` and
/// `truncate` as needed. A file that exists keeps its mode.
#[must_use]
pub fn options() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Creates (or truncates) `path` for writing, like [`std::fs::File::create`] but 0600 when new.
///
/// # Errors
/// As [`std::fs::OpenOptions::open`].
pub fn create(path: &Path) -> io::Result<std::fs::File> {
    options().write(true).create(true).truncate(true).open(path)
}

/// Writes `contents` to `path` as a private file (see the module doc).
///
/// # Errors
/// The path is a symbolic link or not a regular file ([`io::ErrorKind::InvalidInput`]), or
/// creating, writing, syncing or renaming failed.
pub fn write(path: &Path, contents: &[u8]) -> io::Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "is a symbolic link; a private key is not written through it",
            ));
        }
        Ok(meta) if !meta.is_file() => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "exists and is not a regular file",
            ));
        }
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".private-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o600));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(contents)?;
    tmp.as_file().sync_all()?;
    // rename(2) replaces the directory entry; it never follows a symlink that appeared since.
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    fn entries(dir: &Path) -> usize {
        std::fs::read_dir(dir).expect("dir").count()
    }

    #[test]
    fn a_new_private_file_is_0600() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.jwk");
        write(&path, b"secret").expect("write");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"secret");
        assert_eq!(entries(dir.path()), 1, "no temporary file left");
    }

    #[test]
    fn an_existing_world_readable_file_is_replaced_by_a_0600_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("k.jwk");
        std::fs::write(&path, b"old").expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write(&path, b"new secret").expect("write");
        assert_eq!(mode(&path), 0o600);
        assert_eq!(std::fs::read(&path).expect("read"), b"new secret");
        assert_eq!(entries(dir.path()), 1);
    }

    #[test]
    fn a_symlink_at_the_path_is_refused_and_its_target_untouched() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, b"not a key").expect("write");
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let link = dir.path().join("k.jwk");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let err = write(&link, b"secret").expect_err("refused");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(std::fs::read(&target).expect("read"), b"not a key");
        assert_eq!(mode(&target), 0o644);
        assert!(
            std::fs::symlink_metadata(&link)
                .expect("link")
                .file_type()
                .is_symlink()
        );
        assert_eq!(entries(dir.path()), 2, "no temporary file left");
    }
}
