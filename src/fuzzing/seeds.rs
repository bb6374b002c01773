//! The seed corpus of every target (`fuzz/seeds/<target>/<name>`): small inputs built from
//! the project's own data (examples, test vectors, test keys), never from `../shared`.
//!
//! `POSTSTELLE_WRITE_FUZZ_SEEDS=1 cargo test --lib write_fuzz_seeds -- --ignored` rewrites the
//! directory (signatures and JWEs are randomised, so the bytes change on every run; commit
//! only deliberate changes).
//! `every_target_holds_on_its_committed_seeds` runs every target over the committed files.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::fixtures::{
    CASE_ID, DELIVERY_SERVICE_ISS, DESTINATION_ID, NOW, SUBMISSION_ID, Signer, sign_compact,
};
use super::input::Seed;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn repo_file(rel: &str) -> Vec<u8> {
    std::fs::read(Path::new(REPO).join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The seed directory of the fuzz crate.
pub(crate) fn seed_dir() -> PathBuf {
    Path::new(REPO).join("fuzz/seeds")
}

type Seeds = Vec<(&'static str, String, Vec<u8>)>;

fn add(out: &mut Seeds, target: &'static str, name: &str, bytes: Vec<u8>) {
    out.push((target, name.to_owned(), bytes));
}

const SMALL_XML: &[&[u8]] = &[
    b"<r xmlns:p='urn:p'><p:a x='1'>t&amp;x<![CDATA[c]]></p:a>\n<b/></r>",
    b"<?xml version='1.0' encoding='UTF-8'?><!-- c --><?pi x?><r a=\"&#x41;\"/>",
    b"<r><a></r>",
    b"\xef\xbb\xbf<r>\xc3\xa4</r>",
];

fn xml_seeds(out: &mut Seeds) {
    for (i, doc) in SMALL_XML.iter().enumerate() {
        add(out, "xml_reader", &format!("small-{i}"), doc.to_vec());
        add(out, "root_sniff", &format!("small-{i}"), doc.to_vec());
    }
    add(
        out,
        "validate_xbau",
        "example-0200",
        repo_file("examples/xbau/baugenehmigung.antrag.0200.xml"),
    );
    add(out, "validate_xbau", "not-xbau", b"<x/>".to_vec());
}

fn jwe_seeds(out: &mut Seeds) {
    let plain = br#"{"contentStructure":{"attachments":[]}}"#;
    for (name, flags) in [("plain", 0u8), ("zip", 1), ("zip-raw-stream", 3)] {
        let mut s = vec![super::jwe::STRUCTURED, flags, 1, 0];
        s.extend_from_slice(plain);
        add(out, "jwe_stream", name, s);
    }
    let mut s = vec![super::jwe::STRUCTURED, 0, 2, 1, 40, 0, 1];
    s.extend_from_slice(b"<r/>");
    add(out, "jwe_stream", "one-byte-changed", s);
}

fn metadata_seeds(out: &mut Seeds) {
    let hash = crate::fitconnect::hash::sha512_hex(b"");
    let v1 = json!({
        "publicServiceType": {"identifier": "urn:de:fim:leika:leistung:99099002067003", "name": "Test"},
        "contentStructure": {
            "data": {"hash": {"type": "sha512", "content": hash},
                     "submissionSchema": {"schemaUri": "urn:xoev-de:bmk:standard:xbau_2.6#baugenehmigung.antrag.0200", "mimeType": "application/xml"}},
            "attachments": [{"attachmentId": "654bf3b3-5b3e-4c54-9c5a-6f0b0b0b0b0b", "purpose": "form",
                             "mimeType": "application/pdf", "filename": "a.pdf", "hash": {"type": "sha512", "content": hash}}]
        },
        "additionalReferenceInfo": {"senderReference": "R-1"}
    });
    add(
        out,
        "metadata",
        "v1",
        serde_json::to_vec(&v1).expect("json"),
    );
    let mut v2 = v1.clone();
    v2["$schema"] =
        json!("https://schema.fitko.de/fit-connect/metadata/2.1.0/metadata.schema.json");
    v2["publicService"] = v2["publicServiceType"].clone();
    add(
        out,
        "metadata",
        "v2",
        serde_json::to_vec(&v2).expect("json"),
    );
    let mut bad = v1;
    bad["contentStructure"]["attachments"][0]["hash"]["content"] = json!("SECRET");
    add(
        out,
        "metadata",
        "violation",
        serde_json::to_vec(&bad).expect("json"),
    );
}

fn claims(event: &str, payload: serde_json::Value, iss: &str) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"$schema": crate::fitconnect::set::PayloadSchema::default().uri(),
        "jti": "6a1f1e0e-8b0a-4c53-a0a4-1d1f3c2b7e02", "iss": iss, "iat": NOW - 60,
        "sub": format!("submission:{SUBMISSION_ID}"), "txn": format!("case:{CASE_ID}"),
        "events": {event: payload}}),
    )
    .expect("json")
}

fn set_seeds(out: &mut Seeds) {
    let tag = "rJzLKF3ApPQN-gUfK-Ahgw";
    let submit = claims(
        crate::fitconnect::set::SUBMIT_SUBMISSION,
        json!({"authenticationTags": {"metadata": tag, "data": tag,
            "attachments": {"0b3b3f3e-1b4c-4f5c-9a6f-2f0e4d7c8a11": tag}}}),
        DELIVERY_SERVICE_ISS,
    );
    let reject = claims(
        crate::fitconnect::set::REJECT_SUBMISSION,
        json!({"problems": [{"type": "https://schema.fitko.de/fit-connect/events/problems/hash-mismatch",
            "title": "t", "detail": "d", "instance": "data"}]}),
        DESTINATION_ID,
    );
    // Oracle mode: header 0, signer, kid, no edit, payload.
    add(
        out,
        "set_verify",
        "submit-by-service",
        Seed::default()
            .byte(1)
            .byte(0)
            .byte(0)
            .byte(0)
            .byte(0)
            .rest(&submit)
            .0,
    );
    add(
        out,
        "set_verify",
        "reject-by-destination",
        Seed::default()
            .byte(1)
            .byte(0)
            .byte(1)
            .byte(1)
            .byte(0)
            .rest(&reject)
            .0,
    );
    let header =
        json!({"alg": "PS512", "kid": Signer::Delivery.key().kid(), "typ": "secevent+jwt"});
    let token = sign_compact(
        Signer::Delivery,
        &serde_json::to_vec(&header).expect("json"),
        &submit,
    );
    add(
        out,
        "set_verify",
        "raw-valid-token",
        Seed::default()
            .byte(super::set::RAW)
            .rest(token.as_bytes())
            .0,
    );
    // Event log: one tag, no data, one attachment, two SETs (a correct submit, a create).
    add(
        out,
        "event_log",
        "submit-and-create",
        vec![
            1, 0, 1, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
        ],
    );
}

fn key_seeds(out: &mut Seeds) {
    for name in ["destination-encryption", "delivery-service"] {
        let public = repo_file(&format!("test-vectors/keys/{name}.public.jwk.json"));
        add(
            out,
            "jwk",
            &format!("jwk-{name}"),
            [vec![0], public].concat(),
        );
        let jwks = repo_file(&format!("test-vectors/keys/{name}.jwks.json"));
        add(
            out,
            "jwk",
            &format!("jwks-{name}"),
            [vec![1], jwks].concat(),
        );
    }
    let private = repo_file("test-vectors/keys/unrelated-signing.private.jwk.json");
    add(out, "jwk", "jwk-private", [vec![0], private].concat());
    add(out, "jwk", "x5c-unchanged", vec![2, 0, 0, 0]);
    add(out, "jwk", "x5c-one-byte", vec![2, 1, 1, 200, 0, 1, 0]);
    let generated = crate::jose::jwk::generate(crate::jose::KeyUse::Signature, Some("pem"))
        .expect("key generation");
    add(
        out,
        "jwk",
        "pkcs8-pem",
        [vec![3], generated.pkcs8_pem.as_bytes().to_vec()].concat(),
    );
}

fn http_seeds(out: &mut Seeds) {
    let raw: &[(&str, &[u8])] = &[
        ("health", b"GET /health HTTP/1.1\r\nhost: x\r\n\r\n"),
        (
            "pipelined",
            b"GET /ready HTTP/1.1\r\nhost: x\r\n\r\nGET /metrics HTTP/1.1\r\nhost: x\r\n\r\n",
        ),
        (
            "callback-unsigned",
            b"POST /callbacks/879ee109-a690-4db8-ab32-424284184d7d HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}",
        ),
        (
            "chunked",
            b"POST /callbacks/x HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        ),
    ];
    for (name, bytes) in raw {
        add(out, "server_http", name, [&[0u8][..], bytes].concat());
    }
    let body = br#"{"type":"https://schema.fitko.de/fit-connect/submission-api/callbacks/new-submissions","submissionIds":["f39ab143-d91a-474a-b69f-b00f1a1873c2"]}"#;
    add(
        out,
        "server_http",
        "signed-raw-body",
        Seed::default().byte(1).byte(0).byte(0).rest(body).0,
    );
    add(
        out,
        "server_http",
        "signed-ids",
        Seed::default()
            .byte(1)
            .byte(1)
            .byte(0)
            .byte(1)
            .byte(2)
            .bytes(SUBMISSION_ID.as_bytes())
            .bytes(b"../etc")
            .byte(1)
            .0,
    );
    add(
        out,
        "server_http",
        "admin-jobs",
        Seed::default()
            .byte(2)
            .byte(0)
            .byte(0)
            .bytes(b"jobs?limit=5")
            .0,
    );
    add(
        out,
        "callback",
        "fresh",
        Seed::default()
            .bytes(b"secret")
            .u16(100)
            .byte(2)
            .u16(5)
            .byte(1)
            .rest(body)
            .0,
    );
    // The sandbox API, submissions and replies (Rückkanal): (name, method index, as the sender,
    // path, body); DEST and SUB stand for the fixed destination and submission ids.
    let api: &[(&str, u8, bool, &str, &[u8])] = &[
        ("destination", 0, false, "/v1/destinations/DEST", b""),
        (
            "create-submission",
            1,
            true,
            "/v1/submissions",
            br#"{"destinationId":"DEST","announcedAttachments":[],"serviceType":{"name":"s","identifier":"urn:de:fim:leika:leistung:99099002067003"}}"#,
        ),
        (
            "list",
            0,
            false,
            "/v2/submissions?destinationId=DEST&limit=2",
            b"",
        ),
        (
            "reply-create",
            1,
            false,
            "/v1/replies",
            br#"{"submissionId":"SUB","announcedAttachments":[]}"#,
        ),
        (
            "reply-submit",
            2,
            false,
            "/v1/replies/SUB",
            br#"{"encryptedMetadata":"a.b.c.d.e","encryptedData":"a.b.c.d.e"}"#,
        ),
        ("reply-list", 0, true, "/v2/replies?offset=0&limit=5", b""),
        (
            "reply-reject",
            2,
            true,
            "/v1/replies/SUB/reject",
            br#"{"problems":[{"type":"x"}]}"#,
        ),
    ];
    let ids = |text: &str| {
        text.replace("DEST", DESTINATION_ID)
            .replace("SUB", SUBMISSION_ID)
    };
    for (name, method, sender, path, body) in api {
        add(
            out,
            "sandbox_http",
            name,
            Seed::default()
                .byte(1)
                .byte(*method)
                .byte(0)
                .byte(u8::from(*sender))
                .bytes(ids(path).as_bytes())
                .rest(ids(&String::from_utf8_lossy(body)).as_bytes())
                .0,
        );
    }
    add(
        out,
        "sandbox_http",
        "jwks-raw",
        [
            &[0u8][..],
            b"GET /.well-known/jwks.json HTTP/1.1\r\nhost: x\r\n\r\n",
        ]
        .concat(),
    );
    add(
        out,
        "sandbox_http",
        "token-form",
        [
            &[2u8][..],
            b"grant_type=client_credentials&client_id=x&client_secret=y",
        ]
        .concat(),
    );
}

fn client_seeds(out: &mut Seeds) {
    let answer = |op: u8, status_index: u8, body: &[u8]| {
        Seed::default()
            .byte(op)
            .byte(0)
            .byte(0)
            .byte(0)
            .byte(status_index)
            .byte(0)
            .byte(3)
            .bytes(body)
            .0
    };
    let sub = json!({"submissionId": SUBMISSION_ID, "caseId": CASE_ID, "destinationId": DESTINATION_ID,
        "attachments": [], "encryptedMetadata": "a.b.c.d.e"});
    let page = json!({"submissions": [{"submissionId": SUBMISSION_ID, "caseId": CASE_ID,
        "destinationId": DESTINATION_ID}], "totalCount": 1, "offset": 0});
    add(
        out,
        "client_response",
        "list",
        answer(0, 0, page.to_string().as_bytes()),
    );
    add(
        out,
        "client_response",
        "submission",
        answer(1, 0, sub.to_string().as_bytes()),
    );
    add(
        out,
        "client_response",
        "attachment",
        answer(2, 0, b"a.b.c.d.e"),
    );
    add(
        out,
        "client_response",
        "jwks",
        answer(
            4,
            0,
            &repo_file("test-vectors/keys/delivery-service.jwks.json"),
        ),
    );
    add(
        out,
        "client_response",
        "problem-404",
        answer(
            1,
            10,
            br#"{"type":"https://schema.fitko.de/fit-connect/submission-api/problems/not-found","title":"Not Found"}"#,
        ),
    );
    add(
        out,
        "client_response",
        "raw-garbage",
        Seed::default()
            .byte(1)
            .byte(1)
            .byte(0)
            .byte(0)
            .bytes(b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n{")
            .0,
    );
}

fn xsd_seeds(out: &mut Seeds) {
    let antrag = repo_file("test-vectors/xsd/schemas/antrag.xsd");
    let instance = repo_file("test-vectors/transform/transform-base.xml");
    add(
        out,
        "xsd_compile",
        "antrag",
        Seed::default().byte(0).bytes(&antrag).rest(&instance).0,
    );
    let a = br#"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified"><xs:include schemaLocation="b.xsd"/><xs:element name="r" type="t:D"/><xs:complexType name="D"><xs:complexContent><xs:extension base="t:B"><xs:sequence><xs:element name="y" type="xs:int" maxOccurs="2"/></xs:sequence><xs:attribute name="n" type="xs:boolean"/></xs:extension></xs:complexContent></xs:complexType></xs:schema>"#;
    let b = br###"<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:t="urn:t" targetNamespace="urn:t" elementFormDefault="qualified"><xs:complexType name="B" mixed="true"><xs:choice><xs:element name="x" type="xs:decimal"/><xs:any namespace="##other" processContents="lax"/></xs:choice></xs:complexType></xs:schema>"###;
    add(
        out,
        "xsd_compile",
        "include-extension",
        Seed::default()
            .byte(1)
            .bytes(a)
            .bytes(b)
            .rest(b"<r xmlns='urn:t' n='true'>t<x>1.50</x><y>2</y><y>3</y></r>")
            .0,
    );
    for (name, pattern, texts) in [
        ("uuid", "[0-9a-f]{8}-[0-9a-f]{4}", "3f2c9a9e-0d6b\nxyz"),
        ("plz", "\\d{5}", "10115\n1011"),
        ("classes", "[a-z-[aeiou]]+(\\s|_)?\\w*", "bcd w\nae"),
        ("names", "\\i\\c*|.?", ":a-b\n\r"),
    ] {
        add(
            out,
            "xsd_regex",
            name,
            Seed::default()
                .bytes(pattern.as_bytes())
                .rest(texts.as_bytes())
                .0,
        );
    }
}

fn rules_seeds(out: &mut Seeds) {
    // Generated rules: an abstract rule pulled in by extends, a let, two patterns.
    let generated = Seed::default()
        .byte(4) // generated, phase "one"
        .byte(1) // a let
        .byte(0)
        .byte(1) // "exists(b)"
        .byte(1) // an abstract rule
        .byte(1) // two patterns
        .rest(b"");
    let doc: &[u8] = b"<r xmlns:p='urn:p' x='1'><a x='2'>1</a><a>t</a><b x=''/><p:a/>  </r>";
    let mut g = generated.0.clone();
    g.extend_from_slice(&[
        1, 2, 0, 1, 7, 1, 3, 0, 9, 2, 1, 0, 2, 5, 1, 1, 0, 3, 12, 0, 1,
    ]);
    g.extend_from_slice(doc);
    add(out, "schematron", "generated", g);
    let own = repo_file("src/fuzzing/rules-seed.sch");
    add(
        out,
        "schematron",
        "raw-schema",
        Seed::default()
            .byte(1)
            .bytes(&own)
            .rest(b"<r><a x='1'>1</a><a x='2'>2</a><b/></r>")
            .0,
    );
    let list = br#"<gc:CodeList xmlns:gc="http://docs.oasis-open.org/codelist/ns/genericode/1.0/"><Identification><ShortName>t</ShortName><Version>1</Version><CanonicalUri>urn:t</CanonicalUri></Identification><ColumnSet><Column Id="c"/><Key Id="k"><ColumnRef Ref="c"/></Key></ColumnSet><SimpleCodeList><Row><Value><SimpleValue>01</SimpleValue></Value></Row></SimpleCodeList></gc:CodeList>"#;
    add(
        out,
        "schematron",
        "codelist",
        Seed::default().byte(3).bytes(&own).rest(list).0,
    );
}

fn transform_seeds(out: &mut Seeds) {
    for name in [
        "transform-base",
        "transform-nil",
        "transform-two-persons-order-kept",
    ] {
        let xml = repo_file(&format!("test-vectors/transform/{name}.xml"));
        add(out, "transform", name, [vec![0], xml].concat());
    }
    add(
        out,
        "transform",
        "xgewerbeanzeige",
        [vec![1], super::submission::EXAMPLE_XML.to_vec()].concat(),
    );
    let envelope = repo_file("test-vectors/transform/transform-base.json");
    add(
        out,
        "transform",
        "json-envelope",
        [vec![2], envelope].concat(),
    );
}

fn pack_seeds(out: &mut Seeds) {
    add(
        out,
        "pack_zip",
        "two-entries",
        Seed::default()
            .byte(1)
            .byte(2)
            .bytes(b"top/a.xsd")
            .byte(7)
            .byte(1)
            .bytes(b"<xs:schema/>")
            .bytes(b"top/b.xsd")
            .byte(7)
            .byte(0)
            .bytes(b"<x/>")
            .byte(0)
            .0,
    );
    add(
        out,
        "pack_zip",
        "escaping-name",
        Seed::default()
            .byte(1)
            .byte(1)
            .bytes(b"evil.xsd")
            .byte(0)
            .byte(0)
            .bytes(b"x")
            .byte(0)
            .0,
    );
}

/// Every seed: (target, file name, bytes).
/// The JSON documents of the FIM-style test vectors (the small ones; the 100,000-deep nesting
/// is read in place by the CI step, `scripts/fuzz-dirs.sh`).
fn json_seeds(out: &mut Seeds) {
    let dir = Path::new(REPO).join("test-vectors/fim/documents");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    for path in files {
        let bytes = std::fs::read(&path).expect("vector");
        if bytes.len() <= 16 * 1024 {
            let name = path.file_stem().expect("name").to_string_lossy();
            add(out, "json_fachdaten", &name, bytes);
        }
    }
}

/// Query strings of the console's submission list: a real one, hostile values, odd encodings.
fn console_seeds(out: &mut Seeds) {
    for (name, q) in [
        (
            "filter",
            "decision=rejected&type=baugenehmigung.antrag.0200&destination=ABC&from=2026-12-01&to=2026-12-05&page=2",
        ),
        (
            "markup",
            "type=%3Cscript%3Ealert(1)%3C/script%3E&destination=%22%3E%3Cx%3E",
        ),
        (
            "dates",
            "from=2026-02-30&to=+2026-1-1&page=18446744073709551616",
        ),
        (
            "encoding",
            "%FF%FE=%C3%A4&type=a+b%00&&=&decision=accepted&decision=",
        ),
        // A fuzzer finding in CI: short values that also occur in the page's markup.
        ("finding-short-markup", "type=%3Cs&destination=%3Cselect"),
    ] {
        add(out, "console_forms", name, q.as_bytes().to_vec());
    }
}

pub(crate) fn all() -> Seeds {
    let mut out = Vec::new();
    console_seeds(&mut out);
    xml_seeds(&mut out);
    jwe_seeds(&mut out);
    metadata_seeds(&mut out);
    set_seeds(&mut out);
    key_seeds(&mut out);
    http_seeds(&mut out);
    client_seeds(&mut out);
    xsd_seeds(&mut out);
    rules_seeds(&mut out);
    transform_seeds(&mut out);
    pack_seeds(&mut out);
    json_seeds(&mut out);
    for (name, bytes) in super::submission::seeds() {
        add(&mut out, "check_submission", name, bytes);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rewrites `fuzz/seeds/`, on purpose only:
    /// `POSTSTELLE_WRITE_FUZZ_SEEDS=1 cargo test --lib write_fuzz_seeds -- --ignored`.
    #[test]
    #[ignore = "writes the seed corpus; run on purpose"]
    fn write_fuzz_seeds() {
        if std::env::var_os("POSTSTELLE_WRITE_FUZZ_SEEDS").is_none() {
            eprintln!("set POSTSTELLE_WRITE_FUZZ_SEEDS=1 to rewrite fuzz/seeds/");
            return;
        }
        let dir = seed_dir();
        let _ = std::fs::remove_dir_all(&dir);
        for (target, name, bytes) in all() {
            let d = dir.join(target);
            std::fs::create_dir_all(&d).expect("seed directory");
            std::fs::write(d.join(name), bytes).expect("seed written");
        }
    }

    #[test]
    fn every_target_holds_on_its_committed_seeds() {
        for (target, run) in crate::fuzzing::TARGETS {
            let dir = seed_dir().join(target);
            let mut n = 0;
            let mut entries: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.expect("entry").path())
                .collect();
            entries.sort();
            for path in entries {
                let bytes = std::fs::read(&path).expect("seed");
                assert!(bytes.len() <= 64 * 1024, "{} is not small", path.display());
                run(&bytes);
                n += 1;
            }
            assert!(n > 0, "no seeds for {target}");
        }
    }

    #[test]
    fn every_target_is_in_the_fuzz_crate() {
        let manifest = std::fs::read_to_string(Path::new(REPO).join("fuzz/Cargo.toml"))
            .expect("fuzz/Cargo.toml");
        for (target, _) in crate::fuzzing::TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{target}\"")),
                "{target} is not a fuzz target"
            );
        }
    }
}
