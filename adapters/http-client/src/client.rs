//! The async client.

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
    http: reqwest::Client,
    url: Url,
    limits: Limits,
}

/// An async JSON-RPC client for one HTTP(S) endpoint.
///
/// Cheap to clone: clones share the connection pool (keep-alive), the
/// headers and the limits. Calls made concurrently run concurrently, each
/// its own HTTP request. It needs a tokio runtime (reqwest's).
///
/// ```no_run
/// # async fn run() -> Result<(), sansrpc_http_client::ClientError> {
/// let client = sansrpc_http_client::Client::new("http://127.0.0.1:5000/")?;
/// let pong: String = client.call("ping", ()).await?;
/// # let _ = pong; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
    timeout: Option<Duration>,
}

impl Client {
    /// A client for `url` with the default options ([`ClientBuilder::new`]).
    pub fn new(url: impl Into<String>) -> Result<Self, ClientError> {
        ClientBuilder::new(url).build()
    }

    /// Options (timeouts, headers, limits) for a client of `url`.
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url)
    }

    pub(crate) fn from_parts(
        http: reqwest::Client,
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
    ///
    /// `params` is anything that serializes to a JSON array or object
    /// (tuples, arrays, `Vec`s, structs, maps), or `()` for none.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, ClientError> {
        let raw = self.call_raw(method, to_params(params)?, self.timeout).await?;
        serde_json::from_str(raw.get()).map_err(ClientError::Decode)
    }

    /// [`call`](Self::call) with its own timeout.
    pub async fn call_timeout<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        let raw = self.call_raw(method, to_params(params)?, Some(timeout)).await?;
        serde_json::from_str(raw.get()).map_err(ClientError::Decode)
    }

    /// Calls `method` with raw params; returns the result's JSON text.
    /// `timeout: None` waits for ever.
    pub async fn call_raw(
        &self,
        method: &str,
        params: RawParams,
        timeout: Option<Duration>,
    ) -> Result<Box<RawValue>, ClientError> {
        let (x, body) = Exchange::call(&self.inner.limits, method, params)?;
        match self.exchange(x, body, timeout).await? {
            Reply::Call(outcome) => outcome.map_err(ClientError::Rpc),
            _ => Err(ClientError::Config("a call got no call reply".to_owned())),
        }
    }

    /// Sends a notification: a call that is never answered. Returns once
    /// the server accepted it (a `2xx` status, normally `204`).
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let (x, body) = Exchange::notify(&self.inner.limits, method, to_params(params)?)?;
        self.exchange(x, body, self.timeout).await.map(|_| ())
    }

    /// Sends calls and notifications as one batch, waiting at most the
    /// client's default timeout. Returns one entry per request, in order:
    /// the call's outcome, or `None` for a notification.
    pub async fn batch(
        &self,
        entries: impl IntoIterator<Item = BatchEntry>,
    ) -> Result<Vec<Option<Outcome>>, ClientError> {
        self.batch_timeout(entries, self.timeout).await
    }

    /// [`batch`](Self::batch) with its own timeout (`None`: wait for ever).
    pub async fn batch_timeout(
        &self,
        entries: impl IntoIterator<Item = BatchEntry>,
        timeout: Option<Duration>,
    ) -> Result<Vec<Option<Outcome>>, ClientError> {
        let (x, body) = Exchange::batch(&self.inner.limits, entries)?;
        match self.exchange(x, body, timeout).await? {
            Reply::Batch(outcomes) => Ok(outcomes),
            Reply::Nothing(n) => Ok((0..n).map(|_| None).collect()),
            Reply::Call(_) => Err(ClientError::Config("a batch got a call reply".to_owned())),
        }
    }

    async fn exchange(
        &self,
        x: Exchange,
        body: Vec<u8>,
        timeout: Option<Duration>,
    ) -> Result<Reply, ClientError> {
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
        let mut response = request.send().await.map_err(ClientError::from_reqwest)?;
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let declared = response.content_length();
        x.check_length(declared)?;
        let mut buf = BodyBuf::new(x.limit(), declared);
        while let Some(chunk) = response.chunk().await.map_err(ClientError::from_reqwest)? {
            buf.push(&chunk)?;
        }
        x.finish(status, content_type.as_deref(), buf.bytes())
    }
}
