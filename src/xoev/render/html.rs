//! The page: maud escapes every text; no scripts, no external resources, XHTML-compatible.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::format;
use super::tree::{Node, attachments};

/// Inline styles: readable body text, contrast above WCAG 2.1 AA (#1a1a1a and #4a4a4a on
/// white), a visible focus outline, and a print layout without backgrounds.
pub(super) const CSS: &str = "\
body{font-family:system-ui,'Segoe UI',Arial,sans-serif;color:#1a1a1a;background:#fff;\
line-height:1.5;max-width:60rem;margin:0 auto;padding:1.5rem}\
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.35rem}h3{font-size:1.2rem}\
h4,h5,h6{font-size:1.05rem}h2,h3,h4,h5,h6{margin:1.25rem 0 .4rem}\
.meta,.desc{color:#4a4a4a}.desc{margin:.1rem 0 .5rem;font-size:.95rem}\
section{border-left:3px solid #d0d7de;padding-left:.9rem;margin:.6rem 0}\
dl{display:grid;grid-template-columns:minmax(12rem,1fr) 2fr;gap:.25rem 1rem;margin:.4rem 0}\
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}\
details{font-size:.9rem;color:#4a4a4a}summary{cursor:pointer}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #8c959f;padding:.3rem .5rem;\
text-align:left}th{background:#f0f2f4}\
:focus{outline:3px solid #0b57d0;outline-offset:2px}\
@media print{body{max-width:none;padding:0;font-size:10.5pt}section{border:0;padding-left:0}\
details{display:none}h2,h3,h4,h5,h6{break-after:avoid}dl,tr{break-inside:avoid}\
th{background:none}}";

/// The whole page for the message tree.
pub(super) fn page(root: &Node, message: &str) -> String {
    let mut files = Vec::new();
    attachments(root, None, &mut files);
    let title = if root.label.is_empty() {
        "Nachricht"
    } else {
        &*root.label
    };
    let markup = html! {
        (DOCTYPE)
        html lang="de" {
            head {
                // Written out for XHTML compatibility (maud closes void elements HTML-style).
                (PreEscaped(r#"<meta charset="utf-8" />"#))
                (PreEscaped(r#"<meta name="viewport" content="width=device-width, initial-scale=1" />"#))
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                main {
                    h1 { (title) }
                    @if !message.is_empty() {
                        p class="meta" { "Nachricht: " (message) }
                    }
                    @if let Some(d) = &root.description {
                        p class="desc" { (&**d) }
                    }
                    (content(root, 2))
                    @if !files.is_empty() {
                        section aria-labelledby="anlagen" {
                            h2 id="anlagen" { "Anlagen" }
                            table {
                                thead {
                                    tr {
                                        th scope="col" { "Enthalten in" }
                                        th scope="col" { "Dateiname" }
                                        th scope="col" { "Dateityp" }
                                        th scope="col" { "Größe" }
                                    }
                                }
                                tbody {
                                    @for f in &files {
                                        tr {
                                            td { (f.holder) }
                                            td { (f.file_name.as_deref().unwrap_or("—")) }
                                            td { (f.media_type.as_deref().unwrap_or("—")) }
                                            td {
                                                @match f.size {
                                                    Some(n) => (format::bytes(n)),
                                                    None => "gesondert übermittelt",
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    markup.into_string()
}

/// The children of a node: runs of fields as one `dl`, sections as nested `section`s.
fn content(node: &Node, level: u8) -> Markup {
    let mut runs: Vec<(bool, Vec<&Node>)> = Vec::new();
    for child in &node.children {
        let section = child.section;
        match runs.last_mut() {
            Some((s, run)) if *s == section && !section => run.push(child),
            _ => runs.push((section, vec![child])),
        }
    }
    html! {
        @if let Some(v) = node.value.as_deref().filter(|_| node.section) {
            p { (v) }
        }
        @for (section, run) in &runs {
            @if *section {
                @for child in run { (section_of(child, level)) }
            } @else {
                dl {
                    @for field in run {
                        dt { (&*field.label) }
                        dd {
                            (field.value.as_deref().unwrap_or("—"))
                            @if let Some(d) = &field.description {
                                details { summary { "Erläuterung" } (&**d) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn section_of(node: &Node, level: u8) -> Markup {
    let heading = html! {
        @match level {
            2 => h2 { (&*node.label) },
            3 => h3 { (&*node.label) },
            4 => h4 { (&*node.label) },
            5 => h5 { (&*node.label) },
            _ => h6 { (&*node.label) },
        }
    };
    html! {
        section {
            (heading)
            @if let Some(d) = &node.description {
                p class="desc" { (&**d) }
            }
            @if node.children.is_empty() && node.value.is_none() {
                p class="meta" { "(keine Angaben)" }
            }
            (content(node, level.saturating_add(1).min(6)))
        }
    }
}
