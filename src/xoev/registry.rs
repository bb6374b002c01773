//! The standard registry: (namespace, root element) → standard, version, message type, schema
//! pack and entry XSD.
//!
//! Identification uses the [`Catalog`] alone; resolution also needs the loaded packs
//! ([`LoadedPack`], read from disk by [`super::pack`]). Both are pure lookups. A document the
//! registry cannot place gets an [`Unsupported`] answer naming why, which the pipeline maps to a
//! FIT-Connect problem; it never names instance values beyond the root's qualified name.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::catalog::{Catalog, MessageSpec, PackSpec, StandardSpec, glob_matches};

/// Why a document cannot be handled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unsupported {
    /// No known standard uses this namespace (also: no namespace at all).
    #[error("unsupported document: namespace {namespace:?} belongs to no known XÖV standard")]
    UnknownNamespace {
        /// The root element's namespace (empty when it has none).
        namespace: String,
    },
    /// The namespace is known, but this root element is not one of its messages.
    #[error("unsupported document: {root} is not a message of {standard} {version}")]
    UnknownRoot {
        /// Local name of the root element.
        root: String,
        /// The standard owning the namespace.
        standard: String,
        /// Its version.
        version: String,
    },
    /// The message is known, but its schema pack is neither installed nor available as a
    /// development fallback.
    #[error("schema pack {pack} is not installed (poststelle schemas install)")]
    PackNotInstalled {
        /// The pack id (`xbau-2.6`).
        pack: String,
    },
    /// The pack is installed but declares no such root element (or lacks the entry file).
    #[error("schema pack {pack} has no entry schema for root {root}")]
    NoEntry {
        /// The pack id.
        pack: String,
        /// Local name of the root element.
        root: String,
    },
    /// No installed JSON schema pack has a schema with this `$id`, and it is not passed
    /// through.
    #[error("no installed JSON schema pack provides {uri}")]
    UnknownJsonSchema {
        /// The schema URI asked for (a schema name, never instance data).
        uri: String,
    },
}

/// A message the catalogue knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified<'c> {
    /// Standard name (`XBau`).
    pub standard: &'c str,
    /// Standard version (`2.6`).
    pub version: &'c str,
    /// XRepository kennung of the standard, where known.
    pub kennung: Option<&'c str>,
    /// Message namespace.
    pub namespace: &'c str,
    /// Message type: the root element's local name (`baugenehmigung.antrag.0200`).
    pub message_type: String,
    /// XÖV Nachrichtentyp code (`0200`), where known or derivable from the root name.
    pub code: Option<String>,
    /// The schema pack that holds the schemas (`xbau-2.6`).
    pub pack_id: &'c str,
    /// Entry XSD inside the pack, as the catalogue names it.
    pub entry: Option<&'c str>,
    /// True when the root is listed in the catalogue; false when only a root pattern admits it.
    pub listed: bool,
}

impl Identified<'_> {
    /// The FIT-Connect submission schema URI of this message: `<kennung>_<version>#<message>`
    /// (e.g. `urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200`, the routing
    /// specification's form), when the standard's kennung is known.
    #[must_use]
    pub fn schema_uri(&self) -> Option<String> {
        let kennung = self.kennung?;
        Some(format!("{kennung}_{}#{}", self.version, self.message_type))
    }

    /// Whether a declared `submissionSchema.schemaUri` names this message: the standard's
    /// `<kennung>_<version>`, alone or with `#<message type>`. A message whose kennung is not
    /// known matches nothing.
    #[must_use]
    pub fn matches_schema_uri(&self, declared: &str) -> bool {
        let Some(kennung) = self.kennung else {
            return false;
        };
        let (base, fragment) = match declared.split_once('#') {
            Some((b, f)) => (b, Some(f)),
            None => (declared, None),
        };
        base.strip_prefix(kennung)
            .and_then(|rest| rest.strip_prefix('_'))
            .is_some_and(|v| v == self.version)
            && fragment.is_none_or(|f| f == self.message_type)
    }
}

/// Global element declarations of a pack: (namespace, local name) → file declaring it.
pub type RootIndex = BTreeMap<(String, String), String>;

/// Where a loaded pack came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PackOrigin {
    /// Installed with `poststelle schemas install` (has a `pack.toml`).
    Installed,
    /// The shared test-data copy (`$POSTSTELLE_SHARED/...`), for development.
    SharedFallback,
    /// A pack the project wrote itself, in the repository (`schemas/...`).
    RepoFallback,
}

/// A schema pack present on disk, summarised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedPack {
    /// Pack id (`xbau-2.6`), as in the catalogue.
    pub id: String,
    /// Directory holding the pack's files.
    pub dir: PathBuf,
    /// Content fingerprint (`sha256:<hex>`), see [`super::pack::fingerprint`].
    pub fingerprint: String,
    /// Where it came from.
    pub origin: PackOrigin,
    /// Global element declarations: (namespace, local name) → file (relative path) declaring it.
    pub roots: RootIndex,
    /// Every file of the pack (relative paths, sorted).
    pub files: Vec<String>,
    /// The pack's business rules: the Schematron files the catalogue names for it that are
    /// present, in catalogue order ([`super::rules`]).
    pub schematron: Vec<PathBuf>,
    /// The pack's genericode code lists (`codelists/*.xml`, sorted; [`super::codelist`]).
    pub codelists: Vec<PathBuf>,
}

impl LoadedPack {
    /// `id@fingerprint`, the form the JSON envelope names the schema pack by.
    pub fn label(&self) -> String {
        format!("{}@{}", self.id, self.fingerprint)
    }
}

/// A JSON schema pack present on disk ([`crate::fim::JsonPack`]), shared by every check.
#[derive(Debug, Clone)]
pub struct LoadedJsonPack {
    /// Directory holding the pack's files.
    pub dir: PathBuf,
    /// Where it came from.
    pub origin: PackOrigin,
    /// The schemas, compiled on first use.
    pub pack: Arc<crate::fim::JsonPack>,
}

/// What validates JSON Fachdaten that declare a schema URI ([`Registry::resolve_json`]).
#[derive(Debug, Clone, Copy)]
pub enum JsonSchemaSource<'r> {
    /// The installed pack with a schema of that `$id`.
    Pack(&'r LoadedJsonPack),
    /// Nothing: the operator lists the URI in `[validation] pass_through_json` (dangerous).
    PassThrough,
}

/// A message resolved to the schema to validate it with.
#[derive(Debug, Clone)]
pub struct Resolved<'r> {
    /// What the message is.
    pub message: Identified<'r>,
    /// The pack providing the schemas.
    pub pack: &'r LoadedPack,
    /// Absolute or working-dir-relative path of the entry XSD.
    pub entry: PathBuf,
}

/// The catalogue plus the packs available on this machine.
#[derive(Debug, Clone)]
pub struct Registry<'c> {
    catalog: &'c Catalog,
    packs: Vec<LoadedPack>,
    json: Vec<LoadedJsonPack>,
    pass_through_json: Vec<String>,
}

impl<'c> Registry<'c> {
    /// A registry over these packs. Earlier packs win when two carry the same id, so pass
    /// installed packs before fallbacks.
    pub fn new(catalog: &'c Catalog, packs: Vec<LoadedPack>) -> Self {
        Registry {
            catalog,
            packs,
            json: Vec::new(),
            pass_through_json: Vec::new(),
        }
    }

    /// This registry with these JSON schema packs (earlier ones win for a `$id` two provide,
    /// so pass installed packs before fallbacks).
    #[must_use]
    pub fn with_json_packs(mut self, packs: Vec<LoadedJsonPack>) -> Self {
        self.json = packs;
        self
    }

    /// This registry passing JSON Fachdaten of these schema URIs through unvalidated
    /// (`[validation] pass_through_json`; dangerous, logged at start). A URI an installed
    /// pack provides is still validated.
    #[must_use]
    pub fn with_json_pass_through(mut self, uris: Vec<String>) -> Self {
        self.pass_through_json = uris;
        self
    }

    /// The loaded JSON schema packs, in precedence order.
    pub fn json_packs(&self) -> &[LoadedJsonPack] {
        &self.json
    }

    /// The JSON schema URIs passed through unvalidated.
    pub fn json_pass_through(&self) -> &[String] {
        &self.pass_through_json
    }

    /// What validates JSON Fachdaten declaring `schema_uri`: the first pack with a schema of
    /// that `$id`, else nothing when the operator passes the URI through.
    ///
    /// # Errors
    /// [`Unsupported::UnknownJsonSchema`].
    pub fn resolve_json(&self, schema_uri: &str) -> Result<JsonSchemaSource<'_>, Unsupported> {
        if let Some(p) = self.json.iter().find(|p| p.pack.provides(schema_uri)) {
            return Ok(JsonSchemaSource::Pack(p));
        }
        if self.pass_through_json.iter().any(|u| u == schema_uri) {
            return Ok(JsonSchemaSource::PassThrough);
        }
        Err(Unsupported::UnknownJsonSchema {
            uri: schema_uri.to_owned(),
        })
    }

    /// The catalogue.
    pub fn catalog(&self) -> &'c Catalog {
        self.catalog
    }

    /// The loaded packs, in precedence order.
    pub fn packs(&self) -> &[LoadedPack] {
        &self.packs
    }

    /// The pack that would serve this pack id.
    pub fn pack(&self, id: &str) -> Option<&LoadedPack> {
        self.packs.iter().find(|p| p.id == id)
    }

    /// What message this is, from the catalogue alone.
    pub fn identify(&self, namespace: &str, root: &str) -> Result<Identified<'c>, Unsupported> {
        identify(self.catalog, namespace, root)
    }

    /// What message this is and which schema validates it.
    pub fn resolve(&self, namespace: &str, root: &str) -> Result<Resolved<'_>, Unsupported> {
        let message = identify(self.catalog, namespace, root)?;
        let pack = self
            .pack(message.pack_id)
            .ok_or_else(|| Unsupported::PackNotInstalled {
                pack: message.pack_id.to_owned(),
            })?;
        let no_entry = || Unsupported::NoEntry {
            pack: pack.id.clone(),
            root: root.to_owned(),
        };
        let file = match message.entry {
            Some(entry) => entry,
            None => pack
                .roots
                .get(&(namespace.to_owned(), root.to_owned()))
                .map(String::as_str)
                .ok_or_else(no_entry)?,
        };
        if !pack.files.iter().any(|f| f == file) {
            return Err(no_entry());
        }
        let entry = pack.dir.join(file);
        Ok(Resolved {
            message,
            pack,
            entry,
        })
    }
}

/// Identifies (namespace, root local name) against the catalogue.
pub fn identify<'c>(
    catalog: &'c Catalog,
    namespace: &str,
    root: &str,
) -> Result<Identified<'c>, Unsupported> {
    let (pack, standard) =
        catalog
            .standard_for_namespace(namespace)
            .ok_or_else(|| Unsupported::UnknownNamespace {
                namespace: namespace.to_owned(),
            })?;
    if let Some(message) = standard.messages.iter().find(|m| m.root == root) {
        return Ok(identified(pack, standard, root, Some(message)));
    }
    if standard.root_patterns.iter().any(|p| glob_matches(p, root)) {
        return Ok(identified(pack, standard, root, None));
    }
    Err(Unsupported::UnknownRoot {
        root: root.to_owned(),
        standard: standard.name.clone(),
        version: standard.version.clone(),
    })
}

fn identified<'c>(
    pack: &'c PackSpec,
    standard: &'c StandardSpec,
    root: &str,
    message: Option<&'c MessageSpec>,
) -> Identified<'c> {
    let code = message
        .and_then(|m| m.code.clone())
        .or_else(|| derived_code(root).map(str::to_owned));
    Identified {
        standard: &standard.name,
        version: &standard.version,
        kennung: standard.kennung.as_deref(),
        namespace: &standard.namespace,
        message_type: root.to_owned(),
        code,
        pack_id: &pack.id,
        entry: message.and_then(|m| m.entry.as_deref()),
        listed: message.is_some(),
    }
}

/// XÖV roots end in the four-digit Nachrichtentyp code (`….0500`).
fn derived_code(root: &str) -> Option<&str> {
    let (_, last) = root.rsplit_once('.')?;
    (last.len() == 4 && last.bytes().all(|b| b.is_ascii_digit())).then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    const XBAU: &str = "http://www.xleitstelle.de/xbau/2/6";
    const XGA22: &str = "http://www.xgewerbeanzeige.de/spezifikation/2.2";

    fn pack(id: &str, roots: &[(&str, &str, &str)], files: &[&str]) -> LoadedPack {
        LoadedPack {
            id: id.to_owned(),
            dir: PathBuf::from("/packs").join(id),
            fingerprint: "sha256:00".to_owned(),
            origin: PackOrigin::Installed,
            roots: roots
                .iter()
                .map(|(n, r, f)| (((*n).to_owned(), (*r).to_owned()), (*f).to_owned()))
                .collect(),
            files: files.iter().map(|f| (*f).to_owned()).collect(),
            schematron: Vec::new(),
            codelists: Vec::new(),
        }
    }

    #[test]
    fn identifies_listed_xbau_root() {
        let m = identify(Catalog::embedded(), XBAU, "baugenehmigung.antrag.0200").expect("known");
        assert_eq!(
            (m.standard, m.version, m.pack_id),
            ("XBau", "2.6", "xbau-2.6")
        );
        assert_eq!(m.entry, Some("xbau-nachrichten-baugenehmigung.xsd"));
        assert_eq!(m.code.as_deref(), Some("0200"));
        assert!(m.listed);
    }

    #[test]
    fn pattern_admits_unlisted_gewerbemeldung() {
        let m = identify(Catalog::embedded(), XGA22, "ihk.gewerbemeldung.0400").expect("pattern");
        assert!(!m.listed);
        assert_eq!(m.code.as_deref(), Some("0400"));
        assert_eq!(m.pack_id, "xgewerbeanzeige-2.2");
    }

    #[test]
    fn unknown_documents_are_unsupported() {
        let c = Catalog::embedded();
        assert!(matches!(
            identify(c, "", "xy"),
            Err(Unsupported::UnknownNamespace { .. })
        ));
        assert!(matches!(
            identify(c, XBAU, "nachricht.erfunden.9999"),
            Err(Unsupported::UnknownRoot { .. })
        ));
    }

    #[test]
    fn resolve_needs_a_pack_and_an_entry() {
        let c = Catalog::embedded();
        let empty = Registry::new(c, vec![]);
        assert!(matches!(
            empty.resolve(XBAU, "baugenehmigung.antrag.0200"),
            Err(Unsupported::PackNotInstalled { .. })
        ));
        let xga = pack(
            "xgewerbeanzeige-2.2",
            &[(XGA22, "abh.gewerbemeldung.0500", "nachrichten.xsd")],
            &["nachrichten.xsd"],
        );
        let reg = Registry::new(c, vec![xga]);
        let r = reg
            .resolve(XGA22, "abh.gewerbemeldung.0500")
            .expect("resolves");
        assert_eq!(
            r.entry,
            PathBuf::from("/packs/xgewerbeanzeige-2.2/nachrichten.xsd")
        );
        assert!(matches!(
            reg.resolve(XGA22, "sta.gewerbemeldung.0100"),
            Err(Unsupported::NoEntry { .. })
        ));
    }

    #[test]
    fn missing_entry_file_is_no_entry() {
        let c = Catalog::embedded();
        let reg = Registry::new(c, vec![pack("xbau-2.6", &[], &["xbau-codes.xsd"])]);
        assert!(matches!(
            reg.resolve(XBAU, "baugenehmigung.antrag.0200"),
            Err(Unsupported::NoEntry { .. })
        ));
    }
}
