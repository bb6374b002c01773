//! `pipeline::check_submission`: accepts correct XGewerbeanzeige and XBau submissions and
//! rejects each cause with exactly its FIT-Connect problem type and instance.

use poststelle::fitconnect::captured::CapturedSubmission;
use poststelle::fitconnect::set::{self, StaticKeys};
use poststelle::jose::jws;
use poststelle::pipeline::{Accepted, CheckKeys, Refused, Rejected, check_submission};
use serde_json::json;

use crate::pipeline_fixture::{
    Draft, ISSUER, capture, capture_with_log, check_keys, keys, limits, schemas, service_set,
    submit_claims, xbau, xgewerbeanzeige,
};
use crate::sandbox_support;

const P: &str = "https://schema.fitko.de/fit-connect/events/problems/";

fn raw(c: &CapturedSubmission) -> Result<Accepted, Refused> {
    check_submission(
        c,
        &check_keys(),
        &schemas(),
        &limits(),
        sandbox_support::now(),
    )
}

fn run(c: &CapturedSubmission) -> Result<Accepted, Rejected> {
    raw(c).map_err(|refused| refused.rejected().expect("a decision, not deferred"))
}

/// The (type suffix, instance) pairs of a rejection.
fn problems(c: &CapturedSubmission) -> Vec<(String, String)> {
    let rejected = run(c).expect_err("must be rejected");
    rejected
        .problems
        .iter()
        .map(|p| {
            (
                p.type_uri.strip_prefix(P).expect("prefix").to_owned(),
                p.instance.clone(),
            )
        })
        .collect()
}

fn one(kind: &str, instance: &str) -> Vec<(String, String)> {
    vec![(kind.to_owned(), instance.to_owned())]
}

#[test]
fn valid_xgewerbeanzeige_is_accepted_with_envelope_and_evidence() {
    let d = Draft::new(&xgewerbeanzeige(), 2);
    let s = d.seal();
    let accepted = run(&capture(&d, &s)).expect("accepted");
    assert_eq!(accepted.submission_id, d.submission_id);
    assert_eq!(accepted.tags, s.tags);
    assert_eq!(accepted.attachments.len(), 2);
    assert_eq!(
        accepted.attachments[0]
            .content
            .as_bytes()
            .expect("in memory"),
        &d.attachments[0].1[..]
    );
    let m = accepted.message.as_ref().expect("message");
    assert_eq!(
        (m.standard.as_str(), m.version.as_str()),
        ("XGewerbeanzeige", "2.2")
    );
    assert!(m.schema_pack.starts_with("xgewerbeanzeige-2.2@sha256:"));
    // Evidence: the submit SET verbatim and a hash per checked object.
    assert!(accepted.evidence.submit_set.is_some());
    assert_eq!(accepted.evidence.hashes.len(), 3);
    let env = accepted.envelope("2026-01-01T00:00:00Z");
    assert_eq!(env["submission"]["id"], d.submission_id.as_str());
    assert_eq!(env["message"]["type"], "sta.gewerbemeldung.0100");
    assert_eq!(env["attachments"][1]["id"], d.attachments[1].0.as_str());
    assert_eq!(env["metadata"], d.metadata);
    // The schema-driven JSON of the Fachdaten (xoev::transform).
    assert!(env["data"].is_object(), "{}", env["data"]);
    // The text the store keeps is the same envelope, member for member and in order.
    let text = accepted.envelope_json("2026-01-01T00:00:00Z");
    assert_eq!(text, env.to_string());
    let keys: Vec<&String> = env.as_object().expect("object").keys().collect();
    assert_eq!(
        keys,
        ["submission", "metadata", "attachments", "message", "data"]
    );
}

#[test]
fn valid_xbau_is_accepted() {
    let Some(_) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let d = Draft::new(&xbau(), 0);
    let accepted = run(&capture(&d, &d.seal())).expect("accepted");
    let m = accepted.message.clone().expect("message");
    assert_eq!(m.standard, "XBau");
    assert_eq!(m.message_type, "baugenehmigung.antrag.0200");
    // The example's one inline binary moved out to an attachment.
    assert_eq!(accepted.binaries.len(), 1);
    let env = accepted.envelope("2026-01-01T00:00:00Z");
    assert_eq!(env["attachments"][0]["id"], "binary-1");
}

#[test]
fn bad_data_hash_is_hash_mismatch_on_data() {
    let mut d = Draft::new(&xgewerbeanzeige(), 0);
    d.metadata["contentStructure"]["data"]["hash"]["content"] = json!("0".repeat(128));
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("hash-mismatch", "data")
    );
}

#[test]
fn bad_attachment_hashes_are_all_reported() {
    let mut d = Draft::new(&xgewerbeanzeige(), 3);
    for i in [0, 2] {
        d.metadata["contentStructure"]["attachments"][i]["hash"]["content"] =
            json!("a".repeat(128));
    }
    let got = problems(&capture(&d, &d.seal()));
    let want: Vec<_> = [0, 2]
        .iter()
        .map(|&i| {
            (
                "hash-mismatch".to_owned(),
                format!("attachment:{}", d.attachments[i].0),
            )
        })
        .collect();
    let mut got_sorted = got.clone();
    got_sorted.sort();
    let mut want_sorted = want;
    want_sorted.sort();
    assert_eq!(got_sorted, want_sorted);
}

#[test]
fn tag_mismatch_is_incorrect_authentication_tag() {
    let d = Draft::new(&xgewerbeanzeige(), 1);
    let s = d.seal();
    let mut tags = s.tags.clone();
    // The tag of another, equally valid JWE of the same data: the SET names what was sent,
    // the download returned something else.
    let other = d.seal();
    tags.data = other.tags.data.clone();
    let set = service_set(&submit_claims(&d, &tags), &keys().service);
    assert_eq!(
        problems(&capture_with_log(&d, &s, vec![set])),
        one("incorrect-authentication-tag", "data")
    );
}

#[test]
fn undecryptable_attachment_is_encryption_issue() {
    let d = Draft::new(&xgewerbeanzeige(), 1);
    let mut s = d.seal();
    let id = d.attachments[0].0.clone();
    // Flip the ciphertext (part 4) but keep the tag: the tag still matches the SET, GCM fails.
    let token = s.attachments.get_mut(&id).expect("attachment");
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let ct = &mut parts[3];
    let first = if ct.starts_with('A') { "B" } else { "A" };
    ct.replace_range(0..1, first);
    *token = parts.join(".");
    assert_eq!(
        problems(&capture(&d, &s)),
        one("encryption-issue", &format!("attachment:{id}"))
    );
}

#[test]
fn metadata_schema_violation_is_schema_violation_on_metadata() {
    let mut d = Draft::new(&xgewerbeanzeige(), 0);
    d.metadata["contentStructure"]["data"]["hash"]["type"] = json!("md5");
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("schema-violation", "metadata")
    );
}

#[test]
fn unknown_xml_is_unsupported_schema() {
    let xml = b"<?xml version=\"1.0\"?><x:antrag xmlns:x=\"urn:example:unknown\"/>".to_vec();
    let d = Draft::new(&xml, 0);
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("unsupported-schema", "data")
    );
}

#[test]
fn json_fachdaten_are_unsupported_schema_on_metadata() {
    let mut d = Draft::new(b"{}", 0);
    d.metadata["contentStructure"]["data"]["submissionSchema"]["mimeType"] =
        json!("application/json");
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("unsupported-schema", "metadata")
    );
}

#[test]
fn xsd_invalid_data_is_schema_violation_on_data() {
    let xml = String::from_utf8(xgewerbeanzeige()).expect("utf-8");
    // Drop the first child of the message: the content model then misses a required element.
    let broken = xml
        .replacen("<xga:nachrichtenkopf>", "<xga:unerwartet>", 1)
        .replacen("</xga:nachrichtenkopf>", "</xga:unerwartet>", 1);
    assert_ne!(broken, xml, "the example has a nachrichtenkopf");
    let d = Draft::new(broken.as_bytes(), 0);
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("schema-violation", "data")
    );
}

#[test]
fn malformed_xml_is_syntax_violation() {
    let xml = xgewerbeanzeige();
    let d = Draft::new(&xml[..xml.len() / 2], 0);
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("syntax-violation", "data")
    );
}

#[test]
fn missing_attachment_is_missing_attachments() {
    let d = Draft::new(&xgewerbeanzeige(), 2);
    let mut s = d.seal();
    let gone = d.attachments[1].0.clone();
    s.attachments.remove(&gone);
    s.tags.attachments.remove(&gone);
    assert_eq!(
        problems(&capture(&d, &s)),
        one("missing-attachments", "submission")
    );
}

#[test]
fn unlisted_attachment_is_incorrect_attachments() {
    let mut d = Draft::new(&xgewerbeanzeige(), 2);
    d.metadata["contentStructure"]["attachments"]
        .as_array_mut()
        .expect("array")
        .pop();
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("incorrect-attachments", "submission")
    );
}

#[test]
fn missing_data_is_missing_data() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let mut s = d.seal();
    s.data = None;
    s.tags.data = None;
    assert_eq!(problems(&capture(&d, &s)), one("missing-data", "data"));
}

#[test]
fn event_log_without_submit_event_is_invalid_event_log() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let s = d.seal();
    assert_eq!(
        problems(&capture_with_log(&d, &s, vec![])),
        one("invalid-event-log", "submission")
    );
}

#[test]
fn set_signed_by_an_unknown_key_is_deferred_not_rejected() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let s = d.seal();
    // Signed by a key the delivery service's JWKS does not (or no longer) hold: not the
    // sender's fault, possibly key rotation — the decision is deferred, never a reject.
    let unknown = service_set(
        &submit_claims(&d, &s.tags),
        &sandbox_support::keys().signing_private,
    );
    let refused = raw(&capture_with_log(&d, &s, vec![unknown])).expect_err("not accepted");
    assert!(matches!(refused, Refused::Deferred(_)), "{refused:?}");
}

/// Check keys with the destination's own signing key registered (as `serve` does).
fn with_destination_key(d: &Draft) -> StaticKeys {
    let k = keys();
    let signing = &sandbox_support::keys().signing_private;
    StaticKeys {
        delivery_service: k.sets.delivery_service.clone(),
        destinations: vec![(
            d.destination_id.clone(),
            signing.kid().to_owned(),
            signing.public_key().clone(),
        )],
    }
}

#[test]
fn our_own_accept_of_an_earlier_submission_in_the_case_does_not_break_the_next() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let s = d.seal();
    let earlier = uuid::Uuid::new_v4().to_string();
    let mut earlier_claims = submit_claims(&d, &s.tags);
    earlier_claims["sub"] = json!(format!("submission:{earlier}"));
    let our_accept = set::accept_submission(
        &sandbox_support::keys().signing_private,
        &set::SubmissionRef {
            destination_id: &d.destination_id,
            submission_id: &earlier,
            case_id: &d.case_id,
        },
        &s.tags,
        sandbox_support::now(),
        set::PayloadSchema::default(),
    );
    let log = vec![
        service_set(&earlier_claims, &keys().service),
        our_accept,
        service_set(&submit_claims(&d, &s.tags), &keys().service),
    ];
    let c = capture_with_log(&d, &s, log);
    // Without the destination's key the unrelated SET cannot be verified: deferred, not a
    // (permanent) reject.
    assert!(matches!(raw(&c), Err(Refused::Deferred(_))));
    // With it (serve registers every destination's signing key) the submission is accepted.
    let sets = with_destination_key(&d);
    let check = CheckKeys {
        decryption: &keys().ring,
        sets: &sets,
    };
    let accepted = check_submission(&c, &check, &schemas(), &limits(), sandbox_support::now())
        .expect("accepted");
    assert_eq!(accepted.submission_id, d.submission_id);
}

#[test]
fn a_set_with_a_duplicate_sub_is_invalid_event_log() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let s = d.seal();
    let claims = submit_claims(&d, &s.tags).to_string();
    // Two `sub` members: one parser would read the other submission, one this.
    let other = format!(r#"{{"sub":"submission:{}","#, uuid::Uuid::new_v4());
    let doubled = claims.replacen('{', &other, 1);
    let token = jws::sign(doubled.as_bytes(), &keys().service, Some(set::SET_TYP));
    assert_eq!(
        problems(&capture_with_log(&d, &s, vec![token])),
        one("invalid-event-log", "submission")
    );
}

#[test]
fn metadata_with_a_duplicate_member_is_a_syntax_violation() {
    let mut d = Draft::new(&xgewerbeanzeige(), 0);
    let text = d.metadata.to_string();
    // `contentStructure` twice: the last would silently win in a lenient parser.
    let doubled = text.replacen('{', r#"{"contentStructure":{"attachments":[]},"#, 1);
    d.raw_metadata = Some(doubled.into_bytes());
    assert_eq!(
        problems(&capture(&d, &d.seal())),
        one("syntax-violation", "metadata")
    );
}

#[test]
fn submit_event_of_another_case_is_invalid_event_log() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let s = d.seal();
    let mut claims = submit_claims(&d, &s.tags);
    claims["txn"] = json!(format!("case:{}", uuid::Uuid::new_v4()));
    let set = service_set(&claims, &keys().service);
    assert_eq!(
        problems(&capture_with_log(&d, &s, vec![set])),
        one("invalid-event-log", "submission")
    );
}

#[test]
fn submit_event_without_tags_is_missing_authentication_tags() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let s = d.seal();
    let mut claims = submit_claims(&d, &s.tags);
    claims["events"] = json!({ set::SUBMIT_SUBMISSION: {} });
    // Without `$schema` the SET layer does not check the event payload: the tags check does.
    claims.as_object_mut().expect("object").remove("$schema");
    let set = service_set(&claims, &keys().service);
    assert_eq!(
        problems(&capture_with_log(&d, &s, vec![set])),
        one("missing-authentication-tags", "submission")
    );
}

#[test]
fn broken_submission_json_is_technical_error() {
    let d = Draft::new(&xgewerbeanzeige(), 0);
    let mut c = capture(&d, &d.seal());
    c.submission["caseId"] = json!("not-a-uuid");
    assert_eq!(problems(&c), one("technical-error", "other"));
    assert_eq!(c.info.issuer, ISSUER);
}

/// Issue 16: a rule that cannot be evaluated (sch-stat-002 raises XPTY0004 on an XSD-valid
/// message with two natural-person Bauherren) must not pass silently: `reject` rejects the
/// submission as a technical error; `annotate` accepts it with the processing error in the
/// envelope.
#[test]
fn unevaluable_business_rules_are_a_technical_error_in_reject_mode() {
    use poststelle::xoev::rules::BusinessRules;
    let Some(shared) = crate::shared_data::xoev_or_skip() else {
        return;
    };
    let text = std::fs::read_to_string(
        shared.join("xoev/samples/xbau/fv-testdateien/statistik.baugenehmigung.0421_sample.xml"),
    )
    .expect("sample");
    let doubled = crate::schematron_xbau::two_bauherren(&text);
    let d = Draft::new(doubled.as_bytes(), 0);
    let c = capture(&d, &d.seal());
    let with = |business_rules| {
        check_submission(
            &c,
            &check_keys(),
            &poststelle::pipeline::Schemas {
                business_rules,
                ..schemas()
            },
            &limits(),
            sandbox_support::now(),
        )
    };
    let rejected = with(BusinessRules::Reject)
        .expect_err("rejected")
        .rejected()
        .expect("a decision");
    let got: Vec<(&str, &str)> = rejected
        .problems
        .iter()
        .map(|p| (p.type_uri.as_str(), p.instance.as_str()))
        .collect();
    assert_eq!(got, [(&*format!("{P}technical-error"), "other")]);

    let accepted = with(BusinessRules::Annotate).expect("annotate accepts");
    let env = accepted.envelope("2026-01-01T00:00:00Z");
    assert_eq!(
        accepted.envelope_json("2026-01-01T00:00:00Z"),
        env.to_string(),
        "the stored text is the envelope, businessRules included"
    );
    let findings = env["businessRules"]["findings"]
        .as_array()
        .expect("findings");
    let stat002 = findings
        .iter()
        .find(|f| f["rule"] == "sch-stat-002")
        .expect("sch-stat-002 reported");
    assert_eq!(stat002["kind"], "processing-error");
    assert_eq!(stat002["severity"], "error");
    assert!(
        stat002["message"]
            .as_str()
            .expect("message")
            .contains("XPTY0004")
    );

    let off = with(BusinessRules::Off).expect("off accepts");
    assert!(
        off.envelope("2026-01-01T00:00:00Z")
            .get("businessRules")
            .is_none()
    );
}
