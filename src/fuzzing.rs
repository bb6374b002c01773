//! Entry points for the fuzz targets in `fuzz/`. Each takes raw bytes and asserts properties,
//! not only "no panic". Not a stable API.

use std::io::BufReader;

use crate::config::XmlLimits;
use crate::xml::{BoundedReader, Event};

/// Renders every event (with its position) or the first error, for comparisons.
fn xml_trace<R: std::io::BufRead>(mut reader: BoundedReader<R>) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match reader.next_event() {
            Ok(Event::Eof) => return out,
            Ok(Event::Start(tag)) => {
                let n = tag.name();
                let mut s = format!("S{{{}}}{}", n.namespace, n.local);
                for a in tag.attributes() {
                    let an = a.name;
                    s.push_str(&format!(" {{{}}}{}={:?}", an.namespace, an.local, a.value));
                }
                out.push(format!("{} {}", reader.position(), s));
            }
            Ok(Event::End) => out.push(format!("{} E", reader.position())),
            Ok(Event::Text(t)) => {
                let t = format!("T{t:?}");
                out.push(format!("{} {t}", reader.position()));
            }
            Err(e) => {
                out.push(format!("error {e}"));
                return out;
            }
        }
    }
}

/// XML reader property: reading from one slice and reading through a one-byte buffer give the
/// same events, positions and errors (no state is lost across buffer boundaries).
pub fn xml_reader(data: &[u8]) {
    let limits = XmlLimits {
        max_text_bytes: 64 * 1024,
        max_markup_bytes: 64 * 1024,
        ..XmlLimits::default()
    };
    let whole = xml_trace(BoundedReader::from_bytes(data, &limits));
    let chunked = xml_trace(BoundedReader::new(
        BufReader::with_capacity(1, data),
        &limits,
    ));
    assert_eq!(whole, chunked, "event streams differ between buffer sizes");
}

#[cfg(test)]
mod tests {
    #[test]
    fn xml_reader_property_holds_on_samples() {
        for doc in [
            &b"<r xmlns:p='urn:p'><p:a x='1'>t&amp;x<![CDATA[c]]></p:a>\n<b/></r>"[..],
            b"<r><a></r>",
            b"<!DOCTYPE x><x/>",
            b"<r>\xff</r>",
        ] {
            super::xml_reader(doc);
        }
    }
}
