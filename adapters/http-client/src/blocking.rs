//! The blocking client: the same calls as [`crate::Client`], for code
//! without an async runtime.
//!
//! It runs reqwest's blocking client, which keeps a runtime of its own on
//! a background thread. Use it from a plain `fn main` or any thread, or
//! from async code through `tokio::task::spawn_blocking` (build it, use it
//! and drop it there). Building or dropping it directly on an async task
//! panics in reqwest ("cannot drop a runtime in a context where blocking is
//! not allowed"): in async code, use [`crate::Client`].
//!
//! ```no_run
//! fn main() -> Result<(), sansrpc_http_client::ClientError> {
//!     let client = sansrpc_http_client::blocking::Client::new("http://127.0.0.1:5000/")?;
//!     let pong: String = client.call("ping", ())?;
//!     println!("{pong}");
//!     Ok(())
//! }
//! ```

use std::io::Read;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};
use sansrpc::Outcome;
use sansrpc::{BatchEntry, Limits, RawParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::exchange::{BodyBuf, Exchange, Reply, to_params};
use crate::{ClientBuilder, ClientError, Url};

const JSON: HeaderValue = HeaderValue::from_static("application/json");

#[derive(Debug)]
struct Inner {
    http: reqwest::blocking::Client,
    url: Url,
    limits: Limits,
}

/// A blocking JSON-RPC client for one HTTP(S) endpoint.
///
/// Cheap to clone; clones share the connection pool (keep-alive). See the
/// [module docs](self) for where it may run.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    timeout: Option<Duration>,
}

impl Client {
    /// A client for `url` with the default options ([`ClientBuilder::new`]).
    pub fn new(url: impl Into<String>) -> Result<Self, ClientError> {
        ClientBuilder::new(url).build_blocking()
    }

    /// Options (timeouts, headers, limits) for a client of `url`; finish
    /// with [`ClientBuilder::build_blocking`].
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    pub(crate) fn from_parts(
        http: reqwest::blocking::Client,
        url: Url,
        timeout: Option<Duration>,
        limits: Limits,
    ) -> Self {
        Self {
            inner: Arc::new(Inner { http, url, limits }),
            timeout,
        }
    }

    /// The endpoint.
    pub fn url(&self) -> &Url {
        &self.inner.url
    }

    /// The default timeout of this handle's calls.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// A handle to the same client whose calls use `timeout` by default
    /// (`None`: wait for ever).
    #[must_use]
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Self {
        Self {
            inner: self.inner.clone(),
            timeout,
        }
    }

    /// Calls `method` and deserializes its result into `T`, waiting at most
    /// the client's default timeout.
    pub fn call<T: DeserializeOwned>(&self, method: &str, params: impl Serialize) -> Result<T, ClientError> {
        let raw = self.call_raw(method, to_params(params)?, self.timeout)?;
        serde_json::from_str(raw.get()).map_err(ClientError::Decode)
    }

    /// [`call`](Self::call) with its own timeout.
    pub fn call_timeout<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        let raw = self.call_raw(method, to_params(params)?, Some(timeout))?;
        serde_json::from_str(raw.get()).map_err(ClientError::Decode)
    }

    /// Calls `method` with raw params; returns the result's JSON text.
    /// `timeout: None` waits for ever.
    pub fn call_raw(
        &self,
        method: &str,
        params: RawParams,
        timeout: Option<Duration>,
    ) -> Result<Box<RawValue>, ClientError> {
        let (x, body) = Exchange::call(&self.inner.limits, method, params)?;
        match self.exchange(x, body, timeout)? {
            Reply::Call(outcome) => outcome.map_err(ClientError::Rpc),
            _ => Err(ClientError::Config("a call got no call reply".to_owned())),
        }
    }

    /// Sends a notification; returns once the server accepted it (a `2xx`
    /// status, normally `204`).
    pub fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let (x, body) = Exchange::notify(&self.inner.limits, method, to_params(params)?)?;
        self.exchange(x, body, self.timeout).map(|_| ())
    }

    /// Sends calls and notifications as one batch; one entry per request,
    /// in order (`None` for a notification).
    pub fn batch(
        &self,
        entries: impl IntoIterator<Item = BatchEntry>,
    ) -> Result<Vec<Option<Outcome>>, ClientError> {
        self.batch_timeout(entries, self.timeout)
    }

    /// [`batch`](Self::batch) with its own timeout (`None`: wait for ever).
    pub fn batch_timeout(
        &self,
        entries: impl IntoIterator<Item = BatchEntry>,
        timeout: Option<Duration>,
    ) -> Result<Vec<Option<Outcome>>, ClientError> {
        let (x, body) = Exchange::batch(&self.inner.limits, entries)?;
        match self.exchange(x, body, timeout)? {
            Reply::Batch(outcomes) => Ok(outcomes),
            Reply::Nothing(n) => Ok((0..n).map(|_| None).collect()),
            Reply::Call(_) => Err(ClientError::Config("a batch got a call reply".to_owned())),
        }
    }

    fn exchange(&self, x: Exchange, body: Vec<u8>, timeout: Option<Duration>) -> Result<Reply, ClientError> {
        let mut request = self
            .inner
            .http
            .post(self.inner.url.clone())
            .header(CONTENT_TYPE, JSON)
            .header(ACCEPT, JSON)
            .body(body);
        if let Some(t) = timeout {
            request = request.timeout(t);
        }
        let mut response = request.send().map_err(ClientError::from_reqwest)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let declared = response.content_length();
        x.check_length(declared)?;
        let mut buf = BodyBuf::new(x.limit(), declared);
        let mut chunk = [0u8; 16 * 1024];
        loop {
            let n = response.read(&mut chunk).map_err(read_error)?;
            if n == 0 {
                break;
            }
            buf.push(chunk.get(..n).unwrap_or_default())?;
        }
        x.finish(status, content_type.as_deref(), buf.bytes())
    }
}

/// A read error of the blocking body: reqwest's own error inside, a
/// timeout as [`ClientError::TimedOut`].
fn read_error(e: std::io::Error) -> ClientError {
    if e.kind() == std::io::ErrorKind::TimedOut {
        return ClientError::TimedOut;
    }
    match e.into_inner().map(|inner| inner.downcast::<reqwest::Error>()) {
        Some(Ok(e)) => ClientError::from_reqwest(*e),
        // The connection broke in the middle of the body.
        _ => ClientError::Closed,
    }
}
