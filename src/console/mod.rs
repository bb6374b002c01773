//! The operator console (layer L3): server-rendered German HTML pages under `/console/` on
//! `serve`'s listener, beside the admin API and behind the same admin token. The composition
//! root (`app`) plugs it into the server as [`crate::server::ConsolePages`], so the
//! server (L2) serves it without importing it.
//!
//! # Design note: security
//!
//! 1. **No page without login.** Every path but the login form and the stylesheet needs a live
//!    session; without one a request gets `303` to `/console/login` and no data. The console
//!    exists only when an admin token is configured (else `/console/` is 404).
//! 2. **Login** posts the admin token (compared in constant time, as the admin API does) or,
//!    with `[console] users_file`, a user name and password (`users`: PBKDF2, constant-time
//!    compare, as slow for unknown names, at most `CONCURRENT_PASSWORD_CHECKS` at once); the
//!    session's principal is then the user's name. A
//!    success starts a server-side session (`session`): a random id in the cookie
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
//!    `Referrer-Policy: same-origin`, `Cache-Control: no-store`, `X-Content-Type-Options:
//!    nosniff`. No scripts anywhere.
//! 5. **Personal data is shown only on the submission page and the case-worker document** (XML
//!    Fachdaten as received, or JSON Fachdaten from the envelope), and every such view is
//!    recorded first (`access`): who, when, which submission, which view — never the data. If
//!    the record cannot be written, the page is not shown.
//! 6. Pages show places and kinds of problems, never values, except the case-worker document,
//!    whose purpose is to show the application.

mod access;
mod document;
pub(crate) mod filter;
pub(crate) mod pages;
mod reply;
mod session;
mod users;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::body::Incoming;
use hyper::header::{HeaderValue, SET_COOKIE};
use hyper::{Method, Request, StatusCode};

use crate::config::HttpLimits;
use crate::config::gateway::ConsoleSettings;
use crate::http::{self, BodyLimits, Reply};
use crate::server::{AdminToken, ConsolePages, Readiness};
use crate::store::{AnyStore, JobFilter, JobState, Redrive, Store, Timestamp};

pub use document::DocumentRenderer;
pub use users::{DEFAULT_ITERATIONS, MIN_ITERATIONS, Users, hash_line};

use access::{AccessLog, View};
use filter::list_filter;
use pages::PackLine;
use reply::{
    CSP, document_reply, forbidden, html, method_not_allowed, not_found, plain, secure, see_other,
    to_login, unavailable,
};
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

/// The stylesheet of every page.
const STYLE: &str = include_str!("style.css");

/// The principal of a session opened with the admin token.
const TOKEN_PRINCIPAL: &str = "admin-token";

/// Password checks running at once (each costs hundreds of milliseconds of CPU by design); a
/// login beyond them is answered 503 at once, so a flood of attempts cannot starve the gateway.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

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
    users: Option<Arc<Users>>,
    password_checks: Arc<tokio::sync::Semaphore>,
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
            users: None,
            password_checks: Arc::new(tokio::sync::Semaphore::new(CONCURRENT_PASSWORD_CHECKS)),
        }
    }

    /// Named users (`[console] users_file`): the login asks for a user name and password, and
    /// the session's principal — the name the access log records — is the user's name. The
    /// admin token then no longer opens the console (it still guards the admin API).
    #[must_use]
    pub fn users(mut self, users: Arc<Users>) -> Self {
        self.users = Some(users);
        self
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
                html(
                    StatusCode::OK,
                    &pages::login(self.login_kind(), false, expired),
                )
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

    fn login_kind(&self) -> pages::LoginKind {
        if self.users.is_some() {
            pages::LoginKind::Named
        } else {
            pages::LoginKind::Token
        }
    }

    async fn login(&self, req: Request<Incoming>) -> Reply {
        let form = match self.form(req).await {
            Ok(f) => f,
            Err(reply) => return reply,
        };
        let refused = || {
            tracing::warn!(target: "poststelle::access", "console login refused");
            html(
                StatusCode::UNAUTHORIZED,
                &pages::login(self.login_kind(), true, false),
            )
        };
        let principal = match &self.users {
            None => {
                let token = field(&form, "token").unwrap_or("");
                if token.is_empty() || !self.token.matches(token) {
                    return refused();
                }
                Principal(TOKEN_PRINCIPAL.to_owned())
            }
            Some(users) => {
                let Ok(_permit) = Arc::clone(&self.password_checks).try_acquire_owned() else {
                    tracing::warn!(target: "poststelle::access", "console login refused: too many at once");
                    return plain(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Zu viele Anmeldungen gleichzeitig. Bitte versuchen Sie es gleich noch einmal.",
                    );
                };
                let name = field(&form, "user").unwrap_or("").to_owned();
                let password =
                    zeroize::Zeroizing::new(field(&form, "password").unwrap_or("").to_owned());
                drop(form);
                let users = Arc::clone(users);
                let found = tokio::task::spawn_blocking(move || {
                    users.verify(&name, &password).map(str::to_owned)
                })
                .await
                .ok()
                .flatten();
                match found {
                    Some(name) => Principal(name),
                    None => return refused(),
                }
            }
        };
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
        let replies = {
            use crate::store::ReplyStore as _;
            match timed(self.store.replies_of(&view.submission_id)).await {
                Some(r) => r,
                None => return unavailable(csrf),
            }
        };
        html(
            StatusCode::OK,
            &pages::submission(
                &view,
                &sets,
                findings.as_deref(),
                document,
                &replies,
                notice,
                csrf,
            ),
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
        // XML Fachdaten are kept as received; JSON Fachdaten are the envelope's `data`.
        let source = match timed(self.store.fachdaten(sid)).await {
            Some(Some(xml)) => Some(Fachdaten::Xml(xml)),
            Some(None) => match timed(self.store.submission(sid)).await {
                Some(view) => view
                    .and_then(|v| v.envelope)
                    .filter(|e| names_json_schema(e))
                    .map(Fachdaten::Json),
                None => return unavailable(csrf),
            },
            None => return unavailable(csrf),
        };
        let Some(source) = source else {
            return html(
                StatusCode::NOT_FOUND,
                &pages::notice(
                    "Kein Dokument",
                    "Zu dieser Einreichung sind keine Fachdaten gespeichert (abgelehnt, ohne Fachdaten oder nach Ablauf der Aufbewahrungsfrist gelöscht).",
                    Some(csrf),
                ),
            );
        };
        if self
            .access
            .record_async(&session.principal, sid, View::Document)
            .await
            .is_err()
        {
            return unavailable(csrf);
        }
        let rendered = match source {
            Fachdaten::Xml(xml) => docs.render(xml).await,
            Fachdaten::Json(envelope) => docs
                .render_json(envelope)
                .await
                .unwrap_or(Err("Die gespeicherten Fachdaten sind nicht darstellbar.")),
        };
        match rendered {
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

/// The Fachdaten a case-worker document is rendered from.
enum Fachdaten {
    /// XML as received.
    Xml(Vec<u8>),
    /// The stored envelope, whose `data` are JSON Fachdaten.
    Json(String),
}

/// Whether a stored envelope carries JSON Fachdaten (its message names a JSON Schema).
fn names_json_schema(envelope: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(envelope)
        .ok()
        .and_then(|e| e.get("message")?.get("schemaUri")?.as_str().map(drop))
        .is_some()
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

#[cfg(test)]
mod tests {
    use super::*;

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
