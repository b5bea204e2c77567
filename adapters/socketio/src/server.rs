//! The Socket.IO server: namespaces, the served events, the per-socket
//! context and limits, and the ways to mount it.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use sansrpc::{ConnectionState, Context, Router, Transport};
use serde_json::value::RawValue;
use socketioxide::extract::{AckSender, SocketRef};
use socketioxide::handler::ConnectHandler;
use socketioxide::layer::SocketIoLayer;
use socketioxide::service::SocketIoService;
use socketioxide::{ParserConfig, ProtocolVersion, SocketIo, SocketIoBuilder, TransportType};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::client::{Client, DEFAULT_CALL_TIMEOUT};
use crate::message::{Arg, RawEvent, event_arg};

/// The event served by default, and on which calls to the page are
/// emitted: `message`, what `socket.send(...)` emits.
pub const DEFAULT_EVENT: &str = "message";

/// Extra room given to socketioxide over
/// [`Limits::max_message_bytes`](sansrpc::Limits): an event somewhat over
/// the limit reaches the core, which answers `-32600` through the
/// acknowledgement and keeps the socket; a packet far over it is refused
/// by Engine.IO itself, which closes the transport.
pub const LIBRARY_SLACK: usize = 64 * 1024;

/// The peer's address, as a request extension. [`SocketIoServer::serve`]
/// inserts it into every HTTP request; when you mount the layer in your own
/// server, insert it yourself (for example from axum's `ConnectInfo`) and
/// handlers see it as [`Context::peer_addr`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerAddr(pub SocketAddr);

/// What a handler can learn about its socket, as a context extension:
/// `ctx.extension::<SocketInfo>()` or `Extension<SocketInfo>`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SocketInfo {
    /// The socket id (`socket.id` on the client).
    pub id: String,
    /// The namespace, such as `/` or `/admin`.
    pub namespace: String,
    /// The Engine.IO transport at connection time (a polling client may
    /// upgrade to WebSocket later).
    pub transport: TransportType,
    /// The Socket.IO protocol version the client speaks.
    pub protocol: ProtocolVersion,
}

type ConnectHook = Arc<dyn Fn(&Context, Client) + Send + Sync>;
type CloseHook = Arc<dyn Fn(&Context) + Send + Sync>;

/// Serves a [`Router`] over Socket.IO on 127.0.0.1-style listeners, with
/// the defaults: namespace `/`, event `message`. Shorthand for
/// `SocketIoServer::new(router).serve(listener)`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// let mut router = sansrpc::Router::new();
/// router.method("ping", || "pong").unwrap();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// sansrpc_socketio::serve(listener, router).await
/// # }
/// ```
pub async fn serve<S: Clone + Send + Sync + 'static>(
    listener: TcpListener,
    router: impl Into<Arc<Router<S>>>,
) -> io::Result<()> {
    SocketIoServer::new(router).serve(listener).await
}

/// JSON-RPC over Socket.IO, on socketioxide.
///
/// Every event named by [`event`](Self::event) (`message` by default, what
/// `socket.send(...)` emits) carries one JSON-RPC message in its first
/// argument: an object, a batch array, or either of them as a JSON string.
/// The core answers it exactly as on every other transport, and the answer
/// goes back through the event's acknowledgement: as a JSON value, or as a
/// JSON string when the request came as one. A notification (or a batch of
/// only notifications) is acknowledged with no arguments when the client
/// asked for an acknowledgement, and gets nothing otherwise.
///
/// Each socket gets a [`Client`] for calling and notifying the page
/// (handlers extract it as `Extension<Client>`), a [`Context`] with
/// [`Transport::SocketIo`], the handshake's headers and cookies, the peer
/// address (see [`PeerAddr`]) and a [`SocketInfo`] extension (socket id,
/// namespace).
///
/// ## Limits
///
/// The router's [`Limits`](sansrpc::Limits) apply as on the other
/// transports:
///
/// - `max_message_bytes`: a message over it is answered `-32600` (`id:
///   null`) and the socket lives on; socketioxide's `max_payload` and
///   WebSocket message size are set to it plus [`LIBRARY_SLACK`], so a
///   packet far over it is refused by Engine.IO (the transport is closed
///   and nothing of it is held);
/// - `max_in_flight`: a socket runs at most this many messages at once
///   (a batch counts as one, notifications count too); further messages
///   wait, as reading pauses on a stream; once as many again wait, the
///   socket is disconnected — Socket.IO cannot stop reading one socket, and
///   holding more would be unbounded;
/// - `max_buffered_out`: socketioxide's outgoing buffer holds
///   `2 × max_in_flight + 64` packets; an answer that does not fit (the
///   client stopped reading) disconnects the socket;
/// - `max_connections`: at most this many sockets per server (all its
///   namespaces together); one more is refused with a `connect_error`
///   whose message is `too many connections`;
/// - `idle_timeout`: as on WebSocket, liveness is the transport's: Engine.IO
///   pings every `min(25 s, idle/2)` and drops a client that does not
///   answer within `min(20 s, idle/2)`; a client that opens an Engine.IO
///   session but joins no namespace is dropped after `min(45 s, idle)`.
///   [`serve`](Self::serve) also drops a TCP connection that sends no
///   complete request head within the idle time.
///
/// ## Protocol versions
///
/// Socket.IO protocol v5 (socket.io 3.x and 4.x clients, Engine.IO v4) is
/// served by default. socket.io 2.x clients speak v4 over Engine.IO v3:
/// enable this crate's `v4` feature (socketioxide's `v4`) to serve them
/// too; without it their handshake is refused with HTTP 400.
///
/// ```no_run
/// use sansrpc::Router;
/// use sansrpc_socketio::{Client, SocketIoServer};
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let mut router = Router::new();
///     router.method("ping", || "pong").unwrap();
///     let server = SocketIoServer::new(router)
///         .namespace("/admin")
///         .on_connect(|_ctx, client: Client| {
///             tokio::spawn(async move {
///                 let _ = client.notify("server.hello", ["welcome"]).await;
///             });
///         });
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
///     server.serve(listener).await
/// }
/// ```
#[must_use]
pub struct SocketIoServer<S = ()> {
    inner: Arc<Shared<S>>,
}

struct Shared<S> {
    router: Arc<Router<S>>,
    namespaces: Vec<String>,
    events: Vec<Arc<str>>,
    call_event: Arc<str>,
    call_timeout: Duration,
    on_connect: Option<ConnectHook>,
    on_close: Option<CloseHook>,
    /// Sockets connected to any namespace of this server.
    sockets: Arc<AtomicUsize>,
}

impl<S> Clone for Shared<S> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            namespaces: self.namespaces.clone(),
            events: self.events.clone(),
            call_event: self.call_event.clone(),
            call_timeout: self.call_timeout,
            on_connect: self.on_connect.clone(),
            on_close: self.on_close.clone(),
            sockets: self.sockets.clone(),
        }
    }
}

impl<S> Clone for SocketIoServer<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S> fmt::Debug for SocketIoServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketIoServer")
            .field("namespaces", &self.inner.namespaces)
            .field("events", &self.inner.events)
            .field("call_event", &self.inner.call_event)
            .field("call_timeout", &self.inner.call_timeout)
            .finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> SocketIoServer<S> {
    /// A server for `router` (a [`Router`] or an `Arc` of one) on namespace
    /// `/`, event `message`.
    pub fn new(router: impl Into<Arc<Router<S>>>) -> Self {
        Self {
            inner: Arc::new(Shared {
                router: router.into(),
                namespaces: Vec::new(),
                events: vec![Arc::from(DEFAULT_EVENT)],
                call_event: Arc::from(DEFAULT_EVENT),
                call_timeout: DEFAULT_CALL_TIMEOUT,
                on_connect: None,
                on_close: None,
                sockets: Arc::new(AtomicUsize::new(0)),
            }),
        }
    }

    fn edit(mut self, f: impl FnOnce(&mut Shared<S>)) -> Self {
        f(Arc::make_mut(&mut self.inner));
        self
    }

    /// Serves this namespace (such as `/admin`) too. Without any call, only
    /// `/` is served; once one is named, exactly the named ones are.
    pub fn namespace(self, path: impl Into<String>) -> Self {
        let path = path.into();
        self.edit(|s| s.namespaces.push(path))
    }

    /// Serves JSON-RPC on this event too, besides `message`.
    pub fn event(self, name: impl Into<String>) -> Self {
        let name: Arc<str> = Arc::from(name.into());
        self.edit(|s| {
            if !s.events.contains(&name) {
                s.events.push(name);
            }
        })
    }

    /// The event on which [`Client`] calls and notifies the page. Default:
    /// `message`.
    pub fn call_event(self, name: impl Into<String>) -> Self {
        let name: Arc<str> = Arc::from(name.into());
        self.edit(|s| s.call_event = name)
    }

    /// How long a [`Client`] call waits for the page's acknowledgement.
    /// Default: [`DEFAULT_CALL_TIMEOUT`].
    pub fn call_timeout(self, timeout: Duration) -> Self {
        self.edit(|s| s.call_timeout = timeout)
    }

    /// Runs `hook` when a socket joins a namespace, before its first event
    /// is handled, with its context and a [`Client`] for calling the page
    /// (spawn a task to use it: the hook must not block).
    pub fn on_connect(self, hook: impl Fn(&Context, Client) + Send + Sync + 'static) -> Self {
        self.edit(|s| s.on_connect = Some(Arc::new(hook)))
    }

    /// Runs `hook` once a socket is disconnected (by either side, a
    /// missed heartbeat, a broken transport), with its context.
    pub fn on_close(self, hook: impl Fn(&Context) + Send + Sync + 'static) -> Self {
        self.edit(|s| s.on_close = Some(Arc::new(hook)))
    }

    /// The router served.
    pub fn router(&self) -> &Arc<Router<S>> {
        &self.inner.router
    }

    /// Sockets currently connected to this server's namespaces.
    pub fn connections(&self) -> usize {
        self.inner.sockets.load(Ordering::Relaxed)
    }

    /// A socketioxide builder configured from the router's limits (see the
    /// type's docs): build your own layer or service from it, then
    /// [`attach`](Self::attach) this server to the `SocketIo` it returns.
    pub fn builder(&self) -> SocketIoBuilder {
        let limits = self.inner.router.limits();
        let library_max = limits.max_message_bytes.saturating_add(LIBRARY_SLACK);
        let parser = ParserConfig::common()
            .max_incoming_binary_buf_size(library_max)
            .max_incoming_binaries(16);
        let mut builder = SocketIo::builder()
            .max_payload(u64::try_from(library_max).unwrap_or(u64::MAX))
            .ws_max_message_size(library_max)
            .ws_max_frame_size(library_max)
            .max_buffer_size(limits.max_in_flight.saturating_mul(2).saturating_add(64))
            .ack_timeout(self.inner.call_timeout)
            .with_parser(parser);
        if let Some(idle) = limits.idle_timeout {
            let half = idle / 2;
            builder = builder
                .ping_interval(half.min(Duration::from_secs(25)))
                .ping_timeout(half.min(Duration::from_secs(20)))
                .connect_timeout(idle.min(Duration::from_secs(45)));
        }
        builder
    }

    /// Registers this server's namespaces on `io` (one made by
    /// [`builder`](Self::builder), or your own).
    pub fn attach(&self, io: &SocketIo) {
        for path in self.paths() {
            let shared = self.inner.clone();
            let gate = self.inner.clone();
            // Everything is set up in the middleware, which socketioxide
            // awaits before it tells the client it is connected: a client
            // emits at once, and its first event must find the handlers.
            let handler = move |s: SocketRef| {
                let shared = shared.clone();
                async move { shared.connected(&s) }
            };
            let admit = move |s: SocketRef, io: SocketIo| {
                let gate = gate.clone();
                async move { gate.admit(&s, io) }
            };
            io.ns(path, handler.with(admit));
        }
    }

    /// Disconnects every socket of this server's namespaces on `io` (each
    /// client gets a disconnect packet; `on_close` runs for each). When you
    /// run your own server, call it before `SocketIo::close`: socketioxide
    /// 0.18's close runs no disconnect handler.
    pub fn disconnect_all(&self, io: &SocketIo) {
        for path in self.paths() {
            if let Some(ns) = io.of(&*path) {
                for socket in ns.sockets() {
                    let _ = socket.disconnect();
                }
            }
        }
    }

    fn paths(&self) -> Vec<Cow<'static, str>> {
        if self.inner.namespaces.is_empty() {
            vec![Cow::Borrowed("/")]
        } else {
            self.inner.namespaces.iter().cloned().map(Cow::Owned).collect()
        }
    }

    /// The tower [`Layer`](tower_layer::Layer) for hyper, axum or any tower
    /// stack: Socket.IO requests (`/socket.io/`) are served, all others go
    /// to the wrapped service.
    pub fn layer(&self) -> (SocketIoLayer, SocketIo) {
        let (layer, io) = self.builder().build_layer();
        self.attach(&io);
        (layer, io)
    }

    /// A standalone tower/hyper service: Socket.IO at `/socket.io/`, 404
    /// for everything else.
    pub fn service(&self) -> (SocketIoService<NotFound>, SocketIo) {
        let (svc, io) = self.builder().build_svc();
        self.attach(&io);
        (svc, io)
    }

    /// Socket.IO at `/socket.io/` in front of `inner`, which serves every
    /// other request (see the `socketio_warp` example).
    pub fn service_with<T: Clone>(&self, inner: T) -> (SocketIoService<T>, SocketIo) {
        let (svc, io) = self.builder().build_with_inner_svc(inner);
        self.attach(&io);
        (svc, io)
    }

    /// Serves Socket.IO (WebSocket and HTTP long-polling) on `listener`
    /// until the task is dropped; any other path gets 404.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        self.serve_with_shutdown(listener, std::future::pending()).await
    }

    /// Serves until `signal` completes; then stops accepting, disconnects
    /// every socket (`on_close` runs for each), and returns once the HTTP
    /// connections are closed (at most 5 seconds later). TCP connections
    /// beyond twice [`Limits::max_connections`](sansrpc::Limits) (a polling
    /// client may hold two) are closed at once.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let (svc, io) = self.service();
        let limits = self.inner.router.limits().clone();
        let closing = io.clone();
        let disconnecting = self.clone();
        let signal = async move {
            signal.await;
            // Disconnect every socket first (socketioxide's own close runs
            // no disconnect handler, so `on_close` would be skipped), then
            // close the transports, so long-polling requests end.
            disconnecting.disconnect_all(&closing);
            closing.close().await;
        };
        serve_tower(listener, svc, &limits, signal).await?;
        io.close().await;
        Ok(())
    }
}

/// The Engine.IO service every request that is not Socket.IO falls
/// through to in [`SocketIoServer::service`]: 404.
pub type NotFound = engineioxide::service::NotFoundService;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Serves any tower service over HTTP/1.1 and HTTP/2 (with the upgrades a
/// WebSocket needs) on `listener` until `signal` completes, inserting
/// [`PeerAddr`] into every request: what [`SocketIoServer::serve`] runs,
/// for a [`SocketIoServer::service_with`] service of your own (see the
/// `socketio_warp` example).
///
/// A TCP connection that sends no complete request head within
/// `limits.idle_timeout` is closed; connections beyond twice
/// `limits.max_connections` are closed at once. After `signal`, open
/// connections get at most 5 seconds to finish.
pub async fn serve_tower<T, B>(
    listener: TcpListener,
    service: T,
    limits: &sansrpc::Limits,
    signal: impl Future<Output = ()>,
) -> io::Result<()>
where
    T: tower_service::Service<http::Request<Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + Sync
        + 'static,
    T::Future: Send + 'static,
    T::Error: Into<BoxError>,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let max_tcp = limits.max_connections.saturating_mul(2).max(1);
    let open = Arc::new(AtomicUsize::new(0));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    if let Some(idle) = limits.idle_timeout {
        builder.http1().timer(TokioTimer::new()).header_read_timeout(idle);
    }
    let builder = Arc::new(builder);
    let mut signal = pin!(signal);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut signal => break,
        };
        let (stream, addr) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors and the like: wait, then go on.
                tracing::debug!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if open.load(Ordering::Relaxed) >= max_tcp {
            drop(stream);
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(open.clone());
        let _ = stream.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(WithPeer {
            inner: service.clone(),
            addr,
        });
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let idle = limits.idle_timeout;
        tokio::spawn(async move {
            // hyper's auto builder reads before its HTTP/1 header timer
            // starts: a connection that sends nothing is ended here.
            if let Some(idle) = idle {
                // `readable()` may report a fresh socket ready; a peek
                // waits for a byte (or the end).
                let mut first = [0u8; 1];
                if !matches!(
                    tokio::time::timeout(idle, stream.peek(&mut first)).await,
                    Ok(Ok(1..))
                ) {
                    drop(slot);
                    return;
                }
            }
            let conn = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), svc)
                .into_owned();
            if let Err(e) = watcher.watch(conn).await {
                tracing::debug!(%addr, "HTTP connection failed: {e}");
            }
            drop(slot);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

/// Inserts [`PeerAddr`] into each request.
#[derive(Clone)]
struct WithPeer<T> {
    inner: T,
    addr: SocketAddr,
}

impl<T: tower_service::Service<http::Request<B>>, B> tower_service::Service<http::Request<B>>
    for WithPeer<T>
{
    type Response = T::Response;
    type Error = T::Error;
    type Future = T::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), T::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> T::Future {
        req.extensions_mut().insert(PeerAddr(self.addr));
        self.inner.call(req)
    }
}

struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A socket's place in the connection count, freed when socketioxide drops
/// the socket (its extensions with it).
#[derive(Clone)]
struct SlotHandle(#[allow(dead_code)] Arc<Slot>);

/// Refusal of a socket over [`Limits::max_connections`](sansrpc::Limits).
#[derive(Debug)]
struct TooManyConnections;

impl fmt::Display for TooManyConnections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many connections")
    }
}

/// One socket's JSON-RPC side.
struct SocketRpc<S> {
    router: Arc<Router<S>>,
    context: Context,
    /// Messages running now.
    running: Arc<Semaphore>,
    /// Messages waiting for a place to run.
    waiting: AtomicUsize,
    max_in_flight: usize,
}

impl<S: Clone + Send + Sync + 'static> Shared<S> {
    fn admit(&self, s: &SocketRef, io: SocketIo) -> Result<(), TooManyConnections> {
        let max = self.router.limits().max_connections;
        if self.sockets.fetch_add(1, Ordering::Relaxed) >= max {
            self.sockets.fetch_sub(1, Ordering::Relaxed);
            tracing::debug!(max, "refusing a Socket.IO connection: too many connections");
            return Err(TooManyConnections);
        }
        s.extensions
            .insert(SlotHandle(Arc::new(Slot(self.sockets.clone()))));
        self.set_up(s, io);
        Ok(())
    }

    /// Runs the `on_connect` hook once the client knows it is connected.
    fn connected(&self, s: &SocketRef) {
        if let (Some(hook), Some(Welcome(context, client))) =
            (&self.on_connect, s.extensions.get::<Welcome>())
        {
            hook(&context, client);
        }
        // Only the hook needed them.
        s.extensions.remove::<Welcome>();
    }

    fn set_up(&self, s: &SocketRef, io: SocketIo) {
        let limits = self.router.limits();
        let client = Client::new(
            io,
            s.ns().to_owned(),
            s.id,
            self.call_event.clone(),
            limits,
            self.call_timeout,
        );
        let info = SocketInfo {
            id: s.id.to_string(),
            namespace: s.ns().to_owned(),
            transport: s.transport_type(),
            protocol: s.protocol(),
        };
        let parts = s.req_parts();
        let state = ConnectionState::default();
        state.insert(client.clone());
        let mut builder = Context::builder(Transport::SocketIo)
            .headers(parts.headers.clone())
            .connection(state)
            .extension(client.clone())
            .extension(info);
        if let Some(PeerAddr(addr)) = parts.extensions.get::<PeerAddr>() {
            builder = builder.peer_addr(*addr);
        }
        let context = builder.build();
        let rpc = Arc::new(SocketRpc {
            router: self.router.clone(),
            context: context.clone(),
            running: Arc::new(Semaphore::new(limits.max_in_flight.max(1))),
            waiting: AtomicUsize::new(0),
            max_in_flight: limits.max_in_flight.max(1),
        });
        for event in &self.events {
            let rpc = rpc.clone();
            s.on(
                event.to_string(),
                move |s: SocketRef, RawEvent(data): RawEvent, ack: AckSender| {
                    let rpc = rpc.clone();
                    async move { rpc.handle(s, data, ack).await }
                },
            );
        }
        let on_close = self.on_close.clone();
        let close_ctx = context.clone();
        s.on_disconnect(move || async move {
            if let Some(hook) = on_close {
                hook(&close_ctx);
            }
        });
        if self.on_connect.is_some() {
            s.extensions.insert(Welcome(context, client));
        }
    }
}

/// What the `on_connect` hook is handed, kept from the middleware to the
/// connect handler.
#[derive(Clone)]
struct Welcome(Context, Client);

impl<S: Clone + Send + Sync + 'static> SocketRpc<S> {
    async fn handle(&self, s: SocketRef, data: Option<String>, ack: AckSender) {
        let (bytes, as_text) = match data.as_deref().map(event_arg) {
            Some(Arg::Json(b)) => (b, false),
            Some(Arg::Text(b)) => (b, true),
            Some(Arg::Missing) | None => (Vec::new(), false),
        };
        drop(data);
        let _permit = match self.running.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.max_in_flight {
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
                    tracing::debug!(sid = %s.id, "disconnecting a Socket.IO client: too many messages in flight");
                    let _ = s.disconnect();
                    return;
                }
                let permit = self.running.clone().acquire_owned().await;
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                match permit {
                    Ok(p) => p,
                    Err(_) => return,
                }
            }
        };
        let answer = self.router.handle_message(&bytes, self.context.clone()).await;
        drop(bytes);
        let sent = match answer {
            // An empty tuple is an acknowledgement without arguments.
            None => ack.send(&[(); 0]),
            Some(answer) => {
                let text = String::from_utf8_lossy(&answer).into_owned();
                if as_text {
                    ack.send(&text)
                } else {
                    match RawValue::from_string(text) {
                        Ok(raw) => ack.send(&raw),
                        Err(_) => Ok(()),
                    }
                }
            }
        };
        if let Err(e) = sent {
            tracing::debug!(sid = %s.id, "disconnecting a Socket.IO client whose answer cannot be sent: {e}");
            let _ = s.disconnect();
        }
    }
}
