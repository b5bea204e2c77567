//! # sansrpc-http-client
//!
//! A JSON-RPC 2.0 client over HTTP and HTTPS, async ([`Client`]) and
//! blocking ([`blocking::Client`]), on [reqwest] with rustls (no OpenSSL).
//!
//! Every request is one [`sansrpc::conn::ClientConnection`] over the
//! [`sansrpc::conn::Body`] framer: the core writes the request, allocates its id,
//! and parses, validates and matches the response by id, exactly as it
//! does for the TCP and WebSocket clients. This crate only moves the bytes
//! and reads what HTTP adds: the status and the content type.
//! As each request is an exchange of its own, the ids on the wire start
//! at `1` in every request (a batch numbers its calls `1`, `2`, …); the
//! answer is matched within its own HTTP response.
//!
//! - `call::<T>(method, params)` deserializes the result into `T`;
//!   `notify` sends a notification (the server answers `204`);
//!   `batch` sends calls and notifications in one array.
//! - A default timeout per client (30 s unless told otherwise), and one
//!   per call (`call_timeout`, `batch_timeout`); a timeout covers the whole
//!   exchange, from connecting to the last byte of the body.
//! - `https://` with the web PKI roots built in, and private CAs with
//!   [`ClientBuilder::add_root_certificate`].
//! - `https://` with the web PKI roots built in, and private CAs with
//!   [`ClientBuilder::add_root_certificate`].
//! - Extra headers for every request ([`ClientBuilder::header`], e.g. an
//!   `Authorization` token); connections are kept alive and reused.
//! - The response body is bounded by [`Limits::max_message_bytes`]: a
//!   larger one is refused as soon as it is declared or seen, never
//!   buffered.
//! - Errors say what happened ([`ClientError`]): the remote's JSON-RPC
//!   error, an HTTP status without a JSON-RPC body, a content type that is
//!   not JSON, a response whose id is not the call's, a timeout.
//!
//! ## Wire log
//!
//! With the `sansrpc::wire` target enabled at `DEBUG` (see
//! [`sansrpc::wire_log`]), every exchange logs the lines Python's
//! `jsonrpcclient` prints, the status after the response:
//!
//! ```text
//! --> {"jsonrpc":"2.0","method":"ping","id":1}
//! <-- {"jsonrpc":"2.0","result":"pong","id":1} (200 OK)
//! ```
//!
//! ## Example
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use sansrpc::{BatchEntry, RawParams};
//! use sansrpc_http_client::Client;
//!
//! let client = Client::new("http://127.0.0.1:5000/")?;
//! let pong: String = client.call("ping", ()).await?;
//! assert_eq!(pong, "pong");
//!
//! let client = Client::builder("https://rpc.example.com/api")
//!     .header("authorization", "Bearer s3cr3t")
//!     .timeout(Duration::from_secs(5))
//!     .build()?;
//! let diff: i64 = client.call("subtract", [42, 23]).await?;
//! client.notify("update", [1, 2, 3]).await?;
//! let answers = client
//!     .batch([
//!         BatchEntry::call("sum", RawParams::from_json("[1,2,4]")?),
//!         BatchEntry::notification("notify_hello", RawParams::from_json("[7]")?),
//!     ])
//!     .await?;
//! assert!(answers[1].is_none());
//! # let _ = diff; Ok(()) }
//! ```
//!
//! The blocking client has the same methods; see [`blocking`].
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing,
        clippy::panic
    )
)]

pub mod blocking;
mod client;
mod exchange;

use std::time::Duration;

pub use client::Client;
pub use reqwest::StatusCode;
pub use reqwest::Url;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sansrpc::{Error, Limits, ProtocolError, UsageError};

/// The default for [`ClientBuilder::timeout`]: 30 seconds, as the other
/// sansrpc clients.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How much of an unexpected body an error message quotes.
const QUOTED_BYTES: usize = 200;

/// Why a call made through a [`Client`] (or a [`blocking::Client`]) has no
/// result.
///
/// The first five variants are those of the other sansrpc clients
/// (`sansrpc_tokio::ClientError`); the rest are what HTTP adds.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The remote answered with a JSON-RPC error.
    #[error("the remote answered with an error: {0}")]
    Rpc(Error),
    /// No answer arrived before the call's deadline (connecting, sending
    /// and reading the whole body included).
    #[error("no answer before the deadline")]
    TimedOut,
    /// The connection closed (or broke) before the answer arrived.
    #[error("the connection is closed")]
    Closed,
    /// The call could not be made: params that are not an array or an
    /// object, an empty batch.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The result does not deserialize into the requested type.
    #[error("the result does not fit the requested type: {0}")]
    Decode(#[source] serde_json::Error),
    /// The server answered with an HTTP status and no JSON-RPC response
    /// (an empty body, or one that answers nothing).
    #[error("HTTP {status} without a JSON-RPC response{}", quoted(body))]
    Status {
        /// The status.
        status: StatusCode,
        /// The start of the body, as text.
        body: String,
    },
    /// The server answered with a body that is not JSON.
    #[error("HTTP {status} with Content-Type {content_type:?}, not JSON{}", quoted(body))]
    ContentType {
        /// The status.
        status: StatusCode,
        /// The content type the server gave.
        content_type: String,
        /// The start of the body, as text.
        body: String,
    },
    /// The response carries an id that is not the call's.
    #[error("id mismatch: the call had id {sent}, the response has id {got}")]
    IdMismatch {
        /// The id of the call, as JSON.
        sent: String,
        /// The id in the response, as JSON.
        got: String,
    },
    /// The response is not a valid JSON-RPC response for the call.
    #[error("the server's answer is not a valid response: {0}")]
    Protocol(ProtocolError),
    /// The response body is larger than [`Limits::max_message_bytes`]; it
    /// was not read further.
    #[error("the response body is over the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The request could not be made: the server could not be reached,
    /// TLS failed, a redirect loop.
    #[error("HTTP request failed: {}", chain(.0))]
    Transport(#[source] reqwest::Error),
    /// The client could not be built: a URL or header that does not parse,
    /// a TLS backend that does not start.
    #[error("bad client configuration: {0}")]
    Config(String),
}

/// An error and its causes, as one line (reqwest's own text leaves out
/// why: "connection refused" is in the source).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

fn quoted(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

/// The start of a body, for error messages.
pub(crate) fn quote(body: &[u8]) -> String {
    let shown = body.get(..QUOTED_BYTES).unwrap_or(body);
    let mut text = String::from_utf8_lossy(shown).trim().to_owned();
    if shown.len() < body.len() {
        text.push('…');
    }
    text
}

impl ClientError {
    /// Maps a reqwest error: timeouts are [`ClientError::TimedOut`].
    pub(crate) fn from_reqwest(e: reqwest::Error) -> Self {
        if e.is_timeout() {
            Self::TimedOut
        } else {
            Self::Transport(e)
        }
    }
}

/// Options for a [`Client`] or a [`blocking::Client`].
///
/// ```no_run
/// # fn run() -> Result<(), sansrpc_http_client::ClientError> {
/// use std::time::Duration;
/// let client = sansrpc_http_client::Client::builder("http://127.0.0.1:5000/")
///     .timeout(Duration::from_secs(5))
///     .header("x-api-key", "k")
///     .build()?;
/// # let _ = client; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    url: String,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    headers: Vec<(String, String)>,
    roots: Vec<Vec<u8>>,
    limits: Limits,
}

impl ClientBuilder {
    /// The defaults for `url`: a [`DEFAULT_TIMEOUT`] per call,
    /// [`Limits::default`] (a 1 MiB response at most), no extra header.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            timeout: Some(DEFAULT_TIMEOUT),
            connect_timeout: None,
            headers: Vec::new(),
            roots: Vec::new(),
            limits: Limits::default(),
        }
    }

    /// How long a call waits for its whole answer unless told otherwise.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Calls wait for ever unless told otherwise.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// How long connecting may take at most (within the call's timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// A header sent with every request (an `Authorization` token, an API
    /// key). Checked by [`build`](Self::build).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Trusts the CA certificate `pem` (PEM text) for `https://`, besides
    /// the built-in web roots: for a server with a private CA or a
    /// self-signed certificate. Checked by [`build`](Self::build).
    pub fn add_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.roots.push(pem.into());
        self
    }

    /// The limits: [`Limits::max_message_bytes`] bounds the response body,
    /// and the core applies the rest (nesting depth, batch length) to what
    /// it parses.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    fn roots(&self) -> Result<Vec<reqwest::Certificate>, ClientError> {
        let mut roots = Vec::new();
        for pem in &self.roots {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| ClientError::Config(format!("root certificate: {}", chain(&e))))?;
            if certs.is_empty() {
                return Err(ClientError::Config(
                    "root certificate: no PEM certificate in the text".to_owned(),
                ));
            }
            roots.extend(certs);
        }
        Ok(roots)
    }

    fn parts(&self) -> Result<(Url, HeaderMap), ClientError> {
        let url =
            Url::parse(&self.url).map_err(|e| ClientError::Config(format!("URL {:?}: {e}", self.url)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ClientError::Config(format!(
                "URL {:?}: the scheme must be http or https",
                self.url
            )));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let n = HeaderName::try_from(name.as_str())
                .map_err(|e| ClientError::Config(format!("header name {name:?}: {e}")))?;
            let v = HeaderValue::try_from(value.as_str())
                .map_err(|e| ClientError::Config(format!("header {name}: {e}")))?;
            headers.append(n, v);
        }
        Ok((url, headers))
    }

    /// The async client.
    pub fn build(self) -> Result<Client, ClientError> {
        let (url, headers) = self.parts()?;
        let mut http = reqwest::Client::builder().default_headers(headers);
        for root in self.roots()? {
            http = http.add_root_certificate(root);
        }
        if let Some(t) = self.connect_timeout {
            http = http.connect_timeout(t);
        }
        let http = http.build().map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(Client::from_parts(http, url, self.timeout, self.limits))
    }

    /// The blocking client. Build (and drop) it outside async code, or
    /// inside `tokio::task::spawn_blocking`; see [`blocking`].
    pub fn build_blocking(self) -> Result<blocking::Client, ClientError> {
        let (url, headers) = self.parts()?;
        // The blocking client's own timeout is off: each request sets its
        // own, so `None` really waits for ever.
        let mut http = reqwest::blocking::Client::builder()
            .default_headers(headers)
            .timeout(None::<Duration>);
        for root in self.roots()? {
            http = http.add_root_certificate(root);
        }
        if let Some(t) = self.connect_timeout {
            http = http.connect_timeout(t);
        }
        let http = http.build().map_err(|e| ClientError::Config(e.to_string()))?;
        Ok(blocking::Client::from_parts(http, url, self.timeout, self.limits))
    }
}
