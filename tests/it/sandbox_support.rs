//! Shared fixture of the sandbox tests: keys generated once per test process, a sandbox on
//! 127.0.0.1:0 per test, a reqwest client with a timeout on every call (loopback only).

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use poststelle::fitconnect::keys::generate_test_key_pair;
use poststelle::fitconnect::set::{self, AuthenticationTags, SubmissionRef};
use poststelle::jose::jwe;
use poststelle::jose::jwk::{self, Jwk, KeyUse, RsaPublicKey, SigningKey};
use poststelle::sandbox::{
    ClientConfig, ClientRole, DestinationConfig, Sandbox, SandboxConfig, SandboxHandle,
};
use serde_json::{Value, json};

/// The key files every test sandbox uses, so RSA-4096 generation happens once.
pub(crate) struct Keys {
    _dir: tempfile::TempDir,
    pub(crate) service: PathBuf,
    pub(crate) encryption: PathBuf,
    pub(crate) signing: PathBuf,
    pub(crate) encryption_public: RsaPublicKey,
    pub(crate) encryption_kid: String,
    pub(crate) signing_private: SigningKey,
}

pub(crate) fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, key: &Jwk| {
            let path = dir.path().join(name);
            std::fs::write(&path, key.to_json()).expect("write key");
            path
        };
        let service = jwk::generate(KeyUse::Signature, None).expect("keygen");
        // Destination keys with a self-signed x5c, as FIT-Connect publishes them, so that
        // senders can check them (with the dangerous self-signed switch).
        let encryption = generate_test_key_pair(KeyUse::Encryption, now()).expect("keygen");
        let signing = generate_test_key_pair(KeyUse::Signature, now()).expect("keygen");
        let encryption_kid = encryption.private_jwk.kid.clone().expect("kid");
        Keys {
            service: write("service.jwk.json", &service.private_jwk),
            encryption: write("encryption.jwk.json", &encryption.private_jwk),
            signing: write("signing.jwk.json", &signing.private_jwk),
            encryption_public: encryption.public_jwk.public_key().expect("public key"),
            encryption_kid,
            signing_private: SigningKey::from_jwk(&signing.private_jwk).expect("signing key"),
            _dir: dir,
        }
    })
}

pub(crate) const SERVICE: &str = "urn:de:fim:leika:leistung:99099002067003";

/// A config with one destination, one sender and one subscriber, on 127.0.0.1:0.
pub(crate) fn config(data_dir: &std::path::Path, destination: &str) -> SandboxConfig {
    let k = keys();
    let mut c = SandboxConfig::generated();
    c.listen = "127.0.0.1:0".parse().expect("addr");
    c.data_dir = data_dir.to_owned();
    c.ephemeral = true;
    c.service_signing_key = Some(k.service.clone());
    let d: &mut DestinationConfig = &mut c.destinations[0];
    d.id = destination.to_owned();
    d.services[0].identifier = SERVICE.to_owned();
    // Besides the XÖV standards, the JSON Fachdaten of the FIM-style test pack.
    d.services[0]
        .submission_schemas
        .push(poststelle::fitconnect::destination::SchemaRef {
            schema_uri: crate::fim_json::ROOT.to_owned(),
            mime_type: "application/json".to_owned(),
        });
    d.encryption_key = Some(k.encryption.clone());
    d.signing_key = Some(k.signing.clone());
    c.clients = vec![
        ClientConfig {
            id: "sender".into(),
            secret: "sender-secret-0123456789".into(),
            role: ClientRole::Sender,
            destinations: vec![],
        },
        ClientConfig {
            id: "subscriber".into(),
            secret: "subscriber-secret-0123456789".into(),
            role: ClientRole::Subscriber,
            destinations: vec![destination.to_owned()],
        },
    ];
    c.callbacks.initial_backoff_ms = 50;
    c.callbacks.timeout_secs = 5;
    c
}

/// A running sandbox plus a client for it.
pub(crate) struct Env {
    pub(crate) sandbox: SandboxHandle,
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) destination: String,
    pub(crate) data_dir: tempfile::TempDir,
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .no_proxy()
        .build()
        .expect("client")
}

pub(crate) async fn start_with(adjust: impl FnOnce(&mut SandboxConfig)) -> Env {
    let data_dir = tempfile::tempdir().expect("tempdir");
    let destination = uuid::Uuid::new_v4().to_string();
    let mut c = config(data_dir.path(), &destination);
    adjust(&mut c);
    let sandbox = Sandbox::start(c).await.expect("sandbox starts");
    Env {
        base: sandbox.base_url().to_owned(),
        sandbox,
        http: client(),
        destination,
        data_dir,
    }
}

pub(crate) async fn start() -> Env {
    start_with(|_| {}).await
}

/// Status and problem `type` slug of a problem response (asserts the media type).
pub(crate) async fn problem(resp: reqwest::Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(ct, "application/problem+json", "status {status}");
    let body: Value = resp.json().await.expect("problem json");
    assert_eq!(body["status"], status);
    let t = body["type"].as_str().expect("type").to_owned();
    let slug = t
        .strip_prefix("https://schema.fitko.de/fit-connect/submission-api/problems/")
        .expect("configured prefix")
        .to_owned();
    (status, slug)
}

impl Env {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn token_response(&self, form: &str) -> reqwest::Response {
        self.http
            .post(self.url("/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
            .send()
            .await
            .expect("token request")
    }

    pub(crate) async fn token(&self, id: &str, secret: &str) -> String {
        let resp = self
            .token_response(&format!(
                "grant_type=client_credentials&client_id={id}&client_secret={secret}"
            ))
            .await;
        assert_eq!(resp.status(), 200);
        let v: Value = resp.json().await.expect("json");
        v["access_token"].as_str().expect("token").to_owned()
    }

    pub(crate) async fn sender(&self) -> String {
        self.token("sender", "sender-secret-0123456789").await
    }

    pub(crate) async fn subscriber(&self) -> String {
        self.token("subscriber", "subscriber-secret-0123456789")
            .await
    }

    pub(crate) async fn create(
        &self,
        v: &str,
        token: &str,
        announced: &[String],
    ) -> reqwest::Response {
        let service = if v == "v2" {
            "publicService"
        } else {
            "serviceType"
        };
        self.http
            .post(self.url(&format!("/{v}/submissions")))
            .bearer_auth(token)
            .json(&json!({
                "destinationId": self.destination,
                "announcedAttachments": announced,
                service: { "name": "Test", "identifier": SERVICE },
            }))
            .send()
            .await
            .expect("create")
    }

    /// Creates a v1 submission and returns (submissionId, caseId).
    pub(crate) async fn created(&self, token: &str, announced: &[String]) -> (String, String) {
        let resp = self.create("v1", token, announced).await;
        assert_eq!(resp.status(), 201);
        let v: Value = resp.json().await.expect("json");
        assert_eq!(v["destinationId"], self.destination.as_str());
        (
            v["submissionId"].as_str().expect("id").to_owned(),
            v["caseId"].as_str().expect("case").to_owned(),
        )
    }

    pub(crate) async fn upload(
        &self,
        token: &str,
        sid: &str,
        aid: &str,
        body: &str,
    ) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/v1/submissions/{sid}/attachments/{aid}")))
            .bearer_auth(token)
            .header("content-type", "application/jose")
            .body(body.to_owned())
            .send()
            .await
            .expect("upload")
    }

    pub(crate) async fn submit(
        &self,
        v: &str,
        token: &str,
        sid: &str,
        body: &Value,
    ) -> reqwest::Response {
        self.http
            .put(self.url(&format!("/{v}/submissions/{sid}")))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("submit")
    }

    pub(crate) async fn get(&self, token: &str, path: &str) -> reqwest::Response {
        self.http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("get")
    }

    pub(crate) async fn post_event(&self, token: &str, case: &str, set: &str) -> reqwest::Response {
        self.http
            .post(self.url(&format!("/v1/cases/{case}/events")))
            .bearer_auth(token)
            .header("content-type", "application/jose")
            .body(set.to_owned())
            .send()
            .await
            .expect("post event")
    }

    /// Creates, uploads `n` attachments and submits; returns (submissionId, caseId, tags).
    pub(crate) async fn submitted(&self, n: usize) -> (String, String, AuthenticationTags) {
        let token = self.sender().await;
        let ids: Vec<String> = (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect();
        let (sid, case) = self.created(&token, &ids).await;
        let mut tags = AuthenticationTags::default();
        for id in &ids {
            let att = encrypt(b"%PDF-1.7 test", Some("application/pdf"));
            assert_eq!(self.upload(&token, &sid, id, &att).await.status(), 204);
            tags.attachments.insert(id.clone(), tag(&att));
        }
        let metadata = encrypt(b"{}", Some("application/json"));
        let data = encrypt(b"<x/>", Some("application/xml"));
        tags.metadata = tag(&metadata);
        tags.data = Some(tag(&data));
        let body = json!({ "encryptedMetadata": metadata, "encryptedData": data });
        let resp = self.submit("v1", &token, &sid, &body).await;
        assert_eq!(resp.status(), 200);
        (sid, case, tags)
    }

    pub(crate) fn accept(&self, sid: &str, case: &str, tags: &AuthenticationTags) -> String {
        set::accept_submission(
            &keys().signing_private,
            &self.subject(sid, case),
            tags,
            now(),
            set::PayloadSchema::default(),
        )
    }

    pub(crate) fn subject<'a>(&'a self, sid: &'a str, case: &'a str) -> SubmissionRef<'a> {
        SubmissionRef {
            destination_id: &self.destination,
            submission_id: sid,
            case_id: case,
        }
    }
}

pub(crate) fn encrypt(plain: &[u8], cty: Option<&str>) -> String {
    let k = keys();
    jwe::encrypt(plain, &k.encryption_public, &k.encryption_kid, cty).expect("encrypt")
}

pub(crate) fn tag(jwe: &str) -> String {
    jwe.rsplit('.').next().expect("tag").to_owned()
}

pub(crate) fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("fits")
}
