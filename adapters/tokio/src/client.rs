//! The calling side: [`Client`], its builder, and [`PeerConnection`].

use std::fmt;
use std::io;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sansrpc::{
    BatchEntry, CallFailure, ClientConnection, ClientEvent, Context, Error, Framer, Limits, Newline, Outcome,
    Peer, PeerEvent, RawParams, Requester, Router, Settled, Transport, UsageError,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpStream, ToSocketAddrs};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

use crate::driver::{Msg, Options, Side, drive};
use crate::server::Dispatcher;

/// Why a call made through a [`Client`] has no result.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The remote answered with a JSON-RPC error.
    #[error("the remote answered with an error: {0}")]
    Rpc(Error),
    /// No answer arrived before the call's deadline.
    #[error("no answer before the deadline")]
    TimedOut,
    /// The connection closed (or broke) before the answer arrived.
    #[error("the connection is closed")]
    Closed,
    /// The call could not be made: params that are not an array or an
    /// object, too many calls in flight, an empty batch.
    #[error(transparent)]
    Usage(#[from] UsageError),
    /// The result does not deserialize into the requested type.
    #[error("the result does not fit the requested type: {0}")]
    Decode(#[source] serde_json::Error),
}

/// Serializes `params` with the core's rule ([`RawParams::serialize`]): an
/// array or an object is sent as is; `()`, `None` and anything else
/// serializing to `null` sends no `params` member; a scalar is refused.
pub(crate) fn to_params<P: Serialize>(params: P) -> Result<RawParams, ClientError> {
    RawParams::serialize(&params).map_err(|e| {
        let why = e
            .data()
            .map_or_else(|| e.message().to_owned(), |d| d.get().to_owned());
        UsageError::InvalidParams(why).into()
    })
}

type CallReply = oneshot::Sender<Result<Box<RawValue>, ClientError>>;
type BatchReply = oneshot::Sender<Result<Vec<Option<Outcome>>, ClientError>>;

/// A request from a [`Client`] handle to its connection task.
pub(crate) enum Command {
    Call {
        method: String,
        params: RawParams,
        deadline: Option<Instant>,
        reply: CallReply,
    },
    Notify {
        method: String,
        params: RawParams,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Batch {
        entries: Vec<BatchEntry>,
        deadline: Option<Instant>,
        reply: BatchReply,
    },
    Close,
}

fn failure(f: CallFailure) -> ClientError {
    match f {
        CallFailure::TimedOut => ClientError::TimedOut,
        _ => ClientError::Closed,
    }
}

/// Who waits for which answer: the core's [`sansrpc::Waiters`], with this
/// crate's reply channels.
#[derive(Default)]
struct Waiters(sansrpc::Waiters<CallReply, BatchReply>);

impl Waiters {
    /// Runs a command on the machine; returns `true` for [`Command::Close`].
    fn command(&mut self, m: &mut impl Requester, command: Command) -> bool {
        match command {
            Command::Call {
                method,
                params,
                deadline,
                reply,
            } => match m.call(&method, params, deadline) {
                Ok(id) => self.0.call(id, reply),
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Notify {
                method,
                params,
                reply,
            } => {
                let _ = reply.send(m.notify(&method, params).map_err(Into::into));
            }
            Command::Batch {
                entries,
                deadline,
                reply,
            } => match m.batch(entries, deadline) {
                Ok(ids) => {
                    if let Some(settled) = self.0.batch(&ids, reply) {
                        deliver(settled);
                    }
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Close => return true,
        }
        false
    }

    fn on_event(&mut self, event: ClientEvent) {
        if let Some(settled) = self.0.on_event(event) {
            deliver(settled);
        }
    }
}

/// Sends a settled wait's result to its caller (who may have gone away).
fn deliver(settled: Settled<CallReply, BatchReply>) {
    match settled {
        Settled::Call(reply, fate) => {
            let _ = reply.send(fate.map_err(failure).and_then(|o| o.map_err(ClientError::Rpc)));
        }
        Settled::Batch(reply, fate) => {
            let _ = reply.send(fate.map_err(failure));
        }
        Settled::Unexpected(e) => tracing::debug!("ignoring unexpected message: {e}"),
        _ => {}
    }
}

/// A client connection task's side: a [`ClientConnection`] and its waiters.
pub(crate) struct ClientSide<F = Newline> {
    conn: ClientConnection<F>,
    waiters: Waiters,
}

impl<F> ClientSide<F> {
    pub(crate) fn new(conn: ClientConnection<F>) -> Self {
        Self {
            conn,
            waiters: Waiters::default(),
        }
    }
}

impl<F: Framer + Send> Side for ClientSide<F> {
    type M = ClientConnection<F>;
    fn machine(&mut self) -> &mut ClientConnection<F> {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let mut took = false;
        while let Some(event) = self.conn.poll_event() {
            took = true;
            self.waiters.on_event(event);
        }
        took
    }
    fn on_msg(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Command(c) => self.waiters.command(&mut self.conn, c),
            Msg::Answer(..) => false,
        }
    }
}

/// A peer connection task's side: a [`Peer`] that serves a router and
/// makes calls.
pub(crate) struct PeerSide<S, F = Newline> {
    conn: Peer<F>,
    waiters: Waiters,
    dispatcher: Dispatcher<S>,
}

impl<S: Clone + Send + Sync + 'static> PeerSide<S> {
    pub(crate) fn new(limits: Limits, dispatcher: Dispatcher<S>) -> Self {
        Self::with_machine(
            Peer::new(Newline::new(limits.max_message_bytes), limits),
            dispatcher,
        )
    }
}

impl<S: Clone + Send + Sync + 'static, F> PeerSide<S, F> {
    pub(crate) fn with_machine(conn: Peer<F>, dispatcher: Dispatcher<S>) -> Self {
        Self {
            conn,
            waiters: Waiters::default(),
            dispatcher,
        }
    }
}

impl<S: Clone + Send + Sync + 'static, F: Framer + Send> Side for PeerSide<S, F> {
    type M = Peer<F>;
    fn machine(&mut self) -> &mut Peer<F> {
        &mut self.conn
    }
    fn step(&mut self) -> bool {
        let mut took = false;
        while let Some(event) = self.conn.poll_event() {
            took = true;
            match event {
                PeerEvent::Call {
                    ticket,
                    id,
                    method,
                    params,
                } => {
                    if let Some((ticket, outcome)) = self.dispatcher.call(ticket, method, id, params) {
                        if let Err(e) = self.conn.respond(ticket, outcome) {
                            tracing::error!("answering a call: {e}");
                        }
                    }
                }
                PeerEvent::Notification { method, params } => self.dispatcher.notification(method, params),
                other => {
                    if let Err(client_event) = other.into_event() {
                        self.waiters.on_event(client_event);
                    }
                }
            }
        }
        took
    }
    fn on_msg(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Command(c) => self.waiters.command(&mut self.conn, c),
            Msg::Answer(ticket, outcome) => {
                if let Err(e) = self.conn.respond(ticket, outcome) {
                    tracing::error!("answering a call: {e}");
                }
                false
            }
        }
    }
}

/// The default for [`ClientBuilder::timeout`]: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A handle to a JSON-RPC connection: call and notify the remote.
///
/// Cheap to clone; every clone talks to the same connection, whose
/// background task owns the socket and the core's [`ClientConnection`] (or
/// [`Peer`]). Calls made concurrently are in flight together and answered in
/// any order. A plain client's connection closes when the last handle is
/// dropped.
///
/// Inside a [`Server`](crate::Server) in peer mode, or a
/// [`PeerConnection`], the same type calls the other end back.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use sansrpc::{BatchEntry, RawParams};
/// use sansrpc_tokio::Client;
///
/// let client = Client::connect("127.0.0.1:5000").await?;
/// let pong: String = client.call("ping", ()).await?;
/// let diff: i64 = client.call("subtract", [42, 23]).await?;
/// let named: i64 = client
///     .call("subtract", serde_json::json!({"minuend": 42, "subtrahend": 23}))
///     .await?;
/// client.notify("update", [1, 2, 3]).await?;
/// let quick: String = client.call_timeout("ping", (), Duration::from_millis(100)).await?;
/// let answers = client
///     .batch([
///         BatchEntry::call("sum", RawParams::from_json("[1,2,4]")?),
///         BatchEntry::notification("notify_hello", RawParams::from_json("[7]")?),
///     ])
///     .await?;
/// assert!(answers[1].is_none());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    tx: mpsc::UnboundedSender<Msg>,
    timeout: Option<Duration>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("timeout", &self.timeout)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Client {
    /// Connects over TCP with the default options.
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<Self> {
        ClientBuilder::new().connect(addr).await
    }

    /// A client over any byte stream (a Unix socket, a child's stdio), with
    /// the default options. Spawns the connection task on the current tokio
    /// runtime.
    pub fn new<IO>(io: IO) -> Self
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        ClientBuilder::new().build(io)
    }

    /// Options: default timeout, limits, read buffer; then connect.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A handle to the same connection whose calls use `timeout` by
    /// default (`None`: wait for ever).
    #[must_use]
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Self {
        Self {
            tx: self.tx.clone(),
            timeout,
        }
    }

    /// The default timeout of this handle's calls.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Whether the connection is gone: nothing sent now can be answered.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// Closes the connection gracefully: calls the remote made to us are
    /// still answered; our calls still waiting fail with
    /// [`ClientError::Closed`].
    pub fn close(&self) {
        let _ = self.tx.send(Msg::Command(Command::Close));
    }

    fn send(&self, command: Command) -> Result<(), ClientError> {
        self.tx
            .send(Msg::Command(command))
            .map_err(|_| ClientError::Closed)
    }

    /// Calls `method` and deserializes its result into `T`, waiting at most
    /// the handle's default timeout.
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
        let (reply, answer) = oneshot::channel();
        self.send(Command::Call {
            method: method.to_owned(),
            params,
            deadline: timeout.map(|t| Instant::now() + t),
            reply,
        })?;
        answer.await.map_err(|_| ClientError::Closed)?
    }

    /// Sends a notification: a call that is never answered. Returns once it
    /// is queued for sending.
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let params = to_params(params)?;
        let (reply, done) = oneshot::channel();
        self.send(Command::Notify {
            method: method.to_owned(),
            params,
            reply,
        })?;
        done.await.map_err(|_| ClientError::Closed)?
    }

    /// Sends calls and notifications as one batch, waiting at most the
    /// handle's default timeout. Returns one entry per request, in order:
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
        let (reply, answer) = oneshot::channel();
        self.send(Command::Batch {
            entries: entries.into_iter().collect(),
            deadline: timeout.map(|t| Instant::now() + t),
            reply,
        })?;
        answer.await.map_err(|_| ClientError::Closed)?
    }
}

/// Options for a [`Client`] or [`PeerConnection`].
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
/// let client = sansrpc_tokio::Client::builder()
///     .timeout(Duration::from_secs(5))
///     .connect("127.0.0.1:5000")
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct ClientBuilder {
    pub(crate) timeout: Option<Duration>,
    pub(crate) limits: Limits,
    pub(crate) read_buffer: usize,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientBuilder {
    /// The defaults: a [`DEFAULT_TIMEOUT`] per call, [`Limits::default`],
    /// a 32 KiB read buffer.
    pub fn new() -> Self {
        Self {
            timeout: Some(DEFAULT_TIMEOUT),
            limits: Limits::default(),
            read_buffer: crate::server::DEFAULT_READ_BUFFER,
        }
    }

    /// How long a call waits for its answer unless told otherwise.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Calls wait for ever unless told otherwise.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// The limits of the connection: largest message, most calls in flight
    /// (a call beyond it fails with [`UsageError::TooManyInFlight`]).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The JSON-RPC version this client speaks (default
    /// [`Version::V2`](sansrpc::Version::V2)): with
    /// [`Version::V1`](sansrpc::Version::V1) calls and notifications are
    /// sent in 1.0 form (`"params"` always an array, `"id": null` for a
    /// notification), 1.0 answers (`result` and `error`, one of them
    /// `null`) are read, and batches are refused. It is the
    /// [`Limits::version`] field, so a later [`limits`](Self::limits)
    /// replaces it. In peer mode the router's version
    /// ([`Router::set_version`]) decides both directions.
    pub fn version(mut self, version: sansrpc::Version) -> Self {
        self.limits.version = version;
        self
    }

    /// Bytes read from the socket at a time (at least 1).
    pub fn read_buffer(mut self, bytes: usize) -> Self {
        self.read_buffer = bytes.max(1);
        self
    }

    pub(crate) fn handle(&self, tx: mpsc::UnboundedSender<Msg>) -> Client {
        Client {
            tx,
            timeout: self.timeout,
        }
    }

    /// Connects over TCP.
    pub async fn connect(self, addr: impl ToSocketAddrs) -> io::Result<Client> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(self.build(stream))
    }

    /// A client over any byte stream; spawns its task on the current
    /// tokio runtime.
    pub fn build<IO>(self, io: IO) -> Client
    where
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut side = ClientSide::new(ClientConnection::new(
            Newline::new(self.limits.max_message_bytes),
            self.limits.clone(),
        ));
        let opts = Options::new(self.read_buffer, None);
        tokio::spawn(async move {
            if let Err(e) = drive(io, &mut side, &mut rx, &opts).await {
                tracing::debug!("client connection failed: {e}");
            }
        });
        Client {
            tx,
            timeout: self.timeout,
        }
    }

    /// Connects over TCP in peer mode: `router` answers the server's calls.
    pub async fn connect_peer<S: Clone + Send + Sync + 'static>(
        self,
        addr: impl ToSocketAddrs,
        router: impl Into<Arc<Router<S>>>,
    ) -> io::Result<PeerConnection> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let mut context = Context::builder(Transport::Tcp);
        if let Ok(addr) = stream.peer_addr() {
            context = context.peer_addr(addr);
        }
        Ok(self.peer(stream, router, context.build()))
    }

    /// Peer mode over any byte stream: `router` answers the remote's calls
    /// (their [`Context`] is `context`), and the returned connection calls
    /// the remote.
    pub fn peer<S, IO>(self, io: IO, router: impl Into<Arc<Router<S>>>, context: Context) -> PeerConnection
    where
        S: Clone + Send + Sync + 'static,
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let client = self.handle(tx.clone());
        context.connection().insert(client.clone());
        let router = router.into();
        let limits = router.limits().clone();
        let dispatcher = Dispatcher::new(router, context, tx, TaskTracker::new());
        let mut side = PeerSide::new(limits, dispatcher);
        let opts = Options::new(self.read_buffer, None);
        let task = tokio::spawn(async move { drive(io, &mut side, &mut rx, &opts).await });
        PeerConnection { client, task }
    }
}

/// A connection on which both ends may call: it serves a [`Router`] for the
/// remote's calls and, through [`Deref`] to [`Client`], calls the remote.
///
/// The handlers of the router find the same [`Client`] in their
/// [`ConnectionState`](sansrpc::ConnectionState), to call back.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use sansrpc::Router;
/// use sansrpc_tokio::PeerConnection;
///
/// let mut router = Router::new();
/// router.method("ask_client", || "client says hi")?;
/// let peer = PeerConnection::connect("127.0.0.1:5000", router).await?;
/// let answer: String = peer.call("hello", ()).await?;
/// peer.close();
/// peer.closed().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PeerConnection {
    pub(crate) client: Client,
    pub(crate) task: JoinHandle<io::Result<()>>,
}

impl PeerConnection {
    /// Connects over TCP with the default [`ClientBuilder`] options.
    pub async fn connect<S: Clone + Send + Sync + 'static>(
        addr: impl ToSocketAddrs,
        router: impl Into<Arc<Router<S>>>,
    ) -> io::Result<Self> {
        ClientBuilder::new().connect_peer(addr, router).await
    }

    /// Peer mode over any byte stream with the default options; see
    /// [`ClientBuilder::peer`].
    pub fn new<S, IO>(io: IO, router: impl Into<Arc<Router<S>>>, context: Context) -> Self
    where
        S: Clone + Send + Sync + 'static,
        IO: AsyncRead + AsyncWrite + Send + 'static,
    {
        ClientBuilder::new().peer(io, router, context)
    }

    /// The handle that calls the remote.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until the connection is over: the remote closed it and every
    /// call it made was answered, or [`Client::close`] was called, or it
    /// broke.
    pub async fn closed(self) -> io::Result<()> {
        self.task.await.map_err(io::Error::other)?
    }
}

impl Deref for PeerConnection {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}
