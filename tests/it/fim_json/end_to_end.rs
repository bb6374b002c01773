//! Issue 20, acceptance 1: JSON Fachdaten end to end through the real sandbox (in process, on
//! loopback) → the gateway pipeline → an HTTP upstream. The decisions are read from the
//! sandbox's case event logs: a valid submission is accepted and forwarded with its data as
//! sent, an invalid one rejected with `schema-violation` whose detail names JSON pointers, an
//! unknown schema URI gets `unsupported-schema`; `poststelle send` sends JSON data in the v1
//! and v2 path profiles and both are accepted.

use poststelle::fitconnect::metadata::MetadataValidator;
use poststelle::fitconnect::set;
use poststelle::store::{AnyStore, SqliteStore};
use serde_json::{Value, json};

use super::{ROOT, valid_doc};
use crate::fitconnect_client::subscriber;
use crate::forward_support::{Sink, TEST_TIMEOUT};
use crate::gateway_e2e::{Posted, Sent, claims, decisions, envelopes, gateway_with, send_draft};
use crate::pipeline_fixture::Draft;
use crate::sandbox_support::{Env, start};
use crate::send_e2e::{prepare, run_send, send_args_with_data};

/// The reject problems of a submission's decision with their details: (type, instance, detail).
async fn reject_details(env: &Env, sent: &Sent) -> Vec<(String, String, String)> {
    let events = subscriber(env, poststelle::fitconnect::captured::ApiProfile::V1)
        .events(&sent.case_id)
        .await
        .expect("event log");
    let mut out = Vec::new();
    for token in events["eventLog"].as_array().expect("eventLog") {
        let c = claims(token.as_str().expect("SET"));
        if c["sub"] != format!("submission:{}", sent.submission_id).as_str() {
            continue;
        }
        if let Some(p) = c["events"].get(set::REJECT_SUBMISSION) {
            for problem in p["problems"].as_array().expect("problems") {
                let s = |k: &str| problem[k].as_str().unwrap_or_default().to_owned();
                out.push((s("type"), s("instance"), s("detail")));
            }
        }
    }
    out
}

/// `poststelle send --data veranstaltung.json` in a path profile; the submission id.
async fn send_cli(env: &Env, dir: &std::path::Path, api: &str) -> Sent {
    let args = send_args_with_data(env, dir, "0", "veranstaltung.json", &["--api", api]);
    let (code, stdout) = run_send(args).await;
    assert_eq!(code, 0, "{stdout}");
    let sid = stdout
        .trim()
        .strip_prefix("submitted ")
        .expect("submitted <id>")
        .to_owned();
    let client = subscriber(env, poststelle::fitconnect::captured::ApiProfile::V1);
    let sub = client.download(&sid).await.expect("download");
    let case_id = sub.case_id().expect("case").to_owned();
    Sent {
        submission_id: sid,
        case_id,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_fachdaten_are_decided_end_to_end_through_the_sandbox() {
    tokio::time::timeout(TEST_TIMEOUT, async {
        let env = start().await;
        let sink = Sink::start().await;
        let dir = tempfile::tempdir().expect("tmp");
        let store = SqliteStore::open(dir.path().join("gateway.sqlite3"))
            .await
            .expect("store");
        // As `serve` by default: metadata 2.1.0 (what v2 senders write) accepted.
        let gw = gateway_with(&env, AnyStore::Sqlite(store), &sink, |s| {
            s.metadata = MetadataValidator::with_unconfirmed(true);
        });
        let token = env.sender().await;

        let doc = valid_doc();
        let (valid, sealed) = send_draft(
            &env,
            &token,
            &Draft::new(&serde_json::to_vec_pretty(&doc).expect("json"), 1),
        )
        .await;
        let mut bad = valid_doc();
        bad["G99000010"]["G99000011"]["F99000105"] = json!("PLZ-SECRET");
        bad["G99000012"]["F99000110"] = json!(["Eröffnung", 7]);
        let (invalid, _) = send_draft(
            &env,
            &token,
            &Draft::new(&serde_json::to_vec(&bad).expect("json"), 0),
        )
        .await;
        let mut unknown = valid_doc();
        unknown["$schema"] =
            json!("https://schema.poststelle.invalid/fim/s99000077_1.0.schema.json");
        let (unsupported, _) = send_draft(
            &env,
            &token,
            &Draft::new(&serde_json::to_vec(&unknown).expect("json"), 0),
        )
        .await;
        prepare(&env, dir.path());
        std::fs::write(
            dir.path().join("veranstaltung.json"),
            serde_json::to_vec_pretty(&doc).expect("json"),
        )
        .expect("write");
        let by_cli_v1 = send_cli(&env, dir.path(), "v1").await;
        let by_cli_v2 = send_cli(&env, dir.path(), "v2").await;

        let outcomes = gw.pipeline.poll_once().await.expect("poll");
        assert_eq!(outcomes.len(), 5, "{outcomes:?}");
        let report = gw.forwarder.deliver_due_once().await.expect("forward");
        assert_eq!((report.claimed, report.delivered), (3, 3), "{report:?}");

        let tags = serde_json::to_value(&sealed.tags).expect("tags");
        assert_eq!(decisions(&env, &valid).await, [Posted::Accept(tags)]);
        let delivered = envelopes(&sink);
        for sent in [&valid, &by_cli_v1, &by_cli_v2] {
            let [one] = delivered
                .get(&sent.submission_id)
                .map(Vec::as_slice)
                .expect("delivered")
            else {
                panic!("delivered more than once");
            };
            let envelope: Value = serde_json::from_slice(&one.body).expect("envelope");
            assert_eq!(
                envelope["data"].to_string(),
                doc.to_string(),
                "data as sent"
            );
            assert_eq!(envelope["message"]["schemaUri"], ROOT);
            assert_eq!(envelope["message"]["type"], ROOT);
            assert!(matches!(
                decisions(&env, sent).await.as_slice(),
                [Posted::Accept(_)]
            ));
        }

        let p = "https://schema.fitko.de/fit-connect/events/problems/";
        let problems = reject_details(&env, &invalid).await;
        assert_eq!(problems.len(), 1, "{problems:?}");
        let (kind, instance, detail) = &problems[0];
        assert_eq!(
            (kind.as_str(), instance.as_str()),
            (&*format!("{p}schema-violation"), "data")
        );
        assert!(
            detail.ends_with(
                "Stellen: /G99000010/G99000011/F99000105 (pattern); /G99000012/F99000110/1 (type)"
            ),
            "{detail}"
        );
        assert!(!detail.contains("SECRET"));
        let problems = reject_details(&env, &unsupported).await;
        assert_eq!(
            problems
                .iter()
                .map(|(t, i, _)| (t.as_str(), i.as_str()))
                .collect::<Vec<_>>(),
            [(&*format!("{p}unsupported-schema"), "metadata")]
        );
        assert!(!delivered.contains_key(&invalid.submission_id));
        assert!(!delivered.contains_key(&unsupported.submission_id));
        sink.stop();
        env.sandbox.shutdown().await;
    })
    .await
    .expect("test timed out");
}
