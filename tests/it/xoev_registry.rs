//! The registry against the real XBau 2.6 root list and the project's own packs.

use poststelle::xoev::catalog::Catalog;
use poststelle::xoev::pack::{self, PackSources};
use poststelle::xoev::pack_files::PackLimits;
use poststelle::xoev::registry::{PackOrigin, Unsupported};

use crate::xoev_support::{repo, shared, xbau_xsd_dev};

fn roots_tsv() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(shared().join("xoev/xbau-2.6/ROOTS.tsv"))
        .expect("ROOTS.tsv in the shared test data");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("namespace\t") && !l.is_empty())
        .map(|l| {
            let mut f = l.split('\t').map(str::to_owned);
            let ns = f.next().expect("namespace column");
            let root = f.next().expect("root column");
            let entry = f.next().expect("entry column");
            (ns, root, entry)
        })
        .collect()
}

fn sources() -> PackSources {
    PackSources {
        packs_dir: repo("target/no-such-packs-dir"),
        shared_dir: Some(shared()),
        repo_dir: Some(repo("")),
    }
}

#[test]
fn every_xbau_root_is_identified_and_resolves_to_its_entry() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let catalog = Catalog::embedded();
    let (registry, broken) = pack::discover(catalog, &sources(), &PackLimits::default());
    assert!(broken.is_empty(), "{broken:?}");
    let xbau = registry
        .pack("xbau-2.6")
        .expect("shared XBau fallback found");
    assert_eq!(xbau.origin, PackOrigin::SharedFallback);
    let rows = roots_tsv();
    assert_eq!(rows.len(), 139);
    for (ns, root, entry) in rows {
        let r = registry
            .resolve(&ns, &root)
            .unwrap_or_else(|e| panic!("{root}: {e}"));
        assert_eq!(r.message.message_type, root);
        assert_eq!(r.message.pack_id, "xbau-2.6");
        assert!(r.message.listed);
        let expected = entry.strip_prefix("xsd_dev/").expect("xsd_dev/ prefix");
        assert_eq!(r.entry, xbau_xsd_dev().join(expected), "{root}");
        assert!(r.entry.is_file());
        // The catalogue's entry file really declares the root.
        let key = (ns.clone(), root.clone());
        let declared_in = xbau
            .roots
            .get(&key)
            .unwrap_or_else(|| panic!("{root} declared"));
        assert_eq!(declared_in, expected);
        let standard = if ns.ends_with("/kernmodul/1/3/0") {
            "XBau-Kernmodul"
        } else {
            "XBau"
        };
        assert_eq!(r.message.standard, standard);
    }
}

#[test]
fn unknown_documents_are_unsupported() {
    let (registry, _) = pack::discover(Catalog::embedded(), &sources(), &PackLimits::default());
    // The KoSIT "unknown document" case is `<xy/>`: no namespace.
    assert!(matches!(
        registry.resolve("", "xy"),
        Err(Unsupported::UnknownNamespace { .. })
    ));
    let err = registry
        .resolve(
            "http://www.xleitstelle.de/xbau/2/6",
            "baugenehmigung.erfunden.0299",
        )
        .expect_err("unknown root");
    assert!(matches!(err, Unsupported::UnknownRoot { .. }));
    assert!(err.to_string().contains("XBau 2.6"), "{err}");
    // XGewerbeordnung 1.6 is known but not installed anywhere here.
    let err = registry
        .resolve(
            "http://www.xgewerbeordnung.de/spezifikation/xga/1.6",
            "sta.gewerbemeldung.0100",
        )
        .expect_err("not installed");
    assert_eq!(
        err,
        Unsupported::PackNotInstalled {
            pack: "xgewerbeordnung-1.6".into()
        }
    );
}

#[test]
fn the_xgewerbeanzeige_reconstruction_serves_2_2_messages() {
    let (registry, broken) =
        pack::discover(Catalog::embedded(), &sources(), &PackLimits::default());
    assert!(broken.is_empty(), "{broken:?}");
    let ns = "http://www.xgewerbeanzeige.de/spezifikation/2.2";
    for root in ["abh.gewerbemeldung.0500", "sta.gewerbemeldung.0100"] {
        let r = registry.resolve(ns, root).expect("resolves");
        assert_eq!(r.pack.origin, PackOrigin::RepoFallback);
        assert_eq!(
            r.entry,
            repo("schemas/xgewerbeanzeige-2.2/xgewerbeanzeige-nachrichten.xsd")
        );
        assert_eq!(r.message.standard, "XGewerbeanzeige");
    }
    // Admitted by the pattern, but not declared by our reconstruction.
    assert!(matches!(
        registry.resolve(ns, "ihk.gewerbemeldung.0400"),
        Err(Unsupported::NoEntry { .. })
    ));
    // 2.0 and 2.1 are known standards without a pack here.
    assert!(matches!(
        registry.resolve(
            "http://www.xgewerbeanzeige.de/spezifikation/2.1",
            "sta.gewerbemeldung.0100"
        ),
        Err(Unsupported::PackNotInstalled { .. })
    ));
}

#[test]
fn absolute_schema_locations_of_the_xsd_variant_all_map_into_the_pack() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let catalog = Catalog::embedded();
    let dir = shared().join("xoev/xbau-2.6/xsd");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("xsd/ dir") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("xsd text");
        for loc in text.split("schemaLocation=\"").skip(1) {
            let url = &loc[..loc.find('"').expect("closing quote")];
            if url.starts_with("http") {
                let file = catalog
                    .resolve_url(url)
                    .unwrap_or_else(|| panic!("{url} unmapped"));
                assert!(xbau_xsd_dev().join(file).is_file(), "{url} -> {file}");
                seen += 1;
            }
        }
    }
    assert!(seen >= 60, "{seen} absolute locations");
}

#[test]
fn our_examples_are_identified_from_their_bytes() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    use poststelle::config::XmlLimits;
    use poststelle::xoev::root::document_root;
    let (registry, _) = pack::discover(Catalog::embedded(), &sources(), &PackLimits::default());
    for (file, pack_id, entry) in [
        (
            "examples/xbau/baugenehmigung.antrag.0200.xml",
            "xbau-2.6",
            "xbau-nachrichten-baugenehmigung.xsd",
        ),
        (
            "examples/xgewerbeanzeige/gewerbeanmeldung.xml",
            "xgewerbeanzeige-2.2",
            "xgewerbeanzeige-nachrichten.xsd",
        ),
    ] {
        let bytes = std::fs::read(repo(file)).expect("example");
        let root = document_root(&bytes[..], &XmlLimits::default()).expect("root");
        let r = registry
            .resolve(&root.namespace, &root.local)
            .expect("resolves");
        assert_eq!(r.message.pack_id, pack_id);
        assert!(r.entry.ends_with(entry), "{}", r.entry.display());
    }
    let unknown = std::fs::read(shared().join("xoev/samples/xgewerbeanzeige/xy-unknown.xml"))
        .expect("xy-unknown");
    let root = document_root(&unknown[..], &XmlLimits::default()).expect("root");
    assert!(matches!(
        registry.resolve(&root.namespace, &root.local),
        Err(Unsupported::UnknownNamespace { .. })
    ));
}
