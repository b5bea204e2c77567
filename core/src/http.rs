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
}

impl HttpReject {
    /// The status to answer with.
    pub fn status(self) -> StatusCode {
        match self {
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        }
    }

    /// Headers the answer must carry (`Allow: POST` for `405`).
    pub fn headers(self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if self == Self::MethodNotAllowed {
            h.insert(header::ALLOW, HeaderValue::from_static("POST"));
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
        let declared = len.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|n| n > max_body as u64) {
            return Err(HttpReject::PayloadTooLarge);
        }
    }
    Ok(())
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
