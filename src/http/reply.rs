//! Response builders: every answer of the server and the sandbox is made here, so content
//! types and the problem document (RFC 9457) are written once.

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Bytes, Frame, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;

/// The body of every response: bytes in memory or a file streamed from disk.
pub type Body = UnsyncBoxBody<Bytes, io::Error>;

/// What every handler returns.
pub type Reply = Response<Body>;

/// A body of bytes held in memory.
#[must_use]
pub fn full(bytes: impl Into<Bytes>) -> Body {
    http_body_util::Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// A response with a body of the given media type.
#[must_use]
pub fn with_type(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Reply {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// An `application/json` response.
#[must_use]
pub fn json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Reply {
    // JSON values and the wire types have string keys only, so serializing cannot fail.
    let bytes = serde_json::to_vec(value).expect("a JSON value serializes");
    with_type(status, "application/json", bytes)
}

/// A response without a body (e.g. 204).
#[must_use]
pub fn empty(status: StatusCode) -> Reply {
    let mut resp = Response::new(full(Bytes::new()));
    *resp.status_mut() = status;
    resp
}

/// A problem document (RFC 9457). Texts name the kind of failure, never request content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem<'a> {
    /// The problem type URI (`about:blank` when there is no more specific one).
    #[serde(rename = "type")]
    pub type_uri: &'a str,
    /// Short summary of the problem type.
    pub title: &'a str,
    /// The HTTP status.
    pub status: u16,
    /// This occurrence, without values from the request.
    pub detail: &'a str,
    /// The request path, where the API reports it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<&'a str>,
}

impl Problem<'_> {
    /// The JSON document.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Strings and a number only: serializing cannot fail.
        serde_json::to_vec(self).expect("a problem document serializes")
    }

    /// The `application/problem+json` response (status taken from the document).
    #[must_use]
    pub fn reply(&self) -> Reply {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        with_type(status, "application/problem+json", self.to_json())
    }
}

/// A response streaming `file` (its length as `Content-Length`), read in
/// [`FILE_CHUNK`]-byte chunks: a large download is never held whole.
#[must_use]
pub fn file(file: std::fs::File, len: u64, content_type: &'static str) -> Reply {
    let mut resp = Response::new(FileBody::new(file, len).boxed_unsync());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Bytes a [`FileBody`] reads per step.
pub const FILE_CHUNK: usize = 256 * 1024;

/// A body streamed from a file in [`FILE_CHUNK`]-byte chunks (responses here, request bodies
/// of the forwarder), so a large file is never held whole in memory. It ends after the given
/// length; a file shorter than that ends it with an error, so the peer never takes a truncated
/// file for a whole one.
///
/// Each chunk is read on the blocking pool straight into the buffer that becomes the frame: one
/// copy (kernel to frame) and one hand-over to the pool per chunk, where `tokio::fs` reads
/// 64 KiB into its own buffer and copies it out again (issue 18, goal 1).
#[derive(Debug)]
pub struct FileBody {
    state: Reading,
    remaining: u64,
}

#[derive(Debug)]
enum Reading {
    /// Waiting for the next poll; `None` after a failed read (the body is over).
    Idle(Option<std::fs::File>),
    /// A chunk is being read on the blocking pool.
    Busy(tokio::task::JoinHandle<(std::fs::File, io::Result<Vec<u8>>)>),
}

impl FileBody {
    /// The first `len` bytes of `file`, from its current position.
    #[must_use]
    pub fn new(file: std::fs::File, len: u64) -> Self {
        Self {
            state: Reading::Idle(Some(file)),
            remaining: len,
        }
    }

    /// The first `len` bytes of the file at `path`.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub async fn open(path: &std::path::Path, len: u64) -> io::Result<Self> {
        let file = tokio::fs::File::open(path).await?.into_std().await;
        Ok(Self::new(file, len))
    }
}

/// Reads up to `want` bytes (fewer only at the end of the file) into a buffer of that size.
fn read_chunk(file: &mut std::fs::File, want: usize) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut buf = Vec::with_capacity(want);
    file.take(want as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                Reading::Idle(file) => {
                    if this.remaining == 0 {
                        return Poll::Ready(None);
                    }
                    let Some(mut file) = file.take() else {
                        return Poll::Ready(None);
                    };
                    let want = usize::try_from(this.remaining)
                        .unwrap_or(usize::MAX)
                        .min(FILE_CHUNK);
                    this.state = Reading::Busy(tokio::task::spawn_blocking(move || {
                        let read = read_chunk(&mut file, want);
                        (file, read)
                    }));
                }
                Reading::Busy(task) => {
                    let done = std::task::ready!(Pin::new(task).poll(cx));
                    let (file, read) = match done {
                        Ok((file, read)) => (Some(file), read),
                        Err(e) => (None, Err(io::Error::other(e))),
                    };
                    let chunk = match read {
                        Ok(chunk) => chunk,
                        Err(e) => {
                            this.state = Reading::Idle(None);
                            return Poll::Ready(Some(Err(e)));
                        }
                    };
                    if chunk.is_empty() {
                        // Shorter than announced: the peer must not get a truncated file.
                        this.state = Reading::Idle(None);
                        return Poll::Ready(Some(Err(io::ErrorKind::UnexpectedEof.into())));
                    }
                    this.state = Reading::Idle(file);
                    this.remaining -= chunk.len() as u64;
                    return Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_file_body_streams_the_whole_file_with_its_length() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        // More than two chunks, the last one partial.
        let data: Vec<u8> = (0..(2 * FILE_CHUNK as u32 + 1_000))
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).expect("write");
        let f = std::fs::File::open(&path).expect("open");
        let reply = file(f, data.len() as u64, "application/jose");
        assert_eq!(
            hyper::body::Body::size_hint(reply.body()).exact(),
            Some(data.len() as u64)
        );
        let got = reply.into_body().collect().await.expect("read").to_bytes();
        assert_eq!(got.as_ref(), data.as_slice());
    }

    #[tokio::test]
    async fn a_file_shorter_than_announced_ends_the_body_with_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; FILE_CHUNK + 10]).expect("write");
        let body = FileBody::open(&path, FILE_CHUNK as u64 + 11)
            .await
            .expect("open");
        let err = body.collect().await.expect_err("truncated");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        // Announcing less than the file holds sends exactly the announced bytes.
        let body = FileBody::open(&path, 5).await.expect("open");
        let got = body.collect().await.expect("read").to_bytes();
        assert_eq!(got.as_ref(), &[7u8; 5]);
    }

    #[test]
    fn problem_documents_leave_out_an_absent_instance() {
        let p = Problem {
            type_uri: "about:blank",
            title: "Service Unavailable",
            status: 503,
            detail: "busy",
            instance: None,
        };
        let v: serde_json::Value = serde_json::from_slice(&p.to_json()).expect("json");
        assert_eq!(
            v,
            serde_json::json!({"type": "about:blank", "title": "Service Unavailable",
                "status": 503, "detail": "busy"})
        );
        assert_eq!(p.reply().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
