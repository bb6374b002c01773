//! Differential test: our metadata 1.0.0 schema (`schemas/fit-connect/`) against the official
//! FIT-Connect 1.0.0 schema (read from `../shared`, never copied) over several hundred valid and
//! invalid documents. Both run through the same compiler settings; verdicts must be identical.

use poststelle::fitconnect::metadata::{MetadataValidator, VERSIONS, compile_schema};
use serde_json::{Value, json};

use super::{Mutation, documents, remove, set};

const H: &str = "868ccc0dcf5c9c5ac6b2c1f5b4e0c0b7f0a8c7f3ad2d70b1d3fa6b0e3e1cbd9f1a4f3e9c2d0e6b5a7f8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1";

fn base() -> Value {
    json!({
        "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "QS test"},
        "contentStructure": {
            "data": {"hash": {"type": "sha512", "content": &H[..128]},
                     "submissionSchema": {"schemaUri": "urn:de:govos:data", "mimeType": "application/json"}},
            "attachments": [{"purpose": "form", "description": "Antragsformular", "mimeType": "application/pdf",
                             "attachmentId": "654bf3b3-0c1d-4e5f-8a9b-0c1d2e3f4a5b",
                             "hash": {"type": "sha512", "content": &H[..128]}}]
        },
        "additionalReferenceInfo": {"senderReference": "ThAVEL-Test-9879", "applicationDate": "2022-05-04"}
    })
}

fn payment() -> Value {
    json!({"transactionReference": "KZ-4711", "transactionId": "9xxd-432x-6543", "paymentMethod": "CREDITCARD",
           "status": "BOOKED", "grossAmount": 12.34, "transactionUrl": "https://pay.example/t/1",
           "transactionTimestamp": "2022-05-04T10:00:00Z", "paymentMethodDetail": "Visa"})
}

fn signature() -> Value {
    json!({"signatureFormat": "pdf", "detachedSignature": false,
           "eidasAdesProfile": "http://uri.etsi.org/ades/191x2/level/baseline/B-B#", "content": "QUJD"})
}

const A0: &str = "/contentStructure/attachments/0";

/// The first `VALID_MUTATIONS` entries keep a document valid; all later ones make it invalid.
const VALID_MUTATIONS: usize = 20;

const MUTATIONS: &[Mutation] = &[
    // Valid variations.
    ("x-extension", |d| {
        set(
            d,
            "/additionalReferenceInfo/x-sender",
            json!({"name": "GovOS"}),
        )
    }),
    ("unknown-top-level", |d| set(d, "/somethingNew", json!(1))),
    ("no-attachments", |d| {
        set(d, "/contentStructure/attachments", json!([]))
    }),
    ("no-data", |d| remove(d, "/contentStructure/data")),
    ("no-service", |d| remove(d, "/publicServiceType")),
    ("filename", |d| {
        set(d, &format!("{A0}/filename"), json!("antrag.pdf"))
    }),
    ("second-attachment", |d| {
        let a = d.pointer(A0).expect("a0").clone();
        d["contentStructure"]["attachments"]
            .as_array_mut()
            .expect("array")
            .push(a);
    }),
    ("attachment-signature", |d| {
        set(d, &format!("{A0}/signature"), signature())
    }),
    ("data-signature", |d| {
        set(d, "/contentStructure/data/signature", signature())
    }),
    ("payment", |d| set(d, "/paymentInformation", payment())),
    ("auth-info", |d| {
        set(
            d,
            "/authenticationInformation",
            json!([{"type": "identificationReport", "version": "1.0.0", "content": "eyJhbGciOi.abc_-"}]),
        )
    }),
    ("reply-email", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "a@example.org"}}),
        )
    }),
    ("reply-demail", |d| {
        set(
            d,
            "/replyChannel",
            json!({"deMail": {"address": "a@example.de-mail.de"}}),
        )
    }),
    ("reply-fink", |d| {
        set(
            d,
            "/replyChannel",
            json!({"fink": {"finkPostfachRef": "abc/def-1", "host": "https://fink.example"}}),
        )
    }),
    ("reply-elster", |d| {
        set(
            d,
            "/replyChannel",
            json!({"elster": {"accountId": "1234567890", "geschaeftszeichen": "AZ-1"}}),
        )
    }),
    ("xml-data", |d| {
        set(
            d,
            "/contentStructure/data/submissionSchema/mimeType",
            json!("application/xml"),
        )
    }),
    ("report-purpose", |d| {
        set(d, &format!("{A0}/purpose"), json!("report"))
    }),
    ("mime-plus", |d| {
        set(
            d,
            &format!("{A0}/mimeType"),
            json!("application/vnd.oasis+xml"),
        )
    }),
    ("service-urn-chars", |d| {
        set(
            d,
            "/publicServiceType/identifier",
            json!("urn:de:govos:parent:a3builder-7676-qs"),
        )
    }),
    ("pgp", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "a@example.org", "pgpPublicKey": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF"}}),
        )
    }),
    // Invalid variations.
    ("no-content-structure", |d| remove(d, "/contentStructure")),
    ("no-attachments-member", |d| {
        remove(d, "/contentStructure/attachments")
    }),
    ("attachments-object", |d| {
        set(d, "/contentStructure/attachments", json!({}))
    }),
    ("attachment-no-hash", |d| remove(d, &format!("{A0}/hash"))),
    ("attachment-no-purpose", |d| {
        remove(d, &format!("{A0}/purpose"))
    }),
    ("attachment-no-mime", |d| {
        remove(d, &format!("{A0}/mimeType"))
    }),
    ("attachment-no-id", |d| {
        remove(d, &format!("{A0}/attachmentId"))
    }),
    ("hash-sha256", |d| {
        set(d, &format!("{A0}/hash/type"), json!("sha256"))
    }),
    ("hash-upper", |d| {
        set(
            d,
            &format!("{A0}/hash/content"),
            json!(H[..128].to_uppercase()),
        )
    }),
    ("hash-short", |d| {
        set(d, &format!("{A0}/hash/content"), json!(&H[..127]))
    }),
    ("hash-long", |d| {
        set(d, &format!("{A0}/hash/content"), json!(format!("{H}0")))
    }),
    ("hash-missing-content", |d| {
        remove(d, "/contentStructure/data/hash/content")
    }),
    ("purpose-data", |d| {
        set(d, &format!("{A0}/purpose"), json!("data"))
    }),
    ("mime-no-slash", |d| {
        set(d, &format!("{A0}/mimeType"), json!("pdf"))
    }),
    ("id-not-uuid", |d| {
        set(
            d,
            &format!("{A0}/attachmentId"),
            json!("not-a-uuid-but-long-enough-string!!"),
        )
    }),
    ("id-short", |d| {
        set(d, &format!("{A0}/attachmentId"), json!("abc"))
    }),
    ("id-number", |d| {
        set(d, &format!("{A0}/attachmentId"), json!(42))
    }),
    ("data-no-schema", |d| {
        remove(d, "/contentStructure/data/submissionSchema")
    }),
    ("data-mime-text", |d| {
        set(
            d,
            "/contentStructure/data/submissionSchema/mimeType",
            json!("text/plain"),
        )
    }),
    ("data-schema-uri-bad", |d| {
        set(
            d,
            "/contentStructure/data/submissionSchema/schemaUri",
            json!("not a uri"),
        )
    }),
    ("service-no-identifier", |d| {
        remove(d, "/publicServiceType/identifier")
    }),
    ("service-urn-upper", |d| {
        set(
            d,
            "/publicServiceType/identifier",
            json!("urn:de:FIM:leika"),
        )
    }),
    ("service-urn-short", |d| {
        set(d, "/publicServiceType/identifier", json!("urn:a:"))
    }),
    ("service-name-number", |d| {
        set(d, "/publicServiceType/name", json!(7))
    }),
    ("auth-empty", |d| {
        set(d, "/authenticationInformation", json!([]))
    }),
    ("auth-type", |d| {
        set(
            d,
            "/authenticationInformation",
            json!([{"type": "other", "version": "1.0.0", "content": "abc"}]),
        )
    }),
    ("auth-version", |d| {
        set(
            d,
            "/authenticationInformation",
            json!([{"type": "identificationReport", "version": "1.0", "content": "abc"}]),
        )
    }),
    ("auth-content", |d| {
        set(
            d,
            "/authenticationInformation",
            json!([{"type": "identificationReport", "version": "1.0.0", "content": "a+b"}]),
        )
    }),
    ("payment-no-status", |d| {
        set(d, "/paymentInformation", payment());
        remove(d, "/paymentInformation/status");
    }),
    ("payment-method", |d| {
        set(d, "/paymentInformation", payment());
        set(d, "/paymentInformation/paymentMethod", json!("BITCOIN"));
    }),
    ("payment-zero", |d| {
        set(d, "/paymentInformation", payment());
        set(d, "/paymentInformation/grossAmount", json!(0));
    }),
    ("payment-fraction", |d| {
        set(d, "/paymentInformation", payment());
        set(d, "/paymentInformation/grossAmount", json!(1.005));
    }),
    ("payment-id-long", |d| {
        set(d, "/paymentInformation", payment());
        set(
            d,
            "/paymentInformation/transactionId",
            json!("a".repeat(37)),
        );
    }),
    ("payment-id-chars", |d| {
        set(d, "/paymentInformation", payment());
        set(d, "/paymentInformation/transactionId", json!("a b"));
    }),
    ("payment-timestamp", |d| {
        set(d, "/paymentInformation", payment());
        set(
            d,
            "/paymentInformation/transactionTimestamp",
            json!("yesterday"),
        );
    }),
    ("payment-url-empty", |d| {
        set(d, "/paymentInformation", payment());
        set(d, "/paymentInformation/transactionUrl", json!(""));
    }),
    ("reply-empty", |d| set(d, "/replyChannel", json!({}))),
    ("reply-two", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "a@example.org"}, "deMail": {"address": "b@example.org"}}),
        )
    }),
    ("reply-email-bad", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "no-at-sign"}}),
        )
    }),
    ("reply-pgp-bad", |d| {
        set(
            d,
            "/replyChannel",
            json!({"eMail": {"address": "a@example.org", "pgpPublicKey": "mQINBF"}}),
        )
    }),
    ("reply-elster-9", |d| {
        set(
            d,
            "/replyChannel",
            json!({"elster": {"accountId": "123456789"}}),
        )
    }),
    ("reply-elster-gz", |d| {
        set(
            d,
            "/replyChannel",
            json!({"elster": {"accountId": "1234567890", "geschaeftszeichen": "12345678901"}}),
        )
    }),
    ("reply-fink-upper", |d| {
        set(
            d,
            "/replyChannel",
            json!({"fink": {"finkPostfachRef": "ABC"}}),
        )
    }),
    ("reply-fink-host", |d| {
        set(
            d,
            "/replyChannel",
            json!({"fink": {"finkPostfachRef": "abc", "host": "no uri"}}),
        )
    }),
    ("application-date", |d| {
        set(
            d,
            "/additionalReferenceInfo/applicationDate",
            json!("2022-13-01"),
        )
    }),
    ("reference-number", |d| {
        set(d, "/additionalReferenceInfo/senderReference", json!(5))
    }),
    ("signature-no-detached", |d| {
        set(d, &format!("{A0}/signature"), signature());
        remove(d, &format!("{A0}/signature/detachedSignature"));
    }),
    ("signature-format", |d| {
        set(d, "/contentStructure/data/signature", signature());
        set(
            d,
            "/contentStructure/data/signature/signatureFormat",
            json!("p7m"),
        );
    }),
    ("signature-profile", |d| {
        set(d, "/contentStructure/data/signature", signature());
        set(
            d,
            "/contentStructure/data/signature/eidasAdesProfile",
            json!("B-B"),
        );
    }),
    ("signature-content", |d| {
        set(d, "/contentStructure/data/signature", signature());
        set(d, "/contentStructure/data/signature/content", json!("***"));
    }),
    ("root-array", |d| *d = json!([1])),
    ("root-string", |d| *d = json!("metadata")),
];

#[test]
fn our_1_0_0_schema_agrees_with_the_official_one() {
    let Some(shared) =
        crate::shared_data::shared_or_skip(&["fit-connect/metadata.schema.v1.0.0.json"])
    else {
        return;
    };
    let official_path = shared.join("fit-connect/metadata.schema.v1.0.0.json");
    let official: Value = serde_json::from_slice(
        &std::fs::read(&official_path).expect("official schema in ../shared"),
    )
    .expect("JSON");
    let official = compile_schema(&official).expect("official schema compiles");
    let ours: Value = serde_json::from_str(VERSIONS[0].schema).expect("JSON");
    let ours = compile_schema(&ours).expect("our schema compiles");
    let validator = MetadataValidator::new();

    let docs = documents(base, MUTATIONS, 0x5eed_f17c_0000_0001);
    let (mut valid, mut invalid) = (0, 0);
    for (name, doc) in &docs {
        let expected = official.is_valid(doc);
        assert_eq!(
            ours.is_valid(doc),
            expected,
            "verdicts differ for {name}: {doc}"
        );
        // The gateway path (selection by $schema, typed model) agrees as well.
        assert_eq!(
            validator.validate(doc.to_string().as_bytes()).is_ok(),
            expected,
            "{name}"
        );
        if expected { valid += 1 } else { invalid += 1 }
    }
    // Single mutations have known verdicts: this guards against both schemas being lax alike
    // (e.g. formats not checked).
    for (i, (name, doc)) in docs.iter().skip(1).take(MUTATIONS.len()).enumerate() {
        assert_eq!(
            official.is_valid(doc),
            i < VALID_MUTATIONS,
            "expected verdict for {name}"
        );
    }
    assert!(docs.len() >= 200, "{} documents", docs.len());
    assert!(
        valid >= 50 && invalid >= 50,
        "{valid} valid, {invalid} invalid"
    );
}
