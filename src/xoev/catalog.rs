//! The catalogue of known XÖV standards (`schemas/catalog.toml`), typed.
//!
//! The catalogue is data: which schema packs exist, which namespaces identify them, which
//! message roots each standard has and which file of the pack is the entry XSD for a root, plus
//! the map from absolute `schemaLocation` URLs to files inside a pack (resolution is offline; a
//! URL not listed is an error, never a download). The repository's `schemas/catalog.toml` is
//! embedded in the binary and is the default; an operator may load another file instead.
//!
//! Loading is two-phase, as for configuration: serde with `deny_unknown_fields` into raw
//! structs, then checks that make the typed [`Catalog`] consistent (unique pack ids, one
//! standard per namespace, unique roots, safe relative file names).

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use serde::Deserialize;

/// The catalogue shipped with poststelle (`schemas/catalog.toml`).
pub const EMBEDDED_TOML: &str = include_str!("../../schemas/catalog.toml");

/// The catalogue format this code reads (`format = 1`).
const FORMAT: u32 = 1;

/// Errors loading a catalogue.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// The TOML is malformed or has unknown or missing fields (the message carries line:column).
    #[error("catalog: {0}")]
    Syntax(String),
    /// The `format` number is not one this build reads.
    #[error("catalog: unsupported format {0} (this build reads format {FORMAT})")]
    Format(u32),
    /// The catalogue parsed but is inconsistent; every problem found is listed.
    #[error("catalog: {}", .0.join("; "))]
    Inconsistent(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalog {
    format: u32,
    #[serde(default)]
    uri: Vec<UriMapping>,
    #[serde(default)]
    pack: Vec<PackSpec>,
    #[serde(default)]
    json_pack: Vec<JsonPackSpec>,
}

/// A JSON schema pack the catalogue knows (JSON Fachdaten, [`crate::fim`]): only its
/// development fallbacks. JSON packs describe themselves (every schema by its `$id`), so an
/// operator installs any pack without a catalogue entry; the entry lets a development or test
/// setup find a pack the project ships without installing it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct JsonPackSpec {
    /// Pack id, also the directory name under the packs directory.
    pub id: String,
    /// Human-readable title.
    pub title: String,
    /// Development fallback relative to the shared test-data dir (`$POSTSTELLE_SHARED`).
    #[serde(default)]
    pub shared_fallback: Option<String>,
    /// Development fallback relative to the repository root.
    #[serde(default)]
    pub repo_fallback: Option<String>,
}

/// One absolute `schemaLocation` URL and the file inside a pack it stands for.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct UriMapping {
    /// The URL exactly as it appears in `schemaLocation`.
    pub url: String,
    /// The file name (relative path) inside the pack.
    pub file: String,
}

/// A schema pack the catalogue knows: one installable set of XSD files.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PackSpec {
    /// Pack id, also the directory name under the packs directory (`xbau-2.6`).
    pub id: String,
    /// Human-readable title.
    pub title: String,
    /// XRepository URN of the published version, where known.
    #[serde(default)]
    pub xrepository: Option<String>,
    /// Target namespaces that identify this pack among the files of a directory or zip: a
    /// pack is recognised when one of its files declares one of these.
    pub detect: Vec<String>,
    /// Development fallback: a directory relative to the shared test-data dir
    /// (`$POSTSTELLE_SHARED`) used when the pack is not installed.
    #[serde(default)]
    pub shared_fallback: Option<String>,
    /// Development fallback: a directory relative to the repository root (a pack the project
    /// wrote itself), used when the pack is not installed.
    #[serde(default)]
    pub repo_fallback: Option<String>,
    /// ISO Schematron files of the pack's business rules, relative to the install source's
    /// root (the folder holding `xsd_dev/`, see `pack_files::read_source`): `schemas install`
    /// keeps exactly these `.sch` files, and every message of the pack is checked against
    /// them after XSD validation.
    #[serde(default)]
    pub schematron: Vec<String>,
    /// Whether the pack carries genericode code lists: the `*.xml` files of the folder
    /// `codelists/` beside `xsd_dev/` in the install source (the XRepository layout), kept as
    /// `codelists/<file>` and covered by the fingerprint ([`super::codelist`]).
    #[serde(default)]
    pub codelists: bool,
    /// The standards whose schemas this pack carries.
    #[serde(rename = "standard")]
    pub standards: Vec<StandardSpec>,
}

/// One standard (one target namespace) inside a pack.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StandardSpec {
    /// Name as in the `standard` attribute of message roots (`XBau`, `XBau-Kernmodul`).
    pub name: String,
    /// Version of the standard (`2.6`).
    pub version: String,
    /// XRepository kennung of the standard (without version), where known.
    #[serde(default)]
    pub kennung: Option<String>,
    /// Target namespace of the message roots.
    pub namespace: String,
    /// Which part of a multi-namespace standard this namespace is, if any.
    #[serde(default)]
    pub part: Option<String>,
    /// Globs (`*` matches any run of characters) admitting message roots not listed in
    /// `messages`; such roots must be global elements of the installed pack.
    #[serde(default)]
    pub root_patterns: Vec<String>,
    /// The known message roots.
    pub messages: Vec<MessageSpec>,
}

/// A known message root element.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MessageSpec {
    /// Local name of the root element; also the message type (`baugenehmigung.antrag.0200`).
    pub root: String,
    /// Entry XSD inside the pack; absent where the official file names are unknown (the root
    /// is then looked up among the global elements of the installed pack).
    #[serde(default)]
    pub entry: Option<String>,
    /// The XÖV Nachrichtentyp code (`0200`).
    #[serde(default)]
    pub code: Option<String>,
}

/// Where a (namespace, root) is in the catalogue.
#[derive(Debug, Clone, Copy)]
struct StandardIndex {
    pack: usize,
    standard: usize,
}

/// The typed, consistent catalogue.
#[derive(Debug, Clone)]
pub struct Catalog {
    uris: BTreeMap<String, String>,
    packs: Vec<PackSpec>,
    json_packs: Vec<JsonPackSpec>,
    by_namespace: HashMap<String, StandardIndex>,
}

impl Catalog {
    /// The embedded catalogue, parsed once.
    ///
    /// # Panics
    /// Never at run time for a released binary: the embedded TOML is checked by the unit
    /// tests, so a broken file cannot pass CI.
    pub fn embedded() -> &'static Catalog {
        static EMBEDDED: OnceLock<Catalog> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            Catalog::from_toml(EMBEDDED_TOML).expect("embedded catalog is checked by unit tests")
        })
    }

    /// Parses and checks a catalogue.
    pub fn from_toml(text: &str) -> Result<Catalog, CatalogError> {
        let raw: RawCatalog =
            toml::from_str(text).map_err(|e| CatalogError::Syntax(e.to_string()))?;
        if raw.format != FORMAT {
            return Err(CatalogError::Format(raw.format));
        }
        let mut problems = Vec::new();
        let mut uris = BTreeMap::new();
        for m in raw.uri {
            if !is_safe_relative(&m.file) {
                problems.push(format!("uri {}: file is not a safe relative path", m.url));
            }
            if uris.insert(m.url.clone(), m.file).is_some() {
                problems.push(format!("uri {} listed twice", m.url));
            }
        }
        let mut by_namespace = HashMap::new();
        let mut ids = HashMap::new();
        for (p, pack) in raw.pack.iter().enumerate() {
            if !is_safe_id(&pack.id) {
                problems.push(format!("pack id {:?} is not [a-z0-9._-]+", pack.id));
            }
            if ids.insert(pack.id.as_str(), p).is_some() {
                problems.push(format!("pack {} listed twice", pack.id));
            }
            if pack.detect.is_empty() {
                problems.push(format!("pack {}: detect is empty", pack.id));
            }
            for (s, std) in pack.standards.iter().enumerate() {
                let idx = StandardIndex {
                    pack: p,
                    standard: s,
                };
                if by_namespace.insert(std.namespace.clone(), idx).is_some() {
                    problems.push(format!("namespace {} claimed twice", std.namespace));
                }
                let mut roots = HashMap::new();
                for m in &std.messages {
                    if roots.insert(m.root.as_str(), ()).is_some() {
                        problems.push(format!("{} {}: root {} twice", pack.id, std.name, m.root));
                    }
                    if m.entry.as_deref().is_some_and(|e| !is_safe_relative(e)) {
                        problems.push(format!("{}: entry of {} is not safe", pack.id, m.root));
                    }
                }
            }
            for dir in [&pack.shared_fallback, &pack.repo_fallback]
                .into_iter()
                .flatten()
            {
                if !is_safe_relative(dir) {
                    problems.push(format!(
                        "pack {}: fallback is not a safe relative path",
                        pack.id
                    ));
                }
            }
            for sch in &pack.schematron {
                if !is_safe_relative(sch) || !sch.ends_with(".sch") {
                    problems.push(format!(
                        "pack {}: schematron {sch:?} is not a safe relative path to a .sch file",
                        pack.id
                    ));
                }
            }
        }
        for pack in &raw.json_pack {
            if !is_safe_id(&pack.id) {
                problems.push(format!("json pack id {:?} is not [a-z0-9._-]+", pack.id));
            }
            if ids.insert(pack.id.as_str(), usize::MAX).is_some() {
                problems.push(format!("pack {} listed twice", pack.id));
            }
            for dir in [&pack.shared_fallback, &pack.repo_fallback]
                .into_iter()
                .flatten()
            {
                if !is_safe_relative(dir) {
                    problems.push(format!(
                        "json pack {}: fallback is not a safe relative path",
                        pack.id
                    ));
                }
            }
        }
        if !problems.is_empty() {
            return Err(CatalogError::Inconsistent(problems));
        }
        Ok(Catalog {
            uris,
            packs: raw.pack,
            json_packs: raw.json_pack,
            by_namespace,
        })
    }

    /// The file inside a pack that an absolute `schemaLocation` URL stands for.
    pub fn resolve_url(&self, url: &str) -> Option<&str> {
        self.uris.get(url).map(String::as_str)
    }

    /// All URL mappings, sorted by URL.
    pub fn uris(&self) -> impl Iterator<Item = (&str, &str)> {
        self.uris.iter().map(|(u, f)| (u.as_str(), f.as_str()))
    }

    /// All known packs, in catalogue order.
    pub fn packs(&self) -> &[PackSpec] {
        &self.packs
    }

    /// The JSON schema packs the catalogue knows (development fallbacks), in catalogue order.
    pub fn json_packs(&self) -> &[JsonPackSpec] {
        &self.json_packs
    }

    /// The pack with this id.
    pub fn pack(&self, id: &str) -> Option<&PackSpec> {
        self.packs.iter().find(|p| p.id == id)
    }

    /// The first pack (in catalogue order) one of whose `detect` namespaces is among the
    /// given target namespaces.
    pub fn detect_pack<'a, I>(&self, namespaces: I) -> Option<&PackSpec>
    where
        I: IntoIterator<Item = &'a str>,
    {
        let found: Vec<&str> = namespaces.into_iter().collect();
        self.packs
            .iter()
            .find(|p| p.detect.iter().any(|d| found.contains(&d.as_str())))
    }

    /// The pack and standard whose message namespace this is.
    pub fn standard_for_namespace(&self, namespace: &str) -> Option<(&PackSpec, &StandardSpec)> {
        let idx = self.by_namespace.get(namespace)?;
        let pack = &self.packs[idx.pack];
        Some((pack, &pack.standards[idx.standard]))
    }
}

/// `*`-glob match: `*` stands for any (possibly empty) run of characters.
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        // No `*` at all: the whole text must have been the literal.
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// Whether `id` can name a pack directory: `[a-z0-9._-]+`, not starting with a dot.
pub(crate) fn is_safe_id(id: &str) -> bool {
    !id.is_empty()
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

/// A relative path with `/` separators, no `..`, no empty or `.` segments, no backslashes.
pub(crate) fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.contains(':')
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_loads_with_all_xbau_roots() {
        let c = Catalog::from_toml(EMBEDDED_TOML).expect("embedded catalog");
        let xbau = c.pack("xbau-2.6").expect("xbau pack");
        let roots: usize = xbau.standards.iter().map(|s| s.messages.len()).sum();
        assert_eq!(roots, 139);
        assert_eq!(
            xbau.schematron,
            [
                "sch/xbau-schematron.sch",
                "sch/xbau-schematron-leere-elemente.sch"
            ]
        );
        assert!(
            xbau.standards
                .iter()
                .flat_map(|s| &s.messages)
                .all(|m| m.entry.is_some())
        );
    }

    #[test]
    fn urls_resolve_to_pack_files() {
        let c = Catalog::embedded();
        assert_eq!(
            c.resolve_url("http://xoev.de/schemata/code/1_0/xoev-code.xsd"),
            Some("xoev-code.xsd")
        );
        assert_eq!(
            c.resolve_url(
                "https://xleitstelle.de/xbau/schema/kernmodul/1/3/0/xbau-kernmodul-datentypen.xsd"
            ),
            Some("xbau-kernmodul-datentypen.xsd")
        );
        assert_eq!(c.resolve_url("http://example.org/evil.xsd"), None);
    }

    #[test]
    fn unknown_fields_are_rejected() {
        let err = Catalog::from_toml("format = 1\nsurprise = true\n").expect_err("unknown field");
        assert!(matches!(err, CatalogError::Syntax(_)), "{err}");
    }

    #[test]
    fn wrong_format_is_rejected() {
        let err = Catalog::from_toml("format = 2\n").expect_err("format");
        assert!(matches!(err, CatalogError::Format(2)));
    }

    #[test]
    fn inconsistencies_are_all_reported() {
        let text = r#"
format = 1
[[uri]]
url = "http://a/x.xsd"
file = "../x.xsd"
[[pack]]
id = "Bad Id"
title = "t"
detect = []
schematron = ["../rules.sch", "sch/rules.xsl"]
[[pack.standard]]
name = "S"
version = "1"
namespace = "urn:s"
messages = [ { root = "a" }, { root = "a" } ]
"#;
        let Err(CatalogError::Inconsistent(problems)) = Catalog::from_toml(text) else {
            panic!("expected inconsistency");
        };
        assert_eq!(problems.len(), 6, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("\"../rules.sch\"")));
    }

    #[test]
    fn globs() {
        assert!(glob_matches(
            "*.gewerbemeldung.*",
            "abh.gewerbemeldung.0500"
        ));
        assert!(!glob_matches("*.gewerbemeldung.*", "gewerbemeldung.0500"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a", "a"));
        assert!(!glob_matches("a", "ab"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(!glob_matches("a*bc", "abc-"));
        assert!(!glob_matches("ab*ba", "aba"));
    }

    #[test]
    fn safe_relative_paths() {
        assert!(is_safe_relative("xsd/a.xsd"));
        for bad in ["", "/a", "a/../b", "./a", "a//b", "c:\\a", "a\\b"] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}
