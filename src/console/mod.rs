//! The operator console (layer L3): server-rendered German HTML pages under `/console/` on
//! `serve`'s listener, beside the admin API and behind the same admin token. The composition
//! root ([`crate::app`]) plugs it into the server as [`crate::server::ConsolePages`], so the
//! server (L2) serves it without importing it.
//!
//! # Design note: security
//!
//! 1. **No page without login.** Every path but the login form and the stylesheet needs a live
//!    session; without one a request gets `303` to `/console/login` and no data. The console
//!    exists only when an admin token is configured (else `/console/` is 404).
//! 2. **Login** posts the admin token (compared in constant time, as the admin API does). A
//!    success starts a server-side session ([`session`]): a random id in the cookie
//!    `__Host-poststelle-console` with `Path=/; HttpOnly; Secure; SameSite=Strict`; sessions end
//!    on logout, after `[console] session_idle_minutes` without a request and
//!    `session_max_hours` after login.
//! 3. **Every action is a POST carrying the session's CSRF token** (logout, re-drive); a
//!    missing or wrong token is `403` and changes nothing. GET never changes state. A POST
//!    whose `Origin` (or `Referer`) names another host is `403` before anything is read (the
//!    login form's guard, and defence in depth for the others).
//! 4. **Headers on every answer:** `Content-Security-Policy` (`default-src 'none'`, styles only
//!    from `/console/style.css`, forms only to the console itself, no framing; the case-worker
//!    document allows exactly its own inline style by hash), `X-Frame-Options: DENY`,
//!    `Referrer-Policy: no-referrer`, `Cache-Control: no-store`, `X-Content-Type-Options:
//!    nosniff`. No scripts anywhere.
//! 5. **Personal data is shown only on the submission page and the case-worker document**, and
//!    every such view is recorded first ([`access`]): who, when, which submission, which view —
//!    never the data. If the record cannot be written, the page is not shown.
//! 6. Pages show places and kinds of problems, never values, except the case-worker document,
//!    whose purpose is to show the application.

mod access;
mod document;
mod pages;
mod session;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, LOCATION, SET_COOKIE};
use hyper::{Method, Request, StatusCode};

use crate::config::HttpLimits;
use crate::config::gateway::ConsoleSettings;
use crate::http::{self, BodyLimits, Reply};
use crate::server::{AdminToken, ConsolePages, Readiness};
use crate::store::{AnyStore, JobFilter, JobState, Redrive, Store, SubmissionFilter, Timestamp};

pub use document::DocumentRenderer;

use access::{AccessLog, View};
use pages::{ListForm, PackLine};
use session::{Principal, Session, Sessions};

/// Dead letters the overview lists (oldest first; the rest through the submissions).
const DEAD_SHOWN: u32 = 20;

/// Rows per page of the submission list.
const PAGE_SIZE: u32 = 50;

/// The largest form body the console reads (login, actions).
const MAX_FORM_BYTES: usize = 8 * 1024;

/// How long a form body may take.
const FORM_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a store query of a page may take.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

/// The console pages' policy: nothing but the stylesheet and forms to the console itself.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The stylesheet of every page.
const STYLE: &str = include_str!("style.css");

/// The principal of a session opened with the admin token.
const TOKEN_PRINCIPAL: &str = "admin-token";

/// The console. Build it with [`Console::new`], then hand it to the server as
/// `Handlers::console`.
pub struct Console {
    token: AdminToken,
    store: AnyStore,
    readiness: Option<Arc<dyn Readiness>>,
    packs: Vec<PackLine>,
    dangerous: Vec<String>,
    sessions: Mutex<Sessions>,
    access: Arc<AccessLog>,
    http: HttpLimits,
    documents: Option<Arc<DocumentRenderer>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("packs", &self.packs.len())
            .finish_non_exhaustive()
    }
}

impl Console {
    /// A console logged into with `admin_token`, over `store`.
    #[must_use]
    pub fn new(admin_token: AdminToken, store: AnyStore, settings: &ConsoleSettings) -> Self {
        Self {
            token: admin_token,
            store,
            readiness: None,
            packs: Vec::new(),
            dangerous: Vec::new(),
            sessions: Mutex::new(Sessions::new(settings.session_idle, settings.session_max)),
            access: Arc::new(AccessLog::new(settings.access_log.clone())),
            http: HttpLimits::default(),
            documents: None,
        }
    }

    /// The receive pipeline's readiness, shown on the overview.
    #[must_use]
    pub fn readiness(mut self, readiness: Arc<dyn Readiness>) -> Self {
        self.readiness = Some(readiness);
        self
    }

    /// The dangerous settings in effect, shown on the overview.
    #[must_use]
    pub fn dangerous(mut self, lines: Vec<String>) -> Self {
        self.dangerous = lines;
        self
    }

    /// The listener's limits (form bodies are read within them).
    #[must_use]
    pub fn http_limits(mut self, http: HttpLimits) -> Self {
        self.http = http;
        self
    }

    /// The installed packs: listed on the overview, and rendering the case-worker document.
    #[must_use]
    pub fn documents(mut self, renderer: Arc<DocumentRenderer>) -> Self {
        self.packs = renderer
            .registry()
            .packs()
            .iter()
            .map(|p| PackLine {
                id: p.id.clone(),
                fingerprint: p.fingerprint.clone(),
            })
            .collect();
        self.documents = Some(renderer);
        self
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        // A panic while holding the lock cannot leave the table inconsistent (single updates).
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn session_of(&self, req: &Request<Incoming>) -> Option<(String, Session)> {
        let id = req
            .headers()
            .get_all(hyper::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(session::cookie_value)?
            .to_owned();
        let session = self.sessions().get(&id, Instant::now())?;
        Some((id, session))
    }

    async fn form(&self, req: Request<Incoming>) -> Result<Vec<(String, String)>, Reply> {
        let limits = BodyLimits::new(MAX_FORM_BYTES, FORM_TIMEOUT, &self.http);
        let body = http::body::read_all(req, limits).await.map_err(|_| {
            plain(
                StatusCode::BAD_REQUEST,
                "Das Formular konnte nicht gelesen werden.",
            )
        })?;
        Ok(form_urlencoded::parse(&body).into_owned().collect())
    }

    async fn route(&self, req: Request<Incoming>) -> Reply {
        let path = req.uri().path().to_owned();
        let segments: Vec<&str> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .collect();
        let method = req.method().clone();
        if method == Method::POST && !same_origin(&req) {
            tracing::warn!(target: "poststelle::access", "console form from another origin refused");
            return plain(
                StatusCode::FORBIDDEN,
                "Formulare werden nur von der Konsole selbst angenommen.",
            );
        }
        match (&segments[1..], &method) {
            (["style.css"], &Method::GET) => {
                http::reply::with_type(StatusCode::OK, "text/css; charset=utf-8", STYLE)
            }
            (["login"], &Method::GET) => {
                let expired = req.uri().query() == Some("expired");
                html(StatusCode::OK, &pages::login(false, expired))
            }
            (["login"], &Method::POST) => self.login(req).await,
            (["login"] | ["style.css"], _) => method_not_allowed(),
            _ => {
                let Some((id, session)) = self.session_of(&req) else {
                    let had_cookie = req.headers().contains_key(hyper::header::COOKIE);
                    return to_login(had_cookie);
                };
                self.authenticated(&segments[1..], req, &id, &session).await
            }
        }
    }

    async fn login(&self, req: Request<Incoming>) -> Reply {
        let form = match self.form(req).await {
            Ok(f) => f,
            Err(reply) => return reply,
        };
        let token = form
            .iter()
            .find(|(k, _)| k == "token")
            .map_or("", |(_, v)| v.as_str());
        if token.is_empty() || !self.token.matches(token) {
            tracing::warn!(target: "poststelle::access", "console login refused");
            return html(StatusCode::UNAUTHORIZED, &pages::login(true, false));
        }
        let principal = Principal(TOKEN_PRINCIPAL.to_owned());
        let Some(id) = self.sessions().start(principal.clone(), Instant::now()) else {
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "Keine Sitzung möglich (Zufallsquelle nicht verfügbar).",
            );
        };
        tracing::info!(target: "poststelle::access", principal = %principal.0, "console login");
        let mut reply = see_other("/console/");
        if let Ok(v) = HeaderValue::from_str(&session::set_cookie(&id)) {
            reply.headers_mut().insert(SET_COOKIE, v);
        }
        reply
    }

    async fn authenticated(
        &self,
        rest: &[&str],
        req: Request<Incoming>,
        id: &str,
        session: &Session,
    ) -> Reply {
        let csrf = session.csrf.as_str();
        let method = req.method().clone();
        match (rest, &method) {
            ([] | [""], &Method::GET) => self.overview(csrf).await,
            (["submissions"], &Method::GET) => {
                let query = req.uri().query().unwrap_or("").to_owned();
                self.list(&query, csrf).await
            }
            (["submissions", sid], &Method::GET) => {
                let notice = (req.uri().query() == Some("redriven"))
                    .then_some("Der Auftrag wurde erneut zur Zustellung eingeplant.");
                self.submission(sid, session, notice).await
            }
            (["submissions", sid, "document.html"], &Method::GET) => {
                self.document(sid, session).await
            }
            (["logout"], &Method::POST) => {
                let form = match self.form(req).await {
                    Ok(f) => f,
                    Err(reply) => return reply,
                };
                if !session::csrf_matches(session, field(&form, "csrf")) {
                    return forbidden(csrf);
                }
                self.sessions().end(id);
                tracing::info!(target: "poststelle::access", principal = %session.principal.0, "console logout");
                let mut reply = see_other("/console/login");
                if let Ok(v) = HeaderValue::from_str(&session::clear_cookie()) {
                    reply.headers_mut().insert(SET_COOKIE, v);
                }
                reply
            }
            (["jobs", job, "redrive"], &Method::POST) => {
                let job = (*job).to_owned();
                let form = match self.form(req).await {
                    Ok(f) => f,
                    Err(reply) => return reply,
                };
                if !session::csrf_matches(session, field(&form, "csrf")) {
                    return forbidden(csrf);
                }
                self.redrive(&job, field(&form, "submission"), session, csrf)
                    .await
            }
            (
                []
                | [""]
                | ["submissions"]
                | ["submissions", _]
                | ["submissions", _, "document.html"],
                _,
            )
            | (["logout"] | ["jobs", _, "redrive"], _) => method_not_allowed(),
            _ => html(
                StatusCode::NOT_FOUND,
                &pages::notice("Nicht gefunden", "Diese Seite gibt es nicht.", Some(csrf)),
            ),
        }
    }

    async fn overview(&self, csrf: &str) -> Reply {
        let now = Timestamp::now();
        let ago = |d: Duration| {
            Timestamp(
                now.0
                    .saturating_sub(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
            )
        };
        let day = timed(
            self.store
                .submission_counts(ago(Duration::from_secs(86_400))),
        )
        .await;
        let month = timed(
            self.store
                .submission_counts(ago(Duration::from_secs(30 * 86_400))),
        )
        .await;
        let queue = timed(self.store.metrics(now)).await;
        let dead = timed(self.store.list_jobs(JobFilter {
            state: Some(JobState::Dead),
            limit: DEAD_SHOWN,
        }))
        .await
        .unwrap_or_default();
        let pipeline_ready = self.readiness.as_ref().is_none_or(|r| r.is_ready());
        let page = pages::overview(
            &pages::Overview {
                day,
                month,
                queue,
                pipeline_ready,
                packs: &self.packs,
                dangerous: &self.dangerous,
                dead: &dead,
            },
            csrf,
        );
        html(StatusCode::OK, &page)
    }

    async fn list(&self, query: &str, csrf: &str) -> Reply {
        let (form, filter, error) = list_filter(query);
        let rows = match timed(self.store.list_submissions(filter)).await {
            Some(rows) => rows,
            None => return unavailable(csrf),
        };
        let more = rows.len() > PAGE_SIZE as usize;
        let shown = &rows[..rows.len().min(PAGE_SIZE as usize)];
        html(
            StatusCode::OK,
            &pages::list(&form, shown, more, error, csrf),
        )
    }

    async fn submission(&self, sid: &str, session: &Session, notice: Option<&str>) -> Reply {
        let csrf = session.csrf.as_str();
        let view = match timed(self.store.submission(sid)).await {
            Some(Some(v)) => v,
            Some(None) => return not_found(csrf),
            None => return unavailable(csrf),
        };
        if self
            .access
            .record_async(&session.principal, &view.submission_id, View::Submission)
            .await
            .is_err()
        {
            return unavailable(csrf);
        }
        let sets = pages::SetIds {
            submit_jti: view.evidence.as_ref().and_then(|e| set_jti(&e.submit_set)),
            ack_jti: view.ack_set.as_deref().and_then(set_jti),
        };
        let findings = view.envelope.as_deref().and_then(findings_of);
        let document = self.documents.is_some() && view.envelope.is_some();
        html(
            StatusCode::OK,
            &pages::submission(&view, &sets, findings.as_deref(), document, notice, csrf),
        )
    }

    async fn redrive(
        &self,
        job: &str,
        submission: Option<&str>,
        session: &Session,
        csrf: &str,
    ) -> Reply {
        let Ok(job_id) = job.parse::<i64>() else {
            return not_found(csrf);
        };
        match timed(self.store.redrive(Redrive::Job(job_id), Timestamp::now())).await {
            None => unavailable(csrf),
            Some(0) => html(
                StatusCode::CONFLICT,
                &pages::notice(
                    "Nicht erneut zugestellt",
                    "Dieser Auftrag ist kein Dead Letter (mehr).",
                    Some(csrf),
                ),
            ),
            Some(_) => {
                tracing::info!(
                    job_id,
                    via = "console",
                    principal = %session.principal.0,
                    "dead letter re-driven"
                );
                match submission {
                    Some(sid) if !sid.is_empty() => see_other(&format!(
                        "/console/submissions/{}?redriven",
                        form_urlencoded::byte_serialize(sid.as_bytes()).collect::<String>()
                    )),
                    _ => see_other("/console/submissions"),
                }
            }
        }
    }

    async fn document(&self, sid: &str, session: &Session) -> Reply {
        let csrf = session.csrf.as_str();
        let Some(docs) = &self.documents else {
            return not_found(csrf);
        };
        let data = match timed(self.store.fachdaten(sid)).await {
            Some(Some(d)) => d,
            Some(None) => {
                return html(
                    StatusCode::NOT_FOUND,
                    &pages::notice(
                        "Kein Dokument",
                        "Zu dieser Einreichung sind keine XML-Fachdaten gespeichert (abgelehnt, ohne XML-Fachdaten oder nach Ablauf der Aufbewahrungsfrist gelöscht).",
                        Some(csrf),
                    ),
                );
            }
            None => return unavailable(csrf),
        };
        if self
            .access
            .record_async(&session.principal, sid, View::Document)
            .await
            .is_err()
        {
            return unavailable(csrf);
        }
        match docs.render(data).await {
            Ok(page) => document_reply(page),
            Err(why) => {
                tracing::warn!(
                    submission_id = sid,
                    reason = why,
                    "case-worker document not rendered"
                );
                html(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    &pages::notice("Dokument nicht darstellbar", why, Some(csrf)),
                )
            }
        }
    }
}

impl ConsolePages for Console {
    fn serve(
        &self,
        req: Request<Incoming>,
    ) -> std::pin::Pin<Box<dyn Future<Output = Reply> + Send + '_>> {
        Box::pin(async move {
            let mut reply = self.route(req).await;
            secure(&mut reply, CSP);
            reply
        })
    }
}

/// A form must come from the console's own pages: a browser names the page's origin in
/// `Origin` (or, older ones, `Referer`) on every POST; one naming another host is refused
/// (defence in depth beside `SameSite=Strict` and the CSRF token, and the login form's only
/// guard). Clients that send neither (scripts, curl) pass: they carry no ambient cookie.
fn same_origin(req: &Request<Incoming>) -> bool {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let Some(host) = header("host") else {
        return true;
    };
    let Some(source) = header("origin").or_else(|| header("referer")) else {
        return true;
    };
    // `scheme://host[:port]` with an optional path after it.
    source
        .split_once("://")
        .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

fn field<'f>(form: &'f [(String, String)], name: &str) -> Option<&'f str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A store query within [`STORE_TIMEOUT`]; `None` when it failed or took too long.
async fn timed<T, E>(f: impl Future<Output = Result<T, E>>) -> Option<T> {
    tokio::time::timeout(STORE_TIMEOUT, f).await.ok()?.ok()
}

/// The list's filter from the query string; a filter that does not parse is named, and left
/// out.
fn list_filter(query: &str) -> (ListForm, SubmissionFilter, Option<&'static str>) {
    let mut form = ListForm::default();
    let mut error = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let v = v.trim().to_owned();
        match &*k {
            "decision" => form.decision = v,
            "type" => form.message_type = v,
            "destination" => form.destination = v,
            "from" => form.from = v,
            "to" => form.to = v,
            "page" => form.page = v.parse().unwrap_or(0).min(1_000_000),
            _ => {}
        }
    }
    let accepted = match form.decision.as_str() {
        "accepted" => Some(true),
        "rejected" => Some(false),
        "" => None,
        _ => {
            error = Some("Unbekannte Entscheidung: es wird nicht danach gefiltert.");
            form.decision.clear();
            None
        }
    };
    let mut date = |text: &mut String, next_day: bool| {
        if text.is_empty() {
            return None;
        }
        let parsed = day_start(text, next_day);
        if parsed.is_none() {
            error =
                Some("Ein Datum ist nicht im Format JJJJ-MM-TT: es wird nicht danach gefiltert.");
            text.clear();
        }
        parsed
    };
    let since = date(&mut form.from, false);
    let until = date(&mut form.to, true);
    let non_empty = |s: &String| (!s.is_empty()).then(|| s.clone());
    let filter = SubmissionFilter {
        accepted,
        message_type: non_empty(&form.message_type),
        destination_id: non_empty(&form.destination).map(|d| d.to_ascii_lowercase()),
        since,
        until,
        limit: PAGE_SIZE + 1,
        offset: form.page.saturating_mul(u64::from(PAGE_SIZE)),
    };
    (form, filter, error)
}

/// The start (UTC) of the day `YYYY-MM-DD`, or of the day after it.
fn day_start(text: &str, next_day: bool) -> Option<Timestamp> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    let date = if next_day { date.next_day()? } else { date };
    let secs = date.midnight().assume_utc().unix_timestamp();
    Some(Timestamp(secs.checked_mul(1000)?))
}

/// The `jti` of a stored SET (verified when it was received or made; read here without
/// verifying again, for display only).
fn set_jti(compact: &str) -> Option<String> {
    if compact.is_empty() {
        return None;
    }
    let jws =
        crate::jose::CompactJws::parse(compact, &crate::config::JoseLimits::default()).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(jws.unverified_payload()).ok()?;
    claims.get("jti")?.as_str().map(str::to_owned)
}

/// The business-rule findings in a stored envelope (rule, severity, location, the rule's text;
/// instance values are never in them), `None` when no rules ran.
fn findings_of(envelope: &str) -> Option<Vec<pages::FindingLine>> {
    let env: serde_json::Value = serde_json::from_str(envelope).ok()?;
    let findings = env.get("businessRules")?.get("findings")?.as_array()?;
    let text = |f: &serde_json::Value, k: &str| {
        f.get(k)
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .unwrap_or_default()
    };
    Some(
        findings
            .iter()
            .map(|f| pages::FindingLine {
                rule: text(f, "rule"),
                severity: text(f, "severity"),
                location: format!(
                    "{} ({}:{})",
                    text(f, "path"),
                    text(f, "line"),
                    text(f, "column")
                ),
                message: text(f, "message"),
            })
            .collect(),
    )
}

fn html(status: StatusCode, page: &maud::Markup) -> Reply {
    http::reply::with_type(status, "text/html; charset=utf-8", page.0.clone())
}

fn plain(status: StatusCode, text: &'static str) -> Reply {
    http::reply::with_type(status, "text/plain; charset=utf-8", text)
}

fn see_other(location: &str) -> Reply {
    let mut reply = http::reply::empty(StatusCode::SEE_OTHER);
    if let Ok(v) = HeaderValue::from_str(location) {
        reply.headers_mut().insert(LOCATION, v);
    }
    reply
}

fn to_login(expired: bool) -> Reply {
    see_other(if expired {
        "/console/login?expired"
    } else {
        "/console/login"
    })
}

fn method_not_allowed() -> Reply {
    plain(StatusCode::METHOD_NOT_ALLOWED, "Methode nicht erlaubt.")
}

fn forbidden(csrf: &str) -> Reply {
    html(
        StatusCode::FORBIDDEN,
        &pages::notice(
            "Aktion abgelehnt",
            "Das Formular ist ungültig oder abgelaufen (CSRF-Schutz). Bitte laden Sie die Seite neu.",
            Some(csrf),
        ),
    )
}

fn not_found(csrf: &str) -> Reply {
    html(
        StatusCode::NOT_FOUND,
        &pages::notice(
            "Nicht gefunden",
            "Diese Einreichung ist nicht bekannt.",
            Some(csrf),
        ),
    )
}

fn unavailable(csrf: &str) -> Reply {
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
fn document_reply(page: String) -> Reply {
    let csp = format!(
        "default-src 'none'; style-src '{}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        crate::xoev::render::style_hash()
    );
    let mut reply = http::reply::with_type(StatusCode::OK, "text/html; charset=utf-8", page);
    secure(&mut reply, &csp);
    reply
}

/// The headers every console answer carries (a policy set before is kept).
fn secure(reply: &mut Reply, csp: &str) {
    let h = reply.headers_mut();
    if !h.contains_key("content-security-policy")
        && let Ok(v) = HeaderValue::from_str(csp)
    {
        h.insert("content-security-policy", v);
    }
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_filters_parse_and_bad_ones_are_named_and_dropped() {
        let (form, f, error) = list_filter(
            "decision=rejected&type=x.0200&destination=ABC&from=2026-12-01&to=2026-12-05&page=2",
        );
        assert_eq!(error, None);
        assert_eq!(f.accepted, Some(false));
        assert_eq!(f.message_type.as_deref(), Some("x.0200"));
        assert_eq!(f.destination_id.as_deref(), Some("abc"));
        assert_eq!(f.since, Some(Timestamp(1_796_083_200_000)));
        assert_eq!(
            f.until,
            Some(Timestamp(1_796_515_200_000)),
            "end of the 5th"
        );
        assert_eq!((f.limit, f.offset), (PAGE_SIZE + 1, 100));
        assert_eq!(form.page, 2);

        let (form, f, error) = list_filter("decision=maybe&from=2026-13-01&page=-1");
        assert!(error.is_some());
        assert_eq!((f.accepted, f.since, f.offset), (None, None, 0));
        assert!(form.decision.is_empty() && form.from.is_empty());
    }

    #[test]
    fn set_ids_come_from_the_payload_and_garbage_gives_none() {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let set = format!(
            "{}.{}.{}",
            b64(r#"{"alg":"PS512","typ":"secevent+jwt","kid":"k"}"#),
            b64(r#"{"jti":"7a1c0000-0000-4000-8000-000000000001","iss":"x"}"#),
            b64("sig")
        );
        assert_eq!(
            set_jti(&set).as_deref(),
            Some("7a1c0000-0000-4000-8000-000000000001")
        );
        assert_eq!(set_jti(""), None);
        assert_eq!(set_jti("a.b"), None);
    }

    #[test]
    fn findings_are_read_from_the_envelope() {
        let env = r#"{"businessRules":{"findings":[{"rule":"r-1","severity":"error","kind":"assert","line":3,"column":7,"path":"/a[1]","message":"Muss."}],"truncated":false}}"#;
        let f = findings_of(env).expect("rules ran");
        assert_eq!(f[0].rule, "r-1");
        assert_eq!(f[0].location, "/a[1] (3:7)");
        assert!(findings_of(r#"{"data":{}}"#).is_none());
    }
}
