//! What a handler may know about the call's surroundings.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The kind of transport a call arrived on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// An HTTP request body.
    Http,
    /// A TCP stream (newline framing).
    Tcp,
    /// Any other byte stream: Unix sockets, stdio, pipes.
    Stream,
    /// WebSocket messages.
    WebSocket,
    /// Socket.IO events (over WebSocket or HTTP long-polling), answered
    /// through acknowledgements.
    SocketIo,
    /// In memory, as in tests and benchmarks.
    InMemory,
}

/// State shared by every call of one connection: a typed map any handler
/// may read and write.
///
/// ```
/// use sansrpc::ConnectionState;
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct User(String);
///
/// let state = ConnectionState::default();
/// state.insert(User("ada".into()));
/// assert_eq!(state.get::<User>(), Some(User("ada".into())));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ConnectionState {
    inner: Arc<Mutex<http::Extensions>>,
}

impl ConnectionState {
    fn lock(&self) -> MutexGuard<'_, http::Extensions> {
        // A handler that panicked while holding the lock leaves the map as
        // it was; the map stays usable.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `value`, replacing (and returning) one of the same type.
    pub fn insert<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.lock().insert(value)
    }

    /// A clone of the stored value of type `T`.
    pub fn get<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().get::<T>().cloned()
    }

    /// Removes and returns the stored value of type `T`.
    pub fn remove<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.lock().remove::<T>()
    }

    /// Runs `f` on the stored value of type `T`, inserting `T::default()`
    /// first if there is none.
    pub fn update<T: Clone + Default + Send + Sync + 'static, R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let mut map = self.lock();
        f(map.get_or_insert_default::<T>())
    }
}

/// Headers (including cookies) a handler asks the transport to send back.
/// Transports without headers ignore them.
#[derive(Clone, Debug, Default)]
pub struct ResponseParts {
    /// Headers to add to the HTTP response.
    pub headers: HeaderMap,
    /// Whether the answer may be compressed, when a handler said so with
    /// [`Context::set_compression`]; `None` leaves it to the endpoint.
    pub compression: Option<bool>,
}

/// Makes a request's header map on first use: adapters whose framework
/// holds headers in other types convert them only for a handler that reads
/// them.
struct HeaderSource(Box<dyn FnOnce() -> HeaderMap + Send>);

impl std::fmt::Debug for HeaderSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HeaderSource(..)")
    }
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    peer_addr: Option<SocketAddr>,
    /// Set at once ([`ContextBuilder::headers`]) or from `header_source`
    /// on first read.
    headers: std::sync::OnceLock<HeaderMap>,
    header_source: Mutex<Option<HeaderSource>>,
    extensions: http::Extensions,
    /// Made on first use: most calls never touch it.
    connection: std::sync::OnceLock<ConnectionState>,
    /// Made on first use: most calls set no response header, and a
    /// context without them is built and dropped without a header map.
    response: std::sync::OnceLock<Mutex<ResponseParts>>,
}

/// The surroundings of a call: transport, peer address, request headers and
/// cookies (when the transport has them), per-connection state, and typed
/// extensions an adapter or middleware attached.
///
/// Cheap to clone; every call of one HTTP request shares one `Context`, so
/// response headers set by any of them are sent.
///
/// ```
/// use sansrpc::{Context, Transport};
///
/// let ctx = Context::builder(Transport::Http)
///     .peer_addr("127.0.0.1:4000".parse().unwrap())
///     .header("cookie", "session=abc; theme=dark")
///     .build();
/// assert_eq!(ctx.cookie("theme").as_deref(), Some("dark"));
/// ctx.set_cookie("seen=1; Path=/");
/// assert_eq!(ctx.response_parts().headers["set-cookie"], "seen=1; Path=/");
/// ```
#[derive(Clone, Debug)]
pub struct Context {
    inner: Arc<Inner>,
}

/// The headers of `inner`, made from its source on first use.
fn headers_of(inner: &Inner) -> &HeaderMap {
    inner.headers.get_or_init(|| {
        let source = inner
            .header_source
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        source.map_or_else(HeaderMap::new, |make| (make.0)())
    })
}

impl Default for Context {
    fn default() -> Self {
        Self::builder(Transport::InMemory).build()
    }
}

/// Builds a [`Context`]; adapters use it once per request or connection.
#[derive(Debug)]
#[must_use]
pub struct ContextBuilder {
    inner: Inner,
}

impl ContextBuilder {
    /// The peer's address.
    pub fn peer_addr(mut self, addr: SocketAddr) -> Self {
        self.inner.peer_addr = Some(addr);
        self
    }

    /// The request's headers.
    pub fn headers(mut self, headers: HeaderMap) -> Self {
        self.inner.headers = std::sync::OnceLock::from(headers);
        self.inner.header_source = Mutex::new(None);
        self
    }

    /// The request's headers, made by `make` the first time a handler reads
    /// them ([`Context::headers`], [`Context::header`], [`Context::cookies`]),
    /// and never for a request whose handlers do not: for adapters whose
    /// framework holds headers in types of its own.
    ///
    /// ```
    /// use sansrpc::{Context, Transport};
    ///
    /// let ctx = Context::builder(Transport::Http)
    ///     .headers_with(|| {
    ///         let mut map = http::HeaderMap::new();
    ///         map.insert("x-token", http::HeaderValue::from_static("t1"));
    ///         map
    ///     })
    ///     .build();
    /// assert_eq!(ctx.header("x-token"), Some("t1"));
    /// ```
    pub fn headers_with(mut self, make: impl FnOnce() -> HeaderMap + Send + 'static) -> Self {
        self.inner.headers = std::sync::OnceLock::new();
        self.inner.header_source = Mutex::new(Some(HeaderSource(Box::new(make))));
        self
    }

    /// Adds one request header; an invalid name or value is ignored.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        if let (Ok(n), Ok(v)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            let mut headers = self.take_headers();
            headers.append(n, v);
            self.inner.headers = std::sync::OnceLock::from(headers);
        }
        self
    }

    /// The headers so far (made now if they were lazy).
    fn take_headers(&mut self) -> HeaderMap {
        let source = self
            .inner
            .header_source
            .get_mut()
            .unwrap_or_else(|e| e.into_inner());
        match (self.inner.headers.take(), source.take()) {
            (Some(headers), _) => headers,
            (None, Some(make)) => (make.0)(),
            (None, None) => HeaderMap::new(),
        }
    }

    /// The connection's shared state.
    pub fn connection(mut self, state: ConnectionState) -> Self {
        self.inner.connection = std::sync::OnceLock::from(state);
        self
    }

    /// Attaches a typed extension, read with [`Context::extension`].
    pub fn extension<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.inner.extensions.insert(value);
        self
    }

    /// The finished context.
    pub fn build(self) -> Context {
        Context {
            inner: Arc::new(self.inner),
        }
    }
}

impl Context {
    /// Starts a context for a call arriving on `transport`.
    pub fn builder(transport: Transport) -> ContextBuilder {
        ContextBuilder {
            inner: Inner {
                transport,
                peer_addr: None,
                headers: std::sync::OnceLock::new(),
                header_source: Mutex::new(None),
                extensions: http::Extensions::new(),
                connection: std::sync::OnceLock::new(),
                response: std::sync::OnceLock::new(),
            },
        }
    }

    /// This context with a typed extension added (replacing one of the same
    /// type); other clones of the original are unchanged.
    pub fn with_extension<T: Clone + Send + Sync + 'static>(self, value: T) -> Context {
        let mut inner = match Arc::try_unwrap(self.inner) {
            Ok(inner) => inner,
            Err(shared) => Inner {
                transport: shared.transport,
                peer_addr: shared.peer_addr,
                headers: std::sync::OnceLock::from(headers_of(&shared).clone()),
                header_source: Mutex::new(None),
                extensions: shared.extensions.clone(),
                // Both contexts must share one connection state.
                connection: std::sync::OnceLock::from(
                    shared.connection.get_or_init(ConnectionState::default).clone(),
                ),
                response: match shared.response.get() {
                    Some(parts) => std::sync::OnceLock::from(Mutex::new(
                        parts.lock().unwrap_or_else(|e| e.into_inner()).clone(),
                    )),
                    None => std::sync::OnceLock::new(),
                },
            },
        };
        inner.extensions.insert(value);
        Context {
            inner: Arc::new(inner),
        }
    }

    /// The transport the call arrived on.
    pub fn transport(&self) -> Transport {
        self.inner.transport
    }

    /// The peer's address, when the transport knows it.
    pub fn peer_addr(&self) -> Option<SocketAddr> {
        self.inner.peer_addr
    }

    /// The request headers (empty for transports without headers).
    pub fn headers(&self) -> &HeaderMap {
        headers_of(&self.inner)
    }

    /// The first value of header `name`, if it is present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// Every cookie of the request's `Cookie` headers, as `(name, value)`.
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.headers()
            .get_all(http::header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                let value = value.trim();
                let value = value
                    .strip_prefix('"')
                    .and_then(|v| v.strip_suffix('"'))
                    .unwrap_or(value);
                Some((name.trim().to_owned(), value.to_owned()))
            })
            .collect()
    }

    /// The value of cookie `name`, if the request sent it.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    /// A typed extension attached by the adapter or the application.
    pub fn extension<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.inner.extensions.get::<T>()
    }

    /// State shared by every call of this connection.
    pub fn connection(&self) -> &ConnectionState {
        self.inner.connection.get_or_init(ConnectionState::default)
    }

    fn response(&self) -> MutexGuard<'_, ResponseParts> {
        self.inner
            .response
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// The response parts when a handler set any, without making them.
    fn response_if_set(&self) -> Option<MutexGuard<'_, ResponseParts>> {
        let parts = self.inner.response.get()?;
        Some(parts.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Whether response headers set here reach the peer: over HTTP they
    /// are sent with the answer; in memory they are kept for the caller to
    /// read ([`response_parts`](Self::response_parts)). TCP, byte streams,
    /// WebSocket and Socket.IO messages have no per-answer headers.
    pub fn has_response_headers(&self) -> bool {
        matches!(self.inner.transport, Transport::Http | Transport::InMemory)
    }

    /// Adds a response header, and returns whether it will be sent:
    /// `false` (and nothing is kept) for an invalid name or value, or on a
    /// transport without response headers (see
    /// [`has_response_headers`](Self::has_response_headers)).
    pub fn set_response_header(&self, name: &str, value: &str) -> bool {
        if !self.has_response_headers() {
            return false;
        }
        match (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            (Ok(n), Ok(v)) => {
                self.response().headers.append(n, v);
                true
            }
            _ => false,
        }
    }

    /// Adds a `Set-Cookie` response header with `cookie` as its value, for
    /// example `"session=abc; Path=/; HttpOnly"`; `false` where the cookie
    /// would be dropped (over TCP, WebSocket, ...), as for
    /// [`set_response_header`](Self::set_response_header).
    ///
    /// ```
    /// use sansrpc::{Context, Transport};
    ///
    /// assert!(Context::builder(Transport::Http).build().set_cookie("a=1"));
    /// assert!(!Context::builder(Transport::Tcp).build().set_cookie("a=1"));
    /// assert!(!Context::builder(Transport::WebSocket).build().set_cookie("a=1"));
    /// ```
    pub fn set_cookie(&self, cookie: &str) -> bool {
        self.set_response_header("set-cookie", cookie)
    }

    /// Allows (`true`) or forbids (`false`) compressing this answer, over
    /// the endpoint's own switch (the HTTP adapters gzip an answer above
    /// their threshold when the client accepts it). When calls of one batch
    /// disagree, `false` wins: a handler that refuses compression (say, for
    /// an answer mixing secrets with text the peer chose) is never
    /// overruled.
    ///
    /// ```
    /// use sansrpc::Context;
    ///
    /// let ctx = Context::default();
    /// assert_eq!(ctx.response_parts().compression, None);
    /// ctx.set_compression(true);
    /// assert_eq!(ctx.response_parts().compression, Some(true));
    /// ctx.set_compression(false);
    /// ctx.set_compression(true);
    /// assert_eq!(ctx.response_parts().compression, Some(false));
    /// ```
    pub fn set_compression(&self, allow: bool) {
        let mut parts = self.response();
        parts.compression = Some(allow && parts.compression != Some(false));
    }

    /// What handlers asked to send back, taken out (the endpoint's answer
    /// is built from it once every call is done); `None` when none asked
    /// for anything, so that no empty header map is made and dropped.
    pub(crate) fn take_response_parts(&self) -> Option<ResponseParts> {
        self.response_if_set()
            .map(|mut parts| std::mem::take(&mut *parts))
    }

    /// A copy of what handlers asked to send back; adapters read it after
    /// every call of the request has finished.
    pub fn response_parts(&self) -> ResponseParts {
        self.response_if_set()
            .map(|parts| parts.clone())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counted(made: &Arc<AtomicUsize>) -> Context {
        let made = made.clone();
        Context::builder(Transport::Http)
            .headers_with(move || {
                made.fetch_add(1, Ordering::SeqCst);
                let mut map = HeaderMap::new();
                map.insert("cookie", HeaderValue::from_static("a=1; b=\"2\""));
                map
            })
            .build()
    }

    #[test]
    fn lazy_headers_are_made_once_and_only_when_read() {
        let made = Arc::new(AtomicUsize::new(0));
        let ctx = counted(&made);
        let _ = (ctx.transport(), ctx.peer_addr(), ctx.connection().get::<u8>());
        ctx.set_response_header("x-a", "1");
        assert_eq!(made.load(Ordering::SeqCst), 0);
        assert_eq!(ctx.cookie("b").as_deref(), Some("2"));
        assert_eq!(ctx.clone().header("cookie"), Some("a=1; b=\"2\""));
        assert_eq!(ctx.headers().len(), 1);
        assert_eq!(made.load(Ordering::SeqCst), 1);

        // Never read: never made.
        drop(counted(&made));
        assert_eq!(made.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn lazy_headers_survive_the_builder_and_extensions() {
        let made = Arc::new(AtomicUsize::new(0));
        let m = made.clone();
        let ctx = Context::builder(Transport::Http)
            .headers_with(move || {
                m.fetch_add(1, Ordering::SeqCst);
                let mut map = HeaderMap::new();
                map.insert("x-a", HeaderValue::from_static("1"));
                map
            })
            .header("x-b", "2")
            .build();
        assert_eq!(made.load(Ordering::SeqCst), 1);
        let shared = ctx.clone();
        let with = ctx.with_extension(7u32);
        assert_eq!((with.header("x-a"), with.header("x-b")), (Some("1"), Some("2")));
        assert_eq!(shared.headers(), with.headers());
        assert_eq!(with.extension::<u32>(), Some(&7));

        // `headers` after `headers_with` replaces them, unread.
        let ctx = Context::builder(Transport::Http)
            .headers_with(|| unreachable!("replaced before use"))
            .headers(HeaderMap::new())
            .build();
        assert!(ctx.headers().is_empty());
    }

    #[test]
    fn taking_the_response_parts_leaves_none() {
        let ctx = Context::default();
        ctx.set_response_header("x-a", "1");
        ctx.set_compression(false);
        assert!(Context::default().take_response_parts().is_none());
        let parts = ctx.take_response_parts().unwrap();
        assert_eq!(parts.headers["x-a"], "1");
        assert_eq!(parts.compression, Some(false));
        assert!(ctx.response_parts().headers.is_empty());
    }
}
