//! Issue 17: `poststelle serve` (a child process, over the in-process sandbox) with an admin
//! token serves the console: a submission it received shows in the overview and the list,
//! its case-worker document is rendered from the stored Fachdaten, and each view of them is
//! in the access log without a value of the message.

use std::time::{Duration, Instant};

use crate::gateway_crash::Rig;

const TOKEN: &str = "console-e2e-token-0123456789abcdef";
const COOKIE: &str = "__Host-poststelle-console";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn page(base: &str, path: &str, session: &str) -> (u16, String, String) {
    let resp = http()
        .get(format!("{base}{path}"))
        .header("cookie", format!("{COOKIE}={session}"))
        .send()
        .await
        .expect("console request");
    let status = resp.status().as_u16();
    let csp = resp
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    (status, csp, resp.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_shows_a_received_submission_in_the_console_with_its_document() {
    let state = tempfile::tempdir().expect("state dir");
    let mut rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "",
    )
    .await;
    let token_file = rig.dir.path().join("admin-token");
    std::fs::write(&token_file, TOKEN).expect("token file");
    let access_log = rig.dir.path().join("access.log");
    let config = std::fs::read_to_string(&rig.gateway.config).expect("config");
    std::fs::write(
        &rig.gateway.config,
        format!(
            "{}\n[console]\naccess_log = {:?}\n",
            config
                .replace(
                    "[server]\n",
                    &format!(
                        "[server]\nadmin_token_file = {:?}\n",
                        token_file.display().to_string()
                    ),
                )
                .replace("name = \"sink\"\n", "name = \"sink\"\nrendering = true\n"),
            access_log.display().to_string()
        ),
    )
    .expect("config");
    rig.gateway.start();
    let sender =
        crate::gateway_crash::client(rig.sandbox.base_url(), "sender", "sender-secret-0123456789");
    let xml = crate::pipeline_fixture::xgewerbeanzeige();
    let (id, _case) =
        crate::gateway_crash::send_data(&sender, &rig.destination, 0, xml.clone()).await;

    // The listener's address from the start line.
    let deadline = Instant::now() + Duration::from_secs(60);
    let base = loop {
        let log = std::fs::read_to_string(&rig.gateway.log).unwrap_or_default();
        if let Some(at) = log.find("listening on http://") {
            let rest = &log[at + "listening on http://".len()..];
            break format!("http://{}", &rest[..rest.find(' ').expect("address end")]);
        }
        rig.gateway.assert_running();
        assert!(
            Instant::now() < deadline,
            "no start:\n{}",
            rig.gateway.tail()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let login = http()
        .post(format!("{base}/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 303);
    let session = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.strip_prefix(&format!("{COOKIE}=")))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned();

    // Until the gateway has decided: the list shows the submission as accepted.
    loop {
        let (status, _, body) =
            page(&base, "/console/submissions?decision=accepted", &session).await;
        assert_eq!(status, 200);
        if body.contains(&id) {
            break;
        }
        rig.gateway.assert_running();
        assert!(
            Instant::now() < deadline,
            "not accepted in time:\n{}",
            rig.gateway.tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (_, _, overview) = page(&base, "/console/", &session).await;
    assert!(
        overview.contains(
            "<th scope=\"row\">Letzte 24 Stunden</th><td class=\"num\">1</td><td class=\"num\">1</td><td class=\"num\">0</td>"
        ),
        "{overview}"
    );
    assert!(overview.contains("xgewerbeanzeige-2.2"), "packs listed");

    let (status, _, submission) =
        page(&base, &format!("/console/submissions/{id}"), &session).await;
    assert_eq!(status, 200);
    assert!(submission.contains("Angenommen."));
    let (status, csp, document) = page(
        &base,
        &format!("/console/submissions/{id}/document.html"),
        &session,
    )
    .await;
    assert_eq!(status, 200, "{document}");
    assert!(csp.contains("style-src 'sha256-"), "{csp}");
    let values = crate::gateway_signals::text_values(&xml);
    assert!(
        values.iter().any(|v| document.contains(v.as_str())),
        "the document shows the application"
    );
    for resource in [
        "src=", "href=", "url(", "@import", "<script", "<link", "<img",
    ] {
        assert!(!document.contains(resource), "{resource}");
    }

    // `[[upstream]] rendering = true`: the upstream received the document too, before the
    // envelope.
    loop {
        if rig.sink.received().iter().any(|r| r.method == "POST") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not delivered in time:\n{}",
            rig.gateway.tail()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let received = rig.sink.received();
    let put = received
        .iter()
        .find(|r| {
            r.path
                .ends_with(&format!("/{id}/attachments/document.html"))
        })
        .unwrap_or_else(|| {
            panic!(
                "no document PUT: {:?}\n{}",
                received
                    .iter()
                    .map(|r| format!("{} {}", r.method, r.path))
                    .collect::<Vec<_>>(),
                rig.gateway.tail()
            )
        });
    let html = String::from_utf8(put.body.clone()).expect("UTF-8");
    assert!(html.starts_with("<!DOCTYPE html><html lang=\"de\">"));
    assert!(values.iter().any(|v| html.contains(v.as_str())));
    assert_eq!(
        put.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );

    let records = std::fs::read_to_string(&access_log).expect("access log");
    assert_eq!(records.lines().count(), 2, "{records}");
    assert!(
        records
            .lines()
            .all(|l| l.contains(&id) && l.contains("admin-token"))
    );
    for value in &values {
        assert!(
            !records.contains(value.as_str()),
            "{value:?} in the access log"
        );
    }
    rig.gateway.kill();
    let log = std::fs::read_to_string(&rig.gateway.log).unwrap_or_default();
    assert!(log.contains("console: on at /console/"), "{log}");
    for value in &values {
        assert!(!log.contains(value.as_str()), "{value:?} in the log");
    }
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_check_reads_the_console_users_file_and_names_bad_lines_without_them() {
    let state = tempfile::tempdir().expect("state dir");
    let rig = Rig::new(
        &format!("sqlite:{}", state.path().join("gw.db").display()),
        "",
    )
    .await;
    let dir = rig.dir.path();
    std::fs::write(dir.join("admin-token"), TOKEN).expect("token file");
    let good = poststelle::console::hash_line(
        "m.muster",
        "Sommer 2026!",
        poststelle::console::MIN_ITERATIONS,
    )
    .expect("line");
    let users = dir.join("console-users");
    let config = std::fs::read_to_string(&rig.gateway.config)
        .expect("config")
        .replace(
            "[server]\n",
            &format!(
                "[server]\nadmin_token_file = {:?}\n",
                dir.join("admin-token").display().to_string()
            ),
        );
    std::fs::write(
        &rig.gateway.config,
        format!(
            "{config}\n[console]\nusers_file = {:?}\n",
            users.display().to_string()
        ),
    )
    .expect("config");
    std::fs::write(&users, format!("# Konsole\n{good}\n")).expect("users");
    let (code, stderr) = crate::server_tls::check(&rig.gateway.config);
    assert_eq!(code, Some(0), "{stderr}");
    let weak = good.replace("i=100000", "i=99");
    std::fs::write(&users, format!("{good}\n{weak}\nk.beispiel\n")).expect("users");
    let (code, stderr) = crate::server_tls::check(&rig.gateway.config);
    assert_eq!(code, Some(64), "{stderr}");
    assert!(
        stderr.contains("console-users: line 2: the iteration count must be")
            && stderr.contains("console-users: line 3: no `NAME:` before the hash"),
        "{stderr}"
    );
    let hash = good.rsplit('$').next().expect("hash");
    assert!(
        !stderr.contains(hash) && !stderr.contains("k.beispiel"),
        "{stderr}"
    );
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}
