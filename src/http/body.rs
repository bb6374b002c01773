//! Bounded request body reading: a size limit (an honest `Content-Length` is refused before a
//! byte is read), an overall deadline and a minimum rate, so a client that drips its body
//! cannot hold a connection for long.

use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::HeaderMap;
use hyper::body::Bytes;
use hyper::header::CONTENT_LENGTH;
use tokio::time::Instant;

use crate::config::HttpLimits;

/// The bounds of one body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// Most bytes accepted.
    pub max_bytes: u64,
    /// The whole body must have arrived this long after reading began.
    pub timeout: Duration,
    /// After [`Self::grace`], at least this many bytes per second on average (0: no rate).
    pub min_bytes_per_sec: u64,
    /// Time before the minimum rate applies.
    pub grace: Duration,
}

impl BodyLimits {
    /// `max_bytes` within `timeout`, at the listener's minimum rate.
    #[must_use]
    pub fn new(max_bytes: usize, timeout: Duration, http: &HttpLimits) -> Self {
        Self {
            max_bytes: max_bytes as u64,
            timeout,
            min_bytes_per_sec: http.min_body_bytes_per_sec,
            grace: http.body_grace(),
        }
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// Longer than the limit (declared or counted).
    #[error("the body may hold at most {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// `Content-Length` is not a decimal number.
    #[error("bad Content-Length")]
    BadLength,
    /// The body did not arrive within the deadline.
    #[error("the body did not arrive in time")]
    Timeout,
    /// The body arrived slower than the minimum rate.
    #[error("the body arrived too slowly")]
    TooSlow,
    /// The connection failed while reading (reset, malformed chunking).
    #[error("the body could not be read")]
    Read,
}

/// The declared `Content-Length`, if any.
///
/// # Errors
/// [`BodyError::BadLength`] for a value that is not a decimal number.
pub fn declared_length(headers: &HeaderMap) -> Result<Option<u64>, BodyError> {
    headers
        .get(CONTENT_LENGTH)
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|v| v.parse().ok())
                .ok_or(BodyError::BadLength)
        })
        .transpose()
}

/// Reads a body chunk by chunk within its [`BodyLimits`].
#[derive(Debug)]
pub struct BodyReader<B> {
    body: B,
    limits: BodyLimits,
    started: Instant,
    received: u64,
}

impl<B> BodyReader<B>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    /// Starts reading `body`; refuses at once a declared length beyond the limit.
    ///
    /// # Errors
    /// [`BodyError::TooLarge`] or [`BodyError::BadLength`] from the headers.
    pub fn new(body: B, headers: &HeaderMap, limits: BodyLimits) -> Result<Self, BodyError> {
        if declared_length(headers)?.is_some_and(|len| len > limits.max_bytes) {
            return Err(BodyError::TooLarge {
                limit: limits.max_bytes,
            });
        }
        Ok(Self {
            body,
            limits,
            started: Instant::now(),
            received: 0,
        })
    }

    /// Bytes received so far.
    #[must_use]
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The moment by which the next bytes must have arrived, and whether it is the overall
    /// deadline (else the minimum rate).
    fn next_deadline(&self) -> (Instant, bool) {
        let overall = self.started + self.limits.timeout;
        if self.limits.min_bytes_per_sec == 0 {
            return (overall, true);
        }
        // What arrived so far pays for this much time at the minimum rate.
        let earned =
            Duration::from_secs_f64(self.received as f64 / self.limits.min_bytes_per_sec as f64);
        let by_rate = self.started + self.limits.grace + earned;
        if by_rate < overall {
            (by_rate, false)
        } else {
            (overall, true)
        }
    }

    /// The next chunk of data, or `None` at the end of the body.
    ///
    /// # Errors
    /// A [`BodyError`]; the body must not be read further after one.
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        loop {
            let (deadline, overall) = self.next_deadline();
            let frame = match tokio::time::timeout_at(deadline, self.body.frame()).await {
                Err(_) if overall => return Err(BodyError::Timeout),
                Err(_) => return Err(BodyError::TooSlow),
                Ok(None) => return Ok(None),
                Ok(Some(Err(_))) => return Err(BodyError::Read),
                Ok(Some(Ok(frame))) => frame,
            };
            // Trailers carry nothing the routes use.
            let Ok(data) = frame.into_data() else {
                continue;
            };
            self.received += data.len() as u64;
            if self.received > self.limits.max_bytes {
                return Err(BodyError::TooLarge {
                    limit: self.limits.max_bytes,
                });
            }
            if !data.is_empty() {
                return Ok(Some(data));
            }
        }
    }
}

/// Reads a whole request body within `limits`.
///
/// # Errors
/// A [`BodyError`].
pub async fn read_all<B>(req: hyper::Request<B>, limits: BodyLimits) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
{
    let (parts, body) = req.into_parts();
    let mut reader = BodyReader::new(body, &parts.headers, limits)?;
    let mut out = Vec::new();
    while let Some(chunk) = reader.chunk().await? {
        out.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use hyper::body::Frame;
    use tokio::sync::mpsc;

    use super::*;

    /// A body fed from a channel: the test decides when each chunk arrives.
    struct ChannelStream(mpsc::Receiver<Bytes>);

    impl hyper::body::Body for ChannelStream {
        type Data = Bytes;
        type Error = Infallible;
        fn poll_frame(
            mut self: std::pin::Pin<&mut Self>,
            cx: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0
                .poll_recv(cx)
                .map(|chunk| chunk.map(|c| Ok(Frame::data(c))))
        }
    }

    fn limits(max: u64, timeout_ms: u64, rate: u64, grace_ms: u64) -> BodyLimits {
        BodyLimits {
            max_bytes: max,
            timeout: Duration::from_millis(timeout_ms),
            min_bytes_per_sec: rate,
            grace: Duration::from_millis(grace_ms),
        }
    }

    fn channel() -> (mpsc::Sender<Bytes>, ChannelStream) {
        let (tx, rx) = mpsc::channel(16);
        (tx, ChannelStream(rx))
    }

    #[tokio::test]
    async fn a_dripping_body_is_cut_off_by_the_minimum_rate() {
        let (tx, body) = channel();
        let mut reader =
            BodyReader::new(body, &HeaderMap::new(), limits(1 << 20, 30_000, 1000, 300))
                .expect("reader");
        // One byte per 100 ms: 10 B/s against a minimum of 1,000 B/s after 300 ms of grace.
        let feeder = tokio::spawn(async move {
            for _ in 0..100 {
                if tx.send(Bytes::from_static(b"x")).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let started = Instant::now();
        let result = loop {
            match reader.chunk().await {
                Ok(Some(_)) => {}
                other => break other,
            }
        };
        assert_eq!(result, Err(BodyError::TooSlow));
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(300) && took < Duration::from_secs(2),
            "{took:?}"
        );
        feeder.abort();
    }

    #[tokio::test]
    async fn a_body_at_the_rate_completes_and_the_overall_deadline_holds() {
        let (tx, body) = channel();
        let mut reader = BodyReader::new(body, &HeaderMap::new(), limits(1 << 20, 800, 1000, 100))
            .expect("reader");
        tokio::spawn(async move {
            // 4,000 B/s for ever: fast enough, but never ends.
            loop {
                if tx.send(Bytes::from(vec![b'x'; 200])).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
        let started = Instant::now();
        let result = loop {
            match reader.chunk().await {
                Ok(Some(_)) => {}
                other => break other,
            }
        };
        assert_eq!(result, Err(BodyError::Timeout));
        assert!(reader.received() >= 1_000, "{}", reader.received());
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(750) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[tokio::test]
    async fn declared_and_counted_lengths_are_bounded() {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_LENGTH, "2000".parse().expect("value"));
        let (_tx, body) = channel();
        assert_eq!(
            BodyReader::new(body, &headers, limits(1000, 1000, 0, 0)).map(|_| ()),
            Err(BodyError::TooLarge { limit: 1000 })
        );
        headers.insert(CONTENT_LENGTH, "12x".parse().expect("value"));
        let (_tx, body) = channel();
        assert_eq!(
            BodyReader::new(body, &headers, limits(1000, 1000, 0, 0)).map(|_| ()),
            Err(BodyError::BadLength)
        );
        let (tx, body) = channel();
        let mut reader =
            BodyReader::new(body, &HeaderMap::new(), limits(1000, 5_000, 0, 0)).expect("reader");
        tx.send(Bytes::from(vec![0; 600])).await.expect("send");
        tx.send(Bytes::from(vec![0; 600])).await.expect("send");
        assert!(matches!(reader.chunk().await, Ok(Some(_))));
        assert_eq!(
            reader.chunk().await,
            Err(BodyError::TooLarge { limit: 1000 })
        );
        let mut req = hyper::Request::new(http_body_util::Full::new(Bytes::from_static(b"hello")));
        req.headers_mut()
            .insert(CONTENT_LENGTH, "5".parse().expect("value"));
        assert_eq!(
            read_all(req, limits(10, 1000, 0, 0)).await,
            Ok(Bytes::from_static(b"hello"))
        );
    }
}
