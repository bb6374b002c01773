//! `callback` cases: FIT-Connect §6 (HMAC-SHA512 over `<timestamp>.<raw body>`, lowercase hex,
//! 5-minute window) plus the gateway's replay guard and 60 s clock-skew allowance.

use serde_json::json;

use super::{CASE_ID, DESTINATION_ID, Gen, NOW, SUBMISSION_ID};
use crate::fitconnect::callback::CallbackSecret;
use crate::vectors::{Kind, VectorsError};

const SECRET: &str = "TEST-ONLY-callback-secret-never-use-in-production";
const RULE: &str = "FIT-Connect §6 (callback-authentication, callback-timestamp)";

fn body() -> Vec<u8> {
    let v = json!({
        "type": "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions",
        "submissionIds": [SUBMISSION_ID],
        "submissions": [{"destinationId": DESTINATION_ID, "submissionId": SUBMISSION_ID, "caseId": CASE_ID}]
    });
    serde_json::to_vec_pretty(&super::sorted(&v)).expect("json")
}

/// Lowercase hex HMAC of `data` under the suite's secret with `alg`.
fn hmac_hex(alg: aws_lc_rs::hmac::Algorithm, data: &[u8]) -> String {
    let key = aws_lc_rs::hmac::Key::new(alg, SECRET.as_bytes());
    crate::fitconnect::hash::hex_lower(aws_lc_rs::hmac::sign(&key, data).as_ref())
}

fn mac(secret: &str, ts: &str, body: &[u8]) -> String {
    CallbackSecret::new(secret.as_bytes())
        .expect("the generator's secrets are not empty")
        .sign(ts, body)
}

struct Req<'a> {
    ts: String,
    auth: String,
    body: Vec<u8>,
    deliveries: usize,
    secret: &'a str,
}

fn add(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    req: Req<'_>,
    results: &[&str],
) -> Result<(), VectorsError> {
    let body = g.file(&format!("callback/{id}.body"), &req.body)?;
    let request = json!({"secret": req.secret, "timestamp": req.ts, "authentication": req.auth, "deliveries": req.deliveries});
    let request = g.file(
        &format!("callback/{id}.request.json"),
        (serde_json::to_string_pretty(&super::sorted(&request)).expect("json") + "\n").as_bytes(),
    )?;
    g.case(
        id,
        Kind::Callback,
        desc,
        rule,
        &[("request", request), ("body", body)],
        json!({"results": results}),
    );
    Ok(())
}

fn signed(ts: &str, body: Vec<u8>) -> Req<'static> {
    Req {
        ts: ts.to_owned(),
        auth: mac(SECRET, ts, &body),
        body,
        deliveries: 1,
        secret: SECRET,
    }
}

#[allow(clippy::too_many_lines)]
pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    let now = NOW.to_string();
    add(
        g,
        "callback-valid",
        "A correctly signed callback at now.",
        RULE,
        signed(&now, body()),
        &["accept"],
    )?;
    add(
        g,
        "callback-valid-age-300s",
        "A timestamp exactly 5 minutes old is still accepted.",
        "FIT-Connect §6 (not older than 5 minutes)",
        signed(&(NOW - 300).to_string(), body()),
        &["accept"],
    )?;
    add(
        g,
        "callback-stale-301s",
        "A timestamp older than 5 minutes is refused.",
        "FIT-Connect §6 (not older than 5 minutes)",
        signed(&(NOW - 301).to_string(), body()),
        &["stale"],
    )?;
    add(
        g,
        "callback-valid-future-60s",
        "Up to 60 s in the future is accepted (clock skew).",
        "poststelle: callback clock skew 60 s",
        signed(&(NOW + 60).to_string(), body()),
        &["accept"],
    )?;
    add(
        g,
        "callback-future-61s",
        "More than 60 s in the future is refused.",
        "poststelle: callback clock skew 60 s",
        signed(&(NOW + 61).to_string(), body()),
        &["stale"],
    )?;
    add(
        g,
        "callback-valid-empty-body",
        "The HMAC covers an empty body too.",
        RULE,
        signed(&now, Vec::new()),
        &["accept"],
    )?;
    add(
        g,
        "callback-valid-crlf-body",
        "The HMAC is over the raw bytes, CRLF line ends included.",
        "FIT-Connect §6 (HMAC over the raw body)",
        signed(
            &now,
            String::from_utf8(body())
                .expect("utf8")
                .replace('\n', "\r\n")
                .into_bytes(),
        ),
        &["accept"],
    )?;
    add(
        g,
        "callback-valid-utf8-body",
        "Non-ASCII UTF-8 body bytes are MACed as sent.",
        "FIT-Connect §6 (both parts UTF-8)",
        signed(
            &now,
            "{\"hinweis\":\"Prüfung läuft – ß\"}".as_bytes().to_vec(),
        ),
        &["accept"],
    )?;
    let mut r = signed(&now, body());
    r.deliveries = 2;
    add(
        g,
        "callback-replay",
        "The same callback delivered twice: the second is a replay.",
        "poststelle: replay guard within the 5-minute window",
        r,
        &["accept", "replay"],
    )?;

    for (id, ts, desc) in [
        (
            "callback-timestamp-not-numeric",
            "yesterday",
            "callback-timestamp is Unix seconds.",
        ),
        (
            "callback-timestamp-empty",
            "",
            "An empty callback-timestamp is refused.",
        ),
        (
            "callback-timestamp-negative",
            "-1",
            "A sign is not part of a Unix timestamp here.",
        ),
        (
            "callback-timestamp-fraction",
            "1767225600.5",
            "Fractional seconds are refused.",
        ),
        (
            "callback-timestamp-milliseconds",
            "1767225600000",
            "Milliseconds (13 digits) are not seconds.",
        ),
        (
            "callback-timestamp-leading-space",
            " 1767225600",
            "Whitespace around the timestamp is refused.",
        ),
    ] {
        add(g, id, desc, RULE, signed(ts, body()), &["bad-timestamp"])?;
    }
    let b = body();
    let good = mac(SECRET, &now, &b);
    let with_auth = |auth: String| Req {
        ts: now.clone(),
        auth,
        body: body(),
        deliveries: 1,
        secret: SECRET,
    };
    add(
        g,
        "callback-mac-uppercase-hex",
        "callback-authentication is lowercase hex.",
        "FIT-Connect §6 (hex HMAC-SHA512)",
        with_auth(good.to_uppercase()),
        &["bad-mac-format"],
    )?;
    add(
        g,
        "callback-mac-127-chars",
        "An HMAC-SHA512 has 128 hex characters.",
        "FIT-Connect §6 (128 hex chars)",
        with_auth(good[..127].to_owned()),
        &["bad-mac-format"],
    )?;
    add(
        g,
        "callback-mac-sha256",
        "HMAC-SHA256 (64 hex characters) is not accepted.",
        "FIT-Connect §6 (SHA-512 MUST)",
        with_auth(hmac_hex(
            aws_lc_rs::hmac::HMAC_SHA256,
            &[now.as_bytes(), b".", &b].concat(),
        )),
        &["bad-mac-format"],
    )?;
    add(
        g,
        "callback-mac-base64",
        "A base64 MAC is not hex.",
        "FIT-Connect §6 (hex)",
        with_auth(crate::jose::base64url::encode(&[1u8; 64])),
        &["bad-mac-format"],
    )?;
    let mut flipped = good.clone().into_bytes();
    flipped[0] = if flipped[0] == b'0' { b'1' } else { b'0' };
    add(
        g,
        "callback-mac-wrong",
        "One hex digit of the MAC differs.",
        RULE,
        with_auth(String::from_utf8(flipped).expect("ascii")),
        &["bad-mac"],
    )?;
    add(
        g,
        "callback-mac-other-secret",
        "MAC computed with another secret.",
        RULE,
        with_auth(mac("another-secret", &now, &b)),
        &["bad-mac"],
    )?;
    add(
        g,
        "callback-mac-without-timestamp",
        "MAC over the body alone (timestamp not bound).",
        "FIT-Connect §6 (HMAC input timestamp.body)",
        with_auth(hmac_hex(aws_lc_rs::hmac::HMAC_SHA512, &b)),
        &["bad-mac"],
    )?;
    let mut no_dot = now.clone().into_bytes();
    no_dot.extend_from_slice(&b);
    add(
        g,
        "callback-mac-without-dot",
        "MAC over timestamp and body without the '.' separator.",
        "FIT-Connect §6 (separated by '.')",
        with_auth(hmac_hex(aws_lc_rs::hmac::HMAC_SHA512, &no_dot)),
        &["bad-mac"],
    )?;
    let compact =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&b).expect("json"))
            .expect("json");
    add(
        g,
        "callback-mac-over-reserialized-body",
        "MAC over a re-serialized (compacted) body does not match the raw bytes.",
        "FIT-Connect §6 (raw body, never re-serialized)",
        with_auth(mac(SECRET, &now, &compact)),
        &["bad-mac"],
    )?;
    let stale_ts = (NOW - 3600).to_string();
    add(
        g,
        "callback-stale-and-bad-mac",
        "The window is checked before the MAC: an old request with a bad MAC is stale.",
        "FIT-Connect §6; check order in test-vectors/README.md",
        Req {
            ts: stale_ts,
            auth: "0".repeat(128),
            body: body(),
            deliveries: 1,
            secret: SECRET,
        },
        &["stale"],
    )?;
    Ok(())
}
