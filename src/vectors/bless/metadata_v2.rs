//! `metadata` cases for 2.x: the published 2.0.0 rules and the 2.1.0 reconstruction
//! (docs/protocol-facts.md, "Metadata 2.x"). Every rule the 2.x schemas add or change against
//! 1.0.0 has a valid and an invalid case; the 2.1.0 cases are the shapes current senders write.

use serde_json::{Value, json};

use super::Gen;
use super::metadata::{add, violation_in_order as violation};
use crate::fitconnect::metadata::VERSIONS;
use crate::vectors::VectorsError;

const HASH: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
const ATTACHMENT_ID: &str = "654bf3b3-7e3a-4d8f-9a55-0c6a8d2e4f11";
const FRAGMENT_IDS: [&str; 2] = [
    "8a3c1f6e-2b4d-4e8a-9c7b-1d2e3f4a5b6c",
    "9b4d2a7f-3c5e-4f9b-8d8c-2e3f4a5b6c7d",
];
const DATA_SET_ID: &str = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
const MAILBOX: &str = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

/// Where the 2.0.0 rules come from.
const R200: &str =
    "FIT-Connect metadata 2.0.0 (published schema; protocol facts, Metadata 2.x [M1])";
/// Where the 2.1.0 rules come from.
const R210: &str = "FIT-Connect metadata 2.1.0 as reconstructed: the 2.0.0 rules, UNCONFIRMED (protocol facts, Metadata 2.x)";

fn uri(version: &str) -> &'static str {
    VERSIONS
        .iter()
        .find(|v| v.version == version)
        .expect("a known version")
        .uri
}

/// A minimal valid 2.x document: `$schema`, the (now required) data and one attachment.
fn minimal(version: &str) -> Value {
    json!({
        "$schema": uri(version),
        "contentStructure": {
            "data": {
                "submissionSchema": {"schemaUri": "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200", "mimeType": "application/xml"},
                "hash": {"type": "sha512", "content": HASH}
            },
            "attachments": [{
                "attachmentId": ATTACHMENT_ID, "purpose": "attachment", "mimeType": "application/pdf",
                "filename": "lageplan.pdf", "hash": {"type": "sha512", "content": HASH}
            }]
        }
    })
}

fn reply_key() -> Value {
    // Test values: the rules bound `n` by length only (683 characters = 4096 bits).
    json!({"kty": "RSA", "key_ops": ["wrapKey"], "alg": "RSA-OAEP-256", "kid": "reply-key-0001",
           "n": "u".repeat(683), "e": "AQAB"})
}

fn fit_connect_reply() -> Value {
    json!({"fitConnect": {"encryptionPublicKey": reply_key(),
                          "processStandards": ["urn:xoev-de:bmk:standard:xbau_2.6"]}})
}

fn author() -> Value {
    json!({"name": "Portal Musterstadt", "url": "https://portal.example",
           "product": {"name": "Antragsportal", "version": "4.2.0", "manufacturer": "Beispiel GmbH"}})
}

fn data_sets() -> Value {
    json!([{"dataSetId": DATA_SET_ID, "description": "Identifikationsnachweis",
            "schema": {"schemaUri": "https://schema.example/identification-report.json", "mimeType": "application/jose"},
            "hash": {"type": "sha512", "content": HASH}, "content": "eyJhbGciOiJQUzUxMiJ9.e30.c2ln"}])
}

/// Every 2.x member at once.
fn full(version: &str) -> Value {
    let mut v = minimal(version);
    v["contentStructure"]["attachments"][0]["purpose"] = json!("data");
    v["contentStructure"]["attachments"][0]["fragments"] = json!(FRAGMENT_IDS);
    v["replyChannel"] = fit_connect_reply();
    v["author"] = author();
    v["dataSets"] = data_sets();
    v["paymentInformation"] = json!({"transactionReference": "KZ-4711", "transactionId": "9xxd-432x-6543",
                                     "paymentMethod": "CREDITCARD", "status": "BOOKED", "grossAmount": 12.34});
    v["additionalReferenceInfo"] = json!({"senderReference": "TV-0001", "applicationDate": "2025-12-31",
                                          "idBundDeApplicationId": MAILBOX, "zustimmungZumDigitalenBescheid": true});
    v
}

fn edit(version: &str, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = minimal(version);
    f(&mut v);
    v
}

fn rule(version: &str) -> &'static str {
    if version == "2.1.0" { R210 } else { R200 }
}

fn valid(
    g: &mut Gen,
    id: &str,
    desc: &str,
    version: &str,
    doc: &Value,
) -> Result<(), VectorsError> {
    let bytes = serde_json::to_vec_pretty(doc).expect("json");
    add(
        g,
        id,
        desc,
        rule(version),
        &bytes,
        json!({"result": "valid", "version": version}),
    )
}

fn remove(v: &mut Value, object: &str, member: &str) {
    v.pointer_mut(object)
        .and_then(Value::as_object_mut)
        .expect("an object of the base document")
        .remove(member);
}

/// The `fitConnect` reply channel with one change to its key.
fn key_edit(v: &mut Value, member: &str, value: Value) {
    v["replyChannel"] = fit_connect_reply();
    v["replyChannel"]["fitConnect"]["encryptionPublicKey"][member] = value;
}

/// One violated 2.x rule: id suffix, description, the change to [`minimal`], the pointer of
/// the violation, and whether the case is repeated for 2.1.0 (rules current senders break).
type Violation = (
    &'static str,
    &'static str,
    fn(&mut Value),
    &'static str,
    bool,
);

const VIOLATIONS: &[Violation] = &[
    (
        "data-missing",
        "2.x requires contentStructure.data.",
        |v| remove(v, "/contentStructure", "data"),
        "/contentStructure",
        true,
    ),
    (
        "attachment-purpose-unknown",
        "Attachment purpose is form, attachment, report or data.",
        |v| v["contentStructure"]["attachments"][0]["purpose"] = json!("evidence"),
        "/contentStructure/attachments/0/purpose",
        false,
    ),
    (
        "fragments-empty",
        "fragments, when present, lists at least one fragment (FITKO Java SDK 4.0.0-rc.1 sends []).",
        |v| v["contentStructure"]["attachments"][0]["fragments"] = json!([]),
        "/contentStructure/attachments/0/fragments",
        true,
    ),
    (
        "fragments-repeated",
        "Fragment ids are unique.",
        |v| {
            v["contentStructure"]["attachments"][0]["fragments"] =
                json!([FRAGMENT_IDS[0], FRAGMENT_IDS[0]]);
        },
        "/contentStructure/attachments/0/fragments",
        false,
    ),
    (
        "fragment-not-uuid",
        "Fragment ids are UUIDs.",
        |v| {
            v["contentStructure"]["attachments"][0]["fragments"] =
                json!(["fragment-1-of-a-long-attachment-file"]);
        },
        "/contentStructure/attachments/0/fragments/0",
        false,
    ),
    (
        "data-mimetype-text-plain",
        "submissionSchema.mimeType is application/json or application/xml.",
        |v| v["contentStructure"]["data"]["submissionSchema"]["mimeType"] = json!("text/plain"),
        "/contentStructure/data/submissionSchema/mimeType",
        false,
    ),
    (
        "hash-uppercase-hex",
        "The hash is lowercase hex.",
        |v| {
            v["contentStructure"]["attachments"][0]["hash"]["content"] = json!(HASH.to_uppercase());
        },
        "/contentStructure/attachments/0/hash/content",
        false,
    ),
    (
        "reply-channel-two-members",
        "replyChannel holds exactly one channel.",
        |v| {
            v["replyChannel"] = json!({"eMail": {"address": "a@example.org"},
                                       "idBundDeMailbox": {"mailboxUuid": MAILBOX}});
        },
        "/replyChannel",
        false,
    ),
    (
        "fink-reference-empty",
        "finkPostfachRef is non-empty in 2.x.",
        |v| v["replyChannel"] = json!({"fink": {"finkPostfachRef": ""}}),
        "/replyChannel/fink/finkPostfachRef",
        false,
    ),
    (
        "id-bund-mailbox-not-uuid",
        "idBundDeMailbox.mailboxUuid is a UUID.",
        |v| {
            v["replyChannel"] =
                json!({"idBundDeMailbox": {"mailboxUuid": "postkorb-handle-0000-0000-0000-0000"}});
        },
        "/replyChannel/idBundDeMailbox/mailboxUuid",
        false,
    ),
    (
        "fit-connect-process-standards-empty",
        "A fitConnect reply channel names at least one process standard.",
        |v| {
            v["replyChannel"] = fit_connect_reply();
            v["replyChannel"]["fitConnect"]["processStandards"] = json!([]);
        },
        "/replyChannel/fitConnect/processStandards",
        true,
    ),
    (
        "fit-connect-key-missing",
        "A fitConnect reply channel carries the encryption key for the answer.",
        |v| {
            v["replyChannel"] = fit_connect_reply();
            remove(v, "/replyChannel/fitConnect", "encryptionPublicKey");
        },
        "/replyChannel/fitConnect",
        false,
    ),
    (
        "fit-connect-key-kty",
        "The reply key is an RSA key.",
        |v| key_edit(v, "kty", json!("EC")),
        "/replyChannel/fitConnect/encryptionPublicKey/kty",
        false,
    ),
    (
        "fit-connect-key-alg",
        "The reply key's alg is RSA-OAEP-256.",
        |v| key_edit(v, "alg", json!("RSA-OAEP")),
        "/replyChannel/fitConnect/encryptionPublicKey/alg",
        false,
    ),
    (
        "fit-connect-key-n",
        "The reply key's modulus has at least 683 base64url characters (4096 bits).",
        |v| key_edit(v, "n", json!("u".repeat(682))),
        "/replyChannel/fitConnect/encryptionPublicKey/n",
        false,
    ),
    (
        "fit-connect-key-e",
        "The reply key's exponent is AQAB.",
        |v| key_edit(v, "e", json!("AAEAAQ")),
        "/replyChannel/fitConnect/encryptionPublicKey/e",
        false,
    ),
    (
        "fit-connect-key-kid",
        "The reply key's kid has 8 to 64 characters.",
        |v| key_edit(v, "kid", json!("k-1")),
        "/replyChannel/fitConnect/encryptionPublicKey/kid",
        false,
    ),
    (
        "fit-connect-key-key-ops",
        "The reply key's only operation is wrapKey.",
        |v| key_edit(v, "key_ops", json!(["sign"])),
        "/replyChannel/fitConnect/encryptionPublicKey/key_ops/0",
        false,
    ),
    (
        "reference-info-x-member",
        "additionalReferenceInfo is closed in 2.0.0: the x- members of 1.x senders are refused.",
        |v| {
            v["additionalReferenceInfo"] =
                json!({"senderReference": "TV-0001", "x-sender": {"system": "portal"}});
        },
        "/additionalReferenceInfo",
        false,
    ),
    (
        "consent-not-boolean",
        "zustimmungZumDigitalenBescheid is a boolean.",
        |v| v["additionalReferenceInfo"] = json!({"zustimmungZumDigitalenBescheid": "ja"}),
        "/additionalReferenceInfo/zustimmungZumDigitalenBescheid",
        false,
    ),
    (
        "author-product-missing",
        "author requires name and product.",
        |v| v["author"] = json!({"name": "Portal Musterstadt"}),
        "/author",
        false,
    ),
    (
        "author-product-version-missing",
        "author.product requires name, version and manufacturer.",
        |v| {
            v["author"] = author();
            remove(v, "/author/product", "version");
        },
        "/author/product",
        false,
    ),
    (
        "data-set-content-missing",
        "A data set requires dataSetId, schema, hash and content.",
        |v| {
            v["dataSets"] = data_sets();
            remove(v, "/dataSets/0", "content");
        },
        "/dataSets/0",
        false,
    ),
    (
        "data-set-mimetype-pdf",
        "A data set's schema mimeType is application/json, application/xml or application/jose.",
        |v| {
            v["dataSets"] = data_sets();
            v["dataSets"][0]["schema"]["mimeType"] = json!("application/pdf");
        },
        "/dataSets/0/schema/mimeType",
        false,
    ),
    (
        "data-set-hash-sha256",
        "A data set's hash is sha512.",
        |v| {
            v["dataSets"] = data_sets();
            v["dataSets"][0]["hash"]["type"] = json!("sha256");
        },
        "/dataSets/0/hash/type",
        false,
    ),
    (
        "payment-method-unknown",
        "paymentMethod is one of GIROPAY … OTHER.",
        |v| {
            v["paymentInformation"] = json!({"transactionReference": "TV-1", "transactionId": "abc-123",
                                             "paymentMethod": "BITCOIN", "status": "BOOKED"});
        },
        "/paymentInformation/paymentMethod",
        false,
    ),
];
#[allow(clippy::too_many_lines)]
pub(super) fn cases(g: &mut Gen) -> Result<(), VectorsError> {
    valid(
        g,
        "metadata-2.0.0-valid-minimal",
        "$schema, data and one attachment: what 2.x requires.",
        "2.0.0",
        &minimal("2.0.0"),
    )?;
    valid(
        g,
        "metadata-2.0.0-valid-full",
        "Every 2.x member: purpose data with fragments, fitConnect reply channel, author, dataSets, payment, 2.x reference info.",
        "2.0.0",
        &full("2.0.0"),
    )?;
    valid(
        g,
        "metadata-2.0.0-valid-reply-channel-id-bund-de-mailbox",
        "The DeutschlandID mailbox reply channel.",
        "2.0.0",
        &edit("2.0.0", |v| {
            v["replyChannel"] = json!({"idBundDeMailbox": {"mailboxUuid": MAILBOX}});
        }),
    )?;
    valid(
        g,
        "metadata-2.0.0-valid-elster-account-id-free",
        "2.0.0 dropped the ten-digit pattern of the ELSTER accountId.",
        "2.0.0",
        &edit("2.0.0", |v| {
            v["replyChannel"] = json!({"elster": {"accountId": "ELSTER-7"}});
        }),
    )?;
    valid(
        g,
        "metadata-2.0.0-valid-undeclared-members",
        "publicServiceType, authenticationInformation and publicService are not 2.x members: any value passes.",
        "2.0.0",
        &edit("2.0.0", |v| {
            v["publicServiceType"] = json!("not checked");
            v["authenticationInformation"] = json!(5);
            v["publicService"] =
                json!({"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "Test"});
        }),
    )?;
    valid(
        g,
        "metadata-2.1.0-valid-minimal",
        "The shape the PHP client writes: $schema and contentStructure only.",
        "2.1.0",
        &minimal("2.1.0"),
    )?;
    valid(
        g,
        "metadata-2.1.0-valid-fit-connect-reply-channel",
        "The FITKO Java SDK's MetadataV2 with ReplyChannel.ofFitConnect(key, processStandards).",
        "2.1.0",
        &edit("2.1.0", |v| v["replyChannel"] = fit_connect_reply()),
    )?;
    valid(
        g,
        "metadata-2.1.0-valid-full",
        "Every 2.x member, as the TypeScript client adds author, an application/jose data set and publicService.",
        "2.1.0",
        &{
            let mut v = full("2.1.0");
            v["publicService"] =
                json!({"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "Test"});
            v
        },
    )?;
    let bytes = serde_json::to_vec_pretty(&edit("2.1.0", |v| {
        v["additionalReferenceInfo"] =
            json!({"senderReference": "TV-0001", "x-sender": {"system": "portal"}});
    }))
    .expect("json");
    add(
        g,
        "metadata-2.1.0-valid-reference-info-open",
        "The reconstruction's one relaxation: additionalReferenceInfo is open in 2.1.0 (closed in 2.0.0).",
        "poststelle: reconstruction of metadata 2.1.0 (UNCONFIRMED): a minor version may add optional members, so the only closed object of 2.0.0 is open",
        &bytes,
        json!({"result": "valid", "version": "2.1.0"}),
    )?;

    for (suffix, desc, change, pointer, also_2_1_0) in VIOLATIONS {
        let versions: &[&str] = if *also_2_1_0 {
            &["2.0.0", "2.1.0"]
        } else {
            &["2.0.0"]
        };
        for version in versions {
            violation(
                g,
                &format!("metadata-{version}-{suffix}"),
                desc,
                rule(version),
                &edit(version, change),
                pointer,
            )?;
        }
    }
    let bytes = serde_json::to_vec_pretty(&edit("2.0.0", |v| {
        v["$schema"] =
            json!("https://schema.fitko.de/fit-connect/metadata/2.2.0/metadata.schema.json");
    }))
    .expect("json");
    add(
        g,
        "metadata-schema-2.2.0-unsupported",
        "A 2.x version without a schema here is refused, although the 2.x $schema pattern admits it.",
        "FIT-Connect §5 (validate against the version in $schema); problem unsupported-metadata-schema (§4)",
        &bytes,
        json!({"result": "error", "problem": "unsupported-metadata-schema"}),
    )?;
    Ok(())
}
