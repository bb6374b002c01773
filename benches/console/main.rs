//! Console page latency (issue 17: "every page answers within 100 ms with 10,000 stored
//! submissions", on SQLite and on PostgreSQL).
//!
//! Fills a fresh store through the public store API ([`poststelle::store::Store`]) with
//! 10,000 submissions spread over the last 60 days: four in five accepted (each with a JSON
//! envelope of `--envelope-kb` KB, default 16, and one or two outbox jobs), one in five rejected
//! with a problem; five message types, four destinations; every fiftieth XGewerbeanzeige
//! application keeps its XML Fachdaten (the example `examples/xgewerbeanzeige/
//! gewerbeanmeldung.xml`, for the case-worker document). Of the jobs, 2,000 are delivered and
//! 100 dead-lettered, the rest stay pending. Then it starts the server with the console the way
//! `serve` does (admin token, access log synced per view, the project's XGewerbeanzeige pack for
//! the document), logs in over HTTP and times each page from request to the last byte of the
//! body, `--runs` times after three warm-up requests: the overview (counts over a day and 30
//! days, queue figures, dead letters), the list (first page; filtered by decision, message type,
//! destination, a time range, all four at once; page 100), a submission page (accepted with a
//! dead letter; rejected) and the case-worker document.
//!
//! Prints one table per store (median, 90th percentile and maximum per page) and exits 1 when
//! a page's median exceeds the budget (100 ms).
//!
//! Run: `cargo bench --bench console` (release; SQLite, then PostgreSQL at
//! `POSTSTELLE_TEST_DATABASE_URL`, default `postgres://postgres@127.0.0.1:5432/test`, in a
//! schema of its own that is dropped afterwards; a PostgreSQL that cannot be reached is skipped
//! with a note, and is a failure under `CI`). CI runs it as `cargo bench --profile dev --bench
//! console` (`.ci/steps.d/62-console-bench.sh`): no release build, the console's own code
//! unoptimised — stricter than the release figures; SQLite, the drivers and the other
//! dependencies are optimised in every profile. Options: `-- --submissions N --runs N
//! --envelope-kb N --budget-ms N --sqlite-only --postgres-only --keep DIR` (the SQLite file is
//! kept in DIR and the PostgreSQL schema is not dropped, for `EXPLAIN`).
#![allow(
    missing_docs,
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used
)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use poststelle::config::gateway::ConsoleSettings;
use poststelle::console::{Console, DocumentRenderer};
use poststelle::fitconnect::problems::{Failure, Instance, Problem};
use poststelle::server::{AdminToken, Handlers, Metrics, Server, ServerConfig};
use poststelle::store::{
    AckPolicy, AnyStore, Decision, Evidence, FailAction, NewSubmission, PgStore, SqliteStore,
    Store, Timestamp,
};

const TOKEN: &str = "console-bench-token-0123456789";
const COOKIE: &str = "__Host-poststelle-console";
const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";
const DAY_MS: i64 = 86_400_000;
/// The time the submissions are spread over.
const SPAN_DAYS: i64 = 60;
const MESSAGE_TYPES: [&str; 5] = [
    "baugenehmigung.antrag.0200",
    "baugenehmigung.anzeige.0201",
    "sta.gewerbemeldung.0100",
    "sta.gewerbemeldung.0110",
    "abbruch.antrag.0220",
];
const GEWERBE: &str = "sta.gewerbemeldung.0100";
const DESTINATIONS: [&str; 4] = [
    "0f5c1e2a-1b3c-4d5e-8f60-718293a4b5c6",
    "1a2b3c4d-5e6f-4071-8293-a4b5c6d7e8f9",
    "2b3c4d5e-6f70-4182-93a4-b5c6d7e8f9a0",
    "3c4d5e6f-7081-4293-a4b5-c6d7e8f9a0b1",
];
const DELIVERED: usize = 2_000;
const DEAD: usize = 100;

struct Args {
    submissions: usize,
    runs: usize,
    sqlite: bool,
    postgres: bool,
    budget: Duration,
    /// Size of each accepted submission's envelope.
    envelope_kb: usize,
    /// Keep the SQLite store here (else a temporary directory).
    keep: Option<std::path::PathBuf>,
}

fn args() -> Args {
    let mut a = Args {
        submissions: 10_000,
        runs: 21,
        sqlite: true,
        postgres: true,
        budget: Duration::from_millis(100),
        envelope_kb: 16,
        keep: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut number = || it.next().and_then(|v| v.parse::<u64>().ok()).unwrap();
        match arg.as_str() {
            "--submissions" => a.submissions = usize::try_from(number()).unwrap(),
            "--runs" => a.runs = usize::try_from(number()).unwrap().max(1),
            "--budget-ms" => a.budget = Duration::from_millis(number()),
            "--envelope-kb" => a.envelope_kb = usize::try_from(number()).unwrap().max(1),
            "--keep" => a.keep = it.next().map(std::path::PathBuf::from),
            "--sqlite-only" => a.postgres = false,
            "--postgres-only" => a.sqlite = false,
            // `cargo bench` passes --bench; anything else is ignored likewise.
            _ => {}
        }
    }
    a
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What the fill left to look at.
struct Filled {
    /// An accepted submission with a dead letter.
    dead: String,
    /// A rejected submission.
    rejected: String,
    /// A submission with XML Fachdaten.
    document: String,
    took: Duration,
}

fn submission_id(i: usize) -> String {
    format!(
        "{:08x}-{:04x}-4000-8000-{:012x}",
        0x5e00_0000 + i,
        i % 0xffff,
        i
    )
}

/// The envelope of an accepted submission: about `kb` KB of JSON, as the pipeline stores it.
fn envelope(id: &str, destination: &str, message_type: &str, at: Timestamp, kb: usize) -> String {
    let fields: serde_json::Map<String, serde_json::Value> = (0..kb * 15)
        .map(|k| {
            (
                format!("feld{k:04}"),
                serde_json::Value::String(format!("Wert {k} der Einreichung")),
            )
        })
        .collect();
    serde_json::json!({
        "submission": {
            "id": id, "caseId": null, "destinationId": destination,
            "serviceType": "urn:de:fim:leika:leistung:99099002067003", "receivedAt": at.0,
        },
        "metadata": { "contentStructure": { "data": { "submissionSchema": {
            "schemaUri": "urn:xoev-de:xgewerbeanzeige:standard:xgewerbeanzeige_2.2",
            "mimeType": "application/xml" } } } },
        "message": { "standard": "XBench", "version": "1.0", "type": message_type },
        "data": fields,
        "attachments": [],
    })
    .to_string()
}

async fn fill(store: &AnyStore, n: usize, envelope_kb: usize, xml: &[u8]) -> Filled {
    let started = Instant::now();
    let now = Timestamp::now().0;
    let problem = Problem::new(Failure::DataSchema, &Instance::Data).expect("catalogue problem");
    let mut document = None;
    let mut rejected = None;
    // Eight submissions in flight: PostgreSQL commits them in parallel, SQLite in turn.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let id = submission_id(i);
        // Newest first by index, evenly over the span.
        let at = Timestamp(now - i64::try_from(i).unwrap() * SPAN_DAYS * DAY_MS / n as i64);
        let message_type = MESSAGE_TYPES[i % MESSAGE_TYPES.len()];
        let destination = DESTINATIONS[(i / 3) % DESTINATIONS.len()];
        let is_rejected = i % 5 == 4;
        let keeps_xml = !is_rejected && message_type == GEWERBE && i % 50 == 2;
        if keeps_xml && document.is_none() {
            document = Some(id.clone());
        }
        if is_rejected && rejected.is_none() {
            rejected = Some(id.clone());
        }
        let sub = NewSubmission {
            submission_id: id.clone(),
            case_id: None,
            destination_id: destination.to_owned(),
            message_type: (!is_rejected || i % 2 == 0).then(|| message_type.to_owned()),
            envelope: (!is_rejected)
                .then(|| envelope(&id, destination, message_type, at, envelope_kb)),
            fachdaten: keeps_xml.then(|| xml.to_vec()),
            decision: if is_rejected {
                Decision::Rejected {
                    problems: vec![problem.clone()],
                }
            } else {
                Decision::Accepted
            },
            ack_policy: AckPolicy::AfterStore,
            evidence: Evidence {
                submit_set: String::new(),
                auth_tags: None,
                hashes: vec![
                    ("metadata".to_owned(), format!("sha512:{:0128x}", i)),
                    ("data".to_owned(), format!("sha512:{:0128x}", i + 1)),
                ],
                received_at: at,
                decided_at: at,
            },
            attachments: Vec::new(),
            upstreams: if is_rejected {
                vec![]
            } else if i % 7 == 0 {
                vec!["fachverfahren".to_owned(), "archiv".to_owned()]
            } else {
                vec!["fachverfahren".to_owned()]
            },
        };
        let store = store.clone();
        tasks.spawn(async move { store.store_submission(sub, at).await.expect("store") });
        if tasks.len() >= 8 {
            tasks.join_next().await.unwrap().expect("task");
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.expect("task");
    }
    // Jobs: claimed in batches (as the outbox worker does), the first ones delivered, then
    // dead letters; the rest stay pending.
    let claim_at = Timestamp(now);
    let lease = Duration::from_secs(600);
    let mut delivered = 0;
    let mut dead = None;
    let mut dead_count = 0;
    while delivered < DELIVERED || dead_count < DEAD {
        let jobs = store
            .claim_jobs("bench", claim_at, lease, 200)
            .await
            .expect("claim");
        if jobs.is_empty() {
            break;
        }
        for job in jobs {
            if delivered < DELIVERED {
                store
                    .complete_job(job.job_id, claim_at)
                    .await
                    .expect("complete");
                delivered += 1;
            } else if dead_count < DEAD {
                store
                    .fail_job(
                        job.job_id,
                        "bench",
                        FailAction::DeadLetter,
                        "http-503",
                        claim_at,
                    )
                    .await
                    .expect("dead letter");
                dead_count += 1;
                dead.get_or_insert(job.submission_id);
            }
        }
    }
    Filled {
        dead: dead.expect("a dead letter"),
        rejected: rejected.expect("a rejected submission"),
        document: document.expect("a submission with XML"),
        took: started.elapsed(),
    }
}

/// The day `ms` falls on, `YYYY-MM-DD` (UTC).
fn day(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

struct Row {
    page: String,
    median: Duration,
    p90: Duration,
    max: Duration,
    bytes: usize,
}

async fn measure(store: AnyStore, filled: &Filled, runs: usize, tmp: &Path) -> Vec<Row> {
    let registry = {
        let (registry, _broken) = poststelle::xoev::pack::discover(
            poststelle::xoev::catalog::Catalog::embedded(),
            &poststelle::xoev::pack::PackSources {
                packs_dir: tmp.join("no-packs"),
                shared_dir: None,
                repo_dir: Some(repo().to_owned()),
            },
            &poststelle::xoev::pack_files::PackLimits::default(),
        );
        registry
    };
    let settings = ConsoleSettings {
        access_log: Some(tmp.join("access.log")),
        ..ConsoleSettings::default()
    };
    let console = Console::new(AdminToken::new(TOKEN), store.clone(), &settings).documents(
        Arc::new(DocumentRenderer::new(
            registry,
            poststelle::pipeline::GrammarCache::default(),
            poststelle::config::Limits::default(),
        )),
    );
    let handlers = Handlers {
        metrics: Arc::new(Metrics::new()),
        store: Some(store),
        readiness: None,
        callbacks: None,
        admin_token: Some(AdminToken::new(TOKEN)),
        console: Some(Arc::new(console) as Arc<dyn poststelle::server::ConsolePages>),
        replies: None,
    };
    let server = Server::start(ServerConfig::new("127.0.0.1:0".parse().unwrap()), handlers)
        .await
        .expect("server");
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let login = client
        .post(format!("{base}/console/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={TOKEN}"))
        .send()
        .await
        .expect("login");
    assert_eq!(login.status().as_u16(), 303, "login");
    let session = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.strip_prefix(&format!("{COOKIE}=")))
        .and_then(|rest| rest.split(';').next())
        .expect("session cookie")
        .to_owned();

    let now = Timestamp::now().0;
    let (from, to) = (day(now - 20 * DAY_MS), day(now - 10 * DAY_MS));
    let pages: Vec<(&str, String, &str)> = vec![
        ("overview", "/console/".to_owned(), "Übersicht"),
        ("list", "/console/submissions".to_owned(), "Einreichungen"),
        (
            "list decision=rejected",
            "/console/submissions?decision=rejected".to_owned(),
            "Einreichungen",
        ),
        (
            "list message type",
            format!("/console/submissions?type={}", MESSAGE_TYPES[4]),
            "Einreichungen",
        ),
        (
            "list destination",
            format!("/console/submissions?destination={}", DESTINATIONS[2]),
            "Einreichungen",
        ),
        (
            "list time range (10 days)",
            format!("/console/submissions?from={from}&to={to}"),
            "Einreichungen",
        ),
        (
            "list all four filters",
            format!(
                "/console/submissions?decision=accepted&type={}&destination={}&from={from}&to={to}",
                MESSAGE_TYPES[1], DESTINATIONS[1]
            ),
            "Einreichungen",
        ),
        (
            "list page 100",
            "/console/submissions?page=100".to_owned(),
            "Einreichungen",
        ),
        (
            "submission (dead letter)",
            format!("/console/submissions/{}", filled.dead),
            "erneut zustellen",
        ),
        (
            "submission (rejected)",
            format!("/console/submissions/{}", filled.rejected),
            "Abgelehnt",
        ),
        (
            "document.html",
            format!("/console/submissions/{}/document.html", filled.document),
            "Nachrichtenkopf",
        ),
    ];
    let mut rows = Vec::new();
    for (name, path, expect) in pages {
        let mut times = Vec::with_capacity(runs);
        let mut bytes = 0;
        for run in 0..runs + 3 {
            let started = Instant::now();
            let resp = client
                .get(format!("{base}{path}"))
                .header("cookie", format!("{COOKIE}={session}"))
                .send()
                .await
                .expect("request");
            let status = resp.status().as_u16();
            let body = resp.text().await.expect("body");
            let took = started.elapsed();
            assert_eq!(status, 200, "{name}: {path}");
            assert!(body.contains(expect), "{name}: {path} shows {expect:?}");
            bytes = body.len();
            // The first three warm the caches (the grammar of the document, the store's pages).
            if run >= 3 {
                times.push(took);
            }
        }
        times.sort();
        rows.push(Row {
            page: name.to_owned(),
            median: times[times.len() / 2],
            p90: times[(times.len() * 9).div_ceil(10) - 1],
            max: times[times.len() - 1],
            bytes,
        });
    }
    server.shutdown().await;
    rows
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Prints the table; returns the pages over budget.
fn report(store: &str, filled: &Filled, a: &Args, rows: &[Row]) -> Vec<String> {
    let budget = a.budget;
    println!(
        "\n{store}: {} submissions, envelopes of {} KB (filled in {:.1} s); {} runs per page after 3 warm-up",
        a.submissions,
        a.envelope_kb,
        filled.took.as_secs_f64(),
        a.runs
    );
    println!(
        "| page | median ms | p90 ms | max ms | bytes | ≤ {} ms |",
        budget.as_millis()
    );
    println!("|---|---:|---:|---:|---:|---|");
    let mut over = Vec::new();
    for r in rows {
        let ok = r.median <= budget;
        if !ok {
            over.push(format!(
                "{store}: {} (median {:.1} ms)",
                r.page,
                ms(r.median)
            ));
        }
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {} | {} |",
            r.page,
            ms(r.median),
            ms(r.p90),
            ms(r.max),
            r.bytes,
            if ok { "yes" } else { "NO" }
        );
    }
    over
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let a = args();
    let xml = std::fs::read(repo().join("examples/xgewerbeanzeige/gewerbeanmeldung.xml"))
        .expect("the XGewerbeanzeige example");
    let mut over = Vec::new();
    if a.sqlite {
        let tmp = tempfile::tempdir().unwrap();
        let dir = a.keep.clone().unwrap_or_else(|| tmp.path().to_owned());
        std::fs::create_dir_all(&dir).unwrap();
        let store = AnyStore::Sqlite(
            SqliteStore::open(dir.join("bench.db"))
                .await
                .expect("sqlite"),
        );
        let filled = fill(&store, a.submissions, a.envelope_kb, &xml).await;
        let rows = measure(store, &filled, a.runs, tmp.path()).await;
        over.extend(report("SQLite", &filled, &a, &rows));
    }
    if a.postgres {
        let url =
            std::env::var("POSTSTELLE_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG.to_owned());
        let schema = format!("poststelle_bench_{:016x}", getrandom::u64().unwrap());
        match PgStore::connect(&url, Some(&schema)).await {
            Ok(pg) => {
                let tmp = tempfile::tempdir().unwrap();
                let store = AnyStore::Postgres(pg);
                let filled = fill(&store, a.submissions, a.envelope_kb, &xml).await;
                // What autovacuum does within a minute of such a fill (statistics, visibility
                // map): measured is a store in its steady state, not the minute after a bulk
                // load.
                analyze(&url, &schema).await;
                let rows = measure(store, &filled, a.runs, tmp.path()).await;
                over.extend(report("PostgreSQL", &filled, &a, &rows));
                if a.keep.is_some() {
                    println!("(PostgreSQL schema {schema} kept)");
                } else {
                    drop_schema(&url, &schema).await;
                }
            }
            Err(e) if std::env::var_os("CI").is_none() => {
                println!(
                    "\nPostgreSQL skipped: {e} ({})",
                    poststelle::store::display_address(&url)
                );
            }
            Err(e) => {
                println!("\nPostgreSQL: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    if over.is_empty() {
        println!("\nevery page within {} ms (median)", a.budget.as_millis());
        std::process::ExitCode::SUCCESS
    } else {
        println!("\nover budget: {}", over.join("; "));
        std::process::ExitCode::FAILURE
    }
}

async fn analyze(url: &str, schema: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to analyze");
    tokio::spawn(conn);
    // One statement each: VACUUM refuses the implicit transaction of a multi-statement batch.
    for table in ["submissions", "outbox"] {
        client
            .batch_execute(&format!("VACUUM ANALYZE {schema}.{table}"))
            .await
            .expect("vacuum analyze");
    }
}

async fn drop_schema(url: &str, schema: &str) {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect to drop the schema");
    tokio::spawn(conn);
    client
        .batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .expect("drop schema");
}
