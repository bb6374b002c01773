//! Issue 6, acceptance 1: end to end through the real sandbox (in process, on loopback) → the
//! gateway pipeline (SQLite store, FIT-Connect client) → an HTTP upstream.
//!
//! A sender posts valid XBau (official pack from `../shared`) and XGewerbeanzeige submissions
//! and one submission per reject cause through the sandbox's Submission API. The decisions are
//! read back from the sandbox's case event logs — not from the gateway's own account: each
//! reject carries exactly its FIT-Connect problem type(s) and instance(s), every submission is
//! decided exactly once, only accepted ones reach the upstream (envelope with the transformed
//! data, plus their attachments), each once.
//!
//! Deviating submissions are built with `pipeline_fixture::Draft` (change one thing, seal). A
//! tag mismatch cannot be sent — the sandbox computes the tags from what it receives — so that
//! case uses the sandbox's `[dangerous] allow_replacing_parts` fault injection.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use poststelle::fitconnect::captured::ApiProfile;
use poststelle::fitconnect::set;
use poststelle::forward::{ForwardPolicy, Forwarder, HttpUpstream, RouteTable, UpstreamSpec};
use poststelle::jose::base64url;
use poststelle::pipeline::{ClientDelivery, Pipeline, PipelineSettings};
use poststelle::sandbox::{Part, ReplaceError, StoreError};
use poststelle::store::{AckPolicy, AnyStore, SqliteStore};
use serde_json::{Value, json};

use crate::fitconnect_client::subscriber;
use crate::forward_support::{Received, Sink, TEST_TIMEOUT};
use crate::pipeline_fixture::{Draft, Sealed, xbau, xgewerbeanzeige};
use crate::pipeline_run::settings;
use crate::sandbox_support::{Env, encrypt, start, start_with};

/// Prefix of the FIT-Connect problem types.
const P: &str = "https://schema.fitko.de/fit-connect/events/problems/";

/// The upstream's name in the route table, and the path the sink receives on.
pub(crate) const UPSTREAM: &str = "fv";

/// The gateway under test: the pipeline over the sandbox, and the forwarder, on one store.
pub(crate) struct Gateway {
    pub(crate) pipeline: Pipeline<AnyStore, ClientDelivery>,
    pub(crate) forwarder: Forwarder<AnyStore>,
}

/// A gateway for the sandbox's destination on `store`, forwarding everything to `sink`.
pub(crate) fn gateway(env: &Env, store: AnyStore, sink: &Sink) -> Gateway {
    gateway_with(env, store, sink, |_| {})
}

/// [`gateway`] with its pipeline settings changed by `tweak` first.
pub(crate) fn gateway_with(
    env: &Env,
    store: AnyStore,
    sink: &Sink,
    tweak: impl FnOnce(&mut PipelineSettings),
) -> Gateway {
    let mut s = settings(&env.destination, AckPolicy::AfterStore);
    s.router = Arc::new(|_| vec![UPSTREAM.to_owned()]);
    tweak(&mut s);
    let delivery = ClientDelivery {
        client: subscriber(env, ApiProfile::V1),
        destination_id: env.destination.clone(),
    };
    let table = RouteTable::single(UpstreamSpec::http(
        UPSTREAM,
        HttpUpstream::new(sink.url("/in")),
    ));
    let policy = ForwardPolicy {
        concurrency: 4,
        poll_interval: Duration::from_millis(25),
        ..ForwardPolicy::default()
    };
    Gateway {
        pipeline: Pipeline::new(store.clone(), delivery, s),
        forwarder: Forwarder::new(store, Arc::new(table), policy).expect("forwarder"),
    }
}

/// A submission as the sandbox knows it.
#[derive(Debug, Clone)]
pub(crate) struct Sent {
    pub(crate) submission_id: String,
    pub(crate) case_id: String,
}

/// Sends a sealed draft as a sender would (v1): create with `announce` as the announced
/// attachments, upload those, submit metadata and data.
pub(crate) async fn send(env: &Env, token: &str, sealed: &Sealed, announce: &[String]) -> Sent {
    let (submission_id, case_id) = env.created(token, announce).await;
    for id in announce {
        let resp = env
            .upload(token, &submission_id, id, &sealed.attachments[id])
            .await;
        assert_eq!(resp.status(), 204, "upload {id}");
    }
    let mut body = json!({ "encryptedMetadata": sealed.metadata });
    if let Some(data) = &sealed.data {
        body["encryptedData"] = json!(data);
    }
    let resp = env.submit("v1", token, &submission_id, &body).await;
    assert_eq!(resp.status(), 200, "submit");
    Sent {
        submission_id,
        case_id,
    }
}

/// Sends a draft with all its attachments announced and uploaded; returns the seal too.
pub(crate) async fn send_draft(env: &Env, token: &str, draft: &Draft) -> (Sent, Sealed) {
    let sealed = draft.seal();
    let ids: Vec<String> = draft.attachments.iter().map(|(id, _)| id.clone()).collect();
    (send(env, token, &sealed, &ids).await, sealed)
}

/// The claims of a compact JWS (not verified: the sandbox verified every posted SET).
pub(crate) fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWS payload");
    serde_json::from_slice(&base64url::decode(payload).expect("base64url")).expect("JSON claims")
}

/// A decision the destination posted to a case's event log.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Posted {
    /// `accept-submission` with its authenticationTags.
    Accept(Value),
    /// `reject-submission`: (problem type suffix, instance) pairs, in order.
    Reject(Vec<(String, String)>),
}

/// Every accept/reject SET of the case's event log at the sandbox, oldest first.
pub(crate) async fn decisions(env: &Env, sent: &Sent) -> Vec<Posted> {
    let events = subscriber(env, ApiProfile::V1)
        .events(&sent.case_id)
        .await
        .expect("event log");
    let log = events["eventLog"].as_array().expect("eventLog");
    let mut out = Vec::new();
    for token in log {
        let c = claims(token.as_str().expect("SET"));
        if c["iss"] != env.destination.as_str()
            || c["sub"] != format!("submission:{}", sent.submission_id).as_str()
        {
            continue;
        }
        if let Some(p) = c["events"].get(set::ACCEPT_SUBMISSION) {
            out.push(Posted::Accept(p["authenticationTags"].clone()));
        } else if let Some(p) = c["events"].get(set::REJECT_SUBMISSION) {
            let problems = p["problems"].as_array().expect("problems");
            out.push(Posted::Reject(
                problems
                    .iter()
                    .map(|p| {
                        let t = p["type"].as_str().expect("type");
                        (
                            t.strip_prefix(P).unwrap_or(t).to_owned(),
                            p["instance"].as_str().expect("instance").to_owned(),
                        )
                    })
                    .collect(),
            ));
        }
    }
    out
}

/// The envelope POSTs the upstream answered with 2xx, by Idempotency-Key.
pub(crate) fn envelopes(sink: &Sink) -> BTreeMap<String, Vec<Received>> {
    let mut by_key: BTreeMap<String, Vec<Received>> = BTreeMap::new();
    for r in sink.received() {
        if r.method == "POST" && (200..300).contains(&r.status) {
            let key = r.idempotency_key.clone().expect("Idempotency-Key");
            by_key.entry(key).or_default().push(r);
        }
    }
    by_key
}

/// What the sandbox must show for one submission.
enum Expect {
    /// Accepted with these tags; the upstream gets the envelope of this message type.
    Accepted {
        message_type: &'static str,
        tags: Value,
        attachments: usize,
    },
    /// Rejected with exactly these (type suffix, instance) problems.
    Rejected(Vec<(String, String)>),
}

fn problem(kind: &str, instance: &str) -> Vec<(String, String)> {
    vec![(kind.to_owned(), instance.to_owned())]
}

/// Replaces the ciphertext's first character: the JWE stays well-formed (the sandbox takes it,
/// the tag is unchanged) but AES-GCM authentication fails on decryption.
fn undecryptable(jwe: &str) -> String {
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let ciphertext = &mut parts[3];
    let first = if ciphertext.starts_with('A') {
        "B"
    } else {
        "A"
    };
    ciphertext.replace_range(0..1, first);
    parts.join(".")
}

/// One submission per case; returns (label, sent, expectation).
async fn send_all(env: &Env) -> Vec<(&'static str, Sent, Expect)> {
    let token = env.sender().await;
    let mut all = Vec::new();
    let accepted = |message_type, sealed: &Sealed, attachments| Expect::Accepted {
        message_type,
        tags: serde_json::to_value(&sealed.tags).expect("tags"),
        attachments,
    };

    let d = Draft::new(&xbau(), 2);
    let (sent, sealed) = send_draft(env, &token, &d).await;
    // Two attachments plus the base64 paragraph the transform moves out of the XML.
    let e = accepted("baugenehmigung.antrag.0200", &sealed, 3);
    all.push(("valid XBau 2.6 (official pack)", sent, e));

    let d = Draft::new(&xgewerbeanzeige(), 1);
    let (sent, sealed) = send_draft(env, &token, &d).await;
    let e = accepted("sta.gewerbemeldung.0100", &sealed, 1);
    all.push(("valid XGewerbeanzeige", sent, e));

    let mut d = Draft::new(&xgewerbeanzeige(), 0);
    d.metadata["contentStructure"]["data"]["hash"]["content"] = json!("0".repeat(128));
    let (sent, _) = send_draft(env, &token, &d).await;
    let e = Expect::Rejected(problem("hash-mismatch", "data"));
    all.push(("bad hash of the data", sent, e));

    let mut d = Draft::new(&xgewerbeanzeige(), 1);
    let aid = d.attachments[0].0.clone();
    d.attachments[0].1 = b"%PDF-1.7 another file".to_vec();
    let (sent, _) = send_draft(env, &token, &d).await;
    let e = Expect::Rejected(problem("hash-mismatch", &format!("attachment:{aid}")));
    all.push(("bad hash of an attachment", sent, e));

    // The sandbox records the tags of what it received; swapping the stored attachment for
    // another valid encryption of the same file afterwards makes the tags differ.
    let d = Draft::new(&xgewerbeanzeige(), 1);
    let aid = d.attachments[0].0.clone();
    let (sent, _) = send_draft(env, &token, &d).await;
    let other = encrypt(&d.attachments[0].1, Some("application/pdf"));
    env.sandbox
        .dangerous_replace_part(&sent.submission_id, &Part::Attachment(aid.clone()), &other)
        .expect("replace the stored attachment");
    let e = Expect::Rejected(problem(
        "incorrect-authentication-tag",
        &format!("attachment:{aid}"),
    ));
    all.push(("authentication tag mismatch", sent, e));

    let d = Draft::new(&xgewerbeanzeige(), 1);
    let aid = d.attachments[0].0.clone();
    let mut sealed = d.seal();
    let broken = undecryptable(&sealed.attachments[&aid]);
    sealed.attachments.insert(aid.clone(), broken);
    let sent = send(env, &token, &sealed, std::slice::from_ref(&aid)).await;
    let e = Expect::Rejected(problem("encryption-issue", &format!("attachment:{aid}")));
    all.push(("undecryptable attachment", sent, e));

    let mut d = Draft::new(&xgewerbeanzeige(), 0);
    d.metadata["contentStructure"]["data"]["hash"]["type"] = json!("md5");
    let (sent, _) = send_draft(env, &token, &d).await;
    let e = Expect::Rejected(problem("schema-violation", "metadata"));
    all.push(("metadata schema violation", sent, e));

    let d = Draft::new(
        b"<?xml version=\"1.0\"?><x:antrag xmlns:x=\"urn:example:unknown\"/>",
        0,
    );
    let (sent, _) = send_draft(env, &token, &d).await;
    let e = Expect::Rejected(problem("unsupported-schema", "data"));
    all.push(("unsupported data schema (unknown XML)", sent, e));

    let mut d = Draft::new(br#"{"antrag": 1}"#, 0);
    d.metadata["contentStructure"]["data"]["submissionSchema"]["mimeType"] =
        json!("application/json");
    let (sent, _) = send_draft(env, &token, &d).await;
    let e = Expect::Rejected(problem("unsupported-schema", "metadata"));
    all.push(("unsupported data schema (JSON)", sent, e));

    let xml = String::from_utf8(xbau()).expect("UTF-8");
    let invalid = xml.replacen(
        "<erstellungszeitpunkt>2026-04-14T08:30:00+02:00</erstellungszeitpunkt>",
        "<erstellungszeitpunkt>gestern</erstellungszeitpunkt>",
        1,
    );
    assert_ne!(invalid, xml, "the XBau example has this timestamp");
    let d = Draft::new(invalid.as_bytes(), 0);
    let (sent, _) = send_draft(env, &token, &d).await;
    let e = Expect::Rejected(problem("schema-violation", "data"));
    all.push(("XSD-invalid XBau data", sent, e));

    // The metadata list two attachments; only the first is announced and uploaded.
    let d = Draft::new(&xgewerbeanzeige(), 2);
    let sealed = d.seal();
    let sent = send(env, &token, &sealed, &[d.attachments[0].0.clone()]).await;
    let e = Expect::Rejected(problem("missing-attachments", "submission"));
    all.push(("missing attachment", sent, e));

    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_cause_is_rejected_at_the_sandbox_and_valid_ones_reach_the_upstream() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    tokio::time::timeout(TEST_TIMEOUT, async {
        let env = start_with(|c| c.dangerous.allow_replacing_parts = true).await;
        let sink = Sink::start().await;
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path().join("gateway.sqlite3"))
            .await
            .expect("store");
        let gw = gateway(&env, AnyStore::Sqlite(store), &sink);
        let cases = send_all(&env).await;

        let outcomes = gw.pipeline.poll_once().await.expect("poll");
        assert_eq!(outcomes.len(), cases.len(), "{outcomes:?}");
        let report = gw.forwarder.deliver_due_once().await.expect("forward");
        assert_eq!((report.claimed, report.delivered), (2, 2), "{report:?}");
        // A second round finds nothing to decide and nothing to deliver.
        assert!(gw.pipeline.poll_once().await.expect("poll").is_empty());
        let report = gw.forwarder.deliver_due_once().await.expect("forward");
        assert_eq!(report.claimed, 0, "{report:?}");

        let delivered = envelopes(&sink);
        let puts: Vec<String> = sink
            .received()
            .into_iter()
            .filter(|r| r.method == "PUT")
            .map(|r| r.path)
            .collect();
        let mut failures = Vec::new();
        for (label, sent, expect) in &cases {
            let sid = &sent.submission_id;
            let posted = decisions(&env, sent).await;
            let uploads = puts
                .iter()
                .filter(|p| p.starts_with(&format!("/in/{sid}/attachments/")))
                .count();
            match expect {
                Expect::Rejected(problems) => {
                    if posted != [Posted::Reject(problems.clone())] {
                        failures.push(format!("{label}: posted {posted:?}, want {problems:?}"));
                    }
                    if delivered.contains_key(sid) || uploads > 0 {
                        failures.push(format!("{label}: reached the upstream"));
                    }
                }
                Expect::Accepted {
                    message_type,
                    tags,
                    attachments,
                } => {
                    if posted != [Posted::Accept(tags.clone())] {
                        failures.push(format!("{label}: posted {posted:?}, want one accept"));
                    }
                    let Some([one]) = delivered.get(sid).map(Vec::as_slice) else {
                        failures.push(format!("{label}: not delivered exactly once"));
                        continue;
                    };
                    let envelope: Value = serde_json::from_slice(&one.body).expect("envelope JSON");
                    if envelope["submission"]["id"] != sid.as_str()
                        || envelope["message"]["type"] != *message_type
                        || !envelope["data"].is_object()
                        || envelope["attachments"].as_array().map(Vec::len) != Some(*attachments)
                    {
                        failures.push(format!("{label}: envelope {envelope}"));
                    }
                    if uploads != *attachments {
                        failures.push(format!("{label}: {uploads} attachment upload(s)"));
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        let accepted: BTreeSet<&String> = cases
            .iter()
            .filter(|(_, _, e)| matches!(e, Expect::Accepted { .. }))
            .map(|(_, s, _)| &s.submission_id)
            .collect();
        assert_eq!(delivered.keys().collect::<BTreeSet<_>>(), accepted);
        let c = gw.pipeline.counts();
        assert_eq!(
            (c.accepted, c.rejected, c.acknowledged),
            (2, cases.len() as u64 - 2, cases.len() as u64)
        );
        sink.stop();
        env.sandbox.shutdown().await;
    })
    .await
    .expect("test timed out");
}

async fn get_json(env: &Env, token: &str, path: &str) -> Value {
    let resp = env.get(token, path).await;
    assert_eq!(resp.status(), 200, "GET {path}");
    resp.json().await.expect("JSON body")
}

/// The fault injection the tag-mismatch case needs is off unless switched on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sandbox_replaces_parts_only_with_the_dangerous_switch() {
    let env = start().await;
    let (sid, _, _) = env.submitted(1).await;
    let other = encrypt(b"{}", Some("application/json"));
    assert!(matches!(
        env.sandbox
            .dangerous_replace_part(&sid, &Part::Metadata, &other),
        Err(ReplaceError::Disabled)
    ));
    env.sandbox.shutdown().await;

    let env = start_with(|c| c.dangerous.allow_replacing_parts = true).await;
    let (sid, case, tags) = env.submitted(1).await;
    let token = env.subscriber().await;
    let log = format!("/v1/cases/{case}/events");
    let before = get_json(&env, &token, &log).await;
    env.sandbox
        .dangerous_replace_part(&sid, &Part::Metadata, &other)
        .expect("replaced");
    let fetched = get_json(&env, &token, &format!("/v1/submissions/{sid}")).await;
    assert_eq!(fetched["encryptedMetadata"], other.as_str());
    assert_ne!(
        crate::sandbox_support::tag(&other),
        tags.metadata,
        "a fresh encryption has a fresh tag"
    );
    let after = get_json(&env, &token, &log).await;
    assert_eq!(before, after, "the event log is left as it was");
    // Unknown parts are refused.
    assert!(matches!(
        env.sandbox.dangerous_replace_part(
            &sid,
            &Part::Attachment(uuid::Uuid::new_v4().to_string()),
            &other
        ),
        Err(ReplaceError::Store(StoreError::PartNotFound))
    ));
    env.sandbox.shutdown().await;
}

/// Issue 14: the live v2 service takes subscriber SETs declaring set-payload 1.2.2 only and
/// answers 1.0.0 with "Payload Schema not supported". The gateway's accept and reject, posted
/// on the v2 path, declare 1.2.2 and the sandbox (which verifies them with the set-payload
/// rules) takes them; a 1.0.0 SET is refused there with the live answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_acknowledges_on_the_v2_path_with_set_payload_1_2_2() {
    let env = start().await;
    let dir = tempfile::tempdir().expect("tmp");
    let store = AnyStore::Sqlite(
        SqliteStore::open(dir.path().join("gw.db"))
            .await
            .expect("store"),
    );
    let client = subscriber(&env, ApiProfile::V2);
    let mut s = settings(&env.destination, AckPolicy::AfterStore);
    s.set_payload_schema = client.config().set_payload_schema;
    assert_eq!(s.set_payload_schema, set::PayloadSchema::V1_2_2);
    let pipeline = Pipeline::new(
        store,
        ClientDelivery {
            client,
            destination_id: env.destination.clone(),
        },
        s,
    );
    let token = env.sender().await;
    let good = Draft::new(&xgewerbeanzeige(), 1);
    let (good, _) = send_draft(&env, &token, &good).await;
    let mut bad = Draft::new(&xgewerbeanzeige(), 0);
    bad.metadata["contentStructure"]["data"]["hash"]["content"] = json!("0".repeat(128));
    let (bad, _) = send_draft(&env, &token, &bad).await;
    tokio::time::timeout(TEST_TIMEOUT, pipeline.poll_once())
        .await
        .expect("in time")
        .expect("poll");
    assert!(matches!(
        &decisions(&env, &good).await[..],
        [Posted::Accept(_)]
    ));
    assert_eq!(
        decisions(&env, &bad).await,
        [Posted::Reject(problem("hash-mismatch", "data"))]
    );
    // Both SETs the gateway posted declare set-payload 1.2.2.
    for sent in [&good, &bad] {
        let events = subscriber(&env, ApiProfile::V2)
            .events(&sent.case_id)
            .await
            .expect("log");
        let ours: Vec<Value> = events["eventLog"]
            .as_array()
            .expect("log")
            .iter()
            .map(|t| claims(t.as_str().expect("SET")))
            .filter(|c| c["iss"] == env.destination.as_str())
            .collect();
        assert_eq!(ours.len(), 1);
        assert_eq!(ours[0]["$schema"], set::PayloadSchema::V1_2_2.uri());
    }
    // A subscriber SET declaring the documented 1.0.0 is refused on the v2 path …
    let third = Draft::new(&xgewerbeanzeige(), 0);
    let (third, sealed) = send_draft(&env, &token, &third).await;
    let subject = set::SubmissionRef {
        destination_id: &env.destination,
        submission_id: &third.submission_id,
        case_id: &third.case_id,
    };
    let old = set::accept_submission(
        &crate::sandbox_support::keys().signing_private,
        &subject,
        &sealed.tags,
        crate::sandbox_support::now(),
        set::PayloadSchema::V1_0_0,
    );
    let refused = subscriber(&env, ApiProfile::V2)
        .post_event(&third.case_id, &old)
        .await
        .expect_err("1.0.0 refused on v2");
    assert_eq!(refused.status(), Some(422), "{refused}");
    assert!(
        refused.to_string().contains("Payload Schema not supported"),
        "{refused}"
    );
    // … while the v1 path takes any set-payload 1.x.
    subscriber(&env, ApiProfile::V1)
        .post_event(&third.case_id, &old)
        .await
        .expect("1.0.0 accepted on v1");
    env.sandbox.shutdown().await;
}
