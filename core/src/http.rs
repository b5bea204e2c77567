//! The HTTP rules every HTTP adapter applies, decided once here.
//!
//! `POST` with a JSON body; `200` + `application/json` for any JSON-RPC
//! answer (errors included); `204` with no body for a notification or an
//! all-notification batch (at once: the notifications run in the
//! background, see [`Endpoint::run`]); `405` with `Allow: POST` for another
//! method; `413` for a body over the limit (decoded or not); `415` for a
//! content type that is not JSON or a content encoding that is not gzip.
//!
//! [`Endpoint`] applies all of it, plus what [`HttpOptions`] switches on:
//! CORS ([`Cors`]), the JSONP fallback on `GET`, and gzip for answers. An
//! adapter only converts its framework's types:
//!
//! ```text
//! endpoint.begin(method, tail, query, headers)
//!   Respond(reply)            → send it
//!   ReadBody(exchange, body)  → body.push(chunk)… → endpoint.run(exchange, body.finish()?, peer, spawn)
//!                               (an error: exchange.reject(error))
//!   Run(exchange, message)    → endpoint.run(exchange, message, peer, spawn)
//! ```

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
    /// The request's `Content-Encoding` is not `gzip` or `identity` (`415`).
    #[error("unsupported content encoding: send gzip or identity")]
    UnsupportedEncoding,
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
            Self::UnsupportedMediaType | Self::UnsupportedEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
        }
    }

    /// Headers the answer must carry (`Allow: POST` for `405`).
    pub fn headers(self) -> HeaderMap {
        self.reply_headers().into_header_map()
    }

    /// [`HttpReject::headers`], as a [`Reply`] holds them.
    fn reply_headers(self) -> ReplyHeaders {
        let mut h = ReplyHeaders::new();
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
            Self::UnsupportedEncoding => "unsupported content encoding: send gzip or identity\n",
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
    let essence = value.split(';').next().unwrap_or("").trim().as_bytes();
    let is = |name: &str| essence.eq_ignore_ascii_case(name.as_bytes());
    let application = b"application/";
    is("application/json")
        || is("application/json-rpc")
        || is("application/jsonrequest")
        || (essence.len() >= application.len() + 5
            && essence
                .get(..application.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(application))
            && essence
                .get(essence.len() - 5..)
                .is_some_and(|s| s.eq_ignore_ascii_case(b"+json")))
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
    check_head_of(method, &Owned(headers), max_body)
}

fn check_head_of(method: &Method, headers: &impl HeaderView, max_body: usize) -> Result<(), HttpReject> {
    if method != Method::POST {
        return Err(HttpReject::MethodNotAllowed);
    }
    if let Some(ct) = headers.get(&header::CONTENT_TYPE) {
        // The common value first, without looking further.
        let json = ct == JSON_CONTENT_TYPE.as_bytes() || visible_ascii(ct).is_some_and(is_json_content_type);
        if !json {
            return Err(HttpReject::UnsupportedMediaType);
        }
    }
    if let Some(len) = headers.get(&header::CONTENT_LENGTH) {
        // Digits between optional spaces and tabs (the only whitespace a
        // header value may hold), as `to_str` then `trim` would accept.
        let blank = |b: &u8| *b == b' ' || *b == b'\t';
        let start = len.iter().position(|b| !blank(b)).unwrap_or(len.len());
        let end = len.iter().rposition(|b| !blank(b)).map_or(start, |i| i + 1);
        let digits = len.get(start..end).unwrap_or_default();
        let declared = (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then(|| {
            digits.iter().fold(0u64, |n, d| {
                n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
            })
        });
        match declared {
            None => return Err(HttpReject::BadRequest),
            Some(n) if n > max_body as u64 => return Err(HttpReject::PayloadTooLarge),
            Some(_) => {}
        }
    }
    Ok(())
}

/// A header value as text when it is visible ASCII (or tabs), as
/// [`HeaderValue::to_str`] decides.
fn visible_ascii(value: &[u8]) -> Option<&str> {
    value
        .iter()
        .all(|&b| b == b'\t' || (32..127).contains(&b))
        .then(|| std::str::from_utf8(value).ok())
        .flatten()
}

/// A request's headers as the framework holds them. [`Endpoint::begin`]
/// reads the few it decides on by name; the whole map, in `http` 1 types,
/// is made only when a handler reads the request's headers (see
/// [`ContextBuilder::headers_with`](crate::ContextBuilder::headers_with)),
/// so that a request whose handlers never look costs no conversion.
///
/// [`HeaderMap`] is one. An adapter on a framework with other header types
/// wraps its framework's map:
///
/// ```
/// use sansrpc::http::RequestHeaders;
///
/// /// Headers as a list of pairs with lowercase names.
/// struct Pairs(Vec<(&'static str, Vec<u8>)>);
///
/// impl RequestHeaders for Pairs {
///     fn get_all<'a>(&'a self, name: &'a http::HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
///         self.0.iter().filter(move |(n, _)| *n == name.as_str()).map(|(_, v)| v.as_slice())
///     }
///     fn into_header_map(self) -> http::HeaderMap {
///         self.0
///             .into_iter()
///             .filter_map(|(n, v)| Some((http::HeaderName::from_static(n), http::HeaderValue::from_bytes(&v).ok()?)))
///             .collect()
///     }
/// }
///
/// let h = Pairs(vec![("content-type", b"application/json".to_vec())]);
/// assert_eq!(h.get(&http::header::CONTENT_TYPE), Some(&b"application/json"[..]));
/// assert_eq!(h.into_header_map()["content-type"], "application/json");
/// ```
pub trait RequestHeaders: Send + Sized + 'static {
    /// Every value of the header `name`, in order.
    fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a;

    /// Every header as an `http` 1 [`HeaderMap`] (a name or value that is
    /// not valid there is left out).
    fn into_header_map(self) -> HeaderMap;

    /// The first value of the header `name`.
    fn get<'a>(&'a self, name: &'a HeaderName) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }

    /// Hands the headers to the context of the request's calls: by
    /// default made on first read
    /// ([`ContextBuilder::headers_with`](crate::ContextBuilder::headers_with)).
    fn attach(self, context: crate::ContextBuilder) -> crate::ContextBuilder {
        context.headers_with(move || self.into_header_map())
    }
}

impl RequestHeaders for HeaderMap {
    fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        // By hash: walking a `HeaderMap`'s pairs costs more (about 210
        // instructions a lookup for three headers, against about 105).
        HeaderMap::get_all(self, name)
            .into_iter()
            .map(HeaderValue::as_bytes)
    }

    fn into_header_map(self) -> HeaderMap {
        self
    }

    /// Already `http` 1: moved in as it is.
    fn attach(self, context: crate::ContextBuilder) -> crate::ContextBuilder {
        context.headers(self)
    }
}

/// Headers an endpoint keeps only when the router's handlers or hooks may
/// read them ([`Endpoint::begin_view`]); `None` reads as no headers, and
/// gives the calls' [`Context`](crate::Context) none.
impl<H: RequestHeaders> RequestHeaders for Option<H> {
    fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.iter().flat_map(move |h| h.get_all(name))
    }

    fn into_header_map(self) -> HeaderMap {
        self.map(RequestHeaders::into_header_map).unwrap_or_default()
    }

    fn attach(self, context: crate::ContextBuilder) -> crate::ContextBuilder {
        match self {
            Some(headers) => headers.attach(context),
            None => context,
        }
    }
}

/// A request's headers, borrowed from the framework while
/// [`Endpoint::begin_view`] decides on them: for a framework whose request
/// cannot be kept (actix-web's is not `Send`), so that they are copied only
/// when a handler or hook may read them.
///
/// ```
/// use sansrpc::http::{Begin, Endpoint, HeaderView, HttpMethod};
///
/// /// Headers as the framework holds them: pairs with lowercase names.
/// struct Pairs<'a>(&'a [(&'a str, &'a [u8])]);
///
/// impl HeaderView for Pairs<'_> {
///     fn get_all<'a>(&'a self, name: &'a http::HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
///         self.0.iter().filter(move |(n, _)| *n == name.as_str()).map(|(_, v)| *v)
///     }
/// }
///
/// let mut router = sansrpc::Router::new();
/// router.method("ping", || "pong").unwrap();
/// let endpoint = Endpoint::from(router);
/// let pairs = [("content-type", &b"text/plain"[..])];
/// let begin = endpoint.begin_view(&HttpMethod::POST, "", None, &Pairs(&pairs), |_| http::HeaderMap::new());
/// let Begin::Respond(reply) = begin else { panic!() };
/// assert_eq!(reply.status, 415);
/// ```
pub trait HeaderView {
    /// Every value of the header `name`, in order.
    fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a;

    /// The first value of the header `name`.
    fn get<'a>(&'a self, name: &'a HeaderName) -> Option<&'a [u8]> {
        self.get_all(name).next()
    }
}

/// Every request header the endpoint's own HTTP decisions read
/// ([`Endpoint::begin`], [`Endpoint::begin_view`]): the content's type,
/// length and encoding, the encodings the answer may use, and the two CORS
/// headers. Handlers read others through their
/// [`Context`](crate::Context) only when
/// [`Router::reads_request_headers`](crate::Router::reads_request_headers)
/// says so; an adapter whose framework has no borrowed header lookup can
/// find these once and build a small [`HeaderView`] over them (answering
/// any other name from the request itself, should one be asked).
///
/// ```
/// use sansrpc::http::HEAD_HEADERS;
///
/// assert!(HEAD_HEADERS.contains(&http::header::CONTENT_TYPE));
/// assert!(!HEAD_HEADERS.contains(&http::header::USER_AGENT));
/// ```
pub const HEAD_HEADERS: [HeaderName; 6] = [
    header::CONTENT_TYPE,
    header::CONTENT_LENGTH,
    header::CONTENT_ENCODING,
    header::ACCEPT_ENCODING,
    header::ORIGIN,
    header::ACCESS_CONTROL_REQUEST_METHOD,
];

/// [`RequestHeaders`] read in place by [`Endpoint::begin`].
struct Owned<'h, H>(&'h H);

impl<H: RequestHeaders> HeaderView for Owned<'_, H> {
    fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.0.get_all(name)
    }

    fn get<'a>(&'a self, name: &'a HeaderName) -> Option<&'a [u8]> {
        self.0.get(name)
    }
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
    /// The body while it is one chunk handed over by [`BodyLimit::push_bytes`]
    /// (then `buf` is empty): kept without a copy.
    whole: Option<bytes::Bytes>,
    max: usize,
}

impl BodyLimit {
    /// A collector for bodies of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self {
            buf: bytes::BytesMut::new(),
            whole: None,
            max,
        }
    }

    /// Adds a chunk; over the limit the collected bytes are dropped and
    /// `PayloadTooLarge` returned (and returned again for any later chunk).
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), HttpReject> {
        self.check(chunk.len())?;
        self.unshare(chunk.len());
        self.buf.extend_from_slice(chunk);
        Ok(())
    }

    /// [`BodyLimit::push`] for a chunk the framework hands over as
    /// [`Bytes`](bytes::Bytes): a body that arrives as one chunk is kept as
    /// it is, not copied.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use sansrpc::http::{BodyLimit, HttpReject};
    ///
    /// let chunk = Bytes::from_static(b"[1,2]");
    /// let mut body = BodyLimit::new(8);
    /// body.push_bytes(chunk.clone()).unwrap();
    /// assert_eq!(body.finish().as_ptr(), chunk.as_ptr());
    ///
    /// let mut body = BodyLimit::new(8);
    /// body.push_bytes(chunk).unwrap();
    /// assert_eq!(body.push_bytes(Bytes::from_static(b"[3,4]")), Err(HttpReject::PayloadTooLarge));
    /// ```
    pub fn push_bytes(&mut self, chunk: bytes::Bytes) -> Result<(), HttpReject> {
        self.check(chunk.len())?;
        if chunk.is_empty() {
            return Ok(());
        }
        if self.buf.is_empty() && self.whole.is_none() {
            self.whole = Some(chunk);
            return Ok(());
        }
        self.unshare(chunk.len());
        self.buf.extend_from_slice(&chunk);
        Ok(())
    }

    fn check(&mut self, more: usize) -> Result<(), HttpReject> {
        if more > self.max.saturating_sub(self.len()) {
            self.buf = bytes::BytesMut::new();
            self.whole = None;
            self.max = 0;
            return Err(HttpReject::PayloadTooLarge);
        }
        Ok(())
    }

    /// Moves a kept chunk into the buffer, before `more` bytes follow it.
    fn unshare(&mut self, more: usize) {
        if let Some(whole) = self.whole.take() {
            self.buf.reserve(whole.len() + more);
            self.buf.extend_from_slice(&whole);
        }
    }

    /// Bytes collected so far.
    pub fn len(&self) -> usize {
        self.buf.len() + self.whole.as_ref().map_or(0, bytes::Bytes::len)
    }

    /// Whether nothing was collected.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The whole body.
    pub fn finish(self) -> bytes::Bytes {
        match self.whole {
            Some(whole) => whole,
            None => self.buf.freeze(),
        }
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
    json_headers(answer.is_some(), parts.headers.clone())
}

/// [`answer_headers`] on headers the caller owns.
fn json_headers(body: bool, mut h: HeaderMap) -> HeaderMap {
    h.remove(header::CONTENT_TYPE);
    if body {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    }
    h
}

/// [`json_headers`] as a [`Reply`] holds them: no map built for an answer
/// whose handlers set no header (`None`: none set any response part).
fn json_reply_headers(body: bool, handlers: Option<HeaderMap>) -> ReplyHeaders {
    let mut h = match handlers {
        Some(mut handlers) if !handlers.is_empty() => {
            handlers.remove(header::CONTENT_TYPE);
            ReplyHeaders::from(handlers)
        }
        _ => ReplyHeaders::new(),
    };
    if body {
        h.insert(header::CONTENT_TYPE, JSON_VALUE);
    }
    h
}

/// [`JSON_CONTENT_TYPE`] as a value, checked once at compile time
/// (`HeaderValue::from_static` checks its bytes on every call at run time).
const JSON_VALUE: HeaderValue = HeaderValue::from_static(JSON_CONTENT_TYPE);

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

// ---------------------------------------------------------------------------
// The endpoint: CORS, JSONP, compression, background notifications.

pub use ::http::{HeaderName, Method as HttpMethod};

/// Which origins a [`Cors`] policy lets in.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Origins {
    Any,
    List(Vec<String>),
}

/// A CORS policy (opt-in, see [`HttpOptions::cors`]): which origins may
/// call the endpoint from a browser, which request headers they may send,
/// which answer headers their scripts may read, whether cookies go along,
/// and how long a browser may cache a preflight.
///
/// A preflight `OPTIONS` from an allowed origin gets `204` with the
/// `Access-Control-Allow-*` headers; one from another origin gets `403`
/// and no CORS header. Answers to an allowed origin carry
/// `Access-Control-Allow-Origin` (`*` for [`Cors::any`] without
/// credentials, else the origin itself, with `Vary: Origin`).
///
/// ```
/// use std::time::Duration;
/// use sansrpc::http::{Cors, HeaderName};
///
/// let cors = Cors::origins(["https://app.example", "http://localhost:3000"])
///     .allow_headers([HeaderName::from_static("content-type"), HeaderName::from_static("x-token")])
///     .expose_headers([HeaderName::from_static("x-request-id")])
///     .credentials(true)
///     .max_age(Duration::from_secs(600));
/// assert!(cors.allows("https://app.example"));
/// assert!(!cors.allows("https://evil.example"));
/// assert!(Cors::any().allows("https://anyone.example"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cors {
    origins: Origins,
    allow_headers: Vec<HeaderName>,
    expose_headers: Vec<HeaderName>,
    credentials: bool,
    max_age: Option<std::time::Duration>,
}

impl Cors {
    fn with(origins: Origins) -> Self {
        Self {
            origins,
            allow_headers: vec![header::CONTENT_TYPE],
            expose_headers: Vec::new(),
            credentials: false,
            max_age: None,
        }
    }

    /// Any origin may call. With [`Cors::credentials`] the answer names the
    /// caller's origin (browsers refuse `*` with credentials), else `*`.
    pub fn any() -> Self {
        Self::with(Origins::Any)
    }

    /// Only these origins (`scheme://host[:port]`, compared without regard
    /// to ASCII case) may call.
    pub fn origins<I>(origins: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::with(Origins::List(
            origins
                .into_iter()
                .map(|o| o.into().to_ascii_lowercase())
                .collect(),
        ))
    }

    /// The request headers a page may send (`Access-Control-Allow-Headers`
    /// of a preflight). Default: `content-type`, which a JSON `POST` needs.
    pub fn allow_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.allow_headers = names.into_iter().collect();
        self
    }

    /// The answer headers a page's script may read beyond the safelisted
    /// ones (`Access-Control-Expose-Headers`). Default: none.
    pub fn expose_headers(mut self, names: impl IntoIterator<Item = HeaderName>) -> Self {
        self.expose_headers = names.into_iter().collect();
        self
    }

    /// Whether pages may send cookies and read answers to credentialed
    /// requests (`Access-Control-Allow-Credentials: true`). Default: no.
    pub fn credentials(mut self, allow: bool) -> Self {
        self.credentials = allow;
        self
    }

    /// How long a browser may cache a preflight (`Access-Control-Max-Age`,
    /// whole seconds). Default: unset (the browser's own default).
    pub fn max_age(mut self, age: std::time::Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Whether `origin` (an `Origin` header's value) may call.
    pub fn allows(&self, origin: &str) -> bool {
        match &self.origins {
            Origins::Any => true,
            Origins::List(list) => list.iter().any(|o| o.eq_ignore_ascii_case(origin)),
        }
    }

    /// Whether answers depend on the request's `Origin` (then they say
    /// `Vary: Origin`).
    fn varies(&self) -> bool {
        self.origins != Origins::Any || self.credentials
    }

    /// The `Access-Control-Allow-Origin` value for an allowed `origin`.
    fn allow_origin(&self, origin: &HeaderValue) -> HeaderValue {
        if self.varies() {
            origin.clone()
        } else {
            HeaderValue::from_static("*")
        }
    }
}

fn join_names(names: &[HeaderName]) -> Option<HeaderValue> {
    let joined = names
        .iter()
        .map(HeaderName::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    // Header names are tokens, so the joined list is a valid value.
    (!joined.is_empty())
        .then(|| HeaderValue::from_str(&joined).ok())
        .flatten()
}

/// How an HTTP endpoint behaves beyond plain JSON-RPC over `POST`: CORS,
/// the JSONP fallback on `GET`, and compression of answers. The same value
/// configures `sansrpc-actix` and `sansrpc-warp`, which then answer with
/// the same bytes.
///
/// ```
/// use sansrpc::http::{Cors, HttpOptions};
///
/// let options = HttpOptions::new()
///     .cors(Cors::any())
///     .jsonp(true)
///     .compression(true)
///     .compression_threshold(512);
/// assert!(options.jsonp_enabled());
/// assert_eq!(HttpOptions::default().compression_threshold_bytes(), 1024);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpOptions {
    cors: Option<Cors>,
    jsonp: bool,
    compression: bool,
    threshold: usize,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpOptions {
    /// Plain JSON-RPC over `POST`: no CORS, no JSONP, no compression unless
    /// a handler asks for it ([`Context::set_compression`](crate::Context::set_compression)).
    pub fn new() -> Self {
        Self {
            cors: None,
            jsonp: false,
            compression: false,
            threshold: 1024,
        }
    }

    /// Answers browsers of other origins by this policy (and preflight
    /// `OPTIONS` requests; `405` answers then list `OPTIONS` in `Allow`).
    pub fn cors(mut self, cors: Cors) -> Self {
        self.cors = Some(cors);
        self
    }

    /// The JSONP fallback: `GET <endpoint>/<method>?jsonp=<callback>&name=value...`
    /// calls `<method>` with the query's pairs as named string params (or
    /// with `params=<JSON>` as its params) and answers
    /// `<callback>(<the JSON-RPC response>);` as `application/javascript`.
    ///
    /// The call's id is the callback name. The callback must match
    /// `^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$`; the query string is bounded by
    /// [`Limits::max_message_bytes`](crate::Limits) (`414` past it); a bad
    /// query gets `400` with a plain explanation that repeats none of it.
    pub fn jsonp(mut self, enable: bool) -> Self {
        self.jsonp = enable;
        self
    }

    /// The server-wide switch: gzip answers longer than the threshold when
    /// the request's `Accept-Encoding` allows it. A handler's
    /// [`Context::set_compression`](crate::Context::set_compression) overrides it for its request. Default:
    /// off.
    pub fn compression(mut self, enable: bool) -> Self {
        self.compression = enable;
        self
    }

    /// Answers of at most this many bytes are never compressed. Default:
    /// 1024.
    pub fn compression_threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }

    /// The CORS policy, if any.
    pub fn cors_policy(&self) -> Option<&Cors> {
        self.cors.as_ref()
    }

    /// Whether the JSONP fallback is on.
    pub fn jsonp_enabled(&self) -> bool {
        self.jsonp
    }

    /// Whether answers are compressed unless a handler says otherwise.
    pub fn compression_enabled(&self) -> bool {
        self.compression
    }

    /// The compression threshold in bytes.
    pub fn compression_threshold_bytes(&self) -> usize {
        self.threshold
    }
}

/// How a request's `Accept-Encoding` ranks gzip: `true` when gzip (or
/// `x-gzip`, or `*`) has a non-zero q-value at least that of an explicit
/// `identity`. Without the header, or with gzip refused (`gzip;q=0`, or
/// not named), the answer goes uncompressed: identity is the fallback.
///
/// ```
/// use sansrpc::http::accepts_gzip;
///
/// assert!(accepts_gzip("gzip, deflate, br"));
/// assert!(accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1"));
/// assert!(accepts_gzip("*"));
/// assert!(!accepts_gzip("gzip;q=0"));
/// assert!(!accepts_gzip("deflate"));
/// assert!(!accepts_gzip("gzip;q=0.5, identity"));
/// assert!(!accepts_gzip("*;q=1, gzip;q=0"));
/// ```
pub fn accepts_gzip(accept_encoding: &str) -> bool {
    let mut gzip = None;
    let mut star = None;
    let mut identity = None;
    for item in accept_encoding.split(',') {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1000;
        for param in parts {
            if let Some((name, value)) = param.split_once('=') {
                if name.trim().eq_ignore_ascii_case("q") {
                    q = parse_qvalue(value.trim()).unwrap_or(0);
                }
            }
        }
        let slot = match coding.as_str() {
            "gzip" | "x-gzip" => &mut gzip,
            "*" => &mut star,
            "identity" => &mut identity,
            _ => continue,
        };
        // Of repeated entries the best one counts.
        *slot = Some(slot.map_or(q, |old: u16| old.max(q)));
    }
    let gzip = gzip.or(star).unwrap_or(0);
    gzip > 0 && identity.is_none_or(|id| gzip >= id)
}

/// A q-value (RFC 9110 §12.4.2) in thousandths; `None` if malformed.
fn parse_qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_value = format!("{frac:0<3}").parse::<u16>().ok()?;
    match int {
        "0" => Some(frac_value),
        "1" if frac_value == 0 => Some(1000),
        _ => None,
    }
}

/// Whether `name` is a safe JSONP callback:
/// `^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$`.
///
/// ```
/// use sansrpc::http::is_valid_callback;
///
/// assert!(is_valid_callback("jsonpCallback_129620"));
/// assert!(is_valid_callback("$.handlers.cb"));
/// assert!(!is_valid_callback("alert(1)//"));
/// assert!(!is_valid_callback("1abc"));
/// assert!(!is_valid_callback(""));
/// assert!(!is_valid_callback(&"a".repeat(129)));
/// ```
pub fn is_valid_callback(name: &str) -> bool {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b'$');
    first_ok
        && name.len() <= 128
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b == b'.')
}

/// A refusal of the endpoint, with the body and extra headers it needs.
fn plain(status: StatusCode, body: &'static str) -> Reply {
    let mut headers = ReplyHeaders::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Reply {
        status,
        headers,
        body: bytes::Bytes::from_static(body.as_bytes()),
    }
}

/// Why a JSONP `GET` is refused (`400`, `404` or `414`), with a text that
/// repeats nothing of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum JsonpReject {
    NoCallback,
    BadCallback,
    BadQuery,
    ParamsNotJson,
    ParamsAndPairs,
    UriTooLong,
    NotFound,
}

impl JsonpReject {
    fn reply(self) -> Reply {
        match self {
            Self::NoCallback => plain(
                StatusCode::BAD_REQUEST,
                "bad request: a JSONP call needs a callback: ?jsonp=<name>\n",
            ),
            Self::BadCallback => plain(
                StatusCode::BAD_REQUEST,
                "bad request: the jsonp callback must match ^[A-Za-z_$][A-Za-z0-9_$.]{0,127}$\n",
            ),
            Self::BadQuery => plain(
                StatusCode::BAD_REQUEST,
                "bad request: the query string is not UTF-8 name=value pairs with each name once\n",
            ),
            Self::ParamsNotJson => plain(
                StatusCode::BAD_REQUEST,
                "bad request: the params value is not one JSON value\n",
            ),
            Self::ParamsAndPairs => plain(
                StatusCode::BAD_REQUEST,
                "bad request: send either params=<JSON> or name=value pairs, not both\n",
            ),
            Self::UriTooLong => plain(StatusCode::URI_TOO_LONG, "uri too long\n"),
            Self::NotFound => plain(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let replaced;
    let s = if plus_is_space && s.contains('+') {
        replaced = s.replace('+', " ");
        &replaced
    } else {
        s
    };
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// Builds the JSON-RPC request of a JSONP `GET`, and its callback.
///
/// A router speaking only JSON-RPC 1.0 gets a 1.0 request (no `jsonrpc`
/// member); the others a 2.0 one.
fn jsonp_request(
    method_segment: &str,
    query: &str,
    max: usize,
    version: crate::Version,
) -> Result<(String, Vec<u8>), JsonpReject> {
    if method_segment.contains('/') {
        return Err(JsonpReject::NotFound);
    }
    if method_segment.len().saturating_add(query.len()) > max {
        return Err(JsonpReject::UriTooLong);
    }
    let method = percent_decode(method_segment, false).ok_or(JsonpReject::BadQuery)?;
    let mut callback = None;
    let mut params_json = None;
    let mut pairs = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode(name, true).ok_or(JsonpReject::BadQuery)?;
        let value = percent_decode(value, true).ok_or(JsonpReject::BadQuery)?;
        let duplicate = match name.as_str() {
            "jsonp" => callback.replace(value).is_some(),
            "params" => params_json.replace(value).is_some(),
            _ => pairs.insert(name, serde_json::Value::String(value)).is_some(),
        };
        if duplicate {
            return Err(JsonpReject::BadQuery);
        }
    }
    let callback = callback.ok_or(JsonpReject::NoCallback)?;
    if !is_valid_callback(&callback) {
        return Err(JsonpReject::BadCallback);
    }
    let params = match params_json {
        Some(_) if !pairs.is_empty() => return Err(JsonpReject::ParamsAndPairs),
        Some(json) => {
            // Exactly one JSON value, so splicing it in cannot add members.
            serde_json::from_str::<&serde_json::value::RawValue>(&json)
                .map_err(|_| JsonpReject::ParamsNotJson)?;
            Some(json)
        }
        None if pairs.is_empty() => None,
        None => Some(serde_json::Value::Object(pairs).to_string()),
    };
    let quoted = |s: &str| serde_json::Value::String(s.to_owned()).to_string();
    let member = if version == crate::Version::V1 {
        ""
    } else {
        r#""jsonrpc":"2.0","#
    };
    let mut message = format!(r#"{{{member}"method":{}"#, quoted(&method));
    if let Some(params) = params {
        message.push_str(r#","params":"#);
        message.push_str(&params);
    }
    message.push_str(&format!(r#","id":{}}}"#, quoted(&callback)));
    Ok((callback, message.into_bytes()))
}

/// An HTTP answer, as the adapters send it: status, headers, body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// The status.
    pub status: StatusCode,
    /// Every header to send (the framework adds `Content-Length`, `Date`).
    pub headers: ReplyHeaders,
    /// The body, already encoded.
    pub body: bytes::Bytes,
}

/// The headers of a [`Reply`]: `(name, value)` pairs in the order an `http`
/// 1 [`HeaderMap`] given the same `insert` and `append` calls would list
/// them (the values of a name together, in the order they were
/// added), without its hash table: an adapter whose framework has header
/// types of its own copies the pairs over one by one, and
/// [`ReplyHeaders::into_header_map`] gives the same map as before.
///
/// ```
/// use http::header::{CONTENT_TYPE, VARY};
/// use http::HeaderValue;
/// use sansrpc::http::ReplyHeaders;
///
/// let mut h = ReplyHeaders::new();
/// h.insert(VARY, HeaderValue::from_static("Origin"));
/// h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
/// h.append(VARY, HeaderValue::from_static("Accept-Encoding"));
/// let pairs: Vec<_> = h.iter().map(|(n, v)| (n.as_str(), v.to_str().unwrap())).collect();
/// assert_eq!(
///     pairs,
///     [("vary", "Origin"), ("vary", "Accept-Encoding"), ("content-type", "application/json")]
/// );
/// assert_eq!(h.get("Content-Type").unwrap(), "application/json");
/// let map = h.into_header_map();
/// assert_eq!(map.get_all(VARY).iter().count(), 2);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReplyHeaders {
    /// The first pair, kept inline: most answers carry one header.
    first: Option<(HeaderName, HeaderValue)>,
    /// The pairs after it, grouped by name with it: the values of a name
    /// are next to each other.
    more: Vec<(HeaderName, HeaderValue)>,
}

/// A pair as [`ReplyHeaders`] lists it.
type PairRef<'a> = (&'a HeaderName, &'a HeaderValue);

fn pair_ref(pair: &(HeaderName, HeaderValue)) -> PairRef<'_> {
    (&pair.0, &pair.1)
}

impl ReplyHeaders {
    /// No headers (allocates nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// How many values there are.
    pub fn len(&self) -> usize {
        usize::from(self.first.is_some()) + self.more.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every `(name, value)`, the values of a name together.
    pub fn iter(&self) -> impl Iterator<Item = (&HeaderName, &HeaderValue)> {
        self.into_iter()
    }

    /// The first value of `name` (any case).
    pub fn get(&self, name: impl AsRef<str>) -> Option<&HeaderValue> {
        let name = name.as_ref();
        self.iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Whether `name` (any case) has a value.
    pub fn contains_key(&self, name: impl AsRef<str>) -> bool {
        self.get(name).is_some()
    }

    /// Where the values of `name` are, as positions in [`ReplyHeaders::iter`].
    fn group(&self, name: &HeaderName) -> Option<std::ops::Range<usize>> {
        let start = self.iter().position(|(n, _)| n == name)?;
        let len = self.iter().skip(start).take_while(|(n, _)| *n == name).count();
        Some(start..start + len)
    }

    /// Every pair in one vector (the first one moved into it), for an
    /// edit inside the list.
    fn all(&mut self) -> &mut Vec<(HeaderName, HeaderValue)> {
        if let Some(first) = self.first.take() {
            self.more.insert(0, first);
        }
        &mut self.more
    }

    /// Adds a pair after every other.
    fn push(&mut self, pair: (HeaderName, HeaderValue)) {
        if self.first.is_none() && self.more.is_empty() {
            self.first = Some(pair);
        } else {
            self.more.push(pair);
        }
    }

    /// Sets `name` to this one value, where its values were (as
    /// [`HeaderMap::insert`]), or after every other name.
    pub fn insert(&mut self, name: HeaderName, value: HeaderValue) {
        if self.is_empty() {
            self.first = Some((name, value));
            return;
        }
        match self.group(&name) {
            Some(group) => {
                let all = self.all();
                all.drain(group.start + 1..group.end);
                if let Some(slot) = all.get_mut(group.start) {
                    slot.1 = value;
                }
            }
            None => self.push((name, value)),
        }
    }

    /// Adds a value to `name`, after its others (as [`HeaderMap::append`]).
    pub fn append(&mut self, name: HeaderName, value: HeaderValue) {
        match self.group(&name) {
            Some(group) => self.all().insert(group.end, (name, value)),
            None => self.push((name, value)),
        }
    }

    /// The headers as an `http` 1 [`HeaderMap`], in the same order.
    pub fn into_header_map(self) -> HeaderMap {
        // Grown on the first pair, as `HeaderMap::new` and `insert` do:
        // `with_capacity` costs more for the one header most answers have.
        self.into_header_map_reusing(HeaderMap::new())
    }

    /// [`Self::into_header_map`], written into `map` (emptied first; its
    /// memory is kept): for an adapter that holds a map it no longer needs,
    /// such as a copy of the request's headers, so that the answer's map
    /// costs no allocation.
    ///
    /// ```
    /// use http::header::{CONTENT_TYPE, VARY};
    /// use http::{HeaderMap, HeaderValue};
    /// use sansrpc::http::ReplyHeaders;
    ///
    /// let mut request = HeaderMap::new();
    /// request.insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    /// let mut h = ReplyHeaders::new();
    /// h.insert(VARY, HeaderValue::from_static("Origin"));
    /// let map = h.into_header_map_reusing(request);
    /// assert_eq!(map.len(), 1);
    /// assert_eq!(map[VARY], "Origin");
    /// ```
    pub fn into_header_map_reusing(self, mut map: HeaderMap) -> HeaderMap {
        map.clear();
        let Self { first, more } = self;
        if more.is_empty() {
            if let Some((name, value)) = first {
                map.insert(name, value);
            }
            return map;
        }
        for (name, value) in first.into_iter().chain(more) {
            map.append(name, value);
        }
        map
    }
}

impl PartialEq for ReplyHeaders {
    /// The same pairs in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for ReplyHeaders {}

impl From<HeaderMap> for ReplyHeaders {
    /// The pairs of `map`, in its order.
    fn from(map: HeaderMap) -> Self {
        let mut headers = Self::new();
        let mut name = None;
        for (n, value) in map {
            if let Some(n) = n {
                name = Some(n);
            }
            if let Some(n) = &name {
                headers.push((n.clone(), value));
            }
        }
        headers
    }
}

impl<'a> IntoIterator for &'a ReplyHeaders {
    type Item = PairRef<'a>;
    type IntoIter = std::iter::Map<
        std::iter::Chain<
            std::option::Iter<'a, (HeaderName, HeaderValue)>,
            std::slice::Iter<'a, (HeaderName, HeaderValue)>,
        >,
        fn(&'a (HeaderName, HeaderValue)) -> PairRef<'a>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first
            .iter()
            .chain(self.more.iter())
            .map(pair_ref as fn(&'a (HeaderName, HeaderValue)) -> PairRef<'a>)
    }
}

impl IntoIterator for ReplyHeaders {
    type Item = (HeaderName, HeaderValue);
    type IntoIter = std::iter::Chain<
        std::option::IntoIter<(HeaderName, HeaderValue)>,
        std::vec::IntoIter<(HeaderName, HeaderValue)>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.first.into_iter().chain(self.more)
    }
}

/// Counts the notifications an endpoint runs in the background, up to
/// [`Limits::max_background_notifications`](crate::Limits).
///
/// ```
/// use sansrpc::http::Background;
///
/// let background = Background::new(1);
/// let held = background.try_hold(Box::pin(async {})).ok().unwrap();
/// assert_eq!(background.running(), 1);
/// // Full: the next one is handed back, to run inside its request.
/// assert!(background.try_hold(Box::pin(async {})).is_err());
/// drop(held); // finished, or dropped unfinished: the slot is free again
/// assert_eq!(background.running(), 0);
/// ```
#[derive(Clone, Debug)]
pub struct Background {
    running: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    max: usize,
}

/// Frees a background slot when the notification holding it ends.
struct Slot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

impl Background {
    /// A counter allowing `max` notifications at once.
    pub fn new(max: usize) -> Self {
        Self {
            running: std::sync::Arc::default(),
            max,
        }
    }

    /// How many notifications run in the background now.
    pub fn running(&self) -> usize {
        self.running.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The bound.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Takes a slot for `run`: `Ok` with a future that holds the slot until
    /// it ends (spawn it), or `Err(run)` when every slot is taken.
    #[allow(clippy::result_large_err)]
    pub fn try_hold(&self, run: crate::BoxFuture<()>) -> Result<crate::BoxFuture<()>, crate::BoxFuture<()>> {
        use std::sync::atomic::Ordering;
        let taken = self
            .running
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < self.max).then_some(n + 1)
            });
        if taken.is_err() {
            return Err(run);
        }
        let slot = Slot(self.running.clone());
        Ok(Box::pin(async move {
            run.await;
            drop(slot);
        }))
    }
}

/// Reads a request body within the message limit, decoding
/// `Content-Encoding: gzip` on the fly: both the bytes read and the bytes
/// they decode to are bounded by the limit, so a gzip bomb is refused
/// (`413`) after reading no more than the limit.
///
/// ```
/// use std::io::Write;
/// use sansrpc::http::{BodyReader, HttpReject};
///
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
/// gz.write_all(&[b' '; 100_000]).unwrap();
/// let bomb = gz.finish().unwrap();
/// assert!(bomb.len() < 1024);
///
/// let mut body = BodyReader::new(1024, true);
/// assert_eq!(body.push(&bomb), Err(HttpReject::PayloadTooLarge));
/// ```
#[derive(Debug)]
pub struct BodyReader {
    max: usize,
    read: usize,
    body: Decoding,
}

#[derive(Debug)]
enum Decoding {
    Identity(BodyLimit),
    Gzip(Box<flate2::write::GzDecoder<Decoded>>),
}

/// Where decoded bytes go: a [`BodyLimit`] that remembers an overflow (the
/// decoder reports it as an I/O error).
#[derive(Debug)]
struct Decoded {
    body: BodyLimit,
    over: bool,
}

impl std::io::Write for Decoded {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.body.push(buf).is_err() {
            self.over = true;
            return Err(std::io::Error::other("over the limit"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl BodyReader {
    /// A reader for bodies of at most `max` bytes (before and after
    /// decoding), gzip-decoding if `gzip`.
    pub fn new(max: usize, gzip: bool) -> Self {
        let body = if gzip {
            Decoding::Gzip(Box::new(flate2::write::GzDecoder::new(Decoded {
                body: BodyLimit::new(max),
                over: false,
            })))
        } else {
            Decoding::Identity(BodyLimit::new(max))
        };
        Self { max, read: 0, body }
    }

    /// Adds a chunk as read from the socket: `PayloadTooLarge` over the
    /// limit, `BadRequest` for a broken gzip stream.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), HttpReject> {
        if chunk.len() > self.max.saturating_sub(self.read) {
            // Nothing more is kept or decoded.
            self.max = 0;
            return Err(HttpReject::PayloadTooLarge);
        }
        self.read += chunk.len();
        match &mut self.body {
            Decoding::Identity(body) => body.push(chunk),
            Decoding::Gzip(decoder) => {
                use std::io::Write;
                let result = decoder.write_all(chunk);
                result.map_err(|_| gzip_error(decoder.get_ref()))
            }
        }
    }

    /// [`BodyReader::push`] for a chunk the framework hands over as
    /// [`Bytes`](bytes::Bytes): an identity body that arrives as one chunk
    /// is kept as it is, not copied.
    pub fn push_bytes(&mut self, chunk: bytes::Bytes) -> Result<(), HttpReject> {
        match &mut self.body {
            Decoding::Identity(body) => {
                if chunk.len() > self.max.saturating_sub(self.read) {
                    self.max = 0;
                    return Err(HttpReject::PayloadTooLarge);
                }
                self.read += chunk.len();
                body.push_bytes(chunk)
            }
            Decoding::Gzip(_) => self.push(&chunk),
        }
    }

    /// Bytes read so far (before decoding).
    pub fn bytes_read(&self) -> usize {
        self.read
    }

    /// The whole (decoded) body; `BadRequest` for a gzip stream cut short.
    pub fn finish(self) -> Result<bytes::Bytes, HttpReject> {
        match self.body {
            Decoding::Identity(body) => Ok(body.finish()),
            Decoding::Gzip(mut decoder) => {
                if decoder.try_finish().is_err() {
                    return Err(gzip_error(decoder.get_ref()));
                }
                let decoded = decoder.finish().map_err(|_| HttpReject::BadRequest)?;
                Ok(decoded.body.finish())
            }
        }
    }
}

fn gzip_error(decoded: &Decoded) -> HttpReject {
    if decoded.over {
        HttpReject::PayloadTooLarge
    } else {
        HttpReject::BadRequest
    }
}

/// Gzips `body`; `None` if the encoder failed (then send it as is).
fn gzip(body: &[u8]) -> Option<bytes::Bytes> {
    use std::io::Write;
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::default());
    encoder.write_all(body).ok()?;
    encoder.finish().ok().map(bytes::Bytes::from)
}

/// What an endpoint decided from a request's head; `H` is how the
/// adapter hands over the request's headers ([`RequestHeaders`]).
#[must_use = "the request must be answered"]
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made once per request and moved at once
pub enum Begin<H = HeaderMap> {
    /// Answer with this now (a preflight, a refusal); read no body.
    Respond(Reply),
    /// Read the body into the reader, then call [`Endpoint::run`] with what
    /// it returns, or [`Exchange::reject`] with its error.
    ReadBody(Exchange<H>, BodyReader),
    /// Run this message at once (a JSONP call: there is no body to read).
    Run(Exchange<H>, bytes::Bytes),
}

/// One request between its head and its answer: its headers (for the
/// calls' [`Context`](crate::Context)) and what the answer's headers
/// depend on.
#[derive(Debug)]
pub struct Exchange<H = HeaderMap> {
    headers: H,
    answer: Answering,
}

/// What an answer's headers depend on.
#[derive(Debug)]
struct Answering {
    /// CORS headers for every answer (`Vary: Origin` included), in the
    /// order they are sent: a list, not a map, so that the request's
    /// future stays small (two names at most, each once).
    cors: Vec<(HeaderName, HeaderValue)>,
    vary_origin: bool,
    accept_gzip: bool,
    jsonp: Option<String>,
}

impl<H> Exchange<H> {
    /// The refusal for a body that could not be read, with the CORS
    /// headers the request earned.
    pub fn reject(&self, reject: HttpReject) -> Reply {
        self.answer.reject(reject)
    }
}

impl Answering {
    fn reject(&self, reject: HttpReject) -> Reply {
        let mut reply = Reply {
            status: reject.status(),
            headers: reject.reply_headers(),
            body: bytes::Bytes::from_static(reject.body().as_bytes()),
        };
        self.finish_headers(&mut reply.headers, false);
        reply
    }

    fn finish_headers(&self, headers: &mut ReplyHeaders, vary_encoding: bool) {
        for (name, value) in &self.cors {
            headers.append(name.clone(), value.clone());
        }
        let vary = match (self.vary_origin, vary_encoding) {
            (true, true) => "Origin, Accept-Encoding",
            (true, false) => "Origin",
            (false, true) => "Accept-Encoding",
            (false, false) => return,
        };
        headers.append(header::VARY, HeaderValue::from_static(vary));
    }
}

/// What [`Endpoint::begin`] decided, before it knows which headers it keeps.
enum Decided {
    /// Answer with this now.
    Respond(Reply),
    /// Answer with this `413` now, and tell the hooks.
    Oversize(Reply),
    /// Read the body.
    ReadBody(Answering, BodyReader),
    /// Run this JSONP message.
    Run(Answering, bytes::Bytes),
}

/// An HTTP JSON-RPC endpoint: a router, its [`HttpOptions`] and the
/// counter of its background notifications. Every HTTP decision is made
/// here; an adapter converts its framework's request into
/// [`Endpoint::begin`]'s arguments, reads the body if asked, calls
/// [`Endpoint::run`] and converts the [`Reply`] back.
///
/// Cheap to clone; clones share the router and the background counter.
///
/// ```
/// use sansrpc::http::{Begin, Endpoint, HttpMethod, HttpOptions, Cors};
///
/// let mut router = sansrpc::Router::new();
/// router.method("echo", |sansrpc::Params(p): sansrpc::Params<serde_json::Value>| p).unwrap();
/// let endpoint = Endpoint::with_options(router, HttpOptions::new().jsonp(true).cors(Cors::any()));
///
/// let begin = endpoint.begin(&HttpMethod::GET, "echo", Some("data=hi&jsonp=cb"), http::HeaderMap::new());
/// let Begin::Run(exchange, message) = begin else { panic!() };
/// let reply = futures_executor::block_on(endpoint.run(exchange, message, None, |_| {}));
/// assert_eq!(reply.status, 200);
/// assert_eq!(reply.headers.get("content-type").unwrap(), "application/javascript");
/// assert_eq!(reply.body, r#"cb({"jsonrpc":"2.0","result":{"data":"hi"},"id":"cb"});"#);
/// ```
#[derive(Debug)]
pub struct Endpoint<S = ()> {
    router: std::sync::Arc<crate::Router<S>>,
    options: std::sync::Arc<HttpOptions>,
    background: Background,
}

impl<S> Clone for Endpoint<S> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            options: self.options.clone(),
            background: self.background.clone(),
        }
    }
}

impl<S: Clone + Send + Sync + 'static> From<crate::Router<S>> for Endpoint<S> {
    fn from(router: crate::Router<S>) -> Self {
        Self::new(router)
    }
}

impl<S: Clone + Send + Sync + 'static> From<std::sync::Arc<crate::Router<S>>> for Endpoint<S> {
    fn from(router: std::sync::Arc<crate::Router<S>>) -> Self {
        Self::new(router)
    }
}

impl<S: Clone + Send + Sync + 'static> Endpoint<S> {
    /// An endpoint with the default options (plain JSON-RPC over `POST`).
    pub fn new(router: impl Into<std::sync::Arc<crate::Router<S>>>) -> Self {
        Self::with_options(router, HttpOptions::default())
    }

    /// An endpoint with these options.
    pub fn with_options(router: impl Into<std::sync::Arc<crate::Router<S>>>, options: HttpOptions) -> Self {
        let router = router.into();
        let background = Background::new(router.limits().max_background_notifications);
        Self {
            router,
            options: std::sync::Arc::new(options),
            background,
        }
    }

    /// The router.
    pub fn router(&self) -> &crate::Router<S> {
        &self.router
    }

    /// The options.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// The counter of notifications running in the background.
    pub fn background(&self) -> &Background {
        &self.background
    }

    /// Decides what to do with a request from its head: `method`, `tail`
    /// (the raw, still percent-encoded path below the endpoint: `""` for
    /// the endpoint itself, `"echo"` for a JSONP call to `echo`), the raw
    /// query string and the headers.
    pub fn begin<H: RequestHeaders>(
        &self,
        method: &Method,
        tail: &str,
        query: Option<&str>,
        headers: H,
    ) -> Begin<H> {
        let decided = self.decide(method, tail, query, &Owned(&headers));
        self.begun(decided, headers)
    }

    /// [`Endpoint::begin`] on headers borrowed from the framework
    /// ([`HeaderView`]): `keep` makes the copy the calls'
    /// [`Context`](crate::Context) gets, called only when the request is to
    /// be run and the router's handlers or hooks may read headers
    /// ([`Router::reads_request_headers`](crate::Router::reads_request_headers));
    /// otherwise the exchange holds `None` and the calls see no headers.
    pub fn begin_view<V: HeaderView, H: RequestHeaders>(
        &self,
        method: &Method,
        tail: &str,
        query: Option<&str>,
        view: &V,
        keep: impl FnOnce(&V) -> H,
    ) -> Begin<Option<H>> {
        let decided = self.decide(method, tail, query, view);
        let kept = match decided {
            Decided::Respond(_) => None,
            _ => self.router.reads_request_headers().then(|| keep(view)),
        };
        self.begun(decided, kept)
    }

    /// The [`Begin`] of a decision, with the headers it keeps.
    fn begun<H: RequestHeaders>(&self, decided: Decided, headers: H) -> Begin<H> {
        match decided {
            Decided::Respond(reply) => Begin::Respond(reply),
            Decided::Oversize(reply) => {
                self.tell_oversize(headers, None);
                Begin::Respond(reply)
            }
            Decided::ReadBody(answer, reader) => Begin::ReadBody(Exchange { headers, answer }, reader),
            Decided::Run(answer, message) => Begin::Run(Exchange { headers, answer }, message),
        }
    }

    /// What [`Endpoint::begin`] decides from the head.
    fn decide(&self, method: &Method, tail: &str, query: Option<&str>, headers: &impl HeaderView) -> Decided {
        let cors_policy = self.options.cors.as_ref();
        // Only a CORS policy looks at the origin.
        let origin = cors_policy
            .and_then(|_| headers.get(&header::ORIGIN))
            .and_then(|o| HeaderValue::from_bytes(o).ok());
        let allowed_origin = match (cors_policy, &origin) {
            (Some(cors), Some(o)) => o.to_str().is_ok_and(|o| cors.allows(o)),
            _ => false,
        };
        let mut exchange = Answering {
            cors: Vec::new(),
            vary_origin: cors_policy.is_some_and(Cors::varies),
            accept_gzip: headers
                .get(&header::ACCEPT_ENCODING)
                .and_then(visible_ascii)
                .is_some_and(accepts_gzip),
            jsonp: None,
        };
        if let (Some(cors), Some(origin), true) = (cors_policy, &origin, allowed_origin) {
            exchange
                .cors
                .push((header::ACCESS_CONTROL_ALLOW_ORIGIN, cors.allow_origin(origin)));
            if cors.credentials {
                exchange.cors.push((
                    header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                    HeaderValue::from_static("true"),
                ));
            }
        }
        let refuse = |exchange: &Answering, mut reply: Reply| {
            exchange.finish_headers(&mut reply.headers, false);
            Decided::Respond(reply)
        };

        let jsonp_path = !tail.is_empty();
        if jsonp_path && !self.options.jsonp {
            return refuse(&exchange, JsonpReject::NotFound.reply());
        }
        let allow = match (jsonp_path, cors_policy.is_some()) {
            (false, false) => "POST",
            (false, true) => "POST, OPTIONS",
            (true, false) => "GET",
            (true, true) => "GET, OPTIONS",
        };
        if *method == Method::OPTIONS {
            if let Some(cors) = cors_policy {
                return Decided::Respond(self.options_reply(&exchange, cors, allow, headers, allowed_origin));
            }
        }
        let wanted = if jsonp_path { Method::GET } else { Method::POST };
        if *method != wanted {
            let mut reply = exchange.reject(HttpReject::MethodNotAllowed);
            reply
                .headers
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            return Decided::Respond(reply);
        }
        let max = self.router.limits().max_message_bytes;
        if jsonp_path {
            return match jsonp_request(tail, query.unwrap_or(""), max, self.router.limits().version) {
                Ok((callback, message)) => {
                    exchange.jsonp = Some(callback);
                    Decided::Run(exchange, message.into())
                }
                Err(reject) => refuse(&exchange, reject.reply()),
            };
        }
        if let Err(reject) = check_head_of(method, headers, max) {
            let mut reply = exchange.reject(reject);
            if reject == HttpReject::PayloadTooLarge {
                reply.body = self.too_large_text();
                return Decided::Oversize(reply);
            }
            return Decided::Respond(reply);
        }
        let gzip = match content_encoding(headers) {
            Ok(gzip) => gzip,
            Err(reject) => return Decided::Respond(exchange.reject(reject)),
        };
        Decided::ReadBody(exchange, BodyReader::new(max, gzip))
    }

    fn options_reply(
        &self,
        exchange: &Answering,
        cors: &Cors,
        allow: &'static str,
        headers: &impl HeaderView,
        allowed_origin: bool,
    ) -> Reply {
        let preflight = headers.get(&header::ORIGIN).is_some()
            && headers.get(&header::ACCESS_CONTROL_REQUEST_METHOD).is_some();
        if preflight && !allowed_origin {
            let mut reply = plain(
                StatusCode::FORBIDDEN,
                "forbidden: this origin may not call the endpoint\n",
            );
            exchange.finish_headers(&mut reply.headers, false);
            return reply;
        }
        let mut reply = Reply {
            status: StatusCode::NO_CONTENT,
            headers: ReplyHeaders::new(),
            body: bytes::Bytes::new(),
        };
        if !preflight {
            // Not a browser asking: say what the endpoint takes.
            reply
                .headers
                .insert(header::ALLOW, HeaderValue::from_static(allow));
            exchange.finish_headers(&mut reply.headers, false);
            return reply;
        }
        let methods = if self.options.jsonp { "POST, GET" } else { "POST" };
        let h = &mut reply.headers;
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static(methods),
        );
        if let Some(v) = join_names(&cors.allow_headers) {
            h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, v);
        }
        if let Some(age) = cors.max_age {
            h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(age.as_secs()));
        }
        exchange.finish_headers(h, false);
        reply
    }

    /// The refusal for a body that could not be read ([`Exchange::reject`]);
    /// a body over the limit is answered with a text naming the limit, and
    /// told to the router's hooks
    /// ([`crate::Router::rejected`], kind
    /// [`RejectionKind::Oversize`](crate::RejectionKind::Oversize)), so
    /// that [`crate::Stats`] counts it. Adapters call this rather than
    /// `Exchange::reject` once they have read the head.
    pub fn reject<H: RequestHeaders>(
        &self,
        exchange: Exchange<H>,
        reject: HttpReject,
        peer: Option<std::net::SocketAddr>,
    ) -> Reply {
        let mut reply = exchange.reject(reject);
        if reject == HttpReject::PayloadTooLarge {
            reply.body = self.too_large_text();
            self.tell_oversize(exchange.headers, peer);
        }
        reply
    }

    /// The `413` text, naming the limit: `payload too large: the body is
    /// over the limit of 1048576 bytes` (after decoding, for a gzip body).
    fn too_large_text(&self) -> bytes::Bytes {
        let max = self.router.limits().max_message_bytes;
        format!("payload too large: the body is over the limit of {max} bytes\n").into()
    }

    /// Tells the hooks of a body over the limit (headers converted only
    /// when a hook reads them).
    fn tell_oversize<H: RequestHeaders>(&self, headers: H, peer: Option<std::net::SocketAddr>) {
        if !self.router.has_hooks() {
            return;
        }
        let max = self.router.limits().max_message_bytes;
        let error =
            crate::Error::invalid_request().with_reason(format_args!("body over the limit of {max} bytes"));
        let mut context = headers.attach(crate::Context::builder(crate::Transport::Http));
        if let Some(peer) = peer {
            context = context.peer_addr(peer);
        }
        self.router
            .rejected(crate::RejectionKind::Oversize, &error, &context.build());
    }

    /// Runs a message (a body read as [`Begin::ReadBody`] asked, or the
    /// JSONP call of [`Begin::Run`]) and builds the answer.
    ///
    /// Notifications do not hold the answer back: each one not finished on
    /// its first poll is handed to `spawn` (wrapped so that it holds one of
    /// the endpoint's [`Background`] slots until it ends), to run on the
    /// adapter's runtime; when every slot is taken it runs here and the
    /// answer waits for it. Headers set by a notification after its first
    /// poll are not sent.
    pub fn run<H: RequestHeaders>(
        &self,
        exchange: Exchange<H>,
        message: bytes::Bytes,
        peer: Option<std::net::SocketAddr>,
        spawn: impl Fn(crate::BoxFuture<()>),
    ) -> impl Future<Output = Reply> {
        // Made before the future, which keeps only what the answer needs
        // across the wait (an `async fn` would also keep its arguments).
        let (context, answering) = self.context_of(exchange, peer);
        async move {
            // Most messages (a call to a plain `fn`) are answered here at
            // once, with nothing to box or await.
            let answer = match self.router.start_message(&message, &context) {
                Ok(answer) => answer,
                // Boxed: inline, the router's future (about 1 KB) would make
                // the adapter's request future too large for the
                // allocator's fast path (actix-web boxes it whole) and
                // costly to move (warp's filter chain moves it).
                Err(started) => {
                    Box::pin(
                        self.router
                            .finish_message(started, &message, context.clone(), |run| {
                                match self.background.try_hold(run) {
                                    Ok(held) => {
                                        spawn(held);
                                        None
                                    }
                                    Err(run) => Some(run),
                                }
                            }),
                    )
                    .await
                }
            };
            self.answer(answer, &context, &answering)
        }
    }

    /// The calls' context, and what the answer depends on.
    fn context_of<H: RequestHeaders>(
        &self,
        exchange: Exchange<H>,
        peer: Option<std::net::SocketAddr>,
    ) -> (crate::Context, Answering) {
        let Exchange { headers, answer } = exchange;
        let mut context = crate::Context::builder(crate::Transport::Http);
        // Handed over only when a handler or hook may read them: a lazy
        // source is then neither boxed nor dropped.
        if self.router.reads_request_headers() {
            context = headers.attach(context);
        }
        if let Some(peer) = peer {
            context = context.peer_addr(peer);
        }
        (context.build(), answer)
    }

    /// The reply to a message the router answered with `answer`.
    fn answer(&self, answer: Option<bytes::Bytes>, context: &crate::Context, exchange: &Answering) -> Reply {
        // Taken, not copied: what a background notification sets after
        // this is not sent anyway.
        let (handlers, compression) = match context.take_response_parts() {
            Some(parts) => (Some(parts.headers), parts.compression),
            None => (None, None),
        };
        let status = answer_status(answer.as_deref());
        let mut headers = json_reply_headers(answer.is_some(), handlers);
        let mut body = match (answer, &exchange.jsonp) {
            (Some(json), Some(callback)) => {
                headers.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(JAVASCRIPT_CONTENT_TYPE),
                );
                headers.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                let mut js = Vec::with_capacity(callback.len() + json.len() + 3);
                js.extend_from_slice(callback.as_bytes());
                js.push(b'(');
                js.extend_from_slice(&json);
                js.extend_from_slice(b");");
                bytes::Bytes::from(js)
            }
            (Some(json), None) => json,
            (None, _) => bytes::Bytes::new(),
        };
        let compress = compression.unwrap_or(self.options.compression);
        let vary_encoding = compress && body.len() > self.options.threshold;
        if vary_encoding && exchange.accept_gzip {
            if let Some(gz) = gzip(&body) {
                body = gz;
                headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
        }
        if status == StatusCode::OK && !exchange.cors.is_empty() {
            if let Some(cors) = &self.options.cors {
                if let Some(v) = join_names(&cors.expose_headers) {
                    headers.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, v);
                }
            }
        }
        exchange.finish_headers(&mut headers, vary_encoding);
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// `Content-Encoding` of a request body: `Ok(true)` for gzip, `Ok(false)`
/// for none (or `identity`), `UnsupportedEncoding` for anything else.
fn content_encoding(headers: &impl HeaderView) -> Result<bool, HttpReject> {
    let mut gzip = false;
    for value in headers.get_all(&header::CONTENT_ENCODING) {
        let value = visible_ascii(value).ok_or(HttpReject::UnsupportedEncoding)?;
        for coding in value.split(',').map(str::trim).filter(|c| !c.is_empty()) {
            match coding.to_ascii_lowercase().as_str() {
                "identity" => {}
                // One layer only: gzip of gzip is refused, not unwrapped twice.
                "gzip" | "x-gzip" if !gzip => gzip = true,
                _ => return Err(HttpReject::UnsupportedEncoding),
            }
        }
    }
    Ok(gzip)
}

/// The `Content-Type` of every JSONP answer.
pub const JAVASCRIPT_CONTENT_TYPE: &str = "application/javascript";

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::task::Poll;

    use bytes::Bytes;
    use futures_util::FutureExt;

    use super::*;
    use crate::{Limits, Params, Router};

    /// One step of a header sequence: insert or append value `v` to name `n`.
    fn header_ops() -> impl proptest::strategy::Strategy<Value = Vec<(bool, usize, u8)>> {
        use proptest::prelude::*;
        proptest::collection::vec((any::<bool>(), 0..4usize, any::<u8>()), 0..16)
    }

    fn pairs_of(map: &HeaderMap) -> Vec<(String, Vec<u8>)> {
        map.iter()
            .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
            .collect()
    }

    proptest::proptest! {
        /// `ReplyHeaders` lists its pairs as a `HeaderMap` given the same
        /// calls does, and turns into that same map (so warp sends the
        /// same bytes), also when made from a map a handler filled.
        #[test]
        fn reply_headers_keep_header_map_order(ops in header_ops(), first in header_ops()) {
            let names = [header::VARY, header::SET_COOKIE, header::CONTENT_TYPE, HeaderName::from_static("x-a")];
            let mut map = HeaderMap::new();
            for (insert, n, v) in first {
                let (name, value) = (names[n].clone(), HeaderValue::from(u16::from(v)));
                if insert { map.insert(name, value); } else { map.append(name, value); }
            }
            let mut ours = ReplyHeaders::from(map.clone());
            for (insert, n, v) in ops {
                let (name, value) = (names[n].clone(), HeaderValue::from(u16::from(v)));
                if insert {
                    map.insert(name.clone(), value.clone());
                    ours.insert(name, value);
                } else {
                    map.append(name.clone(), value.clone());
                    ours.append(name, value);
                }
            }
            let listed: Vec<_> = ours.iter().map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec())).collect();
            proptest::prop_assert_eq!(&listed, &pairs_of(&map));
            proptest::prop_assert_eq!(ours.len(), map.len());
            proptest::prop_assert_eq!(pairs_of(&ours.into_header_map()), pairs_of(&map));
        }
    }

    /// An answer's headers are those of the handlers without their
    /// content type, then ours, in the order the map would give.
    #[test]
    fn json_reply_headers_match_json_headers() {
        let mut handlers = HeaderMap::new();
        handlers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
        handlers.append(header::SET_COOKIE, HeaderValue::from_static("a=1"));
        handlers.insert(HeaderName::from_static("x-a"), HeaderValue::from_static("1"));
        handlers.append(header::SET_COOKIE, HeaderValue::from_static("b=2"));
        for body in [true, false] {
            let ours = json_reply_headers(body, Some(handlers.clone()));
            assert_eq!(
                pairs_of(&ours.into_header_map()),
                pairs_of(&json_headers(body, handlers.clone()))
            );
        }
        for none in [None, Some(HeaderMap::new())] {
            let ours = json_reply_headers(true, none.clone());
            assert_eq!(ours.len(), 1);
            assert_eq!(ours.get(header::CONTENT_TYPE).unwrap(), JSON_CONTENT_TYPE);
            assert!(json_reply_headers(false, none).is_empty());
        }
    }

    /// What the general path answers: a `ServerConnection` over a `Body`
    /// framer, each event dispatched and awaited, and the response
    /// headers the calls set.
    fn connection_answer(router: &Router, body: &[u8]) -> (Vec<u8>, HeaderMap) {
        use crate::conn::{Body, Dispatch, ServerConnection};
        let limits = router.limits().clone();
        let mut conn = ServerConnection::new(Body::new(limits.max_message_bytes), limits);
        let context = crate::Context::builder(crate::Transport::Http).build();
        conn.handle_input(body).unwrap();
        conn.handle_eof();
        while let Some(event) = conn.poll_event() {
            match router.dispatch(event, &context) {
                Dispatch::Call(ticket, call) => {
                    conn.respond(ticket, futures_executor::block_on(call)).unwrap()
                }
                Dispatch::Notification(run) => futures_executor::block_on(run),
            }
        }
        let mut out = Vec::new();
        conn.poll_transmit(&mut out);
        (out, context.response_parts().headers)
    }

    #[test]
    fn answers_made_at_once_match_the_connection_path() {
        let mut router = Router::new();
        router
            .method("ping", || "pong")
            .unwrap()
            .method("add", |Params((a, b)): Params<(i64, i64)>| a + b)
            .unwrap()
            .method("fail", || Err::<(), _>(crate::Error::new(7, "no")))
            .unwrap()
            .method("later", || async { "later" })
            .unwrap()
            .method("cookie", |ctx: crate::Context| {
                ctx.set_cookie("a=1");
                ctx.set_response_header("x-b", "2");
                1
            })
            .unwrap();
        let endpoint = Endpoint::from(router);
        let bodies: [&[u8]; 15] = [
            br#"{"jsonrpc":"2.0","method":"ping","id":1}"#,
            br#"{"jsonrpc":"2.0","method":"ping","id":"x"}"#,
            br#"{"jsonrpc":"2.0","method":"add","params":[2,3],"id":[]}"#,
            br#"{"jsonrpc":"2.0","method":"add","params":[2],"id":2}"#,
            br#"{"jsonrpc":"2.0","method":"fail","id":3}"#,
            br#"{"jsonrpc":"2.0","method":"nope","id":4}"#,
            br#"{"jsonrpc":"2.0","method":"later","id":5}"#,
            br#"{"jsonrpc":"2.0","method":"cookie","id":6}"#,
            br#"{"jsonrpc":"2.0","method":"ping"}"#,
            br#"{"jsonrpc":"2.0","method":"nope"}"#,
            br#"{"jsonrpc":"2.0","method":"cookie"}"#,
            br#"[{"jsonrpc":"2.0","method":"ping","id":1},{"jsonrpc":"2.0","method":"later","id":2}]"#,
            br#"{"jsonrpc":"2.0","method":"ping","id":1"#,
            br#"{"jsonrpc":"1.0","method":"ping","id":1}"#,
            b"[]",
        ];
        for body in bodies {
            let exchange = post_exchange(&endpoint);
            let reply =
                futures_executor::block_on(endpoint.run(exchange, Bytes::from_static(body), None, drop));
            let (expected, headers) = connection_answer(endpoint.router(), body);
            let text = String::from_utf8_lossy(body);
            assert_eq!(reply.body, expected, "{text}");
            assert_eq!(
                reply.status,
                if expected.is_empty() { 204 } else { 200 },
                "{text}"
            );
            let ours: Vec<_> = reply
                .headers
                .iter()
                .filter(|(n, _)| *n != header::CONTENT_TYPE)
                .collect();
            let theirs: Vec<_> = headers.iter().collect();
            assert_eq!(ours, theirs, "{text}");
        }
    }

    /// A router whose `hold` notification finishes once `open` is set (it
    /// is polled by hand here, so no waker is needed).
    fn gated(open: Arc<AtomicBool>, max_background: usize) -> Endpoint {
        let mut router = Router::new();
        router
            .method("hold", move |Params(()): Params<()>| {
                let open = open.clone();
                std::future::poll_fn(move |_| {
                    if open.load(Ordering::Acquire) {
                        Poll::Ready(())
                    } else {
                        Poll::Pending
                    }
                })
            })
            .unwrap();
        router.set_limits(Limits {
            max_background_notifications: max_background,
            ..Limits::default()
        });
        Endpoint::new(router)
    }

    /// A view that records every name asked of it.
    struct Recording(HeaderMap, std::cell::RefCell<Vec<HeaderName>>);

    impl HeaderView for Recording {
        fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
            self.1.borrow_mut().push(name.clone());
            self.0.get_all(name).iter().map(HeaderValue::as_bytes)
        }
    }

    #[test]
    fn the_head_reads_only_head_headers_and_all_of_them() {
        let options = HttpOptions::new()
            .cors(Cors::origins(["http://allowed.example"]))
            .jsonp(true)
            .compression(true);
        let endpoint = Endpoint::with_options(Router::new(), options);
        let mut every = HeaderMap::new();
        for (name, value) in [
            ("content-type", "application/json"),
            ("content-length", "2"),
            ("content-encoding", "gzip"),
            ("accept-encoding", "gzip"),
            ("origin", "http://allowed.example"),
            ("access-control-request-method", "POST"),
            ("user-agent", "t"),
            ("cookie", "a=1"),
            ("x-other", "1"),
        ] {
            every.append(HeaderName::from_static(name), HeaderValue::from_static(value));
        }
        let mut asked = Vec::new();
        for (method, tail, query) in [
            (Method::POST, "", None),
            (Method::OPTIONS, "", None),
            (Method::GET, "ping", Some("jsonp=cb")),
            (Method::GET, "", None),
            (Method::PUT, "", None),
        ] {
            let view = Recording(every.clone(), Default::default());
            let _ = endpoint.begin_view(&method, tail, query, &view, |v| v.0.clone());
            asked.extend(view.1.into_inner());
        }
        assert!(asked.iter().all(|n| HEAD_HEADERS.contains(n)), "{asked:?}");
        assert!(HEAD_HEADERS.iter().all(|n| asked.contains(n)), "{asked:?}");
    }

    fn post_exchange(endpoint: &Endpoint) -> Exchange {
        match endpoint.begin(&Method::POST, "", None, HeaderMap::new()) {
            Begin::ReadBody(exchange, _) => exchange,
            other => panic!("{other:?}"),
        }
    }

    const HOLD: &[u8] = br#"{"jsonrpc":"2.0","method":"hold"}"#;

    #[test]
    fn notifications_past_the_background_bound_run_in_their_request() {
        let open = Arc::new(AtomicBool::new(false));
        let endpoint = gated(open.clone(), 1);
        let spawned = std::sync::Mutex::new(Vec::new());
        let spawn = |run| spawned.lock().unwrap().push(run);

        // The first takes the only slot: answered at once.
        let mut first =
            Box::pin(endpoint.run(post_exchange(&endpoint), Bytes::from_static(HOLD), None, spawn));
        let reply = (&mut first).now_or_never().unwrap();
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert_eq!(endpoint.background().running(), 1);

        // The second finds none free: its request waits for it.
        let mut second =
            Box::pin(endpoint.run(post_exchange(&endpoint), Bytes::from_static(HOLD), None, spawn));
        assert!((&mut second).now_or_never().is_none());
        assert_eq!(spawned.lock().unwrap().len(), 1);
        open.store(true, Ordering::Release);
        assert_eq!(
            (&mut second).now_or_never().unwrap().status,
            StatusCode::NO_CONTENT
        );

        // The spawned one holds its slot until it ends.
        let held = spawned.lock().unwrap().pop().unwrap();
        assert_eq!(endpoint.background().running(), 1);
        held.now_or_never().unwrap();
        assert_eq!(endpoint.background().running(), 0);
    }

    #[test]
    fn a_notification_ready_at_once_is_never_spawned() {
        let endpoint = gated(Arc::new(AtomicBool::new(true)), 4);
        let reply = endpoint
            .run(post_exchange(&endpoint), Bytes::from_static(HOLD), None, |_| {
                panic!("nothing to spawn")
            })
            .now_or_never()
            .unwrap();
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
        assert!(reply.body.is_empty());
    }

    /// Headers that count how often they were made into a map.
    #[derive(Debug)]
    struct Counted(HeaderMap, Arc<std::sync::atomic::AtomicUsize>);

    impl RequestHeaders for Counted {
        fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
            RequestHeaders::get_all(&self.0, name)
        }
        fn into_header_map(self) -> HeaderMap {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0
        }
    }

    #[test]
    fn request_headers_are_converted_only_for_a_handler_that_reads_them() {
        let mut router = Router::new();
        router.method("ping", || "pong").unwrap();
        router
            .method("agent", |ctx: crate::Context| {
                ctx.header("user-agent").map(str::to_owned)
            })
            .unwrap();
        let endpoint = Endpoint::new(router);
        let made = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let call = |body: &'static [u8]| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            h.insert(header::USER_AGENT, HeaderValue::from_static("t/1"));
            let Begin::ReadBody(exchange, mut reader) =
                endpoint.begin(&Method::POST, "", None, Counted(h, made.clone()))
            else {
                panic!("not a body to read")
            };
            reader.push_bytes(Bytes::from_static(body)).unwrap();
            let message = reader.finish().unwrap();
            endpoint
                .run(exchange, message, None, |_| {})
                .now_or_never()
                .unwrap()
        };
        let reply = call(br#"{"jsonrpc":"2.0","method":"ping","id":1}"#);
        assert_eq!(reply.body, r#"{"jsonrpc":"2.0","result":"pong","id":1}"#);
        assert_eq!(made.load(Ordering::SeqCst), 0);
        let reply = call(br#"{"jsonrpc":"2.0","method":"agent","id":1}"#);
        assert_eq!(reply.body, r#"{"jsonrpc":"2.0","result":"t/1","id":1}"#);
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }

    /// An extractor of the application's that says nothing of headers.
    struct Custom;

    impl<S> crate::FromCall<S> for Custom {
        fn from_call(_: &crate::CallParts<S>) -> Result<Self, crate::Error> {
            Ok(Custom)
        }
    }

    #[test]
    fn routers_know_whether_anything_reads_request_headers() {
        let mut router = Router::new();
        router
            .method("a", |Params((a,)): Params<(i64,)>, _: crate::State<()>| a)
            .unwrap()
            .method(
                "b",
                |_: crate::MethodName, _: crate::RawParams, _: crate::ConnectionState| (),
            )
            .unwrap()
            .method("c", |_: crate::Extension<u8>| async {})
            .unwrap();
        assert!(!router.reads_request_headers());
        // A failed registration changes nothing.
        assert!(router.method("a", |_: crate::Context| ()).is_err());
        assert!(!router.reads_request_headers());

        let reads = |register: &dyn Fn(&mut Router)| {
            let mut r = Router::new();
            r.method("p", || "pong").unwrap();
            register(&mut r);
            r.reads_request_headers()
        };
        assert!(reads(&|r| {
            r.method("ctx", |_: crate::Context| ()).unwrap();
        }));
        assert!(reads(&|r| {
            r.method("ctx", |_: Params<()>, _: crate::Context| async {})
                .unwrap();
        }));
        assert!(reads(&|r| {
            r.method("custom", |_: Custom| ()).unwrap();
        }));
        assert!(reads(&|r| {
            r.hook(crate::Stats::new());
        }));
        let mut inner = Router::new();
        inner.method("ctx", |_: crate::Context| ()).unwrap();
        router.nest("n", inner).unwrap();
        assert!(router.reads_request_headers());
    }

    /// actix-web's case: headers borrowed for the decisions, copied for the
    /// calls only when something may read them.
    struct View(Vec<(HeaderName, HeaderValue)>);

    impl HeaderView for View {
        fn get_all<'a>(&'a self, name: &'a HeaderName) -> impl Iterator<Item = &'a [u8]> + 'a {
            self.0
                .iter()
                .filter(move |(n, _)| n == name)
                .map(|(_, v)| v.as_bytes())
        }
    }

    fn view_call(endpoint: &Endpoint, view: &View, copies: &AtomicUsize, body: &'static [u8]) -> Reply {
        let keep = |v: &View| {
            copies.fetch_add(1, Ordering::SeqCst);
            v.0.iter().cloned().collect::<HeaderMap>()
        };
        match endpoint.begin_view(&Method::POST, "", None, view, keep) {
            Begin::ReadBody(exchange, mut reader) => {
                reader.push_bytes(Bytes::from_static(body)).unwrap();
                match reader.finish() {
                    Ok(message) => endpoint
                        .run(exchange, message, None, |_| {})
                        .now_or_never()
                        .unwrap(),
                    Err(reject) => endpoint.reject(exchange, reject, None),
                }
            }
            Begin::Respond(reply) => reply,
            Begin::Run(..) => panic!("not a JSONP call"),
        }
    }

    #[test]
    fn borrowed_headers_are_copied_only_for_routers_that_read_them() {
        let view = View(vec![
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (header::COOKIE, HeaderValue::from_static("a=1")),
            (HeaderName::from_static("x-tag"), HeaderValue::from_static("t1")),
            (header::COOKIE, HeaderValue::from_static("b=2")),
        ]);
        let ping = br#"{"jsonrpc":"2.0","method":"ping","id":1}"#;
        let pong = r#"{"jsonrpc":"2.0","result":"pong","id":1}"#;

        // Nothing reads headers: never copied, answered as ever.
        let copies = AtomicUsize::new(0);
        let endpoint = Endpoint::new(crate::reference::router());
        let reply = view_call(&endpoint, &view, &copies, ping);
        assert_eq!((reply.status, &reply.body[..]), (StatusCode::OK, pong.as_bytes()));
        assert_eq!(reply.headers.get("content-type").unwrap(), "application/json");
        assert_eq!(copies.load(Ordering::SeqCst), 0);
        // The head is still read: a JSON content type is required.
        let text = View(vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        )]);
        let reply = view_call(&endpoint, &text, &copies, ping);
        assert_eq!(reply.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(copies.load(Ordering::SeqCst), 0);

        // A handler that reads them sees every one, in order.
        let mut router = crate::reference::router();
        router
            .method("seen", |ctx: crate::Context| {
                let cookies: Vec<_> = ctx
                    .cookies()
                    .into_iter()
                    .map(|(n, v)| format!("{n}={v}"))
                    .collect();
                (
                    ctx.header("x-tag").map(str::to_owned),
                    cookies,
                    ctx.headers().len(),
                )
            })
            .unwrap();
        let endpoint = Endpoint::new(router);
        let reply = view_call(
            &endpoint,
            &view,
            &copies,
            br#"{"jsonrpc":"2.0","method":"seen","id":1}"#,
        );
        assert_eq!(
            reply.body,
            r#"{"jsonrpc":"2.0","result":["t1",["a=1","b=2"],4],"id":1}"#
        );
        assert_eq!(copies.load(Ordering::SeqCst), 1);
        // The copy is made per request, whichever method it calls.
        let reply = view_call(&endpoint, &view, &copies, ping);
        assert_eq!(reply.body, pong);
        assert_eq!(copies.load(Ordering::SeqCst), 2);
        // A request refused from its head is not copied.
        let _ = view_call(&endpoint, &text, &copies, ping);
        assert_eq!(copies.load(Ordering::SeqCst), 2);

        // A hook reads them too, also for a call it refuses.
        struct Tagged;
        impl crate::Hook for Tagged {
            fn before(&self, call: &crate::CallInfo) -> Result<(), crate::Error> {
                match call.context.header("x-tag") {
                    Some("t1") => Ok(()),
                    _ => Err(crate::Error::new(-32001, "untagged")),
                }
            }
        }
        let mut router = crate::reference::router();
        router.hook(Tagged);
        let endpoint = Endpoint::new(router);
        let reply = view_call(&endpoint, &view, &copies, ping);
        assert_eq!(reply.body, pong);
        assert_eq!(copies.load(Ordering::SeqCst), 3);
        let untagged = View(vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )]);
        let reply = view_call(&endpoint, &untagged, &copies, ping);
        assert_eq!(
            reply.body,
            r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"untagged"},"id":1}"#
        );
    }

    #[test]
    fn bodies_in_bytes_chunks_are_kept_or_joined_within_the_limit() {
        // One chunk: the same allocation comes back.
        let one = Bytes::from(b"[1,2,3]".to_vec());
        let mut body = BodyReader::new(16, false);
        body.push_bytes(one.clone()).unwrap();
        body.push_bytes(Bytes::new()).unwrap();
        let whole = body.finish().unwrap();
        assert_eq!((whole.as_ptr(), whole.len()), (one.as_ptr(), one.len()));

        // Several, mixed with slices: joined in order.
        let mut body = BodyReader::new(16, false);
        body.push_bytes(Bytes::from_static(b"[1,")).unwrap();
        body.push(b"2,").unwrap();
        body.push_bytes(Bytes::from_static(b"3]")).unwrap();
        assert_eq!(body.bytes_read(), 7);
        assert_eq!(&body.finish().unwrap()[..], b"[1,2,3]");

        // Over the limit, by a kept chunk or by the next one.
        let mut body = BodyReader::new(4, false);
        assert_eq!(
            body.push_bytes(Bytes::from_static(b"[1,2,3]")),
            Err(HttpReject::PayloadTooLarge)
        );
        let mut body = BodyLimit::new(4);
        body.push_bytes(Bytes::from_static(b"[1,")).unwrap();
        assert_eq!(body.len(), 3);
        assert_eq!(
            body.push_bytes(Bytes::from_static(b"2]")),
            Err(HttpReject::PayloadTooLarge)
        );
        assert!(body.is_empty());
        assert_eq!(body.push(b"1"), Err(HttpReject::PayloadTooLarge));

        // gzip through `push_bytes` decodes as `push` does.
        let packed = gzip(br#"{"a":1}"#).unwrap();
        let mut body = BodyReader::new(64, true);
        body.push_bytes(packed).unwrap();
        assert_eq!(&body.finish().unwrap()[..], br#"{"a":1}"#);
    }

    #[test]
    fn accept_encoding_table() {
        let table: &[(&str, bool)] = &[
            ("", false),
            ("gzip", true),
            ("GZIP", true),
            ("gzip;q=1", true),
            ("gzip;q=0.001", true),
            ("gzip;q=0", false),
            ("gzip;q=0.000", false),
            ("gzip; q=0.5, identity; q=0.5", true),
            ("gzip;q=0.4, identity;q=0.5", false),
            ("identity", false),
            ("identity;q=0, *", true),
            ("*;q=0", false),
            ("gzip;q=2", false),
            ("gzip;q=abc", false),
            ("deflate, gzip;q=0, gzip;q=0.3", true),
            (" br , x-gzip ", true),
        ];
        for (header, want) in table {
            assert_eq!(accepts_gzip(header), *want, "{header:?}");
        }
    }

    #[test]
    fn jsonp_requests_are_built_safely() {
        use crate::Version::{V1, V2};
        let (_, msg) = jsonp_request("m", "jsonp=cb&params=%5B1%5D", 100, V1).unwrap();
        assert_eq!(msg, br#"{"method":"m","params":[1],"id":"cb"}"#);
        let (cb, msg) = jsonp_request("sum%2Ex", "jsonp=cb&a=%22q%22", 100, V2).unwrap();
        assert_eq!(cb, "cb");
        assert_eq!(
            msg,
            br#"{"jsonrpc":"2.0","method":"sum.x","params":{"a":"\"q\""},"id":"cb"}"#
        );
        assert_eq!(
            jsonp_request("a/b", "jsonp=cb", 100, V2),
            Err(JsonpReject::NotFound)
        );
        assert_eq!(
            jsonp_request("m", "jsonp=cb&x=12345", 10, V2),
            Err(JsonpReject::UriTooLong)
        );
        assert_eq!(
            jsonp_request("m", "jsonp=cb&jsonp=cc", 100, V2),
            Err(JsonpReject::BadQuery)
        );
        assert_eq!(
            jsonp_request("m%FF", "jsonp=cb", 100, V2),
            Err(JsonpReject::BadQuery)
        );
        assert_eq!(jsonp_request("m", "x=1", 100, V2), Err(JsonpReject::NoCallback));
    }

    #[test]
    fn gzip_bodies_cut_short_or_garbled_are_bad_requests() {
        let packed = gzip(br#"{"jsonrpc":"2.0","method":"m","id":1}"#).unwrap();
        let mut whole = BodyReader::new(1024, true);
        for part in packed.chunks(3) {
            whole.push(part).unwrap();
        }
        assert_eq!(
            &whole.finish().unwrap()[..],
            br#"{"jsonrpc":"2.0","method":"m","id":1}"#
        );

        let mut cut = BodyReader::new(1024, true);
        cut.push(&packed[..packed.len() - 1]).unwrap();
        assert_eq!(cut.finish(), Err(HttpReject::BadRequest));

        let mut garbled = BodyReader::new(1024, true);
        assert_eq!(garbled.push(b"{not gzip}"), Err(HttpReject::BadRequest));

        // Compressed bytes count too: more than the limit is never read.
        let mut raw = BodyReader::new(8, true);
        assert_eq!(raw.push(&packed), Err(HttpReject::PayloadTooLarge));
        assert_eq!(raw.bytes_read(), 0);
    }
}
