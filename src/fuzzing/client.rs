//! The FIT-Connect client against a loopback stub delivery service that answers with what the
//! input says: raw bytes, or a well-formed response with a chosen status, headers and body.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::fixtures::{CASE_ID, DESTINATION_ID, SUBMISSION_ID};
use super::http;
use super::input::Input;
use crate::fitconnect::captured::ApiProfile;
use crate::fitconnect::client::{
    Client, ClientConfig, ClientError, Credentials, NewSubmission, RetryPolicy,
};

const ATTACHMENT: &str = "0b3b3f3e-1b4c-4f5c-9a6f-2f0e4d7c8a11";
const MAX_JSON: usize = 4096;
const MAX_ATTACHMENT: usize = 8192;

/// The stub token endpoint's usual answer.
fn token_answer() -> Vec<u8> {
    let body = r#"{"access_token":"fuzz-token","expires_in":3600}"#;
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What the stub answers, in order; the token endpoint answers [`token_answer`] unless `token`
/// is set.
#[derive(Default)]
struct Script {
    api: VecDeque<Vec<u8>>,
    token: Option<Vec<u8>>,
}

struct Stub {
    script: Arc<Mutex<Script>>,
    base: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Reads one request head and its `content-length` body; whether it went to the token path.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Option<bool> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut have = buf.len() - end;
    while have < len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        have += n;
    }
    Some(head.starts_with("post /token"))
}

fn stub() -> &'static Stub {
    static STUB: OnceLock<Stub> = OnceLock::new();
    STUB.get_or_init(|| {
        let script = Arc::new(Mutex::new(Script::default()));
        let listener = http::runtime()
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port");
        let base = format!("http://{}", listener.local_addr().expect("bound"));
        let served = Arc::clone(&script);
        http::runtime().spawn(async move {
            // One response per connection, then close: framing errors end with the connection.
            while let Ok((mut stream, _)) = listener.accept().await {
                let script = Arc::clone(&served);
                tokio::spawn(async move {
                    let Some(token) = read_request(&mut stream).await else {
                        return;
                    };
                    let answer = {
                        let mut s = lock(&script);
                        if token {
                            s.token.clone().unwrap_or_else(token_answer)
                        } else {
                            s.api.pop_front().unwrap_or_else(|| {
                                b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                                    .to_vec()
                            })
                        }
                    };
                    let _ = stream.write_all(&answer).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Stub { script, base }
    })
}

fn client() -> Client {
    let mut config = ClientConfig::sandbox(&stub().base, ApiProfile::V1);
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(2);
    config.transfer_timeout = Duration::from_secs(2);
    config.max_json_bytes = MAX_JSON;
    config.max_attachment_bytes = MAX_ATTACHMENT;
    config.max_pages = 3;
    config.retry = RetryPolicy {
        max_attempts: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(2),
        max_retry_after: Duration::from_secs(0),
    };
    Client::new(config, Credentials::new("fuzz-client", "fuzz-secret")).expect("client builds")
}

const STATUSES: &[u16] = &[
    200, 201, 202, 204, 301, 302, 307, 400, 401, 403, 404, 409, 413, 422, 429, 500, 502, 503,
];
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/problem+json",
    "application/jose",
    "text/html",
];

/// A well-formed response with a status, content type, optional `Retry-After` and body.
fn response(input: &mut Input<'_>) -> (u16, Vec<u8>, Vec<u8>) {
    let status = *input.pick(STATUSES);
    let content_type = *input.pick(CONTENT_TYPES);
    let retry_after = match input.below(4) {
        0 => "retry-after: 0\r\n",
        1 => "retry-after: 5\r\n",
        2 => "retry-after: Wed, 21 Oct 2015 07:28:00 GMT\r\n",
        _ => "",
    };
    let body = input.bytes(MAX_ATTACHMENT + 16).to_vec();
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\n{retry_after}content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(&body);
    (status, body, out)
}

/// The string values of a JSON document, at any depth.
/// An error text without what names rather than quotes: field names (`missing field
/// `submissions``, `duplicate field `caseId``: the client's own, or the answer's keys — where,
/// not what) and the expected form after the last `, expected ` (from the client's types). A
/// key of the answer may be part of the client's field name (`submissi` in `submissions`).
fn without_names(text: &str) -> String {
    let text = text.rfind(", expected ").map_or(text, |i| &text[..i]);
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("field `") {
        out.push_str(&rest[..i]);
        let name = &rest[i + "field `".len()..];
        rest = name.find('`').map_or("", |j| &name[j + 1..]);
    }
    out.push_str(rest);
    out
}

fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                out.push(k.clone());
                strings(x, out);
            }
        }
        _ => {}
    }
}

/// Client property. The input scripts the stub's answers (raw bytes, or well-formed responses
/// with a chosen status, content type, `Retry-After` and body; optionally the token endpoint's
/// answer too) and picks one client operation. Whatever the answers: no panic, no hang, a
/// redirect is never followed, and a shape error never quotes a value from the body. For a
/// single well-formed answer to a one-request operation the outcome is exact: a redirect
/// status → `Redirect`; a body over the limit → `TooLarge`; a refusal status → `Status` with
/// that status; the expected status → the parsed value, or `Response` when the body does not
/// have the documented shape.
pub fn client_response(data: &[u8]) {
    // One run at a time: the stub and its script are process-wide, so two runs at once (tests
    // on parallel threads) would take each other's answers.
    static RUN: Mutex<()> = Mutex::new(());
    let _run = lock(&RUN);
    let mut input = Input::new(data);
    let op = input.below(8);
    let raw = input.flag();
    let mut script = Script::default();
    if input.flag() {
        script.token = Some(if raw {
            input.bytes(2048).to_vec()
        } else {
            response(&mut input).2
        });
    }
    let mut first = None;
    for _ in 0..1 + input.below(3) {
        if raw {
            script
                .api
                .push_back(input.bytes(MAX_ATTACHMENT + 512).to_vec());
        } else {
            let (status, body, bytes) = response(&mut input);
            first.get_or_insert((status, body));
            script.api.push_back(bytes);
        }
    }
    let single = script.api.len() == 1 && script.token.is_none();
    *lock(&stub().script) = script;
    let client = client();
    let outcome: Result<Option<Value>, ClientError> = http::runtime().block_on(async {
        let work = async {
            match op {
                0 => client
                    .list_submissions(DESTINATION_ID, 0, 10)
                    .await
                    .map(|p| Some(serde_json::json!(p.submissions.len()))),
                1 => client.submission(SUBMISSION_ID).await.map(Some),
                2 => client
                    .attachment(SUBMISSION_ID, ATTACHMENT)
                    .await
                    .map(|s| Some(Value::String(s))),
                3 => client.events(CASE_ID).await.map(Some),
                4 => client.service_jwks().await.map(Some),
                5 => client
                    .destination_key(DESTINATION_ID, "fuzz-kid-0001")
                    .await
                    .map(|_| None),
                6 => client
                    .create_submission(&NewSubmission {
                        destination_id: DESTINATION_ID.to_owned(),
                        service_identifier: "urn:de:fim:leika:leistung:99050012104000".into(),
                        service_name: "Fuzz".into(),
                        announced_attachments: Vec::new(),
                    })
                    .await
                    .map(|_| None),
                _ => client.download(SUBMISSION_ID).await.map(|_| None),
            }
        };
        tokio::time::timeout(Duration::from_secs(30), work)
            .await
            .expect("the client hung on a loopback answer")
    });
    if let Err(e @ ClientError::Response { .. }) = &outcome {
        // What the answer made of it, after the request's own description (`GET
        // /submissions: unexpected response: …` names the path, which may equal a key).
        let full = e.to_string();
        let text = full
            .split_once("unexpected response: ")
            .map_or(full.as_str(), |(_, m)| m);
        if let Some((_, body)) = &first
            && let Ok(v) = serde_json::from_slice::<Value>(body)
        {
            let mut values = Vec::new();
            strings(&v, &mut values);
            let unnamed = without_names(text);
            for s in values.iter().filter(|s| s.len() >= 6) {
                assert!(
                    !unnamed.contains(s.as_str()),
                    "an error quotes a response value: {text}"
                );
            }
        }
    }
    let Some((status, body)) = first.filter(|_| single && op != 3 && op != 7) else {
        return;
    };
    let ok_status = if op == 6 { 201 } else { 200 };
    let limit = if op == 2 { MAX_ATTACHMENT } else { MAX_JSON };
    let retried = status == 429 || status == 401 || (status >= 500 && op != 6);
    match outcome {
        _ if retried => {}
        Err(ClientError::Redirect { status: s, .. }) => {
            assert!((300..400).contains(&status) && s == status);
        }
        _ if (300..400).contains(&status) => panic!("a redirect was not refused"),
        Err(ClientError::TooLarge { .. }) => assert!(body.len() > limit),
        _ if body.len() > limit => panic!("a body over the limit was taken"),
        Err(ClientError::Status { status: s, .. }) => {
            assert!(s == status && s != ok_status, "wrong status error");
        }
        _ if status != ok_status => panic!("status {status} taken as success"),
        Ok(_) | Err(ClientError::Response { .. }) => {}
        Err(e) => panic!("a well-formed answer gave {e:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::input::Seed;

    /// Fuzz finding (client_response, CI run 2026-12-05): a submission list whose entry lacks
    /// `submissionId` (`submissionHd`) — the error quoted a value of the answer.
    #[test]
    fn a_list_entry_without_its_id_is_refused_without_quoting_values() {
        let mut input = vec![0, 0, 0, 0, 0, 0, 3, 0xca, 0];
        input.extend_from_slice(
            br#"{"submissions":[{"submissionHd":"ce75a6b8-d72f-4b94-b09e-af6be35bc2ae","caseId":"e89e107e-ed79-40e6-ad34-4e770f9df263","destinationId":"879ee1069-9a0-4db8-ab31-424284184d7d"}],"totalCount":1,"offset":0}"#,
        );
        super::client_response(&input);

        // Fuzz finding (client_response, CI run 2026-12-06): a list entry naming `caseId`
        // twice. The error names the field (`duplicate field `caseId``), which says where, not
        // what; the values must still not appear.
        let mut input = vec![0, 0, 0, 0, 0, 0, 3, 0xca, 0];
        input.extend_from_slice(
            br#"{"submissions":[{"submissionId":"ce75a6b2ae","caseId":"e89e107e5bc2ae","caseId":"e89e107e-ed79-40e6-ad34-4e7184d7d"}],"totalCount":1,"offset":0}"#,
        );
        super::client_response(&input);
    }

    /// Fuzz finding (client_response, campaign 2026-12-07): an answer whose key `submissi` is
    /// part of the field the client misses (`missing field `submissions``). Naming its own
    /// field quotes nothing; the harness had taken the key for a quoted value.
    #[test]
    fn a_key_inside_the_clients_own_field_name_is_not_a_quoted_value() {
        let mut input = vec![0, 0, 0, 0, 0, 0, 3, 0xca, 0];
        input.extend_from_slice(
            br#"{"subm]ssions":[{"submissi":"879ee109-a690-4db8-ab32-424284184d7d"}],"totalCoult":1,"offset":0}"#,
        );
        super::client_response(&input);
    }

    /// Found while checking that finding: a value of the wrong type was quoted by the client's
    /// error (`invalid type: string "…", expected a sequence`), straight from `serde_json`.
    #[test]
    fn a_value_of_the_wrong_type_is_not_quoted_by_the_clients_error() {
        let mut input = vec![0, 0, 0, 0, 0, 0, 3, 0xca, 0];
        input.extend_from_slice(
            br#"{"submissions":"Max Mustermann Geheim","totalCount":1,"offset":0}"#,
        );
        super::client_response(&input);
    }

    #[test]
    fn field_names_and_the_expected_form_are_not_values() {
        assert_eq!(
            super::without_names("missing field `submissions` at line 1 column 33"),
            "missing  at line 1 column 33"
        );
        assert_eq!(
            super::without_names("invalid type: string \"Max\", expected a sequence"),
            "invalid type: string \"Max\""
        );
    }

    /// Runs on parallel threads (as `cargo test` runs tests) each get their own answers: the
    /// exact outcomes checked for a single well-formed answer would otherwise see another
    /// run's status or body and fail.
    #[test]
    fn parallel_runs_do_not_take_each_others_answers() {
        // Submission lookups (op 1, exact outcome), not raw, no token script, one answer: a
        // JSON body with a status that differs per input (200, 404, 403, 409, 400, 422; none
        // is retried).
        let inputs: Vec<Vec<u8>> = [0u8, 10, 9, 11, 7, 13]
            .into_iter()
            .map(|status| {
                Seed::default()
                    .byte(1)
                    .byte(0)
                    .byte(0)
                    .byte(0)
                    .byte(status)
                    .byte(0)
                    .byte(3)
                    .bytes(br#"{"submissionId":"x","caseId":"y"}"#)
                    .0
            })
            .collect();
        std::thread::scope(|s| {
            for t in 0..4 {
                let inputs = &inputs;
                s.spawn(move || {
                    for input in inputs.iter().cycle().skip(t).take(24) {
                        super::client_response(input);
                    }
                });
            }
        });
    }
}
