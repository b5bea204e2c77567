//! JSON-RPC over WebSocket: one message per text frame, calls in both
//! directions, on the same driver as byte streams (`driver.rs`), over any
//! stream of [`WsFrame`]s and sink of them. The runtime crates provide the
//! handshake (tokio-tungstenite in `sansrpc-tokio`); warp and actix-web
//! hand their own sockets to [`WsServer::serve_socket`].

use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use futures_util::future::{Either, select};
use futures_util::{Sink, Stream, StreamExt};
use sansrpc::conn::{Connection, Messages};
use sansrpc::{ConnectionState, Context, ContextBuilder, Router, Transport};

use crate::client::{Client, ClientBuilder, PeerConnection};
use crate::driver::{CLOSE_GRACE, Close, End, Read, Signals, Transport as Io, drive};
use crate::runtime::{Listen, Runtime, sleep_until};
use crate::server::accept_loop;
use crate::side::PeerSide;

/// The default for [`WsServer::ping_interval`]: 30 seconds.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);

/// Extra room the WebSocket library is given over
/// [`Limits::max_message_bytes`](sansrpc::Limits): a message somewhat over
/// the limit reaches the core, which answers `-32600` and keeps the
/// connection; one far over it is refused by the library, which closes with
/// `1009`.
const LIBRARY_SLACK: usize = 64 * 1024;

/// The message size to configure in a WebSocket library for
/// `max_message_bytes`: 64 KiB more (see [`WsServer::library_limit`]).
pub fn library_limit(max_message_bytes: usize) -> usize {
    max_message_bytes.saturating_add(LIBRARY_SLACK)
}

/// One WebSocket frame (a whole message: fragments already joined), in the
/// library-neutral form the connection driver reads and writes.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WsFrame {
    /// A text message: one JSON-RPC message (or batch).
    Text(String),
    /// A binary message: refused with a close `1003`.
    Binary(Vec<u8>),
    /// A ping: answered with a pong carrying the same payload (only the
    /// latest of several, RFC 6455 §5.5.3).
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

/// A boxed stream of frames, as the runtime glue hands them over.
pub type WsFrames = Pin<Box<dyn Stream<Item = Result<WsFrame, WsError>> + Send>>;
/// A boxed sink of frames, as the runtime glue hands it over.
pub type WsSink = Pin<Box<dyn Sink<WsFrame, Error = io::Error> + Send>>;

/// How a runtime's WebSocket library accepts the handshake on a stream of
/// type `IO` (`sansrpc-tokio`: tokio-tungstenite).
pub trait WsAccept<IO>: Runtime {
    /// Completes the server handshake (refusing messages over
    /// `library_limit` bytes); returns the request's headers and the frames.
    fn upgrade(
        io: IO,
        library_limit: usize,
    ) -> impl Future<Output = io::Result<(http::HeaderMap, WsFrames, WsSink)>> + Send;
}

/// How a runtime's WebSocket library connects to a `ws://` URL.
pub trait WsConnect: Runtime {
    /// Connects and completes the client handshake.
    fn connect_ws(
        url: &str,
        library_limit: usize,
    ) -> impl Future<Output = io::Result<(WsFrames, WsSink)>> + Send;
}

/// A frame stream and sink as the driver's transport.
pub(crate) struct Frames<St, Si> {
    stream: Pin<Box<St>>,
    sink: Pin<Box<Si>>,
    /// The frame being sent; at most one is taken from the connection at a
    /// time, so the core's output bound holds.
    sending: Option<WsFrame>,
    unflushed: bool,
    /// The latest ping to answer: one pending pong at most.
    pong: Option<Vec<u8>>,
    /// A pong handed to the sink (by the driver, or queued by a library
    /// that answers pings itself as it read the ping) and not yet flushed.
    /// Reading pauses meanwhile (beyond one frame, to see a close), so a
    /// peer that pings and never reads makes the library hold one pong, not
    /// one per ping.
    pong_unflushed: bool,
    answer_pings: bool,
    ping_every: Option<Duration>,
    next_ping: Option<Instant>,
    ping_due: bool,
    /// A frame read while the connection wanted no input (to see a close).
    unwanted: bool,
    /// The close to send after the transport ended the connection; `None`
    /// inside when the socket can take none.
    close: Option<Option<WsClose>>,
}

impl<St, Si> Frames<St, Si>
where
    St: Stream<Item = Result<WsFrame, WsError>>,
    Si: Sink<WsFrame>,
    Si::Error: fmt::Display,
{
    fn new(stream: St, sink: Si, ping_every: Option<Duration>, answer_pings: bool) -> Self {
        Self {
            stream: Box::pin(stream),
            sink: Box::pin(sink),
            sending: None,
            unflushed: false,
            pong: None,
            pong_unflushed: false,
            answer_pings,
            ping_every,
            next_ping: ping_every.map(|p| Instant::now() + p),
            ping_due: false,
            unwanted: false,
            close: None,
        }
    }

    /// Whether a pong waits: to be handed to the sink, or to be flushed.
    fn pong_held(&self) -> bool {
        self.pong.is_some() || self.pong_unflushed || matches!(self.sending, Some(WsFrame::Pong(_)))
    }

    /// Everything held, then `close`, then the remote's close (bounded by
    /// [`CLOSE_GRACE`] on runtime `R`), then the sink's own close.
    async fn finish<R: Runtime>(&mut self, close: Option<WsClose>) {
        let deadline = Instant::now() + CLOSE_GRACE;
        if let Some(close) = close {
            let handshake = async {
                self.pong = None;
                self.ping_due = false;
                if let Some(frame) = self.sending.take() {
                    if send(&mut self.sink, frame).await.is_err() {
                        return;
                    }
                }
                if send(&mut self.sink, WsFrame::Close(Some(close))).await.is_err() {
                    return;
                }
                while let Some(Ok(frame)) = self.stream.next().await {
                    if matches!(frame, WsFrame::Close(_)) {
                        break;
                    }
                }
            };
            let _ = select(pin!(handshake), pin!(sleep_until::<R>(deadline))).await;
        }
        let sink = &mut self.sink;
        let _ = select(
            pin!(poll_fn(|cx| sink.as_mut().poll_close(cx))),
            pin!(sleep_until::<R>(deadline + CLOSE_GRACE)),
        )
        .await;
    }
}

async fn send<Si: Sink<WsFrame>>(sink: &mut Pin<Box<Si>>, frame: WsFrame) -> Result<(), Si::Error> {
    poll_fn(|cx| sink.as_mut().poll_ready(cx)).await?;
    sink.as_mut().start_send(frame)?;
    poll_fn(|cx| sink.as_mut().poll_flush(cx)).await
}

fn sink_error(e: impl fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl<St, Si> Io for Frames<St, Si>
where
    St: Stream<Item = Result<WsFrame, WsError>>,
    Si: Sink<WsFrame>,
    Si::Error: fmt::Display,
{
    fn poll_read<C: Connection>(&mut self, cx: &mut TaskContext<'_>, conn: &mut C) -> io::Result<Poll<Read>> {
        // A pong the socket has not taken counts as output over the bound.
        let wanted = conn.wants_input() && !self.pong_held();
        if wanted {
            self.unwanted = false;
        } else if self.unwanted {
            return Ok(Poll::Pending);
        }
        let frame = match self.stream.as_mut().poll_next(cx) {
            Poll::Pending => return Ok(Poll::Pending),
            Poll::Ready(None) => {
                self.close = Some(None);
                return Ok(Poll::Ready(Read::Closed));
            }
            Poll::Ready(Some(Err(e))) => {
                self.close = Some(e.close.clone());
                return Err(io::Error::other(e));
            }
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        self.unwanted = !wanted;
        // Every frame received, pongs included, is a sign of life.
        conn.handle_keepalive();
        match frame {
            // Cannot fail: input is only fed before EOF.
            WsFrame::Text(text) => drop(conn.handle_input(text.as_bytes())),
            WsFrame::Binary(_) => {
                self.close = Some(Some(WsClose::binary_refused()));
                return Ok(Poll::Ready(Read::Closed));
            }
            WsFrame::Ping(payload) if self.answer_pings => self.pong = Some(payload),
            // The library queued its pong; flushing the sink sends it.
            WsFrame::Ping(_) => {
                self.pong_unflushed = true;
                self.unflushed = true;
            }
            // The remote is done; after its close no answer can be sent, so
            // the connection ends here.
            WsFrame::Close(_) => {
                conn.handle_eof();
                self.close = Some(Some(WsClose::new(WsClose::NORMAL, "")));
                return Ok(Poll::Ready(Read::Closed));
            }
            _ => {}
        }
        Ok(Poll::Ready(Read::Data))
    }

    fn poll_write<C: Connection>(&mut self, cx: &mut TaskContext<'_>, conn: &mut C) -> io::Result<bool> {
        let mut progress = false;
        loop {
            if self.sending.is_none() {
                self.sending = if let Some(payload) = self.pong.take() {
                    Some(WsFrame::Pong(payload))
                } else if std::mem::take(&mut self.ping_due) {
                    Some(WsFrame::Ping(Vec::new()))
                } else {
                    conn.poll_transmit_message().map(|m| {
                        WsFrame::Text(
                            String::from_utf8(m)
                                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                        )
                    })
                };
                if self.sending.is_none() {
                    break;
                }
                progress = true;
            }
            match self.sink.as_mut().poll_ready(cx) {
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => return Err(sink_error(e)),
                Poll::Pending => return Ok(progress),
            }
            if let Some(frame) = self.sending.take() {
                let len = match &frame {
                    WsFrame::Text(t) => t.len(),
                    WsFrame::Pong(_) => {
                        self.pong_unflushed = true;
                        0
                    }
                    _ => 0,
                };
                self.sink.as_mut().start_send(frame).map_err(sink_error)?;
                conn.handle_transmitted(len);
                self.unflushed = true;
            }
        }
        if self.unflushed {
            if let Poll::Ready(r) = self.sink.as_mut().poll_flush(cx) {
                r.map_err(sink_error)?;
                self.unflushed = false;
                self.pong_unflushed = false;
                progress = true;
            }
        }
        Ok(progress)
    }

    fn holds_output(&self) -> bool {
        self.sending.is_some() || self.unflushed || self.pong.is_some()
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.next_ping
    }

    fn handle_timeout(&mut self, now: Instant) {
        if let (Some(at), Some(every)) = (self.next_ping, self.ping_every) {
            if at <= now {
                self.ping_due = true;
                self.next_ping = Some(now + every);
            }
        }
    }
}

/// Closes a WebSocket connection the way its end calls for.
impl<St, Si> Close for Frames<St, Si>
where
    St: Stream<Item = Result<WsFrame, WsError>> + Send,
    Si: Sink<WsFrame> + Send,
    Si::Error: fmt::Display,
{
    async fn close_after<R: Runtime>(&mut self, end: io::Result<End>, draining: bool) -> io::Result<()> {
        close_ws::<R, _, _>(self, end, draining).await
    }
}

/// Closes a WebSocket connection the way its end calls for: the close
/// frame for how it ended, the handshake, then the sink (none of them
/// for a remote that stopped taking output).
async fn close_ws<R: Runtime, St, Si>(
    frames: &mut Frames<St, Si>,
    end: io::Result<End>,
    draining: bool,
) -> io::Result<()>
where
    St: Stream<Item = Result<WsFrame, WsError>>,
    Si: Sink<WsFrame>,
    Si::Error: fmt::Display,
{
    // The write-progress deadline (output held when time ran out): the
    // remote takes nothing, so neither a close frame nor the sink's close
    // would get out; the socket is dropped at once.
    if matches!(end, Ok(End::TimedOut)) && frames.holds_output() {
        return end.map(|_| ());
    }
    let close = match &end {
        Ok(End::Finished) if draining => Some(WsClose::new(WsClose::GOING_AWAY, "shutting down")),
        Ok(End::Finished) => Some(WsClose::new(WsClose::NORMAL, "")),
        Ok(End::TimedOut) => Some(WsClose::new(WsClose::GOING_AWAY, "idle timeout")),
        Ok(End::Aborted) => Some(WsClose::new(WsClose::GOING_AWAY, "shutting down")),
        Ok(End::Transport) | Err(_) => frames.close.take().flatten(),
    };
    frames.finish::<R>(close).await;
    end.map(|_| ())
}

type ConnectHook<R> = Arc<dyn Fn(&Context, Client<R>) + Send + Sync>;
type CloseHook = Arc<dyn Fn(&Context) + Send + Sync>;

/// A JSON-RPC server over WebSocket on runtime `R`, where the server may
/// also call its clients: one JSON-RPC message (or batch) per text frame
/// (`sansrpc_tokio::WsServer` is this type).
///
/// Each connection runs the core's [`Peer`](sansrpc::conn::Peer) with the [`Messages`] framer:
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
///   [`library_limit`](Self::library_limit)); beyond `max_in_flight` calls
///   reading pauses; a connection with nothing to do and no frame from the
///   remote for `idle_timeout`, or whose output the remote does not take
///   for that long, is closed with `1001`;
/// - a ping goes out every [`ping_interval`](Self::ping_interval) (default
///   [`DEFAULT_PING_INTERVAL`]); every frame received, pongs included,
///   counts as life, so a live client stays connected and a vanished one
///   is closed after the idle timeout; a ping from the remote is answered
///   once (only the latest of several), unless the library does it, and
///   while that pong is not yet taken by the socket reading pauses, as it
///   does for answers over `max_buffered_out`: a remote that pings and
///   never reads makes the connection hold one pong, not one per ping;
/// - [`on_close`](Self::on_close) runs once the connection is over.
#[must_use]
#[derive(Clone)]
pub struct WsServer<R, S = ()> {
    router: Arc<Router<S>>,
    ping_interval: Option<Duration>,
    callbacks: ClientBuilder<R>,
    on_connect: Option<ConnectHook<R>>,
    on_close: Option<CloseHook>,
    shutdown_timeout: Option<Duration>,
    library_pongs: bool,
}

impl<R: Runtime, S> fmt::Debug for WsServer<R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsServer")
            .field("ping_interval", &self.ping_interval)
            .field("callbacks", &self.callbacks)
            .field("on_connect", &self.on_connect.is_some())
            .field("on_close", &self.on_close.is_some())
            .finish_non_exhaustive()
    }
}

impl<R: Runtime, S: Clone + Send + Sync + 'static> WsServer<R, S> {
    /// A server for `router` (a [`Router`] or an `Arc` of one).
    pub fn new(router: impl Into<Arc<Router<S>>>) -> Self {
        Self {
            router: router.into(),
            ping_interval: Some(DEFAULT_PING_INTERVAL),
            callbacks: ClientBuilder::new(),
            on_connect: None,
            on_close: None,
            shutdown_timeout: None,
            library_pongs: false,
        }
    }

    /// How often to send a ping (`None`: never). Default:
    /// [`DEFAULT_PING_INTERVAL`].
    pub fn ping_interval(mut self, every: Option<Duration>) -> Self {
        self.ping_interval = every;
        self
    }

    /// Whether the WebSocket library behind [`serve_socket`](Self::serve_socket)
    /// answers pings itself (tungstenite does; actix-ws does not), so the
    /// driver sends no second pong. Default: `false` (the driver answers).
    pub fn library_answers_pings(mut self, yes: bool) -> Self {
        self.library_pongs = yes;
        self
    }

    /// Options of the [`Client`] that calls the remote back: its default
    /// timeout (default: [`DEFAULT_TIMEOUT`](crate::DEFAULT_TIMEOUT)).
    pub fn callbacks(mut self, callbacks: ClientBuilder<R>) -> Self {
        self.callbacks = callbacks;
        self
    }

    /// Runs `hook` when a connection opens, before its first message is
    /// read, with the connection's context and a [`Client`] for calling or
    /// notifying the remote (spawn a task to use it: the hook itself must
    /// not block).
    pub fn on_connect(mut self, hook: impl Fn(&Context, Client<R>) + Send + Sync + 'static) -> Self {
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
        library_limit(self.router.limits().max_message_bytes)
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
        self.run(stream, sink, context, self.library_pongs, Signals::default())
            .await
    }

    async fn run<St, Si>(
        &self,
        stream: St,
        sink: Si,
        context: ContextBuilder,
        library_pongs: bool,
        mut signals: Signals,
    ) -> io::Result<()>
    where
        St: Stream<Item = Result<WsFrame, WsError>>,
        Si: Sink<WsFrame>,
        Si::Error: fmt::Display,
    {
        let (tx, commands) = async_channel::unbounded();
        let client = self.callbacks.handle(tx);
        let state = ConnectionState::default();
        state.insert(client.clone());
        let context = context.connection(state).extension(client.clone()).build();
        let mut side = PeerSide::new(self.router.clone(), context.clone(), Messages::new, R::spawn);
        if let Some(hook) = &self.on_connect {
            hook(&context, client);
        }
        let mut frames = Frames::new(stream, sink, self.ping_interval, !library_pongs);
        let end = drive::<R, _, _>(&mut frames, &mut side, Some(commands), &mut signals).await;
        let draining = signals.draining;
        drop(side);
        let result = close_ws::<R, _, _>(&mut frames, end, draining).await;
        if let Some(hook) = &self.on_close {
            hook(&context);
        }
        result
    }

    /// Accepts the WebSocket handshake on `io` (any path) and serves the
    /// connection. Handlers see `context` plus the request's headers.
    pub async fn serve_stream<IO>(&self, io: IO, context: ContextBuilder) -> io::Result<()>
    where
        R: WsAccept<IO>,
    {
        self.accept(io, context, Signals::default()).await
    }

    async fn accept<IO>(&self, io: IO, context: ContextBuilder, signals: Signals) -> io::Result<()>
    where
        R: WsAccept<IO>,
    {
        let handshake = pin!(R::upgrade(io, self.library_limit()));
        // A client that never finishes its handshake is idle too.
        let (headers, stream, sink) = match self.router.limits().idle_timeout {
            Some(limit) => match select(handshake, pin!(sleep_until::<R>(Instant::now() + limit))).await {
                Either::Left((r, _)) => r?,
                Either::Right(_) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "WebSocket handshake timed out",
                    ));
                }
            },
            None => handshake.await?,
        };
        self.run(stream, sink, context.headers(headers), true, signals)
            .await
    }

    /// Serves WebSocket connections from `listener` (at any path) until the
    /// task is dropped.
    pub async fn serve<L>(self, listener: L) -> io::Result<()>
    where
        R: Listen<L> + WsAccept<<R as Listen<L>>::Io>,
    {
        self.serve_with_shutdown(listener, std::future::pending()).await
    }

    /// Serves WebSocket connections from `listener` until `signal`
    /// completes; then stops accepting, lets the calls in flight finish and
    /// their answers go out, closes every connection with `1001`, and
    /// returns. Connections beyond
    /// [`Limits::max_connections`](sansrpc::Limits) are closed at once.
    pub async fn serve_with_shutdown<L>(self, listener: L, signal: impl Future<Output = ()>) -> io::Result<()>
    where
        R: Listen<L> + WsAccept<<R as Listen<L>>::Io>,
    {
        let max = self.router.limits().max_connections;
        accept_loop::<R, _, _, _>(
            listener,
            max,
            signal,
            self.shutdown_timeout,
            |stream, addr, signals| {
                let server = self.clone();
                async move {
                    let context = Context::builder(Transport::WebSocket).peer_addr(addr);
                    if let Err(e) = server.accept(stream, context, signals).await {
                        tracing::debug!(%addr, "WebSocket connection failed: {e}");
                    }
                }
            },
        )
        .await
    }
}

impl<R: WsConnect> Client<R> {
    /// Connects to a WebSocket JSON-RPC server (`ws://host:port/path`) with
    /// the default options. Calls to the client from the server are
    /// answered "method not found"; use [`ClientBuilder::connect_ws_peer`]
    /// to serve a router.
    pub async fn connect_ws(url: &str) -> io::Result<Self> {
        ClientBuilder::new().connect_ws(url).await
    }
}

impl<R: WsConnect> ClientBuilder<R> {
    /// Connects to a WebSocket JSON-RPC server (`ws://host:port/path`).
    /// The connection closes (with `1000`) when the last handle is dropped
    /// or [`Client::close`] is called.
    pub async fn connect_ws(self, url: &str) -> io::Result<Client<R>> {
        let (stream, sink) = R::connect_ws(url, library_limit(self.limits.max_message_bytes)).await?;
        // A client sends no pings of its own; its library answers the
        // server's.
        let frames = Frames::new(stream, sink, None, false);
        Ok(self.client_over(frames, Messages::new))
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
    ) -> io::Result<PeerConnection<R>> {
        let (stream, sink) = R::connect_ws(url, library_limit(self.limits.max_message_bytes)).await?;
        let frames = Frames::new(stream, sink, None, false);
        let context = |client| Context::builder(Transport::WebSocket).extension(client).build();
        Ok(self.peer_over(frames, router.into(), context, Messages::new))
    }
}
