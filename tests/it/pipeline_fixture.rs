//! Shared fixture of the pipeline tests: builds captured submissions the way a sender and the
//! delivery service would (metadata with hashes, JWEs, the service's submit-submission SET),
//! with hooks to break exactly one thing. Keys come from `sandbox_support::keys()` (generated
//! once per test process); schemas from the repository and `$POSTSTELLE_SHARED`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use poststelle::Limits;
use poststelle::fitconnect::captured::{ApiProfile, CaptureInfo, CapturedSubmission};
use poststelle::fitconnect::destination::DestinationPolicy;
use poststelle::fitconnect::hash::sha512_hex;
use poststelle::fitconnect::metadata::MetadataValidator;
use poststelle::fitconnect::set::{self, AuthenticationTags, StaticKeys};
use poststelle::jose::{DecryptionKey, Jwk, KeyRing, KeyUse, SigningKey, jws};
use poststelle::pipeline::{CheckKeys, GrammarCache, Schemas};
use poststelle::xoev::catalog::Catalog;
use poststelle::xoev::pack::{PackSources, discover};
use poststelle::xoev::pack_files::PackLimits;
use poststelle::xoev::registry::Registry;
use poststelle::xoev::rules::{BusinessRules, RulesCache};
use serde_json::{Value, json};

use crate::sandbox_support::{self, SERVICE};

/// The delivery service issuer of fixture SETs.
pub(crate) const ISSUER: &str = "https://delivery.test";

pub(crate) fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub(crate) use crate::shared_data::shared;

/// The repository's example XGewerbeanzeige message.
pub(crate) fn xgewerbeanzeige() -> Vec<u8> {
    std::fs::read(repo("examples/xgewerbeanzeige/gewerbeanmeldung.xml")).expect("example")
}

/// The repository's example XBau message (validated with the shared XBau pack).
pub(crate) fn xbau() -> Vec<u8> {
    std::fs::read(repo("examples/xbau/baugenehmigung.antrag.0200.xml")).expect("example")
}

fn jwk(path: &Path) -> Jwk {
    Jwk::from_json(&std::fs::read_to_string(path).expect("key file")).expect("jwk")
}

/// Keys of the fixture: decryption ring, SET verification keys, the service signing key.
pub(crate) struct FixtureKeys {
    pub(crate) ring: KeyRing,
    pub(crate) sets: StaticKeys,
    pub(crate) service: SigningKey,
}

pub(crate) fn keys() -> &'static FixtureKeys {
    static K: OnceLock<FixtureKeys> = OnceLock::new();
    K.get_or_init(|| {
        let k = sandbox_support::keys();
        let mut ring = KeyRing::new();
        ring.insert(DecryptionKey::from_jwk(&jwk(&k.encryption)).expect("dec key"))
            .expect("insert");
        let service = SigningKey::from_jwk(&jwk(&k.service)).expect("service key");
        let sets = StaticKeys {
            delivery_service: vec![(
                ISSUER.to_owned(),
                service.kid().to_owned(),
                service.public_key().clone(),
            )],
            destinations: vec![],
        };
        FixtureKeys {
            ring,
            sets,
            service,
        }
    })
}

pub(crate) fn check_keys() -> CheckKeys<'static> {
    let k = keys();
    CheckKeys {
        decryption: &k.ring,
        sets: &k.sets,
    }
}

struct SchemaSet {
    metadata: MetadataValidator,
    registry: Registry<'static>,
    grammars: GrammarCache,
    rules: RulesCache,
}

fn schema_set() -> &'static SchemaSet {
    static S: OnceLock<SchemaSet> = OnceLock::new();
    S.get_or_init(|| {
        let sources = PackSources {
            packs_dir: repo("target/no-installed-packs"),
            shared_dir: Some(shared()),
            repo_dir: Some(repo("")),
        };
        let (registry, _broken) = discover(Catalog::embedded(), &sources, &PackLimits::default());
        SchemaSet {
            metadata: MetadataValidator::new(),
            registry,
            grammars: GrammarCache::default(),
            rules: RulesCache::default(),
        }
    })
}

/// A destination that offers anything (the drafts use random destination ids).
static OPEN: DestinationPolicy = DestinationPolicy {
    id: String::new(),
    services: Vec::new(),
    reply_channels: Vec::new(),
};

pub(crate) fn schemas() -> Schemas<'static> {
    let s = schema_set();
    Schemas {
        destination: &OPEN,
        metadata: &s.metadata,
        registry: &s.registry,
        grammars: &s.grammars,
        rules: &s.rules,
        business_rules: BusinessRules::default(),
    }
}

/// The submission schema a sender declares for these Fachdaten: (URI, media type). XML names
/// its message (unknown XML: a URN of no known standard); JSON is recognised by its `{` and
/// declares its `$schema`.
pub(crate) fn declared_schema(data: &[u8]) -> (String, String) {
    match poststelle::fitconnect::sender::detect_schema(data, Catalog::embedded()) {
        Ok(s) => (s.schema_uri, s.mime_type),
        Err(_) if data.trim_ascii_start().starts_with(b"{") => (
            "https://schema.poststelle.invalid/fim/unknown.schema.json".to_owned(),
            "application/json".to_owned(),
        ),
        Err(_) => ("urn:xoev-de:test".to_owned(), "application/xml".to_owned()),
    }
}

/// A submission before encryption; change any member to break one thing.
pub(crate) struct Draft {
    pub(crate) submission_id: String,
    pub(crate) case_id: String,
    pub(crate) destination_id: String,
    pub(crate) data: Option<Vec<u8>>,
    /// (attachmentId, content).
    pub(crate) attachments: Vec<(String, Vec<u8>)>,
    /// Metadata computed from the above by [`Draft::new`] (correct hashes).
    pub(crate) metadata: Value,
    /// Metadata bytes to encrypt instead of `metadata` (for JSON that a `Value` cannot hold).
    pub(crate) raw_metadata: Option<Vec<u8>>,
}

impl Draft {
    /// A correct submission with these Fachdaten (XML) and `n` PDF attachments.
    pub(crate) fn new(data: &[u8], n: usize) -> Draft {
        let attachments: Vec<(String, Vec<u8>)> = (0..n)
            .map(|i| {
                (
                    uuid::Uuid::new_v4().to_string(),
                    format!("%PDF-1.7 attachment {i}").into_bytes(),
                )
            })
            .collect();
        let mut d = Draft {
            submission_id: uuid::Uuid::new_v4().to_string(),
            case_id: uuid::Uuid::new_v4().to_string(),
            destination_id: uuid::Uuid::new_v4().to_string(),
            data: Some(data.to_vec()),
            attachments,
            metadata: Value::Null,
            raw_metadata: None,
        };
        d.metadata = d.correct_metadata();
        d
    }

    pub(crate) fn correct_metadata(&self) -> Value {
        let attachments: Vec<Value> = self
            .attachments
            .iter()
            .enumerate()
            .map(|(i, (id, content))| {
                json!({
                    "attachmentId": id, "purpose": "attachment", "mimeType": "application/pdf",
                    "filename": format!("anlage-{i}.pdf"),
                    "hash": {"type": "sha512", "content": sha512_hex(content)}
                })
            })
            .collect();
        let mut structure = json!({ "attachments": attachments });
        if let Some(data) = &self.data {
            let (uri, mime) = declared_schema(data);
            structure["data"] = json!({
                "hash": {"type": "sha512", "content": sha512_hex(data)},
                "submissionSchema": {"schemaUri": uri, "mimeType": mime}
            });
        }
        json!({
            "publicServiceType": {"identifier": SERVICE, "name": "Test"},
            "contentStructure": structure,
        })
    }

    /// Encrypts everything for the fixture destination key.
    pub(crate) fn seal(&self) -> Sealed {
        let metadata = sandbox_support::encrypt(
            &self
                .raw_metadata
                .clone()
                .unwrap_or_else(|| serde_json::to_vec(&self.metadata).expect("json")),
            Some("application/json"),
        );
        let data = self
            .data
            .as_ref()
            .map(|d| sandbox_support::encrypt(d, Some(&declared_schema(d).1)));
        let attachments: BTreeMap<String, String> = self
            .attachments
            .iter()
            .map(|(id, c)| {
                (
                    id.clone(),
                    sandbox_support::encrypt(c, Some("application/pdf")),
                )
            })
            .collect();
        let tags = AuthenticationTags {
            metadata: sandbox_support::tag(&metadata),
            data: data.as_deref().map(sandbox_support::tag),
            attachments: attachments
                .iter()
                .map(|(id, t)| (id.clone(), sandbox_support::tag(t)))
                .collect(),
        };
        Sealed {
            metadata,
            data,
            attachments,
            tags,
        }
    }
}

/// The encrypted parts and the tags the delivery service will announce.
pub(crate) struct Sealed {
    pub(crate) metadata: String,
    pub(crate) data: Option<String>,
    pub(crate) attachments: BTreeMap<String, String>,
    pub(crate) tags: AuthenticationTags,
}

/// A signed SET from the fixture delivery service.
pub(crate) fn service_set(claims: &Value, signer: &SigningKey) -> String {
    jws::sign(
        &serde_json::to_vec(claims).expect("json"),
        signer,
        Some(set::SET_TYP),
    )
}

pub(crate) fn submit_claims(d: &Draft, tags: &AuthenticationTags) -> Value {
    json!({
        "$schema": set::PayloadSchema::V1_2_2.uri(),
        "jti": uuid::Uuid::new_v4().to_string(),
        "iss": ISSUER,
        "iat": sandbox_support::now(),
        "sub": format!("submission:{}", d.submission_id),
        "txn": format!("case:{}", d.case_id),
        "events": { set::SUBMIT_SUBMISSION: { "authenticationTags": tags } },
    })
}

/// The delivery service's JWKS as it publishes it (its public PS512 key).
pub(crate) fn service_jwks() -> Value {
    let service = &keys().service;
    let jwk = service
        .public_key()
        .to_jwk(service.kid(), KeyUse::Signature, None);
    json!({"keys": [serde_json::from_str::<Value>(&jwk.to_json()).expect("json")]})
}

/// The captured submission with this event log.
pub(crate) fn capture_with_log(d: &Draft, s: &Sealed, log: Vec<String>) -> CapturedSubmission {
    let mut submission = json!({
        "destinationId": d.destination_id,
        "submissionId": d.submission_id,
        "caseId": d.case_id,
        "serviceType": {"identifier": SERVICE, "name": "Test"},
        "encryptedMetadata": s.metadata,
        "attachments": s.attachments.keys().collect::<Vec<_>>(),
    });
    if let Some(data) = &s.data {
        submission["encryptedData"] = json!(data);
    }
    CapturedSubmission {
        submission,
        attachments: s.attachments.clone(),
        events: json!({ "eventLog": log }),
        service_jwks: service_jwks(),
        info: CaptureInfo {
            issuer: ISSUER.to_owned(),
            captured_at: sandbox_support::now(),
            profile: ApiProfile::V1,
        },
    }
}

/// The captured submission as a correct delivery service would hand it out.
pub(crate) fn capture(d: &Draft, s: &Sealed) -> CapturedSubmission {
    let set = service_set(&submit_claims(d, &s.tags), &keys().service);
    capture_with_log(d, s, vec![set])
}

/// The default limits.
pub(crate) fn limits() -> Limits {
    Limits::default()
}
