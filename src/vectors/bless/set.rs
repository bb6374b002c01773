//! `set` cases: FIT-Connect §3.3 (SET header, claims, exactly one event, key by `iss`) and
//! RFC 8417 / RFC 7515.

use serde_json::{Value, json};

use super::{CASE_ID, DELIVERY_SERVICE_ISS, DESTINATION_ID, Gen, Keys, NOW, SUBMISSION_ID};
use crate::fitconnect::set::{
    ACCEPT_SUBMISSION, PayloadSchema, REJECT_SUBMISSION, SUBMIT_SUBMISSION,
};
use crate::jose::{SigningKey, base64url};
use crate::vectors::{Kind, VectorsError};

const RULE: &str = "FIT-Connect §3.3 (SET claims)";
const CREATE_SUBMISSION: &str = "https://schema.fitko.de/fit-connect/events/create-submission";
const TAG_A: &str = "rJzLKF3ApPQN-gUfK-Ahgw";
const TAG_B: &str = "LbKRwun2tAcaqAdxGJQoYg";
const ATTACHMENT: &str = "f50308a5-4bd2-4c9b-9c3c-5c0e1c4e1b6a";

/// Which key signs, and which kid the header names.
#[derive(Clone, Copy)]
enum Signer {
    Delivery,
    Destination,
    /// Signed with an unrelated key, header kid of the delivery service.
    Forged,
}

fn key(keys: &Keys, signer: Signer) -> (&SigningKey, String) {
    match signer {
        Signer::Delivery => (&keys.delivery_sig, keys.delivery_sig.kid().to_owned()),
        Signer::Destination => (&keys.destination_sig, keys.destination_sig.kid().to_owned()),
        Signer::Forged => (&keys.unrelated_sig, keys.delivery_sig.kid().to_owned()),
    }
}

/// `base64url(header).base64url(payload).base64url(PS512 signature)`.
fn sign_raw(key: &SigningKey, header: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = base64url::encode(header);
    out.push('.');
    base64url::encode_into(payload, &mut out);
    let signature = key.sign_ps512(out.as_bytes());
    out.push('.');
    base64url::encode_into(&signature, &mut out);
    out.into_bytes()
}

fn header(kid: &str) -> Value {
    json!({"typ": "secevent+jwt", "alg": "PS512", "kid": kid})
}

fn tags() -> Value {
    json!({"authenticationTags": {"metadata": TAG_A, "data": TAG_B, "attachments": {ATTACHMENT: TAG_A}}})
}

/// The claims of a well-formed SET by the delivery service.
fn submit_claims() -> Value {
    json!({
        "$schema": PayloadSchema::V1_0_0.uri(),
        "jti": "0b8e6a4a-7a39-4c5e-9d43-3a3f0e5b9a10",
        "iss": DELIVERY_SERVICE_ISS,
        "iat": NOW - 60,
        "sub": format!("submission:{SUBMISSION_ID}"),
        "txn": format!("case:{CASE_ID}"),
        "events": {SUBMIT_SUBMISSION: tags()},
    })
}

fn destination_claims(event: &str, payload: Value) -> Value {
    let mut c = submit_claims();
    c["iss"] = json!(DESTINATION_ID);
    c["jti"] = json!("5d0b8f0e-3c1e-4d55-8e53-1b2c3d4e5f60");
    c["events"] = json!({ event: payload });
    c
}

struct Spec<'a> {
    id: &'a str,
    desc: &'a str,
    rule: &'a str,
    signer: Signer,
    header: Value,
    payload: Vec<u8>,
}

fn add(g: &mut Gen, spec: Spec<'_>, expected: Value) -> Result<(), VectorsError> {
    let Spec {
        id,
        desc,
        rule,
        signer,
        header,
        payload,
    } = spec;
    let file = g.random_file(&format!("set/{id}.jwt"), |k| {
        let (key, _) = key(k, signer);
        Ok(sign_raw(
            key,
            &serde_json::to_vec(&header).expect("json"),
            &payload,
        ))
    })?;
    g.case(id, Kind::Set, desc, rule, &[("token", file)], expected);
    Ok(())
}

fn valid(
    g: &mut Gen,
    id: &str,
    desc: &str,
    signer: Signer,
    claims: &Value,
) -> Result<(), VectorsError> {
    let event = claims["events"]
        .as_object()
        .and_then(|e| e.keys().next().cloned())
        .unwrap_or_default();
    let kid = key(&g.keys, signer).1;
    let spec = Spec {
        id,
        desc,
        rule: RULE,
        signer,
        header: header(&kid),
        payload: serde_json::to_vec(claims).expect("json"),
    };
    add(g, spec, json!({"result": "valid", "event": event}))
}

fn invalid_claims(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    claims: &Value,
    reason: &str,
) -> Result<(), VectorsError> {
    let kid = key(&g.keys, Signer::Delivery).1;
    let spec = Spec {
        id,
        desc,
        rule,
        signer: Signer::Delivery,
        header: header(&kid),
        payload: serde_json::to_vec(claims).expect("json"),
    };
    add(g, spec, json!({"result": "error", "reason": reason}))
}

fn invalid_header(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    header: Value,
    reason: &str,
) -> Result<(), VectorsError> {
    let spec = Spec {
        id,
        desc,
        rule,
        signer: Signer::Delivery,
        header,
        payload: serde_json::to_vec(&submit_claims()).expect("json"),
    };
    add(g, spec, json!({"result": "error", "reason": reason}))
}

fn raw_error(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    reason: &str,
    make: impl FnOnce(&Keys) -> Vec<u8>,
) -> Result<(), VectorsError> {
    let file = g.random_file(&format!("set/{id}.jwt"), |k| Ok(make(k)))?;
    g.case(
        id,
        Kind::Set,
        desc,
        rule,
        &[("token", file)],
        json!({"result": "error", "reason": reason}),
    );
    Ok(())
}

fn edit(f: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Value {
    let mut c = submit_claims();
    f(c.as_object_mut().expect("object"));
    c
}

#[allow(clippy::too_many_lines)]
pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    let dkid = g.keys.delivery_sig.kid().to_owned();
    // Valid tokens.
    valid(
        g,
        "set-valid-submit-submission",
        "The delivery service's submit-submission SET with authentication tags.",
        Signer::Delivery,
        &submit_claims(),
    )?;
    valid(
        g,
        "set-valid-accept-submission",
        "A destination's accept-submission SET (iss = destinationId, key from the destination).",
        Signer::Destination,
        &destination_claims(ACCEPT_SUBMISSION, tags()),
    )?;
    let problems = json!({"problems": [{"type": "https://schema.fitko.de/fit-connect/events/problems/hash-mismatch", "title": "Prüfsumme stimmt nicht", "detail": "Die Prüfsumme der Fachdaten stimmt nicht.", "instance": "data"}]});
    valid(
        g,
        "set-valid-reject-submission",
        "A destination's reject-submission SET with one problem.",
        Signer::Destination,
        &destination_claims(REJECT_SUBMISSION, problems),
    )?;
    valid(
        g,
        "set-valid-create-submission",
        "create-submission carries an empty event payload.",
        Signer::Delivery,
        &edit(|c| {
            c.insert("events".into(), json!({CREATE_SUBMISSION: {}}));
        }),
    )?;
    valid(
        g,
        "set-valid-without-schema",
        "$schema is optional; without it the event payload is not schema-checked.",
        Signer::Delivery,
        &edit(|c| {
            c.remove("$schema");
        }),
    )?;
    valid(
        g,
        "set-valid-schema-1.2.2-reply",
        "set-payload 1.2.x allows sub = reply:<uuid>.",
        Signer::Delivery,
        &edit(|c| {
            c.insert(
                "$schema".into(),
                json!(
                    "https://schema.fitko.de/fit-connect/set-payload/1.2.2/set-payload.schema.json"
                ),
            );
            c.insert(
                "sub".into(),
                json!("reply:b9715dcb-700e-44d9-802f-12b45bf9f8a3"),
            );
        }),
    )?;
    valid(
        g,
        "set-valid-iat-within-skew",
        "iat up to 300 s in the future is accepted (clock skew).",
        Signer::Delivery,
        &edit(|c| {
            c.insert("iat".into(), json!(NOW + 300));
        }),
    )?;
    valid(
        g,
        "set-valid-submit-without-data-tag",
        "Without Fachdaten the data tag is absent.",
        Signer::Delivery,
        &edit(|c| {
            c.insert("events".into(), json!({SUBMIT_SUBMISSION: {"authenticationTags": {"metadata": TAG_A, "attachments": {}}}}));
        }),
    )?;

    // Header.
    invalid_header(
        g,
        "set-typ-missing",
        "typ is required.",
        "FIT-Connect §3.3 header (typ secevent+jwt)",
        json!({"alg": "PS512", "kid": dkid}),
        "typ",
    )?;
    invalid_header(
        g,
        "set-typ-jwt",
        "typ JWT is not a SET.",
        "FIT-Connect §3.3 header; RFC 8417 §2.3",
        json!({"typ": "JWT", "alg": "PS512", "kid": dkid}),
        "typ",
    )?;
    for alg in ["RS512", "PS256", "HS512", "ES512", "none"] {
        invalid_header(
            g,
            &format!("set-alg-{}-refused", alg.to_lowercase()),
            &format!("alg {alg} is not PS512."),
            "FIT-Connect §3.3 header (alg PS512 only)",
            json!({"typ": "secevent+jwt", "alg": alg, "kid": dkid}),
            "alg-not-allowed",
        )?;
    }
    invalid_header(
        g,
        "set-kid-missing",
        "kid is required to find the key.",
        "FIT-Connect §3.3 header (kid)",
        json!({"typ": "secevent+jwt", "alg": "PS512"}),
        "missing-header-member",
    )?;
    invalid_header(
        g,
        "set-kid-unknown",
        "No key of the issuer has this kid.",
        "FIT-Connect §3.3 (key resolution by iss and kid)",
        json!({"typ": "secevent+jwt", "alg": "PS512", "kid": "not-a-known-kid"}),
        "unknown-key",
    )?;
    invalid_header(
        g,
        "set-crit-refused",
        "crit with unknown extensions is refused.",
        "RFC 7515 §4.1.11",
        json!({"typ": "secevent+jwt", "alg": "PS512", "kid": dkid, "crit": ["b64"], "b64": false}),
        "crit-not-supported",
    )?;
    for (member, value) in [
        ("jku", json!("https://attacker.invalid/jwks.json")),
        ("x5c", json!(["MIIB"])),
        ("jwk", json!({"kty": "RSA"})),
    ] {
        invalid_header(
            g,
            &format!("set-header-{member}-refused"),
            &format!("Header member {member} would let the token choose its own key."),
            "RFC 8725 §3.10; FIT-Connect §3.3 (key by iss)",
            json!({"typ": "secevent+jwt", "alg": "PS512", "kid": dkid, member: value}),
            "forbidden-header-member",
        )?;
    }

    // Signature.
    let spec = Spec {
        id: "set-signed-by-other-key",
        desc: "Signed with a key that is not the delivery service's, under its kid.",
        rule: "FIT-Connect §3.3 (verify the signature; never skip)",
        signer: Signer::Forged,
        header: header(&dkid),
        payload: serde_json::to_vec(&submit_claims()).expect("json"),
    };
    add(
        g,
        spec,
        json!({"result": "error", "reason": "bad-signature"}),
    )?;
    let claims = serde_json::to_vec(&submit_claims()).expect("json");
    let h = serde_json::to_vec(&header(&dkid)).expect("json");
    raw_error(
        g,
        "set-payload-changed-after-signing",
        "The payload was changed after signing (iat + 1).",
        "RFC 7515 §5.2 (signature over header.payload)",
        "bad-signature",
        |k| {
            let token = String::from_utf8(sign_raw(&k.delivery_sig, &h, &claims)).expect("ascii");
            let parts: Vec<&str> = token.split('.').collect();
            let changed = edit(|c| {
                c.insert("iat".into(), json!(NOW - 59));
            });
            format!(
                "{}.{}.{}",
                parts[0],
                base64url::encode(&serde_json::to_vec(&changed).expect("json")),
                parts[2]
            )
            .into_bytes()
        },
    )?;
    let (c2, h2) = (claims.clone(), h.clone());
    raw_error(
        g,
        "set-signature-truncated",
        "A signature shorter than the modulus is refused before verification.",
        "RFC 8017 §8.1.2 (signature length = k)",
        "signature-length",
        |k| {
            let token = String::from_utf8(sign_raw(&k.delivery_sig, &h2, &c2)).expect("ascii");
            let (head, sig) = token.rsplit_once('.').expect("three parts");
            let sig = base64url::decode(sig).expect("own signature");
            format!("{head}.{}", base64url::encode(&sig[..256])).into_bytes()
        },
    )?;
    raw_error(
        g,
        "set-unsigned-two-parts",
        "A JWS without signature part is refused.",
        "RFC 7515 §7.1",
        "part-count",
        |_| format!("{}.{}", base64url::encode(&h), base64url::encode(&claims)).into_bytes(),
    )?;
    raw_error(
        g,
        "set-json-serialization",
        "The JWS JSON serialization is not used for SETs.",
        "FIT-Connect §3.3 (compact JWS)",
        "json-serialization",
        |_| br#"{"payload":"e30","signatures":[]}"#.to_vec(),
    )?;
    let dup = format!(r#"{{"typ":"secevent+jwt","alg":"PS512","kid":"{dkid}","alg":"none"}}"#);
    raw_error(
        g,
        "set-duplicate-header-member",
        "A header with alg twice is refused.",
        "RFC 8725 §3.1 (duplicate members)",
        "duplicate-header-member",
        |k| {
            sign_raw(
                &k.delivery_sig,
                dup.as_bytes(),
                &serde_json::to_vec(&submit_claims()).expect("json"),
            )
        },
    )?;
    let kid_for_raw = dkid.clone();
    raw_error(
        g,
        "set-payload-not-json",
        "The signed payload is not JSON.",
        "RFC 8417 §2 (SET is a JWT: JSON claims)",
        "payload-not-json",
        move |k| {
            sign_raw(
                &k.delivery_sig,
                &serde_json::to_vec(&header(&kid_for_raw)).expect("json"),
                b"not json",
            )
        },
    )?;

    // Claims.
    for name in ["jti", "iat", "sub", "txn", "events", "iss"] {
        invalid_claims(
            g,
            &format!("set-claim-{name}-missing"),
            &format!("The required claim {name} is missing."),
            "FIT-Connect §3.3 claims table (required)",
            &edit(|c| {
                c.remove(name);
            }),
            &format!("missing-claim:{name}"),
        )?;
    }
    invalid_claims(
        g,
        "set-jti-not-uuid",
        "jti must be a UUID.",
        RULE,
        &edit(|c| {
            c.insert("jti".into(), json!("12345"));
        }),
        "bad-claim:jti",
    )?;
    invalid_claims(
        g,
        "set-iat-string",
        "iat must be an integer.",
        RULE,
        &edit(|c| {
            c.insert("iat".into(), json!("1767225540"));
        }),
        "bad-claim:iat",
    )?;
    invalid_claims(
        g,
        "set-iat-before-2020",
        "iat before 1577833200 (2020-01-01) is refused.",
        "FIT-Connect §3.3 (iat ≥ 1577833200)",
        &edit(|c| {
            c.insert("iat".into(), json!(1_577_833_199));
        }),
        "iat-out-of-range",
    )?;
    invalid_claims(
        g,
        "set-iat-in-future",
        "iat more than 300 s after now is refused.",
        "FIT-Connect §3.3 (iat; 300 s clock skew)",
        &edit(|c| {
            c.insert("iat".into(), json!(NOW + 301));
        }),
        "iat-out-of-range",
    )?;
    invalid_claims(
        g,
        "set-sub-no-prefix",
        "sub must be submission:<uuid>.",
        "FIT-Connect §3.3 (sub pattern)",
        &edit(|c| {
            c.insert("sub".into(), json!(SUBMISSION_ID));
        }),
        "bad-claim:sub",
    )?;
    invalid_claims(
        g,
        "set-sub-reply-with-schema-1.0.0",
        "set-payload 1.0.x knows only submission:<uuid>.",
        "FIT-Connect §3.3 (sub 1.0.x pattern)",
        &edit(|c| {
            c.insert(
                "sub".into(),
                json!("reply:b9715dcb-700e-44d9-802f-12b45bf9f8a3"),
            );
        }),
        "bad-claim:sub",
    )?;
    invalid_claims(
        g,
        "set-txn-no-prefix",
        "txn must be case:<uuid>.",
        "FIT-Connect §3.3 (txn pattern)",
        &edit(|c| {
            c.insert("txn".into(), json!(CASE_ID));
        }),
        "bad-claim:txn",
    )?;
    invalid_claims(
        g,
        "set-iss-not-url-or-uuid",
        "iss is the delivery service URL or a destination UUID.",
        "FIT-Connect §3.3 (iss)",
        &edit(|c| {
            c.insert("iss".into(), json!("zustelldienst"));
        }),
        "bad-claim:iss",
    )?;
    invalid_claims(
        g,
        "set-schema-version-2",
        "$schema must name set-payload 1.x.",
        "FIT-Connect §3.3 ($schema pattern)",
        &edit(|c| {
            c.insert(
                "$schema".into(),
                json!(
                    "https://schema.fitko.de/fit-connect/set-payload/2.0.0/set-payload.schema.json"
                ),
            );
        }),
        "bad-claim:$schema",
    )?;
    invalid_claims(
        g,
        "set-events-empty",
        "events must hold exactly one event.",
        "FIT-Connect §3.3 (exactly one event)",
        &edit(|c| {
            c.insert("events".into(), json!({}));
        }),
        "event-count",
    )?;
    invalid_claims(
        g,
        "set-events-two",
        "Two events in one SET are refused.",
        "FIT-Connect §3.3 (exactly one event)",
        &edit(|c| {
            c.insert(
                "events".into(),
                json!({SUBMIT_SUBMISSION: tags(), CREATE_SUBMISSION: {}}),
            );
        }),
        "event-count",
    )?;
    invalid_claims(
        g,
        "set-event-foreign-uri",
        "Event URIs live under https://schema.fitko.de/fit-connect/events/.",
        "FIT-Connect §1.5 (event URIs)",
        &edit(|c| {
            c.insert(
                "events".into(),
                json!({"https://attacker.invalid/events/submit-submission": tags()}),
            );
        }),
        "bad-claim:events",
    )?;
    invalid_claims(
        g,
        "set-event-payload-not-object",
        "An event payload is a JSON object.",
        "RFC 8417 §2.2 (events: object values)",
        &edit(|c| {
            c.insert("events".into(), json!({SUBMIT_SUBMISSION: "tags"}));
        }),
        "event-payload",
    )?;
    invalid_claims(
        g,
        "set-submit-without-tags",
        "With $schema, submit-submission must carry authenticationTags.",
        "FIT-Connect §3.3 (submit-submission payload)",
        &edit(|c| {
            c.insert("events".into(), json!({SUBMIT_SUBMISSION: {}}));
        }),
        "event-payload",
    )?;
    invalid_claims(
        g,
        "set-submit-tag-wrong-length",
        "An authentication tag is 22 base64url characters (16 bytes).",
        "FIT-Connect §3.3 (tag = part 5 of the JWE)",
        &edit(|c| {
            c.insert("events".into(), json!({SUBMIT_SUBMISSION: {"authenticationTags": {"metadata": "c2hvcnQ", "attachments": {}}}}));
        }),
        "event-payload",
    )?;
    invalid_claims(
        g,
        "set-submit-attachment-id-not-uuid",
        "Attachment ids in authenticationTags are UUIDs.",
        "FIT-Connect §3.3; §1.2 (attachment ids are UUIDv4)",
        &edit(|c| {
            c.insert("events".into(), json!({SUBMIT_SUBMISSION: {"authenticationTags": {"metadata": TAG_A, "attachments": {"attachment-1": TAG_B}}}}));
        }),
        "event-payload",
    )?;
    let reject = destination_claims(REJECT_SUBMISSION, json!({}));
    let kid = g.keys.destination_sig.kid().to_owned();
    let spec = Spec {
        id: "set-reject-without-problems",
        desc: "With $schema, reject-submission must carry problems.",
        rule: "FIT-Connect §3.3 (reject-submission payload), §4",
        signer: Signer::Destination,
        header: header(&kid),
        payload: serde_json::to_vec(&reject).expect("json"),
    };
    add(
        g,
        spec,
        json!({"result": "error", "reason": "event-payload"}),
    )?;
    let spec = Spec {
        id: "set-destination-iss-signed-by-delivery-service",
        desc: "iss names the destination, so only the destination's key may sign.",
        rule: "FIT-Connect §3.3 (key resolution by iss)",
        signer: Signer::Delivery,
        header: header(&dkid),
        payload: serde_json::to_vec(&destination_claims(ACCEPT_SUBMISSION, tags())).expect("json"),
    };
    add(g, spec, json!({"result": "error", "reason": "unknown-key"}))?;
    // Live facts (FIT-Connect TEST, v2, observed 2026-06-14; protocol notes §13): the delivery
    // service's SETs and the subscriber SETs it takes declare set-payload 1.2.2.
    const LIVE: &str = "FIT-Connect v2 live fact (TEST, observed 2026-06-14, protocol notes §13): SETs declare set-payload 1.2.2; subscriber SET iss = destinationId, sub = submission:<id>, txn = case:<id>";
    let v122 = |mut c: Value| {
        c["$schema"] = json!(PayloadSchema::V1_2_2.uri());
        c
    };
    let kid = g.keys.destination_sig.kid().to_owned();
    let spec = Spec {
        id: "set-valid-accept-submission-payload-1.2.2",
        desc: "A destination's accept-submission declaring set-payload 1.2.2, as the live v2 service requires.",
        rule: LIVE,
        signer: Signer::Destination,
        header: header(&kid),
        payload: serde_json::to_vec(&v122(destination_claims(ACCEPT_SUBMISSION, tags())))
            .expect("json"),
    };
    add(
        g,
        spec,
        json!({"result": "valid", "event": ACCEPT_SUBMISSION}),
    )?;
    valid(
        g,
        "set-valid-submit-submission-payload-1.2.2",
        "The delivery service's submit-submission declaring set-payload 1.2.2 (what the live v2 service writes).",
        Signer::Delivery,
        &v122(submit_claims()),
    )?;
    let spec = Spec {
        id: "set-accept-submission-payload-1.2.2-without-tags",
        desc: "With set-payload 1.2.2 declared, accept-submission must carry authenticationTags.",
        rule: LIVE,
        signer: Signer::Destination,
        header: header(&kid),
        payload: serde_json::to_vec(&v122(destination_claims(ACCEPT_SUBMISSION, json!({}))))
            .expect("json"),
    };
    add(
        g,
        spec,
        json!({"result": "error", "reason": "event-payload"}),
    )?;
    // Two `sub` members: parsers that take the first and the last disagree about the subject.
    let text = serde_json::to_string(&submit_claims()).expect("json");
    let doubled = text.replacen(
        '{',
        "{\"sub\":\"submission:7f0c0c52-2f7a-4c47-8c1d-000000000001\",",
        1,
    );
    let spec = Spec {
        id: "set-duplicate-sub-member",
        desc: "The payload names sub twice (another submission first): refused, whichever a lenient parser would take.",
        rule: "RFC 8259 §4 / RFC 7519 §4 (duplicate claim names); issue 19",
        signer: Signer::Delivery,
        header: header(&dkid),
        payload: doubled.into_bytes(),
    };
    add(
        g,
        spec,
        json!({"result": "error", "reason": "duplicate-member"}),
    )?;
    Ok(())
}
