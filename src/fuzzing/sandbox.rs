//! The sandbox's HTTP routes (`poststelle sandbox`), in-process.
//!
//! One sandbox per fuzzing process (its state grows with the submissions the fuzzer creates;
//! it is replaced every [`RENEW_AFTER`] inputs), keyed with the suite's test keys, ephemeral,
//! without callbacks.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::fixtures::DESTINATION_ID;
use super::http;
use super::input::Input;
use crate::sandbox::{ClientConfig, ClientRole, Sandbox, SandboxConfig, SandboxHandle};

/// Statuses of the sandbox's problem catalogue except 500, the OAuth errors, its successes,
/// and what hyper answers a malformed request with.
const DOCUMENTED: &[u16] = &[
    200, 201, 202, 204, 400, 401, 403, 404, 405, 408, 409, 413, 414, 415, 422, 431, 501, 505,
];
/// Inputs served by one sandbox before it is replaced (bounds its memory).
const RENEW_AFTER: u32 = 5000;
/// Tokens are fetched again after this long (the sandbox issues them for at most 30 min).
const TOKEN_AGE: Duration = Duration::from_secs(600);
const SENDER: (&str, &str) = ("sender-fuzz", "sender-fuzz-secret-0123456789");
const SUBSCRIBER: (&str, &str) = ("subscriber-fuzz", "subscriber-fuzz-secret-0123456789");

struct Running {
    handle: SandboxHandle,
    served: u32,
    tokens: Option<(Instant, String, String)>,
}

fn config() -> SandboxConfig {
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("test-vectors/keys");
    let mut c = SandboxConfig::generated();
    c.listen = "127.0.0.1:0".parse().expect("a socket address");
    c.ephemeral = true;
    c.data_dir = std::env::temp_dir().join("poststelle-fuzz-sandbox");
    c.service_signing_key = Some(keys.join("delivery-service.private.jwk.json"));
    let d = &mut c.destinations[0];
    d.id = DESTINATION_ID.to_owned();
    d.encryption_key = Some(keys.join("destination-encryption.private.jwk.json"));
    d.signing_key = Some(keys.join("destination-signing.private.jwk.json"));
    let client = |(id, secret): (&str, &str), role, destinations| ClientConfig {
        id: id.to_owned(),
        secret: secret.to_owned(),
        role,
        destinations,
    };
    c.clients = vec![
        client(SENDER, ClientRole::Sender, Vec::new()),
        client(
            SUBSCRIBER,
            ClientRole::Subscriber,
            vec![DESTINATION_ID.to_owned()],
        ),
    ];
    c
}

fn exchange(handle: &SandboxHandle, request: &[u8]) -> Vec<http::Response> {
    let output = http::runtime().block_on(http::exchange(|io| handle.serve_stream(io), request));
    let responses = http::check_responses(&output, DOCUMENTED);
    assert!(
        responses.iter().all(|r| r.status != 500),
        "500 for a client's request"
    );
    responses
}

fn token(handle: &SandboxHandle, (id, secret): (&str, &str)) -> String {
    let body = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let request = http::request(
        "POST",
        "/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    );
    let responses = exchange(handle, &request);
    let v: serde_json::Value = serde_json::from_slice(&responses[0].body).expect("token JSON");
    v["access_token"]
        .as_str()
        .expect("the sandbox issues a token to its own client")
        .to_owned()
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];
const TYPES: &[&str] = &[
    "application/json",
    "application/jose",
    "application/x-www-form-urlencoded",
    "text/plain",
];

/// Sandbox HTTP property: every answer to any request is a well-formed HTTP/1.1 response with
/// a documented status (never 500) and a consistent problem body. By the first byte: (0) raw
/// request bytes; (1) a request with a path, method, content type and body from the input,
/// authorized as the sender or the subscriber (so the API behind authentication is reached);
/// (2) a token request with a form body from the input.
pub fn sandbox_http(data: &[u8]) {
    static SANDBOX: Mutex<Option<Running>> = Mutex::new(None);
    let mut guard = SANDBOX
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if guard.as_ref().is_none_or(|r| r.served >= RENEW_AFTER) {
        let handle = http::runtime()
            .block_on(Sandbox::start(config()))
            .expect("the fuzz sandbox starts");
        *guard = Some(Running {
            handle,
            served: 0,
            tokens: None,
        });
    }
    let running = guard.as_mut().expect("just started");
    running.served += 1;
    if running
        .tokens
        .as_ref()
        .is_none_or(|(at, _, _)| at.elapsed() > TOKEN_AGE)
    {
        let sender = token(&running.handle, SENDER);
        let subscriber = token(&running.handle, SUBSCRIBER);
        running.tokens = Some((Instant::now(), sender, subscriber));
    }
    let (_, sender, subscriber) = running.tokens.as_ref().expect("just fetched");
    let mut input = Input::new(data);
    let request = match input.byte() % 3 {
        0 => input.rest().to_vec(),
        1 => {
            let method = *input.pick(METHODS);
            let content_type = *input.pick(TYPES);
            let bearer = format!("Bearer {}", if input.flag() { sender } else { subscriber });
            let path = http::path_from(&input.text(512));
            http::request(
                method,
                &path,
                &[
                    ("authorization", bearer.as_str()),
                    ("content-type", content_type),
                ],
                input.rest(),
            )
        }
        _ => http::request(
            "POST",
            "/token",
            &[("content-type", "application/x-www-form-urlencoded")],
            input.rest(),
        ),
    };
    exchange(&running.handle, &request);
}

#[cfg(test)]
mod finding_tests {
    /// Fuzz finding (sandbox_http, 2026-12-05): an HTTP/1.0 request is answered in HTTP/1.0,
    /// which the response parser refused.
    #[test]
    fn an_http_1_0_request_gets_a_well_formed_answer() {
        let mut input = vec![0x00];
        input.extend_from_slice(b"GET /.-known/jwks.json HTTP/1.0\r\nhost: x\r\n\r\n");
        super::sandbox_http(&input);
    }
}
