//! Issue 13, scope 4: several destinations in one instance (`[[destination]]`; with a sandbox,
//! every destination of its `sandbox.toml`). A municipality runs Gewerbe and Bau through one
//! gateway: each destination's submissions are fetched with its own subscriber client,
//! decrypted with its own keys, acknowledged with SETs its own key signs, and routed by
//! destination.

use std::time::{Duration, Instant};

use poststelle::config::JoseLimits;
use poststelle::fitconnect::keys::generate_test_key_pair;
use poststelle::fitconnect::set::ACCEPT_SUBMISSION;
use poststelle::jose::CompactJws;
use poststelle::jose::KeyUse;
use poststelle::sandbox::{ClientConfig, ClientRole};
use serde_json::Value;

use crate::gateway_crash::{Rig, client, decisions, send_data};
use crate::sandbox_support;

/// The `iss` of every accept SET in a case log.
fn accept_issuers(log: &Value) -> Vec<String> {
    let limits = JoseLimits::default();
    log["eventLog"]
        .as_array()
        .expect("event log")
        .iter()
        .filter_map(|token| {
            let jws = CompactJws::parse(token.as_str()?, &limits).ok()?;
            let claims: Value = serde_json::from_slice(jws.unverified_payload()).ok()?;
            claims["events"]
                .as_object()?
                .contains_key(ACCEPT_SUBMISSION)
                .then(|| claims["iss"].as_str().unwrap_or_default().to_owned())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_destinations_in_one_instance_each_receive_and_acknowledge_their_own() {
    let bau = uuid::Uuid::new_v4().to_string();
    let store = tempfile::tempdir().expect("store dir");
    let mut rig = Rig::with(
        &format!("sqlite:{}", store.path().join("gw.db").display()),
        "",
        |config, sandbox_dir| {
            // The second destination: keys and a subscriber client of its own.
            let mut second = config.destinations[0].clone();
            second.id.clone_from(&bau);
            let now = sandbox_support::now();
            for (use_, name) in [(KeyUse::Encryption, "enc"), (KeyUse::Signature, "sig")] {
                let pair = generate_test_key_pair(use_, now).expect("keygen");
                let path = sandbox_dir.join(format!("bau-{name}.jwk.json"));
                std::fs::write(&path, pair.private_jwk.to_json()).expect("key file");
                match use_ {
                    KeyUse::Encryption => second.encryption_key = Some(path),
                    _ => second.signing_key = Some(path),
                }
            }
            config.destinations.push(second);
            config.clients.push(ClientConfig {
                id: "subscriber-bau".into(),
                secret: "subscriber-bau-secret-0123456789".into(),
                role: ClientRole::Subscriber,
                destinations: vec![bau.clone()],
            });
        },
    )
    .await;
    let gewerbe = rig.destination.clone();
    // Routed by destination: Gewerbe and Bau go to upstreams of their own.
    let toml = std::fs::read_to_string(&rig.gateway.config).expect("gateway.toml");
    let head = &toml[..toml.find("[[upstream]]").expect("upstream table")];
    let rest = &toml[toml.find("[server]").expect("server table")..];
    std::fs::write(
        &rig.gateway.config,
        format!(
            "{head}[[upstream]]\nname = \"gewerbe\"\nurl = {:?}\n\
             [[upstream]]\nname = \"bau\"\nurl = {:?}\n\
             [[route]]\ndestination = {gewerbe:?}\nto = [\"gewerbe\"]\n\
             [[route]]\ndestination = {bau:?}\nto = [\"bau\"]\n\
             [routing]\ndefault = []\n{rest}",
            rig.sink.url("/gewerbe"),
            rig.sink.url("/bau"),
        ),
    )
    .expect("gateway.toml");
    rig.gateway.start();
    let (sandbox, sink, gw) = (&rig.sandbox, &rig.sink, &mut rig.gateway);

    let sender = client(sandbox.base_url(), "sender", "sender-secret-0123456789");
    let xml = crate::pipeline_fixture::xgewerbeanzeige();
    let (to_gewerbe, gewerbe_case) = send_data(&sender, &gewerbe, 0, xml.clone()).await;
    let (to_bau, bau_case) = send_data(&sender, &bau, 1, xml).await;

    // Each destination's submission reaches the upstream its route names.
    let deadline = Instant::now() + Duration::from_secs(60);
    let envelopes = loop {
        let posted: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|r| r.status == 200 && (r.path == "/gewerbe" || r.path == "/bau"))
            .collect();
        if posted.len() >= 2 {
            break posted;
        }
        gw.assert_running();
        assert!(Instant::now() < deadline, "not delivered:\n{}", gw.tail());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(envelopes.len(), 2, "{}", gw.tail());
    for r in &envelopes {
        let envelope: Value = serde_json::from_slice(&r.body).expect("envelope JSON");
        let (want_id, want_dest) = if r.path == "/gewerbe" {
            (&to_gewerbe, &gewerbe)
        } else {
            (&to_bau, &bau)
        };
        assert_eq!(
            envelope["submission"]["id"].as_str(),
            Some(want_id.as_str())
        );
        assert_eq!(
            envelope["submission"]["destinationId"].as_str(),
            Some(want_dest.as_str()),
            "{envelope}"
        );
    }

    // Each is acknowledged once, with an accept its own destination signed.
    let deadline = Instant::now() + Duration::from_secs(60);
    for (case, dest) in [(&gewerbe_case, &gewerbe), (&bau_case, &bau)] {
        let log = loop {
            let log = sender.events(case).await.expect("case log");
            if decisions(&log) != (0, 0) {
                break log;
            }
            assert!(Instant::now() < deadline, "no decision:\n{}", gw.tail());
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(decisions(&log), (1, 0), "case {case}");
        assert_eq!(accept_issuers(&log), vec![dest.clone()], "case {case}");
    }
    let text = std::fs::read_to_string(&gw.log).expect("log");
    assert!(
        text.contains(&format!("destination {gewerbe}"))
            && text.contains(&format!("destination {bau}")),
        "both destinations are named at start:\n{text}"
    );
    assert!(
        text.contains(&format!("route 0: destination={gewerbe} → gewerbe"))
            && text.contains("routing default → none"),
        "the routes are logged at start:\n{text}"
    );
    // Decisions are counted per configured destination.
    let at = text.find("listening on http").expect("listen line");
    let url = &text[at + "listening on ".len()..];
    let base = &url[..url.find(' ').expect("address end")];
    let metrics = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    for dest in [&gewerbe, &bau] {
        let series = format!("poststelle_decisions_total{{destination=\"{dest}\"}} 1");
        assert!(metrics.lines().any(|l| l == series), "{series}:\n{metrics}");
    }
    gw.kill();
    rig.sandbox.shutdown().await;
    rig.sink.stop();
}
