//! `poststelle render`: the case-worker view of every XBau sample and the XGewerbeanzeige
//! examples renders (exit 0, a self-contained page that the XML reader accepts), two of them
//! as insta snapshots of the text content (labels from the XSD documentation), and a document
//! that is not XSD-valid gives exit 1 with its errors and no page.

use std::path::Path;
use std::process::Output;

use poststelle::config::XmlLimits;
use poststelle::xml::{BoundedReader, Event};

use super::validate_rules::{installed_or_skip, run};
use super::xoev_support::repo;

/// Checks a page: non-empty, German, no external resources or scripts, one `h1`, a print
/// style, well-formed XML.
fn check_page(name: &str, out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = String::from_utf8(out.stdout.clone()).expect("UTF-8");
    assert!(
        page.starts_with("<!DOCTYPE html><html lang=\"de\">"),
        "{name}"
    );
    // No external resources (URLs in the documentation or the values are text, escaped).
    for resource in [
        "src=", "href=", "url(", "@import", "<script", "<link", "<img", "<iframe",
    ] {
        assert!(!page.contains(resource), "{name}: {resource}");
    }
    assert_eq!(page.matches("<h1>").count(), 1, "{name}: one h1");
    assert!(page.contains("@media print"), "{name}");
    // XHTML-compatible: the repository's XML reader reads it to the end (the doctype cut off,
    // as the reader refuses DTDs).
    let body = page.strip_prefix("<!DOCTYPE html>").expect("doctype");
    let mut reader = BoundedReader::from_bytes(body.as_bytes(), &XmlLimits::default());
    loop {
        match reader.next_event() {
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(e) => panic!("{name}: not well-formed: {e}"),
        }
    }
    page
}

/// The text of a page: tags, the style and the explanations removed, one line per
/// heading, term, definition, paragraph and table cell; the pack fingerprint redacted, and
/// every value of the message (definitions, table cells, a section's own value) as `[Wert]`:
/// snapshots hold the labels and the structure, never a value of the message (even test
/// data's names and addresses stay out, as in the transform's snapshots).
pub(crate) fn text_of(page: &str) -> String {
    let mut out = String::new();
    let mut rest = page;
    let mut skip_until: Option<&str> = None;
    while let Some(start) = rest.find('<') {
        if skip_until.is_none() {
            out.push_str(&rest[..start]);
        }
        let end = rest[start..]
            .find('>')
            .map_or(rest.len(), |e| start + e + 1);
        let tag = &rest[start..end];
        match skip_until {
            Some(close) if tag.starts_with(close) => skip_until = None,
            Some(_) => {}
            None if tag.starts_with("<style") => skip_until = Some("</style"),
            None if tag.starts_with("<details") => skip_until = Some("</details"),
            None if tag.starts_with("<dd") || tag.starts_with("<td") || tag == "<p>" => {
                out.push_str("\n[Wert]\n");
                skip_until = Some(match &tag[..3] {
                    "<dd" => "</dd",
                    "<td" => "</td",
                    _ => "</p",
                });
            }
            None if ["<h", "<dt", "<p", "<th", "<title"]
                .iter()
                .any(|t| tag.starts_with(t)) =>
            {
                out.push('\n');
            }
            None => {}
        }
        rest = &rest[end..];
    }
    let text = out
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match l.find("@sha256:") {
            Some(at) => format!("{}@sha256:…)", &l[..at]),
            None => l.to_owned(),
        })
        .collect();
    lines.join("\n")
}

fn xml_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("samples")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_xbau_sample_renders_and_the_0200_shows_the_documentation_labels() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let root = crate::shared_data::shared().join(crate::shared_data::XBAU_SAMPLES);
    let mut rendered = 0;
    for dir in ["fv-generated", "fv-testdateien"] {
        for file in xml_files(&root.join(dir)) {
            let name = file
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            let out = run(&packs, &["render", &file.display().to_string()]);
            let page = check_page(&name, &out);
            rendered += 1;
            if name.starts_with("baugenehmigung.antrag.0200") {
                let text = text_of(&page);
                // From xs:documentation, not from element names.
                assert!(
                    text.contains("Diese Nachricht stellt einen Bauantrag dar"),
                    "{text}"
                );
                insta::assert_snapshot!("render_xbau_0200_text", text);
            }
        }
    }
    assert_eq!(rendered, 20, "the 20 XBau samples");
}

#[test]
fn the_xgewerbeanzeige_examples_render_and_one_is_snapshotted() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let examples = repo("examples/xgewerbeanzeige");
    let mut files = xml_files(&examples);
    let shared =
        crate::shared_data::shared().join("xoev/samples/xgewerbeanzeige/xgwa2.2-valid.xml");
    files.push(shared.clone());
    for file in &files {
        let name = file.display().to_string();
        let out = run(&packs, &["render", &name]);
        let page = check_page(&name, &out);
        if *file == shared {
            insta::assert_snapshot!("render_xgewerbeanzeige_2_2_text", text_of(&page));
        }
    }
}

#[test]
fn an_invalid_document_gives_its_xsd_errors_and_no_page() {
    let Some((_tmp, packs)) = installed_or_skip() else {
        return;
    };
    let bad = crate::shared_data::shared().join("xoev/samples/xgewerbeanzeige/xgwa2.2-invalid.xml");
    let out = run(&packs, &["render", &bad.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no page");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not expected here"), "{err}");
    assert!(err.contains("invalid, not rendered"), "{err}");
    // Not well-formed after its root (cut short): refused the same way, no partial page.
    let tmp = tempfile::tempdir().expect("tmp");
    let broken = tmp.path().join("broken.xml");
    let valid = std::fs::read_to_string(repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml"))
        .expect("example");
    std::fs::write(&broken, &valid[..valid.len() / 2]).expect("write");
    let out = run(&packs, &["render", &broken.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
}

#[test]
fn json_fachdaten_render_with_the_titles_of_their_fim_schemas_and_invalid_ones_do_not() {
    // The test FIM pack is the catalogue's repository fallback: nothing to install.
    let packs = tempfile::tempdir().expect("tmp");
    let valid = repo("test-vectors/fim/documents/valid.json");
    let out = run(packs.path(), &["render", &valid.display().to_string()]);
    let page = check_page("valid.json", &out);
    assert!(page.contains("<dt>Datum der Veranstaltung</dt>"), "{page}");
    // The console's page of the same document (snapshot of `console_http`), word for word.
    let snapshot = std::fs::read_to_string(repo(
        "tests/it/snapshots/it__console_http__console_json_document_text.snap",
    ))
    .expect("the console's snapshot");
    let console_text = snapshot.splitn(3, "---\n").nth(2).expect("snapshot body");
    assert_eq!(text_of(&page), console_text.trim_end());
    let invalid = repo("test-vectors/fim/documents/invalid.json");
    let out = run(packs.path(), &["render", &invalid.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "no page");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not rendered"), "{err}");
}
