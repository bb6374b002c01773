//! OAuth2 token endpoint (client_credentials, client_secret_post) and bearer-token checks.
//!
//! Errors of the token endpoint follow RFC 6749 §5.2 (`{"error": …}`), not problem+json,
//! because OAuth clients parse them that way. HTTP Basic client authentication is refused with
//! `invalid_client`, as the real service does (protocol notes §2). Tokens are opaque random
//! strings held in memory only; their lifetime is the configured value (≤ 30 minutes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::{ClientConfig, ClientRole, Profile};
use super::problem::{self, ApiProblem, ApiResult};

/// A granted token.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    /// The client it was issued to.
    pub(crate) client_id: String,
    /// Sender or subscriber.
    pub(crate) role: ClientRole,
    /// Granted scopes.
    pub(crate) scopes: Vec<String>,
    /// Destinations a subscriber may read (empty for senders).
    pub(crate) destinations: Vec<String>,
    expires: Instant,
}

/// A refused token request: HTTP status and OAuth `error` code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub(crate) status: u16,
    pub(crate) error: &'static str,
    pub(crate) description: &'static str,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: &'static str) -> Self {
        Self {
            status,
            error,
            description,
        }
    }

    pub(crate) fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        }))
        .expect("JSON value serializes")
    }
}

/// Issues and checks tokens.
#[derive(Debug)]
pub(crate) struct Authority {
    clients: Vec<ClientConfig>,
    profile: Profile,
    lifetime: Duration,
    tokens: Mutex<HashMap<String, Grant>>,
}

/// Upper bound on live tokens; expired ones are swept first, then the oldest are refused.
const MAX_LIVE_TOKENS: usize = 100_000;

impl Authority {
    pub(crate) fn new(clients: Vec<ClientConfig>, profile: Profile, lifetime: Duration) -> Self {
        Self {
            clients,
            profile,
            lifetime,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    fn scopes_of(&self, role: ClientRole) -> Vec<String> {
        match role {
            ClientRole::Sender => self.profile.send_scopes.clone(),
            ClientRole::Subscriber => vec![self.profile.subscribe_scope.clone()],
        }
    }

    /// Handles a token request: the form body and whether an `Authorization` header came.
    pub(crate) fn token(
        &self,
        form: &[u8],
        has_authorization_header: bool,
    ) -> Result<serde_json::Value, OAuthError> {
        if has_authorization_header {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                "only client_secret_post is supported",
            ));
        }
        let mut fields: HashMap<String, String> = HashMap::new();
        for (k, v) in form_urlencoded::parse(form) {
            if fields.insert(k.into_owned(), v.into_owned()).is_some() {
                return Err(OAuthError::new(
                    400,
                    "invalid_request",
                    "repeated parameter",
                ));
            }
        }
        match fields.get("grant_type").map(String::as_str) {
            Some("client_credentials") => {}
            Some(_) => {
                return Err(OAuthError::new(
                    400,
                    "unsupported_grant_type",
                    "only client_credentials is supported",
                ));
            }
            None => {
                return Err(OAuthError::new(
                    400,
                    "invalid_request",
                    "grant_type missing",
                ));
            }
        }
        let (Some(id), Some(secret)) = (fields.get("client_id"), fields.get("client_secret"))
        else {
            return Err(OAuthError::new(
                401,
                "invalid_client",
                "client credentials missing",
            ));
        };
        let client = self
            .clients
            .iter()
            .find(|c| c.id == *id)
            .filter(|c| {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    c.secret.as_bytes(),
                    secret.as_bytes(),
                )
                .is_ok()
            })
            .ok_or_else(|| {
                OAuthError::new(401, "invalid_client", "client authentication failed")
            })?;
        let assigned = self.scopes_of(client.role);
        // Without `scope` the client gets everything assigned (FITKO's advice, §2).
        let scopes = match fields.get("scope") {
            None => assigned,
            Some(requested) => {
                let requested: Vec<String> = requested
                    .split_ascii_whitespace()
                    .map(str::to_owned)
                    .collect();
                if requested.is_empty() || !requested.iter().all(|s| assigned.contains(s)) {
                    return Err(OAuthError::new(
                        400,
                        "invalid_scope",
                        "a requested scope is not assigned to this client",
                    ));
                }
                requested
            }
        };
        let token = super::config::random_secret();
        let grant = Grant {
            client_id: client.id.clone(),
            role: client.role,
            scopes: scopes.clone(),
            destinations: client.destinations.clone(),
            expires: Instant::now() + self.lifetime,
        };
        let mut tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tokens.len() >= MAX_LIVE_TOKENS {
            let now = Instant::now();
            tokens.retain(|_, g| g.expires > now);
            if tokens.len() >= MAX_LIVE_TOKENS {
                return Err(OAuthError::new(
                    503,
                    "temporarily_unavailable",
                    "too many tokens",
                ));
            }
        }
        tokens.insert(token.clone(), grant);
        Ok(serde_json::json!({
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.lifetime.as_secs(),
            "scope": scopes.join(" "),
        }))
    }

    /// The grant of a bearer token from the `Authorization` header value.
    pub(crate) fn grant(&self, authorization: Option<&str>) -> ApiResult<Grant> {
        let unauthorized = |d: &str| ApiProblem::new(problem::UNAUTHORIZED, d);
        let value = authorization.ok_or_else(|| unauthorized("Authorization header missing"))?;
        let token =
            crate::http::bearer_token(value).ok_or_else(|| unauthorized("not a Bearer token"))?;
        let tokens = self
            .tokens
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let grant = tokens
            .get(token)
            .ok_or_else(|| unauthorized("unknown token"))?;
        if grant.expires <= Instant::now() {
            return Err(unauthorized("token expired"));
        }
        Ok(grant.clone())
    }

    /// Whether a grant may send submissions.
    pub(crate) fn require_send(&self, grant: &Grant) -> ApiResult<()> {
        if grant
            .scopes
            .iter()
            .any(|s| self.profile.send_scopes.contains(s))
        {
            Ok(())
        } else {
            Err(ApiProblem::new(
                problem::INSUFFICIENT_SCOPE,
                "a send scope is required",
            ))
        }
    }

    /// Whether a grant may read and decide on submissions of `destination_id`.
    pub(crate) fn require_subscribe(&self, grant: &Grant, destination_id: &str) -> ApiResult<()> {
        if !grant.scopes.contains(&self.profile.subscribe_scope) {
            return Err(ApiProblem::new(
                problem::INSUFFICIENT_SCOPE,
                "the subscribe-destinations scope is required",
            ));
        }
        if !grant.destinations.iter().any(|d| d == destination_id) {
            return Err(ApiProblem::new(
                problem::DESTINATION_NOT_CONNECTED,
                "connect the client to the destination in the sandbox config",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn authority() -> Authority {
        Authority::new(
            vec![ClientConfig {
                id: "sender".into(),
                secret: "0123456789abcdef".into(),
                role: ClientRole::Sender,
                destinations: vec![],
            }],
            Profile::default(),
            Duration::from_secs(1800),
        )
    }

    #[test]
    fn token_flow() {
        let a = authority();
        let ok = a
            .token(
                b"grant_type=client_credentials&client_id=sender&client_secret=0123456789abcdef",
                false,
            )
            .expect("token");
        assert_eq!(ok["expires_in"], 1800);
        let token = ok["access_token"].as_str().expect("token string");
        let grant = a.grant(Some(&format!("Bearer {token}"))).expect("grant");
        assert!(a.require_send(&grant).is_ok());
        // The scheme in any case (RFC 7235), as the gateway's admin API takes it.
        assert!(a.grant(Some(&format!("BEARER {token}"))).is_ok());
        assert!(a.grant(Some(&format!("Basic {token}"))).is_err());
        assert_eq!(
            a.require_subscribe(&grant, "d").map_err(|p| p.kind),
            Err(problem::INSUFFICIENT_SCOPE)
        );
        let bad = a.token(
            b"grant_type=client_credentials&client_id=sender&client_secret=wrong",
            false,
        );
        assert_eq!(bad.map_err(|e| e.error), Err("invalid_client"));
        let basic = a.token(b"grant_type=client_credentials", true);
        assert_eq!(basic.map_err(|e| e.error), Err("invalid_client"));
        let scope = a.token(
            b"grant_type=client_credentials&client_id=sender&client_secret=0123456789abcdef&scope=x",
            false,
        );
        assert_eq!(scope.map_err(|e| e.error), Err("invalid_scope"));
    }
}
