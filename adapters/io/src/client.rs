//! The calling handles: [`Client`], [`ClientBuilder`], [`PeerConnection`].
//! A handle only sends commands to its connection task; the task (the
//! driver) is spawned on the runtime `R`.

use std::io;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_channel::{Receiver, Sender};
use sansrpc::conn::{ClientConnection, Framer, Newline};
use sansrpc::{BatchEntry, Context, Limits, Outcome, RawParams, Router, Transport};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::driver::{ByteStream, Close, Signals, drive};
use crate::error::ClientError;
use crate::runtime::{Connect, Runtime, Wrap};
use crate::side::{ClientSide, Command, PeerSide, Side, Waiters};

/// The default for [`ClientBuilder::timeout`]: 30 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default read buffer: 32 KiB.
pub const DEFAULT_READ_BUFFER: usize = 32 * 1024;

/// A handle to a JSON-RPC connection on runtime `R`: call and notify the
/// remote (`sansrpc_tokio::Client` and `sansrpc_smol::Client` are this type).
///
/// Cheap to clone; every clone talks to the same connection, whose task
/// owns the transport and the core's [`ClientConnection`] (or
/// [`Peer`](sansrpc::conn::Peer)).
/// Calls made concurrently are in flight together and answered in any
/// order. A call whose future is dropped is forgotten (it no longer holds
/// an in-flight slot); `notify`, `call` and `batch` wait while the
/// connection's outgoing buffer is full ([`Limits::max_buffered_out`]). A
/// plain client's connection closes when the last handle is dropped.
#[derive(Clone, Debug)]
pub struct Client<R> {
    tx: Sender<Command>,
    timeout: Option<Duration>,
    _runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> Client<R> {
    /// Connects (over TCP, for the runtimes' address types) with the
    /// default options.
    pub async fn connect<A>(addr: A) -> io::Result<Self>
    where
        R: Connect<A> + Wrap<<R as Connect<A>>::Io, Io: 'static>,
    {
        ClientBuilder::new().connect(addr).await
    }

    /// A client over any byte stream of the runtime (a Unix socket, a
    /// child's stdio), with the default options; spawns its task on `R`.
    pub fn new<IO>(io: IO) -> Self
    where
        R: Wrap<IO, Io: 'static>,
    {
        ClientBuilder::new().build(io)
    }

    /// Options: default timeout, limits, read buffer; then connect.
    pub fn builder() -> ClientBuilder<R> {
        ClientBuilder::new()
    }

    /// A handle to the same connection whose calls use `timeout` by
    /// default (`None`: wait for ever).
    #[must_use]
    pub fn with_timeout(&self, timeout: Option<Duration>) -> Self {
        Self {
            timeout,
            ..self.clone()
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
        let _ = self.tx.try_send(Command::Close);
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(Sender<Result<T, ClientError>>) -> Command,
    ) -> Result<T, ClientError> {
        let (reply, answer) = async_channel::bounded(1);
        self.tx
            .try_send(command(reply))
            .map_err(|_| ClientError::Closed)?;
        answer.recv().await.map_err(|_| ClientError::Closed)?
    }

    /// Calls `method` and deserializes its result into `T`, waiting at most
    /// the handle's default timeout.
    ///
    /// `params` is anything that serializes to a JSON array or object
    /// (tuples, arrays, `Vec`s, structs, maps), or `()` for none.
    ///
    /// A timeout (or dropping this future) only stops the waiting: the
    /// call's id is forgotten at once, so its slot is free, and a late
    /// answer is dropped. JSON-RPC cannot cancel a call, so the server's
    /// handler runs to its end; one that must stop early takes a deadline
    /// in its params.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
    ) -> Result<T, ClientError> {
        let params = RawParams::for_call(&params)?;
        let raw = self.call_raw(method, params, self.timeout).await?;
        serde_json::from_str(raw.get()).map_err(ClientError::Decode)
    }

    /// [`call`](Self::call) with its own timeout.
    pub async fn call_timeout<T: DeserializeOwned>(
        &self,
        method: &str,
        params: impl Serialize,
        timeout: Duration,
    ) -> Result<T, ClientError> {
        self.with_timeout(Some(timeout)).call(method, params).await
    }

    /// Calls `method` with raw params; returns the result's JSON text.
    /// `timeout: None` waits for ever.
    pub async fn call_raw(
        &self,
        method: &str,
        params: RawParams,
        timeout: Option<Duration>,
    ) -> Result<Box<RawValue>, ClientError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.ask(|reply| Command::Call(method.to_owned(), params, deadline, reply))
            .await
    }

    /// Sends a notification: a call that is never answered. Returns once it
    /// is queued for sending (waiting while the outgoing buffer is full).
    pub async fn notify(&self, method: &str, params: impl Serialize) -> Result<(), ClientError> {
        let params = RawParams::for_call(&params)?;
        self.ask(|reply| Command::Notify(method.to_owned(), params, reply))
            .await
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
        let deadline = timeout.map(|t| Instant::now() + t);
        let entries = entries.into_iter().collect();
        self.ask(|reply| Command::Batch(entries, deadline, reply)).await
    }
}

/// Options for a [`Client`] or [`PeerConnection`].
#[must_use]
#[derive(Clone, Debug)]
pub struct ClientBuilder<R> {
    pub(crate) timeout: Option<Duration>,
    pub(crate) limits: Limits,
    pub(crate) read_buffer: usize,
    _runtime: PhantomData<fn() -> R>,
}

impl<R: Runtime> Default for ClientBuilder<R> {
    fn default() -> Self {
        Self::new()
    }
}

/// Spawns `side`'s driver over `transport` on `R`; returns a receiver of
/// its result.
pub(crate) fn spawn_driver<R, S, T>(
    mut transport: T,
    mut side: S,
    commands: Receiver<Command>,
) -> Receiver<io::Result<()>>
where
    R: Runtime,
    S: Side + 'static,
    T: Close + Send + 'static,
{
    let (tx, rx) = async_channel::bounded(1);
    R::spawn(Box::pin(async move {
        let mut signals = Signals::default();
        let end = drive::<R, _, _>(&mut transport, &mut side, Some(commands), &mut signals).await;
        let result = transport.close_after::<R>(end, signals.draining).await;
        if let Err(e) = &result {
            tracing::debug!("connection failed: {e}");
        }
        drop(side);
        let _ = tx.try_send(result);
    }));
    rx
}

impl<R: Runtime> ClientBuilder<R> {
    /// The defaults: a [`DEFAULT_TIMEOUT`] per call, [`Limits::default`],
    /// a 32 KiB read buffer.
    pub fn new() -> Self {
        Self {
            timeout: Some(DEFAULT_TIMEOUT),
            limits: Limits::default(),
            read_buffer: DEFAULT_READ_BUFFER,
            _runtime: PhantomData,
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
    /// (a call beyond it fails with [`UsageError::TooManyInFlight`](sansrpc::UsageError::TooManyInFlight)), most
    /// bytes buffered for sending (calls wait beyond it).
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

    /// A handle whose commands go to `tx`.
    pub(crate) fn handle(&self, tx: Sender<Command>) -> Client<R> {
        Client {
            tx,
            timeout: self.timeout,
            _runtime: PhantomData,
        }
    }

    /// Connects (over TCP, for the runtimes' address types).
    pub async fn connect<A>(self, addr: A) -> io::Result<Client<R>>
    where
        R: Connect<A> + Wrap<<R as Connect<A>>::Io, Io: 'static>,
    {
        Ok(self.build(R::connect(addr).await?.0))
    }

    /// A client over any byte stream of the runtime; spawns its task on
    /// `R`.
    pub fn build<IO>(self, io: IO) -> Client<R>
    where
        R: Wrap<IO, Io: 'static>,
    {
        let stream = ByteStream::new(R::wrap(io), self.read_buffer);
        self.client_over(stream, Newline::new)
    }

    /// Spawns a plain client over `transport` with the framer `framer`
    /// makes for the largest message.
    pub(crate) fn client_over<T, F>(&self, transport: T, framer: fn(usize) -> F) -> Client<R>
    where
        T: Close + Send + 'static,
        F: Framer + Send + 'static,
    {
        let (tx, commands) = async_channel::unbounded();
        let side = ClientSide {
            conn: ClientConnection::new(framer(self.limits.max_message_bytes), self.limits.clone()),
            waiters: Waiters::default(),
        };
        let _ = spawn_driver::<R, _, _>(transport, side, commands);
        self.handle(tx)
    }

    /// Connects (over TCP) in peer mode: `router` answers the server's
    /// calls.
    pub async fn connect_peer<A, S: Clone + Send + Sync + 'static>(
        self,
        addr: A,
        router: impl Into<Arc<Router<S>>>,
    ) -> io::Result<PeerConnection<R>>
    where
        R: Connect<A> + Wrap<<R as Connect<A>>::Io, Io: 'static>,
    {
        let (stream, peer_addr) = R::connect(addr).await?;
        let mut context = Context::builder(Transport::Tcp);
        if let Some(addr) = peer_addr {
            context = context.peer_addr(addr);
        }
        Ok(self.peer(stream, router, context.build()))
    }

    /// Peer mode over any byte stream: `router` answers the remote's calls
    /// (their [`Context`] is `context`), and the returned connection calls
    /// the remote.
    pub fn peer<S, IO>(self, io: IO, router: impl Into<Arc<Router<S>>>, context: Context) -> PeerConnection<R>
    where
        S: Clone + Send + Sync + 'static,
        R: Wrap<IO, Io: 'static>,
    {
        let transport = ByteStream::new(R::wrap(io), self.read_buffer);
        self.peer_over(transport, router.into(), |_| context, Newline::new)
    }

    /// Spawns a peer over `transport` with the framer `framer` makes; its
    /// [`Client`] goes into the connection state of the context `context`
    /// makes (it may also make it an extension).
    pub(crate) fn peer_over<S, T, F>(
        &self,
        transport: T,
        router: Arc<Router<S>>,
        context: impl FnOnce(Client<R>) -> Context,
        framer: fn(usize) -> F,
    ) -> PeerConnection<R>
    where
        S: Clone + Send + Sync + 'static,
        T: Close + Send + 'static,
        F: Framer + Send + 'static,
    {
        let (tx, commands) = async_channel::unbounded();
        let client = self.handle(tx);
        let context = context(client.clone());
        context.connection().insert(client.clone());
        let mut side = PeerSide::new(router, context, framer, R::spawn);
        side.conn.set_idle_timeout(None);
        let finished = spawn_driver::<R, _, _>(transport, side, commands);
        PeerConnection { client, finished }
    }
}

/// A connection on which both ends may call: it serves a [`Router`] for the
/// remote's calls and, through [`Deref`] to [`Client`], calls the remote.
///
/// The handlers of the router find the same [`Client`] in their
/// [`ConnectionState`](sansrpc::ConnectionState), to call back. Dropping
/// it does not end the connection: it lives on until the remote closes it
/// or [`Client::close`] is called.
#[derive(Debug)]
pub struct PeerConnection<R> {
    pub(crate) client: Client<R>,
    pub(crate) finished: Receiver<io::Result<()>>,
}

impl<R: Runtime> PeerConnection<R> {
    /// Connects (over TCP) with the default [`ClientBuilder`] options.
    pub async fn connect<A, S: Clone + Send + Sync + 'static>(
        addr: A,
        router: impl Into<Arc<Router<S>>>,
    ) -> io::Result<Self>
    where
        R: Connect<A> + Wrap<<R as Connect<A>>::Io, Io: 'static>,
    {
        ClientBuilder::new().connect_peer(addr, router).await
    }

    /// Peer mode over any byte stream with the default options; see
    /// [`ClientBuilder::peer`].
    pub fn new<S, IO>(io: IO, router: impl Into<Arc<Router<S>>>, context: Context) -> Self
    where
        S: Clone + Send + Sync + 'static,
        R: Wrap<IO, Io: 'static>,
    {
        ClientBuilder::new().peer(io, router, context)
    }

    /// The handle that calls the remote.
    pub fn client(&self) -> &Client<R> {
        &self.client
    }

    /// Waits until the connection is over: the remote closed it and every
    /// call it made was answered, or [`Client::close`] was called, or it
    /// broke.
    pub async fn closed(self) -> io::Result<()> {
        self.finished.recv().await.unwrap_or(Ok(()))
    }
}

impl<R> Deref for PeerConnection<R> {
    type Target = Client<R>;
    fn deref(&self) -> &Client<R> {
        &self.client
    }
}
