//! The receive orchestration over a real SQLite store and an in-memory delivery service:
//! decisions are stored, then acknowledged exactly once; work resumes after a "crash".

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use poststelle::fitconnect::captured::CapturedSubmission;
use poststelle::fitconnect::destination::DestinationPolicy;
use poststelle::fitconnect::metadata::MetadataValidator;
use poststelle::fitconnect::set::{self, StaticKeys};
use poststelle::jose::{DecryptionKey, Jwk, KeyRing, SigningKey, base64url};
use poststelle::pipeline::{
    DeliveryError, DeliveryService, GrammarCache, Listed, Outcome, Pipeline, PipelineSettings,
    Posted,
};
use poststelle::store::{AckPolicy, SqliteStore, Store};
use poststelle::xoev::catalog::Catalog;
use poststelle::xoev::pack::{PackSources, discover};
use poststelle::xoev::pack_files::PackLimits;
use serde_json::Value;

use crate::pipeline_fixture::{Draft, ISSUER, capture, keys, repo, shared, xbau, xgewerbeanzeige};
use crate::sandbox_support;

/// A posted decision: (submission id, event URI, payload).
type Post = (String, String, Value);

/// An in-memory delivery service: lists undecided submissions, refuses a second decision.
#[derive(Default)]
struct Fake {
    submissions: Mutex<BTreeMap<String, CapturedSubmission>>,
    posts: Mutex<Vec<Post>>,
    fail_posts: Mutex<bool>,
    fail_list: Mutex<bool>,
}

impl Fake {
    fn add(&self, c: CapturedSubmission) -> String {
        let id = c.submission_id().expect("id").to_owned();
        self.submissions.lock().expect("lock").insert(id.clone(), c);
        id
    }

    fn decided(&self, id: &str) -> bool {
        self.posts
            .lock()
            .expect("lock")
            .iter()
            .any(|(s, _, _)| s == id)
    }

    fn posts(&self) -> Vec<Post> {
        self.posts.lock().expect("lock").clone()
    }
}

impl DeliveryService for Fake {
    async fn list(&self) -> Result<Vec<Listed>, DeliveryError> {
        if *self.fail_list.lock().expect("lock") {
            return Err(DeliveryError("connection refused".into()));
        }
        let all: Vec<(String, String)> = self
            .submissions
            .lock()
            .expect("lock")
            .iter()
            .map(|(id, c)| (id.clone(), c.case_id().expect("case").to_owned()))
            .collect();
        Ok(all
            .into_iter()
            .filter(|(id, _)| !self.decided(id))
            .map(|(submission_id, case_id)| Listed {
                submission_id,
                case_id,
            })
            .collect())
    }

    async fn download(&self, id: &str) -> Result<CapturedSubmission, DeliveryError> {
        self.submissions
            .lock()
            .expect("lock")
            .get(id)
            .cloned()
            .ok_or_else(|| DeliveryError("404".into()))
    }

    async fn post_event(&self, _case: &str, token: &str) -> Result<Posted, DeliveryError> {
        if *self.fail_posts.lock().expect("lock") {
            return Err(DeliveryError("503".into()));
        }
        let payload = token.split('.').nth(1).expect("payload");
        let claims: Value =
            serde_json::from_slice(&base64url::decode(payload).expect("b64")).expect("json");
        let sid = claims["sub"]
            .as_str()
            .and_then(|s| s.strip_prefix("submission:"))
            .expect("sub")
            .to_owned();
        if self.decided(&sid) {
            return Ok(Posted::AlreadyDecided);
        }
        let (event, payload) = claims["events"]
            .as_object()
            .and_then(|e| e.iter().next())
            .map(|(k, v)| (k.clone(), v.clone()))
            .expect("event");
        self.posts.lock().expect("lock").push((sid, event, payload));
        Ok(Posted::Accepted)
    }
}

fn jwk(path: &std::path::Path) -> Jwk {
    Jwk::from_json(&std::fs::read_to_string(path).expect("read")).expect("jwk")
}

pub(crate) fn settings(destination_id: &str, policy: AckPolicy) -> PipelineSettings {
    let k = sandbox_support::keys();
    let mut decryption = KeyRing::new();
    decryption
        .insert(DecryptionKey::from_jwk(&jwk(&k.encryption)).expect("key"))
        .expect("insert");
    let service = &keys().service;
    let sources = PackSources {
        packs_dir: repo("target/no-installed-packs"),
        shared_dir: Some(shared()),
        repo_dir: Some(repo("")),
    };
    let (registry, _) = discover(Catalog::embedded(), &sources, &PackLimits::default());
    PipelineSettings {
        destination: DestinationPolicy::open(destination_id),
        decryption,
        set_keys: StaticKeys {
            delivery_service: vec![(
                ISSUER.to_owned(),
                service.kid().to_owned(),
                service.public_key().clone(),
            )],
            destinations: vec![],
        },
        signing: SigningKey::from_jwk(&jwk(&k.signing)).expect("signing"),
        set_payload_schema: set::PayloadSchema::default(),
        metadata: MetadataValidator::new(),
        registry,
        grammars: GrammarCache::default(),
        rules: poststelle::xoev::rules::RulesCache::default(),
        business_rules: poststelle::xoev::rules::BusinessRules::default(),
        limits: poststelle::Limits::default(),
        ack_policy: policy,
        router: Arc::new(|_| vec!["drop".to_owned()]),
        concurrency: 2,
        metrics: None,
        // Unnamed files only: sharing the system's directory between tests is safe.
        spool_dir: std::env::temp_dir(),
    }
}

async fn setup() -> (tempfile::TempDir, SqliteStore, String, Arc<Fake>) {
    let dir = tempfile::tempdir().expect("tmp");
    let store = SqliteStore::open(dir.path().join("db.sqlite"))
        .await
        .expect("store");
    (
        dir,
        store,
        uuid::Uuid::new_v4().to_string(),
        Arc::new(Fake::default()),
    )
}

fn draft_for(dest: &str, data: &[u8], n: usize) -> Draft {
    let mut d = Draft::new(data, n);
    d.destination_id = dest.to_owned();
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poll_stores_then_acknowledges_each_decision_once() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let (_dir, store, dest, fake) = setup().await;
    let d1 = draft_for(&dest, &xgewerbeanzeige(), 2);
    let s1 = d1.seal();
    let a = fake.add(capture(&d1, &s1));
    let d2 = draft_for(&dest, &xbau(), 0);
    let b = fake.add(capture(&d2, &d2.seal()));
    let mut d3 = draft_for(&dest, &xgewerbeanzeige(), 0);
    d3.metadata["contentStructure"]["data"]["hash"]["content"] = "0".repeat(128).into();
    let c = fake.add(capture(&d3, &d3.seal()));

    let p = Pipeline::new(
        store.clone(),
        Arc::clone(&fake),
        settings(&dest, AckPolicy::AfterStore),
    );
    let outcomes: BTreeMap<String, Outcome> =
        p.poll_once().await.expect("poll").into_iter().collect();
    assert!(matches!(&outcomes[&a], Outcome::Accepted { upstreams, .. } if upstreams == &["drop"]));
    assert!(
        matches!(&outcomes[&b], Outcome::Accepted { message: Some(m), .. } if m.starts_with("XBau 2.6"))
    );
    assert!(
        matches!(&outcomes[&c], Outcome::Rejected { problems } if problems[0].type_uri.ends_with("/hash-mismatch"))
    );

    let posts = fake.posts();
    assert_eq!(posts.len(), 3, "{posts:?}");
    let by_id: BTreeMap<_, _> = posts
        .iter()
        .map(|(s, e, p)| (s.clone(), (e.clone(), p.clone())))
        .collect();
    assert_eq!(by_id[&a].0, set::ACCEPT_SUBMISSION);
    // The accept SET carries the tags of the submit event.
    assert_eq!(
        by_id[&a].1["authenticationTags"],
        serde_json::to_value(&s1.tags).expect("json")
    );
    assert_eq!(by_id[&c].0, set::REJECT_SUBMISSION);
    assert_eq!(
        by_id[&c].1["problems"][0]["instance"], "data",
        "{:?}",
        by_id[&c]
    );

    // Stored: the envelope, attachments and one job per accepted submission.
    let view = store.submission(&a).await.expect("view").expect("stored");
    assert!(format!("{view:?}").contains(&d1.attachments[0].0));
    assert_eq!(store.pending_acks(10).await.expect("acks"), vec![]);

    // A second round finds nothing new and posts nothing again.
    assert!(p.poll_once().await.expect("poll").is_empty());
    assert_eq!(fake.posts().len(), 3);
    assert_eq!(p.counts().acknowledged, 3);
}

/// Stores one submission at `path` while the delivery service refuses posts, so its ack stays
/// due; returns its id. The store is closed afterwards (the "crash").
async fn stored_with_ack_pending(path: &std::path::Path, dest: &str, fake: &Arc<Fake>) -> String {
    let d = draft_for(dest, &xgewerbeanzeige(), 1);
    let id = fake.add(capture(&d, &d.seal()));
    *fake.fail_posts.lock().expect("lock") = true;
    let store = SqliteStore::open(path).await.expect("store");
    let p = Pipeline::new(
        store.clone(),
        Arc::clone(fake),
        settings(dest, AckPolicy::AfterStore),
    );
    p.poll_once().await.expect("poll");
    // Stored, but the delivery service was down: the ack is still due.
    assert_eq!(store.pending_acks(10).await.expect("acks").len(), 1);
    assert!(fake.posts().is_empty());
    *fake.fail_posts.lock().expect("lock") = false;
    id
}

/// A trigger (a callback) may name any id: one the delivery service does not know is not
/// recorded, so such ids cannot fill the store.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_that_cannot_be_downloaded_leaves_nothing_in_the_store() {
    let (_dir, store, dest, fake) = setup().await;
    let p = Pipeline::new(
        store.clone(),
        Arc::clone(&fake),
        settings(&dest, AckPolicy::AfterStore),
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    let outcomes = p.process_all(vec![unknown.clone()]).await;
    assert!(
        outcomes.is_empty(),
        "a failed download has no outcome: {outcomes:?}"
    );
    assert_eq!(
        store
            .record_seen(&unknown, poststelle::store::Timestamp::now())
            .await
            .expect("seen"),
        poststelle::store::Seen::New,
        "the failed download recorded the id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unsent_ack_is_sent_once_after_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("db.sqlite");
    let dest = uuid::Uuid::new_v4().to_string();
    let fake = Arc::new(Fake::default());
    let id = stored_with_ack_pending(&path, &dest, &fake).await;
    let store = SqliteStore::open(&path).await.expect("reopen");
    let p = Pipeline::new(
        store.clone(),
        Arc::clone(&fake),
        settings(&dest, AckPolicy::AfterStore),
    );
    let outcomes = p.poll_once().await.expect("poll");
    assert_eq!(outcomes, vec![(id.clone(), Outcome::AlreadyStored)]);
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.posts()[0].1, set::ACCEPT_SUBMISSION);
    assert!(store.pending_acks(10).await.expect("acks").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_forward_holds_the_ack_until_delivery() {
    let (_dir, store, dest, fake) = setup().await;
    let d = draft_for(&dest, &xgewerbeanzeige(), 0);
    fake.add(capture(&d, &d.seal()));
    let p = Pipeline::new(
        store.clone(),
        Arc::clone(&fake),
        settings(&dest, AckPolicy::AfterForward),
    );
    p.poll_once().await.expect("poll");
    assert!(fake.posts().is_empty(), "not forwarded yet: no ack");
    let now = poststelle::store::Timestamp::now();
    let jobs = store
        .claim_jobs("w", now, std::time::Duration::from_secs(30), 10)
        .await
        .expect("claim");
    assert_eq!(jobs.len(), 1);
    store
        .complete_job(jobs[0].job_id, now)
        .await
        .expect("complete");
    p.flush_acks().await.expect("flush");
    assert_eq!(fake.posts().len(), 1);
}

/// A crash between posting the decision and recording it: after the restart the submission is
/// no longer listed (it is decided), so the case comes from the stored submit SET; the post is
/// answered "already decided" and the ack is closed, without a second decision.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_posted_but_unrecorded_is_closed_after_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("db.sqlite");
    let dest = uuid::Uuid::new_v4().to_string();
    let fake = Arc::new(Fake::default());
    let id = stored_with_ack_pending(&path, &dest, &fake).await;
    // The post reached the delivery service just before the crash.
    fake.posts.lock().expect("lock").push((
        id.clone(),
        set::ACCEPT_SUBMISSION.to_owned(),
        Value::Null,
    ));
    assert!(fake.list().await.expect("list").is_empty());
    let store = SqliteStore::open(&path).await.expect("reopen");
    let p = Pipeline::new(
        store.clone(),
        Arc::clone(&fake),
        settings(&dest, AckPolicy::AfterStore),
    );
    assert!(p.poll_once().await.expect("poll").is_empty());
    assert!(
        store.pending_acks(10).await.expect("acks").is_empty(),
        "the ack is recorded"
    );
    assert_eq!(
        fake.posts().len(),
        1,
        "one decision at the delivery service"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_poll_rounds() {
    use poststelle::server::Readiness as _;
    let (_dir, store, dest, fake) = setup().await;
    let p = Pipeline::new(
        store,
        Arc::clone(&fake),
        settings(&dest, AckPolicy::AfterStore),
    );
    assert!(!p.is_ready(), "not ready before a first round");
    p.poll_once().await.expect("round");
    assert!(p.is_ready());
    assert_eq!(p.health().rounds_ok, 1);

    *fake.fail_list.lock().expect("lock") = true;
    for round in 1..=poststelle::pipeline::UNREADY_AFTER_FAILED_ROUNDS {
        assert!(p.poll_once().await.is_err());
        assert_eq!(p.health().failed_in_a_row, round);
        assert_eq!(
            p.is_ready(),
            round < poststelle::pipeline::UNREADY_AFTER_FAILED_ROUNDS,
            "after {round} failed rounds"
        );
    }
    assert!(
        p.health()
            .last_error
            .is_some_and(|e| e.contains("connection refused")),
        "{:?}",
        p.health()
    );

    *fake.fail_list.lock().expect("lock") = false;
    p.poll_once().await.expect("round");
    assert!(p.is_ready(), "ready again after a good round");
    assert_eq!(p.health().failed_in_a_row, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_key_marked_for_encryption_does_not_verify_sets() {
    let (_dir, store, dest, fake) = setup().await;
    let d = draft_for(&dest, &xgewerbeanzeige(), 0);
    let mut c = capture(&d, &d.seal());
    // The delivery service's signing key, published as an encryption key: not usable for SETs.
    let key = &mut c.service_jwks["keys"][0];
    key["use"] = "enc".into();
    key["alg"] = "RSA-OAEP-256".into();
    key["key_ops"] = serde_json::json!(["wrapKey"]);
    let id = fake.add(c);
    let mut s = settings(&dest, AckPolicy::AfterStore);
    s.set_keys = StaticKeys::default(); // as `serve`: only the JWKS names service keys
    let p = Pipeline::new(store.clone(), Arc::clone(&fake), s);
    let outcomes: BTreeMap<String, Outcome> =
        p.poll_once().await.expect("poll").into_iter().collect();
    assert!(
        matches!(&outcomes[&id], Outcome::Deferred { reason } if reason.contains("JWKS")),
        "{:?}",
        outcomes[&id]
    );
    assert!(fake.posts().is_empty(), "nothing is acknowledged");
}

/// Every byte of the files a SQLite store at `db` consists of (database, WAL, blobs).
fn store_bytes(db: &std::path::Path) -> Vec<u8> {
    fn walk(dir: &std::path::Path, out: &mut Vec<u8>) {
        for entry in std::fs::read_dir(dir).expect("dir").flatten() {
            if entry.path().is_dir() {
                walk(&entry.path(), out);
            } else {
                out.extend(std::fs::read(entry.path()).expect("read"));
            }
        }
    }
    let mut out = Vec::new();
    walk(db.parent().expect("dir"), &mut out);
    out
}

/// Issue 13, scope 5: a rejected submission leaves no plaintext in the store — not the
/// Fachdaten, not the attachments, not the values a problem is about — only the evidence
/// (decision, problems naming places, hashes, times). Rejected after decryption (a wrong data
/// hash) and after validation (a schema violation); an accepted one shows the search works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_submissions_leave_no_plaintext_in_the_store() {
    const MARKER: &str = "Geheimrat-Q7Z";
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let (dir, store, dest, fake) = setup().await;
    let xml = String::from_utf8(xgewerbeanzeige()).expect("utf-8");
    assert!(xml.contains("<xga:familienname>Mustermann<"));
    let named = xml.replace(">Mustermann<", &format!(">{MARKER}<"));
    let draft = |data: &str| {
        let mut d = draft_for(&dest, data.as_bytes(), 2);
        for (i, (_, content)) in d.attachments.iter_mut().enumerate() {
            *content = format!("%PDF-1.7 Anlage {i} {MARKER}").into_bytes();
        }
        d.metadata = d.correct_metadata();
        d
    };
    let mut wrong_hash = draft(&named);
    wrong_hash.metadata["contentStructure"]["data"]["hash"]["content"] = "0".repeat(128).into();
    let wrong_hash = fake.add(capture(&wrong_hash, &wrong_hash.seal()));
    let invalid = draft(&named.replace(
        &format!("<xga:familienname>{MARKER}</xga:familienname>"),
        &format!("<xga:unbekannt>{MARKER}</xga:unbekannt>"),
    ));
    let invalid = fake.add(capture(&invalid, &invalid.seal()));
    let p = Pipeline::new(
        store.clone(),
        Arc::clone(&fake),
        settings(&dest, AckPolicy::AfterStore),
    );
    let outcomes: BTreeMap<String, Outcome> =
        p.poll_once().await.expect("poll").into_iter().collect();
    for id in [&wrong_hash, &invalid] {
        let Outcome::Rejected { problems } = &outcomes[id] else {
            panic!("{id}: {:?}", outcomes[id]);
        };
        assert!(!format!("{problems:?}").contains(MARKER), "{problems:?}");
        let view = store.submission(id).await.expect("view").expect("stored");
        assert_eq!(view.envelope, None);
        assert!(view.attachments.is_empty(), "{:?}", view.attachments);
        assert!(view.jobs.is_empty());
        assert!(view.evidence.is_some(), "the evidence is kept");
    }
    let db = dir.path().join("db.sqlite");
    let bytes = store_bytes(&db);
    assert!(
        !bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
        "plaintext of a rejected submission in the store"
    );

    // The control: an accepted submission's payload is found by the same search.
    let accepted = draft(&named);
    let accepted = fake.add(capture(&accepted, &accepted.seal()));
    let outcomes: BTreeMap<String, Outcome> =
        p.poll_once().await.expect("poll").into_iter().collect();
    assert!(matches!(outcomes[&accepted], Outcome::Accepted { .. }));
    let bytes = store_bytes(&db);
    assert!(bytes.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()));
}

/// Issue 16: the schema pack's business rules (Schematron) on an XSD-valid XBau message that
/// breaks two of them (sch-stat-001, sch-stat-002, as SaxonC finds): `reject` rejects it with
/// `schema-violation` at `data` naming the rules and where; `annotate` accepts it with the
/// findings in the envelope (no instance values); `off` accepts it without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_rules_reject_annotate_or_stay_off() {
    use poststelle::xoev::rules::BusinessRules;
    let Some(shared) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let sample = std::fs::read(
        shared.join("xoev/samples/xbau/fv-generated/statistik.bauabgang.0426_sample.xml"),
    )
    .expect("sample");
    // A value of the message that must not reach the envelope's findings or the problem.
    let value = "urn:de:bund:destatis:bfs:intern:statistik:nrw";
    for mode in [
        BusinessRules::Reject,
        BusinessRules::Annotate,
        BusinessRules::Off,
    ] {
        let (_dir, store, dest, fake) = setup().await;
        let d = draft_for(&dest, &sample, 0);
        let id = fake.add(capture(&d, &d.seal()));
        let mut s = settings(&dest, AckPolicy::AfterStore);
        s.business_rules = mode;
        let p = Pipeline::new(store.clone(), Arc::clone(&fake), s);
        let outcomes: BTreeMap<String, Outcome> =
            p.poll_once().await.expect("poll").into_iter().collect();
        let posts = fake.posts();
        assert_eq!(posts.len(), 1, "{mode:?}: {posts:?}");
        match mode {
            BusinessRules::Reject => {
                let Outcome::Rejected { problems } = &outcomes[&id] else {
                    panic!("reject mode must reject: {:?}", outcomes[&id]);
                };
                assert_eq!(problems.len(), 1, "{problems:?}");
                let problem = &problems[0];
                assert!(
                    problem.type_uri.ends_with("/schema-violation"),
                    "{problem:?}"
                );
                assert_eq!(problem.instance, "data");
                for place in [
                    "sch-stat-001 /xbau:statistik.bauabgang.0426[1]/",
                    "sch-stat-002 /xbau:statistik.bauabgang.0426[1]/",
                    "(31:3)",
                ] {
                    assert!(problem.detail.contains(place), "{place}: {problem:?}");
                }
                assert!(!problem.detail.contains(value));
                assert_eq!(posts[0].1, set::REJECT_SUBMISSION);
                assert_eq!(posts[0].2["problems"][0]["detail"], problem.detail.as_str());
            }
            BusinessRules::Annotate | BusinessRules::Off => {
                let annotate = mode == BusinessRules::Annotate;
                let Outcome::Accepted { rule_findings, .. } = &outcomes[&id] else {
                    panic!("{mode:?} must accept: {:?}", outcomes[&id]);
                };
                // Two Schematron errors, two code-list warnings (the DVDV directory list the
                // sample names is not shared).
                assert_eq!(*rule_findings, annotate.then_some(4));
                assert_eq!(posts[0].1, set::ACCEPT_SUBMISSION);
                let view = store.submission(&id).await.expect("view").expect("stored");
                let envelope: Value =
                    serde_json::from_str(view.envelope.as_deref().expect("envelope"))
                        .expect("json");
                let rules = &envelope["businessRules"];
                if !annotate {
                    assert!(rules.is_null(), "{rules}");
                    continue;
                }
                let ids: Vec<&str> = rules["findings"]
                    .as_array()
                    .expect("findings")
                    .iter()
                    .map(|f| f["rule"].as_str().expect("rule"))
                    .collect();
                assert_eq!(
                    ids,
                    [
                        "sch-stat-001",
                        "sch-stat-002",
                        "codelist-unknown",
                        "codelist-unknown"
                    ]
                );
                assert_eq!(rules["findings"][2]["kind"], "code-list");
                assert_eq!(rules["findings"][2]["severity"], "warning");
                let f = &rules["findings"][0];
                assert_eq!(f["severity"], "error");
                assert_eq!(f["kind"], "failed-assert");
                assert_eq!(f["line"], 31);
                assert!(f["path"].as_str().expect("path").starts_with("/xbau:"));
                assert_eq!(rules["truncated"], false);
                assert!(!rules.to_string().contains(value), "{rules}");
            }
        }
    }
    // `[limits.schematron]` reaches the check: one finding kept, the report says truncated.
    let (_dir, store, dest, fake) = setup().await;
    let d = draft_for(&dest, &sample, 0);
    let id = fake.add(capture(&d, &d.seal()));
    let mut s = settings(&dest, AckPolicy::AfterStore);
    s.business_rules = BusinessRules::Annotate;
    let mut schematron = poststelle::config::SchematronLimits::default();
    schematron.max_findings = 1;
    s.limits.schematron = schematron;
    let p = Pipeline::new(store.clone(), Arc::clone(&fake), s);
    p.poll_once().await.expect("poll");
    let view = store.submission(&id).await.expect("view").expect("stored");
    let envelope: Value =
        serde_json::from_str(view.envelope.as_deref().expect("envelope")).expect("json");
    let rules = &envelope["businessRules"];
    assert_eq!(
        rules["findings"].as_array().map(Vec::len),
        Some(1),
        "{rules}"
    );
    assert_eq!(rules["truncated"], true, "{rules}");

    // `[validation.rule_severity]` reaches the check: with both rules made warnings, reject
    // mode accepts, and the envelope shows the changed severities; making the unknown code
    // list an error rejects again.
    use poststelle::schematron::Severity;
    for (overrides, accepted) in [
        (
            vec![
                ("sch-stat-001", Severity::Warning),
                ("sch-stat-002", Severity::Warning),
            ],
            true,
        ),
        (
            vec![
                ("sch-stat-001", Severity::Warning),
                ("sch-stat-002", Severity::Warning),
                ("codelist-unknown", Severity::Error),
            ],
            false,
        ),
    ] {
        let (_dir, store, dest, fake) = setup().await;
        let d = draft_for(&dest, &sample, 0);
        let id = fake.add(capture(&d, &d.seal()));
        let mut s = settings(&dest, AckPolicy::AfterStore);
        s.business_rules = BusinessRules::Reject;
        s.rules = poststelle::xoev::rules::RulesCache::with_overrides(
            overrides
                .iter()
                .map(|(r, s)| ((*r).to_owned(), *s))
                .collect(),
        );
        let p = Pipeline::new(store.clone(), Arc::clone(&fake), s);
        let outcomes: BTreeMap<String, Outcome> =
            p.poll_once().await.expect("poll").into_iter().collect();
        match (&outcomes[&id], accepted) {
            (Outcome::Accepted { .. }, true) => {
                let view = store.submission(&id).await.expect("view").expect("stored");
                let envelope: Value =
                    serde_json::from_str(view.envelope.as_deref().expect("envelope"))
                        .expect("json");
                assert_eq!(
                    envelope["businessRules"]["findings"][0]["severity"],
                    "warning"
                );
            }
            (Outcome::Rejected { problems }, false) => {
                assert!(
                    problems[0].detail.contains("codelist-unknown"),
                    "{problems:?}"
                );
            }
            (other, _) => panic!("{overrides:?}: {other:?}"),
        }
    }
}
