//! The operator console on the server's loopback listener: login, session cookie, CSRF,
//! logout, expiry, security headers, overview counts, list filters, re-drive, the case-worker
//! document and the access log.

use std::sync::Arc;
use std::time::Duration;

use poststelle::config::gateway::ConsoleSettings;
use poststelle::console::Console;
use poststelle::fitconnect::problems::{Failure, Instance, Problem};
use poststelle::server::{AdminToken, Handlers, Metrics, Server, ServerConfig, ServerHandle};
use poststelle::store::{
    Decision, FailAction, JobFilter, JobState, NewSubmission, Store, Timestamp,
};

use crate::forward_support::{TestStore, on_both_backends};
use crate::xoev_support::repo;

const TOKEN: &str = "console-test-token-0123456789";
const COOKIE: &str = "__Host-poststelle-console";

fn settings() -> ConsoleSettings {
    ConsoleSettings::default()
}

async fn start(t: &TestStore, console: Option<Console>) -> ServerHandle {
    let handlers = Handlers {
        metrics: Arc::new(Metrics::new()),
        store: Some(t.store.clone()),
        readiness: None,
        callbacks: None,
        admin_token: Some(AdminToken::new(TOKEN)),
        console: console.map(|c| Arc::new(c) as Arc<dyn poststelle::server::ConsolePages>),
        replies: None,
    };
    Server::start(
        ServerConfig::new("127.0.0.1:0".parse().expect("addr")),
        handlers,
    )
    .await
    .expect("start server")
}

/// The server with a console over `t`'s store; its base URL.
async fn with_console(t: &TestStore, settings: &ConsoleSettings) -> (ServerHandle, String) {
    let console = Console::new(AdminToken::new(TOKEN), t.store.clone(), settings);
    let server = start(t, Some(console)).await;
    let base = format!("http://{}", server.addr());
    (server, base)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

async fn request(
    method: reqwest::Method,
    url: String,
    cookie: Option<&str>,
    form: Option<&[(&str, &str)]>,
) -> Answer {
    let mut req = client().request(method, url);
    if let Some(c) = cookie {
        req = req.header("cookie", format!("{COOKIE}={c}"));
    }
    if let Some(f) = form {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(f)
            .finish();
        req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
    }
    let resp = req.send().await.expect("request");
    Answer {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.text().await.expect("body"),
    }
}

async fn get(url: String, cookie: Option<&str>) -> Answer {
    request(reqwest::Method::GET, url, cookie, None).await
}

async fn post(url: String, cookie: Option<&str>, form: &[(&str, &str)]) -> Answer {
    request(reqwest::Method::POST, url, cookie, Some(form)).await
}

/// Logs in; returns the session id from the cookie.
async fn login(base: &str) -> String {
    login_with(base, &[("token", TOKEN)]).await
}

/// Logs in with these form fields; returns the session id from the cookie.
async fn login_with(base: &str, form: &[(&str, &str)]) -> String {
    let a = post(format!("{base}/console/login"), None, form).await;
    assert_eq!(
        (a.status, a.header("location")),
        (303, "/console/"),
        "{}",
        a.body
    );
    let set = a.header("set-cookie");
    set.strip_prefix(&format!("{COOKIE}="))
        .and_then(|rest| rest.split(';').next())
        .expect("session cookie")
        .to_owned()
}

/// The CSRF token of a page's forms.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("csrf field") + 19;
    page[at..].split('"').next().expect("value").to_owned()
}

fn accepted(id: &str, message_type: Option<&str>, upstreams: &[&str]) -> NewSubmission {
    NewSubmission {
        message_type: message_type.map(str::to_owned),
        upstreams: upstreams.iter().map(|&u| u.to_owned()).collect(),
        ..crate::forward_support::new_submission(id)
    }
}

fn rejected(id: &str) -> NewSubmission {
    NewSubmission {
        envelope: None,
        decision: Decision::Rejected {
            problems: vec![
                Problem::new(Failure::DataSchema, &Instance::Data).expect("catalogue problem"),
            ],
        },
        destination_id: "other-dest".to_owned(),
        ..crate::forward_support::new_submission(id)
    }
}

#[tokio::test]
async fn without_an_admin_token_there_is_no_console() {
    let t = TestStore::sqlite().await;
    let server = start(&t, None).await;
    let base = format!("http://{}", server.addr());
    assert_eq!(get(format!("{base}/console/"), None).await.status, 404);
    assert_eq!(get(format!("{base}/console/login"), None).await.status, 404);
    assert_eq!(get(format!("{base}/"), None).await.status, 404);
    server.shutdown().await;
}

#[tokio::test]
async fn no_page_without_login_and_a_wrong_token_is_refused() {
    let t = TestStore::sqlite().await;
    t.store
        .store_submission(accepted("sub-secret", None, &[]), Timestamp::now())
        .await
        .expect("store");
    let (server, base) = with_console(&t, &settings()).await;
    let root = get(format!("{base}/"), None).await;
    assert_eq!((root.status, root.header("location")), (303, "/console/"));
    for path in [
        "/console",
        "/console/",
        "/console/submissions",
        "/console/submissions/sub-secret",
        "/console/submissions/sub-secret/document.html",
        "/console/nowhere",
    ] {
        let a = get(format!("{base}{path}"), None).await;
        assert_eq!(a.status, 303, "{path}");
        assert_eq!(a.header("location"), "/console/login", "{path}");
        assert!(a.body.is_empty(), "{path}: no data");
        let forged = get(format!("{base}{path}"), Some("forged-session-id")).await;
        assert_eq!(forged.status, 303, "{path} with a forged cookie");
        assert!(!forged.body.contains("sub-secret"));
    }
    let a = post(
        format!("{base}/console/jobs/1/redrive"),
        None,
        &[("csrf", "x")],
    )
    .await;
    assert_eq!((a.status, a.header("location")), (303, "/console/login"));

    // Forms only from the console's own origin (browsers send Origin on every POST); an opaque
    // origin (`null`: a sandboxed frame, a data: page) is not the console's either.
    for origin in ["https://evil.example", "null"] {
        let foreign = client()
            .post(format!("{base}/console/login"))
            .header("origin", origin)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={TOKEN}"))
            .send()
            .await
            .expect("request");
        assert_eq!(foreign.status().as_u16(), 403, "{origin}");
        assert!(foreign.headers().get("set-cookie").is_none(), "{origin}");
    }
    let own = client()
        .post(format!("{base}/console/login"))
        .header("origin", base.clone())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("request");
    assert_eq!(own.status().as_u16(), 303, "same origin");

    let page = get(format!("{base}/console/login"), None).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("<label for=\"token\">"),
        "labelled field"
    );
    for wrong in ["", "wrong", &TOKEN[1..], &format!("{TOKEN}x")] {
        let a = post(format!("{base}/console/login"), None, &[("token", wrong)]).await;
        assert_eq!(a.status, 401, "{wrong:?}");
        assert!(
            a.header("set-cookie").is_empty(),
            "no session for {wrong:?}"
        );
        assert!(a.body.contains("Die Anmeldung ist fehlgeschlagen"));
    }
    server.shutdown().await;
}

#[tokio::test]
async fn login_sets_the_cookie_with_its_flags_and_every_answer_has_the_security_headers() {
    let t = TestStore::sqlite().await;
    let (server, base) = with_console(&t, &settings()).await;
    let a = post(format!("{base}/console/login"), None, &[("token", TOKEN)]).await;
    assert_eq!((a.status, a.header("location")), (303, "/console/"));
    let set = a.header("set-cookie");
    let (pair, attributes) = set.split_once("; ").expect("attributes");
    let id = pair.strip_prefix(&format!("{COOKIE}=")).expect("name");
    assert!(id.len() >= 43, "256 random bits: {id}");
    assert_eq!(attributes, "Path=/; HttpOnly; Secure; SameSite=Strict");
    let second = login(&base).await;
    assert_ne!(second, id, "a fresh id per login");

    for (path, cookie) in [
        ("/console/login", None),
        ("/console/", Some(id)),
        ("/console/submissions", Some(id)),
        ("/console/", None),
        ("/console/style.css", None),
    ] {
        let a = get(format!("{base}{path}"), cookie).await;
        let csp = a.header("content-security-policy");
        assert!(
            csp.starts_with("default-src 'none'; style-src 'self'"),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert!(!csp.contains("script-src"), "{path}: no scripts allowed");
        assert_eq!(a.header("x-frame-options"), "DENY", "{path}");
        assert_eq!(a.header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(a.header("cache-control"), "no-store", "{path}");
        assert_eq!(a.header("x-content-type-options"), "nosniff", "{path}");
        if a.status == 200 && path != "/console/style.css" {
            assert!(
                a.body.starts_with("<!DOCTYPE html><html lang=\"de\">"),
                "{path}"
            );
            assert!(!a.body.contains("<script"), "{path}");
            assert_eq!(a.body.matches("<h1>").count(), 1, "{path}: one h1");
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn logout_needs_csrf_and_ends_the_session() {
    let t = TestStore::sqlite().await;
    let (server, base) = with_console(&t, &settings()).await;
    let id = login(&base).await;
    let page = get(format!("{base}/console/"), Some(&id)).await;
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.body);
    let a = post(format!("{base}/console/logout"), Some(&id), &[]).await;
    assert_eq!(a.status, 403, "logout without CSRF token");
    assert_eq!(get(format!("{base}/console/"), Some(&id)).await.status, 200);
    let a = post(
        format!("{base}/console/logout"),
        Some(&id),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!((a.status, a.header("location")), (303, "/console/login"));
    assert!(a.header("set-cookie").contains("Max-Age=0"));
    let after = get(format!("{base}/console/"), Some(&id)).await;
    assert_eq!(after.status, 303, "the session is gone");
    assert_eq!(after.header("location"), "/console/login?expired");
    server.shutdown().await;
}

#[tokio::test]
async fn an_expired_session_is_refused() {
    let t = TestStore::sqlite().await;
    let short = ConsoleSettings {
        session_idle: Duration::from_millis(700),
        ..settings()
    };
    let (server, base) = with_console(&t, &short).await;
    let id = login(&base).await;
    assert_eq!(get(format!("{base}/console/"), Some(&id)).await.status, 200);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let a = get(format!("{base}/console/"), Some(&id)).await;
    assert_eq!(
        (a.status, a.header("location")),
        (303, "/console/login?expired")
    );
    let login_page = get(format!("{base}/console/login?expired"), None).await;
    assert!(login_page.body.contains("Ihre Sitzung ist abgelaufen"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_overview_counts_submissions_and_the_list_filters() {
    on_both_backends(|t| async move {
        let now = Timestamp::now();
        t.store
            .store_submission(accepted("sub-a", Some("gewerbe.0100"), &[]), now)
            .await
            .expect("store");
        t.store
            .store_submission(rejected("sub-r"), now)
            .await
            .expect("store");
        let (server, base) = with_console(&t, &settings()).await;
        let id = login(&base).await;
        let page = get(format!("{base}/console/"), Some(&id)).await;
        assert_eq!(page.status, 200, "{}", t.backend());
        for period in ["Letzte 24 Stunden", "Letzte 30 Tage"] {
            let row = format!(
                "<th scope=\"row\">{period}</th><td class=\"num\">2</td><td class=\"num\">1</td><td class=\"num\">1</td>"
            );
            assert!(page.body.contains(&row), "{}: {period}: {}", t.backend(), page.body);
        }
        assert!(page.body.contains("Speicher</th><td>erreichbar"));
        assert!(
            page.body
                .contains("<a href=\"/console/\" aria-current=\"page\">Übersicht</a>"),
            "the current page is marked in the navigation"
        );

        let list = |query: &'static str| {
            let base = base.clone();
            let id = id.clone();
            async move {
                let a = get(format!("{base}/console/submissions?{query}"), Some(&id)).await;
                assert_eq!(a.status, 200, "{query}");
                let mut ids: Vec<&str> = ["sub-a", "sub-r"]
                    .into_iter()
                    .filter(|s| a.body.contains(&format!(">{s}</code>")))
                    .collect();
                ids.sort_unstable();
                ids.join(",")
            }
        };
        assert_eq!(list("").await, "sub-a,sub-r");
        assert_eq!(list("decision=rejected").await, "sub-r");
        assert_eq!(list("decision=accepted").await, "sub-a");
        assert_eq!(list("type=gewerbe.0100").await, "sub-a");
        assert_eq!(list("destination=other-dest").await, "sub-r");
        assert_eq!(list("from=2000-01-01&to=2999-12-31").await, "sub-a,sub-r");
        assert_eq!(list("from=2999-01-01").await, "");
        assert_eq!(list("to=2000-01-01").await, "");
        assert_eq!(list("page=1").await, "", "one page only");
        // A filter that does not parse is named, and not applied.
        let a = get(format!("{base}/console/submissions?from=morgen"), Some(&id)).await;
        assert!(a.body.contains("JJJJ-MM-TT"));
        assert_eq!(list("from=morgen").await, "sub-a,sub-r");
        server.shutdown().await;
    })
    .await;
}

/// Issue 17 scope 1, "replies once they exist": the submission page lists the replies to it
/// (message type, where each is, attempts, last error), no content.
#[tokio::test]
async fn the_submission_page_lists_its_replies() {
    use poststelle::store::{NewReply, ReplyStep, ReplyStore};
    on_both_backends(|t| async move {
        let now = Timestamp::now();
        t.store
            .store_submission(accepted("sub-answered", None, &["fv"]), now)
            .await
            .expect("store");
        t.store
            .insert_reply(
                NewReply {
                    reply_id: "reply-1".into(),
                    submission_id: "sub-answered".into(),
                    destination_id: "dest".into(),
                    upstream: "fv".into(),
                    idempotency_key: None,
                    message_type: "baugenehmigung.formellePruefung.0201".into(),
                    schema_uri:
                        "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.formellePruefung.0201"
                            .into(),
                    reply_key: "{}".into(),
                    xml: b"<geheim>Mustermann</geheim>".to_vec(),
                    attachments: Vec::new(),
                },
                now,
            )
            .await
            .expect("reply");
        t.store
            .claim_replies("w", now, Duration::from_secs(30), 1)
            .await
            .expect("claim");
        t.store
            .advance_reply(
                "reply-1",
                "w",
                ReplyStep::Dead {
                    error: "HTTP 422 reply-channel-not-offered".into(),
                },
                now,
            )
            .await
            .expect("step");
        let (server, base) = with_console(&t, &settings()).await;
        let id = login(&base).await;
        let page = get(
            format!("{base}/console/submissions/sub-answered"),
            Some(&id),
        )
        .await;
        assert_eq!(page.status, 200);
        assert!(
            page.body.contains("Antworten an den Antragsteller"),
            "{}",
            page.body
        );
        assert!(page.body.contains("<code>reply-1</code>"), "{}", page.body);
        assert!(page.body.contains("baugenehmigung.formellePruefung.0201"));
        assert!(page.body.contains("aufgegeben (poststelle reply redrive)"));
        assert!(page.body.contains("HTTP 422 reply-channel-not-offered"));
        assert!(!page.body.contains("Mustermann"), "no content of the reply");
        let other = get(
            format!("{base}/console/submissions/sub-answered-not"),
            Some(&id),
        )
        .await;
        assert_eq!(other.status, 404);
        server.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn redrive_needs_the_csrf_token_and_works_with_it() {
    on_both_backends(|t| async move {
        let now = Timestamp::now();
        t.store
            .store_submission(accepted("sub-dead", None, &["fv"]), now)
            .await
            .expect("store");
        let job = t
            .store
            .claim_jobs("w", now, Duration::from_secs(30), 1)
            .await
            .expect("claim")
            .remove(0);
        t.store
            .fail_job(job.job_id, "w", FailAction::DeadLetter, "http-503", now)
            .await
            .expect("fail");
        let (server, base) = with_console(&t, &settings()).await;
        let id = login(&base).await;
        let overview = get(format!("{base}/console/"), Some(&id)).await;
        assert!(
            overview
                .body
                .contains("<a href=\"/console/submissions/sub-dead\"><code>sub-dead</code></a>"),
            "the overview lists the dead letter: {}",
            overview.body
        );
        let page = get(format!("{base}/console/submissions/sub-dead"), Some(&id)).await;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("unzustellbar (Dead Letter)"));
        assert!(page.body.contains("http-503"), "last error shown");
        let csrf = csrf_of(&page.body);
        let action = format!("{base}/console/jobs/{}/redrive", job.job_id);
        let dead = |store: poststelle::store::AnyStore| async move {
            store
                .list_jobs(JobFilter {
                    state: Some(JobState::Dead),
                    limit: 10,
                })
                .await
                .expect("jobs")
                .len()
        };
        for form in [
            vec![("submission", "sub-dead")],
            vec![("csrf", "wrong"), ("submission", "sub-dead")],
            vec![("csrf", ""), ("submission", "sub-dead")],
        ] {
            let a = post(action.clone(), Some(&id), &form).await;
            assert_eq!(a.status, 403, "{}: {form:?}", t.backend());
            assert_eq!(dead(t.store.clone()).await, 1, "nothing changed");
        }
        // Another session's token is not this session's.
        let other = login(&base).await;
        let other_page = get(format!("{base}/console/"), Some(&other)).await;
        let a = post(
            action.clone(),
            Some(&id),
            &[
                ("csrf", &csrf_of(&other_page.body)),
                ("submission", "sub-dead"),
            ],
        )
        .await;
        assert_eq!(a.status, 403);
        let a = post(
            action.clone(),
            Some(&id),
            &[("csrf", &csrf), ("submission", "sub-dead")],
        )
        .await;
        assert_eq!(a.status, 303, "{}", a.body);
        assert_eq!(
            a.header("location"),
            "/console/submissions/sub-dead?redriven"
        );
        assert_eq!(dead(t.store.clone()).await, 0, "{}: re-driven", t.backend());
        let again = post(
            action,
            Some(&id),
            &[("csrf", &csrf), ("submission", "sub-dead")],
        )
        .await;
        assert_eq!(again.status, 409, "no longer a dead letter");
        server.shutdown().await;
    })
    .await;
}

/// A console over `t`'s store that renders documents with the repository's packs (the
/// XGewerbeanzeige XSDs, the test FIM pack) and logs views to a file; the file's path.
fn console_with_documents(t: &TestStore) -> (Console, std::path::PathBuf) {
    let empty = t.path("no-packs");
    let (registry, broken) = poststelle::xoev::pack::discover(
        poststelle::xoev::catalog::Catalog::embedded(),
        &poststelle::xoev::pack::PackSources {
            packs_dir: empty.clone(),
            shared_dir: None,
            repo_dir: Some(repo("")),
        },
        &poststelle::xoev::pack_files::PackLimits::default(),
    );
    assert!(broken.iter().all(|(d, _)| *d == empty), "{broken:?}");
    let log = t.path("access.log");
    let console = Console::new(
        AdminToken::new(TOKEN),
        t.store.clone(),
        &ConsoleSettings {
            access_log: Some(log.clone()),
            ..settings()
        },
    )
    .documents(Arc::new(poststelle::console::DocumentRenderer::new(
        registry,
        poststelle::pipeline::GrammarCache::default(),
        poststelle::config::Limits::default(),
    )));
    (console, log)
}

#[tokio::test]
async fn the_document_is_self_contained_html_and_every_view_is_in_the_access_log() {
    let t = TestStore::sqlite().await;
    let xml =
        std::fs::read(repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml")).expect("example");
    t.store
        .store_submission(
            NewSubmission {
                fachdaten: Some(xml),
                ..accepted("sub-doc", Some("sta.gewerbemeldung.0100"), &[])
            },
            Timestamp::now(),
        )
        .await
        .expect("store");
    t.store
        .store_submission(rejected("sub-nodoc"), Timestamp::now())
        .await
        .expect("store");
    let (console, log) = console_with_documents(&t);
    let server = start(&t, Some(console)).await;
    let base = format!("http://{}", server.addr());
    let id = login(&base).await;
    assert!(!log.exists(), "no view, no record");
    let page = get(format!("{base}/console/submissions/sub-doc"), Some(&id)).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .contains("/console/submissions/sub-doc/document.html")
    );

    let doc = get(
        format!("{base}/console/submissions/sub-doc/document.html"),
        Some(&id),
    )
    .await;
    assert_eq!(doc.status, 200, "{}", doc.body);
    assert_eq!(doc.header("content-type"), "text/html; charset=utf-8");
    let csp = doc.header("content-security-policy");
    assert!(
        csp.starts_with("default-src 'none'; style-src 'sha256-"),
        "{csp}"
    );
    assert!(doc.body.contains("Musterstadt"), "the application is shown");
    for resource in [
        "src=", "href=", "url(", "@import", "<script", "<link", "<img", "<iframe",
    ] {
        assert!(!doc.body.contains(resource), "external resource {resource}");
    }
    let none = get(
        format!("{base}/console/submissions/sub-nodoc/document.html"),
        Some(&id),
    )
    .await;
    assert_eq!(none.status, 404);

    let text = std::fs::read_to_string(&log).expect("access log");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0]["view"], "submission");
    assert_eq!(lines[1]["view"], "document");
    for l in &lines {
        assert_eq!(l["principal"], "admin-token");
        assert_eq!(l["submissionId"], "sub-doc");
        assert!(l["at"].as_str().is_some_and(|a| a.ends_with('Z')));
    }
    for personal in ["Musterstadt", "Mustermann"] {
        assert!(
            !text.contains(personal),
            "no data in the access log: {personal}"
        );
    }
    server.shutdown().await;
}

/// The envelope the pipeline stores for JSON Fachdaten (`pipeline::check::json_data`): the
/// message names the schema of the test FIM pack, `data` is the document as received; no XML
/// is kept beside it.
pub(crate) fn json_envelope(id: &str) -> String {
    let root = crate::fim_json::ROOT;
    serde_json::json!({
        "submission": {"id": id, "destinationId": "dest"},
        "metadata": {},
        "message": {"standard": "", "version": "", "type": root, "namespace": "",
                    "schemaUri": root, "schemaPack": "poststelle-fim-test@sha256:00"},
        "data": crate::fim_json::valid_doc(),
        "attachments": [],
    })
    .to_string()
}

#[tokio::test]
async fn json_fachdaten_are_rendered_with_the_titles_of_their_fim_schemas() {
    let t = TestStore::sqlite().await;
    let root = crate::fim_json::ROOT;
    t.store
        .store_submission(
            NewSubmission {
                envelope: Some(json_envelope("sub-json")),
                ..accepted("sub-json", Some(root), &[])
            },
            Timestamp::now(),
        )
        .await
        .expect("store");
    let (console, log) = console_with_documents(&t);
    let server = start(&t, Some(console)).await;
    let base = format!("http://{}", server.addr());
    let id = login(&base).await;
    let page = get(format!("{base}/console/submissions/sub-json"), Some(&id)).await;
    assert!(
        page.body
            .contains("/console/submissions/sub-json/document.html"),
        "the submission page links the document"
    );
    let doc = get(
        format!("{base}/console/submissions/sub-json/document.html"),
        Some(&id),
    )
    .await;
    assert_eq!(doc.status, 200, "{}", doc.body);
    assert!(
        doc.header("content-security-policy")
            .starts_with("default-src 'none'; style-src 'sha256-"),
        "the XML document's policy: its one inline style, nothing else"
    );
    // Labels from the schemas' titles, in the form's order; values formatted for German
    // readers (the date), the technical `$schema` member left out.
    for (before, after) in [
        ("Veranstalterin oder Veranstalter", "Vorname"),
        ("Vorname", "Familienname"),
        ("Familienname", "Geburtsdatum"),
        ("Veranstaltung", "Art der Veranstaltung"),
        ("Art der Veranstaltung", "Datum der Veranstaltung"),
        ("Datum der Veranstaltung", "Veranstaltungsort"),
        ("Veranstaltungsort", "Programm"),
    ] {
        let (b, a) = (doc.body.find(before), doc.body.rfind(after));
        assert!(
            b.is_some() && a.is_some() && b < a,
            "{before} before {after}: {}",
            doc.body
        );
    }
    assert!(doc.body.contains("<dd>13.06.2026"), "date formatted");
    assert!(!doc.body.contains("$schema"), "{}", doc.body);
    insta::assert_snapshot!(
        "console_json_document_text",
        crate::xoev_render::text_of(&doc.body)
    );
    let text = std::fs::read_to_string(&log).expect("access log");
    assert_eq!(text.lines().count(), 2, "both views recorded: {text}");
    assert!(!text.contains("Erika"), "no data in the access log");
    server.shutdown().await;
}

#[tokio::test]
async fn with_a_users_file_the_login_is_by_name_and_the_access_log_names_the_user() {
    let t = TestStore::sqlite().await;
    t.store
        .store_submission(accepted("sub-named", None, &[]), Timestamp::now())
        .await
        .expect("store");
    let iterations = poststelle::console::MIN_ITERATIONS;
    let lines = [
        poststelle::console::hash_line("m.muster", "Sommer 2026!", iterations).expect("line"),
        poststelle::console::hash_line("k.beispiel", "anderes", iterations).expect("line"),
    ];
    let users = poststelle::console::Users::parse(&lines.join("\n")).expect("users");
    let log = t.path("access.log");
    let console = Console::new(
        AdminToken::new(TOKEN),
        t.store.clone(),
        &ConsoleSettings {
            access_log: Some(log.clone()),
            ..settings()
        },
    )
    .users(Arc::new(users));
    let server = start(&t, Some(console)).await;
    let base = format!("http://{}", server.addr());
    let form = get(format!("{base}/console/login"), None).await;
    for field in [
        "<label for=\"user\">Benutzername</label>",
        "autocomplete=\"username\"",
        "<label for=\"password\">Passwort</label>",
    ] {
        assert!(form.body.contains(field), "{field}: {}", form.body);
    }
    assert!(!form.body.contains("name=\"token\""), "no token field");
    for (user, password) in [
        ("m.muster", "anderes"),
        ("m.muster", "Sommer 2026"),
        ("niemand", "Sommer 2026!"),
        ("", ""),
    ] {
        let a = post(
            format!("{base}/console/login"),
            None,
            &[("user", user), ("password", password)],
        )
        .await;
        assert_eq!(a.status, 401, "{user}");
        assert!(a.header("set-cookie").is_empty());
        assert!(
            a.body
                .contains("Benutzername oder Passwort ist nicht gültig")
        );
    }
    // The admin token opens the admin API, no longer the console.
    let a = post(format!("{base}/console/login"), None, &[("token", TOKEN)]).await;
    assert_eq!(a.status, 401);
    let cookie = login_with(&base, &[("user", "m.muster"), ("password", "Sommer 2026!")]).await;
    let page = get(
        format!("{base}/console/submissions/sub-named"),
        Some(&cookie),
    )
    .await;
    assert_eq!(page.status, 200);
    let text = std::fs::read_to_string(&log).expect("access log");
    let line: serde_json::Value = serde_json::from_str(text.trim()).expect("one JSON line");
    assert_eq!(line["principal"], "m.muster");
    assert_eq!(line["submissionId"], "sub-named");
    assert!(!text.contains("Sommer"), "no password in the access log");
    server.shutdown().await;
}
