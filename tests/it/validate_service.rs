//! Issue 16, scope 4: `poststelle validate --daemon` as a drop-in for the KoSIT validator's
//! daemon. The daemon runs as a child process on a free loopback port (`--port 0`, the address
//! read from its banner); a KoSIT-style client — a few lines of python3 `urllib`, as
//! integrators call the KoSIT daemon — POSTs raw XML and reads status and report.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::validate_report::parse_report;
use crate::validate_rules::{CLEAN_0200, STAT_0423, STAT_0426, installed_or_skip, sample};

/// The KoSIT-style client: `METHOD URL FILE` (FILE `-`: no body); `BIG URL LENGTH` declares a
/// body of LENGTH bytes and sends a few. Prints the status, a newline, then the body.
const CLIENT: &str = r#"
import sys, urllib.request, urllib.error, urllib.parse, http.client
method, url, arg = sys.argv[1:4]
if method == "BIG":
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.putrequest("POST", u.path)
    c.putheader("Content-Type", "application/xml")
    c.putheader("Content-Length", arg)
    c.endheaders()
    c.send(b"<a>")
    r = c.getresponse()
    status, body = r.status, r.read()
else:
    data = None if arg == "-" else open(arg, "rb").read()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/xml"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, body = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
sys.stdout.write("%d\n" % status)
sys.stdout.flush()
sys.stdout.buffer.write(body)
"#;

/// The daemon child; killed when dropped (a failing assertion must not leave it running).
struct Daemon {
    child: Option<Child>,
    base: String,
    log: std::path::PathBuf,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Daemon {
    /// Starts `poststelle validate --daemon --port 0 ARGS…` and waits (at most 60 s) for the
    /// banner with its address.
    fn start(packs: &Path, dir: &Path, args: &[&str]) -> Daemon {
        let log = dir.join("daemon.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_poststelle"))
            .args(["validate", "--daemon", "--port", "0"])
            .args(args)
            .env("POSTSTELLE_PACKS", packs)
            .env("POSTSTELLE_SHARED", "/nonexistent-shared")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("poststelle runs");
        let stdout = child.stdout.take().expect("stdout");
        let mut daemon = Daemon {
            child: Some(child),
            base: String::new(),
            log,
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no banner within 60 s:\n{}", daemon.log_text()));
        let start = line
            .find("http://")
            .unwrap_or_else(|| panic!("banner {line:?}:\n{}", daemon.log_text()));
        let url = line[start..].split_whitespace().next().expect("url");
        daemon.base = url.trim_end_matches('/').to_owned();
        daemon
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// One request through the python client: (status, body).
    fn call(&self, method: &str, path: &str, arg: &str) -> (u16, Vec<u8>) {
        let out = Command::new("python3")
            .args(["-c", CLIENT, method, &format!("{}{path}", self.base), arg])
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "client failed: {}\ndaemon log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.log_text()
        );
        let split = out
            .stdout
            .iter()
            .position(|b| *b == b'\n')
            .expect("status line");
        let status = std::str::from_utf8(&out.stdout[..split])
            .expect("utf-8")
            .parse()
            .expect("status");
        (status, out.stdout[split + 1..].to_vec())
    }

    fn health_is_up(&self) {
        let (status, body) = self.call("GET", "/server/health", "-");
        let body = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<status>UP</status>"), "{body}");
        assert!(
            body.contains("xmlns=\"http://www.xoev.de/de/validator/framework/1/daemon\""),
            "{body}"
        );
    }

    /// SIGTERM, then the exit status within 30 s.
    fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .args(["-s", "TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                return status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the daemon did not stop on SIGTERM:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn python3_or_skip() -> bool {
    let ok = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        crate::shared_data::skip("python3 (the KoSIT-style client) is not installed");
    }
    ok
}

#[test]
fn validate_daemon_answers_like_the_kosit_daemon() {
    let Some((tmp, packs)) = installed_or_skip() else {
        return;
    };
    if !python3_or_skip() {
        return;
    }
    // The daemon's options without --daemon are a usage error, not silently ignored.
    let out = crate::validate_rules::run(&packs, &["validate", "--port", "1", &sample(CLEAN_0200)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::xoev_support::text(&out).contains("options of --daemon"));
    let mut daemon = Daemon::start(&packs, tmp.path(), &["--rules"]);

    // Valid XBau message: 200 with an ACCEPTABLE report named after the last path segment.
    let (status, body) = daemon.call("POST", "/check/antrag.xml", &sample(CLEAN_0200));
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let r = parse_report(&body);
    assert_eq!(r.recommendation, "ACCEPTABLE");
    assert_eq!(r.document_reference, "antrag.xml");
    assert!(
        r.scenario
            .starts_with("XBau 2.6 baugenehmigung.antrag.0200 (xbau-2.6@"),
        "{}",
        r.scenario
    );

    // Rules broken: 406 with the rule ids the CLI reports.
    let (status, body) = daemon.call("POST", "/", &sample(STAT_0426));
    assert_eq!(status, 406, "{}", String::from_utf8_lossy(&body));
    let r = parse_report(&body);
    assert_eq!(r.recommendation, "REJECT");
    assert_eq!(r.codes("val-sch.1"), ["sch-stat-001", "sch-stat-002"]);
    assert_eq!(r.document_reference, "supplied_instance_1");
    let (status, body) = daemon.call("POST", "/b.xml", &sample(STAT_0423));
    assert_eq!(status, 406);
    let mut codes = parse_report(&body)
        .codes("val-sch.1")
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    codes.sort();
    assert_eq!(codes, ["sch-stat-007", "sch-xbau-001", "sch-xbau-002"]);

    // Not XML, no body, other methods, too large, no pack.
    let dir = tmp.path();
    let write = |name: &str, content: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, content).expect("write");
        p.to_str().expect("utf-8").to_owned()
    };
    let (status, body) = daemon.call("POST", "/x", &write("text.txt", b"this is not XML"));
    assert_eq!(status, 400);
    assert_eq!(parse_report(&body).codes("val-xml"), ["not-well-formed"]);
    let (status, _) = daemon.call("POST", "/x", &write("empty.xml", b""));
    assert_eq!(status, 400);
    let (status, _) = daemon.call("PUT", "/x", &sample(CLEAN_0200));
    assert_eq!(status, 405);
    let limit = poststelle::config::Limits::default().xml.max_input_bytes;
    let (status, body) = daemon.call("BIG", "/x", &(limit + 1).to_string());
    assert_eq!(status, 413, "{}", String::from_utf8_lossy(&body));
    let (status, _) = daemon.call(
        "POST",
        "/x",
        &write("other.xml", b"<a xmlns=\"urn:unknown\"/>"),
    );
    assert_eq!(status, 422);
    let (status, body) = daemon.call("GET", "/", "-");
    assert_eq!(status, 200);
    assert!(String::from_utf8_lossy(&body).contains("POST"));
    daemon.health_is_up();

    // One log line per request, without the body.
    let log = daemon.log_text();
    assert!(
        log.contains("method=POST path=/check/antrag.xml status=200"),
        "{log}"
    );
    assert!(log.contains("method=PUT path=/x status=405"), "{log}");
    assert!(!log.contains("Bundeslandes"), "{log}");
    assert_eq!(daemon.stop(), Some(0), "{}", daemon.log_text());
}

/// Hostile input gets the refusal `validate` gives the same file, and the daemon stays
/// responsive.
#[test]
fn validate_daemon_refuses_hostile_input_like_validate_and_stays_up() {
    let Some((tmp, packs)) = installed_or_skip() else {
        return;
    };
    if !python3_or_skip() {
        return;
    }
    let laughs = tmp.path().join("laughs.xml");
    let doc = crate::xml_hostile::billion_laughs(
        "xbau:baugenehmigung.antrag.0200 xmlns:xbau=\"http://www.xleitstelle.de/xbau/2/6\"",
    );
    std::fs::write(&laughs, doc).expect("write");
    let deep = tmp.path().join("deep.xml");
    std::fs::write(
        &deep,
        format!(
            "<xbau:baugenehmigung.antrag.0200 xmlns:xbau=\"http://www.xleitstelle.de/xbau/2/6\">{}{}</xbau:baugenehmigung.antrag.0200>",
            "<a>".repeat(100_000),
            "</a>".repeat(100_000)
        ),
    )
    .expect("write");

    let daemon = Daemon::start(&packs, tmp.path(), &["--rules"]);
    for (file, reason) in [
        (&laughs, "DOCTYPE declarations are not allowed"),
        (&deep, "max_depth = 256"),
    ] {
        let file = file.to_str().expect("utf-8");
        // What validate says about the file …
        let out = crate::validate_rules::run(&packs, &["validate", "--rules", file]);
        assert_eq!(out.status.code(), Some(1));
        assert!(
            crate::xoev_support::text(&out).contains(reason),
            "{}",
            crate::xoev_support::text(&out)
        );
        // … the daemon says too, with 400 and a REJECT report.
        let started = std::time::Instant::now();
        let (status, body) = daemon.call("POST", "/hostile.xml", file);
        assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
        assert!(started.elapsed() < Duration::from_secs(20));
        let r = parse_report(&body);
        assert_eq!(r.recommendation, "REJECT");
        assert!(
            r.messages
                .iter()
                .any(|m| m.step == "val-xml" && m.text.contains(reason)),
            "{:?}",
            r.messages
        );
        daemon.health_is_up();
    }
}
