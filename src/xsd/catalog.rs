//! Offline resolution of `schemaLocation` values to local files. The engine never fetches
//! anything over the network: absolute URLs are mapped through explicit entries, or to a file
//! of the same base name in one of the catalogue directories (how XÖV publishes its `xsd/` and
//! `xsd_dev/` variants).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Maps schema locations to local files.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    urls: HashMap<String, PathBuf>,
    dirs: Vec<PathBuf>,
}

impl Catalog {
    /// An empty catalogue: relative locations resolve against the including document only.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps one absolute URL to a local file.
    pub fn add_url(&mut self, url: impl Into<String>, file: impl Into<PathBuf>) {
        self.urls.insert(url.into(), file.into());
    }

    /// Adds a directory in which absolute URLs are looked up by their last path segment.
    pub fn add_dir(&mut self, dir: impl Into<PathBuf>) {
        self.dirs.push(dir.into());
    }

    /// Resolves `location` as referenced from the document `base`. `None` when no local file
    /// corresponds (the reference is then skipped or reported by the caller).
    pub fn resolve(&self, base: &Path, location: &str) -> Option<PathBuf> {
        let location = location.trim();
        if let Some(file) = self.urls.get(location) {
            return Some(file.clone());
        }
        if is_absolute_url(location) {
            let name = location.rsplit('/').next().filter(|n| !n.is_empty())?;
            let base_dir = base.parent().map(Path::to_path_buf);
            return base_dir
                .iter()
                .chain(self.dirs.iter())
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file());
        }
        let relative = location.strip_prefix("file://").unwrap_or(location);
        let path = Path::new(relative);
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            base.parent().unwrap_or(Path::new(".")).join(path)
        };
        joined.is_file().then_some(joined)
    }
}

fn is_absolute_url(location: &str) -> bool {
    match location.find("://") {
        Some(i) => location[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')),
        None => location.starts_with("urn:"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_urls_never_leave_the_machine() {
        let catalog = Catalog::new();
        assert!(
            catalog
                .resolve(Path::new("/nonexistent/a.xsd"), "https://example.org/x.xsd")
                .is_none()
        );
        assert!(is_absolute_url(
            "http://xoev.de/schemata/code/1_0/xoev-code.xsd"
        ));
        assert!(!is_absolute_url("xoev-code.xsd"));
    }
}
