//! The console's answers: pages, redirects, refusals, and the security headers every answer
//! carries.

use hyper::StatusCode;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION};

use super::pages;
use crate::http::{self, Reply};

/// The console pages' policy: nothing but the stylesheet and forms to the console itself.
pub(super) const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A page.
pub(super) fn html(status: StatusCode, page: &maud::Markup) -> Reply {
    http::reply::with_type(status, "text/html; charset=utf-8", page.0.clone())
}

/// A short text answer (refusals before a page can be shown).
pub(super) fn plain(status: StatusCode, text: &'static str) -> Reply {
    http::reply::with_type(status, "text/plain; charset=utf-8", text)
}

/// `303 See Other` to `location` (after a form, and to the login).
pub(super) fn see_other(location: &str) -> Reply {
    let mut reply = http::reply::empty(StatusCode::SEE_OTHER);
    if let Ok(v) = HeaderValue::from_str(location) {
        reply.headers_mut().insert(LOCATION, v);
    }
    reply
}

/// To the login form; `expired` when the request carried a session that is no longer live.
pub(super) fn to_login(expired: bool) -> Reply {
    see_other(if expired {
        "/console/login?expired"
    } else {
        "/console/login"
    })
}

/// `405`.
pub(super) fn method_not_allowed() -> Reply {
    plain(StatusCode::METHOD_NOT_ALLOWED, "Methode nicht erlaubt.")
}

/// `403`: a form without this session's CSRF token.
pub(super) fn forbidden(csrf: &str) -> Reply {
    html(
        StatusCode::FORBIDDEN,
        &pages::notice(
            "Aktion abgelehnt",
            "Das Formular ist ungültig oder abgelaufen (CSRF-Schutz). Bitte laden Sie die Seite neu.",
            Some(csrf),
        ),
    )
}

/// `404`: no such submission.
pub(super) fn not_found(csrf: &str) -> Reply {
    html(
        StatusCode::NOT_FOUND,
        &pages::notice(
            "Nicht gefunden",
            "Diese Einreichung ist nicht bekannt.",
            Some(csrf),
        ),
    )
}

/// `503`: the store (or the access log) did not answer.
pub(super) fn unavailable(csrf: &str) -> Reply {
    html(
        StatusCode::SERVICE_UNAVAILABLE,
        &pages::notice(
            "Nicht verfügbar",
            "Der Speicher antwortet nicht. Bitte versuchen Sie es später erneut.",
            Some(csrf),
        ),
    )
}

/// The case-worker document with a policy that allows exactly its own inline style.
pub(super) fn document_reply(page: String) -> Reply {
    let csp = format!(
        "default-src 'none'; style-src '{}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        crate::xoev::render::style_hash()
    );
    let mut reply = http::reply::with_type(StatusCode::OK, "text/html; charset=utf-8", page);
    secure(&mut reply, &csp);
    reply
}

/// The headers every console answer carries (a policy set before is kept).
pub(super) fn secure(reply: &mut Reply, csp: &str) {
    let h = reply.headers_mut();
    if !h.contains_key("content-security-policy")
        && let Ok(v) = HeaderValue::from_str(csp)
    {
        h.insert("content-security-policy", v);
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    // `same-origin`, not `no-referrer`: with `no-referrer` Chromium sends `Origin: null` on the
    // console's own form posts, which the origin check must refuse (found by the browser test).
    // Same-origin requests keep their origin; nothing leaves for another site.
    h.insert("referrer-policy", HeaderValue::from_static("same-origin"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !h.contains_key(CONTENT_TYPE) {
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
}
