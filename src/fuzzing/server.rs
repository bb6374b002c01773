//! The gateway's HTTP routes (`serve`), in-process, and FIT-Connect callback verification.

use std::sync::{Arc, Mutex, OnceLock};

use super::fixtures::NOW;
use super::http::{self, Response};
use super::input::Input;
use crate::config::ServerLimits;
use crate::fitconnect::callback::{self, CallbackError, CallbackSecret, ReplayGuard};
use crate::server::{
    AdminToken, CallbackNotice, CallbackSink, Callbacks, Handlers, Metrics, SinkFull,
};
use crate::store::AnyStore;

const DESTINATION: &str = "879ee109-a690-4db8-ab32-424284184d7d";
const SECRET: &[u8] = b"fuzz callback secret";
const ADMIN_TOKEN: &str = "fuzz-admin-token";

/// The destination's callback secret.
fn secret() -> CallbackSecret {
    CallbackSecret::new(SECRET).expect("a non-empty secret")
}

/// Statuses the gateway documents (server/mod.rs) plus those hyper itself answers a
/// malformed request with (400, 414, 431, 501, 505).
const DOCUMENTED: &[u16] = &[
    200, 202, 400, 401, 404, 405, 408, 413, 414, 431, 501, 503, 505,
];

/// Takes notices, or refuses them when told to; remembers what it took.
#[derive(Default)]
struct Sink {
    full: std::sync::atomic::AtomicBool,
    taken: Mutex<Vec<CallbackNotice>>,
}

impl CallbackSink for Sink {
    fn notify(&self, notice: CallbackNotice) -> Result<(), SinkFull> {
        if self.full.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(SinkFull);
        }
        self.taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(notice);
        Ok(())
    }
}

/// An SQLite store in a temporary directory, for `/ready`, `/metrics` and the admin API.
fn store() -> AnyStore {
    static STORE: OnceLock<(tempfile::TempDir, AnyStore)> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let address = format!("sqlite:{}", dir.path().join("fuzz.sqlite3").display());
            let store = http::runtime()
                .block_on(AnyStore::open(&address))
                .expect("a fresh SQLite store opens");
            (dir, store)
        })
        .1
        .clone()
}

/// Unix seconds now (the server checks callback timestamps against the real clock).
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Serves `request` with fresh handlers (one destination, a sink, the admin token and the
/// store); the responses and the notices the sink took.
fn serve(request: &[u8], sink_full: bool) -> (Vec<Response>, Vec<CallbackNotice>) {
    let sink = Arc::new(Sink::default());
    sink.full
        .store(sink_full, std::sync::atomic::Ordering::Relaxed);
    let handlers = Handlers {
        metrics: Arc::new(Metrics::new()),
        store: Some(store()),
        readiness: None,
        callbacks: Some(Callbacks::new(sink.clone()).destination(DESTINATION, secret())),
        admin_token: Some(AdminToken::new(ADMIN_TOKEN)),
        console: None,
        replies: None,
    };
    let limits = ServerLimits {
        max_callback_bytes: 64 * 1024,
        ..ServerLimits::default()
    };
    let output = http::runtime().block_on(http::exchange(
        |io| crate::server::serve_stream(io, handlers, limits),
        request,
    ));
    let responses = http::check_responses(&output, DOCUMENTED);
    assert!(
        responses.iter().all(|r| r.status != 500),
        "500 for a client's request"
    );
    let taken = std::mem::take(
        &mut *sink
            .taken
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    (responses, taken)
}

/// A notice names at most 1000 ids, each 1–64 characters of `[A-Za-z0-9-]`, sorted and
/// without repeats, for the destination of the path.
fn check_notice(n: &CallbackNotice) {
    assert_eq!(n.destination_id, DESTINATION);
    assert!(n.submission_ids.len() <= 1000, "unbounded notice");
    assert!(
        n.submission_ids.windows(2).all(|w| w[0] < w[1]),
        "ids not sorted and unique"
    );
    for id in &n.submission_ids {
        assert!(
            (1..=64).contains(&id.len())
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'),
            "unsafe id in a notice"
        );
    }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH", "OPTIONS"];

/// Gateway HTTP property: whatever bytes arrive, every answer is a well-formed HTTP/1.1
/// response with a documented status (never 500) and a consistent problem body, and the
/// sink only ever gets bounded notices of safe ids. By the first byte: (0) raw request
/// bytes; (1) a callback signed with the destination's secret at a chosen age over a body
/// from the input — 202 exactly when it is fresh and its JSON names only safe ids (401 when
/// stale, 503 when the sink is full); (2) an admin request with a chosen authorization.
pub fn server_http(data: &[u8]) {
    let mut input = Input::new(data);
    match input.byte() % 3 {
        0 => {
            let (_, taken) = serve(input.rest(), false);
            taken.iter().for_each(check_notice);
        }
        1 => signed_callback(&mut input),
        _ => {
            let method = *input.pick(METHODS);
            let auth = match input.below(4) {
                0 => format!("Bearer {ADMIN_TOKEN}"),
                1 => format!("bearer {ADMIN_TOKEN}"),
                2 => "Bearer wrong".to_owned(),
                _ => String::new(),
            };
            let path = http::path_from(&format!("/admin/{}", input.text(512)));
            let headers: Vec<(&str, &str)> = if auth.is_empty() {
                Vec::new()
            } else {
                vec![("authorization", auth.as_str())]
            };
            let request = http::request(method, &path, &headers, input.rest());
            let (responses, _) = serve(&request, false);
            if auth != format!("Bearer {ADMIN_TOKEN}") && auth != format!("bearer {ADMIN_TOKEN}") {
                assert!(
                    responses.iter().all(|r| r.status >= 400),
                    "admin answered without the token"
                );
            }
        }
    }
}

fn signed_callback(input: &mut Input<'_>) {
    // Ages safely inside or outside the window (the clock moves while the request runs).
    let age: i64 = match input.below(4) {
        0 => 0,
        1 => 200,
        2 => 400,
        _ => -150,
    };
    let fresh = (-30..=250).contains(&age);
    let sink_full = input.flag();
    let structured = input.flag();
    let body: Vec<u8> = if structured {
        let ids: Vec<String> = (0..input.below(6)).map(|_| input.text(80)).collect();
        let key = if input.flag() {
            "submissionIds"
        } else {
            "submissions"
        };
        let value = if key == "submissionIds" {
            serde_json::json!(ids)
        } else {
            serde_json::json!(
                ids.iter()
                    .map(|id| serde_json::json!({"submissionId": id}))
                    .collect::<Vec<_>>()
            )
        };
        serde_json::to_vec(&serde_json::json!({ key: value })).expect("JSON serializes")
    } else {
        input.rest().to_vec()
    };
    // The notice rule (`callback::parse_notice`): every id a UUID (any case).
    let ids_ok = |v: &serde_json::Value| {
        v.get("submissionIds")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .chain(
                v.get("submissions")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .map(|e| e.get("submissionId").unwrap_or(&serde_json::Value::Null)),
            )
            .all(|id| id.as_str().is_some_and(crate::fitconnect::set::is_uuid))
    };
    let ts = (unix_now() - age).to_string();
    let mac = secret().sign(&ts, &body);
    let request = http::request(
        "POST",
        &format!("/callbacks/{DESTINATION}"),
        &[
            ("callback-timestamp", ts.as_str()),
            ("callback-authentication", mac.as_str()),
            ("content-type", "application/json"),
        ],
        &body,
    );
    let (responses, taken) = serve(&request, sink_full);
    taken.iter().for_each(check_notice);
    let [response] = responses.as_slice() else {
        panic!("one request, {} responses", responses.len());
    };
    let status = response.status;
    // The replay keys live in the (shared) store: the same input again within a second is
    // the same callback, a replay. Remembered only while inside the replay window, so a long
    // campaign does not grow the set without bound.
    static ACCEPTED: std::sync::LazyLock<Mutex<std::collections::HashMap<(String, String), i64>>> =
        std::sync::LazyLock::new(Mutex::default);
    let replay = {
        let mut accepted = ACCEPTED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if accepted.len() > 4096 {
            let oldest = unix_now() - callback::MAX_AGE_SECS - callback::MAX_SKEW_SECS;
            accepted.retain(|_, at| *at >= oldest);
        }
        let key = (ts.clone(), mac.clone());
        let replay = accepted.contains_key(&key);
        if status == 202 {
            accepted.insert(key, unix_now());
        }
        replay
    };
    if !fresh || replay {
        assert_eq!(status, 401, "a stale or replayed callback was not refused");
    } else if structured {
        let v: serde_json::Value = serde_json::from_slice(&body).expect("built as JSON");
        let expected = match (ids_ok(&v), sink_full) {
            (false, _) => 400,
            (true, true) => 503,
            (true, false) => 202,
        };
        assert_eq!(status, expected, "signed callback answered unexpectedly");
    } else {
        assert!(
            [202, 400, 503].contains(&status),
            "signed callback: {status}"
        );
    }
    assert_eq!(
        status == 202,
        !taken.is_empty(),
        "202 without a notice, or the reverse"
    );
}

/// Callback verification property: a MAC made with the secret over a timestamp and body
/// verifies exactly when the timestamp is inside the window (−300 s … +60 s), once (the
/// second time it is a replay); changing any one byte of timestamp, MAC or body, or the
/// secret, makes it fail. (Parsing the notice of a verified callback is fuzzed through the
/// route: [`server_http`]'s signed mode.)
pub fn callback(data: &[u8]) {
    let mut input = Input::new(data);
    let secret = input.bytes(200).to_vec();
    let ts = NOW - i64::from(input.u16() % 800) + 100;
    let field = input.below(4);
    let (at, x) = (usize::from(input.u16()), input.byte().max(1));
    let body = input.rest();
    let timestamp = ts.to_string();
    // A secret of white space only is refused when configured (`serve` exits 64).
    let Ok(key) = CallbackSecret::new(&secret) else {
        assert!(
            secret.trim_ascii().is_empty(),
            "a usable secret was refused"
        );
        return;
    };
    let mac = key.sign(&timestamp, body);
    let in_window = (NOW - callback::MAX_AGE_SECS..=NOW + callback::MAX_SKEW_SECS).contains(&ts);
    let mut guard = ReplayGuard::new();
    let first = callback::verify(&key, DESTINATION, &timestamp, &mac, body, NOW, &mut guard);
    if in_window {
        assert_eq!(
            first,
            Ok(()),
            "a fresh, correctly signed callback was refused"
        );
        assert_eq!(
            callback::verify(&key, DESTINATION, &timestamp, &mac, body, NOW, &mut guard),
            Err(CallbackError::Replay)
        );
    } else {
        assert_eq!(first, Err(CallbackError::Stale));
    }
    let flip = |s: &[u8]| {
        let mut v = s.to_vec();
        if !v.is_empty() {
            let i = at % v.len();
            v[i] ^= x;
        }
        v
    };
    let refused = match field {
        0 => {
            let t = String::from_utf8_lossy(&flip(timestamp.as_bytes())).into_owned();
            callback::verify(
                &key,
                DESTINATION,
                &t,
                &mac,
                body,
                NOW,
                &mut ReplayGuard::new(),
            )
        }
        1 => {
            let m = String::from_utf8_lossy(&flip(mac.as_bytes())).into_owned();
            callback::verify(
                &key,
                DESTINATION,
                &timestamp,
                &m,
                body,
                NOW,
                &mut ReplayGuard::new(),
            )
        }
        2 if !body.is_empty() => callback::verify(
            &key,
            DESTINATION,
            &timestamp,
            &mac,
            &flip(body),
            NOW,
            &mut ReplayGuard::new(),
        ),
        _ => {
            // Another secret: one more byte that trimming does not take away.
            let mut other = secret.trim_ascii().to_vec();
            other.push(if x.is_ascii_whitespace() { b'#' } else { x });
            let other = CallbackSecret::new(&other).expect("non-empty");
            callback::verify(
                &other,
                DESTINATION,
                &timestamp,
                &mac,
                body,
                NOW,
                &mut ReplayGuard::new(),
            )
        }
    };
    assert!(refused.is_err(), "a changed callback verified");
}

#[cfg(test)]
mod finding_tests {
    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    /// Fuzz finding (server_http, 2026-12-05): the same signed callback twice within a
    /// second — the second is a replay (the replay keys live in the store) and gets 401.
    /// Fuzz finding (server_http, 2026-12-05): a signed notice naming an id that is not a
    /// UUID is refused with 400 (the notice rule), which the property expected as 202.
    #[test]
    fn a_signed_notice_with_a_malformed_id_is_refused() {
        super::server_http(&hex(
            "010100fffd240063653735613662382d643732662d346239342d6536622d3039616662653335626332616506002e2e2f65746301",
        ));
    }

    #[test]
    fn the_same_signed_callback_twice_is_a_replay() {
        let input = hex(
            "0101000500000000000000613662382d643732662d346239342d623038652d6166366265686f73743a20780d2a7472616e736665722d656e636f64696e673a203335626332616506002e2e2f65746301",
        );
        super::server_http(&input);
        super::server_http(&input);
    }
}
