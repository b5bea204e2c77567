//! The HTTP rules every HTTP adapter applies, decided once here.
//!
//! `POST` with a JSON body; `200` + `application/json` for any JSON-RPC
//! answer (errors included); `204` with no body for a notification or an
//! all-notification batch; `405` with `Allow: POST` for another method;
//! `413` for a body over the limit; `415` for a content type that is not
//! JSON.

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

/// Why an HTTP request is refused before any JSON-RPC processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpReject {
    /// The method is not `POST` (`405`, with `Allow: POST`).
    #[error("method not allowed: use POST")]
    MethodNotAllowed,
    /// The `Content-Type` is present and is not JSON (`415`).
    #[error("unsupported media type: send application/json")]
    UnsupportedMediaType,
    /// The body is (or is declared to be) over the limit (`413`).
    #[error("payload too large")]
    PayloadTooLarge,
    /// The request cannot be read: a malformed `Content-Length`, a body cut
    /// short or a broken chunked encoding (`400`).
    #[error("bad request: the body cannot be read")]
    BadRequest,
    /// The body did not arrive within [`crate::Limits::idle_timeout`]
    /// (`408`, with `Connection: close`): a slow-drip peer.
    #[error("request timeout: the body did not arrive in time")]
    RequestTimeout,
}

impl HttpReject {
    /// The status to answer with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// Headers the answer must carry (`Allow: POST` for `405`).
    pub fn headers(self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if self == Self::MethodNotAllowed {
            h.insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        if self == Self::RequestTimeout {
            h.insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        h
    }

    /// A short plain-text body saying what to do.
    pub fn body(self) -> &'static str {
        match self {
            Self::MethodNotAllowed => "method not allowed: JSON-RPC requests use POST\n",
            Self::UnsupportedMediaType => "unsupported media type: send application/json\n",
            Self::PayloadTooLarge => "payload too large\n",
            Self::BadRequest => "bad request: the body cannot be read\n",
            Self::RequestTimeout => "request timeout: the body did not arrive in time\n",
        }
    }
}

/// Whether a `Content-Type` value names JSON: `application/json`,
/// `application/json-rpc`, `application/jsonrequest`, or any `+json`
/// suffix, with any parameters.
///
/// ```
/// use sansrpc::http::is_json_content_type;
///
/// assert!(is_json_content_type("application/json; charset=utf-8"));
/// assert!(is_json_content_type("application/vnd.api+json"));
/// assert!(!is_json_content_type("text/plain"));
/// ```
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/json" | "application/json-rpc" | "application/jsonrequest"
    ) || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Checks a request's head: the method, the content type (a missing one is
/// accepted, as many clients omit it) and a declared `Content-Length`
/// against `max_body`.
///
/// ```
/// use http::{HeaderMap, Method};
/// use sansrpc::http::{check_head, HttpReject};
///
/// let mut h = HeaderMap::new();
/// h.insert("content-type", "application/json".parse().unwrap());
/// assert_eq!(check_head(&Method::POST, &h, 1024), Ok(()));
/// assert_eq!(check_head(&Method::GET, &h, 1024), Err(HttpReject::MethodNotAllowed));
/// h.insert("content-length", "2048".parse().unwrap());
/// assert_eq!(check_head(&Method::POST, &h, 1024), Err(HttpReject::PayloadTooLarge));
/// ```
pub fn check_head(method: &Method, headers: &HeaderMap, max_body: usize) -> Result<(), HttpReject> {
    if method != Method::POST {
        return Err(HttpReject::MethodNotAllowed);
    }
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        match ct.to_str() {
            Ok(v) if is_json_content_type(v) => {}
            _ => return Err(HttpReject::UnsupportedMediaType),
        }
    }
    if let Some(len) = headers.get(header::CONTENT_LENGTH) {
        let declared = len
            .to_str()
            .ok()
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .map(|v| v.parse::<u64>().unwrap_or(u64::MAX));
        match declared {
            None => return Err(HttpReject::BadRequest),
            Some(n) if n > max_body as u64 => return Err(HttpReject::PayloadTooLarge),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Collects a request body as it streams in, refusing it at the first chunk
/// that takes it over the limit — before it is all buffered.
///
/// ```
/// use sansrpc::http::{BodyLimit, HttpReject};
///
/// let mut body = BodyLimit::new(8);
/// body.push(b"{\"a\":").unwrap();
/// assert_eq!(body.push(b"12345"), Err(HttpReject::PayloadTooLarge));
///
/// let mut body = BodyLimit::new(8);
/// body.push(b"[1,").unwrap();
/// body.push(b"2]").unwrap();
/// assert_eq!(&body.finish()[..], b"[1,2]");
/// ```
#[derive(Debug)]
pub struct BodyLimit {
    buf: bytes::BytesMut,
    max: usize,
}

impl BodyLimit {
    /// A collector for bodies of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            buf: bytes::BytesMut::new(),
            max,
        }
    }

    /// Adds a chunk; over the limit the collected bytes are dropped and
    /// `PayloadTooLarge` returned (and returned again for any later chunk).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), HttpReject> {
        if chunk.len() > self.max.saturating_sub(self.buf.len()) {
            self.buf = bytes::BytesMut::new();
            self.max = 0;
            return Err(HttpReject::PayloadTooLarge);
        }
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// Bytes collected so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The whole body.
    pub fn finish(self) -> bytes::Bytes {
        self.buf.freeze()
    }
}

/// The headers of an answer: those handlers asked for (cookies included),
/// then `Content-Type: application/json` when there is a body — ours always
/// wins, since the body is JSON whatever a handler set.
///
/// ```
/// use sansrpc::{Context, http::answer_headers};
///
/// let ctx = Context::default();
/// ctx.set_cookie("a=1");
/// ctx.set_response_header("content-type", "text/html");
/// let h = answer_headers(Some(b"{}"), &ctx.response_parts());
/// assert_eq!(h["content-type"], "application/json");
/// assert_eq!(h["set-cookie"], "a=1");
/// assert!(!answer_headers(None, &ctx.response_parts()).contains_key("content-type"));
/// ```
pub fn answer_headers(answer: Option<&[u8]>, parts: &crate::context::ResponseParts) -> HeaderMap {
    let mut h = parts.headers.clone();
    h.remove(header::CONTENT_TYPE);
    if answer.is_some() {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    }
    h
}

/// The status for a JSON-RPC answer: `200` when there is a body to send,
/// `204` when there is none.
pub fn answer_status(answer: Option<&[u8]>) -> StatusCode {
    match answer {
        Some(_) => StatusCode::OK,
        None => StatusCode::NO_CONTENT,
    }
}

/// The `Content-Type` of every JSON-RPC answer.
pub const JSON_CONTENT_TYPE: &str = "application/json";
