//! `submission` cases: complete downloaded submissions (the capture directory format of
//! `fitconnect::captured`) → accept with the expected JSON envelope, or reject with the exact
//! problem list (FIT-Connect §4). Every problem type of the catalogue is produced by a case.
//!
//! Each capture is what the delivery service hands over: submission JSON with the metadata and
//! data JWEs, attachment JWEs, and the case event log with the delivery service's
//! `create-submission` and `submit-submission` SETs (the latter carrying part 5 of each JWE).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Value, json};

use super::{CASE_ID, DELIVERY_SERVICE_ISS, DESTINATION_ID, Gen, Keys, NOW, SUBMISSION_ID};
use crate::fitconnect::captured::{ApiProfile, CaptureInfo, CapturedSubmission};
use crate::fitconnect::hash::{EMPTY_SHA512_HEX, sha512_hex};
use crate::fitconnect::keys::Jwks;
use crate::fitconnect::set::{PayloadSchema, SUBMIT_SUBMISSION};

/// The committed captures declare the documented set-payload 1.0.0 (receivers accept every
/// 1.x); `set` cases cover 1.2.2.
const SET_PAYLOAD_SCHEMA: PayloadSchema = PayloadSchema::V1_0_0;
use crate::jose::base64url;
use crate::jose::jwe::encrypt_with_header;
use crate::vectors::{Kind, VectorsError};

const CREATE_SUBMISSION: &str = "https://schema.fitko.de/fit-connect/events/create-submission";
const ATT_PDF: &str = "0b3b3f3e-1b4c-4f5c-9a6f-2f0e4d7c8a11";
const ATT_PNG: &str = "7c0f7d52-55a1-4f0e-8f5e-3b2a1c0d9e88";
const XGWA_NS: &str = "http://www.xgewerbeanzeige.de/spezifikation/2.2";
/// The service the test destination offers (manifest context).
pub(super) const SERVICE_ID: &str = "urn:de:fim:leika:leistung:99050012104000";
/// The standard the service accepts (any of its messages).
pub(super) const SERVICE_SCHEMA: &str = "urn:xoev-de:kosit:standard:xgewerbeanzeige_2.2";
/// The reply channels the test destination offers (manifest context; not FINK).
pub(super) const REPLY_CHANNELS: &[&str] = &["eMail", "deMail", "elster", "fitConnect"];
/// The service for JSON Fachdaten the test destination offers (manifest context): the test
/// pack's form, and a form whose schema no pack provides.
pub(super) const JSON_SERVICE_ID: &str = "urn:de:fim:leika:leistung:99099000000001";
/// A schema the JSON service offers that no installed pack provides.
pub(super) const JSON_SCHEMA_NOT_INSTALLED: &str =
    "https://schema.poststelle.invalid/fim/s99000003_1.0.schema.json";
/// An earlier submission of the same case.
const EARLIER_SUBMISSION_ID: &str = "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";

fn err(e: impl std::fmt::Display) -> VectorsError {
    VectorsError::Format(e.to_string())
}

/// How the event log deviates from the correct one.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Events {
    Correct,
    /// Only create-submission.
    NoSubmit,
    /// submit-submission signed with an unrelated key under the service's kid.
    Forged,
    /// submit-submission for another case.
    OtherCase,
    /// submit-submission without $schema and without authenticationTags.
    NoTags,
    /// The metadata tag in the SET is the data JWE's tag.
    WrongMetadataTag,
    /// The attachment ATT_PDF was replaced (re-encrypted) after the SET was written.
    ReplacedAttachment,
}

/// A submission to build.
#[derive(Clone)]
struct Sub {
    metadata: Value,
    /// Raw metadata bytes instead of `metadata` (for syntax errors).
    metadata_raw: Option<Vec<u8>>,
    data: Option<Vec<u8>>,
    data_header: Option<Value>,
    attachments: Vec<(String, Vec<u8>, Value)>,
    events: Events,
    drop_case_id: bool,
    /// The service the submission was created for (the submission JSON's `serviceType`).
    service: &'static str,
    /// The case log also holds an earlier submission of the case and our accept of it.
    earlier_accept: bool,
    /// An unrelated SET (about another submission of the case) signed by an unknown key.
    unknown_key_set: bool,
}

fn header(kid: &str, cty: &str) -> Value {
    json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": kid, "cty": cty})
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n% poststelle test vector: Lageplan (not a real PDF)\n%%EOF\n".to_vec()
}

fn png() -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.extend((0u8..=255).cycle().take(1024));
    v
}

fn attachment_entry(id: &str, bytes: &[u8], mime: &str, filename: &str) -> Value {
    json!({"attachmentId": id, "purpose": "attachment", "mimeType": mime, "filename": filename,
           "description": "Anlage", "hash": {"type": "sha512", "content": sha512_hex(bytes)}})
}

/// The correct submission: XGewerbeanzeige data plus two attachments.
fn base(kid: &str, xml: &[u8]) -> Sub {
    let metadata = json!({
        "contentStructure": {
            "data": {
                "submissionSchema": {"schemaUri": "urn:xoev-de:kosit:standard:xgewerbeanzeige_2.2#sta.gewerbemeldung.0100", "mimeType": "application/xml"},
                "hash": {"type": "sha512", "content": sha512_hex(xml)}
            },
            "attachments": [
                attachment_entry(ATT_PDF, &pdf(), "application/pdf", "lageplan.pdf"),
                attachment_entry(ATT_PNG, &png(), "image/png", "foto.png"),
            ]
        },
        "publicServiceType": {"name": "Gewerbeanmeldung", "identifier": SERVICE_ID}
    });
    Sub {
        metadata,
        metadata_raw: None,
        data: Some(xml.to_vec()),
        data_header: None,
        attachments: vec![
            (ATT_PDF.to_owned(), pdf(), header(kid, "application/pdf")),
            (ATT_PNG.to_owned(), png(), header(kid, "image/png")),
        ],
        events: Events::Correct,
        drop_case_id: false,
        service: SERVICE_ID,
        earlier_accept: false,
        unknown_key_set: false,
    }
}

fn seal(keys: &Keys, header: &Value, plain: &[u8]) -> Result<String, VectorsError> {
    encrypt_with_header(
        plain,
        &keys.enc_public,
        &serde_json::to_vec(header).map_err(err)?,
    )
    .map_err(err)
}

fn tag(jwe: &str) -> String {
    jwe.rsplit('.').next().unwrap_or_default().to_owned()
}

fn sign_set(keys: &Keys, forged: bool, claims: &Value) -> String {
    let key = if forged {
        &keys.unrelated_sig
    } else {
        &keys.delivery_sig
    };
    let head = json!({"typ": "secevent+jwt", "alg": "PS512", "kid": keys.delivery_sig.kid()});
    let mut out = base64url::encode(&serde_json::to_vec(&head).expect("json"));
    out.push('.');
    base64url::encode_into(&serde_json::to_vec(claims).expect("json"), &mut out);
    let sig = key.sign_ps512(out.as_bytes());
    out.push('.');
    base64url::encode_into(&sig, &mut out);
    out
}

fn build(keys: &Keys, sub: &Sub) -> Result<CapturedSubmission, VectorsError> {
    let kid = &keys.enc_kid;
    let metadata_plain = match &sub.metadata_raw {
        Some(raw) => raw.clone(),
        None => serde_json::to_vec(&sub.metadata).map_err(err)?,
    };
    let metadata_jwe = seal(keys, &header(kid, "application/json"), &metadata_plain)?;
    let data_jwe = match &sub.data {
        Some(d) => Some(seal(
            keys,
            sub.data_header
                .as_ref()
                .unwrap_or(&header(kid, "application/xml")),
            d,
        )?),
        None => None,
    };
    let mut attachments = BTreeMap::new();
    let mut att_tags = serde_json::Map::new();
    for (id, bytes, h) in &sub.attachments {
        let jwe = seal(keys, h, bytes)?;
        att_tags.insert(id.clone(), json!(tag(&jwe)));
        attachments.insert(id.clone(), jwe);
    }
    let mut tags = json!({"metadata": tag(&metadata_jwe), "attachments": att_tags});
    if let Some(d) = &data_jwe {
        tags["data"] = json!(tag(d));
    }
    if sub.events == Events::WrongMetadataTag {
        tags["metadata"] = json!(tag(data_jwe.as_deref().unwrap_or_default()));
    }
    if sub.events == Events::ReplacedAttachment {
        let (id, bytes, h) = &sub.attachments[0];
        attachments.insert(id.clone(), seal(keys, h, bytes)?);
    }
    let claims = |jti: &str, iat: i64, case: &str, event: &str, payload: Value| {
        json!({"$schema": SET_PAYLOAD_SCHEMA.uri(), "jti": jti, "iss": DELIVERY_SERVICE_ISS, "iat": iat,
               "sub": format!("submission:{SUBMISSION_ID}"), "txn": format!("case:{case}"),
               "events": {event: payload}})
    };
    let create = sign_set(
        keys,
        false,
        &claims(
            "6a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e01",
            NOW - 120,
            CASE_ID,
            CREATE_SUBMISSION,
            json!({}),
        ),
    );
    let submit_case = if sub.events == Events::OtherCase {
        "11111111-2222-4333-8444-555555555555"
    } else {
        CASE_ID
    };
    let mut submit_claims = claims(
        "6a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e02",
        NOW - 60,
        submit_case,
        SUBMIT_SUBMISSION,
        json!({"authenticationTags": tags}),
    );
    if sub.events == Events::NoTags {
        let map = submit_claims.as_object_mut().expect("object");
        map.remove("$schema");
        map.insert("events".into(), json!({SUBMIT_SUBMISSION: {}}));
    }
    let mut log = vec![create];
    if sub.earlier_accept || sub.unknown_key_set {
        // An earlier submission of the same case: the service's submit event and, signed by
        // the destination (or, for `unknown_key_set`, by a key nobody knows), our accept.
        let mut earlier = submit_claims.clone();
        earlier["jti"] = json!("6a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e10");
        earlier["sub"] = json!(format!("submission:{EARLIER_SUBMISSION_ID}"));
        log.push(sign_set(keys, false, &earlier));
        let signer = if sub.unknown_key_set {
            &keys.unrelated_sig
        } else {
            &keys.destination_sig
        };
        log.push(crate::fitconnect::set::accept_submission(
            signer,
            &crate::fitconnect::set::SubmissionRef {
                destination_id: DESTINATION_ID,
                submission_id: EARLIER_SUBMISSION_ID,
                case_id: CASE_ID,
            },
            &serde_json::from_value(tags.clone()).map_err(err)?,
            NOW - 90,
            SET_PAYLOAD_SCHEMA,
        ));
    }
    if sub.events != Events::NoSubmit {
        log.push(sign_set(keys, sub.events == Events::Forged, &submit_claims));
    }
    let mut submission = json!({
        "destinationId": DESTINATION_ID,
        "submissionId": SUBMISSION_ID,
        "caseId": CASE_ID,
        "serviceType": {"name": "Gewerbeanmeldung", "identifier": sub.service},
        "attachments": sub.attachments.iter().map(|(id, _, _)| id.clone()).collect::<Vec<_>>(),
        "encryptedMetadata": metadata_jwe,
    });
    if let Some(d) = data_jwe {
        submission["encryptedData"] = json!(d);
    }
    if sub.drop_case_id {
        submission.as_object_mut().expect("object").remove("caseId");
    }
    let jwks: Value =
        serde_json::from_str(&Jwks::to_json(&[&keys.delivery_sig.public_key().to_jwk(
            keys.delivery_sig.kid(),
            crate::jose::KeyUse::Signature,
            None,
        )]))
        .map_err(err)?;
    Ok(CapturedSubmission {
        submission,
        attachments,
        events: json!({"eventLog": log}),
        service_jwks: jwks,
        info: CaptureInfo {
            issuer: DELIVERY_SERVICE_ISS.to_owned(),
            captured_at: NOW,
            profile: ApiProfile::V1,
        },
    })
}

fn problem(id: &str, instance: &str) -> Value {
    json!({"type": format!("https://schema.fitko.de/fit-connect/events/problems/{id}"), "instance": instance})
}

fn add(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    sub: &Sub,
    expected: Value,
    extra: Option<(&str, String)>,
) -> Result<(), VectorsError> {
    let rel = format!("submission/{id}");
    let dir = g.dir.join(&rel);
    if g.force || !dir.join("submission.json").is_file() {
        let capture = build(&g.keys, sub)?;
        if dir.is_dir() {
            std::fs::remove_dir_all(&dir).map_err(err)?;
        }
        crate::fitconnect::capture_dir::write(&dir, &capture).map_err(err)?;
        g.done.written += 1;
    } else {
        g.done.kept += 1;
    }
    let mut inputs = vec![("capture", rel)];
    inputs.extend(extra);
    g.case(id, Kind::Submission, desc, rule, &inputs, expected);
    Ok(())
}

fn reject(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    sub: &Sub,
    problems: &[(&str, &str)],
) -> Result<(), VectorsError> {
    let list: Vec<Value> = problems.iter().map(|(p, i)| problem(p, i)).collect();
    add(
        g,
        id,
        desc,
        rule,
        sub,
        json!({"result": "reject", "problems": list}),
        None,
    )
}

fn envelope(sub: &Sub, with_message: bool) -> Value {
    let attachments: Vec<Value> = sub.attachments.iter().map(|(id, bytes, h)| {
        let entry = sub.metadata["contentStructure"]["attachments"].as_array().and_then(|l| l.iter().find(|a| a["attachmentId"].as_str().is_some_and(|a| a.eq_ignore_ascii_case(id)))).cloned().unwrap_or(Value::Null);
        json!({"id": id, "filename": entry["filename"], "mimeType": h["cty"], "purpose": entry["purpose"],
               "sha512": sha512_hex(bytes), "size": bytes.len(), "href": format!("attachments/{id}")})
    }).collect();
    let mut env = json!({
        "submission": {"id": SUBMISSION_ID, "caseId": CASE_ID, "destinationId": DESTINATION_ID,
                       "receivedAt": "2026-01-01T00:00:00Z",
                       "serviceType": {"name": "Gewerbeanmeldung", "identifier": sub.service}},
        "metadata": sub.metadata,
        "attachments": attachments,
    });
    if with_message {
        env["message"] = json!({"standard": "XGewerbeanzeige", "version": "2.2", "type": "sta.gewerbemeldung.0100",
                                "namespace": XGWA_NS, "schemaPack": "xgewerbeanzeige-2.2"});
    }
    env
}

fn accept(
    g: &mut Gen,
    id: &str,
    desc: &str,
    sub: &Sub,
    with_message: bool,
) -> Result<(), VectorsError> {
    let env = envelope(sub, with_message);
    let file = g.file(
        &format!("submission/{id}.envelope.json"),
        (serde_json::to_string_pretty(&env).map_err(err)? + "\n").as_bytes(),
    )?;
    add(
        g,
        id,
        desc,
        "FIT-Connect §3, §5, §8; architecture §6 (envelope)",
        sub,
        json!({"result": "accept"}),
        Some(("envelope", file)),
    )
}

/// A submission of JSON Fachdaten (`doc`, declaring `schema_uri`) for the JSON service, with
/// one attachment.
fn json_sub(kid: &str, schema_uri: &str, doc: &[u8]) -> Sub {
    let mut s = base(kid, doc);
    s.service = JSON_SERVICE_ID;
    s.data_header = Some(header(kid, "application/json"));
    s.attachments.truncate(1);
    s.metadata["contentStructure"]["attachments"]
        .as_array_mut()
        .expect("array")
        .truncate(1);
    s.metadata["contentStructure"]["data"]["submissionSchema"] =
        json!({"schemaUri": schema_uri, "mimeType": "application/json"});
    s.metadata["publicServiceType"] =
        json!({"name": "Anzeige einer Veranstaltung (Test)", "identifier": JSON_SERVICE_ID});
    s
}

/// The JSON Fachdaten cases: against the test pack `fim/pack` (the catalogue's development
/// fallback `test-vectors/fim/pack`).
fn json_cases(g: &mut Gen) -> Result<(), VectorsError> {
    let kid = g.keys.enc_kid.clone();
    let doc = |v: &Value| serde_json::to_vec_pretty(v).expect("a Value serializes");
    let valid = super::fim::valid();
    let sub = json_sub(&kid, super::fim::ROOT, &doc(&valid));
    let mut env = envelope(&sub, false);
    env["message"] = json!({"type": super::fim::ROOT, "schemaUri": super::fim::ROOT,
                            "schemaPack": "poststelle-fim-test"});
    env["data"] = valid;
    let id = "submission-valid-json-fim";
    let file = g.file(
        &format!("submission/{id}.envelope.json"),
        (serde_json::to_string_pretty(&env).map_err(err)? + "\n").as_bytes(),
    )?;
    add(
        g,
        id,
        "JSON Fachdaten valid against the installed FIM-style pack that provides the declared schemaUri; forwarded as they are (data), with schema URI and pack (message).",
        "FIT-Connect §5 submissionSchema (application/json); architecture §6 (envelope)",
        &sub,
        json!({"result": "accept"}),
        Some(("envelope", file)),
    )?;
    reject(
        g,
        "submission-schema-violation-json-data",
        "JSON Fachdaten that violate the declared schema (seven places).",
        "FIT-Connect §4 schema-violation (instance data)",
        &json_sub(&kid, super::fim::ROOT, &doc(&super::fim::invalid())),
        &[("schema-violation", "data")],
    )?;
    let text = String::from_utf8(doc(&super::fim::valid())).map_err(err)?;
    let duplicate = text.replacen(
        "\"F99000100\": \"Erika\",",
        "\"F99000100\": \"Erika\",\n    \"F99000100\": \"Max\",",
        1,
    );
    reject(
        g,
        "submission-syntax-violation-json-duplicate-member",
        "JSON Fachdaten with a member name twice in one object.",
        "FIT-Connect §4 syntax-violation; RFC 8259 §4",
        &json_sub(&kid, super::fim::ROOT, duplicate.as_bytes()),
        &[("syntax-violation", "data")],
    )?;
    let mut other = super::fim::valid();
    other["$schema"] = json!(JSON_SCHEMA_NOT_INSTALLED);
    reject(
        g,
        "submission-unsupported-schema-json-not-installed",
        "The service offers the declared JSON schema, but no installed pack provides it.",
        "FIT-Connect §4 unsupported-schema; poststelle: schemas resolve offline",
        &json_sub(&kid, JSON_SCHEMA_NOT_INSTALLED, &doc(&other)),
        &[("unsupported-schema", "metadata")],
    )?;
    Ok(())
}

#[allow(clippy::too_many_lines)]
pub(super) fn cases(g: &mut Gen, repo: &Path) -> Result<(), VectorsError> {
    json_cases(g)?;
    let xml =
        std::fs::read(repo.join("examples/xgewerbeanzeige/gewerbeanmeldung.xml")).map_err(err)?;
    let kid = g.keys.enc_kid.clone();
    let b = base(&kid, &xml);
    let edit = |f: &dyn Fn(&mut Sub)| {
        let mut s = b.clone();
        f(&mut s);
        s
    };
    let meta = |f: &dyn Fn(&mut Value)| {
        let mut s = b.clone();
        f(&mut s.metadata);
        s
    };

    accept(
        g,
        "submission-valid-xgewerbeanzeige",
        "XGewerbeanzeige 2.2 Fachdaten and two attachments; every check passes.",
        &b,
        true,
    )?;
    accept(
        g,
        "submission-valid-no-attachments",
        "Fachdaten without attachments.",
        &edit(&|s| {
            s.attachments.clear();
            s.metadata["contentStructure"]["attachments"] = json!([]);
        }),
        true,
    )?;
    accept(
        g,
        "submission-valid-attachments-only",
        "No Fachdaten (no data in the metadata, no encryptedData), attachments only.",
        &edit(&|s| {
            s.data = None;
            s.metadata["contentStructure"]
                .as_object_mut()
                .expect("object")
                .remove("data");
        }),
        false,
    )?;
    let large = edit(&|s| {
        s.data = None;
        s.metadata["contentStructure"]["data"]["hash"]["content"] = json!(EMPTY_SHA512_HEX);
        s.attachments.push((
            "3e9d1c2b-4a5f-4e6d-8c7b-9a0f1e2d3c4b".to_owned(),
            xml.clone(),
            header(&kid, "application/xml"),
        ));
        let mut entry = attachment_entry(
            "3e9d1c2b-4a5f-4e6d-8c7b-9a0f1e2d3c4b",
            &xml,
            "application/xml",
            "data.xml",
        );
        entry["purpose"] = json!("data");
        s.metadata["contentStructure"]["attachments"]
            .as_array_mut()
            .expect("array")
            .push(entry);
    });
    reject(
        g,
        "submission-purpose-data-not-in-1.0.0",
        "Fachdaten as attachment with purpose data (the > 10 MB rule) is not expressible in metadata 1.0.0.",
        "FIT-Connect §5 (1.0.0 purpose enum form|attachment|report), §8 placeholder rule; schema-violation",
        &large,
        &[("schema-violation", "metadata")],
    )?;

    reject(
        g,
        "submission-encryption-issue-data-unknown-kid",
        "The data JWE names a key the destination does not have.",
        "FIT-Connect §4 encryption-issue",
        &edit(&|s| {
            s.data_header = Some(header(
                "unknown-kid-of-another-destination",
                "application/xml",
            ))
        }),
        &[("encryption-issue", "data")],
    )?;
    reject(
        g,
        "submission-encryption-issue-attachment-alg",
        "An attachment JWE uses alg RSA1_5.",
        "FIT-Connect §4 encryption-issue; §3.1",
        &edit(&|s| {
            s.attachments[1].2 =
                json!({"alg": "RSA1_5", "enc": "A256GCM", "kid": kid, "cty": "image/png"})
        }),
        &[("encryption-issue", &format!("attachment:{ATT_PNG}"))],
    )?;
    reject(
        g,
        "submission-invalid-event-log-no-submit",
        "The event log has no submit-submission event.",
        "FIT-Connect §4 invalid-event-log; §3.3",
        &edit(&|s| s.events = Events::NoSubmit),
        &[("invalid-event-log", "submission")],
    )?;
    reject(
        g,
        "submission-invalid-event-log-forged-set",
        "submit-submission is not signed by the delivery service.",
        "FIT-Connect §4 invalid-event-log; §3.3 (verify the signature)",
        &edit(&|s| s.events = Events::Forged),
        &[("invalid-event-log", "submission")],
    )?;
    reject(
        g,
        "submission-invalid-event-log-other-case",
        "submit-submission belongs to another case (txn).",
        "FIT-Connect §4 invalid-event-log; §1.5 (txn = case)",
        &edit(&|s| s.events = Events::OtherCase),
        &[("invalid-event-log", "submission")],
    )?;
    reject(
        g,
        "submission-missing-authentication-tags",
        "submit-submission carries no authenticationTags.",
        "FIT-Connect §4 missing-authentication-tags; §3.3",
        &edit(&|s| s.events = Events::NoTags),
        &[("missing-authentication-tags", "submission")],
    )?;
    reject(
        g,
        "submission-incorrect-authentication-tag-metadata",
        "The metadata tag in the submit event is not the metadata JWE's.",
        "FIT-Connect §4 incorrect-authentication-tag; §3.3 integrity check",
        &edit(&|s| s.events = Events::WrongMetadataTag),
        &[("incorrect-authentication-tag", "metadata")],
    )?;
    reject(
        g,
        "submission-incorrect-authentication-tag-attachment",
        "An attachment was replaced after submission.",
        "FIT-Connect §4 incorrect-authentication-tag",
        &edit(&|s| s.events = Events::ReplacedAttachment),
        &[(
            "incorrect-authentication-tag",
            &format!("attachment:{ATT_PDF}"),
        )],
    )?;
    reject(
        g,
        "submission-syntax-violation-metadata",
        "The metadata plaintext is not JSON.",
        "FIT-Connect §4 syntax-violation",
        &edit(&|s| s.metadata_raw = Some(b"{\"contentStructure\":".to_vec())),
        &[("syntax-violation", "metadata")],
    )?;
    let broken = b"<?xml version=\"1.0\"?>\n<xga:sta.gewerbemeldung.0100 xmlns:xga=\"http://www.xgewerbeanzeige.de/spezifikation/2.2\">\n<unclosed>\n".to_vec();
    reject(
        g,
        "submission-syntax-violation-data",
        "The Fachdaten are not well-formed XML.",
        "FIT-Connect §4 syntax-violation",
        &edit(&|s| {
            s.metadata["contentStructure"]["data"]["hash"]["content"] = json!(sha512_hex(&broken));
            s.data = Some(broken.clone());
        }),
        &[("syntax-violation", "data")],
    )?;
    reject(
        g,
        "submission-schema-violation-metadata",
        "The metadata have no contentStructure.attachments.",
        "FIT-Connect §4 schema-violation; §5",
        &meta(&|m| {
            m["contentStructure"]
                .as_object_mut()
                .expect("object")
                .remove("attachments");
        }),
        &[("schema-violation", "metadata")],
    )?;
    let text = String::from_utf8_lossy(&xml).to_string();
    let (start, end) = (
        text.find("<xga:betriebArt>").unwrap_or(0),
        text.find("</xga:betriebArt>")
            .map_or(0, |e| e + "</xga:betriebArt>".len()),
    );
    let invalid: Vec<u8> = format!("{}{}", &text[..start], &text[end..]).into_bytes();
    reject(
        g,
        "submission-schema-violation-data",
        "The XGewerbeanzeige message lacks the required betriebArt.",
        "FIT-Connect §4 schema-violation (instance data); XSD cvc-complex-type.2.4",
        &edit(&|s| {
            s.metadata["contentStructure"]["data"]["hash"]["content"] = json!(sha512_hex(&invalid));
            s.data = Some(invalid.clone());
        }),
        &[("schema-violation", "data")],
    )?;
    reject(
        g,
        "submission-unsupported-metadata-schema",
        "The metadata name schema version 3.0.0.",
        "FIT-Connect §4 unsupported-metadata-schema; §5",
        &meta(&|m| {
            m["$schema"] =
                json!("https://schema.fitko.de/fit-connect/metadata/3.0.0/metadata.schema.json")
        }),
        &[("unsupported-metadata-schema", "metadata")],
    )?;
    reject(
        g,
        "submission-missing-data",
        "The metadata announce Fachdaten, but encryptedData is absent.",
        "FIT-Connect §4 missing-data",
        &edit(&|s| s.data = None),
        &[("missing-data", "data")],
    )?;
    reject(
        g,
        "submission-missing-schema",
        "encryptedData is sent, but the metadata name no submission schema.",
        "FIT-Connect §4 missing-schema",
        &meta(&|m| {
            m["contentStructure"]
                .as_object_mut()
                .expect("object")
                .remove("data");
        }),
        &[("missing-schema", "metadata")],
    )?;
    reject(
        g,
        "submission-unsupported-schema-json",
        "JSON Fachdaten (FIM JSON Schema) are not supported by this destination.",
        "FIT-Connect §4 unsupported-schema",
        &meta(&|m| {
            m["contentStructure"]["data"]["submissionSchema"]["mimeType"] =
                json!("application/json")
        }),
        &[("unsupported-schema", "metadata")],
    )?;
    let foreign =
        b"<?xml version=\"1.0\"?>\n<antrag xmlns=\"urn:example:unknown-standard\"/>\n".to_vec();
    reject(
        g,
        "submission-unsupported-schema-unknown-namespace",
        "The Fachdaten belong to a standard the destination has no schema for.",
        "FIT-Connect §4 unsupported-schema",
        &edit(&|s| {
            s.metadata["contentStructure"]["data"]["hash"]["content"] = json!(sha512_hex(&foreign));
            s.data = Some(foreign.clone());
        }),
        &[("unsupported-schema", "data")],
    )?;
    reject(
        g,
        "submission-hash-mismatch-data",
        "The data hash in the metadata is of other bytes.",
        "FIT-Connect §4 hash-mismatch; §8",
        &meta(&|m| {
            m["contentStructure"]["data"]["hash"]["content"] = json!(sha512_hex(b"other bytes"))
        }),
        &[("hash-mismatch", "data")],
    )?;
    reject(
        g,
        "submission-hash-mismatch-two-attachments",
        "Both attachment hashes are wrong: both are reported.",
        "FIT-Connect §4 hash-mismatch; §8",
        &meta(&|m| {
            for a in m["contentStructure"]["attachments"]
                .as_array_mut()
                .expect("array")
            {
                a["hash"]["content"] = json!(sha512_hex(b"x"));
            }
        }),
        &[
            ("hash-mismatch", &format!("attachment:{ATT_PDF}")),
            ("hash-mismatch", &format!("attachment:{ATT_PNG}")),
        ],
    )?;
    reject(
        g,
        "submission-hash-uppercase-hex",
        "An attachment hash in uppercase hex violates the metadata schema.",
        "FIT-Connect §8 (lowercase hex of the plaintext)",
        &meta(&|m| {
            m["contentStructure"]["attachments"][0]["hash"]["content"] =
                json!(sha512_hex(&pdf()).to_uppercase())
        }),
        &[("schema-violation", "metadata")],
    )?;
    reject(
        g,
        "submission-incorrect-attachments",
        "An attachment is sent that the metadata do not list.",
        "FIT-Connect §4 incorrect-attachments; §12.6 (attachment set == metadata list)",
        &meta(&|m| {
            m["contentStructure"]["attachments"]
                .as_array_mut()
                .expect("array")
                .pop();
        }),
        &[("incorrect-attachments", "submission")],
    )?;
    reject(
        g,
        "submission-missing-attachments",
        "The metadata list an attachment that was not sent.",
        "FIT-Connect §4 missing-attachments",
        &edit(&|s| {
            s.attachments.pop();
        }),
        &[("missing-attachments", "submission")],
    )?;
    let other_service = "urn:de:fim:leika:leistung:99000000000000";
    reject(
        g,
        "submission-unsupported-service",
        "The submission was created for a public service the destination does not offer.",
        "FIT-Connect §4 unsupported-service; §1.2; §7 (destination services)",
        &edit(&|s| {
            s.service = other_service;
            s.metadata["publicServiceType"]["identifier"] = json!(other_service);
        }),
        &[("unsupported-service", "metadata")],
    )?;
    reject(
        g,
        "submission-service-differs-from-created",
        "The metadata claim another service than the delivery service says the submission was created for (a sender steering it to another Fachverfahren).",
        "FIT-Connect §4 unsupported-service; decide from what the delivery service asserts",
        &meta(&|m| m["publicServiceType"]["identifier"] = json!(other_service)),
        &[("unsupported-service", "metadata")],
    )?;
    reject(
        g,
        "submission-unsupported-reply-channel",
        "The metadata ask for a reply channel the destination does not support (FINK).",
        "FIT-Connect §4 unsupported-reply-channel; §5 replyChannel",
        &meta(&|m| m["replyChannel"] = json!({"fink": {"finkPostfachRef": "fink-ref-1"}})),
        &[("unsupported-reply-channel", "metadata")],
    )?;
    reject(
        g,
        "submission-schema-not-accepted-by-service",
        "The declared submission schema (XBau) is not one the service accepts.",
        "FIT-Connect §4 unsupported-schema; §7 (publicServices[].submissionSchemas)",
        &meta(&|m| {
            m["contentStructure"]["data"]["submissionSchema"]["schemaUri"] =
                json!("urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200");
        }),
        &[("unsupported-schema", "metadata")],
    )?;
    reject(
        g,
        "submission-declared-schema-differs-from-document",
        "The metadata declare another message than the Fachdaten are (declared sta.gewerbemeldung.0200, sent 0100).",
        "FIT-Connect §5 submissionSchema names the Fachdaten; schema-violation",
        &meta(&|m| {
            m["contentStructure"]["data"]["submissionSchema"]["schemaUri"] =
                json!(format!("{SERVICE_SCHEMA}#sta.gewerbemeldung.0200"));
        }),
        &[("schema-violation", "data")],
    )?;
    reject(
        g,
        "submission-empty-hash-placeholder-with-inline-data",
        "data.hash is the SHA-512 of the empty string (the > 10 MB placeholder) while the Fachdaten travel inline: the placeholder never switches the hash check off.",
        "FIT-Connect §8 (placeholder only without encryptedData); hash-mismatch",
        &meta(&|m| m["contentStructure"]["data"]["hash"]["content"] = json!(EMPTY_SHA512_HEX)),
        &[("hash-mismatch", "data")],
    )?;
    reject(
        g,
        "submission-attachment-listed-twice",
        "The metadata list the same attachment twice.",
        "FIT-Connect §4 incorrect-attachments",
        &meta(&|m| {
            let list = m["contentStructure"]["attachments"]
                .as_array_mut()
                .expect("array");
            let first = list[0].clone();
            list.push(first);
        }),
        &[("incorrect-attachments", "submission")],
    )?;
    accept(
        g,
        "submission-valid-uppercase-attachment-id",
        "The metadata spell an attachment id in upper case; UUIDs are case-insensitive.",
        &meta(&|m| {
            let id = m["contentStructure"]["attachments"][0]["attachmentId"]
                .as_str()
                .expect("id")
                .to_ascii_uppercase();
            m["contentStructure"]["attachments"][0]["attachmentId"] = json!(id);
        }),
        true,
    )?;
    accept(
        g,
        "submission-valid-after-our-earlier-accept",
        "The case log also holds an earlier submission and the destination's own accept of it (signed with the destination's key).",
        &edit(&|s| s.earlier_accept = true),
        true,
    )?;
    add(
        g,
        "submission-deferred-unknown-key-on-unrelated-set",
        "The case log holds a SET about another submission signed by a key nobody knows: not the sender's fault, decided later (no reject).",
        "FIT-Connect §3.3; fitconnect::event_log rule 2",
        &edit(&|s| s.unknown_key_set = true),
        json!({"result": "defer"}),
        None,
    )?;
    reject(
        g,
        "submission-technical-error-no-case-id",
        "The delivery service's submission JSON lacks caseId.",
        "FIT-Connect §4 technical-error",
        &edit(&|s| s.drop_case_id = true),
        &[("technical-error", "other")],
    )?;
    Ok(())
}
