//! `poststelle schemas install / list / check` and the pack store behind them.

use std::ffi::OsStr;
use std::io::Write as _;
use std::path::Path;

use poststelle::Limits;
use poststelle::xoev::catalog::Catalog;
use poststelle::xoev::pack::{self, PackError};
use poststelle::xoev::pack_files::{PackLimits, SourceError};

use crate::xoev_support::{poststelle, repo, text, xbau_xsd_dev};

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn run(args: &[&str], packs: &Path) -> std::process::Output {
    let mut all: Vec<&OsStr> = args.iter().map(|a| os(a)).collect();
    all.push(os("--packs"));
    all.push(packs.as_os_str());
    poststelle(&all)
}

#[test]
fn install_list_check_and_tamper() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let packs = tmp.path().join("packs");
    let src = xbau_xsd_dev();

    let out = run(
        &["schemas", "install", src.to_str().expect("utf-8 path")],
        &packs,
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("installed xbau-2.6@sha256:"),
        "{}",
        text(&out)
    );
    let manifest = pack::read_manifest(&packs.join("xbau-2.6")).expect("pack.toml");
    // 45 XSD files, the two Schematron files and the 112 code lists from beside xsd_dev/.
    assert_eq!(manifest.files, 159);
    assert_eq!(manifest.source, "xsd_dev");

    // Installing again needs --force.
    let out = run(
        &["schemas", "install", src.to_str().expect("utf-8")],
        &packs,
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already installed"));

    let out = run(&["schemas", "list"], &packs);
    assert!(out.status.success(), "{}", text(&out));
    let listing = text(&out);
    assert!(listing.contains(&format!(
        "xbau-2.6\t{}\t159 files\tinstalled",
        manifest.fingerprint
    )));

    let out = run(&["schemas", "check"], &packs);
    assert!(out.status.success(), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("OK\txbau-2.6@sha256:"), "{report}");
    assert!(report.contains("25 entry schemas present"), "{report}");
    assert!(report.contains(" compiled"), "{report}");
    assert!(!report.contains("not compiled"), "{report}");

    // Tamper with one file: every later load refuses the pack.
    let victim = packs.join("xbau-2.6/xbau-codes.xsd");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&victim)
        .expect("open");
    f.write_all(b"\n<!-- edited -->\n").expect("append");
    let out = run(&["schemas", "check"], &packs);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("fingerprint mismatch"),
        "{}",
        text(&out)
    );
    let out = run(&["schemas", "list"], &packs);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out).contains("BROKEN"));

    // A removed entry file is also caught (after --force reinstall to reset the fingerprint).
    let out = run(
        &[
            "schemas",
            "install",
            "--force",
            src.to_str().expect("utf-8"),
        ],
        &packs,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run(
        &["schemas", "check", "xbau-2.6", "xgewerbeordnung-1.6"],
        &packs,
    );
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out);
    assert!(report.contains("OK\txbau-2.6"), "{report}");
    assert!(
        report.contains("FAIL\txgewerbeordnung-1.6\tnot installed"),
        "{report}"
    );
}

#[test]
fn check_fails_when_a_catalogue_entry_is_missing() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("partial");
    std::fs::create_dir(&src).expect("mkdir");
    // A pack with the XBau namespace but without the message entry files.
    for f in ["xbau-codes.xsd", "xbau-baukasten.xsd"] {
        std::fs::copy(xbau_xsd_dev().join(f), src.join(f)).expect("copy into tempdir");
    }
    let packs = tmp.path().join("packs");
    let out = run(
        &["schemas", "install", src.to_str().expect("utf-8")],
        &packs,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = run(&["schemas", "check"], &packs);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out)
            .contains("missing entry schemas: xbau-bauordnungsrechtlicheProzessnachrichten.xsd")
    );
}

#[test]
fn install_recognises_the_reconstructed_xgewerbeanzeige_pack() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let p = pack::install(
        Catalog::embedded(),
        &repo("schemas/xgewerbeanzeige-2.2"),
        tmp.path(),
        false,
        &PackLimits::default(),
        &Limits::default(),
    )
    .expect("installs");
    assert_eq!(p.id, "xgewerbeanzeige-2.2");
    assert_eq!(p.roots.len(), 5);
}

/// The global elements of an installed pack are recorded in `pack.toml` at installation and
/// taken from there on load (no second parse of every XSD file per command); a manifest from
/// before the record loads as before, and a record naming a file outside the pack is refused.
#[test]
fn installed_packs_load_their_roots_from_the_manifest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let limits = PackLimits::default();
    let installed = pack::install(
        Catalog::embedded(),
        &repo("schemas/xgewerbeanzeige-2.2"),
        tmp.path(),
        false,
        &limits,
        &Limits::default(),
    )
    .expect("installs");
    let dir = tmp.path().join("xgewerbeanzeige-2.2");
    let manifest = pack::read_manifest(&dir).expect("pack.toml");
    for ((namespace, element), file) in &installed.roots {
        assert!(
            manifest
                .roots
                .iter()
                .any(|r| &r.namespace == namespace && &r.element == element && &r.file == file),
            "{element} is not recorded"
        );
    }
    let load = || pack::load_installed(Catalog::embedded(), &dir, &limits);
    assert_eq!(load().expect("loads"), installed);

    let write = |m: &pack::PackManifest| {
        std::fs::write(dir.join("pack.toml"), toml::to_string(m).expect("toml")).expect("write");
    };
    // The record is what the load uses: point a message root at another XSD file of the pack.
    let ((namespace, element), file) = installed.roots.iter().next().expect("a message root");
    let other = installed
        .files
        .iter()
        .find(|f| f.ends_with(".xsd") && *f != file)
        .expect("a second XSD file");
    let mut edited = manifest.clone();
    let at = edited
        .roots
        .iter()
        .position(|r| &r.namespace == namespace && &r.element == element)
        .expect("recorded");
    edited.roots[at].file = other.clone();
    write(&edited);
    let loaded = load().expect("loads");
    assert_eq!(
        loaded.roots.get(&(namespace.clone(), element.clone())),
        Some(other)
    );
    // `schemas check` parses the files again and finds the record wrong.
    let out = run(&["schemas", "check"], tmp.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("the recorded roots differ from the XSD files in 1 entry"),
        "{}",
        text(&out)
    );
    write(&manifest);
    let out = run(&["schemas", "check"], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("recorded roots verified"),
        "{}",
        text(&out)
    );

    // A record naming a file the pack does not hold is refused, not followed.
    let mut edited = manifest.clone();
    edited.roots[0].file = "../elsewhere.xsd".to_owned();
    write(&edited);
    let err = load().expect_err("refused");
    assert!(matches!(err, PackError::Manifest { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("which is not an XSD file of the pack"),
        "{err}"
    );

    // A manifest without the record (installed by an earlier version) loads as before.
    let mut old = manifest.clone();
    old.roots.clear();
    write(&old);
    assert!(
        !std::fs::read_to_string(dir.join("pack.toml"))
            .expect("read")
            .contains("[[root]]")
    );
    assert_eq!(load().expect("loads").roots, installed.roots);
    let out = run(&["schemas", "check"], tmp.path());
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("roots not recorded"), "{}", text(&out));
}

#[test]
fn unknown_standards_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("other");
    std::fs::create_dir(&src).expect("mkdir");
    std::fs::write(
        src.join("x.xsd"),
        r#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:x"/>"#,
    )
    .expect("write");
    let err = pack::install(
        Catalog::embedded(),
        &src,
        tmp.path(),
        false,
        &PackLimits::default(),
        &Limits::default(),
    )
    .expect_err("unknown");
    assert!(matches!(err, PackError::Unrecognised(_)), "{err}");
    assert!(!tmp.path().join("x.xsd").exists());
}

fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).expect("create zip");
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in entries {
        zip.start_file(*name, opts).expect("start entry");
        zip.write_all(bytes).expect("write entry");
    }
    zip.finish().expect("finish zip");
}

#[test]
fn install_from_an_xrepository_style_zip_prefers_xsd_dev() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for e in std::fs::read_dir(xbau_xsd_dev()).expect("xsd_dev") {
        let path = e.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("name")
            .to_owned();
        let bytes = std::fs::read(&path).expect("read");
        entries.push((format!("xbau_2.6/xsd/{name}"), b"<ignored/>".to_vec()));
        entries.push((format!("xbau_2.6/xsd_dev/{name}"), bytes));
    }
    let refs: Vec<(&str, &[u8])> = entries
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let zip_path = tmp.path().join("xbau.zip");
    write_zip(&zip_path, &refs);
    let packs = tmp.path().join("packs");
    let p = pack::install(
        Catalog::embedded(),
        &zip_path,
        &packs,
        false,
        &PackLimits::default(),
        &Limits::default(),
    )
    .expect("zip installs");
    assert_eq!(p.id, "xbau-2.6");
    assert_eq!(p.files.len(), 45);
    assert!(
        packs
            .join("xbau-2.6/xbau-nachrichten-baugenehmigung.xsd")
            .is_file()
    );
    // Same content as installing the directory: same fingerprint.
    let dir_fp = pack::fingerprint(
        &poststelle::xoev::pack_files::read_dir(&xbau_xsd_dev(), &PackLimits::default(), None)
            .expect("read dir"),
    );
    assert_eq!(p.fingerprint, dir_fp);
    // Loaded again (roots from the manifest): the same pack as installed.
    let loaded = pack::load_installed(
        Catalog::embedded(),
        &packs.join("xbau-2.6"),
        &PackLimits::default(),
    )
    .expect("loads");
    assert_eq!(loaded, p);
}

#[test]
fn hostile_zips_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let packs = tmp.path().join("packs");
    let schema: &[u8] = br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="http://www.xleitstelle.de/xbau/2/6"/>"#;
    let install = |name: &str, entries: &[(&str, &[u8])], limits: &PackLimits| {
        let path = tmp.path().join(name);
        write_zip(&path, entries);
        pack::install(
            Catalog::embedded(),
            &path,
            &packs,
            false,
            limits,
            &Limits::default(),
        )
    };
    let err = install(
        "trav.zip",
        &[("a.xsd", schema), ("../evil.xsd", schema)],
        &PackLimits::default(),
    )
    .expect_err("traversal");
    assert!(
        matches!(err, PackError::Source(SourceError::UnsafePath(_))),
        "{err}"
    );
    assert!(!tmp.path().join("evil.xsd").exists());
    let err = install(
        "abs.zip",
        &[("/etc/evil.xsd", schema)],
        &PackLimits::default(),
    )
    .expect_err("absolute");
    assert!(
        matches!(err, PackError::Source(SourceError::UnsafePath(_))),
        "{err}"
    );

    let mut small = PackLimits::default();
    small.max_files = 2;
    let err = install(
        "many.zip",
        &[("a.xsd", schema), ("b.xsd", schema), ("c.xsd", schema)],
        &small,
    )
    .expect_err("too many entries");
    assert!(
        matches!(err, PackError::Source(SourceError::TooManyFiles(2))),
        "{err}"
    );

    // A compressed bomb: 8 MiB of zeros deflate to a few KiB.
    let zeros = vec![0u8; 8 * 1024 * 1024];
    let mut small = PackLimits::default();
    small.max_total_bytes = 1024 * 1024;
    let err = install("bomb.zip", &[("a.xsd", schema), ("z.bin", &zeros)], &small)
        .expect_err("too large");
    assert!(
        matches!(err, PackError::Source(SourceError::TooLarge(_))),
        "{err}"
    );
    assert!(!packs.exists() || std::fs::read_dir(&packs).expect("dir").next().is_none());
}

#[test]
fn install_refuses_a_pack_whose_schemas_break_a_compiler_limit() {
    // A pack in the XBau namespace whose message type sits at the end of a 2,000-level
    // extension chain: before the limits, compiling it took over 4 GB.
    let tmp = tempfile::tempdir().expect("tempdir");
    let src = tmp.path().join("hostile");
    std::fs::create_dir(&src).expect("mkdir");
    let schema = crate::xsd_limits::extension_chain_in(
        "http://www.xleitstelle.de/xbau/2/6",
        "baugenehmigung.antrag.0200",
        2_000,
        |i| format!("T{i}"),
    );
    std::fs::write(src.join("xbau-hostile.xsd"), schema).expect("write");
    let packs = tmp.path().join("packs");
    let out = run(
        &["schemas", "install", src.to_str().expect("utf-8")],
        &packs,
    );
    let shown = text(&out);
    assert_eq!(out.status.code(), Some(2), "{shown}");
    assert!(
        shown.contains("entry schema xbau-hostile.xsd does not compile"),
        "{shown}"
    );
    assert!(
        shown.contains("(limit xsd.max_derivation_depth)"),
        "{shown}"
    );
    // Nothing is left behind: no pack, no staging directory.
    let left: Vec<_> = std::fs::read_dir(&packs)
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn leftovers_of_an_interrupted_install_are_not_packs() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let packs = tmp.path();
    let p = pack::install(
        Catalog::embedded(),
        &repo("schemas/xgewerbeanzeige-2.2"),
        packs,
        false,
        &PackLimits::default(),
        &Limits::default(),
    )
    .expect("installs");
    // Simulate a crash between staging and rename: a hidden copy with a manifest.
    let staging = packs.join(".staging-xgewerbeanzeige-2.2-1");
    std::fs::create_dir(&staging).expect("mkdir");
    std::fs::copy(p.dir.join(pack::MANIFEST), staging.join(pack::MANIFEST)).expect("copy");
    let listed =
        pack::list_installed(Catalog::embedded(), packs, &PackLimits::default()).expect("list");
    assert_eq!(listed.len(), 1);
    assert!(listed[0].1.is_ok());
    // --force replaces the pack in place.
    let again = pack::install(
        Catalog::embedded(),
        &repo("schemas/xgewerbeanzeige-2.2"),
        packs,
        true,
        &PackLimits::default(),
        &Limits::default(),
    )
    .expect("force");
    assert_eq!(again.fingerprint, p.fingerprint);
    assert!(
        !packs
            .join(format!(
                ".retired-xgewerbeanzeige-2.2-{}",
                std::process::id()
            ))
            .exists()
    );
}
