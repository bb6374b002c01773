//! The console's hostile input: the submission list's query string (`/console/submissions?…`),
//! as any logged-in user — or a link someone sends them — can write it.

use crate::console::filter::list_filter;
use crate::console::pages;

/// Console properties, for any query string:
/// - the filter reads it or names what it dropped, and the form it shows again round-trips:
///   the query the page links to (`ListForm::query`, the "next page" link) reads back to the
///   same form and filter, with nothing dropped;
/// - the rendered list page never carries a value from the query unescaped (no markup, no
///   attribute break-out).
pub fn console_forms(data: &[u8]) {
    let query = String::from_utf8_lossy(data);
    let (form, filter, _error) = list_filter(&query);
    let again = form.query(form.page);
    let (form2, filter2, error2) = list_filter(&again);
    assert_eq!(error2, None, "the page's own link is refused: {again:?}");
    assert_eq!(
        form2, form,
        "the form does not round-trip through {again:?}"
    );
    assert_eq!(
        filter2, filter,
        "the filter does not round-trip through {again:?}"
    );

    let html = pages::list(&form, &[], false, _error, "csrf-token").into_string();
    for value in [
        &form.decision,
        &form.message_type,
        &form.destination,
        &form.from,
        &form.to,
    ] {
        if value.contains(['<', '>', '"', '&']) {
            assert!(
                !html.contains(value.as_str()),
                "a query value reached the page unescaped"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_queries_are_escaped_and_round_trip() {
        for q in [
            "",
            "type=%3Cscript%3Ealert(1)%3C/script%3E&page=3",
            "destination=%22%3E%3Cimg%20src=x%3E&from=2026-02-30&to=9999999-01-01",
            "decision=accepted&decision=rejected&page=18446744073709551615",
            "type=%C3%A4%00%01&from=%20%202026-12-01%20",
            "%FF%FE=%FF&&&=&page=-5",
        ] {
            console_forms(q.as_bytes());
        }
    }
}
