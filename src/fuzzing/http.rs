//! Driving HTTP servers in-process: request bytes in through an in-memory duplex stream, the
//! response bytes out, parsed strictly.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _, DuplexStream};

/// Longest a server may take for one fuzz input before the target reports a hang (every
/// server timeout is longer, but an in-memory request ends at once: the client half-closes).
const HANG: Duration = Duration::from_secs(20);

/// One current-thread runtime for every target (a target runs one input at a time).
pub(crate) fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a Tokio runtime")
    })
}

/// Writes `request` into a connection served by `serve`, half-closes, and returns everything
/// the server wrote until it closed.
pub(crate) async fn exchange<F, Fut>(serve: F, request: &[u8]) -> Vec<u8>
where
    F: FnOnce(DuplexStream) -> Fut,
    Fut: Future<Output = ()>,
{
    let (mut client, server) = tokio::io::duplex(64 * 1024);
    let talk = async {
        let (mut rd, mut wr) = tokio::io::split(&mut client);
        let write = async {
            // The server may close early (a refused head); the rest is then unwanted.
            let _ = wr.write_all(request).await;
            let _ = wr.shutdown().await;
        };
        let read = async {
            let mut out = Vec::new();
            let _ = rd.read_to_end(&mut out).await;
            out
        };
        tokio::join!(write, read).1
    };
    let work = async { tokio::join!(serve(server), talk).1 };
    tokio::time::timeout(HANG, work)
        .await
        .expect("the server did not finish an in-memory request")
}

/// One parsed response.
#[derive(Debug)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// Header fields, names lower-cased.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// An answer to HEAD: a length announced, no body sent.
    pub(crate) bodiless: bool,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Splits a server's output into HTTP/1.1 (or, to a 1.0 request, 1.0) responses, or says what is
/// malformed. Bodies must be framed by `content-length` (what hyper writes for complete bodies) or
/// empty.
pub(crate) fn parse_responses(mut bytes: &[u8]) -> Result<Vec<Response>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or("response head without end")?;
        let head = std::str::from_utf8(&bytes[..end]).map_err(|_| "head is not UTF-8")?;
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        // hyper answers an HTTP/1.0 request in HTTP/1.0.
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse::<u16>().ok())
            .ok_or_else(|| format!("bad status line {status_line:?}"))?;
        let mut headers = Vec::new();
        for line in lines {
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        bytes = &bytes[end + 4..];
        // The answer to HEAD announces a length but carries no body: the next response (or
        // the end) follows at once. No body of these servers starts with a status line.
        let head_answer =
            bytes.is_empty() || bytes.starts_with(b"HTTP/1.1 ") || bytes.starts_with(b"HTTP/1.0 ");
        let len = match headers.iter().find(|(n, _)| n == "content-length") {
            Some(_) if head_answer => 0,
            Some((_, v)) => v.parse::<usize>().map_err(|_| "bad content-length")?,
            None if headers.iter().any(|(n, _)| n == "transfer-encoding") => {
                return Err("chunked response".into());
            }
            None => 0,
        };
        if bytes.len() < len {
            return Err(format!("body shorter than content-length {len}"));
        }
        let announced = headers
            .iter()
            .any(|(n, v)| n == "content-length" && v != "0");
        out.push(Response {
            status,
            headers,
            body: bytes[..len].to_vec(),
            bodiless: head_answer && announced,
        });
        bytes = &bytes[len..];
    }
    Ok(out)
}

/// An HTTP/1.1 request with a `content-length` body.
pub(crate) fn request(method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nhost: fuzz\r\n");
    for (n, v) in headers {
        out.push_str(&format!("{n}: {v}\r\n"));
    }
    out.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// A request target from fuzz text: printable ASCII without spaces, starting with `/`.
pub(crate) fn path_from(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(512)
        .collect();
    if cleaned.starts_with('/') {
        cleaned
    } else {
        format!("/{cleaned}")
    }
}

/// Checks every response of a server's output: well-formed, a status from `allowed`, and a
/// `problem+json` body that is JSON naming its own status.
pub(crate) fn check_responses(output: &[u8], allowed: &[u16]) -> Vec<Response> {
    let responses = match parse_responses(output) {
        Ok(r) => r,
        Err(why) => panic!(
            "malformed response ({why}): {:?}",
            String::from_utf8_lossy(output)
        ),
    };
    for r in &responses {
        // 100 Continue is hyper's interim answer to `Expect: 100-continue`.
        assert!(
            r.status == 100 || allowed.contains(&r.status),
            "status {} is not documented for this server",
            r.status
        );
        if r.header("content-type") == Some("application/problem+json") && !r.bodiless {
            let body: serde_json::Value =
                serde_json::from_slice(&r.body).expect("a problem body is JSON");
            assert_eq!(
                body.get("status").and_then(serde_json::Value::as_u64),
                Some(u64::from(r.status)),
                "problem body names another status"
            );
        }
    }
    responses
}
