//! The generator of the test vectors (`poststelle vectors bless`, hidden).
//!
//! Every case is defined here, in code, with the rule it exercises and the result the rule
//! demands (written from the FIT-Connect documents and the XSD specification, never read back
//! from our implementation). Randomised artefacts — RSA-OAEP key wrapping, AES-GCM IVs, PSS
//! salts — are generated once and committed: an existing file is kept unless `force` is given,
//! so a re-bless only adds what is new. Keys are kept whenever they exist (delete `keys/` to
//! rotate them). Deterministic files and `manifest.json` are always rewritten.

mod callback;
mod fim;
mod jwe;
mod metadata;
mod metadata_v2;
mod reply;
mod set;
mod submission;
mod transform;
mod xsd;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{Case, Context, DeliveryService, Destination, FORMAT, Kind, Manifest, VectorsError};
use crate::fitconnect::keys::{Jwks, generate_test_key_pair};
use crate::jose::{DecryptionKey, Jwk, KeyUse, RsaPublicKey, SigningKey};

/// The fixed "now" of the suite: 2026-01-01T00:00:00Z.
pub const NOW: i64 = 1_767_225_600;
/// The delivery service's SET issuer in the vectors.
pub const DELIVERY_SERVICE_ISS: &str = "https://delivery-service.test-vectors.invalid";
/// The destination of the vectors (the FITKO documentation's example id).
pub const DESTINATION_ID: &str = "879ee109-a690-4db8-ab32-424284184d7d";
/// The submission most cases refer to (FITKO example id).
pub const SUBMISSION_ID: &str = "ce75a6b8-d72f-4b94-b09e-af6be35bc2ae";
/// The case (Vorgang) most cases refer to (FITKO example id).
pub const CASE_ID: &str = "e89e107e-ed79-40e6-ad34-4e770f9df263";

/// What a bless run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Blessed {
    /// Files written.
    pub written: usize,
    /// Randomised files kept as they were.
    pub kept: usize,
    /// Cases in the manifest.
    pub cases: usize,
}

/// The key material of the suite (TEST ONLY).
pub(super) struct Keys {
    pub(super) enc_kid: String,
    pub(super) enc_public: RsaPublicKey,
    pub(super) unrelated_enc_public: RsaPublicKey,
    pub(super) destination_sig: SigningKey,
    pub(super) delivery_sig: SigningKey,
    pub(super) unrelated_sig: SigningKey,
    /// The sender's reply key (`reply` cases).
    pub(super) reply_enc: DecryptionKey,
}

/// The generator's state: where to write, what was written, the cases so far.
pub(super) struct Gen {
    pub(super) dir: PathBuf,
    pub(super) force: bool,
    pub(super) done: Blessed,
    cases: Vec<Case>,
    pub(super) keys: Keys,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VectorsError + '_ {
    move |e| VectorsError::Read {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn fmt_err(e: impl std::fmt::Display) -> VectorsError {
    VectorsError::Format(e.to_string())
}

impl Gen {
    /// Writes a deterministic file (always).
    pub(super) fn file(&mut self, rel: &str, bytes: &[u8]) -> Result<String, VectorsError> {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        if std::fs::read(&path).ok().as_deref() != Some(bytes) {
            std::fs::write(&path, bytes).map_err(io_err(&path))?;
            self.done.written += 1;
        }
        Ok(rel.to_owned())
    }

    /// Writes a randomised file unless it exists (and `force` is off).
    pub(super) fn random_file(
        &mut self,
        rel: &str,
        make: impl FnOnce(&Keys) -> Result<Vec<u8>, VectorsError>,
    ) -> Result<String, VectorsError> {
        if !self.force && self.dir.join(rel).is_file() {
            self.done.kept += 1;
            return Ok(rel.to_owned());
        }
        let bytes = make(&self.keys)?;
        self.file(rel, &bytes)
    }

    /// Adds a case.
    pub(super) fn case(
        &mut self,
        id: &str,
        kind: Kind,
        description: &str,
        rule: &str,
        inputs: &[(&str, String)],
        expected: Value,
    ) -> &mut Case {
        self.cases.push(Case {
            id: id.to_owned(),
            kind,
            description: description.to_owned(),
            rule: rule.to_owned(),
            inputs: inputs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect::<BTreeMap<_, _>>(),
            now: None,
            expected,
            xfail: None,
        });
        self.cases.last_mut().expect("just pushed")
    }
}

/// `v` with the members of every object in name order. The callback, metadata 1.0.0 and
/// transform files were first written when `serde_json` sorted object members; since the crate
/// keeps document order (`preserve_order`), their generators sort explicitly, so a re-bless
/// writes the committed bytes again (and the callback MACs over them stay the same).
pub(super) fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            Value::Object(
                names
                    .into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Loads a private key file, or generates and writes the pair.
fn key_pair(
    dir: &Path,
    name: &str,
    key_use: KeyUse,
    done: &mut Blessed,
) -> Result<Jwk, VectorsError> {
    let private = dir.join(format!("keys/{name}.private.jwk.json"));
    if let Ok(text) = std::fs::read_to_string(&private) {
        return Jwk::from_json(&text).map_err(fmt_err);
    }
    let pair = generate_test_key_pair(key_use, NOW).map_err(fmt_err)?;
    std::fs::create_dir_all(dir.join("keys")).map_err(io_err(dir))?;
    let pretty = |jwk: &Jwk| -> Result<String, VectorsError> {
        let v: Value = serde_json::from_str(&jwk.to_json()).map_err(fmt_err)?;
        Ok(serde_json::to_string_pretty(&v).map_err(fmt_err)? + "\n")
    };
    std::fs::write(&private, pretty(&pair.private_jwk)?).map_err(io_err(&private))?;
    let public = dir.join(format!("keys/{name}.public.jwk.json"));
    std::fs::write(&public, pretty(&pair.public_jwk)?).map_err(io_err(&public))?;
    let jwks = dir.join(format!("keys/{name}.jwks.json"));
    let set: Value = serde_json::from_str(&Jwks::to_json(&[&pair.public_jwk])).map_err(fmt_err)?;
    std::fs::write(
        &jwks,
        serde_json::to_string_pretty(&set).map_err(fmt_err)? + "\n",
    )
    .map_err(io_err(&jwks))?;
    done.written += 3;
    Ok(pair.private_jwk)
}

fn load_keys(dir: &Path, done: &mut Blessed) -> Result<Keys, VectorsError> {
    let enc = DecryptionKey::from_jwk(&key_pair(
        dir,
        "destination-encryption",
        KeyUse::Encryption,
        done,
    )?)
    .map_err(fmt_err)?;
    let unrelated_enc = DecryptionKey::from_jwk(&key_pair(
        dir,
        "unrelated-encryption",
        KeyUse::Encryption,
        done,
    )?)
    .map_err(fmt_err)?;
    let reply_enc = DecryptionKey::from_jwk(&key_pair(
        dir,
        "reply-encryption",
        KeyUse::Encryption,
        done,
    )?)
    .map_err(fmt_err)?;
    let sig = |name: &str, done: &mut Blessed| -> Result<SigningKey, VectorsError> {
        SigningKey::from_jwk(&key_pair(dir, name, KeyUse::Signature, done)?).map_err(fmt_err)
    };
    Ok(Keys {
        enc_kid: enc.kid().to_owned(),
        enc_public: enc.public_key().clone(),
        unrelated_enc_public: unrelated_enc.public_key().clone(),
        destination_sig: sig("destination-signing", done)?,
        delivery_sig: sig("delivery-service", done)?,
        unrelated_sig: sig("unrelated-signing", done)?,
        reply_enc,
    })
}

/// Writes the suite into `dir` (usually `test-vectors/`).
///
/// # Errors
/// A file cannot be written or a key cannot be generated or read.
pub fn bless(dir: &Path, force: bool) -> Result<Blessed, VectorsError> {
    let mut done = Blessed::default();
    let keys = load_keys(dir, &mut done)?;
    let mut generator = Gen {
        dir: dir.to_owned(),
        force,
        done,
        cases: Vec::new(),
        keys,
    };
    jwe::cases(&mut generator)?;
    set::cases(&mut generator)?;
    metadata::cases(&mut generator)?;
    metadata_v2::cases(&mut generator)?;
    callback::cases(&mut generator)?;
    xsd::cases(&mut generator)?;
    transform::cases(&mut generator)?;
    fim::cases(&mut generator)?;
    submission::cases(&mut generator, &dir.join(".."))?;
    reply::cases(&mut generator, &dir.join(".."))?;
    let manifest = Manifest {
        format: FORMAT,
        now: NOW,
        context: Context {
            delivery_service: DeliveryService {
                iss: DELIVERY_SERVICE_ISS.to_owned(),
                jwks: "keys/delivery-service.jwks.json".to_owned(),
            },
            destination: Destination {
                destination_id: DESTINATION_ID.to_owned(),
                signing_jwks: "keys/destination-signing.jwks.json".to_owned(),
                decryption_key: "keys/destination-encryption.private.jwk.json".to_owned(),
                services: vec![
                    crate::fitconnect::destination::Service {
                        identifier: submission::SERVICE_ID.to_owned(),
                        name: "Gewerbeanmeldung".to_owned(),
                        regions: Vec::new(),
                        submission_schemas: vec![crate::fitconnect::destination::SchemaRef {
                            schema_uri: submission::SERVICE_SCHEMA.to_owned(),
                            mime_type: "application/xml".to_owned(),
                        }],
                    },
                    crate::fitconnect::destination::Service {
                        identifier: submission::JSON_SERVICE_ID.to_owned(),
                        name: "Anzeige einer Veranstaltung (Test)".to_owned(),
                        regions: Vec::new(),
                        submission_schemas: [fim::ROOT, submission::JSON_SCHEMA_NOT_INSTALLED]
                            .iter()
                            .map(|uri| crate::fitconnect::destination::SchemaRef {
                                schema_uri: (*uri).to_owned(),
                                mime_type: "application/json".to_owned(),
                            })
                            .collect(),
                    },
                ],
                reply_channels: submission::REPLY_CHANNELS
                    .iter()
                    .map(|c| (*c).to_owned())
                    .collect(),
            },
        },
        cases: std::mem::take(&mut generator.cases),
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(fmt_err)? + "\n";
    generator.file("manifest.json", text.as_bytes())?;
    generator.done.cases = manifest.cases.len();
    Ok(generator.done)
}
