//! Response builders: every answer of the server and the sandbox is made here, so content
//! types and the problem document (RFC 9457) are written once.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::BodyExt as _;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::{Bytes, Frame, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde::Serialize;
use tokio::io::{AsyncRead, ReadBuf};

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

/// A response streaming `file` (its length as `Content-Length`), read in 64 KiB chunks: a
/// large download is never held whole.
#[must_use]
pub fn file(file: tokio::fs::File, len: u64, content_type: &'static str) -> Reply {
    let mut resp = Response::new(FileBody::new(file, len).boxed_unsync());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// A body streamed from a file in 64 KiB chunks (responses here, request bodies of the
/// forwarder), so a large file is never held whole in memory. It ends after the given length;
/// a file shorter than that ends it with an error, so the peer never takes a truncated file for
/// a whole one.
#[derive(Debug)]
pub struct FileBody {
    file: tokio::fs::File,
    remaining: u64,
    buf: Box<[u8]>,
}

impl FileBody {
    /// The first `len` bytes of `file`.
    #[must_use]
    pub fn new(file: tokio::fs::File, len: u64) -> Self {
        Self {
            file,
            remaining: len,
            buf: vec![0; 64 * 1024].into_boxed_slice(),
        }
    }

    /// The first `len` bytes of the file at `path`.
    ///
    /// # Errors
    /// The file cannot be opened.
    pub async fn open(path: &std::path::Path, len: u64) -> io::Result<Self> {
        Ok(Self::new(tokio::fs::File::open(path).await?, len))
    }
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(this.remaining)
            .unwrap_or(usize::MAX)
            .min(this.buf.len());
        let mut read = ReadBuf::new(&mut this.buf[..want]);
        match Pin::new(&mut this.file).poll_read(cx, &mut read) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
            Poll::Ready(Ok(())) => {
                let filled = read.filled();
                if filled.is_empty() {
                    // Shorter than announced: the peer must not get a truncated file.
                    return Poll::Ready(Some(Err(io::ErrorKind::UnexpectedEof.into())));
                }
                this.remaining -= filled.len() as u64;
                Poll::Ready(Some(Ok(Frame::data(Bytes::copy_from_slice(filled)))))
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
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let f = tokio::fs::File::open(&path).await.expect("open");
        let reply = file(f, data.len() as u64, "application/jose");
        assert_eq!(
            hyper::body::Body::size_hint(reply.body()).exact(),
            Some(200_000)
        );
        let got = reply.into_body().collect().await.expect("read").to_bytes();
        assert_eq!(got.as_ref(), data.as_slice());
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
