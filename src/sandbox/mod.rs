//! `poststelle sandbox`: a local FIT-Connect delivery service (Zustelldienst) for tests and
//! vendors.
//!
//! It serves the Submission API v1 as documented (and the `/v2` path profile current clients
//! use): destinations and their keys, submissions with announced attachments, the case event
//! log with the sandbox's own PS512-signed `create-submission` / `submit-submission` SETs,
//! subscriber `accept`/`reject`/`forward` SETs verified against the destination's signing key,
//! an OAuth2 token endpoint (client_credentials, client_secret_post) and HMAC-signed callbacks.
//! State lives in SQLite ([`store`]); crypto is `jose` and `fitconnect`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), poststelle::sandbox::SandboxError> {
//! use poststelle::sandbox::{Sandbox, SandboxConfig};
//! let mut config = SandboxConfig::generated();
//! config.listen = "127.0.0.1:0".parse().expect("address");
//! config.ephemeral = true;
//! let sandbox = Sandbox::start(config).await?;
//! println!("running at {}", sandbox.base_url());
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

mod auth;
mod callback;
mod case_log;
pub mod config;
mod events;
mod http;
pub mod keys;
pub mod problem;
mod replies;
mod routes;
pub mod store;
mod submissions;
mod upload;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use config::{
    ClientConfig, ClientRole, ConfigError, Dangerous, DestinationConfig, SandboxConfig,
};
pub use events::{CREATE_SUBMISSION, FORWARD_SUBMISSION};
pub use keys::KeyError;
pub use store::{Part, Status, StoreError, StoredReply};

use auth::Authority;
use callback::Callbacks;
use keys::{PublicKey, SigningPair};
use store::Store;

/// Why the sandbox could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A key could not be loaded or generated.
    #[error(transparent)]
    Keys(#[from] KeyError),
    /// The database could not be opened.
    #[error("sandbox database: {0}")]
    Store(#[from] StoreError),
    /// The listener could not start.
    #[error(transparent)]
    Listen(#[from] crate::http::ListenError),
    /// Creating the data directory failed.
    #[error("{what}: {source}")]
    Io {
        /// What was attempted.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Why [`SandboxHandle::dangerous_replace_part`] refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplaceError {
    /// `[dangerous] allow_replacing_parts` is off (the default).
    #[error("replacing parts needs [dangerous] allow_replacing_parts = true")]
    Disabled,
    /// The submission or part does not exist, or is not in the submitted state.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A destination with its published keys.
#[derive(Debug)]
pub(crate) struct Destination {
    pub(crate) config: DestinationConfig,
    pub(crate) encryption: PublicKey,
    pub(crate) signing: PublicKey,
    encryption_path: PathBuf,
    signing_path: PathBuf,
}

/// Everything a request handler needs.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) config: SandboxConfig,
    pub(crate) issuer: String,
    pub(crate) store: Store,
    pub(crate) auth: Authority,
    pub(crate) service_key: SigningPair,
    pub(crate) destinations: HashMap<String, Destination>,
    pub(crate) callbacks: Callbacks,
}

/// Entry point of the library API.
#[derive(Debug)]
pub struct Sandbox;

/// A running sandbox. Dropping it stops the listener; [`SandboxHandle::shutdown`] also waits
/// for open requests to finish.
#[derive(Debug)]
pub struct SandboxHandle {
    listener: crate::http::Listener,
    base_url: String,
    state: Arc<State>,
}

/// Where a destination's private keys are, for the subscriber side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationKeys {
    /// Private RSA-OAEP-256 JWK (decrypts submissions).
    pub encryption_private_jwk: PathBuf,
    /// Private PS512 JWK (signs accept/reject SETs).
    pub signing_private_jwk: PathBuf,
    /// kid of the encryption key (`encryptionKid`).
    pub encryption_kid: String,
    /// kid of the signing key.
    pub signing_kid: String,
}

fn key_path(configured: Option<&PathBuf>, data_dir: &Path, parts: &[&str]) -> PathBuf {
    configured.cloned().unwrap_or_else(|| {
        let mut p = data_dir.join("keys");
        for part in parts {
            p.push(part);
        }
        p
    })
}

fn load_keys(
    config: &SandboxConfig,
) -> Result<(SigningPair, HashMap<String, Destination>), SandboxError> {
    let now = now();
    let dir = &config.data_dir;
    let service_path = key_path(
        config.service_signing_key.as_ref(),
        dir,
        &["service-signing.private.jwk.json"],
    );
    let service = keys::signing_pair(&service_path, "poststelle sandbox", now)?;
    let mut destinations = HashMap::new();
    for d in &config.destinations {
        let encryption_path = key_path(
            d.encryption_key.as_ref(),
            dir,
            &[&d.id, "encryption.private.jwk.json"],
        );
        let signing_path = key_path(
            d.signing_key.as_ref(),
            dir,
            &[&d.id, "signing.private.jwk.json"],
        );
        let cn = format!("sandbox destination {}", d.id);
        let encryption = keys::encryption_public(&encryption_path, &cn, now)?;
        let signing = keys::signing_pair(&signing_path, &cn, now)?.public;
        destinations.insert(
            d.id.to_ascii_lowercase(),
            Destination {
                config: d.clone(),
                encryption,
                signing,
                encryption_path,
                signing_path,
            },
        );
    }
    Ok((service, destinations))
}

impl Sandbox {
    /// Checks the config, prepares keys and the database, binds the listener and serves in
    /// a background task of the current Tokio runtime.
    ///
    /// # Errors
    /// [`SandboxError`] naming what failed.
    pub async fn start(mut config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        config.check()?;
        // The port first: an address in use is reported at once, before seconds of key
        // generation and before any file is written. Connections wait in the backlog until
        // the routes serve below.
        let listen = crate::http::ListenerConfig {
            addr: config.listen,
            tls: None,
            limits: config.limits.listener(),
        };
        let bound = crate::http::Listener::bind(&listen).await?;
        // UUIDs compare case-insensitively; everything inside uses the lowercase form.
        for d in &mut config.destinations {
            d.id.make_ascii_lowercase();
        }
        for c in &mut config.clients {
            for d in &mut c.destinations {
                d.make_ascii_lowercase();
            }
        }
        std::fs::create_dir_all(&config.data_dir).map_err(|source| SandboxError::Io {
            what: format!("creating {}", config.data_dir.display()),
            source,
        })?;
        let store = if config.ephemeral {
            Store::in_memory()?
        } else {
            Store::open(
                &config.data_dir.join("sandbox.sqlite3"),
                &config.data_dir.join("attachments"),
            )?
        };
        // Key generation takes seconds (RSA-4096): off the async workers.
        let cfg = config.clone();
        let (service_key, destinations) = tokio::task::spawn_blocking(move || load_keys(&cfg))
            .await
            .map_err(|e| SandboxError::Io {
                what: "key preparation".into(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let base_url = format!("http://{}", bound.addr());
        let issuer = config.issuer.clone().unwrap_or_else(|| base_url.clone());
        let state = Arc::new(State {
            auth: Authority::new(
                config.clients.clone(),
                config.profile.clone(),
                Duration::from_secs(config.token_lifetime_secs),
            ),
            callbacks: Callbacks::new(
                config.callbacks.clone(),
                config.profile.callback_type.clone(),
            ),
            config,
            issuer,
            store,
            service_key,
            destinations,
        });
        let route = |probe: bool| {
            let state = Arc::clone(&state);
            crate::http::handler(move |req| {
                let state = Arc::clone(&state);
                async move {
                    if probe {
                        routes::probe(state, req).await
                    } else {
                        routes::handle(state, req).await
                    }
                }
            })
        };
        let listener = bound.serve(crate::http::Routes {
            main: route(false),
            probes: route(true),
        });
        Ok(SandboxHandle {
            listener,
            base_url,
            state,
        })
    }
}

impl SandboxHandle {
    /// The bound address (with the real port when `listen` had port 0).
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `http://<addr>`: base of the Submission API (`/v1`, `/v2`), `/token` and
    /// `/.well-known/jwks.json`.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `iss` of the sandbox's own SETs.
    #[must_use]
    pub fn issuer(&self) -> &str {
        &self.state.issuer
    }

    /// The effective configuration (destinations, clients and secrets included).
    #[must_use]
    pub fn config(&self) -> &SandboxConfig {
        &self.state.config
    }

    /// Where the private keys of a destination are.
    #[must_use]
    pub fn destination_keys(&self, destination_id: &str) -> Option<DestinationKeys> {
        let d = self
            .state
            .destinations
            .get(&destination_id.to_ascii_lowercase())?;
        Some(DestinationKeys {
            encryption_private_jwk: d.encryption_path.clone(),
            signing_private_jwk: d.signing_path.clone(),
            encryption_kid: d.encryption.kid.clone(),
            signing_kid: d.signing.kid.clone(),
        })
    }

    /// The sandbox's public SET verification key as JWK JSON (also at `/.well-known/jwks.json`).
    #[must_use]
    pub fn service_public_jwk(&self) -> &serde_json::Value {
        &self.state.service_key.public.jwk
    }

    /// Fault injection (off unless `[dangerous] allow_replacing_parts`): replaces one JWE of a
    /// submitted submission after its `submit-submission` SET recorded the tags, so the next
    /// download hands out a part whose tag differs from the event log — what a subscriber must
    /// reject with `incorrect-authentication-tag`. The event log is left as it is. A short
    /// blocking SQLite write.
    ///
    /// # Errors
    /// [`ReplaceError::Disabled`] unless switched on; [`ReplaceError::Store`] for an unknown
    /// submission or part, or one that is not submitted (or already decided).
    pub fn dangerous_replace_part(
        &self,
        submission_id: &str,
        part: &Part,
        jwe: &str,
    ) -> Result<(), ReplaceError> {
        if !self.state.config.dangerous.allow_replacing_parts {
            return Err(ReplaceError::Disabled);
        }
        self.state
            .store
            .replace_part(&submission_id.to_ascii_lowercase(), part, jwe)?;
        Ok(())
    }

    /// Connection counts of the listener.
    #[must_use]
    pub fn stats(&self) -> crate::http::ListenerStats {
        self.listener.stats()
    }

    /// Serves one HTTP/1.1 connection over `io` (any byte stream, e.g. an in-memory duplex)
    /// as the listener serves a TCP connection, but allowing the client to half-close. For the
    /// fuzz targets (`crate::fuzzing`), which drive the routes in-process.
    pub(crate) async fn serve_stream<IO>(&self, io: IO)
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let state = Arc::clone(&self.state);
        let handler = crate::http::handler(move |req| {
            let state = Arc::clone(&state);
            async move { routes::handle(state, req).await }
        });
        crate::http::serve_stream(io, handler, &self.state.config.limits.http).await;
    }

    /// Stops accepting, lets open requests finish (a few seconds at most) and returns.
    pub async fn shutdown(self) {
        self.listener.shutdown().await;
    }
}
