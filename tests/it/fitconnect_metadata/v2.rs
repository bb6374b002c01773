//! Metadata 2.x: our 2.0.0 schema against the official one (a verbatim copy in
//! `../shared/fit-connect/metadata.schema.v2.0.0.json`, never copied into the repository; the
//! comparison is skipped with a reason while it is absent), the documented verdict of every
//! single rule, the 2.1.0 reconstruction as "2.0.0 with an open additionalReferenceInfo", and
//! the typed model of what current senders write.

use poststelle::fitconnect::metadata::{
    MetadataError, MetadataValidator, ReplyChannel, VERSIONS, compile_schema,
};
use serde_json::{Value, json};

use super::{Mutation, documents, remove, set};

const H: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
const U1: &str = "654bf3b3-7e3a-4d8f-9a55-0c6a8d2e4f11";
const U2: &str = "0c1d2e3f-4a5b-4c6d-8e7f-8091a2b3c4d5";
const A0: &str = "/contentStructure/attachments/0";
const KEY: &str = "/replyChannel/fitConnect/encryptionPublicKey";

fn base() -> Value {
    json!({
        "$schema": VERSIONS[1].uri,
        "contentStructure": {
            "data": {"hash": {"type": "sha512", "content": H},
                     "submissionSchema": {"schemaUri": "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200",
                                          "mimeType": "application/xml"}},
            "attachments": [{"purpose": "form", "mimeType": "application/pdf", "attachmentId": U1,
                             "hash": {"type": "sha512", "content": H}}]
        },
        "additionalReferenceInfo": {"senderReference": "TV-0001", "applicationDate": "2026-01-01"}
    })
}

fn reply_key() -> Value {
    json!({"kty": "RSA", "key_ops": ["wrapKey"], "alg": "RSA-OAEP-256", "kid": "reply-key-0001",
           "n": "u".repeat(683), "e": "AQAB"})
}

fn fit_connect(d: &mut Value) {
    set(
        d,
        "/replyChannel",
        json!({"fitConnect": {"encryptionPublicKey": reply_key(),
                              "processStandards": ["urn:xoev-de:bmk:standard:xbau_2.6"]}}),
    );
}

fn author() -> Value {
    json!({"name": "Portal Musterstadt", "url": "https://portal.example",
           "product": {"name": "Antragsportal", "version": "4.2.0", "manufacturer": "Beispiel GmbH"}})
}

fn data_sets() -> Value {
    json!([{"dataSetId": U2, "description": "Identifikationsnachweis",
            "schema": {"schemaUri": "https://schema.example/identification-report.json", "mimeType": "application/jose"},
            "hash": {"type": "sha512", "content": H}, "content": "eyJhbGciOiJQUzUxMiJ9.e30.c2ln"}])
}

fn payment() -> Value {
    json!({"transactionReference": "KZ-4711", "transactionId": "9xxd-432x-6543", "paymentMethod": "CREDITCARD",
           "status": "BOOKED", "grossAmount": 12.34})
}

/// The first `VALID_MUTATIONS` entries keep a document valid under 2.0.0; all later ones make
/// it invalid. `$schema` is never touched: selection by `$schema` is tested elsewhere.
const VALID_MUTATIONS: usize = 23;

const MUTATIONS: &[Mutation] = &[
    // Valid variations.
    ("unknown-top-level", |d| set(d, "/somethingNew", json!(1))),
    ("unofficial-public-service", |d| {
        set(
            d,
            "/publicService",
            json!({"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "Test"}),
        );
    }),
    ("authentication-information-undeclared", |d| {
        set(d, "/authenticationInformation", json!(5));
    }),
    ("no-attachments", |d| {
        set(d, "/contentStructure/attachments", json!([]));
    }),
    ("purpose-data", |d| {
        set(d, &format!("{A0}/purpose"), json!("data"))
    }),
    ("fragments", |d| {
        set(d, &format!("{A0}/fragments"), json!([U1, U2]));
    }),
    ("filename", |d| {
        set(d, &format!("{A0}/filename"), json!("antrag.pdf"));
    }),
    ("data-signature", |d| {
        set(
            d,
            "/contentStructure/data/signature",
            json!({"signatureFormat": "xml", "detachedSignature": false}),
        );
    }),
    ("payment", |d| set(d, "/paymentInformation", payment())),
    ("reply-email", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "a@example.org"}}),
        );
    }),
    ("reply-demail", |d| {
        set(
            d,
            "/replyChannel",
            json!({"deMail": {"address": "a@example.de-mail.de"}}),
        );
    }),
    ("reply-fink", |d| {
        set(
            d,
            "/replyChannel",
            json!({"fink": {"finkPostfachRef": "hh/by/12345"}}),
        );
    }),
    ("reply-elster-free-account-id", |d| {
        set(
            d,
            "/replyChannel",
            json!({"elster": {"accountId": "ELSTER-7"}}),
        );
    }),
    ("reply-fit-connect", fit_connect),
    ("reply-fit-connect-key-with-x5c", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/x5c"), json!(["MIIB"]));
    }),
    ("reply-fit-connect-no-key-ops", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/key_ops"), json!([]));
    }),
    ("reply-id-bund", |d| {
        set(
            d,
            "/replyChannel",
            json!({"idBundDeMailbox": {"mailboxUuid": U2}}),
        );
    }),
    ("reply-undeclared-name", |d| {
        set(d, "/replyChannel", json!({"carrierPigeon": 1}));
    }),
    ("reference-info-2x-members", |d| {
        set(
            d,
            "/additionalReferenceInfo",
            json!({"idBundDeApplicationId": U2, "zustimmungZumDigitalenBescheid": true}),
        );
    }),
    ("author", |d| set(d, "/author", author())),
    ("data-sets", |d| set(d, "/dataSets", data_sets())),
    ("json-data", |d| {
        set(
            d,
            "/contentStructure/data/submissionSchema/mimeType",
            json!("application/json"),
        );
    }),
    ("key-long-kid", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/kid"), json!("k".repeat(64)));
    }),
    // Invalid variations.
    ("no-content-structure", |d| remove(d, "/contentStructure")),
    ("no-data", |d| remove(d, "/contentStructure/data")),
    ("no-attachments-member", |d| {
        remove(d, "/contentStructure/attachments");
    }),
    ("attachment-no-hash", |d| remove(d, &format!("{A0}/hash"))),
    ("hash-upper", |d| {
        set(d, &format!("{A0}/hash/content"), json!(H.to_uppercase()));
    }),
    ("purpose-unknown", |d| {
        set(d, &format!("{A0}/purpose"), json!("evidence"));
    }),
    ("fragments-empty", |d| {
        set(d, &format!("{A0}/fragments"), json!([]))
    }),
    ("fragments-twice", |d| {
        set(d, &format!("{A0}/fragments"), json!([U1, U1]));
    }),
    ("fragments-not-uuid", |d| {
        set(d, &format!("{A0}/fragments"), json!(["fragment-1"]));
    }),
    ("data-mime-text", |d| {
        set(
            d,
            "/contentStructure/data/submissionSchema/mimeType",
            json!("text/plain"),
        );
    }),
    ("reply-empty", |d| set(d, "/replyChannel", json!({}))),
    ("reply-two", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "a@example.org"}, "deMail": {"address": "b@example.org"}}),
        );
    }),
    ("reply-email-bad", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "no-at-sign"}}),
        );
    }),
    ("reply-fink-empty-ref", |d| {
        set(d, "/replyChannel", json!({"fink": {"finkPostfachRef": ""}}));
    }),
    ("reply-elster-long-reference", |d| {
        set(
            d,
            "/replyChannel",
            json!({"elster": {"accountId": "1", "geschaeftszeichen": "12345678901"}}),
        );
    }),
    ("reply-fit-no-standards", |d| {
        fit_connect(d);
        set(d, "/replyChannel/fitConnect/processStandards", json!([]));
    }),
    ("reply-fit-standard-not-uri", |d| {
        fit_connect(d);
        set(
            d,
            "/replyChannel/fitConnect/processStandards",
            json!(["not a uri"]),
        );
    }),
    ("reply-fit-no-key", |d| {
        fit_connect(d);
        remove(d, KEY);
    }),
    ("key-kty-ec", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/kty"), json!("EC"));
    }),
    ("key-alg-rsa-oaep", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/alg"), json!("RSA-OAEP"));
    }),
    ("key-modulus-short", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/n"), json!("u".repeat(682)));
    }),
    ("key-exponent", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/e"), json!("AAEAAQ"));
    }),
    ("key-kid-short", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/kid"), json!("k-1"));
    }),
    ("key-ops-sign", |d| {
        fit_connect(d);
        set(d, &format!("{KEY}/key_ops"), json!(["sign"]));
    }),
    ("key-no-n", |d| {
        fit_connect(d);
        remove(d, &format!("{KEY}/n"));
    }),
    ("reply-id-bund-not-uuid", |d| {
        set(
            d,
            "/replyChannel",
            json!({"idBundDeMailbox": {"mailboxUuid": "postkorb-handle-of-36-characters-xx"}}),
        );
    }),
    ("reference-x-member", |d| {
        set(d, "/additionalReferenceInfo/x-sender", json!({"a": 1}));
    }),
    ("reference-consent-string", |d| {
        set(
            d,
            "/additionalReferenceInfo/zustimmungZumDigitalenBescheid",
            json!("ja"),
        );
    }),
    ("application-date", |d| {
        set(
            d,
            "/additionalReferenceInfo/applicationDate",
            json!("2026-13-01"),
        );
    }),
    ("author-no-product", |d| {
        set(d, "/author", author());
        remove(d, "/author/product");
    }),
    ("author-product-no-version", |d| {
        set(d, "/author", author());
        remove(d, "/author/product/version");
    }),
    ("author-no-name", |d| {
        set(d, "/author", author());
        remove(d, "/author/name");
    }),
    ("data-set-no-content", |d| {
        set(d, "/dataSets", data_sets());
        remove(d, "/dataSets/0/content");
    }),
    ("data-set-mime-pdf", |d| {
        set(d, "/dataSets", data_sets());
        set(d, "/dataSets/0/schema/mimeType", json!("application/pdf"));
    }),
    ("data-set-id-not-uuid", |d| {
        set(d, "/dataSets", data_sets());
        set(d, "/dataSets/0/dataSetId", json!("ds-1"));
    }),
    ("data-set-hash-sha256", |d| {
        set(d, "/dataSets", data_sets());
        set(d, "/dataSets/0/hash/type", json!("sha256"));
    }),
    ("data-sets-object", |d| set(d, "/dataSets", json!({}))),
    ("payment-method", |d| {
        set(d, "/paymentInformation", payment());
        set(d, "/paymentInformation/paymentMethod", json!("BITCOIN"));
    }),
    ("payment-zero", |d| {
        set(d, "/paymentInformation", payment());
        set(d, "/paymentInformation/grossAmount", json!(0));
    }),
    ("root-array", |d| *d = json!([1])),
];

fn docs() -> Vec<(String, Value)> {
    documents(base, MUTATIONS, 0x5eed_f17c_0000_0002)
}

fn ours(index: usize) -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(VERSIONS[index].schema).expect("JSON");
    compile_schema(&schema).expect("our schema compiles")
}

#[test]
fn metadata_2_0_0_rules_have_their_documented_verdicts() {
    let ours = ours(1);
    let validator = MetadataValidator::new();
    let docs = docs();
    for (i, (name, doc)) in docs.iter().take(MUTATIONS.len() + 1).enumerate() {
        assert_eq!(
            ours.is_valid(doc),
            i <= VALID_MUTATIONS,
            "expected verdict for {name}"
        );
    }
    // The gateway path (selection by $schema, typed model) agrees with the schema on every
    // document, combinations included: valid metadata always fit the typed model.
    let (mut valid, mut invalid) = (0, 0);
    for (name, doc) in &docs {
        let expected = ours.is_valid(doc);
        assert_eq!(
            validator.validate(doc.to_string().as_bytes()).is_ok(),
            expected,
            "{name}: {doc}"
        );
        if expected { valid += 1 } else { invalid += 1 }
    }
    assert!(
        valid >= 40 && invalid >= 100,
        "{valid} valid, {invalid} invalid"
    );
}

#[test]
fn our_2_0_0_schema_agrees_with_the_official_one() {
    // Not in the shared data either (CI included): the official 2.0.0 schema was not
    // obtainable, so this skips everywhere until someone places a copy there.
    let official_path =
        crate::shared_data::shared().join("fit-connect/metadata.schema.v2.0.0.json");
    let Ok(bytes) = std::fs::read(&official_path) else {
        println!(
            "skipped: no copy of the official metadata 2.0.0 schema at {} \
             (docs/protocol-facts.md, Metadata 2.x, names where to get it)",
            official_path.display()
        );
        return;
    };
    let official: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(
        official["$id"],
        "https://schema.fitko.de/fit-connect/metadata/2.0.0/metadata.schema.json"
    );
    let official = compile_schema(&official).expect("official schema compiles");
    let ours = ours(1);
    for (name, doc) in &docs() {
        assert_eq!(
            ours.is_valid(doc),
            official.is_valid(doc),
            "verdicts differ for {name}: {doc}"
        );
    }
}

/// The reconstruction's claim: 2.1.0 judges like 2.0.0 except that `additionalReferenceInfo`
/// may carry members 2.0.0 does not declare.
#[test]
fn the_2_1_0_reconstruction_is_2_0_0_with_an_open_additional_reference_info() {
    let (two_zero, two_one) = (ours(1), ours(2));
    let declared = [
        "senderReference",
        "applicationDate",
        "idBundDeApplicationId",
        "zustimmungZumDigitalenBescheid",
    ];
    let mut relaxed = 0;
    for (name, doc) in &docs() {
        let mut closed = doc.clone();
        if let Some(Value::Object(info)) = closed.pointer_mut("/additionalReferenceInfo") {
            info.retain(|k, _| declared.contains(&k.as_str()));
        }
        assert_eq!(
            two_one.is_valid(doc),
            two_zero.is_valid(&closed),
            "{name}: {doc}"
        );
        relaxed += usize::from(two_one.is_valid(doc) && !two_zero.is_valid(doc));
    }
    assert!(relaxed > 0, "no document exercised the relaxation");
}

/// What the FITKO Java SDK (`MetadataV2`, `ReplyChannel.ofFitConnect`) and the TypeScript
/// client write (docs/protocol-facts.md, Metadata 2.x), typed for the gateway.
#[test]
fn metadata_2_1_0_of_current_senders_are_typed_for_the_gateway() {
    let mut doc = base();
    doc["$schema"] = VERSIONS[2].uri.into();
    fit_connect(&mut doc);
    doc["author"] = author();
    doc["dataSets"] = data_sets();
    doc["publicService"] =
        json!({"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "Test"});
    doc["contentStructure"]["attachments"][0]["purpose"] = "data".into();
    doc["contentStructure"]["attachments"][0]["fragments"] = json!([U1, U2]);
    let bytes = doc.to_string();

    assert_eq!(
        MetadataValidator::new().validate(bytes.as_bytes()),
        Err(MetadataError::UnconfirmedVersion { version: "2.1.0" })
    );
    let m = MetadataValidator::with_unconfirmed(true)
        .validate(bytes.as_bytes())
        .expect("valid 2.1.0");
    assert_eq!(m.version, "2.1.0");
    let Some(ReplyChannel::FitConnect(reply)) = &m.reply_channel else {
        panic!("fitConnect reply channel expected: {:?}", m.reply_channel);
    };
    assert_eq!(reply.encryption_public_key.kid, "reply-key-0001");
    assert_eq!(reply.encryption_public_key.jwk["alg"], "RSA-OAEP-256");
    assert_eq!(
        reply.process_standards,
        ["urn:xoev-de:bmk:standard:xbau_2.6"]
    );
    let sets = m.data_sets.as_deref().expect("data sets");
    assert_eq!(sets[0].data_set_id, U2);
    assert_eq!(sets[0].schema.mime_type, "application/jose");
    assert_eq!(sets[0].hash.content, H);
    let author = m.author.as_ref().expect("author");
    assert_eq!(
        (author.name.as_str(), author.product.version.as_str()),
        ("Portal Musterstadt", "4.2.0")
    );
    assert_eq!(
        m.public_service.as_ref().map(|s| s.identifier.as_str()),
        Some("urn:de:fim:leika:leistung:99099002067003")
    );
    let attachment = &m.content_structure.attachments[0];
    assert_eq!(attachment.purpose, "data");
    assert_eq!(
        attachment.fragments.as_deref(),
        Some(&[U1.to_owned(), U2.to_owned()][..])
    );
}

#[test]
fn metadata_2_x_violations_name_place_and_keyword_not_value() {
    let mut doc = base();
    fit_connect(&mut doc);
    doc["replyChannel"]["fitConnect"]["encryptionPublicKey"]["kid"] = "SECRET".into();
    doc["replyChannel"]["fitConnect"]["processStandards"] = json!([]);
    let err = MetadataValidator::new()
        .validate(doc.to_string().as_bytes())
        .expect_err("invalid");
    let text = err.to_string();
    assert!(
        text.contains("/replyChannel/fitConnect/encryptionPublicKey/kid (minLength)"),
        "{text}"
    );
    assert!(
        text.contains("/replyChannel/fitConnect/processStandards (minItems)"),
        "{text}"
    );
    assert!(!text.contains("SECRET"), "{text}");
}
