//! `metadata` cases: FIT-Connect §5 (metadata schema 1.0.0, version chosen by `$schema`) and
//! §4 (the problem type a violation produces). The 2.x cases are in `metadata_v2`.

use serde_json::{Value, json};

use super::Gen;
use crate::vectors::{Kind, VectorsError};

const V1_URI: &str = "https://schema.fitko.de/fit-connect/metadata/1.0.0/metadata.schema.json";
const HASH: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
const ATTACHMENT_ID: &str = "654bf3b3-7e3a-4d8f-9a55-0c6a8d2e4f11";

/// A complete, valid 1.0.0 document.
fn full() -> Value {
    json!({
        "contentStructure": {
            "data": {
                "submissionSchema": {"schemaUri": "urn:xoev-de:xgewerbeanzeige:standard:xgewerbeanzeige_2.2", "mimeType": "application/xml"},
                "hash": {"type": "sha512", "content": HASH}
            },
            "attachments": [{
                "attachmentId": ATTACHMENT_ID, "purpose": "attachment", "mimeType": "application/pdf",
                "filename": "lageplan.pdf", "description": "Lageplan",
                "hash": {"type": "sha512", "content": HASH}
            }]
        },
        "publicServiceType": {"name": "Gewerbeanmeldung", "identifier": "urn:de:fim:leika:leistung:99050012104000"},
        "additionalReferenceInfo": {"senderReference": "TV-0001", "applicationDate": "2025-12-31"}
    })
}

fn edit(f: impl FnOnce(&mut Value)) -> Value {
    let mut v = full();
    f(&mut v);
    v
}

pub(super) fn add(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    doc: &[u8],
    expected: Value,
) -> Result<(), VectorsError> {
    let file = g.file(&format!("metadata/{id}.json"), doc)?;
    g.case(
        id,
        Kind::Metadata,
        desc,
        rule,
        &[("document", file)],
        expected,
    );
    Ok(())
}

fn valid(g: &mut Gen, id: &str, desc: &str, doc: &Value) -> Result<(), VectorsError> {
    let bytes = serde_json::to_vec_pretty(&super::sorted(doc)).expect("json");
    add(
        g,
        id,
        desc,
        "FIT-Connect §5 (metadata 1.0.0)",
        &bytes,
        json!({"result": "valid", "version": "1.0.0"}),
    )
}

/// A 1.0.0 schema violation (written with sorted members, as first committed).
fn violation(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    doc: &Value,
    pointer: &str,
) -> Result<(), VectorsError> {
    violation_in_order(g, id, desc, rule, &super::sorted(doc), pointer)
}

/// A schema violation, the document's members in the order given (the 2.x cases).
pub(super) fn violation_in_order(
    g: &mut Gen,
    id: &str,
    desc: &str,
    rule: &str,
    doc: &Value,
    pointer: &str,
) -> Result<(), VectorsError> {
    let bytes = serde_json::to_vec_pretty(doc).expect("json");
    add(
        g,
        id,
        desc,
        &format!("{rule}; problem schema-violation (§4)"),
        &bytes,
        json!({"result": "error", "problem": "schema-violation", "pointer": pointer}),
    )
}

fn unsupported(g: &mut Gen, id: &str, desc: &str, schema: Value) -> Result<(), VectorsError> {
    let doc = edit(|v| v["$schema"] = schema);
    let bytes = serde_json::to_vec_pretty(&super::sorted(&doc)).expect("json");
    add(
        g,
        id,
        desc,
        "FIT-Connect §5 (validate against the version in $schema); problem unsupported-metadata-schema (§4)",
        &bytes,
        json!({"result": "error", "problem": "unsupported-metadata-schema"}),
    )
}

fn set(path: &[&str], value: Value) -> Value {
    edit(|v| {
        let mut cur = v;
        for p in &path[..path.len() - 1] {
            cur = match p.parse::<usize>() {
                Ok(i) => &mut cur[i],
                Err(_) => &mut cur[*p],
            };
        }
        let last = path[path.len() - 1];
        match value {
            Value::Null => {
                if let Some(o) = cur.as_object_mut() {
                    o.remove(last);
                }
            }
            value => cur[last] = value,
        }
    })
}

#[allow(clippy::too_many_lines)]
pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    valid(
        g,
        "metadata-valid-minimal",
        "Only contentStructure with an empty attachment list.",
        &json!({"contentStructure": {"attachments": []}}),
    )?;
    valid(
        g,
        "metadata-valid-full",
        "Data, one attachment, public service and reference info.",
        &full(),
    )?;
    valid(
        g,
        "metadata-valid-explicit-schema-1.0.0",
        "$schema naming 1.0.0 explicitly selects 1.0.0.",
        &edit(|v| v["$schema"] = json!(V1_URI)),
    )?;
    valid(
        g,
        "metadata-valid-x-extension-fields",
        "Real senders add x- fields to additionalReferenceInfo; the schema allows them.",
        &edit(|v| v["additionalReferenceInfo"]["x-sender"] = json!({"system": "portal"})),
    )?;
    valid(
        g,
        "metadata-valid-reply-channel-email",
        "A reply channel with exactly one member.",
        &edit(|v| v["replyChannel"] = json!({"eMail": {"address": "antrag@example.org"}})),
    )?;
    valid(
        g,
        "metadata-valid-reply-channel-elster",
        "ELSTER reply channel with a 10-digit account id.",
        &edit(|v| v["replyChannel"] = json!({"elster": {"accountId": "1234567890"}})),
    )?;
    valid(
        g,
        "metadata-valid-payment",
        "Payment information with all required members.",
        &edit(
            |v| v["paymentInformation"] = json!({"transactionReference": "TV-1", "transactionId": "abc-123", "paymentMethod": "INVOICE", "status": "BOOKED", "grossAmount": 12.5}),
        ),
    )?;
    valid(
        g,
        "metadata-valid-authentication-information",
        "An identification report reference.",
        &edit(
            |v| v["authenticationInformation"] = json!([{"type": "identificationReport", "version": "1.0.0", "content": "eyJhbGciOiJub25lIn0"}]),
        ),
    )?;
    valid(
        g,
        "metadata-valid-form-purpose",
        "Attachment purpose form.",
        &set(
            &["contentStructure", "attachments", "0", "purpose"],
            json!("form"),
        ),
    )?;
    valid(
        g,
        "metadata-valid-report-purpose",
        "Attachment purpose report.",
        &set(
            &["contentStructure", "attachments", "0", "purpose"],
            json!("report"),
        ),
    )?;
    valid(
        g,
        "metadata-valid-json-data",
        "Fachdaten in JSON (mimeType application/json).",
        &set(
            &["contentStructure", "data", "submissionSchema", "mimeType"],
            json!("application/json"),
        ),
    )?;

    add(
        g,
        "metadata-not-json",
        "The decrypted metadata are not JSON.",
        "FIT-Connect §4 syntax-violation (instance metadata)",
        b"{\"contentStructure\": {\"attachments\": []}",
        json!({"result": "error", "problem": "syntax-violation"}),
    )?;
    add(
        g,
        "metadata-empty",
        "Zero bytes are not a JSON document.",
        "FIT-Connect §4 syntax-violation",
        b"",
        json!({"result": "error", "problem": "syntax-violation"}),
    )?;
    add(
        g,
        "metadata-trailing-garbage",
        "JSON followed by garbage is not JSON.",
        "RFC 8259 §2; FIT-Connect §4 syntax-violation",
        b"{\"contentStructure\":{\"attachments\":[]}} x",
        json!({"result": "error", "problem": "syntax-violation"}),
    )?;
    add(
        g,
        "metadata-top-level-array",
        "The document must be an object.",
        "FIT-Connect §5 (type object); schema-violation",
        b"[]",
        json!({"result": "error", "problem": "schema-violation", "pointer": ""}),
    )?;

    let r = "FIT-Connect §5 (1.0.0)";
    violation(
        g,
        "metadata-content-structure-missing",
        "contentStructure is required.",
        r,
        &edit(|v| {
            v.as_object_mut()
                .expect("object")
                .remove("contentStructure");
        }),
        "",
    )?;
    violation(
        g,
        "metadata-attachments-missing",
        "contentStructure.attachments is required.",
        r,
        &set(&["contentStructure", "attachments"], Value::Null),
        "/contentStructure",
    )?;
    violation(
        g,
        "metadata-data-hash-missing",
        "data requires hash.",
        r,
        &set(&["contentStructure", "data", "hash"], Value::Null),
        "/contentStructure/data",
    )?;
    violation(
        g,
        "metadata-data-submission-schema-missing",
        "data requires submissionSchema.",
        r,
        &set(
            &["contentStructure", "data", "submissionSchema"],
            Value::Null,
        ),
        "/contentStructure/data",
    )?;
    violation(
        g,
        "metadata-hash-type-sha256",
        "The hash type is sha512 only.",
        "FIT-Connect §8 (type sha512)",
        &set(
            &["contentStructure", "data", "hash", "type"],
            json!("sha256"),
        ),
        "/contentStructure/data/hash/type",
    )?;
    violation(
        g,
        "metadata-hash-uppercase-hex",
        "The hash is lowercase hex.",
        "FIT-Connect §8 (^[a-f0-9]{128}$)",
        &set(
            &["contentStructure", "data", "hash", "content"],
            json!(HASH.to_uppercase()),
        ),
        "/contentStructure/data/hash/content",
    )?;
    violation(
        g,
        "metadata-hash-too-short",
        "The hash has 128 hex digits.",
        "FIT-Connect §8 (^[a-f0-9]{128}$)",
        &set(
            &["contentStructure", "data", "hash", "content"],
            json!(&HASH[..64]),
        ),
        "/contentStructure/data/hash/content",
    )?;
    violation(
        g,
        "metadata-data-mimetype-text-plain",
        "submissionSchema.mimeType is application/json or application/xml.",
        r,
        &set(
            &["contentStructure", "data", "submissionSchema", "mimeType"],
            json!("text/plain"),
        ),
        "/contentStructure/data/submissionSchema/mimeType",
    )?;
    violation(
        g,
        "metadata-attachment-purpose-unknown",
        "Attachment purpose is form, attachment or report.",
        r,
        &set(
            &["contentStructure", "attachments", "0", "purpose"],
            json!("evidence"),
        ),
        "/contentStructure/attachments/0/purpose",
    )?;
    violation(
        g,
        "metadata-attachment-id-too-short",
        "attachmentId is a UUID (32-36 characters).",
        r,
        &set(
            &["contentStructure", "attachments", "0", "attachmentId"],
            json!("att-1"),
        ),
        "/contentStructure/attachments/0/attachmentId",
    )?;
    violation(
        g,
        "metadata-attachment-hash-missing",
        "Every attachment carries a hash.",
        r,
        &set(
            &["contentStructure", "attachments", "0", "hash"],
            Value::Null,
        ),
        "/contentStructure/attachments/0",
    )?;
    violation(
        g,
        "metadata-attachment-mimetype-malformed",
        "Attachment mimeType must look like type/subtype.",
        r,
        &set(
            &["contentStructure", "attachments", "0", "mimeType"],
            json!("pdf"),
        ),
        "/contentStructure/attachments/0/mimeType",
    )?;
    violation(
        g,
        "metadata-attachments-not-array",
        "attachments is an array.",
        r,
        &set(&["contentStructure", "attachments"], json!({})),
        "/contentStructure/attachments",
    )?;
    violation(
        g,
        "metadata-service-identifier-not-urn",
        "publicServiceType.identifier is a URN.",
        "FIT-Connect §5 (identifier URN pattern); §1.2 serviceType rules",
        &set(
            &["publicServiceType", "identifier"],
            json!("99050012104000"),
        ),
        "/publicServiceType/identifier",
    )?;
    violation(
        g,
        "metadata-service-identifier-missing",
        "publicServiceType requires identifier.",
        r,
        &set(&["publicServiceType", "identifier"], Value::Null),
        "/publicServiceType",
    )?;
    violation(
        g,
        "metadata-reply-channel-two-members",
        "replyChannel holds exactly one channel.",
        r,
        &edit(|v| {
            v["replyChannel"] = json!({"eMail": {"address": "a@example.org"}, "deMail": {"address": "b@example.org"}})
        }),
        "/replyChannel",
    )?;
    violation(
        g,
        "metadata-reply-channel-empty",
        "replyChannel holds exactly one channel.",
        r,
        &edit(|v| v["replyChannel"] = json!({})),
        "/replyChannel",
    )?;
    violation(
        g,
        "metadata-elster-account-9-digits",
        "ELSTER accountId has ten digits.",
        r,
        &edit(|v| v["replyChannel"] = json!({"elster": {"accountId": "123456789"}})),
        "/replyChannel/elster/accountId",
    )?;
    violation(
        g,
        "metadata-payment-method-unknown",
        "paymentMethod is one of GIROPAY … OTHER.",
        r,
        &edit(
            |v| v["paymentInformation"] = json!({"transactionReference": "TV-1", "transactionId": "abc-123", "paymentMethod": "BITCOIN", "status": "BOOKED"}),
        ),
        "/paymentInformation/paymentMethod",
    )?;
    violation(
        g,
        "metadata-payment-status-missing",
        "paymentInformation requires status.",
        r,
        &edit(
            |v| v["paymentInformation"] = json!({"transactionReference": "TV-1", "transactionId": "abc-123", "paymentMethod": "INVOICE"}),
        ),
        "/paymentInformation",
    )?;
    violation(
        g,
        "metadata-payment-gross-amount-zero",
        "grossAmount is at least 0.01.",
        r,
        &edit(
            |v| v["paymentInformation"] = json!({"transactionReference": "TV-1", "transactionId": "abc-123", "paymentMethod": "INVOICE", "status": "BOOKED", "grossAmount": 0}),
        ),
        "/paymentInformation/grossAmount",
    )?;
    violation(
        g,
        "metadata-authentication-information-empty",
        "authenticationInformation has at least one item.",
        r,
        &edit(|v| v["authenticationInformation"] = json!([])),
        "/authenticationInformation",
    )?;
    violation(
        g,
        "metadata-authentication-type-unknown",
        "authenticationInformation type is identificationReport.",
        r,
        &edit(|v| {
            v["authenticationInformation"] =
                json!([{"type": "passport", "version": "1.0.0", "content": "abc"}])
        }),
        "/authenticationInformation/0/type",
    )?;
    violation(
        g,
        "metadata-authentication-version-not-semver",
        "authenticationInformation version is x.y.z.",
        r,
        &edit(|v| {
            v["authenticationInformation"] =
                json!([{"type": "identificationReport", "version": "1.0", "content": "abc"}])
        }),
        "/authenticationInformation/0/version",
    )?;

    unsupported(
        g,
        "metadata-schema-1.5.0-unsupported",
        "1.5.0 is not among the supported versions.",
        json!("https://schema.fitko.de/fit-connect/metadata/1.5.0/metadata.schema.json"),
    )?;
    unsupported(
        g,
        "metadata-schema-3.0.0-unsupported",
        "3.0.0 is not among the supported versions.",
        json!("https://schema.fitko.de/fit-connect/metadata/3.0.0/metadata.schema.json"),
    )?;
    unsupported(
        g,
        "metadata-schema-foreign-uri",
        "A $schema outside schema.fitko.de names no supported version.",
        json!("https://example.org/metadata.schema.json"),
    )?;
    unsupported(
        g,
        "metadata-schema-not-string",
        "$schema that is not a string names no version.",
        json!(100),
    )?;
    Ok(())
}
