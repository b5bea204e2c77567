//! JSON-RPC over WebSocket: one message per text frame, calls in both
//! directions.
//!
//! [`WsServer::serve_socket`] is the one WebSocket connection driver of the
//! workspace. It is generic over a stream of [`WsFrame`]s and a sink of
//! them, so the warp and actix-web adapters hand it their own socket types
//! (adapted frame by frame) and every WebSocket endpoint behaves alike;
//! [`WsServer::serve`] runs it on a TCP listener with tokio-tungstenite,
//! and [`Client::connect_ws`] is the client.

use std::collections::VecDeque;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll, ready};
use std::time::{Duration, Instant};

use futures_util::{Sink, SinkExt, Stream, StreamExt};
use sansrpc::{
    ClientConnection, Connection, ConnectionState, Context, ContextBuilder, Messages, Peer, Router, Transport,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::protocol::frame::CloseFrame;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::client::{Client, ClientBuilder, ClientSide, PeerConnection, PeerSide};
use crate::driver::{Msg, Side, accept_loop};
use crate::server::Dispatcher;

/// The default for [`WsServer::ping_interval`]: 30 seconds.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);

/// How long a closing connection waits for the remote's close frame (and
/// for its last frames to be written) before it drops the socket.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Extra room the WebSocket library is given over
/// [`Limits::max_message_bytes`](sansrpc::Limits): a message somewhat over
/// the limit reaches the core, which answers `-32600` and keeps the
/// connection; one far over it is refused by the library, which closes with
/// `1009`.
const LIBRARY_SLACK: usize = 64 * 1024;

/// One WebSocket frame (a whole message: fragments already joined), in the
/// library-neutral form the connection driver reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsFrame {
    /// A text message: one JSON-RPC message (or batch).
    Text(String),
    /// A binary message: refused with a close `1003`.
    Binary(Vec<u8>),
    /// A ping: answered with a pong carrying the same payload.
    Ping(Vec<u8>),
    /// A pong: proof the remote is alive.
    Pong(Vec<u8>),
    /// A close frame, with its code and reason if it had one.
    Close(Option<WsClose>),
}

/// A close frame's status code and reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsClose {
    /// The status code (RFC 6455 §7.4).
    pub code: u16,
    /// A short human-readable reason (at most 123 bytes on the wire).
    pub reason: String,
}

impl WsClose {
    /// `1000`: the connection did what it was for.
    pub const NORMAL: u16 = 1000;
    /// `1001`: the endpoint is going away (shutdown, idle timeout).
    pub const GOING_AWAY: u16 = 1001;
    /// `1002`: the remote broke the WebSocket protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// `1003`: a kind of data this endpoint does not accept (binary frames).
    pub const UNSUPPORTED_DATA: u16 = 1003;
    /// `1007`: a text frame that is not UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// `1009`: a message too big to process.
    pub const MESSAGE_TOO_BIG: u16 = 1009;

    /// A close frame with `code` and `reason`.
    pub fn new(code: u16, reason: impl Into<String>) -> Self {
        Self {
            code,
            reason: reason.into(),
        }
    }

    /// The close that refuses a binary frame.
    pub fn binary_refused() -> Self {
        Self::new(
            Self::UNSUPPORTED_DATA,
            "binary frames are not supported: send each JSON-RPC message as a text frame",
        )
    }
}

/// A WebSocket library's read error, with the close frame it calls for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsError {
    /// The close frame to send before dropping the socket, if the error
    /// leaves the socket able to send one.
    pub close: Option<WsClose>,
    /// What went wrong, for logs.
    pub message: String,
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for WsError {}

impl WsError {
    /// A read error from any library whose errors wrap a tungstenite error
    /// (tokio-tungstenite, warp): a message over the size limit closes with
    /// `1009`, a text frame that is not UTF-8 with `1007`, a broken frame
    /// with `1002`; an I/O error or an already closed socket sends nothing.
    pub fn from_error(error: &(dyn std::error::Error + 'static)) -> Self {
        let message = error.to_string();
        let mut source = Some(error);
        while let Some(e) = source {
            if let Some(t) = e.downcast_ref::<tungstenite::Error>() {
                let close = match t {
                    tungstenite::Error::Capacity(_) => {
                        Some(WsClose::new(WsClose::MESSAGE_TOO_BIG, "message too big"))
                    }
                    tungstenite::Error::Utf8(_) => Some(WsClose::new(
                        WsClose::INVALID_PAYLOAD,
                        "a text frame that is not UTF-8",
                    )),
                    tungstenite::Error::Protocol(_) => {
                        Some(WsClose::new(WsClose::PROTOCOL_ERROR, "WebSocket protocol error"))
                    }
                    _ => None,
                };
                return Self { close, message };
            }
            source = e.source();
        }
        Self { close: None, message }
    }
}

/// A tungstenite message as a [`WsFrame`] (`None` for a raw frame, which
/// reading never yields).
pub(crate) fn from_tungstenite(message: tungstenite::Message) -> Option<WsFrame> {
    Some(match message {
        tungstenite::Message::Text(t) => WsFrame::Text(t.as_str().to_owned()),
        tungstenite::Message::Binary(b) => WsFrame::Binary(b.to_vec()),
        tungstenite::Message::Ping(p) => WsFrame::Ping(p.to_vec()),
        tungstenite::Message::Pong(p) => WsFrame::Pong(p.to_vec()),
        tungstenite::Message::Close(c) => {
            WsFrame::Close(c.map(|c| WsClose::new(c.code.into(), c.reason.as_str())))
        }
        tungstenite::Message::Frame(_) => return None,
    })
}

/// A [`WsFrame`] as a tungstenite message.
pub(crate) fn to_tungstenite(frame: WsFrame) -> tungstenite::Message {
    match frame {
        WsFrame::Text(t) => tungstenite::Message::text(t),
        WsFrame::Binary(b) => tungstenite::Message::binary(b),
        WsFrame::Ping(p) => tungstenite::Message::Ping(p.into()),
        WsFrame::Pong(p) => tungstenite::Message::Pong(p.into()),
        WsFrame::Close(c) => tungstenite::Message::Close(c.map(|c| CloseFrame {
            code: c.code.into(),
            reason: c.reason.into(),
        })),
    }
}

/// Splits a tokio-tungstenite socket into the driver's frame stream and
/// sink.
fn tungstenite_parts<IO>(
    socket: tokio_tungstenite::WebSocketStream<IO>,
) -> (
    impl Stream<Item = Result<WsFrame, WsError>> + Send,
    impl Sink<WsFrame, Error = tungstenite::Error> + Send,
)
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let (sink, stream) = socket.split();
    let stream = stream.filter_map(|r| {
        std::future::ready(match r {
            Ok(m) => from_tungstenite(m).map(Ok),
            Err(e) => Some(Err(WsError::from_error(&e))),
        })
    });
    let sink = sink.with(|f: WsFrame| std::future::ready(Ok::<_, tungstenite::Error>(to_tungstenite(f))));
    (stream, sink)
}

/// The tokio-tungstenite configuration for `max_message_bytes`.
fn tungstenite_config(max_message_bytes: usize) -> WebSocketConfig {
    let max = WsServer::<()>::library_limit_for(max_message_bytes);
    WebSocketConfig::default()
        .max_message_size(Some(max))
        .max_frame_size(Some(max))
}

/// How one WebSocket connection behaves beyond the protocol.
#[derive(Clone, Debug)]
pub(crate) struct WsTask {
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) idle_timeout: Option<Duration>,
    /// Cancelled: stop reading, finish the calls in flight, close.
    pub(crate) shutdown: CancellationToken,
    /// Cancelled: close at once.
    pub(crate) abort: CancellationToken,
}

/// Moves queued frames into the sink and flushes it; ready once everything
/// queued is flushed, or with the sink's error.
fn pump<Si: Sink<WsFrame>>(
    cx: &mut TaskContext<'_>,
    mut sink: Pin<&mut Si>,
    queue: &mut VecDeque<WsFrame>,
    unflushed: &mut bool,
) -> Poll<Result<(), Si::Error>> {
    while !queue.is_empty() {
        ready!(sink.as_mut().poll_ready(cx))?;
        if let Some(frame) = queue.pop_front() {
            sink.as_mut().start_send(frame)?;
            *unflushed = true;
        }
    }
    if *unflushed {
        ready!(sink.as_mut().poll_flush(cx))?;
        *unflushed = false;
    }
    Poll::Ready(Ok(()))
}

/// Runs one WebSocket connection: text frames in → the state machine →
/// text frames out, with answers and commands arriving over `rx`. Returns
/// once the connection is over and a close frame was sent (when the
/// socket could still take one).
pub(crate) async fn drive_ws<Sd, St, Si>(
    stream: St,
    sink: Si,
    side: &mut Sd,
    rx: &mut mpsc::UnboundedReceiver<Msg>,
    task: &WsTask,
) -> io::Result<()>
where
    Sd: Side,
    St: Stream<Item = Result<WsFrame, WsError>>,
    Si: Sink<WsFrame>,
    Si::Error: fmt::Display,
{
    let mut stream = pin!(stream);
    let mut sink = pin!(sink);
    // Frames taken from the machine and not yet in the sink. The machine is
    // asked for more only once these are out, so its outgoing limit is what
    // pauses reading when the remote does not read its answers.
    let mut queue: VecDeque<WsFrame> = VecDeque::new();
    let mut unflushed = false;
    let mut draining = false;
    let mut last_seen = Instant::now();
    let mut next_ping = task.ping_interval.map(|p| Instant::now() + p);

    // The close frame to send (None: the socket is gone), and the error.
    let (close, result): (Option<WsClose>, io::Result<()>) = loop {
        loop {
            side.step();
            if queue.is_empty() {
                let mut took = false;
                while let Some(message) = side.machine().poll_transmit_message() {
                    let text = String::from_utf8(message)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                    queue.push_back(WsFrame::Text(text));
                    took = true;
                }
                // Taking output may lift backpressure: step again.
                if took {
                    continue;
                }
            }
            break;
        }
        let m = side.machine();
        if queue.is_empty() && !unflushed && (m.is_finished() || (draining && m.serving() == 0)) {
            let reason = if draining { "shutting down" } else { "" };
            let code = if draining {
                WsClose::GOING_AWAY
            } else {
                WsClose::NORMAL
            };
            break (Some(WsClose::new(code, reason)), Ok(()));
        }

        let wants_read = !draining && m.wants_input();
        // With pings on, a live remote always answers within the idle time,
        // so silence means it is gone, whatever is in flight; without them,
        // only a connection with nothing to do is idle.
        let idle_at = match task.idle_timeout {
            Some(limit) if wants_read && (next_ping.is_some() || (queue.is_empty() && m.is_idle())) => {
                Some(last_seen + limit)
            }
            _ => None,
        };
        let wake_at = [idle_at, m.poll_timeout(), next_ping].into_iter().flatten().min();
        let sleep = tokio::time::sleep_until(wake_at.unwrap_or_else(Instant::now).into());
        let writing = !queue.is_empty() || unflushed;

        tokio::select! {
            frame = stream.next(), if wants_read => {
                last_seen = Instant::now();
                match frame {
                    None => break (None, Ok(())),
                    Some(Err(e)) => break (e.close.clone(), Err(io::Error::other(e))),
                    Some(Ok(WsFrame::Text(text))) => {
                        // Cannot fail: input is only fed before EOF.
                        let _ = side.machine().handle_input(text.as_bytes());
                    }
                    Some(Ok(WsFrame::Binary(_))) => break (Some(WsClose::binary_refused()), Ok(())),
                    Some(Ok(WsFrame::Ping(payload))) => queue.push_back(WsFrame::Pong(payload)),
                    Some(Ok(WsFrame::Pong(_))) => {}
                    // The remote is done; after its close no answer can be
                    // sent, so the connection ends here.
                    Some(Ok(WsFrame::Close(_))) => {
                        side.machine().handle_eof();
                        side.step();
                        break (Some(WsClose::new(WsClose::NORMAL, "")), Ok(()));
                    }
                }
            },
            sent = poll_fn(|cx| pump(cx, sink.as_mut(), &mut queue, &mut unflushed)), if writing => {
                if let Err(e) = sent {
                    break (None, Err(io::Error::other(e.to_string())));
                }
            },
            msg = rx.recv() => match msg {
                Some(msg) => {
                    if side.on_msg(msg) {
                        draining = true;
                    }
                }
                // Only a client's channel closes: every handle is gone.
                None => break (Some(WsClose::new(WsClose::NORMAL, "")), Ok(())),
            },
            () = sleep, if wake_at.is_some() => {
                let now = Instant::now();
                if idle_at.is_some_and(|t| t <= now) {
                    tracing::debug!("closing idle WebSocket connection");
                    break (Some(WsClose::new(WsClose::GOING_AWAY, "idle timeout")), Ok(()));
                }
                if let (Some(at), Some(every)) = (next_ping, task.ping_interval) {
                    if at <= now {
                        queue.push_back(WsFrame::Ping(Vec::new()));
                        next_ping = Some(now + every);
                    }
                }
                side.machine().handle_timeout(now);
            },
            () = task.shutdown.cancelled(), if !draining => draining = true,
            () = task.abort.cancelled() => {
                break (Some(WsClose::new(WsClose::GOING_AWAY, "shutting down")), Ok(()));
            }
        }
    };
    // Our own calls still waiting fail now rather than at their deadline.
    side.machine().handle_eof();
    side.step();

    if let Some(close) = close {
        // Best effort, bounded: what was queued, then the close frame; then
        // wait for the remote's close so it sees a clean close handshake.
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            queue.push_back(WsFrame::Close(Some(close)));
            if poll_fn(|cx| pump(cx, sink.as_mut(), &mut queue, &mut unflushed))
                .await
                .is_err()
            {
                return;
            }
            while let Some(Ok(frame)) = stream.next().await {
                if matches!(frame, WsFrame::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
    let _ = tokio::time::timeout(CLOSE_GRACE, poll_fn(|cx| sink.as_mut().poll_close(cx))).await;
    result
}

type ConnectHook = Arc<dyn Fn(&Context, Client) + Send + Sync>;
type CloseHook = Arc<dyn Fn(&Context) + Send + Sync>;

/// A JSON-RPC server over WebSocket, where the server may also call its
/// clients: one JSON-RPC message (or batch) per text frame.
///
/// Each connection runs the core's [`Peer`] with the [`Messages`] framer:
///
/// - the remote's calls run as tasks on the runtime, concurrently; the
///   connection keeps reading and dispatching while they run, so a handler
///   may await a call to the client while the client calls the server;
/// - handlers (and [`on_connect`](Self::on_connect)) get a [`Client`] for
///   the remote: in the connection's state
///   (`ctx.connection().get::<Client>()`) and as an
///   [`Extension<Client>`](sansrpc::Extension); its calls are matched by id
///   and time out after the [`callbacks`](Self::callbacks) timeout;
/// - a binary frame is refused with close `1003` and a reason;
/// - limits are the router's: a message over
///   [`Limits::max_message_bytes`](sansrpc::Limits) is answered `-32600`
///   (far over it, the WebSocket library closes with `1009`, see
///   [`library_limit`](Self::library_limit)); beyond
///   `max_in_flight` calls reading pauses; a connection that is silent for
///   `idle_timeout` is closed with `1001`;
/// - a ping goes out every [`ping_interval`](Self::ping_interval) (default
///   [`DEFAULT_PING_INTERVAL`]); every frame received, pongs included,
///   counts as life, so a live client stays connected and a vanished one
///   is closed after the idle timeout;
/// - [`on_close`](Self::on_close) runs once the connection is over.
///
/// ```no_run
/// use sansrpc::Router;
/// use sansrpc_tokio::{Client, WsServer};
///
/// #[tokio::main]
/// async fn main() -> std::io::Result<()> {
///     let mut router = Router::new();
///     router.method("ping", || "pong").unwrap();
///     let server = WsServer::new(router).on_connect(|_ctx, client: Client| {
///         tokio::spawn(async move {
///             let _ = client.notify("server.notice", serde_json::json!({"text": "welcome"})).await;
///         });
///     });
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
///     server.serve(listener).await
/// }
/// ```
#[must_use]
pub struct WsServer<S = ()> {
    router: Arc<Router<S>>,
    ping_interval: Option<Duration>,
    callbacks: ClientBuilder,
    on_connect: Option<ConnectHook>,
    on_close: Option<CloseHook>,
    shutdown_timeout: Option<Duration>,
}

impl<S> Clone for WsServer<S> {
    fn clone(&self) -> Self {
        Self {
            router: self.router.clone(),
            ping_interval: self.ping_interval,
            callbacks: self.callbacks.clone(),
            on_connect: self.on_connect.clone(),
            on_close: self.on_close.clone(),
            shutdown_timeout: self.shutdown_timeout,
        }
    }
}

impl<S> fmt::Debug for WsServer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsServer")
            .field("ping_interval", &self.ping_interval)
            .field("callbacks", &self.callbacks)
            .field("on_connect", &self.on_connect.is_some())
            .field("on_close", &self.on_close.is_some())
            .finish_non_exhaustive()
    }
}

impl<S: Clone + Send + Sync + 'static> WsServer<S> {
    /// A server for `router` (a [`Router`] or an `Arc` of one).
    pub fn new(router: impl Into<Arc<Router<S>>>) -> Self {
        Self {
            router: router.into(),
            ping_interval: Some(DEFAULT_PING_INTERVAL),
            callbacks: ClientBuilder::new(),
            on_connect: None,
            on_close: None,
            shutdown_timeout: None,
        }
    }

    /// How often to send a ping (`None`: never). Default:
    /// [`DEFAULT_PING_INTERVAL`].
    pub fn ping_interval(mut self, every: Option<Duration>) -> Self {
        self.ping_interval = every;
        self
    }

    /// Options of the [`Client`] that calls the remote back: its default
    /// timeout (default: [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT)).
    pub fn callbacks(mut self, callbacks: ClientBuilder) -> Self {
        self.callbacks = callbacks;
        self
    }

    /// Runs `hook` when a connection opens, before its first message is
    /// read, with the connection's context and a [`Client`] for calling or
    /// notifying the remote (spawn a task to use it: the hook itself must
    /// not block).
    pub fn on_connect(mut self, hook: impl Fn(&Context, Client) + Send + Sync + 'static) -> Self {
        self.on_connect = Some(Arc::new(hook));
        self
    }

    /// Runs `hook` once a connection is over (closed by either side, idle,
    /// broken), with the connection's context.
    pub fn on_close(mut self, hook: impl Fn(&Context) + Send + Sync + 'static) -> Self {
        self.on_close = Some(Arc::new(hook));
        self
    }

    /// How long a graceful shutdown waits for calls in flight before it
    /// closes the remaining connections anyway. Default: no limit.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = Some(timeout);
        self
    }

    /// The router served.
    pub fn router(&self) -> &Arc<Router<S>> {
        &self.router
    }

    /// The message size to configure in the WebSocket library: the
    /// router's `max_message_bytes` plus 64 KiB. A message between the two
    /// reaches the core, which answers `-32600` and keeps the connection;
    /// the library refuses larger ones itself (close `1009`) before holding
    /// them.
    pub fn library_limit(&self) -> usize {
        Self::library_limit_for(self.router.limits().max_message_bytes)
    }

    pub(crate) fn library_limit_for(max_message_bytes: usize) -> usize {
        max_message_bytes.saturating_add(LIBRARY_SLACK)
    }

    /// Serves one WebSocket connection whose handshake is done, given as a
    /// stream of frames and a sink for them: the driver every WebSocket
    /// endpoint of sansrpc runs (the warp and actix-web adapters adapt
    /// their sockets to it). Handlers see the context built from `context`
    /// (it gets the connection's state and the [`Client`] extension).
    ///
    /// Returns when the connection is over, after the `on_close` hook ran;
    /// an error says what broke it.
    pub async fn serve_socket<St, Si>(&self, stream: St, sink: Si, context: ContextBuilder) -> io::Result<()>
    where
        St: Stream<Item = Result<WsFrame, WsError>>,
        Si: Sink<WsFrame>,
        Si::Error: fmt::Display,
    {
        let task = WsTask {
            ping_interval: self.ping_interval,
            idle_timeout: self.router.limits().idle_timeout,
            shutdown: CancellationToken::new(),
            abort: CancellationToken::new(),
        };
        self.run(stream, sink, context, &task, TaskTracker::new()).await
    }

    async fn run<St, Si>(
        &self,
        stream: St,
        sink: Si,
        context: ContextBuilder,
        task: &WsTask,
        tasks: TaskTracker,
    ) -> io::Result<()>
    where
        St: Stream<Item = Result<WsFrame, WsError>>,
        Si: Sink<WsFrame>,
        Si::Error: fmt::Display,
    {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let client = self.callbacks.handle(tx.clone());
        let state = ConnectionState::default();
        state.insert(client.clone());
        let context = context.connection(state).extension(client.clone()).build();
        let limits = self.router.limits().clone();
        let machine = Peer::new(Messages::new(limits.max_message_bytes), limits);
        let dispatcher = Dispatcher::new(self.router.clone(), context.clone(), tx, tasks);
        let mut side = PeerSide::with_machine(machine, dispatcher);
        if let Some(hook) = &self.on_connect {
            hook(&context, client);
        }
        let result = drive_ws(stream, sink, &mut side, &mut rx, task).await;
        if let Some(hook) = &self.on_close {
            hook(&context);
        }
        result
    }

    /// Accepts the WebSocket handshake on `io` (any path) and serves the
    /// connection (tokio-tungstenite). Handlers see `context` plus the
    /// request's headers.
    pub async fn serve_stream<IO>(&self, io: IO, context: ContextBuilder) -> io::Result<()>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let task = WsTask {
            ping_interval: self.ping_interval,
            idle_timeout: self.router.limits().idle_timeout,
            shutdown: CancellationToken::new(),
            abort: CancellationToken::new(),
        };
        self.accept(io, context, &task, TaskTracker::new()).await
    }

    async fn accept<IO>(
        &self,
        io: IO,
        context: ContextBuilder,
        task: &WsTask,
        tasks: TaskTracker,
    ) -> io::Result<()>
    where
        IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let config = tungstenite_config(self.router.limits().max_message_bytes);
        let mut headers = http_headers::HeaderMap::new();
        // The error type is the one tungstenite's callback signature asks for.
        #[allow(clippy::result_large_err)]
        let callback = |request: &tungstenite::handshake::server::Request,
                        response: tungstenite::handshake::server::Response| {
            headers = request.headers().clone();
            Ok(response)
        };
        let handshake = tokio_tungstenite::accept_hdr_async_with_config(io, callback, Some(config));
        // A client that never finishes its handshake is idle too.
        let socket = match self.router.limits().idle_timeout {
            Some(limit) => tokio::time::timeout(limit, handshake)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "WebSocket handshake timed out"))?,
            None => handshake.await,
        }
        .map_err(io::Error::other)?;
        let (stream, sink) = tungstenite_parts(socket);
        self.run(stream, sink, context.headers(headers), task, tasks)
            .await
    }

    /// Serves WebSocket connections from `listener` (at any path) until the
    /// task is dropped.
    pub async fn serve(self, listener: TcpListener) -> io::Result<()> {
        self.serve_with_shutdown(listener, std::future::pending()).await
    }

    /// Serves WebSocket connections from `listener` until `signal`
    /// completes; then stops accepting, lets the calls in flight finish and
    /// their answers go out, closes every connection with `1001`, and
    /// returns. Connections beyond
    /// [`Limits::max_connections`](sansrpc::Limits) are closed at once.
    pub async fn serve_with_shutdown(
        self,
        listener: TcpListener,
        signal: impl Future<Output = ()>,
    ) -> io::Result<()> {
        let task = WsTask {
            ping_interval: self.ping_interval,
            idle_timeout: self.router.limits().idle_timeout,
            shutdown: CancellationToken::new(),
            abort: CancellationToken::new(),
        };
        accept_loop(
            listener,
            self.router.limits().max_connections,
            signal,
            &task.shutdown,
            &task.abort,
            self.shutdown_timeout,
            |stream, addr, conn_tasks| {
                let server = self.clone();
                let task = task.clone();
                async move {
                    let context = Context::builder(Transport::WebSocket).peer_addr(addr);
                    if let Err(e) = server.accept(stream, context, &task, conn_tasks).await {
                        tracing::debug!(%addr, "WebSocket connection failed: {e}");
                    }
                }
            },
        )
        .await
    }
}

/// The `http` crate as tungstenite re-exports it (its handshake types).
mod http_headers {
    pub(crate) use tokio_tungstenite::tungstenite::http::HeaderMap;
}

impl Client {
    /// Connects to a WebSocket JSON-RPC server (`ws://host:port/path`) with
    /// the default options. Calls to the client from the server are
    /// answered "method not found"; use [`ClientBuilder::connect_ws_peer`]
    /// to serve a router.
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use sansrpc::{BatchEntry, RawParams};
    /// let client = sansrpc_tokio::Client::connect_ws("ws://127.0.0.1:5000/ws").await?;
    /// let pong: String = client.call("ping", ()).await?;
    /// client.notify("log", ["hello"]).await?;
    /// let answers = client.batch([BatchEntry::call("ping", RawParams::none())]).await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect_ws(url: &str) -> io::Result<Client> {
        ClientBuilder::new().connect_ws(url).await
    }
}

async fn open_ws(
    url: &str,
    limits: &sansrpc::Limits,
) -> io::Result<tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>> {
    let config = tungstenite_config(limits.max_message_bytes);
    let (socket, _response) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
        .await
        .map_err(|e| match e {
            tungstenite::Error::Io(e) => e,
            other => io::Error::other(other),
        })?;
    Ok(socket)
}

impl ClientBuilder {
    /// Connects to a WebSocket JSON-RPC server (`ws://host:port/path`).
    /// The connection closes (with `1000`) when the last handle is dropped
    /// or [`Client::close`] is called.
    pub async fn connect_ws(self, url: &str) -> io::Result<Client> {
        let socket = open_ws(url, &self.limits).await?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let limits = self.limits.clone();
        let mut side = ClientSide::new(ClientConnection::new(
            Messages::new(limits.max_message_bytes),
            limits,
        ));
        let task = client_task();
        tokio::spawn(async move {
            let (stream, sink) = tungstenite_parts(socket);
            if let Err(e) = drive_ws(stream, sink, &mut side, &mut rx, &task).await {
                tracing::debug!("WebSocket client connection failed: {e}");
            }
        });
        Ok(self.handle(tx))
    }

    /// Connects to a WebSocket JSON-RPC server in peer mode: `router`
    /// answers the server's calls (their context has
    /// [`Transport::WebSocket`], and the [`Client`] to the server in its
    /// connection state), and the returned connection calls the server.
    /// It stays open until [`Client::close`] or the server closes it.
    pub async fn connect_ws_peer<S: Clone + Send + Sync + 'static>(
        self,
        url: &str,
        router: impl Into<Arc<Router<S>>>,
    ) -> io::Result<PeerConnection> {
        let socket = open_ws(url, &self.limits).await?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let client = self.handle(tx.clone());
        let state = ConnectionState::default();
        state.insert(client.clone());
        let context = Context::builder(Transport::WebSocket)
            .connection(state)
            .extension(client.clone())
            .build();
        let router = router.into();
        let limits = router.limits().clone();
        let machine = Peer::new(Messages::new(limits.max_message_bytes), limits);
        let mut side =
            PeerSide::with_machine(machine, Dispatcher::new(router, context, tx, TaskTracker::new()));
        let task = client_task();
        let task = tokio::spawn(async move {
            let (stream, sink) = tungstenite_parts(socket);
            drive_ws(stream, sink, &mut side, &mut rx, &task).await
        });
        Ok(PeerConnection { client, task })
    }
}

/// A client connection: no pings of its own (it answers the server's) and
/// no idle timeout.
fn client_task() -> WsTask {
    WsTask {
        ping_interval: None,
        idle_timeout: None,
        shutdown: CancellationToken::new(),
        abort: CancellationToken::new(),
    }
}
